//! The admin API (talk 002's `api.py`, slides "Build the chat server API"): Twisted Web
//! resources that read and change the chat's state, served from the same process as the chat.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | a page of two links |
//! | `GET /users/` | `{"users": N}`, the number of connected users |
//! | `GET /banner/` | `{"banner": "..."}`, what new users are greeted with |
//! | `POST /banner/` | sets the banner from a JSON body `{"banner": "..."}` |
//!
//! The GET answers are the original's bytes (Python's `json.dumps` with four-space indents), sent
//! as `application/json` rather than Twisted's default `text/html`. `POST /banner/` answers
//! `{"status": "SUCCESS"}` at once and changes the banner a tenth of a second later: the slide's
//! `deferLater` lesson, kept. Unlike the original, it checks everything before it says SUCCESS
//! (any Unicode banner is fine; anything else is a `400` with a reason), so a SUCCESS is never a
//! change that will not happen.
//!
//! With a token (`--api-token`), every request must carry `Authorization: Bearer TOKEN`.

use std::rc::{Rc, Weak};
use std::time::Duration;

use common::defer::{Failure, defer_later};
use common::log;
use common::reactor::Reactor;
use common::web::client::Bytes;
use common::web::{Children, Render, RenderResult, Request, Resource};
use http::{Method, StatusCode};
use serde_json::Value;

use super::chat::Chat;
use super::text::{json_string, log_text, pretty_object};

/// The root page's body, byte for byte the original's (eight spaces of indentation included).
const ROOT_PAGE: &str = "<html><body>\n        <a href=\"/banner\">Banner</a><br />\n        \
                         <a href=\"/users\">Users</a><br />\n        </body></html>\n        ";

/// The answer to a banner that will be set.
const SUCCESS: &str = r#"{"status": "SUCCESS"}"#;

/// How the API is run: who may use it and how long a new banner waits.
pub struct ApiSettings {
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// How long after a `POST /banner/` the banner changes.
    pub banner_delay: Duration,
}

/// What every resource of the API shares.
struct Api {
    chat: Rc<Chat>,
    reactor: Reactor,
    settings: ApiSettings,
}

impl Api {
    /// `Some(answer)` when the request may not use the API: no token, or the wrong one.
    fn refuse(&self, request: &Request) -> Option<Render> {
        let token = self.settings.token.as_deref()?;
        let given = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "));
        if given.is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes())) {
            return None;
        }
        let _ = request.set_header("WWW-Authenticate", "Bearer realm=\"catchat\"");
        Some(error_answer(
            request,
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required",
        ))
    }
}

/// Compares two secrets in a time that depends on their lengths only, not on where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// Sets the JSON type on `request` and gives `body` as its answer.
fn json_answer(request: &Request, body: impl Into<Bytes>) -> Render {
    let _ = request.set_header("Content-Type", "application/json");
    Render::Body(body.into())
}

/// An error answer: `code` and `{"status": "ERROR", "reason": "..."}`.
fn error_answer(request: &Request, code: StatusCode, reason: &str) -> Render {
    request.set_response_code(code);
    let body = format!(
        "{{\"status\": \"ERROR\", \"reason\": {}}}",
        json_string(reason)
    );
    json_answer(request, body)
}

/// The API's tree: a root with the children `banner` and `users`.
pub fn api_root(chat: Rc<Chat>, reactor: &Reactor, settings: ApiSettings) -> Rc<dyn Resource> {
    let api = Rc::new(Api {
        chat,
        reactor: reactor.clone(),
        settings,
    });
    Rc::new_cyclic(|this| {
        let children = Children::default();
        children.put("banner", Rc::new(Banner(Rc::clone(&api))));
        children.put("users", Rc::new(Users(Rc::clone(&api))));
        Root {
            this: this.clone(),
            children,
            api,
        }
    })
}

/// The root: a page of links, and the two children.
struct Root {
    /// The root itself, to answer the empty segments of `/` and `//`.
    this: Weak<Root>,
    children: Children,
    api: Rc<Api>,
}

impl Resource for Root {
    fn children(&self) -> Option<&Children> {
        Some(&self.children)
    }

    /// An empty segment (`/`, `//`) is the root again, as in the original's tree.
    fn get_child(&self, name: &str, _request: &Request) -> Option<Rc<dyn Resource>> {
        if name.is_empty() {
            return self.this.upgrade().map(|root| root as Rc<dyn Resource>);
        }
        None
    }

    fn render_get(&self, request: &Request) -> RenderResult {
        if let Some(refused) = self.api.refuse(request) {
            return Ok(refused);
        }
        Ok(Render::body(ROOT_PAGE))
    }
}

/// `/users/`: how many users are connected. A leaf: `/users`, `/users/x/y` are the same.
struct Users(Rc<Api>);

impl Resource for Users {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, request: &Request) -> RenderResult {
        if let Some(refused) = self.0.refuse(request) {
            return Ok(refused);
        }
        let Some(counting) = self.0.chat.total_users() else {
            let count = self.0.chat.user_count();
            return Ok(json_answer(
                request,
                pretty_object("users", &count.to_string()),
            ));
        };
        // Shared through Redis: every server's users, counted there.
        let request = request.clone();
        tokio::task::spawn_local(async move {
            let body = pretty_object("users", &counting.await.to_string());
            if !request.is_lost() {
                let _ = request.set_header("Content-Type", "application/json");
                let _ = request.set_header("Content-Length", &body.len().to_string());
                request.write(body.as_bytes());
                request.finish();
            }
        });
        Ok(Render::NotDoneYet)
    }
}

