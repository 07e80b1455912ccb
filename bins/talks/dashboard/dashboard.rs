//! The admin dashboard's pages (talk 002, "Now serve it using Flask"): a separate web service
//! that knows nothing of the chat but its HTTP API.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | the page: the user count, the banner, a form to set it |
//! | `POST /set_banner/` | asks the API to set the banner (form field `banner`), then back to `/` |
//! | `GET /state.json` | the count and banner as JSON, which the page's script polls |
//! | `GET /static/style.css`, `/static/live.js` | the page's stylesheet and script |
//!
//! Each page asks the API as it is rendered (the talk's `requests` calls, here with the project's
//! HTTP client on the reactor, so that a slow API holds up no other request). The template is
//! rendered by minijinja with HTML auto-escaping, so a banner is always shown as text: a banner
//! of `<script>…` is five characters of markup on the screen, not a script.

use std::rc::Rc;
use std::time::Duration;

use common::cli::duration::parse_timeout;
use common::cli::http::parse_url;
use common::web::site::{DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_HEAD};
use common::web::{Branch, Data, Render, RenderResult, Request, Resource, Site};
use http::{Method, StatusCode};
use minijinja::{Environment, context};

use super::api_client::ApiClient;
use super::token::TokenOptions;

/// The largest form the dashboard reads.
const MAX_FORM: usize = 64 * 1024;

/// How long the dashboard waits, after the API accepted a banner, to see it applied before it
/// sends the browser back to the page (the API applies it a tenth of a second later).
const APPLY_WAIT: Duration = Duration::from_secs(1);

/// Which API the dashboard administers, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct DashboardOptions {
    /// The chat server's admin API.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080", value_parser = parse_url)]
    pub api: String,

    #[command(flatten)]
    pub token: TokenOptions,

    /// How long to wait for the API before the page says it is not answering.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_timeout)]
    pub api_timeout: Duration,
}

impl DashboardOptions {
    /// The dashboard these options describe; an error (one line, for a usage error) when the
    /// token cannot be read or the HTTP client cannot be set up.
    pub fn dashboard(&self) -> Result<Rc<Dashboard>, String> {
        let token = self.token.token()?;
        let api = ApiClient::new(&self.api, token, self.api_timeout)?;
        Ok(Dashboard::new(api))
    }
}

/// The dashboard's site: its tree, and a small limit on request bodies (a form of one field).
pub fn site(dashboard: Rc<Dashboard>) -> Site {
    Site::with_limits(
        dashboard_root(dashboard),
        MAX_FORM,
        DEFAULT_MAX_HEAD,
        DEFAULT_HEADER_TIMEOUT,
    )
}

/// What every page of the dashboard shares.
pub struct Dashboard {
    api: ApiClient,
    templates: Environment<'static>,
}

/// What the API said, or why it could not be asked.
struct State {
    users: Option<u64>,
    banner: Option<String>,
    /// A sentence for the page when something went wrong.
    problem: Option<String>,
}

impl Dashboard {
    /// The dashboard of the API that `api` talks to.
    pub fn new(api: ApiClient) -> Rc<Dashboard> {
        let mut templates = Environment::new();
        // The name ends in .html: minijinja escapes every value put in it.
        templates
            .add_template("index.html", include_str!("templates/index.html"))
            .expect("the page's template is valid");
        Rc::new(Dashboard { api, templates })
    }

    /// Asks the API for the user count and the banner, both at once.
    async fn state(&self) -> State {
        let (users, banner) = tokio::join!(self.api.user_count(), self.api.banner());
        let problem = users.as_ref().err().or(banner.as_ref().err()).map(|why| {
            format!(
                "The chat's API at {} could not be used: {why}",
                self.api.base()
            )
        });
        State {
            users: users.ok(),
            banner: banner.ok(),
            problem,
        }
    }

    /// The page, with `state` and the outcome of the last banner change, if it failed.
    fn page(&self, state: &State, refused: Option<&str>) -> Result<String, minijinja::Error> {
        let unknown = || "unknown".to_owned();
        self.templates.get_template("index.html")?.render(context! {
            users => state.users.map_or_else(unknown, |count| count.to_string()),
            banner => state.banner.clone().unwrap_or_else(unknown),
            problem => state.problem.clone(),
            refused => refused,
        })
    }
}

/// The dashboard's tree.
pub fn dashboard_root(dashboard: Rc<Dashboard>) -> Rc<dyn Resource> {
    let root = Branch::new();
    root.put_child("", Rc::new(Page(Rc::clone(&dashboard))));
    root.put_child("set_banner", Rc::new(SetBanner(Rc::clone(&dashboard))));
    root.put_child("state.json", Rc::new(StateJson(dashboard)));
    let assets = Branch::new();
    assets.put_child(
        "style.css",
        Rc::new(Data::new(
            include_str!("static/style.css"),
            "text/css; charset=utf-8",
        )),
    );
    assets.put_child(
        "live.js",
        Rc::new(Data::new(
            include_str!("static/live.js"),
            "text/javascript; charset=utf-8",
        )),
    );
    root.put_child("static", Rc::new(assets));
    Rc::new(root)
}

