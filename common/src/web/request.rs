//! One HTTP request, and the response being made for it: Twisted's `twisted.web.server.Request`.
//!
//! A resource reads the request (method, path, query arguments, headers, body) and answers in one
//! of two ways. Either `render` returns the whole body, and the site sends it with its length; or
//! `render` says "not done yet" and keeps a clone of the [`Request`]: the page then calls
//! [`Request::write`] as pieces become ready (from a timer, a thread, another download) and
//! [`Request::finish`] at the end. The response head leaves with the first write.
//!
//! A page that works for a while should know when the client has gone, to stop working:
//! [`Request::notify_finish`] gives a Deferred that fires when the response is complete and fails
//! when the connection was lost first. Writes after that are dropped, as Twisted drops them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Version};

use crate::defer::{Deferred, Failure};
use crate::log;
use crate::protocol::Address;

/// How many written bytes a streaming response may hold before [`Request::writable`] makes its
/// producer wait: the same mark as a transport's.
const HIGH_WATER: usize = 64 * 1024;

/// The connection of a request was lost before the response was finished: what
/// [`Request::notify_finish`]'s Deferred fails with (Twisted's `ConnectionDone`/`ConnectionLost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLost;

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connection to the other side was lost before the response was finished.")
    }
}

impl std::error::Error for ConnectionLost {}

/// What the client asked: everything about a request that does not change while it is answered.
pub(crate) struct Incoming {
    pub method: Method,
    /// The request target as sent, query included: `/page?x=1`.
    pub uri: String,
    pub version: Version,
    pub headers: HeaderMap,
    /// The query arguments, percent- and plus-decoded, in order.
    pub args: Vec<(String, String)>,
    /// The request body, read whole before rendering (within the site's limit).
    pub content: Bytes,
    pub client: Address,
    pub host: Address,
}

/// One request and its response; a cheap handle (clones share the same request).
#[derive(Clone)]
pub struct Request(Rc<Inner>);

struct Inner {
    incoming: Incoming,
    /// The path segments already used to find the resource (Twisted's `prepath`).
    prepath: RefCell<Vec<String>>,
    /// The segments left below the resource that answers (Twisted's `postpath`).
    postpath: RefCell<Vec<String>>,
    response: RefCell<Response>,
    /// The body being streamed, which the connection takes as it is written.
    outgoing: Outgoing,
}

/// The response, as the resource sets it up.
struct Response {
    code: StatusCode,
    headers: HeaderMap,
    /// The head may leave (first write, or finish): the site sends it then.
    head_ready: bool,
    /// The site, waiting for the head to be ready.
    head_waker: Option<Waker>,
    /// Deferreds from `notify_finish`, fired when the response ends one way or the other.
    finish_waiters: Vec<Deferred<()>>,
}

/// The state of a streaming response body, shared between the request (which writes) and the
/// body that hyper sends.
#[derive(Default)]
pub(crate) struct Outgoing {
    queue: RefCell<VecDeque<Bytes>>,
    queued: Cell<usize>,
    /// Body bytes written so far (for the access log).
    sent: Cell<u64>,
    finished: Cell<bool>,
    /// The client is gone: nothing written will ever be sent.
    lost: Cell<bool>,
    /// hyper, waiting for the next piece.
    body_waker: RefCell<Option<Waker>>,
    /// Producers waiting in [`Request::writable`] for the queue to drain.
    writer_wakers: RefCell<Vec<Waker>>,
}

impl Request {
    /// A request, whose response starts with `headers` (the site's own, which come first).
    pub(crate) fn new(incoming: Incoming, postpath: Vec<String>, headers: HeaderMap) -> Request {
        Request(Rc::new(Inner {
            incoming,
            prepath: RefCell::new(Vec::new()),
            postpath: RefCell::new(postpath),
            response: RefCell::new(Response {
                code: StatusCode::OK,
                headers,
                head_ready: false,
                head_waker: None,
                finish_waiters: Vec::new(),
            }),
            outgoing: Outgoing::default(),
        }))
    }

