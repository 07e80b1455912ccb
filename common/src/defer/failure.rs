//! `Failure`: what travels down the errback chain (tutorial Parts 6, 7 and 9).
//!
//! In Twisted, an errback receives a `Failure`: the exception together with where it was raised, so
//! that an error that surfaces long after (and far from) the code that caused it can still be traced.
//! Ours wraps any Rust error (or the message of a panic caught in a callback), remembers the source
//! location where it was made, can be checked and trapped by error type, and prints a short report.
//! It is cheap to clone: a `DeferredList` keeps a failure and passes it on at the same time.

use std::any::type_name;
use std::error::Error;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// An error on its way down a Deferred's errback chain.
#[derive(Clone)]
pub struct Failure(Rc<Inner>);

struct Inner {
    error: Box<dyn Error + 'static>,
    /// The error's type, as Rust names it (`common::defer::CancelledError`).
    type_name: &'static str,
    /// Where the failure was made: the `errback` call, the `?`, or the panicking line.
    location: String,
}

impl Failure {
    /// Wraps `error`, remembering where this was called from.
    #[track_caller]
    pub fn new<E: Error + 'static>(error: E) -> Failure {
        Failure::at(error, Location::caller().to_string())
    }

    fn at<E: Error + 'static>(error: E, location: String) -> Failure {
        Failure(Rc::new(Inner {
            error: Box::new(error),
            type_name: type_name::<E>(),
            location,
        }))
    }

    /// A failure carrying just a message, as Python's `Exception('message')`: the failure the
    /// tutorial's demos make most often.
    #[track_caller]
    pub fn exception(message: impl Into<String>) -> Failure {
        Failure::new(Exception(message.into()))
    }

    /// The failure of a callback that panicked: the panic's message and location.
    pub(crate) fn from_panic(message: String, location: Option<String>) -> Failure {
        Failure::at(
            Panic(message),
            location.unwrap_or_else(|| "unknown".to_owned()),
        )
    }

    /// Whether the error is of type `E`: Twisted's `Failure.check`.
    pub fn check<E: Error + 'static>(&self) -> bool {
        self.0.error.is::<E>()
    }

    /// The error, if it is of type `E`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.error.downcast_ref::<E>()
    }

    /// Twisted's `Failure.trap`: the error if it is of type `E`, else the failure itself as an `Err`,
    /// so that an errback can write `let error = failure.trap::<E>()?;` and pass any other failure on.
    pub fn trap<E: Error + 'static>(&self) -> Result<&E, Failure> {
        self.downcast_ref::<E>().ok_or_else(|| self.clone())
    }

    /// The wrapped error.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.0.error
    }

    /// The error type's name without its module path: `CancelledError`.
    pub fn short_type_name(&self) -> &'static str {
        let name = self.0.type_name;
        let without_generics = name.split('<').next().unwrap_or(name);
        without_generics
            .rsplit("::")
            .next()
            .unwrap_or(without_generics)
    }

    /// The error type's full name: `common::defer::CancelledError`.
    pub fn type_name(&self) -> &'static str {
        self.0.type_name
    }

    /// Where the failure was made: `file:line:column`.
    pub fn location(&self) -> &str {
        &self.0.location
    }

    /// A short report for a person: the error's type and message, and where it was raised.
    ///
    /// ```text
    /// Failure: common::defer::failure::Exception: oops
    ///   raised at common/examples/defer-unhandled.rs:12:9
    /// ```
    pub fn report(&self) -> String {
        format!(
            "Failure: {}: {}\n  raised at {}",
            self.0.type_name, self.0.error, self.0.location
        )
    }

    /// Whether two handles are the same failure (not merely equal errors).
    pub fn ptr_eq(&self, other: &Failure) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// `[Failure instance: Exception: I have failed.]`: the one-line form, as Twisted's `str(failure)`.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[Failure instance: {}: {}]",
            self.short_type_name(),
            self.0.error
        )
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Failure {}: {}>", self.0.type_name, self.0.error)
    }
}

/// Any error becomes a failure with `?` or `.into()`, remembering where that happened.
impl<E: Error + 'static> From<E> for Failure {
    #[track_caller]
    fn from(error: E) -> Failure {
        Failure::new(error)
    }
}

/// A plain error with a message: Python's `Exception('...')`, for the tutorial's demos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception(pub String);

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Exception {}

/// A panic caught in a callback, turned into a failure as Twisted turns an exception into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic(pub String);

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.0)
    }
}

impl Error for Panic {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_failure_knows_its_type_message_and_place() {
        let failure = Failure::exception("I have failed.");
        assert_eq!(
            failure.to_string(),
            "[Failure instance: Exception: I have failed.]"
        );
        assert_eq!(failure.short_type_name(), "Exception");
        assert_eq!(failure.type_name(), "common::defer::failure::Exception");
        assert!(
            failure
                .location()
                .starts_with("common/src/defer/failure.rs:"),
            "{}",
            failure.location()
        );
        let report = failure.report();
        assert!(report.starts_with("Failure: common::defer::failure::Exception: I have failed.\n  raised at common/src/defer/failure.rs:"));
    }

    #[test]
    fn check_and_trap_select_by_type() {
        let failure: Failure = io::Error::other("disk on fire").into();
        assert!(failure.check::<io::Error>());
        assert!(!failure.check::<Exception>());
        assert_eq!(
            failure.trap::<io::Error>().unwrap().to_string(),
            "disk on fire"
        );
        let passed_on = failure.trap::<Exception>().unwrap_err();
        assert!(passed_on.ptr_eq(&failure));
    }

    #[test]
    fn question_mark_makes_a_failure_where_it_is_used() {
        fn parse(text: &str) -> Result<i32, Failure> {
            Ok(text.parse::<i32>()?)
        }
        let failure = parse("seven").unwrap_err();
        assert_eq!(failure.short_type_name(), "ParseIntError");
        assert!(failure.location().contains("failure.rs"));
    }
}
