//! A client of the uppercase server on the reactor, version 4: the EuroPython 2011 training, slide
//! "Twisted Simple Client (v4)" (`simpleclient4.py`).
//!
//! Version 3 with a stopwatch instead of the answers: each request's callback gets the time the
//! request started along with its answer, and prints `request <text> took <seconds>`; once the
//! `DeferredList` has stopped the reactor, `finished, took <seconds>` gives the time of the whole.
//! Against a server that takes a while per request (the training points it at its proxy with URLs
//! as texts), the whole takes about as long as the slowest request, not the sum of them: the
//! requests wait at the same time, on one thread. "As good as threaded performance, without the
//! complexity." Seconds are printed as Python 2 prints a float (`0.505914449692`).
//!
//! As in version 3: the list's callback is added once the reactor runs, so that with no text the
//! program ends at once (printing only `finished, took …`); a request whose connection cannot be
//! made is one line on stderr and counts as done, and the exit status is then 1.
//!
//! ```text
//! cargo run --bin upperserver                                   # terminal 1: listens on 8000
//! cargo run --bin simpleclient-4 -- 127.0.0.1:8000 a b c d      # terminal 2
//! ```

#[path = "support/upper_clients.rs"]
mod upper_clients;

// The protocol and the factory of a request that fires a Deferred with its answer: version 2's,
// unchanged since.
#[path = "support/deferred_request.rs"]
mod deferred_request;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use clap::Parser;
use common::cli::client::exit_status;
use common::cli::duration::python_float;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, report_error};
use common::defer::{Deferred, DeferredList, Failure};
use common::outln;

use deferred_request::UppercaseClientFactory;
use upper_clients::{CONNECT_TIMEOUT, Requests, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, on the reactor, and print how long each request
/// and the whole took (the EuroPython 2011 training, simple client v4).
#[derive(Debug, Parser)]
#[command(
    name = "simpleclient-4",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  simpleclient-4 127.0.0.1:8000 a b c d"
)]
struct Options {
    #[command(flatten)]
    requests: Requests,
}

/// The callback: how long the request took, from `started` to its whole answer.
fn got_data(_data: Vec<u8>, request: &[u8], started: Instant) -> Result<(), Failure> {
    let took = python_float(started.elapsed().as_secs_f64());
    print_bytes_line(
        &mut std::io::stdout().lock(),
        &[b"request ", request, b" took ", took.as_bytes()],
    );
    Ok(())
}

/// The errback: the request got no answer. Said on stderr, and handled, so that the request counts
/// as done for the list.
fn request_failed(failure: Failure, request: &[u8], failed: &Cell<bool>) -> Result<(), Failure> {
    print_failure(request, failure.error());
    failed.set(true);
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = options.requests.server_or_help::<Options>() else {
        return ExitCode::SUCCESS;
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    let overall_start = Instant::now();
    let failed = Rc::new(Cell::new(false));
    let mut all_deferreds = Vec::new();
    for text in options.requests.texts() {
        print_sending(&text);
        let text: Rc<[u8]> = text.into();
        let d = Deferred::new();
        let (for_data, for_failure) = (Rc::clone(&text), Rc::clone(&text));
        let (failed, started) = (Rc::clone(&failed), Instant::now());
        all_deferreds.push(d.add_callbacks(
            move |data| got_data(data, &for_data, started),
            move |failure| request_failed(failure, &for_failure, &failed),
        ));
        let factory = Rc::new(UppercaseClientFactory { text, deferred: d });
        reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    }

    let deferred_list = DeferredList::all(all_deferreds, false);
    let stopper = reactor.clone();
    // Once the reactor runs, so that a list that has already fired (no texts) can stop it too.
    reactor.call_when_running(move || {
        deferred_list.add_callback(move |_results| stopper.stop().map_err(Failure::new));
    });
    let _ = reactor.run();
    outln!(
        "finished, took {}",
        python_float(overall_start.elapsed().as_secs_f64())
    );
    exit_status(failed.get())
}
