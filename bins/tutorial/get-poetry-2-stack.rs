//! Get Poetry Now!, Twisted version 2.0, with stacktrace: tutorial Part 5, "Twistier Poetry"
//! (`twisted-client-2/get-poetry-stack.py`).
//!
//! Client 2.0 with one change: the first time any protocol is given data, `data_received` prints the
//! stack it was called on and ends the program. Read the stack from the bottom up: `main` calls
//! `Reactor::run`; the reactor's stream code (`common::reactor::stream`: the connection's task, which reads
//! the socket) calls our `data_received`. That is the lesson: the read callback that client 1.0
//! wrote itself is still there, hidden inside the transport. Higher abstractions are built on the
//! lower ones, not instead of them.
//!
//! Only the frames of this program and of `common` are printed, std's and tokio's being counted in
//! the last line; `data_received` is never inlined, so its frame is there in a release build too.
//! Since no poem gets past its first byte, this client has nothing to save; only an address that
//! fails, or a server that closes without sending anything, lets it reach its summary.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10000 poetry/ecstasy.txt     # terminal 1
//! cargo run --bin get-poetry-2-stack -- 10000                        # terminal 2
//! ```

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status_after, explain_if_no_servers, report_connect_failure};
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::stack::lesson_stack;
use common::cli::time_options::{TimeFormatOption, TimeoutOption};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Show the stack a protocol's data_received is called on (tutorial Part 5, client 2.0 with
/// stacktrace).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. As soon as the first bytes of any
/// poem arrive, the program prints the Rust stack (on stderr) and exits: the stack shows main, the
/// reactor's run, and the reactor's TCP code calling data_received.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-2-stack",
    version,
    after_help = "Example, with a slow server running on port 10000:\n  get-poetry-2-stack 10000"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    time_format: TimeFormatOption,
}

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One download: the reactor makes one of these per connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    task: usize,
    /// The timed call that hangs up on a late poem, when there is a `--timeout`.
    deadline: Option<DelayedCall>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        if let Some(limit) = self.factory.timeout {
            let task = self.task;
            let late = move || {
                errln!(
                    "Task {task}: timed out after {}",
                    TimeFormat::Human.show(limit)
                );
                transport.abort_connection();
            };
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    // The frame the lesson is about: kept even in a release build, which would inline it.
    #[inline(never)]
    fn data_received(&mut self, _data: &[u8]) {
        outln!("The Rust stack:");
        errln!("{}", lesson_stack(env!("CARGO_CRATE_NAME")));
        // At once, as the tutorial's version does: no summary, no other connection finishes.
        std::process::exit(0);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take() {
            // An error here only means the call has already run: the poem was late.
            let _ = deadline.cancel();
        }
        let outcome = match reason {
            // A clean end before any data: the server sent an empty poem.
            DisconnectReason::Done => Some(self.task),
            // Only the deadline aborts a connection in this program, and it has said so.
            DisconnectReason::Aborted => None,
            DisconnectReason::Lost(_) => {
                errln!("Task {}: {reason}", self.task);
                None
            }
        };
        self.factory.poem_finished(outcome);
    }
}

/// Makes the protocols, numbers the tasks, and keeps the score of the whole download.
struct PoetryClientFactory {
    /// This factory, so that each protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while a protocol is being made.
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    /// How many addresses there are to finish, with a poem or a failure.
    addresses: usize,
    finished: Cell<usize>,
    next_task: Cell<usize>,
    /// The tasks whose (necessarily empty) poems ended, in the order they ended.
    poems: RefCell<Vec<usize>>,
    failed: Cell<bool>,
}

impl PoetryClientFactory {
    /// One address is done: with its task number, or `None` when it failed.
    fn poem_finished(&self, outcome: Option<usize>) {
        match outcome {
            Some(task) => self.poems.borrow_mut().push(task),
            None => self.failed.set(true),
        }
        // The reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            for task in self.poems.borrow().iter() {
                outln!("Task {task}: 0 bytes of poetry");
            }
            let _ = self.reactor.stop();
        }
    }
}

impl Factory for PoetryClientFactory {
    /// Called only once a connection has succeeded, which is why the task numbers follow the order
    /// of the connections.
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let factory = self.me.upgrade()?;
        let task = self.next_task.get();
        self.next_task.set(task + 1);
        Some(Box::new(PoetryProtocol {
            factory,
            task,
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

    let started = Instant::now();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout: options.timeout.timeout,
        addresses: options.servers.len(),
        finished: Cell::new(0),
        next_task: Cell::new(1),
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

    outln!(
        "Got {} poems in {}",
        factory.poems.borrow().len(),
        options.time_format.time_format.show(started.elapsed())
    );
    exit_status_after(&reactor, factory.failed.get())
}
