//! The store: keys to values, each entry removed by its own timed call when its time to live is up.
//!
//! The training's `keyvalue.py` keeps a dictionary and, beside it, one pending `callLater` per key:
//! setting a key (again) starts its 15 seconds over, deleting it cancels the call. This store does
//! the same on our reactor, and adds what memcached has and the training did not: a bound on the
//! memory the entries take, beyond which the least recently used entries are evicted.
//!
//! It also keeps what the memcached protocol asks of an entry (see
//! [`keyvalue::memcached`](crate::keyvalue::memcached)): 32-bit flags the client gives and gets back,
//! a unique number that changes whenever the entry does (for `cas`, "check and set"), and a time
//! to live of the entry's own, or none. The two protocols meet here: the line protocol's `set` is
//! [`Store::set`], which gives every entry the store's `ttl` (the training's 15 seconds), while a
//! memcached client says for each entry how long it lives ([`Expiry`]), "never" included. Expiry is
//! the same in both: one timed call per entry that has a time to live, moved when the time changes,
//! cancelled when the entry goes first. An entry that never expires has no timed call at all.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::reactor::{DelayedCall, Reactor};

/// How a [`Store`] behaves.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long an entry set by [`Store::set`] lives after it was last set.
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

/// When an entry goes, for the operations that say it themselves (the memcached protocol's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// It stays until it is deleted, replaced, flushed or evicted.
    Never,
    /// It goes this long from now.
    After(Duration),
    /// It is gone at once: the time it was given is already past. The operation still happens
    /// (an `add` of a key that exists is still refused), but leaves no entry behind.
    Past,
}

/// What a storage command asks of the store, besides storing the value: the memcached protocol's
/// `set`, `add`, `replace`, `append`, `prepend` and `cas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    /// Store whatever was there.
    Set,
    /// Store only if the key has no entry.
    Add,
    /// Store only if the key has an entry.
    Replace,
    /// Add the data after the entry's value; its flags and time to live stay.
    Append,
    /// Add the data before the entry's value; its flags and time to live stay.
    Prepend,
    /// Store only if the entry's unique number is still this one: nobody changed it since the
    /// client read it.
    Cas(u64),
}

/// What became of a storage command (the memcached protocol's replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The value is stored.
    Stored,
    /// The mode's condition did not hold (`add` of a key that exists, `replace`, `append` or
    /// `prepend` of one that does not).
    NotStored,
    /// A `cas` whose entry changed since the client read it.
    Exists,
    /// A `cas` whose entry is gone.
    NotFound,
}

/// An entry as the memcached protocol reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The value: shared with the store, not copied.
    pub value: Rc<[u8]>,
    /// The client's flags, given back as they were stored.
    pub flags: u32,
    /// The entry's unique number, which changes whenever the entry does.
    pub cas: u64,
}

/// Why `incr` or `decr` could not change an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaError {
    /// No entry has that key.
    NotFound,
    /// The value is not a decimal number that fits in 64 bits.
    NotNumeric,
}

/// Whether `incr` or `decr`, and by how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delta {
    /// Adds, wrapping around past 2^64 - 1 (as memcached does).
    Incr(u64),
    /// Subtracts, stopping at 0 (as memcached does).
    Decr(u64),
}

/// One entry: its value, what the memcached protocol keeps with it, the timed call that will
/// remove it (if it expires), and when it was last used.
struct Entry {
    value: Rc<[u8]>,
    flags: u32,
    cas: u64,
    expiry: Option<DelayedCall>,
    /// The entry's place in [`Inner::recency`].
    last_used: u64,
}

/// What a write does with the entry's time to live.
enum Timing {
    /// Keeps the entry's own (`append`, `prepend`, `incr`, `decr`).
    Keep,
    /// Gives it this one.
    Set(Expiry),
}

struct Inner {
    /// The keys are shared with `recency`: stamping an entry as used allocates nothing.
    entries: HashMap<Rc<[u8]>, Entry>,
    /// The keys by when they were last used (set or read), oldest first: the eviction order.
    recency: BTreeMap<u64, Rc<[u8]>>,
    /// Counts uses, to stamp them in `recency`.
    uses: u64,
    /// Bytes taken by keys and values.
    used: usize,
    /// The last unique number given to an entry.
    last_cas: u64,
    /// Entries stored since the store was made.
    total_items: u64,
    /// Entries evicted to keep within the memory bound.
    evictions: u64,
    /// The pending `flush_all` with a delay, if any: a later flush replaces it.
    flush: Option<DelayedCall>,
    options: StoreOptions,
}

