//! The deferred simulator: tutorial Part 9, "A Second Interlude, Deferred" (and the exercises of
//! Part 10).
//!
//! A deferred holds a chain of callback/errback pairs, and each stage of the chain runs either its
//! callback or its errback: the callback when the value arriving from the stage above is an
//! ordinary result, the errback when it is a failure. Whatever that function returns (or raises)
//! decides which side the next stage runs on, so a value criss-crosses between the two lines as it
//! goes down the chain. This program makes that pattern visible. The user describes a chain, one
//! pair per line, in which every callback and errback either returns a fixed value, fails with one,
//! or passes on what it was given; the program then draws, in ASCII art, the chain itself beside
//! the path taken through it by `d.callback(initial)` and by `d.errback(initial*)`.
//!
//! Nothing runs asynchronously here: the firing is worked out by a plain function that follows the
//! rules a real deferred obeys. The layout reproduces the original script's drawings column for
//! column.
//!
//! ```text
//! printf 'r good f bad\nf googly p\np r fixed\n\n' | cargo run --bin deferred-simulator
//! printf 'r ok p\n\n' | cargo run --bin deferred-simulator -- --narrow
//! ```
//!
//! or run it without a pipe and type the pairs, ending with an empty line.

use std::fmt;
use std::io::{self, BufRead};
use std::process::ExitCode;

use clap::Parser;
use common::cli::output::{plain_error, report_error};
use common::outln;

/// Draw how the callbacks and errbacks of a deferred fire (tutorial Part 9).
///
/// Describe a deferred's chain on standard input, one callback/errback pair per line, and finish
/// with an empty line. The program explains the input language when it starts, then draws the chain
/// next to the path that d.callback(initial) and d.errback(initial*) each take through it. It takes
/// no arguments; the drawing is 136 columns wide unless --narrow is given.
#[derive(Debug, Parser)]
#[command(
    name = "deferred-simulator",
    version,
    after_help = "Examples:\n  \
                  printf 'r good f bad\\nf googly p\\np r fixed\\n\\n' | deferred-simulator\n  \
                  printf 'r ok p\\n\\n' | deferred-simulator --narrow"
)]
struct Options {
    /// Print the chain and the two firings one below the other, for a narrow terminal.
    #[arg(long)]
    narrow: bool,
}

/// What the program prints before it reads anything. It ends with an empty line.
const INSTRUCTIONS: &str = "\
Describe the chain of a deferred, one callback/errback pair per line:

  CALLBACK ERRBACK

Each of CALLBACK and ERRBACK is one of these three:

  return VALUE    hand VALUE to the next stage as its result
  fail VALUE      raise Exception(VALUE): the next stage gets a failure
  passthru        hand on whatever arrived, unchanged

A VALUE is made of letters and digits only (no spaces), 6 of them at most.
Each of the three words may be cut short, down to r, f or p.

For example:

  r good f bad    the callback returns 'good',
                  the errback raises Exception('bad')

  f googly p      the callback raises Exception('googly'),
                  the errback hands its failure on

  p r fixed       the callback hands its result on,
                  the errback recovers, returning 'fixed'

Finish with an empty line. The chain is then drawn beside the two ways it can
fire, d.callback() and d.errback(). In those drawings a value with a star is a
failure, not a result:

  value*  stands for  Failure(Exception(value))

The drawing is 136 columns wide: make the terminal as wide as it goes, or
start the program with --narrow to get the three parts one below the other.
";

/// The longest VALUE a callback or errback may return or fail with; longer ones would not fit the
/// boxes.
const MAX_VALUE_CHARS: usize = 6;

// ------------------------------------------------------------------------------------------------
// The model: steps, pairs and values.

/// What one callback or errback does with the value it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Returns this value, whatever came in.
    Return(String),
    /// Raises `Exception(value)`, so the deferred carries a failure from here on.
    Fail(String),
    /// Returns what came in, unchanged (a result stays a result, a failure a failure).
    Passthru,
}

