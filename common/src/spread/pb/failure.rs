//! Failures as they cross a PB connection: Twisted's `CopyableFailure` going out, and whatever the
//! peer sends in an `error` coming in, both as a [`RemoteError`].
//!
//! A Python caller traps a failure by class, and the class it checks is matched by *name* against
//! the failure's `parents` (the qualified names of the exception's class and all its bases). So a
//! Rust callee that wants `error.trap(DefinedError)` to work in a Python client must list
//! `pbecho.DefinedError` there, exactly as Python would; the constructors below build the usual
//! chains of bases.

use std::cell::Cell;
use std::fmt;

use crate::spread::jelly::{COPYABLE_FAILURE_TAG, Value};

/// What a failure's `traceback` says when the callee does not send its real traceback (Twisted's
/// default, `unsafeTracebacks` off).
pub const TRACEBACK_UNAVAILABLE: &str = "Traceback unavailable\n";

/// The bases every Python exception ends with.
const EXCEPTION_BASES: [&str; 3] = [
    "builtins.Exception",
    "builtins.BaseException",
    "builtins.object",
];

/// A call that failed on the other side, as a CopyableFailure carries it: the exception's
/// qualified class name, its text, the names of its class and bases, and the traceback text.
///
/// It is an error type, so that a [`Failure`](crate::defer::Failure) carries it down a Deferred's
/// errback chain: `failure.downcast_ref::<RemoteError>()` gives the fields back, and
/// [`RemoteError::check`] is Twisted's `failure.check(SomeError)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// The exception's qualified class name: `builtins.KeyError`, `pbecho.DefinedError`.
    pub type_name: String,
    /// `str()` of the exception: `b'missing'`, `exception!`, `""` for a failed login.
    pub value: String,
    /// The qualified names of the class and of all its bases, most derived first, as sent:
    /// `["builtins.KeyError", "builtins.LookupError", ..., "builtins.object"]`.
    pub parents: Vec<String>,
    /// The traceback text; [`TRACEBACK_UNAVAILABLE`] unless the callee sends real ones.
    pub traceback: String,
}

impl RemoteError {
    /// A failure of class `type_name` with text `value`; `parents` is the whole list as sent (the
    /// class itself first).
    pub fn new(type_name: impl Into<String>, value: impl Into<String>, parents: &[&str]) -> Self {
        RemoteError {
            type_name: type_name.into(),
            value: value.into(),
            parents: parents.iter().map(|&name| name.to_owned()).collect(),
            traceback: TRACEBACK_UNAVAILABLE.to_owned(),
        }
    }

    /// A failure whose class derives from `bases` (most derived first), then from Python's
    /// `Exception`: the parents are the class, the bases, and the standard chain.
    pub fn derived(type_name: &str, value: impl Into<String>, bases: &[&str]) -> Self {
        let mut parents = vec![type_name];
        parents.extend_from_slice(bases);
        parents.extend_from_slice(&EXCEPTION_BASES);
        RemoteError::new(type_name, value, &parents)
    }

    /// A plain Python exception of class `type_name` (derived from `Exception` directly):
    /// `builtins.TypeError`, `builtins.Exception` itself...
    pub fn exception(type_name: &str, value: impl Into<String>) -> Self {
        if type_name == EXCEPTION_BASES[0] {
            return RemoteError::new(type_name, value, &EXCEPTION_BASES);
        }
        RemoteError::derived(type_name, value, &[])
    }

    /// Twisted's `pb.Error` itself: the error PB raises for its own reasons (`Invalid Object ID`).
    /// Like all `pb.Error`s, it is answered without being logged.
    pub fn pb_error(value: impl Into<String>) -> Self {
        RemoteError::exception(PB_ERROR, value)
    }

    /// A program's subclass of `pb.Error`, such as pbecho's `pbecho.DefinedError`: the error a
    /// callee raises on purpose, for the caller to trap by name. Not logged when sent.
    pub fn pb_error_subclass(type_name: &str, value: impl Into<String>) -> Self {
        RemoteError::derived(type_name, value, &[PB_ERROR])
    }

    /// Python's `KeyError(key)`: its text is the key's repr (`b'missing'` for a byte string, as a
    /// Python 3 server shows it).
    pub fn key_error(key: &Value) -> Self {
        RemoteError::derived(
            "builtins.KeyError",
            key.to_string(),
            &["builtins.LookupError"],
        )
    }

    /// What a `Referenceable` (or a root) answers for a method it does not have: Twisted's
    /// `NoSuchMethod: No such method: remote_<name>`.
    pub fn no_such_method(name: &str) -> Self {
        RemoteError::derived(
            "twisted.spread.flavors.NoSuchMethod",
            format!("No such method: remote_{name}"),
            &["builtins.AttributeError"],
        )
    }

    /// What a cred avatar answers for a method it does not have: Python's `AttributeError`
    /// naming the avatar's class (`'SimplePerspective' object has no attribute
    /// 'perspective_nosuch'`).
    pub fn no_such_perspective_method(class_name: &str, name: &str) -> Self {
        RemoteError::exception(
            "builtins.AttributeError",
            format!("'{class_name}' object has no attribute 'perspective_{name}'"),
        )
    }

    /// Whether the failure is of class `name` or derives from it: Twisted's `failure.check`,
    /// which matches by name against the parents.
    pub fn check(&self, name: &str) -> bool {
        self.type_name == name || self.parents.iter().any(|parent| parent == name)
    }

