//! Our client fed what Twisted servers sent: it must send what the Twisted client sent, byte for
//! byte, and hand the program the answers and failures.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::vectors;
use super::{connect, hex, to_hex};
use crate::defer::Failure;
use crate::spread::jelly::{SecurityOptions, Value};
use crate::spread::pb::{
    Answer, CallContext, PBClientFactory, Referenceable, RemoteError, RemoteReference,
};

/// What the program saw, in order.
type Seen = Rc<RefCell<Vec<String>>>;

fn note(seen: &Seen, line: String) {
    seen.borrow_mut().push(line);
}

/// A failure's text: the remote error's type and value.
fn failure_text(failure: &Failure) -> String {
    match failure.downcast_ref::<RemoteError>() {
        Some(error) => format!("{} {:?} {:?}", error.type_name, error.value, error.parents),
        None => failure.to_string(),
    }
}

/// Trace 01: login guest/guest, `echo("hello world")` and `error()` on the avatar, then the avatar
/// let go. Given the server's bytes (and so its challenge), every byte we send is Twisted's: the
/// response too, which checks MD5(MD5(password) + challenge) against spec 5.2's numbers.
#[test]
fn trace_01_login_echo_error_sends_twisteds_bytes() {
    let (server, expected) = (hex(vectors::TRACE_01_S2C), hex(vectors::TRACE_01_C2S));
    for chunk in [1, 3, server.len()] {
        let factory = PBClientFactory::new();
        let (mut protocol, transport) = connect(&factory);
        let seen: Seen = Rc::default();
        let (echoed, trapped) = (Rc::clone(&seen), Rc::clone(&seen));
        factory
            .login(b"guest", b"guest", None)
            .add_callback(move |avatar: RemoteReference| {
                avatar
                    .call_remote("echo", vec![Value::Text("hello world".into())])
                    .add_callback(move |answer: Value| {
                        note(&echoed, format!("Message received: {answer}"));
                        Ok::<(), Failure>(())
                    });
                avatar
                    .call_remote("error", vec![])
                    .add_errback(move |failure| {
                        let error = failure.downcast_ref::<RemoteError>().unwrap();
                        assert!(error.check("pbecho.DefinedError"));
                        assert!(error.check("twisted.spread.pb.Error"));
                        note(&trapped, format!("error received: {error}"));
                        Ok::<Value, Failure>(Value::None)
                    });
                Ok::<(), Failure>(())
            });
        for piece in server.chunks(chunk) {
            protocol.data_received(piece);
        }
        assert_eq!(
            to_hex(&transport.value()),
            to_hex(&expected),
            "chunk {chunk}"
        );
        assert_eq!(
            *seen.borrow(),
            [
                "Message received: 'hello world'",
                "error received: pbecho.DefinedError: exception!",
            ],
            "chunk {chunk}"
        );
    }
}

/// Trace 02: login guest with a wrong password. Twisted's server refuses it asynchronously (the
/// portal's Deferred fails), so its CopyableFailure carries the extra keys of that form, `pickled`
/// and an empty `_frames`, and the whole of `UnauthorizedLogin`'s class chain. Fed those bytes in
/// any chunking, our client sends Twisted's client's bytes (the response included, and the
/// challenger let go once the login has failed) and fails the login with Twisted's error.
#[test]
fn trace_02_refused_login_fails_with_twisteds_unauthorized_login() {
    let (server, expected) = (hex(vectors::TRACE_02_S2C), hex(vectors::TRACE_02_C2S));
    let refused = RemoteError::new(
        "twisted.cred.error.UnauthorizedLogin",
        "",
        &[
            "twisted.cred.error.UnauthorizedLogin",
            "twisted.cred.error.LoginFailed",
            "twisted.cred.error.Unauthorized",
            "builtins.Exception",
            "builtins.BaseException",
            "builtins.object",
        ],
    );
    for chunk in [1, 2, 7, server.len() - 1, server.len()] {
        let factory = PBClientFactory::new();
        let (mut protocol, transport) = connect(&factory);
        let outcome: Rc<RefCell<Option<Result<(), RemoteError>>>> = Rc::default();
        let slot = Rc::clone(&outcome);
        factory
            .login(b"guest", b"wrong", None)
            .add_both(move |result| {
                *slot.borrow_mut() = Some(match result {
                    Ok(_avatar) => Ok(()),
                    Err(failure) => Err(failure
                        .downcast_ref::<RemoteError>()
                        .expect("a remote error")
                        .clone()),
                });
                Ok::<(), Failure>(())
            });
        for piece in server.chunks(chunk) {
            protocol.data_received(piece);
        }
        assert_eq!(
            to_hex(&transport.value()),
            to_hex(&expected),
            "chunk {chunk}"
        );
        assert_eq!(
            outcome.borrow_mut().take(),
            Some(Err(refused.clone())),
            "chunk {chunk}"
        );
        assert!(!crate::protocol::Transport::is_disconnecting(&*transport));
    }
    assert!(refused.check("twisted.cred.error.LoginFailed"));
    assert_eq!(
        refused.to_string(),
        "twisted.cred.error.UnauthorizedLogin: "
    );
}

