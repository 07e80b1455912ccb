//! Get Poetry Now!, Twisted version 5.1: tutorial Part 10, "Poetry Transformed"
//! (`twisted-client-5/get-poetry-1.py`).
//!
//! Client 5.0 handled the transform's bug inside its callback, with a `match` (Python's
//! `try`/`except`). This version lets the Deferred catch every error of the transform, and sorts
//! them out in an errback instead. For that errback to carry on with the original poem, the error
//! must bring the poem with it: the transform's bug is now a `CannotCummingsify` error that holds
//! the original poem, and `cummingsify` itself is the callback. The chain is:
//!
//! * `cummingsify` (callback): the lower-cased poem, or a failure, `GibberishError` or
//!   `CannotCummingsify`;
//! * `cummingsify_failed` (errback): checks the failure's type. A `CannotCummingsify` is handled:
//!   it prints "Cummingsify failed!" and returns the poem inside it, back onto the callback line.
//!   Anything else (gibberish, or a download that failed and has skipped `cummingsify`) is passed on
//!   unchanged, still a failure;
//! * `got_poem` and `poem_failed` (a pair), and `poem_done` (`add_both`), as in client 5.0.
//!
//! The outcomes, and what is printed, are those of client 5.0: the lower-cased poem, or
//! "Cummingsify failed!" and the original poem, or "The poem download failed." on stderr (exit
//! status 1). With `--seed N`, a run's draws can be repeated.
//!
//! ```text
//! cargo run --bin fastpoetry -- --port 10001 poetry/fascination.txt     # terminal 1
//! cargo run --bin get-poetry-5-1 -- 10001                                # run it again and again
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

/// Download poems and cummingsify them, sorting the transform's failures out in an errback
/// (tutorial Part 10, client 5.1).
///
/// Each ADDRESS is [host:]port, a bare port meaning 127.0.0.1. Each poem is printed as soon as it is
/// ready, followed by an empty line: lower-cased, or as it came after "Cummingsify failed!". A poem
/// that could not be downloaded, or that the transform found to be gibberish, gives "The poem
/// download failed." on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "get-poetry-5-1",
    version,
    after_help = "Example, with a poetry server on port 10001 (run it a few times):\n  \
                  get-poetry-5-1 10001\n  \
                  get-poetry-5-1 --seed 7 10001    (the same outcome every time)"
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

/// The transform itself went wrong (client 5.0's `ValueError`), with the original poem, so that
/// whoever handles the error can go on with it.
#[derive(Debug)]
struct CannotCummingsify(Vec<u8>);

impl fmt::Display for CannotCummingsify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot cummingsify a poem of {} bytes", self.0.len())
    }
}

impl Error for CannotCummingsify {}

/// The Cummingsifier, made unreliable on purpose: one of its three outcomes, drawn at random. It is
/// a callback as it stands: either failure goes down the errback line.
fn cummingsify(dice: &Dice, poem: Vec<u8>) -> Result<Vec<u8>, Failure> {
    match dice.roll(3) {
        0 => Ok(String::from_utf8_lossy(&poem).to_lowercase().into_bytes()),
        1 => Err(Failure::new(GibberishError)),
        _ => Err(Failure::new(CannotCummingsify(poem))),
    }
}

/// The errback after `cummingsify`: recovers from `CannotCummingsify` with the poem it carries, and
/// passes any other failure on (Twisted's `Failure.check`, then returning the failure). What it
/// prints goes above the live lines of `progress`.
fn cummingsify_failed(progress: &TaskProgress, failure: Failure) -> Result<Vec<u8>, Failure> {
    match failure.downcast_ref::<CannotCummingsify>() {
        Some(CannotCummingsify(original)) => {
            progress.above(|| outln!("Cummingsify failed!"));
            Ok(original.clone())
        }
        None => Err(failure),
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
        let for_recovery = Rc::clone(&progress);
        deferred
            .add_callback(move |poem| cummingsify(&for_transform.dice, poem))
            .add_errback(move |failure| cummingsify_failed(&for_recovery, failure))
            .add_callbacks(
                move |poem| for_poem.got_poem(poem),
                move |failure| for_failure.poem_failed(failure),
            )
            .add_both(move |outcome| for_done.poem_done(outcome));
    }
    let _ = reactor.run();

    exit_status(results.failed.get())
}
