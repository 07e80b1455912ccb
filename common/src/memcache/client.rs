//! [`MemcacheClient`]: a connection to memcached, each request a Deferred.
//!
//! memcached answers the requests of one connection in the order they came, so the client writes
//! each request the moment it is made (pipelining: ten gets cost one round trip, not ten) and keeps
//! the requests that wait for their answers in a first-in, first-out queue. Each reply goes to the
//! oldest request; most requests take one reply, a `get` takes its `VALUE`s up to the `END`, and
//! `stats` its `STAT` lines up to the `END`.
//!
//! What can go wrong is told apart:
//!
//! * A miss is not an error: `get` gives `None`, `delete` and `touch` give `false`, a storage
//!   command gives [`StoreOutcome::NotStored`] or [`StoreOutcome::NotFound`].
//! * An error reply (`ERROR`, `CLIENT_ERROR …`, `SERVER_ERROR …`) fails its request with a
//!   [`MemcacheError`] that keeps the server's message; the connection goes on.
//! * A reply that cannot answer the oldest request (a `VALUE` for a set, a line nobody asked for) means
//!   the two sides no longer agree on where they are: that request fails, the connection is closed,
//!   and every other waiting request fails with it.
//! * Nothing waits forever: the connection's loss fails every waiting request, and every later
//!   one; with a timeout, a server silent that long while requests wait fails them all and the
//!   connection is closed (a late answer could no longer be matched to its request).
//!
//! Keys are checked before anything is sent: a key with a space or a line end in it would be read
//! by the server as another command.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::reply::{Item, ReadError, ReadLimits, Reply, ReplyReader};
use crate::defer::{Deferred, Failure, fail, succeed};
use crate::protocol::{DisconnectReason, Protocol, RequestQueue, Transport, WaitingRequest};
use crate::reactor::Reactor;

/// The longest key memcached accepts, in bytes.
pub const MAX_KEY_LENGTH: usize = 250;

/// The most `STAT` lines one `stats` may answer (memcached sends about a hundred).
const MAX_STATS: usize = 10_000;

/// Whether memcached accepts `key`: 1 to 250 bytes, none of them whitespace or a control byte.
pub fn check_key(key: &[u8]) -> Result<(), MemcacheError> {
    if key.is_empty() || key.len() > MAX_KEY_LENGTH || key.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(MemcacheError::InvalidKey(
            String::from_utf8_lossy(key).into_owned(),
        ));
    }
    Ok(())
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemcacheError {
    /// The key cannot be sent (checked before sending; nothing was sent).
    InvalidKey(String),
    /// The server does not know the command (`ERROR`).
    Error,
    /// The server says the request was malformed (`CLIENT_ERROR <message>`).
    ClientError(String),
    /// The server could not do it (`SERVER_ERROR <message>`).
    ServerError(String),
    /// The server answered something that does not answer this request; the connection was closed.
    Unexpected(String),
    /// The connection was lost (or never made) before the answer came.
    ConnectionLost(String),
    /// No answer came within the timeout; the connection was closed.
    Timeout(Duration),
}

impl fmt::Display for MemcacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemcacheError::InvalidKey(key) => write!(
                f,
                "not a memcached key: {key:?} (1 to {MAX_KEY_LENGTH} bytes, no whitespace or \
                 control characters)"
            ),
            MemcacheError::Error => f.write_str("ERROR"),
            MemcacheError::ClientError(message) => write!(f, "CLIENT_ERROR {message}"),
            MemcacheError::ServerError(message) => write!(f, "SERVER_ERROR {message}"),
            MemcacheError::Unexpected(what) => write!(f, "unexpected answer: {what}"),
            MemcacheError::ConnectionLost(why) => write!(f, "no answer: {why}"),
            MemcacheError::Timeout(limit) => write!(f, "no answer within {limit:?}"),
        }
    }
}

impl std::error::Error for MemcacheError {}

/// What a storage command (`set`, `add`, `replace`, `append`, `prepend`, `cas`) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Stored (`STORED`).
    Stored,
    /// Not stored, as the command's condition asked (`NOT_STORED`: `add` of a key that is there,
    /// `replace`, `append` or `prepend` of one that is not).
    NotStored,
    /// `cas`: the value changed since the `gets` (`EXISTS`).
    Exists,
    /// `cas`: the key is not there (`NOT_FOUND`).
    NotFound,
}

