//! The caching Poetry Proxy of Part 14 as a plugin: the poem is fetched from the upstream server
//! once, by one download shared by the clients that wait for it, and then served from the cache.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::Args;
use common::cli::address::{ServerAddress, refuse_proxying_itself};
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::poem::{MaxPoemSize, PoemBuffer};
use common::log;
use common::protocol::{
    Address, BufferSender, ClientFactory, ConnectError, Connector, DisconnectReason, Factory,
    Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::service::{MultiService, Service, ServiceState, TcpServer};

use crate::poem_service::log_system;

#[derive(Debug, Args)]
pub struct Options {
    /// The port number to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 10000, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// The poetry server whose poem to proxy, as [host:]port (a bare port is on 127.0.0.1).
    #[arg(long, value_name = "[HOST:]PORT")]
    server: ServerAddress,

    /// Give up on the upstream server once it has sent nothing for this long: seconds (10) or
    /// a number with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    upstream_timeout: Duration,

    /// The largest poem the proxy fetches and keeps: past it the download fails. The one copy is
    /// shared by every client, each sent a piece at a time as it reads.
    #[command(flatten)]
    max_poem_size: MaxPoemSize,
}

impl Options {
    /// Refuses, before poetryd forks, a proxy whose upstream server is itself (as the proxies of
    /// Part 14 do).
    pub fn check(&self) -> Result<(), String> {
        refuse_proxying_itself(&self.server, &self.iface, self.port)
    }
}

pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let proxy_service = Rc::new(ProxyService {
        state: ServiceState::default(),
        reactor: reactor.clone(),
        server: options.server.clone(),
        silence_limit: options.upstream_timeout,
        max_poem_size: options.max_poem_size,
        cache: RefCell::new(Cache::Empty),
    });
    let factory = Rc::new(PoetryProxyFactory {
        service: Rc::clone(&proxy_service),
    });
    let tcp_service = TcpServer::new(reactor, options.port, factory, &options.iface);
    for service in [proxy_service as Rc<dyn Service>, Rc::new(tcp_service)] {
        let _ = top_service.add_service(service);
    }
    top_service
}

/// How long connecting to the upstream server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

fn log_line(message: impl AsRef<str>) {
    log::msg_from(&log_system::<PoetryProxyFactory>(), message);
}

/// What the proxy has of the poem.
enum Cache {
    /// Nothing: no client yet, or the last download failed.
    Empty,
    /// A download is under way; these clients wait for it.
    Fetching(Vec<Rc<BufferSender>>),
    /// The whole poem.
    Cached(Rc<[u8]>),
}

struct ProxyService {
    state: ServiceState,
    reactor: Reactor,
    server: ServerAddress,
    /// How long the upstream server may send nothing before the download fails.
    silence_limit: Duration,
    /// The largest poem a download may bring.
    max_poem_size: MaxPoemSize,
    cache: RefCell<Cache>,
}

impl ProxyService {
    /// Gives the poem to a new client: now if cached, else when the download ends.
    fn serve(self: &Rc<Self>, client: Rc<BufferSender>) {
        let mut cache = self.cache.borrow_mut();
        match &mut *cache {
            Cache::Cached(poem) => {
                log_line("Using cached poem.");
                client.send_and_close(Rc::clone(poem));
            }
            Cache::Fetching(waiting) => {
                log_line("Waiting for the poem being fetched.");
                // Clients that left while waiting are forgotten, so that many who come and
                // go during one slow download cost nothing.
                waiting.retain(|waiter| !waiter.transport().is_disconnecting());
                waiting.push(client);
            }
            Cache::Empty => {
                *cache = Cache::Fetching(vec![client]);
                drop(cache);
                log_line("Fetching poem from server.");
                let download = Rc::new_cyclic(|me| Download {
                    me: me.clone(),
                    service: Rc::clone(self),
                    reported: Cell::new(false),
                });
                self.reactor.connect_tcp(
                    &self.server.host,
                    self.server.port,
                    download,
                    CONNECT_TIMEOUT,
                );
            }
        }
    }

