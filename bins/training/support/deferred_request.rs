//! Simple clients v2 to v4 and the v4 exercise share this part (each includes this file with
//! `#[path]`, as the training's v3 and v4 import it from `simpleclient2.py`): the protocol that
//! sends a request's text and fires the request's Deferred with the whole answer when the
//! connection ends, and the factory that hands each protocol its Deferred.
//!
//! This is version 2's lesson (the Deferred travels from `main`, through the factory, to the
//! protocol that fires it); versions 3 and 4 change only what happens to the Deferreds once made,
//! which each keeps in its own file.

use std::rc::Rc;

use common::defer::Deferred;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};

/// What one connection does: send the text, gather the answer, and fire the request's Deferred
/// with it when the connection ends.
pub(crate) struct UppercaseClientProtocol {
    text: Rc<[u8]>,
    /// The request's Deferred, handed over by the factory (Twisted's `self.factory.deferred`).
    deferred: Deferred<Vec<u8>>,
    buffer: Vec<u8>,
}

impl Protocol for UppercaseClientProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        // The text and CR LF in one write, so in one piece for the server (see simpleclient-1).
        transport.write(&[&self.text[..], b"\r\n"].concat());
    }

    fn data_received(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        // However the connection ended, what came is the answer. A connection ends once, so this is
        // the Deferred's only firing.
        let _ = self.deferred.callback(std::mem::take(&mut self.buffer));
    }
}

/// One request's factory: the text to send, and the Deferred of the answer.
pub(crate) struct UppercaseClientFactory {
    pub(crate) text: Rc<[u8]>,
    pub(crate) deferred: Deferred<Vec<u8>>,
}

impl Factory for UppercaseClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(UppercaseClientProtocol {
            text: Rc::clone(&self.text),
            deferred: self.deferred.clone(),
            buffer: Vec::new(),
        }))
    }
}

impl ClientFactory for UppercaseClientFactory {
    /// No connection, so no protocol to fire the Deferred: the factory fails it.
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        let _ = self.deferred.errback(reason.clone());
    }
}
