//! The limits of the tutorial's poetry clients: `--max-poem-size`, which every client that keeps a
//! poem in memory takes, and `--timeout` of `get-poetry-async`.
//!
//! The poetry protocol has no length: a poem ends when the server closes. Against a server that
//! never does, a client without a limit fills the memory at the speed of the network. Here the test
//! plays that server itself, on a socket of its own, and each client must give up at 1 MiB: one
//! failure line in the client's own words, exit status 1, the connection closed at once, and the
//! other downloads of the run still arriving.

mod support;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::{Server, lines, poem, poem_path, program};

/// The limit every client is given here, as typed and as the clients print it.
const LIMIT: &str = "1MiB";
const TOO_LARGE: &str = "the poem is larger than 1 MiB";

/// The most the endless server sends to one client before it closes after all. A client that
/// ignored the limit would get a poem this large (and the test would fail), not an endless one.
const CAP: usize = 64 << 20;

/// The longest the endless server keeps a connection, whatever the client does.
const SEND_FOR: Duration = Duration::from_secs(10);

/// A generous bound on a client's whole run: each run here takes a second or two at most.
const PATIENCE: Duration = Duration::from_secs(30);

/// The poem the other server of each run serves, which must still arrive.
const GOOD_POEM: &str = "science.txt";

/// How the endless server's connection with one client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client closed the connection, after this many bytes had been sent.
    HungUp(usize),
    /// The server sent [`CAP`] bytes, or sent for [`SEND_FOR`], and closed.
    Capped,
    /// The client stopped reading without closing.
    Stalled,
}

/// A poetry server whose poem never ends: the same verse, again and again, to every client, until
/// the client hangs up (or the bounds above are reached). It runs on threads of the test, and
/// stops when dropped.
struct EndlessServer {
    port: u16,
    endings: Arc<Mutex<Vec<Ending>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl EndlessServer {
    fn start() -> EndlessServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let endings = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (for_acceptor, stopping) = (Arc::clone(&endings), Arc::clone(&stop));
        let acceptor = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let endings = Arc::clone(&for_acceptor);
                        thread::spawn(move || {
                            let ending = send_for_ever(stream);
                            endings.lock().unwrap().push(ending);
                        });
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(error) => panic!("the endless server cannot accept: {error}"),
                }
            }
        });
        EndlessServer {
            port,
            endings,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn arg(&self) -> String {
        self.port.to_string()
    }

    /// How the first connection ended, waiting for it to end (it does within [`SEND_FOR`]).
    fn first_ending(&self) -> Ending {
        let started = Instant::now();
        loop {
            if let Some(&ending) = self.endings.lock().unwrap().first() {
                return ending;
            }
            assert!(
                started.elapsed() < SEND_FOR * 2,
                "the endless server's connection never ended"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for EndlessServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Sends a verse over and over until the client hangs up, or the bounds are reached.
fn send_for_ever(mut stream: TcpStream) -> Ending {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let verse = b"And still the poem goes on, and on, and on.\n";
    let chunk: Vec<u8> = verse.iter().copied().cycle().take(64 * 1024).collect();
    let started = Instant::now();
    let mut sent = 0;
    while sent < CAP && started.elapsed() < SEND_FOR {
        match stream.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ending::Stalled;
            }
            Err(_) => return Ending::HungUp(sent),
        }
    }
    Ending::Capped
}

/// Runs `client` with `args`, and gives what it printed, its status and how long it took.
fn run_timed(client: &str, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(program(client))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (output, started.elapsed())
}

/// What a test expects of one client given the endless server: its failure line, and where the
/// other poem shows.
struct Case<'a> {
    client: &'a str,
    /// Options of this client's own, besides the addresses and the limit.
    options: &'a [&'a str],
    /// The failure line, given the endless server's port. Client 2.0 numbers its tasks as the
    /// connections are made, so its line may be either of two: hence a list, of which one must be
    /// printed.
    failure_lines: fn(u16) -> Vec<String>,
    /// Whether the client is also given a good server, whose poem must arrive: saved under the
    /// save directory (`--save-dir`), or else printed on stdout.
    good_poem: GoodPoem,
}

enum GoodPoem {
    /// No other server: the client is run against the endless one alone.
    None,
    /// Saved in the `--save-dir` directory, as it was, or lower-cased by the Cummingsifier.
    Saved { lower_cased: bool },
    /// Printed on stdout, lower-cased by the transform server, which the client is given first.
    PrintedTransformed,
}

