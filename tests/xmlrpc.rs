//! Talk 004's XML-RPC server and our XML-RPC client, run as processes: every method and every
//! fault byte for byte against the answers Twisted gives (spec section 4.7), the HTTP answers, what
//! the server reports on stderr, hostile bodies, and both programs against Python's own XML-RPC
//! client and server (the standard library's `xmlrpc.client` and `xmlrpc.server`).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Listening, closed_port, lines, run};

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// Starts `xmlrpc-server` on a free port with `args`.
fn start(args: &[&str]) -> Listening {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    Listening::start("xmlrpc-server", &all, 1)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Sends `request` and reads the answer until the server closes (the request asks it to).
fn exchange(port: u16, request: &[u8]) -> String {
    let mut stream = connect(port);
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

/// POSTs `body` to `path` on a connection that closes after the answer; gives the whole answer
/// without its `Date` line.
fn post_to(port: u16, path: &str, body: &str) -> String {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    without_date(&exchange(port, request.as_bytes()))
}

fn post(port: u16, body: &str) -> String {
    post_to(port, "/", body)
}

/// The answer without its `Date` line, which changes every second.
fn without_date(answer: &str) -> String {
    answer
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A `methodCall` of `method` whose parameters are the `<value>` elements given, written as
/// Python's client writes one.
fn call(method: &str, values: &[&str]) -> String {
    let params: String = values
        .iter()
        .map(|value| format!("<param>\n{value}\n</param>\n"))
        .collect();
    format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n\
         {params}</params>\n</methodCall>\n"
    )
}

/// The whole HTTP answer carrying `body`, as Twisted's XML-RPC resource sends it (our `Server`
/// name aside), on a connection the request asked to close.
fn http_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\n{SERVER}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: \
         {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The answer of a call that gave `value` (its `<value>` line or lines, ending in a newline).
fn success(value: &str) -> String {
    http_answer(&format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{value}</param>\n</params>\n\
         </methodResponse>\n"
    ))
}

/// The answer of a call that gave the fault `code`, `text`.
fn fault(code: i32, text: &str) -> String {
    http_answer(&format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n\
         <name>faultCode</name>\n<value><int>{code}</int></value>\n</member>\n<member>\n\
         <name>faultString</name>\n<value><string>{text}</string></value>\n</member>\n\
         </struct></value>\n</fault>\n</methodResponse>\n"
    ))
}

/// A string's `<value>` line.
fn string(text: &str) -> String {
    format!("<value><string>{text}</string></value>\n")
}

/// Stops the server with SIGTERM; checks that it exits with status 0 and printed nothing on
/// stdout; gives what it printed on stderr after its `listening` line.
fn stop(server: Listening) -> Vec<String> {
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    lines(&err)
}

// ---- every method and every fault, byte for byte ----

#[test]
fn every_method_answers_as_twisteds_echoer_does() {
    let server = start(&[]);
    let port = server.port(0);
    assert_eq!(
        post(port, &call("echo", &[])),
        success("<value><array><data>\n</data></array></value>\n")
    );
    let args = [
        "<value><int>1</int></value>",
        "<value><string>two</string></value>",
        "<value><array><data>\n<value><double>3.5</double></value>\n\
         <value><boolean>1</boolean></value>\n</data></array></value>",
        "<value><struct>\n<member>\n<name>k</name>\n<value><string>v</string></value>\n\
         </member>\n</struct></value>",
    ];
    let echoed = format!(
        "<value><array><data>\n{}\n</data></array></value>\n",
        args.join("\n")
    );
    assert_eq!(post(port, &call("echo", &args)), success(&echoed));
    // Binary and dateTime values come back as such.
    let args = [
        "<value><base64>\nYWJj\n</base64></value>",
        "<value><dateTime.iso8601>20260101T12:00:00</dateTime.iso8601></value>",
    ];
    let echoed = format!(
        "<value><array><data>\n{}\n</data></array></value>\n",
        args.join("\n")
    );
    assert_eq!(post(port, &call("echo", &args)), success(&echoed));
    // Text is escaped, and non-ASCII text is sent as UTF-8.
    let tricky = "<value><string>a &amp; b &lt;c&gt; caf\u{e9} \u{2615}</string></value>";
    assert_eq!(
        post(port, &call("echo", &[tricky])),
        success(&format!(
            "<value><array><data>\n{tricky}\n</data></array></value>\n"
        ))
    );
    assert_eq!(
        post(port, &call("hello", &[])),
        success(&string("hello, world!"))
    );
    assert_eq!(post(port, &call("defer", &[])), success(&string("hello")));
    assert_eq!(post(port, &call("defer_fail", &[])), fault(8002, "error"));
    assert_eq!(post(port, &call("fail", &[])), fault(7, "Out of cheese."));
    assert_eq!(
        post(port, &call("hello", &["<value><int>1</int></value>"])),
        fault(8002, "error")
    );
    assert_eq!(
        post(port, &call("nosuch", &[])),
        fault(8001, "procedure nosuch not found")
    );
    for (method, prefix) in [
        ("system.listMethods", "system"),
        ("system.multicall", "system"),
        ("echo.sub", "echo"),
    ] {
        assert_eq!(
            post(port, &call(method, &[])),
            fault(8001, &format!("no such subHandler {prefix}"))
        );
    }
    assert_eq!(
        post(port, &call("echo", &["<value><nil/></value>"])),
        fault(
            8002,
            "Can't serialize output: cannot marshal None unless allow_none is enabled"
        )
    );
    assert_eq!(
        post(port, &call("echo", &["<value><i8>2147483648</i8></value>"])),
        fault(8002, "Can't serialize output: int exceeds XML-RPC limits")
    );
    // A document cut short, and no document at all: the parser's words, as expat's.
    assert_eq!(
        post(
            port,
            "<?xml version='1.0'?><methodCall><methodName>echo</methodName><params> "
        ),
        fault(
            8002,
            "Can't deserialize input: no element found: line 1, column 71"
        )
    );
    assert_eq!(
        post(port, ""),
        fault(
            8002,
            "Can't deserialize input: no element found: line 1, column 0"
        )
    );
    // Every path is the same endpoint.
    for path in ["/RPC2", "/some/path", "/?x=1"] {
        assert_eq!(
            post_to(port, path, &call("hello", &[])),
            success(&string("hello, world!"))
        );
    }
    // The failures nobody was told about are reported on stderr, a failure in two lines.
    assert_eq!(
        stop(server),
        [
            "Unhandled Error",
            "PlainInteger: 12",
            "Unhandled Error",
            "WrongArgumentCount: hello() takes 0 arguments (1 given)",
        ]
    );
}

#[test]
fn only_post_is_answered() {
    let server = start(&[]);
    let port = server.port(0);
    let page = "\n<html>\n  <head><title>405 - Method Not Allowed</title></head>\n  <body>\n    \
                <h1>Method Not Allowed</h1>\n    <p>Your browser approached me (at /RPC2) with \
                the method \"GET\".  I only allow the method POST here.</p>\n  </body>\n</html>\n";
    assert_eq!(
        without_date(&exchange(port, b"GET /RPC2 HTTP/1.0\r\n\r\n")),
        format!(
            "HTTP/1.0 405 Method Not Allowed\r\n{SERVER}\r\nAllow: POST\r\nContent-Type: \
             text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{page}",
            page.len()
        )
    );
    // HEAD: a 405 too (Twisted answers a 500), with the length of the page it does not send.
    let head = without_date(&exchange(port, b"HEAD / HTTP/1.0\r\n\r\n"));
    assert_eq!(
        head,
        format!(
            "HTTP/1.0 405 Method Not Allowed\r\n{SERVER}\r\nAllow: POST\r\nContent-Type: \
             text/html; charset=utf-8\r\nContent-Length: 227\r\n\r\n"
        )
    );
    for method in ["PUT", "DELETE", "OPTIONS"] {
        let answer = exchange(port, format!("{method} / HTTP/1.0\r\n\r\n").as_bytes());
        assert!(
            answer.starts_with("HTTP/1.0 501 Not Implemented\r\n"),
            "{answer}"
        );
    }
    assert!(stop(server).is_empty());
}

#[test]
fn calls_on_one_connection_are_answered_in_turn() {
    let server = start(&[]);
    let port = server.port(0);
    let body = call("hello", &[]);
    let one = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = connect(port);
    stream.write_all(format!("{one}{one}").as_bytes()).unwrap();
    let mut answers = Vec::new();
    let mut buffer = [0; 4096];
    while String::from_utf8_lossy(&answers)
        .matches("</methodResponse>")
        .count()
        < 2
    {
        let count = stream.read(&mut buffer).unwrap();
        assert!(count > 0, "closed early");
        answers.extend_from_slice(&buffer[..count]);
    }
    let answers = String::from_utf8(answers).unwrap();
    assert_eq!(
        answers.matches("HTTP/1.1 200 OK\r\n").count(),
        2,
        "{answers}"
    );
    assert!(stop(server).is_empty());
}

#[test]
fn introspection_lists_the_methods_and_tells_their_help() {
    let server = start(&["--introspection"]);
    let port = server.port(0);
    let names = [
        "echo",
        "hello",
        "defer",
        "defer_fail",
        "fail",
        "system.listMethods",
        "system.methodHelp",
        "system.methodSignature",
    ];
    let listed: String = names.iter().map(|name| string(name)).collect();
    assert_eq!(
        post(port, &call("system.listMethods", &[])),
        success(&format!(
            "<value><array><data>\n{listed}</data></array></value>\n"
        ))
    );
    let helps = [
        ("echo", "Return all passed args."),
        ("hello", "Return 'hello, world'."),
        ("defer", "Show how xmlrpc methods can return Deferred."),
        (
            "defer_fail",
            "Show how xmlrpc methods can return failed Deferred.",
        ),
        ("fail", "Show how we can return a failure code."),
    ];
    for (name, help) in helps {
        let argument = format!("<value><string>{name}</string></value>");
        assert_eq!(
            post(port, &call("system.methodHelp", &[&argument])),
            success(&string(help))
        );
        assert_eq!(
            post(port, &call("system.methodSignature", &[&argument])),
            success(&string(""))
        );
    }
    let nosuch = "<value><string>nosuch</string></value>";
    assert_eq!(
        post(port, &call("system.methodHelp", &[nosuch])),
        fault(8001, "procedure nosuch not found")
    );
    assert_eq!(
        post(port, &call("system.methodSignature", &[nosuch])),
        fault(8001, "procedure nosuch not found")
    );
    assert!(stop(server).is_empty());
}

// ---- hostile bodies ----

/// Checks that the server still answers a plain call.
fn assert_still_serving(port: u16) {
    assert_eq!(
        post(port, &call("hello", &[])),
        success(&string("hello, world!"))
    );
}

/// The fault string of an answer.
fn fault_string(answer: &str) -> &str {
    let (_, rest) = answer
        .split_once("<name>faultString</name>\n<value><string>")
        .unwrap_or_else(|| panic!("not a fault: {answer}"));
    rest.split_once("</string>").unwrap().0
}

#[test]
fn hostile_bodies_get_a_fault_and_the_server_goes_on() {
    let server = start(&[]);
    let port = server.port(0);

    let malformed = "<methodCall><methodName>echo</methodName><params><param><value><int>1</in>";
    let answer = post(port, malformed);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(
        fault_string(&answer),
        "Can't deserialize input: unexpected &lt;/in&gt; where &lt;/int&gt; should be: line 1, \
         column 74"
    );
    let answer = post(
        port,
        "<methodCall><methodName>a & b</methodName></methodCall>",
    );
    assert!(
        fault_string(&answer).starts_with("Can't deserialize input: ill-formed document"),
        "{answer}"
    );
    assert_still_serving(port);

    // A billion laughs: refused at its DOCTYPE, before any entity is defined.
    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    laughs.push_str(
        "]>\n<methodCall><methodName>echo</methodName><params><param><value>\
                     <string>&lol9;</string></value></param></params></methodCall>\n",
    );
    let started = Instant::now();
    let answer = post(port, &laughs);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        fault_string(&answer),
        "Can't deserialize input: a document type declaration (&lt;!DOCTYPE ...&gt;) is not \
         allowed"
    );
    assert_still_serving(port);

    // Arrays ten thousand deep: refused past 64.
    let depth = 10_000;
    let deep = call(
        "echo",
        &[&format!(
            "{}<int>1</int>{}",
            "<value><array><data>".repeat(depth),
            "</data></array></value>".repeat(depth)
        )],
    );
    assert_eq!(
        fault_string(&post(port, &deep)),
        "Can't deserialize input: values are nested more than 64 deep"
    );
    assert_still_serving(port);

    // An undefined entity, with no DTD.
    let answer = post(
        port,
        &call("echo", &["<value><string>&lol9;</string></value>"]),
    );
    assert!(
        fault_string(&answer).starts_with("Can't deserialize input: undefined entity &amp;lol9;"),
        "{answer}"
    );
    assert_still_serving(port);

    // 100 MB announced: refused from its head alone, without reading (or waiting for) the body.
    let mut stream = connect(port);
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n<methodCall>")
        .unwrap();
    let mut head = String::new();
    BufReader::new(&mut stream).read_line(&mut head).unwrap();
    assert_eq!(head, "HTTP/1.1 413 Payload Too Large\r\n");
    drop(stream);
    assert_still_serving(port);
    assert!(stop(server).is_empty());
}

