//! Introspection: the `system.*` methods with which a client asks a server what it offers
//! (Twisted's `XMLRPCIntrospection`, added by `addIntrospection`).
//!
//! * `system.listMethods()`: every method's full name;
//! * `system.methodHelp(name)`: the method's help text (empty when it has none);
//! * `system.methodSignature(name)`: its signatures, as arrays of type names (the result's type
//!   first), or the empty string when none was declared.
//!
//! An unknown name is fault 8001, as calling it would be.

use super::procedure::{Call, Procedure};
use super::{Fault, Value, XmlRpc};

/// The prefix the introspection methods live under.
pub const PREFIX: &str = "system";

/// Their names, in the order they are listed.
pub const NAMES: [&str; 3] = ["listMethods", "methodHelp", "methodSignature"];

/// The introspection procedure `name`, about `server`; fault 8001 for another name.
pub(super) fn procedure(server: &XmlRpc, name: &str) -> Result<Procedure, Fault> {
    let server = server.clone();
    let procedure = match name {
        "listMethods" => Procedure::new(
            name,
            "Gives the full name of every method this server answers, its own first, then those \
             of its sub-handlers, prefix first.",
            &[&["array"]],
            move |call: Call| {
                call.expect_args(0)?;
                let names = server.list_methods().into_iter().map(Value::from);
                Ok(Value::Array(names.collect()).into())
            },
        ),
        "methodHelp" => Procedure::new(
            name,
            "Gives the help text of the method named by the argument (empty when it has none).",
            &[&["string", "string"]],
            move |call: Call| {
                call.expect_args(1)?;
                let procedure = server.lookup_procedure(call.str_arg(0)?)?;
                Ok(procedure.help().into())
            },
        ),
        "methodSignature" => Procedure::new(
            name,
            "Gives the signatures of the method named by the argument: arrays of type names, the \
             result's first, then each argument's; the empty string when none is known.",
            &[&["array", "string"], &["string", "string"]],
            move |call: Call| {
                call.expect_args(1)?;
                let procedure = server.lookup_procedure(call.str_arg(0)?)?;
                let signatures = procedure.signatures();
                if signatures.is_empty() {
                    return Ok("".into());
                }
                let arrays = signatures.iter().map(|signature| {
                    Value::Array(signature.iter().map(|kind| kind.as_str().into()).collect())
                });
                Ok(Value::Array(arrays.collect()).into())
            },
        ),
        _ => return Err(Fault::not_found(format!("procedure {name} not found"))),
    };
    Ok(procedure)
}
