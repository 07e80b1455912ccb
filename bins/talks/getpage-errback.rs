//! A page fetched with getPage, a callback and an errback: talk 001 (Pascal Bach, "Twisted
//! intro"), slide "Error handling using errbacks".
//!
//! The same client as `getpage`, with an errback added after the callback. Whatever goes wrong
//! (no server, a 404, a timeout, or the callback itself failing), the failure travels down the
//! chain to the errback, which prints `Unable to fetch` and stops the reactor: the program always
//! ends, with status 0. (The talk's errback says it without a full stop; the `async` version,
//! `getpage-inline-errback`, says `Unable to fetch.` with one. Both are kept as they were.)
//!
//! ```text
//! terminal 1:  python3 -m http.server 8000
//! terminal 2:  cargo run --bin getpage-errback -- http://127.0.0.1:8000/       # the page
//!              cargo run --bin getpage-errback -- http://127.0.0.1:8000/nope   # Unable to fetch
//! ```

#[path = "support/fetch.rs"]
mod fetch;

use std::process::ExitCode;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::Failure;
use common::outln;
use common::reactor::Reactor;
use common::web::client::{Bytes, get_page_with};

use fetch::{Fetch, TALK_URL, print_page};

/// Fetch a page with getPage; a callback prints it, an errback says "Unable to fetch" (talk 001,
/// "Error handling using errbacks").
#[derive(Debug, Parser)]
#[command(
    name = "getpage-errback",
    version,
    after_help = "Example, with a web server on port 8000:\n  \
                  getpage-errback http://127.0.0.1:8000/\n  \
                  getpage-errback --timeout 2 http://127.0.0.1:8000/missing"
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

/// The errback: the fetch (or the callback) failed. The failure is handled here, so nothing else
/// reports it.
fn print_error(reactor: &Reactor, _failure: Failure) -> Result<(), Failure> {
    outln!("Unable to fetch");
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
    let (on_page, on_error) = (reactor.clone(), reactor.clone());
    let d = d.add_callback(move |html| print_result(&on_page, html));
    d.add_errback(move |failure| print_error(&on_error, failure));

    let _ = reactor.run();
    ExitCode::SUCCESS
}
