//! The XML-RPC resource: Twisted's `twisted.web.xmlrpc.XMLRPC`, a page that answers POSTed calls.
//!
//! ```no_run
//! # use common::web::xmlrpc::{Fault, XmlRpc};
//! let server = XmlRpc::new();
//! server.add_method("hello", "Say hello.", |call| {
//!     call.expect_args(0)?;
//!     Ok("hello, world!".into())
//! });
//! server.add_method("fail", "Always fails.", |_call| Ok(Fault::new(7, "Out of cheese.").into()));
//! server.add_introspection();
//! ```
//!
//! A POST's body is read as a `methodCall`; the method's name finds the procedure (a dotted name,
//! `system.listMethods`, goes to the sub-handler put under its prefix); the procedure runs; its
//! outcome is written back as a `methodResponse`, at once or when its Deferred fires. Every answer
//! is a `200 OK` of type `text/xml; charset=utf-8` with its length, and every failure is a fault
//! in it:
//!
//! | what went wrong | fault |
//! |---|---|
//! | the body is not an XML-RPC call | 8002 `Can't deserialize input: ...` |
//! | no procedure of that name | 8001 `procedure NAME not found` |
//! | no sub-handler for the prefix | 8001 `no such subHandler PREFIX` |
//! | the procedure gave a fault, or failed with one | that fault |
//! | the procedure failed otherwise (or panicked) | 8002 `error`, and the failure is logged |
//! | the result cannot be written (`nil`, a 64-bit int) | 8002 `Can't serialize output: ...` |
//!
//! Only POST is answered: any other method that HTTP/1.0 knows (GET, HEAD) gets a 405 with
//! `Allow: POST`, and the others a 501. The resource is a leaf: every path below it is the same
//! endpoint.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method};

use super::procedure::{Call, Outcome, Procedure, ProcedureResult};
use super::read::parse_call;
use super::write::{write_fault, write_response};
use super::{Fault, Value, introspection};
use crate::defer::{Deferred, Failure, fail};
use crate::reactor::guard::catch_panic;
use crate::web::client::error_line;
use crate::web::{Render, RenderResult, Request, Resource};
use crate::{errln, log};

/// What separates a sub-handler's prefix from the rest of a method's name.
pub const SEPARATOR: char = '.';

/// The type of every answer.
const XML_TYPE: &str = "text/xml; charset=utf-8";

/// An XML-RPC server as a resource of a site: procedures by name, sub-handlers by prefix.
///
/// Cheap to clone: clones are the same server (the introspection procedures keep a clone of the
/// server they describe, and a sub-handler is a server of its own).
#[derive(Clone, Default)]
pub struct XmlRpc(Rc<Inner>);

#[derive(Default)]
struct Inner {
    /// The procedures, in the order they were added (`system.listMethods` lists them so).
    procedures: RefCell<Vec<Procedure>>,
    /// The sub-handlers, by prefix, in the order they were put.
    sub_handlers: RefCell<Vec<(String, SubHandler)>>,
    /// Whether results may hold `nil` (Twisted's `allowNone`).
    allow_nil: Cell<bool>,
}

/// What answers the methods of a prefix.
#[derive(Clone)]
enum SubHandler {
    /// Another server's procedures.
    Server(XmlRpc),
    /// `system.listMethods` and friends, about the server that holds this.
    Introspection,
}

impl XmlRpc {
    /// A server with no procedure yet, that refuses to send `nil`.
    pub fn new() -> XmlRpc {
        XmlRpc::default()
    }

    /// Lets results hold `nil` (Twisted's `XMLRPC(allowNone=True)`); without it, a result holding
    /// `nil` is answered with fault 8002 `Can't serialize output: cannot marshal None unless
    /// allow_none is enabled`. Arguments may hold `nil` either way.
    pub fn set_allow_nil(&self, allow: bool) {
        self.0.allow_nil.set(allow);
    }

