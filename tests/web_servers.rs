//! The web programs of the training (web1 to web5) and of the talks (hello-web, simple-web), run as
//! processes: exact bytes on the wire over raw HTTP, the order in which a blocking and a threaded
//! server answer, and the training's log on stdout.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use support::{Listening, lines};

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// Twisted's 404 page.
const NOT_FOUND_PAGE: &str = "\n<html>\n  <head><title>404 - No Such Resource</title></head>\n  \
    <body>\n    <h1>No Such Resource</h1>\n    <p>Sorry. No luck finding that resource.</p>\n  \
    </body>\n</html>\n";

/// Twisted's 500 page.
const PROCESSING_FAILED: &str = "<html><head><title>Processing Failed</title></head><body>\
    <b>Processing Failed</b></body></html>";

/// Starts `name` on a free port with `args`.
fn start(name: &str, args: &[&str]) -> Listening {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    Listening::start(name, &all, 1)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
}

/// Sends `request` and reads until the server closes: the request must end the connection
/// (HTTP/1.0, or `Connection: close`).
fn exchange(port: u16, request: &str) -> String {
    let mut stream = connect(port);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

/// A GET of `target` over HTTP/1.1 that closes the connection after the answer.
fn get(port: u16, target: &str) -> String {
    exchange(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// Reads from `stream` into `answer` until `done` says what was read so far is enough; returns
/// it as text.
fn read_until(stream: &mut TcpStream, answer: &mut Vec<u8>, done: impl Fn(&str) -> bool) -> String {
    let mut buffer = [0; 4096];
    while !done(&String::from_utf8_lossy(answer)) {
        let count = stream.read(&mut buffer).unwrap();
        assert!(
            count > 0,
            "closed early: {}",
            String::from_utf8_lossy(answer)
        );
        answer.extend_from_slice(&buffer[..count]);
    }
    String::from_utf8(answer.clone()).unwrap()
}

/// Reads from `stream` until what was read holds `text`.
fn read_past(stream: &mut TcpStream, text: &str) -> String {
    read_until(stream, &mut Vec::new(), |answer| answer.contains(text))
}

/// The answer without its `Date` line, which changes every second.
fn without_date(answer: &str) -> String {
    answer
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// An answer of `status` with a whole body of type `text/html`, as the site sends what a page
/// returned, on a connection the request asked to close.
fn html_answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{SERVER}\r\nContent-Length: {}\r\nContent-Type: text/html\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

fn assert_not_found(answer: &str) {
    assert!(answer.contains(" 404 Not Found\r\n"), "{answer}");
    assert!(
        answer.contains("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 167\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with(&format!("\r\n\r\n{NOT_FOUND_PAGE}")),
        "{answer}"
    );
}

/// Stops the server with SIGTERM; checks that it exits with status 0 and printed nothing more on
/// stderr; returns its stdout's lines.
fn stop(server: Listening) -> Vec<String> {
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    lines(&out)
}

// ---- web1 and web2 ----

#[test]
fn web1_answers_404_to_everything() {
    let server = start("web1", &[]);
    let port = server.port(0);
    for target in ["/", "/page", "/a/b?c=d"] {
        let answer = get(port, target);
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
        assert_not_found(&answer);
    }
    // Every method too: the root has no page to refuse a method with.
    let answer = exchange(port, "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 404 Not Found\r\n"), "{answer}");
    let answer = exchange(port, "DELETE /x HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 404 Not Found\r\n"), "{answer}");
    stop(server);
}

#[test]
fn web2_serves_its_two_pages_and_404s_the_rest() {
    let server = start("web2", &[]);
    let port = server.port(0);
    for (target, body) in [("/", "HELLO"), ("/?x=1", "HELLO"), ("/page", "A PAGE")] {
        assert_eq!(
            without_date(&get(port, target)),
            html_answer("200 OK", body)
        );
    }
    assert_eq!(
        without_date(&get(port, "/page?x=1")),
        html_answer("200 OK", "A PAGE")
    );
    for target in ["/page/", "/nothing", "/page/x"] {
        assert_not_found(&get(port, target));
    }

    // HEAD: the GET's head, with its length, and no body.
    let answer = exchange(port, "HEAD /page HTTP/1.0\r\n\r\n");
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Length: 6\r\nContent-Type: text/html\r\n\r\n"
        )
    );
    // POST: 405, and what is allowed; a method HTTP/1.0 did not know: 501.
    let answer = exchange(port, "POST /page HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nAllow: HEAD, GET\r\n"), "{answer}");
    let answer = exchange(port, "PUT /page HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 501 Not Implemented\r\n"),
        "{answer}"
    );

    // HTTP/1.0: the same answer with a 1.0 status line, and the server closes.
    assert_eq!(
        without_date(&exchange(port, "GET / HTTP/1.0\r\n\r\n")),
        format!(
            "HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Length: 5\r\nContent-Type: text/html\r\n\r\n\
             HELLO"
        )
    );
    stop(server);
}

