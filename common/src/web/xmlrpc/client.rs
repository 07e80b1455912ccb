//! The client: Twisted's `twisted.web.xmlrpc.Proxy`, calls to a remote server as Deferreds.
//!
//! ```no_run
//! # use common::web::xmlrpc::{Proxy, Value};
//! let proxy = Proxy::new("http://127.0.0.1:7080/");
//! proxy
//!     .call_remote("echo", vec![Value::from(1), Value::from("two")])
//!     .add_callback(|value| {
//!         println!("{value:?}");
//!         Ok(())
//!     });
//! ```

use super::read::parse_response;
use super::write::write_call;
use super::{Fault, Value};
use crate::defer::{Deferred, Failure, fail};
use crate::web::client::{Agent, Request};

/// A remote XML-RPC server, called over HTTP with the web client's [`Agent`].
#[derive(Debug, Clone)]
pub struct Proxy {
    url: String,
    /// The agent, or why none could be made (then every call fails with that).
    agent: Result<Agent, Failure>,
    allow_nil: bool,
}

impl Proxy {
    /// The server at `url` (`http://host:port/path`), called with a default agent.
    pub fn new(url: &str) -> Proxy {
        Proxy {
            url: url.to_owned(),
            agent: Agent::new(),
            allow_nil: false,
        }
    }

    /// The server at `url`, called with `agent` (a timeout, a body size limit, a certificate
    /// authority: see [`AgentBuilder`](crate::web::client::AgentBuilder)).
    pub fn with_agent(url: &str, agent: Agent) -> Proxy {
        Proxy {
            url: url.to_owned(),
            agent: Ok(agent),
            allow_nil: false,
        }
    }

    /// Lets arguments hold `nil` (Twisted's `allowNone`); without it, a call with a `nil`
    /// argument fails before anything is sent.
    pub fn allow_nil(mut self, allow: bool) -> Proxy {
        self.allow_nil = allow;
        self
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with `args`: a Deferred of the result, failed with the server's [`Fault`]
    /// (code and string), or with what went wrong on the way: a connection refused, an HTTP error
    /// status ([`HttpError`](crate::web::client::HttpError)), an answer that is not XML-RPC
    /// ([`ParseError`](super::ParseError)), an argument that cannot be sent
    /// ([`MarshalError`](super::MarshalError)).
    pub fn call_remote(&self, method: &str, args: Vec<Value>) -> Deferred<Value> {
        let agent = match &self.agent {
            Ok(agent) => agent,
            Err(failure) => return fail(failure.clone()),
        };
        let body = match write_call(method, &args, self.allow_nil) {
            Ok(body) => body,
            Err(error) => return fail(error),
        };
        let request = Request::new("POST", &self.url)
            .header("Content-Type", "text/xml")
            .body(body);
        agent
            .fetch_page(request)
            .add_callback(|body| match parse_response(&body)? {
                Ok(value) => Ok(value),
                Err(fault) => Err(Failure::new::<Fault>(fault)),
            })
    }
}
