//! Jelly: a [`Value`] written as Banana tokens, straight into the output.

use super::{JellyError, ObjectId, Value};
use crate::spread::banana::{DEFAULT_MAX_DEPTH, Dialect, Writer};

/// Writes `value` as one jelly expression. On error (a string or list too long, an integer too
/// large, a value nested deeper than a receiver accepts) nothing is left in the output.
pub fn jelly(value: &Value, out: &mut Writer<'_>) -> Result<(), JellyError> {
    let start = out.len();
    let result = write(value, out, 0);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The jelly expression of `value` as bytes, in `dialect`.
pub fn jelly_to_vec(value: &Value, dialect: Dialect) -> Result<Vec<u8>, JellyError> {
    let mut bytes = Vec::new();
    jelly(value, &mut Writer::new(&mut bytes, dialect))?;
    Ok(bytes)
}

/// Opens a form: a list of `1 + len` items whose first is `word`. Refuses to go deeper than a
/// receiver with the default limits would read.
fn open(out: &mut Writer<'_>, word: &[u8], len: usize, depth: usize) -> Result<(), JellyError> {
    if depth >= DEFAULT_MAX_DEPTH {
        return Err(JellyError::TooDeep);
    }
    out.list_header(len + 1)?;
    out.bytes(word)?;
    Ok(())
}

fn write(value: &Value, out: &mut Writer<'_>, depth: usize) -> Result<(), JellyError> {
    match value {
        Value::None => open(out, b"None", 0, depth)?,
        Value::Bool(b) => {
            open(out, b"boolean", 1, depth)?;
            out.bytes(if *b { b"true" } else { b"false" })?;
        }
        Value::Int(n) => out.int(*n),
        Value::BigInt(n) => out.big_int(n)?,
        Value::Float(x) => out.float(*x),
        Value::Bytes(bytes) => out.bytes(bytes)?,
        Value::Text(text) => {
            open(out, b"unicode", 1, depth)?;
            out.bytes(text.as_bytes())?;
        }
        Value::List(items) => sequence(b"list", items, out, depth)?,
        Value::Tuple(items) => sequence(b"tuple", items, out, depth)?,
        Value::Set(items) => sequence(b"set", items, out, depth)?,
        Value::FrozenSet(items) => sequence(b"frozenset", items, out, depth)?,
        Value::Decimal(decimal) => {
            open(out, b"decimal", 2, depth)?;
            out.big_int(decimal.coefficient())?;
            out.int(decimal.exponent());
        }
        Value::DateTime(datetime) => time_fields(b"datetime", &datetime.fields(), out, depth)?,
        Value::Date(date) => time_fields(b"date", &date.fields(), out, depth)?,
        Value::Time(time) => time_fields(b"time", &time.fields(), out, depth)?,
        Value::TimeDelta(delta) => time_fields(b"timedelta", &delta.fields(), out, depth)?,
        Value::Dict(entries) => {
            open(out, b"dictionary", entries.len(), depth)?;
            for (key, value) in entries {
                if depth + 1 >= DEFAULT_MAX_DEPTH {
                    return Err(JellyError::TooDeep);
                }
                out.list_header(2)?;
                write(key, out, depth + 2)?;
                write(value, out, depth + 2)?;
            }
        }
        Value::Reference(id, value) => {
            open(out, b"reference", 2, depth)?;
            out.int(i64::from(*id));
            write(value, out, depth + 1)?;
        }
        Value::Dereference(id) => {
            open(out, b"dereference", 1, depth)?;
            out.int(i64::from(*id));
        }
        Value::Remote(luid) => {
            open(out, b"remote", 1, depth)?;
            out.int(i64::from(*luid));
        }
        Value::Local(ObjectId::Luid(luid)) => {
            open(out, b"local", 1, depth)?;
            out.int(i64::from(*luid));
        }
        Value::Local(ObjectId::Name(name)) => {
            open(out, b"local", 1, depth)?;
            out.bytes(name)?;
        }
        Value::Copy(tag, state) => {
            open(out, tag.as_bytes(), 1, depth)?;
            write(state, out, depth + 1)?;
        }
        Value::Unpersistable(reason) => {
            open(out, b"unpersistable", 1, depth)?;
            out.bytes(reason.as_bytes())?;
        }
    }
    Ok(())
}

/// A time type's form: its word and the one byte string of its fields.
fn time_fields(
    word: &[u8],
    fields: &str,
    out: &mut Writer<'_>,
    depth: usize,
) -> Result<(), JellyError> {
    open(out, word, 1, depth)?;
    out.bytes(fields.as_bytes())?;
    Ok(())
}

fn sequence(
    word: &[u8],
    items: &[Value],
    out: &mut Writer<'_>,
    depth: usize,
) -> Result<(), JellyError> {
    open(out, word, items.len(), depth)?;
    items
        .iter()
        .try_for_each(|item| write(item, out, depth + 1))
}
