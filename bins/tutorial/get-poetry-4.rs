//! Get Poetry Now!, Twisted version 4.0: tutorial Part 8, "Deferred Poetry"
//! (`twisted-client-4/get-poetry.py`).
//!
//! Client 3.1 made its caller hand `get_poetry` a callback and an errback. Here `get_poetry(host,
//! port)` takes only the address, like a synchronous function would, and returns a `Deferred`: a
//! poem that has not arrived yet. Whoever calls it attaches what should happen next, and the
//! compiler checks each stage's types. `main` attaches `got_poem` and `poem_failed` as one pair, so
//! exactly one of them runs, and then `poem_done` with `add_both`, which runs whatever happened,
//! like a `finally` block; it is the one that counts the finished downloads and stops the reactor.
//!
//! The factory keeps the Deferred only until it fires it, then lets go of it (the pattern of Part 8,
//! here an `Option` taken out of its cell), so that nothing can fire it twice. A Deferred changes
//! nothing in how the program runs: it is still the reactor that calls the protocol, which calls
//! the factory, which fires the Deferred, which calls our callbacks, one after the other
//! (`get-poetry-4-stack` shows that stack).
//!
//! `--timeout` is Part 8's first exercise: a timed call, started with the connection attempt, fails
//! the Deferred with an error of our own and closes the connection; it is cancelled when the
//! Deferred fires first.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/science.txt         # terminal 2
//! cargo run --bin get-poetry-4 -- 10001 10002 10004                     # nothing on 10004
//! ```

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers, print_poems};
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::PoemOutput;
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, Failure};
use common::errln;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol,
};
use common::reactor::{DelayedCall, Reactor};

/// Download poems with a get_poetry function that returns a Deferred (tutorial Part 8, client
/// 4.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each failure is reported on stderr as
/// it happens ("Poem failed: ..."); once every address has given a poem or a failure, the poems are
/// printed in the order they ended, each followed by an empty line.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-4",
    version,
    after_help = "Example, with poetry servers on ports 10001 and 10002 and nothing on 10004:\n  \
                  get-poetry-4 10001 10002 10004\n  \
                  get-poetry-4 --timeout 2 10001 10002"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    /// Fail a poem that has not arrived this long after the connection attempt started: seconds (5)
    /// or with a unit (500ms). Without it, a poem may take as long as it takes (connecting still
    /// gives up after 30 s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// Also save each poem received as DIR/poem-N.txt, N being its place in the order the poems
    /// ended (the directory is created if needed).
    #[arg(long, value_name = "DIR")]
    save_dir: Option<PathBuf>,

    /// On a terminal, show one live line per download (bytes so far).
    #[arg(long)]
    progress: bool,
}

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
    poem: Vec<u8>,
}

impl Protocol for PoetryProtocol {
    fn data_received(&mut self, data: &[u8]) {
        self.poem.extend_from_slice(data);
        let factory = &self.factory;
        factory.progress.update(factory.task, self.poem.len());
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        match reason {
            // The poetry protocol has no framing: the server closing is the end of the poem.
            DisconnectReason::Done => self.factory.poem_finished(std::mem::take(&mut self.poem)),
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
            poem: Vec::new(),
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(Failure::new(reason.clone()));
    }
}

/// Downloads a poem from `host`:`port`. With a `timeout`, a poem that has not arrived that long
/// after the attempt started fails with a [`TimeoutError`]. The bytes received so far are shown on
/// line `task` of `progress`, when it is drawn.
///
/// Returns at once, with a Deferred that fires later, from the running reactor: with the poem, or
/// with a failure (the [`ConnectError`], a [`ConnectionLost`], the [`TimeoutError`]).
fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    progress: &Rc<TaskProgress>,
    task: usize,
) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        deferred: RefCell::new(Some(deferred.clone())),
        deadline: RefCell::new(None),
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

/// What `main` learns from its callbacks and errbacks.
struct Results {
    reactor: Reactor,
    addresses: usize,
    output: PoemOutput,
    /// The poems, in the order they arrived.
    poems: RefCell<Vec<Vec<u8>>>,
    /// How many addresses are done, with a poem or a failure.
    finished: Cell<usize>,
    failed: Cell<bool>,
    /// The `--progress` lines, drawn while the downloads run: what the callbacks print goes above
    /// them.
    progress: Rc<TaskProgress>,
}

impl Results {
    /// The callback: a poem arrived.
    fn got_poem(&self, poem: Vec<u8>) -> Result<(), Failure> {
        let mut poems = self.poems.borrow_mut();
        // Saved as it arrives, so that what did arrive is on disk whatever happens next.
        if let Err(error) = self.output.save(poems.len() + 1, &poem) {
            self.progress
                .above(|| report_error(format_args!("cannot save a poem: {error}")));
            self.failed.set(true);
        }
        poems.push(poem);
        Ok(())
    }

    /// The errback: the poem could not be had. Returning `Ok` handles the failure, so the chain
    /// goes on down the callback line, to `poem_done`.
    fn poem_failed(&self, failure: Failure) -> Result<(), Failure> {
        self.progress
            .above(|| errln!("Poem failed: {}", describe(&failure)));
        self.failed.set(true);
        Ok(())
    }

    /// Added with `add_both`, so it runs however the download went: it gets the failure only if
    /// `got_poem` or `poem_failed` themselves failed.
    fn poem_done(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        if let Err(failure) = outcome {
            self.progress.above(|| report_error(failure.report()));
            self.failed.set(true);
        }
        // The reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            let _ = self.reactor.stop();
        }
        Ok(())
    }
}

/// A failure as `<kind>: <message>`, the kind named as Twisted names its exceptions.
fn describe(failure: &Failure) -> String {
    match failure.downcast_ref::<ConnectError>() {
        Some(error) => format!("{}: {error}", error.kind_name()),
        None => format!("{}: {}", failure.short_type_name(), failure.error()),
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

    // One line per address, in the order of the command line, named as it was given.
    let labels: Vec<String> = options
        .servers
        .iter()
        .enumerate()
        .map(|(index, server)| format!("Task {}: {server}", index + 1))
        .collect();
    let progress = Rc::new(TaskProgress::new(options.progress, &labels));
    let results = Rc::new(Results {
        reactor: reactor.clone(),
        addresses: options.servers.len(),
        output: PoemOutput {
            save_dir: options.save_dir,
            print: false,
        },
        poems: RefCell::new(Vec::new()),
        finished: Cell::new(0),
        failed: Cell::new(false),
        progress: Rc::clone(&progress),
    });
    for (index, server) in options.servers.iter().enumerate() {
        let deferred = get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.timeout,
            &progress,
            index + 1,
        );
        let (for_poem, for_failure, for_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        deferred
            .add_callbacks(
                move |poem| for_poem.got_poem(poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.poem_done(outcome));
    }
    let _ = reactor.run();

    print_poems(results.poems.borrow().iter().map(Vec::as_slice));
    exit_status(results.failed.get())
}
