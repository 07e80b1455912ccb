//! `Data`: a fixed body with its content type (Twisted's `static.Data`), the smallest page there is.

use bytes::Bytes;
use http::Method;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};

use super::{Children, Render, RenderResult, Request, Resource};

/// The same bytes, with the same type, for every GET: talk 004's "hello world" server is one of
/// these.
///
/// Like Twisted's, it is not a leaf: it answers only when the path ends at it, and what is below it
/// is looked up among its children (none unless put there: a 404). That is why talk 004 puts the
/// page under the empty name of itself, so that `/` (the root's child `""`) finds it.
pub struct Data {
    body: Bytes,
    content_type: String,
    children: Children,
}

impl Data {
    /// A page of `body` served as `content_type` (e.g. `text/plain`; no charset is added).
    pub fn new(body: impl Into<Bytes>, content_type: &str) -> Data {
        Data {
            body: body.into(),
            content_type: content_type.to_owned(),
            children: Children::default(),
        }
    }

    /// Puts `child` under `name`, as on a [`Branch`](super::Branch).
    pub fn put_child(&self, name: &str, child: std::rc::Rc<dyn Resource>) {
        self.children.put(name, child);
    }
}

impl Resource for Data {
    fn children(&self) -> Option<&Children> {
        Some(&self.children)
    }

    fn render_get(&self, request: &Request) -> RenderResult {
        // Type, then length: the order Twisted's Data sets them in.
        request.set_header(CONTENT_TYPE.as_str(), &self.content_type)?;
        request.set_header(CONTENT_LENGTH.as_str(), &self.body.len().to_string())?;
        // A HEAD gets the length of the body it would have had, and no body to eat.
        if request.method() == Method::HEAD {
            return Ok(Render::Body(Bytes::new()));
        }
        Ok(Render::Body(self.body.clone()))
    }
}