#[test]
fn a_body_over_the_limit_is_a_413_however_it_comes() {
    let server = start(&["--max-body", "1KiB"]);
    let port = server.port(0);
    let big = call(
        "echo",
        &[&format!(
            "<value><string>{}</string></value>",
            "x".repeat(1024)
        )],
    );
    let answer = post(port, &big);
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("<p>The request body is larger than the 1024 bytes this site accepts.</p>"),
        "{answer}"
    );
    // Chunked, with no length announced: counted as it comes.
    let chunked = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let answer = exchange(port, chunked.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    // Just under the limit is fine.
    let small = call("echo", &["<value><string>x</string></value>"]);
    assert!(post(port, &small).starts_with("HTTP/1.1 200 OK\r\n"));
    assert_still_serving(port);
    assert!(stop(server).is_empty());
}

// ---- Python's client and server ----

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn pythons_client_calls_every_method_with_every_type() {
    let plain = start(&[]);
    let introspecting = start(&["--introspection"]);
    let script = fixture("xmlrpc_client.py");
    let url = |server: &Listening| format!("http://127.0.0.1:{}/", server.port(0));
    let output = Command::new("python3")
        .args([&script, &url(&plain)])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = [
        "echo() []",
        "echo(1, 'two', [3.5, True], {'k': 'v'}) [1, 'two', [3.5, True], {'k': 'v'}]",
        "echo(every type) comes back equal: True",
        "echo(every type): [0, -2147483648, 2147483647, True, False, 'two', '', \"na\u{ef}ve \
         <tags> & 'quotes' \u{2615}\", 3.5, -1e-07, 1e+16, [1, [2, [3, []]]], {'k': 'v', \
         'nested': {'empty': {}, 'list': [True]}}, b'\\x00\\xffbytes', b'', \
         datetime.datetime(2026, 11, 28, 18, 58, 17)]",
        "echo(Binary, DateTime) comes back equal: True",
        "hello() 'hello, world!'",
        "defer() 'hello'",
        "defer_fail() Fault 8002 'error'",
        "fail() Fault 7 'Out of cheese.'",
        "hello(1) Fault 8002 'error'",
        "nosuch() Fault 8001 'procedure nosuch not found'",
        "echo.sub() Fault 8001 'no such subHandler echo'",
        "echo(None) Fault 8002 \"Can't serialize output: cannot marshal None unless allow_none \
         is enabled\"",
        "system.listMethods() Fault 8001 'no such subHandler system'",
    ];
    assert_eq!(lines(&output.stdout), expected);

    let output = Command::new("python3")
        .args([&script, &url(&introspecting), "--introspection"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let introspection = &lines(&output.stdout)[expected.len() - 1..];
    assert_eq!(
        introspection,
        [
            "system.listMethods() ['echo', 'hello', 'defer', 'defer_fail', 'fail', \
             'system.listMethods', 'system.methodHelp', 'system.methodSignature']",
            "system.methodHelp('echo') 'Return all passed args.'",
            "system.methodHelp('hello') \"Return 'hello, world'.\"",
            "system.methodHelp('defer') 'Show how xmlrpc methods can return Deferred.'",
            "system.methodHelp('defer_fail') 'Show how xmlrpc methods can return failed \
             Deferred.'",
            "system.methodHelp('fail') 'Show how we can return a failure code.'",
            "system.methodSignature('echo') ''",
            "system.methodSignature('system.methodHelp') [['string', 'string']]",
            "system.methodHelp('nosuch') Fault 8001 'procedure nosuch not found'",
        ]
    );
    stop(plain);
    stop(introspecting);
}

/// Python's `SimpleXMLRPCServer` (tests/fixtures/xmlrpc_server.py) on a free port; killed when
/// dropped.
struct PythonServer {
    child: Child,
    url: String,
}

impl PythonServer {
    fn start() -> PythonServer {
        let mut child = Command::new("python3")
            .arg(fixture("xmlrpc_server.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let url = format!("http://127.0.0.1:{}/", port.trim());
        PythonServer { child, url }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `xmlrpc-call` with `args`; gives its status, stdout and stderr.
fn xmlrpc_call(args: &[&str]) -> (i32, String, String) {
    let output = run("xmlrpc-call", args);
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn xmlrpc_call_calls_pythons_server() {
    let python = PythonServer::start();
    let url = python.url.as_str();
    assert_eq!(
        xmlrpc_call(&[
            url,
            "echo",
            "1",
            "-2",
            "two",
            "3.5",
            "true",
            "null",
            "{\"k\": [1], \"a\": {}}",
            "\"42\""
        ]),
        (
            0,
            "[1, -2, \"two\", 3.5, true, null, {\"k\": [1], \"a\": {}}, \"42\"]\n".into(),
            String::new()
        )
    );
    assert_eq!(
        xmlrpc_call(&[url, "types"]),
        (
            0,
            "[42, true, \"text \u{2615} <&>\", 3.5, \"20260102T03:04:05\", \"Ynl0ZXMA/w==\", \
             {\"k\": [1, null], \"empty\": {}}, null]\n"
                .into(),
            String::new()
        )
    );
    assert_eq!(
        xmlrpc_call(&["--repr", url, "types"]),
        (
            0,
            "[42, True, 'text \u{2615} <&>', 3.5, datetime.datetime(2026, 1, 2, 3, 4, 5), \
             b'bytes\\x00\\xff', {'k': [1, None], 'empty': {}}, None]\n"
                .into(),
            String::new()
        )
    );
    assert_eq!(
        xmlrpc_call(&[url, "fail"]),
        (
            1,
            String::new(),
            "xmlrpc-call: Fault 7: Out of cheese.\n".into()
        )
    );
    assert_eq!(
        xmlrpc_call(&[url, "boom"]),
        (
            1,
            String::new(),
            "xmlrpc-call: Fault 1: <class 'ValueError'>:no such luck\n".into()
        )
    );
    let (status, out, _) = xmlrpc_call(&[url, "system.listMethods"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("[\"boom\", \"echo\", \"fail\", "), "{out}");
}

#[test]
fn xmlrpc_call_calls_our_server_and_reports_faults_and_errors_in_one_line() {
    let server = start(&["--allow-nil"]);
    let url = format!("http://127.0.0.1:{}/", server.port(0));
    let url = url.as_str();
    assert_eq!(
        xmlrpc_call(&[
            url,
            "echo",
            "1",
            "two",
            "[3.5, true]",
            "{\"k\": \"v\"}",
            "null"
        ]),
        (
            0,
            "[1, \"two\", [3.5, true], {\"k\": \"v\"}, null]\n".into(),
            String::new()
        )
    );
    assert_eq!(
        xmlrpc_call(&["--repr", url, "echo", "1", "it's", "[3.5, true]"]),
        (0, "[1, \"it's\", [3.5, True]]\n".into(), String::new())
    );
    assert_eq!(
        xmlrpc_call(&[url, "hello"]),
        (0, "\"hello, world!\"\n".into(), String::new())
    );
    assert_eq!(
        xmlrpc_call(&[url, "defer_fail"]),
        (1, String::new(), "xmlrpc-call: Fault 8002: error\n".into())
    );
    assert_eq!(
        xmlrpc_call(&[url, "nosuch"]),
        (
            1,
            String::new(),
            "xmlrpc-call: Fault 8001: procedure nosuch not found\n".into()
        )
    );
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    assert_eq!(
        xmlrpc_call(&[&refused, "hello"]),
        (
            1,
            String::new(),
            "xmlrpc-call: error: ConnectionRefusedError: Connection was refused by other side: \
             111: Connection refused.\n"
                .into()
        )
    );
    // Usage errors: one line (clap's own come with a hint), status 2.
    let (status, out, err) = xmlrpc_call(&[url, "echo", "[1, 2"]);
    assert_eq!((status, out.as_str()), (2, ""));
    assert!(
        err.starts_with("xmlrpc-call: error: '[1, 2' is not valid JSON"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let (status, _, err) = xmlrpc_call(&[url, "echo", "4294967296"]);
    assert_eq!(status, 2);
    assert!(
        err.contains("does not fit in an XML-RPC int (32 bits)"),
        "{err}"
    );
    assert_eq!(xmlrpc_call(&[url]).0, 2);
    assert_eq!(xmlrpc_call(&["localhost:7080", "hello"]).0, 2);
    stop(server);
}
