//! Pressing the errback button: tutorial Part 7, "An Interlude, Deferred" (`defer-2.py`).
//!
//! The same Deferred as `defer-1`, fired the other way: `errback(failure)` runs the errback of each
//! pair, and just as immediately, before `errback` returns.
//!
//! ```text
//! cargo run -p common --example defer-2
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

/// The callback: skipped, since the Deferred fails.
fn got_poem(poem: &str) -> Result<(), Failure> {
    println!("Your poem is served:");
    println!("{poem}");
    Ok(())
}

/// The errback: it gets the Failure. Returning `Ok` means the error is handled.
fn poem_failed(_failure: Failure) -> Result<(), Failure> {
    println!("No poetry for you.");
    Ok(())
}

fn fire() -> Result<(), AlreadyCalledError> {
    let d: Deferred<&str> = Deferred::new();
    d.add_callbacks(got_poem, poem_failed);
    // Fire the chain with an error result, a Failure we make ourselves.
    d.errback(Failure::exception("I have failed."))?;
    println!("Finished");
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "Pressing the errback button: tutorial Part 7, \"An Interlude, Deferred\" (defer-2.py).",
    );
    match fire() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
