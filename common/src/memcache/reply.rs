//! Reading memcached's answers: reply lines, and the blocks of data that `VALUE` lines announce.
//!
//! Most of memcached's text protocol is lines (`STORED`, `DELETED`, `42`, `STAT pid 7`), but a value
//! is sent as a line giving its length, `VALUE <key> <flags> <bytes> [<cas>]`, followed by exactly
//! that many bytes and a CR LF. The bytes are not a line: a value may hold `\r\n` itself. So the
//! reader reads lines until a `VALUE` line, then switches its [`LineReceiver`] to raw mode, counts
//! the announced bytes, and goes back to lines with whatever followed them.
//!
//! The reader knows nothing of the requests: memcached's replies can be told apart without knowing
//! what was asked (a number is an `incr`'s, `TOUCHED` a `touch`'s), and matching them to requests
//! is the client's job. What it does bound is what a peer controls: the length of a line and the
//! size of a value. Past either limit, or on a `VALUE` line it cannot read, the stream can no longer
//! be trusted (where the next reply starts is unknown), and the reader stops.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::basic::{LineHandler, LineReceiver, Lines};

/// One value as the server sent it, in answer to `get` or `gets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The key it is stored under.
    pub key: Vec<u8>,
    /// The 32 bits of the client's own that were stored with it.
    pub flags: u32,
    /// The unique number that a `cas` must name to replace it (only in answer to `gets`).
    pub cas: Option<u64>,
    /// The value, byte for byte.
    pub data: Vec<u8>,
}

/// One reply of the server: a line, or a `VALUE` line with its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A value found by `get` or `gets`; more may follow, then [`Reply::End`].
    Value(Item),
    /// The end of a `get`'s values or of `stats`'s lines.
    End,
    /// A storage command stored its value.
    Stored,
    /// `add` found the key there, `replace`, `append` or `prepend` did not.
    NotStored,
    /// `cas` found the value changed since the `gets`.
    Exists,
    /// The key is not there (`cas`, `delete`, `incr`, `decr`, `touch`).
    NotFound,
    /// `delete` deleted the key.
    Deleted,
    /// `touch` gave the key its new expiry time.
    Touched,
    /// `flush_all` is done.
    Ok,
    /// One line of `stats`: a name and its value.
    Stat(String, String),
    /// The answer to `version`.
    Version(String),
    /// The new value after `incr` or `decr`.
    Number(u64),
    /// The server does not know the command.
    Error,
    /// The request was malformed; the server's message.
    ClientError(String),
    /// The server could not do it (out of memory, a value too large); the server's message.
    ServerError(String),
    /// A line that is none of the above.
    Unknown(Vec<u8>),
}

impl Reply {
    /// The reply that `line` is (any line but a `VALUE` line, which comes with data).
    pub fn parse_line(line: &[u8]) -> Reply {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        match line {
            b"END" => return Reply::End,
            b"STORED" => return Reply::Stored,
            b"NOT_STORED" => return Reply::NotStored,
            b"EXISTS" => return Reply::Exists,
            b"NOT_FOUND" => return Reply::NotFound,
            b"DELETED" => return Reply::Deleted,
            b"TOUCHED" => return Reply::Touched,
            b"OK" => return Reply::Ok,
            b"ERROR" => return Reply::Error,
            _ => {}
        }
        if let Some(message) = line.strip_prefix(b"CLIENT_ERROR ") {
            return Reply::ClientError(text(message));
        }
        if let Some(message) = line.strip_prefix(b"SERVER_ERROR ") {
            return Reply::ServerError(text(message));
        }
        if let Some(version) = line.strip_prefix(b"VERSION ") {
            return Reply::Version(text(version));
        }
        if let Some(stat) = line.strip_prefix(b"STAT ") {
            let (name, value) = match stat.iter().position(|&b| b == b' ') {
                Some(space) => (&stat[..space], &stat[space + 1..]),
                None => (stat, &b""[..]),
            };
            return Reply::Stat(text(name), text(value));
        }
        if !line.is_empty()
            && line.iter().all(u8::is_ascii_digit)
            && let Ok(number) = std::str::from_utf8(line).unwrap_or("").parse()
        {
            return Reply::Number(number);
        }
        Reply::Unknown(line.to_vec())
    }
}

