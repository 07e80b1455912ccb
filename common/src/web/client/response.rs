//! The answer to a request: status and headers first, then the body, whole or chunk by chunk.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::errors::{BodyTooLarge, HttpError, failure_of};
use super::spawn;
use crate::defer::{Deferred, Failure};

/// An HTTP answer whose status and headers have arrived: Twisted's `IResponse`.
///
/// The body is still on its way; read it whole with [`body`](Response::body) (or
/// [`read_body`](Response::read_body), its Deferred, Twisted's `readBody`), or piece by piece as
/// it arrives with [`chunk`](Response::chunk) (or [`deliver_body`](Response::deliver_body), the
/// Deferred way, Twisted's `deliverBody`). Dropping the response unread closes its connection.
#[derive(Debug)]
pub struct Response {
    inner: reqwest::Response,
    /// The URL first asked for, for the words of a timeout.
    requested: String,
    timeout: Option<Duration>,
    max_body_size: usize,
}

impl Response {
    pub(super) fn new(
        inner: reqwest::Response,
        requested: String,
        timeout: Option<Duration>,
        max_body_size: usize,
    ) -> Response {
        Response {
            inner,
            requested,
            timeout,
            max_body_size,
        }
    }

    /// The status code: 200, 404...
    pub fn code(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// The status's reason phrase as HTTP names it: `OK`, `Not Found` (empty for a code HTTP does
    /// not name).
    pub fn phrase(&self) -> &'static str {
        self.inner.status().canonical_reason().unwrap_or("")
    }

    /// Whether the status is a success (2xx).
    pub fn is_success(&self) -> bool {
        self.inner.status().is_success()
    }

    /// The URL that gave this answer: the one asked for, or where the redirects led.
    pub fn url(&self) -> &str {
        self.inner.url().as_str()
    }

    /// The first value of header `name` (any case), as bytes: a header need not be text.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.inner.headers().get(name).map(|value| value.as_bytes())
    }

    /// Every header, in the order received, names in lower case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.inner
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }

    /// The body's length, when the server announced it.
    pub fn content_length(&self) -> Option<u64> {
        self.inner.content_length()
    }

    /// The next piece of the body as it arrives, or `None` at its end. No limit applies: the reader
    /// decides what to keep.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Failure> {
        self.inner
            .chunk()
            .await
            .map_err(|error| failure_of(&error, &self.requested, self.timeout))
    }

    /// The whole body. Fails with [`BodyTooLarge`] as soon as it is known to exceed the agent's
    /// limit (from `Content-Length`, or while reading), and then reads no further.
    pub async fn body(mut self) -> Result<Bytes, Failure> {
        let limit = self.max_body_size;
        let too_large = || Failure::new(BodyTooLarge { limit });
        let announced = self.content_length().unwrap_or(0);
        if announced > limit as u64 {
            return Err(too_large());
        }
        let mut body = BytesMut::with_capacity(announced as usize);
        while let Some(chunk) = self.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// getPage's rule: the body of a 2xx answer, or an [`HttpError`] that keeps the status and
    /// whatever body came with it.
    pub(super) async fn page(self) -> Result<Bytes, Failure> {
        if self.is_success() {
            return self.body().await;
        }
        let status = self.code();
        let phrase = self.phrase().to_owned();
        let url = self.url().to_owned();
        let body = self.body().await.unwrap_or_default();
        Err(Failure::new(HttpError {
            status,
            phrase,
            body,
            url,
        }))
    }

    /// [`body`](Response::body) as a Deferred: Twisted's `readBody(response)`.
    pub fn read_body(self) -> Deferred<Bytes> {
        spawn(self.body())
    }

    /// Hands each piece of the body to `on_data` as it arrives, and fires with the number of bytes
    /// delivered once the body has ended: Twisted's `response.deliverBody(protocol)`, the protocol
    /// reduced to its `dataReceived`. Fails if the connection breaks before the end.
    pub fn deliver_body(self, mut on_data: impl FnMut(Bytes) + 'static) -> Deferred<u64> {
        let mut response = self;
        spawn(async move {
            let mut delivered = 0;
            while let Some(chunk) = response.chunk().await? {
                delivered += chunk.len() as u64;
                on_data(chunk);
            }
            Ok(delivered)
        })
    }
}
