//! Services (tutorial Part 16): the parts of a long-running server, started and stopped together.
//!
//! A [`Service`] is anything with a name that can be started and stopped: what it does in between
//! is its own business (hold a poem, listen on a port). Stopping returns a Deferred, because a
//! service may need time to finish cleanly (flush a file, let connections end), and whoever stops
//! it can wait for that.
//!
//! A [`MultiService`] is a collection of services that is itself a service: starting it starts its
//! children in the order they were added, stopping it stops them in the reverse order, and its stop
//! Deferred fires once every child's has. An [`Application`] is the named root of such a tree, the
//! thing a daemon runs. [`TcpServer`] is the ready-made service that listens on a port with a
//! factory: it does not touch the network until it is started, so a tree can be built (the job of
//! Twisted's tac files) without anything happening yet.
//!
//! Starting has two steps, as in twistd: [`Service::privileged_start_service`] first for the whole
//! tree (where ports are bound: a daemon that starts as root binds port 80 then), and then
//! [`Service::start_service`]. That is why twistd's log shows the port line before the lines of
//! the services listed ahead of it.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

use crate::defer::{Deferred, DeferredList, Failure, maybe_deferred, succeed};
use crate::log;
use crate::protocol::{Address, Factory, Protocol, short_type_name};
use crate::reactor::{ListeningPort, Reactor, guard};

/// What every service has: an optional name, and whether it runs. Twisted keeps these in its
/// `Service` base class; here a service holds one and lends it to the trait's provided methods.
#[derive(Debug, Default)]
pub struct ServiceState {
    name: Option<String>,
    running: Cell<bool>,
}

impl ServiceState {
    /// The state of a service with a name, which its parent can look it up by.
    pub fn named(name: impl Into<String>) -> ServiceState {
        ServiceState {
            name: Some(name.into()),
            running: Cell::new(false),
        }
    }

    /// The service's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the service has been started (and not stopped since).
    pub fn running(&self) -> bool {
        self.running.get()
    }

    /// Records that the service started or stopped: what Twisted's base `startService` and
    /// `stopService` do, and what a service's own versions call first.
    pub fn set_running(&self, running: bool) {
        self.running.set(running);
    }
}

/// Twisted's `IService`: something that can be started and stopped, and says whether it runs.
///
/// Only [`state`](Service::state) is required; the provided methods do what Twisted's `Service`
/// base class does. A service that overrides `start_service` or `stop_service` records the change
/// with [`ServiceState::set_running`], as a Twisted service calls the base class method.
pub trait Service {
    /// The service's name and running flag.
    fn state(&self) -> &ServiceState;

    /// The service's name, if it has one.
    fn name(&self) -> Option<&str> {
        self.state().name()
    }

    /// Whether the service runs.
    fn running(&self) -> bool {
        self.state().running()
    }

    /// The first step of starting, for the whole tree before any `start_service`: what needs the
    /// privileges the process may give up afterwards, such as binding a port. Nothing by default.
    fn privileged_start_service(&self) -> Result<(), Failure> {
        Ok(())
    }

    /// Starts the service: load a configuration, open a database, listen on a port... An error
    /// means the service could not start.
    fn start_service(&self) -> Result<(), Failure> {
        self.state().set_running(true);
        Ok(())
    }

    /// Stops the service, and returns a Deferred that fires once it has completely stopped (at
    /// once, already fired, for a service with nothing to finish).
    fn stop_service(&self) -> Deferred<()> {
        self.state().set_running(false);
        succeed(())
    }
}

/// Adding a service to a collection that already has one of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateServiceName(pub String);

impl fmt::Display for DuplicateServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "there is already a service named '{}' here", self.0)
    }
}

impl Error for DuplicateServiceName {}

/// Twisted's `MultiService`: services grouped so that they start and stop together, and which is a
/// service itself (so collections nest).
#[derive(Default)]
pub struct MultiService {
    state: ServiceState,
    services: RefCell<Vec<Rc<dyn Service>>>,
}

impl MultiService {
    /// An empty, unnamed collection.
    pub fn new() -> MultiService {
        MultiService::default()
    }

    /// An empty collection with a name.
    pub fn named(name: impl Into<String>) -> MultiService {
        MultiService {
            state: ServiceState::named(name),
            services: RefCell::default(),
        }
    }

