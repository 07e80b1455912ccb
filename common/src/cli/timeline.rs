//! `--timeline FILE.svg`: the tutorial's pictures of tasks over time, drawn from a real run.
//!
//! Part 1 of the tutorial explains the synchronous and the asynchronous models with figures: one lane
//! per task, time running to the right, a block wherever a task does some work. A client given
//! `--timeline` notes when each download started, when each piece of poem arrived and when the
//! download ended, and draws that figure once it is done. The blocking client's lanes come one after
//! the other, each waiting for the previous one to end; the asynchronous client's lanes lie side by
//! side, their marks interleaved, and the whole figure is about as long as its slowest lane.
//!
//! Without the option nothing is recorded: every method of [`Timeline`] first looks whether there is a
//! recording at all, and does not even read the clock otherwise.
//!
//! The file is plain SVG 1.1 with no script and no style sheet, so any browser shows it. It is written
//! with quick-xml's writer (already here for XML-RPC), which escapes text and attribute values alike,
//! quotes included: a label is whatever the user typed as an address, and must not break the file.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::output::plain_error;

/// The option itself, flattened into the clients that draw their downloads.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TimelineOption {
    /// Draw the downloads over time as an SVG figure in FILE.svg: one lane per download, a mark for
    /// each piece of poem received.
    #[arg(long, value_name = "FILE.svg")]
    pub timeline: Option<PathBuf>,
}

/// One piece of poem received: when (since the start of the run) and how many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// When it arrived, since the start of the run.
    pub at: Duration,
    /// How many bytes it brought.
    pub bytes: usize,
}

/// One download as the figure shows it: a label, the time it was open, and its pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// What the lane is called on the left of the figure: the task and its server.
    pub label: String,
    /// When the download began (the connection included), since the start of the run.
    pub start: Duration,
    /// When it ended; `None` while it is still open, which the figure draws up to the end of the run.
    pub end: Option<Duration>,
    /// Whether it ended without its whole poem.
    pub failed: bool,
    /// The pieces received, in the order they came.
    pub pieces: Vec<Piece>,
}

/// What a client records for `--timeline`, or nothing at all when the option was not given.
pub struct Timeline {
    recording: Option<Recording>,
}

/// A recording under way: where it will go, the clock it reads against, and the lanes by task.
struct Recording {
    path: PathBuf,
    started: Instant,
    lanes: BTreeMap<usize, Lane>,
}

impl Timeline {
    /// A recording when `option` names a file, times counted from `started` (the start of the run,
    /// as the client's own total time counts it); otherwise a timeline that records nothing.
    pub fn new(option: &TimelineOption, started: Instant) -> Timeline {
        Timeline {
            recording: option.timeline.as_ref().map(|path| Recording {
                path: path.clone(),
                started,
                lanes: BTreeMap::new(),
            }),
        }
    }

    /// Download `task` (1-based) begins now; its lane is labelled `label` (formatted only when
    /// recording).
    pub fn start(&mut self, task: usize, label: impl fmt::Display) {
        if let Some(recording) = &mut self.recording {
            let lane = Lane {
                label: label.to_string(),
                start: recording.started.elapsed(),
                end: None,
                failed: false,
                pieces: Vec::new(),
            };
            recording.lanes.insert(task, lane);
        }
    }

    /// `bytes` bytes of task `task`'s poem have just arrived.
    pub fn piece(&mut self, task: usize, bytes: usize) {
        if let Some(recording) = &mut self.recording {
            let at = recording.started.elapsed();
            if let Some(lane) = recording.lanes.get_mut(&task) {
                lane.pieces.push(Piece { at, bytes });
            }
        }
    }

    /// Download `task` is over, with its whole poem or (`failed`) without.
    pub fn end(&mut self, task: usize, failed: bool) {
        if let Some(recording) = &mut self.recording {
            let at = recording.started.elapsed();
            if let Some(lane) = recording.lanes.get_mut(&task) {
                lane.end = Some(at);
                lane.failed = failed;
            }
        }
    }

