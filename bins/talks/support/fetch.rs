//! What talk 001's six page fetchers share unchanged (the four getPage clients and the two
//! blocking ones): the command line (a URL, and `--timeout` and `--cacert`), printing the page,
//! and the report of a failure nobody handled when a signal ends the wait.
//!
//! Included by each of them with `#[path]`; not a program itself. The lesson of each program (who
//! handles the result and the error, and how) stays in its own file.

#![allow(dead_code)] // the blocking fetchers use no Deferred

use std::cell::Cell;
use std::io;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Args;
use common::cli::http::{HttpOptions, parse_url};
use common::cli::output::{print_bytes_line, report_error};
use common::defer::Deferred;
use common::errln;
use common::web::client::{AgentBuilder, error_line};

/// The page the talk's getPage examples fetch.
pub const TALK_URL: &str = "http://python.org";

/// The page the talk's urllib2 examples fetch (with its slash, as on the slides).
pub const URLLIB_URL: &str = "http://python.org/";

/// The command line of every fetcher: which page, and how patiently.
#[derive(Debug, Args)]
pub struct Fetch {
    /// The page to fetch, an http:// or https:// URL [default: the talk's python.org].
    #[arg(value_name = "URL", value_parser = parse_url)]
    pub url: Option<String>,

    #[command(flatten)]
    pub http: HttpOptions,
}

impl Fetch {
    /// The URL given, or the talk's.
    pub fn url_or(&self, default: &str) -> String {
        self.url.clone().unwrap_or_else(|| default.to_owned())
    }

    /// The HTTP client's settings. A certificate file that cannot be read or holds no
    /// certificate is a usage error: reported, and the status to exit with (2) returned.
    pub fn settings(&self) -> Result<AgentBuilder, ExitCode> {
        self.http.settings().map_err(|error| {
            report_error(error);
            ExitCode::from(2)
        })
    }
}

/// The page, as Python 2's `print html` writes it: the bytes as they came, then a newline.
pub fn print_page(page: &[u8]) {
    print_bytes_line(&mut io::stdout().lock(), &[page]);
}

/// Once a signal has stopped the reactor: if `outcome` failed and nobody handled the failure, says
/// so on stderr, `Unhandled error in Deferred:` and the failure in one line, as Twisted does when
/// it collects such a Deferred on the way out. Returns whether there was such a failure. (A fetch
/// still waiting for its page is no failure: nothing is printed.)
pub fn report_unhandled(outcome: &Deferred<()>) -> bool {
    let failed = Rc::new(Cell::new(false));
    let to_set = Rc::clone(&failed);
    // The Deferred has fired already if it ever will: this errback runs now, or never.
    outcome.add_errback(move |failure| {
        errln!("Unhandled error in Deferred:");
        errln!("{}", error_line(&failure));
        to_set.set(true);
        Ok(())
    });
    failed.get()
}
