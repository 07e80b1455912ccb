//! Our server fed what Twisted clients sent: it must answer what the Twisted server answered,
//! byte for byte, in every chunking of the input.

use std::rc::Rc;

use super::vectors::{self, PROBES};
use super::{KeyValueRoot, connect, echo_server, feed, hex, quiet_log, to_hex};
use crate::cred;
use crate::defer::{Deferred, Failure};
use crate::protocol::{Factory, Transport};
use crate::spread::jelly::Value;
use crate::spread::pb::{
    Answer, CallContext, PBServerFactory, Referenceable, RemoteError, set_failure_count,
};
use crate::testing::StringTransport;

/// Feeds `input` to a fresh server of `root` in pieces of `chunk` bytes; failures are numbered
/// from `count`, as in the capture.
fn serve(
    root: Rc<dyn Referenceable>,
    input: &[u8],
    chunk: usize,
    count: i64,
) -> Rc<StringTransport> {
    set_failure_count(count);
    let factory = PBServerFactory::new(root);
    let (mut protocol, transport) = connect(&factory);
    feed(&mut *protocol, &transport, input, chunk);
    transport
}

/// Replays a key-value trace in several chunkings.
fn replay_key_value(c2s: &[&str], s2c: &[&str]) {
    let (input, expected) = (hex(c2s), hex(s2c));
    for chunk in [1, 2, 7, 64, input.len()] {
        let transport = serve(Rc::new(KeyValueRoot::default()), &input, chunk, 5);
        assert_eq!(
            to_hex(&transport.value()),
            to_hex(&expected),
            "chunk {chunk}"
        );
        assert!(!transport.is_disconnecting(), "chunk {chunk}");
    }
}

#[test]
fn trace_04_set_get_missing_delete_answers_as_twisted() {
    replay_key_value(vectors::TRACE_04_C2S, vectors::TRACE_04_S2C);
}

#[test]
fn trace_05_no_such_method_answers_as_twisted() {
    replay_key_value(vectors::TRACE_05_C2S, vectors::TRACE_05_S2C);
}

/// Trace 06 stores and reads back a list of many types with a shared sub-list: the value comes
/// back in the same form, its `reference`/`dereference` included.
#[test]
fn trace_06_values_of_every_type_come_back_as_they_went() {
    replay_key_value(vectors::TRACE_06_C2S, vectors::TRACE_06_S2C);
}

/// Traces 01 and 03, the pbecho server: login (with the captured challenge, so that the captured
/// response fits), then `echo`, `error` and, in 03, a method the avatar lacks; the client's
/// decref of the avatar logs it out.
#[test]
fn traces_01_and_03_login_and_avatar_calls_answer_as_twisted() {
    for (c2s, s2c) in [
        (vectors::TRACE_01_C2S, vectors::TRACE_01_S2C),
        (vectors::TRACE_03_C2S, vectors::TRACE_03_S2C),
    ] {
        let (input, expected) = (hex(c2s), hex(s2c));
        let challenge: [u8; 16] = expected[0x1e..0x2e].try_into().unwrap();
        for chunk in [1, 9, input.len()] {
            cred::fix_challenge(Some(challenge));
            set_failure_count(5);
            let (factory, logouts) = echo_server();
            let (mut protocol, transport) = connect(&factory);
            feed(&mut *protocol, &transport, &input, chunk);
            assert_eq!(
                to_hex(&transport.value()),
                to_hex(&expected),
                "chunk {chunk}"
            );
            assert_eq!(logouts.get(), 1, "chunk {chunk}");
        }
    }
    cred::fix_challenge(None);
}

/// Trace 07's server: `subscribe(observer)` calls `notify("hi")` back on the client's observer,
/// lets it go, and answers once the observer has; `point()` returns a copy of a `refdemo.Point`.
struct RefDemoRoot;

impl Referenceable for RefDemoRoot {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        match name {
            "subscribe" => {
                let Some(observer) = args.first().and_then(|arg| call.remote_reference(arg)) else {
                    return Answer::error(RemoteError::exception(
                        "builtins.TypeError",
                        "no observer",
                    ));
                };
                let reply = observer.call_remote("notify", vec![Value::Text("hi".into())]);
                Answer::Later(reply.add_callback(|_thanks: Value| {
                    Ok::<_, Failure>(Value::Text("subscribed".into()))
                }))
            }
            "point" => Answer::value(Value::Copy(
                "refdemo.Point".into(),
                Box::new(Value::Dict(vec![
                    (Value::Text("x".into()), Value::Int(3)),
                    (Value::Text("y".into()), Value::Int(-4)),
                ])),
            )),
            _ => Answer::error(RemoteError::no_such_method(name)),
        }
    }
}

