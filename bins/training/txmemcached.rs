//! `txmemcached`: memcached requests that take turns through a `DeferredLock`, the EuroPython
//! 2011 training's `txMemcached.py`.
//!
//! The protocol has `set` and `get`, each returning a Deferred at once, however many requests are
//! already waiting. Each request first takes the connection's [`DeferredLock`]: the one that holds
//! it writes its command, and lets the lock go once its reply is complete (`STORED`; `VALUE`, the
//! data and `END`), so the next command is written only then, and a reply always belongs to the one
//! request on the wire. The lock is the lesson: a queue of callers served one at a time, with no
//! thread and no blocking. (The replies themselves are read by [`ReplyReader`], raw data and all,
//! as `memget` teaches.)
//!
//! The demo connects to a memcached on 127.0.0.1:7000 (`--server` for another), asks for four
//! requests at once (set `a` to `1`, get `a`, set `a` to `2`, get `a`), and prints the four results
//! in request order, then the list each callback appended to as its request was answered, both as
//! Python shows them:
//!
//! ```text
//! ['a', ('a', '1'), 'a', ('a', '2')]
//! ['a', ('a', '1'), 'a', ('a', '2')]
//! ```
//!
//! It checks that they are those (the training asserted it) and stops. Beyond the training: the
//! value of a get belongs to that get, so a missing key gives `('k', None)` (the training's gave
//! the previous get's value, or crashed if there was none); a refused connection, an error reply
//! or no answer within `--timeout` is one line on stderr naming the server, and status 1 (the
//! training's waited for ever).
//!
//! ```text
//! terminal 1:  memcached -p 7000
//! terminal 2:  cargo run --bin txmemcached
//! ```

#[path = "support/memcached_clients.rs"]
mod memcached_clients;
#[path = "support/python_repr.rs"]
mod python_repr;

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::address::ServerAddress;
use common::cli::new_reactor;
use common::cli::output::report_error;
use common::defer::{Deferred, DeferredLock, Failure, FirstError, fail, gather_results};
use common::memcache::{ReadLimits, Reply, ReplyReader};
use common::outln;
use common::protocol::{ClientCreator, DisconnectReason, Protocol, Transport};

use memcached_clients::{CONNECT_TIMEOUT, Deadline, Trouble, run_until};
use python_repr::python_repr;

/// Set and get a key of a memcached server with four requests queued at once, served in turn
/// (EuroPython 2011 training, txMemcached). Exit status 1 on any error.
#[derive(Parser)]
#[command(
    name = "txmemcached",
    version,
    after_help = "Example, with memcached running on port 7000:\n  txmemcached\n  \
                  txmemcached --server 127.0.0.1:11211"
)]
struct Options {
    /// The memcached server, as host:port (a bare port means 127.0.0.1).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7000")]
    server: ServerAddress,

    #[command(flatten)]
    deadline: Deadline,
}

/// What a request gives back.
#[derive(Clone, Debug, PartialEq)]
enum Answer {
    /// A set: the key it stored.
    Stored(Vec<u8>),
    /// A get: the key, and its value if it is there.
    Got(Vec<u8>, Option<Vec<u8>>),
}

impl Answer {
    /// As Python shows the original's results: `'a'`, `('a', '1')`, `('a', None)`.
    fn python_repr(&self) -> String {
        match self {
            Answer::Stored(key) => python_repr(key),
            Answer::Got(key, value) => {
                let value = value.as_deref().map_or("None".to_owned(), python_repr);
                format!("({}, {value})", python_repr(key))
            }
        }
    }
}

/// The one request on the wire, waiting for its reply.
enum InFlight {
    Set {
        key: Vec<u8>,
        done: Deferred<Answer>,
    },
    Get {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        done: Deferred<Answer>,
    },
}

impl InFlight {
    fn fail(self, trouble: Trouble) {
        let (InFlight::Set { done, .. } | InFlight::Get { done, .. }) = self;
        let _ = done.errback(trouble);
    }
}