impl Inner {
    /// Stamps `key`'s entry as just used.
    fn touch(&mut self, key: &[u8]) {
        if let Some(entry) = self.entries.get_mut(key) {
            Inner::stamp(&mut self.recency, &mut self.uses, entry);
        }
    }

    /// Stamps an entry as just used: it moves to the young end of the eviction order. (The
    /// fields apart, so that a caller holding the entry need not look it up again.)
    fn stamp(recency: &mut BTreeMap<u64, Rc<[u8]>>, uses: &mut u64, entry: &mut Entry) {
        *uses += 1;
        if let Some(shared) = recency.remove(&entry.last_used) {
            entry.last_used = *uses;
            recency.insert(*uses, shared);
        }
    }

    /// Takes `key`'s entry out, with its bookkeeping, and gives back the entry and its shared key;
    /// its timed call is the caller's business.
    fn remove(&mut self, key: &[u8]) -> Option<(Rc<[u8]>, Entry)> {
        let (shared, entry) = self.entries.remove_entry(key)?;
        self.recency.remove(&entry.last_used);
        self.used -= key.len() + entry.value.len();
        Some((shared, entry))
    }

    /// The size check of a write: an entry alone bigger than the bound is refused.
    fn check_size(&self, size: usize) -> Result<(), StoreError> {
        match self.options.max_memory {
            Some(max_memory) if size > max_memory => Err(StoreError::TooLarge { size, max_memory }),
            _ => Ok(()),
        }
    }

    /// Removes every entry and cancels their timed calls.
    fn clear(&mut self) {
        for (_, entry) in self.entries.drain() {
            if let Some(expiry) = entry.expiry {
                let _ = expiry.cancel();
            }
        }
        self.recency.clear();
        self.used = 0;
    }
}

/// The key-value store. Clones are handles to the same store.
///
/// It lives on a reactor's thread: the timed calls that expire entries run on that reactor.
#[derive(Clone)]
pub struct Store {
    inner: Rc<RefCell<Inner>>,
    reactor: Reactor,
    /// The Unix time at the reactor's time zero: with the reactor's clock, the Unix time now, on
    /// a clock that a test can pause (memcached's expiry times may be Unix times).
    epoch: f64,
}

impl Store {
    /// An empty store whose entries expire on `reactor`'s clock.
    pub fn new(reactor: &Reactor, options: StoreOptions) -> Store {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        Store {
            inner: Rc::new(RefCell::new(Inner {
                entries: HashMap::new(),
                recency: BTreeMap::new(),
                uses: 0,
                used: 0,
                last_cas: 0,
                total_items: 0,
                evictions: 0,
                flush: None,
                options,
            })),
            reactor: reactor.clone(),
            epoch: wall - reactor.seconds(),
        }
    }

    /// The value of `key`; reading an entry counts as using it (it is evicted later). A missing
    /// key is [`StoreError::NotFound`].
    pub fn get(&self, key: &[u8]) -> Result<Rc<[u8]>, StoreError> {
        self.item(key)
            .map(|item| item.value)
            .ok_or_else(|| StoreError::NotFound(key.to_vec()))
    }

    /// The entry of `key` with its flags and unique number, or `None`; reading it counts as using
    /// it.
    pub fn item(&self, key: &[u8]) -> Option<Item> {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        let entry = inner.entries.get_mut(key)?;
        Inner::stamp(&mut inner.recency, &mut inner.uses, entry);
        Some(Item {
            value: Rc::clone(&entry.value),
            flags: entry.flags,
            cas: entry.cas,
        })
    }

