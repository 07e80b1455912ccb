//! A client of the uppercase server on the reactor, version 3: the EuroPython 2011 training, slide
//! "Twisted Simple Client (v3)" (`simpleclient3.py`).
//!
//! Version 2, plus the end: the Deferreds of all the requests go into a `DeferredList`, one Deferred
//! that fires once every one of them has. Its callback stops the reactor, so the program ends right
//! after the last answer is printed. The protocol and the factory are version 2's, in
//! `support/deferred_request.rs` (the training imports them from `simpleclient2.py`); `got_data`, the
//! callback, is version 2's too, repeated here so that this file shows the whole chain it ends.
//!
//! One trap, which the original falls into: given no text, the list is empty and fires at once,
//! before the reactor runs, and a stop asked for then is an error (the original prints
//! `Unhandled error in Deferred` and runs for ever). Here the list's callback is added once the
//! reactor runs (`call_when_running`), so an empty list stops it at once too: with no text, the
//! program ends straight away, with status 0.
//!
//! A request whose connection cannot be made is one line on stderr and counts as done (in the
//! original its Deferred never fires, and the program never ends); the exit status is then 1.
//!
//! ```text
//! cargo run --bin upperserver                                   # terminal 1: listens on 8000
//! cargo run --bin simpleclient-3 -- 127.0.0.1:8000 a b c d      # terminal 2
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

use clap::Parser;
use common::cli::client::exit_status;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, report_error};
use common::defer::{Deferred, DeferredList, Failure};

use deferred_request::UppercaseClientFactory;
use upper_clients::{CONNECT_TIMEOUT, Requests, print_data, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, on the reactor, print each whole answer under
/// its request's name, and stop when all are in (the EuroPython 2011 training, simple client v3).
#[derive(Debug, Parser)]
#[command(
    name = "simpleclient-3",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  simpleclient-3 127.0.0.1:8000 a b c d"
)]
struct Options {
    #[command(flatten)]
    requests: Requests,
}

/// The callback: one request's whole answer, under its name.
fn got_data(data: Vec<u8>, request: &[u8]) -> Result<(), Failure> {
    print_bytes_line(
        &mut std::io::stdout().lock(),
        &[b"received response for ", request],
    );
    print_data(&data);
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

    let failed = Rc::new(Cell::new(false));
    let mut all_deferreds = Vec::new();
    for text in options.requests.texts() {
        print_sending(&text);
        let text: Rc<[u8]> = text.into();
        let d = Deferred::new();
        let (for_data, for_failure) = (Rc::clone(&text), Rc::clone(&text));
        let failed = Rc::clone(&failed);
        // The list waits for the end of each chain: the answer printed (or the failure told).
        all_deferreds.push(d.add_callbacks(
            move |data| got_data(data, &for_data),
            move |failure| request_failed(failure, &for_failure, &failed),
        ));
        let factory = Rc::new(UppercaseClientFactory { text, deferred: d });
        reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    }

    let deferred_list = DeferredList::all(all_deferreds, false);
    let stopper = reactor.clone();
    // Once the reactor runs, so that a list that has already fired (no texts) can stop it too. Were
    // stopping to fail, the failure would be reported when the chain goes away.
    reactor.call_when_running(move || {
        deferred_list.add_callback(move |_results| stopper.stop().map_err(Failure::new));
    });
    let _ = reactor.run();
    exit_status(failed.get())
}
