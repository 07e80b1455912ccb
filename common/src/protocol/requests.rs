//! The requests of a pipelined client that wait for their answers: what the key-value client and
//! the memcached client share.
//!
//! Servers like these answer a connection's requests in the order they came. So a client writes
//! each request the moment it is made (ten requests cost one round trip, not ten), queues it, and
//! gives each answer to the oldest request in the queue. Around that queue, the same care every
//! such client needs:
//!
//! * a request made when there is no connection (not yet, or not any more) fails at once, saying
//!   why, and sends nothing;
//! * the connection's loss fails every waiting request, and every later one;
//! * with a timeout, a server that stays silent that long while requests wait fails them all and
//!   the connection is closed: a late answer could no longer be matched to its request. Each
//!   answer is progress, so the wait starts over with each one.
//!
//! What an answer means is each client's own business: it takes the oldest request with
//! [`RequestQueue::pop_oldest`] and fires its Deferred.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::{DisconnectReason, Transport};
use crate::reactor::{DelayedCall, Reactor};

/// A request waiting for its answer, as a client keeps it: usually an enum with the request's
/// Deferred in each variant.
pub trait WaitingRequest {
    /// Why a request failed: the client's own error type.
    type Error: Clone;

    /// Fails the request's Deferred with `error`.
    fn fail(self, error: Self::Error);

    /// The error for a request that cannot be answered because the connection is gone (or was
    /// never made), for the reason given.
    fn connection_lost(why: String) -> Self::Error;

    /// The error for a request that waited `limit` for an answer that never came.
    fn timed_out(limit: Duration) -> Self::Error;
}

/// The waiting requests of one connection, oldest first, with what failing them needs.
pub struct RequestQueue<W> {
    reactor: Reactor,
    timeout: Option<Duration>,
    waiting: RefCell<VecDeque<W>>,
    transport: RefCell<Option<Rc<dyn Transport>>>,
    /// Why the connection ended (or must end), once it has.
    lost: RefCell<Option<String>>,
    /// The timeout's timed call, pending while requests wait.
    timer: RefCell<Option<DelayedCall>>,
}

impl<W: WaitingRequest + 'static> RequestQueue<W> {
    /// An empty queue with no connection yet; with a `timeout`, a server silent that long while
    /// requests wait fails them.
    pub fn new(reactor: &Reactor, timeout: Option<Duration>) -> Rc<RequestQueue<W>> {
        Rc::new(RequestQueue {
            reactor: reactor.clone(),
            timeout,
            waiting: RefCell::new(VecDeque::new()),
            transport: RefCell::new(None),
            lost: RefCell::new(None),
            timer: RefCell::new(None),
        })
    }

    /// The connection is made: requests are written to `transport` from now on.
    pub fn connection_made(&self, transport: Rc<dyn Transport>) {
        *self.transport.borrow_mut() = Some(transport);
    }

    /// Writes a request's pieces at once and queues `waiting` for its answer; or, with no
    /// connection, fails it at once.
    pub fn send(self: &Rc<Self>, pieces: &[&[u8]], waiting: W) {
        let transport = self.transport.borrow().clone();
        let Some(transport) = transport.filter(|_| self.lost.borrow().is_none()) else {
            let why = self.lost.borrow().clone();
            waiting.fail(W::connection_lost(
                why.unwrap_or_else(|| "not connected".to_owned()),
            ));
            return;
        };
        transport.write_sequence(pieces);
        let first = {
            let mut queue = self.waiting.borrow_mut();
            queue.push_back(waiting);
            queue.len() == 1
        };
        if first {
            self.start_timer();
        }
    }

    /// Takes the oldest request, for the answer that has come; the wait for the next answer
    /// starts over if others wait, and stops if none does.
    pub fn pop_oldest(self: &Rc<Self>) -> Option<W> {
        let (oldest, more) = {
            let mut queue = self.waiting.borrow_mut();
            let oldest = queue.pop_front();
            (oldest, !queue.is_empty())
        };
        if more {
            self.start_timer();
        } else {
            self.stop_timer();
        }
        oldest
    }

    /// Puts back a request that took part of its answer and waits for the rest (a `get` of
    /// several values), in front of the others.
    pub fn put_back(self: &Rc<Self>, oldest: W) {
        self.waiting.borrow_mut().push_front(oldest);
        self.start_timer();
    }

    /// How many requests wait for their answers.
    pub fn len(&self) -> usize {
        self.waiting.borrow().len()
    }

    /// Whether no request waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.borrow().is_empty()
    }

    /// Why the connection ended, once it has.
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    /// Closes the connection once what was written has gone.
    pub fn close(&self) {
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.lose_connection();
        }
    }

    /// Closes the connection at once for `why`, and fails every waiting request with `error`:
    /// the two sides no longer agree on which answer is whose.
    pub fn shut(&self, why: String, error: W::Error) {
        self.lost.borrow_mut().get_or_insert(why);
        if let Some(transport) = self.transport.borrow().clone() {
            transport.abort_connection();
        }
        self.fail_all(error);
    }

    /// The connection is gone: every waiting request fails, and so will every later one.
    pub fn connection_lost(&self, reason: &DisconnectReason) {
        let why = self
            .lost
            .borrow_mut()
            .get_or_insert_with(|| reason.to_string())
            .clone();
        self.fail_all(W::connection_lost(why));
    }

    fn fail_all(&self, error: W::Error) {
        self.stop_timer();
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        for request in waiting {
            request.fail(error.clone());
        }
    }

    /// Starts (or starts over) the wait for the server's next answer.
    fn start_timer(self: &Rc<Self>) {
        let Some(limit) = self.timeout else {
            return;
        };
        let mut timer = self.timer.borrow_mut();
        if let Some(call) = timer.as_ref()
            && call.reset(limit).is_ok()
        {
            return;
        }
        let queue: Weak<RequestQueue<W>> = Rc::downgrade(self);
        *timer = Some(self.reactor.call_later(limit, move || {
            if let Some(queue) = queue.upgrade() {
                // This call has run: dropping it is all that stopping it takes now.
                queue.timer.borrow_mut().take();
                queue.shut(format!("no answer within {limit:?}"), W::timed_out(limit));
            }
        }));
    }

    fn stop_timer(&self) {
        if let Some(call) = self.timer.borrow_mut().take() {
            let _ = call.cancel();
        }
    }
}
