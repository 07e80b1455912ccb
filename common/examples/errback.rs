//! Callbacks for results, errbacks for errors: the EuroPython 2011 training, slide "Errback example
//! (v1)" (`errback.py`).
//!
//! Two Deferreds, each with the same two handlers: `on_success` as a callback and `on_error` as an
//! errback after it. A timed call fires the first with a result after one second, and the callback
//! line runs (`SUCCESS NEAT`); another fails the second with an error after two seconds, and the
//! errback line runs (`ERROR BUMMER`, the failure's message). Whoever fires a Deferred chooses which
//! line its chain takes: `callback` or `errback`.
//!
//! The original never stops its reactor, and waits for Ctrl-C after its two lines. This one stops a
//! second after the second line, which the lesson does not need either way.
//!
//! ```text
//! cargo run -p common --example errback
//! cargo run -p common --example errback -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::defer::{Deferred, Failure};
use common::reactor::Reactor;

/// Fire one Deferred with a result after 1 second and fail another after 2, and see which handler
/// each one runs; the demo stops after 3 seconds (the EuroPython 2011 training, errback.py).
#[derive(Debug, Parser)]
#[command(name = "errback")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in 30 milliseconds).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

/// The callback: a result arrived.
fn on_success(message: &str) -> Result<(), Failure> {
    println!("SUCCESS {message}");
    Ok(())
}

/// The errback: a failure arrived; its message is the error's.
fn on_error(failure: Failure) -> Result<(), Failure> {
    println!("ERROR {}", failure.error());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let at = |seconds| scaled(seconds, options.time_scale);
    let reactor = Reactor::new()?;

    let d1: Deferred<&str> = Deferred::new();
    d1.add_callback(on_success).add_errback(on_error);
    // A firing that fails (fired twice) is reported by the reactor, which goes on.
    reactor.call_later(at(1.0), move || d1.callback("NEAT"));

    let d2: Deferred<&str> = Deferred::new();
    d2.add_callback(on_success).add_errback(on_error);
    reactor.call_later(at(2.0), move || d2.errback(Failure::exception("BUMMER")));

    // Not in the original, which runs until Ctrl-C.
    let stopper = reactor.clone();
    reactor.call_later(at(3.0), move || stopper.stop());
    reactor.run()?;
    Ok(())
}
