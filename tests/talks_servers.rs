//! Talk 004's servers and client (and talk 001's echo server), run as processes: exact bytes on
//! the wire over TCP, UDP and UNIX sockets, exact output lines, endpoint strings and their errors.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use support::{Listening, closed_port, lines, resident_kib, run};

const WAIT: Duration = Duration::from_secs(10);

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
fn read_to_end(mut stream: impl Read) -> Vec<u8> {
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    received
}

/// Sends `message` and reads until `message.len()` bytes came back.
fn echo_once(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    let mut writer = stream.try_clone().unwrap();
    let owned = message.to_vec();
    let sending = thread::spawn(move || writer.write_all(&owned).unwrap());
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back).unwrap();
    sending.join().unwrap();
    back
}

#[test]
fn hello_greets_and_hangs_up_whatever_the_client_sends() {
    let server = Listening::start("hello-server", &["--port", "0"], 1);
    assert_eq!(read_to_end(connect(server.port(0))), b"Hello, World!\n");
    let mut eager = connect(server.port(0));
    eager.write_all(b"me first\r\n").unwrap();
    assert_eq!(read_to_end(eager), b"Hello, World!\n");
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    assert!(
        out.is_empty() && err.is_empty(),
        "the talk's server says nothing"
    );
}

#[test]
fn echo_returns_every_byte_on_its_own_connection() {
    let server = Listening::start("echo-server", &["--port", "0"], 1);
    assert!(server.addresses[0].starts_with("127.0.0.1:"));
    let mut first = connect(server.port(0));
    let mut second = connect(server.port(0));
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(echo_once(&mut first, &binary), binary);
    let big: Vec<u8> = (0..102_400u32).map(|n| (n % 251) as u8).collect();
    assert_eq!(echo_once(&mut second, &big), big);
    assert_eq!(
        echo_once(&mut first, "naïve café\n".as_bytes()),
        "naïve café\n".as_bytes()
    );
    // A client that says it is done sending is done: the server closes its side too.
    first.write_all(b"last words").unwrap();
    first.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(first), b"last words");
}

#[test]
fn echo_stops_reading_a_client_that_does_not_read() {
    let server = Listening::start("echo-server", &["--port", "0"], 1);
    let stream = connect(server.port(0));
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    // Send up to 128 MiB without reading a byte of the echo. With back-pressure the server stops
    // reading once its buffer for us is full, the kernel's buffers fill, and our write blocks
    // (then times out) after a few MiB; without it, the server would take it all into memory.
    let chunk = vec![b'x'; 1 << 20];
    let mut sent = 0usize;
    for _ in 0..128 {
        match writer.write(&chunk) {
            Ok(count) => sent += count,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break;
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert!(
        sent < 64 << 20,
        "the server kept reading: {sent} bytes taken"
    );
    let rss_kib = resident_kib(server.pid());
    assert!(rss_kib < 64 * 1024, "the server holds {rss_kib} KiB");
    // Reading now drains it all, in order, and the server reads again.
    let mut reader = stream;
    let mut back = vec![0; sent];
    reader.read_exact(&mut back).unwrap();
    assert!(back.iter().all(|&b| b == b'x'));
    assert_eq!(echo_once(&mut reader, b"still here"), b"still here");
}

#[test]
fn echo_and_its_client_speak_over_a_unix_socket() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("echo.sock");
    let endpoint = format!("unix:{}", path.display());
    let server = Listening::start("echo-server", &["--listen", &endpoint], 1);
    assert_eq!(server.addresses, std::slice::from_ref(&endpoint));

    let mut raw = UnixStream::connect(&path).unwrap();
    raw.write_all(b"\x00\x01 raw\n").unwrap();
    let mut back = [0; 7];
    raw.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"\x00\x01 raw\n");

    let output = run("echo-client", &[&endpoint]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        lines(&output.stdout),
        [
            "receive: Hello, world!",
            "receive: What a fine day it is.",
            "receive: Bye-bye!",
            "connection lost: Connection was closed cleanly.",
        ]
    );
    let (status, _, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!path.exists(), "the socket file goes with the server");
}

#[test]
fn echo_client_reports_how_the_connection_ended() {
    let echo = Listening::start("echo-server", &["--port", "0"], 1);
    let output = run("echo-client", &[&format!("localhost:{}", echo.port(0))]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output.stdout).len(), 4);

    let dead = closed_port();
    let output = run("echo-client", &[&format!("127.0.0.1:{dead}")]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stdout),
        ["connection failed: Connection was refused by other side: 111: Connection refused."]
    );

    // The hello server ends its line with LF alone: no CR LF line ever completes, unless the
    // client is told to split at LF.
    let hello = Listening::start("hello-server", &["--port", "0"], 1);
    let address = format!("127.0.0.1:{}", hello.port(0));
    let output = run("echo-client", &[&address]);
    assert_eq!(
        lines(&output.stdout),
        ["connection lost: Connection was closed cleanly."]
    );
    let output = run("echo-client", &["--delimiter", "lf", &address]);
    assert_eq!(
        lines(&output.stdout),
        [
            "receive: Hello, World!",
            "connection lost: Connection was closed cleanly."
        ]
    );
}

