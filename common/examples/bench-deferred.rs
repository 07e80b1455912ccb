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

use std::cell::Cell;
use std::hint::black_box;
use std::process::ExitCode;
use std::rc::Rc;
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
fn plain_callbacks(deferreds: usize) -> Round {
    let started = Instant::now();
    let mut final_chain = None;
    for n in 0..deferreds {
        let first: Deferred<u64> = Deferred::new();
        let mut last = first.clone();
        for _ in 0..CALLBACKS {
            last = last.add_callback(|value: u64| Ok::<u64, Failure>(value + 1));
        }
        first.callback(black_box(n as u64)).unwrap_or(());
        if n + 1 == deferreds {
            final_chain = Some(last);
        }
    }
    Round::finish(started.elapsed(), final_chain, deferreds)
}

/// (b): ten callbacks that each return an already-fired Deferred.
fn chained_callbacks(deferreds: usize) -> Round {
    let started = Instant::now();
    let mut final_chain = None;
    for n in 0..deferreds {
        let first: Deferred<u64> = Deferred::new();
        let mut last = first.clone();
        for _ in 0..CALLBACKS {
            last = last.add_callback(|value: u64| succeed(value + 1));
        }
        first.callback(black_box(n as u64)).unwrap_or(());
        if n + 1 == deferreds {
            final_chain = Some(last);
        }
    }
    Round::finish(started.elapsed(), final_chain, deferreds)
}

/// One timed run of a workload, with the check that its chains really ran.
struct Round {
    elapsed: Duration,
    correct: bool,
}

impl Round {
    /// Checks, after the clock stopped, that the last chain of the run produced its first value
    /// plus one per callback.
    fn finish(elapsed: Duration, final_chain: Option<Deferred<u64>>, deferreds: usize) -> Round {
        let seen = Rc::new(Cell::new(None));
        if let Some(chain) = final_chain {
            let seen = Rc::clone(&seen);
            chain.add_callback(move |value: u64| {
                seen.set(Some(value));
                Ok::<(), Failure>(())
            });
        }
        let expected = (deferreds - 1 + CALLBACKS) as u64;
        Round {
            elapsed,
            correct: seen.get() == Some(expected),
        }
    }
}

/// The best of `rounds` runs, in nanoseconds per callback; `None` if a run computed a wrong result.
fn best(rounds: u32, deferreds: usize, workload: fn(usize) -> Round) -> Option<f64> {
    let mut fastest = Duration::MAX;
    for _ in 0..rounds.max(1) {
        let round = workload(deferreds);
        if !round.correct {
            return None;
        }
        fastest = fastest.min(round.elapsed);
    }
    Some(fastest.as_nanos() as f64 / (deferreds * CALLBACKS) as f64)
}

fn main() -> ExitCode {
    let options = Options::parse();
    let only = options.only.as_deref();
    let mut runs = Vec::new();
    if only != Some("b") {
        runs.push((
            "(a) 200000 Deferreds x 10 callbacks:",
            520.0,
            200_000,
            plain_callbacks as fn(usize) -> Round,
        ));
    }
    if only != Some("a") {
        runs.push((
            "(b) 20000 Deferreds x 10 callbacks returning a fired Deferred:",
            880.0,
            20_000,
            chained_callbacks,
        ));
    }
    for (label, twisted, deferreds, workload) in runs {
        let Some(ns) = best(options.rounds, deferreds, workload) else {
            eprintln!(
                "bench-deferred: a chain computed a wrong result; no figure for {}",
                &label[..3]
            );
            return ExitCode::FAILURE;
        };
        println!(
            "{label:<62} {ns:.1} ns per callback ({:.0}x faster than Twisted's {twisted:.0} ns)",
            twisted / ns
        );
    }
    ExitCode::SUCCESS
}
