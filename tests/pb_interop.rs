//! Perspective Broker against the real thing: Twisted's own PB, in Python, talking to our programs
//! and our programs talking to it, on the seeds' examples (talk 004's pbecho, the training's
//! key-value store over PB and its ipc pair). The Python peers are ours, written on current
//! Twisted's API, in `scripts/interop/twisted/`.
//!
//! Twisted comes from the virtual environment that `scripts/interop/pb.sh` makes once per machine
//! (`.ci/run` calls it before the tests). Without it, e.g. with no access to PyPI, each test says
//! so and passes, unless `REQUIRE_TWISTED=1` is set (`.ci/run` sets it): then each one fails.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Output;

use support::twisted::{self, PythonServer};
use support::{Listening, lines, run};

/// 2**300, as Python prints it: an integer beyond 64 bits, stored and given back.
const TWO_TO_THE_300: &str =
    "2037035976334486086268445688409378161051468393665936250636140449354381299763336706183397376";

/// What Twisted's pbecho client prints after a good login.
const PBECHO_SESSION: [&str; 3] = [
    "connected.",
    "Message received: hello world",
    "error received: <class 'pbecho.DefinedError'>",
];

/// The Python peers agree with each other: the reference the other tests hold us to.
#[test]
fn the_twisted_peers_talk_to_each_other() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = PythonServer::start(&python, "pbecho_server.py");
    let client = twisted::run(&python, "pbecho_client.py", &[&server.arg()]);
    assert_eq!(lines(&client.stdout), PBECHO_SESSION);
    assert!(client.status.success());
    assert_eq!(server.next_line(), "echoing hello world");
    let logged_out = server.next_line();
    assert!(
        logged_out.starts_with("<pbecho.SimplePerspective object at 0x")
            && logged_out.ends_with("> logged out"),
        "{logged_out}"
    );

    let store = PythonServer::start(&python, "keyvalue_pb_server.py");
    let client = twisted::run(
        &python,
        "keyvalue_pb_client.py",
        &[
            &store.arg(),
            "('set', b'a', 'x y')",
            "('get', b'a')",
            "('get', 'a')",
        ],
    );
    assert_eq!(
        lines(&client.stdout),
        ["set: b'a'", "get: 'x y'", "get: builtins.KeyError: 'a'"]
    );
}

/// Twisted's client logs in to our pbecho-server, gets its echo back and traps the error by the
/// class it imported, `pbecho.DefinedError`; a wrong password is Twisted's `UnauthorizedLogin`.
#[test]
fn a_twisted_client_calls_our_pbecho_server() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = Listening::start("pbecho-server", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let client = twisted::run(&python, "pbecho_client.py", &[&port]);
    assert_eq!(lines(&client.stdout), PBECHO_SESSION);
    assert!(client.status.success());
    server.wait_for_line(|line| line == "<pbecho.SimplePerspective guest #1> logged out");

    let client = twisted::run(
        &python,
        "pbecho_client.py",
        &[&port, "guest", "guest", "héllo"],
    );
    assert_eq!(lines(&client.stdout)[1], "Message received: héllo");
    server.wait_for_line(|line| line == "<pbecho.SimplePerspective guest #2> logged out");

    let client = twisted::run(&python, "pbecho_client.py", &[&port, "guest", "wrong"]);
    assert_eq!(
        lines(&client.stdout),
        ["login failed: twisted.cred.error.UnauthorizedLogin: "]
    );
    assert_eq!(client.status.code(), Some(1));
    let client = twisted::run(&python, "pbecho_client.py", &[&port, "nobody", "guest"]);
    assert_eq!(client.status.code(), Some(1));

    let (_, out, _) = server.terminate();
    assert_eq!(
        lines(&out),
        [
            "echoing hello world",
            "<pbecho.SimplePerspective guest #1> logged out",
            "echoing héllo",
            "<pbecho.SimplePerspective guest #2> logged out",
        ]
    );
}