struct State {
    transport: Option<Rc<dyn Transport>>,
    reader: ReplyReader,
    in_flight: Option<InFlight>,
    closed: bool,
}

/// The protocol: `set` and `get`, taking turns. Clones are handles to the same connection.
#[derive(Clone)]
struct MemcacheProtocol {
    state: Rc<RefCell<State>>,
    lock: DeferredLock,
}

impl MemcacheProtocol {
    fn new() -> MemcacheProtocol {
        MemcacheProtocol {
            state: Rc::new(RefCell::new(State {
                transport: None,
                reader: ReplyReader::new(ReadLimits::default()),
                in_flight: None,
                closed: false,
            })),
            lock: DeferredLock::new(),
        }
    }

    /// Stores `value` under `key`; fires with the key.
    fn set(&self, key: &[u8], value: &[u8]) -> Deferred<Answer> {
        let length = format!(" 0 0 {}\r\n", value.len());
        let command = [b"set ", key, length.as_bytes(), value, b"\r\n"].concat();
        let key = key.to_vec();
        self.in_turn(command, move |done| InFlight::Set { key, done })
    }

    /// Gets `key`'s value; fires with the key and the value (`None` if the key is not there).
    fn get(&self, key: &[u8]) -> Deferred<Answer> {
        let command = [b"get ", key, b"\r\n"].concat();
        let key = key.to_vec();
        self.in_turn(command, move |done| InFlight::Get {
            key,
            value: None,
            done,
        })
    }

    /// Waits for the lock, then writes `command`; the lock is let go once its reply is complete
    /// (when the Deferred that `write` returns fires).
    fn in_turn(
        &self,
        command: Vec<u8>,
        in_flight: impl FnOnce(Deferred<Answer>) -> InFlight + 'static,
    ) -> Deferred<Answer> {
        let protocol = self.clone();
        self.lock.run(move || protocol.write(&command, in_flight))
    }

    fn write(
        &self,
        command: &[u8],
        in_flight: impl FnOnce(Deferred<Answer>) -> InFlight,
    ) -> Deferred<Answer> {
        let mut state = self.state.borrow_mut();
        let transport = state.transport.clone().filter(|_| !state.closed);
        let Some(transport) = transport else {
            return fail(Trouble::Closed);
        };
        transport.write(command);
        let done = Deferred::new();
        state.in_flight = Some(in_flight(done.clone()));
        done
    }

    fn close(&self) {
        if let Some(transport) = self.state.borrow().transport.as_ref() {
            transport.lose_connection();
        }
    }

    /// The reply could not be matched with the request on the wire: nothing after it can be.
    fn give_up(&self, trouble: Trouble) {
        let in_flight = {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            if let Some(transport) = state.transport.as_ref() {
                transport.abort_connection();
            }
            state.in_flight.take()
        };
        if let Some(request) = in_flight {
            request.fail(trouble);
        }
    }

    /// Gives `reply` to the request on the wire; `false` if the connection had to be closed.
    fn reply_received(&self, reply: Reply) -> bool {
        let in_flight = self.state.borrow_mut().in_flight.take();
        match (in_flight, reply) {
            (Some(InFlight::Set { key, done }), Reply::Stored) => {
                let _ = done.callback(Answer::Stored(key));
            }
            (
                Some(InFlight::Get {
                    key,
                    value: None,
                    done,
                }),
                Reply::Value(item),
            ) if item.key == key => {
                self.state.borrow_mut().in_flight = Some(InFlight::Get {
                    key,
                    value: Some(item.data),
                    done,
                });
            }
            (Some(InFlight::Get { key, value, done }), Reply::End) => {
                let _ = done.callback(Answer::Got(key, value));
            }
            (
                Some(request),
                reply @ (Reply::Error | Reply::ClientError(_) | Reply::ServerError(_)),
            ) => {
                request.fail(Trouble::Answered(reply.to_string().into_bytes()));
            }
            (in_flight, reply) => {
                self.state.borrow_mut().in_flight = in_flight;
                self.give_up(Trouble::Answered(reply.to_string().into_bytes()));
                return false;
            }
        }
        true
    }
}

