//! The site: Twisted's `twisted.web.server.Site`, the factory a reactor listens with to serve a
//! tree of resources over HTTP.
//!
//! ```no_run
//! # use std::rc::Rc;
//! # use common::reactor::Reactor;
//! # use common::web::{Branch, Data, Site};
//! let reactor = Reactor::new().unwrap();
//! let root = Rc::new(Branch::new());
//! root.put_child("", Rc::new(Data::new("hello world", "text/plain")));
//! let port = reactor.listen_tcp(8000, Rc::new(Site::new(root)), "127.0.0.1").unwrap();
//! reactor.run().unwrap();
//! ```
//!
//! For each request, the site reads the body (up to a limit), walks the path down the tree to the
//! resource that answers, renders it, and hands hyper the response: whole, or streamed as the page
//! writes it.

use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderValue, SERVER};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as IncomingBody;

use super::access_log::log_access;
use super::channel::{HttpChannel, Pipe};
use super::pages::{PROCESSING_FAILED, not_allowed, too_large};
use super::request::{Incoming, StreamingBody};
use super::{ErrorPage, Render, Request, Resource};
use crate::log;
use crate::protocol::{Address, Factory, Protocol};
use crate::reactor::guard;

/// The `Server` header of every answer: our name, as Twisted sends `TwistedWeb/<version>`.
pub const SERVER_NAME: &str = concat!("TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// The largest request body a site reads unless told otherwise.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// How long a client may take to send a request's head before the connection is closed.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a request's head (request line and headers) may take, in bytes.
pub const DEFAULT_MAX_HEAD: usize = 64 * 1024;

/// A tree of resources served over HTTP: the factory to listen with.
pub struct Site {
    inner: Rc<SiteInner>,
}

/// What every connection of a site shares.
pub(crate) struct SiteInner {
    root: Rc<dyn Resource>,
    max_body: usize,
    /// hyper's HTTP/1 settings, made once for every connection.
    pub(crate) http: hyper::server::conn::http1::Builder,
}

impl Site {
    /// A site serving `root`, with the default limits.
    pub fn new(root: Rc<dyn Resource>) -> Site {
        Site::with_limits(
            root,
            DEFAULT_MAX_BODY,
            DEFAULT_MAX_HEAD,
            DEFAULT_HEADER_TIMEOUT,
        )
    }

    /// A site serving `root` that refuses bodies over `max_body` bytes (413) and heads over
    /// `max_head` bytes (431; at least 8 KiB), and closes a connection whose head has not arrived
    /// within `header_timeout`.
    pub fn with_limits(
        root: Rc<dyn Resource>,
        max_body: usize,
        max_head: usize,
        header_timeout: Duration,
    ) -> Site {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(max_head.max(8192))
            // Twisted writes `Content-Length`, not `content-length`; and the Date header is
            // ours, so that it comes right after `Server` as in Twisted's answers.
            .title_case_headers(true)
            .auto_date_header(false)
            // A client may stop sending once its request is out (`nc -N`) and still want the answer.
            .half_close(true)
            // One buffer per write: the transport copies it anyway.
            .writev(false);
        Site {
            inner: Rc::new(SiteInner {
                root,
                max_body,
                http,
            }),
        }
    }
}

impl Factory for Site {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(HttpChannel::new(
            Rc::clone(&self.inner),
            peer.clone(),
        )))
    }
}

/// The body hyper sends: whole, or streamed as the page writes it.
pub(crate) enum ResponseBody {
    Whole(Option<Bytes>),
    Streaming(StreamingBody),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Whole(body) => {
                Poll::Ready(body.take().map(|body| Ok(http_body::Frame::data(body))))
            }
            ResponseBody::Streaming(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Whole(body) => body.is_none(),
            ResponseBody::Streaming(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Whole(body) => {
                http_body::SizeHint::with_exact(body.as_ref().map_or(0, |body| body.len() as u64))
            }
            ResponseBody::Streaming(body) => body.size_hint(),
        }
    }
}

