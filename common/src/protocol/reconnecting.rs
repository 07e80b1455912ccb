//! `ReconnectingClientFactory`: keep one connection up, whatever the server does.
//!
//! A [`ClientCreator`](super::ClientCreator) connects once: if the server is down, or goes away
//! later, the program is left without a connection. A long-running client (the training's web
//! front, which asks the store a question for every page) wants the connection back on its own.
//! Twisted's `ReconnectingClientFactory` does this, and so does this one: it connects, and after a
//! failed attempt or a lost connection it waits, then tries again.
//!
//! How long it waits is the [`Backoff`]: a short wait first, each following one `factor` times
//! longer, up to a ceiling, so that a server that stays down is not hammered, and one that comes
//! back is found soon. Each wait is shifted up or down by a random fraction (the jitter), so that
//! many clients that lost the same server do not all come back at the same instant. A connection
//! that is made resets the waits to the first, short one.
//!
//! The owner asks [`current`](ReconnectingClientFactory::current) for the protocol of the live
//! connection, `None` while there is none, and may hear of every connection, failure and loss with
//! [`on_event`](ReconnectingClientFactory::on_event) (to log them, say).
//!
//! As with `ClientCreator`, the protocol is a cheap handle that can be cloned (its state inside an
//! `Rc`): the reactor holds one clone to deliver the connection's events, and the owner another to
//! call its methods.

use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, RandomState};
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use crate::endpoints::ClientEndpoint;
use crate::reactor::{DelayedCall, Reactor};

/// How long to wait before each new attempt: an exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry after a failure or a loss.
    pub initial_delay: Duration,
    /// How many times longer each following wait is.
    pub factor: f64,
    /// The longest wait.
    pub max_delay: Duration,
    /// The fraction by which a wait may be shortened or lengthened at random (0.1: up to 10 %
    /// either way); 0 for waits that are always the same.
    pub jitter: f64,
}

