//! Tests of the HTTP client (`common::web::client`) against small servers that each test starts on
//! a free port: plain threads writing fixed HTTP answers, and one speaking TLS with a certificate
//! authority made for the test.
//!
//! Each test runs a reactor of its own: it asks for a page before the reactor runs (as the talks'
//! scripts do), and the reactor stops once the Deferred has fired.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use common::defer::{CancelledError, Deferred, Failure};
use common::protocol::ConnectError;
use common::reactor::Reactor;
use common::web::client::blocking::BlockingAgent;
use common::web::client::{
    AgentBuilder, BodyTooLarge, Bytes, HttpError, InfiniteRedirection, Request, TimeoutError,
    USER_AGENT, error_line, get_page, get_page_with,
};

/// How long a test lets anything take before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs a reactor until the Deferred that `start` makes has fired, and returns its outcome.
fn outcome<T: 'static>(start: impl FnOnce() -> Deferred<T>) -> Result<T, Failure> {
    let reactor = Reactor::new().unwrap();
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let (to_fill, to_stop) = (std::rc::Rc::clone(&slot), reactor.clone());
    start().add_both(move |result| {
        *to_fill.borrow_mut() = Some(result);
        let _ = to_stop.stop();
        Ok::<(), Failure>(())
    });
    let watchdog = reactor.clone();
    reactor.call_later(PATIENCE, move || watchdog.stop());
    reactor.run().unwrap();
    let result = slot.borrow_mut().take();
    result.expect("the Deferred never fired")
}

/// What a test server does with one request: it gets the request's head and its connection, and
/// writes whatever it likes.
type Handler = fn(&str, &mut TcpStream);

/// A server in a thread, answering each connection with `handler`; returns its port and the
/// requests it got, head and body as they came.
fn serve(handler: Handler) -> (u16, Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, requests) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sender = sender.clone();
            thread::spawn(move || answer(stream, handler, &sender));
        }
    });
    (port, requests)
}

/// Reads one request (its head, and as much body as `Content-Length` says), reports it, and hands
/// it to the handler.
fn answer(mut stream: TcpStream, handler: Handler, requests: &Sender<Vec<u8>>) {
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let request = read_request(&mut stream);
    let head = String::from_utf8_lossy(&request).into_owned();
    let _ = requests.send(request);
    handler(&head, &mut stream);
}

/// The bytes of one request: up to the empty line, and then the body it announced.
fn read_request(stream: &mut impl Read) -> Vec<u8> {
    let mut request = Vec::new();
    let mut byte = [0];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return request,
        }
    }
    let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if stream.read_exact(&mut body).is_ok() {
        request.extend_from_slice(&body);
    }
    request
}

