//! The untyped heart of a Deferred: its callback chain, its result, and the loop that runs them.
//!
//! [`Deferred<T>`](super::Deferred) is a typed handle on this. Values travel down the chain boxed as
//! `dyn Any`, because each callback may change their type; the typed handle checks the types when
//! callbacks are added, so the boxes always hold what the next callback expects.
//!
//! The run loop follows Twisted's `_runCallbacks`. It is a loop over an explicit stack of Deferreds,
//! not a recursion: when a callback returns a Deferred that has not fired, the outer Deferred pauses
//! and leaves a hand-over stage at the end of the inner one's chain; when the inner one reaches that
//! stage, it hands its result over and the loop carries on with the outer one, on the same stack. A
//! million nested Deferreds fire with constant stack depth.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use super::errors::{AlreadyCalledError, CancelledError, CircularChainError};
use super::failure::Failure;
use crate::reactor::guard;

/// A value on its way down the chain.
pub(crate) type Value = Box<dyn Any>;

/// A Deferred's state, shared by its handles.
pub(crate) type Shared = Rc<RefCell<Core>>;

/// A fired Deferred's current result.
pub(crate) enum Outcome {
    Value(Value),
    Failure(Failure),
}

/// What the run loop does after a stage, which has left its result in place.
pub(crate) enum Next {
    /// Go on to the next stage with the result as it is now.
    Continue,
    /// The stage returned another Deferred: the chain waits for its result.
    Wait(Shared),
    /// The end of an inner Deferred's own chain: the outer Deferred that waits gets the result.
    HandOver(Shared),
}

/// One stage of the chain: a callback and an errback in one closure, which looks at the current
/// result (a value or a failure), runs the right one, and leaves what it returned in place of the
/// result, or passes it by untouched.
///
/// The result is changed in place rather than passed in and returned, so that a callback that keeps
/// the value's type costs no move of the result at all: it takes the value out of its box and puts
/// its own back into the same box.
pub(crate) type Stage = Box<dyn FnOnce(&mut Outcome) -> Next>;
/// What `cancel` calls first; it gets the Deferred being cancelled.
pub(crate) type Canceller = Box<dyn FnMut(&Shared)>;

/// How `cancel` treats a Deferred whose canceller did not fire it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelMode {
    /// As Twisted's Deferred: fail it with `CancelledError`.
    FailIfUnfired,
    /// Leave it to the canceller's owner to fire it later (the Deferred of an async block, which
    /// fires when the block ends, whatever it does with the cancellation).
    LeaveToOwner,
}

/// Where a Deferred was made and first fired, kept in debug mode for `AlreadyCalledError`.
struct DebugInfo {
    created_at: String,
    first_fired_at: Option<String>,
}

pub(crate) struct Core {
    /// The stages not run yet, first to run at the front.
    stages: VecDeque<Stage>,
    /// The current result; `None` before firing, while waiting on an inner Deferred, and after the
    /// result was handed to an outer Deferred.
    result: Option<Outcome>,
    called: bool,
    paused: u32,
    /// A callback of this Deferred is running (so adding one must not start another run).
    running: bool,
    /// The Deferred this one waits for (chained), for `cancel` to forward to and for `Debug`.
    pub(crate) waiting_on: Option<Weak<RefCell<Core>>>,
    canceller: Option<Canceller>,
    pub(crate) cancel_mode: CancelMode,
    /// `cancel` without a canceller swallows the next `callback` or `errback`, once.
    suppress_already_called: bool,
    /// The type `callback` takes, and the type the last callback added produces.
    pub(crate) head: TypeId,
    pub(crate) tail: TypeId,
    pub(crate) tail_name: &'static str,
    /// In debug mode only: where the Deferred was made and first fired (boxed, so that a
    /// Deferred outside debug mode stays small).
    debug: Option<Box<DebugInfo>>,
}

impl Core {
    pub(crate) fn new(head: TypeId, head_name: &'static str, created_at: Option<String>) -> Shared {
        Rc::new(RefCell::new(Core {
            stages: VecDeque::new(),
            result: None,
            called: false,
            paused: 0,
            running: false,
            waiting_on: None,
            canceller: None,
            cancel_mode: CancelMode::FailIfUnfired,
            suppress_already_called: false,
            head,
            tail: head,
            tail_name: head_name,
            debug: created_at.map(|created_at| {
                Box::new(DebugInfo {
                    created_at,
                    first_fired_at: None,
                })
            }),
        }))
    }

    pub(crate) fn called(&self) -> bool {
        self.called
    }

    pub(crate) fn paused(&self) -> bool {
        self.paused > 0
    }

