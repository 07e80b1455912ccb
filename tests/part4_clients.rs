//! End-to-end tests of the Part 4 clients, `get-poetry-1` and `get-poetry-1-broken`, which give their
//! own sockets to the reactor with `add_reader`.

mod support;

use std::fs;

use support::{Server, closed_port, is_clock, lines, poem, run};

const POEMS: [&str; 3] = ["ecstasy.txt", "fascination.txt", "alla_sera.txt"];

/// One server of each kind, so that both are exercised: the reactor's slow server for ecstasy,
/// the blocking one for the other two.
fn servers() -> [Server; 3] {
    [
        Server::start(
            "slowpoetry-reactor",
            &[
                support::poem_path(POEMS[0]).to_str().unwrap(),
                "--num-bytes",
                "30",
                "--delay",
                "5ms",
            ],
        ),
        Server::slow(POEMS[1], &["--delay", "5ms"]),
        Server::slow(POEMS[2], &["--delay", "5ms"]),
    ]
}

fn run_client(
    client: &str,
    servers: &[Server],
    extra: &[String],
) -> (Vec<String>, Vec<String>, Option<i32>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = servers.iter().map(Server::arg).collect();
    args.extend(extra.iter().cloned());
    args.extend([
        "--save-dir".to_owned(),
        dir.path().to_str().unwrap().to_owned(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(client, &refs);
    (
        lines(&output.stdout),
        lines(&output.stderr),
        output.status.code(),
        dir,
    )
}

/// The closing lines: one per poem in task order, then the total.
fn assert_summary(out: &[String], dir: &tempfile::TempDir) {
    let summary = &out[out.len() - 4..];
    for (index, name) in POEMS.iter().enumerate() {
        let task = index + 1;
        assert_eq!(
            summary[index],
            format!("Task {task}: {} bytes of poetry", poem(name).len())
        );
        let saved = fs::read(dir.path().join(format!("poem-{task}.txt"))).unwrap();
        assert!(saved == poem(name), "task {task}");
    }
    let total = summary[3].strip_prefix("Got 3 poems in ").unwrap();
    assert!(is_clock(total), "{total}");
}

#[test]
fn client_1_reads_every_socket_as_data_arrives() {
    let servers = servers();
    let (out, errors, status, dir) = run_client("get-poetry-1", &servers, &[]);
    assert_eq!(status, Some(0), "{errors:?}");
    assert!(errors.is_empty(), "{errors:?}");

    let progress = &out[..out.len() - 4];
    let mut received = [0; 3];
    let mut finished_at = [None; 3];
    for (at, line) in progress.iter().enumerate() {
        let task: usize = line[5..6].parse().unwrap();
        if *line == format!("Task {task} finished") {
            assert!(finished_at[task - 1].replace(at).is_none(), "{line} twice");
            continue;
        }
        let count = line
            .strip_prefix(&format!("Task {task}: got "))
            .and_then(|rest| {
                rest.strip_suffix(&format!(
                    " bytes of poetry from 127.0.0.1:{}",
                    servers[task - 1].port
                ))
            })
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert!(
            finished_at[task - 1].is_none(),
            "data after the end: {line}"
        );
        received[task - 1] += count.parse::<usize>().unwrap();
    }
    for (index, name) in POEMS.iter().enumerate() {
        assert_eq!(received[index], poem(name).len(), "{name}");
        assert!(finished_at[index].is_some(), "{name} never finished");
    }
    // The reactor interleaved the downloads: the shorter poems were done before the long one.
    assert!(
        finished_at[1] < finished_at[0] && finished_at[2] < finished_at[0],
        "{out:?}"
    );
    assert_summary(&out, &dir);
}

#[test]
fn broken_client_1_reads_each_poem_in_one_blocking_go() {
    let servers = servers();
    let (out, errors, status, dir) = run_client("get-poetry-1-broken", &servers, &[]);
    assert_eq!(status, Some(0), "{errors:?}");
    let progress = &out[..out.len() - 4];
    assert_eq!(progress.len(), 3, "{out:?}");
    let mut tasks: Vec<usize> = progress
        .iter()
        .map(|line| {
            let task: usize = line[5..6].parse().unwrap();
            assert_eq!(
                *line,
                format!(
                    "Task {task}: got {} bytes of poetry from 127.0.0.1:{}",
                    poem(POEMS[task - 1]).len(),
                    servers[task - 1].port
                )
            );
            task
        })
        .collect();
    tasks.sort_unstable();
    assert_eq!(tasks, [1, 2, 3]);
    assert_summary(&out, &dir);
}

#[test]
fn a_refused_connection_is_one_line_and_the_others_complete() {
    let server = Server::slow("science.txt", &["--delay", "0"]);
    let dead = closed_port();
    for client in ["get-poetry-1", "get-poetry-1-broken"] {
        let output = run(client, &[&dead.to_string(), &server.arg()]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "Task 1: failed to connect to 127.0.0.1:{dead}: Connection refused"
            )]
        );
        let out = lines(&output.stdout);
        let n = out.len();
        assert_eq!(
            out[n - 2],
            format!("Task 2: {} bytes of poetry", poem("science.txt").len())
        );
        assert!(
            out[n - 1].starts_with("Got 1 poems in "),
            "{client}: {out:?}"
        );
    }
}

#[test]
fn with_every_connection_refused_the_reactor_is_not_left_running() {
    let dead = closed_port().to_string();
    for client in ["get-poetry-1", "get-poetry-1-broken"] {
        let output = run(client, &[&dead]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        let out = lines(&output.stdout);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("Got 0 poems in "), "{out:?}");
    }
}
