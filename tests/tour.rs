//! The tour of the tutorial, `scripts/tour.sh PART`, run with the test build of the programs: a few
//! Parts end to end at a fast pace, the list of every Part, its usage errors, and Ctrl-C.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use support::program;

/// How long a Part may take at the tests' pace before the test fails rather than hang.
const LIMIT: Duration = Duration::from_secs(120);

/// The tour, started in its own process group (as a shell starts a job), its stdout read line by
/// line by a thread.
struct Tour {
    child: Child,
    lines: Receiver<String>,
}

impl Tour {
    fn start(args: &[&str]) -> Tour {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // With Ctrl-C's default action restored: a test run started in the background inherits
        // SIGINT ignored, and a shell cannot trap a signal ignored when it started.
        let mut child = Command::new("env")
            .args(["--default-signal=INT", "bash"])
            .arg(root.join("scripts/tour.sh"))
            .args(args)
            .env("POETRY_BIN_DIR", program("slowpoetry").parent().unwrap())
            .env_remove("POETRY_EXAMPLE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if sender.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Tour { child, lines }
    }

    /// Reads lines until one satisfies `wanted`, and returns the lines read.
    fn read_until(&self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = wanted(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no such line; the tour printed:\n{}", seen.join("\n")),
            }
        }
    }

    /// Waits for the end (killing the whole group if it takes longer than `LIMIT`), and returns the
    /// exit status, the lines printed, and stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + LIMIT;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => out.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        if Instant::now() >= deadline {
            let _ = kill(self.group(), Signal::SIGKILL);
            panic!("the tour took too long; it printed:\n{}", out.join("\n"));
        }
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err).unwrap();
        (status, out, err)
    }

    fn group(&self) -> Pid {
        Pid::from_raw(-(self.child.id() as i32))
    }
}

/// Runs one Part to its end.
fn tour(args: &[&str]) -> (ExitStatus, Vec<String>, String) {
    Tour::start(args).finish()
}

/// The ports the tour's servers got, from its `[NAME is listening on port N]` lines.
fn ports(out: &[String]) -> Vec<u16> {
    out.iter()
        .filter_map(|line| line.split_once(" is listening on port "))
        .map(|(_, port)| port.trim_end_matches(']').parse().unwrap())
        .collect()
}

/// Nothing listens any more on the ports the tour used: it stopped its servers.
fn assert_stopped(ports: &[u16]) {
    for &port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
}

/// The lines of `out` that start with `prefix`.
fn starting<'a>(out: &'a [String], prefix: &str) -> Vec<&'a str> {
    out.iter()
        .map(String::as_str)
        .filter(|line| line.starts_with(prefix))
        .collect()
}

