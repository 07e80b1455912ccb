//! End-to-end tests of the two clients of Part 2, `get-poetry-blocking` and `get-poetry-async`,
//! each run against three real `slowpoetry` servers.

mod support;

use std::fs;
use std::process::Output;

use support::{Server, closed_port, is_clock, lines, poem, run};

/// The three servers of Part 2 (ecstasy in 30-character chunks so all three take about as long),
/// with a short delay so that a test takes about a second.
fn three_servers(delay: &str) -> [Server; 3] {
    [
        Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", delay]),
        Server::slow("fascination.txt", &["--delay", delay]),
        Server::slow("alla_sera.txt", &["--delay", delay]),
    ]
}

const POEMS: [&str; 3] = ["ecstasy.txt", "fascination.txt", "alla_sera.txt"];

/// Runs a client against the servers, saving the poems in a temporary directory.
fn fetch_all(client: &str, servers: &[String], extra: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = servers.iter().map(String::as_str).collect();
    args.extend_from_slice(&["--save-dir", dir.path().to_str().unwrap()]);
    args.extend_from_slice(extra);
    (run(client, &args), dir)
}

/// Checks that the poem of `task` was saved intact.
fn assert_saved(dir: &tempfile::TempDir, task: usize, poem_name: &str) {
    let saved = fs::read(dir.path().join(format!("poem-{task}.txt"))).unwrap();
    assert!(saved == poem(poem_name), "task {task}: {poem_name} differs");
}

/// Splits `line` at the last " in " and checks that what follows is a tutorial-style duration.
fn strip_clock(line: &str) -> &str {
    let (head, time) = line.rsplit_once(" in ").unwrap();
    assert!(is_clock(time), "{line}");
    head
}

#[test]
fn blocking_client_fetches_in_order_and_prints_the_tutorial_lines() {
    let servers = three_servers("2ms");
    let addresses: Vec<String> = servers.iter().map(Server::arg).collect();
    let (output, dir) = fetch_all("get-poetry-blocking", &addresses, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());

    let out = lines(&output.stdout);
    assert_eq!(out.len(), 7, "{out:?}");
    for (index, poem_name) in POEMS.iter().enumerate() {
        let task = index + 1;
        let address = format!("127.0.0.1:{}", servers[index].port);
        assert_eq!(
            out[2 * index],
            format!("Task {task}: get poetry from: {address}")
        );
        assert_eq!(
            strip_clock(&out[2 * index + 1]),
            format!(
                "Task {task}: got {} bytes of poetry from {address}",
                poem(poem_name).len()
            )
        );
        assert_saved(&dir, task, poem_name);
    }
    assert_eq!(strip_clock(&out[6]), "Got 3 poems");
}

#[test]
fn async_client_interleaves_the_downloads() {
    let servers = three_servers("5ms");
    let addresses: Vec<String> = servers.iter().map(Server::arg).collect();
    let (output, dir) = fetch_all("get-poetry-async", &addresses, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());

    let out = lines(&output.stdout);
    let (progress, summary) = out.split_at(out.len() - 4);
    let mut received = [0; 3];
    let mut finished_at = [None; 3];
    for (at, line) in progress.iter().enumerate() {
        let task = line[5..6].parse::<usize>().unwrap();
        let i = task - 1;
        if line == &format!("Task {task} finished") {
            assert!(finished_at[i].is_none(), "{line} twice");
            finished_at[i] = Some(at);
            continue;
        }
        let bytes = line
            .strip_prefix(&format!("Task {task}: got "))
            .and_then(|rest| {
                rest.strip_suffix(&format!(
                    " bytes of poetry from 127.0.0.1:{}",
                    servers[i].port
                ))
            })
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert!(finished_at[i].is_none(), "data after {task} finished");
        received[i] += bytes.parse::<usize>().unwrap();
    }
    // Every poem arrived whole, and the downloads overlapped: each of the other tasks got its first
    // piece before the longest one, task 1, was done.
    for (i, poem_name) in POEMS.iter().enumerate() {
        assert_eq!(received[i], poem(poem_name).len(), "{poem_name}");
    }
    let first_piece = |task: usize| {
        progress
            .iter()
            .position(|line| line.starts_with(&format!("Task {task}: got ")))
            .unwrap()
    };
    assert!(first_piece(2) < finished_at[0].unwrap());
    assert!(first_piece(3) < finished_at[0].unwrap());

    for (index, poem_name) in POEMS.iter().enumerate() {
        let task = index + 1;
        assert_eq!(
            summary[index],
            format!("Task {task}: {} bytes of poetry", poem(poem_name).len())
        );
        assert_saved(&dir, task, poem_name);
    }
    assert_eq!(strip_clock(&summary[3]), "Got 3 poems");
}

