//! Coordination with Deferreds: a lock, a semaphore and a queue whose waits are Deferreds
//! (Twisted's `DeferredLock`, `DeferredSemaphore` and `DeferredQueue`).
//!
//! On a single-threaded reactor nothing runs at the same time, yet work still interleaves: a
//! callback that starts a download gives control back to the loop, and another callback may start
//! another. These primitives say "not until the previous one is done" (the lock), "no more than N
//! at once" (the semaphore), and "hand each item to whoever asks for it" (the queue). Waiting never
//! blocks: `acquire` and `get` return a Deferred that fires when the turn comes, and cancelling it
//! gives the turn up.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use super::errors::{QueueOverflow, QueueUnderflow};
use super::{Deferred, Failure, IntoStep, maybe_deferred, succeed};

/// Removes the waiter whose Deferred is `cancelled` from `waiting`. The canceller of a waiter
/// calls this; `cancel` then fails the Deferred with `CancelledError`, so the turn it gave up
/// goes to the next waiter, not to it.
fn forget_waiter<T: 'static>(waiting: &mut VecDeque<Deferred<T>>, cancelled: &Deferred<T>) {
    waiting.retain(|waiter| waiter.id() != cancelled.id());
}

/// A semaphore: at most `limit` holders at once; the others wait their turn, first come first
/// served. Clones are handles to the same semaphore.
#[derive(Clone)]
pub struct DeferredSemaphore {
    state: Rc<RefCell<SemaphoreState>>,
}

struct SemaphoreState {
    tokens: usize,
    limit: usize,
    waiting: VecDeque<Deferred<()>>,
}

impl DeferredSemaphore {
    /// A semaphore with `tokens` places.
    ///
    /// # Panics
    ///
    /// If `tokens` is 0: nobody could ever acquire it.
    pub fn new(tokens: usize) -> DeferredSemaphore {
        assert!(tokens > 0, "a DeferredSemaphore needs at least one token");
        DeferredSemaphore {
            state: Rc::new(RefCell::new(SemaphoreState {
                tokens,
                limit: tokens,
                waiting: VecDeque::new(),
            })),
        }
    }

    /// How many places are free now.
    pub fn tokens(&self) -> usize {
        self.state.borrow().tokens
    }

    /// How many places there are.
    pub fn limit(&self) -> usize {
        self.state.borrow().limit
    }

    /// How many are waiting for a place.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    /// Takes a place: the Deferred fires when one is free (at once if one is free now). Cancelling
    /// it before then gives up the wait; it fails with `CancelledError` and takes no place.
    pub fn acquire(&self) -> Deferred<()> {
        let mut state = self.state.borrow_mut();
        if state.tokens > 0 {
            state.tokens -= 1;
            return succeed(());
        }
        let to_forget: Weak<RefCell<SemaphoreState>> = Rc::downgrade(&self.state);
        let waiter = Deferred::with_canceller(move |cancelled: &Deferred<()>| {
            if let Some(state) = to_forget.upgrade() {
                forget_waiter(&mut state.borrow_mut().waiting, cancelled);
            }
        });
        state.waiting.push_back(waiter.clone());
        waiter
    }

    /// Gives a place back; the first waiter, if any, gets it now (its callbacks run before
    /// `release` returns).
    ///
    /// # Panics
    ///
    /// If every place is free already: more releases than acquires is a bug in the caller.
    pub fn release(&self) {
        let next = {
            let mut state = self.state.borrow_mut();
            assert!(
                state.tokens < state.limit,
                "a DeferredSemaphore was released more times than it was acquired"
            );
            match state.waiting.pop_front() {
                Some(next) => next,
                None => {
                    state.tokens += 1;
                    return;
                }
            }
        };
        // The place goes straight to the waiter. The state is not borrowed while its callbacks
        // run, since they may acquire or release again.
        let _ = next.callback(());
    }

    /// Runs `f` once a place is free, and frees the place when its outcome is known (when the
    /// Deferred it returns fires, if it returns one), whether it succeeded or failed. The returned
    /// Deferred fires with that outcome.
    pub fn run<T: 'static, R: IntoStep<T> + 'static>(
        &self,
        f: impl FnOnce() -> R + 'static,
    ) -> Deferred<T> {
        let semaphore = self.clone();
        self.acquire()
            .add_callback(move |()| maybe_deferred(f))
            .add_both(move |outcome: Result<T, Failure>| {
                semaphore.release();
                outcome
            })
    }
}

/// A lock: one holder at a time; the others wait their turn, first come first served. A
/// [`DeferredSemaphore`] with one place. Clones are handles to the same lock.
#[derive(Clone)]
pub struct DeferredLock {
    semaphore: DeferredSemaphore,
}

