//! Clients 4.0, 5.0 and 5.1 share this part (each program includes this file with `#[path]`): the
//! download, where `get_poetry` returns at once a Deferred of the poem, and the tally that ends
//! each poem's chain of callbacks, with the arguments that come first on their command lines and
//! their progress lines.
//!
//! Client 4.0 (Part 8) is where the download comes in. Its factory holds the Deferred only until it
//! fires it, then lets go of it, so that nothing can fire it twice; its `--timeout` (Part 8's first
//! exercise) is a timed call that fails the Deferred with an error of our own, and a poem larger
//! than `--max-poem-size` fails it with a `PoemTooLarge`. Clients 5.0 and 5.1
//! (Part 10) change only the callbacks attached to that Deferred, which is why the download is not
//! copied into each of them. `get-poetry-4-stack` keeps its own copy: the stack it prints is its
//! lesson, and the frames in it should name functions of the one file the student is reading.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Args;
use common::cli::address::ServerAddress;
use common::cli::duration::TimeFormat;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::cli::progress::{ProgressOption, TaskProgress};
use common::cli::time_options::TimeoutOption;
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};

/// The arguments every one of these clients takes first: where the poems are, how long one may
/// take, and how large it may be.
#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    pub(crate) servers: Vec<ServerAddress>,

    #[command(flatten)]
    pub(crate) timeout: TimeoutOption,

    #[command(flatten)]
    pub(crate) max_poem_size: MaxPoemSize,
}

/// The `--progress` lines, drawn only when `option` asks for them and on a terminal: one per
/// address, in the order of the command line, named as it was given.
pub(crate) fn task_progress(
    option: &ProgressOption,
    servers: &[ServerAddress],
) -> Rc<TaskProgress> {
    let labels: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(index, server)| format!("Task {}: {server}", index + 1))
        .collect();
    Rc::new(TaskProgress::new(option, &labels))
}

// ---- The download: get_poetry returns a Deferred ----

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The custom error of Part 8's first exercise: the poem did not arrive in time.
#[derive(Debug)]
struct TimeoutError(Duration);

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the poem took longer than {}",
            TimeFormat::Human.show(self.0)
        )
    }
}

impl Error for TimeoutError {}

/// The connection broke before the server closed it.
#[derive(Debug)]
struct ConnectionLost(DisconnectReason);

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for ConnectionLost {}

/// One download: the reactor makes one of these for the connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: PoemBuffer,
    /// The connection, to hang up on a poem too large.
    transport: Option<Rc<dyn Transport>>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        // Too large: fail the poem, then hang up. The end of the connection finds nothing to fire.
        if let Err(too_large) = self.poem.push(data) {
            self.factory.poem_failed(Failure::new(too_large));
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
            return;
        }
        let factory = &self.factory;
        factory.progress.update(factory.task, self.poem.len());
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        match reason {
            // The poetry protocol has no framing: the server closing is the end of the poem.
            DisconnectReason::Done => self.factory.poem_finished(self.poem.take()),
            reason => self
                .factory
                .poem_failed(Failure::new(ConnectionLost(reason.clone()))),
        }
    }
}

