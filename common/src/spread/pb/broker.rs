//! The Broker: one per connection and side, the PB state machine of both the client and the
//! server.
//!
//! Its life on a connection:
//!
//! 1. The dialect exchange (spec 2.9). The server offers `("pb" "none")`; the client answers with
//!    the first it knows, in the server's order, and switches at once; the server switches when
//!    it reads the choice. Both then send `("version" 6)`. The switch happens between two
//!    expressions of one read, which is why the decoder changes dialect between items.
//! 2. Messages (spec 4.3), each one Banana list: calls to our objects (`message`), answers and
//!    errors for our calls (`answer`, `error`), released references (`decref`).
//! 3. The loss of the connection: every call still waiting fails with [`PBConnectionLost`], every
//!    exported object hears [`Referenceable::logout`], and the proxies of this connection are dead.
//!
//! Everything lives behind one `Rc<Core>` shared by the protocol, the proxies and the call
//! contexts. Nothing below holds a `RefCell` borrow while it runs a program's code (a called
//! method, a Deferred's callbacks, a logout, a dropped proxy's decref), because that code may
//! call back into the broker: make a call, export an object, drop a reference.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use super::failure::{
    DeadReferenceError, PBConnectionLost, RemoteError, TooManyCalls, next_failure_count,
};
use super::reference::{Answer, CallContext, Proxy, Referenceable, RemoteReference};
use super::{MAX_BROKER_REFS, MAX_PENDING_CALLS, PROTOCOL_VERSION};
use crate::defer::{Deferred, Failure, fail};
use crate::log;
use crate::protocol::{Address, DisconnectReason, HIGH_WATER, Protocol, Transport};
use crate::spread::banana::{BananaError, Decoder, Dialect, Int, Item, Writer};
use crate::spread::jelly::{JellyError, ObjectId, SecurityOptions, Value, jelly, unjelly};

/// The dialects a server offers, in its order of preference.
const OFFER: [&[u8]; 2] = [b"pb", b"none"];

/// What a Twisted server logs when the client chooses a dialect it did not offer.
const UNKNOWN_CHOICE: &str =
    "The client selected a protocol the server didn't suggest and doesn't know: disconnecting.";

/// What a Twisted client logs when the server offers no dialect it knows.
const NOTHING_KNOWN_OFFERED: &str =
    "The client doesn't speak any of the protocols offered by the server: disconnecting.";

/// How many times a broker refuses to export more than [`MAX_BROKER_REFS`] objects before it
/// closes the connection (Twisted closes on the fourth).
const MAX_REFUSALS: u32 = 4;

/// What a client's broker calls with the server's root once the connection is ready.
pub(super) type OnReady = Box<dyn FnOnce(RemoteReference)>;

/// Which end of the connection a broker is: it decides only who speaks first and who has a root.
pub(super) enum Role {
    /// The side that accepted: offers the dialects, and serves `root`.
    Server { root: Rc<dyn Referenceable> },
    /// The side that connected: chooses the dialect, then hands the root's proxy to `ready`.
    Client { ready: RefCell<Option<OnReady>> },
}

/// One object we exported, and how many references to it the peer holds.
struct Exported {
    object: Rc<dyn Referenceable>,
    count: u32,
}

/// What one broker keeps between messages.
#[derive(Default)]
struct State {
    /// The last request id we used for a call; the next call takes the next one.
    last_request: i64,
    /// Our calls that wait for an answer, by request id.
    waiting: HashMap<i64, Deferred<Value>>,
    /// The peer's calls whose answers we owe (their methods answered with a Deferred).
    owed: usize,
    /// Our exported objects by luid, and the luid of each object (by its address), so that an
    /// object exported twice keeps its luid.
    exported: HashMap<u32, Exported>,
    luids: HashMap<*const (), u32>,
    last_luid: u32,
    /// How many exports were refused for the limit.
    refusals: u32,
    /// The live proxies for the peer's objects, by luid.
    proxies: HashMap<u32, Weak<Proxy>>,
    /// What to run once the connection is gone.
    on_disconnect: Vec<Box<dyn FnOnce()>>,
}

