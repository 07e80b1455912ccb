//! poetryd, our `twistd`: tutorial Part 16, "Twisted Daemonologie", with the plugin of Fast Poetry
//! 3.0 (`twisted/plugins/fastpoetry_plugin.py`) and, beside it, plugins for a slow poetry server,
//! the transform server of Part 12 (`transformedpoetry`) and the caching proxy of Part 14
//! (`poetry-proxy`).
//!
//! A production server should not live in a terminal: it runs as a daemon (no terminal, its own
//! session, so that logging out does not stop it), writes a log file instead of printing, and
//! records its process id in a file so that `kill $(cat poetryd.pid)` stops it cleanly. twistd does
//! all that for any Twisted application; poetryd does it for the poetry services of this project.
//!
//! Each plugin only builds a tree of services (a service that holds the poem, and a `TcpServer`
//! that listens with a factory using it), as a Twisted plugin's `makeService` does. poetryd puts
//! that tree under an `Application`, becomes a daemon, starts the tree once the reactor runs, and
//! on SIGTERM or SIGINT stops it again and logs how the shutdown went. SIGHUP reopens the log file,
//! for logrotate.
//!
//! ```text
//! cargo run --bin poetryd -- fastpoetry --port 10000 --poem poetry/ecstasy.txt   # returns at once
//! nc localhost 10000; cat poetryd.log                                             # a request, logged
//! kill $(cat poetryd.pid)                                                         # clean shutdown
//! cargo run --bin poetryd -- --nodaemon slowpoetry --port 10001 --poem poetry/science.txt
//! cargo run --bin poetryd -- --nodaemon --pidfile t.pid transformedpoetry --port 11000
//! cargo run --bin poetryd -- --nodaemon --pidfile p.pid poetry-proxy --port 10002 --server 10000
//! ```

use std::any::type_name;
use std::cell::{Cell, RefCell};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::{Rc, Weak};
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use common::cli::new_reactor;
use common::cli::output::{plain_error, program_name, report_error};
use common::cli::poem::{chunks, poetry_file};
use common::cli::server::PacingOptions;
use common::defer::{Deferred, Failure};
use common::errln;
use common::log;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::{DelayedCall, Reactor};
use common::service::{Application, MultiService, Service, ServiceState, TcpServer};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::{ForkResult, Pid};
use tokio::signal::unix::{SignalKind, signal};

/// Run a poetry service as a daemon, as twistd runs a Twisted plugin (tutorial Part 16).
///
/// poetryd detaches from the terminal, logs to a file and writes its process id to a pid file once
/// the service listens; `kill $(cat poetryd.pid)` stops it cleanly. Its own options come before the
/// plugin's name, the plugin's options after it. With no plugin, it lists the plugins.
#[derive(Debug, Parser)]
#[command(
    name = "poetryd",
    version,
    subcommand_value_name = "PLUGIN",
    subcommand_help_heading = "Plugins",
    disable_help_subcommand = true,
    after_help = "Examples:\n  poetryd fastpoetry --port 10000 --poem poetry/ecstasy.txt\n  \
                  poetryd --nodaemon slowpoetry --port 10001 --poem poetry/science.txt --delay 0.5\n  \
                  poetryd transformedpoetry --port 11000\n  \
                  poetryd poetry-proxy --port 10002 --server 10000\n  \
                  poetryd fastpoetry --help\nStop a daemon with: kill $(cat poetryd.pid)"
)]
struct Options {
    /// Stay in the foreground, and log to stdout unless --logfile is given.
    #[arg(short, long)]
    nodaemon: bool,

    /// Where the log goes: poetryd.log by default, stdout with --nodaemon; `-` is stdout.
    #[arg(short, long, value_name = "FILE")]
    logfile: Option<PathBuf>,

    /// The file that holds the server's process id while it runs.
    #[arg(long, value_name = "FILE", default_value = "poetryd.pid")]
    pidfile: PathBuf,

    #[command(subcommand)]
    plugin: Option<Plugin>,
}

