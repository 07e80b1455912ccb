//! Get Poetry Now!, in Rust's own asynchronous model: tutorial Parts 20 and 21, "Wheels within
//! Wheels: Twisted and Erlang" and "Lazy is as Lazy Doesn't: Twisted and Haskell"
//! (`erlang-client-1/get-poetry`, `haskell-client-1/get-poetry.hs`).
//!
//! Parts 20 and 21 leave Twisted to look at the same client in languages whose runtime hides the
//! reactor. In Erlang, each download is a process that reads its socket with what looks like a
//! blocking call and sends its poem to the main process in a message; in Haskell, each download is
//! a lightweight thread that reads the socket lazily. Either way the program reads as one simple
//! loop per connection, and the runtime underneath waits on all the sockets at once, as a reactor
//! does.
//!
//! Rust's counterpart is the async task. `get_poetry` here is the loop a blocking client would
//! write (connect, read until the end, return the poem), except that each wait is an `.await`,
//! where the task gives the thread back to the runtime. One task per server is spawned on tokio's
//! single-threaded runtime, the same kind that runs the reactor of the other clients: no Deferred,
//! no protocol, no factory, no callback. `main` then collects the tasks as they finish, the way the
//! Erlang client's main process counts the messages of its processes, and prints each poem as it
//! arrives.
//!
//! What this model trades:
//!
//! * A task costs a small allocation, not a thread: a hundred thousand downloads are as cheap as in
//!   Twisted, and the code reads like the blocking client of Part 2.
//! * Like Twisted's callbacks, and unlike Erlang's processes, tasks take turns only where the code
//!   says so, at `.await`. A task that computes for long, or calls a blocking function, stalls all
//!   the others: the lesson of Part 4's broken client still holds, only the places to look for it
//!   are marked `.await`.
//! * A task that fails (or panics) ends alone; the runtime reports it to whoever waits for it, as
//!   Erlang reports a dead process to its monitor, and the other downloads go on.
//!
//! `get-poetry-threads` is the same client with an operating-system thread per server instead.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt                # terminal 1
//! cargo run --bin slowpoetry -- --port 10002 poetry/science.txt                    # terminal 2
//! cargo run --bin slowpoetry -- --port 10003 poetry/ecstasy.txt --num-bytes 30     # terminal 3
//! cargo run --bin get-poetry-tokio -- 10001 10002 10003                            # terminal 4
//! ```

use std::collections::HashMap;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers, on_ctrl_c};
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::outln;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;

/// Download poems with one async task per server, on tokio, with no Deferred (tutorial Parts 20
/// and 21).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1; tasks are numbered in the order of
/// the command line. A line is printed for each piece of poem a task reads (naming the server as
/// it was given), and each poem is printed as soon as it is complete, followed by an empty line. A
/// download that fails is one line on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-tokio",
    version,
    after_help = "Example, with the slow servers of Part 20 running:\n  \
                  get-poetry-tokio 10001 10002 10003\n  \
                  get-poetry-tokio --timeout 5 10001 10002 10003"
)]
struct Options {
    #[command(flatten)]
    client: NativeClientArgs,
}

// The rest of the command line, the download's errors, and what `main` does with each outcome:
// shared with `get-poetry-threads`, unchanged.
#[path = "support/native_client.rs"]
mod native_client;

use native_client::{CONNECT_TIMEOUT, DownloadError, NativeClientArgs, Outcomes, READ_SIZE};

/// A task's news for `main` while its poem comes, when the progress lines are drawn: its task
/// number, and the bytes it has received so far.
type Received = (usize, usize);

