//! A page written later: the EuroPython 2011 training, slide "twisted.web.persistent"
//! (`web3.py`), port 8000.
//!
//! `/` and `/page` as in `web2`; `/long` is a page that does not return its body. Its
//! `render_get` writes `A`, asks the reactor to write `B` in a second and `C` in two, and to
//! finish the answer in three, and returns `NotDoneYet` (Twisted's `NOT_DONE_YET`): the request
//! stays open while the reactor serves everyone else. Over HTTP/1.1 each write leaves as a chunk
//! (`1\r\nA\r\n`, then `B`, then `C`, then `0\r\n\r\n`); over HTTP/1.0 the letters go raw and the
//! connection closes at the end.
//!
//! One thing differs from the slide: a client that leaves before the end stops the timers (the
//! page listens to `notify_finish`), where the original's timers go on, write into the void, and
//! log an error when they try to finish. `--time-scale 0.01` plays the three seconds in 30 ms.
//!
//! ```text
//! terminal 1:  cargo run --bin web3                        # the log
//! terminal 2:  curl -N http://127.0.0.1:8000/long          # A, B, C, a second apart
//! ```

#[path = "support/web_pages.rs"]
mod web_pages;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::duration::{parse_time_scale, scaled};
use common::cli::server::ListenOptions;
use common::defer::Failure;
use common::reactor::Reactor;
use common::web::{Render, RenderResult, Request, Resource, SiteLog, serve_site};

/// The training's port.
const PORT: u16 = 8000;

/// Serves `/` and `/page` as web2 does, and `/long`, which writes A, B and C a second apart
/// while the server goes on serving others (EuroPython 2011 training, "twisted.web.persistent").
/// Logs each request on stdout. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// Multiply /long's delays by this factor (0.01 plays its three seconds in 30 ms).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
}

/// The page at `/long`: `A` now, `B` after a second, `C` after two, the end after three.
struct LongRunning {
    reactor: Reactor,
    time_scale: f64,
}

impl Resource for LongRunning {
    fn render_get(&self, request: &Request) -> RenderResult {
        request.write(b"A");
        // Each timed call holds a handle on the request, as the slide's `callLater(1,
        // request.write, 'B')` holds the bound method.
        let later = |seconds, action: fn(&Request)| {
            let request = request.clone();
            self.reactor
                .call_later(scaled(seconds, self.time_scale), move || action(&request))
        };
        let calls = [
            later(1.0, |request| request.write(b"B")),
            later(2.0, |request| request.write(b"C")),
            later(3.0, Request::finish),
        ];
        // The client gone, nothing written would reach anyone: the calls still to come are
        // cancelled. (A finished request fires this Deferred's callback instead: nothing to do.)
        request.notify_finish().add_errback(move |_lost| {
            for call in calls.iter().filter(|call| call.active()) {
                let _ = call.cancel();
            }
            Ok::<(), Failure>(())
        });
        Ok(Render::NotDoneYet)
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    serve_site(&endpoints, SiteLog::Stdout, |reactor| {
        let root = web_pages::hello_and_page();
        let long = LongRunning {
            reactor: reactor.clone(),
            time_scale: options.time_scale,
        };
        root.put_child("long", Rc::new(long));
        root
    })
}