/// Twisted's client on our keyvalue-pb: values keep their Python types, misses are KeyErrors
/// whose text is the key's repr, an unknown method is NoSuchMethod, bad arguments a TypeError.
#[test]
fn a_twisted_client_uses_our_keyvalue_pb() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = Listening::start("keyvalue-pb", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let client = twisted::run(&python, "keyvalue_pb_client.py", &[&port]);
    assert_eq!(
        lines(&client.stdout),
        [
            "set: b'a'",
            "get: b'value'",
            "set: 't'",
            "get: 'two words'",
            "set: b'l'",
            "get: ['x', b'y', 1, -2, 2.5, None, True, (1, 2), {'k': b'v'}]",
            "get: builtins.KeyError: b'missing'",
            "get: builtins.KeyError: 'missing'",
            "delete: None",
            "get: builtins.KeyError: b'a'",
            "delete: builtins.KeyError: b'a'",
            "nosuch: twisted.spread.flavors.NoSuchMethod: No such method: remote_nosuch",
        ]
    );
    assert!(client.status.success());

    let set_big = format!("('set', b'big', {TWO_TO_THE_300})");
    let calls = [
        "('get',)",
        "('set', [1], 2)",
        set_big.as_str(),
        "('get', b'big')",
        "('set', 'nested', [[1], [1]])",
        "('get', 'nested')",
    ];
    let client = call_store(&python, &port, &calls);
    assert_eq!(
        lines(&client.stdout),
        [
            "get: builtins.TypeError: KeyValuePB.remote_get() missing 1 required positional argument: 'key'",
            "set: builtins.TypeError: unhashable type: 'list'",
            "set: b'big'",
            &format!("get: {TWO_TO_THE_300}"),
            "set: 'nested'",
            "get: [[1], [1]]",
        ]
    );

    // What Twisted's client stored, our client reads, in the same type.
    let ours = run(
        "ipc-client",
        &["--server", &port, "--bytes", "--method", "get", "l"],
    );
    assert_eq!(
        lines(&ours.stdout),
        ["['x', b'y', 1, -2, 2.5, None, True, (1, 2), {'k': b'v'}]"]
    );
    let (_, log, _) = server.terminate();
    let log = String::from_utf8(log).unwrap();
    assert!(
        log.contains("Peer will receive following PB traceback:"),
        "{log}"
    );
}

