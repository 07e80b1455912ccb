//! The store: keys to values, each entry removed by its own timed call when its time to live is up.
//!
//! The training's `keyvalue.py` keeps a dictionary and, beside it, one pending `callLater` per key:
//! setting a key (again) starts its 15 seconds over, deleting it cancels the call. This store does
//! the same on our reactor, and adds what memcached has and the training did not: a bound on the
//! memory the entries take, beyond which the least recently used entries are evicted.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::reactor::{DelayedCall, Reactor};

/// How a [`Store`] behaves.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long an entry lives after it was last set.
    pub ttl: Duration,
    /// How many bytes (keys plus values) the entries may take together; `None` for no bound.
    pub max_memory: Option<usize>,
}

impl StoreOptions {
    /// The training's time to live.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(15);
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            ttl: Self::DEFAULT_TTL,
            max_memory: None,
        }
    }
}

/// Why the store refused an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No entry has that key (Python's `KeyError`).
    NotFound(Vec<u8>),
    /// The entry alone is bigger than the memory bound.
    TooLarge {
        /// The entry's size: key plus value.
        size: usize,
        /// The bound.
        max_memory: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // As Python shows a KeyError's message: the key, quoted.
            StoreError::NotFound(key) => write!(f, "'{}'", String::from_utf8_lossy(key)),
            StoreError::TooLarge { size, max_memory } => write!(
                f,
                "an entry of {size} bytes does not fit in a store of {max_memory} bytes"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// One entry: its value, the timed call that will remove it, and when it was last used.
struct Entry {
    value: Rc<[u8]>,
    expiry: DelayedCall,
    /// The entry's place in [`Inner::recency`].
    last_used: u64,
}

struct Inner {
    entries: HashMap<Vec<u8>, Entry>,
    /// The keys by when they were last used (set or read), oldest first: the eviction order.
    recency: BTreeMap<u64, Vec<u8>>,
    /// Counts uses, to stamp them in `recency`.
    uses: u64,
    /// Bytes taken by keys and values.
    used: usize,
    options: StoreOptions,
}

impl Inner {
    /// Stamps `key`'s entry as just used.
    fn touch(&mut self, key: &[u8]) {
        self.uses += 1;
        let now = self.uses;
        if let Some(entry) = self.entries.get_mut(key) {
            self.recency.remove(&entry.last_used);
            entry.last_used = now;
            self.recency.insert(now, key.to_vec());
        }
    }

    /// Takes `key`'s entry out, with its bookkeeping; its timed call is the caller's business.
    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.recency.remove(&entry.last_used);
        self.used -= key.len() + entry.value.len();
        Some(entry)
    }
}

/// The key-value store. Clones are handles to the same store.
///
/// It lives on a reactor's thread: the timed calls that expire entries run on that reactor.
#[derive(Clone)]
pub struct Store {
    inner: Rc<RefCell<Inner>>,
    reactor: Reactor,
}

impl Store {
    /// An empty store whose entries expire on `reactor`'s clock.
    pub fn new(reactor: &Reactor, options: StoreOptions) -> Store {
        Store {
            inner: Rc::new(RefCell::new(Inner {
                entries: HashMap::new(),
                recency: BTreeMap::new(),
                uses: 0,
                used: 0,
                options,
            })),
            reactor: reactor.clone(),
        }
    }

    /// The value of `key`; reading an entry counts as using it (it is evicted later). A missing
    /// key is [`StoreError::NotFound`].
    pub fn get(&self, key: &[u8]) -> Result<Rc<[u8]>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let value = match inner.entries.get(key) {
            Some(entry) => Rc::clone(&entry.value),
            None => return Err(StoreError::NotFound(key.to_vec())),
        };
        inner.touch(key);
        Ok(value)
    }

    /// Stores `value` under `key`, and starts the key's time to live over. Beyond the memory bound,
    /// the least recently used other entries are evicted until the new one fits; an entry bigger
    /// than the whole bound is refused (and an older value of the key is left as it was).
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let size = key.len() + value.len();
        if let Some(max_memory) = inner.options.max_memory
            && size > max_memory
        {
            return Err(StoreError::TooLarge { size, max_memory });
        }
        let ttl = inner.options.ttl;
        // An existing entry keeps its timed call, moved to a full time to live from now: the same
        // as cancelling it and scheduling another, without the churn.
        let expiry = match inner.remove(key) {
            Some(old) => {
                // A call that has run has removed its entry, so the old one is still pending.
                let _ = old.expiry.reset(ttl);
                old.expiry
            }
            None => self.schedule_expiry(key, ttl),
        };
        inner.used += size;
        inner.entries.insert(
            key.to_vec(),
            Entry {
                value: value.into(),
                expiry,
                last_used: 0,
            },
        );
        inner.touch(key);
        self.evict(&mut inner);
        Ok(())
    }

    /// Removes `key`'s entry and cancels its timed call. A missing key is
    /// [`StoreError::NotFound`].
    pub fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        let entry = self.inner.borrow_mut().remove(key);
        match entry {
            Some(entry) => {
                let _ = entry.expiry.cancel();
                Ok(())
            }
            None => Err(StoreError::NotFound(key.to_vec())),
        }
    }

    /// How many entries the store holds.
    pub fn len(&self) -> usize {
        self.inner.borrow().entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes its keys and values take.
    pub fn memory_used(&self) -> usize {
        self.inner.borrow().used
    }

    /// The time to live of the entries.
    pub fn ttl(&self) -> Duration {
        self.inner.borrow().options.ttl
    }

    /// The timed call that removes `key` when its time is up. It holds the store weakly: a store
    /// that is gone leaves nothing to expire.
    fn schedule_expiry(&self, key: &[u8], ttl: Duration) -> DelayedCall {
        let store: Weak<RefCell<Inner>> = Rc::downgrade(&self.inner);
        let key = key.to_vec();
        self.reactor.call_later(ttl, move || {
            if let Some(inner) = store.upgrade() {
                // The entry goes; its (just run) call goes with it.
                let _ = inner.borrow_mut().remove(&key);
            }
        })
    }

    /// Evicts least recently used entries while the store is over its bound.
    fn evict(&self, inner: &mut Inner) {
        let Some(max_memory) = inner.options.max_memory else {
            return;
        };
        while inner.used > max_memory {
            let Some((_, oldest)) = inner.recency.pop_first() else {
                return;
            };
            if let Some(entry) = inner.entries.remove(&oldest) {
                inner.used -= oldest.len() + entry.value.len();
                let _ = entry.expiry.cancel();
            }
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Store")
            .field("entries", &inner.entries.len())
            .field("used", &inner.used)
            .field("options", &inner.options)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Something done to the store at some time, saying what happened.
    type Step = Box<dyn FnOnce(&Store) -> String>;

    /// Runs `steps` on a paused-clock reactor: each is (seconds from the start, what to do then).
    /// Returns what the steps recorded.
    fn at_times(options: StoreOptions, steps: Vec<(f64, Step)>) -> Vec<String> {
        let reactor = Reactor::with_paused_clock().unwrap();
        let store = Store::new(&reactor, options);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let last = steps.iter().map(|(at, _)| *at).fold(0.0, f64::max);
        for (at, step) in steps {
            let (store, seen) = (store.clone(), Rc::clone(&seen));
            reactor.call_later(Duration::from_secs_f64(at), move || {
                seen.borrow_mut().push(step(&store));
            });
        }
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs_f64(last + 1.0), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        seen.take()
    }

    fn get(key: &'static str) -> Step {
        Box::new(move |store| match store.get(key.as_bytes()) {
            Ok(value) => format!("{key}={}", String::from_utf8_lossy(&value)),
            Err(error) => format!("{key}: {error}"),
        })
    }

    fn set(key: &'static str, value: &'static str) -> Step {
        Box::new(move |store| {
            store.set(key.as_bytes(), value.as_bytes()).unwrap();
            format!("set {key}")
        })
    }

    #[test]
    fn an_entry_lives_fifteen_seconds() {
        let seen = at_times(
            StoreOptions::default(),
            vec![(0.0, set("a", "value")), (14.9, get("a")), (15.1, get("a"))],
        );
        assert_eq!(seen, ["set a", "a=value", "a: 'a'"]);
    }

    #[test]
    fn setting_again_starts_the_time_over() {
        let seen = at_times(
            StoreOptions::default(),
            vec![
                (0.0, set("a", "one")),
                (10.0, set("a", "two")),
                (15.1, get("a")),
                (24.9, get("a")),
                (25.1, get("a")),
            ],
        );
        assert_eq!(seen, ["set a", "set a", "a=two", "a=two", "a: 'a'"]);
    }

    #[test]
    fn deleting_cancels_the_timed_call() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let store = Store::new(&reactor, StoreOptions::default());
        store.set(b"a", b"1").unwrap();
        store.set(b"b", b"2").unwrap();
        assert_eq!(reactor.pending_calls(), 2);
        store.delete(b"a").unwrap();
        assert_eq!(reactor.pending_calls(), 1);
        assert_eq!(store.delete(b"a"), Err(StoreError::NotFound(b"a".to_vec())));
        // Re-set after a delete: a fresh call, and only one.
        store.set(b"a", b"3").unwrap();
        store.set(b"a", b"4").unwrap();
        assert_eq!(reactor.pending_calls(), 2);
        assert_eq!(&*store.get(b"a").unwrap(), b"4");
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_deleted_and_reset_key_lives_its_new_time() {
        let seen = at_times(
            StoreOptions::default(),
            vec![
                (0.0, set("a", "one")),
                (
                    5.0,
                    Box::new(|store: &Store| {
                        store.delete(b"a").unwrap();
                        "deleted a".to_owned()
                    }),
                ),
                (6.0, set("a", "two")),
                (15.5, get("a")),
                (21.1, get("a")),
            ],
        );
        assert_eq!(seen, ["set a", "deleted a", "set a", "a=two", "a: 'a'"]);
    }

    #[test]
    fn the_time_to_live_is_an_option() {
        let options = StoreOptions {
            ttl: Duration::from_secs(2),
            max_memory: None,
        };
        let seen = at_times(
            options,
            vec![(0.0, set("a", "v")), (1.9, get("a")), (2.1, get("a"))],
        );
        assert_eq!(seen, ["set a", "a=v", "a: 'a'"]);
    }

    #[test]
    fn beyond_the_bound_the_least_recently_used_go_first() {
        let reactor = Reactor::with_paused_clock().unwrap();
        // Each entry below takes 2 bytes; room for three.
        let options = StoreOptions {
            ttl: StoreOptions::DEFAULT_TTL,
            max_memory: Some(6),
        };
        let store = Store::new(&reactor, options);
        for key in [b"a", b"b", b"c"] {
            store.set(key, b"1").unwrap();
        }
        // Reading `a` makes `b` the least recently used.
        store.get(b"a").unwrap();
        store.set(b"d", b"1").unwrap();
        assert!(store.get(b"b").is_err());
        // Setting `c` again makes `a` the oldest.
        store.set(b"c", b"2").unwrap();
        store.set(b"e", b"1").unwrap();
        assert!(store.get(b"a").is_err());
        assert_eq!(store.len(), 3);
        assert_eq!(store.memory_used(), 6);
        // A bigger value evicts as many as it needs: `d` and then `c`.
        store.set(b"f", b"123").unwrap();
        assert!(store.get(b"d").is_err() && store.get(b"c").is_err());
        assert_eq!(&*store.get(b"e").unwrap(), b"1");
        assert_eq!(store.memory_used(), 6);
        // Evicted entries take their timed calls with them.
        assert_eq!(reactor.pending_calls(), 2);
        // An entry bigger than the bound is refused, and the store left as it was.
        assert_eq!(
            store.set(b"g", b"123456"),
            Err(StoreError::TooLarge {
                size: 7,
                max_memory: 6
            })
        );
        assert_eq!(store.len(), 2);
    }
}
