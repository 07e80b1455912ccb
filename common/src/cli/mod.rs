//! Command-line plumbing shared by the programs.
//!
//! None of this is a lesson of the tutorial: it is the part of each program that would otherwise be
//! copied from file to file (parsing addresses and durations, reading poems, reporting errors), kept
//! here so that the program files can show only their networking.

pub mod address;
pub mod client;
pub mod duration;
pub mod http;
pub mod output;
pub mod poem;
pub mod progress;
pub mod server;
pub mod timeline;
pub mod web;

/// Makes the reactor of a program, or says why it cannot, for [`output::report_error`].
pub fn new_reactor() -> Result<crate::reactor::Reactor, String> {
    crate::reactor::Reactor::new().map_err(|error| format!("cannot start the reactor: {error}"))
}
