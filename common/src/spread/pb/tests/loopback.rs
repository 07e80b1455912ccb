//! Our client against our server: in memory (each side's output pumped into the other until both
//! are quiet), and once over a real socket through the reactor.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::{KeyValueRoot, connect, echo_server};
use crate::cred::UnauthorizedLogin;
use crate::defer::{Deferred, Failure};
use crate::protocol::{DisconnectReason, Protocol, Transport};
use crate::reactor::Reactor;
use crate::spread::jelly::Value;
use crate::spread::pb::{
    Answer, CallContext, DeadReferenceError, MAX_BROKER_REFS, MAX_PENDING_CALLS, PBClientFactory,
    PBConnectionLost, PBServerFactory, Referenceable, RemoteError, RemoteReference, TooManyCalls,
};
use crate::testing::StringTransport;

/// A client and a server connected in memory.
struct Pair {
    client: Box<dyn Protocol>,
    client_out: Rc<StringTransport>,
    server: Box<dyn Protocol>,
    server_out: Rc<StringTransport>,
}

impl Pair {
    fn new(client: &PBClientFactory, server: &PBServerFactory) -> Pair {
        let (server, server_out) = connect(server);
        let (client, client_out) = connect(client);
        let mut pair = Pair {
            client,
            client_out,
            server,
            server_out,
        };
        pair.pump();
        pair
    }

    /// Moves bytes both ways until neither side has anything more to say.
    fn pump(&mut self) {
        loop {
            let to_client = self.server_out.value();
            self.server_out.clear();
            if !to_client.is_empty() {
                self.client.data_received(&to_client);
            }
            let to_server = self.client_out.value();
            self.client_out.clear();
            if !to_server.is_empty() {
                self.server.data_received(&to_server);
            }
            if to_client.is_empty() && to_server.is_empty() {
                break;
            }
        }
    }

    /// The connection drops: both sides hear it.
    fn disconnect(mut self) {
        self.client.connection_lost(&DisconnectReason::Done);
        self.server.connection_lost(&DisconnectReason::Done);
    }
}

/// The outcome of a Deferred, once it has fired.
fn outcome<T: 'static>(deferred: Deferred<T>) -> Rc<RefCell<Option<Result<T, Failure>>>> {
    let slot = Rc::new(RefCell::new(None));
    let filled = Rc::clone(&slot);
    deferred.add_both(move |result| {
        *filled.borrow_mut() = Some(result);
        Ok::<(), Failure>(())
    });
    slot
}

/// The value of a Deferred that fired with one.
fn value<T: 'static>(slot: &Rc<RefCell<Option<Result<T, Failure>>>>) -> T {
    match slot.borrow_mut().take() {
        Some(Ok(value)) => value,
        Some(Err(failure)) => panic!("failed: {failure}"),
        None => panic!("the Deferred has not fired"),
    }
}

/// The failure of a Deferred that failed.
fn failure<T: 'static>(slot: &Rc<RefCell<Option<Result<T, Failure>>>>) -> Failure {
    match slot.borrow_mut().take() {
        Some(Err(failure)) => failure,
        Some(Ok(_)) => panic!("succeeded"),
        None => panic!("the Deferred has not fired"),
    }
}

#[test]
fn login_echo_and_logout_when_the_avatar_is_let_go() {
    let (server, logouts) = echo_server();
    let client = PBClientFactory::new();
    let avatar = outcome(client.login(b"guest", b"guest", None));
    let mut pair = Pair::new(&client, &server);
    let avatar = value(&avatar);
    let echoed = outcome(avatar.call_remote("echo", vec![Value::Bytes(b"raw".to_vec())]));
    let missing = outcome(avatar.call_remote("nosuch", vec![]));
    pair.pump();
    assert_eq!(value(&echoed), Value::Bytes(b"raw".to_vec()));
    let error = failure(&missing);
    let error = error.downcast_ref::<RemoteError>().unwrap();
    assert_eq!(
        error.value,
        "'SimplePerspective' object has no attribute 'perspective_nosuch'"
    );
    assert!(error.check("builtins.AttributeError"));
    assert_eq!(logouts.get(), 0);
    drop(avatar);
    pair.pump();
    assert_eq!(logouts.get(), 1, "the avatar's decref logs it out");
    pair.disconnect();
    assert_eq!(logouts.get(), 1, "once");
}