#[test]
fn trace_07_calls_back_the_clients_observer_and_lets_it_go() {
    let (input, expected) = (hex(vectors::TRACE_07_C2S), hex(vectors::TRACE_07_S2C));
    for chunk in [1, 5, input.len()] {
        let transport = serve(Rc::new(RefDemoRoot), &input, chunk, 5);
        assert_eq!(
            to_hex(&transport.value()),
            to_hex(&expected),
            "chunk {chunk}"
        );
    }
}

/// Every probe of `probes-server.md`: the same answers, and the connection closed exactly when
/// Twisted closed it (malformed input), without a panic.
#[test]
fn the_server_probes_get_twisted_answers_and_closes() {
    for probe in PROBES {
        let input = hex(probe.sent);
        for chunk in [1, input.len()] {
            let transport = serve(Rc::new(KeyValueRoot::default()), &input, chunk, probe.count);
            let context = format!("probe {} in pieces of {chunk}", probe.name);
            assert_eq!(
                to_hex(&transport.value()),
                to_hex(&hex(probe.received)),
                "{context}"
            );
            assert_eq!(transport.is_disconnecting(), probe.closes, "{context}");
        }
    }
}

/// A root whose `slow` answers when the test says, and `fast` at once.
struct SlowRoot {
    pending: std::cell::RefCell<Vec<Deferred<Value>>>,
}

impl Referenceable for SlowRoot {
    fn remote_message(
        &self,
        name: &str,
        _args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        match name {
            "slow" => {
                let answer = Deferred::new();
                self.pending.borrow_mut().push(answer.clone());
                Answer::Later(answer)
            }
            "fail_later" => Answer::Later(crate::defer::fail(Failure::new(
                RemoteError::pb_error_subclass("pbecho.DefinedError", "later"),
            ))),
            _ => Answer::value(Value::Bytes(name.as_bytes().to_vec())),
        }
    }
}

/// `("message" id "root" name wanted ("tuple") ("dictionary"))` in the pb dialect.
fn call_bytes(id: u32, name: &str, wanted: bool) -> Vec<u8> {
    let mut out = vec![0x07, 0x80, 0x1a, 0x87];
    // The id's base-128 digits, least significant first, then INT.
    let mut rest = id;
    loop {
        out.push((rest % 128) as u8);
        rest /= 128;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&[0x81, 0x04, 0x82]);
    out.extend_from_slice(b"root");
    out.extend_from_slice(&[name.len() as u8, 0x82]);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&[
        u8::from(wanted),
        0x81,
        0x01,
        0x80,
        0x0b,
        0x87,
        0x01,
        0x80,
        0x05,
        0x87,
    ]);
    out
}

/// The client's choice of `pb` and its version.
const CLIENT_OPENING: &str = "02827062028013870681";

#[test]
fn answers_go_out_when_ready_whatever_the_order_of_the_calls() {
    let root = Rc::new(SlowRoot {
        pending: Default::default(),
    });
    let factory = PBServerFactory::new(root.clone());
    let (mut protocol, transport) = connect(&factory);
    protocol.data_received(&hex(&[CLIENT_OPENING]));
    transport.clear();
    protocol.data_received(&[call_bytes(1, "slow", true), call_bytes(2, "fast", true)].concat());
    // ("answer" 2 "fast") first: the slow method has not answered yet.
    assert_eq!(to_hex(&transport.value()), "03801b870281048266617374");
    transport.clear();
    let pending = root.pending.borrow_mut().pop().unwrap();
    pending.callback(Value::Bytes(b"late".to_vec())).unwrap();
    assert_eq!(to_hex(&transport.value()), "03801b87018104826c617465");
}

