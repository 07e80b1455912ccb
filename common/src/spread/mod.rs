//! Twisted's Perspective Broker (`twisted.spread`): remote calls between two peers over one TCP
//! connection, spoken byte for byte as Twisted speaks it.
//!
//! PB is built in layers, and so is this module:
//!
//! * [`banana`]: the token stream. Banana knows only lists, integers, floats and byte strings, each
//!   token self-delimiting, so that a reader can cut expressions out of a TCP stream however the
//!   bytes were split. It also enforces the size limits that keep a hostile peer from making us
//!   allocate without bound.
//! * [`jelly`]: values as Banana lists. Everything Python has and Banana lacks (`None`, booleans,
//!   text, tuples, dictionaries, shared and cyclic structures, references to remote objects)
//!   becomes a list whose first element names its type; what a receiver accepts is an explicit
//!   allow-list, never "look the name up and build it".
//!
//! * [`pb`]: the Perspective Broker on top of them: messages, calls and answers, reference counting,
//!   failures, the client and server factories, and cred's login (with [`crate::cred`]). It sees
//!   only [`jelly::Value`]s.

pub mod banana;
pub mod jelly;
pub mod pb;

mod python;

pub use python::bytes_repr;

#[cfg(test)]
mod tests;