/// Runs one case and checks everything a user would see: the failure line, the exit status, that
/// the client ended soon, that the other poem arrived, and that the endless server saw the client
/// hang up long before it stopped sending by itself.
fn check(case: Case<'_>) {
    let endless = EndlessServer::start();
    let good = Server::start("fastpoetry", &[poem_path(GOOD_POEM).to_str().unwrap()]);
    let transform = matches!(case.good_poem, GoodPoem::PrintedTransformed)
        .then(|| Server::start("transformedpoetry", &[]));
    let dir = tempfile::tempdir().unwrap();
    let save_dir = dir.path().to_str().unwrap();

    let (endless_port, good_port) = (endless.arg(), good.arg());
    let mut args: Vec<&str> = Vec::new();
    let transform_port = transform.as_ref().map(Server::arg);
    if let Some(port) = &transform_port {
        args.push(port);
    }
    args.push(&endless_port);
    if !matches!(case.good_poem, GoodPoem::None) {
        args.push(&good_port);
    }
    args.extend_from_slice(&["--max-poem-size", LIMIT]);
    if matches!(case.good_poem, GoodPoem::Saved { .. }) {
        args.extend_from_slice(&["--save-dir", save_dir]);
    }
    args.extend_from_slice(case.options);

    let (output, took) = run_timed(case.client, &args);
    let client = case.client;
    let stderr = lines(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = (case.failure_lines)(endless.port);
    assert!(
        expected.iter().any(|line| stderr.contains(line)),
        "{client}: none of {expected:#?} in {stderr:#?}"
    );
    assert_eq!(output.status.code(), Some(1), "{client}: {stderr:#?}");
    assert!(took < PATIENCE, "{client} took {took:?}");
    let ending = endless.first_ending();
    assert!(
        matches!(ending, Ending::HungUp(_)),
        "{client}: the endless server's connection ended as {ending:?}"
    );

    match case.good_poem {
        GoodPoem::None => {}
        GoodPoem::Saved { lower_cased } => {
            let expected = if lower_cased {
                lowered(GOOD_POEM).into_bytes()
            } else {
                poem(GOOD_POEM)
            };
            assert_eq!(saved_poems(dir.path()), [expected], "{client}: {stderr:#?}");
        }
        GoodPoem::PrintedTransformed => {
            assert!(
                stdout.contains(&lowered(GOOD_POEM)),
                "{client} printed {stdout}"
            );
        }
    }
}

/// The poems a client saved with `--save-dir`, whatever their numbers.
fn saved_poems(dir: &Path) -> Vec<Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| fs::read(entry.unwrap().path()).unwrap())
        .collect()
}

/// A poem of `poetry/` as the Cummingsifier writes it.
fn lowered(poem_name: &str) -> String {
    String::from_utf8(poem(poem_name)).unwrap().to_lowercase()
}

