//! The key-value store's web pages over Perspective Broker: the EuroPython 2011 training's
//! `keyvalue_web2.py`, port 8000, the store being `keyvalue-pb` (or `keyvalue-server2`) on 8789.
//!
//! The pages of `keyvalue-web` (`support/keyvalue_site.rs`, the training's `makeSite`), over a
//! PB connection instead of the line protocol: `get`, `set` and `delete` are remote calls on the
//! store's root object, with the key and the value as byte strings, as the original's web front
//! sent them (so the line protocol of `keyvalue-server2` sees the same keys). What PB answers
//! shows: `/set` answers the key, not `STORED`, and a value may hold anything, spaces and line
//! breaks included. `/delete` answers the key and finishes the page, where the original wrote
//! Python's `None` and never finished it. A miss is `NOT FOUND: 'K'`, as on `keyvalue-web`.
//!
//! The original connected first and listened only once it had the root object, and had no page to
//! serve once the store was gone. Ours listens at once and connects meanwhile: pages answer 503
//! while there is no root object, and the connection is made again, as `keyvalue-web` makes its
//! own, after a failed attempt or a lost connection (waiting longer each time, up to
//! `--max-retry-delay`); a call the store does not answer within `--timeout` is a 504. The log
//! (twistd's lines, `listening` once the root object is first there, the connection's comings and
//! goings, one access line per request) goes to stdout.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-pb                          # the store
//! terminal 2:  cargo run --bin keyvalue-web2                        # the log
//! terminal 3:  curl 'http://127.0.0.1:8000/set?key=a&value=hi+there' # a
//!              curl 'http://127.0.0.1:8000/get?key=a'               # hi there
//! ```

#[path = "support/keyvalue_site.rs"]
mod keyvalue_site;

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::server::ListenOptions;
use common::defer::{Deferred, Failure, TimeoutError};
use common::log;
use common::protocol::Backoff;
use common::reactor::Reactor;
use common::spread::jelly::Value;
use common::spread::pb::{PBClientFactory, RemoteError, RemoteReference};
use common::web::{SiteLog, serve_site};
use http::StatusCode;

use keyvalue_site::{Backend, Operation, Refusal, RetryOptions, make_site};

/// The training's port.
const PORT: u16 = 8000;

/// Web pages to get, set and delete the keys of the key-value store over Perspective Broker
/// (keyvalue-pb), logging each request on stdout (EuroPython 2011 training). Listens on
/// 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example, with keyvalue-pb running:\n  keyvalue-web2\nThen open \
                  http://127.0.0.1:8000/ or: curl 'http://127.0.0.1:8000/get?key=a'"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// The PB store, as HOST:PORT (a bare port means 127.0.0.1).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8789")]
    store: ServerAddress,

    /// How long to wait for the connection, and then for each answer: seconds (10) or a number
    /// with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    timeout: Duration,

    #[command(flatten)]
    retry: RetryOptions,
}

/// The store's root object, while there is a connection to give it, as every page shares it; the
/// connection is made again whenever it fails or ends.
struct RemoteKeyValue {
    /// One factory for every attempt: it gives the root object of its latest connection.
    factory: PBClientFactory,
    root: RefCell<Option<RemoteReference>>,
    reactor: Reactor,
    store: ServerAddress,
    timeout: Duration,
    backoff: Backoff,
    /// Attempts since the last connection was made: where in the backoff we are.
    retries: Cell<u32>,
    /// Whether the outage going on has been logged (it is logged once, not at every attempt).
    down_told: Cell<bool>,
    /// Whether a connection was ever made (the first is logged as `listening`, like twistd).
    ever_connected: Cell<bool>,
    /// `HOST:PORT`, for the pages and the log.
    address: String,
}

impl RemoteKeyValue {
    /// Starts connecting to the store.
    fn connect(reactor: &Reactor, options: &Options) -> Rc<RemoteKeyValue> {
        let store = Rc::new(RemoteKeyValue {
            factory: PBClientFactory::new(),
            root: RefCell::new(None),
            reactor: reactor.clone(),
            store: options.store.clone(),
            timeout: options.timeout,
            backoff: options.retry.backoff(),
            retries: Cell::new(0),
            down_told: Cell::new(false),
            ever_connected: Cell::new(false),
            address: options.store.to_string(),
        });
        store.attempt();
        store
    }

