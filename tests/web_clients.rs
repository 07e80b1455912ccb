//! End-to-end tests of the HTTP clients: talk 001's page fetchers (`getpage` and its three
//! siblings, `urlfetch-blocking` and `urlfetch-blocking-errors`), talk 002's GitHub examples
//! (`github-orgs`, `github-repos`, `github-repos-blocking`), and the training's hand-written
//! `httpget`.
//!
//! The web server is `tests/fixtures/pages.py` (Python 3's standard library), both the page server
//! and the GitHub imitation the talks' reference runs used, started on a free port for each test;
//! `httpget` talks to a raw TCP listener in the test, which records the bytes it was sent.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{PageServer, closed_port, lines, program, run};

/// The page the fixture serves at `/`.
const PAGE: &str = "<html><head><title>Local page</title></head>\
                    <body>Hello from the local page server</body></html>\n";

/// How long a test waits for anything before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs a program and checks that it ended by itself in good time.
fn run_to_end(name: &str, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = run(name, args);
    assert!(started.elapsed() < PATIENCE, "{name} took too long");
    output
}

/// What a run printed: stdout as text, stderr's lines, the exit code.
fn outcome(output: &Output) -> (String, Vec<String>, Option<i32>) {
    (
        String::from_utf8(output.stdout.clone()).unwrap(),
        lines(&output.stderr),
        output.status.code(),
    )
}