    /// Adds `service` after the others: Twisted's `setServiceParent`, seen from the parent. A
    /// named service must not share its name with another in the collection.
    pub fn add_service(&self, service: Rc<dyn Service>) -> Result<(), DuplicateServiceName> {
        if let Some(name) = service.name()
            && self.get_service_named(name).is_some()
        {
            return Err(DuplicateServiceName(name.to_owned()));
        }
        self.services.borrow_mut().push(service);
        Ok(())
    }

    /// The child service with this name.
    pub fn get_service_named(&self, name: &str) -> Option<Rc<dyn Service>> {
        self.services
            .borrow()
            .iter()
            .find(|service| service.name() == Some(name))
            .cloned()
    }

    /// The child services, in the order they were added (and are started).
    pub fn services(&self) -> Vec<Rc<dyn Service>> {
        self.services.borrow().clone()
    }
}

impl Service for MultiService {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn privileged_start_service(&self) -> Result<(), Failure> {
        // A copy of the list, so that a child may add services to this collection as it starts.
        for service in self.services() {
            service.privileged_start_service()?;
        }
        Ok(())
    }

    /// Starts the children in order. The first that fails stops the starting, and its error is
    /// returned; those started before it still run (stop the collection to stop them).
    fn start_service(&self) -> Result<(), Failure> {
        self.state.set_running(true);
        for service in self.services() {
            service.start_service()?;
        }
        Ok(())
    }

    /// Stops every child, the last added first, without waiting for one before stopping the next;
    /// the Deferred fires when all of them have stopped. If some failed to stop cleanly it fails
    /// with the first of their failures, but only once all are done.
    fn stop_service(&self) -> Deferred<()> {
        self.state.set_running(false);
        let stopping: Vec<Deferred<()>> = self
            .services()
            .iter()
            .rev()
            // A child that panics while stopping fails its own Deferred, and the others go on.
            .map(|service| maybe_deferred(|| service.stop_service()))
            .collect();
        DeferredList::all(stopping, true)
            .add_callback(|outcomes| outcomes.into_iter().collect::<Result<Vec<()>, Failure>>())
            .add_callback(|_| Ok(()))
    }
}

/// Twisted's `Application`: the named root of a service tree, the whole program as a daemon sees
/// it. It is a [`MultiService`] (through `Deref`, for `add_service` and friends) with a name.
pub struct Application {
    services: MultiService,
}

impl Application {
    /// An empty application called `name`.
    pub fn new(name: impl Into<String>) -> Application {
        Application {
            services: MultiService::named(name),
        }
    }

    /// Starts the whole tree as twistd does: the privileged step for every service, then the
    /// ordinary one.
    pub fn start(&self) -> Result<(), Failure> {
        self.privileged_start_service()?;
        self.start_service()
    }
}

impl std::ops::Deref for Application {
    type Target = MultiService;

    fn deref(&self) -> &MultiService {
        &self.services
    }
}

impl Service for Application {
    fn state(&self) -> &ServiceState {
        self.services.state()
    }

    fn privileged_start_service(&self) -> Result<(), Failure> {
        self.services.privileged_start_service()
    }

    fn start_service(&self) -> Result<(), Failure> {
        self.services.start_service()
    }

    fn stop_service(&self) -> Deferred<()> {
        self.services.stop_service()
    }
}

/// Twisted's `internet.TCPServer`: a service that listens on a TCP port with a factory while it
/// runs.
///
/// The port is bound when the service starts (in the privileged step, if the tree has one), not
/// when it is made, and closed when the service stops. It logs what twistd logs:
/// `PoetryFactory starting on 10000` and `Starting factory <PoetryFactory object at 0x…>` when it
/// starts, `(TCP Port 10000 Closed)` and `Stopping factory <…>` when it stops; the factory's own
/// `start_factory` and `stop_factory` run right after their lines.
pub struct TcpServer<F: Factory + 'static> {
    state: ServiceState,
    reactor: Reactor,
    port: u16,
    interface: String,
    factory: Rc<F>,
    listening: RefCell<Option<ListeningPort>>,
}

