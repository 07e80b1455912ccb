//! The reactor's TCP layer over real sockets on 127.0.0.1: protocols, factories, transports.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::Reactor;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Stops the reactor after `TIMEOUT` whatever happens, so that a broken test fails instead of hanging.
fn watchdog(reactor: &Reactor) {
    let handle = reactor.clone();
    reactor.call_later(TIMEOUT, move || -> () {
        let _ = handle.stop();
        panic!("watchdog: the test did not finish in time");
    });
}

/// A server protocol that writes a greeting with several calls and then closes.
struct Greeter;

impl Protocol for Greeter {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.write(b"hello, ");
        transport.write_sequence(&[b"wor", b"ld"]);
        transport.lose_connection();
        transport.write(b" (too late)");
    }
}

/// A server factory counting its start/stop hooks.
#[derive(Default)]
struct GreeterFactory {
    starts: Cell<u32>,
    stops: Cell<u32>,
}

impl Factory for GreeterFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Greeter))
    }
    fn start_factory(&self) {
        self.starts.set(self.starts.get() + 1);
    }
    fn stop_factory(&self) {
        self.stops.set(self.stops.get() + 1);
    }
}

/// What a collecting client saw.
#[derive(Default)]
struct Seen {
    data: RefCell<Vec<u8>>,
    lost: RefCell<Option<DisconnectReason>>,
    failed: RefCell<Option<ConnectError>>,
    started: Cell<bool>,
}

/// A client protocol that collects everything until the connection closes.
struct Collector(Rc<Seen>);

impl Protocol for Collector {
    fn data_received(&mut self, data: &[u8]) {
        self.0.data.borrow_mut().extend_from_slice(data);
    }
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        *self.0.lost.borrow_mut() = Some(reason.clone());
    }
}

/// A client factory that stops the reactor when its one connection is over.
struct CollectorFactory {
    seen: Rc<Seen>,
    reactor: Reactor,
}

impl Factory for CollectorFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Collector(self.seen.clone())))
    }
}

impl ClientFactory for CollectorFactory {
    fn started_connecting(&self, _connector: &Connector) {
        self.seen.started.set(true);
    }
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        *self.seen.failed.borrow_mut() = Some(reason.clone());
        let _ = self.reactor.stop();
    }
    fn client_connection_lost(&self, _connector: &Connector, _reason: &DisconnectReason) {
        let _ = self.reactor.stop();
    }
}

fn collect_from(reactor: &Reactor, port: u16) -> Rc<Seen> {
    let seen = Rc::new(Seen::default());
    let factory = Rc::new(CollectorFactory {
        seen: seen.clone(),
        reactor: reactor.clone(),
    });
    reactor.connect_tcp("127.0.0.1", port, factory, TIMEOUT);
    seen
}

#[test]
fn a_server_and_a_client_talk_and_close_cleanly() {
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let factory = Rc::new(GreeterFactory::default());
    let port = reactor.listen_tcp(0, factory.clone(), "127.0.0.1").unwrap();
    assert_eq!(factory.starts.get(), 1);
    let seen = collect_from(&reactor, port.get_host().port().unwrap());
    assert!(seen.started.get(), "started_connecting is called at once");
    reactor.run().unwrap();

    assert_eq!(*seen.data.borrow(), b"hello, world");
    assert_eq!(*seen.lost.borrow(), Some(DisconnectReason::Done));
    assert_eq!(factory.stops.get(), 0);
    assert!(port.stop_listening().called());
    assert_eq!(factory.stops.get(), 1);
    assert!(TcpStream::connect(port.get_host().tcp().unwrap()).is_err());
}

#[test]
fn a_refused_connection_reaches_the_factory() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let seen = collect_from(&reactor, closed.port());
    reactor.run().unwrap();
    let failed = seen.failed.borrow().clone().unwrap();
    assert_eq!(failed, ConnectError::Refused);
    assert_eq!(
        failed.to_string(),
        "Connection was refused by other side: 111: Connection refused."
    );
    assert!(seen.lost.borrow().is_none());
}

#[test]
fn an_unknown_host_is_a_dns_error() {
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let seen = Rc::new(Seen::default());
    let factory = Rc::new(CollectorFactory {
        seen: seen.clone(),
        reactor: reactor.clone(),
    });
    reactor.connect_tcp("nosuch.invalid", 10000, factory, TIMEOUT);
    reactor.run().unwrap();
    let failed = seen.failed.borrow().clone().unwrap();
    assert_eq!(failed.kind_name(), "DNSLookupError", "{failed}");
}

