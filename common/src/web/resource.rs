//! Resources: Twisted Web's tree of pages (`twisted.web.resource`).
//!
//! A site is a tree. The site walks a request's path down it, one segment at a time, asking each
//! resource for the child of that name ([`Resource::get_child`], or children put in advance with
//! [`Branch::put_child`]), until the path is used up or a resource says it is a leaf. That resource
//! then renders: [`Resource::render`] dispatches on the method to `render_get`, `render_post`...,
//! and returns the whole body, or [`Render::NotDoneYet`] when the page will write it later.
//!
//! `/` is the child named `""` of the root, and `/page/` the child `""` of `page`: a tree that
//! wants to answer `/` puts a child under the empty name (talk 004's simple web server does it
//! with the root itself).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use http::Method;

use super::{ErrorPage, Request};
use crate::defer::Failure;

/// What rendering gave.
#[derive(Debug)]
pub enum Render {
    /// The whole body: the site sends it with its `Content-Length`.
    Body(Bytes),
    /// Twisted's `NOT_DONE_YET`: the page keeps the request and will `write` and `finish` it later.
    NotDoneYet,
    /// The resource does not answer this method: the site answers 405 (with the resource's
    /// [`allowed_methods`](Resource::allowed_methods)) or 501 for a method it does not know.
    NotAllowed,
}

impl Render {
    /// The whole body, from anything that can be turned into bytes.
    pub fn body(body: impl Into<Bytes>) -> Render {
        Render::Body(body.into())
    }
}

/// What a render method returns: a [`Render`], or a failure that the site answers with a 500
/// ("Processing Failed") and logs. `?` works on any error.
pub type RenderResult = Result<Render, Failure>;

/// A page, or a folder of pages: one node of a site's tree.
///
/// Implement the `render_*` methods the resource answers, and list them in
/// [`allowed_methods`](Resource::allowed_methods) (Twisted finds its `render_GET`s by reflection;
/// Rust says them).
pub trait Resource {
    /// A leaf renders whatever remains of the path itself (it is in [`Request::postpath`]); the
    /// site does not look for its children.
    fn is_leaf(&self) -> bool {
        false
    }

    /// The children put in advance, if this resource keeps any (see [`Branch`]).
    fn children(&self) -> Option<&Children> {
        None
    }

    /// The child named `name` (a decoded path segment) when it is not among [`children`]: a child
    /// computed on demand. `None` is a 404.
    ///
    /// [`children`]: Resource::children
    fn get_child(&self, name: &str, request: &Request) -> Option<Rc<dyn Resource>> {
        let _ = (name, request);
        None
    }

    /// The methods this resource renders, for the `Allow` header of a 405 (`HEAD` is added where
    /// `GET` is).
    fn allowed_methods(&self) -> &[Method] {
        &[Method::GET]
    }

    /// Renders the request: by default, the `render_*` method of its HTTP method.
    fn render(&self, request: &Request) -> RenderResult {
        match *request.method() {
            Method::GET => self.render_get(request),
            Method::HEAD => self.render_head(request),
            Method::POST => self.render_post(request),
            Method::PUT => self.render_put(request),
            Method::DELETE => self.render_delete(request),
            _ => Ok(Render::NotAllowed),
        }
    }

    /// Answers a GET.
    fn render_get(&self, request: &Request) -> RenderResult {
        let _ = request;
        Ok(Render::NotAllowed)
    }

    /// Answers a HEAD: a GET whose body the site does not send.
    fn render_head(&self, request: &Request) -> RenderResult {
        self.render_get(request)
    }

    /// Answers a POST.
    fn render_post(&self, request: &Request) -> RenderResult {
        let _ = request;
        Ok(Render::NotAllowed)
    }

    /// Answers a PUT.
    fn render_put(&self, request: &Request) -> RenderResult {
        let _ = request;
        Ok(Render::NotAllowed)
    }

    /// Answers a DELETE.
    fn render_delete(&self, request: &Request) -> RenderResult {
        let _ = request;
        Ok(Render::NotAllowed)
    }
}

/// Children put on a resource in advance, by name: what Twisted's `putChild` fills.
#[derive(Default)]
pub struct Children(RefCell<HashMap<String, Rc<dyn Resource>>>);

impl Children {
    /// Puts `child` under `name` (a decoded segment; `""` answers the path ending in `/`).
    pub fn put(&self, name: &str, child: Rc<dyn Resource>) {
        self.0.borrow_mut().insert(name.to_owned(), child);
    }

    /// The child put under `name`.
    pub fn get(&self, name: &str) -> Option<Rc<dyn Resource>> {
        self.0.borrow().get(name).cloned()
    }
}

/// Twisted's plain `Resource()`: a node that only holds children. It has no page of its own:
/// reached with nothing left of the path (`/folder` rather than `/folder/`), it answers 404, as
/// a missing child does.
#[derive(Default)]
pub struct Branch {
    children: Children,
}

impl Branch {
    /// A node with no children yet.
    pub fn new() -> Branch {
        Branch::default()
    }

    /// Puts `child` under `name`: `root.put_child("page", Rc::new(Page))`.
    pub fn put_child(&self, name: &str, child: Rc<dyn Resource>) {
        self.children.put(name, child);
    }
}

impl Resource for Branch {
    fn children(&self) -> Option<&Children> {
        Some(&self.children)
    }

    fn render(&self, request: &Request) -> RenderResult {
        Ok(ErrorPage::no_resource().render_on(request))
    }
}
