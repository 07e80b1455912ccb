//! Several generators at once, taking turns: tutorial Part 17, "Just Another Way to Spell
//! 'Callback'" (`inline-callbacks/gen-3.py`).
//!
//! Two generators (each an [`Iterator`] written out by hand, stable Rust having no generators) are
//! driven by one loop, round-robin: one step of the first, one step of the second, and again, each
//! dropped from the round when it has finished. Their steps interleave as the callbacks of independent
//! asynchronous tasks interleave on one reactor: nothing runs in parallel, yet both make progress.
//!
//! ```text
//! cargo run -p common --example gen-3
//! ```

/// A generator that gives 1, 2 and 3: its state is how many it has given.
struct MyGenerator {
    given: usize,
}

impl Iterator for MyGenerator {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let value = match self.given {
            0 => 1,
            1 => 2,
            2 => 3,
            _ => return None,
        };
        self.given += 1;
        Some(value)
    }
}

/// A generator that gives 10, 20, 30 and 40.
struct MyOtherGenerator {
    given: usize,
}

impl Iterator for MyOtherGenerator {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let value = match self.given {
            0 => 10,
            1 => 20,
            2 => 30,
            3 => 40,
            _ => return None,
        };
        self.given += 1;
        Some(value)
    }
}

fn main() {
    common::cli::no_options(
        "Several generators at once, taking turns: tutorial Part 17, \"Just Another Way to Spell 'Callback'\" (inline-callbacks/gen-3.py).",
    );
    let mut generators: Vec<Box<dyn Iterator<Item = u32>>> = vec![
        Box::new(MyGenerator { given: 0 }),
        Box::new(MyOtherGenerator { given: 0 }),
    ];
    // One round: each generator still running gets one step, in turn; a finished one leaves.
    while !generators.is_empty() {
        generators.retain_mut(|generator| match generator.next() {
            Some(n) => {
                println!("{n}");
                true
            }
            None => false,
        });
    }
}