impl Default for Backoff {
    /// One second, then twice as long each time up to a minute, give or take a tenth.
    fn default() -> Backoff {
        Backoff {
            initial_delay: Duration::from_secs(1),
            factor: 2.0,
            max_delay: Duration::from_secs(60),
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first since the last connection), with
    /// `spread`, from -1 to 1, saying where in the jitter's band it falls (-1 the shortest, 1 the
    /// longest). Never longer than `max_delay`.
    pub fn delay(&self, retry: u32, spread: f64) -> Duration {
        let ceiling = self.max_delay.as_secs_f64();
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        // An overflow gives infinity, and `min` brings it back to the ceiling.
        let base = (self.initial_delay.as_secs_f64() * self.factor.powi(exponent)).min(ceiling);
        let jittered = base * (1.0 + self.jitter * spread.clamp(-1.0, 1.0));
        if jittered.is_finite() {
            Duration::from_secs_f64(jittered.clamp(0.0, ceiling))
        } else {
            self.max_delay
        }
    }

    /// The wait before retry number `retry`, shifted at random within the jitter's band: what a
    /// client that keeps its own connection up waits (the factory below waits this long).
    pub fn random_delay(&self, retry: u32) -> Duration {
        self.delay(retry, random_spread())
    }
}

/// A random number from -1 to 1, for the jitter. The standard library's hasher keys are random
/// and change with every `RandomState`, which is all the randomness a jitter needs.
fn random_spread() -> f64 {
    let bits = RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// What happened to the connection, as [`ReconnectingClientFactory::on_event`] tells it.
#[derive(Debug)]
pub enum ReconnectEvent<'a, P> {
    /// A connection is made; this is its protocol (also what `current` now gives).
    Connected(&'a P),
    /// An attempt failed; the next comes after `retry_in`.
    Failed {
        reason: &'a ConnectError,
        retry_in: Duration,
    },
    /// The connection was lost; the next attempt comes after `retry_in`.
    Lost {
        reason: &'a DisconnectReason,
        retry_in: Duration,
    },
}

type Observer<P> = Rc<dyn Fn(&ReconnectEvent<'_, P>)>;

struct Inner<P> {
    reactor: Reactor,
    endpoint: ClientEndpoint,
    backoff: Backoff,
    make: Box<dyn Fn() -> P>,
    observer: RefCell<Option<Observer<P>>>,
    /// Retries since the last connection was made: where in the backoff we are.
    retries: Cell<u32>,
    /// The number of the latest attempt. `stop` moves it on too, so that what an older attempt
    /// reports late (the connection `stop` closed, say) is known to be over and ignored.
    generation: Cell<u64>,
    /// The protocol of the live connection.
    current: RefCell<Option<P>>,
    /// The latest attempt, or the connection it made: what `stop` closes.
    connector: RefCell<Option<Connector>>,
    /// The timed call of the next attempt, while waiting.
    retry_call: RefCell<Option<DelayedCall>>,
    /// Whether the owner wants a connection (between `start` and `stop`).
    running: Cell<bool>,
}

/// Connects to one endpoint with protocols `make` returns, and connects again after each failure
/// or loss, with a [`Backoff`], until [`stop`](ReconnectingClientFactory::stop). A cheap handle:
/// clones share the same connection; dropping the last one gives up (no attempt is made after).
pub struct ReconnectingClientFactory<P> {
    inner: Rc<Inner<P>>,
}

impl<P> Clone for ReconnectingClientFactory<P> {
    fn clone(&self) -> Self {
        ReconnectingClientFactory {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<P: Protocol + Clone + 'static> ReconnectingClientFactory<P> {
    /// A factory for `endpoint` that waits as `backoff` says between attempts. Nothing happens
    /// until [`start`](ReconnectingClientFactory::start).
    pub fn new(
        reactor: &Reactor,
        endpoint: ClientEndpoint,
        backoff: Backoff,
        make: impl Fn() -> P + 'static,
    ) -> Self {
        ReconnectingClientFactory {
            inner: Rc::new(Inner {
                reactor: reactor.clone(),
                endpoint,
                backoff,
                make: Box::new(make),
                observer: RefCell::new(None),
                retries: Cell::new(0),
                generation: Cell::new(0),
                current: RefCell::new(None),
                connector: RefCell::new(None),
                retry_call: RefCell::new(None),
                running: Cell::new(false),
            }),
        }
    }

    /// Calls `observer` on every connection made, attempt failed and connection lost. It may call
    /// the factory (stop it, say).
    pub fn on_event(&self, observer: impl Fn(&ReconnectEvent<'_, P>) + 'static) {
        *self.inner.observer.borrow_mut() = Some(Rc::new(observer));
    }

    /// Makes the first attempt now. Does nothing if already started; after a `stop`, starts over
    /// with the shortest wait.
    pub fn start(&self) {
        if self.inner.running.replace(true) {
            return;
        }
        self.inner.retries.set(0);
        self.connect();
    }

    /// Stops trying: the pending attempt is cancelled, and the connection, if there is one,
    /// closed. Nothing more is reported of them.
    pub fn stop(&self) {
        self.inner.running.set(false);
        self.next_generation();
        if let Some(call) = self.inner.retry_call.borrow_mut().take() {
            let _ = call.cancel();
        }
        self.inner.current.borrow_mut().take();
        let connector = self.inner.connector.borrow_mut().take();
        if let Some(connector) = connector {
            connector.disconnect();
        }
    }

    /// The protocol of the live connection; `None` while there is none (connecting, or waiting to
    /// try again).
    pub fn current(&self) -> Option<P> {
        self.inner.current.borrow().clone()
    }

    /// Where the factory connects.
    pub fn endpoint(&self) -> &ClientEndpoint {
        &self.inner.endpoint
    }

    fn next_generation(&self) -> u64 {
        let generation = self.inner.generation.get() + 1;
        self.inner.generation.set(generation);
        generation
    }

    fn connect(&self) {
        let attempt = Attempt {
            factory: self.clone(),
            generation: self.next_generation(),
        };
        let connector = self
            .inner
            .reactor
            .connect(&self.inner.endpoint, Rc::new(attempt));
        *self.inner.connector.borrow_mut() = Some(connector);
    }

    /// Schedules the next attempt; returns the wait.
    fn retry_later(&self) -> Duration {
        let retry = self.inner.retries.get();
        self.inner.retries.set(retry.saturating_add(1));
        let delay = self.inner.backoff.random_delay(retry);
        // Only the owner's handles keep the factory alive: dropped, it stops retrying.
        let factory: Weak<Inner<P>> = Rc::downgrade(&self.inner);
        let call = self.inner.reactor.call_later(delay, move || {
            if let Some(inner) = factory.upgrade() {
                inner.retry_call.borrow_mut().take();
                ReconnectingClientFactory { inner }.connect();
            }
        });
        *self.inner.retry_call.borrow_mut() = Some(call);
        delay
    }

    /// Tells the observer, without holding a borrow while it runs.
    fn tell(&self, event: &ReconnectEvent<'_, P>) {
        let observer = self.inner.observer.borrow().clone();
        if let Some(observer) = observer {
            observer(event);
        }
    }
}

/// One connection attempt: the [`ClientFactory`] the reactor is given each time. It knows its
/// number, so that it speaks for the factory only while it is the latest.
struct Attempt<P> {
    factory: ReconnectingClientFactory<P>,
    generation: u64,
}

impl<P: Protocol + Clone + 'static> Attempt<P> {
    fn is_latest(&self) -> bool {
        self.factory.inner.generation.get() == self.generation
    }

    /// The attempt is over (failed, or its connection lost): the next one is scheduled.
    fn ended(&self) -> Option<Duration> {
        if !self.is_latest() {
            return None;
        }
        self.factory.inner.connector.borrow_mut().take();
        Some(self.factory.retry_later())
    }
}

impl<P: Protocol + Clone + 'static> Factory for Attempt<P> {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Watched {
            protocol: (self.factory.inner.make)(),
            attempt: Attempt {
                factory: self.factory.clone(),
                generation: self.generation,
            },
        }))
    }
}

