//! Cancelling a Deferred that has not fired: tutorial Part 19, "I Thought I Wanted It But I Changed
//! My Mind" (`deferred-cancel/defer-cancel-1.py`).
//!
//! `cancel` is how the code that *receives* a Deferred says "I no longer want the result". Here nobody
//! ever fires the Deferred; cancelling it fails it with a `CancelledError`, so the errback line runs
//! and our callback never does. There is no errback to catch that failure, so when the Deferred goes
//! away at the end of the program (after `done`), it reports the failure on stderr as an unhandled
//! error, exactly as an ordinary failure left at the end of a chain would be (Part 9).
//!
//! ```text
//! cargo run -p common --example defer-cancel-1
//! ```

use common::defer::{Deferred, Failure};

fn callback(result: String) -> Result<(), Failure> {
    println!("callback got: {result}");
    Ok(())
}

fn main() {
    common::cli::no_options(
        "Cancelling a Deferred that has not fired: tutorial Part 19, \"I Thought I Wanted It But I Changed My Mind\" (deferred-cancel/defer-cancel-1.py).",
    );
    let d: Deferred<String> = Deferred::new();
    d.add_callback(callback);
    d.cancel();
    println!("done");
    // `d` is dropped here, still holding the CancelledError: the "Unhandled error" report follows.
}