impl Step {
    /// The value this step hands to the next stage when it is given `input`.
    fn apply(&self, input: &Value) -> Value {
        match self {
            Step::Return(value) => Value::Result(value.clone()),
            Step::Fail(value) => Value::Failure(value.clone()),
            Step::Passthru => input.clone(),
        }
    }

    /// The text written inside the step's box in the drawing of the chain.
    fn caption(&self) -> String {
        match self {
            Step::Return(value) => format!("return {value}"),
            Step::Fail(value) => format!("fail {value}"),
            Step::Passthru => "passthru".to_owned(),
        }
    }
}

/// One stage of the chain, as `addCallbacks(callback, errback)` adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    callback: Step,
    errback: Step,
}

/// What travels down the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// An ordinary result.
    Result(String),
    /// A failure wrapping `Exception(value)`.
    Failure(String),
}

impl Value {
    /// The value as the drawings show it: a failure gets a star after its text.
    fn label(&self) -> String {
        match self {
            Value::Result(value) => value.clone(),
            Value::Failure(value) => format!("{value}*"),
        }
    }

    /// The line of the chain that handles this value: errbacks take failures, callbacks the rest.
    fn line(&self) -> Line {
        match self {
            Value::Result(_) => Line::Callback,
            Value::Failure(_) => Line::Errback,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Reading the chain.

/// Why a line of input does not describe a pair. `Display` gives the text after `ERROR: `.
#[derive(Debug, Clone, PartialEq, Eq)]
enum InputError {
    /// A word that does not start any of `return`, `fail` or `passthru` (given in lower case).
    BadCommand(String),
    /// `return` or `fail` at the end of the line, with no value after it.
    MissingArgument,
    /// A value longer than [`MAX_VALUE_CHARS`].
    ValueTooLong(String),
    /// Something more after the errback.
    ExtraArguments,
    /// No callback, or no errback, on the line.
    MissingCommand,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::BadCommand(command) => write!(f, "bad command: {command}"),
            InputError::MissingArgument => f.write_str("missing argument"),
            // The original raised an exception with two arguments, which Python prints as a tuple.
            InputError::ValueTooLong(value) => write!(
                f,
                "('result more than {MAX_VALUE_CHARS} chars long', {})",
                python_repr(value)
            ),
            InputError::ExtraArguments => f.write_str("extra arguments"),
            InputError::MissingCommand => f.write_str("missing command"),
        }
    }
}

/// Reads one pair from a line: `CALLBACK ERRBACK`, each `return VALUE`, `fail VALUE` or `passthru`.
fn parse_pair(line: &str) -> Result<Pair, InputError> {
    let mut words = line.split(is_python_space).filter(|word| !word.is_empty());
    let callback = parse_step(&mut words)?;
    let errback = parse_step(&mut words)?;
    if words.next().is_some() {
        return Err(InputError::ExtraArguments);
    }
    Ok(Pair { callback, errback })
}

/// Reads one step from the words of a line. A command is any prefix of `return`, `fail` or
/// `passthru`, in any case (so `r`, `Ret` and `pa` all do).
fn parse_step<'a>(words: &mut impl Iterator<Item = &'a str>) -> Result<Step, InputError> {
    let command = words
        .next()
        .ok_or(InputError::MissingCommand)?
        .to_lowercase();
    let make: fn(String) -> Step = if "return".starts_with(&command) {
        Step::Return
    } else if "fail".starts_with(&command) {
        Step::Fail
    } else if "passthru".starts_with(&command) {
        return Ok(Step::Passthru);
    } else {
        return Err(InputError::BadCommand(command));
    };
    let value = words.next().ok_or(InputError::MissingArgument)?;
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(InputError::ValueTooLong(value.to_owned()));
    }
    Ok(make(value.to_owned()))
}