/// The client's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ClientOptions {
    /// How long the server may stay silent while requests wait (`None`: for ever).
    pub timeout: Option<Duration>,
    /// The longest reply line and the largest value accepted from the server.
    pub limits: ReadLimits,
}

/// Where a `get`'s values go once its `END` comes.
enum GetDone {
    One(Deferred<Option<Item>>),
    Many(Deferred<BTreeMap<Vec<u8>, Item>>),
}

/// A request sent and not yet (fully) answered.
enum Waiting {
    Get {
        keys: Vec<Vec<u8>>,
        found: BTreeMap<Vec<u8>, Item>,
        /// How many values came: never more than keys asked for.
        values: usize,
        done: GetDone,
    },
    Store(Deferred<StoreOutcome>),
    /// `delete` and `touch`: whether the key was there.
    Found(Deferred<bool>),
    Number(Deferred<Option<u64>>),
    Flush(Deferred<()>),
    Version(Deferred<String>),
    Stats {
        stats: BTreeMap<String, String>,
        done: Deferred<BTreeMap<String, String>>,
    },
}

/// What a reply did to the oldest request.
enum Answer {
    /// It took the reply and waits for more.
    More(Waiting),
    /// It is answered (or failed by an error reply); the connection goes on.
    Done,
    /// The reply does not answer it: it failed, and the connection must close.
    Unexpected,
}

impl WaitingRequest for Waiting {
    type Error = MemcacheError;

    fn fail(self, error: MemcacheError) {
        let failure = Failure::new(error);
        let _ = match self {
            Waiting::Get {
                done: GetDone::One(d),
                ..
            } => d.errback(failure),
            Waiting::Get {
                done: GetDone::Many(d),
                ..
            } => d.errback(failure),
            Waiting::Store(d) => d.errback(failure),
            Waiting::Found(d) => d.errback(failure),
            Waiting::Number(d) => d.errback(failure),
            Waiting::Flush(d) => d.errback(failure),
            Waiting::Version(d) => d.errback(failure),
            Waiting::Stats { done, .. } => done.errback(failure),
        };
    }

    fn connection_lost(why: String) -> MemcacheError {
        MemcacheError::ConnectionLost(why)
    }

    fn timed_out(limit: Duration) -> MemcacheError {
        MemcacheError::Timeout(limit)
    }
}

impl Waiting {
    /// Takes `reply`, firing the request's Deferred if it completes it.
    fn answer(self, reply: Reply) -> Answer {
        let fired = match (self, reply) {
            (
                Waiting::Get {
                    keys,
                    mut found,
                    values,
                    done,
                },
                Reply::Value(item),
            ) if values < keys.len() && keys.contains(&item.key) => {
                found.insert(item.key.clone(), item);
                return Answer::More(Waiting::Get {
                    keys,
                    found,
                    values: values + 1,
                    done,
                });
            }
            (Waiting::Get { found, done, .. }, Reply::End) => match done {
                GetDone::One(d) => d.callback(found.into_values().next()),
                GetDone::Many(d) => d.callback(found),
            },
            (Waiting::Stats { mut stats, done }, Reply::Stat(name, value))
                if stats.len() < MAX_STATS =>
            {
                stats.insert(name, value);
                return Answer::More(Waiting::Stats { stats, done });
            }
            (Waiting::Stats { stats, done }, Reply::End) => done.callback(stats),
            (
                Waiting::Store(d),
                reply @ (Reply::Stored | Reply::NotStored | Reply::Exists | Reply::NotFound),
            ) => d.callback(match reply {
                Reply::Stored => StoreOutcome::Stored,
                Reply::NotStored => StoreOutcome::NotStored,
                Reply::Exists => StoreOutcome::Exists,
                _ => StoreOutcome::NotFound,
            }),
            (Waiting::Found(d), Reply::Deleted | Reply::Touched) => d.callback(true),
            (Waiting::Found(d), Reply::NotFound) => d.callback(false),
            (Waiting::Number(d), Reply::Number(value)) => d.callback(Some(value)),
            (Waiting::Number(d), Reply::NotFound) => d.callback(None),
            (Waiting::Flush(d), Reply::Ok) => d.callback(()),
            (Waiting::Version(d), Reply::Version(version)) => d.callback(version),
            (waiting, Reply::Error) => {
                waiting.fail(MemcacheError::Error);
                return Answer::Done;
            }
            (waiting, Reply::ClientError(message)) => {
                waiting.fail(MemcacheError::ClientError(message));
                return Answer::Done;
            }
            (waiting, Reply::ServerError(message)) => {
                waiting.fail(MemcacheError::ServerError(message));
                return Answer::Done;
            }
            (waiting, reply) => {
                waiting.fail(MemcacheError::Unexpected(reply.to_string()));
                return Answer::Unexpected;
            }
        };
        // Each request's Deferred is fired by its one final reply only.
        debug_assert!(fired.is_ok());
        Answer::Done
    }
}

