//! The behaviours of Twisted's Deferred, group by group (see the project's
//! `spec/deferred-behaviours.md`; the numbers in the comments are its items).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::*;
use crate::reactor::Reactor;

/// A record of what happened, shared by the callbacks of one test.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// Records the value a chain ends with.
fn sink<T: std::fmt::Debug + 'static>(deferred: &Deferred<T>, log: &Log) {
    let (values, failures) = (log.clone(), log.clone());
    deferred.add_callbacks(
        move |value: T| {
            values.push(format!("value {value:?}"));
            Ok::<(), Failure>(())
        },
        move |failure: Failure| {
            failures.push(format!("failure {}", failure.error()));
            Ok(())
        },
    );
}

fn exception(message: &str) -> Failure {
    Failure::exception(message)
}

// A. The basic chain.

#[test]
fn a1_a3_values_go_down_the_callbacks_one_after_another() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let d2 = d.add_callbacks(|n| Ok(n + 1), {
        let log = log.clone();
        move |_failure| {
            log.push("errback called");
            Ok(0)
        }
    });
    let d3 = d2.add_callback(|n: i32| Ok(format!("got {n}")));
    sink(&d3, &log);
    d.callback(1).unwrap();
    assert_eq!(log.take(), ["value \"got 2\""]);
}

#[test]
fn a2_extra_arguments_come_from_the_closure() {
    let log = Log::default();
    let d: Deferred<&str> = Deferred::new();
    let (prefix, suffix) = ("<", ">");
    let d = d.add_callback(move |poem: &str| Ok(format!("{prefix}{poem}{suffix}")));
    sink(&d, &log);
    let first: Deferred<&str> = Deferred::from_core(Rc::clone(d.core()));
    first.callback("poem").unwrap();
    assert_eq!(log.take(), ["value \"<poem>\""]);
}

#[test]
fn a4_a_missing_errback_passes_the_failure_on_unchanged() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let d2 = d.add_callback(|n: i32| Ok(n * 2));
    sink(&d2, &log);
    let failure = exception("bad");
    d.errback(failure.clone()).unwrap();
    assert_eq!(log.take(), ["failure bad"]);
}

#[test]
fn a5_a6_succeed_and_fail_run_what_is_added_at_once() {
    let log = Log::default();
    sink(&succeed(5), &log);
    assert_eq!(log.take(), ["value 5"]);
    sink(&fail::<i32>(exception("no")), &log);
    assert_eq!(log.take(), ["failure no"]);
    let manual = Deferred::new();
    manual.callback(5).unwrap();
    assert_eq!(
        format!("{:?}", succeed(5)).contains("current result: a value"),
        format!("{manual:?}").contains("current result: a value")
    );
}

#[test]
fn a7_a8_a9_failing_callbacks_switch_lines_and_errbacks_switch_back() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    // 7: a panic in a callback is caught and becomes a failure.
    let d2 = d.add_callback(|_: i32| -> Result<i32, Failure> { panic!("callback blew up") });
    // 8: returning Err is a failure too.
    let d3 = d2.add_callback(|n: i32| -> Result<i32, Failure> { Ok(n) });
    let d4 = d3.add_errback({
        let log = log.clone();
        move |failure| {
            log.push(format!("errback: {}", failure.error()));
            Err(exception("still bad"))
        }
    });
    // 9: an errback returning a value goes back to the callbacks.
    let d5 = d4.add_errback(|_| Ok(42));
    sink(&d5, &log);
    d.callback(1).unwrap();
    assert_eq!(
        log.take(),
        ["errback: panicked: callback blew up", "value 42"]
    );
}

// B. Re-entrancy and ordering.

#[test]
fn b10_b11_a_callback_added_while_running_runs_after_the_current_one() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let (handle, inner_log) = (d.clone(), log.clone());
    d.add_callback(move |n: i32| {
        let later_log = inner_log.clone();
        handle.add_callback(move |n: i32| {
            later_log.push(format!("added while running got {n}"));
            Ok::<i32, Failure>(n)
        });
        inner_log.push("first callback done");
        Ok::<i32, Failure>(n + 1)
    });
    d.callback(1).unwrap();
    assert_eq!(
        log.take(),
        ["first callback done", "added while running got 2"]
    );
}

#[test]
fn b12_its_failure_goes_to_the_next_errback() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let (handle, inner_log) = (d.clone(), log.clone());
    d.add_callback(move |n: i32| {
        let failing = handle.add_callback(|_: i32| Err::<i32, Failure>(exception("late failure")));
        sink(&failing, &inner_log);
        Ok::<i32, Failure>(n)
    });
    d.callback(1).unwrap();
    assert_eq!(log.take(), ["failure late failure"]);
}

