//! Perspective Broker: calling methods on objects that live on the other end of a connection
//! (Twisted's `twisted.spread.pb`, seeds 000 and 004).
//!
//! Banana carries nested lists, Jelly turns values into them; PB is the conversation on top. Each
//! connection has one broker per side, and both sides run the same state machine once
//! the dialect is chosen: either may call the other's objects, by sending
//! `("message" reqID objID name answerWanted args kwargs)`, and gets back `("answer" reqID value)`
//! or `("error" reqID failure)`. The server names one object `root`; every other object is passed
//! by reference, `("remote" luid)`, and counted, so that the exporter can forget it when the
//! importer sends `("decref" luid)`.
//!
//! What a program uses:
//!
//! * [`Referenceable`]: an object the other side can call. A server's root, a cred avatar and an
//!   observer passed by a client all implement it; each call arrives as
//!   [`Referenceable::remote_message`] with a [`CallContext`] to export objects in the answer.
//! * [`RemoteReference`]: a proxy for an object of the other side; [`RemoteReference::call_remote`]
//!   gives a Deferred of the answer. When the last clone goes, the other side hears a `decref`.
//! * [`PBServerFactory`] (a root, or a cred [`Portal`](crate::cred::Portal)) and
//!   [`PBClientFactory`] (`get_root_object`, `login`), the factories a reactor listens and
//!   connects with.
//! * [`RemoteError`]: a failure as it crosses the wire (Twisted's `CopyableFailure`), with the
//!   type name and parents a caller traps by.
//!
//! Everything a peer controls is bounded: Banana's limits and a nesting depth in the decoder,
//! [`MAX_BROKER_REFS`] exported objects, [`MAX_PENDING_CALLS`] calls awaiting answers each way.
//! Malformed input is logged in one line and the connection closed, as Twisted does; errors in a
//! call's arguments are answered as errors and the connection goes on.

mod broker;
mod factory;
mod failure;
mod login;
mod reference;
#[cfg(test)]
mod tests;

pub use factory::{PBClientFactory, PBServerFactory};
pub use failure::{
    DeadReferenceError, PBConnectionLost, RemoteError, TRACEBACK_UNAVAILABLE, TooManyCalls,
    set_failure_count,
};
pub use reference::{Answer, CallContext, Referenceable, RemoteReference};

/// The port the seeds' pbecho server listens on (Twisted's `pb.portno`).
pub const PB_PORT: u16 = 8787;

/// The PB protocol version both sides announce with `("version" 6)`; any other closes the
/// connection.
pub const PROTOCOL_VERSION: i64 = 6;

/// How many objects one broker exports at most (the root counts as one). A call whose answer
/// would export one more is answered with the error `Maximum PB reference count exceeded.`.
pub const MAX_BROKER_REFS: usize = 1024;

/// How many calls may wait for their answers at once, in each direction: our calls to the peer
/// (more fail at once with [`TooManyCalls`]), and the peer's calls whose answers we owe (more are
/// answered with an error at once). Each waiting call costs memory that the peer could otherwise
/// grow without end.
pub const MAX_PENDING_CALLS: usize = 10_000;
