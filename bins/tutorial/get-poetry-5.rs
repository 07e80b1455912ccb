//! Get Poetry Now!, Twisted version 5.0: tutorial Part 10, "Poetry Transformed"
//! (`twisted-client-5/get-poetry.py`).
//!
//! Client 4.0 plus a transform: each poem goes through the Cummingsifier, which writes it the way
//! e.e. cummings would (in lower case). To stand for a real transform that can fail in more than
//! one way, ours picks at random one of three outcomes: the lower-cased poem, a `GibberishError`
//! (nothing can be done with this poem), or a `ValueError` (a bug of the transform itself).
//!
//! The lesson is how a Deferred routes results and failures down its chain. Each Deferred that
//! `get_poetry` returns gets `try_to_cummingsify` as a callback, then `got_poem` and `poem_failed`
//! as a pair, then `poem_done` with `add_both`:
//!
//! * the poem arrives and is transformed: `got_poem` prints the lower-cased poem;
//! * the transform finds gibberish: `try_to_cummingsify` passes the error on as a failure, which
//!   skips `got_poem` and goes to `poem_failed`: "The poem download failed.";
//! * the transform has a bug: `try_to_cummingsify` deals with it itself, with an ordinary `match`
//!   (Python's `try`/`except`), prints "Cummingsify failed!" and passes the original poem on, so
//!   the Deferred never sees the error and `got_poem` prints that poem;
//! * the download fails: the Deferred starts on the errback line, the callback
//!   `try_to_cummingsify` is passed by, and `poem_failed` says so.
//!
//! `poem_failed` handles the failure, so the chain goes back to the callback line, and `poem_done`
//! runs in every case. Everything is printed while the reactor runs, as each poem is ready. The
//! exit status is 1 when any "The poem download failed." was printed; a poem printed untransformed
//! after "Cummingsify failed!" counts as received. Unlike the Python 3 original, that untransformed
//! poem is printed as text, not as a byte string.
//!
//! As in the tutorial, run it several times against one server to see all three outcomes, or pick
//! one with `--seed N`: the same seed gives the same outcomes, in the order the poems arrive.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-5 -- 10001                                  # run it again and again
//! cargo run --bin get-poetry-5 -- 10004                                  # no server there
//! ```

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::client::{exit_status, explain_if_no_servers, print_poems};
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::cli::poem::PoemOutput;
use common::cli::progress::TaskProgress;
use common::defer::{Deferred, Failure};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol,
};
use common::reactor::{DelayedCall, Reactor};
use common::{errln, outln};

/// Download poems and cummingsify them, which may fail in two ways (tutorial Part 10, client 5.0).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each poem is printed as soon as it is
/// ready, followed by an empty line: lower-cased, or as it came after "Cummingsify failed!". A poem
/// that could not be downloaded, or that the transform found to be gibberish, gives "The poem
/// download failed." on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-5",
    version,
    after_help = "Example, with a poetry server on port 10001 (run it a few times):\n  \
                  get-poetry-5 10001\n  \
                  get-poetry-5 --seed 7 10001    (the same outcome every time)"
)]
struct Options {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    servers: Vec<ServerAddress>,

    /// Fail a poem that has not arrived this long after the connection attempt started: seconds (5)
    /// or with a unit (500ms). Without it, a poem may take as long as it takes (connecting still
    /// gives up after 30 s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// Draw the transform's outcomes from this seed, so that a run can be repeated. Without it, each
    /// run draws anew.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Also save each poem printed, as printed, as DIR/poem-N.txt, N being its place in the order
    /// the poems were printed (the directory is created if needed).
    #[arg(long, value_name = "DIR")]
    save_dir: Option<PathBuf>,

    /// On a terminal, show one live line per download (bytes so far).
    #[arg(long)]
    progress: bool,
}

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The custom error of Part 8's first exercise: the poem did not arrive in time.
#[derive(Debug)]
struct TimeoutError(Duration);

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the poem took longer than {}",
            TimeFormat::Human.show(self.0)
        )
    }
}

impl Error for TimeoutError {}

/// The connection broke before the server closed it.
#[derive(Debug)]
struct ConnectionLost(DisconnectReason);

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for ConnectionLost {}

/// One download: the reactor makes one of these for the connection, through the factory.
struct PoetryProtocol {
    factory: Rc<PoetryClientFactory>,
    poem: Vec<u8>,
}

impl Protocol for PoetryProtocol {
    fn data_received(&mut self, data: &[u8]) {
        self.poem.extend_from_slice(data);
        let factory = &self.factory;
        factory.progress.update(factory.task, self.poem.len());
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        match reason {
            // The poetry protocol has no framing: the server closing is the end of the poem.
            DisconnectReason::Done => self.factory.poem_finished(std::mem::take(&mut self.poem)),
            reason => self
                .factory
                .poem_failed(Failure::new(ConnectionLost(reason.clone()))),
        }
    }
}

