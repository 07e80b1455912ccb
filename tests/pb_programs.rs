//! The Perspective Broker programs against each other: talk 004's pbecho (`pbecho-server`,
//! `pbecho-client`) and the training's key-value store over PB (`keyvalue-pb`) with its smallest
//! pair (`ipc-server`, `ipc-client`). Exact lines, exit statuses and error lines. Against real
//! Twisted, see tests/pb_interop.rs.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, closed_port, lines, run};

/// What pbecho-client prints after a good login.
const PBECHO_SESSION: [&str; 3] = [
    "connected.",
    "Message received: hello world",
    "error received: <class 'pbecho.DefinedError'>",
];

/// stdout's lines, stderr's lines and the exit status of a finished program.
fn outcome(output: &Output) -> (Vec<String>, Vec<String>, Option<i32>) {
    (
        lines(&output.stdout),
        lines(&output.stderr),
        output.status.code(),
    )
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| (*line).to_owned()).collect()
}

#[test]
fn pbecho_client_and_server_echo_and_trap_the_error() {
    let server = Listening::start("pbecho-server", &["--port", "0"], 1);
    let address = format!("127.0.0.1:{}", server.port(0));
    let first = run("pbecho-client", &[&address]);
    assert_eq!(outcome(&first), (strings(&PBECHO_SESSION), vec![], Some(0)));
    let second = run("pbecho-client", &[&address, "--text", "two  words "]);
    assert_eq!(
        lines(&second.stdout),
        [
            "connected.",
            "Message received: two  words ",
            "error received: <class 'pbecho.DefinedError'>"
        ]
    );
    server.wait_for_line(|line| line.ends_with("#2> logged out"));
    let (_, out, err) = server.terminate();
    assert_eq!(
        lines(&out),
        [
            "echoing hello world",
            "<pbecho.SimplePerspective guest #1> logged out",
            "echoing two  words ",
            "<pbecho.SimplePerspective guest #2> logged out",
        ]
    );
    assert!(err.is_empty());
}

#[test]
fn pbecho_server_survives_garbage_and_serves_the_next_client() {
    let server = Listening::start("pbecho-server", &["--port", "0"], 1);
    let port = server.port(0);
    for junk in [
        &b"\x88\x88\x88"[..],                  // an unknown type byte
        &[0x7f; 100],                          // a prefix longer than 64 bytes
        b"\x02\x80\x02\x82pb\x7f\x7f\x7f\x82", // a string far over the size limit
        &[0x01, 0x80].repeat(5000),            // lists nested 5,000 deep
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = stream.write_all(junk);
        let mut rest = Vec::new();
        // The server closes the connection (after its offer), whatever it read.
        let _ = stream.read_to_end(&mut rest);
    }
    let client = run("pbecho-client", &[&format!("127.0.0.1:{port}")]);
    assert_eq!(
        outcome(&client),
        (strings(&PBECHO_SESSION), vec![], Some(0))
    );
}

#[test]
fn pbecho_logins_are_checked() {
    let server = Listening::start(
        "pbecho-server",
        &["--port", "0", "--user", "alice:secret", "--user", "bob:"],
        1,
    );
    let address = format!("127.0.0.1:{}", server.port(0));
    let refused = |user: &str| {
        vec![format!(
            "pbecho-client: error: login refused for {user}: wrong user name or password"
        )]
    };
    // guest is not a user once --user is given.
    let guest = run("pbecho-client", &[&address]);
    assert_eq!(outcome(&guest), (vec![], refused("guest"), Some(1)));
    let wrong = run(
        "pbecho-client",
        &[&address, "--user", "alice", "--password", "guest"],
    );
    assert_eq!(outcome(&wrong), (vec![], refused("alice"), Some(1)));
    let alice = run(
        "pbecho-client",
        &[&address, "--user", "alice", "--password", "secret"],
    );
    assert_eq!(outcome(&alice), (strings(&PBECHO_SESSION), vec![], Some(0)));
    let bob = run(
        "pbecho-client",
        &[&address, "--user", "bob", "--password", ""],
    );
    assert_eq!(outcome(&bob), (strings(&PBECHO_SESSION), vec![], Some(0)));
    server.wait_for_line(|line| line == "<pbecho.SimplePerspective bob #2> logged out");
    // Each refused login is an unhandled error on the server's stderr, as Twisted's shows it.
    let (_, _, err) = server.terminate();
    let err = lines(&err);
    let told = |wanted: &str| err.iter().filter(|line| line.trim_end() == wanted).count();
    assert_eq!(told("twisted.cred.error.UnauthorizedLogin:"), 2, "{err:#?}");
    assert_eq!(told("Unhandled Error"), 2, "{err:#?}");
}

