//! The load generator of scripts/bench/echo.sh: pushes bytes through an echo server and checks that
//! every one comes back. CONNECTIONS connections, CONCURRENCY of them open at a time, each writing
//! BYTES and reading BYTES back at the same time (the writing and reading halves of a connection
//! run side by side, so a server that echoes as it reads never stalls on a full socket buffer).
//!
//! ```text
//! cargo run --release --example echo-load -- PORT BYTES CONNECTIONS CONCURRENCY [TIMEOUT_SECONDS]
//! ```
//!
//! It prints `echoed B bytes over N connections in S seconds, client CPU C seconds` and exits with
//! status 0 only if every connection got back exactly what it sent within the timeout (default 600
//! seconds). It is a plain tokio program on one thread, so it costs the machine one core at most,
//! and it reports its own CPU time: near S means it, not the server, set the pace.

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::connect_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The load generator of scripts/bench/echo.sh: CONNECTIONS connections to an echo server on
/// 127.0.0.1, CONCURRENCY of them open at a time, each writing BYTES and reading them back; exits
/// with status 0 only if every byte came back within the timeout.
#[derive(Debug, Parser)]
#[command(name = "echo-load")]
struct Options {
    /// The echo server's port on 127.0.0.1.
    #[arg(value_parser = connect_port)]
    port: u16,

    /// How many bytes each connection sends (and must get back).
    bytes: u64,

    /// How many connections in all.
    connections: u64,

    /// How many of them are open at a time.
    concurrency: u64,

    /// Give up after this many seconds.
    #[arg(default_value_t = 600)]
    timeout_seconds: u64,
}

/// How much one read or write system call moves at most.
const CHUNK: usize = 64 * 1024;

/// The period of the byte pattern sent: a prime, so that it never lines up with the chunks and a
/// byte echoed at the wrong place shows.
const PERIOD: usize = 251;

fn main() -> ExitCode {
    let Options {
        port,
        bytes,
        connections,
        concurrency,
        timeout_seconds: timeout,
    } = Options::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("echo-load: {error}");
            return ExitCode::FAILURE;
        }
    };
    // One pattern for every connection, long enough to take a whole chunk from any offset.
    let pattern: Rc<[u8]> = (0..CHUNK + PERIOD).map(|i| (i % PERIOD) as u8).collect();
    let started = Instant::now();
    let left = Rc::new(Cell::new(connections));
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, async {
        let workers: Vec<_> = (0..concurrency.clamp(1, connections.max(1)))
            .map(|_| {
                let (left, pattern) = (Rc::clone(&left), Rc::clone(&pattern));
                tokio::task::spawn_local(async move {
                    while left.get() > 0 {
                        left.set(left.get() - 1);
                        echo_once(port, bytes, &pattern).await?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        let all = async {
            for worker in workers {
                worker.await.map_err(|error| error.to_string())??;
            }
            Ok(())
        };
        tokio::time::timeout(Duration::from_secs(timeout), all)
            .await
            .unwrap_or_else(|_| Err(format!("not done within {timeout} seconds")))
    });
    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => {
            println!(
                "echoed {} bytes over {connections} connections in {elapsed:.6} seconds, \
                 client CPU {:.3} seconds",
                bytes * connections,
                own_cpu_seconds()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("echo-load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One connection: writes `bytes` of the pattern while reading the echo, and checks that exactly
/// those bytes came back before the connection is closed.
async fn echo_once(port: u16, bytes: u64, pattern: &[u8]) -> Result<(), String> {
    let mut socket = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| format!("cannot connect to 127.0.0.1:{port}: {error}"))?;
    let (mut reading, mut writing) = socket.split();
    let send = async {
        let mut sent = 0;
        while sent < bytes {
            let offset = (sent % PERIOD as u64) as usize;
            let size = (bytes - sent).min(CHUNK as u64) as usize;
            writing
                .write_all(&pattern[offset..offset + size])
                .await
                .map_err(|error| format!("write failed after {sent} bytes: {error}"))?;
            sent += size as u64;
        }
        Ok::<(), String>(())
    };
    let receive = async {
        let mut buffer = vec![0; CHUNK];
        let mut received = 0;
        while received < bytes {
            let count = reading
                .read(&mut buffer)
                .await
                .map_err(|error| format!("read failed after {received} bytes: {error}"))?;
            if count == 0 {
                return Err(format!(
                    "the server closed after echoing {received} of {bytes} bytes"
                ));
            }
            let offset = (received % PERIOD as u64) as usize;
            if buffer[..count] != pattern[offset..offset + count] {
                return Err(format!("wrong bytes echoed after {received} bytes"));
            }
            received += count as u64;
        }
        if received > bytes {
            return Err(format!("{received} bytes echoed for {bytes} sent"));
        }
        Ok(())
    };
    tokio::try_join!(send, receive).map(|_| ())
}

/// This process's user + system CPU time so far, from /proc (0 where there is none).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces) start at the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the line, the 12th and 13th after the name; Linux counts
    // them in hundredths of a second (USER_HZ) everywhere it runs today.
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => 0.0,
    }
}
