//! The transport of a stream connection (TCP or UNIX-domain), and the task that drives it.
//!
//! Each connection is one tokio task that owns nothing but a shared [`StreamTransport`] and the
//! connection's protocol. The task waits for whichever comes first, data to read, room to write, or a
//! change asked for by the protocol (a write to flush, `lose_connection`), and calls the protocol
//! back. Nothing in it blocks, and it holds no buffer of its own while idle: all connections read
//! into one buffer per thread (a callback runs to completion before the next read), and the write
//! buffer stays empty whenever the socket takes the data at once. That is what lets a server keep
//! ten thousand slow connections in a few megabytes.
//!
//! TCP and UNIX-domain sockets behave alike here: the transport is generic over a [`Socket`], so the
//! same protocols serve both, as in Twisted.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Notify;

use super::guard;
use crate::protocol::{Address, DisconnectReason, Factory, HIGH_WATER, Protocol, Transport};

/// What the transport needs of a connected, non-blocking stream socket: tokio's `TcpStream` and
/// `UnixStream` both have it.
pub(crate) trait Socket: AsFd + 'static {
    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize>;
    fn try_write(&self, data: &[u8]) -> io::Result<usize>;
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Implements [`Socket`] for a tokio stream type by calling its methods of the same names.
macro_rules! socket_of {
    ($stream:ty) => {
        impl Socket for $stream {
            /// A read that does not fill the buffer has emptied the socket. tokio is told so
            /// (answering `WouldBlock` from inside `try_io` clears the socket's readiness), so that
            /// the connection's task sleeps until more arrives rather than trying a read that can
            /// only find nothing: one system call less per message, as tokio's own `AsyncRead`
            /// saves it. An end of input is a readiness tokio never clears, so it still wakes us.
            fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize> {
                let mut short_read = None;
                let result = self.try_io(tokio::io::Interest::READABLE, || {
                    let count = rustix::io::read(self, &mut *buffer)?;
                    if count > 0 && count < buffer.len() {
                        short_read = Some(count);
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(count)
                });
                short_read.map_or(result, Ok)
            }
            fn try_write(&self, data: &[u8]) -> io::Result<usize> {
                <$stream>::try_write(self, data)
            }
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_read_ready(self, cx)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_write_ready(self, cx)
            }
        }
    };
}

socket_of!(TcpStream);
socket_of!(UnixStream);

/// How long a connection we closed waits for the peer to close its end, reading and dropping what
/// it still sends; see [`linger`].
const LINGER: Duration = Duration::from_secs(2);

/// How many bytes one read takes at most (as Twisted's TCP transport).
const READ_SIZE: usize = 64 * 1024;

thread_local! {
    /// The buffer every connection of this thread reads into before calling `data_received`, and
    /// drops into what a peer sends after we closed (see [`linger`]).
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SIZE]);
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Open,
    /// Nothing more is read or written: `lose_connection` was called (what is buffered is sent,
    /// then the connection closes), or the connection must end at once (`verdict` says why).
    Closing,
    Closed,
}

/// The transport of one stream connection, shared by its task and its protocol.
///
/// The fields that every `write` reads come first, in this order (`repr(C)` keeps it): a server
/// that writes to ten thousand connections in turn finds each one's transport in cold memory, and
/// what it needs then spans two cache lines rather than three.
#[repr(C)]
pub(crate) struct StreamTransport<S: Socket> {
    state: Cell<LinkState>,
    reading_paused: Cell<bool>,
    /// The socket; taken out (and so closed) when the connection ends, even while the protocol
    /// still holds the transport.
    stream: RefCell<Option<S>>,
    /// Written data the socket has not taken yet.
    outgoing: RefCell<Vec<u8>>,
    /// Set when the connection must end at once: a write failed, `abort_connection`, a protocol
    /// callback failed.
    verdict: RefCell<Option<DisconnectReason>>,
    /// Wakes the connection's task when the protocol asks for something.
    wake: Notify,
    host: Address,
    peer: Address,
}

