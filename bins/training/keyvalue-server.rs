//! The key-value server: the EuroPython 2011 training, slide "Key-value store server"
//! (`keyvalue_server.py`), port 11211.
//!
//! A line protocol over the store of [`common::keyvalue::store`]: `get KEY`, `set KEY VALUE` and
//! `delete KEY`, one reply line each, in order (a client may send several requests without
//! waiting). Every entry lives 15 seconds after it was last set. All connections share one store.
//! Each line received is logged on stdout (`R get a`), between twistd's start and stop lines.
//!
//! The training's replies are kept byte for byte; what it did badly is fixed: an unknown command
//! is answered `ERROR` (it was ignored), a malformed one `CLIENT_ERROR usage: …` (it crashed the
//! connection), and a value is the rest of the line (it was cut at the first space). See
//! [`common::keyvalue::protocol`] for the whole protocol.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server            # the log
//! terminal 2:  nc -C 127.0.0.1 11211                      # type: set a hello, then: get a
//!              cargo run --bin kv -- get a
//! ```

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::duration::parse_duration;
use common::cli::server::{ListenOptions, run_logged_server};
use common::keyvalue::protocol::{Reply, Request};
use common::keyvalue::{Store, StoreOptions};
use common::log;
use common::protocol::{Address, Factory, Protocol};

/// The training's port (memcached's too).
const PORT: u16 = 11211;

/// Serves the training's key-value store over its line protocol, logging every line received on
/// stdout (EuroPython 2011 training). Listens on 127.0.0.1:11211 unless told otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  keyvalue-server --ttl 2s\nThen, elsewhere: kv set a hello; kv get a"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// How long an entry lives after it was last set: seconds (15) or a number with a unit (2s).
    #[arg(long, value_name = "DURATION", default_value = "15", value_parser = parse_duration)]
    ttl: Duration,

    /// The most the keys and values may take together, in bytes (or with K, M or G); beyond it the
    /// least recently used entries are dropped. No bound unless given.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_memory: Option<usize>,
}

/// Reads a size in bytes: `1000`, or with a binary unit, `64K`, `16M`, `1G`.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let scale: usize = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => {
            return Err(format!(
                "'{text}' is not a size: give bytes (1000) or 64K, 16M, 1G"
            ));
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|count| count.checked_mul(scale))
        .ok_or_else(|| format!("'{text}' is not a size: give bytes (1000) or 64K, 16M, 1G"))
}

/// One connection: each line is a request, answered at once from the shared store.
struct KeyValueStoreProtocol {
    store: Store,
}

impl LineHandler for KeyValueStoreProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        log::msg(format!("R {}", String::from_utf8_lossy(line)));
        let reply = match Request::parse(line) {
            Ok(request) => answer(&self.store, request),
            Err(bad) => bad.reply(),
        };
        lines.send_line(&reply.to_line());
    }
}

/// What the store says to `request`.
fn answer(store: &Store, request: Request) -> Reply {
    match request {
        Request::Get(key) => match store.get(&key) {
            Ok(value) => Reply::Value(key, value.to_vec()),
            Err(_) => Reply::GetNotFound(key),
        },
        Request::Set(key, value) => match store.set(&key, &value) {
            Ok(()) => Reply::Stored,
            // Only an entry bigger than the memory bound is refused.
            Err(error) => Reply::ClientError(error.to_string().into_bytes()),
        },
        Request::Delete(key) => match store.delete(&key) {
            Ok(()) => Reply::Deleted(key),
            Err(_) => Reply::DelNotFound(key),
        },
    }
}

/// Makes a protocol for every connection, all on the same store.
struct KeyValueStoreFactory {
    store: Store,
}

impl Factory for KeyValueStoreFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineReceiver::new(KeyValueStoreProtocol {
            store: self.store.clone(),
        })))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    let store_options = StoreOptions {
        ttl: options.ttl,
        max_memory: options.max_memory,
    };
    run_logged_server(&endpoints, |reactor| {
        Rc::new(KeyValueStoreFactory {
            store: Store::new(reactor, store_options),
        })
    })
}
