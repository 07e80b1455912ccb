//! Hello, World!: talk 004 (Andrew Bennetts, "Network programming with Twisted"), p.4.
//!
//! The smallest Twisted server: a protocol whose `connection_made` writes a greeting and hangs
//! up, a factory that makes one per connection, and the reactor listening with that factory. Each
//! client gets `Hello, World!` and an orderly close; nothing it sends is read. The server prints
//! nothing of its own (the talk's prints nothing at all); where it listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin hello-server                # port 9999, as on the slide
//! terminal 2:  nc 127.0.0.1 9999                           # Hello, World!
//! ```

#[path = "protocols/hello.rs"]
mod hello;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};

/// The port the talk's server listens on.
const PORT: u16 = 9999;

/// Greets every client with "Hello, World!" and closes the connection (talk 004, p.4). Listens on
/// 127.0.0.1:9999 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    run_server(|reactor| listen_on(reactor, &endpoints, Rc::new(hello::HelloFactory)))
}
