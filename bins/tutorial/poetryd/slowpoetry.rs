//! The reactor's slow server (Part 11, exercise 3) as a plugin: every client at once, each paced by
//! one timed call of the reactor.
//!
//! On shutdown the port closes at once, and the downloads in flight get a grace period to finish
//! (`--grace`): the downloads are a service of their own, whose stop waits for them, and twistd
//! waits for every service's stop before the loop ends. What the grace period cuts is logged.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Args;
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::poem::chunks;
use common::cli::server::PacingOptions;
use common::defer::{Deferred, succeed};
use common::log;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::{DelayedCall, Reactor};
use common::service::{MultiService, Service, ServiceState, TcpServer};

use crate::poem_service::{ListenOptions, PoetryService, log_system};

#[derive(Debug, Args)]
pub struct Options {
    #[command(flatten)]
    listen: ListenOptions,

    #[command(flatten)]
    pacing: PacingOptions,

    /// On shutdown, how long the downloads in flight may take to finish before they are cut:
    /// seconds (5) or a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "5", value_parser = parse_duration)]
    grace: Duration,
}

pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let poetry_service = Rc::new(PoetryService::new(&options.listen.poem));
    let downloads = Downloads::new(reactor, options.grace);
    let factory = Rc::new(SlowPoetryFactory {
        reactor: reactor.clone(),
        service: Rc::clone(&poetry_service),
        downloads: Rc::clone(&downloads),
        chars_per_chunk: options.pacing.chars_per_chunk(),
        delay: options.pacing.delay,
    });
    let tcp_service = TcpServer::new(reactor, options.listen.port, factory, &options.listen.iface);
    let services: [Rc<dyn Service>; 3] = [poetry_service, downloads, Rc::new(tcp_service)];
    for service in services {
        let _ = top_service.add_service(service);
    }
    top_service
}

/// How many cut downloads the shutdown's log line names.
const CUT_NAMED: usize = 5;

/// One download in flight: to whom, and how far it has got.
struct Download {
    peer: Address,
    sent: Rc<Cell<usize>>,
    size: usize,
}

/// The downloads in flight, as a service whose stop waits for them to finish, for the grace
/// period at most.
struct Downloads {
    state: ServiceState,
    reactor: Reactor,
    grace: Duration,
    active: RefCell<BTreeMap<u64, Download>>,
    next_id: Cell<u64>,
    /// While stopping: the Deferred that the stop returned, and the timed call that ends the grace
    /// period.
    stopping: RefCell<Option<(Deferred<()>, DelayedCall)>>,
    /// This service, for the timed call that ends the grace period (a weak handle, which does
    /// not keep it alive).
    me: Weak<Downloads>,
}

impl Downloads {
    fn new(reactor: &Reactor, grace: Duration) -> Rc<Downloads> {
        Rc::new_cyclic(|me| Downloads {
            state: ServiceState::default(),
            reactor: reactor.clone(),
            grace,
            active: RefCell::default(),
            next_id: Cell::new(0),
            stopping: RefCell::default(),
            me: me.clone(),
        })
    }

    /// A download starts; the number it returns ends it.
    fn begin(&self, download: Download) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.active.borrow_mut().insert(id, download);
        id
    }

    /// A download is over, finished or not. The last one to end during a stop ends the stop.
    fn end(&self, id: u64) {
        self.active.borrow_mut().remove(&id);
        if self.active.borrow().is_empty()
            && let Some((stopped, grace_period)) = self.stopping.borrow_mut().take()
        {
            let _ = grace_period.cancel();
            let _ = stopped.callback(());
        }
    }

    /// The grace period is over: what is still in flight is cut when the loop ends.
    fn cut(self: &Rc<Self>) {
        let Some((stopped, _)) = self.stopping.borrow_mut().take() else {
            return;
        };
        let active = self.active.borrow();
        // The first few by name; a server with thousands of clients says how many more.
        let mut cut: Vec<String> = active
            .values()
            .take(CUT_NAMED)
            .map(|download| {
                let (sent, size) = (download.sent.get(), download.size);
                format!("{} at {sent} of {size} bytes", download.peer)
            })
            .collect();
        if active.len() > CUT_NAMED {
            cut.push(format!("and {} more", active.len() - CUT_NAMED));
        }
        log::msg_from(
            &log_system::<SlowPoetryFactory>(),
            format!(
                "the grace period is over: {} download(s) cut short: {}",
                active.len(),
                cut.join(", ")
            ),
        );
        let _ = stopped.callback(());
    }
}

impl Service for Downloads {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn stop_service(&self) -> Deferred<()> {
        self.state.set_running(false);
        let in_flight = self.active.borrow().len();
        if in_flight == 0 {
            return succeed(());
        }
        log::msg_from(
            &log_system::<SlowPoetryFactory>(),
            format!(
                "waiting up to {} for {in_flight} download(s) to finish",
                TimeFormat::Human.show(self.grace)
            ),
        );
        let stopped = Deferred::new();
        let grace_period = {
            let me = self.me.clone();
            self.reactor.call_later(self.grace, move || {
                if let Some(downloads) = me.upgrade() {
                    downloads.cut();
                }
            })
        };
        *self.stopping.borrow_mut() = Some((stopped.clone(), grace_period));
        stopped
    }
}

/// One client: the timed call that sends its next chunk, and how far it has got.
struct SlowPoetryProtocol {
    downloads: Rc<Downloads>,
    /// The download's number among those in flight, once it has begun.
    download: Option<u64>,
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
        self.download = Some(self.downloads.begin(Download {
            peer: self.peer.clone(),
            sent: Rc::clone(&self.sent),
            size: self.poem.len(),
        }));
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
        if let Some(id) = self.download.take() {
            self.downloads.end(id);
        }
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
    downloads: Rc<Downloads>,
    chars_per_chunk: usize,
    delay: Duration,
}

impl Factory for SlowPoetryFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        // Before the service has loaded the poem there is nothing to serve: refuse.
        let poem = self.service.poem()?;
        Some(Box::new(SlowPoetryProtocol {
            downloads: Rc::clone(&self.downloads),
            download: None,
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
