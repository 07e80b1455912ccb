//! End-to-end tests of the caching poetry proxies: `poetry-proxy-1` and `poetry-proxy-2` (Part 14)
//! and `poetry-proxy-3` (Part 19).
//!
//! Each proxy runs in front of a small upstream poetry server of the test's own, which counts the
//! connections it gets, serves its poem only once the test opens its gate, and says whether the
//! proxy hung up on it before that.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use support::{Server, closed_port, lines, poem, resident_kib, run};

const PROXIES: [&str; 3] = ["poetry-proxy-1", "poetry-proxy-2", "poetry-proxy-3"];

const FETCHING: &str = "Fetching poem from server.";
const CACHED: &str = "Using cached poem.";
const WAITING: &str = "Waiting for the poem being fetched.";
const CANCELING: &str = "Canceling poem download.";

/// How long a test waits for something that must happen before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// How long a test watches for something that must not happen.
const QUIET_SPELL: Duration = Duration::from_millis(300);

/// What the upstream server saw happen on one of its connections, numbered from 1.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Connected(usize),
    /// The poem was written and the connection closed.
    Served(usize),
    /// The proxy closed the connection before the gate opened.
    LeftEarly(usize),
}

/// A poetry server for the proxy to fetch from, in threads of the test.
struct Upstream {
    port: u16,
    seen: Receiver<Seen>,
    gate: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
}

impl Upstream {
    /// A server that sends its poem as soon as a client connects.
    fn serving(poem: Vec<u8>) -> Upstream {
        Upstream::start_on(0, poem, true)
    }

    /// A server that holds every connection, sending nothing, until `open` is called.
    fn gated(poem: Vec<u8>) -> Upstream {
        Upstream::start_on(0, poem, false)
    }

    /// A server on `port` (0 for any free port), serving at once or when opened.
    fn start_on(port: u16, poem: Vec<u8>, open: bool) -> Upstream {
        let listener = bind_again(port);
        let port = listener.local_addr().unwrap().port();
        let (sender, seen) = mpsc::channel();
        let gate = Arc::new(AtomicBool::new(open));
        let connections = Arc::new(AtomicUsize::new(0));
        let (gate_for_server, count) = (Arc::clone(&gate), Arc::clone(&connections));
        let poem = Arc::new(poem);
        thread::spawn(move || {
            for socket in listener.incoming() {
                let number = count.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = sender.send(Seen::Connected(number));
                let (poem, gate, sender) = (
                    Arc::clone(&poem),
                    Arc::clone(&gate_for_server),
                    sender.clone(),
                );
                thread::spawn(move || serve(socket.unwrap(), number, &poem, &gate, &sender));
            }
        });
        Upstream {
            port,
            seen,
            gate,
            connections,
        }
    }

    /// Lets every connection, held or to come, have the poem.
    fn open(&self) {
        self.gate.store(true, Ordering::SeqCst);
    }

    fn next(&self) -> Seen {
        self.seen
            .recv_timeout(PATIENCE)
            .expect("the upstream server saw nothing more")
    }

    /// Checks that nothing happens to the upstream server for a while.
    fn stays_quiet(&self) {
        match self.seen.recv_timeout(QUIET_SPELL) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("the upstream server saw {other:?}"),
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Listens on `port`. A port given back a moment ago may have been taken meanwhile by a connection
/// of another test, as the local end it was given by the system: wait for it to be free again.
fn bind_again(port: u16) -> TcpListener {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => return listener,
            Err(error) if error.kind() == ErrorKind::AddrInUse && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("cannot listen on port {port}: {error}"),
        }
    }
}

