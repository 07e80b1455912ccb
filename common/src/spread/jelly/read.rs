//! Unjelly: a decoded Banana expression to a [`Value`], accepting only what the receiver allows.

use std::collections::HashSet;

use super::{
    Date, DateTime, Decimal, JellyError, ObjectId, SecurityOptions, Time, TimeDelta, Value,
};
use crate::spread::banana::{Int, Item};
use crate::spread::bytes_repr;

/// Type words no receiver accepts: each would mean "find this code and run it".
const CODE_WORDS: [&[u8]; 5] = [b"class", b"module", b"function", b"method", b"instance"];

/// Type words Twisted accepts and this implementation does not build (Cacheables, which the seeds
/// never use); they are refused as malformed, which a broker answers as an error.
const UNSUPPORTED_WORDS: [&[u8]; 2] = [b"cached", b"lcache"];

/// Turns one jelly expression into a value. `security` says which Copyable tags are accepted and
/// how deep a value may be nested; class, module, function, method and instance words, unknown
/// words and unregistered tags are refused as [`JellyError::Insecure`].
pub fn unjelly(item: Item, security: &SecurityOptions) -> Result<Value, JellyError> {
    Reader {
        security,
        references: HashSet::new(),
    }
    .value(item, 0)
}

/// One unjelly run: the reference ids opened so far, for checking dereferences.
struct Reader<'a> {
    security: &'a SecurityOptions,
    references: HashSet<u32>,
}

impl Reader<'_> {
    fn value(&mut self, item: Item, depth: usize) -> Result<Value, JellyError> {
        match item {
            Item::Int(Int::Small(n)) => Ok(Value::Int(n)),
            Item::Int(Int::Big(n)) => Ok(Value::BigInt(n)),
            Item::Float(x) => Ok(Value::Float(x)),
            Item::Bytes(bytes) => Ok(Value::Bytes(bytes)),
            Item::List(items) => {
                if depth >= self.security.max_depth() {
                    return Err(JellyError::TooDeep);
                }
                self.form(items, depth + 1)
            }
        }
    }

    /// A list: its first element is the type word, the rest its contents.
    fn form(&mut self, items: Vec<Item>, depth: usize) -> Result<Value, JellyError> {
        let mut items = items.into_iter();
        let word = match items.next() {
            Some(Item::Bytes(word)) => word,
            Some(_) => return Err(malformed("a list whose type is not a byte string")),
            None => return Err(malformed("an empty list")),
        };
        let args: Vec<Item> = items.collect();
        match word.as_slice() {
            b"None" => Ok(Value::None),
            b"boolean" => match one(args, "boolean")? {
                Item::Bytes(b) if b == b"true" => Ok(Value::Bool(true)),
                Item::Bytes(b) if b == b"false" => Ok(Value::Bool(false)),
                _ => Err(malformed("a boolean other than true or false")),
            },
            b"unicode" => match one(args, "unicode")? {
                Item::Bytes(bytes) => String::from_utf8(bytes)
                    .map(Value::Text)
                    .map_err(|_| malformed("unicode text that is not UTF-8")),
                _ => Err(malformed("unicode text that is not a byte string")),
            },
            b"list" => Ok(Value::List(self.values(args, depth)?)),
            b"tuple" => Ok(Value::Tuple(self.values(args, depth)?)),
            b"set" => Ok(Value::Set(self.values(args, depth)?)),
            b"frozenset" => Ok(Value::FrozenSet(self.values(args, depth)?)),
            b"dictionary" => self.dictionary(args, depth),
            b"decimal" => decimal(args),
            b"datetime" => time_fields(args, "datetime", DateTime::parse).map(Value::DateTime),
            b"date" => time_fields(args, "date", Date::parse).map(Value::Date),
            b"time" => time_fields(args, "time", Time::parse).map(Value::Time),
            b"timedelta" => time_fields(args, "timedelta", TimeDelta::parse).map(Value::TimeDelta),
            b"reference" => {
                let [id, value] = pair(args, "reference")?;
                let id = small_id(&id, "reference")?;
                if !self.references.insert(id) {
                    return Err(malformed(format!("reference {id} opened twice")));
                }
                Ok(Value::Reference(id, Box::new(self.value(value, depth)?)))
            }
            b"dereference" => {
                let id = small_id(&one(args, "dereference")?, "dereference")?;
                if !self.references.contains(&id) {
                    return Err(malformed(format!("dereference {id} names no reference")));
                }
                Ok(Value::Dereference(id))
            }
            b"remote" => Ok(Value::Remote(small_id(&one(args, "remote")?, "remote")?)),
            b"local" => match one(args, "local")? {
                Item::Bytes(name) => Ok(Value::Local(ObjectId::Name(name))),
                id => Ok(Value::Local(ObjectId::Luid(small_id(&id, "local")?))),
            },
            b"unpersistable" => match one(args, "unpersistable")? {
                Item::Bytes(reason) => Ok(Value::Unpersistable(
                    String::from_utf8_lossy(&reason).into_owned(),
                )),
                other => match self.value(other, depth)? {
                    Value::Text(reason) => Ok(Value::Unpersistable(reason)),
                    _ => Err(malformed("an unpersistable reason that is not a string")),
                },
            },
            // Allowed by Twisted, but with no loader configured it only ever gives a placeholder.
            b"persistent" => Ok(Value::Unpersistable(
                "Persistent callback not found".to_string(),
            )),
            w if CODE_WORDS.contains(&w) => Err(JellyError::Insecure(bytes_repr(w))),
            w if UNSUPPORTED_WORDS.contains(&w) => Err(malformed(format!(
                "type {} is not supported",
                bytes_repr(w)
            ))),
            tag => self.copy(tag, args, depth),
        }
    }

    /// A Copyable's copy if its tag is allowed, else Twisted's refusal.
    fn copy(&mut self, tag: &[u8], args: Vec<Item>, depth: usize) -> Result<Value, JellyError> {
        let text = String::from_utf8_lossy(tag);
        if !self.security.is_copy_tag_allowed(&text) {
            return Err(JellyError::Insecure(match text.rsplit_once('.') {
                Some((module, _)) => format!("Module {module} not allowed (in type {text})."),
                None => bytes_repr(tag),
            }));
        }
        let state = one(args, "copy")?;
        Ok(Value::Copy(
            text.into_owned(),
            Box::new(self.value(state, depth)?),
        ))
    }

    fn values(&mut self, items: Vec<Item>, depth: usize) -> Result<Vec<Value>, JellyError> {
        items
            .into_iter()
            .map(|item| self.value(item, depth))
            .collect()
    }

    fn dictionary(&mut self, entries: Vec<Item>, depth: usize) -> Result<Value, JellyError> {
        if depth >= self.security.max_depth() {
            return Err(JellyError::TooDeep);
        }
        let mut pairs = Vec::with_capacity(entries.len());
        for entry in entries {
            let Item::List(entry) = entry else {
                return Err(malformed("a dictionary entry that is not a list"));
            };
            let [key, value] = pair(entry, "dictionary entry")?;
            pairs.push((self.value(key, depth + 1)?, self.value(value, depth + 1)?));
        }
        Ok(Value::Dict(pairs))
    }
}

