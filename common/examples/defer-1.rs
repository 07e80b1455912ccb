//! Pressing the callback button: tutorial Part 7, "An Interlude, Deferred" (`defer-1.py`).
//!
//! A Deferred holds pairs of callbacks and errbacks. Firing it with `callback(result)` runs the
//! callback of each pair right away, inside the `callback` call, as an ordinary function call: no
//! reactor is running here, so nothing asynchronous can happen. That is why `Finished` comes last.
//!
//! ```text
//! cargo run -p common --example defer-1
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

/// The callback: it gets the normal result.
fn got_poem(poem: &str) -> Result<(), Failure> {
    println!("Your poem is served:");
    println!("{poem}");
    Ok(())
}

/// The errback: it would get a Failure, but this Deferred is fired with a result.
fn poem_failed(_failure: Failure) -> Result<(), Failure> {
    println!("No poetry for you.");
    Ok(())
}

fn fire() -> Result<(), AlreadyCalledError> {
    let d = Deferred::new();
    // One callback/errback pair: one stage of the chain.
    d.add_callbacks(got_poem, poem_failed);
    // Fire the chain with a normal result: got_poem runs before this line returns.
    d.callback("This poem is short.")?;
    println!("Finished");
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "Pressing the callback button: tutorial Part 7, \"An Interlude, Deferred\" (defer-1.py).",
    );
    match fire() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
