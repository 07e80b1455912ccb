//! Get Poetry Now!, Twisted version 5.1: tutorial Part 10, "Poetry Transformed"
//! (`twisted-client-5/get-poetry-1.py`).
//!
//! Client 5.0 handled the transform's bug inside its callback, with a `match` (Python's
//! `try`/`except`). This version lets the Deferred catch every error of the transform, and sorts
//! them out in an errback instead. For that errback to carry on with the original poem, the error
//! must bring the poem with it: the transform's bug is now a `CannotCummingsify` error that holds
//! the original poem, and `cummingsify` itself is the callback. The chain is:
//!
//! * `cummingsify` (callback): the lower-cased poem, or a failure, `GibberishError` or
//!   `CannotCummingsify`;
//! * `cummingsify_failed` (errback): checks the failure's type. A `CannotCummingsify` is handled:
//!   it prints "Cummingsify failed!" and returns the poem inside it, back onto the callback line.
//!   Anything else (gibberish, or a download that failed and has skipped `cummingsify`) is passed on
//!   unchanged, still a failure;
//! * `got_poem` and `poem_failed` (a pair), and `poem_done` (`add_both`), as in client 5.0, from
//!   the same files in `support/`.
//!
//! The outcomes, and what is printed, are those of client 5.0: the lower-cased poem, or
//! "Cummingsify failed!" and the original poem, or "The poem download failed." on stderr (exit
//! status 1). With `--seed N`, a run's draws can be repeated.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-5-1 -- 10001                                # run it again and again
//! ```

use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::client::{exit_status_after, explain_if_no_servers};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::progress::TaskProgress;
use common::defer::Failure;
use common::outln;

/// Download poems and cummingsify them, sorting the transform's failures out in an errback
/// (tutorial Part 10, client 5.1).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each poem is printed as soon as it is
/// ready, followed by an empty line: lower-cased, or as it came after "Cummingsify failed!". A poem
/// that could not be downloaded, or that the transform found to be gibberish, gives "The poem
/// download failed." on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-5-1",
    version,
    after_help = "Example, with a poetry server on port 10001 (run it a few times):\n  \
                  get-poetry-5-1 10001\n  \
                  get-poetry-5-1 --seed 7 10001    (the same outcome every time)"
)]
struct Options {
    #[command(flatten)]
    download: DownloadArgs,

    #[command(flatten)]
    cummingsify: CummingsifyArgs,
}

// The download (`get_poetry`, a Deferred as in client 4.0) and the `Tally` that ends each chain:
// shared with clients 4.0 and 5.0, unchanged.
#[path = "support/deferred_download.rs"]
mod deferred_download;

// The transform's dice and gibberish error, and the callbacks that print each outcome: shared with
// client 5.0, unchanged.
#[path = "support/cummingsify_outcomes.rs"]
mod cummingsify_outcomes;

use cummingsify_outcomes::{CummingsifyArgs, Dice, GibberishError, Results};
use deferred_download::{DownloadArgs, get_poetry, task_progress};

/// The transform itself went wrong (client 5.0's `ValueError`), with the original poem, so that
/// whoever handles the error can go on with it.
#[derive(Debug)]
struct CannotCummingsify(Vec<u8>);

impl fmt::Display for CannotCummingsify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot cummingsify a poem of {} bytes", self.0.len())
    }
}

impl Error for CannotCummingsify {}

/// The Cummingsifier, made unreliable on purpose: one of its three outcomes, drawn at random. It is
/// a callback as it stands: either failure goes down the errback line.
fn cummingsify(dice: &Dice, poem: Vec<u8>) -> Result<Vec<u8>, Failure> {
    match dice.roll(3) {
        0 => Ok(String::from_utf8_lossy(&poem).to_lowercase().into_bytes()),
        1 => Err(Failure::new(GibberishError)),
        _ => Err(Failure::new(CannotCummingsify(poem))),
    }
}

/// The errback after `cummingsify`: recovers from `CannotCummingsify` with the poem it carries, and
/// passes any other failure on (Twisted's `Failure.check`, then returning the failure). What it
/// prints goes above the live lines of `progress`.
fn cummingsify_failed(progress: &TaskProgress, failure: Failure) -> Result<Vec<u8>, Failure> {
    match failure.downcast_ref::<CannotCummingsify>() {
        Some(CannotCummingsify(original)) => {
            progress.above(|| outln!("Cummingsify failed!"));
            Ok(original.clone())
        }
        None => Err(failure),
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let servers = &options.download.servers;
    if explain_if_no_servers::<Options>(servers) {
        return ExitCode::SUCCESS;
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let progress = task_progress(&options.cummingsify.progress, servers);
    let dice = Rc::new(Dice::from_seed(options.cummingsify.seed));
    let results = Rc::new(Results::new(
        &reactor,
        servers.len(),
        options.cummingsify.save_dir,
        &progress,
    ));
    for (index, server) in servers.iter().enumerate() {
        let deferred = get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.download.timeout.timeout,
            options.download.max_poem_size,
            &progress,
            index + 1,
        );
        let (dice, for_recovery) = (Rc::clone(&dice), Rc::clone(&progress));
        let (for_poem, for_failure, for_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        deferred
            .add_callback(move |poem| cummingsify(&dice, poem))
            .add_errback(move |failure| cummingsify_failed(&for_recovery, failure))
            .add_callbacks(
                move |poem| for_poem.got_poem(index + 1, poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.tally.poem_done(outcome));
    }
    let _ = reactor.run();

    exit_status_after(&reactor, results.tally.failed())
}
