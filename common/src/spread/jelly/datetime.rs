//! Python's `datetime` types as Jelly carries them: each is a type word and one byte string of
//! decimal fields separated by spaces, the fields Python's constructor takes, in its order
//! (`datetime(2024, 1, 2, 3, 4, 5, 6)` is `("datetime" "2024 1 2 3 4 5 6")`). Twisted's jelly
//! accepts all four by default (spec 3.4), and sends only naive values: one with a time zone
//! cannot be jellied.
//!
//! Each value here keeps exactly the fields Python keeps, checked against the same ranges, so
//! what is read is what Python would have built, and writing it gives Twisted's bytes back.

use std::fmt;

/// The longest field text accepted. Twisted's longest is 26 bytes (`"9999 12 31 23 59 59
/// 999999"`); anything much longer is padding a peer chose, refused before it is split.
pub(super) const MAX_FIELDS_TEXT: usize = 64;

/// The largest number of days a `timedelta` holds, either way: Python's `timedelta.max.days`.
const MAX_DAYS: i64 = 999_999_999;

const MICROSECONDS_PER_SECOND: i128 = 1_000_000;
const MICROSECONDS_PER_DAY: i128 = 86_400 * MICROSECONDS_PER_SECOND;

/// `datetime.date`: a day of the proleptic Gregorian calendar, years 1 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// `datetime.time` without a time zone: a time of day to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
}

/// `datetime.datetime` without a time zone: a date and a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    date: Date,
    time: Time,
}

/// `datetime.timedelta`: a duration, kept as Python normalises it: whole days (negative for a
/// negative duration), then 0 to 86399 seconds and 0 to 999999 microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeDelta {
    days: i32,
    seconds: u32,
    microseconds: u32,
}

impl Date {
    /// The date, if Python's `date(year, month, day)` accepts it.
    pub fn new(year: i64, month: i64, day: i64) -> Option<Date> {
        let year = u16::try_from(year)
            .ok()
            .filter(|y| (1..=9999).contains(y))?;
        let month = u8::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
        let day = u8::try_from(day)
            .ok()
            .filter(|&d| d >= 1 && d <= days_in_month(year, month))?;
        Some(Date { year, month, day })
    }

    /// The year, 1 to 9999.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The jelly text: `"2024 1 2"`.
    pub(super) fn fields(&self) -> String {
        format!("{} {} {}", self.year, self.month, self.day)
    }

    /// Reads the jelly text as Python's `date(*map(int, text.split()))` does: three fields.
    pub(super) fn parse(text: &[u8]) -> Option<Date> {
        let [year, month, day] = fields::<3>(text, 3)?;
        Date::new(year, month, day)
    }
}

impl Time {
    /// The time of day, if Python's `time(hour, minute, second, microsecond)` accepts it.
    pub fn new(hour: i64, minute: i64, second: i64, microsecond: i64) -> Option<Time> {
        let small = |value: i64, below: u8| u8::try_from(value).ok().filter(|v| *v < below);
        Some(Time {
            hour: small(hour, 24)?,
            minute: small(minute, 60)?,
            second: small(second, 60)?,
            microsecond: u32::try_from(microsecond)
                .ok()
                .filter(|us| *us < 1_000_000)?,
        })
    }

    /// The hour, 0 to 23.
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The minute, 0 to 59.
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The second, 0 to 59.
    pub fn second(&self) -> u8 {
        self.second
    }

    /// The microsecond, 0 to 999999.
    pub fn microsecond(&self) -> u32 {
        self.microsecond
    }

    /// The jelly text: `"3 4 5 6"`, all four fields.
    pub(super) fn fields(&self) -> String {
        format!(
            "{} {} {} {}",
            self.hour, self.minute, self.second, self.microsecond
        )
    }

    /// Reads the jelly text as Python's `time(*map(int, text.split()))` does: up to four fields,
    /// the missing ones zero.
    pub(super) fn parse(text: &[u8]) -> Option<Time> {
        let [hour, minute, second, microsecond] = fields::<4>(text, 0)?;
        Time::new(hour, minute, second, microsecond)
    }

    /// Python's arguments in a repr: the trailing zero microsecond, then a zero second, left out.
    fn repr_arguments(&self) -> String {
        let mut text = format!("{}, {}", self.hour, self.minute);
        if self.second != 0 || self.microsecond != 0 {
            text += &format!(", {}", self.second);
        }
        if self.microsecond != 0 {
            text += &format!(", {}", self.microsecond);
        }
        text
    }
}

impl DateTime {
    /// The date at that time of day.
    pub fn new(date: Date, time: Time) -> DateTime {
        DateTime { date, time }
    }

    /// The day.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The time of day.
    pub fn time(&self) -> Time {
        self.time
    }

    /// The jelly text: `"2024 1 2 3 4 5 6"`, all seven fields.
    pub(super) fn fields(&self) -> String {
        format!("{} {}", self.date.fields(), self.time.fields())
    }

