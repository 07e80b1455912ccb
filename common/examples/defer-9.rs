//! Refactoring with a second stage: tutorial Part 7, "An Interlude, Deferred" (`defer-9.py`).
//!
//! `defer-8` stopped the reactor in both its callback and its errback. Since a Deferred is a chain,
//! that common code can move to a stage of its own, added with `add_both`: the same function on both
//! lines of the chain, so it runs whatever happened before it, much like a `finally` block. The
//! callback and errback now only deal with the poem, or its absence.
//!
//! ```text
//! cargo run -p common --example defer-9
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::reactor::Reactor;

fn got_poem(poem: &str) -> Result<(), Failure> {
    println!("{poem}");
    Ok(())
}

fn poem_failed(_failure: Failure) -> Result<(), Failure> {
    eprintln!("poem download failed");
    eprintln!("I am terribly sorry");
    eprintln!("try again later?");
    Ok(())
}

/// The second stage, reached from either line of the first: it ignores what it gets.
fn poem_done(_outcome: Result<(), Failure>, reactor: &Reactor) -> Result<(), Failure> {
    reactor.stop()?;
    Ok(())
}

fn run() -> anyhow::Result<()> {
    let reactor = Reactor::new()?;
    let d = Deferred::new();
    let stopper = reactor.clone();
    d.add_callbacks(got_poem, poem_failed)
        .add_both(move |outcome| poem_done(outcome, &stopper));
    reactor.call_when_running(move || d.callback("Another short poem."));
    reactor.run()?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "Refactoring with a second stage: tutorial Part 7, \"An Interlude, Deferred\" (defer-9.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
