//! Catching a cancellation: tutorial Part 19, "I Thought I Wanted It But I Changed My Mind"
//! (`deferred-cancel/defer-cancel-2.py`).
//!
//! The same unfired Deferred as in `defer-cancel-1`, cancelled the same way, but this time the chain
//! has an errback. The `CancelledError` failure is an ordinary failure: the errback receives it and
//! handles it, so nothing is left unhandled when the program ends.
//!
//! ```text
//! cargo run -p common --example defer-cancel-2
//! ```

use common::defer::{Deferred, Failure};

fn callback(result: String) -> Result<(), Failure> {
    println!("callback got: {result}");
    Ok(())
}

fn errback(failure: Failure) -> Result<(), Failure> {
    println!("errback got: {failure}");
    Ok(())
}

fn main() {
    common::cli::no_options(
        "Catching a cancellation: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-2.py).",
    );
    let d: Deferred<String> = Deferred::new();
    d.add_callbacks(callback, errback);
    d.cancel();
    println!("done");
}
