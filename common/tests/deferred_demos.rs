//! The Deferred demos of Parts 6 to 9, 13 and 14 (`defer-*`, `failure-examples`), run as the student
//! runs them, with their output checked against what the tutorial's programs print.

mod support;

use std::path::Path;
use support::{run, text};

/// Runs a demo that must succeed silently on stderr, and returns its stdout.
fn stdout_of(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    assert_eq!(text(&output.stderr), "", "{name}");
    assert_eq!(output.status.code(), Some(0), "{name}");
    text(&output.stdout)
}

/// Where `code` starts in an example's source, as a Failure records it: `file:line:column`, the
/// file named as the compiler names it (relative to the workspace).
fn location_in_example(name: &str, code: &str) -> String {
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs")),
    )
    .unwrap();
    let mut found = source.lines().enumerate().filter_map(|(index, line)| {
        line.find(code)
            .map(|column| format!("common/examples/{name}.rs:{}:{}", index + 1, column + 1))
    });
    let location = found
        .next()
        .unwrap_or_else(|| panic!("{code:?} is not in {name}"));
    assert_eq!(found.next(), None, "{code:?} is in {name} more than once");
    location
}

#[test]
fn defer_1_fires_the_callback_chain_at_once() {
    assert_eq!(
        stdout_of("defer-1", &[]),
        "Your poem is served:\nThis poem is short.\nFinished\n"
    );
}

#[test]
fn defer_2_fires_the_errback_chain_at_once() {
    assert_eq!(stdout_of("defer-2", &[]), "No poetry for you.\nFinished\n");
}

#[test]
fn defer_3_turns_a_plain_error_into_a_failure() {
    assert_eq!(
        stdout_of("defer-3", &[]),
        "common::defer::failure::Failure\n\
         [Failure instance: Exception: I have failed.]\n\
         No poetry for you.\n"
    );
}

/// A demo that fires its Deferred twice: the first firing prints `first`, the second is refused
/// with an `AlreadyCalledError` that ends the program, before `Finished`.
fn assert_fired_twice(name: &str, first: &str) {
    let output = run(name, &[]);
    assert_eq!(text(&output.stdout), first, "{name}");
    assert_eq!(
        text(&output.stderr),
        format!("{name}: error: AlreadyCalledError\n")
    );
    assert_eq!(output.status.code(), Some(1), "{name}");
}

#[test]
fn defer_4_refuses_a_second_callback() {
    assert_fired_twice("defer-4", "First result\n");
}

#[test]
fn defer_5_refuses_an_errback_after_a_callback() {
    assert_fired_twice("defer-5", "First result\n");
}

#[test]
fn defer_6_refuses_a_second_errback() {
    assert_fired_twice("defer-6", "[Failure instance: Exception: First error]\n");
}

#[test]
fn defer_7_refuses_a_callback_after_an_errback() {
    assert_fired_twice("defer-7", "[Failure instance: Exception: First error]\n");
}

#[test]
fn defer_8_is_fired_by_the_running_reactor_and_stops_it() {
    assert_eq!(stdout_of("defer-8", &[]), "Another short poem.\n");
}

#[test]
fn defer_9_stops_the_reactor_in_an_add_both_stage() {
    assert_eq!(stdout_of("defer-9", &[]), "Another short poem.\n");
}

#[test]
fn defer_block_holds_everything_until_the_poem_is_written() {
    // `Firing finished.` comes only after the whole blocking callback chain.
    assert_eq!(
        stdout_of("defer-block", &["--time-scale", "0.01"]),
        "Starting reactor.\n\
         Firing deferred.\n\
         The start of the callback chain.\n\
         \n\
         I block\n  and the deferred\n  blocks with me\n\
         as does\n the reactor\n\
         keep that\n factor\n\
         in mind\n\
         \n\
         The end of the callback chain.\n\
         Firing finished.\n\
         Done.\n"
    );
}

