//! A slow asynchronous operation, not cancelled yet: tutorial Part 19, "I Thought I Wanted It But I
//! Changed My Mind" (`deferred-cancel/defer-cancel-9.py`).
//!
//! `get_poem` is the lower-level code: it returns a Deferred at once and asks the reactor to fire it
//! with a poem 5 seconds later. `main` adds its callback and errback and runs the reactor, which a
//! separate timed call stops after 10 seconds (not a callback on the Deferred: `defer-cancel-10` and
//! `defer-cancel-11` cancel that Deferred, and the program must still end the same way).
//!
//! ```text
//! cargo run -p common --example defer-cancel-9
//! cargo run -p common --example defer-cancel-9 -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::defer::{AlreadyCalledError, Deferred, Failure};
use common::reactor::Reactor;

/// A poem arrives 5 seconds after it is asked for; the program stops after 10 (tutorial Part 19).
#[derive(Debug, Parser)]
#[command(name = "defer-cancel-9")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in a tenth of a second).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

fn send_poem(d: &Deferred<String>) -> Result<(), AlreadyCalledError> {
    println!("Sending poem");
    d.callback("Once upon a midnight dreary".to_owned())
}

/// Returns a poem 5 seconds later. Nothing here can stop the timed call once it is scheduled.
fn get_poem(reactor: &Reactor, time_scale: f64) -> Deferred<String> {
    let d = Deferred::new();
    let to_fire = d.clone();
    // An error firing the Deferred is reported by the reactor, which goes on running.
    reactor.call_later(scaled(5.0, time_scale), move || send_poem(&to_fire));
    d
}

fn got_poem(poem: String) -> Result<(), Failure> {
    println!("I got a poem: {poem}");
    Ok(())
}

fn poem_error(failure: Failure) -> Result<(), Failure> {
    println!("get_poem failed: {failure}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let reactor = Reactor::new()?;
    let stopper = reactor.clone();
    reactor.call_later(scaled(10.0, options.time_scale), move || stopper.stop());

    let d = get_poem(&reactor, options.time_scale);
    d.add_callbacks(got_poem, poem_error);

    reactor.run()?;
    Ok(())
}
