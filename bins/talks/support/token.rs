//! The admin API's bearer token on the command line: `--api-token TOKEN`, or
//! `--api-token-file FILE` to keep it out of the list of processes.
//!
//! Shared by `catchat` (which asks for the token) and `catchat-dashboard` (which sends it), and by
//! poetryd's plugins of both. Included with `#[path]`; not a program itself.

use std::path::PathBuf;

use clap::Args;
use common::cli::output::plain_error;

/// `--api-token` and `--api-token-file`.
#[derive(Debug, Clone, Args)]
pub struct TokenOptions {
    /// The admin API's bearer token (`Authorization: Bearer TOKEN`). On the command line it shows
    /// in the list of processes: --api-token-file keeps it out of there.
    #[arg(long, value_name = "TOKEN", conflicts_with = "api_token_file")]
    pub api_token: Option<String>,

    /// The same, read from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
}

impl TokenOptions {
    /// The token given, if any; an error (one line, for a usage error) when the file cannot be
    /// read or the token is empty or holds a space or a control character.
    pub fn token(&self) -> Result<Option<String>, String> {
        let token = match (&self.api_token, &self.api_token_file) {
            (Some(token), _) => token.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    format!(
                        "cannot read the token file {}: {}",
                        path.display(),
                        plain_error(&error)
                    )
                })?;
                text.lines().next().unwrap_or("").trim().to_owned()
            }
            (None, None) => return Ok(None),
        };
        if token.is_empty() || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err("the API token must be printable text with no spaces".to_owned());
        }
        Ok(Some(token))
    }
}
