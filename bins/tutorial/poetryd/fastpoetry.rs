//! Fast Poetry 3.0: the whole poem at once to every client, as the twistd plugin of Part 16.

use std::rc::Rc;

use clap::Args;
use common::log;
use common::protocol::{Address, Factory, Protocol, Transport};
use common::reactor::Reactor;
use common::service::{MultiService, Service, TcpServer};

use crate::poem_service::{ListenOptions, PoetryService, log_system};

#[derive(Debug, Args)]
pub struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

/// The tree of Figure 34, without the Application that poetryd adds on top.
pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let poetry_service = Rc::new(PoetryService::new(&options.listen.poem));
    let factory = Rc::new(PoetryFactory {
        service: Rc::clone(&poetry_service),
    });
    let tcp_service = TcpServer::new(reactor, options.listen.port, factory, &options.listen.iface);
    for service in [poetry_service as Rc<dyn Service>, Rc::new(tcp_service)] {
        // Unnamed services never clash, so adding them cannot fail.
        let _ = top_service.add_service(service);
    }
    top_service
}

struct PoetryProtocol {
    service: Rc<PoetryService>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        if let Some(poem) = self.service.poem() {
            log::msg_from(
                &log_system::<PoetryFactory>(),
                format!(
                    "sending {} bytes of poetry to {}",
                    poem.len(),
                    transport.get_peer()
                ),
            );
            transport.write(&poem);
        }
        transport.lose_connection();
    }
}

/// The factory finds the poem on the service, not on itself.
struct PoetryFactory {
    service: Rc<PoetryService>,
}

impl Factory for PoetryFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            service: Rc::clone(&self.service),
        }))
    }
}