/// The broker of one connection.
pub(super) struct Core {
    role: Role,
    security: Rc<SecurityOptions>,
    /// The log's system for this connection: `Broker,0,127.0.0.1` or `Broker,client`.
    system: String,
    transport: RefCell<Option<Rc<dyn Transport>>>,
    peer: RefCell<Option<Address>>,
    decoder: RefCell<Decoder>,
    /// The dialect in use, once chosen.
    dialect: Cell<Option<Dialect>>,
    /// Between `connection_made` and `connection_lost`, and not closing.
    alive: Cell<bool>,
    /// We stopped reading: our answers are not being taken.
    paused: Cell<bool>,
    /// While the messages of one read are handled, what we send is gathered here and written
    /// once at the end (or as soon as it passes [`HIGH_WATER`]): a hundred answers to a hundred
    /// pipelined calls go out in one write, not a hundred.
    corked: RefCell<Option<Vec<u8>>>,
    state: RefCell<State>,
}

impl Core {
    /// A broker for a new connection.
    pub(super) fn new(role: Role, security: Rc<SecurityOptions>, system: String) -> Rc<Core> {
        Rc::new(Core {
            role,
            security,
            system,
            transport: RefCell::new(None),
            peer: RefCell::new(None),
            decoder: RefCell::new(Decoder::new()),
            dialect: Cell::new(None),
            alive: Cell::new(false),
            paused: Cell::new(false),
            corked: RefCell::new(None),
            state: RefCell::new(State::default()),
        })
    }

    /// Whether calls can still go out on this connection.
    pub(super) fn is_alive(&self) -> bool {
        self.alive.get()
    }

    /// The other end of the connection.
    pub(super) fn peer(&self) -> Address {
        self.peer.borrow().clone().unwrap_or(Address::Unix(None))
    }