struct Inner {
    reader: RefCell<ReplyReader>,
    requests: Rc<RequestQueue<Waiting>>,
}

/// Twisted's `MemCacheProtocol`: a connection to a memcached server. Clones are handles to the
/// same connection; connect one with a [`ClientCreator`](crate::protocol::ClientCreator).
///
/// Expiry times (`exptime`) are memcached's: 0 never expires, up to 30 days (2,592,000) is
/// seconds from now, more is a Unix time.
#[derive(Clone)]
pub struct MemcacheClient {
    inner: Rc<Inner>,
}

impl MemcacheClient {
    /// A client to connect, with `options`' timeout and limits.
    pub fn new(reactor: &Reactor, options: ClientOptions) -> MemcacheClient {
        MemcacheClient {
            inner: Rc::new(Inner {
                reader: RefCell::new(ReplyReader::new(options.limits)),
                requests: RequestQueue::new(reactor, options.timeout),
            }),
        }
    }

    /// The value of `key` and its flags; `None` when the key is not there.
    pub fn get(&self, key: &[u8]) -> Deferred<Option<Item>> {
        self.retrieve("get", &[key], GetDone::One)
    }

    /// As [`get`](MemcacheClient::get), with the value's cas unique number, for a later
    /// [`cas`](MemcacheClient::cas).
    pub fn gets(&self, key: &[u8]) -> Deferred<Option<Item>> {
        self.retrieve("gets", &[key], GetDone::One)
    }

    /// The values of several keys in one request: those found, by key.
    pub fn get_multiple(&self, keys: &[&[u8]]) -> Deferred<BTreeMap<Vec<u8>, Item>> {
        if keys.is_empty() {
            return succeed(BTreeMap::new());
        }
        self.retrieve("get", keys, GetDone::Many)
    }

    /// Stores `value` under `key`, whether or not the key is there.
    pub fn set(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
    ) -> Deferred<StoreOutcome> {
        self.store("set", key, value, flags, exptime, None)
    }

    /// Stores `value` only if `key` is not there.
    pub fn add(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
    ) -> Deferred<StoreOutcome> {
        self.store("add", key, value, flags, exptime, None)
    }

    /// Stores `value` only if `key` is there.
    pub fn replace(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
    ) -> Deferred<StoreOutcome> {
        self.store("replace", key, value, flags, exptime, None)
    }

    /// Adds `value` at the end of `key`'s value (flags and expiry time are kept).
    pub fn append(&self, key: &[u8], value: &[u8]) -> Deferred<StoreOutcome> {
        self.store("append", key, value, 0, 0, None)
    }

    /// Adds `value` at the start of `key`'s value (flags and expiry time are kept).
    pub fn prepend(&self, key: &[u8], value: &[u8]) -> Deferred<StoreOutcome> {
        self.store("prepend", key, value, 0, 0, None)
    }

    /// Stores `value` only if `key`'s value is still the one whose cas unique `gets` gave.
    pub fn cas(
        &self,
        key: &[u8],
        value: &[u8],
        cas_unique: u64,
        flags: u32,
        exptime: u32,
    ) -> Deferred<StoreOutcome> {
        self.store("cas", key, value, flags, exptime, Some(cas_unique))
    }

    /// Deletes `key`: `true` if it was there.
    pub fn delete(&self, key: &[u8]) -> Deferred<bool> {
        self.keyed("delete", key, String::new(), Waiting::Found)
    }

