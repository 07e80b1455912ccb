//! The Part 17 examples (generators, `async`/`.await` as `inlineCallbacks`) and the Part 18 examples
//! (`DeferredList`, and `DeferredSemaphore` one step beyond), run as the student runs them, with their
//! output checked line by line.

mod support;

use support::run;

/// Runs an example and checks that it prints exactly `lines` on stdout, nothing on stderr, and
/// ends with status 0.
fn assert_prints(name: &str, args: &[&str], lines: &[&str]) {
    let output = run(name, args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected: String = lines.iter().map(|line| format!("{line}\n")).collect();
    assert_eq!(stdout, expected, "stdout of {name}; stderr: {stderr}");
    assert_eq!(stderr, "", "stderr of {name}");
    assert_eq!(output.status.code(), Some(0), "exit status of {name}");
}

const GEN_1_AND_2: [&str; 7] = [
    "starting up",
    "1",
    "workin'",
    "2",
    "still workin'",
    "3",
    "done",
];

#[test]
fn gen_1_takes_turns_with_the_for_loop() {
    assert_prints("gen-1", &[], &GEN_1_AND_2);
}

#[test]
fn gen_2_driven_by_hand_prints_the_same() {
    assert_prints("gen-2", &[], &GEN_1_AND_2);
}

#[test]
fn gen_3_interleaves_two_generators_round_robin() {
    assert_prints("gen-3", &[], &["1", "10", "2", "20", "3", "30", "40"]);
}

#[test]
fn gen_4_sends_values_and_throws_an_exception_in() {
    assert_prints(
        "gen-4",
        &[],
        &[
            "starting up",
            "1",
            "got: 10",
            "2",
            "got: 20",
            "3",
            "malfunction!",
            "4",
            "done",
        ],
    );
}

#[test]
fn inline_callbacks_1_awaits_values_deferreds_and_a_failure() {
    assert_prints(
        "inline-callbacks-1",
        &["--time-scale", "0.01"],
        &[
            "first callback",
            "second callback got 1",
            "third callback got 2",
            "fourth callback got Exception(3)",
        ],
    );
}

#[test]
fn a_time_scale_that_is_not_a_sensible_factor_is_refused() {
    for bad in ["-1", "fast", "NaN", "1e9"] {
        let output = run("inline-callbacks-1", &["--time-scale", bad]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "--time-scale {bad}: {stderr}"
        );
        assert!(
            stderr.contains("--time-scale"),
            "--time-scale {bad}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "--time-scale {bad}: {stderr}");
        assert!(output.stdout.is_empty(), "--time-scale {bad}");
    }
}

#[test]
fn inline_callbacks_2_gives_a_result_and_a_failure_in_time_order() {
    // Waits of 0.1 and 0.15 s: the two blocks' steps are 50 ms apart at the closest.
    assert_prints(
        "inline-callbacks-2",
        &["--time-scale", "0.05"],
        &[
            "my_callbacks_1 first callback",
            "my_callbacks_err first callback",
            "my_callbacks_1 second callback",
            "my_callbacks_err second callback",
            "my_callbacks_1 third callback",
            "got result: 1",
            "my_callbacks_err third callback",
            "got error: [Failure instance: Exception: uh oh]",
            "all done",
        ],
    );
}

#[test]
fn inline_callbacks_tb_shows_the_reactor_below_the_async_block() {
    let output = run("inline-callbacks-tb", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The frames' names, innermost first: `  12: common::reactor::Reactor::run`.
    let frames: Vec<&str> = stderr
        .lines()
        .filter_map(|line| {
            let (number, name) = line.trim_start().split_once(": ")?;
            number.parse::<usize>().ok().map(|_| name.trim())
        })
        .collect();
    let position = |wanted: &dyn Fn(&str) -> bool, what: &str| {
        frames
            .iter()
            .position(|frame| wanted(frame))
            .unwrap_or_else(|| panic!("no frame of {what} in:\n{stderr}"))
    };
    let block = position(
        &|frame| frame.starts_with("inline_callbacks_tb::my_callbacks::{{closure}}"),
        "the async block",
    );
    let run = position(
        &|frame| frame == "common::reactor::Reactor::run",
        "Reactor::run",
    );
    let main = position(&|frame| frame == "inline_callbacks_tb::main", "main");
    assert_eq!(
        block, 0,
        "the async block is the innermost frame:\n{stderr}"
    );
    assert!(block < run && run < main, "frame order:\n{stderr}");
}

#[test]
fn deferred_list_1_of_nothing_fires_at_once() {
    assert_prints(
        "deferred-list-1",
        &[],
        &["Empty List.", "Adding Callback.", "We got: []"],
    );
}

#[test]
fn deferred_list_2_fires_when_its_deferred_does() {
    assert_prints(
        "deferred-list-2",
        &[],
        &[
            "One Deferred.",
            "Adding Callback.",
            "Firing d1.",
            "We got: [(True, 'd1 result')]",
        ],
    );
}

#[test]
fn deferred_list_3_waits_for_both() {
    assert_prints(
        "deferred-list-3",
        &[],
        &[
            "Two Deferreds.",
            "Adding Callback.",
            "Firing d1.",
            "Firing d2.",
            "We got: [(True, 'd1 result'), (True, 'd2 result')]",
        ],
    );
}

#[test]
fn deferred_list_4_keeps_list_order_not_firing_order() {
    assert_prints(
        "deferred-list-4",
        &[],
        &[
            "Two Deferreds.",
            "Adding Callback.",
            "Firing d2.",
            "Firing d1.",
            "We got: [(True, 'd1 result'), (True, 'd2 result')]",
        ],
    );
}

const WITH_A_FAILURE: [&str; 3] = [
    "Firing d1.",
    "Firing d2 with errback.",
    "We got: [(True, 'd1 result'), (False, <Failure Exception: d2 failure>)]",
];

#[test]
fn deferred_list_5_consumes_the_members_failure() {
    assert_prints("deferred-list-5", &[], &WITH_A_FAILURE);
}

#[test]
fn deferred_list_6_leaves_the_failure_in_the_member_which_reports_it() {
    let output = run("deferred-list-6", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected: String = WITH_A_FAILURE
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(stdout, expected);
    let report = "Unhandled error in Deferred:\n\
                  Failure: common::defer::failure::Exception: d2 failure\n  \
                  raised at ";
    assert!(stderr.starts_with(report), "stderr: {stderr}");
    let place = stderr[report.len()..].trim_end();
    assert!(
        place.starts_with("common/examples/deferred-list-6.rs:"),
        "stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 3, "one report only: {stderr}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn deferred_list_7_handles_the_failure_with_its_own_errback() {
    assert_prints("deferred-list-7", &[], &WITH_A_FAILURE);
}

#[test]
fn deferred_semaphore_never_runs_more_than_the_limit_at_once() {
    assert_prints(
        "deferred-semaphore",
        &["--jobs", "5", "--limit", "2", "--delay", "20ms"],
        &[
            "Job 1 started (1 running).",
            "Job 2 started (2 running).",
            "Job 1 finished.",
            "Job 3 started (2 running).",
            "Job 2 finished.",
            "Job 4 started (2 running).",
            "Job 3 finished.",
            "Job 5 started (2 running).",
            "Job 4 finished.",
            "Job 5 finished.",
            "All 5 jobs done, at most 2 at a time.",
        ],
    );
}

#[test]
fn deferred_semaphore_with_a_limit_of_one_runs_the_jobs_one_by_one() {
    assert_prints(
        "deferred-semaphore",
        &["--jobs", "3", "--limit", "1", "--delay", "10ms"],
        &[
            "Job 1 started (1 running).",
            "Job 1 finished.",
            "Job 2 started (1 running).",
            "Job 2 finished.",
            "Job 3 started (1 running).",
            "Job 3 finished.",
            "All 3 jobs done, at most 1 at a time.",
        ],
    );
}

#[test]
fn deferred_semaphore_refuses_a_limit_of_zero_as_a_usage_error() {
    let output = run("deferred-semaphore", &["--limit", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid value '0' for '--limit <LIMIT>'"),
        "{stderr}"
    );
}
