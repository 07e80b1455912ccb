//! `urllib2.urlopen(url).read()` for the blocking proxy (`url-proxy-1` includes this file with
//! `#[path]`): a page fetched by a call that returns only once the whole body is in, the calling
//! thread (the reactor's, in that proxy) waiting meanwhile.
//!
//! The client is ureq, which does its work on the caller's thread with std's blocking sockets, as
//! urllib2 does. (The project's own [`BlockingAgent`] parks the thread while a runtime of its own
//! does the work, and reqwest, beneath it, refuses to do that inside a tokio runtime in debug
//! builds: the reactor's thread is one.) The rules are urllib2's, which ureq's defaults happen to
//! be: redirects followed, ten at most; a status of 400 or more is an error. Errors are turned into
//! the same types as getPage's, so that the four proxies report a failure in the same words.
//!
//! [`BlockingAgent`]: common::web::client::blocking::BlockingAgent

use std::io;
use std::time::Duration;

use common::cli::output::plain_error;
use common::defer::Failure;
use common::protocol::ConnectError;
use common::web::client::{
    BodyTooLarge, DEFAULT_MAX_BODY_SIZE, HttpError, InvalidRequest, ResponseFailed, TimeoutError,
    USER_AGENT,
};

/// A blocking HTTP client with a timeout (none unless asked) and a limit on the body it reads.
pub(crate) struct UrlOpener {
    agent: ureq::Agent,
    timeout: Option<Duration>,
}

impl UrlOpener {
    /// A client that gives up on a page after `timeout`, if there is one.
    pub(crate) fn new(timeout: Option<Duration>) -> UrlOpener {
        let config = ureq::Agent::config_builder()
            .timeout_global(timeout)
            .user_agent(USER_AGENT)
            .build();
        UrlOpener {
            agent: config.into(),
            timeout,
        }
    }

    /// Fetches `url` and returns its body, blocking the thread until it is all in.
    pub(crate) fn read(&self, url: &str) -> Result<Vec<u8>, Failure> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|error| self.failure(error, url))?;
        response
            .body_mut()
            .with_config()
            .limit(DEFAULT_MAX_BODY_SIZE as u64)
            .read_to_vec()
            .map_err(|error| self.failure(error, url))
    }

    /// ureq's error as the failure getPage would have met.
    fn failure(&self, error: ureq::Error, url: &str) -> Failure {
        match error {
            ureq::Error::StatusCode(status) => {
                let phrase = http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|status| status.canonical_reason())
                    .unwrap_or("");
                Failure::new(HttpError {
                    status,
                    phrase: phrase.to_owned(),
                    body: Default::default(),
                    url: url.to_owned(),
                })
            }
            ureq::Error::Timeout(_) => Failure::new(TimeoutError {
                url: url.to_owned(),
                after: self.timeout.unwrap_or_default(),
            }),
            ureq::Error::HostNotFound => Failure::new(ConnectError::DnsLookup {
                host: host_of(url),
                error: "no address for this name".to_owned(),
            }),
            ureq::Error::Io(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                Failure::new(ConnectError::Refused)
            }
            ureq::Error::Io(error) => Failure::new(ResponseFailed(plain_error(&error))),
            ureq::Error::BodyExceedsLimit(_) => Failure::new(BodyTooLarge {
                limit: DEFAULT_MAX_BODY_SIZE,
            }),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
                Failure::new(InvalidRequest(error.to_string()))
            }
            other => Failure::new(ResponseFailed(other.to_string())),
        }
    }
}

/// The host part of a URL, for the words of a failed name lookup: `example.com` in
/// `http://example.com:8080/page`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
        _ => host_port.to_owned(),
    }
}
