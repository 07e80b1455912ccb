//! The static web servers of talk 001, run as processes: `static-site` (`Site(File('.'))`, "The
//! same in code") and `poetryd web` (`twistd -n web --path .`, "A simple HTTP Server"): a file, a
//! listing, a way out of the folder refused, the access log, the shutdown.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{Listening, program};

const WAIT: Duration = Duration::from_secs(20);

/// A folder to serve: a text file, a sub-folder, and a secret beside the folder.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    fs::create_dir_all(www.join("sub")).unwrap();
    fs::write(www.join("hello.txt"), "Hello from a test file.\n").unwrap();
    fs::write(www.join("sub/inner.txt"), "Inner file\n").unwrap();
    fs::write(www.join("run.rpy"), "print('never run')\n").unwrap();
    fs::write(dir.path().join("secret.txt"), "top secret\n").unwrap();
    dir
}

/// `GET path` with a user agent, and the whole answer (head without `Date`, and body).
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: e2e/1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let head = head
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n");
    (head, body.to_owned())
}

/// Checks what every run serves: the file, the listing, the redirect, the refusals. Returns the
/// lengths of the listing and of the redirect's page.
fn check_serving(port: u16) -> (usize, usize) {
    let (head, body) = get(port, "/hello.txt");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(
            "\r\nAccept-Ranges: bytes\r\nContent-Length: 24\r\nContent-Type: text/plain\r\n\
             Last-Modified: "
        ),
        "{head}"
    );
    assert_eq!(body, "Hello from a test file.\n");
    let (head, listing) = get(port, "/");
    let body = &listing;
    assert!(
        head.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"),
        "{head}"
    );
    assert!(body.contains("<title>Directory listing for /</title>"));
    assert!(body.contains("<td><a href=\"sub/\">sub/</a></td>"));
    assert!(body.contains("<td><a href=\"hello.txt\">hello.txt</a></td>"));
    assert!(!body.contains("pid"), "no pid file in the listing: {body}");
    let (head, redirect) = get(port, "/sub");
    assert!(head.contains("\r\nLocation: /sub/\r\n"), "{head}");
    let (_, body) = get(port, "/run.rpy");
    assert_eq!(body, "print('never run')\n", "scripts are files");
    for escape in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/..%2f..%2fsecret.txt",
    ] {
        let (head, body) = get(port, escape);
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{escape}");
        assert!(body.contains("<p>File not found.</p>"), "{escape}");
    }
    (listing.len(), redirect.len())
}

#[test]
fn static_site_serves_its_folder_and_prints_nothing() {
    let dir = folder();
    let www = dir.path().join("www");
    let server = Listening::start("static-site", &[www.to_str().unwrap(), "--port", "0"], 1);
    assert!(server.addresses[0].starts_with("127.0.0.1:"));
    check_serving(server.port(0));
    let (status, out, err) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
}

