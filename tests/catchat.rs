//! Talk 002's NetCatChat (`catchat`), run as a process: chat users over real TCP connections
//! (partial lines, binary, braces, leaving, half-closing), every answer of the admin API byte for
//! byte, the log on stdout, the limits that keep one user from costing the server without bound,
//! the API token, and 5,000 users at once.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, resident_kib, run};

const WAIT: Duration = Duration::from_secs(20);
const BANNER: &[u8] = b"Welcome to NetCatChat!\r\n";
const SERVER: &str = concat!("TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// A catchat on free ports: the chat's port, then the API's.
struct CatChat {
    server: Listening,
    chat: u16,
    api: u16,
}

impl CatChat {
    fn start(args: &[&str]) -> CatChat {
        let mut all = vec!["--chat", "tcp:0", "--api", "tcp:0"];
        all.extend_from_slice(args);
        let server = Listening::start("catchat", &all, 2);
        let (chat, api) = (server.port(0), server.port(1));
        CatChat { server, chat, api }
    }

    /// A new user, greeted with `banner`.
    fn join_with(&self, banner: &[u8]) -> ChatUser {
        let mut user = ChatUser::connect(self.chat);
        user.expect(banner);
        user
    }

    fn join(&self) -> ChatUser {
        self.join_with(BANNER)
    }

    /// The API's user count.
    fn users(&self) -> usize {
        let answer = get(self.api, "/users/");
        assert_eq!(answer.status, 200, "{answer:?}");
        let count = answer.body.trim_end().trim_end_matches('}').trim_end();
        count.rsplit(' ').next().unwrap().parse().unwrap()
    }

    /// Waits until the API counts `count` users.
    fn wait_for_users(&self, count: usize) {
        wait_until(&format!("{count} users"), || self.users() == count);
    }

    /// Stops the server with SIGTERM: it must exit 0 and say nothing more on stderr. Returns
    /// its log.
    fn stop(self) -> String {
        let (status, out, err) = self.server.terminate();
        assert_eq!(status.code(), Some(0));
        assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
        String::from_utf8(out).unwrap()
    }
}

/// One `nc`.
struct ChatUser(TcpStream);

impl ChatUser {
    fn connect(port: u16) -> ChatUser {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        ChatUser(stream)
    }

    fn send(&mut self, data: &[u8]) {
        self.0.write_all(data).unwrap();
    }

    /// Reads exactly `data`'s length and checks it is `data`.
    fn expect(&mut self, data: &[u8]) {
        let mut got = vec![0; data.len()];
        self.0.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(data));
        assert_eq!(got, data);
    }

    /// Everything until the server closes.
    fn rest(mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.0.read_to_end(&mut rest);
        rest
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// An HTTP answer, taken apart.
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

    /// Checks the status, the type and the whole body.
    fn assert(&self, status: u16, content_type: &str, body: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("Content-Type"), Some(content_type), "{self:?}");
        assert_eq!(self.body, body);
        let length = body.len().to_string();
        assert_eq!(self.header("Content-Length"), Some(length.as_str()));
        assert_eq!(self.header("Server"), Some(SERVER));
    }
}

