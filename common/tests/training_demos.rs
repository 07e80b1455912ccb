//! The EuroPython 2011 training's demos without a network (`errback`, `errback-wrong`, `future`,
//! `future2`), run as the student runs them, but with `--time-scale` so that their seconds pass
//! quickly, and their output checked line by line.

mod support;

use std::time::{Duration, Instant};
use support::{run, text};

/// Every delay a twentieth of the original: the longest demo (6 s) takes 0.3 s.
const SCALE: f64 = 0.05;

/// Runs a demo at `SCALE`, checks that it succeeds, and gives its stdout and stderr. Also checks
/// that it took at least its scaled length (a timed call never runs early).
fn run_demo(name: &str, extra: &[&str], length_in_seconds: f64) -> (String, String) {
    let scale = SCALE.to_string();
    let mut args = vec!["--time-scale", scale.as_str()];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let output = run(name, &args);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{name} failed");
    assert!(
        took >= Duration::from_secs_f64(length_in_seconds * SCALE),
        "{name} ended after {took:?}"
    );
    (text(&output.stdout), text(&output.stderr))
}

#[test]
fn errback_runs_the_callback_of_one_and_the_errback_of_the_other() {
    let (out, err) = run_demo("errback", &[], 3.0);
    assert_eq!(out, "SUCCESS NEAT\nERROR BUMMER\n");
    assert_eq!(err, "");
}

#[test]
fn errback_wrong_refuses_the_second_firing_in_one_line() {
    let (out, err) = run_demo("errback-wrong", &[], 3.0);
    assert_eq!(out, "SUCCESS NEAT\n");
    assert_eq!(
        err,
        "Unhandled error while calling a timed call: AlreadyCalledError\n"
    );
}

#[test]
fn errback_wrong_in_debug_mode_says_where_the_deferred_was_fired() {
    let (out, err) = run_demo("errback-wrong", &["--debug"], 3.0);
    assert_eq!(out, "SUCCESS NEAT\n");
    assert_eq!(err.lines().count(), 1, "{err}");
    let detail = err
        .strip_prefix("Unhandled error while calling a timed call: AlreadyCalledError: made at ")
        .unwrap_or_else(|| panic!("{err}"));
    let (made, fired) = detail.trim_end().split_once(", first fired at ").unwrap();
    for place in [made, fired] {
        assert!(
            place.starts_with("common/examples/errback-wrong.rs:"),
            "{err}"
        );
    }
}

#[test]
fn future_says_hi_then_stops() {
    let (out, err) = run_demo("future", &[], 6.0);
    assert_eq!(out, "HI\n");
    assert_eq!(err, "");
}

#[test]
fn future2_cancels_the_hi_before_it_is_due() {
    let (out, err) = run_demo("future2", &[], 6.0);
    assert_eq!(out, "CANCELLING\n");
    assert_eq!(err, "");
}

const DEMOS: [&str; 4] = ["errback", "errback-wrong", "future", "future2"];

#[test]
fn the_time_scale_must_be_a_positive_number() {
    for name in DEMOS {
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

#[test]
fn every_demo_explains_itself() {
    for name in DEMOS {
        let output = run(name, &["--help"]);
        assert_eq!(output.status.code(), Some(0), "{name}");
        let help = text(&output.stdout);
        assert!(help.contains("EuroPython 2011 training"), "{name}: {help}");
        assert!(help.contains("--time-scale"), "{name}: {help}");
    }
}
