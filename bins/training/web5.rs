//! Work in a thread: the EuroPython 2011 training's `web5.py` (in its repository, not on a slide),
//! port 8000.
//!
//! `web4` with one change: the Fibonacci number is computed by `defer_to_thread`, in the reactor's
//! pool of threads, and `render_get` returns at once with `NotDoneYet`. The head and `Result is: `
//! leave straight away; `D digits long\r\n` and the end of the answer follow when the thread's
//! Deferred fires. Meanwhile the reactor serves everyone else: a `num=5` sent during a
//! `num=300000` is answered first. At most ten computations run at once (Twisted's pool size); the
//! others wait their turn.
//!
//! Better than the original: a client that leaves is noticed (the page listens to
//! `notify_finish`) and its computation gives up, where the original computes on and then logs an
//! error when it finishes a request nobody is waiting for. Errors and `--max-num` as in `web4`.
//!
//! ```text
//! terminal 1:  cargo run --release --bin web5              # the log
//! terminal 2:  curl -N 'http://127.0.0.1:8000/?num=300000' # Result is: ... 62696 digits long
//! terminal 3:  curl 'http://127.0.0.1:8000/?num=5'         # sent meanwhile: answered at once
//! ```

#[path = "support/fibonacci.rs"]
mod fibonacci;

use std::convert::Infallible;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use common::cli::server::ListenOptions;
use common::defer::{Failure, defer_to_thread};
use common::reactor::Reactor;
use common::web::{Branch, Render, RenderResult, Request, Resource, SiteLog, serve_site};
use fibonacci::{Asked, FibOptions, RESULT_IS, asked_num, digit_count, digits_line, fib};

/// The training's port.
const PORT: u16 = 8000;

/// Answers GET /?num=N with the number of digits of the Nth Fibonacci number, computed in a
/// thread while the server goes on serving others (EuroPython 2011 training, web5.py). Logs each
/// request on stdout. Listens on 127.0.0.1:8000 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    fib: FibOptions,
}

/// The page at `/`.
struct Fibonacci {
    reactor: Reactor,
    max_num: u64,
}

impl Resource for Fibonacci {
    fn render_get(&self, request: &Request) -> RenderResult {
        let n = match asked_num(request, self.max_num)? {
            Asked::Num(n) => n,
            Asked::TooLarge(page) => return Ok(page),
        };
        request.write(RESULT_IS);

        // The flag the thread looks at now and then: set when the client leaves.
        let give_up = Arc::new(AtomicBool::new(false));
        let on_leaving = Arc::clone(&give_up);
        request.notify_finish().add_errback(move |_lost| {
            on_leaving.store(true, Ordering::Relaxed);
            Ok::<(), Failure>(())
        });

        let digits = defer_to_thread(&self.reactor, move || {
            Ok::<_, Infallible>(fib(n, &give_up).map(|number| digit_count(&number)))
        });
        // Back on the reactor's thread: finish the answer, if someone still waits for it.
        let request = request.clone();
        digits.add_callback(move |digits| {
            if let Some(digits) = digits
                && !request.is_lost()
            {
                request.write(digits_line(digits).as_bytes());
                request.finish();
            }
            Ok::<(), Failure>(())
        });
        Ok(Render::NotDoneYet)
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    let max_num = options.fib.max_num;
    serve_site(&endpoints, SiteLog::Stdout, |reactor| {
        let root = Rc::new(Branch::new());
        let page = Fibonacci {
            reactor: reactor.clone(),
            max_num,
        };
        root.put_child("", Rc::new(page));
        root
    })
}