#[test]
fn a_port_in_use_cannot_listen() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let reactor = Reactor::new().unwrap();
    let error = reactor
        .listen_tcp(port, Rc::new(GreeterFactory::default()), "127.0.0.1")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Couldn't listen on 127.0.0.1:{port}: Address already in use.")
    );
}

/// A server protocol that panics when it receives `boom`, and echoes anything else.
struct Fragile(
    Option<Rc<dyn Transport>>,
    Rc<RefCell<Vec<DisconnectReason>>>,
);

impl Protocol for Fragile {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        assert_ne!(data, b"boom", "the protocol blew up");
        self.0.as_ref().unwrap().write(data);
    }
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.1.borrow_mut().push(reason.clone());
    }
}

struct FragileFactory(Rc<RefCell<Vec<DisconnectReason>>>);

impl Factory for FragileFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Fragile(None, self.0.clone())))
    }
}

/// A log observer that keeps what it is given, for a test to read: the reactor reports a failing
/// callback into the log once logging has started, instead of on the terminal.
#[derive(Clone, Default)]
struct LogBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_protocol_loses_its_connection_and_the_server_goes_on() {
    let log = LogBuffer::default();
    common::log::start_logging(log.clone());
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let reasons = Rc::new(RefCell::new(Vec::new()));
    let port = reactor
        .listen_tcp(0, Rc::new(FragileFactory(reasons.clone())), "127.0.0.1")
        .unwrap();
    let address = port.get_host().tcp().unwrap();
    let client = thread::spawn(move || {
        let mut bad = TcpStream::connect(address).unwrap();
        bad.write_all(b"boom").unwrap();
        let mut rest = Vec::new();
        let closed = bad.read_to_end(&mut rest);
        let mut good = TcpStream::connect(address).unwrap();
        good.write_all(b"still there?").unwrap();
        let mut echo = [0; 12];
        good.read_exact(&mut echo).unwrap();
        (closed.is_ok() && rest.is_empty(), echo)
    });
    let handle = reactor.clone();
    let waiter = Rc::new(RefCell::new(Some(client)));
    poll_until(&reactor, move || {
        if waiter.borrow().as_ref().unwrap().is_finished() {
            let (bad_closed, echo) = waiter.borrow_mut().take().unwrap().join().unwrap();
            assert!(bad_closed);
            assert_eq!(&echo, b"still there?");
            let _ = handle.stop();
            true
        } else {
            false
        }
    });
    reactor.run().unwrap();
    common::log::stop_logging();
    assert_eq!(
        reasons.borrow()[0],
        DisconnectReason::Lost("the protocol's data_received failed".into())
    );
    let log = String::from_utf8(log.0.borrow().clone()).unwrap();
    assert!(log.contains("[-] Unhandled Error\n"), "{log}");
    assert!(log.contains("\twhile calling data_received"), "{log}");
    assert!(log.contains("the protocol blew up"), "{log}");
}

/// Calls `check` every few milliseconds until it returns true.
fn poll_until(reactor: &Reactor, check: impl FnMut() -> bool + 'static) {
    fn again(reactor: Reactor, mut check: Box<dyn FnMut() -> bool>) {
        if !check() {
            let next = reactor.clone();
            reactor.call_later(Duration::from_millis(5), move || again(next, check));
        }
    }
    let handle = reactor.clone();
    reactor.call_when_running(move || again(handle, Box::new(check)));
}

/// A server protocol that writes as fast as it is allowed, counting what it wrote and the
/// pause/resume calls it got, then closes after `total` bytes.
struct Flood {
    transport: Option<Rc<dyn Transport>>,
    total: usize,
    written: usize,
    stats: Rc<FloodStats>,
}

#[derive(Default)]
struct FloodStats {
    pauses: Cell<u32>,
    resumes: Cell<u32>,
    max_buffered: Cell<usize>,
}