/// Sends one request (closing the connection after it) and reads the whole answer.
fn request(port: u16, method: &str, target: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A body over the limit may be refused before it is read: the answer still comes.
    let _ = stream.write_all(body);
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

fn get(port: u16, target: &str) -> Answer {
    request(port, "GET", target, &[], b"")
}

fn post(port: u16, target: &str, body: &[u8]) -> Answer {
    request(port, "POST", target, &[], body)
}

/// The API's answer to `GET /users/` for `count` users.
fn users_body(count: usize) -> String {
    format!("{{\n    \"users\": {count}\n}}\n")
}

/// The API's answer to `GET /banner/` for a banner already written as a JSON string.
fn banner_body(json: &str) -> String {
    format!("{{\n    \"banner\": {json}\n}}\n")
}

const JSON: &str = "application/json";
const SUCCESS: &str = r#"{"status": "SUCCESS"}"#;

fn error_body(reason: &str) -> String {
    format!(r#"{{"status": "ERROR", "reason": "{reason}"}}"#)
}

/// A log line without its timestamp (`2026-11-28 18:46:07+0000 `), whose shape is checked.
fn without_timestamp(line: &str) -> &str {
    let (stamp, rest) = line.split_at(25);
    let shape: String = stamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99+9999 ", "{line:?}");
    rest
}

/// The log's entries of what users said: their first lines without the timestamp, and their
/// continuation lines (which begin with a TAB).
fn chat_lines(log: &str) -> Vec<String> {
    let mut kept = Vec::new();
    let mut in_message = false;
    for line in log.split('\n') {
        if line.starts_with('\t') {
            if in_message {
                kept.push(line.to_owned());
            }
            continue;
        }
        in_message = line.len() > 25 && without_timestamp(line).starts_with("[-] 127.0.0.1: ");
        if in_message {
            kept.push(without_timestamp(line).to_owned());
        }
    }
    kept
}

/// The lines a message adds to the log: `[-] 127.0.0.1: <text>`, a TAB before each line after
/// the first.
fn logged(text: &str) -> Vec<String> {
    format!("[-] 127.0.0.1: {text}")
        .split('\n')
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                line.to_owned()
            } else {
                format!("\t{line}")
            }
        })
        .collect()
}

/// `<class object at 0x…>`: the address varies.
fn assert_factory(line: &str, verb: &str, class: &str) -> String {
    let repr = line
        .strip_prefix(&format!("[-] {verb} factory "))
        .unwrap_or_else(|| panic!("{line}"));
    let hex = repr
        .strip_prefix(&format!("<{class} object at 0x"))
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    repr.to_owned()
}

#[test]
fn three_users_chat_as_the_talk_measured_and_the_log_says_it_all() {
    let server = CatChat::start(&[]);
    assert_eq!(server.users(), 0);
    let mut a = server.join();
    let mut b = server.join();
    let mut c = server.join();
    assert_eq!(server.users(), 3);

    // Whatever one user sends reaches every other user as it was sent, and never its sender
    // (each sender reads what the next one says right after, so an echo would show).
    a.send(b"hi all\n");
    b.expect(b"hi all\n");
    c.expect(b"hi all\n");
    b.send(b"par");
    a.expect(b"par");
    c.expect(b"par");
    b.send(b"tial\n");
    a.expect(b"tial\n");
    c.expect(b"tial\n");
    c.send(b"crlf line\r\n");
    a.expect(b"crlf line\r\n");
    b.expect(b"crlf line\r\n");
    let binary: Vec<u8> = (0..=255).collect();
    c.send(&binary);
    a.expect(&binary);
    b.expect(&binary);
    let braces = br#"json {"k": 1} and {name}"#.to_vec();
    a.send(&[braces.as_slice(), b"\n"].concat());
    b.expect(&[braces.as_slice(), b"\n"].concat());
    c.expect(&[braces.as_slice(), b"\n"].concat());

    // Leaving is not announced. A closes; B half-closes, which is leaving too: the server closes
    // B's connection and sends it nothing (no Goodbye).
    drop(a);
    server.wait_for_users(2);
    b.0.shutdown(Shutdown::Write).unwrap();
    assert_eq!(b.rest(), b"");
    server.wait_for_users(1);
    c.send(b"anyone?\n");
    let log_so_far = || String::from_utf8_lossy(&server.server.stdout_so_far()).into_owned();
    wait_until("C's words in the log", || log_so_far().contains("anyone?"));
    drop(c);
    server.wait_for_users(0);
    let (chat, api) = (server.chat, server.api);
    let log = server.stop();

    // The log's entries (continuation lines, which begin with a TAB, left out).
    let lines: Vec<&str> = log
        .split('\n')
        .filter(|line| !line.is_empty() && !line.starts_with('\t'))
        .map(without_timestamp)
        .collect();
    assert_eq!(lines[0], "[-] Log opened.");
    assert_eq!(
        lines[1],
        format!("[-] NetCatChatFactory starting on {chat}")
    );
    let chat_factory = assert_factory(lines[2], "Starting", "chat.NetCatChatFactory");
    assert_eq!(lines[3], format!("[-] Site starting on {api}"));
    let site = assert_factory(lines[4], "Starting", "common.web.Site");
    assert_eq!(lines[5], format!("[-] Listening for netcat on port {chat}"));
    assert_eq!(lines[6], format!("[-] Listening for HTTP on port {api}"));
    assert_eq!(
        lines[lines.len() - 6..],
        [
            "[-] Received SIGTERM, shutting down.".to_owned(),
            format!("[chat.NetCatChatFactory] (TCP Port {chat} Closed)"),
            format!("[-] Stopping factory {chat_factory}"),
            format!("[common.web.Site] (TCP Port {api} Closed)"),
            format!("[-] Stopping factory {site}"),
            "[-] Main loop terminated.".to_owned(),
        ]
    );
    // Every request of the test has its access line.
    let access = lines
        .iter()
        .filter(|line| line.starts_with("[-] \"127.0.0.1\" - - ["))
        .count();
    assert!(access >= 5, "{log}");
    assert!(
        lines
            .iter()
            .any(|line| line.ends_with("\"GET /users/ HTTP/1.1\" 200 19 \"-\" \"-\"")),
        "{log}"
    );

    // Every message is in the log, braces and bytes that are not text included.
    let binary_text: String = binary
        .iter()
        .map(|&byte| match byte {
            b'\t' | b'\n' | b'\r' => char::from(byte).to_string(),
            0x20..=0x7e => char::from(byte).to_string(),
            _ => format!("\\x{byte:02x}"),
        })
        .collect();
    let expected: Vec<String> = [
        "hi all\n",
        "par",
        "tial\n",
        "crlf line\r\n",
        &binary_text,
        "json {\"k\": 1} and {name}\n",
        "anyone?\n",
    ]
    .iter()
    .flat_map(|text| logged(text))
    .collect();
    assert_eq!(chat_lines(&log), expected);
}

