//! Reading XML-RPC documents: a call (what a server receives) and a response (what a client gets).
//!
//! The XML is read by quick-xml, one event at a time, straight from the body's bytes; the grammar
//! of XML-RPC is walked on top of those events by the functions below, one per element. This runs
//! for every call a server answers, so it avoids work that changes nothing: tags are compared as
//! a small enum, not as text, and the blank lines between the elements of the structure are
//! skipped by quick-xml itself (text that is a value keeps every blank). What a peer sends is not
//! trusted:
//!
//! * a document with a `<!DOCTYPE` is refused as soon as it is met: no DTD is read, so no entity
//!   can be defined, and a "billion laughs" body never expands;
//! * references to entities other than XML's five (`&lt;`, `&amp;`...) and character references
//!   are errors;
//! * values may nest [`MAX_DEPTH`] deep at most (the reading recurses once per level);
//! * only UTF-8 documents are read.
//!
//! The size of a body is bounded before it gets here: the site refuses a body over its limit
//! with a 413.
//!
//! What is read is what Python's `xmlrpc.client` reads: `<int>`, `<i4>` and `<i8>` (and the rarer
//! `<i1>`, `<i2>`, `<biginteger>`), `<boolean>`, `<string>` and a bare `<value>text</value>`,
//! `<double>` (and `<float>`), `<dateTime.iso8601>`, `<base64>`, `<struct>`, `<array>` and `<nil/>`,
//! with any namespace prefix on a tag ignored. Errors are described in a sentence; a document
//! that ends too soon is described as Python's expat describes it, `no element found: line 1,
//! column 0`, since that sentence is part of Twisted's answers.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::{BytesRef, Event};
use quick_xml::reader::Reader;

use super::{DateTime, Fault, Struct, Value};

/// How deeply values may nest: an array in an array... 64 levels down, and no further.
pub const MAX_DEPTH: usize = 64;

/// A document that is not the XML-RPC it should be, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl ParseError {
    fn new(message: impl Into<String>) -> ParseError {
        ParseError(message.into())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for ParseError {}

/// A call, as read: the method's name and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The name, as sent: `echo`, `system.listMethods`.
    pub method: String,
    /// The arguments, in order.
    pub params: Vec<Value>,
}

/// Reads a `methodCall` document.
pub fn parse_call(body: &[u8]) -> Result<MethodCall, ParseError> {
    let mut tokens = Tokens::new(body);
    tokens.open(Tag::MethodCall)?;
    tokens.open(Tag::MethodName)?;
    let method = tokens.text_of(&Tag::MethodName)?.into_owned();
    let mut params = Vec::new();
    match tokens.next_skipping_blanks()? {
        Token::Open(Tag::Params) => {
            loop {
                match tokens.next_skipping_blanks()? {
                    Token::Open(Tag::Param) => {
                        tokens.open(Tag::Value)?;
                        params.push(tokens.value(1)?);
                        tokens.close(Tag::Param)?;
                    }
                    Token::Close(Tag::Params) => break,
                    other => return Err(tokens.unexpected(other, "<param> or </params>")),
                }
            }
            tokens.close(Tag::MethodCall)?;
        }
        Token::Close(Tag::MethodCall) => {}
        other => return Err(tokens.unexpected(other, "<params> or </methodCall>")),
    }
    tokens.end()?;
    Ok(MethodCall { method, params })
}

/// Reads a `methodResponse` document: the value it holds, or the fault it reports.
pub fn parse_response(body: &[u8]) -> Result<Result<Value, Fault>, ParseError> {
    let mut tokens = Tokens::new(body);
    tokens.open(Tag::MethodResponse)?;
    let answer = match tokens.next_skipping_blanks()? {
        Token::Open(Tag::Params) => {
            tokens.open(Tag::Param)?;
            tokens.open(Tag::Value)?;
            let value = tokens.value(1)?;
            tokens.close(Tag::Param)?;
            tokens.close(Tag::Params)?;
            Ok(value)
        }
        Token::Open(Tag::Fault) => {
            tokens.open(Tag::Value)?;
            let value = tokens.value(1)?;
            tokens.close(Tag::Fault)?;
            Err(fault_of(value)?)
        }
        other => return Err(tokens.unexpected(other, "<params> or <fault>")),
    };
    tokens.close(Tag::MethodResponse)?;
    tokens.end()?;
    Ok(answer)
}

