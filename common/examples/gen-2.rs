//! Driving a generator by hand: tutorial Part 17, "Just Another Way to Spell 'Callback'"
//! (`inline-callbacks/gen-2.py`).
//!
//! The generator of `gen-1` (an [`Iterator`] written out by hand, stable Rust having no generators),
//! but with the loop spelled out: call `next`, stop when it says the body has ended (`None`, Python's
//! `StopIteration`), print the value otherwise. Seen from the generator, this loop is a reactor: the
//! body runs only when the loop calls it, runs until it hands a value back, and then waits, for as long
//! as the loop pleases, until it is called again. The pieces of the body between two values are
//! callbacks, with the difference that they all share the same local variables.
//!
//! ```text
//! cargo run -p common --example gen-2
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
        "Driving a generator by hand: tutorial Part 17, \"Just Another Way to Spell 'Callback'\" (inline-callbacks/gen-2.py).",
    );
    let mut generator = MyGenerator::new();
    // The "reactor": it restarts the generator, and while the generator runs it waits.
    loop {
        match generator.next() {
            None => break,
            Some(n) => println!("{n}"),
        }
    }
}
