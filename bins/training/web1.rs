//! The empty site: the EuroPython 2011 training, slide "twisted.web NOP" (`web1.py`), port 8000.
//!
//! The smallest Twisted Web program: a root resource with no children, a `Site` made from it,
//! and the reactor listening with the site as it would with any factory. Every request (any path,
//! any method, `/` included) is answered with the 404 page, since the root has no page of its
//! own and no child to look up. As on the slide, the program starts Twisted's log on stdout: the
//! start-up lines, one access line per request, and the shut-down lines after Ctrl-C.
//!
//! ```text
//! terminal 1:  cargo run --bin web1                        # the log
//! terminal 2:  curl -i http://127.0.0.1:8000/              # 404 No Such Resource
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::ListenOptions;
use common::web::{Branch, SiteLog, serve_site};

/// The training's port.
const PORT: u16 = 8000;

/// A web site with nothing in it: every request is a 404, and each one is logged on stdout
/// (EuroPython 2011 training, "twisted.web NOP"). Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |_reactor| {
        Rc::new(Branch::new())
    })
}
