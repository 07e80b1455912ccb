//! Values printed the way Python's `repr()` prints them, for programs that show what they received.

use std::collections::HashMap;
use std::fmt::{self, Write};

use super::{ObjectId, Value};
use crate::spread::{bytes_repr, python::text_repr};

impl fmt::Display for Value {
    /// `b'abc'`, `'text'`, `[1, 2]`, `(1,)`, `{b'a': 1}`, `None`, `True`, `1.5`,
    /// `Decimal('3.14')`, `datetime.date(2024, 1, 2)`. A dereference
    /// prints the container it names, or `[...]` (`{...}` for a dictionary) inside that container
    /// itself (a cycle), as Python prints a shared or recursive container.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut references = HashMap::new();
        collect(self, &mut references);
        Printer {
            references,
            open: Vec::new(),
        }
        .value(self, f)
    }
}

/// Finds every `Reference` in a value, so that a dereference can print what it names.
fn collect<'a>(value: &'a Value, references: &mut HashMap<u32, &'a Value>) {
    match value {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            items.iter().for_each(|item| collect(item, references));
        }
        Value::Dict(entries) => entries.iter().for_each(|(key, value)| {
            collect(key, references);
            collect(value, references);
        }),
        Value::Reference(id, inner) => {
            references.entry(*id).or_insert(inner);
            collect(inner, references);
        }
        Value::Copy(_, state) => collect(state, references),
        _ => {}
    }
}

struct Printer<'a> {
    references: HashMap<u32, &'a Value>,
    /// The references being printed, to print a cycle as `[...]` instead of forever.
    open: Vec<u32>,
}

impl<'a> Printer<'a> {
    fn value(&mut self, value: &'a Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match value {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::BigInt(n) => write!(f, "{n}"),
            Value::Float(x) => f.write_str(&float_repr(*x)),
            Value::Bytes(bytes) => f.write_str(&bytes_repr(bytes)),
            Value::Text(text) => f.write_str(&text_repr(text)),
            Value::List(items) => self.items("[", items, "]", f),
            Value::Tuple(items) if items.len() == 1 => self.items("(", items, ",)", f),
            Value::Tuple(items) => self.items("(", items, ")", f),
            Value::Set(items) if items.is_empty() => f.write_str("set()"),
            Value::Set(items) => self.items("{", items, "}", f),
            Value::FrozenSet(items) if items.is_empty() => f.write_str("frozenset()"),
            Value::FrozenSet(items) => self.items("frozenset({", items, "})", f),
            Value::Decimal(decimal) => write!(f, "{decimal}"),
            Value::DateTime(datetime) => write!(f, "{datetime}"),
            Value::Date(date) => write!(f, "{date}"),
            Value::Time(time) => write!(f, "{time}"),
            Value::TimeDelta(delta) => write!(f, "{delta}"),
            Value::Dict(entries) => {
                f.write_char('{')?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    self.value(key, f)?;
                    f.write_str(": ")?;
                    self.value(value, f)?;
                }
                f.write_char('}')
            }
            Value::Reference(id, inner) => {
                self.open.push(*id);
                let result = self.value(inner, f);
                self.open.pop();
                result
            }
            Value::Dereference(id) => match self.references.get(id) {
                // Inside itself: Python's mark for a recursive container of that kind.
                Some(&inner) if self.open.contains(id) => f.write_str(match inner {
                    Value::Dict(_) => "{...}",
                    Value::Tuple(_) => "(...)",
                    Value::List(_) => "[...]",
                    _ => "...",
                }),
                Some(&inner) => {
                    self.open.push(*id);
                    let result = self.value(inner, f);
                    self.open.pop();
                    result
                }
                None => write!(f, "<dereference {id}>"),
            },
            Value::Remote(luid) => write!(f, "<RemoteReference {luid}>"),
            Value::Local(ObjectId::Luid(luid)) => write!(f, "<local {luid}>"),
            Value::Local(ObjectId::Name(name)) => write!(f, "<local {}>", bytes_repr(name)),
            Value::Copy(tag, state) => {
                write!(f, "<{tag} ")?;
                self.value(state, f)?;
                f.write_char('>')
            }
            Value::Unpersistable(reason) => write!(f, "Unpersistable({})", text_repr(reason)),
        }
    }

    fn items(
        &mut self,
        open: &str,
        items: &'a [Value],
        close: &str,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        f.write_str(open)?;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            self.value(item, f)?;
        }
        f.write_str(close)
    }
}

/// Python's `repr(float)`: the shortest digits that read back to the same value, positional from
/// 1e-4 up to 1e16 (always with a fraction: `1.0`), scientific otherwise (`1e+16`, `1.5e-05`).
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the same shortest digits Python chooses, as "d.ddde<exp>".
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exp) = scientific.split_once('e').expect("an exponent");
    let exp: i32 = exp.parse().expect("a decimal exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if digits.len() as i32 <= point {
            let zeros = "0".repeat((point - digits.len() as i32) as usize);
            format!("{sign}{digits}{zeros}.0")
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{sign}{whole}.{fraction}")
        }
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}
