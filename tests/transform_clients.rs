//! End-to-end tests of Part 12's poetry transform server (`transformedpoetry`), its hand-test
//! script (`scripts/transform-test.sh`), and the clients that use it: `get-poetry-6` (Part 13),
//! `get-poetry-7` (Part 17) and `get-poetry-8` (Part 18).
//!
//! Where a test must decide when something happens (a poem that arrives late, a transform server
//! that never answers), the test itself plays that server on a socket of its own.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use support::{Server, closed_port, lines, poem, poem_path, program, run};

const CLIENTS: [&str; 3] = ["get-poetry-6", "get-poetry-7", "get-poetry-8"];

/// How long a test waits for anything before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the clients print when the transform server on `port` cannot be reached (client 7.0 adds
/// the reason).
fn cummingsify_failed(client: &str, reason: &str) -> String {
    if client == "get-poetry-7" {
        format!("Cummingsify failed! {reason}")
    } else {
        "Cummingsify failed!".to_owned()
    }
}

const REFUSED: &str = "Connection was refused by other side: 111: Connection refused.";

fn transform_server() -> Server {
    Server::start("transformedpoetry", &[])
}

fn fast(poem_name: &str) -> Server {
    Server::start("fastpoetry", &[poem_path(poem_name).to_str().unwrap()])
}

/// A poem of `poetry/` as the transform server's cummingsify returns it.
fn lowered(poem_name: &str) -> String {
    String::from_utf8(poem(poem_name)).unwrap().to_lowercase()
}

fn original(poem_name: &str) -> String {
    String::from_utf8(poem(poem_name)).unwrap()
}

/// What the clients print for these poems, in this order: each poem, then an empty line.
fn printed(poems: &[&str]) -> String {
    poems.iter().map(|poem| format!("{poem}\n")).collect()
}

/// Sends `request` to the server on `port` and returns everything it sends back before closing.
/// A reset counts as a close: a server that closes with unread input resets the connection.
fn ask(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request).unwrap();
    read_until_closed(&mut stream)
}

fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reply = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return reply,
            Ok(count) => reply.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return reply,
            Err(error) => panic!("the connection did not close: {error}"),
        }
    }
}

fn netstring(payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!("{}:", payload.len()).into_bytes();
    encoded.extend_from_slice(payload);
    encoded.push(b',');
    encoded
}

// ---- The transform server ----

#[test]
fn the_server_announces_its_address_and_answers_the_tutorial_request() {
    let server = transform_server();
    assert_eq!(
        server.startup_line,
        format!(
            "Serving transforms on IPv4Address(type='TCP', host='127.0.0.1', port={}).",
            server.port
        )
    );
    assert_eq!(
        ask(server.port, b"27:cummingsify.HERE IS MY POEM,"),
        b"15:here is my poem,"
    );
    let (out, err) = server.stop();
    assert!(out.is_empty() && err.is_empty(), "{out:?} {err:?}");
}

#[test]
fn every_transform_handles_utf8_and_counts_bytes() {
    let server = transform_server();
    let cases: [(&str, &str); 6] = [
        ("cummingsify.ÉTÉ À Paris", "été à paris"),
        ("shout.été à Paris", "ÉTÉ À PARIS"),
        ("reverse.first\nsecond\nthird\n", "third\nsecond\nfirst\n"),
        ("reverse.Stop.\nCafé.", "Café.\nStop."),
        ("cummingsify.", ""),
        ("cummingsify.Dots. In. The. Poem.", "dots. in. the. poem."),
    ];
    for (request, expected) in cases {
        assert_eq!(
            String::from_utf8(ask(server.port, &netstring(request.as_bytes()))).unwrap(),
            String::from_utf8(netstring(expected.as_bytes())).unwrap(),
            "{request:?}"
        );
    }
    assert_eq!(ask(server.port, b"12:cummingsify.,"), b"0:,");
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let server = transform_server();
    assert_eq!(
        ask(server.port, b"14:cummingsify.AB,14:cummingsify.CD,"),
        b"2:ab,2:cd,"
    );
    let requests = [
        netstring(b"cummingsify.AB"),
        netstring(b"shout.cd"),
        netstring(b"reverse."),
    ]
    .concat();
    assert_eq!(ask(server.port, &requests), b"2:ab,2:CD,0:,");
}