    /// Closes the connection once what was written has gone.
    pub(super) fn lose_connection(&self) {
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.lose_connection();
        }
    }

    fn connection_made(self: &Rc<Self>, transport: Rc<dyn Transport>) {
        *self.peer.borrow_mut() = Some(transport.get_peer());
        *self.transport.borrow_mut() = Some(transport);
        self.alive.set(true);
        if let Role::Server { .. } = self.role {
            self.send_with(Dialect::None, |out| {
                out.list_header(OFFER.len())?;
                OFFER.iter().try_for_each(|word| out.bytes(word))
            });
        }
    }

    fn data_received(self: &Rc<Self>, data: &[u8]) {
        if !self.alive.get() {
            return;
        }
        self.decoder.borrow_mut().feed(data);
        self.process();
    }

    /// Handles the complete expressions buffered, until there are none, the connection closes, or
    /// the transport holds more of our output than it should: then we stop reading, and go on
    /// when the reactor tells us that the peer took it (`resume_producing`).
    fn process(self: &Rc<Self>) {
        // Only the outermost `process` uncorks: a program's code run from here cannot start
        // another, but a resume could come while we are at it.
        let outermost = self.corked.borrow().is_none();
        if outermost {
            *self.corked.borrow_mut() = Some(Vec::new());
        }
        self.handle_buffered();
        if outermost {
            self.uncork();
        }
    }

    fn handle_buffered(self: &Rc<Self>) {
        while self.alive.get() && !self.paused.get() {
            let next = self.decoder.borrow_mut().next_item();
            match next {
                None => break,
                Some(Ok(item)) => self.expression_received(item),
                Some(Err(error)) => self.fatal(&error.to_string()),
            }
            let buffered = self.transport.borrow().as_ref().map_or(0, |t| t.buffered());
            if buffered > HIGH_WATER {
                self.pause();
            }
        }
    }

    fn pause(&self) {
        self.paused.set(true);
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.pause_producing();
        }
    }

    fn resume(self: &Rc<Self>) {
        self.paused.set(false);
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.resume_producing();
        }
        self.process();
    }

    /// Logs why the connection must end, in one line (the exception Twisted would log, or its own
    /// sentence), and closes it. The calls still waiting fail when the reactor reports the
    /// connection lost.
    fn fatal(&self, why: &str) {
        log::msg_from(&self.system, why);
        self.alive.set(false);
        self.flush_corked();
        self.lose_connection();
    }

    fn expression_received(self: &Rc<Self>, item: Item) {
        if self.dialect.get().is_none() {
            match self.role {
                Role::Server { .. } => self.client_chose(item),
                Role::Client { .. } => self.server_offered(item),
            }
            return;
        }
        let Item::List(mut fields) = item else {
            return self.fatal("ProtocolError: Non-list expression received.");
        };
        if fields.is_empty() {
            return self.fatal("IndexError: list index out of range");
        }
        let Item::Bytes(command) = fields.remove(0) else {
            return self.fatal("ProtocolError: a message's command is not a word");
        };
        match command.as_slice() {
            b"version" => self.proto_version(fields),
            b"message" => self.proto_message(fields),
            b"answer" => self.proto_answer(fields),
            b"error" => self.proto_error(fields),
            b"decref" => self.proto_decref(fields),
            b"didNotUnderstand" => log::msg_from(
                &self.system,
                "the peer did not understand one of our messages",
            ),
            other => self.fatal(&format!(
                "ProtocolError: unknown command {:?}",
                String::from_utf8_lossy(other)
            )),
        }
    }

    /// Server: the client's first expression is its choice of dialect.
    fn client_chose(self: &Rc<Self>, item: Item) {
        match item {
            Item::Bytes(word) if OFFER.contains(&word.as_slice()) => {
                self.switch_to(dialect_named(&word));
            }
            _ => self.fatal(UNKNOWN_CHOICE),
        }
    }

    /// Client: the server's first expression is its offer; we take the first we know, in its
    /// order, and say so in a plain string.
    fn server_offered(self: &Rc<Self>, item: Item) {
        let choice = match item {
            Item::List(offer) => offer.into_iter().find_map(|entry| match entry {
                Item::Bytes(word) if OFFER.contains(&word.as_slice()) => Some(word),
                _ => None,
            }),
            _ => None,
        };
        let Some(word) = choice else {
            return self.fatal(NOTHING_KNOWN_OFFERED);
        };
        self.send_with(Dialect::None, |out| out.bytes(&word));
        self.switch_to(dialect_named(&word));
        let ready = match &self.role {
            Role::Client { ready } => ready.borrow_mut().take(),
            Role::Server { .. } => None,
        };
        if let Some(ready) = ready {
            ready(RemoteReference::new(Proxy::named(self, b"root")));
        }
    }

    /// Speaks `dialect` from now on, in both directions, and announces our version.
    fn switch_to(&self, dialect: Dialect) {
        self.decoder.borrow_mut().set_dialect(dialect);
        self.dialect.set(Some(dialect));
        self.send(|out| {
            out.list_header(2)?;
            out.bytes(b"version")?;
            out.int(PROTOCOL_VERSION);
            Ok(())
        });
    }

    fn proto_version(&self, fields: Vec<Item>) {
        match fields.as_slice() {
            [version] if small_int(version) == Some(PROTOCOL_VERSION) => {}
            [version] => self.fatal(&format!(
                "ProtocolError: Version Incompatibility: {PROTOCOL_VERSION} {}",
                item_text(version)
            )),
            _ => self.fatal("TypeError: version takes one field"),
        }
    }

    /// `("message" reqID objID name answerWanted args kwargs)`: a call on one of our objects.
    fn proto_message(self: &Rc<Self>, fields: Vec<Item>) {
        let Ok([request, object, name, wanted, args, kwargs]) = <[Item; 6]>::try_from(fields)
        else {
            return self.fatal("TypeError: message takes six fields");
        };
        let (Some(request), Some(wanted), Item::Bytes(name)) =
            (small_int(&request), small_int(&wanted), &name)
        else {
            return self.fatal("ProtocolError: malformed message fields");
        };
        let Some(target) = object_key(&object) else {
            return self.fatal("ProtocolError: malformed object id");
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let call = Incoming {
            core: Rc::clone(self),
            request,
            wanted: wanted != 0,
            context: CallContext::new(Rc::clone(self)),
        };
        if self.state.borrow().owed >= MAX_PENDING_CALLS {
            return call.answer(Err(RemoteError::pb_error(
                "Too many calls awaiting answers on this connection.",
            )));
        }
        let Some(object) = self.local_object(&target) else {
            return call.answer(Err(RemoteError::pb_error("Invalid Object ID")));
        };
        let (args, kwargs) = match (self.unjelly(args), self.unjelly(kwargs)) {
            (Ok(Value::Tuple(args) | Value::List(args)), Ok(Value::Dict(kwargs))) => (args, kwargs),
            (Err(error), _) | (_, Err(error)) => return call.answer(Err(jelly_failure(&error))),
            _ => {
                return call.answer(Err(RemoteError::exception(
                    "builtins.TypeError",
                    "arguments must be a tuple and keyword arguments a dictionary",
                )));
            }
        };
        // The peer's references in the arguments live at least as long as the call; a method that
        // wants to keep one takes it with `CallContext::remote_reference`.
        let mut held = Vec::new();
        args.iter()
            .for_each(|arg| self.hold_remotes(arg, &mut held));
        kwargs
            .iter()
            .for_each(|(_, arg)| self.hold_remotes(arg, &mut held));
        let answer = object.remote_message(&name, args, kwargs, &call.context);
        match answer {
            Answer::Now(result) => call.answer(result),
            Answer::Later(deferred) => {
                self.state.borrow_mut().owed += 1;
                deferred.add_both(move |outcome: Result<Value, Failure>| {
                    let owed = &mut call.core.state.borrow_mut().owed;
                    *owed = owed.saturating_sub(1);
                    call.answer(outcome.map_err(|failure| remote_error_of(&failure)));
                    Ok::<(), Failure>(())
                });
            }
        }
        drop(held);
    }

    /// `("answer" reqID value)`: the result of one of our calls.
    fn proto_answer(self: &Rc<Self>, fields: Vec<Item>) {
        let Some((deferred, value)) = self.settle(fields) else {
            return;
        };
        let mut held = Vec::new();
        self.hold_remotes(&value, &mut held);
        let _ = deferred.callback(value);
        drop(held);
    }

    /// `("error" reqID failure)`: the failure of one of our calls.
    fn proto_error(self: &Rc<Self>, fields: Vec<Item>) {
        if let Some((deferred, value)) = self.settle(fields) {
            let _ = deferred.errback(Failure::new(RemoteError::from_value(&value)));
        }
    }

    /// The waiting call an `answer` or `error` is for, and its payload. An id we never used, or a
    /// payload we cannot read, closes the connection (the call then fails as lost).
    fn settle(&self, fields: Vec<Item>) -> Option<(Deferred<Value>, Value)> {
        let Ok([request, payload]) = <[Item; 2]>::try_from(fields) else {
            self.fatal("TypeError: an answer takes two fields");
            return None;
        };
        let Some(request) = small_int(&request) else {
            self.fatal("ProtocolError: malformed request id");
            return None;
        };
        if !self.state.borrow().waiting.contains_key(&request) {
            self.fatal(&format!("KeyError: {request}"));
            return None;
        }
        let value = match self.unjelly(payload) {
            Ok(value) => value,
            Err(error) => {
                self.fatal(&format!("unreadable answer: {}", describe(&error)));
                return None;
            }
        };
        let deferred = self.state.borrow_mut().waiting.remove(&request)?;
        Some((deferred, value))
    }

    /// `("decref" luid)`: the peer dropped one reference to an object we exported. At zero we
    /// forget the object, and it hears that it was let go (an avatar's logout).
    fn proto_decref(&self, fields: Vec<Item>) {
        let luid = match fields.as_slice() {
            [luid] => small_int(luid).and_then(|luid| u32::try_from(luid).ok()),
            _ => None,
        };
        let Some(luid) = luid else {
            return self.fatal("TypeError: decref takes one object id");
        };
        let released = {
            let mut state = self.state.borrow_mut();
            let Some(entry) = state.exported.get_mut(&luid) else {
                drop(state);
                return self.fatal(&format!("KeyError: {luid}"));
            };
            entry.count -= 1;
            if entry.count > 0 {
                return;
            }
            let entry = state.exported.remove(&luid);
            if let Some(entry) = &entry {
                state.luids.remove(&address_of(&entry.object));
            }
            entry
        };
        if let Some(entry) = released {
            entry.object.logout();
        }
    }

    fn connection_lost(&self) {
        self.alive.set(false);
        let state = std::mem::take(&mut *self.state.borrow_mut());
        for (_, deferred) in state.waiting {
            let _ = deferred.errback(Failure::new(PBConnectionLost));
        }
        for callback in state.on_disconnect {
            callback();
        }
        for (_, entry) in state.exported {
            entry.object.logout();
        }
        *self.transport.borrow_mut() = None;
    }

    /// The object a call is addressed to: the root by name (on a server), or an exported one.
    fn local_object(&self, target: &ObjectId) -> Option<Rc<dyn Referenceable>> {
        match (target, &self.role) {
            (ObjectId::Name(name), Role::Server { root }) if name == b"root" => {
                Some(Rc::clone(root))
            }
            (ObjectId::Luid(luid), _) => self
                .state
                .borrow()
                .exported
                .get(luid)
                .map(|entry| Rc::clone(&entry.object)),
            _ => None,
        }
    }

    /// The object `value` names, if it is `("local" id)`: one of ours, handed back.
    pub(super) fn local_value(&self, value: &Value) -> Option<Rc<dyn Referenceable>> {
        match value {
            Value::Local(target) => self.local_object(target),
            _ => None,
        }
    }

    /// Exports `object`: its luid, the same as before if it is exported already, counted once
    /// more. `None` when the broker already exports as many objects as it may, or the connection
    /// is gone.
    pub(super) fn export(&self, object: Rc<dyn Referenceable>) -> Option<u32> {
        // After the loss nothing would ever release it.
        if !self.alive.get() {
            return None;
        }
        let mut state = self.state.borrow_mut();
        let address = address_of(&object);
        if let Some(&luid) = state.luids.get(&address) {
            if let Some(entry) = state.exported.get_mut(&luid) {
                entry.count += 1;
            }
            return Some(luid);
        }
        let named = usize::from(matches!(self.role, Role::Server { .. }));
        if state.exported.len() + named >= MAX_BROKER_REFS {
            state.refusals += 1;
            if state.refusals >= MAX_REFUSALS {
                drop(state);
                self.fatal("Error: Maximum PB reference count exceeded, for the fourth time.");
            }
            return None;
        }
        state.last_luid += 1;
        let luid = state.last_luid;
        state.luids.insert(address, luid);
        state.exported.insert(luid, Exported { object, count: 1 });
        Some(luid)
    }

    /// Finds or makes the proxy for each of the peer's objects in `value`, counting each mention,
    /// and keeps them in `held`.
    fn hold_remotes(self: &Rc<Self>, value: &Value, held: &mut Vec<Rc<Proxy>>) {
        match value {
            Value::Remote(luid) => held.push(self.import(*luid)),
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
                items.iter().for_each(|item| self.hold_remotes(item, held));
            }
            Value::FrozenSet(items) => items.iter().for_each(|item| self.hold_remotes(item, held)),
            Value::Dict(entries) => entries.iter().for_each(|(key, item)| {
                self.hold_remotes(key, held);
                self.hold_remotes(item, held);
            }),
            Value::Reference(_, inner) | Value::Copy(_, inner) => self.hold_remotes(inner, held),
            _ => {}
        }
    }

    /// The proxy for the peer's object `luid`, one more reference counted on it.
    fn import(self: &Rc<Self>, luid: u32) -> Rc<Proxy> {
        let live = self
            .state
            .borrow()
            .proxies
            .get(&luid)
            .and_then(Weak::upgrade);
        let proxy = match live {
            Some(proxy) => proxy,
            None => {
                let proxy = Proxy::counted(self, luid);
                let weak = Rc::downgrade(&proxy);
                self.state.borrow_mut().proxies.insert(luid, weak);
                proxy
            }
        };
        proxy.count_one_more();
        proxy
    }

    /// The live proxy for the peer's object in `value` (`("remote" luid)`).
    pub(super) fn proxy_for(&self, value: &Value) -> Option<Rc<Proxy>> {
        match value {
            Value::Remote(luid) => self.state.borrow().proxies.get(luid)?.upgrade(),
            _ => None,
        }
    }

    /// The last handle on the proxy for `luid` went, holding `count` references: tell the peer.
    pub(super) fn release(&self, luid: u32, count: u32) {
        if let Ok(mut state) = self.state.try_borrow_mut()
            && state
                .proxies
                .get(&luid)
                .is_some_and(|weak| weak.strong_count() == 0)
        {
            state.proxies.remove(&luid);
        }
        if !self.alive.get() {
            return;
        }
        for _ in 0..count {
            self.send(|out| {
                out.list_header(2)?;
                out.bytes(b"decref")?;
                out.int(i64::from(luid));
                Ok(())
            });
        }
    }

    /// Runs `callback` once the connection is gone (at once if it is).
    pub(super) fn notify_on_disconnect(&self, callback: Box<dyn FnOnce()>) {
        if self.alive.get() {
            self.state.borrow_mut().on_disconnect.push(callback);
        } else {
            callback();
        }
    }

    /// Calls `name` on the peer's object `target`; the Deferred of its answer, or `None` when no
    /// answer is wanted.
    pub(super) fn call(
        &self,
        target: &ObjectId,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(Value, Value)>,
        answer_wanted: bool,
    ) -> Option<Deferred<Value>> {
        if !self.alive.get() {
            return answer_wanted.then(|| fail(Failure::new(DeadReferenceError)));
        }
        let request = {
            let mut state = self.state.borrow_mut();
            if answer_wanted && state.waiting.len() >= MAX_PENDING_CALLS {
                return Some(fail(Failure::new(TooManyCalls)));
            }
            state.last_request += 1;
            state.last_request
        };
        let args = Value::Tuple(args);
        let kwargs = Value::Dict(kwargs);
        let message = self.encode(|out| {
            out.list_header(7).map_err(JellyError::Banana)?;
            out.bytes(b"message").map_err(JellyError::Banana)?;
            out.int(request);
            match target {
                ObjectId::Luid(luid) => out.int(i64::from(*luid)),
                ObjectId::Name(name) => out.bytes(name).map_err(JellyError::Banana)?,
            }
            out.bytes(name.as_bytes()).map_err(JellyError::Banana)?;
            out.int(i64::from(answer_wanted));
            jelly(&args, out)?;
            jelly(&kwargs, out)
        });
        // An argument that cannot be sent fails the call here, and nothing goes out.
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                return answer_wanted.then(|| fail(Failure::new(unsendable(&error))));
            }
        };
        let deferred = answer_wanted.then(|| {
            let deferred = Deferred::new();
            let waiting = deferred.clone();
            self.state.borrow_mut().waiting.insert(request, waiting);
            deferred
        });
        self.write(&message);
        deferred
    }

    /// Unjellies a payload with this broker's security options.
    fn unjelly(&self, item: Item) -> Result<Value, JellyError> {
        unjelly(item, &self.security)
    }

    /// Encodes one expression in the current dialect.
    fn encode(
        &self,
        build: impl FnOnce(&mut Writer<'_>) -> Result<(), JellyError>,
    ) -> Result<Vec<u8>, JellyError> {
        let mut out = Vec::new();
        let mut writer = Writer::new(&mut out, self.dialect.get().unwrap_or(Dialect::None));
        build(&mut writer)?;
        Ok(out)
    }

    /// Sends one expression made of Banana tokens only (no values to jelly).
    fn send(&self, build: impl FnOnce(&mut Writer<'_>) -> Result<(), BananaError>) {
        self.send_with(self.dialect.get().unwrap_or(Dialect::None), build);
    }

    fn send_with(
        &self,
        dialect: Dialect,
        build: impl FnOnce(&mut Writer<'_>) -> Result<(), BananaError>,
    ) {
        let mut out = Vec::new();
        if build(&mut Writer::new(&mut out, dialect)).is_ok() {
            self.write(&out);
        }
    }

    fn write(&self, bytes: &[u8]) {
        let full = match self.corked.borrow_mut().as_mut() {
            Some(corked) => {
                corked.extend_from_slice(bytes);
                corked.len() > HIGH_WATER
            }
            None => {
                if let Some(transport) = self.transport.borrow().as_ref() {
                    transport.write(bytes);
                }
                return;
            }
        };
        if full {
            self.flush_corked();
        }
    }

    /// Writes what was gathered while corked, and goes on gathering.
    fn flush_corked(&self) {
        let gathered = match self.corked.borrow_mut().as_mut() {
            Some(corked) if !corked.is_empty() => std::mem::take(corked),
            _ => return,
        };
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.write(&gathered);
        }
    }

    /// Writes what was gathered, and stops gathering.
    fn uncork(&self) {
        self.flush_corked();
        *self.corked.borrow_mut() = None;
    }

    /// Logs a failure we are about to send, as Twisted logs those that are not `pb.Error`s. A
    /// program that logs nowhere (the talk's pbecho server) shows it on stderr, as Twisted does
    /// when no log was started.
    fn log_failure(&self, error: &RemoteError) {
        let traceback = format!("Unhandled Error\nTraceback (most recent call last):\n{error}\n");
        if log::is_logging() {
            log::msg_from(&self.system, "Peer will receive following PB traceback:");
            log::msg_from(&self.system, traceback);
        } else {
            crate::errln!("Peer will receive following PB traceback:\n{traceback}");
        }
    }
}

/// A call of the peer's that we are answering.
struct Incoming {
    core: Rc<Core>,
    request: i64,
    wanted: bool,
    context: CallContext,
}

impl Incoming {
    /// Sends the call's answer, or its error, if the caller wants one. An answer that exported
    /// one object too many, or that cannot be sent, becomes an error.
    fn answer(&self, result: Result<Value, RemoteError>) {
        let core = &self.core;
        let error = match result {
            Ok(_) if self.context.refused() => {
                RemoteError::pb_error("Maximum PB reference count exceeded.")
            }
            Ok(value) => match core.encode(|out| {
                out.list_header(3).map_err(JellyError::Banana)?;
                out.bytes(b"answer").map_err(JellyError::Banana)?;
                out.int(self.request);
                jelly(&value, out)
            }) {
                Ok(bytes) => return self.send(&bytes),
                Err(error) => unsendable(&error),
            },
            Err(error) => error,
        };
        // As in Twisted, the errors a method raises on purpose (`pb.Error`s) are not logged; the
        // others are, whether or not the caller wants an answer.
        let logged = !error.is_pb_error();
        if logged {
            core.log_failure(&error);
        }
        let failure = error.to_value(next_failure_count(logged));
        if let Ok(bytes) = core.encode(|out| {
            out.list_header(3).map_err(JellyError::Banana)?;
            out.bytes(b"error").map_err(JellyError::Banana)?;
            out.int(self.request);
            jelly(&failure, out)
        }) {
            self.send(&bytes);
        }
    }

    fn send(&self, bytes: &[u8]) {
        if self.wanted && self.core.alive.get() {
            self.core.write(bytes);
        }
    }
}

/// The protocol the reactor drives: hands each event to the broker.
pub(super) struct BrokerProtocol(pub(super) Rc<Core>);

impl Protocol for BrokerProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.0.connection_made(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.0.data_received(data);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        self.0.connection_lost();
    }

    fn pause_producing(&mut self) {
        self.0.pause();
    }

    fn resume_producing(&mut self) {
        self.0.resume();
    }
}