/// The path of a request's head.
fn path(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// A whole answer with a body and `Connection: close`.
fn respond(stream: &mut TcpStream, status: &str, headers: &[&str], body: &[u8]) {
    let mut answer = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for header in headers {
        answer.push_str(header);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.write_all(body);
}

/// The page server of the talks' tests: `/` a page, `/redirect` to `/`, `/loop` to itself,
/// anything else 404.
fn pages(head: &str, stream: &mut TcpStream) {
    match path(head) {
        "/" => respond(stream, "200 OK", &[], b"<html>the local page</html>\n"),
        "/redirect" => respond(stream, "301 Moved Permanently", &["Location: /"], b""),
        "/loop" => respond(stream, "302 Found", &["Location: /loop"], b""),
        "/created" => respond(stream, "201 Created", &[], b"made"),
        "/big" => respond(stream, "200 OK", &[], &[b'x'; 1000]),
        "/big-unannounced" => {
            // No length: the body ends when the connection does.
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(&[b'y'; 1000]);
        }
        "/echo" => {
            // The request itself, as the body: for the tests of what the client sends.
            respond(stream, "200 OK", &[], head.as_bytes())
        }
        _ => respond(stream, "404 Not Found", &[], b"no such page"),
    }
}

/// A body in three chunks, a pause between each, so that they arrive one by one.
fn slow_chunks(_head: &str, stream: &mut TcpStream) {
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in ["one", "two", "three"] {
        let _ = write!(stream, "{:x}\r\n{piece}\r\n", piece.len());
        let _ = stream.flush();
        thread::sleep(Duration::from_millis(150));
    }
    let _ = stream.write_all(b"0\r\n\r\n");
}

/// Takes the request and never answers (for a while).
fn silent(_head: &str, _stream: &mut TcpStream) {
    thread::sleep(PATIENCE);
}

/// A port with nothing listening on it (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_page_is_its_body_and_the_request_names_our_agent() {
    let (port, requests) = serve(pages);
    let url = format!("http://127.0.0.1:{port}/");
    let page = outcome(|| get_page(&url)).unwrap();
    assert_eq!(page, Bytes::from_static(b"<html>the local page</html>\n"));
    let request = String::from_utf8(requests.recv().unwrap()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains(&format!("user-agent: {USER_AGENT}\r\n")),
        "{request}"
    );
    assert!(
        request.contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{request}"
    );
}

#[test]
fn any_success_status_gives_the_body() {
    let (port, _requests) = serve(pages);
    let page = outcome(|| get_page(&format!("http://127.0.0.1:{port}/created"))).unwrap();
    assert_eq!(page, Bytes::from_static(b"made"));
}

#[test]
fn an_error_status_fails_as_twisted_words_it_and_keeps_the_body() {
    let (port, _requests) = serve(pages);
    let url = format!("http://127.0.0.1:{port}/missing");
    let failure = outcome(|| get_page(&url)).unwrap_err();
    let error = failure.downcast_ref::<HttpError>().expect("an HttpError");
    assert_eq!(error.to_string(), "404 Not Found");
    assert_eq!(error.status, 404);
    assert_eq!(error.body, Bytes::from_static(b"no such page"));
    assert_eq!(error.url, url);
    assert_eq!(error_line(&failure), "HttpError: 404 Not Found");
}

#[test]
fn redirects_are_followed() {
    let (port, requests) = serve(pages);
    let page = outcome(|| get_page(&format!("http://127.0.0.1:{port}/redirect"))).unwrap();
    assert_eq!(page, Bytes::from_static(b"<html>the local page</html>\n"));
    let paths: Vec<String> = requests
        .try_iter()
        .map(|request| path(&String::from_utf8_lossy(&request)).to_owned())
        .collect();
    assert_eq!(paths, ["/redirect", "/"]);
}

#[test]
fn a_redirect_loop_ends_after_twenty_redirects() {
    let (port, requests) = serve(pages);
    let url = format!("http://127.0.0.1:{port}/loop");
    let failure = outcome(|| get_page(&url)).unwrap_err();
    let error = failure
        .downcast_ref::<InfiniteRedirection>()
        .expect("an InfiniteRedirection");
    assert_eq!(
        error.to_string(),
        format!("302 Infinite redirection detected to {url}")
    );
    // The first request, and the twenty redirects followed.
    assert_eq!(requests.try_iter().count(), 21);
}

#[test]
fn redirects_can_be_left_unfollowed() {
    let (port, _requests) = serve(pages);
    let url = format!("http://127.0.0.1:{port}/redirect");
    let settings = AgentBuilder::new().follow_redirects(false);
    let response = outcome(|| {
        settings
            .clone()
            .build()
            .unwrap()
            .request(Request::get(&url))
    })
    .unwrap();
    assert_eq!(response.code(), 301);
    assert_eq!(response.phrase(), "Moved Permanently");
    assert_eq!(response.header("location"), Some(&b"/"[..]));
    let failure = outcome(|| get_page_with(&url, settings)).unwrap_err();
    assert_eq!(failure.error().to_string(), "301 Moved Permanently");
}

#[test]
fn a_refused_connection_reads_as_in_twisted() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let failure = outcome(|| get_page(&url)).unwrap_err();
    assert_eq!(failure.downcast_ref(), Some(&ConnectError::Refused));
    assert_eq!(
        error_line(&failure),
        "ConnectionRefusedError: Connection was refused by other side: 111: Connection refused."
    );
}

#[test]
fn a_slow_server_times_out() {
    let (port, _requests) = serve(silent);
    let url = format!("http://127.0.0.1:{port}/");
    let settings = AgentBuilder::new().timeout(Duration::from_millis(300));
    let failure = outcome(|| get_page_with(&url, settings)).unwrap_err();
    let error = failure
        .downcast_ref::<TimeoutError>()
        .expect("a TimeoutError");
    assert_eq!(
        error.to_string(),
        format!("Getting {url} took longer than 0.3 seconds.")
    );
}

