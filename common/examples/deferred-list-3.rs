//! A DeferredList waits for all its Deferreds: tutorial Part 18, "Deferreds En Masse"
//! (`deferred-list/deferred-list-3.py`).
//!
//! Two Deferreds in the list: firing the first is not enough, the list fires when the second one does,
//! with both results.
//!
//! ```text
//! cargo run -p common --example deferred-list-3
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
    println!("Firing d1.");
    // One of two: the list records the result and goes on waiting.
    d1.callback("d1 result")?;
    println!("Firing d2.");
    // The last one: now the list fires.
    d2.callback("d2 result")?;
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A DeferredList waits for all its Deferreds: tutorial Part 18, \"Deferreds En Masse\" (deferred-list/deferred-list-3.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
