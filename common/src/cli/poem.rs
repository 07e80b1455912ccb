//! Poems: the files the servers serve, the chunks a slow server sends, how much of a poem a client
//! is willing to hold, and what a client does with a poem it has received.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// Checks a server's poetry file argument: it must name a readable file.
///
/// Meant as a clap `value_parser`, so that a wrong path is a usage error (exit status 2) that names
/// the file, before the server binds its port. The servers still read the file afresh for every
/// client, as the tutorial's do, so an edit to the poem shows in the next download.
pub fn poetry_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match fs::metadata(&path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(format!("No such file: {text}"))
        }
        Err(error) => Err(format!("cannot read {text}: {error}")),
        Ok(meta) if !meta.is_file() => Err(format!("not a regular file: {text}")),
        Ok(_) => match fs::File::open(&path) {
            Ok(_) => Ok(path),
            Err(error) => Err(format!("cannot read {text}: {error}")),
        },
    }
}

/// Splits a poem into chunks of `chars` characters each, as the slow servers send it.
///
/// The tutorial's server reads its poem as text, so `--num-bytes 10` really means ten characters: a
/// chunk of a poem with `é` or `’` in it is longer than ten bytes, and a character is never cut in
/// two. A byte that is not valid UTF-8 counts as one character, so any file can be served. The chunks
/// borrow from the poem: no copying per chunk.
pub fn chunks(poem: &[u8], chars: usize) -> Chunks<'_> {
    Chunks {
        rest: poem,
        chars: chars.max(1),
    }
}

/// The iterator that [`chunks`] returns.
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    rest: &'a [u8],
    chars: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let mut end = 0;
        for _ in 0..self.chars {
            if end == self.rest.len() {
                break;
            }
            end += char_width(&self.rest[end..]);
        }
        let (chunk, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(chunk)
    }
}

/// The number of bytes of the character at the start of `bytes` (not empty): the length of a valid
/// UTF-8 sequence, or 1 for a byte that does not start one.
fn char_width(bytes: &[u8]) -> usize {
    let width = match bytes[0] {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return 1,
    };
    match bytes.get(..width) {
        Some(sequence) if std::str::from_utf8(sequence).is_ok() => width,
        _ => 1,
    }
}

/// `--save-dir`: where a client saves each poem it receives, so that a student (or a test) can check
/// that the text arrived intact. Flattened alone into the clients that print their poems in their
/// own way, and, with `--print`, into [`PoemOutput`].
///
/// N in `poem-N.txt` is the task number: the place of the poem's address on the command line in
/// most clients. Two clients of Part 5 number otherwise, as the tutorial's do: `get-poetry-2` counts
/// its tasks as its connections are made, and `get-poetry-2-simple`, which has no tasks, counts the
/// poems as they end. The README's table of options says so too.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SaveDirOption {
    /// Save each poem received as DIR/poem-N.txt, N being its task number (the directory is created
    /// if needed).
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
}

impl SaveDirOption {
    /// Saves the poem of task `task` when `--save-dir` was given.
    ///
    /// Called as each poem arrives, so that the poems a run did get are on disk even if a later task
    /// fails.
    pub fn save(&self, task: usize, poem: &[u8]) -> io::Result<()> {
        let Some(dir) = &self.save_dir else {
            return Ok(());
        };
        fs::create_dir_all(dir)?;
        let path = saved_poem_path(dir, task);
        fs::write(&path, poem)
            .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
    }
}

/// What a client does with each poem it receives, besides counting it: save it (`--save-dir`) and
/// print it after the summary (`--print`), for the clients that number their tasks in their report.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PoemOutput {
    #[command(flatten)]
    pub save_dir: SaveDirOption,

    /// Print each poem received after the summary, headed by its task number.
    #[arg(long)]
    pub print: bool,
}

impl PoemOutput {
    /// Prints the poems received when `--print` was given: each headed by its task number, in task
    /// order, as text (a byte that is not UTF-8 shows as `�`).
    pub fn print<'a>(&self, poems: impl IntoIterator<Item = (usize, &'a [u8])>) {
        if !self.print {
            return;
        }
        for (task, poem) in poems {
            crate::outln!("--- Task {task} ---");
            crate::outln!("{}", String::from_utf8_lossy(poem).trim_end_matches('\n'));
        }
    }
}

/// Where `--save-dir` puts the poem of task `task`.
pub fn saved_poem_path(dir: &Path, task: usize) -> PathBuf {
    dir.join(format!("poem-{task}.txt"))
}

// ---- How large a poem a client accepts ----

/// The units a size may be given in, largest first, each with its number of bytes. Both families
/// are there because both are in use: `KB` and `MB` are powers of 1000, as disks are sold, and
/// `KiB` and `MiB` are powers of 1024, as memory is counted. `bytes` is there so that a size
/// printed by [`show_size`] reads back.
const SIZE_UNITS: [(&str, usize); 9] = [
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("KB", 1_000),
    ("B", 1),
    ("bytes", 1),
    ("byte", 1),
];

