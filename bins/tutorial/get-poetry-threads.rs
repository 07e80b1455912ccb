//! Get Poetry Now!, with a thread per server: tutorial Parts 20 and 21, "Wheels within Wheels:
//! Twisted and Erlang" and "Lazy is as Lazy Doesn't: Twisted and Haskell"
//! (`erlang-client-1/get-poetry`, `haskell-client-1/get-poetry.hs`).
//!
//! The Erlang client of Part 20 gives each download a process of its own, which connects, reads its
//! socket with a call that blocks only that process, prints a line per piece of poem, and sends the
//! finished poem to the main process in a message; the main process waits for those messages. This
//! is that client with operating-system threads in place of Erlang's processes: each thread runs
//! the blocking loop of Part 2's first client on its own socket, and sends its outcome to `main`
//! over a channel; `main` prints each poem as its message arrives. The reactor has not gone away:
//! it is the kernel's scheduler now, which runs whichever thread has data to read.
//!
//! What this model trades:
//!
//! * The code is the plainest there is: blocking calls, one loop per connection, no `.await`, no
//!   callbacks. A thread that blocks, or computes for long, holds up no one else, since the kernel
//!   switches threads whenever it likes, as the Erlang runtime switches processes.
//! * But that freedom has a price Erlang avoids by never sharing memory: threads run at the same
//!   time, so whatever they share must be made safe to share (Rust checks it: `Send`, a channel, a
//!   lock). Here they share nothing but the channel and the terminal.
//! * A thread is heavy: a stack reserved for each (2 MiB of address space by default) and a task in
//!   the kernel. Ten downloads cost nothing; a hundred thousand would exhaust the machine, where
//!   Erlang processes, Haskell threads, Twisted's protocols and tokio's tasks cost a few hundred
//!   bytes each, because their runtimes multiplex them over a few threads with asynchronous I/O.
//!   That is why those runtimes exist.
//! * A thread that panics dies alone; `main` learns of it when it joins the thread, as Erlang's main
//!   process learns of a dead process from its monitor.
//!
//! `get-poetry-tokio` is the same client with an async task per server instead.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt                # terminal 1
//! cargo run --bin slowpoetry -- --port 10002 poetry/science.txt                    # terminal 2
//! cargo run --bin slowpoetry -- --port 10003 poetry/ecstasy.txt --num-bytes 30     # terminal 3
//! cargo run --bin get-poetry-threads -- 10001 10002 10003                          # terminal 4
//! ```

use std::io::{self, Read};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers, on_ctrl_c};
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::outln;

/// Download poems with one thread per server and blocking sockets (tutorial Parts 20 and 21).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1; tasks are numbered in the order of
/// the command line. A line is printed for each piece of poem a thread reads (naming the server as
/// it was given), and each poem is printed as soon as it is complete, followed by an empty line. A
/// download that fails is one line on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-threads",
    version,
    after_help = "Example, with the slow servers of Part 20 running:\n  \
                  get-poetry-threads 10001 10002 10003\n  \
                  get-poetry-threads --timeout 5 10001 10002 10003"
)]
struct Options {
    #[command(flatten)]
    client: NativeClientArgs,
}

// The rest of the command line, the download's errors, and what `main` does with each outcome:
// shared with `get-poetry-tokio`, unchanged.
#[path = "support/native_client.rs"]
mod native_client;

use native_client::{CONNECT_TIMEOUT, DownloadError, NativeClientArgs, Outcomes, READ_SIZE};

/// The `--timeout` of one download: when it ends, and how long it was.
#[derive(Clone, Copy)]
struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// The time left, or the error of a poem that is late. Never zero: a blocking call given a
    /// timeout of zero would wait for ever.
    fn time_left(self) -> Result<Duration, DownloadError> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(DownloadError::TimedOut(self.limit))
        } else {
            Ok(left)
        }
    }
}

