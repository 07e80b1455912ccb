//! The protocol of talk 004's UDP echo server (p.6, port 9999), shared by `echo-udp` and
//! `all-of-the-above`.

use std::net::SocketAddr;
use std::rc::Rc;

use common::errln;
use common::protocol::{DatagramProtocol, DatagramTransport};

/// Sends every datagram back to where it came from, as one datagram. UDP has no connections:
/// one protocol serves the whole port, and each datagram comes with its sender's address.
#[derive(Default)]
pub struct EchoUdp {
    transport: Option<Rc<dyn DatagramTransport>>,
}

impl DatagramProtocol for EchoUdp {
    fn start_protocol(&mut self, transport: Rc<dyn DatagramTransport>) {
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], from: SocketAddr) {
        if let Some(transport) = &self.transport
            && let Err(error) = transport.write(data, from)
        {
            errln!("cannot echo a datagram to {from}: {error}");
        }
    }
}
