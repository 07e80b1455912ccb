//! The Part 3 (and Part 16 `log`) examples, run as the student runs them, with their output checked
//! line by line.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;
use support::{example, run, text};

/// Starts an example that runs until it is stopped, and waits until its reactor is running, which
/// is when it has installed its SIGTERM handler (before that, SIGTERM would simply kill it).
fn spawn(name: &str) -> Child {
    let mut child = Command::new(example(name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    const SIGTERM_BIT: u64 = 1 << (15 - 1);
    for _ in 0..500 {
        let caught = std::fs::read_to_string(&status)
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & SIGTERM_BIT != 0 {
            return child;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{name} never installed its SIGTERM handler");
}

/// Sends SIGTERM, as `kill PID` does, and waits for the program to end.
fn terminate(mut child: Child) -> (Option<i32>, String, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, out, err)
}

#[test]
fn simple_runs_until_sigterm_then_exits_cleanly() {
    let child = spawn("simple");
    let (code, out, err) = terminate(child);
    assert_eq!(code, Some(0));
    assert_eq!(out, "");
    assert_eq!(err, "");
}

#[test]
fn hello_is_called_back_once_the_loop_runs() {
    let mut child = spawn("hello");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert_eq!(
        lines.concat(),
        "Starting the reactor.\nHello from the reactor loop!\nLately I feel like I'm stuck in a rut.\n"
    );
    child.stdout = Some(stdout.into_inner());
    let (code, rest, _) = terminate(child);
    assert_eq!(code, Some(0));
    assert_eq!(rest, "");
}

#[test]
fn stack_shows_the_callback_called_from_reactor_run() {
    let mut child = spawn("stack");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "The Rust stack:\n");
    // The reactor stops after the callback has written the whole backtrace.
    child.stdout = Some(stdout.into_inner());
    let (code, _, backtrace) = terminate(child);
    assert_eq!(code, Some(0));
    let callback = backtrace.find("stack::stack").expect(&backtrace);
    let run = backtrace
        .find("common::reactor::Reactor::run")
        .expect(&backtrace);
    let main = backtrace.find("stack::main").expect(&backtrace);
    // Innermost first: our callback, then the reactor's loop, then main; in a release build too
    // (`cargo test --release`), where `Reactor::run` would be inlined into main but for its
    // `#[inline(never)]`.
    assert!(callback < run && run < main, "{backtrace}");
}

#[test]
fn exception_is_reported_and_the_next_callback_still_runs() {
    let output = run("exception", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "Starting the reactor.\nBut I get up again.\n"
    );
    let err = text(&output.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "Unhandled error while calling a startup callback: I fall down. (panicked at "
        ),
        "{err}"
    );
}

#[test]
fn countdown_counts_then_stops() {
    let output = run("countdown", &["--interval", "20ms"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "Start!\n5 ...\n4 ...\n3 ...\n2 ...\n1 ...\nStop!\n"
    );
}

#[test]
fn countdown_with_three_counters_stops_after_the_last() {
    let output = run("countdown", &["--counters", "--interval", "50ms"]);
    assert_eq!(output.status.code(), Some(0));
    let out = text(&output.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 17, "{out}");
    assert_eq!(lines[0], "Start!");
    assert_eq!(lines[16], "Stop!");
    for name in ["A", "B", "C"] {
        let counts: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.strip_prefix(&format!("{name}: ")))
            .collect();
        assert_eq!(
            counts,
            ["5 ...", "4 ...", "3 ...", "2 ...", "1 ..."],
            "{out}"
        );
    }
    // The fastest counter, C, finishes long before the slowest, A.
    let position = |line: &str| lines.iter().position(|l| *l == line).unwrap();
    assert!(position("C: 1 ...") < position("A: 3 ..."), "{out}");
}

#[test]
fn log_drops_entries_until_started_and_then_logs_errors() {
    let output = run("log", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stderr), "");
    let out = text(&output.stdout);
    let entries: Vec<&str> = out
        .lines()
        .map(|line| match line.strip_prefix('\t') {
            Some(_) => line,
            None => {
                let stamp = &line[..25];
                assert!(stamp.ends_with("+0000 "), "{line}");
                &line[25..]
            }
        })
        .collect();
    assert_eq!(entries.len(), 14, "{out}");
    assert_eq!(
        entries[..11],
        [
            "[-] Log opened.",
            "[-] This will be logged.",
            "[-] Unhandled Error",
            "\tThis will be logged as an error.",
            "\t",
            "[-] The next function call will log the error it returns.",
            "[-] Unhandled Error",
            "\tcannot use the result \"poem\"",
            "\t",
            "[-] The reactor will log the panic of the next callback.",
            "[-] Unhandled Error",
        ]
    );
    assert!(
        entries[11].starts_with(
            "\twhile calling a startup callback: a callback fell over (panicked at common/examples/log.rs:"
        ),
        "{out}"
    );
    assert_eq!(entries[12..], ["\t", "[-] End of example."]);
}

#[test]
fn every_example_without_options_has_help_and_refuses_arguments() {
    for name in [
        "hello",
        "simple",
        "stack",
        "defer-1",
        "gen-1",
        "deferred-list-1",
    ] {
        let help = run(name, &["--help"]);
        assert_eq!(help.status.code(), Some(0), "{name}");
        let out = text(&help.stdout);
        assert!(out.contains("tutorial Part"), "{name}: {out}");
        assert!(out.contains(&format!("Usage: {name}\n")), "{name}: {out}");
        let refused = run(name, &["--bogus"]);
        assert_eq!(refused.status.code(), Some(2), "{name}");
        assert!(refused.stdout.is_empty(), "{name}");
        assert_eq!(
            text(&refused.stderr).lines().next(),
            Some("error: unexpected argument '--bogus' found"),
            "{name}"
        );
    }
}

#[test]
fn countdown_runs_faster_with_the_time_scale() {
    let output = run("countdown", &["--time-scale", "0.02"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "Start!\n5 ...\n4 ...\n3 ...\n2 ...\n1 ...\nStop!\n"
    );
    let both = run("countdown", &["--time-scale", "0.02", "--interval", "20ms"]);
    assert_eq!(both.status.code(), Some(2));
}
