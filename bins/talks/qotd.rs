//! Quote of the day: talk 004 (Andrew Bennetts, "Network programming with Twisted"), pp.11-12.
//!
//! Finding the quote may block (the slide's function stands for a slow lookup), so the protocol
//! hands it to `defer_to_thread`: it runs in the reactor's thread pool (ten threads at once; later
//! connections wait their turn) while the reactor goes on serving everyone else, and the answer
//! comes back as a Deferred. Its callback writes the quote and hangs up; its errback writes
//! `Internal server error!` (with no newline, as on the slide) and hangs up.
//!
//! By default the quote is the talk's, `I am a fish!`. With `--quotes FILE` it is a line of that
//! file, picked at random and read afresh for each client, in the thread; a file that has become
//! unreadable (or holds no line) takes the errback's path, which the server also reports on
//! stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin qotd                        # or: -- --quotes poetry/science.txt
//! terminal 2:  nc 127.0.0.1 9999                           # I am a fish!
//! ```

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::defer::{Failure, defer_to_thread};
use common::errln;
use common::protocol::{Address, Factory, Protocol, Transport};
use common::reactor::Reactor;

/// The talk's port.
const PORT: u16 = 9999;

/// The talk's quote.
const FISH: &str = "I am a fish!";

/// What a client gets when finding the quote failed, as on the slide: no newline.
const SERVER_ERROR: &[u8] = b"Internal server error!";

/// Serves a quote to every client, found in a thread so that the reactor never waits (talk 004,
/// pp.11-12). Listens on 127.0.0.1:9999 unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    /// Serve a random line of this file instead of "I am a fish!"; the file is read for each
    /// client, in the thread pool.
    #[arg(long, value_name = "FILE", value_parser = readable_file)]
    quotes: Option<PathBuf>,
}

/// Accepts a path to a file that exists now (it is read later, for each client).
fn readable_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match path.metadata() {
        Ok(metadata) if metadata.is_file() => Ok(path),
        Ok(_) => Err(format!("{text} is not a file")),
        Err(error) => Err(format!("cannot read {text}: {error}")),
    }
}

/// Finds the quote: the blocking work that runs in a thread.
fn quote_of_the_day(quotes: Option<PathBuf>) -> io::Result<String> {
    let Some(path) = quotes else {
        return Ok(FISH.to_owned());
    };
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        let message = format!("{} holds no quote", path.display());
        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
    }
    // Any fair choice will do: the standard library's randomly keyed hasher gives one.
    let pick = RandomState::new().hash_one(std::time::SystemTime::now());
    Ok(lines[(pick % lines.len() as u64) as usize].to_owned())
}

/// One connection: ask the thread pool for a quote, and answer when it comes.
struct Qotd {
    reactor: Reactor,
    quotes: Option<PathBuf>,
}

impl Protocol for Qotd {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let quotes = self.quotes.clone();
        let quote = defer_to_thread(&self.reactor, move || quote_of_the_day(quotes));
        let on_error = Rc::clone(&transport);
        quote.add_callbacks(
            move |quote: String| {
                transport.write_sequence(&[quote.as_bytes(), b"\n"]);
                transport.lose_connection();
                Ok::<(), Failure>(())
            },
            move |failure| {
                errln!("cannot find a quote: {}", failure.error());
                on_error.write(SERVER_ERROR);
                on_error.lose_connection();
                Ok::<(), Failure>(())
            },
        );
    }
}

/// Makes a [`Qotd`] for every connection.
struct QotdFactory {
    reactor: Reactor,
    quotes: Option<PathBuf>,
}

impl Factory for QotdFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Qotd {
            reactor: self.reactor.clone(),
            quotes: self.quotes.clone(),
        }))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    run_server(|reactor| {
        let factory = QotdFactory {
            reactor: reactor.clone(),
            quotes: options.quotes,
        };
        listen_on(reactor, &endpoints, Rc::new(factory))
    })
}
