//! The NetCatChat admin dashboard: talk 002, "Now serve it using Flask" (`dashboard.py` and its
//! `templates/index.html`): a web page, served by a process of its own, that shows the chat's
//! user count and banner and sets a new banner, all through the chat server's HTTP API.
//!
//! The talk's point is the architecture: the chat server keeps the state and offers an API; the
//! dashboard is a separate, stateless service that calls it (the talk with `requests`, ours with
//! the project's HTTP client). Beyond the talk, the page stays current by itself (a small script
//! asks for the figures twice a second), a chat API that is down is a clear notice on the page,
//! and the API's token, if it has one, is passed on.
//!
//! ```text
//! terminal 1:  cargo run --bin catchat
//! terminal 2:  cargo run --bin catchat-dashboard          # http://127.0.0.1:5000/
//! terminal 3:  nc 127.0.0.1 1400                          # the page's count goes up
//! ```

mod api_client;
mod dashboard;
#[path = "../support/token.rs"]
mod token;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::output::report_error;
use common::cli::server::{ListenOptions, run_logged_server};

use dashboard::{DashboardOptions, site};

/// Flask's port, which the talk's dashboard used.
const PORT: u16 = 5000;

/// Serve the NetCatChat admin page (talk 002): the chat's user count and banner, and a form to
/// set the banner, all through the chat server's API. Listens on 127.0.0.1:5000 unless told
/// otherwise; logs each request on stdout.
#[derive(Parser)]
#[command(version)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    dashboard: DashboardOptions,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let dashboard = match options.dashboard.dashboard() {
        Ok(dashboard) => dashboard,
        Err(line) => {
            report_error(line);
            return ExitCode::from(2);
        }
    };
    let endpoints = options.listen.endpoints(PORT);
    run_logged_server(&endpoints, |_reactor| Rc::new(site(dashboard)))
}