#[test]
fn echo_client_hangs_up_on_a_line_too_long() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // 16,385 bytes and no line end: more than LineReceiver buffers.
        let _ = stream.write_all(&vec![b'a'; 16_385]);
        stream.set_read_timeout(Some(WAIT)).unwrap();
        read_to_end(stream)
    });
    let output = run("echo-client", &[&format!("127.0.0.1:{port}")]);
    assert_eq!(
        lines(&output.stdout),
        ["connection lost: Connection was closed cleanly."]
    );
    let heard = server.join().unwrap();
    assert_eq!(
        heard,
        b"Hello, world!\r\nWhat a fine day it is.\r\nBye-bye!\r\n"
    );
}

fn udp_client() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

fn udp_echo(socket: &UdpSocket, port: u16, datagram: &[u8]) -> Vec<u8> {
    socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
    let mut buffer = vec![0; 70_000];
    let (count, from) = socket.recv_from(&mut buffer).unwrap();
    assert_eq!(from.port(), port);
    buffer.truncate(count);
    buffer
}

#[test]
fn udp_echo_returns_each_datagram_whole() {
    let server = Listening::start("echo-udp", &["--port", "0"], 1);
    let socket = udp_client();
    let port = server.port(0);
    assert_eq!(udp_echo(&socket, port, b"ping"), b"ping");
    assert_eq!(
        udp_echo(&socket, port, b""),
        b"",
        "an empty datagram comes back empty"
    );
    // The largest datagram IPv4 carries; Twisted would cut it at 8192 bytes.
    let largest: Vec<u8> = (0..65_507u32).map(|n| (n % 253) as u8).collect();
    assert_eq!(udp_echo(&socket, port, &largest), largest);
    for n in 0..5u8 {
        socket.send_to(&[n], ("127.0.0.1", port)).unwrap();
    }
    for n in 0..5u8 {
        let mut one = [0; 8];
        assert_eq!(socket.recv(&mut one).unwrap(), 1);
        assert_eq!(one[0], n);
    }
}

#[test]
fn all_of_the_above_serves_three_ports_from_one_reactor() {
    let server = Listening::start(
        "all-of-the-above",
        &["--hello", "tcp:0", "--echo", "tcp:0", "--udp-port", "0"],
        3,
    );
    assert_eq!(read_to_end(connect(server.port(0))), b"Hello, World!\n");
    let mut echo = connect(server.port(1));
    assert_eq!(echo_once(&mut echo, b"tcp echo"), b"tcp echo");
    assert_eq!(
        udp_echo(&udp_client(), server.port(2), b"udp echo"),
        b"udp echo"
    );
    let (status, out, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(out.is_empty());
}

#[test]
fn qotd_serves_the_talks_quote_to_everyone_at_once() {
    let server = Listening::start("qotd", &["--port", "0"], 1);
    // More clients than the thread pool has threads: the rest wait their turn, none is lost.
    let clients: Vec<_> = (0..30)
        .map(|_| {
            let stream = connect(server.port(0));
            thread::spawn(move || read_to_end(stream))
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), b"I am a fish!\n");
    }
}

#[test]
fn qotd_reads_a_quotes_file_and_answers_its_loss_with_the_errback() {
    let folder = tempfile::tempdir().unwrap();
    let quotes = folder.path().join("quotes.txt");
    std::fs::write(
        &quotes,
        "Time flies like an arrow.\n\nFruit flies like a banana.\n",
    )
    .unwrap();
    let path = quotes.to_str().unwrap();
    let server = Listening::start("qotd", &["--port", "0", "--quotes", path], 1);
    for _ in 0..10 {
        let quote = read_to_end(connect(server.port(0)));
        assert!(
            quote == b"Time flies like an arrow.\n" || quote == b"Fruit flies like a banana.\n",
            "{quote:?}"
        );
    }
    std::fs::remove_file(&quotes).unwrap();
    assert_eq!(
        read_to_end(connect(server.port(0))),
        b"Internal server error!"
    );
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(out.is_empty());
    let err = lines(&err);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with("cannot find a quote: "), "{err:?}");

    let output = run("qotd", &["--quotes", path]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing file is a usage error"
    );
}

#[test]
fn endpoint_mistakes_are_usage_errors_of_one_line() {
    let output = run("echo-server", &["--listen", "ssl:443"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("'ssl:443': unknown endpoint type 'ssl' (use tcp: or unix:)"),
        "{err}"
    );
    let output = run("echo-server", &["--listen", "tcp:0", "--port", "1"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "--listen or --port, not both"
    );
    let output = run("echo-client", &["tcp:localhost"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_port_in_use_is_one_line_and_status_1() {
    let first = Listening::start("echo-server", &["--port", "0"], 1);
    let port = first.port(0).to_string();
    let output = run("echo-server", &["--port", &port]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "echo-server: error: Couldn't listen on 127.0.0.1:{port}: Address already in use."
        )]
    );
}
