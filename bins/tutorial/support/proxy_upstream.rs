//! Proxies 1.0, 2.0 and 3.0 share this part (each program includes this file with `#[path]`): their
//! command line, the download of the poem from the upstream server, and the end of their `main`,
//! which listens and announces itself as the tutorial's proxy does.
//!
//! The download is the one of the clients of Part 8: a protocol that gathers the poem, and a
//! factory that fires a Deferred with it. The factory is made without its Deferred, because proxy
//! 3.0 needs the factory first: the Deferred's canceller takes the Deferred back from it. Proxies
//! 1.0 and 2.0 hand it the Deferred straight away.
//!
//! What each proxy teaches stays in its own file: how `get_poem` answers, maybe synchronously (1.0)
//! or always with a Deferred (2.0), and how a download nobody waits for is cancelled (3.0). The
//! cache of proxies 1.0 and 2.0, the same in both, is in `proxy_cache.rs`.

use std::cell::RefCell;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Args;
use common::cli::address::{PythonPeer, ServerAddress, refuse_proxying_itself};
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::{MaxPoemSize, PoemBuffer, PoemTooLarge};
use common::cli::server::listen_and_run;
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, BufferSender, ClientFactory, ConnectError, Connector, DisconnectReason, Factory,
    Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};

/// Where the poem comes from, and where the proxy listens.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The poetry server whose poem to proxy, as [host:]port.
    #[arg(value_name = "SERVER")]
    pub(crate) server: ServerAddress,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// Give up on the upstream server once it has sent nothing for this long: seconds (10) or a
    /// number with a unit (500ms). A server that accepts and never sends must not hold every
    /// client of the proxy.
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub(crate) upstream_timeout: Duration,

    /// The largest poem the proxy fetches and keeps: past it the download fails. The one copy is
    /// shared by every client, each sent a piece at a time as it reads.
    #[command(flatten)]
    pub(crate) max_poem_size: MaxPoemSize,
}

impl ProxyArgs {
    /// What the download from the upstream server may cost, for the service that starts it.
    pub(crate) fn limits(&self) -> UpstreamLimits {
        UpstreamLimits {
            silence: self.upstream_timeout,
            max_poem_size: self.max_poem_size,
        }
    }
}

/// How long the upstream server may send nothing, and how large a poem it may send, before a
/// download fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamLimits {
    pub(crate) silence: Duration,
    pub(crate) max_poem_size: MaxPoemSize,
}

/// How long connecting to the upstream server may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A poem, shared by the cache and every client it is sent to.
pub(crate) type Poem = Rc<[u8]>;

// ---- The client side: one download from the upstream server ----

/// Why the poem could not be had from the upstream server.
#[derive(Debug)]
enum UpstreamError {
    /// The connection could not be made.
    Connect(ConnectError),
    /// The connection broke: what arrived may be only part of the poem.
    Lost(DisconnectReason),
    /// The server closed the connection without sending anything.
    Empty,
    /// The server sent nothing for this long.
    Silent(Duration),
    /// The poem grew past `--max-poem-size`.
    TooLarge(PoemTooLarge),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Connect(error) => error.fmt(f),
            UpstreamError::Lost(reason) => reason.fmt(f),
            UpstreamError::Empty => {
                write!(
                    f,
                    "The server closed the connection without sending a poem."
                )
            }
            UpstreamError::TooLarge(too_large) => write!(f, "{too_large}."),
            UpstreamError::Silent(limit) => write!(
                f,
                "The server sent nothing for {}.",
                TimeFormat::Human.show(*limit)
            ),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// Collects the poem from the upstream server, and hands it to the factory at the end.
struct PoetryClientProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: PoemBuffer,
    transport: Option<Rc<dyn Transport>>,
    /// The timed call that gives up on a server gone silent; pushed back by every piece of data.
    silence: Option<DelayedCall>,
}

impl Protocol for PoetryClientProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(Rc::clone(&transport));
        let (factory, limit) = (Rc::clone(&self.factory), self.factory.limits.silence);
        self.silence = Some(self.factory.reactor.call_later(limit, move || {
            factory.poem_failed(UpstreamError::Silent(limit));
            transport.abort_connection();
        }));
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Err(too_large) = self.poem.push(data) {
            self.factory.poem_failed(UpstreamError::TooLarge(too_large));
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
            return;
        }
        if let Some(silence) = &self.silence {
            let _ = silence.reset(self.factory.limits.silence);
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(silence) = self.silence.take()
            && silence.active()
        {
            let _ = silence.cancel();
        }
        // The poetry protocol has no framing: a clean end of the connection is the end of the poem,
        // and a broken one leaves an unknown part of it.
        if reason.is_clean() {
            self.factory.poem_finished(self.poem.take());
        } else {
            self.factory
                .poem_failed(UpstreamError::Lost(reason.clone()));
        }
    }
}

