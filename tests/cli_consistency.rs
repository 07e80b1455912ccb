//! The programs of the tutorial behave alike where they do the same thing (issue 18, items 3 and 4):
//! one wording per usage error, whatever the program; Ctrl-C ends every client the same way; a port
//! in use is said once; the stack demos show only the frames of the lesson.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use support::{Server, bins, lines, poem_path, program, run};

/// Runs `name` with `args`, checks that it is a usage error (status 2, nothing on stdout), and
/// returns its first line on stderr.
fn usage_error(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    assert_eq!(output.status.code(), Some(2), "{name} {args:?}");
    assert!(output.stdout.is_empty(), "{name} {args:?}");
    lines(&output.stderr).remove(0)
}

#[test]
fn a_server_port_out_of_range_is_worded_once() {
    let poem = poem_path("ecstasy.txt");
    let poem = poem.to_str().unwrap();
    for (name, args) in [
        ("fastpoetry", vec!["--port", "99999", poem]),
        ("slowpoetry", vec!["--port", "99999", poem]),
        ("fastpoetry-2", vec!["--port", "99999", "--poem", poem]),
        ("transformedpoetry", vec!["--port", "99999"]),
        (
            "poetryd",
            vec![
                "--nodaemon",
                "slowpoetry",
                "--port",
                "99999",
                "--poem",
                poem,
            ],
        ),
    ] {
        assert!(
            usage_error(name, &args).ends_with(": port 99999 is not in 0..=65535"),
            "{name}"
        );
    }
    assert_eq!(
        usage_error("fastpoetry", &["--port", "ten", poem]),
        "error: invalid value 'ten' for '--port <PORT>': port must be a whole number, not 'ten'"
    );
}

#[test]
fn a_client_port_out_of_range_is_worded_once() {
    for client in [
        "get-poetry-1",
        "get-poetry-3",
        "get-poetry-5",
        "timing-client",
    ] {
        assert!(
            usage_error(client, &["70000"]).ends_with(": port 70000 is not in 1..=65535"),
            "{client}"
        );
    }
}

#[test]
fn an_ipv6_address_without_brackets_gets_the_hint() {
    for client in ["get-poetry-2", "get-poetry-4", "get-poetry-tokio"] {
        let line = usage_error(client, &["::1:10000"]);
        assert!(
            line.ends_with(
                ": '::1:10000' has more than one ':': write an IPv6 address in brackets, as \
                 [::1]:10000"
            ),
            "{client}: {line}"
        );
    }
}

#[test]
fn a_timeout_of_zero_is_a_usage_error() {
    assert_eq!(
        usage_error("get-poetry-1", &["--connect-timeout", "0", "10000"]),
        "error: invalid value '0' for '--connect-timeout <DURATION>': '0' is no time at all: a \
         timeout must be more than zero"
    );
    assert_eq!(
        usage_error("get-poetry-3", &["--timeout", "0ms", "10000"]),
        "error: invalid value '0ms' for '--timeout <DURATION>': '0ms' is no time at all: a \
         timeout must be more than zero"
    );
}

#[test]
fn a_duration_too_large_says_so() {
    assert_eq!(
        usage_error("get-poetry-5", &["--timeout", "1e20", "10000"]),
        "error: invalid value '1e20' for '--timeout <DURATION>': '1e20' is too large: a duration \
         is at most a year (31536000 seconds)"
    );
}

#[test]
fn the_transform_clients_given_one_address_say_what_is_missing() {
    for client in ["get-poetry-6", "get-poetry-7", "get-poetry-8"] {
        assert_eq!(
            usage_error(client, &["10001"]),
            "error: the following required arguments were not provided:",
            "{client}"
        );
    }
}

#[test]
fn unknown_options_are_refused() {
    for name in ["get-poetry-2-stack", "timing-client", "deferred-simulator"] {
        assert!(
            usage_error(name, &["--no-such-option"])
                .starts_with("error: unexpected argument '--no-such-option' found"),
            "{name}"
        );
    }
}

/// The options the poetry clients share, each declared once in `common::cli` and flattened into
/// every client that takes it.
const SHARED_OPTIONS: [&str; 8] = [
    "--timeout",
    "--connect-timeout",
    "--time-format",
    "--progress",
    "--save-dir",
    "--print",
    "--max-poem-size",
    "--timeline",
];

