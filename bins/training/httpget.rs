//! An HTTP GET written by hand: the EuroPython 2011 training, "Exercise 3" (`httpget.py`).
//!
//! HTTP is a protocol like any other: the exercise writes its request itself, over a plain
//! Protocol, before the training turns to `twisted.web`. On `connection_made` the protocol
//! writes the request line and three headers, one write each, and the empty line that ends them:
//!
//! ```text
//! GET <path> HTTP/1.1\r\n
//! User-Agent: europython/2011\r\n
//! Host: <host>\r\n
//! Connection: close\r\n
//! \r\n
//! ```
//!
//! `Connection: close` asks the server to close the connection once it has answered, so the end of
//! the connection is the end of the answer: the protocol gathers what arrives, and on
//! `connection_lost` fires the factory's Deferred with it. The callback prints the answer as it
//! came, status line, headers and body, nothing parsed (a chunked body keeps its chunk sizes), then
//! a newline, and stops the reactor.
//!
//! The training's program cannot run as written (its `main` calls `get` with one argument too
//! few, and `get` always connects to port 80); this is the exercise as intended: `host:port PATH`,
//! the `Host` header naming the host part. A connection that cannot be made is reported in one
//! line on stderr, with status 1 (the training's waits for ever, saying nothing).
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin httpget -- 127.0.0.1:8000 /
//! ```

use std::cell::Cell;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use common::cli::address::ServerAddress;
use common::cli::client::explain_if_no_servers;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, report_error};
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::Reactor;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Send an HTTP GET written by hand, and print the raw answer (the EuroPython 2011 training,
/// exercise 3).
#[derive(Debug, Parser)]
#[command(
    name = "httpget",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  httpget 127.0.0.1:8000 /\n  \
                  httpget localhost:8000 /index.html"
)]
struct Options {
    /// The web server, as host:port (a bare port means 127.0.0.1). The host part is also what the
    /// Host header says.
    #[arg(value_name = "HOST:PORT")]
    server: Option<ServerAddress>,

    /// The path to ask for, as it goes on the request line: /, /index.html, /search?q=twisted.
    #[arg(value_name = "PATH")]
    path: Option<OsString>,
}

/// What the connection does: write the request, gather the answer, hand it over at the end.
struct HttpGetProtocol {
    path: Rc<[u8]>,
    host: Rc<str>,
    deferred: Deferred<Vec<u8>>,
    buffer: Vec<u8>,
}

impl Protocol for HttpGetProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(&[b"GET ", &self.path[..], b" HTTP/1.1\r\n"].concat());
        transport.write(b"User-Agent: europython/2011\r\n");
        transport.write(format!("Host: {}\r\n", self.host).as_bytes());
        transport.write(b"Connection: close\r\n");
        transport.write(b"\r\n");
    }

    fn data_received(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        // The server closed: whatever came is the answer. A connection ends once, so this is the
        // Deferred's only firing.
        let _ = self.deferred.callback(std::mem::take(&mut self.buffer));
    }
}

/// The request's factory: what to ask for, and the Deferred of the answer.
struct HttpGetFactory {
    path: Rc<[u8]>,
    host: Rc<str>,
    deferred: Deferred<Vec<u8>>,
}

impl Factory for HttpGetFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(HttpGetProtocol {
            path: Rc::clone(&self.path),
            host: Rc::clone(&self.host),
            deferred: self.deferred.clone(),
            buffer: Vec::new(),
        }))
    }
}

impl ClientFactory for HttpGetFactory {
    /// No connection, so no protocol to fire the Deferred: the factory fails it.
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        let _ = self.deferred.errback(reason.clone());
    }
}

/// The exercise's `get`: asks `server` for `path`, and returns the Deferred of the raw answer.
fn get(reactor: &Reactor, server: &ServerAddress, path: &[u8]) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new(HttpGetFactory {
        path: path.into(),
        host: server.host.as_str().into(),
        deferred: deferred.clone(),
    });
    reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    deferred
}

/// The path must fit on the request line: not empty, no spaces, no control characters.
fn check_path(path: &[u8]) -> Result<(), String> {
    if path.is_empty() || path.iter().any(|&byte| byte <= b' ' || byte == 0x7f) {
        return Err(format!(
            "the path {:?} must be non-empty, without spaces or control characters",
            String::from_utf8_lossy(path)
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = &options.server else {
        explain_if_no_servers::<Options>(&[]);
        return ExitCode::SUCCESS;
    };
    let Some(path) = &options.path else {
        Options::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "the PATH to ask for is missing",
            )
            .exit();
    };
    let path = path.as_bytes();
    if let Err(error) = check_path(path) {
        Options::command()
            .error(ErrorKind::InvalidValue, error)
            .exit();
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let failed = Rc::new(Cell::new(false));
    let (on_answer, on_failure, to_flag) = (reactor.clone(), reactor.clone(), Rc::clone(&failed));
    get(&reactor, server, path).add_callbacks(
        move |answer| {
            print_bytes_line(&mut io::stdout().lock(), &[&answer]);
            let _ = on_answer.stop();
            Ok::<(), Failure>(())
        },
        move |failure| {
            report_error(failure.error());
            to_flag.set(true);
            let _ = on_failure.stop();
            Ok(())
        },
    );

    let _ = reactor.run();
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
