//! The reactor: Twisted's event loop, built on a single-threaded tokio runtime.
//!
//! Part 3 of the tutorial replaces the hand-written select loop of Part 2 with Twisted's reactor: a
//! loop that waits for events (a socket is readable, a timer is due) and calls back the code that
//! asked for them. [`Reactor`] is that loop. Underneath, tokio's current-thread runtime does the
//! waiting (epoll on Linux, its timer wheel for time); on top, the API is Twisted's: [`Reactor::run`],
//! [`Reactor::stop`], [`Reactor::call_when_running`], [`Reactor::call_later`], readers for raw file
//! descriptors, TCP, UNIX-domain sockets and UDP.
//!
//! Everything runs on the thread that calls `run`, one callback at a time, as in Twisted. That is why
//! the state that callbacks share lives in `Rc` and `RefCell` and never behind a lock, and why a
//! callback that blocks stalls everything (the lesson of Part 4's broken client).
//!
//! An error returned or a panic raised by any callback is reported with what the reactor was calling,
//! and the loop goes on (Part 3's `exception.py`).
//!
//! Stopping is not instant when something asked to finish first: [`Reactor::add_before_shutdown`]
//! (Twisted's `addSystemEventTrigger("before", "shutdown", f)`) gives a callback that returns a
//! Deferred, and the loop goes on running, connections and timers included, until every such
//! Deferred has fired. A server uses it to let the work in flight end before the process does.

mod fd;
pub(crate) mod guard;
pub(crate) mod port;
mod stream;
mod tcp;
mod threads;
mod timers;
mod udp;
mod unix;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::defer::{Deferred, maybe_deferred};
use crate::log::report_unhandled;

pub use fd::{ReadDescriptor, Reader};
pub use guard::CallbackResult;
pub use port::{CannotListenError, ListeningPort};
pub use threads::DEFAULT_POOL_SIZE;
use timers::Timers;
pub use timers::{DelayedCall, DelayedCallError};
pub use udp::UdpPort;

thread_local! {
    /// The reactor most recently made on this thread, for code that needs "the" reactor without
    /// being handed one (an async block turned into a Deferred, say).
    static CURRENT: RefCell<std::rc::Weak<Inner>> = const { RefCell::new(std::rc::Weak::new()) };
}

/// Where a reactor is in its single life: made, running, stopping, stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    Running,
    Stopping,
    Stopped,
}

/// Why `run` or `stop` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactorError {
    /// `run` was called while the reactor is running.
    AlreadyRunning,
    /// `run` was called after the reactor had stopped: a reactor runs once.
    NotRestartable,
    /// `stop` was called when the reactor is not running (or is already stopping).
    NotRunning,
}

impl fmt::Display for ReactorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReactorError::AlreadyRunning => write!(f, "the reactor is already running"),
            ReactorError::NotRestartable => {
                write!(f, "the reactor has stopped and cannot run again")
            }
            ReactorError::NotRunning => write!(f, "can't stop a reactor that isn't running"),
        }
    }
}

impl std::error::Error for ReactorError {}

/// Twisted's reactor: a handle to one event loop. Clones are handles to the same loop.
///
/// Make one with [`Reactor::new`], arrange the first things to do (`call_when_running`,
/// `call_later`, `listen_tcp`, `connect_tcp`), then call [`Reactor::run`], which returns once some
/// callback calls [`Reactor::stop`] or the process gets SIGINT or SIGTERM.
#[derive(Clone)]
pub struct Reactor {
    inner: Rc<Inner>,
}

struct Inner {
    /// The tasks of this reactor; declared first so that they are dropped before the runtime.
    local: LocalSet,
    runtime: Runtime,
    timers: Rc<Timers>,
    phase: Cell<Phase>,
    stop_requested: Notify,
    /// The signal that stopped the loop (`SIGINT`, `SIGTERM`), if one did.
    stopped_by: Cell<Option<&'static str>>,
    /// Callbacks to make as soon as `run` starts the loop.
    when_running: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// How many ports and connections use each factory.
    factory_users: port::FactoryUsers,
    /// The raw descriptors watched with `add_reader`.
    readers: fd::Readers,
    /// The bounded pool that `defer_to_thread` work waits its turn in.
    threads: threads::ThreadPool,
    /// What to call when the loop is asked to stop, and wait for before it does.
    before_shutdown: RefCell<Vec<BeforeShutdown>>,
    /// A second SIGINT or SIGTERM while those are waited for: stop without waiting any longer.
    hurry: Notify,
}

