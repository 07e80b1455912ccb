//! What the training's four URL proxies share (each includes this file with `#[path]`): their port
//! and options, which lines are URLs, and how a failed fetch ends a connection.
//!
//! All four speak the same little protocol. A client sends lines ending in CR LF; a line that
//! starts with the seven bytes `http://` is a URL, and the proxy answers it with the body of that
//! page (never its headers), then closes the connection. Any other line is ignored, without a word:
//! that is the protocol as the training wrote it. What each proxy teaches is how it gets the page
//! (blocking the reactor, with getPage, from a cache), and that stays in its own file.

#![allow(dead_code)] // the blocking proxy makes no Agent

use std::time::Duration;

use clap::Args;
use common::cli::duration::parse_timeout;
use common::cli::server::ListenOptions;
use common::defer::Failure;
use common::errln;
use common::web::client::{Agent, AgentBuilder, error_line};

/// The training's port.
pub(crate) const PORT: u16 = 8000;

/// What makes a line a URL to fetch.
const URL_PREFIX: &[u8] = b"http://";

/// Where a proxy listens, and how long it waits for a page.
#[derive(Debug, Args)]
pub(crate) struct ProxyOptions {
    #[command(flatten)]
    pub(crate) listen: ListenOptions,

    /// Give up on a page that has not fully arrived after this long: seconds (5) or with a unit
    /// (500ms). Without it, as in the training, a page may take as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub(crate) timeout: Option<Duration>,
}

impl ProxyOptions {
    /// The HTTP client that fetches the pages, with the `--timeout` asked for. Failing to make one
    /// (no TLS set-up on this machine, say) is one line on stderr: the program cannot start.
    pub(crate) fn agent(&self) -> Result<Agent, String> {
        let mut settings = AgentBuilder::new();
        if let Some(timeout) = self.timeout {
            settings = settings.timeout(timeout);
        }
        settings
            .build()
            .map_err(|failure| failure.error().to_string())
    }
}

/// The URL a line asks for, or `None` for a line the proxies ignore: one that does not start with
/// `http://` (`https://`, `HTTP://` and leading spaces included, as in the training), or one that is
/// not text, which no URL is.
pub(crate) fn requested_url(line: &[u8]) -> Option<&str> {
    if !line.starts_with(URL_PREFIX) {
        return None;
    }
    std::str::from_utf8(line).ok()
}

/// Says on stderr, in one line, why `url` could not be fetched: `failed to fetch
/// http://127.0.0.1:8080/nope: HttpError: 404 Not Found`. The connection that asked for it is
/// closed with nothing written, where the training's proxies crash the connection (proxy v1) or
/// leave the client waiting for ever (the getPage ones).
pub(crate) fn report_failure(url: &str, failure: &Failure) {
    errln!("failed to fetch {url}: {}", error_line(failure));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_that_start_with_http_are_urls() {
        assert_eq!(requested_url(b"http://a/b"), Some("http://a/b"));
        assert_eq!(requested_url(b"http://"), Some("http://"));
        for ignored in [
            &b"https://a/"[..],
            b"HTTP://a/",
            b" http://a/",
            b"",
            b"hello",
            b"http:/a",
            b"http://\xff",
        ] {
            assert_eq!(requested_url(ignored), None, "{ignored:?}");
        }
    }
}
