//! The smallest Perspective Broker server: the EuroPython 2011 training's `ipcs.py`, port 8789.
//!
//! Its root object has one remote method, `get`, which answers its argument unchanged, in its own
//! type. Any other method fails with `NoSuchMethod`. It prints nothing; where it listens goes on
//! stderr. Its client is `ipc-client`; Twisted's PB clients can call it too.
//!
//! ```text
//! terminal 1:  cargo run --bin ipc-server
//! terminal 2:  cargo run --bin ipc-client             # key
//!              cargo run --bin ipc-client -- hello    # hello
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::spread::jelly::Value;
use common::spread::pb::{Answer, CallContext, PBServerFactory, Referenceable, RemoteError};

/// The training's port for PB.
const PORT: u16 = 8789;

/// Serves a PB root whose get(x) answers x (the training's ipcs.py). Listens on 127.0.0.1:8789
/// unless told otherwise.
#[derive(Parser)]
#[command(version, after_help = "Example:\n  ipc-server &\n  ipc-client hello")]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

/// The root: `get(value)` gives the value back.
struct Echo;

impl Referenceable for Echo {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        if name != "get" {
            return Answer::error(RemoteError::no_such_method(name));
        }
        match <[Value; 1]>::try_from(args) {
            Ok([value]) if kwargs.is_empty() => Answer::value(value),
            Ok(_) | Err(_) => Answer::error(RemoteError::exception(
                "builtins.TypeError",
                "Echo.remote_get() takes 2 positional arguments",
            )),
        }
    }
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    let factory = Rc::new(PBServerFactory::new(Rc::new(Echo)));
    run_server(|reactor| listen_on(reactor, &endpoints, factory))
}
