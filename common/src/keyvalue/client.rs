//! The client of the key-value server: each request a Deferred, answered in the order sent.
//!
//! The server answers one line per request, in order, so one queue of waiting requests per
//! connection is enough to match answers to requests: each reply line goes to the oldest request.
//! (The training's client kept a queue per command, and its first version did not take a miss off
//! its queue, so that every later answer went to the wrong caller.) A miss fails the request with
//! [`ClientError::NotFound`], Python's `KeyError`: its message is the key in quotes, `'b'`.
//!
//! Nothing waits forever: when the connection is lost, every waiting request fails, and so does
//! every later one; with a timeout, a server that stops answering for that long fails every waiting
//! request and the connection is closed (later answers could no longer be matched to requests).
//!
//! [`KeyValueClient`] is a [`Protocol`] to connect with a
//! [`ClientCreator`](crate::protocol::ClientCreator): a cheap handle, whose clones all speak for
//! the same connection.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::protocol::{Reply, Request, valid_key, valid_value};
use crate::basic::{LineHandler, LineReceiver, Lines};
use crate::defer::{Deferred, Failure, fail};
use crate::protocol::{DisconnectReason, Protocol, RequestQueue, Transport, WaitingRequest};
use crate::reactor::Reactor;

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The key is not in the store (the training's `KeyError`).
    NotFound(Vec<u8>),
    /// The key or value cannot be sent: an empty or spaced key, an empty value, or a CR or LF that
    /// would end the request's line early.
    Invalid(String),
    /// The server refused the request (`ERROR`, `CLIENT_ERROR …`).
    Refused(String),
    /// The server answered something that does not answer this request.
    Unexpected(String),
    /// The connection was lost (or never made) before the answer came.
    ConnectionLost(String),
    /// No answer came within the timeout.
    Timeout(Duration),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::NotFound(key) => write!(f, "'{}'", String::from_utf8_lossy(key)),
            ClientError::Invalid(why) => write!(f, "{why}"),
            ClientError::Refused(reply) => write!(f, "the server refused the request: {reply}"),
            ClientError::Unexpected(reply) => {
                write!(f, "unexpected answer from the server: {reply}")
            }
            ClientError::ConnectionLost(why) => write!(f, "no answer: {why}"),
            ClientError::Timeout(limit) => {
                write!(f, "no answer from the server within {:?}", limit)
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// A request sent and not yet answered.
enum Waiting {
    Get(Deferred<Vec<u8>>),
    Set(Deferred<()>),
    Delete(Deferred<()>),
}

impl WaitingRequest for Waiting {
    type Error = ClientError;

    fn fail(self, error: ClientError) {
        let _ = match self {
            Waiting::Get(d) => d.errback(Failure::new(error)),
            Waiting::Set(d) | Waiting::Delete(d) => d.errback(Failure::new(error)),
        };
    }

    fn connection_lost(why: String) -> ClientError {
        ClientError::ConnectionLost(why)
    }

    fn timed_out(limit: Duration) -> ClientError {
        ClientError::Timeout(limit)
    }
}

impl Waiting {
    /// Fires with what `reply` says, if it answers this kind of request.
    fn answer(self, reply: Option<Reply>, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        match (self, reply) {
            (Waiting::Get(d), Some(Reply::Value(_, value))) => {
                let _ = d.callback(value);
            }
            (Waiting::Set(d), Some(Reply::Stored))
            | (Waiting::Delete(d), Some(Reply::Deleted(_))) => {
                let _ = d.callback(());
            }
            (
                waiting @ (Waiting::Get(_) | Waiting::Delete(_)),
                Some(Reply::GetNotFound(key) | Reply::DelNotFound(key)),
            ) => waiting.fail(ClientError::NotFound(key)),
            (waiting, Some(Reply::Error | Reply::ClientError(_))) => {
                waiting.fail(ClientError::Refused(text))
            }
            (waiting, _) => waiting.fail(ClientError::Unexpected(text)),
        }
    }
}

/// Collects the reply lines as the framing finds them; they are handled once the framing is done,
/// so that callbacks may send new requests.
struct Collector {
    lines: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl LineHandler for Collector {
    fn line_received(&mut self, line: &[u8], _lines: &mut Lines) {
        self.lines.borrow_mut().push(line.to_vec());
    }

    /// A client reads the server's replies whatever it still has to send: holding them back could
    /// leave it and the server each waiting for the other. (Nor would it be resumed: the reactor's
    /// `resume_producing` goes to [`KeyValueClient`], which frames with this receiver but does not
    /// pass that on.)
    fn holds_while_unread(&self) -> bool {
        false
    }
}

struct Inner {
    framing: RefCell<LineReceiver<Collector>>,
    received: Rc<RefCell<Vec<Vec<u8>>>>,
    requests: Rc<RequestQueue<Waiting>>,
}

/// A connection to a key-value server. Clones are handles to the same connection.
#[derive(Clone)]
pub struct KeyValueClient {
    inner: Rc<Inner>,
}

impl KeyValueClient {
    /// A client to connect (with a [`ClientCreator`](crate::protocol::ClientCreator)); with a
    /// `timeout`, a server silent that long while requests wait fails them.
    pub fn new(reactor: &Reactor, timeout: Option<Duration>) -> KeyValueClient {
        let received = Rc::new(RefCell::new(Vec::new()));
        KeyValueClient {
            inner: Rc::new(Inner {
                framing: RefCell::new(LineReceiver::new(Collector {
                    lines: Rc::clone(&received),
                })),
                received,
                requests: RequestQueue::new(reactor, timeout),
            }),
        }
    }

    /// The value of `key`; a miss fails with [`ClientError::NotFound`].
    pub fn get(&self, key: &[u8]) -> Deferred<Vec<u8>> {
        if !valid_key(key) {
            return fail(Failure::new(invalid_key(key)));
        }
        let d = Deferred::new();
        self.send(Request::Get(key.to_vec()), Waiting::Get(d.clone()));
        d
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: &[u8], value: &[u8]) -> Deferred<()> {
        if !valid_key(key) {
            return fail(Failure::new(invalid_key(key)));
        }
        if !valid_value(value) {
            return fail(Failure::new(ClientError::Invalid(
                "a value must not be empty, hold CR or LF, or start or end with whitespace"
                    .to_owned(),
            )));
        }
        let d = Deferred::new();
        self.send(
            Request::Set(key.to_vec(), value.to_vec()),
            Waiting::Set(d.clone()),
        );
        d
    }

    /// Deletes `key`; a miss fails with [`ClientError::NotFound`].
    pub fn delete(&self, key: &[u8]) -> Deferred<()> {
        if !valid_key(key) {
            return fail(Failure::new(invalid_key(key)));
        }
        let d = Deferred::new();
        self.send(Request::Delete(key.to_vec()), Waiting::Delete(d.clone()));
        d
    }

    /// Closes the connection once what was sent has gone.
    pub fn close(&self) {
        self.inner.requests.close();
    }

    /// How many requests wait for their answers.
    pub fn waiting(&self) -> usize {
        self.inner.requests.len()
    }

    fn send(&self, request: Request, waiting: Waiting) {
        self.inner
            .requests
            .send(&[&request.to_line(), b"\r\n"], waiting);
    }
}

fn invalid_key(key: &[u8]) -> ClientError {
    ClientError::Invalid(format!(
        "not a key: {:?} (a key is one word, without whitespace)",
        String::from_utf8_lossy(key)
    ))
}

impl Protocol for KeyValueClient {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.inner.requests.connection_made(Rc::clone(&transport));
        self.inner.framing.borrow_mut().connection_made(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.inner.framing.borrow_mut().data_received(data);
        let lines = std::mem::take(&mut *self.inner.received.borrow_mut());
        for line in lines {
            // An answer nobody waits for (a timed-out request's, say) is dropped.
            if let Some(oldest) = self.inner.requests.pop_oldest() {
                oldest.answer(Reply::parse(&line), &line);
            }
        }
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.inner.requests.connection_lost(reason);
    }
}

impl fmt::Debug for KeyValueClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValueClient")
            .field("waiting", &self.waiting())
            .field("lost", &self.inner.requests.lost())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::StringTransport;

    fn connected() -> (Reactor, KeyValueClient, Rc<StringTransport>) {
        let reactor = Reactor::with_paused_clock().unwrap();
        let mut client = KeyValueClient::new(&reactor, Some(Duration::from_secs(5)));
        let transport = StringTransport::new();
        client.connection_made(transport.clone());
        (reactor, client, transport)
    }

    /// Records how a Deferred ended.
    fn outcome<T: fmt::Debug + 'static>(d: &Deferred<T>) -> Rc<RefCell<String>> {
        let seen = Rc::new(RefCell::new(String::from("waiting")));
        let (ok, err) = (Rc::clone(&seen), Rc::clone(&seen));
        d.add_callbacks(
            move |value| {
                *ok.borrow_mut() = format!("{value:?}");
                Ok::<(), Failure>(())
            },
            move |failure: Failure| {
                *err.borrow_mut() = format!("error {}", failure.error());
                Ok::<(), Failure>(())
            },
        );
        seen
    }

    #[test]
    fn answers_go_to_requests_in_order() {
        let (_reactor, mut client, transport) = connected();
        let set = outcome(&client.set(b"a", b"two words"));
        let miss = outcome(&client.get(b"b"));
        let get = outcome(&client.get(b"a"));
        let del = outcome(&client.delete(b"c"));
        assert_eq!(
            transport.value(),
            b"set a two words\r\nget b\r\nget a\r\ndelete c\r\n"
        );
        client.data_received(b"STORED\r\nGET_NOT_FOUND b\r\nVALUE a two");
        assert_eq!(*set.borrow(), "()");
        assert_eq!(*miss.borrow(), "error 'b'");
        assert_eq!(*get.borrow(), "waiting");
        client.data_received(b" words\r\nDEL_NOT_FOUND c\r\n");
        assert_eq!(*get.borrow(), format!("{:?}", b"two words".to_vec()));
        assert_eq!(*del.borrow(), "error 'c'");
        assert_eq!(client.waiting(), 0);
    }

    #[test]
    fn errors_and_bad_input_fail_the_request() {
        let (_reactor, mut client, transport) = connected();
        let refused = outcome(&client.get(b"a"));
        client.data_received(b"ERROR\r\n");
        assert!(refused.borrow().starts_with("error the server refused"));
        let injected = outcome(&client.set(b"a", b"x\r\nget b"));
        assert!(injected.borrow().starts_with("error a value must not"));
        let spaced = outcome(&client.get(b"a b"));
        assert!(spaced.borrow().starts_with("error not a key"));
        assert_eq!(transport.value(), b"get a\r\n");
    }

    #[test]
    fn a_lost_connection_fails_every_waiting_request_and_later_ones() {
        let (_reactor, mut client, _transport) = connected();
        let first = outcome(&client.get(b"a"));
        let second = outcome(&client.set(b"a", b"1"));
        client.connection_lost(&DisconnectReason::Lost("reset".to_owned()));
        assert!(
            first
                .borrow()
                .starts_with("error no answer: Connection to the other side")
        );
        assert!(second.borrow().starts_with("error no answer"));
        let later = outcome(&client.delete(b"a"));
        assert!(later.borrow().starts_with("error no answer"));
    }

    #[test]
    fn a_silent_server_times_out() {
        let (reactor, client, transport) = connected();
        let first = outcome(&client.get(b"a"));
        let second = outcome(&client.get(b"b"));
        let stopper = reactor.clone();
        reactor.call_later(Duration::from_secs(6), move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        assert_eq!(*first.borrow(), "error no answer from the server within 5s");
        assert_eq!(
            *second.borrow(),
            "error no answer from the server within 5s"
        );
        assert!(transport.aborted());
    }
}
