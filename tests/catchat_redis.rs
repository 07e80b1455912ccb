//! Two `catchat` servers sharing one chat over a real Redis (`--redis`): messages cross from one
//! server's users to the other's, the banner is one, `/users/` counts everyone; when Redis goes
//! away each server keeps its own users chatting, refuses banner changes it could not share, and
//! joins again when Redis is back.
//!
//! The test starts its own `redis-server` (Debian's package; `scripts/ci/install-deps.sh` installs
//! it) on a free port, with nothing saved to disk. Without it the test says so and passes.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{Listening, closed_port};

const WAIT: Duration = Duration::from_secs(20);

/// A Redis server of the test's own, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts `redis-server` on `port` and waits until it answers; `None` when there is no
    /// `redis-server` on this machine.
    fn start(port: u16) -> Option<Redis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis { child, port };
        wait_until("redis-server to answer", || redis.ping());
        Some(redis)
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut answer = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A catchat sharing the chat through `redis`, once it says so in its log.
fn catchat(redis: &str) -> Listening {
    let server = Listening::start(
        "catchat",
        &["--chat", "tcp:0", "--api", "tcp:0", "--redis", redis],
        2,
    );
    server.wait_for_line(|line| line.contains("Sharing the chat through Redis at"));
    server
}

fn join(server: &Listening, banner: &[u8]) -> TcpStream {
    let mut user = TcpStream::connect(("127.0.0.1", server.port(0))).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    expect(&mut user, banner);
    user
}

fn expect(user: &mut TcpStream, data: &[u8]) {
    let mut got = vec![0; data.len()];
    user.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(data));
}

/// One HTTP request to a server's API; the status and the body.
fn api(server: &Listening, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port(1))).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn users(server: &Listening) -> String {
    api(server, "GET", "/users/", "").1
}

#[test]
fn two_servers_share_one_chat_through_redis_and_survive_it_going_away() {
    let port = closed_port();
    let Some(redis) = Redis::start(port) else {
        eprintln!(
            "SKIPPED: redis-server is not installed (scripts/ci/install-deps.sh installs it)"
        );
        return;
    };
    let (one, two) = (catchat(&redis.url()), catchat(&redis.url()));
    let welcome = b"Welcome to NetCatChat!\r\n";
    let mut alice = join(&one, welcome);
    let mut bob = join(&two, welcome);
    let mut carol = join(&one, welcome);

    // A message reaches the users of both servers, once each, and never its sender.
    alice.write_all(b"hello from one\n").unwrap();
    expect(&mut carol, b"hello from one\n");
    expect(&mut bob, b"hello from one\n");
    bob.write_all(b"hello from two\n").unwrap();
    expect(&mut alice, b"hello from two\n");
    expect(&mut carol, b"hello from two\n");
    carol.write_all(b"\x00binary\xff\n").unwrap();
    expect(&mut alice, b"\x00binary\xff\n");
    expect(&mut bob, b"\x00binary\xff\n");

    // Every server counts every user.
    let three = "{\n    \"users\": 3\n}\n";
    wait_until("3 users on both", || {
        users(&one) == three && users(&two) == three
    });

    // One banner: set on one server, it greets the next users of the other.
    let (status, body) = api(&one, "POST", "/banner/", r#"{"banner": "Shared!"}"#);
    assert_eq!((status, body.as_str()), (200, r#"{"status": "SUCCESS"}"#));
    let shared = "{\n    \"banner\": \"Shared!\\r\\n\"\n}\n";
    wait_until("the banner on two", || {
        api(&two, "GET", "/banner/", "").1 == shared
    });
    drop(join(&two, b"Shared!\r\n"));

    // Redis goes away: each server says so, and its own users go on chatting.
    drop(redis);
    for server in [&one, &two] {
        server.wait_for_line(|line| line.contains("Lost Redis at"));
    }
    alice.write_all(b"still here\n").unwrap();
    expect(&mut carol, b"still here\n");
    let (status, body) = api(&one, "POST", "/banner/", r#"{"banner": "Lost"}"#);
    assert_eq!(status, 503);
    assert_eq!(
        body,
        r#"{"status": "ERROR", "reason": "the servers' shared state (Redis) cannot be reached"}"#
    );
    assert_eq!(users(&one), "{\n    \"users\": 2\n}\n");

    // Redis is back (empty): both servers join it again and the chat is one again.
    let redis = Redis::start(port).unwrap();
    for server in [&one, &two] {
        wait_until("the second connection", || {
            let log = String::from_utf8_lossy(&server.stdout_so_far()).into_owned();
            log.matches("Sharing the chat through Redis at").count() == 2
        });
    }
    bob.write_all(b"back again\n").unwrap();
    expect(&mut alice, b"back again\n");
    expect(&mut carol, b"back again\n");
    wait_until("3 users again", || users(&two) == three);
    drop(redis);
}
