//! `ClientCreator`: connect one protocol, and get it back as a Deferred once it is connected.
//!
//! A [`ClientFactory`](super::ClientFactory) suits a client that makes many connections and wants
//! to hear of each. A program that wants one connection to talk over (the training's key-value web
//! front, which asks the store a question per page) would rather say "connect, then give me the
//! protocol to call": Twisted's `ClientCreator`. Its Deferred fires with the protocol once the
//! connection is made, or fails with the reason it could not be.
//!
//! Both the reactor and the caller hold the protocol then: the reactor calls its `data_received`,
//! the caller calls its methods (`get`, `set`...). So the protocol must be a cheap handle that can
//! be cloned, with its state inside (in an `Rc<RefCell<...>>`), and every clone speaks for the same
//! connection. Its methods should borrow that state only briefly, and never across a call that may
//! fire a Deferred, since the callbacks may call the protocol again.

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use super::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use crate::defer::{Deferred, Failure};
use crate::endpoints::ClientEndpoint;
use crate::reactor::Reactor;

/// Connects protocols made by a function, and gives each back as a Deferred once connected.
pub struct ClientCreator<P> {
    reactor: Reactor,
    make: Rc<dyn Fn() -> P>,
}

impl<P: Protocol + Clone + 'static> ClientCreator<P> {
    /// A creator of connections spoken by the protocols `make` returns.
    pub fn new(reactor: &Reactor, make: impl Fn() -> P + 'static) -> Self {
        ClientCreator {
            reactor: reactor.clone(),
            make: Rc::new(make),
        }
    }

    /// Connects over TCP to `host`:`port`; fires with the protocol once connected.
    pub fn connect_tcp(&self, host: &str, port: u16, timeout: Duration) -> Deferred<P> {
        let (factory, connected) = self.one_shot();
        self.reactor.connect_tcp(host, port, factory, timeout);
        connected
    }

    /// Connects to the UNIX socket at `path`; fires with the protocol once connected.
    pub fn connect_unix(&self, path: &Path, timeout: Duration) -> Deferred<P> {
        let (factory, connected) = self.one_shot();
        self.reactor.connect_unix(path, factory, timeout);
        connected
    }

    /// Connects to `endpoint` (`tcp:HOST:PORT` or `unix:PATH`); fires with the protocol once
    /// connected.
    pub fn connect(&self, endpoint: &ClientEndpoint) -> Deferred<P> {
        let (factory, connected) = self.one_shot();
        self.reactor.connect(endpoint, factory);
        connected
    }

    fn one_shot(&self) -> (Rc<OneShot<P>>, Deferred<P>) {
        let connected = Deferred::new();
        let factory = Rc::new(OneShot {
            make: Rc::clone(&self.make),
            connected: connected.clone(),
        });
        (factory, connected)
    }
}

/// The factory of one connection: makes the protocol, and fires the Deferred with it once the
/// connection is made, or with the failure.
struct OneShot<P> {
    make: Rc<dyn Fn() -> P>,
    connected: Deferred<P>,
}

impl<P: Protocol + Clone + 'static> Factory for OneShot<P> {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Announcing {
            protocol: (self.make)(),
            connected: Some(self.connected.clone()),
        }))
    }
}

impl<P: Protocol + Clone + 'static> ClientFactory for OneShot<P> {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        let _ = self.connected.errback(Failure::new(reason.clone()));
    }
}

/// The reactor's side of the protocol: passes every event on, and after `connection_made` hands a
/// clone of the protocol to whoever waits for it.
struct Announcing<P> {
    protocol: P,
    connected: Option<Deferred<P>>,
}

impl<P: Protocol + Clone + 'static> Protocol for Announcing<P> {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.protocol.connection_made(transport);
        if let Some(connected) = self.connected.take() {
            let _ = connected.callback(self.protocol.clone());
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        self.protocol.data_received(data);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.protocol.connection_lost(reason);
    }

    fn pause_producing(&mut self) {
        self.protocol.pause_producing();
    }

    fn resume_producing(&mut self) {
        self.protocol.resume_producing();
    }
}
