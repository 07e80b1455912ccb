//! What the poetry clients do alike before and after their downloads: explain themselves when given
//! no server, report the poems they got, and say with their exit status whether anything failed.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use super::address::ServerAddress;
use super::duration::TimeFormat;
use super::output::{program_name, report_error};
use super::poem::PoemOutput;
use crate::protocol::{ConnectError, Destination};
use crate::reactor::Reactor;
use crate::{errln, outln};

/// When a client is given no server, prints its long help (what it shows, how to run it) and returns
/// true: the caller then exits with status 0, as the tutorial's clients do.
pub fn explain_if_no_servers<C: CommandFactory>(servers: &[ServerAddress]) -> bool {
    if servers.is_empty() {
        let _ = C::command().print_long_help();
    }
    servers.is_empty()
}

/// A client's exit status: 1 when any download failed, 0 when every poem arrived.
pub fn exit_status(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A reactor client's exit status once its loop is over and its summary printed: as
/// [`exit_status`], unless Ctrl-C or SIGTERM stopped the loop, which [`interrupted`] reports.
///
/// The reactor stops on those signals by itself, so that a client's summary of what did finish is
/// still printed; without this, the run would then end with status 0 as if all had gone well.
pub fn exit_status_after(reactor: &Reactor, failed: bool) -> ExitCode {
    match reactor.stopped_by_signal() {
        Some(signal) => interrupted(signal),
        None => exit_status(failed),
    }
}

/// Says on stderr why a connection to `destination` could not be made, in one line worded as the
/// blocking clients word it: `get-poetry-2: failed to connect to nosuch.invalid:10000: <reason>`.
///
/// For the clients whose tutorial output names only the address (`Failed to connect to:
/// IPv4Address(...)`, which they keep on stdout byte for byte): without this line, a user could not
/// tell a name that does not resolve from a server that is not running.
pub fn report_connect_failure(destination: &Destination, reason: &ConnectError) {
    let place = match destination {
        Destination::Tcp { host, port } => ServerAddress {
            host: host.clone(),
            port: *port,
        }
        .to_string(),
        Destination::Unix(path) => path.display().to_string(),
    };
    errln!(
        "{}: failed to connect to {place}: {}",
        program_name(),
        reason.plain_reason()
    );
}

/// Says on stderr that `signal` (`SIGINT`, `SIGTERM`) cut the run short, `get-poetry-3: interrupted
/// by SIGINT`, and returns the status a shell gives a program that signal ended: 128 plus its
/// number, 130 for Ctrl-C.
///
/// Every client calls this after its summary, so that an interrupted run always ends with the
/// lines of what finished, one `interrupted` line, and the same status.
pub fn interrupted(signal: &str) -> ExitCode {
    ExitCode::from(say_interrupted(signal))
}

/// Prints the `interrupted` line of [`interrupted`] and returns the exit status as a number.
fn say_interrupted(signal: &str) -> u8 {
    errln!("{}: interrupted by {signal}", program_name());
    if signal == "SIGTERM" { 143 } else { 130 }
}

/// [`on_ctrl_c`] with the summary of the clients that count their poems: `Got N poems in T`, N
/// being the poems that arrived whole before Ctrl-C, T the time since this call. Returns the count
/// for the client to add to as each poem arrives.
pub fn count_poems_until_ctrl_c(time_format: TimeFormat) -> Arc<AtomicUsize> {
    let (finished, started) = (Arc::new(AtomicUsize::new(0)), Instant::now());
    let count = Arc::clone(&finished);
    on_ctrl_c(move || {
        let poems = count.load(Ordering::SeqCst);
        outln!(
            "Got {poems} poems in {}",
            time_format.show(started.elapsed())
        );
    });
    finished
}

/// Ctrl-C for the clients that have no reactor to stop (the blocking one, the hand-written select
/// loop, threads, plain tokio): from now on, Ctrl-C runs `summary` (which prints what finished
/// so far), says `interrupted` and ends the program with status 130, as for the reactor clients.
///
/// The main thread may be blocked in a `read` that a signal does not end, so the signal is awaited
/// on a thread of its own, which ends the whole process. The handler is installed before this
/// returns: a Ctrl-C pressed right after is never missed.
pub fn on_ctrl_c(summary: impl FnOnce() + Send + 'static) {
    after_sigint(move || {
        summary();
        std::process::exit(say_interrupted("SIGINT").into());
    });
}

/// Ctrl-C for a reactor client whose callbacks may block: `get-poetry-1-broken`, the lesson of
/// Part 4, which reads a whole poem inside one callback.
///
/// The reactor hears of Ctrl-C only between two callbacks, so a callback blocked in a read keeps it
/// from ever stopping. This waits for SIGINT on a thread of its own instead, which needs nothing of
/// the reactor: if the reactor has not stopped `grace` after the signal, it says so, runs
/// `summary` (which prints what finished so far), says `interrupted` and ends the program with
/// status 130, as [`on_ctrl_c`] does. Once `run` has returned, call
/// [`BlockedReactorFallback::reactor_stopped`]: the program then ends its usual way, with its own
/// summary and [`exit_status_after`].
pub fn on_ctrl_c_if_blocked(
    grace: Duration,
    summary: impl FnOnce() + Send + 'static,
) -> BlockedReactorFallback {
    let stopped = Arc::new(Mutex::new(false));
    let watched = Arc::clone(&stopped);
    after_sigint(move || {
        std::thread::sleep(grace);
        // Held until the process ends: `reactor_stopped` then waits rather than start a second
        // summary.
        let stopped = watched.lock().unwrap_or_else(PoisonError::into_inner);
        if *stopped {
            return;
        }
        errln!(
            "{}: the reactor has not stopped {} after Ctrl-C: a callback is blocking it",
            program_name(),
            TimeFormat::Human.show(grace)
        );
        summary();
        std::process::exit(say_interrupted("SIGINT").into());
    });
    BlockedReactorFallback { stopped }
}

/// The fallback of [`on_ctrl_c_if_blocked`], to be told when the reactor has stopped.
#[must_use = "call reactor_stopped once the reactor's run has returned"]
pub struct BlockedReactorFallback {
    stopped: Arc<Mutex<bool>>,
}

impl BlockedReactorFallback {
    /// The reactor's `run` has returned: from now on the fallback does nothing. If it is already
    /// printing its summary, this waits for it to end the program.
    pub fn reactor_stopped(self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }
}

/// Calls `then` on a thread of its own when SIGINT arrives. The handler is installed before this
/// returns: a Ctrl-C pressed right after is never missed. Once installed, SIGINT no longer kills
/// the process by itself: `then` must end it, or the signal is ignored.
///
/// The thread runs its own small runtime to await the signal, so it hears of it whatever the main
/// thread is doing, blocked in a `read` included (a signal does not end a `read`: it is restarted).
fn after_sigint(then: impl FnOnce() + Send + 'static) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return;
    };
    let installed = {
        let _context = runtime.enter();
        signal(SignalKind::interrupt())
    };
    let Ok(mut interrupt) = installed else {
        return;
    };
    std::thread::spawn(move || {
        if runtime.block_on(interrupt.recv()).is_some() {
            then();
        }
    });
}

