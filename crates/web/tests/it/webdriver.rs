//! A small W3C WebDriver client for the browser tests: headless Chromium driven by
//! chromedriver over plain HTTP and JSON (WebDriver is no more than that), with the
//! HTTP client the tests use already.
//!
//! A test that needs a browser gets `None` when chromedriver is not installed, unless
//! `CARELOOP_TEST_REQUIRE_BROWSER` is set (as CI sets it): then it fails.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

const REQUIRE_BROWSER: &str = "CARELOOP_TEST_REQUIRE_BROWSER";
/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless browser and the chromedriver that drives it. [`Browser::quit`] closes the
/// browser; dropped without it (a test that failed), the driver and every process it
/// started are ended together.
pub struct Browser {
    driver: Child,
    base: String,
    client: reqwest::Client,
}

fn env(name: &str) -> Option<String> {
    #[expect(clippy::disallowed_methods, reason = "tests read their own switches")]
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn installed(program: &str) -> Option<PathBuf> {
    let path = env("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

impl Browser {
    /// A new session in a new browser; `None` when there is no chromedriver here.
    pub async fn start() -> Option<Self> {
        let Some(chromedriver) = installed("chromedriver") else {
            assert!(
                env(REQUIRE_BROWSER).is_none(),
                "{REQUIRE_BROWSER} is set but chromedriver is not installed"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            // A group of its own, with the browser it starts, to end them together.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let binary = installed("chromium").map(|p| p.display().to_string());
        let mut options = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1200,900",
        ]});
        if let Some(binary) = binary {
            options["binary"] = json!(binary);
        }
        let created: Value = client
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options,
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"));
        let browser = Self {
            base: format!("{base}/session/{session}"),
            driver,
            client,
        };
        // Looking for an element waits for it a while: a page that is still loading
        // after a click is not a failure.
        browser
            .call(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"implicit": 5_000})),
            )
            .await;
        Some(browser)
    }

    /// The driver's answer, an error or not.
    async fn answer(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let value = self.answer(method, path, body).await;
        assert!(value.get("error").is_none(), "{path}: {value}");
        value
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits for the page to be one whose URL ends with `suffix` (a click that posts a
    /// form returns before the next page has loaded); fails after ten seconds.
    pub async fn wait_for(&self, suffix: &str) {
        for _ in 0..200 {
            if self.url().await.ends_with(suffix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the browser is at {}, not …{suffix}", self.url().await);
    }

    /// Waits for the element `css` selects to show `expected` (a page changing itself
    /// on a server-sent event); fails after ten seconds, without reloading anything.
    pub async fn wait_text(&self, css: &str, expected: &str) {
        for _ in 0..200 {
            if self
                .current_text(css)
                .await
                .is_some_and(|text| text.contains(expected))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never showed the text expected");
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Types `text` into the field `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// The visible text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The text of the element `css` selects as the page is now; `None` when a live
    /// update swapped the element out between finding it and reading it.
    async fn current_text(&self, css: &str) -> Option<String> {
        let id = self.element(css).await;
        let value = self
            .answer(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await;
        if value["error"] == "stale element reference" {
            return None;
        }
        assert!(value.get("error").is_none(), "{css}: {value}");
        Some(value.as_str().unwrap().to_owned())
    }

    /// Saves a screenshot of the page as `target/screenshots/<name>.png`, kept after
    /// the test as its record.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Browser {
    /// Ends the session, which closes the browser.
    pub async fn quit(self) {
        let _ = self.client.delete(&self.base).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}