impl Flood {
    fn produce(&mut self) {
        let transport = self.transport.clone().unwrap();
        let chunk = [b'x'; 16 * 1024];
        while self.written < self.total && self.stats.pauses.get() == self.stats.resumes.get() {
            transport.write(&chunk);
            self.written += chunk.len();
            let buffered = transport.buffered();
            self.stats
                .max_buffered
                .set(self.stats.max_buffered.get().max(buffered));
            if buffered > 256 * 1024 {
                // Not told to pause in time: stop, and let the test fail on max_buffered.
                break;
            }
            if buffered > 64 * 1024 {
                // Give the reactor its turn to notice, as a real producer's next chunk would.
                break;
            }
        }
        if self.written >= self.total {
            transport.lose_connection();
        }
    }
}

impl Protocol for Flood {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(transport);
        self.produce();
    }
    fn pause_producing(&mut self) {
        self.stats.pauses.set(self.stats.pauses.get() + 1);
    }
    fn resume_producing(&mut self) {
        self.stats.resumes.set(self.stats.resumes.get() + 1);
        self.produce();
    }
}

struct FloodFactory(Rc<FloodStats>, usize);

impl Factory for FloodFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Flood {
            transport: None,
            total: self.1,
            written: 0,
            stats: self.0.clone(),
        }))
    }
}

#[test]
fn a_reader_that_does_not_read_pauses_the_writer() {
    const TOTAL: usize = 8 * 1024 * 1024;
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let stats = Rc::new(FloodStats::default());
    let port = reactor
        .listen_tcp(0, Rc::new(FloodFactory(stats.clone(), TOTAL)), "127.0.0.1")
        .unwrap();
    let address = port.get_host().tcp().unwrap();
    let slow_reader = TcpStream::connect(address).unwrap();
    let reader_slot = Rc::new(RefCell::new(Some(slow_reader)));
    let reading = Rc::new(RefCell::new(None));
    let (handle, check_stats, check_reading) = (reactor.clone(), stats.clone(), reading.clone());
    poll_until(&reactor, move || {
        // Once the server is paused, start reading everything in a thread.
        if check_stats.pauses.get() > 0
            && let Some(mut socket) = reader_slot.borrow_mut().take()
        {
            *check_reading.borrow_mut() = Some(thread::spawn(move || {
                let mut all = Vec::new();
                socket.read_to_end(&mut all).unwrap();
                all.len()
            }));
        }
        let done = check_reading
            .borrow()
            .as_ref()
            .is_some_and(thread::JoinHandle::is_finished);
        if done {
            let _ = handle.stop();
        }
        done
    });
    reactor.run().unwrap();
    let received = reading.borrow_mut().take().unwrap().join().unwrap();
    assert_eq!(received, TOTAL);
    assert!(stats.pauses.get() >= 1);
    assert_eq!(stats.pauses.get(), stats.resumes.get());
    assert!(
        stats.max_buffered.get() <= 128 * 1024,
        "buffered {}",
        stats.max_buffered.get()
    );
}

/// A server protocol that pauses reading after its first piece of data, and resumes after a while.
struct SlowEater {
    transport: Option<Rc<dyn Transport>>,
    reactor: Reactor,
    got: Rc<RefCell<Vec<(f64, usize)>>>,
}

impl Protocol for SlowEater {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.got
            .borrow_mut()
            .push((self.reactor.seconds(), data.len()));
        if self.got.borrow().len() == 1 {
            let transport = self.transport.clone().unwrap();
            transport.pause_producing();
            self.reactor
                .call_later(Duration::from_millis(200), move || {
                    transport.resume_producing()
                });
        }
    }
    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        let _ = self.reactor.stop();
    }
}

struct SlowEaterFactory(Reactor, Rc<RefCell<Vec<(f64, usize)>>>);

impl Factory for SlowEaterFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(SlowEater {
            transport: None,
            reactor: self.0.clone(),
            got: self.1.clone(),
        }))
    }
}

#[test]
fn pause_producing_stops_data_received_until_resumed() {
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let got = Rc::new(RefCell::new(Vec::new()));
    let port = reactor
        .listen_tcp(
            0,
            Rc::new(SlowEaterFactory(reactor.clone(), got.clone())),
            "127.0.0.1",
        )
        .unwrap();
    let address = port.get_host().tcp().unwrap();
    let sender = thread::spawn(move || {
        let mut socket = TcpStream::connect(address).unwrap();
        socket.write_all(b"first").unwrap();
        thread::sleep(Duration::from_millis(50));
        socket.write_all(b"second").unwrap();
    });
    reactor.run().unwrap();
    sender.join().unwrap();
    let got = got.borrow();
    assert_eq!(got.iter().map(|(_, n)| n).sum::<usize>(), 11);
    assert_eq!(got[0].1, 5);
    // The second piece was held back until the protocol resumed, 200 ms after the first.
    assert!(got[1].0 - got[0].0 >= 0.19, "{got:?}");
}

