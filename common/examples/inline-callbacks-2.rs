//! What an `inlineCallbacks` function returns: tutorial Part 17, "Just Another Way to Spell
//! 'Callback'" (`inline-callbacks/inline-callbacks-2.py`).
//!
//! Rust's `async`/`.await` is Twisted's `inlineCallbacks`, and `Deferred::from_future` its decorator:
//! a function that wraps its body in `Deferred::from_future(async move { ... })` starts the body and
//! returns at once with a Deferred, which fires only when the body has ended. The body's `Ok(value)`
//! (the original's `returnValue(1)`) becomes that Deferred's result; its `Err(failure)` (the original's
//! `raise`) becomes its failure, for the errback.
//!
//! Two such bodies run at the same time, each pausing at its waits (two of two seconds for the first,
//! two of three for the other), so that their callbacks interleave on the one reactor. The last of the
//! two Deferreds to fire stops the reactor. Every wait is multiplied by `--time-scale`.
//!
//! ```text
//! cargo run -p common --example inline-callbacks-2
//! cargo run -p common --example inline-callbacks-2 -- --time-scale 0.1
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_time_scale;
use common::defer::{Deferred, Failure, defer_later};
use common::reactor::Reactor;

/// Two async blocks interleaving, one giving a value and one failing (tutorial Part 17).
#[derive(Debug, Parser)]
#[command(name = "inline-callbacks-2")]
struct Options {
    /// Multiply every wait by FACTOR (0.01 runs the 6-second demo in 60 milliseconds).
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        value_parser = parse_time_scale,
        allow_negative_numbers = true
    )]
    time_scale: f64,
}

/// A Deferred that fires (with nothing) after `delay`: awaiting it is a pause that leaves the reactor
/// free for other work.
fn sleep(reactor: &Reactor, delay: Duration) -> Deferred<()> {
    defer_later(reactor, delay, || Ok::<(), Failure>(()))
}

/// Three callbacks two seconds apart; the Deferred it returns fires with 1.
fn my_callbacks_1(reactor: Reactor, wait: Duration) -> Deferred<u32> {
    Deferred::from_future(async move {
        println!("my_callbacks_1 first callback");
        sleep(&reactor, wait * 2).await?;

        println!("my_callbacks_1 second callback");
        sleep(&reactor, wait * 2).await?;

        println!("my_callbacks_1 third callback");
        Ok(1)
    })
}

/// Three callbacks three seconds apart; the Deferred it returns fails.
fn my_callbacks_err(reactor: Reactor, wait: Duration) -> Deferred<u32> {
    Deferred::from_future(async move {
        println!("my_callbacks_err first callback");
        sleep(&reactor, wait * 3).await?;

        println!("my_callbacks_err second callback");
        sleep(&reactor, wait * 3).await?;

        println!("my_callbacks_err third callback");
        Err(Failure::exception("uh oh"))
    })
}

fn got_result(result: u32) -> Result<(), Failure> {
    println!("got result: {result}");
    Ok(())
}

fn got_error(failure: Failure) -> Result<(), Failure> {
    println!("got error: {failure}");
    Ok(())
}

fn run_callbacks(reactor: &Reactor, wait: Duration) {
    let d1 = my_callbacks_1(reactor.clone(), wait).add_callbacks(got_result, got_error);
    let d2 = my_callbacks_err(reactor.clone(), wait).add_callbacks(got_result, got_error);

    // Both bodies are now paused at their first wait. Count them as they finish, whichever way.
    let finished = Rc::new(Cell::new(0));
    for d in [d1, d2] {
        let (finished, reactor) = (Rc::clone(&finished), reactor.clone());
        d.add_both(move |_| {
            finished.set(finished.get() + 1);
            if finished.get() == 2 {
                println!("all done");
                reactor.stop()?;
            }
            Ok::<(), Failure>(())
        });
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let wait = Duration::from_secs(1).mul_f64(options.time_scale);
    let reactor = Reactor::new()?;
    let handle = reactor.clone();
    reactor.call_when_running(move || run_callbacks(&handle, wait));
    reactor.run()?;
    Ok(())
}
