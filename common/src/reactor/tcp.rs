//! TCP: listening ports, outgoing connections, and the transport that drives each connection.
//!
//! Each connection is one tokio task that owns nothing but a shared [`TcpTransport`] and the
//! connection's protocol. The task waits for whichever comes first, data to read, room to write, or a
//! change asked for by the protocol (a write to flush, `lose_connection`), and calls the protocol
//! back. Nothing in it blocks, and it holds no buffer of its own while idle: all connections read
//! into one buffer per thread (a callback runs to completion before the next read), and the write
//! buffer stays empty whenever the socket takes the data at once. That is what lets a server keep
//! ten thousand slow connections in a few megabytes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Reactor, guard};
use crate::cli::address::listen_address;
use crate::cli::output::plain_error;
use crate::defer::{Deferred, succeed};
use crate::log::report_unhandled;
use crate::protocol::{
    ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};

/// How many bytes one read takes at most (as Twisted's TCP transport).
const READ_SIZE: usize = 64 * 1024;

/// When a connection's unsent data grows past this, its protocol is asked to pause producing.
const HIGH_WATER: usize = 64 * 1024;

/// How many connections may wait to be accepted (the system caps it at net.core.somaxconn): enough
/// for thousands of clients connecting at the same moment.
const LISTEN_BACKLOG: u32 = 4096;

thread_local! {
    /// The buffer every connection of this thread reads into before calling `data_received`.
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SIZE]);
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Open,
    /// `lose_connection` was called: send what is buffered, then close.
    Closing,
    Closed,
}

/// The transport of one TCP connection, shared by its task and its protocol.
pub(crate) struct TcpTransport {
    /// The socket; taken out (and so closed) when the connection ends, even while the protocol
    /// still holds the transport.
    stream: RefCell<Option<TcpStream>>,
    host: SocketAddr,
    peer: SocketAddr,
    /// Written data the socket has not taken yet.
    outgoing: RefCell<Vec<u8>>,
    state: Cell<LinkState>,
    reading_paused: Cell<bool>,
    /// Set when the connection must end at once: a write failed, `abort_connection`, a protocol
    /// callback failed.
    verdict: RefCell<Option<DisconnectReason>>,
    /// Wakes the connection's task when the protocol asks for something.
    wake: Notify,
}

impl TcpTransport {
    fn new(stream: TcpStream, host: SocketAddr, peer: SocketAddr) -> Rc<TcpTransport> {
        Rc::new(TcpTransport {
            stream: RefCell::new(Some(stream)),
            host,
            peer,
            outgoing: RefCell::new(Vec::new()),
            state: Cell::new(LinkState::Open),
            reading_paused: Cell::new(false),
            verdict: RefCell::new(None),
            wake: Notify::new(),
        })
    }

