//! Logging, twistd style: tutorial Part 16, "Twisted Daemonologie" (`log.py`).
//!
//! Nothing is logged until logging is started; from then on each entry is a line with a timestamp,
//! the system it came from (`-` for none) and the message, continuation lines indented with a tab.
//! Errors are logged with `err`; and once logging is on, the reactor reports a failing callback into
//! the log too, instead of on stderr.
//!
//! ```text
//! cargo run -p common --example log
//! ```

use common::log;
use common::reactor::Reactor;

/// A callback that fails by returning an error.
fn bad_callback(result: &str) -> Result<(), String> {
    Err(format!("cannot use the result {result:?}"))
}

fn main() -> anyhow::Result<()> {
    common::cli::no_options(
        "Logging, twistd style: tutorial Part 16, \"Twisted Daemonologie\" (log.py).",
    );
    log::msg("This will not be logged, we haven't started logging yet.");
    log::start_logging(std::io::stdout());
    log::msg("This will be logged.");
    log::err("This will be logged as an error.");

    log::msg("The next function call will log the error it returns.");
    if let Err(error) = bad_callback("poem") {
        log::err(error);
    }

    log::msg("The reactor will log the panic of the next callback.");
    let reactor = Reactor::new()?;
    reactor.call_when_running(|| -> () { panic!("a callback fell over") });
    let handle = reactor.clone();
    reactor.call_when_running(move || handle.stop());
    reactor.run()?;

    log::msg("End of example.");
    Ok(())
}
