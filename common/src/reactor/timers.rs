//! Timed calls: `call_later` and the [`DelayedCall`] handle it returns.
//!
//! Twisted keeps its timed calls in a heap and, on every turn of the loop, runs the ones that are due
//! and then sleeps in `select` until the next one. We do the same with one ordered map per reactor and
//! one tokio task that drives it, instead of one tokio task per call: a slow server with ten thousand
//! clients has ten thousand pending calls, and a map entry is much lighter than a task.
//!
//! The map is keyed by `(deadline, id)`: the ids break ties in the order the calls were made, and
//! make removing a cancelled call a simple lookup.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// Where a timed call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Pending,
    /// A repeating call is running its callback (and may cancel itself from there).
    Repeating,
    Called,
    Cancelled,
}

/// Why a [`DelayedCall`] could not be changed: it is no longer pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayedCallError {
    /// The call has already run.
    AlreadyCalled,
    /// The call was cancelled before.
    AlreadyCancelled,
}

impl fmt::Display for DelayedCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayedCallError::AlreadyCalled => write!(f, "the call has already run"),
            DelayedCallError::AlreadyCancelled => write!(f, "the call was already cancelled"),
        }
    }
}

impl std::error::Error for DelayedCallError {}

/// What a timed call runs.
pub(crate) enum Callback {
    /// Runs once.
    Once(Box<dyn FnOnce()>),
    /// Runs, then says how long until it runs again, or `None` when it is done.
    Repeating(Box<dyn FnMut() -> Option<Duration>>),
}

/// One timed call: when it is due, and what to run.
struct TimedCall {
    id: u64,
    deadline: Cell<Instant>,
    state: Cell<CallState>,
    callback: RefCell<Option<Callback>>,
}

/// The timed calls of one reactor, and the means to wake the task that runs them.
pub(crate) struct Timers {
    queue: RefCell<BTreeMap<(Instant, u64), Rc<TimedCall>>>,
    next_id: Cell<u64>,
    /// Wakes the driver when a call becomes the earliest, so that it sleeps for the right time.
    earliest_changed: Notify,
    /// The reactor's time zero: [`Timers::seconds`] counts from here.
    origin: Instant,
    /// The runtime whose clock is the reactor's (a paused one, in tests), for reading it from code
    /// that runs outside the loop, before `run`.
    runtime: tokio::runtime::Handle,
}

impl Timers {
    pub(crate) fn new(runtime: tokio::runtime::Handle) -> Timers {
        let origin = {
            let _context = runtime.enter();
            Instant::now()
        };
        Timers {
            queue: RefCell::new(BTreeMap::new()),
            next_id: Cell::new(0),
            earliest_changed: Notify::new(),
            origin,
            runtime,
        }
    }

