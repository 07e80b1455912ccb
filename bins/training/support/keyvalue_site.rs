//! The key-value store's web pages, whatever the store is reached by: the training's `makeSite(kv)`
//! (`keyvalue_web.py`), which `keyvalue_web2.py` reuses over PB. `keyvalue-web` (the line protocol)
//! and `keyvalue-web2` (Perspective Broker) include this file with `#[path]`.
//!
//! `/` is a page of three forms; `/get?key=K`, `/set?key=K&value=V` and `/delete?key=K` ask the
//! store through a [`Backend`] and return `NotDoneYet`; the Deferred of the store's answer writes
//! the page and finishes it. A missing `key` (or `value`) is a 500, as in the original; a miss is
//! `NOT FOUND: 'K'`; a backend that cannot ask the store, or whose request failed, gives an error
//! status with a sentence saying why.

use std::rc::Rc;
use std::time::Duration;

use common::cli::duration::parse_duration;
use common::defer::{Deferred, Failure};
use common::protocol::Backoff;
use common::web::{Branch, Render, RenderResult, Request, Resource};
use http::StatusCode;

/// The page at `/`: a form for each of the three pages.
const INDEX: &str = r#"<html><body>
    <form action="/get">
        <h2>Get</h2>
        key: <input type="text" name="key">
        <input type="submit" value="Get">
    </form>
    <form action="/set">
        <h2>Set</h2>
        key: <input type="text" name="key">
        value: <input type="text" name="value">
        <input type="submit" value="Set">
    </form>
    <form action="/delete">
        <h2>Delete</h2>
        key: <input type="text" name="key">
        <input type="submit" value="Delete">
    </form>
</body></html>
"#;

/// How a web front waits between its attempts to reach a store that is down.
#[derive(clap::Args)]
pub(crate) struct RetryOptions {
    /// The longest wait between two attempts to reach the store while it is down: seconds (5) or
    /// a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "5", value_parser = parse_retry_delay)]
    pub(crate) max_retry_delay: Duration,
}

/// A wait between attempts: a duration, but not zero, which would try again and again without
/// pause while the store is down.
fn parse_retry_delay(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "'{text}' is no time at all: the wait between attempts must be more than zero"
        )),
        delay => Ok(delay),
    }
}

impl RetryOptions {
    /// A quarter of a second first, then twice as long each time up to the longest wait, give
    /// or take a tenth (so that web fronts that lost one store do not all come back at once).
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff {
            initial_delay: Duration::from_millis(250).min(self.max_retry_delay),
            factor: 2.0,
            max_delay: self.max_retry_delay,
            jitter: 0.1,
        }
    }
}

/// Which page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Get,
    Set,
    Delete,
}

/// An error page: its status and its one sentence.
pub(crate) type Refusal = (StatusCode, String);

/// How the pages reach the store.
pub(crate) trait Backend {
    /// Starts `operation` on `key` (and `value`, for a set): the Deferred of the page's body, or
    /// the error page to give at once (the request cannot be carried, the store is unreachable).
    fn request(
        &self,
        operation: Operation,
        key: &str,
        value: &str,
    ) -> Result<Deferred<Vec<u8>>, Refusal>;

    /// What a failed request makes of the page: `Ok` with the body of a miss, or an error page.
    fn failed(&self, failure: &Failure) -> Result<Vec<u8>, Refusal>;
}

/// The site: `/` and the three pages, all over `backend`.
pub(crate) fn make_site<B: Backend + 'static>(backend: Rc<B>) -> Rc<Branch> {
    let root = Rc::new(Branch::new());
    root.put_child("", Rc::new(Index));
    for (name, operation) in [
        ("get", Operation::Get),
        ("set", Operation::Set),
        ("delete", Operation::Delete),
    ] {
        let page = StorePage {
            operation,
            backend: Rc::clone(&backend),
        };
        root.put_child(name, Rc::new(page));
    }
    root
}

/// The page at `/` (the root's child `""`), a plain resource as in the original: its whole body,
/// with the site's `Content-Length` and default `Content-Type: text/html`.
struct Index;

impl Resource for Index {
    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body(INDEX))
    }
}

/// `/get`, `/set` or `/delete`.
struct StorePage<B> {
    operation: Operation,
    backend: Rc<B>,
}

impl<B: Backend + 'static> Resource for StorePage<B> {
    fn render_get(&self, request: &Request) -> RenderResult {
        // A missing argument is a failure, which the site answers with a 500.
        let key = request.require_arg("key")?.to_owned();
        let value = match self.operation {
            Operation::Set => request.require_arg("value")?.to_owned(),
            Operation::Get | Operation::Delete => String::new(),
        };
        let body = match self.backend.request(self.operation, &key, &value) {
            Ok(body) => body,
            Err((status, sentence)) => return Ok(refuse(request, status, &sentence)),
        };
        let (request, backend) = (request.clone(), Rc::clone(&self.backend));
        body.add_both(move |answer: Result<Vec<u8>, Failure>| {
            write_answer(&request, &*backend, answer);
            Ok::<(), Failure>(())
        });
        Ok(Render::NotDoneYet)
    }
}

/// Writes the page once the store has answered (or could not).
fn write_answer(request: &Request, backend: &dyn Backend, answer: Result<Vec<u8>, Failure>) {
    // A client that left gets nothing (and finishing its request would be an error).
    if request.is_lost() {
        return;
    }
    match answer.or_else(|failure| backend.failed(&failure)) {
        Ok(body) => request.write(&body),
        Err((status, sentence)) => {
            request.set_response_code(status);
            let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
            request.write(sentence.as_bytes());
        }
    }
    request.finish();
}

/// An error answer given at once, as plain text.
fn refuse(request: &Request, status: StatusCode, sentence: &str) -> Render {
    request.set_response_code(status);
    let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
    Render::body(sentence.to_owned())
}
