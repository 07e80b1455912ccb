//! End-to-end tests of Part 16: `poetryd` (our twistd, with its fastpoetry, slowpoetry,
//! transformedpoetry and poetry-proxy plugins) and `fastpoetry-2` (the tac-file stage).
//!
//! Each daemon runs in a temporary directory with its log and pid file there, on a free port that
//! the test reads from the log. Every test stops its daemon, and a guard kills it if the test fails
//! first.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{lines, poem, poem_path, program};
use tempfile::TempDir;

/// How long a test waits for a daemon to do something before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// Waits until `ready` gives a value, or panics with `what` after a while.
fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A log's lines without their timestamps (`2026-11-21 07:28:50+0000 `), which are checked for
/// their shape on the way.
fn log_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().map(without_timestamp).collect()
}

fn without_timestamp(line: &str) -> String {
    // A message's continuation line has no timestamp of its own.
    if line.starts_with('\t') {
        return line.to_owned();
    }
    let (stamp, rest) = line.split_at(25);
    let shape: String = stamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99+9999 ", "{line}");
    rest.to_owned()
}

/// The port in the `PoetryFactory starting on N` line of a log.
fn port_in(lines: &[String]) -> Option<u16> {
    lines
        .iter()
        .find_map(|line| line.split_once("Factory starting on "))
        .map(|(_, port)| port.parse().unwrap())
}

/// Fetches a poem, and returns it with the local port the request came from.
fn fetch(port: u16) -> (Vec<u8>, u16) {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let local = socket.local_addr().unwrap().port();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    (received, local)
}

