//! Cancelling a fired Deferred does not call its canceller: tutorial Part 19, "I Thought I Wanted It
//! But I Changed My Mind" (`deferred-cancel/defer-cancel-8.py`).
//!
//! The Deferred has a canceller, but it fires normally before `cancel` is called. Its work is done,
//! there is nothing left to stop, so `cancel` neither calls the canceller nor changes the result.
//!
//! ```text
//! cargo run -p common --example defer-cancel-8
//! ```

use std::process;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn canceller(d: &Deferred<String>) {
    println!("I need to cancel this deferred: {d:?}");
}

fn callback(result: String) -> Result<(), Failure> {
    println!("callback got: {result}");
    Ok(())
}

fn errback(failure: Failure) -> Result<(), Failure> {
    println!("errback got: {failure}");
    Ok(())
}

/// Ends the program as an uncaught `AlreadyCalledError` ends the original: the error on stderr and
/// status 1. (A fresh Deferred accepts its first result, so this does not happen here.)
fn crash(error: AlreadyCalledError) -> ! {
    report_error(error);
    process::exit(1);
}

fn main() {
    common::cli::no_options(
        "Cancelling a fired Deferred does not call its canceller: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-8.py).",
    );
    let d = Deferred::with_canceller(canceller);
    d.add_callbacks(callback, errback);
    if let Err(error) = d.callback("result".to_owned()) {
        crash(error);
    }
    d.cancel();
    println!("done");
}
