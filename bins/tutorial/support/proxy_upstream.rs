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
use common::cli::address::{PythonPeer, ServerAddress};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::server::listen_and_run;
use common::defer::Deferred;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol,
};
use common::reactor::Reactor;

/// Where the poem comes from, and where the proxy listens.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The poetry server whose poem to proxy, as [host:]port.
    #[arg(value_name = "SERVER")]
    pub(crate) server: ServerAddress,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    iface: String,
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
        }
    }
}

impl std::error::Error for UpstreamError {}

/// Collects the poem from the upstream server, and hands it to the factory at the end.
struct PoetryClientProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: Vec<u8>,
}

impl Protocol for PoetryClientProtocol {
    fn data_received(&mut self, data: &[u8]) {
        self.poem.extend_from_slice(data);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        // The poetry protocol has no framing: a clean end of the connection is the end of the poem,
        // and a broken one leaves an unknown part of it.
        if reason.is_clean() {
            self.factory.poem_finished(std::mem::take(&mut self.poem));
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
    /// The download's Deferred, given by the proxy's service; taken when fired (a Deferred fires
    /// once), or by proxy 3.0's canceller.
    pub(crate) deferred: RefCell<Option<Deferred<Poem>>>,
}

impl PoetryClientFactory {
    /// A factory with no Deferred yet: the service puts one in before connecting.
    pub(crate) fn new() -> Rc<PoetryClientFactory> {
        Rc::new_cyclic(|me| PoetryClientFactory {
            me: me.clone(),
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
            poem: Vec::new(),
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(UpstreamError::Connect(reason.clone()));
    }
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
