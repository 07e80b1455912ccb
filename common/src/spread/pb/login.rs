//! cred over PB, the server's side (spec 5): the root a [`Portal`] is served through, and the
//! challenger each login gets.
//!
//! A login is two ordinary calls. `login(username)` on the root answers a fresh challenge and a
//! reference to a challenger bound to that name and challenge, even for a user nobody knows (the
//! answer must not tell which names exist). `respond(response, mind)` on the challenger answers the
//! avatar by reference, or the `UnauthorizedLogin` failure. The challenger accepts any number of
//! responses while the client holds it, as Twisted's does.

use std::rc::Rc;

use super::failure::RemoteError;
use super::reference::{Answer, CallContext, Referenceable};
use crate::cred::{self, Portal};
use crate::spread::jelly::Value;

/// The root of a server that serves a portal: `login` and `loginAnonymous`.
pub(super) struct PortalRoot {
    pub(super) portal: Rc<Portal>,
}

impl Referenceable for PortalRoot {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        match name {
            "login" => {
                let Ok([username]) = <[Value; 1]>::try_from(args) else {
                    return Answer::error(arity_error("login", "username"));
                };
                let challenge = match cred::challenge() {
                    Ok(challenge) => challenge,
                    Err(error) => return Answer::error(error),
                };
                let challenger = Rc::new(Challenger {
                    portal: Rc::clone(&self.portal),
                    username,
                    challenge,
                });
                Answer::value(Value::Tuple(vec![
                    Value::Bytes(challenge.to_vec()),
                    call.export(challenger),
                ]))
            }
            "loginAnonymous" => Answer::error(cred::anonymous_refused()),
            _ => Answer::error(RemoteError::no_such_method(name)),
        }
    }
}

/// One login in progress: the name and the challenge sent to it.
struct Challenger {
    portal: Rc<Portal>,
    /// What the client sent as its name; only a byte string can match a user.
    username: Value,
    challenge: [u8; 16],
}

impl Referenceable for Challenger {
    fn remote_message(
        &self,
        name: &str,
        args: Vec<Value>,
        _kwargs: Vec<(Value, Value)>,
        call: &CallContext,
    ) -> Answer {
        if name != "respond" {
            return Answer::error(RemoteError::no_such_method(name));
        }
        let Ok([response, mind]) = <[Value; 2]>::try_from(args) else {
            return Answer::error(arity_error("respond", "response, mind"));
        };
        let name = match &self.username {
            Value::Bytes(name) => Some(name.as_slice()),
            _ => None,
        };
        let response = match &response {
            Value::Bytes(response) => response.as_slice(),
            _ => &[],
        };
        let mind = call.remote_reference(&mind);
        match self.portal.login(name, &self.challenge, response, mind) {
            Ok(avatar) => Answer::value(call.export(avatar)),
            Err(error) => Answer::error(error),
        }
    }
}

/// Python's `TypeError` for a method called with the wrong number of arguments.
fn arity_error(method: &str, parameters: &str) -> RemoteError {
    RemoteError::exception(
        "builtins.TypeError",
        format!("remote_{method}() takes exactly these arguments: {parameters}"),
    )
}
