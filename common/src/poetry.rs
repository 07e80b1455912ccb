//! The smallest poetry server and client there can be: what the tutorial's test module of Part 15
//! ("Tested Poetry", `tests/test_poetry.py`) carries along so that its tests need nothing else.
//!
//! The server is a factory whose protocol writes the poem and closes the connection. The client is
//! `get_poetry`, which returns a [`Deferred`] of the poem, as client 4.0 of Part 8 does. Together they
//! let a test fetch a poem from a server in the same process, on the same reactor: the test starts
//! the server on a free port, calls `get_poetry`, and runs the reactor until the Deferred fires. The
//! programs in `bins/` keep their own copies of this logic, one per stage of the tutorial; this one is
//! for tests.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::defer::{Deferred, Failure};
use crate::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use crate::reactor::Reactor;

/// A poetry server: every connection gets the whole poem, then the server hangs up.
pub struct PoetryServerFactory {
    poem: Rc<[u8]>,
}

impl PoetryServerFactory {
    /// A server of `poem`, its bytes sent as they are.
    pub fn new(poem: impl Into<Rc<[u8]>>) -> PoetryServerFactory {
        PoetryServerFactory { poem: poem.into() }
    }
}

/// One client of the server.
struct PoetryServerProtocol {
    poem: Rc<[u8]>,
}

impl Protocol for PoetryServerProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(&self.poem);
        // The end of the connection is the end of the poem; it comes once the poem is sent.
        transport.lose_connection();
    }
}

impl Factory for PoetryServerFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryServerProtocol {
            poem: Rc::clone(&self.poem),
        }))
    }
}

/// The connection broke before the server closed it: the poem may be cut short, so it is a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLost(pub DisconnectReason);

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for ConnectionLost {}

/// The client side of one download.
struct PoetryClientProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: Vec<u8>,
}

impl Protocol for PoetryClientProtocol {
    fn data_received(&mut self, data: &[u8]) {
        self.poem.extend_from_slice(data);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        let outcome = match reason {
            DisconnectReason::Done => Ok(std::mem::take(&mut self.poem)),
            reason => Err(Failure::new(ConnectionLost(reason.clone()))),
        };
        self.factory.fire(outcome);
    }
}

/// Holds the Deferred that `get_poetry` returned until the download is over.
struct PoetryClientFactory {
    /// This factory, for the protocol to report to. The reactor holds the factory while it
    /// connects, so this does not dangle while the protocol is made.
    me: Weak<PoetryClientFactory>,
    /// Taken out when fired, so that nothing can fire it a second time.
    deferred: RefCell<Option<Deferred<Vec<u8>>>>,
}

impl PoetryClientFactory {
    fn fire(&self, outcome: Result<Vec<u8>, Failure>) {
        // Out of the cell before firing: the callbacks run now, and may reach this factory again.
        let Some(deferred) = self.deferred.borrow_mut().take() else {
            return;
        };
        // It was taken out of the cell, so this is its first firing: no error is possible.
        let _ = match outcome {
            Ok(poem) => deferred.callback(poem),
            Err(failure) => deferred.errback(failure),
        };
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryClientProtocol {
            factory: self.me.upgrade()?,
            poem: Vec::new(),
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.fire(Err(Failure::new(reason.clone())));
    }
}

/// Fetches the poem served at `host`:`port`, giving up connecting after `timeout`.
///
/// Returns at once. The Deferred fires, while the reactor runs, with the poem's bytes once the
/// server has closed the connection; it fails with the [`ConnectError`] when the connection cannot
/// be made, and with [`ConnectionLost`] when it breaks before the end.
pub fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        deferred: RefCell::new(Some(deferred.clone())),
    });
    reactor.connect_tcp(host, port, factory, timeout);
    deferred
}
