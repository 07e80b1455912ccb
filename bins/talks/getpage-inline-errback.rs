//! A page fetched with getPage in an async block, with its errors handled: talk 001 (Pascal
//! Bach, "Twisted intro"), slide "Error handling usind yield".
//!
//! The `async` version of `getpage-errback`. With `inlineCallbacks`, a failed Deferred raises its
//! exception at the `yield`, so the slide handles it with `try`/`except`/`finally`; in Rust the
//! awaited Deferred gives a `Result`, and a `match` is the `try`/`except`: the page is printed, or
//! `Unable to fetch.` (with a full stop, as on this slide). The `finally` is what comes after the
//! `match`, which runs either way: it stops the reactor. The program always ends, status 0.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin getpage-inline-errback -- http://127.0.0.1:8000/
//!              cargo run --bin getpage-inline-errback -- http://127.0.0.1:8000/nope
//!                                                  # the page, then: Unable to fetch.
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, Failure};
use common::outln;
use common::reactor::Reactor;
use common::web::client::{AgentBuilder, get_page_with};

use fetch::{Fetch, TALK_URL, print_page};

/// Fetch a page with getPage in an async block, and handle its failure: "Unable to fetch." (talk
/// 001, "Error handling usind yield").
#[derive(Debug, Parser)]
#[command(
    name = "getpage-inline-errback",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  getpage-inline-errback http://127.0.0.1:8000/\n  \
                  getpage-inline-errback --timeout 2 http://127.0.0.1:8000/missing"
)]
struct Options {
    #[command(flatten)]
    fetch: Fetch,
}

/// The slide's `printResult`, with its `try`, `except` and `finally`.
async fn print_result(
    reactor: Reactor,
    url: String,
    settings: AgentBuilder,
) -> Result<(), Failure> {
    match get_page_with(&url, settings).await {
        Ok(html) => print_page(&html),
        Err(_) => outln!("Unable to fetch."),
    }
    // The `finally`: reached after the page and after the failure alike.
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
    Deferred::from_future(print_result(reactor.clone(), url, settings));

    let _ = reactor.run();
    ExitCode::SUCCESS
}
