//! The programs of the tutorial behave alike where they do the same thing (issue 18, items 3 and 4):
//! one wording per usage error, whatever the program; Ctrl-C ends every client the same way; a port
//! in use is said once; the stack demos show only the frames of the lesson.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{Server, bins, closed_port, example, lines, poem, poem_path, program, run};

/// Runs `name` with `args`, checks that it is a usage error (status 2, nothing on stdout), and
/// returns its first line on stderr.
fn usage_error(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    assert_eq!(output.status.code(), Some(2), "{name} {args:?}");
    assert!(output.stdout.is_empty(), "{name} {args:?}");
    lines(&output.stderr).remove(0)
}

#[test]
fn a_server_port_out_of_range_is_worded_once() {
    let poem = poem_path("ecstasy.txt");
    let poem = poem.to_str().unwrap();
    for (name, args) in [
        ("fastpoetry", vec!["--port", "99999", poem]),
        ("slowpoetry", vec!["--port", "99999", poem]),
        ("fastpoetry-2", vec!["--port", "99999", "--poem", poem]),
        ("transformedpoetry", vec!["--port", "99999"]),
        (
            "poetryd",
            vec![
                "--nodaemon",
                "slowpoetry",
                "--port",
                "99999",
                "--poem",
                poem,
            ],
        ),
    ] {
        assert!(
            usage_error(name, &args).ends_with(": port 99999 is not in 0..=65535"),
            "{name}"
        );
    }
    assert_eq!(
        usage_error("fastpoetry", &["--port", "ten", poem]),
        "error: invalid value 'ten' for '--port <PORT>': port must be a whole number, not 'ten'"
    );
}

#[test]
fn a_client_port_out_of_range_is_worded_once() {
    for client in [
        "get-poetry-1",
        "get-poetry-3",
        "get-poetry-5",
        "timing-client",
    ] {
        assert!(
            usage_error(client, &["70000"]).ends_with(": port 70000 is not in 1..=65535"),
            "{client}"
        );
    }
}

#[test]
fn an_ipv6_address_without_brackets_gets_the_hint() {
    for client in ["get-poetry-2", "get-poetry-4", "get-poetry-tokio"] {
        let line = usage_error(client, &["::1:10000"]);
        assert!(
            line.ends_with(
                ": '::1:10000' has more than one ':': write an IPv6 address in brackets, as \
                 [::1]:10000"
            ),
            "{client}: {line}"
        );
    }
}

#[test]
fn a_timeout_of_zero_is_a_usage_error() {
    assert_eq!(
        usage_error("get-poetry-1", &["--connect-timeout", "0", "10000"]),
        "error: invalid value '0' for '--connect-timeout <DURATION>': '0' is no time at all: a \
         timeout must be more than zero"
    );
    assert_eq!(
        usage_error("get-poetry-3", &["--timeout", "0ms", "10000"]),
        "error: invalid value '0ms' for '--timeout <DURATION>': '0ms' is no time at all: a \
         timeout must be more than zero"
    );
}

#[test]
fn a_duration_too_large_says_so() {
    assert_eq!(
        usage_error("get-poetry-5", &["--timeout", "1e20", "10000"]),
        "error: invalid value '1e20' for '--timeout <DURATION>': '1e20' is too large: a duration \
         is at most a year (31536000 seconds)"
    );
}

#[test]
fn the_transform_clients_given_one_address_say_what_is_missing() {
    for client in ["get-poetry-6", "get-poetry-7", "get-poetry-8"] {
        assert_eq!(
            usage_error(client, &["10001"]),
            "error: the following required arguments were not provided:",
            "{client}"
        );
    }
}

#[test]
fn unknown_options_are_refused() {
    for name in ["get-poetry-2-stack", "timing-client", "deferred-simulator"] {
        assert!(
            usage_error(name, &["--no-such-option"])
                .starts_with("error: unexpected argument '--no-such-option' found"),
            "{name}"
        );
    }
}