#[test]
fn wrong_passwords_and_unknown_users_are_unauthorized_logins() {
    let (server, logouts) = echo_server();
    let client = PBClientFactory::new();
    let wrong = outcome(client.login(b"guest", b"nope", None));
    let unknown = outcome(client.login(b"nobody", b"guest", None));
    let mut pair = Pair::new(&client, &server);
    pair.pump();
    for slot in [wrong, unknown] {
        let failure = failure(&slot);
        let error = failure.downcast_ref::<RemoteError>().unwrap();
        assert_eq!(*error, UnauthorizedLogin::remote_error());
        assert_eq!(error.value, "");
        assert_eq!(
            error.parents,
            [
                "twisted.cred.error.UnauthorizedLogin",
                "twisted.cred.error.LoginFailed",
                "twisted.cred.error.Unauthorized",
                "builtins.Exception",
                "builtins.BaseException",
                "builtins.object",
            ]
        );
    }
    assert_eq!(logouts.get(), 0);
}

#[test]
fn anonymous_logins_are_refused_as_twisted_refuses_them() {
    let (server, _) = echo_server();
    let client = PBClientFactory::new();
    let root = outcome(client.get_root_object());
    let mut pair = Pair::new(&client, &server);
    let answer = outcome(value(&root).call_remote("loginAnonymous", vec![Value::None]));
    pair.pump();
    let failure = failure(&answer);
    let error = failure.downcast_ref::<RemoteError>().unwrap();
    assert_eq!(
        error.to_string(),
        "twisted.cred.error.UnhandledCredentials: \
         No checker for twisted.cred.credentials.IAnonymous"
    );
}

/// The mind passed to `login` reaches the realm as a reference the avatar can call.
struct Mind;

impl Referenceable for Mind {
    fn remote_message(
        &self,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        Answer::value(Value::Text(format!("mind says {name}")))
    }
}

#[test]
fn the_server_calls_back_the_mind_given_at_login() {
    let (server, _) = echo_server();
    let client = PBClientFactory::new();
    let avatar = outcome(client.login(b"guest", b"guest", Some(Rc::new(Mind))));
    let mut pair = Pair::new(&client, &server);
    let reply = outcome(value(&avatar).call_remote("call_mind", vec![]));
    pair.pump();
    assert_eq!(value(&reply), Value::Text("mind says hello".into()));
}

#[test]
fn a_lost_connection_fails_waiting_calls_logs_out_and_kills_references() {
    let (server, logouts) = echo_server();
    let client = PBClientFactory::new();
    let avatar = outcome(client.login(b"guest", b"guest", None));
    let pair = Pair::new(&client, &server);
    let avatar = value(&avatar);
    let gone = Rc::new(Cell::new(false));
    let flag = Rc::clone(&gone);
    avatar.notify_on_disconnect(move || flag.set(true));
    // Sent, but the answer never comes: the connection drops first.
    let waiting = outcome(avatar.call_remote("echo", vec![Value::None]));
    pair.disconnect();
    assert!(failure(&waiting).check::<PBConnectionLost>());
    assert!(gone.get());
    assert_eq!(logouts.get(), 1, "the server logs the avatar out");
    assert!(!avatar.is_connected());
    let late = outcome(avatar.call_remote("echo", vec![Value::None]));
    assert!(failure(&late).check::<DeadReferenceError>());
}

/// A root whose `make` exports a new object at each call.
struct Maker;

