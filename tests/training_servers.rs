//! The training's uppercase servers, run as processes: exact bytes on the wire, and the
//! training's clients against the real server.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use support::{Listening, lines, run};

const GREETING: &[u8] = b"Hi! Send me text to convert to uppercase\n";

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn read_to_end(mut stream: TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    received
}

/// Reads exactly `count` bytes.
fn read_exactly(stream: &mut TcpStream, count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    stream.read_exact(&mut bytes).unwrap();
    bytes
}

fn answer(greeting: &[u8], reply: &[u8]) -> Vec<u8> {
    [greeting, reply].concat()
}

#[test]
fn upperserver_answers_the_first_piece_in_capitals_and_hangs_up() {
    let server = Listening::start("upperserver", &["--port", "0"], 1);
    let port = server.port(0);

    let mut client = connect(port);
    client.write_all(b"twisted is cool\r\n").unwrap();
    assert_eq!(
        read_to_end(client),
        answer(GREETING, b"TWISTED IS COOL\r\n")
    );

    // Only ASCII letters change; other bytes pass as they are.
    let mut client = connect(port);
    client.write_all("no crlf, naïve é\n".as_bytes()).unwrap();
    assert_eq!(
        read_to_end(client),
        answer(GREETING, "NO CRLF, NAïVE é\n".as_bytes())
    );

    // No framing: the first piece read is the one answered, whatever follows it.
    let mut client = connect(port);
    assert_eq!(read_exactly(&mut client, GREETING.len()), GREETING);
    client.write_all(b"ab").unwrap();
    thread::sleep(Duration::from_millis(300));
    let _ = client.write_all(b"cd\r\n");
    assert_eq!(read_to_end(client), b"AB");

    // A client that says nothing and leaves gets the greeting, then the end.
    let client = connect(port);
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(client), GREETING);

    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(
        out.is_empty() && err.is_empty(),
        "the training's server prints nothing"
    );
}

#[test]
fn upperserver_ex_counts_the_clients_connected() {
    let server = Listening::start("upperserver-ex", &["--port", "0"], 1);
    let port = server.port(0);
    let greeting = |n: usize| format!("Hi! There are {n} clients\n").into_bytes();

    let mut first = connect(port);
    assert_eq!(read_exactly(&mut first, greeting(1).len()), greeting(1));
    let mut second = connect(port);
    assert_eq!(read_exactly(&mut second, greeting(2).len()), greeting(2));
    let mut third = connect(port);
    third.write_all(b"x\r\n").unwrap();
    assert_eq!(read_to_end(third), answer(&greeting(3), b"X\r\n"));

    // Whoever closes, the count goes down.
    first.write_all(b"bye\r\n").unwrap();
    assert_eq!(read_to_end(first), b"BYE\r\n");
    drop(second);
    // The server hears of the second client's leaving at its own pace: ask until it has.
    let mut latest = Vec::new();
    for _ in 0..100 {
        let mut client = connect(port);
        client.write_all(b"\r\n").unwrap();
        latest = read_to_end(client);
        if latest == answer(&greeting(1), b"\r\n") {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(latest, answer(&greeting(1), b"\r\n"));
}

#[test]
fn the_training_clients_against_the_real_upperserver() {
    let server = Listening::start("upperserver", &["--port", "0"], 1);
    let address = format!("127.0.0.1:{}", server.port(0));
    let output = run("multiclient", &[&address, "a", "twisted is cool"]);
    assert_eq!(output.status.code(), Some(0));
    // The answer ends in CR LF, and Python's print adds a newline: an empty line after each.
    let expected = "sending a\n\
                    Hi! Send me text to convert to uppercase\nA\r\n\n\
                    sending twisted is cool\n\
                    Hi! Send me text to convert to uppercase\nTWISTED IS COOL\r\n\n";
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);

    let output = run("simpleclient-3", &[&address, "a", "b"]);
    assert_eq!(output.status.code(), Some(0));
    let printed = lines(&output.stdout);
    assert_eq!(&printed[..2], ["sending a", "sending b"]);
    for text in ["a", "b"] {
        let at = printed
            .iter()
            .position(|line| *line == format!("received response for {text}"))
            .unwrap_or_else(|| panic!("no response for {text}: {printed:?}"));
        assert_eq!(printed[at + 1], "Hi! Send me text to convert to uppercase");
        assert_eq!(printed[at + 2], text.to_uppercase());
    }
}
