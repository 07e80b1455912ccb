//! The HTTP client: Twisted's `getPage` and `Agent`, on the reactor, with Deferreds.
//!
//! Talk 001 fetches a page in four styles with `getPage(url)`: a Deferred that fires with the whole
//! body. Talk 002 asks GitHub's API for a user's organisations and their repositories the same way.
//! Both are here:
//!
//! * [`get_page`] is `getPage`: any 2xx answer fires the Deferred with the body (as [`Bytes`]);
//!   redirects (301, 302, 303, 307, 308) are followed, twenty at most ([`InfiniteRedirection`]
//!   after that); any other status fails with an [`HttpError`] that prints as `404 Not Found` and
//!   keeps the status and the body; a connection that cannot be made fails with the reactor's
//!   [`ConnectError`](crate::protocol::ConnectError) (`Connection was refused by other side: 111:
//!   Connection refused.`); a request slower than its timeout with a [`TimeoutError`].
//! * an [`Agent`] is Twisted's `Agent`: any method, headers, a body; redirects followed or not; a
//!   timeout; a [`Response`] whose status and headers come first and whose body is read whole
//!   (bounded by a size limit, since the server decides how much it sends) or chunk by chunk.
//! * [`blocking::BlockingAgent`] fetches the same way without a reactor, blocking the thread: the
//!   counterpart of Python's `urllib2.urlopen` in talk 001's first slides.
//!
//! Underneath is reqwest, the standard HTTP client of the tokio world (HTTP/1.1 over rustls with
//! the *ring* crypto provider). It runs on the reactor's own runtime: each request is a task of the
//! reactor, and its Deferred fires on the reactor's thread, like every other callback. Requests
//! send `User-Agent: twisted-intro/0.1`. HTTPS trusts the system's certificate authorities, and
//! any extra one given to [`AgentBuilder::add_root_certificate_pem`] (a private authority, or the
//! tests' own).

pub mod blocking;
mod errors;
mod response;
mod settings;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

pub use bytes::Bytes;
pub use errors::{
    BodyTooLarge, HttpError, InfiniteRedirection, InvalidRequest, ResponseFailed, TimeoutError,
    error_line,
};
pub use response::Response;
pub use settings::AgentBuilder;

use crate::defer::{Deferred, Failure, fail};
use crate::reactor::Reactor;

/// What every request says its client is, in the `User-Agent` header. (Twisted's getPage said
/// `Twisted PageGetter`; we say who we are.)
pub const USER_AGENT: &str = "twisted-intro/0.1";

/// How many redirects one request follows before it fails with [`InfiniteRedirection`]: getPage's
/// limit.
pub const MAX_REDIRECTS: usize = 20;

/// The largest body an agent reads whole unless told otherwise: 64 MiB, far more than a page or an
/// API answer, far less than the memory of the machine.
pub const DEFAULT_MAX_BODY_SIZE: usize = 64 << 20;

/// Fetches `url` and fires with its body: Twisted's `getPage(url)`, with a default [`Agent`].
///
/// Needs a reactor on this thread ([`Reactor::new`]); the request starts when the reactor runs.
/// Each call makes an agent of its own, as each getPage made a connection of its own; a program
/// that makes many requests keeps one [`Agent`] instead, and its connections are reused.
pub fn get_page(url: &str) -> Deferred<Bytes> {
    get_page_with(url, AgentBuilder::new())
}

/// [`get_page`] with an agent's settings: a timeout, redirects followed or not, a body size limit,
/// an extra certificate authority. `getPage(url, timeout=5)` is `get_page_with(url,
/// AgentBuilder::new().timeout(Duration::from_secs(5)))`. For another method, headers or a body,
/// give a [`Request`] to [`Agent::fetch_page`].
pub fn get_page_with(url: &str, agent: AgentBuilder) -> Deferred<Bytes> {
    match agent.build() {
        Ok(agent) => agent.get_page(url),
        Err(failure) => fail(failure),
    }
}

/// One HTTP request to make: a method, a URL, headers and a body.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
}