/// The dialect named by one of the words we offer.
fn dialect_named(word: &[u8]) -> Dialect {
    if word == b"pb" {
        Dialect::Pb
    } else {
        Dialect::None
    }
}

/// An integer field that fits in an `i64`.
fn small_int(item: &Item) -> Option<i64> {
    match item {
        Item::Int(Int::Small(value)) => Some(*value),
        _ => None,
    }
}

/// A field's value for a log line.
fn item_text(item: &Item) -> String {
    match item {
        Item::Int(Int::Small(value)) => value.to_string(),
        Item::Int(Int::Big(value)) => value.to_string(),
        Item::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Item::Float(value) => value.to_string(),
        Item::List(_) => "a list".to_owned(),
    }
}

/// The object a message is addressed to: an integer luid, or a name such as `root`.
fn object_key(item: &Item) -> Option<ObjectId> {
    match item {
        Item::Bytes(name) => Some(ObjectId::Name(name.clone())),
        other => small_int(other)
            .and_then(|luid| u32::try_from(luid).ok())
            .map(ObjectId::Luid),
    }
}

/// An object's address: what tells one exported object from another.
fn address_of(object: &Rc<dyn Referenceable>) -> *const () {
    Rc::as_ptr(object) as *const ()
}

/// A jelly error in words.
fn describe(error: &JellyError) -> String {
    match error {
        JellyError::Insecure(why) | JellyError::Malformed(why) => why.clone(),
        JellyError::TooDeep => "too deeply nested".to_owned(),
        JellyError::Banana(error) => error.to_string(),
    }
}

