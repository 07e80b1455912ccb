//! A reference for the benchmarks (scripts/bench/): the fast poetry server written as plainly as tokio
//! allows, with no reactor, protocol or factory on top. `fastpoetry` is measured against it.
//!
//! ```text
//! cargo run --release --example reference-fastpoetry -- poetry/science.txt [PORT]
//! ```
//!
//! It prints `Serving <file> on port <port>.` like the slow servers, so the scripts read its port the
//! same way.

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::address::listen_port;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket};

/// A reference for the benchmarks (scripts/bench/): the fast poetry server as plainly as tokio
/// allows, on 127.0.0.1: the whole poem to each client. Prints `Serving <file> on port <port>.`
#[derive(Debug, Parser)]
#[command(name = "reference-fastpoetry")]
struct Options {
    /// The poem to serve.
    poetry_file: String,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(default_value_t = 0, value_parser = listen_port)]
    port: u16,
}

fn main() -> ExitCode {
    let Options {
        poetry_file: path,
        port,
    } = Options::parse();
    let poem: Rc<[u8]> = match std::fs::read(&path) {
        Ok(poem) => poem.into(),
        Err(error) => {
            eprintln!("reference-fastpoetry: cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reference-fastpoetry: {error}");
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
                eprintln!("reference-fastpoetry: {error}");
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
                let _ = socket.write_all(&poem).await;
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
