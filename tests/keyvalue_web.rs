//! The training's key-value web front (`keyvalue-web`) over a real `keyvalue-server`, both run as
//! processes: the pages byte for byte, what the line protocol cannot carry refused, and a store
//! that is down, comes up, goes away and comes back.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, closed_port, lines};

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// The index page, as the program serves it.
const INDEX: &str = "<html><body>
    <form action=\"/get\">
        <h2>Get</h2>
        key: <input type=\"text\" name=\"key\">
        <input type=\"submit\" value=\"Get\">
    </form>
    <form action=\"/set\">
        <h2>Set</h2>
        key: <input type=\"text\" name=\"key\">
        value: <input type=\"text\" name=\"value\">
        <input type=\"submit\" value=\"Set\">
    </form>
    <form action=\"/delete\">
        <h2>Delete</h2>
        key: <input type=\"text\" name=\"key\">
        <input type=\"submit\" value=\"Delete\">
    </form>
</body></html>
";

/// Twisted's 500 page.
const PROCESSING_FAILED: &str = "<html><head><title>Processing Failed</title></head><body>\
    <b>Processing Failed</b></body></html>";

/// A key-value server on `port` (0: any free port).
fn start_store(port: u16) -> Listening {
    Listening::start("keyvalue-server", &["--port", &port.to_string()], 1)
}

/// The web front on a free port, for the store on `store_port`, retrying often while it is down.
fn start_web(store_port: u16, extra: &[&str]) -> Listening {
    let store = format!("127.0.0.1:{store_port}");
    let mut args = vec![
        "--port",
        "0",
        "--server",
        &store,
        "--max-retry-delay",
        "100ms",
    ];
    args.extend_from_slice(extra);
    Listening::start("keyvalue-web", &args, 1)
}

/// An HTTP answer, cut up.
#[derive(Debug)]
struct Answer {
    /// The status line: `HTTP/1.1 200 OK`.
    status: String,
    /// The header lines, in order, without `Date` (which changes every second).
    headers: Vec<String>,
    /// The body, chunked framing removed.
    body: String,
    /// The answer as sent.
    raw: String,
}

/// Sends `method target` over HTTP/1.1, asking the server to close, and reads the whole answer.
fn request(port: u16, method: &str, target: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut head_lines = head.split("\r\n");
    let status = head_lines.next().unwrap().to_owned();
    let headers: Vec<String> = head_lines
        .filter(|line| !line.starts_with("Date: "))
        .map(str::to_owned)
        .collect();
    let body = if headers.iter().any(|h| h == "Transfer-Encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

fn get(port: u16, target: &str) -> Answer {
    request(port, "GET", target)
}

/// The body of a chunked message.
fn dechunk(mut framed: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, rest) = framed.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            assert_eq!(rest, "\r\n");
            return body;
        }
        body.push_str(&rest[..size]);
        framed = rest[size..].strip_prefix("\r\n").unwrap();
    }
}

/// Asks the store itself, over its line protocol: one request line, one reply line.
fn ask_store(port: u16, line: &str) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (&stream)
        .write_all(format!("{line}\r\n").as_bytes())
        .unwrap();
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).unwrap();
    reply
}