/// The reply as its line reads on the wire (for a value, the `VALUE` line without the data).
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Value(item) => {
                write!(
                    f,
                    "VALUE {} {} {}",
                    String::from_utf8_lossy(&item.key),
                    item.flags,
                    item.data.len()
                )?;
                match item.cas {
                    Some(cas) => write!(f, " {cas}"),
                    None => Ok(()),
                }
            }
            Reply::End => f.write_str("END"),
            Reply::Stored => f.write_str("STORED"),
            Reply::NotStored => f.write_str("NOT_STORED"),
            Reply::Exists => f.write_str("EXISTS"),
            Reply::NotFound => f.write_str("NOT_FOUND"),
            Reply::Deleted => f.write_str("DELETED"),
            Reply::Touched => f.write_str("TOUCHED"),
            Reply::Ok => f.write_str("OK"),
            Reply::Stat(name, value) => write!(f, "STAT {name} {value}"),
            Reply::Version(version) => write!(f, "VERSION {version}"),
            Reply::Number(number) => write!(f, "{number}"),
            Reply::Error => f.write_str("ERROR"),
            Reply::ClientError(message) => write!(f, "CLIENT_ERROR {message}"),
            Reply::ServerError(message) => write!(f, "SERVER_ERROR {message}"),
            Reply::Unknown(line) => f.write_str(&String::from_utf8_lossy(line)),
        }
    }
}

/// Why the reader stopped: the stream can no longer be split into replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A line longer than the limit (in bytes).
    LineTooLong(usize),
    /// A `VALUE` line that does not read `VALUE <key> <flags> <bytes> [<cas>]`.
    BadValueLine(String),
    /// A value announced larger than the limit.
    ValueTooLarge { announced: u64, limit: usize },
    /// A value's data not followed by CR LF.
    BadValueEnd,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::LineTooLong(limit) => {
                write!(f, "a reply line longer than {limit} bytes")
            }
            ReadError::BadValueLine(line) => write!(f, "a malformed VALUE line: {line}"),
            ReadError::ValueTooLarge { announced, limit } => write!(
                f,
                "a value of {announced} bytes, larger than the limit of {limit} bytes"
            ),
            ReadError::BadValueEnd => f.write_str("a value's data not followed by CR LF"),
        }
    }
}

impl std::error::Error for ReadError {}

/// How much the reader accepts from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The longest reply line, in bytes.
    pub max_line_length: usize,
    /// The largest value, in bytes.
    pub max_value_size: usize,
}

impl Default for ReadLimits {
    /// Lines of up to 16 KiB (memcached's longest are a few hundred bytes) and values of up to
    /// 64 MiB (memcached's default item limit is 1 MiB; `-I` raises it).
    fn default() -> Self {
        ReadLimits {
            max_line_length: 16 * 1024,
            max_value_size: 64 * 1024 * 1024,
        }
    }
}

type Output = Rc<RefCell<Vec<Result<Reply, ReadError>>>>;

/// A value being received in raw mode.
struct Incoming {
    key: Vec<u8>,
    flags: u32,
    cas: Option<u64>,
    /// How many bytes the data and its CR LF take.
    expected: usize,
    received: Vec<u8>,
}

/// The line handler that turns lines and data blocks into replies.
struct Framer {
    max_line_length: usize,
    max_value_size: usize,
    incoming: Option<Incoming>,
    output: Output,
}

impl Framer {
    fn stop(&mut self, error: ReadError, lines: &mut Lines) {
        self.output.borrow_mut().push(Err(error));
        lines.pause();
    }

