//! The commune station's pages in a real headless Chromium (as `tests/browser.rs`: Debian's
//! chromium and chromium-driver, axe-core from `.ci/run`): an officer signs in and lands
//! on the station, finds a resident, completes part A, adds an examination (a wrong
//! blood pressure re-shows the form with the message beside the item; the BMI is the
//! server's), accepts a code proposed from hospital dossiers, resolves a registry
//! mismatch and imports a file with a refused line. Every screen at 390 and 1366 px,
//! axe-clean, nothing wider than the screen; screenshots `station-*-390.png` /
//! `station-*-1366.png` under `target/screenshots/`.

#[macro_use]
mod common;
mod station_world;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use station_world::world;

struct Driver {
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

const W3C_ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start(profile: &std::path::Path) -> Driver {
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

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.url, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find(&self, css: &str) -> String {
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

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
    }

    /// Wait until the URL holds `part` (a path with its query).
    async fn wait_for_url_with(&self, part: &str) {
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

    async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Wait (bounded) until the page's address ends with `suffix`.
    async fn wait_for_url(&self, suffix: &str) {
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

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A Chrome DevTools command, through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Make the page `width` CSS pixels wide (a phone below 600 px, a desktop above),
    /// in a Vietnamese browser (date fields show dd/mm/yyyy).
    async fn set_viewport(&self, width: i64) {
        self.cdp("Emulation.setLocaleOverride", json!({"locale": "vi-VN"}))
            .await;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// A screenshot of the whole page, not only what the screen shows.
    async fn full_screenshot(&self, name: &str) -> PathBuf {
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
    async fn assert_accessible(&self, axe: &str, what: &str) {
        let violations = self.axe_violations(axe).await;
        assert!(
            violations.is_empty(),
            "{what}: accessibility violations: {}",
            serde_json::to_string_pretty(&violations).unwrap()
        );
        println!("axe-core: {what}: no WCAG 2.1 A/AA violation");
    }

    async fn axe_violations(&self, axe: &str) -> Vec<Value> {
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
    async fn wait_for_text(&self, text: &str) -> String {
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
}

/// A screen's checks at a phone's width (390 px) and a laptop's (1366 px): no WCAG 2.1
/// A/AA violation, nothing wider than the screen (tables scroll inside their card), and
/// a full-page screenshot `{name}-390.png` / `{name}-1366.png`. The page is left at the
/// phone's width.
async fn check_page(d: &Driver, axe: &str, name: &str, what: &str) {
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
fn axe_source() -> String {
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

async fn the_station_works_in_the_browser() {
    let w = world().await;
    let base = w.base.clone();
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // Signing in returns to the station.
    d.go(&format!("{base}/tram")).await;
    d.wait_for_url_with("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "tram01").await;
    d.type_into("#password", "mat-khau-tram").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/tram").await;
    let home = d.wait_for_text("Số liệu của trạm").await;
    assert!(
        home.contains("Trạm y tế Phường Ba Đình"),
        "the station's name"
    );
    assert!(home.contains("Người cao tuổi được khám trong năm"));
    check_page(&d, &axe, "station-1-home", "station home").await;
    d.go(&format!("{base}/nhan-vien")).await;
    assert!(
        d.wait_for_text("Trạm y tế: hồ sơ sức khỏe người dân")
            .await
            .contains("href=\"/tram\"")
    );

    // Finding a resident by name words, and the lists.
    d.go(&format!("{base}/tram/nguoi-dan")).await;
    d.type_into("#q", "nguyen van an").await;
    d.click("form.search button").await;
    d.wait_for_url_with("q=nguyen").await;
    let found = d.wait_for_text("Nguyễn Văn An").await;
    assert!(
        found.contains("Đến hạn khám") && found.contains("Thiếu phần A"),
        "flags"
    );
    check_page(&d, &axe, "station-2-residents", "residents found").await;
    d.go(&format!("{base}/tram/nguoi-dan?loc=exam_due")).await;
    let due = d.wait_for_text("người cao tuổi đến hạn khám").await;
    assert!(due.contains("Nguyễn Văn An") && !due.contains("Trần Thị Bình"));

    // The record, then part A completed from the form.
    d.go(&format!("{base}/tram/ho-so/{}", w.an)).await;
    let rec = d.wait_for_text("A. Thông tin hành chính").await;
    assert!(rec.contains("Còn thiếu") && rec.contains("Nhóm máu hệ ABO"));
    check_page(&d, &axe, "station-3-record", "a record to complete").await;
    d.click("a[href$='/sua/a']").await;
    d.wait_for_text("Sửa A. Thông tin hành chính").await;
    check_page(&d, &axe, "station-4-edit-a", "part A form").await;
    d.click("#f-a-blood_abo option[value='A']").await;
    d.click("#f-a-blood_rh option[value='+']").await;
    for (id, text) in [
        ("#f-a-ethnicity", "Kinh"),
        ("#f-a-nationality", "Việt Nam"),
        ("#f-a-permanent_address", "12 phố Đội Cấn"),
        ("#f-a-permanent_province", "01"),
        ("#f-a-current_address", "12 phố Đội Cấn"),
        ("#f-a-current_province", "01"),
    ] {
        d.type_into(id, text).await;
    }
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let saved = d.wait_for_text("Đã lưu.").await;
    assert!(saved.contains("Rh+ (dương)"), "the shown value");
    assert!(saved.contains("Phiên bản"), "the history");

    // An examination: a wrong blood pressure shows the form again, the message beside
    // the item; then the BMI is computed.
    d.go(&format!("{base}/tram/ho-so/{}/kham", w.an)).await;
    d.wait_for_text("Thêm lần khám sức khỏe").await;
    for (id, text) in [
        ("#f-weight", "60"),
        ("#f-height", "160"),
        ("#f-bp_sys", "80"),
        ("#f-bp_dia", "90"),
        ("#f-diagnosis", "Tăng huyết áp độ 1"),
    ] {
        d.type_into(id, text).await;
    }
    d.click("form button.primary").await;
    let again = d.wait_for_text("Chưa lưu").await;
    assert!(
        again.contains("id=\"f-bp_sys-loi\""),
        "the message beside the item"
    );
    assert!(again.contains("tâm thu phải lớn hơn tâm trương"));
    assert!(
        again.contains("Tăng huyết áp độ 1</textarea>"),
        "what was typed stays"
    );
    check_page(&d, &axe, "station-5-exam-error", "an examination refused").await;
    d.clear("#f-bp_sys").await;
    d.type_into("#f-bp_sys", "130").await;
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let examined = d.wait_for_text("Đã lưu.").await;
    assert!(examined.contains("23,4"), "the BMI the server computed");
    assert!(examined.contains("Lần 1"));

    // A chronic code from hospital dossiers, accepted into the history.
    let (pid, codes) = w.chronic.clone();
    d.go(&format!("{base}/tram/ho-so/{pid}")).await;
    d.wait_for_text("Đề xuất từ hồ sơ bệnh viện").await;
    check_page(&d, &axe, "station-6-proposals", "proposals").await;
    d.click("#de-xuat button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let accepted = d.wait_for_text("Đã lưu.").await;
    assert!(
        accepted.contains("Bệnh đã chẩn đoán") && accepted.contains(&codes[0]),
        "the code is in part B"
    );

    // A registry mismatch resolved with a note.
    d.go(&format!("{base}/tram/doi-chieu")).await;
    let issues = d
        .wait_for_text("Sai khác giữa sổ dân cư và hồ sơ bệnh viện")
        .await;
    assert!(issues.contains("Hoàng Thị Khác Tên") || issues.contains("sổ dân cư ghi"));
    check_page(&d, &axe, "station-7-issues", "mismatches").await;
    d.type_into(
        "form textarea",
        "Đã đối chiếu căn cước: tên trong sổ dân cư đúng",
    )
    .await;
    d.click("form button.primary").await;
    d.wait_for_text("Đã ghi nhận cách xử lý").await;

    // An import from a file, with a refused line and its reason.
    let file = profile.path().join("ho-so.csv");
    std::fs::write(
        &file,
        format!(
            "personal_id,a.blood_abo,b.risk.smoking\n{},O,0\n{},C,\n",
            station_world::BINH,
            station_world::DUNG
        ),
    )
    .unwrap();
    d.go(&format!("{base}/tram/nhap")).await;
    d.wait_for_text("Nhập hồ sơ từ tệp").await;
    d.type_into("#file", &file.display().to_string()).await;
    d.click("form button.primary").await;
    let report = d.wait_for_text("Kết quả").await;
    assert!(report.contains("1 hồ sơ được cập nhật"), "applied");
    assert!(report.contains("Dòng 3"), "the refused line");
    assert!(report.contains("Hồ sơ đã đóng"), "and why");
    check_page(&d, &axe, "station-8-import", "import report").await;
}
both!(the_station_works_in_the_browser);