/// `/banner/`: the banner, read and set. A leaf as well.
struct Banner(Rc<Api>);

impl Resource for Banner {
    fn is_leaf(&self) -> bool {
        true
    }

    fn allowed_methods(&self) -> &[Method] {
        &[Method::GET, Method::POST]
    }

    fn render_get(&self, request: &Request) -> RenderResult {
        if let Some(refused) = self.0.refuse(request) {
            return Ok(refused);
        }
        let banner = self.0.chat.banner();
        Ok(json_answer(
            request,
            pretty_object("banner", &json_string(&banner)),
        ))
    }

    /// Checks the new banner now, answers, and sets it a moment later (`deferLater`): the
    /// request is done before the change is made, which is the slide's point.
    fn render_post(&self, request: &Request) -> RenderResult {
        if let Some(refused) = self.0.refuse(request) {
            return Ok(refused);
        }
        let banner = match banner_of(request.content()) {
            Ok(banner) => banner,
            Err(problem) => {
                log::msg(problem.log_line(request.content()));
                return Ok(error_answer(
                    request,
                    StatusCode::BAD_REQUEST,
                    problem.reason(),
                ));
            }
        };
        if self.0.chat.cut_off() {
            return Ok(error_answer(
                request,
                StatusCode::SERVICE_UNAVAILABLE,
                "the servers' shared state (Redis) cannot be reached",
            ));
        }
        let chat = Rc::clone(&self.0.chat);
        let setting = defer_later(&self.0.reactor, self.0.settings.banner_delay, move || {
            chat.change_banner(&banner);
            Ok::<(), Failure>(())
        });
        setting.add_errback(|failure| {
            log::err(failure.report());
            Ok(())
        });
        Ok(json_answer(request, SUCCESS))
    }
}

/// What can be wrong with the body of a `POST /banner/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadBanner {
    NotJson,
    NotAnObject,
    NoBanner,
    NotAString,
}

impl BadBanner {
    /// What the client is told.
    fn reason(self) -> &'static str {
        match self {
            BadBanner::NotJson => "the body is not valid JSON",
            BadBanner::NotAnObject => "the body is not a JSON object",
            BadBanner::NoBanner => "the object has no banner",
            BadBanner::NotAString => "the banner is not a string",
        }
    }

    /// What the log says (the first two lines are the original's).
    fn log_line(self, body: &[u8]) -> String {
        match self {
            BadBanner::NotJson => {
                let shown = &body[..body.len().min(200)];
                format!("Unable to parse JSON: {}", log_text(shown))
            }
            BadBanner::NoBanner => "Data does not contain banner".to_owned(),
            BadBanner::NotAnObject => "The banner request is not a JSON object".to_owned(),
            BadBanner::NotAString => "The banner sent is not a string".to_owned(),
        }
    }
}

/// The banner that a `POST /banner/` body asks for, ending in CR LF as the original made every
/// banner end (`"Be nice!"` becomes `Be nice!\r\n`; `"Rules:\r\n"` stays as it is).
fn banner_of(body: &[u8]) -> Result<String, BadBanner> {
    let value: Value = serde_json::from_slice(body).map_err(|_| BadBanner::NotJson)?;
    let Value::Object(object) = value else {
        return Err(BadBanner::NotAnObject);
    };
    match object.get("banner") {
        None => Err(BadBanner::NoBanner),
        Some(Value::String(banner)) if banner.ends_with("\r\n") => Ok(banner.clone()),
        Some(Value::String(banner)) => Ok(format!("{banner}\r\n")),
        Some(_) => Err(BadBanner::NotAString),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_page_is_the_originals_128_bytes() {
        assert_eq!(ROOT_PAGE.len(), 128);
    }

    #[test]
    fn banners_end_in_crlf_and_the_rest_is_refused() {
        assert_eq!(
            banner_of(br#"{"banner": "Be nice!"}"#).unwrap(),
            "Be nice!\r\n"
        );
        assert_eq!(
            banner_of(br#"{"banner": "Rules:\r\n"}"#).unwrap(),
            "Rules:\r\n"
        );
        assert_eq!(banner_of(br#"{"banner": "Line\n"}"#).unwrap(), "Line\n\r\n");
        assert_eq!(banner_of(br#"{"banner": ""}"#).unwrap(), "\r\n");
        assert_eq!(
            banner_of(r#"{"banner": "Café ouvert"}"#.as_bytes()).unwrap(),
            "Café ouvert\r\n"
        );
        assert_eq!(banner_of(b""), Err(BadBanner::NotJson));
        assert_eq!(banner_of(b"\xff"), Err(BadBanner::NotJson));
        assert_eq!(banner_of(b"[1]"), Err(BadBanner::NotAnObject));
        assert_eq!(banner_of(b"\"x\""), Err(BadBanner::NotAnObject));
        assert_eq!(banner_of(br#"{"x": 1}"#), Err(BadBanner::NoBanner));
        assert_eq!(banner_of(br#"{"banner": 42}"#), Err(BadBanner::NotAString));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3creT", b"s3cret"));
    }
}
