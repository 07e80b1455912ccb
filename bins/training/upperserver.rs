//! The uppercase server: the EuroPython 2011 training, slide "Twisted Uppercase Server"
//! (`upperserver.py`), port 8000.
//!
//! The training's first Twisted program: a `Protocol` whose `connection_made` greets the client,
//! and whose `data_received` answers the first piece of data with the same bytes in capitals and
//! hangs up; a `Factory` that makes one protocol per connection; the reactor listening with it.
//! There is no framing: the answer is to whatever the first read brought (`ab` sent now and `cd`
//! half a second later gets `AB`), and only ASCII letters change (`é` stays `é`). The server prints
//! nothing of its own; where it listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin upperserver
//! terminal 2:  nc 127.0.0.1 8000                           # type: twisted is cool
//!              cargo run --bin multiclient -- 127.0.0.1:8000 a b c d
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::protocol::{Address, Factory, Protocol, Transport};

/// The training's port.
const PORT: u16 = 8000;

/// What every client reads first (LF only, as in the training).
const GREETING: &[u8] = b"Hi! Send me text to convert to uppercase\n";

/// Greets each client, upper-cases the first piece of text it sends, and hangs up (the EuroPython
/// 2011 training's first Twisted server). Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

/// One connection.
#[derive(Default)]
struct UpperProtocol {
    transport: Option<Rc<dyn Transport>>,
}

impl Protocol for UpperProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(GREETING);
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        // Once closing, the transport delivers nothing more: only the first piece is answered.
        if let Some(transport) = &self.transport {
            transport.write(&data.to_ascii_uppercase());
            transport.lose_connection();
        }
    }
}

/// Makes an [`UpperProtocol`] for every connection.
struct UpperFactory;

impl Factory for UpperFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(UpperProtocol::default()))
    }
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    run_server(|reactor| listen_on(reactor, &endpoints, Rc::new(UpperFactory)))
}