/// The plugins: each builds the service tree of one kind of poetry server from its options.
#[derive(Debug, Subcommand)]
enum Plugin {
    /// A fast poetry service.
    ///
    /// Each client gets the whole poem as soon as it connects (Fast Poetry 3.0, the plugin of
    /// Part 16).
    Fastpoetry(fastpoetry::Options),
    /// A slow poetry service.
    ///
    /// Each client gets the poem a few characters at a time, with a pause between sends, and all
    /// clients are served at once (the reactor's slow server of Part 11, as a plugin).
    Slowpoetry(slowpoetry::Options),
    /// A poetry transformation service.
    ///
    /// Each client sends one netstring, `<name>.<poem>`, and gets the poem back transformed, as
    /// one netstring, before the server closes the connection (the transform server of Part 12,
    /// as a plugin). Transforms: cummingsify (lower case), shout (upper case), reverse (the lines
    /// in reverse order).
    Transformedpoetry(transformedpoetry::Options),
    /// A caching poetry proxy.
    ///
    /// The first client makes the proxy fetch the poem from the upstream server; clients arriving
    /// meanwhile wait for that same download, and later ones get the cached copy (the proxy of
    /// Part 14, as a plugin).
    PoetryProxy(poetry_proxy::Options),
}

impl Plugin {
    /// The plugin's name, which is also the application's.
    fn tapname(&self) -> &'static str {
        match self {
            Plugin::Fastpoetry(_) => "fastpoetry",
            Plugin::Slowpoetry(_) => "slowpoetry",
            Plugin::Transformedpoetry(_) => "transformedpoetry",
            Plugin::PoetryProxy(_) => "poetry-proxy",
        }
    }

    /// The top service of the plugin's tree: Twisted's `IServiceMaker.makeService`.
    fn make_service(&self, reactor: &Reactor) -> MultiService {
        match self {
            Plugin::Fastpoetry(options) => fastpoetry::make_service(options, reactor),
            Plugin::Slowpoetry(options) => slowpoetry::make_service(options, reactor),
            Plugin::Transformedpoetry(options) => transformedpoetry::make_service(options, reactor),
            Plugin::PoetryProxy(options) => poetry_proxy::make_service(options, reactor),
        }
    }
}

/// The options both poem-serving plugins share: where to listen and what to serve.
#[derive(Debug, Args)]
struct ListenOptions {
    /// The port number to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 10000)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// The file containing the poem.
    #[arg(long, value_name = "FILE", value_parser = poetry_file)]
    poem: PathBuf,
}

/// The service that holds the poem: it loads the file when started, and any protocol (TCP here,
/// why not UDP tomorrow) asks it for the poem. It knows nothing about connections.
struct PoetryService {
    state: ServiceState,
    path: PathBuf,
    poem: RefCell<Option<Rc<[u8]>>>,
}

impl PoetryService {
    fn new(path: &Path) -> PoetryService {
        PoetryService {
            state: ServiceState::default(),
            path: path.to_path_buf(),
            poem: RefCell::new(None),
        }
    }

    /// The poem, once the service has started.
    fn poem(&self) -> Option<Rc<[u8]>> {
        self.poem.borrow().clone()
    }
}

impl Service for PoetryService {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn start_service(&self) -> Result<(), Failure> {
        let poem = fs::read(&self.path).map_err(|error| {
            Failure::exception(format!(
                "cannot read {}: {}",
                self.path.display(),
                plain_error(&error)
            ))
        })?;
        *self.poem.borrow_mut() = Some(poem.into());
        self.state.set_running(true);
        log::msg(format!("loaded a poem from: {}", self.path.display()));
        Ok(())
    }
}

/// A factory's log prefix, as Twisted qualifies a class: `poetryd.fastpoetry.PoetryFactory`.
fn log_system<T>() -> String {
    type_name::<T>().replace("::", ".")
}

/// Fast Poetry 3.0: the whole poem at once to every client, as the twistd plugin of Part 16.
mod fastpoetry {
    use super::*;

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
        let tcp_service =
            TcpServer::new(reactor, options.listen.port, factory, &options.listen.iface);
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
}