/// `Starting factory <PoetryFactory object at 0x…>`: the object's address varies.
fn is_factory_line(line: &str, verb: &str, class: &str) -> bool {
    line.strip_prefix(&format!("[-] {verb} factory <{class} object at 0x"))
        .and_then(|rest| rest.strip_suffix('>'))
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A daemon started in its own temporary directory, killed when dropped unless it was seen to
/// shut down.
struct Daemon {
    dir: TempDir,
    pid: Option<i32>,
    port: u16,
}

impl Daemon {
    /// Runs `poetryd` in a new temporary directory with its log and pid file there.
    fn start(plugin_args: &[&str]) -> Daemon {
        let daemon = Daemon {
            dir: tempfile::tempdir().unwrap(),
            pid: None,
            port: 0,
        };
        daemon.started(plugin_args)
    }

    /// Starts the daemon in this directory: it must report success, and have written its pid file
    /// and logged its port by then.
    fn started(mut self, plugin_args: &[&str]) -> Daemon {
        let starter = self.poetryd(&[], plugin_args);
        assert!(starter.status.success(), "{starter:?}");
        assert!(starter.stdout.is_empty() && starter.stderr.is_empty());
        let pid: i32 = fs::read_to_string(self.pid_file())
            .expect("the pid file is written before the start is reported")
            .trim()
            .parse()
            .unwrap();
        self.pid = Some(pid);
        self.port = port_in(&self.log()).expect("the log names the port");
        self
    }

    /// Runs `poetryd` with the log and pid file of this directory and waits for the process started
    /// from the "terminal" to exit.
    fn poetryd(&self, options: &[&str], plugin_args: &[&str]) -> Output {
        Command::new(program("poetryd"))
            .current_dir(self.dir.path())
            .arg("--logfile")
            .arg(self.log_file())
            .arg("--pidfile")
            .arg(self.pid_file())
            .args(options)
            .args(plugin_args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("poetryd.log")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("poetryd.pid")
    }

    fn log(&self) -> Vec<String> {
        log_lines(&self.log_file())
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid.unwrap()), signal).unwrap();
    }

    /// Sends SIGTERM and waits for the last line of the shutdown.
    fn stop(&mut self) {
        self.signal(Signal::SIGTERM);
        wait_for("the daemon to shut down", || {
            self.log()
                .last()
                .filter(|line| *line == "[-] Server Shut Down.")
                .map(|_| ())
        });
        self.pid = None;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// The fastpoetry plugin's arguments for a poem of `poetry/`, on a free port.
fn fastpoetry(poem_name: &str) -> Vec<String> {
    [
        "fastpoetry",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--poem",
        poem_path(poem_name).to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn a_daemon_serves_logs_and_shuts_down_cleanly_on_sigterm() {
    let args = fastpoetry("alla_sera.txt");
    let mut daemon = Daemon::start(&strs(&args));
    let pid = daemon.pid.unwrap();
    let port = daemon.port;

    // A daemon: a process of its own, leading its own session (no controlling terminal).
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(fields[3], pid.to_string(), "session id: {stat}");

    let poem_file = poem_path("alla_sera.txt");
    let log = daemon.log();
    assert_eq!(log[0], "[-] Log opened.");
    assert_eq!(
        log[1],
        format!(
            "[-] poetryd {} (pid {pid}) starting up.",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(log[2], "[-] reactor class: common::reactor::Reactor.");
    assert_eq!(log[3], format!("[-] PoetryFactory starting on {port}"));
    assert!(
        is_factory_line(&log[4], "Starting", "PoetryFactory"),
        "{log:?}"
    );
    assert_eq!(
        log[5],
        format!("[-] loaded a poem from: {}", poem_file.display())
    );
    assert_eq!(log.len(), 6, "{log:?}");

    let (received, local_port) = fetch(port);
    assert!(received == poem("alla_sera.txt"), "the poem, byte for byte");
    assert_eq!(
        daemon.log()[6],
        format!(
            "[poetryd.fastpoetry.PoetryFactory] sending 581 bytes of poetry to \
             IPv4Address(type='TCP', host='127.0.0.1', port={local_port})"
        )
    );

    daemon.stop();
    assert!(!daemon.pid_file().exists(), "the pid file is removed");
    let log = daemon.log();
    let shutdown = &log[7..];
    assert_eq!(shutdown[0], "[-] Received SIGTERM, shutting down.");
    assert_eq!(shutdown[1], format!("[-] (TCP Port {port} Closed)"));
    assert_eq!(
        shutdown[2].replace("Stopping", "Starting"),
        log[4],
        "the same factory"
    );
    assert_eq!(
        &shutdown[3..],
        ["[-] Main loop terminated.", "[-] Server Shut Down."]
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_live_pid_file_keeps_a_second_daemon_from_starting() {
    let args = fastpoetry("science.txt");
    let mut daemon = Daemon::start(&strs(&args));
    let first = daemon.pid.unwrap();
    let log_before = daemon.log();

    let second = daemon.poetryd(&[], &strs(&args));
    assert_eq!(second.status.code(), Some(1));
    assert!(second.stdout.is_empty());
    assert_eq!(
        lines(&second.stderr),
        [format!(
            "Another poetryd is running, PID {first} (from {}).",
            daemon.pid_file().display()
        )]
    );
    assert_eq!(daemon.log(), log_before, "the second one never logged");
    assert_eq!(
        fs::read_to_string(daemon.pid_file()).unwrap().trim(),
        first.to_string()
    );
    assert!(
        fetch(daemon.port).0 == poem("science.txt"),
        "the first serves on"
    );
    daemon.stop();
}

#[test]
fn a_stale_pid_file_is_replaced_and_logged() {
    // The pid of a process that has ended.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();

    let daemon = Daemon {
        dir: tempfile::tempdir().unwrap(),
        pid: None,
        port: 0,
    };
    fs::write(daemon.pid_file(), format!("{dead}\n")).unwrap();
    let mut daemon = daemon.started(&strs(&fastpoetry("science.txt")));
    assert_ne!(daemon.pid, Some(dead as i32));
    assert!(daemon.log().contains(&format!(
        "[-] Removed the stale pid file {} (PID {dead} is not running).",
        daemon.pid_file().display()
    )));
    assert!(fetch(daemon.port).0 == poem("science.txt"));
    daemon.stop();
}

#[test]
fn a_pid_file_without_a_pid_is_left_alone() {
    let daemon = Daemon {
        dir: tempfile::tempdir().unwrap(),
        pid: None,
        port: 0,
    };
    fs::write(daemon.pid_file(), "my notes\n").unwrap();
    let output = daemon.poetryd(&[], &strs(&fastpoetry("science.txt")));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "poetryd: error: {} does not hold a process id; remove it if no poetryd uses it",
            daemon.pid_file().display()
        )]
    );
    assert_eq!(fs::read_to_string(daemon.pid_file()).unwrap(), "my notes\n");
    assert!(!daemon.log_file().exists());
}

#[test]
fn sighup_reopens_a_log_file_that_was_moved_away() {
    let mut daemon = Daemon::start(&strs(&fastpoetry("science.txt")));
    let rotated = daemon.dir.path().join("poetryd.log.1");
    fs::rename(daemon.log_file(), &rotated).unwrap();

    daemon.signal(Signal::SIGHUP);
    wait_for("the log file to be reopened", || {
        (daemon.log() == ["[-] Received SIGHUP, reopened the log file."]).then_some(())
    });
    let (received, local_port) = fetch(daemon.port);
    assert!(received == poem("science.txt"), "SIGHUP did not stop it");
    let request = format!(
        "[poetryd.fastpoetry.PoetryFactory] sending 650 bytes of poetry to \
         IPv4Address(type='TCP', host='127.0.0.1', port={local_port})"
    );
    assert_eq!(daemon.log()[1], request);
    let old = log_lines(&rotated);
    assert_eq!(
        old.last().unwrap(),
        &format!(
            "[-] loaded a poem from: {}",
            poem_path("science.txt").display()
        )
    );
    assert!(!old.contains(&request));

    daemon.stop();
    assert_eq!(daemon.log()[2], "[-] Received SIGTERM, shutting down.");
}

#[test]
fn bad_plugin_options_are_refused_before_forking() {
    let dir = tempfile::tempdir().unwrap();
    let science = poem_path("science.txt");
    let science = science.to_str().unwrap();
    let poetry_dir = poem_path("");
    let poetry_dir = poetry_dir.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["fastpoetry", "--port", "abc", "--poem", science],
            "invalid value 'abc' for '--port <PORT>'",
        ),
        (
            &["fastpoetry", "--port", "10000"],
            "the following required arguments were not provided",
        ),
        (
            &["slowpoetry", "--poem", "nothere.txt"],
            "No such file: nothere.txt",
        ),
        (&["fastpoetry", "--poem", poetry_dir], "not a regular file"),
        (
            &["slowpoetry", "--poem", science, "--delay", "soon"],
            "invalid value 'soon' for '--delay <DELAY>'",
        ),
        (
            &["poetry-proxy", "--port", "10000", "--server", "10000"],
            "poetryd: error: 127.0.0.1:10000 is where this proxy listens: it would wait for ever \
             on its own poem\n",
        ),
    ];
    for (args, message) in cases {
        let started = Instant::now();
        let output = Command::new(program("poetryd"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(started.elapsed() < PATIENCE);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert!(
            left.is_empty(),
            "{args:?} left no pid or log file: {left:?}"
        );
    }
}

#[test]
fn a_port_in_use_is_reported_by_the_process_that_was_started() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let daemon = Daemon {
        dir: tempfile::tempdir().unwrap(),
        pid: None,
        port: 0,
    };
    let science = poem_path("science.txt");
    let output = daemon.poetryd(
        &[],
        &[
            "fastpoetry",
            "--port",
            &port,
            "--iface",
            "127.0.0.1",
            "--poem",
            science.to_str().unwrap(),
        ],
    );
    let error =
        format!("poetryd: error: Couldn't listen on 127.0.0.1:{port}: Address already in use.");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output.stderr), std::slice::from_ref(&error));
    assert!(!daemon.pid_file().exists());
    let log = wait_for("the daemon to give up", || {
        let log = daemon.log();
        (log.last().map(String::as_str) == Some("[-] Server Shut Down.")).then_some(log)
    });
    assert!(log.contains(&format!("[-] {error}")), "{log:?}");
}

#[test]
fn with_no_plugin_it_lists_the_plugins() {
    let output = support::run("poetryd", &[]);
    assert!(output.status.success());
    let out = lines(&output.stdout);
    assert!(out.contains(&"Plugins:".to_owned()), "{out:?}");
    // The names are padded to the longest, so spaces are compared as one.
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    for plugin in [
        "fastpoetry A fast poetry service",
        "slowpoetry A slow poetry service",
        "transformedpoetry A poetry transformation service",
        "poetry-proxy A caching poetry proxy",
        "web A web server for static files",
        "catchat A chat server for nc users, with its admin API",
        "catchat-dashboard The chat server's admin dashboard",
    ] {
        assert!(out.iter().any(|line| words(line) == plugin), "{out:?}");
    }
}

/// A program running in the foreground, its stdout read line by line; killed when dropped.
struct Foreground {
    child: Child,
    stdout: Receiver<String>,
}

impl Foreground {
    fn start(name: &str, dir: &Path, args: &[&str]) -> Foreground {
        let mut child = Command::new(program(name))
            .current_dir(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let reader = BufReader::new(child.stdout.take().unwrap());
        let (sender, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Foreground { child, stdout }
    }

    /// The next line of its log, without the timestamp.
    fn next_line(&self) -> String {
        without_timestamp(&self.stdout.recv_timeout(PATIENCE).expect("a log line"))
    }

    /// Lines up to and including the one that names the port; returns them and the port.
    fn until_port(&self) -> (Vec<String>, u16) {
        let mut seen = Vec::new();
        loop {
            seen.push(self.next_line());
            if let Some(port) = port_in(&seen) {
                return (seen, port);
            }
        }
    }

    /// Sends `signal`, waits for the exit, and returns the status and the rest of the log.
    fn stop(mut self, signal: Signal) -> (Option<i32>, Vec<String>, String) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        let status = self.child.wait().unwrap();
        let rest = self
            .stdout
            .iter()
            .map(|line| without_timestamp(&line))
            .collect();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.code(), rest, stderr)
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn nodaemon_stays_in_the_foreground_and_logs_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("slow.pid");
    let science = poem_path("science.txt");
    let server = Foreground::start(
        "poetryd",
        dir.path(),
        &[
            "--nodaemon",
            "--pidfile",
            pid_file.to_str().unwrap(),
            "slowpoetry",
            "-p",
            "0",
            "--iface",
            "127.0.0.1",
            "--poem",
            science.to_str().unwrap(),
            "--delay",
            "0.001",
            "--num-bytes",
            "100",
        ],
    );
    let (startup, port) = server.until_port();
    assert_eq!(startup[0], "[-] Log opened.");
    assert_eq!(
        startup.last().unwrap(),
        &format!("[-] SlowPoetryFactory starting on {port}")
    );
    assert!(is_factory_line(
        &server.next_line(),
        "Starting",
        "SlowPoetryFactory"
    ));
    assert_eq!(
        server.next_line(),
        format!("[-] loaded a poem from: {}", science.display())
    );
    // The pid file names this very process: it did not fork.
    wait_for("the pid file", || {
        fs::read_to_string(&pid_file)
            .ok()
            .filter(|text| text.ends_with('\n'))
    });
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap().trim(),
        server.child.id().to_string()
    );

    let (received, local_port) = fetch(port);
    assert!(received == poem("science.txt"));
    assert_eq!(
        server.next_line(),
        format!(
            "[poetryd.slowpoetry.SlowPoetryFactory] sending 650 bytes of poetry to \
             IPv4Address(type='TCP', host='127.0.0.1', port={local_port})"
        )
    );

    let (status, rest, stderr) = server.stop(Signal::SIGINT);
    assert_eq!(status, Some(0));
    assert_eq!(stderr, "");
    assert_eq!(rest[0], "[-] Received SIGINT, shutting down.");
    assert_eq!(rest[1], format!("[-] (TCP Port {port} Closed)"));
    assert!(is_factory_line(&rest[2], "Stopping", "SlowPoetryFactory"));
    assert_eq!(
        &rest[3..],
        ["[-] Main loop terminated.", "[-] Server Shut Down."]
    );
    assert!(!pid_file.exists());
    assert!(!dir.path().join("poetryd.log").exists(), "no log file");
}

#[test]
fn fastpoetry_2_serves_its_poem_from_a_tree_of_services() {
    let dir = tempfile::tempdir().unwrap();
    let poem_file = poem_path("alla_sera.txt");
    let server = Foreground::start(
        "fastpoetry-2",
        dir.path(),
        &[
            "--port",
            "0",
            "--iface",
            "127.0.0.1",
            "--poem",
            poem_file.to_str().unwrap(),
        ],
    );
    let (startup, port) = server.until_port();
    assert_eq!(
        startup,
        [
            "[-] Log opened.".to_owned(),
            format!("[-] PoetryFactory starting on {port}")
        ]
    );
    // The port is bound in the privileged step, before the poetry service (added first) starts.
    assert!(is_factory_line(
        &server.next_line(),
        "Starting",
        "PoetryFactory"
    ));
    assert_eq!(
        server.next_line(),
        format!("[-] loaded a poem from: {}", poem_file.display())
    );

    for _ in 0..2 {
        let (received, local_port) = fetch(port);
        assert!(received == poem("alla_sera.txt"), "the poem, byte for byte");
        assert_eq!(
            server.next_line(),
            format!(
                "[fastpoetry_2.PoetryFactory] sending 581 bytes of poetry to \
                 IPv4Address(type='TCP', host='127.0.0.1', port={local_port})"
            )
        );
    }

    let (status, rest, stderr) = server.stop(Signal::SIGTERM);
    assert_eq!(status, Some(0));
    assert_eq!(stderr, "");
    assert_eq!(rest[0], format!("[-] (TCP Port {port} Closed)"));
    assert!(is_factory_line(&rest[1], "Stopping", "PoetryFactory"));
    assert_eq!(
        &rest[2..],
        ["[-] Main loop terminated.", "[-] Server Shut Down."]
    );
}

#[test]
fn fastpoetry_2_reports_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let poem_file = poem_path("science.txt");
    let output = support::run(
        "fastpoetry-2",
        &[
            "--port",
            &port,
            "--iface",
            "127.0.0.1",
            "--poem",
            poem_file.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        lines(&output.stderr),
        [format!(
            "fastpoetry-2: error: Couldn't listen on 127.0.0.1:{port}: Address already in use."
        )]
    );
}

#[test]
fn fastpoetry_2_started_away_from_its_default_poem_says_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(program("fastpoetry-2"))
        .args(["--port", "0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(output.stdout, b"", "nothing started, nothing logged");
    assert_eq!(
        lines(&output.stderr),
        [
            "fastpoetry-2: error: no poetry/ecstasy.txt here: start it from the top of the project, \
          or name a poem with --poem FILE"
        ]
    );
}

/// Sends `request` and reads everything the server sends back before it closes the connection.
fn ask(port: u16, request: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket.write_all(request).unwrap();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap();
    received
}

/// `IPv4Address(type='TCP', host='127.0.0.1', port=N)`: how the log names a local client.
fn local_peer(line: &str) -> bool {
    line.contains("IPv4Address(type='TCP', host='127.0.0.1', port=")
}

/// Waits until the daemon has logged more than `seen` lines, and returns the new ones.
fn new_lines(daemon: &Daemon, seen: usize) -> Vec<String> {
    wait_for("a new log line", || {
        let log = daemon.log();
        (log.len() > seen).then(|| log[seen..].to_vec())
    })
}

/// Starts the slow plugin on a poem of 2,992 bytes sent 100 bytes every 50 ms (1.5 s in all),
/// connects `clients`, and sends SIGTERM once each has had its first piece. Returns what each client
/// received in all, and the log lines after the signal.
fn slow_downloads_at_shutdown(clients: usize, grace: &str) -> (Vec<usize>, Vec<String>) {
    let poem_file = poem_path("ecstasy.txt");
    let mut daemon = Daemon::start(&[
        "slowpoetry",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--poem",
        poem_file.to_str().unwrap(),
        "--delay",
        "50ms",
        "--num-bytes",
        "100",
        "--grace",
        grace,
    ]);
    let mut sockets: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect(("127.0.0.1", daemon.port)).unwrap())
        .collect();
    let mut received = vec![0; clients];
    for (socket, count) in sockets.iter_mut().zip(&mut received) {
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut first = [0; 100];
        *count = socket.read(&mut first).unwrap();
    }
    let seen = daemon.log().len();
    daemon.stop();
    for (socket, count) in sockets.iter_mut().zip(&mut received) {
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
        *count += rest.len();
    }
    (received, daemon.log()[seen..].to_vec())
}

#[test]
fn a_shutdown_lets_the_downloads_in_flight_finish() {
    let (received, logged) = slow_downloads_at_shutdown(3, "10s");
    assert_eq!(received, [2992; 3], "every poem whole");
    assert!(
        logged.contains(
            &"[poetryd.slowpoetry.SlowPoetryFactory] waiting up to 10s for 3 download(s) to \
              finish"
                .to_owned()
        ),
        "{logged:?}"
    );
    assert!(
        !logged.iter().any(|line| line.contains("cut short")),
        "{logged:?}"
    );
}

#[test]
fn a_shutdown_cuts_what_the_grace_period_does_not_cover_and_says_so() {
    let (received, logged) = slow_downloads_at_shutdown(2, "100ms");
    assert!(received.iter().all(|&count| count < 2992), "{received:?}");
    let cut = logged
        .iter()
        .find(|line| line.contains("cut short"))
        .unwrap_or_else(|| panic!("{logged:?}"));
    assert!(
        cut.starts_with(
            "[poetryd.slowpoetry.SlowPoetryFactory] the grace period is over: 2 download(s) cut \
             short: IPv4Address(type='TCP', host='127.0.0.1', port="
        ) && cut.ends_with(" of 2992 bytes"),
        "{cut}"
    );
}

#[test]
fn the_transform_plugin_answers_a_netstring_and_logs_it() {
    let mut daemon = Daemon::start(&["transformedpoetry", "--port", "0", "--iface", "127.0.0.1"]);
    let log = daemon.log();
    assert_eq!(
        log[3],
        format!("[-] TransformFactory starting on {}", daemon.port)
    );
    // The factory the port holds is the idle-timeout policy around the transform factory: its
    // line names the wrapper, as Twisted's names its TimeoutFactory.
    assert!(
        is_factory_line(&log[4], "Starting", "IdleTimeout"),
        "{log:?}"
    );
    let seen = log.len();

    let reply = ask(daemon.port, b"27:cummingsify.HERE IS MY POEM,");
    assert_eq!(String::from_utf8(reply).unwrap(), "15:here is my poem,");
    let logged = new_lines(&daemon, seen);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].starts_with(
            "[poetryd.transform_server.TransformFactory] transformed 15 bytes with cummingsify \
             for "
        ) && local_peer(&logged[0]),
        "{logged:?}"
    );

    // Two requests in one write: both answered, in order, before the close.
    let reply = ask(daemon.port, b"12:shout.a poem,13:reverse.a\nb\nc,");
    assert_eq!(String::from_utf8(reply).unwrap(), "6:A POEM,5:c\nb\na,");

    daemon.stop();
}