/// `("decimal" coefficient exponent)`: two integers, as Twisted's unjelly needs them, within what
/// Python's `decimal` holds.
fn decimal(args: Vec<Item>) -> Result<Value, JellyError> {
    let [coefficient, exponent] = pair(args, "decimal")?;
    let (Item::Int(coefficient), Item::Int(Int::Small(exponent))) = (coefficient, exponent) else {
        return Err(malformed(
            "decimal needs an integer coefficient and exponent",
        ));
    };
    Decimal::new(coefficient.to_bigint(), exponent)
        .map(Value::Decimal)
        .ok_or_else(|| malformed("a decimal exponent out of Python's range"))
}

/// The one byte string of a time type's form, read by `parse`; Python's `ValueError` (here
/// malformed) when it would not build the value.
fn time_fields<T>(
    args: Vec<Item>,
    form: &str,
    parse: fn(&[u8]) -> Option<T>,
) -> Result<T, JellyError> {
    match one(args, form)? {
        Item::Bytes(text) => parse(&text).ok_or_else(|| {
            malformed(format!(
                "{form} fields {} Python would not accept",
                bytes_repr(&text[..text.len().min(super::datetime::MAX_FIELDS_TEXT)])
            ))
        }),
        _ => Err(malformed(format!("{form} needs a byte string of fields"))),
    }
}

fn malformed(text: impl Into<String>) -> JellyError {
    JellyError::Malformed(text.into())
}

/// The single argument of a form.
fn one(args: Vec<Item>, form: &str) -> Result<Item, JellyError> {
    let [arg]: [Item; 1] = args
        .try_into()
        .map_err(|_| malformed(format!("{form} needs one argument")))?;
    Ok(arg)
}

/// The two arguments of a form (or the two halves of a dictionary entry).
fn pair(args: Vec<Item>, form: &str) -> Result<[Item; 2], JellyError> {
    args.try_into()
        .map_err(|_| malformed(format!("{form} needs two elements")))
}

/// An id (reference, luid): a non-negative integer that fits in 32 bits.
fn small_id(item: &Item, form: &str) -> Result<u32, JellyError> {
    match item {
        Item::Int(Int::Small(n)) => u32::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| malformed(format!("{form} needs a small non-negative integer")))
}