/// The reactor's slow server (Part 11, exercise 3) as a plugin: every client at once, each paced by
/// one timed call of the reactor.
mod slowpoetry {
    use super::*;

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
        let tcp_service =
            TcpServer::new(reactor, options.listen.port, factory, &options.listen.iface);
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
}

/// The Poetry Transform Server of Part 12 as a plugin: netstring requests `name.poem`, one
/// transformed poem back, then the close.
mod transformedpoetry {
    use super::*;
    use common::basic::{NetstringHandler, NetstringReceiver, Netstrings};
    use std::fmt;

    #[derive(Debug, Args)]
    pub struct Options {
        /// The port number to listen on (0: any free port; the log says which).
        #[arg(short, long, default_value_t = 11000)]
        port: u16,

        /// The interface to listen on.
        #[arg(long, default_value = "localhost")]
        iface: String,
    }

    pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
        let top_service = MultiService::new();
        let transform_service = Rc::new(TransformService::default());
        let factory = Rc::new_cyclic(|me| TransformFactory {
            service: Rc::clone(&transform_service),
            reactor: reactor.clone(),
            me: me.clone(),
        });
        let tcp_service = TcpServer::new(reactor, options.port, factory, &options.iface);
        for service in [transform_service as Rc<dyn Service>, Rc::new(tcp_service)] {
            let _ = top_service.add_service(service);
        }
        top_service
    }

    /// The transforms a client may ask for, by name. Nothing else can be reached through a
    /// request.
    /// A transform: the poem in, the transformed poem out.
    type TransformFn = fn(&str) -> String;

    const TRANSFORMS: [(&str, TransformFn); 3] = [
        ("cummingsify", str::to_lowercase),
        ("shout", str::to_uppercase),
        ("reverse", reverse_lines),
    ];

    /// The poem's lines, last first; a final newline stays last.
    fn reverse_lines(poem: &str) -> String {
        let (body, newline) = match poem.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (poem, ""),
        };
        let mut lines: Vec<&str> = body.split('\n').collect();
        lines.reverse();
        lines.join("\n") + newline
    }

    /// Why a request was refused, as its log line ends.
    #[derive(Debug, PartialEq)]
    enum BadRequest {
        Framing(String),
        NotText,
        NoName,
        Unknown(String),
    }

    impl fmt::Display for BadRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                BadRequest::Framing(why) => write!(f, "not a netstring: {why}"),
                BadRequest::NotText => f.write_str("the request is not UTF-8 text"),
                BadRequest::NoName => f.write_str("no '.' after the transform's name"),
                BadRequest::Unknown(name) => write!(f, "unknown transform '{name}'"),
            }
        }
    }

    /// The service: transforms text, and knows nothing of connections.
    #[derive(Default)]
    struct TransformService {
        state: ServiceState,
    }

    impl TransformService {
        /// The request `name.poem` answered: the transform's name and the transformed poem.
        fn serve<'a>(&self, request: &'a [u8]) -> Result<(&'a str, usize, String), BadRequest> {
            let text = std::str::from_utf8(request).map_err(|_| BadRequest::NotText)?;
            let (name, poem) = text.split_once('.').ok_or(BadRequest::NoName)?;
            let (_, transform) = TRANSFORMS
                .iter()
                .find(|(known, _)| *known == name)
                .ok_or_else(|| BadRequest::Unknown(name.to_owned()))?;
            Ok((name, poem.len(), transform(poem)))
        }
    }

    impl Service for TransformService {
        fn state(&self) -> &ServiceState {
            &self.state
        }
    }

    struct TransformProtocol {
        factory: Rc<TransformFactory>,
        peer: Address,
        /// Whether the close has been scheduled already.
        closing: bool,
    }

    impl TransformProtocol {
        fn log(&self, message: String) {
            log::msg_from(&log_system::<TransformFactory>(), message);
        }

        fn refuse(&self, why: &BadRequest) {
            self.log(format!("bad request from {}: {why}", self.peer));
        }
    }

    impl NetstringHandler for TransformProtocol {
        fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
            match self.factory.service.serve(payload) {
                Ok((name, size, poem)) => {
                    self.log(format!(
                        "transformed {size} bytes with {name} for {}",
                        self.peer
                    ));
                    netstrings.send_string(poem.as_bytes());
                    // Requests that came in the same read are still to be delivered: close on the
                    // reactor's next turn, once every one of them has its reply.
                    if !self.closing {
                        self.closing = true;
                        let transport = Rc::clone(netstrings.transport());
                        self.factory
                            .reactor
                            .call_later(Duration::ZERO, move || transport.lose_connection());
                    }
                }
                Err(why) => {
                    self.refuse(&why);
                    netstrings.lose_connection();
                }
            }
        }

        fn bad_netstring(&mut self, why: &str) {
            self.refuse(&BadRequest::Framing(why.to_owned()));
        }

        // While a client does not take its replies, take no more of its requests.
        fn pause_producing(&mut self, netstrings: &mut Netstrings) {
            netstrings.transport().pause_producing();
        }

        fn resume_producing(&mut self, netstrings: &mut Netstrings) {
            netstrings.transport().resume_producing();
        }
    }

    struct TransformFactory {
        service: Rc<TransformService>,
        reactor: Reactor,
        me: Weak<TransformFactory>,
    }

    impl Factory for TransformFactory {
        fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(NetstringReceiver::new(TransformProtocol {
                factory: self.me.upgrade()?,
                peer: peer.clone(),
                closing: false,
            })))
        }
    }
}