    /// Stores `value` under `key`, and starts the key's time to live (the store's `ttl`) over.
    /// Beyond the memory bound, the least recently used other entries are evicted until the new
    /// one fits; an entry bigger than the whole bound is refused (and an older value of the key is
    /// left as it was).
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let ttl = self.ttl();
        self.store(StoreMode::Set, key, value, 0, Expiry::After(ttl))
            .map(|_| ())
    }

    /// A memcached storage command: stores `data` under `key` as `mode` says, with `flags` and
    /// `expiry` (which `append` and `prepend` ignore: they keep the entry's). Evicts and refuses
    /// as [`set`](Store::set) does.
    pub fn store(
        &self,
        mode: StoreMode,
        key: &[u8],
        data: &[u8],
        flags: u32,
        expiry: Expiry,
    ) -> Result<Stored, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let existing = inner.entries.get(key);
        let refused = match (mode, existing) {
            (StoreMode::Add, Some(_)) => Some(Stored::NotStored),
            (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, None) => {
                Some(Stored::NotStored)
            }
            (StoreMode::Cas(_), None) => Some(Stored::NotFound),
            (StoreMode::Cas(unique), Some(entry)) if entry.cas != unique => Some(Stored::Exists),
            _ => None,
        };
        if let Some(refused) = refused {
            return Ok(refused);
        }
        let (value, flags, timing): (Rc<[u8]>, u32, Timing) = match (mode, existing) {
            (StoreMode::Append, Some(entry)) => {
                inner.check_size(key.len() + entry.value.len() + data.len())?;
                let joined = [&entry.value[..], data].concat();
                (joined.into(), entry.flags, Timing::Keep)
            }
            (StoreMode::Prepend, Some(entry)) => {
                inner.check_size(key.len() + entry.value.len() + data.len())?;
                let joined = [data, &entry.value[..]].concat();
                (joined.into(), entry.flags, Timing::Keep)
            }
            _ => {
                inner.check_size(key.len() + data.len())?;
                (data.into(), flags, Timing::Set(expiry))
            }
        };
        self.put(&mut inner, key, value, flags, timing);
        Ok(Stored::Stored)
    }

    /// Removes `key`'s entry and cancels its timed call. A missing key is
    /// [`StoreError::NotFound`].
    pub fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        let removed = self.inner.borrow_mut().remove(key);
        match removed {
            Some((_, entry)) => {
                if let Some(expiry) = entry.expiry {
                    let _ = expiry.cancel();
                }
                Ok(())
            }
            None => Err(StoreError::NotFound(key.to_vec())),
        }
    }

    /// Gives `key`'s entry a new time to live, leaving its value, flags and unique number; whether
    /// there was an entry. It counts as using the entry.
    pub fn touch(&self, key: &[u8], expiry: Expiry) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(shared) = inner
            .entries
            .get_key_value(key)
            .map(|(shared, _)| Rc::clone(shared))
        else {
            return false;
        };
        let Some(entry) = inner.entries.get_mut(key) else {
            return false;
        };
        let timer = entry.expiry.take();
        match self.timer_for(&shared, timer, expiry) {
            Some(timer) => {
                entry.expiry = timer;
                inner.touch(key);
            }
            None => {
                inner.remove(key);
            }
        }
        true
    }

    /// memcached's `incr` and `decr`: reads the value as a decimal number, changes it by `delta`,
    /// and stores the result as text, keeping the entry's flags and time to live. A result shorter
    /// than the value it replaces is padded with spaces to the old length, as memcached pads it
    /// (it rewrites the value in place), so that clients see the same bytes from both servers.
    pub fn add_delta(&self, key: &[u8], delta: Delta) -> Result<u64, DeltaError> {
        let mut inner = self.inner.borrow_mut();
        let entry = inner.entries.get(key).ok_or(DeltaError::NotFound)?;
        let number = parse_number(&entry.value).ok_or(DeltaError::NotNumeric)?;
        let result = match delta {
            Delta::Incr(by) => number.wrapping_add(by),
            Delta::Decr(by) => number.saturating_sub(by),
        };
        let mut text = result.to_string().into_bytes();
        if text.len() < entry.value.len() {
            text.resize(entry.value.len(), b' ');
        }
        let flags = entry.flags;
        self.put(&mut inner, key, text.into(), flags, Timing::Keep);
        Ok(result)
    }

    /// memcached's `flush_all`: removes every entry now (`None`), or every entry there is once
    /// `delay` has passed. A flush replaces one still waiting.
    pub fn flush(&self, delay: Option<Duration>) {
        let mut inner = self.inner.borrow_mut();
        if let Some(pending) = inner.flush.take() {
            let _ = pending.cancel();
        }
        match delay {
            None => inner.clear(),
            Some(delay) => {
                let store = Rc::downgrade(&self.inner);
                inner.flush = Some(self.reactor.call_later(delay, move || {
                    if let Some(inner) = store.upgrade() {
                        let mut inner = inner.borrow_mut();
                        inner.flush = None;
                        inner.clear();
                    }
                }));
            }
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

    /// The memory bound, if there is one.
    pub fn max_memory(&self) -> Option<usize> {
        self.inner.borrow().options.max_memory
    }

    /// How many entries were stored since the store was made (memcached's `total_items`).
    pub fn total_items(&self) -> u64 {
        self.inner.borrow().total_items
    }

    /// How many entries were evicted to keep within the memory bound.
    pub fn evictions(&self) -> u64 {
        self.inner.borrow().evictions
    }

    /// The time to live of the entries set by [`set`](Store::set).
    pub fn ttl(&self) -> Duration {
        self.inner.borrow().options.ttl
    }

    /// The Unix time now, in seconds, on the reactor's clock (which a test may pause).
    pub fn unix_time(&self) -> f64 {
        self.epoch + self.reactor.seconds()
    }

    /// Stores an entry whose checks have passed: a new unique number, the timed call as `timing`
    /// says, and evictions if the store is now over its bound.
    fn put(&self, inner: &mut Inner, key: &[u8], value: Rc<[u8]>, flags: u32, timing: Timing) {
        let (shared, old_timer) = match inner.remove(key) {
            Some((shared, entry)) => (shared, entry.expiry),
            None => (key.into(), None),
        };
        let expiry = match timing {
            Timing::Keep => Some(old_timer),
            Timing::Set(expiry) => self.timer_for(&shared, old_timer, expiry),
        };
        inner.last_cas += 1;
        inner.total_items += 1;
        // An entry that expires at once is written and gone: the unique number moved on, and a
        // value that was there is no more.
        let Some(expiry) = expiry else {
            return;
        };
        inner.used += key.len() + value.len();
        inner.uses += 1;
        let last_used = inner.uses;
        inner.recency.insert(last_used, Rc::clone(&shared));
        let cas = inner.last_cas;
        inner.entries.insert(
            shared,
            Entry {
                value,
                flags,
                cas,
                expiry,
                last_used,
            },
        );
        self.evict(inner);
    }

    /// The timed call of an entry whose time to live becomes `expiry`, given its current one:
    /// the current call moved (rather than cancelled and scheduled again, without the churn), a
    /// new one, or none for an entry that never expires. `None` for an entry that must go now.
    fn timer_for(
        &self,
        key: &Rc<[u8]>,
        current: Option<DelayedCall>,
        expiry: Expiry,
    ) -> Option<Option<DelayedCall>> {
        match (expiry, current) {
            (Expiry::After(delay), Some(timer)) => {
                // A call that has run has removed its entry, so a current one is still pending.
                let _ = timer.reset(delay);
                Some(Some(timer))
            }
            (Expiry::After(delay), None) => Some(Some(self.schedule_expiry(key, delay))),
            (Expiry::Never | Expiry::Past, current) => {
                if let Some(timer) = current {
                    let _ = timer.cancel();
                }
                (expiry == Expiry::Never).then_some(None)
            }
        }
    }

    /// The timed call that removes `key` when its time is up. It holds the store weakly: a store
    /// that is gone leaves nothing to expire.
    fn schedule_expiry(&self, key: &Rc<[u8]>, ttl: Duration) -> DelayedCall {
        let store: Weak<RefCell<Inner>> = Rc::downgrade(&self.inner);
        let key = Rc::clone(key);
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
                inner.evictions += 1;
                if let Some(expiry) = entry.expiry {
                    let _ = expiry.cancel();
                }
            }
        }
    }
}

