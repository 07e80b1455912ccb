//! `memget`: one key from a real memcached, the EuroPython 2011 training's `memget.py`.
//!
//! The lesson is [`LineReceiver`]'s raw mode. memcached answers `get <key>` with a line announcing
//! the value, `VALUE <key> <flags> <bytes>`, then exactly `<bytes>` bytes of data, then `END`. The
//! data is not a line (it may hold `\r\n` itself), so on the `VALUE` line the protocol switches to
//! raw mode, counts the bytes as they come, and hands what follows them back to line mode: the CR
//! LF that ends the data (an empty line, skipped), then `END`, which fires the Deferred with the
//! value. The program prints it as Python's `print` did, the bytes as they are and a newline.
//!
//! The training's program printed `None` for a missing key and waited for ever on a refused
//! connection, an error reply or a silent server. Here a missing key is one line on stderr,
//! `memget: no such key: k`, and status 1; anything else that goes wrong (no server, an error
//! reply, the connection closed, no answer within `--timeout`, 10 s by default) is one line on
//! stderr naming the server, and status 2. `VALUE` lines are read whole (the
//! original only looked at how the line began), and the value's size is bounded.
//!
//! ```text
//! terminal 1:  memcached -p 11211
//! terminal 2:  cargo run --bin memset -- 127.0.0.1:11211 greeting 'hello world'
//!              cargo run --bin memget -- 127.0.0.1:11211 greeting         # hello world
//! ```

#[path = "support/memcached_clients.rs"]
mod memcached_clients;

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::address::ServerAddress;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, program_name, report_error};
use common::defer::{Deferred, Failure};
use common::errln;
use common::memcache::ReadLimits;
use common::protocol::DisconnectReason;

use memcached_clients::{Deadline, Trouble, key_argument, request, run_until};

/// Print the value of one key of a memcached server (EuroPython 2011 training). Exit status 1 when
/// the key is not there, 2 on any other error.
#[derive(Parser)]
#[command(
    name = "memget",
    version,
    after_help = "Example, with memcached running on its port:\n  memget 127.0.0.1:11211 greeting"
)]
struct Options {
    /// The memcached server, as host:port (a bare port means 127.0.0.1).
    #[arg(value_name = "HOST:PORT")]
    server: ServerAddress,

    /// The key to get.
    #[arg(value_name = "KEY")]
    key: OsString,

    #[command(flatten)]
    deadline: Deadline,
}

/// The protocol of one `get`: lines, then the value's bytes in raw mode, then lines again.
struct GetProtocol {
    key: Vec<u8>,
    /// Fired with the value, or `None` for a missing key, on `END`.
    deferred: Deferred<Option<Vec<u8>>>,
    /// How many bytes the value has, while they come in raw mode.
    length: usize,
    received: Vec<u8>,
    value: Option<Vec<u8>>,
}

impl GetProtocol {
    /// The length that a `VALUE <key> <flags> <bytes>` line announces for our key, if the line is
    /// one, and the length is one we accept.
    fn value_length(&self, line: &[u8]) -> Option<usize> {
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let [b"VALUE", key, _flags, bytes] = words.as_slice() else {
            return None;
        };
        let length: usize = std::str::from_utf8(bytes).ok()?.parse().ok()?;
        (*key == self.key.as_slice() && length <= ReadLimits::default().max_value_size)
            .then_some(length)
    }

    fn fail(&self, trouble: Trouble, lines: &Lines) {
        let _ = self.deferred.errback(trouble);
        lines.lose_connection();
    }
}

impl LineHandler for GetProtocol {
    fn connection_made(&mut self, lines: &mut Lines) {
        lines.send_line(&[b"get ", &self.key[..]].concat());
    }

    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        if self.value.is_none()
            && let Some(length) = self.value_length(line)
        {
            self.length = length;
            self.received.clear();
            lines.set_raw_mode();
        } else if line == b"END" {
            let _ = self.deferred.callback(self.value.take());
            lines.lose_connection();
        } else if line.is_empty() && self.value.is_some() {
            // The CR LF that ends the value's data.
        } else {
            self.fail(Trouble::Answered(line.to_vec()), lines);
        }
    }

    fn raw_data_received(&mut self, data: &[u8], lines: &mut Lines) {
        let wanted = self.length - self.received.len();
        let (ours, rest) = data.split_at(wanted.min(data.len()));
        self.received.extend_from_slice(ours);
        if self.received.len() == self.length {
            self.value = Some(std::mem::take(&mut self.received));
            lines.set_line_mode(rest);
        }
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
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::from(2);
        }
    };
    let asked = key.clone();
    let value = request(&reactor, &options.server, move |deferred| {
        LineReceiver::new(GetProtocol {
            key: key.clone(),
            deferred,
            length: 0,
            received: Vec::new(),
            value: None,
        })
    });
    let printed = value.add_callback(move |value: Option<Vec<u8>>| match value {
        Some(value) => {
            print_bytes_line(&mut io::stdout().lock(), &[&value]);
            Ok::<ExitCode, Failure>(ExitCode::SUCCESS)
        }
        None => {
            errln!(
                "{}: no such key: {}",
                program_name(),
                String::from_utf8_lossy(&asked)
            );
            Ok(ExitCode::from(1))
        }
    });
    run_until(
        &reactor,
        &options.server,
        printed,
        2,
        Some(options.deadline.timeout),
    )
}
