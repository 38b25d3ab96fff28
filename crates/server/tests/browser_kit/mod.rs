//! The browser tests' driver (`browser.rs`, `station_browser.rs`, `profile_browser.rs`):
//! Debian's chromium and chromium-driver (installed by `.ci/run`), driven over the W3C
//! WebDriver protocol, and the checks every screen gets (`check_page`: axe-core's WCAG
//! 2.1 A/AA rules, nothing wider than the screen, full-page screenshots under
//! `target/screenshots/`). Each test binary uses part of it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// A headless Chromium under its own chromedriver, in one WebDriver session.
pub struct Driver {
    child: Child,
    url: String,
    session: String,
    http: reqwest::Client,
    /// The browser's profile folder: it names every Chromium process of this driver.
    profile: std::path::PathBuf,
}

/// Ending the test ends the browser too: the WebDriver session is deleted (chromedriver
/// then quits Chromium), chromedriver is killed, and any Chromium process still running
/// with this driver's profile (a test that panicked mid-way) is killed.
impl Drop for Driver {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://").to_string();
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let marker = format!("--user-data-dir={}", self.profile.display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if String::from_utf8_lossy(&cmdline)
                .split('\0')
                .any(|arg| arg == marker)
            {
                let _ = Command::new("kill")
                    .arg("-9")
                    .arg(entry.file_name())
                    .status();
            }
        }
    }
}

pub const W3C_ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    pub async fn start(profile: &std::path::Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is needed for the browser tests (Debian: apt-get install chromium chromium-driver; .ci/run does it)");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let t = Instant::now();
        while http.get(format!("{url}/status")).send().await.is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 800, "pixelRatio": 1.0}},
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=360,900",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let v: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Driver {
            child,
            url,
            session,
            http,
            profile: profile.to_path_buf(),
        }
    }

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.url, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[W3C_ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
    }

    /// Wait until the URL holds `part` (a path with its query).
    pub async fn wait_for_url_with(&self, part: &str) {
        let t = Instant::now();
        loop {
            let url = self.current_url().await;
            if url.contains(part) {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "still at {url:?}, expected …{part}…"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Wait (bounded) until the page's address ends with `suffix`.
    pub async fn wait_for_url(&self, suffix: &str) {
        let t = Instant::now();
        loop {
            let url = self.current_url().await;
            if url.ends_with(suffix) {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "still at {url:?}, expected …{suffix}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A Chrome DevTools command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Make the page `width` CSS pixels wide (a phone below 600 px, a desktop above),
    /// in a Vietnamese browser (date fields show dd/mm/yyyy).
    pub async fn set_viewport(&self, width: i64) {
        self.cdp("Emulation.setLocaleOverride", json!({"locale": "vi-VN"}))
            .await;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// A screenshot of the whole page, not only what the screen shows.
    pub async fn full_screenshot(&self, name: &str) -> PathBuf {
        let m = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &m["cssContentSize"];
        let v = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true, "clip": {
                    "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }

    /// Run axe-core (the accessibility engine, WCAG 2 A and AA rules) on the page;
    /// panic with every violation found.
    pub async fn assert_accessible(&self, axe: &str, what: &str) {
        let violations = self.axe_violations(axe).await;
        assert!(
            violations.is_empty(),
            "{what}: accessibility violations: {}",
            serde_json::to_string_pretty(&violations).unwrap()
        );
        println!("axe-core: {what}: no WCAG 2.1 A/AA violation");
    }

    pub async fn axe_violations(&self, axe: &str) -> Vec<Value> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": axe, "args": []})),
        )
        .await;
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": "const done = arguments[arguments.length - 1]; \
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}) \
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, \
                        nodes: v.nodes.map(n => n.html).slice(0, 3)})))) \
                    .catch(e => done([{id: 'axe-error', help: String(e)}]));", "args": []})),
            )
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Wait (bounded) until the page contains `text`; return the page.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let t = Instant::now();
        loop {
            let page = self.source().await;
            if page.contains(text) {
                return page;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "the page never showed {text:?}: {}",
                page.chars().take(2000).collect::<String>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn clear_cookies(&self) {
        self.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    }

    pub async fn cookie(&self, name: &str) -> String {
        self.cmd(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .await["value"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// A screen's checks at a phone's width (390 px) and a laptop's (1366 px): no WCAG 2.1
/// A/AA violation, nothing wider than the screen (tables scroll inside their card), and
/// a full-page screenshot `{name}-390.png` / `{name}-1366.png`. The page is left at the
/// phone's width.
pub async fn check_page(d: &Driver, axe: &str, name: &str, what: &str) {
    for width in [390, 1366] {
        d.set_viewport(width).await;
        let v = d
            .cmd(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": "return [document.documentElement.scrollWidth, window.innerWidth];", "args": []})),
            )
            .await;
        let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
        assert_eq!(inner, width, "{what}: the viewport is {width} px wide");
        assert!(
            scroll <= inner,
            "{what} at {width} px: the page is {scroll} px wide"
        );
        d.assert_accessible(axe, &format!("{what} at {width} px"))
            .await;
        d.full_screenshot(&format!("{name}-{width}")).await;
    }
    d.set_viewport(390).await;
}

/// axe-core, installed from npm by `.ci/run` (pinned there).
pub fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The accessibility check needs axe-core: \
             npm install --prefix target/axe axe-core@4.14.1 (.ci/run does it)",
            path.display()
        )
    })
}
