//! Cancelling too late: tutorial Part 19, "I Thought I Wanted It But I Changed My Mind"
//! (`deferred-cancel/defer-cancel-3.py`).
//!
//! The Deferred fires first, so the callback has already had the result by the time `cancel` is
//! called. There is nothing left to cancel, and `cancel` quietly does nothing.
//!
//! ```text
//! cargo run -p common --example defer-cancel-3
//! ```

use std::process;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

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
        "Cancelling too late: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-3.py).",
    );
    let d: Deferred<String> = Deferred::new();
    d.add_callbacks(callback, errback);
    if let Err(error) = d.callback("result".to_owned()) {
        crash(error);
    }
    d.cancel();
    println!("done");
}