/// Makes the protocol, and fires the Deferred that `get_poetry` returned.
struct PoetryClientFactory {
    /// This factory, so that the protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while the protocol is being made.
    me: Weak<PoetryClientFactory>,
    /// The Deferred, until it is fired.
    deferred: RefCell<Option<Deferred<Vec<u8>>>>,
    /// The timed call that gives up on a late poem, when there is a timeout.
    deadline: RefCell<Option<DelayedCall>>,
    max_poem_size: MaxPoemSize,
    /// The `--progress` lines of the whole run (drawn only on a terminal), and this download's line
    /// among them: its place on the command line.
    progress: Rc<TaskProgress>,
    task: usize,
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: Vec<u8>) {
        if let Some(deferred) = self.release_deferred() {
            self.progress.finish(self.task, "finished");
            // Taken out of the factory, so this is its first firing: it cannot fail.
            let _ = deferred.callback(poem);
        }
    }

    fn poem_failed(&self, failure: Failure) {
        if let Some(deferred) = self.release_deferred() {
            self.progress.finish(self.task, "failed");
            let _ = deferred.errback(failure);
        }
    }

    /// The deadline is up: close the connection (or give up the attempt), and fail the poem.
    fn timed_out(&self, connector: &Connector, limit: Duration) {
        connector.disconnect();
        self.poem_failed(Failure::new(TimeoutError(limit)));
    }

    /// Lets go of the Deferred, to fire it: whatever happens later (the end of a connection closed
    /// by the deadline, say) finds nothing to fire. The deadline is no longer needed either.
    fn release_deferred(&self) -> Option<Deferred<Vec<u8>>> {
        if let Some(deadline) = self.deadline.borrow_mut().take() {
            // An error here only means the call is the one running now: the poem was late.
            let _ = deadline.cancel();
        }
        self.deferred.borrow_mut().take()
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            poem: PoemBuffer::new(self.max_poem_size),
            transport: None,
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(Failure::new(reason.clone()));
    }
}

/// Downloads a poem from `host`:`port`. With a `timeout`, a poem that has not arrived that long
/// after the attempt started fails with a [`TimeoutError`]; a poem larger than `max_poem_size`
/// fails with a `PoemTooLarge`. The bytes received so far are shown on line `task` of `progress`,
/// when it is drawn.
///
/// Returns at once, with a Deferred that fires later, from the running reactor: with the poem, or
/// with a failure (the [`ConnectError`], a [`ConnectionLost`], the [`TimeoutError`], the
/// `PoemTooLarge`).
pub(crate) fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    progress: &Rc<TaskProgress>,
    task: usize,
) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        deferred: RefCell::new(Some(deferred.clone())),
        deadline: RefCell::new(None),
        max_poem_size,
        progress: Rc::clone(progress),
        task,
    });
    let connector = reactor.connect_tcp(host, port, Rc::clone(&factory), CONNECT_TIMEOUT);
    if let Some(limit) = timeout {
        let weak = Rc::downgrade(&factory);
        let late = move || {
            if let Some(factory) = weak.upgrade() {
                factory.timed_out(&connector, limit);
            }
        };
        *factory.deadline.borrow_mut() = Some(reactor.call_later(limit, late));
    }
    deferred
}

// ---- The end of every chain: count the addresses done, stop after the last ----

/// What every poem's chain ends in, whatever its callbacks in between: a count of the addresses
/// done, and whether anything went wrong on the way.
pub(crate) struct Tally {
    reactor: Reactor,
    addresses: usize,
    finished: Cell<usize>,
    failed: Cell<bool>,
    /// The `--progress` lines, drawn while the downloads run: what the callbacks print goes above
    /// them.
    progress: Rc<TaskProgress>,
}

impl Tally {
    /// A tally of `addresses` downloads, which stops `reactor` when all of them are done.
    pub(crate) fn new(reactor: &Reactor, addresses: usize, progress: &Rc<TaskProgress>) -> Tally {
        Tally {
            reactor: reactor.clone(),
            addresses,
            finished: Cell::new(0),
            failed: Cell::new(false),
            progress: Rc::clone(progress),
        }
    }

    /// Something went wrong: `report` says what, above the progress lines, and the exit status will
    /// be 1.
    pub(crate) fn fail(&self, report: impl FnOnce()) {
        self.progress.above(report);
        self.failed.set(true);
    }

    /// Whether anything went wrong during the run.
    pub(crate) fn failed(&self) -> bool {
        self.failed.get()
    }

    /// The last stage of every chain, added with `add_both`, so that it runs however the download
    /// went, like a `finally` block: it gets a failure only if the callbacks before it themselves
    /// failed.
    pub(crate) fn poem_done(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        if let Err(failure) = outcome {
            self.fail(|| report_error(failure.report()));
        }
        // The reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            let _ = self.reactor.stop();
        }
        Ok(())
    }
}
