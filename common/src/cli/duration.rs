//! Durations on the command line and in the output.
//!
//! In: options such as `--delay` take plain seconds as the tutorial writes them (`0.1`, `5`) or a
//! number with a unit (`100ms`, `1s`, `1m 30s`).
//!
//! Out: the tutorial's programs print elapsed times as Python prints a `timedelta`,
//! `0:00:10.126361`, and so do ours by default ([`Clock`]). A reader who prefers `10s 126ms 361us`,
//! or a script that wants plain seconds, picks another [`TimeFormat`].

use std::fmt;
use std::time::Duration;

/// Parses a duration option: plain seconds (`0.7`) or a number with a unit (`700ms`, `1s`).
///
/// Meant as a clap `value_parser`; the error text says what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("'{text}' is not a duration of zero seconds or more"));
    }
    humantime::parse_duration(text).map_err(|_| {
        format!(
            "'{text}' is not a duration: give seconds (0.7) or a number with a unit (700ms, 1s)"
        )
    })
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
}

impl TimeFormat {
    /// Renders `duration` in this format, to the microsecond.
    pub fn show(self, duration: Duration) -> String {
        let duration = Duration::from_micros(duration.as_micros().try_into().unwrap_or(u64::MAX));
        match self {
            TimeFormat::Clock => Clock(duration).to_string(),
            TimeFormat::Human => humantime::format_duration(duration).to_string(),
            TimeFormat::Seconds => {
                format!("{}.{:06}", duration.as_secs(), duration.subsec_micros())
            }
        }
    }
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
}
