//! How fast the Deferred runs its callbacks (issue: the Deferred's benchmark).
//!
//! Two workloads, each timed as nanoseconds per callback:
//!
//! * (a) 200,000 Deferreds, each given 10 callbacks and then fired;
//! * (b) 20,000 Deferreds whose 10 callbacks each return an already-fired Deferred, which the chain
//!   takes over synchronously (Part 13's chaining, on its fast path).
//!
//! Twisted 26.10 under CPython 3.11 takes about 520 ns and 880 ns per callback on these, on the
//! project's 2-core machine. Run it optimised:
//!
//! ```text
//! cargo run --release -p common --example bench-deferred
//! cargo run --release -p common --example bench-deferred -- --rounds 10
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use common::defer::{Deferred, Failure, succeed};

/// Time the Deferred's callback machinery (nanoseconds per callback).
#[derive(Debug, Parser)]
#[command(name = "bench-deferred")]
struct Options {
    /// How many times to run each workload; the best round is reported.
    #[arg(long, default_value_t = 5)]
    rounds: u32,

    /// Run only workload a or b (to profile one of them).
    #[arg(long, value_parser = ["a", "b"])]
    only: Option<String>,
}

const CALLBACKS: usize = 10;

/// (a): add ten callbacks to each Deferred, then fire it.
fn plain_callbacks(deferreds: usize) -> Duration {
    let started = Instant::now();
    for n in 0..deferreds {
        let first: Deferred<u64> = Deferred::new();
        let mut last = first.clone();
        for _ in 0..CALLBACKS {
            last = last.add_callback(|value: u64| Ok::<u64, Failure>(value + 1));
        }
        first.callback(black_box(n as u64)).unwrap_or(());
        black_box(&last);
    }
    started.elapsed()
}

/// (b): ten callbacks that each return an already-fired Deferred.
fn chained_callbacks(deferreds: usize) -> Duration {
    let started = Instant::now();
    for n in 0..deferreds {
        let first: Deferred<u64> = Deferred::new();
        let mut last = first.clone();
        for _ in 0..CALLBACKS {
            last = last.add_callback(|value: u64| succeed(value + 1));
        }
        first.callback(black_box(n as u64)).unwrap_or(());
        black_box(&last);
    }
    started.elapsed()
}

/// The best of `rounds` runs, in nanoseconds per callback.
fn best(rounds: u32, deferreds: usize, workload: fn(usize) -> Duration) -> f64 {
    let fastest = (0..rounds.max(1))
        .map(|_| workload(deferreds))
        .min()
        .unwrap_or_default();
    fastest.as_nanos() as f64 / (deferreds * CALLBACKS) as f64
}

fn main() {
    let options = Options::parse();
    let a = best(options.rounds, 200_000, plain_callbacks);
    let b = best(options.rounds, 20_000, chained_callbacks);
    println!(
        "(a) 200000 Deferreds x 10 callbacks:                 {a:.1} ns per callback ({:.0}x faster than Twisted's 520 ns)",
        520.0 / a
    );
    println!(
        "(b) 20000 Deferreds x 10 callbacks returning a fired Deferred: {b:.1} ns per callback ({:.0}x faster than Twisted's 880 ns)",
        880.0 / b
    );
}