impl<F: Factory + 'static> TcpServer<F> {
    /// A service that will listen on `port` of `interface` (port 0: any free port) with `factory`.
    pub fn new(reactor: &Reactor, port: u16, factory: Rc<F>, interface: &str) -> TcpServer<F> {
        TcpServer {
            state: ServiceState::default(),
            reactor: reactor.clone(),
            port,
            interface: interface.to_owned(),
            factory,
            listening: RefCell::new(None),
        }
    }

    /// The address it listens on while it runs, with the real port number when port 0 was asked.
    pub fn get_host(&self) -> Option<SocketAddr> {
        self.listening
            .borrow()
            .as_ref()
            .and_then(|port| port.get_host().tcp())
    }

    /// Binds the port, unless that was done already by the privileged step.
    fn listen(&self) -> Result<(), Failure> {
        if self.listening.borrow().is_some() {
            return Ok(());
        }
        let factory = Rc::new(PortFactory(Rc::clone(&self.factory)));
        let port = self
            .reactor
            .listen_tcp(self.port, factory, &self.interface)
            .map_err(Failure::new)?;
        log_port_started(&*self.factory, &port.get_host());
        *self.listening.borrow_mut() = Some(port);
        log_factory_starting(&factory_repr(&self.factory));
        guard::call(&"calling start_factory", || self.factory.start_factory());
        Ok(())
    }
}

impl<F: Factory + 'static> Service for TcpServer<F> {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn privileged_start_service(&self) -> Result<(), Failure> {
        self.listen()
    }

    fn start_service(&self) -> Result<(), Failure> {
        self.listen()?;
        self.state.set_running(true);
        Ok(())
    }

    /// Stops listening; connections already made go on. Fires when the port is closed.
    fn stop_service(&self) -> Deferred<()> {
        self.state.set_running(false);
        let Some(port) = self.listening.borrow_mut().take() else {
            return succeed(());
        };
        let address = port.get_host();
        let factory = Rc::clone(&self.factory);
        port.stop_listening().add_callback(move |()| {
            log_port_closed(&address);
            log_factory_stopping(&factory_repr(&factory));
            guard::call(&"calling stop_factory", || factory.stop_factory());
            Ok::<(), Failure>(())
        })
    }
}

/// The factory a [`TcpServer`] gives its port: it makes the protocols, and leaves `start_factory`
/// and `stop_factory` to the service, which calls them after the lines that announce them.
struct PortFactory<F>(Rc<F>);

impl<F: Factory> Factory for PortFactory<F> {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        self.0.build_protocol(peer)
    }
}

/// Logs that a port of `factory` listens at `address`, in twistd's words: `Site starting on 8000`
/// (a UNIX socket: `Site starting on '/tmp/web.sock'`).
pub(crate) fn log_port_started(factory: &dyn Factory, address: &Address) {
    log::msg(format!(
        "{} starting on {}",
        factory.log_prefix(),
        port_label(address)
    ));
}

/// Logs that the port at `address` is closed: `(TCP Port 8000 Closed)`.
pub(crate) fn log_port_closed(address: &Address) {
    let kind = match address {
        Address::Tcp(_) => "TCP",
        Address::Unix(_) => "UNIX",
    };
    log::msg(format!("({kind} Port {} Closed)", port_label(address)));
}

/// Logs that `factory` starts serving: `Starting factory <Site object at 0x55d4c0a1b2c0>`.
pub(crate) fn log_factory_starting(repr: &str) {
    log::msg(format!("Starting factory {repr}"));
}

/// Logs that `factory` has stopped serving: `Stopping factory <Site object at 0x55d4c0a1b2c0>`.
pub(crate) fn log_factory_stopping(repr: &str) {
    log::msg(format!("Stopping factory {repr}"));
}

/// How twistd names a port in its lines: the number of a TCP port, the quoted path of a UNIX one.
fn port_label(address: &Address) -> String {
    match address {
        Address::Tcp(address) => address.port().to_string(),
        Address::Unix(Some(path)) => format!("'{}'", path.display()),
        Address::Unix(None) => "''".to_owned(),
    }
}

