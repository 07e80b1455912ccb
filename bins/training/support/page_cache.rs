//! The two caching proxies (Exercises 2a and 2b) share this part (each includes this file with
//! `#[path]`): the cache of pages, and the upstream that fetches them.
//!
//! The training's cache is a plain dict that grows for as long as the server runs. Ours is
//! [`PageCache`]: the same map from URL to page, with a bound on how many pages it keeps and on how
//! many bytes they take (`--cache-entries`, `--cache-size`); when a new page would go past either,
//! the pages used least recently make room. A page larger than the whole cache is served but not
//! kept.
//!
//! In the training, two clients that ask for the same page before it is cached fetch it twice.
//! Ours share one fetch: [`Upstream::get_page`] is getPage, except that a URL asked for while it is
//! being fetched gets a Deferred of that same fetch, as the tutorial's poetry proxies do. What the
//! exercises teach, where the cache is kept and how the callbacks that fill it are arranged,
//! stays in each program's file: to them, `get_page` is getPage.
//!
//! Only pages that arrived whole with a success status reach a callback, so only those can be
//! cached: getPage fails for anything else (an error status, a connection that broke before the
//! end of the body, a timeout).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use clap::Args;
use common::cli::poem::parse_size;
use common::defer::{Deferred, Failure};
use common::web::client::{Agent, Bytes};

/// The bounds of the cache.
#[derive(Debug, Args)]
pub(crate) struct CacheOptions {
    /// Keep at most this many pages; the one used least recently makes room for a new one.
    #[arg(long, value_name = "COUNT", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) cache_entries: u64,

    /// Keep pages of at most this many bytes in all (URLs included): bytes (1000000) or with a unit
    /// (500KB, 64MiB). A page larger than that is served but never kept.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub(crate) cache_size: usize,
}

impl CacheOptions {
    /// An empty cache with these bounds.
    pub(crate) fn cache(&self) -> PageCache {
        let entries = usize::try_from(self.cache_entries).unwrap_or(usize::MAX);
        PageCache::new(entries, self.cache_size)
    }
}

/// Pages by URL, within a bound on their number and their bytes, the least recently used leaving
/// first.
pub(crate) struct PageCache {
    max_entries: usize,
    max_bytes: usize,
    /// The bytes the entries take: their pages and their URLs.
    bytes: usize,
    pages: HashMap<String, Entry>,
    /// The URLs by the time of their last use, oldest first: who leaves when room is needed.
    by_use: BTreeMap<u64, String>,
    /// The clock of uses: one tick per lookup that hits and per page stored.
    clock: u64,
}

/// One page, and when it was last used.
struct Entry {
    page: Bytes,
    used: u64,
}

impl PageCache {
    /// An empty cache that keeps at most `max_entries` pages of `max_bytes` in all.
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> PageCache {
        PageCache {
            max_entries,
            max_bytes,
            bytes: 0,
            pages: HashMap::new(),
            by_use: BTreeMap::new(),
            clock: 0,
        }
    }

    /// The page kept for `url`, if there is one (the training's `cache[url]`).
    pub(crate) fn get(&mut self, url: &str) -> Option<Bytes> {
        let now = self.tick();
        let entry = self.pages.get_mut(url)?;
        self.by_use.remove(&entry.used);
        entry.used = now;
        self.by_use.insert(now, url.to_owned());
        Some(entry.page.clone())
    }