/// The closing lines of the clients that number their tasks: `Task N: X bytes of poetry` for each
/// poem (in the order given) when `per_task` is set, then `Got N poems in T`; then the poems are saved
/// and printed as `output` asks. Returns false when a poem could not be saved (the error is
/// reported).
pub fn report_poems(
    poems: &[(usize, &[u8])],
    elapsed: Duration,
    time_format: TimeFormat,
    output: &PoemOutput,
    per_task: bool,
) -> bool {
    if per_task {
        for (task, poem) in poems {
            outln!("Task {task}: {} bytes of poetry", poem.len());
        }
    }
    outln!("Got {} poems in {}", poems.len(), time_format.show(elapsed));
    for (task, poem) in poems {
        if let Err(error) = output.save_dir.save(*task, poem) {
            report_error(format_args!("cannot save the poem of task {task}: {error}"));
            return false;
        }
    }
    output.print(poems.iter().copied());
    true
}

/// Prints poems the way clients 2.1 and 3.x do: each poem as text, then an empty line.
pub fn print_poems<'a>(poems: impl IntoIterator<Item = &'a [u8]>) {
    for poem in poems {
        // The poem ends with its own newline; the line printed here is the empty one after it.
        outln!("{}", String::from_utf8_lossy(poem));
    }
}
