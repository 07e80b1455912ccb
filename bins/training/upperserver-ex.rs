//! The uppercase server that counts its clients: the EuroPython 2011 training, Exercise 1
//! (`upperserver_ex.py`), port 8000.
//!
//! The same server as `upperserver`, with state shared by every connection: the factory holds a
//! count of the clients connected, which each protocol raises when its connection is made and
//! lowers when it is lost (whoever closed it, for whatever reason). The greeting tells the count,
//! the new client included, with the training's grammar (`Hi! There are 1 clients`). Everything
//! runs on the reactor's one thread, so the count needs no lock: a `Cell` will do.
//!
//! ```text
//! terminal 1:  cargo run --bin upperserver-ex
//! terminal 2:  nc 127.0.0.1 8000                           # Hi! There are 1 clients
//! terminal 3:  nc 127.0.0.1 8000                           # Hi! There are 2 clients
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};

/// The training's port.
const PORT: u16 = 8000;

/// Greets each client with the number of clients connected, upper-cases the first piece of text
/// it sends, and hangs up (the EuroPython 2011 training, Exercise 1). Listens on 127.0.0.1:8000
/// unless told otherwise.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    listen: ListenOptions,
}

/// One connection, counted in its factory's `clients` while it lasts.
struct UpperProtocol {
    clients: Rc<Cell<usize>>,
    transport: Option<Rc<dyn Transport>>,
}

impl Protocol for UpperProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.clients.set(self.clients.get() + 1);
        let greeting = format!("Hi! There are {} clients\n", self.clients.get());
        transport.write(greeting.as_bytes());
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Some(transport) = &self.transport {
            transport.write(&data.to_ascii_uppercase());
            transport.lose_connection();
        }
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        self.clients.set(self.clients.get() - 1);
    }
}

/// Makes the protocols, and holds the count they share.
#[derive(Default)]
struct UpperFactory {
    clients: Rc<Cell<usize>>,
}

impl Factory for UpperFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(UpperProtocol {
            clients: Rc::clone(&self.clients),
            transport: None,
        }))
    }
}

fn main() -> ExitCode {
    let endpoints = Options::parse().listen.endpoints(PORT);
    run_server(|reactor| listen_on(reactor, &endpoints, Rc::new(UpperFactory::default())))
}