#[test]
fn b13_c14_c17_the_chain_waits_for_a_returned_deferred_and_keeps_its_order() {
    let log = Log::default();
    let outer: Deferred<i32> = Deferred::new();
    let inner: Deferred<i32> = Deferred::new();
    let waiting = inner.clone();
    let after = outer.add_callback(move |_: i32| waiting);
    sink(&after, &log);
    outer.callback(1).unwrap();
    assert!(log.take().is_empty(), "nothing runs before the inner fires");
    assert!(outer.paused());
    inner.callback(7).unwrap();
    assert_eq!(log.take(), ["value 7"]);
    assert!(!outer.paused());
}

#[test]
fn c15_errbacks_may_return_deferreds_too() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let d = d.add_errback(|_| succeed(99));
    sink(&d, &log);
    let first: Deferred<i32> = Deferred::from_core(Rc::clone(d.core()));
    first.errback(exception("x")).unwrap();
    assert_eq!(log.take(), ["value 99"]);
}

#[test]
fn c16_an_already_fired_inner_is_taken_at_once() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let inner = succeed(3);
    let taken = inner.clone();
    let d2 = d.add_callback(move |_: i32| taken);
    sink(&d2, &log);
    d.callback(0).unwrap();
    assert_eq!(log.take(), ["value 3"]);
    // The inner Deferred goes on with `()` (Twisted: None).
    let after: Deferred<()> = Deferred::from_core(Rc::clone(inner.core()));
    sink(&after, &log);
    assert_eq!(log.take(), ["value ()"]);
}

#[test]
fn c18_c63_an_inner_failure_becomes_the_outer_failure_and_is_reported_once() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let inner: Deferred<i32> = Deferred::new();
    let waiting = inner.clone();
    let d2 = d.add_callback(move |_: i32| waiting);
    sink(&d2, &log);
    d.callback(0).unwrap();
    inner.errback(exception("inner broke")).unwrap();
    assert_eq!(log.take(), ["failure inner broke"]);
    assert!(format!("{inner:?}").ends_with('>') && !format!("{inner:?}").contains("Failure"));
}

#[test]
fn c19_c21_c27_chaining_is_transitive_and_keeps_each_chains_callbacks() {
    let log = Log::default();
    let (a, b, c): (Deferred<i32>, Deferred<i32>, Deferred<i32>) =
        (Deferred::new(), Deferred::new(), Deferred::new());
    let b_log = log.clone();
    let b_then = b.add_callback(move |n: i32| {
        b_log.push(format!("b's own callback got {n}"));
        Ok::<i32, Failure>(n + 1)
    });
    let c_for_b = c.clone();
    let b_waits = b_then.add_callback(move |_: i32| c_for_b);
    let b_for_a = b.clone();
    let a_waits = a.add_callback(move |_: i32| b_for_a);
    sink(&a_waits, &log);
    a.callback(0).unwrap();
    b.callback(10).unwrap();
    // 27: a callback added to the middle of the chain after it was built still runs, after the
    // hand-over, with `()` (Twisted gives it None).
    let middle_log = log.clone();
    let after_hand_over: Deferred<()> = Deferred::from_core(Rc::clone(b_waits.core()));
    after_hand_over.add_callback(move |()| {
        middle_log.push("added to b later ran");
        Ok::<(), Failure>(())
    });
    assert_eq!(log.take(), ["b's own callback got 10"]);
    c.callback(100).unwrap();
    assert_eq!(log.take(), ["value 100", "added to b later ran"]);
}

#[test]
fn c20_c22_extra_callbacks_on_the_inner_run_before_the_outer_resumes() {
    let log = Log::default();
    let outer: Deferred<i32> = Deferred::new();
    let inner: Deferred<i32> = Deferred::new();
    let inner_log = log.clone();
    let prepared = inner.add_callback(move |n: i32| {
        inner_log.push(format!("inner's first callback got {n}"));
        Ok::<i32, Failure>(n * 10)
    });
    let d = outer.add_callback(move |_: i32| prepared);
    sink(&d, &log);
    outer.callback(0).unwrap();
    inner.callback(4).unwrap();
    assert_eq!(log.take(), ["inner's first callback got 4", "value 40"]);
}

#[test]
fn c23_c24_chain_deferred_fires_the_other_not_the_reverse() {
    let log = Log::default();
    let (d1, d2): (Deferred<i32>, Deferred<i32>) = (Deferred::new(), Deferred::new());
    d1.chain_deferred(&d2);
    assert_eq!(d2.waiting_on(), Some(d1.id()));
    sink(&d2, &log);
    d1.callback(5).unwrap();
    assert_eq!(log.take(), ["value 5"]);
    assert_eq!(d2.waiting_on(), None, "the link is cleared once resolved");
    let (e1, e2): (Deferred<i32>, Deferred<i32>) = (Deferred::new(), Deferred::new());
    e1.chain_deferred(&e2);
    e2.callback(1).unwrap();
    assert!(!e1.called());
}

