//! What `web4` and `web5` share (each includes this file with `#[path]`): the Fibonacci numbers
//! they compute, the `num` argument they read, and the lines they answer with. The two programs
//! differ only in where the computation runs, which each keeps in its own file: in the reactor's
//! thread (`web4`, which blocks every other request meanwhile), or in the thread pool (`web5`).
//!
//! `GET /?num=N` answers `Result is: ` and then `D digits long\r\n`, D being the number of decimal
//! digits of fib(N). The numbers get large fast (fib(100000) has 20,899 digits), so they are
//! exact big integers; the work grows with the square of N, which is the point of the lesson.

use std::fmt;
use std::num::IntErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};

use common::defer::Failure;
use common::web::{ErrorPage, Render, Request};
use http::StatusCode;
use num_bigint::BigUint;

/// What the answer starts with, written before the computation.
pub(crate) const RESULT_IS: &[u8] = b"Result is: ";

/// The largest `num` a request may ask for unless `--max-num` says otherwise. fib(1000000) has
/// 208,988 digits and takes seconds; the training's program has no limit at all, so a single
/// `num=100000000` would hold it for hours.
pub(crate) const DEFAULT_MAX_NUM: u64 = 1_000_000;

/// How often (in additions) the computation looks whether it should give up.
const CHECK_EVERY: i64 = 1024;

/// The options the two programs share.
#[derive(Debug, clap::Args)]
pub(crate) struct FibOptions {
    /// The largest num a request may ask for; a larger one is answered with 400 Bad Request
    /// instead of being computed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NUM)]
    pub(crate) max_num: u64,
}

/// The end of the answer: `D digits long\r\n`.
pub(crate) fn digits_line(digits: usize) -> String {
    format!("{digits} digits long\r\n")
}

/// What a request's `num` asks for, once read.
pub(crate) enum Asked {
    /// A number to compute fib of.
    Num(i64),
    /// A number over the limit: the 400 page to answer with.
    TooLarge(Render),
}

/// Reads the request's `num` argument as Python's `int()` reads it (spaces around it allowed, a
/// sign, decimal digits). Missing or not a number: a failure, which the site answers with a 500,
/// as the training's program does (its KeyError or ValueError). Over `max_num`: the 400 page.
pub(crate) fn asked_num(request: &Request, max_num: u64) -> Result<Asked, Failure> {
    let text = request.require_arg("num")?;
    let number = match text.trim().parse::<i64>() {
        Ok(number) => number,
        // Too negative for an i64 is still below 1, whose Fibonacci number is 1.
        Err(error) if *error.kind() == IntErrorKind::NegOverflow => i64::MIN,
        Err(error) if *error.kind() == IntErrorKind::PosOverflow => i64::MAX,
        Err(_) => return Err(Failure::new(NotANumber(text.to_owned()))),
    };
    if number > 0 && number as u64 > max_num {
        let detail = format!("num may be at most {max_num}.");
        let page = ErrorPage::new(StatusCode::BAD_REQUEST, "Bad Request", &detail);
        return Ok(Asked::TooLarge(page.render_on(request)));
    }
    Ok(Asked::Num(number))
}

/// fib(`n`) as the training defines it: start from (0, 1) and step `n` - 1 times from (a, b) to
/// (b, a + b); the answer is the second. So fib(1) = fib(2) = 1, fib(10) = 55, and fib(n) = 1 for
/// every n below 1 too.
///
/// `give_up` is looked at every thousand steps or so: once it is set, the work stops and `None` is
/// returned (a client that has left wants no answer).
pub(crate) fn fib(n: i64, give_up: &AtomicBool) -> Option<BigUint> {
    let (mut first, mut second) = (BigUint::from(0u32), BigUint::from(1u32));
    for step in 1..n {
        if step % CHECK_EVERY == 0 && give_up.load(Ordering::Relaxed) {
            return None;
        }
        // (a, b) becomes (b, a + b) without a new allocation: a += b, then swap.
        first += &second;
        std::mem::swap(&mut first, &mut second);
    }
    Some(second)
}

/// How many decimal digits `number` has.
pub(crate) fn digit_count(number: &BigUint) -> usize {
    number.to_str_radix(10).len()
}

/// A `num` that is not a whole number: Python's ValueError, in its words.
#[derive(Debug)]
pub(crate) struct NotANumber(pub(crate) String);

impl fmt::Display for NotANumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid literal for int() with base 10: '{}'", self.0)
    }
}

impl std::error::Error for NotANumber {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fib_of(n: i64) -> BigUint {
        fib(n, &AtomicBool::new(false)).unwrap()
    }

    #[test]
    fn the_training_starts_its_sequence_at_one_one() {
        let first: Vec<BigUint> = (1..=10).map(fib_of).collect();
        let expected: Vec<BigUint> = [1u32, 1, 2, 3, 5, 8, 13, 21, 34, 55]
            .into_iter()
            .map(BigUint::from)
            .collect();
        assert_eq!(first, expected);
        for below_one in [0, -1, i64::MIN] {
            assert_eq!(fib_of(below_one), BigUint::from(1u32));
        }
    }

    #[test]
    fn digits_are_counted_exactly() {
        assert_eq!(digit_count(&fib_of(10)), 2);
        assert_eq!(digit_count(&fib_of(1)), 1);
        // fib(100) = 354224848179261915075: 21 digits.
        assert_eq!(fib_of(100).to_string(), "354224848179261915075");
        assert_eq!(digit_count(&fib_of(100)), 21);
    }

    #[test]
    fn a_computation_told_to_give_up_stops() {
        assert_eq!(fib(1_000_000, &AtomicBool::new(true)), None);
    }

    #[test]
    fn a_bad_num_is_described_as_python_does() {
        assert_eq!(
            NotANumber("abc".into()).to_string(),
            "invalid literal for int() with base 10: 'abc'"
        );
    }
}
