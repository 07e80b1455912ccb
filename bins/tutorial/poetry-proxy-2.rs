//! The Poetry Proxy, version 2.0: tutorial Part 14, "When a Deferred Isn't"
//! (`twisted-server-2/poetry-proxy.py`).
//!
//! The proxy is a server to its clients and a client to one poetry server upstream. It fetches the
//! poem once, keeps it, and serves it from that cache from then on. So its `get_poem` has an answer
//! at once when the poem is cached, and only later when it must be fetched. Proxy 1.0 let that
//! function be sometimes synchronous and wrapped it in `maybe_deferred`; this version shows the
//! other way: `get_poem` always returns a Deferred, one that has already fired (`succeed(poem)`)
//! when the poem is cached. Callbacks added to a fired Deferred run at once, so the protocol's code
//! is the same in both cases.
//!
//! Better than the original: clients that arrive while the poem is being fetched wait for that one
//! download instead of starting their own (Part 14, exercise 3), a poem that did not arrive whole
//! is never cached, and a failed download is one line on stderr; the next client tries again.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt   # terminal 1
//! cargo run --bin poetry-proxy-2 -- --port 10000 10001                # terminal 2
//! cargo run --bin get-poetry-2 -- 10000                               # terminal 3, twice
//! ```

use std::cell::RefCell;
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
use common::defer::{Deferred, Failure, succeed};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::Reactor;
use common::{errln, outln};

/// Proxy the poem of one poetry server, fetched once and then served from a cache (tutorial
/// Part 14, Proxy 2.0).
///
/// SERVER is [host:]port, a bare port meaning 127.0.0.1. The first client makes the proxy fetch the
/// poem from SERVER; later clients get the cached copy at once. The proxy prints a line per client.
#[derive(Debug, Parser)]
#[command(
    name = "poetry-proxy-2",
    version,
    after_help = "Example, with a poetry server on port 10001:\n  \
                  poetry-proxy-2 --port 10000 10001\n\
                  Then fetch twice with: nc localhost 10000 (the second poem comes from the cache)"
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
    /// Taken when fired: a Deferred fires once.
    deferred: RefCell<Option<Deferred<Poem>>>,
}

impl PoetryClientFactory {
    fn new(deferred: Deferred<Poem>) -> Rc<PoetryClientFactory> {
        Rc::new_cyclic(|me| PoetryClientFactory {
            me: me.clone(),
            deferred: RefCell::new(Some(deferred)),
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
    /// Nothing yet, or the last download failed.
    Empty,
    /// A download is under way; these clients' Deferreds wait for its poem. Without this third
    /// state, every client arriving before the poem would start a download of its own.
    Fetching(Vec<Deferred<Poem>>),
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
    /// cached, fired later when it has to be fetched.
    fn get_poem(self: &Rc<Self>) -> Deferred<Poem> {
        let waiter = Deferred::new();
        {
            let mut cache = self.cache.borrow_mut();
            match &mut *cache {
                Cache::Cached(poem) => {
                    outln!("Using cached poem.");
                    return succeed(Rc::clone(poem));
                }
                Cache::Fetching(waiters) => {
                    outln!("Waiting for the poem being fetched.");
                    waiters.push(waiter.clone());
                    return waiter;
                }
                Cache::Empty => *cache = Cache::Fetching(vec![waiter.clone()]),
            }
        }
        outln!("Fetching poem from server.");
        self.fetch();
        waiter
    }

    /// Starts the download; its outcome goes to every waiting client.
    fn fetch(self: &Rc<Self>) {
        let download = Deferred::new();
        let factory = PoetryClientFactory::new(download.clone());
        self.reactor.connect_tcp(
            &self.server.host,
            self.server.port,
            factory,
            CONNECT_TIMEOUT,
        );
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
    }

    fn poem_arrived(&self, poem: Poem) {
        let waiting = match self.cache.replace(Cache::Cached(Rc::clone(&poem))) {
            Cache::Fetching(waiters) => waiters,
            _ => Vec::new(),
        };
        for waiter in waiting {
            let _ = waiter.callback(Rc::clone(&poem));
        }
    }

    /// Said once here, not once per client; nothing is cached, so the next client tries again.
    fn fetch_failed(&self, failure: &Failure) {
        errln!("Upstream {} failed: {}", self.server, failure.error());
        let waiting = match self.cache.replace(Cache::Empty) {
            Cache::Fetching(waiters) => waiters,
            _ => Vec::new(),
        };
        for waiter in waiting {
            let _ = waiter.errback(failure.clone());
        }
    }
}

// The server side: what each client of the proxy gets.

struct PoetryProxyProtocol {
    service: Rc<ProxyService>,
}

impl Protocol for PoetryProxyProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let writer = Rc::clone(&transport);
        // No maybe_deferred: get_poem always returns a Deferred. For a cached poem it has already
        // fired, and the callbacks below run as they are added; for a download, they run when the
        // poem arrives.
        self.service
            .get_poem()
            .add_callback(move |poem| {
                writer.write(&poem);
                Ok::<(), Failure>(())
            })
            // Poem or failure, the client is done. The failure was reported by the service.
            .add_both(move |_| {
                transport.lose_connection();
                Ok::<(), Failure>(())
            });
    }
}

struct PoetryProxyFactory {
    service: Rc<ProxyService>,
}

impl Factory for PoetryProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProxyProtocol {
            service: Rc::clone(&self.service),
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
