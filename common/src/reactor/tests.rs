//! Tests of the reactor's loop and timed calls, under a paused clock: time jumps from one deadline
//! to the next, so the times below are exact.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::*;

/// A log of what happened, shared by the callbacks of one test.
#[derive(Clone, Default)]
struct Events(Rc<RefCell<Vec<String>>>);

impl Events {
    fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

fn paused() -> Reactor {
    Reactor::with_paused_clock().unwrap()
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Schedules a call that records its name and the reactor's time.
fn record_at(
    reactor: &Reactor,
    events: &Events,
    delay: Duration,
    name: &'static str,
) -> DelayedCall {
    let (clock, events) = (reactor.clone(), events.clone());
    reactor.call_later(delay, move || {
        events.push(format!("{name} at {:.3}", clock.seconds()))
    })
}

/// Stops the reactor after `delay`.
fn stop_after(reactor: &Reactor, delay: Duration) {
    let handle = reactor.clone();
    reactor.call_later(delay, move || handle.stop());
}

#[test]
fn stop_when_not_running_is_an_error() {
    let reactor = paused();
    assert_eq!(reactor.stop(), Err(ReactorError::NotRunning));
}

#[test]
fn run_returns_after_stop_and_runs_only_once() {
    let reactor = paused();
    let handle = reactor.clone();
    let events = Events::default();
    let log = events.clone();
    reactor.call_when_running(move || {
        log.push(format!("nested run: {:?}", handle.run()));
        log.push(format!("stop: {:?}", handle.stop()));
        log.push(format!("stop again: {:?}", handle.stop()));
    });
    assert_eq!(reactor.run(), Ok(()));
    assert_eq!(
        events.take(),
        [
            "nested run: Err(AlreadyRunning)",
            "stop: Ok(())",
            "stop again: Err(NotRunning)"
        ]
    );
    assert_eq!(reactor.run(), Err(ReactorError::NotRestartable));
    assert_eq!(reactor.stop(), Err(ReactorError::NotRunning));
    assert!(!reactor.is_running());
}

#[test]
fn stop_waits_for_the_before_shutdown_triggers_while_the_loop_goes_on() {
    let reactor = paused();
    let events = Events::default();
    // One trigger finishes its work 5 s after the stop, on a timer; the other has nothing to wait
    // for. A timer due meanwhile still runs.
    let (clock, log) = (reactor.clone(), events.clone());
    reactor.add_before_shutdown(move || {
        log.push(format!("slow trigger called at {:.3}", clock.seconds()));
        let done = Deferred::new();
        let (fire, log, clock2) = (done.clone(), log.clone(), clock.clone());
        clock.call_later(ms(5000), move || {
            log.push(format!("slow trigger done at {:.3}", clock2.seconds()));
            let _ = fire.callback(());
        });
        done
    });
    let log = events.clone();
    reactor.add_before_shutdown(move || {
        log.push("quick trigger called");
        crate::defer::succeed(())
    });
    record_at(&reactor, &events, ms(3000), "timer");
    stop_after(&reactor, ms(1000));
    assert_eq!(reactor.run(), Ok(()));
    assert_eq!(
        events.take(),
        [
            "slow trigger called at 1.000",
            "quick trigger called",
            "timer at 3.000",
            "slow trigger done at 6.000"
        ]
    );
}

#[test]
fn a_stop_with_no_triggers_is_immediate() {
    let reactor = paused();
    let events = Events::default();
    record_at(&reactor, &events, ms(10), "timer");
    stop_after(&reactor, ms(5));
    assert_eq!(reactor.run(), Ok(()));
    assert!(events.take().is_empty());
}

#[test]
fn startup_callbacks_run_in_order_once_running() {
    let reactor = paused();
    let events = Events::default();
    for name in ["first", "second"] {
        let (log, handle) = (events.clone(), reactor.clone());
        reactor.call_when_running(move || log.push(format!("{name}: {}", handle.is_running())));
    }
    events.push("before run");
    stop_after(&reactor, Duration::ZERO);
    reactor.run().unwrap();
    assert_eq!(events.take(), ["before run", "first: true", "second: true"]);
}

#[test]
fn timed_calls_run_in_deadline_order_at_their_time() {
    let reactor = paused();
    let events = Events::default();
    record_at(&reactor, &events, ms(2000), "c");
    record_at(&reactor, &events, ms(500), "a");
    record_at(&reactor, &events, ms(1000), "b1");
    record_at(&reactor, &events, ms(1000), "b2");
    stop_after(&reactor, ms(3000));
    reactor.run().unwrap();
    assert_eq!(
        events.take(),
        ["a at 0.500", "b1 at 1.000", "b2 at 1.000", "c at 2.000"]
    );
}

#[test]
fn a_call_scheduled_inside_a_callback_runs_after_it() {
    let reactor = paused();
    let events = Events::default();
    let (handle, log) = (reactor.clone(), events.clone());
    reactor.call_later(ms(10), move || {
        let inner_log = log.clone();
        handle.call_later(Duration::ZERO, move || inner_log.push("inner"));
        log.push("outer done");
    });
    stop_after(&reactor, ms(20));
    reactor.run().unwrap();
    assert_eq!(events.take(), ["outer done", "inner"]);
}

#[test]
fn cancelled_calls_never_run() {
    let reactor = paused();
    let events = Events::default();
    let call = record_at(&reactor, &events, ms(100), "cancelled");
    record_at(&reactor, &events, ms(200), "kept");
    assert!(call.active());
    assert_eq!(call.cancel(), Ok(()));
    assert!(!call.active());
    assert_eq!(call.cancel(), Err(DelayedCallError::AlreadyCancelled));
    assert_eq!(call.reset(ms(1)), Err(DelayedCallError::AlreadyCancelled));
    assert_eq!(reactor.pending_calls(), 1);
    stop_after(&reactor, ms(300));
    reactor.run().unwrap();
    assert_eq!(events.take(), ["kept at 0.200"]);
}

#[test]
fn a_call_that_ran_cannot_be_cancelled() {
    let reactor = paused();
    let events = Events::default();
    let call = record_at(&reactor, &events, ms(100), "ran");
    stop_after(&reactor, ms(200));
    reactor.run().unwrap();
    assert!(!call.active());
    assert_eq!(call.cancel(), Err(DelayedCallError::AlreadyCalled));
    assert_eq!(call.delay(ms(1)), Err(DelayedCallError::AlreadyCalled));
}

#[test]
fn reset_and_delay_move_a_call() {
    let reactor = paused();
    let events = Events::default();
    let sooner = record_at(&reactor, &events, ms(5000), "reset");
    let later = record_at(&reactor, &events, ms(1000), "delayed");
    assert_eq!(sooner.get_time(), 5.0);
    sooner.reset(ms(300)).unwrap();
    later.delay(ms(700)).unwrap();
    assert_eq!(sooner.get_time(), 0.3);
    assert_eq!(later.get_time(), 1.7);
    stop_after(&reactor, ms(6000));
    reactor.run().unwrap();
    assert_eq!(events.take(), ["reset at 0.300", "delayed at 1.700"]);
}

#[test]
fn a_callback_can_cancel_another_due_at_the_same_time() {
    let reactor = paused();
    let events = Events::default();
    let victim: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
    let slot = victim.clone();
    reactor.call_later(ms(100), move || slot.borrow().as_ref().unwrap().cancel());
    *victim.borrow_mut() = Some(record_at(&reactor, &events, ms(100), "victim"));
    stop_after(&reactor, ms(200));
    reactor.run().unwrap();
    assert!(events.take().is_empty());
}

#[test]
fn failing_callbacks_do_not_stop_the_loop() {
    let reactor = paused();
    let events = Events::default();
    reactor.call_when_running(|| Err::<(), _>("I fall down."));
    reactor.call_later(ms(10), || -> () {
        panic!("I fall down too.");
    });
    let log = events.clone();
    reactor.call_later(ms(20), move || log.push("But I get up again."));
    stop_after(&reactor, ms(30));
    let ((), log) = crate::log::capture(|| reactor.run().unwrap());
    assert_eq!(events.take(), ["But I get up again."]);
    assert!(
        log.contains("\twhile calling a startup callback: I fall down.\n"),
        "{log}"
    );
    assert!(
        log.contains("\twhile calling a timed call: I fall down too. (panicked at "),
        "{log}"
    );
}

#[test]
fn the_clock_starts_at_zero_and_follows_the_loop() {
    let reactor = paused();
    assert_eq!(reactor.seconds(), 0.0);
    let (handle, seen) = (reactor.clone(), Events::default());
    let log = seen.clone();
    reactor.call_later(ms(1500), move || {
        log.push(format!("{}", handle.seconds()));
        handle.stop()
    });
    reactor.run().unwrap();
    assert_eq!(seen.take(), ["1.5"]);
}

#[test]
fn repeating_calls_run_until_they_say_stop() {
    let reactor = paused();
    let events = Events::default();
    let (clock, log, runs) = (reactor.clone(), events.clone(), Rc::new(Cell::new(0)));
    let call = reactor.call_repeatedly(ms(100), move || {
        runs.set(runs.get() + 1);
        log.push(format!("run {} at {:.3}", runs.get(), clock.seconds()));
        (runs.get() < 3).then_some(ms(250))
    });
    assert!(call.active());
    stop_after(&reactor, ms(2000));
    reactor.run().unwrap();
    assert_eq!(
        events.take(),
        ["run 1 at 0.100", "run 2 at 0.350", "run 3 at 0.600"]
    );
    assert!(!call.active());
    assert_eq!(call.cancel(), Err(DelayedCallError::AlreadyCalled));
}

#[test]
fn a_repeating_call_can_cancel_itself_or_be_cancelled() {
    let reactor = paused();
    let events = Events::default();
    let slot: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
    let (log, own) = (events.clone(), slot.clone());
    let call = reactor.call_repeatedly(ms(10), move || {
        log.push("tick");
        own.borrow().as_ref().unwrap().cancel().unwrap();
        Some(ms(10))
    });
    *slot.borrow_mut() = Some(call.clone());
    let other_log = events.clone();
    let other = reactor.call_repeatedly(ms(15), move || {
        other_log.push("tock");
        Some(ms(10))
    });
    let stopper = other.clone();
    reactor.call_later(ms(40), move || stopper.cancel());
    stop_after(&reactor, ms(100));
    reactor.run().unwrap();
    assert_eq!(events.take(), ["tick", "tock", "tock", "tock"]);
    assert!(!call.active());
    assert!(!other.active());
    assert_eq!(other.cancel(), Err(DelayedCallError::AlreadyCancelled));
}

#[test]
fn an_enormous_delay_is_merely_never() {
    let reactor = paused();
    let events = Events::default();
    let never = record_at(&reactor, &events, Duration::MAX, "never");
    never.delay(Duration::MAX).unwrap();
    never.reset(Duration::from_secs_f64(1e19)).unwrap();
    assert!(never.get_time() > 3e9);
    let repeating = reactor.call_repeatedly(ms(1), || Some(Duration::MAX));
    stop_after(&reactor, ms(10));
    reactor.run().unwrap();
    assert!(events.take().is_empty());
    assert!(never.active() && repeating.active());
}

/// Schedules a call that records `name` when it runs.
fn record(reactor: &Reactor, events: &Events, delay: Duration, name: String) -> DelayedCall {
    let events = events.clone();
    reactor.call_later(delay, move || events.push(name))
}

#[test]
fn calls_made_in_any_order_run_in_deadline_order() {
    // Deadlines that fall and rise in turns: more orderings than the queue has lanes, so some calls
    // go to its ordered map, and the calls are merged back into one order when they run.
    let reactor = paused();
    let events = Events::default();
    let delays = [
        900, 100, 800, 200, 700, 300, 600, 400, 500, 500, 50, 950, 100, 900,
    ];
    for (index, delay) in delays.iter().enumerate() {
        record(&reactor, &events, ms(*delay), format!("{delay}/{index}"));
    }
    stop_after(&reactor, ms(1000));
    reactor.run().unwrap();
    let mut expected: Vec<(u64, usize)> = delays.iter().copied().zip(0..).collect();
    expected.sort();
    let expected: Vec<String> = expected.iter().map(|(d, i)| format!("{d}/{i}")).collect();
    assert_eq!(events.take(), expected);
}

#[test]
fn many_cancelled_calls_leave_the_count_right_and_never_run() {
    let reactor = paused();
    let events = Events::default();
    let calls: Vec<DelayedCall> = (0..1000)
        .map(|n| record(&reactor, &events, ms(100 + n % 7), format!("{n}")))
        .collect();
    for (n, call) in calls.iter().enumerate() {
        if n % 10 != 0 {
            call.cancel().unwrap();
        }
    }
    assert_eq!(reactor.pending_calls(), 100);
    stop_after(&reactor, ms(200));
    reactor.run().unwrap();
    let mut ran: Vec<usize> = events.take().iter().map(|n| n.parse().unwrap()).collect();
    ran.sort();
    assert_eq!(ran, (0..1000).step_by(10).collect::<Vec<_>>());
    assert_eq!(reactor.pending_calls(), 0);
}

#[test]
fn a_call_moved_back_and_forth_runs_once_at_its_last_time() {
    let reactor = paused();
    let events = Events::default();
    let call = record_at(&reactor, &events, ms(100), "moved");
    record_at(&reactor, &events, ms(150), "other");
    call.reset(ms(300)).unwrap();
    call.reset(ms(100)).unwrap();
    call.delay(ms(100)).unwrap();
    assert_eq!(reactor.pending_calls(), 2);
    stop_after(&reactor, ms(1000));
    reactor.run().unwrap();
    assert_eq!(events.take(), ["other at 0.150", "moved at 0.200"]);
}

#[test]
fn a_callback_can_cancel_or_move_many_calls_due_in_the_same_pass() {
    // The first call of the pass cancels 200 of the calls due with it and moves 100 others later;
    // the count of pending calls stays right throughout, and each call runs once or never.
    let reactor = paused();
    let events = Events::default();
    let others: Rc<RefCell<Vec<DelayedCall>>> = Rc::default();
    let (handle, list, log) = (reactor.clone(), others.clone(), events.clone());
    reactor.call_later(ms(100), move || {
        for (n, call) in list.borrow().iter().enumerate() {
            if n % 3 == 0 {
                call.reset(ms(50)).unwrap();
            } else {
                call.cancel().unwrap();
            }
        }
        log.push(format!("pending {}", handle.pending_calls()));
    });
    for n in 0..300 {
        let call = record(&reactor, &events, ms(100), format!("{n}"));
        others.borrow_mut().push(call);
    }
    stop_after(&reactor, ms(1000));
    reactor.run().unwrap();
    let seen = events.take();
    // 100 moved and the stop are pending; the 200 others were cancelled.
    assert_eq!(seen[0], "pending 101");
    let mut ran: Vec<usize> = seen[1..].iter().map(|n| n.parse().unwrap()).collect();
    ran.sort();
    assert_eq!(ran, (0..300).step_by(3).collect::<Vec<_>>());
    assert_eq!(reactor.pending_calls(), 0);
}
