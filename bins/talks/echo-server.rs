//! The echo server of two talks: talk 004 (Andrew Bennetts, "Network programming with Twisted"),
//! p.5 "Echo Server -- TCP" on port 9999, and talk 001 (Pascal Bach, "Twisted intro"), the
//! "Example" after "Protocol", on port 1234. One program serves both: `--port 1234` is talk 001's.
//!
//! A protocol that writes back whatever it receives, one per connection: the reactor reads, the
//! protocol's `data_received` is called with each chunk, and `transport.write` queues the chunk
//! to go back out. Beyond the slides, a client that sends and never reads cannot make the server
//! buffer without limit: its connection stops being read until what was echoed has drained.
//!
//! ```text
//! terminal 1:  cargo run --bin echo-server                 # talk 004: port 9999
//!              cargo run --bin echo-server -- --port 1234  # talk 001: port 1234
//!              cargo run --bin echo-server -- --listen unix:/tmp/echo.sock
//! terminal 2:  nc 127.0.0.1 9999                           # type a line: it comes back
//!              cargo run --bin echo-client -- 127.0.0.1:9999
//! ```

#[path = "protocols/echo.rs"]
mod echo;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};

/// Talk 004's port (talk 001 used 1234).
const PORT: u16 = 9999;

/// Sends every byte it receives back to its sender (talk 004 p.5 on port 9999, talk 001 on port
/// 1234). Listens on 127.0.0.1:9999 unless told otherwise.
///
/// Back-pressure: a client that sends without reading is not read from until it has taken what
/// was echoed to it, so each connection costs a bounded amount of memory (about 128 KiB at most).
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    run_server(|reactor| listen_on(reactor, &endpoints, Rc::new(echo::EchoFactory)))
}