/// The options the poetry clients share, each declared once in `common::cli` and flattened into
/// every client that takes it.
const SHARED_OPTIONS: [&str; 8] = [
    "--timeout",
    "--connect-timeout",
    "--time-format",
    "--progress",
    "--save-dir",
    "--print",
    "--max-poem-size",
    "--timeline",
];

/// The clients that take a documented variant of a shared option instead: `timing-client`'s
/// `--timeout` (`RequestTimeoutOption`) is on by default, so that a load test always ends.
const VARIANTS: [(&str, &str); 1] = [("timing-client", "--timeout")];

/// The clients that take a shared option with another default: `timing-client` prints seconds, as
/// the training's timing client does.
const OTHER_DEFAULTS: [(&str, &str); 1] = [("timing-client", "--time-format")];

/// What a program's `--help` says of `option`, if it takes it: the description (the indented lines
/// below the option's), its words joined by single spaces, and apart from it the `[default: ...]`
/// that clap adds.
fn option_help(help: &str, option: &str) -> Option<(String, Option<String>)> {
    let mut lines = help.lines().skip_while(|line| {
        line.trim_start()
            .strip_prefix(option)
            .is_none_or(|rest| !(rest.is_empty() || rest.starts_with(' ')))
    });
    lines.next()?;
    let description = lines.take_while(|line| line.is_empty() || line.starts_with("          "));
    let text = description
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    Some(match text.split_once("[default: ") {
        Some((before, after)) => {
            let (default, rest) = after.split_once(']').unwrap();
            let text = format!("{} {}", before.trim_end(), rest.trim_start());
            (text.trim().to_owned(), Some(default.to_owned()))
        }
        None => (text, None),
    })
}

