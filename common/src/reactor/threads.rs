//! The reactor's thread pool: where `defer_to_thread` runs blocking work.
//!
//! Work handed to a thread must not start a thread each: a thousand requests at once would make a
//! thousand threads. As Twisted's pool (ten threads by default), ours runs at most
//! [`DEFAULT_POOL_SIZE`] pieces of work at a time and queues the rest. The bookkeeping lives on the
//! reactor's thread, like everything else the reactor owns: a counter of busy threads and a queue
//! of work not yet started. A piece of work that finishes, on its worker thread, hands its result
//! back to the reactor's thread, which frees its place and starts the next piece in the queue.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use super::Reactor;

/// How many pieces of work run at once unless told otherwise: Twisted's default.
pub const DEFAULT_POOL_SIZE: usize = 10;

/// A piece of work waiting for a thread: when called, it starts the work on a worker thread.
type Start = Box<dyn FnOnce()>;

/// The pool's state, on the reactor's thread.
pub(crate) struct ThreadPool {
    size: Cell<usize>,
    busy: Cell<usize>,
    waiting: RefCell<VecDeque<Start>>,
}

impl Default for ThreadPool {
    fn default() -> Self {
        ThreadPool {
            size: Cell::new(DEFAULT_POOL_SIZE),
            busy: Cell::new(0),
            waiting: RefCell::new(VecDeque::new()),
        }
    }
}

impl Reactor {
    /// Sets how many pieces of `defer_to_thread` work may run at once (at least one): Twisted's
    /// `suggestThreadPoolSize`. A larger pool starts queued work at once; a smaller one lets the
    /// running work finish and starts no more until it is under the new size.
    pub fn suggest_thread_pool_size(&self, size: usize) {
        self.inner.threads.size.set(size.max(1));
        self.start_waiting_work();
    }

    /// How many pieces of work may run on threads at once.
    pub fn thread_pool_size(&self) -> usize {
        self.inner.threads.size.get()
    }

    /// How many pieces of work are waiting for a thread.
    pub fn thread_pool_queued(&self) -> usize {
        self.inner.threads.waiting.borrow().len()
    }

    /// Starts `start` now if a thread is free, or queues it. `start` must call
    /// [`thread_finished`](Reactor::thread_finished) on the reactor's thread when its work is done.
    pub(crate) fn submit_to_pool(&self, start: Start) {
        self.inner.threads.waiting.borrow_mut().push_back(start);
        self.start_waiting_work();
    }

    /// Frees the place of a finished piece of work, and gives it to the next one waiting.
    pub(crate) fn thread_finished(&self) {
        let pool = &self.inner.threads;
        pool.busy.set(pool.busy.get() - 1);
        self.start_waiting_work();
    }

    fn start_waiting_work(&self) {
        let pool = &self.inner.threads;
        while pool.busy.get() < pool.size.get() {
            let Some(start) = pool.waiting.borrow_mut().pop_front() else {
                break;
            };
            pool.busy.set(pool.busy.get() + 1);
            start();
        }
    }
}
