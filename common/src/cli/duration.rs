//! Durations on the command line and in the output.
//!
//! In: options such as `--delay` take plain seconds as the tutorial writes them (`0.1`, `5`) or a
//! number with a unit (`100ms`, `1s`, `1m 30s`).
//!
//! Out: the tutorial's programs print elapsed times as Python prints a `timedelta`,
//! `0:00:10.126361`, and so do ours by default ([`Clock`]). A reader who prefers `10s 126ms 361us`,
//! or a script that wants plain seconds, picks another [`TimeFormat`]. The EuroPython training's
//! clients print a float of seconds the way Python 2 does ([`python_float`]).
//!
//! Demos: `--time-scale` runs a demo's timed script faster or slower ([`parse_time_scale`],
//! [`scaled`]), so that a test need not wait for a demo's five seconds.

use std::fmt;
use std::time::Duration;

/// The longest duration an option takes: a year. Anything longer is surely a typo, and a deadline
/// that far off would overflow the clock's arithmetic.
pub const LONGEST: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Parses a duration option: plain seconds (`0.7`) or a number with a unit (`700ms`, `1s`), from
/// zero to a year.
///
/// Meant as a clap `value_parser`; the error text says what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return Err(format!(
                "'{text}' is not a duration of zero seconds or more"
            ));
        }
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
    } else {
        match humantime::parse_duration(text) {
            Ok(duration) => duration,
            Err(humantime::DurationError::NumberOverflow) => Duration::MAX,
            Err(_) => {
                return Err(format!(
                    "'{text}' is not a duration: give seconds (0.7) or a number with a unit \
                     (700ms, 1s)"
                ));
            }
        }
    };
    if duration > LONGEST {
        return Err(format!(
            "'{text}' is too large: a duration is at most a year ({} seconds)",
            LONGEST.as_secs()
        ));
    }
    Ok(duration)
}

/// Parses a timeout option (`--timeout`, `--connect-timeout`...): as [`parse_duration`], but more
/// than zero, since a timeout of zero would give up before anything could happen.
///
/// Refused as a usage error, so that `--connect-timeout 0` is caught before the program starts,
/// not when its first connection fails.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "'{text}' is no time at all: a timeout must be more than zero"
        )),
        duration => Ok(duration),
    }
}

/// A duration printed as Python prints a `timedelta`: `H:MM:SS.ffffff`.
///
/// Hours are not padded, microseconds always have six digits, and, as in Python, the fraction is left
/// out when it is zero (`0:00:10`) and whole days come first (`1 day, 0:00:03.000001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock(pub Duration);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_seconds = self.0.as_secs();
        let micros = self.0.subsec_micros();
        let days = total_seconds / 86_400;
        let hours = total_seconds % 86_400 / 3_600;
        let minutes = total_seconds % 3_600 / 60;
        let seconds = total_seconds % 60;
        match days {
            0 => {}
            1 => write!(f, "1 day, ")?,
            _ => write!(f, "{days} days, ")?,
        }
        write!(f, "{hours}:{minutes:02}:{seconds:02}")?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

/// How a program prints the durations it measured (`--time-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeFormat {
    /// `0:00:10.126361`, as the tutorial's programs print it.
    #[default]
    Clock,
    /// `10s 126ms 361us`, easier on the eye.
    Human,
    /// `10.126361`, plain seconds for scripts.
    Seconds,
    /// `10.1263614082`, seconds as Python 2 prints a float (12 significant digits), as the
    /// EuroPython training's clients print their timings.
    Python,
}

impl TimeFormat {
    /// Renders `duration` in this format: to the microsecond, except for `Python`, which keeps the
    /// twelve significant digits Python 2 prints.
    pub fn show(self, duration: Duration) -> String {
        let micros = Duration::from_micros(duration.as_micros().try_into().unwrap_or(u64::MAX));
        match self {
            TimeFormat::Clock => Clock(micros).to_string(),
            TimeFormat::Human => humantime::format_duration(micros).to_string(),
            TimeFormat::Seconds => format!("{}.{:06}", micros.as_secs(), micros.subsec_micros()),
            TimeFormat::Python => python_float(duration.as_secs_f64()),
        }
    }
}

/// A float as Python 2's `str()` (and so `print`) writes it: `1.00394248962`, `0.00183367729187`,
/// `5.0`, `1e-05`.
///
/// That is C's `%.12g` (twelve significant digits, trailing zeros dropped, an exponent when the
/// number is below 1e-4 or has more than twelve digits before the point), with `.0` added when the
/// result would otherwise read as a whole number. Python 3 prints the shortest form that reads back
/// exactly instead (`1.0039424896240234`), which is why the training's outputs look the way they do.
pub fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // The decimal exponent once rounded to twelve digits decides between the two notations, as in C.
    let scientific = format!("{value:.11e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} always writes an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("Rust's {:e} writes the exponent as an integer");
    if !(-4..12).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{}e{sign}{:02}",
            without_trailing_zeros(mantissa),
            exponent.unsigned_abs()
        );
    }
    let decimals = usize::try_from(11 - exponent).unwrap_or(0);
    let fixed = format!("{value:.decimals$}");
    let fixed = without_trailing_zeros(&fixed);
    if fixed.contains('.') {
        fixed.to_owned()
    } else {
        format!("{fixed}.0")
    }
}

/// `1.2500` → `1.25`, `3.000` → `3`; a number without a point is left alone.
fn without_trailing_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// Parses a demo's `--time-scale`: the positive factor every delay of its script is multiplied by
/// (`0.01` runs a five-second demo in a twentieth of a second, `2` at half speed), up to
/// [`LONGEST_TIME_SCALE`].
///
/// Meant as a clap `value_parser` with `default_value_t = 1.0`; see [`scaled`].
pub fn parse_time_scale(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(factor) if factor > 0.0 && factor <= LONGEST_TIME_SCALE => Ok(factor),
        _ => Err(format!(
            "expected a positive number up to {LONGEST_TIME_SCALE}, not '{text}'"
        )),
    }
}