/// One connection of the upstream server: wait for the gate, watching for the proxy hanging up;
/// then send the poem and close.
fn serve(
    mut socket: TcpStream,
    number: usize,
    poem: &[u8],
    gate: &AtomicBool,
    seen: &Sender<Seen>,
) {
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let mut buffer = [0; 64];
    while !gate.load(Ordering::SeqCst) {
        match socket.read(&mut buffer) {
            Ok(0) => {
                let _ = seen.send(Seen::LeftEarly(number));
                return;
            }
            Err(error) if !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let _ = seen.send(Seen::LeftEarly(number));
                return;
            }
            _ => {}
        }
    }
    let _ = socket.write_all(poem);
    drop(socket);
    let _ = seen.send(Seen::Served(number));
}

fn start_proxy(proxy: &str, upstream_port: u16) -> Server {
    Server::start(proxy, &[&upstream_port.to_string()])
}

/// Connects a client to the proxy.
fn connect(port: u16) -> TcpStream {
    let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket
}

/// Reads what the proxy sends until it closes the connection; a reset fails the test.
fn receive(mut socket: TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    received
}

fn fetch(port: u16) -> Vec<u8> {
    receive(connect(port))
}

/// The line a proxy prints on stderr when its download from `port` failed.
fn upstream_failed(port: u16, why: &str) -> String {
    format!("Upstream 127.0.0.1:{port} failed: {why}")
}

/// Waits until the system has completed a connection to `port` that nobody has accepted yet (it
/// sits in the listener's queue), by looking for it in Linux's table of TCP sockets.
fn wait_for_unaccepted_connection(port: u16) {
    let local = format!(":{port:04X}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        let established = table.lines().skip(1).any(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "01"
        });
        if established {
            return;
        }
        assert!(Instant::now() < deadline, "no connection to port {port}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn each_proxy_names_its_server_as_a_python_tuple_and_its_address() {
    for proxy in PROXIES {
        for (server, tuple) in [
            ("10001", "('127.0.0.1', 10001)"),
            ("localhost:10001", "('localhost', 10001)"),
            ("[::1]:10001", "('::1', 10001, 0, 0)"),
        ] {
            let running = Server::start(proxy, &[server]);
            assert_eq!(
                running.startup_line,
                format!(
                    "Proxying {tuple} on IPv4Address(type='TCP', host='127.0.0.1', port={}).",
                    running.port
                )
            );
        }
    }
}

