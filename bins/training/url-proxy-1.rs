//! The blocking proxy: the EuroPython 2011 training, slide "Twisted Proxy Server (v1)"
//! (`proxy1.py`), port 8000.
//!
//! A `LineReceiver` whose `line_received` takes a line that starts with `http://` as a URL, fetches
//! that page, writes its body back and closes the connection, printing `fetching <url>`, `fetched
//! <url>` and `took <seconds>` on the way. The fetch is a blocking call, as the slide's
//! `urllib2.urlopen(url).read()`: it holds the reactor's thread until the whole page is in. That is
//! the lesson ("Something's wrong!"): while one page is fetched, no other client is accepted, read
//! or answered, so clients that ask at the same time are served one after the other, and the last
//! one waits for the sum of all the fetches. `url-proxy-2` is the cure.
//!
//! Lines that are not `http://` URLs are ignored, without a word, and only the first URL of a
//! connection is served. Better than the original: a page that cannot be fetched (a 404, a refused
//! connection) is one line on stderr and the connection is closed with nothing written, where the
//! original's exception drops the connection and prints a traceback; `--timeout` bounds a fetch.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8080                 # any web server
//! terminal 2:  cargo run --bin url-proxy-1                 # fetching ..., fetched ..., took ...
//! terminal 3:  cargo run --bin timing-client -- --time-format python 127.0.0.1:8000 \
//!                  http://127.0.0.1:8080/ http://127.0.0.1:8080/ http://127.0.0.1:8080/
//! ```

#[path = "support/url_proxy.rs"]
mod url_proxy;
#[path = "support/urlopen.rs"]
mod urlopen;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::duration::python_float;
use common::cli::server::{listen_on, run_server};
use common::outln;
use common::protocol::{Address, Factory, Protocol};
use url_proxy::{PORT, ProxyOptions, report_failure, requested_url};
use urlopen::UrlOpener;

/// Answers each line `http://...` with the body of that page, fetched with a blocking call that
/// holds up every other client (EuroPython 2011 training, "Twisted Proxy Server (v1)"). Prints
/// what it fetches and how long it took. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    proxy: ProxyOptions,
}

/// One client's connection.
struct ProxyProtocol {
    opener: Rc<UrlOpener>,
}

impl LineHandler for ProxyProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        let Some(url) = requested_url(line) else {
            return;
        };
        let start = Instant::now();
        outln!("fetching {url}");
        // The call that blocks: the reactor does nothing else until it returns.
        let page = match self.opener.read(url) {
            Ok(page) => page,
            Err(failure) => {
                report_failure(url, &failure);
                lines.lose_connection();
                return;
            }
        };
        outln!("fetched {url}");
        lines.transport().write(&page);
        // Closing also means that no further line of this connection is delivered.
        lines.lose_connection();
        outln!("took {}", python_float(start.elapsed().as_secs_f64()));
    }
}

/// Makes a [`ProxyProtocol`], framed in lines, for every connection (the slide's
/// `factory.protocol = ProxyProtocol`).
struct ProxyFactory {
    opener: Rc<UrlOpener>,
}

impl Factory for ProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineReceiver::new(ProxyProtocol {
            opener: Rc::clone(&self.opener),
        })))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.proxy.listen.endpoints(PORT);
    let factory = Rc::new(ProxyFactory {
        opener: Rc::new(UrlOpener::new(options.proxy.timeout)),
    });
    run_server(|reactor| listen_on(reactor, &endpoints, factory))
}
