//! Firing after a cancel: tutorial Part 19, "I Thought I Wanted It But I Changed My Mind"
//! (`deferred-cancel/defer-cancel-4.py`).
//!
//! Cancelling comes from the code that wanted the result; firing comes from the lower-level code that
//! produces it, which may not know about cancellation at all and fires the Deferred anyway when its
//! work is done. So after a `cancel` (here without any canceller), the Deferred ignores that late
//! result instead of refusing it with an `AlreadyCalledError`: the output is the same as
//! `defer-cancel-2`'s, and the program goes on to `done`.
//!
//! ```text
//! cargo run -p common --example defer-cancel-4
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
/// status 1. The point of this demo is that the late `callback` does *not* get here.
fn crash(error: AlreadyCalledError) -> ! {
    report_error(error);
    process::exit(1);
}

fn main() {
    common::cli::no_options(
        "Firing after a cancel: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-4.py).",
    );
    let d: Deferred<String> = Deferred::new();
    d.add_callbacks(callback, errback);
    d.cancel();
    if let Err(error) = d.callback("result".to_owned()) {
        crash(error);
    }
    println!("done");
}
