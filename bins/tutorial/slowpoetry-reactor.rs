//! The Slow Poetry Server, written the Twisted way: Part 11's third exercise, "Your Poetry is
//! Served".
//!
//! The same server as `slowpoetry` (same options, same lines), but built on the reactor, so it
//! serves every client at once: each connection is paced by one timed call of the reactor, re-armed
//! after every chunk, instead of a thread that sleeps. A client that leaves cancels its pending call.
//! Ten thousand clients cost ten thousand timed calls and sockets, and one thread.
//!
//! ```text
//! cargo run --bin slowpoetry-reactor -- --port 10000 poetry/ecstasy.txt --num-bytes 30
//! nc localhost 10000 & nc localhost 10000        # two clients, served side by side
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::cli::address::PythonPeer;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::chunks;
use common::cli::server::{PacingOptions, ServeOptions, listen_and_run, read_poem};
use common::outln;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::{DelayedCall, Reactor};

/// Serve one poem, slowly, to every client at once (tutorial Part 11, exercise 3).
///
/// Each client gets the poem a few characters at a time with a pause between sends, as from
/// `slowpoetry`, but all clients are served at the same time by the reactor. It prints the port it
/// listens on first, then a line per client and per send (unless --quiet).
#[derive(Debug, Parser)]
#[command(
    name = "slowpoetry-reactor",
    version,
    after_help = "Example:\n  slowpoetry-reactor --port 10000 poetry/ecstasy.txt --num-bytes 30\n\
                  Then fetch with several clients at once: nc localhost 10000"
)]
struct Options {
    #[command(flatten)]
    serve: ServeOptions,

    #[command(flatten)]
    pacing: PacingOptions,

    /// Print only the startup line (for benchmarks with thousands of clients).
    #[arg(long)]
    quiet: bool,
}

/// What every connection shares: the poem, read once, and how to pace it.
struct Settings {
    poem: Rc<[u8]>,
    chars_per_chunk: usize,
    delay: Duration,
    quiet: bool,
}

/// One client: the timed call that sends its next chunk, and what it has been sent so far.
struct SlowPoetryProtocol {
    reactor: Reactor,
    settings: Rc<Settings>,
    peer: Address,
    pacer: Option<DelayedCall>,
    /// Set while the transport's buffer is full (the client does not read): sends are skipped.
    paused: Rc<Cell<bool>>,
}

impl Protocol for SlowPoetryProtocol {
    /// A client that has finished sending (`nc -N`) still gets the whole poem.
    fn read_connection_lost(&mut self) -> bool {
        true
    }
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let settings = Rc::clone(&self.settings);
        if !settings.quiet {
            outln!("Somebody at {} wants poetry!", PythonPeer(&self.peer));
        }
        let paused = Rc::clone(&self.paused);
        let mut sent = 0;
        // The first chunk goes at once; each call then re-arms itself for `delay` later, and after
        // the last chunk the next call closes the connection, so a poem of N chunks takes N delays.
        self.pacer = Some(self.reactor.call_repeatedly(Duration::ZERO, move || {
            if paused.get() {
                return Some(settings.delay);
            }
            match chunks(&settings.poem[sent..], settings.chars_per_chunk).next() {
                Some(chunk) => {
                    if !settings.quiet {
                        outln!("Sending {} bytes", chunk.len());
                    }
                    transport.write(chunk);
                    sent += chunk.len();
                    Some(settings.delay)
                }
                None => {
                    transport.lose_connection();
                    None
                }
            }
        }));
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        // Still pacing means the client left before the end of the poem.
        if let Some(pacer) = self.pacer.take()
            && pacer.active()
        {
            let _ = pacer.cancel();
            if !self.settings.quiet {
                let why = match reason {
                    DisconnectReason::Lost(error) => error.as_str(),
                    DisconnectReason::Done => "Connection closed by the client",
                    DisconnectReason::Aborted => "Connection aborted",
                };
                outln!("Somebody at {} went away: {why}", PythonPeer(&self.peer));
            }
        }
    }

    fn pause_producing(&mut self) {
        self.paused.set(true);
    }

    fn resume_producing(&mut self) {
        self.paused.set(false);
    }
}

struct SlowPoetryFactory {
    reactor: Reactor,
    settings: Rc<Settings>,
}

impl Factory for SlowPoetryFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(SlowPoetryProtocol {
            reactor: self.reactor.clone(),
            settings: Rc::clone(&self.settings),
            peer: peer.clone(),
            pacer: None,
            paused: Rc::new(Cell::new(false)),
        }))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let (poem, reactor) =
        match read_poem(&options.serve).and_then(|poem| Ok((poem, new_reactor()?))) {
            Ok(ready) => ready,
            Err(error) => {
                report_error(error);
                return ExitCode::FAILURE;
            }
        };
    let factory = Rc::new(SlowPoetryFactory {
        reactor: reactor.clone(),
        settings: Rc::new(Settings {
            poem,
            chars_per_chunk: options.pacing.chars_per_chunk(),
            delay: options.pacing.delay,
            quiet: options.quiet,
        }),
    });
    listen_and_run(
        &reactor,
        options.serve.port,
        &options.serve.iface,
        factory,
        |port| {
            format!(
                "Serving {} on port {}.",
                options.serve.poem.display(),
                port.get_host().port().unwrap_or_default()
            )
        },
    )
}
