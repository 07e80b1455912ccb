//! Get Poetry Now!, Twisted version 3.1: tutorial Part 6, "And Then We Took It Higher"
//! (`twisted-client-3/get-poetry-1.py`).
//!
//! Client 3.0 could not tell its caller that something went wrong, so a dead server made it wait for
//! ever. In a synchronous program `get_poetry` would return an error, but here the failure is only
//! known long after `get_poetry` has returned: it has to be delivered asynchronously too, down a
//! path of its own. So `get_poetry` takes two callbacks, `callback(poem)` for success and
//! `errback(error)` for failure, the way a `try`/`except` has two branches. The factory passes on
//! what `client_connection_failed` tells it; `main` counts poems and failures, and stops the
//! reactor when every address has had one or the other.
//!
//! `--timeout` is Part 6's first exercise: a poem that takes too long goes to the errback with an
//! error of our own, and the connection is closed.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-3-1 -- 10004                               # nothing on 10004: fails
//! cargo run --bin get-poetry-3-1 -- 10001 10004                         # one poem, one failure
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status_after, explain_if_no_servers, print_poems};
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer, PoemTooLarge, SaveDirOption};
use common::cli::time_options::TimeoutOption;
use common::errln;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};

/// Download poems through a get_poetry function with a callback and an errback (tutorial Part 6,
/// client 3.1).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each failure is reported on stderr as
/// it happens ("Poem failed: ..."); once every address has given a poem or a failure, the poems are
/// printed in the order they ended, each followed by an empty line.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-3-1",
    version,
    after_help = "Example, with a poetry server on port 10001 and nothing on 10004:\n  \
                  get-poetry-3-1 10001 10004\n  \
                  get-poetry-3-1 --timeout 2 10001 10004"
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

/// Why a poem did not arrive: what the errback gets (in Twisted, a Failure). It prints as
/// `<kind>: <message>`, the kind named as Twisted names its exceptions.
#[derive(Debug)]
enum PoemError {
    /// The connection could not be made.
    Connect(ConnectError),
    /// The poem took longer than the timeout: the custom error of Part 6's first exercise.
    TimedOut(Duration),
    /// The poem grew larger than `--max-poem-size`.
    TooLarge(PoemTooLarge),
    /// The connection broke before the end of the poem.
    Lost(DisconnectReason),
}

impl fmt::Display for PoemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoemError::Connect(error) => write!(f, "{}: {error}", error.kind_name()),
            PoemError::TimedOut(limit) => write!(
                f,
                "TimeoutError: the poem took longer than {}",
                TimeFormat::Human.show(*limit)
            ),
            PoemError::TooLarge(too_large) => write!(f, "PoemTooLarge: {too_large}"),
            PoemError::Lost(reason) => write!(f, "ConnectionLost: {reason}"),
        }
    }
}

/// One download: the reactor makes one of these for the connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: PoemBuffer,
    /// The connection, to hang up on a poem too large.
    transport: Option<Rc<dyn Transport>>,
    /// Set when we hung up on a poem too large: the abort is then not the deadline's.
    too_large: Option<PoemTooLarge>,
    /// The timed call that hangs up on a late poem, when there is a timeout.
    deadline: Option<DelayedCall>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(Rc::clone(&transport));
        if let Some(limit) = self.factory.timeout {
            let late = move || transport.abort_connection();
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Err(too_large) = self.poem.push(data) {
            self.too_large = Some(too_large);
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
        match (reason, self.too_large.take(), self.factory.timeout) {
            (DisconnectReason::Done, _, _) => {
                self.factory.poem_finished(self.poem.take());
            }
            // We abort a connection for a poem too large, which data_received noted, or else for a
            // poem that was late.
            (DisconnectReason::Aborted, Some(too_large), _) => {
                self.factory.poem_failed(PoemError::TooLarge(too_large));
            }
            (DisconnectReason::Aborted, None, Some(limit)) => {
                self.factory.poem_failed(PoemError::TimedOut(limit));
            }
            (reason, _, _) => self.factory.poem_failed(PoemError::Lost(reason.clone())),
        }
    }
}

/// Makes the protocol and passes on how the download went: the poem to the callback, a failure to
/// the errback.
struct PoetryClientFactory {
    /// This factory, so that the protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while the protocol is being made.
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    callback: Box<dyn Fn(Vec<u8>)>,
    errback: Box<dyn Fn(PoemError)>,
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: Vec<u8>) {
        (self.callback)(poem);
    }

    fn poem_failed(&self, error: PoemError) {
        (self.errback)(error);
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            poem: PoemBuffer::new(self.max_poem_size),
            transport: None,
            too_large: None,
            deadline: None,
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    /// Called after `get_poetry` has long returned: the error can only go to a callback.
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(PoemError::Connect(reason.clone()));
    }
}

/// Downloads a poem from `host`:`port`, then calls `callback(poem)`, or `errback(error)` if the
/// poem cannot be had. With a `timeout`, gives up connecting after it, and fails a poem that takes
/// longer than it; a poem larger than `max_poem_size` fails too.
///
/// Returns at once: the connection is made, and the poem read, later, by the running reactor.
fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    callback: impl Fn(Vec<u8>) + 'static,
    errback: impl Fn(PoemError) + 'static,
) {
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout,
        max_poem_size,
        callback: Box::new(callback),
        errback: Box::new(errback),
    });
    reactor.connect_tcp(host, port, factory, timeout.unwrap_or(CONNECT_TIMEOUT));
}

/// What `main` learns from its callbacks and errbacks.
struct Results {
    reactor: Reactor,
    addresses: usize,
    save_dir: SaveDirOption,
    /// The poems, in the order they arrived.
    poems: RefCell<Vec<Vec<u8>>>,
    failures: Cell<usize>,
    /// A poem could not be saved.
    unsaved: Cell<bool>,
}

impl Results {
    /// The callback given to `get_poetry` for task `task` (its place on the command line).
    fn got_poem(&self, task: usize, poem: Vec<u8>) {
        {
            let mut poems = self.poems.borrow_mut();
            // Saved as it arrives, so that what did arrive is on disk whatever happens next.
            if let Err(error) = self.save_dir.save(task, &poem) {
                report_error(format_args!("cannot save a poem: {error}"));
                self.unsaved.set(true);
            }
            poems.push(poem);
        }
        self.poem_done();
    }

    /// The errback given to `get_poetry`.
    fn poem_failed(&self, error: PoemError) {
        errln!("Poem failed: {error}");
        self.failures.set(self.failures.get() + 1);
        self.poem_done();
    }

    fn poem_done(&self) {
        if self.poems.borrow().len() + self.failures.get() == self.addresses {
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
        failures: Cell::new(0),
        unsaved: Cell::new(false),
    });
    for (index, server) in options.servers.iter().enumerate() {
        let (for_poem, for_error) = (Rc::clone(&results), Rc::clone(&results));
        get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.timeout.timeout,
            options.max_poem_size,
            move |poem| for_poem.got_poem(index + 1, poem),
            move |error| for_error.poem_failed(error),
        );
    }
    let _ = reactor.run();

    print_poems(results.poems.borrow().iter().map(Vec::as_slice));
    exit_status_after(
        &reactor,
        results.failures.get() > 0 || results.unsaved.get(),
    )
}