/// Whether Python's `str.split()` splits at this character: Unicode white space, plus the four
/// information separators U+001C to U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A string as Python's `repr` writes it: in single quotes (double quotes when it holds a single
/// quote and no double one), with backslashes, the quote and unprintable characters escaped.
fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut repr = String::from(quote);
    for c in text.chars() {
        match c {
            '\\' => repr.push_str("\\\\"),
            '\t' => repr.push_str("\\t"),
            '\n' => repr.push_str("\\n"),
            '\r' => repr.push_str("\\r"),
            c if c == quote => {
                repr.push('\\');
                repr.push(c);
            }
            c if is_unprintable(c) => {
                let code = u32::from(c);
                let escape = match code {
                    0..=0xff => format!("\\x{code:02x}"),
                    0x100..=0xffff => format!("\\u{code:04x}"),
                    _ => format!("\\U{code:08x}"),
                };
                repr.push_str(&escape);
            }
            c => repr.push(c),
        }
    }
    repr.push(quote);
    repr
}

/// Whether Python's `repr` escapes this character: control and format characters, separators other
/// than the space, private-use characters and noncharacters. (Python also escapes code points that
/// are unassigned in its Unicode database, which this program does not know.)
fn is_unprintable(c: char) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0xad, 0xad),
        (0x600, 0x605),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    let code = u32::from(c);
    let private_use = (0xe000..=0xf8ff).contains(&code) || (0xf0000..=0x10ffff).contains(&code);
    let noncharacter = (0xfdd0..=0xfdef).contains(&code) || code & 0xfffe == 0xfffe;
    c.is_control()
        || (c != ' ' && is_python_space(c))
        || private_use
        || noncharacter
        || FORMAT
            .iter()
            .any(|&(first, last)| (first..=last).contains(&code))
}

/// Reads lines the way Python 3 reads text from standard input: a line ends at `\n`, `\r\n` or
/// `\r`, and bytes that are not UTF-8 become U+FFFD instead of stopping the program.
struct LineReader<R> {
    input: R,
    /// The previous line ended with `\r`, so a `\n` right after it belongs to that line end.
    after_cr: bool,
}

impl<R: BufRead> LineReader<R> {
    fn new(input: R) -> Self {
        LineReader {
            input,
            after_cr: false,
        }
    }

    /// The next line without its line end, or `None` at the end of the input. A last line with no
    /// line end still counts.
    fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if buffer.is_empty() {
                self.after_cr = false;
                return Ok((!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned()));
            }
            if self.after_cr {
                self.after_cr = false;
                if buffer[0] == b'\n' {
                    self.input.consume(1);
                    continue;
                }
            }
            match buffer.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    line.extend_from_slice(&buffer[..end]);
                    self.after_cr = buffer[end] == b'\r';
                    self.input.consume(end + 1);
                    return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
                }
                None => {
                    let taken = buffer.len();
                    line.extend_from_slice(buffer);
                    self.input.consume(taken);
                }
            }
        }
    }
}

/// Reads pairs until an empty line ends a non-empty chain, printing an `ERROR:` line for each line
/// that is not a pair. `None` when the input ends first: there is nothing to draw then.
fn read_chain(lines: &mut LineReader<impl BufRead>) -> io::Result<Option<Vec<Pair>>> {
    let mut pairs = Vec::new();
    while let Some(line) = lines.next_line()? {
        if !line.is_empty() {
            match parse_pair(&line) {
                Ok(pair) => pairs.push(pair),
                Err(error) => outln!("ERROR: {error}"),
            }
        } else if pairs.is_empty() {
            outln!("You must enter at least one pair.");
        } else {
            return Ok(Some(pairs));
        }
    }
    Ok(None)
}

// ------------------------------------------------------------------------------------------------
// Firing: the path a value takes through the chain.

/// The two lines of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Callback,
    Errback,
}

/// One stage as it ran during a firing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stage {
    /// Which of the pair's two functions ran.
    line: Line,
    /// What it was given.
    input: Value,
    /// What it handed on.
    output: Value,
}

/// A whole firing: the value the deferred was fired with, every stage, and what came out at the
/// end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Firing {
    start: Value,
    stages: Vec<Stage>,
    end: Value,
}

