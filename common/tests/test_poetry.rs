//! Tested Poetry: tutorial Part 15 (`tests/test_poetry.py`), with `cargo test` in the role of trial.
//!
//! Each test starts a poetry server in the process, on 127.0.0.1 and a free port, fetches from it
//! with `get_poetry`, and runs the reactor until the Deferred fires: what trial does for a test that
//! returns a Deferred. A safety timer stops the reactor if the Deferred never fires, and the test
//! then fails instead of hanging (trial's own timeout).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use common::defer::{Deferred, Failure};
use common::poetry::{PoetryServerFactory, get_poetry};
use common::protocol::ConnectError;
use common::reactor::{ListeningPort, Reactor};

/// Not ASCII, so that bytes and characters differ; no newline at the end, so that nothing may be
/// added or dropped there.
const TEST_POEM: &str = "A poem made for testing,\nno more than a test, señor.\n…";

/// How long a test may wait for its Deferred.
const SAFETY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `get_poetry` may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What each test starts with (trial's `setUp`): a reactor and a poetry server listening on it.
struct Fixture {
    reactor: Reactor,
    port: ListeningPort,
    portnum: u16,
}

impl Fixture {
    fn set_up() -> Fixture {
        let reactor = Reactor::new().unwrap();
        let factory = Rc::new(PoetryServerFactory::new(TEST_POEM.as_bytes()));
        let port = reactor.listen_tcp(0, factory, "127.0.0.1").unwrap();
        let portnum = port.get_host().port().unwrap();
        Fixture {
            reactor,
            port,
            portnum,
        }
    }

    /// Runs the reactor until `deferred` fires, and returns how it fired.
    fn wait_for<T: 'static>(&self, deferred: Deferred<T>) -> Result<T, Failure> {
        let outcome = Rc::new(RefCell::new(None));
        let timed_out = Rc::new(Cell::new(false));
        let (slot, reactor) = (Rc::clone(&outcome), self.reactor.clone());
        deferred.add_both(move |result| {
            *slot.borrow_mut() = Some(result);
            let _ = reactor.stop();
            Ok::<(), Failure>(())
        });
        let (flag, reactor) = (Rc::clone(&timed_out), self.reactor.clone());
        let safety = self.reactor.call_later(SAFETY_TIMEOUT, move || {
            flag.set(true);
            let _ = reactor.stop();
        });
        self.reactor.run().unwrap();
        assert!(
            !timed_out.get(),
            "the Deferred did not fire within {SAFETY_TIMEOUT:?}"
        );
        let _ = safety.cancel();
        outcome
            .take()
            .expect("the reactor stopped before the Deferred fired")
    }
}

impl Drop for Fixture {
    /// trial's `tearDown`: the port stops listening.
    fn drop(&mut self) {
        assert!(self.port.stop_listening().called());
    }
}

#[test]
fn test_client() {
    let fixture = Fixture::set_up();
    let deferred = get_poetry(
        &fixture.reactor,
        "127.0.0.1",
        fixture.portnum,
        CONNECT_TIMEOUT,
    );
    let poem = fixture
        .wait_for(deferred)
        .expect("the poem was not received");
    assert_eq!(String::from_utf8(poem).unwrap(), TEST_POEM);
}

#[test]
fn test_failure() {
    let fixture = Fixture::set_up();
    // Port 0 cannot be connected to, as in the tutorial's test.
    let deferred = get_poetry(&fixture.reactor, "127.0.0.1", 0, CONNECT_TIMEOUT);
    let failure = fixture.wait_for(deferred).expect_err("port 0 gave a poem");
    assert!(failure.check::<ConnectError>(), "{failure:?}");
}

#[test]
fn test_failure_on_a_closed_port() {
    let fixture = Fixture::set_up();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let deferred = get_poetry(&fixture.reactor, "127.0.0.1", closed, CONNECT_TIMEOUT);
    let failure = fixture
        .wait_for(deferred)
        .expect_err("a closed port gave a poem");
    assert_eq!(
        failure.downcast_ref::<ConnectError>(),
        Some(&ConnectError::Refused)
    );
}

#[test]
fn test_server_serves_every_client_the_same_poem() {
    let fixture = Fixture::set_up();
    let fetches: Vec<Deferred<Vec<u8>>> = (0..3)
        .map(|_| {
            get_poetry(
                &fixture.reactor,
                "127.0.0.1",
                fixture.portnum,
                CONNECT_TIMEOUT,
            )
        })
        .collect();
    let all = common::defer::gather_results(fetches, true);
    let poems = fixture.wait_for(all).expect("a fetch failed");
    assert_eq!(poems.len(), 3);
    for poem in poems {
        assert_eq!(poem, TEST_POEM.as_bytes());
    }
}
