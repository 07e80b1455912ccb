//! Making Failures: tutorial Part 6, "And Then We Took It Higher" (`failure-examples.py`).
//!
//! A `Failure` is what travels down a Deferred's errback chain: an error, plus a record of where it
//! came from, so that it can still be traced when it surfaces far from the code that caused it.
//! This demo makes one Failure straight from an error value, and one where an error is caught, and
//! prints each with its one-line form (`Display`) and its `report()`.
//!
//! In Python the difference is the traceback. A Failure made from an exception object that was never
//! raised has no frames; one made inside an `except` block keeps the traceback of the raise (the
//! frames from where the exception was raised to where it was caught), even after the block ends.
//! Rust errors are plain values returned by functions; they carry no stack, and our Failure does not
//! capture one either. What it records is a single source location: where the Failure was made. For
//! the first Failure that is the `Failure::new` call; for the second it is the `?` that caught the
//! error returned by `analyze_poem` and turned it into a Failure, the counterpart of the `except`
//! line, not the line inside `analyze_poem` where the error was created. So neither has "frames" in
//! Python's sense; both say where the error became a Failure.
//!
//! ```text
//! cargo run -p common --example failure-examples
//! ```

use std::error::Error;
use std::fmt;

use common::defer::Failure;

/// A poem broke its rhyme scheme. Like the tutorial's exception it carries no message.
#[derive(Debug)]
struct RhymeSchemeViolation;

impl fmt::Display for RhymeSchemeViolation {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl Error for RhymeSchemeViolation {}

const POEM: &str = "\
Roses are red.
Violets are red.
I'm a stupid poem.
";

/// Finds fault with every poem: it returns the error, the Rust way of raising it.
fn analyze_poem(_poem: &str) -> Result<(), RhymeSchemeViolation> {
    Err(RhymeSchemeViolation)
}

/// Catches the error of `analyze_poem`: the `?` turns it into a Failure, recording this line.
fn review(poem: &str) -> Result<(), Failure> {
    analyze_poem(poem)?;
    Ok(())
}

fn show(failure: &Failure) {
    println!("{failure}");
    println!("{}", failure.report());
}

fn main() {
    common::cli::no_options(
        "Making Failures: tutorial Part 6, \"And Then We Took It Higher\" (failure-examples.py).",
    );
    println!("Just making an exception:");
    println!();
    let failure = Failure::new(RhymeSchemeViolation);
    show(&failure);
    println!();
    println!();

    println!("Catching an exception:");
    println!();
    if let Err(failure) = review(POEM) {
        show(&failure);
    }
}