#[test]
fn the_transform_plugin_closes_on_a_bad_request_and_logs_it() {
    let mut daemon = Daemon::start(&["transformedpoetry", "--port", "0", "--iface", "127.0.0.1"]);
    let seen = daemon.log().len();
    assert!(
        ask(daemon.port, b"14:unknown.a poem,").is_empty(),
        "no reply"
    );
    let logged = new_lines(&daemon, seen);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].starts_with("[poetryd.transform_server.TransformFactory] bad request from ")
            && logged[0].ends_with(": unknown transform 'unknown'")
            && local_peer(&logged[0]),
        "{logged:?}"
    );

    let seen = daemon.log().len();
    assert!(ask(daemon.port, b"xyz").is_empty(), "no reply");
    let logged = new_lines(&daemon, seen);
    assert!(
        logged[0].contains("bad request from ") && logged[0].contains(": not a netstring: "),
        "{logged:?}"
    );
    daemon.stop();
}

#[test]
fn the_transform_plugin_closes_connections_that_say_nothing() {
    let mut daemon = Daemon::start(&[
        "transformedpoetry",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--idle-timeout",
        "300ms",
    ]);
    // Nothing sent: the server hangs up by itself (the read's own timeout is far longer).
    assert!(ask(daemon.port, b"").is_empty(), "no reply");
    assert_eq!(
        String::from_utf8(ask(daemon.port, b"8:shout.hi,")).unwrap(),
        "2:HI,"
    );
    daemon.stop();
}

