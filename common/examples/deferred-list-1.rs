//! A DeferredList of nothing: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-1.py`).
//!
//! A `DeferredList` turns a list of Deferreds into one Deferred, which fires when all of them have
//! fired. Here the list is empty, so there is nothing to wait for: it has fired before we add our
//! callback, and the callback runs at once, inside `add_callback`, with an empty list of results.
//!
//! ```text
//! cargo run -p common --example deferred-list-1
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, DeferredList, DeferredListOptions};

#[path = "support/deferred_list.rs"]
mod deferred_list;

use deferred_list::got_results;

fn run() -> Result<(), AlreadyCalledError> {
    println!("Empty List.");
    let d = DeferredList::new(Vec::<Deferred<&str>>::new(), DeferredListOptions::default());
    println!("Adding Callback.");
    d.add_callback(got_results);
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A DeferredList of nothing: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-1.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