#[test]
fn c25_returning_its_own_deferred_is_an_error() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let me = d.clone();
    let d2 = d.add_callback(move |_: i32| me);
    let d3 = d2.add_errback(|failure| {
        assert!(failure.check::<CircularChainError>());
        Ok(-1)
    });
    sink(&d3, &log);
    d.callback(0).unwrap();
    assert_eq!(log.take(), ["value -1"]);
}

#[test]
fn c26_a_million_nested_deferreds_fire_without_growing_the_stack() {
    const DEPTH: usize = 1_000_000;
    let first: Deferred<usize> = Deferred::new();
    let mut current = first.clone();
    let mut inners = Vec::with_capacity(DEPTH);
    for _ in 0..DEPTH {
        let inner: Deferred<usize> = Deferred::new();
        let waiting = inner.clone();
        current = current.add_callback(move |_: usize| waiting);
        inners.push(inner);
    }
    let total = Rc::new(Cell::new(0));
    let seen = Rc::clone(&total);
    current.add_callback(move |n: usize| {
        seen.set(n);
        Ok::<(), Failure>(())
    });
    first.callback(0).unwrap();
    for (index, inner) in inners.iter().enumerate() {
        inner.callback(index + 1).unwrap();
    }
    assert_eq!(total.get(), DEPTH);
}

#[test]
fn c28_debug_shows_the_result_or_what_it_waits_on() {
    let d: Deferred<i32> = Deferred::new();
    assert_eq!(format!("{d:?}"), format!("<{}>", d.id()));
    d.callback(1).unwrap();
    assert_eq!(
        format!("{d:?}"),
        format!("<{} current result: a value>", d.id())
    );
    let outer: Deferred<i32> = Deferred::new();
    let inner: Deferred<i32> = Deferred::new();
    let waiting = inner.clone();
    outer.add_callback(move |_: i32| waiting);
    outer.callback(0).unwrap();
    assert_eq!(
        format!("{outer:?}"),
        format!("<{} waiting on {}>", outer.id(), inner.id())
    );
}

// D. Pause and unpause.

#[test]
fn d29_a_paused_deferred_holds_its_callbacks() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    d.pause();
    sink(&d, &log);
    d.callback(1).unwrap();
    assert!(log.take().is_empty());
    d.unpause();
    assert_eq!(log.take(), ["value 1"]);
}

#[test]
fn d30_d32_a_paused_inner_with_a_result_keeps_the_outer_waiting() {
    let log = Log::default();
    let outer: Deferred<i32> = Deferred::new();
    let inner = succeed(8);
    inner.pause();
    let waiting = inner.clone();
    let d = outer.add_callback(move |_: i32| waiting);
    sink(&d, &log);
    outer.callback(0).unwrap();
    assert!(log.take().is_empty());
    inner.unpause();
    assert_eq!(log.take(), ["value 8"]);
}

#[test]
fn d31_a_paused_outer_does_not_stop_the_inner() {
    let log = Log::default();
    let outer: Deferred<i32> = Deferred::new();
    let inner: Deferred<i32> = Deferred::new();
    let inner_log = log.clone();
    inner.add_callback(move |n: i32| {
        inner_log.push(format!("inner ran with {n}"));
        Ok::<i32, Failure>(n)
    });
    let waiting = inner.clone();
    let d = outer.add_callback(move |_: i32| waiting);
    sink(&d, &log);
    outer.callback(0).unwrap();
    outer.pause();
    inner.callback(3).unwrap();
    assert_eq!(log.take(), ["inner ran with 3"]);
    outer.unpause();
    assert_eq!(log.take(), ["value 3"]);
}

// E. AlreadyCalled.

#[test]
fn e33_a_deferred_fires_once() {
    for (first_ok, second_ok) in [(true, true), (true, false), (false, false), (false, true)] {
        let d: Deferred<i32> = Deferred::new();
        d.add_errback(|_| Ok(0));
        let fire = |ok: bool| {
            if ok {
                d.callback(1)
            } else {
                d.errback(exception("e"))
            }
        };
        assert_eq!(fire(first_ok), Ok(()));
        assert_eq!(fire(second_ok), Err(AlreadyCalledError { detail: None }));
    }
}

#[test]
fn e34_debug_mode_names_the_maker_and_the_first_firing() {
    set_debugging(true);
    let d: Deferred<i32> = Deferred::new();
    d.callback(1).unwrap();
    set_debugging(false);
    let error = d.callback(2).unwrap_err();
    let detail = error.detail.unwrap();
    assert!(
        detail.starts_with("made at common/src/defer/tests.rs:"),
        "{detail}"
    );
    assert!(
        detail.contains("first fired at common/src/defer/tests.rs:"),
        "{detail}"
    );
    let plain: Deferred<i32> = Deferred::new();
    plain.callback(1).unwrap();
    assert_eq!(
        plain.callback(2).unwrap_err().to_string(),
        "AlreadyCalledError"
    );
}

