//! Files and folders served as they are on disk: Twisted's `static.File`.
//!
//! ```no_run
//! # use std::rc::Rc;
//! # use common::reactor::Reactor;
//! # use common::web::{File, Site};
//! let reactor = Reactor::new().unwrap();
//! let site = Site::new(Rc::new(File::new(".")));
//! reactor.listen_tcp(8080, Rc::new(site), "127.0.0.1").unwrap();
//! reactor.run().unwrap();
//! ```
//!
//! A [`File`] is a folder (or a single file) put in a site's tree. It is a leaf: whatever path
//! remains below it names something inside its folder, and it finds that itself (`resolve`).
//! What it answers, as Twisted's `static.File` answers:
//!
//! * a file: its bytes, with `Accept-Ranges`, `Content-Length`, `Content-Type`, `Content-Encoding`
//!   for compressed files, and `Last-Modified` (`types` says which type); `If-Modified-Since`
//!   and `Range` are honoured (`ranges`, `send`); the bytes are streamed, never read whole;
//! * a folder asked without its trailing slash: a 302 to the slash form, query kept;
//! * a folder with its slash: its index file (`index`, `index.html`, `index.htm`, unless told
//!   otherwise), else the listing of its entries (`listing`);
//! * anything else, and any path that would leave the folder: the 404 `File not found.`.
//!
//! Where it differs from Twisted, on purpose: no file is ever run (Twisted's `twistd web` runs
//! `.rpy`, `.epy` and `.cgi` files; here they are files like others), types come from a table
//! built into the program rather than the machine's `mime.types`, and a listing answers only GET
//! and HEAD (405 for the other methods, where Twisted sends the listing to any method).

mod listing;
mod ranges;
mod resolve;
mod send;
mod types;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};

use self::resolve::{Target, resolve};
use super::pages::method_not_allowed;
use super::{ErrorPage, Render, RenderResult, Request, Resource, escape_html};
pub use types::{DEFAULT_TYPE, type_and_encoding};

/// The files that stand for a folder asked with its trailing slash, the first found in this order.
pub const DEFAULT_INDEX_NAMES: [&str; 3] = ["index", "index.html", "index.htm"];

/// A folder, or a single file, served as it is on disk (Twisted's `static.File`).
pub struct File {
    path: PathBuf,
    default_type: String,
    index_names: Vec<String>,
}

impl File {
    /// Serves `path`, a folder (every file below it) or a single file, with Twisted's defaults:
    /// `text/html` for files of unknown type, and [`DEFAULT_INDEX_NAMES`].
    pub fn new(path: impl Into<PathBuf>) -> File {
        File {
            path: path.into(),
            default_type: DEFAULT_TYPE.to_owned(),
            index_names: DEFAULT_INDEX_NAMES.map(str::to_owned).to_vec(),
        }
    }

    /// The type of files whose extension says nothing (`application/octet-stream`, say), instead
    /// of Twisted's `text/html`.
    pub fn with_default_type(mut self, content_type: &str) -> File {
        content_type.clone_into(&mut self.default_type);
        self
    }

    /// The index files to look for in a folder, in order, instead of [`DEFAULT_INDEX_NAMES`]; none
    /// at all makes every folder a listing.
    pub fn with_index_names(mut self, names: Vec<String>) -> File {
        self.index_names = names;
        self
    }

    /// What this resource serves.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The type given to files whose extension says nothing.
    pub fn default_type(&self) -> &str {
        &self.default_type
    }
}

/// Whether a method reads: only GET and HEAD are answered with a file or a listing.
fn reads(request: &Request) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD)
}

impl Resource for File {
    /// The rest of the path is a path inside the folder, which `File` follows itself.
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &Request) -> RenderResult {
        match resolve(&self.path, &request.postpath(), &self.index_names) {
            Target::Missing => Ok(not_found().render_on(request)),
            Target::Listing { base, folder } => {
                if !reads(request) {
                    return Ok(method_not_allowed(request, &[Method::GET]));
                }
                match listing::listing_page(&base, &folder, request.uri(), &self.default_type) {
                    Ok(page) => {
                        request.set_header(CONTENT_TYPE.as_str(), "text/html; charset=utf-8")?;
                        Ok(whole_body(request, page.into()))
                    }
                    Err(_) => Ok(send::forbidden().render_on(request)),
                }
            }
            // A file or a redirect: GET and HEAD only, the others are the site's 405 or 501.
            _ if !reads(request) => Ok(Render::NotAllowed),
            Target::AddSlash => add_slash(request),
            Target::File { path, meta, name } => {
                send::send_file(request, &path, &meta, &name, &self.default_type)
            }
        }
    }
}

/// The 404 of every path that names nothing that may be served (Twisted's 145-byte page).
pub(crate) fn not_found() -> ErrorPage {
    ErrorPage::new(StatusCode::NOT_FOUND, "No Such Resource", "File not found.")
}

/// The 302 that sends a client from `/folder` to `/folder/` (and `/folder?x=1` to
/// `/folder/?x=1`), with Twisted's little page for clients that do not follow redirects.
fn add_slash(request: &Request) -> RenderResult {
    let uri = request.uri();
    let location = match uri.split_once('?') {
        Some((path, query)) => format!("{path}/?{query}"),
        None => format!("{uri}/"),
    };
    let url = escape_html(&location);
    let page = format!(
        concat!(
            "\n",
            "<html>\n",
            "    <head>\n",
            "        <meta http-equiv=\"refresh\" content=\"0;URL={url}\">\n",
            "    </head>\n",
            "    <body bgcolor=\"#FFFFFF\" text=\"#000000\">\n",
            "    <a href=\"{url}\">click here</a>\n",
            "    </body>\n",
            "</html>\n",
        ),
        url = url
    );
    request.set_response_code(StatusCode::FOUND);
    request.set_header(CONTENT_TYPE.as_str(), "text/html; charset=utf-8")?;
    request.set_header(LOCATION.as_str(), &location)?;
    Ok(whole_body(request, page.into()))
}

/// A page's body, or for HEAD only its length: the same head without a body to throw away.
fn whole_body(request: &Request, body: Bytes) -> Render {
    if request.method() == Method::HEAD {
        let _ = request.set_header(CONTENT_LENGTH.as_str(), &body.len().to_string());
        return Render::Body(Bytes::new());
    }
    Render::Body(body)
}
