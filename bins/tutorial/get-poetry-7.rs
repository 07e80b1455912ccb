//! Get Poetry Now!, Twisted version 7.0: tutorial Part 17, "Just Another Way to Spell 'Callback'"
//! (`twisted-client-7/get-poetry.py`).
//!
//! The same client as 6.0 (download a poem, have the transform server cummingsify it), but the
//! steps of one poem are written as one `async` block, top to bottom, as a synchronous function
//! would be: download the poem, `.await` it; ask for the transform, `.await` it; a failure at an
//! `.await` is handled by an ordinary `match`, where client 6.0 needed a callback, an errback and a
//! Deferred returned from a callback. Python spells this with a generator and `inlineCallbacks`;
//! Rust has `async`/`.await`, and `Deferred::from_future` turns the block into a Deferred.
//!
//! Nothing is blocking for all that: at each `.await` the block gives control back to the reactor,
//! which goes on with the other poems, and resumes the block when the Deferred it awaits fires. The
//! downloads, protocols and factories are those of client 6.0, unchanged: `.await` works on the
//! Deferreds they already return. Each poem is printed as soon as its block has finished; a counter
//! of finished blocks stops the reactor.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                          # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/fascination.txt          # terminal 2
//! cargo run --bin fastpoetry -- --port 10003 poetry/science.txt              # terminal 3
//! cargo run --bin get-poetry-7 -- 10001 10002 10003                          # terminal 4
//! ```
//!
//! Try again with one or more of the servers stopped.

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::exit_status_after;
use common::cli::poem::MaxPoemSize;
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, Failure};
use common::reactor::Reactor;
use common::{errln, outln};

/// Download poems and have them cummingsified by a transform server, each poem's steps written as
/// one async block (tutorial Part 17, client 7.0).
///
/// The first address is the transform server's, the others are poetry servers; each is
/// [host:]port, a bare port meaning 127.0.0.1. Every poem is sent to the transform server, and kept
/// as it was if that fails ("Cummingsify failed! <why>" on stderr). Each poem is printed as soon as
/// it is ready, followed by an empty line; a failed download is reported on stderr ("The poem
/// download failed: <why>").
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-7",
    version,
    after_help = "Example, with a transform server on port 10001 and poetry servers on ports 10002 \
                  and 10003:\n  \
                  get-poetry-7 10001 10002 10003\n\
                  The poems of 10002 and 10003 are transformed by the server on 10001."
)]
struct Options {
    #[command(flatten)]
    client: TransformClientArgs,
}

// Downloading a poem (`get_poetry`, a Deferred as since client 4.0) and asking the transform server
// (`TransformProxy::xform`, a Deferred of the netstring reply), with the command line and the start
// of `main`: shared with clients 6.0 and 8.0, unchanged.
#[path = "support/poem_and_transform.rs"]
mod poem_and_transform;

use poem_and_transform::{Start, TransformClientArgs, TransformProxy, get_poetry};

// ---- The program: one async block per poem ----

/// Downloads a poem and has it cummingsified, as one async block: the Deferred it returns fires
/// with the poem (transformed, or as it was if the transform failed), or fails with the download's
/// failure. The download is shown on line `line` of `progress`, when it is drawn, and what the block
/// prints goes above those lines.
fn get_transformed_poem(
    reactor: Reactor,
    proxy: Rc<TransformProxy>,
    server: ServerAddress,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    progress: Rc<TaskProgress>,
    line: usize,
) -> Deferred<String> {
    Deferred::from_future(async move {
        // Each `.await` hands control back to the reactor until the Deferred fires.
        let poem =
            match get_poetry(&reactor, &server, timeout, max_poem_size, &progress, line).await {
                Ok(poem) => poem,
                Err(failure) => {
                    progress.above(|| errln!("The poem download failed: {}", failure.error()));
                    return Err(failure);
                }
            };
        match proxy.xform("cummingsify", &poem).await {
            Ok(transformed) => Ok(transformed),
            Err(failure) => {
                progress.above(|| errln!("Cummingsify failed! {}", failure.error()));
                Ok(poem)
            }
        }
    })
}

/// Counts the finished blocks, and stops the reactor after the last.
struct Results {
    reactor: Reactor,
    downloads: usize,
    finished: Cell<usize>,
    failed: Cell<bool>,
}

impl Results {
    /// Takes each block's outcome, success or failure, so that no failure is left unhandled.
    fn poem_done(&self, outcome: Result<(), Failure>) {
        if outcome.is_err() {
            self.failed.set(true);
        }
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.downloads {
            let _ = self.reactor.stop();
        }
    }
}

/// The callback after each block: prints the poem, above the live lines of `progress`.
fn got_poem(progress: &TaskProgress, poem: String) -> Result<(), Failure> {
    // The poem ends with its own newline; this line is the empty one after it.
    progress.above(|| outln!("{poem}"));
    Ok(())
}

fn main() -> ExitCode {
    let Start {
        servers,
        timeout,
        max_poem_size,
        reactor,
        proxy,
        progress,
    } = match Options::parse().client.start::<Options>() {
        Ok(start) => start,
        Err(status) => return status,
    };
    let results = Rc::new(Results {
        reactor: reactor.clone(),
        downloads: servers.len(),
        finished: Cell::new(0),
        failed: Cell::new(false),
    });
    for (index, server) in servers.into_iter().enumerate() {
        let (results, for_poem) = (Rc::clone(&results), Rc::clone(&progress));
        get_transformed_poem(
            reactor.clone(),
            Rc::clone(&proxy),
            server,
            timeout,
            max_poem_size,
            Rc::clone(&progress),
            index + 1,
        )
        .add_callback(move |poem| got_poem(&for_poem, poem))
        .add_both(move |outcome| {
            results.poem_done(outcome);
            Ok::<(), Failure>(())
        });
    }
    let _ = reactor.run();

    exit_status_after(&reactor, results.failed.get())
}