/// The caching Poetry Proxy of Part 14 as a plugin: the poem is fetched from the upstream server
/// once, by one download shared by the clients that wait for it, and then served from the cache.
mod poetry_proxy {
    use super::*;
    use common::cli::address::ServerAddress;
    use common::cli::duration::{TimeFormat, parse_duration};
    use common::protocol::{ClientFactory, ConnectError, Connector};

    #[derive(Debug, Args)]
    pub struct Options {
        /// The port number to listen on (0: any free port; the log says which).
        #[arg(short, long, default_value_t = 10000)]
        port: u16,

        /// The interface to listen on.
        #[arg(long, default_value = "localhost")]
        iface: String,

        /// The poetry server whose poem to proxy, as [host:]port (a bare port is on 127.0.0.1).
        #[arg(long, value_name = "[HOST:]PORT")]
        server: ServerAddress,

        /// Give up on the upstream server once it has sent nothing for this long: seconds (10) or
        /// a number with a unit (500ms).
        #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_duration)]
        upstream_timeout: Duration,
    }

    pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
        let top_service = MultiService::new();
        let proxy_service = Rc::new(ProxyService {
            state: ServiceState::default(),
            reactor: reactor.clone(),
            server: options.server.clone(),
            silence_limit: options.upstream_timeout,
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
        Fetching(Vec<Rc<dyn Transport>>),
        /// The whole poem.
        Cached(Rc<[u8]>),
    }

    struct ProxyService {
        state: ServiceState,
        reactor: Reactor,
        server: ServerAddress,
        /// How long the upstream server may send nothing before the download fails.
        silence_limit: Duration,
        cache: RefCell<Cache>,
    }

    impl ProxyService {
        /// Gives the poem to a new client: now if cached, else when the download ends.
        fn serve(self: &Rc<Self>, client: Rc<dyn Transport>) {
            let mut cache = self.cache.borrow_mut();
            match &mut *cache {
                Cache::Cached(poem) => {
                    log_line("Using cached poem.");
                    client.write(poem);
                    client.lose_connection();
                }
                Cache::Fetching(waiting) => {
                    log_line("Waiting for the poem being fetched.");
                    // Clients that left while waiting are forgotten, so that many who come and
                    // go during one slow download cost nothing.
                    waiting.retain(|waiter| !waiter.is_disconnecting());
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
                if let Ok(poem) = &outcome {
                    client.write(poem);
                }
                client.lose_connection();
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
                poem: Vec::new(),
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
        poem: Vec<u8>,
        /// Gives up on a server gone silent; pushed back by every piece of data.
        silence: Option<DelayedCall>,
    }

    impl Protocol for DownloadProtocol {
        fn connection_made(&mut self, transport: Rc<dyn Transport>) {
            let (download, service) = (Rc::clone(&self.download), &self.download.service);
            let limit = service.silence_limit;
            self.silence = Some(service.reactor.call_later(limit, move || {
                let silent = format!("it sent nothing for {}", TimeFormat::Human.show(limit));
                download.report(Err(silent));
                transport.abort_connection();
            }));
        }

        fn data_received(&mut self, data: &[u8]) {
            self.poem.extend_from_slice(data);
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
                Ok(std::mem::take(&mut self.poem))
            } else {
                Err(reason.to_string())
            };
            self.download.report(outcome);
        }
    }

    struct PoetryProxyProtocol {
        service: Rc<ProxyService>,
    }

    impl Protocol for PoetryProxyProtocol {
        /// A client that has finished sending (`nc -N`) still gets the whole poem.
        fn read_connection_lost(&mut self) -> bool {
            true
        }
        fn connection_made(&mut self, transport: Rc<dyn Transport>) {
            self.service.serve(transport);
        }
    }

    struct PoetryProxyFactory {
        service: Rc<ProxyService>,
    }

    impl Factory for PoetryProxyFactory {
        fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(PoetryProxyProtocol {
                service: Rc::clone(&self.service),
            }))
        }
    }
}

/// The pid file: the daemon's process id, for `kill $(cat poetryd.pid)`, and a lock against a
/// second daemon in the same place.
struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// The line for a pid file that names a running process.
    fn another_is_running(&self, pid: i32) -> String {
        format!(
            "Another poetryd is running, PID {pid} (from {}).",
            self.path.display()
        )
    }

