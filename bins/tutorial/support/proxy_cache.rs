//! Proxies 1.0 and 2.0 share this part (each program includes this file with `#[path]`, next to
//! `proxy_upstream.rs`): the service that keeps the poem, and fetches it from the upstream server
//! when it has not got it.
//!
//! The two proxies differ only in what the service's `get_poem` returns: the poem itself when it is
//! cached, or a Deferred in every case. That method is Part 14's lesson, so each program writes it
//! in its own file, in an `impl ProxyService` block of its own; the bookkeeping of the cache and the
//! download that fills it are the same in both, and are here. Proxy 3.0 keeps its own service: its
//! cache also remembers the download, to cancel it.

use std::cell::RefCell;
use std::rc::Rc;

use common::cli::address::ServerAddress;
use common::defer::{Deferred, Failure};
use common::errln;
use common::reactor::Reactor;

use crate::proxy_upstream::{CONNECT_TIMEOUT, Poem, PoetryClientFactory, UpstreamLimits};

/// What the proxy knows about the poem.
pub(crate) enum Cache {
    /// Nothing yet, or the last download failed.
    Empty,
    /// A download is under way; these clients' Deferreds wait for its poem. Without this third
    /// state, every client arriving before the poem would start a download of its own.
    Fetching(Vec<Deferred<Poem>>),
    /// The poem, kept for every client to come.
    Cached(Poem),
}

/// The cache, and the one place that knows where poems come from.
pub(crate) struct ProxyService {
    reactor: Reactor,
    server: ServerAddress,
    /// How long the upstream server may send nothing, and how much, before a download fails.
    limits: UpstreamLimits,
    pub(crate) cache: RefCell<Cache>,
}

impl ProxyService {
    /// A service with nothing cached yet, which fetches from `server` within `limits`.
    pub(crate) fn new(
        reactor: &Reactor,
        server: ServerAddress,
        limits: UpstreamLimits,
    ) -> ProxyService {
        ProxyService {
            reactor: reactor.clone(),
            server,
            limits,
            cache: RefCell::new(Cache::Empty),
        }
    }

    /// Starts the download; its outcome goes to every waiting client.
    pub(crate) fn fetch(self: &Rc<Self>) {
        let download = Deferred::new();
        let factory = PoetryClientFactory::new(&self.reactor, self.limits);
        factory.deferred.replace(Some(download.clone()));
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

    /// A client left while the poem was being fetched: its Deferred, and with it what the client
    /// would have needed to be sent the poem, is dropped now rather than when the download ends.
    pub(crate) fn forget(&self, waiter: &Deferred<Poem>) {
        if let Cache::Fetching(waiters) = &mut *self.cache.borrow_mut() {
            waiters.retain(|other| other.id() != waiter.id());
        }
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