#[test]
fn clients_with_no_server_say_so_in_one_line() {
    let address = format!("127.0.0.1:{}", closed_port());
    let refused = "Connection was refused by other side: 111: Connection refused.";
    let pbecho = run("pbecho-client", &[&address]);
    assert_eq!(
        outcome(&pbecho),
        (
            vec![],
            vec![format!("pbecho-client: error: {refused}")],
            Some(1)
        )
    );
    let ipc = run("ipc-client", &["--server", &address]);
    assert_eq!(
        outcome(&ipc),
        (
            vec![],
            vec![format!("ipc-client: error: {refused}")],
            Some(1)
        )
    );
}

#[test]
fn clients_give_up_on_a_server_that_says_nothing() {
    // The kernel accepts the connections; nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let pbecho = run("pbecho-client", &[&address, "--timeout", "300ms"]);
    assert_eq!(
        outcome(&pbecho),
        (
            vec![],
            strings(&["pbecho-client: error: no answer within 300ms"]),
            Some(1)
        )
    );
    let ipc = run("ipc-client", &["--server", &address, "--timeout", "300ms"]);
    assert_eq!(
        outcome(&ipc),
        (
            vec![],
            strings(&["ipc-client: error: no answer within 300ms"]),
            Some(1)
        )
    );
}