/// The clients that take a documented variant of a shared option instead: `timing-client`'s
/// `--timeout` (`RequestTimeoutOption`) is on by default, so that a load test always ends.
const VARIANTS: [(&str, &str); 1] = [("timing-client", "--timeout")];

/// The clients that take a shared option with another default: `timing-client` prints seconds, as
/// the training's timing client does.
const OTHER_DEFAULTS: [(&str, &str); 1] = [("timing-client", "--time-format")];

/// What a program's `--help` says of `option`, if it takes it: the description (the indented lines
/// below the option's), its words joined by single spaces, and apart from it the `[default: ...]`
/// that clap adds.
fn option_help(help: &str, option: &str) -> Option<(String, Option<String>)> {
    let mut lines = help.lines().skip_while(|line| {
        line.trim_start()
            .strip_prefix(option)
            .is_none_or(|rest| !(rest.is_empty() || rest.starts_with(' ')))
    });
    lines.next()?;
    let description = lines.take_while(|line| line.is_empty() || line.starts_with("          "));
    let text = description
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    Some(match text.split_once("[default: ") {
        Some((before, after)) => {
            let (default, rest) = after.split_once(']').unwrap();
            let text = format!("{} {}", before.trim_end(), rest.trim_start());
            (text.trim().to_owned(), Some(default.to_owned()))
        }
        None => (text, None),
    })
}

