//! Deferreds that the reactor fires: after a delay, on a timeout, from a thread, and again and
//! again (`LoopingCall`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::errors::{CancelledError, TimeoutError};
use super::{Deferred, Failure, IntoStep, maybe_deferred};
use crate::reactor::{DelayedCall, Reactor, guard};

/// A Deferred that fires with what `f` gives, `delay` from now: Twisted's `deferLater`. Cancelling
/// it before then cancels the call, and it fails with `CancelledError`.
pub fn defer_later<T: 'static, R: IntoStep<T> + 'static>(
    reactor: &Reactor,
    delay: Duration,
    f: impl FnOnce() -> R + 'static,
) -> Deferred<T> {
    let call: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
    let to_cancel = Rc::clone(&call);
    let deferred = Deferred::with_canceller(move |_: &Deferred<T>| {
        if let Some(call) = to_cancel.borrow_mut().take() {
            let _ = call.cancel();
        }
    });
    let to_fire = deferred.clone();
    *call.borrow_mut() = Some(reactor.call_later(delay, move || {
        maybe_deferred(f).chain_deferred(&to_fire);
    }));
    deferred
}

impl<T: 'static> Deferred<T> {
    /// Cancels the Deferred if it has not fired within `timeout`, and then fails it with
    /// [`TimeoutError`] instead of `CancelledError`: Twisted's `addTimeout`. Returns the same
    /// Deferred. A result in time cancels the timer.
    ///
    /// Like Twisted's, it acts at the point of the chain where it is added: errbacks added before it
    /// see the `CancelledError` (and may turn it into a value).
    pub fn add_timeout(&self, reactor: &Reactor, timeout: Duration) -> Deferred<T> {
        self.add_timeout_with(reactor, timeout, |outcome| match outcome {
            Err(failure) if failure.check::<CancelledError>() => Err(Failure::new(TimeoutError)),
            other => other,
        })
    }

    /// As [`add_timeout`](Deferred::add_timeout), with `on_timeout` deciding what the outcome
    /// becomes when the timer fired (it gets the outcome of the cancellation).
    pub fn add_timeout_with(
        &self,
        reactor: &Reactor,
        timeout: Duration,
        on_timeout: impl FnOnce(Result<T, Failure>) -> Result<T, Failure> + 'static,
    ) -> Deferred<T> {
        let timed_out = Rc::new(Cell::new(false));
        let (flag, to_cancel) = (Rc::clone(&timed_out), self.clone());
        let timer = reactor.call_later(timeout, move || {
            flag.set(true);
            to_cancel.cancel();
        });
        self.add_both(move |outcome| {
            if timer.active() {
                let _ = timer.cancel();
            }
            if timed_out.get() {
                on_timeout(outcome)
            } else {
                outcome
            }
        })
    }
}

/// Runs `work` on a worker thread and gives its result as a Deferred fired on the reactor's thread:
/// Twisted's `deferToThread`, for blocking work (a slow computation, a blocking library) that must
/// not stall the reactor.
///
/// The work waits its turn in the reactor's thread pool (ten at a time unless
/// [`Reactor::suggest_thread_pool_size`] says otherwise), so a thousand calls at once queue rather
/// than start a thousand threads. A panic in `work` fails the Deferred with the panic's message,
/// quietly, as an exception in Twisted's thread pool fails its Deferred.
pub fn defer_to_thread<T, E>(
    reactor: &Reactor,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Deferred<T>
where
    T: Send + 'static,
    E: std::error::Error + Send + 'static,
{
    let deferred = Deferred::new();
    let to_fire = deferred.clone();
    let pool = reactor.clone();
    reactor.submit_to_pool(Box::new(move || {
        let handle = pool.spawn_blocking(move || guard::catch_panic(work));
        let reactor = pool.clone();
        pool.spawn_local(async move {
            let outcome = handle.await;
            reactor.thread_finished();
            let _ = match outcome {
                Ok(Ok(Ok(value))) => to_fire.callback(value),
                Ok(Ok(Err(error))) => to_fire.errback(error),
                Ok(Err((message, location))) => {
                    to_fire.errback(Failure::from_panic(message, location))
                }
                Err(join_error) => to_fire.errback(Failure::exception(format!(
                    "the worker thread failed: {join_error}"
                ))),
            };
        });
    }));
    deferred
}

/// The function a [`LoopingCall`] calls, shared with its timed call.
type LoopFunction = Rc<RefCell<Box<dyn FnMut() -> Result<(), Failure>>>>;

/// Calls a function every `interval` until stopped: Twisted's `LoopingCall` (Part 3, exercise 2).
///
/// `start` returns a Deferred that fires (with `()`) when `stop` is called, or fails with the
/// function's failure, which also stops the loop.
pub struct LoopingCall {
    reactor: Reactor,
    function: LoopFunction,
    running: RefCell<Option<(DelayedCall, Deferred<()>)>>,
}

impl LoopingCall {
    /// A looping call of `function`, not started.
    pub fn new(reactor: &Reactor, function: impl FnMut() -> Result<(), Failure> + 'static) -> Self {
        LoopingCall {
            reactor: reactor.clone(),
            function: Rc::new(RefCell::new(Box::new(function))),
            running: RefCell::new(None),
        }
    }

    /// Starts calling the function every `interval`, the first time now (`now`) or after one
    /// interval. Returns the Deferred that fires when the loop stops.
    pub fn start(&self, interval: Duration, now: bool) -> Deferred<()> {
        self.stop();
        let done = Deferred::new();
        let (function, on_failure) = (Rc::clone(&self.function), done.clone());
        let first = if now { Duration::ZERO } else { interval };
        let call = self
            .reactor
            .call_repeatedly(first, move || match (function.borrow_mut())() {
                Ok(()) => Some(interval),
                Err(failure) => {
                    let _ = on_failure.errback(failure);
                    None
                }
            });
        *self.running.borrow_mut() = Some((call, done.clone()));
        done
    }

    /// Stops the loop, and fires the Deferred `start` returned. Does nothing if it is not running.
    pub fn stop(&self) {
        if let Some((call, done)) = self.running.borrow_mut().take() {
            if call.active() {
                let _ = call.cancel();
            }
            if !done.called() {
                let _ = done.callback(());
            }
        }
    }

    /// Whether the loop is running.
    pub fn running(&self) -> bool {
        self.running
            .borrow()
            .as_ref()
            .is_some_and(|(call, _)| call.active())
    }
}
