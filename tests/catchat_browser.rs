//! The dashboard in a real browser: Chromium, headless, driven through WebDriver (chromedriver,
//! with the fantoccini crate), against a real `catchat` and `catchat-dashboard`.
//!
//! It reads the user count with two chat users connected, sets a banner with the form and sees
//! it on the page, sees a third chat user greeted with it, watches the count change on the open
//! page without a reload, and checks that a `<script>` banner is shown as text and never runs.
//!
//! Chromium and chromedriver come from Debian's packages (`scripts/ci/install-deps.sh`); without
//! them the test says so and passes.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{Listening, closed_port};

const WAIT: Duration = Duration::from_secs(20);

/// A chromedriver of the test's own, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `command` is on this machine.
fn installed(command: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {command}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Starts chromedriver on a free port and opens a headless Chromium session through it.
async fn browser() -> (Driver, Client) {
    let port = closed_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session");
    (driver, client)
}

/// The text of the element with this id, as the browser shows it.
async fn text_of(browser: &Client, id: &str) -> String {
    // textContent, not the rendered text: the banner's CR LF and spaces are kept.
    let script = format!("return document.getElementById('{id}').textContent;");
    let text = browser.execute(&script, vec![]).await.unwrap();
    text.as_str()
        .unwrap_or_else(|| panic!("no #{id}"))
        .to_owned()
}

/// Waits until the element with this id holds `expected`.
async fn wait_for_text(browser: &Client, id: &str, expected: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = text_of(browser, id).await;
        if text == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} says {text:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `banner` into the form and submits it; the browser lands on the page again.
async fn submit_banner(browser: &Client, banner: &str) {
    let field = browser.find(Locator::Id("new-banner")).await.unwrap();
    field.send_keys(banner).await.unwrap();
    browser
        .find(Locator::Id("set-banner"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A chat user, greeted with `banner`.
fn join(chat: u16, banner: &[u8]) -> TcpStream {
    let mut user = TcpStream::connect(("127.0.0.1", chat)).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    let mut greeting = vec![0; banner.len()];
    user.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting, banner);
    user
}

#[tokio::test]
async fn the_dashboard_works_in_a_real_browser() {
    if !installed("chromedriver") || !installed("chromium") {
        eprintln!(
            "SKIPPED: chromium and chromedriver are not installed (scripts/ci/install-deps.sh \
             installs them)"
        );
        return;
    }
    let catchat = Listening::start("catchat", &["--chat", "tcp:0", "--api", "tcp:0"], 2);
    let chat = catchat.port(0);
    let api = format!("http://127.0.0.1:{}", catchat.port(1));
    let dashboard = Listening::start("catchat-dashboard", &["--port", "0", "--api", &api], 1);
    let page = format!("http://127.0.0.1:{}/", dashboard.port(0));

    let _first = join(chat, b"Welcome to NetCatChat!\r\n");
    let _second = join(chat, b"Welcome to NetCatChat!\r\n");
    let (_driver, browser) = browser().await;
    browser.goto(&page).await.unwrap();
    assert_eq!(text_of(&browser, "user-count").await, "2");
    assert_eq!(
        text_of(&browser, "banner").await,
        "Welcome to NetCatChat!\n"
    );
    // The stylesheet the page links to is there and applies.
    let border = browser
        .execute(
            "return getComputedStyle(document.getElementById('banner')).borderLeftStyle;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(border, Value::from("solid"));

    // The form sets the banner, and the page the browser comes back to shows it.
    submit_banner(&browser, "Hello from the browser").await;
    wait_for_text(&browser, "banner", "Hello from the browser\n").await;
    assert_eq!(browser.current_url().await.unwrap().as_str(), page);
    let _third = join(chat, b"Hello from the browser\r\n");

    // The count changes on the open page, with no reload: a mark left on the page stays.
    browser
        .execute("window.sameDocument = true; return true;", vec![])
        .await
        .unwrap();
    wait_for_text(&browser, "user-count", "3").await;
    let _fourth = join(chat, b"Hello from the browser\r\n");
    wait_for_text(&browser, "user-count", "4").await;
    let same = browser
        .execute("return window.sameDocument === true;", vec![])
        .await;
    assert_eq!(same.unwrap(), Value::Bool(true), "the page was reloaded");

    // A banner of markup is text on the page, and its script never runs.
    let script = "<script>window.pwned = true;</script><b>bold</b>";
    submit_banner(&browser, script).await;
    wait_for_text(&browser, "banner", &format!("{script}\n")).await;
    let pwned = browser
        .execute("return window.pwned === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, Value::Bool(true), "the banner's script ran");
    let bold = browser.find_all(Locator::Css("#banner b")).await.unwrap();
    assert!(bold.is_empty(), "the banner's markup became elements");

    browser.close().await.unwrap();
}