    /// The download's end: the poem is cached and sent, or every waiting client is closed.
    fn downloaded(&self, outcome: Result<Rc<[u8]>, String>) {
        let new_state = match &outcome {
            Ok(poem) => Cache::Cached(Rc::clone(poem)),
            Err(why) => {
                log_line(format!("Upstream {} failed: {why}", self.server));
                Cache::Empty
            }
        };
        let waiting = match self.cache.replace(new_state) {
            Cache::Fetching(waiting) => waiting,
            _ => Vec::new(),
        };
        for client in waiting {
            match &outcome {
                Ok(poem) => client.send_and_close(Rc::clone(poem)),
                Err(_) => client.transport().lose_connection(),
            }
        }
    }
}

impl Service for ProxyService {
    fn state(&self) -> &ServiceState {
        &self.state
    }
}

/// One download from the upstream server: the client factory, which reports once.
struct Download {
    me: Weak<Download>,
    service: Rc<ProxyService>,
    reported: Cell<bool>,
}

impl Download {
    fn report(&self, outcome: Result<Vec<u8>, String>) {
        if self.reported.replace(true) {
            return;
        }
        let outcome = outcome.and_then(|poem| {
            if poem.is_empty() {
                Err("the server closed the connection without sending a poem".to_owned())
            } else {
                Ok(Rc::from(poem))
            }
        });
        self.service.downloaded(outcome);
    }
}

impl Factory for Download {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(DownloadProtocol {
            download: self.me.upgrade()?,
            poem: PoemBuffer::new(self.service.max_poem_size),
            transport: None,
            silence: None,
        }))
    }
}

impl ClientFactory for Download {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.report(Err(reason.to_string()));
    }
}

struct DownloadProtocol {
    download: Rc<Download>,
    poem: PoemBuffer,
    transport: Option<Rc<dyn Transport>>,
    /// Gives up on a server gone silent; pushed back by every piece of data.
    silence: Option<DelayedCall>,
}

impl Protocol for DownloadProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(Rc::clone(&transport));
        let (download, service) = (Rc::clone(&self.download), &self.download.service);
        let limit = service.silence_limit;
        self.silence = Some(service.reactor.call_later(limit, move || {
            let silent = format!("it sent nothing for {}", TimeFormat::Human.show(limit));
            download.report(Err(silent));
            transport.abort_connection();
        }));
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Err(too_large) = self.poem.push(data) {
            self.download.report(Err(too_large.to_string()));
            if let Some(transport) = &self.transport {
                transport.abort_connection();
            }
            return;
        }
        if let Some(silence) = &self.silence {
            let _ = silence.reset(self.download.service.silence_limit);
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        if let Some(silence) = self.silence.take()
            && silence.active()
        {
            let _ = silence.cancel();
        }
        // Only a clean close ends a poem; anything else may have cut it short.
        let outcome = if reason.is_clean() {
            Ok(self.poem.take())
        } else {
            Err(reason.to_string())
        };
        self.download.report(outcome);
    }
}

struct PoetryProxyProtocol {
    service: Rc<ProxyService>,
    /// Sends the poem as fast as this client reads it, from the copy every client shares.
    sender: Option<Rc<BufferSender>>,
}

impl Protocol for PoetryProxyProtocol {
    /// A client that has finished sending (`nc -N`) still gets the whole poem.
    fn read_connection_lost(&mut self) -> bool {
        true
    }
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let sender = Rc::new(BufferSender::new(transport));
        self.service.serve(Rc::clone(&sender));
        self.sender = Some(sender);
    }

    fn resume_producing(&mut self) {
        if let Some(sender) = &self.sender {
            sender.resume();
        }
    }
}

struct PoetryProxyFactory {
    service: Rc<ProxyService>,
}

impl Factory for PoetryProxyFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProxyProtocol {
            service: Rc::clone(&self.service),
            sender: None,
        }))
    }
}
