//! Twisted Web Hello World: talk 001 (Pascal Bach, "Twisted intro"), port 8880.
//!
//! A site whose root is a leaf resource: the site asks a leaf for no children, so every path
//! (`/`, `/a/b`, `/?x=1`) reaches the same page, `<html><body>Hello Twisted</body></html>`. The
//! resource renders GET alone; the site answers HEAD with the same head, POST with a 405 and a
//! method it does not know (PUT, DELETE) with a 501. The server prints nothing of its own, as
//! the talk's; where it listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin hello-web
//! terminal 2:  curl http://127.0.0.1:8880/anything         # <html><body>Hello Twisted</body></html>
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::ListenOptions;
use common::web::{Render, RenderResult, Request, Resource, SiteLog, serve_site};

/// The talk's port.
const PORT: u16 = 8880;

/// The page, for every path.
const HELLO: &str = "<html><body>Hello Twisted</body></html>";

/// Answers every GET, whatever its path, with a hello page (talk 001, "Twisted Web Hello World").
/// Listens on 127.0.0.1:8880 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

/// The one resource of the site: a leaf, so the whole path is its own.
struct Hello;

impl Resource for Hello {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, _request: &Request) -> RenderResult {
        Ok(Render::body(HELLO))
    }
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Off, |_reactor| Rc::new(Hello))
}
