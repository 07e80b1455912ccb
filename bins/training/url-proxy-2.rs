//! The non-blocking proxy: the EuroPython 2011 training, slide "Twisted Proxy Server (v2)"
//! (`proxy2.py`), port 8000.
//!
//! `url-proxy-1` with one change: the page is fetched with getPage, which returns a Deferred at
//! once, and `line_received` returns too, after adding the callback that will write the page and
//! close the connection. The reactor is free again straight away: clients that ask at the same
//! time are all fetching at once (their `fetching` lines come first), and each is answered as soon
//! as its own page is in (`fetched <url> took <seconds>`, in the order the pages arrive). The
//! whole takes about as long as the slowest page, not the sum ("Much better!").
//!
//! The original prints `fetched <url>` and ` took <seconds>` with two `print`s around the write,
//! the first ending in a comma, which Python 2 turns into one line; we print that line once, after
//! the write. Better than the original: a page that cannot be fetched is one line on stderr and the
//! connection is closed with nothing written, where the original leaves the client waiting for ever;
//! only the first URL of a connection is fetched (the original fetches every one and answers with
//! the first to arrive); `--timeout` bounds a fetch.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8080                 # any web server
//! terminal 2:  cargo run --bin url-proxy-2                 # fetching ..., fetched ... took ...
//! terminal 3:  cargo run --bin timing-client -- --time-format python 127.0.0.1:8000 \
//!                  http://127.0.0.1:8080/ http://127.0.0.1:8080/ http://127.0.0.1:8080/
//! ```

#[path = "support/url_proxy.rs"]
mod url_proxy;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::duration::python_float;
use common::cli::output::report_error;
use common::cli::server::{listen_on, run_server};
use common::defer::Failure;
use common::outln;
use common::protocol::{Address, Factory, Protocol, Transport};
use common::web::client::Agent;
use url_proxy::{PORT, ProxyOptions, report_failure, requested_url};

/// Answers each line `http://...` with the body of that page, fetched with getPage while the
/// server goes on serving others (EuroPython 2011 training, "Twisted Proxy Server (v2)"). Prints
/// what it fetches and how long each took. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    proxy: ProxyOptions,
}

/// One client's connection.
struct ProxyProtocol {
    agent: Agent,
}

impl LineHandler for ProxyProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        let Some(url) = requested_url(line) else {
            return;
        };
        // One URL per connection: whatever follows it is ignored.
        lines.set_raw_mode();
        let start = Instant::now();
        outln!("fetching {url}");
        let (transport, url) = (Rc::clone(lines.transport()), url.to_owned());
        let (writer, fetched) = (Rc::clone(&transport), url.clone());
        // getPage returns at once; the callbacks run when the page is in (or is not).
        self.agent
            .get_page(&url)
            .add_callback(move |page| {
                write_data_and_lose_connection(&writer, &page, &fetched, start);
                Ok::<(), Failure>(())
            })
            .add_errback(move |failure| {
                report_failure(&url, &failure);
                transport.lose_connection();
                Ok::<(), Failure>(())
            });
    }
}

/// The callback: the page is in. Written back, the connection closed, and the line printed.
fn write_data_and_lose_connection(
    transport: &Rc<dyn Transport>,
    page: &[u8],
    url: &str,
    start: Instant,
) {
    transport.write(page);
    transport.lose_connection();
    outln!(
        "fetched {url} took {}",
        python_float(start.elapsed().as_secs_f64())
    );
}

/// Makes a [`ProxyProtocol`], framed in lines, for every connection; they share one HTTP client.
struct ProxyFactory {
    agent: Agent,
}

impl Factory for ProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineReceiver::new(ProxyProtocol {
            agent: self.agent.clone(),
        })))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.proxy.listen.endpoints(PORT);
    let agent = match options.proxy.agent() {
        Ok(agent) => agent,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let factory = Rc::new(ProxyFactory { agent });
    run_server(|reactor| listen_on(reactor, &endpoints, factory))
}
