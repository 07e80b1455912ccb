//! A client of the uppercase server on the reactor, version 4 with the exercise done: the EuroPython
//! 2011 training, slide "Twisted Simple Client (v4)" and its exercise (`simpleclient4_ex.py`).
//!
//! Version 4 timed the requests but threw the answers away. The exercise: keep them, and print them
//! all at the end. Each request's callback now returns `(text, answer)` after printing its timing,
//! so that pair becomes the request's result; the `DeferredList` gathers the results of all the
//! requests, in the order of the command line (not the order they completed), and its callback
//! prints each pair, as Python prints a tuple of strings
//! (`('a', 'Hi! Send me text to convert to uppercase\nA\r\n')`), before stopping the reactor. Then
//! `finished, took <seconds>`.
//!
//! A request whose connection cannot be made is one line on stderr, and, its failure passed on to
//! the list, shows there as the failure (`<Failure common::protocol::ConnectError: …>`), as the
//! original would print its Failure; the exit status is then 1. As in versions 3 and 4, with no
//! text the program ends at once.
//!
//! ```text
//! cargo run --bin upperserver                                      # terminal 1: listens on 8000
//! cargo run --bin simpleclient-4-ex -- 127.0.0.1:8000 a b c d      # terminal 2
//! ```

#[path = "support/python_repr.rs"]
mod python_repr;
#[path = "support/upper_clients.rs"]
mod upper_clients;

// The protocol and the factory of a request that fires a Deferred with its answer: version 2's,
// unchanged since.
#[path = "support/deferred_request.rs"]
mod deferred_request;

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
use common::reactor::Reactor;

use deferred_request::UppercaseClientFactory;
use python_repr::python_pair_repr;
use upper_clients::{CONNECT_TIMEOUT, Requests, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, on the reactor, print how long each request
/// took, then every answer in the order of the command line, then the whole time (the EuroPython
/// 2011 training, simple client v4, exercise).
#[derive(Debug, Parser)]
#[command(
    name = "simpleclient-4-ex",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  simpleclient-4-ex 127.0.0.1:8000 a b c d"
)]
struct Options {
    #[command(flatten)]
    requests: Requests,
}

/// What a request's chain gives the list: its text, and the answer.
type Exchange = (Rc<[u8]>, Vec<u8>);

/// The callback: how long the request took; then the request and its answer go on as the result.
fn got_data(data: Vec<u8>, request: Rc<[u8]>, started: Instant) -> Result<Exchange, Failure> {
    let took = python_float(started.elapsed().as_secs_f64());
    print_bytes_line(
        &mut std::io::stdout().lock(),
        &[b"request ", &request, b" took ", took.as_bytes()],
    );
    Ok((request, data))
}

/// The errback: the request got no answer. Said on stderr; the failure goes on to the list.
fn request_failed(failure: Failure, request: &[u8]) -> Result<Exchange, Failure> {
    print_failure(request, failure.error());
    Err(failure)
}

/// The list's callback: every request's result, in the order of the command line; then the end.
fn all_done(results: Vec<Result<Exchange, Failure>>, reactor: &Reactor) -> Result<(), Failure> {
    for result in &results {
        match result {
            Ok((request, data)) => outln!("{}", python_pair_repr(request, data)),
            Err(failure) => outln!("{failure:?}"),
        }
    }
    reactor.stop().map_err(Failure::new)
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
    let mut all_deferreds = Vec::new();
    for text in options.requests.texts() {
        print_sending(&text);
        let text: Rc<[u8]> = text.into();
        let d = Deferred::new();
        let (for_data, for_failure) = (Rc::clone(&text), Rc::clone(&text));
        let started = Instant::now();
        all_deferreds.push(d.add_callbacks(
            move |data| got_data(data, for_data, started),
            move |failure| request_failed(failure, &for_failure),
        ));
        let factory = Rc::new(UppercaseClientFactory { text, deferred: d });
        reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    }

    // The list keeps the failures it is given (consume_errors): they are printed with the results,
    // not reported again as unhandled.
    let deferred_list = DeferredList::all(all_deferreds, true);
    let (stopper, failed) = (reactor.clone(), Rc::new(std::cell::Cell::new(false)));
    let any_failed = Rc::clone(&failed);
    // Once the reactor runs, so that a list that has already fired (no texts) can stop it too.
    reactor.call_when_running(move || {
        deferred_list.add_callback(move |results: Vec<Result<Exchange, Failure>>| {
            any_failed.set(results.iter().any(Result::is_err));
            all_done(results, &stopper)
        });
    });
    let _ = reactor.run();
    outln!(
        "finished, took {}",
        python_float(overall_start.elapsed().as_secs_f64())
    );
    exit_status(failed.get())
}
