//! Protocols, factories and transports: the layer Part 5 of the tutorial builds on the reactor.
//!
//! Client 1.0 of Part 4 handed the reactor raw sockets and read them itself. From Part 5 on, the
//! reactor makes the connections and does the reading and writing; our code only says what to do
//! with the bytes:
//!
//! * a [`Transport`] is one connection seen from our side: `write` (which never blocks),
//!   `lose_connection` (close once everything written has been sent), the two addresses;
//! * a [`Protocol`] is what we do on one connection: `connection_made`, `data_received`,
//!   `connection_lost`. The reactor makes one protocol per connection;
//! * a [`Factory`] makes those protocols, and holds what they share (the poem a server serves, the
//!   poems a client has received). A [`ClientFactory`] also hears how its connection attempts went.
//! * a [`ClientCreator`] connects one protocol and hands it back as a Deferred once connected, for
//!   programs that want a connection to talk over rather than events to hear;
//! * an [`IdleTimeout`] wraps a server's factory so that connections gone quiet are closed;
//! * a [`ReconnectingClientFactory`] keeps one connection up: after a failed attempt or a lost
//!   connection it waits (longer each time, within a [`Backoff`]) and connects again.
//! * a [`RequestQueue`] keeps a pipelined client's requests waiting for their answers, oldest
//!   first, and fails them when the connection goes or the server falls silent;
//! * a [`BufferSender`] sends one shared buffer (a cached poem) to a connection as fast as its peer
//!   reads, never more than about twice [`HIGH_WATER`] ahead: memory per slow client stays small.

mod creator;
mod idle;
mod reconnecting;
mod requests;
mod sender;

pub use creator::ClientCreator;
pub use idle::IdleTimeout;
pub use reconnecting::{Backoff, ReconnectEvent, ReconnectingClientFactory};
pub use requests::{RequestQueue, WaitingRequest};
pub use sender::BufferSender;

/// When a connection's unsent data grows past this many bytes, its protocol is asked to pause
/// producing ([`Protocol::pause_producing`]), and told to resume once all of it is sent. A protocol
/// that holds back its own work while [`Transport::buffered`] is past this mark can count on being
/// resumed.
pub const HIGH_WATER: usize = 64 * 1024;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use crate::cli::output::plain_error;

/// One connection, seen from the protocol that speaks on it.
///
/// Writing never blocks: what the socket cannot take at once is buffered and sent when it can. The
/// reactor gives each protocol its transport in [`Protocol::connection_made`].
pub trait Transport {
    /// Sends `data`, now or as soon as the socket can take it. Ignored once the connection is
    /// closing or closed.
    fn write(&self, data: &[u8]);

    /// Sends several pieces of data, in order.
    fn write_sequence(&self, pieces: &[&[u8]]) {
        for piece in pieces {
            self.write(piece);
        }
    }

    /// Closes the connection once everything written so far has been sent. The protocol then gets
    /// `connection_lost` with [`DisconnectReason::Done`]. Data that arrives after this is not
    /// delivered.
    fn lose_connection(&self);

    /// Closes the connection now, dropping whatever is still buffered. The protocol then gets
    /// `connection_lost` with [`DisconnectReason::Aborted`].
    fn abort_connection(&self);

    /// Whether `lose_connection` or `abort_connection` has been called, or the connection is gone.
    fn is_disconnecting(&self) -> bool;

    /// Our end of the connection.
    fn get_host(&self) -> Address;

    /// The other end of the connection.
    fn get_peer(&self) -> Address;

    /// Stops delivering received data to the protocol until [`resume_producing`]: the protocol
    /// cannot keep up, and the sender should be slowed down by TCP's own flow control.
    ///
    /// [`resume_producing`]: Transport::resume_producing
    fn pause_producing(&self);

    /// Delivers received data again after [`pause_producing`](Transport::pause_producing).
    fn resume_producing(&self);

    /// How many written bytes are waiting to be sent.
    fn buffered(&self) -> usize;
}