// F. Cancellation.

#[test]
fn f35_f36_f37_without_canceller_cancel_fails_it_and_swallows_one_late_result() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    sink(&d, &log);
    d.cancel();
    assert_eq!(log.take(), ["failure the Deferred was cancelled"]);
    d.cancel();
    assert_eq!(d.callback(1), Ok(()), "the first late result is swallowed");
    assert!(d.errback(exception("late")).is_err(), "the next one is not");
    assert!(log.take().is_empty());
}

#[test]
fn f38_f39_f40_the_canceller_runs_once_and_gets_the_deferred() {
    let runs = Rc::new(Cell::new(0));
    let counted = Rc::clone(&runs);
    let d: Deferred<i32> = Deferred::with_canceller(move |me: &Deferred<i32>| {
        assert!(!me.called());
        counted.set(counted.get() + 1);
    });
    let log = Log::default();
    sink(&d, &log);
    d.cancel();
    d.cancel();
    assert_eq!(runs.get(), 1);
    assert_eq!(log.take(), ["failure the Deferred was cancelled"]);
    assert!(
        d.callback(1).is_err(),
        "with a canceller, a late result is not swallowed"
    );
}

#[test]
fn f41_a_canceller_may_fire_the_deferred_itself() {
    let log = Log::default();
    let d: Deferred<i32> = Deferred::with_canceller(|me: &Deferred<i32>| {
        me.errback(exception("my own error")).unwrap();
    });
    sink(&d, &log);
    d.cancel();
    let e: Deferred<i32> = Deferred::with_canceller(|me: &Deferred<i32>| me.callback(5).unwrap());
    sink(&e, &log);
    e.cancel();
    assert_eq!(log.take(), ["failure my own error", "value 5"]);
}

#[test]
fn f42_f44_cancel_after_firing_does_nothing_and_the_canceller_is_released() {
    let released = Rc::new(Cell::new(false));
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let flag = Flag(Rc::clone(&released));
    let d: Deferred<i32> = Deferred::with_canceller(move |_: &Deferred<i32>| {
        let _keep = &flag;
        panic!("must not run");
    });
    d.callback(1).unwrap();
    assert!(released.get(), "firing drops the canceller");
    let log = Log::default();
    d.cancel();
    sink(&d, &log);
    assert_eq!(log.take(), ["value 1"]);
}

#[test]
fn f43_cancelling_a_waiting_outer_cancels_the_inner() {
    let log = Log::default();
    let outer_cancelled = Rc::new(Cell::new(false));
    let flag = Rc::clone(&outer_cancelled);
    let outer: Deferred<i32> = Deferred::with_canceller(move |_: &Deferred<i32>| flag.set(true));
    let inner_log = log.clone();
    let inner: Deferred<i32> =
        Deferred::with_canceller(move |_: &Deferred<i32>| inner_log.push("inner canceller"));
    let waiting = inner.clone();
    let d = outer.add_callback(move |_: i32| waiting);
    sink(&d, &log);
    outer.callback(0).unwrap();
    outer.cancel();
    assert!(!outer_cancelled.get());
    assert_eq!(
        log.take(),
        ["inner canceller", "failure the Deferred was cancelled"]
    );
}

// G. DeferredList, gather_results, race.

fn list_entries<T: std::fmt::Debug>(result: &ListResult<T>) -> Vec<String> {
    match result {
        ListResult::All(outcomes) => outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(value) => format!("ok {value:?}"),
                Err(failure) => format!("err {}", failure.error()),
            })
            .collect(),
        ListResult::First { value, index } => vec![format!("first {value:?} at {index}")],
    }
}

fn record_list<T: std::fmt::Debug + 'static>(list: &Deferred<ListResult<T>>, log: &Log) {
    let (log, errors) = (log.clone(), log.clone());
    list.add_callbacks(
        move |result: ListResult<T>| {
            for entry in list_entries(&result) {
                log.push(entry);
            }
            Ok::<(), Failure>(())
        },
        move |failure: Failure| {
            let first = failure.downcast_ref::<FirstError>().unwrap();
            errors.push(format!(
                "first error at {}: {}",
                first.index,
                first.failure.error()
            ));
            Ok(())
        },
    );
}