#[test]
fn a_request_can_be_cancelled() {
    let (port, _requests) = serve(silent);
    let url = format!("http://127.0.0.1:{port}/");
    let failure = outcome(|| {
        let page = get_page(&url);
        let to_cancel = page.clone();
        let reactor = Reactor::current().unwrap();
        reactor.call_later(Duration::from_millis(100), move || to_cancel.cancel());
        page
    })
    .unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure:?}");
}

#[test]
fn a_body_larger_than_the_limit_fails() {
    let (port, _requests) = serve(pages);
    for path in ["big", "big-unannounced"] {
        let url = format!("http://127.0.0.1:{port}/{path}");
        let settings = AgentBuilder::new().max_body_size(100);
        let failure = outcome(|| get_page_with(&url, settings)).unwrap_err();
        assert_eq!(
            failure.downcast_ref(),
            Some(&BodyTooLarge { limit: 100 }),
            "{path}"
        );
        // At the limit exactly, the body is whole.
        let settings = AgentBuilder::new().max_body_size(1000);
        assert_eq!(
            outcome(|| get_page_with(&url, settings)).unwrap().len(),
            1000
        );
    }
}

#[test]
fn a_body_can_be_read_chunk_by_chunk_as_it_arrives() {
    let (port, _requests) = serve(slow_chunks);
    let url = format!("http://127.0.0.1:{port}/");

    // The Deferred way: a callback per piece, a Deferred for the end.
    let pieces = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let gathered = std::rc::Rc::clone(&pieces);
    let delivered = outcome(|| {
        AgentBuilder::new()
            .build()
            .unwrap()
            .request(Request::get(&url))
            .add_callback(move |response| {
                response.deliver_body(move |chunk| gathered.borrow_mut().push(chunk))
            })
    })
    .unwrap();
    assert_eq!(delivered, 11);
    assert_eq!(*pieces.borrow(), ["one", "two", "three"]);

    // The async way. A new reactor needs a new agent: the first one's pooled connection belonged
    // to the first reactor's runtime, which is gone.
    let chunks = outcome(|| {
        let agent = AgentBuilder::new().build().unwrap();
        Deferred::from_future(async move {
            let mut response = agent.request(Request::get(&url)).await?;
            let mut chunks = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                chunks.push(chunk);
            }
            Ok(chunks)
        })
    })
    .unwrap();
    assert_eq!(chunks, ["one", "two", "three"]);
}