/// Starts a program that is expected to wait for ever.
fn start_waiting(name: &str, args: &[&str]) -> Child {
    Command::new(program(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Checks that a program started by [`start_waiting`] is still waiting, stops it with `signal`, and
/// returns what it printed and its exit status.
fn interrupt(mut child: Child, signal: Signal) -> Output {
    assert!(
        child.try_wait().unwrap().is_none(),
        "the program ended by itself, without the signal"
    );
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    child.wait_with_output().unwrap()
}

// ---- Talk 001: the page fetchers ----

/// Every fetcher prints the page raw, then a newline, and ends with status 0.
#[test]
fn every_fetcher_prints_the_page_and_a_newline() {
    let server = PageServer::start("ok");
    for name in [
        "getpage",
        "getpage-errback",
        "getpage-inline",
        "getpage-inline-errback",
        "urlfetch-blocking",
        "urlfetch-blocking-errors",
    ] {
        for path in ["/", "/redirect"] {
            let output = run_to_end(name, &[&server.url(path)]);
            let (stdout, stderr, code) = outcome(&output);
            assert_eq!(stdout, format!("{PAGE}\n"), "{name} {path}");
            assert!(stderr.is_empty(), "{name} {path}: {stderr:?}");
            assert_eq!(code, Some(0), "{name} {path}");
        }
    }
}

/// The fetchers that handle errors say so on stdout, each in its slide's words, and end with 0.
#[test]
fn the_fetchers_with_error_handling_say_unable_to_fetch() {
    let server = PageServer::start("ok");
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let not_found = server.url("/missing");
    for (name, words) in [
        ("getpage-errback", "Unable to fetch\n"),
        ("getpage-inline-errback", "Unable to fetch.\n"),
        ("urlfetch-blocking-errors", "Unable to fetch.\n"),
    ] {
        for url in [&not_found, &refused] {
            let output = run_to_end(name, &[url]);
            let (stdout, stderr, code) = outcome(&output);
            assert_eq!(stdout, words, "{name} {url}");
            assert!(stderr.is_empty(), "{name} {url}: {stderr:?}");
            assert_eq!(code, Some(0), "{name} {url}");
        }
    }
}

#[test]
fn a_timeout_is_a_failure_like_any_other() {
    let server = PageServer::start("ok");
    let slow = server.url("/slow");
    for (name, words) in [
        ("getpage-errback", "Unable to fetch\n"),
        ("getpage-inline-errback", "Unable to fetch.\n"),
        ("urlfetch-blocking-errors", "Unable to fetch.\n"),
    ] {
        let started = Instant::now();
        let output = run_to_end(name, &["--timeout", "300ms", &slow]);
        assert_eq!(outcome(&output).0, words, "{name}");
        // The page takes ten seconds: the timeout ended the wait long before.
        assert!(started.elapsed() < Duration::from_secs(8), "{name}");
    }
}

#[test]
fn the_blocking_fetcher_without_error_handling_ends_with_the_error() {
    let server = PageServer::start("ok");
    let output = run_to_end("urlfetch-blocking", &[&server.url("/missing")]);
    assert_eq!(
        outcome(&output),
        (
            String::new(),
            vec!["urlfetch-blocking: error: HttpError: 404 Not Found".to_owned()],
            Some(1)
        )
    );
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let output = run_to_end("urlfetch-blocking", &[&refused]);
    assert_eq!(
        outcome(&output),
        (
            String::new(),
            vec![
                "urlfetch-blocking: error: ConnectionRefusedError: Connection was refused by \
                 other side: 111: Connection refused."
                    .to_owned()
            ],
            Some(1)
        )
    );
}

/// The two variants without an errback hang on a failure (the talk's lesson), silently; once
/// interrupted, they report the failure nobody handled.
#[test]
fn the_fetchers_without_an_errback_wait_and_report_the_failure_when_interrupted() {
    let server = PageServer::start("ok");
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let not_found = server.url("/missing");
    let cases = [
        (&not_found, "HttpError: 404 Not Found"),
        (
            &refused,
            "ConnectionRefusedError: Connection was refused by other side: 111: Connection \
             refused.",
        ),
    ];
    // All at once, so that one wait serves them all.
    let mut waiting = Vec::new();
    for name in ["getpage", "getpage-inline"] {
        for (url, line) in cases {
            for signal in [Signal::SIGTERM, Signal::SIGINT] {
                let child = start_waiting(name, &[url]);
                waiting.push((name, url, line, signal, child));
            }
        }
    }
    // Long enough for every fetch to have failed (they fail at once, but eight programs start
    // together on a machine that may be busy), and still none of them has ended.
    thread::sleep(Duration::from_secs(3));
    for (name, url, line, signal, child) in waiting {
        let output = interrupt(child, signal);
        let (stdout, stderr, code) = outcome(&output);
        assert_eq!(stdout, "", "{name} {url}");
        assert_eq!(
            stderr,
            ["Unhandled error in Deferred:", line],
            "{name} {url} {signal}"
        );
        assert_eq!(code, Some(1), "{name} {url} {signal}");
    }
}

/// Interrupted while the page is still on its way, there is no failure to report.
#[test]
fn a_fetch_interrupted_while_waiting_says_nothing() {
    let server = PageServer::start("ok");
    let waiting: Vec<_> = ["getpage", "getpage-inline"]
        .into_iter()
        .map(|name| (name, start_waiting(name, &[&server.url("/slow")])))
        .collect();
    thread::sleep(Duration::from_millis(500));
    for (name, child) in waiting {
        let output = interrupt(child, Signal::SIGINT);
        assert_eq!(
            outcome(&output),
            (String::new(), Vec::new(), Some(0)),
            "{name}"
        );
    }
}

#[test]
fn a_url_the_fetchers_cannot_fetch_is_a_usage_error() {
    for name in ["getpage", "urlfetch-blocking"] {
        let output = run_to_end(name, &["ftp://python.org/"]);
        let (stdout, stderr, code) = outcome(&output);
        assert_eq!(stdout, "", "{name}");
        assert_eq!(
            stderr[0],
            "error: invalid value 'ftp://python.org/' for '[URL]': 'ftp://python.org/' is not \
             an http:// or https:// URL",
            "{name}"
        );
        assert_eq!(code, Some(2), "{name}");
        let output = run_to_end(name, &["--cacert", "/nonexistent/ca.pem"]);
        assert_eq!(
            outcome(&output).1,
            [format!(
                "{name}: error: cannot read the certificate /nonexistent/ca.pem: No such file or \
                 directory"
            )]
        );
        assert_eq!(output.status.code(), Some(2), "{name}");
    }
}

// ---- Talk 002: the GitHub examples ----

/// Runs a GitHub example against the fixture in `mode`; returns stdout's lines, stderr's lines and
/// the exit code.
fn github(name: &str, mode: &str, extra: &[&str]) -> (Vec<String>, Vec<String>, Option<i32>) {
    let server = PageServer::start(mode);
    let api = server.api();
    let mut args = vec!["--api", &api];
    args.extend_from_slice(extra);
    let output = run_to_end(name, &args);
    (
        lines(&output.stdout),
        lines(&output.stderr),
        output.status.code(),
    )
}

#[test]
fn github_orgs_lists_the_organisations_sorted() {
    let (stdout, stderr, code) = github("github-orgs", "ok", &["clokep"]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "Empty-Org",
            "percipient",
            "Shutting down!"
        ]
    );
    assert!(stderr.is_empty(), "{stderr:?}");
    assert_eq!(code, Some(0));
    let (stdout, _, code) = github("github-orgs", "no-orgs", &[]);
    assert_eq!(stdout, ["Organization request done!", "", "Shutting down!"]);
    assert_eq!(code, Some(0));
}

#[test]
fn github_orgs_logs_a_failure_and_still_shuts_down() {
    let (stdout, stderr, code) = github("github-orgs", "orgs-404", &[]);
    assert_eq!(stdout, ["Shutting down!"]);
    assert_eq!(stderr, ["Unhandled Error", "HttpError: 404 Not Found"]);
    assert_eq!(code, Some(1));
    let (stdout, stderr, code) = github("github-orgs", "bad-json", &[]);
    assert_eq!(stdout, ["Organization request done!", "Shutting down!"]);
    assert_eq!(
        stderr,
        [
            "Unhandled Error",
            "JsonError: expected value at line 1 column 1"
        ]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn github_repos_asks_for_every_organisation_at_once() {
    let (stdout, stderr, code) = github("github-repos", "ok", &[]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "\tEmpty-Org",
            "\tpercipient",
            // In the order the answers came: percipient's is 0.3 s late.
            "Got repo information for Empty-Org",
            "Got repo information for percipient",
            "Outputting repos",
            "\tEmpty-Org: (none)",
            "\tpercipient: CatChat, django-querysetsequence, talks",
            "Shutting down!",
        ]
    );
    assert!(stderr.is_empty(), "{stderr:?}");
    assert_eq!(code, Some(0));
    let (stdout, _, code) = github("github-repos", "no-orgs", &[]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "Outputting repos",
            "Shutting down!"
        ]
    );
    assert_eq!(code, Some(0));
}

#[test]
fn github_repos_prints_a_failed_organisation_and_goes_on() {
    let (stdout, stderr, code) = github("github-repos", "repos-404", &[]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "\tEmpty-Org",
            "\tpercipient",
            "Got repo information for percipient",
            "Outputting repos",
            "\tEmpty-Org: (error: 404 Not Found)",
            "\tpercipient: CatChat, django-querysetsequence, talks",
            "Shutting down!",
        ]
    );
    assert!(stderr.is_empty(), "{stderr:?}");
    assert_eq!(code, Some(1));
    let (stdout, _, code) = github("github-repos", "repos-500", &[]);
    assert_eq!(
        stdout[4..],
        [
            "Outputting repos",
            "\tEmpty-Org: (none)",
            "\tpercipient: (error: 500 Internal Server Error)",
            "Shutting down!",
        ]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn github_repos_faithful_crashes_half_way_as_the_talks_program() {
    let (stdout, stderr, code) = github("github-repos", "repos-500", &["--faithful"]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "\tEmpty-Org",
            "\tpercipient",
            "Got repo information for Empty-Org",
            "Outputting repos",
            "\tEmpty-Org: (none)",
            "Shutting down!",
        ]
    );
    assert_eq!(
        stderr,
        [
            "Unhandled Error",
            "TypeError: cannot unpack non-iterable Failure object"
        ]
    );
    assert_eq!(code, Some(0));
    let (stdout, _, _) = github("github-repos", "repos-404", &["--faithful"]);
    assert_eq!(stdout[4..], ["Outputting repos", "Shutting down!"]);
}

#[test]
fn github_repos_logs_a_failure_of_the_organisations() {
    let (stdout, stderr, code) = github("github-repos", "orgs-404", &[]);
    assert_eq!(stdout, ["Shutting down!"]);
    assert_eq!(stderr, ["Unhandled Error", "HttpError: 404 Not Found"]);
    assert_eq!(code, Some(1));
    let (stdout, stderr, code) = github("github-repos", "bad-json", &[]);
    assert_eq!(stdout, ["Organization request done!", "Shutting down!"]);
    assert_eq!(
        stderr,
        [
            "Unhandled Error",
            "JsonError: expected value at line 1 column 1"
        ]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn github_repos_blocking_asks_one_organisation_after_another() {
    let (stdout, stderr, code) = github("github-repos-blocking", "ok", &[]);
    assert_eq!(
        stdout,
        [
            "Organization request done!",
            "\tEmpty-Org",
            "Got repo information for Empty-Org",
            "\tpercipient",
            "Got repo information for percipient",
            "Outputting repos",
            "\tpercipient: CatChat, django-querysetsequence, talks",
        ]
    );
    assert!(stderr.is_empty(), "{stderr:?}");
    assert_eq!(code, Some(0));
    let (stdout, stderr, code) = github("github-repos-blocking", "repos-404", &[]);
    assert_eq!(stdout, ["Organization request done!", "\tEmpty-Org"]);
    assert_eq!(
        stderr,
        ["github-repos-blocking: error: HttpError: 404 Not Found"]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn the_github_examples_report_a_refused_connection() {
    let api = format!("http://127.0.0.1:{}", closed_port());
    let refused = "ConnectionRefusedError: Connection was refused by other side: 111: Connection \
                   refused.";
    for name in ["github-orgs", "github-repos"] {
        let output = run_to_end(name, &["--api", &api]);
        assert_eq!(
            outcome(&output),
            (
                "Shutting down!\n".to_owned(),
                vec!["Unhandled Error".to_owned(), refused.to_owned()],
                Some(1)
            ),
            "{name}"
        );
    }
    let output = run_to_end("github-repos-blocking", &["--api", &api]);
    assert_eq!(
        outcome(&output).1,
        [format!("github-repos-blocking: error: {refused}")]
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_github_login_is_checked() {
    let output = run_to_end("github-orgs", &["../etc"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(lines(&output.stderr)[0].contains("is not a GitHub login"));
}

// ---- The training's exercise 3: httpget ----

/// A web server of one connection: records what it was sent until the request's empty line,
/// answers `answer`, and closes.
fn one_shot_server(answer: &'static [u8]) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request = Vec::new();
        let mut byte = [0];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            request.push(byte[0]);
        }
        let _ = sender.send(request);
        let _ = stream.write_all(answer);
    });
    (port, received)
}

#[test]
fn httpget_writes_the_exercises_request_and_prints_the_raw_answer() {
    const ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n";
    for host in ["127.0.0.1", "localhost"] {
        let (port, received) = one_shot_server(ANSWER);
        let output = run_to_end("httpget", &[&format!("{host}:{port}"), "/some/path?q=1"]);
        let request = received.recv_timeout(PATIENCE).unwrap();
        assert_eq!(
            String::from_utf8(request).unwrap(),
            format!(
                "GET /some/path?q=1 HTTP/1.1\r\nUser-Agent: europython/2011\r\nHost: {host}\r\n\
                 Connection: close\r\n\r\n"
            )
        );
        assert_eq!(output.stdout, [ANSWER, b"\n"].concat());
        assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
        assert_eq!(output.status.code(), Some(0));
    }
}

#[test]
fn httpget_against_the_page_server() {
    let server = PageServer::start("ok");
    let output = run_to_end("httpget", &[&format!("127.0.0.1:{}", server.port), "/"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.ends_with(&format!("\r\n\r\n{PAGE}\n")), "{text}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn httpget_reports_a_refused_connection_and_fails() {
    let output = run_to_end("httpget", &[&format!("127.0.0.1:{}", closed_port()), "/"]);
    assert_eq!(
        outcome(&output),
        (
            String::new(),
            vec![
                "httpget: error: Connection was refused by other side: 111: Connection refused."
                    .to_owned()
            ],
            Some(1)
        )
    );
}

#[test]
fn httpget_needs_a_path_that_fits_the_request_line() {
    let server = format!("127.0.0.1:{}", closed_port());
    for args in [vec![server.as_str()], vec![server.as_str(), "a path"]] {
        let output = run_to_end("httpget", &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(lines(&output.stderr)[0].starts_with("error: "), "{args:?}");
    }
    // No arguments at all: the help, as the project's other clients.
    let output = run_to_end("httpget", &[]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.starts_with("Send an HTTP GET written by hand"),
        "{help}"
    );
}