/// The largest `--time-scale`: a demo a thousand times slower is already one nobody waits for.
pub const LONGEST_TIME_SCALE: f64 = 1000.0;

/// `seconds` of a demo's script times its `--time-scale` factor. A product too large for a
/// `Duration` means "never", which is what the reactor makes of any delay beyond a century anyway.
pub fn scaled(seconds: f64, time_scale: f64) -> Duration {
    Duration::try_from_secs_f64(seconds * time_scale).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_seconds() {
        assert_eq!(parse_duration("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration(".7"), Ok(Duration::from_millis(700)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 2 "), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn numbers_with_units_are_accepted() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        assert_eq!(
            parse_duration("-1"),
            Err("'-1' is not a duration of zero seconds or more".to_owned())
        );
        assert_eq!(
            parse_duration("1e20"),
            Err("'1e20' is too large: a duration is at most a year (31536000 seconds)".to_owned())
        );
        assert_eq!(
            parse_duration("366days").unwrap_err(),
            "'366days' is too large: a duration is at most a year (31536000 seconds)"
        );
        assert_eq!(
            parse_duration("99999999999999999999s").unwrap_err(),
            "'99999999999999999999s' is too large: a duration is at most a year (31536000 seconds)"
        );
        assert_eq!(parse_duration("365days"), Ok(LONGEST));
        assert_eq!(
            parse_duration("NaN"),
            Err("'NaN' is not a duration of zero seconds or more".to_owned())
        );
        assert_eq!(
            parse_duration("soon"),
            Err(
                "'soon' is not a duration: give seconds (0.7) or a number with a unit (700ms, 1s)"
                    .to_owned()
            )
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn timeouts_are_more_than_zero() {
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_timeout("0").unwrap_err(),
            "'0' is no time at all: a timeout must be more than zero"
        );
        assert_eq!(
            parse_timeout("0ms").unwrap_err(),
            "'0ms' is no time at all: a timeout must be more than zero"
        );
        assert!(parse_timeout("-1").is_err());
    }

    #[test]
    fn clock_prints_like_a_python_timedelta() {
        let micros = |us: u64| Clock(Duration::from_micros(us)).to_string();
        assert_eq!(micros(10_126_361), "0:00:10.126361");
        assert_eq!(micros(23_065_661), "0:00:23.065661");
        assert_eq!(micros(10_000_000), "0:00:10");
        assert_eq!(micros(0), "0:00:00");
        assert_eq!(micros(5), "0:00:00.000005");
        assert_eq!(micros(3_723_000_001), "1:02:03.000001");
        assert_eq!(micros(86_403_000_001), "1 day, 0:00:03.000001");
        assert_eq!(
            micros(2 * 86_400_000_000 + 36_000_000_000),
            "2 days, 10:00:00"
        );
    }

    #[test]
    fn every_format_rounds_down_to_the_microsecond() {
        let d = Duration::new(10, 126_361_999);
        assert_eq!(TimeFormat::Clock.show(d), "0:00:10.126361");
        assert_eq!(TimeFormat::Human.show(d), "10s 126ms 361us");
        assert_eq!(TimeFormat::Seconds.show(d), "10.126361");
        assert_eq!(TimeFormat::Seconds.show(Duration::ZERO), "0.000000");
        assert_eq!(TimeFormat::Human.show(Duration::ZERO), "0s");
    }

    #[test]
    fn python_floats_have_twelve_significant_digits() {
        assert_eq!(python_float(1.0039424896240234), "1.00394248962");
        assert_eq!(python_float(0.0018336772918701172), "0.00183367729187");
        assert_eq!(python_float(5.016769647598267), "5.0167696476");
        assert_eq!(python_float(2.006673812866211), "2.00667381287");
        assert_eq!(python_float(0.5059144496917725), "0.505914449692");
    }

    #[test]
    fn python_floats_keep_a_point_or_use_an_exponent() {
        assert_eq!(python_float(0.0), "0.0");
        assert_eq!(python_float(5.0), "5.0");
        assert_eq!(python_float(0.5), "0.5");
        assert_eq!(python_float(1e-4), "0.0001");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(0.000012345678901234), "1.23456789012e-05");
        assert_eq!(python_float(123456789012.0), "123456789012.0");
        assert_eq!(python_float(1234567890123.0), "1.23456789012e+12");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(9.9999999999999), "10.0");
        assert_eq!(python_float(-2.5), "-2.5");
        assert_eq!(python_float(f64::INFINITY), "inf");
        assert_eq!(python_float(f64::NAN), "nan");
    }

    #[test]
    fn the_python_format_is_not_cut_to_the_microsecond() {
        let d = Duration::new(2, 6_673_812);
        assert_eq!(TimeFormat::Python.show(d), "2.006673812");
        assert_eq!(TimeFormat::Python.show(Duration::from_secs(3)), "3.0");
    }

    #[test]
    fn time_scales_are_positive_factors() {
        assert_eq!(parse_time_scale("0.01"), Ok(0.01));
        assert_eq!(parse_time_scale("2"), Ok(2.0));
        for bad in ["0", "-1", "nan", "inf", "fast", "", "1e9"] {
            assert_eq!(
                parse_time_scale(bad),
                Err(format!(
                    "expected a positive number up to 1000, not '{bad}'"
                ))
            );
        }
        assert_eq!(scaled(5.0, 0.1), Duration::from_millis(500));
        assert_eq!(scaled(5.0, 1e300), Duration::MAX);
    }
}
