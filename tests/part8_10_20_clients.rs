//! End-to-end tests of the clients of Parts 8, 10, 20 and 21: `get-poetry-4` (4.0) and
//! `get-poetry-4-stack`, `get-poetry-5` (5.0) and `get-poetry-5-1` (5.1), and the same client in
//! Rust's own models, `get-poetry-tokio` and `get-poetry-threads`, each run against real servers on
//! free ports.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, sleep};
use std::time::{Duration, Instant};

use support::{Server, closed_port, lines, poem, poem_path, program, run};

const CLIENTS: [&str; 6] = [
    "get-poetry-4",
    "get-poetry-4-stack",
    "get-poetry-5",
    "get-poetry-5-1",
    "get-poetry-tokio",
    "get-poetry-threads",
];

/// The two versions of the transforming client.
const TRANSFORMING: [&str; 2] = ["get-poetry-5", "get-poetry-5-1"];

/// The client without Deferreds, in its two models.
const NATIVE: [&str; 2] = ["get-poetry-tokio", "get-poetry-threads"];

/// Seeds whose first draw is each outcome of the Cummingsifier, found by trying.
const SEED_LOWER_CASE: &str = "3";
const SEED_GIBBERISH: &str = "1";
const SEED_CANNOT_CUMMINGSIFY: &str = "0";

const REFUSED: &str = "Connection was refused by other side: 111: Connection refused.";

/// A Fast Poetry server (the whole poem at once) for a poem of `poetry/`.
fn fast(poem_name: &str) -> Server {
    Server::start("fastpoetry", &[poem_path(poem_name).to_str().unwrap()])
}

/// What the clients that print poems print for these poems, in this order: each poem, then an
/// empty line.
fn printed(poems: &[Vec<u8>]) -> Vec<u8> {
    let mut text = Vec::new();
    for poem in poems {
        text.extend_from_slice(poem);
        text.push(b'\n');
    }
    text
}

/// A poem the way the Cummingsifier writes it.
fn lower_cased(poem_name: &str) -> Vec<u8> {
    String::from_utf8(poem(poem_name))
        .unwrap()
        .to_lowercase()
        .into_bytes()
}

fn saved(dir: &Path, n: usize) -> Vec<u8> {
    fs::read(dir.join(format!("poem-{n}.txt"))).unwrap()
}

/// Compares two byte strings as text, so that a failure shows the difference readably.
fn assert_text(actual: &[u8], expected: &[u8]) {
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(expected)
    );
}

/// A server that accepts one connection, sends `data`, then resets the connection (an abortive
/// close, as when a server crashes): the client sees the connection lost, not a clean end.
fn resetting_server(data: &'static [u8]) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // A reset that arrives before the client has seen its connection complete fails the
        // connection attempt instead: give the client time to be reading.
        sleep(Duration::from_millis(300));
        stream.write_all(data).unwrap();
        let socket = tokio::net::TcpSocket::from_std_stream(stream);
        // A linger time of zero makes the close send a reset; nothing blocks on it.
        #[allow(deprecated)]
        socket.set_linger(Some(Duration::ZERO)).unwrap();
    });
    (port, handle)
}

