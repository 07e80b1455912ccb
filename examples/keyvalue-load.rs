//! The load of the key-value benchmark (scripts/bench/keyvalue.sh): CONNECTIONS clients, each
//! sending one request at a time and waiting for its answer, for SECONDS seconds: 90% gets and 10%
//! sets of 100-byte values, on keys drawn at random among 10,000 (all of them set once before the
//! clock starts, so that gets find their keys). It reports the requests answered per second.
//!
//! ```text
//! cargo run --release --example keyvalue-load -- PROTOCOL PORT [CONNECTIONS] [SECONDS]   # 50 5
//! ```
//!
//! PROTOCOL is `memcached` (its text protocol: a real memcached, or `keyvalue-server --protocol
//! memcached`) or `line` (the training's line protocol: `keyvalue-server`, Twisted's
//! `keyvalue_server.py`). Every answer is checked (a get must find its key and return the
//! 100-byte value); any other answer counts as an error, and the exit status is then 1.
//! tokio on one thread, one task per connection.

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use common::cli::address::connect_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many keys the requests draw from.
const KEYS: u32 = 10_000;

/// The length of every value.
const VALUE_SIZE: usize = 100;

/// One request in this many is a set.
const SET_EVERY: u32 = 10;

/// The load of the key-value benchmark (scripts/bench/keyvalue.sh): CONNECTIONS clients of a
/// key-value server on 127.0.0.1, each sending one request at a time (90% gets, 10% sets of
/// 100-byte values) for SECONDS seconds. Reports the requests answered per second; any wrong answer
/// makes the exit status 1.
#[derive(Debug, Parser)]
#[command(name = "keyvalue-load")]
struct Options {
    /// The protocol the server speaks: memcached's text protocol, or the training's line protocol.
    #[arg(value_enum)]
    protocol: Protocol,

    /// The server's port on 127.0.0.1.
    #[arg(value_parser = connect_port)]
    port: u16,

    /// How many clients, each with its connection.
    #[arg(default_value_t = 50)]
    connections: usize,

    /// For how many seconds.
    #[arg(default_value_t = 5)]
    seconds: u64,
}

/// The protocol spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    Memcached,
    Line,
}

/// What the clients counted together.
#[derive(Default)]
struct Totals {
    requests: Cell<u64>,
    errors: Cell<u64>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(
        &runtime,
        run(
            options.protocol,
            options.port,
            options.connections,
            Duration::from_secs(options.seconds),
        ),
    )
}

async fn run(protocol: Protocol, port: u16, connections: usize, length: Duration) -> ExitCode {
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                streams.push(stream);
            }
            Err(error) => {
                eprintln!("keyvalue-load: cannot connect: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let value = vec![b'v'; VALUE_SIZE];
    // Every key set once, so that the gets find them.
    let mut client = Client::new(protocol, streams.pop().unwrap());
    for key in 0..KEYS {
        if !client.request(key, Some(&value)).await {
            eprintln!("keyvalue-load: the server refused the first sets");
            return ExitCode::FAILURE;
        }
    }
    streams.push(client.stream);
    let totals = Rc::new(Totals::default());
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::new();
    for (index, stream) in streams.into_iter().enumerate() {
        let totals = Rc::clone(&totals);
        let value = value.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut client = Client::new(protocol, stream);
            let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ (index as u64 + 1));
            while Instant::now() < deadline {
                let draw = random.next();
                let key = (draw % u64::from(KEYS)) as u32;
                let set = (draw >> 32).is_multiple_of(u64::from(SET_EVERY));
                let good = client.request(key, set.then_some(&value[..])).await;
                totals.requests.set(totals.requests.get() + 1);
                if !good {
                    totals.errors.set(totals.errors.get() + 1);
                    if client.closed {
                        return;
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (requests, errors) = (totals.requests.get(), totals.errors.get());
    println!(
        "{requests} requests in {elapsed:.3} s: {:.0}/s; errors {errors}",
        requests as f64 / elapsed
    );
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// xorshift64*: a cheap, good enough source of keys.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One connection, one request at a time.
struct Client {
    protocol: Protocol,
    stream: TcpStream,
    request: Vec<u8>,
    answer: Vec<u8>,
    closed: bool,
}

impl Client {
    fn new(protocol: Protocol, stream: TcpStream) -> Client {
        Client {
            protocol,
            stream,
            request: Vec::with_capacity(256),
            answer: Vec::with_capacity(4096),
            closed: false,
        }
    }

    /// Gets `key`, or sets it to `value`; whether the answer was the expected one.
    async fn request(&mut self, key: u32, value: Option<&[u8]>) -> bool {
        use std::io::Write;
        self.request.clear();
        let verb = if value.is_some() { "set" } else { "get" };
        let _ = write!(self.request, "{verb} key:{key}");
        match (self.protocol, value) {
            (_, None) => {}
            (Protocol::Memcached, Some(value)) => {
                let _ = write!(self.request, " 0 0 {}\r\n", value.len());
                self.request.extend_from_slice(value);
            }
            (Protocol::Line, Some(value)) => {
                self.request.push(b' ');
                self.request.extend_from_slice(value);
            }
        }
        self.request.extend_from_slice(b"\r\n");
        if self.stream.write_all(&self.request).await.is_err() {
            self.closed = true;
            return false;
        }
        // Read until the answer is whole: memcached's get ends with END, the rest with a line end.
        let end: &[u8] = match (self.protocol, value) {
            (Protocol::Memcached, None) => b"END\r\n",
            _ => b"\r\n",
        };
        self.answer.clear();
        let mut chunk = [0u8; 4096];
        while !(self.answer.ends_with(end) || is_error(&self.answer)) {
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    self.closed = true;
                    return false;
                }
                Ok(count) => self.answer.extend_from_slice(&chunk[..count]),
            }
        }
        match value {
            Some(_) => self.answer == b"STORED\r\n",
            None => {
                // The value is the last thing before the line end (and memcached's END).
                let tail = match self.protocol {
                    Protocol::Memcached => b"\r\nEND\r\n".len(),
                    Protocol::Line => b"\r\n".len(),
                };
                let Some(start) = self.answer.len().checked_sub(tail + VALUE_SIZE) else {
                    return false;
                };
                self.answer.starts_with(b"VALUE ")
                    && self.answer[start..start + VALUE_SIZE] == [b'v'; VALUE_SIZE]
            }
        }
    }
}

/// Whether `answer` is a whole error line of either protocol (`ERROR`, `CLIENT_ERROR ...`,
/// `SERVER_ERROR ...`), which ends an answer whatever was asked.
fn is_error(answer: &[u8]) -> bool {
    (answer.starts_with(b"ERROR")
        || answer.starts_with(b"CLIENT_ERROR")
        || answer.starts_with(b"SERVER_ERROR"))
        && answer.ends_with(b"\r\n")
}