#[test]
fn web2_answers_pipelined_requests_in_order_and_keeps_the_connection() {
    let server = start("web2", &[]);
    let mut stream = connect(server.port(0));
    stream
        .write_all(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answers = read_past(&mut stream, "HELLO");
    let at = |text| answers.find(text).unwrap();
    assert_eq!(
        answers.matches("HTTP/1.1 200 OK\r\n").count(),
        2,
        "{answers}"
    );
    assert!(at("A PAGE") < at("HELLO"), "{answers}");
    // Still open: a third request on the same connection is answered.
    stream
        .write_all(b"GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut third = String::new();
    stream.read_to_string(&mut third).unwrap();
    assert!(third.starts_with("HTTP/1.1 200 OK\r\n") && third.ends_with("A PAGE"));
    stop(server);
}

// ---- web3 ----

#[test]
fn web3_streams_a_b_c_chunked_over_http_11_and_raw_over_http_10() {
    let server = start("web3", &["--time-scale", "0.01"]);
    let port = server.port(0);
    let answer = get(port, "/long");
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.1 200 OK\r\n{SERVER}\r\nContent-Type: text/html\r\nConnection: close\r\n\
             Transfer-Encoding: chunked\r\n\r\n1\r\nA\r\n1\r\nB\r\n1\r\nC\r\n0\r\n\r\n"
        )
    );
    let answer = exchange(port, "GET /long HTTP/1.0\r\n\r\n");
    assert_eq!(
        without_date(&answer),
        format!("HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Type: text/html\r\n\r\nABC")
    );
    // The pages of web2 are there too.
    assert!(get(port, "/").ends_with("\r\n\r\nHELLO"));
    assert!(get(port, "/page").ends_with("\r\n\r\nA PAGE"));
    let log = stop(server);
    assert!(
        log.iter()
            .any(|line| line.ends_with("\"GET /long HTTP/1.1\" 200 3 \"-\" \"-\"")),
        "{log:#?}"
    );
}

#[test]
fn web3_sends_a_at_once_and_survives_a_client_that_leaves() {
    // B half a second after A, the end at 1.5 s.
    let server = start("web3", &["--time-scale", "0.5"]);
    let port = server.port(0);
    let mut stream = connect(port);
    stream
        .write_all(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head_and_a = read_past(&mut stream, "\r\n\r\n1\r\nA\r\n");
    assert!(
        head_and_a.starts_with("HTTP/1.1 200 OK\r\n"),
        "{head_and_a}"
    );
    // B is not there yet: the answer is streamed, not sent whole at the end.
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let error = stream.read(&mut [0; 16]).unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut
    ));
    // The client leaves; past the page's end, the server is fine and serves the next one.
    drop(stream);
    thread::sleep(Duration::from_millis(1800));
    assert!(get(port, "/").ends_with("\r\n\r\nHELLO"));
    let log = stop(server);
    // The timers were cancelled: no write or finish on a lost request was attempted, so nothing
    // was logged about it, and the lost request has no access line.
    assert!(
        !log.iter().any(|line| line.contains("Unhandled")),
        "{log:#?}"
    );
    assert!(
        !log.iter().any(|line| line.contains("GET /long")),
        "{log:#?}"
    );
}

// ---- web4 and web5 ----

#[test]
fn web4_and_web5_count_the_digits_exactly() {
    for program in ["web4", "web5"] {
        let server = start(program, &["--max-num", "200000"]);
        let port = server.port(0);
        // HTTP/1.1: two chunks, then the end.
        assert_eq!(
            without_date(&get(port, "/?num=10")),
            format!(
                "HTTP/1.1 200 OK\r\n{SERVER}\r\nContent-Type: text/html\r\nConnection: close\r\n\
                 Transfer-Encoding: chunked\r\n\r\nB\r\nResult is: \r\nF\r\n2 digits long\r\n\
                 \r\n0\r\n\r\n"
            ),
            "{program}"
        );
        let raw = |num: &str| {
            let answer = exchange(port, &format!("GET /?num={num} HTTP/1.0\r\n\r\n"));
            answer.split_once("\r\n\r\n").unwrap().1.to_owned()
        };
        assert_eq!(
            raw("100000"),
            "Result is: 20899 digits long\r\n",
            "{program}"
        );
        assert_eq!(raw("100"), "Result is: 21 digits long\r\n", "{program}");
        for below_one in ["0", "-5", "-99999999999999999999999"] {
            assert_eq!(raw(below_one), "Result is: 1 digits long\r\n", "{program}");
        }
        assert_eq!(raw("%2012%20"), "Result is: 3 digits long\r\n", "{program}");
        // Only `/`: anything else is a 404.
        assert_not_found(&get(port, "/other?num=10"));
        stop(server);
    }
}