impl Referenceable for Maker {
    fn remote_message(
        &self,
        _name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        Answer::value(call.export(Rc::new(Mind)))
    }
}

#[test]
fn a_broker_exports_at_most_max_broker_refs_objects() {
    let server = PBServerFactory::new(Rc::new(Maker));
    let client = PBClientFactory::new();
    let root = outcome(client.get_root_object());
    let mut pair = Pair::new(&client, &server);
    let root = value(&root);
    let kept: Rc<RefCell<Vec<RemoteReference>>> = Rc::default();
    let refused = Rc::new(RefCell::new(Vec::new()));
    // Calls `make` and keeps what it makes (so that it stays exported), or notes the refusal.
    let make = |pair: &mut Pair| {
        let (keep, refuse, again) = (Rc::clone(&kept), Rc::clone(&refused), root.clone());
        root.call_remote("make", vec![]).add_both(move |outcome| {
            match outcome {
                Ok(made) => keep
                    .borrow_mut()
                    .push(again.remote_reference(&made).unwrap()),
                Err(failure) => refuse
                    .borrow_mut()
                    .push(failure.downcast_ref::<RemoteError>().unwrap().value.clone()),
            }
            Ok::<(), Failure>(())
        });
        pair.pump();
    };
    for _ in 0..MAX_BROKER_REFS + 2 {
        make(&mut pair);
    }
    // The root counts as one of them.
    assert_eq!(kept.borrow().len(), MAX_BROKER_REFS - 1);
    assert_eq!(
        *refused.borrow(),
        ["Maximum PB reference count exceeded."; 3]
    );
    // Letting one go makes room for one more.
    kept.borrow_mut().pop();
    pair.pump();
    make(&mut pair);
    assert_eq!(kept.borrow().len(), MAX_BROKER_REFS - 1);
    assert!(!pair.server_out.is_disconnecting());
    // The fourth refusal closes the connection, as Twisted's does.
    make(&mut pair);
    assert_eq!(refused.borrow().len(), 3);
    assert!(pair.server_out.is_disconnecting());
}

/// A root whose `shared` answers the same object twice, `(obj, obj)`.
struct Sharer {
    object: Rc<dyn Referenceable>,
}

impl Referenceable for Sharer {
    fn remote_message(
        &self,
        _name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        let first = call.export(Rc::clone(&self.object));
        let second = call.export(Rc::clone(&self.object));
        Answer::value(Value::Tuple(vec![first, second]))
    }
}

/// One object exported twice keeps its luid and counts two references; the importer gives both
/// back when it lets go, and only then is the object released (its logout runs once).
#[test]
fn an_object_exported_twice_has_one_luid_and_two_references() {
    let logouts = Rc::new(Cell::new(0));
    let object = Rc::new(super::Perspective {
        logouts: Rc::clone(&logouts),
        mind: None,
    });
    let server = PBServerFactory::new(Rc::new(Sharer { object }));
    let client = PBClientFactory::new();
    let root = outcome(client.get_root_object());
    let mut pair = Pair::new(&client, &server);
    let root = value(&root);
    let held = Rc::new(RefCell::new(None));
    let (slot, again) = (Rc::clone(&held), root.clone());
    root.call_remote("shared", vec![])
        .add_callback(move |pair: Value| {
            assert_eq!(pair, Value::Tuple(vec![Value::Remote(1), Value::Remote(1)]));
            *slot.borrow_mut() = again.remote_reference(&Value::Remote(1));
            Ok::<(), Failure>(())
        });
    pair.pump();
    let reference = held.borrow_mut().take().unwrap();
    assert_eq!(logouts.get(), 0);
    let echoed = outcome(reference.call_remote("echo", vec![Value::Int(1)]));
    pair.pump();
    assert_eq!(value(&echoed), Value::Int(1));
    drop(reference);
    assert_eq!(
        super::to_hex(&pair.client_out.value()),
        "02801d87018102801d870181",
        "two decrefs"
    );
    pair.pump();
    assert_eq!(logouts.get(), 1);
}

