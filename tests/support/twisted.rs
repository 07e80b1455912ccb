//! Real Twisted for the Perspective Broker interoperability tests: the Python of the virtual
//! environment that `scripts/interop/pb.sh` makes (`.ci/run` runs it before the tests), and the
//! Python peers of `scripts/interop/twisted/`, run as servers in the background or as clients to
//! completion.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

/// How long a peer may take to start or to print its next line.
const WAIT: Duration = Duration::from_secs(30);

/// The directory of the Python peers.
fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/interop/twisted")
}

/// The environment variable that makes a missing Twisted a failure rather than a skip: `.ci/run`
/// sets it, so that CI cannot pass without having talked to Twisted at all.
const REQUIRE: &str = "REQUIRE_TWISTED";

/// The Python with Twisted, as `scripts/interop/pb.sh --check` reports it; `None` (having printed
/// why the test skips) when it has not been set up, e.g. on a machine without access to PyPI.
/// With `REQUIRE_TWISTED` set to anything but empty or `0`, a missing Twisted fails the test.
pub fn python() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/interop/pb.sh");
    let output = Command::new("bash")
        .arg(script)
        .arg("--check")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let path = String::from_utf8(output.stdout).unwrap();
    if !output.status.success() || path.trim().is_empty() {
        if required() {
            panic!(
                "no Twisted, and {REQUIRE} is set: run scripts/interop/pb.sh to set it up (it needs PyPI)"
            );
        }
        eprintln!("SKIPPED: no Twisted (run scripts/interop/pb.sh to set it up; it needs PyPI)");
        return None;
    }
    Some(PathBuf::from(path.trim()))
}

/// Whether `REQUIRE_TWISTED` asks for Twisted to be there (set, and neither empty nor `0`).
fn required() -> bool {
    std::env::var_os(REQUIRE).is_some_and(|value| !value.is_empty() && value != "0")
}

/// Runs the Python peer `script` (a client) to completion with `args`.
pub fn run(python: &Path, script: &str, args: &[&str]) -> Output {
    Command::new(python)
        .arg(peers().join(script))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A Python peer serving on a free port of 127.0.0.1 for one test; killed when dropped.
pub struct PythonServer {
    child: Child,
    /// What it prints after its `listening on` line, read by a thread as it comes.
    stdout: Receiver<String>,
    pub port: u16,
}

impl PythonServer {
    /// Starts the peer `script` with port 0 and reads the port from its first line,
    /// `listening on 127.0.0.1:PORT`.
    pub fn start(python: &Path, script: &str) -> PythonServer {
        let mut child = Command::new(python)
            .arg(peers().join(script))
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (sender, stdout) = mpsc::channel();
        let reader = BufReader::new(child.stdout.take().unwrap());
        thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let first = stdout
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("{script} did not start"));
        let port = first
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("{script} said {first:?}"));
        PythonServer {
            child,
            stdout,
            port,
        }
    }

    /// The next line the server prints (the test fails after a while rather than hang).
    pub fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(WAIT)
            .expect("the Python server printed no further line")
    }

    /// The port as a program argument.
    pub fn arg(&self) -> String {
        self.port.to_string()
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
