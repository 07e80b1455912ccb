//! Get Poetry Now!, Twisted version 7.0: tutorial Part 17, "Just Another Way to Spell 'Callback'"
//! (`twisted-client-7/get-poetry.py`).
//!
//! The same client as 6.0 (download a poem, have the transform server cummingsify it), but the
//! steps of one poem are written as one `async` block, top to bottom, as a synchronous function
//! would be: download the poem, `.await` it; ask for the transform, `.await` it; a failure at an
//! `.await` is handled by an ordinary `match`, where client 6.0 needed a callback, an errback and a
//! Deferred returned from a callback. Python spells this with a generator and `inlineCallbacks`;
//! Rust has `async`/`.await`, and `Deferred::from_future` turns the block into a Deferred.
//!
//! Nothing is blocking for all that: at each `.await` the block gives control back to the reactor,
//! which goes on with the other poems, and resumes the block when the Deferred it awaits fires. The
//! downloads, protocols and factories are those of client 6.0, unchanged: `.await` works on the
//! Deferreds they already return. Each poem is printed as soon as its block has finished; a counter
//! of finished blocks stops the reactor.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                          # terminal 1
//! cargo run --bin fastpoetry -- --port 10002 poetry/fascination.txt          # terminal 2
//! cargo run --bin fastpoetry -- --port 10003 poetry/science.txt              # terminal 3
//! cargo run --bin get-poetry-7 -- 10001 10002 10003                          # terminal 4
//! ```
//!
//! Try again with one or more of the servers stopped.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers};
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, Failure};
use common::protocol::{
    ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Download poems and have them cummingsified by a transform server, each poem's steps written as
/// one async block (tutorial Part 17, client 7.0).
///
/// The first address is the transform server's, the others are poetry servers; each is
/// [host:]port, a bare port meaning 127.0.0.1. Every poem is sent to the transform server, and kept
/// as it was if that fails ("Cummingsify failed! <why>" on stderr). Each poem is printed as soon as
/// it is ready, followed by an empty line; a failed download is reported on stderr ("The poem
/// download failed: <why>").
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-7",
    version,
    after_help = "Example, with a transform server on port 10001 and poetry servers on ports 10002 \
                  and 10003:\n  \
                  get-poetry-7 10001 10002 10003\n\
                  The poems of 10002 and 10003 are transformed by the server on 10001."
)]
struct Options {
    /// The transform server, as [host:]port.
    #[arg(value_name = "XFORM_ADDRESS")]
    xform_server: Option<ServerAddress>,

    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    /// Give up on a poem, or a transform, that has not ended this long after connecting, and on a
    /// connection not made by then: seconds (5) or with a unit (500ms). Without it, they may take as
    /// long as they take (connecting still gives up after 30 s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// On a terminal, show one live line per download (bytes so far).
    #[arg(long)]
    progress: bool,
}

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

// ---- Downloading a poem: as in client 6.0 ----

/// Why a download failed once connected. A connection that could not be made fails with the
/// reactor's own `ConnectError`.
#[derive(Debug)]
enum PoemError {
    /// The connection broke before the end of the poem.
    Lost(DisconnectReason),
    /// The poem took longer than the timeout.
    TimedOut(Duration),
}

impl fmt::Display for PoemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoemError::Lost(reason) => write!(f, "{reason}"),
            PoemError::TimedOut(limit) => write!(
                f,
                "the poem took longer than {}",
                TimeFormat::Human.show(*limit)
            ),
        }
    }
}

impl std::error::Error for PoemError {}

/// One download.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: Vec<u8>,
    /// The timed call that hangs up on a late poem, when there is a timeout.
    deadline: Option<DelayedCall>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        if let Some(limit) = self.factory.timeout {
            let late = move || transport.abort_connection();
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        self.poem.extend_from_slice(data);
        let factory = &self.factory;
        factory.progress.update(factory.line, self.poem.len());
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take() {
            // An error here only means the call has already run: the poem was late.
            let _ = deadline.cancel();
        }
        match (reason, self.factory.timeout) {
            (DisconnectReason::Done, _) => {
                let poem = String::from_utf8_lossy(&self.poem).into_owned();
                self.factory.poem_finished(poem);
            }
            // Only the deadline aborts a connection here, so an abort means the poem was late.
            (DisconnectReason::Aborted, Some(limit)) => {
                self.factory.poem_failed(PoemError::TimedOut(limit).into());
            }
            (reason, _) => self
                .factory
                .poem_failed(PoemError::Lost(reason.clone()).into()),
        }
    }
}

