//! One memcached connection: the byte stream framed into command lines and data blocks, each
//! command run against the store, the replies written back.
//!
//! The framing is our own rather than [`LineReceiver`](crate::basic::LineReceiver)'s, for speed and
//! for memory. What arrives is read where it lies, in the reactor's read buffer: a command line, and
//! a storage command's data when all of it came in the same read, are used without a copy, and
//! only an unfinished command line is kept for the next read. The replies of everything that
//! arrived in one read are gathered in one buffer (one per thread, not per connection) and
//! written with one call, so that a pipelining client costs one system call per read, not one per
//! reply. Data that arrives in pieces is gathered in a buffer of the connection's own, up to the
//! declared length, which is bounded by the item size limit; the data of a value too large is
//! counted and dropped as it arrives.
//!
//! A client may send requests and never read the answers. When the transport holds more than
//! [`HIGH_WATER`] bytes of replies, the connection stops: the rest of what it received waits (a
//! `get` of many keys stops between two keys), and nothing more is read until the transport has
//! sent everything and resumes us. The memory a connection takes is bounded whatever its client
//! does.

use std::cell::RefCell;
use std::rc::Rc;

use super::command::{self, BadCommand, Command};
use super::stats::{self, Counters};
use super::{MemcachedOptions, VERSION, expiry};
use crate::keyvalue::store::{Delta, DeltaError, Expiry, Item, Store, StoreMode, Stored};
use crate::log;
use crate::protocol::{Address, DisconnectReason, Factory, HIGH_WATER, Protocol, Transport};

/// The longest command line, in bytes, without its line end (memcached's).
const MAX_LINE: usize = 2048;

/// The longest `get` or `gets` line: a request for many keys at once.
const MAX_GET_LINE: usize = 64 * 1024;

/// A value at least this big is written to the transport as it is, not copied into the replies.
const DIRECT_WRITE: usize = 16 * 1024;

/// A connection's own buffers keep at most this much room once they are empty again; a burst's
/// memory is given back.
const KEEP_CAPACITY: usize = 4096;

thread_local! {
    /// The replies being gathered, shared by every connection of the thread: a connection's
    /// replies are written out before its callback returns, so the buffer is empty between two.
    static REPLIES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What the connections of one server share.
struct Shared {
    store: Store,
    counters: Counters,
    options: MemcachedOptions,
    /// When the server started, on the reactor's clock (for `uptime`).
    started: f64,
}

/// Makes a memcached protocol for every connection, all on the same store, with the same `stats`.
pub struct MemcachedFactory {
    shared: Rc<Shared>,
}

impl MemcachedFactory {
    /// A factory serving `store`.
    pub fn new(store: Store, options: MemcachedOptions) -> MemcachedFactory {
        let started = store.unix_time();
        MemcachedFactory {
            shared: Rc::new(Shared {
                store,
                counters: Counters::default(),
                options,
                started,
            }),
        }
    }
}

impl Factory for MemcachedFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Connection::new(Rc::clone(&self.shared))))
    }
}

/// A storage command whose data is still arriving.
struct PendingStore {
    mode: StoreMode,
    key: Vec<u8>,
    flags: u32,
    expiry: Expiry,
    length: usize,
    noreply: bool,
}

/// What the connection expects next.
enum State {
    /// A command line.
    Command,
    /// The rest of a `get` line that was held back: more keys to answer, then `END`.
    GetRest { with_cas: bool },
    /// The data of a storage command, and its CR LF.
    Data(PendingStore),
    /// This many more bytes of a refused value, to drop.
    Swallow(usize),
}

/// Where a command line leaves the stream.
enum Step {
    /// Done, and it used this many bytes after its line (a storage command's data).
    Next(usize),
    /// A `get` held back: its keys from this offset in the line are still to answer.
    HeldAt(usize),
}

/// One client's connection.
struct Connection {
    shared: Rc<Shared>,
    transport: Option<Rc<dyn Transport>>,
    state: State,
    /// Received and not used yet: the start of a command line, or what waits while we hold.
    input: Vec<u8>,
    /// The data of a storage command that arrives in pieces.
    value: Vec<u8>,
    /// Whether we stopped because our replies are not being read.
    holding: bool,
}

impl Connection {
    fn new(shared: Rc<Shared>) -> Connection {
        Connection {
            shared,
            transport: None,
            state: State::Command,
            input: Vec::new(),
            value: Vec::new(),
            holding: false,
        }
    }

    fn transport(&self) -> &Rc<dyn Transport> {
        self.transport
            .as_ref()
            .expect("a protocol's transport is set when its connection is made")
    }

