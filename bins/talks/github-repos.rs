//! A GitHub user's organisations, then every organisation's repositories: talk 002 (Patrick Cloke
//! and Stephen DiCato, "Twisted concepts & patterns"), slides "Advanced example, part 1/2 and 2/2"
//! (`deferred_ex_2.py`).
//!
//! The chain of `github-orgs`, with a callback that returns a Deferred. `got_orgs` prints the
//! organisations and, for each, starts a request for its repositories, all at once; it returns a
//! `DeferredList` of them, and the chain waits for that list before going on to `print_orgs`. Each
//! answer prints `Got repo information for <login>` as it arrives, in whatever order the server
//! answers; the summary comes once all are in, in the organisations' order.
//!
//! A DeferredList waits for failures too, and hands each one over in place of a result. The talk's
//! `printOrgs` unpacks every entry as a result, so one failed organisation makes it crash half-way
//! through the summary (`TypeError: cannot unpack non-iterable Failure object`). Ours prints the
//! failed organisation as `\t<login>: (error: <reason>)` and goes on, and exits with status 1;
//! `--faithful` brings the talk's crash back (and its exit status 0).
//!
//! ```text
//! python3 tests/fixtures/pages.py            # terminal 1: a GitHub imitation; prints its port
//! cargo run --bin github-repos -- --api http://127.0.0.1:PORT clokep    # terminal 2
//! cargo run --bin github-repos                      # the talk's: clokep on api.github.com
//! ```

#[path = "support/github.rs"]
mod github;

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, DeferredList, Failure, fail};
use common::reactor::Reactor;
use common::web::client::{Agent, Bytes, error_line};
use common::{errln, outln};

use github::{GitHub, sorted_logins, sorted_repo_names};

/// List a GitHub user's organisations, then the repositories of all of them at once, with a
/// DeferredList (talk 002, deferred_ex_2.py).
#[derive(Debug, Parser)]
#[command(
    name = "github-repos",
    version,
    after_help = "Examples:\n  \
                  github-repos                   (clokep's, from api.github.com)\n  \
                  github-repos --api http://127.0.0.1:8099 clokep"
)]
struct Options {
    #[command(flatten)]
    github: GitHub,

    /// Crash on a failed organisation as the talk's program does (a TypeError half-way through
    /// the summary, exit status 0), instead of printing its error and going on.
    #[arg(long)]
    faithful: bool,
}

/// Every organisation, in sorted order, with its repositories' names or the failure of their
/// request: what the DeferredList gives, each result beside its organisation's login.
type Summary = Vec<(String, Result<Vec<String>, Failure>)>;

/// Python's error when the talk's `printOrgs` unpacks a failure as if it were a result.
#[derive(Debug)]
struct TypeError;

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot unpack non-iterable Failure object")
    }
}

impl Error for TypeError {}

/// The callback of one organisation's repositories: their names, sorted.
fn got_repos(data: Bytes, org: &str) -> Result<Vec<String>, Failure> {
    outln!("Got repo information for {org}");
    sorted_repo_names(&data)
}

/// The callback of the organisations: print them, ask for all their repositories at once, and
/// return the Deferred of all those answers, which the chain then waits for.
fn got_orgs(data: Bytes, agent: &Agent, github: &GitHub) -> Deferred<Summary> {
    outln!("Organization request done!");
    let org_names = match sorted_logins(&data) {
        Ok(names) => names,
        Err(failure) => return fail(failure),
    };
    let mut ds = Vec::new();
    for org in &org_names {
        outln!("\t{org}");
        let d = agent.fetch_page(github.request(&github.repos_url(org)));
        let org = org.clone();
        ds.push(d.add_callback(move |data| got_repos(data, &org)));
    }
    // The failures are consumed by the list, which hands them to `print_orgs`: nothing else is
    // left to report them.
    DeferredList::all(ds, true)
        .add_callback(move |results| Ok(org_names.into_iter().zip(results).collect()))
}

/// The summary, once every request has ended. Returns whether some organisation failed.
fn print_orgs(org_list: Summary, faithful: bool) -> Result<bool, Failure> {
    outln!("Outputting repos");
    let mut any_failed = false;
    for (org, result) in org_list {
        match result {
            Ok(repos) if repos.is_empty() => outln!("\t{org}: (none)"),
            Ok(repos) => outln!("\t{org}: {}", repos.join(", ")),
            Err(_) if faithful => return Err(Failure::new(TypeError)),
            Err(failure) => {
                outln!("\t{org}: (error: {})", failure.error());
                any_failed = true;
            }
        }
    }
    Ok(any_failed)
}

/// The errback: Twisted's `log.err`, which reports the failure and so handles it.
fn log_err(failure: Failure) -> Result<bool, Failure> {
    errln!("Unhandled Error");
    errln!("{}", error_line(&failure));
    Ok(true)
}

/// The callback and errback at the end: no matter what happened, stop.
fn shutdown(reactor: &Reactor) {
    outln!("Shutting down!");
    let _ = reactor.stop();
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
    let faithful = options.faithful;
    let github = Rc::new(options.github);
    let d = agent.fetch_page(github.request(&github.orgs_url()));
    let for_repos = Rc::clone(&github);
    d.add_callback(move |data| got_orgs(data, &agent, &for_repos))
        .add_callback(move |org_list| print_orgs(org_list, faithful))
        .add_errback(log_err)
        .add_both(move |outcome| {
            to_flag.set(matches!(outcome, Ok(true)));
            shutdown(&stopper);
            Ok::<(), Failure>(())
        });

    let _ = reactor.run();
    if failed.get() && !faithful {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
