//! A client of the uppercase server with a thread per request: the EuroPython 2011 training, slide
//! "An even better client" (`threadedclient.py`).
//!
//! `multiclient` made its requests one after another. This one starts a thread for each text at
//! once; each thread prints `sending <text>`, makes its request with the same blocking
//! `make_connection` (in `support/blocking.rs`), and prints the answer. A blocked thread holds up
//! only itself, so four requests to a server that takes a second each take about one second. The
//! answers come back in whatever order the server finishes them, and `main` waits for every thread
//! before it prints `finished`. The price, which the training's next slides avoid with the reactor:
//! a thread (and its stack) per request, and whatever the threads share must be safe to share.
//!
//! Each thread prints its lines under one lock of stdout, so two answers never mix (in the original
//! they may, even inside a line). A request that fails is one line on stderr
//! (`request <text> failed: cannot connect to 127.0.0.1:8000: Connection refused`) where the original
//! prints a thread's traceback; the other requests go on, `finished` is still printed, and the exit
//! status is then 1. `--timeout` (30 s by default) bounds each request.
//!
//! ```text
//! cargo run --bin upperserver                                     # terminal 1: listens on 8000
//! cargo run --bin threadedclient -- 127.0.0.1:8000 a b c d        # terminal 2
//! ```

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/upper_clients.rs"]
mod upper_clients;

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::exit_status;
use common::cli::duration::parse_timeout;
use common::outln;

use blocking::make_connection;
use upper_clients::{Requests, print_data, print_failure, print_sending};

/// Send every TEXT to the uppercase server at once, one thread and one blocking socket each, and
/// print the answers as they come (the EuroPython 2011 training, "An even better client").
///
/// Each thread prints `sending <text>` and then the server's answer and a newline; `finished` comes
/// last. A request that fails is reported on stderr, and makes the exit status 1.
#[derive(Debug, Parser)]
#[command(
    name = "threadedclient",
    version,
    after_help = "Example, with the uppercase server (upperserver) listening on port 8000:\n  \
                  threadedclient 127.0.0.1:8000 a b c d"
)]
struct Options {
    #[command(flatten)]
    requests: Requests,

    /// Give up on a request the server has not finished answering this long after its thread
    /// started, connecting included: seconds (30) or with a unit (500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

/// One thread's work: the training's `t_connection`. Returns whether the request got its answer.
fn request(server: &ServerAddress, text: &[u8], timeout: Duration) -> bool {
    print_sending(text);
    match make_connection(server, text, timeout) {
        Ok(answer) => {
            print_data(&answer);
            true
        }
        Err(error) => {
            print_failure(text, error);
            false
        }
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = options.requests.server_or_help::<Options>() else {
        return ExitCode::SUCCESS;
    };
    let timeout = options.timeout;
    let mut failed = false;
    let mut threads = Vec::new();
    for text in options.requests.texts() {
        let (server, to_send) = (server.clone(), text.clone());
        let spawned = thread::Builder::new().spawn(move || request(&server, &to_send, timeout));
        match spawned {
            Ok(handle) => threads.push(handle),
            // The price of a thread per request: the system may refuse one more.
            Err(error) => {
                print_failure(&text, format_args!("cannot start a thread: {error}"));
                failed = true;
            }
        }
    }
    for handle in threads {
        // A thread that panicked has said so on stderr; it counts as a failed request.
        failed |= !handle.join().unwrap_or(false);
    }
    outln!("finished");
    exit_status(failed)
}
