//! `Data`: a fixed body with its content type (Twisted's `static.Data`), the smallest page there is.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};

use super::{Render, RenderResult, Request, Resource};

/// The same bytes, with the same type, for every GET: talk 004's "hello world" server is one of
/// these.
pub struct Data {
    body: Bytes,
    content_type: String,
}

impl Data {
    /// A page of `body` served as `content_type` (e.g. `text/plain`; no charset is added).
    pub fn new(body: impl Into<Bytes>, content_type: &str) -> Data {
        Data {
            body: body.into(),
            content_type: content_type.to_owned(),
        }
    }
}

impl Resource for Data {
    /// Like Twisted's `Data`, it answers whatever path remains below it.
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, request: &Request) -> RenderResult {
        // Type, then length: the order Twisted's Data sets them in.
        request.set_header(CONTENT_TYPE.as_str(), &self.content_type)?;
        request.set_header(CONTENT_LENGTH.as_str(), &self.body.len().to_string())?;
        Ok(Render::Body(self.body.clone()))
    }
}
