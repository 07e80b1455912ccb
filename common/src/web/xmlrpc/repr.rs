//! Values shown as Python's `repr` shows what `xmlrpc.client` reads (with its built-in types):
//! `[1, 'two', 3.5, True, None]`, `{'k': b'bytes'}`, `datetime.datetime(2026, 1, 2, 3, 4, 5)`.
//! For people who know Python, and for comparing with a Python client's output line for line.

use std::fmt::Write;

use super::Value;
use super::write::python_float;

/// `value` as Python's `repr` writes it.
///
/// Base64 values are shown as Python `bytes` and dates as `datetime.datetime` (what
/// `xmlrpc.client` gives with `use_builtin_types=True`); a date whose text is not the usual
/// `YYYYMMDDTHH:MM:SS` is shown as `<DateTime '...'>`, without the address Python adds.
pub fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    repr_into(&mut out, value);
    out
}

fn repr_into(out: &mut String, value: &Value) {
    match value {
        Value::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Value::Bool(truth) => out.push_str(if *truth { "True" } else { "False" }),
        Value::String(text) => str_repr(out, text),
        Value::Double(number) => out.push_str(&python_float(*number)),
        Value::DateTime(when) => match when.parts() {
            Some([year, month, day, hour, minute, second]) => {
                let _ = write!(
                    out,
                    "datetime.datetime({year}, {month}, {day}, {hour}, {minute}"
                );
                if second != 0 {
                    let _ = write!(out, ", {second}");
                }
                out.push(')');
            }
            None => {
                out.push_str("<DateTime ");
                str_repr(out, when.as_str());
                out.push('>');
            }
        },
        Value::Base64(bytes) => bytes_repr(out, bytes),
        Value::Array(values) => {
            out.push('[');
            for (index, element) in values.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                repr_into(out, element);
            }
            out.push(']');
        }
        Value::Struct(members) => {
            out.push('{');
            for (index, (name, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                str_repr(out, name);
                out.push_str(": ");
                repr_into(out, member);
            }
            out.push('}');
        }
        Value::Nil => out.push_str("None"),
    }
}

/// The quote Python picks: `'`, unless the text holds a `'` and no `"`.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

/// A `str` as Python shows it.
fn str_repr(out: &mut String, text: &str) {
    let quote = quote_for(text.contains('\''), text.contains('"'));
    out.push(quote);
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = c as u32;
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
    out.push(quote);
}

/// Whether Python prints `c` as it is in a `str`'s repr: not a control or format character, and
/// no blank other than the plain space. (Python also escapes unassigned code points, which this
/// does not know.)
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let format = matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    );
    let private = matches!(c, '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..);
    !(c.is_control() || c.is_whitespace() || format || private)
}

/// A `bytes` as Python shows it: printable ASCII as it is, the rest as escapes.
fn bytes_repr(out: &mut String, bytes: &[u8]) {
    let quote = quote_for(bytes.contains(&b'\''), bytes.contains(&b'"'));
    out.push('b');
    out.push(quote);
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote as u8 => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::xmlrpc::{DateTime, Struct};

    #[test]
    fn values_read_as_python_shows_them() {
        let members: Struct = [("k", Value::from("v"))].into_iter().collect();
        let value = Value::Array(vec![
            1.into(),
            "two".into(),
            Value::Array(vec![3.5.into(), true.into()]),
            members.into(),
            Value::Nil,
            Value::Base64(b"a'\x00\xff".to_vec()),
            DateTime::from_parts(2026, 1, 2, 3, 4, 0).into(),
            DateTime::from_parts(2026, 1, 2, 3, 4, 5).into(),
            DateTime::new("soon").into(),
        ]);
        assert_eq!(
            python_repr(&value),
            "[1, 'two', [3.5, True], {'k': 'v'}, None, b\"a'\\x00\\xff\", \
             datetime.datetime(2026, 1, 2, 3, 4), datetime.datetime(2026, 1, 2, 3, 4, 5), \
             <DateTime 'soon'>]"
        );
    }

    #[test]
    fn strings_pick_their_quotes_and_escape_as_python_does() {
        let cases = [
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("tab\there\nnew \\ line", "'tab\\there\\nnew \\\\ line'"),
            ("naïve café ☕", "'naïve café ☕'"),
            ("\u{7}\u{a0}\u{200b}", "'\\x07\\xa0\\u200b'"),
        ];
        for (text, expected) in cases {
            assert_eq!(python_repr(&text.into()), expected);
        }
    }
}
