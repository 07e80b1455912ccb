//! A page fetched with getPage and a callback: talk 001 (Pascal Bach, "Twisted intro"), slide
//! "The same in twisted".
//!
//! `get_page(url)` returns at once with a Deferred, the promise of the page; the callback added to
//! it prints the page and stops the reactor. Nothing happens until the reactor runs: then the
//! request goes out, and when the page is in, the Deferred fires its callback.
//!
//! There is no errback, and that is the slide's point, made by the next ones: when the fetch
//! fails (no server, a 404, a timeout), the failure sits at the end of the Deferred's chain,
//! nobody stops the reactor, and the program waits for ever, saying nothing. Ctrl-C (or SIGTERM)
//! ends it; then, as Twisted does on the way out, the failure nobody handled is reported on
//! stderr: `Unhandled error in Deferred:` and the failure in one line (exit status 1).
//!
//! The talk fetches `http://python.org`; ours takes the page as an argument.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000                  # any web server
//! terminal 2:  cargo run --bin getpage -- http://127.0.0.1:8000/     # the page, then it ends
//!              cargo run --bin getpage -- http://127.0.0.1:8000/nope # waits: Ctrl-C, and then
//!                                                  # Unhandled error in Deferred:
//!                                                  # HttpError: 404 Not Found
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::Failure;
use common::reactor::Reactor;
use common::web::client::{Bytes, get_page_with};

use fetch::{Fetch, TALK_URL, print_page, report_unhandled};

/// Fetch a page with getPage and print it from a callback; with no errback, a failure leaves it
/// waiting until Ctrl-C (talk 001, "The same in twisted").
#[derive(Debug, Parser)]
#[command(
    name = "getpage",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  getpage http://127.0.0.1:8000/\n\
                  Against a page that fails it never ends by itself: Ctrl-C reports the failure."
)]
struct Options {
    #[command(flatten)]
    fetch: Fetch,
}

/// The callback: the page arrived.
fn print_result(reactor: &Reactor, html: Bytes) -> Result<(), Failure> {
    print_page(&html);
    let _ = reactor.stop();
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let settings = match options.fetch.settings() {
        Ok(settings) => settings,
        Err(status) => return status,
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let d = get_page_with(&options.fetch.url_or(TALK_URL), settings);
    let stopper = reactor.clone();
    let d = d.add_callback(move |html| print_result(&stopper, html));

    let _ = reactor.run();
    if report_unhandled(&d) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
