//! The protocol of one HTTP connection (Twisted's `HTTPChannel`): the reactor's bytes in, hyper's
//! HTTP/1 on top.
//!
//! A [`Site`](super::Site) is a factory like any other: the reactor accepts the connection, makes
//! this protocol for it, and calls `data_received` as bytes arrive. HTTP itself (parsing requests,
//! keep-alive, chunked bodies, HTTP/1.0, limits and timeouts) is hyper's job, never ours. The two
//! meet in a [`Pipe`]: hyper reads from it what the reactor delivered, and what hyper writes goes
//! to the transport. Back-pressure crosses it both ways:
//!
//! * while hyper does not read (it is waiting for a page to answer, and the client keeps
//!   pipelining requests), the pipe fills; past a mark, the transport stops reading the socket;
//! * while the transport holds too much unsent (the client reads slowly), the transport tells this
//!   protocol to pause, and hyper's writes wait.
//!
//! hyper drives the connection in a task of its own on the reactor's thread; when it is done (the
//! client asked to close, HTTP/1.0, an error), the transport is closed.

use std::cell::{Cell, RefCell};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};

use super::Request;
use super::site::{SiteInner, respond};
use crate::protocol::{Address, DisconnectReason, Protocol, Transport};

/// How many received bytes may wait for hyper before the socket stops being read.
const INBOUND_HIGH_WATER: usize = 64 * 1024;

/// The meeting point of the reactor's connection and hyper's: shared by the protocol (which fills
/// it) and hyper's I/O object (which drains it).
pub(crate) struct Pipe {
    transport: Rc<dyn Transport>,
    /// Received bytes that hyper has not read yet.
    inbound: RefCell<BytesMut>,
    /// The client has finished sending (or is gone): hyper reads the end of input after `inbound`.
    read_closed: Cell<bool>,
    /// The socket is no longer read because `inbound` is full.
    reading_paused: Cell<bool>,
    /// The transport is full: hyper's writes wait.
    writing_paused: Cell<bool>,
    /// The connection is closed: writing fails.
    lost: Cell<bool>,
    read_waker: RefCell<Option<Waker>>,
    write_waker: RefCell<Option<Waker>>,
    /// The request being answered (hyper answers one at a time), to tell it if the client goes.
    pub(crate) current: RefCell<Option<Request>>,
    /// The client's address and ours, for the requests.
    pub(crate) peer: Address,
    pub(crate) host: Address,
}

impl Pipe {
    fn wake_reader(&self) {
        if let Some(waker) = self.read_waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn wake_writer(&self) {
        if let Some(waker) = self.write_waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Closes the connection at once: a page failed in the middle of its answer, and what was sent
    /// must not look complete.
    pub(crate) fn abort(&self) {
        self.transport.abort_connection();
    }

    /// Whether the client has finished sending (or is gone).
    pub(crate) fn client_stopped_sending(&self) -> bool {
        self.read_closed.get()
    }

    /// The client is gone (or has stopped sending while a page is still answering it): the page
    /// hears that its request is lost.
    pub(crate) fn tell_current_request(&self) {
        if let Some(request) = self.current.borrow_mut().take() {
            request.connection_lost();
        }
    }

    /// Whether a response is being made that the client has not had in full.
    fn answering(&self) -> bool {
        self.current
            .borrow()
            .as_ref()
            .is_some_and(|request| !request.finished())
    }
}

/// One HTTP connection: the reactor's protocol, which hands its bytes to hyper.
pub(crate) struct HttpChannel {
    site: Rc<SiteInner>,
    peer: Address,
    pipe: Option<Rc<Pipe>>,
}

impl HttpChannel {
    pub(crate) fn new(site: Rc<SiteInner>, peer: Address) -> HttpChannel {
        HttpChannel {
            site,
            peer,
            pipe: None,
        }
    }
}

impl Protocol for HttpChannel {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let pipe = Rc::new(Pipe {
            host: transport.get_host(),
            peer: self.peer.clone(),
            transport,
            inbound: RefCell::new(BytesMut::new()),
            read_closed: Cell::new(false),
            reading_paused: Cell::new(false),
            writing_paused: Cell::new(false),
            lost: Cell::new(false),
            read_waker: RefCell::new(None),
            write_waker: RefCell::new(None),
            current: RefCell::new(None),
        });
        self.pipe = Some(Rc::clone(&pipe));
        let site = Rc::clone(&self.site);
        tokio::task::spawn_local(async move {
            let service = {
                let (site, pipe) = (Rc::clone(&site), Rc::clone(&pipe));
                hyper::service::service_fn(move |request| {
                    respond(Rc::clone(&site), Rc::clone(&pipe), request)
                })
            };
            // Whatever ended it (the client closed, HTTP/1.0, a malformed request hyper answered
            // with a 400, a timeout), the connection is over once hyper returns.
            let _ = site
                .http
                .serve_connection(PipeIo(Rc::clone(&pipe)), service)
                .await;
            pipe.transport.lose_connection();
        });
    }

    fn data_received(&mut self, data: &[u8]) {
        let Some(pipe) = &self.pipe else { return };
        let mut inbound = pipe.inbound.borrow_mut();
        inbound.extend_from_slice(data);
        if inbound.len() > INBOUND_HIGH_WATER && !pipe.reading_paused.replace(true) {
            pipe.transport.pause_producing();
        }
        drop(inbound);
        pipe.wake_reader();
    }

    /// The client has finished sending. If a page is still answering it, the client has gone (as
    /// curl or a browser leave): as in Twisted, the request is lost and the connection closed.
    /// Otherwise hyper reads the end of input after what came before it, answers the requests
    /// whose pages answer at once (what `nc -N` expects), and closes; a page that would answer
    /// later finds its client gone, as in Twisted.
    fn read_connection_lost(&mut self) -> bool {
        let Some(pipe) = &self.pipe else { return false };
        if pipe.answering() {
            pipe.tell_current_request();
            return false;
        }
        pipe.read_closed.set(true);
        pipe.wake_reader();
        true
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        let Some(pipe) = &self.pipe else { return };
        pipe.lost.set(true);
        pipe.read_closed.set(true);
        pipe.tell_current_request();
        pipe.wake_reader();
        pipe.wake_writer();
    }

    fn pause_producing(&mut self) {
        if let Some(pipe) = &self.pipe {
            pipe.writing_paused.set(true);
        }
    }

    fn resume_producing(&mut self) {
        if let Some(pipe) = &self.pipe {
            pipe.writing_paused.set(false);
            pipe.wake_writer();
        }
    }
}

/// hyper's view of the connection: reads come from the pipe, writes go to the transport.
struct PipeIo(Rc<Pipe>);

impl hyper::rt::Read for PipeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let pipe = &self.0;
        let mut inbound = pipe.inbound.borrow_mut();
        if !inbound.is_empty() {
            let count = inbound.len().min(buf.remaining());
            buf.put_slice(&inbound[..count]);
            inbound.advance(count);
            if inbound.len() < INBOUND_HIGH_WATER / 2 && pipe.reading_paused.replace(false) {
                pipe.transport.resume_producing();
            }
            return Poll::Ready(Ok(()));
        }
        if pipe.read_closed.get() {
            // Nothing read: the end of the client's input.
            return Poll::Ready(Ok(()));
        }
        *pipe.read_waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl hyper::rt::Write for PipeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let pipe = &self.0;
        if pipe.lost.get() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if pipe.writing_paused.get() {
            *pipe.write_waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        pipe.transport.write(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The transport sends as soon as the socket can take it: nothing to push.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.transport.lose_connection();
        Poll::Ready(Ok(()))
    }
}
