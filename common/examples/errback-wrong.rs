//! A Deferred fires once: the EuroPython 2011 training, slide "Errback example (v2)"
//! (`errback_wrong.py`).
//!
//! `errback` again, with one Deferred instead of two: after one second it is fired with a result
//! (`SUCCESS NEAT`), and after two seconds the same Deferred is failed as well. But a Deferred is
//! one-shot, either one callback or one errback: the second firing is refused with an
//! `AlreadyCalledError`, and `ERROR BUMMER` is never printed. The error happens inside a timed call,
//! so the reactor reports it on stderr, in one line, and carries on:
//!
//! ```text
//! Unhandled error while calling a timed call: AlreadyCalledError
//! ```
//!
//! `--debug` is the slide's `defer.setDebugging(True)`: Deferreds then remember where they were made
//! and first fired, and the error says so, which is how to find the code that fired twice.
//!
//! The original never stops its reactor, and waits for Ctrl-C. This one stops a second after the
//! error, which also shows that the reactor went on after it.
//!
//! ```text
//! cargo run -p common --example errback-wrong
//! cargo run -p common --example errback-wrong -- --debug
//! cargo run -p common --example errback-wrong -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::defer::{Deferred, Failure, set_debugging};
use common::reactor::Reactor;

/// Fire one Deferred with a result after 1 second, then try to fail it after 2, and see the second
/// firing refused; the demo stops after 3 seconds (the EuroPython 2011 training, errback_wrong.py).
#[derive(Debug, Parser)]
#[command(name = "errback-wrong")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in 30 milliseconds).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,

    /// Debug mode for Deferreds: the error names where the Deferred was made and first fired.
    #[arg(long)]
    debug: bool,
}

/// The callback: a result arrived.
fn on_success(message: &str) -> Result<(), Failure> {
    println!("SUCCESS {message}");
    Ok(())
}

/// The errback: a failure arrived; its message is the error's. It never runs here.
fn on_error(failure: Failure) -> Result<(), Failure> {
    println!("ERROR {}", failure.error());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    // Before the Deferred is made, so that it records where.
    set_debugging(options.debug);
    let at = |seconds| scaled(seconds, options.time_scale);
    let reactor = Reactor::new()?;

    let d1: Deferred<&str> = Deferred::new();
    d1.add_callback(on_success).add_errback(on_error);
    let first = d1.clone();
    reactor.call_later(at(1.0), move || first.callback("NEAT"));
    // The second firing returns the AlreadyCalledError; the reactor reports it and goes on.
    reactor.call_later(at(2.0), move || d1.errback(Failure::exception("BUMMER")));

    // Not in the original, which runs until Ctrl-C.
    let stopper = reactor.clone();
    reactor.call_later(at(3.0), move || stopper.stop());
    reactor.run()?;
    Ok(())
}