/// A client running in the background, its stdout collected as it comes; killed when dropped.
struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    fn start(client: &str, args: &[&str]) -> Running {
        let mut child = Command::new(program(client))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&stdout);
        thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(count) = out.read(&mut buffer) {
                if count == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .extend_from_slice(&buffer[..count]);
            }
        });
        Running { child, stdout }
    }

    /// Waits (five seconds at most) until the client has printed `expected`, and checks that it
    /// is still running then.
    fn wait_for_output_while_running(&mut self, expected: &[u8]) {
        let started = Instant::now();
        loop {
            let found = {
                let out = self.stdout.lock().unwrap();
                out.windows(expected.len()).any(|window| window == expected)
            };
            if found {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never printed; got {}",
                String::from_utf8_lossy(&self.stdout.lock().unwrap())
            );
            sleep(Duration::from_millis(10));
        }
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the client printed it only as it ended"
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Client 4.0.

#[test]
fn client_4_prints_the_poems_in_the_order_they_end_and_reports_failures() {
    let science = Server::slow("science.txt", &["--delay", "5ms"]);
    let alla_sera = fast("alla_sera.txt");
    let dead = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        "get-poetry-4",
        &[
            &science.arg(),
            &dead.to_string(),
            &alla_sera.arg(),
            "--save-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!("Poem failed: ConnectionRefusedError: {REFUSED}")]
    );
    assert_text(
        &output.stdout,
        &printed(&[poem("alla_sera.txt"), poem("science.txt")]),
    );
    // Saved by task, the place of the address on the command line, not in the order printed.
    assert!(saved(dir.path(), 1) == poem("science.txt"));
    assert!(saved(dir.path(), 3) == poem("alla_sera.txt"));
    assert!(!dir.path().join("poem-2.txt").exists());
}

#[test]
fn client_4_exits_0_when_every_poem_arrives() {
    let ecstasy = Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", "2ms"]);
    let alla_sera = fast("alla_sera.txt");
    let output = run(
        "get-poetry-4",
        &[&ecstasy.arg(), &alla_sera.arg(), "--timeout", "10"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
    assert_text(
        &output.stdout,
        &printed(&[poem("alla_sera.txt"), poem("ecstasy.txt")]),
    );
}

#[test]
fn client_4_fails_a_late_poem_with_its_own_timeout_error() {
    // The first chunk goes at once, the next one ten seconds later.
    let late = Server::slow("science.txt", &["--delay", "10"]);
    let alla_sera = fast("alla_sera.txt");
    let started = Instant::now();
    let output = run(
        "get-poetry-4",
        &[&late.arg(), &alla_sera.arg(), "--timeout", "200ms"],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        ["Poem failed: TimeoutError: the poem took longer than 200ms"]
    );
    assert_text(&output.stdout, &printed(&[poem("alla_sera.txt")]));
}

#[test]
fn client_4_fails_a_poem_whose_connection_is_reset() {
    let (port, server) = resetting_server(b"The first line of a poem\n");
    let output = run("get-poetry-4", &[&port.to_string()]);
    server.join().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = lines(&output.stderr);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with(
            "Poem failed: ConnectionLost: Connection to the other side was lost in a non-clean \
             fashion: "
        ),
        "{err:?}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn client_4_stack_shows_the_reactor_calling_the_deferreds_callback() {
    let server = fast("science.txt");
    let output = run("get-poetry-4-stack", &[&server.arg()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output.stdout), ["The Rust stack:"]);
    let stack = String::from_utf8(output.stderr).unwrap();
    // A backtrace lists the innermost call first: our callback, the Deferred firing it, our
    // factory and protocol, the reactor's stream code that saw the connection close, its loop, main.
    let at = |frame: &str| {
        stack
            .find(frame)
            .unwrap_or_else(|| panic!("no {frame} in the stack:\n{stack}"))
    };
    let frames = [
        at("get_poetry_4_stack::got_poem"),
        at("common::defer::Deferred<T>::callback"),
        at("get_poetry_4_stack::PoetryClientFactory::poem_finished"),
        at("as common::protocol::Protocol>::connection_lost"),
        at("common::reactor::stream::"),
        at("common::reactor::Reactor::run"),
        at("get_poetry_4_stack::main"),
    ];
    assert!(frames.is_sorted(), "{frames:?}\n{stack}");
}

#[test]
fn client_4_stack_reports_failures_and_exits_1_without_a_poem() {
    let dead = closed_port();
    let output = run("get-poetry-4-stack", &[&dead.to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!("Poem failed: ConnectionRefusedError: {REFUSED}")]
    );
    assert!(output.stdout.is_empty());
}

// Clients 5.0 and 5.1.

#[test]
fn client_5_prints_the_cummingsified_poem() {
    for client in TRANSFORMING {
        let alla_sera = fast("alla_sera.txt");
        let dir = tempfile::tempdir().unwrap();
        let output = run(
            client,
            &[
                &alla_sera.arg(),
                "--seed",
                SEED_LOWER_CASE,
                "--save-dir",
                dir.path().to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{client}");
        assert!(output.stderr.is_empty(), "{client}");
        assert_text(&output.stdout, &printed(&[lower_cased("alla_sera.txt")]));
        assert!(
            saved(dir.path(), 1) == lower_cased("alla_sera.txt"),
            "{client}"
        );
    }
}

#[test]
fn client_5_reports_gibberish_as_a_failed_download() {
    for client in TRANSFORMING {
        let alla_sera = fast("alla_sera.txt");
        let output = run(client, &[&alla_sera.arg(), "--seed", SEED_GIBBERISH]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            ["The poem download failed."],
            "{client}"
        );
        assert!(output.stdout.is_empty(), "{client}");
    }
}

#[test]
fn client_5_prints_the_original_poem_as_text_when_the_transform_fails() {
    for client in TRANSFORMING {
        let alla_sera = fast("alla_sera.txt");
        let output = run(
            client,
            &[&alla_sera.arg(), "--seed", SEED_CANNOT_CUMMINGSIFY],
        );
        assert_eq!(output.status.code(), Some(0), "{client}");
        assert!(output.stderr.is_empty(), "{client}");
        let mut expected = b"Cummingsify failed!\n".to_vec();
        expected.extend(printed(&[poem("alla_sera.txt")]));
        assert_text(&output.stdout, &expected);
    }
}

#[test]
fn client_5_reports_a_refused_connection_as_a_failed_download() {
    for client in TRANSFORMING {
        let dead = closed_port();
        let output = run(client, &[&dead.to_string(), "--seed", SEED_LOWER_CASE]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            ["The poem download failed."],
            "{client}"
        );
        assert!(output.stdout.is_empty(), "{client}");
    }
}

#[test]
fn client_5_repeats_a_run_with_the_same_seed() {
    for client in TRANSFORMING {
        let science = fast("science.txt");
        let port = science.arg();
        // The same server six times: whatever the order of arrival, the same draws give the same
        // output.
        let args = [port.as_str(); 6];
        let with_seed = |seed: &str| {
            let mut all = args.to_vec();
            all.extend_from_slice(&["--seed", seed]);
            run(client, &all)
        };
        let (first, second) = (with_seed("2024"), with_seed("2024"));
        assert_eq!(first.status.code(), second.status.code(), "{client}");
        assert_text(&first.stdout, &second.stdout);
        assert_text(&first.stderr, &second.stderr);
        // Six draws from three outcomes: some poem came through, transformed or not.
        assert!(!first.stdout.is_empty(), "{client}");
    }
}

#[test]
fn client_5_prints_each_poem_while_others_are_still_coming() {
    for client in TRANSFORMING {
        let alla_sera = fast("alla_sera.txt");
        let late = Server::slow("science.txt", &["--delay", "10"]);
        let mut running = Running::start(
            client,
            &[&late.arg(), &alla_sera.arg(), "--seed", SEED_LOWER_CASE],
        );
        running.wait_for_output_while_running(&lower_cased("alla_sera.txt"));
    }
}

// The client without Deferreds: tokio tasks, and threads.

/// The task number, byte count and port of a progress line.
fn progress(line: &str) -> Option<(usize, usize, u16)> {
    let rest = line.strip_prefix("Task ")?;
    let (task, rest) = rest.split_once(": got ")?;
    let (bytes, from) = rest.split_once(" bytes of poetry from 127.0.0.1:")?;
    Some((task.parse().ok()?, bytes.parse().ok()?, from.parse().ok()?))
}

/// Splits what a native client printed into its progress lines and the rest (the poems).
fn split_progress(stdout: &[u8]) -> (Vec<(usize, usize, u16)>, Vec<u8>) {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut steps = Vec::new();
    let mut rest = Vec::new();
    for line in text.split_inclusive('\n') {
        match progress(line.trim_end_matches('\n')) {
            Some(step) => steps.push(step),
            None => rest.extend_from_slice(line.as_bytes()),
        }
    }
    (steps, rest)
}

#[test]
fn native_clients_print_every_piece_and_each_poem_as_it_arrives() {
    for client in NATIVE {
        let ecstasy = Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", "5ms"]);
        let alla_sera = fast("alla_sera.txt");
        let dead = closed_port();
        let dir = tempfile::tempdir().unwrap();
        let output = run(
            client,
            &[
                &ecstasy.arg(),
                &alla_sera.arg(),
                &dead.to_string(),
                "--save-dir",
                dir.path().to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "Task 3: failed to connect to 127.0.0.1:{dead}: Connection refused"
            )],
            "{client}"
        );

        let (steps, poems) = split_progress(&output.stdout);
        let ports: HashMap<usize, u16> = [(1, ecstasy.port), (2, alla_sera.port)].into();
        let mut received: HashMap<usize, usize> = HashMap::new();
        for (task, bytes, port) in steps {
            assert_eq!(ports.get(&task), Some(&port), "{client}: task {task}");
            *received.entry(task).or_default() += bytes;
        }
        assert_eq!(received[&1], poem("ecstasy.txt").len(), "{client}");
        assert_eq!(received[&2], poem("alla_sera.txt").len(), "{client}");
        // The fast poem is printed first: each poem as soon as it is complete.
        assert_text(
            &poems,
            &printed(&[poem("alla_sera.txt"), poem("ecstasy.txt")]),
        );
        assert!(saved(dir.path(), 1) == poem("ecstasy.txt"), "{client}");
        assert!(saved(dir.path(), 2) == poem("alla_sera.txt"), "{client}");
    }
}

#[test]
fn native_clients_download_at_the_same_time() {
    for client in NATIVE {
        let science = Server::slow("science.txt", &["--delay", "5ms"]);
        let alla_sera = Server::slow("alla_sera.txt", &["--delay", "5ms"]);
        let output = run(client, &[&science.arg(), &alla_sera.arg()]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        assert!(output.stderr.is_empty(), "{client}");
        let (steps, _) = split_progress(&output.stdout);
        let tasks: Vec<usize> = steps.iter().map(|(task, _, _)| *task).collect();
        // One after the other, the tasks would form two blocks; interleaved, there are many.
        let switches = tasks.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(switches >= 10, "{client}: {tasks:?}");
    }
}

#[test]
fn native_clients_print_a_poem_while_another_is_still_coming() {
    for client in NATIVE {
        let alla_sera = fast("alla_sera.txt");
        let late = Server::slow("science.txt", &["--delay", "10"]);
        let mut running = Running::start(client, &[&late.arg(), &alla_sera.arg()]);
        running.wait_for_output_while_running(&poem("alla_sera.txt"));
    }
}

#[test]
fn native_clients_time_out_a_late_poem() {
    for client in NATIVE {
        let late = Server::slow("science.txt", &["--delay", "10"]);
        let started = Instant::now();
        let output = run(client, &[&late.arg(), "--timeout", "200ms"]);
        assert!(started.elapsed() < Duration::from_secs(5), "{client}");
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            ["Task 1: timed out after 200ms"],
            "{client}"
        );
        assert_eq!(
            lines(&output.stdout),
            [format!(
                "Task 1: got 10 bytes of poetry from 127.0.0.1:{}",
                late.port
            )],
            "{client}"
        );
    }
}

#[test]
fn native_clients_report_a_connection_reset() {
    for client in NATIVE {
        let (port, server) = resetting_server(b"The first line of a poem\n");
        let output = run(client, &[&port.to_string()]);
        server.join().unwrap();
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "Task 1: lost the connection to 127.0.0.1:{port}: Connection reset by peer"
            )],
            "{client}"
        );
    }
}

// All six.

#[test]
fn no_address_prints_help_and_exits_0() {
    for client in CLIENTS {
        let output = run(client, &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let help = String::from_utf8(output.stdout).unwrap();
        let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let part = match client {
            "get-poetry-4" | "get-poetry-4-stack" => "tutorial Part 8",
            "get-poetry-5" | "get-poetry-5-1" => "tutorial Part 10",
            _ => "tutorial Parts 20 and 21",
        };
        assert!(words.contains(part), "{client}: {help}");
        assert!(words.contains("[host:]port"), "{client}: {help}");
        assert!(words.contains("--timeout"), "{client}: {help}");
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
    for client in TRANSFORMING {
        let output = run(client, &["--seed", "-1", "10000"]);
        assert_eq!(output.status.code(), Some(2), "{client}");
    }
}

// --progress.

/// The lines of a captured stream, sorted: for output whose order depends on which server answers
/// first.
fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut all = lines(bytes);
    all.sort();
    all
}

#[test]
fn progress_changes_nothing_when_piped() {
    let alla_sera = fast("alla_sera.txt");
    let science = fast("science.txt");
    let dead = closed_port().to_string();
    for client in [
        "get-poetry-4",
        "get-poetry-5",
        "get-poetry-5-1",
        "get-poetry-tokio",
        "get-poetry-threads",
    ] {
        let transforming = TRANSFORMING.contains(&client);
        let mut args = if transforming {
            // The draws follow the order the poems arrive: with the same poem twice, that order
            // changes nothing, and the whole output can be compared.
            vec![alla_sera.arg(), dead.clone(), alla_sera.arg()]
        } else {
            vec![alla_sera.arg(), dead.clone(), science.arg()]
        };
        if transforming {
            args.extend(["--seed".to_owned(), "2024".to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let plain = run(client, &args);
        let with_progress = run(client, &[&["--progress"], &args[..]].concat());

        assert_eq!(plain.status.code(), Some(1), "{client}");
        assert_eq!(with_progress.status.code(), Some(1), "{client}");
        assert!(!plain.stdout.is_empty(), "{client}");
        if transforming {
            assert_text(&with_progress.stdout, &plain.stdout);
            assert_text(&with_progress.stderr, &plain.stderr);
        } else {
            assert_eq!(
                sorted_lines(&with_progress.stdout),
                sorted_lines(&plain.stdout),
                "{client}"
            );
            assert_eq!(
                sorted_lines(&with_progress.stderr),
                sorted_lines(&plain.stderr),
                "{client}"
            );
        }
    }
}
