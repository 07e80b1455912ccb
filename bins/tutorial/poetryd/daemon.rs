//! Becoming a daemon: leaving the terminal, and telling the process that started us whether the
//! server came up.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use common::cli::output::{plain_error, program_name, report_error};
use common::errln;
use nix::errno::Errno;
use nix::unistd::ForkResult;

/// How the daemon tells the process that started it whether it is up: a line through a pipe,
/// which that process waits for before it exits (0 once the server listens, 1 and the error line
/// if it could not start). In the foreground there is only the terminal to tell.
pub(crate) struct StartReport(Option<File>);

/// What the daemon writes into the pipe when it is up.
const READY: &str = "ready";

impl StartReport {
    /// The report of a server that stays in the foreground: errors go to the terminal.
    pub(crate) fn foreground() -> StartReport {
        StartReport(None)
    }

    pub(crate) fn ready(self) {
        if let Some(mut pipe) = self.0 {
            let _ = writeln!(pipe, "{READY}");
        }
    }

    pub(crate) fn failed(self, line: &str) {
        match self.0 {
            Some(mut pipe) => {
                let _ = writeln!(pipe, "{line}");
            }
            None => errln!("{line}"),
        }
    }
}

/// Which process `daemonize` returned in.
pub(crate) enum Forked {
    /// A process with nothing left to do but exit with this status: the one started from the
    /// terminal, once the daemon has reported, or a child that could not become a daemon.
    Exit(ExitCode),
    /// The daemon, with the pipe to report its start through.
    Daemon(StartReport),
}

/// Becomes a daemon: forks, and the child starts a session of its own (no controlling terminal)
/// and points stdin, stdout and stderr at /dev/null. The parent waits for the child's report.
///
/// This must run before the reactor exists: a tokio runtime (its threads, its signal handling) does
/// not survive a fork.
pub(crate) fn daemonize() -> Result<Forked, String> {
    let (read_end, write_end) =
        nix::unistd::pipe().map_err(|error| failed_to("make a pipe", error))?;
    // SAFETY: the process has a single thread here (nothing has started a thread or a runtime
    // yet), so the child is a complete copy of it and may go on running Rust code.
    match unsafe { nix::unistd::fork() }.map_err(|error| failed_to("fork", error))? {
        ForkResult::Parent { .. } => {
            drop(write_end);
            Ok(Forked::Exit(wait_for_daemon(read_end)))
        }
        ForkResult::Child => {
            drop(read_end);
            let report = StartReport(Some(File::from(write_end)));
            match detach() {
                Ok(()) => Ok(Forked::Daemon(report)),
                Err(error) => {
                    report.failed(&format!("{}: error: {error}", program_name()));
                    Ok(Forked::Exit(ExitCode::FAILURE))
                }
            }
        }
    }
}

/// In the child: a session of its own, and the standard streams on /dev/null.
fn detach() -> Result<(), String> {
    nix::unistd::setsid().map_err(|error| failed_to("start a session", error))?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|error| format!("cannot open /dev/null: {}", plain_error(&error)))?;
    nix::unistd::dup2_stdin(&null)
        .and_then(|()| nix::unistd::dup2_stdout(&null))
        .and_then(|()| nix::unistd::dup2_stderr(&null))
        .map_err(|error| failed_to("detach from the terminal", error))
}

fn failed_to(what: &str, error: Errno) -> String {
    format!("cannot {what}: {}", error.desc())
}

/// In the starting process: waits for the daemon's report and returns the exit status it means.
fn wait_for_daemon(pipe: OwnedFd) -> ExitCode {
    let mut report = String::new();
    let _ = File::from(pipe).read_to_string(&mut report);
    match report.trim_end() {
        READY => ExitCode::SUCCESS,
        "" => {
            report_error("the daemon ended before it was ready; see its log file");
            ExitCode::FAILURE
        }
        line => {
            errln!("{line}");
            ExitCode::FAILURE
        }
    }
}