    fn stopped(&self) -> bool {
        self.holding || self.transport().is_disconnecting()
    }

    /// Runs what `data` brings, after what was kept from before, and writes the replies.
    fn receive(&mut self, data: &[u8]) {
        REPLIES.with_borrow_mut(|out| {
            if self.input.is_empty() {
                let used = self.run(data, out);
                if !self.transport().is_disconnecting() {
                    self.input.extend_from_slice(&data[used..]);
                }
            } else {
                self.input.extend_from_slice(data);
                let input = std::mem::take(&mut self.input);
                let used = self.run(&input, out);
                self.input = input;
                self.input.drain(..used);
                if self.transport().is_disconnecting() {
                    self.input.clear();
                }
            }
            if self.input.is_empty() && self.input.capacity() > KEEP_CAPACITY {
                self.input = Vec::new();
            }
            self.send(out);
        });
    }

    /// Runs the commands in `buffer` until it ends with an unfinished line, or we stop; returns
    /// how many bytes were used.
    fn run(&mut self, buffer: &[u8], out: &mut Vec<u8>) -> usize {
        let mut at = 0;
        while at < buffer.len() && !self.stopped() {
            let rest = &buffer[at..];
            let used = match std::mem::replace(&mut self.state, State::Command) {
                State::Command => self.line(rest, None, out),
                State::GetRest { with_cas } => self.line(rest, Some(with_cas), out),
                State::Data(pending) => Some(self.data(pending, rest, out)),
                State::Swallow(left) => {
                    let dropped = left.min(rest.len());
                    if left > dropped {
                        self.state = State::Swallow(left - dropped);
                    }
                    Some(dropped)
                }
            };
            let Some(used) = used else {
                break;
            };
            at += used;
            if out.len() > HIGH_WATER {
                self.send(out);
            }
            self.hold_if_unread();
        }
        at
    }

    /// Reads one line from `rest` and runs it: a command, or the rest of a held `get`. `None` when
    /// the line has not all arrived.
    fn line(&mut self, rest: &[u8], get_rest: Option<bool>, out: &mut Vec<u8>) -> Option<usize> {
        let limit = if get_rest.is_some() || is_get(rest) {
            MAX_GET_LINE
        } else {
            MAX_LINE
        };
        let end = rest.iter().position(|&byte| byte == b'\n');
        // The length up to the LF, or of what has come: one more than the line, for its CR.
        if end.unwrap_or(rest.len()) > limit + 1 {
            // memcached closes such a connection too: whatever it is sending, it is no command.
            out.extend_from_slice(b"CLIENT_ERROR line too long\r\n");
            self.send(out);
            self.transport().lose_connection();
            return Some(rest.len());
        }
        let Some(end) = end else {
            if let Some(with_cas) = get_rest {
                self.state = State::GetRest { with_cas };
            }
            return None;
        };
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let step = match get_rest {
            Some(with_cas) => self.get(line, line, with_cas, out),
            None => self.command(line, &rest[end + 1..], out),
        };
        Some(match step {
            Step::Next(data) => end + 1 + data,
            Step::HeldAt(offset) => offset,
        })
    }

