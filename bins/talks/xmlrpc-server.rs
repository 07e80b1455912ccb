//! An XML-RPC server on Twisted Web: talk 004 (Andrew Bennetts, "Network programming with
//! Twisted"), pp.16-17, port 7080.
//!
//! The talk's `Echoer` is an XML-RPC resource with five methods, each showing one way a method can
//! answer: `echo` gives back its arguments (a value), `hello` a string, `defer` a Deferred that has
//! already fired, `defer_fail` a Deferred that has failed with something that is not a fault (the
//! caller gets fault 8002 `error`, and the failure is reported here on stderr), `fail` a fault of its
//! own, 7 `Out of cheese.`. The resource is the whole site: every path is the same endpoint, POST
//! only (GET and HEAD are a 405 with `Allow: POST`).
//!
//! Any XML-RPC client can call it: Python's `xmlrpc.client`, or our `xmlrpc-call`.
//! `--introspection` adds `system.listMethods`, `system.methodHelp` and `system.methodSignature`
//! (off by default, as in the talk). The server prints nothing on stdout; where it listens goes on
//! stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin xmlrpc-server -- --introspection
//! terminal 2:  cargo run --bin xmlrpc-call -- http://127.0.0.1:7080/ echo 1 two '[3.5, true]'
//!                                                      # [1, "two", [3.5, true]]
//!              cargo run --bin xmlrpc-call -- http://127.0.0.1:7080/ fail
//!                                                      # xmlrpc-call: Fault 7: Out of cheese.
//!              python3 -c 'import xmlrpc.client as x; print(x.ServerProxy("http://127.0.0.1:7080/").hello())'
//! ```

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

use clap::Parser;
use common::cli::poem::parse_size;
use common::cli::server::ListenOptions;
use common::defer::{fail, succeed};
use common::web::site::{DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_MAX_HEAD};
use common::web::xmlrpc::{Fault, Value, XmlRpc};
use common::web::{Site, SiteLog, serve_custom_site};

/// The talk's port.
const PORT: u16 = 7080;

/// Serves the talk's Echoer over XML-RPC (talk 004, pp.16-17): echo, hello, defer, defer_fail and
/// fail. Listens on 127.0.0.1:7080 unless told otherwise.
#[derive(Parser)]
#[command(
    name = "xmlrpc-server",
    version,
    after_help = "Example:\n  xmlrpc-server --introspection &\n  \
                  xmlrpc-call http://127.0.0.1:7080/ system.listMethods"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// Also answer system.listMethods, system.methodHelp and system.methodSignature.
    #[arg(long)]
    introspection: bool,

    /// Let results hold nil (Python's None), as `XMLRPC(allowNone=True)` does.
    #[arg(long)]
    allow_nil: bool,

    /// The largest request body read; a larger one is answered with 413 (bytes, or a number
    /// with a unit: 64KiB, 1MB).
    #[arg(long, value_name = "SIZE", default_value_t = DEFAULT_MAX_BODY, value_parser = parse_size)]
    max_body: usize,
}

/// What `defer_fail` fails with: the talk's method fails with the number 12, which is not an
/// exception (so the caller gets the generic fault, and the server reports it).
#[derive(Debug)]
struct PlainInteger(i64);

impl fmt::Display for PlainInteger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Error for PlainInteger {}

/// The talk's `Echoer`: five methods, with the talk's help texts.
fn echoer() -> XmlRpc {
    let echoer = XmlRpc::new();
    echoer.add_method("echo", "Return all passed args.", |call| {
        Ok(Value::Array(call.into_args()).into())
    });
    echoer.add_method("hello", "Return 'hello, world'.", |call| {
        call.expect_args(0)?;
        Ok("hello, world!".into())
    });
    echoer.add_method(
        "defer",
        "Show how xmlrpc methods can return Deferred.",
        |call| {
            call.expect_args(0)?;
            Ok(succeed(Value::from("hello")).into())
        },
    );
    echoer.add_method(
        "defer_fail",
        "Show how xmlrpc methods can return failed Deferred.",
        |call| {
            call.expect_args(0)?;
            Ok(fail::<Value>(PlainInteger(12)).into())
        },
    );
    echoer.add_method("fail", "Show how we can return a failure code.", |call| {
        call.expect_args(0)?;
        Ok(Fault::new(7, "Out of cheese.").into())
    });
    echoer
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    serve_custom_site(&endpoints, SiteLog::Off, |_reactor| {
        let root = echoer();
        if options.introspection {
            root.add_introspection();
        }
        root.set_allow_nil(options.allow_nil);
        Site::with_limits(
            std::rc::Rc::new(root),
            options.max_body,
            DEFAULT_MAX_HEAD,
            DEFAULT_HEADER_TIMEOUT,
        )
    })
}
