//! A real memcached of a test's own, on a free port of 127.0.0.1, stopped when the test is done.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::closed_port;

/// How long memcached may take to start and to answer.
const WAIT: Duration = Duration::from_secs(20);

/// A memcached of the test's own, stopped when dropped.
pub struct Memcached {
    child: Child,
    pub port: u16,
}

impl Memcached {
    /// Starts `memcached` on a free port and waits until it answers; `None` when this machine has
    /// no `memcached`.
    pub fn start() -> Option<Memcached> {
        // The free port found may be taken before memcached binds it: then try another.
        for _ in 0..5 {
            let port = closed_port();
            let spawned = Command::new("memcached")
                .args(["-u", "nobody", "-l", "127.0.0.1", "-U", "0", "-t", "1"])
                .args(["-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    eprintln!(
                        "SKIPPED: memcached is not installed (scripts/ci/install-deps.sh installs it)"
                    );
                    return None;
                }
                Err(error) => panic!("cannot start memcached: {error}"),
            };
            let mut memcached = Memcached { child, port };
            let deadline = Instant::now() + WAIT;
            loop {
                if memcached.answers() {
                    return Some(memcached);
                }
                if memcached.child.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(Instant::now() < deadline, "memcached never answered");
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("memcached did not start on any of five free ports");
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut answer = [0; 8];
        stream.write_all(b"version\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"VERSION "
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
