//! Waiting on many Deferreds at once (tutorial Part 18): `DeferredList`, `gather_results`, `race`.

use std::cell::RefCell;
use std::rc::Rc;

use super::errors::{FailureGroup, FirstError};
use super::{Deferred, Failure};
use crate::reactor::guard;

/// How a [`DeferredList`] fires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeferredListOptions {
    /// Fire with the first member's value, and its index, as soon as one succeeds.
    pub fire_on_one_callback: bool,
    /// Fail with a [`FirstError`] as soon as one member fails.
    pub fire_on_one_errback: bool,
    /// A member's failure stops at the list: the member's own chain goes on as if it had succeeded,
    /// so the failure is not reported as unhandled there.
    pub consume_errors: bool,
}

/// What a [`DeferredList`] fires with.
#[derive(Debug)]
pub enum ListResult<T> {
    /// Every member's outcome, in list order (not in the order they fired).
    All(Vec<Result<T, Failure>>),
    /// With `fire_on_one_callback`: the first value to arrive, and the index of its member.
    First {
        /// The value.
        value: T,
        /// Which member gave it.
        index: usize,
    },
}

/// Twisted's `DeferredList`: one Deferred that fires when the members of a list have (or, with the
/// options, when the first one has).
///
/// Each member's value goes to the list, and the member's own chain goes on with `()`; a member's
/// failure is recorded, and goes on down the member's chain too unless `consume_errors` is set.
/// Cancelling the list cancels every member that has not fired.
pub struct DeferredList;

/// The shared state of one list while its members fire.
struct Gathering<T> {
    outcomes: Vec<Option<Result<T, Failure>>>,
    remaining: usize,
    fired: bool,
}

impl DeferredList {
    /// A list over `members`, firing as the options say.
    #[allow(clippy::new_ret_no_self)] // Twisted's DeferredList *is* a Deferred; this makes one
    pub fn new<T: 'static>(
        members: Vec<Deferred<T>>,
        options: DeferredListOptions,
    ) -> Deferred<ListResult<T>> {
        // Cancelling the list cancels its members; the list itself then fires as they do.
        let list = Deferred::new();
        let to_cancel = members.clone();
        list.set_cancel_mode_leave_to_owner(move || {
            for member in to_cancel.iter().filter(|member| !member.called()) {
                // One member's failing canceller must not stop the others being cancelled.
                guard::call(&"cancelling a member of a DeferredList", || member.cancel());
            }
        });
        if members.is_empty() {
            if !options.fire_on_one_callback {
                let _ = list.callback(ListResult::All(Vec::new()));
            }
            return list;
        }
        let gathering = Rc::new(RefCell::new(Gathering {
            outcomes: (0..members.len()).map(|_| None).collect(),
            remaining: members.len(),
            fired: false,
        }));
        for (index, member) in members.into_iter().enumerate() {
            let (on_value, on_failure) = (Rc::clone(&gathering), Rc::clone(&gathering));
            let (list_for_value, list_for_failure) = (list.clone(), list.clone());
            member.add_callbacks(
                move |value: T| {
                    record(&on_value, &list_for_value, index, Ok(value), options);
                    Ok::<(), Failure>(())
                },
                move |failure: Failure| {
                    record(
                        &on_failure,
                        &list_for_failure,
                        index,
                        Err(failure.clone()),
                        options,
                    );
                    if options.consume_errors {
                        Ok(())
                    } else {
                        Err(failure)
                    }
                },
            );
        }
        list
    }

    /// A list over `members` that fires once all have, with their outcomes in order.
    pub fn all<T: 'static>(
        members: Vec<Deferred<T>>,
        consume_errors: bool,
    ) -> Deferred<Vec<Result<T, Failure>>> {
        let options = DeferredListOptions {
            consume_errors,
            ..DeferredListOptions::default()
        };
        DeferredList::new(members, options).add_callback(|result| match result {
            ListResult::All(outcomes) => Ok(outcomes),
            ListResult::First { .. } => Err(Failure::exception(
                "a DeferredList without fire_on_one_callback fired with one value",
            )),
        })
    }
}