/// The fault a `<fault>`'s struct describes.
fn fault_of(value: Value) -> Result<Fault, ParseError> {
    let malformed =
        || ParseError::new("a fault must be a struct of faultCode (int) and faultString");
    let Value::Struct(members) = value else {
        return Err(malformed());
    };
    let code = members
        .get("faultCode")
        .and_then(Value::as_int)
        .and_then(|code| i32::try_from(code).ok())
        .ok_or_else(malformed)?;
    let string = members
        .get("faultString")
        .and_then(Value::as_str)
        .ok_or_else(malformed)?;
    Ok(Fault::new(code, string))
}

/// What the XML says, reduced to what XML-RPC needs: elements opening and closing (by their name
/// without prefix), text (with its references resolved and its pieces joined), the end.
#[derive(Debug)]
enum Token<'a> {
    Open(Tag),
    Close(Tag),
    /// Borrowed from the document when it is one piece that needs no change, as most text is.
    Text(Cow<'a, str>),
    End,
}

/// What a `<value>` holds: bare text, or a typed element (`<int>`, `<array>`...) whose start was
/// read.
enum ValueContents {
    Text(String),
    Typed(Tag),
}

/// The document's tokens, with one of look-ahead.
struct Tokens<'a> {
    /// The document's bytes, for the positions of errors. (quick-xml checks that each event is
    /// UTF-8 as it reads it, so every byte of a document that is read to its end was checked.)
    source: &'a [u8],
    reader: Reader<&'a [u8]>,
    peeked: Option<Token<'a>>,
}