    /// Wraps a blocking reader so that every read that returns data is a piece of task `task`: the
    /// blocking client reads its poems through this.
    pub fn watch<R: Read>(&mut self, task: usize, reader: R) -> Watched<'_, R> {
        Watched {
            reader,
            timeline: self,
            task,
        }
    }

    /// Writes the figure, when recording, titled `heading` and `total` (the client's own total
    /// time, so that the figure and the client's last line agree). The error is one line, ready for
    /// the client to report.
    pub fn save(&self, heading: &str, total: Duration) -> Result<(), String> {
        let Some(recording) = &self.recording else {
            return Ok(());
        };
        let lanes: Vec<Lane> = recording.lanes.values().cloned().collect();
        let title = figure_title(heading, lanes.len(), total);
        File::create(&recording.path)
            .and_then(|file| {
                let mut out = BufWriter::new(file);
                write_svg(&mut out, &title, total, &lanes)?;
                out.flush()
            })
            .map_err(|error| {
                format!(
                    "cannot write the timeline to {}: {}",
                    recording.path.display(),
                    plain_error(&error)
                )
            })
    }
}

/// A reader whose reads are recorded as pieces of one task; see [`Timeline::watch`].
pub struct Watched<'a, R> {
    reader: R,
    timeline: &'a mut Timeline,
    task: usize,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.reader.read(buffer)?;
        if count > 0 {
            self.timeline.piece(self.task, count);
        }
        Ok(count)
    }
}

/// The title of a figure: what it shows, then how many downloads and how long they took in all.
pub fn figure_title(heading: &str, downloads: usize, total: Duration) -> String {
    let plural = if downloads == 1 { "" } else { "s" };
    format!(
        "{heading}: {downloads} download{plural}, {:.2} s in all",
        total.as_secs_f64()
    )
}

// The layout, in SVG user units (pixels in a browser at 100%).
const WIDTH: f64 = 960.0;
/// Where the plot begins: the lane labels are on its left.
const PLOT_LEFT: f64 = 250.0;
const PLOT_RIGHT: f64 = WIDTH - 30.0;
const LANES_TOP: f64 = 64.0;
const LANE_HEIGHT: f64 = 24.0;
const LANE_GAP: f64 = 12.0;
/// A piece is a tick this wide: it takes the client no time worth drawing to handle one.
const PIECE_WIDTH: f64 = 1.5;
/// Labels longer than this many characters are cut, with an ellipsis.
const LABEL_CHARS: usize = 32;

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";
const SPAN_FILL: &str = "#dde6f0";
const FAILED_FILL: &str = "#f4cccc";
const PIECE_FILL: &str = "#1f4e79";

/// Writes the figure as a standalone SVG 1.1 document: `title` on top, one lane per entry of
/// `lanes` (a light bar while the download was open, a tick per piece, each tick with a tooltip), and
/// a time axis in seconds covering `total` (or the last thing recorded, if later).
pub fn write_svg(out: impl Write, title: &str, total: Duration, lanes: &[Lane]) -> io::Result<()> {
    let span = lanes
        .iter()
        .flat_map(|lane| lane.end.into_iter().chain(lane.pieces.iter().map(|p| p.at)))
        .fold(total, Duration::max)
        .as_secs_f64()
        .max(0.001);
    let x = |at: Duration| PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * at.as_secs_f64() / span;
    let axis_y = LANES_TOP + lanes.len() as f64 * (LANE_HEIGHT + LANE_GAP);
    let height = axis_y + 44.0;
    let (width, height) = (number(WIDTH), number(height));
    let view_box = format!("0 0 {width} {height}");

    let mut writer = Writer::new_with_indent(out, b' ', 1);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("svg")
        .with_attributes([
            ("xmlns", SVG_NAMESPACE),
            ("version", "1.1"),
            ("width", &width),
            ("height", &height),
            ("viewBox", &view_box),
            ("font-family", "sans-serif"),
            ("font-size", "13"),
        ])
        .write_inner_content(|w| {
            text_element(w, "title", &[], title)?;
            w.create_element("rect")
                .with_attributes([("width", "100%"), ("height", "100%"), ("fill", "white")])
                .write_empty()?;
            text_element(
                w,
                "text",
                &[("x", "10"), ("y", "24"), ("font-size", "16")],
                title,
            )?;
            text_element(
                w,
                "text",
                &[("x", "10"), ("y", "44"), ("fill", "#555")],
                "Each bar is a download while it is open; each tick, a piece of poem received.",
            )?;
            for (row, lane) in lanes.iter().enumerate() {
                let top = LANES_TOP + row as f64 * (LANE_HEIGHT + LANE_GAP);
                write_lane(w, lane, top, Duration::from_secs_f64(span), &x)?;
            }
            write_axis(w, axis_y, span, &x)
        })?;
    writer.get_mut().write_all(b"\n")
}

