//! The web layer over real sockets: a site on a reactor in a thread of its own, and a client that
//! speaks raw HTTP, to check the bytes Twisted Web would send.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use common::defer::Failure;
use common::reactor::Reactor;
use common::web::{Branch, Data, Render, RenderResult, Request, Resource, Site};
use http::Method;

/// `GET` answers "HELLO", `POST` echoes the body, anything that fails is a 500.
struct Hello;

impl Resource for Hello {
    fn allowed_methods(&self) -> &[Method] {
        &[Method::GET, Method::POST]
    }
    fn render_get(&self, request: &Request) -> RenderResult {
        if request.arg("fail").is_some() {
            return Err(Failure::exception("asked to fail"));
        }
        Ok(Render::body("HELLO"))
    }
    fn render_post(&self, request: &Request) -> RenderResult {
        Ok(Render::Body(request.content().clone()))
    }
}

/// Writes `A` now, `B` and `C` later, then finishes; records whether the client stayed.
struct Long {
    reactor: Reactor,
    outcome: Rc<RefCell<String>>,
}

impl Resource for Long {
    fn render_get(&self, request: &Request) -> RenderResult {
        request.write(b"A");
        for (delay, piece) in [(50, "B"), (100, "C")] {
            let request = request.clone();
            self.reactor
                .call_later(Duration::from_millis(delay), move || {
                    request.write(piece.as_bytes())
                });
        }
        let finishing = request.clone();
        self.reactor
            .call_later(Duration::from_millis(150), move || finishing.finish());
        let outcome = Rc::clone(&self.outcome);
        request.notify_finish().add_callbacks(
            {
                let outcome = Rc::clone(&outcome);
                move |()| {
                    *outcome.borrow_mut() = "finished".to_owned();
                    Ok::<(), Failure>(())
                }
            },
            move |failure: Failure| {
                *outcome.borrow_mut() = format!("lost: {}", failure.short_type_name());
                Ok::<(), Failure>(())
            },
        );
        Ok(Render::NotDoneYet)
    }
}

/// What `/long` learnt about its last client.
struct Outcome(Rc<RefCell<String>>);

impl Resource for Outcome {
    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body(self.0.borrow().clone()))
    }
}

/// Starts a site in a thread of its own; returns its port. The thread lives as long as the test
/// process.
fn start_site(max_body: usize, header_timeout: Duration) -> u16 {
    start_logged_site(max_body, header_timeout).0
}