/// Parses a size in bytes: a whole number alone (`1000000`) or followed by a unit (`500KB`,
/// `64MiB`, `64 MiB`; the unit's case does not matter). Zero is refused: a limit of zero bytes
/// would refuse every poem but the empty one, which is surely a slip.
///
/// Meant as a clap `value_parser`; the error text says what is accepted.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let unit = unit.trim_start();
    // A fraction (`1.5MiB`), a sign or a second number is not a size either.
    let unit_is_a_word = unit.chars().next().is_none_or(|c| c.is_ascii_alphabetic());
    if digits.is_empty() || !unit_is_a_word {
        return Err(format!(
            "'{text}' is not a size: give bytes (1000000) or a whole number with a unit (500KB, \
             64MiB)"
        ));
    }
    let factor = if unit.is_empty() {
        1
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(unit))
            .map(|&(_, factor)| factor)
            .ok_or_else(|| {
                format!(
                    "'{text}' has an unknown unit '{unit}': use B, KB, MB, GB (powers of 1000) or \
                     KiB, MiB, GiB (powers of 1024)"
                )
            })?
    };
    let bytes = digits
        .parse::<usize>()
        .ok()
        .and_then(|count| count.checked_mul(factor))
        .ok_or_else(|| format!("'{text}' is more bytes than this machine can count"))?;
    if bytes == 0 {
        return Err(format!("'{text}' is not a size of at least 1 byte"));
    }
    Ok(bytes)
}

/// `bytes` as a person would write it: in the largest unit that divides it exactly (`64 MiB`,
/// `500 KB`), or in bytes (`1234567 bytes`). Never rounded, so that a limit reads back as it was
/// given.
fn show_size(bytes: usize) -> String {
    let unit = SIZE_UNITS
        .iter()
        .find(|&&(_, factor)| factor > 1 && bytes >= factor && bytes.is_multiple_of(factor));
    match unit {
        Some((name, factor)) => format!("{} {name}", bytes / factor),
        None if bytes == 1 => "1 byte".to_owned(),
        None => format!("{bytes} bytes"),
    }
}

/// `--max-poem-size`: the largest poem a client keeps in memory.
///
/// The poetry protocol has no length field: a poem ends when the server closes the connection. A
/// client that trusts this keeps whatever it is sent, and a server that never stops sending (by
/// mistake or on purpose) fills the client's memory at the speed of the network, gigabytes in
/// seconds. A limit turns that into one failed download. The default, 64 MiB, is some ten thousand
/// times the longest poem in `poetry/`, so no poem meets it, and small enough that a few downloads
/// at the limit leave the machine unharmed.
///
/// Every client flattens it into its options, so that they all take it alike; it is `Copy`, to be
/// handed to each download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct MaxPoemSize {
    /// Fail a poem that grows larger than SIZE, hanging up on its server (the other downloads go
    /// on): bytes (1000000) or with a unit (500KB, 64MiB).
    #[arg(
        long = "max-poem-size",
        value_name = "SIZE",
        default_value = "64MiB",
        value_parser = parse_size
    )]
    bytes: usize,
}

impl fmt::Display for MaxPoemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&show_size(self.bytes))
    }
}

/// A poem went past `--max-poem-size`. It reads as one sentence, `the poem is larger than 64 MiB`,
/// for each client to put in its own failure line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoemTooLarge(pub MaxPoemSize);

impl fmt::Display for PoemTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the poem is larger than {}", self.0)
    }
}

impl std::error::Error for PoemTooLarge {}

/// Why [`PoemBuffer::read_to_end`] stopped short of the end of the poem.
#[derive(Debug)]
pub enum ReadPoemError {
    /// The poem went past the limit.
    TooLarge(PoemTooLarge),
    /// Reading failed: the connection broke.
    Io(io::Error),
}

impl fmt::Display for ReadPoemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadPoemError::TooLarge(too_large) => too_large.fmt(f),
            ReadPoemError::Io(error) => f.write_str(&super::output::plain_error(error)),
        }
    }
}

impl std::error::Error for ReadPoemError {}

/// For a function that reports every failure as an `io::Error`: a poem too large becomes one whose
/// text is the [`PoemTooLarge`] sentence.
impl From<ReadPoemError> for io::Error {
    fn from(error: ReadPoemError) -> io::Error {
        match error {
            ReadPoemError::TooLarge(too_large) => io::Error::other(too_large),
            ReadPoemError::Io(error) => error,
        }
    }
}

