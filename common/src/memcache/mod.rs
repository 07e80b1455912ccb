//! memcached's text protocol, client side (Twisted's `twisted.protocols.memcache`): the
//! EuroPython training's memcached programs, and any program that wants a cache.
//!
//! * [`reply`]: reading the server's replies, lines and the data blocks of values, with limits on
//!   both.
//! * [`client`]: [`MemcacheClient`], a protocol whose every request is a Deferred: `get` (one key
//!   or several), `gets`, `set`, `add`, `replace`, `append`, `prepend`, `cas`, `delete`, `incr`,
//!   `decr`, `touch`, `flush_all`, `version`, `stats`; pipelined, answered in order.

pub mod client;
pub mod reply;

pub use client::{
    ClientOptions, MAX_KEY_LENGTH, MemcacheClient, MemcacheError, StoreOutcome, check_key,
};
pub use reply::{Item, ReadError, ReadLimits, Reply, ReplyReader};
