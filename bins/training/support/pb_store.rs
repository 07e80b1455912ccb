//! The training's `KeyValuePB` (`keyvalue_pb.py`): a PB root with `get`, `set` and `delete` on the
//! key-value store, whose keys and values are any Python values, kept in their own types. The
//! programs that serve the store over PB (`keyvalue-pb`, `keyvalue-server2`) include this file
//! with `#[path]`.
//!
//! The store is [`common::keyvalue::Store`], the line protocol's own (entries that expire, an
//! optional memory bound), holding each key and each value as its Jelly encoding: a value comes
//! back in the type it was stored with (bytes stay bytes, text stays text, a list a list, shared
//! parts shared), and `b'a'` and `'a'` are two keys, as in a Python dictionary. The line protocol
//! reaches the same entries through [`TypedStore::bytes_key`] and [`TypedStore::bytes_value`]:
//! its keys and values are byte strings.

#![allow(dead_code)] // keyvalue-pb has no line protocol

use common::keyvalue::Store;
use common::spread::banana::{Decoder, Dialect};
use common::spread::jelly::{SecurityOptions, Value, jelly_to_vec, unjelly};
use common::spread::pb::{Answer, CallContext, Referenceable, RemoteError};

/// The store seen with Python values for keys and values.
#[derive(Clone)]
pub(crate) struct TypedStore {
    store: Store,
}

impl TypedStore {
    pub(crate) fn new(store: Store) -> TypedStore {
        TypedStore { store }
    }

    /// The value of `key`, or Python's `KeyError(key)`.
    pub(crate) fn get(&self, key: &Value) -> Result<Value, RemoteError> {
        let encoded = self
            .store
            .get(&encode_key(key)?)
            .map_err(|_| RemoteError::key_error(key))?;
        decode(&encoded)
    }

    /// Stores `value` under `key` (its time to live starts over), and answers the key, as the
    /// training's store does.
    pub(crate) fn set(&self, key: Value, value: &Value) -> Result<Value, RemoteError> {
        if holds_reference(value) {
            return Err(RemoteError::exception(
                "builtins.TypeError",
                "a reference to a remote object cannot be stored",
            ));
        }
        let encoded = encode(value)?;
        // Only an entry bigger than the whole memory bound is refused.
        self.store
            .set(&encode_key(&key)?, &encoded)
            .map(|()| key)
            .map_err(|error| RemoteError::exception("builtins.MemoryError", error.to_string()))
    }

    /// Removes `key`: `None`, or Python's `KeyError(key)`.
    pub(crate) fn delete(&self, key: &Value) -> Result<Value, RemoteError> {
        self.store
            .delete(&encode_key(key)?)
            .map(|()| Value::None)
            .map_err(|_| RemoteError::key_error(key))
    }

    /// The store's key for the line protocol's `key`: the byte string `key`.
    pub(crate) fn bytes_key(key: &[u8]) -> Vec<u8> {
        encode_key(&Value::Bytes(key.to_vec())).unwrap_or_default()
    }

    /// The line protocol's value for the entry `encoded`: the bytes themselves for a byte
    /// string, the text for text, and Python's repr for anything else, or for bytes or text that
    /// hold a line break (which would end the reply's line early and forge another).
    pub(crate) fn bytes_value(encoded: &[u8]) -> Vec<u8> {
        let value = match decode(encoded) {
            Ok(value) => value,
            Err(error) => return error.value.into_bytes(),
        };
        let plain = match &value {
            Value::Bytes(bytes) => Some(bytes.clone()),
            Value::Text(text) => Some(text.clone().into_bytes()),
            _ => None,
        };
        match plain {
            Some(bytes) if !bytes.iter().any(|&byte| byte == b'\r' || byte == b'\n') => bytes,
            _ => value.to_string().into_bytes(),
        }
    }

    /// The encoded entry of `key`, if any.
    pub(crate) fn encoded(&self, key: &[u8]) -> Option<std::rc::Rc<[u8]>> {
        self.store.get(key).ok()
    }
}

/// The Jelly encoding of a key; Python's `TypeError` for the types a dictionary refuses as keys.
fn encode_key(key: &Value) -> Result<Vec<u8>, RemoteError> {
    let unhashable = match key {
        Value::List(_) | Value::Reference(..) | Value::Dereference(_) => Some("list"),
        Value::Dict(_) => Some("dict"),
        Value::Set(_) => Some("set"),
        _ => None,
    };
    if let Some(kind) = unhashable {
        return Err(RemoteError::exception(
            "builtins.TypeError",
            format!("unhashable type: '{kind}'"),
        ));
    }
    encode(key)
}

fn encode(value: &Value) -> Result<Vec<u8>, RemoteError> {
    jelly_to_vec(value, Dialect::None)
        .map_err(|error| RemoteError::exception("builtins.ValueError", error.to_string()))
}

fn decode(encoded: &[u8]) -> Result<Value, RemoteError> {
    let mut decoder = Decoder::new();
    decoder.feed(encoded);
    let broken = |error: String| RemoteError::exception("builtins.ValueError", error);
    match decoder.next_item() {
        Some(Ok(item)) => {
            unjelly(item, &SecurityOptions::new()).map_err(|error| broken(error.to_string()))
        }
        Some(Err(error)) => Err(broken(error.to_string())),
        None => Err(broken("an entry of the store is cut short".to_owned())),
    }
}

/// Whether `value` holds a reference to an object of a connection, which means nothing to another.
fn holds_reference(value: &Value) -> bool {
    match value {
        Value::Remote(_) | Value::Local(_) => true,
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            items.iter().any(holds_reference)
        }
        Value::Dict(pairs) => pairs
            .iter()
            .any(|(key, value)| holds_reference(key) || holds_reference(value)),
        Value::Reference(_, inner) | Value::Copy(_, inner) => holds_reference(inner),
        _ => false,
    }
}

/// The PB root: `get(key)`, `set(key, value)` and `delete(key)` on the store.
pub(crate) struct KeyValuePB {
    pub(crate) store: TypedStore,
}

impl Referenceable for KeyValuePB {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        _call: &CallContext,
    ) -> Answer {
        let parameters: &[&str] = match name {
            "get" | "delete" => &["key"],
            "set" => &["key", "value"],
            _ => return Answer::error(RemoteError::no_such_method(name)),
        };
        if args.len() != parameters.len() || !kwargs.is_empty() {
            return Answer::error(wrong_arguments(name, parameters, args.len()));
        }
        let mut args = args.into_iter();
        let key = args.next().unwrap_or(Value::None);
        Answer::Now(match name {
            "get" => self.store.get(&key),
            "set" => self.store.set(key, &args.next().unwrap_or(Value::None)),
            _ => self.store.delete(&key),
        })
    }
}

/// Python's `TypeError` for `remote_<name>(self, parameters...)` called with `given` arguments
/// (keyword arguments count as too many).
fn wrong_arguments(name: &str, parameters: &[&str], given: usize) -> RemoteError {
    let method = format!("KeyValuePB.remote_{name}()");
    let text = if given < parameters.len() {
        let missing = &parameters[given..];
        let names: Vec<String> = missing.iter().map(|name| format!("'{name}'")).collect();
        let s = if missing.len() == 1 { "" } else { "s" };
        format!(
            "{method} missing {} required positional argument{s}: {}",
            missing.len(),
            names.join(" and ")
        )
    } else {
        format!(
            "{method} takes {} positional arguments but {} were given",
            parameters.len() + 1,
            given + 1
        )
    };
    RemoteError::exception("builtins.TypeError", text)
}
