//! The key-value store's line protocol: what a client sends, and what the server answers.
//!
//! Lines end in CR LF. Words are separated by runs of whitespace (as Python's `str.split()` sees
//! it); the first word is the command, case-sensitive.
//!
//! | request | reply |
//! |---|---|
//! | `get KEY` | `VALUE KEY VALUE` or `GET_NOT_FOUND KEY` |
//! | `set KEY VALUE` | `STORED` |
//! | `delete KEY` | `DELETED KEY` or `DEL_NOT_FOUND KEY` |
//! | an empty line, an unknown command | `ERROR` |
//! | `get`/`delete` without a key, `set` without a value | `CLIENT_ERROR usage: …` |
//!
//! The replies the training's server gave are kept byte for byte. Where it differs: the training's
//! server said nothing to an unknown command and dropped the connection on a malformed one, and
//! stored only the first word of a value. Here a value is the rest of the line after the key
//! (without the whitespace around it), so it may hold spaces; words after the key of a `get` or a
//! `delete` are ignored, as they were.

/// A request to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `get KEY`.
    Get(Vec<u8>),
    /// `set KEY VALUE`.
    Set(Vec<u8>, Vec<u8>),
    /// `delete KEY`.
    Delete(Vec<u8>),
}

/// A line the server cannot make a request of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadRequest {
    /// An empty line, or a command the store does not have: answered `ERROR`.
    Unknown,
    /// A known command without what it needs: answered `CLIENT_ERROR usage: …`.
    Usage(&'static str),
}

impl BadRequest {
    /// The reply the server sends.
    pub fn reply(&self) -> Reply {
        match self {
            BadRequest::Unknown => Reply::Error,
            BadRequest::Usage(usage) => Reply::ClientError(format!("usage: {usage}").into_bytes()),
        }
    }
}

/// Python 2's whitespace for `str.split()`: space, tab, LF, VT, FF, CR.
fn is_space(byte: &u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Splits off the first word of `text`: the word and what follows it (leading whitespace
/// skipped on both).
fn first_word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = text.iter().position(|b| !is_space(b))?;
    let text = &text[start..];
    let end = text.iter().position(is_space).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

/// `text` without whitespace at either end.
fn trim(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|b| !is_space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |at| at + 1);
    &text[start..end]
}

/// Whether `key` can travel in a request: not empty, and no whitespace (a key is one word).
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty() && !key.iter().any(is_space)
}

/// Whether `value` can travel in a request: not empty, no CR or LF (which would end the line), and
/// no whitespace at either end (which the server drops).
pub fn valid_value(value: &[u8]) -> bool {
    !value.is_empty() && !value.iter().any(|b| matches!(b, b'\r' | b'\n')) && trim(value) == value
}

impl Request {
    /// Reads a request line (without its CR LF).
    pub fn parse(line: &[u8]) -> Result<Request, BadRequest> {
        let (command, rest) = first_word(line).ok_or(BadRequest::Unknown)?;
        let key = first_word(rest);
        match command {
            b"get" => key
                .map(|(key, _)| Request::Get(key.to_vec()))
                .ok_or(BadRequest::Usage("get <key>")),
            b"delete" => key
                .map(|(key, _)| Request::Delete(key.to_vec()))
                .ok_or(BadRequest::Usage("delete <key>")),
            b"set" => match key {
                Some((key, value)) if !trim(value).is_empty() => {
                    Ok(Request::Set(key.to_vec(), trim(value).to_vec()))
                }
                _ => Err(BadRequest::Usage("set <key> <value>")),
            },
            _ => Err(BadRequest::Unknown),
        }
    }

    /// The request's line, without the CR LF.
    pub fn to_line(&self) -> Vec<u8> {
        match self {
            Request::Get(key) => [b"get ", key.as_slice()].concat(),
            Request::Set(key, value) => [b"set ", key.as_slice(), b" ", value].concat(),
            Request::Delete(key) => [b"delete ", key.as_slice()].concat(),
        }
    }
}