/// The types Twisted's jelly sends besides the basic ones, `Decimal` and the `datetime` family,
/// stored in our keyvalue-pb by Twisted's client and given back equal (same type, same repr);
/// our ipc-client prints what it reads back as Python would.
#[test]
fn a_twisted_client_stores_decimals_and_dates_in_our_keyvalue_pb() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = Listening::start("keyvalue-pb", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let calls = [
        "('set', 'd', Decimal('3.14'))",
        "('get', 'd')",
        "('set', 'when', datetime(2024, 1, 2, 3, 4, 5, 6))",
        "('get', 'when')",
        "('set', b'all', [Decimal('-1E+3'), Decimal('0.000001'), date(2024, 2, 29), \
          time(23, 59), timedelta(days=-1, seconds=5), datetime(1, 1, 1)])",
        "('get', b'all')",
        "('get', 'd')",
    ];
    let client = call_store(&python, &port, &calls);
    assert_eq!(
        lines(&client.stdout),
        [
            "set: 'd'",
            "get: Decimal('3.14')",
            "set: 'when'",
            "get: datetime.datetime(2024, 1, 2, 3, 4, 5, 6)",
            "set: b'all'",
            "get: [Decimal('-1E+3'), Decimal('0.000001'), datetime.date(2024, 2, 29), \
             datetime.time(23, 59), datetime.timedelta(days=-1, seconds=5), \
             datetime.datetime(1, 1, 1, 0, 0)]",
            "get: Decimal('3.14')",
        ],
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(client.status.success());

    let ours = run(
        "ipc-client",
        &["--server", &port, "--method", "get", "when"],
    );
    assert_eq!(
        lines(&ours.stdout),
        ["datetime.datetime(2024, 1, 2, 3, 4, 5, 6)"]
    );
    let ours = run("ipc-client", &["--server", &port, "--method", "get", "d"]);
    assert_eq!(lines(&ours.stdout), ["Decimal('3.14')"]);
    server.terminate();
}

/// Twisted's client on keyvalue-server2's PB port: the same root as keyvalue-pb's, over the store
/// the line protocol shares, so what Twisted stores as bytes the line protocol reads, and the
/// other way round; a value of another type reads there as its Python repr.
#[test]
fn a_twisted_client_uses_keyvalue_server2s_pb_port() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = Listening::start("keyvalue-server2", &["--port", "0", "--pb-port", "0"], 2);
    let (line, pb) = (server.port(0), server.port(1).to_string());
    assert_eq!(line_request(line, "set fromline written by line"), "STORED");
    let calls = [
        "('set', b'a', b'from twisted')",
        "('get', b'fromline')",
        "('get', 'fromline')",
        "('set', b'd', Decimal('-2.50'))",
        "('get', b'd')",
        "('delete', b'fromline')",
        "('get', b'fromline')",
        "('nosuch',)",
    ];
    let client = call_store(&python, &pb, &calls);
    assert_eq!(
        lines(&client.stdout),
        [
            "set: b'a'",
            "get: b'written by line'",
            "get: builtins.KeyError: 'fromline'",
            "set: b'd'",
            "get: Decimal('-2.50')",
            "delete: None",
            "get: builtins.KeyError: b'fromline'",
            "nosuch: twisted.spread.flavors.NoSuchMethod: No such method: remote_nosuch",
        ],
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(client.status.success());
    assert_eq!(line_request(line, "get a"), "VALUE a from twisted");
    assert_eq!(line_request(line, "get d"), "VALUE d Decimal('-2.50')");
    assert_eq!(line_request(line, "get fromline"), "GET_NOT_FOUND fromline");
    let (status, _, _) = server.terminate();
    assert!(status.success());
}

/// Twisted's client on our ipc-server: `get` gives back whatever it is given, in its own type
/// (the decimal and date types included), and anything else is `NoSuchMethod`.
#[test]
fn a_twisted_client_calls_our_ipc_server() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = Listening::start("ipc-server", &["--port", "0"], 1);
    let port = server.port(0).to_string();
    let calls = [
        "('get', b'key')",
        "('get', 'héllo')",
        "('get', [1, (2.5, None), {'k': {b'v'}}, True])",
        "('get', (Decimal('1E+3'), date(2024, 2, 29), time(12, 0, 0, 1), timedelta(0)))",
        "('get', 2**100)",
        "('get',)",
        "('put', b'x')",
    ];
    let client = call_store(&python, &port, &calls);
    assert_eq!(
        lines(&client.stdout),
        [
            "get: b'key'",
            "get: 'héllo'",
            "get: [1, (2.5, None), {'k': {b'v'}}, True]",
            "get: (Decimal('1E+3'), datetime.date(2024, 2, 29), datetime.time(12, 0, 0, 1), \
             datetime.timedelta(0))",
            "get: 1267650600228229401496703205376",
            "get: builtins.TypeError: Echo.remote_get() takes 2 positional arguments",
            "put: twisted.spread.flavors.NoSuchMethod: No such method: remote_put",
        ],
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(client.status.success());
    server.terminate();
}

/// Twisted's key-value client making `calls` (Python tuples, the method's name first) on the PB
/// root at `port`, one after the other; it prints a line per call.
fn call_store(python: &Path, port: &str, calls: &[&str]) -> Output {
    twisted::run(
        python,
        "keyvalue_pb_client.py",
        &[&[port][..], calls].concat(),
    )
}

/// Sends `request` over the training's line protocol on `port` and gives the reply line, without
/// its CR LF.
fn line_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "{request}\r\n").unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    reply.trim_end_matches("\r\n").to_owned()
}

