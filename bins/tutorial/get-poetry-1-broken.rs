//! The *Broken* Get Poetry Now!, Twisted version 1.0: tutorial Part 4, "Twisted Poetry".
//!
//! The same client as `get-poetry-1`, with one change: its sockets stay blocking, and `do_read`
//! reads until the whole poem has arrived. Inside a callback that blocks, the reactor can do nothing
//! else: the program is asynchronous in form and synchronous in fact. Each poem is printed in one
//! piece, and the others wait their turn.
//!
//! With the short poems of Part 2 it seems to run as fast as the good client, because the
//! connections are all open from the start and the operating system keeps the other servers' data
//! while one socket is drained. With longer poems, or servers that wait for the client, it would be
//! no faster than the blocking client. A callback must never block.
//!
//! Start the three slow servers of Part 2 (see `slowpoetry`), then:
//!
//! ```text
//! cargo run --bin get-poetry-1-broken -- 10000 10001 10002
//! ```

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers, report_poems};
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::new_reactor;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::PoemOutput;
use common::protocol::DisconnectReason;
use common::reactor::{Reactor, ReadDescriptor};
use common::{errln, outln};

/// A deliberately broken client: its callbacks block (tutorial Part 4).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. The reactor tells us when a socket can
/// be read, and then we read the whole poem with blocking reads, stalling everything else.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-1-broken",
    version,
    after_help = "Example, with the three slow servers of Part 2 running:\n  \
                  get-poetry-1-broken 10000 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    /// Give up connecting to a server after this long: seconds (5) or with a unit (500ms).
    #[arg(long, default_value = "10", value_parser = parse_duration)]
    connect_timeout: Duration,

    /// How to print durations: clock (0:00:10.126361, as the tutorial), human or seconds.
    #[arg(long, value_enum, default_value_t)]
    time_format: TimeFormat,

    #[command(flatten)]
    output: PoemOutput,
}

/// How each download ended, by task: the poem if it arrived whole.
type Results = Rc<RefCell<Vec<(usize, Option<Vec<u8>>)>>>;

/// One download: a blocking socket that the reactor tells us about.
struct PoetrySocket {
    task: usize,
    address: ServerAddress,
    socket: TcpStream,
    poem: Vec<u8>,
    reactor: Reactor,
    results: Results,
}

impl PoetrySocket {
    /// Connects, and (the bug) leaves the socket blocking.
    fn connect(
        task: usize,
        address: ServerAddress,
        timeout: Duration,
        reactor: Reactor,
        results: Results,
    ) -> io::Result<PoetrySocket> {
        let socket = address.connect(timeout)?;
        Ok(PoetrySocket {
            task,
            address,
            socket,
            poem: Vec::new(),
            reactor,
            results,
        })
    }
}

impl AsFd for PoetrySocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl ReadDescriptor for PoetrySocket {
    /// Reads the whole poem, blocking until the server closes the connection: while this runs, no
    /// other socket is read and no timer fires.
    fn do_read(&mut self) -> Option<DisconnectReason> {
        let end = match self.socket.read_to_end(&mut self.poem) {
            Ok(_) => DisconnectReason::Done,
            Err(error) => DisconnectReason::Lost(plain_error(&error)),
        };
        outln!(
            "Task {}: got {} bytes of poetry from {}",
            self.task,
            self.poem.len(),
            self.address
        );
        Some(end)
    }

    /// The reactor no longer watches this socket. Record how the download ended; the socket closes
    /// when the reactor drops this reader, right after. The last one to finish stops the reactor.
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.reactor.remove_reader(self.socket.as_raw_fd());
        let poem = std::mem::take(&mut self.poem);
        let outcome = match reason {
            DisconnectReason::Done => Some(poem),
            _ => {
                errln!(
                    "Task {}: lost the connection to {} after {} bytes: {reason}",
                    self.task,
                    self.address,
                    poem.len()
                );
                None
            }
        };
        self.results.borrow_mut().push((self.task, outcome));
        if self.reactor.get_readers().is_empty() {
            let _ = self.reactor.stop();
        }
    }

    fn log_prefix(&self) -> String {
        "poetry".to_owned()
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.servers) {
        return ExitCode::SUCCESS;
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let started = Instant::now();
    let results: Results = Rc::default();
    let mut failed = false;
    for (index, server) in options.servers.iter().enumerate() {
        let task = index + 1;
        let connected = PoetrySocket::connect(
            task,
            server.clone(),
            options.connect_timeout,
            reactor.clone(),
            Rc::clone(&results),
        );
        let added = connected.and_then(|socket| reactor.add_reader(Rc::new(RefCell::new(socket))));
        if let Err(error) = added {
            errln!(
                "Task {task}: failed to connect to {server}: {}",
                plain_error(&error)
            );
            failed = true;
        }
    }
    // With no socket to watch, nothing would ever stop the reactor: do not start it.
    if !reactor.get_readers().is_empty() {
        let _ = reactor.run();
    }

    let mut results = results.take();
    results.sort_by_key(|(task, _)| *task);
    let mut poems = Vec::new();
    for (task, outcome) in &results {
        match outcome {
            Some(poem) => poems.push((*task, poem.as_slice())),
            None => failed = true,
        }
    }
    let elapsed = started.elapsed();
    if !report_poems(&poems, elapsed, options.time_format, &options.output, true) {
        return ExitCode::FAILURE;
    }
    exit_status(failed)
}
