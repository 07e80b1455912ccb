//! The Poetry Proxy, version 3.0: tutorial Part 19, "I Thought I Wanted It But I Changed My Mind"
//! (`twisted-server-4/poetry-proxy.py`).
//!
//! Proxy 2.0 fetched the poem from the upstream server for a client even when that client had hung
//! up long before it arrived. This version cancels the download nobody wants any more. The protocol
//! keeps the Deferred `get_poem` gave it and cancels it when its connection is lost; cancelling a
//! Deferred that has already fired does nothing, so that is harmless once the poem was sent. The
//! download's Deferred is made with a canceller: a closure that closes the upstream connection
//! through its connector, after taking the Deferred away from the client factory, so that the
//! Deferred fails with `CancelledError` rather than with "connection closed".
//!
//! Better than the original: clients that arrive while the poem is being fetched wait for that one
//! download instead of starting their own (Part 14, exercise 3), and the download is cancelled only
//! when the last of them has gone. A poem that did not arrive whole is never cached, and a failed
//! download is one line on stderr; the next client tries again.
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt   # terminal 1: a slow server
//! cargo run --bin poetry-proxy-3 -- --port 10000 10001                # terminal 2
//! nc localhost 10000                                                  # terminal 3; Ctrl-C it soon
//! ```

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::cli::address::{PythonPeer, ServerAddress};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::server::listen_and_run;
use common::defer::{CancelledError, Deferred, Failure, succeed};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::Reactor;
use common::{errln, outln};

/// Proxy the poem of one poetry server, fetched once and then served from a cache, cancelling a
/// download nobody waits for any more (tutorial Part 19, Proxy 3.0).
///
/// SERVER is [host:]port, a bare port meaning 127.0.0.1. The first client makes the proxy fetch the
/// poem from SERVER; later clients get the cached copy at once. If every client waiting for the
/// poem hangs up before it arrives, the download is cancelled. The proxy prints a line per client.
#[derive(Debug, Parser)]
#[command(
    name = "poetry-proxy-3",
    version,
    after_help = "Example, with a slow poetry server on port 10001:\n  \
                  poetry-proxy-3 --port 10000 10001\n\
                  Then fetch with nc localhost 10000, and stop nc before the poem ends: the proxy \
                  cancels the download"
)]
struct Options {
    /// The poetry server whose poem to proxy, as [host:]port.
    #[arg(value_name = "SERVER")]
    server: ServerAddress,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    iface: String,
}

/// How long connecting to the upstream server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A poem, shared by the cache and every client it is sent to.
type Poem = Rc<[u8]>;

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

// The client side: one download from the upstream server, as in the clients of Part 8.

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
struct PoetryClientFactory {
    /// This factory, for the protocol to report to (Twisted's `protocol.factory`).
    me: Weak<PoetryClientFactory>,
    /// The download's Deferred, given by the service; taken when fired (a Deferred fires once),
    /// or by the canceller.
    deferred: RefCell<Option<Deferred<Poem>>>,
}

