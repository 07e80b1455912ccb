//! A failed member without `consume_errors`: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-6.py`).
//!
//! The same list as `deferred-list-5`, without `consume_errors`. The errback the list added to `d2`
//! records the failure for the list, then passes it on down `d2`'s own chain, as an errback that does
//! not handle a failure must. Nothing after it handles it, so `d2` still holds a failure when it goes
//! away at the end of the program, and reports it on stderr: `Unhandled error in Deferred:`. The
//! list itself succeeded; the report comes from the member.
//!
//! ```text
//! cargo run -p common --example deferred-list-6
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
        consume_errors: false,
        ..DeferredListOptions::default()
    };
    let d = DeferredList::new(vec![d1.clone(), d2.clone()], options);
    d.add_callback(got_results);
    println!("Firing d1.");
    d1.callback("d1 result")?;
    println!("Firing d2 with errback.");
    d2.errback(Failure::exception("d2 failure"))?;
    // Here `d2` goes away, still failed: the report comes now, as Python's comes when the garbage
    // collector takes the Deferred.
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A failed member without consume_errors: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-6.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
