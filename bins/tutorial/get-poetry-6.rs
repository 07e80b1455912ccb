//! Get Poetry Now!, Twisted version 6.0: tutorial Part 13, "Deferred All The Way Down"
//! (`twisted-client-6/get-poetry.py`).
//!
//! Client 5.1 cummingsified its poems itself, in a callback that returned at once. Now the
//! transformation is a network service (the transform server of Part 12), so asking for it is
//! asynchronous too: `TransformProxy::xform` sends the request and returns a Deferred of the
//! transformed poem. The callback `try_to_cummingsify` returns that Deferred, and the outer chain
//! (download, transform, collect, count) pauses until it fires, then goes on with its result, or
//! with its failure. So each poem's chain waits on two network conversations in turn, while the
//! reactor serves all the others.
//!
//! The transform request has its own protocol (a `NetstringReceiver` that sends one request and
//! waits for one reply; in `support/poem_and_transform.rs`, which clients 7.0 and 8.0 share) and
//! its own factory, which makes the Deferred and fires it: "you make it, you fire it". If the
//! transform server is down or hangs up without a reply, the errback added in `try_to_cummingsify`
//! says `Cummingsify failed!` and gives back the original poem, which goes on down the callback
//! line. When every poem has arrived or failed, the reactor stops and the poems are
//! printed in the order they were completed.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                          # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/fascination.txt          # terminal 2
//! cargo run --bin fastpoetry -- --port 10003 poetry/science.txt              # terminal 3
//! cargo run --bin get-poetry-6 -- 10001 10002 10003                          # terminal 4
//! ```
//!
//! Stop the transform server and run the client again: the poems come back as they were.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::client::{exit_status_after, print_poems};
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, Failure};
use common::errln;
use common::reactor::Reactor;

/// Download poems and have them cummingsified by a transform server, with Deferreds that wait on
/// Deferreds (tutorial Part 13, client 6.0).
///
/// The first address is the transform server's, the others are poetry servers; each is
/// [host:]port, a bare port meaning 127.0.0.1. Every poem is sent to the transform server, and kept
/// as it was if that fails ("Cummingsify failed!" on stderr). Once all are done, the poems are
/// printed in the order they were completed, each followed by an empty line; failed downloads are
/// reported on stderr, as they happen and again at the end.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-6",
    version,
    after_help = "Example, with a transform server on port 10001 and poetry servers on ports 10002 \
                  and 10003:\n  \
                  get-poetry-6 10001 10002 10003\n\
                  The poems of 10002 and 10003 are transformed by the server on 10001."
)]
struct Options {
    #[command(flatten)]
    client: TransformClientArgs,
}

// Downloading a poem (`get_poetry`, a Deferred as since client 4.0) and asking the transform server
// (`TransformProxy::xform`, a Deferred of the netstring reply), with the command line and the start
// of `main`: shared with clients 7.0 and 8.0.
#[path = "support/poem_and_transform.rs"]
mod poem_and_transform;

use poem_and_transform::{Start, TransformClientArgs, TransformProxy, get_poetry};

// ---- The program: one chain of callbacks per poem ----

/// A callback that returns a Deferred: the poem's chain waits for the transform server's answer.
/// If the transform fails, its errback recovers with the poem as it was (and says so above the
/// live lines of `progress`).
fn try_to_cummingsify(
    proxy: &TransformProxy,
    progress: Rc<TaskProgress>,
    poem: String,
) -> Deferred<String> {
    proxy
        .xform("cummingsify", &poem)
        .add_errback(move |_failure| {
            progress.above(|| errln!("Cummingsify failed!"));
            Ok::<String, Failure>(poem)
        })
}

/// What the chains collect, and when to stop.
struct Results {
    reactor: Reactor,
    downloads: usize,
    /// The poems, in the order their chains completed.
    poems: RefCell<Vec<String>>,
    errors: RefCell<Vec<Failure>>,
    /// The `--progress` lines, drawn while the downloads run: what the chains print goes above
    /// them.
    progress: Rc<TaskProgress>,
}

impl Results {
    fn got_poem(&self, poem: String) {
        self.poems.borrow_mut().push(poem);
    }

    fn poem_failed(&self, failure: Failure) {
        self.progress.above(|| errln!("The poem download failed."));
        self.errors.borrow_mut().push(failure);
    }

    fn poem_done(&self) {
        if self.poems.borrow().len() + self.errors.borrow().len() == self.downloads {
            let _ = self.reactor.stop();
        }
    }
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
        poems: RefCell::new(Vec::new()),
        errors: RefCell::new(Vec::new()),
        progress: Rc::clone(&progress),
    });
    for (index, server) in servers.iter().enumerate() {
        let (proxy, for_transform) = (Rc::clone(&proxy), Rc::clone(&progress));
        let (on_poem, on_failure, on_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        let deferred = get_poetry(
            &reactor,
            server,
            timeout,
            max_poem_size,
            &progress,
            index + 1,
        );
        deferred
            .add_callback(move |poem| try_to_cummingsify(&proxy, for_transform, poem))
            .add_callbacks(
                move |poem| {
                    on_poem.got_poem(poem);
                    Ok::<(), Failure>(())
                },
                move |failure| {
                    on_failure.poem_failed(failure);
                    Ok::<(), Failure>(())
                },
            )
            .add_both(move |_| {
                on_done.poem_done();
                Ok::<(), Failure>(())
            });
    }
    let _ = reactor.run();

    print_poems(results.poems.borrow().iter().map(String::as_bytes));
    let errors = results.errors.borrow();
    for error in errors.iter() {
        // The original prints these on stdout, among the poems; they are errors, so stderr.
        errln!("{error}");
    }
    exit_status_after(&reactor, !errors.is_empty())
}
