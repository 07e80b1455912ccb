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
pub mod stack;
pub mod time_options;
pub mod timeline;
pub mod web;

/// Makes the reactor of a program, or says why it cannot, for [`output::report_error`].
pub fn new_reactor() -> Result<crate::reactor::Reactor, String> {
    crate::reactor::Reactor::new().map_err(|error| format!("cannot start the reactor: {error}"))
}

/// Reads the command line of a program that takes no options (most of the tutorial's short
/// examples): `--help` prints `about`, and any argument is a usage error with exit status 2, as for
/// every other program, rather than being silently ignored.
pub fn no_options(about: &'static str) {
    clap::Command::new("example")
        .bin_name(output::program_name())
        .about(about)
        .get_matches();
}