#[test]
fn a_shared_option_reads_the_same_in_every_client() {
    let helps: Vec<(String, String)> = bins(true)
        .into_iter()
        .map(|name| {
            let output = run(&name, &["--help"]);
            assert_eq!(output.status.code(), Some(0), "{name} --help");
            (name, String::from_utf8(output.stdout).unwrap())
        })
        .collect();
    let mut problems = Vec::new();
    for option in SHARED_OPTIONS {
        let mut texts: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut defaults: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
        for (name, help) in &helps {
            let client = (name.as_str(), option);
            if VARIANTS.contains(&client) {
                continue;
            }
            let Some((text, default)) = option_help(help, option) else {
                continue;
            };
            texts.entry(text).or_default().push(name);
            if !OTHER_DEFAULTS.contains(&client) {
                defaults.entry(default).or_default().push(name);
            }
        }
        let takers: usize = texts.values().map(Vec::len).sum();
        if takers < 2 {
            problems.push(format!("{option}: only {takers} client takes it"));
        }
        if texts.len() > 1 {
            problems.push(format!(
                "{option} is described {} ways: {texts:#?}",
                texts.len()
            ));
        }
        if defaults.len() > 1 {
            problems.push(format!(
                "{option} has {} defaults: {defaults:?}",
                defaults.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_help_of_an_option_is_read_whole() {
    let help = "\
Options:
      --time-format <TIME_FORMAT>
          How to print
          them

          Possible values:
          - clock: as the tutorial
          
          [default: clock]

      --progress
          Live lines
";
    assert_eq!(
        option_help(help, "--time-format"),
        Some((
            "How to print them Possible values: - clock: as the tutorial".to_owned(),
            Some("clock".to_owned())
        ))
    );
    assert_eq!(
        option_help(help, "--progress"),
        Some(("Live lines".to_owned(), None))
    );
    assert_eq!(option_help(help, "--time"), None);
}

/// Waits until process `pid` catches SIGINT (a client may connect before it installs its handler,
/// and a Ctrl-C before that would simply kill it).
fn wait_for_sigint_handler(pid: u32) {
    const SIGINT_BIT: u64 = 1 << (2 - 1);
    for _ in 0..500 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & SIGINT_BIT != 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("process {pid} never caught SIGINT");
}

/// Runs `client` against a server that sends a first chunk and then nothing for a long time,
/// presses Ctrl-C once the server has started sending, and returns the client's status, stdout
/// and stderr.
fn interrupted(client: &str, extra: &[&str]) -> (Option<i32>, Vec<String>, Vec<String>) {
    let mut server = Server::slow("science.txt", &["--delay", "1000"]);
    let mut args: Vec<String> = extra.iter().map(|arg| arg.to_string()).collect();
    args.push(server.arg());
    let mut child = Command::new(program(client))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(server.next_line().ends_with("wants poetry!"));
    assert_eq!(server.next_line(), "Sending 10 bytes");
    wait_for_sigint_handler(child.id());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    (code, lines(&out), lines(&err))
}

#[test]
fn ctrl_c_ends_a_reactor_client_with_its_summary_and_status_130() {
    let (code, out, err) = interrupted("get-poetry-2", &["--time-format", "seconds"]);
    assert_eq!(code, Some(130));
    assert_eq!(
        out.last().map(|line| &line[..15]),
        Some("Got 0 poems in "),
        "{out:?}"
    );
    assert_eq!(err, ["get-poetry-2: interrupted by SIGINT"]);
}

#[test]
fn ctrl_c_ends_the_blocking_client_with_its_summary_too() {
    let (code, out, err) = interrupted("get-poetry-blocking", &["--time-format", "seconds"]);
    assert_eq!(code, Some(130));
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out[0].starts_with("Task 1: get poetry from: 127.0.0.1:"),
        "{out:?}"
    );
    assert!(out[1].starts_with("Got 0 poems in 0."), "{out:?}");
    assert_eq!(err, ["get-poetry-blocking: interrupted by SIGINT"]);
}

#[test]
fn ctrl_c_stops_every_client_with_status_130() {
    for client in [
        "get-poetry-blocking",
        "get-poetry-async",
        "get-poetry-1",
        "get-poetry-2",
        "get-poetry-2-simple",
        "get-poetry-4",
        "get-poetry-threads",
        "get-poetry-tokio",
        "get-poetry-3",
        "get-poetry-3-1",
        "get-poetry-5",
        "get-poetry-5-1",
    ] {
        let (code, _, err) = interrupted(client, &[]);
        assert_eq!(code, Some(130), "{client}: {err:?}");
        assert_eq!(
            err.last().map(String::as_str),
            Some(format!("{client}: interrupted by SIGINT").as_str()),
            "{client}"
        );
    }
}

#[test]
fn an_interrupted_timing_client_does_not_say_finished() {
    let (code, out, err) = interrupted("timing-client", &["--kind", "poetry"]);
    assert_eq!(code, Some(130));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].starts_with("0 of 1 requests answered in "),
        "{out:?}"
    );
    assert_eq!(err, ["timing-client: interrupted by SIGINT"]);
}

#[test]
fn a_port_in_use_is_reported_once() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let poem = poem_path("ecstasy.txt");
    let poem = poem.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("poetryd.pid");
    for (name, args) in [
        (
            "fastpoetry-2",
            vec!["--iface", "127.0.0.1", "--port", &port, "--poem", poem],
        ),
        (
            "poetryd",
            vec![
                "--nodaemon",
                "--pidfile",
                pid_file.to_str().unwrap(),
                "slowpoetry",
                "--iface",
                "127.0.0.1",
                "--port",
                &port,
                "--poem",
                poem,
            ],
        ),
    ] {
        let output = run(name, &args);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let err = lines(&output.stderr);
        assert_eq!(err.len(), 1, "{name}: {err:?}");
        assert!(err[0].contains("Address already in use"), "{name}: {err:?}");
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(!out.contains("Address already in use"), "{name}: {out}");
    }
}

/// The frames of a stack demo's backtrace (the lines naming a function), and its last line.
fn frames(stack: &str) -> (Vec<&str>, &str) {
    let names = stack
        .lines()
        .filter(|line| !line.trim_start().starts_with("at ") && !line.contains("..."))
        .collect();
    (names, stack.lines().last().unwrap())
}

#[test]
fn the_stack_demos_show_only_our_frames_and_count_the_others() {
    let server = Server::slow("science.txt", &["--delay", "1ms"]);
    for client in ["get-poetry-2-stack", "get-poetry-4-stack"] {
        let output = run(client, &[&server.arg()]);
        assert_eq!(output.status.code(), Some(0), "{client}");
        let stack = String::from_utf8(output.stderr).unwrap();
        let (names, last) = frames(&stack);
        for name in &names {
            assert!(
                name.contains("get_poetry_") || name.contains("common::"),
                "{client}: {name}\n{stack}"
            );
        }
        let counted = last
            .trim_start()
            .strip_prefix("... ")
            .and_then(|rest| rest.strip_suffix(" frames of std and tokio"))
            .unwrap_or_else(|| panic!("{client}: no count at the end of\n{stack}"));
        assert!(counted.parse::<u32>().unwrap() > 0, "{stack}");
    }
}
