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
//! share: the service). A request can name only the transforms the service lists; Python's version
//! needs an `xform_` prefix to keep clients away from its other methods, ours looks names up in a
//! table, which can hold nothing else.
//!
//! ```text
//! cargo run --bin transformedpoetry -- --port 10001                 # terminal 1
//! scripts/transform-test.sh 10001                                   # terminal 2: 15:here is my poem,
//! cargo run --bin fastpoetry -- --port 10002 poetry/science.txt     # then, for Part 13:
//! cargo run --bin get-poetry-6 -- 10001 10002                       # a poem, lower-cased
//! ```

use std::fmt;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Parser;
use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
use common::cli::duration::parse_duration;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::server::listen_and_run;
use common::errln;
use common::protocol::{Address, Factory, IdleTimeout, Protocol};
use common::reactor::Reactor;

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
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// Close a connection whose client has sent nothing for this long: seconds (30) or a number
    /// with a unit (500ms). Clients that connect and say nothing must not use up the server.
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_duration)]
    idle_timeout: Duration,
}

/// The help's closing part: the transforms, straight from the service's table, and an example.
fn after_help() -> String {
    let mut text = String::from("Transforms:\n");
    for transform in &TRANSFORMS {
        text += &format!("  {:<13}{}\n", transform.name, transform.summary);
    }
    text += "\nExample:\n  transformedpoetry --port 10001\n  \
             scripts/transform-test.sh 10001        # prints 15:here is my poem,";
    text
}

// ---- The service: what the server does, with no networking in sight ----

/// One transform the service offers.
struct Transform {
    name: &'static str,
    summary: &'static str,
    apply: fn(&str) -> String,
}

/// Everything the service can do. Names are case-sensitive: `Cummingsify` is not a transform.
const TRANSFORMS: [Transform; 3] = [
    Transform {
        name: "cummingsify",
        summary: "the poem in lower case, as e. e. cummings wrote",
        apply: str::to_lowercase,
    },
    Transform {
        name: "shout",
        summary: "the poem in upper case",
        apply: str::to_uppercase,
    },
    Transform {
        name: "reverse",
        summary: "the poem's lines in reverse order, last line first",
        apply: reverse_lines,
    },
];

/// The lines of `poem` from last to first. A final newline stays at the end.
fn reverse_lines(poem: &str) -> String {
    let (body, ending) = match poem.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (poem, ""),
    };
    let mut reversed = body.split('\n').rev().collect::<Vec<_>>().join("\n");
    reversed.push_str(ending);
    reversed
}

/// The poetry transformation service.
struct TransformService;

impl TransformService {
    /// Applies the transform called `name` to `poem`, or says there is no such transform.
    fn transform(&self, name: &str, poem: &str) -> Result<String, BadRequest> {
        TRANSFORMS
            .iter()
            .find(|transform| transform.name == name)
            .map(|transform| (transform.apply)(poem))
            .ok_or_else(|| BadRequest::UnknownTransform(name.to_owned()))
    }
}

// ---- The protocol and the factory: the service, on the network ----

/// Why a request got no reply: the end of the server's log line for it.
#[derive(Debug)]
enum BadRequest {
    /// The bytes were not a netstring; the framing says what was wrong.
    NotANetstring(String),
    /// A netstring with no `.` between the transform's name and the poem.
    NoDot,
    /// The request is not UTF-8 text.
    NotUtf8,
    /// The service has no transform of that name.
    UnknownTransform(String),
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadRequest::NotANetstring(why) => write!(f, "not a netstring: {why}"),
            BadRequest::NoDot => write!(f, "no '.' after the transform's name"),
            BadRequest::NotUtf8 => write!(f, "the request is not UTF-8 text"),
            BadRequest::UnknownTransform(name) => write!(f, "unknown transform '{name}'"),
        }
    }
}

/// Splits a request, `<name>.<poem>`, at its first dot. The poem may hold dots of its own.
fn parse_request(payload: &[u8]) -> Result<(&str, &str), BadRequest> {
    let request = std::str::from_utf8(payload).map_err(|_| BadRequest::NotUtf8)?;
    request.split_once('.').ok_or(BadRequest::NoDot)
}

/// One connection: netstrings in, transformed poems out. The framing is `NetstringReceiver`'s
/// business; this sees whole requests.
struct TransformProtocol {
    factory: Rc<TransformFactory>,
    peer: Address,
    /// The close is already arranged.
    closing: bool,
}

