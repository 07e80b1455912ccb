//! The factories a reactor listens and connects with: [`PBServerFactory`] serves a root object
//! (or a cred portal), [`PBClientFactory`] gives the server's root, or logs in.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use super::broker::{BrokerProtocol, Core, Role};
use super::failure::{PBConnectionLost, RemoteError};
use super::login::PortalRoot;
use super::reference::{Referenceable, RemoteReference};
use crate::cred::{self, Portal};
use crate::defer::{Deferred, Failure, fail, succeed};
use crate::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol,
};
use crate::spread::jelly::{SecurityOptions, Value};

/// Serves a root object over PB: each connection gets its own broker, whose object named `root`
/// is this one.
pub struct PBServerFactory {
    root: Rc<dyn Referenceable>,
    security: Rc<SecurityOptions>,
    /// How many connections were made, to name each in the log (`Broker,0,127.0.0.1`).
    connections: Cell<u64>,
}

impl PBServerFactory {
    /// Serves `root`: the object a client's `get_root_object` reaches.
    pub fn new(root: Rc<dyn Referenceable>) -> Self {
        PBServerFactory {
            root,
            security: Rc::new(SecurityOptions::new()),
            connections: Cell::new(0),
        }
    }

    /// Serves a cred portal: the root offers `login` (the challenge-response of spec 5) and
    /// refuses `loginAnonymous`.
    pub fn with_portal(portal: Portal) -> Self {
        PBServerFactory::new(Rc::new(PortalRoot {
            portal: Rc::new(portal),
        }))
    }

    /// What the brokers accept in received values (by default, Twisted's: the basic types and
    /// failures, no other copy tags).
    pub fn with_security(mut self, security: SecurityOptions) -> Self {
        self.security = Rc::new(security);
        self
    }
}

impl Factory for PBServerFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let number = self.connections.get();
        self.connections.set(number + 1);
        let host = peer
            .tcp()
            .map_or_else(|| peer.short(), |address| address.ip().to_string());
        let role = Role::Server {
            root: Rc::clone(&self.root),
        };
        let core = Core::new(
            role,
            Rc::clone(&self.security),
            format!("Broker,{number},{host}"),
        );
        Some(Box::new(BrokerProtocol(core)))
    }
}

/// Connects to a PB server, and gives its root object (or logs in) once the connection is ready.
///
/// A cheap handle: clones are the same factory. Connect with
/// `reactor.connect_tcp(host, port, Rc::new(factory.clone()), timeout)`, then ask for the root.
#[derive(Clone)]
pub struct PBClientFactory {
    inner: Rc<ClientState>,
}

/// What the factory knows of its connection.
struct ClientState {
    security: RefCell<Rc<SecurityOptions>>,
    /// The server's root, once the connection is ready; gone with the connection.
    root: RefCell<Option<RemoteReference>>,
    /// The root's requests made before it was ready.
    requests: RefCell<Vec<Deferred<RemoteReference>>>,
    /// The connection attempt, to give it up.
    connector: RefCell<Option<Connector>>,
    /// Why the connection failed or ended, for requests made afterwards.
    ended: RefCell<Option<Failure>>,
}

impl Default for PBClientFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl PBClientFactory {
    /// A factory not yet connected.
    pub fn new() -> Self {
        PBClientFactory {
            inner: Rc::new(ClientState {
                security: RefCell::new(Rc::new(SecurityOptions::new())),
                root: RefCell::new(None),
                requests: RefCell::new(Vec::new()),
                connector: RefCell::new(None),
                ended: RefCell::new(None),
            }),
        }
    }

    /// What the broker accepts in received values: add the copy tags of the server's Copyables
    /// here (by default only failures).
    pub fn with_security(self, security: SecurityOptions) -> Self {
        *self.inner.security.borrow_mut() = Rc::new(security);
        self
    }

    /// The server's root object. Nothing is sent for it: the proxy names `root`, and the first
    /// call on it is the first message. Fails if the connection could not be made or ended
    /// before it was ready.
    pub fn get_root_object(&self) -> Deferred<RemoteReference> {
        if let Some(root) = self.inner.root.borrow().as_ref() {
            return succeed(root.clone());
        }
        if let Some(failure) = self.inner.ended.borrow().as_ref() {
            return fail(failure.clone());
        }
        let request = Deferred::new();
        self.inner.requests.borrow_mut().push(request.clone());
        request
    }

