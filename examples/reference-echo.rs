//! A reference for the benchmarks (scripts/bench/echo.sh): the echo server written as plainly as
//! tokio allows, one task per connection that reads into its buffer and writes the same bytes back.
//! `echo-server` (talk 004) is measured against it.
//!
//! ```text
//! cargo run --release --example reference-echo -- [PORT]
//! ```
//!
//! It prints `Echoing on port <port>.` so the scripts read its port like the other servers'.

use std::process::ExitCode;

use clap::Parser;
use common::cli::address::listen_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

/// Each connection's buffer: 64 KiB, the most the reactor (and Twisted) read at once, so that both
/// servers make the same number of system calls for the same stream.
const BUFFER_SIZE: usize = 64 * 1024;

/// A reference for the benchmarks (scripts/bench/echo.sh): the echo server as plainly as tokio
/// allows, on 127.0.0.1. Prints `Echoing on port <port>.`
#[derive(Debug, Parser)]
#[command(name = "reference-echo")]
struct Options {
    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(default_value_t = 0, value_parser = listen_port)]
    port: u16,
}

fn main() -> ExitCode {
    let port = Options::parse().port;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reference-echo: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        // The same listen queue as the reactor's, so that many clients connecting at once are all
        // accepted.
        let listener = match listen(port) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("reference-echo: {error}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        println!("Echoing on port {port}.");
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            tokio::task::spawn_local(async move {
                let mut buffer = vec![0; BUFFER_SIZE];
                // End of file, or any error, ends the connection.
                while let Ok(count @ 1..) = socket.read(&mut buffer).await {
                    if socket.write_all(&buffer[..count]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

/// Listens on 127.0.0.1:`port` with a queue of 4096 connections.
fn listen(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    socket.listen(4096)
}
