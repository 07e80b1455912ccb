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

use common::cli::poem::chunks;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [path, delay, chars, rest @ ..] => delay
            .parse::<u64>()
            .ok()
            .zip(chars.parse::<usize>().ok())
            .map(|(delay, chars)| {
                let port = rest
                    .first()
                    .and_then(|port| port.parse().ok())
                    .unwrap_or(0u16);
                (path.clone(), Duration::from_millis(delay), chars, port)
            }),
        _ => None,
    };
    let Some((path, delay, chars, port)) = parsed else {
        eprintln!("usage: reference-slowpoetry POETRY_FILE DELAY_MS CHARS [PORT]");
        return ExitCode::from(2);
    };
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
