//! A Deferred fired by the running reactor: tutorial Part 7, "An Interlude, Deferred"
//! (`defer-8.py`).
//!
//! The Deferred of `defer-1`, now fired from inside the event loop: `call_when_running` is handed a
//! closure that fires it with `Another short poem.` once the loop has started (where Python passes
//! `d.callback` and its argument, we capture them). The callback prints the poem; the errback, which
//! this run never needs, would print an apologetic haiku on stderr. Both end by stopping the
//! reactor, the same code twice: `defer-9` shows how a Deferred lets us write it once.
//!
//! ```text
//! cargo run -p common --example defer-8
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::reactor::Reactor;

fn got_poem(poem: &str, reactor: &Reactor) -> Result<(), Failure> {
    println!("{poem}");
    reactor.stop()?;
    Ok(())
}

fn poem_failed(_failure: Failure, reactor: &Reactor) -> Result<(), Failure> {
    eprintln!("poem download failed");
    eprintln!("I am terribly sorry");
    eprintln!("try again later?");
    reactor.stop()?;
    Ok(())
}

fn run() -> anyhow::Result<()> {
    let reactor = Reactor::new()?;
    let d = Deferred::new();
    // Each stage gets its own handle on the reactor, to stop it when the chain is done.
    let (for_poem, for_failure) = (reactor.clone(), reactor.clone());
    d.add_callbacks(
        move |poem| got_poem(poem, &for_poem),
        move |failure| poem_failed(failure, &for_failure),
    );
    // Nothing happens until the loop runs; then the reactor calls us, and we fire the Deferred.
    reactor.call_when_running(move || d.callback("Another short poem."));
    reactor.run()?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A Deferred fired by the running reactor: tutorial Part 7, \"An Interlude, Deferred\" (defer-8.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
