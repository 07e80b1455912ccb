//! End-to-end tests of `slowpoetry`, the blocking slow server of Part 2.

mod support;

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use support::{Server, lines, poem, poem_path, run};

/// Reads a whole poem from the server.
fn fetch(port: u16) -> Vec<u8> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    received
}

/// The byte sizes of the chunks a poem should go out in: `chars` characters each, counted here
/// independently of the server's own code.
fn expected_chunk_sizes(poem: &[u8], chars: usize) -> Vec<usize> {
    let text = std::str::from_utf8(poem).unwrap();
    let characters: Vec<char> = text.chars().collect();
    characters
        .chunks(chars)
        .map(|chunk| chunk.iter().map(|c| c.len_utf8()).sum())
        .collect()
}

/// Checks the lines a server printed while serving one client the whole poem.
fn assert_served_whole_poem(log: &[String], poem: &[u8], chars: usize) {
    let peer = log[0]
        .strip_prefix("Somebody at ('127.0.0.1', ")
        .and_then(|rest| rest.strip_suffix(") wants poetry!"))
        .unwrap_or_else(|| panic!("unexpected first line {:?}", log[0]));
    assert!(peer.parse::<u16>().is_ok(), "{peer}");
    let sends: Vec<String> = expected_chunk_sizes(poem, chars)
        .iter()
        .map(|size| format!("Sending {size} bytes"))
        .collect();
    assert_eq!(log[1..], sends[..]);
}

#[test]
fn serves_the_whole_poem_and_prints_a_line_per_send() {
    let server = Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", "1ms"]);
    assert_eq!(
        server.startup_line,
        format!(
            "Serving {} on port {}.",
            poem_path("ecstasy.txt").display(),
            server.port
        )
    );
    let received = fetch(server.port);
    let (log, errors) = server.stop();

    let ecstasy = poem("ecstasy.txt");
    assert_eq!(received, ecstasy);
    assert_served_whole_poem(&log, &ecstasy, 30);
    assert_eq!(log.len(), 1 + ecstasy.len().div_ceil(30));
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn chunks_are_characters_so_non_ascii_chunks_are_longer() {
    let server = Server::slow("alla_sera.txt", &["--delay", "0"]);
    let received = fetch(server.port);
    let (log, _) = server.stop();

    let alla_sera = poem("alla_sera.txt");
    assert_eq!(received, alla_sera);
    assert_served_whole_poem(&log, &alla_sera, 10);
    assert!(
        log.iter()
            .any(|line| line == "Sending 11 bytes" || line == "Sending 12 bytes")
    );
}

#[test]
fn serves_one_client_at_a_time() {
    let server = Server::slow("science.txt", &["--delay", "20ms"]);
    let mut first = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut second = TcpStream::connect(("127.0.0.1", server.port)).unwrap();

    // The first client is being served: its first chunk arrives...
    let mut chunk = [0; 10];
    first.read_exact(&mut chunk).unwrap();
    // ... while the second waits in the listen queue, with nothing to read.
    thread::sleep(Duration::from_millis(100));
    second.set_nonblocking(true).unwrap();
    let waiting = second.read(&mut chunk).map(|_| ()).unwrap_err();
    assert_eq!(waiting.kind(), ErrorKind::WouldBlock);

    let mut rest = Vec::new();
    first.read_to_end(&mut rest).unwrap();
    second.set_nonblocking(false).unwrap();
    let mut received = Vec::new();
    second.read_to_end(&mut received).unwrap();
    assert_eq!(received, poem("science.txt"));
}

#[test]
fn a_client_that_leaves_early_is_logged_and_the_next_is_served() {
    let mut server = Server::slow("fascination.txt", &["--delay", "20ms"]);
    let mut leaver = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let leaver_port = leaver.local_addr().unwrap().port();
    let mut chunk = [0; 10];
    leaver.read_exact(&mut chunk).unwrap();
    drop(leaver);

    // The server notices at its next send or the one after, then goes back to accepting.
    let gone = format!("Somebody at ('127.0.0.1', {leaver_port}) went away: ");
    let mut line = server.next_line();
    while !line.starts_with(&gone) {
        assert!(
            line.starts_with("Sending ") || line.starts_with("Somebody at"),
            "{line}"
        );
        line = server.next_line();
    }
    let reason = line.strip_prefix(&gone).unwrap();
    assert!(
        ["Broken pipe", "Connection reset by peer"].contains(&reason),
        "{reason}"
    );

    assert_eq!(fetch(server.port), poem("fascination.txt"));
}

#[test]
fn the_poem_is_read_afresh_for_every_client() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("draft.txt");
    std::fs::write(&path, "first draft\n").unwrap();
    let server = Server::start("slowpoetry", &[path.to_str().unwrap(), "--delay", "0"]);
    assert_eq!(fetch(server.port), b"first draft\n");
    std::fs::write(&path, "second draft\n").unwrap();
    assert_eq!(fetch(server.port), b"second draft\n");
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let cases: [(&[&str], &str); 6] = [
        (&[], "<POETRY_FILE>"),
        (&["a.txt", "b.txt"], "unexpected argument 'b.txt'"),
        (&["no-such-poem.txt"], "No such file: no-such-poem.txt"),
        (&["--delay", "soon", "x"], "'soon' is not a duration"),
        (&["--num-bytes", "0", "x"], "--num-bytes"),
        (&["--port", "abc", "x"], "'abc' for '--port"),
    ];
    for (args, message) in cases {
        let output = run("slowpoetry", args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let poem = poem_path("science.txt");
    let output = run("slowpoetry", &["--port", &port, poem.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "slowpoetry: error: cannot listen on localhost port {port}: Address already in use"
        )]
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn help_says_which_part_it_belongs_to() {
    let output = run("slowpoetry", &["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("tutorial Part 2"), "{help}");
    for option in ["--port", "--iface", "--delay", "--num-bytes"] {
        assert!(help.contains(option), "{option} missing from {help}");
    }
}