/// Makes the protocol, and fires the Deferred that `get_poetry` returned.
struct PoetryClientFactory {
    /// This factory, so that the protocol can hold it and report to it (Twisted's
    /// `protocol.factory`). The reactor holds the factory while it connects, so this never dangles
    /// while the protocol is being made.
    me: Weak<PoetryClientFactory>,
    /// The Deferred, until it is fired.
    deferred: RefCell<Option<Deferred<Vec<u8>>>>,
    /// The timed call that gives up on a late poem, when there is a timeout.
    deadline: RefCell<Option<DelayedCall>>,
    /// The `--progress` lines of the whole run (drawn only on a terminal), and this download's line
    /// among them: its place on the command line.
    progress: Rc<TaskProgress>,
    task: usize,
}

impl PoetryClientFactory {
    fn poem_finished(&self, poem: Vec<u8>) {
        if let Some(deferred) = self.release_deferred() {
            self.progress.finish(self.task, "finished");
            // Taken out of the factory, so this is its first firing: it cannot fail.
            let _ = deferred.callback(poem);
        }
    }

    fn poem_failed(&self, failure: Failure) {
        if let Some(deferred) = self.release_deferred() {
            self.progress.finish(self.task, "failed");
            let _ = deferred.errback(failure);
        }
    }

    /// The deadline is up: close the connection (or give up the attempt), and fail the poem.
    fn timed_out(&self, connector: &Connector, limit: Duration) {
        connector.disconnect();
        self.poem_failed(Failure::new(TimeoutError(limit)));
    }

    /// Lets go of the Deferred, to fire it: whatever happens later (the end of a connection closed
    /// by the deadline, say) finds nothing to fire. The deadline is no longer needed either.
    fn release_deferred(&self) -> Option<Deferred<Vec<u8>>> {
        if let Some(deadline) = self.deadline.borrow_mut().take() {
            // An error here only means the call is the one running now: the poem was late.
            let _ = deadline.cancel();
        }
        self.deferred.borrow_mut().take()
    }
}

impl Factory for PoetryClientFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            factory: self.me.upgrade()?,
            poem: Vec::new(),
        }))
    }
}

impl ClientFactory for PoetryClientFactory {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.poem_failed(Failure::new(reason.clone()));
    }
}

/// Downloads a poem from `host`:`port`. With a `timeout`, a poem that has not arrived that long
/// after the attempt started fails with a [`TimeoutError`]. The bytes received so far are shown on
/// line `task` of `progress`, when it is drawn.
///
/// Returns at once, with a Deferred that fires later, from the running reactor: with the poem, or
/// with a failure (the [`ConnectError`], a [`ConnectionLost`], the [`TimeoutError`]).
fn get_poetry(
    reactor: &Reactor,
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    progress: &Rc<TaskProgress>,
    task: usize,
) -> Deferred<Vec<u8>> {
    let deferred = Deferred::new();
    let factory = Rc::new_cyclic(|me| PoetryClientFactory {
        me: me.clone(),
        deferred: RefCell::new(Some(deferred.clone())),
        deadline: RefCell::new(None),
        progress: Rc::clone(progress),
        task,
    });
    let connector = reactor.connect_tcp(host, port, Rc::clone(&factory), CONNECT_TIMEOUT);
    if let Some(limit) = timeout {
        let weak = Rc::downgrade(&factory);
        let late = move || {
            if let Some(factory) = weak.upgrade() {
                factory.timed_out(&connector, limit);
            }
        };
        *factory.deadline.borrow_mut() = Some(reactor.call_later(limit, late));
    }
    deferred
}

/// A small pseudo-random generator (splitmix64): plenty to pick one of three outcomes, and the same
/// seed always gives the same draws.
struct Dice {
    state: Cell<u64>,
}

impl Dice {
    fn new(seed: u64) -> Dice {
        Dice {
            state: Cell::new(seed),
        }
    }

    /// A seed that differs from run to run: the time, mixed with the process number.
    fn unseeded() -> Dice {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        Dice::new(nanos ^ (u64::from(std::process::id()) << 32))
    }

