//! A page fetched the blocking way: talk 001 (Pascal Bach, "Twisted intro"), slide "An example"
//! (`urllib2.urlopen`).
//!
//! Before the talk shows Twisted, it fetches a page as most programs do: one call that returns
//! only once the whole page is in, the thread doing nothing meanwhile. Here that call is
//! [`BlockingAgent::get_page`]: no reactor, no Deferred, no callback; the next line runs when the
//! page has arrived. It prints the page (raw, then a newline, as Python 2's `print` does).
//!
//! As on the slide, nothing handles an error: a refused connection, a 404 or a timeout ends the
//! program with status 1 and the error in one line on stderr (`urlfetch-blocking: error:
//! HttpError: 404 Not Found`), where Python prints a traceback. Redirects are followed, as urllib2
//! follows them.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin urlfetch-blocking -- http://127.0.0.1:8000/
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::cli::output::report_error;
use common::web::client::blocking::BlockingAgent;
use common::web::client::error_line;

use fetch::{Fetch, URLLIB_URL, print_page};

/// Fetch a page with a blocking call and print it; an error ends the program (talk 001, "An
/// example": urllib2.urlopen).
#[derive(Debug, Parser)]
#[command(
    name = "urlfetch-blocking",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  urlfetch-blocking http://127.0.0.1:8000/"
)]
struct Options {
    #[command(flatten)]
    fetch: Fetch,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let settings = match options.fetch.settings() {
        Ok(settings) => settings,
        Err(status) => return status,
    };
    let fetched = BlockingAgent::new(settings)
        .and_then(|agent| agent.get_page(&options.fetch.url_or(URLLIB_URL)));
    match fetched {
        Ok(html) => {
            print_page(&html);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            report_error(error_line(&failure));
            ExitCode::FAILURE
        }
    }
}