impl<P: Protocol + Clone + 'static> ClientFactory for Attempt<P> {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        if let Some(retry_in) = self.ended() {
            self.factory
                .tell(&ReconnectEvent::Failed { reason, retry_in });
        }
    }

    fn client_connection_lost(&self, _connector: &Connector, reason: &DisconnectReason) {
        if let Some(retry_in) = self.ended() {
            self.factory
                .tell(&ReconnectEvent::Lost { reason, retry_in });
        }
    }
}

/// The reactor's side of one connection: passes every event on to the owner's protocol, and
/// tells the factory when the connection is made and when it ends.
struct Watched<P: Protocol + Clone + 'static> {
    protocol: P,
    attempt: Attempt<P>,
}

impl<P: Protocol + Clone + 'static> Protocol for Watched<P> {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.protocol.connection_made(transport);
        if self.attempt.is_latest() {
            let inner = &self.attempt.factory.inner;
            inner.retries.set(0);
            *inner.current.borrow_mut() = Some(self.protocol.clone());
            self.attempt
                .factory
                .tell(&ReconnectEvent::Connected(&self.protocol));
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        self.protocol.data_received(data);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        // Gone from `current` first: the protocol's own loss fails its waiting requests, and
        // whoever they call back must not find the dead connection there.
        if self.attempt.is_latest() {
            self.attempt.factory.inner.current.borrow_mut().take();
        }
        self.protocol.connection_lost(reason);
    }

    fn pause_producing(&mut self) {
        self.protocol.pause_producing();
    }

    fn resume_producing(&mut self) {
        self.protocol.resume_producing();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixed(initial: u64, factor: f64, max: u64) -> Backoff {
        Backoff {
            initial_delay: Duration::from_secs(initial),
            factor,
            max_delay: Duration::from_secs(max),
            jitter: 0.0,
        }
    }

    #[test]
    fn the_waits_grow_by_the_factor_up_to_the_ceiling() {
        let backoff = fixed(1, 2.0, 10);
        let waits: Vec<u64> = (0..6).map(|n| backoff.delay(n, 0.7).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff.delay(u32::MAX, 0.0), Duration::from_secs(10));
    }

    #[test]
    fn the_jitter_moves_a_wait_within_its_band() {
        let backoff = Backoff {
            jitter: 0.5,
            ..fixed(1, 2.0, 100)
        };
        assert_eq!(backoff.delay(2, -1.0), Duration::from_secs(2));
        assert_eq!(backoff.delay(2, 0.0), Duration::from_secs(4));
        assert_eq!(backoff.delay(2, 1.0), Duration::from_secs(6));
        // Never past the ceiling, even shifted up.
        assert_eq!(backoff.delay(10, 1.0), Duration::from_secs(100));
        for _ in 0..1000 {
            let spread = random_spread();
            assert!((-1.0..=1.0).contains(&spread), "{spread}");
        }
    }

    /// A protocol that keeps its transport, so that the test can close the connection.
    #[derive(Clone, Default)]
    struct Probe {
        transport: Rc<RefCell<Option<Rc<dyn Transport>>>>,
    }

    impl Protocol for Probe {
        fn connection_made(&mut self, transport: Rc<dyn Transport>) {
            *self.transport.borrow_mut() = Some(transport);
        }
    }

    /// A server that accepts connections and says nothing.
    struct Quiet;

    impl Factory for Quiet {
        fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(Probe::default()))
        }
    }

    /// A factory for the socket at `path`, whose events are written down with the (paused)
    /// clock's time; `react` is called after each.
    fn recorded(
        reactor: &Reactor,
        path: &Path,
        react: impl Fn(&ReconnectingClientFactory<Probe>, &ReconnectEvent<'_, Probe>) + 'static,
    ) -> (ReconnectingClientFactory<Probe>, Rc<RefCell<Vec<String>>>) {
        let endpoint = ClientEndpoint::Unix {
            path: path.to_owned(),
            timeout: Duration::from_secs(30),
        };
        let factory = ReconnectingClientFactory::new(reactor, endpoint, fixed(1, 2.0, 60), || {
            Probe::default()
        });
        let seen = Rc::new(RefCell::new(Vec::new()));
        let (log, clock, me) = (Rc::clone(&seen), reactor.clone(), factory.clone());
        let start = reactor.seconds();
        factory.on_event(move |event| {
            // Whole seconds: the waits are, and the clock only jumps between them.
            let at = (clock.seconds() - start).round();
            log.borrow_mut().push(match event {
                ReconnectEvent::Connected(_) => format!("{at} connected"),
                ReconnectEvent::Failed { retry_in, .. } => {
                    format!("{at} failed, retry in {}", retry_in.as_secs())
                }
                ReconnectEvent::Lost { retry_in, .. } => {
                    format!("{at} lost, retry in {}", retry_in.as_secs())
                }
            });
            react(&me, event);
        });
        (factory, seen)
    }

    #[test]
    fn failed_attempts_are_retried_ever_more_slowly_until_stopped() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let count = Rc::new(Cell::new(0));
        let (factory, seen) = recorded(&reactor, &dir.path().join("nobody"), move |me, _| {
            count.set(count.get() + 1);
            if count.get() == 5 {
                me.stop();
            }
        });
        factory.start();
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(500), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(
            *seen.borrow(),
            [
                "0 failed, retry in 1",
                "1 failed, retry in 2",
                "3 failed, retry in 4",
                "7 failed, retry in 8",
                // Stopped by its observer: the wait was scheduled, and is cancelled.
                "15 failed, retry in 16",
            ]
        );
        assert!(factory.current().is_none());
        assert!(factory.inner.retry_call.borrow().is_none());
    }

    #[test]
    fn a_connection_made_resets_the_waits() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sock");
        let connections = Rc::new(Cell::new(0));
        let (factory, seen) = recorded(&reactor, &path, move |me, event| {
            if let ReconnectEvent::Connected(probe) = event {
                assert!(me.current().is_some());
                connections.set(connections.get() + 1);
                let transport = probe.transport.borrow().clone().unwrap();
                if connections.get() == 1 {
                    transport.lose_connection();
                } else {
                    me.stop();
                }
            }
        });
        factory.start();
        // The server appears at 2 s, while the factory waits to try a third time.
        let (server, listening) = (reactor.clone(), Rc::new(RefCell::new(None)));
        let port = Rc::clone(&listening);
        reactor.call_later(Duration::from_secs(2), move || {
            *port.borrow_mut() = Some(server.listen_unix(&path, Rc::new(Quiet), None).unwrap());
        });
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(100), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(
            *seen.borrow(),
            [
                "0 failed, retry in 1",
                "1 failed, retry in 2",
                "3 connected",
                "3 lost, retry in 1",
                // Stopped: its connection is closed, and that is not reported.
                "4 connected",
            ]
        );
        assert!(factory.current().is_none());
    }

    #[test]
    fn a_restart_makes_a_fresh_connection_that_the_old_one_cannot_disturb() {
        let reactor = Reactor::with_paused_clock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sock");
        let _port = reactor.listen_unix(&path, Rc::new(Quiet), None).unwrap();
        let restarted = Rc::new(Cell::new(false));
        let (factory, seen) = recorded(&reactor, &path, move |me, event| {
            if matches!(event, ReconnectEvent::Connected(_)) && !restarted.replace(true) {
                me.stop();
                me.start();
            }
        });
        factory.start();
        // Started already: no second connection.
        factory.start();
        let (stopper, me) = (reactor.clone(), factory.clone());
        reactor.call_later(Duration::from_secs(10), move || {
            // The first connection's end was not reported, did not schedule another attempt,
            // and left the second connection in place.
            assert!(me.current().is_some());
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(*seen.borrow(), ["0 connected", "0 connected"]);
    }
}
