//! The key-value server: the EuroPython 2011 training, slide "Key-value store server"
//! (`keyvalue_server.py`), port 11211; and, with `--protocol memcached`, the same store over
//! memcached's text protocol, on the same port, for the memcached clients of the training's last
//! slides and memcached's own tools.
//!
//! By default, a line protocol over the store of [`common::keyvalue::store`]: `get KEY`,
//! `set KEY VALUE` and `delete KEY`, one reply line each, in order (a client may send several
//! requests without waiting). Every entry lives 15 seconds after it was last set (`--ttl`). All
//! connections share one store. Each line received is logged on stdout (`R get a`), between
//! twistd's start and stop lines.
//!
//! The training's replies are kept byte for byte; what it did badly is fixed: an unknown command
//! is answered `ERROR` (it was ignored), a malformed one `CLIENT_ERROR usage: …` (it crashed the
//! connection), and a value is the rest of the line (it was cut at the first space). See
//! [`common::keyvalue::protocol`] for the whole protocol.
//!
//! With `--protocol memcached`, the commands of memcached 1.6 that a cache client uses (see
//! [`common::keyvalue::memcached`]): `memccapable` passes its ASCII tests against it. Each entry
//! then lives as long as its client says (`set KEY FLAGS EXPTIME BYTES`: 0 for ever, seconds, or a
//! Unix time), not the line protocol's `--ttl`; the store is bounded as memcached's is (64 MiB
//! unless `--max-memory` says otherwise, the least recently used entries evicted beyond it), and
//! values by `--max-item-size` (1 MiB). A cache logs no request unless `--verbose`.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server            # the log
//! terminal 2:  nc -C 127.0.0.1 11211                      # type: set a hello, then: get a
//!              cargo run --bin kv -- get a
//!
//! terminal 1:  cargo run --bin keyvalue-server -- --protocol memcached
//! terminal 2:  nc -C 127.0.0.1 11211        # type: set a 0 0 5, hello, then: get a
//!              memccapable -h 127.0.0.1 -p 11211 -a   # memcached's conformance tests
//! ```

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::duration::parse_duration;
use common::cli::server::{ListenOptions, run_logged_server};
use common::keyvalue::memcached::{MemcachedFactory, MemcachedOptions};
use common::keyvalue::protocol::{Reply, Request};
use common::keyvalue::{Store, StoreOptions};
use common::log;
use common::protocol::{Address, Factory, Protocol};

/// The training's port (memcached's too).
const PORT: u16 = 11211;

/// memcached's default memory bound (its `-m 64`), for the memcached protocol.
const MEMCACHED_MAX_MEMORY: usize = 64 << 20;

/// Serves the training's key-value store over its line protocol, logging every line received on
/// stdout (EuroPython 2011 training), or over memcached's text protocol. Listens on
/// 127.0.0.1:11211 unless told otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples:\n  keyvalue-server --ttl 2s\n  keyvalue-server --protocol memcached --max-memory 16M\n\
                  Then, elsewhere: kv set a hello; kv get a (line protocol), or any memcached client"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// The protocol to serve: the training's line protocol, or memcached's text protocol.
    #[arg(long, value_enum, default_value = "line")]
    protocol: ProtocolName,

    /// Line protocol: how long an entry lives after it was last set, in seconds (15) or with a unit
    /// (2s). memcached clients say it for each entry instead. [default: 15]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    ttl: Option<Duration>,

    /// The most the keys and values may take together, in bytes (or with K, M or G); beyond it the
    /// least recently used entries are dropped. No bound unless given (line protocol), 64M
    /// (memcached, as memcached's own).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_memory: Option<usize>,

    /// memcached protocol: the largest value a client may store, in bytes (or with K, M or G), as
    /// memcached's -I. [default: 1M]
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_item_size: Option<usize>,

    /// memcached protocol: log every command line received (the line protocol always does).
    #[arg(long)]
    verbose: bool,
}

/// The protocols the server speaks.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProtocolName {
    /// The training's own: get KEY, set KEY VALUE, delete KEY.
    Line,
    /// memcached's text protocol.
    Memcached,
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
    match options.protocol {
        ProtocolName::Line => {
            if options.max_item_size.is_some() || options.verbose {
                usage_error("--max-item-size and --verbose are for --protocol memcached");
            }
            let store_options = StoreOptions {
                ttl: options.ttl.unwrap_or(StoreOptions::DEFAULT_TTL),
                max_memory: options.max_memory,
            };
            run_logged_server(&endpoints, |reactor| {
                Rc::new(KeyValueStoreFactory {
                    store: Store::new(reactor, store_options),
                })
            })
        }
        ProtocolName::Memcached => {
            if options.ttl.is_some() {
                usage_error(
                    "--ttl is for the line protocol: memcached clients give each entry its own",
                );
            }
            let store_options = StoreOptions {
                max_memory: Some(options.max_memory.unwrap_or(MEMCACHED_MAX_MEMORY)),
                ..StoreOptions::default()
            };
            let memcached_options = MemcachedOptions {
                max_item_size: options
                    .max_item_size
                    .unwrap_or(MemcachedOptions::DEFAULT_MAX_ITEM_SIZE),
                log_requests: options.verbose,
            };
            run_logged_server(&endpoints, |reactor| {
                Rc::new(MemcachedFactory::new(
                    Store::new(reactor, store_options),
                    memcached_options,
                ))
            })
        }
    }
}

/// Options that do not go together: clap's one-line error, and exit status 2.
fn usage_error(message: &str) -> ! {
    Options::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}
