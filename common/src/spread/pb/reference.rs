//! Objects across the connection: ours that the peer may call ([`Referenceable`]), and the peer's
//! that we call through proxies ([`RemoteReference`]).
//!
//! Reference counting follows Twisted's. Each `("remote" luid)` the exporter sends counts one
//! reference; the importer sends one `("decref" luid)` per reference when it lets go, and at zero
//! the exporter forgets the object. In Python the proxy is let go when the garbage collector
//! frees it, usually as soon as the callback that received it returns. Here the proxy is an `Rc`:
//! the broker holds the proxies of a received value while the code that receives it runs (the
//! called method, the answer's callbacks); code that wants to keep one takes a
//! [`RemoteReference`] then, and the `decref`s go out when its last clone is dropped.

use std::cell::Cell;
use std::rc::Rc;

use super::broker::Core;
use super::failure::RemoteError;
use crate::defer::Deferred;
use crate::protocol::Address;
use crate::spread::jelly::{ObjectId, Value};

/// An object the other side can call: a server's root, a cred avatar, an observer a client
/// passes by reference.
///
/// Each call arrives as one [`remote_message`](Referenceable::remote_message); the object decides
/// what the method names mean, and answers a method it does not have with
/// [`RemoteError::no_such_method`] (or, as an avatar,
/// [`RemoteError::no_such_perspective_method`]).
pub trait Referenceable {
    /// The peer called method `name` with `args` and `kwargs` (keyword names are text from a
    /// Python 3 peer, bytes from some others). `call` exports objects for the answer and turns
    /// the peer's references in the arguments into proxies.
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer;

    /// The peer no longer holds any reference to this object: it released the last one, or the
    /// connection is gone. For a cred avatar this is the logout. Runs once per export.
    fn logout(&self) {}
}

/// What a called method answers: a result now, or a Deferred of it.
///
/// A failure is sent as a CopyableFailure: a [`RemoteError`] with its fields as they are; from a
/// Deferred, a failure that carries another error is sent as a Python `builtins.Exception` with
/// that error's text.
pub enum Answer {
    /// The result is known.
    Now(Result<Value, RemoteError>),
    /// The result will come: the answer is sent when the Deferred fires.
    Later(Deferred<Value>),
}

impl Answer {
    /// A successful answer, now.
    pub fn value(value: Value) -> Answer {
        Answer::Now(Ok(value))
    }

    /// A failed answer, now.
    pub fn error(error: RemoteError) -> Answer {
        Answer::Now(Err(error))
    }
}

/// What a called method can do with its connection: export objects in its answer, take the
/// peer's references from its arguments, know who calls.
///
/// Clones share the call: a method that answers later keeps one to export then.
#[derive(Clone)]
pub struct CallContext {
    core: Rc<Core>,
    /// Whether an export for this call was refused for the limit: the answer becomes an error.
    refused: Rc<Cell<bool>>,
}

impl CallContext {
    pub(super) fn new(core: Rc<Core>) -> CallContext {
        CallContext {
            core,
            refused: Rc::new(Cell::new(false)),
        }
    }

    /// Exports `object` on this connection: the value to put in the answer, `("remote" luid)`.
    /// The same object exported again keeps its luid; each export counts one reference, which the
    /// peer gives back with a `decref`.
    ///
    /// When the connection already exports [`MAX_BROKER_REFS`](super::MAX_BROKER_REFS) objects,
    /// nothing is exported, this gives [`Value::None`], and the call is answered with the error
    /// `Maximum PB reference count exceeded.` whatever the method returns.
    pub fn export(&self, object: Rc<dyn Referenceable>) -> Value {
        match self.core.export(object) {
            Some(luid) => Value::Remote(luid),
            None => {
                self.refused.set(true);
                Value::None
            }
        }
    }

    /// A proxy for the peer's object that `value` names (`("remote" luid)` in the arguments), to
    /// keep beyond the call.
    pub fn remote_reference(&self, value: &Value) -> Option<RemoteReference> {
        self.core.proxy_for(value).map(RemoteReference::new)
    }

    /// Our own object that `value` names (`("local" id)`: the peer passing back a reference we
    /// gave it).
    pub fn local_object(&self, value: &Value) -> Option<Rc<dyn Referenceable>> {
        self.core.local_value(value)
    }

    /// The caller's address.
    pub fn peer(&self) -> Address {
        self.core.peer()
    }

    /// Closes the connection once what was written has gone.
    pub fn lose_connection(&self) {
        self.core.lose_connection();
    }

    pub(super) fn refused(&self) -> bool {
        self.refused.get()
    }
}

