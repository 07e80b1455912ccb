//! The protocol of talk 004's "Hello, World!" server (Andrew Bennetts, "Network programming with
//! Twisted", p.4): greet, and hang up.
//!
//! Shared by `hello-server` (the slide's program) and `all-of-the-above` (p.7, which imports it,
//! as the talk's program imports `hello_serv`).

use std::rc::Rc;

use common::protocol::{Address, Factory, Protocol, Transport};

/// What every client gets, before the server hangs up.
pub const GREETING: &[u8] = b"Hello, World!\n";

/// One connection: the greeting, then an orderly close once it is sent. Whatever the client
/// sends is never read.
pub struct Hello;

impl Protocol for Hello {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(GREETING);
        transport.lose_connection();
    }
}

/// Makes a [`Hello`] for every connection.
pub struct HelloFactory;

impl Factory for HelloFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Hello))
    }
}