#[test]
fn calls_awaiting_answers_are_bounded() {
    let client = PBClientFactory::new();
    let (mut protocol, transport) = connect(&client);
    let root = outcome(client.get_root_object());
    protocol.data_received(&super::hex(&["02800282706204826e6f6e65"]));
    let root = value(&root);
    let waiting: Vec<_> = (0..MAX_PENDING_CALLS)
        .map(|_| root.call_remote("get", vec![]))
        .collect();
    let written = transport.value().len();
    let refused = outcome(root.call_remote("get", vec![]));
    assert!(failure(&refused).check::<TooManyCalls>());
    assert_eq!(transport.value().len(), written, "nothing is sent for it");
    drop(waiting);
}

#[test]
fn over_a_real_socket() {
    let reactor = Reactor::new().unwrap();
    let server = Rc::new(PBServerFactory::new(Rc::new(KeyValueRoot::default())));
    let port = reactor.listen_tcp(0, server, "127.0.0.1").unwrap();
    let client = PBClientFactory::new();
    reactor.connect_tcp(
        "127.0.0.1",
        port.get_host().port().unwrap(),
        Rc::new(client.clone()),
        Duration::from_secs(5),
    );
    let answers: Rc<RefCell<Vec<String>>> = Rc::default();
    let (seen, failed, stopper) = (Rc::clone(&answers), Rc::clone(&answers), reactor.clone());
    let done = client
        .get_root_object()
        .add_callback(move |root: RemoteReference| {
            let key = || Value::Bytes(b"foo".to_vec());
            let set = root.call_remote("set", vec![key(), Value::Text("bär".into())]);
            set.add_callback(move |_| root.call_remote("get", vec![key()]))
                .add_callback(move |got: Value| {
                    seen.borrow_mut().push(got.to_string());
                    Ok::<(), Failure>(())
                })
        });
    done.add_both(move |outcome: Result<(), Failure>| {
        if let Err(failure) = outcome {
            failed.borrow_mut().push(failure.to_string());
        }
        let _ = stopper.stop();
        Ok::<(), Failure>(())
    });
    let safety = reactor.clone();
    let timer = reactor.call_later(Duration::from_secs(5), move || {
        let _ = safety.stop();
    });
    reactor.run().unwrap();
    let _ = timer.cancel();
    assert_eq!(*answers.borrow(), ["'bär'"]);
    client.disconnect();
    assert!(port.stop_listening().called());
}

/// A root whose `big` answer cannot be sent: a byte string one byte over Banana's limit.
struct TooBig;

impl Referenceable for TooBig {
    fn remote_message(
        &self,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        match name {
            "big" => Answer::value(Value::Bytes(vec![0; crate::spread::banana::SIZE_LIMIT + 1])),
            _ => Answer::value(Value::Text("small".into())),
        }
    }
}

/// The other side of `test_badSerialization`: an answer that cannot be sent reaches the caller as
/// Twisted's `BananaError` with Banana's text, and the connection goes on.
#[test]
fn an_answer_that_cannot_be_sent_fails_the_call_and_the_connection_goes_on() {
    let client = PBClientFactory::new();
    let mut pair = Pair::new(&client, &PBServerFactory::new(Rc::new(TooBig)));
    let root = outcome(client.get_root_object());
    pair.pump();
    let root = value(&root);
    let big = outcome(root.call_remote("big", vec![]));
    let small = outcome(root.call_remote("small", vec![]));
    pair.pump();
    let failed = failure(&big);
    let error = failed.downcast_ref::<RemoteError>().unwrap();
    assert_eq!(
        (error.type_name.as_str(), error.value.as_str()),
        (
            "twisted.spread.banana.BananaError",
            "byte string is too long to send (655361)"
        )
    );
    assert_eq!(value(&small), Value::Text("small".into()));
}
