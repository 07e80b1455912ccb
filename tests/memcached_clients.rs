//! The training's memcached clients (`memget`, `memset`, `memset2`, `txmemcached`) and the
//! library's `MemcacheClient`, against a real memcached: exact output and exit status; then
//! against a refused port, a server that never answers, and servers that answer an error or hang
//! up.
//!
//! The tests start their own `memcached` (Debian's package; `.ci/run` installs it) on a free port
//! and stop it. Without it they say so and pass.

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use common::defer::{Deferred, Failure};
use common::memcache::{ClientOptions, MemcacheClient, MemcacheError};
use common::protocol::ClientCreator;
use common::reactor::Reactor;
use support::memcached::Memcached;
use support::{Listening, closed_port};

const WAIT: Duration = Duration::from_secs(20);

/// Runs `program` with `args`: (exit status, stdout, stderr).
fn run(program: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = support::run(program, args);
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn says(status: i32, stdout: &str, stderr: &str) -> (Option<i32>, String, String) {
    (Some(status), stdout.to_owned(), stderr.to_owned())
}

#[test]
fn memset_and_memget_against_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let at = memcached.address();
    assert_eq!(
        run("memset", &[&at, "greeting", "hello world"]),
        says(0, "", "")
    );
    assert_eq!(
        run("memget", &[&at, "greeting"]),
        says(0, "hello world\n", "")
    );
    // A value is data, not a line: a CR LF inside it travels and prints as it is.
    assert_eq!(run("memset", &[&at, "crlf", "one\r\ntwo"]), says(0, "", ""));
    assert_eq!(run("memget", &[&at, "crlf"]), says(0, "one\r\ntwo\n", ""));
    // A value larger than one read: raw mode gathers it over many.
    let big = "0123456789".repeat(10_000);
    assert_eq!(run("memset", &[&at, "big", &big]), says(0, "", ""));
    assert_eq!(
        run("memget", &[&at, "big"]),
        says(0, &format!("{big}\n"), "")
    );
    assert_eq!(run("memset", &[&at, "empty", ""]), says(0, "", ""));
    assert_eq!(run("memget", &[&at, "empty"]), says(0, "\n", ""));
    assert_eq!(
        run("memget", &[&at, "nokey"]),
        says(1, "", "memget: no such key: nokey\n")
    );

    assert_eq!(run("memset2", &[&at, "greeting", "hi"]), says(0, "", ""));
    assert_eq!(run("memget", &[&at, "greeting"]), says(0, "hi\n", ""));
    // memcached's CLIENT_ERROR for a key with a space: memset2 prints its message, as the
    // training's did; memset reports it as an error.
    assert_eq!(
        run("memset2", &[&at, "two words", "v"]),
        says(1, "bad command line format\n", "")
    );
    let long_key = "k".repeat(251);
    assert_eq!(
        run("memset2", &[&at, &long_key, "v"]),
        says(1, "bad command line format\n", "")
    );
    assert_eq!(
        run("memset", &[&at, "two words", "v"]),
        says(
            1,
            "",
            &format!("memset: error: {at}: answered CLIENT_ERROR bad command line format\n")
        )
    );
    assert_eq!(
        run("memget", &[&at, &long_key]),
        says(
            2,
            "",
            &format!("memget: error: {at}: answered CLIENT_ERROR bad command line format\n")
        )
    );
    // A line end in the key would smuggle a second command: refused before connecting.
    let (status, out, err) = run("memset", &[&at, "k\r\nflush_all", "v"]);
    assert_eq!((status, out.as_str()), (Some(2), ""));
    assert!(err.starts_with("error: the KEY must not"), "{err}");
}

#[test]
fn txmemcached_runs_its_demo_against_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let shown = "['a', ('a', '1'), 'a', ('a', '2')]\n";
    assert_eq!(
        run("txmemcached", &["--server", &memcached.address()]),
        says(0, &format!("{shown}{shown}"), "")
    );
}

