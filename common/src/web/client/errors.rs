//! How an HTTP request can fail, one error type per way, as `twisted.web` has one exception class
//! per way: an errback can then trap the one it knows how to handle (`failure.trap::<HttpError>()`)
//! and pass the others on.
//!
//! A connection that cannot be made fails with the reactor's own [`ConnectError`], so that a
//! refused connection reads the same whether a Protocol or the HTTP client met it:
//! `Connection was refused by other side: 111: Connection refused.`

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

use bytes::Bytes;

use crate::cli::output::plain_error;
use crate::defer::Failure;
use crate::protocol::ConnectError;

/// The server answered with a status that is neither a success (2xx) nor a redirect that was
/// followed: Twisted's `twisted.web.error.Error`. It prints as Twisted's does, `404 Not Found`, and
/// keeps what a program may want to look at: the status and the body of the answer (an API's error
/// message is often in the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The status code: 404.
    pub status: u16,
    /// The status's reason phrase: `Not Found` (empty for a code HTTP does not name).
    pub phrase: String,
    /// The body of the answer, up to the agent's body size limit (empty if it could not be read).
    pub body: Bytes,
    /// The URL that gave this answer, after any redirects.
    pub url: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.phrase.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} {}", self.status, self.phrase)
        }
    }
}

impl Error for HttpError {}

/// Redirects went on past the limit (20 by default, as getPage's): Twisted's
/// `InfiniteRedirection`. Two pages that redirect to each other end here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfiniteRedirection {
    /// The status of the redirect that was one too many: 301, 302...
    pub status: u16,
    /// Where that redirect pointed.
    pub location: String,
}

impl fmt::Display for InfiniteRedirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Infinite redirection detected to {}",
            self.status, self.location
        )
    }
}

impl Error for InfiniteRedirection {}

/// The request took longer than the timeout it was given: getPage's `TimeoutError`, worded as
/// Twisted words it (`Getting http://... took longer than 5 seconds.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutError {
    /// The URL asked for.
    pub url: String,
    /// The timeout.
    pub after: Duration,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Seconds as Python prints the number it was given: `5`, `0.5`.
        write!(
            f,
            "Getting {} took longer than {} seconds.",
            self.url,
            self.after.as_secs_f64()
        )
    }
}

impl Error for TimeoutError {}

/// The body of an answer is larger than the agent reads whole. The server decides how much it
/// sends; without a limit, one answer could fill the client's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body is larger than the limit of {} bytes",
            self.limit
        )
    }
}

impl Error for BodyTooLarge {}

/// The connection was made but no proper answer came: it broke in the middle, the peer does not
/// speak HTTP, the body was shorter than announced. Twisted's `ResponseFailed`, with the cause in
/// words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFailed(pub String);

impl fmt::Display for ResponseFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for ResponseFailed {}

/// The request could not even be written: a URL that does not parse or names a scheme other than
/// `http` and `https`, a method or header that HTTP does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRequest(pub String);

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for InvalidRequest {}

/// The one-line `Type: message` form of a failure, as the programs print an error nobody handled
/// (`Unhandled error in Deferred:` and then this line, where Twisted prints a traceback).
///
/// The type is the error type's short name, except for connection errors, which take Twisted's
/// names (`ConnectionRefusedError`, `DNSLookupError`, `TimeoutError`) as the rest of the project
/// prints them: `ConnectionRefusedError: Connection was refused by other side: 111: Connection
/// refused.`, `HttpError: 404 Not Found`.
pub fn error_line(failure: &Failure) -> String {
    let kind = match failure.downcast_ref::<ConnectError>() {
        Some(error) => error.kind_name(),
        None => failure.short_type_name(),
    };
    format!("{kind}: {}", failure.error())
}

/// Turns an error of reqwest into the failure of our own type that says what happened.
///
/// `url` and `timeout` are the request's, for the words of a timeout.
#[track_caller]
pub(crate) fn failure_of(error: &reqwest::Error, url: &str, timeout: Option<Duration>) -> Failure {
    if error.is_timeout() {
        return Failure::new(TimeoutError {
            url: url.to_owned(),
            after: timeout.unwrap_or_default(),
        });
    }
    if let Some(redirection) = find::<InfiniteRedirection>(error) {
        return Failure::new(redirection.clone());
    }
    if error.is_connect() {
        return Failure::new(connect_error(error, url));
    }
    if error.is_builder() {
        return Failure::new(InvalidRequest(innermost(error)));
    }
    Failure::new(ResponseFailed(innermost(error)))
}

/// The reactor's connection error for a connection that could not be made, from the system's error
/// deep inside reqwest's.
fn connect_error(error: &reqwest::Error, url: &str) -> ConnectError {
    let io_error = find::<io::Error>(error);
    if error.is_dns() {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let detail = io_error.map_or_else(|| innermost(error), plain_error);
        return ConnectError::DnsLookup {
            host,
            error: detail,
        };
    }
    match io_error {
        Some(io_error) => ConnectError::from_io(io_error),
        None => ConnectError::Other(innermost(error)),
    }
}

/// The first error of type `E` in the chain of sources of `error`.
fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// The message of the deepest error in the chain: the cause itself (`connection closed before
/// message completed`), without reqwest's wrapping (`error sending request for url (...)`).
fn innermost(error: &(dyn Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    match deepest.downcast_ref::<io::Error>() {
        Some(io_error) => plain_error(io_error),
        None => deepest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_twisted_words_them() {
        let not_found = HttpError {
            status: 404,
            phrase: "Not Found".into(),
            body: Bytes::from_static(b"nothing here"),
            url: "http://localhost/x".into(),
        };
        assert_eq!(not_found.to_string(), "404 Not Found");
        let unnamed = HttpError {
            phrase: String::new(),
            status: 599,
            ..not_found.clone()
        };
        assert_eq!(unnamed.to_string(), "599");
        let looping = InfiniteRedirection {
            status: 302,
            location: "http://localhost/a".into(),
        };
        assert_eq!(
            looping.to_string(),
            "302 Infinite redirection detected to http://localhost/a"
        );
        let late = TimeoutError {
            url: "http://localhost/".into(),
            after: Duration::from_millis(500),
        };
        assert_eq!(
            late.to_string(),
            "Getting http://localhost/ took longer than 0.5 seconds."
        );
    }

    #[test]
    fn error_lines_name_connection_errors_as_twisted_does() {
        let refused = Failure::new(ConnectError::Refused);
        assert_eq!(
            error_line(&refused),
            "ConnectionRefusedError: Connection was refused by other side: 111: Connection refused."
        );
        let status = Failure::new(HttpError {
            status: 500,
            phrase: "Internal Server Error".into(),
            body: Bytes::new(),
            url: String::new(),
        });
        assert_eq!(error_line(&status), "HttpError: 500 Internal Server Error");
    }
}
