//! A simple web server: talk 004 (Andrew Bennetts, "Network programming with Twisted"), p.18,
//! port 10998.
//!
//! The whole site is one `Data` page, `hello world` as `text/plain`. The lesson is in one line:
//! the page is put as its own child, under the empty name. A request for `/` asks the root for its
//! child `""`; without that line there is none, and `/` is a 404. With it, `/` (and `//`, `///`)
//! finds the page itself, while `/foo` is still a 404 (a `Data` page has no other child). The
//! server prints nothing of its own, as the talk's; where it listens goes on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin simple-web
//! terminal 2:  curl http://127.0.0.1:10998/                # hello world
//!              curl -i http://127.0.0.1:10998/foo          # 404 No Such Resource
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::ListenOptions;
use common::web::{Data, Resource, SiteLog, serve_site};

/// The talk's port.
const PORT: u16 = 10998;

/// Serves "hello world" as plain text at / (talk 004, p.18). Listens on 127.0.0.1:10998 unless
/// told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Off, |_reactor| {
        let root = Rc::new(Data::new("hello world", "text/plain"));
        // The page is its own child `""`: that is what makes `/` find it. (The two handles make a
        // cycle that is never freed, which is fine for what lives as long as the server.)
        root.put_child("", Rc::clone(&root) as Rc<dyn Resource>);
        root
    })
}