/// Twisted's `BananaError` for a value that cannot be sent, its text without the exception's name
/// (`byte string is too long to send (655361)`), as the failure's value carries it.
fn unsendable(error: &JellyError) -> RemoteError {
    let text = match error {
        JellyError::Banana(error) => {
            let text = error.text();
            text.strip_prefix("BananaError: ")
                .unwrap_or(text)
                .to_owned()
        }
        other => describe(other),
    };
    RemoteError::exception("twisted.spread.banana.BananaError", text)
}

/// The failure that answers a call whose arguments could not be read (Twisted's
/// `InsecureJelly: b'module'` for a refused type).
fn jelly_failure(error: &JellyError) -> RemoteError {
    match error {
        JellyError::Insecure(why) => {
            RemoteError::exception("twisted.spread.jelly.InsecureJelly", why.as_str())
        }
        other => RemoteError::exception("builtins.ValueError", describe(other)),
    }
}

/// What a method's failed Deferred tells the caller: its [`RemoteError`] as it is, any other
/// error as a plain Python `Exception` with the error's text.
fn remote_error_of(failure: &Failure) -> RemoteError {
    match failure.downcast_ref::<RemoteError>() {
        Some(error) => error.clone(),
        None => RemoteError::exception("builtins.Exception", failure.error().to_string()),
    }
}