/// One download, written as a blocking client would write it: each `.await` is where this task
/// waits, and where the runtime runs the others meanwhile. Each piece read is a line printed, or,
/// given a `report` channel, a byte count sent to `main` for the task's progress line. A poem
/// larger than `max_poem_size` is an error, and returning it drops (closes) the socket.
async fn get_poetry(
    task: usize,
    server: &ServerAddress,
    max_poem_size: MaxPoemSize,
    report: Option<&UnboundedSender<Received>>,
) -> Result<Vec<u8>, DownloadError> {
    let connecting = TcpStream::connect((server.host.as_str(), server.port));
    let mut socket = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return Err(DownloadError::Connect(server.clone(), error)),
        Err(_) => {
            let error = io::Error::from(io::ErrorKind::TimedOut);
            return Err(DownloadError::Connect(server.clone(), error));
        }
    };
    let mut poem = PoemBuffer::new(max_poem_size);
    let mut buffer = [0; READ_SIZE];
    loop {
        let count = socket
            .read(&mut buffer)
            .await
            .map_err(|error| DownloadError::Lost(server.clone(), error))?;
        // The end of the connection is the end of the poem.
        if count == 0 {
            return Ok(poem.take());
        }
        poem.push(&buffer[..count])
            .map_err(|too_large| DownloadError::TooLarge(server.clone(), too_large))?;
        match report {
            // Only fails if main has gone, and then nobody is left to tell.
            Some(report) => {
                let _ = report.send((task, poem.len()));
            }
            None => outln!("Task {task}: got {count} bytes of poetry from {server}"),
        }
    }
}

/// `get_poetry` within the time limit, if there is one. When time is up, the download is dropped
/// where it waits, which closes its socket.
async fn get_poetry_in_time(
    task: usize,
    server: &ServerAddress,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    report: Option<&UnboundedSender<Received>>,
) -> Result<Vec<u8>, DownloadError> {
    let download = get_poetry(task, server, max_poem_size, report);
    match timeout {
        Some(limit) => tokio::time::timeout(limit, download)
            .await
            .unwrap_or(Err(DownloadError::TimedOut(limit))),
        None => download.await,
    }
}

/// Spawns one task per server, then takes the tasks as they end, printing each poem at once.
/// With `--progress` on a terminal, the tasks send their byte counts to this loop instead of
/// printing a line per piece, and it draws them: the lines stay with `main`, as the poems do.
/// Returns whether anything failed.
async fn get_all_poems(options: &Options) -> bool {
    let mut outcomes = Outcomes::new(&options.client);
    let (sender, mut received) = unbounded_channel::<Received>();
    let mut tasks = JoinSet::new();
    // The task number of each spawned task, for a task that ends without saying (a panic).
    let mut numbers = HashMap::new();
    for (index, server) in options.client.servers.iter().enumerate() {
        let (task, server, timeout) = (index + 1, server.clone(), options.client.timeout.timeout);
        let max_poem_size = options.client.max_poem_size;
        let report = outcomes.drawing().then(|| sender.clone());
        let handle = tasks.spawn(async move {
            let outcome =
                get_poetry_in_time(task, &server, timeout, max_poem_size, report.as_ref()).await;
            (task, outcome)
        });
        numbers.insert(handle.id(), task);
    }
    // Only the tasks hold a sender now.
    drop(sender);

    loop {
        let ended = tokio::select! {
            // The byte counts first: a task sends its last one before it ends, so its line is up
            // to date before it is finished.
            biased;
            Some((task, bytes)) = received.recv() => {
                outcomes.received(task, bytes);
                continue;
            }
            ended = tasks.join_next() => ended,
        };
        let Some(ended) = ended else {
            break;
        };
        match ended {
            Ok((task, outcome)) => outcomes.ended(task, outcome),
            // The task died; the others carry on, and this is how we hear of it.
            Err(error) => {
                let task = numbers.get(&error.id()).copied().unwrap_or_default();
                outcomes.failed(task, format_args!("the task ended abnormally: {error}"));
            }
        }
    }
    outcomes.any_failed()
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.client.servers) {
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report_error(format_args!("cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    // Each poem is printed as it arrives: on Ctrl-C, those printed are what finished.
    on_ctrl_c(|| ());
    let failed = runtime.block_on(get_all_poems(&options));
    exit_status(failed)
}