#[test]
fn bad_options_are_usage_errors() {
    for args in [
        &["--user", "nopassword"][..],
        &["--user", ":x"],
        &["--port", "x"],
    ] {
        let output = run("pbecho-server", args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
    }
    let output = run("keyvalue-pb", &["--ttl", "soon"]);
    assert_eq!(output.status.code(), Some(2));
    // No wait at all between attempts would retry without pause while the store is down.
    for program in ["keyvalue-web", "keyvalue-web2"] {
        let output = run(program, &["--max-retry-delay", "0"]);
        assert_eq!(output.status.code(), Some(2), "{program}");
        assert_eq!(
            lines(&output.stderr)[0],
            "error: invalid value '0' for '--max-retry-delay <DURATION>': '0' is no time at all: \
             the wait between attempts must be more than zero",
            "{program}"
        );
    }
}

#[test]
fn ipc_client_gets_its_argument_back_from_ipc_server() {
    let server = Listening::start("ipc-server", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let call = |args: &[&str]| {
        outcome(&run(
            "ipc-client",
            &[&["--server", &port][..], args].concat(),
        ))
    };
    assert_eq!(call(&[]), (strings(&["key"]), vec![], Some(0)));
    assert_eq!(
        call(&["hello world"]),
        (strings(&["hello world"]), vec![], Some(0))
    );
    assert_eq!(
        call(&["--bytes", "x"]),
        (strings(&["b'x'"]), vec![], Some(0))
    );
    assert_eq!(
        call(&["--method", "put", "x"]),
        (
            vec![],
            strings(&[
                "ipc-client: twisted.spread.flavors.NoSuchMethod: No such method: remote_put"
            ]),
            Some(1)
        )
    );
    // The unknown method is the server's only unhandled error, shown on stderr as Twisted shows
    // it; nothing else is said.
    let (_, out, err) = server.terminate();
    assert!(out.is_empty());
    assert_eq!(
        lines(&err),
        [
            "Peer will receive following PB traceback:",
            "Unhandled Error",
            "Traceback (most recent call last):",
            "twisted.spread.flavors.NoSuchMethod: No such method: remote_put",
            "",
        ]
    );
}

#[test]
fn keyvalue_pb_stores_typed_values() {
    let server = Listening::start("keyvalue-pb", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let call = |args: &[&str]| {
        outcome(&run(
            "ipc-client",
            &[&["--server", &port][..], args].concat(),
        ))
    };
    let ok = |line: &str| (strings(&[line]), vec![], Some(0));
    let failed = |line: &str| (vec![], strings(&[line]), Some(1));

    assert_eq!(call(&["--method", "set", "a", "two words"]), ok("a"));
    assert_eq!(call(&["--method", "get", "a"]), ok("two words"));
    // Bytes and text are two different keys, as in a Python dictionary.
    assert_eq!(
        call(&["--bytes", "--method", "get", "a"]),
        failed("ipc-client: builtins.KeyError: b'a'")
    );
    assert_eq!(
        call(&["--bytes", "--method", "set", "a", "raw"]),
        ok("b'a'")
    );
    assert_eq!(call(&["--bytes", "--method", "get", "a"]), ok("b'raw'"));
    assert_eq!(call(&["--method", "get", "a"]), ok("two words"));
    assert_eq!(call(&["--method", "delete", "a"]), ok("None"));
    assert_eq!(
        call(&["--method", "get", "a"]),
        failed("ipc-client: builtins.KeyError: 'a'")
    );
    assert_eq!(
        call(&["--method", "delete", "a"]),
        failed("ipc-client: builtins.KeyError: 'a'")
    );
    // Without arguments, ipc-client sends the training's "key".
    assert_eq!(
        call(&["--method", "get"]),
        failed("ipc-client: builtins.KeyError: 'key'")
    );
    assert_eq!(
        call(&["--method", "set", "a"]),
        failed(
            "ipc-client: builtins.TypeError: KeyValuePB.remote_set() missing 1 required positional argument: 'value'"
        )
    );
    assert_eq!(
        call(&["--method", "keys"]),
        failed("ipc-client: twisted.spread.flavors.NoSuchMethod: No such method: remote_keys")
    );

    let (status, log, _) = server.terminate();
    assert!(status.success());
    let log = lines(&log);
    assert!(log[0].ends_with(" [-] Log opened."), "{log:?}");
    assert!(
        log.iter()
            .any(|line| line.ends_with("Peer will receive following PB traceback:"))
    );
    assert!(log.last().unwrap().ends_with(" [-] Main loop terminated."));
}

#[test]
fn keyvalue_pb_keeps_to_its_memory_bound() {
    let server = Listening::start("keyvalue-pb", &["--port", "0", "--max-memory", "100"], 1);
    let port = server.port(0).to_string();
    let call = |args: &[&str]| {
        outcome(&run(
            "ipc-client",
            &[&["--server", &port][..], args].concat(),
        ))
    };
    let big = "x".repeat(200);
    let (out, err, status) = call(&["--method", "set", "big", &big]);
    assert_eq!((out, status), (vec![], Some(1)));
    assert!(
        err[0].starts_with("ipc-client: builtins.MemoryError: "),
        "{err:?}"
    );
    // Older entries make way for new ones.
    for key in ["a", "b", "c", "d", "e"] {
        assert_eq!(call(&["--method", "set", key, &"v".repeat(20)]).2, Some(0));
    }
    assert_eq!(call(&["--method", "get", "e"]).0, ["v".repeat(20)]);
    assert_eq!(call(&["--method", "get", "a"]).2, Some(1));
}

/// Sends `request` over the line protocol on `port` and gives the reply line, without its CR LF.
fn line_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(format!("{request}\r\n").as_bytes())
        .unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    reply.trim_end_matches("\r\n").to_owned()
}

#[test]
fn keyvalue_server2_shares_one_store_between_both_protocols() {
    let server = Listening::start("keyvalue-server2", &["--port", "0", "--pb-port", "0"], 2);
    let (line, pb) = (server.port(0), server.port(1).to_string());
    let call =
        |args: &[&str]| outcome(&run("ipc-client", &[&["--server", &pb][..], args].concat()));
    let ok = |line: &str| (strings(&[line]), vec![], Some(0));

    assert_eq!(line_request(line, "set a hello world"), "STORED");
    assert_eq!(
        call(&["--bytes", "--method", "get", "a"]),
        ok("b'hello world'")
    );
    // A text key is another key, which the line protocol cannot name.
    assert_eq!(
        call(&["--method", "get", "a"]),
        (
            vec![],
            strings(&["ipc-client: builtins.KeyError: 'a'"]),
            Some(1)
        )
    );
    assert_eq!(
        call(&["--bytes", "--method", "set", "b", "from pb"]),
        ok("b'b'")
    );
    assert_eq!(line_request(line, "get b"), "VALUE b from pb");
    assert_eq!(
        call(&["--bytes", "--method", "set", "c", "x\r\nSTORED"]),
        ok("b'c'")
    );
    assert_eq!(line_request(line, "get c"), "VALUE c b'x\\r\\nSTORED'");
    assert_eq!(line_request(line, "delete b"), "DELETED b");
    assert_eq!(
        call(&["--bytes", "--method", "delete", "b"]),
        (
            vec![],
            strings(&["ipc-client: builtins.KeyError: b'b'"]),
            Some(1)
        )
    );
    assert_eq!(line_request(line, "get b"), "GET_NOT_FOUND b");

    let (status, log, _) = server.terminate();
    assert!(status.success());
    let log = lines(&log);
    assert!(
        log.iter()
            .any(|entry| entry.ends_with(" [-] R set a hello world")),
        "{log:?}"
    );
    // twistd's lines for each factory, the line protocol's first, as keyvalue-server's read.
    let pb_port = server_port_of(&log, "PBServerFactory");
    let line_port = server_port_of(&log, "KeyValueStoreFactory");
    assert_eq!((line_port, pb_port), (line, pb.parse().unwrap()));
    let said = |start: &str| log.iter().filter(|entry| entry.contains(start)).count();
    assert_eq!(
        said("[-] Starting factory <KeyValueStoreFactory object at 0x"),
        1
    );
    assert_eq!(
        said("[-] Starting factory <PBServerFactory object at 0x"),
        1
    );
    assert_eq!(said("[-] Stopping factory <"), 2);
    assert!(log.last().unwrap().ends_with(" [-] Main loop terminated."));
}

/// The port of `FACTORY starting on PORT` in a twistd log.
fn server_port_of(log: &[String], factory: &str) -> u16 {
    let start = format!(" [-] {factory} starting on ");
    log.iter()
        .find_map(|entry| entry.split_once(&start)?.1.parse().ok())
        .unwrap_or_else(|| panic!("no {factory} line in {log:#?}"))
}

/// GETs `target` from the web server on `port` in HTTP/1.0 (so the body is not chunked and ends
/// with the connection): its status line and its body.
fn http_get(port: u16, target: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// GETs `target` until the answer is not a 503 (keyvalue-web2 has the store's root object), for
/// at most 20 seconds.
fn once_reachable(port: u16, target: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = http_get(port, target);
        if !answer.0.contains(" 503 ") {
            return answer;
        }
        assert!(Instant::now() < deadline, "still unreachable: {answer:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keyvalue_web2_serves_the_pages_over_pb_and_keeps_the_store_connected() {
    let store_port = closed_port();
    let address = format!("127.0.0.1:{store_port}");
    let start_store = || Listening::start("keyvalue-pb", &["--port", &store_port.to_string()], 1);
    let web = Listening::start(
        "keyvalue-web2",
        &[
            "--port",
            "0",
            "--store",
            &address,
            "--max-retry-delay",
            "100ms",
        ],
        1,
    );
    let port = web.port(0);
    let ok = |body: &str| ("HTTP/1.0 200 OK".to_owned(), body.to_owned());
    let unreachable = (
        "HTTP/1.0 503 Service Unavailable".to_owned(),
        format!("The key-value store at {address} is not reachable.\n"),
    );

    // Served at once, the store being down: the pages say so.
    assert_eq!(http_get(port, "/get?key=a"), unreachable);
    assert!(http_get(port, "/").1.starts_with("<html><body>"));

    // The store comes up: keyvalue-web2 finds it on its own.
    let store = start_store();
    assert_eq!(once_reachable(port, "/set?key=a&value=two+words"), ok("a"));
    assert_eq!(http_get(port, "/get?key=a"), ok("two words"));
    assert_eq!(http_get(port, "/get?key=b"), ok("NOT FOUND: 'b'"));
    // The keys travel as bytes, as the original's did.
    let client = run(
        "ipc-client",
        &["--server", &address, "--bytes", "--method", "get", "a"],
    );
    assert_eq!(lines(&client.stdout), ["b'two words'"]);
    assert_eq!(http_get(port, "/delete?key=a"), ok("a"));
    assert_eq!(http_get(port, "/delete?key=a"), ok("NOT FOUND: 'a'"));
    assert_eq!(http_get(port, "/get?key=a"), ok("NOT FOUND: 'a'"));
    assert_eq!(
        http_get(port, "/set?key=a").0,
        "HTTP/1.0 500 Internal Server Error"
    );

    // The store goes away: 503 again, as soon as the loss is seen.
    drop(store);
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_get(port, "/get?key=a") != unreachable {
        assert!(Instant::now() < deadline, "the loss went unseen");
        thread::sleep(Duration::from_millis(20));
    }

    // And comes back, empty: the pages work again without a restart.
    let _store = start_store();
    assert_eq!(once_reachable(port, "/get?key=a"), ok("NOT FOUND: 'a'"));
    assert_eq!(http_get(port, "/set?key=a&value=2"), ok("a"));
    assert_eq!(http_get(port, "/get?key=a"), ok("2"));

    // Each coming and going is told once, not at every attempt.
    let (status, out, _err) = web.terminate();
    assert_eq!(status.code(), Some(0));
    let out = lines(&out);
    let said = |text: &str| out.iter().filter(|line| line.contains(text)).count();
    assert_eq!(said("is not reachable: "), 1, "{out:#?}");
    assert_eq!(said(" [-] listening"), 1, "{out:#?}");
    assert_eq!(
        said("Lost the connection to the key-value store"),
        1,
        "{out:#?}"
    );
    assert_eq!(said("Connected to the key-value store"), 1, "{out:#?}");
}