#[test]
fn a_shared_option_reads_the_same_in_every_client() {
    let helps: Vec<(String, String)> = bins(true)
        .into_iter()
        .map(|name| {
            let output = run(&name, &["--help"]);
            assert_eq!(output.status.code(), Some(0), "{name} --help");
            (name, String::from_utf8(output.stdout).unwrap())
        })
        .collect();
    let mut problems = Vec::new();
    for option in SHARED_OPTIONS {
        let mut texts: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut defaults: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
        for (name, help) in &helps {
            let client = (name.as_str(), option);
            if VARIANTS.contains(&client) {
                continue;
            }
            let Some((text, default)) = option_help(help, option) else {
                continue;
            };
            texts.entry(text).or_default().push(name);
            if !OTHER_DEFAULTS.contains(&client) {
                defaults.entry(default).or_default().push(name);
            }
        }
        let takers: usize = texts.values().map(Vec::len).sum();
        if takers < 2 {
            problems.push(format!("{option}: only {takers} client takes it"));
        }
        if texts.len() > 1 {
            problems.push(format!(
                "{option} is described {} ways: {texts:#?}",
                texts.len()
            ));
        }
        if defaults.len() > 1 {
            problems.push(format!(
                "{option} has {} defaults: {defaults:?}",
                defaults.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_help_of_an_option_is_read_whole() {
    let help = "\
Options:
      --time-format <TIME_FORMAT>
          How to print
          them

          Possible values:
          - clock: as the tutorial
          
          [default: clock]

      --progress
          Live lines
";
    assert_eq!(
        option_help(help, "--time-format"),
        Some((
            "How to print them Possible values: - clock: as the tutorial".to_owned(),
            Some("clock".to_owned())
        ))
    );
    assert_eq!(
        option_help(help, "--progress"),
        Some(("Live lines".to_owned(), None))
    );
    assert_eq!(option_help(help, "--time"), None);
}

#[test]
fn every_benchmark_example_has_help_and_refuses_unknown_options() {
    for (name, usage) in [
        ("chat-load", "<PORT> [USERS] [RATE] [SECONDS]"),
        (
            "echo-load",
            "<PORT> <BYTES> <CONNECTIONS> <CONCURRENCY> [TIMEOUT_SECONDS]",
        ),
        ("keyvalue-load", "<PROTOCOL> <PORT> [CONNECTIONS] [SECONDS]"),
        ("pb-load", "<PORT> [IN_FLIGHT] [SECONDS]"),
        ("reference-chat", "[PORT]"),
        ("reference-client", "<PORT> <REQUESTS> <CONCURRENCY>"),
        ("reference-echo", "[PORT]"),
        ("reference-fastpoetry", "<POETRY_FILE> [PORT]"),
        ("reference-hyper", "[PORT]"),
        (
            "reference-slowpoetry",
            "<POETRY_FILE> <DELAY_MS> <CHARS> [PORT]",
        ),
    ] {
        let run = |arg: &str| {
            Command::new(example(name))
                .arg(arg)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let help = run("--help");
        assert_eq!(help.status.code(), Some(0), "{name}");
        assert!(help.stderr.is_empty(), "{name}");
        let out = lines(&help.stdout);
        assert!(
            out.contains(&format!("Usage: {name} {usage}")),
            "{name}: {out:#?}"
        );
        let refused = run("--no-such-option");
        assert_eq!(refused.status.code(), Some(2), "{name}");
        assert!(refused.stdout.is_empty(), "{name}");
        assert_eq!(
            lines(&refused.stderr)[0],
            "error: unexpected argument '--no-such-option' found",
            "{name}"
        );
    }
}

/// Waits until process `pid` catches SIGINT (a client may connect before it installs its handler,
/// and a Ctrl-C before that would simply kill it).
fn wait_for_sigint_handler(pid: u32) {
    const SIGINT_BIT: u64 = 1 << (2 - 1);
    for _ in 0..500 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & SIGINT_BIT != 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("process {pid} never caught SIGINT");
}

/// Runs `client` against a server that sends a first chunk and then nothing for a long time,
/// presses Ctrl-C once the server has started sending, and returns the client's status, stdout
/// and stderr.
fn interrupted(client: &str, extra: &[&str]) -> (Option<i32>, Vec<String>, Vec<String>) {
    let mut server = Server::slow("science.txt", &["--delay", "1000"]);
    let mut args: Vec<String> = extra.iter().map(|arg| arg.to_string()).collect();
    args.push(server.arg());
    let mut child = Command::new(program(client))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(server.next_line().ends_with("wants poetry!"));
    assert_eq!(server.next_line(), "Sending 10 bytes");
    wait_for_sigint_handler(child.id());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    (code, lines(&out), lines(&err))
}

#[test]
fn ctrl_c_ends_a_reactor_client_with_its_summary_and_status_130() {
    let (code, out, err) = interrupted("get-poetry-2", &["--time-format", "seconds"]);
    assert_eq!(code, Some(130));
    assert_eq!(
        out.last().map(|line| &line[..15]),
        Some("Got 0 poems in "),
        "{out:?}"
    );
    assert_eq!(err, ["get-poetry-2: interrupted by SIGINT"]);
}

#[test]
fn ctrl_c_ends_the_blocking_client_with_its_summary_too() {
    let (code, out, err) = interrupted("get-poetry-blocking", &["--time-format", "seconds"]);
    assert_eq!(code, Some(130));
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out[0].starts_with("Task 1: get poetry from: 127.0.0.1:"),
        "{out:?}"
    );
    assert!(out[1].starts_with("Got 0 poems in 0."), "{out:?}");
    assert_eq!(err, ["get-poetry-blocking: interrupted by SIGINT"]);
}

/// How long the tests below wait for a client or a played server before they fail rather than hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `done` is true, polling; fails the test, saying `what`, after [`PATIENCE`].
fn wait_until(what: impl std::fmt::Display, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "waited in vain: {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A poetry server played by the test that has finished: it sends `poem` to the one client that
/// connects, closes its end, and waits until the client has closed its end too, which it then
/// reports on the returned channel.
fn finished_server(poem: Vec<u8>) -> (u16, Receiver<()>) {
    played(move |mut stream| {
        stream.write_all(&poem).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    })
}

/// The transform server played by the test, for one request: it answers it as the real one
/// cummingsifies (lower-cased), closes its end, and reports when the client has closed its end.
fn transform_server() -> (u16, Receiver<()>) {
    played(|mut stream| {
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        let request = loop {
            let count = stream.read(&mut buffer).unwrap();
            assert!(count > 0, "the client closed before its request was whole");
            received.extend_from_slice(&buffer[..count]);
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((length, rest)) = text.split_once(':')
                && rest.len() > length.parse::<usize>().unwrap()
            {
                break rest[..rest.len() - 1].to_owned();
            }
        };
        let poem = request.strip_prefix("cummingsify.").unwrap().to_lowercase();
        let answer = format!("{}:{poem},", poem.len());
        stream.write_all(answer.as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    })
}

/// Plays a server on a free port: `serve` runs on the first connection, in a thread of its own;
/// the channel hears when it is done.
fn played(serve: impl FnOnce(TcpStream) + Send + 'static) -> (u16, Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, done) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        serve(stream);
        let _ = sender.send(());
    });
    (port, done)
}

/// A poetry server played by the test that stalls: the connection it accepts is handed to the test,
/// which sends what it likes on it (or nothing) and holds it open.
fn stalled_server() -> (u16, Receiver<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, accepted) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = sender.send(stream);
    });
    (port, accepted)
}

/// The send and receive queues of the IPv4 TCP connections, from /proc/net/tcp: (local port,
/// remote port, state, bytes sent but not acknowledged, bytes received but not read).
fn tcp_queues() -> Vec<(u16, u16, u8, u32, u32)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let hex = |text: &str| u32::from_str_radix(text, 16).unwrap();
    let port = |address: &str| hex(address.rsplit(':').next().unwrap()) as u16;
    table
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (sent, received) = fields[4].split_once(':').unwrap();
            let state = hex(fields[3]) as u8;
            (
                port(fields[1]),
                port(fields[2]),
                state,
                hex(sent),
                hex(received),
            )
        })
        .collect()
}

