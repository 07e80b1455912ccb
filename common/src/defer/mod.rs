//! The Deferred: Twisted's promise of a result that is not there yet (tutorial Parts 7 to 19).
//!
//! A Deferred holds a chain of (callback, errback) pairs. Firing it, with `callback(value)` or
//! `errback(failure)`, runs the chain at once, synchronously: each stage gets the previous stage's
//! result, the callback if it is a value and the errback if it is a [`Failure`]. A callback that fails
//! sends the chain to the errback line; an errback that returns a value brings it back to the
//! callback line. A callback may also return another Deferred: then the chain waits for that one
//! and goes on with its result ("chaining", Part 13).
//!
//! Ours is typed. `Deferred<T>` is a handle on a chain whose last callback produces a `T`:
//! `add_callback` takes a closure `T -> Result<U, Failure>` (or `T -> Deferred<U>`) and returns the
//! handle `Deferred<U>`, so a value can change type along the chain and the compiler still checks
//! every stage. All handles share one chain: fire with the handle of the first type, add callbacks
//! to the handle of the last. A Deferred fires once: a second `callback` is an
//! [`AlreadyCalledError`].
//!
//! Rust's `async`/`.await` is `inlineCallbacks` (Part 17): a Deferred can be awaited, and
//! [`Deferred::from_future`] turns an async block into a Deferred.
//!
//! Around it: [`DeferredList`] and friends wait for many Deferreds (Part 18); [`DeferredLock`],
//! [`DeferredSemaphore`] and [`DeferredQueue`] make callbacks take turns, their waits Deferreds too.

mod core;
mod errors;
mod failure;
mod future;
mod list;
mod primitives;
mod time;

use std::any::{Any, TypeId, type_name};
use std::cell::{Cell, OnceCell};
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use self::core::{CancelMode, Core, Next, Outcome, Shared, Value};
pub use errors::{
    AlreadyCalledError, CancelledError, CircularChainError, FailureGroup, FirstError,
    QueueOverflow, QueueUnderflow, TimeoutError,
};
pub use failure::{Exception, Failure, Panic};
pub use future::DeferredFuture;
pub use list::{DeferredList, DeferredListOptions, ListResult, gather_results, race};
pub use primitives::{DeferredLock, DeferredQueue, DeferredSemaphore};
pub use time::{LoopingCall, defer_later, defer_to_thread};

thread_local! {
    /// Debug mode: Deferreds remember where they were made and first fired.
    static DEBUGGING: Cell<bool> = const { Cell::new(false) };
}

/// Turns debug mode on or off (Twisted's `Deferred.debug`): Deferreds made while it is on remember
/// where they were made and first fired, and an [`AlreadyCalledError`] names both places.
pub fn set_debugging(on: bool) {
    DEBUGGING.with(|debugging| debugging.set(on));
}

fn debugging() -> bool {
    DEBUGGING.with(Cell::get)
}

/// What a callback or errback returns: its result (`Ok`), a failure (`Err`), or another Deferred to
/// wait for.
pub trait IntoStep<T> {
    /// The result, still typed.
    #[doc(hidden)]
    fn into_outcome(self) -> Typed<T>;
}

/// A callback's result before it goes into the chain.
#[doc(hidden)]
pub enum Typed<T> {
    Value(T),
    Failure(Failure),
    Wait(Deferred<T>),
}

impl<T: 'static> IntoStep<T> for Result<T, Failure> {
    fn into_outcome(self) -> Typed<T> {
        match self {
            Ok(value) => Typed::Value(value),
            Err(failure) => Typed::Failure(failure),
        }
    }
}

impl<T: 'static> IntoStep<T> for Deferred<T> {
    fn into_outcome(self) -> Typed<T> {
        Typed::Wait(self)
    }
}

