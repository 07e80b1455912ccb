//! A GitHub user's organisations and their repositories, the blocking way: talk 002 (Patrick
//! Cloke and Stephen DiCato, "Twisted concepts & patterns"), slide `deferred_ex_2_req.py`.
//!
//! The talk puts `github-repos` beside the same program written with `requests`: no reactor, no
//! Deferred; each request blocks until its answer is in, so the repositories are asked for one
//! organisation after another, and the whole takes the sum of their times where `github-repos`
//! takes about the slowest. The lines are the same, in a fixed order, with two differences the
//! talk's version has: an organisation with no repository is left out of the summary (no
//! `(none)`), and there is no `Shutting down!`, as there is no reactor to stop.
//!
//! Nothing handles an error: the first failure (a connection refused, an error status, an answer
//! that is not the expected JSON) ends the program with status 1 and one line on stderr, where the
//! talk's prints a Python traceback.
//!
//! ```text
//! python3 tests/fixtures/pages.py            # terminal 1: a GitHub imitation; prints its port
//! cargo run --bin github-repos-blocking -- --api http://127.0.0.1:PORT clokep    # terminal 2
//! ```

#[path = "support/github.rs"]
mod github;

use std::process::ExitCode;

use clap::Parser;
use common::cli::output::report_error;
use common::defer::Failure;
use common::outln;
use common::web::client::blocking::BlockingAgent;
use common::web::client::{Bytes, error_line};

use github::{GitHub, sorted_logins, sorted_repo_names};

/// List a GitHub user's organisations, then each one's repositories, one blocking request after
/// another (talk 002, deferred_ex_2_req.py).
#[derive(Debug, Parser)]
#[command(
    name = "github-repos-blocking",
    version,
    after_help = "Examples:\n  \
                  github-repos-blocking          (clokep's, from api.github.com)\n  \
                  github-repos-blocking --api http://127.0.0.1:8099 clokep"
)]
struct Options {
    #[command(flatten)]
    github: GitHub,
}

/// One request, waited for.
fn get(agent: &BlockingAgent, github: &GitHub, url: &str) -> Result<Bytes, Failure> {
    agent.fetch_page(github.request(url))
}

/// The program's whole work; its first failure ends it.
fn list_repos(agent: &BlockingAgent, github: &GitHub) -> Result<(), Failure> {
    let orgs = get(agent, github, &github.orgs_url())?;
    outln!("Organization request done!");
    let mut org_list = Vec::new();
    for org in sorted_logins(&orgs)? {
        outln!("\t{org}");
        let repos = get(agent, github, &github.repos_url(&org))?;
        outln!("Got repo information for {org}");
        org_list.push((org, sorted_repo_names(&repos)?));
    }
    outln!("Outputting repos");
    for (org, repos) in org_list.iter().filter(|(_, repos)| !repos.is_empty()) {
        outln!("\t{org}: {}", repos.join(", "));
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let settings = match options.github.settings() {
        Ok(settings) => settings,
        Err(status) => return status,
    };
    let listed = BlockingAgent::new(settings).and_then(|agent| list_repos(&agent, &options.github));
    match listed {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report_error(error_line(&failure));
            ExitCode::FAILURE
        }
    }
}
