//! The one request of the EuroPython 2011 training's blocking clients: the training's
//! `make_connection`, which `multiclient.py` defines and `threadedclient.py` imports from it.
//! Included by `multiclient` and `threadedclient` with `#[path]`; not a program itself.
//!
//! Every call here blocks the thread that makes it until the server answers: that is the lesson of
//! both programs, one by making the requests in turn, the other by giving each its own thread.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use common::cli::address::ServerAddress;
use common::cli::duration::TimeFormat;
use common::cli::output::plain_error;

/// How many bytes one read takes at most (the training reads 1024 at a time).
const READ_SIZE: usize = 1024;

/// Why a request got no whole answer.
#[derive(Debug)]
pub enum RequestError {
    /// The connection could not be made (nothing listens there, the host is unknown...).
    Connect(ServerAddress, io::Error),
    /// The connection broke before the server closed it.
    Lost(ServerAddress, io::Error),
    /// The server had not closed the connection by the end of the `--timeout`.
    TimedOut(ServerAddress, Duration),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Connect(server, error) => {
                write!(f, "cannot connect to {server}: {}", plain_error(error))
            }
            RequestError::Lost(server, error) => {
                write!(f, "lost the connection to {server}: {}", plain_error(error))
            }
            RequestError::TimedOut(server, limit) => write!(
                f,
                "{server} had not answered after {}",
                TimeFormat::Human.show(*limit)
            ),
        }
    }
}

/// Sends `text` and CR LF to `server`, then reads until the server closes the connection, and
/// returns everything it sent (the greeting included). Gives up when the whole exchange, connecting
/// included, takes longer than `timeout`.
///
/// The training sends the text and the CR LF with two `send` calls. Here they go in one write, so in
/// one TCP segment: the uppercase server answers the first chunk it reads and closes, and with two
/// writes it might read the text without its line end. The bytes on the wire are the same.
pub fn make_connection(
    server: &ServerAddress,
    text: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, RequestError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || RequestError::TimedOut(server.clone(), timeout);
    // What is left of the time; never zero, which a blocking call would take as "wait for ever".
    let time_left = || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(timed_out())
        } else {
            Ok(left)
        }
    };
    // A read or write that waited as long as it was allowed to is the timeout, not a broken link.
    let lost = |error: io::Error| match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => RequestError::Lost(server.clone(), error),
    };

    let mut socket = server.connect(time_left()?).map_err(|error| {
        if error.kind() == io::ErrorKind::TimedOut {
            timed_out()
        } else {
            RequestError::Connect(server.clone(), error)
        }
    })?;
    let request = [text, b"\r\n"].concat();
    socket.set_write_timeout(Some(time_left()?)).map_err(lost)?;
    socket.write_all(&request).map_err(lost)?;

    let mut answer = Vec::new();
    let mut buffer = [0; READ_SIZE];
    loop {
        socket.set_read_timeout(Some(time_left()?)).map_err(lost)?;
        match socket.read(&mut buffer) {
            // The server closed the connection: the answer is complete.
            Ok(0) => return Ok(answer),
            Ok(count) => answer.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(lost(error)),
        }
    }
}
