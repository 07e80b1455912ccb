//! One store, two protocols: the EuroPython 2011 training's multi-server process
//! (`keyvalue_server2.py`): the line protocol of `keyvalue-server` on port 11211 and the
//! Perspective Broker root of `keyvalue-pb` on port 8789, over one store.
//!
//! A key set through either protocol is seen through the other, and lives 15 seconds after it was
//! last set, whichever set it (`--ttl`). The line protocol's keys and values are byte strings: to
//! PB they are Python `bytes` (`b'a'`); a PB key in text (`'a'`) is another key, which the line
//! protocol cannot name. A value set through PB that is not a byte string or text (a list, a
//! number) reads on the line protocol as its Python repr, and so does one holding a line break.
//! Each line received is logged on stdout (`R get a`), with PB's failures; where it listens goes
//! on stderr, the line protocol first.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server2
//! terminal 2:  cargo run --bin kv -- set a hello                     # the line protocol
//!              cargo run --bin ipc-client -- --bytes --method get a  # PB: b'hello'
//! ```

#[path = "support/pb_store.rs"]
mod pb_store;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::address::listen_port;
use common::cli::duration::parse_duration;
use common::cli::poem::parse_size;
use common::cli::server::{LoggedService, run_logged_servers};
use common::endpoints::{DEFAULT_INTERFACE, ServerEndpoint};
use common::keyvalue::protocol::{Reply, Request};
use common::keyvalue::{Store, StoreOptions};
use common::log;
use common::protocol::{Address, Factory, Protocol};
use common::spread::jelly::Value;
use common::spread::pb::PBServerFactory;

use pb_store::{KeyValuePB, TypedStore};

/// Serves one key-value store over the training's line protocol and over Perspective Broker
/// (EuroPython 2011 training), logging on stdout. Listens on 127.0.0.1, ports 11211 and 8789,
/// unless told otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  keyvalue-server2 --ttl 60\n\
                  Then, elsewhere: kv set a hello; ipc-client --bytes --method get a"
)]
struct Options {
    /// The line protocol's port; 0 asks the system for any free port.
    #[arg(long, default_value_t = 11211, value_parser = listen_port)]
    port: u16,

    /// Perspective Broker's port; 0 asks the system for any free port.
    #[arg(long, default_value_t = 8789, value_parser = listen_port)]
    pb_port: u16,

    /// The interface to listen on (0.0.0.0 for every interface).
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_INTERFACE)]
    interface: String,

    /// How long an entry lives after it was last set: seconds (15) or with a unit (2s).
    #[arg(long, value_name = "DURATION", default_value = "15", value_parser = parse_duration)]
    ttl: Duration,

    /// The most the keys and values may take together, in bytes (or with a unit: 64KiB, 16MB);
    /// beyond it the least recently used entries are dropped. No bound unless given.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<usize>,
}

/// One line-protocol connection: each line a request, answered at once from the shared store.
struct LineProtocol {
    store: TypedStore,
}

impl LineHandler for LineProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        log::msg(format!("R {}", String::from_utf8_lossy(line)));
        let reply = match Request::parse(line) {
            Ok(request) => answer(&self.store, request),
            Err(bad) => bad.reply(),
        };
        lines.send_line(&reply.to_line());
    }
}

/// What the store says to `request`; its keys and values are byte strings to PB.
fn answer(store: &TypedStore, request: Request) -> Reply {
    match request {
        Request::Get(key) => match store.encoded(&TypedStore::bytes_key(&key)) {
            Some(encoded) => Reply::Value(key, TypedStore::bytes_value(&encoded)),
            None => Reply::GetNotFound(key),
        },
        Request::Set(key, value) => match store.set(Value::Bytes(key), &Value::Bytes(value)) {
            Ok(_) => Reply::Stored,
            Err(error) => Reply::ClientError(error.value.into_bytes()),
        },
        Request::Delete(key) => match store.delete(&Value::Bytes(key.clone())) {
            Ok(_) => Reply::Deleted(key),
            Err(_) => Reply::DelNotFound(key),
        },
    }
}

/// Makes a line protocol for every connection, all on the same store (named as `keyvalue-server`'s
/// factory, as the training reuses it, so that the log lines read the same).
struct KeyValueStoreFactory {
    store: TypedStore,
}

impl Factory for KeyValueStoreFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineReceiver::new(LineProtocol {
            store: self.store.clone(),
        })))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let line = [ServerEndpoint::tcp(options.port, &options.interface)];
    let pb = [ServerEndpoint::tcp(options.pb_port, &options.interface)];
    let store_options = StoreOptions {
        ttl: options.ttl,
        max_memory: options.max_memory,
    };
    run_logged_servers(|reactor| {
        let store = TypedStore::new(Store::new(reactor, store_options));
        let line_factory = Rc::new(KeyValueStoreFactory {
            store: store.clone(),
        });
        let pb_factory = Rc::new(PBServerFactory::new(Rc::new(KeyValuePB { store })));
        vec![
            LoggedService::new(&line, line_factory),
            LoggedService::new(&pb, pb_factory),
        ]
    })
}
