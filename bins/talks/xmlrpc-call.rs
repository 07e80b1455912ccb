//! A command-line XML-RPC client: the other side of talk 004's XML-RPC server (Andrew Bennetts,
//! "Network programming with Twisted", pp.16-17), for people.
//!
//! `xmlrpc-call URL METHOD [ARG...]` calls METHOD on the server at URL with the arguments, each
//! typed from how it looks (`42` an int, `4.2` a double, `true` a boolean, `"42"` a string,
//! `[1, 2]` and `{"k": 1}` JSON for arrays and structs, anything else a string), and prints the
//! answer as one line of JSON, or as Python's repr with `--repr`. A fault is one line on stderr
//! (`xmlrpc-call: Fault 7: Out of cheese.`) and exit status 1; so is a server that cannot be
//! reached. The call is the library's `Proxy::call_remote`, a Deferred, on the reactor.
//!
//! ```text
//! terminal 1:  cargo run --bin xmlrpc-server
//! terminal 2:  cargo run --bin xmlrpc-call -- http://127.0.0.1:7080/ echo 1 two 3.5 '{"k": [true]}'
//!                                              # [1, "two", 3.5, {"k": [true]}]
//!              cargo run --bin xmlrpc-call -- --repr http://127.0.0.1:7080/ echo 1 two
//!                                              # [1, 'two']
//!              cargo run --bin xmlrpc-call -- http://127.0.0.1:7080/ nosuch
//!                                              # xmlrpc-call: Fault 8001: procedure nosuch not found
//! ```

#[path = "support/xmlrpc_text.rs"]
mod xmlrpc_text;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::http::{HttpOptions, parse_url};
use common::cli::new_reactor;
use common::cli::output::{program_name, report_error};
use common::defer::Failure;
use common::web::client::error_line;
use common::web::xmlrpc::{Fault, Proxy, Value, python_repr};
use common::{errln, outln};

use xmlrpc_text::{json_line, typed_arg};

/// Call a method of an XML-RPC server and print its answer (the client side of talk 004,
/// pp.16-17).
#[derive(Parser)]
#[command(
    name = "xmlrpc-call",
    version,
    after_help = "Arguments are typed from their text: 42 (int), 4.2 (double), true/false \
                  (boolean), null (nil), \"quoted\" (string, read as JSON), [..] and {..} \
                  (JSON: array, struct), anything else a string. The answer is printed as JSON \
                  (dates and base64 as their text), or with --repr as Python shows it.\n\n\
                  Example, with xmlrpc-server running:\n  \
                  xmlrpc-call http://127.0.0.1:7080/ echo 1 two '[3.5, true]'\n  \
                  xmlrpc-call --repr http://127.0.0.1:7080/ hello"
)]
struct Options {
    /// Print the answer as Python's repr shows it (base64 as bytes, dates as datetime).
    #[arg(long)]
    repr: bool,

    #[command(flatten)]
    http: HttpOptions,

    /// The server: an http:// or https:// URL.
    #[arg(value_name = "URL", value_parser = parse_url)]
    url: String,

    /// The method to call: `echo`, `system.listMethods`.
    #[arg(value_name = "METHOD")]
    method: String,

    /// Its arguments.
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    args: Vec<String>,
}

/// Prints the outcome of the call; gives the exit status it calls for.
fn report(outcome: Result<Value, Failure>, as_repr: bool) -> u8 {
    match outcome {
        Ok(value) if as_repr => outln!("{}", python_repr(&value)),
        Ok(value) => outln!("{}", json_line(&value)),
        Err(failure) => {
            match failure.downcast_ref::<Fault>() {
                Some(fault) => errln!("{}: {fault}", program_name()),
                None => report_error(error_line(&failure)),
            }
            return 1;
        }
    }
    0
}

fn main() -> ExitCode {
    let options = Options::parse();
    let args: Result<Vec<Value>, String> = options.args.iter().map(|arg| typed_arg(arg)).collect();
    let agent = options.http.settings().and_then(|settings| {
        settings
            .build()
            .map_err(|failure| failure.error().to_string())
    });
    let (args, agent) = match (args, agent) {
        (Ok(args), Ok(agent)) => (args, agent),
        (Err(error), _) | (_, Err(error)) => {
            report_error(error);
            return ExitCode::from(2);
        }
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    // `null` on the command line is a nil the user asked for: let it be sent.
    let proxy = Proxy::with_agent(&options.url, agent).allow_nil(true);
    // Set when the answer (or the failure) comes; still unset if a signal stopped the wait.
    let status = Rc::new(Cell::new(None));
    let (to_set, to_stop, as_repr) = (Rc::clone(&status), reactor.clone(), options.repr);
    proxy
        .call_remote(&options.method, args)
        .add_both(move |outcome| {
            to_set.set(Some(report(outcome, as_repr)));
            let _ = to_stop.stop();
            Ok::<(), Failure>(())
        });

    let _ = reactor.run();
    match status.get() {
        Some(code) => ExitCode::from(code),
        None => {
            report_error("interrupted before the answer came");
            ExitCode::FAILURE
        }
    }
}
