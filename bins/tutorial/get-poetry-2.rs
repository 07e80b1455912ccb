//! Get Poetry Now!, Twisted version 2.0: tutorial Part 5, "Twistier Poetry"
//! (`twisted-client-2/get-poetry.py`).
//!
//! The sockets are gone. The client asks the reactor to make each connection (`connect_tcp`) and
//! hands it a factory. For every connection that succeeds, the reactor asks the factory for a
//! protocol and then calls that protocol back: `connection_made`, `data_received` for each piece of
//! poem, `connection_lost` at the end. Reading the socket is the reactor's job now (its transport is
//! the read descriptor that client 1.0 wrote itself); ours is only to say what the bytes mean. A
//! connection that cannot be made never gets a protocol, so it is the factory that hears of it, in
//! `client_connection_failed`.
//!
//! Task numbers are handed out as connections succeed: they follow the order in which the servers
//! answered, not the order of the command line, and an address that fails gets none. The poems are
//! reported in the order they were completed. `--timeout` is Part 5's first exercise: one timed call
//! per connection, which hangs up on a poem that is late and is cancelled when the poem is on time.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10000 poetry/ecstasy.txt --num-bytes 30    # terminal 1
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt               # terminal 2
//! cargo run --bin slowpoetry -- --port 10002 poetry/science.txt                   # terminal 3
//! cargo run --bin get-poetry-2 -- 10000 10001 10002                               # terminal 4
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
use common::cli::poem::{MaxPoemSize, PoemBuffer, PoemOutput};
use common::cli::progress::{ProgressOption, TaskProgress};
use common::cli::time_options::{TimeFormatOption, TimeoutOption};
use common::cli::timeline::{Timeline, TimelineOption};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Download poems with a protocol and a client factory (tutorial Part 5, client 2.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. The reactor makes the connections and
/// reads the sockets; the program prints a line for every piece of poem it is given. Tasks are
/// numbered in the order the connections succeed, and the poems are reported in the order they end.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-2",
    version,
    after_help = "Example, with the three slow servers of Part 2 running:\n  \
                  get-poetry-2 10000 10001 10002\n  \
                  get-poetry-2 --timeout 5 10000 10001 10002\n  \
                  get-poetry-2 --timeline twisted.svg 10000 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

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

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One download: the reactor makes one of these per connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    task: usize,
    /// The server's address, as the transport's `get_peer` gives it.
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
            let (task, factory) = (self.task, Rc::clone(&self.factory));
            let late = move || {
                factory.above(|| {
                    errln!(
                        "Task {task}: timed out after {}",
                        TimeFormat::Human.show(limit)
                    );
                });
                transport.abort_connection();
            };
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        // The poem arrives in pieces of any size; only the end of the connection says it is whole.
        if let Err(too_large) = self.poem.push(data) {
            let task = self.task;
            self.factory.above(|| errln!("Task {task}: {too_large}"));
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
            return;
        }
        self.factory
            .timeline
            .borrow_mut()
            .piece(self.task, data.len());
        if self.factory.progress.is_drawing() {
            self.factory.progress.update(self.task, self.poem.len());
        } else {
            outln!(
                "Task {}: got {} bytes of poetry from {}",
                self.task,
                data.len(),
                self.peer
            );
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take() {
            // An error here only means the call has already run: the poem was late.
            let _ = deadline.cancel();
        }
        let poem = self.poem.take();
        let how = if reason.is_clean() {
            "finished"
        } else {
            "failed"
        };
        self.factory.progress.finish(self.task, how);
        let failed = !matches!(reason, DisconnectReason::Done);
        self.factory.timeline.borrow_mut().end(self.task, failed);
        let outcome = match reason {
            DisconnectReason::Done => Some((self.task, poem)),
            // Only the deadline and a poem too large abort a connection in this program, and each
            // has said so.
            DisconnectReason::Aborted => None,
            DisconnectReason::Lost(_) => {
                let task = self.task;
                self.factory.above(|| errln!("Task {task}: {reason}"));
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
    max_poem_size: MaxPoemSize,
    output: PoemOutput,
    /// How many addresses there are to finish, with a poem or a failure.
    addresses: usize,
    finished: Cell<usize>,
    next_task: Cell<usize>,
    /// With --progress on a terminal: a live line per task, numbered as connections are made.
    progress: TaskProgress,
    /// With --timeline: when each connection was made, each piece came and each poem ended.
    timeline: RefCell<Timeline>,
    /// The poems received, with their task numbers, in the order they were completed.
    poems: RefCell<Vec<(usize, Vec<u8>)>>,
    failed: Cell<bool>,
}

impl PoetryClientFactory {
    /// Runs `print` with the live progress lines, if any, out of the way: the lines printed during
    /// the run go above them.
    fn above(&self, print: impl FnOnce()) {
        self.progress.above(print);
    }

    /// One address is done: with its task number and poem, or `None` when it failed.
    fn poem_finished(&self, outcome: Option<(usize, Vec<u8>)>) {
        match outcome {
            Some((task, poem)) => {
                if let Err(error) = self.output.save_dir.save(task, &poem) {
                    self.above(|| {
                        report_error(format_args!("cannot save the poem of task {task}: {error}"));
                    });
                    self.failed.set(true);
                }
                self.poems.borrow_mut().push((task, poem));
            }
            None => self.failed.set(true),
        }
        // No lock, and no risk of two callbacks both seeing the last poem and stopping the reactor
        // twice: the reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            self.above(|| {
                for (task, poem) in self.poems.borrow().iter() {
                    outln!("Task {task}: {} bytes of poetry", poem.len());
                }
            });
            let _ = self.reactor.stop();
        }
    }
}