    /// Reads the jelly text as Python's `datetime(*map(int, text.split()))` does: three to seven
    /// fields, the missing time fields zero.
    pub(super) fn parse(text: &[u8]) -> Option<DateTime> {
        let [year, month, day, hour, minute, second, microsecond] = fields::<7>(text, 3)?;
        Some(DateTime {
            date: Date::new(year, month, day)?,
            time: Time::new(hour, minute, second, microsecond)?,
        })
    }
}

impl TimeDelta {
    /// The duration of `days` days, `seconds` seconds and `microseconds` microseconds, each of
    /// any sign, normalised as Python's `timedelta(days=, seconds=, microseconds=)` does; `None`
    /// beyond 999999999 days either way (Python's `OverflowError`).
    pub fn new(days: i64, seconds: i64, microseconds: i64) -> Option<TimeDelta> {
        // i64 × 86400 × 10^6 and the sums fit in an i128 with room to spare.
        let total = i128::from(days) * MICROSECONDS_PER_DAY
            + i128::from(seconds) * MICROSECONDS_PER_SECOND
            + i128::from(microseconds);
        let days = total.div_euclid(MICROSECONDS_PER_DAY);
        let rest = total.rem_euclid(MICROSECONDS_PER_DAY);
        if days.abs() > i128::from(MAX_DAYS) {
            return None;
        }
        Some(TimeDelta {
            days: i32::try_from(days).ok()?,
            seconds: u32::try_from(rest / MICROSECONDS_PER_SECOND).ok()?,
            microseconds: u32::try_from(rest % MICROSECONDS_PER_SECOND).ok()?,
        })
    }

    /// Whole days, negative for a negative duration.
    pub fn days(&self) -> i32 {
        self.days
    }

    /// Seconds after the days, 0 to 86399.
    pub fn seconds(&self) -> u32 {
        self.seconds
    }

    /// Microseconds after the seconds, 0 to 999999.
    pub fn microseconds(&self) -> u32 {
        self.microseconds
    }

    /// The jelly text: `"-1 5 7"`.
    pub(super) fn fields(&self) -> String {
        format!("{} {} {}", self.days, self.seconds, self.microseconds)
    }

    /// Reads the jelly text as Twisted does: exactly three fields, days, seconds, microseconds.
    pub(super) fn parse(text: &[u8]) -> Option<TimeDelta> {
        let [days, seconds, microseconds] = fields::<3>(text, 3)?;
        TimeDelta::new(days, seconds, microseconds)
    }
}

impl fmt::Display for Date {
    /// Python's `repr`: `datetime.date(2024, 1, 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "datetime.date({}, {}, {})",
            self.year, self.month, self.day
        )
    }
}

impl fmt::Display for Time {
    /// Python's `repr`: `datetime.time(3, 4)`, `datetime.time(3, 4, 5, 6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "datetime.time({})", self.repr_arguments())
    }
}

impl fmt::Display for DateTime {
    /// Python's `repr`: `datetime.datetime(2024, 1, 2, 0, 0)`, `datetime.datetime(2024, 1, 2, 3,
    /// 4, 5, 6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = &self.date;
        write!(
            f,
            "datetime.datetime({}, {}, {}, {})",
            date.year,
            date.month,
            date.day,
            self.time.repr_arguments()
        )
    }
}

impl fmt::Display for TimeDelta {
    /// Python's `repr`: `datetime.timedelta(days=-1, seconds=5)`, the zero fields left out,
    /// `datetime.timedelta(0)` for no time at all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.days != 0 {
            parts.push(format!("days={}", self.days));
        }
        if self.seconds != 0 {
            parts.push(format!("seconds={}", self.seconds));
        }
        if self.microseconds != 0 {
            parts.push(format!("microseconds={}", self.microseconds));
        }
        if parts.is_empty() {
            parts.push("0".to_owned());
        }
        write!(f, "datetime.timedelta({})", parts.join(", "))
    }
}

/// The days of `month` in `year`, leap years as the Gregorian calendar has them.
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Python's `bytes.split()` with no argument splits on these.
fn is_python_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// The integers of a field text, at least `required` and at most `N` of them, the missing ones
/// zero; `None` for a text longer than [`MAX_FIELDS_TEXT`], a field that is not a decimal
/// integer (an optional sign, then ASCII digits) fitting in 64 bits, or the wrong count. Python's
/// `int()` also takes underscores between digits; no Twisted peer sends them, and they are refused.
fn fields<const N: usize>(text: &[u8], required: usize) -> Option<[i64; N]> {
    if text.len() > MAX_FIELDS_TEXT {
        return None;
    }
    let mut values = [0; N];
    let mut count = 0;
    for field in text
        .split(|&byte| is_python_space(byte))
        .filter(|field| !field.is_empty())
    {
        *values.get_mut(count)? = std::str::from_utf8(field).ok()?.parse().ok()?;
        count += 1;
    }
    (count >= required).then_some(values)
}