#[test]
fn an_agent_sends_any_method_headers_and_body() {
    let (port, requests) = serve(pages);
    let url = format!("http://127.0.0.1:{port}/echo");
    let agent = AgentBuilder::new().build().unwrap();
    let request = Request::new("POST", &url)
        .header("X-Course", "talk 001")
        .body(&b"a body"[..]);
    // The response and its body on one reactor: the body streams from that reactor's connection.
    let (code, success, answered_url, body) = outcome(|| {
        agent.request(request).add_callback(|response| {
            let (code, success, url) = (
                response.code(),
                response.is_success(),
                response.url().to_owned(),
            );
            response
                .read_body()
                .add_callback(move |body| Ok((code, success, url, body)))
        })
    })
    .unwrap();
    assert_eq!(code, 200);
    assert!(success);
    assert_eq!(answered_url, url);
    let head = String::from_utf8(body.to_vec()).unwrap();
    assert!(head.starts_with("POST /echo HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("x-course: talk 001\r\n"), "{head}");
    assert!(head.contains("content-length: 6\r\n"), "{head}");
    let sent = requests.recv().unwrap();
    assert!(sent.ends_with(b"\r\n\r\na body"), "{sent:?}");
}

#[test]
fn a_bad_method_or_url_fails_without_a_connection() {
    let agent = AgentBuilder::new().build().unwrap();
    let failure =
        outcome(|| agent.request(Request::new("NOT A METHOD", "http://127.0.0.1:1/"))).unwrap_err();
    assert_eq!(
        error_line(&failure),
        "InvalidRequest: 'NOT A METHOD' is not an HTTP method"
    );
    let failure = outcome(|| get_page("no scheme here")).unwrap_err();
    assert_eq!(failure.short_type_name(), "InvalidRequest", "{failure:?}");
}

#[test]
fn the_blocking_agent_follows_the_same_rules() {
    let (port, _requests) = serve(pages);
    let agent = BlockingAgent::new(AgentBuilder::new()).unwrap();
    let page = agent
        .get_page(&format!("http://127.0.0.1:{port}/redirect"))
        .unwrap();
    assert_eq!(page, Bytes::from_static(b"<html>the local page</html>\n"));
    let missing = agent
        .get_page(&format!("http://127.0.0.1:{port}/missing"))
        .unwrap_err();
    assert_eq!(error_line(&missing), "HttpError: 404 Not Found");
    let refused = agent
        .get_page(&format!("http://127.0.0.1:{}/", closed_port()))
        .unwrap_err();
    assert_eq!(refused.downcast_ref(), Some(&ConnectError::Refused));
    let limited = BlockingAgent::new(AgentBuilder::new().max_body_size(10)).unwrap();
    let large = limited
        .get_page(&format!("http://127.0.0.1:{port}/big"))
        .unwrap_err();
    assert!(large.check::<BodyTooLarge>());
    let (slow, _requests) = serve(silent);
    let impatient = BlockingAgent::new(AgentBuilder::new().timeout(Duration::from_millis(200)));
    let late = impatient
        .unwrap()
        .get_page(&format!("http://127.0.0.1:{slow}/"))
        .unwrap_err();
    assert!(late.check::<TimeoutError>(), "{late:?}");
}

/// A certificate authority made for one test, and a server certificate for `localhost` it signed.
struct TestAuthority {
    ca_pem: String,
    server_certificate: rustls::pki_types::CertificateDer<'static>,
    server_key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestAuthority {
    fn new() -> TestAuthority {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "twisted-intro test authority");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let server_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server_certificate = server_params.signed_by(&server_key, &ca).unwrap();
        TestAuthority {
            ca_pem: ca.pem(),
            server_certificate: server_certificate.der().clone(),
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        }
    }
}

/// An HTTPS server in a thread (rustls over blocking sockets), answering every request with a
/// page; returns its port.
fn serve_tls(authority: &TestAuthority) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![authority.server_certificate.clone()],
            authority.server_key.clone_key(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(PATIENCE));
                let connection = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                read_request(&mut tls);
                let body = b"a secret page";
                let head = format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

#[test]
fn https_works_with_an_extra_certificate_authority() {
    let authority = TestAuthority::new();
    let port = serve_tls(&authority);
    let url = format!("https://localhost:{port}/");
    let trusting = AgentBuilder::new()
        .add_root_certificate_pem(authority.ca_pem.as_bytes())
        .unwrap();
    let page = outcome(|| get_page_with(&url, trusting.clone())).unwrap();
    assert_eq!(page, Bytes::from_static(b"a secret page"));
    let blocking = BlockingAgent::new(trusting).unwrap();
    assert_eq!(
        blocking.get_page(&url).unwrap(),
        Bytes::from_static(b"a secret page")
    );

    // Without the authority, the server's certificate is not trusted.
    let failure = outcome(|| get_page(&url)).unwrap_err();
    let error = failure
        .downcast_ref::<ConnectError>()
        .expect("a ConnectError");
    assert!(
        error.to_string().contains("certificate"),
        "{}",
        error_line(&failure)
    );
}

#[test]
fn a_certificate_must_be_pem() {
    let failure = AgentBuilder::new()
        .add_root_certificate_pem(b"not a certificate")
        .unwrap_err();
    assert_eq!(failure.short_type_name(), "InvalidRequest");
}

#[test]
fn a_page_needs_a_reactor() {
    // A thread of its own: no reactor was ever made on it.
    let message = thread::spawn(|| {
        let page = get_page("http://127.0.0.1:1/");
        let slot = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
        let to_fill = std::rc::Rc::clone(&slot);
        page.add_errback(move |failure| {
            *to_fill.borrow_mut() = failure.error().to_string();
            Ok(Bytes::new())
        });
        slot.borrow().clone()
    })
    .join()
    .unwrap();
    assert_eq!(
        message,
        "an HTTP request needs a reactor on this thread to run on"
    );
}