/// Waits until the client connected to the played server on `server_port` has read everything the
/// server sent it: first the client's system has acknowledged every byte (they are in its receive
/// queue), then that queue is empty (the client's read took them).
fn wait_until_read(server_port: u16) {
    const ESTABLISHED: u8 = 1;
    let mut client_port = 0;
    wait_until("the client's system to acknowledge the piece", || {
        tcp_queues().iter().any(|&(local, remote, state, sent, _)| {
            client_port = remote;
            local == server_port && state == ESTABLISHED && sent == 0
        })
    });
    wait_until("the client to read the piece", || {
        tcp_queues().iter().any(|&(local, remote, _, _, received)| {
            local == client_port && remote == server_port && received == 0
        })
    });
}

/// A client running for one test: killed when dropped, if the test fails before it ends.
struct Killed(Child);

impl std::ops::Deref for Killed {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A stream of a running client, read by a thread as it comes.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn new(mut stream: impl Read + Send + 'static) -> Captured {
        let captured = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&captured);
        thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(count @ 1..) = stream.read(&mut buffer) {
                collected
                    .lock()
                    .unwrap()
                    .extend_from_slice(&buffer[..count]);
            }
        });
        Captured(captured)
    }

    /// The whole lines received so far.
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap();
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        lines(&bytes[..whole])
    }
}

/// Whether `line` is `pattern`, in which each `*` stands for any text (a time, a task number).
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether `lines` are the `patterns`, one for one.
fn lines_match(patterns: &[String], lines: &[String]) -> bool {
    patterns.len() == lines.len()
        && patterns
            .iter()
            .zip(lines)
            .all(|(pattern, line)| line_matches(pattern, line))
}

