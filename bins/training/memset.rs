//! `memset`: store one value in a real memcached, the EuroPython 2011 training's `memset.py`.
//!
//! A storage command is a line and a block of data: `set <key> <flags> <exptime> <bytes>\r\n`, then
//! the value's bytes and a CR LF. The protocol writes the three pieces on `connection_made` (flags
//! and expiry time 0: no flags, never expires), and waits for the one reply line: `STORED` fires
//! the Deferred, and the program ends quietly, as the training's did.
//!
//! The training's program waited for ever on any other reply, on a refused connection and on a
//! server that never answers. Here each is one line on stderr naming the server (`memset: error:
//! 127.0.0.1:11211: answered SERVER_ERROR out of memory storing object`), and status 1; the
//! program as a whole gives up after `--timeout` (10 s by default). Putting the timeout into the
//! protocol itself is `memset2`'s lesson.
//!
//! ```text
//! terminal 1:  memcached -p 11211
//! terminal 2:  cargo run --bin memset -- 127.0.0.1:11211 greeting 'hello world'
//!              cargo run --bin memget -- 127.0.0.1:11211 greeting         # hello world
//! ```

#[path = "support/memcached_clients.rs"]
mod memcached_clients;

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::address::ServerAddress;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::protocol::DisconnectReason;

use memcached_clients::{Deadline, Trouble, key_argument, request, run_until};

/// Store VALUE under KEY in a memcached server (EuroPython 2011 training). Prints nothing when
/// stored; exit status 1 on an error.
#[derive(Parser)]
#[command(
    name = "memset",
    version,
    after_help = "Example, with memcached running on its port:\n  \
                  memset 127.0.0.1:11211 greeting 'hello world'"
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

    #[command(flatten)]
    deadline: Deadline,
}

/// The protocol of one `set`: the request, then one reply line.
struct SetProtocol {
    key: Vec<u8>,
    value: Vec<u8>,
    deferred: Deferred<()>,
}

impl LineHandler for SetProtocol {
    fn connection_made(&mut self, lines: &mut Lines) {
        let transport = lines.transport();
        let length = format!(" 0 0 {}\r\n", self.value.len());
        transport.write(&[b"set ", &self.key[..], length.as_bytes()].concat());
        transport.write(&self.value);
        transport.write(b"\r\n");
    }

    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        let _ = if line == b"STORED" {
            self.deferred.callback(())
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
    let stored = request(&reactor, &options.server, move |deferred| {
        LineReceiver::new(SetProtocol {
            key: key.clone(),
            value: value.clone(),
            deferred,
        })
    });
    let done = stored.add_callback(|()| Ok::<ExitCode, Failure>(ExitCode::SUCCESS));
    run_until(
        &reactor,
        &options.server,
        done,
        1,
        Some(options.deadline.timeout),
    )
}
