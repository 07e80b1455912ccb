//! Changing one's mind about something to do later: the EuroPython 2011 training, slide "Scheduling"
//! (`sched2.py`, in the training's repository `future2.py`).
//!
//! `future` again, keeping the handle that `call_later` returns for the `HI` due in five seconds (a
//! `DelayedCall`). A second timed call, at four seconds, checks that the `HI` is still pending
//! (`active`), says `CANCELLING` and cancels it. So `HI` is never printed, and the stop at six
//! seconds ends the program. The key-value store of the training does the same to a key's pending
//! expiry when the key is deleted, or set again.
//!
//! ```text
//! cargo run -p common --example future2
//! cargo run -p common --example future2 -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::reactor::{DelayedCall, Reactor};

/// Schedule HI for 5 seconds, cancel it at 4, stop at 6 (the EuroPython 2011 training, sched2.py).
#[derive(Debug, Parser)]
#[command(name = "future2")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in 60 milliseconds).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

fn print_it(text: &str) {
    println!("{text}");
}

/// Cancels the call if it has not run yet (cancelling one that has is an error).
fn abort(delayed_call: &DelayedCall) {
    if delayed_call.active() {
        println!("CANCELLING");
        // Cannot fail: the call was just found pending, and nothing runs in between.
        let _ = delayed_call.cancel();
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let at = |seconds| scaled(seconds, options.time_scale);
    let reactor = Reactor::new()?;

    let delayed_call = reactor.call_later(at(5.0), || print_it("HI"));
    reactor.call_later(at(4.0), move || abort(&delayed_call));
    let stopper = reactor.clone();
    reactor.call_later(at(6.0), move || stopper.stop());
    reactor.run()?;
    Ok(())
}