#[test]
fn static_site_serves_the_current_folder_by_default_with_a_chosen_default_type() {
    let dir = folder();
    let www = dir.path().join("www");
    fs::write(www.join("notes"), "no extension\n").unwrap();
    let mut child = Command::new(program("static-site"))
        .current_dir(&www)
        .args(["--listen", "tcp:0", "--default-type", "text/plain"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim_end().rsplit(':').next().unwrap().parse().unwrap();
    let (head, body) = get(port, "/notes");
    assert!(head.contains("\r\nContent-Type: text/plain\r\n"), "{head}");
    assert_eq!(body, "no extension\n");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn static_site_refuses_what_it_cannot_serve() {
    let dir = folder();
    let file = dir.path().join("secret.txt");
    for (args, message) in [
        (vec!["/no/such/folder"], "No such folder: /no/such/folder"),
        (vec![file.to_str().unwrap()], "not a folder"),
        (vec![".", "--default-type", "html"], "is not a media type"),
        (vec![".", "--index", "../x"], "is not a file name"),
    ] {
        let output = support::run("static-site", &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// `poetryd --nodaemon web ...` running in `dir`, its log (stdout) read line by line.
struct Foreground {
    child: Child,
    log: Receiver<String>,
}

impl Foreground {
    fn start(dir: &Path, args: &[&str]) -> Foreground {
        let mut child = Command::new(program("poetryd"))
            .current_dir(dir)
            .arg("--nodaemon")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let reader = BufReader::new(child.stdout.take().unwrap());
        let (sender, log) = mpsc::channel();
        thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Foreground { child, log }
    }

    /// The next log line, without its timestamp: `[-] Site starting on 8080`.
    fn next_line(&self) -> String {
        let line = self.log.recv_timeout(WAIT).expect("a log line");
        match line.split_once("+0000 ") {
            Some((_, rest)) => rest.to_owned(),
            None => line,
        }
    }

    /// Log lines up to the one that says where the site listens; returns them and the port.
    fn until_port(&self) -> (Vec<String>, u16) {
        let mut seen = Vec::new();
        loop {
            let line = self.next_line();
            let port = line
                .strip_prefix("[-] Site starting on ")
                .map(|port| port.parse().unwrap());
            seen.push(line);
            if let Some(port) = port {
                return (seen, port);
            }
        }
    }

    /// SIGTERM; the exit status, the rest of the log, and stderr.
    fn stop(mut self) -> (Option<i32>, Vec<String>, String) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        let mut rest = Vec::new();
        while let Ok(line) = self.log.recv_timeout(Duration::from_secs(1)) {
            rest.push(
                line.split_once("+0000 ")
                    .map_or(line.clone(), |(_, r)| r.to_owned()),
            );
        }
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

/// Whether `line` is twistd's `Starting factory <Site object at 0x…>` (or `Stopping`).
fn is_site_factory_line(line: &str, verb: &str) -> bool {
    line.strip_prefix(&format!("[-] {verb} factory <Site object at 0x"))
        .and_then(|rest| rest.strip_suffix('>'))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn poetryd_web_serves_the_current_folder_logs_like_twistd_and_writes_no_pid_file() {
    let dir = folder();
    let www = dir.path().join("www");
    // The talk's command, with a free port: `--port` takes a bare number.
    let server = Foreground::start(&www, &["web", "--path", ".", "--port", "0"]);
    let (startup, port) = server.until_port();
    assert_eq!(startup[0], "[-] Log opened.");
    assert!(startup[1].starts_with("[-] poetryd "), "{startup:?}");
    assert!(is_site_factory_line(&server.next_line(), "Starting"));

    let (listing, redirect) = check_serving(port);
    let access = server.next_line();
    let (before, after) = access.split_once(" [").unwrap();
    assert_eq!(before, "[-] \"127.0.0.1\" - -");
    let (_, line) = after.split_once("] ").unwrap();
    assert_eq!(line, "\"GET /hello.txt HTTP/1.1\" 200 24 \"-\" \"e2e/1\"");
    let lines = [server.next_line(), server.next_line()];
    let expected = [
        format!("\"GET / HTTP/1.1\" 200 {listing} \"-\" \"e2e/1\""),
        format!("\"GET /sub HTTP/1.1\" 302 {redirect} \"-\" \"e2e/1\""),
    ];
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(line.ends_with(expected.as_str()), "{line}, {expected}");
    }

    let (status, rest, stderr) = server.stop();
    assert_eq!(status, Some(0));
    assert_eq!(stderr, "");
    let shutdown = rest
        .iter()
        .position(|line| line == "[-] Received SIGTERM, shutting down.")
        .unwrap_or_else(|| panic!("{rest:?}"));
    assert_eq!(rest[shutdown + 1], format!("[-] (TCP Port {port} Closed)"));
    assert!(is_site_factory_line(&rest[shutdown + 2], "Stopping"));
    assert_eq!(
        &rest[shutdown + 3..],
        ["[-] Main loop terminated.", "[-] Server Shut Down."]
    );
    let left: Vec<_> = fs::read_dir(&www)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "no pid or log file was left: {left:?}");
}

#[test]
fn poetryd_web_takes_endpoints_and_an_explicit_pid_file() {
    let dir = folder();
    let www = dir.path().join("www");
    let pid_file = dir.path().join("web.pid");
    for args in [
        vec!["web", "--path", "www", "--port", "tcp:0"],
        vec![
            "web",
            "--path",
            "www",
            "--listen",
            "tcp:0:interface=127.0.0.1",
        ],
    ] {
        let mut args: Vec<&str> = args;
        let with_pid = ["--pidfile", pid_file.to_str().unwrap()];
        args.splice(0..0, with_pid);
        let server = Foreground::start(dir.path(), &args);
        let (_, port) = server.until_port();
        let (_, body) = get(port, "/sub/inner.txt");
        assert_eq!(body, "Inner file\n");
        assert_eq!(
            fs::read_to_string(&pid_file).unwrap().trim(),
            server.child.id().to_string()
        );
        let (status, _, _) = server.stop();
        assert_eq!(status, Some(0));
        assert!(!pid_file.exists());
    }
    assert!(!www.join("poetryd.pid").exists());
}

#[test]
fn poetryd_web_refuses_bad_options_before_starting() {
    let dir = folder();
    for (args, message) in [
        (vec!["web"], "--path <FOLDER>"),
        (vec!["web", "--path", "nowhere"], "No such folder: nowhere"),
        (
            vec!["web", "--path", "www", "--port", "unix:/tmp/x.sock"],
            "TCP only",
        ),
        (
            vec!["web", "--path", "www", "--port", "http"],
            "unknown endpoint type",
        ),
        (
            vec!["web", "--path", "www", "--port", "1", "--listen", "tcp:2"],
            "cannot be used with",
        ),
    ] {
        let output = Command::new(program("poetryd"))
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