#[test]
fn defer_block_refuses_a_time_scale_that_is_not_a_factor() {
    for bad in ["-1", "fast", "1e308"] {
        let output = run("defer-block", &["--time-scale", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert_eq!(text(&output.stdout), "", "{bad}");
        let err = text(&output.stderr);
        assert!(
            err.starts_with(&format!(
                "error: invalid value '{bad}' for '--time-scale <FACTOR>'"
            )),
            "{err}"
        );
    }
}

#[test]
fn defer_unhandled_reports_the_failure_after_finished_when_the_deferred_goes() {
    let output = run("defer-unhandled", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "Finished\n");
    assert_eq!(
        text(&output.stderr),
        format!(
            "Unhandled error in Deferred:\n\
             Failure: common::defer::failure::Exception: oops\n  \
             raised at {}\n",
            location_in_example("defer-unhandled", "Failure::exception(\"oops\")")
        )
    );
}

#[test]
fn defer_10_pauses_the_outer_chain_until_the_inner_deferred_fires() {
    assert_eq!(
        stdout_of("defer-10", &[]),
        "\n\
         This example illustrates how callbacks in a deferred\n\
         chain can return deferreds themselves.\n\
         \n\
         \n\
         Here we are firing a deferred with three callbacks that just print\n\
         their argument and return simple values:\n\
         \n\
         callback_1 got 0\n\
         callback_2 got 1\n\
         callback_3 got 2\n\
         \n\
         Here we are firing a deferred as above but the middle callback is\n\
         returning a deferred:\n\
         \n\
         callback_1 got 0\n\
         callback_2 got 1\n\
         \n\
         Notice the output from the third callback is missing. That's because\n\
         the second callback returned a deferred and now the 'outer' deferred\n\
         is paused. It's not waiting in a thread or anything like that, it just\n\
         stopped invoking the callbacks in the chain. Instead, it registered\n\
         some callbacks on the 'inner' deferred which will start the outer\n\
         deferred back up when the inner deferred is fired.\n\
         \n\
         We can see this in action by firing the inner deferred:\n\
         \n\
         callback_3 got 2\n\
         \n\
         Note the argument to the inner deferred's callback() method became\n\
         the result passed to the next callback in the outer deferred.\n\
         \n"
    );
}

#[test]
fn defer_11_runs_callbacks_added_after_firing_at_once_unless_paused() {
    assert_eq!(
        stdout_of("defer-11", &[]),
        "This example illustrates how deferreds can\n\
         be fired before they are returned. First we\n\
         make a new deferred, fire it, then add some\n\
         callbacks.\n\
         \n\
         Firing empty deferred.\n\
         Adding first callback.\n\
         callback_1 got 0\n\
         Adding second callback.\n\
         callback_2 got 1\n\
         Adding third callback.\n\
         callback_3 got 2\n\
         \n\
         Because the deferred was already fired, it\n\
         invoked each callback as soon as it was added.\n\
         \n\
         Now we create a deferred and fire it, but\n\
         pause it first with the pause() method.\n\
         \n\
         Pausing, then firing deferred.\n\
         Adding callbacks.\n\
         Unpausing the deferred.\n\
         callback_1 got 0\n\
         callback_2 got 1\n\
         callback_3 got 2\n"
    );
}

#[test]
fn failure_examples_record_where_each_failure_was_made() {
    let made = location_in_example("failure-examples", "Failure::new(RhymeSchemeViolation)");
    let caught = location_in_example("failure-examples", "analyze_poem(poem)?");
    // The error has no message, so both forms end with ": " and nothing after it, as in Python.
    assert_eq!(
        stdout_of("failure-examples", &[]),
        format!(
            "Just making an exception:\n\
             \n\
             [Failure instance: RhymeSchemeViolation: ]\n\
             Failure: failure_examples::RhymeSchemeViolation: \n  \
             raised at {made}\n\
             \n\
             \n\
             Catching an exception:\n\
             \n\
             [Failure instance: RhymeSchemeViolation: ]\n\
             Failure: failure_examples::RhymeSchemeViolation: \n  \
             raised at {caught}\n"
        )
    );
}
