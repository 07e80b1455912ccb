//! The options the servers share: what to serve, where, and (for the slow ones) how slowly.
//!
//! The tutorial's servers take `--port` and `--iface` and print their port on stdout, as the
//! tutorial's do. The servers of the later courses print nothing of their own on stdout (the talks'
//! servers are silent), take `--listen ENDPOINT` besides `--port` and `--interface`
//! ([`ListenOptions`]), and say on stderr where they listen ([`listen_on`], [`run_server`]). Those
//! of the training that start Twisted's log on stdout log their start and their end as twistd
//! does ([`run_logged_server`]).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use super::address::listen_port;
use super::duration::parse_duration;
use super::output::{keep_serving_without_readers, report_error};
use super::poem::poetry_file;
use crate::endpoints::{DEFAULT_INTERFACE, ServerEndpoint};
use crate::log;
use crate::protocol::Factory;
use crate::reactor::{ListeningPort, Reactor};
use crate::service::{
    factory_repr, log_factory_starting, log_factory_stopping, log_port_closed, log_port_started,
};

/// Which poem a server serves, and where it listens.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// The poem to serve.
    #[arg(value_name = "POETRY_FILE", value_parser = poetry_file)]
    pub poem: PathBuf,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0, value_parser = listen_port)]
    pub port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    pub iface: String,
}

/// How a slow server paces a poem: a few characters, then a pause.
#[derive(Debug, Clone, clap::Args)]
pub struct PacingOptions {
    /// The pause after each send: seconds (0.1) or a number with a unit (100ms, 1s).
    #[arg(long, default_value = "0.1", value_parser = parse_duration)]
    pub delay: Duration,

    /// How many characters to send at a time.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub num_bytes: u64,
}

impl PacingOptions {
    /// `--num-bytes` as a chunk size in characters.
    pub fn chars_per_chunk(&self) -> usize {
        usize::try_from(self.num_bytes).unwrap_or(usize::MAX)
    }
}

/// Reads the poem a server serves, once, to share between all its connections.
///
/// The argument was checked when it was parsed; this reports what can still go wrong (the file
/// vanished or became unreadable since) as one line, for [`report_error`].
pub fn read_poem(serve: &ServeOptions) -> Result<Rc<[u8]>, String> {
    std::fs::read(&serve.poem)
        .map(Rc::from)
        .map_err(|error| format!("cannot read {}: {error}", serve.poem.display()))
}

/// The end of every reactor-based server's `main`: listen on `port` of `iface` with `factory`, print
/// the startup line that `announce` makes from the port (scripts read the port from it), and run
/// until stopped. A port that cannot listen is one line on stderr and exit status 1.
pub fn listen_and_run<F: Factory + 'static>(
    reactor: &Reactor,
    port: u16,
    iface: &str,
    factory: Rc<F>,
    announce: impl FnOnce(&ListeningPort) -> String,
) -> ExitCode {
    keep_serving_without_readers();
    match reactor.listen_tcp(port, factory, iface) {
        Ok(port) => {
            crate::outln!("{}", announce(&port));
            let _ = reactor.run();
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}

/// Where a server of the training or the talks listens: `--listen` endpoint strings, or a TCP
/// `--port` and `--interface`. With neither, the program's own port (the one its course used) on
/// 127.0.0.1.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenOptions {
    /// Where to listen, as an endpoint string: tcp:PORT[:interface=ADDR] or unix:PATH. May be
    /// given several times to listen in several places at once.
    #[arg(long, value_name = "ENDPOINT", conflicts_with_all = ["port", "interface"])]
    pub listen: Vec<ServerEndpoint>,

    /// The TCP port to listen on; 0 asks the system for any free port. [default: the port the
    /// course used, named above]
    #[arg(long, value_parser = listen_port)]
    pub port: Option<u16>,

    /// The interface to listen on (0.0.0.0 for every interface, as the courses' servers did).
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_INTERFACE)]
    pub interface: String,
}

impl ListenOptions {
    /// The endpoints to listen on: the `--listen` ones, or the TCP port (`default_port` unless
    /// `--port` says otherwise) on the interface.
    pub fn endpoints(&self, default_port: u16) -> Vec<ServerEndpoint> {
        if self.listen.is_empty() {
            let port = self.port.unwrap_or(default_port);
            vec![ServerEndpoint::tcp(port, &self.interface)]
        } else {
            self.listen.clone()
        }
    }
}

/// Listens on each endpoint with `factory`, and says on stderr where (`listening on
/// 127.0.0.1:9999`), with the real port when port 0 was asked for: scripts read it from there,
/// and stdout stays as the course's program left it. A port that cannot listen is reported as one
/// line on stderr, and the exit status to end with is returned.
pub fn listen_on<F: Factory + 'static>(
    reactor: &Reactor,
    endpoints: &[ServerEndpoint],
    factory: Rc<F>,
) -> Result<Vec<ListeningPort>, ExitCode> {
    let mut ports = Vec::new();
    for endpoint in endpoints {
        match reactor.listen(endpoint, Rc::clone(&factory)) {
            Ok(port) => {
                crate::errln!("listening on {}", port.get_host().short());
                ports.push(port);
            }
            Err(error) => {
                report_error(error);
                for port in ports {
                    port.stop_listening();
                }
                return Err(ExitCode::FAILURE);
            }
        }
    }
    Ok(ports)
}

