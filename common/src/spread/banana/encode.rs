//! Writing Banana: tokens appended straight to an output buffer, in exactly the forms Twisted writes.

use num_bigint::{BigInt, Sign};

use super::{
    BananaError, Dialect, FLOAT, INT, Int, Item, LIST, LONGINT, LONGNEG, NEG, SIZE_LIMIT, STRING,
    VOCAB, vocabulary_index,
};

/// The largest magnitude INT and NEG carry in Twisted's choice of token (2^31; NEG includes -2^31).
const SMALL_LIMIT: u64 = 1 << 31;

/// The most bits an integer's magnitude may have: 64 prefix digits of 7 bits.
const MAX_INT_BITS: u64 = 448;

/// Appends Banana tokens to a `Vec<u8>`, the way Twisted's encoder writes them: the shortest prefix
/// (zero as one `00` byte), INT/NEG below 2^31 in magnitude and LONGINT/LONGNEG above, no prefix
/// before a FLOAT, and in the pb dialect a VOCAB token for every vocabulary word.
///
/// A list is written as its header followed by its items, so a caller (Jelly) can stream a value
/// without building an [`Item`] tree first. A method that refuses (too long, too large) writes
/// nothing.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    dialect: Dialect,
}

impl<'a> Writer<'a> {
    /// A writer appending to `out` in `dialect`.
    pub fn new(out: &'a mut Vec<u8>, dialect: Dialect) -> Self {
        Writer { out, dialect }
    }

    /// The dialect this writer speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// How many bytes the output holds (to undo a partial write: see [`truncate`](Self::truncate)).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether the output is empty.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Drops what was written after the output had `len` bytes: a value that fails half way
    /// must leave no partial expression behind.
    pub fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }

    /// A LIST header announcing `len` items; the caller then writes exactly that many.
    pub fn list_header(&mut self, len: usize) -> Result<(), BananaError> {
        if len > SIZE_LIMIT {
            return Err(BananaError::banana(format!(
                "list/tuple is too long to send ({len})"
            )));
        }
        self.prefix(len as u64);
        self.out.push(LIST);
        Ok(())
    }

    /// An integer that fits in 64 bits.
    pub fn int(&mut self, value: i64) {
        let magnitude = value.unsigned_abs();
        self.prefix(magnitude);
        self.out.push(match (value < 0, magnitude) {
            (false, m) if m < SMALL_LIMIT => INT,
            (false, _) => LONGINT,
            (true, m) if m <= SMALL_LIMIT => NEG,
            (true, _) => LONGNEG,
        });
    }

    /// Any integer; refused if its magnitude is 2^448 or more, as Twisted refuses it.
    pub fn big_int(&mut self, value: &BigInt) -> Result<(), BananaError> {
        if let Ok(small) = i64::try_from(value) {
            self.int(small);
            return Ok(());
        }
        if value.bits() > MAX_INT_BITS {
            return Err(BananaError::banana(format!(
                "int is too large to send ({value})"
            )));
        }
        self.out.extend(value.magnitude().to_radix_le(128));
        self.out.push(if value.sign() == Sign::Minus {
            LONGNEG
        } else {
            LONGINT
        });
        Ok(())
    }

    /// A Banana integer in either form.
    pub fn int_value(&mut self, value: &Int) -> Result<(), BananaError> {
        match value {
            Int::Small(n) => {
                self.int(*n);
                Ok(())
            }
            Int::Big(n) => self.big_int(n),
        }
    }

    /// A float: the type byte, then the eight bytes of the binary64, most significant first.
    pub fn float(&mut self, value: f64) {
        self.out.push(FLOAT);
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    /// A byte string: a VOCAB token in the pb dialect if it is a vocabulary word, else a STRING.
    pub fn bytes(&mut self, value: &[u8]) -> Result<(), BananaError> {
        if value.len() > SIZE_LIMIT {
            return Err(BananaError::banana(format!(
                "byte string is too long to send ({})",
                value.len()
            )));
        }
        if self.dialect == Dialect::Pb
            && let Some(index) = vocabulary_index(value)
        {
            self.out.extend([index, VOCAB]);
            return Ok(());
        }
        self.prefix(value.len() as u64);
        self.out.push(STRING);
        self.out.extend_from_slice(value);
        Ok(())
    }

    /// A whole decoded item, written back as Twisted would write it. On error nothing is written.
    pub fn item(&mut self, item: &Item) -> Result<(), BananaError> {
        let start = self.out.len();
        let result = self.item_unchecked(item);
        if result.is_err() {
            self.out.truncate(start);
        }
        result
    }

    fn item_unchecked(&mut self, item: &Item) -> Result<(), BananaError> {
        match item {
            Item::List(items) => {
                self.list_header(items.len())?;
                items.iter().try_for_each(|item| self.item_unchecked(item))
            }
            Item::Int(value) => self.int_value(value),
            Item::Float(value) => {
                self.float(*value);
                Ok(())
            }
            Item::Bytes(value) => self.bytes(value),
        }
    }

    /// The base-128 prefix, least significant digit first; zero is one `00` byte.
    fn prefix(&mut self, mut value: u64) {
        loop {
            self.out.push((value & 0x7f) as u8);
            value >>= 7;
            if value == 0 {
                break;
            }
        }
    }
}