/// Fires the chain with `start`, as a deferred would: each stage runs its errback when the value
/// reaching it is a failure and its callback otherwise, and passes on what that function gives.
fn fire(pairs: &[Pair], start: Value) -> Firing {
    let mut value = start.clone();
    let mut stages = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let line = value.line();
        let step = match line {
            Line::Callback => &pair.callback,
            Line::Errback => &pair.errback,
        };
        let output = step.apply(&value);
        stages.push(Stage {
            line,
            input: value,
            output: output.clone(),
        });
        value = output;
    }
    Firing {
        start,
        stages,
        end: value,
    }
}

/// `d.callback(initial)`: the chain fired with an ordinary result.
fn fire_callback(pairs: &[Pair]) -> Firing {
    fire(pairs, Value::Result("initial".to_owned()))
}

/// `d.errback(initial*)`: the chain fired with `Failure(Exception('initial'))`.
fn fire_errback(pairs: &[Pair]) -> Firing {
    fire(pairs, Value::Failure("initial".to_owned()))
}

// ------------------------------------------------------------------------------------------------
// The canvas.

/// Text centred in `width` columns the way Python's `str.center` does it: when the padding is odd,
/// the extra space goes on the right if `width` is even and on the left if it is odd. Text as wide
/// as `width` or wider comes back unchanged.
fn center(text: &str, width: usize) -> String {
    let length = text.chars().count();
    let padding = width.saturating_sub(length);
    let left = padding / 2 + (padding & width & 1);
    let right = padding - left;
    format!("{}{text}{}", " ".repeat(left), " ".repeat(right))
}

/// A grid of characters that grows as things are drawn on it. Printed, it is as wide and as tall as
/// the farthest character drawn (a space drawn counts), and every row is padded to the full width.
#[derive(Debug, Default)]
struct Canvas {
    rows: Vec<Vec<char>>,
    width: usize,
}

impl Canvas {
    /// Puts one character at column `x` of row `y`.
    fn put(&mut self, x: usize, y: usize, c: char) {
        if self.rows.len() <= y {
            self.rows.resize_with(y + 1, Vec::new);
        }
        let row = &mut self.rows[y];
        if row.len() <= x {
            row.resize(x + 1, ' ');
        }
        row[x] = c;
        self.width = self.width.max(x + 1);
    }

    /// Writes `text` from column `x` of row `y`, spaces included.
    fn text(&mut self, x: usize, y: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            self.put(x + i, y, c);
        }
    }

    /// Writes `text` centred in the `width` columns that start at `x`, padding included.
    fn centred(&mut self, x: usize, y: usize, width: usize, text: &str) {
        self.text(x, y, &center(text, width));
    }

    /// A row of `length` dashes from column `x`.
    fn horizontal(&mut self, x: usize, y: usize, length: usize) {
        for i in 0..length {
            self.put(x + i, y, '-');
        }
    }

    /// A column of `length` bars from row `y`.
    fn vertical(&mut self, x: usize, y: usize, length: usize) {
        for i in 0..length {
            self.put(x, y + i, '|');
        }
    }

    /// A column of `length` bars from row `y` whose last row is an arrow head, `\|/`.
    fn arrow(&mut self, x: usize, y: usize, length: usize) {
        self.vertical(x, y, length);
        let tip = y + length - 1;
        self.put(x - 1, tip, '\\');
        self.put(x + 1, tip, '/');
    }

    /// The drawing: every row padded with spaces to the full width and ended with a newline.
    fn render(&self) -> String {
        let mut out = String::with_capacity(self.rows.len() * (self.width + 1));
        for row in &self.rows {
            out.extend(row.iter());
            out.extend(std::iter::repeat_n(' ', self.width - row.len()));
            out.push('\n');
        }
        out
    }
}

// ------------------------------------------------------------------------------------------------
// Drawing.