impl<T: 'static> Typed<T> {
    /// Puts the result in place of the chain's current one, its value boxed; or, for a Deferred
    /// that has not fired, tells the run loop to wait for it.
    fn settle(self, outcome: &mut Outcome) -> Next {
        *outcome = match self {
            Typed::Value(value) => Outcome::Value(boxed(value)),
            Typed::Failure(failure) => Outcome::Failure(failure),
            Typed::Wait(deferred) => match deferred.into_ready() {
                Ok(value) => Outcome::Value(boxed(value)),
                Err(deferred) => return Next::Wait(Rc::clone(deferred.core())),
            },
        };
        Next::Continue
    }
}

/// Takes the failure out of the current result, for an errback (the result holds `()` meanwhile,
/// which allocates nothing).
fn take_failure(outcome: &mut Outcome) -> Failure {
    match std::mem::replace(outcome, Outcome::Value(Box::new(()))) {
        Outcome::Failure(failure) => failure,
        Outcome::Value(_) => unreachable!("an errback runs only on a failure"),
    }
}

// Values travel down the chain boxed as `Option<T>`, so that a callback can take its input out of the
// box and put its output back into the same box when the types agree (the usual case): a chain of
// callbacks allocates once, not once per callback. `()` is boxed as itself, which allocates nothing.

/// Boxes a value for the chain.
fn boxed<T: 'static>(value: T) -> Value {
    if TypeId::of::<T>() == TypeId::of::<()>() {
        Box::new(value)
    } else {
        Box::new(Some(value))
    }
}

/// Takes a value out of its box. The chain's type checks guarantee the type.
fn unbox<T: 'static>(value: &mut Value) -> T {
    if let Some(slot) = value.downcast_mut::<Option<T>>()
        && let Some(taken) = slot.take()
    {
        return taken;
    }
    match std::mem::replace(value, Box::new(())).downcast::<T>() {
        Ok(unit) => *unit,
        Err(_) => panic!("a Deferred stage received a value of an unexpected type"),
    }
}

/// Runs a callback on the current value, and leaves its result in place: in the same box when it
/// has the same type (no allocation, and a single look at the box's type).
fn call_with<T: 'static, U: 'static, R: IntoStep<U>>(
    outcome: &mut Outcome,
    callback: impl FnOnce(T) -> R,
) -> Next {
    let Outcome::Value(value) = outcome else {
        unreachable!("a callback runs only on a value")
    };
    let Some(slot) = value.downcast_mut::<Option<T>>() else {
        let input = unbox(value);
        return callback(input).into_outcome().settle(outcome);
    };
    let Some(input) = slot.take() else {
        *outcome = Outcome::Failure(Failure::exception("a Deferred stage found its value gone"));
        return Next::Continue;
    };
    let output = match callback(input).into_outcome() {
        Typed::Value(output) => output,
        // A Deferred fired at birth: its value, as if the callback had returned it.
        Typed::Wait(deferred) => match deferred.into_ready() {
            Ok(output) => output,
            Err(deferred) => return Next::Wait(Rc::clone(deferred.core())),
        },
        Typed::Failure(failure) => {
            *outcome = Outcome::Failure(failure);
            return Next::Continue;
        }
    };
    // The box's type is known here, so this check costs nothing at run time.
    let slot: &mut dyn Any = slot;
    match slot.downcast_mut::<Option<U>>() {
        Some(same) => *same = Some(output),
        None => *outcome = Outcome::Value(boxed(output)),
    }
    Next::Continue
}

/// A typed handle on a Deferred whose current last callback produces a `T`.
pub struct Deferred<T> {
    /// The chain, shared by all handles. Made on first use, so that a Deferred fired at birth and
    /// handed straight to a chain that waits for it (`succeed(v)` returned from a callback) costs
    /// no chain of its own: its value goes over directly.
    shared: OnceCell<Shared>,
    /// `succeed`'s value, while no chain has been made.
    ready: Cell<Option<T>>,
}

impl<T: 'static> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Deferred::from_core(Rc::clone(self.core()))
    }
}

impl<T: 'static> Default for Deferred<T> {
    #[track_caller]
    fn default() -> Self {
        Deferred::new()
    }
}

