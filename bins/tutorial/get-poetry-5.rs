//! Get Poetry Now!, Twisted version 5.0: tutorial Part 10, "Poetry Transformed"
//! (`twisted-client-5/get-poetry.py`).
//!
//! Client 4.0 plus a transform: each poem goes through the Cummingsifier, which writes it the way
//! e.e. cummings would (in lower case). To stand for a real transform that can fail in more than
//! one way, ours picks at random one of three outcomes: the lower-cased poem, a `GibberishError`
//! (nothing can be done with this poem), or a `ValueError` (a bug of the transform itself).
//!
//! The lesson is how a Deferred routes results and failures down its chain. Each Deferred that
//! `get_poetry` returns gets `try_to_cummingsify` as a callback, then `got_poem` and `poem_failed`
//! as a pair, then `poem_done` with `add_both` (the download and `poem_done` are client 4.0's, in
//! `support/deferred_download.rs`; the pair is in `support/cummingsify_outcomes.rs`, which client
//! 5.1 shares):
//!
//! * the poem arrives and is transformed: `got_poem` prints the lower-cased poem;
//! * the transform finds gibberish: `try_to_cummingsify` passes the error on as a failure, which
//!   skips `got_poem` and goes to `poem_failed`: "The poem download failed.";
//! * the transform has a bug: `try_to_cummingsify` deals with it itself, with an ordinary `match`
//!   (Python's `try`/`except`), prints "Cummingsify failed!" and passes the original poem on, so
//!   the Deferred never sees the error and `got_poem` prints that poem;
//! * the download fails: the Deferred starts on the errback line, the callback
//!   `try_to_cummingsify` is passed by, and `poem_failed` says so.
//!
//! `poem_failed` handles the failure, so the chain goes back to the callback line, and `poem_done`
//! runs in every case. Everything is printed while the reactor runs, as each poem is ready. The
//! exit status is 1 when any "The poem download failed." was printed; a poem printed untransformed
//! after "Cummingsify failed!" counts as received. Unlike the Python 3 original, that untransformed
//! poem is printed as text, not as a byte string.
//!
//! As in the tutorial, run it several times against one server to see all three outcomes, or pick
//! one with `--seed N`: the same seed gives the same outcomes, in the order the poems arrive.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-5 -- 10001                                  # run it again and again
//! cargo run --bin get-poetry-5 -- 10004                                  # no server there
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::client::{exit_status_after, explain_if_no_servers};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::progress::TaskProgress;
use common::defer::Failure;
use common::outln;

/// Download poems and cummingsify them, which may fail in two ways (tutorial Part 10, client 5.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each poem is printed as soon as it is
/// ready, followed by an empty line: lower-cased, or as it came after "Cummingsify failed!". A poem
/// that could not be downloaded, or that the transform found to be gibberish, gives "The poem
/// download failed." on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-5",
    version,
    after_help = "Example, with a poetry server on port 10001 (run it a few times):\n  \
                  get-poetry-5 10001\n  \
                  get-poetry-5 --seed 7 10001    (the same outcome every time)"
)]
struct Options {
    #[command(flatten)]
    download: DownloadArgs,

    #[command(flatten)]
    cummingsify: CummingsifyArgs,
}

// The download (`get_poetry`, a Deferred as in client 4.0) and the `Tally` that ends each chain:
// shared with clients 4.0 and 5.1, unchanged.
#[path = "support/deferred_download.rs"]
mod deferred_download;

// The transform's dice and gibberish error, and the callbacks that print each outcome: shared with
// client 5.1, unchanged.
#[path = "support/cummingsify_outcomes.rs"]
mod cummingsify_outcomes;

use cummingsify_outcomes::{CummingsifyArgs, Dice, GibberishError, Results};
use deferred_download::{DownloadArgs, get_poetry, task_progress};

/// How the Cummingsifier can fail.
enum CummingsifyError {
    /// The poem's fault.
    Gibberish(GibberishError),
    /// The transform's own fault, the tutorial's `ValueError`: a failure nobody planned for.
    Value,
}

/// The Cummingsifier, made unreliable on purpose: one of its three outcomes, drawn at random.
fn cummingsify(dice: &Dice, poem: &[u8]) -> Result<Vec<u8>, CummingsifyError> {
    match dice.roll(3) {
        0 => Ok(String::from_utf8_lossy(poem).to_lowercase().into_bytes()),
        1 => Err(CummingsifyError::Gibberish(GibberishError)),
        _ => Err(CummingsifyError::Value),
    }
}

/// The first callback. Python's `try`/`except` is a `match` here: gibberish goes on as a failure,
/// down the errback line; the other error is handled on the spot, and the original poem goes on
/// down the callback line as if nothing had happened. What it prints goes above the live lines of
/// `progress`.
fn try_to_cummingsify(
    dice: &Dice,
    progress: &TaskProgress,
    poem: Vec<u8>,
) -> Result<Vec<u8>, Failure> {
    match cummingsify(dice, &poem) {
        Ok(transformed) => Ok(transformed),
        Err(CummingsifyError::Gibberish(error)) => Err(Failure::new(error)),
        Err(CummingsifyError::Value) => {
            progress.above(|| outln!("Cummingsify failed!"));
            Ok(poem)
        }
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
        let (dice, for_transform) = (Rc::clone(&dice), Rc::clone(&progress));
        let (for_poem, for_failure, for_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        deferred
            .add_callback(move |poem| try_to_cummingsify(&dice, &for_transform, poem))
            .add_callbacks(
                move |poem| for_poem.got_poem(index + 1, poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.tally.poem_done(outcome));
    }
    let _ = reactor.run();

    exit_status_after(&reactor, results.tally.failed())
}
