//! At most N at once: a `DeferredSemaphore`, a step beyond tutorial Part 18, "Deferreds En Masse".
//!
//! Part 18 starts many Deferreds and waits for them all with a `DeferredList`. A client fetching
//! a hundred poems that way opens a hundred connections at the same moment. Twisted's answer is
//! `DeferredSemaphore.run`: each job waits for one of N places, runs, and gives its place back when
//! the Deferred it returned fires, so that the next waiting job starts. Here the jobs are timed
//! calls (`defer_later`) standing for downloads; `gather_results` waits for all of them, as in
//! Part 18. The last line reports the most jobs that ever ran at the same time.
//!
//! ```text
//! cargo run -p common --example deferred-semaphore
//! cargo run -p common --example deferred-semaphore -- --jobs 8 --limit 3 --time-scale 0.2
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::{parse_duration, parse_time_scale, scaled};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, DeferredSemaphore, Failure, defer_later, gather_results};
use common::reactor::Reactor;

/// Run jobs on the reactor, never more than --limit of them at the same time.
#[derive(Debug, Parser)]
#[command(name = "deferred-semaphore")]
struct Options {
    /// How many jobs to run.
    #[arg(long, default_value_t = 5)]
    jobs: usize,

    /// How many may run at the same time.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,

    /// Run the demo faster or slower: each job's one second is multiplied by this factor (0.2
    /// makes every job take 200 ms).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,

    /// How long each job takes (an older way of saying --time-scale).
    #[arg(long, hide = true, conflicts_with = "time_scale", value_parser = parse_duration)]
    delay: Option<Duration>,
}

/// How many jobs run now, and the most that ever ran at once.
#[derive(Default)]
struct Running {
    now: Cell<usize>,
    peak: Cell<usize>,
}

/// One job: says it started, and finishes `delay` later with its number.
fn job(number: usize, reactor: &Reactor, delay: Duration, running: Rc<Running>) -> Deferred<usize> {
    running.now.set(running.now.get() + 1);
    running.peak.set(running.peak.get().max(running.now.get()));
    println!("Job {number} started ({} running).", running.now.get());
    defer_later(reactor, delay, move || {
        running.now.set(running.now.get() - 1);
        println!("Job {number} finished.");
        Ok::<usize, Failure>(number)
    })
}

fn main() -> ExitCode {
    match run(Options::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}

/// Starts the jobs once the reactor runs; the reactor stops when the last one is done.
fn run(options: Options) -> Result<(), String> {
    let reactor = new_reactor()?;
    let semaphore = DeferredSemaphore::new(options.limit as usize);
    let starter = reactor.clone();
    let delay = options
        .delay
        .unwrap_or_else(|| scaled(1.0, options.time_scale));
    reactor.call_when_running(move || {
        let running = Rc::new(Running::default());
        let jobs = (1..=options.jobs)
            .map(|number| {
                let (reactor, running) = (starter.clone(), Rc::clone(&running));
                semaphore.run(move || job(number, &reactor, delay, running))
            })
            .collect();
        gather_results(jobs, false).add_callback(move |done: Vec<usize>| {
            println!(
                "All {} jobs done, at most {} at a time.",
                done.len(),
                running.peak.get()
            );
            starter.stop().map_err(Failure::new)
        });
    });
    reactor.run().map_err(|error| error.to_string())
}
