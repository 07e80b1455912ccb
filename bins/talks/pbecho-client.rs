//! The Perspective Broker echo client: talk 004 (Andrew Bennetts, "Network programming with
//! Twisted"), pp.21-22, the client of `pbecho.py`.
//!
//! It logs in (guest, password guest, unless told otherwise) with cred's challenge-response, then
//! sends two calls to its avatar back to back, without waiting: `echo("hello world")` and
//! `error()`. It prints `connected.` once both are on their way, `Message received: hello world`
//! when the echo comes back, and `error received: <class 'pbecho.DefinedError'>` when the error
//! does: the failure is trapped by the name of its class, which the server sent, as Twisted's
//! `failure.trap(DefinedError)` does. Then it stops, exit status 0.
//!
//! A refused login, a server that cannot be reached or does not answer within `--timeout`, or any
//! other failure is one line on stderr and exit status 1. It talks to our `pbecho-server` and to Twisted's own pbecho server alike.
//!
//! ```text
//! terminal 1:  cargo run --bin pbecho-server
//! terminal 2:  cargo run --bin pbecho-client                       # connected. / Message received: hello world / ...
//!              cargo run --bin pbecho-client -- --text 'bonjour'   # Message received: bonjour
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::new_reactor;
use common::cli::output::{program_name, report_error};
use common::cred::UnauthorizedLogin;
use common::defer::Failure;
use common::endpoints::ClientEndpoint;
use common::reactor::Reactor;
use common::spread::jelly::Value;
use common::spread::pb::{PBClientFactory, RemoteError, RemoteReference};
use common::{errln, outln};

/// The class the server's error() fails with, by the name the client traps it by.
const DEFINED_ERROR: &str = "pbecho.DefinedError";

/// Logs in to a pbecho server, calls echo and error, and prints their outcomes (talk 004,
/// pp.21-22).
#[derive(Parser)]
#[command(
    name = "pbecho-client",
    version,
    after_help = "Example, with pbecho-server running:\n  pbecho-client\n  \
                  pbecho-client 127.0.0.1:8787 --text bonjour"
)]
struct Options {
    /// The server: host:port, or an endpoint string (tcp:HOST:PORT, unix:PATH).
    #[arg(default_value = "localhost:8787", value_parser = ClientEndpoint::from_arg)]
    server: ClientEndpoint,

    /// The user name to log in with.
    #[arg(long, default_value = "guest")]
    user: String,

    /// The password.
    #[arg(long, default_value = "guest")]
    password: String,

    /// What to send to echo.
    #[arg(long, default_value = "hello world")]
    text: String,

    /// How long the whole exchange may take, connecting, logging in and both calls: seconds
    /// (2.5) or a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

/// How the run ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Still waiting (a signal stopped it, if it ends so).
    Running,
    /// Both calls answered as expected.
    Done,
    /// Something went wrong, and was reported.
    Failed,
}

/// The calls on the avatar, and what to print of their outcomes.
fn call_avatar(avatar: RemoteReference, text: String, reactor: Reactor, ending: Rc<Cell<Ending>>) {
    let failed = Rc::clone(&ending);
    avatar
        .call_remote("echo", vec![Value::Text(text)])
        .add_callback(|message: Value| {
            match &message {
                Value::Text(text) => outln!("Message received: {text}"),
                other => outln!("Message received: {other}"),
            }
            Ok::<(), Failure>(())
        })
        .add_errback(move |failure: Failure| {
            report_failure("echo", &failure);
            failed.set(Ending::Failed);
            Ok::<(), Failure>(())
        });
    // Holding the avatar until the error's outcome keeps it alive on the server for both calls;
    // dropping it then tells the server to log the avatar out.
    avatar
        .call_remote("error", Vec::new())
        .add_both(move |outcome: Result<Value, Failure>| {
            match outcome {
                Err(failure) if trapped(&failure, DEFINED_ERROR) => {
                    outln!("error received: <class '{DEFINED_ERROR}'>");
                    if ending.get() == Ending::Running {
                        ending.set(Ending::Done);
                    }
                }
                Err(failure) => {
                    report_failure("error", &failure);
                    ending.set(Ending::Failed);
                }
                Ok(value) => {
                    errln!(
                        "{}: error() answered {value} instead of failing",
                        program_name()
                    );
                    ending.set(Ending::Failed);
                }
            }
            drop(avatar);
            let _ = reactor.stop();
            Ok::<(), Failure>(())
        });
    outln!("connected.");
}

/// Whether `failure` is a remote failure of class `name` (or of a subclass): Twisted's `trap`.
fn trapped(failure: &Failure, name: &str) -> bool {
    failure
        .downcast_ref::<RemoteError>()
        .is_some_and(|error| error.check(name))
}

/// One line on stderr for a call that failed.
fn report_failure(method: &str, failure: &Failure) {
    match failure.downcast_ref::<RemoteError>() {
        Some(error) => errln!(
            "{}: {method} failed: {}: {}",
            program_name(),
            error.type_name,
            error.value
        ),
        None => report_error(format!("{method} failed: {}", failure.error())),
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let factory = PBClientFactory::new();
    let server = options.server.with_timeout(options.timeout);
    reactor.connect(&server, Rc::new(factory.clone()));

    let ending = Rc::new(Cell::new(Ending::Running));
    let (on_login, on_error) = (Rc::clone(&ending), Rc::clone(&ending));
    let (to_call, to_stop) = (reactor.clone(), reactor.clone());
    let (text, user) = (options.text, options.user.clone());
    factory
        .login(options.user.as_bytes(), options.password.as_bytes(), None)
        .add_callback(move |avatar: RemoteReference| {
            call_avatar(avatar, text, to_call, on_login);
            Ok::<(), Failure>(())
        })
        .add_errback(move |failure: Failure| {
            if trapped(&failure, UnauthorizedLogin::TYPE_NAME) {
                report_error(format!(
                    "login refused for {user}: wrong user name or password"
                ));
            } else {
                report_error(failure.error());
            }
            on_error.set(Ending::Failed);
            let _ = to_stop.stop();
            Ok::<(), Failure>(())
        });
    // A server that accepts and then says nothing (or not all) must not keep us for ever.
    let (watched, stopper, limit) = (Rc::clone(&ending), reactor.clone(), options.timeout);
    reactor.call_later(limit, move || {
        if watched.get() == Ending::Running {
            report_error(format!(
                "no answer within {}",
                TimeFormat::Human.show(limit)
            ));
            watched.set(Ending::Failed);
            let _ = stopper.stop();
        }
    });
    let _ = reactor.run();
    factory.disconnect();
    match ending.get() {
        Ending::Done => ExitCode::SUCCESS,
        Ending::Failed => ExitCode::FAILURE,
        Ending::Running => {
            report_error("interrupted before the answers came");
            ExitCode::FAILURE
        }
    }
}
