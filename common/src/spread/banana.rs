//! Banana, the token layer of Perspective Broker (`twisted.spread.banana`).
//!
//! A Banana stream is a sequence of *expressions*, each a tree of lists whose leaves are integers,
//! floats and byte strings. Every token is a *prefix* (zero or more bytes below 0x80, a number in
//! base 128, least significant digit first), a *type byte* (0x80 and above), and, for strings and
//! floats, a payload. Nothing else frames the stream: a reader learns where an expression ends only
//! by counting list items, so it must be able to stop anywhere (inside a prefix, a header or a
//! payload) and resume when the next bytes arrive. [`Decoder`] does that; [`Writer`] produces the
//! exact bytes Twisted produces, so that a Twisted peer cannot tell us apart.
//!
//! A peer controls every number in the stream. The limits below are checked when a header is read,
//! before anything is allocated for it: Twisted's own (64 prefix bytes, 640 KiB strings, 640 Ki list
//! items) and two of ours that Twisted lacks (a nesting depth, and a budget for one expression).

mod decode;
mod encode;

use std::fmt;

use num_bigint::BigInt;

pub use decode::Decoder;
pub use encode::Writer;

/// The most bytes a STRING may announce, and the most items a LIST may announce (Twisted's
/// `SIZE_LIMIT`, 640 KiB). Larger headers close the connection before any payload is read.
pub const SIZE_LIMIT: usize = 655_360;

/// The most prefix bytes a token may have: 64 digits of 7 bits, so integers up to 2^448 - 1.
pub const PREFIX_LIMIT: usize = 64;

/// The deepest nesting of lists a [`Decoder`] accepts unless told otherwise. Twisted has no such
/// limit; without one, two bytes per level (`01 80`) would let a peer build arbitrarily deep trees
/// that cost stack to walk and to drop.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// How much memory one unfinished expression may hold in a [`Decoder`] unless told otherwise
/// (payload bytes plus the size of each decoded item). Twisted has no such limit either; ours keeps a
/// connection's memory bounded even when a peer sends a very long expression of tiny tokens.
pub const DEFAULT_MAX_EXPRESSION_SIZE: usize = 16 * 1024 * 1024;

/// The type bytes, as in Twisted's `banana.py`.
pub(crate) const LIST: u8 = 0x80;
pub(crate) const INT: u8 = 0x81;
pub(crate) const STRING: u8 = 0x82;
pub(crate) const NEG: u8 = 0x83;
pub(crate) const FLOAT: u8 = 0x84;
pub(crate) const LONGINT: u8 = 0x85;
pub(crate) const LONGNEG: u8 = 0x86;
pub(crate) const VOCAB: u8 = 0x87;

/// Which Banana "profile" a connection speaks, chosen by the opening exchange (spec 2.9). They
/// differ only in the VOCAB token: the pb dialect sends the 31 vocabulary words as one-byte indices
/// and accepts them; before a choice and in the none dialect a VOCAB token is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Every byte string travels as a STRING token; VOCAB is refused.
    None,
    /// Vocabulary words travel as VOCAB tokens, wherever they appear.
    Pb,
}

/// One decoded Banana expression, or one element of it. Banana has no other types: `None`,
/// booleans, text and dictionaries are Jelly's business, built out of these.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A LIST token and its elements.
    List(Vec<Item>),
    /// An INT, NEG, LONGINT or LONGNEG token: on receipt the four differ only in sign.
    Int(Int),
    /// A FLOAT token (IEEE-754 binary64).
    Float(f64),
    /// A STRING token, or in the pb dialect a VOCAB token (the receiver cannot tell them apart).
    Bytes(Vec<u8>),
}

/// A Banana integer. Python integers are unbounded and Banana carries up to 448 bits, so the rare
/// large ones are big integers; anything that fits an `i64` is always `Small`, so that comparing
/// two `Int`s compares their values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Int {
    /// A value that fits in 64 bits.
    Small(i64),
    /// A value that does not fit in 64 bits (never one that does).
    Big(BigInt),
}

impl Int {
    /// The value as a big integer, whichever form it is in.
    pub fn to_bigint(&self) -> BigInt {
        match self {
            Int::Small(n) => BigInt::from(*n),
            Int::Big(n) => n.clone(),
        }
    }

    /// The value if it fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Int::Small(n) => Some(*n),
            Int::Big(_) => None,
        }
    }
}

impl From<i64> for Int {
    fn from(n: i64) -> Int {
        Int::Small(n)
    }
}

impl From<BigInt> for Int {
    /// Normalises: a value that fits in an `i64` becomes `Small`.
    fn from(n: BigInt) -> Int {
        match i64::try_from(&n) {
            Ok(small) => Int::Small(small),
            Err(_) => Int::Big(n),
        }
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int::Small(n) => write!(f, "{n}"),
            Int::Big(n) => write!(f, "{n}"),
        }
    }
}

/// Why Banana refused to read or to write something. The text is the line a Twisted peer would log,
/// exception name first (`BananaError: Security precaution: String too long.`,
/// `NotImplementedError: Invalid Type Byte b'\x88'`, `KeyError: 122`), or ours in the same shape
/// for the limits Twisted does not have. After a decoding error the connection must be closed. The
/// text is public so that the layers above can raise Banana errors of their own with Twisted's
/// wording (`BananaError: Banana cannot send builtins.str objects: 'frobnicate'`).
#[derive(Debug, Clone, PartialEq)]
pub struct BananaError(pub String);

impl BananaError {
    /// An error with Twisted's exception name `BananaError` in front of `message`.
    pub(crate) fn banana(message: impl fmt::Display) -> BananaError {
        BananaError(format!("BananaError: {message}"))
    }

    /// An error whose whole text is given (for the ones Twisted raises as other exceptions).
    pub(crate) fn other(text: String) -> BananaError {
        BananaError(text)
    }

    /// The whole text, as `Display` shows it.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BananaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BananaError {}

/// The PB vocabulary (spec 2.10): index n is sent as the prefix n and the type byte VOCAB. Index 0
/// is unassigned; the table never changes during a connection.
const VOCABULARY: [&[u8]; 32] = [
    b"",
    b"None",
    b"class",
    b"dereference",
    b"reference",
    b"dictionary",
    b"function",
    b"instance",
    b"list",
    b"module",
    b"persistent",
    b"tuple",
    b"unpersistable",
    b"copy",
    b"cache",
    b"cached",
    b"remote",
    b"local",
    b"lcache",
    b"version",
    b"login",
    b"password",
    b"challenge",
    b"logged_in",
    b"not_logged_in",
    b"cachemessage",
    b"message",
    b"answer",
    b"error",
    b"decref",
    b"decache",
    b"uncache",
];

/// The vocabulary index of `word`, if it is one of the 31 words: in the pb dialect such a byte string
/// is always sent as a VOCAB token.
pub fn vocabulary_index(word: &[u8]) -> Option<u8> {
    // Most byte strings are not words: the length check rejects them before any comparison.
    if !(4..=13).contains(&word.len()) {
        return None;
    }
    (1..VOCABULARY.len())
        .find(|&i| VOCABULARY[i] == word)
        .map(|i| i as u8)
}

/// The word at vocabulary index `index`, or `None` for 0 and anything past 31.
pub fn vocabulary_word(index: u64) -> Option<&'static [u8]> {
    match index {
        1..=31 => Some(VOCABULARY[index as usize]),
        _ => None,
    }
}
