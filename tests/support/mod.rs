//! What the end-to-end tests share: starting the real programs, reading what they print, and the
//! facts about the poems the tests check against.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod memcached;
pub mod twisted;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The resident memory of a process, in KiB, from /proc: what a test of a server's memory bound
/// looks at.
pub fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The path of one of the project's programs, built by Cargo for the tests.
pub fn program(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_slowpoetry"))
        .parent()
        .unwrap();
    dir.join(name)
}

/// The names of the root package's programs, from the `bin = [...]` list of Cargo.toml; with
/// `tutorial_only`, those in `bins/tutorial/`.
pub fn bins(tutorial_only: bool) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .filter(|line| !tutorial_only || line.contains("path = \"bins/tutorial/"))
        .filter_map(|line| line.trim().strip_prefix("{ name = \""))
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The path of one of the root package's examples (the benchmarks' loads and references,
/// `examples/`), which `cargo test` builds into `examples/` next to the programs.
pub fn example(name: &str) -> PathBuf {
    program("examples").join(name)
}

/// The path of a poem in `poetry/`.
pub fn poem_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("poetry")
        .join(name)
}

/// The bytes of a poem in `poetry/`.
pub fn poem(name: &str) -> Vec<u8> {
    std::fs::read(poem_path(name)).unwrap()
}

/// Runs a program to completion with no input and returns what it printed and its status.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(program(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The lines of a captured stream.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A port on 127.0.0.1 with nothing listening on it (it was free a moment ago).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether `text` is a duration as the tutorial prints it: `H:MM:SS` with an optional `.ffffff`.
pub fn is_clock(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let parts: Vec<&str> = whole.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && digits(parts[0])
        && parts[1].len() == 2
        && digits(parts[1])
        && parts[2].len() == 2
        && digits(parts[2])
        && (fraction.is_empty() || (fraction.len() == 6 && digits(fraction)))
}

/// The port in a server's startup line, which ends `on port N.` (the slow servers) or
/// `on IPv4Address(type='TCP', host='127.0.0.1', port=N).` (the Twisted-style servers).
pub fn port_in_startup_line(line: &str) -> Option<u16> {
    let line = line.strip_suffix('.')?;
    let line = line.strip_suffix(')').unwrap_or(line);
    let digits = line.rsplit([' ', '=']).next()?;
    digits.parse().ok()
}

/// How long a test waits for a line from a server before it fails rather than hang.
const LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// A server program running in the background for one test; killed when dropped.
pub struct Server {
    child: Child,
    /// The lines the server prints after its startup line, read by a thread as they come.
    stdout: Receiver<String>,
    /// The port it reported on its first line.
    pub port: u16,
    /// Its first line, as printed.
    pub startup_line: String,
}

