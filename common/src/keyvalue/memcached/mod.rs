//! The store over memcached's text protocol: a server that memcached's own tools and clients
//! accept (`keyvalue-server --protocol memcached`).
//!
//! The training's key-value server speaks a line protocol of its own on memcached's port; its
//! memcached clients (`memget`, `memset`, `txMemcached`) speak the real thing to a real memcached.
//! This module closes the circle: the same [`Store`](super::Store) behind the protocol those
//! clients speak, so that they, `memccapable` and `memcslap` can talk to our server.
//!
//! * [`command`]: reading a command line (which commands, their words, the replies to malformed
//!   ones);
//! * [`MemcachedFactory`] makes one protocol per connection: it frames the byte stream into command
//!   lines and data blocks, runs each command against the store, and writes the replies;
//! * the `stats` figures are kept per server.
//!
//! What it serves: `get`/`gets` of several keys, `set`, `add`, `replace`, `append`, `prepend` and
//! `cas` with 32-bit flags and an expiry time, `delete`, `incr`/`decr` (64-bit, `incr` wraps,
//! `decr` stops at 0), `touch`, `flush_all [DELAY]`, `version`, `verbosity`, `stats` (and `stats
//! reset`), `quit`; `noreply` wherever memcached takes it. Values are any bytes, CR LF included:
//! a storage command says how many bytes follow, and they are read as bytes, not lines.
//!
//! Limits, as memcached has them: keys of at most 250 bytes, values of at most 1 MiB unless told
//! otherwise (a bigger one is answered `SERVER_ERROR object too large for cache`, and its data is
//! read and dropped as it arrives, never held), command lines of at most 2048 bytes (64 KiB for
//! `get`, whose keys may be many): a longer one closes the connection, as memcached closes it. A
//! client that sends requests without reading the replies is read no further until it catches up,
//! so that replies never pile up in the server.

pub mod command;
mod connection;
mod stats;

use std::time::Duration;

pub use connection::MemcachedFactory;

use super::store::Expiry;

/// The memcached release whose text protocol the server answers as: `version` says it, and
/// clients judge what a server can do by it.
pub const VERSION: &str = "1.6.18";

/// How a memcached server behaves.
#[derive(Clone, Debug)]
pub struct MemcachedOptions {
    /// The largest value a client may store, in bytes (memcached's `-I`).
    pub max_item_size: usize,
    /// Whether every command line is logged (`R get a`), as the line protocol's server logs
    /// every line. Off by default: a cache that logs each request spends its time logging.
    pub log_requests: bool,
}

impl MemcachedOptions {
    /// memcached's default item size limit: 1 MiB.
    pub const DEFAULT_MAX_ITEM_SIZE: usize = 1 << 20;
}

impl Default for MemcachedOptions {
    fn default() -> Self {
        MemcachedOptions {
            max_item_size: Self::DEFAULT_MAX_ITEM_SIZE,
            log_requests: false,
        }
    }
}

/// How memcached reads an expiry time, `now` being the Unix time: 0 is never; a negative time is
/// already past; up to 30 days it is a number of seconds from now; beyond, a Unix time (past if it
/// is not after `now`).
pub fn expiry(exptime: i64, now: f64) -> Expiry {
    const THIRTY_DAYS: i64 = 60 * 60 * 24 * 30;
    match exptime {
        0 => Expiry::Never,
        ..0 => Expiry::Past,
        1..=THIRTY_DAYS => Expiry::After(Duration::from_secs(exptime.unsigned_abs())),
        _ => {
            let left = exptime as f64 - now;
            if left > 0.0 {
                Expiry::After(Duration::from_secs_f64(left))
            } else {
                Expiry::Past
            }
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn expiry_times_as_memcached_reads_them() {
        let now = 1_800_000_000.25;
        assert_eq!(expiry(0, now), Expiry::Never);
        assert_eq!(expiry(-1, now), Expiry::Past);
        assert_eq!(expiry(10, now), Expiry::After(Duration::from_secs(10)));
        // Thirty days exactly is still relative; one second more is a Unix time, long past.
        assert_eq!(
            expiry(2_592_000, now),
            Expiry::After(Duration::from_secs(2_592_000))
        );
        assert_eq!(expiry(2_592_001, now), Expiry::Past);
        assert_eq!(expiry(1_800_000_000, now), Expiry::Past);
        assert_eq!(
            expiry(1_800_000_100, now),
            Expiry::After(Duration::from_secs_f64(99.75))
        );
    }
}