#[test]
fn the_proxy_plugin_fetches_once_then_serves_from_its_cache() {
    let upstream =
        support::Server::start("fastpoetry", &[poem_path("science.txt").to_str().unwrap()]);
    let upstream_port = upstream.port.to_string();
    let mut daemon = Daemon::start(&[
        "poetry-proxy",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--server",
        &upstream_port,
    ]);
    assert_eq!(
        daemon.log()[3],
        format!("[-] PoetryProxyFactory starting on {}", daemon.port)
    );
    let seen = daemon.log().len();

    assert!(
        fetch(daemon.port).0 == poem("science.txt"),
        "the poem, fetched"
    );
    assert_eq!(
        new_lines(&daemon, seen),
        ["[poetryd.poetry_proxy.PoetryProxyFactory] Fetching poem from server."]
    );
    // The cache answers now, even with the upstream server gone.
    drop(upstream);
    for round in 1..=2 {
        assert!(
            fetch(daemon.port).0 == poem("science.txt"),
            "the poem, cached"
        );
        assert_eq!(
            new_lines(&daemon, seen + round),
            ["[poetryd.poetry_proxy.PoetryProxyFactory] Using cached poem."]
        );
    }
    daemon.stop();
}

#[test]
fn the_proxy_plugin_closes_its_client_when_the_upstream_is_down() {
    let dead = support::closed_port().to_string();
    let mut daemon = Daemon::start(&[
        "poetry-proxy",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--server",
        &dead,
    ]);
    let seen = daemon.log().len();
    assert!(fetch(daemon.port).0.is_empty(), "closed with nothing sent");
    let logged = wait_for("the failure line", || {
        let log = daemon.log();
        (log.len() >= seen + 2).then(|| log[seen..].to_vec())
    });
    assert_eq!(
        logged,
        [
            "[poetryd.poetry_proxy.PoetryProxyFactory] Fetching poem from server.".to_owned(),
            format!(
                "[poetryd.poetry_proxy.PoetryProxyFactory] Upstream 127.0.0.1:{dead} failed: \
                 Connection was refused by other side: 111: Connection refused."
            ),
        ]
    );
    // Nothing was cached: the next client tries the upstream server again.
    assert!(fetch(daemon.port).0.is_empty());
    assert_eq!(
        new_lines(&daemon, seen + 2)[0],
        "[poetryd.poetry_proxy.PoetryProxyFactory] Fetching poem from server."
    );
    daemon.stop();
}

