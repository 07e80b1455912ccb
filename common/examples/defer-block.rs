//! A blocking callback blocks everything: tutorial Part 8, "Deferred Poetry"
//! (`defer-block.py`).
//!
//! A Deferred manages callbacks; it does not make them asynchronous. Here the second callback of the
//! chain writes a short poem a fragment at a time, sleeping before each fragment with
//! `std::thread::sleep`. The sleeps block the code that fired the Deferred (so `Firing finished.`
//! waits for the whole poem), and since that code is a reactor callback, they block the reactor
//! too: for about eleven seconds, the loop can do nothing else at all. Watch the order of the lines.
//!
//! `--time-scale FACTOR` multiplies every sleep by FACTOR (`0.01` recites the poem a hundred times
//! faster); what is printed does not change.
//!
//! ```text
//! cargo run -p common --example defer-block
//! cargo run -p common --example defer-block -- --time-scale 0.1
//! ```

use std::io::{self, Write};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_time_scale;
use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};
use common::reactor::Reactor;

/// The poem, fragment by fragment, each with the seconds to sleep before writing it.
const POEM: [(&str, f64); 16] = [
    ("\n", 0.0),
    ("I", 0.6),
    (" block", 0.4),
    ("\n  and", 1.0),
    (" the", 0.4),
    (" deferred", 0.6),
    ("\n  blocks", 1.5),
    (" with", 0.2),
    (" me", 0.2),
    ("\nas does", 1.0),
    ("\n the reactor", 0.6),
    ("\nkeep that", 1.0),
    ("\n factor", 0.6),
    ("\nin", 1.0),
    (" mind", 0.4),
    ("\n\n", 2.0),
];

/// Fire a Deferred whose callback blocks, and see the reactor wait for it (tutorial Part 8).
#[derive(Debug, Parser)]
#[command(name = "defer-block")]
struct Options {
    /// Multiply every pause in the poem by FACTOR (0.01 makes it a hundred times faster).
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        allow_negative_numbers = true,
        value_parser = parse_time_scale
    )]
    time_scale: f64,
}

fn start_chain(_result: bool) -> Result<(), Failure> {
    println!("The start of the callback chain.");
    Ok(())
}

/// The blocking callback: it does not return until the whole poem is written.
fn blocking_poem(time_scale: f64) -> Result<(), Failure> {
    let mut stdout = io::stdout();
    for (fragment, delay) in POEM {
        // The sleep holds the only thread there is: the reactor's. Nothing else runs meanwhile.
        // (`parse_time_scale` made sure the longest pause fits, so every scaled pause does.)
        thread::sleep(Duration::from_secs_f64(delay * time_scale));
        stdout.write_all(fragment.as_bytes())?;
        stdout.flush()?;
    }
    Ok(())
}

/// The last stage stops the reactor. It is added with `add_both`, so that it runs, and the program
/// ends, even if the poem could not be written; that failure is then passed on, to be reported.
fn end_chain(outcome: Result<(), Failure>, reactor: &Reactor) -> Result<(), Failure> {
    println!("The end of the callback chain.");
    reactor.stop()?;
    outcome
}

/// Called by the reactor once it runs: fires the Deferred, which runs the whole chain right here.
fn fire(d: &Deferred<bool>) -> Result<(), AlreadyCalledError> {
    println!("Firing deferred.");
    d.callback(true)?;
    println!("Firing finished.");
    Ok(())
}

fn run(options: &Options) -> anyhow::Result<()> {
    let reactor = Reactor::new()?;
    let d = Deferred::new();
    let (time_scale, stopper) = (options.time_scale, reactor.clone());
    d.add_callback(start_chain)
        .add_callback(move |()| blocking_poem(time_scale))
        .add_both(move |outcome| end_chain(outcome, &stopper));
    reactor.call_when_running(move || fire(&d));
    println!("Starting reactor.");
    reactor.run()?;
    println!("Done.");
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
