//! The README's quick start and tutorial section, checked against the programs: every command
//! names a program, example, script or test that exists and passes only long options that program
//! lists in its `--help`, and the table of shared options says exactly which programs take which.
//!
//! The commands are not run here (most need servers and minutes); what is checked is what goes
//! wrong when a program or an option is renamed and the README is not.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use support::{bins, program};

/// The part of the README these checks cover: from the quick start to the end of the tutorial.
fn tutorial_text() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Quick start")
        .expect("a quick start section");
    let end = readme[start..]
        .find("\n## The EuroPython 2011 training")
        .map_or(readme.len(), |end| start + end);
    readme[start..end].to_owned()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The command lines of the `sh` code blocks, comments and prompts removed, and the commands in
/// inline code that start with `cargo run`, `cargo test` or `scripts/`.
fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_sh = false;
    let mut in_other = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            match (in_sh, in_other) {
                (false, false) if fence == "sh" => in_sh = true,
                (false, false) => in_other = true,
                _ => (in_sh, in_other) = (false, false),
            }
            continue;
        }
        if in_sh {
            let command = strip_comment(trimmed);
            if !command.is_empty() {
                found.push(command.to_owned());
            }
        } else if !in_other {
            for (index, span) in trimmed.split('`').enumerate() {
                let span = span.replace("\\|", "|");
                let wanted = ["cargo run ", "cargo test ", "scripts/"];
                if index % 2 == 1 && wanted.iter().any(|start| span.starts_with(start)) {
                    found.push(span);
                }
            }
        }
    }
    found
}

/// A command line without its trailing `# comment` (a `#` inside quotes is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (index, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '#') if index == 0 || line[..index].ends_with(' ') => {
                return line[..index].trim_end();
            }
            _ => {}
        }
    }
    line
}

/// Splits a command line into words, as a shell would for these simple lines (quotes removed), and
/// into the commands of a pipeline or a list (`|`, `&&`, `;`, a trailing `&`).
fn pipeline(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(open), _) if c == open => quote = None,
            (Some(_), _) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, ' ' | '|' | ';' | '&') => {
                if in_word {
                    commands.last_mut().unwrap().push(std::mem::take(&mut word));
                    in_word = false;
                }
                if c != ' ' {
                    if chars.peek() == Some(&c) {
                        chars.next();
                    }
                    commands.push(Vec::new());
                }
            }
            (None, _) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        commands.last_mut().unwrap().push(word);
    }
    commands.retain(|command| !command.is_empty());
    commands
}

/// What a README command runs, if it is one of ours.
#[derive(Debug)]
enum Target {
    Bin(String, Vec<String>),
    Example(String, Vec<String>),
    Script(String, Vec<String>),
    Test(String, String),
}

fn target(words: &[String], bins: &BTreeSet<String>) -> Option<Target> {
    let first = words[0].as_str();
    let rest = words[1..].to_vec();
    if first == "cargo" {
        let value = |flag: &str| {
            words
                .iter()
                .position(|word| word == flag)
                .map(|at| words[at + 1].clone())
        };
        let args = words
            .iter()
            .position(|word| word == "--")
            .map_or(Vec::new(), |at| words[at + 1..].to_vec());
        return match words.get(1).map(String::as_str) {
            Some("run") => match (value("--bin"), value("--example")) {
                (Some(bin), _) => Some(Target::Bin(bin, args)),
                (None, Some(example)) => Some(Target::Example(example, args)),
                _ => None,
            },
            Some("test") => value("--test").map(|test| {
                let package = value("-p").unwrap_or_default();
                Target::Test(package, test)
            }),
            _ => None,
        };
    }
    if first.starts_with("scripts/") {
        return Some(Target::Script(first.to_owned(), rest));
    }
    let name = first.strip_prefix("target/release/").unwrap_or(first);
    bins.contains(name)
        .then(|| Target::Bin(name.to_owned(), rest))
}

/// A program's `--help`.
fn help(path: &Path, args: &[&str]) -> String {
    let output = Command::new(path)
        .args(args)
        .arg("--help")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?} --help failed",
        path.display()
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Whether `help` lists the long option `option` (`--port`) among its options: on a line of its
/// own, alone or after its short form (`-n, --nodaemon`), not merely mentioned in a description.
fn lists(help: &str, option: &str) -> bool {
    help.lines().any(|line| {
        let line = line.trim_start();
        let line = match line.split_once(", ") {
            Some((short, long)) if short.len() == 2 && short.starts_with('-') => long,
            _ => line,
        };
        line.strip_prefix(option)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '-'))
    })
}

