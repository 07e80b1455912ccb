//! The lock, the semaphore and the queue, as Twisted's `OtherPrimitivesTests` exercise them (the
//! optional extras of the project's `spec/deferred-behaviours.md`).

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::defer::{CancelledError, fail};

/// What a Deferred gave its callbacks, for the assertions.
#[derive(Debug, PartialEq, Eq)]
enum Seen<T> {
    Nothing,
    Value(T),
    Failure(String),
}

/// Watches a Deferred: returns a cell that holds what it fired with.
fn watch<T: 'static>(deferred: &Deferred<T>) -> Rc<RefCell<Seen<T>>> {
    let seen = Rc::new(RefCell::new(Seen::Nothing));
    let (on_value, on_failure) = (Rc::clone(&seen), Rc::clone(&seen));
    deferred.add_callbacks(
        move |value| {
            *on_value.borrow_mut() = Seen::Value(value);
            Ok::<(), Failure>(())
        },
        move |failure: Failure| {
            *on_failure.borrow_mut() = Seen::Failure(failure.error().to_string());
            Ok(())
        },
    );
    seen
}

fn cancelled() -> Seen<()> {
    Seen::Failure(CancelledError.to_string())
}

#[test]
fn a_free_lock_is_taken_at_once_and_a_held_one_passes_to_the_first_waiter_on_release() {
    let lock = DeferredLock::new();
    assert!(!lock.locked());
    let first = watch(&lock.acquire());
    assert_eq!(*first.borrow(), Seen::Value(()));
    assert!(lock.locked());

    let second = watch(&lock.acquire());
    let third = watch(&lock.acquire());
    assert_eq!(*second.borrow(), Seen::Nothing);
    assert_eq!(lock.waiting(), 2);

    lock.release();
    assert_eq!(*second.borrow(), Seen::Value(()));
    assert_eq!(*third.borrow(), Seen::Nothing);
    assert!(lock.locked(), "the lock went straight to the waiter");
    lock.release();
    assert_eq!(*third.borrow(), Seen::Value(()));
    lock.release();
    assert!(!lock.locked());
}

