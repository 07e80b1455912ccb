//! Talk 002's admin dashboard (`catchat-dashboard`) against a real `catchat`, over HTTP: the page
//! with the user count and the banner, the form that sets the banner and comes back, the JSON the
//! page's script polls, the stylesheet, the token passed on, and an API that is down.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, closed_port};

const WAIT: Duration = Duration::from_secs(20);

/// A catchat on free ports, and a dashboard (with `dashboard_args`) that administers it.
struct System {
    catchat: Listening,
    dashboard: Listening,
}

impl System {
    fn start(catchat_args: &[&str], dashboard_args: &[&str]) -> System {
        let mut args = vec!["--chat", "tcp:0", "--api", "tcp:0"];
        args.extend_from_slice(catchat_args);
        let catchat = Listening::start("catchat", &args, 2);
        let api = format!("http://127.0.0.1:{}", catchat.port(1));
        let dashboard = start_dashboard(&api, dashboard_args);
        System { catchat, dashboard }
    }

    fn join(&self) -> TcpStream {
        let mut user = TcpStream::connect(("127.0.0.1", self.catchat.port(0))).unwrap();
        user.set_read_timeout(Some(WAIT)).unwrap();
        let mut banner = [0; 24];
        user.read_exact(&mut banner).unwrap();
        user
    }

    fn page(&self) -> Answer {
        request(self.dashboard.port(0), "GET", "/", b"")
    }
}

fn start_dashboard(api: &str, args: &[&str]) -> Listening {
    let mut all = vec!["--port", "0", "--api", api];
    all.extend_from_slice(args);
    Listening::start("catchat-dashboard", &all, 1)
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The text of the element with this id (`<span id="user-count">3</span>` → `3`).
    fn element(&self, id: &str) -> &str {
        let start = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        let text = &self.body[start..];
        let text = &text[text.find('>').unwrap() + 1..];
        &text[..text.find('<').unwrap()]
    }
}

fn request(port: u16, method: &str, target: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn state(port: u16) -> serde_json::Value {
    let answer = request(port, "GET", "/state.json", b"");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("Content-Type"), Some("application/json"));
    serde_json::from_str(&answer.body).unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_page_shows_the_chat_and_the_form_sets_its_banner() {
    let system = System::start(&[], &[]);
    let dashboard = system.dashboard.port(0);
    let page = system.page();
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("Content-Security-Policy"),
        Some("default-src 'self'")
    );
    assert_eq!(page.element("user-count"), "0");
    assert_eq!(page.element("banner"), "Welcome to NetCatChat!\r\n");
    assert!(
        page.body
            .contains("<link rel=\"stylesheet\" href=\"/static/style.css\">")
    );
    assert!(
        page.body
            .contains("<form action=\"/set_banner/\" method=\"post\">")
    );
    assert!(page.body.contains("name=\"banner\""));
    assert!(
        page.body
            .contains("id=\"problem\" class=\"notice\" hidden>")
    );

    let _first = system.join();
    let _second = system.join();
    assert_eq!(system.page().element("user-count"), "2");
    let live = state(dashboard);
    assert_eq!(live["users"], 2);
    assert_eq!(live["banner"], "Welcome to NetCatChat!\r\n");
    assert_eq!(live["problem"], serde_json::Value::Null);

    // The form: a new banner, then back to the page, which already shows it.
    let answer = request(
        dashboard,
        "POST",
        "/set_banner/",
        b"banner=Be+nice%21+%E2%98%BA",
    );
    assert_eq!(answer.status, 302, "{answer:?}");
    assert_eq!(answer.header("Location"), Some("/"));
    assert_eq!(system.page().element("banner"), "Be nice! ☺\r\n");
    let mut third = TcpStream::connect(("127.0.0.1", system.catchat.port(0))).unwrap();
    third.set_read_timeout(Some(WAIT)).unwrap();
    let mut greeting = vec![0; "Be nice! ☺\r\n".len()];
    third.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting, "Be nice! ☺\r\n".as_bytes());

    // Markup in a banner is shown as text.
    let script = b"banner=%3Cscript%3Ealert%28%27hi%27%29%3C%2Fscript%3E+%26+co";
    assert_eq!(
        request(dashboard, "POST", "/set_banner/", script).status,
        302
    );
    let page = system.page();
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#x27;hi&#x27;)&lt;&#x2f;script&gt; &amp; co"),
        "{}",
        page.body
    );
    assert_eq!(
        state(dashboard)["banner"],
        "<script>alert('hi')</script> & co\r\n"
    );
    assert_eq!(state(dashboard)["users"], 3);

    // The field from the query string, as Flask's request.values; missing is empty.
    assert_eq!(
        request(dashboard, "POST", "/set_banner/?banner=q", b"").status,
        302
    );
    assert_eq!(state(dashboard)["banner"], "q\r\n");
    assert_eq!(request(dashboard, "POST", "/set_banner/", b"").status, 302);
    assert_eq!(state(dashboard)["banner"], "\r\n");
}

