//! Writing XML-RPC documents, byte for byte as Python's `xmlrpc.client.dumps` writes them (and so
//! as Twisted's XML-RPC server answers): the `<?xml version='1.0'?>` line with single quotes, one
//! element per line, `&`, `<` and `>` escaped in text, non-ASCII text as UTF-8, doubles as Python's
//! `repr`, base64 in lines of 76 characters.
//!
//! A value that XML-RPC cannot carry is refused with a [`MarshalError`] that words it as Python
//! does: `nil` where it is not allowed, an integer outside 32 bits.

use std::error::Error;
use std::fmt::{self, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Fault, Value};

/// The first line of every document.
const DECLARATION: &str = "<?xml version='1.0'?>\n";

/// Room for a whole small document from the start, so that writing one rarely reallocates.
const TYPICAL_SIZE: usize = 512;

/// How many base64 characters go on one line (Python's `base64.encodebytes`).
const BASE64_LINE: usize = 76;

/// A value that cannot be written as XML-RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarshalError {
    /// `nil` met by a writer that does not allow it.
    NilNotAllowed,
    /// An integer outside what `<int>` holds (32 bits, signed).
    IntTooLarge,
}

impl fmt::Display for MarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's words, which Twisted's answers carry after "Can't serialize output: ".
        f.write_str(match self {
            MarshalError::NilNotAllowed => "cannot marshal None unless allow_none is enabled",
            MarshalError::IntTooLarge => "int exceeds XML-RPC limits",
        })
    }
}

impl Error for MarshalError {}

/// The answer of a call that succeeded: a `methodResponse` holding `value`.
pub fn write_response(value: &Value, allow_nil: bool) -> Result<String, MarshalError> {
    let mut out = String::with_capacity(TYPICAL_SIZE);
    out.push_str(DECLARATION);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    write_value(&mut out, value, allow_nil)?;
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    Ok(out)
}

/// The answer of a call that failed: a `methodResponse` holding the fault.
pub fn write_fault(fault: &Fault) -> String {
    let mut out = String::with_capacity(TYPICAL_SIZE);
    out.push_str(DECLARATION);
    out.push_str("<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n");
    let _ = write!(out, "<value><int>{}", fault.code);
    out.push_str("</int></value>\n</member>\n<member>\n<name>faultString</name>\n");
    out.push_str("<value><string>");
    escape_into(&mut out, &fault.string);
    out.push_str("</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n");
    out
}

