//! A failure nobody handles: tutorial Part 9, "A Second Interlude, Deferred"
//! (`defer-unhandled.py`).
//!
//! The only callback of this Deferred fails (it returns an error, our counterpart of raising an
//! exception), and there is no errback after it to catch the failure. That is not a crash: the
//! Deferred caught the error, `callback` returns normally, and `Finished` is printed. The failure is
//! reported only when the Deferred goes away, with `Unhandled error in Deferred:` and the Failure's
//! report on stderr. Only then can nobody add an errback that would handle it, which is why the
//! report comes after `Finished`. In Python that moment is garbage collection; in Rust it is when
//! the last handle on the Deferred is dropped. The program still exits with status 0.
//!
//! ```text
//! cargo run -p common --example defer-unhandled
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, Failure};

fn callback(_result: &str) -> Result<(), Failure> {
    Err(Failure::exception("oops"))
}

fn fire() -> Result<(), AlreadyCalledError> {
    let d = Deferred::new();
    d.add_callback(callback);
    d.callback("Get poetry!")?;
    println!("Finished");
    // The last handle goes: the failure still sitting at the end of the chain is reported now.
    drop(d);
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A failure nobody handles: tutorial Part 9, \"A Second Interlude, Deferred\" (defer-unhandled.py).",
    );
    match fire() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