impl<S: Socket> StreamTransport<S> {
    pub(crate) fn new(stream: S, host: Address, peer: Address) -> Rc<StreamTransport<S>> {
        Rc::new(StreamTransport {
            state: Cell::new(LinkState::Open),
            reading_paused: Cell::new(false),
            stream: RefCell::new(Some(stream)),
            outgoing: RefCell::new(Vec::new()),
            verdict: RefCell::new(None),
            wake: Notify::new(),
            host,
            peer,
        })
    }

    fn end(&self, reason: DisconnectReason) {
        self.verdict.borrow_mut().get_or_insert(reason);
        if self.state.get() == LinkState::Open {
            self.state.set(LinkState::Closing);
        }
        self.wake.notify_one();
    }

    /// Why the connection is over, if it is.
    fn finished(&self) -> Option<DisconnectReason> {
        if let Some(reason) = self.verdict.borrow_mut().take() {
            return Some(reason);
        }
        let flushed = self.outgoing.borrow().is_empty();
        (self.state.get() == LinkState::Closing && flushed).then_some(DisconnectReason::Done)
    }

    /// Sends as much of the buffered data as the socket takes now.
    fn flush(&self) -> io::Result<()> {
        let stream = self.stream.borrow();
        let Some(stream) = stream.as_ref() else {
            return Ok(());
        };
        let mut outgoing = self.outgoing.borrow_mut();
        while !outgoing.is_empty() {
            match stream.try_write(&outgoing) {
                Ok(sent) => {
                    outgoing.drain(..sent);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if outgoing.is_empty() && outgoing.capacity() > HIGH_WATER {
            // A burst is over: give the memory back rather than keep it per idle connection.
            *outgoing = Vec::new();
        }
        Ok(())
    }
}

impl<S: Socket> Transport for StreamTransport<S> {
    fn write(&self, data: &[u8]) {
        if self.is_disconnecting() || data.is_empty() {
            return;
        }
        let mut outgoing = self.outgoing.borrow_mut();
        let mut rest = data;
        if outgoing.is_empty() {
            // Nothing queued before this: try to hand it to the socket now, with no copy.
            if let Some(stream) = self.stream.borrow().as_ref() {
                match stream.try_write(data) {
                    Ok(sent) => rest = &data[sent..],
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => {
                        drop(outgoing);
                        self.end(DisconnectReason::lost(&error));
                        return;
                    }
                }
            }
        }
        if !rest.is_empty() {
            let before = outgoing.len();
            outgoing.extend_from_slice(rest);
            // Wake the connection's task when there is now something to send, and when the
            // buffer has just grown past the high-water mark: the task asks the protocol to pause
            // then, so a producer that writes from a timer (not from a read) hears it at once,
            // however small each of its writes.
            if before == 0 || (before <= HIGH_WATER && outgoing.len() > HIGH_WATER) {
                self.wake.notify_one();
            }
        }
    }

    fn lose_connection(&self) {
        if self.state.get() == LinkState::Open {
            self.state.set(LinkState::Closing);
            self.wake.notify_one();
        }
    }

    fn abort_connection(&self) {
        if self.state.get() != LinkState::Closed {
            self.end(DisconnectReason::Aborted);
        }
    }

    fn is_disconnecting(&self) -> bool {
        self.state.get() != LinkState::Open
    }

    fn get_host(&self) -> Address {
        self.host.clone()
    }

    fn get_peer(&self) -> Address {
        self.peer.clone()
    }

    fn pause_producing(&self) {
        self.reading_paused.set(true);
    }

    fn resume_producing(&self) {
        self.reading_paused.set(false);
        self.wake.notify_one();
    }

    fn buffered(&self) -> usize {
        self.outgoing.borrow().len()
    }
}

/// What a failure report says the reactor was doing: which protocol method, for which peer.
struct ProtocolCall<'a> {
    method: &'static str,
    peer: &'a Address,
}

impl fmt::Display for ProtocolCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calling {} for the connection with {}",
            self.method,
            self.peer.short()
        )
    }
}