/// The endless server's address as the clients that name their servers print it.
fn local(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The endless server's address as a Twisted-style peer prints it.
fn python_peer(port: u16) -> String {
    format!("IPv4Address(type='TCP', host='127.0.0.1', port={port})")
}

// ---- Every client gives up at the limit, and the other downloads go on ----

#[test]
fn the_blocking_client_gives_up_at_the_limit() {
    check(Case {
        client: "get-poetry-blocking",
        options: &[],
        failure_lines: |port| {
            vec![format!(
                "Task 1: failed to get poetry from {}: {TOO_LARGE}",
                local(port)
            )]
        },
        good_poem: GoodPoem::Saved { lower_cased: false },
    });
}

#[test]
fn the_clients_that_read_their_own_sockets_give_up_at_the_limit() {
    // The poll loop's --timeout, far off, must not get in the way of the limit.
    let clients: [(&str, &[&str]); 3] = [
        ("get-poetry-async", &["--timeout", "20"]),
        ("get-poetry-1", &[]),
        ("get-poetry-1-broken", &[]),
    ];
    for (client, options) in clients {
        check(Case {
            client,
            options,
            failure_lines: |port| vec![format!("Task 1: gave up on {}: {TOO_LARGE}", local(port))],
            good_poem: GoodPoem::Saved { lower_cased: false },
        });
    }
}

#[test]
fn client_2_0_gives_up_at_the_limit() {
    check(Case {
        client: "get-poetry-2",
        options: &[],
        failure_lines: |_| {
            vec![
                format!("Task 1: {TOO_LARGE}"),
                format!("Task 2: {TOO_LARGE}"),
            ]
        },
        good_poem: GoodPoem::Saved { lower_cased: false },
    });
}

#[test]
fn client_2_1_gives_up_at_the_limit() {
    check(Case {
        client: "get-poetry-2-simple",
        options: &[],
        failure_lines: |port| {
            vec![format!(
                "Poem from {} failed: {TOO_LARGE}",
                python_peer(port)
            )]
        },
        good_poem: GoodPoem::Saved { lower_cased: false },
    });
}

/// Client 3.0 cannot tell its caller that a poem failed (the lesson of Part 6): it says so itself,
/// and only its `--timeout` ends the wait, after twice the timeout.
#[test]
fn client_3_0_gives_up_at_the_limit_and_waits_for_its_timeout() {
    check(Case {
        client: "get-poetry-3",
        options: &["--timeout", "1"],
        failure_lines: |port| {
            vec![format!(
                "Poem from {} failed: {TOO_LARGE}",
                python_peer(port)
            )]
        },
        good_poem: GoodPoem::Saved { lower_cased: false },
    });
}

#[test]
fn the_clients_with_errbacks_give_up_at_the_limit() {
    for client in ["get-poetry-3-1", "get-poetry-4"] {
        check(Case {
            client,
            options: &[],
            failure_lines: |_| vec![format!("Poem failed: PoemTooLarge: {TOO_LARGE}")],
            good_poem: GoodPoem::Saved { lower_cased: false },
        });
    }
}

/// Client 4.0 with stacktrace ends the program at the first poem that arrives: it is run against
/// the endless server alone.
#[test]
fn client_4_0_with_stacktrace_gives_up_at_the_limit() {
    check(Case {
        client: "get-poetry-4-stack",
        options: &[],
        failure_lines: |_| vec![format!("Poem failed: PoemTooLarge: {TOO_LARGE}")],
        good_poem: GoodPoem::None,
    });
}

/// Clients 5.0 and 5.1 say only that a download failed, as the tutorial's do. The seed makes the
/// Cummingsifier's first draw, for the good poem, a success.
#[test]
fn clients_5_give_up_at_the_limit() {
    for client in ["get-poetry-5", "get-poetry-5-1"] {
        check(Case {
            client,
            options: &["--seed", "3"],
            failure_lines: |_| vec!["The poem download failed.".to_owned()],
            good_poem: GoodPoem::Saved { lower_cased: true },
        });
    }
}

#[test]
fn client_6_0_gives_up_at_the_limit() {
    check(Case {
        client: "get-poetry-6",
        options: &[],
        // Said as the download fails, then the failure itself at the end.
        failure_lines: |_| vec![format!("[Failure instance: PoemTooLarge: {TOO_LARGE}]")],
        good_poem: GoodPoem::PrintedTransformed,
    });
}

#[test]
fn clients_7_0_and_8_0_give_up_at_the_limit() {
    for client in ["get-poetry-7", "get-poetry-8"] {
        check(Case {
            client,
            options: &[],
            failure_lines: |_| vec![format!("The poem download failed: {TOO_LARGE}")],
            good_poem: GoodPoem::PrintedTransformed,
        });
    }
}

#[test]
fn the_tokio_and_threads_clients_give_up_at_the_limit() {
    for client in ["get-poetry-tokio", "get-poetry-threads"] {
        check(Case {
            client,
            options: &[],
            failure_lines: |port| vec![format!("Task 1: gave up on {}: {TOO_LARGE}", local(port))],
            good_poem: GoodPoem::Saved { lower_cased: false },
        });
    }
}

// ---- What the limit costs, and what it lets through ----

/// The largest resident size of any child of this test program so far, in bytes: the kernel keeps
/// it for the children a process has waited for (`getrusage(RUSAGE_CHILDREN)`).
fn children_peak_memory() -> usize {
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    // Linux counts it in kilobytes.
    usize::try_from(usage.max_rss()).unwrap() * 1024
}

/// A client that gives up at 1 MiB never holds much more than that. The measure covers every child
/// this test program has waited for, all of them small (clients under a limit, small servers), and
/// it is taken after each client: without the limit, the client would hold the 64 MiB the endless
/// server sends before it closes, and the peak would pass the bound.
#[test]
fn a_client_given_up_at_the_limit_stays_small() {
    const SMALL: usize = 48 << 20;
    for client in ["get-poetry-async", "get-poetry-2", "get-poetry-6"] {
        let endless = EndlessServer::start();
        let transform = Server::start("transformedpoetry", &[]);
        let (transform_port, endless_port) = (transform.arg(), endless.arg());
        let mut args = vec![&endless_port[..], "--max-poem-size", LIMIT];
        if client == "get-poetry-6" {
            args.insert(0, &transform_port);
        }
        let (output, _) = run_timed(client, &args);
        assert_eq!(output.status.code(), Some(1), "{client}");
        let peak = children_peak_memory();
        assert!(
            peak < SMALL,
            "after {client}, a child's peak was {peak} bytes"
        );
    }
}

/// A test-local server that sends one poem of `size` bytes to each client, then closes.
fn finite_server(size: usize) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let poem: Vec<u8> = b"A long poem, but a finite one.\n"
            .iter()
            .copied()
            .cycle()
            .take(size)
            .collect();
        // One client per test, as the test runs it.
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        stream.write_all(&poem).unwrap();
    });
    (port, handle)
}

