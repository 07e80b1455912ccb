//! Turning bytes and strings into text for the log and for the API's JSON, the way the talk's
//! Python did it, minus its accidents.
//!
//! * [`log_text`]: a chunk that a chat user sent, as the log shows it. The original decoded it as
//!   UTF-8 (invalid bytes as `\xNN`) and then, by mistake, used it as a format string, so a message
//!   with braces was never logged. Here every byte shows up: text as text, broken UTF-8 and
//!   terminal control characters as `\xNN`.
//! * [`json_string`]: a string as Python's `json.dumps` writes it by default (`ensure_ascii`):
//!   pure ASCII, everything else as `\uXXXX`. The API's answers are byte for byte the original's.

/// `data` as a line of the log: UTF-8 text kept as it is, line ends kept (the log indents what
/// follows a newline), and everything that could garble a terminal or is not text at all written
/// as `\xNN`.
pub fn log_text(data: &[u8]) -> String {
    let mut text = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\r' | '\t' => text.push(c),
                // C0 controls (NUL, ESC...), DEL, and the C1 controls of Unicode.
                c if c.is_control() => push_escaped_char(&mut text, c),
                c => text.push(c),
            }
        }
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// A control character as Python's `repr` shows it: `\x1b`, `\x7f`, `\x85`.
fn push_escaped_char(text: &mut String, c: char) {
    text.push_str(&format!("\\x{:02x}", u32::from(c)));
}

/// `text` as a JSON string, quotes included, as Python's `json.dumps` writes it: the two-letter
/// escapes for `"`, `\`, newline, return, tab, backspace and form feed, `\u00XX` for the other
/// control characters, and `\uXXXX` (a surrogate pair beyond the first plane) for anything that
/// is not ASCII.
pub fn json_string(text: &str) -> String {
    let mut json = String::with_capacity(text.len() + 2);
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            '\u{8}' => json.push_str("\\b"),
            '\u{c}' => json.push_str("\\f"),
            ' '..='\u{7f}' => json.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    json.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    json.push('"');
    json
}

/// A JSON object of one key, as the API's GET answers write it (`json.dumps(..., indent=4,
/// separators=(',', ': ')) + "\n"`): `{\n    "users": 3\n}\n`.
pub fn pretty_object(key: &str, value_json: &str) -> String {
    format!("{{\n    {}: {value_json}\n}}\n", json_string(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_text_and_escapes_the_rest() {
        assert_eq!(log_text(b"hi all\n"), "hi all\n");
        assert_eq!(log_text("café ☺\r\n".as_bytes()), "café ☺\r\n");
        assert_eq!(
            log_text(b"json {\"k\": 1} and {name}"),
            "json {\"k\": 1} and {name}"
        );
        assert_eq!(
            log_text(b"\xff\x00a\x1b[2J\x7f"),
            "\\xff\\x00a\\x1b[2J\\x7f"
        );
        assert_eq!(log_text("\u{85}".as_bytes()), "\\x85");
        // A UTF-8 sequence cut short is invalid bytes, each escaped.
        assert_eq!(log_text(b"caf\xc3"), "caf\\xc3");
    }

    #[test]
    fn json_strings_are_pythons() {
        assert_eq!(
            json_string("Welcome to NetCatChat!\r\n"),
            r#""Welcome to NetCatChat!\r\n""#
        );
        assert_eq!(json_string("Café ☺"), r#""Caf\u00e9 \u263a""#);
        assert_eq!(json_string("𝄞"), r#""\ud834\udd1e""#);
        assert_eq!(
            json_string("\"\\\t\u{8}\u{c}\u{1}\u{7f}"),
            "\"\\\"\\\\\\t\\b\\f\\u0001\u{7f}\""
        );
    }

    #[test]
    fn the_default_banner_answer_is_47_bytes() {
        let body = pretty_object("banner", &json_string("Welcome to NetCatChat!\r\n"));
        assert_eq!(
            body,
            "{\n    \"banner\": \"Welcome to NetCatChat!\\r\\n\"\n}\n"
        );
        assert_eq!(body.len(), 47);
        assert_eq!(pretty_object("users", "3").len(), 19);
    }
}
