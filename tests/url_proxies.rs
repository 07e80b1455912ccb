//! The training's URL proxies (`url-proxy-1`, `url-proxy-2`, `url-proxy-2-ex1`, `url-proxy-2-ex2`)
//! and `web3b`, run as processes against the page server of `tests/fixtures/pages.py`: the lines
//! they print, the bytes they write back, who is served when, and how many times the page server
//! was asked for a page (its `/hits`).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, PageServer, closed_port, lines};

/// The page the fixture serves at `/`.
const PAGE: &[u8] = b"<html><head><title>Local page</title></head>\
                      <body>Hello from the local page server</body></html>\n";

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// Starts `name` on a free port with `args`.
fn start(name: &str, args: &[&str]) -> Listening {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    Listening::start(name, &all, 1)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Sends `text` and reads until the proxy closes the connection.
fn ask(port: u16, text: &str) -> Vec<u8> {
    let mut stream = connect(port);
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// Asks for `url` in a thread of its own, and gives back the answer and when it ended.
fn ask_in_background(port: u16, url: String) -> thread::JoinHandle<(Vec<u8>, Instant)> {
    thread::spawn(move || {
        let answer = ask(port, &format!("{url}\r\n"));
        (answer, Instant::now())
    })
}

/// Sends `text` and checks that, a while later, the connection is still open with nothing written.
fn assert_ignored(port: u16, text: &str) {
    let mut stream = connect(port);
    stream.write_all(text.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buffer = [0; 16];
    match stream.read(&mut buffer) {
        Err(error) => assert!(
            matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{error}"
        ),
        Ok(count) => panic!("{text:?} was answered ({count} bytes) or closed"),
    }
}

/// Stops the server with SIGTERM; checks that it exits with status 0; returns the lines of its
/// stdout and of its stderr (after its `listening` line).
fn stop(server: Listening) -> (Vec<String>, Vec<String>) {
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    (lines(&out), lines(&err))
}

/// Whether `text` is a number of seconds as Python 2 prints a float: `0.504812`, `1.00655126572`,
/// `5e-05`.
fn is_python_float(text: &str) -> bool {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    digits(whole) && digits(fraction) && digits(exponent)
}

/// The seconds at the end of `line`, after `prefix`, checked to be a Python 2 float.
fn seconds_after<'a>(line: &'a str, prefix: &str) -> &'a str {
    let seconds = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"));
    assert!(is_python_float(seconds), "{line:?}");
    seconds
}

// ---- url-proxy-1: blocking ----

#[test]
fn url_proxy_1_fetches_the_first_url_of_a_connection_and_prints_three_lines() {
    let pages = PageServer::start("ok");
    let server = start("url-proxy-1", &[]);
    let port = server.port(0);
    let (home, slow) = (pages.url("/"), pages.url("/slow/0"));

    // Lines that are not http:// URLs are skipped; the first URL is served, and the connection
    // closed: the URL after it is never fetched.
    let answer = ask(
        port,
        &format!("hello\r\nhttps://x/\r\n{slow}\r\n{home}\r\n"),
    );
    assert_eq!(answer, b"slow page 0\n");
    assert_eq!(ask(port, &format!("{home}\r\n")), PAGE);
    assert_eq!(pages.hits("/"), 1);

    // Redirects are followed, as urllib2 follows them.
    assert_eq!(ask(port, &format!("{}\r\n", pages.url("/redirect"))), PAGE);

    // Anything else, or a URL ended by a bare LF, is no request at all.
    assert_ignored(port, "hello\r\n");
    assert_ignored(port, &format!("{home}\n"));

    let (out, err) = stop(server);
    assert_eq!(out.len(), 9, "{out:#?}");
    for (index, url) in [slow, home, pages.url("/redirect")].iter().enumerate() {
        let lines = &out[index * 3..index * 3 + 3];
        assert_eq!(lines[0], format!("fetching {url}"));
        assert_eq!(lines[1], format!("fetched {url}"));
        seconds_after(&lines[2], "took ");
    }
    assert!(err.is_empty(), "{err:#?}");
}

#[test]
fn url_proxy_1_serves_clients_one_after_the_other() {
    let pages = PageServer::start("ok");
    let server = start("url-proxy-1", &[]);
    let port = server.port(0);
    let (slow, fast) = (pages.url("/slow/1"), pages.url("/"));

    let started = Instant::now();
    let first = ask_in_background(port, slow.clone());
    thread::sleep(Duration::from_millis(200));
    let second = ask_in_background(port, fast.clone());
    let (slow_page, _) = first.join().unwrap();
    let (fast_page, fast_done) = second.join().unwrap();
    assert_eq!(slow_page, b"slow page 1\n");
    assert_eq!(fast_page, PAGE);
    // The fast page took no time to fetch, yet its client waited for the slow fetch to end: the
    // reactor was blocked meanwhile.
    assert!(
        fast_done - started >= Duration::from_millis(1000),
        "{:?}",
        fast_done - started
    );

    let (out, _) = stop(server);
    let expected_order = [
        format!("fetching {slow}"),
        format!("fetched {slow}"),
        format!("fetching {fast}"),
        format!("fetched {fast}"),
    ];
    let order: Vec<&String> = out
        .iter()
        .filter(|line| !line.starts_with("took "))
        .collect();
    assert_eq!(order, expected_order.iter().collect::<Vec<_>>(), "{out:#?}");
}

/// A page that cannot be fetched: nothing written, the connection closed, one line on stderr, and
/// the proxy goes on serving.
fn failures_close_the_connection(name: &str) {
    let pages = PageServer::start("ok");
    let server = start(name, &[]);
    let port = server.port(0);
    let missing = pages.url("/missing");
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let partial = pages.url("/partial");
    for url in [&missing, &refused, &partial] {
        assert_eq!(ask(port, &format!("{url}\r\n")), b"", "{url}");
    }
    assert_eq!(ask(port, &format!("{}\r\n", pages.url("/"))), PAGE);

    let (out, err) = stop(server);
    assert_eq!(
        err[..2],
        [
            format!("failed to fetch {missing}: HttpError: 404 Not Found"),
            format!(
                "failed to fetch {refused}: ConnectionRefusedError: Connection was refused by \
                 other side: 111: Connection refused."
            ),
        ]
    );
    assert!(
        err[2].starts_with(&format!("failed to fetch {partial}: ")),
        "{err:#?}"
    );
    assert_eq!(err.len(), 3, "{err:#?}");
    if name == "url-proxy-1" || name == "url-proxy-2" {
        // Each failure said `fetching` on stdout, and nothing more.
        assert_eq!(out[0], format!("fetching {missing}"));
        assert_eq!(out[1], format!("fetching {refused}"));
        assert_eq!(out[2], format!("fetching {partial}"));
        assert_eq!(out.len(), if name == "url-proxy-1" { 6 } else { 5 });
    } else {
        assert!(out.is_empty(), "{out:#?}");
    }
}

#[test]
fn url_proxy_1_closes_the_connection_of_a_page_it_cannot_fetch() {
    failures_close_the_connection("url-proxy-1");
}

/// `--timeout`: a page slower than that is given up, its connection to the page server closed, and
/// the client's connection closed with nothing written.
fn a_slow_page_times_out(name: &str) {
    let pages = PageServer::start("ok");
    let server = start(name, &["--timeout", "300ms"]);
    let slow = pages.url("/slow/3");
    let started = Instant::now();
    assert_eq!(ask(server.port(0), &format!("{slow}\r\n")), b"");
    assert!(started.elapsed() < Duration::from_secs(2));
    while pages.left("/slow/3") == 0 {
        assert!(started.elapsed() < Duration::from_secs(3), "still fetching");
        thread::sleep(Duration::from_millis(20));
    }
    let (_, err) = stop(server);
    assert_eq!(
        err,
        [format!(
            "failed to fetch {slow}: TimeoutError: Getting {slow} took longer than 0.3 seconds."
        )]
    );
}

#[test]
fn url_proxy_1_gives_up_on_a_page_slower_than_its_timeout() {
    a_slow_page_times_out("url-proxy-1");
}

// ---- url-proxy-2: getPage ----

#[test]
fn url_proxy_2_fetches_concurrently_and_prints_fetched_took_on_one_line() {
    let pages = PageServer::start("ok");
    let server = start("url-proxy-2", &[]);
    let port = server.port(0);
    let (slow, fast) = (pages.url("/slow/1"), pages.url("/"));

    let first = ask_in_background(port, slow.clone());
    thread::sleep(Duration::from_millis(200));
    let second = ask_in_background(port, fast.clone());
    let (slow_page, slow_done) = first.join().unwrap();
    let (fast_page, fast_done) = second.join().unwrap();
    assert_eq!(slow_page, b"slow page 1\n");
    assert_eq!(fast_page, PAGE);
    // The fast page, asked for second, is answered first: nobody waits for anybody.
    assert!(fast_done < slow_done);

    // Only the first URL of a connection is served, the rest of it ignored.
    let answer = ask(port, &format!("{fast}\r\n{slow}\r\n"));
    assert_eq!(answer, PAGE);
    assert_ignored(port, "https://example.com/\r\n");

    let (out, err) = stop(server);
    assert_eq!(out.len(), 6, "{out:#?}");
    assert_eq!(out[0], format!("fetching {slow}"));
    assert_eq!(out[1], format!("fetching {fast}"));
    seconds_after(&out[2], &format!("fetched {fast} took "));
    seconds_after(&out[3], &format!("fetched {slow} took "));
    assert_eq!(out[4], format!("fetching {fast}"));
    seconds_after(&out[5], &format!("fetched {fast} took "));
    assert_eq!(pages.hits("/slow/1"), 1);
    assert!(err.is_empty(), "{err:#?}");
}

#[test]
fn url_proxy_2_closes_the_connection_of_a_page_it_cannot_fetch() {
    failures_close_the_connection("url-proxy-2");
}

// ---- url-proxy-2-ex1 and -ex2: the caching proxies ----

/// Two clients asking for a page at once share one fetch; later ones get the cached copy; failed
/// and partial pages are never cached.
fn caching_proxy_fetches_each_page_once(name: &str) {
    let pages = PageServer::start("ok");
    let server = start(name, &[]);
    let port = server.port(0);
    let slow = pages.url("/slow/0.5");

    let first = ask_in_background(port, slow.clone());
    let second = ask_in_background(port, slow.clone());
    assert_eq!(first.join().unwrap().0, b"slow page 0.5\n");
    assert_eq!(second.join().unwrap().0, b"slow page 0.5\n");
    assert_eq!(pages.hits("/slow/0.5"), 1);

    // From the cache, at once.
    let started = Instant::now();
    assert_eq!(ask(port, &format!("{slow}\r\n")), b"slow page 0.5\n");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(pages.hits("/slow/0.5"), 1);

    // A 404 and a page cut short are fetched again each time.
    for path in ["/missing", "/partial"] {
        for _ in 0..2 {
            assert_eq!(ask(port, &format!("{}\r\n", pages.url(path))), b"");
        }
        assert_eq!(pages.hits(path), 2, "{path}");
    }

    let (out, err) = stop(server);
    assert!(
        out.is_empty(),
        "the caching proxies print nothing: {out:#?}"
    );
    assert_eq!(err.len(), 4, "{err:#?}");
}

/// The cache keeps the number of pages and bytes it is told to.
fn caching_proxy_keeps_within_its_bounds(name: &str) {
    let pages = PageServer::start("ok");
    let (first, second) = (pages.url("/slow/0"), pages.url("/"));

    // One page at most: asking for another pushes the first out.
    let server = start(name, &["--cache-entries", "1"]);
    let port = server.port(0);
    for url in [&first, &second, &first, &first] {
        ask(port, &format!("{url}\r\n"));
    }
    assert_eq!(pages.hits("/slow/0"), 2);
    stop(server);

    // A page larger than the whole cache is served, never kept.
    let server = start(name, &["--cache-size", "100"]);
    let port = server.port(0);
    for _ in 0..2 {
        assert_eq!(ask(port, &format!("{second}\r\n")), PAGE);
    }
    assert_eq!(pages.hits("/"), 3);
    stop(server);
}

#[test]
fn url_proxy_2_ex1_fetches_each_page_once() {
    caching_proxy_fetches_each_page_once("url-proxy-2-ex1");
}

#[test]
fn url_proxy_2_ex2_fetches_each_page_once() {
    caching_proxy_fetches_each_page_once("url-proxy-2-ex2");
}

#[test]
fn url_proxy_2_ex1_keeps_within_its_bounds() {
    caching_proxy_keeps_within_its_bounds("url-proxy-2-ex1");
}

#[test]
fn url_proxy_2_ex2_keeps_within_its_bounds() {
    caching_proxy_keeps_within_its_bounds("url-proxy-2-ex2");
}

#[test]
fn url_proxy_2_ex1_gives_up_on_a_page_slower_than_its_timeout() {
    a_slow_page_times_out("url-proxy-2-ex1");
}

#[test]
fn url_proxy_2_ex1_closes_the_connection_of_a_page_it_cannot_fetch() {
    failures_close_the_connection("url-proxy-2-ex1");
}

#[test]
fn url_proxy_2_ex2_closes_the_connection_of_a_page_it_cannot_fetch() {
    failures_close_the_connection("url-proxy-2-ex2");
}

// ---- web3b ----

/// Sends an HTTP request and reads until the server closes.
fn http(port: u16, request: &str) -> String {
    String::from_utf8(ask(port, request)).unwrap()
}

/// A GET of `/long?url=<url>` over HTTP/1.1 that closes the connection after the answer.
fn get_long(port: u16, url: &str) -> String {
    http(
        port,
        &format!("GET /long?url={url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// The answer without its `Date` line, which changes every second.
fn without_date(answer: &str) -> String {
    answer
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn web3b_answers_with_the_fetched_page() {
    let pages = PageServer::start("ok");
    let server = start("web3b", &[]);
    let port = server.port(0);

    // HTTP/1.1: the page as one chunk.
    let answer = get_long(port, &pages.url("/slow/0.3"));
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.1 200 OK\r\n{SERVER}\r\nContent-Type: text/html\r\nConnection: \
             close\r\nTransfer-Encoding: chunked\r\n\r\nE\r\nslow page 0.3\n\r\n0\r\n\r\n"
        )
    );

    // HTTP/1.0: the page raw, and the end of the connection.
    let answer = http(
        port,
        &format!("GET /long?url={} HTTP/1.0\r\n\r\n", pages.url("/")),
    );
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Type: text/html\r\n\r\n{}",
            String::from_utf8_lossy(PAGE)
        )
    );

    // The web2 pages are still there.
    let answer = http(port, "GET /page HTTP/1.0\r\n\r\n");
    assert!(answer.ends_with("\r\n\r\nA PAGE"), "{answer}");

    let (out, err) = stop(server);
    assert!(err.is_empty(), "{err:#?}");
    let access: Vec<&String> = out.iter().filter(|line| line.contains("\"GET ")).collect();
    assert_eq!(access.len(), 3, "{out:#?}");
    assert!(access[0].contains(" HTTP/1.1\" 200 14 "), "{}", access[0]);
}

#[test]
fn web3b_answers_500_without_url_and_502_when_the_page_cannot_be_fetched() {
    let pages = PageServer::start("ok");
    let server = start("web3b", &[]);
    let port = server.port(0);

    let answer = http(port, "GET /long HTTP/1.0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 500 Internal Server Error\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("<b>Processing Failed</b></body></html>"));

    let missing = pages.url("/missing");
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    for (url, why) in [
        (&missing, "HttpError: 404 Not Found"),
        (
            &refused,
            "ConnectionRefusedError: Connection was refused by other side: 111: Connection \
             refused.",
        ),
    ] {
        let answer = http(port, &format!("GET /long?url={url} HTTP/1.0\r\n\r\n"));
        assert_eq!(
            without_date(&answer),
            format!(
                "HTTP/1.0 502 Bad Gateway\r\n{SERVER}\r\nContent-Type: text/plain; \
                 charset=utf-8\r\n\r\nCould not fetch the page: {why}\n"
            )
        );
    }

    let (out, _) = stop(server);
    for url in [&missing, &refused] {
        let logged = format!("[-] Could not fetch {url}: ");
        assert!(out.iter().any(|line| line.contains(&logged)), "{out:#?}");
    }
}

#[test]
fn web3b_cancels_the_fetch_of_a_client_that_leaves() {
    let pages = PageServer::start("ok");
    let server = start("web3b", &[]);
    let port = server.port(0);

    let mut client = connect(port);
    let slow = pages.url("/slow/5");
    client
        .write_all(format!("GET /long?url={slow} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    // Gone once the fetch has started.
    let asked = Instant::now();
    while pages.hits("/slow/5") == 0 {
        assert!(asked.elapsed() < Duration::from_secs(5), "never fetched");
        thread::sleep(Duration::from_millis(20));
    }
    client.shutdown(Shutdown::Both).unwrap();
    drop(client);
    while pages.left("/slow/5") == 0 {
        assert!(
            asked.elapsed() < Duration::from_secs(4),
            "the fetch went on without its client"
        );
        thread::sleep(Duration::from_millis(20));
    }

    let (out, err) = stop(server);
    assert!(err.is_empty(), "{err:#?}");
    assert!(
        !out.iter()
            .any(|line| line.contains("Unhandled") || line.contains("Could not fetch")),
        "{out:#?}"
    );
}