    /// Adds `by` to `key`'s value (a decimal number): the new value, `None` if the key is not
    /// there.
    pub fn incr(&self, key: &[u8], by: u64) -> Deferred<Option<u64>> {
        self.keyed("incr", key, format!(" {by}"), Waiting::Number)
    }

    /// Takes `by` from `key`'s value (memcached stops at 0): the new value, `None` if the key is not
    /// there.
    pub fn decr(&self, key: &[u8], by: u64) -> Deferred<Option<u64>> {
        self.keyed("decr", key, format!(" {by}"), Waiting::Number)
    }

    /// Gives `key` a new expiry time: `true` if it was there.
    pub fn touch(&self, key: &[u8], exptime: u32) -> Deferred<bool> {
        self.keyed("touch", key, format!(" {exptime}"), Waiting::Found)
    }

    /// Empties the cache.
    pub fn flush_all(&self) -> Deferred<()> {
        let d = Deferred::new();
        self.send(&[b"flush_all\r\n"], Waiting::Flush(d.clone()));
        d
    }

    /// The server's version (`1.6.18`).
    pub fn version(&self) -> Deferred<String> {
        let d = Deferred::new();
        self.send(&[b"version\r\n"], Waiting::Version(d.clone()));
        d
    }

    /// The server's statistics by name; `group` asks for another set (`settings`, `items`...).
    pub fn stats(&self, group: Option<&str>) -> Deferred<BTreeMap<String, String>> {
        let line = match group {
            Some(group) => {
                if let Err(error) = check_key(group.as_bytes()) {
                    return fail(Failure::new(error));
                }
                format!("stats {group}\r\n")
            }
            None => "stats\r\n".to_owned(),
        };
        let d = Deferred::new();
        let waiting = Waiting::Stats {
            stats: BTreeMap::new(),
            done: d.clone(),
        };
        self.send(&[line.as_bytes()], waiting);
        d
    }

    /// Closes the connection once what was written has gone.
    pub fn close(&self) {
        self.inner.requests.close();
    }

    /// How many requests wait for their answers.
    pub fn waiting(&self) -> usize {
        self.inner.requests.len()
    }

    fn retrieve<T: 'static>(
        &self,
        command: &str,
        keys: &[&[u8]],
        done: impl FnOnce(Deferred<T>) -> GetDone,
    ) -> Deferred<T> {
        if let Some(error) = keys.iter().find_map(|key| check_key(key).err()) {
            return fail(Failure::new(error));
        }
        let mut line = command.as_bytes().to_vec();
        for key in keys {
            line.push(b' ');
            line.extend_from_slice(key);
        }
        line.extend_from_slice(b"\r\n");
        let d = Deferred::new();
        let waiting = Waiting::Get {
            keys: keys.iter().map(|key| key.to_vec()).collect(),
            found: BTreeMap::new(),
            values: 0,
            done: done(d.clone()),
        };
        self.send(&[&line], waiting);
        d
    }

    fn store(
        &self,
        command: &str,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
        cas_unique: Option<u64>,
    ) -> Deferred<StoreOutcome> {
        if let Err(error) = check_key(key) {
            return fail(Failure::new(error));
        }
        let mut numbers = format!(" {flags} {exptime} {}", value.len());
        if let Some(unique) = cas_unique {
            numbers.push_str(&format!(" {unique}"));
        }
        let d = Deferred::new();
        let request: [&[u8]; 7] = [
            command.as_bytes(),
            b" ",
            key,
            numbers.as_bytes(),
            b"\r\n",
            value,
            b"\r\n",
        ];
        self.send(&request, Waiting::Store(d.clone()));
        d
    }

    /// A one-line request about `key` (checked first): `<command> <key><rest>`.
    fn keyed<T: 'static>(
        &self,
        command: &str,
        key: &[u8],
        rest: String,
        waiting: impl FnOnce(Deferred<T>) -> Waiting,
    ) -> Deferred<T> {
        if let Err(error) = check_key(key) {
            return fail(Failure::new(error));
        }
        let d = Deferred::new();
        let line: [&[u8]; 5] = [command.as_bytes(), b" ", key, rest.as_bytes(), b"\r\n"];
        self.send(&line, waiting(d.clone()));
        d
    }

    /// Writes the request at once, and queues it to wait for its answer.
    fn send(&self, pieces: &[&[u8]], waiting: Waiting) {
        self.inner.requests.send(pieces, waiting);
    }

    /// Gives `reply` to the oldest request; `false` if the connection had to be closed.
    fn dispatch(&self, reply: Reply) -> bool {
        let requests = &self.inner.requests;
        // Every reply is progress: the wait for the next starts over, if anyone waits.
        let Some(oldest) = requests.pop_oldest() else {
            let why = format!("an answer nobody asked for: {reply}");
            requests.shut(why.clone(), MemcacheError::ConnectionLost(why));
            return false;
        };
        let shown = reply.to_string();
        match oldest.answer(reply) {
            Answer::More(oldest) => requests.put_back(oldest),
            Answer::Done => {}
            Answer::Unexpected => {
                let why = format!("closed after an unexpected answer: {shown}");
                requests.shut(why.clone(), MemcacheError::ConnectionLost(why));
                return false;
            }
        }
        true
    }
}

