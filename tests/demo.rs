//! The quick-start demo, `scripts/demo.sh`, run end to end with the test build of the programs.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{is_clock, lines, program};

/// Seconds in a tutorial-style duration, `H:MM:SS.ffffff`.
fn clock_seconds(clock: &str) -> f64 {
    assert!(is_clock(clock), "{clock}");
    let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

#[test]
fn demo_shows_the_lesson_and_leaves_no_server_behind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash")
        .arg(root.join("scripts/demo.sh"))
        .args(["--delay", "0.005"])
        .env("POETRY_BIN_DIR", program("slowpoetry").parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = lines(&output.stdout);

    let ports: Vec<u16> = out
        .iter()
        .filter_map(|line| line.split_once(": listening on port "))
        .map(|(_, port)| port.parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 3, "{out:?}");

    let side_by_side = &out[out.len() - 3..];
    assert_eq!(side_by_side[0], "== Side by side ==");
    let blocking = side_by_side[1]
        .strip_prefix("blocking client:      Got 3 poems in ")
        .unwrap();
    let asynchronous = side_by_side[2]
        .strip_prefix("asynchronous client:  Got 3 poems in ")
        .unwrap();
    let (blocking, asynchronous) = (clock_seconds(blocking), clock_seconds(asynchronous));
    assert!(
        asynchronous < 0.75 * blocking,
        "async {asynchronous} s, blocking {blocking} s"
    );

    // The script stopped its servers: nothing listens on their ports any more.
    for port in ports {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "{port}");
    }
}
