//! A plain error becomes a Failure: tutorial Part 7, "An Interlude, Deferred" (`defer-3.py`).
//!
//! This time `errback` is given an ordinary error value, `Exception("I have failed.")` (our
//! counterpart of Python's `Exception`), not a `Failure`. The Deferred wraps it, so the errback still
//! receives a `Failure`: the errback prints the type it was given (Rust's name for it, where Python
//! prints the class), then the Failure itself. In Rust the compiler already promises this, since an
//! errback takes a `Failure`; the point is that any error can be handed to `errback` as it is.
//!
//! ```text
//! cargo run -p common --example defer-3
//! ```

use std::any::type_name_of_val;
use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Exception, Failure};

fn got_poem(poem: &str) -> Result<(), Failure> {
    println!("Your poem is served:");
    println!("{poem}");
    Ok(())
}

fn poem_failed(failure: Failure) -> Result<(), Failure> {
    println!("{}", type_name_of_val(&failure));
    println!("{failure}");
    println!("No poetry for you.");
    Ok(())
}

fn fire() -> Result<(), AlreadyCalledError> {
    let d: Deferred<&str> = Deferred::new();
    d.add_callbacks(got_poem, poem_failed);
    // A plain error value, not a Failure: the Deferred makes the Failure for us.
    d.errback(Exception("I have failed.".to_owned()))
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A plain error becomes a Failure: tutorial Part 7, \"An Interlude, Deferred\" (defer-3.py).",
    );
    match fire() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