#[test]
fn the_list_has_one_line_for_every_part_from_2_to_21() {
    let (status, out, _) = tour(&["--list"]);
    assert!(status.success());
    let numbers: Vec<u32> = out
        .iter()
        .map(|line| {
            let rest = line.strip_prefix("Part ").unwrap();
            rest.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(numbers, (2..=21).collect::<Vec<_>>());
    assert_eq!(
        out[0],
        "Part 2   Slow Poetry and the Apocalypse: three slow servers; the blocking client, then the asynchronous one"
    );
}

#[test]
fn a_part_outside_2_to_21_or_a_bad_option_is_a_usage_error() {
    for args in [
        &["1"][..],
        &["22"],
        &[],
        &["--delay", "fast", "2"],
        &["--nonsense"],
    ] {
        let (status, out, err) = tour(args);
        assert_eq!(status.code(), Some(2), "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out:?}");
        assert!(err.starts_with("usage: scripts/tour.sh"), "{args:?}: {err}");
    }
}

#[test]
fn part_2_runs_both_clients_against_three_slow_servers() {
    let (status, out, err) = tour(&["--delay", "0.002", "2"]);
    assert!(status.success(), "{err}\n{}", out.join("\n"));
    assert_eq!(out[0], "== Part 2: Slow Poetry and the Apocalypse ==");
    let servers = starting(&out, "$ slowpoetry ");
    assert_eq!(
        servers,
        [
            "$ slowpoetry --delay 0.002 --num-bytes 30 poetry/ecstasy.txt &",
            "$ slowpoetry --delay 0.002 poetry/fascination.txt &",
            "$ slowpoetry --delay 0.002 poetry/science.txt &",
        ]
    );
    let ports = ports(&out);
    assert_eq!(ports.len(), 3);
    let args = format!("{} {} {}", ports[0], ports[1], ports[2]);
    for client in ["get-poetry-blocking", "get-poetry-async"] {
        let command = format!("$ {client} {args}");
        let at = out
            .iter()
            .position(|line| *line == command)
            .expect(&command);
        let total = out[at..]
            .iter()
            .find(|line| line.starts_with("Got "))
            .unwrap();
        assert!(total.starts_with("Got 3 poems in "), "{total}");
    }
    assert!(
        out.iter()
            .any(|line| line.starts_with("  science | Somebody at "))
    );
    assert_stopped(&ports);
}

#[test]
fn part_5_runs_client_2_its_simple_and_its_stack_variants() {
    let (status, out, err) = tour(&["--delay", "0.002", "5"]);
    assert!(status.success(), "{err}\n{}", out.join("\n"));
    let ports = ports(&out);
    assert_eq!(ports.len(), 3);
    let args = format!("{} {} {}", ports[0], ports[1], ports[2]);
    for command in [
        format!("$ get-poetry-2 {args}"),
        format!("$ get-poetry-2-simple {args}"),
        format!("$ get-poetry-2-stack {}", ports[1]),
    ] {
        assert!(out.contains(&command), "{command}");
    }
    assert_eq!(
        starting(&out, "Got 3 poems in ").len(),
        1,
        "client 2.0's summary"
    );
    assert_stopped(&ports);
}

#[test]
fn part_10_runs_clients_5_and_5_1_against_a_fast_server() {
    let (status, out, err) = tour(&["--delay", "0.002", "10"]);
    assert!(status.success(), "{err}\n{}", out.join("\n"));
    let ports = ports(&out);
    assert_eq!(ports.len(), 1);
    // The three outcomes, in the order of the seeds 3, 6 and 1 (the last on stderr), then client
    // 5.1's recovery.
    for (seed, first) in [
        (3, "grindstone"),
        (6, "Cummingsify failed!"),
        (1, "(exit status 1)"),
    ] {
        let command = format!("$ get-poetry-5 --seed {seed} {}", ports[0]);
        let at = out
            .iter()
            .position(|line| *line == command)
            .expect(&command);
        assert_eq!(out[at + 1], first, "seed {seed}");
    }
    let command = format!("$ get-poetry-5-1 --seed 6 {}", ports[0]);
    let at = out
        .iter()
        .position(|line| *line == command)
        .expect(&command);
    assert_eq!(out[at + 1..at + 3], ["Cummingsify failed!", "Grindstone"]);
    assert_eq!(err, "The poem download failed.\n");
    assert_stopped(&ports);
}

#[test]
fn part_19_shows_the_proxy_cancelling_for_a_client_that_left() {
    let (status, out, err) = tour(&["--delay", "0.01", "19"]);
    assert!(status.success(), "{err}\n{}", out.join("\n"));
    let ports = ports(&out);
    assert_eq!(ports.len(), 2);
    assert!(out.contains(&format!("$ poetry-proxy-3 --port 0 {} &", ports[0])));
    assert!(out.contains(&format!("$ get-poetry-4 --timeout 0.2 {}", ports[1])));
    assert!(
        out.iter()
            .any(|line| line == "  proxy | Canceling poem download."),
        "{}",
        out.join("\n")
    );
    // The examples of `common` are not built by this test: each is skipped with a line.
    assert_eq!(
        starting(&out, "(skipped: the example defer-cancel-").len(),
        12
    );
    assert_stopped(&ports);
}

#[test]
fn ctrl_c_stops_the_tour_and_its_servers() {
    // At the tutorial's pace, the blocking client takes 20 s: long enough to be interrupted.
    let tour = Tour::start(&["2"]);
    let seen = tour.read_until(|line| line.starts_with("$ get-poetry-blocking "));
    let ports = ports(&seen);
    assert_eq!(ports.len(), 3);
    // Ctrl-C in a terminal signals the whole foreground job.
    kill(tour.group(), Signal::SIGINT).unwrap();
    let (status, _, _) = tour.finish();
    assert_eq!(status.code(), Some(130));
    assert_stopped(&ports);
}