    /// Runs one command line; `after` is what follows it (a storage command's data, maybe).
    fn command(&mut self, line: &[u8], after: &[u8], out: &mut Vec<u8>) -> Step {
        if self.shared.options.log_requests {
            log::msg(format!("R {}", String::from_utf8_lossy(line)));
        }
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(BadCommand { error, noreply }) => {
                if !noreply {
                    out.extend_from_slice(error.reply());
                }
                return Step::Next(0);
            }
        };
        let shared = Rc::clone(&self.shared);
        let (store, counters) = (&shared.store, &shared.counters);
        let (reply, noreply): (&[u8], bool) = match command {
            Command::Get { keys, with_cas } => return self.get(line, keys, with_cas, out),
            Command::Store {
                mode,
                key,
                flags,
                exptime,
                length,
                noreply,
            } => {
                let pending = PendingStore {
                    mode,
                    key: Vec::new(),
                    flags,
                    expiry: expiry(exptime, store.unix_time()),
                    length,
                    noreply,
                };
                return Step::Next(self.storage(pending, key, after, out));
            }
            Command::Delete { key, noreply } => match store.delete(key) {
                Ok(()) => (hit(&counters.delete_hits, b"DELETED\r\n"), noreply),
                Err(_) => (hit(&counters.delete_misses, b"NOT_FOUND\r\n"), noreply),
            },
            Command::Delta {
                key,
                delta,
                noreply,
            } => {
                let (hits, misses) = match delta {
                    Delta::Incr(_) => (&counters.incr_hits, &counters.incr_misses),
                    Delta::Decr(_) => (&counters.decr_hits, &counters.decr_misses),
                };
                match store.add_delta(key, delta) {
                    Ok(number) => {
                        stats::bump(hits);
                        if !noreply {
                            push_number(out, number);
                            out.extend_from_slice(b"\r\n");
                        }
                        return Step::Next(0);
                    }
                    Err(DeltaError::NotFound) => (hit(misses, b"NOT_FOUND\r\n"), noreply),
                    Err(DeltaError::NotNumeric) => (
                        &b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"[..],
                        noreply,
                    ),
                }
            }
            Command::Touch {
                key,
                exptime,
                noreply,
            } => {
                stats::bump(&counters.cmd_touch);
                if store.touch(key, expiry(exptime, store.unix_time())) {
                    (hit(&counters.touch_hits, b"TOUCHED\r\n"), noreply)
                } else {
                    (hit(&counters.touch_misses, b"NOT_FOUND\r\n"), noreply)
                }
            }
            Command::FlushAll { delay, noreply } => {
                stats::bump(&counters.cmd_flush);
                match expiry(delay, store.unix_time()) {
                    Expiry::After(delay) => store.flush(Some(delay)),
                    Expiry::Never | Expiry::Past => store.flush(None),
                }
                (b"OK\r\n", noreply)
            }
            Command::Version => {
                out.extend_from_slice(format!("VERSION {VERSION}\r\n").as_bytes());
                return Step::Next(0);
            }
            Command::Verbosity { noreply } => (b"OK\r\n", noreply),
            Command::Stats => {
                let uptime = store.unix_time() - shared.started;
                stats::write_stats(out, counters, store, uptime);
                return Step::Next(0);
            }
            Command::StatsReset => {
                counters.reset();
                (b"RESET\r\n", false)
            }
            Command::Quit => {
                self.send(out);
                self.transport().lose_connection();
                return Step::Next(0);
            }
        };
        if !noreply {
            out.extend_from_slice(reply);
        }
        Step::Next(0)
    }

    /// Answers the keys of a `get` (a suffix of `line`) and ends with `END`; stops between two keys
    /// if the client is not reading, and says where in the line to go on.
    fn get(&mut self, line: &[u8], keys: &[u8], with_cas: bool, out: &mut Vec<u8>) -> Step {
        let shared = Rc::clone(&self.shared);
        let counters = &shared.counters;
        let mut rest = keys;
        while let Some((key, after)) = command::split_word(rest) {
            rest = after;
            stats::bump(&counters.cmd_get);
            match shared.store.item(key) {
                Some(item) => {
                    stats::bump(&counters.get_hits);
                    self.write_value(out, key, &item, with_cas);
                }
                None => stats::bump(&counters.get_misses),
            }
            if command::split_word(rest).is_some() {
                if out.len() > HIGH_WATER {
                    self.send(out);
                }
                if self.hold_if_unread() {
                    self.state = State::GetRest { with_cas };
                    return Step::HeldAt(line.len() - rest.len());
                }
            }
        }
        out.extend_from_slice(b"END\r\n");
        Step::Next(0)
    }

    /// `VALUE KEY FLAGS BYTES [UNIQUE]`, the value, CR LF.
    fn write_value(&self, out: &mut Vec<u8>, key: &[u8], item: &Item, with_cas: bool) {
        out.extend_from_slice(b"VALUE ");
        out.extend_from_slice(key);
        out.push(b' ');
        push_number(out, u64::from(item.flags));
        out.push(b' ');
        push_number(out, item.value.len() as u64);
        if with_cas {
            out.push(b' ');
            push_number(out, item.cas);
        }
        out.extend_from_slice(b"\r\n");
        if item.value.len() >= DIRECT_WRITE {
            self.send(out);
            self.transport().write(&item.value);
            stats::add(&self.shared.counters.bytes_written, item.value.len() as u64);
        } else {
            out.extend_from_slice(&item.value);
        }
        out.extend_from_slice(b"\r\n");
    }

    /// A storage command, its data to come in `after` and later reads; returns how much of
    /// `after` it used.
    fn storage(
        &mut self,
        mut pending: PendingStore,
        key: &[u8],
        after: &[u8],
        out: &mut Vec<u8>,
    ) -> usize {
        let counters = &self.shared.counters;
        stats::bump(&counters.cmd_set);
        let whole = pending.length + 2;
        if pending.length > self.shared.options.max_item_size {
            stats::bump(&counters.store_too_large);
            if pending.mode == StoreMode::Set {
                // As memcached: a set that failed leaves no stale value behind.
                let _ = self.shared.store.delete(key);
            }
            if !pending.noreply {
                out.extend_from_slice(b"SERVER_ERROR object too large for cache\r\n");
            }
            let dropped = whole.min(after.len());
            if whole > dropped {
                self.state = State::Swallow(whole - dropped);
            }
            return dropped;
        }
        if after.len() >= whole {
            self.store(&pending, key, &after[..whole], out);
            return whole;
        }
        pending.key = key.to_vec();
        self.value.extend_from_slice(after);
        self.state = State::Data(pending);
        after.len()
    }

    /// More of a storage command's data; returns how much of `rest` it used.
    fn data(&mut self, pending: PendingStore, rest: &[u8], out: &mut Vec<u8>) -> usize {
        let whole = pending.length + 2;
        let used = (whole - self.value.len()).min(rest.len());
        self.value.extend_from_slice(&rest[..used]);
        if self.value.len() < whole {
            self.state = State::Data(pending);
            return used;
        }
        let mut value = std::mem::take(&mut self.value);
        self.store(&pending, &pending.key, &value, out);
        value.clear();
        if value.capacity() <= KEEP_CAPACITY {
            self.value = value;
        }
        used
    }

    /// Stores a value whose data (and CR LF) is `block`, and answers.
    fn store(&self, pending: &PendingStore, key: &[u8], block: &[u8], out: &mut Vec<u8>) {
        let (data, end) = block.split_at(pending.length);
        let reply: &[u8] = if end != b"\r\n" {
            b"CLIENT_ERROR bad data chunk\r\n"
        } else {
            let stored =
                self.shared
                    .store
                    .store(pending.mode, key, data, pending.flags, pending.expiry);
            if let StoreMode::Cas(_) = pending.mode {
                let counters = &self.shared.counters;
                match stored {
                    Ok(Stored::Stored) => stats::bump(&counters.cas_hits),
                    Ok(Stored::Exists) => stats::bump(&counters.cas_badval),
                    Ok(Stored::NotFound) => stats::bump(&counters.cas_misses),
                    _ => {}
                }
            }
            match stored {
                Ok(Stored::Stored) => b"STORED\r\n",
                Ok(Stored::NotStored) => b"NOT_STORED\r\n",
                Ok(Stored::Exists) => b"EXISTS\r\n",
                Ok(Stored::NotFound) => b"NOT_FOUND\r\n",
                // Only an entry bigger than the whole memory bound is refused.
                Err(_) => b"SERVER_ERROR out of memory storing object\r\n",
            }
        };
        if !pending.noreply {
            out.extend_from_slice(reply);
        }
    }

    /// Writes the gathered replies to the transport.
    fn send(&self, out: &mut Vec<u8>) {
        if !out.is_empty() {
            self.transport().write(out);
            stats::add(&self.shared.counters.bytes_written, out.len() as u64);
            out.clear();
        }
    }

    /// Stops if the transport holds more than the high-water mark: the client is not reading.
    /// The transport then asks us to pause, and resumes us once it has sent it all.
    fn hold_if_unread(&mut self) -> bool {
        if self.transport().buffered() > HIGH_WATER {
            self.holding = true;
            self.transport().pause_producing();
        }
        self.holding
    }
}

