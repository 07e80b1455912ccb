//! The poetry clients' options about time: how long to wait (`--timeout`, `--connect-timeout`) and
//! how to print what was measured (`--time-format`).
//!
//! Each is declared once here and flattened into every client that takes it, so that an option has
//! one name, one help text, one parser and one default wherever a student meets it. A client that
//! does without an option simply does not flatten it; the README's table of shared options says which
//! client takes which.

use std::time::Duration;

use clap::Args;

use super::duration::{TimeFormat, parse_timeout};

/// `--timeout`: how long a client waits for one poem before giving up on it, with no limit by
/// default, as in the tutorial, whose exercises (Parts 5, 6 and 8) add it.
///
/// Where the clock starts differs a little with each client's design (when the connection is made,
/// when the connection attempt begins, when the run begins), and each client's own documentation
/// says which; what the option means to a user does not.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct TimeoutOption {
    /// Give up on a poem that has not arrived this long after its download began: seconds (5) or
    /// with a unit (500ms). Without it, a poem may take as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
}

/// `--timeout` for `timing-client`: the same limit on each request, but on by default (10 s),
/// since a load test that waited for ever on one lost request would never report.
#[derive(Debug, Clone, Copy, Args)]
pub struct RequestTimeoutOption {
    /// Give up on a request that has not been answered this long after it began, connecting
    /// included: seconds (5) or with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// `--connect-timeout`: how long the clients that make their own sockets (the blocking client, the
/// hand-written poll loop, clients 1.0) wait for a connection. The other clients give up connecting
/// after 30 s, or after their `--timeout`.
#[derive(Debug, Clone, Copy, Args)]
pub struct ConnectTimeoutOption {
    /// Give up connecting to a server after this long: seconds (5) or with a unit (500ms).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub connect_timeout: Duration,
}

/// `--time-format`: how a client prints the durations it measured. The default is the tutorial's
/// `0:00:10.126361`; `timing-client`, which prints seconds as the training's timing client does,
/// changes only the default, with clap's `mut_arg`.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct TimeFormatOption {
    /// How to print the durations measured.
    #[arg(long, value_enum, default_value_t)]
    pub time_format: TimeFormat,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A client that takes all four, as the tests parse its command line.
    #[derive(Debug, Parser)]
    struct Client {
        #[command(flatten)]
        timeout: TimeoutOption,
        #[command(flatten)]
        connect_timeout: ConnectTimeoutOption,
        #[command(flatten)]
        time_format: TimeFormatOption,
    }

    #[test]
    fn the_defaults_are_no_timeout_ten_seconds_to_connect_and_the_tutorials_clock() {
        let client = Client::try_parse_from(["client"]).unwrap();
        assert_eq!(client.timeout.timeout, None);
        assert_eq!(
            client.connect_timeout.connect_timeout,
            Duration::from_secs(10)
        );
        assert_eq!(client.time_format.time_format, TimeFormat::Clock);
    }

    #[test]
    fn the_values_go_through_the_shared_parsers() {
        let client = Client::try_parse_from([
            "client",
            "--timeout",
            "500ms",
            "--connect-timeout",
            "2",
            "--time-format",
            "seconds",
        ])
        .unwrap();
        assert_eq!(client.timeout.timeout, Some(Duration::from_millis(500)));
        assert_eq!(
            client.connect_timeout.connect_timeout,
            Duration::from_secs(2)
        );
        assert_eq!(client.time_format.time_format, TimeFormat::Seconds);
        assert!(Client::try_parse_from(["client", "--timeout", "0"]).is_err());
        assert!(Client::try_parse_from(["client", "--connect-timeout", "0"]).is_err());
    }

    #[test]
    fn a_request_timeout_is_on_by_default() {
        #[derive(Debug, Parser)]
        struct Timing {
            #[command(flatten)]
            timeout: RequestTimeoutOption,
        }
        let timing = Timing::try_parse_from(["timing"]).unwrap();
        assert_eq!(timing.timeout.timeout, Duration::from_secs(10));
    }
}
