//! Python's `repr()` of a byte string, which Twisted's error texts quote (`Invalid Type Byte b'\x88'`)
//! and which programs print for received values.

/// Writes `bytes` the way Python's `repr(b"...")` does: single quotes unless the bytes contain a
/// single quote and no double quote, `\t` `\n` `\r` `\\` and the chosen quote escaped, other bytes
/// outside printable ASCII as `\xhh`.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\\' => out.push_str("\\\\"),
            _ if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Writes `text` the way Python's `repr(str)` does for the common cases: quotes chosen as for
/// bytes, control characters escaped, every other character (including non-ASCII) as itself.
pub(crate) fn text_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            _ => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"abc"), "b'abc'");
        assert_eq!(bytes_repr(b"\x88"), "b'\\x88'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"'\""), "b'\\'\"'");
        assert_eq!(bytes_repr(b"a\nb\\"), "b'a\\nb\\\\'");
    }

    #[test]
    fn text_repr_matches_python() {
        assert_eq!(text_repr("hello world"), "'hello world'");
        assert_eq!(text_repr("unicode é"), "'unicode é'");
        assert_eq!(text_repr("it's"), "\"it's\"");
    }
}