    /// Checks, before starting, that no other poetryd uses the pid file. A file left by a process
    /// that no longer runs is removed, and its pid returned so that the log can say so. `Err` is
    /// the line to print when poetryd must not start.
    fn clear_stale(&self) -> Result<Option<i32>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error_line("cannot read", &error)),
        };
        let pid = match text.trim().parse::<i32>() {
            Ok(pid) if pid > 0 => pid,
            _ => {
                return Err(format!(
                    "{}: error: {} does not hold a process id; remove it if no poetryd uses it",
                    program_name(),
                    self.path.display()
                ));
            }
        };
        // Signal 0 only asks whether the process exists; EPERM means it does, as another user's.
        let alive = pid != std::process::id() as i32
            && !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH));
        if alive {
            return Err(self.another_is_running(pid));
        }
        fs::remove_file(&self.path).map_err(|error| self.error_line("cannot remove", &error))?;
        Ok(Some(pid))
    }

    /// Writes our pid. The file is created only if it does not exist, so that of two daemons
    /// started at the same moment, one starts and the other is told about it.
    fn write(&self) -> Result<(), String> {
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path);
        let mut file = match created {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&self.path).unwrap_or_default();
                return Err(match holder.trim().parse() {
                    Ok(pid) => self.another_is_running(pid),
                    Err(_) => self.error_line("cannot create", &error),
                });
            }
            Err(error) => return Err(self.error_line("cannot create", &error)),
        };
        writeln!(file, "{}", std::process::id())
            .map_err(|error| self.error_line("cannot write", &error))
    }

    /// Removes the pid file, if it is still ours.
    fn remove(&self) {
        let ours = fs::read_to_string(&self.path)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }

    fn error_line(&self, what: &str, error: &io::Error) -> String {
        format!(
            "{}: error: {what} the pid file {}: {}",
            program_name(),
            self.path.display(),
            plain_error(error)
        )
    }
}

/// How the daemon tells the process that started it whether it is up: a line through a pipe,
/// which that process waits for before it exits (0 once the server listens, 1 and the error line
/// if it could not start). In the foreground there is only the terminal to tell.
struct StartReport(Option<File>);

/// What the daemon writes into the pipe when it is up.
const READY: &str = "ready";

impl StartReport {
    fn ready(self) {
        if let Some(mut pipe) = self.0 {
            let _ = writeln!(pipe, "{READY}");
        }
    }

    fn failed(self, line: &str) {
        match self.0 {
            Some(mut pipe) => {
                let _ = writeln!(pipe, "{line}");
            }
            None => errln!("{line}"),
        }
    }
}