    /// `GET`, `POST`...
    pub fn method(&self) -> &Method {
        &self.0.incoming.method
    }

    /// The request target exactly as the client sent it, query string included: `/a%20b?x=1`.
    pub fn uri(&self) -> &str {
        &self.0.incoming.uri
    }

    /// The path part of [`uri`](Request::uri), still percent-encoded.
    pub fn path(&self) -> &str {
        let uri = self.uri();
        uri.split_once('?').map_or(uri, |(path, _)| path)
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn version(&self) -> Version {
        self.0.incoming.version
    }

    /// Whether this is an HTTP/1.0 request, whose streamed answer ends when the connection closes.
    pub fn is_http10(&self) -> bool {
        self.version() == Version::HTTP_10
    }

    /// Every query argument, decoded, in the order sent: `?a=1&a=2&b=two+words`.
    pub fn args(&self) -> &[(String, String)] {
        &self.0.incoming.args
    }

    /// The first value of query argument `name` (Twisted's `request.args[name][0]`).
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args()
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of query argument `name`, or a [`MissingArgument`] failure to return with
    /// `?`: Python's `KeyError`, which Twisted turns into a 500.
    pub fn require_arg(&self, name: &str) -> Result<&str, MissingArgument> {
        self.arg(name)
            .ok_or_else(|| MissingArgument(name.to_owned()))
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.incoming.headers
    }

    /// Request header `name` as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    /// The request body (empty for most GETs).
    pub fn content(&self) -> &Bytes {
        &self.0.incoming.content
    }

    /// The client's address.
    pub fn client_address(&self) -> &Address {
        &self.0.incoming.client
    }

    /// Our address, as the client reached it.
    pub fn host_address(&self) -> &Address {
        &self.0.incoming.host
    }

    /// The path segments used to reach the resource that renders, decoded: `["page"]` for `/page`.
    pub fn prepath(&self) -> Vec<String> {
        self.0.prepath.borrow().clone()
    }

    /// The decoded path segments below the resource that renders: what a leaf resource (a static
    /// file's folder, a catch-all page) interprets itself.
    pub fn postpath(&self) -> Vec<String> {
        self.0.postpath.borrow().clone()
    }

    /// Moves the next segment from `postpath` to `prepath`, as the site walks down the tree.
    pub(crate) fn advance_path(&self) -> Option<String> {
        let mut postpath = self.0.postpath.borrow_mut();
        if postpath.is_empty() {
            return None;
        }
        let segment = postpath.remove(0);
        self.0.prepath.borrow_mut().push(segment.clone());
        Some(segment)
    }

    /// Sets the response's status code (200 unless told otherwise).
    pub fn set_response_code(&self, code: StatusCode) {
        self.0.response.borrow_mut().code = code;
    }

    /// The response's status code so far.
    pub fn response_code(&self) -> StatusCode {
        self.0.response.borrow().code
    }

    /// Sets response header `name` to `value`, replacing an earlier value. Headers set after the
    /// head has left are ignored. A value that is not valid in a header is refused.
    pub fn set_header(&self, name: &str, value: &str) -> Result<(), InvalidHeader> {
        let invalid = || InvalidHeader(name.to_owned());
        let name = HeaderName::try_from(name).map_err(|_| invalid())?;
        let value = HeaderValue::try_from(value).map_err(|_| invalid())?;
        self.0.response.borrow_mut().headers.insert(name, value);
        Ok(())
    }

    /// [`set_header`](Request::set_header) for a name and value made once, not read from text: what
    /// a page that answers many small requests sets (`Content-Type` from a static value) without
    /// checking and copying it on every request.
    pub fn set_header_value(&self, name: HeaderName, value: HeaderValue) {
        self.0.response.borrow_mut().headers.insert(name, value);
    }

    /// Response header `name`, if the resource set it.
    pub fn response_header(&self, name: &str) -> Option<String> {
        let response = self.0.response.borrow();
        let value = response.headers.get(name)?;
        value.to_str().ok().map(str::to_owned)
    }

    /// Whether the response head has been sent (or is on its way): from then on the code and
    /// headers cannot change.
    pub fn started(&self) -> bool {
        self.0.response.borrow().head_ready
    }

    /// Whether [`finish`](Request::finish) has been called.
    pub fn finished(&self) -> bool {
        self.0.outgoing.finished.get()
    }

    /// Whether the client has gone: what is written now is dropped.
    pub fn is_lost(&self) -> bool {
        self.0.outgoing.lost.get()
    }

    /// Sends `data` as the next piece of the body; the head goes first if it has not. Dropped
    /// silently if the client is gone (as in Twisted). A HEAD request's body is never sent.
    pub fn write(&self, data: &[u8]) {
        self.write_bytes(Bytes::copy_from_slice(data));
    }

    /// [`write`](Request::write) for bytes the page already holds as [`Bytes`] (a piece of a file
    /// read into its own buffer): sent without being copied again.
    pub fn write_bytes(&self, data: Bytes) {
        let outgoing = &self.0.outgoing;
        if outgoing.finished.get() {
            log::err("Request.write called on a request after Request.finish was called.");
            return;
        }
        self.send_head();
        if outgoing.lost.get() || data.is_empty() || self.method() == Method::HEAD {
            return;
        }
        outgoing.sent.set(outgoing.sent.get() + data.len() as u64);
        outgoing.queued.set(outgoing.queued.get() + data.len());
        outgoing.queue.borrow_mut().push_back(data);
        outgoing.wake_body();
    }

    /// Ends the response. The access log line is written now, and `notify_finish` Deferreds fire.
    ///
    /// Finishing a request whose client has gone is an error that Twisted logs (the page should
    /// have listened to `notify_finish`); it is logged here the same way and does no harm.
    pub fn finish(&self) {
        let outgoing = &self.0.outgoing;
        if outgoing.lost.get() {
            log::err(
                "RuntimeError: Request.finish called on a request after its connection was lost; \
                 use Request.notifyFinish to keep track of this.",
            );
            return;
        }
        if outgoing.finished.replace(true) {
            log::err("Request.finish called twice on the same request.");
            return;
        }
        self.send_head();
        outgoing.wake_body();
        self.fire_finished();
        super::access_log::log_access(self);
    }

    /// The whole body was returned by `render` and handed to hyper: the response is complete.
    pub(crate) fn complete(&self) {
        self.0.outgoing.finished.set(true);
        self.send_head();
        self.fire_finished();
    }

    /// Counts `count` body bytes as sent (a HEAD request's are not).
    pub(crate) fn note_sent(&self, count: usize) {
        if self.method() != Method::HEAD {
            let sent = &self.0.outgoing.sent;
            sent.set(sent.get() + count as u64);
        }
    }

    /// Fires the `notify_finish` Deferreds.
    fn fire_finished(&self) {
        let waiters = std::mem::take(&mut self.0.response.borrow_mut().finish_waiters);
        for waiter in waiters {
            let _ = waiter.callback(());
        }
    }

    /// A Deferred that fires when the response is finished, or fails with [`ConnectionLost`] when
    /// the client goes first: how a long-running page learns to stop.
    pub fn notify_finish(&self) -> Deferred<()> {
        let deferred = Deferred::new();
        if self.finished() {
            let _ = deferred.callback(());
        } else if self.is_lost() {
            let _ = deferred.errback(Failure::new(ConnectionLost));
        } else {
            self.0
                .response
                .borrow_mut()
                .finish_waiters
                .push(deferred.clone());
        }
        deferred
    }

    /// Waits until the body written so far is mostly sent (or the client is gone): what a page that
    /// produces a lot (a big file) awaits between pieces, so that its memory stays bounded whatever
    /// the client's speed.
    pub async fn writable(&self) {
        std::future::poll_fn(|cx| {
            let outgoing = &self.0.outgoing;
            if outgoing.lost.get() || outgoing.queued.get() < HIGH_WATER {
                return Poll::Ready(());
            }
            outgoing.writer_wakers.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Body bytes written so far.
    pub(crate) fn sent(&self) -> u64 {
        self.0.outgoing.sent.get()
    }

    /// Lets the head leave: the site is waiting for this to send the response head.
    fn send_head(&self) {
        let mut response = self.0.response.borrow_mut();
        response.head_ready = true;
        if let Some(waker) = response.head_waker.take() {
            waker.wake();
        }
    }

    /// Waits until the page has written or finished: then the head can be sent.
    pub(crate) async fn head_ready(&self) {
        std::future::poll_fn(|cx| {
            let mut response = self.0.response.borrow_mut();
            if response.head_ready {
                return Poll::Ready(());
            }
            response.head_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The client went away before the response was finished: drop what is queued and tell those
    /// waiting on `notify_finish`.
    pub(crate) fn connection_lost(&self) {
        let outgoing = &self.0.outgoing;
        if outgoing.finished.get() || outgoing.lost.replace(true) {
            return;
        }
        outgoing.queue.borrow_mut().clear();
        outgoing.queued.set(0);
        outgoing.wake_writers();
        outgoing.wake_body();
        // A site still waiting for the head goes on, and finds the connection gone.
        self.send_head();
        let waiters = std::mem::take(&mut self.0.response.borrow_mut().finish_waiters);
        for waiter in waiters {
            let _ = waiter.errback(Failure::new(ConnectionLost));
        }
    }

    /// The status and headers the page set, to send.
    pub(crate) fn take_head(&self) -> (StatusCode, HeaderMap) {
        let mut response = self.0.response.borrow_mut();
        (response.code, std::mem::take(&mut response.headers))
    }

    /// The streaming body of this response, for hyper to send.
    pub(crate) fn body(&self) -> StreamingBody {
        StreamingBody {
            request: self.clone(),
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Request method={} uri={} clientproto={:?}>",
            self.method(),
            self.uri(),
            self.version()
        )
    }
}

impl Outgoing {
    fn wake_body(&self) {
        if let Some(waker) = self.body_waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn wake_writers(&self) {
        for waker in self.writer_wakers.borrow_mut().drain(..) {
            waker.wake();
        }
    }
}

/// The body of a response whose page writes it piece by piece: hyper takes the pieces as they are
/// written, and ends the body at `finish`. (The connection, not the body, tells the request when
/// its client is gone: hyper drops a HEAD request's body unread, and that is no loss.)
pub(crate) struct StreamingBody {
    request: Request,
}

impl http_body::Body for StreamingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let outgoing = &self.request.0.outgoing;
        if let Some(piece) = outgoing.queue.borrow_mut().pop_front() {
            let queued = outgoing.queued.get() - piece.len();
            outgoing.queued.set(queued);
            if queued < HIGH_WATER / 2 {
                outgoing.wake_writers();
            }
            return Poll::Ready(Some(Ok(http_body::Frame::data(piece))));
        }
        if outgoing.finished.get() {
            return Poll::Ready(None);
        }
        *outgoing.body_waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        let outgoing = &self.request.0.outgoing;
        outgoing.finished.get() && outgoing.queue.borrow().is_empty()
    }
}

/// A query argument the page needs is missing: Python's `KeyError` in the training's pages, which
/// Twisted answers with a 500.
#[derive(Debug)]
pub struct MissingArgument(pub String);

impl fmt::Display for MissingArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing query argument '{}'", self.0)
    }
}

impl std::error::Error for MissingArgument {}

/// A response header name or value that HTTP does not allow (a newline in it, say).
#[derive(Debug)]
pub struct InvalidHeader(pub String);

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid response header {}", self.0)
    }
}

impl std::error::Error for InvalidHeader {}
