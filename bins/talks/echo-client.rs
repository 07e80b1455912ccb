//! The echo client: talk 004 (Andrew Bennetts, "Network programming with Twisted"), pp.14-15.
//!
//! A client built on `LineReceiver`: once connected it sends three lines, prints every line that
//! comes back (`receive: ...`), and hangs up when it hears `Bye-bye!`. Its factory hears how the
//! connection ended, or that it could not be made, and stops the reactor either way. Lines end in
//! CR LF, as `LineReceiver`'s do, so a server that ends its lines with LF alone (the hello and QOTD
//! servers) never completes one: `--delimiter lf` reads those. A line longer than 16,384 bytes
//! makes the client hang up, as Twisted's `LineReceiver` does.
//!
//! The talk's client connects to port 8000, where none of the talk's servers listens; ours takes
//! the server as an argument (default `localhost:8000`, the talk's).
//!
//! ```text
//! terminal 1:  cargo run --bin echo-server -- --port 8000
//! terminal 2:  cargo run --bin echo-client                 # three receive: lines, then
//!                                                          # connection lost: ...cleanly.
//!              cargo run --bin echo-client -- unix:/tmp/echo.sock
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::duration::parse_timeout;
use common::cli::output::report_error;
use common::endpoints::ClientEndpoint;
use common::outln;
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol,
};
use common::reactor::Reactor;

/// What the client says once connected, line by line.
const LINES: [&[u8]; 3] = [b"Hello, world!", b"What a fine day it is.", b"Bye-bye!"];

/// The line after which the client hangs up.
const GOODBYE: &[u8] = b"Bye-bye!";

/// Sends three lines to an echo server and prints the lines that come back (talk 004,
/// pp.14-15). Exits 0 when the connection ends, 1 when it could not be made.
#[derive(Parser)]
struct Options {
    /// The server: host:port, or an endpoint string (tcp:HOST:PORT, unix:PATH).
    #[arg(default_value = "localhost:8000", value_parser = ClientEndpoint::from_arg)]
    server: ClientEndpoint,

    /// How lines end, both ways.
    #[arg(long, value_enum, default_value_t = Delimiter::Crlf)]
    delimiter: Delimiter,

    /// How long connecting may take: seconds (2.5) or a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

/// The line endings the client speaks.
#[derive(Clone, Copy, ValueEnum)]
enum Delimiter {
    /// CR LF, LineReceiver's own.
    Crlf,
    /// LF alone, as the hello and QOTD servers write.
    Lf,
}

impl Delimiter {
    fn bytes(self) -> &'static [u8] {
        match self {
            Delimiter::Crlf => b"\r\n",
            Delimiter::Lf => b"\n",
        }
    }
}

/// One connection: say the lines, print what comes back.
struct EchoClient;

impl LineHandler for EchoClient {
    fn connection_made(&mut self, lines: &mut Lines) {
        for line in LINES {
            lines.send_line(line);
        }
    }

    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        // The line's bytes as they came, not decoded: the talk's client printed raw bytes too.
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(b"receive: ")
            .and_then(|()| out.write_all(line))
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if line == GOODBYE {
            lines.lose_connection();
        }
    }

    /// A client reads the server's replies whatever it still has to send: holding them back could
    /// leave it and the server each waiting for the other.
    fn holds_while_unread(&self) -> bool {
        false
    }
}

/// Makes the one protocol, and stops the reactor when its connection is over or failed.
struct EchoClientFactory {
    reactor: Reactor,
    delimiter: Delimiter,
    failed: std::cell::Cell<bool>,
}

impl Factory for EchoClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let delimiter = self.delimiter.bytes();
        let max_length = LineReceiver::<EchoClient>::MAX_LENGTH;
        Some(Box::new(LineReceiver::with_delimiter(
            EchoClient, delimiter, max_length,
        )))
    }
}

impl ClientFactory for EchoClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        outln!("connection failed: {reason}");
        self.failed.set(true);
        let _ = self.reactor.stop();
    }

    fn client_connection_lost(&self, _connector: &Connector, reason: &DisconnectReason) {
        outln!("connection lost: {reason}");
        let _ = self.reactor.stop();
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match common::cli::new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let factory = Rc::new(EchoClientFactory {
        reactor: reactor.clone(),
        delimiter: options.delimiter,
        failed: std::cell::Cell::new(false),
    });
    let server = options.server.with_timeout(options.timeout);
    reactor.connect(&server, Rc::clone(&factory));
    let _ = reactor.run();
    if factory.failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
