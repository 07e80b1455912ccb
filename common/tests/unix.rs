//! UNIX-domain sockets, endpoint strings and `ClientCreator`, over real sockets.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use common::defer::Failure;
use common::endpoints::{ClientEndpoint, ServerEndpoint};
use common::protocol::{
    Address, ClientCreator, ConnectError, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::Reactor;

const TIMEOUT: Duration = Duration::from_secs(5);

fn watchdog(reactor: &Reactor) {
    let handle = reactor.clone();
    reactor.call_later(TIMEOUT, move || -> () {
        let _ = handle.stop();
        panic!("watchdog: the test did not finish in time");
    });
}

/// Echoes every byte, and records the two ends of each connection it served.
#[derive(Default)]
struct EchoFactory {
    ends: Rc<RefCell<Vec<(Address, Address)>>>,
}

struct Echo(Option<Rc<dyn Transport>>);

impl Protocol for Echo {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(transport) = &self.0 {
            transport.write(data);
        }
    }
}

impl Factory for EchoFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(EchoRecording {
            echo: Echo(None),
            ends: Rc::clone(&self.ends),
        }))
    }
}

struct EchoRecording {
    echo: Echo,
    ends: Rc<RefCell<Vec<(Address, Address)>>>,
}

impl Protocol for EchoRecording {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let ends = (transport.get_host(), transport.get_peer());
        self.ends.borrow_mut().push(ends);
        self.echo.connection_made(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.echo.data_received(data);
    }
}

/// Talks to `path` from another thread: sends `message`, reads the same number of bytes back.
fn echo_through(path: &Path, message: &'static [u8]) -> thread::JoinHandle<Vec<u8>> {
    let path = path.to_path_buf();
    thread::spawn(move || {
        let mut stream = UnixStream::connect(path).unwrap();
        stream.write_all(message).unwrap();
        let mut back = vec![0; message.len()];
        stream.read_exact(&mut back).unwrap();
        back
    })
}

/// Runs the reactor until `client` is done, and gives what it returned.
fn run_until<T: Send + 'static>(reactor: &Reactor, client: thread::JoinHandle<T>) -> T {
    watchdog(reactor);
    let handle = reactor.clone();
    let poll = Rc::new(RefCell::new(Some(client)));
    let result = Rc::new(RefCell::new(None));
    let (waiting, out) = (Rc::clone(&poll), Rc::clone(&result));
    reactor.call_repeatedly(Duration::from_millis(5), move || {
        if waiting.borrow().as_ref().is_some_and(|c| c.is_finished()) {
            let client = waiting.borrow_mut().take().unwrap();
            *out.borrow_mut() = Some(client.join().unwrap());
            let _ = handle.stop();
            return None;
        }
        Some(Duration::from_millis(5))
    });
    reactor.run().unwrap();
    result.borrow_mut().take().unwrap()
}

#[test]
fn a_unix_endpoint_serves_the_same_protocols_as_tcp() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("echo.sock");
    let reactor = Reactor::new().unwrap();
    let factory = Rc::new(EchoFactory::default());
    let endpoint: ServerEndpoint = format!("unix:{}", path.display()).parse().unwrap();
    let port = reactor.listen(&endpoint, Rc::clone(&factory)).unwrap();
    assert_eq!(port.get_host(), Address::Unix(Some(path.as_path().into())));

    let back = run_until(&reactor, echo_through(&path, b"any bytes \x00\xff"));
    assert_eq!(back, b"any bytes \x00\xff");
    let ends = factory.ends.borrow();
    assert_eq!(ends[0].0, Address::Unix(Some(path.as_path().into())));
    assert_eq!(
        ends[0].1,
        Address::Unix(None),
        "a client's socket has no name"
    );
    assert_eq!(ends[0].1.to_string(), "UNIXAddress(None)");

    port.stop_listening();
    assert!(!path.exists(), "stopping the port removes its socket file");
}

#[test]
fn a_stale_socket_file_is_replaced_but_a_live_one_is_not() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("server.sock");
    let reactor = Reactor::new().unwrap();

    let live = UnixListener::bind(&path).unwrap();
    let refused = reactor
        .listen_unix(&path, Rc::new(EchoFactory::default()), None)
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "Couldn't listen on {}: Address already in use.",
            path.display()
        )
    );
    drop(live);
    assert!(
        path.exists(),
        "a server that dies leaves its socket file behind"
    );

    let port = reactor
        .listen_unix(&path, Rc::new(EchoFactory::default()), Some(0o600))
        .unwrap();
    let back = run_until(&reactor, echo_through(&path, b"again"));
    assert_eq!(back, b"again");
    let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    port.stop_listening();
}

