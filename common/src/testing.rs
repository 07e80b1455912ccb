//! Test doubles: running protocols without sockets.
//!
//! A protocol's logic is best tested by feeding it bytes directly, in every chunk size down to one
//! byte at a time, and looking at what it wrote. [`StringTransport`] is the transport for that (as
//! Twisted's `StringTransport`): it records writes and closes instead of sending anything. For timer
//! logic, `Reactor::with_paused_clock` (with the feature `test-util`) runs a reactor whose time jumps from one deadline to the next.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use crate::protocol::{Address, DisconnectReason, Protocol, Transport};

/// An in-memory transport that records what a protocol does with it.
#[derive(Debug)]
pub struct StringTransport {
    written: RefCell<Vec<u8>>,
    disconnecting: Cell<bool>,
    aborted: Cell<bool>,
    producing_paused: Cell<bool>,
    /// What `buffered` answers: the test plays a peer that has not taken that much.
    unsent: Cell<usize>,
    host: SocketAddr,
    peer: SocketAddr,
}

impl StringTransport {
    /// A transport between `127.0.0.1:10000` (us) and `127.0.0.1:54321` (the peer).
    pub fn new() -> Rc<StringTransport> {
        Rc::new(StringTransport {
            written: RefCell::new(Vec::new()),
            disconnecting: Cell::new(false),
            aborted: Cell::new(false),
            producing_paused: Cell::new(false),
            unsent: Cell::new(0),
            host: SocketAddr::from(([127, 0, 0, 1], 10000)),
            peer: SocketAddr::from(([127, 0, 0, 1], 54321)),
        })
    }

    /// Everything written so far.
    pub fn value(&self) -> Vec<u8> {
        self.written.borrow().clone()
    }

    /// Forgets what was written so far.
    pub fn clear(&self) {
        self.written.borrow_mut().clear();
    }

    /// Whether `abort_connection` was called.
    pub fn aborted(&self) -> bool {
        self.aborted.get()
    }

    /// Whether `pause_producing` is in effect.
    pub fn producing_paused(&self) -> bool {
        self.producing_paused.get()
    }

    /// Makes `buffered` say that `count` written bytes wait to be sent, as a real transport's
    /// would while its peer does not read: how a test reaches a protocol's back-pressure.
    pub fn set_buffered(&self, count: usize) {
        self.unsent.set(count);
    }
}

impl Transport for StringTransport {
    fn write(&self, data: &[u8]) {
        if !self.disconnecting.get() {
            self.written.borrow_mut().extend_from_slice(data);
        }
    }

    fn lose_connection(&self) {
        self.disconnecting.set(true);
    }

    fn abort_connection(&self) {
        self.disconnecting.set(true);
        self.aborted.set(true);
    }

    fn is_disconnecting(&self) -> bool {
        self.disconnecting.get()
    }

    fn get_host(&self) -> Address {
        Address::Tcp(self.host)
    }

    fn get_peer(&self) -> Address {
        Address::Tcp(self.peer)
    }

    fn pause_producing(&self) {
        self.producing_paused.set(true);
    }

    fn resume_producing(&self) {
        self.producing_paused.set(false);
    }

    fn buffered(&self) -> usize {
        self.unsent.get()
    }
}

/// Connects `protocol` to a new [`StringTransport`], feeds it `input` in pieces of `chunk` bytes,
/// then closes the connection cleanly; returns the transport, to look at what was written.
///
/// Stops feeding once the protocol has asked to disconnect, as a real transport would.
pub fn feed_in_chunks(
    protocol: &mut dyn Protocol,
    input: &[u8],
    chunk: usize,
) -> Rc<StringTransport> {
    let transport = StringTransport::new();
    protocol.connection_made(transport.clone());
    for piece in input.chunks(chunk.max(1)) {
        if transport.is_disconnecting() {
            break;
        }
        protocol.data_received(piece);
    }
    protocol.connection_lost(&DisconnectReason::Done);
    transport
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes each piece in upper case, and hangs up on `!`.
    struct Shout(Option<Rc<dyn Transport>>);

    impl Protocol for Shout {
        fn connection_made(&mut self, transport: Rc<dyn Transport>) {
            self.0 = Some(transport);
        }
        fn data_received(&mut self, data: &[u8]) {
            let transport = self.0.as_ref().unwrap();
            transport.write(&data.to_ascii_uppercase());
            if data.contains(&b'!') {
                transport.lose_connection();
            }
        }
    }

    #[test]
    fn records_writes_until_the_protocol_disconnects() {
        let cases: [(usize, &[u8]); 4] = [(1, b"ABC!"), (2, b"ABC!"), (3, b"ABC!DE"), (4, b"ABC!")];
        for (chunk, expected) in cases {
            let transport = feed_in_chunks(&mut Shout(None), b"abc!def", chunk);
            assert_eq!(transport.value(), expected, "chunk {chunk}");
            assert!(transport.is_disconnecting());
            transport.write(b"late");
            assert_eq!(transport.value(), expected, "chunk {chunk}");
        }
    }
}
