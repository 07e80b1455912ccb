//! The training's key-value store, run as processes: the server's replies byte for byte, and its
//! log.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use support::{Listening, resident_kib};

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads exactly `count` bytes.
fn read_exactly(stream: &mut TcpStream, count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    stream.read_exact(&mut bytes).unwrap();
    bytes
}

/// Sends `request` and reads as many bytes as `expected` has; they must be those.
fn exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).unwrap();
    let got = read_exactly(stream, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "after {:?}",
        String::from_utf8_lossy(request)
    );
}

/// Whether nothing arrives within a short while.
fn is_silent(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0];
    let silent = matches!(stream.read(&mut byte), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock || error.kind() == std::io::ErrorKind::TimedOut);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    silent
}

#[test]
fn every_reply_of_the_line_protocol() {
    let server = Listening::start("keyvalue-server", &["--port", "0"], 1);
    let mut client = connect(server.port(0));
    exchange(&mut client, b"get a\r\n", b"GET_NOT_FOUND a\r\n");
    exchange(&mut client, b"set a value\r\n", b"STORED\r\n");
    exchange(&mut client, b"get a\r\n", b"VALUE a value\r\n");
    // Whitespace runs separate words; words after a key are ignored.
    exchange(&mut client, b"  get\ta  zz \r\n", b"VALUE a value\r\n");
    exchange(&mut client, b"delete a\r\n", b"DELETED a\r\n");
    exchange(&mut client, b"delete a\r\n", b"DEL_NOT_FOUND a\r\n");
    exchange(&mut client, b"get a\r\n", b"GET_NOT_FOUND a\r\n");
    // A value is the rest of the line.
    exchange(&mut client, b"set b hello world \r\n", b"STORED\r\n");
    exchange(&mut client, b"get b\r\n", b"VALUE b hello world\r\n");

    // Another connection sees the same store.
    let mut other = connect(server.port(0));
    exchange(&mut other, b"get b\r\n", b"VALUE b hello world\r\n");

    let (status, out, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
    let out = String::from_utf8(out).unwrap();
    let logged: Vec<&str> = out
        .lines()
        .filter_map(|line| line.split_once("] R ").map(|(_, rest)| rest))
        .collect();
    assert_eq!(logged[..2], ["get a", "set a value"]);
    assert!(out.lines().next().unwrap().ends_with(" [-] Log opened."));
    assert!(
        out.lines()
            .last()
            .unwrap()
            .ends_with(" [-] Main loop terminated.")
    );
}

#[test]
fn malformed_and_unknown_lines_get_an_error_and_the_connection_stays() {
    let server = Listening::start("keyvalue-server", &["--port", "0"], 1);
    let mut client = connect(server.port(0));
    for unknown in [
        &b"foo bar\r\n"[..],
        b"GET a\r\n",
        b"Get a\r\n",
        b"\r\n",
        b" \t \r\n",
    ] {
        exchange(&mut client, unknown, b"ERROR\r\n");
    }
    exchange(
        &mut client,
        b"get\r\n",
        b"CLIENT_ERROR usage: get <key>\r\n",
    );
    exchange(
        &mut client,
        b"delete \r\n",
        b"CLIENT_ERROR usage: delete <key>\r\n",
    );
    exchange(
        &mut client,
        b"set a\r\n",
        b"CLIENT_ERROR usage: set <key> <value>\r\n",
    );
    // Still talking.
    exchange(&mut client, b"set a 1\r\n", b"STORED\r\n");
    // A bare LF ends no line: the request waits for its CR LF.
    client.write_all(b"get a\n").unwrap();
    assert!(is_silent(&mut client));
    // The LF is whitespace to the server, as it was to Python.
    exchange(&mut client, b"\r\n", b"VALUE a 1\r\n");
}

#[test]
fn pipelined_requests_and_one_byte_writes_are_answered_in_order() {
    let server = Listening::start("keyvalue-server", &["--port", "0"], 1);
    let mut client = connect(server.port(0));
    let requests = b"set a 1\r\nset b 2\r\nget a\r\nget b\r\ndelete a\r\nget a\r\nbogus\r\n";
    let replies =
        b"STORED\r\nSTORED\r\nVALUE a 1\r\nVALUE b 2\r\nDELETED a\r\nGET_NOT_FOUND a\r\nERROR\r\n";
    exchange(&mut client, requests, replies);

    let mut slow = connect(server.port(0));
    slow.set_nodelay(true).unwrap();
    for byte in b"get b\r\nset c 3\r\n" {
        slow.write_all(&[*byte]).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(read_exactly(&mut slow, 19), b"VALUE b 2\r\nSTORED\r\n");
}

#[test]
fn entries_expire_after_their_time_to_live() {
    let server = Listening::start("keyvalue-server", &["--port", "0", "--ttl", "1s"], 1);
    let mut client = connect(server.port(0));
    exchange(&mut client, b"set a 1\r\n", b"STORED\r\n");
    thread::sleep(Duration::from_millis(600));
    // Setting again starts the second over.
    exchange(&mut client, b"set a 2\r\n", b"STORED\r\n");
    thread::sleep(Duration::from_millis(600));
    exchange(&mut client, b"get a\r\n", b"VALUE a 2\r\n");
    thread::sleep(Duration::from_millis(700));
    exchange(&mut client, b"get a\r\n", b"GET_NOT_FOUND a\r\n");
}

#[test]
fn a_memory_bound_evicts_the_least_recently_used() {
    let server = Listening::start("keyvalue-server", &["--port", "0", "--max-memory", "4"], 1);
    let mut client = connect(server.port(0));
    exchange(
        &mut client,
        b"set a 1\r\nset b 2\r\nget a\r\nset c 3\r\n",
        b"STORED\r\nSTORED\r\nVALUE a 1\r\nSTORED\r\n",
    );
    exchange(
        &mut client,
        b"get b\r\nget a\r\n",
        b"GET_NOT_FOUND b\r\nVALUE a 1\r\n",
    );
    let refused = b"CLIENT_ERROR an entry of 6 bytes does not fit in a store of 4 bytes\r\n";
    exchange(&mut client, b"set d 12345\r\n", refused);
}

#[test]
fn a_line_too_long_drops_the_connection_silently() {
    let server = Listening::start("keyvalue-server", &["--port", "0"], 1);
    let mut client = connect(server.port(0));
    let mut line = b"set a ".to_vec();
    line.resize(20_000, b'x');
    let _ = client.write_all(&line);
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
    assert!(rest.is_empty());
    // The server goes on.
    let mut client = connect(server.port(0));
    exchange(&mut client, b"get a\r\n", b"GET_NOT_FOUND a\r\n");
}

#[test]
fn clients_that_ask_and_never_read_cost_the_line_servers_little() {
    let servers: [(&str, &[&str], usize); 2] = [
        ("keyvalue-server", &["--port", "0"], 1),
        ("keyvalue-server2", &["--port", "0", "--pb-port", "0"], 2),
    ];
    for (name, args, ports) in servers {
        let server = Listening::start(name, args, ports);
        let port = server.port(0);
        let value = "v".repeat(15_000);
        let reply = format!("VALUE big {value}\r\n");
        let mut reader = connect(port);
        exchange(
            &mut reader,
            format!("set big {value}\r\n").as_bytes(),
            b"STORED\r\n",
        );
        let before = resident_kib(server.pid());
        // Four clients, each asking for the value 5,000 times at once and reading no reply:
        // 75 MB of replies each, if the server wrote them all. Each names itself after the key
        // (the server ignores words after it), so that its requests can be told apart in the log.
        let silent: Vec<TcpStream> = (0..4)
            .map(|i| {
                let mut stream = connect(port);
                stream
                    .set_write_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let _ = stream.write_all(&format!("get big {i}\r\n").repeat(5_000).into_bytes());
                stream
            })
            .collect();
        // Once the server has begun on each silent client's requests (it handles what one read
        // brought before anything else), a client that reads is still served.
        for i in 0..4 {
            server.wait_for_line(|line| line.ends_with(&format!("] R get big {i}")));
        }
        exchange(&mut reader, b"get big\r\n", reply.as_bytes());
        let grown = resident_kib(server.pid()).saturating_sub(before);
        drop(silent);
        // A silent client may cost us its requests and a high-water mark of replies (the
        // kernel's buffers are not ours); 16 MiB for four leaves room for the allocator.
        assert!(grown < 16 * 1024, "{name} grew by {grown} KiB");
        // The silent clients gone, the reader is still served.
        exchange(&mut reader, b"get big\r\n", reply.as_bytes());
    }
}

/// `kv` against `server`, with `args`: (exit status, stdout, stderr).
fn kv(server: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--server", server];
    all.extend_from_slice(args);
    let output = support::run("kv", &all);
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_training_clients_and_kv_against_the_server() {
    let server = Listening::start("keyvalue-server", &["--port", "0"], 1);
    let address = format!("127.0.0.1:{}", server.port(0));

    let output = support::run("keyvalue-client-1", &["--server", &address]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout, b"value\n");

    let output = support::run("keyvalue-client-2", &["--server", &address]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Error: 'b'\nvalue\n"
    );

    assert_eq!(
        kv(&address, &["get", "k"]),
        (Some(1), String::new(), "kv: no such key: k\n".to_owned())
    );
    assert_eq!(
        kv(&address, &["set", "k", "hello", "world"]),
        (Some(0), String::new(), String::new())
    );
    assert_eq!(
        kv(&address, &["get", "k"]),
        (Some(0), "hello world\n".to_owned(), String::new())
    );
    assert_eq!(
        kv(&address, &["delete", "k"]),
        (Some(0), String::new(), String::new())
    );
    assert_eq!(kv(&address, &["delete", "k"]).0, Some(1));

    // What cannot travel is refused before it is sent.
    let (status, _, err) = kv(&address, &["set", "k", "a\r\nget b"]);
    assert_eq!(status, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    // A usage error.
    assert_eq!(kv(&address, &["fetch", "k"]).0, Some(2));
}

#[test]
fn clients_fail_in_one_line_when_the_server_is_missing_dies_or_is_silent() {
    let closed = format!("127.0.0.1:{}", support::closed_port());
    let (status, out, err) = kv(&closed, &["get", "a"]);
    assert_eq!((status, out.as_str()), (Some(2), ""));
    assert!(
        err.starts_with("kv: error: ") && err.lines().count() == 1,
        "{err}"
    );
    let output = support::run("keyvalue-client-2", &["--server", &closed]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);

    // A server that reads the request and hangs up without a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let dying = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut byte = [0];
        let _ = stream.read(&mut byte);
        drop(stream);
        // Then one that never answers.
        let (silent, _) = listener.accept().unwrap();
        thread::sleep(Duration::from_secs(3));
        drop(silent);
    });
    let (status, _, err) = kv(&address, &["get", "a"]);
    assert_eq!(status, Some(2));
    assert!(err.starts_with("kv: error: no answer: "), "{err}");
    let (status, _, err) = kv(&address, &["--timeout", "300ms", "get", "a"]);
    assert_eq!(status, Some(2));
    assert!(err.contains("within 300ms"), "{err}");
    dying.join().unwrap();
}
