//! The reactor's UDP ports, over real sockets on 127.0.0.1.

use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use common::protocol::{DatagramProtocol, DatagramTransport};
use common::reactor::Reactor;

/// Answers each datagram with the same text in upper case; `stop` stops the reactor.
struct Shouter {
    transport: Option<Rc<dyn DatagramTransport>>,
    reactor: Reactor,
    stopped: Rc<RefCell<bool>>,
}

impl DatagramProtocol for Shouter {
    fn start_protocol(&mut self, transport: Rc<dyn DatagramTransport>) {
        self.transport = Some(transport);
    }
    fn datagram_received(&mut self, data: &[u8], from: SocketAddr) {
        if data == b"stop" {
            let _ = self.reactor.stop();
            return;
        }
        let reply = data.to_ascii_uppercase();
        self.transport
            .as_ref()
            .unwrap()
            .write(&reply, from)
            .unwrap();
    }
    fn stop_protocol(&mut self) {
        *self.stopped.borrow_mut() = true;
    }
}

#[test]
fn datagrams_reach_the_protocol_and_replies_reach_the_sender() {
    let reactor = Reactor::new().unwrap();
    let stopped = Rc::new(RefCell::new(false));
    let port = reactor
        .listen_udp(
            0,
            Box::new(Shouter {
                transport: None,
                reactor: reactor.clone(),
                stopped: stopped.clone(),
            }),
            "127.0.0.1",
        )
        .unwrap();
    let address = port.get_host();
    assert_ne!(address.port(), 0);
    let client = thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut replies = Vec::new();
        for word in ["hello", "poetry"] {
            socket.send_to(word.as_bytes(), address).unwrap();
            let mut buffer = [0; 64];
            let (count, from) = socket.recv_from(&mut buffer).unwrap();
            assert_eq!(from, address);
            replies.push(String::from_utf8(buffer[..count].to_vec()).unwrap());
        }
        socket.send_to(b"stop", address).unwrap();
        replies
    });
    reactor.run().unwrap();
    assert_eq!(client.join().unwrap(), ["HELLO", "POETRY"]);
    assert!(!*stopped.borrow());
    port.stop_listening();
    assert!(*stopped.borrow());
}

#[test]
fn a_udp_port_in_use_cannot_listen() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let reactor = Reactor::new().unwrap();
    let shouter = Shouter {
        transport: None,
        reactor: reactor.clone(),
        stopped: Rc::default(),
    };
    let error = reactor
        .listen_udp(port, Box::new(shouter), "127.0.0.1")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Couldn't listen on 127.0.0.1:{port}: Address already in use.")
    );
}
