//! End-to-end tests of the reactor's servers: `fastpoetry` (Part 11) and `slowpoetry-reactor` (Part 11,
//! exercise 3).

mod support;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use support::{Server, lines, poem, poem_path, run};

fn fetch(port: u16) -> Vec<u8> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    received
}

/// Fetches from `count` clients at once; returns what each received.
fn fetch_concurrently(port: u16, count: usize) -> Vec<Vec<u8>> {
    let sockets: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            thread::spawn(move || {
                let mut received = Vec::new();
                socket.read_to_end(&mut received).unwrap();
                received
            })
        })
        .collect();
    readers.into_iter().map(|r| r.join().unwrap()).collect()
}

#[test]
fn fastpoetry_announces_its_address_and_serves_the_exact_bytes() {
    for name in ["ecstasy.txt", "alla_sera.txt"] {
        let path = poem_path(name);
        let server = Server::start("fastpoetry", &[path.to_str().unwrap()]);
        assert_eq!(
            server.startup_line,
            format!(
                "Serving {} on IPv4Address(type='TCP', host='127.0.0.1', port={}).",
                path.display(),
                server.port
            )
        );
        assert_eq!(fetch(server.port), poem(name), "{name}");
        let (log, errors) = server.stop();
        assert!(log.is_empty(), "no per-connection output: {log:?}");
        assert!(errors.is_empty(), "{errors:?}");
    }
}

#[test]
fn fastpoetry_serves_many_clients_at_once() {
    let path = poem_path("ecstasy.txt");
    let server = Server::start("fastpoetry", &[path.to_str().unwrap()]);
    let ecstasy = poem("ecstasy.txt");
    for received in fetch_concurrently(server.port, 100) {
        assert!(received == ecstasy);
    }
}

#[test]
fn servers_report_a_port_in_use_in_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let path = poem_path("science.txt");
    for server in ["fastpoetry", "slowpoetry-reactor"] {
        let output = run(
            server,
            &[
                "--port",
                &port,
                "--iface",
                "127.0.0.1",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{server}");
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "{server}: error: Couldn't listen on 127.0.0.1:{port}: Address already in use."
            )]
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn servers_refuse_bad_arguments_with_status_2() {
    for server in ["fastpoetry", "slowpoetry-reactor"] {
        for (args, message) in [
            (&[][..], "<POETRY_FILE>"),
            (&["no-such-poem.txt"][..], "No such file: no-such-poem.txt"),
            (&["--port", "x", "poem"][..], "'x' for '--port"),
        ] {
            let output = run(server, args);
            assert_eq!(output.status.code(), Some(2), "{server} {args:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(message), "{server}: {stderr}");
        }
    }
}

#[test]
fn slowpoetry_reactor_prints_what_slowpoetry_prints() {
    let server = Server::start(
        "slowpoetry-reactor",
        &[
            poem_path("alla_sera.txt").to_str().unwrap(),
            "--delay",
            "1ms",
        ],
    );
    assert_eq!(
        server.startup_line,
        format!(
            "Serving {} on port {}.",
            poem_path("alla_sera.txt").display(),
            server.port
        )
    );
    let mut socket = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let client_port = socket.local_addr().unwrap().port();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    let (log, errors) = server.stop();
    assert!(errors.is_empty(), "{errors:?}");

    let alla_sera = poem("alla_sera.txt");
    assert_eq!(received, alla_sera);
    assert_eq!(
        log[0],
        format!("Somebody at ('127.0.0.1', {client_port}) wants poetry!")
    );
    let text = String::from_utf8(alla_sera).unwrap();
    let characters: Vec<char> = text.chars().collect();
    let expected: Vec<String> = characters
        .chunks(10)
        .map(|chunk| {
            let bytes: usize = chunk.iter().map(|c| c.len_utf8()).sum();
            format!("Sending {bytes} bytes")
        })
        .collect();
    assert_eq!(log[1..], expected[..]);
}

#[test]
fn slowpoetry_reactor_serves_200_clients_in_about_one_poems_time() {
    let path = poem_path("science.txt");
    let server = Server::start(
        "slowpoetry-reactor",
        &[path.to_str().unwrap(), "--delay", "5ms", "--quiet"],
    );
    let science = poem("science.txt");

    let started = Instant::now();
    assert_eq!(fetch(server.port), science);
    let one = started.elapsed();

    let started = Instant::now();
    for received in fetch_concurrently(server.port, 200) {
        assert!(received == science);
    }
    let two_hundred = started.elapsed();
    // One at a time, 200 clients would take 200 poems' time; together they take about one.
    assert!(
        two_hundred < one * 4,
        "one client {one:?}, 200 clients {two_hundred:?}"
    );
    let (log, _) = server.stop();
    assert!(
        log.is_empty(),
        "--quiet prints only the startup line: {log:?}"
    );
}

#[test]
fn slowpoetry_reactor_notes_a_client_that_leaves_and_serves_the_others() {
    let path = poem_path("fascination.txt");
    let mut server = Server::start(
        "slowpoetry-reactor",
        &[path.to_str().unwrap(), "--delay", "20ms"],
    );
    let mut leaver = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let leaver_port = leaver.local_addr().unwrap().port();
    let mut stayer = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut chunk = [0; 10];
    leaver.read_exact(&mut chunk).unwrap();
    drop(leaver);

    let gone = format!("Somebody at ('127.0.0.1', {leaver_port}) went away: ");
    let mut line = server.next_line();
    while !line.starts_with(&gone) {
        line = server.next_line();
    }
    let reason = line.strip_prefix(&gone).unwrap();
    assert!(
        // The server keeps writing after the client's end of input (it may have half-closed), so
        // it learns the client left from its next write.
        ["Connection reset by peer", "Broken pipe"].contains(&reason),
        "{reason}"
    );
    let mut received = Vec::new();
    stayer.read_to_end(&mut received).unwrap();
    assert_eq!(received, poem("fascination.txt"));
}