impl Default for DeferredLock {
    fn default() -> Self {
        DeferredLock::new()
    }
}

impl DeferredLock {
    /// An unlocked lock.
    pub fn new() -> DeferredLock {
        DeferredLock {
            semaphore: DeferredSemaphore::new(1),
        }
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        self.semaphore.tokens() == 0
    }

    /// How many are waiting for the lock.
    pub fn waiting(&self) -> usize {
        self.semaphore.waiting()
    }

    /// Takes the lock: the Deferred fires when it is ours (at once if it is free). Cancelling it
    /// before then gives up the wait; it fails with `CancelledError` and never holds the lock.
    pub fn acquire(&self) -> Deferred<()> {
        self.semaphore.acquire()
    }

    /// Lets the lock go; the first waiter, if any, gets it now.
    ///
    /// # Panics
    ///
    /// If the lock is not held.
    pub fn release(&self) {
        assert!(self.locked(), "a DeferredLock was released while unlocked");
        self.semaphore.release();
    }

    /// Runs `f` holding the lock, and lets it go when `f`'s outcome is known (see
    /// [`DeferredSemaphore::run`]).
    pub fn run<T: 'static, R: IntoStep<T> + 'static>(
        &self,
        f: impl FnOnce() -> R + 'static,
    ) -> Deferred<T> {
        self.semaphore.run(f)
    }
}

/// A queue whose `get` returns a Deferred: it fires with the next item, at once if one is there,
/// or when one is put. Items and waiting getters are served first in, first out. Clones are
/// handles to the same queue.
pub struct DeferredQueue<T> {
    state: Rc<RefCell<QueueState<T>>>,
}

struct QueueState<T> {
    pending: VecDeque<T>,
    waiting: VecDeque<Deferred<T>>,
    /// Most items held at once (`None`: no limit).
    size: Option<usize>,
    /// Most getters waiting at once (`None`: no limit).
    backlog: Option<usize>,
}

impl<T> Clone for DeferredQueue<T> {
    fn clone(&self) -> Self {
        DeferredQueue {
            state: Rc::clone(&self.state),
        }
    }
}

impl<T: 'static> Default for DeferredQueue<T> {
    fn default() -> Self {
        DeferredQueue::new(None, None)
    }
}

impl<T: 'static> DeferredQueue<T> {
    /// A queue holding at most `size` items, with at most `backlog` getters waiting (`None`: no
    /// limit).
    pub fn new(size: Option<usize>, backlog: Option<usize>) -> DeferredQueue<T> {
        DeferredQueue {
            state: Rc::new(RefCell::new(QueueState {
                pending: VecDeque::new(),
                waiting: VecDeque::new(),
                size,
                backlog,
            })),
        }
    }

    /// How many items wait for a getter.
    pub fn pending(&self) -> usize {
        self.state.borrow().pending.len()
    }

    /// How many getters wait for an item.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    /// Adds an item: the first waiting getter gets it now (its callbacks run before `put`
    /// returns), or it waits in the queue. A full queue refuses it and gives it back.
    pub fn put(&self, item: T) -> Result<(), QueueOverflow<T>> {
        let getter = {
            let mut state = self.state.borrow_mut();
            match state.waiting.pop_front() {
                Some(getter) => getter,
                None => {
                    if state.size.is_some_and(|size| state.pending.len() >= size) {
                        return Err(QueueOverflow(item));
                    }
                    state.pending.push_back(item);
                    return Ok(());
                }
            }
        };
        let _ = getter.callback(item);
        Ok(())
    }

    /// Asks for the next item. The Deferred fires with it (at once if one is waiting). Cancelling
    /// it before then takes the getter out of the line: it fails with `CancelledError`, and the
    /// next item goes to the next getter or into the queue. Too many getters waiting already:
    /// [`QueueUnderflow`].
    pub fn get(&self) -> Result<Deferred<T>, QueueUnderflow> {
        let mut state = self.state.borrow_mut();
        if let Some(item) = state.pending.pop_front() {
            return Ok(succeed(item));
        }
        if state
            .backlog
            .is_some_and(|backlog| state.waiting.len() >= backlog)
        {
            return Err(QueueUnderflow);
        }
        let to_forget: Weak<RefCell<QueueState<T>>> = Rc::downgrade(&self.state);
        let getter = Deferred::with_canceller(move |cancelled: &Deferred<T>| {
            if let Some(state) = to_forget.upgrade() {
                forget_waiter(&mut state.borrow_mut().waiting, cancelled);
            }
        });
        state.waiting.push_back(getter.clone());
        Ok(getter)
    }
}

#[cfg(test)]
mod tests;
