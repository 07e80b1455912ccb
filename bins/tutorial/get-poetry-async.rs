//! Get Poetry Now!, asynchronous edition: tutorial Part 2, "Slow Poetry and the Apocalypse".
//!
//! The asynchronous model, written out by hand. The client opens a connection to every server, makes
//! the sockets non-blocking, and then runs one loop: ask the operating system (with poll(2)) which
//! sockets have data, read whatever each of those has without ever waiting, and go round again. The
//! downloads interleave, so the total time is about that of the slowest poem, not the sum of them all.
//!
//! That loop is an embryonic reactor: Part 3 hands it over to Twisted (here, to the project's reactor
//! on tokio). It is written with no async runtime on purpose; `rustix` only gives poll(2) a safe face.
//! `--timeout` shows the other half of a reactor's work, time: poll(2) is told how long it may wait,
//! and when the time is up the loop gives up on the downloads still open. `--timeline FILE.svg` draws
//! the run as the tutorial's figure of the asynchronous model: the lanes side by side, their pieces
//! interleaved.
//!
//! Start the three slow servers of Part 2 (see `slowpoetry`), then:
//!
//! ```text
//! cargo run --bin get-poetry-async -- 10000 10001 10002
//! ```

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{
    count_poems_until_ctrl_c, exit_status, explain_if_no_servers, report_poems,
};
use common::cli::duration::TimeFormat;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::{MaxPoemSize, PoemBuffer, PoemOutput, ReadPoemError};
use common::cli::progress::{ProgressOption, TaskProgress};
use common::cli::time_options::{ConnectTimeoutOption, TimeFormatOption, TimeoutOption};
use common::cli::timeline::{Timeline, TimelineOption};
use common::{errln, outln};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// Download poems from all servers at once with a hand-written poll loop (tutorial Part 2).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Every poem arrives in pieces, and a line
/// is printed for each piece, so the interleaving of the downloads can be seen. The total time is
/// about that of the slowest download.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-async",
    version,
    after_help = "Example, with the three slow servers of Part 2 running:\n  \
                  get-poetry-async 10000 10001 10002\n  \
                  get-poetry-async --timeout 5 10000 10001 10002\n  \
                  get-poetry-async --timeline async.svg 10000 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    connect_timeout: ConnectTimeoutOption,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    time_format: TimeFormatOption,

    #[command(flatten)]
    progress: ProgressOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,

    #[command(flatten)]
    output: PoemOutput,

    #[command(flatten)]
    timeline: TimelineOption,
}

/// How many bytes one `read` takes at most, as in the tutorial.
const READ_SIZE: usize = 1024;

/// One download in progress.
struct Download {
    /// The 1-based position of its address on the command line.
    task: usize,
    /// The address the server actually has, printed with every piece that arrives.
    peer: SocketAddr,
    /// The connection; `None` once the poem is complete or the connection failed.
    socket: Option<TcpStream>,
    /// The bytes received so far, up to `--max-poem-size`.
    poem: PoemBuffer,
    /// Whether the server closed the connection after sending the whole poem.
    complete: bool,
}

/// What one pass of reading a ready socket found.
enum Pass {
    /// Some bytes arrived (possibly none), and the server may have more to send.
    Data(usize),
    /// Some bytes arrived (possibly none), then the end of the poem.
    Finished(usize),
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.servers) {
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let mut timeline = Timeline::new(&options.timeline, started);
    let time_format = options.time_format.time_format;
    let finished = count_poems_until_ctrl_c(time_format);
    let mut failed = false;
    let mut downloads = Vec::new();
    for (index, server) in options.servers.iter().enumerate() {
        let task = index + 1;
        timeline.start(task, format_args!("Task {task}: {server}"));
        match connect(server, options.connect_timeout.connect_timeout) {
            Ok((socket, peer)) => downloads.push(Download {
                task,
                peer,
                socket: Some(socket),
                poem: PoemBuffer::new(options.max_poem_size),
                complete: false,
            }),
            Err(error) => {
                timeline.end(task, true);
                errln!(
                    "Task {task}: failed to connect to {server}: {}",
                    plain_error(&error)
                );
                failed = true;
            }
        }
    }

    let labels: Vec<String> = downloads
        .iter()
        .map(|download| format!("Task {}: {}", download.task, download.peer))
        .collect();
    let progress = TaskProgress::new(&options.progress, &labels);
    let looped = run_poll_loop(
        &mut downloads,
        &progress,
        &mut timeline,
        started,
        options.timeout.timeout,
        &finished,
    );
    if let Err(error) = looped {
        progress.above(|| report_error(format_args!("poll failed: {error}")));
        return ExitCode::FAILURE;
    }

    let mut poems = Vec::new();
    for download in &downloads {
        if download.complete {
            poems.push((download.task, &download.poem[..]));
        } else {
            failed = true;
        }
    }
    let elapsed = started.elapsed();
    if !report_poems(&poems, elapsed, time_format, &options.output, true) {
        return ExitCode::FAILURE;
    }
    if let Err(error) = timeline.save("get-poetry-async, the asynchronous model", elapsed) {
        report_error(error);
        return ExitCode::FAILURE;
    }
    exit_status(failed)
}

/// Connects with an ordinary blocking call, then makes the socket non-blocking for the loop.
///
/// Connecting to a server on this machine takes no time worth interleaving, so, as in the tutorial,
/// only the downloads are asynchronous.
fn connect(server: &ServerAddress, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
    let socket = server.connect(timeout)?;
    socket.set_nonblocking(true)?;
    let peer = socket.peer_addr()?;
    Ok((socket, peer))
}