#[test]
fn lock_run_holds_the_lock_until_the_returned_deferred_fires() {
    let lock = DeferredLock::new();
    let work: Deferred<&'static str> = Deferred::new();
    let inner = work.clone();
    let result = watch(&lock.run(move || inner));
    assert!(lock.locked());
    let queued = watch(&lock.run(|| Ok::<&'static str, Failure>("second")));
    assert_eq!(*queued.borrow(), Seen::Nothing);

    work.callback("first").unwrap();
    assert_eq!(*result.borrow(), Seen::Value("first"));
    assert_eq!(*queued.borrow(), Seen::Value("second"));
    assert!(!lock.locked());
}

#[test]
fn lock_run_releases_the_lock_when_the_function_fails_or_panics() {
    let lock = DeferredLock::new();
    let failed = watch(&lock.run(|| fail::<u8>(Failure::exception("no luck"))));
    assert_eq!(*failed.borrow(), Seen::Failure("no luck".to_owned()));
    assert!(!lock.locked());

    let quiet = crate::reactor::guard::QuietPanics::begin();
    let panicked = watch(&lock.run(|| -> Result<u8, Failure> { panic!("the work blew up") }));
    drop(quiet);
    assert_eq!(
        *panicked.borrow(),
        Seen::Failure("panicked: the work blew up".to_owned())
    );
    assert!(!lock.locked());
}

#[test]
fn cancelling_a_wait_for_the_lock_fails_it_and_it_never_gets_the_lock() {
    let lock = DeferredLock::new();
    lock.acquire();
    let waiter = lock.acquire();
    let seen = watch(&waiter);
    waiter.cancel();
    assert_eq!(*seen.borrow(), cancelled());
    assert_eq!(lock.waiting(), 0);
    lock.release();
    assert!(!lock.locked(), "nobody was left to take it");
}

#[test]
fn cancelling_after_the_lock_was_acquired_changes_nothing() {
    let lock = DeferredLock::new();
    let held = lock.acquire();
    let seen = watch(&held);
    held.cancel();
    assert_eq!(*seen.borrow(), Seen::Value(()));
    assert!(lock.locked());
}

#[test]
#[should_panic(expected = "released while unlocked")]
fn releasing_a_free_lock_is_a_bug() {
    DeferredLock::new().release();
}

#[test]
fn a_semaphore_lets_limit_holders_in_and_queues_the_rest_in_order() {
    let semaphore = DeferredSemaphore::new(2);
    let order = Rc::new(RefCell::new(Vec::new()));
    for n in 0..4 {
        let order = Rc::clone(&order);
        semaphore.acquire().add_callback(move |()| {
            order.borrow_mut().push(n);
            Ok::<(), Failure>(())
        });
    }
    assert_eq!(*order.borrow(), [0, 1]);
    assert_eq!((semaphore.tokens(), semaphore.limit()), (0, 2));
    assert_eq!(semaphore.waiting(), 2);
    semaphore.release();
    assert_eq!(*order.borrow(), [0, 1, 2]);
    semaphore.release();
    semaphore.release();
    assert_eq!(*order.borrow(), [0, 1, 2, 3]);
    assert_eq!(semaphore.tokens(), 1);
}

#[test]
fn semaphore_run_limits_how_many_run_at_once() {
    let semaphore = DeferredSemaphore::new(2);
    let works: Vec<Deferred<usize>> = (0..5).map(|_| Deferred::new()).collect();
    let results: Vec<_> = works
        .iter()
        .map(|work| {
            let work = work.clone();
            watch(&semaphore.run(move || work))
        })
        .collect();
    assert_eq!(semaphore.waiting(), 3, "two run, three wait");
    for (n, work) in works.iter().enumerate() {
        work.callback(n).unwrap();
    }
    for (n, result) in results.iter().enumerate() {
        assert_eq!(*result.borrow(), Seen::Value(n));
    }
    assert_eq!(semaphore.tokens(), 2);
}

#[test]
fn cancelling_a_wait_for_the_semaphore_gives_up_the_turn() {
    let semaphore = DeferredSemaphore::new(1);
    semaphore.acquire();
    let waiter = semaphore.acquire();
    let seen = watch(&waiter);
    waiter.cancel();
    assert_eq!(*seen.borrow(), cancelled());
    semaphore.release();
    assert_eq!(semaphore.tokens(), 1);
}

#[test]
#[should_panic(expected = "at least one token")]
fn a_semaphore_without_tokens_is_refused() {
    DeferredSemaphore::new(0);
}

#[test]
#[should_panic(expected = "released more times than it was acquired")]
fn releasing_a_semaphore_too_often_is_a_bug() {
    let semaphore = DeferredSemaphore::new(1);
    semaphore.acquire();
    semaphore.release();
    semaphore.release();
}

#[test]
fn a_queue_hands_items_to_getters_first_in_first_out() {
    let queue: DeferredQueue<u32> = DeferredQueue::default();
    let getters: Vec<_> = (0..3).map(|_| watch(&queue.get().unwrap())).collect();
    assert_eq!(queue.waiting(), 3);
    queue.put(10).unwrap();
    queue.put(11).unwrap();
    assert_eq!(*getters[0].borrow(), Seen::Value(10));
    assert_eq!(*getters[1].borrow(), Seen::Value(11));
    assert_eq!(*getters[2].borrow(), Seen::Nothing);

    queue.put(12).unwrap();
    queue.put(13).unwrap();
    queue.put(14).unwrap();
    assert_eq!(*getters[2].borrow(), Seen::Value(12));
    assert_eq!(queue.pending(), 2);
    assert_eq!(*watch(&queue.get().unwrap()).borrow(), Seen::Value(13));
    assert_eq!(*watch(&queue.get().unwrap()).borrow(), Seen::Value(14));
    assert_eq!(queue.pending(), 0);
}

#[test]
fn a_full_queue_refuses_an_item_and_gives_it_back() {
    let queue = DeferredQueue::new(Some(2), None);
    queue.put("a").unwrap();
    queue.put("b").unwrap();
    let refused = queue.put("c").unwrap_err();
    assert_eq!(refused.0, "c");
    assert_eq!(refused.to_string(), "the queue is full");
    assert_eq!(queue.pending(), 2);
}

#[test]
fn a_queue_refuses_getters_beyond_its_backlog() {
    let queue: DeferredQueue<u8> = DeferredQueue::new(None, Some(1));
    let _first = queue.get().unwrap();
    assert_eq!(queue.get().unwrap_err(), QueueUnderflow);
    assert_eq!(queue.waiting(), 1);
}

#[test]
fn cancelling_a_get_takes_the_getter_out_of_the_line() {
    let queue: DeferredQueue<u8> = DeferredQueue::default();
    let getter = queue.get().unwrap();
    let seen = watch(&getter);
    getter.cancel();
    assert_eq!(*seen.borrow(), Seen::Failure(CancelledError.to_string()));
    assert_eq!(queue.waiting(), 0);
    queue.put(7).unwrap();
    assert_eq!(queue.pending(), 1, "the item waits for the next getter");
}

#[test]
fn cancelling_a_get_that_was_served_at_once_changes_nothing() {
    let queue = DeferredQueue::default();
    queue.put(7u8).unwrap();
    let getter = queue.get().unwrap();
    getter.cancel();
    assert_eq!(*watch(&getter).borrow(), Seen::Value(7));
}

#[test]
fn a_getter_may_put_again_from_its_callback() {
    let queue: DeferredQueue<u32> = DeferredQueue::default();
    let again = queue.clone();
    let getter = queue.get().unwrap();
    getter.add_callback(move |n: u32| {
        again.put(n + 1).unwrap();
        Ok::<(), Failure>(())
    });
    queue.put(1).unwrap();
    assert_eq!(*watch(&queue.get().unwrap()).borrow(), Seen::Value(2));
}
