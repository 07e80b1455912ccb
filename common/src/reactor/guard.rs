//! Calling user code so that its failure cannot stop the reactor (the lesson of Part 3's
//! `exception.py`).
//!
//! A callback can fail in two ways: it returns an error, or it panics. Either way the reactor reports
//! the failure, with what it was calling at the time, and carries on with the next event: one bad
//! connection or timer never brings a server down.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::log::report_unhandled;

/// What a callback may return: nothing, or a `Result` whose error the reactor reports.
pub trait CallbackResult {
    /// The error to report, if the callback failed.
    fn into_error(self) -> Option<String>;
}

impl CallbackResult for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: Display> CallbackResult for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|error| error.to_string())
    }
}

thread_local! {
    /// How many guarded calls are on this thread's stack: while it is above zero, a panic is
    /// reported by [`call`] instead of by Rust's default hook.
    static GUARD_DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Where the last guarded panic happened, recorded by the panic hook.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `callback`, reporting its error or panic as an unhandled error `while <context>`.
///
/// Returns whether it succeeded, so that a caller can clean up after a failure (a connection whose
/// protocol panicked is closed, for instance).
pub fn call<R: CallbackResult>(context: &dyn Display, callback: impl FnOnce() -> R) -> bool {
    install_panic_hook();
    GUARD_DEPTH.with(|depth| depth.set(depth.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(callback));
    GUARD_DEPTH.with(|depth| depth.set(depth.get() - 1));
    let error = match outcome {
        Ok(result) => result.into_error(),
        Err(payload) => Some(describe_panic(payload)),
    };
    match error {
        None => true,
        Some(error) => {
            report_unhandled(&context.to_string(), &error);
            false
        }
    }
}

/// Runs `f`, turning a panic into its message and location (without printing anything): how a
/// Deferred turns a panicking callback into a failure, as Twisted turns an exception into one.
pub(crate) fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, (String, Option<String>)> {
    let quiet = QuietPanics::begin();
    catch_quietly(&quiet, f)
}

/// A stretch of code whose panics are all caught by [`catch_quietly`] and turned into values, so
/// Rust's hook must not print them. Taken once around a whole run of callbacks rather than around
/// each one, which matters when a chain runs millions of them.
pub(crate) struct QuietPanics(());

impl QuietPanics {
    pub(crate) fn begin() -> QuietPanics {
        install_panic_hook();
        GUARD_DEPTH.with(|depth| depth.set(depth.get() + 1));
        QuietPanics(())
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        GUARD_DEPTH.with(|depth| depth.set(depth.get() - 1));
    }
}

/// Runs `f` inside a [`QuietPanics`] stretch, turning a panic into its message and location.
pub(crate) fn catch_quietly<R>(
    _quiet: &QuietPanics,
    f: impl FnOnce() -> R,
) -> Result<R, (String, Option<String>)> {
    // Keep the success path lean: the payload is described only when there was a panic.
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(describe_caught)
}

/// The message and location of a panic caught in a quiet stretch.
#[cold]
fn describe_caught(payload: Box<dyn Any + Send>) -> (String, Option<String>) {
    let location = PANIC_LOCATION.with(|location| location.borrow_mut().take());
    (panic_message(&*payload), location)
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with no message".to_owned()
    }
}

/// The message of a panic, and where it happened.
fn describe_panic(payload: Box<dyn Any + Send>) -> String {
    let message = panic_message(&*payload);
    match PANIC_LOCATION.with(|location| location.borrow_mut().take()) {
        Some(location) => format!("{message} (panicked at {location})"),
        None => message,
    }
}

/// Replaces Rust's panic hook, once per process, with one that stays quiet for panics that a guarded
/// call will report (recording only where they happened) and defers to the previous hook otherwise.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(Cell::get) > 0 {
                let location = info.location().map(ToString::to_string);
                PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_true() {
        assert!(call(&"testing", || ()));
        assert!(call(&"testing", || Ok::<(), String>(())));
    }

    #[test]
    fn errors_and_panics_are_caught() {
        let (caught, log) = crate::log::capture(|| {
            let error = call(&"testing", || Err::<(), _>("I fall down."));
            let panic = call(&"testing", || -> () {
                panic!("I fall down.");
            });
            (error, panic)
        });
        assert_eq!(caught, (false, false));
        // Both are reported, the panic with where it happened.
        assert!(log.contains("\twhile testing: I fall down.\n"), "{log}");
        assert!(
            log.contains("\twhile testing: I fall down. (panicked at common/src/reactor/guard.rs:"),
            "{log}"
        );
        // The thread is still fine, and the next call runs.
        let mut ran = false;
        assert!(call(&"testing", || ran = true));
        assert!(ran);
    }

    #[test]
    fn panic_descriptions_say_where() {
        install_panic_hook();
        GUARD_DEPTH.with(|depth| depth.set(depth.get() + 1));
        let payload = panic::catch_unwind(|| panic!("oops {}", 42)).unwrap_err();
        GUARD_DEPTH.with(|depth| depth.set(depth.get() - 1));
        let text = describe_panic(payload);
        assert!(
            text.starts_with("oops 42 (panicked at common/src/reactor/guard.rs:"),
            "{text}"
        );
    }
}
