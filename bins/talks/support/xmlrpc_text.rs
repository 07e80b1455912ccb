//! XML-RPC values from and to the text of a command line: `xmlrpc-call`'s arguments, typed from
//! how they look, and its answer, printed as JSON.
//!
//! Included by `xmlrpc-call` with `#[path]`; not a program itself.

use common::web::xmlrpc::{Struct, Value, python_float};

/// An argument typed from its text, as a person would read it:
///
/// * `42`, `-7`: an int (it must fit in 32 bits, XML-RPC's int);
/// * `4.2`, `1e-3`: a double;
/// * `true`, `false`: a boolean; `null`: nil;
/// * `"quoted text"`: a string, read as a JSON string (so `"42"` is text, and `"\n"` a newline);
/// * `[...]` and `{...}`: JSON, for arrays and structs (JSON's numbers as ints or doubles, its
///   `null` as nil);
/// * anything else: the text itself, as a string.
pub fn typed_arg(text: &str) -> Result<Value, String> {
    match text {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" => return Ok(Value::Nil),
        _ => {}
    }
    if text.starts_with(['[', '{', '"']) {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|error| format!("'{text}' is not valid JSON: {error}"))?;
        return from_json(&json);
    }
    if let Ok(number) = text.parse::<i64>() {
        return int(number, text);
    }
    let looks_numeric = text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
        && text.chars().any(|c| c.is_ascii_digit())
        && !text.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E');
    if looks_numeric && let Ok(number) = text.parse::<f64>() {
        return Ok(Value::Double(number));
    }
    Ok(Value::String(text.to_owned()))
}

/// An int, if it fits in XML-RPC's 32 bits.
fn int(number: i64, text: &str) -> Result<Value, String> {
    if i32::try_from(number).is_ok() {
        Ok(Value::Int(number))
    } else {
        Err(format!(
            "{text} does not fit in an XML-RPC int (32 bits): write {text}.0 for a double, or \
             '\"{text}\"' for text"
        ))
    }
}

/// A JSON value as an XML-RPC one.
fn from_json(json: &serde_json::Value) -> Result<Value, String> {
    Ok(match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(truth) => Value::Bool(*truth),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(whole) => int(whole, &number.to_string())?,
            None => Value::Double(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::String(text.clone()),
        serde_json::Value::Array(elements) => {
            Value::Array(elements.iter().map(from_json).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(members) => {
            let mut built = Struct::new();
            for (name, member) in members {
                built.insert(name.as_str(), from_json(member)?);
            }
            Value::Struct(built)
        }
    })
}

/// A value as one line of JSON, spaced as Python's `json.dumps` spaces it: `[1, "two", {"k":
/// true}]`. Dates are their text, base64 values their base64 text; a double that JSON cannot
/// write (infinite, not a number) is `null`.
pub fn json_line(value: &Value) -> String {
    let mut out = String::new();
    json_into(&mut out, value);
    out
}

fn json_into(out: &mut String, value: &Value) {
    match value {
        Value::Int(number) => out.push_str(&number.to_string()),
        Value::Bool(truth) => out.push_str(if *truth { "true" } else { "false" }),
        Value::String(text) => json_string(out, text),
        Value::Double(number) if number.is_finite() => out.push_str(&python_float(*number)),
        Value::Double(_) | Value::Nil => out.push_str("null"),
        Value::DateTime(when) => json_string(out, when.as_str()),
        Value::Base64(bytes) => {
            use base64::Engine;
            json_string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(bytes),
            );
        }
        Value::Array(elements) => {
            out.push('[');
            for (index, element) in elements.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                json_into(out, element);
            }
            out.push(']');
        }
        Value::Struct(members) => {
            out.push('{');
            for (index, (name, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                json_string(out, name);
                out.push_str(": ");
                json_into(out, member);
            }
            out.push('}');
        }
    }
}

/// A JSON string, escaped by serde_json (which cannot fail on a `str`).
fn json_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::web::xmlrpc::DateTime;

    #[test]
    fn arguments_are_typed_from_their_text() {
        let members: Struct = [("k", Value::from("v")), ("a", Value::Int(1))]
            .into_iter()
            .collect();
        let cases = [
            ("42", Value::Int(42)),
            ("-7", Value::Int(-7)),
            ("4.2", Value::Double(4.2)),
            ("-1e-3", Value::Double(-0.001)),
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Nil),
            ("\"42\"", Value::from("42")),
            ("\"two words\\n\"", Value::from("two words\n")),
            ("two words", Value::from("two words")),
            ("inf", Value::from("inf")),
            ("1.2.3", Value::from("1.2.3")),
            ("e5", Value::from("e5")),
            ("", Value::from("")),
            (
                "[1, 2.5, \"x\", null, [true]]",
                Value::Array(vec![
                    1.into(),
                    2.5.into(),
                    "x".into(),
                    Value::Nil,
                    Value::Array(vec![true.into()]),
                ]),
            ),
            ("{\"k\": \"v\", \"a\": 1}", members.into()),
        ];
        for (text, expected) in cases {
            assert_eq!(typed_arg(text), Ok(expected), "{text}");
        }
        assert!(
            typed_arg("[1, 2")
                .unwrap_err()
                .starts_with("'[1, 2' is not valid JSON")
        );
        assert!(typed_arg("4294967296").unwrap_err().contains("32 bits"));
        assert!(typed_arg("[4294967296]").is_err());
    }

    #[test]
    fn answers_print_as_one_line_of_json() {
        let members: Struct = [("k", Value::from("v\"")), ("n", Value::Nil)]
            .into_iter()
            .collect();
        let value = Value::Array(vec![
            1.into(),
            "two é".into(),
            Value::Array(vec![3.5.into(), true.into()]),
            members.into(),
            Value::Base64(b"abc".to_vec()),
            DateTime::from_parts(2026, 1, 2, 3, 4, 5).into(),
            Value::Double(1e16),
            Value::Double(f64::INFINITY),
        ]);
        assert_eq!(
            json_line(&value),
            "[1, \"two é\", [3.5, true], {\"k\": \"v\\\"\", \"n\": null}, \"YWJj\", \
             \"20260102T03:04:05\", 1e+16, null]"
        );
    }
}