/// Our pbecho-client against Twisted's pbecho server: the same lines as Twisted's own client, and
/// the server sees one echo and one logout.
#[test]
fn our_pbecho_client_calls_a_twisted_server() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = PythonServer::start(&python, "pbecho_server.py");
    let address = format!("127.0.0.1:{}", server.port);
    let client = run("pbecho-client", &[&address]);
    assert_eq!(lines(&client.stdout), PBECHO_SESSION);
    assert!(client.stderr.is_empty());
    assert!(client.status.success());
    assert_eq!(server.next_line(), "echoing hello world");
    assert!(server.next_line().ends_with("> logged out"));

    let client = run("pbecho-client", &[&address, "--password", "wrong"]);
    assert!(client.stdout.is_empty());
    assert_eq!(
        lines(&client.stderr),
        ["pbecho-client: error: login refused for guest: wrong user name or password"]
    );
    assert_eq!(client.status.code(), Some(1));
}

/// Our ipc-client against Twisted's ipcs.py and keyvalue_pb.py.
#[test]
fn our_ipc_client_calls_twisted_servers() {
    let Some(python) = twisted::python() else {
        return;
    };
    let ipcs = PythonServer::start(&python, "ipcs.py");
    let client = run("ipc-client", &["--server", &ipcs.arg()]);
    assert_eq!(lines(&client.stdout), ["key"]);
    assert!(client.status.success());
    let client = run("ipc-client", &["--server", &ipcs.arg(), "--bytes", "x y"]);
    assert_eq!(lines(&client.stdout), ["b'x y'"]);

    let store = PythonServer::start(&python, "keyvalue_pb_server.py");
    let call = |args: &[&str]| {
        let output = run(
            "ipc-client",
            &[&["--server", &store.arg()][..], args].concat(),
        );
        (
            lines(&output.stdout),
            lines(&output.stderr),
            output.status.code(),
        )
    };
    assert_eq!(
        call(&["--method", "set", "a", "two words"]),
        (vec!["a".to_owned()], vec![], Some(0))
    );
    assert_eq!(
        call(&["--method", "get", "a"]),
        (vec!["two words".to_owned()], vec![], Some(0))
    );
    assert_eq!(
        call(&["--bytes", "--method", "get", "a"]),
        (
            vec![],
            vec!["ipc-client: builtins.KeyError: b'a'".to_owned()],
            Some(1)
        )
    );
    assert_eq!(
        call(&["--method", "delete", "a"]),
        (vec!["None".to_owned()], vec![], Some(0))
    );
    assert_eq!(
        call(&["--method", "nosuch"]),
        (
            vec![],
            vec![
                "ipc-client: twisted.spread.flavors.NoSuchMethod: No such method: remote_nosuch"
                    .to_owned()
            ],
            Some(1)
        )
    );
}

/// keyvalue-web2's pages over Twisted's keyvalue_pb.py: the same pages as over ours.
#[test]
fn our_keyvalue_web2_uses_a_twisted_store() {
    let Some(python) = twisted::python() else {
        return;
    };
    let store = PythonServer::start(&python, "keyvalue_pb_server.py");
    let address = format!("127.0.0.1:{}", store.port);
    let web = Listening::start("keyvalue-web2", &["--port", "0", "--store", &address], 1);
    web.wait_for_line(|line| line.ends_with(" [-] listening"));
    let port = web.port(0);
    let body = |target: &str| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET {target} HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split_once("\r\n\r\n").unwrap().1.to_owned()
    };
    assert_eq!(body("/set?key=a&value=two+words"), "a");
    assert_eq!(body("/get?key=a"), "two words");
    assert_eq!(body("/get?key=b"), "NOT FOUND: 'b'");
    assert_eq!(body("/delete?key=a"), "a");
    assert_eq!(body("/delete?key=a"), "NOT FOUND: 'a'");
}
