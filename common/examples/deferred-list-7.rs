//! Handling a member's failure ourselves: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-7.py`).
//!
//! As `deferred-list-6`, without `consume_errors`, but with an errback of our own after the list's on
//! `d2`'s chain: the list's errback records the failure and passes it on, and ours handles it. The list
//! gets `(False, failure)` as before, and nothing is reported on stderr.
//!
//! In our typed Deferred the list's stage on `d2`'s chain ends it with `()` (the list took the value),
//! so our errback goes on `d2.tail::<()>()`, the handle on that new end of `d2`'s chain.
//!
//! ```text
//! cargo run -p common --example deferred-list-7
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, DeferredList, DeferredListOptions, Failure};

#[path = "support/deferred_list.rs"]
mod deferred_list;

use deferred_list::got_results;

fn run() -> Result<(), AlreadyCalledError> {
    let d1 = Deferred::new();
    let d2: Deferred<&str> = Deferred::new();
    let d = DeferredList::new(vec![d1.clone(), d2.clone()], DeferredListOptions::default());
    // Our errback, after the list's: it gets the failure the list's stage passes on, and returns a
    // value, which is the end of the failure.
    d2.tail::<()>().add_errback(|_failure| Ok(()));
    d.add_callback(got_results);
    println!("Firing d1.");
    d1.callback("d1 result")?;
    println!("Firing d2 with errback.");
    d2.errback(Failure::exception("d2 failure"))?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "Handling a member's failure ourselves: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-7.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
