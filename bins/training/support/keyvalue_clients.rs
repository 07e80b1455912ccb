//! What the key-value store's clients share (each includes this file with `#[path]`): where the
//! server is, how long to wait for it, and the connection as a Deferred of a
//! [`KeyValueClient`].

#![allow(dead_code)] // not every client uses every helper

use std::time::Duration;

use clap::Args;
use common::cli::address::ServerAddress;
use common::cli::duration::parse_timeout;
use common::defer::Deferred;
use common::keyvalue::KeyValueClient;
use common::protocol::ClientCreator;
use common::reactor::Reactor;

/// The training's port.
pub(crate) const PORT: u16 = 11211;

/// Where the key-value server is, and how long to wait for it.
#[derive(Debug, Args)]
pub(crate) struct ServerOptions {
    /// The key-value server, as HOST:PORT (a bare port means 127.0.0.1).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:11211")]
    pub(crate) server: ServerAddress,

    /// How long to wait for the connection, and then for each answer: seconds (10) or a number
    /// with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub(crate) timeout: Duration,
}

impl ServerOptions {
    /// Connects; fires with the client once connected, or fails with why not.
    pub(crate) fn connect(&self, reactor: &Reactor) -> Deferred<KeyValueClient> {
        let (clock, timeout) = (reactor.clone(), self.timeout);
        ClientCreator::new(reactor, move || KeyValueClient::new(&clock, Some(timeout))).connect_tcp(
            &self.server.host,
            self.server.port,
            self.timeout,
        )
    }
}