/// Whether the long option takes a value, going by its `--help` line (`--pidfile <FILE>`).
fn takes_value(help: &str, option: &str) -> bool {
    help.contains(&format!("{option} <"))
}

/// Whether the usage line of `help` takes arguments besides options (`<POETRY_FILE>`, `[PORT]...`,
/// a `[COMMAND]`).
fn takes_arguments(help: &str) -> bool {
    help.lines()
        .find_map(|line| line.strip_prefix("Usage: "))
        .is_some_and(|usage| usage.replace("[OPTIONS]", "").contains(['<', '[']))
}

/// The arguments of a command checked against the help of the program, or of its subcommand
/// (poetryd's plugins) once one is named: each long option must be listed, and an argument that
/// is not an option must be one the usage line takes (`fastpoetry-2 poetry/ecstasy.txt` is wrong).
fn check_options(what: &str, path: &Path, args: &[String], problems: &mut Vec<String>) {
    let mut text = help(path, &[]);
    let mut subcommand = false;
    let mut skip = false;
    for arg in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if arg == "--" {
            break;
        }
        if let Some(option) = arg.strip_prefix("--") {
            let option = format!("--{}", option.split('=').next().unwrap());
            if !lists(&text, &option) {
                problems.push(format!("{what}: {option} is not in its --help"));
            }
            skip = !arg.contains('=') && takes_value(&text, &option);
        } else if arg.starts_with('-') {
            // A short option (`-n 2000`): its value is not an argument.
            let listed = format!("{arg}, --");
            skip = text.lines().any(|line| {
                let line = line.trim_start();
                line.starts_with(&listed)
                    && line
                        .split_whitespace()
                        .nth(2)
                        .is_some_and(|v| v.starts_with('<'))
            });
        } else if !subcommand && path.ends_with("poetryd") {
            text = help(path, &[arg]);
            subcommand = true;
        } else if !takes_arguments(&text) {
            problems.push(format!("{what}: it takes no argument such as {arg}"));
        }
    }
}

