//! The values XML-RPC carries: the eight types of the specification, and `nil`, the extension that
//! Python (and Twisted, when asked) understands.
//!
//! A [`Value`] is what a procedure receives as its arguments and gives back as its result, and what
//! the client sends and gets. Plain Rust values turn into one with `.into()`: `42.into()`,
//! `"text".into()`, `vec![Value::from(1), Value::from(true)].into()`.

use std::fmt;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` or `<i4>`: a 32-bit integer on the wire. Read as 64 bits, because Python's parser
    /// also takes `<i8>`; a value outside 32 bits cannot be written back (Python's `int exceeds
    /// XML-RPC limits`).
    Int(i64),
    /// `<boolean>`: `1` or `0`.
    Bool(bool),
    /// `<string>`, and a `<value>` with bare text and no type inside: any Unicode text.
    String(String),
    /// `<double>`: a 64-bit float, written as Python's `repr` writes it (`3.5`, `1e+16`).
    Double(f64),
    /// `<dateTime.iso8601>`: a date and time with no time zone, `20260101T12:00:00`.
    DateTime(DateTime),
    /// `<base64>`: bytes, any bytes.
    Base64(Vec<u8>),
    /// `<struct>`: named members, in order.
    Struct(Struct),
    /// `<array>`: values in order, of any types.
    Array(Vec<Value>),
    /// `<nil/>`: no value (Python's `None`). Only written when the writer allows it.
    Nil,
}

impl Value {
    /// The name of the value's type, as XML-RPC spells its tag (`int`, `string`, `nil`...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Struct(_) => "struct",
            Value::Array(_) => "array",
            Value::Nil => "nil",
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The truth value, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(truth) => Some(*truth),
            _ => None,
        }
    }

    /// The number, if this is a double.
    pub fn as_double(&self) -> Option<f64> {
        match self {
            Value::Double(number) => Some(*number),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(values) => Some(values),
            _ => None,
        }
    }

    /// The members, if this is a struct.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(members) => Some(members),
            _ => None,
        }
    }
}

impl From<i32> for Value {
    fn from(number: i32) -> Value {
        Value::Int(number.into())
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Value {
        Value::Int(number)
    }
}

impl From<bool> for Value {
    fn from(truth: bool) -> Value {
        Value::Bool(truth)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<f64> for Value {
    fn from(number: f64) -> Value {
        Value::Double(number)
    }
}

impl From<DateTime> for Value {
    fn from(when: DateTime) -> Value {
        Value::DateTime(when)
    }
}

impl From<Struct> for Value {
    fn from(members: Struct) -> Value {
        Value::Struct(members)
    }
}

impl From<Vec<Value>> for Value {
    fn from(values: Vec<Value>) -> Value {
        Value::Array(values)
    }
}

/// `None` is `nil`; `Some(x)` is `x`.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(maybe: Option<T>) -> Value {
        maybe.map_or(Value::Nil, Into::into)
    }
}

/// The members of a struct, in the order they were put (Python's `dict` keeps that order too).
/// A name appears once: putting it again replaces its value where it stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Struct {
    members: Vec<(String, Value)>,
}

impl Struct {
    /// A struct with no members.
    pub fn new() -> Struct {
        Struct::default()
    }

    /// Puts `value` under `name`, replacing the value already there, if any.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        let (name, value) = (name.into(), value.into());
        match self.members.iter_mut().find(|(known, _)| *known == name) {
            Some((_, slot)) => *slot = value,
            None => self.members.push((name, value)),
        }
    }

    /// The value of member `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl<N: Into<String>, V: Into<Value>> FromIterator<(N, V)> for Struct {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(members: I) -> Struct {
        let mut built = Struct::new();
        for (name, value) in members {
            built.insert(name, value);
        }
        built
    }
}

impl IntoIterator for Struct {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.members.into_iter()
    }
}

/// An XML-RPC date and time, kept as the text it came as: `20260101T12:00:00` (no time zone; the
/// specification leaves it to the two sides to agree on one).
///
/// The text is kept, not parsed, as Python's `xmlrpc.client.DateTime` keeps it: a value echoed
/// back comes back exactly as it was sent, whatever its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime(String);

impl DateTime {
    /// A date and time from its text, as sent (leading and trailing blanks are dropped).
    pub fn new(text: &str) -> DateTime {
        DateTime(text.trim().to_owned())
    }

    /// The date and time from its parts, in XML-RPC's usual form: `YYYYMMDDTHH:MM:SS`.
    pub fn from_parts(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime(format!(
            "{year:04}{month:02}{day:02}T{hour:02}:{minute:02}:{second:02}"
        ))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Year, month, day, hour, minute and second, when the text has the usual form
    /// `YYYYMMDDTHH:MM:SS` and names a plausible moment.
    pub fn parts(&self) -> Option<[u32; 6]> {
        let text = self.0.as_bytes();
        let shape_ok = text.len() == 17
            && text[8] == b'T'
            && text[11] == b':'
            && text[14] == b':'
            && [0..8, 9..11, 12..14, 15..17]
                .into_iter()
                .all(|range| text[range].iter().all(u8::is_ascii_digit));
        if !shape_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| self.0[range].parse::<u32>().ok();
        let parts = [
            number(0..4)?,
            number(4..6)?,
            number(6..8)?,
            number(9..11)?,
            number(12..14)?,
            number(15..17)?,
        ];
        let [year, month, day, hour, minute, second] = parts;
        let plausible = year >= 1
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        plausible.then_some(parts)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_convert() {
        assert_eq!(Value::from(42), Value::Int(42));
        assert_eq!(Value::from("x"), Value::String("x".into()));
        assert_eq!(Value::from(None::<i32>), Value::Nil);
        assert_eq!(Value::from(Some(true)), Value::Bool(true));
        assert_eq!(Value::from(2.5).type_name(), "double");
    }

    #[test]
    fn struct_members_keep_their_order_and_names_are_unique() {
        let mut members: Struct = [("b", 1), ("a", 2)].into_iter().collect();
        members.insert("b", 3);
        let names: Vec<&str> = members.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(members.get("b"), Some(&Value::Int(3)));
        assert_eq!(members.len(), 2);
    }

    #[test]
    fn date_times_keep_their_text_and_split_into_parts() {
        let when = DateTime::from_parts(2026, 1, 2, 3, 4, 5);
        assert_eq!(when.as_str(), "20260102T03:04:05");
        assert_eq!(when.parts(), Some([2026, 1, 2, 3, 4, 5]));
        assert_eq!(DateTime::new(" 2026-01-02 ").as_str(), "2026-01-02");
        assert_eq!(DateTime::new("2026-01-02").parts(), None);
        assert_eq!(DateTime::new("20261302T03:04:05").parts(), None);
    }
}
