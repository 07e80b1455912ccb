//! Where callbacks come from: tutorial Part 3, "Our Eye-beams Begin to Twist" (`stack.py`).
//!
//! A callback prints the stack it was called on. Read it from the bottom up: `main` calls
//! `Reactor::run`, the reactor (and tokio under it) waits and dispatches, and our `stack` function is
//! at the top, called by the loop. Only the frames of this program and of `common` (the reactor) are
//! printed; the sixty-odd of std and tokio between them are counted in the last line. Source lines
//! need a debug build, which `cargo run` makes. Like the tutorial's, the program then goes on
//! running until Ctrl-C.
//!
//! ```text
//! cargo run -p common --example stack         # then Ctrl-C
//! ```

use common::cli::stack::lesson_stack;
use common::reactor::Reactor;

/// The callback the lesson is about: kept a function of its own, with a frame of its own, even in a
/// release build that would inline it into the reactor's loop.
#[inline(never)]
fn stack() {
    println!("The Rust stack:");
    eprintln!("{}", lesson_stack(env!("CARGO_CRATE_NAME")));
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "Where callbacks come from: tutorial Part 3, \"Our Eye-beams Begin to Twist\" (stack.py).",
    );
    let reactor = Reactor::new()?;
    reactor.call_when_running(stack);
    reactor.run()?;
    Ok(())
}