/// A callback run when the loop is asked to stop; the loop waits for the Deferred it returns.
type BeforeShutdown = Box<dyn FnOnce() -> Deferred<()>>;

impl Reactor {
    /// Makes a reactor on a new single-threaded tokio runtime.
    pub fn new() -> io::Result<Reactor> {
        Reactor::build(tokio::runtime::Builder::new_current_thread().enable_all())
    }

    /// Makes a reactor whose clock is paused: time stands still while anything is ready to run, and
    /// jumps straight to the next timer when nothing is. Timer logic can then be tested exactly,
    /// and a five-second countdown takes no time at all.
    #[cfg(any(test, feature = "test-util"))]
    pub fn with_paused_clock() -> io::Result<Reactor> {
        Reactor::build(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true),
        )
    }

    fn build(builder: &mut tokio::runtime::Builder) -> io::Result<Reactor> {
        let runtime = builder.build()?;
        let timers = Rc::new(Timers::new(runtime.handle().clone()));
        let reactor = Reactor {
            inner: Rc::new(Inner {
                local: LocalSet::new(),
                runtime,
                timers,
                phase: Cell::new(Phase::Ready),
                stop_requested: Notify::new(),
                stopped_by: Cell::new(None),
                when_running: RefCell::new(VecDeque::new()),
                factory_users: port::FactoryUsers::default(),
                readers: fd::Readers::default(),
                threads: threads::ThreadPool::default(),
                before_shutdown: RefCell::new(Vec::new()),
                hurry: Notify::new(),
            }),
        };
        CURRENT.with(|current| *current.borrow_mut() = Rc::downgrade(&reactor.inner));
        Ok(reactor)
    }

    /// The reactor most recently made on this thread, if it still exists: what the tutorial's
    /// `from twisted.internet import reactor` gives.
    pub fn current() -> Option<Reactor> {
        CURRENT.with(|current| current.borrow().upgrade().map(|inner| Reactor { inner }))
    }

    /// Runs blocking `work` on the runtime's pool of worker threads.
    pub(crate) fn spawn_blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> tokio::task::JoinHandle<R> {
        self.inner.runtime.spawn_blocking(work)
    }

    /// Runs `future` as a task of this reactor (from its next turn, or when `run` starts).
    pub(crate) fn spawn_local(
        &self,
        future: impl std::future::Future<Output = ()> + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.inner.local.spawn_local(future)
    }

    /// Runs the event loop until [`stop`](Reactor::stop) is called, or SIGINT or SIGTERM arrives;
    /// then returns, so that the code after it runs (printing the poems a client got, say).
    ///
    /// A reactor runs once: calling `run` again, while it runs or after it stopped, is an error.
    //
    // Never inlined: the stack demos (the `stack` example, clients 2.0 and 4.0 "with stacktrace")
    // are about this frame, `main` calling the reactor's loop calling our callback, and a release
    // build would otherwise inline `run` into `main` and leave no trace of the loop.
    #[inline(never)]
    pub fn run(&self) -> Result<(), ReactorError> {
        match self.inner.phase.get() {
            Phase::Ready => {}
            Phase::Running | Phase::Stopping => return Err(ReactorError::AlreadyRunning),
            Phase::Stopped => return Err(ReactorError::NotRestartable),
        }
        self.inner.phase.set(Phase::Running);
        let inner = &self.inner;
        inner.local.block_on(&inner.runtime, async {
            let timers = tokio::task::spawn_local(Rc::clone(&inner.timers).drive());
            let signals = tokio::task::spawn_local(stop_on_signals(self.clone()));
            loop {
                let next = inner.when_running.borrow_mut().pop_front();
                match next {
                    Some(callback) => callback(),
                    None => break,
                }
            }
            inner.stop_requested.notified().await;
            // The loop still runs while the triggers' Deferreds are waited for: the connections
            // and timers they wait on go on. A second signal cuts the wait short.
            let triggers = std::mem::take(&mut *inner.before_shutdown.borrow_mut());
            // All the triggers are called first, so that what they start runs side by side.
            let waits: Vec<Deferred<()>> = triggers.into_iter().map(maybe_deferred).collect();
            let all_done = async {
                for wait in waits {
                    if let Err(failure) = wait.await {
                        report_unhandled(
                            "waiting for a before-shutdown trigger",
                            &failure.report(),
                        );
                    }
                }
            };
            tokio::select! {
                () = all_done => {}
                () = inner.hurry.notified() => {}
            }
            timers.abort();
            signals.abort();
        });
        self.inner.phase.set(Phase::Stopped);
        Ok(())
    }

    /// Asks the loop to stop: `run` returns once the current callback is done.
    ///
    /// An error when the reactor is not running, or has already been asked to stop, as in Twisted.
    pub fn stop(&self) -> Result<(), ReactorError> {
        if self.inner.phase.get() != Phase::Running {
            return Err(ReactorError::NotRunning);
        }
        self.inner.phase.set(Phase::Stopping);
        self.inner.stop_requested.notify_one();
        Ok(())
    }

    /// Calls `trigger` when the loop is asked to stop (by [`stop`](Reactor::stop) or a signal), and
    /// keeps the loop running until the Deferred it returns has fired: Twisted's
    /// `addSystemEventTrigger("before", "shutdown", trigger)`. A failed Deferred is reported like
    /// any unhandled error, and the stop goes on. A second SIGINT or SIGTERM stops the loop without
    /// waiting any longer.
    pub fn add_before_shutdown(&self, trigger: impl FnOnce() -> Deferred<()> + 'static) {
        self.inner
            .before_shutdown
            .borrow_mut()
            .push(Box::new(trigger));
    }

    /// The signal that stopped the loop, by its name (`SIGINT` or `SIGTERM`), if a signal did:
    /// what a server that logs says after `run` returns (`Received SIGTERM, shutting down.`).
    pub fn stopped_by_signal(&self) -> Option<&'static str> {
        self.inner.stopped_by.get()
    }

    /// Whether the loop is running (and has not been asked to stop).
    pub fn is_running(&self) -> bool {
        self.inner.phase.get() == Phase::Running
    }

    /// Calls `callback` once the loop is running: at the start of `run`, in the order the callbacks
    /// were given, or at once if the loop already runs. Its error or panic is reported and the loop
    /// goes on.
    pub fn call_when_running<R: CallbackResult>(&self, callback: impl FnOnce() -> R + 'static) {
        let guarded = move || {
            guard::call(&"calling a startup callback", callback);
        };
        if self.inner.phase.get() == Phase::Running {
            guarded();
        } else {
            self.inner
                .when_running
                .borrow_mut()
                .push_back(Box::new(guarded));
        }
    }

    /// Calls `callback` after `delay`, and returns the handle that can cancel or move the call.
    ///
    /// A call scheduled from inside a callback, even with no delay, runs on a later turn of the loop,
    /// never inside the callback that scheduled it. Its error or panic is reported and the loop goes
    /// on.
    pub fn call_later<R: CallbackResult>(
        &self,
        delay: Duration,
        callback: impl FnOnce() -> R + 'static,
    ) -> DelayedCall {
        self.inner.timers.schedule_once(delay, move || {
            guard::call(&"calling a timed call", callback);
        })
    }

    /// Calls `callback` after `delay`, and then again after each interval it returns, until it
    /// returns `None` or the returned [`DelayedCall`] is cancelled (the callback may cancel it
    /// itself).
    ///
    /// This is how a slow server paces a connection: one timed call per connection for its whole
    /// life, re-armed after each chunk, rather than a new one per chunk. A panic in the callback is
    /// reported and ends the repetition.
    pub fn call_repeatedly(
        &self,
        delay: Duration,
        mut callback: impl FnMut() -> Option<Duration> + 'static,
    ) -> DelayedCall {
        self.inner.timers.schedule_repeating(delay, move || {
            let mut again = None;
            guard::call(&"calling a repeating call", || again = callback());
            again
        })
    }

    /// The reactor's clock: seconds since the reactor was made. [`DelayedCall::get_time`] uses the
    /// same clock.
    pub fn seconds(&self) -> f64 {
        self.inner.timers.seconds()
    }

    /// How many timed calls are pending.
    pub fn pending_calls(&self) -> usize {
        self.inner.timers.pending()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("phase", &self.inner.phase.get())
            .finish()
    }
}

/// Stops the reactor on the first SIGINT (Ctrl-C) or SIGTERM, so that `run` returns and the program
/// ends normally, its closing code included.
///
/// The handlers are installed at once, when this is called, not when the returned future is first
/// polled: a signal that arrives while the startup callbacks run is not lost.
fn stop_on_signals(reactor: Reactor) -> impl Future<Output = ()> {
    let handlers = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        let (Ok(mut interrupt), Ok(mut terminate)) = handlers else {
            return;
        };
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        if reactor.is_running() {
            reactor.inner.stopped_by.set(Some(name));
        }
        let _ = reactor.stop();
        // While the loop waits for its before-shutdown triggers, a second signal means "now".
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        reactor.inner.hurry.notify_one();
    }
}

#[cfg(test)]
mod tests;
