//! A small twistd-style logger: `2026-11-21 07:28:50+0000 [system] message`.
//!
//! Twisted's `log.msg` and `log.err` write nothing until an observer is started with
//! `startLogging`; from then on every entry is a line with a timestamp, the "system" it came from in
//! brackets (`-` when there is none) and the message, continuation lines indented with a tab. This
//! module keeps those rules, so that servers asked to log, and the daemon of Part 16, read like
//! twistd's logs. A daemon logs into a file ([`start_logging_to_file`]) and opens it again when
//! told to after a log rotation ([`reopen_log`]).
//!
//! The reactor reports errors from callbacks with [`report_unhandled`]: into the log once logging has
//! started, on stderr before that, because an error must never vanish.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::time::SystemTime;

thread_local! {
    /// Where log entries go; `None` until [`start_logging`] is called.
    static OBSERVER: RefCell<Option<Box<dyn Write>>> = const { RefCell::new(None) };
    /// The file the log goes to, when [`start_logging_to_file`] started it, for [`reopen_log`].
    /// Weak: once another observer replaces the file's, there is nothing left to reopen.
    static LOG_FILE: RefCell<Weak<LogFile>> = const { RefCell::new(Weak::new()) };
}

/// Starts logging to `out` (stdout, a file...): from now on [`msg`] and [`err`] write entries there.
///
/// Like Twisted's `startLogging`, it first writes `Log opened.`. Entries made before it are dropped.
pub fn start_logging(out: impl Write + 'static) {
    OBSERVER.with(|observer| *observer.borrow_mut() = Some(Box::new(out)));
    msg("Log opened.");
}

/// Starts logging to the file at `path`, appending to it (creating it if need be), as a daemon
/// does with its log file.
///
/// The path is remembered, so that [`reopen_log`] can open it again after a log rotation moved the
/// file away.
pub fn start_logging_to_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    let file = open_log_file(&path)?;
    let log = Rc::new(LogFile {
        path,
        file: RefCell::new(file),
    });
    LOG_FILE.with(|slot| *slot.borrow_mut() = Rc::downgrade(&log));
    start_logging(SharedLogFile(log));
    Ok(())
}

/// Opens the log file again by its path, and writes there from now on: what a daemon does on SIGHUP
/// once logrotate has renamed its file (the old handle would go on writing to the renamed file).
///
/// Returns `Ok(false)` when the log does not go to a file started by [`start_logging_to_file`]. If
/// the file cannot be opened, the log goes on into the old one and the error is returned.
pub fn reopen_log() -> io::Result<bool> {
    let Some(log) = LOG_FILE.with(|slot| slot.borrow().upgrade()) else {
        return Ok(false);
    };
    let file = open_log_file(&log.path)?;
    *log.file.borrow_mut() = file;
    Ok(true)
}

/// A log file and the path it was opened by.
struct LogFile {
    path: PathBuf,
    file: RefCell<File>,
}

/// The observer of a log file: writes to whichever file the path opened last.
struct SharedLogFile(Rc<LogFile>);

impl Write for SharedLogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.file.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.file.borrow_mut().flush()
    }
}

fn open_log_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Stops logging; later entries are dropped again. Returns whether logging was on.
pub fn stop_logging() -> bool {
    OBSERVER.with(|observer| observer.borrow_mut().take().is_some())
}

/// Whether an observer is started.
pub fn is_logging() -> bool {
    OBSERVER.with(|observer| observer.borrow().is_some())
}

/// Logs a message with no system: `... [-] message`.
pub fn msg(message: impl AsRef<str>) {
    msg_from("-", message);
}

/// Logs a message from `system`, e.g. the protocol and peer a server is talking to:
/// `... [PoetryProtocol,0,127.0.0.1] message`.
pub fn msg_from(system: &str, message: impl AsRef<str>) {
    OBSERVER.with(|observer| {
        if let Some(out) = observer.borrow_mut().as_mut() {
            // A log that cannot be written (disk full, closed pipe) must not take the program down.
            let _ = out
                .write_all(format_entry(SystemTime::now(), system, message.as_ref()).as_bytes())
                .and_then(|()| out.flush());
        }
    });
}

/// Logs an error: `Unhandled Error` and then the description, indented, as twistd does.
pub fn err(description: impl AsRef<str>) {
    msg(format!("Unhandled Error\n{}\n", description.as_ref()));
}

