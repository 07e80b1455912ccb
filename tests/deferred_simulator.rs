//! End-to-end tests of `deferred-simulator`, the ASCII-art deferred simulator of Part 9: the input
//! language and its error lines are fed through standard input, and the drawings are compared byte
//! for byte with the measured drawings of the original (`tests/fixtures/simulator-*.txt`).

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;

use support::program;

/// Runs the simulator with `args`, feeding it `input`, and returns what it did.
fn simulate(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(program("deferred-simulator"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The input is written from a thread, so that a program printing a lot before it has read
    // everything cannot block on a full pipe. A program that stops without reading (a usage error,
    // --help) closes the pipe early: a failed write is no failure of the test, what it prints is.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// The instruction text: everything the program prints when its input ends at once.
fn instructions() -> String {
    let output = simulate(&[], b"");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// What the program prints after the instruction text, which must come first, for a successful run.
fn after_instructions(args: &[&str], input: &[u8]) -> String {
    let output = simulate(args, input);
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let instructions = instructions();
    match stdout.strip_prefix(&instructions) {
        Some(rest) => rest.to_owned(),
        None => panic!("the output does not start with the instructions:\n{stdout}"),
    }
}

/// A drawing measured from the original program.
fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The three canvases of a `--narrow` drawing, each without the empty line that follows it.
fn narrow_canvases(drawing: &str) -> Vec<Vec<&str>> {
    let canvases: Vec<Vec<&str>> = drawing
        .strip_suffix("\n\n")
        .unwrap()
        .split("\n\n")
        .map(|canvas| canvas.split('\n').collect())
        .collect();
    assert_eq!(canvases.len(), 3, "{drawing}");
    canvases
}

/// The last row of a canvas, without its padding: the value that came out of the chain.
fn final_value<'a>(canvas: &[&'a str]) -> &'a str {
    canvas.last().unwrap().trim_end()
}

#[test]
fn instructions_explain_the_input_and_end_with_an_empty_line() {
    let text = instructions();
    assert!(text.ends_with(".\n\n"), "{text}");
    for needed in [
        "CALLBACK ERRBACK",
        "return VALUE",
        "fail VALUE",
        "passthru",
        "r good f bad",
    ] {
        assert!(text.contains(needed), "{needed} is missing from\n{text}");
    }
    assert!(text.contains("Failure(Exception(value))"), "{text}");
}

#[test]
fn wide_drawing_matches_the_measured_example() {
    let drawing = after_instructions(&[], b"r good f bad\nf googly p\np r fixed\n\n");
    let expected = fixture("simulator-wide.txt");
    assert_eq!(drawing, expected);
    // The fixture itself: 32 rows of 136 columns, then one empty line.
    let rows: Vec<&str> = expected.strip_suffix("\n\n").unwrap().split('\n').collect();
    assert_eq!(rows.len(), 32);
    assert!(rows.iter().all(|row| row.len() == 136));
}

#[test]
fn narrow_drawing_matches_the_measured_example() {
    let drawing = after_instructions(&["--narrow"], b"r ok p\n\n");
    let expected = fixture("simulator-narrow.txt");
    assert_eq!(drawing, expected);
    let widths: Vec<Vec<usize>> = narrow_canvases(&expected)
        .iter()
        .map(|canvas| canvas.iter().map(|row| row.len()).collect())
        .collect();
    assert_eq!(widths, [vec![38; 9], vec![38; 18], vec![48; 18]]);
}

#[test]
fn windows_line_ends_are_accepted() {
    let drawing = after_instructions(&["--narrow"], b"r ok p\r\n\r\n");
    assert_eq!(drawing, fixture("simulator-narrow.txt"));
}

#[test]
fn commands_are_case_blind_prefixes() {
    let full = after_instructions(
        &[],
        b"return good fail bad\nfail googly passthru\npassthru return fixed\n\n",
    );
    let short = after_instructions(&[], b"ret good F bad\nFA googly pa\nPASS RETURN fixed\n\n");
    assert_eq!(short, full);
    assert_eq!(full, fixture("simulator-wide.txt"));
}

#[test]
fn an_errback_that_returns_recovers() {
    let drawing = after_instructions(&["--narrow"], b"p r fixed\n\n");
    let canvases = narrow_canvases(&drawing);
    // Fired with a failure, the errback runs and its result comes out on the callback line.
    let by_errback = &canvases[2];
    assert!(by_errback.contains(&"                    |    initial*    |          "));
    assert!(by_errback.contains(&"                    |     fixed      |          "));
    assert!(by_errback.contains(&"        |-------------------|                   "));
    assert_eq!(final_value(by_errback), "      fixed");
    // Fired with a result, the callback passes it on untouched.
    assert_eq!(final_value(&canvases[1]), "     initial");
}

#[test]
fn a_failure_passes_through_to_the_end() {
    let drawing = after_instructions(&["--narrow"], b"f boom p\np p\n\n");
    let canvases = narrow_canvases(&drawing);
    for (canvas, failure) in [(&canvases[1], "boom*"), (&canvases[2], "initial*")] {
        // A failure is written centred over the errback line, which makes the canvas 48 wide.
        assert_eq!(canvas.last().unwrap().len(), 48);
        assert_eq!(final_value(canvas).trim_start(), failure);
        let boxes = canvas
            .iter()
            .filter(|row| row.starts_with("                    |"))
            .count();
        assert!(
            boxes >= 3,
            "the failure should end on the errback line:\n{canvas:#?}"
        );
    }
}

#[test]
fn each_bad_line_gets_its_error_and_reading_goes_on() {
    let input = b"x p\nrt a p\nr\nr 1234567 p\nr ok p extra\nr ok\n   \nr ok p\n\n";
    let rest = after_instructions(&["--narrow"], input);
    let errors = [
        "ERROR: bad command: x",
        "ERROR: bad command: rt",
        "ERROR: missing argument",
        "ERROR: ('result more than 6 chars long', '1234567')",
        "ERROR: extra arguments",
        "ERROR: missing command",
        "ERROR: missing command",
    ];
    let expected = errors.join("\n") + "\n" + &fixture("simulator-narrow.txt");
    assert_eq!(rest, expected);
}

#[test]
fn bad_commands_are_reported_in_lower_case() {
    let rest = after_instructions(&[], b"Bogus p\n");
    assert_eq!(rest, "ERROR: bad command: bogus\n");
}

#[test]
fn an_empty_chain_is_refused() {
    let rest = after_instructions(&["--narrow"], b"\n\nr ok p\n\n");
    let expected =
        "You must enter at least one pair.\n".repeat(2) + &fixture("simulator-narrow.txt");
    assert_eq!(rest, expected);
}

#[test]
fn end_of_input_draws_nothing() {
    for input in [&b""[..], b"r ok p\n", b"r ok p", b"\nx\n", b"r ok p\nr\n"] {
        let rest = after_instructions(&[], input);
        assert!(!rest.contains("Deferred"), "{rest}");
        assert!(
            rest.lines()
                .all(|line| line.starts_with("ERROR: ") || line.starts_with("You must")),
            "{rest}"
        );
    }
    assert_eq!(after_instructions(&[], b"r ok p"), "");
}

#[test]
fn long_lines_and_odd_bytes_only_produce_error_lines() {
    let mut long = b"r ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 200_000));
    long.extend_from_slice(b" p\n");
    long.extend_from_slice(b"\xff\xfe p\nr \xe9t\xe9 p\n");
    let rest = after_instructions(&[], &long);
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 2, "{rest:.300}");
    let too_long = format!(
        "ERROR: ('result more than 6 chars long', '{}')",
        "a".repeat(200_000)
    );
    assert_eq!(lines[0], too_long);
    assert_eq!(lines[1], "ERROR: bad command: \u{fffd}\u{fffd}");
}

#[test]
fn a_positional_argument_is_a_usage_error() {
    let output = simulate(&["extra"], b"r ok p\n\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unexpected argument 'extra'"), "{stderr}");
}

#[test]
fn help_names_the_tutorial_part() {
    let output = simulate(&["--help"], b"");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("Part 9"), "{help}");
    assert!(help.contains("--narrow"), "{help}");
    assert!(help.contains("| deferred-simulator"), "{help}");
}