/// What one connection does with its events. The reactor makes one per connection (through a
/// [`Factory`]) and calls these methods, one at a time, on the reactor's thread.
///
/// An error or panic in any of them is reported and the connection is aborted; the reactor and the
/// other connections go on.
pub trait Protocol {
    /// The connection is open; `transport` is how to write to it and close it. Keep it.
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let _ = transport;
    }

    /// Some bytes arrived. They may be any part of what the peer sent: a message can arrive in many
    /// pieces, and several messages in one.
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer has finished sending: it shut down its side of the connection (`nc -N` does, once
    /// its input ends), and may still be reading. Return `true` to go on writing, until
    /// `lose_connection` (Twisted's `IHalfCloseableProtocol.readConnectionLost`): what a server
    /// that only sends wants. By default, as in Twisted, the end of the peer's input is the end of
    /// the connection.
    fn read_connection_lost(&mut self) -> bool {
        false
    }

    /// The connection is closed, for the reason given. No other method is called after this.
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        let _ = reason;
    }

    /// The transport holds more unsent data than it should (the peer reads slowly, or not at all):
    /// stop writing until [`resume_producing`](Protocol::resume_producing). This is how a server keeps
    /// its memory bounded whatever its clients do.
    fn pause_producing(&mut self) {}

    /// The transport has sent what it held: writing may go on.
    fn resume_producing(&mut self) {}
}

/// Makes the protocol for each new connection, and holds what those protocols share.
pub trait Factory {
    /// Makes the protocol for a connection with `peer`, or refuses the connection with `None`.
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>>;

    /// The factory is about to be used: a port listens with it, or a connection attempt starts.
    /// Called once however many ports and connections share the factory.
    fn start_factory(&self) {}

    /// The last port or connection using the factory is done with it.
    fn stop_factory(&self) {}

    /// The factory's name in the log's lines about its ports (`TransformFactory starting on
    /// 11000`): its type's name. A factory that wraps another gives the wrapped one's name, as
    /// Twisted's `WrappingFactory.logPrefix` does, so that a policy does not hide what is served.
    fn log_prefix(&self) -> &'static str {
        short_type_name::<Self>()
    }
}

/// A type's name without its module path or generic parameters: `PoetryFactory`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let name = std::any::type_name::<T>();
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::").next().unwrap_or(name)
}

/// A [`Factory`] for connections we make, which also hears how the connection attempt went.
pub trait ClientFactory: Factory {
    /// The connection attempt is starting.
    fn started_connecting(&self, connector: &Connector) {
        let _ = connector;
    }

    /// The connection could not be made (refused, timed out, unknown host...).
    fn client_connection_failed(&self, connector: &Connector, reason: &ConnectError) {
        let _ = (connector, reason);
    }

    /// The connection was made, and now it is closed.
    fn client_connection_lost(&self, connector: &Connector, reason: &DisconnectReason) {
        let _ = (connector, reason);
    }
}

/// A connection attempt made with `connect_tcp` or `connect_unix`, and later the connection it made.
#[derive(Clone)]
pub struct Connector {
    pub(crate) destination: Rc<Destination>,
    pub(crate) control: Rc<crate::reactor::port::ConnectorControl>,
}

impl Connector {
    /// Where the connection goes, as it was asked for (the host not resolved).
    pub fn get_destination(&self) -> Destination {
        (*self.destination).clone()
    }

    /// Gives up the connection attempt, or closes the connection if it was made.
    pub fn disconnect(&self) {
        self.control.disconnect();
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Connector({})", self.get_destination())
    }
}

/// The address a connection was asked to reach, printed as Twisted prints addresses:
/// `IPv4Address(type='TCP', host='127.0.0.1', port=10000)`, `UNIXAddress('/tmp/echo.sock')`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A TCP server: the host as it was given (a name or an IP address), and the port.
    Tcp { host: String, port: u16 },
    /// A UNIX-domain socket's path.
    Unix(Rc<Path>),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Tcp { host, port } => {
                let family = if host.contains(':') {
                    "IPv6Address"
                } else {
                    "IPv4Address"
                };
                write!(f, "{family}(type='TCP', host='{host}', port={port})")
            }
            Destination::Unix(path) => write!(f, "UNIXAddress('{}')", path.display()),
        }
    }
}

