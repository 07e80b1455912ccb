//! `keyvalue-server --protocol memcached` as real memcached tools and clients see it: memcached's
//! own conformance tests (`memccapable`), the same bytes as a real `memcached` for the same
//! requests, values of any bytes, pipelining and 1-byte writes, and a server that keeps its memory
//! bounded whatever a client sends.
//!
//! `memccapable` (libmemcached-tools) and `memcached` are Debian's packages, which
//! `scripts/ci/install-deps.sh` installs. A test that needs one that is missing says so and passes.
//! Expiry times are tested on a paused clock, in `common::keyvalue::memcached`'s own tests.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use support::Listening;
use support::memcached::Memcached;

fn start_server(args: &[&str]) -> Listening {
    let mut all = vec!["--protocol", "memcached", "--port", "0"];
    all.extend_from_slice(args);
    Listening::start("keyvalue-server", &all, 1)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends `request` and reads as many bytes as `expected` has; they must be those.
fn exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).unwrap();
    let mut got = vec![0; expected.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "after {:?}",
        String::from_utf8_lossy(&request[..request.len().min(200)])
    );
}

/// Sends `request`, half-closes, and reads everything the server sends until it closes.
fn whole_answer(port: u16, request: &[u8], one_byte_at_a_time: bool) -> Vec<u8> {
    let mut stream = connect(port);
    stream.set_nodelay(true).unwrap();
    if one_byte_at_a_time {
        for byte in request {
            stream.write_all(&[*byte]).unwrap();
        }
    } else {
        stream.write_all(request).unwrap();
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// The peak resident memory of a process, in bytes.
fn peak_memory(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn installed(command: &str, package: &str) -> bool {
    let found = Command::new(command)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!(
            "SKIPPED: {command} is not installed ({package}; scripts/ci/install-deps.sh installs it)"
        );
    }
    found
}

#[test]
fn memccapable_passes_every_ascii_test() {
    if !installed("memccapable", "libmemcached-tools") {
        return;
    }
    let server = start_server(&[]);
    let output = Command::new("memccapable")
        .args(["-h", "127.0.0.1", "-p", &server.port(0).to_string(), "-a"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"All tests passed"), "{text}");
    let tests = &lines[..lines.len() - 1];
    assert!(tests.len() >= 27, "{text}");
    for line in tests {
        assert!(
            line.starts_with("ascii ") && line.ends_with("[pass]"),
            "{line}"
        );
    }
    assert!(output.status.success());
}

/// Requests whose answers are the same, byte for byte, from memcached 1.6 and from us.
const SESSION: &[u8] = b"set a 0 0 5\r\nhello\r\nget a\r\nget a nothing a\r\n\
    add a 0 0 1\r\nx\r\nadd b 7 0 2\r\nbb\r\nreplace c 0 0 1\r\nx\r\nreplace b 3 0 1\r\nB\r\n\
    append b 9 0 2\r\n+1\r\nprepend b 9 0 2\r\n0-\r\nget b\r\nappend c 0 0 1\r\nx\r\n\
    cas c 0 0 1 1\r\nx\r\ndelete a\r\ndelete a\r\ndelete b 0\r\ndelete b noreply\r\n\
    set bin 0 0 9\r\n\r\nget x\r\n\r\nget bin\r\n\
    set n 4294967295 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\n\
    incr n 18446744073709551615\r\nincr n 2\r\nincr bin 1\r\ndecr c 1\r\n\
    incr n x\r\nincr n\r\ntouch n 100\r\ntouch c 100\r\ntouch n x\r\n\
    set e 0 -1 1\r\nx\r\nget e\r\nset e 0 0 0\r\n\r\nget e\n\
    set a 0 0 1 noreply\r\nx\r\nappend a 0 0 1 noreply\r\ny\r\nadd a 0 0 1 noreply\r\nq\r\n\
    get a\r\nset a 0 0 1\r\nxyz\r\nget a\r\n\
    set a 0 0 x\r\nx\r\nset a 0 0\r\nx\r\ndelete a b\r\nflush_all x\r\nverbosity\r\n\
    verbosity 1\r\nversion\r\nbogus\r\n\r\nget\r\nflush_all\r\nget n e\r\nquit\r\n";

#[test]
fn the_same_replies_as_a_real_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let server = start_server(&[]);
    let theirs = whole_answer(memcached.port, SESSION, false);
    let ours = whole_answer(server.port(0), SESSION, false);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    assert!(ours.starts_with(b"STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\n"));
    assert!(ours.ends_with(b"VERSION 1.6.18\r\nERROR\r\nERROR\r\nERROR\r\nOK\r\nEND\r\n"));
}

#[test]
fn pipelined_or_one_byte_at_a_time_the_answers_are_the_same() {
    let server = start_server(&[]);
    let at_once = whole_answer(server.port(0), SESSION, false);
    let byte_by_byte = whole_answer(server.port(0), SESSION, true);
    assert_eq!(
        String::from_utf8_lossy(&byte_by_byte),
        String::from_utf8_lossy(&at_once)
    );
}

#[test]
fn values_are_any_bytes() {
    let server = start_server(&[]);
    let mut client = connect(server.port(0));
    let every_byte: Vec<u8> = (0..=255).cycle().take(100_000).collect();
    let request = [b"set bin 3 0 100000\r\n", &every_byte[..], b"\r\n"].concat();
    exchange(&mut client, &request, b"STORED\r\n");
    let answer = [b"VALUE bin 3 100000\r\n", &every_byte[..], b"\r\nEND\r\n"].concat();
    exchange(&mut client, b"get bin\r\n", &answer);
    // A value made of protocol lines is only a value.
    exchange(
        &mut client,
        b"set lines 0 0 13\r\nEND\r\nSTORED\r\n\r\n",
        b"STORED\r\n",
    );
    exchange(
        &mut client,
        b"get lines\r\n",
        b"VALUE lines 0 13\r\nEND\r\nSTORED\r\n\r\nEND\r\n",
    );
}

#[test]
fn a_value_too_large_is_dropped_as_it_arrives_and_the_connection_goes_on() {
    let server = start_server(&["--max-item-size", "1K"]);
    let mut client = connect(server.port(0));
    exchange(&mut client, b"set k 0 0 1024\r\n", b"");
    client.write_all(&[b'x'; 1024]).unwrap();
    exchange(&mut client, b"\r\n", b"STORED\r\n");
    // 64 MiB declared and sent, in pieces: refused at once, and never held in memory.
    let size = 64 << 20;
    exchange(
        &mut client,
        format!("set k 0 0 {size}\r\n").as_bytes(),
        b"SERVER_ERROR object too large for cache\r\n",
    );
    let piece = vec![b'y'; 1 << 20];
    for _ in 0..64 {
        client.write_all(&piece).unwrap();
    }
    // The failed set took the old value away, as memcached's does.
    exchange(
        &mut client,
        b"\r\nget k\r\nversion\r\n",
        b"END\r\nVERSION 1.6.18\r\n",
    );
    assert!(
        peak_memory(server.pid()) < 32 << 20,
        "the server's memory grew to {} bytes",
        peak_memory(server.pid())
    );
}

#[test]
fn a_flood_of_garbage_keeps_memory_bounded_and_others_served() {
    let server = start_server(&[]);
    let port = server.port(0);
    // One client sends 256 MiB of garbage lines and reads none of the answers: the server stops
    // reading it once its answers pile up, and its sending stalls.
    let flooder = thread::spawn(move || {
        let mut stream = connect(port);
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let lines = b"garbage\r\n".repeat(1 << 16);
        let mut sent = 0usize;
        while sent < 256 << 20 {
            match stream.write(&lines) {
                Ok(count) => sent += count,
                Err(_) => break,
            }
        }
        (stream, sent)
    });
    let (flood, sent) = flooder.join().unwrap();
    assert!(sent < 256 << 20, "the server read all of the flood");
    // Meanwhile the others are served.
    let mut other = connect(port);
    exchange(
        &mut other,
        b"set k 0 0 2\r\nok\r\nget k\r\n",
        b"STORED\r\nVALUE k 0 2\r\nok\r\nEND\r\n",
    );
    let peak = peak_memory(server.pid());
    assert!(peak < 32 << 20, "the server's memory grew to {peak} bytes");
    drop(flood);
    // An endless line is no command: the connection is closed.
    let mut endless = connect(port);
    endless.write_all(&[b'x'; 4096]).unwrap();
    let mut answer = Vec::new();
    endless.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"CLIENT_ERROR line too long\r\n");
    exchange(&mut other, b"get k\r\n", b"VALUE k 0 2\r\nok\r\nEND\r\n");
}

