//! Tests of the broker and of cred over PB: our server fed the bytes Twisted clients sent, our
//! client fed the bytes Twisted servers sent, both compared byte for byte with the captures; then
//! our client against our server, in memory and over a real socket.

mod client;
mod login_probes;
mod loopback;
mod server;
mod vectors;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::{Answer, CallContext, PBServerFactory, Referenceable, RemoteError, RemoteReference};
use crate::cred::{InMemoryUsernamePasswordDatabase, Portal, Realm};
use crate::protocol::{Factory, Protocol, Transport};
use crate::spread::jelly::Value;
use crate::testing::StringTransport;

/// The bytes of a hex dump given in pieces.
fn hex(pieces: &[&str]) -> Vec<u8> {
    let text: String = pieces.concat();
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

/// Bytes as hex, so that a failed comparison shows where the streams part.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Sends this test's log nowhere (unless the test logs somewhere already): the errors a server
/// is fed on purpose would otherwise show on stderr, as a program that does not log shows them.
fn quiet_log() {
    if !crate::log::is_logging() {
        crate::log::start_logging(std::io::sink());
    }
}

/// Connects a protocol of `factory` to a new in-memory transport.
fn connect(factory: &dyn Factory) -> (Box<dyn Protocol>, Rc<StringTransport>) {
    quiet_log();
    let transport = StringTransport::new();
    let mut protocol = factory
        .build_protocol(&transport.get_peer())
        .expect("the factory makes a protocol");
    protocol.connection_made(transport.clone());
    (protocol, transport)
}

/// Feeds `input` to `protocol` in pieces of `chunk` bytes, stopping once it closes the
/// connection, as a real transport would.
fn feed(protocol: &mut dyn Protocol, transport: &StringTransport, input: &[u8], chunk: usize) {
    for piece in input.chunks(chunk.max(1)) {
        if transport.is_disconnecting() {
            break;
        }
        protocol.data_received(piece);
    }
}

/// What the key-value root keeps under a key: a value, a reference to one of the caller's
/// objects, or one of our own objects that the caller handed back.
enum Stored {
    Value(Value),
    Remote(RemoteReference),
    Local(Rc<dyn Referenceable>),
}

/// The seed's `KeyValuePB(pb.Root)`, as the traces ran it: `get`, `set` (answers the key) and
/// `delete` (answers `None`); a missing key is a `KeyError`.
#[derive(Default)]
pub(super) struct KeyValueRoot {
    store: RefCell<Vec<(Value, Stored)>>,
}

impl KeyValueRoot {
    fn position(&self, key: &Value) -> Option<usize> {
        self.store.borrow().iter().position(|(k, _)| k == key)
    }

    fn get(&self, key: Value, call: &CallContext) -> Result<Value, RemoteError> {
        let store = self.store.borrow();
        let at = self
            .position(&key)
            .ok_or_else(|| RemoteError::key_error(&key))?;
        Ok(match &store[at].1 {
            Stored::Value(value) => value.clone(),
            Stored::Remote(reference) => reference.to_value(),
            Stored::Local(object) => call.export(Rc::clone(object)),
        })
    }

    fn set(&self, key: Value, value: Value, call: &CallContext) -> Value {
        let stored = if let Some(reference) = call.remote_reference(&value) {
            Stored::Remote(reference)
        } else if let Some(object) = call.local_object(&value) {
            Stored::Local(object)
        } else {
            Stored::Value(value)
        };
        let old = match self.position(&key) {
            Some(at) => Some(std::mem::replace(
                &mut self.store.borrow_mut()[at].1,
                stored,
            )),
            None => {
                self.store.borrow_mut().push((key.clone(), stored));
                None
            }
        };
        drop(old);
        key
    }

    fn delete(&self, key: Value) -> Result<Value, RemoteError> {
        let at = self
            .position(&key)
            .ok_or_else(|| RemoteError::key_error(&key))?;
        // Out of the store before it is dropped: dropping a reference sends its decref.
        let removed = self.store.borrow_mut().remove(at);
        drop(removed);
        Ok(Value::None)
    }
}

/// The arguments named `names`, positional first, then by keyword (names as text or bytes).
fn arguments<const N: usize>(
    method: &str,
    names: [&str; N],
    args: Vec<Value>,
    kwargs: Vec<(Value, Value)>,
) -> Result<[Value; N], RemoteError> {
    let mut slots: Vec<Option<Value>> = args.into_iter().map(Some).collect();
    slots.resize(N.max(slots.len()), None);
    for (name, value) in kwargs {
        let name = match name {
            Value::Text(name) => name.into_bytes(),
            Value::Bytes(name) => name,
            _ => continue,
        };
        if let Some(at) = names.iter().position(|n| n.as_bytes() == name) {
            slots[at] = Some(value);
        }
    }
    let missing: Vec<&str> = (0..N)
        .filter(|&at| slots[at].is_none())
        .map(|at| names[at])
        .collect();
    if let [first] = missing.as_slice() {
        return Err(RemoteError::exception(
            "builtins.TypeError",
            format!(
                "KeyValuePB.remote_{method}() missing 1 required positional argument: '{first}'"
            ),
        ));
    }
    if !missing.is_empty() || slots.len() > N {
        return Err(RemoteError::exception(
            "builtins.TypeError",
            format!("KeyValuePB.remote_{method}() got the wrong arguments"),
        ));
    }
    Ok(std::array::from_fn(|at| slots[at].take().unwrap()))
}

impl Referenceable for KeyValueRoot {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        Answer::Now(match name {
            "get" => arguments(name, ["key"], args, kwargs).and_then(|[key]| self.get(key, call)),
            "set" => arguments(name, ["key", "value"], args, kwargs)
                .map(|[key, value]| self.set(key, value, call)),
            "delete" => arguments(name, ["key"], args, kwargs).and_then(|[key]| self.delete(key)),
            _ => Err(RemoteError::no_such_method(name)),
        })
    }
}