/// A call of `method` with `params`: a `methodCall` (the method's name is escaped, where Python
/// writes it as it is).
pub fn write_call(method: &str, params: &[Value], allow_nil: bool) -> Result<String, MarshalError> {
    let mut out = String::with_capacity(TYPICAL_SIZE);
    out.push_str(DECLARATION);
    out.push_str("<methodCall>\n<methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName>\n<params>\n");
    for param in params {
        out.push_str("<param>\n");
        write_value(&mut out, param, allow_nil)?;
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    Ok(out)
}

/// Writes one `<value>` and its newline (none after `nil`: Python writes none there).
pub fn write_value(out: &mut String, value: &Value, allow_nil: bool) -> Result<(), MarshalError> {
    match value {
        Value::Int(number) => {
            if i32::try_from(*number).is_err() {
                return Err(MarshalError::IntTooLarge);
            }
            // Writing to a String cannot fail.
            let _ = writeln!(out, "<value><int>{number}</int></value>");
        }
        Value::Bool(truth) => {
            out.push_str(if *truth {
                "<value><boolean>1</boolean></value>\n"
            } else {
                "<value><boolean>0</boolean></value>\n"
            });
        }
        Value::String(text) => {
            out.push_str("<value><string>");
            escape_into(out, text);
            out.push_str("</string></value>\n");
        }
        Value::Double(number) => {
            out.push_str("<value><double>");
            push_python_float(out, *number);
            out.push_str("</double></value>\n");
        }
        Value::DateTime(when) => {
            out.push_str("<value><dateTime.iso8601>");
            escape_into(out, when.as_str());
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(bytes) => {
            out.push_str("<value><base64>\n");
            let encoded = STANDARD.encode(bytes);
            for line in encoded.as_bytes().chunks(BASE64_LINE) {
                // Base64 is ASCII: each chunk is whole characters.
                out.push_str(std::str::from_utf8(line).unwrap_or_default());
                out.push('\n');
            }
            out.push_str("</base64></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (name, member) in members.iter() {
                out.push_str("<member>\n<name>");
                escape_into(out, name);
                out.push_str("</name>\n");
                write_value(out, member, allow_nil)?;
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
        Value::Array(values) => {
            out.push_str("<value><array><data>\n");
            for element in values {
                write_value(out, element, allow_nil)?;
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Nil => {
            if !allow_nil {
                return Err(MarshalError::NilNotAllowed);
            }
            out.push_str("<value><nil/></value>");
        }
    }
    Ok(())
}

/// Appends `text` with the three characters that could be taken for markup escaped.
fn escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest
        .bytes()
        .position(|byte| matches!(byte, b'&' | b'<' | b'>'))
    {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A float as Python's `repr` writes it: the shortest digits that read back as the same number,
/// in positional form while the decimal point falls within 16 digits of them (`0.0001`,
/// `1234567890123456.0`), in exponent form beyond (`1e-05`, `1e+16`); `inf`, `-inf`, `nan`.
pub fn python_float(number: f64) -> String {
    let mut text = String::new();
    push_python_float(&mut text, number);
    text
}

/// [`python_float`], appended to `text`.
fn push_python_float(text: &mut String, number: f64) {
    if number.is_nan() {
        return text.push_str("nan");
    }
    if number.is_infinite() {
        return text.push_str(if number > 0.0 { "inf" } else { "-inf" });
    }
    // Rust's `{:e}` gives the same shortest digits: `-1.5e-5`, `0e0`, `1e16`.
    let scientific = format!("{number:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if let Some(positive) = mantissa.strip_prefix('-') {
        text.push('-');
        return push_positional_or_not(text, positive, exponent);
    }
    push_positional_or_not(text, mantissa, exponent);
}

/// Writes the digits of `mantissa` (`d` or `d.ddd`) times ten to the `exponent`, as Python's repr
/// would.
fn push_positional_or_not(text: &mut String, mantissa: &str, exponent: i32) {
    let (first, rest) = mantissa.split_at(1);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let count = 1 + rest.len();
    let digits = || first.chars().chain(rest.chars());
    // Where the decimal point goes, counted from the left of the digits.
    let point = exponent + 1;
    if point > -4 && point <= 16 {
        if point <= 0 {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            text.extend(digits());
        } else if point as usize >= count {
            text.extend(digits());
            text.extend(std::iter::repeat_n('0', point as usize - count));
            text.push_str(".0");
        } else {
            text.extend(digits().take(point as usize));
            text.push('.');
            text.extend(digits().skip(point as usize));
        }
    } else {
        text.push_str(first);
        if !rest.is_empty() {
            text.push('.');
            text.push_str(rest);
        }
        let _ = write!(text, "e{exponent:+03}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_as_pythons_repr() {
        let cases = [
            (3.5, "3.5"),
            (0.1, "0.1"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.25e-7, "-1.25e-07"),
            (1e100, "1e+100"),
            (123.456, "123.456"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (number, expected) in cases {
            assert_eq!(python_float(number), expected, "{number:?}");
        }
    }

    #[test]
    fn text_is_escaped_as_python_escapes_it() {
        let mut out = String::new();
        escape_into(&mut out, "a<&>b \"c\" 'd' é");
        assert_eq!(out, "a&lt;&amp;&gt;b \"c\" 'd' é");
    }

    #[test]
    fn base64_goes_in_lines_of_76() {
        let mut out = String::new();
        write_value(&mut out, &Value::Base64(b"abc".repeat(30)), false).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "<value><base64>");
        assert_eq!(lines[1].len(), 76);
        assert_eq!(lines[2].len(), 44);
        assert_eq!(lines[3], "</base64></value>");
        let mut empty = String::new();
        write_value(&mut empty, &Value::Base64(Vec::new()), false).unwrap();
        assert_eq!(empty, "<value><base64>\n</base64></value>\n");
    }

    #[test]
    fn what_xml_rpc_cannot_carry_is_refused_in_pythons_words() {
        let mut out = String::new();
        let nil = write_value(&mut out, &Value::Nil, false).unwrap_err();
        assert_eq!(
            nil.to_string(),
            "cannot marshal None unless allow_none is enabled"
        );
        let big = write_value(&mut out, &Value::Int(1 << 31), false).unwrap_err();
        assert_eq!(big.to_string(), "int exceeds XML-RPC limits");
        write_value(&mut out, &Value::Int(-(1 << 31)), false).unwrap();
        let mut allowed = String::new();
        write_value(&mut allowed, &Value::Nil, true).unwrap();
        assert_eq!(allowed, "<value><nil/></value>");
    }

    #[test]
    fn a_fault_is_the_struct_twisted_sends() {
        assert_eq!(
            write_fault(&Fault::new(7, "Out of cheese.")),
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n\
             <name>faultCode</name>\n<value><int>7</int></value>\n</member>\n<member>\n\
             <name>faultString</name>\n<value><string>Out of cheese.</string></value>\n</member>\n\
             </struct></value>\n</fault>\n</methodResponse>\n"
        );
    }
}
