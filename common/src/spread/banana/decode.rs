//! Reading Banana: bytes in, whole expressions out, however the bytes were split.

use std::mem::size_of;

use num_bigint::{BigInt, BigUint, Sign};

use super::{
    BananaError, DEFAULT_MAX_DEPTH, DEFAULT_MAX_EXPRESSION_SIZE, Dialect, FLOAT, INT, Int, Item,
    LIST, LONGINT, LONGNEG, NEG, PREFIX_LIMIT, SIZE_LIMIT, STRING, VOCAB, vocabulary_word,
};
use crate::spread::bytes_repr;

/// What one decoded item costs against the expression budget, besides its payload.
const ITEM_COST: usize = size_of::<Item>();

/// An incremental Banana decoder: [`feed`](Decoder::feed) it whatever the connection read, then call
/// [`next_item`](Decoder::next_item) until it answers `None` (it needs more bytes).
///
/// It keeps the bytes of the token it could not finish and the lists still open, so an expression
/// may arrive one byte at a time. Each header is checked against the limits as soon as its type
/// byte is there: an oversized STRING is refused before a byte of its payload is buffered for it, an
/// oversized LIST before a slot is reserved. After an error the decoder stays failed (it answers the
/// same error again) and the connection must be closed; a new connection gets a new decoder, so
/// nothing of one bad input reaches the next (Twisted's `test_statelessDecode`).
#[derive(Debug)]
pub struct Decoder {
    /// Bytes received and not yet consumed start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    dialect: Dialect,
    /// The lists opened and not yet complete, innermost last.
    stack: Vec<OpenList>,
    max_depth: usize,
    max_expression_size: usize,
    /// What the expression being decoded holds so far, against `max_expression_size`.
    expression_size: usize,
    failed: Option<BananaError>,
}

/// A list whose header has been read: how many items it announced, and those decoded so far.
#[derive(Debug)]
struct OpenList {
    expected: usize,
    items: Vec<Item>,
}

/// What one token gave.
enum Token {
    /// A complete item: a leaf, or an empty list.
    Item(Item),
    /// The header of a non-empty list, now open.
    Opened,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder for a new connection: no dialect chosen yet (VOCAB is refused), the default depth
    /// and expression-size limits.
    pub fn new() -> Decoder {
        Decoder::with_max_depth(DEFAULT_MAX_DEPTH)
    }

