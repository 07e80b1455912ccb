//! A blocking client of the uppercase server: the EuroPython 2011 training, slide "A better client"
//! (`multiclient.py`).
//!
//! The training's first client, before any Twisted: for each text on the command line, in turn, it
//! prints `sending <text>`, opens a connection, sends the text and CR LF, reads until the server
//! closes, and prints all it got (the server's greeting and the upper-cased text). Every step blocks:
//! the second request starts only when the first is over, so four requests to a server that takes a
//! second each take four seconds. The slides that follow ask how to do better: threads
//! (`threadedclient`), then the reactor (`simpleclient-1` to `simpleclient-4`).
//!
//! The request itself, `make_connection`, is in `support/blocking.rs`: the training's
//! `threadedclient.py` imports it from `multiclient.py`, and ours shares it the same way.
//!
//! Where the original crashes, this one says what went wrong in one line: a request that fails
//! (`request <text> failed: cannot connect to 127.0.0.1:8000: Connection refused`) ends the program
//! with status 1, the later texts not tried, as the original stops there; and `--timeout` (30 s by
//! default) keeps a server that never closes from holding it for ever.
//!
//! ```text
//! cargo run --bin upperserver                                  # terminal 1: listens on 8000
//! cargo run --bin multiclient -- 127.0.0.1:8000 a b c d        # terminal 2
//! ```

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/upper_clients.rs"]
mod upper_clients;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::cli::duration::parse_timeout;

use blocking::make_connection;
use upper_clients::{Requests, print_data, print_failure, print_sending};

/// Send each TEXT to the uppercase server in turn, on a blocking socket, and print what comes back
/// (the EuroPython 2011 training, "A better client").
///
/// For each text: `sending <text>`, then everything the server sent, then a newline. The first
/// request that fails is reported on stderr and ends the program (status 1).
#[derive(Debug, Parser)]
#[command(
    name = "multiclient",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  multiclient 127.0.0.1:8000 a b c d\n  \
                  multiclient 127.0.0.1:8000 'twisted is cool'"
)]
struct Options {
    #[command(flatten)]
    requests: Requests,

    /// Give up on a request the server has not finished answering this long after it started,
    /// connecting included: seconds (30) or with a unit (500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = options.requests.server_or_help::<Options>() else {
        return ExitCode::SUCCESS;
    };
    for text in options.requests.texts() {
        print_sending(&text);
        // Nothing else happens while this waits for the server: that is what the slide is about.
        match make_connection(server, &text, options.timeout) {
            Ok(answer) => print_data(&answer),
            Err(error) => {
                print_failure(&text, error);
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
