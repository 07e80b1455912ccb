//! The caching proxy with chained Deferreds: the EuroPython 2011 training, Exercise 2b, slide
//! "Caching Proxy Server (v2)" (`proxy2_ex2.py`), port 8000.
//!
//! The same proxy as `url-proxy-2-ex1`, arranged as the exercise asks: one method to get a page,
//! returning a Deferred; one callback to store the page in the cache; one callback to write it to
//! the transport. The point is that the page getter always returns a Deferred, whether it has the
//! page or not:
//!
//! * on a hit, a Deferred that has already fired with the cached page (`succeed(page)`, the slide's
//!   `defer.succeed(data)`: "a primed Deferred");
//! * on a miss, getPage's Deferred with `store_in_cache` added, which keeps the page and returns it
//!   unchanged, so that it goes on down the chain.
//!
//! Either way `line_received` adds the same callback, `write_data_to_transport`, and never needs to
//! know which it got: a callback added to a Deferred that has fired runs at once.
//!
//! Better than the original, as `url-proxy-2-ex1` is: a bounded cache, one fetch shared by clients
//! that ask for a page at once, `--timeout`, and a failed fetch closing the connection with one line
//! on stderr. The slide's version calls a method by a name it never defined, so every URL crashes
//! its connection; ours is the repository's version, which works.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8080                 # any web server; it logs each fetch
//! terminal 2:  cargo run --bin url-proxy-2-ex2
//! terminal 3:  cargo run --bin timing-client -- --time-format python 127.0.0.1:8000 \
//!                  http://127.0.0.1:8080/ http://127.0.0.1:8080/       # twice: one fetch
//! ```

#[path = "support/page_cache.rs"]
mod page_cache;
#[path = "support/url_proxy.rs"]
mod url_proxy;

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::basic::{LineHandler, LineReceiver, Lines};
use common::cli::output::report_error;
use common::cli::server::{listen_on, run_server};
use common::defer::{Deferred, Failure, succeed};
use common::protocol::{Address, Factory, Protocol, Transport};
use common::web::client::Bytes;
use page_cache::{CacheOptions, PageCache, Upstream};
use url_proxy::{PORT, ProxyOptions, report_failure, requested_url};

/// Answers each line `http://...` with the body of that page, fetched once and then served from a
/// cache, the page coming as a Deferred in both cases (EuroPython 2011 training, Exercise 2b).
/// Prints nothing. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    proxy: ProxyOptions,

    #[command(flatten)]
    cache: CacheOptions,
}

/// One client's connection, with handles on its factory's cache and upstream.
struct CachingProxyProtocol {
    cache: Rc<RefCell<PageCache>>,
    upstream: Rc<Upstream>,
}

impl CachingProxyProtocol {
    /// The page at `url`, as a Deferred: already fired when it is cached, getPage's (with the
    /// callback that caches the page) when it is not.
    fn get_page(&self, url: &str) -> Deferred<Bytes> {
        let cached = self.cache.borrow_mut().get(url);
        if let Some(data) = cached {
            return succeed(data);
        }
        let (cache, url) = (Rc::clone(&self.cache), url.to_owned());
        self.upstream
            .get_page(&url)
            .add_callback(move |data| store_in_cache(data, &url, &cache))
    }
}

/// The first callback of a fetched page: keeps it in the cache, and passes it on.
fn store_in_cache(data: Bytes, url: &str, cache: &RefCell<PageCache>) -> Result<Bytes, Failure> {
    cache.borrow_mut().insert(url, data.clone());
    Ok(data)
}

/// The last callback, for a cached page and a fetched one alike: the page to the client, and the
/// end of the connection.
fn write_data_to_transport(data: &[u8], transport: &Rc<dyn Transport>) -> Result<(), Failure> {
    transport.write(data);
    transport.lose_connection();
    Ok(())
}

impl LineHandler for CachingProxyProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        let Some(url) = requested_url(line) else {
            return;
        };
        // One URL per connection: whatever follows it is ignored.
        lines.set_raw_mode();
        let (transport, writer, url) = (
            Rc::clone(lines.transport()),
            Rc::clone(lines.transport()),
            url.to_owned(),
        );
        self.get_page(&url)
            .add_callback(move |data| write_data_to_transport(&data, &writer))
            .add_errback(move |failure| {
                report_failure(&url, &failure);
                transport.lose_connection();
                Ok::<(), Failure>(())
            });
    }
}

/// Makes a [`CachingProxyProtocol`], framed in lines, for every connection; the cache lives here,
/// shared by them all.
struct CachingProxyFactory {
    cache: Rc<RefCell<PageCache>>,
    upstream: Rc<Upstream>,
}

impl Factory for CachingProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(LineReceiver::new(CachingProxyProtocol {
            cache: Rc::clone(&self.cache),
            upstream: Rc::clone(&self.upstream),
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
    let factory = Rc::new(CachingProxyFactory {
        cache: Rc::new(RefCell::new(options.cache.cache())),
        upstream: Upstream::new(agent),
    });
    run_server(|reactor| listen_on(reactor, &endpoints, factory))
}
