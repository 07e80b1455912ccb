//! A DeferredList waits for its Deferred: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-2.py`).
//!
//! With one Deferred in it, the list does not fire when our callback is added but when that Deferred
//! fires. Its result is a list with one entry per Deferred: `(True, result)` for one that succeeded.
//!
//! ```text
//! cargo run -p common --example deferred-list-2
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, DeferredList, DeferredListOptions};

#[path = "support/deferred_list.rs"]
mod deferred_list;

use deferred_list::got_results;

fn run() -> Result<(), AlreadyCalledError> {
    println!("One Deferred.");
    let d1 = Deferred::new();
    let d = DeferredList::new(vec![d1.clone()], DeferredListOptions::default());
    println!("Adding Callback.");
    d.add_callback(got_results);
    println!("Firing d1.");
    // Firing the member fires the list too, and our callback runs before this returns.
    d1.callback("d1 result")?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A DeferredList waits for its Deferred: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-2.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