    /// A decoder that refuses lists nested more than `depth` deep.
    pub fn with_max_depth(depth: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            pos: 0,
            dialect: Dialect::None,
            stack: Vec::new(),
            max_depth: depth,
            max_expression_size: DEFAULT_MAX_EXPRESSION_SIZE,
            expression_size: 0,
            failed: None,
        }
    }

    /// Changes how much memory one unfinished expression may hold (payload bytes plus the size of
    /// each item).
    pub fn set_max_expression_size(&mut self, bytes: usize) {
        self.max_expression_size = bytes;
    }

    /// Switches dialect. The PB handshake does this between two expressions of one read: the bytes
    /// still buffered are decoded in the new dialect by the next call to `next_item`.
    pub fn set_dialect(&mut self, dialect: Dialect) {
        self.dialect = dialect;
    }

    /// The dialect in force.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Adds bytes read from the connection. Nothing is decoded until `next_item` is called.
    pub fn feed(&mut self, data: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// How many bytes are buffered and not yet decoded: the token that is still incomplete (items
    /// of an unfinished list are decoded already and held apart).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete expression, `None` if more bytes are needed, or the error that makes the
    /// input unreadable (answered again on every later call).
    pub fn next_item(&mut self) -> Option<Result<Item, BananaError>> {
        if let Some(error) = &self.failed {
            return Some(Err(error.clone()));
        }
        match self.expression() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(error) => {
                self.failed = Some(error.clone());
                self.buf = Vec::new();
                self.pos = 0;
                self.stack = Vec::new();
                Some(Err(error))
            }
        }
    }

    /// Reads tokens until an expression completes or the bytes run out.
    fn expression(&mut self) -> Result<Option<Item>, BananaError> {
        loop {
            let mut item = match self.token()? {
                None => return Ok(None),
                Some(Token::Opened) => continue,
                Some(Token::Item(item)) => item,
            };
            // An item completes its list if it was the last one announced, and that list may in
            // turn complete its parent: close as many as are full.
            loop {
                let Some(top) = self.stack.last_mut() else {
                    self.expression_size = 0;
                    return Ok(Some(item));
                };
                top.items.push(item);
                if top.items.len() < top.expected {
                    break;
                }
                let full = self.stack.pop().expect("the list just filled");
                item = Item::List(full.items);
            }
        }
    }

    /// Reads one token, or nothing if its bytes are not all there yet (then nothing is consumed and
    /// the same token is read again, from its first byte, after the next feed).
    fn token(&mut self) -> Result<Option<Token>, BananaError> {
        let rest = &self.buf[self.pos..];
        let Some(type_at) = rest.iter().position(|&b| b >= 0x80) else {
            if rest.len() > PREFIX_LIMIT {
                return Err(BananaError::banana(
                    "Security precaution: more than 64 bytes of prefix",
                ));
            }
            return Ok(None);
        };
        if type_at > PREFIX_LIMIT {
            return Err(BananaError::banana(
                "Security precaution: longer than 64 bytes worth of prefix",
            ));
        }
        let prefix = &rest[..type_at];
        let type_byte = rest[type_at];
        let after = self.pos + type_at + 1;
        let token = match type_byte {
            LIST => {
                let count = checked_size(prefix)
                    .ok_or_else(|| BananaError::banana("Security precaution: List too long."))?;
                if self.stack.len() >= self.max_depth {
                    return Err(BananaError::banana(format!(
                        "Security precaution: lists nested more than {} deep",
                        self.max_depth
                    )));
                }
                self.charge(ITEM_COST)?;
                self.pos = after;
                if count == 0 {
                    Token::Item(Item::List(Vec::new()))
                } else {
                    // Reserve little: the items are not here yet, and a peer announcing many need
                    // not send them.
                    let items = Vec::with_capacity(count.min(16));
                    self.stack.push(OpenList {
                        expected: count,
                        items,
                    });
                    Token::Opened
                }
            }
            INT | LONGINT => {
                let value = prefix_int(prefix, false);
                self.charge(ITEM_COST)?;
                self.pos = after;
                Token::Item(Item::Int(value))
            }
            NEG | LONGNEG => {
                let value = prefix_int(prefix, true);
                self.charge(ITEM_COST)?;
                self.pos = after;
                Token::Item(Item::Int(value))
            }
            STRING => {
                let len = checked_size(prefix)
                    .ok_or_else(|| BananaError::banana("Security precaution: String too long."))?;
                self.check_budget(ITEM_COST + len)?;
                if self.buf.len() - after < len {
                    return Ok(None);
                }
                let bytes = self.buf[after..after + len].to_vec();
                self.charge(ITEM_COST + len)?;
                self.pos = after + len;
                Token::Item(Item::Bytes(bytes))
            }
            FLOAT => {
                let Some(payload) = self.buf.get(after..after + 8) else {
                    return Ok(None);
                };
                let value = f64::from_be_bytes(payload.try_into().expect("eight bytes"));
                self.charge(ITEM_COST)?;
                self.pos = after + 8;
                Token::Item(Item::Float(value))
            }
            VOCAB => {
                let index = prefix_int(prefix, false);
                let word = index
                    .as_i64()
                    .and_then(|i| vocabulary_word(i as u64))
                    .ok_or_else(|| BananaError::other(format!("KeyError: {index}")))?;
                if self.dialect != Dialect::Pb {
                    return Err(BananaError::other(format!(
                        "NotImplementedError: Invalid item for pb protocol {}",
                        bytes_repr(word)
                    )));
                }
                self.charge(ITEM_COST + word.len())?;
                self.pos = after;
                Token::Item(Item::Bytes(word.to_vec()))
            }
            other => {
                return Err(BananaError::other(format!(
                    "NotImplementedError: Invalid Type Byte {}",
                    bytes_repr(&[other])
                )));
            }
        };
        Ok(Some(token))
    }

    /// Refuses a token that would take the expression past its budget.
    fn check_budget(&self, cost: usize) -> Result<(), BananaError> {
        if self.expression_size + cost > self.max_expression_size {
            return Err(BananaError::banana(format!(
                "Security precaution: expression larger than {} bytes",
                self.max_expression_size
            )));
        }
        Ok(())
    }

    /// Counts a token against the expression budget.
    fn charge(&mut self, cost: usize) -> Result<(), BananaError> {
        self.check_budget(cost)?;
        self.expression_size += cost;
        Ok(())
    }
}

/// The prefix as a count (a STRING's length, a LIST's items), or `None` if over [`SIZE_LIMIT`].
/// Trailing zero digits are allowed, as Twisted allows them.
fn checked_size(prefix: &[u8]) -> Option<usize> {
    let value = small_prefix(prefix)?;
    (value <= SIZE_LIMIT as u64).then_some(value as usize)
}

/// The prefix's value if it has at most nine significant digits (63 bits), which covers every
/// integer Twisted sends below 2^63 and every acceptable size.
fn small_prefix(prefix: &[u8]) -> Option<u64> {
    let significant = prefix.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    if significant > 9 {
        return None;
    }
    Some(
        prefix[..significant]
            .iter()
            .rev()
            .fold(0u64, |value, &digit| (value << 7) | u64::from(digit)),
    )
}

/// The integer a prefix carries, negated for NEG and LONGNEG.
fn prefix_int(prefix: &[u8], negative: bool) -> Int {
    if let Some(magnitude) = small_prefix(prefix) {
        let value = magnitude as i64;
        return Int::Small(if negative { -value } else { value });
    }
    let magnitude = BigUint::from_radix_le(prefix, 128).expect("prefix digits are below 128");
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    Int::from(BigInt::from_biguint(sign, magnitude))
}
