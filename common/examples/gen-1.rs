//! A generator runs in steps, between the steps of the loop that drives it: tutorial Part 17, "Just
//! Another Way to Spell 'Callback'" (`inline-callbacks/gen-1.py`).
//!
//! Stable Rust has no generators, so the generator of the original is written out by hand here as
//! what Python makes of one: an [`Iterator`] whose `next` runs the function's body from where it
//! stopped up to the next value it hands out. The body's pieces become the arms of a `match` on how
//! far it has got. The `for` loop asks for a value, the body runs a little (printing as it goes) and
//! gives one, then the loop runs (printing the value), and so on: the two take turns, and neither runs
//! while the other does.
//!
//! ```text
//! cargo run -p common --example gen-1
//! ```

/// How far the generator's body has run: the places where it handed out a value, and the end.
#[derive(Debug, Clone, Copy)]
enum Progress {
    NotStarted,
    Gave1,
    Gave2,
    Gave3,
    Finished,
}

/// The body "print, give 1, print, give 2, print, give 3, print", cut at each value it gives.
struct MyGenerator {
    progress: Progress,
}

impl MyGenerator {
    fn new() -> Self {
        MyGenerator {
            progress: Progress::NotStarted,
        }
    }
}

impl Iterator for MyGenerator {
    type Item = u32;

    /// Runs the body from where it stopped to the next value (or to its end, which gives `None`).
    fn next(&mut self) -> Option<u32> {
        let (next, value) = match self.progress {
            Progress::NotStarted => {
                println!("starting up");
                (Progress::Gave1, Some(1))
            }
            Progress::Gave1 => {
                println!("workin'");
                (Progress::Gave2, Some(2))
            }
            Progress::Gave2 => {
                println!("still workin'");
                (Progress::Gave3, Some(3))
            }
            Progress::Gave3 => {
                println!("done");
                (Progress::Finished, None)
            }
            Progress::Finished => (Progress::Finished, None),
        };
        self.progress = next;
        value
    }
}

fn main() {
    common::cli::no_options(
        "A generator runs in steps, between the steps of the loop that drives it: tutorial Part 17, \"Just Another Way to Spell 'Callback'\" (inline-callbacks/gen-1.py).",
    );
    for n in MyGenerator::new() {
        println!("{n}");
    }
}