/// The width of every box: room for the longest caption, `return 123456`, and the longest value,
/// `123456*`, with a margin.
const BOX_WIDTH: usize = "0123456*".len() + "return ".len() + 3;
/// The height of every box: a border, three lines of text, a border.
const BOX_HEIGHT: usize = 5;
/// The rows from the top of one box to the top of the next: a box and a three-row connector.
const STAGE_PITCH: usize = BOX_HEIGHT + 3;
/// The columns from the left edge of the callback line to that of the errback line.
const ERRBACK_OFFSET: usize = BOX_WIDTH + 2;
/// The width of a whole chain, both lines side by side.
const DEFERRED_WIDTH: usize = 2 * BOX_WIDTH + 2;
/// The columns between the left edges of two panels of the wide layout.
const PANEL_PITCH: usize = DEFERRED_WIDTH + 6;
/// Where, from the left edge of a firing, a failure's text starts: it is centred in a band of
/// `DEFERRED_WIDTH` columns that begins halfway across the callback line.
const FAILURE_OFFSET: usize = ERRBACK_OFFSET - 10;
/// The rows from a firing's first value down to the top of its first box.
const FIRST_BOX_OFFSET: usize = 4;

/// The height of the drawing of a chain of `stages` pairs.
fn chain_height(stages: usize) -> usize {
    BOX_HEIGHT * stages + 3 * stages.saturating_sub(1)
}

/// The height of the drawing of a firing: the chain, plus the first and last values and their
/// connectors.
fn firing_height(stages: usize) -> usize {
    chain_height(stages) + 2 * FIRST_BOX_OFFSET
}

impl Line {
    /// The left edge of this line's boxes, for a chain or firing drawn from column `x`.
    fn left(self, x: usize) -> usize {
        match self {
            Line::Callback => x,
            Line::Errback => x + ERRBACK_OFFSET,
        }
    }

    /// The column down the middle of this line's boxes, where its connectors run.
    fn centre(self, x: usize) -> usize {
        self.left(x) + BOX_WIDTH / 2 - 1
    }
}

/// A box whose top-left corner is at (`x`, `y`), with up to three lines of text centred inside it.
fn draw_box(canvas: &mut Canvas, x: usize, y: usize, text: [Option<&str>; 3]) {
    canvas.horizontal(x, y, BOX_WIDTH);
    canvas.horizontal(x, y + BOX_HEIGHT - 1, BOX_WIDTH);
    canvas.vertical(x, y + 1, BOX_HEIGHT - 2);
    canvas.vertical(x + BOX_WIDTH - 1, y + 1, BOX_HEIGHT - 2);
    for (row, line) in text.iter().enumerate() {
        if let Some(line) = line {
            canvas.centred(x + 1, y + 1 + row, BOX_WIDTH - 2, line);
        }
    }
}

/// The chain itself, every pair as two boxes side by side with what each function does.
fn draw_chain(canvas: &mut Canvas, pairs: &[Pair], x: usize, y: usize) {
    for (index, pair) in pairs.iter().enumerate() {
        let top = y + index * STAGE_PITCH;
        for (line, step) in [
            (Line::Callback, &pair.callback),
            (Line::Errback, &pair.errback),
        ] {
            draw_box(
                canvas,
                line.left(x),
                top,
                [None, Some(&step.caption()), None],
            );
        }
    }
}

/// A value entering or leaving a firing drawn from column `x`: a result centred over the callback
/// line, a failure centred in a wider band over the errback line.
fn draw_value(canvas: &mut Canvas, x: usize, y: usize, value: &Value) {
    match value {
        Value::Result(_) => canvas.centred(x, y, BOX_WIDTH, &value.label()),
        Value::Failure(_) => canvas.centred(x + FAILURE_OFFSET, y, DEFERRED_WIDTH, &value.label()),
    }
}

/// The connector in the three rows above `below`, from line `from` down to line `to`: straight
/// down, or down, across and down again when the value changes lines.
fn draw_connector(canvas: &mut Canvas, x: usize, below: usize, from: Line, to: Line) {
    let top = below - 3;
    if from == to {
        canvas.arrow(to.centre(x), top, 3);
        return;
    }
    canvas.vertical(from.centre(x), top, 2);
    canvas.arrow(to.centre(x), top + 1, 2);
    let (callback, errback) = (Line::Callback.centre(x), Line::Errback.centre(x));
    canvas.horizontal(callback + 1, top + 1, errback - callback - 1);
}