/// One download, on its own thread: connect, then read until the server closes. Every call here
/// blocks this thread, and only this one. Each piece read is a line printed, or, given a `report`
/// channel, a byte count sent to `main` for the task's progress line. A poem larger than
/// `max_poem_size` is an error, and returning it drops (closes) the socket.
fn get_poetry(
    task: usize,
    server: &ServerAddress,
    deadline: Option<Deadline>,
    max_poem_size: MaxPoemSize,
    report: Option<&mpsc::Sender<Message>>,
) -> Result<Vec<u8>, DownloadError> {
    let connect_limit = match deadline {
        Some(deadline) => deadline.time_left()?.min(CONNECT_TIMEOUT),
        None => CONNECT_TIMEOUT,
    };
    let mut socket = server.connect(connect_limit).map_err(|error| {
        match deadline {
            // The connection attempt used up the time of the whole download.
            Some(deadline) if error.kind() == io::ErrorKind::TimedOut => {
                DownloadError::TimedOut(deadline.limit)
            }
            _ => DownloadError::Connect(server.clone(), error),
        }
    })?;
    let lost = |error| DownloadError::Lost(server.clone(), error);
    let mut poem = PoemBuffer::new(max_poem_size);
    let mut buffer = [0; READ_SIZE];
    loop {
        if let Some(deadline) = deadline {
            socket
                .set_read_timeout(Some(deadline.time_left()?))
                .map_err(lost)?;
        }
        match socket.read(&mut buffer) {
            // The end of the connection is the end of the poem.
            Ok(0) => return Ok(poem.take()),
            Ok(count) => {
                poem.push(&buffer[..count])
                    .map_err(|too_large| DownloadError::TooLarge(server.clone(), too_large))?;
                match report {
                    // Only fails if main has gone, and then nobody is left to tell.
                    Some(report) => {
                        let _ = report.send(Message::Received(task, poem.len()));
                    }
                    None => outln!("Task {task}: got {count} bytes of poetry from {server}"),
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // The read waited as long as the deadline allowed: the next turn finds the poem late.
            Err(error)
                if deadline.is_some()
                    && matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
            Err(error) => return Err(lost(error)),
        }
    }
}

/// What a download thread sends to `main`, with its task number.
enum Message {
    /// With `--progress` on a terminal, the bytes received so far: the progress lines belong to
    /// `main`, and only its thread draws them.
    Received(usize, usize),
    /// The download is over: its outcome (the Erlang client's message to its main process).
    Done(usize, Result<Vec<u8>, DownloadError>),
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.client.servers) {
        return ExitCode::SUCCESS;
    }
    let mut outcomes = Outcomes::new(&options.client);
    // Each poem is printed as it arrives: on Ctrl-C, those printed are what finished.
    on_ctrl_c(|| ());
    let drawing = outcomes.drawing();

    let (sender, receiver) = mpsc::channel::<Message>();
    let mut threads = Vec::new();
    for (index, server) in options.client.servers.iter().enumerate() {
        let (task, server, sender) = (index + 1, server.clone(), sender.clone());
        let max_poem_size = options.client.max_poem_size;
        let deadline = options.client.timeout.timeout.map(|limit| Deadline {
            at: Instant::now() + limit,
            limit,
        });
        let spawned = thread::Builder::new()
            .name(format!("task {task}"))
            .spawn(move || {
                let report = drawing.then_some(&sender);
                let outcome = get_poetry(task, &server, deadline, max_poem_size, report);
                // Only fails if main has gone, and then nobody is left to tell.
                let _ = sender.send(Message::Done(task, outcome));
            });
        match spawned {
            Ok(handle) => threads.push((task, handle)),
            // The price of a thread per connection: the system may refuse one more.
            Err(error) => outcomes.failed(task, format_args!("cannot start a thread: {error}")),
        }
    }
    // Only the threads hold a sender now: the channel closes when the last of them ends.
    drop(sender);

    for message in receiver {
        match message {
            Message::Received(task, bytes) => outcomes.received(task, bytes),
            Message::Done(task, outcome) => outcomes.ended(task, outcome),
        }
    }
    // Every thread has ended; one that panicked sent no message, and joining it says so.
    for (task, handle) in threads {
        if handle.join().is_err() {
            outcomes.failed(task, "the thread ended abnormally");
        }
    }
    exit_status(outcomes.any_failed())
}
