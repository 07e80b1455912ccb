//! The two clients of Parts 20 and 21 that do without a reactor, `get-poetry-tokio` and
//! `get-poetry-threads`, share this part (each program includes this file with `#[path]`): their
//! command line but for `--timeout`, the ways a download can fail, and what `main` does as it
//! hears how each download ended (print the poem at once and save it, or say in one line why there
//! is none).
//!
//! What the two programs are there to compare stays in each file: how one download is written (an
//! async function that awaits, or a blocking loop on its own thread), how the downloads run side by
//! side, and how `main` learns that one has ended (a tokio `JoinSet`, or messages on a channel).

use std::fmt;
use std::io;
use std::time::Duration;

use clap::Args;
use common::cli::address::ServerAddress;
use common::cli::client::print_poems;
use common::cli::duration::TimeFormat;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::{MaxPoemSize, PoemTooLarge, SaveDirOption};
use common::cli::progress::{ProgressOption, TaskProgress};
use common::cli::time_options::TimeoutOption;
use common::errln;

/// The options both clients take.
#[derive(Debug, Args)]
pub(crate) struct NativeClientArgs {
    /// The poetry servers, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    pub(crate) servers: Vec<ServerAddress>,

    #[command(flatten)]
    pub(crate) timeout: TimeoutOption,

    #[command(flatten)]
    save_dir: SaveDirOption,

    #[command(flatten)]
    progress: ProgressOption,

    #[command(flatten)]
    pub(crate) max_poem_size: MaxPoemSize,
}

/// How long a connection attempt may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes one read takes at most.
pub(crate) const READ_SIZE: usize = 4096;

/// Why a poem did not arrive.
#[derive(Debug)]
pub(crate) enum DownloadError {
    /// The connection could not be made.
    Connect(ServerAddress, io::Error),
    /// The connection broke before the end of the poem.
    Lost(ServerAddress, io::Error),
    /// The poem took longer than `--timeout`.
    TimedOut(Duration),
    /// The poem grew larger than `--max-poem-size`: the download hung up on the server.
    TooLarge(ServerAddress, PoemTooLarge),
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadError::Connect(server, error) => {
                write!(f, "failed to connect to {server}: {}", plain_error(error))
            }
            DownloadError::Lost(server, error) => {
                write!(f, "lost the connection to {server}: {}", plain_error(error))
            }
            DownloadError::TimedOut(limit) => {
                write!(f, "timed out after {}", TimeFormat::Human.show(*limit))
            }
            DownloadError::TooLarge(server, too_large) => {
                write!(f, "gave up on {server}: {too_large}")
            }
        }
    }
}

/// What `main` makes of the news of the downloads, as it comes: the progress lines, the poems
/// printed and saved, and whether anything failed. It belongs to `main` alone, so that a single
/// thread draws the lines and prints the poems.
pub(crate) struct Outcomes {
    save_dir: SaveDirOption,
    progress: TaskProgress,
    failed: bool,
}

impl Outcomes {
    /// Nothing heard yet; the progress lines, one per address named as it was given, are drawn
    /// when `--progress` asks for them and stderr is a terminal.
    pub(crate) fn new(args: &NativeClientArgs) -> Outcomes {
        let labels: Vec<String> = args
            .servers
            .iter()
            .enumerate()
            .map(|(index, server)| format!("Task {}: {server}", index + 1))
            .collect();
        Outcomes {
            save_dir: args.save_dir.clone(),
            progress: TaskProgress::new(&args.progress, &labels),
            failed: false,
        }
    }

    /// Whether the progress lines are drawn: the downloads then send their byte counts to `main`
    /// instead of printing a line per piece.
    pub(crate) fn drawing(&self) -> bool {
        self.progress.is_drawing()
    }

    /// Task `task` has received `bytes` bytes so far.
    pub(crate) fn received(&self, task: usize, bytes: usize) {
        self.progress.update(task, bytes);
    }

    /// Task `task` has ended: its poem is printed at once (and saved), or its error said.
    pub(crate) fn ended(&mut self, task: usize, outcome: Result<Vec<u8>, DownloadError>) {
        match outcome {
            Ok(poem) => {
                self.progress.finish(task, "finished");
                self.progress.above(|| print_poems([poem.as_slice()]));
                if let Err(error) = self.save_dir.save(task, &poem) {
                    self.progress.above(|| {
                        report_error(format_args!("cannot save the poem of task {task}: {error}"));
                    });
                    self.failed = true;
                }
            }
            Err(error) => self.failed(task, error),
        }
    }

    /// Task `task` has failed, for the reason `why`: one line on stderr, `Task N: <why>`.
    pub(crate) fn failed(&mut self, task: usize, why: impl fmt::Display) {
        self.progress.finish(task, "failed");
        self.progress.above(|| errln!("Task {task}: {why}"));
        self.failed = true;
    }

    /// Whether any download failed, or a poem could not be saved.
    pub(crate) fn any_failed(&self) -> bool {
        self.failed
    }
}
