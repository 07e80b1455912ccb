//! `inlineCallbacks`, spelled `async`/`.await`: tutorial Part 17, "Just Another Way to Spell
//! 'Callback'" (`inline-callbacks/inline-callbacks-1.py`).
//!
//! Rust's `async`/`.await` is Twisted's `inlineCallbacks`: the compiler turns the async block into a
//! state machine paused at each `.await`, as Python pauses a generator at each `yield`, and
//! `Deferred::from_future` plays the decorator, restarting the block whenever the Deferred it awaits
//! fires. The code between two `.await`s is one callback; all of them share the block's variables.
//!
//! * Awaiting a Deferred that has already fired (`succeed(1)`) gives its value at once, without
//!   waiting: the `yield 1` of the original.
//! * Awaiting a Deferred that has not fired pauses the block, and the reactor goes on with other work,
//!   until the Deferred fires five seconds later; its value is what the `.await` gives.
//! * A Deferred that fails makes the `.await` give `Err(failure)`, which a `match` handles as the
//!   original's `try`/`except` around its `yield` does.
//!
//! The block stops the reactor at its end. Every wait is multiplied by `--time-scale`.
//!
//! ```text
//! cargo run -p common --example inline-callbacks-1
//! cargo run -p common --example inline-callbacks-1 -- --time-scale 0.1
//! ```

use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_time_scale;
use common::defer::{Deferred, Failure, succeed};
use common::reactor::Reactor;

/// Await Deferreds in an async block, the Rust form of `inlineCallbacks` (tutorial Part 17).
#[derive(Debug, Parser)]
#[command(name = "inline-callbacks-1")]
struct Options {
    /// Multiply every wait by FACTOR (0.01 runs the 10-second demo in a tenth of a second).
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        value_parser = parse_time_scale,
        allow_negative_numbers = true
    )]
    time_scale: f64,
}

/// An exception as Python's `repr` shows it: `Exception(3)`.
fn python_repr(failure: &Failure) -> String {
    format!("{}({})", failure.short_type_name(), failure.error())
}

/// Four callbacks, separated by three `.await`s. Like a function decorated with `inlineCallbacks`,
/// calling it starts the block and returns the Deferred that fires when the block has ended.
fn my_callbacks(reactor: Reactor, wait: Duration) -> Deferred<()> {
    Deferred::from_future(async move {
        println!("first callback");
        // Already fired: the `.await` gives the value back at once.
        let result = succeed(1).await?;

        println!("second callback got {result}");
        let d = Deferred::new();
        let to_fire = d.clone();
        reactor.call_later(wait, move || to_fire.callback(2));
        // Not fired yet: the block pauses here, and the reactor is free until the call fires `d`.
        let result = d.await?;

        println!("third callback got {result}");
        let d: Deferred<u32> = Deferred::new();
        let to_fail = d.clone();
        reactor.call_later(wait, move || to_fail.errback(Failure::exception("3")));
        // This one fails: the `.await` gives the failure, and we handle it like an exception.
        let result = match d.await {
            Ok(value) => value.to_string(),
            Err(failure) => python_repr(&failure),
        };

        println!("fourth callback got {result}");
        reactor.stop()?;
        Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let wait = Duration::from_secs(5).mul_f64(options.time_scale);
    let reactor = Reactor::new()?;
    let handle = reactor.clone();
    reactor.call_when_running(move || {
        // The Deferred of the block fires when the block ends; a failure left in it would be reported
        // as unhandled when it goes away.
        my_callbacks(handle, wait);
    });
    reactor.run()?;
    Ok(())
}