#[test]
fn the_dashboard_serves_its_stylesheet_and_script_and_nothing_else() {
    // No API needed for these.
    let dashboard = start_dashboard(&format!("http://127.0.0.1:{}", closed_port()), &[]);
    let port = dashboard.port(0);
    let css = request(port, "GET", "/static/style.css", b"");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert!(css.body.contains("#banner"));
    let script = request(port, "GET", "/static/live.js", b"");
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("/state.json"));
    assert!(script.body.contains("textContent"));
    assert_eq!(request(port, "GET", "/nope", b"").status, 404);
    assert_eq!(request(port, "GET", "/static/nope.css", b"").status, 404);
    let refused = request(port, "GET", "/set_banner/", b"");
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("Allow"), Some("POST"));

    let (status, out, _) = dashboard.terminate();
    assert_eq!(status.code(), Some(0));
    let log = String::from_utf8(out).unwrap();
    assert!(log.contains("[-] Site starting on "), "{log}");
    assert!(
        log.contains("\"GET /static/style.css HTTP/1.1\" 200 "),
        "{log}"
    );
}

#[test]
fn an_api_that_is_down_is_a_notice_not_an_error() {
    let api = format!("http://127.0.0.1:{}", closed_port());
    let dashboard = start_dashboard(&api, &[]);
    let port = dashboard.port(0);
    let page = request(port, "GET", "/", b"");
    assert_eq!(page.status, 200);
    assert_eq!(page.element("user-count"), "unknown");
    assert_eq!(page.element("banner"), "unknown");
    let notice = page.element("problem");
    assert_eq!(
        notice,
        format!(
            "The chat&#x27;s API at {} could not be used: cannot reach it: \
             ConnectionRefusedError: Connection was refused by other side: 111: Connection \
             refused.",
            api.replace('/', "&#x2f;")
        )
    );
    let live = state(port);
    assert_eq!(live["users"], serde_json::Value::Null);
    assert_eq!(live["banner"], serde_json::Value::Null);
    assert!(
        live["problem"]
            .as_str()
            .unwrap()
            .contains("ConnectionRefusedError")
    );

    // A banner that cannot be set says so on the page it comes back to.
    let answer = request(port, "POST", "/set_banner/", b"banner=hello");
    assert_eq!(answer.status, 302);
    let back = answer.header("Location").unwrap();
    assert!(back.starts_with("/?refused="), "{back}");
    let page = request(port, "GET", back, b"");
    assert!(
        page.element("refused")
            .starts_with("The banner was not changed: the chat&#x27;s API cannot reach it: "),
        "{}",
        page.body
    );
}

#[test]
fn the_token_is_passed_on() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("token");
    std::fs::write(&file, "t0ken\n").unwrap();
    let system = System::start(
        &["--api-token", "t0ken"],
        &["--api-token-file", file.to_str().unwrap()],
    );
    assert_eq!(system.page().element("user-count"), "0");
    let port = system.dashboard.port(0);
    assert_eq!(
        request(port, "POST", "/set_banner/", b"banner=secret").status,
        302
    );
    assert_eq!(state(port)["banner"], "secret\r\n");

    // Without it, the API refuses, and the page says why.
    let api = format!("http://127.0.0.1:{}", system.catchat.port(1));
    let without = start_dashboard(&api, &[]);
    let page = request(without.port(0), "GET", "/", b"");
    assert_eq!(page.element("user-count"), "unknown");
    assert!(
        page.element("problem")
            .ends_with("could not be used: it answered 401: a valid bearer token is required"),
        "{}",
        page.body
    );
    let answer = request(without.port(0), "POST", "/set_banner/", b"banner=x");
    assert!(answer.header("Location").unwrap().starts_with("/?refused="));
    wait_until("the banner unchanged", || {
        state(port)["banner"] == "secret\r\n"
    });
}