/// A socket address printed as Twisted prints addresses (what `getPeer()` and `getHost()` show):
/// `IPv4Address(type='TCP', host='127.0.0.1', port=10000)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpAddress(pub SocketAddr);

impl fmt::Display for TcpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Destination::Tcp {
            host: self.0.ip().to_string(),
            port: self.0.port(),
        }
        .fmt(f)
    }
}

/// One end of a connection, TCP or UNIX-domain: Twisted's `IPv4Address`, `IPv6Address` and
/// `UNIXAddress`.
///
/// The same protocols and factories serve both kinds of socket, so what a protocol learns about its
/// peer has to cover both. It prints as Twisted prints its address objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP address (IPv4 or IPv6).
    Tcp(SocketAddr),
    /// A UNIX-domain socket's path; `None` for a socket that has no name, as a client's usually
    /// has not.
    Unix(Option<Rc<Path>>),
}

impl Address {
    /// The TCP address, if this is one.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Address::Tcp(address) => Some(*address),
            Address::Unix(_) => None,
        }
    }

    /// The TCP port, if this is a TCP address.
    pub fn port(&self) -> Option<u16> {
        self.tcp().map(|address| address.port())
    }

    /// The address in the short form people type: `127.0.0.1:8000`, `[::1]:8000`, or
    /// `unix:/path/to/socket`. Servers print it when they start (`listening on ...`).
    pub fn short(&self) -> String {
        match self {
            Address::Tcp(address) => address.to_string(),
            Address::Unix(Some(path)) => format!("unix:{}", path.display()),
            Address::Unix(None) => "unix:(unnamed)".to_owned(),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(address: SocketAddr) -> Address {
        Address::Tcp(address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(address) => TcpAddress(*address).fmt(f),
            Address::Unix(Some(path)) => write!(f, "UNIXAddress('{}')", path.display()),
            Address::Unix(None) => write!(f, "UNIXAddress(None)"),
        }
    }
}

/// Why a connection closed: what [`Protocol::connection_lost`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// Closed cleanly: the peer closed its end, or we called `lose_connection` and everything was
    /// sent.
    Done,
    /// Lost: the connection broke (reset by the peer, a network error), with the error.
    Lost(String),
    /// We closed it at once with `abort_connection`.
    Aborted,
}

impl DisconnectReason {
    /// Whether the connection ended cleanly. For the poetry protocol, a clean end is the end of the
    /// poem.
    pub fn is_clean(&self) -> bool {
        *self == DisconnectReason::Done
    }

    pub(crate) fn lost(error: &io::Error) -> DisconnectReason {
        DisconnectReason::Lost(plain_error(error))
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Done => write!(f, "Connection was closed cleanly."),
            DisconnectReason::Lost(error) => write!(
                f,
                "Connection to the other side was lost in a non-clean fashion: {error}."
            ),
            DisconnectReason::Aborted => write!(f, "Connection was aborted locally."),
        }
    }
}

/// Why a connection could not be made: what [`ClientFactory::client_connection_failed`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing listens there: the peer refused the connection.
    Refused,
    /// The connection did not complete within the timeout.
    TimedOut,
    /// The host name could not be resolved.
    DnsLookup { host: String, error: String },
    /// Any other failure, with the operating system's error.
    Other(String),
    /// The attempt was given up with [`Connector::disconnect`].
    Cancelled,
}

