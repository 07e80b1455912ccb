//! Timed calls: `call_later`, `call_repeatedly` and the [`DelayedCall`] handle they return.
//!
//! Twisted keeps its timed calls in a heap and, on every turn of the loop, runs the ones that are due
//! and then sleeps in `select` until the next one. We do the same with one queue per reactor and one
//! tokio task that drives it, instead of one tokio task per call: a slow server with ten thousand
//! clients has ten thousand pending calls, and a queue entry is much lighter than a task.
//!
//! The queue is ordered by deadline, and by the order the calls were made when deadlines are equal.
//! Most programs schedule with one delay, or a few: a slow server re-arms every connection's call
//! 100 ms after the pass that ran it, so each new deadline is the latest of all. The queue takes
//! advantage of that. It keeps a few *lanes*, each a first-in first-out list already in deadline
//! order: a call whose deadline is not before the last one of some lane is appended to that lane,
//! at no cost, and the due calls are taken from the lanes' fronts, reading memory in order. Only a
//! call that fits no lane (rare: say a short delay among many long ones, beyond four such streams)
//! goes to an ordered map, and the fronts are merged.
//!
//! A call cancelled or moved while in a lane is not searched for: it is counted as stale and
//! skipped when its entry comes to the front. Stale entries are swept out whenever they outnumber
//! the live ones, so ten thousand requests that each cancel a ten-minute timeout do not keep ten
//! thousand entries for ten minutes.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A deadline: nanoseconds since the reactor's time zero. Two integers compare faster than two
/// instants, and an entry stays small.
type Nanos = u64;

/// How many lanes the queue keeps (see the module's documentation).
const LANES: usize = 4;

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

/// What a timed call runs, kept in the call itself rather than boxed apart: running a call then
/// reads one allocation, not two.
trait Run {
    /// Runs the callback once; `Some(interval)` asks for another run that long after this pass.
    fn run(&mut self) -> Option<Duration>;

    /// Drops the callback, and what it holds (a connection, a buffer), once it will never run again.
    fn clear(&mut self);
}

/// A callback that runs once.
struct Once<F>(Option<F>);

impl<F: FnOnce()> Run for Once<F> {
    fn run(&mut self) -> Option<Duration> {
        if let Some(callback) = self.0.take() {
            callback();
        }
        None
    }

    fn clear(&mut self) {
        self.0 = None;
    }
}

/// A callback that says, each time it runs, when to run it again.
struct Repeating<F>(Option<F>);

impl<F: FnMut() -> Option<Duration>> Run for Repeating<F> {
    fn run(&mut self) -> Option<Duration> {
        self.0.as_mut().and_then(|callback| callback())
    }

    fn clear(&mut self) {
        self.0 = None;
    }
}

/// Where a call's entry in the queue is, so that cancelling or moving it knows what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Not queued: running, run, cancelled, or taken out to run in the current pass.
    Nowhere,
    /// In a lane: its entry there is the one made at its current `generation`.
    Lane,
    /// In the ordered map, under its deadline and id.
    Map,
}

/// One timed call: when it is due, where it is queued, and what to run.
struct TimedCall<R: ?Sized> {
    id: u64,
    repeating: bool,
    deadline: Cell<Nanos>,
    state: Cell<CallState>,
    place: Cell<Place>,
    /// Counts the call's entries into the queue: an entry made before the latest is stale.
    generation: Cell<u64>,
    /// Borrowed while the callback runs; a repeating call that cancels itself from there leaves
    /// the clearing to the pass that ran it.
    callback: RefCell<R>,
}

type Call = Rc<TimedCall<dyn Run>>;

/// A call's place in the queue, as it was when the call was queued. The queue orders entries
/// without reading the calls they point to: with thousands of calls, each read of a call is likely
/// a trip to main memory, and a pass should make one per call it runs, not more.
struct Entry {
    deadline: Nanos,
    id: u64,
    generation: u64,
    call: Call,
}

impl Entry {
    fn key(&self) -> (Nanos, u64) {
        (self.deadline, self.id)
    }

