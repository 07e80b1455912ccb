//! End-to-end tests of the EuroPython 2011 training's clients of the uppercase server: the blocking
//! `multiclient` and `threadedclient`, the reactor's `simpleclient-1` to `simpleclient-4-ex`, and
//! `timing-client` printing the training's `timingclient.py` lines.
//!
//! Each test starts its own uppercase server in a thread (what the training's `upperserver.py` does:
//! a greeting, then the first piece of data received upper-cased, then the end of the connection),
//! on a free port, and records the bytes each connection sent it.

mod support;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{closed_port, lines, program, run};

/// What the uppercase server sends first, on every connection (LF only, as the original).
const GREETING: &[u8] = b"Hi! Send me text to convert to uppercase\n";

/// How long a test waits for a program before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// An uppercase server in a thread, for one test.
struct UpperServer {
    port: u16,
    /// The first piece of data of each connection, in the order they arrived.
    received: Receiver<Vec<u8>>,
}

impl UpperServer {
    fn start() -> UpperServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, received) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let sender = sender.clone();
                thread::spawn(move || serve_upper(stream, &sender));
            }
        });
        UpperServer { port, received }
    }

    /// The address as the clients take it.
    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The first pieces of data of `count` connections, in the order they arrived.
    fn requests(&self, count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|_| self.received.recv_timeout(PATIENCE).expect("a request"))
            .collect()
    }

    /// The same, sorted, for clients whose requests arrive in any order.
    fn sorted_requests(&self, count: usize) -> Vec<Vec<u8>> {
        let mut requests = self.requests(count);
        requests.sort();
        requests
    }
}

/// One connection of the uppercase server: greet, upper-case the first piece of data, close.
fn serve_upper(mut stream: TcpStream, received: &mpsc::Sender<Vec<u8>>) {
    let _ = stream.write_all(GREETING);
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let mut buffer = [0; 65536];
    if let Ok(count @ 1..) = stream.read(&mut buffer) {
        let piece = &buffer[..count];
        let _ = received.send(piece.to_vec());
        let _ = stream.write_all(&piece.to_ascii_uppercase());
    }
}

/// A server that accepts connections and never answers nor closes them (for a while): for the
/// timeouts.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            thread::spawn(move || {
                thread::sleep(PATIENCE);
                drop(stream);
            });
        }
    });
    port
}

/// What the uppercase server answers `text`: the greeting and the text upper-cased, with CR LF.
fn answer(text: &[u8]) -> Vec<u8> {
    [GREETING, &text.to_ascii_uppercase(), b"\r\n"].concat()
}

/// What a client sends for `text`.
fn request(text: &[u8]) -> Vec<u8> {
    [text, b"\r\n"].concat()
}

