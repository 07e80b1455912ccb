//! A reference for the benchmarks (scripts/bench/): a poetry load client written as plainly as tokio
//! allows: CONCURRENCY tasks that connect and read to the end, REQUESTS times in all. `timing-client`
//! is measured against it. Prints `N requests in S seconds`.
//!
//! ```text
//! cargo run --release --example reference-client -- PORT REQUESTS CONCURRENCY
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use clap::Parser;
use common::cli::address::connect_port;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A reference for the benchmarks (scripts/bench/client.sh): a poetry load client as plainly as
/// tokio allows: CONCURRENCY tasks that connect to 127.0.0.1 and read to the end, REQUESTS times in
/// all. Prints `N requests in S seconds, F failed`.
#[derive(Debug, Parser)]
#[command(name = "reference-client")]
struct Options {
    /// The poetry server's port on 127.0.0.1.
    #[arg(value_parser = connect_port)]
    port: u16,

    /// How many poems to fetch in all.
    requests: u64,

    /// How many fetches at a time.
    concurrency: u64,
}

fn main() -> ExitCode {
    let Options {
        port,
        requests,
        concurrency,
    } = Options::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reference-client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    let left = Rc::new(Cell::new(requests));
    let failed = Rc::new(Cell::new(0u64));
    local.block_on(&runtime, async {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (left, failed) = (Rc::clone(&left), Rc::clone(&failed));
                tokio::task::spawn_local(async move {
                    let mut buffer = vec![0; 64 * 1024];
                    while left.get() > 0 {
                        left.set(left.get() - 1);
                        let fetched = async {
                            let mut socket = TcpStream::connect(("127.0.0.1", port)).await?;
                            while socket.read(&mut buffer).await? > 0 {}
                            Ok::<(), std::io::Error>(())
                        };
                        if fetched.await.is_err() {
                            failed.set(failed.get() + 1);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
    });
    println!(
        "{requests} requests in {:.6} seconds, {} failed",
        started.elapsed().as_secs_f64(),
        failed.get()
    );
    ExitCode::SUCCESS
}