#[test]
fn a_call_that_wants_no_answer_gets_none_even_when_it_fails() {
    let factory = PBServerFactory::new(Rc::new(KeyValueRoot::default()));
    let (mut protocol, transport) = connect(&factory);
    protocol.data_received(&hex(&[CLIENT_OPENING]));
    transport.clear();
    // get() with no argument, no such method, and an unknown object: all without answers.
    protocol.data_received(&call_bytes(1, "get", false));
    protocol.data_received(&call_bytes(2, "nosuch", false));
    protocol.data_received(&hex(&["07801a87038163810382676574008101800b8701800587"]));
    assert_eq!(transport.value(), b"");
    assert!(!transport.is_disconnecting());
}

#[test]
fn a_failed_deferred_answers_with_its_remote_error() {
    let root = Rc::new(SlowRoot {
        pending: Default::default(),
    });
    let factory = PBServerFactory::new(root);
    let (mut protocol, transport) = connect(&factory);
    protocol.data_received(&hex(&[CLIENT_OPENING]));
    transport.clear();
    set_failure_count(5);
    protocol.data_received(&call_bytes(1, "fail_later", true));
    let error = crate::spread::jelly::jelly_to_vec(
        &RemoteError::pb_error_subclass("pbecho.DefinedError", "later").to_value(5),
        crate::spread::banana::Dialect::Pb,
    )
    .unwrap();
    assert_eq!(
        transport.value(),
        [&hex(&["03801c870181"])[..], &error].concat()
    );
}

#[test]
fn a_connection_lost_midway_is_no_panic() {
    let factory = PBServerFactory::new(Rc::new(RefDemoRoot));
    let (mut protocol, transport) = connect(&factory);
    let input = hex(vectors::TRACE_07_C2S);
    // Cut after the subscribe call: the server waits for the observer's answer.
    protocol.data_received(&input[..0x31]);
    protocol.connection_lost(&crate::protocol::DisconnectReason::Done);
    assert!(transport.value().len() > 18);
}

/// A transport that says how much it holds unsent, as the test decides.
struct Backlogged {
    inner: Rc<StringTransport>,
    unsent: std::cell::Cell<usize>,
    /// How many times `write` was called.
    writes: std::cell::Cell<usize>,
}

impl Backlogged {
    fn new(inner: &Rc<StringTransport>) -> Rc<Backlogged> {
        Rc::new(Backlogged {
            inner: Rc::clone(inner),
            unsent: std::cell::Cell::new(0),
            writes: std::cell::Cell::new(0),
        })
    }
}

/// A key-value server on a [`Backlogged`] transport, past the opening: the protocol, the bytes it
/// wrote, and the transport whose backlog a test sets.
fn backlogged_key_value_server() -> (
    Box<dyn crate::protocol::Protocol>,
    Rc<StringTransport>,
    Rc<Backlogged>,
) {
    quiet_log();
    let factory = PBServerFactory::new(Rc::new(KeyValueRoot::default()));
    let inner = StringTransport::new();
    let transport = Backlogged::new(&inner);
    let mut protocol = factory.build_protocol(&inner.get_peer()).unwrap();
    protocol.connection_made(transport.clone());
    protocol.data_received(&hex(&[CLIENT_OPENING]));
    (protocol, inner, transport)
}

impl Transport for Backlogged {
    fn write(&self, data: &[u8]) {
        self.writes.set(self.writes.get() + 1);
        self.inner.write(data);
    }
    fn lose_connection(&self) {
        self.inner.lose_connection();
    }
    fn abort_connection(&self) {
        self.inner.abort_connection();
    }
    fn is_disconnecting(&self) -> bool {
        self.inner.is_disconnecting()
    }
    fn get_host(&self) -> crate::protocol::Address {
        self.inner.get_host()
    }
    fn get_peer(&self) -> crate::protocol::Address {
        self.inner.get_peer()
    }
    fn pause_producing(&self) {
        self.inner.pause_producing();
    }
    fn resume_producing(&self) {
        self.inner.resume_producing();
    }
    fn buffered(&self) -> usize {
        self.unsent.get()
    }
}

/// Calls that arrive together are answered together: one write for all their answers, where one
/// per answer would cost a system call each.
#[test]
fn the_answers_to_pipelined_calls_go_out_in_one_write() {
    let (mut protocol, inner, transport) = backlogged_key_value_server();
    let before = transport.writes.get();
    let calls: Vec<Vec<u8>> = (1..=100).map(|id| call_bytes(id, "a", true)).collect();
    protocol.data_received(&calls.concat());
    assert_eq!(transport.writes.get(), before + 1);
    let errors = inner
        .value()
        .windows(4)
        .filter(|w| *w == [0x03, 0x80, 0x1c, 0x87])
        .count();
    assert_eq!(
        errors, 100,
        "every call is answered (a KeyError: nothing is stored)"
    );
}