impl PoetryClientFactory {
    fn new() -> Rc<PoetryClientFactory> {
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

// The service: the cache, and the one place that knows where poems come from.

/// What the proxy knows about the poem.
enum Cache {
    /// Nothing yet, or the last download failed or was cancelled.
    Empty,
    /// A download is under way; these clients' Deferreds wait for its poem. Without this third
    /// state, every client arriving before the poem would start a download of its own.
    Fetching {
        download: Deferred<Poem>,
        waiters: Vec<Deferred<Poem>>,
    },
    /// The poem, kept for every client to come.
    Cached(Poem),
}

struct ProxyService {
    reactor: Reactor,
    server: ServerAddress,
    cache: RefCell<Cache>,
}

impl ProxyService {
    /// The poem, as a Deferred whatever the state of the cache: already fired when the poem is
    /// cached, fired later when it has to be fetched. Cancelling the Deferred means this client
    /// does not want the poem any more.
    fn get_poem(self: &Rc<Self>) -> Deferred<Poem> {
        let service = Rc::clone(self);
        let waiter = Deferred::with_canceller(move |waiter| service.waiter_left(waiter));
        {
            let mut cache = self.cache.borrow_mut();
            match &mut *cache {
                Cache::Cached(poem) => {
                    outln!("Using cached poem.");
                    return succeed(Rc::clone(poem));
                }
                Cache::Fetching { waiters, .. } => {
                    outln!("Waiting for the poem being fetched.");
                    waiters.push(waiter.clone());
                    return waiter;
                }
                Cache::Empty => {}
            }
        }
        outln!("Fetching poem from server.");
        // Nothing of the download happens before the reactor's next turn, so the cache can be set
        // once it has started.
        let download = self.fetch();
        *self.cache.borrow_mut() = Cache::Fetching {
            download,
            waiters: vec![waiter.clone()],
        };
        waiter
    }

    /// Starts the download and returns its Deferred; cancelling that Deferred stops the download.
    fn fetch(self: &Rc<Self>) -> Deferred<Poem> {
        let factory = PoetryClientFactory::new();
        // The connector exists only once the connection is started, after the Deferred is made;
        // the canceller finds it here.
        let connector: Rc<OnceCell<Connector>> = Rc::default();
        let (for_cancel, factory_for_cancel) = (Rc::clone(&connector), Rc::clone(&factory));
        let download = Deferred::with_canceller(move |_| {
            outln!("Canceling poem download.");
            // Forget the Deferred first: closing the connection must not fire it as if the poem
            // had ended. `cancel` then fails it with CancelledError.
            factory_for_cancel.deferred.take();
            if let Some(connector) = for_cancel.get() {
                connector.disconnect();
            }
        });
        factory.deferred.replace(Some(download.clone()));
        let started = self.reactor.connect_tcp(
            &self.server.host,
            self.server.port,
            factory,
            CONNECT_TIMEOUT,
        );
        let _ = connector.set(started);
        let (on_poem, on_failure) = (Rc::clone(self), Rc::clone(self));
        download.add_callbacks(
            move |poem| {
                on_poem.poem_arrived(poem);
                Ok::<(), Failure>(())
            },
            move |failure| {
                on_failure.fetch_failed(&failure);
                Ok::<(), Failure>(())
            },
        );
        download
    }

    fn poem_arrived(&self, poem: Poem) {
        let waiting = match self.cache.replace(Cache::Cached(Rc::clone(&poem))) {
            Cache::Fetching { waiters, .. } => waiters,
            _ => Vec::new(),
        };
        for waiter in waiting {
            let _ = waiter.callback(Rc::clone(&poem));
        }
    }

    /// Said once here, not once per client; nothing is cached, so the next client tries again.
    fn fetch_failed(&self, failure: &Failure) {
        if failure.check::<CancelledError>() {
            // We cancelled it ourselves, when its last client left: nobody is waiting.
            return;
        }
        errln!("Upstream {} failed: {}", self.server, failure.error());
        let waiting = match self.cache.replace(Cache::Empty) {
            Cache::Fetching { waiters, .. } => waiters,
            _ => Vec::new(),
        };
        for waiter in waiting {
            let _ = waiter.errback(failure.clone());
        }
    }

    /// A waiting client hung up (its Deferred's canceller). The download goes on while another
    /// client waits for it, and is cancelled when none does.
    fn waiter_left(&self, waiter: &Deferred<Poem>) {
        let abandoned = {
            let mut cache = self.cache.borrow_mut();
            let Cache::Fetching { waiters, .. } = &mut *cache else {
                return;
            };
            waiters.retain(|other| other.id() != waiter.id());
            if !waiters.is_empty() {
                return;
            }
            std::mem::replace(&mut *cache, Cache::Empty)
        };
        if let Cache::Fetching { download, .. } = abandoned {
            download.cancel();
        }
    }
}

// The server side: what each client of the proxy gets.

struct PoetryProxyProtocol {
    service: Rc<ProxyService>,
    /// The poem this client waits for, kept to cancel it if the client leaves first.
    deferred: Option<Deferred<Poem>>,
}

impl Protocol for PoetryProxyProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let writer = Rc::clone(&transport);
        let deferred = self.service.get_poem();
        deferred
            .add_callback(move |poem| {
                writer.write(&poem);
                Ok::<(), Failure>(())
            })
            // Poem, failure or cancellation, the client is done. A failure was reported by the
            // service.
            .add_both(move |_| {
                transport.lose_connection();
                Ok::<(), Failure>(())
            });
        self.deferred = Some(deferred);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        // After the poem was sent this does nothing: the Deferred has fired.
        if let Some(deferred) = self.deferred.take() {
            deferred.cancel();
        }
    }
}

struct PoetryProxyFactory {
    service: Rc<ProxyService>,
}

impl Factory for PoetryProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProxyProtocol {
            service: Rc::clone(&self.service),
            deferred: None,
        }))
    }
}

/// The upstream server as the tuple `(host, port)` the tutorial's proxy prints: an IP address as
/// Python prints a socket address, `('127.0.0.1', 10001)`, and a name as typed,
/// `('localhost', 10001)`.
fn python_tuple(server: &ServerAddress) -> String {
    match server.host.parse::<IpAddr>() {
        Ok(ip) => PythonPeer(&Address::Tcp(SocketAddr::new(ip, server.port))).to_string(),
        Err(_) => format!("('{}', {})", server.host, server.port),
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let service = Rc::new(ProxyService {
        reactor: reactor.clone(),
        server: options.server.clone(),
        cache: RefCell::new(Cache::Empty),
    });
    let factory = Rc::new(PoetryProxyFactory { service });
    listen_and_run(&reactor, options.port, &options.iface, factory, |port| {
        format!(
            "Proxying {} on {}.",
            python_tuple(&options.server),
            port.get_host()
        )
    })
}