    /// A short description of the result, for `Debug`.
    pub(crate) fn describe_result(&self) -> Option<String> {
        match &self.result {
            Some(Outcome::Value(_)) => Some("a value".to_owned()),
            Some(Outcome::Failure(failure)) => Some(format!("{failure:?}")),
            None => None,
        }
    }

    /// Adds a stage to the chain; returns whether the Deferred has fired (so the stage must run
    /// now).
    #[inline]
    pub(crate) fn push_stage(
        &mut self,
        stage: impl FnOnce(&mut Outcome) -> Next + 'static,
    ) -> bool {
        // The queue starts with room for four stages and doubles when full: most chains are
        // short, and a Deferred should stay small when thousands of them are waiting.
        self.stages.push_back(Box::new(stage));
        self.called
    }

    pub(crate) fn set_canceller(&mut self, canceller: Canceller) {
        self.canceller = Some(canceller);
    }
}

/// Fires the Deferred with its first result: Twisted's `callback`/`errback`.
pub(crate) fn fire(
    shared: &Shared,
    outcome: Outcome,
    invoked_at: Option<String>,
) -> Result<(), AlreadyCalledError> {
    let (canceller, nothing_to_run) = {
        let mut core = shared.borrow_mut();
        if core.called {
            if core.suppress_already_called {
                // The one late result that follows a `cancel` without canceller is dropped.
                core.suppress_already_called = false;
                return Ok(());
            }
            return Err(match &core.debug {
                Some(debug) => AlreadyCalledError::new(
                    Some(debug.created_at.clone()),
                    debug.first_fired_at.clone(),
                ),
                None => AlreadyCalledError::new(None, None),
            });
        }
        core.called = true;
        if let Some(debug) = core.debug.as_mut() {
            debug.first_fired_at = invoked_at;
        }
        core.result = Some(outcome);
        core.waiting_on = None;
        // Fired: the canceller is no use any more, and may hold things worth freeing.
        let nothing_to_run = core.stages.is_empty() && core.paused == 0;
        (core.canceller.take(), nothing_to_run)
    };
    drop(canceller);
    // A Deferred fired before anyone added callbacks (`succeed`, say) has nothing to run yet.
    if !nothing_to_run {
        run_callbacks(shared);
    }
    Ok(())
}

/// Twisted's `cancel`.
pub(crate) fn cancel(shared: &Shared) {
    let (called, waiting_on) = {
        let core = shared.borrow();
        (core.called, core.waiting_on.clone())
    };
    if called {
        // Fired, but waiting on an inner Deferred: cancelling means cancelling that one.
        if let Some(inner) = waiting_on.and_then(|weak| weak.upgrade()) {
            cancel(&inner);
        }
        return;
    }
    let canceller = shared.borrow_mut().canceller.take();
    let mode = shared.borrow().cancel_mode;
    match canceller {
        Some(mut canceller) => {
            canceller(shared);
            let mut core = shared.borrow_mut();
            if mode == CancelMode::LeaveToOwner && !core.called {
                core.canceller = Some(canceller);
            }
        }
        None => shared.borrow_mut().suppress_already_called = true,
    }
    if mode == CancelMode::FailIfUnfired && !shared.borrow().called {
        let _ = fire(shared, Outcome::Failure(Failure::new(CancelledError)), None);
    }
}

/// Twisted's `unpause`: when the last pause is lifted, the chain goes on.
pub(crate) fn unpause(shared: &Shared) {
    let resume = {
        let mut core = shared.borrow_mut();
        core.paused = core.paused.saturating_sub(1);
        core.paused == 0 && core.called
    };
    if resume {
        run_callbacks(shared);
    }
}

pub(crate) fn pause(shared: &Shared) {
    shared.borrow_mut().paused += 1;
}

/// Runs the chain of `start` (and of every Deferred waiting on it) as far as it can go.
pub(crate) fn run_callbacks(start: &Shared) {
    if start.borrow().running {
        // A callback of this Deferred is running: the stage just added is picked up by that run.
        return;
    }
    let quiet = guard::QuietPanics::begin();
    let mut run = Run {
        current: Rc::clone(start),
        interrupted: Vec::new(),
    };
    // One guard around the whole run rather than one per callback: a panic in a callback comes
    // back here, becomes that stage's failure, as an exception in a Twisted callback does, and the
    // run goes on from the same place.
    while let Err((message, location)) = guard::catch_quietly(&quiet, || run.go()) {
        let mut core = run.current.borrow_mut();
        core.running = false;
        core.result = Some(Outcome::Failure(Failure::from_panic(message, location)));
    }
}

/// Where a run of callbacks is.
struct Run {
    /// The Deferred being run.
    current: Shared,
    /// Below it, those whose runs it interrupted to resume an outer Deferred that was waiting
    /// (Twisted's `chain` list, minus the allocation when nothing waits).
    interrupted: Vec<Shared>,
}