    /// Whether results may hold `nil`.
    pub fn allows_nil(&self) -> bool {
        self.0.allow_nil.get()
    }

    /// Adds procedure `name` (without dots), described by `help`, run by `handler` (Twisted's
    /// `xmlrpc_NAME` method and its docstring). A name added again replaces the first.
    pub fn add_method(
        &self,
        name: &str,
        help: &str,
        handler: impl Fn(Call) -> ProcedureResult + 'static,
    ) {
        self.add_procedure(Procedure::new(name, help, &[], handler));
    }

    /// Adds a procedure made beforehand, with its signatures.
    pub fn add_procedure(&self, procedure: Procedure) {
        let mut procedures = self.0.procedures.borrow_mut();
        match procedures
            .iter_mut()
            .find(|known| known.name() == procedure.name())
        {
            Some(slot) => *slot = procedure,
            None => procedures.push(procedure),
        }
    }

    /// Puts `handler` under `prefix`: `PREFIX.NAME` calls its procedure `NAME` (Twisted's
    /// `putSubHandler`).
    pub fn put_sub_handler(&self, prefix: &str, handler: XmlRpc) {
        self.put(prefix, SubHandler::Server(handler));
    }

    /// Adds the introspection procedures under `system`: `system.listMethods`,
    /// `system.methodHelp` and `system.methodSignature` (Twisted's `addIntrospection`).
    pub fn add_introspection(&self) {
        self.put(introspection::PREFIX, SubHandler::Introspection);
    }

    fn put(&self, prefix: &str, handler: SubHandler) {
        let mut sub_handlers = self.0.sub_handlers.borrow_mut();
        sub_handlers.retain(|(known, _)| known != prefix);
        sub_handlers.push((prefix.to_owned(), handler));
    }

    /// The names of this server's own procedures, in order.
    pub fn list_procedures(&self) -> Vec<String> {
        let procedures = self.0.procedures.borrow();
        procedures.iter().map(|p| p.name().to_owned()).collect()
    }

    /// Every method's full name, this server's first, then its sub-handlers' (each prefixed), level
    /// by level: what `system.listMethods` answers.
    pub fn list_methods(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut to_visit = VecDeque::from([(SubHandler::Server(self.clone()), String::new())]);
        while let Some((handler, prefix)) = to_visit.pop_front() {
            match handler {
                SubHandler::Introspection => names.extend(
                    introspection::NAMES
                        .iter()
                        .map(|name| format!("{prefix}{name}")),
                ),
                SubHandler::Server(server) => {
                    names.extend(
                        server
                            .list_procedures()
                            .into_iter()
                            .map(|name| format!("{prefix}{name}")),
                    );
                    for (sub_prefix, sub_handler) in server.0.sub_handlers.borrow().iter() {
                        let full = format!("{prefix}{sub_prefix}{SEPARATOR}");
                        to_visit.push_back((sub_handler.clone(), full));
                    }
                }
            }
        }
        names
    }

    /// The procedure that answers `path` (`echo`, `system.methodHelp`), or the fault for the
    /// caller when there is none (code 8001).
    pub fn lookup_procedure(&self, path: &str) -> Result<Procedure, Fault> {
        if let Some((prefix, rest)) = path.split_once(SEPARATOR) {
            let handler = self
                .0
                .sub_handlers
                .borrow()
                .iter()
                .find(|(known, _)| known == prefix)
                .map(|(_, handler)| handler.clone());
            return match handler {
                Some(SubHandler::Server(server)) => server.lookup_procedure(rest),
                Some(SubHandler::Introspection) => introspection::procedure(self, rest),
                None => Err(Fault::not_found(format!("no such subHandler {prefix}"))),
            };
        }
        let procedures = self.0.procedures.borrow();
        procedures
            .iter()
            .find(|procedure| procedure.name() == path)
            .cloned()
            .ok_or_else(|| Fault::not_found(format!("procedure {path} not found")))
    }