impl ConnectError {
    /// The name of Twisted's exception class for this error (`ConnectionRefusedError`), for programs
    /// that print failures the way the tutorial's do.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ConnectError::Refused => "ConnectionRefusedError",
            ConnectError::TimedOut => "TimeoutError",
            ConnectError::DnsLookup { .. } => "DNSLookupError",
            ConnectError::Other(_) => "ConnectError",
            ConnectError::Cancelled => "UserError",
        }
    }

    /// The reason alone, as the system words it (`Connection refused`), without the sentence
    /// Twisted puts around it: for a line that names the address itself, as the blocking clients'
    /// `failed to connect to 127.0.0.1:10004: Connection refused`.
    pub fn plain_reason(&self) -> &str {
        match self {
            ConnectError::Refused => "Connection refused",
            ConnectError::TimedOut => "connection timed out",
            ConnectError::DnsLookup { error, .. } | ConnectError::Other(error) => error,
            ConnectError::Cancelled => "the attempt was cancelled",
        }
    }

    pub(crate) fn from_io(error: &io::Error) -> ConnectError {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => ConnectError::Refused,
            io::ErrorKind::TimedOut => ConnectError::TimedOut,
            _ => ConnectError::Other(plain_error(error)),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Refused => write!(
                f,
                "Connection was refused by other side: 111: Connection refused."
            ),
            ConnectError::TimedOut => write!(f, "User timeout caused connection failure."),
            ConnectError::DnsLookup { host, error } => {
                write!(f, "DNS lookup failed: address '{host}' not found: {error}.")
            }
            ConnectError::Other(error) => write!(f, "An error occurred while connecting: {error}."),
            ConnectError::Cancelled => write!(f, "The connection attempt was cancelled."),
        }
    }
}

impl std::error::Error for ConnectError {}

/// What a UDP port does with its datagrams: Twisted's `DatagramProtocol`.
///
/// UDP has no connections: one protocol serves the whole port, and each datagram comes with the
/// address it came from.
pub trait DatagramProtocol {
    /// The port is listening; `transport` sends datagrams from it.
    fn start_protocol(&mut self, transport: Rc<dyn DatagramTransport>) {
        let _ = transport;
    }

    /// A datagram arrived from `from`.
    fn datagram_received(&mut self, data: &[u8], from: SocketAddr);

    /// The port stopped listening.
    fn stop_protocol(&mut self) {}
}

/// Sending datagrams from a UDP port.
pub trait DatagramTransport {
    /// Sends one datagram to `to`. As UDP itself, this may drop it (the socket's buffer is full);
    /// an error is returned only when the system refuses it outright.
    fn write(&self, data: &[u8], to: SocketAddr) -> io::Result<()>;

    /// The address the port listens on.
    fn get_host(&self) -> SocketAddr;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_twisted_prints_them() {
        let peer: SocketAddr = "127.0.0.1:10000".parse().unwrap();
        assert_eq!(
            TcpAddress(peer).to_string(),
            "IPv4Address(type='TCP', host='127.0.0.1', port=10000)"
        );
        let v6: SocketAddr = "[::1]:7".parse().unwrap();
        assert_eq!(
            TcpAddress(v6).to_string(),
            "IPv6Address(type='TCP', host='::1', port=7)"
        );
        assert_eq!(
            Address::Tcp(peer).to_string(),
            "IPv4Address(type='TCP', host='127.0.0.1', port=10000)"
        );
        let unix = Address::Unix(Some(Path::new("/tmp/echo.sock").into()));
        assert_eq!(unix.to_string(), "UNIXAddress('/tmp/echo.sock')");
        assert_eq!(unix.short(), "unix:/tmp/echo.sock");
        assert_eq!(Address::Unix(None).to_string(), "UNIXAddress(None)");
        assert_eq!(Address::Tcp(v6).short(), "[::1]:7");
        let named = Destination::Tcp {
            host: "localhost".into(),
            port: 10019,
        };
        assert_eq!(
            named.to_string(),
            "IPv4Address(type='TCP', host='localhost', port=10019)"
        );
    }

    #[test]
    fn reasons_read_like_twisted_messages() {
        assert_eq!(
            DisconnectReason::Done.to_string(),
            "Connection was closed cleanly."
        );
        assert_eq!(
            DisconnectReason::lost(&io::Error::from_raw_os_error(104)).to_string(),
            "Connection to the other side was lost in a non-clean fashion: Connection reset by peer."
        );
        assert!(DisconnectReason::Done.is_clean());
        assert!(!DisconnectReason::Aborted.is_clean());
        let refused = ConnectError::from_io(&io::Error::from_raw_os_error(111));
        assert_eq!(
            refused.to_string(),
            "Connection was refused by other side: 111: Connection refused."
        );
        assert_eq!(refused.kind_name(), "ConnectionRefusedError");
    }
}
