//! What talk 002's three GitHub examples share unchanged (`github-orgs`, `github-repos` and the
//! blocking `github-repos-blocking`): the command line (a user, the API's address, a token), the
//! two URLs they ask for, and reading GitHub's JSON answers into sorted names.
//!
//! Included by each of them with `#[path]`; not a program itself. How each one chains its requests
//! (one, then many at once with a DeferredList, then one after another without a reactor) stays in
//! its own file.

#![allow(dead_code)] // the blocking example has no Agent

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

use clap::Args;
use common::cli::http::{HttpOptions, parse_url};
use common::cli::output::report_error;
use common::defer::Failure;
use common::web::client::{AgentBuilder, Request};
use serde::Deserialize;

/// The command line of the GitHub examples.
#[derive(Debug, Args)]
pub struct GitHub {
    /// The GitHub user whose organisations to list (the talk's is its speaker's).
    #[arg(value_name = "USER", default_value = "clokep", value_parser = parse_login)]
    pub user: String,

    /// Where GitHub's API answers: the real one by default (HTTPS), or an imitation for tests.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.github.com",
        value_parser = parse_url
    )]
    pub api: String,

    /// A GitHub token, sent as `Authorization: Bearer TOKEN`: GitHub answers sixty requests an
    /// hour without one.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    #[command(flatten)]
    pub http: HttpOptions,
}

impl GitHub {
    /// The HTTP client's settings; a certificate that cannot be used is a usage error, reported,
    /// and the status to exit with (2) returned.
    pub fn settings(&self) -> Result<AgentBuilder, ExitCode> {
        self.http.settings().map_err(|error| {
            report_error(error);
            ExitCode::from(2)
        })
    }

    /// `<api>/users/<user>/orgs`: the user's organisations.
    pub fn orgs_url(&self) -> String {
        format!("{}/users/{}/orgs", self.api_base(), self.user)
    }

    /// `<api>/orgs/<login>/repos`: an organisation's repositories. The login came from the API's
    /// answer, so it is escaped: whatever it holds, it stays one segment of the path.
    pub fn repos_url(&self, login: &str) -> String {
        format!("{}/orgs/{}/repos", self.api_base(), escape_segment(login))
    }

    /// A GET of `url`, with GitHub's media type and the token, if any.
    pub fn request(&self, url: &str) -> Request {
        let request = Request::get(url).header("Accept", "application/vnd.github+json");
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    fn api_base(&self) -> &str {
        self.api.trim_end_matches('/')
    }
}

/// A GitHub login: letters, digits and hyphens.
fn parse_login(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
    if !text.is_empty() && text.chars().all(allowed) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not a GitHub login (letters, digits and hyphens)"
        ))
    }
}

/// `text` as one segment of a URL's path: every byte but letters, digits and `-._~`
/// percent-encoded.
fn escape_segment(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

/// An answer that is not the JSON the example expects: not JSON at all (an HTML page), or JSON of
/// another shape (GitHub's `{"message": "Not Found"}` where a list was expected). The talk's
/// Python fails there with `json.decoder.JSONDecodeError` or a `TypeError`.
#[derive(Debug)]
pub struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for JsonError {}

/// The one field of an organisation the examples read.
#[derive(Deserialize)]
struct Organisation {
    login: String,
}

/// The one field of a repository the examples read.
#[derive(Deserialize)]
struct Repository {
    name: String,
}

/// The logins of the organisations in `data`, sorted in code point order (upper case first, as
/// Python's `sorted`).
pub fn sorted_logins(data: &[u8]) -> Result<Vec<String>, Failure> {
    let organisations: Vec<Organisation> = parse(data)?;
    Ok(sorted(organisations.into_iter().map(|org| org.login)))
}

/// The names of the repositories in `data`, sorted in code point order.
pub fn sorted_repo_names(data: &[u8]) -> Result<Vec<String>, Failure> {
    let repositories: Vec<Repository> = parse(data)?;
    Ok(sorted(repositories.into_iter().map(|repo| repo.name)))
}

fn parse<T: for<'a> Deserialize<'a>>(data: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(data).map_err(|error| Failure::new(JsonError(error.to_string())))
}

/// Strings sorted by code point: Rust compares UTF-8 strings byte by byte, which is that order.
fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}
