//! Clients 5.0 and 5.1 share this part (each program includes this file with `#[path]`, next to
//! `deferred_download.rs`): the options they take after the download's, the dice their unreliable
//! Cummingsifier draws its outcome from, the error it gives for gibberish, and the callbacks at the
//! end of each chain, which print the poem or say that the download failed.
//!
//! The two clients differ only in where the transform's failures are sorted out: client 5.0 does it
//! inside its callback with a `match`, client 5.1 in an errback of the Deferred. That part, the
//! lesson of Part 10, stays in each program; what is here is the same in both, and prints the same.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use common::cli::client::print_poems;
use common::cli::output::report_error;
use common::cli::poem::SaveDirOption;
use common::cli::progress::{ProgressOption, TaskProgress};
use common::defer::Failure;
use common::errln;
use common::reactor::Reactor;

use crate::deferred_download::Tally;

/// The options that follow `DownloadArgs`: the transform's seed, and what to do with the poems.
#[derive(Debug, Args)]
pub(crate) struct CummingsifyArgs {
    /// Draw the transform's outcomes from this seed, so that a run can be repeated. Without it, each
    /// run draws anew.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,

    /// Where to save each poem, as it is printed (cummingsified or not).
    #[command(flatten)]
    pub(crate) save_dir: SaveDirOption,

    #[command(flatten)]
    pub(crate) progress: ProgressOption,
}

/// A small pseudo-random generator (splitmix64): plenty to pick one of three outcomes, and the same
/// seed always gives the same draws.
pub(crate) struct Dice {
    state: Cell<u64>,
}

impl Dice {
    /// The dice of `--seed`: the same seed, the same draws. Without a seed, one that differs from
    /// run to run: the time, mixed with the process number.
    pub(crate) fn from_seed(seed: Option<u64>) -> Dice {
        let seed = seed.unwrap_or_else(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 32)
        });
        Dice {
            state: Cell::new(seed),
        }
    }

    fn next_u64(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(state);
        let mut mixed = (state ^ (state >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number from 0 to `sides - 1`, each as likely as the others.
    pub(crate) fn roll(&self, sides: u64) -> u64 {
        // The top bits of the 128-bit product: no bias worth the name, unlike a remainder.
        ((u128::from(self.next_u64()) * u128::from(sides)) >> 64) as u64
    }
}

/// The poem is gibberish: no transform can make anything of it.
#[derive(Debug)]
pub(crate) struct GibberishError;

impl fmt::Display for GibberishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the poem is gibberish")
    }
}

impl Error for GibberishError {}

/// What `main` learns from the callbacks at the end of each chain.
pub(crate) struct Results {
    save_dir: SaveDirOption,
    /// The `--progress` lines, drawn while the downloads run: the poems are printed above them.
    progress: Rc<TaskProgress>,
    /// The addresses done, and whether anything failed.
    pub(crate) tally: Tally,
}

impl Results {
    /// The results of `addresses` downloads, each poem saved as `save_dir` asks; the last of them
    /// stops `reactor`.
    pub(crate) fn new(
        reactor: &Reactor,
        addresses: usize,
        save_dir: SaveDirOption,
        progress: &Rc<TaskProgress>,
    ) -> Results {
        Results {
            save_dir,
            progress: Rc::clone(progress),
            tally: Tally::new(reactor, addresses, progress),
        }
    }

    /// The callback of the pair: the poem of task `task` (its place on the command line),
    /// transformed or not, to print now.
    pub(crate) fn got_poem(&self, task: usize, poem: Vec<u8>) -> Result<(), Failure> {
        self.progress.above(|| print_poems([poem.as_slice()]));
        if let Err(error) = self.save_dir.save(task, &poem) {
            self.tally
                .fail(|| report_error(format_args!("cannot save a poem: {error}")));
        }
        Ok(())
    }

    /// The errback of the pair: the download failed, or the poem was gibberish. Returning `Ok`
    /// handles the failure: the chain goes back to the callback line.
    pub(crate) fn poem_failed(&self, _failure: Failure) -> Result<(), Failure> {
        self.tally.fail(|| errln!("The poem download failed."));
        Ok(())
    }
}