/// Makes the download's protocol, and fires the download's Deferred.
struct PoetryClientFactory {
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    /// Taken out when fired, so that it fires once whatever happens afterwards.
    deferred: RefCell<Option<Deferred<String>>>,
    /// The `--progress` lines of the downloads (drawn only on a terminal), and this download's line
    /// among them.
    progress: Rc<TaskProgress>,
    line: usize,
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: String) {
        let deferred = self.deferred.borrow_mut().take();
        if let Some(deferred) = deferred {
            self.progress.finish(self.line, "finished");
            let _ = deferred.callback(poem);
        }
    }

    fn poem_failed(&self, failure: Failure) {
        let deferred = self.deferred.borrow_mut().take();
        if let Some(deferred) = deferred {
            self.progress.finish(self.line, "failed");
            let _ = deferred.errback(failure);
        }
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: SocketAddr) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            poem: Vec::new(),
            deadline: None,
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(reason.clone().into());
    }
}

/// Downloads a poem: returns at once a Deferred that fires with the poem, or fails. The bytes
/// received so far are shown on line `line` of `progress`, when it is drawn.
fn get_poetry(
    reactor: &Reactor,
    server: &ServerAddress,
    timeout: Option<Duration>,
    progress: &Rc<TaskProgress>,
    line: usize,
) -> Deferred<String> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout,
        deferred: RefCell::new(Some(deferred.clone())),
        progress: Rc::clone(progress),
        line,
    });
    reactor.connect_tcp(
        &server.host,
        server.port,
        factory,
        timeout.unwrap_or(CONNECT_TIMEOUT),
    );
    deferred
}

// ---- Asking the transform server: as in client 6.0 ----

/// Why a transform failed once connected. A connection that could not be made fails with the
/// reactor's own `ConnectError`.
#[derive(Debug)]
enum TransformError {
    /// The connection ended before a reply came: the server refused the request, or broke.
    NoReply(DisconnectReason),
    /// No reply within the timeout.
    TimedOut(Duration),
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::NoReply(DisconnectReason::Done) => {
                write!(
                    f,
                    "The transform server closed the connection without a reply."
                )
            }
            TransformError::NoReply(reason) => write!(f, "{reason}"),
            TransformError::TimedOut(limit) => write!(
                f,
                "no reply from the transform server within {}",
                TimeFormat::Human.show(*limit)
            ),
        }
    }
}

impl std::error::Error for TransformError {}

/// One transform request: send it as soon as connected, hang up when the reply comes.
struct TransformClientProtocol {
    factory: Rc<TransformClientFactory>,
    deadline: Option<DelayedCall>,
}

impl NetstringHandler for TransformClientProtocol {
    fn connection_made(&mut self, netstrings: &mut Netstrings) {
        let request = format!("{}.{}", self.factory.xform_name, self.factory.poem);
        netstrings.send_string(request.as_bytes());
        if let Some(limit) = self.factory.timeout {
            let transport = Rc::clone(netstrings.transport());
            let late = move || transport.abort_connection();
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
        netstrings.lose_connection();
        self.factory.handle_poem(payload);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        if let Some(deadline) = self.deadline.take() {
            let _ = deadline.cancel();
        }
    }
}

/// Holds one request (the transform's name and the poem) and the Deferred of its reply.
struct TransformClientFactory {
    me: Weak<TransformClientFactory>,
    reactor: Reactor,
    timeout: Option<Duration>,
    xform_name: String,
    poem: String,
    deferred: RefCell<Option<Deferred<String>>>,
}

impl TransformClientFactory {
    fn handle_poem(&self, reply: &[u8]) {
        let deferred = self.deferred.borrow_mut().take();
        if let Some(deferred) = deferred {
            let _ = match String::from_utf8(reply.to_vec()) {
                Ok(poem) => deferred.callback(poem),
                Err(error) => deferred.errback(error),
            };
        }
    }

    fn fail(&self, failure: Failure) {
        let deferred = self.deferred.borrow_mut().take();
        if let Some(deferred) = deferred {
            let _ = deferred.errback(failure);
        }
    }
}

impl Factory for TransformClientFactory {
    fn build_protocol(&self, _peer: SocketAddr) -> Option<Box<dyn Protocol>> {
        let handler = TransformClientProtocol {
            factory: self.me.upgrade()?,
            deadline: None,
        };
        Some(Box::new(NetstringReceiver::new(handler)))
    }
}

impl ClientFactory for TransformClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.fail(reason.clone().into());
    }

    /// The connection is over. If the reply came, the Deferred has fired already and this does
    /// nothing; otherwise the request failed.
    fn client_connection_lost(&self, _connector: &Connector, reason: &DisconnectReason) {
        let error = match (reason, self.timeout) {
            (DisconnectReason::Aborted, Some(limit)) => TransformError::TimedOut(limit),
            (reason, _) => TransformError::NoReply(reason.clone()),
        };
        self.fail(error.into());
    }
}

