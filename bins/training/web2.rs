//! Two pages: the EuroPython 2011 training, slide "twisted.web" (`web2.py`), port 8000.
//!
//! A site is a tree of resources. The root has no page of its own; its child named `""` answers
//! `/` with `HELLO`, and its child `page` answers `/page` with `A PAGE`. Each page is a resource
//! whose `render_get` returns the whole body; the site does the rest (status, headers, HEAD, the
//! 404 of `/page/` or `/nothing`, the 405 of a POST). Twisted's log goes to stdout, one access
//! line per request.
//!
//! ```text
//! terminal 1:  cargo run --bin web2                        # the log
//! terminal 2:  curl http://127.0.0.1:8000/                 # HELLO
//!              curl http://127.0.0.1:8000/page             # A PAGE
//! ```

#[path = "support/web_pages.rs"]
mod web_pages;

use std::process::ExitCode;

use clap::Parser;
use common::cli::server::ListenOptions;
use common::web::{SiteLog, serve_site};

/// The training's port.
const PORT: u16 = 8000;

/// Serves `HELLO` at `/` and `A PAGE` at `/page`, logging each request on stdout (EuroPython 2011
/// training, "twisted.web"). Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |_reactor| {
        web_pages::hello_and_page()
    })
}