    /// Reads `VALUE <key> <flags> <bytes> [<cas>]` (words separated by one space, as memcached
    /// writes them).
    fn value_line(&self, line: &[u8]) -> Result<Incoming, ReadError> {
        let bad = || ReadError::BadValueLine(String::from_utf8_lossy(line).into_owned());
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let number = |word: &[u8]| -> Option<u64> { std::str::from_utf8(word).ok()?.parse().ok() };
        let (key, flags, bytes, cas) = match words.as_slice() {
            [_, key, flags, bytes] => (key, flags, bytes, None),
            [_, key, flags, bytes, cas] => (key, flags, bytes, Some(number(cas).ok_or_else(bad)?)),
            _ => return Err(bad()),
        };
        let flags = number(flags)
            .and_then(|flags| u32::try_from(flags).ok())
            .ok_or_else(bad)?;
        let announced = number(bytes).ok_or_else(bad)?;
        if key.is_empty() {
            return Err(bad());
        }
        let size = usize::try_from(announced)
            .ok()
            .filter(|&size| size <= self.max_value_size)
            .ok_or(ReadError::ValueTooLarge {
                announced,
                limit: self.max_value_size,
            })?;
        Ok(Incoming {
            key: key.to_vec(),
            flags,
            cas,
            expected: size + 2,
            // What arrives is counted before it is believed: memory grows with the data itself.
            received: Vec::with_capacity((size + 2).min(64 * 1024)),
        })
    }
}

impl LineHandler for Framer {
    fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
        if line.starts_with(b"VALUE ") {
            match self.value_line(line) {
                Ok(incoming) => {
                    self.incoming = Some(incoming);
                    lines.set_raw_mode();
                }
                Err(error) => self.stop(error, lines),
            }
            return;
        }
        self.output.borrow_mut().push(Ok(Reply::parse_line(line)));
    }

    fn raw_data_received(&mut self, data: &[u8], lines: &mut Lines) {
        let Some(incoming) = self.incoming.as_mut() else {
            lines.set_line_mode(data);
            return;
        };
        let wanted = incoming.expected - incoming.received.len();
        let (ours, rest) = data.split_at(wanted.min(data.len()));
        incoming.received.extend_from_slice(ours);
        if incoming.received.len() < incoming.expected {
            return;
        }
        let mut incoming = self.incoming.take().expect("a value is being received");
        if !incoming.received.ends_with(b"\r\n") {
            self.stop(ReadError::BadValueEnd, lines);
            return;
        }
        incoming.received.truncate(incoming.expected - 2);
        self.output.borrow_mut().push(Ok(Reply::Value(Item {
            key: incoming.key,
            flags: incoming.flags,
            cas: incoming.cas,
            data: incoming.received,
        })));
        lines.set_line_mode(rest);
    }

    fn line_length_exceeded(&mut self, line: &[u8], lines: &mut Lines) {
        let _ = line;
        self.stop(ReadError::LineTooLong(self.max_line_length), lines);
    }
}

/// Splits the bytes from a memcached server into [`Reply`]s, however they are cut into pieces.
pub struct ReplyReader {
    framing: LineReceiver<Framer>,
    output: Output,
    stopped: bool,
}

impl ReplyReader {
    /// A reader that accepts lines and values up to `limits`.
    pub fn new(limits: ReadLimits) -> ReplyReader {
        let output = Output::default();
        let framer = Framer {
            max_line_length: limits.max_line_length,
            max_value_size: limits.max_value_size,
            incoming: None,
            output: Rc::clone(&output),
        };
        ReplyReader {
            framing: LineReceiver::with_delimiter(framer, b"\r\n", limits.max_line_length),
            output,
            stopped: false,
        }
    }

