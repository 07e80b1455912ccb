//! Get Poetry Now!, Twisted version 8.0: tutorial Part 18, "Deferreds En Masse"
//! (`twisted-client-8/get-poetry.py`).
//!
//! Client 7.0 again, without its counter. Every client so far has had to know when all its
//! downloads were over, and did it by counting poems and failures itself (forget to count a failure
//! and the client never stops). A `DeferredList` does that counting: it is one Deferred over a
//! list of Deferreds, and fires when every one of them has fired, with all their outcomes in list
//! order. Its callback stops the reactor. With `consume_errors`, a failed download ends at the
//! list instead of being reported as a failure nobody handled.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                          # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/fascination.txt          # terminal 2
//! cargo run --bin fastpoetry -- --port 10003 poetry/science.txt              # terminal 3
//! cargo run --bin get-poetry-8 -- 10001 10002 10003                          # terminal 4
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::exit_status_after;
use common::cli::poem::MaxPoemSize;
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, DeferredList, Failure};
use common::reactor::Reactor;
use common::{errln, outln};

/// Download poems and have them cummingsified by a transform server; a DeferredList says when all
/// are done (tutorial Part 18, client 8.0).
///
/// The first address is the transform server's, the others are poetry servers; each is
/// [host:]port, a bare port meaning 127.0.0.1. Every poem is sent to the transform server, and kept
/// as it was if that fails ("Cummingsify failed!" on stderr). Each poem is printed as soon as it is
/// ready, followed by an empty line; a failed download is reported on stderr ("The poem download
/// failed: <why>").
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-8",
    version,
    after_help = "Example, with a transform server on port 10001 and poetry servers on ports 10002 \
                  and 10003:\n  \
                  get-poetry-8 10001 10002 10003\n\
                  The poems of 10002 and 10003 are transformed by the server on 10001."
)]
struct Options {
    #[command(flatten)]
    client: TransformClientArgs,
}

// Downloading a poem (`get_poetry`, a Deferred as since client 4.0) and asking the transform server
// (`TransformProxy::xform`, a Deferred of the netstring reply), with the command line and the start
// of `main`: shared with clients 6.0 and 7.0, unchanged.
#[path = "support/poem_and_transform.rs"]
mod poem_and_transform;

use poem_and_transform::{Start, TransformClientArgs, TransformProxy, get_poetry};

// ---- The program: one async block per poem, one DeferredList over them all ----

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
            Err(_) => {
                progress.above(|| errln!("Cummingsify failed!"));
                Ok(poem)
            }
        }
    })
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
    let poems: Vec<Deferred<()>> = servers
        .into_iter()
        .enumerate()
        .map(|(index, server)| {
            let for_poem = Rc::clone(&progress);
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
        })
        .collect();
    // No counting: the list fires once every poem has been printed or has failed. Its outcomes,
    // in the order of the command line, say whether any download failed.
    let failed = Rc::new(Cell::new(false));
    let (for_stop, any_failed) = (reactor.clone(), Rc::clone(&failed));
    DeferredList::all(poems, true).add_callback(move |outcomes| {
        any_failed.set(outcomes.iter().any(Result::is_err));
        let _ = for_stop.stop();
        Ok::<(), Failure>(())
    });
    let _ = reactor.run();

    exit_status_after(&reactor, failed.get())
}