impl<T: 'static> Deferred<T> {
    /// A new Deferred, not fired yet, that will be fired with a `T`.
    #[track_caller]
    pub fn new() -> Deferred<T> {
        let caller = Location::caller();
        let created_at = debugging().then(|| caller.to_string());
        Deferred::from_core(Core::new(TypeId::of::<T>(), type_name::<T>(), created_at))
    }

    /// A new Deferred whose `cancel` calls `canceller` first (Part 19): the canceller stops the work
    /// that would fire the Deferred, and may fire it itself (with a value or its own failure);
    /// otherwise `cancel` fails it with [`CancelledError`].
    #[track_caller]
    pub fn with_canceller(canceller: impl FnOnce(&Deferred<T>) + 'static) -> Deferred<T> {
        let deferred = Deferred::new();
        let mut canceller = Some(canceller);
        deferred
            .core()
            .borrow_mut()
            .set_canceller(Box::new(move |core: &Shared| {
                if let Some(canceller) = canceller.take() {
                    canceller(&Deferred::from_core(Rc::clone(core)));
                }
            }));
        deferred
    }

    fn from_core(core: Shared) -> Deferred<T> {
        Deferred {
            shared: OnceCell::from(core),
            ready: Cell::new(None),
        }
    }

    /// A Deferred fired with `value`, whose chain is made only if it is needed.
    fn ready(value: T) -> Deferred<T> {
        Deferred {
            shared: OnceCell::new(),
            ready: Cell::new(Some(value)),
        }
    }

    /// The shared chain, made (and fired with the ready value, if there is one) on first use.
    #[inline]
    fn core(&self) -> &Shared {
        match self.shared.get() {
            Some(core) => core,
            None => self.make_core(),
        }
    }

    #[cold]
    fn make_core(&self) -> &Shared {
        self.shared.get_or_init(|| {
            let core = Core::new(TypeId::of::<T>(), type_name::<T>(), None);
            if let Some(value) = self.ready.take() {
                let _ = core::fire(&core, Outcome::Value(boxed(value)), None);
            }
            core
        })
    }

    /// The value of a Deferred fired at birth whose chain was never made: a callback that returns
    /// such a Deferred passes its value on with no chain to make or wait for.
    fn into_ready(self) -> Result<T, Deferred<T>> {
        if self.shared.get().is_none()
            && let Some(value) = self.ready.take()
        {
            return Ok(value);
        }
        Err(self)
    }

    /// Fires the Deferred with a value: runs the callback chain now.
    ///
    /// # Panics
    ///
    /// If this handle is not of the Deferred's first type (use the handle `new` returned).
    #[track_caller]
    pub fn callback(&self, value: T) -> Result<(), AlreadyCalledError> {
        self.check_head();
        let caller = Location::caller();
        let invoked_at = debugging().then(|| caller.to_string());
        core::fire(self.core(), Outcome::Value(boxed(value)), invoked_at)
    }

    /// Fires the Deferred with a failure: runs the errback chain now. Any error can be given; it
    /// becomes a [`Failure`].
    #[track_caller]
    pub fn errback(&self, failure: impl Into<Failure>) -> Result<(), AlreadyCalledError> {
        let caller = Location::caller();
        let invoked_at = debugging().then(|| caller.to_string());
        core::fire(self.core(), Outcome::Failure(failure.into()), invoked_at)
    }

    /// Adds a callback and an errback as one stage: exactly one of them runs, depending on what
    /// arrives. Returns the handle on the chain's new last type.
    ///
    /// # Panics
    ///
    /// If this handle is not of the type the chain's last stage produces.
    pub fn add_callbacks<U: 'static, R1: IntoStep<U>, R2: IntoStep<U>>(
        &self,
        callback: impl FnOnce(T) -> R1 + 'static,
        errback: impl FnOnce(Failure) -> R2 + 'static,
    ) -> Deferred<U> {
        self.add_stage::<U>(move |outcome| match outcome {
            Outcome::Value(_) => call_with(outcome, callback),
            Outcome::Failure(_) => errback(take_failure(outcome))
                .into_outcome()
                .settle(outcome),
        })
    }

    /// Adds a callback; a failure passes by it unchanged, to the next errback.
    pub fn add_callback<U: 'static, R: IntoStep<U>>(
        &self,
        callback: impl FnOnce(T) -> R + 'static,
    ) -> Deferred<U> {
        self.add_stage::<U>(move |outcome| match outcome {
            Outcome::Value(_) => call_with(outcome, callback),
            Outcome::Failure(_) => Next::Continue,
        })
    }

    /// Adds an errback; a value passes by it unchanged, to the next callback. The errback recovers
    /// by returning `Ok(value)`, or passes a failure on with `Err`.
    pub fn add_errback<R: IntoStep<T>>(
        &self,
        errback: impl FnOnce(Failure) -> R + 'static,
    ) -> Deferred<T> {
        self.add_stage::<T>(move |outcome| match outcome {
            Outcome::Value(_) => Next::Continue,
            Outcome::Failure(_) => errback(take_failure(outcome))
                .into_outcome()
                .settle(outcome),
        })
    }

    /// Adds the same function as callback and errback: it gets `Ok(value)` or `Err(failure)`, like a
    /// `finally` block that sees the outcome.
    pub fn add_both<U: 'static, R: IntoStep<U>>(
        &self,
        both: impl FnOnce(Result<T, Failure>) -> R + 'static,
    ) -> Deferred<U> {
        self.add_stage::<U>(move |outcome| match outcome {
            Outcome::Value(_) => call_with(outcome, move |input| both(Ok(input))),
            Outcome::Failure(_) => both(Err(take_failure(outcome)))
                .into_outcome()
                .settle(outcome),
        })
    }

    fn add_stage<U: 'static>(
        &self,
        stage: impl FnOnce(&mut Outcome) -> Next + 'static,
    ) -> Deferred<U> {
        let called = {
            let mut core = self.core().borrow_mut();
            assert!(
                core.tail == TypeId::of::<T>(),
                "this Deferred's last callback produces {}, not {}: add callbacks to the handle the \
                 last add_callback returned",
                core.tail_name,
                type_name::<T>()
            );
            core.tail = TypeId::of::<U>();
            core.tail_name = type_name::<U>();
            core.push_stage(stage)
        };
        if called {
            // Fired already: the new stage runs now, as in Twisted.
            self::core::run_callbacks(self.core());
        }
        Deferred::from_core(Rc::clone(self.core()))
    }

    /// A handle on this chain for adding callbacks after its last stage, which must produce a `U`:
    /// for when the chain was extended elsewhere (a `DeferredList` adds a stage that gives `()` to
    /// each member; a Deferred whose result went to another by chaining goes on with `()`).
    ///
    /// # Panics
    ///
    /// If the chain's last stage does not produce a `U`.
    pub fn tail<U: 'static>(&self) -> Deferred<U> {
        let core = self.core().borrow();
        assert!(
            core.tail == TypeId::of::<U>(),
            "this Deferred's last callback produces {}, not {}",
            core.tail_name,
            type_name::<U>()
        );
        Deferred::from_core(Rc::clone(self.core()))
    }

    /// Fires `other` with this Deferred's result (value or failure): Twisted's `chainDeferred`.
    /// Firing `other` does not fire this one. This Deferred goes on with `()`.
    pub fn chain_deferred(&self, other: &Deferred<T>) -> Deferred<()> {
        other.core().borrow_mut().waiting_on = Some(Rc::downgrade(self.core()));
        let (for_value, for_failure) = (other.clone(), other.clone());
        self.add_callbacks(
            move |value| for_value.callback(value).map_err(Failure::new),
            move |failure| for_failure.errback(failure).map_err(Failure::new),
        )
    }

    /// Holds the chain: callbacks do not run (even if the Deferred fires) until `unpause`.
    pub fn pause(&self) {
        self::core::pause(self.core());
    }

    /// Lifts one `pause`; when none is left, the chain goes on.
    pub fn unpause(&self) {
        self::core::unpause(self.core());
    }

    /// Cancels the Deferred (Part 19). Not fired yet: its canceller runs, and unless that fired it,
    /// it fails with [`CancelledError`]. Waiting on an inner Deferred: that one is cancelled.
    /// Already fired: nothing happens.
    pub fn cancel(&self) {
        self::core::cancel(self.core());
    }

    /// Whether the Deferred has fired.
    pub fn called(&self) -> bool {
        self.core().borrow().called()
    }

    /// Whether the Deferred is paused (by `pause`, or waiting on an inner Deferred).
    pub fn paused(&self) -> bool {
        self.core().borrow().paused()
    }

    /// The Deferred this one waits for (by chaining), if any, as an untyped identity for display.
    pub fn waiting_on(&self) -> Option<DeferredId> {
        let core = self.core().borrow();
        core.waiting_on
            .as_ref()
            .and_then(std::rc::Weak::upgrade)
            .map(|inner| DeferredId(Rc::as_ptr(&inner) as usize))
    }

    /// This Deferred's identity, for display.
    pub fn id(&self) -> DeferredId {
        DeferredId(Rc::as_ptr(self.core()) as usize)
    }

    fn check_head(&self) {
        let core = self.core().borrow();
        assert!(
            core.head == TypeId::of::<T>(),
            "fire a Deferred with the handle of its first type, not {}",
            type_name::<T>()
        );
    }

    pub(crate) fn set_cancel_mode_leave_to_owner(&self, canceller: impl FnMut() + 'static) {
        let mut canceller = canceller;
        let mut core = self.core().borrow_mut();
        core.cancel_mode = CancelMode::LeaveToOwner;
        core.set_canceller(Box::new(move |_| canceller()));
    }
}

