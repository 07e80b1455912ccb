//! Poems: the files the servers serve, the chunks a slow server sends, and what a client does with a
//! poem it has received.

use std::fs;
use std::io;
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

/// What a client does with each poem it receives, besides counting it: the options every poetry
/// client shares, so that a student (or a test) can check that the text arrived intact.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PoemOutput {
    /// Save each poem received as DIR/poem-N.txt, N being its task number (the directory is created
    /// if needed).
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,

    /// Print each poem received after the summary, headed by its task number.
    #[arg(long)]
    pub print: bool,
}

impl PoemOutput {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(poem: &[u8], chars: usize) -> Vec<usize> {
        chunks(poem, chars).map(<[u8]>::len).collect()
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
        let output = PoemOutput {
            save_dir: Some(dir.clone()),
            print: false,
        };
        output.save(2, "héllo\n".as_bytes()).unwrap();
        assert_eq!(
            fs::read(saved_poem_path(&dir, 2)).unwrap(),
            "héllo\n".as_bytes()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