/// The one proxy for one of the peer's objects on one connection, shared by every
/// [`RemoteReference`] to it. When the last goes, the references it counted are given back.
pub(crate) struct Proxy {
    core: Rc<Core>,
    /// Which of the peer's objects the proxy calls.
    target: ObjectId,
    /// How many `("remote" luid)` mentions of the object this proxy stands for: one `decref`
    /// each when it goes. Zero for objects known by name (`root`), which are not counted.
    counted: Cell<u32>,
}

impl Proxy {
    /// The proxy for an object the peer names, such as its `root`.
    pub(super) fn named(core: &Rc<Core>, name: &[u8]) -> Rc<Proxy> {
        Rc::new(Proxy {
            core: Rc::clone(core),
            target: ObjectId::Name(name.to_vec()),
            counted: Cell::new(0),
        })
    }

    /// A proxy for the peer's object `luid`, counting no reference yet.
    pub(super) fn counted(core: &Rc<Core>, luid: u32) -> Rc<Proxy> {
        Rc::new(Proxy {
            core: Rc::clone(core),
            target: ObjectId::Luid(luid),
            counted: Cell::new(0),
        })
    }

    pub(super) fn count_one_more(&self) {
        self.counted.set(self.counted.get() + 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let ObjectId::Luid(luid) = self.target {
            self.core.release(luid, self.counted.get());
        }
    }
}

/// A proxy for an object of the other side: calls on it are messages to that object.
///
/// Clones are the same proxy. When the last clone is dropped, the peer hears `("decref" luid)`
/// (not for `root`, which is not counted). Once the connection is gone, calls fail with
/// [`DeadReferenceError`](super::DeadReferenceError).
#[derive(Clone)]
pub struct RemoteReference {
    proxy: Rc<Proxy>,
}

impl RemoteReference {
    pub(super) fn new(proxy: Rc<Proxy>) -> RemoteReference {
        RemoteReference { proxy }
    }

    /// Calls method `name` with positional arguments: the Deferred of its answer. A failure
    /// carries a [`RemoteError`] when the method failed, [`PBConnectionLost`] when the connection
    /// went first.
    ///
    /// [`PBConnectionLost`]: super::PBConnectionLost
    pub fn call_remote(&self, name: &str, args: Vec<Value>) -> Deferred<Value> {
        self.call_remote_with(name, args, Vec::new())
    }

    /// Calls method `name` with positional and keyword arguments (give keyword names as
    /// [`Value::Text`], as a Python 3 caller does).
    pub fn call_remote_with(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
    ) -> Deferred<Value> {
        let core = &self.proxy.core;
        core.call(&self.proxy.target, name, args, kwargs, true)
            .expect("a call that wants an answer has a Deferred")
    }

    /// Calls method `name` and asks for no answer (`answerWanted` 0): nothing comes back, not
    /// even an error.
    pub fn call_remote_no_answer(&self, name: &str, args: Vec<Value>) {
        let core = &self.proxy.core;
        core.call(&self.proxy.target, name, args, Vec::new(), false);
    }

    /// Runs `f` once the connection of this reference is gone (at once if it is).
    pub fn notify_on_disconnect(&self, f: impl FnOnce() + 'static) {
        self.proxy.core.notify_on_disconnect(Box::new(f));
    }

    /// Whether the connection is still up, so that calls can go out.
    pub fn is_connected(&self) -> bool {
        self.proxy.core.is_alive()
    }

    /// A proxy for another object of the same peer, named in an answer (`("remote" luid)`), to
    /// keep beyond the callback that received the answer.
    pub fn remote_reference(&self, value: &Value) -> Option<RemoteReference> {
        self.proxy.core.proxy_for(value).map(RemoteReference::new)
    }

    /// Exports one of our objects on this reference's connection, to pass it in a call's
    /// arguments as `("remote" luid)`; the peer may then call it. An error when the connection
    /// is gone or already exports as many objects as it may.
    pub fn export(&self, object: Rc<dyn Referenceable>) -> Result<Value, RemoteError> {
        if !self.is_connected() {
            return Err(RemoteError::pb_error("Calling Stale Broker"));
        }
        match self.proxy.core.export(object) {
            Some(luid) => Ok(Value::Remote(luid)),
            None => Err(RemoteError::pb_error(
                "Maximum PB reference count exceeded.",
            )),
        }
    }

    /// This reference as a value to pass back to its owner, `("local" id)`: the peer receives its
    /// own object.
    pub fn to_value(&self) -> Value {
        Value::Local(self.proxy.target.clone())
    }

    /// The peer's address.
    pub fn peer(&self) -> Address {
        self.proxy.core.peer()
    }

    /// Closes the reference's connection once what was written has gone.
    pub fn disconnect(&self) {
        self.proxy.core.lose_connection();
    }
}