/// A poem as it arrives, piece by piece, which refuses to grow past its [`MaxPoemSize`].
///
/// What every client used to do with a `Vec<u8>` and `extend_from_slice`, with the limit checked in
/// one place: a protocol's `data_received` only has to say what to do when [`push`](Self::push)
/// refuses (hang up, and fail the download). It reads as the bytes received so far (`len`,
/// slicing), and [`take`](Self::take) hands the poem over once it is whole.
#[derive(Debug)]
pub struct PoemBuffer {
    poem: Vec<u8>,
    max: MaxPoemSize,
}

impl PoemBuffer {
    /// An empty poem that may grow up to `max`.
    pub fn new(max: MaxPoemSize) -> PoemBuffer {
        PoemBuffer {
            poem: Vec::new(),
            max,
        }
    }

    /// Adds a piece of the poem, or refuses it, keeping nothing of it, when the poem would then be
    /// larger than the limit.
    ///
    /// The memory held stays within the limit too: where a `Vec` would double its capacity, this
    /// one stops growing at the limit, so that a poem just under 64 MiB does not cost 128.
    pub fn push(&mut self, data: &[u8]) -> Result<(), PoemTooLarge> {
        let needed = self.poem.len() + data.len();
        if needed > self.max.bytes {
            return Err(PoemTooLarge(self.max));
        }
        if needed > self.poem.capacity() {
            let target = needed
                .max(self.poem.capacity().saturating_mul(2))
                .min(self.max.bytes);
            self.poem.reserve_exact(target - self.poem.len());
        }
        self.poem.extend_from_slice(data);
        Ok(())
    }

    /// Reads from `reader` until the end of the poem (a read of zero bytes: the server closed the
    /// connection), as `Read::read_to_end` does, but gives up as soon as the poem is too large.
    /// For the clients that read with blocking calls.
    pub fn read_to_end(&mut self, reader: &mut impl Read) -> Result<(), ReadPoemError> {
        let mut buffer = [0; 8192];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(count) => self
                    .push(&buffer[..count])
                    .map_err(ReadPoemError::TooLarge)?,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(ReadPoemError::Io(error)),
            }
        }
    }

    /// Hands over the poem received, leaving this buffer empty (with the same limit).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.poem)
    }
}

