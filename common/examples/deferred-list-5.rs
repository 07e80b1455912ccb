//! A failed member, and `consume_errors`: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-5.py`).
//!
//! The list does not fail when a member fails: it records `(False, failure)` for that member and
//! fires with its callback as usual. With `consume_errors`, the errback the list added to the member
//! also ends the failure there: the member goes on as if it had succeeded, and nothing is reported
//! when it goes away. (The failure prints in the shape of Python's `repr`, of our own making.)
//!
//! ```text
//! cargo run -p common --example deferred-list-5
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, DeferredList, DeferredListOptions, Failure};

#[path = "support/deferred_list.rs"]
mod deferred_list;

use deferred_list::got_results;

fn run() -> Result<(), AlreadyCalledError> {
    let d1 = Deferred::new();
    let d2 = Deferred::new();
    let options = DeferredListOptions {
        consume_errors: true,
        ..DeferredListOptions::default()
    };
    let d = DeferredList::new(vec![d1.clone(), d2.clone()], options);
    d.add_callback(got_results);
    println!("Firing d1.");
    d1.callback("d1 result")?;
    println!("Firing d2 with errback.");
    d2.errback(Failure::exception("d2 failure"))?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A failed member, and consume_errors: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-5.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
