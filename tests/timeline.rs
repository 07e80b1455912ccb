//! `--timeline FILE.svg` end to end: the two clients of Part 2 draw their runs against three real
//! `slowpoetry` servers, and the figures are read back as XML: a valid SVG document, a lane per
//! download, a mark per piece the client reported, lanes one after another for the blocking client and
//! side by side for the asynchronous one.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use support::{Server, lines, poem, run};

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// The three servers of Part 2, fast.
fn three_servers() -> [Server; 3] {
    [
        Server::slow("ecstasy.txt", &["--num-bytes", "30", "--delay", "3ms"]),
        Server::slow("fascination.txt", &["--delay", "3ms"]),
        Server::slow("alla_sera.txt", &["--delay", "3ms"]),
    ]
}

const POEMS: [&str; 3] = ["ecstasy.txt", "fascination.txt", "alla_sera.txt"];

/// An element of a figure: its attributes, its own text, and how deep it is (1 for the root).
#[derive(Debug)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
    depth: usize,
}

/// Reads a whole SVG file, failing the test if it is not well-formed XML.
fn parse(path: &Path) -> Vec<Element> {
    let svg = fs::read_to_string(path).unwrap();
    let mut reader = Reader::from_str(&svg);
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let element = |start: &BytesStart<'_>, depth| Element {
        name: start.name().as_ref().to_owned(),
        attributes: start
            .attributes()
            .map(|attribute| {
                let attribute = attribute.unwrap();
                let value = attribute.normalized_value(XmlVersion::Implicit1_0);
                (
                    attribute.key.as_ref().to_owned(),
                    value.unwrap().into_owned(),
                )
            })
            .collect(),
        text: String::new(),
        depth,
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) => {
                elements.push(element(&start, open.len() + 1));
                open.push(elements.len() - 1);
            }
            Event::Empty(start) => elements.push(element(&start, open.len() + 1)),
            Event::End(_) => {
                open.pop().unwrap();
            }
            Event::Text(text) => match open.last() {
                Some(&index) => elements[index].text += &text.xml10_content(),
                None => assert!(text.xml10_content().trim().is_empty()),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    elements
}

/// One lane of a figure as the test sees it.
#[derive(Debug)]
struct Lane {
    label: String,
    /// Where its bar begins and ends on the x axis.
    start: f64,
    end: f64,
    /// The bytes of each mark, in order, from the marks' tooltips (`30 bytes at 0.012 s`).
    pieces: Vec<usize>,
}

/// Checks the root of a figure and returns its title and lanes.
fn read_figure(path: &Path) -> (String, Vec<Lane>) {
    let elements = parse(path);
    let root = &elements[0];
    assert_eq!(root.name, "svg");
    assert_eq!(root.attributes["xmlns"], SVG_NAMESPACE);
    assert_eq!(root.attributes["version"], "1.1");
    let width: f64 = root.attributes["width"].parse().unwrap();
    let height: f64 = root.attributes["height"].parse().unwrap();
    assert!(width > 0.0 && height > 0.0);
    assert_eq!(root.attributes["viewBox"], format!("0 0 {width} {height}"));
    assert_eq!(elements.iter().filter(|e| e.depth == 1).count(), 1);
    assert!(!elements.iter().any(|e| e.name == "script"));
    assert_eq!(elements[1].name, "title");
    let title = elements[1].text.clone();

    let class =
        |e: &Element, class: &str| e.attributes.get("class").map(String::as_str) == Some(class);
    let coordinate = |e: &Element, name: &str| e.attributes[name].parse::<f64>().unwrap();
    let mut lanes = Vec::new();
    for (index, group) in elements.iter().enumerate() {
        if !class(group, "lane") {
            continue;
        }
        let inside: Vec<&Element> = elements[index + 1..]
            .iter()
            .take_while(|e| e.depth > group.depth)
            .collect();
        let label = inside.iter().find(|e| e.name == "text").unwrap();
        let spans: Vec<&&Element> = inside.iter().filter(|e| class(e, "span")).collect();
        assert_eq!(spans.len(), 1);
        let start = coordinate(spans[0], "x");
        let pieces = inside
            .iter()
            .filter(|e| class(e, "piece"))
            .enumerate()
            .map(|(at, piece)| {
                let tip = inside
                    .iter()
                    .skip_while(|e| !std::ptr::eq(**e, *piece))
                    .nth(1)
                    .unwrap();
                assert_eq!(tip.name, "title", "the tooltip of mark {at}");
                tip.text
                    .split_once(" bytes at ")
                    .unwrap()
                    .0
                    .parse()
                    .unwrap()
            })
            .collect();
        lanes.push(Lane {
            label: label.text.clone(),
            start,
            end: start + coordinate(spans[0], "width"),
            pieces,
        });
    }
    (title, lanes)
}