/// Runs a program with byte-string arguments.
fn run_bytes(name: &str, args: &[&[u8]]) -> Output {
    Command::new(program(name))
        .args(args.iter().map(|arg| OsStr::from_bytes(arg)))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Whether `text` is a float as Python 2 prints it (`str(float)`, 12 significant digits at most):
/// `0.00183367729187`, `5.0`, `1.5e-05`.
fn is_python_float(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let significant = |whole: &str, fraction: &str| {
        let all = format!("{whole}{fraction}");
        let all = all.trim_start_matches('0').trim_end_matches('0');
        all.len() <= 12
    };
    if let Some((mantissa, exponent)) = text.split_once('e') {
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let exponent_ok = exponent.len() >= 3
            && (exponent.starts_with('-') || exponent.starts_with('+'))
            && digits(&exponent[1..]);
        return exponent_ok
            && whole.len() == 1
            && digits(whole)
            && whole != "0"
            && (fraction.is_empty() || (digits(fraction) && !fraction.ends_with('0')))
            && significant(whole, fraction);
    }
    let Some((whole, fraction)) = text.split_once('.') else {
        return false;
    };
    digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && digits(fraction)
        && (fraction == "0" || !fraction.ends_with('0'))
        && significant(whole, fraction)
}

#[test]
fn python_floats_are_recognised() {
    for good in [
        "0.00183367729187",
        "5.0",
        "1.00394248962",
        "2.006673812",
        "1e-05",
    ] {
        assert!(is_python_float(good), "{good}");
    }
    for bad in [
        "5",
        "5.",
        "1.50",
        "0.0018336772918701",
        "1.0039424896240234",
        "1e-5",
        "x",
    ] {
        assert!(!is_python_float(bad), "{bad}");
    }
}

/// Removes `piece` from `rest` once, failing if it is not there.
fn take_once(rest: &mut Vec<u8>, piece: &[u8]) {
    let at = rest
        .windows(piece.len())
        .position(|window| window == piece)
        .unwrap_or_else(|| {
            panic!(
                "{:?} not in {:?}",
                String::from_utf8_lossy(piece),
                String::from_utf8_lossy(rest)
            )
        });
    rest.drain(at..at + piece.len());
}

/// A program running in the background, its output read by threads as it comes.
struct Running {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(program(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |mut stream: Box<dyn Read + Send>| {
            let collected = Arc::new(Mutex::new(Vec::new()));
            let into = Arc::clone(&collected);
            thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(count @ 1..) = stream.read(&mut buffer) {
                    into.lock().unwrap().extend_from_slice(&buffer[..count]);
                }
            });
            collected
        };
        let out = collect(Box::new(child.stdout.take().unwrap()));
        let err = collect(Box::new(child.stderr.take().unwrap()));
        Running { child, out, err }
    }

    /// Waits until what the program printed on stdout and stderr satisfies `done`.
    fn wait_for(&self, done: impl Fn(&[u8], &[u8]) -> bool) {
        let started = Instant::now();
        while !done(&self.out.lock().unwrap(), &self.err.lock().unwrap()) {
            assert!(
                started.elapsed() < PATIENCE,
                "never got the expected output; stdout {:?}, stderr {:?}",
                String::from_utf8_lossy(&self.out.lock().unwrap()),
                String::from_utf8_lossy(&self.err.lock().unwrap())
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the program is still running.
    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the program to end; gives its status and output.
    fn interrupt(mut self) -> (ExitStatus, Vec<u8>, Vec<u8>) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < PATIENCE, "still running after SIGINT");
            thread::sleep(Duration::from_millis(10));
        };
        // The readers see the end of the pipes once the program is gone.
        let wait_for_readers = Instant::now();
        while Arc::strong_count(&self.out) > 1 || Arc::strong_count(&self.err) > 1 {
            assert!(wait_for_readers.elapsed() < PATIENCE);
            thread::sleep(Duration::from_millis(5));
        }
        let out = self.out.lock().unwrap().clone();
        let err = self.err.lock().unwrap().clone();
        (status, out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The line a reactor client prints on stderr for a request refused by `port`'s host.
fn refused(text: &str) -> String {
    format!("request {text} failed: Connection was refused by other side: 111: Connection refused.")
}

// ---- multiclient ----

#[test]
fn multiclient_prints_each_answer_in_turn() {
    let server = UpperServer::start();
    let output = run(
        "multiclient",
        &[&server.address(), "a", "b", "twisted is cool"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let expected = [
        &b"sending a\n"[..],
        &answer(b"a"),
        b"\n",
        b"sending b\n",
        &answer(b"b"),
        b"\n",
        b"sending twisted is cool\n",
        &answer(b"twisted is cool"),
        b"\n",
    ]
    .concat();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(output.stdout, expected);
    // One after another: the requests reach the server in the order given.
    assert_eq!(
        server.requests(3),
        [request(b"a"), request(b"b"), request(b"twisted is cool")]
    );
}

#[test]
fn multiclient_sends_and_prints_raw_bytes() {
    let server = UpperServer::start();
    let text: &[u8] = b"caf\xc3\xa9 \xff";
    let output = run_bytes("multiclient", &[server.address().as_bytes(), text]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        output.stdout,
        [
            b"sending caf\xc3\xa9 \xff\n",
            GREETING,
            b"CAF\xc3\xa9 \xff\r\n\n"
        ]
        .concat()
    );
    assert_eq!(server.requests(1), [request(text)]);
}

#[test]
fn multiclient_stops_at_the_first_refused_request() {
    let port = closed_port();
    let output = run("multiclient", &[&format!("127.0.0.1:{port}"), "a", "b"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stdout), ["sending a"]);
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "request a failed: cannot connect to 127.0.0.1:{port}: Connection refused"
        )]
    );
}

#[test]
fn multiclient_gives_up_on_a_server_that_never_closes() {
    let port = silent_server();
    let started = Instant::now();
    let output = run(
        "multiclient",
        &["--timeout", "300ms", &format!("127.0.0.1:{port}"), "a", "b"],
    );
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stdout), ["sending a"]);
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "request a failed: 127.0.0.1:{port} had not answered after 300ms"
        )]
    );
}

