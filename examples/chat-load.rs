//! The load of the chat benchmark (scripts/bench/chat.sh): USERS users join a chat server, one of
//! them says RATE short messages a second for SECONDS seconds, and every other user checks that
//! each message reaches it, once, in order. It reports the messages delivered per second and, for
//! each message, the time from its sending to its delivery to the last user (p50, p99).
//!
//! ```text
//! cargo run --release --example chat-load -- PORT [USERS] [RATE] [SECONDS]   # 1000 1000 10
//! ```
//!
//! Each message is its number in eight digits and a newline; the banner (one line) is skipped.
//! tokio on one thread, one task per user.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::connect_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The load of the chat benchmark (scripts/bench/chat.sh): USERS users join a chat server on
/// 127.0.0.1, one of them says RATE messages a second for SECONDS seconds, and every other user
/// checks that each reaches it, once, in order. Reports the messages delivered per second and the
/// delivery times (p50, p99).
#[derive(Debug, Parser)]
#[command(name = "chat-load")]
struct Options {
    /// The chat server's port on 127.0.0.1.
    #[arg(value_parser = connect_port)]
    port: u16,

    /// How many users join.
    #[arg(default_value_t = 1000)]
    users: usize,

    /// How many messages a second the one speaker says.
    #[arg(default_value_t = 1000)]
    rate: u64,

    /// For how many seconds.
    #[arg(default_value_t = 10)]
    seconds: u64,
}

/// The length of one message: eight digits and a newline.
const MESSAGE: usize = 9;

/// What the receivers found, per message: how many got it, and when the last one did.
struct Deliveries {
    count: Vec<u32>,
    last: Vec<Option<Instant>>,
    sent: Vec<Option<Instant>>,
    /// Messages out of order or garbled.
    wrong: u64,
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
        run(options.port, options.users, options.rate, options.seconds),
    )
}

async fn run(port: u16, users: usize, rate: u64, seconds: u64) -> ExitCode {
    let total = (rate * seconds) as usize;
    let deliveries = Rc::new(RefCell::new(Deliveries {
        count: vec![0; total],
        last: vec![None; total],
        sent: vec![None; total],
        wrong: 0,
    }));
    let mut streams = Vec::with_capacity(users);
    for _ in 0..users {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => streams.push(stream),
            Err(error) => {
                eprintln!("chat-load: cannot connect: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut sender = streams.remove(0);
    skip_banner(&mut sender).await;
    let mut receivers = Vec::new();
    for mut stream in streams {
        skip_banner(&mut stream).await;
        let deliveries = Rc::clone(&deliveries);
        receivers.push(tokio::task::spawn_local(async move {
            receive(stream, deliveries, total).await;
        }));
    }
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for number in 0..total {
        ticks.tick().await;
        deliveries.borrow_mut().sent[number] = Some(Instant::now());
        if sender
            .write_all(format!("{number:08}\n").as_bytes())
            .await
            .is_err()
        {
            eprintln!("chat-load: the server closed the sender");
            return ExitCode::FAILURE;
        }
    }
    let sending = started.elapsed();
    let waiting = tokio::time::timeout(Duration::from_secs(30), async {
        for receiver in receivers {
            let _ = receiver.await;
        }
    });
    let complete = waiting.await.is_ok();
    let elapsed = started.elapsed();
    let deliveries = deliveries.borrow();
    let delivered: u64 = deliveries.count.iter().map(|&count| u64::from(count)).sum();
    let expected = (total * (users - 1)) as u64;
    let mut latencies: Vec<f64> = (0..total)
        .filter_map(|number| {
            let sent = deliveries.sent[number]?;
            let last = deliveries.last[number]?;
            Some(last.duration_since(sent).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "delivered {delivered} of {expected} in {:.3} s (sending took {:.3} s): {:.0}/s; \
         send-to-last-delivery p50 {:.2} ms p99 {:.2} ms; wrong {}; complete {complete}",
        elapsed.as_secs_f64(),
        sending.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        deliveries.wrong,
    );
    if delivered == expected && deliveries.wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads the banner line.
async fn skip_banner(stream: &mut TcpStream) {
    let mut byte = [0];
    while stream.read_exact(&mut byte).await.is_ok() && byte[0] != b'\n' {}
}

/// Reads messages until all `total` have come (or the connection ends), recording each.
async fn receive(mut stream: TcpStream, deliveries: Rc<RefCell<Deliveries>>, total: usize) {
    let mut buffer = vec![0; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut expected = 0usize;
    while expected < total {
        let count = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => count,
        };
        let now = Instant::now();
        pending.extend_from_slice(&buffer[..count]);
        let whole = pending.len() / MESSAGE * MESSAGE;
        let mut deliveries = deliveries.borrow_mut();
        for message in pending[..whole].chunks(MESSAGE) {
            let number = std::str::from_utf8(&message[..8])
                .ok()
                .and_then(|digits| digits.parse::<usize>().ok());
            if number != Some(expected) || message[8] != b'\n' {
                deliveries.wrong += 1;
            }
            if expected < total {
                deliveries.count[expected] += 1;
                deliveries.last[expected] = Some(now);
            }
            expected += 1;
        }
        pending.drain(..whole);
    }
}