/// A server protocol that aborts as soon as it is connected, and stops the reactor when told why
/// the connection ended.
struct Aborter(Rc<RefCell<Option<DisconnectReason>>>, Reactor);

impl Protocol for Aborter {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        transport.abort_connection();
        assert!(transport.is_disconnecting());
        transport.write(b"ignored");
    }
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        *self.0.borrow_mut() = Some(reason.clone());
        let _ = self.1.stop();
    }
}

struct AborterFactory(Rc<RefCell<Option<DisconnectReason>>>, Reactor);

impl Factory for AborterFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Aborter(self.0.clone(), self.1.clone())))
    }
}

#[test]
fn abort_connection_closes_at_once() {
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let reason = Rc::new(RefCell::new(None));
    let port = reactor
        .listen_tcp(
            0,
            Rc::new(AborterFactory(reason.clone(), reactor.clone())),
            "127.0.0.1",
        )
        .unwrap();
    let address = port.get_host().tcp().unwrap();
    let client = thread::spawn(move || {
        let mut socket = TcpStream::connect(address).unwrap();
        let mut received = Vec::new();
        let _ = socket.read_to_end(&mut received);
        received
    });
    reactor.run().unwrap();
    assert_eq!(*reason.borrow(), Some(DisconnectReason::Aborted));
    assert_eq!(client.join().unwrap(), b"");
}

/// A server factory that refuses every connection.
struct Refuser(Rc<Cell<u32>>);

impl Factory for Refuser {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        self.0.set(self.0.get() + 1);
        None
    }
}

#[test]
fn a_factory_can_refuse_a_connection() {
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let asked = Rc::new(Cell::new(0));
    let port = reactor
        .listen_tcp(0, Rc::new(Refuser(asked.clone())), "127.0.0.1")
        .unwrap();
    // The client is accepted by the system, then closed by the server without a byte.
    let seen = collect_from(&reactor, port.get_host().port().unwrap());
    reactor.run().unwrap();
    assert_eq!(asked.get(), 1);
    assert_eq!(*seen.data.borrow(), b"");
    assert!(seen.lost.borrow().is_some());
}

#[test]
fn disconnect_gives_up_an_attempt_or_closes_the_connection() {
    // A slow server that never writes: the client's connection stays open until it disconnects.
    struct Silent;
    impl Protocol for Silent {}
    struct SilentFactory;
    impl Factory for SilentFactory {
        fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(Silent))
        }
    }

    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let port = reactor
        .listen_tcp(0, Rc::new(SilentFactory), "127.0.0.1")
        .unwrap();

    // Made and then closed: the protocol hears a clean close.
    let seen = Rc::new(Seen::default());
    let connector = reactor.connect_tcp(
        "127.0.0.1",
        port.get_host().port().unwrap(),
        Rc::new(CollectorFactory {
            seen: seen.clone(),
            reactor: reactor.clone(),
        }),
        TIMEOUT,
    );
    assert_eq!(
        connector.get_destination().to_string(),
        format!(
            "IPv4Address(type='TCP', host='127.0.0.1', port={})",
            port.get_host().port().unwrap()
        )
    );
    reactor.call_later(Duration::from_millis(50), move || connector.disconnect());
    reactor.run().unwrap();
    assert_eq!(*seen.lost.borrow(), Some(DisconnectReason::Done));
    assert!(seen.failed.borrow().is_none());

    // Given up before it could be made: the factory hears it failed, cancelled.
    let reactor = Reactor::new().unwrap();
    watchdog(&reactor);
    let seen = Rc::new(Seen::default());
    let connector = reactor.connect_tcp(
        "127.0.0.1",
        port.get_host().port().unwrap(),
        Rc::new(CollectorFactory {
            seen: seen.clone(),
            reactor: reactor.clone(),
        }),
        TIMEOUT,
    );
    connector.disconnect();
    reactor.run().unwrap();
    assert_eq!(*seen.failed.borrow(), Some(ConnectError::Cancelled));
}
