//! The Fast Poetry Server: tutorial Part 11, "Your Poetry is Served" (`twisted-server-1/fastpoetry.py`).
//!
//! A server is built from the same pieces as a client: a factory makes a protocol for each
//! connection, and the protocol reacts to events. Here the only event that matters is the new
//! connection: the protocol writes the whole poem and asks for the connection to be closed once it
//! has been sent. The reactor serves every client at once; nothing is slow on purpose.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10000 poetry/ecstasy.txt      # terminal 1
//! nc localhost 10000                                                  # terminal 2
//! cargo run --bin get-poetry-2 -- 10000                               # or any poetry client
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::server::{ServeOptions, listen_and_run, read_poem};
use common::protocol::{Address, Factory, Protocol, Transport};

/// Serve a poem, whole and at once, to every client (tutorial Part 11).
///
/// Each client gets the poem as soon as it connects, then the connection closes. Many clients are
/// served at the same time by one thread: the reactor's.
#[derive(Debug, Parser)]
#[command(
    name = "fastpoetry",
    version,
    after_help = "Example:\n  fastpoetry --port 10000 poetry/ecstasy.txt\nThen fetch with: nc localhost 10000"
)]
struct Options {
    #[command(flatten)]
    serve: ServeOptions,
}

/// One connection: send the poem, then hang up.
struct PoetryProtocol {
    poem: Rc<[u8]>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(&self.poem);
        // Closes only once the poem has been sent, however long the client takes to read it.
        transport.lose_connection();
    }
}

/// Makes a protocol per connection; all of them share the one copy of the poem.
struct PoetryFactory {
    poem: Rc<[u8]>,
}

impl Factory for PoetryFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            poem: Rc::clone(&self.poem),
        }))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let (poem, reactor) =
        match read_poem(&options.serve).and_then(|poem| Ok((poem, new_reactor()?))) {
            Ok(ready) => ready,
            Err(error) => {
                report_error(error);
                return ExitCode::FAILURE;
            }
        };
    let factory = Rc::new(PoetryFactory { poem });
    listen_and_run(
        &reactor,
        options.serve.port,
        &options.serve.iface,
        factory,
        |port| {
            format!(
                "Serving {} on {}.",
                options.serve.poem.display(),
                port.get_host()
            )
        },
    )
}
