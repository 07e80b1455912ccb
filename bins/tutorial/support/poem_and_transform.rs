//! Clients 6.0, 7.0 and 8.0 share these two halves (each program includes this file with
//! `#[path]`): downloading a poem, where `get_poetry` returns a Deferred as it has since client 4.0,
//! and asking the transform server of Part 12 to change it, where `TransformProxy::xform` sends a
//! netstring request and returns a Deferred of the netstring reply. With them come the command line
//! the three clients take and the start of their `main`, which makes the reactor, the transform
//! proxy and the progress lines.
//!
//! Client 6.0 (Part 13) is where they come together: its callback returns the transform's
//! Deferred, and the outer chain waits for it. Clients 7.0 and 8.0 change only how the steps are
//! strung together (an async block, then a `DeferredList`), which is why these parts are not
//! copied into each of them.

use std::cell::RefCell;
use std::fmt;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::{Args, CommandFactory};
use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
use common::cli::address::ServerAddress;
use common::cli::client::explain_if_no_servers;
use common::cli::duration::TimeFormat;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::cli::progress::{ProgressOption, TaskProgress};
use common::cli::time_options::TimeoutOption;
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};

/// How long a connection attempt may take when no `--timeout` is given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

// ---- Downloading a poem: get_poetry returns a Deferred, as it has since client 4.0 ----

/// Why a download failed once connected. A connection that could not be made fails with the
/// reactor's own `ConnectError`, and a poem too large with common's `PoemTooLarge`.
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
            let late = move || transport.abort_connection();
            self.deadline = Some(self.factory.reactor.call_later(limit, late));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        // Too large: fail the poem, then hang up. The end of the connection finds nothing to fire.
        if let Err(too_large) = self.poem.push(data) {
            self.factory.poem_failed(too_large.into());
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
            return;
        }
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
            // An abort is the deadline's, so the poem was late; or it is data_received's, and the
            // poem, too large, has failed already.
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
    max_poem_size: MaxPoemSize,
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
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            poem: PoemBuffer::new(self.max_poem_size),
            transport: None,
            deadline: None,
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(reason.clone().into());
    }
}

/// Downloads a poem: returns at once a Deferred that fires with the poem, or fails (after
/// `timeout`, if there is one, or once the poem is larger than `max_poem_size`). The bytes received
/// so far are shown on line `line` of `progress`, when it is drawn.
pub(crate) fn get_poetry(
    reactor: &Reactor,
    server: &ServerAddress,
    timeout: Option<Duration>,
    max_poem_size: MaxPoemSize,
    progress: &Rc<TaskProgress>,
    line: usize,
) -> Deferred<String> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        reactor: reactor.clone(),
        timeout,
        max_poem_size,
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

// ---- Asking the transform server: a netstring request, a netstring reply ----

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
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
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
pub(crate) struct TransformProxy {
    reactor: Reactor,
    server: ServerAddress,
    timeout: Option<Duration>,
}

impl TransformProxy {
    /// Asks for `poem` transformed by `xform_name`: returns at once a Deferred of the new poem.
    pub(crate) fn xform(&self, xform_name: &str, poem: &str) -> Deferred<String> {
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

// ---- The command line, and the start of main ----

/// What the three clients are given: the transform server first, then the poetry servers.
#[derive(Debug, Args)]
pub(crate) struct TransformClientArgs {
    /// The transform server, as [host:]port. Given alone it is a usage error: there would be
    /// nothing to transform (the tutorial's client printed its help instead).
    #[arg(value_name = "XFORM_ADDRESS", requires = "servers")]
    xform_server: Option<ServerAddress>,

    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    #[command(flatten)]
    timeout: TimeoutOption,

    #[command(flatten)]
    max_poem_size: MaxPoemSize,

    #[command(flatten)]
    progress: ProgressOption,
}

/// What each client's `main` starts from.
pub(crate) struct Start {
    /// The poetry servers, in the order of the command line.
    pub(crate) servers: Vec<ServerAddress>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_poem_size: MaxPoemSize,
    pub(crate) reactor: Reactor,
    /// The transform server, for every poem's request.
    pub(crate) proxy: Rc<TransformProxy>,
    /// A line per poem download (none for the transform requests), named by the server as it was
    /// given and numbered by its place on the command line, where the transform server is first.
    pub(crate) progress: Rc<TaskProgress>,
}

impl TransformClientArgs {
    /// Makes what `main` starts from, or says with which exit status the program ends at once:
    /// given no address, it prints the long help of `C`, the program's options, and exits with 0.
    pub(crate) fn start<C: CommandFactory>(self) -> Result<Start, ExitCode> {
        // Given one address only, clap has refused the command line already (`requires`).
        let Some(xform_server) = self.xform_server else {
            explain_if_no_servers::<C>(&self.servers);
            return Err(ExitCode::SUCCESS);
        };
        let reactor = new_reactor().map_err(|error| {
            report_error(error);
            ExitCode::FAILURE
        })?;
        let proxy = Rc::new(TransformProxy {
            reactor: reactor.clone(),
            server: xform_server,
            timeout: self.timeout.timeout,
        });
        let labels: Vec<String> = self
            .servers
            .iter()
            .enumerate()
            .map(|(index, server)| format!("Task {}: {server}", index + 2))
            .collect();
        let progress = Rc::new(TaskProgress::new(&self.progress, &labels));
        Ok(Start {
            servers: self.servers,
            timeout: self.timeout.timeout,
            max_poem_size: self.max_poem_size,
            reactor,
            proxy,
            progress,
        })
    }
}
