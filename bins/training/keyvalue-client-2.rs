//! The key-value client, version 2: the EuroPython 2011 training, slide "Key-value store client
//! (v2)" (`keyvalue_client2.py`).
//!
//! Version 1 plus a miss: a get of `b`, a key nobody set, sent at once beside the set of `a`. A
//! miss is the request's Deferred failing (Python's `KeyError`), and the errback prints
//! `Error: 'b'`. The get of `a` goes out from the set's callback, once the set is answered, so
//! the output is `Error: 'b'` and then `value`. (If `b` exists, its callback prints nothing, and
//! only `value` appears.)
//!
//! The original ran until Ctrl-C; this one stops when both answers are in. A failure other than
//! the miss (no server, no answer) is one line on stderr and exit status 1.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server
//! terminal 2:  cargo run --bin keyvalue-client-2            # Error: 'b', then value
//! ```

#[path = "support/keyvalue_clients.rs"]
mod keyvalue_clients;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, print_line, report_error};
use common::defer::{Deferred, DeferredList, Failure};
use common::keyvalue::{ClientError, KeyValueClient};

use keyvalue_clients::ServerOptions;

/// Set `a` and ask for `b` at once, print the miss as an error, then get `a` and print it
/// (EuroPython 2011 training, key-value client v2).
#[derive(Parser)]
#[command(
    version,
    after_help = "Example, with keyvalue-server running:\n  keyvalue-client-2"
)]
struct Options {
    #[command(flatten)]
    server: ServerOptions,
}

/// The demo's two chains, once connected: each ends with `()` when its printing is done.
fn demo(client: KeyValueClient) -> Deferred<Vec<()>> {
    let for_get = client.clone();
    let value = client
        .set(b"a", b"value")
        .add_callback(move |()| for_get.get(b"a"))
        .add_callback(|value: Vec<u8>| {
            print_bytes_line(&mut std::io::stdout().lock(), &[&value]);
            Ok::<(), Failure>(())
        });
    let miss = client.get(b"b").add_callbacks(
        |_value: Vec<u8>| Ok::<(), Failure>(()),
        |failure: Failure| match failure.downcast_ref::<ClientError>() {
            // The training's errback: the KeyError's message, the key in quotes.
            Some(error @ ClientError::NotFound(_)) => {
                print_line(
                    &mut std::io::stdout().lock(),
                    format_args!("Error: {error}"),
                );
                Ok(())
            }
            _ => Err(failure),
        },
    );
    DeferredList::all(vec![miss, value], true)
        .add_callback(|results| results.into_iter().collect::<Result<Vec<()>, Failure>>())
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
        .add_callback(demo)
        .add_callbacks(
            |_: Vec<()>| Ok::<(), Failure>(()),
            move |failure: Failure| {
                report_error(failure.error());
                failed_too.set(true);
                Ok(())
            },
        )
        .add_both(move |_: Result<(), Failure>| stopper.stop().map_err(Failure::new));
    let _ = reactor.run();
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