#[test]
fn a_refused_connection_is_one_line_naming_the_server() {
    let at = format!("127.0.0.1:{}", closed_port());
    let refused = "Connection was refused by other side: 111: Connection refused.";
    for (program, args, status) in [
        ("memget", vec![at.as_str(), "k"], 2),
        ("memset", vec![at.as_str(), "k", "v"], 1),
        ("memset2", vec![at.as_str(), "k", "v"], 1),
        ("txmemcached", vec!["--server", at.as_str()], 1),
    ] {
        assert_eq!(
            run(program, &args),
            says(status, "", &format!("{program}: error: {at}: {refused}\n"))
        );
    }
}

/// A server on a free port whose every connection reads the request, writes `answer` and then
/// either closes or (with `hang`) keeps the connection open until the client goes.
fn fake_server(answer: &'static [u8], hang: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else {
                return;
            };
            thread::spawn(move || {
                stream.set_read_timeout(Some(WAIT)).unwrap();
                let mut request = [0; 1024];
                if stream.read(&mut request).is_err() {
                    return;
                }
                let _ = stream.write_all(answer);
                if hang {
                    while matches!(stream.read(&mut request), Ok(n) if n > 0) {}
                }
            });
        }
    });
    address
}

#[test]
fn a_silent_server_times_every_program_out() {
    let at = fake_server(b"", true);
    assert_eq!(
        run("memset2", &["--timeout", "300ms", &at, "k", "v"]),
        says(1, "Timeout\n", "")
    );
    for (program, args, status) in [
        ("memget", vec![at.as_str(), "k"], 2),
        ("memset", vec![at.as_str(), "k", "v"], 1),
        ("txmemcached", vec!["--server", at.as_str()], 1),
    ] {
        let mut args = args;
        args.extend(["--timeout", "300ms"]);
        assert_eq!(
            run(program, &args),
            says(
                status,
                "",
                &format!("{program}: error: {at}: no answer within 300ms\n")
            )
        );
    }
}

#[test]
fn an_error_reply_a_line_too_long_or_a_hang_up_is_one_line_naming_the_server() {
    let at = fake_server(b"SERVER_ERROR out of memory storing object\r\n", true);
    let why = "answered SERVER_ERROR out of memory storing object";
    for (program, args, status) in [
        ("memget", vec![at.as_str(), "k"], 2),
        ("memset", vec![at.as_str(), "k", "v"], 1),
        ("memset2", vec![at.as_str(), "k", "v"], 1),
        ("txmemcached", vec!["--server", at.as_str()], 1),
    ] {
        assert_eq!(
            run(program, &args),
            says(status, "", &format!("{program}: error: {at}: {why}\n"))
        );
    }

    let at = fake_server(&[b'x'; 20_000], true);
    let why = "answered a line too long to read";
    for (program, args, status) in [
        ("memget", vec![at.as_str(), "k"], 2),
        ("memset", vec![at.as_str(), "k", "v"], 1),
        ("memset2", vec![at.as_str(), "k", "v"], 1),
    ] {
        assert_eq!(
            run(program, &args),
            says(status, "", &format!("{program}: error: {at}: {why}\n"))
        );
    }

    let at = fake_server(b"", false);
    let why = "closed the connection before answering";
    for (program, args, status) in [
        ("memget", vec![at.as_str(), "k"], 2),
        ("memset", vec![at.as_str(), "k", "v"], 1),
        ("memset2", vec![at.as_str(), "k", "v"], 1),
        ("txmemcached", vec!["--server", at.as_str()], 1),
    ] {
        assert_eq!(
            run(program, &args),
            says(status, "", &format!("{program}: error: {at}: {why}\n"))
        );
    }
}