impl TransformProtocol {
    fn log_bad_request(&self, why: &BadRequest) {
        errln!("bad request from {}: {why}", self.peer.short());
    }
}

impl NetstringHandler for TransformProtocol {
    fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
        let reply =
            parse_request(payload).and_then(|(name, poem)| self.factory.transform(name, poem));
        match reply {
            Ok(poem) => {
                netstrings.send_string(poem.as_bytes());
                // Not `lose_connection` here: that would stop the framing, and a client may have
                // sent several requests at once, which have arrived in this same read. Closing on
                // the reactor's next turn answers all of them first, in order.
                if !self.closing {
                    self.closing = true;
                    let transport = Rc::clone(netstrings.transport());
                    self.factory
                        .reactor
                        .call_later(Duration::ZERO, move || transport.lose_connection());
                }
            }
            Err(why) => {
                self.log_bad_request(&why);
                // Replies already written still go out before the connection closes.
                netstrings.lose_connection();
            }
        }
    }

    fn bad_netstring(&mut self, why: &str) {
        // The receiver closes the connection itself.
        self.log_bad_request(&BadRequest::NotANetstring(why.to_owned()));
    }

    // A client that sends requests and does not read the replies would make us keep every reply
    // in memory: while the replies are not being taken, take no more requests.
    fn pause_producing(&mut self, netstrings: &mut Netstrings) {
        netstrings.transport().pause_producing();
    }

    fn resume_producing(&mut self, netstrings: &mut Netstrings) {
        netstrings.transport().resume_producing();
    }
}

/// What every connection shares: the service, and the reactor that schedules the closes.
struct TransformFactory {
    service: TransformService,
    reactor: Reactor,
    /// This factory, for the protocols it makes (Twisted's `protocol.factory`).
    me: Weak<TransformFactory>,
}

impl TransformFactory {
    /// What the protocols call: the service, behind the factory they share.
    fn transform(&self, name: &str, poem: &str) -> Result<String, BadRequest> {
        self.service.transform(name, poem)
    }
}

impl Factory for TransformFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let handler = TransformProtocol {
            factory: self.me.upgrade()?,
            peer: peer.clone(),
            closing: false,
        };
        Some(Box::new(NetstringReceiver::new(handler)))
    }
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
    let factory = Rc::new_cyclic(|me| TransformFactory {
        service: TransformService,
        reactor: reactor.clone(),
        me: me.clone(),
    });
    let factory = Rc::new(IdleTimeout::new(&reactor, factory, options.idle_timeout));
    listen_and_run(&reactor, options.port, &options.iface, factory, |port| {
        format!("Serving transforms on {}.", port.get_host())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_transforms_utf8_text() {
        let service = TransformService;
        let poem = "Été Au Café\nLine Two\n";
        assert_eq!(
            service.transform("cummingsify", poem).unwrap(),
            "été au café\nline two\n"
        );
        assert_eq!(
            service.transform("shout", poem).unwrap(),
            "ÉTÉ AU CAFÉ\nLINE TWO\n"
        );
        assert_eq!(
            service.transform("reverse", poem).unwrap(),
            "Line Two\nÉté Au Café\n"
        );
        assert!(matches!(
            service.transform("Cummingsify", poem),
            Err(BadRequest::UnknownTransform(name)) if name == "Cummingsify"
        ));
    }

    #[test]
    fn reverse_keeps_line_endings_in_place() {
        assert_eq!(reverse_lines(""), "");
        assert_eq!(reverse_lines("a"), "a");
        assert_eq!(reverse_lines("a\nb"), "b\na");
        assert_eq!(reverse_lines("a\r\nb\r\n"), "b\r\na\r\n");
        assert_eq!(reverse_lines("a\n\nb\n"), "b\n\na\n");
    }

    #[test]
    fn requests_split_at_the_first_dot() {
        assert_eq!(
            parse_request(b"cummingsify.Stop. Go.").unwrap(),
            ("cummingsify", "Stop. Go.")
        );
        assert!(matches!(parse_request(b"abc"), Err(BadRequest::NoDot)));
        assert!(matches!(
            parse_request(b"cummingsify.\xff"),
            Err(BadRequest::NotUtf8)
        ));
    }
}