impl Request {
    /// A request with `method` (`GET`, `POST`, any token HTTP allows) for `url`, with no headers of
    /// its own and no body.
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// Adds a header (given twice, a name is sent twice).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body. Its length goes in `Content-Length`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// The URL asked for.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Twisted's `Agent`: makes HTTP requests on the reactor and gives their answers as Deferreds.
///
/// Cheap to clone: clones share the settings and the pool of open connections. Those connections
/// are tasks of the reactor that opened them, so an agent (and a response's body) belongs to one
/// reactor run; a program that runs a second reactor builds a second agent.
#[derive(Debug, Clone)]
pub struct Agent {
    client: reqwest::Client,
    timeout: Option<Duration>,
    max_body_size: usize,
}

impl Agent {
    /// An agent with getPage's settings (see [`AgentBuilder::new`]).
    pub fn new() -> Result<Agent, Failure> {
        AgentBuilder::new().build()
    }

    /// Sends `request`, and fires with the [`Response`] once its status and headers have arrived,
    /// whatever the status; the body is read from the response afterwards. Fails when no answer
    /// comes (connection, timeout, redirect limit).
    ///
    /// Cancelling the Deferred abandons the request and closes its connection.
    pub fn request(&self, request: Request) -> Deferred<Response> {
        let agent = self.clone();
        spawn(async move { agent.send(request).await })
    }

    /// `getPage`: fetches `url` with a `GET` and fires with the body of a 2xx answer; fails with an
    /// [`HttpError`] for any other status (its body kept), or as [`request`](Agent::request) fails.
    pub fn get_page(&self, url: &str) -> Deferred<Bytes> {
        self.fetch_page(Request::get(url))
    }

    /// [`get_page`](Agent::get_page) for any request: another method, headers, a body.
    pub fn fetch_page(&self, request: Request) -> Deferred<Bytes> {
        let agent = self.clone();
        spawn(async move {
            let response = agent.send(request).await?;
            response.page().await
        })
    }

    /// The request, as an async function: what [`request`](Agent::request) runs on the reactor.
    pub async fn send(&self, request: Request) -> Result<Response, Failure> {
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
        match builder.send().await {
            Ok(answer) => Ok(Response::new(answer, url, self.timeout, self.max_body_size)),
            Err(error) => Err(errors::failure_of(&error, &url, self.timeout)),
        }
    }
}

/// The method of a request, checked: a token HTTP allows (`GET`, `POST`, `PROPFIND`...).
fn http_method(name: &str) -> Result<reqwest::Method, InvalidRequest> {
    reqwest::Method::from_bytes(name.as_bytes())
        .map_err(|_| InvalidRequest(format!("'{name}' is not an HTTP method")))
}

/// Runs `work` as a task of this thread's reactor and gives its outcome as a Deferred, which fires
/// on the reactor's thread. Cancelling the Deferred drops the task (and with it, whatever
/// connection it had open); the Deferred then fails with `CancelledError`.
///
/// Unlike [`Deferred::from_future`], nothing of `work` runs before the reactor's runtime polls
/// it: reqwest's futures need that runtime around them from their first poll, and a program may
/// ask for a page before the reactor runs, as the talk's scripts do.
fn spawn<T: 'static>(work: impl Future<Output = Result<T, Failure>> + 'static) -> Deferred<T> {
    let Some(reactor) = Reactor::current() else {
        return fail(Failure::exception(
            "an HTTP request needs a reactor on this thread to run on",
        ));
    };
    let task: Rc<Cell<Option<tokio::task::AbortHandle>>> = Rc::default();
    let to_abort = Rc::clone(&task);
    let deferred = Deferred::with_canceller(move |_| {
        if let Some(task) = to_abort.take() {
            task.abort();
        }
    });
    let to_fire = deferred.clone();
    let handle = reactor.spawn_local(async move {
        let _ = match work.await {
            Ok(value) => to_fire.callback(value),
            Err(failure) => to_fire.errback(failure),
        };
    });
    task.set(Some(handle.abort_handle()));
    deferred
}
