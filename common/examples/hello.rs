//! Hello from the reactor: tutorial Part 3, "Our Eye-beams Begin to Twist" (`hello.py`).
//!
//! `call_when_running` hands the reactor a function to call once its loop has started: our code runs
//! *inside* the loop, called back by it. Nothing stops the loop afterwards, so the program runs until
//! Ctrl-C.
//!
//! ```text
//! cargo run -p common --example hello         # then Ctrl-C
//! ```

use common::reactor::Reactor;

fn hello() {
    println!("Hello from the reactor loop!");
    println!("Lately I feel like I'm stuck in a rut.");
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "Hello from the reactor: tutorial Part 3, \"Our Eye-beams Begin to Twist\" (hello.py).",
    );
    let reactor = Reactor::new()?;
    reactor.call_when_running(hello);
    println!("Starting the reactor.");
    reactor.run()?;
    Ok(())
}
