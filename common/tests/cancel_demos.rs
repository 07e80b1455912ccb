//! The Part 19 cancellation demos (`defer-cancel-1` to `defer-cancel-12`), run as the student runs
//! them, with their output checked line by line against the originals'.

mod support;

use std::process::{Command, Stdio};
use support::{example, run, text};

/// Runs a demo and checks that it succeeds silently on stderr; gives its stdout.
fn stdout_of(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    assert_eq!(text(&output.stderr), "", "{name} wrote on stderr");
    assert_eq!(output.status.code(), Some(0), "{name} failed");
    text(&output.stdout)
}

/// Our Failure's one-line Display of a `CancelledError`.
const CANCELLED: &str = "[Failure instance: CancelledError: the Deferred was cancelled]";

/// Checks the one line whose text varies from run to run, the canceller's report of the Deferred:
/// `I need to cancel this deferred: <Deferred at 0x55d0c2a4e2b0>`.
fn assert_deferred_line(line: &str) {
    let address = line
        .strip_prefix("I need to cancel this deferred: <Deferred at 0x")
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("not a canceller line: {line:?}"));
    assert!(
        !address.is_empty() && address.chars().all(|c| c.is_ascii_hexdigit()),
        "not an address: {line:?}"
    );
}

/// Splits the output of a demo whose first line is the canceller's report: that line is checked by
/// shape, the rest is returned for an exact comparison.
fn after_deferred_line(out: &str) -> &str {
    let (first, rest) = out.split_once('\n').unwrap();
    assert_deferred_line(first);
    rest
}

#[test]
fn cancel_1_fails_an_unfired_deferred_and_the_failure_is_reported_when_it_goes() {
    // stdout and stderr into one pipe, to check that the report comes after `done`, when the
    // Deferred is dropped.
    let output = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" 2>&1")
        .arg(example("defer-cancel-1"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let both = text(&output.stdout);
    let lines: Vec<&str> = both.lines().collect();
    assert_eq!(lines.len(), 4, "{both}");
    assert_eq!(
        lines[..3],
        [
            "done",
            "Unhandled error in Deferred:",
            "Failure: common::defer::errors::CancelledError: the Deferred was cancelled",
        ]
    );
    assert!(lines[3].starts_with("  raised at "), "{both}");
    assert!(!both.contains("callback got"), "{both}");
}

#[test]
fn cancel_2_an_errback_catches_the_cancellation() {
    assert_eq!(
        stdout_of("defer-cancel-2", &[]),
        format!("errback got: {CANCELLED}\ndone\n")
    );
}

#[test]
fn cancel_3_cancelling_after_firing_changes_nothing() {
    assert_eq!(
        stdout_of("defer-cancel-3", &[]),
        "callback got: result\ndone\n"
    );
}

#[test]
fn cancel_4_a_result_after_cancelling_is_ignored() {
    assert_eq!(
        stdout_of("defer-cancel-4", &[]),
        format!("errback got: {CANCELLED}\ndone\n")
    );
}

#[test]
fn cancel_5_the_canceller_runs_before_the_errback() {
    let out = stdout_of("defer-cancel-5", &[]);
    assert_eq!(
        after_deferred_line(&out),
        format!("errback got: {CANCELLED}\ndone\n")
    );
}

#[test]
fn cancel_6_the_canceller_may_fire_with_a_result() {
    let out = stdout_of("defer-cancel-6", &[]);
    assert_eq!(
        after_deferred_line(&out),
        "Firing the deferred with a result\ncallback got: result\ndone\n"
    );
}

#[test]
fn cancel_7_the_canceller_may_fire_with_its_own_error() {
    let out = stdout_of("defer-cancel-7", &[]);
    assert_eq!(
        after_deferred_line(&out),
        "Firing the deferred with an error\n\
         errback got: [Failure instance: Exception: error!]\n\
         done\n"
    );
}

#[test]
fn cancel_8_cancelling_a_fired_deferred_does_not_call_the_canceller() {
    assert_eq!(
        stdout_of("defer-cancel-8", &[]),
        "callback got: result\ndone\n"
    );
}

#[test]
fn cancel_12_cancelling_a_paused_outer_deferred_cancels_the_inner_one() {
    assert_eq!(
        stdout_of("defer-cancel-12", &[]),
        format!(
            "first outer callback, returning inner deferred\n\
             canceling outer deferred.\n\
             inner cancel callback.\n\
             outer errback got: {CANCELLED}\n\
             done\n"
        )
    );
}

/// The timed demos at a hundredth of their speed: poem at 50 ms, cancel at 20 ms, stop at 100 ms.
const FAST: [&str; 2] = ["--time-scale", "0.01"];

#[test]
fn cancel_9_the_poem_arrives_after_its_delay() {
    assert_eq!(
        stdout_of("defer-cancel-9", &FAST),
        "Sending poem\nI got a poem: Once upon a midnight dreary\n"
    );
}

#[test]
fn cancel_10_without_a_canceller_the_poem_is_still_sent_but_ignored() {
    let out = stdout_of("defer-cancel-10", &FAST);
    assert_eq!(out, format!("get_poem failed: {CANCELLED}\nSending poem\n"));
    assert!(!out.contains("I got a poem"));
}

#[test]
fn cancel_11_the_canceller_stops_the_poem_for_good() {
    let out = stdout_of("defer-cancel-11", &FAST);
    assert_eq!(out, format!("get_poem failed: {CANCELLED}\n"));
    assert!(!out.contains("Sending poem"));
}

#[test]
fn timed_demos_refuse_a_time_scale_that_is_not_a_positive_number() {
    for name in ["defer-cancel-9", "defer-cancel-10", "defer-cancel-11"] {
        for bad in ["0", "-1", "nan", "fast"] {
            let output = run(name, &[&format!("--time-scale={bad}")]);
            assert_eq!(output.status.code(), Some(2), "{name} --time-scale {bad}");
            assert_eq!(text(&output.stdout), "");
            assert!(
                text(&output.stderr).contains("expected a positive number"),
                "{name} --time-scale {bad}"
            );
        }
    }
}