/// A firing, its first value at row `y`: every stage that ran as a box showing what went in (top)
/// and what came out (bottom), joined by connectors, and the final value under the last box.
fn draw_firing(canvas: &mut Canvas, firing: &Firing, x: usize, y: usize) {
    draw_value(canvas, x, y, &firing.start);
    let mut from = firing.start.line();
    let mut top = y + FIRST_BOX_OFFSET;
    for stage in &firing.stages {
        let (input, output) = (stage.input.label(), stage.output.label());
        draw_box(
            canvas,
            stage.line.left(x),
            top,
            [Some(&input), None, Some(&output)],
        );
        draw_connector(canvas, x, top, from, stage.line);
        from = stage.line;
        top += STAGE_PITCH;
    }
    draw_value(canvas, x, top, &firing.end);
    draw_connector(canvas, x, top, from, firing.end.line());
}

/// A panel title centred over `DEFERRED_WIDTH` columns at row `y`, underlined on the row below.
fn draw_title(canvas: &mut Canvas, x: usize, y: usize, title: &str) {
    canvas.centred(x, y, DEFERRED_WIDTH, title);
    canvas.centred(x, y + 1, DEFERRED_WIDTH, &"-".repeat(title.len()));
}

/// The titles of the three panels.
const CHAIN_TITLE: &str = "Deferred";
const CALLBACK_TITLE: &str = "d.callback(initial)";
const ERRBACK_TITLE: &str = "d.errback(initial*)";

/// The default layout: one canvas with the chain and the two firings side by side, separated by
/// vertical rules.
fn draw_wide(pairs: &[Pair]) -> Canvas {
    let mut canvas = Canvas::default();
    let (callback_x, errback_x) = (PANEL_PITCH, 2 * PANEL_PITCH);
    draw_title(&mut canvas, 0, 0, CHAIN_TITLE);
    draw_title(&mut canvas, callback_x, 0, CALLBACK_TITLE);
    draw_title(&mut canvas, errback_x, 0, ERRBACK_TITLE);
    let firing_y = 3;
    draw_chain(&mut canvas, pairs, 0, firing_y + FIRST_BOX_OFFSET);
    draw_firing(&mut canvas, &fire_callback(pairs), callback_x, firing_y);
    draw_firing(&mut canvas, &fire_errback(pairs), errback_x, firing_y);
    // The rules come last, so they cut through anything wider drawn across them.
    for x in [callback_x - 3, errback_x - 3] {
        canvas.vertical(x, firing_y, firing_height(pairs.len()));
    }
    canvas
}

/// The `--narrow` layout: the chain, the callback firing and the errback firing as three canvases.
fn draw_narrow(pairs: &[Pair]) -> [Canvas; 3] {
    let mut chain = Canvas::default();
    draw_title(&mut chain, 0, 1, CHAIN_TITLE);
    draw_chain(&mut chain, pairs, 0, 4);
    let firing = |title: &str, fired: Firing| {
        let mut canvas = Canvas::default();
        draw_title(&mut canvas, 0, 2, title);
        draw_firing(&mut canvas, &fired, 0, 5);
        canvas
    };
    [
        chain,
        firing(CALLBACK_TITLE, fire_callback(pairs)),
        firing(ERRBACK_TITLE, fire_errback(pairs)),
    ]
}

