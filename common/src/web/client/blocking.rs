//! Fetching a page without a reactor: the thread waits for the answer, as with Python's
//! `urllib2.urlopen(url).read()` in talk 001's first slides ("An example", "Lets handle some
//! errors"), before the talk shows the same with Twisted.
//!
//! The rules are getPage's (2xx is a success, redirects followed, other statuses fail with
//! [`HttpError`]), and so are the errors, so that the blocking and the
//! asynchronous programs can be compared line for line. Errors come as [`Failure`]s for that reason
//! too, though no Deferred is involved.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;

use super::errors::{BodyTooLarge, HttpError, ResponseFailed, failure_of};
use super::{AgentBuilder, InvalidRequest, Request, http_method};
use crate::cli::output::plain_error;
use crate::defer::Failure;

/// An HTTP client that blocks the calling thread until each answer is in.
///
/// Made from the same [`AgentBuilder`] as an [`Agent`](super::Agent), with
/// [`BlockingAgent::new`]. It must not be used on a reactor's thread (it would stop everything
/// else, which is the very point talk 001 makes about blocking calls); in debug builds reqwest
/// panics there, inside the reactor's tokio runtime. A program that blocks its reactor on purpose
/// (the training's `url-proxy-1`) needs a client that blocks on its own sockets.
#[derive(Debug, Clone)]
pub struct BlockingAgent {
    client: reqwest::blocking::Client,
    timeout: Option<Duration>,
    max_body_size: usize,
}

impl BlockingAgent {
    /// The agent the settings describe.
    pub fn new(settings: AgentBuilder) -> Result<BlockingAgent, Failure> {
        let client = settings
            .configure(reqwest::blocking::Client::builder(), false)
            .build()
            // As for the asynchronous agent: no system authorities must not stop plain HTTP.
            .or_else(|_| {
                settings
                    .configure(reqwest::blocking::Client::builder(), true)
                    .build()
            })
            .map_err(|error| InvalidRequest(format!("cannot set up the HTTP client: {error}")))?;
        Ok(BlockingAgent {
            client,
            timeout: settings.timeout,
            max_body_size: settings.max_body_size,
        })
    }

    /// Fetches `url` and returns the body of a 2xx answer; any other status is an
    /// [`HttpError`] (with the body it came with), and a failed connection, a timeout or too many
    /// redirects fail as [`get_page`](super::get_page) does.
    pub fn get_page(&self, url: &str) -> Result<Bytes, Failure> {
        self.fetch_page(Request::get(url))
    }

    /// [`get_page`](BlockingAgent::get_page) for any request: another method, headers, a body.
    pub fn fetch_page(&self, request: Request) -> Result<Bytes, Failure> {
        let Request {
            method,
            url,
            headers,
            body,
        } = request;
        let mut builder = self.client.request(http_method(&method)?, &url);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let response = builder
            .send()
            .map_err(|error| failure_of(&error, &url, self.timeout))?;
        let status = response.status();
        let answered_by = response.url().to_string();
        let body = self.read_whole(response, &url);
        if status.is_success() {
            return body;
        }
        Err(Failure::new(HttpError {
            status: status.as_u16(),
            phrase: status.canonical_reason().unwrap_or("").to_owned(),
            body: body.unwrap_or_default(),
            url: answered_by,
        }))
    }

    /// The body, up to the size limit.
    fn read_whole(
        &self,
        response: reqwest::blocking::Response,
        url: &str,
    ) -> Result<Bytes, Failure> {
        let limit = self.max_body_size;
        let mut body = Vec::new();
        // One byte more than the limit tells a body at the limit from a larger one.
        let read = response
            .take(limit as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|error| read_failure(error, url, self.timeout))?;
        if read > limit {
            return Err(Failure::new(BodyTooLarge { limit }));
        }
        Ok(Bytes::from(body))
    }
}

/// A failed read of a body: reqwest's error inside the I/O error when there is one (a timeout, a
/// broken connection), else the I/O error itself.
fn read_failure(error: std::io::Error, url: &str, timeout: Option<Duration>) -> Failure {
    let inner = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>());
    match inner {
        Some(inner) => failure_of(inner, url, timeout),
        None => Failure::new(ResponseFailed(plain_error(&error))),
    }
}