#[test]
fn web4_and_web5_refuse_a_bad_num_with_500_and_a_large_one_with_400() {
    for program in ["web4", "web5"] {
        let server = start(program, &["--max-num", "1000"]);
        let port = server.port(0);
        for target in ["/", "/?num=", "/?num=abc", "/?num=1.5", "/?other=3"] {
            assert_eq!(
                without_date(&get(port, target)),
                html_answer("500 Internal Server Error", PROCESSING_FAILED),
                "{program} {target}"
            );
        }
        for target in ["/?num=1001", "/?num=99999999999999999999999"] {
            let answer = get(port, target);
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{program}: {answer}"
            );
            assert!(
                answer.contains("<p>num may be at most 1000.</p>"),
                "{answer}"
            );
        }
        assert!(
            get(port, "/?num=1000")
                .ends_with("Result is: \r\n11\r\n209 digits long\r\n\r\n0\r\n\r\n")
        );
        let log = stop(server);
        assert!(
            log.iter().any(|line| line.ends_with(
                "while rendering /?num=abc: [Failure instance: NotANumber: invalid literal for \
                 int() with base 10: 'abc']"
            )),
            "{log:#?}"
        );
    }
}

/// Asks for fib(200000), which takes a while (seconds in a debug build), then, once the server is
/// at it, for fib(5); returns whether the first answer was complete when the second was.
fn big_done_before_small(program: &str) -> bool {
    let server = start(program, &[]);
    let port = server.port(0);
    let mut big = connect(port);
    big.write_all(b"GET /?num=200000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // web5 sends its head and `Result is: ` at once; web4 cannot say it has started (nothing
    // leaves while it works), so it is given the time to.
    big.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    if let Ok(count) = big.read(&mut buffer) {
        answer.extend_from_slice(&buffer[..count]);
    }

    let small = get(port, "/?num=5");
    assert!(
        small.ends_with("F\r\n1 digits long\r\n\r\n0\r\n\r\n"),
        "{small}"
    );
    // Whatever of the big answer was sent before the small one has arrived by now, or within a
    // moment; the rest of a computation of seconds has not.
    big.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while !answer.ends_with(b"0\r\n\r\n") {
        match big.read(&mut buffer) {
            Ok(count) if count > 0 => answer.extend_from_slice(&buffer[..count]),
            _ => break,
        }
    }
    let big_done = answer.ends_with(b"0\r\n\r\n");
    if big_done {
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer
                .ends_with("\r\n\r\nB\r\nResult is: \r\n13\r\n41798 digits long\r\n\r\n0\r\n\r\n"),
            "{answer}"
        );
    } else {
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.ends_with("\r\n\r\nB\r\nResult is: \r\n"), "{answer}");
    }
    stop(server);
    big_done
}

#[test]
fn web4_blocks_every_request_until_its_work_is_done() {
    assert!(big_done_before_small("web4"));
}

#[test]
fn web5_answers_others_while_a_thread_works() {
    assert!(!big_done_before_small("web5"));
}

#[test]
fn web5_sends_the_head_at_once_and_gives_up_the_work_of_a_client_that_left() {
    let server = start("web5", &[]);
    let port = server.port(0);
    // Ten clients (as many as the pool has threads) ask for fib(a million), which would take
    // minutes, and leave as soon as `Result is: ` has come.
    for _ in 0..10 {
        let mut stream = connect(port);
        stream
            .write_all(b"GET /?num=1000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_past(&mut stream, "\r\n\r\nB\r\nResult is: \r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        stream.shutdown(Shutdown::Both).unwrap();
    }
    // Had their work gone on, the pool would be full for minutes: this would wait its turn.
    let answer = get(port, "/?num=10");
    assert!(
        answer.ends_with("F\r\n2 digits long\r\n\r\n0\r\n\r\n"),
        "{answer}"
    );
    let log = stop(server);
    assert!(
        !log.iter().any(|line| line.contains("Unhandled")),
        "{log:#?}"
    );
}

// ---- the training's log ----

/// A log line without its timestamp, which must be twistd's: `2026-11-28 18:46:07+0000 `.
fn message(line: &str) -> &str {
    let (stamp, rest) = line.split_at(25);
    let digits = |range: std::ops::Range<usize>| stamp[range].bytes().all(|b| b.is_ascii_digit());
    assert!(
        digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13) && digits(14..16),
        "{line}"
    );
    assert_eq!(&stamp[19..], "+0000 ", "{line}");
    rest
}