/// Trace 04 seen from the client: five calls one after the other, two of them failing with
/// `KeyError`s that the program reads as `NOT FOUND: b'...'`.
#[test]
fn trace_04_calls_in_turn_and_reads_key_errors() {
    let (server, expected) = (hex(vectors::TRACE_04_S2C), hex(vectors::TRACE_04_C2S));
    let factory = PBClientFactory::new();
    let (mut protocol, transport) = connect(&factory);
    let seen: Seen = Rc::default();
    let log = Rc::clone(&seen);
    factory
        .get_root_object()
        .add_callback(move |root: RemoteReference| {
            let steps: Vec<(&str, Vec<&[u8]>)> = vec![
                ("set", vec![b"foo", b"bar"]),
                ("get", vec![b"foo"]),
                ("get", vec![b"missing"]),
                ("delete", vec![b"foo"]),
                ("get", vec![b"foo"]),
            ];
            call_in_turn(root, steps, log);
            Ok::<(), Failure>(())
        });
    protocol.data_received(&server);
    assert_eq!(to_hex(&transport.value()), to_hex(&expected));
    assert_eq!(
        *seen.borrow(),
        [
            "set -> b'foo'",
            "get -> b'bar'",
            "get -> NOT FOUND: b'missing' (builtins.KeyError)",
            "delete -> None",
            "get -> NOT FOUND: b'foo' (builtins.KeyError)",
        ]
    );
}

/// Makes each call once the one before has answered, noting what came back.
fn call_in_turn(
    root: RemoteReference,
    mut steps: Vec<(&'static str, Vec<&'static [u8]>)>,
    seen: Seen,
) {
    if steps.is_empty() {
        return;
    }
    let (name, args) = steps.remove(0);
    let args = args
        .into_iter()
        .map(|arg| Value::Bytes(arg.to_vec()))
        .collect();
    let next = root.clone();
    root.call_remote(name, args).add_both(move |outcome| {
        let line = match outcome {
            Ok(value) => format!("{name} -> {value}"),
            Err(failure) => {
                let error = failure.downcast_ref::<RemoteError>().unwrap();
                format!("{name} -> NOT FOUND: {} ({})", error.value, error.type_name)
            }
        };
        note(&seen, line);
        call_in_turn(next, steps, seen);
        Ok::<(), Failure>(())
    });
}

/// The client's observer of trace 07: thanks the server for each notification.
struct Observer {
    notified: Seen,
    let_go: Rc<Cell<u32>>,
}

impl Referenceable for Observer {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        match (name, args.as_slice()) {
            ("notify", [message]) => {
                note(&self.notified, format!("notified {message}"));
                Answer::value(Value::Text("thanks".into()))
            }
            _ => Answer::error(RemoteError::no_such_method(name)),
        }
    }

    fn logout(&self) {
        self.let_go.set(self.let_go.get() + 1);
    }
}

