//! A reference for the web benchmark (scripts/bench/web.sh): the smallest hyper server that answers
//! every request with talk 001's hello page, one task per connection on a current-thread runtime,
//! as our reactor runs. `hello-web` (a Twisted Web resource on our site) is measured against it.
//!
//! It does the same work on the wire as `hello-web`: the same head (`Server`, `Date`,
//! `Content-Length`, `Content-Type`, names in title case) and the same protection against clients
//! slow to send their head (a 30 s timeout), so that the benchmark measures what our layers cost
//! (the reactor's connection, the resource tree, the request object), not a difference of bytes.
//!
//! ```text
//! cargo run --release --example reference-hyper -- [PORT]
//! ```
//!
//! It prints `listening on 127.0.0.1:<port>` on stderr, as the talks' servers do.

use std::convert::Infallible;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use common::cli::address::listen_port;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// The page, byte for byte the one `hello-web` sends.
const PAGE: &[u8] = b"<html><body>Hello Twisted</body></html>";

/// The `Server` header `hello-web` sends, of the same length.
const SERVER: &str = concat!("TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

async fn hello(
    _request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(PAGE)));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::SERVER,
        hyper::header::HeaderValue::from_static(SERVER),
    );
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    Ok(response)
}

/// A reference for the web benchmark (scripts/bench/web.sh): the smallest hyper server answering
/// every request with talk 001's hello page, on 127.0.0.1. Says `listening on 127.0.0.1:<port>` on
/// stderr.
#[derive(Debug, Parser)]
#[command(name = "reference-hyper")]
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
            eprintln!("reference-hyper: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("reference-hyper: cannot listen on port {port}: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Ok(address) = listener.local_addr() {
            eprintln!("listening on {address}");
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::task::spawn_local(async move {
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .title_case_headers(true)
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
