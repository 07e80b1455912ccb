//! Building values from Rust ones and reading Rust ones out, for the programs that call and answer.

use num_bigint::BigInt;

use super::Value;
use crate::spread::banana::Int;

impl From<Int> for Value {
    fn from(n: Int) -> Value {
        match n {
            Int::Small(n) => Value::Int(n),
            Int::Big(n) => Value::BigInt(n),
        }
    }
}

impl From<BigInt> for Value {
    /// Normalises: a value that fits in an `i64` becomes [`Value::Int`].
    fn from(n: BigInt) -> Value {
        Int::from(n).into()
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    /// Rust text is Python `str`: [`Value::Text`].
    fn from(text: &str) -> Value {
        Value::Text(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Text(text)
    }
}

impl From<&[u8]> for Value {
    /// Rust bytes are Python `bytes`: [`Value::Bytes`].
    fn from(bytes: &[u8]) -> Value {
        Value::Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Value {
        Value::Bytes(bytes)
    }
}

impl Value {
    /// The bytes of a [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The text of a [`Value::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The integer of a [`Value::Int`].
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}
