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

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::server::ListenOptions;
use common::defer::{Deferred, Failure};
use common::endpoints::ClientEndpoint;
use common::keyvalue::protocol::{valid_key, valid_value};
use common::keyvalue::{ClientError, KeyValueClient};
use common::log;
use common::protocol::{Backoff, ReconnectEvent, ReconnectingClientFactory};
use common::reactor::Reactor;
use common::web::{Branch, Render, RenderResult, Request, Resource, SiteLog, serve_site};
use http::StatusCode;

use keyvalue_clients::ServerOptions;

/// The training's port.
const PORT: u16 = 8000;

/// The page at `/`: a form for each of the three pages.
const INDEX: &str = r#"<html><body>
    <form action="/get">
        <h2>Get</h2>
        key: <input type="text" name="key">
        <input type="submit" value="Get">
    </form>
    <form action="/set">
        <h2>Set</h2>
        key: <input type="text" name="key">
        value: <input type="text" name="value">
        <input type="submit" value="Set">
    </form>
    <form action="/delete">
        <h2>Delete</h2>
        key: <input type="text" name="key">
        <input type="submit" value="Delete">
    </form>
</body></html>
"#;

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

    /// The longest wait between two attempts to reach the store while it is down: seconds (5) or
    /// a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "5", value_parser = parse_duration)]
    max_retry_delay: Duration,
}

/// The page at `/` (the root's child `""`), a plain resource as in the original: its whole body,
/// with the site's `Content-Length` and default `Content-Type: text/html`.
struct Index;

impl Resource for Index {
    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body(INDEX))
    }
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
        let backoff = Backoff {
            initial_delay: Duration::from_millis(250).min(options.max_retry_delay),
            factor: 2.0,
            max_delay: options.max_retry_delay,
            jitter: 0.1,
        };
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

/// Which page.
#[derive(Clone, Copy)]
enum Operation {
    Get,
    Set,
    Delete,
}

/// `/get`, `/set` or `/delete`.
struct StorePage {
    operation: Operation,
    store: Store,
}

impl Resource for StorePage {
    fn render_get(&self, request: &Request) -> RenderResult {
        // A missing argument is a failure, which the site answers with a 500.
        let key = request.require_arg("key")?.to_owned();
        let value = match self.operation {
            Operation::Set => request.require_arg("value")?.to_owned(),
            Operation::Get | Operation::Delete => String::new(),
        };
        if !valid_key(key.as_bytes()) {
            return Ok(refuse(
                request,
                StatusCode::BAD_REQUEST,
                "A key must be one word: not empty, without spaces, tabs, CR or LF.\n",
            ));
        }
        if matches!(self.operation, Operation::Set) && !valid_value(value.as_bytes()) {
            return Ok(refuse(
                request,
                StatusCode::BAD_REQUEST,
                "A value must not be empty, hold a CR or LF, or start or end with a space.\n",
            ));
        }
        let Some(client) = self.store.connection.current() else {
            return Ok(refuse(
                request,
                StatusCode::SERVICE_UNAVAILABLE,
                &self.store.unreachable(),
            ));
        };

        // The body the store's answer makes, once it is in.
        let body: Deferred<Vec<u8>> = match self.operation {
            Operation::Get => client.get(key.as_bytes()),
            Operation::Set => client
                .set(key.as_bytes(), value.as_bytes())
                .add_callback(|()| Ok::<_, Failure>(b"STORED".to_vec())),
            Operation::Delete => {
                let deleted = key.clone().into_bytes();
                client
                    .delete(key.as_bytes())
                    .add_callback(move |()| Ok::<_, Failure>(deleted))
            }
        };
        let (request, store) = (request.clone(), self.store.clone());
        body.add_both(move |answer| {
            write_answer(&request, &store, answer);
            Ok::<(), Failure>(())
        });
        Ok(Render::NotDoneYet)
    }
}

/// Writes the page once the store has answered (or could not): the body, `NOT FOUND: 'K'` for a
/// miss, or an error status with a sentence saying what went wrong.
fn write_answer(request: &Request, store: &Store, answer: Result<Vec<u8>, Failure>) {
    // A client that left gets nothing (and finishing its request would be an error).
    if request.is_lost() {
        return;
    }
    let body = match answer {
        Ok(body) => body,
        Err(failure) => match failure.downcast_ref::<ClientError>() {
            // The message of the training's KeyError: the key in quotes.
            Some(ClientError::NotFound(_)) => {
                format!("NOT FOUND: {}", failure.error()).into_bytes()
            }
            Some(ClientError::ConnectionLost(_)) => {
                return stream_refusal(
                    request,
                    StatusCode::SERVICE_UNAVAILABLE,
                    &store.unreachable(),
                );
            }
            Some(ClientError::Timeout(limit)) => {
                let sentence = format!(
                    "The key-value store at {} did not answer within {}.\n",
                    store.address,
                    TimeFormat::Human.show(*limit)
                );
                return stream_refusal(request, StatusCode::GATEWAY_TIMEOUT, &sentence);
            }
            _ => {
                let why = failure.error().to_string();
                log::msg(format!("The key-value store at {}: {why}", store.address));
                let sentence = format!("The key-value store at {}: {why}.\n", store.address);
                return stream_refusal(request, StatusCode::BAD_GATEWAY, &sentence);
            }
        },
    };
    request.write(&body);
    request.finish();
}

/// An error answer given at once, as plain text.
fn refuse(request: &Request, status: StatusCode, sentence: &str) -> Render {
    request.set_response_code(status);
    let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
    Render::body(sentence.to_owned())
}

/// An error answer given later, once the store has failed the request.
fn stream_refusal(request: &Request, status: StatusCode, sentence: &str) {
    request.set_response_code(status);
    let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
    request.write(sentence.as_bytes());
    request.finish();
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |reactor| {
        let store = Store::connect(reactor, &options);
        let root = Rc::new(Branch::new());
        root.put_child("", Rc::new(Index));
        for (name, operation) in [
            ("get", Operation::Get),
            ("set", Operation::Set),
            ("delete", Operation::Delete),
        ] {
            let page = StorePage {
                operation,
                store: store.clone(),
            };
            root.put_child(name, Rc::new(page));
        }
        root
    })
}
