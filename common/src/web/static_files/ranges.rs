//! `Range` headers: which bytes of a file the client asks for (RFC 9110, section 14), read the way
//! Twisted's `static.File` reads them.
//!
//! `bytes=0-4` asks for the first five bytes, `bytes=6-` for everything from the seventh,
//! `bytes=-5` for the last five, and `bytes=0-1,6-9` for two pieces at once. A header that does not
//! parse, or that counts in another unit than bytes, is ignored (the whole file is sent), and a
//! range that starts past the end of the file cannot be satisfied.

use std::fmt;

/// One range as the client wrote it: `first-last`, `first-` or `-suffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByteRange {
    /// From `first` to `last` included, or to the end of the file.
    From { first: u64, last: Option<u64> },
    /// The last `length` bytes.
    Suffix { length: u64 },
}

/// A `Range` header that does not parse, or asks in another unit than bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct MalformedRange;

impl fmt::Display for MalformedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed Range header")
    }
}

/// The ranges of a `Range` header's value, in the order given. Spaces around the pieces are
/// allowed, empty pieces (`bytes=0-1,,4-5`) skipped; a range whose first byte comes after its
/// last, or with neither, makes the whole header malformed.
pub(super) fn parse_range_header(value: &str) -> Result<Vec<ByteRange>, MalformedRange> {
    let (unit, ranges) = value.split_once('=').ok_or(MalformedRange)?;
    if unit.trim() != "bytes" {
        return Err(MalformedRange);
    }
    let parsed = ranges
        .split(',')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(parse_one)
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.is_empty() {
        return Err(MalformedRange);
    }
    Ok(parsed)
}

/// One `first-last` piece.
fn parse_one(piece: &str) -> Result<ByteRange, MalformedRange> {
    let (first, last) = piece.split_once('-').ok_or(MalformedRange)?;
    let number = |text: &str| -> Result<Option<u64>, MalformedRange> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MalformedRange);
        }
        text.parse().map(Some).map_err(|_| MalformedRange)
    };
    match (number(first)?, number(last)?) {
        (Some(first), last) if last.is_none_or(|last| first <= last) => {
            Ok(ByteRange::From { first, last })
        }
        (None, Some(length)) => Ok(ByteRange::Suffix { length }),
        _ => Err(MalformedRange),
    }
}

/// A piece of a file to send: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub offset: u64,
    pub length: u64,
}

impl Span {
    /// The value of a `Content-Range` header for this piece of a file of `size` bytes:
    /// `bytes 0-4/24`.
    pub fn content_range(&self, size: u64) -> String {
        format!(
            "bytes {}-{}/{size}",
            self.offset,
            self.offset + self.length - 1
        )
    }
}

impl ByteRange {
    /// The bytes this range covers in a file of `size` bytes, cut at its end; `None` when it
    /// covers none (it starts at or past the end, or asks for the last zero bytes).
    pub fn span(self, size: u64) -> Option<Span> {
        let (start, end) = match self {
            ByteRange::From { first, last } => {
                let end = last.map_or(size, |last| last.saturating_add(1).min(size));
                (first, end)
            }
            ByteRange::Suffix { length } => (size.saturating_sub(length), size),
        };
        (start < end).then(|| Span {
            offset: start,
            length: end - start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(header: &str, size: u64) -> Vec<Option<Span>> {
        parse_range_header(header)
            .unwrap()
            .into_iter()
            .map(|range| range.span(size))
            .collect()
    }

    fn span(offset: u64, length: u64) -> Option<Span> {
        Some(Span { offset, length })
    }

    #[test]
    fn the_three_forms_cover_the_right_bytes() {
        assert_eq!(spans("bytes=0-4", 24), [span(0, 5)]);
        assert_eq!(spans("bytes=-5", 24), [span(19, 5)]);
        assert_eq!(spans("bytes=6-", 24), [span(6, 18)]);
        assert_eq!(spans("bytes=0-1,6-9", 24), [span(0, 2), span(6, 4)]);
        assert_eq!(spans(" bytes = 0-1 , , 6-9 ", 24), [span(0, 2), span(6, 4)]);
    }

    #[test]
    fn ranges_are_cut_at_the_end_of_the_file() {
        assert_eq!(spans("bytes=20-100", 24), [span(20, 4)]);
        assert_eq!(spans("bytes=-100", 24), [span(0, 24)]);
        assert_eq!(spans("bytes=0-18446744073709551615", 24), [span(0, 24)]);
    }

    #[test]
    fn ranges_past_the_end_cover_nothing() {
        assert_eq!(spans("bytes=1000-2000", 24), [None]);
        assert_eq!(spans("bytes=24-", 24), [None]);
        assert_eq!(spans("bytes=-0", 24), [None]);
        assert_eq!(spans("bytes=0-", 0), [None]);
    }

    #[test]
    fn malformed_headers_and_other_units_are_refused() {
        for header in [
            "bytes=abc",
            "lines=0-1",
            "bytes",
            "bytes=",
            "bytes=5-4",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=--5",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(parse_range_header(header), Err(MalformedRange), "{header}");
        }
    }

    #[test]
    fn content_ranges_name_the_first_and_last_byte() {
        let piece = Span {
            offset: 19,
            length: 5,
        };
        assert_eq!(piece.content_range(24), "bytes 19-23/24");
    }
}
