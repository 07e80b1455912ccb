//! The EuroPython training's key-value store (its second half): entries that live for a while,
//! served over a small line protocol.
//!
//! * [`store`]: the store itself, a map whose entries each have one timed call that removes them
//!   when their time to live is up, with an optional bound on memory (least recently used entries
//!   go first, as in memcached).
//! * [`client`]: the client of that protocol, each request a Deferred.
//! * [`protocol`]: the line protocol's requests and replies, shared by the server and the client.
//! * [`memcached`]: the same store over memcached's text protocol, for memcached's own tools and
//!   clients.

pub mod client;
pub mod memcached;
pub mod protocol;
pub mod store;

pub use client::{ClientError, KeyValueClient};
pub use store::{Store, StoreError, StoreOptions};