/// Reads a value as memcached's `incr` does: optional leading whitespace, decimal digits that fit
/// in 64 bits, and then nothing or whitespace (after which anything goes: the spaces a shorter
/// result was padded with, say).
fn parse_number(value: &[u8]) -> Option<u64> {
    let start = value.iter().position(|b| !b.is_ascii_whitespace())?;
    let digits = &value[start..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || (end < digits.len() && !digits[end].is_ascii_whitespace()) {
        return None;
    }
    digits[..end].iter().try_fold(0u64, |number, digit| {
        number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
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

    #[test]
    fn memcached_entries_expire_as_they_say() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let store = Store::new(&reactor, StoreOptions::default());
        let set = |key: &[u8], expiry| store.store(StoreMode::Set, key, b"v", 0, expiry);
        // An entry that never expires has no timed call; one that expires has one, moved (not
        // doubled) when it is set again.
        assert_eq!(set(b"forever", Expiry::Never), Ok(Stored::Stored));
        assert_eq!(reactor.pending_calls(), 0);
        set(b"soon", Expiry::After(Duration::from_secs(5))).unwrap();
        set(b"soon", Expiry::After(Duration::from_secs(9))).unwrap();
        assert_eq!(reactor.pending_calls(), 1);
        // Made to live for ever, its call goes.
        assert!(store.touch(b"soon", Expiry::Never));
        assert_eq!(reactor.pending_calls(), 0);
        // A time already past stores nothing and removes what was there.
        assert_eq!(set(b"soon", Expiry::Past), Ok(Stored::Stored));
        assert!(store.item(b"soon").is_none());
        assert!(!store.touch(b"soon", Expiry::Never));
        assert_eq!(store.len(), 1);
        // Each change gives a new unique number; touch does not.
        let before = store.item(b"forever").unwrap().cas;
        store.touch(b"forever", Expiry::Never);
        assert_eq!(store.item(b"forever").unwrap().cas, before);
        set(b"forever", Expiry::Never).unwrap();
        assert!(store.item(b"forever").unwrap().cas > before);
    }

    #[test]
    fn the_storage_modes() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let store = Store::new(&reactor, StoreOptions::default());
        let put = |mode, data: &[u8], flags| store.store(mode, b"k", data, flags, Expiry::Never);
        assert_eq!(put(StoreMode::Replace, b"x", 0), Ok(Stored::NotStored));
        assert_eq!(put(StoreMode::Append, b"x", 0), Ok(Stored::NotStored));
        assert_eq!(put(StoreMode::Cas(1), b"x", 0), Ok(Stored::NotFound));
        assert_eq!(put(StoreMode::Add, b"mid", 7), Ok(Stored::Stored));
        assert_eq!(put(StoreMode::Add, b"x", 0), Ok(Stored::NotStored));
        assert_eq!(put(StoreMode::Append, b">", 1), Ok(Stored::Stored));
        assert_eq!(put(StoreMode::Prepend, b"<", 2), Ok(Stored::Stored));
        let item = store.item(b"k").unwrap();
        // Appending and prepending keep the flags.
        assert_eq!((&item.value[..], item.flags), (&b"<mid>"[..], 7));
        assert_eq!(
            put(StoreMode::Cas(item.cas + 1), b"x", 0),
            Ok(Stored::Exists)
        );
        assert_eq!(put(StoreMode::Cas(item.cas), b"new", 3), Ok(Stored::Stored));
        assert_eq!(put(StoreMode::Replace, b"last", 4), Ok(Stored::Stored));
        assert_eq!(&store.item(b"k").unwrap().value[..], b"last");
        assert_eq!(store.memory_used(), 5);
        assert_eq!(store.total_items(), 5);
    }

    #[test]
    fn incr_and_decr() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let store = Store::new(&reactor, StoreOptions::default());
        let set = |value: &[u8]| {
            store
                .store(StoreMode::Set, b"n", value, 5, Expiry::Never)
                .unwrap()
        };
        assert_eq!(
            store.add_delta(b"n", Delta::Incr(1)),
            Err(DeltaError::NotFound)
        );
        set(b" 100");
        assert_eq!(store.add_delta(b"n", Delta::Decr(1)), Ok(99));
        // Padded to the old length, flags kept.
        let item = store.item(b"n").unwrap();
        assert_eq!((&item.value[..], item.flags), (&b"99  "[..], 5));
        assert_eq!(store.add_delta(b"n", Delta::Decr(1000)), Ok(0));
        set(b"18446744073709551615");
        assert_eq!(store.add_delta(b"n", Delta::Incr(2)), Ok(1));
        for not_a_number in [&b""[..], b"  ", b"1a", b"-1", b"18446744073709551616", b"x"] {
            set(not_a_number);
            assert_eq!(
                store.add_delta(b"n", Delta::Incr(1)),
                Err(DeltaError::NotNumeric),
                "{not_a_number:?}"
            );
        }
    }

    #[test]
    fn flush_now_or_later() {
        let seen = at_times(
            StoreOptions::default(),
            vec![
                (0.0, set("a", "1")),
                (
                    1.0,
                    Box::new(|store: &Store| {
                        store.flush(Some(Duration::from_secs(5)));
                        "flush in 5".to_owned()
                    }),
                ),
                (3.0, set("b", "2")),
                (5.9, get("b")),
                (6.1, get("b")),
                (7.0, set("c", "3")),
                (
                    8.0,
                    Box::new(|store: &Store| {
                        store.flush(None);
                        format!("flushed, {} left", store.len())
                    }),
                ),
            ],
        );
        assert_eq!(
            seen,
            [
                "set a",
                "flush in 5",
                "set b",
                "b=2",
                "b: 'b'",
                "set c",
                "flushed, 0 left"
            ]
        );
    }
}