#[test]
fn bad_arguments_are_one_message_and_status_2() {
    for proxy in PROXIES {
        for (args, message) in [
            (&[][..], "<SERVER>"),
            (&["10001", "10002"][..], "unexpected argument '10002'"),
            (&["abc"][..], "port must be a whole number, not 'abc'"),
            (&["host:70000"][..], "port 70000 is not in 1..=65535"),
            (&["--port", "x", "10001"][..], "'x' for '--port"),
        ] {
            let output = run(proxy, args);
            assert_eq!(output.status.code(), Some(2), "{proxy} {args:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(message), "{proxy} {args:?}: {stderr}");
            assert!(output.stdout.is_empty());
        }
    }
}

#[test]
fn a_port_in_use_is_one_line_and_status_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for proxy in PROXIES {
        let output = run(proxy, &["--port", &port, "--iface", "127.0.0.1", "10001"]);
        assert_eq!(output.status.code(), Some(1), "{proxy}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "{proxy}: error: Couldn't listen on 127.0.0.1:{port}: Address already in use."
            )]
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn the_first_client_fetches_the_poem_and_the_next_get_it_from_the_cache() {
    for proxy in PROXIES {
        for name in ["ecstasy.txt", "alla_sera.txt"] {
            let upstream = Upstream::serving(poem(name));
            let server = start_proxy(proxy, upstream.port);
            for _ in 0..3 {
                assert!(fetch(server.port) == poem(name), "{proxy} {name}");
            }
            assert_eq!(upstream.connections(), 1, "{proxy}");
            let (log, errors) = server.stop();
            assert_eq!(log, [FETCHING, CACHED, CACHED], "{proxy}");
            assert!(errors.is_empty(), "{proxy}: {errors:?}");
        }
    }
}

#[test]
fn clients_arriving_during_a_download_share_it() {
    let fascination = poem("fascination.txt");
    for proxy in PROXIES {
        let upstream = Upstream::gated(fascination.clone());
        let mut server = start_proxy(proxy, upstream.port);
        let first = connect(server.port);
        assert_eq!(server.next_line(), FETCHING);
        assert_eq!(upstream.next(), Seen::Connected(1));
        let others = [connect(server.port), connect(server.port)];
        assert_eq!(server.next_line(), WAITING);
        assert_eq!(server.next_line(), WAITING);

        upstream.open();
        assert_eq!(upstream.next(), Seen::Served(1));
        assert!(receive(first) == fascination, "{proxy}");
        for other in others {
            assert!(receive(other) == fascination, "{proxy}");
        }
        assert!(fetch(server.port) == fascination, "{proxy}");
        assert_eq!(upstream.connections(), 1, "{proxy}");
        let (log, errors) = server.stop();
        assert_eq!(log, [CACHED], "{proxy}");
        assert!(errors.is_empty(), "{proxy}: {errors:?}");
    }
}

#[test]
fn proxies_1_and_2_finish_and_cache_a_download_whose_client_left() {
    let science = poem("science.txt");
    for proxy in ["poetry-proxy-1", "poetry-proxy-2"] {
        let upstream = Upstream::gated(science.clone());
        let mut server = start_proxy(proxy, upstream.port);
        let leaver = connect(server.port);
        assert_eq!(server.next_line(), FETCHING);
        assert_eq!(upstream.next(), Seen::Connected(1));
        drop(leaver);
        upstream.stays_quiet();

        upstream.open();
        assert_eq!(upstream.next(), Seen::Served(1));
        // This client may come before the proxy has seen the end of the poem, and wait for it;
        // the next one comes after, and gets the cached poem.
        assert!(fetch(server.port) == science, "{proxy}");
        assert!(fetch(server.port) == science, "{proxy}");
        assert_eq!(upstream.connections(), 1, "{proxy}");
        let (log, errors) = server.stop();
        assert_eq!(log.last().map(String::as_str), Some(CACHED), "{proxy}");
        assert!(errors.is_empty(), "{proxy}: {errors:?}");
    }
}

#[test]
fn proxy_3_cancels_the_download_when_its_only_client_leaves() {
    let fascination = poem("fascination.txt");
    let upstream = Upstream::gated(fascination.clone());
    let mut server = start_proxy("poetry-proxy-3", upstream.port);
    let leaver = connect(server.port);
    assert_eq!(server.next_line(), FETCHING);
    assert_eq!(upstream.next(), Seen::Connected(1));
    drop(leaver);
    assert_eq!(server.next_line(), CANCELING);
    assert_eq!(upstream.next(), Seen::LeftEarly(1));

    // Nothing was cached: the next client fetches again, and that poem is kept.
    let stayer = connect(server.port);
    assert_eq!(server.next_line(), FETCHING);
    assert_eq!(upstream.next(), Seen::Connected(2));
    upstream.open();
    assert!(receive(stayer) == fascination);
    assert!(fetch(server.port) == fascination);
    let (log, errors) = server.stop();
    assert_eq!(log, [CACHED]);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn proxy_3_goes_on_with_a_download_while_a_client_still_waits() {
    let science = poem("science.txt");
    let upstream = Upstream::gated(science.clone());
    let mut server = start_proxy("poetry-proxy-3", upstream.port);
    let first = connect(server.port);
    assert_eq!(server.next_line(), FETCHING);
    assert_eq!(upstream.next(), Seen::Connected(1));
    let (second, third) = (connect(server.port), connect(server.port));
    assert_eq!(server.next_line(), WAITING);
    assert_eq!(server.next_line(), WAITING);
    drop(first);
    drop(second);
    upstream.stays_quiet();

    upstream.open();
    assert_eq!(upstream.next(), Seen::Served(1));
    assert!(receive(third) == science);
    let (log, errors) = server.stop();
    assert!(log.is_empty(), "{log:?}");
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn proxy_3_cancels_a_shared_download_once_its_last_client_leaves() {
    let upstream = Upstream::gated(poem("science.txt"));
    let mut server = start_proxy("poetry-proxy-3", upstream.port);
    let first = connect(server.port);
    assert_eq!(server.next_line(), FETCHING);
    assert_eq!(upstream.next(), Seen::Connected(1));
    let second = connect(server.port);
    assert_eq!(server.next_line(), WAITING);
    drop(first);
    upstream.stays_quiet();
    drop(second);
    assert_eq!(server.next_line(), CANCELING);
    assert_eq!(upstream.next(), Seen::LeftEarly(1));
    let (log, errors) = server.stop();
    assert!(log.is_empty(), "{log:?}");
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_dead_server_closes_the_client_is_said_once_and_the_proxy_goes_on() {
    let ecstasy = poem("ecstasy.txt");
    for proxy in PROXIES {
        let port = closed_port();
        let mut server = start_proxy(proxy, port);
        assert!(fetch(server.port).is_empty(), "{proxy}");
        assert_eq!(server.next_line(), FETCHING);

        // The failure was not cached: with the server up, the next client gets the poem.
        let upstream = Upstream::start_on(port, ecstasy.clone(), true);
        assert!(fetch(server.port) == ecstasy, "{proxy}");
        assert!(fetch(server.port) == ecstasy, "{proxy}");
        assert_eq!(upstream.connections(), 1);
        let (log, errors) = server.stop();
        assert_eq!(log, [FETCHING, CACHED], "{proxy}");
        assert_eq!(
            errors,
            [upstream_failed(
                port,
                "Connection was refused by other side: 111: Connection refused."
            )],
            "{proxy}"
        );
    }
}

#[test]
fn a_broken_download_closes_every_waiting_client_and_is_not_cached() {
    let science = poem("science.txt");
    for proxy in PROXIES {
        // A server that never accepts: closing its port resets the connection it had queued.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = start_proxy(proxy, port);
        let first = connect(server.port);
        assert_eq!(server.next_line(), FETCHING);
        let others = [connect(server.port), connect(server.port)];
        assert_eq!(server.next_line(), WAITING);
        assert_eq!(server.next_line(), WAITING);
        wait_for_unaccepted_connection(port);
        drop(listener);

        assert!(receive(first).is_empty(), "{proxy}");
        for other in others {
            assert!(receive(other).is_empty(), "{proxy}");
        }
        let upstream = Upstream::start_on(port, science.clone(), true);
        assert!(fetch(server.port) == science, "{proxy}");
        assert_eq!(upstream.connections(), 1);
        let (log, errors) = server.stop();
        assert_eq!(log, [FETCHING], "{proxy}");
        assert_eq!(
            errors,
            [upstream_failed(
                port,
                "Connection to the other side was lost in a non-clean fashion: \
                 Connection reset by peer."
            )],
            "{proxy}"
        );
    }
}

#[test]
fn an_empty_poem_is_passed_on_but_not_cached() {
    for proxy in PROXIES {
        let upstream = Upstream::serving(Vec::new());
        let server = start_proxy(proxy, upstream.port);
        assert!(fetch(server.port).is_empty(), "{proxy}");
        assert!(fetch(server.port).is_empty(), "{proxy}");
        assert_eq!(upstream.connections(), 2, "{proxy}");
        let (log, errors) = server.stop();
        assert_eq!(log, [FETCHING, FETCHING], "{proxy}");
        let empty = upstream_failed(
            upstream.port,
            "The server closed the connection without sending a poem.",
        );
        assert_eq!(errors, [empty.clone(), empty], "{proxy}");
    }
}

#[test]
fn a_silent_upstream_fails_the_download_and_lets_every_client_go() {
    for proxy in PROXIES {
        let upstream = Upstream::gated(poem("science.txt"));
        let upstream_port = upstream.port.to_string();
        let mut server = Server::start(proxy, &["--upstream-timeout", "0.3", &upstream_port]);
        let first = connect(server.port);
        assert_eq!(server.next_line(), FETCHING, "{proxy}");
        assert_eq!(upstream.next(), Seen::Connected(1));
        let second = connect(server.port);
        assert_eq!(server.next_line(), WAITING, "{proxy}");
        // Nothing ever comes from upstream: both clients are let go, with nothing.
        assert_eq!(receive(first), b"", "{proxy}");
        assert_eq!(receive(second), b"", "{proxy}");
        assert_eq!(
            upstream.next(),
            Seen::LeftEarly(1),
            "{proxy} hangs up on it"
        );
        // A later client starts a new download rather than waiting on the dead one.
        let third = connect(server.port);
        assert_eq!(server.next_line(), FETCHING, "{proxy}");
        assert_eq!(upstream.next(), Seen::Connected(2));
        upstream.open();
        assert_eq!(receive(third), poem("science.txt"), "{proxy}");
        let (_, err) = server.stop();
        let silent = upstream_failed(upstream.port, "The server sent nothing for 300ms.");
        assert_eq!(err, [silent], "{proxy}");
    }
}

#[test]
fn a_proxy_refuses_to_proxy_itself() {
    let port = closed_port().to_string();
    for proxy in PROXIES {
        let output = run(proxy, &["--port", &port, &format!("localhost:{port}")]);
        assert_eq!(output.status.code(), Some(2), "{proxy}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "{proxy}: error: localhost:{port} is where this proxy listens: it would wait \
                 for ever on its own poem"
            )]
        );
    }
}

#[test]
fn a_large_cached_poem_is_shared_not_copied_for_clients_that_do_not_read() {
    let big: Vec<u8> = (0..16 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    for proxy in PROXIES {
        let upstream = Upstream::serving(big.clone());
        let server = start_proxy(proxy, upstream.port);
        assert!(
            fetch(server.port) == big,
            "{proxy}: the first client gets it whole"
        );
        let before = resident_kib(server.pid());
        let silent: Vec<TcpStream> = (0..10).map(|_| connect(server.port)).collect();
        // Written at once, the poem would be copied into each client's buffer, 160 MB in all;
        // given time to do that, the proxy must have held back.
        thread::sleep(QUIET_SPELL);
        let grown = resident_kib(server.pid()).saturating_sub(before);
        assert!(grown < 16 * 1024, "{proxy} grew by {grown} KiB");
        // Each silent client still gets the whole poem once it reads.
        for client in silent {
            assert!(receive(client) == big, "{proxy}");
        }
        let (log, errors) = server.stop();
        assert_eq!(log.len(), 11, "{proxy}: {log:?}");
        assert!(errors.is_empty(), "{proxy}: {errors:?}");
    }
}

#[test]
fn a_poem_larger_than_the_limit_is_neither_passed_on_nor_cached() {
    for proxy in PROXIES {
        let upstream = Upstream::serving(poem("science.txt"));
        let upstream_port = upstream.port.to_string();
        let server = Server::start(proxy, &["--max-poem-size", "100", &upstream_port]);
        assert_eq!(fetch(server.port), b"", "{proxy}");
        assert_eq!(
            fetch(server.port),
            b"",
            "{proxy}: a second download, not a cached part"
        );
        assert_eq!(upstream.connections(), 2, "{proxy}");
        let (log, errors) = server.stop();
        assert_eq!(log, [FETCHING, FETCHING], "{proxy}");
        let too_large = upstream_failed(upstream.port, "the poem is larger than 100 bytes.");
        assert_eq!(errors, [too_large.clone(), too_large], "{proxy}");
    }
}
