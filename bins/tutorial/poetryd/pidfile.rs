//! The pid file: the daemon's process id, for `kill $(cat poetryd.pid)`, and a lock against a
//! second daemon in the same place.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use common::cli::output::{plain_error, program_name};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The pid file: the daemon's process id, for `kill $(cat poetryd.pid)`, and a lock against a
/// second daemon in the same place.
pub(crate) struct PidFile {
    pub(crate) path: PathBuf,
}

impl PidFile {
    /// The line for a pid file that names a running process.
    fn another_is_running(&self, pid: i32) -> String {
        format!(
            "Another poetryd is running, PID {pid} (from {}).",
            self.path.display()
        )
    }

    /// Checks, before starting, that no other poetryd uses the pid file. A file left by a process
    /// that no longer runs is removed, and its pid returned so that the log can say so. `Err` is
    /// the line to print when poetryd must not start.
    pub(crate) fn clear_stale(&self) -> Result<Option<i32>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error_line("cannot read", &error)),
        };
        let pid = match text.trim().parse::<i32>() {
            Ok(pid) if pid > 0 => pid,
            _ => {
                return Err(format!(
                    "{}: error: {} does not hold a process id; remove it if no poetryd uses it",
                    program_name(),
                    self.path.display()
                ));
            }
        };
        // Signal 0 only asks whether the process exists; EPERM means it does, as another user's.
        let alive = pid != std::process::id() as i32
            && !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH));
        if alive {
            return Err(self.another_is_running(pid));
        }
        fs::remove_file(&self.path).map_err(|error| self.error_line("cannot remove", &error))?;
        Ok(Some(pid))
    }

    /// Writes our pid. The file is created only if it does not exist, so that of two daemons
    /// started at the same moment, one starts and the other is told about it.
    pub(crate) fn write(&self) -> Result<(), String> {
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path);
        let mut file = match created {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&self.path).unwrap_or_default();
                return Err(match holder.trim().parse() {
                    Ok(pid) => self.another_is_running(pid),
                    Err(_) => self.error_line("cannot create", &error),
                });
            }
            Err(error) => return Err(self.error_line("cannot create", &error)),
        };
        writeln!(file, "{}", std::process::id())
            .map_err(|error| self.error_line("cannot write", &error))
    }

    /// Removes the pid file, if it is still ours.
    pub(crate) fn remove(&self) {
        let ours = fs::read_to_string(&self.path)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }

    fn error_line(&self, what: &str, error: &io::Error) -> String {
        format!(
            "{}: error: {what} the pid file {}: {}",
            program_name(),
            self.path.display(),
            plain_error(error)
        )
    }
}
