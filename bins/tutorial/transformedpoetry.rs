//! The Poetry Transform Server: tutorial Part 12, "A Poetry Transformation Server"
//! (`twisted-server-1/transformedpoetry.py`).
//!
//! Our first server that listens before it speaks: the client sends a request, the server answers
//! it and hangs up. Requests and replies are netstrings (`<length>:<bytes>,`), so both sides know
//! where a message ends without closing the connection; we do not frame them ourselves but build on
//! the ready-made `NetstringReceiver` of `common::basic`, as the tutorial builds on Twisted's.
//!
//! The program has three layers, as in the tutorial: the *service* (the transforms themselves, plain
//! functions from text to text that know nothing of networks), the *protocol* (one connection:
//! parse `name.poem`, send back the transformed poem), and the *factory* (what the connections
//! share: the service). They live in `support/transform_server.rs`, which Part 21's `poetryd`
//! serves too; this program is their `main`: the options, the report of refused requests on
//! stderr, and the idle timeout.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                 # terminal 1
//! scripts/transform-test.sh 10001                                   # terminal 2: 15:here is my poem,
//! cargo run --bin fastpoetry -- --port 10002 poetry/science.txt     # then, for Part 13:
//! cargo run --bin get-poetry-6 -- 10001 10002                       # a poem, lower-cased
//! ```

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_timeout;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::server::listen_and_run;
use common::errln;
use common::protocol::IdleTimeout;

#[path = "support/transform_server.rs"]
mod transform_server;

use transform_server::{Outcome, TransformFactory, TransformService, transforms_help};

/// Transform poems sent as netstrings (tutorial Part 12).
///
/// A client sends one netstring, `<length>:<name>.<poem>,` (the length counts the bytes of
/// `<name>.<poem>`), and gets back the transformed poem as one netstring; then the server closes
/// the connection. A request it cannot serve closes the connection with no reply, and is logged on
/// stderr. Requests sent one after another before the close are all answered, in order.
#[derive(Debug, Parser)]
#[command(name = "transformedpoetry", version, after_help = after_help())]
struct Options {
    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// Close a connection whose client has sent nothing for this long: seconds (30) or a number
    /// with a unit (500ms). Clients that connect and say nothing must not use up the server.
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    idle_timeout: Duration,
}

/// The help's closing part: the transforms, straight from the service's table, and an example.
fn after_help() -> String {
    let mut text = transforms_help();
    text += "\nExample:\n  transformedpoetry --port 10001\n  \
             scripts/transform-test.sh 10001        # prints 15:here is my poem,";
    text
}

fn main() -> ExitCode {
    let options = Options::parse();
    // A closed log pipe must not take the server down with it.
    common::cli::output::keep_serving_without_readers();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let factory = TransformFactory::new(
        &reactor,
        Rc::new(TransformService::default()),
        |peer, outcome| {
            // Refused requests only: a served one is not news.
            if let Outcome::Refused(_) = outcome {
                errln!("{}", outcome.describe(peer.short()));
            }
        },
    );
    let factory = Rc::new(IdleTimeout::new(&reactor, factory, options.idle_timeout));
    listen_and_run(&reactor, options.port, &options.iface, factory, |port| {
        format!("Serving transforms on {}.", port.get_host())
    })
}
