//! The Perspective Broker echo server: talk 004 (Andrew Bennetts, "Network programming with
//! Twisted"), pp.19-22, `pbecho.py`, on PB's port 8787.
//!
//! A user logs in with cred's challenge-response over PB (guest, password guest, unless `--user`
//! says otherwise) and gets an avatar, a `SimplePerspective`, with two methods: `echo(text)`
//! prints `echoing <text>` and answers the text unchanged, in its own type; `error()` fails on
//! purpose with `pbecho.DefinedError: exception!`, a `pb.Error`, which a Twisted client traps by
//! that name. When the client lets go of its avatar (or hangs up) the server prints
//! `<pbecho.SimplePerspective guest #1> logged out`, its own way of naming the avatar (Python
//! shows an address). The talk's 2002 code used a login API that Twisted no longer has; this is
//! the portal version that today's Twisted clients speak, so its own pbecho client can call it.
//!
//! The challenge-response is MD5, without encryption, as Twisted's: keep it on 127.0.0.1. Where it
//! listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin pbecho-server
//! terminal 2:  cargo run --bin pbecho-client                  # Message received: hello world
//!              cargo run --bin pbecho-client -- --password nope   # login refused
//! ```

use std::cell::Cell;
use std::fmt;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::cred::{InMemoryUsernamePasswordDatabase, Portal, Realm};
use common::outln;
use common::spread::jelly::Value;
use common::spread::pb::{
    Answer, CallContext, PB_PORT, PBServerFactory, Referenceable, RemoteError, RemoteReference,
};

/// Serves talk 004's pbecho (pp.19-22) over Perspective Broker: log in, then echo and error.
/// Listens on 127.0.0.1:8787 unless told otherwise.
#[derive(Parser)]
#[command(
    name = "pbecho-server",
    version,
    after_help = "Example:\n  pbecho-server --user alice:secret &\n  \
                  pbecho-client --user alice --password secret"
)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// A user who may log in, as NAME:PASSWORD; may be given several times. [default: guest:guest]
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    users: Vec<(String, String)>,
}

/// Reads `NAME:PASSWORD`.
fn parse_user(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.to_owned(), password.to_owned())),
        _ => Err(format!("'{text}' is not NAME:PASSWORD")),
    }
}

/// The avatar of one login: what the client calls after logging in.
struct SimplePerspective {
    user: String,
    /// Which login of this process it is, to tell two avatars of one user apart in the log.
    number: u64,
}

impl fmt::Display for SimplePerspective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<pbecho.SimplePerspective {} #{}>",
            self.user, self.number
        )
    }
}

impl Referenceable for SimplePerspective {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        let wanted = match name {
            "echo" => 1,
            "error" => 0,
            _ => {
                return Answer::error(RemoteError::no_such_perspective_method(
                    "SimplePerspective",
                    name,
                ));
            }
        };
        if let Some(error) = wrong_arguments(name, wanted, &args, &kwargs) {
            return Answer::error(error);
        }
        match args.into_iter().next() {
            Some(text) => {
                // As Python's print shows it: text as it is, anything else as its repr.
                match &text {
                    Value::Text(text) => outln!("echoing {text}"),
                    other => outln!("echoing {other}"),
                }
                Answer::value(text)
            }
            None => Answer::error(RemoteError::pb_error_subclass(
                "pbecho.DefinedError",
                "exception!",
            )),
        }
    }

    fn logout(&self) {
        outln!("{self} logged out");
    }
}

/// The `TypeError` Python raises when `perspective_<name>`, which takes `wanted` arguments, is
/// called with others; `None` when they fit.
fn wrong_arguments(
    name: &str,
    wanted: usize,
    args: &[Value],
    kwargs: &[(Value, Value)],
) -> Option<RemoteError> {
    let method = format!("SimplePerspective.perspective_{name}()");
    let text = if args.len() < wanted {
        format!("{method} missing 1 required positional argument: 'text'")
    } else if args.len() > wanted {
        let plural = if wanted == 0 { "" } else { "s" };
        format!(
            "{method} takes {} positional argument{plural} but {} were given",
            wanted + 1,
            args.len() + 1
        )
    } else if let Some((key, _)) = kwargs.first() {
        let key = match key {
            Value::Text(key) => key.clone(),
            other => other.to_string(),
        };
        format!("{method} got an unexpected keyword argument '{key}'")
    } else {
        return None;
    };
    Some(RemoteError::exception("builtins.TypeError", text))
}

/// Gives every successful login a fresh avatar.
struct SimpleRealm {
    logins: Cell<u64>,
}

impl Realm for SimpleRealm {
    fn request_avatar(
        &self,
        avatar_id: &[u8],
        _mind: Option<RemoteReference>,
    ) -> Rc<dyn Referenceable> {
        self.logins.set(self.logins.get() + 1);
        Rc::new(SimplePerspective {
            user: String::from_utf8_lossy(avatar_id).into_owned(),
            number: self.logins.get(),
        })
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PB_PORT);
    let mut checker = InMemoryUsernamePasswordDatabase::new();
    if options.users.is_empty() {
        checker.add_user(b"guest", b"guest");
    }
    for (name, password) in &options.users {
        checker.add_user(name.as_bytes(), password.as_bytes());
    }
    let realm = Rc::new(SimpleRealm {
        logins: Cell::new(0),
    });
    let factory = Rc::new(PBServerFactory::with_portal(Portal::new(realm, checker)));
    run_server(|reactor| listen_on(reactor, &endpoints, factory))
}