/// What a client prints in [`interrupted_midway`]'s run, line by line (`*` for any text).
#[derive(Default)]
struct Midway {
    /// Before Ctrl-C, once the finished server's poem is in: on stdout and on stderr.
    finished: Vec<String>,
    finished_err: Vec<String>,
    /// On stdout, once the stalled server's first piece (10 bytes) is read; `None` when the
    /// stalled server must send nothing (the stack clients end the program at the first byte).
    piece: Option<Vec<String>>,
    /// On stdout, after Ctrl-C: the summary of what finished.
    summary: Vec<String>,
    /// On stderr, after Ctrl-C and before the `interrupted` line.
    summary_err: Vec<String>,
}

/// Runs `client` (with `options`) against two servers played by the test, presses Ctrl-C, and
/// checks what it printed and its status (130) against `expected`, given the ports of the servers.
///
/// The first server sends its whole poem (science.txt, or an empty one to the stack demos whose
/// first byte ends the program; or it is a port with no server, for `get-poetry-4-stack`, where any
/// poem would end the program) and closes; the second one accepts, and stalls. The transform
/// clients (6, 7, 8) get a played transform server first. Ctrl-C is pressed once the client has
/// printed what it prints for the finished poem, and the stalled server's first piece has been
/// read, so that each run prints the same lines.
fn interrupted_midway(client: &str, options: &[&str], expected: impl Fn(u16, u16) -> Midway) {
    let stack_demo = client.ends_with("-stack");
    let (finished_port, finished) = if client == "get-poetry-4-stack" {
        (closed_port(), None)
    } else {
        let poem = if stack_demo {
            Vec::new()
        } else {
            poem("science.txt")
        };
        let (port, closed) = finished_server(poem);
        (port, Some(closed))
    };
    let (stalled_port, accepted) = stalled_server();
    let transform = ["get-poetry-6", "get-poetry-7", "get-poetry-8"]
        .contains(&client)
        .then(transform_server);
    let expected = expected(finished_port, stalled_port);
    let mut args: Vec<String> = options.iter().map(|arg| arg.to_string()).collect();
    args.extend(transform.iter().map(|(port, _)| port.to_string()));
    args.extend([finished_port.to_string(), stalled_port.to_string()]);

    let mut child = Killed(
        Command::new(program(client))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = Captured::new(child.stdout.take().unwrap());
    let stderr = Captured::new(child.stderr.take().unwrap());
    // Each played server's end says that the client has closed its connection: for the reactor
    // clients, which run one callback at a time, that the poem has been dealt with.
    for done in finished
        .iter()
        .chain(transform.iter().map(|(_, done)| done))
    {
        done.recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{client}: a played server never saw the client close"));
    }
    let mut stalled = accepted
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{client} never connected to the stalled server"));
    wait_until(
        format_args!(
            "{client} to print {:?} and {:?}",
            expected.finished, expected.finished_err
        ),
        || {
            lines_match(&expected.finished, &stdout.lines())
                && lines_match(&expected.finished_err, &stderr.lines())
        },
    );
    let mut printed = expected.finished.clone();
    if let Some(piece) = &expected.piece {
        stalled.write_all(b"0123456789").unwrap();
        printed.extend(piece.iter().cloned());
        wait_until(format_args!("{client} to print {printed:?}"), || {
            lines_match(&printed, &stdout.lines())
        });
        if client == "get-poetry-1-broken" {
            // It prints nothing for a piece: this tells that it is blocked in a read.
            wait_until_read(stalled_port);
        }
    }

    wait_for_sigint_handler(child.id());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut code = None;
    wait_until(format_args!("{client} to end after Ctrl-C"), || {
        code = child.try_wait().unwrap().map(|status| status.code());
        code.is_some()
    });
    let code = code.flatten();
    // The threads reading the pipes see their end once the client is gone.
    wait_until("the client's output to end", || {
        Arc::strong_count(&stdout.0) == 1 && Arc::strong_count(&stderr.0) == 1
    });
    let (out, err) = (stdout.lines(), stderr.lines());
    assert_eq!(code, Some(130), "{client}: {out:?} {err:?}");
    printed.extend(expected.summary);
    assert!(
        lines_match(&printed, &out),
        "{client}: expected\n{printed:#?}\ngot\n{out:#?}"
    );
    let mut said = expected.finished_err;
    said.extend(expected.summary_err);
    said.push(format!("{client}: interrupted by SIGINT"));
    assert!(
        lines_match(&said, &err),
        "{client}: expected\n{said:#?}\ngot\n{err:#?}"
    );
}

/// The lines of a poem as the clients print it: its own lines, then an empty one.
fn printed_poem(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.push(String::new());
    lines
}

/// How the clients name a server in their lines: as given, and as Twisted prints an address.
fn plain(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn twisted(port: u16) -> String {
    format!("IPv4Address(type='TCP', host='127.0.0.1', port={port})")
}

#[test]
fn ctrl_c_stops_every_client_with_status_130() {
    let science = String::from_utf8(poem("science.txt")).unwrap();
    let lowered = science.to_lowercase();
    let size = science.len();
    let strings = |lines: &[&str]| lines.iter().map(|line| line.to_string()).collect();
    // The summary of the clients that count their poems.
    let got_one = || strings(&["Got 1 poems in *"]);

    // The blocking client reads one server after the other: the stalled one is the second.
    interrupted_midway("get-poetry-blocking", &[], |done, stalled| Midway {
        finished: vec![
            format!("Task 1: get poetry from: {}", plain(done)),
            format!(
                "Task 1: got {size} bytes of poetry from {} in *",
                plain(done)
            ),
            format!("Task 2: get poetry from: {}", plain(stalled)),
        ],
        piece: Some(Vec::new()),
        summary: got_one(),
        ..Midway::default()
    });
    // The clients that print a line for every piece.
    for client in ["get-poetry-async", "get-poetry-1"] {
        interrupted_midway(client, &[], |done, stalled| Midway {
            finished: vec![
                format!("Task 1: got {size} bytes of poetry from {}", plain(done)),
                "Task 1 finished".to_owned(),
            ],
            piece: Some(vec![format!(
                "Task 2: got 10 bytes of poetry from {}",
                plain(stalled)
            )]),
            summary: match client {
                "get-poetry-1" => vec![
                    format!("Task 1: {size} bytes of poetry"),
                    "Got 1 poems in *".to_owned(),
                ],
                _ => got_one(),
            },
            ..Midway::default()
        });
    }
    // Its callback blocked in a read, the broken client says why the reactor did not stop.
    interrupted_midway("get-poetry-1-broken", &[], |done, _| Midway {
        finished: vec![format!(
            "Task 1: got {size} bytes of poetry from {}",
            plain(done)
        )],
        piece: Some(Vec::new()),
        summary: vec![
            format!("Task 1: {size} bytes of poetry"),
            "Got 1 poems in *".to_owned(),
        ],
        summary_err: vec![
            "get-poetry-1-broken: the reactor has not stopped 1s after Ctrl-C: a callback is \
             blocking it"
                .to_owned(),
        ],
        ..Midway::default()
    });
    // Task numbers follow the order the connections succeed, which is up to the system.
    interrupted_midway("get-poetry-2", &[], |done, stalled| Midway {
        finished: vec![format!(
            "Task *: got {size} bytes of poetry from {}",
            twisted(done)
        )],
        piece: Some(vec![format!(
            "Task *: got 10 bytes of poetry from {}",
            twisted(stalled)
        )]),
        summary: got_one(),
        ..Midway::default()
    });
    // The clients that print the poems at the end.
    for client in [
        "get-poetry-2-simple",
        "get-poetry-3",
        "get-poetry-3-1",
        "get-poetry-4",
    ] {
        interrupted_midway(client, &[], |_, _| Midway {
            piece: Some(Vec::new()),
            summary: printed_poem(&science),
            ..Midway::default()
        });
    }
    // The stack demos: an empty poem, as any byte would end the program; for 4.0, a failure, as
    // any poem would.
    interrupted_midway("get-poetry-2-stack", &[], |_, _| Midway {
        summary: got_one(),
        ..Midway::default()
    });
    interrupted_midway("get-poetry-4-stack", &[], |_, _| Midway {
        finished_err: vec![
            "Poem failed: ConnectionRefusedError: Connection was refused by other side: 111: \
             Connection refused."
                .to_owned(),
        ],
        ..Midway::default()
    });
    // The clients that print each poem as soon as it is ready, cummingsified (seed 3 lower-cases
    // the first poem).
    for (client, options) in [
        ("get-poetry-5", &["--seed", "3"][..]),
        ("get-poetry-5-1", &["--seed", "3"]),
        ("get-poetry-7", &[]),
        ("get-poetry-8", &[]),
    ] {
        interrupted_midway(client, options, |_, _| Midway {
            finished: printed_poem(&lowered),
            piece: Some(Vec::new()),
            ..Midway::default()
        });
    }
    interrupted_midway("get-poetry-6", &[], |_, _| Midway {
        piece: Some(Vec::new()),
        summary: printed_poem(&lowered),
        ..Midway::default()
    });
    // Rust's own models print each piece, and each poem as soon as it is whole.
    for client in ["get-poetry-threads", "get-poetry-tokio"] {
        interrupted_midway(client, &[], |done, stalled| {
            let mut finished = vec![format!(
                "Task 1: got {size} bytes of poetry from {}",
                plain(done)
            )];
            finished.extend(printed_poem(&science));
            Midway {
                finished,
                piece: Some(vec![format!(
                    "Task 2: got 10 bytes of poetry from {}",
                    plain(stalled)
                )]),
                ..Midway::default()
            }
        });
    }
}

#[test]
fn an_interrupted_timing_client_does_not_say_finished() {
    let (code, out, err) = interrupted("timing-client", &["--kind", "poetry"]);
    assert_eq!(code, Some(130));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].starts_with("0 of 1 requests answered in "),
        "{out:?}"
    );
    assert_eq!(err, ["timing-client: interrupted by SIGINT"]);
}

