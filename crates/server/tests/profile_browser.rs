//! The QĐ 831 record in a real headless Chromium (as `browser.rs`: Debian's chromium
//! and chromium-driver, axe-core from npm): the citizen opens their health profile
//! from the book, reads it at a phone's width and a laptop's, reports an error (a
//! refused text first, shown beside the field); a clinician under the person's share
//! code sees the allergy before the chronic conditions. Screenshots under
//! `target/screenshots/`.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use book::IdKind;
use book::access::{Role, Scope};
use serde_json::{Value, json};
use server::App;
use service::{Actor, RecordEdit};
use store::{Facility, Resident, StaffAccount, Store, Unit};
use synth::{Config, Generator};

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

    async fn clear_cookies(&self) {
        self.cmd(reqwest::Method::DELETE, "/cookie", None).await;
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

fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn the_citizen_and_the_clinician_read_the_record() {
    let dir = common::scratch();
    let store = dir.open();
    for (code, name, level, parent) in [
        ("01", "Thành phố Hà Nội", "province", None),
        ("00004", "Phường Ba Đình", "commune", Some("01")),
    ] {
        store
            .upsert_unit(&Unit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent: parent.map(str::to_string),
                scheme: "2025".into(),
            })
            .unwrap();
    }
    for f in synth::catalog::FACILITIES.iter() {
        store
            .upsert_facility(&Facility {
                code: f.code.into(),
                name: f.name.into(),
                province: f.code[..2].into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
    }
    let g = Generator::new(Config {
        persons: 30,
        episodes: 300,
        seed: 41,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    // A person whose dossiers name a chronic condition, resident of Phường Ba Đình.
    let (personal_id, person, chronic) = (0..30)
        .filter_map(|j| g.person(j).personal_id)
        .find_map(|pid| {
            let p = store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()?;
            let code = store.episodes_of(p.id).unwrap().iter().find_map(|e| {
                e.view
                    .main_diagnosis
                    .iter()
                    .chain(&e.view.secondary_diagnoses)
                    .map(|d| d.icd10.trim().to_ascii_uppercase())
                    .find(|c| book::terms::chronic_group(c).is_some())
            })?;
            Some((pid, p.id, code))
        })
        .expect("a person with a chronic condition in their dossiers");
    store
        .import_population(&[Resident {
            personal_id: personal_id.clone(),
            name: None,
            birth: None,
            sex: None,
            unit: "00004".into(),
            status: "alive".into(),
        }])
        .unwrap();
    // The station fills the record: blood group, an allergy, history, two examinations.
    let nurse = StaffAccount {
        username: "tram00004".into(),
        full_name: "Y sĩ Phạm Thị Lan".into(),
        role: Role::CommuneStaff,
        unit: Some("00004".into()),
        facility: None,
        practising_cert: None,
        active: true,
    };
    store.upsert_staff(&nurse, Some("tram-y-te-2026")).unwrap();
    let station = Actor::Staff {
        scope: store.place_of_unit("00004").unwrap(),
        account: nurse,
    };
    let svc = service::Service::new(store.clone());
    let version = || {
        let mut v = 0;
        store
            .transaction(false, &mut |tx| {
                v = tx.health_record(person)?.unwrap().version;
                Ok(())
            })
            .unwrap();
        v
    };
    let filled = items(&[
        ("a.blood_abo", "O"),
        ("a.blood_rh", "+"),
        ("b.allergy.drug", "Penicillin (sốc phản vệ năm 2015)"),
        ("b.allergy.food", "Tôm, cua"),
        ("b.disease.hypertension", "1"),
        ("b.icd", &chronic),
        ("b.family.hypertension", "Bố"),
        ("b.risk.smoking", "3"),
        ("b.risk.activity", "1"),
        ("b.disability.vision", "Cận thị nặng"),
        ("b.surgery", "Mổ ruột thừa năm 2010"),
        ("c.flu1.date", "2025-10-15"),
    ]);
    svc.edit_record(&station, person, version(), RecordEdit::Items(&filled))
        .unwrap();
    let today = store::vn_now().date();
    for (days, weight, sys) in [
        (700, "70", "150"),
        (380, "68.2", "138"),
        (20, "66.5", "128"),
    ] {
        let date = (today - chrono::Duration::days(days)).to_string();
        let exam = items(&[
            ("pulse", "78"),
            ("weight", weight),
            ("height", "165"),
            ("bp_sys", sys),
            ("bp_dia", "85"),
            ("cardio", "Nhịp đều"),
            ("diagnosis", "Tăng huyết áp độ 1, đang điều trị"),
            ("icd", "I10"),
            ("advice", "Ăn nhạt, đi bộ 30 phút mỗi ngày, uống thuốc đều"),
            ("doctor", "BS. Nguyễn Văn Khám"),
        ]);
        svc.edit_record(
            &station,
            person,
            version(),
            RecordEdit::Exam {
                date: &date,
                items: &exam,
            },
        )
        .unwrap();
    }
    let code = store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    store
        .activate_citizen(&personal_id, &code, "246802")
        .unwrap();
    store
        .upsert_staff(
            &StaffAccount {
                username: "bs01001".into(),
                full_name: "BS. Lê Thu Hà".into(),
                role: Role::Clinician,
                unit: None,
                facility: Some("01001".into()),
                practising_cert: Some("004321/HNO-CCHN".into()),
                active: true,
            },
            Some("bac-si-2026"),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(
        listener,
        App::new(store.clone() as Arc<dyn Store>, server::Config::default()),
        async {
            let _ = rx.await;
        },
    ));
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // The citizen opens the profile from the book.
    d.go(&format!("{base}/dang-nhap")).await;
    d.type_into("#personal_id", &personal_id).await;
    d.type_into("#passcode", "246802").await;
    d.click("button[type=submit]").await;
    d.wait_for_url(&format!("/so/{person}")).await;
    d.click(&format!("a.button[href='/so/{person}/ho-so-suc-khoe']"))
        .await;
    d.wait_for_url("/ho-so-suc-khoe").await;
    let page = d.wait_for_text("Hồ sơ sức khỏe cá nhân").await;
    let allergy = page.find("Thuốc: Penicillin").expect("the drug allergy");
    assert!(
        allergy < page.find("Cân nặng, chiều cao").unwrap(),
        "what matters first"
    );
    assert!(page.contains("Thực phẩm: Tôm, cua"));
    assert!(page.contains("<strong>O Rh+</strong>"));
    assert!(page.contains("Trạm y tế Phường Ba Đình"));
    assert!(page.contains("giảm 1,7 kg"), "the weight's trend in words");
    assert!(
        page.contains("Cân nặng qua 3 lần khám"),
        "the chart says what it shows"
    );
    check_page(&d, &axe, "p1-ho-so-suc-khoe", "health profile").await;
    // The history and the examination's details open.
    d.click("#lich-su summary").await;
    d.click("article details summary").await;
    let open = d.source().await;
    assert!(open.contains("Y sĩ Phạm Thị Lan, Trạm y tế Phường Ba Đình"));
    check_page(
        &d,
        &axe,
        "p2-ho-so-mo-chi-tiet",
        "health profile, details open",
    )
    .await;

    // A report too short is refused beside the field; then one is sent.
    d.type_into("#bao-sai-noi-dung", "sai").await;
    d.click("#bao-sai button[type=submit]").await;
    let refused = d.wait_for_text("id=\"bao-sai-loi\"").await;
    assert!(refused.contains("từ 5 đến 1.000 ký tự"));
    check_page(&d, &axe, "p3-bao-sai-loi", "error report refused").await;
    d.type_into(
        "#bao-sai-noi-dung",
        " — tôi không còn dị ứng tôm, cua từ năm 2020",
    )
    .await;
    d.click("#bao-sai button[type=submit]").await;
    d.wait_for_url("#bao-sai").await;
    d.wait_for_text("Đã gửi đến Trạm y tế Phường Ba Đình").await;
    check_page(&d, &axe, "p4-bao-sai-da-gui", "error report sent").await;
    let issues = store.station_issues("00004", true, 10).unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        issues[0].detail["text"],
        "sai — tôi không còn dị ứng tôm, cua từ năm 2020"
    );

    // A clinician with the person's share code: the allergy before anything else.
    let (_, share) = store
        .create_share(person, person, Scope::Summary, 3_600_000)
        .unwrap();
    d.clear_cookies().await;
    d.go(&format!("{base}/nhan-vien/dang-nhap")).await;
    d.type_into("#username", "bs01001").await;
    d.type_into("#password", "bac-si-2026").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/nhan-vien").await;
    d.go(&format!("{base}/nhan-vien/ma?ma={share}")).await;
    d.click("form[action='/nhan-vien/ma'] button").await;
    d.wait_for_url(&format!("/nhan-vien/benh-nhan/{person}"))
        .await;
    let summary = d.wait_for_text("Tóm tắt sức khỏe").await;
    let allergy = summary
        .find("Thuốc: Penicillin (sốc phản vệ năm 2015)")
        .expect("the allergy");
    let chronic_at = summary.find("Bệnh mạn tính (toàn bộ tiền sử)").unwrap();
    let medicines = summary.find("Thuốc dùng trong 90 ngày").unwrap();
    assert!(
        allergy < chronic_at && chronic_at < medicines,
        "allergies first"
    );
    assert!(summary.contains("Nguồn: Hồ sơ sức khỏe (trạm y tế) · Trạm y tế Phường Ba Đình"));
    assert!(summary.contains(&format!("<strong>{chronic}</strong>")));
    assert!(summary.contains("O Rh+"));
    check_page(
        &d,
        &axe,
        "p5-bac-si-tom-tat",
        "clinician summary with the record",
    )
    .await;
    let reads = store.audit_of(person).unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r.action == "record.read" && r.actor == "bs01001"),
        "the clinician's read of the record is recorded"
    );
}
both!(the_citizen_and_the_clinician_read_the_record);