/// Every request of `MemcacheClient` against memcached itself, pipelined: what each answered.
async fn every_request(client: MemcacheClient) -> Result<Vec<String>, Failure> {
    let mut said = Vec::new();
    let mut note = |what: String| said.push(what);
    // Written at once, answered in order.
    let (set, add, get) = (
        client.set(b"a", b"1", 5, 0),
        client.add(b"a", b"2", 0, 0),
        client.get(b"a"),
    );
    note(format!("{:?} {:?}", set.await?, add.await?));
    let item = get.await?.unwrap();
    note(format!("{} {:?}", item.flags, item.data));
    note(format!("{:?}", client.get(b"nokey").await?));
    note(format!("{:?}", client.replace(b"b", b"x", 0, 0).await?));
    note(format!("{:?}", client.append(b"a", b"0").await?));
    note(format!("{:?}", client.prepend(b"a", b"2").await?));
    let cas = client.gets(b"a").await?.unwrap().cas.unwrap();
    note(format!(
        "{:?}",
        client.cas(b"a", b"7", cas + 1, 0, 0).await?
    ));
    note(format!("{:?}", client.cas(b"a", b"7", cas, 0, 0).await?));
    note(format!("{:?}", client.cas(b"zz", b"7", cas, 0, 0).await?));
    note(format!(
        "{:?} {:?}",
        client.incr(b"a", 5).await?,
        client.decr(b"a", 100).await?
    ));
    note(format!("{:?}", client.incr(b"nokey", 1).await?));
    let many = client.get_multiple(&[b"a", b"nokey", b"a"]).await?;
    note(format!("{:?}", many.keys().collect::<Vec<_>>()));
    note(format!(
        "{} {}",
        client.touch(b"a", 100).await?,
        client.touch(b"nokey", 1).await?
    ));
    note(format!(
        "{} {}",
        client.delete(b"a").await?,
        client.delete(b"a").await?
    ));
    note(client.version().await?.split('.').count().to_string());
    let stats: BTreeMap<String, String> = client.stats(None).await?;
    note(stats.contains_key("pid").to_string());
    let refused = client.set(b"c", b"v", 0, 0);
    let failed = client.incr(b"c", 1);
    refused.await?;
    note(match failed.await {
        Err(failure) => format!("{}", failure.downcast_ref::<MemcacheError>().unwrap()),
        Ok(value) => format!("{value:?}"),
    });
    client.flush_all().await?;
    note(format!("{:?}", client.get(b"c").await?));
    Ok(said)
}

/// What `MemcacheClient` gets from the memcached-speaking server on `port`, request by request.
fn library_client_session(port: u16) -> Result<Vec<String>, String> {
    let reactor = Reactor::new().unwrap();
    let options = ClientOptions {
        timeout: Some(WAIT),
        ..ClientOptions::default()
    };
    let clock = reactor.clone();
    let said = Rc::new(RefCell::new(Err("never ran".to_owned())));
    let (stopper, record) = (reactor.clone(), Rc::clone(&said));
    ClientCreator::new(&reactor, move || MemcacheClient::new(&clock, options))
        .connect_tcp("127.0.0.1", port, WAIT)
        .add_callback(|client: MemcacheClient| {
            Deferred::from_future(async move {
                let said = every_request(client.clone()).await;
                client.close();
                said
            })
        })
        .add_both(move |outcome: Result<Vec<String>, Failure>| {
            *record.borrow_mut() = outcome.map_err(|failure| failure.to_string());
            stopper.stop().map_err(Failure::new)
        });
    reactor.run().unwrap();
    said.replace(Err(String::new()))
}

#[test]
fn the_library_client_gets_memcacheds_answers() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    assert_eq!(
        library_client_session(memcached.port),
        Ok(vec![
            "Stored NotStored".to_owned(),
            "5 [49]".to_owned(),
            "None".to_owned(),
            "NotStored".to_owned(),
            "Stored".to_owned(),
            "Stored".to_owned(),
            "Exists".to_owned(),
            "Stored".to_owned(),
            "NotFound".to_owned(),
            "Some(12) Some(0)".to_owned(),
            "None".to_owned(),
            "[[97]]".to_owned(),
            "true false".to_owned(),
            "true false".to_owned(),
            "3".to_owned(),
            "true".to_owned(),
            "CLIENT_ERROR cannot increment or decrement non-numeric value".to_owned(),
            "None".to_owned(),
        ])
    );
}

#[test]
fn the_library_client_gets_the_same_answers_from_our_server() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let ours = Listening::start(
        "keyvalue-server",
        &["--protocol", "memcached", "--port", "0"],
        1,
    );
    assert_eq!(
        library_client_session(ours.port(0)),
        library_client_session(memcached.port)
    );
}
