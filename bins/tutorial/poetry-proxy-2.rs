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

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::defer::{Deferred, succeed};
use common::outln;
use common::protocol::{Address, BufferSender, DisconnectReason, Factory, Protocol, Transport};

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
    #[command(flatten)]
    proxy: ProxyArgs,
}

// The command line, the download from the upstream server and the end of `main`: shared with
// proxies 1.0 and 3.0, unchanged.
#[path = "support/proxy_upstream.rs"]
mod proxy_upstream;

// The service and its cache, all but `get_poem`: shared with proxy 1.0, unchanged.
#[path = "support/proxy_cache.rs"]
mod proxy_cache;

use proxy_cache::{Cache, ProxyService};
use proxy_upstream::{Poem, ProxyArgs, run_proxy, send_poem_when_ready};

// The service's `get_poem`, the lesson of this proxy: always a Deferred. The rest of the service is
// in `support/proxy_cache.rs`.

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
}

// The server side: what each client of the proxy gets.

struct PoetryProxyProtocol {
    service: Rc<ProxyService>,
    /// The poem this client is given, or waits for.
    poem: Option<Deferred<Poem>>,
    sender: Option<Rc<BufferSender>>,
}

impl Protocol for PoetryProxyProtocol {
    /// A client that has finished sending (`nc -N`) still gets the whole poem.
    fn read_connection_lost(&mut self) -> bool {
        true
    }
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        // No maybe_deferred: get_poem always returns a Deferred. For a cached poem it has already
        // fired, and the callbacks that send_poem_when_ready adds run as they are added; for a
        // download, they run when the poem arrives.
        let poem = self.service.get_poem();
        self.sender = Some(send_poem_when_ready(&poem, transport));
        self.poem = Some(poem);
    }

    fn resume_producing(&mut self) {
        if let Some(sender) = &self.sender {
            sender.resume();
        }
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        if let Some(poem) = self.poem.take() {
            self.service.forget(&poem);
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
            poem: None,
            sender: None,
        }))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    run_proxy(&options.proxy, |reactor| {
        let proxy = &options.proxy;
        let service = ProxyService::new(reactor, proxy.server.clone(), proxy.limits());
        Rc::new(PoetryProxyFactory {
            service: Rc::new(service),
        })
    })
}
