//! Faults: XML-RPC's way of saying that a call failed, with a number and a sentence.

use std::error::Error;
use std::fmt;

/// The fault code of a call to a procedure that does not exist (Twisted's `NOT_FOUND`).
pub const NOT_FOUND: i32 = 8001;

/// The fault code of a call that failed in some other way: a procedure that failed with an error
/// that is not a fault, a body that is not an XML-RPC call, a result that cannot be written
/// (Twisted's `FAILURE`).
pub const FAILURE: i32 = 8002;

/// An XML-RPC fault: a code and a message (Twisted's and Python's `Fault`).
///
/// A procedure answers with one by returning it, or by failing with it (its Deferred's errback):
/// either way the caller gets the fault, and nothing is logged, since a fault is an answer the
/// procedure chose. A client's call fails with the fault the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The number: the procedure's own (`7`), or [`NOT_FOUND`] or [`FAILURE`].
    pub code: i32,
    /// What went wrong, in words.
    pub string: String,
}

impl Fault {
    /// A fault with `code` and `string`.
    pub fn new(code: i32, string: impl Into<String>) -> Fault {
        Fault {
            code,
            string: string.into(),
        }
    }

    /// The fault of an unknown procedure or prefix: code [`NOT_FOUND`].
    pub fn not_found(string: impl Into<String>) -> Fault {
        Fault::new(NOT_FOUND, string)
    }

    /// The fault of a call that failed: code [`FAILURE`].
    pub fn failure(string: impl Into<String>) -> Fault {
        Fault::new(FAILURE, string)
    }
}

/// `Fault 7: Out of cheese.`
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fault {}: {}", self.code, self.string)
    }
}

impl Error for Fault {}
