//! The smallest Perspective Broker client: the EuroPython 2011 training's `ipc.py`.
//!
//! It connects to the PB server on 127.0.0.1:8789, calls `get("key")` on its root object, prints
//! the answer (`key`) and stops, exit status 0. It can call any method of any PB root with other
//! arguments (`--method set a hello`, text unless `--bytes`), so it is also a command-line client
//! of `keyvalue-pb`. The answer is printed as Python's print shows it (text as it is, anything
//! else as its repr). A failed call is one line on stderr, `ipc-client: builtins.KeyError: 'a'`,
//! and exit status 1; so is a server that cannot be reached or does not answer within `--timeout`
//! (the training's client printed the error and went on waiting for ever).
//!
//! ```text
//! terminal 1:  cargo run --bin ipc-server
//! terminal 2:  cargo run --bin ipc-client                       # key
//!
//! terminal 1:  cargo run --bin keyvalue-pb
//! terminal 2:  cargo run --bin ipc-client -- --method set a 1   # a
//!              cargo run --bin ipc-client -- --method get b     # ipc-client: builtins.KeyError: 'b'
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::new_reactor;
use common::cli::output::{program_name, report_error};
use common::defer::Failure;
use common::spread::jelly::Value;
use common::spread::pb::{PBClientFactory, RemoteError, RemoteReference};
use common::{errln, outln};

/// Calls a method of a PB server's root object and prints the answer (the training's ipc.py).
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples, with ipc-server or keyvalue-pb running:\n  ipc-client\n  \
                  ipc-client --method set a hello\n  ipc-client --bytes --method get a"
)]
struct Options {
    /// The PB server, as HOST:PORT (a bare port means 127.0.0.1).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8789")]
    server: ServerAddress,

    /// The method of the root object to call.
    #[arg(long, default_value = "get")]
    method: String,

    /// Send the arguments as byte strings (Python's bytes) rather than text.
    #[arg(long)]
    bytes: bool,

    /// How long connecting and then the call may take: seconds (10) or a number with a unit
    /// (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    timeout: Duration,

    /// The arguments. [default: key]
    #[arg(value_name = "ARG")]
    args: Vec<String>,
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
    let words = if options.args.is_empty() {
        vec!["key".to_owned()]
    } else {
        options.args
    };
    let args: Vec<Value> = words
        .into_iter()
        .map(|word| match options.bytes {
            true => Value::Bytes(word.into_bytes()),
            false => Value::Text(word),
        })
        .collect();

    let factory = PBClientFactory::new();
    let (host, port) = (&options.server.host, options.server.port);
    reactor.connect_tcp(host, port, Rc::new(factory.clone()), options.timeout);
    // Set when the answer or the failure comes; still unset if a signal stopped the wait.
    let status = Rc::new(Cell::new(None));
    let (to_set, to_stop, method) = (Rc::clone(&status), reactor.clone(), options.method);
    factory
        .get_root_object()
        .add_callback(move |root: RemoteReference| root.call_remote(&method, args))
        .add_both(move |outcome: Result<Value, Failure>| {
            to_set.set(Some(report(outcome)));
            let _ = to_stop.stop();
            Ok::<(), Failure>(())
        });
    // A server that accepts and then says nothing must not keep us for ever.
    let (watched, stopper, limit) = (Rc::clone(&status), reactor.clone(), options.timeout);
    reactor.call_later(limit, move || {
        if watched.get().is_none() {
            report_error(format!(
                "no answer within {}",
                TimeFormat::Human.show(limit)
            ));
            watched.set(Some(1));
            let _ = stopper.stop();
        }
    });
    let _ = reactor.run();
    factory.disconnect();
    match status.get() {
        Some(code) => ExitCode::from(code),
        None => {
            report_error("interrupted before the answer came");
            ExitCode::FAILURE
        }
    }
}

/// Prints the answer, or the failure on stderr; the exit status it calls for.
fn report(outcome: Result<Value, Failure>) -> u8 {
    match outcome {
        Ok(Value::Text(text)) => outln!("{text}"),
        Ok(other) => outln!("{other}"),
        Err(failure) => {
            match failure.downcast_ref::<RemoteError>() {
                Some(error) => errln!("{}: {}: {}", program_name(), error.type_name, error.value),
                None => report_error(failure.error()),
            }
            return 1;
        }
    }
    0
}
