//! The options of the programs that fetch over HTTP (talk 001's page fetchers, talk 002's GitHub
//! examples): how long to wait, and which extra certificate authority to trust.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::duration::parse_timeout;
use super::output::plain_error;
use crate::web::client::AgentBuilder;

/// `--timeout` and `--cacert`, turned into the HTTP client's settings by
/// [`settings`](HttpOptions::settings).
#[derive(Debug, Clone, Args)]
pub struct HttpOptions {
    /// Give up on an answer that has not fully arrived after this long: seconds (5) or with a
    /// unit (500ms). Without it, as in the courses, an answer may take as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Also trust the certificate authority (or authorities) in FILE, PEM, for HTTPS, beside the
    /// system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

impl HttpOptions {
    /// The settings of the HTTP client these options ask for. The error, a certificate file that
    /// cannot be read or holds no certificate, is a sentence for the user.
    pub fn settings(&self) -> Result<AgentBuilder, String> {
        let mut settings = AgentBuilder::new();
        if let Some(timeout) = self.timeout {
            settings = settings.timeout(timeout);
        }
        if let Some(path) = &self.cacert {
            let pem = std::fs::read(path).map_err(|error| {
                format!(
                    "cannot read the certificate {}: {}",
                    path.display(),
                    plain_error(&error)
                )
            })?;
            settings = settings
                .add_root_certificate_pem(&pem)
                .map_err(|failure| format!("{}: {}", path.display(), failure.error()))?;
        }
        Ok(settings)
    }
}

/// Accepts a URL whose scheme the HTTP client speaks (`http://`, `https://`); anything else is a
/// usage error. Meant as a clap `value_parser`.
pub fn parse_url(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(text.to_owned())
    } else {
        Err(format!("'{text}' is not an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https() {
        assert_eq!(parse_url("HTTP://python.org").unwrap(), "HTTP://python.org");
        assert!(parse_url("https://api.github.com").is_ok());
        assert_eq!(
            parse_url("python.org").unwrap_err(),
            "'python.org' is not an http:// or https:// URL"
        );
    }

    #[test]
    fn a_certificate_file_must_exist_and_hold_a_certificate() {
        let missing = HttpOptions {
            timeout: None,
            cacert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        assert_eq!(
            missing.settings().unwrap_err(),
            "cannot read the certificate /nonexistent/ca.pem: No such file or directory"
        );
        let no_certificate = HttpOptions {
            timeout: Some(Duration::from_secs(1)),
            cacert: Some(PathBuf::from("Cargo.toml")),
        };
        let error = no_certificate.settings().unwrap_err();
        assert!(error.starts_with("Cargo.toml: "), "{error}");
    }
}
