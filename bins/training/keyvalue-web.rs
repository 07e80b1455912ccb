//! The key-value store's web pages: the EuroPython 2011 training's web front of its store
//! (`keyvalue_web.py`), port 8000.
//!
//! Three pages over the line-protocol client of [`common::keyvalue::client`]: `/get?key=K`
//! answers the value (or `NOT FOUND: 'K'`), `/set?key=K&value=V` answers `STORED`, and
//! `/delete?key=K` answers the key (or `NOT FOUND: 'K'`); `/` is a page of three forms that ask
//! them. Each page sends its request to the store and returns `NotDoneYet`; the Deferred of the
//! store's answer writes the page and finishes it. All pages share one connection to the store,
//! whose answers come in order. A missing `key` (or `value`) is a 500, as in the original. The log
//! (twistd's lines, one access line per request) goes to stdout.
//!
//! What the original did badly is fixed. It connected to the store first and listened only once
//! connected: with the store down, the web server never started, and with the store gone later,
//! every page waited for ever. Here the pages are served at once, a
//! [`ReconnectingClientFactory`] keeps the store's connection up (trying again, less and less
//! often, while the store is down), and while there is no connection a page answers 503 saying
//! so; a store that does not answer within `--timeout` makes a 504. A key or value that the line
//! protocol cannot carry (a CR or LF, which would smuggle in a request of its own, a space in the
//! key, an empty value) is refused with 400 and never sent. A value may hold spaces.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server                     # the store
//! terminal 2:  cargo run --bin keyvalue-web                        # the log
//! terminal 3:  curl 'http://127.0.0.1:8000/set?key=a&value=hello'  # STORED
//!              curl 'http://127.0.0.1:8000/get?key=a'              # hello (or open / in a browser)
//! ```

#[path = "support/keyvalue_clients.rs"]
mod keyvalue_clients;
#[path = "support/keyvalue_site.rs"]
mod keyvalue_site;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::duration::TimeFormat;
use common::cli::server::ListenOptions;
use common::defer::{Deferred, Failure};
use common::endpoints::ClientEndpoint;
use common::keyvalue::protocol::{valid_key, valid_value};
use common::keyvalue::{ClientError, KeyValueClient};
use common::log;
use common::protocol::{ReconnectEvent, ReconnectingClientFactory};
use common::reactor::Reactor;
use common::web::{SiteLog, serve_site};
use http::StatusCode;

use keyvalue_clients::ServerOptions;
use keyvalue_site::{Backend, Operation, Refusal, RetryOptions, make_site};

/// The training's port.
const PORT: u16 = 8000;

/// Web pages to get, set and delete the keys of the training's key-value store (keyvalue-server),
/// logging each request on stdout (EuroPython 2011 training). Serves even while the store is down
/// (its pages then say so), and reconnects to it on its own. Listens on 127.0.0.1:8000 unless told
/// otherwise.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example, with keyvalue-server running:\n  keyvalue-web\nThen open \
                  http://127.0.0.1:8000/ or: curl 'http://127.0.0.1:8000/get?key=a'"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    store: ServerOptions,

    #[command(flatten)]
    retry: RetryOptions,
}

/// The connection to the store, as every page shares it.
#[derive(Clone)]
struct Store {
    connection: ReconnectingClientFactory<KeyValueClient>,
    /// `HOST:PORT`, for the pages and the log.
    address: Rc<str>,
}

impl Store {
    /// Starts connecting to the store, and logs when the connection comes and goes (an outage is
    /// logged once, not at every attempt).
    fn connect(reactor: &Reactor, options: &Options) -> Store {
        let server = &options.store.server;
        let endpoint = ClientEndpoint::Tcp {
            host: server.host.clone(),
            port: server.port,
            timeout: options.store.timeout,
        };
        let backoff = options.retry.backoff();
        let (clock, timeout) = (reactor.clone(), options.store.timeout);
        let connection = ReconnectingClientFactory::new(reactor, endpoint, backoff, move || {
            KeyValueClient::new(&clock, Some(timeout))
        });
        let address: Rc<str> = server.to_string().into();
        let (named, down_told) = (Rc::clone(&address), Cell::new(false));
        connection.on_event(move |event| match event {
            ReconnectEvent::Connected(_) => {
                down_told.set(false);
                log::msg(format!("Connected to the key-value store at {named}"));
            }
            ReconnectEvent::Failed { reason, .. } if !down_told.replace(true) => {
                log::msg(format!(
                    "The key-value store at {named} is not reachable: {reason} Trying again \
                     until it is."
                ));
            }
            ReconnectEvent::Failed { .. } => {}
            ReconnectEvent::Lost { reason, .. } => {
                // This line tells of the outage: the failed attempts that follow need not.
                down_told.set(true);
                log::msg(format!(
                    "Lost the connection to the key-value store at {named}: {reason} \
                     Reconnecting."
                ));
            }
        });
        connection.start();
        Store {
            connection,
            address,
        }
    }

    /// The answer of a page while the store cannot be asked.
    fn unreachable(&self) -> String {
        format!(
            "The key-value store at {} is not reachable.\n",
            self.address
        )
    }
}

impl Backend for Store {
    fn request(
        &self,
        operation: Operation,
        key: &str,
        value: &str,
    ) -> Result<Deferred<Vec<u8>>, Refusal> {
        if !valid_key(key.as_bytes()) {
            return Err((
                StatusCode::BAD_REQUEST,
                "A key must be one word: not empty, without spaces, tabs, CR or LF.\n".to_owned(),
            ));
        }
        if operation == Operation::Set && !valid_value(value.as_bytes()) {
            return Err((
                StatusCode::BAD_REQUEST,
                "A value must not be empty, hold a CR or LF, or start or end with a space.\n"
                    .to_owned(),
            ));
        }
        let Some(client) = self.connection.current() else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, self.unreachable()));
        };
        Ok(match operation {
            Operation::Get => client.get(key.as_bytes()),
            Operation::Set => client
                .set(key.as_bytes(), value.as_bytes())
                .add_callback(|()| Ok::<_, Failure>(b"STORED".to_vec())),
            Operation::Delete => {
                let deleted = key.as_bytes().to_vec();
                client
                    .delete(key.as_bytes())
                    .add_callback(move |()| Ok::<_, Failure>(deleted))
            }
        })
    }

    fn failed(&self, failure: &Failure) -> Result<Vec<u8>, Refusal> {
        match failure.downcast_ref::<ClientError>() {
            // The message of the training's KeyError: the key in quotes.
            Some(ClientError::NotFound(_)) => {
                Ok(format!("NOT FOUND: {}", failure.error()).into_bytes())
            }
            Some(ClientError::ConnectionLost(_)) => {
                Err((StatusCode::SERVICE_UNAVAILABLE, self.unreachable()))
            }
            Some(ClientError::Timeout(limit)) => Err((
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "The key-value store at {} did not answer within {}.\n",
                    self.address,
                    TimeFormat::Human.show(*limit)
                ),
            )),
            _ => {
                let why = failure.error().to_string();
                log::msg(format!("The key-value store at {}: {why}", self.address));
                Err((
                    StatusCode::BAD_GATEWAY,
                    format!("The key-value store at {}: {why}.\n", self.address),
                ))
            }
        }
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |reactor| {
        make_site(Rc::new(Store::connect(reactor, &options)))
    })
}
