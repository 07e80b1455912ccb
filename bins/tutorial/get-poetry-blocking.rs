//! Get Poetry Now!, blocking edition: tutorial Part 2, "Slow Poetry and the Apocalypse".
//!
//! The synchronous model: the client downloads the poems one after another, and every read blocks
//! until the server sends something. However slow each server is, the total time is the *sum* of the
//! downloads. Compare it with `get-poetry-async`, which fetches the same poems in about the time of the
//! slowest one. `--timeline FILE.svg` draws the run as the tutorial's figure of the synchronous model:
//! one lane per poem, each starting where the one before ended.
//!
//! Start the three slow servers of Part 2 (see `slowpoetry`), then:
//!
//! ```text
//! cargo run --bin get-poetry-blocking -- 10000 10001 10002
//! ```

use std::io;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{
    count_poems_until_ctrl_c, exit_status, explain_if_no_servers, report_poems,
};
use common::cli::output::{plain_error, report_error};
use common::cli::poem::{MaxPoemSize, PoemBuffer, PoemOutput};
use common::cli::time_options::{ConnectTimeoutOption, TimeFormatOption};
use common::cli::timeline::{Timeline, TimelineOption};
use common::{errln, outln};

/// Download poems one at a time, blocking on every read (tutorial Part 2).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. The poems are fetched in order, each
/// only once the previous one has arrived, so the total time is the sum of the downloads.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-blocking",
    version,
    after_help = "Example, with the three slow servers of Part 2 running:\n  \
                  get-poetry-blocking 10000 10001 10002\n  \
                  get-poetry-blocking --timeline blocking.svg 10000 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    connect_timeout: ConnectTimeoutOption,

    #[command(flatten)]
    time_format: TimeFormatOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,

    #[command(flatten)]
    output: PoemOutput,

    #[command(flatten)]
    timeline: TimelineOption,
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.servers) {
        return ExitCode::SUCCESS;
    }

    let time_format = options.time_format.time_format;
    let show = |elapsed| time_format.show(elapsed);
    let finished = count_poems_until_ctrl_c(time_format);
    let mut poems = Vec::new();
    let mut total = Duration::ZERO;
    let mut failed = false;
    let mut timeline = Timeline::new(&options.timeline, Instant::now());
    for (index, server) in options.servers.iter().enumerate() {
        let task = index + 1;
        outln!("Task {task}: get poetry from: {server}");
        let started = Instant::now();
        timeline.start(task, format_args!("Task {task}: {server}"));
        let result = get_poetry(
            server,
            options.connect_timeout.connect_timeout,
            options.max_poem_size,
            &mut timeline,
            task,
        );
        let elapsed = started.elapsed();
        timeline.end(task, result.is_err());
        total += elapsed;
        match result {
            Ok(poem) => {
                outln!(
                    "Task {task}: got {} bytes of poetry from {server} in {}",
                    poem.len(),
                    show(elapsed)
                );
                poems.push((task, poem));
                finished.fetch_add(1, Ordering::SeqCst);
            }
            Err(Failed::Connect(error)) => {
                errln!(
                    "Task {task}: failed to connect to {server}: {}",
                    plain_error(&error)
                );
                failed = true;
            }
            Err(Failed::Read(error)) => {
                errln!(
                    "Task {task}: failed to get poetry from {server}: {}",
                    plain_error(&error)
                );
                failed = true;
            }
        }
    }
    let poems: Vec<(usize, &[u8])> = poems
        .iter()
        .map(|(task, poem)| (*task, &poem[..]))
        .collect();
    if !report_poems(&poems, total, time_format, &options.output, false) {
        return ExitCode::FAILURE;
    }
    if let Err(error) = timeline.save("get-poetry-blocking, the synchronous model", total) {
        report_error(error);
        return ExitCode::FAILURE;
    }
    exit_status(failed)
}

/// Why a download failed: as the other clients say it, the connection could not be made, or it
/// was and the poem did not arrive whole.
enum Failed {
    Connect(io::Error),
    Read(io::Error),
}

/// Downloads one poem: connect, then read until the server closes the connection, or until the
/// poem is larger than `max_poem_size` (the socket is then closed at once). Each read that returns
/// data is a piece of task `task` on the `timeline`.
///
/// Every call here blocks. While `read` waits for the next few bytes, the program can do nothing
/// else at all, which is the whole point of this stage.
fn get_poetry(
    server: &ServerAddress,
    connect_timeout: Duration,
    max_poem_size: MaxPoemSize,
    timeline: &mut Timeline,
    task: usize,
) -> Result<Vec<u8>, Failed> {
    let socket = server.connect(connect_timeout).map_err(Failed::Connect)?;
    let mut poem = PoemBuffer::new(max_poem_size);
    poem.read_to_end(&mut timeline.watch(task, socket))
        .map_err(|error| Failed::Read(error.into()))?;
    Ok(poem.take())
}
