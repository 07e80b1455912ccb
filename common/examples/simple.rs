//! The simplest reactor program: tutorial Part 3, "Our Eye-beams Begin to Twist" (`simple.py`).
//!
//! It makes a reactor and runs it, with nothing for it to do. The loop waits for events that never
//! come, using no CPU at all (check with `top`), until Ctrl-C or SIGTERM stops it. Nothing happens
//! before `run`: the reactor is just an object until its loop starts.
//!
//! ```text
//! cargo run -p common --example simple        # then Ctrl-C
//! ```
//!
//! The tutorial's `simple-poll.py` shows how to pick another reactor implementation (poll instead of
//! select). There is no counterpart here: tokio picks the operating system's best mechanism (epoll on
//! Linux, kqueue on the BSDs and macOS) by itself.

use common::reactor::Reactor;

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "The simplest reactor program: tutorial Part 3, \"Our Eye-beams Begin to Twist\" (simple.py).",
    );
    let reactor = Reactor::new()?;
    reactor.run()?;
    Ok(())
}