    fn end(&self, reason: DisconnectReason) {
        self.verdict.borrow_mut().get_or_insert(reason);
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

impl Transport for TcpTransport {
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
            let was_empty = outgoing.is_empty();
            outgoing.extend_from_slice(rest);
            if was_empty {
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
        self.state.get() != LinkState::Open || self.verdict.borrow().is_some()
    }

    fn get_host(&self) -> SocketAddr {
        self.host
    }

    fn get_peer(&self) -> SocketAddr {
        self.peer
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
struct ProtocolCall {
    method: &'static str,
    peer: SocketAddr,
}

impl fmt::Display for ProtocolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calling {} for the connection with {}",
            self.method, self.peer
        )
    }
}

/// Calls one protocol method; if it fails, the connection is aborted.
fn call_protocol(transport: &TcpTransport, method: &'static str, callback: impl FnOnce()) {
    let context = ProtocolCall {
        method,
        peer: transport.peer,
    };
    if !guard::call(&context, callback) {
        transport.end(DisconnectReason::Lost(format!(
            "the protocol's {method} failed"
        )));
    }
}

/// Runs one connection from `connection_made` to `connection_lost`, and returns why it ended.
async fn drive(transport: Rc<TcpTransport>, mut protocol: Box<dyn Protocol>) -> DisconnectReason {
    let handle: Rc<dyn Transport> = transport.clone();
    call_protocol(&transport, "connection_made", || {
        protocol.connection_made(handle)
    });
    let mut producer_paused = false;
    let reason = loop {
        if let Some(reason) = transport.finished() {
            break reason;
        }
        let want_read = transport.state.get() == LinkState::Open && !transport.reading_paused.get();
        let want_write = !transport.outgoing.borrow().is_empty();
        let event = next_event(&transport, want_read, want_write).await;
        let outcome = match event {
            Event::Wake => Ok(()),
            Event::Closed => Err(io::ErrorKind::NotConnected.into()),
            Event::Readable(ready) => ready.and_then(|()| read_once(&transport, &mut *protocol)),
            Event::Writable(ready) => ready.and_then(|()| transport.flush()),
        };
        if let Err(error) = outcome {
            transport.end(end_of_stream_reason(&error));
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
    transport.state.set(LinkState::Closed);
    transport.outgoing.borrow_mut().clear();
    // Closing the socket here, not when the last handle to the transport goes, means the peer sees
    // the end now even if the protocol keeps its transport.
    transport.stream.borrow_mut().take();
    let context = ProtocolCall {
        method: "connection_lost",
        peer: transport.peer,
    };
    guard::call(&context, || protocol.connection_lost(&reason));
    reason
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
async fn next_event(transport: &TcpTransport, want_read: bool, want_write: bool) -> Event {
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
fn read_once(transport: &TcpTransport, protocol: &mut dyn Protocol) -> io::Result<()> {
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

/// A TCP port listening for connections: what [`Reactor::listen_tcp`] returns.
pub struct ListeningPort {
    address: SocketAddr,
    /// The listening socket, shared with the accepting task; taken out (and so closed) by
    /// `stop_listening`, which must close the port at once even when the loop is not running.
    listener: Rc<RefCell<Option<TcpListener>>>,
    accepting: RefCell<Option<JoinHandle<()>>>,
    release: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl ListeningPort {
    /// The address the port listens on, with the actual port number when port 0 was asked for.
    pub fn get_host(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting connections and closes the port; connections already made go on. The
    /// factory's `stop_factory` runs if nothing else uses it.
    ///
    /// Returns a Deferred that fires when the port is closed, as Twisted's does; ours closes at
    /// once, so it has fired already.
    pub fn stop_listening(&self) -> Deferred<()> {
        self.listener.borrow_mut().take();
        if let Some(task) = self.accepting.borrow_mut().take() {
            task.abort();
        }
        if let Some(release) = self.release.borrow_mut().take() {
            release();
        }
        succeed(())
    }
}

impl fmt::Debug for ListeningPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListeningPort({})", self.address)
    }
}

/// Why a port could not listen, with the interface and port asked for, as Twisted's
/// `CannotListenError` says it.
#[derive(Debug)]
pub struct CannotListenError {
    /// The interface asked for.
    pub interface: String,
    /// The port asked for.
    pub port: u16,
    /// What the system said.
    pub error: io::Error,
}

impl fmt::Display for CannotListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Couldn't listen on {}:{}: {}.",
            self.interface,
            self.port,
            plain_error(&self.error)
        )
    }
}

impl std::error::Error for CannotListenError {}

/// The state of one `connect_tcp`, shared by its task and its [`Connector`].
pub(crate) struct ConnectorControl {
    cancel: Notify,
    transport: RefCell<Option<Rc<TcpTransport>>>,
}

impl ConnectorControl {
    pub(crate) fn disconnect(&self) {
        match self.transport.borrow().as_ref() {
            Some(transport) => transport.lose_connection(),
            None => self.cancel.notify_one(),
        }
    }
}

/// Counts, per factory, the ports and connections using it, so that `start_factory` and
/// `stop_factory` run once each however many share it.
#[derive(Default)]
pub(crate) struct FactoryUsers(RefCell<HashMap<usize, usize>>);

fn factory_key<F: ?Sized>(factory: &Rc<F>) -> usize {
    Rc::as_ptr(factory).cast::<()>() as usize
}

impl Reactor {
    fn factory_in_use<F: Factory + ?Sized>(&self, factory: &Rc<F>) {
        let first = {
            let mut users = self.inner.factory_users.0.borrow_mut();
            let count = users.entry(factory_key(factory)).or_insert(0);
            *count += 1;
            *count == 1
        };
        if first {
            guard::call(&"calling start_factory", || factory.start_factory());
        }
    }

    fn factory_released<F: Factory + ?Sized>(&self, factory: &Rc<F>) {
        let last = {
            let mut users = self.inner.factory_users.0.borrow_mut();
            let key = factory_key(factory);
            match users.get_mut(&key) {
                Some(1) => {
                    users.remove(&key);
                    true
                }
                Some(count) => {
                    *count -= 1;
                    false
                }
                None => false,
            }
        };
        if last {
            guard::call(&"calling stop_factory", || factory.stop_factory());
        }
    }

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
        let cannot = |error| CannotListenError {
            interface: interface.to_owned(),
            port,
            error,
        };
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
            socket.listen(LISTEN_BACKLOG).map_err(cannot)?
        };
        let address = listener.local_addr().map_err(cannot)?;
        self.factory_in_use(&factory);

        let listener = Rc::new(RefCell::new(Some(listener)));
        let accepting_listener = Rc::clone(&listener);
        let accepting_factory = Rc::clone(&factory);
        let task = self.inner.local.spawn_local(async move {
            loop {
                // Borrow the listener only while polling it, never across the wait, so that
                // `stop_listening` can take it out at any time.
                let accepted =
                    std::future::poll_fn(|cx| match accepting_listener.borrow().as_ref() {
                        Some(listener) => listener.poll_accept(cx).map(Some),
                        None => std::task::Poll::Ready(None),
                    })
                    .await;
                let Some(accepted) = accepted else {
                    return;
                };
                match accepted {
                    Ok((stream, peer)) => serve(stream, peer, address, &*accepting_factory),
                    Err(error) => {
                        // Most likely out of file descriptors: say so, and give connections time
                        // to close instead of spinning.
                        report_unhandled(
                            &format!("accepting a connection on {address}"),
                            &plain_error(&error),
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let reactor = self.clone();
        Ok(ListeningPort {
            address,
            listener,
            accepting: RefCell::new(Some(task)),
            release: RefCell::new(Some(Box::new(move || reactor.factory_released(&factory)))),
        })
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
        let control = Rc::new(ConnectorControl {
            cancel: Notify::new(),
            transport: RefCell::new(None),
        });
        let connector = Connector {
            host: host.into(),
            port,
            control: Rc::clone(&control),
        };
        self.factory_in_use(&factory);
        guard::call(&"calling started_connecting", || {
            factory.started_connecting(&connector)
        });

        let reactor = self.clone();
        let task_connector = connector.clone();
        self.inner.local.spawn_local(async move {
            let connector = task_connector;
            let attempt = tokio::time::timeout(timeout, open(&connector.host, port));
            // A `disconnect` asked for before the attempt completes wins over the attempt.
            let connected = tokio::select! {
                biased;
                () = control.cancel.notified() => Err(ConnectError::Cancelled),
                result = attempt => result.unwrap_or(Err(ConnectError::TimedOut)),
            };
            match connected {
                Err(reason) => {
                    guard::call(&"calling client_connection_failed", || {
                        factory.client_connection_failed(&connector, &reason)
                    });
                }
                Ok((stream, host, peer)) => {
                    let reason = match build(&*factory, peer) {
                        Some(protocol) => {
                            let transport = TcpTransport::new(stream, host, peer);
                            *control.transport.borrow_mut() = Some(Rc::clone(&transport));
                            let reason = drive(transport, protocol).await;
                            control.transport.borrow_mut().take();
                            reason
                        }
                        None => DisconnectReason::Done,
                    };
                    guard::call(&"calling client_connection_lost", || {
                        factory.client_connection_lost(&connector, &reason)
                    });
                }
            }
            reactor.factory_released(&factory);
        });
        connector
    }
}

/// Makes the protocol for a new connection; a panic in `build_protocol` refuses the connection.
fn build<F: Factory + ?Sized>(factory: &F, peer: SocketAddr) -> Option<Box<dyn Protocol>> {
    let mut protocol = None;
    guard::call(&"calling build_protocol", || {
        protocol = factory.build_protocol(peer)
    });
    protocol
}

/// Starts the task of an accepted connection, if the factory accepts it.
fn serve<F: Factory + ?Sized>(stream: TcpStream, peer: SocketAddr, host: SocketAddr, factory: &F) {
    let Some(protocol) = build(factory, peer) else {
        return;
    };
    let host = stream.local_addr().unwrap_or(host);
    let transport = TcpTransport::new(stream, host, peer);
    tokio::task::spawn_local(async move {
        drive(transport, protocol).await;
    });
}

/// Resolves `host` and connects to the first of its addresses that accepts.
async fn open(host: &str, port: u16) -> Result<(TcpStream, SocketAddr, SocketAddr), ConnectError> {
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| ConnectError::DnsLookup {
            host: host.to_owned(),
            error: plain_error(&error),
        })?;
    let mut failure = ConnectError::DnsLookup {
        host: host.to_owned(),
        error: "no addresses".to_owned(),
    };
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                let local = stream.local_addr().map_err(|e| ConnectError::from_io(&e))?;
                return Ok((stream, local, address));
            }
            Err(error) => failure = ConnectError::from_io(&error),
        }
    }
    Err(failure)
}