    fn next_u64(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(state);
        let mut mixed = (state ^ (state >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number from 0 to `sides - 1`, each as likely as the others.
    fn roll(&self, sides: u64) -> u64 {
        // The top bits of the 128-bit product: no bias worth the name, unlike a remainder.
        ((u128::from(self.next_u64()) * u128::from(sides)) >> 64) as u64
    }
}

/// The poem is gibberish: no transform can make anything of it.
#[derive(Debug)]
struct GibberishError;

impl fmt::Display for GibberishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the poem is gibberish")
    }
}

impl Error for GibberishError {}

/// How the Cummingsifier can fail.
enum CummingsifyError {
    /// The poem's fault.
    Gibberish(GibberishError),
    /// The transform's own fault, the tutorial's `ValueError`: a failure nobody planned for.
    Value,
}

/// The Cummingsifier, made unreliable on purpose: one of its three outcomes, drawn at random.
fn cummingsify(dice: &Dice, poem: &[u8]) -> Result<Vec<u8>, CummingsifyError> {
    match dice.roll(3) {
        0 => Ok(String::from_utf8_lossy(poem).to_lowercase().into_bytes()),
        1 => Err(CummingsifyError::Gibberish(GibberishError)),
        _ => Err(CummingsifyError::Value),
    }
}

/// What `main` learns from its callbacks and errbacks, and the dice of the transform.
struct Results {
    reactor: Reactor,
    addresses: usize,
    dice: Dice,
    output: PoemOutput,
    /// How many poems have been printed.
    printed: Cell<usize>,
    /// How many addresses are done, whatever became of their poems.
    finished: Cell<usize>,
    failed: Cell<bool>,
    /// The `--progress` lines, drawn while the downloads run: what the callbacks print goes above
    /// them.
    progress: Rc<TaskProgress>,
}

impl Results {
    /// The first callback. Python's `try`/`except` is a `match` here: gibberish goes on as a
    /// failure, down the errback line; the other error is handled on the spot, and the original
    /// poem goes on down the callback line as if nothing had happened.
    fn try_to_cummingsify(&self, poem: Vec<u8>) -> Result<Vec<u8>, Failure> {
        match cummingsify(&self.dice, &poem) {
            Ok(transformed) => Ok(transformed),
            Err(CummingsifyError::Gibberish(error)) => Err(Failure::new(error)),
            Err(CummingsifyError::Value) => {
                self.progress.above(|| outln!("Cummingsify failed!"));
                Ok(poem)
            }
        }
    }

    /// The callback of the pair: a poem, transformed or not, to print now.
    fn got_poem(&self, poem: Vec<u8>) -> Result<(), Failure> {
        self.progress.above(|| print_poems([poem.as_slice()]));
        let number = self.printed.get() + 1;
        self.printed.set(number);
        if let Err(error) = self.output.save(number, &poem) {
            self.progress
                .above(|| report_error(format_args!("cannot save a poem: {error}")));
            self.failed.set(true);
        }
        Ok(())
    }

    /// The errback of the pair: the download failed, or the poem was gibberish. Returning
    /// `Ok` handles the failure: the chain goes back to the callback line.
    fn poem_failed(&self, _failure: Failure) -> Result<(), Failure> {
        self.progress.above(|| errln!("The poem download failed."));
        self.failed.set(true);
        Ok(())
    }

    /// Added with `add_both`, so it runs however the download went: it gets a failure only if
    /// `got_poem` or `poem_failed` themselves failed.
    fn poem_done(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        if let Err(failure) = outcome {
            self.progress.above(|| report_error(failure.report()));
            self.failed.set(true);
        }
        // The reactor makes one callback at a time, so this count cannot race.
        self.finished.set(self.finished.get() + 1);
        if self.finished.get() == self.addresses {
            let _ = self.reactor.stop();
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    if explain_if_no_servers::<Options>(&options.servers) {
        return ExitCode::SUCCESS;
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };

    // One line per address, in the order of the command line, named as it was given.
    let labels: Vec<String> = options
        .servers
        .iter()
        .enumerate()
        .map(|(index, server)| format!("Task {}: {server}", index + 1))
        .collect();
    let progress = Rc::new(TaskProgress::new(options.progress, &labels));
    let results = Rc::new(Results {
        reactor: reactor.clone(),
        addresses: options.servers.len(),
        dice: options.seed.map_or_else(Dice::unseeded, Dice::new),
        output: PoemOutput {
            save_dir: options.save_dir,
            print: false,
        },
        printed: Cell::new(0),
        finished: Cell::new(0),
        failed: Cell::new(false),
        progress: Rc::clone(&progress),
    });
    for (index, server) in options.servers.iter().enumerate() {
        let deferred = get_poetry(
            &reactor,
            &server.host,
            server.port,
            options.timeout,
            &progress,
            index + 1,
        );
        let (for_transform, for_poem, for_failure, for_done) = (
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
            Rc::clone(&results),
        );
        deferred
            .add_callback(move |poem| for_transform.try_to_cummingsify(poem))
            .add_callbacks(
                move |poem| for_poem.got_poem(poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.poem_done(outcome));
    }
    let _ = reactor.run();

    exit_status(results.failed.get())
}
