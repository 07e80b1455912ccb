//! Get Poetry Now!, Twisted version 3.0: tutorial Part 6, "And Then We Took It Higher"
//! (`twisted-client-3/get-poetry.py`).
//!
//! Client 2.1's factory did two jobs: making protocols, and ending the program. Here the downloading
//! becomes a reusable asynchronous function, `get_poetry(reactor, host, port, timeout, callback)`.
//! It cannot return the poem, since that would mean blocking until the poem is in, so it returns at
//! once and calls `callback(poem)` later, from the reactor. Its factory only delivers poems; running
//! and stopping the reactor moves to `main`, whose callback counts the poems and stops the reactor
//! when it has them all. Our own code is now called back by our own code: callbacks all the way down.
//!
//! The flaw, kept on purpose because it is the lesson of Part 6: `get_poetry` has no way to say that
//! something went wrong. A connection that fails is silently ignored, the callback is never called,
//! and the program waits for ever. Ctrl-C (or SIGTERM) stops the reactor, and the poems received so
//! far are printed (exit status 0). Client 3.1 adds the missing error path.
//!
//! `--timeout` is the fix this program can have without one. Each download hangs up on a poem that
//! is late (Part 5's first exercise, inside `get_poetry`), and since no poem can arrive later than
//! twice the timeout (once to connect, once to download), `main` stops waiting then, poems missing
//! or not.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/science.txt         # terminal 2
//! cargo run --bin get-poetry-3 -- 10001 10002                           # terminal 3
//! cargo run --bin get-poetry-3 -- 10001 10004                           # no server on 10004: hangs
//! cargo run --bin get-poetry-3 -- --timeout 1 10001 10004               # gives up after 2 s
//! ```

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status_after, explain_if_no_servers, print_poems};
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer, SaveDirOption};
use common::cli::time_options::TimeoutOption;
use common::errln;
use common::protocol::{Address, ClientFactory, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::{DelayedCall, Reactor};

/// Download poems through a reusable get_poetry function and a callback (tutorial Part 6, client
/// 3.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Once every poem has arrived, they are
/// printed in the order they ended, each followed by an empty line. A server that cannot be reached
/// is silently ignored, so the program then waits until Ctrl-C (which prints the poems received so
/// far), or, with --timeout, until no poem can arrive any more.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-3",
    version,
    after_help = "Example, with poetry servers on ports 10001 and 10002:\n  \
                  get-poetry-3 10001 10002\n  \
                  get-poetry-3 --timeout 1 10001 10004    (nothing on 10004: gives up after 2 s)"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,

    #[command(flatten)]
    save_dir: SaveDirOption,
}

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One download: the reactor makes one of these for the connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    /// The server's address, as the transport's `get_peer` gives it, for the error lines.
    peer: Address,
    poem: PoemBuffer,
    /// The connection, to hang up on a poem too large.
    transport: Option<Rc<dyn Transport>>,
    /// The timed call that hangs up on a late poem, when there is a timeout.
    deadline: Option<DelayedCall>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(Rc::clone(&transport));
        if let Some(limit) = self.factory.timeout {
            let peer = self.peer.clone();
            let late = move || {
                errln!(
                    "Poem from {peer} timed out after {}",
                    TimeFormat::Human.show(limit)
                );
                transport.abort_connection();
            };
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Err(too_large) = self.poem.push(data) {
            errln!("Poem from {} failed: {too_large}", self.peer);
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take() {
            // An error here only means the call has already run: the poem was late.
            let _ = deadline.cancel();
        }
        match reason {
            DisconnectReason::Done => self.factory.poem_finished(self.poem.take()),
            // Only the deadline and a poem too large abort a connection here, and each has said so.
            // Either way the caller of get_poetry never hears of it: there is no one to tell.
            DisconnectReason::Aborted => {}
            DisconnectReason::Lost(_) => {
                errln!("Poem from {} failed: {reason}", self.peer);
            }
        }
    }
}

/// Makes the protocol and passes its poem on to the callback: nothing else.
struct PoetryClientFactory {
    /// This factory, so that the protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while the protocol is being made.
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    callback: Box<dyn Fn(Vec<u8>)>,
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: Vec<u8>) {
        (self.callback)(poem);
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            peer: peer.clone(),
            poem: PoemBuffer::new(self.max_poem_size),
            transport: None,
            deadline: None,
        }))
    }
}

/// A failed connection goes to `client_connection_failed`, which (as in Twisted's base class) does
/// nothing: this is the silence that makes the program hang.
impl ClientFactory for PoetryClientFactory {}

/// Downloads a poem from `host`:`port` and calls `callback(poem)` when it is complete. With a
/// `timeout`, gives up connecting after it, and hangs up on a poem that takes longer than it; hangs
/// up too on a poem larger than `max_poem_size`.
///
/// Returns at once: the connection is made, and the poem read, later, by the running reactor.
fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    callback: impl Fn(Vec<u8>) + 'static,
) {
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout,
        max_poem_size,
        callback: Box::new(callback),
    });
    reactor.connect_tcp(host, port, factory, timeout.unwrap_or(CONNECT_TIMEOUT));
}

/// What `main` learns from its callbacks: the poems, in the order they arrived.
struct Results {
    reactor: Reactor,
    addresses: usize,
    save_dir: SaveDirOption,
    poems: RefCell<Vec<Vec<u8>>>,
    /// A poem could not be saved, or some never came.
    failed: Cell<bool>,
}

impl Results {
    /// The callback given to `get_poetry` for task `task` (its place on the command line).
    fn got_poem(&self, task: usize, poem: Vec<u8>) {
        let mut poems = self.poems.borrow_mut();
        // Saved as it arrives, so that what did arrive is on disk whatever happens next.
        if let Err(error) = self.save_dir.save(task, &poem) {
            report_error(format_args!("cannot save a poem: {error}"));
            self.failed.set(true);
        }
        poems.push(poem);
        if poems.len() == self.addresses {
            let _ = self.reactor.stop();
        }
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

    let results = Rc::new(Results {
        reactor: reactor.clone(),
        addresses: options.servers.len(),
        save_dir: options.save_dir,
        poems: RefCell::new(Vec::new()),
        failed: Cell::new(false),
    });
    for (index, server) in options.servers.iter().enumerate() {
        let results = Rc::clone(&results);
        get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.timeout.timeout,
            options.max_poem_size,
            move |poem| results.got_poem(index + 1, poem),
        );
    }
    if let Some(limit) = options.timeout.timeout {
        // get_poetry cannot tell us that a poem failed, but it can tell us when it stops trying:
        // connecting takes at most `limit`, and the poem at most `limit` more. After that, a poem
        // that has not come never will.
        let give_up = limit.saturating_mul(2);
        let results = Rc::clone(&results);
        reactor.call_later(give_up, move || {
            let received = results.poems.borrow().len();
            if results.reactor.is_running() && received < results.addresses {
                errln!(
                    "Timed out: {received} of {} poems arrived within {}",
                    results.addresses,
                    TimeFormat::Human.show(give_up)
                );
                results.failed.set(true);
                let _ = results.reactor.stop();
            }
        });
    }
    let _ = reactor.run();

    print_poems(results.poems.borrow().iter().map(Vec::as_slice));
    exit_status_after(&reactor, results.failed.get())
}