/// A reply of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `VALUE KEY VALUE`: the answer to a `get` that found its key.
    Value(Vec<u8>, Vec<u8>),
    /// `GET_NOT_FOUND KEY`.
    GetNotFound(Vec<u8>),
    /// `STORED`.
    Stored,
    /// `DELETED KEY`.
    Deleted(Vec<u8>),
    /// `DEL_NOT_FOUND KEY`.
    DelNotFound(Vec<u8>),
    /// `ERROR`: an empty line or an unknown command.
    Error,
    /// `CLIENT_ERROR MESSAGE`: a malformed request.
    ClientError(Vec<u8>),
}

impl Reply {
    /// The reply's line, without the CR LF.
    pub fn to_line(&self) -> Vec<u8> {
        match self {
            Reply::Value(key, value) => [b"VALUE ", key.as_slice(), b" ", value].concat(),
            Reply::GetNotFound(key) => [b"GET_NOT_FOUND ", key.as_slice()].concat(),
            Reply::Stored => b"STORED".to_vec(),
            Reply::Deleted(key) => [b"DELETED ", key.as_slice()].concat(),
            Reply::DelNotFound(key) => [b"DEL_NOT_FOUND ", key.as_slice()].concat(),
            Reply::Error => b"ERROR".to_vec(),
            Reply::ClientError(message) => [b"CLIENT_ERROR ", message.as_slice()].concat(),
        }
    }

    /// Reads a reply line (without its CR LF); `None` for a line that is no reply.
    pub fn parse(line: &[u8]) -> Option<Reply> {
        let (word, rest) = first_word(line).unwrap_or((b"", b""));
        let key = || first_word(rest).map(|(key, _)| key.to_vec());
        match word {
            b"VALUE" => {
                let (key, value) = first_word(rest)?;
                Some(Reply::Value(key.to_vec(), trim(value).to_vec()))
            }
            b"GET_NOT_FOUND" => key().map(Reply::GetNotFound),
            b"STORED" => Some(Reply::Stored),
            b"DELETED" => key().map(Reply::Deleted),
            b"DEL_NOT_FOUND" => key().map(Reply::DelNotFound),
            b"ERROR" => Some(Reply::Error),
            b"CLIENT_ERROR" => Some(Reply::ClientError(trim(rest).to_vec())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_words() {
        assert_eq!(Request::parse(b"get a"), Ok(Request::Get(b"a".to_vec())));
        assert_eq!(
            Request::parse(b" \tget  b zz "),
            Ok(Request::Get(b"b".to_vec()))
        );
        assert_eq!(
            Request::parse(b"set b hello world "),
            Ok(Request::Set(b"b".to_vec(), b"hello world".to_vec()))
        );
        assert_eq!(
            Request::parse(b"delete k"),
            Ok(Request::Delete(b"k".to_vec()))
        );
        for unknown in [&b""[..], b"   ", b"GET a", b"Get a", b"foo bar"] {
            assert_eq!(Request::parse(unknown), Err(BadRequest::Unknown));
        }
        for malformed in [&b"get"[..], b"delete ", b"set", b"set a", b"set a  "] {
            assert!(matches!(
                Request::parse(malformed),
                Err(BadRequest::Usage(_))
            ));
        }
    }

    #[test]
    fn lines_round_trip() {
        for request in [
            Request::Get(b"a".to_vec()),
            Request::Set(b"a".to_vec(), b"two words".to_vec()),
            Request::Delete(b"a".to_vec()),
        ] {
            assert_eq!(Request::parse(&request.to_line()), Ok(request));
        }
        for reply in [
            Reply::Value(b"a".to_vec(), b"two words".to_vec()),
            Reply::GetNotFound(b"a".to_vec()),
            Reply::Stored,
            Reply::Deleted(b"a".to_vec()),
            Reply::DelNotFound(b"a".to_vec()),
            Reply::Error,
            Reply::ClientError(b"usage: get <key>".to_vec()),
        ] {
            assert_eq!(Reply::parse(&reply.to_line()), Some(reply));
        }
        assert_eq!(Reply::parse(b"HELLO"), None);
    }

    #[test]
    fn what_may_travel() {
        assert!(valid_key(b"a") && !valid_key(b"") && !valid_key(b"a b") && !valid_key(b"a\r"));
        assert!(valid_value(b"two words") && !valid_value(b"") && !valid_value(b"a\r\nget b"));
        assert!(!valid_value(b" padded"));
    }
}
