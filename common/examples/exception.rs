//! A failing callback does not stop the loop: tutorial Part 3, "Our Eye-beams Begin to Twist"
//! (`exception.py`).
//!
//! The first callback panics (Rust's closest match to raising an exception). The reactor catches the
//! panic, reports it on stderr with what it was calling at the time, and goes on to the next callback,
//! which stops the loop. A server built on the reactor survives a bad connection the same way.
//!
//! ```text
//! cargo run -p common --example exception
//! ```

use common::reactor::Reactor;

fn falldown() {
    panic!("I fall down.");
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "A failing callback does not stop the loop: tutorial Part 3, \"Our Eye-beams Begin to Twist\" (exception.py).",
    );
    let reactor = Reactor::new()?;
    reactor.call_when_running(falldown);
    let handle = reactor.clone();
    reactor.call_when_running(move || {
        println!("But I get up again.");
        handle.stop()
    });
    println!("Starting the reactor.");
    reactor.run()?;
    Ok(())
}