impl Factory for PoetryClientFactory {
    /// Called only once a connection has succeeded, which is why the task numbers follow the order
    /// of the connections.
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let factory = self.me.upgrade()?;
        let task = self.next_task.get();
        self.next_task.set(task + 1);
        // The lane is labelled host:port, shorter than the Python-style peer of the lines.
        let mut timeline = self.timeline.borrow_mut();
        match peer {
            Address::Tcp(address) => timeline.start(task, format_args!("Task {task}: {address}")),
            other => timeline.start(task, format_args!("Task {task}: {other}")),
        }
        Some(Box::new(PoetryProtocol {
            factory,
            task,
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
        self.above(|| {
            outln!("Failed to connect to: {destination}");
            report_connect_failure(&destination, reason);
        });
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
    // Tasks are numbered as their connections are made, so the lines are too.
    let labels: Vec<String> = (1..=options.servers.len())
        .map(|task| format!("Task {task}"))
        .collect();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout: options.timeout.timeout,
        max_poem_size: options.max_poem_size,
        output: options.output,
        addresses: options.servers.len(),
        finished: Cell::new(0),
        next_task: Cell::new(1),
        progress: TaskProgress::new(&options.progress, &labels),
        timeline: RefCell::new(Timeline::new(&options.timeline, started)),
        poems: RefCell::new(Vec::new()),
        failed: Cell::new(false),
    });
    // These only ask for the connections: none is made before the reactor runs.
    for server in &options.servers {
        reactor.connect_tcp(
            &server.host,
            server.port,
            Rc::clone(&factory),
            options.timeout.timeout.unwrap_or(CONNECT_TIMEOUT),
        );
    }
    let _ = reactor.run();

    // The line of an address that failed is still drawn, waiting for a connection that never came.
    let poems = factory.poems.borrow();
    let elapsed = started.elapsed();
    factory.above(|| {
        outln!(
            "Got {} poems in {}",
            poems.len(),
            options.time_format.time_format.show(elapsed)
        );
        factory
            .output
            .print(poems.iter().map(|(task, poem)| (*task, poem.as_slice())));
    });
    let heading = "get-poetry-2, the asynchronous model on the reactor";
    if let Err(error) = factory.timeline.borrow().save(heading, elapsed) {
        factory.above(|| report_error(error));
        return ExitCode::FAILURE;
    }
    exit_status_after(&reactor, factory.failed.get())
}