/// Trace 07 seen from the client: an object passed by reference, called back and let go by the
/// server, then a Copyable received by value (its tag allowed).
#[test]
fn trace_07_passes_an_observer_and_receives_a_copy() {
    let (server, expected) = (hex(vectors::TRACE_07_S2C), hex(vectors::TRACE_07_C2S));
    let mut security = SecurityOptions::new();
    security.allow_copy_tag("refdemo.Point");
    let factory = PBClientFactory::new().with_security(security);
    let (mut protocol, transport) = connect(&factory);
    let seen: Seen = Rc::default();
    let let_go = Rc::new(Cell::new(0));
    let observer = Rc::new(Observer {
        notified: Rc::clone(&seen),
        let_go: Rc::clone(&let_go),
    });
    let log = Rc::clone(&seen);
    factory
        .get_root_object()
        .add_callback(move |root: RemoteReference| {
            let observer = root.export(observer).unwrap();
            root.call_remote("subscribe", vec![observer])
                .add_callback(move |answer: Value| {
                    note(&log, format!("subscribe -> {answer}"));
                    root.call_remote("point", vec![])
                        .add_callback(move |point: Value| {
                            let Value::Copy(tag, _) = &point else {
                                panic!("not a copy: {point}")
                            };
                            note(&log, format!("point -> {tag}"));
                            Ok::<(), Failure>(())
                        })
                });
            Ok::<(), Failure>(())
        });
    protocol.data_received(&server);
    assert_eq!(to_hex(&transport.value()), to_hex(&expected));
    assert_eq!(
        *seen.borrow(),
        [
            "notified 'hi'",
            "subscribe -> 'subscribed'",
            "point -> refdemo.Point"
        ]
    );
    assert_eq!(let_go.get(), 1, "the server's decref lets the observer go");
}

/// A Twisted client facing an offer of `("none" "pb")` picks `none`; so do we, and then speak it
/// (probes-client.md, offer-none-first).
#[test]
fn the_first_known_dialect_in_the_servers_order_is_chosen() {
    let factory = PBClientFactory::new();
    let (mut protocol, transport) = connect(&factory);
    let root = Rc::new(RefCell::new(None));
    let slot = Rc::clone(&root);
    factory.get_root_object().add_callback(move |reference| {
        *slot.borrow_mut() = Some(reference);
        Ok::<(), Failure>(())
    });
    protocol.data_received(&hex(&["028004826e6f6e6502827062"]));
    let root = root.borrow_mut().take().expect("the root is ready");
    root.call_remote(
        "set",
        vec![Value::Bytes(b"foo".to_vec()), Value::Bytes(b"bar".to_vec())],
    );
    assert_eq!(
        to_hex(&transport.value()),
        [
            "04826e6f6e65",
            "0280078276657273696f6e0681",
            "078007826d65737361676501810482726f6f7403827365740181038005827475706c650382666f6f",
            "038262617201800a8264696374696f6e617279",
        ]
        .concat()
    );
}

/// An offer with no dialect we know, and a server of another version, end the connection; the
/// root's request fails, and so does a call waiting on a lost connection.
#[test]
fn unknown_dialects_and_versions_close_the_connection() {
    let factory = PBClientFactory::new();
    let (mut protocol, transport) = connect(&factory);
    protocol.data_received(&hex(&["01800382786d6c"]));
    assert!(crate::protocol::Transport::is_disconnecting(&*transport));
    assert_eq!(transport.value(), b"");

    let factory = PBClientFactory::new();
    let (mut protocol, transport) = connect(&factory);
    let failed = Rc::new(RefCell::new(String::new()));
    let slot = Rc::clone(&failed);
    factory
        .get_root_object()
        .add_callback(move |root: RemoteReference| {
            root.call_remote("set", vec![]).add_errback(move |failure| {
                *slot.borrow_mut() = failure_text(&failure);
                Ok::<Value, Failure>(Value::None)
            });
            Ok::<(), Failure>(())
        });
    protocol.data_received(&hex(&["02800282706204826e6f6e65", "028013870581"]));
    assert!(crate::protocol::Transport::is_disconnecting(&*transport));
    protocol.connection_lost(&crate::protocol::DisconnectReason::Done);
    assert!(
        failed.borrow().contains("Connection lost"),
        "{}",
        failed.borrow()
    );
}

