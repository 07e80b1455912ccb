//! The Poetry Transform Server of Part 12 as a plugin: netstring requests `name.poem`, one
//! transformed poem back, then the close.

use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Args;
use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
use common::log;
use common::protocol::{Address, Factory, Protocol};
use common::reactor::Reactor;
use common::service::{MultiService, Service, ServiceState, TcpServer};

use crate::poem_service::log_system;

#[derive(Debug, Args)]
pub struct Options {
    /// The port number to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 11000)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    iface: String,
}

pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let transform_service = Rc::new(TransformService::default());
    let factory = Rc::new_cyclic(|me| TransformFactory {
        service: Rc::clone(&transform_service),
        reactor: reactor.clone(),
        me: me.clone(),
    });
    let tcp_service = TcpServer::new(reactor, options.port, factory, &options.iface);
    for service in [transform_service as Rc<dyn Service>, Rc::new(tcp_service)] {
        let _ = top_service.add_service(service);
    }
    top_service
}

/// The transforms a client may ask for, by name. Nothing else can be reached through a
/// request.
/// A transform: the poem in, the transformed poem out.
type TransformFn = fn(&str) -> String;

const TRANSFORMS: [(&str, TransformFn); 3] = [
    ("cummingsify", str::to_lowercase),
    ("shout", str::to_uppercase),
    ("reverse", reverse_lines),
];

/// The poem's lines, last first; a final newline stays last.
fn reverse_lines(poem: &str) -> String {
    let (body, newline) = match poem.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (poem, ""),
    };
    let mut lines: Vec<&str> = body.split('\n').collect();
    lines.reverse();
    lines.join("\n") + newline
}

/// Why a request was refused, as its log line ends.
#[derive(Debug, PartialEq)]
enum BadRequest {
    Framing(String),
    NotText,
    NoName,
    Unknown(String),
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadRequest::Framing(why) => write!(f, "not a netstring: {why}"),
            BadRequest::NotText => f.write_str("the request is not UTF-8 text"),
            BadRequest::NoName => f.write_str("no '.' after the transform's name"),
            BadRequest::Unknown(name) => write!(f, "unknown transform '{name}'"),
        }
    }
}

/// The service: transforms text, and knows nothing of connections.
#[derive(Default)]
struct TransformService {
    state: ServiceState,
}

impl TransformService {
    /// The request `name.poem` answered: the transform's name and the transformed poem.
    fn serve<'a>(&self, request: &'a [u8]) -> Result<(&'a str, usize, String), BadRequest> {
        let text = std::str::from_utf8(request).map_err(|_| BadRequest::NotText)?;
        let (name, poem) = text.split_once('.').ok_or(BadRequest::NoName)?;
        let (_, transform) = TRANSFORMS
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| BadRequest::Unknown(name.to_owned()))?;
        Ok((name, poem.len(), transform(poem)))
    }
}

impl Service for TransformService {
    fn state(&self) -> &ServiceState {
        &self.state
    }
}

struct TransformProtocol {
    factory: Rc<TransformFactory>,
    peer: Address,
    /// Whether the close has been scheduled already.
    closing: bool,
}

impl TransformProtocol {
    fn log(&self, message: String) {
        log::msg_from(&log_system::<TransformFactory>(), message);
    }

    fn refuse(&self, why: &BadRequest) {
        self.log(format!("bad request from {}: {why}", self.peer));
    }
}

impl NetstringHandler for TransformProtocol {
    fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
        match self.factory.service.serve(payload) {
            Ok((name, size, poem)) => {
                self.log(format!(
                    "transformed {size} bytes with {name} for {}",
                    self.peer
                ));
                netstrings.send_string(poem.as_bytes());
                // Requests that came in the same read are still to be delivered: close on the
                // reactor's next turn, once every one of them has its reply.
                if !self.closing {
                    self.closing = true;
                    let transport = Rc::clone(netstrings.transport());
                    self.factory
                        .reactor
                        .call_later(Duration::ZERO, move || transport.lose_connection());
                }
            }
            Err(why) => {
                self.refuse(&why);
                netstrings.lose_connection();
            }
        }
    }

    fn bad_netstring(&mut self, why: &str) {
        self.refuse(&BadRequest::Framing(why.to_owned()));
    }

    // While a client does not take its replies, take no more of its requests.
    fn pause_producing(&mut self, netstrings: &mut Netstrings) {
        netstrings.transport().pause_producing();
    }

    fn resume_producing(&mut self, netstrings: &mut Netstrings) {
        netstrings.transport().resume_producing();
    }
}

struct TransformFactory {
    service: Rc<TransformService>,
    reactor: Reactor,
    me: Weak<TransformFactory>,
}

impl Factory for TransformFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(NetstringReceiver::new(TransformProtocol {
            factory: self.me.upgrade()?,
            peer: peer.clone(),
            closing: false,
        })))
    }
}