    /// Whether this is a `pb.Error`: the errors a callee raises on purpose, which Twisted sends
    /// without logging them.
    pub fn is_pb_error(&self) -> bool {
        self.check(PB_ERROR)
    }

    /// The failure as a CopyableFailure, with every key Twisted sends for an exception raised in
    /// the called method, in Twisted's order. `_frames` is never sent: Twisted's carries the
    /// callee's file names and line numbers.
    pub(crate) fn to_value(&self, count: i64) -> Value {
        let key = |name: &str| Value::Text(name.to_owned());
        let parents = self
            .parents
            .iter()
            .map(|name| Value::Text(name.clone()))
            .collect();
        let state = vec![
            (key("count"), Value::Int(count)),
            (
                key("type"),
                Value::Bytes(self.type_name.as_bytes().to_vec()),
            ),
            (key("value"), Value::Text(self.value.clone())),
            (key("captureVars"), Value::Bool(false)),
            (key("tb"), Value::None),
            (key("unsafeTracebacks"), Value::Bool(false)),
            (key("parents"), Value::List(parents)),
            (key("frames"), Value::List(Vec::new())),
            (key("stack"), Value::List(Vec::new())),
            (key("traceback"), Value::Text(self.traceback.clone())),
        ];
        Value::Copy(
            COPYABLE_FAILURE_TAG.to_owned(),
            Box::new(Value::Dict(state)),
        )
    }

    /// What the peer sent in an `error`: the `type`, `value`, `parents` (and `traceback`, if any)
    /// of any dictionary that has them, a CopyableFailure's state or not; anything else becomes
    /// a failure whose value is that value's text, as a Twisted caller would wrap it.
    pub(crate) fn from_value(sent: &Value) -> RemoteError {
        let state = match without_reference(sent) {
            Value::Copy(_, state) => without_reference(state),
            other => other,
        };
        if let Value::Dict(entries) = state
            && let Some(error) = from_state(entries)
        {
            return error;
        }
        let (type_name, value) = match sent {
            Value::Bytes(bytes) => (
                "builtins.bytes",
                String::from_utf8_lossy(bytes).into_owned(),
            ),
            Value::Text(text) => ("builtins.str", text.clone()),
            other => ("builtins.object", other.to_string()),
        };
        RemoteError::new(type_name, value, &[type_name, "builtins.object"])
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.value)
    }
}

impl std::error::Error for RemoteError {}

/// Twisted's `pb.Error`.
const PB_ERROR: &str = "twisted.spread.pb.Error";

/// Reads a failure's fields from a state dictionary, if it has the three a caller needs.
fn from_state(entries: &[(Value, Value)]) -> Option<RemoteError> {
    let field = |name: &str| {
        entries
            .iter()
            .find(|(key, _)| text(key).is_some_and(|key| key == name))
            .map(|(_, value)| without_reference(value))
    };
    let type_name = text(field("type")?)?;
    let value = text(field("value")?)?;
    let parents = match field("parents")? {
        Value::List(names) | Value::Tuple(names) => names
            .iter()
            .map(|name| text(without_reference(name)))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let traceback = field("traceback")
        .and_then(text)
        .unwrap_or_else(|| TRACEBACK_UNAVAILABLE.to_owned());
    Some(RemoteError {
        type_name,
        value,
        parents,
        traceback,
    })
}

/// A byte string or a text as text (Twisted sends the type as bytes, the rest as text).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.clone()),
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// The value inside a `("reference" n value)` wrapper: Twisted marks shared values so.
fn without_reference(value: &Value) -> &Value {
    match value {
        Value::Reference(_, inner) => without_reference(inner),
        other => other,
    }
}

thread_local! {
    /// The next failure's `count`: 5 for the first failure of a fresh Twisted server.
    static FAILURE_COUNT: Cell<i64> = const { Cell::new(5) };
}

/// Sets the `count` the next failure sent will carry.
///
/// Twisted numbers every failure a process makes, and sends the number; it means nothing to the
/// peer, but it is in the bytes. Ours counts as a fresh Twisted server does (5 for the first, then
/// 2 more after a logged failure and 1 after a `pb.Error`), per thread; a test that compares bytes
/// with a capture sets where it starts.
pub fn set_failure_count(next: i64) {
    FAILURE_COUNT.with(|count| count.set(next));
}

/// The count for a failure being sent; a logged one uses up two numbers, as in Twisted (the
/// failure sent and the one the log made).
pub(crate) fn next_failure_count(logged: bool) -> i64 {
    FAILURE_COUNT.with(|count| {
        let current = count.get();
        count.set(current + if logged { 2 } else { 1 });
        current
    })
}

/// A call's answer will never come: the connection was lost while the call waited (Twisted's
/// `PBConnectionLost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PBConnectionLost;

impl fmt::Display for PBConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Connection lost before the answer came")
    }
}

impl std::error::Error for PBConnectionLost {}

/// A call on a reference whose connection is gone (Twisted's `DeadReferenceError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadReferenceError;

impl fmt::Display for DeadReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Calling Stale Broker")
    }
}

impl std::error::Error for DeadReferenceError {}

/// A call refused before it was sent: [`MAX_PENDING_CALLS`](super::MAX_PENDING_CALLS) calls
/// already wait for their answers on that connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyCalls;

impl fmt::Display for TooManyCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls already wait for their answers on this connection",
            super::MAX_PENDING_CALLS
        )
    }
}

impl std::error::Error for TooManyCalls {}