    /// Runs a call: a Deferred of its result, failed with the [`Fault`] the caller should get, or
    /// with the procedure's own failure (a panic included).
    pub fn call(&self, call: Call) -> Deferred<Value> {
        match self.run(call) {
            Ok(outcome) => outcome.into_deferred(),
            Err(failure) => fail(failure),
        }
    }

    /// Runs a call to the procedure's outcome; fails with the fault of a name that finds no
    /// procedure, or with the procedure's failure (a panic is caught and becomes one).
    fn run(&self, call: Call) -> Result<Outcome, Failure> {
        let procedure = self.lookup_procedure(call.method())?;
        match catch_panic(|| procedure.invoke(call)) {
            Ok(result) => result,
            Err((message, location)) => Err(Failure::from_panic(message, location)),
        }
    }

    /// The answer to send for a call's outcome: the value, or the fault, as a document.
    fn answer(&self, outcome: Result<Value, Failure>) -> Bytes {
        let text = match outcome {
            Ok(value) => write_response(&value, self.allows_nil()).unwrap_or_else(|error| {
                write_fault(&Fault::failure(format!("Can't serialize output: {error}")))
            }),
            Err(failure) => write_fault(&fault_for(&failure)),
        };
        Bytes::from(text)
    }
}

/// The fault a failure is answered with: itself when it is a fault; otherwise 8002 `error`, and the
/// failure is logged, since the client is told nothing of it.
fn fault_for(failure: &Failure) -> Fault {
    if let Some(fault) = failure.downcast_ref::<Fault>() {
        return fault.clone();
    }
    let line = error_line(failure);
    if log::is_logging() {
        log::err(line);
    } else {
        errln!("Unhandled Error\n{line}");
    }
    Fault::failure("error")
}

impl Resource for XmlRpc {
    fn is_leaf(&self) -> bool {
        true
    }

    fn allowed_methods(&self) -> &[Method] {
        &[Method::POST]
    }

    fn render_post(&self, request: &Request) -> RenderResult {
        request.set_header_value(CONTENT_TYPE, HeaderValue::from_static(XML_TYPE));
        let outcome = match parse_call(request.content()) {
            Ok(parsed) => self.run(Call::new(
                parsed.method,
                parsed.params,
                Some(request.clone()),
            )),
            Err(error) => Err(Fault::failure(format!("Can't deserialize input: {error}")).into()),
        };
        // Most procedures answer at once: the whole body goes back from here (and the site gives
        // it its length).
        let later = match outcome {
            Ok(Outcome::Value(value)) => return Ok(Render::Body(self.answer(Ok(value)))),
            Ok(Outcome::Fault(fault)) => return Ok(Render::Body(write_fault(&fault).into())),
            Err(failure) => return Ok(Render::Body(self.answer(Err(failure)))),
            Ok(Outcome::Later(later)) => later,
        };
        // The others answer when their Deferred fires (which may be at once, if it has fired
        // already), through the request, unless the client has gone by then.
        let rendering = Rc::new(Cell::new(true));
        let now: Rc<RefCell<Option<Bytes>>> = Rc::default();
        let (server, request_later, still_rendering, slot) = (
            self.clone(),
            request.clone(),
            Rc::clone(&rendering),
            Rc::clone(&now),
        );
        later.add_both(move |outcome| {
            let body = server.answer(outcome);
            if still_rendering.get() {
                *slot.borrow_mut() = Some(body);
            } else if !request_later.is_lost() {
                request_later.set_header_value(CONTENT_LENGTH, HeaderValue::from(body.len()));
                request_later.write(&body);
                request_later.finish();
            }
            Ok::<(), Failure>(())
        });
        rendering.set(false);
        let body = now.borrow_mut().take();
        match body {
            Some(body) => Ok(Render::Body(body)),
            None => Ok(Render::NotDoneYet),
        }
    }
}