/// The total time a client printed with `--time-format seconds`.
fn total_seconds(output: &Output) -> f64 {
    let out = lines(&output.stdout);
    let last = out.last().unwrap();
    last.strip_prefix("Got 3 poems in ")
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn async_takes_about_the_slowest_download_blocking_the_sum() {
    let servers = three_servers("10ms");
    let addresses: Vec<String> = servers.iter().map(Server::arg).collect();
    let seconds = ["--time-format", "seconds"];
    let (blocking, _) = fetch_all("get-poetry-blocking", &addresses, &seconds);
    let (asynchronous, _) = fetch_all("get-poetry-async", &addresses, &seconds);
    let (blocking, asynchronous) = (total_seconds(&blocking), total_seconds(&asynchronous));
    // The three downloads take about 1.0 s, 0.63 s and 0.58 s: the sum is 2.2 s, the slowest 1.0 s.
    // With slack for a busy machine, the asynchronous client must still take well under the sum.
    assert!(
        asynchronous < 0.75 * blocking,
        "async {asynchronous} s, blocking {blocking} s"
    );
}

#[test]
fn a_refused_connection_is_reported_and_the_others_complete() {
    let server = Server::slow("science.txt", &["--delay", "0"]);
    let dead = closed_port();
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        let addresses = [server.arg(), dead.to_string()];
        let (output, dir) = fetch_all(client, &addresses, &[]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "Task 2: failed to connect to 127.0.0.1:{dead}: Connection refused"
            )],
            "{client}"
        );
        let out = lines(&output.stdout);
        assert_eq!(strip_clock(out.last().unwrap()), "Got 1 poems", "{client}");
        assert_saved(&dir, 1, "science.txt");
        assert!(!dir.path().join("poem-2.txt").exists());
    }
}

#[test]
fn an_unknown_host_is_reported_with_its_task_and_address() {
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        let output = run(client, &["nosuch.invalid:10000"]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        let errors = lines(&output.stderr);
        assert_eq!(errors.len(), 1, "{client}: {errors:?}");
        assert!(
            errors[0].starts_with("Task 1: failed to ")
                && errors[0].contains(" nosuch.invalid:10000: "),
            "{client}: {errors:?}"
        );
    }
}

#[test]
fn print_shows_each_poem_after_the_summary() {
    let server = Server::slow("alla_sera.txt", &["--delay", "0"]);
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        let output = run(client, &[&server.arg(), "--print"]);
        let text = String::from_utf8(output.stdout).unwrap();
        let poem_text = String::from_utf8(poem("alla_sera.txt")).unwrap();
        let expected_tail = format!("--- Task 1 ---\n{poem_text}");
        assert!(text.ends_with(&expected_tail), "{client}: {text}");
    }
}

#[test]
fn no_address_prints_help_and_exits_0() {
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        let output = run(client, &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("tutorial Part 2"), "{client}: {help}");
        assert!(help.contains("[host:]port"), "{client}: {help}");
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn a_bad_port_is_a_usage_error() {
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        for (arg, message) in [
            ("abc", "port must be a whole number, not 'abc'"),
            ("localhost:70000", "port 70000 is not in 1..=65535"),
        ] {
            let output = run(client, &["10000", arg]);
            assert_eq!(output.status.code(), Some(2), "{client} {arg}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(message), "{client}: {stderr}");
            assert!(output.stdout.is_empty());
        }
    }
}

#[test]
fn time_formats_are_selectable() {
    let server = Server::slow("science.txt", &["--delay", "0"]);
    for (format, check) in [
        (
            "human",
            (|t: &str| t.ends_with('s') && !t.contains(':')) as fn(&str) -> bool,
        ),
        ("seconds", |t: &str| {
            t.parse::<f64>().is_ok() && t.contains('.')
        }),
    ] {
        let output = run(
            "get-poetry-async",
            &[&server.arg(), "--time-format", format],
        );
        let out = lines(&output.stdout);
        let time = out.last().unwrap().strip_prefix("Got 1 poems in ").unwrap();
        assert!(check(time), "{format}: {time}");
    }
}

#[test]
fn progress_is_plain_output_when_piped() {
    let server = Server::slow("science.txt", &["--delay", "0"]);
    let output = run("get-poetry-async", &[&server.arg(), "--progress"]);
    assert_eq!(output.status.code(), Some(0));
    let out = lines(&output.stdout);
    assert!(out.contains(&"Task 1 finished".to_owned()), "{out:?}");
    assert!(out[0].starts_with("Task 1: got "), "{out:?}");
    assert!(
        output.stderr.is_empty(),
        "nothing is drawn when stderr is not a terminal"
    );
}