    /// Keeps `page` for `url` (the training's `cache[url] = data`), replacing what was kept for it,
    /// and making room as the bounds require. A page that could never fit is not kept.
    pub(crate) fn insert(&mut self, url: &str, page: Bytes) {
        self.remove(url);
        let size = url.len() + page.len();
        if size > self.max_bytes || self.max_entries == 0 {
            return;
        }
        while self.pages.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.remove(&oldest);
        }
        let used = self.tick();
        self.by_use.insert(used, url.to_owned());
        self.pages.insert(url.to_owned(), Entry { page, used });
        self.bytes += size;
    }

    fn remove(&mut self, url: &str) {
        if let Some(entry) = self.pages.remove(url) {
            self.by_use.remove(&entry.used);
            self.bytes -= url.len() + entry.page.len();
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// Where pages come from: getPage, one fetch per URL at a time.
pub(crate) struct Upstream {
    agent: Agent,
    /// For each URL being fetched, the Deferreds of the clients waiting for it.
    fetching: RefCell<HashMap<String, Vec<Deferred<Bytes>>>>,
}

impl Upstream {
    /// An upstream that fetches with `agent` (its timeout, its limit on a body).
    pub(crate) fn new(agent: Agent) -> Rc<Upstream> {
        Rc::new(Upstream {
            agent,
            fetching: RefCell::default(),
        })
    }

    /// `getPage(url)`: a Deferred of the page's body. The first client to ask for a URL starts the
    /// fetch; those who ask for it before it ends wait for the same fetch, and all get its outcome,
    /// page or failure.
    pub(crate) fn get_page(self: &Rc<Self>, url: &str) -> Deferred<Bytes> {
        let waiter = Deferred::new();
        {
            let mut fetching = self.fetching.borrow_mut();
            if let Some(waiters) = fetching.get_mut(url) {
                waiters.push(waiter.clone());
                return waiter;
            }
            fetching.insert(url.to_owned(), vec![waiter.clone()]);
        }
        let (on_page, on_failure) = (Rc::clone(self), Rc::clone(self));
        let (page_url, failure_url) = (url.to_owned(), url.to_owned());
        self.agent.get_page(url).add_callbacks(
            move |page| {
                for waiter in on_page.done(&page_url) {
                    let _ = waiter.callback(page.clone());
                }
                Ok::<(), Failure>(())
            },
            move |failure| {
                for waiter in on_failure.done(&failure_url) {
                    let _ = waiter.errback(failure.clone());
                }
                Ok::<(), Failure>(())
            },
        );
        waiter
    }

    /// The fetch of `url` is over: the clients that wait for it. Whoever asks for the URL from now
    /// on starts a new fetch (or finds the page in a cache).
    fn done(&self, url: &str) -> Vec<Deferred<Bytes>> {
        self.fetching.borrow_mut().remove(url).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl PageCache {
        fn len(&self) -> usize {
            self.pages.len()
        }

        fn size(&self) -> usize {
            self.bytes
        }
    }

    fn page(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn a_page_kept_is_found_and_a_page_replaced_counts_once() {
        let mut cache = PageCache::new(10, 1000);
        assert_eq!(cache.get("http://a/"), None);
        cache.insert("http://a/", page("first"));
        cache.insert("http://a/", page("second"));
        assert_eq!(cache.get("http://a/"), Some(page("second")));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.size(), "http://a/".len() + "second".len());
    }

    #[test]
    fn the_page_used_least_recently_makes_room_for_a_new_one() {
        let mut cache = PageCache::new(2, 1000);
        cache.insert("a", page("1"));
        cache.insert("b", page("2"));
        // `a` used after `b` was stored: `b` is the one to go.
        assert!(cache.get("a").is_some());
        cache.insert("c", page("3"));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
    }

    #[test]
    fn pages_leave_until_the_new_one_fits_in_the_bytes() {
        // Each entry takes its URL's byte and its page's.
        let mut cache = PageCache::new(100, 10);
        cache.insert("a", page("xxxx")); // 5 bytes
        cache.insert("b", page("xxxx")); // 10 in all: full
        cache.insert("c", page("xxxxxxx")); // 8: both others must go
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.size(), 8);
        assert!(cache.get("c").is_some());
    }

    #[test]
    fn a_page_larger_than_the_cache_is_not_kept_and_evicts_nothing() {
        let mut cache = PageCache::new(100, 10);
        cache.insert("a", page("xxx"));
        cache.insert("b", page("far too large for it"));
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some());
        assert_eq!(cache.size(), 4);
    }
}
