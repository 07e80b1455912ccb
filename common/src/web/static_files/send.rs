//! Sending one file: its headers, the answers that need no body (HEAD, 304, 416), the pieces a
//! `Range` header asks for, and the bytes themselves, streamed.
//!
//! The file is never read whole into memory. Its bytes are read a piece at a time by a task of the
//! reactor's thread, and each piece is written to the request only once the pieces before it have
//! mostly left ([`Request::writable`]): however slowly a client reads, the server holds a few
//! pieces of its file at most. When the client goes, the task stops.

use std::collections::hash_map::RandomState;
use std::fs::Metadata;
use std::hash::BuildHasher;
use std::io::{self, SeekFrom};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use http::header::{
    ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LAST_MODIFIED,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::ranges::{MalformedRange, Span, parse_range_header};
use super::types::type_and_encoding;
use crate::log;
use crate::web::{ErrorPage, Render, RenderResult, Request};

/// How much of a file is read and written at a time.
const CHUNK: usize = 64 * 1024;

/// The most ranges one request may ask for. More is not a reasonable client (each range may be the
/// whole file again): the header is ignored and the file sent once, whole.
const MAX_RANGES: usize = 100;

/// What a response's body is made of: fixed text (the separators of a multipart answer) and
/// pieces of the file.
enum Piece {
    Text(Bytes),
    File(Span),
}

/// Answers a GET or HEAD of the regular file `path`, which the URL named `name` (the name gives
/// the type: a link `latest` to `notes.txt` is sent as `text/html`, as Twisted sends it).
pub(super) fn send_file(
    request: &Request,
    path: &std::path::Path,
    meta: &Metadata,
    name: &str,
    default_type: &str,
) -> RenderResult {
    request.set_header(ACCEPT_RANGES.as_str(), "bytes")?;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            return Ok(forbidden().render_on(request));
        }
        Err(_) => return Ok(super::not_found().render_on(request)),
    };
    let size = meta.len();
    let last_modified = meta.modified().ok().map(whole_seconds_up);
    let (kind, encoding) = type_and_encoding(name, default_type);
    let content = Content {
        kind: &kind,
        encoding,
        last_modified,
    };

    if let Some(last_modified) = last_modified
        && not_modified_since(request, last_modified)
    {
        request.set_response_code(StatusCode::NOT_MODIFIED);
        request.set_header(CONTENT_LENGTH.as_str(), "0")?;
        content.set_last_modified(request)?;
        return Ok(Render::Body(Bytes::new()));
    }
    if request.method() == http::Method::HEAD {
        content.set_headers(request, size)?;
        return Ok(Render::Body(Bytes::new()));
    }

    let ranges = match request.headers().get(http::header::RANGE) {
        None => None,
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            match parse_range_header(&text) {
                Ok(ranges) if ranges.len() <= MAX_RANGES => Some(ranges),
                Ok(ranges) => {
                    log::msg(format!(
                        "Ignoring Range header asking for {} ranges (at most {MAX_RANGES})",
                        ranges.len()
                    ));
                    None
                }
                Err(MalformedRange) => {
                    log::msg(format!("Ignoring malformed Range header '{text}'"));
                    None
                }
            }
        }
    };
    let Some(ranges) = ranges else {
        content.set_headers(request, size)?;
        return Ok(stream(request, file, vec![Piece::File(whole(size))]));
    };

    if let [range] = ranges[..] {
        let Some(span) = range.span(size) else {
            request.set_response_code(StatusCode::RANGE_NOT_SATISFIABLE);
            request.set_header(CONTENT_RANGE.as_str(), &format!("bytes */{size}"))?;
            content.set_headers(request, 0)?;
            return Ok(Render::Body(Bytes::new()));
        };
        request.set_response_code(StatusCode::PARTIAL_CONTENT);
        request.set_header(CONTENT_RANGE.as_str(), &span.content_range(size))?;
        content.set_headers(request, span.length)?;
        return Ok(stream(request, file, vec![Piece::File(span)]));
    }

    let spans: Vec<Span> = ranges.iter().filter_map(|range| range.span(size)).collect();
    if spans.is_empty() {
        request.set_response_code(StatusCode::RANGE_NOT_SATISFIABLE);
        request.set_header(CONTENT_LENGTH.as_str(), "0")?;
        request.set_header(CONTENT_RANGE.as_str(), &format!("bytes */{size}"))?;
        content.set_last_modified(request)?;
        return Ok(Render::Body(Bytes::new()));
    }
    let boundary = new_boundary();
    let mut pieces = Vec::with_capacity(2 * spans.len() + 1);
    let mut length = 0;
    for span in spans {
        let separator = format!(
            "\r\n--{boundary}\r\nContent-type: {kind}\r\nContent-range: {}\r\n\r\n",
            span.content_range(size)
        );
        length += separator.len() as u64 + span.length;
        pieces.push(Piece::Text(Bytes::from(separator)));
        pieces.push(Piece::File(span));
    }
    let end = format!("\r\n--{boundary}--\r\n");
    length += end.len() as u64;
    pieces.push(Piece::Text(Bytes::from(end)));
    request.set_response_code(StatusCode::PARTIAL_CONTENT);
    request.set_header(
        CONTENT_TYPE.as_str(),
        &format!("multipart/byteranges; boundary=\"{boundary}\""),
    )?;
    request.set_header(CONTENT_LENGTH.as_str(), &length.to_string())?;
    content.set_last_modified(request)?;
    Ok(stream(request, file, pieces))
}

