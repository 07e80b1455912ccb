//! Sending values and exceptions into a generator: tutorial Part 17, "Just Another Way to Spell
//! 'Callback'" (`inline-callbacks/gen-4.py`).
//!
//! A generator paused at a `yield` can be restarted in two more ways than `next`: `send(value)` makes
//! the `yield` evaluate to `value`, and `throw(exception)` raises the exception right there, inside
//! the generator, where a `try` around the `yield` can catch it. A generator restarted like this is a
//! chain of callbacks that each get a result (sent) or a failure (thrown), and that is the whole idea
//! behind `inlineCallbacks`.
//!
//! Stable Rust has no generators, so the generator is written out by hand as the state machine
//! Python makes of it: where the body is paused, and a `resume` that takes what the paused `yield`
//! gets (a value, or an exception) and runs the body to its next `yield`. Rust's `async`/`.await`
//! is built the same way by the compiler, and that is what the `inline-callbacks-*` examples use.
//!
//! ```text
//! cargo run -p common --example gen-4
//! ```

use std::error::Error;
use std::fmt;

/// The exception the main program throws into the generator.
#[derive(Debug)]
struct Malfunction;

impl fmt::Display for Malfunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Malfunction")
    }
}

impl Error for Malfunction {}

/// What the paused `yield` gets when the generator is restarted.
enum Resume {
    /// Its value: what `send` gave, or `None` for `next`.
    Send(Option<u32>),
    /// An exception, raised at the `yield`.
    Throw(Malfunction),
}

/// Why a restart gave no value.
#[derive(Debug)]
enum Stopped {
    /// The body ran to its end: Python's `StopIteration`.
    Exhausted,
    /// An exception left the body, which is over.
    Raised(Malfunction),
    /// A value was sent before the body had reached any `yield` to receive it; Python refuses that.
    NotStarted,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Exhausted => f.write_str("StopIteration"),
            Stopped::Raised(error) => write!(f, "{error}"),
            Stopped::NotStarted => {
                f.write_str("TypeError: a value was sent to a generator that has not started")
            }
        }
    }
}

impl Error for Stopped {}

/// Where the body is paused.
#[derive(Debug, Clone, Copy)]
enum Paused {
    NotStarted,
    AtYield1,
    AtYield2,
    /// At `yield 3`, the one inside `try ... except Malfunction`.
    AtYield3,
    AtYield4,
    Finished,
}

/// The body: print "starting up"; `got` what `yield 1` gives; `got` what `yield 2` gives; `yield 3`
/// in a `try` that prints "malfunction!" on a `Malfunction`; `yield 4`; print "done".
struct MyGenerator {
    paused: Paused,
}

impl MyGenerator {
    fn new() -> Self {
        MyGenerator {
            paused: Paused::NotStarted,
        }
    }

    /// Restarts the body with nothing (the `yield` gives `None`).
    fn next(&mut self) -> Result<u32, Stopped> {
        self.resume(Resume::Send(None))
    }

    /// Restarts the body, the paused `yield` giving `value`.
    fn send(&mut self, value: u32) -> Result<u32, Stopped> {
        self.resume(Resume::Send(Some(value)))
    }

    /// Restarts the body by raising `error` at the paused `yield`.
    fn throw(&mut self, error: Malfunction) -> Result<u32, Stopped> {
        self.resume(Resume::Throw(error))
    }

    /// Runs the body from the paused `yield` to the next one, and returns the value it yields.
    fn resume(&mut self, resume: Resume) -> Result<u32, Stopped> {
        use Paused::{AtYield1, AtYield2, AtYield3, AtYield4, Finished, NotStarted};
        let (paused, outcome) = match (self.paused, resume) {
            (NotStarted, Resume::Send(Some(_))) => (NotStarted, Err(Stopped::NotStarted)),
            (NotStarted, Resume::Send(None)) => {
                println!("starting up");
                (AtYield1, Ok(1))
            }
            (AtYield1, Resume::Send(value)) => {
                println!("got: {}", show(value));
                (AtYield2, Ok(2))
            }
            (AtYield2, Resume::Send(value)) => {
                println!("got: {}", show(value));
                (AtYield3, Ok(3))
            }
            // The `try` around `yield 3` catches the exception, and the body goes on.
            (AtYield3, Resume::Throw(Malfunction)) => {
                println!("malfunction!");
                (AtYield4, Ok(4))
            }
            (AtYield3, Resume::Send(_)) => (AtYield4, Ok(4)),
            (AtYield4, Resume::Send(_)) => {
                println!("done");
                (Finished, Err(Stopped::Exhausted))
            }
            (Finished, Resume::Send(_)) => (Finished, Err(Stopped::Exhausted)),
            // Anywhere else nothing catches it: the exception ends the body and comes back out.
            (_, Resume::Throw(error)) => (Finished, Err(Stopped::Raised(error))),
        };
        self.paused = paused;
        outcome
    }
}

/// A sent value as Python prints it: the number, or `None`.
fn show(value: Option<u32>) -> String {
    value.map_or_else(|| "None".to_owned(), |value| value.to_string())
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "Sending values and exceptions into a generator: tutorial Part 17, \"Just Another Way to Spell 'Callback'\" (inline-callbacks/gen-4.py).",
    );
    let mut generator = MyGenerator::new();
    println!("{}", generator.next()?); // start the generator
    println!("{}", generator.send(10)?); // the value of `yield 1` is 10
    println!("{}", generator.send(20)?); // the value of `yield 2` is 20
    println!("{}", generator.throw(Malfunction)?); // raised at `yield 3`, and caught there
    // Run the body to its end, which is what we expect; a value yielded instead is ignored.
    match generator.next() {
        Ok(_) | Err(Stopped::Exhausted) => Ok(()),
        Err(stopped) => Err(stopped.into()),
    }
}
