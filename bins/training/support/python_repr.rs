//! Python 2's `repr` of byte strings and of tuples of them, for the training's programs that print
//! their results as the originals' `print` of a list or a tuple did.
//!
//! Included with `#[path]` by `simpleclient-4-ex` and `txmemcached`; not a program itself.

#![allow(dead_code)] // not every program prints pairs

/// A byte string as Python 2's `repr` writes it: in single quotes (double quotes when it holds a
/// single quote and no double quote), with `\\`, `\n`, `\r`, `\t` and `\xNN` for every other byte
/// that is not printable ASCII: `'Hi! Send me text to convert to uppercase\nA\r\n'`.
pub fn python_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut repr = String::with_capacity(bytes.len() + 2);
    repr.push(quote);
    for &byte in bytes {
        match byte {
            b'\\' => repr.push_str("\\\\"),
            b'\n' => repr.push_str("\\n"),
            b'\r' => repr.push_str("\\r"),
            b'\t' => repr.push_str("\\t"),
            _ if char::from(byte) == quote => {
                repr.push('\\');
                repr.push(quote);
            }
            b' '..=b'~' => repr.push(char::from(byte)),
            _ => repr.push_str(&format!("\\x{byte:02x}")),
        }
    }
    repr.push(quote);
    repr
}

/// A tuple of two byte strings as Python 2's `repr` writes it: `('a', 'A\r\n')`.
pub fn python_pair_repr(first: &[u8], second: &[u8]) -> String {
    format!("({}, {})", python_repr(first), python_repr(second))
}

// These run with the unit tests of each program that includes this file.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_quote_and_escape_as_python_2() {
        assert_eq!(python_repr(b"a"), "'a'");
        assert_eq!(
            python_repr(b"Hi! Send me text to convert to uppercase\nA\r\n"),
            "'Hi! Send me text to convert to uppercase\\nA\\r\\n'"
        );
        assert_eq!(python_repr(b"don't"), "\"don't\"");
        assert_eq!(python_repr(b"'\""), "'\\'\"'");
        assert_eq!(python_repr(b"tab\there \\"), "'tab\\there \\\\'");
        assert_eq!(
            python_repr(b"caf\xc3\xa9\x00\x7f"),
            "'caf\\xc3\\xa9\\x00\\x7f'"
        );
        assert_eq!(python_repr(b""), "''");
    }

    #[test]
    fn pairs_are_tuples() {
        assert_eq!(python_pair_repr(b"a", b"A\r\n"), "('a', 'A\\r\\n')");
    }
}
