//! A canceller that really stops the work: tutorial Part 19, "I Thought I Wanted It But I Changed My
//! Mind" (`deferred-cancel/defer-cancel-11.py`).
//!
//! `defer-cancel-10` again, but now `get_poem`, which alone knows how the poem is produced, makes its
//! Deferred with a canceller: a closure over the timed call that will send the poem. Cancelling the
//! Deferred after 2 seconds runs the canceller, which cancels that timed call, so the poem is never
//! sent; then, since the canceller did not fire the Deferred itself, the errback gets the
//! `CancelledError`. Between 2 and 10 seconds nothing more happens.
//!
//! ```text
//! cargo run -p common --example defer-cancel-11
//! cargo run -p common --example defer-cancel-11 -- --time-scale 0.1   # every delay ten times shorter
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::defer::{AlreadyCalledError, Deferred, Failure};
use common::log::report_unhandled;
use common::reactor::{DelayedCall, Reactor};

/// A poem due in 5 seconds, truly cancelled after 2; the program stops after 10 (tutorial Part 19).
#[derive(Debug, Parser)]
#[command(name = "defer-cancel-11")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in a tenth of a second).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

fn send_poem(d: &Deferred<String>) -> Result<(), AlreadyCalledError> {
    println!("Sending poem");
    d.callback("Once upon a midnight dreary".to_owned())
}

/// Returns a poem 5 seconds later, unless its Deferred is cancelled first.
fn get_poem(reactor: &Reactor, time_scale: f64) -> Deferred<String> {
    // The canceller is given when the Deferred is made, but the timed call it must cancel can only be
    // scheduled after that (it needs the Deferred): they meet in this shared slot.
    let delayed_call: Rc<RefCell<Option<DelayedCall>>> = Rc::default();
    let pending = Rc::clone(&delayed_call);
    let d = Deferred::with_canceller(move |_: &Deferred<String>| {
        // Nobody wants the poem any more, so don't send it. The canceller only runs while the
        // Deferred has not fired, so the call is still pending and cancelling it succeeds.
        if let Some(call) = pending.borrow_mut().take()
            && let Err(error) = call.cancel()
        {
            report_unhandled("cancelling the poem's timed call", &error.to_string());
        }
        // Returning without firing the Deferred lets `cancel` fail it with `CancelledError`. The
        // canceller could instead fire it itself, with another failure or with a stand-in poem.
    });
    let to_fire = d.clone();
    let call = reactor.call_later(scaled(5.0, time_scale), move || send_poem(&to_fire));
    *delayed_call.borrow_mut() = Some(call);
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
