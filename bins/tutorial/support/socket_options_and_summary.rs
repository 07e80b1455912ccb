//! Clients 1.0 and 1.0-broken (Part 4) share this part (each program includes this file with
//! `#[path]`): their command line, and the summary they print once the reactor has stopped.
//!
//! Everything between the two is left in each program, though the broken client starts as a copy
//! of client 1.0: the sockets we make ourselves, `do_read`, `connection_lost` and the loop of
//! `add_reader` calls are the lesson of Part 4, and the broken client is there to be read side by
//! side with client 1.0, differing only in how `do_read` reads (and in the Ctrl-C fallback that a
//! blocking `do_read` makes necessary).

use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use clap::Args;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status_after, report_poems};
use common::cli::poem::{MaxPoemSize, PoemOutput};
use common::cli::time_options::{ConnectTimeoutOption, TimeFormatOption};
use common::reactor::Reactor;

/// The options of both clients.
#[derive(Debug, Args)]
pub(crate) struct SocketClientArgs {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    pub(crate) servers: Vec<ServerAddress>,

    #[command(flatten)]
    pub(crate) connect_timeout: ConnectTimeoutOption,

    #[command(flatten)]
    time_format: TimeFormatOption,

    #[command(flatten)]
    pub(crate) max_poem_size: MaxPoemSize,

    #[command(flatten)]
    output: PoemOutput,
}

/// How each download ended, by task: the poem if it arrived whole. Each socket records its own
/// entry when the reactor tells it that its connection is over.
///
/// A lock rather than a `RefCell`, though the reactor's thread is the only one to record: the
/// broken client's Ctrl-C fallback reads it from a thread of its own while the reactor is blocked.
#[derive(Clone, Default)]
pub(crate) struct Results(Arc<Mutex<Vec<Outcome>>>);

/// How the download of one task ended: with its poem, or `None`.
type Outcome = (usize, Option<Vec<u8>>);

impl Results {
    /// Records how the download of `task` ended: with its poem, or `None`.
    pub(crate) fn record(&self, task: usize, outcome: Option<Vec<u8>>) {
        self.entries().push((task, outcome));
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Outcome>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The end of `main`: [`report`], and the exit status, 1 when anything failed, 130 when Ctrl-C
/// stopped the `reactor`.
pub(crate) fn summarize(
    reactor: &Reactor,
    args: &SocketClientArgs,
    results: Results,
    elapsed: Duration,
    failed: bool,
) -> ExitCode {
    match report(args, &results, elapsed, failed) {
        Some(failed) => exit_status_after(reactor, failed),
        None => ExitCode::FAILURE,
    }
}

/// The summary: the poems that arrived whole, in task order (`Task N: X bytes of poetry`, then
/// `Got N poems in T`, then saved and printed as `args` ask). Returns whether anything failed:
/// `failed` already, or a download that did not end with its whole poem; `None` when a poem could
/// not be saved (the error is reported).
pub(crate) fn report(
    args: &SocketClientArgs,
    results: &Results,
    elapsed: Duration,
    mut failed: bool,
) -> Option<bool> {
    let mut results = results.entries().clone();
    // The sockets finished in whatever order their servers closed them.
    results.sort_by_key(|(task, _)| *task);
    let mut poems = Vec::new();
    for (task, outcome) in &results {
        match outcome {
            Some(poem) => poems.push((*task, poem.as_slice())),
            None => failed = true,
        }
    }
    report_poems(
        &poems,
        elapsed,
        args.time_format.time_format,
        &args.output,
        true,
    )
    .then_some(failed)
}
