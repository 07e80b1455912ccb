//! UDP: a port whose datagrams go to one [`DatagramProtocol`].

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::port::CannotListenError;
use super::{Reactor, guard};
use crate::cli::address::listen_address;
use crate::protocol::{DatagramProtocol, DatagramTransport};

/// The largest datagram a UDP port receives whole.
const DATAGRAM_SIZE: usize = 64 * 1024;

/// The sending side of a UDP port, handed to its protocol.
struct UdpTransport {
    socket: Rc<UdpSocket>,
    host: SocketAddr,
}

impl DatagramTransport for UdpTransport {
    fn write(&self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.socket.try_send_to(data, to) {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn get_host(&self) -> SocketAddr {
        self.host
    }
}

/// A UDP port listening with [`Reactor::listen_udp`].
pub struct UdpPort {
    address: SocketAddr,
    receiving: RefCell<Option<JoinHandle<()>>>,
    protocol: Rc<RefCell<Box<dyn DatagramProtocol>>>,
}

impl UdpPort {
    /// The address the port listens on, with the actual port number when port 0 was asked for.
    pub fn get_host(&self) -> SocketAddr {
        self.address
    }

    /// Stops receiving and calls the protocol's `stop_protocol`.
    pub fn stop_listening(&self) {
        if let Some(task) = self.receiving.borrow_mut().take() {
            task.abort();
            let protocol = &self.protocol;
            guard::call(&"calling stop_protocol", || {
                protocol.borrow_mut().stop_protocol()
            });
        }
    }
}

impl fmt::Debug for UdpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UdpPort({})", self.address)
    }
}

impl Reactor {
    /// Listens for UDP datagrams on `port` of `interface`, handing each to `protocol`. Port 0 takes
    /// any free port: ask the returned [`UdpPort`] which.
    pub fn listen_udp(
        &self,
        port: u16,
        protocol: Box<dyn DatagramProtocol>,
        interface: &str,
    ) -> Result<UdpPort, CannotListenError> {
        let cannot = |error| CannotListenError::new(format!("{interface}:{port}"), error);
        let socket = {
            let _context = self.inner.runtime.enter();
            let address = listen_address(interface, port).map_err(cannot)?;
            let socket = std::net::UdpSocket::bind(address).map_err(cannot)?;
            socket.set_nonblocking(true).map_err(cannot)?;
            UdpSocket::from_std(socket).map_err(cannot)?
        };
        let address = socket.local_addr().map_err(cannot)?;
        let socket = Rc::new(socket);
        let protocol = Rc::new(RefCell::new(protocol));
        let transport: Rc<dyn DatagramTransport> = Rc::new(UdpTransport {
            socket: Rc::clone(&socket),
            host: address,
        });
        guard::call(&"calling start_protocol", || {
            protocol.borrow_mut().start_protocol(transport)
        });
        let receiving_protocol = Rc::clone(&protocol);
        let task = self.inner.local.spawn_local(async move {
            let mut buffer = vec![0; DATAGRAM_SIZE];
            loop {
                match socket.recv_from(&mut buffer).await {
                    Ok((count, from)) => {
                        let context = format_args!("calling datagram_received from {from}");
                        guard::call(&context, || {
                            receiving_protocol
                                .borrow_mut()
                                .datagram_received(&buffer[..count], from)
                        });
                    }
                    // An earlier datagram we sent was refused (ICMP): nothing to do with receiving.
                    Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {}
                    Err(error) => {
                        crate::log::report_unhandled(
                            &format!("receiving on UDP port {address}"),
                            &crate::cli::output::plain_error(&error),
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(UdpPort {
            address,
            receiving: RefCell::new(Some(task)),
            protocol,
        })
    }
}
