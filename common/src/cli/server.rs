//! The options the poetry servers share: what to serve, where, and (for the slow ones) how slowly.

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use super::duration::parse_duration;
use super::output::report_error;
use super::poem::poetry_file;
use crate::protocol::Factory;
use crate::reactor::{ListeningPort, Reactor};

/// Which poem a server serves, and where it listens.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// The poem to serve.
    #[arg(value_name = "POETRY_FILE", value_parser = poetry_file)]
    pub poem: PathBuf,

    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// The interface to listen on: a host name or an IP address.
    #[arg(long, default_value = "localhost")]
    pub iface: String,
}

/// How a slow server paces a poem: a few characters, then a pause.
#[derive(Debug, Clone, clap::Args)]
pub struct PacingOptions {
    /// The pause after each send: seconds (0.1) or a number with a unit (100ms, 1s).
    #[arg(long, default_value = "0.1", value_parser = parse_duration)]
    pub delay: Duration,

    /// How many characters to send at a time.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub num_bytes: u64,
}

impl PacingOptions {
    /// `--num-bytes` as a chunk size in characters.
    pub fn chars_per_chunk(&self) -> usize {
        usize::try_from(self.num_bytes).unwrap_or(usize::MAX)
    }
}

/// Reads the poem a server serves, once, to share between all its connections.
///
/// The argument was checked when it was parsed; this reports what can still go wrong (the file
/// vanished or became unreadable since) as one line, for [`report_error`].
pub fn read_poem(serve: &ServeOptions) -> Result<Rc<[u8]>, String> {
    std::fs::read(&serve.poem)
        .map(Rc::from)
        .map_err(|error| format!("cannot read {}: {error}", serve.poem.display()))
}

/// The end of every reactor-based server's `main`: listen on `port` of `iface` with `factory`, print
/// the startup line that `announce` makes from the port (scripts read the port from it), and run
/// until stopped. A port that cannot listen is one line on stderr and exit status 1.
pub fn listen_and_run<F: Factory + 'static>(
    reactor: &Reactor,
    port: u16,
    iface: &str,
    factory: Rc<F>,
    announce: impl FnOnce(&ListeningPort) -> String,
) -> ExitCode {
    match reactor.listen_tcp(port, factory, iface) {
        Ok(port) => {
            crate::outln!("{}", announce(&port));
            let _ = reactor.run();
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
