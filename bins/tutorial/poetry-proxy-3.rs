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
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::defer::{CancelledError, Deferred, Failure, succeed};
use common::protocol::{
    Address, BufferSender, Connector, DisconnectReason, Factory, Protocol, Transport,
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
    #[command(flatten)]
    proxy: ProxyArgs,
}

// The command line, the download from the upstream server and the end of `main`: shared with
// proxies 1.0 and 2.0, unchanged.
#[path = "support/proxy_upstream.rs"]
mod proxy_upstream;

use proxy_upstream::{
    CONNECT_TIMEOUT, Poem, PoetryClientFactory, ProxyArgs, UpstreamLimits, run_proxy,
    send_poem_when_ready,
};

// The service: the cache, and the one place that knows where poems come from. Proxies 1.0 and 2.0
// share theirs (`support/proxy_cache.rs`); this one's cache also holds the download, to cancel it.

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
    /// How long the upstream server may send nothing, and how much, before a download fails.
    limits: UpstreamLimits,
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
        let factory = PoetryClientFactory::new(&self.reactor, self.limits);
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
    sender: Option<Rc<BufferSender>>,
}

impl Protocol for PoetryProxyProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let deferred = self.service.get_poem();
        // Poem, failure or cancellation, the client is done once it has what there is to send. A
        // failure was reported by the service.
        self.sender = Some(send_poem_when_ready(&deferred, transport));
        self.deferred = Some(deferred);
    }

    fn resume_producing(&mut self) {
        if let Some(sender) = &self.sender {
            sender.resume();
        }
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
            sender: None,
        }))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    run_proxy(&options.proxy, |reactor| {
        let service = Rc::new(ProxyService {
            reactor: reactor.clone(),
            server: options.proxy.server.clone(),
            limits: options.proxy.limits(),
            cache: RefCell::new(Cache::Empty),
        });
        Rc::new(PoetryProxyFactory { service })
    })
}
