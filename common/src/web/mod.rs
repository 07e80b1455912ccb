//! `twisted.web` for the talks and the training: HTTP on the reactor, with Deferreds.
//!
//! * [`client`]: Twisted's `getPage` and `Agent`, the HTTP client of talks 001 and 002.

pub mod client;