impl Deref for PoemBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.poem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(poem: &[u8], chars: usize) -> Vec<usize> {
        chunks(poem, chars).map(<[u8]>::len).collect()
    }

    fn limit(bytes: usize) -> MaxPoemSize {
        MaxPoemSize { bytes }
    }

    #[test]
    fn sizes_are_bytes_or_a_number_with_a_unit() {
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size(" 2gib "), Ok(2 << 30));
        assert_eq!(parse_size("3kib"), Ok(3072));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("7B"), Ok(7));
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("1234567 bytes"), Ok(1_234_567));
    }

    #[test]
    fn bad_sizes_are_refused_with_a_reason() {
        let not_a_size = |text: &str| {
            format!(
                "'{text}' is not a size: give bytes (1000000) or a whole number with a unit \
                 (500KB, 64MiB)"
            )
        };
        for bad in ["", "MiB", "-1", "1.5MiB", "12 34", "big"] {
            assert_eq!(parse_size(bad), Err(not_a_size(bad)), "{bad:?}");
        }
        assert_eq!(
            parse_size("64M"),
            Err(
                "'64M' has an unknown unit 'M': use B, KB, MB, GB (powers of 1000) or KiB, MiB, \
                 GiB (powers of 1024)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_size("0"),
            Err("'0' is not a size of at least 1 byte".to_owned())
        );
        assert_eq!(
            parse_size("0KB"),
            Err("'0KB' is not a size of at least 1 byte".to_owned())
        );
        assert_eq!(
            parse_size("99999999999999999999"),
            Err("'99999999999999999999' is more bytes than this machine can count".to_owned())
        );
        assert_eq!(
            parse_size("18446744073709551615GiB"),
            Err("'18446744073709551615GiB' is more bytes than this machine can count".to_owned())
        );
    }

    #[test]
    fn sizes_show_exactly_in_the_largest_unit_that_fits() {
        assert_eq!(limit(64 << 20).to_string(), "64 MiB");
        assert_eq!(limit(500_000).to_string(), "500 KB");
        assert_eq!(limit(1_000_000).to_string(), "1 MB");
        assert_eq!(limit(1 << 30).to_string(), "1 GiB");
        assert_eq!(limit(3072).to_string(), "3 KiB");
        assert_eq!(limit(1536).to_string(), "1536 bytes");
        assert_eq!(limit(1_234_567).to_string(), "1234567 bytes");
        assert_eq!(limit(1).to_string(), "1 byte");
        for text in ["64MiB", "500KB", "1000000", "3GiB", "123456789"] {
            let bytes = parse_size(text).unwrap();
            assert_eq!(parse_size(&limit(bytes).to_string()), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn the_default_limit_is_64_mib() {
        #[derive(clap::Parser)]
        struct Client {
            #[command(flatten)]
            max_poem_size: MaxPoemSize,
        }
        let default = <Client as clap::Parser>::parse_from(["client"]).max_poem_size;
        assert_eq!(default, limit(64 << 20));
        let given = <Client as clap::Parser>::parse_from(["client", "--max-poem-size", "1MiB"]);
        assert_eq!(given.max_poem_size, limit(1 << 20));
        let refused = <Client as clap::Parser>::try_parse_from(["client", "--max-poem-size", "x"]);
        assert!(refused.is_err());
    }

    #[test]
    fn a_poem_grows_up_to_the_limit_and_no_further() {
        let mut poem = PoemBuffer::new(limit(10));
        assert_eq!(poem.push(b"abcd"), Ok(()));
        assert_eq!(poem.push(b"efghij"), Ok(()));
        assert_eq!(&poem[..], b"abcdefghij");
        assert_eq!(poem.push(b"k"), Err(PoemTooLarge(limit(10))));
        // The refused piece is not kept, and the memory held is no more than the limit.
        assert_eq!(poem.len(), 10);
        assert!(poem.poem.capacity() <= 10);
        assert_eq!(poem.take(), b"abcdefghij");
        assert!(poem.is_empty());
    }

    #[test]
    fn a_piece_that_would_pass_the_limit_is_refused_whole() {
        let mut poem = PoemBuffer::new(limit(5));
        assert_eq!(poem.push(b"abc"), Ok(()));
        assert_eq!(poem.push(b"def"), Err(PoemTooLarge(limit(5))));
        assert_eq!(&poem[..], b"abc");
    }

    #[test]
    fn the_error_is_one_sentence() {
        assert_eq!(
            PoemTooLarge(limit(64 << 20)).to_string(),
            "the poem is larger than 64 MiB"
        );
        let as_io = io::Error::from(ReadPoemError::TooLarge(PoemTooLarge(limit(1 << 20))));
        assert_eq!(as_io.to_string(), "the poem is larger than 1 MiB");
        let lost = ReadPoemError::Io(io::Error::from_raw_os_error(104));
        assert_eq!(lost.to_string(), "Connection reset by peer");
    }

    #[test]
    fn reading_to_the_end_stops_at_the_limit() {
        let mut poem = PoemBuffer::new(limit(20_000));
        poem.read_to_end(&mut &[7u8; 20_000][..]).unwrap();
        assert_eq!(poem.len(), 20_000);

        let mut poem = PoemBuffer::new(limit(20_000));
        // An endless stream: the limit is the only way this read ends.
        let outcome = poem.read_to_end(&mut io::repeat(7));
        assert!(matches!(outcome, Err(ReadPoemError::TooLarge(_))));
        assert!(poem.len() <= 20_000);
    }

    #[test]
    fn ascii_chunks_are_num_bytes_long_but_the_last() {
        assert_eq!(sizes(b"abcdefghijklmnopqrstuvw", 10), [10, 10, 3]);
        assert_eq!(sizes(b"abcdefghij", 10), [10]);
        assert_eq!(sizes(b"", 10), Vec::<usize>::new());
    }

    #[test]
    fn chunks_count_characters_not_bytes() {
        let poem = "é’abc".as_bytes();
        assert_eq!(sizes(poem, 2), [5, 2, 1]);
        let joined: Vec<u8> = chunks(poem, 2).flatten().copied().collect();
        assert_eq!(joined, poem);
    }

    #[test]
    fn invalid_utf8_bytes_count_one_each() {
        assert_eq!(sizes(&[0xFF, 0xC3, b'a', 0xE2, 0x80], 1), [1, 1, 1, 1, 1]);
        assert_eq!(sizes(&[0xF0, 0x9F, 0x8E, 0xB5, b'x'], 1), [4, 1]);
    }

    #[test]
    fn a_zero_chunk_size_still_makes_progress() {
        assert_eq!(sizes(b"abc", 0), [1, 1, 1]);
    }

    #[test]
    fn poetry_file_names_the_problem() {
        assert_eq!(
            poetry_file("no/such/poem.txt"),
            Err("No such file: no/such/poem.txt".to_owned())
        );
        assert_eq!(poetry_file("."), Err("not a regular file: .".to_owned()));
        let file = std::env::current_exe().unwrap();
        let text = file.to_str().unwrap();
        assert_eq!(poetry_file(text), Ok(file.clone()));
    }

    #[test]
    fn saving_writes_one_file_per_task() {
        let dir = std::env::temp_dir().join(format!("poem-output-{}", std::process::id()));
        let output = SaveDirOption {
            save_dir: Some(dir.clone()),
        };
        output.save(2, "héllo\n".as_bytes()).unwrap();
        assert_eq!(
            fs::read(saved_poem_path(&dir, 2)).unwrap(),
            "héllo\n".as_bytes()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