#[test]
fn a_request_split_over_several_reads_is_answered_whole() {
    let server = transform_server();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    for piece in ["2", "7:cummingsify.HERE", " IS MY POEM", ","] {
        stream.write_all(piece.as_bytes()).unwrap();
        stream.flush().unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read_until_closed(&mut stream), b"15:here is my poem,");
}

#[test]
fn a_bad_request_closes_with_no_reply_is_logged_and_the_server_goes_on() {
    let server = transform_server();
    let cases: [(&[u8], &[u8], &str); 11] = [
        (b"3:abc,", b"", "no '.' after the transform's name"),
        (b"0:,", b"", "no '.' after the transform's name"),
        (
            b"15:Cummingsify.ABC,",
            b"",
            "unknown transform 'Cummingsify'",
        ),
        (
            b"13:cummingsify.\xff,",
            b"",
            "the request is not UTF-8 text",
        ),
        (
            b"abc",
            b"",
            "not a netstring: a length that is not a number",
        ),
        (
            b" 3:abc,",
            b"",
            "not a netstring: a length that is not a number",
        ),
        (
            b":abc,",
            b"",
            "not a netstring: a colon with no length before it",
        ),
        (
            b"007:abcdefg,",
            b"",
            "not a netstring: a length with a leading zero",
        ),
        (
            b"3:abcd,",
            b"",
            "not a netstring: no comma after the payload",
        ),
        (
            b"100000:",
            b"",
            "not a netstring: a length over the maximum",
        ),
        // The good request before the bad one is still answered.
        (
            b"14:cummingsify.AB,14:Cummingsify.CD,",
            b"2:ab,",
            "unknown transform 'Cummingsify'",
        ),
    ];
    for (request, reply, _) in cases {
        assert_eq!(
            ask(server.port, request),
            reply,
            "{:?}",
            String::from_utf8_lossy(request)
        );
        // The next client is served as usual.
        assert_eq!(
            ask(server.port, b"27:cummingsify.HERE IS MY POEM,"),
            b"15:here is my poem,"
        );
    }
    let (out, err) = server.stop();
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(err.len(), cases.len(), "one line per bad request: {err:?}");
    for (line, (request, _, reason)) in err.iter().zip(cases) {
        let rest = line
            .strip_prefix("bad request from 127.0.0.1:")
            .unwrap_or_else(|| panic!("{line:?}"));
        let (port, logged) = rest.split_once(": ").unwrap();
        assert!(port.parse::<u16>().is_ok(), "{line:?}");
        assert_eq!(logged, reason, "{:?}", String::from_utf8_lossy(request));
    }
}

#[test]
fn the_server_takes_no_arguments_and_lists_its_transforms() {
    let output = run("transformedpoetry", &["poetry/ecstasy.txt"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("'poetry/ecstasy.txt'"));

    let help = run("transformedpoetry", &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8(help.stdout).unwrap();
    for name in ["cummingsify", "shout", "reverse", "--port", "--iface"] {
        assert!(text.contains(name), "{name} is not in the help:\n{text}");
    }
}

#[test]
fn a_port_in_use_is_one_line_and_status_1() {
    let server = transform_server();
    let output = run("transformedpoetry", &["--port", &server.arg()]);
    assert_eq!(output.status.code(), Some(1));
    let err = lines(&output.stderr);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains(&format!("Couldn't listen on localhost:{}", server.port)),
        "{err:?}"
    );
}

// ---- scripts/transform-test.sh ----

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/transform-test.sh")
}