impl<'a> Tokens<'a> {
    fn new(body: &'a [u8]) -> Tokens<'a> {
        let source = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let mut reader = Reader::from_reader(source);
        let config = reader.config_mut();
        // `<nil/>` reads as `<nil></nil>`. That an end tag matches its start tag is checked by the
        // functions below, which know which end they expect: quick-xml need not check it again.
        config.expand_empty_elements = true;
        config.check_end_names = false;
        // Between the elements of the structure (`<params>`, `<param>`, `<array>`...) blank text
        // means nothing: quick-xml skips it without making an event. Where text is a value, it is
        // kept exactly (see `keep_blanks`).
        config.trim_text_start = true;
        Tokens {
            source,
            reader,
            peeked: None,
        }
    }

    /// The next token.
    fn next(&mut self) -> Result<Token<'a>, ParseError> {
        if let Some(token) = self.peeked.take() {
            return Ok(token);
        }
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(error) => return Err(self.xml_error(&error)),
            };
            let token = match event {
                Event::Text(piece) => {
                    append(&mut text, piece.xml10_content());
                    continue;
                }
                Event::CData(piece) => {
                    append(&mut text, piece.xml10_content());
                    continue;
                }
                Event::GeneralRef(reference) => {
                    let text = text.get_or_insert(Cow::Borrowed("")).to_mut();
                    self.resolve_into(&reference, text)?;
                    continue;
                }
                Event::Decl(declaration) => {
                    self.check_encoding(&declaration)?;
                    continue;
                }
                Event::Comment(_) | Event::PI(_) => continue,
                Event::DocType(_) => {
                    return Err(ParseError::new(
                        "a document type declaration (<!DOCTYPE ...>) is not allowed",
                    ));
                }
                Event::Start(start) => Token::Open(Tag::of(start.name().as_ref())),
                Event::Empty(start) => {
                    // Not produced with `expand_empty_elements`, but read the same way if it were.
                    let tag = Tag::of(start.name().as_ref());
                    self.peeked = Some(Token::Close(tag.clone()));
                    Token::Open(tag)
                }
                Event::End(end) => Token::Close(Tag::of(end.name().as_ref())),
                Event::Eof => Token::End,
            };
            return Ok(match text {
                Some(text) => {
                    // The token after the text waits its turn (there is room: `peeked` was empty
                    // or a `Close` that `Empty` put there, which comes after no text).
                    self.peeked = Some(token);
                    Token::Text(text)
                }
                None => token,
            });
        }
    }

    /// Whether the text that follows the tag just read is kept whole (`true`: it is a value, like
    /// the text of `<string>`) or has its leading blanks dropped (`false`: it is the space between
    /// two elements of the structure, and dropped entirely when it is only blanks).
    fn keep_blanks(&mut self, keep: bool) {
        self.reader.config_mut().trim_text_start = !keep;
    }

    /// The next token that is not blank text.
    fn next_skipping_blanks(&mut self) -> Result<Token<'a>, ParseError> {
        loop {
            match self.next()? {
                Token::Text(text) if is_blank(&text) => continue,
                token => return Ok(token),
            }
        }
    }

    /// Reads the start of element `tag` (blank text before it is fine).
    fn open(&mut self, tag: Tag) -> Result<(), ParseError> {
        match self.next_skipping_blanks()? {
            Token::Open(found) if found == tag => Ok(()),
            other => Err(self.unexpected(other, &format!("<{}>", tag.name()))),
        }
    }

    /// Reads the end of element `tag` (blank text before it is fine).
    fn close(&mut self, tag: Tag) -> Result<(), ParseError> {
        match self.next_skipping_blanks()? {
            Token::Close(found) if found == tag => Ok(()),
            other => Err(self.unexpected(other, &format!("</{}>", tag.name()))),
        }
    }

    /// Reads the text of element `tag`, whose start was read, and its end: the text exactly as
    /// sent (empty when there is none).
    fn text_of(&mut self, tag: &Tag) -> Result<Cow<'a, str>, ParseError> {
        self.keep_blanks(true);
        let text = self.whole_text_of(tag);
        self.keep_blanks(false);
        text
    }

    /// [`text_of`](Tokens::text_of), once blanks are kept.
    fn whole_text_of(&mut self, tag: &Tag) -> Result<Cow<'a, str>, ParseError> {
        let text = match self.next()? {
            Token::Text(text) => text,
            Token::Close(found) if found == *tag => return Ok(Cow::Borrowed("")),
            other => return Err(self.unexpected(other, &format!("text or </{}>", tag.name()))),
        };
        match self.next()? {
            Token::Close(found) if found == *tag => Ok(text),
            other => Err(self.unexpected(other, &format!("</{}>", tag.name()))),
        }
    }

    /// Reads the end of the document: nothing but blanks, comments and processing instructions
    /// may follow the root element.
    fn end(&mut self) -> Result<(), ParseError> {
        match self.next_skipping_blanks()? {
            Token::End => Ok(()),
            other => Err(self.unexpected(other, "the end of the document")),
        }
    }

    /// Reads a value whose `<value>` start was read, down to its `</value>`. `depth` is 1 for a
    /// parameter, 2 for an element of its array, and so on.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::new(format!(
                "values are nested more than {MAX_DEPTH} deep"
            )));
        }
        // The text of `<value>text</value>` is kept whole; blanks before a typed element are not.
        self.keep_blanks(true);
        let contents = self.value_contents();
        self.keep_blanks(false);
        let kind = match contents? {
            ValueContents::Text(text) => return Ok(Value::String(text)),
            ValueContents::Typed(kind) => kind,
        };
        let value = self.typed(kind, depth)?;
        self.close(Tag::Value)?;
        Ok(value)
    }

    /// Reads what follows `<value>`: text up to `</value>` (a string, empty when there is none),
    /// or the start of a typed element (blanks before it are fine).
    fn value_contents(&mut self) -> Result<ValueContents, ParseError> {
        Ok(match self.next()? {
            Token::Close(Tag::Value) => ValueContents::Text(String::new()),
            Token::Text(text) => match self.next()? {
                Token::Close(Tag::Value) => ValueContents::Text(text.into_owned()),
                Token::Open(kind) if is_blank(&text) => ValueContents::Typed(kind),
                other => return Err(self.unexpected(other, "</value>")),
            },
            Token::Open(kind) => ValueContents::Typed(kind),
            other => return Err(self.unexpected(other, "a value")),
        })
    }

    /// Reads the typed element `kind`, whose start was read, down to its end.
    fn typed(&mut self, kind: Tag, depth: usize) -> Result<Value, ParseError> {
        let bad = |what: &str, text: &str| ParseError::new(format!("bad {what} value {text:?}"));
        Ok(match kind {
            Tag::Int | Tag::I4 | Tag::I8 | Tag::I1 | Tag::I2 | Tag::BigInteger => {
                let text = self.text_of(&kind)?;
                Value::Int(text.trim().parse().map_err(|_| bad("integer", &text))?)
            }
            Tag::Boolean => {
                let text = self.text_of(&kind)?;
                match text.trim() {
                    "1" => Value::Bool(true),
                    "0" => Value::Bool(false),
                    _ => return Err(bad("boolean", &text)),
                }
            }
            Tag::String => Value::String(self.text_of(&kind)?.into_owned()),
            Tag::Double | Tag::Float => {
                let text = self.text_of(&kind)?;
                Value::Double(text.trim().parse().map_err(|_| bad("double", &text))?)
            }
            Tag::DateTime => Value::DateTime(DateTime::new(&self.text_of(&kind)?)),
            Tag::Base64 => {
                let text = self.text_of(&kind)?;
                let packed: Vec<u8> = text
                    .bytes()
                    .filter(|byte| !byte.is_ascii_whitespace())
                    .collect();
                Value::Base64(STANDARD.decode(packed).map_err(|_| bad("base64", &text))?)
            }
            Tag::Nil => {
                let text = self.text_of(&kind)?;
                if !is_blank(&text) {
                    return Err(bad("nil", &text));
                }
                Value::Nil
            }
            Tag::Array => {
                self.open(Tag::Data)?;
                let mut elements = Vec::new();
                loop {
                    match self.next_skipping_blanks()? {
                        Token::Open(Tag::Value) => elements.push(self.value(depth + 1)?),
                        Token::Close(Tag::Data) => break,
                        other => return Err(self.unexpected(other, "<value> or </data>")),
                    }
                }
                self.close(Tag::Array)?;
                Value::Array(elements)
            }
            Tag::Struct => {
                let mut members = Struct::new();
                loop {
                    match self.next_skipping_blanks()? {
                        Token::Open(Tag::Member) => {
                            self.open(Tag::Name)?;
                            let name = self.text_of(&Tag::Name)?;
                            self.open(Tag::Value)?;
                            let value = self.value(depth + 1)?;
                            self.close(Tag::Member)?;
                            members.insert(name, value);
                        }
                        Token::Close(Tag::Struct) => break,
                        other => return Err(self.unexpected(other, "<member> or </struct>")),
                    }
                }
                Value::Struct(members)
            }
            other => return Err(ParseError::new(format!("unknown tag '{}'", other.name()))),
        })
    }

    /// Appends the text of a reference to `out`: a character (`&#233;`, `&#xE9;`) or one of
    /// XML's five entities. Any other entity is undefined, since no DTD is ever read.
    fn resolve_into(&self, reference: &BytesRef<'_>, out: &mut String) -> Result<(), ParseError> {
        let undefined = || {
            ParseError::new(format!(
                "undefined entity &{};: {}",
                &**reference,
                self.position(self.reader.buffer_position())
            ))
        };
        if reference.is_char_ref() {
            let character = reference
                .resolve_char_ref()
                .ok()
                .flatten()
                .ok_or_else(undefined)?;
            out.push(character);
            return Ok(());
        }
        out.push_str(match &**reference {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            _ => return Err(undefined()),
        });
        Ok(())
    }

    /// Refuses a declaration naming an encoding other than UTF-8.
    fn check_encoding(
        &self,
        declaration: &quick_xml::events::BytesDecl<'_>,
    ) -> Result<(), ParseError> {
        let Some(Ok(encoding)) = declaration.encoding() else {
            return Ok(());
        };
        let encoding: Cow<'_, str> = encoding;
        if encoding.eq_ignore_ascii_case("utf-8") || encoding.eq_ignore_ascii_case("utf8") {
            Ok(())
        } else {
            Err(ParseError::new(format!(
                "only UTF-8 documents are read, not {encoding}"
            )))
        }
    }

    /// The error for `token`, met where `expected` should have been. A document that ends too soon
    /// gets expat's sentence, with the position of its end.
    fn unexpected(&self, token: Token<'_>, expected: &str) -> ParseError {
        let at = self.position(self.reader.buffer_position());
        match token {
            Token::End => ParseError::new(format!(
                "no element found: {}",
                self.position(self.source.len() as u64)
            )),
            Token::Open(tag) if expected.starts_with("a value") => {
                ParseError::new(format!("unknown tag '{}'", tag.name()))
            }
            Token::Open(tag) => ParseError::new(format!(
                "unexpected <{}> where {expected} should be: {at}",
                tag.name()
            )),
            Token::Close(tag) => ParseError::new(format!(
                "unexpected </{}> where {expected} should be: {at}",
                tag.name()
            )),
            Token::Text(text) => {
                let shown: String = text.chars().take(20).collect();
                ParseError::new(format!(
                    "unexpected text {shown:?} where {expected} should be: {at}"
                ))
            }
        }
    }

    /// An error of the XML itself, with where it is.
    fn xml_error(&self, error: &quick_xml::Error) -> ParseError {
        let at = self.position(self.reader.error_position());
        match error {
            quick_xml::Error::Encoding(_) => ParseError::new(format!("not UTF-8 text: {at}")),
            _ => ParseError::new(format!("{error}: {at}")),
        }
    }

    /// `line 3, column 12` for a byte offset, as expat counts them (lines from 1, columns from 0,
    /// in bytes).
    fn position(&self, offset: u64) -> String {
        let offset = (offset as usize).min(self.source.len());
        let before = &self.source[..offset];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let column = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(offset, |newline| offset - newline - 1);
        format!("line {line}, column {column}")
    }
}

