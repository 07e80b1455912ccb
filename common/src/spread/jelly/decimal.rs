//! Python's `decimal.Decimal` as Jelly carries it: `("decimal" coefficient exponent)`, the value
//! being coefficient × 10^exponent, the coefficient signed (`Decimal('-1.25')` is
//! `("decimal" -125 -2)`). Twisted's jelly accepts it by default, so a PB peer may send one to a
//! store that must give it back unchanged.

use std::fmt;

use num_bigint::{BigInt, Sign};

/// The largest adjusted exponent (the exponent of the first digit) Python's `decimal` builds:
/// `decimal.MAX_EMAX`. A value beyond it is refused, as Twisted's unjelly refuses it.
const MAX_ADJUSTED: i64 = 999_999_999_999_999_999;

/// The smallest exponent Python's `decimal` builds: `decimal.MIN_ETINY`.
const MIN_EXPONENT: i64 = -1_999_999_999_999_999_997;

/// A `decimal.Decimal` with a finite value, as the wire has it: a signed coefficient and a power of
/// ten. `Decimal('3.14')` is coefficient 314, exponent -2; `Decimal('3.140')` is another value to
/// Python's `repr` (314 0 and exponent -3), so the two are kept apart here too. The sign of a
/// negative zero does not travel (Twisted sends `Decimal('-0')` as `0 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    coefficient: BigInt,
    exponent: i64,
}

impl Decimal {
    /// coefficient × 10^exponent, if Python's `decimal` can hold it: the exponent no less than
    /// `MIN_ETINY` and the first digit's exponent no more than `MAX_EMAX`, as Twisted's unjelly
    /// requires. The coefficient's size is Banana's to bound (448 bits on the wire).
    pub fn new(coefficient: BigInt, exponent: i64) -> Option<Decimal> {
        let digits = i64::try_from(coefficient.magnitude().to_string().len()).ok()?;
        let adjusted = exponent.checked_add(digits - 1)?;
        (exponent >= MIN_EXPONENT && adjusted <= MAX_ADJUSTED).then_some(Decimal {
            coefficient,
            exponent,
        })
    }

    /// The signed coefficient, as sent first.
    pub fn coefficient(&self) -> &BigInt {
        &self.coefficient
    }

    /// The power of ten, as sent second.
    pub fn exponent(&self) -> i64 {
        self.exponent
    }
}

impl fmt::Display for Decimal {
    /// Python's `repr`: `Decimal('3.14')`, `Decimal('1E+3')`, `Decimal('1.23E-7')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal('{}')", self.to_python_str())
    }
}

impl Decimal {
    /// Python's `str()` of the decimal, the General Decimal Arithmetic's to-scientific-string:
    /// positional when the exponent is not positive and the first digit is no further than six
    /// places after the point, with an exponent (`E+3`, `E-7`) otherwise.
    pub fn to_python_str(&self) -> String {
        let sign = if self.coefficient.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        let digits = self.coefficient.magnitude().to_string();
        // Both fit in i128 with room: digits are at most a few hundred (Banana's 448 bits).
        let count = digits.len() as i128;
        let exponent = i128::from(self.exponent);
        let adjusted = exponent + count - 1;
        if exponent <= 0 && adjusted >= -6 {
            if exponent == 0 {
                return format!("{sign}{digits}");
            }
            let point = count + exponent;
            if point > 0 {
                let (whole, fraction) = digits.split_at(point as usize);
                return format!("{sign}{whole}.{fraction}");
            }
            // At most five zeros: adjusted >= -6 keeps the first digit close to the point.
            return format!("{sign}0.{}{digits}", "0".repeat((-point) as usize));
        }
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exponent_sign = if adjusted >= 0 { '+' } else { '-' };
        format!(
            "{sign}{first}{point}{rest}E{exponent_sign}{}",
            adjusted.abs()
        )
    }
}