/// Counts a hit or a miss, and gives the reply that goes with it.
fn hit<'a>(counter: &std::cell::Cell<u64>, reply: &'a [u8]) -> &'a [u8] {
    stats::bump(counter);
    reply
}

/// Whether an unfinished line is a `get` or `gets`, which may be longer than other commands.
fn is_get(line: &[u8]) -> bool {
    let start = line
        .iter()
        .position(|&byte| byte != b' ')
        .unwrap_or(line.len());
    let line = &line[start..];
    line.starts_with(b"get ") || line.starts_with(b"gets ")
}

/// Writes `number` in decimal.
fn push_number(out: &mut Vec<u8>, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

impl Protocol for Connection {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(transport);
        let counters = &self.shared.counters;
        stats::bump(&counters.curr_connections);
        stats::bump(&counters.total_connections);
    }

    fn data_received(&mut self, data: &[u8]) {
        stats::add(&self.shared.counters.bytes_read, data.len() as u64);
        self.receive(data);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        let current = &self.shared.counters.curr_connections;
        current.set(current.get().saturating_sub(1));
    }

    fn pause_producing(&mut self) {
        self.holding = true;
        self.transport().pause_producing();
    }

    fn resume_producing(&mut self) {
        self.holding = false;
        self.transport().resume_producing();
        // What waited is run now: the client may be waiting for its answers, not sending more.
        self.receive(&[]);
    }
}