/// A Deferred's identity: `Deferred at 0x5581a3c0`, as Twisted prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeferredId(usize);

impl fmt::Display for DeferredId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deferred at {:#x}", self.0)
    }
}

/// `<Deferred at 0x… current result: …>` or `<Deferred at 0x… waiting on Deferred at 0x…>`.
impl<T: 'static> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}", self.id())?;
        if let Some(inner) = self.waiting_on() {
            write!(f, " waiting on {inner}")?;
        } else if let Some(result) = self.core().borrow().describe_result() {
            write!(f, " current result: {result}")?;
        }
        write!(f, ">")
    }
}

/// A Deferred already fired with `value`: Twisted's `succeed`. Callbacks added to it run at once.
#[track_caller]
pub fn succeed<T: 'static>(value: T) -> Deferred<T> {
    if debugging() {
        // In debug mode the Deferred records where it was made, so make its chain now.
        let deferred = Deferred::new();
        let _ = deferred.callback(value);
        return deferred;
    }
    Deferred::ready(value)
}

/// A Deferred already failed with `failure`: Twisted's `fail`. Errbacks added to it run at once.
#[track_caller]
pub fn fail<T: 'static>(failure: impl Into<Failure>) -> Deferred<T> {
    let deferred = Deferred::new();
    let _ = deferred.errback(failure);
    deferred
}

/// Calls `f` and gives its outcome as a Deferred, whatever it returns: Twisted's `maybeDeferred`. A
/// result becomes a fired Deferred, a failure (or a panic) a failed one, and a returned Deferred is
/// passed through as it is.
pub fn maybe_deferred<T: 'static, R: IntoStep<T>>(f: impl FnOnce() -> R) -> Deferred<T> {
    match crate::reactor::guard::catch_panic(f) {
        Ok(result) => match result.into_outcome() {
            Typed::Value(value) => succeed(value),
            Typed::Failure(failure) => fail(failure),
            Typed::Wait(deferred) => deferred,
        },
        Err((message, location)) => fail(Failure::from_panic(message, location)),
    }
}

/// Logs `failure` as an unhandled error and gives it back unchanged: an errback for the end of a
/// chain that reports whatever reached it (Twisted's `log.err` used as an errback).
pub fn log_error(failure: Failure) -> Failure {
    crate::log::report_unhandled("processing a Deferred", &failure.report());
    failure
}

#[cfg(test)]
mod tests;