/// Which process `daemonize` returned in.
enum Forked {
    /// A process with nothing left to do but exit with this status: the one started from the
    /// terminal, once the daemon has reported, or a child that could not become a daemon.
    Exit(ExitCode),
    /// The daemon, with the pipe to report its start through.
    Daemon(StartReport),
}

/// Becomes a daemon: forks, and the child starts a session of its own (no controlling terminal)
/// and points stdin, stdout and stderr at /dev/null. The parent waits for the child's report.
///
/// This must run before the reactor exists: a tokio runtime (its threads, its signal handling) does
/// not survive a fork.
fn daemonize() -> Result<Forked, String> {
    let (read_end, write_end) =
        nix::unistd::pipe().map_err(|error| failed_to("make a pipe", error))?;
    // SAFETY: the process has a single thread here (nothing has started a thread or a runtime
    // yet), so the child is a complete copy of it and may go on running Rust code.
    match unsafe { nix::unistd::fork() }.map_err(|error| failed_to("fork", error))? {
        ForkResult::Parent { .. } => {
            drop(write_end);
            Ok(Forked::Exit(wait_for_daemon(read_end)))
        }
        ForkResult::Child => {
            drop(read_end);
            let report = StartReport(Some(File::from(write_end)));
            match detach() {
                Ok(()) => Ok(Forked::Daemon(report)),
                Err(error) => {
                    report.failed(&format!("{}: error: {error}", program_name()));
                    Ok(Forked::Exit(ExitCode::FAILURE))
                }
            }
        }
    }
}

/// In the child: a session of its own, and the standard streams on /dev/null.
fn detach() -> Result<(), String> {
    nix::unistd::setsid().map_err(|error| failed_to("start a session", error))?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|error| format!("cannot open /dev/null: {}", plain_error(&error)))?;
    nix::unistd::dup2_stdin(&null)
        .and_then(|()| nix::unistd::dup2_stdout(&null))
        .and_then(|()| nix::unistd::dup2_stderr(&null))
        .map_err(|error| failed_to("detach from the terminal", error))
}

fn failed_to(what: &str, error: Errno) -> String {
    format!("cannot {what}: {}", error.desc())
}