    /// The instant `delay` from `start`. A delay too long to represent (`--timeout 1e19`) means
    /// "in a century", which is never for any program here, instead of an overflow.
    fn after(start: Instant, delay: Duration) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        start.checked_add(delay.min(CENTURY)).unwrap_or(start)
    }

    /// The time now, on the reactor's clock.
    fn now(&self) -> Instant {
        let _context = self.runtime.enter();
        Instant::now()
    }

    /// Seconds since the reactor was made: the reactor's clock.
    pub(crate) fn seconds(&self) -> f64 {
        (self.now() - self.origin).as_secs_f64()
    }

    /// Schedules `callback` to run `delay` from now.
    pub(crate) fn schedule(self: &Rc<Self>, delay: Duration, callback: Callback) -> DelayedCall {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let call = Rc::new(TimedCall {
            id,
            deadline: Cell::new(Timers::after(self.now(), delay)),
            state: Cell::new(CallState::Pending),
            callback: RefCell::new(Some(callback)),
        });
        self.insert(&call);
        DelayedCall {
            call,
            timers: Rc::clone(self),
        }
    }

    /// How many calls are pending.
    pub(crate) fn pending(&self) -> usize {
        self.queue.borrow().len()
    }

    fn insert(&self, call: &Rc<TimedCall>) {
        let key = (call.deadline.get(), call.id);
        let mut queue = self.queue.borrow_mut();
        let becomes_earliest = queue
            .first_key_value()
            .is_none_or(|(first, _)| key < *first);
        queue.insert(key, Rc::clone(call));
        if becomes_earliest {
            self.earliest_changed.notify_one();
        }
    }

    fn remove(&self, call: &TimedCall) {
        self.queue
            .borrow_mut()
            .remove(&(call.deadline.get(), call.id));
    }

    /// Runs one due call. A repeating call goes back into the queue, the same entry with a new
    /// deadline, so that a call made every 100 ms for a whole connection costs no allocation per run.
    fn fire(&self, call: &Rc<TimedCall>, now: Instant) {
        let callback = call.callback.borrow_mut().take();
        match callback {
            None => call.state.set(CallState::Called),
            Some(Callback::Once(callback)) => {
                call.state.set(CallState::Called);
                callback();
            }
            Some(Callback::Repeating(mut callback)) => {
                call.state.set(CallState::Repeating);
                let again = callback();
                if call.state.get() != CallState::Repeating {
                    // The callback cancelled its own call.
                    return;
                }
                match again {
                    Some(interval) => {
                        call.state.set(CallState::Pending);
                        call.deadline.set(Timers::after(now, interval));
                        *call.callback.borrow_mut() = Some(Callback::Repeating(callback));
                        self.insert(call);
                    }
                    None => call.state.set(CallState::Called),
                }
            }
        }
    }

    /// Runs the timed calls for as long as the reactor runs.
    ///
    /// Each pass takes the calls that are due *now* and runs them; a call scheduled by one of them,
    /// even with no delay, waits for the next pass, so it never runs inside the callback that made
    /// it. Between passes the task yields, so that I/O gets its turn, as Twisted's loop alternates
    /// timed calls and `select`.
    pub(crate) async fn drive(self: Rc<Self>) {
        loop {
            let now = Instant::now();
            let due = {
                let mut queue = self.queue.borrow_mut();
                let later = queue.split_off(&(now, u64::MAX));
                std::mem::replace(&mut *queue, later)
            };
            if !due.is_empty() {
                for ((deadline, _), call) in due {
                    // An earlier call of this same pass may have cancelled or moved this one.
                    if call.state.get() == CallState::Pending && call.deadline.get() == deadline {
                        self.fire(&call, now);
                    }
                }
                tokio::task::yield_now().await;
                continue;
            }
            let next = self.queue.borrow().first_key_value().map(|(key, _)| key.0);
            match next {
                Some(deadline) => {
                    tokio::select! {
                        () = sleep_until(deadline) => {}
                        () = self.earliest_changed.notified() => {}
                    }
                }
                None => self.earliest_changed.notified().await,
            }
        }
    }
}

/// A call that the reactor will make later: Twisted's `DelayedCall`, returned by
/// [`Reactor::call_later`](crate::reactor::Reactor::call_later).
///
/// It can be cancelled, moved (`reset`, `delay`) and asked about while it is pending. Clones are
/// handles to the same call.
#[derive(Clone)]
pub struct DelayedCall {
    call: Rc<TimedCall>,
    timers: Rc<Timers>,
}

impl DelayedCall {
    /// Cancels the call, so that it never runs (again). An error if it already ran or was cancelled.
    ///
    /// A repeating call may cancel itself from inside its own callback.
    pub fn cancel(&self) -> Result<(), DelayedCallError> {
        if self.call.state.get() != CallState::Repeating {
            self.check_pending()?;
        }
        self.timers.remove(&self.call);
        self.call.state.set(CallState::Cancelled);
        // Drop the callback now: it may hold resources (a connection, a buffer) worth freeing.
        self.call.callback.borrow_mut().take();
        Ok(())
    }

    /// Moves the call to run `delay` from now instead.
    pub fn reset(&self, delay: Duration) -> Result<(), DelayedCallError> {
        self.move_to(Timers::after(self.timers.now(), delay))
    }

    /// Puts the call off by `delay` more than it was due.
    pub fn delay(&self, delay: Duration) -> Result<(), DelayedCallError> {
        self.move_to(Timers::after(self.call.deadline.get(), delay))
    }

    /// Whether the call is still pending: neither run nor cancelled. A repeating call is active
    /// until it is cancelled or says it is done.
    pub fn active(&self) -> bool {
        matches!(
            self.call.state.get(),
            CallState::Pending | CallState::Repeating
        )
    }

    /// When the call is (or was) due, on the reactor's clock (see
    /// [`Reactor::seconds`](crate::reactor::Reactor::seconds)).
    pub fn get_time(&self) -> f64 {
        (self.call.deadline.get() - self.timers.origin).as_secs_f64()
    }

    fn move_to(&self, deadline: Instant) -> Result<(), DelayedCallError> {
        self.check_pending()?;
        self.timers.remove(&self.call);
        self.call.deadline.set(deadline);
        self.timers.insert(&self.call);
        Ok(())
    }

    fn check_pending(&self) -> Result<(), DelayedCallError> {
        match self.call.state.get() {
            CallState::Pending => Ok(()),
            CallState::Called | CallState::Repeating => Err(DelayedCallError::AlreadyCalled),
            CallState::Cancelled => Err(DelayedCallError::AlreadyCancelled),
        }
    }
}

impl fmt::Debug for DelayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelayedCall")
            .field("time", &self.get_time())
            .field("state", &self.call.state.get())
            .finish()
    }
}