#[test]
fn the_proxy_plugin_needs_an_upstream_server() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(program("poetryd"))
        .current_dir(dir.path())
        .args(["poetry-proxy", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--server <[HOST:]PORT>"), "{stderr}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_proxy_plugin_shares_one_download_between_waiting_clients() {
    // A slow upstream server: the second client arrives while the poem is still coming.
    let upstream = support::Server::slow("science.txt", &["--num-bytes", "100", "--delay", "0.05"]);
    let upstream_port = upstream.port.to_string();
    let mut daemon = Daemon::start(&[
        "poetry-proxy",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--server",
        &upstream_port,
    ]);
    let seen = daemon.log().len();
    let port = daemon.port;
    let first = thread::spawn(move || fetch(port).0);
    new_lines(&daemon, seen);
    let second = thread::spawn(move || fetch(port).0);
    for client in [first, second] {
        assert!(client.join().unwrap() == poem("science.txt"));
    }
    assert_eq!(
        daemon.log()[seen..],
        [
            "[poetryd.poetry_proxy.PoetryProxyFactory] Fetching poem from server.",
            "[poetryd.poetry_proxy.PoetryProxyFactory] Waiting for the poem being fetched.",
        ]
    );
    daemon.stop();
}

#[test]
fn the_proxy_plugin_gives_up_on_a_silent_upstream() {
    // An upstream server that accepts and never sends.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_port = silent.local_addr().unwrap().port().to_string();
    let mut daemon = Daemon::start(&[
        "poetry-proxy",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--server",
        &upstream_port,
        "--upstream-timeout",
        "0.5",
    ]);
    let seen = daemon.log().len();
    let port = daemon.port;
    // Ten clients come and go while the download hangs; one stays.
    for _ in 0..10 {
        drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    let (poem, _) = fetch(port);
    assert!(
        poem.is_empty(),
        "the staying client is let go, with nothing"
    );
    let log = new_lines(&daemon, seen);
    let failed = format!(
        "[poetryd.poetry_proxy.PoetryProxyFactory] Upstream 127.0.0.1:{upstream_port} failed: \
         it sent nothing for 500ms"
    );
    let failures = log.iter().filter(|line| **line == failed).count();
    assert_eq!(failures, 1, "{log:?}");
    daemon.stop();
    drop(silent);
}

// ---- talk 002: the chat server and its dashboard as plugins ----

/// Sends one HTTP request that closes the connection after the answer; returns the answer.
fn http(port: u16, method: &str, target: &str) -> String {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
}

/// The port in a `<Class> starting on N` line.
fn port_after(line: &str, class: &str) -> Option<u16> {
    line.strip_prefix(&format!("[-] {class} starting on "))
        .map(|port| port.parse().unwrap())
}

#[test]
fn the_catchat_plugin_serves_the_chat_and_its_api() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("chat.pid");
    let server = Foreground::start(
        "poetryd",
        dir.path(),
        &[
            "--nodaemon",
            "--pidfile",
            pid_file.to_str().unwrap(),
            "catchat",
            "--chat",
            "tcp:0",
            "--api",
            "tcp:0",
        ],
    );
    let mut startup = Vec::new();
    let (chat, api) = loop {
        startup.push(server.next_line());
        let chat = startup
            .iter()
            .find_map(|line| port_after(line, "NetCatChatFactory"));
        let api = startup.iter().find_map(|line| port_after(line, "Site"));
        if let (Some(chat), Some(api)) = (chat, api) {
            break (chat, api);
        }
    };
    assert_eq!(startup[0], "[-] Log opened.");
    assert!(is_factory_line(&server.next_line(), "Starting", "Site"));
    wait_for("the pid file", || fs::metadata(&pid_file).ok());

    let join = || {
        let mut user = TcpStream::connect(("127.0.0.1", chat)).unwrap();
        user.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut banner = [0; 24];
        user.read_exact(&mut banner).unwrap();
        assert_eq!(&banner, b"Welcome to NetCatChat!\r\n");
        user
    };
    let (mut alice, mut bob) = (join(), join());
    alice.write_all(b"hello bob\n").unwrap();
    let mut heard = [0; 10];
    bob.read_exact(&mut heard).unwrap();
    assert_eq!(&heard, b"hello bob\n");
    assert_eq!(server.next_line(), "[-] 127.0.0.1: hello bob");
    assert_eq!(server.next_line(), "\t");
    let answer = http(api, "GET", "/users/");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n{\n    \"users\": 2\n}\n"),
        "{answer}"
    );
    assert!(
        server
            .next_line()
            .contains("\"GET /users/ HTTP/1.1\" 200 19")
    );

    let (status, rest, stderr) = server.stop(Signal::SIGTERM);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert_eq!(rest[0], "[-] Received SIGTERM, shutting down.");
    assert!(
        rest.contains(&format!("[-] (TCP Port {chat} Closed)")),
        "{rest:?}"
    );
    assert!(
        rest.contains(&format!("[-] (TCP Port {api} Closed)")),
        "{rest:?}"
    );
    assert_eq!(rest.last().unwrap(), "[-] Server Shut Down.");
    assert!(!pid_file.exists());
}

#[test]
fn the_dashboard_plugin_shows_the_chat_through_its_api() {
    let dir = tempfile::tempdir().unwrap();
    let chat = support::Listening::start("catchat", &["--chat", "tcp:0", "--api", "tcp:0"], 2);
    let api = format!("http://127.0.0.1:{}", chat.port(1));
    let server = Foreground::start(
        "poetryd",
        dir.path(),
        &[
            "--nodaemon",
            "--pidfile",
            dir.path().join("d.pid").to_str().unwrap(),
            "catchat-dashboard",
            "--port",
            "0",
            "--api",
            &api,
        ],
    );
    let port = loop {
        if let Some(port) = port_after(&server.next_line(), "Site") {
            break port;
        }
    };
    let page = http(port, "GET", "/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("<span id=\"user-count\">0</span>"), "{page}");
    assert!(page.contains("Welcome to NetCatChat!\r\n</pre>"), "{page}");
    let (status, _, stderr) = server.stop(Signal::SIGTERM);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
}