/// Records one member's outcome, and fires the list if that decides it.
fn record<T: 'static>(
    gathering: &Rc<RefCell<Gathering<T>>>,
    list: &Deferred<ListResult<T>>,
    index: usize,
    outcome: Result<T, Failure>,
    options: DeferredListOptions,
) {
    // Decide under the borrow, fire after it: firing runs the list's callbacks.
    let fire = {
        let mut state = gathering.borrow_mut();
        if state.fired {
            return;
        }
        match outcome {
            Ok(value) if options.fire_on_one_callback => {
                state.fired = true;
                Some(Ok(ListResult::First { value, index }))
            }
            Err(failure) if options.fire_on_one_errback => {
                state.fired = true;
                Some(Err(Failure::new(FirstError { failure, index })))
            }
            outcome => {
                state.outcomes[index] = Some(outcome);
                state.remaining -= 1;
                if state.remaining == 0 {
                    state.fired = true;
                    let outcomes = state.outcomes.iter_mut().filter_map(Option::take).collect();
                    Some(Ok(ListResult::All(outcomes)))
                } else {
                    None
                }
            }
        }
    };
    match fire {
        Some(Ok(result)) => {
            let _ = list.callback(result);
        }
        Some(Err(failure)) => {
            let _ = list.errback(failure);
        }
        None => {}
    }
}

/// Twisted's `gatherResults`: the members' values in list order once all have succeeded, or a
/// [`FirstError`] as soon as one fails. Cancelling it cancels every member.
pub fn gather_results<T: 'static>(
    members: Vec<Deferred<T>>,
    consume_errors: bool,
) -> Deferred<Vec<T>> {
    let options = DeferredListOptions {
        fire_on_one_errback: true,
        consume_errors,
        ..DeferredListOptions::default()
    };
    DeferredList::new(members, options).add_callback(|result| match result {
        ListResult::All(outcomes) => outcomes.into_iter().collect::<Result<Vec<T>, Failure>>(),
        ListResult::First { .. } => Err(Failure::exception(
            "gather_results fired with a single value",
        )),
    })
}

/// Twisted's `race`: the first member to succeed wins, as `(index, value)`, and every other member
/// is cancelled; if all fail, a [`FailureGroup`] of their failures in list order. Cancelling the race
/// cancels every member. Members' outcomes after the race is decided are dropped quietly.
pub fn race<T: 'static>(members: Vec<Deferred<T>>) -> Deferred<(usize, T)> {
    let to_cancel = members.clone();
    let winner: Deferred<(usize, T)> = Deferred::with_canceller(move |_| {
        for member in to_cancel.iter().filter(|member| !member.called()) {
            guard::call(&"cancelling a member of a race", || member.cancel());
        }
    });
    let count = members.len();
    let failures: Rc<RefCell<Vec<Option<Failure>>>> =
        Rc::new(RefCell::new((0..count).map(|_| None).collect()));
    let decided = Rc::new(std::cell::Cell::new(false));
    for (index, member) in members.iter().enumerate() {
        let (on_value_winner, on_failure_winner) = (winner.clone(), winner.clone());
        let (on_value_decided, on_failure_decided) = (Rc::clone(&decided), Rc::clone(&decided));
        let others = members.clone();
        let failures = Rc::clone(&failures);
        member.add_callbacks(
            move |value: T| {
                if !on_value_decided.replace(true) {
                    for (other_index, other) in others.iter().enumerate() {
                        if other_index != index && !other.called() {
                            other.cancel();
                        }
                    }
                    let _ = on_value_winner.callback((index, value));
                }
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                if !on_failure_decided.get() {
                    let mut recorded = failures.borrow_mut();
                    recorded[index] = Some(failure);
                    if recorded.iter().all(Option::is_some) {
                        on_failure_decided.set(true);
                        let group: Vec<Failure> =
                            recorded.iter_mut().filter_map(Option::take).collect();
                        drop(recorded);
                        let _ = on_failure_winner.errback(FailureGroup(group));
                    }
                }
                Ok(())
            },
        );
    }
    winner
}
