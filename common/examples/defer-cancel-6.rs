//! A canceller that fires the Deferred with a result: tutorial Part 19, "I Thought I Wanted It But I
//! Changed My Mind" (`deferred-cancel/defer-cancel-6.py`).
//!
//! The canceller runs before the `CancelledError` would be raised, so it may fire the Deferred itself.
//! Here it gives a result: the callback line runs with it, and since the Deferred has then fired,
//! `cancel` adds no `CancelledError`.
//!
//! ```text
//! cargo run -p common --example defer-cancel-6
//! ```

use std::process;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn canceller(d: &Deferred<String>) {
    println!("I need to cancel this deferred: {d:?}");
    println!("Firing the deferred with a result");
    if let Err(error) = d.callback("result".to_owned()) {
        crash(error);
    }
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
/// status 1. (A canceller only runs while its Deferred has not fired, so this does not happen here.)
fn crash(error: AlreadyCalledError) -> ! {
    report_error(error);
    process::exit(1);
}

fn main() {
    common::cli::no_options(
        "A canceller that fires the Deferred with a result: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-6.py).",
    );
    let d = Deferred::with_canceller(canceller);
    d.add_callbacks(callback, errback);
    d.cancel();
    println!("done");
}