/// The select loop of Part 2: wait until some socket is readable, read what it has, repeat until every
/// download is over, or, with a `timeout`, until that long after `started`. Each piece and each end
/// goes on the `timeline` too; each poem that ends whole adds one to `finished`, for the summary
/// Ctrl-C prints.
fn run_poll_loop(
    downloads: &mut [Download],
    progress: &TaskProgress,
    timeline: &mut Timeline,
    started: Instant,
    timeout: Option<Duration>,
    finished: &AtomicUsize,
) -> io::Result<()> {
    loop {
        // The downloads still open, and the poll(2) entries that watch them, index for index.
        let open: Vec<usize> = (0..downloads.len())
            .filter(|&i| downloads[i].socket.is_some())
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        // How long poll(2) may wait: for ever, or the time left before the timeout.
        let time_left = match timeout {
            Some(limit) if started.elapsed() >= limit => {
                for index in open {
                    timeline.end(downloads[index].task, true);
                    time_out(&mut downloads[index], index + 1, limit, progress);
                }
                return Ok(());
            }
            Some(limit) => Some(limit.saturating_sub(started.elapsed())),
            None => None,
        };
        let ready = wait_for_readable(downloads, &open, time_left)?;
        for index in ready {
            read_ready(&mut downloads[index], index + 1, progress, timeline);
            if downloads[index].complete {
                finished.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// Blocks in poll(2) until at least one open socket is readable (or closed, or in error), or until
/// `time_left` has passed, and returns the indices of the downloads that are ready: none when the
/// time ran out. This is the only place where the program waits.
fn wait_for_readable(
    downloads: &[Download],
    open: &[usize],
    time_left: Option<Duration>,
) -> io::Result<Vec<usize>> {
    let mut entries: Vec<PollFd<'_>> = open
        .iter()
        .filter_map(|&i| downloads[i].socket.as_ref())
        .map(|socket| PollFd::new(socket, PollFlags::IN))
        .collect();
    // A wait too long for a Timespec (some billions of years) is a wait for ever.
    let time_left = time_left.and_then(|left| Timespec::try_from(left).ok());
    match poll(&mut entries, time_left.as_ref()) {
        Ok(_) => {}
        // A signal interrupted the wait: nothing is ready, and the loop goes round again.
        Err(rustix::io::Errno::INTR) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    }
    Ok(open
        .iter()
        .zip(&entries)
        .filter(|(_, entry)| !entry.revents().is_empty())
        .map(|(&index, _)| index)
        .collect())
}

/// Reads everything a ready socket has right now, without waiting, and reports it (as a line, or on
/// its progress line, which is line `row`), and on the `timeline`: what one pass reads is one piece.
fn read_ready(
    download: &mut Download,
    row: usize,
    progress: &TaskProgress,
    timeline: &mut Timeline,
) {
    let Some(socket) = download.socket.as_mut() else {
        return;
    };
    let outcome = read_available(socket, &mut download.poem);
    if let Ok(Pass::Data(count) | Pass::Finished(count)) = outcome
        && count > 0
    {
        timeline.piece(download.task, count);
    }
    if progress.is_drawing() {
        progress.update(row, download.poem.len());
    }
    match outcome {
        Ok(Pass::Data(count)) if !progress.is_drawing() => report_piece(download, count),
        Ok(Pass::Data(_)) => {}
        Ok(Pass::Finished(count)) => {
            timeline.end(download.task, false);
            download.socket = None;
            download.complete = true;
            if progress.is_drawing() {
                progress.finish(row, "finished");
            } else {
                report_piece(download, count);
                outln!("Task {} finished", download.task);
            }
        }
        // Dropping the socket closes it at once, with whatever the server sent still unread.
        Err(error) => {
            timeline.end(download.task, true);
            progress.finish(row, "failed");
            download.socket = None;
            progress.above(|| match error {
                ReadPoemError::TooLarge(too_large) => {
                    errln!(
                        "Task {}: gave up on {}: {too_large}",
                        download.task,
                        download.peer
                    );
                }
                ReadPoemError::Io(error) => {
                    errln!(
                        "Task {}: lost the connection to {} after {} bytes: {}",
                        download.task,
                        download.peer,
                        download.poem.len(),
                        plain_error(&error)
                    );
                }
            });
        }
    }
}

/// `--timeout` has passed with this download still open: it is given up, and its socket closed.
fn time_out(download: &mut Download, row: usize, limit: Duration, progress: &TaskProgress) {
    download.socket = None;
    progress.finish(row, "failed");
    progress.above(|| {
        errln!(
            "Task {}: timed out after {}",
            download.task,
            TimeFormat::Human.show(limit)
        );
    });
}

/// Prints the line for a piece of poem that arrived, if anything arrived.
fn report_piece(download: &Download, count: usize) {
    if count > 0 {
        outln!(
            "Task {}: got {count} bytes of poetry from {}",
            download.task,
            download.peer
        );
    }
}

/// Reads chunks until the socket has nothing more for now (`WouldBlock`) or reaches end of file, or
/// the poem grows too large.
///
/// Only a read of zero bytes means the server closed the connection; a wake-up that finds no data is
/// not the end of the poem (the tutorial's client treated it as one).
fn read_available(socket: &mut TcpStream, poem: &mut PoemBuffer) -> Result<Pass, ReadPoemError> {
    let mut buffer = [0; READ_SIZE];
    let mut count = 0;
    loop {
        match socket.read(&mut buffer) {
            Ok(0) => return Ok(Pass::Finished(count)),
            Ok(n) => {
                poem.push(&buffer[..n]).map_err(ReadPoemError::TooLarge)?;
                count += n;
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return Ok(Pass::Data(count));
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(ReadPoemError::Io(error)),
        }
    }
}
