//! Printing lines: at once, and without a panic when the reader has gone.
//!
//! The servers print a line for every client and every chunk, and scripts read those lines through a
//! pipe while the server runs (the startup line carries the port a script must connect to), so each
//! line is flushed as it is written. `println!` panics when the pipe is closed (`get-poetry | head`);
//! these helpers end a client quietly instead, as a Unix tool does when its reader goes away.
//!
//! A server is different: its log lines are a courtesy to whoever watches, and its clients must not
//! lose their poems because that watcher left (`slowpoetry-reactor poem | head -1`). A server calls
//! [`keep_serving_without_readers`] as it starts, and from then on a line nobody can read is dropped,
//! and the server goes on.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::protocol::ConnectError;

/// Whether a closed stdout or stderr must leave the program running: set by servers.
static KEEP_SERVING: AtomicBool = AtomicBool::new(false);

/// Says that this program is a server: from now on, a line printed to a pipe whose reader has gone
/// is dropped instead of ending the program.
pub fn keep_serving_without_readers() {
    KEEP_SERVING.store(true, Ordering::Relaxed);
}

/// Prints a line on stdout and flushes it; see [`print_line`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::print_line(&mut ::std::io::stdout().lock(), format_args!($($arg)*))
    };
}

/// Prints a line on stderr; see [`print_line`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::print_line(&mut ::std::io::stderr().lock(), format_args!($($arg)*))
    };
}

/// Writes one line and flushes it. When the reader has closed the pipe, a client exits with status 0
/// (nobody is left to read what it would say) and a server drops the line and goes on.
pub fn print_line(out: &mut impl Write, line: fmt::Arguments<'_>) {
    let written = out
        .write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    exit_if_reader_gone(written);
}

/// Writes `pieces` one after the other, then a newline, and flushes: one line of raw bytes, as
/// [`print_line`] writes one of text.
///
/// For programs that print what came from the network or the command line as it is, whether or not
/// it is UTF-8, as Python 2's `print` does with its byte strings: `print_bytes_line(&mut
/// io::stdout().lock(), &[b"sending ", text])`. Given a locked handle, as there, the whole line is
/// written under that one lock, so threads printing at the same time never mix their lines.
pub fn print_bytes_line(out: &mut impl Write, pieces: &[&[u8]]) {
    let written = pieces
        .iter()
        .try_for_each(|piece| out.write_all(piece))
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    exit_if_reader_gone(written);
}

/// Ends the program quietly (status 0) if the write failed because the reader closed the pipe,
/// unless the program is a server.
fn exit_if_reader_gone(written: io::Result<()>) {
    if let Err(error) = written
        && error.kind() == io::ErrorKind::BrokenPipe
        && !KEEP_SERVING.load(Ordering::Relaxed)
    {
        std::process::exit(0);
    }
}

/// The name the program was started as (`slowpoetry`), for the front of its error lines.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|arg0| Path::new(arg0).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "poetry".to_owned())
}

/// Reports an error that ends the program as one line on stderr: `slowpoetry: error: <what>`.
///
/// The program's name comes first, as with any Unix tool, so that the line still makes sense in a
/// script's log.
pub fn report_error(what: impl fmt::Display) {
    errln!("{}: error: {what}", program_name());
}

/// An I/O error as a person wants to read it: `Connection refused`, without Rust's `(os error 111)`.
pub fn plain_error(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// A connection the reactor could not make, in the words [`plain_error`] gives the blocking clients'
/// failures: the system's (`Connection refused`) or the resolver's (`failed to lookup address
/// information: Name or service not known`). For the programs that do not copy Twisted's wording
/// (`Connection was refused by other side: 111: Connection refused.`), so that they say it as
/// `get-poetry-blocking` does: `failed to connect to 127.0.0.1:10004: Connection refused`.
pub fn plain_connect_error(error: &ConnectError) -> String {
    let system =
        |errno: rustix::io::Errno| plain_error(&io::Error::from_raw_os_error(errno.raw_os_error()));
    match error {
        ConnectError::Refused => system(rustix::io::Errno::CONNREFUSED),
        ConnectError::TimedOut => system(rustix::io::Errno::TIMEDOUT),
        ConnectError::DnsLookup { error, .. } | ConnectError::Other(error) => error.clone(),
        ConnectError::Cancelled => "the connection attempt was cancelled".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_in_plain_words() {
        assert_eq!(
            plain_connect_error(&ConnectError::Refused),
            "Connection refused"
        );
        let unknown = ConnectError::DnsLookup {
            host: "nowhere.invalid".to_owned(),
            error: "failed to lookup address information: Name or service not known".to_owned(),
        };
        assert_eq!(
            plain_connect_error(&unknown),
            "failed to lookup address information: Name or service not known"
        );
    }

    #[test]
    fn plain_errors_drop_the_os_error_number() {
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(plain_error(&refused), "Connection refused");
        let custom = io::Error::other("the name has no addresses");
        assert_eq!(plain_error(&custom), "the name has no addresses");
    }

    #[test]
    fn byte_lines_are_written_as_they_are() {
        let mut out = Vec::new();
        print_bytes_line(&mut out, &[b"sending ", b"caf\xc3\xa9 \xff", b""]);
        print_bytes_line(&mut out, &[b"A\r\n"]);
        assert_eq!(out, b"sending caf\xc3\xa9 \xff\nA\r\n\n");
    }
}
