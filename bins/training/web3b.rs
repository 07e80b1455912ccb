//! A page that is another page: the EuroPython 2011 training, slide "twisted.web deferreds"
//! (`web3b.py`), port 8000.
//!
//! `/` and `/page` as in `web2`; `/long?url=<url>` fetches that URL with getPage and answers with
//! its body. `render_get` cannot return the body, which is not there yet: it starts the fetch, adds
//! the callbacks that will write the body and finish the request, and returns `NotDoneYet`. The
//! web server and the HTTP client share the one reactor, and while the page is on its way the
//! server goes on serving everyone else. Nothing of the answer, not even its head, leaves before
//! the page is in; then the body goes out as one piece (one chunk over HTTP/1.1, raw over
//! HTTP/1.0, whose connection then closes).
//!
//! A request without `url` is a 500, as in the original (whose `request.args['url']` raises
//! `KeyError`). Better than the original: a page that cannot be fetched (a 404, a refused
//! connection, a bad URL) is answered `502 Bad Gateway` with a line saying why, and logged, where
//! the original never answers at all; a client that leaves before the page is in cancels the fetch
//! (the page listens to `notify_finish`); `--timeout` bounds a fetch.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8080                  # any web server
//! terminal 2:  cargo run --bin web3b                        # the log
//! terminal 3:  curl 'http://127.0.0.1:8000/long?url=http://127.0.0.1:8080/'
//! ```

#[path = "support/web_pages.rs"]
mod web_pages;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::http::HttpOptions;
use common::cli::output::report_error;
use common::cli::server::ListenOptions;
use common::defer::Failure;
use common::log;
use common::web::client::{Agent, error_line};
use common::web::{Render, RenderResult, Request, Resource, SiteLog, serve_site};
use http::StatusCode;

/// The training's port.
const PORT: u16 = 8000;

/// Serves `/` and `/page` as web2 does, and `/long?url=URL`, which answers with the page at URL,
/// fetched with getPage while the server goes on serving others (EuroPython 2011 training,
/// "twisted.web deferreds"). Logs each request on stdout. Listens on 127.0.0.1:8000 unless told
/// otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    http: HttpOptions,
}

/// The page at `/long`: another page, fetched.
struct LongRunning {
    agent: Agent,
}

impl Resource for LongRunning {
    fn render_get(&self, request: &Request) -> RenderResult {
        // No `url`: a failure, which the site answers with a 500.
        let url = request.require_arg("url")?.to_owned();
        let page = self.agent.get_page(&url);

        // The client gone, nobody would read the page: the fetch is cancelled. (A finished request
        // fires this Deferred's callback instead; cancelling a fired Deferred would do nothing.)
        let fetch = page.clone();
        request.notify_finish().add_errback(move |_lost| {
            fetch.cancel();
            Ok::<(), Failure>(())
        });

        let (writer, failed) = (request.clone(), request.clone());
        page.add_callback(move |body| {
            writer.write(&body);
            writer.finish();
            Ok::<(), Failure>(())
        })
        .add_errback(move |failure| {
            bad_gateway(&failed, &url, &failure);
            Ok::<(), Failure>(())
        });
        Ok(Render::NotDoneYet)
    }
}

/// The errback: the page could not be had. Logged, and answered with a 502 that says why, unless
/// the client has gone (its leaving is what cancelled the fetch, most likely).
fn bad_gateway(request: &Request, url: &str, failure: &Failure) {
    if request.is_lost() {
        return;
    }
    let why = error_line(failure);
    log::msg(format!("Could not fetch {url}: {why}"));
    request.set_response_code(StatusCode::BAD_GATEWAY);
    let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
    request.write(format!("Could not fetch the page: {why}\n").as_bytes());
    request.finish();
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    // A certificate file that cannot be used is a usage error; a client that cannot be made, a
    // failure of the machine's.
    let settings = match options.http.settings() {
        Ok(settings) => settings,
        Err(error) => {
            report_error(error);
            return ExitCode::from(2);
        }
    };
    let agent = match settings.build() {
        Ok(agent) => agent,
        Err(failure) => {
            report_error(failure.error());
            return ExitCode::FAILURE;
        }
    };
    serve_site(&endpoints, SiteLog::Stdout, |_reactor| {
        let root = web_pages::hello_and_page();
        root.put_child("long", Rc::new(LongRunning { agent }));
        root
    })
}