#[test]
fn every_tutorial_command_names_programs_and_options_that_exist() {
    let bins = bins(false);
    let mut problems = Vec::new();
    let mut checked = 0;
    for line in commands(&tutorial_text()) {
        for words in pipeline(&line) {
            let Some(target) = target(&words, &bins) else {
                continue;
            };
            // `cargo run --bin PROGRAM`, `scripts/bench/`: a pattern, not a command.
            let placeholder = |name: &str| {
                name.ends_with('/')
                    || name.contains('*')
                    || !name.contains(|c: char| c.is_ascii_lowercase())
            };
            if let Target::Bin(name, _) | Target::Example(name, _) | Target::Script(name, _) =
                &target
                && placeholder(name)
            {
                continue;
            }
            checked += 1;
            match target {
                Target::Bin(name, args) => {
                    if bins.contains(&name) {
                        check_options(&line, &program(&name), &args, &mut problems);
                    } else {
                        problems.push(format!("{line}: there is no program {name}"));
                    }
                }
                Target::Example(name, args) => {
                    let source = root().join(format!("common/examples/{name}.rs"));
                    match std::fs::read_to_string(&source) {
                        // An example's options are fields of its clap struct: `--time-scale`
                        // is `time_scale`.
                        Ok(code) => {
                            for option in args.iter().filter_map(|arg| arg.strip_prefix("--")) {
                                let field = option.split('=').next().unwrap().replace('-', "_");
                                if !code.contains(&format!("{field}:")) {
                                    problems.push(format!("{line}: the example has no --{option}"));
                                }
                            }
                        }
                        Err(_) => problems.push(format!("{line}: there is no example {name}")),
                    }
                }
                // Not every script answers --help (a benchmark would run): its options are read
                // from its source, where each is a `case` pattern, `--delay)`.
                Target::Script(name, args) => match std::fs::read_to_string(root().join(&name)) {
                    Ok(code) => {
                        for option in args.iter().filter(|arg| arg.starts_with("--")) {
                            let option = option.split('=').next().unwrap();
                            if !code.contains(&format!("{option})")) {
                                problems.push(format!("{line}: {name} has no {option}"));
                            }
                        }
                    }
                    Err(_) => problems.push(format!("{line}: there is no script {name}")),
                },
                Target::Test(package, test) => {
                    let dir = if package == "common" {
                        "common/tests"
                    } else {
                        "tests"
                    };
                    if !root().join(format!("{dir}/{test}.rs")).is_file() {
                        problems.push(format!("{line}: there is no test {test}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked > 100,
        "only {checked} commands found: is the parsing broken?"
    );
}

#[test]
fn the_shared_options_table_names_exactly_the_programs_that_take_each_option() {
    let text = tutorial_text();
    let table = text
        .split("Options the programs share")
        .nth(1)
        .expect("the shared-options table");
    let helps: Vec<(String, String)> = bins(true)
        .into_iter()
        .map(|name| {
            let help = help(&program(&name), &[]);
            (name, help)
        })
        .collect();
    let mut problems = Vec::new();
    let mut rows = 0;
    for row in table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
    {
        rows += 1;
        let cells: Vec<&str> = row.split(" | ").collect();
        let options: Vec<&str> = cells[0]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|span| span.split([' ', '=']).next().unwrap())
            .collect();
        let named: BTreeSet<&str> = cells[1].split('`').skip(1).step_by(2).collect();
        for option in options {
            for (name, help) in &helps {
                let has = lists(help, option);
                match (named.contains(name.as_str()), has) {
                    (true, false) => problems.push(format!("{name} has no {option}")),
                    (false, true) => {
                        problems.push(format!("{name} has {option}, not in the table"))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(rows >= 5, "the table has {rows} rows");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What each client prints for a refused connection, as the README's list of differences says:
/// the clients, the stream, and the line (for port 10004).
const REFUSED: [(&[&str], &str, &str); 10] = [
    (
        &[
            "get-poetry-blocking",
            "get-poetry-async",
            "get-poetry-1",
            "get-poetry-1-broken",
            "get-poetry-tokio",
            "get-poetry-threads",
        ],
        "stderr",
        "Task 1: failed to connect to 127.0.0.1:10004: Connection refused",
    ),
    (
        &["timing-client"],
        "stderr",
        "one failed to connect to 127.0.0.1:10004: Connection refused",
    ),
    (
        &["get-poetry-2", "get-poetry-2-simple", "get-poetry-2-stack"],
        "stdout",
        "Failed to connect to: IPv4Address(type='TCP', host='127.0.0.1', port=10004)",
    ),
    (
        &["get-poetry-2"],
        "stderr",
        "get-poetry-2: failed to connect to 127.0.0.1:10004: Connection refused",
    ),
    (
        &["get-poetry-2-simple"],
        "stderr",
        "get-poetry-2-simple: failed to connect to 127.0.0.1:10004: Connection refused",
    ),
    (
        &["get-poetry-2-stack"],
        "stderr",
        "get-poetry-2-stack: failed to connect to 127.0.0.1:10004: Connection refused",
    ),
    (
        &["get-poetry-3-1", "get-poetry-4", "get-poetry-4-stack"],
        "stderr",
        "Poem failed: ConnectionRefusedError: Connection was refused by other side: 111: Connection refused.",
    ),
    (
        &["get-poetry-5", "get-poetry-5-1"],
        "stderr",
        "The poem download failed.",
    ),
    (
        &["get-poetry-6"],
        "stderr",
        "[Failure instance: ConnectError: Connection was refused by other side: 111: Connection refused.]",
    ),
    (
        &["get-poetry-7", "get-poetry-8"],
        "stderr",
        "The poem download failed: Connection was refused by other side: 111: Connection refused.",
    ),
];

#[test]
fn each_client_reports_a_refused_connection_as_the_readme_says() {
    let text = tutorial_text();
    let port = support::closed_port().to_string();
    for (clients, stream, line) in REFUSED {
        assert!(
            text.contains(&format!("`{line}`")),
            "the README lacks {line}"
        );
        let line = line.replace("10004", &port);
        for client in clients {
            // Clients 6 to 8 take the transform server first: the same closed port. The timing
            // client names its request.
            let args: &[&str] = match *client {
                "get-poetry-6" | "get-poetry-7" | "get-poetry-8" => &[&port, &port],
                "timing-client" => &[&port, "one"],
                _ => &[&port],
            };
            let output = support::run(client, args);
            assert_eq!(output.status.code(), Some(1), "{client}");
            let printed = if stream == "stdout" {
                &output.stdout
            } else {
                &output.stderr
            };
            let printed = support::lines(printed);
            assert!(printed.contains(&line), "{client} on {stream}: {printed:?}");
        }
    }
}