#[test]
fn multiclient_with_no_text_does_nothing() {
    let server = UpperServer::start();
    let output = run("multiclient", &[&server.address()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

// ---- threadedclient ----

#[test]
fn threadedclient_prints_every_answer_then_finished() {
    let server = UpperServer::start();
    let texts = ["a", "b", "c", "d"];
    let mut args = vec![server.address()];
    args.extend(texts.iter().map(|text| text.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run("threadedclient", &args);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // Any order, but each line and each answer whole, and `finished` last.
    let mut rest = output.stdout.clone();
    assert!(rest.ends_with(b"\nfinished\n"), "{rest:?}");
    rest.truncate(rest.len() - b"finished\n".len());
    for text in texts {
        take_once(&mut rest, format!("sending {text}\n").as_bytes());
        take_once(
            &mut rest,
            &[answer(text.as_bytes()), b"\n".to_vec()].concat(),
        );
    }
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert_eq!(
        server.sorted_requests(4),
        texts.map(|text| request(text.as_bytes()))
    );
}

#[test]
fn threadedclient_reports_each_failed_request_and_still_finishes() {
    let port = closed_port();
    let output = run("threadedclient", &[&format!("127.0.0.1:{port}"), "a", "b"]);
    assert_eq!(output.status.code(), Some(1));
    let mut out = lines(&output.stdout);
    assert_eq!(out.pop().as_deref(), Some("finished"));
    out.sort();
    assert_eq!(out, ["sending a", "sending b"]);
    let mut err = lines(&output.stderr);
    err.sort();
    assert_eq!(
        err,
        ["a", "b"].map(|text| format!(
            "request {text} failed: cannot connect to 127.0.0.1:{port}: Connection refused"
        ))
    );
}

#[test]
fn threadedclient_gives_up_on_a_server_that_never_closes() {
    let port = silent_server();
    let output = run(
        "threadedclient",
        &["--timeout", "0.3", &format!("127.0.0.1:{port}"), "a"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stdout), ["sending a", "finished"]);
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "request a failed: 127.0.0.1:{port} had not answered after 300ms"
        )]
    );
}

// ---- simpleclient-1 and simpleclient-2: they never stop by themselves ----

#[test]
fn simpleclient_1_prints_the_pieces_and_runs_until_interrupted() {
    let server = UpperServer::start();
    let mut client = Running::start("simpleclient-1", &[&server.address(), "a", "b", "c"]);
    let all_in = |out: &[u8], _: &[u8]| {
        [&b"A\r\n\n"[..], b"B\r\n\n", b"C\r\n\n"]
            .iter()
            .all(|end| contains(out, end))
    };
    client.wait_for(all_in);
    // Still running once every answer is in: that is version 1's flaw.
    thread::sleep(Duration::from_millis(200));
    assert!(client.is_running());
    let (status, out, err) = client.interrupt();
    assert_eq!(status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&err), "");
    assert!(
        out.starts_with(b"sending a\nsending b\nsending c\n"),
        "{out:?}"
    );
    // Each piece is printed with a newline after it; an answer comes as one piece, or as two
    // (greeting, then the text), so the greeting is followed by one newline or two.
    let mut rest = out[b"sending a\nsending b\nsending c\n".len()..].to_vec();
    for text in [&b"A"[..], b"B", b"C"] {
        take_once(&mut rest, &[text, b"\r\n\n"].concat());
    }
    for _ in 0..3 {
        take_once(&mut rest, GREETING);
    }
    assert!(rest.iter().all(|&byte| byte == b'\n'), "{rest:?}");
    assert!(rest.len() <= 3, "{rest:?}");
    assert_eq!(
        server.sorted_requests(3),
        [request(b"a"), request(b"b"), request(b"c")]
    );
}

#[test]
fn simpleclient_1_says_when_a_connection_is_refused() {
    let port = closed_port();
    let client = Running::start("simpleclient-1", &[&format!("127.0.0.1:{port}"), "a"]);
    client.wait_for(|_, err| err.ends_with(b"\n"));
    let (status, out, err) = client.interrupt();
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines(&out), ["sending a"]);
    assert_eq!(lines(&err), [refused("a")]);
}

