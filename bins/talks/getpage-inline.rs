//! A page fetched with getPage in an async block: talk 001 (Pascal Bach, "Twisted intro"), slide
//! "Even better in twisted".
//!
//! Twisted's `inlineCallbacks` lets a generator `yield` a Deferred and carry on with its result, so
//! that asynchronous code reads top to bottom. Rust's `async`/`.await` is the same idea:
//! `get_page(url).await` waits for the page without blocking the reactor, and the block goes on
//! to print it and stop the reactor. [`Deferred::from_future`] runs the block on the reactor (it
//! is the `printResult()` call of the slide).
//!
//! As on the slide, there is no error handling: when the fetch fails, the `?` ends the block with
//! the failure, which becomes the failure of the block's Deferred, which nobody handles. The
//! reactor is never stopped, and the program waits until Ctrl-C (or SIGTERM); then it reports
//! `Unhandled error in Deferred:` and the failure in one line on stderr (exit status 1).
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin getpage-inline -- http://127.0.0.1:8000/       # the page
//!              cargo run --bin getpage-inline -- http://127.0.0.1:8000/nope   # waits: Ctrl-C
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::reactor::Reactor;
use common::web::client::{AgentBuilder, get_page_with};

use fetch::{Fetch, TALK_URL, print_page, report_unhandled};

/// Fetch a page with getPage in an async block (inlineCallbacks); with no error handling, a
/// failure leaves it waiting until Ctrl-C (talk 001, "Even better in twisted").
#[derive(Debug, Parser)]
#[command(
    name = "getpage-inline",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  getpage-inline http://127.0.0.1:8000/\n\
                  Against a page that fails it never ends by itself: Ctrl-C reports the failure."
)]
struct Options {
    #[command(flatten)]
    fetch: Fetch,
}

/// The slide's `printResult`: fetch, print, stop. A failed fetch ends it at the `?`.
async fn print_result(
    reactor: Reactor,
    url: String,
    settings: AgentBuilder,
) -> Result<(), Failure> {
    let html = get_page_with(&url, settings).await?;
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

    let url = options.fetch.url_or(TALK_URL);
    let d = Deferred::from_future(print_result(reactor.clone(), url, settings));

    let _ = reactor.run();
    if report_unhandled(&d) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
