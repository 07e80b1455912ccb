//! The caching proxy: the EuroPython 2011 training, Exercise 2a, slide "Caching Proxy Server (v1)"
//! (`proxy2_ex1.py`), port 8000.
//!
//! `url-proxy-2`, silent, and with a cache: a page fetched once is kept, and a client that asks for
//! it again gets it from there at once, without a fetch. The exercise's question is where to keep
//! the cache, since a protocol lives only as long as its connection: in the factory, which makes
//! every protocol and outlives them all, so that each connection's protocol gets a handle on the
//! same cache. `line_received` looks there first; on a miss it asks for the page, and the
//! callback (`got_data`) keeps the page, writes it and closes the connection.
//!
//! Better than the original, whose cache is a dict that grows for ever and whose clients asking
//! for the same page at once each fetch it: the cache has bounds (`--cache-entries`,
//! `--cache-size`), the least recently used pages leaving first; clients that ask for a page being
//! fetched wait for that one fetch; `--timeout` bounds a fetch. Only whole pages with a success
//! status are kept (so are the original's). A page that cannot be fetched is one line on stderr
//! and the connection is closed with nothing written, where the original leaves the client waiting
//! for ever. Only the first URL of a connection is served.
//!
//! ```text
//! terminal 1:  python3 -m http.server 8080                 # any web server; it logs each fetch
//! terminal 2:  cargo run --bin url-proxy-2-ex1
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
use common::defer::Failure;
use common::protocol::{Address, Factory, Protocol};
use common::web::client::Bytes;
use page_cache::{CacheOptions, PageCache, Upstream};
use url_proxy::{PORT, ProxyOptions, report_failure, requested_url};

/// Answers each line `http://...` with the body of that page, fetched once and then served from a
/// cache shared by every connection (EuroPython 2011 training, Exercise 2a). Prints nothing.
/// Listens on 127.0.0.1:8000 unless told otherwise.
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

impl LineHandler for CachingProxyProtocol {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        let Some(url) = requested_url(line) else {
            return;
        };
        // One URL per connection: whatever follows it is ignored.
        lines.set_raw_mode();
        let transport = Rc::clone(lines.transport());

        // A hit: the page goes out now, no Deferred involved.
        let cached = self.cache.borrow_mut().get(url);
        if let Some(data) = cached {
            transport.write(&data);
            transport.lose_connection();
            return;
        }

        // A miss: fetch it, and keep it when it comes.
        let (cache, writer, key) = (
            Rc::clone(&self.cache),
            Rc::clone(&transport),
            url.to_owned(),
        );
        let got_data = move |data: Bytes| {
            cache.borrow_mut().insert(&key, data.clone());
            writer.write(&data);
            writer.lose_connection();
            Ok::<(), Failure>(())
        };
        let url = url.to_owned();
        self.upstream
            .get_page(&url)
            .add_callback(got_data)
            .add_errback(move |failure| {
                report_failure(&url, &failure);
                transport.lose_connection();
                Ok::<(), Failure>(())
            });
    }
}

/// Makes a [`CachingProxyProtocol`], framed in lines, for every connection. The answer to the
/// exercise's question: the cache lives here, made once, and every protocol shares it.
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
