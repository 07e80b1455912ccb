//! Deferreds and `async`/`.await`: Rust's spelling of `inlineCallbacks` (tutorial Part 17).
//!
//! A Deferred can be awaited: the async block stops at the `.await` until the Deferred fires, and
//! gets `Ok(value)` or `Err(failure)`. [`Deferred::from_future`] goes the other way (Twisted's
//! `ensureDeferred`): it runs an async block and gives a Deferred that fires with its outcome.
//!
//! Cancelling such a Deferred cancels the Deferred the block is awaiting at that moment; the block
//! sees that one fail with `CancelledError` at its `.await`, and may handle it and carry on, as a
//! generator decorated with `inlineCallbacks` can catch the `CancelledError` thrown into it. The
//! block's own Deferred fires only when the block ends.

use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::core::Shared;
use super::errors::CancelledError;
use super::{Deferred, Failure};
use crate::reactor::Reactor;

/// What the async block behind a `from_future` Deferred is doing, for its canceller.
#[derive(Default)]
struct BlockState {
    /// The Deferred the block is awaiting right now, if any.
    awaiting: RefCell<Option<Weak<RefCell<super::core::Core>>>>,
}

thread_local! {
    /// The async block being polled on this thread, so that an awaited Deferred can say it is the
    /// one the block waits for.
    static POLLING: RefCell<Option<Rc<BlockState>>> = const { RefCell::new(None) };
}

/// The outcome of an awaited Deferred, and who to wake when it comes.
struct Slot<T> {
    outcome: Option<Result<T, Failure>>,
    waker: Option<Waker>,
}

/// The future of an awaited Deferred.
pub struct DeferredFuture<T> {
    deferred: Option<Deferred<T>>,
    /// The awaited Deferred, once the first poll has taken it, for the block's canceller.
    awaited: Option<Weak<RefCell<super::core::Core>>>,
    slot: Rc<RefCell<Slot<T>>>,
}

/// Nothing in the future is pinned in place (the value it waits for lives in a shared slot), so it
/// can be moved whatever `T` is.
impl<T> Unpin for DeferredFuture<T> {}

/// Tells the async block being polled (if any) which Deferred it is now waiting for, or that it is
/// waiting for none.
fn note_awaiting(awaited: Option<Weak<RefCell<super::core::Core>>>) {
    POLLING.with(|polling| {
        if let Some(block) = polling.borrow().as_ref() {
            *block.awaiting.borrow_mut() = awaited;
        }
    });
}

impl<T: 'static> IntoFuture for Deferred<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = DeferredFuture<T>;

    fn into_future(self) -> DeferredFuture<T> {
        DeferredFuture {
            deferred: Some(self),
            awaited: None,
            slot: Rc::new(RefCell::new(Slot {
                outcome: None,
                waker: None,
            })),
        }
    }
}

impl<T: 'static> Future for DeferredFuture<T> {
    type Output = Result<T, Failure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(deferred) = self.deferred.take() {
            self.awaited = Some(Rc::downgrade(deferred.core()));
            self.slot.borrow_mut().waker = Some(cx.waker().clone());
            let slot = Rc::clone(&self.slot);
            // The Deferred's outcome comes to us; its own chain goes on with `()`. If it has fired
            // already this runs now, and the `.await` completes without waiting.
            deferred.add_both(move |outcome| {
                let waker = {
                    let mut slot = slot.borrow_mut();
                    slot.outcome = Some(outcome);
                    slot.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
                Ok::<(), Failure>(())
            });
        }
        let outcome = self.slot.borrow_mut().outcome.take();
        match outcome {
            Some(outcome) => {
                note_awaiting(None);
                Poll::Ready(outcome)
            }
            None => {
                self.slot.borrow_mut().waker = Some(cx.waker().clone());
                note_awaiting(self.awaited.clone());
                Poll::Pending
            }
        }
    }
}

/// An async block wrapped so that, while it is polled, the Deferreds it awaits are recorded.
struct Tracked {
    block: Rc<BlockState>,
    future: Pin<Box<dyn Future<Output = ()>>>,
}

impl Future for Tracked {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let block = Rc::clone(&self.block);
        let previous = POLLING.with(|polling| polling.replace(Some(block)));
        let result = self.future.as_mut().poll(cx);
        POLLING.with(|polling| *polling.borrow_mut() = previous);
        result
    }
}

impl<T: 'static> Deferred<T> {
    /// Runs an async block and returns a Deferred that fires with its outcome: Twisted's
    /// `ensureDeferred`.
    ///
    /// The block starts at once and runs until its first `.await` that has to wait, as an
    /// `inlineCallbacks` generator does; from there on the reactor of this thread drives it.
    /// Cancelling the Deferred cancels the Deferred the block awaits; a block waiting on anything
    /// else is dropped, and the Deferred fails with `CancelledError`.
    pub fn from_future(future: impl Future<Output = Result<T, Failure>> + 'static) -> Deferred<T> {
        let deferred: Deferred<T> = Deferred::new();
        let block = Rc::new(BlockState::default());
        let outcome = deferred.clone();
        let mut tracked = Box::pin(Tracked {
            block: Rc::clone(&block),
            future: Box::pin(async move {
                let _ = match future.await {
                    Ok(value) => outcome.callback(value),
                    Err(failure) => outcome.errback(failure),
                };
            }),
        });
        let mut first_poll = Context::from_waker(Waker::noop());
        if tracked.as_mut().poll(&mut first_poll).is_ready() {
            return deferred;
        }
        let Some(reactor) = Reactor::current() else {
            let _ = deferred.errback(Failure::exception(
                "an async block needs a reactor on this thread to run on",
            ));
            return deferred;
        };
        // From here the reactor polls the block (again at once, to register its real waker).
        let task = reactor.spawn_local(tracked);
        let to_fail = deferred.clone();
        deferred.set_cancel_mode_leave_to_owner(move || {
            let awaited: Option<Shared> = block.awaiting.borrow().as_ref().and_then(Weak::upgrade);
            match awaited {
                Some(inner) => super::core::cancel(&inner),
                None => {
                    task.abort();
                    let _ = to_fail.errback(CancelledError);
                }
            }
        });
        deferred
    }
}