/// One lane: its label, the bar of the time it was open, and a tick per piece.
fn write_lane<W: Write>(
    w: &mut Writer<W>,
    lane: &Lane,
    top: f64,
    run_end: Duration,
    x: &impl Fn(Duration) -> f64,
) -> io::Result<()> {
    let mut label = shorten(&lane.label);
    if lane.failed {
        label.push_str(" (failed)");
    }
    w.create_element("g")
        .with_attribute(("class", "lane"))
        .write_inner_content(|w| {
            text_element(w, "title", &[], &lane.label)?;
            let baseline = number(top + LANE_HEIGHT / 2.0 + 4.5);
            text_element(w, "text", &[("x", "10"), ("y", &baseline)], &label)?;
            let (start, end) = (x(lane.start), x(lane.end.unwrap_or(run_end)));
            let fill = if lane.failed { FAILED_FILL } else { SPAN_FILL };
            w.create_element("rect")
                .with_attributes([
                    ("class", "span"),
                    ("x", &number(start)),
                    ("y", &number(top)),
                    ("width", &number((end - start).max(0.0))),
                    ("height", &number(LANE_HEIGHT)),
                    ("fill", fill),
                ])
                .write_empty()?;
            for piece in &lane.pieces {
                let tip = format!("{} bytes at {:.3} s", piece.bytes, piece.at.as_secs_f64());
                w.create_element("rect")
                    .with_attributes([
                        ("class", "piece"),
                        ("x", number(x(piece.at) - PIECE_WIDTH / 2.0).as_str()),
                        ("y", &number(top + 3.0)),
                        ("width", &number(PIECE_WIDTH)),
                        ("height", &number(LANE_HEIGHT - 6.0)),
                        ("fill", PIECE_FILL),
                    ])
                    .write_inner_content(|w| text_element(w, "title", &[], &tip))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The time axis under the lanes: a line, and a labelled tick every round number of seconds.
fn write_axis<W: Write>(
    w: &mut Writer<W>,
    y: f64,
    span: f64,
    x: &impl Fn(Duration) -> f64,
) -> io::Result<()> {
    let (step, decimals) = tick_step(span);
    w.create_element("g")
        .with_attributes([("class", "axis"), ("stroke", "#333")])
        .write_inner_content(|w| {
            w.create_element("line")
                .with_attributes([
                    ("x1", number(PLOT_LEFT).as_str()),
                    ("y1", &number(y)),
                    ("x2", &number(PLOT_RIGHT)),
                    ("y2", &number(y)),
                ])
                .write_empty()?;
            // Counting ticks rather than adding up steps keeps rounding errors from piling up.
            let ticks = (span / step + 1e-9).floor() as u32;
            for tick in 0..=ticks {
                let at = f64::from(tick) * step;
                let tick_x = number(x(Duration::from_secs_f64(at)));
                w.create_element("line")
                    .with_attributes([
                        ("x1", tick_x.as_str()),
                        ("y1", &number(y)),
                        ("x2", &tick_x),
                        ("y2", &number(y + 6.0)),
                    ])
                    .write_empty()?;
                let label = format!("{at:.decimals$} s");
                text_element(
                    w,
                    "text",
                    &[
                        ("class", "tick"),
                        ("x", &tick_x),
                        ("y", &number(y + 22.0)),
                        ("text-anchor", "middle"),
                        ("stroke", "none"),
                    ],
                    &label,
                )?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The distance between two ticks for an axis of `span` seconds, a round number (1, 2 or 5 times
/// a power of ten) giving at most eight intervals, and the decimals its labels need.
fn tick_step(span: f64) -> (f64, usize) {
    let rough = span / 8.0;
    let power = rough.log10().floor();
    let magnitude = 10f64.powf(power);
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|&step| step >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    (step, decimals)
}

/// Writes `<name attributes>text</name>`, the text escaped and cleaned (see [`clean`]).
fn text_element<W: Write>(
    w: &mut Writer<W>,
    name: &str,
    attributes: &[(&str, &str)],
    text: &str,
) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attributes.iter().copied())
        .write_text_content(BytesText::new(&clean(text)))?;
    Ok(())
}

/// The text with every character that XML 1.0 forbids (control characters other than tab and line
/// ends, U+FFFE, U+FFFF) replaced by U+FFFD: escaping cannot make those valid, and one would make
/// the whole file unreadable.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}

/// A label that fits its column: cut, with an ellipsis, when too long (the lane's tooltip has it
/// whole).
fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// A coordinate as the file writes it: two decimals at most, no trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::XmlVersion;
    use quick_xml::events::BytesStart;
    use quick_xml::reader::Reader;

    /// An element of the figure as the tests look at it: its name, attributes and text.
    #[derive(Debug)]
    struct Element {
        name: String,
        attributes: BTreeMap<String, String>,
        text: String,
        /// How deep it is: 1 for the root.
        depth: usize,
    }

    /// Parses the whole document (which must be well-formed) into its elements, in order.
    fn parse(svg: &str) -> Vec<Element> {
        let mut reader = Reader::from_str(svg);
        let mut elements = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let element = |start: &BytesStart<'_>, depth| Element {
            name: start.name().as_ref().to_owned(),
            attributes: start
                .attributes()
                .map(|attribute| {
                    let attribute = attribute.unwrap();
                    let key = attribute.key.as_ref().to_owned();
                    let value = attribute.normalized_value(XmlVersion::Implicit1_0).unwrap();
                    (key, value.into_owned())
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
                // Only the line break between the declaration and the root lies outside it.
                Event::Text(text) if open.is_empty() => {
                    assert!(text.xml10_content().trim().is_empty())
                }
                Event::Text(text) => {
                    let index = *open.last().unwrap();
                    elements[index].text += &text.xml10_content();
                }
                Event::GeneralRef(reference) => {
                    let index = *open.last().unwrap();
                    let character = match &*reference {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected reference &{other};"),
                    };
                    elements[index].text += character;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(open.is_empty());
        elements
    }

    /// The elements inside the element at `index`.
    fn children(elements: &[Element], index: usize) -> &[Element] {
        let depth = elements[index].depth;
        let rest = &elements[index + 1..];
        let end = rest
            .iter()
            .position(|e| e.depth <= depth)
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// The labels of the lanes, in order.
    fn lane_labels(elements: &[Element]) -> Vec<&str> {
        (0..elements.len())
            .filter(|&i| elements[i].attributes.get("class").map(String::as_str) == Some("lane"))
            .flat_map(|i| children(elements, i).iter().filter(|e| e.name == "text"))
            .map(|e| e.text.as_str())
            .collect()
    }

    fn lane(label: &str, start: u64, end: u64, pieces: &[(u64, usize)]) -> Lane {
        Lane {
            label: label.to_owned(),
            start: Duration::from_millis(start),
            end: Some(Duration::from_millis(end)),
            failed: false,
            pieces: pieces
                .iter()
                .map(|&(at, bytes)| Piece {
                    at: Duration::from_millis(at),
                    bytes,
                })
                .collect(),
        }
    }

    fn draw(title: &str, total: u64, lanes: &[Lane]) -> String {
        let mut out = Vec::new();
        write_svg(&mut out, title, Duration::from_millis(total), lanes).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn with_class<'a>(elements: &'a [Element], class: &str) -> Vec<&'a Element> {
        elements
            .iter()
            .filter(|e| e.attributes.get("class").map(String::as_str) == Some(class))
            .collect()
    }

    fn attribute(element: &Element, name: &str) -> f64 {
        element.attributes[name].parse().unwrap()
    }

    #[test]
    fn the_root_is_svg_with_its_namespace_and_size() {
        let svg = draw("A run", 1000, &[lane("Task 1", 0, 1000, &[(500, 10)])]);
        assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        let elements = parse(&svg);
        let root = &elements[0];
        assert_eq!(root.name, "svg");
        assert_eq!(root.attributes["xmlns"], SVG_NAMESPACE);
        assert_eq!(root.attributes["version"], "1.1");
        let (width, height) = (&root.attributes["width"], &root.attributes["height"]);
        assert_eq!(root.attributes["viewBox"], format!("0 0 {width} {height}"));
        assert_eq!(elements.iter().filter(|e| e.depth == 1).count(), 1);
        assert!(!elements.iter().any(|e| e.name == "script"));
        assert_eq!(elements[1].name, "title");
        assert_eq!(elements[1].text, "A run");
    }

    #[test]
    fn one_lane_per_download_and_one_mark_per_piece() {
        let lanes = [
            lane("Task 1: 127.0.0.1:10000", 0, 400, &[(100, 30), (200, 30)]),
            lane("Task 2: 127.0.0.1:10001", 400, 900, &[(500, 10)]),
            lane("Task 3: 127.0.0.1:10002", 900, 1000, &[]),
        ];
        let elements = parse(&draw("Blocking", 1000, &lanes));
        let lane_groups: Vec<usize> = elements
            .iter()
            .enumerate()
            .filter(|(_, e)| e.attributes.get("class").map(String::as_str) == Some("lane"))
            .map(|(index, _)| index)
            .collect();
        assert_eq!(lane_groups.len(), 3);
        // Each group holds its own label and exactly its pieces.
        for (&group, lane) in lane_groups.iter().zip(&lanes) {
            let inside = children(&elements, group);
            let labels: Vec<&str> = inside
                .iter()
                .filter(|e| e.name == "text")
                .map(|e| e.text.as_str())
                .collect();
            assert_eq!(labels, [lane.label.as_str()]);
            assert_eq!(with_class(inside, "span").len(), 1);
            assert_eq!(with_class(inside, "piece").len(), lane.pieces.len());
        }
        assert_eq!(with_class(&elements, "piece").len(), 3);
        let tips: Vec<&str> = elements
            .iter()
            .filter(|e| e.name == "title" && e.depth == 4)
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(
            tips,
            [
                "30 bytes at 0.100 s",
                "30 bytes at 0.200 s",
                "10 bytes at 0.500 s"
            ]
        );
    }

    #[test]
    fn times_map_onto_the_plot_from_left_to_right() {
        let lanes = [
            lane("one", 0, 500, &[(250, 1)]),
            lane("two", 500, 1000, &[(1000, 1)]),
        ];
        let elements = parse(&draw("t", 1000, &lanes));
        let spans = with_class(&elements, "span");
        assert_eq!(attribute(spans[0], "x"), PLOT_LEFT);
        assert_eq!(attribute(spans[0], "width"), (PLOT_RIGHT - PLOT_LEFT) / 2.0);
        assert_eq!(attribute(spans[1], "x"), (PLOT_LEFT + PLOT_RIGHT) / 2.0);
        assert_eq!(
            attribute(spans[1], "x") + attribute(spans[1], "width"),
            PLOT_RIGHT
        );
        // The second lane lies below the first.
        assert_eq!(
            attribute(spans[1], "y") - attribute(spans[0], "y"),
            LANE_HEIGHT + LANE_GAP
        );
        // A tick is centred on the moment its piece arrived.
        let pieces = with_class(&elements, "piece");
        let centre = |e: &Element| attribute(e, "x") + attribute(e, "width") / 2.0;
        assert_eq!(
            centre(pieces[0]),
            PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) / 4.0
        );
        assert_eq!(centre(pieces[1]), PLOT_RIGHT);
    }

    #[test]
    fn the_axis_is_labelled_in_round_seconds() {
        let ticks = |total| {
            let elements = parse(&draw("t", total, &[lane("one", 0, total, &[])]));
            with_class(&elements, "tick")
                .iter()
                .map(|e| e.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ticks(1000),
            ["0.0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1.0 s"]
        );
        assert_eq!(
            ticks(3500),
            [
                "0.0 s", "0.5 s", "1.0 s", "1.5 s", "2.0 s", "2.5 s", "3.0 s", "3.5 s"
            ]
        );
        assert_eq!(ticks(10_200), ["0 s", "2 s", "4 s", "6 s", "8 s", "10 s"]);
        assert_eq!(
            ticks(70),
            [
                "0.00 s", "0.01 s", "0.02 s", "0.03 s", "0.04 s", "0.05 s", "0.06 s", "0.07 s"
            ]
        );
    }

    #[test]
    fn labels_are_escaped_and_cleaned() {
        let label = "Task 1: <a & \"b\" 'c'>\u{7}";
        let svg = draw("x < y & \"z\"", 100, &[lane(label, 0, 100, &[])]);
        assert!(!svg.contains('\u{7}'));
        assert!(svg.contains("&lt;a &amp;"));
        let elements = parse(&svg);
        assert_eq!(elements[1].text, "x < y & \"z\"");
        let texts: Vec<&str> = elements
            .iter()
            .filter(|e| e.name == "text")
            .map(|e| e.text.as_str())
            .collect();
        assert!(
            texts.contains(&"Task 1: <a & \"b\" 'c'>\u{fffd}"),
            "{texts:?}"
        );
    }

    #[test]
    fn long_labels_are_cut_and_failed_lanes_said_so() {
        let mut failed = lane(&"h".repeat(40), 0, 50, &[]);
        failed.failed = true;
        let elements = parse(&draw("t", 100, &[failed]));
        assert_eq!(
            lane_labels(&elements),
            [format!("{}… (failed)", "h".repeat(31))]
        );
        assert_eq!(
            with_class(&elements, "span")[0].attributes["fill"],
            FAILED_FILL
        );
    }

    #[test]
    fn an_open_lane_runs_to_the_end_and_an_empty_run_still_draws() {
        let mut open = lane("open", 0, 0, &[]);
        open.end = None;
        let elements = parse(&draw("t", 2000, &[open]));
        let span = with_class(&elements, "span")[0];
        assert_eq!(attribute(span, "x") + attribute(span, "width"), PLOT_RIGHT);
        let elements = parse(&draw("nothing", 0, &[]));
        assert_eq!(with_class(&elements, "lane").len(), 0);
        assert_eq!(with_class(&elements, "tick")[0].text, "0.0000 s");
    }

    #[test]
    fn nothing_is_recorded_without_the_option() {
        let mut timeline = Timeline::new(&TimelineOption::default(), Instant::now());
        timeline.start(1, "Task 1");
        timeline.piece(1, 10);
        timeline.end(1, false);
        assert!(timeline.recording.is_none());
        assert_eq!(timeline.save("nothing", Duration::ZERO), Ok(()));
    }

    #[test]
    fn a_recording_is_saved_with_a_lane_per_task_and_a_piece_per_read() {
        let dir = std::env::temp_dir().join(format!("timeline-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.svg");
        let option = TimelineOption {
            timeline: Some(path.clone()),
        };
        let mut timeline = Timeline::new(&option, Instant::now());
        timeline.start(2, "Task 2");
        timeline.start(1, "Task 1");
        let mut poem = Vec::new();
        timeline
            .watch(1, &b"a short poem"[..])
            .read_to_end(&mut poem)
            .unwrap();
        timeline.end(1, false);
        timeline.end(2, true);
        assert_eq!(timeline.save("Test run", Duration::from_millis(1)), Ok(()));
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        let elements = parse(&svg);
        assert!(elements[1].text.starts_with("Test run: 2 downloads, "));
        assert_eq!(lane_labels(&elements), ["Task 1", "Task 2 (failed)"]);
        assert_eq!(with_class(&elements, "piece").len(), 1);
    }

    #[test]
    fn a_file_that_cannot_be_written_is_reported() {
        let option = TimelineOption {
            timeline: Some(PathBuf::from("/nonexistent-dir/run.svg")),
        };
        let error = Timeline::new(&option, Instant::now())
            .save("t", Duration::ZERO)
            .unwrap_err();
        assert!(
            error.starts_with("cannot write the timeline to /nonexistent-dir/run.svg: "),
            "{error}"
        );
    }

    #[test]
    fn titles_count_the_downloads() {
        assert_eq!(
            figure_title("Blocking", 1, Duration::from_millis(1500)),
            "Blocking: 1 download, 1.50 s in all"
        );
        assert_eq!(
            figure_title("Async", 3, Duration::from_millis(10_126)),
            "Async: 3 downloads, 10.13 s in all"
        );
    }
}