#[test]
fn the_chat_plugins_refuse_a_bad_token_file_before_forking() {
    let dir = tempfile::tempdir().unwrap();
    for plugin in ["catchat", "catchat-dashboard"] {
        let output = Command::new(program("poetryd"))
            .current_dir(dir.path())
            .args([plugin, "--api-token-file", "nothere.txt"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{plugin}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            stderr,
            "poetryd: error: cannot read the token file nothere.txt: No such file or directory\n"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn the_proxy_plugin_refuses_a_poem_larger_than_its_limit() {
    let upstream =
        support::Server::start("fastpoetry", &[poem_path("science.txt").to_str().unwrap()]);
    let upstream_port = upstream.port.to_string();
    let mut daemon = Daemon::start(&[
        "poetry-proxy",
        "--port",
        "0",
        "--iface",
        "127.0.0.1",
        "--server",
        &upstream_port,
        "--max-poem-size",
        "100",
    ]);
    let seen = daemon.log().len();
    assert!(fetch(daemon.port).0.is_empty(), "closed with nothing sent");
    let logged = wait_for("the failure line", || {
        let log = daemon.log();
        (log.len() >= seen + 2).then(|| log[seen..].to_vec())
    });
    assert_eq!(
        logged,
        [
            "[poetryd.poetry_proxy.PoetryProxyFactory] Fetching poem from server.".to_owned(),
            format!(
                "[poetryd.poetry_proxy.PoetryProxyFactory] Upstream 127.0.0.1:{upstream_port} \
                 failed: the poem is larger than 100 bytes"
            ),
        ]
    );
    daemon.stop();
}