/// A client that sends calls without reading the answers: once our unsent answers pass the high
/// water mark we stop reading, answer nothing more, and go on when the reactor says they left.
#[test]
fn a_client_that_does_not_read_its_answers_is_not_read_either() {
    let (mut protocol, inner, transport) = backlogged_key_value_server();
    inner.clear();
    transport.unsent.set(crate::protocol::HIGH_WATER + 1);
    let calls = [
        call_bytes(1, "a", true),
        call_bytes(2, "b", true),
        call_bytes(3, "c", true),
    ];
    protocol.data_received(&calls.concat());
    // One answer went out; then we stopped reading.
    assert!(inner.producing_paused());
    let one = hex(&["03801c870181"]);
    assert!(
        inner.value().starts_with(&one),
        "{}",
        to_hex(&inner.value())
    );
    let answered = inner.value().len();
    protocol.data_received(&call_bytes(4, "d", true));
    assert_eq!(inner.value().len(), answered, "nothing more while paused");
    // The reactor drained the transport and tells us.
    transport.unsent.set(0);
    protocol.pause_producing();
    protocol.resume_producing();
    assert!(!inner.producing_paused());
    let errors = inner.value()[answered..]
        .windows(4)
        .filter(|w| *w == [0x03, 0x80, 0x1c, 0x87])
        .count();
    assert_eq!(errors, 3, "the three waiting calls are answered");
}

/// The peer's calls whose answers we owe are bounded: past the limit, a call is answered with an
/// error at once, and the connection goes on.
#[test]
fn calls_we_owe_answers_to_are_bounded() {
    let root = Rc::new(SlowRoot {
        pending: Default::default(),
    });
    let factory = PBServerFactory::new(root.clone());
    let (mut protocol, transport) = connect(&factory);
    protocol.data_received(&hex(&[CLIENT_OPENING]));
    let limit = crate::spread::pb::MAX_PENDING_CALLS as u32;
    for id in 1..=limit {
        protocol.data_received(&call_bytes(id, "slow", true));
    }
    transport.clear();
    protocol.data_received(&call_bytes(limit + 1, "slow", true));
    let refused = transport.value();
    assert!(
        refused.starts_with(&[0x03, 0x80, 0x1c, 0x87]),
        "an error answer"
    );
    assert!(
        refused.windows(20).any(|w| w == b"Too many calls await"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    // Once one is answered there is room again.
    root.pending
        .borrow_mut()
        .pop()
        .unwrap()
        .callback(Value::None)
        .unwrap();
    transport.clear();
    protocol.data_received(&call_bytes(limit + 2, "slow", true));
    assert_eq!(transport.value(), b"");
    assert!(!transport.is_disconnecting());
}

/// A log that tests can read.
#[derive(Clone, Default)]
struct Captured(Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Malformed input is one line in the log, in Twisted's words where it has some, and the end of
/// the connection.
#[test]
fn malformed_input_is_one_log_line_and_a_close() {
    let cases: [(&str, &str); 3] = [
        (
            "0382786d6c",
            "[Broker,0,127.0.0.1] The client selected a protocol the server didn't suggest and \
             doesn't know: disconnecting.",
        ),
        (
            "02827062028013870581",
            "[Broker,0,127.0.0.1] ProtocolError: Version Incompatibility: 6 5",
        ),
        (
            "0282706202801387068101002882",
            "[Broker,0,127.0.0.1] BananaError: Security precaution: String too long.",
        ),
    ];
    for (input, line) in cases {
        let log = Captured::default();
        crate::log::start_logging(log.clone());
        let transport = serve(Rc::new(KeyValueRoot::default()), &hex(&[input]), 1, 5);
        crate::log::stop_logging();
        let text = String::from_utf8(log.0.borrow().clone()).unwrap();
        let entries: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(entries.len(), 1, "{text}");
        assert!(entries[0].ends_with(line), "{text}");
        assert!(transport.is_disconnecting());
    }
}
