//! Timed callbacks and stopping the loop: tutorial Part 3, "Our Eye-beams Begin to Twist"
//! (`countdown.py`).
//!
//! `call_later` asks the reactor to call a function after a delay; the counter reschedules itself
//! each second until it reaches zero, then calls `stop`, and `run` returns so that `Stop!` prints.
//! With `--counters`, Part 3's first exercise: three counters at different rates share the one loop,
//! and the last to finish stops it.
//!
//! ```text
//! cargo run -p common --example countdown
//! cargo run -p common --example countdown -- --counters
//! cargo run -p common --example countdown -- --time-scale 0.2
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::{parse_duration, parse_time_scale, scaled};
use common::reactor::Reactor;

/// Count down from 5 with the reactor's timed calls (tutorial Part 3).
#[derive(Debug, Parser)]
#[command(name = "countdown")]
struct Options {
    /// Run three counters at different rates (A every second, B every 0.6 and C every 0.35 of a second).
    #[arg(long)]
    counters: bool,

    /// Run the demo faster or slower: every delay (one second between two counts) is multiplied
    /// by this factor (0.1 counts ten times faster).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,

    /// The time between two counts (an older way of saying --time-scale).
    #[arg(long, hide = true, conflicts_with = "time_scale", value_parser = parse_duration)]
    interval: Option<Duration>,
}

/// One counter: prints its count, then asks the reactor to call it again after `period`.
struct Countdown {
    name: &'static str,
    counter: Cell<u32>,
    period: Duration,
}

impl Countdown {
    fn count(self: Rc<Self>, reactor: Reactor, running: Rc<Cell<usize>>) {
        let count = self.counter.get();
        if count == 0 {
            // The last counter to finish stops the loop.
            running.set(running.get() - 1);
            if running.get() == 0 {
                let _ = reactor.stop();
            }
            return;
        }
        println!("{}{count} ...", self.name);
        self.counter.set(count - 1);
        let (next, period) = (reactor.clone(), self.period);
        reactor.call_later(period, move || self.count(next, running));
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let reactor = Reactor::new()?;
    let counters: Vec<(&str, f64)> = if options.counters {
        vec![("A: ", 1.0), ("B: ", 0.6), ("C: ", 0.35)]
    } else {
        vec![("", 1.0)]
    };
    let running = Rc::new(Cell::new(counters.len()));
    for (name, rate) in counters {
        let countdown = Rc::new(Countdown {
            name,
            counter: Cell::new(5),
            period: options
                .interval
                .unwrap_or_else(|| scaled(1.0, options.time_scale))
                .mul_f64(rate),
        });
        let (handle, running) = (reactor.clone(), running.clone());
        reactor.call_when_running(move || countdown.count(handle, running));
    }
    println!("Start!");
    reactor.run()?;
    println!("Stop!");
    Ok(())
}
