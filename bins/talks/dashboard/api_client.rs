//! The dashboard's side of the chat's admin API (the slides' "API client code": `get_user_count`,
//! `get_banner`, `set_banner`), with the project's HTTP client where the talk used `requests`.
//!
//! The talk caught every exception and returned `None`, which the page then showed as the text
//! `None`; an answer that was not JSON crashed the page. Here each call gives either its value or
//! one sentence saying what went wrong (the API cannot be reached, refused the token, answered
//! something that is not what it should), for the page to show.

use std::time::Duration;

use common::web::client::{Agent, AgentBuilder, Request, error_line};
use serde_json::Value;

/// The largest answer the dashboard reads from the API: its answers are a few dozen bytes, and a
/// banner is at most what the API accepts.
const MAX_ANSWER: usize = 1 << 20;

/// Talks to the admin API at one address, with its token if it needs one.
pub struct ApiClient {
    agent: Agent,
    base: String,
    token: Option<String>,
}

impl ApiClient {
    /// A client of the API at `base` (`http://127.0.0.1:8080`); each call gives up after
    /// `timeout`. Fails when the HTTP client cannot be set up.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<ApiClient, String> {
        let agent = AgentBuilder::new()
            .timeout(timeout)
            .follow_redirects(false)
            .max_body_size(MAX_ANSWER)
            .build()
            .map_err(|failure| error_line(&failure))?;
        Ok(ApiClient {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Where the API is, for the messages that name it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `method` of `path` on the API, with the token.
    fn request(&self, method: &str, path: &str) -> Request {
        let request = Request::new(method, &format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// Sends `request` and reads its JSON answer, whatever the status; an error sentence when
    /// no answer came or it is not JSON.
    async fn exchange(&self, request: Request) -> Result<(u16, Value), String> {
        let response = self
            .agent
            .send(request)
            .await
            .map_err(|failure| format!("cannot reach it: {}", error_line(&failure)))?;
        let (code, phrase) = (response.code(), response.phrase());
        let body = response
            .body()
            .await
            .map_err(|failure| format!("its answer was cut short: {}", error_line(&failure)))?;
        match serde_json::from_slice(&body) {
            Ok(value) => Ok((code, value)),
            Err(_) if code == 200 => Err("it answered something that is not JSON".to_owned()),
            Err(_) => Err(format!("it answered {code} {phrase}")),
        }
    }

    /// The JSON answer of a GET of `path`, which must be a 200.
    async fn get(&self, path: &str) -> Result<Value, String> {
        match self.exchange(self.request("GET", path)).await? {
            (200, value) => Ok(value),
            (code, value) => Err(refusal(code, &value)),
        }
    }

    /// How many users the chat has (`GET /users/`).
    pub async fn user_count(&self) -> Result<u64, String> {
        let answer = self.get("/users/").await?;
        answer["users"]
            .as_u64()
            .ok_or_else(|| "its answer has no user count".to_owned())
    }

    /// The chat's banner (`GET /banner/`).
    pub async fn banner(&self) -> Result<String, String> {
        let answer = self.get("/banner/").await?;
        answer["banner"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "its answer has no banner".to_owned())
    }

    /// Asks for a new banner (`POST /banner/`); `Ok` once the API has said SUCCESS, else what
    /// it said instead.
    pub async fn set_banner(&self, banner: &str) -> Result<(), String> {
        let body = serde_json::json!({ "banner": banner }).to_string();
        let request = self
            .request("POST", "/banner/")
            .header("Content-Type", "application/json")
            .body(body);
        match self.exchange(request).await? {
            (200, value) if value["status"] == "SUCCESS" => Ok(()),
            (code, value) => Err(refusal(code, &value)),
        }
    }
}

/// What an answer other than the expected one says: the API's reason if it gave one.
fn refusal(code: u16, answer: &Value) -> String {
    match answer["reason"].as_str() {
        Some(reason) => format!("it answered {code}: {reason}"),
        None => format!("it answered {code}"),
    }
}
