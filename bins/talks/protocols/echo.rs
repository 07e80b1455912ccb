//! The protocol of the echo servers: talk 004's p.5 ("Echo Server -- TCP", port 9999) and talk
//! 001's "Example" (port 1234) are the same program, and so is the echo half of talk 004's p.7.
//!
//! Shared by `echo-server` and `all-of-the-above`.

use std::rc::Rc;

use common::protocol::{Address, Factory, Protocol, Transport};

/// One connection: every byte received is written back, unchanged, on the same connection. No
/// framing: a chunk is echoed as it arrives, whatever is in it.
#[derive(Default)]
pub struct Echo {
    transport: Option<Rc<dyn Transport>>,
}

impl Protocol for Echo {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Some(transport) = &self.transport {
            transport.write(data);
        }
    }

    // Back-pressure, beyond the slides: a client that sends without reading would make the echo
    // pile up in our write buffer. When the transport says its buffer is full, we stop reading
    // from that client (TCP's flow control then slows the client down); when the buffer has
    // drained, we read again. The memory a client can cost us stays bounded.
    fn pause_producing(&mut self) {
        if let Some(transport) = &self.transport {
            transport.pause_producing();
        }
    }

    fn resume_producing(&mut self) {
        if let Some(transport) = &self.transport {
            transport.resume_producing();
        }
    }
}

/// Makes an [`Echo`] for every connection: connections are independent, and one never sees
/// another's bytes.
pub struct EchoFactory;

impl Factory for EchoFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Echo::default()))
    }
}
