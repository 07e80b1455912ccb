//! The Poetry Transform Server of Part 12, in its three layers: the *service* (the transforms, plain
//! functions from text to text that know nothing of networks), the *protocol* (one connection:
//! parse `name.poem`, send back the transformed poem, close) and the *factory* (what the
//! connections share: the service, and how the server reports what it did).
//!
//! `transformedpoetry` serves it on its own; `poetryd transformedpoetry` (Part 21) serves the same
//! thing as a twistd plugin, reporting to twistd's log. Only the report differs, so the factory
//! takes it as a function.

use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
use common::protocol::{Address, Factory, Protocol};
use common::reactor::Reactor;
use common::service::{Service, ServiceState};

// ---- The service: what the server does, with no networking in sight ----

/// One transform the service offers.
pub struct Transform {
    pub name: &'static str,
    pub summary: &'static str,
    apply: fn(&str) -> String,
}

/// Everything the service can do. Names are case-sensitive: `Cummingsify` is not a transform. A
/// request can name only what this table holds (Python's version needs an `xform_` prefix to keep
/// clients away from its other methods).
pub const TRANSFORMS: [Transform; 3] = [
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

/// The transforms and what each does, for a program's help.
pub fn transforms_help() -> String {
    let mut text = String::from("Transforms:\n");
    for transform in &TRANSFORMS {
        text += &format!("  {:<13}{}\n", transform.name, transform.summary);
    }
    text
}

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

/// The poetry transformation service. It is a twistd service too (Part 21), with nothing to do
/// when started or stopped.
#[derive(Default)]
pub struct TransformService {
    state: ServiceState,
}

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

impl Service for TransformService {
    fn state(&self) -> &ServiceState {
        &self.state
    }
}

// ---- The protocol and the factory: the service, on the network ----

/// Why a request got no reply: the end of the server's report of it.
#[derive(Debug)]
pub enum BadRequest {
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

/// What became of one request, for the server's report.
pub enum Outcome<'a> {
    /// The poem of `size` bytes went back transformed by `name`.
    Transformed { name: &'a str, size: usize },
    /// No reply: the connection is closed.
    Refused(&'a BadRequest),
}

impl Outcome<'_> {
    /// The report's line for a client shown as `peer`.
    pub fn describe(&self, peer: impl fmt::Display) -> String {
        match self {
            Outcome::Transformed { name, size } => {
                format!("transformed {size} bytes with {name} for {peer}")
            }
            Outcome::Refused(why) => format!("bad request from {peer}: {why}"),
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

impl NetstringHandler for TransformProtocol {
    fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
        let served = parse_request(payload).and_then(|(name, poem)| {
            let transformed = self.factory.service.transform(name, poem)?;
            Ok((name, poem.len(), transformed))
        });
        match served {
            Ok((name, size, poem)) => {
                (self.factory.report)(&self.peer, Outcome::Transformed { name, size });
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
                (self.factory.report)(&self.peer, Outcome::Refused(&why));
                // Replies already written still go out before the connection closes.
                netstrings.lose_connection();
            }
        }
    }

    fn bad_netstring(&mut self, why: &str) {
        // The receiver closes the connection itself.
        let why = BadRequest::NotANetstring(why.to_owned());
        (self.factory.report)(&self.peer, Outcome::Refused(&why));
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

/// How a server reports each request, with the client's address.
type Report = Box<dyn Fn(&Address, Outcome<'_>)>;

/// What every connection shares: the service, the reactor that schedules the closes, and the
/// report.
pub struct TransformFactory {
    service: Rc<TransformService>,
    reactor: Reactor,
    report: Report,
    /// This factory, for the protocols it makes (Twisted's `protocol.factory`).
    me: Weak<TransformFactory>,
}

impl TransformFactory {
    /// A factory serving `service`, telling `report` about every request.
    pub fn new(
        reactor: &Reactor,
        service: Rc<TransformService>,
        report: impl Fn(&Address, Outcome<'_>) + 'static,
    ) -> Rc<TransformFactory> {
        Rc::new_cyclic(|me| TransformFactory {
            service,
            reactor: reactor.clone(),
            report: Box::new(report),
            me: me.clone(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_transforms_utf8_text() {
        let service = TransformService::default();
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
