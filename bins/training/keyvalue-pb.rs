//! The key-value store over Perspective Broker: the EuroPython 2011 training, slides "Perspective
//! Broker" and "PB Server" (`keyvalue_pb.py`), port 8789.
//!
//! The store's root object has three remote methods: `get(key)` answers the value, `set(key,
//! value)` stores it and answers the key, `delete(key)` answers `None`. A missing key fails with
//! Python's `KeyError`, whose text is the key's repr (`b'a'` for a byte string, `'a'` for text),
//! and an unknown method with `NoSuchMethod`; both are logged (`Peer will receive following PB
//! traceback:`), as Twisted logs them. Keys and values are any Python values and keep their types
//! (see `support/pb_store.rs`); every entry lives 15 seconds after it was last set (`--ttl`), as
//! in the line protocol's `keyvalue-server`. The log is on stdout, between twistd's start and stop
//! lines; where it listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-pb
//! terminal 2:  cargo run --bin ipc-client -- --method set a 'two words'   # a
//!              cargo run --bin ipc-client -- --method get a          # two words
//!              "$(scripts/interop/pb.sh)" scripts/interop/twisted/keyvalue_pb_client.py 8789
//!                                     # Twisted's own PB, calling it (see scripts/interop/pb.sh)
//! ```

#[path = "support/pb_store.rs"]
mod pb_store;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_duration;
use common::cli::poem::parse_size;
use common::cli::server::{ListenOptions, run_logged_server};
use common::keyvalue::{Store, StoreOptions};
use common::spread::pb::PBServerFactory;

use pb_store::{KeyValuePB, TypedStore};

/// The training's port for PB.
const PORT: u16 = 8789;

/// Serves the training's key-value store over Perspective Broker: get, set and delete on the root
/// object, logging on stdout (EuroPython 2011 training). Listens on 127.0.0.1:8789 unless told
/// otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  keyvalue-pb --ttl 2s\n\
                  Then, elsewhere: ipc-client --method set a hello; ipc-client --method get a"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// How long an entry lives after it was last set: seconds (15) or with a unit (2s).
    #[arg(long, value_name = "DURATION", default_value = "15", value_parser = parse_duration)]
    ttl: Duration,

    /// The most the keys and values may take together, in bytes (or with a unit: 64KiB, 16MB);
    /// beyond it the least recently used entries are dropped. No bound unless given.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<usize>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    let store_options = StoreOptions {
        ttl: options.ttl,
        max_memory: options.max_memory,
    };
    run_logged_server(&endpoints, |reactor| {
        let store = TypedStore::new(Store::new(reactor, store_options));
        Rc::new(PBServerFactory::new(Rc::new(KeyValuePB { store })))
    })
}
