//! What the `deferred-list-*` examples share: printing a `DeferredList`'s result as Python prints
//! it. Included by each of them with `#[path]`; not an example itself.

use common::defer::{Failure, ListResult};

/// What the list fired with, printed as Python prints the result of a `DeferredList`: a list of
/// `(success, result)` tuples, `[(True, 'd1 result'), (False, <Failure Exception: d2 failure>)]`.
pub fn python_repr(result: &ListResult<&str>) -> String {
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

/// The list's callback in every demo: prints what the list fired with.
pub fn got_results(result: ListResult<&str>) -> Result<(), Failure> {
    println!("We got: {}", python_repr(&result));
    Ok(())
}
