//! What the EuroPython 2011 training's clients of the uppercase server share unchanged, from the
//! blocking `multiclient` to `simpleclient-4-ex`: their command line (`host:port text…`) and the way
//! they print (raw bytes, as Python 2's `print` does). Python's `repr` of a tuple of strings, which
//! `simpleclient-4-ex` prints, is in `python_repr.rs`.
//!
//! Included by each of them with `#[path]`; not a program itself. The protocol logic is not here:
//! each program keeps its own, so that a reader can put one version beside the next.

#![allow(dead_code)] // each program uses a different part of this module

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use clap::{Args, CommandFactory};
use common::cli::address::ServerAddress;
use common::cli::client::explain_if_no_servers;
use common::cli::output::print_bytes_line;

/// How long the reactor-based clients let a connection attempt take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The arguments of every client of the uppercase server: where it is, and what to send it.
#[derive(Debug, Args)]
pub struct Requests {
    /// The uppercase server, as host:port (a bare port means 127.0.0.1; an IPv6 address goes in
    /// brackets, [::1]:8000).
    #[arg(value_name = "HOST:PORT")]
    pub server: Option<ServerAddress>,

    /// The texts to send, one connection each, each followed by CR LF. A text is sent byte for byte
    /// as the shell gives it; quote one with spaces ("twisted is cool") to send it as one text.
    #[arg(value_name = "TEXT")]
    pub texts: Vec<OsString>,
}

impl Requests {
    /// The server; or, when none was given, `None` once the long help of the program `C` has been
    /// printed (the program then exits with status 0, as the project's clients do).
    pub fn server_or_help<C: CommandFactory>(&self) -> Option<&ServerAddress> {
        if explain_if_no_servers::<C>(self.server.as_slice()) {
            return None;
        }
        self.server.as_ref()
    }

    /// The texts, as the bytes to send (on Unix an argument is bytes, whatever its encoding).
    pub fn texts(&self) -> Vec<Vec<u8>> {
        self.texts
            .iter()
            .map(|text| text.as_bytes().to_vec())
            .collect()
    }
}

/// `sending <text>`: what each client prints as it starts a request.
pub fn print_sending(text: &[u8]) {
    print_bytes_line(&mut io::stdout().lock(), &[b"sending ", text]);
}

/// The data received, as Python's `print data` writes it: the bytes as they came, then a newline.
/// Against the uppercase server the data already ends in CR LF, so an empty line follows.
pub fn print_data(data: &[u8]) {
    print_bytes_line(&mut io::stdout().lock(), &[data]);
}

/// `request <text> failed: <why>`, on stderr: a request that got no answer, told in one line.
pub fn print_failure(text: &[u8], why: impl fmt::Display) {
    let why = why.to_string();
    print_bytes_line(
        &mut io::stderr().lock(),
        &[b"request ", text, b" failed: ", why.as_bytes()],
    );
}