/// How the run of one Deferred's chain ended.
enum Ran {
    /// Its chain is run through, or it waits on another Deferred.
    Done,
    /// It is paused: the whole run stops here, as in Twisted.
    Paused,
    /// It handed its result to an outer Deferred, which is now the current one.
    HandedOver,
}

impl Run {
    /// Runs callbacks until every Deferred of the run is done or paused.
    fn go(&mut self) {
        loop {
            match self.run_current() {
                Ran::Paused => return,
                Ran::HandedOver => {}
                Ran::Done => match self.interrupted.pop() {
                    Some(resumed) => self.current = resumed,
                    None => return,
                },
            }
        }
    }

    /// Runs the current Deferred's stages one after the other.
    ///
    /// The result stays in a local variable for the whole run of the chain, each stage changing it
    /// in place, and goes back into the Deferred only when the run ends: storing it after every
    /// stage and loading it again for the next kept the processor waiting on its own stores. While
    /// a stage runs, the Deferred shows no result, and nothing else can take it.
    fn run_current(&mut self) -> Ran {
        let taken = {
            let mut core = self.current.borrow_mut();
            if core.paused > 0 {
                return Ran::Paused;
            }
            core.waiting_on = None;
            core.result.take()
        };
        let Some(mut result) = taken else {
            return Ran::Done;
        };
        loop {
            let stage = {
                let mut core = self.current.borrow_mut();
                let Some(stage) = core.stages.pop_front() else {
                    core.result = Some(result);
                    return Ran::Done;
                };
                // Busy: a stage added by this callback waits for this loop to reach it.
                core.running = true;
                stage
            };
            let next = stage(&mut result);
            self.current.borrow_mut().running = false;
            match next {
                Next::Continue => {}
                Next::Wait(inner) => match wait_for(&self.current, inner) {
                    Some(taken) => result = taken,
                    None => return Ran::Done,
                },
                Next::HandOver(outer) => {
                    self.hand_over(outer, result);
                    return Ran::HandedOver;
                }
            }
        }
    }

    /// The end of the current (inner) Deferred's own chain: its result goes to the outer Deferred
    /// that waited for it, and the run carries on with that one. The inner Deferred is resumed
    /// afterwards, for whatever was added to its chain after the hand-over.
    fn hand_over(&mut self, outer: Shared, outcome: Outcome) {
        went_on_with_unit(&mut self.current.borrow_mut());
        {
            let mut waiting = outer.borrow_mut();
            waiting.result = Some(outcome);
            waiting.paused -= 1;
        }
        let resumed = std::mem::replace(&mut self.current, outer);
        self.interrupted.push(resumed);
    }
}

/// A callback of `current` returned the Deferred `inner`: gives inner's result if it has one now;
/// otherwise pauses `current` until inner hands it over (and gives `None`).
fn wait_for(current: &Shared, inner: Shared) -> Option<Outcome> {
    if Rc::ptr_eq(&inner, current) {
        return Some(Outcome::Failure(Failure::new(CircularChainError)));
    }
    {
        let mut waited_for = inner.borrow_mut();
        if waited_for.paused == 0
            && let Some(result) = waited_for.result.take()
        {
            // The inner Deferred already has its result: take it now, synchronously.
            went_on_with_unit(&mut waited_for);
            return Some(result);
        }
    }
    // Wait for the inner Deferred: pause, and leave it a stage that hands its result back to us.
    {
        let mut core = current.borrow_mut();
        core.paused += 1;
        core.waiting_on = Some(Rc::downgrade(&inner));
    }
    let outer = Rc::clone(current);
    let mut waited_for = inner.borrow_mut();
    waited_for.push_stage(move |_| Next::HandOver(outer));
    // What comes after the hand-over on the inner Deferred's own chain gets `()`.
    waited_for.tail = TypeId::of::<()>();
    waited_for.tail_name = "()";
    None
}

/// A Deferred whose result went to the Deferred that waited for it goes on with nothing (`()` here,
/// `None` in Twisted), so that its failure, if that is what it was, is not reported twice.
fn went_on_with_unit(core: &mut Core) {
    core.result = Some(Outcome::Value(Box::new(())));
    core.tail = TypeId::of::<()>();
    core.tail_name = "()";
}

impl Drop for Core {
    /// A Deferred that goes away with a failure nobody handled says so, as Twisted's does when it is
    /// garbage-collected: otherwise the error would vanish without a trace.
    fn drop(&mut self) {
        if let Some(Outcome::Failure(failure)) = &self.result {
            crate::log::report_unhandled_deferred(&failure.report());
        }
    }
}
