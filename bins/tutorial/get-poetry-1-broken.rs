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
//! Nor can the reactor hear Ctrl-C while a callback blocks: it stops on a signal only between two
//! callbacks. So this client has a fallback that needs no reactor: if the reactor has not stopped
//! a second after Ctrl-C, a thread of its own says so, prints the summary of the poems that did
//! arrive and ends the program with status 130, as the other clients end a Ctrl-C.
//!
//! Start the three slow servers of Part 2 (see `slowpoetry`), then:
//!
//! ```text
//! cargo run --bin get-poetry-1-broken -- 10000 10001 10002
//! ```

use std::cell::RefCell;
use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{explain_if_no_servers, on_ctrl_c_if_blocked};
use common::cli::new_reactor;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::{MaxPoemSize, PoemBuffer, ReadPoemError};
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
    #[command(flatten)]
    sockets: SocketClientArgs,
}

// The command line, and the summary once the reactor has stopped: shared with client 1.0,
// unchanged.
#[path = "support/socket_options_and_summary.rs"]
mod socket_options_and_summary;

use socket_options_and_summary::{Results, SocketClientArgs, report, summarize};

/// One download: a blocking socket that the reactor tells us about.
struct PoetrySocket {
    task: usize,
    address: ServerAddress,
    socket: TcpStream,
    poem: PoemBuffer,
    reactor: Reactor,
    results: Results,
}

impl PoetrySocket {
    /// Connects, and (the bug) leaves the socket blocking.
    fn connect(
        task: usize,
        address: ServerAddress,
        timeout: Duration,
        max_poem_size: MaxPoemSize,
        reactor: Reactor,
        results: Results,
    ) -> io::Result<PoetrySocket> {
        let socket = address.connect(timeout)?;
        Ok(PoetrySocket {
            task,
            address,
            socket,
            poem: PoemBuffer::new(max_poem_size),
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
    /// Reads the whole poem, blocking until the server closes the connection (or the poem is too
    /// large): while this runs, no other socket is read and no timer fires.
    fn do_read(&mut self) -> Option<DisconnectReason> {
        let end = match self.poem.read_to_end(&mut self.socket) {
            Ok(()) => DisconnectReason::Done,
            Err(ReadPoemError::TooLarge(too_large)) => {
                errln!(
                    "Task {}: gave up on {}: {too_large}",
                    self.task,
                    self.address
                );
                DisconnectReason::Aborted
            }
            Err(ReadPoemError::Io(error)) => DisconnectReason::Lost(plain_error(&error)),
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
        let poem = self.poem.take();
        let outcome = match reason {
            DisconnectReason::Done => Some(poem),
            // do_read gave up on a poem too large, and has said so.
            DisconnectReason::Aborted => None,
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
        self.results.record(self.task, outcome);
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
    if explain_if_no_servers::<Options>(&options.sockets.servers) {
        return ExitCode::SUCCESS;
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let args = Arc::new(options.sockets);
    let started = Instant::now();
    let results = Results::default();
    let mut failed = false;
    for (index, server) in args.servers.iter().enumerate() {
        let task = index + 1;
        let connected = PoetrySocket::connect(
            task,
            server.clone(),
            args.connect_timeout.connect_timeout,
            args.max_poem_size,
            reactor.clone(),
            results.clone(),
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
    // do_read blocks, and the reactor hears of Ctrl-C only between callbacks: if it has not
    // stopped a second after Ctrl-C, this prints the summary without it.
    let fallback = {
        let (args, results) = (Arc::clone(&args), results.clone());
        on_ctrl_c_if_blocked(Duration::from_secs(1), move || {
            let _ = report(&args, &results, started.elapsed(), failed);
        })
    };
    // With no socket to watch, nothing would ever stop the reactor: do not start it.
    if !reactor.get_readers().is_empty() {
        let _ = reactor.run();
    }
    fallback.reactor_stopped();

    summarize(&reactor, &args, results, started.elapsed(), failed)
}