    /// One attempt: connect, and wait for the root object (or for the attempt to fail).
    fn attempt(self: &Rc<Self>) {
        let (host, port) = (&self.store.host, self.store.port);
        let factory = Rc::new(self.factory.clone());
        self.reactor.connect_tcp(host, port, factory, self.timeout);
        let (connected, failed) = (Rc::clone(self), Rc::clone(self));
        self.factory.get_root_object().add_callbacks(
            move |root: RemoteReference| {
                connected.connected(root);
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                if !failed.down_told.replace(true) {
                    log::msg(format!(
                        "The key-value store at {} is not reachable: {} Trying again until it is.",
                        failed.address,
                        failure.error()
                    ));
                }
                failed.retry_later();
                Ok::<(), Failure>(())
            },
        );
    }

    /// The root object is there: pages may use it until the connection ends, and then the next
    /// attempt is scheduled.
    fn connected(self: &Rc<Self>, root: RemoteReference) {
        self.retries.set(0);
        self.down_told.set(false);
        if self.ever_connected.replace(true) {
            log::msg(format!(
                "Connected to the key-value store at {}",
                self.address
            ));
        } else {
            log::msg("listening");
        }
        let lost = Rc::clone(self);
        root.notify_on_disconnect(move || {
            lost.root.borrow_mut().take();
            // This line tells of the outage: the failed attempts that follow need not.
            lost.down_told.set(true);
            log::msg(format!(
                "Lost the connection to the key-value store at {}. Reconnecting.",
                lost.address
            ));
            lost.retry_later();
        });
        *self.root.borrow_mut() = Some(root);
    }

    /// Schedules the next attempt, after the backoff's wait.
    fn retry_later(self: &Rc<Self>) {
        let retry = self.retries.get();
        self.retries.set(retry.saturating_add(1));
        let again = Rc::clone(self);
        self.reactor
            .call_later(self.backoff.random_delay(retry), move || again.attempt());
    }

    fn unreachable(&self) -> String {
        format!(
            "The key-value store at {} is not reachable.\n",
            self.address
        )
    }
}

/// A remote call's answer as a page's body: bytes as they are, text as UTF-8, anything else as
/// Python's repr.
fn body_of(value: Value) -> Vec<u8> {
    match value {
        Value::Bytes(bytes) => bytes,
        Value::Text(text) => text.into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

impl Backend for RemoteKeyValue {
    fn request(
        &self,
        operation: Operation,
        key: &str,
        value: &str,
    ) -> Result<Deferred<Vec<u8>>, Refusal> {
        let Some(root) = self.root.borrow().clone() else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, self.unreachable()));
        };
        let key_bytes = Value::Bytes(key.as_bytes().to_vec());
        let call = match operation {
            Operation::Get => root.call_remote("get", vec![key_bytes]),
            Operation::Set => root.call_remote(
                "set",
                vec![key_bytes, Value::Bytes(value.as_bytes().to_vec())],
            ),
            Operation::Delete => root.call_remote("delete", vec![key_bytes]),
        };
        // A miss reads as keyvalue-web's: the key as the page received it, in quotes.
        let missing = key.to_owned();
        let answered = call.add_callbacks(
            move |answer: Value| {
                Ok::<_, Failure>(match operation {
                    Operation::Delete => missing.into_bytes(),
                    Operation::Get | Operation::Set => body_of(answer),
                })
            },
            |failure: Failure| Err::<Vec<u8>, Failure>(failure),
        );
        Ok(answered.add_timeout(&self.reactor, self.timeout))
    }

    fn failed(&self, failure: &Failure) -> Result<Vec<u8>, Refusal> {
        if let Some(error) = failure.downcast_ref::<RemoteError>()
            && error.check("builtins.KeyError")
        {
            return Ok(format!("NOT FOUND: {}", quoted(&error.value)).into_bytes());
        }
        if failure.check::<TimeoutError>() {
            return Err((
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "The key-value store at {} did not answer within {}.\n",
                    self.address,
                    TimeFormat::Human.show(self.timeout)
                ),
            ));
        }
        if self.root.borrow().is_none() {
            return Err((StatusCode::SERVICE_UNAVAILABLE, self.unreachable()));
        }
        let why = failure.error().to_string();
        log::msg(format!("The key-value store at {}: {why}", self.address));
        Err((
            StatusCode::BAD_GATEWAY,
            format!("The key-value store at {}: {why}.\n", self.address),
        ))
    }
}

/// The key of a KeyError as keyvalue-web shows it: `'a'`, whether the store said `b'a'` or `'a'`.
fn quoted(repr: &str) -> String {
    repr.strip_prefix('b').unwrap_or(repr).to_owned()
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |reactor| {
        make_site(RemoteKeyValue::connect(reactor, &options))
    })
}
