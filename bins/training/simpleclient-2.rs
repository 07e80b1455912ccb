//! A client of the uppercase server on the reactor, version 2: the EuroPython 2011 training, slide
//! "Twisted Simple Client (v2)" (`simpleclient2.py`).
//!
//! Version 1 printed pieces of data as they came, from any connection. Now each request gets a
//! Deferred of its own, made before the connection is asked for: its callback `got_data` will print
//! `received response for <text>` and the whole answer. The factory carries the Deferred to the
//! protocol it builds; the protocol gathers the pieces, and when the connection ends (the server
//! closes it after answering) it fires the Deferred with all of them: "create one, pass it around,
//! then in the future call it back". So each answer is printed whole, under the name of its request,
//! in the order the answers complete. (The protocol and the factory are in
//! `support/deferred_request.rs`, which versions 3 and 4 share.)
//!
//! What is left for version 3: the reactor still never stops. Once every answer is in, the program
//! waits until Ctrl-C (which ends it with status 0).
//!
//! Unlike the original, where the Deferred of a connection that cannot be made never fires, the
//! factory fails it, and its errback prints one line on stderr
//! (`request <text> failed: Connection was refused by other side: 111: Connection refused.`). As in
//! the original, a connection that breaks after it was made delivers what it got so far as the
//! answer.
//!
//! ```text
//! cargo run --bin upperserver                                   # terminal 1: listens on 8000
//! cargo run --bin simpleclient-2 -- 127.0.0.1:8000 a b c d      # terminal 2; Ctrl-C to end it
//! ```

#[path = "support/upper_clients.rs"]
mod upper_clients;

// The protocol and the factory of a request that fires a Deferred with its answer: version 2's,
// unchanged since.
#[path = "support/deferred_request.rs"]
mod deferred_request;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, report_error};
use common::defer::{Deferred, Failure};

use deferred_request::UppercaseClientFactory;
use upper_clients::{CONNECT_TIMEOUT, Requests, print_data, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, on the reactor, and print each whole answer
/// under its request's name; runs until Ctrl-C (the EuroPython 2011 training, simple client v2).
#[derive(Debug, Parser)]
#[command(
    name = "simpleclient-2",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  simpleclient-2 127.0.0.1:8000 a b c d\n\
                  It never stops by itself: press Ctrl-C once the answers are in."
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

/// The errback: the request got no answer. Said on stderr, and handled.
fn request_failed(failure: Failure, request: &[u8]) -> Result<(), Failure> {
    print_failure(request, failure.error());
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

    for text in options.requests.texts() {
        print_sending(&text);
        let text: Rc<[u8]> = text.into();
        let d = Deferred::new();
        let (for_data, for_failure) = (Rc::clone(&text), Rc::clone(&text));
        d.add_callbacks(
            move |data| got_data(data, &for_data),
            move |failure| request_failed(failure, &for_failure),
        );
        let factory = Rc::new(UppercaseClientFactory { text, deferred: d });
        reactor.connect_tcp(&server.host, server.port, factory, CONNECT_TIMEOUT);
    }
    // Still nothing calls stop: this returns only on Ctrl-C (SIGINT) or SIGTERM.
    let _ = reactor.run();
    ExitCode::SUCCESS
}
