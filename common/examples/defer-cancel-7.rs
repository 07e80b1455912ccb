//! A canceller that fires the Deferred with its own error: tutorial Part 19, "I Thought I Wanted It
//! But I Changed My Mind" (`deferred-cancel/defer-cancel-7.py`).
//!
//! Like `defer-cancel-6`, the canceller fires the Deferred itself, but with a failure of its choosing:
//! the errback gets that failure instead of a `CancelledError`.
//!
//! ```text
//! cargo run -p common --example defer-cancel-7
//! ```

use std::process;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn canceller(d: &Deferred<String>) {
    println!("I need to cancel this deferred: {d:?}");
    println!("Firing the deferred with an error");
    if let Err(error) = d.errback(Failure::exception("error!")) {
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
        "A canceller that fires the Deferred with its own error: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-7.py).",
    );
    let d = Deferred::with_canceller(canceller);
    d.add_callbacks(callback, errback);
    d.cancel();
    println!("done");
}
