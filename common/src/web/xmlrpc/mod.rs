//! XML-RPC: remote procedure calls as XML over HTTP POST (Twisted's `twisted.web.xmlrpc`, talk 004
//! pp.16-17).
//!
//! A client POSTs a `methodCall` document naming a method and its arguments; the server answers
//! with a `methodResponse` holding the result, or a fault (a number and a sentence). Everything is
//! a [`Value`]: integers, booleans, strings, doubles, dates, bytes, structs and arrays, and `nil`
//! where both sides allow it.
//!
//! * [`XmlRpc`] is the server, a [`Resource`](crate::web::Resource) to put in a site: procedures
//!   added by name, each a closure that gets a [`Call`] and gives an [`Outcome`] (a value, a
//!   Deferred of one, or a [`Fault`]); sub-handlers by prefix; introspection (`system.*`) on
//!   request;
//! * [`Proxy`] is the client: `proxy.call_remote("echo", args)`, a Deferred of the result, failed
//!   with the server's fault;
//! * [`parse_call`], [`parse_response`], [`write_call`], [`write_response`] and [`write_fault`]
//!   are the documents themselves. What is written is, byte for byte, what Python's
//!   `xmlrpc.client` (and so Twisted) writes; what is read is what it reads, with limits that a
//!   peer cannot get round (no DTD, no entity but XML's own, nesting bounded);
//! * [`python_repr`] shows a value as Python would.
//!
//! The files: `value.rs` (the values), `fault.rs`, `read.rs` and `write.rs` (the documents),
//! `procedure.rs` (calls and outcomes), `resource.rs` (the server), `introspection.rs`,
//! `client.rs`, `repr.rs`.

mod client;
mod fault;
mod introspection;
mod procedure;
mod read;
mod repr;
mod resource;
mod value;
mod write;

pub use client::Proxy;
pub use fault::{FAILURE, Fault, NOT_FOUND};
pub use procedure::{
    Call, Handler, Outcome, Procedure, ProcedureResult, WrongArgumentCount, WrongArgumentType,
};
pub use read::{MAX_DEPTH, MethodCall, ParseError, parse_call, parse_response};
pub use repr::python_repr;
pub use resource::{SEPARATOR, XmlRpc};
pub use value::{DateTime, Struct, Value};
pub use write::{MarshalError, python_float, write_call, write_fault, write_response, write_value};

#[cfg(test)]
mod tests;