type Response = hyper::Response<ResponseBody>;

/// Answers one request: hyper's service for the connections of a site.
pub(crate) async fn respond(
    site: Rc<SiteInner>,
    pipe: Rc<Pipe>,
    hyper_request: hyper::Request<IncomingBody>,
) -> Result<Response, Infallible> {
    let (parts, body) = hyper_request.into_parts();
    let uri = parts.uri.path_and_query().map_or_else(
        || parts.uri.to_string(),
        |target| target.as_str().to_owned(),
    );
    let too_big = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|length| length > site.max_body as u64);
    let content = if too_big {
        Err(true)
    } else if http_body::Body::is_end_stream(&body) {
        // Most requests (a GET) have no body: nothing to wait for.
        Ok(Bytes::new())
    } else {
        match Limited::new(body, site.max_body).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            // Over the limit, or the connection failed while the body came in.
            Err(error) => Err(error.is::<http_body_util::LengthLimitError>()),
        }
    };
    let args = parts.uri.query().map_or_else(Vec::new, |query| {
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    });
    let segments = path_segments(parts.uri.path());
    // What went wrong with the body, if anything (`true`: it was too large), kept apart so that
    // the body itself moves into the request.
    let (content, refused) = match content {
        Ok(content) => (content, None),
        Err(too_large) => (Bytes::new(), Some(too_large)),
    };
    let no_resource = segments.is_none();
    let incoming = Incoming {
        method: parts.method,
        uri,
        version: parts.version,
        headers: parts.headers,
        args,
        content,
        client: pipe.peer.clone(),
        host: pipe.host.clone(),
    };
    let request = Request::new(incoming, segments.unwrap_or_default(), first_headers());
    *pipe.current.borrow_mut() = Some(request.clone());

    let rendered = match refused {
        Some(true) => Some(too_large(&request, site.max_body)),
        Some(false) => Some(Render::Body(Bytes::new())),
        None if no_resource => Some(ErrorPage::no_resource().render_on(&request)),
        None => render(&find_resource(&site.root, &request), &request),
    };
    let body = match rendered {
        Some(Render::Body(body)) if !request.started() => {
            if request.method() == Method::HEAD && !body.is_empty() && log::is_logging() {
                log::msg(format!(
                    "Warning: HEAD request {request:?} is returning a message body. \
                     I think I'll eat it."
                ));
            }
            let response = whole_response(&request, body);
            request.complete();
            log_access(&request);
            return Ok(response);
        }
        // A page that wrote some of its answer and then returned the rest: the rest ends it.
        Some(Render::Body(body)) => {
            request.write(&body);
            request.finish();
            request.body()
        }
        Some(Render::NotDoneYet) => {
            // A client that had stopped sending before this page began is gone for a page that
            // answers later, whether its end of input was read before or after the request was
            // (Twisted closes such a connection as soon as the input ends).
            if pipe.client_stopped_sending() {
                pipe.tell_current_request();
            }
            request.body()
        }
        // The page failed: a 500 if nothing was sent yet; else the answer is cut off, and the
        // connection closed so that the client cannot take it for complete.
        None if !request.started() => {
            request.set_response_code(StatusCode::INTERNAL_SERVER_ERROR);
            let response =
                whole_response(&request, Bytes::from_static(PROCESSING_FAILED.as_bytes()));
            request.complete();
            log_access(&request);
            return Ok(response);
        }
        None => {
            pipe.abort();
            request.body()
        }
        Some(Render::NotAllowed) => unreachable!("render answers NotAllowed itself"),
    };
    // The page will write its answer later: the head leaves with its first write.
    request.head_ready().await;
    let (code, page_headers) = request.take_head();
    let mut response = hyper::Response::new(ResponseBody::Streaming(body));
    *response.status_mut() = code;
    *response.headers_mut() = last_headers(code, page_headers, None);
    Ok(response)
}

