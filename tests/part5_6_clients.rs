//! End-to-end tests of the clients of Parts 5 and 6: `get-poetry-2` (2.0), `get-poetry-2-simple`
//! (2.1), `get-poetry-2-stack`, `get-poetry-3` (3.0) and `get-poetry-3-1` (3.1), each run against
//! real servers on free ports.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::{Server, closed_port, is_clock, lines, poem, poem_path, program, run};

const CLIENTS: [&str; 5] = [
    "get-poetry-2",
    "get-poetry-2-simple",
    "get-poetry-2-stack",
    "get-poetry-3",
    "get-poetry-3-1",
];

/// How Twisted prints the address of a server on this machine.
fn address(port: u16) -> String {
    format!("IPv4Address(type='TCP', host='127.0.0.1', port={port})")
}

/// The line on stderr of client 2.0, 2.1 or 2-stack for a connection to this machine's `port`
/// refused.
fn refused(client: &str, port: u16) -> String {
    format!("{client}: failed to connect to 127.0.0.1:{port}: Connection refused")
}

/// A Fast Poetry server (the whole poem at once) for a poem of `poetry/`.
fn fast(poem_name: &str) -> Server {
    Server::start("fastpoetry", &[poem_path(poem_name).to_str().unwrap()])
}

/// What the clients that print poems print for these poems, in this order: each poem, then an
/// empty line.
fn printed(poem_names: &[&str]) -> Vec<u8> {
    let mut text = Vec::new();
    for name in poem_names {
        text.extend(poem(name));
        text.push(b'\n');
    }
    text
}

/// Runs a client with `--save-dir` pointing at a fresh temporary directory.
fn run_saving(client: &str, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend_from_slice(&["--save-dir", dir.path().to_str().unwrap()]);
    (run(client, &all), dir)
}

fn saved(dir: &Path, n: usize) -> Vec<u8> {
    fs::read(dir.join(format!("poem-{n}.txt"))).unwrap()
}

/// Splits `line` at the last " in " and checks that what follows is a tutorial-style duration.
fn strip_clock(line: &str) -> &str {
    let (head, time) = line.rsplit_once(" in ").unwrap();
    assert!(is_clock(time), "{line}");
    head
}

/// A client running in the background; killed when dropped, so that a failed test leaves nothing
/// behind.
struct Running(Child);

impl Running {
    fn start(client: &str, args: &[&str]) -> Running {
        let child = Command::new(program(client))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running(child)
    }

    fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// Waits for the program to end (five seconds at most) and returns its status and output.
    fn finish(mut self) -> (ExitStatus, Vec<u8>, Vec<u8>) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "still running");
            sleep(Duration::from_millis(10));
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        self.0.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        self.0.stderr.take().unwrap().read_to_end(&mut err).unwrap();
        (status, out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (five seconds at most) until `path` holds exactly `expected`.
fn wait_for_file(path: &Path, expected: &[u8]) {
    let started = Instant::now();
    while fs::read(path).ok().as_deref() != Some(expected) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} never became complete",
            path.display()
        );
        sleep(Duration::from_millis(10));
    }
}

/// The task number and byte count of a progress line of client 2.0, checked against the ports it
/// may come from.
fn progress(line: &str) -> Option<(usize, usize, u16)> {
    let rest = line.strip_prefix("Task ")?;
    let (task, rest) = rest.split_once(": got ")?;
    let (bytes, from) = rest.split_once(" bytes of poetry from ")?;
    let port = from
        .strip_prefix("IPv4Address(type='TCP', host='127.0.0.1', port=")?
        .strip_suffix(')')?;
    Some((task.parse().ok()?, bytes.parse().ok()?, port.parse().ok()?))
}