/// The server's log: what the site reports (a page that failed) goes there rather than to the
/// terminal, for a test to read.
#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedLog {
    /// Waits (a few seconds at most) for the log to hold `wanted`, and returns the log.
    fn wait_for(&self, wanted: &str) -> String {
        for _ in 0..500 {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if text.contains(wanted) {
                return text;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("the log never said {wanted:?}")
    }
}

/// Starts the test site on its own thread, logging into a [`SharedLog`].
fn start_logged_site(max_body: usize, header_timeout: Duration) -> (u16, SharedLog) {
    let (sender, receiver) = mpsc::channel();
    let log = SharedLog::default();
    let server_log = log.clone();
    thread::spawn(move || {
        common::log::start_logging(server_log);
        let reactor = Reactor::new().unwrap();
        let outcome = Rc::new(RefCell::new(String::from("none")));
        let root = Rc::new(Branch::new());
        root.put_child("", Rc::new(Hello));
        let data = Rc::new(Data::new("hello world", "text/plain"));
        let own_child = Rc::new(Data::new("hello self", "text/plain"));
        own_child.put_child("", Rc::clone(&own_child) as Rc<dyn Resource>);
        data.put_child("self", own_child);
        root.put_child("data", data);
        root.put_child(
            "long",
            Rc::new(Long {
                reactor: reactor.clone(),
                outcome: Rc::clone(&outcome),
            }),
        );
        root.put_child("outcome", Rc::new(Outcome(outcome)));
        let folder = Rc::new(Branch::new());
        root.put_child("folder", folder);
        let site = Site::with_limits(root, max_body, 16 * 1024, header_timeout);
        let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
        sender.send(port.get_host().port().unwrap()).unwrap();
        reactor.run().unwrap();
    });
    (receiver.recv().unwrap(), log)
}

fn site() -> u16 {
    start_site(1024, Duration::from_secs(5))
}

/// Sends `request` raw, half-closes, and reads everything until the server closes.
fn exchange(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends `request` raw and reads everything until the server closes, still able to send: a
/// client that stops sending before a page that answers later is done is gone, as in Twisted.
fn exchange_open(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that stops sending before a page that answers later has begun is gone for it (the
/// page hears so), while a page that answers at once still answers it.
#[test]
fn a_client_that_stops_sending_gets_only_the_answers_made_at_once() {
    let port = site();
    let answer = exchange(port, "GET / HTTP/1.0\r\n\r\n");
    assert!(answer.ends_with("\r\n\r\nHELLO"), "{answer}");
    let answer = exchange(port, "GET /long HTTP/1.0\r\n\r\n");
    assert!(!answer.contains("ABC"), "{answer}");
    thread::sleep(Duration::from_millis(50));
    let outcome = exchange(port, "GET /outcome HTTP/1.0\r\n\r\n");
    assert!(
        outcome.ends_with("\r\n\r\nlost: ConnectionLost"),
        "{outcome}"
    );
}

/// The answer without its `Date` line, which changes every second.
fn without_date(answer: &str) -> String {
    answer
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

#[test]
fn a_returned_body_is_sent_with_its_length_and_the_default_type() {
    let port = site();
    let answer = exchange(
        port,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.1 200 OK\r\n{SERVER}\r\nContent-Length: 5\r\nContent-Type: text/html\r\n\
             Connection: close\r\n\r\nHELLO"
        )
    );
    assert!(answer.contains("\r\nDate: "), "{answer}");
}

#[test]
fn data_sends_its_type_then_its_length_and_head_sends_no_body() {
    let port = site();
    let answer = exchange(port, "HEAD /data HTTP/1.0\r\n\r\n");
    assert_eq!(
        without_date(&answer),
        format!(
            "HTTP/1.0 200 OK\r\n{SERVER}\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
        )
    );
}

#[test]
fn data_is_not_a_leaf_so_what_is_below_it_is_a_404_unless_put_there() {
    let port = site();
    let answer = exchange(port, "GET /data/below HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 404 Not Found\r\n"), "{answer}");
    // Talk 004's trick: a page put as its own child `""` answers `/data/`, `/data//`...
    let answer = exchange(port, "GET /data/self// HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhello self"), "{answer}");
}

#[test]
fn a_missing_child_is_twisteds_404() {
    let port = site();
    let answer = exchange(port, "GET /nothing HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 404 Not Found\r\n"), "{answer}");
    assert!(answer.contains("Content-Type: text/html; charset=utf-8\r\nContent-Length: 167\r\n"));
    assert!(answer.ends_with(
        "\r\n\r\n\n<html>\n  <head><title>404 - No Such Resource</title></head>\n  <body>\n    \
         <h1>No Such Resource</h1>\n    <p>Sorry. No luck finding that resource.</p>\n  \
         </body>\n</html>\n"
    ));
    // A node with no page of its own, reached without its trailing slash, is a 404 too.
    let answer = exchange(port, "GET /folder HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 404 Not Found\r\n"), "{answer}");
}

#[test]
fn a_method_not_rendered_is_a_405_with_allow_and_an_unknown_one_a_501() {
    let port = site();
    let answer = exchange(port, "POST /data HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nAllow: HEAD, GET\r\n"), "{answer}");
    assert!(answer.contains(
        "<p>Your browser approached me (at /data) with the method \"POST\".  I only allow the \
         methods HEAD, GET here.</p>"
    ));
    let answer = exchange(port, "DELETE /data HTTP/1.0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 501 Not Implemented\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("<h1>Huh?</h1>\n    <p>I don't know how to treat a DELETE request.</p>")
    );
}