/// Calls one protocol method; if it fails, the connection is aborted.
fn call_protocol<S: Socket>(
    transport: &StreamTransport<S>,
    method: &'static str,
    callback: impl FnOnce(),
) {
    let context = ProtocolCall {
        method,
        peer: &transport.peer,
    };
    if !guard::call(&context, callback) {
        transport.end(DisconnectReason::Lost(format!(
            "the protocol's {method} failed"
        )));
    }
}

/// Runs one connection from `connection_made` to `connection_lost`, and returns why it ended.
pub(crate) async fn drive<S: Socket>(
    transport: Rc<StreamTransport<S>>,
    mut protocol: Box<dyn Protocol>,
) -> DisconnectReason {
    let handle: Rc<dyn Transport> = transport.clone();
    call_protocol(&transport, "connection_made", || {
        protocol.connection_made(handle)
    });
    let mut producer_paused = false;
    // Whether the peer has finished sending (a half-close) and the protocol goes on writing.
    let mut input_done = false;
    let reason = loop {
        if let Some(reason) = transport.finished() {
            break reason;
        }
        let want_read = transport.state.get() == LinkState::Open
            && !transport.reading_paused.get()
            && !input_done;
        let want_write = !transport.outgoing.borrow().is_empty();
        let event = next_event(&transport, want_read, want_write).await;
        let outcome = match event {
            Event::Wake => Ok(()),
            Event::Closed => Err(io::ErrorKind::NotConnected.into()),
            Event::Readable(ready) => ready.and_then(|()| read_once(&transport, &mut *protocol)),
            Event::Writable(ready) => ready.and_then(|()| transport.flush()),
        };
        if let Err(error) = outcome {
            // The end of the peer's input ends the connection, unless the protocol would rather
            // finish what it is sending (a server that only sends, to `nc -N`).
            if error.kind() == io::ErrorKind::UnexpectedEof
                && half_close(&transport, &mut *protocol)
            {
                input_done = true;
            } else {
                transport.end(end_of_stream_reason(&error));
            }
            continue;
        }
        // Back-pressure: a protocol whose peer does not read is asked to stop writing, so that
        // its transport's buffer does not grow without limit.
        let buffered = transport.buffered();
        if !producer_paused && buffered > HIGH_WATER {
            producer_paused = true;
            call_protocol(&transport, "pause_producing", || protocol.pause_producing());
        } else if producer_paused && buffered == 0 {
            producer_paused = false;
            call_protocol(&transport, "resume_producing", || {
                protocol.resume_producing()
            });
        }
    };
    let we_closed = reason.is_clean() && transport.state.get() == LinkState::Closing;
    transport.state.set(LinkState::Closed);
    transport.outgoing.borrow_mut().clear();
    // Closing the socket here, not when the last handle to the transport goes, means the peer sees
    // the end now even if the protocol keeps its transport.
    let stream = transport.stream.borrow_mut().take();
    if let Some(stream) = stream
        && we_closed
    {
        tokio::task::spawn_local(linger(stream));
    }
    let context = ProtocolCall {
        method: "connection_lost",
        peer: &transport.peer,
    };
    guard::call(&context, || protocol.connection_lost(&reason));
    reason
}