    /// Whether this entry is still its call's place in the queue: the call was neither cancelled
    /// nor moved (queued again) since. An entry that is not is stale.
    fn is_current(&self) -> bool {
        self.call.place.get() != Place::Nowhere && self.call.generation.get() == self.generation
    }
}

/// A due entry taken out of the queue for a pass, and whether it came from a lane.
type Due = (Entry, bool);

/// The pending calls of one reactor, in deadline order (see the module's documentation).
#[derive(Default)]
struct Queue {
    lanes: [VecDeque<Entry>; LANES],
    map: BTreeMap<(Nanos, u64), Entry>,
    /// How many calls are pending (queued, or taken out for this pass and not run yet).
    live: usize,
    /// How many entries taken from lanes are stale: in the lanes, or among a pass's due entries.
    stale: usize,
    /// Set during a pass: sweeping the lanes then would miscount the stale entries the pass holds.
    passing: bool,
}

impl Queue {
    /// The key of the first entry, stale or not: the driver may wake for a stale one, finds
    /// nothing due, and sleeps again.
    fn first(&self) -> Option<(Nanos, u64)> {
        let lanes = self
            .lanes
            .iter()
            .filter_map(|lane| lane.front().map(Entry::key));
        lanes.chain(self.map.keys().next().copied()).min()
    }

    /// Queues `call` under its deadline. Returns whether it may now be the first call: not if it
    /// went behind other entries of a lane, the common case, which then costs no search.
    fn push(&mut self, call: &Call) -> bool {
        call.generation.set(call.generation.get() + 1);
        let entry = Entry {
            deadline: call.deadline.get(),
            id: call.id,
            generation: call.generation.get(),
            call: Rc::clone(call),
        };
        let key = entry.key();
        self.live += 1;
        // Of the lanes this entry can end without breaking their order, the one whose last entry
        // is the latest: a lane of long delays stays apart from one of short delays. An empty lane
        // takes the entry only if no other can.
        let mut chosen: Option<(usize, Option<(Nanos, u64)>)> = None;
        for (index, lane) in self.lanes.iter().enumerate() {
            let last = lane.back().map(Entry::key);
            if last.is_none_or(|last| last <= key) && chosen.is_none_or(|(_, best)| last > best) {
                chosen = Some((index, last));
            }
        }
        match chosen {
            Some((index, last)) => {
                self.lanes[index].push_back(entry);
                call.place.set(Place::Lane);
                last.is_none()
            }
            None => {
                self.map.insert(key, entry);
                call.place.set(Place::Map);
                true
            }
        }
    }

    /// Takes `call` out of the queue (it is being cancelled or moved).
    fn unlink(&mut self, call: &TimedCall<dyn Run>) {
        match call.place.replace(Place::Nowhere) {
            Place::Nowhere => return,
            // Not there if a pass has taken it out already: then the pass finds it stale.
            Place::Map => drop(self.map.remove(&(call.deadline.get(), call.id))),
            Place::Lane => {
                self.stale += 1;
                if !self.passing {
                    self.sweep();
                }
            }
        }
        self.live -= 1;
    }

    /// Drops the lanes' stale entries once they outnumber the live ones.
    fn sweep(&mut self) {
        let queued: usize = self.lanes.iter().map(VecDeque::len).sum();
        if self.stale > 64 && self.stale * 2 > queued {
            for lane in &mut self.lanes {
                lane.retain(Entry::is_current);
            }
            self.stale = 0;
        }
    }

    /// Starts a pass: moves every entry due at `now` to `due`, in deadline order, stale or not
    /// ([`Queue::settle`] tells them apart).
    fn take_due(&mut self, now: Nanos, due: &mut Vec<Due>) {
        self.sweep();
        self.passing = true;
        loop {
            // The source with the earliest front: a lane, or the map (`None`).
            let mut earliest: Option<(Option<usize>, (Nanos, u64))> = None;
            for (index, lane) in self.lanes.iter().enumerate() {
                if let Some(front) = lane.front()
                    && earliest.is_none_or(|(_, key)| front.key() < key)
                {
                    earliest = Some((Some(index), front.key()));
                }
            }
            if let Some(&key) = self.map.keys().next()
                && earliest.is_none_or(|(_, best)| key < best)
            {
                earliest = Some((None, key));
            }
            let taken = match earliest {
                Some((Some(lane), (deadline, _))) if deadline <= now => {
                    self.lanes[lane].pop_front().map(|entry| (entry, true))
                }
                Some((None, (deadline, _))) if deadline <= now => {
                    self.map.pop_first().map(|(_, entry)| (entry, false))
                }
                _ => None,
            };
            match taken {
                Some(taken) => due.push(taken),
                None => return,
            }
        }
    }