#[test]
fn simpleclient_2_prints_each_whole_answer_and_runs_until_interrupted() {
    let server = UpperServer::start();
    let texts = ["a", "b", "c", "d"];
    let mut args = vec![server.address()];
    args.extend(texts.iter().map(|text| text.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Running::start("simpleclient-2", &args);
    let block = |text: &str| {
        [
            format!("received response for {text}\n").into_bytes(),
            answer(text.as_bytes()),
            b"\n".to_vec(),
        ]
        .concat()
    };
    client.wait_for(|out, _| texts.iter().all(|text| contains(out, &block(text))));
    // Still running once every answer is in, as version 1.
    thread::sleep(Duration::from_millis(200));
    assert!(client.is_running());
    let (status, out, err) = client.interrupt();
    assert_eq!(status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&err), "");
    let sending = b"sending a\nsending b\nsending c\nsending d\n";
    assert!(out.starts_with(sending), "{out:?}");
    let mut rest = out[sending.len()..].to_vec();
    for text in texts {
        take_once(&mut rest, &block(text));
    }
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert_eq!(
        server.sorted_requests(4),
        texts.map(|t| request(t.as_bytes()))
    );
}

#[test]
fn simpleclient_2_says_when_a_connection_is_refused() {
    let port = closed_port();
    let client = Running::start("simpleclient-2", &[&format!("127.0.0.1:{port}"), "a", "b"]);
    client.wait_for(|_, err| err.iter().filter(|&&byte| byte == b'\n').count() == 2);
    let (status, out, err) = client.interrupt();
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines(&out), ["sending a", "sending b"]);
    let mut err = lines(&err);
    err.sort();
    assert_eq!(err, [refused("a"), refused("b")]);
}

// ---- simpleclient-3, -4 and -4-ex: the DeferredList stops them ----