impl Protocol for MemcacheProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.state.borrow_mut().transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        // The state is let go before any Deferred fires: its callbacks write the next command.
        let replies = self.state.borrow_mut().reader.feed(data);
        for reply in replies {
            let carry_on = match reply {
                Ok(reply) => self.reply_received(reply),
                Err(error) => {
                    self.give_up(Trouble::Answered(error.to_string().into_bytes()));
                    false
                }
            };
            if !carry_on {
                return;
            }
        }
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        let in_flight = {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            state.in_flight.take()
        };
        if let Some(request) = in_flight {
            request.fail(Trouble::Closed);
        }
    }
}

/// The demo's four requests, queued at once.
fn demo(protocol: MemcacheProtocol) -> Deferred<ExitCode> {
    let requests = vec![
        protocol.set(b"a", b"1"),
        protocol.get(b"a"),
        protocol.set(b"a", b"2"),
        protocol.get(b"a"),
    ];
    // Each answer, as its request is answered.
    let replies = Rc::new(RefCell::new(Vec::new()));
    let noted = requests
        .into_iter()
        .map(|request| {
            let replies = Rc::clone(&replies);
            request.add_callback(move |answer: Answer| {
                let shown = answer.python_repr();
                replies.borrow_mut().push(shown.clone());
                Ok::<String, Failure>(shown)
            })
        })
        .collect();
    gather_results(noted, true).add_callbacks(
        move |results: Vec<String>| {
            protocol.close();
            let replies = replies.borrow().clone();
            outln!("[{}]", results.join(", "));
            outln!("[{}]", replies.join(", "));
            let expected = ["'a'", "('a', '1')", "'a'", "('a', '2')"];
            if results != expected || replies != expected {
                return Err(Failure::exception(
                    "the answers are not those expected (another client changed a?)",
                ));
            }
            Ok(ExitCode::SUCCESS)
        },
        // The request's own failure says more than the list's.
        |failure: Failure| match failure.downcast_ref::<FirstError>() {
            Some(first) => Err(first.failure.clone()),
            None => Err(failure),
        },
    )
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let server = &options.server;
    let connected = ClientCreator::new(&reactor, MemcacheProtocol::new).connect_tcp(
        &server.host,
        server.port,
        CONNECT_TIMEOUT,
    );
    let outcome = connected.add_callback(demo);
    run_until(&reactor, server, outcome, 1, Some(options.deadline.timeout))
}

#[cfg(test)]
mod tests {
    use common::testing::StringTransport;

    use super::*;

    fn connected() -> (MemcacheProtocol, Rc<StringTransport>) {
        let mut protocol = MemcacheProtocol::new();
        let transport = StringTransport::new();
        protocol.connection_made(transport.clone());
        (protocol, transport)
    }

    /// Records the answer of a request, as Python shows it, or its failure.
    fn outcome(d: &Deferred<Answer>) -> Rc<RefCell<String>> {
        let seen = Rc::new(RefCell::new("waiting".to_owned()));
        let (ok, err) = (Rc::clone(&seen), Rc::clone(&seen));
        d.add_callbacks(
            move |answer: Answer| {
                *ok.borrow_mut() = answer.python_repr();
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                *err.borrow_mut() = format!("error {}", failure.error());
                Ok(())
            },
        );
        seen
    }

    #[test]
    fn set_fires_with_the_key_on_stored() {
        let (mut protocol, transport) = connected();
        let set = outcome(&protocol.set(b"a", b"1"));
        assert_eq!(transport.value(), b"set a 0 0 1\r\n1\r\n");
        protocol.data_received(b"STORED\r\n");
        assert_eq!(*set.borrow(), "'a'");
    }

