//! Procedures: what a server's methods receive ([`Call`]) and what they give back ([`Outcome`]).

use std::error::Error;
use std::fmt;
use std::rc::Rc;

use super::{Fault, Value};
use crate::defer::{Deferred, Failure};
use crate::web::Request;

/// A call, as the procedure that answers it sees it: the method's name, the arguments, and the
/// HTTP request that carried it (Twisted's `withRequest`).
#[derive(Debug)]
pub struct Call {
    method: String,
    args: Vec<Value>,
    request: Option<Request>,
}

impl Call {
    /// A call of `method` with `args`, carried by `request` when there is one (a call made
    /// directly, by a test or by another procedure, has none).
    pub fn new(method: impl Into<String>, args: Vec<Value>, request: Option<Request>) -> Call {
        Call {
            method: method.into(),
            args,
            request,
        }
    }

    /// The method's name as the client sent it: `echo`, `system.methodHelp`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The arguments, in order.
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// The arguments, taken: what `echo` gives back.
    pub fn into_args(self) -> Vec<Value> {
        self.args
    }

    /// The HTTP request that carried the call: its headers, the client's address.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// Checks that the call has `count` arguments: Python's `TypeError` when a method is called
    /// with the wrong number, which the server answers with fault 8002 (and logs).
    pub fn expect_args(&self, count: usize) -> Result<(), Failure> {
        if self.args.len() == count {
            return Ok(());
        }
        Err(Failure::new(WrongArgumentCount {
            method: self.method.clone(),
            expected: count,
            given: self.args.len(),
        }))
    }

    /// The argument at `index`, which must be a string (the server's methods that take a name,
    /// `system.methodHelp`); a wrong type is a failure, as in Python.
    pub fn str_arg(&self, index: usize) -> Result<&str, Failure> {
        match self.args.get(index) {
            Some(Value::String(text)) => Ok(text),
            other => Err(Failure::new(WrongArgumentType {
                method: self.method.clone(),
                index,
                found: other.map_or("nothing", Value::type_name),
            })),
        }
    }
}

/// What a procedure gives: a value now, a value later, or a fault.
///
/// Anything that converts to a [`Value`] converts to an `Outcome`, so a procedure can end with
/// `Ok("hello, world!".into())`; likewise a [`Fault`] and a `Deferred<Value>`.
pub enum Outcome {
    /// The result, now.
    Value(Value),
    /// The result, when the Deferred fires; if it fails, the caller gets the fault it failed with,
    /// or fault 8002 for any other failure.
    Later(Deferred<Value>),
    /// A fault, returned rather than raised: the caller gets it, and nothing is logged.
    Fault(Fault),
}

impl<T: Into<Value>> From<T> for Outcome {
    fn from(value: T) -> Outcome {
        Outcome::Value(value.into())
    }
}

impl From<Fault> for Outcome {
    fn from(fault: Fault) -> Outcome {
        Outcome::Fault(fault)
    }
}

impl From<Deferred<Value>> for Outcome {
    fn from(later: Deferred<Value>) -> Outcome {
        Outcome::Later(later)
    }
}

impl Outcome {
    /// The outcome as a Deferred: fired with the value, failed with the fault, or the Deferred
    /// itself.
    pub fn into_deferred(self) -> Deferred<Value> {
        match self {
            Outcome::Value(value) => crate::defer::succeed(value),
            Outcome::Later(later) => later,
            Outcome::Fault(fault) => crate::defer::fail(fault),
        }
    }
}

/// What a procedure returns: its outcome, or a failure (which the caller gets as fault 8002, and
/// the server logs, unless the failure is a [`Fault`]).
pub type ProcedureResult = Result<Outcome, Failure>;

/// The code of a procedure.
pub type Handler = dyn Fn(Call) -> ProcedureResult;

/// A procedure of a server: its name, its help text, its signatures, and its code. Cheap to clone.
#[derive(Clone)]
pub struct Procedure(Rc<ProcedureInner>);

struct ProcedureInner {
    name: String,
    help: String,
    signatures: Vec<Vec<String>>,
    handler: Box<Handler>,
}

impl Procedure {
    /// A procedure called `name`, described by `help`, whose signatures (each the result's type,
    /// then the arguments', as `["string", "string"]`) are `signatures` (none is fine).
    pub fn new(
        name: &str,
        help: &str,
        signatures: &[&[&str]],
        handler: impl Fn(Call) -> ProcedureResult + 'static,
    ) -> Procedure {
        Procedure(Rc::new(ProcedureInner {
            name: name.to_owned(),
            help: help.to_owned(),
            signatures: signatures
                .iter()
                .map(|signature| signature.iter().map(|&kind| kind.to_owned()).collect())
                .collect(),
            handler: Box::new(handler),
        }))
    }

    /// The name, without any prefix.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The help text (`system.methodHelp`).
    pub fn help(&self) -> &str {
        &self.0.help
    }

    /// The signatures (`system.methodSignature`): empty when none was declared.
    pub fn signatures(&self) -> &[Vec<String>] {
        &self.0.signatures
    }

    /// Runs the procedure.
    pub fn invoke(&self, call: Call) -> ProcedureResult {
        (self.0.handler)(call)
    }
}

impl fmt::Debug for Procedure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Procedure {}>", self.0.name)
    }
}

/// A method was called with the wrong number of arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongArgumentCount {
    /// The method's name.
    pub method: String,
    /// How many it takes.
    pub expected: usize,
    /// How many it was given.
    pub given: usize,
}

impl fmt::Display for WrongArgumentCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.expected == 1 { "" } else { "s" };
        write!(
            f,
            "{}() takes {} argument{plural} ({} given)",
            self.method, self.expected, self.given
        )
    }
}

impl Error for WrongArgumentCount {}

/// A method was given an argument of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongArgumentType {
    /// The method's name.
    pub method: String,
    /// Which argument, from 0.
    pub index: usize,
    /// The type it had.
    pub found: &'static str,
}

impl fmt::Display for WrongArgumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}() wants a string as argument {}, not {}",
            self.method,
            self.index + 1,
            self.found
        )
    }
}

impl Error for WrongArgumentType {}
