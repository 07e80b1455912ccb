//! The reactor's slow server (Part 11, exercise 3) as a plugin: every client at once, each paced by
//! one timed call of the reactor.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use clap::Args;
use common::cli::poem::chunks;
use common::cli::server::PacingOptions;
use common::log;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::{DelayedCall, Reactor};
use common::service::{MultiService, Service, TcpServer};

use crate::poem_service::{ListenOptions, PoetryService, log_system};

#[derive(Debug, Args)]
pub struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    pacing: PacingOptions,
}

pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let poetry_service = Rc::new(PoetryService::new(&options.listen.poem));
    let factory = Rc::new(SlowPoetryFactory {
        reactor: reactor.clone(),
        service: Rc::clone(&poetry_service),
        chars_per_chunk: options.pacing.chars_per_chunk(),
        delay: options.pacing.delay,
    });
    let tcp_service = TcpServer::new(reactor, options.listen.port, factory, &options.listen.iface);
    for service in [poetry_service as Rc<dyn Service>, Rc::new(tcp_service)] {
        let _ = top_service.add_service(service);
    }
    top_service
}

/// One client: the timed call that sends its next chunk, and how far it has got.
struct SlowPoetryProtocol {
    reactor: Reactor,
    poem: Rc<[u8]>,
    chars_per_chunk: usize,
    delay: Duration,
    peer: Address,
    pacer: Option<DelayedCall>,
    sent: Rc<Cell<usize>>,
    /// Set while the transport's buffer is full (the client does not read): sends are skipped.
    paused: Rc<Cell<bool>>,
}

impl Protocol for SlowPoetryProtocol {
    /// A client that has finished sending (`nc -N`) still gets the whole poem.
    fn read_connection_lost(&mut self) -> bool {
        true
    }
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        log::msg_from(
            &log_system::<SlowPoetryFactory>(),
            format!(
                "sending {} bytes of poetry to {}",
                self.poem.len(),
                self.peer
            ),
        );
        let (poem, sent, paused) = (
            Rc::clone(&self.poem),
            Rc::clone(&self.sent),
            Rc::clone(&self.paused),
        );
        let (chars, delay) = (self.chars_per_chunk, self.delay);
        // The first chunk goes at once; each call re-arms itself for `delay` later, and the
        // call after the last chunk closes the connection.
        self.pacer = Some(self.reactor.call_repeatedly(Duration::ZERO, move || {
            if paused.get() {
                return Some(delay);
            }
            match chunks(&poem[sent.get()..], chars).next() {
                Some(chunk) => {
                    transport.write(chunk);
                    sent.set(sent.get() + chunk.len());
                    Some(delay)
                }
                None => {
                    transport.lose_connection();
                    None
                }
            }
        }));
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        // Still pacing means the client left before the end of the poem.
        if let Some(pacer) = self.pacer.take()
            && pacer.active()
        {
            let _ = pacer.cancel();
            log::msg_from(
                &log_system::<SlowPoetryFactory>(),
                format!(
                    "{} went away after {} of {} bytes: {reason}",
                    self.peer,
                    self.sent.get(),
                    self.poem.len()
                ),
            );
        }
    }

    fn pause_producing(&mut self) {
        self.paused.set(true);
    }

    fn resume_producing(&mut self) {
        self.paused.set(false);
    }
}

struct SlowPoetryFactory {
    reactor: Reactor,
    service: Rc<PoetryService>,
    chars_per_chunk: usize,
    delay: Duration,
}

impl Factory for SlowPoetryFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        // Before the service has loaded the poem there is nothing to serve: refuse.
        let poem = self.service.poem()?;
        Some(Box::new(SlowPoetryProtocol {
            reactor: self.reactor.clone(),
            poem,
            chars_per_chunk: self.chars_per_chunk,
            delay: self.delay,
            peer: peer.clone(),
            pacer: None,
            sent: Rc::new(Cell::new(0)),
            paused: Rc::new(Cell::new(false)),
        }))
    }
}
