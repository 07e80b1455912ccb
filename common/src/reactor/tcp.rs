//! TCP: listening ports and outgoing connections.
//!
//! Only the making of sockets is here: binding with the options a server wants, resolving a name
//! and trying its addresses in turn. Accepting, connecting and driving a connection are the same
//! for every kind of stream socket, and live in [`super::port`] and [`super::stream`].

use std::rc::Rc;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use super::Reactor;
use super::port::{CannotListenError, ListeningPort};
use crate::cli::address::listen_address;
use crate::cli::output::plain_error;
use crate::protocol::{Address, ClientFactory, ConnectError, Connector, Destination, Factory};

/// How many connections may wait to be accepted (the system caps it at net.core.somaxconn): enough
/// for thousands of clients connecting at the same moment.
const LISTEN_BACKLOG: u32 = 4096;

impl Reactor {
    /// Listens for TCP connections on `port` of `interface` (`localhost`, `0.0.0.0`, an address),
    /// making a protocol with `factory` for each connection. Port 0 takes any free port: ask the
    /// returned [`ListeningPort`] which.
    ///
    /// The port is bound at once, so that an error (the port is taken) is returned here, before the
    /// reactor runs.
    pub fn listen_tcp<F: Factory + 'static>(
        &self,
        port: u16,
        factory: Rc<F>,
        interface: &str,
    ) -> Result<ListeningPort, CannotListenError> {
        self.listen_tcp_with_backlog(port, factory, interface, None)
    }

    /// [`listen_tcp`](Reactor::listen_tcp) with room for `backlog` connections waiting to be
    /// accepted (4096 when `None`).
    pub fn listen_tcp_with_backlog<F: Factory + 'static>(
        &self,
        port: u16,
        factory: Rc<F>,
        interface: &str,
        backlog: Option<u32>,
    ) -> Result<ListeningPort, CannotListenError> {
        let cannot = |error| CannotListenError::new(format!("{interface}:{port}"), error);
        let listener = {
            let _context = self.inner.runtime.enter();
            let address = listen_address(interface, port).map_err(cannot)?;
            let socket = if address.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(cannot)?;
            socket.set_reuseaddr(true).map_err(cannot)?;
            socket.bind(address).map_err(cannot)?;
            socket
                .listen(backlog.unwrap_or(LISTEN_BACKLOG))
                .map_err(cannot)?
        };
        let address = listener.local_addr().map_err(cannot)?;
        Ok(self.accept_on(listener, Address::Tcp(address), factory, || {}))
    }

    /// Connects to `host`:`port` (a name or an IP address), giving up after `timeout`. The factory
    /// hears of the attempt (`started_connecting`, now), then of its failure, or makes the protocol
    /// for the connection and later hears that it closed.
    pub fn connect_tcp<F: ClientFactory + 'static>(
        &self,
        host: &str,
        port: u16,
        factory: Rc<F>,
        timeout: Duration,
    ) -> Connector {
        let destination = Destination::Tcp {
            host: host.to_owned(),
            port,
        };
        self.connect_with(destination, factory, timeout, open(host.to_owned(), port))
    }
}

/// Resolves `host` and connects to the first of its addresses that accepts.
async fn open(host: String, port: u16) -> Result<(TcpStream, Address, Address), ConnectError> {
    let addresses = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|error| ConnectError::DnsLookup {
            host: host.clone(),
            error: plain_error(&error),
        })?;
    let mut failure = ConnectError::DnsLookup {
        host: host.clone(),
        error: "no addresses".to_owned(),
    };
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                let local = stream.local_addr().map_err(|e| ConnectError::from_io(&e))?;
                return Ok((stream, Address::Tcp(local), Address::Tcp(address)));
            }
            Err(error) => failure = ConnectError::from_io(&error),
        }
    }
    Err(failure)
}
