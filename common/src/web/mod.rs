//! The web: Twisted Web's model (`twisted.web`) on a real HTTP implementation.
//!
//! Twisted Web serves a tree of [`Resource`]s. A [`Site`] is the factory a reactor listens with;
//! for each request it walks the path down the tree to the resource that answers, and that
//! resource renders a [`Request`]: it returns the whole body, or says "not done yet" and writes the
//! body later, piece by piece, from timers, threads or other downloads. Everything else is as in
//! Twisted: the 404 of a missing child, the 405 of a method a resource does not render, HEAD
//! answered from GET, an access log line per request when logging is on.
//!
//! HTTP itself (request parsing, keep-alive, chunked bodies, HTTP/1.0, limits on heads and bodies,
//! a timeout for slow heads) is hyper's: the site's channel protocol hands the connection's
//! bytes to hyper, which hands back requests.
//!
//! * [`resource`]: the tree: [`Resource`], [`Render`], [`Branch`] (a node that only holds children);
//! * [`request`]: [`Request`], the request read and the response being made;
//! * [`site`]: the factory, [`Site`];
//! * [`data`]: a fixed page, [`Data`];
//! * [`static_files`]: files and folders on disk, [`File`] (Twisted's `static.File`);
//! * [`pages`]: the error pages, [`ErrorPage`];
//! * [`serve`]: the whole `main` of a web program, [`serve_site`];
//! * [`client`]: the other side, Twisted's `getPage` and `Agent`: fetching pages, with Deferreds;
//! * [`xmlrpc`]: remote calls as XML over POST, Twisted's `twisted.web.xmlrpc`: the server as a
//!   resource, and its client, `Proxy`.

mod access_log;
mod channel;
pub mod client;
pub mod data;
pub mod pages;
pub mod request;
pub mod resource;
pub mod serve;
pub mod site;
pub mod static_files;
pub mod xmlrpc;

pub use data::Data;
pub use pages::{ErrorPage, escape_html};
pub use request::{ConnectionLost, MissingArgument, Request};
pub use resource::{Branch, Children, Render, RenderResult, Resource};
pub use serve::{SiteLog, serve_custom_site, serve_site};
pub use site::Site;
pub use static_files::File;
