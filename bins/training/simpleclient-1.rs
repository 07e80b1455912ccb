//! A client of the uppercase server on the reactor, version 1: the EuroPython 2011 training, slide
//! "Twisted Simple Client (v1)" (`simpleclient.py`).
//!
//! The blocking clients waited on their sockets. This one hands every connection to the reactor at
//! once: for each text it prints `sending <text>` and asks for a connection (`connect_tcp`) with a
//! factory of its own, which holds the text. For each connection made, the factory builds a protocol;
//! the reactor calls it back when the connection is up (`connection_made`: send the text and CR LF)
//! and for every piece of data that arrives (`data_received`: print it). All the requests run at the
//! same time, on one thread.
//!
//! What the slide's "observations" then point out, and versions 2 and 3 fix:
//!
//! * the answers come back in any order, and are printed as they arrive, a piece at a time, with a
//!   newline after each piece (an answer may show up as one piece or as two, the greeting apart);
//!   nothing says which request a piece belongs to, and the program cannot use the data;
//! * the reactor never stops: once every answer is in, the program waits until Ctrl-C (which ends it
//!   with status 0).
//!
//! Unlike the original, which says nothing at all, a connection that cannot be made is one line on
//! stderr (`request <text> failed: Connection was refused by other side: 111: Connection refused.`).
//!
//! ```text
//! cargo run --bin upperserver                                   # terminal 1: listens on 8000
//! cargo run --bin simpleclient-1 -- 127.0.0.1:8000 a b c d      # terminal 2; Ctrl-C to end it
//! ```

#[path = "support/upper_clients.rs"]
mod upper_clients;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, Factory, Protocol, Transport,
};

use upper_clients::{CONNECT_TIMEOUT, Requests, print_data, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, on the reactor, and print each piece of data as
/// it arrives; runs until Ctrl-C (the EuroPython 2011 training, simple client v1).
#[derive(Debug, Parser)]
#[command(
    name = "simpleclient-1",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  simpleclient-1 127.0.0.1:8000 a b c d\n\
                  It never stops by itself: press Ctrl-C once the answers are in."
)]
struct Options {
    #[command(flatten)]
    requests: Requests,
}

/// What one connection does: send the text, print whatever comes back.
struct UppercaseClientProtocol {
    /// The text to send, from the factory that built this protocol.
    text: Rc<[u8]>,
}

impl Protocol for UppercaseClientProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        // The training writes the text, then CR LF; Twisted sends the two writes of one callback
        // together. Our transport sends each write at once, so they go as one, lest the server (which
        // answers the first piece it reads) see the text without its line end.
        transport.write(&[&self.text[..], b"\r\n"].concat());
    }

    fn data_received(&mut self, data: &[u8]) {
        // Whatever piece of whichever answer this is, out it goes.
        print_data(data);
    }
}

/// One request's factory: Twisted's plain `ClientFactory`, with the protocol to build and the text
/// set on it.
struct UppercaseClientFactory {
    text: Rc<[u8]>,
}

impl Factory for UppercaseClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(UppercaseClientProtocol {
            text: Rc::clone(&self.text),
        }))
    }
}

impl ClientFactory for UppercaseClientFactory {
    /// No connection, so no protocol: the factory hears of it. (The original's factory ignores it.)
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        print_failure(&self.text, reason);
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = options.requests.server_or_help::<Options>() else {
        return ExitCode::SUCCESS;
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    for text in options.requests.texts() {
        print_sending(&text);
        let factory = Rc::new(UppercaseClientFactory { text: text.into() });
        // This only asks for the connection: it is made once the reactor runs.
        reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    }
    // Nothing ever calls stop: this returns only on Ctrl-C (SIGINT) or SIGTERM.
    let _ = reactor.run();
    ExitCode::SUCCESS
}