#[test]
fn a_file_that_is_not_a_socket_is_never_removed() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("notes.txt");
    std::fs::write(&path, "keep me").unwrap();
    let reactor = Reactor::new().unwrap();
    let error = reactor
        .listen_unix(&path, Rc::new(EchoFactory::default()), None)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "Couldn't listen on {}: a file that is not a socket is in the way.",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

/// A client protocol that is a handle, as `ClientCreator` wants: it sends on request and keeps
/// what comes back.
#[derive(Clone, Default)]
struct Talker {
    transport: Rc<RefCell<Option<Rc<dyn Transport>>>>,
    heard: Rc<RefCell<Vec<u8>>>,
    lost: Rc<RefCell<Option<DisconnectReason>>>,
}

impl Talker {
    fn say(&self, text: &[u8]) {
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.write(text);
        }
    }
    fn hang_up(&self) {
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.lose_connection();
        }
    }
}

impl Protocol for Talker {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.heard.borrow_mut().extend_from_slice(data);
        if self.heard.borrow().ends_with(b"\n") {
            self.hang_up();
        }
    }
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        *self.lost.borrow_mut() = Some(reason.clone());
    }
}

/// Connects a `Talker` to `endpoint` with a `ClientCreator`, says one line once connected, and
/// runs until the connection is over or failed; gives the talker, or the failure.
fn talk_to(reactor: &Reactor, endpoint: &ClientEndpoint) -> Result<Talker, String> {
    watchdog(reactor);
    let creator = ClientCreator::new(reactor, Talker::default);
    let outcome: Rc<RefCell<Option<Result<Talker, String>>>> = Rc::default();
    let (ok, failed) = (Rc::clone(&outcome), Rc::clone(&outcome));
    let (stop_ok, stop_failed) = (reactor.clone(), reactor.clone());
    creator
        .connect(endpoint)
        .add_callback(move |talker: Talker| {
            talker.say(b"hello over there\n");
            let lost = Rc::clone(&talker.lost);
            *ok.borrow_mut() = Some(Ok(talker));
            // The connection ends when the echo comes back; poll for it.
            let stopper = stop_ok.clone();
            stop_ok.call_repeatedly(Duration::from_millis(5), move || {
                if lost.borrow().is_some() {
                    let _ = stopper.stop();
                    return None;
                }
                Some(Duration::from_millis(5))
            });
            Ok::<(), Failure>(())
        })
        .add_errback(move |failure| {
            *failed.borrow_mut() = Some(Err(failure.error().to_string()));
            let _ = stop_failed.stop();
            Ok::<(), Failure>(())
        });
    reactor.run().unwrap();
    outcome.borrow_mut().take().expect("the Deferred fired")
}

#[test]
fn client_creator_fires_with_the_connected_protocol_over_tcp_and_unix() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("echo.sock");
    let servers = [String::from("tcp:0"), format!("unix:{}", path.display())];
    for server in servers {
        // A reactor runs once: each kind of socket gets its own.
        let reactor = Reactor::new().unwrap();
        let endpoint: ServerEndpoint = server.parse().unwrap();
        let port = reactor
            .listen(&endpoint, Rc::new(EchoFactory::default()))
            .unwrap();
        let client = match port.get_host() {
            Address::Tcp(address) => {
                assert_ne!(address.port(), 0, "port 0 gets a real port");
                assert_eq!(address.ip().to_string(), "127.0.0.1");
                format!("tcp:127.0.0.1:{}", address.port())
            }
            Address::Unix(_) => format!("unix:{}", path.display()),
        };
        let talker = talk_to(&reactor, &client.parse().unwrap()).unwrap();
        assert_eq!(*talker.heard.borrow(), b"hello over there\n", "{server}");
        assert_eq!(*talker.lost.borrow(), Some(DisconnectReason::Done));
        port.stop_listening();
    }
}

#[test]
fn client_creator_fails_with_the_reason_it_could_not_connect() {
    let folder = tempfile::tempdir().unwrap();
    let reactor = Reactor::new().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = talk_to(&reactor, &format!("tcp:127.0.0.1:{port}").parse().unwrap());
    assert_eq!(refused.err(), Some(ConnectError::Refused.to_string()));

    let reactor = Reactor::new().unwrap();
    let missing = folder.path().join("nobody.sock");
    let endpoint = format!("unix:{}", missing.display()).parse().unwrap();
    assert_eq!(
        talk_to(&reactor, &endpoint).err().as_deref(),
        Some("An error occurred while connecting: No such file or directory.")
    );
}