/// The headers that describe the file being sent.
struct Content<'a> {
    kind: &'a str,
    encoding: Option<&'static str>,
    last_modified: Option<SystemTime>,
}

impl Content<'_> {
    /// `Content-Length` (of what will be sent), `Content-Type`, `Content-Encoding` if any, and
    /// `Last-Modified`: in Twisted's order.
    fn set_headers(&self, request: &Request, length: u64) -> Result<(), crate::defer::Failure> {
        request.set_header(CONTENT_LENGTH.as_str(), &length.to_string())?;
        request.set_header(CONTENT_TYPE.as_str(), self.kind)?;
        if let Some(encoding) = self.encoding {
            request.set_header(CONTENT_ENCODING.as_str(), encoding)?;
        }
        self.set_last_modified(request)
    }

    /// `Last-Modified`, which Twisted writes after every other header a file sets.
    fn set_last_modified(&self, request: &Request) -> Result<(), crate::defer::Failure> {
        if let Some(when) = self.last_modified {
            request.set_header(LAST_MODIFIED.as_str(), &httpdate::fmt_http_date(when))?;
        }
        Ok(())
    }
}

/// The whole of a file of `size` bytes.
fn whole(size: u64) -> Span {
    Span {
        offset: 0,
        length: size,
    }
}

/// A modification time rounded up to a whole second, as HTTP dates have no fractions: a file
/// changed during the second a client last saw must not look unchanged.
fn whole_seconds_up(when: SystemTime) -> SystemTime {
    match when.duration_since(UNIX_EPOCH) {
        Ok(since) => {
            UNIX_EPOCH + Duration::from_secs(since.as_secs() + u64::from(since.subsec_nanos() > 0))
        }
        Err(_) => UNIX_EPOCH,
    }
}

/// Whether the request's `If-Modified-Since` is at or after `last_modified`: the client's copy is
/// current. A date that does not parse is no condition.
fn not_modified_since(request: &Request, last_modified: SystemTime) -> bool {
    let Some(since) = request.header("if-modified-since") else {
        return false;
    };
    // Old browsers append `; length=1234`.
    let since = since.split(';').next().unwrap_or_default().trim();
    httpdate::parse_http_date(since).is_ok_and(|since| since >= last_modified)
}

/// A new multipart boundary: 16 hex digits no client can guess or find in the file's bytes ahead
/// of time.
fn new_boundary() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    // Each RandomState has keys of its own, drawn from the system's randomness.
    format!("{:016x}", RandomState::new().hash_one(nanos))
}

/// The 403 of a file the server may not read (Twisted's `ForbiddenResource`).
pub(super) fn forbidden() -> ErrorPage {
    ErrorPage::new(
        StatusCode::FORBIDDEN,
        "Forbidden Resource",
        "Sorry, resource is forbidden.",
    )
}

/// Starts the task that sends `pieces` of `file` on `request`; the page is not done yet.
fn stream(request: &Request, file: std::fs::File, pieces: Vec<Piece>) -> Render {
    let request = request.clone();
    tokio::task::spawn_local(async move {
        let mut file = tokio::fs::File::from_std(file);
        match send_pieces(&request, &mut file, pieces).await {
            Ok(()) => {}
            // The client has gone: nothing more to do, nobody to tell.
            Err(_) if request.is_lost() => return,
            // The answer cannot be completed: finishing now leaves it shorter than its
            // Content-Length, and the connection is closed so that the client knows.
            Err(error) => log::msg(format!(
                "Error while sending {}: {}",
                request.uri(),
                crate::cli::output::plain_error(&error)
            )),
        }
        if !request.is_lost() {
            request.finish();
        }
    });
    Render::NotDoneYet
}

/// Writes each piece in turn, reading the file's pieces a chunk at a time and waiting for the
/// client to take what was written before reading more. Stops early if the client goes.
async fn send_pieces(
    request: &Request,
    file: &mut tokio::fs::File,
    pieces: Vec<Piece>,
) -> io::Result<()> {
    for piece in pieces {
        request.writable().await;
        if request.is_lost() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let span = match piece {
            Piece::Text(text) => {
                request.write(&text);
                continue;
            }
            Piece::File(span) => span,
        };
        file.seek(SeekFrom::Start(span.offset)).await?;
        let mut left = span.length;
        while left > 0 {
            // Each piece is read into a buffer of its own, which then goes to the client as it is,
            // without another copy.
            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let mut buffer = bytes::BytesMut::with_capacity(want);
            let read = (&mut *file).take(want as u64).read_buf(&mut buffer).await?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was sent",
                ));
            }
            request.write_bytes(buffer.freeze());
            left -= read as u64;
            request.writable().await;
            if request.is_lost() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modification_times_round_up_to_the_second() {
        let at = |secs, nanos| UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(whole_seconds_up(at(10, 0)), at(10, 0));
        assert_eq!(whole_seconds_up(at(10, 1)), at(11, 0));
    }

    #[test]
    fn boundaries_are_new_each_time() {
        let (a, b) = (new_boundary(), new_boundary());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