/// The tags of XML-RPC, known by their local name (what follows a `prefix:`), so that reading and
/// comparing them costs no allocation and no string comparison; any other tag keeps its name for
/// the error it will cause.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    MethodCall,
    MethodName,
    MethodResponse,
    Params,
    Param,
    Fault,
    Value,
    Int,
    I4,
    I8,
    I1,
    I2,
    BigInteger,
    Boolean,
    String,
    Double,
    Float,
    DateTime,
    Base64,
    Nil,
    Array,
    Data,
    Struct,
    Member,
    Name,
    Other(Box<str>),
}

impl Tag {
    /// The tag named `qualified` (`value`, or `ex:value` with a namespace prefix).
    fn of(qualified: &str) -> Tag {
        Tag::known(qualified).unwrap_or_else(|| {
            let local = qualified
                .split_once(':')
                .map_or(qualified, |(_, local)| local);
            Tag::known(local).unwrap_or_else(|| Tag::Other(local.into()))
        })
    }

    /// The tag of XML-RPC whose local name is `local`, if there is one.
    fn known(local: &str) -> Option<Tag> {
        // Each arm compares against a name of known length, which compiles to a few integer
        // comparisons: this runs for every tag of every call.
        Some(match local {
            "value" => Tag::Value,
            "int" => Tag::Int,
            "string" => Tag::String,
            "param" => Tag::Param,
            "member" => Tag::Member,
            "name" => Tag::Name,
            "data" => Tag::Data,
            "array" => Tag::Array,
            "struct" => Tag::Struct,
            "i4" => Tag::I4,
            "boolean" => Tag::Boolean,
            "double" => Tag::Double,
            "params" => Tag::Params,
            "methodCall" => Tag::MethodCall,
            "methodName" => Tag::MethodName,
            "methodResponse" => Tag::MethodResponse,
            "fault" => Tag::Fault,
            "nil" => Tag::Nil,
            "base64" => Tag::Base64,
            "dateTime.iso8601" => Tag::DateTime,
            "i8" => Tag::I8,
            "i1" => Tag::I1,
            "i2" => Tag::I2,
            "biginteger" => Tag::BigInteger,
            "float" => Tag::Float,
            _ => return None,
        })
    }

