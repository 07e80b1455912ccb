//! The figures of memcached's `stats` command: counters kept by the connections of one server,
//! and the reply that lists them with the store's own.
//!
//! The names and their order are memcached's, for the figures that mean something here (tools
//! read them by name). Left out are those of memcached's slabs, threads and hash table, which this
//! server does not have, and `get_expired`: an entry here is removed by its timed call when it
//! expires, so a `get` never finds an expired one.

use std::cell::Cell;

use crate::keyvalue::Store;

use super::VERSION;

/// The counters of one server, shared by its connections (all on the reactor's thread).
#[derive(Default)]
pub(super) struct Counters {
    pub curr_connections: Cell<u64>,
    pub total_connections: Cell<u64>,
    pub cmd_get: Cell<u64>,
    pub cmd_set: Cell<u64>,
    pub cmd_flush: Cell<u64>,
    pub cmd_touch: Cell<u64>,
    pub get_hits: Cell<u64>,
    pub get_misses: Cell<u64>,
    pub delete_misses: Cell<u64>,
    pub delete_hits: Cell<u64>,
    pub incr_misses: Cell<u64>,
    pub incr_hits: Cell<u64>,
    pub decr_misses: Cell<u64>,
    pub decr_hits: Cell<u64>,
    pub cas_misses: Cell<u64>,
    pub cas_hits: Cell<u64>,
    pub cas_badval: Cell<u64>,
    pub touch_hits: Cell<u64>,
    pub touch_misses: Cell<u64>,
    pub store_too_large: Cell<u64>,
    pub bytes_read: Cell<u64>,
    pub bytes_written: Cell<u64>,
}

/// Adds `count` to a counter.
pub(super) fn add(counter: &Cell<u64>, count: u64) {
    counter.set(counter.get().wrapping_add(count));
}

/// Adds one to a counter.
pub(super) fn bump(counter: &Cell<u64>) {
    add(counter, 1);
}

impl Counters {
    /// The counters in `stats` order, with their names.
    fn named(&self) -> [(&'static str, &Cell<u64>); 22] {
        [
            ("curr_connections", &self.curr_connections),
            ("total_connections", &self.total_connections),
            ("cmd_get", &self.cmd_get),
            ("cmd_set", &self.cmd_set),
            ("cmd_flush", &self.cmd_flush),
            ("cmd_touch", &self.cmd_touch),
            ("get_hits", &self.get_hits),
            ("get_misses", &self.get_misses),
            ("delete_misses", &self.delete_misses),
            ("delete_hits", &self.delete_hits),
            ("incr_misses", &self.incr_misses),
            ("incr_hits", &self.incr_hits),
            ("decr_misses", &self.decr_misses),
            ("decr_hits", &self.decr_hits),
            ("cas_misses", &self.cas_misses),
            ("cas_hits", &self.cas_hits),
            ("cas_badval", &self.cas_badval),
            ("touch_hits", &self.touch_hits),
            ("touch_misses", &self.touch_misses),
            ("store_too_large", &self.store_too_large),
            ("bytes_read", &self.bytes_read),
            ("bytes_written", &self.bytes_written),
        ]
    }

    /// `stats reset`: every counter starts over, except the connections open now.
    pub(super) fn reset(&self) {
        for (name, counter) in self.named() {
            if name != "curr_connections" {
                counter.set(0);
            }
        }
    }
}

/// Writes the reply to `stats`: `STAT NAME VALUE` lines and `END`. `uptime` is in seconds.
pub(super) fn write_stats(out: &mut Vec<u8>, counters: &Counters, store: &Store, uptime: f64) {
    let mut line = |name: &str, value: &dyn std::fmt::Display| {
        out.extend_from_slice(format!("STAT {name} {value}\r\n").as_bytes());
    };
    let (user, system) = cpu_seconds().unwrap_or((0.0, 0.0));
    line("pid", &std::process::id());
    line("uptime", &(uptime as u64));
    line("time", &(store.unix_time() as u64));
    line("version", &VERSION);
    line("pointer_size", &usize::BITS);
    line("rusage_user", &format!("{user:.6}"));
    line("rusage_system", &format!("{system:.6}"));
    for (name, counter) in counters.named() {
        line(name, &counter.get());
    }
    line("limit_maxbytes", &store.max_memory().unwrap_or(0));
    line("threads", &1);
    line("bytes", &store.memory_used());
    line("curr_items", &store.len());
    line("total_items", &store.total_items());
    line("evictions", &store.evictions());
    out.extend_from_slice(b"END\r\n");
}

/// The CPU time this process has used, user and system, in seconds (from `/proc/self/stat`).
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The program's name, in parentheses, may hold spaces: the fields are counted after it.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let read = |index: usize| Some(fields.get(index)?.parse::<f64>().ok()? / ticks);
    // utime and stime are the 14th and 15th fields; the first after the name is the 3rd.
    Some((read(11)?, read(12)?))
}