/// pbecho's avatar: `echo` answers its argument, `error` raises pbecho's `DefinedError`; each
/// logout is counted; `call_mind` calls the mind given at login.
pub(super) struct Perspective {
    pub(super) logouts: Rc<Cell<u32>>,
    pub(super) mind: Option<RemoteReference>,
}

impl Referenceable for Perspective {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        match (name, args.as_slice()) {
            ("echo", [text]) => Answer::value(text.clone()),
            ("error", []) => Answer::error(RemoteError::pb_error_subclass(
                "pbecho.DefinedError",
                "exception!",
            )),
            ("call_mind", []) => match &self.mind {
                Some(mind) => Answer::Later(mind.call_remote("hello", vec![])),
                None => Answer::value(Value::None),
            },
            _ => Answer::error(RemoteError::no_such_perspective_method(
                "SimplePerspective",
                name,
            )),
        }
    }

    fn logout(&self) {
        self.logouts.set(self.logouts.get() + 1);
    }
}

/// pbecho's realm: a new avatar for each login.
struct EchoRealm {
    logouts: Rc<Cell<u32>>,
}

impl Realm for EchoRealm {
    fn request_avatar(
        &self,
        _avatar_id: &[u8],
        mind: Option<RemoteReference>,
    ) -> Rc<dyn Referenceable> {
        Rc::new(Perspective {
            logouts: Rc::clone(&self.logouts),
            mind,
        })
    }
}

/// pbecho's server: guest/guest; and the count of its avatars' logouts.
pub(super) fn echo_server() -> (PBServerFactory, Rc<Cell<u32>>) {
    let logouts = Rc::new(Cell::new(0));
    let mut checker = InMemoryUsernamePasswordDatabase::new();
    checker.add_user(b"guest", b"guest");
    let realm = Rc::new(EchoRealm {
        logouts: Rc::clone(&logouts),
    });
    (
        PBServerFactory::with_portal(Portal::new(realm, checker)),
        logouts,
    )
}
