//! A canceller: tutorial Part 19, "I Thought I Wanted It But I Changed My Mind"
//! (`deferred-cancel/defer-cancel-5.py`).
//!
//! A Deferred cannot know how to stop the work behind it (close a connection, cancel a timer...), so
//! the lower-level code that makes the Deferred hands it a *canceller* when it creates it, with
//! `Deferred::with_canceller`. `cancel` calls the canceller first, with the Deferred being cancelled,
//! and only then, since the canceller did not fire it, fails the Deferred with `CancelledError`.
//!
//! ```text
//! cargo run -p common --example defer-cancel-5
//! ```

use common::defer::{Deferred, Failure};

/// Part of the lower-level code: this is where the work behind `d` would be stopped.
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

fn main() {
    common::cli::no_options(
        "A canceller: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-5.py).",
    );
    // Made by the lower-level code, which knows how to cancel its work...
    let d = Deferred::with_canceller(canceller);
    // ...and used by the higher-level code, which only adds its callbacks.
    d.add_callbacks(callback, errback);
    d.cancel();
    println!("done");
}
