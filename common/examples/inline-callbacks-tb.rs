//! Who calls an inline callback: tutorial Part 17, "Just Another Way to Spell 'Callback'"
//! (`inline-callbacks/inline-callbacks-tb.py`).
//!
//! Rust's `async`/`.await` is Twisted's `inlineCallbacks`, and it changes how callbacks are written,
//! not who calls them. The async block below prints the stack it runs on (on stderr): at the top the
//! block itself, below it the machinery that polls it (`Deferred::from_future`, the reactor calling a
//! startup callback, tokio's loop), then `Reactor::run`, and at the bottom `main`. Rust prints the
//! innermost frame first, where Python prints it last; the lesson is the same: the reactor is still in
//! charge, and the block is one of its callbacks. Then the block stops the reactor.
//!
//! ```text
//! cargo run -p common --example inline-callbacks-tb
//! ```

use std::backtrace::Backtrace;

use common::defer::{Deferred, Failure, succeed};
use common::reactor::Reactor;

/// An async block that looks at its own stack after its first `.await`.
fn my_callbacks(reactor: Reactor) -> Deferred<()> {
    Deferred::from_future(async move {
        // Already fired: the block carries on at once, still inside the reactor's startup callback.
        succeed(1).await?;
        eprintln!("{}", Backtrace::force_capture());
        reactor.stop()?;
        Ok::<(), Failure>(())
    })
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "Who calls an inline callback: tutorial Part 17, \"Just Another Way to Spell 'Callback'\" (inline-callbacks/inline-callbacks-tb.py).",
    );
    let reactor = Reactor::new()?;
    let handle = reactor.clone();
    reactor.call_when_running(move || {
        my_callbacks(handle);
    });
    reactor.run()?;
    Ok(())
}
