//! Get Poetry Now!, Twisted version 1.0: tutorial Part 4, "Twisted Poetry".
//!
//! The asynchronous client of Part 2, with its select loop handed over to the reactor. We still make
//! our own sockets (connected with an ordinary blocking call, then made non-blocking), but instead
//! of polling them ourselves we give each one to the reactor with `add_reader`. The reactor calls
//! `do_read` whenever a socket has data; `do_read` reads what is there without blocking and says
//! when the poem is complete; the reactor then calls `connection_lost`, and the last socket to
//! finish stops the reactor.
//!
//! Start the three slow servers of Part 2 (see `slowpoetry`), then:
//!
//! ```text
//! cargo run --bin get-poetry-1 -- 10000 10001 10002
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
use common::cli::client::explain_if_no_servers;
use common::cli::new_reactor;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::protocol::DisconnectReason;
use common::reactor::{Reactor, ReadDescriptor};
use common::{errln, outln};

/// Download poems with the reactor watching our own sockets (tutorial Part 4).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. The sockets are ours; the reactor
/// tells us when each one can be read. A line is printed for each piece of poem that arrives.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-1",
    version,
    after_help = "Example, with the three slow servers of Part 2 running:\n  \
                  get-poetry-1 10000 10001 10002"
)]
struct Options {
    #[command(flatten)]
    sockets: SocketClientArgs,
}

// The command line, and the summary once the reactor has stopped: shared with client 1.0-broken,
// unchanged.
#[path = "support/socket_options_and_summary.rs"]
mod socket_options_and_summary;

use socket_options_and_summary::{Results, SocketClientArgs, summarize};

/// One download: a non-blocking socket that the reactor reads for us.
struct PoetrySocket {
    task: usize,
    address: ServerAddress,
    socket: TcpStream,
    poem: PoemBuffer,
    reactor: Reactor,
    results: Results,
}

impl PoetrySocket {
    /// Connects (blocking, as in the tutorial: a local connection takes no time worth
    /// interleaving) and makes the socket non-blocking, ready for the reactor.
    fn connect(
        task: usize,
        address: ServerAddress,
        timeout: Duration,
        max_poem_size: MaxPoemSize,
        reactor: Reactor,
        results: Results,
    ) -> io::Result<PoetrySocket> {
        let socket = address.connect(timeout)?;
        socket.set_nonblocking(true)?;
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
    /// Reads what the socket has now, without waiting: until it would block, or the end of the poem,
    /// or a poem too large (the socket is then closed, at once, when the reactor drops this reader).
    fn do_read(&mut self) -> Option<DisconnectReason> {
        let mut buffer = [0; 1024];
        let mut count = 0;
        let end = loop {
            match self.socket.read(&mut buffer) {
                Ok(0) => break Some(DisconnectReason::Done),
                Ok(n) => {
                    if let Err(too_large) = self.poem.push(&buffer[..n]) {
                        errln!(
                            "Task {}: gave up on {}: {too_large}",
                            self.task,
                            self.address
                        );
                        break Some(DisconnectReason::Aborted);
                    }
                    count += n;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break None,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => break Some(DisconnectReason::Lost(plain_error(&error))),
            }
        };
        if count > 0 {
            outln!(
                "Task {}: got {count} bytes of poetry from {}",
                self.task,
                self.address
            );
        }
        if end == Some(DisconnectReason::Done) {
            outln!("Task {} finished", self.task);
        }
        end
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

    let started = Instant::now();
    let results = Results::default();
    let mut failed = false;
    for (index, server) in options.sockets.servers.iter().enumerate() {
        let task = index + 1;
        let connected = PoetrySocket::connect(
            task,
            server.clone(),
            options.sockets.connect_timeout.connect_timeout,
            options.sockets.max_poem_size,
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
    // With no socket to watch, nothing would ever stop the reactor: do not start it.
    if !reactor.get_readers().is_empty() {
        let _ = reactor.run();
    }

    summarize(
        &reactor,
        &options.sockets,
        results,
        started.elapsed(),
        failed,
    )
}
