//! A Deferred fires once (callback, then callback): tutorial Part 7, "An Interlude, Deferred"
//! (`defer-4.py`).
//!
//! Pressing the callback button twice: the first `callback` runs the chain and prints `First result`;
//! the second is refused.
//!
//! To keep the demo short, one function, `out`, is both the callback and the errback: it prints
//! whatever it gets, the result or the Failure. (Python needs no types for that; here `out` is
//! generic over anything that can be displayed.)
//!
//! A Deferred fires once. The second firing is refused with an `AlreadyCalledError`: the mistake
//! comes straight back to the code that made it, instead of running somebody's callbacks twice. The
//! demo does not handle it, so it ends there, with `defer-4: error: AlreadyCalledError` on stderr and
//! exit status 1, and `Finished` is never printed.
//!
//! ```text
//! cargo run -p common --example defer-4
//! ```

use std::fmt::Display;
use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

/// Prints its argument: a result when called as the callback, a Failure as the errback.
fn out<A: Display>(argument: A) -> Result<(), Failure> {
    println!("{argument}");
    Ok(())
}

fn fire_twice() -> Result<(), AlreadyCalledError> {
    let d: Deferred<&str> = Deferred::new();
    d.add_callbacks(out, out);
    d.callback("First result")?;
    // Already fired: this returns Err(AlreadyCalledError), and `?` ends the demo here.
    d.callback("Second result")?;
    println!("Finished");
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A Deferred fires once (callback, then callback): tutorial Part 7, \"An Interlude, Deferred\" (defer-4.py).",
    );
    match fire_twice() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