/// The whole `main` of a server of the training or the talks, around its `setup`: makes the
/// reactor, lets `setup` listen (with [`listen_on`], usually), runs until Ctrl-C or SIGTERM, then
/// closes the ports `setup` returned (a UNIX socket's file goes with its port). A server stopped
/// by a signal has done its job: exit status 0. When the reactor cannot be made or `setup` fails,
/// the error has been reported and its exit status is returned.
pub fn run_server(
    setup: impl FnOnce(&Reactor) -> Result<Vec<ListeningPort>, ExitCode>,
) -> ExitCode {
    let reactor = match server_reactor() {
        Ok(reactor) => reactor,
        Err(status) => return status,
    };
    let ports = match setup(&reactor) {
        Ok(ports) => ports,
        Err(status) => return status,
    };
    let _ = reactor.run();
    for port in ports {
        port.stop_listening();
    }
    ExitCode::SUCCESS
}

/// The whole `main` of a server that logs on stdout as the training's web and key-value servers do
/// (`log.startLogging(sys.stdout)`): [`run_server`]'s life, with twistd's lines around it.
///
/// `make_factory` makes the factory once the reactor exists; the server listens with it on each
/// endpoint (saying where on stderr, as [`listen_on`] does) and logs, on stdout:
///
/// ```text
/// 2026-11-28 18:46:07+0000 [-] Log opened.
/// 2026-11-28 18:46:07+0000 [-] Site starting on 8000
/// 2026-11-28 18:46:07+0000 [-] Starting factory <Site object at 0x55d4c0a1b2c0>
///                              ... what the server logs while it runs ...
/// 2026-11-28 18:47:12+0000 [-] Received SIGTERM, shutting down.
/// 2026-11-28 18:47:12+0000 [-] (TCP Port 8000 Closed)
/// 2026-11-28 18:47:12+0000 [-] Stopping factory <Site object at 0x55d4c0a1b2c0>
/// 2026-11-28 18:47:12+0000 [-] Main loop terminated.
/// ```
///
/// The factory is named by its type, as [`TcpServer`](crate::service::TcpServer) names it. A
/// server stopped by SIGINT or SIGTERM exits with status 0; one that cannot listen reports it in
/// one line on stderr and exits with status 1.
pub fn run_logged_server<F: Factory + 'static>(
    endpoints: &[ServerEndpoint],
    make_factory: impl FnOnce(&Reactor) -> Rc<F>,
) -> ExitCode {
    run_logged_servers(|reactor| vec![LoggedService::new(endpoints, make_factory(reactor))])
}

/// What listens with a service's factory: the ports, or the exit status to end with.
type Listen = dyn Fn(&Reactor) -> Result<Vec<ListeningPort>, ExitCode>;

/// One factory of a logged server, and the endpoints it listens on: what
/// [`run_logged_servers`] runs.
pub struct LoggedService {
    /// Listens with the factory on its endpoints (the factory's type is known here only).
    listen: Box<Listen>,
    /// Logs the line of one of its ports: `Site starting on 8000`.
    port_started: Box<dyn Fn(&crate::protocol::Address)>,
    /// How twistd names the factory: `<Site object at 0x55d4c0a1b2c0>`.
    repr: String,
}

impl LoggedService {
    /// `factory`, to listen on `endpoints`.
    pub fn new<F: Factory + 'static>(endpoints: &[ServerEndpoint], factory: Rc<F>) -> Self {
        let repr = factory_repr(&factory);
        let (listening, endpoints) = (Rc::clone(&factory), endpoints.to_vec());
        LoggedService {
            listen: Box::new(move |reactor| listen_on(reactor, &endpoints, Rc::clone(&listening))),
            port_started: Box::new(move |address| log_port_started(&*factory, address)),
            repr,
        }
    }
}

/// [`run_logged_server`] for a server of several factories (the training's `keyvalue_server2`:
/// the line protocol and PB over one store): each listens on its endpoints and is logged as
/// twistd logs it, in the order given.
pub fn run_logged_servers(make_services: impl FnOnce(&Reactor) -> Vec<LoggedService>) -> ExitCode {
    let reactor = match server_reactor() {
        Ok(reactor) => reactor,
        Err(status) => return status,
    };
    log::start_logging(io::stdout());
    let services = make_services(&reactor);
    let mut listening = Vec::new();
    for service in &services {
        match (service.listen)(&reactor) {
            Ok(ports) => listening.push(ports),
            Err(status) => {
                for port in listening.into_iter().flatten() {
                    port.stop_listening();
                }
                return status;
            }
        }
    }
    // Twisted says a factory starts after the line of its first port, once.
    for (service, ports) in services.iter().zip(&listening) {
        for (index, port) in ports.iter().enumerate() {
            (service.port_started)(&port.get_host());
            if index == 0 {
                log_factory_starting(&service.repr);
            }
        }
    }
    let _ = reactor.run();
    if let Some(signal) = reactor.stopped_by_signal() {
        log::msg(format!("Received {signal}, shutting down."));
    }
    for (service, ports) in services.iter().zip(listening) {
        for port in ports {
            let address = port.get_host();
            let _ = port.stop_listening();
            log_port_closed(&address);
        }
        log_factory_stopping(&service.repr);
    }
    log::msg("Main loop terminated.");
    ExitCode::SUCCESS
}

/// The reactor of a server, made after telling the process to survive readers that go away; when
/// it cannot be made, the error is reported and the exit status to end with is returned.
fn server_reactor() -> Result<Reactor, ExitCode> {
    keep_serving_without_readers();
    super::new_reactor().map_err(|error| {
        report_error(error);
        ExitCode::FAILURE
    })
}