impl Protocol for MemcacheClient {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.inner.requests.connection_made(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if self.inner.requests.lost().is_some() {
            return;
        }
        // The reader is done with before any Deferred fires, so that callbacks may send requests.
        let replies = self.inner.reader.borrow_mut().feed(data);
        for reply in replies {
            let carry_on = match reply {
                Ok(reply) => self.dispatch(reply),
                Err(error) => {
                    let why = format!("closed after {error}");
                    self.broken(error, why);
                    false
                }
            };
            if !carry_on {
                return;
            }
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.inner.requests.connection_lost(reason);
    }
}

impl MemcacheClient {
    /// The server's bytes could not be read: the oldest request fails with what was wrong, the
    /// others because the connection closes.
    fn broken(&self, error: ReadError, why: String) {
        let requests = &self.inner.requests;
        if let Some(oldest) = requests.pop_oldest() {
            oldest.fail(MemcacheError::Unexpected(error.to_string()));
        }
        requests.shut(why.clone(), MemcacheError::ConnectionLost(why));
    }
}

impl fmt::Debug for MemcacheClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcacheClient")
            .field("waiting", &self.waiting())
            .field("lost", &self.inner.requests.lost())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::StringTransport;

    fn connected(timeout: Option<Duration>) -> (Reactor, MemcacheClient, Rc<StringTransport>) {
        let reactor = Reactor::with_paused_clock().unwrap();
        let options = ClientOptions {
            timeout,
            ..ClientOptions::default()
        };
        let mut client = MemcacheClient::new(&reactor, options);
        let transport = StringTransport::new();
        client.connection_made(transport.clone());
        (reactor, client, transport)
    }