    /// Whether a due entry of this pass is to run: if so, its call leaves the queue; if it is
    /// stale (made so before the pass, or by a call that ran earlier in it), it is counted out.
    fn settle(&mut self, (entry, from_lane): &Due) -> bool {
        if entry.is_current() {
            entry.call.place.set(Place::Nowhere);
            self.live -= 1;
            true
        } else {
            if *from_lane {
                self.stale -= 1;
            }
            false
        }
    }
}

/// The timed calls of one reactor, and the means to wake the task that runs them.
pub(crate) struct Timers {
    queue: RefCell<Queue>,
    next_id: Cell<u64>,
    /// Wakes the driver when a call becomes the earliest, so that it sleeps for the right time.
    earliest_changed: Notify,
    /// The reactor's time zero: [`Timers::seconds`] counts from here, and deadlines too.
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
            queue: RefCell::new(Queue::default()),
            next_id: Cell::new(0),
            earliest_changed: Notify::new(),
            origin,
            runtime,
        }
    }

    /// The deadline `delay` after `start`. A delay too long to represent (`--timeout 1e19`) means
    /// "in a century", which is never for any program here, instead of an overflow.
    fn after(start: Nanos, delay: Duration) -> Nanos {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let delay = u64::try_from(delay.min(CENTURY).as_nanos()).unwrap_or(u64::MAX);
        start.saturating_add(delay)
    }

    /// The time now, on the reactor's clock.
    fn now(&self) -> Nanos {
        let _context = self.runtime.enter();
        self.since_origin(Instant::now())
    }

    fn since_origin(&self, instant: Instant) -> Nanos {
        let elapsed = instant.saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Seconds since the reactor was made: the reactor's clock.
    pub(crate) fn seconds(&self) -> f64 {
        Duration::from_nanos(self.now()).as_secs_f64()
    }

    /// Schedules `callback` to run once, `delay` from now.
    pub(crate) fn schedule_once(
        self: &Rc<Self>,
        delay: Duration,
        callback: impl FnOnce() + 'static,
    ) -> DelayedCall {
        self.schedule(delay, false, Once(Some(callback)))
    }

    /// Schedules `callback` to run `delay` from now, and then again after each interval it returns.
    pub(crate) fn schedule_repeating(
        self: &Rc<Self>,
        delay: Duration,
        callback: impl FnMut() -> Option<Duration> + 'static,
    ) -> DelayedCall {
        self.schedule(delay, true, Repeating(Some(callback)))
    }

    fn schedule(
        self: &Rc<Self>,
        delay: Duration,
        repeating: bool,
        run: impl Run + 'static,
    ) -> DelayedCall {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let call: Call = Rc::new(TimedCall {
            id,
            repeating,
            deadline: Cell::new(Timers::after(self.now(), delay)),
            state: Cell::new(CallState::Pending),
            place: Cell::new(Place::Nowhere),
            generation: Cell::new(0),
            callback: RefCell::new(run),
        });
        self.insert(&call);
        DelayedCall {
            call,
            timers: Rc::clone(self),
        }
    }

    /// How many calls are pending.
    pub(crate) fn pending(&self) -> usize {
        self.queue.borrow().live
    }

    fn insert(&self, call: &Call) {
        let mut queue = self.queue.borrow_mut();
        if queue.push(call) && queue.first() == Some((call.deadline.get(), call.id)) {
            self.earliest_changed.notify_one();
        }
    }

    /// Runs one due call. A repeating call goes back into the queue, the same call with a new
    /// deadline, so that a call made every 100 ms for a whole connection costs no allocation per run.
    fn fire(&self, call: &Call, now: Nanos) {
        call.state.set(if call.repeating {
            CallState::Repeating
        } else {
            CallState::Called
        });
        let again = call.callback.borrow_mut().run();
        match (call.state.get(), again) {
            (CallState::Repeating, Some(interval)) => {
                call.state.set(CallState::Pending);
                call.deadline.set(Timers::after(now, interval));
                self.insert(call);
            }
            // A one-off call has consumed its callback by running it.
            (CallState::Called, _) => {}
            // Done repeating, or the callback cancelled its own call.
            (state, _) => {
                if state == CallState::Repeating {
                    call.state.set(CallState::Called);
                }
                call.callback.borrow_mut().clear();
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
        // One timer, moved to each next deadline, rather than a new one per wait; and one list of
        // due calls, emptied by each pass.
        let mut sleep = std::pin::pin!(tokio::time::sleep_until(self.origin));
        let mut due = Vec::new();
        loop {
            let now = self.since_origin(Instant::now());
            self.queue.borrow_mut().take_due(now, &mut due);
            if !due.is_empty() {
                for taken in due.drain(..) {
                    // Stale entries, and calls that an earlier call of this same pass cancelled
                    // or moved, are passed over.
                    if self.queue.borrow_mut().settle(&taken) {
                        self.fire(&taken.0.call, now);
                    }
                }
                self.queue.borrow_mut().passing = false;
                tokio::task::yield_now().await;
                continue;
            }
            let next = self.queue.borrow().first();
            match next {
                Some((deadline, _)) => {
                    let deadline = self.origin + Duration::from_nanos(deadline);
                    sleep.as_mut().reset(deadline);
                    tokio::select! {
                        () = sleep.as_mut() => {}
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
    call: Call,
    timers: Rc<Timers>,
}

impl DelayedCall {
    /// Cancels the call, so that it never runs (again). An error if it already ran or was cancelled.
    ///
    /// A repeating call may cancel itself from inside its own callback.
    pub fn cancel(&self) -> Result<(), DelayedCallError> {
        let running = self.call.state.get() == CallState::Repeating;
        if !running {
            self.check_pending()?;
        }
        self.timers.queue.borrow_mut().unlink(&self.call);
        self.call.state.set(CallState::Cancelled);
        // Drop the callback now: it may hold resources (a connection, a buffer) worth freeing. A
        // callback cancelling its own call is still running: the pass drops it when it returns.
        if let Ok(mut callback) = self.call.callback.try_borrow_mut() {
            callback.clear();
        }
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
        Duration::from_nanos(self.call.deadline.get()).as_secs_f64()
    }

    fn move_to(&self, deadline: Nanos) -> Result<(), DelayedCallError> {
        self.check_pending()?;
        self.timers.queue.borrow_mut().unlink(&self.call);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn timers() -> (tokio::runtime::Runtime, Rc<Timers>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let timers = Rc::new(Timers::new(runtime.handle().clone()));
        (runtime, timers)
    }

    #[test]
    fn stale_entries_are_swept_out_once_they_outnumber_the_live_ones() {
        let (_runtime, timers) = timers();
        let calls: Vec<DelayedCall> = (0..1000)
            .map(|_| timers.schedule_once(Duration::from_secs(600), || {}))
            .collect();
        for call in &calls[..600] {
            call.cancel().unwrap();
        }
        let queue = timers.queue.borrow();
        let queued: usize = queue.lanes.iter().map(VecDeque::len).sum();
        // Swept when the 501st was cancelled; 99 more since.
        assert_eq!((queued, queue.stale), (499, 99));
        assert_eq!(queue.live, 400);
    }

    #[test]
    fn a_call_out_of_order_with_every_lane_goes_to_the_map() {
        let (_runtime, timers) = timers();
        for seconds in (1..=LANES as u64 + 2).rev() {
            timers.schedule_once(Duration::from_secs(seconds), || {});
        }
        let queue = timers.queue.borrow();
        assert!(queue.lanes.iter().all(|lane| lane.len() == 1));
        assert_eq!(queue.map.len(), 2);
        assert_eq!(queue.first(), Some((1_000_000_000, LANES as u64 + 1)));
    }
}