/// The transform server as the rest of the program sees it: one asynchronous method, no hosts or
/// ports or protocols.
struct TransformProxy {
    reactor: Reactor,
    server: ServerAddress,
    timeout: Option<Duration>,
}

impl TransformProxy {
    /// Asks for `poem` transformed by `xform_name`: returns at once a Deferred of the new poem.
    fn xform(&self, xform_name: &str, poem: &str) -> Deferred<String> {
        let deferred = Deferred::new();
        let factory = Rc::new_cyclic(|me| TransformClientFactory {
            me: me.clone(),
            reactor: self.reactor.clone(),
            timeout: self.timeout,
            xform_name: xform_name.to_owned(),
            poem: poem.to_owned(),
            deferred: RefCell::new(Some(deferred.clone())),
        });
        self.reactor.connect_tcp(
            &self.server.host,
            self.server.port,
            factory,
            self.timeout.unwrap_or(CONNECT_TIMEOUT),
        );
        deferred
    }
}

// ---- The program: one async block per poem ----

/// Downloads a poem and has it cummingsified, as one async block: the Deferred it returns fires
/// with the poem (transformed, or as it was if the transform failed), or fails with the download's
/// failure. The download is shown on line `line` of `progress`, when it is drawn, and what the block
/// prints goes above those lines.
fn get_transformed_poem(
    reactor: Reactor,
    proxy: Rc<TransformProxy>,
    server: ServerAddress,
    timeout: Option<Duration>,
    progress: Rc<TaskProgress>,
    line: usize,
) -> Deferred<String> {
    Deferred::from_future(async move {
        // Each `.await` hands control back to the reactor until the Deferred fires.
        let poem = match get_poetry(&reactor, &server, timeout, &progress, line).await {
            Ok(poem) => poem,
            Err(failure) => {
                progress.above(|| errln!("The poem download failed: {}", failure.error()));
                return Err(failure);
            }
        };
        match proxy.xform("cummingsify", &poem).await {
            Ok(transformed) => Ok(transformed),
            Err(failure) => {
                progress.above(|| errln!("Cummingsify failed! {}", failure.error()));
                Ok(poem)
            }
        }
    })
}

/// Counts the finished blocks, and stops the reactor after the last.
struct Results {
    reactor: Reactor,
    downloads: usize,
    finished: Cell<usize>,
    failed: Cell<bool>,
}

impl Results {
    /// Takes each block's outcome, success or failure, so that no failure is left unhandled.
    fn poem_done(&self, outcome: Result<(), Failure>) {
        if outcome.is_err() {
            self.failed.set(true);
        }
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.downloads {
            let _ = self.reactor.stop();
        }
    }
}

/// The callback after each block: prints the poem, above the live lines of `progress`.
fn got_poem(progress: &TaskProgress, poem: String) -> Result<(), Failure> {
    // The poem ends with its own newline; this line is the empty one after it.
    progress.above(|| outln!("{poem}"));
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.servers) {
        return ExitCode::SUCCESS;
    }
    // The first address always goes to the transform server: there is one if there are others.
    let Some(xform_server) = options.xform_server else {
        return ExitCode::SUCCESS;
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let proxy = Rc::new(TransformProxy {
        reactor: reactor.clone(),
        server: xform_server,
        timeout: options.timeout,
    });
    let results = Rc::new(Results {
        reactor: reactor.clone(),
        downloads: options.servers.len(),
        finished: Cell::new(0),
        failed: Cell::new(false),
    });
    // A line per poem download (none for the transform requests), named by the server as it was
    // given and numbered by its place on the command line, where the transform server is first.
    let labels: Vec<String> = options
        .servers
        .iter()
        .enumerate()
        .map(|(index, server)| format!("Task {}: {server}", index + 2))
        .collect();
    let progress = Rc::new(TaskProgress::new(options.progress, &labels));
    for (index, server) in options.servers.into_iter().enumerate() {
        let (results, for_poem) = (Rc::clone(&results), Rc::clone(&progress));
        get_transformed_poem(
            reactor.clone(),
            Rc::clone(&proxy),
            server,
            options.timeout,
            Rc::clone(&progress),
            index + 1,
        )
        .add_callback(move |poem| got_poem(&for_poem, poem))
        .add_both(move |outcome| {
            results.poem_done(outcome);
            Ok::<(), Failure>(())
        });
    }
    let _ = reactor.run();

    exit_status(results.failed.get())
}
