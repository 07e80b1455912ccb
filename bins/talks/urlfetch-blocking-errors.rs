//! A page fetched the blocking way, its errors handled: talk 001 (Pascal Bach, "Twisted intro"),
//! slide "Lets handle some errors".
//!
//! The blocking fetch of `urlfetch-blocking` inside the slide's `try`/`except`: whatever goes
//! wrong (no server, a 404, a timeout), the program prints `Unable to fetch.` and ends normally,
//! status 0. The talk then shows the same two programs with Twisted: `getpage` and
//! `getpage-errback`.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin urlfetch-blocking-errors -- http://127.0.0.1:8000/nope
//!                                                  # Unable to fetch.
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::outln;
use common::web::client::blocking::BlockingAgent;

use fetch::{Fetch, URLLIB_URL, print_page};

/// Fetch a page with a blocking call; print it, or "Unable to fetch." (talk 001, "Lets handle some
/// errors").
#[derive(Debug, Parser)]
#[command(
    name = "urlfetch-blocking-errors",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  urlfetch-blocking-errors http://127.0.0.1:8000/missing"
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
    // The slide's `try`: the whole fetch; its `except Exception`: any failure at all.
    let fetched = BlockingAgent::new(settings)
        .and_then(|agent| agent.get_page(&options.fetch.url_or(URLLIB_URL)));
    match fetched {
        Ok(html) => print_page(&html),
        Err(_) => outln!("Unable to fetch."),
    }
    ExitCode::SUCCESS
}