/// Closes a connection that we chose to close, after everything we wrote has been sent, without
/// letting the kernel reset it.
///
/// Closing a socket whose peer has sent data we never read makes the kernel answer with a reset,
/// and a reset can destroy our last bytes before the peer reads them: a hello server that hangs
/// up on a client that spoke first, an uppercase server whose client's line end arrived after the
/// text, would lose their answers. So we say we are done (a FIN, by shutting down our sending
/// side), then read and drop whatever the peer still sends until it closes too, for [`LINGER`] at
/// most, and only then close. The protocol has already been told the connection is over.
async fn linger<S: Socket>(stream: S) {
    if rustix::net::shutdown(stream.as_fd(), rustix::net::Shutdown::Write).is_err() {
        return;
    }
    let drained = async {
        loop {
            if std::future::poll_fn(|cx| stream.poll_read_ready(cx))
                .await
                .is_err()
            {
                return;
            }
            // Into the thread's read buffer, not one of our own: a buffer held across the wait
            // would be part of this task, and a slow server closing ten thousand connections at
            // once would hold ten thousand of them.
            match READ_BUFFER.with_borrow_mut(|buffer| stream.try_read(buffer)) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drained).await;
}

/// What woke a connection's task.
enum Event {
    Wake,
    Readable(io::Result<()>),
    Writable(io::Result<()>),
    Closed,
}

/// Waits for the protocol to ask for something, or for the socket to be readable (when we want to
/// read) or writable (when there is something to write).
///
/// The socket is borrowed only while it is polled, never across the wait, so that the connection's
/// callbacks and its end can use the transport freely meanwhile.
async fn next_event<S: Socket>(
    transport: &StreamTransport<S>,
    want_read: bool,
    want_write: bool,
) -> Event {
    let woken = transport.wake.notified();
    let mut woken = std::pin::pin!(woken);
    std::future::poll_fn(|cx| {
        if woken.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Event::Wake);
        }
        let stream = transport.stream.borrow();
        let Some(stream) = stream.as_ref() else {
            return Poll::Ready(Event::Closed);
        };
        if want_read && let Poll::Ready(ready) = stream.poll_read_ready(cx) {
            return Poll::Ready(Event::Readable(ready));
        }
        if want_write && let Poll::Ready(ready) = stream.poll_write_ready(cx) {
            return Poll::Ready(Event::Writable(ready));
        }
        Poll::Pending
    })
    .await
}

/// Tells the protocol the peer has finished sending, and gives its answer: whether to go on
/// writing. A failing `read_connection_lost` ends the connection.
fn half_close<S: Socket>(transport: &StreamTransport<S>, protocol: &mut dyn Protocol) -> bool {
    let mut keep_writing = false;
    call_protocol(transport, "read_connection_lost", || {
        keep_writing = protocol.read_connection_lost();
    });
    keep_writing && !transport.is_disconnecting()
}

/// A read error stands for a connection that broke; end of file is turned into an error by
/// [`read_once`] so that both leave the loop the same way.
fn end_of_stream_reason(error: &io::Error) -> DisconnectReason {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        DisconnectReason::Done
    } else {
        DisconnectReason::lost(error)
    }
}

/// Reads once and hands what arrived to the protocol. End of file comes back as `UnexpectedEof`.
fn read_once<S: Socket>(
    transport: &StreamTransport<S>,
    protocol: &mut dyn Protocol,
) -> io::Result<()> {
    if transport.reading_paused.get() || transport.state.get() != LinkState::Open {
        return Ok(());
    }
    READ_BUFFER.with_borrow_mut(|buffer| {
        let received = match transport.stream.borrow().as_ref() {
            Some(stream) => stream.try_read(buffer),
            None => return Ok(()),
        };
        match received {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(count) => {
                call_protocol(transport, "data_received", || {
                    protocol.data_received(&buffer[..count])
                });
                Ok(())
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    })
}

/// Makes the protocol for a new connection; a panic in `build_protocol` refuses the connection.
pub(crate) fn build<F: Factory + ?Sized>(factory: &F, peer: &Address) -> Option<Box<dyn Protocol>> {
    let mut protocol = None;
    guard::call(&"calling build_protocol", || {
        protocol = factory.build_protocol(peer)
    });
    protocol
}

/// Starts the task of an accepted connection, if the factory accepts it.
pub(crate) fn serve<S: Socket, F: Factory + ?Sized>(
    stream: S,
    host: Address,
    peer: Address,
    factory: &F,
) {
    let Some(protocol) = build(factory, &peer) else {
        return;
    };
    let transport = StreamTransport::new(stream, host, peer);
    tokio::task::spawn_local(async move {
        drive(transport, protocol).await;
    });
}