#[test]
fn simpleclient_3_stops_after_the_last_answer() {
    let server = UpperServer::start();
    let output = run("simpleclient-3", &[&server.address(), "a", "b", "c"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let sending = b"sending a\nsending b\nsending c\n";
    assert!(output.stdout.starts_with(sending));
    let mut rest = output.stdout[sending.len()..].to_vec();
    for text in ["a", "b", "c"] {
        let block = [
            format!("received response for {text}\n").into_bytes(),
            answer(text.as_bytes()),
            b"\n".to_vec(),
        ]
        .concat();
        take_once(&mut rest, &block);
    }
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert_eq!(
        server.sorted_requests(3),
        [request(b"a"), request(b"b"), request(b"c")]
    );
}

#[test]
fn simpleclient_3_with_no_text_ends_at_once() {
    let server = UpperServer::start();
    let started = Instant::now();
    let output = run("simpleclient-3", &[&server.address()]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn simpleclient_3_counts_a_refused_request_as_done() {
    let port = closed_port();
    let output = run("simpleclient-3", &[&format!("127.0.0.1:{port}"), "a", "b"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stdout), ["sending a", "sending b"]);
    let mut err = lines(&output.stderr);
    err.sort();
    assert_eq!(err, [refused("a"), refused("b")]);
}

/// The text of a `request <text> took <seconds>` line, after checking the seconds' form.
fn took(line: &str) -> &str {
    let rest = line
        .strip_prefix("request ")
        .unwrap_or_else(|| panic!("{line}"));
    let (text, seconds) = rest
        .rsplit_once(" took ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(is_python_float(seconds), "{line}");
    text
}

/// Checks the closing `finished, took <seconds>` line.
fn assert_finished(line: &str) {
    let seconds = line
        .strip_prefix("finished, took ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(is_python_float(seconds), "{line}");
}

#[test]
fn simpleclient_4_times_each_request_and_the_whole() {
    let server = UpperServer::start();
    let output = run("simpleclient-4", &[&server.address(), "a", "b", "c", "d"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 9, "{out:?}");
    assert_eq!(
        out[..4],
        ["sending a", "sending b", "sending c", "sending d"]
    );
    let mut timed: Vec<&str> = out[4..8].iter().map(|line| took(line)).collect();
    timed.sort_unstable();
    assert_eq!(timed, ["a", "b", "c", "d"]);
    assert_finished(&out[8]);
    assert_eq!(server.sorted_requests(4).len(), 4);
}

#[test]
fn simpleclient_4_with_no_text_only_finishes() {
    let server = UpperServer::start();
    let output = run("simpleclient-4", &[&server.address()]);
    assert_eq!(output.status.code(), Some(0));
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_finished(&out[0]);
}

#[test]
fn simpleclient_4_counts_a_refused_request_as_done() {
    let port = closed_port();
    let output = run("simpleclient-4", &[&format!("127.0.0.1:{port}"), "a"]);
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], "sending a");
    assert_finished(&out[1]);
    assert_eq!(lines(&output.stderr), [refused("a")]);
}

#[test]
fn simpleclient_4_ex_prints_the_results_in_argument_order() {
    let server = UpperServer::start();
    let texts: [&[u8]; 4] = [b"a", b"don't", b"caf\xc3\xa9", b"d"];
    let mut args = vec![server.address().into_bytes()];
    args.extend(texts.iter().map(|text| text.to_vec()));
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let output = run_bytes("simpleclient-4-ex", &args);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 13, "{out:?}");
    assert_eq!(
        out[..4],
        ["sending a", "sending don't", "sending café", "sending d"]
    );
    let mut timed: Vec<&str> = out[4..8].iter().map(|line| took(line)).collect();
    timed.sort_unstable();
    assert_eq!(timed, ["a", "café", "d", "don't"]);
    // In the order of the command line, whatever the order the answers came in.
    assert_eq!(
        out[8..12],
        [
            "('a', 'Hi! Send me text to convert to uppercase\\nA\\r\\n')",
            "(\"don't\", \"Hi! Send me text to convert to uppercase\\nDON'T\\r\\n\")",
            "('caf\\xc3\\xa9', 'Hi! Send me text to convert to uppercase\\nCAF\\xc3\\xa9\\r\\n')",
            "('d', 'Hi! Send me text to convert to uppercase\\nD\\r\\n')",
        ]
    );
    assert_finished(&out[12]);
    let mut sent = server.sorted_requests(4);
    let mut expected: Vec<Vec<u8>> = texts.iter().map(|text| request(text)).collect();
    sent.sort();
    expected.sort();
    assert_eq!(sent, expected);
}

#[test]
fn simpleclient_4_ex_shows_a_refused_request_as_its_failure() {
    let port = closed_port();
    let output = run("simpleclient-4-ex", &[&format!("127.0.0.1:{port}"), "a"]);
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0], "sending a");
    assert_eq!(
        out[1],
        "<Failure common::protocol::ConnectError: Connection was refused by other side: 111: \
         Connection refused.>"
    );
    assert_finished(&out[2]);
    assert_eq!(lines(&output.stderr), [refused("a")]);
}

// ---- timing-client as the training's timingclient.py ----

#[test]
fn timing_client_prints_the_training_lines() {
    let server = UpperServer::start();
    let output = run(
        "timing-client",
        &[
            "--time-format",
            "python",
            &server.address(),
            "a",
            "b",
            "c",
            "d",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 5, "{out:?}");
    let mut names: Vec<&str> = out[..4]
        .iter()
        .map(|line| {
            let (name, seconds) = line.split_once(" took ").unwrap();
            assert!(is_python_float(seconds), "{line}");
            name
        })
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b", "c", "d"]);
    let total = out[4].strip_prefix("finished in ").unwrap();
    assert!(is_python_float(total), "{}", out[4]);
    assert_eq!(
        server.sorted_requests(4),
        [request(b"a"), request(b"b"), request(b"c"), request(b"d")]
    );
}

// ---- the command line ----

const CLIENTS: [&str; 7] = [
    "multiclient",
    "threadedclient",
    "simpleclient-1",
    "simpleclient-2",
    "simpleclient-3",
    "simpleclient-4",
    "simpleclient-4-ex",
];

#[test]
fn a_bad_address_is_a_usage_error() {
    for client in CLIENTS {
        for (address, message) in [
            ("localhost", "port must be a whole number, not 'localhost'"),
            (
                "a:b:1",
                "'a:b:1' has more than one ':': write an IPv6 address in brackets, as [a:b]:1",
            ),
            ("127.0.0.1:70000", "port 70000 is not in 1..=65535"),
        ] {
            let output = run(client, &[address, "a"]);
            assert_eq!(output.status.code(), Some(2), "{client} {address}");
            assert!(output.stdout.is_empty(), "{client} {address}");
            let err = lines(&output.stderr);
            assert!(
                err[0].starts_with("error: invalid value") && err[0].ends_with(message),
                "{client}: {err:?}"
            );
        }
    }
    for client in ["multiclient", "threadedclient"] {
        let output = run(client, &["--timeout", "soon", "127.0.0.1:8000", "a"]);
        assert_eq!(output.status.code(), Some(2), "{client}");
        assert!(output.stdout.is_empty(), "{client}");
    }
}

#[test]
fn no_arguments_print_the_help() {
    for client in CLIENTS {
        let output = run(client, &[]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("EuroPython"), "{client}: {help}");
        assert!(help.contains("HOST:PORT"), "{client}: {help}");
        let output = run(client, &["--help"]);
        assert_eq!(output.status.code(), Some(0), "{client}");
    }
}