/// A factory as Python prints an object: `<PoetryFactory object at 0x55d4c0a1b2c0>`.
pub(crate) fn factory_repr<F>(factory: &Rc<F>) -> String {
    format!(
        "<{} object at {:#x}>",
        short_type_name::<F>(),
        Rc::as_ptr(factory) as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defer::defer_later;
    use std::io::{self, Write};
    use std::time::Duration;

    /// What the services of one test did, in order.
    #[derive(Clone, Default)]
    struct Events(Rc<RefCell<Vec<String>>>);

    impl Events {
        fn push(&self, event: impl Into<String>) {
            self.0.borrow_mut().push(event.into());
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.borrow_mut())
        }
    }

    /// A service that records its calls; its stop takes `stop_delay` of the reactor's time when
    /// it has one, and fails when told to.
    struct Recorder {
        state: ServiceState,
        events: Events,
        slow_stop: Option<(Reactor, Duration)>,
        stop_fails: bool,
    }

    impl Recorder {
        fn new(name: &str, events: &Events) -> Rc<Recorder> {
            Rc::new(Recorder {
                state: ServiceState::named(name),
                events: events.clone(),
                slow_stop: None,
                stop_fails: false,
            })
        }

        fn label(&self) -> &str {
            self.name().unwrap_or("-")
        }
    }

    impl Service for Recorder {
        fn state(&self) -> &ServiceState {
            &self.state
        }

        fn privileged_start_service(&self) -> Result<(), Failure> {
            self.events
                .push(format!("privileged start {}", self.label()));
            Ok(())
        }

        fn start_service(&self) -> Result<(), Failure> {
            self.state.set_running(true);
            self.events.push(format!("start {}", self.label()));
            Ok(())
        }

        fn stop_service(&self) -> Deferred<()> {
            self.state.set_running(false);
            self.events.push(format!("stop {}", self.label()));
            let (events, label) = (self.events.clone(), self.label().to_owned());
            let fails = self.stop_fails;
            let finish = move || {
                events.push(format!("{label} stopped"));
                if fails {
                    Err(Failure::exception(format!("{label} did not stop cleanly")))
                } else {
                    Ok(())
                }
            };
            match &self.slow_stop {
                Some((reactor, delay)) => defer_later(reactor, *delay, finish),
                None => maybe_deferred(finish),
            }
        }
    }

    fn collection(names: &[&str], events: &Events) -> MultiService {
        let services = MultiService::new();
        for name in names {
            services.add_service(Recorder::new(name, events)).unwrap();
        }
        services
    }

    #[test]
    fn children_start_in_order_and_stop_in_reverse_order() {
        let events = Events::default();
        let services = collection(&["a", "b", "c"], &events);
        assert!(!services.running());
        services.start_service().unwrap();
        assert!(services.running());
        assert!(services.services().iter().all(|service| service.running()));
        assert_eq!(events.take(), ["start a", "start b", "start c"]);

        let stopped = services.stop_service();
        assert!(stopped.called(), "every child stopped at once");
        assert!(!services.running());
        assert!(services.services().iter().all(|service| !service.running()));
        assert_eq!(
            events.take(),
            [
                "stop c",
                "c stopped",
                "stop b",
                "b stopped",
                "stop a",
                "a stopped"
            ]
        );
    }

    #[test]
    fn an_application_binds_everything_before_starting_anything() {
        let events = Events::default();
        let application = Application::new("fastpoetry");
        let inner = Rc::new(collection(&["poem", "port"], &events));
        application.add_service(inner).unwrap();
        application
            .add_service(Recorder::new("other", &events))
            .unwrap();
        application.start().unwrap();
        assert_eq!(application.name(), Some("fastpoetry"));
        assert!(application.running());
        assert_eq!(
            events.take(),
            [
                "privileged start poem",
                "privileged start port",
                "privileged start other",
                "start poem",
                "start port",
                "start other"
            ]
        );
    }

    #[test]
    fn names_are_unique_within_a_collection() {
        let events = Events::default();
        let services = collection(&["poem"], &events);
        assert_eq!(
            services
                .add_service(Recorder::new("poem", &events))
                .unwrap_err()
                .to_string(),
            "there is already a service named 'poem' here"
        );
        // Unnamed services never clash.
        services.add_service(Rc::new(MultiService::new())).unwrap();
        services.add_service(Rc::new(MultiService::new())).unwrap();
        assert_eq!(services.services().len(), 3);
        assert_eq!(
            services.get_service_named("poem").unwrap().name(),
            Some("poem")
        );
        assert!(services.get_service_named("port").is_none());
    }

    #[test]
    fn stopping_waits_for_the_slowest_child() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let events = Events::default();
        let services = Rc::new(MultiService::new());
        for (name, seconds) in [("quick", 0), ("slow", 5), ("slower", 2)] {
            let mut recorder = Recorder::new(name, &events);
            if seconds > 0 {
                Rc::get_mut(&mut recorder).unwrap().slow_stop =
                    Some((reactor.clone(), Duration::from_secs(seconds)));
            }
            services.add_service(recorder).unwrap();
        }
        let (clock, log, handle) = (reactor.clone(), events.clone(), reactor.clone());
        reactor.call_when_running(move || {
            services.start_service().unwrap();
            let stopped = services.stop_service();
            log.push(format!("stop returned, fired: {}", stopped.called()));
            stopped.add_callback(move |()| {
                log.push(format!("all stopped at {:.3}", clock.seconds()));
                handle.stop().map_err(Failure::new)
            });
        });
        reactor.run().unwrap();
        assert_eq!(
            events.take(),
            [
                "start quick",
                "start slow",
                "start slower",
                "stop slower",
                "stop slow",
                "stop quick",
                "quick stopped",
                "stop returned, fired: false",
                "slower stopped",
                "slow stopped",
                "all stopped at 5.000"
            ]
        );
    }

    #[test]
    fn a_child_that_fails_to_stop_fails_the_collection_once_all_are_done() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let events = Events::default();
        let services = Rc::new(MultiService::new());
        let mut broken = Recorder::new("broken", &events);
        Rc::get_mut(&mut broken).unwrap().stop_fails = true;
        let mut slow = Recorder::new("slow", &events);
        Rc::get_mut(&mut slow).unwrap().slow_stop = Some((reactor.clone(), Duration::from_secs(1)));
        services.add_service(slow).unwrap();
        services.add_service(broken).unwrap();
        let (log, handle) = (events.clone(), reactor.clone());
        reactor.call_when_running(move || {
            services.stop_service().add_both(move |outcome| {
                log.push(match outcome {
                    Ok(()) => "stopped cleanly".to_owned(),
                    Err(failure) => format!("failed: {}", failure.error()),
                });
                handle.stop().map_err(Failure::new)
            });
        });
        reactor.run().unwrap();
        assert_eq!(
            events.take(),
            [
                "stop broken",
                "broken stopped",
                "stop slow",
                "slow stopped",
                "failed: broken did not stop cleanly"
            ]
        );
    }

    /// A log observer whose output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Rc<RefCell<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A factory that records when it is started and stopped, and refuses every connection.
    struct PoetryFactory(Events);

    impl Factory for PoetryFactory {
        fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
        fn start_factory(&self) {
            self.0.push("start_factory");
        }
        fn stop_factory(&self) {
            self.0.push("stop_factory");
        }
    }

    #[test]
    fn a_tcp_server_listens_only_while_it_runs_and_logs_as_twistd() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let events = Events::default();
        let factory = Rc::new(PoetryFactory(events.clone()));
        let address = Rc::as_ptr(&factory) as usize;
        let server = TcpServer::new(&reactor, 0, factory, "127.0.0.1");
        assert_eq!(server.get_host(), None, "nothing happens until it starts");

        let captured = Captured::default();
        log::start_logging(captured.clone());
        server.privileged_start_service().unwrap();
        assert!(!server.running(), "bound, but not started yet");
        server.start_service().unwrap();
        assert!(server.running());
        let port = server.get_host().unwrap().port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        events.push("stopping");
        let stopped = server.stop_service();
        assert!(stopped.called());
        assert!(!server.running());
        assert_eq!(server.get_host(), None);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        log::stop_logging();

        let logged: Vec<String> = String::from_utf8(captured.0.borrow().clone())
            .unwrap()
            .lines()
            .map(|line| line[25..].to_owned())
            .collect();
        let repr = format!("<PoetryFactory object at {address:#x}>");
        assert_eq!(
            logged,
            [
                "[-] Log opened.".to_owned(),
                format!("[-] PoetryFactory starting on {port}"),
                format!("[-] Starting factory {repr}"),
                format!("[-] (TCP Port {port} Closed)"),
                format!("[-] Stopping factory {repr}"),
            ]
        );
        assert_eq!(events.take(), ["start_factory", "stopping", "stop_factory"]);
    }

    #[test]
    fn a_port_that_cannot_listen_fails_the_start() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let events = Events::default();
        let server = TcpServer::new(
            &reactor,
            port,
            Rc::new(PoetryFactory(events.clone())),
            "127.0.0.1",
        );
        let failure = server.start_service().unwrap_err();
        assert_eq!(
            failure.error().to_string(),
            format!("Couldn't listen on 127.0.0.1:{port}: Address already in use.")
        );
        assert!(!server.running());
        assert!(events.take().is_empty(), "the factory was never started");
        assert!(server.stop_service().called());
    }
}
