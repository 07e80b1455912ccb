//! Where callbacks come from: tutorial Part 3, "Our Eye-beams Begin to Twist" (`stack.py`).
//!
//! A callback prints the stack it was called on. Read it from the bottom up: `main` calls
//! `Reactor::run`, the reactor (and tokio under it) waits and dispatches, and our `stack` function is
//! at the top, called by the loop. Frame names need a debug build, which `cargo run` makes.
//! Like the tutorial's, the program then goes on running until Ctrl-C.
//!
//! ```text
//! cargo run -p common --example stack         # then Ctrl-C
//! ```

use std::backtrace::Backtrace;

use common::reactor::Reactor;

fn stack() {
    println!("The Rust stack:");
    eprintln!("{}", Backtrace::force_capture());
}

fn main() -> anyhow::Result<()> {
    let reactor = Reactor::new()?;
    reactor.call_when_running(stack);
    reactor.run()?;
    Ok(())
}
