//! The access log: one line per finished request, in the "combined" format Twisted's `Site` logs
//! (and Apache's before it):
//!
//! `"127.0.0.1" - - [28/Nov/2026:18:50:03 +0000] "GET /users/ HTTP/1.1" 200 19 "-" "curl/7.88.1"`
//!
//! Like every log entry it goes nowhere until logging is started; a site whose program logs gets
//! it for free.

use std::time::SystemTime;

use http::Version;

use super::Request;
use crate::log;
use crate::protocol::Address;

/// Logs `request`'s line, if logging is on.
pub(crate) fn log_access(request: &Request) {
    if log::is_logging() {
        log::msg(access_line(request, SystemTime::now()));
    }
}

/// The combined-format line of `request`, finished at `at`.
fn access_line(request: &Request, at: SystemTime) -> String {
    let client = match request.client_address() {
        Address::Tcp(address) => address.ip().to_string(),
        Address::Unix(_) => "-".to_owned(),
    };
    let version = match request.version() {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_09 => "HTTP/0.9",
        _ => "HTTP/1.1",
    };
    let sent = match request.sent() {
        0 => "-".to_owned(),
        count => count.to_string(),
    };
    let header = |name| quoted(request.header(name).unwrap_or("-"));
    format!(
        "\"{client}\" - - [{}] \"{} {} {version}\" {} {sent} \"{}\" \"{}\"",
        log_date(at),
        request.method(),
        quoted(request.uri()),
        request.response_code().as_u16(),
        header("referer"),
        header("user-agent"),
    )
}

/// A field as it may stand between double quotes: its own quotes escaped.
fn quoted(field: &str) -> String {
    field.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `28/Nov/2026:18:50:03 +0000`: the date of an access line, in UTC.
fn log_date(at: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // humantime gives `2026-11-28T18:50:03Z`; the log wants the fields in another order.
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    let (year, month, day) = (&stamp[0..4], &stamp[5..7], &stamp[8..10]);
    let month = month
        .parse::<usize>()
        .ok()
        .and_then(|number| MONTHS.get(number.wrapping_sub(1)))
        .unwrap_or(&"Jan");
    format!("{day}/{month}/{year}:{} +0000", &stamp[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_read_as_twisteds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_892_203);
        assert_eq!(log_date(at), "28/Nov/2026:18:56:43 +0000");
    }

    #[test]
    fn quotes_in_fields_are_escaped() {
        assert_eq!(quoted(r#"a"b"#), r#"a\"b"#);
    }
}
