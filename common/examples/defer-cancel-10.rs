//! Cancelling without a canceller only ignores the result: tutorial Part 19, "I Thought I Wanted It
//! But I Changed My Mind" (`deferred-cancel/defer-cancel-10.py`).
//!
//! `defer-cancel-9` again, with one more timed call that cancels the poem's Deferred after 2 seconds.
//! The errback gets the `CancelledError` at once. But `get_poem` gave its Deferred no canceller, so
//! nothing tells its timed call to stop: 5 seconds in, the poem is still "sent", and the Deferred,
//! which has already failed, quietly drops that late result (no callback runs, no error). The work
//! was done for nothing; `defer-cancel-11` really stops it.
//!
//! ```text
//! cargo run -p common --example defer-cancel-10
//! cargo run -p common --example defer-cancel-10 -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::defer::{AlreadyCalledError, Deferred, Failure};
use common::reactor::Reactor;

/// A poem due in 5 seconds, cancelled after 2; the program stops after 10 (tutorial Part 19).
#[derive(Debug, Parser)]
#[command(name = "defer-cancel-10")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in a tenth of a second).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

fn send_poem(d: &Deferred<String>) -> Result<(), AlreadyCalledError> {
    println!("Sending poem");
    d.callback("Once upon a midnight dreary".to_owned())
}

/// Returns a poem 5 seconds later. The Deferred has no canceller: cancelling it cannot reach the
/// timed call.
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
    let to_cancel = d.clone();
    reactor.call_later(scaled(2.0, options.time_scale), move || to_cancel.cancel());

    reactor.run()?;
    Ok(())
}