/// The resource that answers `request`: the path's segments walked down from `root`, a child at a
/// time, until they run out or a leaf is reached. A missing child is the 404 page.
fn find_resource(root: &Rc<dyn Resource>, request: &Request) -> Rc<dyn Resource> {
    let mut resource = Rc::clone(root);
    while !resource.is_leaf() {
        let Some(name) = request.advance_path() else {
            break;
        };
        let child = match resource.children().and_then(|children| children.get(&name)) {
            Some(child) => Some(child),
            None => resource.get_child(&name, request),
        };
        resource = child.unwrap_or_else(|| Rc::new(ErrorPage::no_resource()));
    }
    resource
}

/// Renders `request` with `resource`; `None` if the page failed (the failure or panic is logged).
/// A method the resource does not render gets its 405 or 501 page here.
fn render(resource: &Rc<dyn Resource>, request: &Request) -> Option<Render> {
    let mut rendered = None;
    guard::call(&Rendering(request), || {
        rendered = Some(resource.render(request)?);
        Ok::<(), crate::defer::Failure>(())
    });
    match rendered {
        Some(Render::NotAllowed) => Some(not_allowed(request, resource.allowed_methods())),
        other => other,
    }
}

/// What the site was doing when a page failed, for the log: `rendering /page?x=1`. Only made
/// into text if that happens.
struct Rendering<'a>(&'a Request);

impl std::fmt::Display for Rendering<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rendering {}", self.0.uri())
    }
}

/// The path's segments, percent-decoded: `/a%20b/c` → `["a b", "c"]`, `/` → `[""]`. `None` when
/// a segment is not UTF-8 once decoded: no resource can have that name.
fn path_segments(path: &str) -> Option<Vec<String>> {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()
                .map(|decoded| decoded.into_owned())
        })
        .collect()
}

/// A response with the whole body: its length is known and sent.
fn whole_response(request: &Request, body: Bytes) -> Response {
    let (code, page_headers) = request.take_head();
    let length = body.len();
    let mut response = hyper::Response::new(ResponseBody::Whole(Some(body)));
    *response.status_mut() = code;
    *response.headers_mut() = last_headers(code, page_headers, Some(length));
    request.note_sent(length);
    response
}

/// The headers every answer starts with, in Twisted's order: `Server`, then `Date`. The page's own
/// come after them.
fn first_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(6);
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    headers.insert(DATE, http_date());
    headers
}

/// Completes the head after the page's headers: the length of a whole body (unless the page set
/// one), and last the default `Content-Type: text/html`, which answers that never have a body
/// (204, 304) go without, as in Twisted.
fn last_headers(code: StatusCode, mut headers: HeaderMap, length: Option<usize>) -> HeaderMap {
    if let Some(length) = length.filter(|_| !headers.contains_key(CONTENT_LENGTH)) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    let bodiless = matches!(code, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    if !bodiless && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    }
    headers
}

thread_local! {
    /// The Date header of this second, and the second it is for: formatting a date for every
    /// answer would cost more than the rest of a small page's head.
    static DATE_CACHE: std::cell::RefCell<(u64, HeaderValue)> =
        const { std::cell::RefCell::new((0, HeaderValue::from_static(""))) };
}

/// The Date header's value for now: `Sat, 28 Nov 2026 18:58:17 GMT`.
fn http_date() -> HeaderValue {
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    DATE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            let date = httpdate::fmt_http_date(now);
            *cache = (
                second,
                HeaderValue::try_from(date).unwrap_or(HeaderValue::from_static("")),
            );
        }
        cache.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_decoded_segments() {
        assert_eq!(path_segments("/"), Some(vec![String::new()]));
        assert_eq!(
            path_segments("/page/"),
            Some(vec!["page".to_owned(), String::new()])
        );
        assert_eq!(
            path_segments("/na%C3%AFve%20caf%C3%A9.txt"),
            Some(vec!["naïve café.txt".to_owned()])
        );
        assert_eq!(
            path_segments("/%2e%2e/x"),
            Some(vec!["..".to_owned(), "x".to_owned()])
        );
        assert_eq!(path_segments("/%FF"), None);
    }
}
