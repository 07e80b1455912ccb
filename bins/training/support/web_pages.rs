//! The two pages of the training's slide "twisted.web" (`web2.py`), which `web3.py` serves too:
//! `/` says `HELLO` and `/page` says `A PAGE`. `web2` and `web3` include this file with `#[path]`.
//!
//! Each page is a resource that renders GET by returning its whole body: the site sends it with its
//! `Content-Length` and the default `Content-Type: text/html`, answers HEAD with the same head and
//! no body, and answers POST with a 405 (these pages render GET alone).

use std::rc::Rc;

use common::web::{Branch, Render, RenderResult, Request, Resource};

/// The page at `/` (the root's child named `""`).
pub(crate) struct Index;

impl Resource for Index {
    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body("HELLO"))
    }
}

/// The page at `/page`.
pub(crate) struct Page;

impl Resource for Page {
    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body("A PAGE"))
    }
}

/// The slide's tree: a root with no page of its own, [`Index`] under `""` and [`Page`] under
/// `page`. Anything else (`/page/`, `/nothing`) is a 404.
pub(crate) fn hello_and_page() -> Rc<Branch> {
    let root = Rc::new(Branch::new());
    root.put_child("", Rc::new(Index));
    root.put_child("page", Rc::new(Page));
    root
}
