//! Talk 002's admin dashboard as a plugin: the slide "Tangent: twistd" runs the Flask dashboard
//! with `twistd web --wsgi=dashboard.app`; here poetryd runs our dashboard
//! (`bins/talks/dashboard/`, included unchanged) in a `TcpServer`, with its access lines in
//! poetryd's log.
//!
//! twistd's web plugin listens on 8080 by default, the chat API's port, so the talk's command
//! could not run beside the chat server; this plugin listens on 5000, the dashboard's own port,
//! unless told otherwise.
//!
//! ```text
//! cargo run --bin poetryd -- --nodaemon catchat-dashboard --api http://127.0.0.1:8080
//! ```

#[path = "../../talks/dashboard/api_client.rs"]
mod api_client;
#[path = "../../talks/dashboard/dashboard.rs"]
mod dashboard;
use crate::token;

use std::rc::Rc;

use clap::Args;
use common::reactor::Reactor;
use common::service::{MultiService, TcpServer};

#[derive(Debug, Args)]
pub struct Options {
    /// The port to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 5000, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = common::endpoints::DEFAULT_INTERFACE)]
    interface: String,

    #[command(flatten)]
    dashboard: dashboard::DashboardOptions,
}

impl Options {
    /// Refuses, before poetryd forks, a token file that cannot be read.
    pub fn check(&self) -> Result<(), String> {
        self.dashboard.dashboard().map(|_| ())
    }
}

/// The plugin's tree: one `TcpServer` with the dashboard's site.
pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    // Checked before forking: this cannot fail here.
    if let Ok(dashboard) = options.dashboard.dashboard() {
        let site = Rc::new(dashboard::site(dashboard));
        let server = TcpServer::new(reactor, options.port, site, &options.interface);
        // Unnamed services never clash, so adding it cannot fail.
        let _ = top_service.add_service(Rc::new(server));
    }
    top_service
}
