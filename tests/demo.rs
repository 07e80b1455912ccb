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
    let timelines = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(root.join("scripts/demo.sh"))
        .args(["--delay", "0.005", "--timelines"])
        .arg(timelines.path())
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

    let at = out.iter().position(|line| line == "== Side by side ==");
    let side_by_side = &out[at.unwrap()..];
    assert_eq!(side_by_side.len(), 7, "{side_by_side:?}");
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

    // It says where it drew the two runs, and the figures are there.
    let folder = timelines.path().canonicalize().unwrap();
    for (line, (client, file)) in side_by_side[5..].iter().zip([
        ("blocking client:", "blocking.svg"),
        ("asynchronous client:", "async.svg"),
    ]) {
        let figure = folder.join(file);
        assert_eq!(line, &format!("{client:<21} {}", figure.display()));
        let svg = std::fs::read_to_string(&figure).unwrap();
        assert!(
            svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
    }
    assert_eq!(
        side_by_side[4],
        "== The two runs drawn (open them in a browser) =="
    );

    // The script stopped its servers: nothing listens on their ports any more.
    for port in ports {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "{port}");
    }
}
