//! End-to-end tests of `timing-client`: tutorial mode, load mode, its JSON, and error counting.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use support::{Server, closed_port, lines, poem_path, run};

/// A line server in a thread: reads one line, answers `got: <line>` and closes. Serves `count`
/// connections, each on its own thread, then stops.
fn line_server(count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            thread::spawn(move || {
                let mut line = String::new();
                BufReader::new(&stream).read_line(&mut line).unwrap();
                let _ = stream.write_all(format!("got: {}", line.trim_end()).as_bytes());
            });
        }
    });
    port
}

/// A server that accepts connections and never answers (for timeouts); stops after `count`.
fn silent_server(count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(count).collect();
        thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    port
}

/// A server that reads what arrives first, then closes without answering; stops after `count`.
fn closing_server(count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut first = [0; 64];
            let _ = std::io::Read::read(&mut stream, &mut first);
        }
    });
    port
}

/// `<request> took <seconds>`: the request's name, after checking the number.
fn took(line: &str) -> &str {
    let (name, seconds) = line.split_once(" took ").unwrap();
    assert!(seconds.parse::<f64>().is_ok(), "{line}");
    name
}

#[test]
fn tutorial_mode_times_each_line_request_and_the_whole() {
    let port = line_server(3).to_string();
    let output = run("timing-client", &[&port, "alpha", "beta", "gamma"]);
    assert_eq!(output.status.code(), Some(0));
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 4, "{out:?}");
    let mut names: Vec<&str> = out[..3].iter().map(|line| took(line)).collect();
    names.sort_unstable();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let total = out[3].strip_prefix("finished in ").unwrap();
    assert!(total.parse::<f64>().is_ok());
}

#[test]
fn tutorial_mode_against_a_slow_poetry_server_takes_about_one_poem() {
    let server = Server::start(
        "slowpoetry-reactor",
        &[
            poem_path("science.txt").to_str().unwrap(),
            "--delay",
            "5ms",
            "--quiet",
        ],
    );
    let output = run(
        "timing-client",
        &["--kind", "poetry", &server.arg(), "a", "b", "c"],
    );
    assert_eq!(output.status.code(), Some(0));
    let out = lines(&output.stdout);
    let each: Vec<f64> = out[..3]
        .iter()
        .map(|line| line.split_once(" took ").unwrap().1.parse().unwrap())
        .collect();
    let total: f64 = out[3]
        .strip_prefix("finished in ")
        .unwrap()
        .parse()
        .unwrap();
    // All three at once: the whole takes about as long as the slowest, well under the sum.
    let slowest = each.iter().cloned().fold(0.0, f64::max);
    assert!(total < 0.75 * each.iter().sum::<f64>(), "{out:?}");
    assert!(total >= slowest, "{out:?}");
}

#[test]
fn load_mode_json_parses_back() {
    let server = Server::start(
        "fastpoetry",
        &[poem_path("alla_sera.txt").to_str().unwrap()],
    );
    let output = run(
        "timing-client",
        &[
            "--kind",
            "poetry",
            "-n",
            "200",
            "-c",
            "20",
            "--json",
            &server.arg(),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["requests"], 200);
    assert_eq!(report["succeeded"], 200);
    assert_eq!(report["failed"], 0);
    let latency = &report["latency_seconds"];
    let value = |key: &str| latency[key].as_f64().unwrap();
    assert!(value("min") <= value("p50") && value("p50") <= value("p90"));
    assert!(value("p90") <= value("p99") && value("p99") <= value("p99.9"));
    assert!(value("p99.9") <= value("max"));
    let counted: u64 = report["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bar| bar["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 200);
    assert!(report["requests_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn load_mode_text_report_has_its_sections() {
    let server = Server::start("fastpoetry", &[poem_path("science.txt").to_str().unwrap()]);
    let output = run(
        "timing-client",
        &["--kind", "poetry", "-n", "50", &server.arg()],
    );
    assert_eq!(output.status.code(), Some(0));
    let out = lines(&output.stdout);
    assert_eq!(out[0], "Requests:      50 (50 succeeded, 0 failed)");
    for (line, prefix) in out[1..].iter().zip([
        "Total time:    ",
        "Requests/sec:  ",
        "Latency:       min ",
        "Percentiles:   p50 ",
        "Histogram:",
    ]) {
        assert!(
            line.starts_with(prefix),
            "{line:?} should start with {prefix:?}"
        );
    }
    assert!(
        output.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
}

#[test]
fn errors_are_counted_by_kind() {
    let refused = closed_port().to_string();
    let output = run(
        "timing-client",
        &["--kind", "poetry", "-n", "5", "-c", "2", "--json", &refused],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["failed"], 5);
    assert_eq!(report["errors"]["refused"], 5);
    assert!(report["latency_seconds"].is_null());

    let silent = silent_server(3).to_string();
    let output = run(
        "timing-client",
        &[
            "--kind",
            "line",
            "-n",
            "3",
            "-c",
            "3",
            "--timeout",
            "200ms",
            "--json",
            &silent,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["errors"]["timeout"], 3);
}

#[test]
fn a_connection_not_made_is_said_as_the_other_clients_say_it() {
    let refused = closed_port();
    let output = run("timing-client", &[&refused.to_string(), "one"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "one failed to connect to 127.0.0.1:{refused}: Connection refused"
        )]
    );

    // The resolver's own words, whatever they are here, as get-poetry-blocking prints them.
    let output = run("timing-client", &["nosuch.invalid:10000", "one"]);
    assert_eq!(output.status.code(), Some(1));
    let blocking = run("get-poetry-blocking", &["nosuch.invalid:10000"]);
    let words = lines(&blocking.stderr)[0]
        .strip_prefix("Task 1: failed to connect to nosuch.invalid:10000: ")
        .unwrap()
        .to_owned();
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "one failed to connect to nosuch.invalid:10000: {words}"
        )]
    );

    // The JSON report names the server; the errors are counted by kind as before.
    let output = run(
        "timing-client",
        &[
            "--kind",
            "poetry",
            "-n",
            "2",
            "--json",
            &refused.to_string(),
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["server"], format!("127.0.0.1:{refused}"));
    assert_eq!(report["errors"]["refused"], 2);
}

#[test]
fn transform_requests_need_a_whole_answer() {
    // A server that closes without answering: the request failed, it did not succeed.
    let port = closing_server(1).to_string();
    let output = run(
        "timing-client",
        &["--kind", "transform", &port, "cummingsify.HI"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stderr), ["cummingsify.HI failed: no answer"]);
}

#[test]
fn no_address_prints_help_and_bad_options_are_usage_errors() {
    let output = run("timing-client", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Time requests to a server"));
    let output = run("timing-client", &["-c", "0", "-n", "5", "10000"]);
    assert_eq!(output.status.code(), Some(2));
}