/// Sends a whole answer to a request that was left "not done yet", unless its client has gone.
fn answer(request: &Request, code: StatusCode, content_type: &str, body: &[u8]) {
    if request.is_lost() {
        return;
    }
    request.set_response_code(code);
    let _ = request.set_header("Content-Type", content_type);
    let _ = request.set_header("Content-Length", &body.len().to_string());
    let _ = request.set_header("Cache-Control", "no-store");
    request.write(body);
    request.finish();
}

/// `/`: the page.
struct Page(Rc<Dashboard>);

impl Resource for Page {
    fn render_get(&self, request: &Request) -> RenderResult {
        let (dashboard, request) = (Rc::clone(&self.0), request.clone());
        tokio::task::spawn_local(async move {
            let state = dashboard.state().await;
            let refused = request.arg("refused").map(str::to_owned);
            match dashboard.page(&state, refused.as_deref()) {
                Ok(page) => {
                    // Scripts and styles from this site only: nothing else may run in the page.
                    let _ = request.set_header("Content-Security-Policy", "default-src 'self'");
                    answer(
                        &request,
                        StatusCode::OK,
                        "text/html; charset=utf-8",
                        page.as_bytes(),
                    );
                }
                Err(error) => {
                    common::log::err(format!("rendering the page: {error}"));
                    answer(
                        &request,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain; charset=utf-8",
                        b"The page could not be rendered.\n",
                    );
                }
            }
        });
        Ok(Render::NotDoneYet)
    }
}

/// `/state.json`: what the page's script polls.
struct StateJson(Rc<Dashboard>);

impl Resource for StateJson {
    fn render_get(&self, request: &Request) -> RenderResult {
        let (dashboard, request) = (Rc::clone(&self.0), request.clone());
        tokio::task::spawn_local(async move {
            let state = dashboard.state().await;
            let body = serde_json::json!({
                "users": state.users,
                "banner": state.banner,
                "problem": state.problem,
            });
            answer(
                &request,
                StatusCode::OK,
                "application/json",
                body.to_string().as_bytes(),
            );
        });
        Ok(Render::NotDoneYet)
    }
}

/// `/set_banner/`: the form's target.
struct SetBanner(Rc<Dashboard>);

impl Resource for SetBanner {
    fn is_leaf(&self) -> bool {
        true
    }

    fn allowed_methods(&self) -> &[Method] {
        &[Method::POST]
    }

    /// Asks the API for the banner in the form's `banner` field (or the query's, as Flask's
    /// `request.values`; missing is empty), waits until the change shows, and sends the browser
    /// back to the page: with the reason when the API refused it.
    fn render_post(&self, request: &Request) -> RenderResult {
        let banner = form_field(request, "banner").unwrap_or_default();
        let (dashboard, request) = (Rc::clone(&self.0), request.clone());
        tokio::task::spawn_local(async move {
            let target = match dashboard.api.set_banner(&banner).await {
                Ok(()) => {
                    wait_until_applied(&dashboard.api, &banner).await;
                    "/".to_owned()
                }
                Err(why) => {
                    let query: String = form_urlencoded::Serializer::new(String::new())
                        .append_pair("refused", &format!("the chat's API {why}"))
                        .finish();
                    format!("/?{query}")
                }
            };
            let _ = request.set_header("Location", &target);
            answer(
                &request,
                StatusCode::FOUND,
                "text/html; charset=utf-8",
                b"<!doctype html>\n<title>Back to the dashboard</title>\n<p>The dashboard is \
                  <a href=\"/\">here</a>.</p>\n",
            );
        });
        Ok(Render::NotDoneYet)
    }
}

/// The first value of `name` in a form body (`application/x-www-form-urlencoded`), else in the
/// query string.
fn form_field(request: &Request, name: &str) -> Option<String> {
    form_urlencoded::parse(request.content())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .or_else(|| request.arg(name).map(str::to_owned))
}

/// Waits (a second at most) until the API shows `banner` as set: it applies a change a moment
/// after it accepts it, and the page the browser is sent back to should show the new one.
async fn wait_until_applied(api: &ApiClient, banner: &str) {
    // The API ends every banner with CR LF.
    let expected = if banner.ends_with("\r\n") {
        banner.to_owned()
    } else {
        format!("{banner}\r\n")
    };
    let deadline = tokio::time::Instant::now() + APPLY_WAIT;
    while tokio::time::Instant::now() < deadline {
        if api.banner().await.is_ok_and(|current| current == expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
