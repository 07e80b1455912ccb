//! Tests of Banana and Jelly: the measured vectors (`vectors`), Twisted's own test cases as
//! behaviour (`banana`, `jelly`), and arbitrary bytes that must never panic (`fuzz`).

mod banana;
mod fuzz;
mod jelly;
mod vectors;

use super::banana::{Decoder, Dialect, Item};
use super::jelly::display::float_repr;

/// Bytes from hex digits (the vectors' notation).
pub(super) fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// An item in the vectors' s-expression notation: lists in parentheses, byte strings in double
/// quotes with C-style escapes, numbers as Python prints them.
pub(super) fn sexp(item: &Item) -> String {
    let mut out = String::new();
    write_sexp(item, &mut out);
    out
}

fn write_sexp(item: &Item, out: &mut String) {
    match item {
        Item::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_sexp(item, out);
            }
            out.push(')');
        }
        Item::Int(n) => out.push_str(&n.to_string()),
        Item::Float(x) => out.push_str(&float_repr(*x)),
        Item::Bytes(bytes) => {
            out.push('"');
            for &b in bytes {
                match b {
                    b'\n' => out.push_str("\\n"),
                    b'"' => out.push_str("\\\""),
                    b'\\' => out.push_str("\\\\"),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\x{b:02x}")),
                }
            }
            out.push('"');
        }
    }
}

/// Every expression `bytes` holds, decoded whole in `dialect`; panics on an error or a leftover.
pub(super) fn decode_all(bytes: &[u8], dialect: Dialect) -> Vec<Item> {
    let mut decoder = Decoder::new();
    decoder.set_dialect(dialect);
    decoder.feed(bytes);
    let mut items = Vec::new();
    while let Some(item) = decoder.next_item() {
        items.push(item.expect("valid input"));
    }
    assert_eq!(decoder.buffered(), 0, "bytes left over");
    items
}

/// The same, fed one byte at a time and asking for items after each byte.
pub(super) fn decode_bytewise(bytes: &[u8], dialect: Dialect) -> Vec<Item> {
    let mut decoder = Decoder::new();
    decoder.set_dialect(dialect);
    let mut items = Vec::new();
    for &b in bytes {
        decoder.feed(&[b]);
        while let Some(item) = decoder.next_item() {
            items.push(item.expect("valid input"));
        }
    }
    assert_eq!(decoder.buffered(), 0, "bytes left over");
    items
}

/// The first error decoding `bytes` gives, whole or (if `bytewise`) one byte at a time.
pub(super) fn decode_error(bytes: &[u8], dialect: Dialect, bytewise: bool) -> String {
    let mut decoder = Decoder::new();
    decoder.set_dialect(dialect);
    let chunks: Vec<&[u8]> = if bytewise {
        bytes.chunks(1).collect()
    } else {
        vec![bytes]
    };
    for chunk in chunks {
        decoder.feed(chunk);
        while let Some(item) = decoder.next_item() {
            if let Err(error) = item {
                return error.to_string();
            }
        }
    }
    panic!("no error decoding {bytes:02x?}");
}