impl Server {
    /// Starts a server with `--port 0` added, and reads the port it got from its first line.
    pub fn start(name: &str, args: &[&str]) -> Server {
        let mut child = Command::new(program(name))
            .args(args)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut startup_line = String::new();
        reader.read_line(&mut startup_line).unwrap();
        let startup_line = startup_line.trim_end().to_owned();
        let (sender, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let port = port_in_startup_line(&startup_line)
            .unwrap_or_else(|| panic!("no port in the startup line {startup_line:?}"));
        Server {
            child,
            stdout,
            port,
            startup_line,
        }
    }

    /// Starts `slowpoetry` on a poem of `poetry/`, with extra options.
    pub fn slow(poem_name: &str, options: &[&str]) -> Server {
        let path = poem_path(poem_name);
        let mut args = vec![path.to_str().unwrap()];
        args.extend_from_slice(options);
        Server::start("slowpoetry", &args)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port as a client argument.
    pub fn arg(&self) -> String {
        self.port.to_string()
    }

    /// Reads the next line the server prints, waiting for it (the test fails after a while rather
    /// than hang).
    pub fn next_line(&mut self) -> String {
        self.stdout
            .recv_timeout(LINE_TIMEOUT)
            .expect("the server printed no further line")
    }

    /// Stops the server and returns everything it printed after the startup line, and on stderr.
    pub fn stop(mut self) -> (Vec<String>, Vec<String>) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader thread sees end of file once the server is gone, and drops its sender.
        let out: Vec<String> = self.stdout.iter().collect();
        let mut err = Vec::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut err)
            .unwrap();
        (out, lines(&err))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server of the training or the talks, running in the background for one test. These servers
/// print nothing of their own on stdout; they say where they listen on stderr, one line per port
/// (`listening on 127.0.0.1:43817`, `listening on unix:/tmp/x.sock`), which `start` reads.
pub struct Listening {
    child: Child,
    /// What each `listening on` line named, in order.
    pub addresses: Vec<String>,
    /// Everything printed on stdout so far, read by a thread as it comes (so that a server that
    /// logs a lot never waits for a full pipe).
    stdout: Arc<Mutex<Vec<u8>>>,
    stdout_reader: Option<thread::JoinHandle<()>>,
}

impl Listening {
    /// Starts `name` with `args`, and waits for `ports` lines saying where it listens.
    pub fn start(name: &str, args: &[&str], ports: usize) -> Listening {
        let mut child = Command::new(program(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addresses = Vec::new();
        while addresses.len() < ports {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                panic!("{name} ended before it listened: {addresses:?}");
            }
            let rest = line.trim_end().strip_prefix("listening on ");
            let rest = rest.unwrap_or_else(|| panic!("{name} said {line:?}"));
            addresses.push(rest.trim_end_matches(" (UDP)").to_owned());
        }
        // Give stderr back to the child's handle, so that `terminate` can read the rest.
        child.stderr = Some(stderr.into_inner());
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stdout.take().unwrap();
        let collected = Arc::clone(&stdout);
        let stdout_reader = thread::spawn(move || {
            let mut buffer = [0; 8192];
            while let Ok(count @ 1..) = pipe.read(&mut buffer) {
                collected
                    .lock()
                    .unwrap()
                    .extend_from_slice(&buffer[..count]);
            }
        });
        Listening {
            child,
            addresses,
            stdout,
            stdout_reader: Some(stdout_reader),
        }
    }

    /// What the server has printed on stdout so far.
    pub fn stdout_so_far(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits (up to `LINE_TIMEOUT`) until stdout holds a line for which `wanted` is true, and
    /// returns that line.
    pub fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + LINE_TIMEOUT;
        loop {
            let text = String::from_utf8_lossy(&self.stdout_so_far()).into_owned();
            if let Some(line) = text.lines().find(|line| wanted(line)) {
                return line.to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no such line on stdout:\n{text}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The TCP or UDP port of the `index`th address.
    pub fn port(&self, index: usize) -> u16 {
        let address = &self.addresses[index];
        address.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM, as a service manager would, and returns its exit status,
    /// what it printed on stdout, and what it printed on stderr after its `listening` lines.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<u8>, Vec<u8>) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.stdout_reader.take() {
            reader.join().unwrap();
        }
        let out = std::mem::take(&mut *self.stdout.lock().unwrap());
        let mut err = Vec::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut err)
            .unwrap();
        (status, out, err)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/fixtures/pages.py`, the page server of the HTTP clients' tests, running for one test on a
/// free port; killed when dropped.
pub struct PageServer {
    child: Child,
    pub port: u16,
}

impl PageServer {
    /// Starts the fixture in `mode` (`ok`, `repos-404`...) and reads the port it printed.
    pub fn start(mode: &str) -> PageServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the page server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the page server's port");
        PageServer { child, port }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The server as the GitHub examples' `--api`.
    pub fn api(&self) -> String {
        self.url("")
    }

    /// How many times `path` was asked for so far.
    pub fn hits(&self, path: &str) -> u64 {
        self.counts()["hits"][path].as_u64().unwrap_or(0)
    }

    /// How many clients of the slow page `path` left before its answer.
    pub fn left(&self, path: &str) -> u64 {
        self.counts()["left"][path].as_u64().unwrap_or(0)
    }

    /// The fixture's `/hits`, asked over a plain HTTP/1.0 request.
    fn counts(&self) -> serde_json::Value {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(LINE_TIMEOUT)).unwrap();
        std::io::Write::write_all(&mut stream, b"GET /hits HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (_, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