#[test]
fn client_2_numbers_tasks_as_connections_succeed_and_reports_poems_as_they_end() {
    let ecstasy = Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", "5ms"]);
    let alla_sera = Server::slow("alla_sera.txt", &["--delay", "5ms"]);
    let science = fast("science.txt");
    let dead = closed_port();
    let poems: HashMap<u16, &str> = [
        (ecstasy.port, "ecstasy.txt"),
        (alla_sera.port, "alla_sera.txt"),
        (science.port, "science.txt"),
    ]
    .into();
    // The dead address comes second: numbered by position, the others would be 1, 3 and 4.
    let args = [
        ecstasy.arg(),
        dead.to_string(),
        alla_sera.arg(),
        science.arg(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (output, dir) = run_saving("get-poetry-2", &args);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stderr), [refused("get-poetry-2", dead)]);

    let out = lines(&output.stdout);
    let (body, summary) = out.split_at(out.len() - 4);
    let mut port_of_task = HashMap::new();
    let mut received: HashMap<usize, usize> = HashMap::new();
    let mut failures = 0;
    for line in body {
        if *line == format!("Failed to connect to: {}", address(dead)) {
            failures += 1;
            continue;
        }
        let (task, bytes, port) =
            progress(line).unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert_eq!(*port_of_task.entry(task).or_insert(port), port, "{line}");
        *received.entry(task).or_default() += bytes;
    }
    assert_eq!(failures, 1);
    let mut tasks: Vec<usize> = port_of_task.keys().copied().collect();
    tasks.sort_unstable();
    assert_eq!(
        tasks,
        [1, 2, 3],
        "tasks are numbered 1 to 3, the dead address gets none"
    );
    let mut ports: Vec<u16> = port_of_task.values().copied().collect();
    ports.sort_unstable();
    let mut live: Vec<u16> = poems.keys().copied().collect();
    live.sort_unstable();
    assert_eq!(ports, live);

    for (task, port) in &port_of_task {
        let poem_name = poems[port];
        assert_eq!(received[task], poem(poem_name).len(), "{poem_name}");
        assert!(saved(dir.path(), *task) == poem(poem_name), "{poem_name}");
    }
    // The summary follows the order in which the poems ended: the fast server's first.
    let science_task = port_of_task
        .iter()
        .find(|(_, port)| **port == science.port)
        .map(|(task, _)| *task)
        .unwrap();
    assert_eq!(
        summary[0],
        format!("Task {science_task}: 650 bytes of poetry")
    );
    let mut reported: Vec<String> = summary[..3].to_vec();
    reported.sort();
    let mut expected: Vec<String> = port_of_task
        .iter()
        .map(|(task, port)| format!("Task {task}: {} bytes of poetry", poem(poems[port]).len()))
        .collect();
    expected.sort();
    assert_eq!(reported, expected);
    assert_eq!(strip_clock(&summary[3]), "Got 3 poems");
}