    /// The tag's local name.
    fn name(&self) -> &str {
        match self {
            Tag::Value => "value",
            Tag::Int => "int",
            Tag::String => "string",
            Tag::Param => "param",
            Tag::Member => "member",
            Tag::Name => "name",
            Tag::Data => "data",
            Tag::Array => "array",
            Tag::Struct => "struct",
            Tag::I4 => "i4",
            Tag::Boolean => "boolean",
            Tag::Double => "double",
            Tag::Params => "params",
            Tag::MethodCall => "methodCall",
            Tag::MethodName => "methodName",
            Tag::MethodResponse => "methodResponse",
            Tag::Fault => "fault",
            Tag::Nil => "nil",
            Tag::Base64 => "base64",
            Tag::DateTime => "dateTime.iso8601",
            Tag::I8 => "i8",
            Tag::I1 => "i1",
            Tag::I2 => "i2",
            Tag::BigInteger => "biginteger",
            Tag::Float => "float",
            Tag::Other(name) => name,
        }
    }
}

/// Adds a piece of text to what has been read since the last tag: the first piece is kept as it
/// is (borrowed, most often), the next ones are appended to a copy.
fn append<'a>(text: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    match text {
        None => *text = Some(piece),
        Some(gathered) => gathered.to_mut().push_str(&piece),
    }
}

/// Whether `text` is only XML blanks (spaces, tabs, line ends).
fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
}
