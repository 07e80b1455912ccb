//! Serving a site: the whole `main` of a web program of the training or the talks.
//!
//! Each of those programs builds a tree of resources, puts it in a [`Site`] and listens with it,
//! and that is all its `main` does. [`serve_site`] does the rest: where to listen (the program's
//! `--listen`, `--port` and `--interface`), the line on stderr that says where it listens, the
//! log, and a clean stop on Ctrl-C or SIGTERM.
//!
//! ```no_run
//! # use std::rc::Rc;
//! # use common::endpoints::ServerEndpoint;
//! # use common::web::{Branch, Data, SiteLog, serve_site};
//! let endpoints = [ServerEndpoint::tcp(8000, "127.0.0.1")];
//! serve_site(&endpoints, SiteLog::Stdout, |_reactor| {
//!     let root = Rc::new(Branch::new());
//!     root.put_child("", Rc::new(Data::new("hello world", "text/plain")));
//!     root
//! });
//! ```

use std::process::ExitCode;
use std::rc::Rc;

use super::{Resource, Site};
use crate::cli::server::{listen_on, run_logged_server, run_server};
use crate::endpoints::ServerEndpoint;
use crate::reactor::Reactor;

/// Whether a web program keeps a log, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteLog {
    /// Twisted's log on stdout, as the training's web programs start it
    /// (`log.startLogging(sys.stdout)`): twistd's start-up lines (`Site starting on 8000`), one
    /// access line per request, and twistd's shut-down lines.
    Stdout,
    /// No log: nothing on stdout, as the talks' web programs, which start no log observer. Errors
    /// still reach stderr.
    Off,
}

/// Serves the tree that `root` builds on each endpoint, logging as `log` says, until Ctrl-C or
/// SIGTERM; returns the exit status (0 after a signal, 1 when a port cannot listen, with one line
/// on stderr saying why).
///
/// `root` is given the reactor, for pages that need its timers or its threads.
pub fn serve_site(
    endpoints: &[ServerEndpoint],
    log: SiteLog,
    root: impl FnOnce(&Reactor) -> Rc<dyn Resource>,
) -> ExitCode {
    serve_custom_site(endpoints, log, |reactor| Site::new(root(reactor)))
}

/// [`serve_site`] for a site that the program makes itself: with other limits
/// ([`Site::with_limits`]), say, as the XML-RPC server's `--max-body` asks.
pub fn serve_custom_site(
    endpoints: &[ServerEndpoint],
    log: SiteLog,
    site: impl FnOnce(&Reactor) -> Site,
) -> ExitCode {
    let site = |reactor: &Reactor| Rc::new(site(reactor));
    match log {
        SiteLog::Stdout => run_logged_server(endpoints, site),
        SiteLog::Off => run_server(|reactor| listen_on(reactor, endpoints, site(reactor))),
    }
}
