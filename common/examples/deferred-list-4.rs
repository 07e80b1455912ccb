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
use common::defer::{
    AlreadyCalledError, Deferred, DeferredList, DeferredListOptions, Failure, ListResult,
};

/// What the list fired with, printed as Python prints the result of a `DeferredList`: a list of
/// `(success, result)` tuples, `[(True, 'd1 result'), (False, <Failure Exception: d2 failure>)]`.
fn python_repr(result: &ListResult<&str>) -> String {
    match result {
        ListResult::All(outcomes) => {
            let entries: Vec<String> = outcomes
                .iter()
                .map(|outcome| match outcome {
                    Ok(value) => format!("(True, '{value}')"),
                    Err(failure) => format!(
                        "(False, <Failure {}: {}>)",
                        failure.short_type_name(),
                        failure.error()
                    ),
                })
                .collect();
            format!("[{}]", entries.join(", "))
        }
        // Only with `fire_on_one_callback`: Python's `(result, index)`.
        ListResult::First { value, index } => format!("('{value}', {index})"),
    }
}

fn got_results(result: ListResult<&str>) -> Result<(), Failure> {
    println!("We got: {}", python_repr(&result));
    Ok(())
}

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
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