#[test]
fn g45_a_list_fires_in_input_order_once_all_fired() {
    let log = Log::default();
    let members: Vec<Deferred<&str>> = (0..3).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(
        members.clone(),
        DeferredListOptions {
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    members[2].callback("two").unwrap();
    members[0].errback(exception("zero failed")).unwrap();
    assert!(log.take().is_empty());
    members[1].callback("one").unwrap();
    assert_eq!(log.take(), ["err zero failed", "ok \"one\"", "ok \"two\""]);
}

#[test]
fn g46_empty_lists() {
    let log = Log::default();
    record_list(
        &DeferredList::new(Vec::<Deferred<i32>>::new(), DeferredListOptions::default()),
        &log,
    );
    assert!(log.take().is_empty(), "an empty list has no entries");
    let on_one = DeferredList::new(
        Vec::<Deferred<i32>>::new(),
        DeferredListOptions {
            fire_on_one_callback: true,
            ..Default::default()
        },
    );
    assert!(!on_one.called());
    assert!(
        DeferredList::new(Vec::<Deferred<i32>>::new(), DeferredListOptions::default()).called()
    );
}

#[test]
fn g47_g48_fire_on_one() {
    let log = Log::default();
    let members: Vec<Deferred<i32>> = (0..3).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(
        members.clone(),
        DeferredListOptions {
            fire_on_one_errback: true,
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    members[0].callback(1).unwrap();
    members[2].errback(exception("two failed")).unwrap();
    members[1].errback(exception("ignored")).unwrap();
    assert_eq!(log.take(), ["first error at 2: two failed"]);

    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(
        members.clone(),
        DeferredListOptions {
            fire_on_one_callback: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    members[1].callback(20).unwrap();
    members[0].callback(10).unwrap();
    assert_eq!(log.take(), ["first 20 at 1"]);
}

#[test]
fn g49_g50_consume_errors_decides_where_a_members_failure_goes() {
    let log = Log::default();
    for consume in [false, true] {
        let member: Deferred<i32> = Deferred::new();
        let list = DeferredList::new(
            vec![member.clone()],
            DeferredListOptions {
                consume_errors: consume,
                ..Default::default()
            },
        );
        record_list(&list, &log);
        member.errback(exception("bad")).unwrap();
        let after = member.tail::<()>();
        let later = log.clone();
        after.add_callbacks(
            move |()| {
                later.push("member goes on with ()");
                Ok::<(), Failure>(())
            },
            {
                let later = log.clone();
                move |failure: Failure| {
                    later.push(format!("member still failed: {}", failure.error()));
                    Ok(())
                }
            },
        );
    }
    assert_eq!(
        log.take(),
        [
            "err bad",
            "member still failed: bad",
            "err bad",
            "member goes on with ()"
        ]
    );
}

#[test]
fn g51_members_fired_before_the_list_count() {
    let log = Log::default();
    let list = DeferredList::new(
        vec![succeed(1), fail(exception("f"))],
        DeferredListOptions {
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    assert_eq!(log.take(), ["ok 1", "err f"]);
    let list = DeferredList::new(
        vec![succeed(1), fail(exception("f"))],
        DeferredListOptions {
            fire_on_one_errback: true,
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    assert_eq!(log.take(), ["first error at 1: f"]);
}

#[test]
fn g52_g53_g54_cancelling_a_list_cancels_its_members() {
    let log = Log::default();
    let members: Vec<Deferred<i32>> = vec![
        Deferred::new(),
        Deferred::with_canceller(|_: &Deferred<i32>| panic!("this canceller is broken")),
        Deferred::new(),
    ];
    let list = DeferredList::new(
        members.clone(),
        DeferredListOptions {
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    let ((), reported) = crate::log::capture(|| list.cancel());
    // 53: the broken canceller is reported, the others are cancelled, and the list waits for the
    // member that did not fire.
    assert!(
        reported
            .contains("\twhile cancelling a member of a DeferredList: this canceller is broken"),
        "{reported}"
    );
    assert!(members[0].called() && !members[1].called() && members[2].called());
    assert!(log.take().is_empty());
    members[1].callback(1).unwrap();
    assert_eq!(
        log.take(),
        [
            "err the Deferred was cancelled",
            "ok 1",
            "err the Deferred was cancelled"
        ]
    );
    // 52: with ordinary members, the list fires with their cancellations.
    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(
        members,
        DeferredListOptions {
            consume_errors: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    list.cancel();
    assert_eq!(
        log.take(),
        [
            "err the Deferred was cancelled",
            "err the Deferred was cancelled"
        ]
    );
    // 54: a list that already fired through fire_on_one_callback ignores cancel.
    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(
        members.clone(),
        DeferredListOptions {
            fire_on_one_callback: true,
            consume_errors: true,
            ..Default::default()
        },
    );
    members[0].callback(1).unwrap();
    list.cancel();
    assert!(!members[1].called());
}

#[test]
fn g55_fire_on_one_errback_with_cancellers_that_succeed_gives_the_list() {
    let log = Log::default();
    let members: Vec<Deferred<i32>> = (0..2)
        .map(|n| Deferred::with_canceller(move |me: &Deferred<i32>| me.callback(n).unwrap()))
        .collect();
    let list = DeferredList::new(
        members,
        DeferredListOptions {
            fire_on_one_errback: true,
            ..Default::default()
        },
    );
    record_list(&list, &log);
    list.cancel();
    assert_eq!(log.take(), ["ok 0", "ok 1"]);
}

#[test]
fn g56_gather_results_gives_values_or_the_first_error() {
    let log = Log::default();
    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    sink(&gather_results(members.clone(), false), &log);
    members[1].callback(2).unwrap();
    members[0].callback(1).unwrap();
    assert_eq!(log.take(), ["value [1, 2]"]);

    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    sink(&gather_results(members.clone(), true), &log);
    members[1].errback(exception("broken")).unwrap();
    assert_eq!(
        log.take(),
        ["failure FirstError[#1, [Failure instance: Exception: broken]]"]
    );

    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let gathered = gather_results(members.clone(), true);
    sink(&gathered, &log);
    gathered.cancel();
    assert!(members.iter().all(Deferred::called));
    assert_eq!(log.take().len(), 1);
}

#[test]
fn g57_race_first_success_wins_and_cancels_the_rest() {
    let log = Log::default();
    let members: Vec<Deferred<&str>> = (0..3).map(|_| Deferred::new()).collect();
    sink(&race(members.clone()), &log);
    members[1].callback("fast").unwrap();
    assert_eq!(log.take(), ["value (1, \"fast\")"]);
    assert!(
        members.iter().all(Deferred::called),
        "the others were cancelled"
    );

    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let racing = race(members.clone());
    let group_log = log.clone();
    racing.add_errback(move |failure| {
        let group = failure.downcast_ref::<FailureGroup>().unwrap();
        let messages: Vec<String> = group.0.iter().map(|f| f.error().to_string()).collect();
        group_log.push(messages.join(", "));
        Ok((0, 0))
    });
    members[1].errback(exception("b")).unwrap();
    members[0].errback(exception("a")).unwrap();
    assert_eq!(log.take(), ["a, b"]);

    let members: Vec<Deferred<i32>> = (0..2).map(|_| Deferred::new()).collect();
    let racing = race(members.clone());
    racing.add_errback(|_| Ok((9, 9)));
    racing.cancel();
    assert!(members.iter().all(Deferred::called));
}

#[test]
fn g58_first_error_says_which_member() {
    let failure = exception("sub");
    let first = FirstError {
        failure: failure.clone(),
        index: 3,
    };
    assert_eq!(
        first.to_string(),
        "FirstError[#3, [Failure instance: Exception: sub]]"
    );
    assert_eq!(first, FirstError { failure, index: 3 });
}

// H. Helpers.

#[test]
fn h59_maybe_deferred_turns_anything_into_a_deferred() {
    let log = Log::default();
    sink(&maybe_deferred(|| Ok::<i32, Failure>(1)), &log);
    sink(
        &maybe_deferred(|| Err::<i32, Failure>(exception("err"))),
        &log,
    );
    sink(
        &maybe_deferred(|| -> Result<i32, Failure> { panic!("boom") }),
        &log,
    );
    let pending: Deferred<i32> = Deferred::new();
    let passed = maybe_deferred(|| pending.clone());
    assert_eq!(passed.id(), pending.id());
    assert_eq!(
        log.take(),
        ["value 1", "failure err", "failure panicked: boom"]
    );
}

#[test]
fn i65_log_error_gives_the_failure_back() {
    let failure = exception("logged");
    let (given_back, log) = crate::log::capture(|| log_error(failure.clone()));
    assert!(given_back.ptr_eq(&failure));
    assert!(
        log.contains(
            "\twhile processing a Deferred: Failure: common::defer::failure::Exception: logged"
        ),
        "{log}"
    );
}

// J. Timeouts, under a paused clock.

fn paused() -> Reactor {
    Reactor::with_paused_clock().unwrap()
}

fn run_for(reactor: &Reactor, time: Duration) {
    let handle = reactor.clone();
    reactor.call_later(time, move || handle.stop());
    reactor.run().unwrap();
}

#[test]
fn j66_j67_a_result_in_time_passes_and_stops_the_timer() {
    let reactor = paused();
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    let same = d.add_timeout(&reactor, Duration::from_secs(5));
    assert_eq!(same.id(), d.id());
    sink(&d, &log);
    let fire = d.clone();
    reactor.call_later(Duration::from_secs(1), move || fire.callback(1));
    run_for(&reactor, Duration::from_secs(10));
    assert_eq!(log.take(), ["value 1"]);
    assert_eq!(reactor.pending_calls(), 0);
}

#[test]
fn j68_j69_the_deadline_gives_timeout_error_unless_the_canceller_decides() {
    let reactor = paused();
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    d.add_timeout(&reactor, Duration::from_secs(2));
    sink(&d, &log);
    let custom: Deferred<i32> =
        Deferred::with_canceller(|me: &Deferred<i32>| me.callback(77).unwrap());
    custom.add_timeout(&reactor, Duration::from_secs(2));
    sink(&custom, &log);
    let translated: Deferred<i32> = Deferred::new();
    translated.add_timeout_with(&reactor, Duration::from_secs(2), |_| Ok(-1));
    sink(&translated, &log);
    run_for(&reactor, Duration::from_secs(3));
    assert_eq!(
        log.take(),
        ["failure the Deferred timed out", "value 77", "value -1"]
    );
}

#[test]
fn j70_j71_manual_cancel_is_not_a_timeout_and_earlier_errbacks_see_cancel() {
    let reactor = paused();
    let log = Log::default();
    let d: Deferred<i32> = Deferred::new();
    d.add_timeout(&reactor, Duration::from_secs(5));
    sink(&d, &log);
    d.cancel();
    let early: Deferred<i32> = Deferred::new();
    let early_log = log.clone();
    early.add_errback(move |failure| {
        early_log.push(format!("early errback saw {}", failure.short_type_name()));
        Ok(5)
    });
    early.add_timeout(&reactor, Duration::from_secs(1));
    sink(&early, &log);
    run_for(&reactor, Duration::from_secs(10));
    assert_eq!(
        log.take(),
        [
            "failure the Deferred was cancelled",
            "early errback saw CancelledError",
            "value 5"
        ]
    );
}

#[test]
fn defer_later_and_looping_call_follow_the_clock() {
    let reactor = paused();
    let log = Log::default();
    let clock = reactor.clone();
    sink(
        &defer_later(&reactor, Duration::from_secs(2), move || {
            Ok::<f64, Failure>(clock.seconds())
        }),
        &log,
    );
    let cancelled = defer_later(&reactor, Duration::from_secs(1), || Ok::<i32, Failure>(1));
    sink(&cancelled, &log);
    cancelled.cancel();
    let ticks = Rc::new(Cell::new(0));
    let counted = Rc::clone(&ticks);
    let looping = Rc::new(LoopingCall::new(&reactor, move || {
        counted.set(counted.get() + 1);
        Ok(())
    }));
    let done = looping.start(Duration::from_secs(1), true);
    sink(&done, &log);
    let stopper = Rc::clone(&looping);
    reactor.call_later(Duration::from_millis(3500), move || stopper.stop());
    run_for(&reactor, Duration::from_secs(5));
    assert_eq!(ticks.get(), 4, "at 0, 1, 2 and 3 seconds");
    assert!(!looping.running());
    assert_eq!(
        log.take(),
        [
            "failure the Deferred was cancelled",
            "value 2.0",
            "value ()"
        ]
    );
}

#[test]
fn defer_to_thread_fires_on_the_reactor_thread() {
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let here = std::thread::current().id();
    let worked = defer_to_thread(&reactor, move || {
        assert_ne!(std::thread::current().id(), here);
        Ok::<i32, std::io::Error>(6 * 7)
    });
    let (handle, record) = (reactor.clone(), log.clone());
    worked.add_callback(move |n: i32| {
        assert_eq!(std::thread::current().id(), here);
        record.push(format!("value {n}"));
        handle.stop().map_err(Failure::new)
    });
    reactor.run().unwrap();
    assert_eq!(log.take(), ["value 42"]);
}

#[test]
fn defer_to_thread_runs_at_most_the_pool_size_at_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let reactor = Reactor::new().unwrap();
    assert_eq!(
        reactor.thread_pool_size(),
        crate::reactor::DEFAULT_POOL_SIZE
    );
    reactor.suggest_thread_pool_size(3);
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let works: Vec<Deferred<usize>> = (0..12)
        .map(|n| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            defer_to_thread(&reactor, move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<usize, std::io::Error>(n)
            })
        })
        .collect();
    assert_eq!(reactor.thread_pool_queued(), 9, "three start, nine wait");
    let log = Log::default();
    let (handle, record) = (reactor.clone(), log.clone());
    gather_results(works, false).add_callback(move |values: Vec<usize>| {
        record.push(format!("{values:?}"));
        handle.stop().map_err(Failure::new)
    });
    reactor.run().unwrap();
    assert_eq!(log.take(), [format!("{:?}", (0..12).collect::<Vec<_>>())]);
    assert_eq!(most.load(Ordering::SeqCst), 3);
    assert_eq!(reactor.thread_pool_queued(), 0);
}

#[test]
fn a_panic_in_a_thread_fails_its_deferred_and_frees_its_place() {
    let reactor = Reactor::new().unwrap();
    reactor.suggest_thread_pool_size(1);
    let log = Log::default();
    let broken = defer_to_thread(&reactor, || -> Result<i32, std::io::Error> {
        panic!("the quote file is gone")
    });
    let record = log.clone();
    broken.add_errback(move |failure| {
        record.push(format!("failure {}", failure.error()));
        Ok::<i32, Failure>(0)
    });
    // With one thread, this runs only if the panic gave its place back.
    let after = defer_to_thread(&reactor, || Ok::<i32, std::io::Error>(7));
    let (handle, record) = (reactor.clone(), log.clone());
    after.add_callback(move |n: i32| {
        record.push(format!("value {n}"));
        handle.stop().map_err(Failure::new)
    });
    reactor.run().unwrap();
    assert_eq!(
        log.take(),
        ["failure panicked: the quote file is gone", "value 7"]
    );
}

// K. async/await.

#[test]
fn k72_k74_k81_awaiting_deferreds_inside_an_async_block() {
    let reactor = paused();
    let log = Log::default();
    let clock = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let a = succeed(1).await?;
        let b = defer_later(&clock, Duration::from_secs(1), move || {
            Ok::<i32, Failure>(a + 1)
        })
        .await?;
        let failed = fail::<i32>(exception("at the await")).await;
        assert_eq!(failed.unwrap_err().error().to_string(), "at the await");
        Ok::<i32, Failure>(b * 10)
    });
    sink(&outcome, &log);
    let immediate = Deferred::from_future(async { Ok::<&str, Failure>("no awaits") });
    assert!(immediate.called(), "a block that never waits fires at once");
    sink(&immediate, &log);
    run_for(&reactor, Duration::from_secs(2));
    assert_eq!(log.take(), ["value \"no awaits\"", "value 20"]);
}

#[test]
fn k73_an_uncaught_error_fails_the_outer() {
    let log = Log::default();
    let outcome = Deferred::from_future(async {
        let value: i32 = fail::<i32>(exception("uncaught")).await?;
        Ok::<i32, Failure>(value)
    });
    sink(&outcome, &log);
    assert_eq!(log.take(), ["failure uncaught"]);
}

#[test]
fn k75_thousands_of_fired_awaits_do_not_overflow() {
    let outcome = Deferred::from_future(async {
        let mut total = 0;
        for n in 0..100_000 {
            total += succeed(n).await?;
        }
        Ok::<u64, Failure>(total)
    });
    let log = Log::default();
    sink(&outcome, &log);
    assert_eq!(log.take(), ["value 4999950000"]);
}

#[test]
fn k76_k77_k78_k80_cancelling_the_outer_cancels_what_it_awaits() {
    let reactor = paused();
    let log = Log::default();
    let first: Deferred<i32> = Deferred::new();
    let second: Deferred<i32> = Deferred::new();
    let (awaited_first, awaited_second, inner_log) = (first.clone(), second.clone(), log.clone());
    let outcome = Deferred::from_future(async move {
        match awaited_first.await {
            Err(failure) if failure.check::<CancelledError>() => {
                inner_log.push("caught the cancel")
            }
            other => inner_log.push(format!("unexpected {other:?}")),
        }
        // Carries on, and a second cancel reaches the next awaited Deferred.
        let second = awaited_second.await;
        second.map_err(|_| exception("translated"))
    });
    sink(&outcome, &log);
    let (c1, c2) = (outcome.clone(), outcome.clone());
    reactor.call_later(Duration::from_secs(1), move || c1.cancel());
    reactor.call_later(Duration::from_secs(2), move || c2.cancel());
    run_for(&reactor, Duration::from_secs(3));
    assert!(first.called() && second.called());
    assert_eq!(log.take(), ["caught the cancel", "failure translated"]);
}

#[test]
fn k79_the_outer_fires_only_when_the_block_ends() {
    let reactor = paused();
    let log = Log::default();
    let inner: Deferred<i32> = Deferred::new();
    let awaited = inner.clone();
    let clock = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let _ = awaited.await;
        defer_later(&clock, Duration::from_secs(5), || Ok::<i32, Failure>(11)).await
    });
    sink(&outcome, &log);
    let canceller = outcome.clone();
    reactor.call_later(Duration::from_secs(1), move || canceller.cancel());
    let observer = outcome.clone();
    let watch = log.clone();
    reactor.call_later(Duration::from_secs(3), move || {
        watch.push(format!("called at 3 s: {}", observer.called()))
    });
    run_for(&reactor, Duration::from_secs(10));
    assert_eq!(log.take(), ["called at 3 s: false", "value 11"]);
}

// I. Unhandled errors.

#[test]
fn i61_i63_i64_only_a_failure_nobody_handled_is_reported() {
    // What is reported goes to stderr; here we check the condition it depends on: the last result.
    let handled: Deferred<i32> = fail(exception("handled"));
    let recovered = handled.add_errback(|_| Ok(0));
    assert!(format!("{recovered:?}").contains("current result: a value"));
    let inner: Deferred<i32> = fail(exception("passed on"));
    let outer: Deferred<i32> = Deferred::new();
    let taken = inner.clone();
    let waiting = outer.add_callback(move |_: i32| taken);
    let consumed = waiting.add_errback(|_| Ok(1));
    outer.callback(0).unwrap();
    assert!(
        !format!("{inner:?}").contains("Failure"),
        "the inner's failure moved on"
    );
    assert!(format!("{consumed:?}").contains("current result: a value"));
}
