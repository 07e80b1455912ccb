//! Cancelling a Deferred that waits on another: tutorial Part 19, "I Thought I Wanted It But I Changed
//! My Mind", section "One More Wrinkle" (`deferred-cancel/defer-cancel-12.py`).
//!
//! The outer Deferred has fired, but its first callback returned an inner Deferred that has not, so
//! the outer chain is paused waiting for it (Part 13). The code holding the outer Deferred has not
//! had its result yet, so for it the request is still pending, and cancelling is still meaningful:
//! the outer Deferred, having fired, does not cancel itself (its canceller never runs) but passes the
//! cancel on to the inner Deferred it waits for. The inner canceller runs, the inner Deferred fails
//! with `CancelledError`, and that failure carries on down the outer chain to the outer errback.
//!
//! ```text
//! cargo run -p common --example defer-cancel-12
//! ```

use std::process;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn cancel_outer(_: &Deferred<String>) {
    println!("outer cancel callback.");
}

fn cancel_inner(_: &Deferred<String>) {
    println!("inner cancel callback.");
}

fn second_outer_callback(result: String) -> Result<(), Failure> {
    println!("second outer callback got: {result}");
    Ok(())
}

fn outer_errback(failure: Failure) -> Result<(), Failure> {
    println!("outer errback got: {failure}");
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
        "Cancelling a Deferred that waits on another: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\", section \"One More Wrinkle\" (deferred-cancel/defer-cancel-12.py).",
    );
    let outer_d = Deferred::with_canceller(cancel_outer);
    // `main` keeps its own handle on the inner Deferred for the whole run, as the original keeps it in
    // a global: the paused outer Deferred remembers which Deferred it waits for, but does not keep it
    // alive.
    let inner_d = Deferred::with_canceller(cancel_inner);

    let returned = inner_d.clone();
    outer_d
        .add_callback(move |_: String| {
            println!("first outer callback, returning inner deferred");
            returned
        })
        .add_callbacks(second_outer_callback, outer_errback);
    if let Err(error) = outer_d.callback("result".to_owned()) {
        crash(error);
    }

    // At this point the outer Deferred has fired, but is paused on the inner one.
    println!("canceling outer deferred.");
    outer_d.cancel();

    println!("done");
}