/// Reports an error that escaped a callback, with what was being called when it happened.
///
/// Into the log when logging has started, else as one line on stderr, so it is never lost.
pub fn report_unhandled(context: &str, error: &str) {
    if is_logging() {
        err(format!("while {context}: {error}"));
    } else {
        let _ = writeln!(io::stderr(), "Unhandled error while {context}: {error}");
    }
}

/// Reports a Deferred that went away with a failure nobody handled: `Unhandled error in Deferred:`
/// and the failure's report, into the log once logging has started, else on stderr.
pub fn report_unhandled_deferred(report: &str) {
    if is_logging() {
        msg(format!("Unhandled error in Deferred:\n{report}\n"));
    } else {
        let _ = writeln!(io::stderr(), "Unhandled error in Deferred:\n{report}");
    }
}

/// One log entry, lines after the first indented with a tab: `2026-11-21 07:28:50+0000 [-] text\n`.
pub fn format_entry(at: SystemTime, system: &str, message: &str) -> String {
    let mut entry = format!("{} [{system}] ", timestamp(at));
    for (index, line) in message.split('\n').enumerate() {
        if index > 0 {
            entry.push_str("\n\t");
        }
        entry.push_str(line);
    }
    entry.push('\n');
    entry
}

/// `2026-11-21 07:28:50+0000`: twistd's timestamp, in UTC.
fn timestamp(at: SystemTime) -> String {
    // humantime gives `2026-11-21T07:28:50Z`; twistd writes a space and a numeric offset.
    let rfc3339 = humantime::format_rfc3339_seconds(at).to_string();
    format!("{}+0000", rfc3339.replace('T', " ").trim_end_matches('Z'))
}

/// Runs `f` with the log going into a buffer, and returns what `f` returned and what was logged.
///
/// For the tests of code that reports errors: what it reports is checked, and does not reach the
/// terminal of a passing test (the test harness captures `print!`, not writes to stderr).
#[cfg(test)]
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Rc<RefCell<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    start_logging(buffer.clone());
    let result = f();
    stop_logging();
    let text = String::from_utf8_lossy(&buffer.0.borrow()).into_owned();
    (result, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use std::time::{Duration, UNIX_EPOCH};

    /// A log observer whose output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Rc<RefCell<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn without_timestamps(text: &[u8]) -> Vec<String> {
        String::from_utf8(text.to_vec())
            .unwrap()
            .lines()
            .map(|line| line.get(25..).unwrap_or(line).to_owned())
            .collect()
    }

    #[test]
    fn entries_have_twistd_timestamps_and_systems() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_246_130);
        assert_eq!(
            format_entry(at, "-", "This will be logged."),
            "2026-11-21 07:28:50+0000 [-] This will be logged.\n"
        );
        assert_eq!(
            format_entry(at, "Poetry,0,127.0.0.1", "two\nlines"),
            "2026-11-21 07:28:50+0000 [Poetry,0,127.0.0.1] two\n\tlines\n"
        );
    }

    #[test]
    fn nothing_is_logged_before_logging_starts() {
        msg("dropped");
        let captured = Captured::default();
        start_logging(captured.clone());
        msg("kept");
        err("it broke");
        msg_from("Poetry,0,127.0.0.1", "sending 10 bytes");
        assert!(stop_logging());
        msg("dropped again");
        assert_eq!(
            without_timestamps(&captured.0.borrow()),
            [
                "[-] Log opened.",
                "[-] kept",
                "[-] Unhandled Error",
                "\tit broke",
                "\t",
                "[Poetry,0,127.0.0.1] sending 10 bytes",
            ]
        );
    }

    #[test]
    fn a_log_file_can_be_reopened_after_it_was_moved_away() {
        let dir = std::env::temp_dir().join(format!("common-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (path, moved) = (dir.join("server.log"), dir.join("server.log.1"));
        assert!(
            !reopen_log().unwrap(),
            "nothing to reopen before a file is started"
        );
        start_logging_to_file(&path).unwrap();
        msg("before the rotation");
        std::fs::rename(&path, &moved).unwrap();
        msg("still into the moved file");
        assert!(reopen_log().unwrap());
        msg("after the rotation");
        assert!(stop_logging());
        assert!(!reopen_log().unwrap(), "the file is no longer the observer");
        let read = |path: &Path| without_timestamps(&std::fs::read(path).unwrap());
        assert_eq!(
            read(&moved),
            [
                "[-] Log opened.",
                "[-] before the rotation",
                "[-] still into the moved file"
            ]
        );
        assert_eq!(read(&path), ["[-] after the rotation"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
