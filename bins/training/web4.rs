//! Work that blocks the reactor: the EuroPython 2011 training's `web4.py` (in its repository, not
//! on a slide), port 8000.
//!
//! `GET /?num=N` counts the digits of the Nth Fibonacci number, computed right inside
//! `render_get`, on the reactor's thread. The page writes `Result is: ` first, but nothing can
//! leave before `render_get` returns: the reactor is busy computing. So the client gets the whole
//! answer at once, at the end, and every other request waits meanwhile, even one for `num=5`
//! that has nothing to compute. `web5` is the cure.
//!
//! A missing `num`, or one that is not a number, is a 500 (the original's KeyError or
//! ValueError); one over `--max-num` (a million unless told otherwise) is a 400, where the
//! original has no limit. Twisted's log goes to stdout.
//!
//! ```text
//! terminal 1:  cargo run --release --bin web4              # the log
//! terminal 2:  curl 'http://127.0.0.1:8000/?num=300000'    # Result is: 62696 digits long
//! terminal 3:  curl 'http://127.0.0.1:8000/?num=5'         # sent meanwhile: waits for the first
//! ```

#[path = "support/fibonacci.rs"]
mod fibonacci;

use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use common::cli::server::ListenOptions;
use common::web::{Branch, Render, RenderResult, Request, Resource, SiteLog, serve_site};
use fibonacci::{Asked, FibOptions, RESULT_IS, asked_num, digit_count, digits_line, fib};

/// The training's port.
const PORT: u16 = 8000;

/// Answers GET /?num=N with the number of digits of the Nth Fibonacci number, computed in the
/// reactor's thread, so that every other request waits for it (EuroPython 2011 training,
/// web4.py). Logs each request on stdout. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    fib: FibOptions,
}

/// The page at `/`.
struct Fibonacci {
    max_num: u64,
}

impl Resource for Fibonacci {
    fn render_get(&self, request: &Request) -> RenderResult {
        let n = match asked_num(request, self.max_num)? {
            Asked::Num(n) => n,
            Asked::TooLarge(page) => return Ok(page),
        };
        request.write(RESULT_IS);
        // The lesson: this holds the reactor's thread until it is done. Nobody can tell it to give
        // up, since nothing else runs meanwhile, not even the code that would notice a client
        // leaving.
        if let Some(number) = fib(n, &AtomicBool::new(false)) {
            request.write(digits_line(digit_count(&number)).as_bytes());
        }
        request.finish();
        Ok(Render::NotDoneYet)
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    let max_num = options.fib.max_num;
    serve_site(&endpoints, SiteLog::Stdout, |_reactor| {
        let root = Rc::new(Branch::new());
        root.put_child("", Rc::new(Fibonacci { max_num }));
        root
    })
}
