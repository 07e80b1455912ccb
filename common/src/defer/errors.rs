//! The errors the Deferred machinery itself raises.

use std::error::Error;
use std::fmt;

use super::failure::Failure;

/// A Deferred was fired twice: Twisted's `AlreadyCalledError`. A Deferred fires once, so that
/// nobody's callbacks run twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyCalledError {
    /// In debug mode ([`set_debugging`](super::set_debugging)): where the Deferred was made and
    /// where it was fired the first time; otherwise no text.
    pub detail: Option<String>,
}

impl AlreadyCalledError {
    pub(crate) fn new(created_at: Option<String>, first_fired_at: Option<String>) -> Self {
        let detail = match (created_at, first_fired_at) {
            (None, None) => None,
            (created, fired) => Some(format!(
                "made at {}, first fired at {}",
                created.as_deref().unwrap_or("an unknown place"),
                fired.as_deref().unwrap_or("an unknown place")
            )),
        };
        AlreadyCalledError { detail }
    }
}

impl fmt::Display for AlreadyCalledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "AlreadyCalledError: {detail}"),
            None => write!(f, "AlreadyCalledError"),
        }
    }
}

impl Error for AlreadyCalledError {}

/// The Deferred was cancelled: Twisted's `CancelledError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelledError;

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Deferred was cancelled")
    }
}

impl Error for CancelledError {}

/// The Deferred did not fire in time (see [`Deferred::add_timeout`](super::Deferred::add_timeout)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Deferred timed out")
    }
}

impl Error for TimeoutError {}

/// A callback returned the very Deferred it belongs to, which could never fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircularChainError;

impl fmt::Display for CircularChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a callback returned the Deferred it was added to")
    }
}

impl Error for CircularChainError {}

/// The first failure of a `DeferredList` with `fire_on_one_errback`, or of `gather_results`: which
/// member failed, and how.
#[derive(Debug, Clone)]
pub struct FirstError {
    /// The failure of that member.
    pub failure: Failure,
    /// Its position in the list.
    pub index: usize,
}

impl fmt::Display for FirstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FirstError[#{}, {}]", self.index, self.failure)
    }
}

impl Error for FirstError {}

/// Two `FirstError`s are equal when they name the same member and the same failure.
impl PartialEq for FirstError {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.failure.ptr_eq(&other.failure)
    }
}

/// Every member of a `race` failed: their failures, in list order.
#[derive(Debug, Clone)]
pub struct FailureGroup(pub Vec<Failure>);

impl fmt::Display for FailureGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} Deferreds failed", self.0.len())
    }
}

impl Error for FailureGroup {}

/// A [`DeferredQueue`](super::DeferredQueue) at its size limit refused an item: Twisted's
/// `QueueOverflow`. The item comes back inside, so that the caller can keep it or try later.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueOverflow<T>(pub T);

impl<T> fmt::Debug for QueueOverflow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueOverflow(..)")
    }
}

impl<T> fmt::Display for QueueOverflow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the queue is full")
    }
}

impl<T> Error for QueueOverflow<T> {}

/// A [`DeferredQueue`](super::DeferredQueue) has as many getters waiting as its backlog allows:
/// Twisted's `QueueUnderflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueUnderflow;

impl fmt::Display for QueueUnderflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many getters are waiting on the queue")
    }
}

impl Error for QueueUnderflow {}