#[test]
fn the_training_web_servers_log_on_stdout_as_twistd_does() {
    let server = start("web2", &[]);
    let port = server.port(0);
    exchange(
        port,
        "GET /page?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: tester/1.0\r\nReferer: http://a/\r\n\
         Connection: close\r\n\r\n",
    );
    let log = stop(server);
    let messages: Vec<&str> = log.iter().map(|line| message(line)).collect();
    assert_eq!(messages.len(), 8, "{log:#?}");
    assert_eq!(messages[0], "[-] Log opened.");
    assert_eq!(messages[1], format!("[-] Site starting on {port}"));
    let factory = messages[2]
        .strip_prefix("[-] Starting factory ")
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert!(
        factory.starts_with("<Site object at 0x") && factory.ends_with('>'),
        "{factory}"
    );

    // The access line, in the combined format.
    let access = messages[3].strip_prefix("[-] \"127.0.0.1\" - - [").unwrap();
    let (date, rest) = access.split_once("] ").unwrap();
    assert_eq!(date.len(), 26, "{date}");
    assert_eq!((&date[2..3], &date[6..7], &date[11..12]), ("/", "/", ":"));
    assert!(date.ends_with(" +0000"), "{date}");
    assert_eq!(
        rest,
        "\"GET /page?x=1 HTTP/1.1\" 200 6 \"http://a/\" \"tester/1.0\""
    );

    assert_eq!(
        &messages[4..],
        [
            "[-] Received SIGTERM, shutting down.".to_owned(),
            format!("[-] (TCP Port {port} Closed)"),
            format!("[-] Stopping factory {factory}"),
            "[-] Main loop terminated.".to_owned(),
        ]
    );
}

// ---- the talks ----

#[test]
fn hello_web_answers_every_path_with_its_page() {
    let server = start("hello-web", &[]);
    let port = server.port(0);
    let page = "<html><body>Hello Twisted</body></html>";
    for target in ["/", "/a/b/c", "/?x=1", "/x/"] {
        assert_eq!(
            without_date(&get(port, target)),
            html_answer("200 OK", page)
        );
    }
    let answer = exchange(port, "HEAD /anything HTTP/1.0\r\n\r\n");
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Length: 39\r\nContent-Type: text/html\r\n\r\n"
        )
    );
    let answer = exchange(port, "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nAllow: HEAD, GET\r\n"), "{answer}");
    for method in ["PUT", "DELETE", "OPTIONS"] {
        let answer = exchange(port, &format!("{method} / HTTP/1.0\r\n\r\n"));
        assert!(
            answer.starts_with("HTTP/1.0 501 Not Implemented\r\n"),
            "{answer}"
        );
    }
    assert!(stop(server).is_empty(), "the talk's server prints nothing");
}

#[test]
fn simple_web_finds_its_page_at_the_root_through_its_own_empty_child() {
    let server = start("simple-web", &[]);
    let port = server.port(0);
    let ok = |version: &str, body: &str| {
        format!(
            "HTTP/{version} 200 OK\r\n{SERVER}\r\nContent-Type: text/plain\r\nContent-Length: \
             11\r\n{}\r\n{body}",
            if version == "1.1" {
                "Connection: close\r\n"
            } else {
                ""
            }
        )
    };
    for target in ["/", "//", "///", "/?x=1"] {
        assert_eq!(without_date(&get(port, target)), ok("1.1", "hello world"));
    }
    assert_not_found(&get(port, "/foo"));
    assert_eq!(
        without_date(&exchange(port, "GET / HTTP/1.0\r\n\r\n")),
        ok("1.0", "hello world")
    );
    assert_eq!(
        without_date(&exchange(port, "HEAD / HTTP/1.0\r\n\r\n")),
        ok("1.0", "")
    );
    let answer = exchange(port, "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(answer.contains("\r\nAllow: HEAD, GET\r\n"), "{answer}");
    for method in ["DELETE", "OPTIONS"] {
        let answer = exchange(port, &format!("{method} / HTTP/1.0\r\n\r\n"));
        assert!(answer.starts_with("HTTP/1.0 501 Not Implemented\r\n"));
    }
    assert!(exchange(port, "HELLO\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request\r\n"));

    // Two requests at once on one connection: two answers, and the connection stays open.
    let mut stream = connect(port);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answers = read_until(&mut stream, &mut Vec::new(), |a| {
        a.matches("hello world").count() == 2
    });
    assert!(answers.starts_with("HTTP/1.1 200 OK\r\n"), "{answers}");
    assert!(
        answers.contains("hello worldHTTP/1.1 200 OK\r\n"),
        "{answers}"
    );
    assert!(answers.ends_with("\r\n\r\nhello world"), "{answers}");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut third = String::new();
    stream.read_to_string(&mut third).unwrap();
    assert!(third.ends_with("\r\n\r\nhello world"), "{third}");
    assert!(stop(server).is_empty(), "the talk's server prints nothing");
}
