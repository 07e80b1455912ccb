//! Get Poetry Now!, Twisted version 2.1: tutorial Part 5, "Twistier Poetry"
//! (`twisted-client-2/get-poetry-simple.py`).
//!
//! Client 2.0 with the task numbers and the progress lines taken out: the client is about the
//! poetry. The architecture is unchanged. The reactor makes the connections and calls a protocol
//! back for each one; the protocol gathers the pieces of its poem and hands the poem to the factory
//! when the connection ends; the factory hears of the connections that fail, counts the addresses
//! that are done, and, when all are, prints the poems and stops the reactor.
//!
//! That last job is the flaw Part 6 fixes: a factory that stops the program can only be used by a
//! program that does nothing else. (Ctrl-C stops the reactor before the factory is done: `main`
//! then prints the poems that did arrive, as every client does.) `--timeout` is Part 5's first exercise: one timed call per
//! connection, which hangs up on a poem that is late and is cancelled when the poem is on time.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10000 poetry/ecstasy.txt --num-bytes 30    # terminal 1
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt               # terminal 2
//! cargo run --bin get-poetry-2-simple -- 10000 10001                              # terminal 3
//! ```

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{
    exit_status_after, explain_if_no_servers, print_poems, report_connect_failure,
};
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer, SaveDirOption};
use common::cli::time_options::TimeoutOption;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Download poems and print them, with no task numbers (tutorial Part 5, client 2.1).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. When every address is done (or on
/// Ctrl-C), the poems received are printed in the order they ended, each followed by an empty line.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-2-simple",
    version,
    after_help = "Example, with the slow servers of Part 2 running:\n  \
                  get-poetry-2-simple 10000 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,

    /// With no tasks to number, N in DIR/poem-N.txt is the poem's place in the order the poems
    /// ended.
    #[command(flatten)]
    save_dir: SaveDirOption,
}

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One download: the reactor makes one of these per connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    /// The server's address, as the transport's `get_peer` gives it, for the error lines.
    peer: Address,
    poem: PoemBuffer,
    /// The connection, to hang up on a poem too large.
    transport: Option<Rc<dyn Transport>>,
    /// The timed call that hangs up on a late poem, when there is a `--timeout`.
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
        let poem = self.poem.take();
        let outcome = match reason {
            DisconnectReason::Done => Some(poem),
            // Only the deadline and a poem too large abort a connection in this program, and each
            // has said so.
            DisconnectReason::Aborted => None,
            DisconnectReason::Lost(_) => {
                errln!("Poem from {} failed: {reason}", self.peer);
                None
            }
        };
        self.factory.poem_finished(outcome);
    }
}

/// Makes the protocols, collects their poems, and ends the program when every address is done.
struct PoetryClientFactory {
    /// This factory, so that each protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while a protocol is being made.
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    save_dir: SaveDirOption,
    /// How many addresses there are to finish, with a poem or a failure.
    addresses: usize,
    finished: Cell<usize>,
    /// The poems received, in the order they were completed.
    poems: RefCell<Vec<Vec<u8>>>,
    failed: Cell<bool>,
}

impl PoetryClientFactory {
    /// One address is done: with its poem, or `None` when it failed.
    fn poem_finished(&self, outcome: Option<Vec<u8>>) {
        match outcome {
            Some(poem) => {
                let mut poems = self.poems.borrow_mut();
                if let Err(error) = self.save_dir.save(poems.len() + 1, &poem) {
                    report_error(format_args!("cannot save a poem: {error}"));
                    self.failed.set(true);
                }
                poems.push(poem);
            }
            None => self.failed.set(true),
        }
        // The reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            print_poems(self.poems.borrow().iter().map(Vec::as_slice));
            let _ = self.reactor.stop();
        }
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

impl ClientFactory for PoetryClientFactory {
    /// No protocol exists for a connection that was never made: the factory gets the news.
    /// The tutorial's line names only the address; ours adds the reason on stderr.
    fn client_connection_failed(&self, connector: &Connector, reason: &ConnectError) {
        let destination = connector.get_destination();
        outln!("Failed to connect to: {destination}");
        report_connect_failure(&destination, reason);
        self.poem_finished(None);
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

    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout: options.timeout.timeout,
        max_poem_size: options.max_poem_size,
        save_dir: options.save_dir,
        addresses: options.servers.len(),
        finished: Cell::new(0),
        poems: RefCell::new(Vec::new()),
        failed: Cell::new(false),
    });
    for server in &options.servers {
        reactor.connect_tcp(
            &server.host,
            server.port,
            Rc::clone(&factory),
            options.timeout.timeout.unwrap_or(CONNECT_TIMEOUT),
        );
    }
    let _ = reactor.run();

    // Only a signal stops the reactor before every address is done: the factory has printed
    // nothing, so the poems that did arrive are printed here.
    if factory.finished.get() < factory.addresses {
        print_poems(factory.poems.borrow().iter().map(Vec::as_slice));
    }
    exit_status_after(&reactor, factory.failed.get())
}