/// In the starting process: waits for the daemon's report and returns the exit status it means.
fn wait_for_daemon(pipe: OwnedFd) -> ExitCode {
    let mut report = String::new();
    let _ = File::from(pipe).read_to_string(&mut report);
    match report.trim_end() {
        READY => ExitCode::SUCCESS,
        "" => {
            report_error("the daemon ended before it was ready; see its log file");
            ExitCode::FAILURE
        }
        line => {
            errln!("{line}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the log where the options say: a file (the daemon's default), or stdout.
fn start_logging(options: &Options) -> io::Result<()> {
    let file = match &options.logfile {
        Some(path) if path.as_os_str() != "-" => Some(path.clone()),
        Some(_) => None,
        None if options.nodaemon => None,
        None => Some(PathBuf::from("poetryd.log")),
    };
    match file {
        Some(path) => log::start_logging_to_file(&path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "cannot open the log file {}: {}",
                    path.display(),
                    plain_error(&error)
                ),
            )
        }),
        None => {
            log::start_logging(io::stdout());
            Ok(())
        }
    }
}

/// Watches the signals that matter to a daemon, as a task of the reactor: SIGHUP reopens the log
/// file (logrotate has moved it away) and the server goes on; SIGINT and SIGTERM stop the
/// application and then the loop.
///
/// The reactor stops its loop on SIGINT and SIGTERM by itself; both it and this task are woken by
/// the same signal and run in the same turn of the loop, so the application is stopped before
/// `run` returns.
fn watch_signals(reactor: &Reactor, application: Rc<Application>) {
    let reactor = reactor.clone();
    let watching = Deferred::from_future(async move {
        let listen = |kind| signal(kind).map_err(Failure::new);
        let (mut hangup, mut interrupt, mut terminate) = (
            listen(SignalKind::hangup())?,
            listen(SignalKind::interrupt())?,
            listen(SignalKind::terminate())?,
        );
        let name = loop {
            tokio::select! {
                _ = hangup.recv() => reopen_log(),
                _ = interrupt.recv() => break "SIGINT",
                _ = terminate.recv() => break "SIGTERM",
            }
        };
        log::msg(format!("Received {name}, shutting down."));
        let stopped = application.stop_service().await;
        let _ = reactor.stop();
        stopped
    });
    watching.add_errback(|failure| {
        log::err(failure.report());
        Ok(())
    });
}

fn reopen_log() {
    match log::reopen_log() {
        Ok(true) => log::msg("Received SIGHUP, reopened the log file."),
        Ok(false) => {
            log::msg("Received SIGHUP; the log is not a file, there is nothing to reopen.")
        }
        Err(error) => log::msg(format!(
            "Received SIGHUP, but cannot reopen the log file: {}",
            plain_error(&error)
        )),
    }
}

/// The daemon's life, from the startup lines to `Server Shut Down.`: start the application once
/// the reactor runs, write the pid file, tell the starting process, run until a signal, stop.
fn serve(plugin: &Plugin, pid_file: &PidFile, stale: Option<i32>, report: StartReport) -> ExitCode {
    log::msg(format!(
        "poetryd {} (pid {}) starting up.",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    ));
    log::msg(format!("reactor class: {}.", type_name::<Reactor>()));
    if let Some(pid) = stale {
        log::msg(format!(
            "Removed the stale pid file {} (PID {pid} is not running).",
            pid_file.path.display()
        ));
    }
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            log::msg(&error);
            report.failed(&format!("{}: error: {error}", program_name()));
            return ExitCode::FAILURE;
        }
    };
    let application = Rc::new(Application::new(plugin.tapname()));
    // A new application has no services, so this cannot clash.
    let _ = application.add_service(Rc::new(plugin.make_service(&reactor)));

    let started = Rc::new(Cell::new(false));
    let (handle, app, ok) = (
        reactor.clone(),
        Rc::clone(&application),
        Rc::clone(&started),
    );
    let pid_path = pid_file.path.clone();
    reactor.call_when_running(move || {
        // Signals first: a SIGHUP that arrives once we have said we are up must not kill us.
        watch_signals(&handle, Rc::clone(&app));
        let outcome = app
            .start()
            .map_err(|failure| format!("{}: error: {}", program_name(), failure.error()))
            .and_then(|()| PidFile { path: pid_path }.write());
        match outcome {
            Ok(()) => {
                ok.set(true);
                report.ready();
            }
            Err(line) => {
                log::msg(&line);
                report.failed(&line);
                let _ = app.stop_service();
                let _ = handle.stop();
            }
        }
    });
    let _ = reactor.run();
    if application.running() {
        // The loop ended without the signal task (something else stopped it): stop the services
        // now. Ports close at once; a service that needs the loop to stop cannot be waited for.
        let _ = application.stop_service();
    }
    log::msg("Main loop terminated.");
    if started.get() {
        pid_file.remove();
    }
    log::msg("Server Shut Down.");
    if started.get() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    // A closed log pipe must not take the server down with it.
    common::cli::output::keep_serving_without_readers();
    let Some(plugin) = &options.plugin else {
        // twistd with no plugin lists them; so does our help.
        let _ = Options::command().print_long_help();
        return ExitCode::SUCCESS;
    };
    // Everything that can be refused is checked here, in the terminal, before forking.
    let pid_file = PidFile {
        path: options.pidfile.clone(),
    };
    let stale = match pid_file.clear_stale() {
        Ok(stale) => stale,
        Err(line) => {
            errln!("{line}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = start_logging(&options) {
        report_error(error);
        return ExitCode::FAILURE;
    }
    let report = if options.nodaemon {
        StartReport(None)
    } else {
        match daemonize() {
            Ok(Forked::Exit(status)) => return status,
            Ok(Forked::Daemon(report)) => report,
            Err(error) => {
                report_error(error);
                return ExitCode::FAILURE;
            }
        }
    };
    serve(plugin, &pid_file, stale, report)
}