/// Makes the download's protocol and fires the download's Deferred with how it went.
pub(crate) struct PoetryClientFactory {
    /// This factory, for the protocol to report to (Twisted's `protocol.factory`).
    me: Weak<PoetryClientFactory>,
    reactor: Reactor,
    limits: UpstreamLimits,
    /// The download's Deferred, given by the proxy's service; taken when fired (a Deferred fires
    /// once), or by proxy 3.0's canceller.
    pub(crate) deferred: RefCell<Option<Deferred<Poem>>>,
}

impl PoetryClientFactory {
    /// A factory with no Deferred yet: the service puts one in before connecting. The download
    /// fails when the server sends nothing for too long, or too much.
    pub(crate) fn new(reactor: &Reactor, limits: UpstreamLimits) -> Rc<PoetryClientFactory> {
        Rc::new_cyclic(|me| PoetryClientFactory {
            me: me.clone(),
            reactor: reactor.clone(),
            limits,
            deferred: RefCell::new(None),
        })
    }

    fn poem_finished(&self, poem: Vec<u8>) {
        if poem.is_empty() {
            return self.poem_failed(UpstreamError::Empty);
        }
        if let Some(deferred) = self.deferred.take() {
            let _ = deferred.callback(Poem::from(poem));
        }
    }

    fn poem_failed(&self, error: UpstreamError) {
        if let Some(deferred) = self.deferred.take() {
            let _ = deferred.errback(error);
        }
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryClientProtocol {
            factory: self.me.upgrade()?,
            poem: PoemBuffer::new(self.limits.max_poem_size),
            transport: None,
            silence: None,
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(UpstreamError::Connect(reason.clone()));
    }
}

// ---- The server side: sending the poem to one client ----

/// Sends the poem that `poem` will give to the client of `transport`, then hangs up; hangs up at
/// once if the poem cannot be had (the service has said why). Returns the sender, for the
/// protocol's `resume_producing`: the poem goes out a piece at a time, as fast as the client reads,
/// from the one copy every client shares.
pub(crate) fn send_poem_when_ready(
    poem: &Deferred<Poem>,
    transport: Rc<dyn Transport>,
) -> Rc<BufferSender> {
    let sender = Rc::new(BufferSender::new(Rc::clone(&transport)));
    let to_send = Rc::clone(&sender);
    poem.add_callbacks(
        move |poem| {
            to_send.send_and_close(poem);
            Ok::<(), Failure>(())
        },
        move |_| {
            transport.lose_connection();
            Ok::<(), Failure>(())
        },
    );
    sender
}

// ---- The end of main: listen, announce, run ----

/// The upstream server as the tuple `(host, port)` the tutorial's proxy prints: an IP address as
/// Python prints a socket address, `('127.0.0.1', 10001)`, and a name as typed,
/// `('localhost', 10001)`.
fn python_tuple(server: &ServerAddress) -> String {
    match server.host.parse::<IpAddr>() {
        Ok(ip) => PythonPeer(&Address::Tcp(SocketAddr::new(ip, server.port))).to_string(),
        Err(_) => format!("('{}', {})", server.host, server.port),
    }
}

/// Runs a proxy: makes the reactor, gives it to `make_factory` for the proxy's server factory,
/// listens where `args` say, prints the startup line (scripts and tests read the port from it), and
/// serves until stopped.
pub(crate) fn run_proxy<F: Factory + 'static>(
    args: &ProxyArgs,
    make_factory: impl FnOnce(&Reactor) -> Rc<F>,
) -> ExitCode {
    if let Err(line) = refuse_proxying_itself(&args.server, &args.iface, args.port) {
        report_error(line);
        return ExitCode::from(2);
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let factory = make_factory(&reactor);
    listen_and_run(&reactor, args.port, &args.iface, factory, |port| {
        format!(
            "Proxying {} on {}.",
            python_tuple(&args.server),
            port.get_host()
        )
    })
}
