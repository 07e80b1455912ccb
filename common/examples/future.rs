//! Something to do later: the EuroPython 2011 training, slide "Scheduling" (`sched1.py`, in the
//! training's repository `future.py`).
//!
//! Two timed calls and nothing else: print `HI` in five seconds, stop the reactor in six. Until then
//! the reactor has nothing to do but wait for the next call that is due; `run` returns after the
//! stop, and the program ends. This is how the training's key-value store forgets a key after
//! fifteen seconds.
//!
//! ```text
//! cargo run -p common --example future
//! cargo run -p common --example future -- --time-scale 0.1   # every delay ten times shorter
//! ```

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::reactor::Reactor;

/// Print HI after 5 seconds and stop after 6 (the EuroPython 2011 training, sched1.py).
#[derive(Debug, Parser)]
#[command(name = "future")]
struct Options {
    /// Multiply every delay by this positive factor (0.01 runs the whole demo in 60 milliseconds).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

fn print_it(text: &str) {
    println!("{text}");
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let at = |seconds| scaled(seconds, options.time_scale);
    let reactor = Reactor::new()?;

    reactor.call_later(at(5.0), || print_it("HI"));
    let stopper = reactor.clone();
    reactor.call_later(at(6.0), move || stopper.stop());
    reactor.run()?;
    Ok(())
}
