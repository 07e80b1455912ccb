//! A GitHub user's organisations: talk 002 (Patrick Cloke and Stephen DiCato, "Twisted concepts &
//! patterns"), slide "Example (from deferred_ex.py)".
//!
//! One request, one Deferred, and a chain of three stages added to it before the reactor runs:
//!
//! 1. a callback, `got_orgs`: prints `Organization request done!`, reads the JSON answer and
//!    prints the organisations' logins, sorted, one per line;
//! 2. an errback, `log_err` (Twisted's `log.err`): whatever failed before it (the request, the
//!    JSON) is reported on stderr, `Unhandled Error` and the failure in one line, and handled;
//! 3. `shutdown`, added as callback and errback at once (`add_both`): prints `Shutting down!` and
//!    stops the reactor, whatever happened above.
//!
//! The talk asks `https://api.github.com` about `clokep`; ours takes the user as an argument and
//! the API's address as `--api` (the tests give an imitation), and `--token` for GitHub's higher
//! rate limit. Unlike the talk's, it exits with status 1 when something failed.
//!
//! ```text
//! python3 tests/fixtures/pages.py            # terminal 1: a GitHub imitation; prints its port
//! cargo run --bin github-orgs -- --api http://127.0.0.1:PORT clokep     # terminal 2
//! cargo run --bin github-orgs                 # the talk's: clokep's organisations on GitHub
//! ```

#[path = "support/github.rs"]
mod github;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::Failure;
use common::reactor::Reactor;
use common::web::client::{Bytes, error_line};
use common::{errln, outln};

use github::{GitHub, sorted_logins};

/// List a GitHub user's organisations with one getPage and a callback, an errback and a shutdown
/// on its Deferred (talk 002, deferred_ex.py).
#[derive(Debug, Parser)]
#[command(
    name = "github-orgs",
    version,
    after_help = "Examples:\n  \
                  github-orgs                   (clokep's organisations, from api.github.com)\n  \
                  github-orgs --api http://127.0.0.1:8099 clokep"
)]
struct Options {
    #[command(flatten)]
    github: GitHub,
}

/// The callback: the organisations arrived.
fn got_orgs(data: Bytes) -> Result<(), Failure> {
    outln!("Organization request done!");
    let org_names = sorted_logins(&data)?;
    outln!("{}", org_names.join("\n"));
    Ok(())
}

/// The errback: Twisted's `log.err`, which reports the failure and so handles it.
fn log_err(failure: Failure, failed: &Cell<bool>) -> Result<(), Failure> {
    errln!("Unhandled Error");
    errln!("{}", error_line(&failure));
    failed.set(true);
    Ok(())
}

/// The callback and errback at the end: no matter what happened, stop.
fn shutdown(reactor: &Reactor) -> Result<(), Failure> {
    outln!("Shutting down!");
    let _ = reactor.stop();
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let settings = match options.github.settings() {
        Ok(settings) => settings,
        Err(status) => return status,
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let agent = match settings.build() {
        Ok(agent) => agent,
        Err(failure) => {
            report_error(error_line(&failure));
            return ExitCode::FAILURE;
        }
    };

    let failed = Rc::new(Cell::new(false));
    let (to_flag, stopper) = (Rc::clone(&failed), reactor.clone());
    let github = &options.github;
    let d = agent.fetch_page(github.request(&github.orgs_url()));
    d.add_callback(got_orgs)
        .add_errback(move |failure| log_err(failure, &to_flag))
        .add_both(move |_| shutdown(&stopper));

    let _ = reactor.run();
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