#[test]
fn the_api_answers_every_request_as_the_original_did_but_in_json() {
    let server = CatChat::start(&["--banner-delay", "10ms"]);
    let api = server.api;
    let root = "<html><body>\n        <a href=\"/banner\">Banner</a><br />\n        \
                <a href=\"/users\">Users</a><br />\n        </body></html>\n        ";
    get(api, "/").assert(200, "text/html", root);
    get(api, "//").assert(200, "text/html", root);
    for target in ["/users/", "/users", "/users/x/y?z=1"] {
        get(api, target).assert(200, JSON, &users_body(0));
    }
    let _user = server.join();
    get(api, "/users/").assert(200, JSON, &users_body(1));
    let default = banner_body(r#""Welcome to NetCatChat!\r\n""#);
    assert_eq!(default.len(), 47);
    get(api, "/banner/").assert(200, JSON, &default);
    get(api, "/banner").assert(200, JSON, &default);

    // HEAD has GET's head and no body.
    let head = request(api, "HEAD", "/users/", &[], b"");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("Content-Length"), Some("19"));
    assert_eq!(head.header("Content-Type"), Some(JSON));

    // What the tree does not answer: Twisted's pages.
    for target in ["/users/", "/"] {
        let refused = post(api, target, b"{}");
        assert_eq!(refused.status, 405, "{refused:?}");
        assert_eq!(refused.header("Allow"), Some("HEAD, GET"));
    }
    for method in ["PUT", "DELETE"] {
        assert_eq!(request(api, method, "/banner/", &[], b"").status, 501);
    }
    let missing = get(api, "/nope");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("No Such Resource"));

    // Banners: SUCCESS, then the change (a tenth of a second later by default; 10 ms here).
    let cases: [(&str, &str, &[u8]); 5] = [
        (
            r#"{"banner": "Be nice!"}"#,
            r#""Be nice!\r\n""#,
            b"Be nice!\r\n",
        ),
        (
            r#"{"banner": "Rules:\r\n"}"#,
            r#""Rules:\r\n""#,
            b"Rules:\r\n",
        ),
        (r#"{"banner": "Line\n"}"#, r#""Line\n\r\n""#, b"Line\n\r\n"),
        (r#"{"banner": ""}"#, r#""\r\n""#, b"\r\n"),
        (
            r#"{"banner": "Café ouvert", "other": 1}"#,
            r#""Caf\u00e9 ouvert\r\n""#,
            "Café ouvert\r\n".as_bytes(),
        ),
    ];
    for (body, json, greeting) in cases {
        post(api, "/banner/", body.as_bytes()).assert(200, JSON, SUCCESS);
        let expected = banner_body(json);
        wait_until(json, || get(api, "/banner/").body == expected);
        // Users who join from now on get it; the others are not told.
        drop(server.join_with(greeting));
    }

    // Bodies that cannot be a banner: 400 and a reason, never a SUCCESS or a 500; the banner
    // stays as it was.
    let refusals: [(&[u8], &str); 7] = [
        (b"", "the body is not valid JSON"),
        (b"not json", "the body is not valid JSON"),
        (b"{\"banner\": \"\xff\"}", "the body is not valid JSON"),
        (b"[\"banner\"]", "the body is not a JSON object"),
        (b"null", "the body is not a JSON object"),
        (br#"{"Banner": "x"}"#, "the object has no banner"),
        (br#"{"banner": 42}"#, "the banner is not a string"),
    ];
    for (body, reason) in refusals {
        post(api, "/banner/", body).assert(400, JSON, &error_body(reason));
    }
    let too_big = post(api, "/banner/", &vec![b' '; 65 * 1024]);
    assert_eq!(too_big.status, 413, "{too_big:?}");
    thread::sleep(Duration::from_millis(50));
    get(api, "/banner/").assert(200, JSON, &banner_body(r#""Caf\u00e9 ouvert\r\n""#));

    let log = server.stop();
    assert!(
        log.contains("[-] Unable to parse JSON: not json\n"),
        "{log}"
    );
    assert!(log.contains("[-] Data does not contain banner\n"), "{log}");
    assert!(!log.contains("Unhandled"), "{log}");
}

#[test]
fn a_new_banner_is_set_after_the_delay_not_before() {
    let server = CatChat::start(&["--banner-delay", "1.5s"]);
    let api = server.api;
    let asked = Instant::now();
    post(api, "/banner/", br#"{"banner": "Later"}"#).assert(200, JSON, SUCCESS);
    let still = get(api, "/banner/");
    if asked.elapsed() < Duration::from_millis(1200) {
        still.assert(200, JSON, &banner_body(r#""Welcome to NetCatChat!\r\n""#));
    }
    let later = banner_body(r#""Later\r\n""#);
    wait_until("the new banner", || get(api, "/banner/").body == later);
    assert!(asked.elapsed() >= Duration::from_millis(1500));
    drop(server.join_with(b"Later\r\n"));
    server.stop();
}

#[test]
fn a_token_guards_every_api_request() {
    let server = CatChat::start(&["--api-token", "s3cret"]);
    let api = server.api;
    for headers in [
        &[][..],
        &["Authorization: Bearer wrong"],
        &["Authorization: s3cret"],
    ] {
        for (method, target) in [("GET", "/users/"), ("GET", "/"), ("POST", "/banner/")] {
            let refused = request(api, method, target, headers, br#"{"banner": "x"}"#);
            refused.assert(401, JSON, &error_body("a valid bearer token is required"));
            assert_eq!(
                refused.header("WWW-Authenticate"),
                Some("Bearer realm=\"catchat\"")
            );
        }
    }
    let allowed = request(
        api,
        "GET",
        "/users/",
        &["Authorization: Bearer s3cret"],
        b"",
    );
    allowed.assert(200, JSON, &users_body(0));
    // The chat itself needs no token.
    drop(server.join());
    server.stop();

    // From a file: its first line.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("token");
    std::fs::write(&file, "from-a-file\nignored\n").unwrap();
    let server = CatChat::start(&["--api-token-file", file.to_str().unwrap()]);
    let allowed = request(
        server.api,
        "GET",
        "/users/",
        &["Authorization: Bearer from-a-file"],
        b"",
    );
    allowed.assert(200, JSON, &users_body(0));
    assert_eq!(get(server.api, "/users/").status, 401);
    server.stop();
}

#[test]
fn bad_options_are_usage_errors() {
    let folder = tempfile::tempdir().unwrap();
    let empty = folder.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let missing = folder.path().join("missing");
    let cases: [&[&str]; 5] = [
        &["--api-token", ""],
        &["--api-token", "two words"],
        &["--api-token-file", empty.to_str().unwrap()],
        &["--api-token-file", missing.to_str().unwrap()],
        &["--chat", "tcp:nope"],
    ];
    for args in cases {
        let output = run("catchat", args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(output.stderr).unwrap();
        assert!(
            err.starts_with("catchat: error: ") || err.starts_with("error: "),
            "{err}"
        );
        assert!(output.stdout.is_empty());
    }
    let output = run("catchat", &["--api-token", "a", "--api-token-file", "b"]);
    assert_eq!(output.status.code(), Some(2));

    // A port in use: one line, status 1.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let output = run(
        "catchat",
        &["--chat", &format!("tcp:{port}"), "--api", "tcp:0"],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8(output.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Address already in use"), "{err}");
}

#[test]
fn a_line_over_the_limit_disconnects_its_sender_only() {
    let server = CatChat::start(&["--max-line", "100"]);
    let mut a = server.join();
    let mut b = server.join();
    // Lines up to the limit go through, however they are cut.
    let line = [vec![b'x'; 100], b"\n".to_vec()].concat();
    a.send(&line[..60]);
    b.expect(&line[..60]);
    a.send(&line[60..]);
    b.expect(&line[60..]);
    // One more byte without a newline is too long: the sender is cut off, nobody gets it.
    a.send(&[b'y'; 101]);
    assert_eq!(a.rest(), b"");
    server.wait_for_users(1);
    let mut c = server.join();
    c.send(b"still chatting\n");
    b.expect(b"still chatting\n");
    let log = server.stop();
    assert!(
        log.contains("it sent a line longer than the limit of 100 bytes"),
        "{log}"
    );
    assert!(!log.contains("yyyy"), "{log}");
}

#[test]
fn a_user_who_never_reads_is_disconnected_and_the_others_go_on() {
    let server = CatChat::start(&["--max-unsent", "256KiB"]);
    let sleeper = server.join();
    let mut talker = server.join();
    let mut listener = server.join();
    // The listener reads everything, in a thread, while the talker floods the chat.
    let mut chunk = vec![b'z'; 64 * 1024];
    chunk[64 * 1024 - 1] = b'\n';
    let total = 32 << 20;
    let mut reading = listener.0.try_clone().unwrap();
    let reader = thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        let mut got = 0;
        while got < total {
            let count = reading.read(&mut buffer).unwrap();
            assert!(count > 0 && buffer[..count].iter().all(|&b| b == b'z' || b == b'\n'));
            got += count;
        }
    });
    let mut sent = 0;
    while sent < total {
        talker.send(&chunk);
        sent += chunk.len();
    }
    reader.join().unwrap();
    server
        .server
        .wait_for_line(|line| line.contains("more than the limit of 262144"));
    assert!(resident_kib(server.server.pid()) < 64 * 1024);
    server.wait_for_users(2);
    // The sleeper gets what was sent before the cut, then the end (or a reset).
    let mut sleeper = sleeper;
    sleeper.0.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = 0usize;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match sleeper.0.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => got += count,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) => panic!("{error}"),
        }
    }
    assert!(got < total, "{got}");
    talker.send(b"still here\n");
    listener.expect(b"still here\n");
    let log = server.stop();
    let line = log
        .lines()
        .find(|line| line.contains("bytes are waiting for it to read"))
        .unwrap();
    assert!(
        without_timestamp(line).starts_with("[-] Disconnecting 127.0.0.1:"),
        "{line}"
    );
}

#[test]
fn five_thousand_users_at_once() {
    const USERS: usize = 5000;
    let started = Instant::now();
    let server = CatChat::start(&[]);
    let mut users: Vec<ChatUser> = (0..USERS).map(|_| ChatUser::connect(server.chat)).collect();
    for user in &mut users {
        user.expect(BANNER);
    }
    assert_eq!(server.users(), USERS);
    users[0].send(b"hello, everyone\n");
    for user in &mut users[1..] {
        user.expect(b"hello, everyone\n");
    }
    users[USERS - 1].send(b"hi\n");
    users[0].expect(b"hi\n");
    drop(users);
    server.wait_for_users(0);
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