    /// The replies that `data` completes, in order. After an error (always the last item), the
    /// reader reads nothing more.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Result<Reply, ReadError>> {
        if self.stopped {
            return Vec::new();
        }
        crate::protocol::Protocol::data_received(&mut self.framing, data);
        let replies = std::mem::take(&mut *self.output.borrow_mut());
        self.stopped = replies.last().is_some_and(Result::is_err);
        replies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        reader: &mut ReplyReader,
        data: &[u8],
        chunk: usize,
    ) -> Vec<Result<Reply, ReadError>> {
        data.chunks(chunk)
            .flat_map(|piece| reader.feed(piece))
            .collect()
    }

    fn item(key: &[u8], flags: u32, cas: Option<u64>, data: &[u8]) -> Reply {
        Reply::Value(Item {
            key: key.to_vec(),
            flags,
            cas,
            data: data.to_vec(),
        })
    }

    #[test]
    fn every_reply_in_every_chunk_size() {
        let wire: &[u8] = b"VALUE a 0 5\r\nabcde\r\nVALUE b 7 4 12\r\nx\r\ny\r\nEND\r\nSTORED\r\n\
            NOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n42\r\n\
            STAT pid 7\r\nSTAT version 1.6.18\r\nVERSION 1.6.18\r\nERROR\r\n\
            CLIENT_ERROR bad command line format\r\nSERVER_ERROR out of memory\r\nHUH?\r\n\
            VALUE e 0 0\r\n\r\nEND\r\n";
        let expected = vec![
            item(b"a", 0, None, b"abcde"),
            item(b"b", 7, Some(12), b"x\r\ny"),
            Reply::End,
            Reply::Stored,
            Reply::NotStored,
            Reply::Exists,
            Reply::NotFound,
            Reply::Deleted,
            Reply::Touched,
            Reply::Ok,
            Reply::Number(42),
            Reply::Stat("pid".into(), "7".into()),
            Reply::Stat("version".into(), "1.6.18".into()),
            Reply::Version("1.6.18".into()),
            Reply::Error,
            Reply::ClientError("bad command line format".into()),
            Reply::ServerError("out of memory".into()),
            Reply::Unknown(b"HUH?".to_vec()),
            item(b"e", 0, None, b""),
            Reply::End,
        ];
        for chunk in [1, 2, 3, 7, 64, wire.len()] {
            let mut reader = ReplyReader::new(ReadLimits::default());
            let replies: Vec<Reply> = read_all(&mut reader, wire, chunk)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert_eq!(replies, expected, "in pieces of {chunk}");
        }
    }

    #[test]
    fn replies_show_as_their_lines() {
        assert_eq!(item(b"k", 3, Some(9), b"ab").to_string(), "VALUE k 3 2 9");
        assert_eq!(
            Reply::ServerError("x y".into()).to_string(),
            "SERVER_ERROR x y"
        );
        assert_eq!(Reply::Number(5).to_string(), "5");
    }

    #[test]
    fn what_cannot_be_trusted_stops_the_reader() {
        let limits = ReadLimits {
            max_line_length: 20,
            max_value_size: 10,
        };
        let cases: [(&[u8], ReadError); 5] = [
            (
                b"VALUE a 0 11\r\n",
                ReadError::ValueTooLarge {
                    announced: 11,
                    limit: 10,
                },
            ),
            (
                b"VALUE a x 1\r\n",
                ReadError::BadValueLine("VALUE a x 1".into()),
            ),
            (
                b"VALUE a 0\r\n",
                ReadError::BadValueLine("VALUE a 0".into()),
            ),
            (b"VALUE a 0 2\r\nabcd", ReadError::BadValueEnd),
            (
                b"STAT a bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                ReadError::LineTooLong(20),
            ),
        ];
        for (wire, error) in cases {
            let mut reader = ReplyReader::new(limits);
            let mut replies = reader.feed(b"STORED\r\n");
            replies.extend(read_all(&mut reader, wire, 1));
            assert_eq!(replies, [Ok(Reply::Stored), Err(error)]);
            assert!(reader.feed(b"STORED\r\n").is_empty());
        }
    }
}