/// A poem of several MiB arrives whole under the default limit, and a poem exactly as large as the
/// limit is not refused.
#[test]
fn a_large_poem_arrives_under_the_limit() {
    const SIZE: usize = 3 << 20;
    for (client, limit) in [
        ("get-poetry-async", None),
        ("get-poetry-2", None),
        ("get-poetry-tokio", None),
        ("get-poetry-2", Some("3MiB")),
        ("get-poetry-blocking", Some("3145728")),
    ] {
        let (port, server) = finite_server(SIZE);
        let dir = tempfile::tempdir().unwrap();
        let port = port.to_string();
        let mut args = vec![&port[..], "--save-dir", dir.path().to_str().unwrap()];
        if let Some(limit) = limit {
            args.extend_from_slice(&["--max-poem-size", limit]);
        }
        let (output, _) = run_timed(client, &args);
        server.join().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{client} {limit:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let saved = saved_poems(dir.path());
        assert_eq!(saved.len(), 1, "{client} {limit:?}");
        assert_eq!(saved[0].len(), SIZE, "{client} {limit:?}");
    }
}

/// A size the parser refuses is a usage error that says what it expects.
#[test]
fn a_bad_size_is_a_usage_error() {
    let (output, _) = run_timed("get-poetry-2", &["--max-poem-size", "64M", "10000"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "'64M' has an unknown unit 'M': use B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB \
             (powers of 1024)"
        ),
        "{stderr}"
    );
}

// ---- get-poetry-async --timeout ----

/// A server that accepts a connection and never sends a byte: it holds the connection until the
/// client closes it, for [`SEND_FOR`] at most.
fn silent_server() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(SEND_FOR)).unwrap();
        let _ = stream.read(&mut [0; 16]);
    });
    (port, handle)
}

/// The poll loop gives up when `--timeout` is up: the download still open fails with the line
/// the other clients print for a late poem, and the poem that did arrive is reported and saved.
#[test]
fn get_poetry_async_gives_up_at_its_timeout() {
    let (silent, server) = silent_server();
    let good = Server::start("fastpoetry", &[poem_path(GOOD_POEM).to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let silent = silent.to_string();
    let (output, took) = run_timed(
        "get-poetry-async",
        &[
            &silent,
            &good.arg(),
            "--timeout",
            "500ms",
            "--save-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    server.join().unwrap();
    let stderr = lines(&output.stderr);
    assert_eq!(stderr, ["Task 1: timed out after 500ms"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = lines(&output.stdout);
    assert!(stdout.contains(&format!(
        "Task 2: {} bytes of poetry",
        poem(GOOD_POEM).len()
    )));
    assert!(stdout.last().unwrap().starts_with("Got 1 poems in "));
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < PATIENCE, "{took:?}");
    assert_eq!(
        fs::read(dir.path().join("poem-2.txt")).unwrap(),
        poem(GOOD_POEM)
    );
}

/// A timeout longer than the run changes nothing.
#[test]
fn get_poetry_async_with_time_to_spare_gets_every_poem() {
    let good = Server::start("fastpoetry", &[poem_path(GOOD_POEM).to_str().unwrap()]);
    let (output, _) = run_timed("get-poetry-async", &[&good.arg(), "--timeout", "20"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());
}