#[test]
fn a_failing_page_is_a_500_that_tells_nothing() {
    let (port, log) = start_logged_site(1024, Duration::from_secs(5));
    let answer = exchange(port, "GET /?fail=1 HTTP/1.0\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.0 500 Internal Server Error\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with(
        "\r\n\r\n<html><head><title>Processing Failed</title></head><body><b>Processing \
         Failed</b></body></html>"
    ));
    // What failed goes to the server's log only.
    log.wait_for("\twhile rendering /?fail=1: [Failure instance: Exception: asked to fail]\n");
}

#[test]
fn two_pipelined_requests_get_two_answers_on_one_connection() {
    let port = site();
    let answer = exchange(
        port,
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /data HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(answer.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{answer}");
    assert!(
        answer.contains("\r\n\r\nHELLOHTTP/1.1 200 OK\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\nhello world"), "{answer}");
}

#[test]
fn a_posted_body_reaches_the_page_and_one_over_the_limit_is_a_413() {
    let port = site();
    let answer = exchange(
        port,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping",
    );
    assert!(answer.ends_with("\r\n\r\nping"), "{answer}");
    let big = "x".repeat(2000);
    let answer = exchange(
        port,
        &format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n{big}"),
    );
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    // Chunked, so that the length is only known as the body comes in.
    let chunk = format!("{:x}\r\n{}\r\n", 1500, "y".repeat(1500));
    let answer = exchange(
        port,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}0\r\n\r\n"
        ),
    );
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
}

#[test]
fn a_page_not_done_yet_is_streamed_chunked_over_http_11_and_raw_over_http_10() {
    let port = site();
    let answer = exchange_open(
        port,
        "GET /long HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        answer.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("\r\n\r\n1\r\nA\r\n1\r\nB\r\n1\r\nC\r\n0\r\n\r\n"),
        "{answer}"
    );
    let answer = exchange_open(port, "GET /long HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(!answer.contains("chunked"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nABC"), "{answer}");
    let outcome = exchange(port, "GET /outcome HTTP/1.0\r\n\r\n");
    assert!(outcome.ends_with("\r\n\r\nfinished"), "{outcome}");
}

#[test]
fn a_client_that_leaves_mid_stream_is_noticed_by_the_page() {
    let port = site();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0; 64];
    let _ = stream.read(&mut first).unwrap();
    drop(stream);
    thread::sleep(Duration::from_millis(300));
    let outcome = exchange(port, "GET /outcome HTTP/1.0\r\n\r\n");
    assert!(
        outcome.ends_with("\r\n\r\nlost: ConnectionLost"),
        "{outcome}"
    );
}

#[test]
fn a_head_over_the_limit_is_refused_and_the_site_goes_on() {
    let port = site();
    // The site under test allows 16 KiB of head.
    let header = format!("X-Filler: {}\r\n", "f".repeat(8 * 1024));
    let answer = exchange(
        port,
        &format!("GET / HTTP/1.1\r\nHost: x\r\n{header}{header}{header}\r\n"),
    );
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let answer = exchange(port, "GET / HTTP/1.0\r\n\r\n");
    assert!(answer.ends_with("\r\n\r\nHELLO"), "{answer}");
}

#[test]
fn a_malformed_request_is_a_400_and_the_connection_closes() {
    let port = site();
    let answer = exchange(port, "HELLO\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
}

#[test]
fn a_client_slow_to_send_its_head_is_cut_off() {
    let port = start_site(1024, Duration::from_millis(200));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
    let mut answer = Vec::new();
    // The server closes the connection by itself (with a 408 or nothing at all).
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}
