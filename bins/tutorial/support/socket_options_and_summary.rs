//! Clients 1.0 and 1.0-broken (Part 4) share this part (each program includes this file with
//! `#[path]`): their command line, and the summary they print once the reactor has stopped.
//!
//! Everything between the two is left in each program, though the broken client starts as a copy
//! of client 1.0: the sockets we make ourselves, `do_read`, `connection_lost` and the loop of
//! `add_reader` calls are the lesson of Part 4, and the broken client is there to be read side by
//! side with client 1.0, differing only in how `do_read` reads.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
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

/// How each download ended, by task: the poem if it arrived whole. Each socket adds its own entry
/// when the reactor tells it that its connection is over.
pub(crate) type Results = Rc<RefCell<Vec<(usize, Option<Vec<u8>>)>>>;

/// The end of `main`: the poems that arrived whole, in task order (`Task N: X bytes of poetry`,
/// then `Got N poems in T`, then saved and printed as `args` ask), and the exit status, 1 when
/// `failed` already or when any download did not end with its whole poem, 130 when Ctrl-C stopped
/// the `reactor`.
pub(crate) fn summarize(
    reactor: &Reactor,
    args: &SocketClientArgs,
    results: Results,
    elapsed: Duration,
    mut failed: bool,
) -> ExitCode {
    let mut results = results.take();
    // The sockets finished in whatever order their servers closed them.
    results.sort_by_key(|(task, _)| *task);
    let mut poems = Vec::new();
    for (task, outcome) in &results {
        match outcome {
            Some(poem) => poems.push((*task, poem.as_slice())),
            None => failed = true,
        }
    }
    if !report_poems(
        &poems,
        elapsed,
        args.time_format.time_format,
        &args.output,
        true,
    ) {
        return ExitCode::FAILURE;
    }
    exit_status_after(reactor, failed)
}