#[test]
fn client_2_prints_a_poem_received_in_time_and_exits_0() {
    let server = Server::slow("science.txt", &["--delay", "2ms"]);
    let output = run(
        "get-poetry-2",
        &[&server.arg(), "--timeout", "5", "--print"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let poem_text = String::from_utf8(poem("science.txt")).unwrap();
    assert!(text.contains("\nTask 1: 650 bytes of poetry\nGot 1 poems in "));
    assert!(
        text.ends_with(&format!("--- Task 1 ---\n{poem_text}")),
        "{text}"
    );
}

#[test]
fn client_2_times_out_a_late_poem() {
    // The first chunk goes at once, the next one ten seconds later.
    let server = Server::slow("science.txt", &["--delay", "10"]);
    let output = run("get-poetry-2", &[&server.arg(), "--timeout", "200ms"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stderr), ["Task 1: timed out after 200ms"]);
    let out = lines(&output.stdout);
    assert_eq!(
        out[0],
        format!(
            "Task 1: got 10 bytes of poetry from {}",
            address(server.port)
        )
    );
    assert_eq!(strip_clock(out.last().unwrap()), "Got 0 poems");
}

#[test]
fn client_2_1_prints_the_poems_in_the_order_they_end() {
    let science = Server::slow("science.txt", &["--delay", "5ms"]);
    let alla_sera = fast("alla_sera.txt");
    let (output, dir) = run_saving("get-poetry-2-simple", &[&science.arg(), &alla_sera.arg()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
    assert!(output.stdout == printed(&["alla_sera.txt", "science.txt"]));
    assert!(saved(dir.path(), 1) == poem("alla_sera.txt"));
    assert!(saved(dir.path(), 2) == poem("science.txt"));
}

#[test]
fn client_2_1_reports_failures_and_prints_the_other_poems() {
    let alla_sera = fast("alla_sera.txt");
    let late = Server::slow("science.txt", &["--delay", "10"]);
    let dead = closed_port();
    let output = run(
        "get-poetry-2-simple",
        &[
            &dead.to_string(),
            &late.arg(),
            &alla_sera.arg(),
            "--timeout",
            "200ms",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [
            refused("get-poetry-2-simple", dead),
            format!("Poem from {} timed out after 200ms", address(late.port))
        ]
    );
    let mut expected = format!("Failed to connect to: {}\n", address(dead)).into_bytes();
    expected.extend(printed(&["alla_sera.txt"]));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn client_2_stack_shows_the_reactor_calling_data_received() {
    let server = fast("science.txt");
    let output = run("get-poetry-2-stack", &[&server.arg()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output.stdout), ["The Rust stack:"]);
    let stack = String::from_utf8(output.stderr).unwrap();
    // A backtrace lists the innermost call first: our callback, the reactor's stream code that read
    // the socket, the reactor's loop, main.
    let at = |frame: &str| {
        stack
            .find(frame)
            .unwrap_or_else(|| panic!("no {frame} in the stack:\n{stack}"))
    };
    let callback = at("as common::protocol::Protocol>::data_received");
    let tcp = at("common::reactor::stream::");
    let run_loop = at("common::reactor::Reactor::run");
    let main = at("get_poetry_2_stack::main");
    assert!(
        callback < tcp && tcp < run_loop && run_loop < main,
        "{stack}"
    );
}

#[test]
fn client_2_stack_without_data_reaches_its_summary() {
    let dead = closed_port();
    let output = run("get-poetry-2-stack", &[&dead.to_string()]);
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output.stdout);
    assert_eq!(out[0], format!("Failed to connect to: {}", address(dead)));
    assert_eq!(strip_clock(&out[1]), "Got 0 poems");
    assert_eq!(out.len(), 2);
}

#[test]
fn clients_2_say_why_a_connection_failed() {
    let dead = closed_port();
    for client in ["get-poetry-2", "get-poetry-2-simple", "get-poetry-2-stack"] {
        // A name that does not resolve (no name under .invalid ever does): the tutorial's line on
        // stdout, as it was, and the reason on stderr.
        let output = run(client, &["nosuch.invalid:10000"]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stdout)[0],
            "Failed to connect to: IPv4Address(type='TCP', host='nosuch.invalid', port=10000)"
        );
        let err = lines(&output.stderr);
        assert_eq!(err.len(), 1, "{client}: {err:?}");
        let reason = err[0]
            .strip_prefix(&format!(
                "{client}: failed to connect to nosuch.invalid:10000: "
            ))
            .unwrap_or_else(|| panic!("{client}: {err:?}"));
        // The resolver's own words, which differ between systems; never a refusal.
        assert!(
            !reason.is_empty() && !reason.contains("refused"),
            "{reason}"
        );
        // A port where nothing listens.
        let output = run(client, &[&dead.to_string()]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stdout)[0],
            format!("Failed to connect to: {}", address(dead))
        );
        assert_eq!(lines(&output.stderr), [refused(client, dead)]);
    }
}

#[test]
fn client_3_prints_every_poem_once_all_have_arrived() {
    let science = Server::slow("science.txt", &["--delay", "5ms"]);
    let alla_sera = fast("alla_sera.txt");
    let (output, dir) = run_saving("get-poetry-3", &[&science.arg(), &alla_sera.arg()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
    assert!(output.stdout == printed(&["alla_sera.txt", "science.txt"]));
    // Saved by task, the place of the address on the command line, not in the order printed.
    assert!(saved(dir.path(), 1) == poem("science.txt"));
    assert!(saved(dir.path(), 2) == poem("alla_sera.txt"));
}

#[test]
fn client_3_waits_for_ever_on_a_dead_port_until_sigterm() {
    let alla_sera = fast("alla_sera.txt");
    let dead = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let mut client = Running::start(
        "get-poetry-3",
        &[
            &alla_sera.arg(),
            &dead.to_string(),
            "--save-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    // The good poem is saved as it arrives; the refused connection is never reported, so the
    // client goes on waiting for a second poem.
    wait_for_file(&dir.path().join("poem-1.txt"), &poem("alla_sera.txt"));
    sleep(Duration::from_millis(200));
    assert!(client.is_running(), "get-poetry-3 ended on its own");

    let killed = Command::new("kill")
        .args(["-TERM", &client.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The poems that arrived are printed, then the run is said to be cut short (issue 18: an
    // interrupted client no longer exits with 0).
    let (status, out, err) = client.finish();
    assert_eq!(status.code(), Some(143));
    assert_eq!(
        String::from_utf8_lossy(&err),
        "get-poetry-3: interrupted by SIGTERM\n"
    );
    assert!(out == printed(&["alla_sera.txt"]));
}

#[test]
fn client_3_with_a_timeout_stops_waiting() {
    let alla_sera = fast("alla_sera.txt");
    let late = Server::slow("science.txt", &["--delay", "10"]);
    let dead = closed_port();

    let output = run("get-poetry-3", &[&late.arg(), "--timeout", "200ms"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [
            format!("Poem from {} timed out after 200ms", address(late.port)),
            "Timed out: 0 of 1 poems arrived within 400ms".to_owned(),
        ]
    );
    assert!(output.stdout.is_empty());

    let output = run(
        "get-poetry-3",
        &[&alla_sera.arg(), &dead.to_string(), "--timeout", "200ms"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        ["Timed out: 1 of 2 poems arrived within 400ms"]
    );
    assert!(output.stdout == printed(&["alla_sera.txt"]));
}

#[test]
fn client_3_1_sends_a_refused_connection_to_the_errback() {
    let alla_sera = fast("alla_sera.txt");
    let dead = closed_port();
    let (output, dir) = run_saving("get-poetry-3-1", &[&dead.to_string(), &alla_sera.arg()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [
            "Poem failed: ConnectionRefusedError: Connection was refused by other side: 111: \
          Connection refused."
        ]
    );
    assert!(output.stdout == printed(&["alla_sera.txt"]));
    assert!(saved(dir.path(), 2) == poem("alla_sera.txt"));
}

#[test]
fn client_3_1_prints_every_poem_and_exits_0_when_none_fails() {
    let science = Server::slow("science.txt", &["--delay", "5ms"]);
    let alla_sera = fast("alla_sera.txt");
    let output = run(
        "get-poetry-3-1",
        &[&science.arg(), &alla_sera.arg(), "--timeout", "5"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
    assert!(output.stdout == printed(&["alla_sera.txt", "science.txt"]));
}

#[test]
fn client_3_1_times_out_a_late_poem_with_its_own_error() {
    let late = Server::slow("science.txt", &["--delay", "10"]);
    let alla_sera = fast("alla_sera.txt");
    let output = run(
        "get-poetry-3-1",
        &[&late.arg(), &alla_sera.arg(), "--timeout", "200ms"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        ["Poem failed: TimeoutError: the poem took longer than 200ms"]
    );
    assert!(output.stdout == printed(&["alla_sera.txt"]));
}

#[test]
fn no_address_prints_help_and_exits_0() {
    for client in CLIENTS {
        let output = run(client, &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let help = String::from_utf8(output.stdout).unwrap();
        let part = if client.starts_with("get-poetry-3") {
            "tutorial Part 6"
        } else {
            "tutorial Part 5"
        };
        assert!(help.contains(part), "{client}: {help}");
        assert!(help.contains("[host:]port"), "{client}: {help}");
        assert!(help.contains("--timeout"), "{client}: {help}");
        assert!(output.stderr.is_empty(), "{client}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for client in CLIENTS {
        for args in [&["10000", "abc"][..], &["--timeout", "soon", "10000"]] {
            let output = run(client, args);
            assert_eq!(output.status.code(), Some(2), "{client} {args:?}");
            assert!(output.stdout.is_empty(), "{client} {args:?}");
        }
    }
}
