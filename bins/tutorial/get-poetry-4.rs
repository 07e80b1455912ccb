//! Get Poetry Now!, Twisted version 4.0: tutorial Part 8, "Deferred Poetry"
//! (`twisted-client-4/get-poetry.py`).
//!
//! Client 3.1 made its caller hand `get_poetry` a callback and an errback. Here `get_poetry(host,
//! port)` takes only the address, like a synchronous function would, and returns a `Deferred`: a
//! poem that has not arrived yet. Whoever calls it attaches what should happen next, and the
//! compiler checks each stage's types. `main` attaches `got_poem` and `poem_failed` as one pair, so
//! exactly one of them runs, and then `Tally::poem_done` with `add_both`, which runs whatever
//! happened, like a `finally` block; it is the one that counts the finished downloads and stops the
//! reactor.
//!
//! `get_poetry`, its protocol and its factory are in `support/deferred_download.rs`, with the tally,
//! since clients 5.0 and 5.1 use them unchanged. The factory keeps the Deferred only until it fires
//! it, then lets go of it (the pattern of Part 8, here an `Option` taken out of its cell), so that
//! nothing can fire it twice. A Deferred changes nothing in how the program runs: it is still the
//! reactor that calls the protocol, which calls the factory, which fires the Deferred, which calls
//! our callbacks, one after the other (`get-poetry-4-stack` shows that stack).
//!
//! `--timeout` is Part 8's first exercise: a timed call, started with the connection attempt, fails
//! the Deferred with an error of our own and closes the connection; it is cancelled when the
//! Deferred fires first.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/science.txt         # terminal 2
//! cargo run --bin get-poetry-4 -- 10001 10002 10004                     # nothing on 10004
//! ```

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::client::{exit_status_after, explain_if_no_servers, print_poems};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::SaveDirOption;
use common::cli::progress::ProgressOption;
use common::defer::Failure;
use common::errln;
use common::protocol::ConnectError;

/// Download poems with a get_poetry function that returns a Deferred (tutorial Part 8, client
/// 4.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each failure is reported on stderr as
/// it happens ("Poem failed: ..."); once every address has given a poem or a failure, the poems are
/// printed in the order they ended, each followed by an empty line.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-4",
    version,
    after_help = "Example, with poetry servers on ports 10001 and 10002 and nothing on 10004:\n  \
                  get-poetry-4 10001 10002 10004\n  \
                  get-poetry-4 --timeout 2 10001 10002"
)]
struct Options {
    #[command(flatten)]
    download: DownloadArgs,

    #[command(flatten)]
    save_dir: SaveDirOption,

    #[command(flatten)]
    progress: ProgressOption,
}

// The download (`get_poetry`, its protocol and factory, the timeout) and the `Tally` that ends each
// chain: shared with clients 5.0 and 5.1, unchanged.
#[path = "support/deferred_download.rs"]
mod deferred_download;

use deferred_download::{DownloadArgs, Tally, get_poetry, task_progress};

/// What `main` learns from its callbacks and errbacks.
struct Results {
    save_dir: SaveDirOption,
    /// The poems, in the order they arrived.
    poems: RefCell<Vec<Vec<u8>>>,
    /// The addresses done, and whether anything failed.
    tally: Tally,
}

impl Results {
    /// The callback: the poem of task `task` (its place on the command line) arrived.
    fn got_poem(&self, task: usize, poem: Vec<u8>) -> Result<(), Failure> {
        let mut poems = self.poems.borrow_mut();
        // Saved as it arrives, so that what did arrive is on disk whatever happens next.
        if let Err(error) = self.save_dir.save(task, &poem) {
            self.tally
                .fail(|| report_error(format_args!("cannot save a poem: {error}")));
        }
        poems.push(poem);
        Ok(())
    }

    /// The errback: the poem could not be had. Returning `Ok` handles the failure, so the chain
    /// goes on down the callback line, to `Tally::poem_done`.
    fn poem_failed(&self, failure: Failure) -> Result<(), Failure> {
        self.tally
            .fail(|| errln!("Poem failed: {}", describe(&failure)));
        Ok(())
    }
}

/// A failure as `<kind>: <message>`, the kind named as Twisted names its exceptions.
fn describe(failure: &Failure) -> String {
    match failure.downcast_ref::<ConnectError>() {
        Some(error) => format!("{}: {error}", error.kind_name()),
        None => format!("{}: {}", failure.short_type_name(), failure.error()),
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

    let progress = task_progress(&options.progress, servers);
    let results = Rc::new(Results {
        save_dir: options.save_dir,
        poems: RefCell::new(Vec::new()),
        tally: Tally::new(&reactor, servers.len(), &progress),
    });
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
        let (for_poem, for_failure, for_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        deferred
            .add_callbacks(
                move |poem| for_poem.got_poem(index + 1, poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.tally.poem_done(outcome));
    }
    let _ = reactor.run();

    print_poems(results.poems.borrow().iter().map(Vec::as_slice));
    exit_status_after(&reactor, results.tally.failed())
}
