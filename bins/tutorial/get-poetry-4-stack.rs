//! Get Poetry Now!, Twisted version 4.0, with stacktrace: tutorial Part 8, "Deferred Poetry"
//! (`twisted-client-4/get-poetry-stack.py`).
//!
//! Client 4.0 with one change: the callback that receives the first complete poem prints the stack
//! it was called on, and ends the program. Read it from the bottom up: `main` calls `Reactor::run`;
//! the reactor's TCP code sees the server close the connection and calls our protocol's
//! `connection_lost`, which tells the factory, which fires the Deferred (`Deferred::callback`, then
//! the Deferred's own machinery in `common::defer`), which calls `got_poem`. So a Deferred is no new
//! engine: the reactor still makes every call, and a callback attached to a Deferred is still a
//! callback, which would block the whole program if it blocked.
//!
//! Only the frames of this program and of `common` are printed, std's and tokio's being counted in
//! the last line; `got_poem` is never inlined, so its frame is there in a release build too. A poem
//! that fails is reported as client 4.0 reports it; if every poem fails, the program ends with status
//! 1 and no stack.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-4-stack -- 10001                            # terminal 2
//! ```

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status_after, explain_if_no_servers};
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::cli::stack::lesson_stack;
use common::cli::time_options::TimeoutOption;
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Show the stack a Deferred's callback is called on (tutorial Part 8, client 4.0 with
/// stacktrace).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. As soon as the first poem is
/// complete, the callback that receives it prints the Rust stack (on stderr) and the program exits:
/// the stack shows main, the reactor's run, the reactor's TCP code, our protocol and factory, the
/// Deferred firing, and the callback. Failures are reported on stderr ("Poem failed: ...").
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-4-stack",
    version,
    after_help = "Example, with a poetry server running on port 10001:\n  get-poetry-4-stack 10001"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,
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
        }
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
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: Vec<u8>) {
        if let Some(deferred) = self.release_deferred() {
            // Taken out of the factory, so this is its first firing: it cannot fail.
            let _ = deferred.callback(poem);
        }
    }

    fn poem_failed(&self, failure: Failure) {
        if let Some(deferred) = self.release_deferred() {
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
/// fails with a `PoemTooLarge`.
///
/// Returns at once, with a Deferred that fires later, from the running reactor: with the poem, or
/// with a failure (the [`ConnectError`], a [`ConnectionLost`], the [`TimeoutError`], the
/// `PoemTooLarge`).
fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        deferred: RefCell::new(Some(deferred.clone())),
        deadline: RefCell::new(None),
        max_poem_size,
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

/// What `main` learns from its callbacks and errbacks, until the first poem ends the program.
struct Results {
    reactor: Reactor,
    addresses: usize,
    /// How many addresses are done (with a failure: a poem ends everything).
    finished: Cell<usize>,
    failed: Cell<bool>,
}

/// The callback: a poem arrived. Shows how we got here, and ends the program.
/// Never inlined, so that its frame is there in a release build too.
#[inline(never)]
fn got_poem(_poem: Vec<u8>) -> Result<(), Failure> {
    outln!("The Rust stack:");
    errln!("{}", lesson_stack(env!("CARGO_CRATE_NAME")));
    // At once, as the tutorial's version does: nothing else is printed, no other poem is awaited.
    std::process::exit(0);
}

impl Results {
    /// The errback: the poem could not be had. Returning `Ok` handles the failure, so the chain
    /// goes on down the callback line, to `poem_done`.
    fn poem_failed(&self, failure: Failure) -> Result<(), Failure> {
        errln!("Poem failed: {}", describe(&failure));
        self.failed.set(true);
        Ok(())
    }

    /// Added with `add_both`, so it runs however the download went: it gets the failure only if
    /// `got_poem` or `poem_failed` themselves failed.
    fn poem_done(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        if let Err(failure) = outcome {
            report_error(failure.report());
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

    let results = Rc::new(Results {
        reactor: reactor.clone(),
        addresses: options.servers.len(),
        finished: Cell::new(0),
        failed: Cell::new(false),
    });
    for server in &options.servers {
        let deferred = get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.timeout.timeout,
            options.max_poem_size,
        );
        let (for_failure, for_done) = (Rc::clone(&results), Rc::clone(&results));
        deferred
            .add_callbacks(got_poem, move |failure| for_failure.poem_failed(failure))
            .add_both(move |outcome| for_done.poem_done(outcome));
    }
    let _ = reactor.run();

    exit_status_after(&reactor, results.failed.get())
}