/// What a Twisted server may send in an `error` besides a full failure (probes-client.md): a plain
/// byte string, and a failure with only `type`, `value`, `traceback` and `parents`. Both reach the
/// program as a [`RemoteError`].
#[test]
fn any_error_value_becomes_a_remote_error() {
    let minimal = Value::Copy(
        crate::spread::jelly::COPYABLE_FAILURE_TAG.into(),
        Box::new(Value::Dict(vec![
            (
                Value::Text("type".into()),
                Value::Bytes(b"builtins.KeyError".to_vec()),
            ),
            (Value::Text("value".into()), Value::Text("b'foo'".into())),
            (
                Value::Text("traceback".into()),
                Value::Text("Traceback unavailable\n".into()),
            ),
            (
                Value::Text("parents".into()),
                Value::List(vec![
                    Value::Text("builtins.KeyError".into()),
                    Value::Text("builtins.LookupError".into()),
                ]),
            ),
        ])),
    );
    let minimal =
        crate::spread::jelly::jelly_to_vec(&minimal, crate::spread::banana::Dialect::Pb).unwrap();
    let factory = PBClientFactory::new();
    let (mut protocol, _transport) = connect(&factory);
    let seen: Seen = Rc::default();
    let log = Rc::clone(&seen);
    factory
        .get_root_object()
        .add_callback(move |root: RemoteReference| {
            for name in ["set", "get"] {
                let log = Rc::clone(&log);
                root.call_remote(name, vec![]).add_errback(move |failure| {
                    note(&log, failure_text(&failure));
                    Ok::<Value, Failure>(Value::None)
                });
            }
            Ok::<(), Failure>(())
        });
    protocol.data_received(&hex(&[
        "02800282706204826e6f6e65028013870681",
        "03801c8701810482626f6f6d",
        "03801c870281",
    ]));
    protocol.data_received(&minimal);
    assert_eq!(
        *seen.borrow(),
        [
            r#"builtins.bytes "boom" ["builtins.bytes", "builtins.object"]"#,
            r#"builtins.KeyError "b'foo'" ["builtins.KeyError", "builtins.LookupError"]"#,
        ]
    );
}

/// Twisted's `test_badSerialization`: a call whose argument cannot be sent (here a byte string one
/// byte over Banana's limit) fails its Deferred at once with Banana's error and writes nothing; the
/// request number it took is spent, as in Twisted, and the connection goes on: a string exactly at
/// the limit goes out, and the next call is sent and answered.
#[test]
fn an_argument_that_cannot_be_sent_fails_the_call_and_sends_nothing() {
    use crate::spread::banana::SIZE_LIMIT;

    let factory = PBClientFactory::new();
    let (mut protocol, transport) = connect(&factory);
    let root = Rc::new(RefCell::new(None));
    let slot = Rc::clone(&root);
    factory.get_root_object().add_callback(move |reference| {
        *slot.borrow_mut() = Some(reference);
        Ok::<(), Failure>(())
    });
    protocol.data_received(&hex(&["02800282706204826e6f6e65028013870681"]));
    let root: RemoteReference = root.borrow_mut().take().expect("the root is ready");
    let greeting = transport.value();
    assert_eq!(to_hex(&greeting), "02827062028013870681");

    let seen: Seen = Rc::default();
    let log = Rc::clone(&seen);
    root.call_remote("set", vec![Value::Bytes(vec![b'x'; SIZE_LIMIT + 1])])
        .add_both(move |outcome| {
            note(
                &log,
                match outcome {
                    Ok(value) => format!("answered {value}"),
                    Err(failure) => failure_text(&failure),
                },
            );
            Ok::<(), Failure>(())
        });
    assert_eq!(
        *seen.borrow(),
        [
            r#"twisted.spread.banana.BananaError "byte string is too long to send (655361)" ["twisted.spread.banana.BananaError", "builtins.Exception", "builtins.BaseException", "builtins.object"]"#
        ]
    );
    assert_eq!(transport.value(), greeting, "nothing was sent");
    assert!(!crate::protocol::Transport::is_disconnecting(&*transport));

    // Request 2, a string of exactly 655360 bytes: prefix 00 00 28, then STRING.
    root.call_remote_no_answer("set", vec![Value::Bytes(vec![b'x'; SIZE_LIMIT])]);
    let sent = transport.value()[greeting.len()..].to_vec();
    assert_eq!(
        to_hex(&sent[..32]),
        "07801a8702810482726f6f740382736574008102800b87000028827878787878"
    );
    assert_eq!(sent.len(), 27 + SIZE_LIMIT + 4);
    transport.clear();

    let log = Rc::clone(&seen);
    root.call_remote("get", vec![Value::Bytes(b"a".to_vec())])
        .add_callback(move |answer: Value| {
            note(&log, format!("get -> {answer}"));
            Ok::<(), Failure>(())
        });
    assert_eq!(
        to_hex(&transport.value()),
        "07801a8703810482726f6f740382676574018102800b8701826101800587"
    );
    protocol.data_received(&hex(&["03801b870381018262"]));
    assert_eq!(seen.borrow()[1], "get -> b'b'");
}