/// GETs `target` until the answer is not a 503 (the web front has reached the store), for at
/// most 20 seconds.
fn once_reachable(port: u16, target: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get(port, target);
        if !answer.status.contains(" 503 ") {
            return answer;
        }
        assert!(Instant::now() < deadline, "still unreachable: {answer:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Checks a page's answer: 200, streamed (the page waited for the store) with `body`.
fn assert_page(answer: &Answer, body: &str) {
    assert_eq!(answer.status, "HTTP/1.1 200 OK", "{answer:?}");
    assert_eq!(
        answer.headers,
        [
            SERVER,
            "Content-Type: text/html",
            "Connection: close",
            "Transfer-Encoding: chunked",
        ],
        "{answer:?}"
    );
    assert_eq!(answer.body, body, "{answer:?}");
}

/// Checks an error answer: `status`, plain text, the one `sentence`.
fn assert_refused(answer: &Answer, status: &str, sentence: &str) {
    assert_eq!(answer.status, format!("HTTP/1.1 {status}"), "{answer:?}");
    assert!(
        answer
            .headers
            .contains(&"Content-Type: text/plain; charset=utf-8".to_owned()),
        "{answer:?}"
    );
    assert_eq!(answer.body, format!("{sentence}\n"), "{answer:?}");
}

/// Stops a server with SIGTERM; it must exit with status 0. Returns its stdout's lines.
fn stop(server: Listening) -> Vec<String> {
    let (status, out, _err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    lines(&out)
}

#[test]
fn the_index_page_and_its_head() {
    let store = start_store(0);
    let web = start_web(store.port(0), &[]);
    let answer = get(web.port(0), "/");
    assert_eq!(answer.status, "HTTP/1.1 200 OK");
    assert_eq!(
        answer.headers,
        [
            SERVER.to_owned(),
            format!("Content-Length: {}", INDEX.len()),
            "Content-Type: text/html".to_owned(),
            "Connection: close".to_owned(),
        ]
    );
    assert_eq!(answer.body, INDEX);
    assert_eq!(INDEX.len(), 517);

    let head = request(web.port(0), "HEAD", "/");
    assert_eq!(head.headers, answer.headers);
    assert_eq!(head.body, "");
    stop(web);
}

#[test]
fn set_get_and_delete_answer_as_the_training_did() {
    let store = start_store(0);
    let web = start_web(store.port(0), &[]);
    let port = web.port(0);
    assert_page(&once_reachable(port, "/get?key=a"), "NOT FOUND: 'a'");
    let stored = get(port, "/set?key=a&value=two+words");
    assert_page(&stored, "STORED");
    assert!(
        stored.raw.ends_with("\r\n\r\n6\r\nSTORED\r\n0\r\n\r\n"),
        "{stored:?}"
    );
    // A value keeps its spaces, in the store itself too.
    assert_eq!(ask_store(store.port(0), "get a"), "VALUE a two words\r\n");
    assert_page(&get(port, "/get?key=a"), "two words");
    // Only the first of a repeated argument counts.
    assert_page(&get(port, "/get?key=a&key=b"), "two words");
    let head = request(port, "HEAD", "/get?key=a");
    assert_eq!(head.status, "HTTP/1.1 200 OK");
    assert_eq!(head.body, "");
    assert_page(&get(port, "/delete?key=a"), "a");
    assert_page(&get(port, "/delete?key=a"), "NOT FOUND: 'a'");
    assert_page(&get(port, "/get?key=a"), "NOT FOUND: 'a'");
    assert_eq!(ask_store(store.port(0), "get a"), "GET_NOT_FOUND a\r\n");

    let log = stop(web);
    assert!(
        log.iter()
            .any(|line| line
                .ends_with("\"GET /set?key=a&value=two+words HTTP/1.1\" 200 6 \"-\" \"-\"")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|line| line.ends_with(&format!(
            "[-] Connected to the key-value store at 127.0.0.1:{}",
            store.port(0)
        ))),
        "{log:#?}"
    );
}

#[test]
fn missing_arguments_are_500_other_paths_404_other_methods_405() {
    let store = start_store(0);
    let web = start_web(store.port(0), &[]);
    let port = web.port(0);
    for target in [
        "/get",
        "/get?value=1",
        "/delete?k=a",
        "/set?key=a",
        "/set?value=a",
    ] {
        let answer = get(port, target);
        assert_eq!(
            answer.status, "HTTP/1.1 500 Internal Server Error",
            "{target}"
        );
        assert_eq!(answer.body, PROCESSING_FAILED, "{target}");
    }
    for target in ["/get/", "/anything", "/get/a?key=a", "/index.html"] {
        let answer = get(port, target);
        assert_eq!(answer.status, "HTTP/1.1 404 Not Found", "{target}");
    }
    let answer = request(port, "POST", "/set?key=a&value=b");
    assert_eq!(answer.status, "HTTP/1.1 405 Method Not Allowed");
    assert!(answer.headers.contains(&"Allow: HEAD, GET".to_owned()));
    // Nothing was stored by any of them.
    assert_eq!(ask_store(store.port(0), "get a"), "GET_NOT_FOUND a\r\n");
    stop(web);
}

#[test]
fn what_the_line_protocol_cannot_carry_is_refused_and_never_sent() {
    let store = start_store(0);
    let web = start_web(store.port(0), &[]);
    let port = web.port(0);
    once_reachable(port, "/get?key=x");
    let bad_value = "A value must not be empty, hold a CR or LF, or start or end with a space.";
    let bad_key = "A key must be one word: not empty, without spaces, tabs, CR or LF.";
    for (target, sentence) in [
        // The training's injection: a second request smuggled in a value.
        ("/set?key=a&value=x%0D%0Aset+b+injected", bad_value),
        ("/set?key=a&value=x%0Aset+b+injected", bad_value),
        ("/set?key=a&value=", bad_value),
        ("/set?key=a&value=+padded", bad_value),
        ("/set?key=a%0D%0Aset+b+injected&value=x", bad_key),
        ("/get?key=a%0D%0Adelete+b", bad_key),
        ("/get?key=b+zz", bad_key),
        ("/delete?key=", bad_key),
        ("/delete?key=a%09b", bad_key),
    ] {
        assert_refused(&get(port, target), "400 Bad Request", sentence);
    }
    assert_eq!(ask_store(store.port(0), "get a"), "GET_NOT_FOUND a\r\n");
    assert_eq!(ask_store(store.port(0), "get b"), "GET_NOT_FOUND b\r\n");
    // The store's connection is intact: the next page works.
    assert_page(&get(port, "/set?key=b&value=fine"), "STORED");
    assert_page(&get(port, "/get?key=b"), "fine");
    stop(web);
}

#[test]
fn a_store_down_at_start_then_up_then_gone_then_back() {
    let store_port = closed_port();
    let web = start_web(store_port, &[]);
    let port = web.port(0);
    let unreachable = format!("The key-value store at 127.0.0.1:{store_port} is not reachable.");

    // The web front serves at once; its pages say the store is not there.
    assert_refused(
        &get(port, "/get?key=a"),
        "503 Service Unavailable",
        &unreachable,
    );
    assert_eq!(get(port, "/").status, "HTTP/1.1 200 OK");

    // The store comes up: the web front finds it on its own.
    let store = start_store(store_port);
    assert_page(&once_reachable(port, "/set?key=a&value=1"), "STORED");
    assert_page(&get(port, "/get?key=a"), "1");

    // The store goes away: 503 again.
    stop(store);
    assert_refused(
        &get(port, "/get?key=a"),
        "503 Service Unavailable",
        &unreachable,
    );

    // And comes back (empty: its entries went with it).
    let _store = start_store(store_port);
    assert_page(&once_reachable(port, "/get?key=a"), "NOT FOUND: 'a'");
    assert_page(&get(port, "/set?key=a&value=2"), "STORED");
    assert_page(&get(port, "/get?key=a"), "2");

    // The web front stops first, so that the store's going is not in its log.
    let log = stop(web);
    let said = |text: &str| log.iter().filter(|line| line.contains(text)).count();
    assert_eq!(said("Connected to the key-value store"), 2, "{log:#?}");
    assert_eq!(
        said("Lost the connection to the key-value store"),
        1,
        "{log:#?}"
    );
    // An outage is told once, not at every attempt: at start, "not reachable"; later, the loss.
    assert_eq!(said("is not reachable: "), 1, "{log:#?}");
}

#[test]
fn a_store_that_does_not_answer_is_a_504() {
    // A "store" that takes connections and never says anything.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let store_port = silent.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let web = start_web(store_port, &["--timeout", "300ms"]);
    let answer = once_reachable(web.port(0), "/get?key=a");
    assert_refused(
        &answer,
        "504 Gateway Timeout",
        &format!("The key-value store at 127.0.0.1:{store_port} did not answer within 300ms."),
    );
    stop(web);
}