    /// Logs in with cred's challenge-response (spec 5.1): `login(username)` on the root,
    /// `respond(MD5(MD5(password) + challenge), mind)` on the challenger it gives, which is then
    /// let go. The Deferred of the avatar; a refused login fails with a [`RemoteError`] of type
    /// `twisted.cred.error.UnauthorizedLogin`.
    ///
    /// `mind` is an object of ours for the server to call back, passed to its realm.
    pub fn login(
        &self,
        username: &[u8],
        password: &[u8],
        mind: Option<Rc<dyn Referenceable>>,
    ) -> Deferred<RemoteReference> {
        let username = username.to_vec();
        let password = password.to_vec();
        self.get_root_object()
            .add_callback(move |root: RemoteReference| {
                root.call_remote("login", vec![Value::Bytes(username)])
                    .add_callback(move |answer: Value| respond(&root, &answer, &password, mind))
            })
    }

    /// Closes the connection (or gives up the attempt to make it).
    pub fn disconnect(&self) {
        if let Some(root) = self.inner.root.borrow().as_ref() {
            root.disconnect();
        } else if let Some(connector) = self.inner.connector.borrow().as_ref() {
            connector.disconnect();
        }
    }

    /// Fires every waiting request with the outcome.
    fn settle(&self, outcome: Result<RemoteReference, Failure>) {
        let requests = std::mem::take(&mut *self.inner.requests.borrow_mut());
        for request in requests {
            let _ = match &outcome {
                Ok(root) => request.callback(root.clone()),
                Err(failure) => request.errback(failure.clone()),
            };
        }
    }

    fn ready(&self, root: RemoteReference) {
        *self.inner.ended.borrow_mut() = None;
        *self.inner.root.borrow_mut() = Some(root.clone());
        self.settle(Ok(root));
    }

    fn ended(&self, failure: Failure) {
        let root = self.inner.root.borrow_mut().take();
        drop(root);
        *self.inner.ended.borrow_mut() = Some(failure.clone());
        self.settle(Err(failure));
    }
}

/// Answers the challenge of a `login` answer, `(challenge, challenger)`: the Deferred of the
/// avatar.
fn respond(
    root: &RemoteReference,
    answer: &Value,
    password: &[u8],
    mind: Option<Rc<dyn Referenceable>>,
) -> Deferred<RemoteReference> {
    let parts = match answer {
        Value::Tuple(parts) | Value::List(parts) => parts.as_slice(),
        _ => &[],
    };
    let (Some(Value::Bytes(challenge)), Some(challenger)) = (
        parts.first(),
        parts.get(1).and_then(|value| root.remote_reference(value)),
    ) else {
        return fail(Failure::new(RemoteError::pb_error(
            "the server's login answer is not (challenge, challenger)",
        )));
    };
    let mind = match mind {
        Some(mind) => match challenger.export(mind) {
            Ok(value) => value,
            Err(error) => return fail(Failure::new(error)),
        },
        None => Value::None,
    };
    let response = cred::respond(challenge, password);
    let avatar = challenger.call_remote("respond", vec![Value::Bytes(response.to_vec()), mind]);
    // The challenger is of no more use: dropping it here sends its decref right after the
    // response, as Twisted's client does.
    drop(challenger);
    let root = root.clone();
    avatar.add_callback(move |avatar: Value| {
        root.remote_reference(&avatar).ok_or_else(|| {
            Failure::new(RemoteError::pb_error(
                "the server's login answer is not an avatar",
            ))
        })
    })
}

impl Factory for PBClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let factory: Weak<ClientState> = Rc::downgrade(&self.inner);
        let ready = move |root: RemoteReference| {
            if let Some(inner) = factory.upgrade() {
                PBClientFactory { inner }.ready(root);
            }
        };
        let role = Role::Client {
            ready: RefCell::new(Some(Box::new(ready))),
        };
        let security = Rc::clone(&self.inner.security.borrow());
        Some(Box::new(BrokerProtocol(Core::new(
            role,
            security,
            "Broker,client".to_owned(),
        ))))
    }
}

impl ClientFactory for PBClientFactory {
    fn started_connecting(&self, connector: &Connector) {
        *self.inner.ended.borrow_mut() = None;
        *self.inner.connector.borrow_mut() = Some(connector.clone());
    }

    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.ended(Failure::new(reason.clone()));
    }

    fn client_connection_lost(&self, _connector: &Connector, _reason: &DisconnectReason) {
        self.ended(Failure::new(PBConnectionLost));
    }
}
