//! The Poetry Transform Server of Part 12 as a plugin: netstring requests `name.poem`, one
//! transformed poem back, then the close. The server itself is `transformedpoetry`'s
//! (`support/transform_server.rs`); the plugin reports every request to twistd's log and closes
//! connections gone quiet, as the stand-alone server does.

use std::rc::Rc;
use std::time::Duration;

use clap::Args;
use common::cli::duration::parse_timeout;
use common::log;
use common::protocol::IdleTimeout;
use common::reactor::Reactor;
use common::service::{MultiService, Service, TcpServer};

use crate::poem_service::log_system;
use crate::transform_server::{TransformFactory, TransformService};

#[derive(Debug, Args)]
pub struct Options {
    /// The port number to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 11000, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// Close a connection whose client has sent nothing for this long: seconds (30) or a number
    /// with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = parse_timeout)]
    idle_timeout: Duration,
}

pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let transform_service = Rc::new(TransformService::default());
    let system = log_system::<TransformFactory>();
    let factory = TransformFactory::new(
        reactor,
        Rc::clone(&transform_service),
        move |peer, outcome| log::msg_from(&system, outcome.describe(peer)),
    );
    let factory = Rc::new(IdleTimeout::new(reactor, factory, options.idle_timeout));
    let tcp_service = TcpServer::new(reactor, options.port, factory, &options.iface);
    for service in [transform_service as Rc<dyn Service>, Rc::new(tcp_service)] {
        let _ = top_service.add_service(service);
    }
    top_service
}