#[test]
fn the_blocking_figure_has_its_lanes_one_after_another() {
    let servers = three_servers();
    let dir = tempfile::tempdir().unwrap();
    let figure = dir.path().join("blocking.svg");
    let mut args: Vec<String> = servers.iter().map(Server::arg).collect();
    args.extend(["--timeline".to_owned(), figure.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run("get-poetry-blocking", &args);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());

    let (title, lanes) = read_figure(&figure);
    let total = lines(&output.stdout).last().unwrap().clone();
    assert!(
        title.starts_with("get-poetry-blocking, the synchronous model: 3 downloads, "),
        "{title}"
    );
    assert!(total.starts_with("Got 3 poems in "), "{total}");
    assert_eq!(lanes.len(), 3);
    for (index, lane) in lanes.iter().enumerate() {
        let task = index + 1;
        assert_eq!(
            lane.label,
            format!("Task {task}: 127.0.0.1:{}", servers[index].port)
        );
        assert!(!lane.pieces.is_empty());
        assert_eq!(lane.pieces.iter().sum::<usize>(), poem(POEMS[index]).len());
    }
    // One download at a time: each lane begins where the one before it ended, or later.
    for pair in lanes.windows(2) {
        assert!(pair[0].end <= pair[1].start, "{pair:?}");
    }
}

/// Runs an asynchronous client with `--progress` (plain lines, not on a terminal) and `--timeline`,
/// and checks that its figure has a lane per download, a mark per piece the client reported, and
/// lanes side by side. `peer` is how the client names a server in its lines, given its port.
fn check_side_by_side(client: &str, heading: &str, peer: fn(u16) -> String) {
    let servers = three_servers();
    let dir = tempfile::tempdir().unwrap();
    let figure = dir.path().join("figure.svg");
    let mut args: Vec<String> = servers.iter().map(Server::arg).collect();
    args.extend([
        "--progress".to_owned(),
        "--timeline".to_owned(),
        figure.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(client, &args);
    assert_eq!(output.status.code(), Some(0), "{client}");
    assert!(output.stderr.is_empty(), "{client}");
    let out = lines(&output.stdout);

    let (title, lanes) = read_figure(&figure);
    assert!(
        title.starts_with(&format!("{heading}: 3 downloads, ")),
        "{title}"
    );
    assert_eq!(lanes.len(), 3);
    let mut ports = Vec::new();
    for (index, lane) in lanes.iter().enumerate() {
        let task = index + 1;
        let port: u16 = lane
            .label
            .strip_prefix(&format!("Task {task}: 127.0.0.1:"))
            .unwrap_or_else(|| panic!("{client}: lane {task} is {:?}", lane.label))
            .parse()
            .unwrap();
        ports.push(port);
        // The pieces the client reported for this task, as its lines say them.
        let (head, tail) = (
            format!("Task {task}: got "),
            format!(" bytes of poetry from {}", peer(port)),
        );
        let reported: Vec<usize> = out
            .iter()
            .filter_map(|line| line.strip_prefix(&head)?.strip_suffix(&tail))
            .map(|bytes| bytes.parse().unwrap())
            .collect();
        assert_eq!(lane.pieces, reported, "{client}, task {task}");
        let server = servers.iter().position(|s| s.port == port).unwrap();
        assert_eq!(lane.pieces.iter().sum::<usize>(), poem(POEMS[server]).len());
    }
    ports.sort_unstable();
    let mut expected: Vec<u16> = servers.iter().map(|server| server.port).collect();
    expected.sort_unstable();
    assert_eq!(ports, expected, "{client}: a lane per server");
    // All at once: every lane began before any of them ended.
    let last_start = lanes.iter().map(|lane| lane.start).fold(f64::MIN, f64::max);
    let first_end = lanes.iter().map(|lane| lane.end).fold(f64::MAX, f64::min);
    assert!(last_start < first_end, "{client}: {lanes:?}");
}

#[test]
fn the_asynchronous_figure_has_a_mark_per_reported_piece_and_lanes_side_by_side() {
    check_side_by_side(
        "get-poetry-async",
        "get-poetry-async, the asynchronous model",
        |port| format!("127.0.0.1:{port}"),
    );
}

#[test]
fn the_reactor_client_draws_the_same_picture() {
    check_side_by_side(
        "get-poetry-2",
        "get-poetry-2, the asynchronous model on the reactor",
        |port| format!("IPv4Address(type='TCP', host='127.0.0.1', port={port})"),
    );
}

#[test]
fn a_figure_that_cannot_be_written_is_one_error_line_after_the_poems() {
    let server = Server::slow("science.txt", &["--delay", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let figure = dir.path().join("no-such-folder").join("run.svg");
    for client in ["get-poetry-blocking", "get-poetry-async", "get-poetry-2"] {
        let output = run(
            client,
            &[&server.arg(), "--timeline", figure.to_str().unwrap()],
        );
        assert_eq!(output.status.code(), Some(1), "{client}");
        let out = lines(&output.stdout);
        assert!(
            out.last().unwrap().starts_with("Got 1 poems in "),
            "{out:?}"
        );
        assert_eq!(
            lines(&output.stderr),
            [format!(
                "{client}: error: cannot write the timeline to {}: No such file or directory",
                figure.display()
            )]
        );
    }
}