    /// Records how a Deferred ended: its value's `Debug`, or `error <Display of the error>`.
    fn outcome<T: fmt::Debug + 'static>(d: &Deferred<T>) -> Rc<RefCell<String>> {
        let seen = Rc::new(RefCell::new(String::from("waiting")));
        let (ok, err) = (Rc::clone(&seen), Rc::clone(&seen));
        d.add_callbacks(
            move |value| {
                *ok.borrow_mut() = format!("{value:?}");
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                *err.borrow_mut() = format!("error {}", failure.error());
                Ok::<(), Failure>(())
            },
        );
        seen
    }

    fn found(key: &str, flags: u32, cas: Option<u64>, data: &[u8]) -> String {
        format!(
            "{:?}",
            Some(Item {
                key: key.as_bytes().to_vec(),
                flags,
                cas,
                data: data.to_vec()
            })
        )
    }

    #[test]
    fn a_set_writes_its_request_and_fires_on_stored() {
        let (_reactor, mut client, transport) = connected(None);
        let stored = outcome(&client.set(b"a", b"v", 0, 0));
        assert_eq!(transport.value(), b"set a 0 0 1\r\nv\r\n");
        client.data_received(b"");
        assert_eq!(*stored.borrow(), "waiting");
        client.data_received(b"STORED\r\n");
        assert_eq!(*stored.borrow(), "Stored");
        assert_eq!(client.waiting(), 0);
    }

    #[test]
    fn error_replies_fail_with_the_servers_message_and_the_connection_goes_on() {
        let (_reactor, mut client, transport) = connected(None);
        let client_error = outcome(&client.set(b"a", b"v", 0, 0));
        let server_error = outcome(&client.set(b"b", b"v", 0, 0));
        let error = outcome(&client.get(b"c"));
        let after = outcome(&client.version());
        client.data_received(
            b"CLIENT_ERROR bad bad bad\r\nSERVER_ERROR out of memory storing object\r\nERROR\r\n\
              VERSION 1.6.18\r\n",
        );
        assert_eq!(*client_error.borrow(), "error CLIENT_ERROR bad bad bad");
        assert_eq!(
            *server_error.borrow(),
            "error SERVER_ERROR out of memory storing object"
        );
        assert_eq!(*error.borrow(), "error ERROR");
        assert_eq!(*after.borrow(), "\"1.6.18\"");
        assert!(!transport.is_disconnecting());
    }

    #[test]
    fn the_error_keeps_the_message_as_a_typed_value() {
        let (_reactor, mut client, _transport) = connected(None);
        let message = Rc::new(RefCell::new(None));
        let seen = Rc::clone(&message);
        client
            .set(b"a", b"v", 0, 0)
            .add_errback(move |failure: Failure| {
                *seen.borrow_mut() = failure.downcast_ref::<MemcacheError>().cloned();
                Ok::<StoreOutcome, Failure>(StoreOutcome::Stored)
            });
        client.data_received(b"CLIENT_ERROR bad bad bad\r\n");
        assert_eq!(
            *message.borrow(),
            Some(MemcacheError::ClientError("bad bad bad".to_owned()))
        );
    }

    #[test]
    fn a_value_comes_raw_between_its_line_and_end() {
        let (_reactor, mut client, transport) = connected(None);
        let got = outcome(&client.get(b"a"));
        assert_eq!(transport.value(), b"get a\r\n");
        client.data_received(b"VALUE a 0 5\r\n");
        client.data_received(b"abcde\r\n");
        assert_eq!(*got.borrow(), "waiting");
        client.data_received(b"END\r\n");
        assert_eq!(*got.borrow(), found("a", 0, None, b"abcde"));
    }

    #[test]
    fn a_missing_key_is_none_not_an_error() {
        let (_reactor, mut client, _transport) = connected(None);
        let first = outcome(&client.get(b"a"));
        let missing = outcome(&client.get(b"nokey"));
        client.data_received(b"VALUE a 0 1\r\n1\r\nEND\r\nEND\r\n");
        assert_eq!(*first.borrow(), found("a", 0, None, b"1"));
        // Not the previous get's value (txMemcached's quirk).
        assert_eq!(*missing.borrow(), "None");
    }

    #[test]
    fn pipelined_requests_are_written_at_once_and_answered_in_order() {
        let (_reactor, mut client, transport) = connected(None);
        let results = [
            outcome(&client.set(b"a", b"1", 0, 0)),
            outcome(&client.get(b"a")),
            outcome(&client.set(b"a", b"2", 0, 0)),
            outcome(&client.get(b"a")),
        ];
        assert_eq!(
            transport.value(),
            b"set a 0 0 1\r\n1\r\nget a\r\nset a 0 0 1\r\n2\r\nget a\r\n"
        );
        assert_eq!(client.waiting(), 4);
        let replies: &[u8] =
            b"STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\nSTORED\r\nVALUE a 0 1\r\n2\r\nEND\r\n";
        // In one-byte pieces: every line and value is put together again.
        for byte in replies.chunks(1) {
            client.data_received(byte);
        }
        let results: Vec<String> = results.iter().map(|r| r.borrow().clone()).collect();
        assert_eq!(
            results,
            [
                "Stored".to_owned(),
                found("a", 0, None, b"1"),
                "Stored".to_owned(),
                found("a", 0, None, b"2"),
            ]
        );
    }

    #[test]
    fn values_may_hold_line_ends_and_any_byte() {
        let (_reactor, mut client, transport) = connected(None);
        let value: &[u8] = b"one\r\nEND\r\n\x00\xff";
        let stored = outcome(&client.set(b"k", value, 42, 0));
        let got = outcome(&client.gets(b"k"));
        let mut expected = b"set k 42 0 12\r\n".to_vec();
        expected.extend_from_slice(value);
        expected.extend_from_slice(b"\r\ngets k\r\n");
        assert_eq!(transport.value(), expected);
        let mut reply = b"STORED\r\nVALUE k 42 12 7\r\n".to_vec();
        reply.extend_from_slice(value);
        reply.extend_from_slice(b"\r\nEND\r\n");
        for piece in reply.chunks(1) {
            client.data_received(piece);
        }
        assert_eq!(*stored.borrow(), "Stored");
        assert_eq!(*got.borrow(), found("k", 42, Some(7), value));
    }

    #[test]
    fn every_command_and_its_typed_answer() {
        let (_reactor, mut client, transport) = connected(None);
        let results = [
            outcome(&client.add(b"a", b"x", 1, 60)),
            outcome(&client.replace(b"a", b"x", 0, 0)),
            outcome(&client.append(b"a", b"y")),
            outcome(&client.prepend(b"a", b"w")),
            outcome(&client.cas(b"a", b"z", 99, 0, 0)),
            outcome(&client.cas(b"b", b"z", 1, 0, 0)),
            outcome(&client.delete(b"a")),
            outcome(&client.delete(b"a")),
            outcome(&client.incr(b"n", 3)),
            outcome(&client.decr(b"m", 1)),
            outcome(&client.touch(b"n", 10)),
            outcome(&client.touch(b"m", 10)),
            outcome(&client.flush_all()),
            outcome(&client.get_multiple(&[b"a", b"b", b"c"])),
            outcome(&client.stats(None)),
        ];
        assert_eq!(
            String::from_utf8(transport.value()).unwrap(),
            "add a 1 60 1\r\nx\r\nreplace a 0 0 1\r\nx\r\nappend a 0 0 1\r\ny\r\n\
             prepend a 0 0 1\r\nw\r\ncas a 0 0 1 99\r\nz\r\ncas b 0 0 1 1\r\nz\r\n\
             delete a\r\ndelete a\r\nincr n 3\r\ndecr m 1\r\ntouch n 10\r\ntouch m 10\r\n\
             flush_all\r\nget a b c\r\nstats\r\n"
        );
        client.data_received(
            b"STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\n\
              NOT_FOUND\r\n8\r\nNOT_FOUND\r\nTOUCHED\r\nNOT_FOUND\r\nOK\r\n\
              VALUE a 0 1\r\n1\r\nVALUE c 0 1\r\n3\r\nEND\r\nSTAT pid 7\r\nSTAT uptime 3\r\nEND\r\n",
        );
        let results: Vec<String> = results.iter().map(|r| r.borrow().clone()).collect();
        let item = |key: &str, data: &[u8]| Item {
            key: key.as_bytes().to_vec(),
            flags: 0,
            cas: None,
            data: data.to_vec(),
        };
        let many: BTreeMap<Vec<u8>, Item> = [
            (b"a".to_vec(), item("a", b"1")),
            (b"c".to_vec(), item("c", b"3")),
        ]
        .into_iter()
        .collect();
        let stats: BTreeMap<String, String> = [("pid", "7"), ("uptime", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            results,
            [
                "Stored",
                "NotStored",
                "Stored",
                "Stored",
                "Exists",
                "NotFound",
                "true",
                "false",
                "Some(8)",
                "None",
                "true",
                "false",
                "()",
                &format!("{many:?}"),
                &format!("{stats:?}"),
            ]
        );
        assert_eq!(client.waiting(), 0);
    }

    #[test]
    fn bad_keys_fail_at_once_and_send_nothing() {
        let (_reactor, client, transport) = connected(None);
        let long = vec![b'k'; MAX_KEY_LENGTH + 1];
        let bad: [&[u8]; 5] = [b"", b"a b", b"a\r\nflush_all", b"tab\t", &long];
        for key in bad {
            let failed = outcome(&client.get(key));
            assert!(
                failed.borrow().starts_with("error not a memcached key"),
                "{key:?}"
            );
            let failed = outcome(&client.set(key, b"v", 0, 0));
            assert!(failed.borrow().starts_with("error not a memcached key"));
        }
        let failed = outcome(&client.get_multiple(&[b"good", b"not good"]));
        assert!(failed.borrow().starts_with("error not a memcached key"));
        assert!(transport.value().is_empty());
        assert_eq!(client.waiting(), 0);
        let longest = outcome(&client.delete(&long[1..]));
        assert_eq!(*longest.borrow(), "waiting");
    }

    #[test]
    fn an_unexpected_reply_fails_the_request_and_closes_the_connection() {
        let (_reactor, mut client, transport) = connected(None);
        let set = outcome(&client.set(b"a", b"v", 0, 0));
        let get = outcome(&client.get(b"a"));
        client.data_received(b"VALUE a 0 1\r\nv\r\nEND\r\n");
        assert_eq!(*set.borrow(), "error unexpected answer: VALUE a 0 1");
        assert!(
            get.borrow()
                .starts_with("error no answer: closed after an unexpected")
        );
        assert!(transport.is_disconnecting());
        let later = outcome(&client.get(b"a"));
        assert!(later.borrow().starts_with("error no answer: closed after"));
    }

    #[test]
    fn an_answer_nobody_asked_for_or_a_value_too_large_closes_the_connection() {
        let (_reactor, mut client, transport) = connected(None);
        client.data_received(b"STORED\r\n");
        assert!(transport.is_disconnecting());

        let reactor = Reactor::with_paused_clock().unwrap();
        let options = ClientOptions {
            timeout: None,
            limits: ReadLimits {
                max_line_length: 100,
                max_value_size: 4,
            },
        };
        let mut client = MemcacheClient::new(&reactor, options);
        let transport = StringTransport::new();
        client.connection_made(transport.clone());
        let get = outcome(&client.get(b"a"));
        client.data_received(b"VALUE a 0 5\r\n");
        assert_eq!(
            *get.borrow(),
            "error unexpected answer: a value of 5 bytes, larger than the limit of 4 bytes"
        );
        assert!(transport.is_disconnecting());
    }

    #[test]
    fn a_lost_connection_fails_every_waiting_request_and_later_ones() {
        let (_reactor, mut client, _transport) = connected(None);
        let first = outcome(&client.get(b"a"));
        let second = outcome(&client.set(b"a", b"1", 0, 0));
        client.data_received(b"VALUE a 0 3\r\nab");
        client.connection_lost(&DisconnectReason::Lost("reset".to_owned()));
        assert!(
            first
                .borrow()
                .starts_with("error no answer: Connection to the other side")
        );
        assert!(second.borrow().starts_with("error no answer"));
        let later = outcome(&client.delete(b"a"));
        assert!(later.borrow().starts_with("error no answer"));
    }

    #[test]
    fn a_silent_server_times_out_every_waiting_request() {
        let (reactor, client, transport) = connected(Some(Duration::from_millis(200)));
        let first = outcome(&client.set(b"a", b"v", 0, 0));
        let second = outcome(&client.get(b"b"));
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(1), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(*first.borrow(), "error no answer within 200ms");
        assert_eq!(*second.borrow(), "error no answer within 200ms");
        assert!(transport.aborted());
    }

    #[test]
    fn answers_in_time_keep_the_timeout_away() {
        let (reactor, client, _transport) = connected(Some(Duration::from_secs(5)));
        let first = outcome(&client.set(b"a", b"v", 0, 0));
        let second = outcome(&client.version());
        // The first answer comes at 4 s, the second at 8 s: each within 5 s of the one before.
        let mut answering = client.clone();
        reactor.call_later(Duration::from_secs(4), move || {
            answering.data_received(b"STORED\r\n");
        });
        let mut answering = client.clone();
        reactor.call_later(Duration::from_secs(8), move || {
            answering.data_received(b"VERSION 1.6.18\r\n");
        });
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(20), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(*first.borrow(), "Stored");
        assert_eq!(*second.borrow(), "\"1.6.18\"");
    }

    #[test]
    fn callbacks_may_send_the_next_request() {
        let (_reactor, mut client, transport) = connected(None);
        let next = client.clone();
        let chained = client
            .set(b"a", b"1", 0, 0)
            .add_callback(move |_| next.get(b"a"));
        let got = outcome(&chained);
        client.data_received(b"STORED\r\n");
        assert_eq!(transport.value(), b"set a 0 0 1\r\n1\r\nget a\r\n");
        client.data_received(b"VALUE a 0 1\r\n1\r\nEND\r\n");
        assert_eq!(*got.borrow(), found("a", 0, None, b"1"));
    }
}
