//! Closing connections that have gone quiet: Twisted's `TimeoutMixin` and
//! `policies.TimeoutFactory`, as a factory that wraps another.
//!
//! A server that waits for requests keeps a descriptor and some memory per connection. A client
//! that connects and then says nothing would keep them for ever, and a thousand such clients would
//! use up the descriptors and stop the server for everyone. [`IdleTimeout`] gives each connection
//! a deadline, pushed back whenever the peer sends something; when it passes, the connection is
//! closed at once.
//!
//! It suits servers that answer requests (the transform server). A server that only sends, to a
//! client that only reads, hears nothing for the whole download and must not use it.

use std::rc::Rc;
use std::time::Duration;

use super::{Address, DisconnectReason, Factory, Protocol, Transport};
use crate::reactor::{DelayedCall, Reactor};

/// A factory whose connections are closed after `limit` without input from the peer.
pub struct IdleTimeout<F> {
    inner: Rc<F>,
    reactor: Reactor,
    limit: Duration,
}

impl<F: Factory> IdleTimeout<F> {
    /// Wraps `inner`: its protocols are made as before, and watched for silence.
    pub fn new(reactor: &Reactor, inner: Rc<F>, limit: Duration) -> IdleTimeout<F> {
        IdleTimeout {
            inner,
            reactor: reactor.clone(),
            limit,
        }
    }
}

impl<F: Factory> Factory for IdleTimeout<F> {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let inner = self.inner.build_protocol(peer)?;
        Some(Box::new(Watched {
            inner,
            reactor: self.reactor.clone(),
            limit: self.limit,
            deadline: None,
        }))
    }

    fn start_factory(&self) {
        self.inner.start_factory();
    }

    fn stop_factory(&self) {
        self.inner.stop_factory();
    }

    fn log_prefix(&self) -> &'static str {
        self.inner.log_prefix()
    }
}

/// A protocol and the timed call that closes its connection when the peer has been silent too
/// long.
struct Watched {
    inner: Box<dyn Protocol>,
    reactor: Reactor,
    limit: Duration,
    deadline: Option<DelayedCall>,
}

impl Protocol for Watched {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let closing = Rc::clone(&transport);
        self.deadline = Some(
            self.reactor
                .call_later(self.limit, move || closing.abort_connection()),
        );
        self.inner.connection_made(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Some(deadline) = &self.deadline {
            let _ = deadline.reset(self.limit);
        }
        self.inner.data_received(data);
    }

    fn read_connection_lost(&mut self) -> bool {
        self.inner.read_connection_lost()
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take()
            && deadline.active()
        {
            let _ = deadline.cancel();
        }
        self.inner.connection_lost(reason);
    }

    fn pause_producing(&mut self) {
        self.inner.pause_producing();
    }

    fn resume_producing(&mut self) {
        self.inner.resume_producing();
    }
}
