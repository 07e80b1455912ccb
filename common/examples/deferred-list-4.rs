//! A DeferredList keeps the order of its list: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-4.py`).
//!
//! The second Deferred fires first, yet the results come in the order of the list, not in the order
//! the Deferreds fired: each result can be matched with the operation it came from.
//!
//! ```text
//! cargo run -p common --example deferred-list-4
//! ```

use std::process::ExitCode;

use common::cli::output::report_error;
use common::defer::{AlreadyCalledError, Deferred, DeferredList, DeferredListOptions};

#[path = "support/deferred_list.rs"]
mod deferred_list;

use deferred_list::got_results;

fn run() -> Result<(), AlreadyCalledError> {
    println!("Two Deferreds.");
    let d1 = Deferred::new();
    let d2 = Deferred::new();
    let d = DeferredList::new(vec![d1.clone(), d2.clone()], DeferredListOptions::default());
    println!("Adding Callback.");
    d.add_callback(got_results);
    println!("Firing d2.");
    d2.callback("d2 result")?;
    println!("Firing d1.");
    d1.callback("d1 result")?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A DeferredList keeps the order of its list: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-4.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