#[test]
fn stats_count_what_was_done() {
    let server = start_server(&["--max-memory", "1M"]);
    let mut client = connect(server.port(0));
    exchange(
        &mut client,
        b"set a 0 0 3\r\nabc\r\nget a b\r\nincr a 1\r\ntouch a 0\r\n",
        b"STORED\r\nVALUE a 0 3\r\nabc\r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nTOUCHED\r\n",
    );
    client.write_all(b"stats\r\n").unwrap();
    let mut text = Vec::new();
    let mut byte = [0];
    while !text.ends_with(b"END\r\n") {
        client.read_exact(&mut byte).unwrap();
        text.push(byte[0]);
    }
    let text = String::from_utf8(text).unwrap();
    let stat = |name: &str| -> String {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("STAT {name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    assert_eq!(stat("pid"), server.pid().to_string());
    assert_eq!(stat("version"), "1.6.18");
    for (name, value) in [
        ("curr_connections", "1"),
        ("total_connections", "1"),
        ("cmd_get", "2"),
        ("get_hits", "1"),
        ("get_misses", "1"),
        ("cmd_set", "1"),
        ("cmd_touch", "1"),
        ("touch_hits", "1"),
        ("curr_items", "1"),
        ("total_items", "1"),
        ("bytes", "4"),
        ("limit_maxbytes", "1048576"),
        ("threads", "1"),
        ("evictions", "0"),
    ] {
        assert_eq!(stat(name), value, "{name}");
    }
    let time: u64 = stat("time").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(time.abs_diff(now) <= 2);
    exchange(&mut client, b"stats reset\r\n", b"RESET\r\n");
}

#[test]
fn verbose_logs_the_commands_and_quiet_is_the_default() {
    let server = start_server(&["--verbose"]);
    let mut client = connect(server.port(0));
    exchange(
        &mut client,
        b"set a 0 0 1\r\nx\r\nget a\r\n",
        b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
    );
    server.wait_for_line(|line| line.ends_with("] R get a"));
    let (_, out, _) = server.terminate();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("] R set a 0 0 1\n"), "{out}");
    assert!(!out.contains("R x"), "{out}");

    let server = start_server(&[]);
    let mut client = connect(server.port(0));
    exchange(&mut client, b"get a\r\n", b"END\r\n");
    let (status, out, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains(" R "), "{out}");
    assert!(out.contains("MemcachedFactory starting on "), "{out}");
}

#[test]
fn options_of_the_other_protocol_are_usage_errors() {
    for args in [
        &["--protocol", "memcached", "--ttl", "5"][..],
        &["--max-item-size", "1K"],
        &["--verbose"],
    ] {
        let output = Command::new(support::program("keyvalue-server"))
            .args(args)
            .args(["--port", "0"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.starts_with("error: "), "{error}");
    }
}