fn main() -> ExitCode {
    let options = Options::parse();
    outln!("{INSTRUCTIONS}");
    let mut lines = LineReader::new(io::stdin().lock());
    let pairs = match read_chain(&mut lines) {
        Ok(Some(pairs)) => pairs,
        Ok(None) => return ExitCode::SUCCESS,
        Err(error) => {
            report_error(format_args!(
                "cannot read standard input: {}",
                plain_error(&error)
            ));
            return ExitCode::FAILURE;
        }
    };
    // Each canvas is followed by an empty line.
    if options.narrow {
        for canvas in draw_narrow(&pairs) {
            outln!("{}", canvas.render());
        }
    } else {
        outln!("{}", draw_wide(&pairs).render());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_follows_python() {
        // Even widths, the only ones the drawings use: the odd space goes right.
        assert_eq!(center("initial", 16), "    initial     ");
        assert_eq!(center("abc", 6), " abc  ");
        assert_eq!(center("d.callback(initial)", 38).find('d'), Some(9));
        assert_eq!(
            center("ok", 18),
            format!("{}ok{}", " ".repeat(8), " ".repeat(8))
        );
        // Odd widths put it on the left, as Python does.
        assert_eq!(center("ab", 5), "  ab ");
        assert_eq!(center("a", 4), " a  ");
        assert_eq!(center("abc", 3), "abc");
        assert_eq!(center("abcdef", 4), "abcdef");
        assert_eq!(center("", 3), "   ");
    }

    #[test]
    fn layout_widths() {
        assert_eq!(BOX_WIDTH, 18);
        assert_eq!(DEFERRED_WIDTH, 38);
        assert_eq!(chain_height(3), 5 * 3 + 3 * 2);
        assert_eq!(Line::Callback.centre(44), 52);
        assert_eq!(Line::Errback.centre(44), 72);
    }

    #[test]
    fn pairs_are_parsed_with_prefixes_in_any_case() {
        let pair = parse_pair("  ReT a\tF b  ").unwrap();
        assert_eq!(pair.callback, Step::Return("a".to_owned()));
        assert_eq!(pair.errback, Step::Fail("b".to_owned()));
        assert_eq!(parse_pair("pa passthru").unwrap().errback, Step::Passthru);
        assert_eq!(
            parse_pair("r\u{1f}x p").unwrap().callback,
            Step::Return("x".to_owned())
        );
    }

    #[test]
    fn bad_lines_are_explained() {
        let error = |line: &str| parse_pair(line).unwrap_err().to_string();
        assert_eq!(error("Xyz p"), "bad command: xyz");
        assert_eq!(error("returns a p"), "bad command: returns");
        assert_eq!(error("p r"), "missing argument");
        assert_eq!(
            error("r 1234567 p"),
            "('result more than 6 chars long', '1234567')"
        );
        assert_eq!(error("p p p"), "extra arguments");
        assert_eq!(error("p"), "missing command");
        assert_eq!(error(" \t "), "missing command");
    }

    #[test]
    fn values_are_quoted_as_python_does() {
        assert_eq!(python_repr("abc"), "'abc'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("'\"x"), "'\\'\"x'");
        assert_eq!(
            python_repr("a\\b\u{7}\u{9b}\u{200b}é"),
            "'a\\\\b\\x07\\x9b\\u200bé'"
        );
        assert_eq!(python_repr("\u{10ffff}"), "'\\U0010ffff'");
    }

    #[test]
    fn lines_end_at_any_newline_and_survive_bad_bytes() {
        let mut lines = LineReader::new(&b"a\r\nb\rc\n\xffd"[..]);
        let mut read = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            read.push(line);
        }
        assert_eq!(read, ["a", "b", "c", "\u{fffd}d"]);
    }

    #[test]
    fn firing_switches_lines_with_failures() {
        let pairs = [
            parse_pair("r good f bad").unwrap(),
            parse_pair("f googly p").unwrap(),
            parse_pair("p r fixed").unwrap(),
        ];
        let by_callback = fire_callback(&pairs);
        let lines: Vec<Line> = by_callback.stages.iter().map(|s| s.line).collect();
        assert_eq!(lines, [Line::Callback, Line::Callback, Line::Errback]);
        assert_eq!(by_callback.end, Value::Result("fixed".to_owned()));
        let by_errback = fire_errback(&pairs);
        let labels: Vec<String> = by_errback.stages.iter().map(|s| s.output.label()).collect();
        assert_eq!(labels, ["bad*", "bad*", "fixed"]);
    }
}
