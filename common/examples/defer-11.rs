//! Callbacks added to a Deferred that has already fired: tutorial Part 14, "When a Deferred Isn't"
//! (`defer-11.py`).
//!
//! A Deferred can be fired before anyone adds a callback to it (that is how a function can return
//! a result it already has, as a Deferred). It keeps the result, and each callback added later runs
//! at once, inside `add_callback`, with the result of the one before: see the order of the lines.
//!
//! The second half pauses a Deferred before firing it. While paused, it holds its result and runs
//! no callbacks, even those added after firing, until `unpause`. This is the mechanism an outer
//! Deferred uses while it waits for an inner one (`defer-10`).
//!
//! ```text
//! cargo run -p common --example defer-11
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn callback_1(result: i32) -> Result<i32, Failure> {
    println!("callback_1 got {result}");
    Ok(1)
}

fn callback_2(result: i32) -> Result<i32, Failure> {
    println!("callback_2 got {result}");
    Ok(2)
}

fn callback_3(result: i32) -> Result<i32, Failure> {
    println!("callback_3 got {result}");
    Ok(3)
}

fn run() -> Result<(), AlreadyCalledError> {
    println!("This example illustrates how deferreds can");
    println!("be fired before they are returned. First we");
    println!("make a new deferred, fire it, then add some");
    println!("callbacks.");
    println!();

    let d = Deferred::new();
    println!("Firing empty deferred.");
    d.callback(0)?;

    // Each add returns the handle for the next one; every callback runs as soon as it is added.
    println!("Adding first callback.");
    let d = d.add_callback(callback_1);
    println!("Adding second callback.");
    let d = d.add_callback(callback_2);
    println!("Adding third callback.");
    d.add_callback(callback_3);

    println!();
    println!("Because the deferred was already fired, it");
    println!("invoked each callback as soon as it was added.");
    println!();
    println!("Now we create a deferred and fire it, but");
    println!("pause it first with the pause() method.");
    println!();

    let d = Deferred::new();
    println!("Pausing, then firing deferred.");
    d.pause();
    d.callback(0)?;

    println!("Adding callbacks.");
    d.add_callback(callback_1)
        .add_callback(callback_2)
        .add_callback(callback_3);

    // The result has been waiting since `callback`; the three callbacks run inside `unpause`.
    println!("Unpausing the deferred.");
    d.unpause();
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "Callbacks added to a Deferred that has already fired: tutorial Part 14, \"When a Deferred Isn't\" (defer-11.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