#[test]
fn a_port_in_use_is_reported_once() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let poem = poem_path("ecstasy.txt");
    let poem = poem.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("poetryd.pid");
    for (name, args) in [
        (
            "fastpoetry-2",
            vec!["--iface", "127.0.0.1", "--port", &port, "--poem", poem],
        ),
        (
            "poetryd",
            vec![
                "--nodaemon",
                "--pidfile",
                pid_file.to_str().unwrap(),
                "slowpoetry",
                "--iface",
                "127.0.0.1",
                "--port",
                &port,
                "--poem",
                poem,
            ],
        ),
    ] {
        let output = run(name, &args);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let err = lines(&output.stderr);
        assert_eq!(err.len(), 1, "{name}: {err:?}");
        assert!(err[0].contains("Address already in use"), "{name}: {err:?}");
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(!out.contains("Address already in use"), "{name}: {out}");
    }
}

/// The frames of a stack demo's backtrace (the lines naming a function), and its last line.
fn frames(stack: &str) -> (Vec<&str>, &str) {
    let names = stack
        .lines()
        .filter(|line| !line.trim_start().starts_with("at ") && !line.contains("..."))
        .collect();
    (names, stack.lines().last().unwrap())
}

#[test]
fn the_stack_demos_show_only_our_frames_and_count_the_others() {
    let server = Server::slow("science.txt", &["--delay", "1ms"]);
    for client in ["get-poetry-2-stack", "get-poetry-4-stack"] {
        let output = run(client, &[&server.arg()]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let stack = String::from_utf8(output.stderr).unwrap();
        let (names, last) = frames(&stack);
        for name in &names {
            assert!(
                name.contains("get_poetry_") || name.contains("common::"),
                "{client}: {name}\n{stack}"
            );
        }
        let counted = last
            .trim_start()
            .strip_prefix("... ")
            .and_then(|rest| rest.strip_suffix(" frames of std and tokio"))
            .unwrap_or_else(|| panic!("{client}: no count at the end of\n{stack}"));
        assert!(counted.parse::<u32>().unwrap() > 0, "{stack}");
    }
}
