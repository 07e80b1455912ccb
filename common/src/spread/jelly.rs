//! Jelly, PB's serialisation of values (`twisted.spread.jelly`): every value that Banana cannot carry
//! as itself becomes a list whose first element names its type: `None` is `("None")`, a tuple
//! `("tuple" 1 "a")`, text `("unicode" "...")`.
//!
//! A receiver never turns a type word into code: [`unjelly`] knows a fixed set of words, plus the
//! Copyable tags the program allowed in its [`SecurityOptions`], and refuses the rest with Twisted's
//! `InsecureJelly`. Shared and cyclic structures are kept as they travel, as explicit
//! [`Value::Reference`] and [`Value::Dereference`] nodes, so a cycle never makes a walk loop.
//!
//! [`jelly`] writes a value's Banana tokens straight into a [`Writer`], with no tree in between.

mod convert;
mod datetime;
mod decimal;
pub(crate) mod display;
mod read;
mod write;

use std::fmt;

use num_bigint::BigInt;

use super::banana::{BananaError, DEFAULT_MAX_DEPTH};

pub use datetime::{Date, DateTime, Time, TimeDelta};
pub use decimal::Decimal;
pub use read::unjelly;
pub use write::{jelly, jelly_to_vec};

/// A Python value as PB carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Python's `None`: `("None")`.
    None,
    /// `True` / `False`: `("boolean" "true")`.
    Bool(bool),
    /// An integer that fits in 64 bits (Banana's integer itself).
    Int(i64),
    /// A larger integer (up to 448 bits on the wire).
    BigInt(BigInt),
    /// A float (Banana's float itself).
    Float(f64),
    /// Python `bytes`: a plain Banana string.
    Bytes(Vec<u8>),
    /// Python `str`: `("unicode" "<UTF-8>")`. A different type from bytes: `b"k"` and `"k"` are two
    /// different dictionary keys to a Python peer.
    Text(String),
    /// `("list" ...)`.
    List(Vec<Value>),
    /// `("tuple" ...)`: what call arguments travel as.
    Tuple(Vec<Value>),
    /// `("dictionary" (key value) ...)`, in the order of the wire (Python's insertion order).
    Dict(Vec<(Value, Value)>),
    /// `("set" ...)`.
    Set(Vec<Value>),
    /// `("frozenset" ...)`.
    FrozenSet(Vec<Value>),
    /// `decimal.Decimal`: `("decimal" coefficient exponent)`, `Decimal('-1.25')` being
    /// `("decimal" -125 -2)`.
    Decimal(Decimal),
    /// `datetime.datetime` (naive): `("datetime" "2024 1 2 3 4 5 6")`.
    DateTime(DateTime),
    /// `datetime.date`: `("date" "2024 1 2")`.
    Date(Date),
    /// `datetime.time` (naive): `("time" "3 4 5 6")`.
    Time(Time),
    /// `datetime.timedelta`: `("timedelta" "days seconds microseconds")`.
    TimeDelta(TimeDelta),
    /// `("reference" id value)`: the first sighting of a container met again later in the same run.
    Reference(u32, Box<Value>),
    /// `("dereference" id)`: a later sighting of the container opened by `Reference(id, ..)`; inside
    /// that container itself, a cycle.
    Dereference(u32),
    /// `("remote" luid)`: an object living on the sender, callable through the broker.
    Remote(u32),
    /// `("local" id)`: an object of the receiver, handed back by the peer it was lent to.
    Local(ObjectId),
    /// `("<tag>" state)`: the copy of a Copyable whose tag the receiver allowed.
    Copy(String, Box<Value>),
    /// `("unpersistable" "reason")`: something the sender would not serialise.
    Unpersistable(String),
}

/// How a broker names one of its own objects: a number it handed out, or a name such as `root`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ObjectId {
    /// A locally unique id from the broker's table of exported objects.
    Luid(u32),
    /// A named object (`root`).
    Name(Vec<u8>),
}

/// What a receiver accepts beyond the basic types: Twisted's `SecurityOptions`, reduced to what is
/// configurable here (the basic types are always accepted, classes and modules never).
#[derive(Debug, Clone)]
pub struct SecurityOptions {
    copy_tags: Vec<String>,
    max_depth: usize,
}

/// The tag of a failure's copy, which every PB peer must accept to receive errors.
pub const COPYABLE_FAILURE_TAG: &str = "twisted.spread.pb.CopyableFailure";

impl Default for SecurityOptions {
    fn default() -> SecurityOptions {
        SecurityOptions::new()
    }
}

impl SecurityOptions {
    /// PB's defaults: the basic types, `remote`/`local`, the failure's copy tag, and values nested at
    /// most as deep as a [`Decoder`](super::banana::Decoder) accepts.
    pub fn new() -> Self {
        SecurityOptions {
            copy_tags: vec![COPYABLE_FAILURE_TAG.to_string()],
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Accepts copies tagged `tag` (Twisted's `setUnjellyableForClass`): they arrive as
    /// [`Value::Copy`].
    pub fn allow_copy_tag(&mut self, tag: &str) {
        if !self.is_copy_tag_allowed(tag) {
            self.copy_tags.push(tag.to_string());
        }
    }

    /// Whether copies tagged `tag` are accepted.
    pub fn is_copy_tag_allowed(&self, tag: &str) -> bool {
        self.copy_tags.iter().any(|allowed| allowed == tag)
    }

    /// Changes how deeply nested (in Banana lists) a value may be.
    pub fn set_max_depth(&mut self, depth: usize) {
        self.max_depth = depth;
    }

    /// How deeply nested (in Banana lists) a value may be.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
}

/// Why a value could not be read or written.
#[derive(Debug, Clone, PartialEq)]
pub enum JellyError {
    /// A type word the receiver refuses (a class, a module, an unregistered tag). The text is what
    /// Twisted's `InsecureJelly` carries (`b'module'`, `Module os not allowed (in type
    /// os._wrap_close).`); `Display` puts `InsecureJelly: ` in front.
    Insecure(String),
    /// A form that does not make sense (a dictionary entry that is not a pair, a dereference of no
    /// reference, text that is not UTF-8, a date Python would not build), or a type this
    /// implementation does not support (`cached`, `lcache`).
    Malformed(String),
    /// A value nested deeper than allowed.
    TooDeep,
    /// The Banana layer refused (a string or list too long to send, an integer too large).
    Banana(BananaError),
}

impl fmt::Display for JellyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JellyError::Insecure(text) => write!(f, "InsecureJelly: {text}"),
            JellyError::Malformed(text) => write!(f, "malformed jelly: {text}"),
            JellyError::TooDeep => f.write_str("jelly: value nested too deep"),
            JellyError::Banana(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for JellyError {}

impl From<BananaError> for JellyError {
    fn from(error: BananaError) -> JellyError {
        JellyError::Banana(error)
    }
}
