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
pub fn get_page(url: &str) -> Deferred<Bytes> {
    get_page_with(url, AgentBuilder::new())
}

/// [`get_page`] with options: a timeout, a method, headers, a body, trusted certificates... all of
/// an [`AgentBuilder`] and a [`Request`]'s defaults. `getPage(url, timeout=5)` is
/// `get_page_with(url, AgentBuilder::new().timeout(Duration::from_secs(5)))`.
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

/// The settings of an [`Agent`]: made with [`AgentBuilder::new`], changed by its methods, turned
/// into an agent by [`build`](AgentBuilder::build).
#[derive(Debug, Clone)]
pub struct AgentBuilder {
    timeout: Option<Duration>,
    follow_redirects: bool,
    max_body_size: usize,
    /// Extra certificate authorities, PEM, beside the system's.
    roots: Vec<Vec<u8>>,
}

impl Default for AgentBuilder {
    fn default() -> Self {
        AgentBuilder::new()
    }
}

impl AgentBuilder {
    /// getPage's settings: no timeout, redirects followed, bodies up to
    /// [`DEFAULT_MAX_BODY_SIZE`], the system's certificate authorities.
    pub fn new() -> AgentBuilder {
        AgentBuilder {
            timeout: None,
            follow_redirects: true,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            roots: Vec::new(),
        }
    }

    /// Fails a request that has not completed after `timeout`: connecting, sending, the answer and
    /// (when it is read) its body, all counted together.
    pub fn timeout(mut self, timeout: Duration) -> AgentBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to follow redirects (the default). When not, a redirect is an answer like any other:
    /// the agent's [`Response`] has its 3xx status, and [`Agent::get_page`] fails with it.
    pub fn follow_redirects(mut self, follow: bool) -> AgentBuilder {
        self.follow_redirects = follow;
        self
    }

    /// The largest body read whole ([`Response::body`], [`Agent::get_page`]); a larger one fails
    /// with [`BodyTooLarge`]. Reading chunk by chunk has no limit: the reader decides.
    pub fn max_body_size(mut self, bytes: usize) -> AgentBuilder {
        self.max_body_size = bytes;
        self
    }

    /// Trusts the certificate authority (or authorities) in `pem` for HTTPS, beside the system's:
    /// what `curl --cacert` does, for a server whose certificate a private authority signed.
    ///
    /// Fails with [`InvalidRequest`] when `pem` holds no certificate that can be read.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<AgentBuilder, Failure> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|error| InvalidRequest(format!("not a PEM certificate: {error}")))?;
        if certificates.is_empty() {
            return Err(InvalidRequest("no certificate in the PEM text".to_owned()).into());
        }
        self.roots.push(pem.to_vec());
        Ok(self)
    }

    /// The agent. Fails when the TLS settings cannot be made (a certificate that was given cannot
    /// be used).
    pub fn build(self) -> Result<Agent, Failure> {
        let client = self
            .configure(reqwest::Client::builder(), false)
            .build()
            // No certificate authority on the system at all (a bare container): plain HTTP and the
            // extra authorities must still work.
            .or_else(|_| self.configure(reqwest::Client::builder(), true).build())
            .map_err(|error| InvalidRequest(format!("cannot set up the HTTP client: {error}")))?;
        Ok(Agent {
            client,
            timeout: self.timeout,
            max_body_size: self.max_body_size,
        })
    }

    /// Applies the settings to one of reqwest's client builders (the asynchronous one or the
    /// blocking one). With `only_given_roots`, HTTPS trusts the extra authorities alone, not the
    /// system's.
    fn configure<B: ClientSettings>(&self, builder: B, only_given_roots: bool) -> B {
        install_crypto_provider();
        let max_redirects = if self.follow_redirects {
            MAX_REDIRECTS
        } else {
            0
        };
        let builder = builder.settings(USER_AGENT, redirect_policy(max_redirects));
        let roots: Vec<reqwest::Certificate> = self
            .roots
            .iter()
            .filter_map(|pem| reqwest::Certificate::from_pem_bundle(pem).ok())
            .flatten()
            .collect();
        if roots.is_empty() && !only_given_roots {
            return builder;
        }
        builder.trust(roots, only_given_roots)
    }
}

/// What [`AgentBuilder::configure`] sets on reqwest's two client builders, which have the same
/// methods but no trait in common.
trait ClientSettings: Sized {
    /// The user agent and the redirect policy, and no proxy.
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self;
    /// Trusts `roots`, beside the system's authorities or (`only`) instead of them.
    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self;
}

impl ClientSettings for reqwest::ClientBuilder {
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self {
        // No proxy from the environment: getPage connects where the URL says.
        self.user_agent(user_agent).redirect(redirects).no_proxy()
    }

    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self {
        if only {
            self.tls_certs_only(roots)
        } else {
            self.tls_certs_merge(roots)
        }
    }
}

impl ClientSettings for reqwest::blocking::ClientBuilder {
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self {
        // The blocking client has a 30 s timeout of its own by default; ours is set per request.
        self.user_agent(user_agent)
            .redirect(redirects)
            .no_proxy()
            .timeout(None)
    }

    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self {
        if only {
            self.tls_certs_only(roots)
        } else {
            self.tls_certs_merge(roots)
        }
    }
}

/// Follow at most `max` redirects; the one after fails with [`InfiniteRedirection`]. With `max`
/// zero, redirects are not followed at all: the redirect is the answer.
fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    if max == 0 {
        return reqwest::redirect::Policy::none();
    }
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` starts with the URL first asked for, which was no redirect.
        if attempt.previous().len() > max {
            let error = InfiniteRedirection {
                status: attempt.status().as_u16(),
                location: attempt.url().to_string(),
            };
            attempt.error(error)
        } else {
            attempt.follow()
        }
    })
}

/// Makes *ring* the crypto provider of rustls for this process, once (reqwest is built without one
/// of its own, see `common/Cargo.toml`).
fn install_crypto_provider() {
    // An error means a provider is installed already (by us, or by the program): fine either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Twisted's `Agent`: makes HTTP requests on the reactor and gives their answers as Deferreds.
///
/// Cheap to clone: clones share the settings and the pool of open connections.
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
