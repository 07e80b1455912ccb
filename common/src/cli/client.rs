//! What the poetry clients do alike before and after their downloads: explain themselves when given
//! no server, report the poems they got, and say with their exit status whether anything failed.

use std::process::ExitCode;
use std::time::Duration;

use clap::CommandFactory;

use super::address::ServerAddress;
use super::duration::TimeFormat;
use super::output::report_error;
use super::poem::PoemOutput;
use crate::outln;

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
        if let Err(error) = output.save(*task, poem) {
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