    #[test]
    fn get_fires_with_the_key_and_the_raw_value() {
        let (mut protocol, _transport) = connected();
        let got = outcome(&protocol.get(b"a"));
        protocol.data_received(b"VALUE a 0 5\r\n");
        protocol.data_received(b"abcde\r\n");
        protocol.data_received(b"END\r\n");
        assert_eq!(*got.borrow(), "('a', 'abcde')");
    }

    #[test]
    fn requests_take_turns_one_command_on_the_wire_at_a_time() {
        let (mut protocol, transport) = connected();
        let answers = [
            outcome(&protocol.set(b"a", b"1")),
            outcome(&protocol.get(b"a")),
            outcome(&protocol.set(b"a", b"2")),
            outcome(&protocol.get(b"a")),
        ];
        // Only the first is written; the other three wait for the lock.
        assert_eq!(transport.value(), b"set a 0 0 1\r\n1\r\n");
        assert!(protocol.lock.locked());
        assert_eq!(protocol.lock.waiting(), 3);
        protocol.data_received(b"STORED\r\n");
        assert_eq!(transport.value(), b"set a 0 0 1\r\n1\r\nget a\r\n");
        // A reply in one-byte pieces, and the rest of the exchange.
        for byte in b"VALUE a 0 1\r\n1\r\nEND\r\n".chunks(1) {
            protocol.data_received(byte);
        }
        protocol.data_received(b"STORED\r\n");
        protocol.data_received(b"VALUE a 0 1\r\n2\r\nEND\r\n");
        assert_eq!(
            transport.value(),
            b"set a 0 0 1\r\n1\r\nget a\r\nset a 0 0 1\r\n2\r\nget a\r\n"
        );
        let answers: Vec<String> = answers.iter().map(|a| a.borrow().clone()).collect();
        assert_eq!(answers, ["'a'", "('a', '1')", "'a'", "('a', '2')"]);
        assert!(!protocol.lock.locked());
    }

    #[test]
    fn a_missing_key_has_no_value_not_the_last_one() {
        let (mut protocol, _transport) = connected();
        let first = outcome(&protocol.get(b"a"));
        let missing = outcome(&protocol.get(b"nokey"));
        protocol.data_received(b"VALUE a 0 1\r\n1\r\nEND\r\nEND\r\n");
        assert_eq!(*first.borrow(), "('a', '1')");
        assert_eq!(*missing.borrow(), "('nokey', None)");
    }

    #[test]
    fn errors_fail_the_request_and_the_next_one_goes_on() {
        let (mut protocol, transport) = connected();
        let failed = outcome(&protocol.set(b"a", b"1"));
        let next = outcome(&protocol.get(b"a"));
        protocol.data_received(b"SERVER_ERROR out of memory storing object\r\n");
        assert_eq!(
            *failed.borrow(),
            "error answered SERVER_ERROR out of memory storing object"
        );
        assert_eq!(transport.value(), b"set a 0 0 1\r\n1\r\nget a\r\n");
        protocol.data_received(b"END\r\n");
        assert_eq!(*next.borrow(), "('a', None)");
    }

    #[test]
    fn an_unexpected_reply_or_a_lost_connection_fails_every_request() {
        let (mut protocol, transport) = connected();
        let first = outcome(&protocol.set(b"a", b"1"));
        let second = outcome(&protocol.get(b"a"));
        protocol.data_received(b"NOT_STORED\r\n");
        assert_eq!(*first.borrow(), "error answered NOT_STORED");
        assert_eq!(
            *second.borrow(),
            "error closed the connection before answering"
        );
        assert!(transport.aborted());

        let (mut protocol, _transport) = connected();
        let first = outcome(&protocol.get(b"a"));
        let second = outcome(&protocol.get(b"b"));
        protocol.connection_lost(&DisconnectReason::Lost("reset".to_owned()));
        assert_eq!(
            *first.borrow(),
            "error closed the connection before answering"
        );
        assert_eq!(
            *second.borrow(),
            "error closed the connection before answering"
        );
    }
}
