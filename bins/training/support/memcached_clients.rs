//! What the EuroPython 2011 training's memcached clients share (`memget`, `memset`, `memset2`,
//! `txmemcached`, each includes this file with `#[path]`): the key argument, one connection whose
//! protocol fires a Deferred with the request's outcome, and the end of the program: the reactor
//! stopped once that Deferred has fired, a failure told in one line on stderr that names the server.
//!
//! The protocols are not here: each program keeps its own, which is its lesson.

#![allow(dead_code)] // not every program uses every helper

use std::cell::Cell;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory};
use common::cli::address::ServerAddress;
use common::cli::duration::parse_timeout;
use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::protocol::{Address, ClientFactory, ConnectError, Connector, Factory, Protocol};
use common::reactor::Reactor;

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong with the server's answer.
#[derive(Debug)]
pub enum Trouble {
    /// The server answered with an error, or with a line that does not answer the request.
    Answered(Vec<u8>),
    /// The connection closed before the answer was complete.
    Closed,
    /// A reply line longer than `LineReceiver`'s limit (16 KiB): the connection is closed.
    LineTooLong,
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trouble::Answered(line) => write!(f, "answered {}", String::from_utf8_lossy(line)),
            Trouble::Closed => f.write_str("closed the connection before answering"),
            Trouble::LineTooLong => f.write_str("answered a line too long to read"),
        }
    }
}

impl std::error::Error for Trouble {}

/// The key, as bytes; a usage error (status 2) if it would end the request's line early.
///
/// The rest is left to the server, as the originals did: memcached answers a key with a space or
/// of more than 250 bytes with `CLIENT_ERROR bad command line format`. But a CR or LF would let the
/// key smuggle a second command onto the connection.
pub fn key_argument<C: CommandFactory>(key: &OsStr) -> Vec<u8> {
    let key = key.as_bytes();
    if key.is_empty() || key.iter().any(|&b| b == b'\r' || b == b'\n') {
        C::command()
            .error(
                ErrorKind::InvalidValue,
                "the KEY must not be empty, nor hold a carriage return or a line feed",
            )
            .exit();
    }
    key.to_vec()
}

/// The factory of the one connection: its protocol gets the Deferred to fire with the outcome; a
/// connection that cannot be made fails it.
struct OneRequest<T, P> {
    make: Box<dyn Fn(Deferred<T>) -> P>,
    deferred: Deferred<T>,
}

impl<T: 'static, P: Protocol + 'static> Factory for OneRequest<T, P> {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new((self.make)(self.deferred.clone())))
    }
}

impl<T: 'static, P: Protocol + 'static> ClientFactory for OneRequest<T, P> {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        let _ = self.deferred.errback(reason.clone());
    }
}

/// Connects to `server` with the protocol `make` builds around the Deferred it must fire, and
/// returns that Deferred.
pub fn request<T: 'static, P: Protocol + 'static>(
    reactor: &Reactor,
    server: &ServerAddress,
    make: impl Fn(Deferred<T>) -> P + 'static,
) -> Deferred<T> {
    let deferred = Deferred::new();
    let factory = Rc::new(OneRequest {
        make: Box::new(make),
        deferred: deferred.clone(),
    });
    reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    deferred
}

/// `--timeout`: how long a program without a timeout of its own waits for its answer.
#[derive(Debug, Args)]
pub struct Deadline {
    /// How long to wait for the answer, connecting included: seconds (10) or a number with a unit
    /// (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// Runs the reactor until `outcome` fires, or `deadline` (if any) has passed, and returns the exit
/// status. A failure, or the deadline, is one line on stderr, `memget: error: 127.0.0.1:11211:
/// <why>`, and the status `failed`.
pub fn run_until(
    reactor: &Reactor,
    server: &ServerAddress,
    outcome: Deferred<ExitCode>,
    failed: u8,
    deadline: Option<Duration>,
) -> ExitCode {
    // Whichever comes first, the outcome or the deadline, fires `first`; the other is dropped.
    let first = Deferred::new();
    let on_outcome = first.clone();
    outcome.add_both(move |result: Result<ExitCode, Failure>| {
        let _ = match result {
            Ok(code) => on_outcome.callback(code),
            Err(failure) => on_outcome.errback(failure),
        };
        Ok::<(), Failure>(())
    });
    let timer = deadline.map(|limit| {
        let late = first.clone();
        reactor.call_later(limit, move || {
            let _ = late.errback(Failure::exception(format!("no answer within {limit:?}")));
        })
    });

    let status = Rc::new(Cell::new(ExitCode::from(failed)));
    let (stopper, set_status, server) = (reactor.clone(), Rc::clone(&status), server.to_string());
    first
        .add_errback(move |failure: Failure| {
            report_error(format_args!("{server}: {}", failure.error()));
            Ok::<ExitCode, Failure>(ExitCode::from(failed))
        })
        .add_callback(move |code| {
            set_status.set(code);
            stopper.stop().map_err(Failure::new)
        });
    let ran = reactor.run();
    if let Some(timer) = timer {
        // Already run if it is what stopped the program.
        let _ = timer.cancel();
    }
    if let Err(error) = ran {
        report_error(error);
        return ExitCode::from(failed);
    }
    status.get()
}
