//! `memset2`: `memset` with a timeout and `CLIENT_ERROR`, the EuroPython 2011 training's
//! `memset2.py`.
//!
//! Two things `memset` did not do. A timeout: right after writing the request, the protocol asks
//! the reactor for a timed call (`call_later`, 10 s unless `--timeout` says otherwise) that fails
//! the Deferred with `Timeout`; the first reply line cancels it. And the server's complaint about
//! the request, `CLIENT_ERROR <message>`, fails the Deferred with the message. The errback prints
//! either as the training's did, `Timeout` or `bad command line format` (what memcached says of a
//! key with a space in it, or of more than 250 bytes), on stdout.
//!
//! Beyond the training: those two failures end with status 1 (it ended with 0); any other reply
//! (`SERVER_ERROR …`, which it ignored and waited for ever), a refused connection (it waited for
//! ever: the timeout starts only once connected) and a connection closed before the answer are
//! one line on stderr naming the server, and status 1 too.
//!
//! ```text
//! terminal 1:  memcached -p 11211
//! terminal 2:  cargo run --bin memset2 -- 127.0.0.1:11211 greeting 'hello world'
//!              cargo run --bin memset2 -- 127.0.0.1:11211 'two words' value   # bad command line format
//! ```

#[path = "support/memcached_clients.rs"]
mod memcached_clients;

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::address::ServerAddress;
use common::cli::duration::parse_timeout;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::outln;
use common::protocol::DisconnectReason;
use common::reactor::{DelayedCall, Reactor};

use memcached_clients::{Trouble, key_argument, request, run_until};

/// Store VALUE under KEY in a memcached server, giving up after a timeout (EuroPython 2011
/// training). Prints nothing when stored; `Timeout`, or the server's CLIENT_ERROR message,
/// otherwise. Exit status 1 on any error.
#[derive(Parser)]
#[command(
    name = "memset2",
    version,
    after_help = "Example, with memcached running on its port:\n  \
                  memset2 127.0.0.1:11211 greeting 'hello world'\n  \
                  memset2 --timeout 500ms 127.0.0.1:11211 greeting hello"
)]
struct Options {
    /// The memcached server, as host:port (a bare port means 127.0.0.1).
    #[arg(value_name = "HOST:PORT")]
    server: ServerAddress,

    /// The key to store the value under.
    #[arg(value_name = "KEY")]
    key: OsString,

    /// The value, sent byte for byte (quote it to include spaces).
    #[arg(value_name = "VALUE")]
    value: OsString,

    /// How long to wait for the answer once connected: seconds (10) or a number with a unit
    /// (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    timeout: Duration,
}

/// The two failures the training's errback prints, each as its message.
#[derive(Debug, PartialEq)]
enum SetFailed {
    /// No reply line within the timeout.
    Timeout,
    /// `CLIENT_ERROR <message>`: the message.
    ClientError(String),
}

