//! Sending one shared buffer to a connection at the pace its peer reads: the part of Twisted's
//! `FileSender` that a caching server needs.
//!
//! A proxy keeps one copy of a poem and sends it to every client. Writing the whole poem at once
//! would copy it into each client's transport, whatever part the socket cannot take at once: fifty
//! clients that read slowly, or not at all, would hold fifty copies of a 50 MB poem. A
//! [`BufferSender`] writes the buffer a piece at a time instead, only while the transport holds
//! less than [`HIGH_WATER`](super::HIGH_WATER) bytes unsent, and writes the next pieces when the
//! protocol hears [`Protocol::resume_producing`](super::Protocol::resume_producing). Each client
//! then costs a share of the buffer (an `Rc`) and at most about twice the high-water mark of
//! memory, however large the buffer and however slow the client.

use std::cell::RefCell;
use std::rc::Rc;

use super::{HIGH_WATER, Transport};

/// The largest piece written at once. A piece goes to the socket at once when the transport's
/// buffer is empty, so this is also about what one write may add to that buffer.
const PIECE: usize = HIGH_WATER;

/// Sends a shared buffer to one connection, then closes it.
///
/// The protocol makes one in `connection_made`, starts it with [`send_and_close`] when it has the
/// buffer, and calls [`resume`] from its own `resume_producing`, which the reactor calls once the
/// transport has sent everything it held.
///
/// [`send_and_close`]: BufferSender::send_and_close
/// [`resume`]: BufferSender::resume
pub struct BufferSender {
    transport: Rc<dyn Transport>,
    /// The buffer and how much of it is written; `None` before the start and after the end.
    sending: RefCell<Option<(Rc<[u8]>, usize)>>,
}

impl BufferSender {
    /// A sender for the connection of `transport`, with nothing to send yet.
    pub fn new(transport: Rc<dyn Transport>) -> BufferSender {
        BufferSender {
            transport,
            sending: RefCell::new(None),
        }
    }

    /// The connection this sends to.
    pub fn transport(&self) -> &Rc<dyn Transport> {
        &self.transport
    }

    /// Starts sending `data`; the connection is closed once all of it is written.
    pub fn send_and_close(&self, data: Rc<[u8]>) {
        *self.sending.borrow_mut() = Some((data, 0));
        self.resume();
    }

    /// Writes the next pieces, as many as the transport takes before its unsent data passes the
    /// high-water mark. The protocol calls this from its `resume_producing`; it does nothing when
    /// there is nothing left to send.
    pub fn resume(&self) {
        let mut sending = self.sending.borrow_mut();
        let Some((data, written)) = sending.as_mut() else {
            return;
        };
        while *written < data.len() && self.transport.buffered() <= HIGH_WATER {
            if self.transport.is_disconnecting() {
                *sending = None;
                return;
            }
            let end = data.len().min(*written + PIECE);
            self.transport.write(&data[*written..end]);
            *written = end;
        }
        if *written == data.len() {
            *sending = None;
            self.transport.lose_connection();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::protocol::Address;

    /// A transport whose socket takes nothing: everything written stays buffered until `drain`.
    #[derive(Default)]
    struct StuckTransport {
        buffered: RefCell<Vec<u8>>,
        sent: RefCell<Vec<u8>>,
        closing: Cell<bool>,
    }

    impl StuckTransport {
        fn drain(&self) {
            let pending = std::mem::take(&mut *self.buffered.borrow_mut());
            self.sent.borrow_mut().extend_from_slice(&pending);
        }
    }

    impl Transport for StuckTransport {
        fn write(&self, data: &[u8]) {
            self.buffered.borrow_mut().extend_from_slice(data);
        }
        fn lose_connection(&self) {
            self.closing.set(true);
        }
        fn abort_connection(&self) {
            self.closing.set(true);
        }
        fn is_disconnecting(&self) -> bool {
            self.closing.get()
        }
        fn get_host(&self) -> Address {
            Address::Tcp(([127, 0, 0, 1], 1).into())
        }
        fn get_peer(&self) -> Address {
            Address::Tcp(([127, 0, 0, 1], 2).into())
        }
        fn pause_producing(&self) {}
        fn resume_producing(&self) {}
        fn buffered(&self) -> usize {
            self.buffered.borrow().len()
        }
    }

    #[test]
    fn a_large_buffer_goes_out_a_little_at_a_time_and_whole() {
        let data: Rc<[u8]> = (0..10 * HIGH_WATER).map(|i| i as u8).collect();
        let transport = Rc::new(StuckTransport::default());
        let sender = BufferSender::new(transport.clone());
        sender.send_and_close(Rc::clone(&data));
        let mut rounds = 0;
        while !transport.is_disconnecting() {
            assert!(
                transport.buffered() <= 2 * HIGH_WATER,
                "never more than two pieces held"
            );
            transport.drain();
            sender.resume();
            rounds += 1;
        }
        transport.drain();
        assert_eq!(&transport.sent.borrow()[..], &data[..]);
        // Two pieces a turn (the second takes the buffer past the mark): the first turn and four
        // more.
        assert_eq!(rounds, 4);
    }

    #[test]
    fn a_small_buffer_is_sent_and_the_connection_closed_at_once() {
        let transport = Rc::new(StuckTransport::default());
        let sender = BufferSender::new(transport.clone());
        sender.send_and_close(Rc::from(&b"a poem\n"[..]));
        assert!(transport.is_disconnecting());
        assert_eq!(&transport.buffered.borrow()[..], b"a poem\n");
        sender.resume();
        assert_eq!(
            &transport.buffered.borrow()[..],
            b"a poem\n",
            "nothing sent twice"
        );
    }

    #[test]
    fn a_client_that_left_gets_nothing_more() {
        let data: Rc<[u8]> = vec![b'x'; 4 * HIGH_WATER].into();
        let transport = Rc::new(StuckTransport::default());
        let sender = BufferSender::new(transport.clone());
        sender.send_and_close(data);
        let held = transport.buffered();
        transport.abort_connection();
        transport.drain();
        sender.resume();
        assert_eq!(transport.buffered(), 0);
        assert_eq!(transport.sent.borrow().len(), held);
    }
}
