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
    println!("Empty List.");
    let d = DeferredList::new(Vec::<Deferred<&str>>::new(), DeferredListOptions::default());
    println!("Adding Callback.");
    d.add_callback(got_results);
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