impl fmt::Display for SetFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetFailed::Timeout => f.write_str("Timeout"),
            SetFailed::ClientError(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SetFailed {}

/// The protocol of one `set`, with a timeout: the request, then one reply line or the timer.
struct SetProtocol {
    key: Vec<u8>,
    value: Vec<u8>,
    /// Fired with the key once stored.
    deferred: Deferred<Vec<u8>>,
    reactor: Reactor,
    timeout: Duration,
    /// The timed call that fails the Deferred, pending until the first reply line.
    timer: Option<DelayedCall>,
}

impl SetProtocol {
    fn stop_timer(&mut self) {
        if let Some(timer) = self.timer.take() {
            // Once it has run, cancelling it is refused; either way it is over.
            let _ = timer.cancel();
        }
    }
}

impl LineHandler for SetProtocol {
    fn connection_made(&mut self, lines: &mut Lines) {
        let transport = lines.transport();
        let length = format!(" 0 0 {}\r\n", self.value.len());
        transport.write(&[b"set ", &self.key[..], length.as_bytes()].concat());
        transport.write(&self.value);
        transport.write(b"\r\n");
        let (deferred, transport) = (self.deferred.clone(), transport.clone());
        self.timer = Some(self.reactor.call_later(self.timeout, move || {
            let _ = deferred.errback(SetFailed::Timeout);
            // A reply after this would have no one to go to.
            transport.abort_connection();
        }));
    }

    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        self.stop_timer();
        let _ = if line == b"STORED" {
            self.deferred.callback(self.key.clone())
        } else if let Some(rest) = line.strip_prefix(b"CLIENT_ERROR") {
            let message = rest.strip_prefix(b" ").unwrap_or(rest);
            self.deferred.errback(SetFailed::ClientError(
                String::from_utf8_lossy(message).into_owned(),
            ))
        } else {
            self.deferred.errback(Trouble::Answered(line.to_vec()))
        };
        lines.lose_connection();
    }

    fn line_length_exceeded(&mut self, _line: &[u8], lines: &mut Lines) {
        let _ = self.deferred.errback(Trouble::LineTooLong);
        lines.lose_connection();
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        self.stop_timer();
        // Fails the Deferred only if nothing fired it yet.
        let _ = self.deferred.errback(Trouble::Closed);
    }

    /// A client reads the server's replies whatever it still has to send: holding them back could
    /// leave it and the server each waiting for the other.
    fn holds_while_unread(&self) -> bool {
        false
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let key = key_argument::<Options>(&options.key);
    let value = options.value.as_bytes().to_vec();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let (clock, timeout) = (reactor.clone(), options.timeout);
    let stored = request(&reactor, &options.server, move |deferred| {
        LineReceiver::new(SetProtocol {
            key: key.clone(),
            value: value.clone(),
            deferred,
            reactor: clock.clone(),
            timeout,
            timer: None,
        })
    });
    let done = stored.add_callbacks(
        |_key| Ok::<ExitCode, Failure>(ExitCode::SUCCESS),
        |failure: Failure| match failure.downcast_ref::<SetFailed>() {
            // The training's error printer: the failure's message.
            Some(failed) => {
                outln!("{failed}");
                Ok(ExitCode::FAILURE)
            }
            None => Err(failure),
        },
    );
    // The timeout is the protocol's own: the lesson.
    run_until(&reactor, &options.server, done, 1, None)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use common::protocol::{Protocol, Transport};
    use common::testing::StringTransport;

    use super::*;

    /// The protocol for key `a` and value `v`, connected to a transport that records its writes,
    /// and what its Deferred ends with.
    fn connected(
        reactor: &Reactor,
        timeout: Duration,
    ) -> (
        LineReceiver<SetProtocol>,
        Rc<StringTransport>,
        Rc<RefCell<String>>,
    ) {
        let deferred = Deferred::new();
        let seen = Rc::new(RefCell::new("waiting".to_owned()));
        let (ok, err) = (Rc::clone(&seen), Rc::clone(&seen));
        deferred.add_callbacks(
            move |key: Vec<u8>| {
                *ok.borrow_mut() = format!("stored {}", String::from_utf8_lossy(&key));
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                *err.borrow_mut() = format!("error {}", failure.error());
                Ok(())
            },
        );
        let mut protocol = LineReceiver::new(SetProtocol {
            key: b"a".to_vec(),
            value: b"v".to_vec(),
            deferred,
            reactor: reactor.clone(),
            timeout,
            timer: None,
        });
        let transport = StringTransport::new();
        protocol.connection_made(transport.clone());
        (protocol, transport, seen)
    }

    /// Runs the reactor's clock (paused: it jumps) `seconds` ahead.
    fn wait(reactor: &Reactor, seconds: u64) {
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(seconds), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
    }

    #[test]
    fn the_request_is_three_writes_and_a_line_cancels_the_timeout() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let (mut protocol, transport, seen) = connected(&reactor, Duration::from_secs(10));
        assert_eq!(transport.value(), b"set a 0 0 1\r\nv\r\n");
        protocol.data_received(b"\r\n");
        wait(&reactor, 20);
        assert_eq!(*seen.borrow(), "error answered ");
    }

    #[test]
    fn stored_fires_with_the_key() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let (mut protocol, transport, seen) = connected(&reactor, Duration::from_secs(10));
        protocol.data_received(b"STORED\r\n");
        assert_eq!(*seen.borrow(), "stored a");
        assert!(transport.is_disconnecting());
    }

    #[test]
    fn client_error_fails_with_its_message() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let (mut protocol, _transport, seen) = connected(&reactor, Duration::from_secs(10));
        protocol.data_received(b"CLIENT_ERROR bad bad bad\r\n");
        assert_eq!(*seen.borrow(), "error bad bad bad");
    }

    #[test]
    fn no_reply_fails_with_timeout() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let (_protocol, transport, seen) = connected(&reactor, Duration::from_millis(200));
        wait(&reactor, 1);
        assert_eq!(*seen.borrow(), "error Timeout");
        assert!(transport.aborted());
    }
}
