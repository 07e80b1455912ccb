//! What listening and connecting have in common, whatever the kind of socket: the accepting task
//! of a listening port, the task of an outgoing connection, and the bookkeeping that starts and
//! stops a factory once however many ports and connections share it.
//!
//! [`super::tcp`] and [`super::unix`] only say how to make their sockets; the rest is here, once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

use super::stream::{Socket, StreamTransport, build, drive, serve};
use super::{Reactor, guard};
use crate::cli::output::plain_error;
use crate::defer::{Deferred, succeed};
use crate::log::report_unhandled;
use crate::protocol::{
    Address, ClientFactory, ConnectError, Connector, Destination, DisconnectReason, Factory,
    Transport,
};

/// A listening socket that hands out connections: tokio's `TcpListener` and `UnixListener`.
pub(crate) trait Listener: 'static {
    /// The socket of an accepted connection.
    type Stream: Socket;

    /// Accepts a connection if one is waiting, with its two ends.
    fn poll_accept_one(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Address, Address)>>;
}

impl Listener for TcpListener {
    type Stream = tokio::net::TcpStream;

    fn poll_accept_one(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Address, Address)>> {
        self.poll_accept(cx).map_ok(|(stream, peer)| {
            // Our end is the address the connection came in on, which the port's own address
            // does not say when it listens on every interface.
            let host = stream.local_addr().unwrap_or(peer);
            (stream, Address::Tcp(host), Address::Tcp(peer))
        })
    }
}

impl Listener for UnixListener {
    type Stream = tokio::net::UnixStream;

    fn poll_accept_one(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Address, Address)>> {
        self.poll_accept(cx).map_ok(|(stream, peer)| {
            let name = |path: Option<&std::path::Path>| Address::Unix(path.map(Rc::from));
            let host = stream.local_addr().ok();
            let host = name(host.as_ref().and_then(|a| a.as_pathname()));
            (stream, host, name(peer.as_pathname()))
        })
    }
}

/// A port listening for connections: what [`Reactor::listen_tcp`], [`Reactor::listen_unix`] and
/// [`Reactor::listen`] return.
pub struct ListeningPort {
    address: Address,
    /// Closes the socket, ends the accepting task and releases the factory; taken when called, so
    /// that it runs once.
    stop: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl ListeningPort {
    /// The address the port listens on, with the actual port number when port 0 was asked for.
    pub fn get_host(&self) -> Address {
        self.address.clone()
    }

    /// Stops accepting connections and closes the port (a UNIX socket's file is removed);
    /// connections already made go on. The factory's `stop_factory` runs if nothing else uses it.
    ///
    /// Returns a Deferred that fires when the port is closed, as Twisted's does; ours closes at
    /// once, so it has fired already.
    pub fn stop_listening(&self) -> Deferred<()> {
        if let Some(stop) = self.stop.borrow_mut().take() {
            stop();
        }
        succeed(())
    }
}

impl fmt::Debug for ListeningPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListeningPort({})", self.address.short())
    }
}

/// Why a port could not listen, with the address asked for, as Twisted's `CannotListenError`
/// says it: `Couldn't listen on 127.0.0.1:8000: Address already in use.`
#[derive(Debug)]
pub struct CannotListenError {
    /// The address asked for: `interface:port`, or a UNIX socket's path.
    pub address: String,
    /// What the system said.
    pub error: io::Error,
}

impl CannotListenError {
    pub(crate) fn new(address: impl Into<String>, error: io::Error) -> CannotListenError {
        CannotListenError {
            address: address.into(),
            error,
        }
    }
}

impl fmt::Display for CannotListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Couldn't listen on {}: {}.",
            self.address,
            plain_error(&self.error)
        )
    }
}

impl std::error::Error for CannotListenError {}

/// The state of one connection attempt, shared by its task and its [`Connector`].
pub(crate) struct ConnectorControl {
    cancel: Notify,
    transport: RefCell<Option<Rc<dyn Transport>>>,
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

    /// Accepts connections on `listener` (bound to `address`) with `factory` until the returned
    /// port stops listening; `cleanup` runs then (a UNIX port removes its socket file).
    pub(crate) fn accept_on<L: Listener, F: Factory + 'static>(
        &self,
        listener: L,
        address: Address,
        factory: Rc<F>,
        cleanup: impl FnOnce() + 'static,
    ) -> ListeningPort {
        self.factory_in_use(&factory);
        let listener = Rc::new(RefCell::new(Some(listener)));
        let accepting_listener = Rc::clone(&listener);
        let accepting_factory = Rc::clone(&factory);
        let shown = address.short();
        let task = self.inner.local.spawn_local(async move {
            loop {
                // Borrow the listener only while polling it, never across the wait, so that
                // `stop_listening` can take it out at any time.
                let accepted =
                    std::future::poll_fn(|cx| match accepting_listener.borrow().as_ref() {
                        Some(listener) => listener.poll_accept_one(cx).map(Some),
                        None => Poll::Ready(None),
                    })
                    .await;
                match accepted {
                    None => return,
                    Some(Ok((stream, host, peer))) => {
                        serve(stream, host, peer, &*accepting_factory)
                    }
                    Some(Err(error)) => {
                        // Most likely out of file descriptors: say so, and give connections time
                        // to close instead of spinning.
                        report_unhandled(
                            &format!("accepting a connection on {shown}"),
                            &plain_error(&error),
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let reactor = self.clone();
        ListeningPort {
            address,
            stop: RefCell::new(Some(Box::new(move || {
                listener.borrow_mut().take();
                task.abort();
                cleanup();
                reactor.factory_released(&factory);
            }))),
        }
    }

    /// Makes one outgoing connection with `factory`: `open` makes the socket (or fails), within
    /// `timeout`; the factory hears of the attempt, then of its failure, or makes the protocol for
    /// the connection and later hears that it closed.
    pub(crate) fn connect_with<S, F, O>(
        &self,
        destination: Destination,
        factory: Rc<F>,
        timeout: Duration,
        open: O,
    ) -> Connector
    where
        S: Socket,
        F: ClientFactory + 'static,
        O: Future<Output = Result<(S, Address, Address), ConnectError>> + 'static,
    {
        let control = Rc::new(ConnectorControl {
            cancel: Notify::new(),
            transport: RefCell::new(None),
        });
        let connector = Connector {
            destination: Rc::new(destination),
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
            let attempt = tokio::time::timeout(timeout, open);
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
                    let reason = match build(&*factory, &peer) {
                        Some(protocol) => {
                            let transport = StreamTransport::new(stream, host, peer);
                            let handle: Rc<dyn Transport> = transport.clone();
                            *control.transport.borrow_mut() = Some(handle);
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
