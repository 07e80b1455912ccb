//! The key-value client, version 1: the EuroPython 2011 training, slide "Key-value store client"
//! (`keyvalue_client.py`).
//!
//! Connects to the key-value server with a `ClientCreator`, whose Deferred fires with the
//! connected [`KeyValueClient`]; then sets `a` to `value` and gets `a` back, each request a
//! Deferred, and prints what the get brings: `value`. The requests go out at once, one after the
//! other, without waiting: the answers come back in order.
//!
//! The original ran until Ctrl-C; this one stops when its answer is in. A failure (no server, no
//! answer) is one line on stderr and exit status 1.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server
//! terminal 2:  cargo run --bin keyvalue-client-1            # value
//! ```

#[path = "support/keyvalue_clients.rs"]
mod keyvalue_clients;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, report_error};
use common::defer::Failure;

use keyvalue_clients::ServerOptions;

/// Set `a` to `value` in the training's key-value store, get it back and print it (EuroPython 2011
/// training, key-value client v1).
#[derive(Parser)]
#[command(
    version,
    after_help = "Example, with keyvalue-server running:\n  keyvalue-client-1"
)]
struct Options {
    #[command(flatten)]
    server: ServerOptions,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let failed = Rc::new(Cell::new(false));
    let (stopper, failed_too) = (reactor.clone(), Rc::clone(&failed));
    options
        .server
        .connect(&reactor)
        .add_callback(|client| {
            // Both requests leave now; the set's answer comes first, then the get's.
            client.set(b"a", b"value");
            client.get(b"a")
        })
        .add_callback(|value: Vec<u8>| {
            print_bytes_line(&mut std::io::stdout().lock(), &[&value]);
            Ok::<(), Failure>(())
        })
        .add_errback(move |failure: Failure| {
            report_error(failure.error());
            failed_too.set(true);
            Ok::<(), Failure>(())
        })
        .add_both(move |_: Result<(), Failure>| stopper.stop().map_err(Failure::new));
    let _ = reactor.run();
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
