//! A reference for the benchmarks (scripts/bench/): the slow poetry server written as plainly as tokio
//! allows, one task per client that writes a chunk and sleeps. `slowpoetry-reactor` is measured
//! against it.
//!
//! ```text
//! cargo run --release --example reference-slowpoetry -- poetry/science.txt DELAY_MS CHARS [PORT]
//! ```

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::listen_port;
use common::cli::poem::chunks;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket};

/// A reference for the benchmarks (scripts/bench/slowpoetry.sh): the slow poetry server as plainly
/// as tokio allows, on 127.0.0.1: one task per client that writes CHARS characters and sleeps
/// DELAY_MS milliseconds. Prints `Serving <file> on port <port>.`
#[derive(Debug, Parser)]
#[command(name = "reference-slowpoetry")]
struct Options {
    /// The poem to serve.
    poetry_file: String,

    /// The pause after each chunk, in milliseconds.
    delay_ms: u64,

    /// How many characters each chunk holds.
    chars: usize,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(default_value_t = 0, value_parser = listen_port)]
    port: u16,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let (path, delay, chars, port) = (
        options.poetry_file,
        Duration::from_millis(options.delay_ms),
        options.chars,
        options.port,
    );
    let poem: Rc<[u8]> = match std::fs::read(&path) {
        Ok(poem) => poem.into(),
        Err(error) => {
            eprintln!("reference-slowpoetry: cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reference-slowpoetry: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        // The same listen queue as the reactor's, so that thousands of clients connecting at once
        // are all accepted.
        let listener = match listen(port) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("reference-slowpoetry: {error}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        println!("Serving {path} on port {port}.");
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let poem = Rc::clone(&poem);
            tokio::task::spawn_local(async move {
                for chunk in chunks(&poem, chars) {
                    if socket.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
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