fn run_script(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_test_script_prints_the_servers_reply() {
    let mode = std::fs::metadata(script()).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "the script is not executable");
    let server = transform_server();
    let output = run_script(&[&server.arg()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout, b"15:here is my poem,\n");
    assert!(output.stderr.is_empty(), "{:?}", lines(&output.stderr));
}

#[test]
fn the_test_script_reports_usage_and_dead_ports_in_one_line() {
    for args in [&[][..], &["abc"], &["0"], &["1", "2"]] {
        let output = run_script(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            lines(&output.stderr),
            ["usage: scripts/transform-test.sh PORT"]
        );
    }
    let dead = closed_port();
    let output = run_script(&[&dead.to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = lines(&output.stderr);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].contains(&format!("127.0.0.1:{dead}")), "{err:?}");
}

// ---- The clients ----

/// Runs a client to completion with these servers' ports as its arguments.
fn run_client(client: &str, ports: &[u16], options: &[&str]) -> Output {
    let mut args: Vec<String> = options.iter().map(|option| option.to_string()).collect();
    args.extend(ports.iter().map(u16::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(client, &args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Whether `out` is these poems, each followed by an empty line, in either order.
fn is_both(out: &str, first: &str, second: &str) -> bool {
    out == printed(&[first, second]) || out == printed(&[second, first])
}

#[test]
fn each_client_prints_the_poems_cummingsified() {
    let xform = transform_server();
    let alla_sera = fast("alla_sera.txt");
    let fascination = fast("fascination.txt");
    for client in CLIENTS {
        let output = run_client(client, &[xform.port, alla_sera.port, fascination.port], &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        assert!(
            output.stderr.is_empty(),
            "{client}: {:?}",
            lines(&output.stderr)
        );
        let out = text(&output.stdout);
        // The accents and the curly apostrophes come back intact.
        assert!(out.contains("the café’s chairs are stacked"), "{client}");
        assert!(
            is_both(&out, &lowered("alla_sera.txt"), &lowered("fascination.txt")),
            "{client}:\n{out}"
        );
    }
}

#[test]
fn with_the_transform_server_down_the_poems_come_back_as_they_were() {
    let xform = closed_port();
    let alla_sera = fast("alla_sera.txt");
    let science = fast("science.txt");
    for client in CLIENTS {
        let output = run_client(client, &[xform, alla_sera.port, science.port], &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        assert_eq!(
            lines(&output.stderr),
            [
                cummingsify_failed(client, REFUSED),
                cummingsify_failed(client, REFUSED)
            ],
            "{client}"
        );
        let out = text(&output.stdout);
        assert!(
            is_both(&out, &original("alla_sera.txt"), &original("science.txt")),
            "{client}:\n{out}"
        );
    }
}

#[test]
fn a_dead_poetry_server_is_a_failed_download_and_status_1() {
    let xform = transform_server();
    let science = fast("science.txt");
    let dead = closed_port();
    for client in CLIENTS {
        let output = run_client(client, &[xform.port, dead, science.port], &[]);
        assert_eq!(output.status.code(), Some(1), "{client}");
        assert_eq!(text(&output.stdout), printed(&[&lowered("science.txt")]));
        let expected = if client == "get-poetry-6" {
            // As the download fails, and then its Failure, once the reactor has stopped.
            vec![
                "The poem download failed.".to_owned(),
                format!("[Failure instance: ConnectError: {REFUSED}]"),
            ]
        } else {
            vec![format!("The poem download failed: {REFUSED}")]
        };
        assert_eq!(lines(&output.stderr), expected, "{client}");
    }
}

#[test]
fn no_address_prints_the_help() {
    // One address alone is a usage error (issue 18): see tests/cli_consistency.rs.
    for client in CLIENTS {
        {
            let output = run(client, &[]);
            assert_eq!(output.status.code(), Some(0), "{client}");
            assert!(output.stderr.is_empty(), "{client}");
            let help = text(&output.stdout);
            assert!(
                help.contains(&format!(
                    "Usage: {client} [OPTIONS] [XFORM_ADDRESS] [ADDRESS]..."
                )),
                "{help}"
            );
            // The example names the program itself (the originals' 7.0 and 8.0 name client 6).
            assert!(
                help.contains(&format!("  {client} 10001 10002 10003")),
                "{help}"
            );
        }
    }
}

/// A client running in the background, its stdout read by a thread as it comes.
struct Running {
    child: Child,
    stdout: Receiver<Vec<u8>>,
    received: Vec<u8>,
}

impl Running {
    fn start(client: &str, ports: &[u16], options: &[&str]) -> Running {
        let mut child = Command::new(program(client))
            .args(options)
            .args(ports.iter().map(u16::to_string))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let (sender, stdout) = mpsc::channel();
        thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(count) = out.read(&mut buffer) {
                if count == 0 || sender.send(buffer[..count].to_vec()).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stdout,
            received: Vec::new(),
        }
    }

    /// Waits until the client has printed `expected` (and nothing else) since the last call.
    fn expect_output(&mut self, expected: &str) {
        let started = Instant::now();
        while self.received.len() < expected.len() {
            let left = PATIENCE.saturating_sub(started.elapsed());
            match self.stdout.recv_timeout(left) {
                Ok(piece) => self.received.extend(piece),
                Err(_) => panic!(
                    "the client printed only {:?}",
                    String::from_utf8_lossy(&self.received)
                ),
            }
        }
        assert_eq!(text(&self.received), expected);
        self.received.clear();
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the client to end, and returns its exit status, the rest of its stdout, and its
    /// stderr.
    fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < PATIENCE, "the client is still running");
            thread::sleep(Duration::from_millis(5));
        };
        let rest: Vec<u8> = self.stdout.iter().flatten().collect();
        self.received.extend(rest);
        let mut err = Vec::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut err)
            .unwrap();
        (status.code(), text(&self.received), lines(&err))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server played by the test: a listening socket whose connections the test accepts itself.
struct Played(TcpListener);

impl Played {
    fn new() -> Played {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Played(listener)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    /// The next connection (the test fails if none comes).
    fn accept(&self) -> TcpStream {
        let started = Instant::now();
        loop {
            match self.0.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    return stream;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    assert!(started.elapsed() < PATIENCE, "nobody connected");
                    thread::sleep(Duration::from_millis(5));
                }
                Err(error) => panic!("{error}"),
            }
        }
    }
}

/// Reads one netstring from `stream` and returns its payload.
fn read_netstring(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(colon) = received.iter().position(|&byte| byte == b':') {
            let length: usize = std::str::from_utf8(&received[..colon])
                .unwrap()
                .parse()
                .unwrap();
            if received.len() > colon + length + 1 {
                assert_eq!(received[colon + length + 1], b',');
                return received[colon + 1..colon + 1 + length].to_vec();
            }
        }
        let count = stream.read(&mut buffer).unwrap();
        assert!(count > 0, "the client closed before its request was whole");
        received.extend_from_slice(&buffer[..count]);
    }
}

/// Plays the transform server for one request: checks it asks to cummingsify `poem_name`, and
/// answers as the real server does.
fn answer_one_request(xform: &Played, poem_name: &str) {
    let mut stream = xform.accept();
    let request = read_netstring(&mut stream);
    assert_eq!(
        text(&request),
        format!("cummingsify.{}", original(poem_name))
    );
    stream
        .write_all(&netstring(lowered(poem_name).as_bytes()))
        .unwrap();
}

#[test]
fn client_6_prints_the_poems_at_the_end_in_the_order_they_were_completed() {
    let xform = Played::new();
    let held = Played::new();
    let science = fast("science.txt");
    // The held server comes first on the command line, and its poem ends last.
    let client = Running::start(
        "get-poetry-6",
        &[xform.port(), held.port(), science.port],
        &[],
    );
    let mut late = held.accept();
    answer_one_request(&xform, "science.txt");
    late.write_all(&poem("alla_sera.txt")).unwrap();
    drop(late);
    answer_one_request(&xform, "alla_sera.txt");
    let (status, out, err) = client.finish();
    assert_eq!(status, Some(0));
    assert_eq!(
        out,
        printed(&[&lowered("science.txt"), &lowered("alla_sera.txt")])
    );
    assert!(err.is_empty(), "{err:?}");
}

#[test]
fn clients_7_and_8_print_each_poem_as_soon_as_it_is_ready() {
    let xform = transform_server();
    let science = fast("science.txt");
    for client in ["get-poetry-7", "get-poetry-8"] {
        let held = Played::new();
        let mut running = Running::start(client, &[xform.port, held.port(), science.port], &[]);
        let mut late = held.accept();
        // The other poem is printed while this download is still going on.
        running.expect_output(&printed(&[&lowered("science.txt")]));
        assert!(running.is_running(), "{client}");
        late.write_all(&poem("alla_sera.txt")).unwrap();
        drop(late);
        let (status, out, err) = running.finish();
        assert_eq!(status, Some(0), "{client}");
        assert_eq!(out, printed(&[&lowered("alla_sera.txt")]), "{client}");
        assert!(err.is_empty(), "{client}: {err:?}");
    }
}

#[test]
fn a_transform_server_that_hangs_up_leaves_the_poem_as_it_was() {
    let science = fast("science.txt");
    for client in CLIENTS {
        let xform = Played::new();
        let running = Running::start(client, &[xform.port(), science.port], &[]);
        let mut stream = xform.accept();
        read_netstring(&mut stream);
        drop(stream);
        let (status, out, err) = running.finish();
        assert_eq!(status, Some(0), "{client}");
        assert_eq!(out, printed(&[&original("science.txt")]), "{client}");
        assert_eq!(
            err,
            [cummingsify_failed(
                client,
                "The transform server closed the connection without a reply."
            )],
            "{client}"
        );
    }
}

#[test]
fn timeouts_fail_a_late_poem_and_a_late_transform() {
    let science = fast("science.txt");
    for client in CLIENTS {
        // A poem that never ends: the download fails, the other poem is printed.
        let xform = transform_server();
        let held = Played::new();
        let running = Running::start(
            client,
            &[xform.port, held.port(), science.port],
            &["--timeout", "300ms"],
        );
        let _never_sent = held.accept();
        let (status, out, err) = running.finish();
        assert_eq!(status, Some(1), "{client}");
        assert_eq!(out, printed(&[&lowered("science.txt")]), "{client}");
        let expected = match client {
            "get-poetry-6" => vec![
                "The poem download failed.".to_owned(),
                "[Failure instance: PoemError: the poem took longer than 300ms]".to_owned(),
            ],
            _ => vec!["The poem download failed: the poem took longer than 300ms".to_owned()],
        };
        assert_eq!(err, expected, "{client}");

        // A transform server that never answers: the poem is kept as it was.
        let silent = Played::new();
        let running = Running::start(
            client,
            &[silent.port(), science.port],
            &["--timeout", "300ms"],
        );
        let _never_answered = silent.accept();
        let (status, out, err) = running.finish();
        assert_eq!(status, Some(0), "{client}");
        assert_eq!(out, printed(&[&original("science.txt")]), "{client}");
        assert_eq!(
            err,
            [cummingsify_failed(
                client,
                "no reply from the transform server within 300ms"
            )],
            "{client}"
        );
    }
}

#[test]
fn progress_changes_nothing_when_piped() {
    let xform = transform_server();
    let alla_sera = fast("alla_sera.txt");
    let science = fast("science.txt");
    let dead = closed_port();
    // Which poem is ready first is up to the servers: the lines are compared sorted.
    let sorted = |bytes: &[u8]| {
        let mut all = lines(bytes);
        all.sort();
        all
    };
    for client in CLIENTS {
        let ports = [xform.port, alla_sera.port, dead, science.port];
        let plain = run_client(client, &ports, &[]);
        let with_progress = run_client(client, &ports, &["--progress"]);
        assert_eq!(plain.status.code(), Some(1), "{client}");
        assert_eq!(with_progress.status.code(), Some(1), "{client}");
        assert!(!plain.stdout.is_empty(), "{client}");
        assert_eq!(
            sorted(&with_progress.stdout),
            sorted(&plain.stdout),
            "{client}"
        );
        assert_eq!(
            sorted(&with_progress.stderr),
            sorted(&plain.stderr),
            "{client}"
        );
    }
}
