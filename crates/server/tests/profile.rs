//! The QĐ 831 record as the citizen and the clinician see it, over loopback HTTP on
//! SQLite and PostgreSQL: the person reads their profile (JSON and page), a guardian
//! reads their ward's, anyone else gets 404; an error report becomes a data-quality
//! record of the station; a clinician under a grant sees allergies and chronic
//! conditions first (the record's merged with the hospital dossiers', each with its
//! source), and without a grant sees nothing.

#[macro_use]
mod common;
mod record_world;

use std::collections::BTreeMap;
use std::sync::Arc;

use book::IdKind;
use book::access::{Role, Scope};
use record_world::{STATION, edit, items};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use service::RecordEdit;
use store::{Facility, Resident, StaffAccount, Store};

const ELSEWHERE: &str = "00008";

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// A: a resident with hospital dossiers and a filled record; W: a ward of G;
    /// O: a resident of another commune whose record nobody filled.
    a: i64,
    w: i64,
    g: i64,
    o: i64,
    /// D: known only from hospital dossiers (no record).
    d: i64,
    /// A chronic ICD-10 code of A's hospital dossiers.
    chronic: String,
    /// Citizen session tokens of A, G, O, D.
    tokens: BTreeMap<&'static str, String>,
    /// Staff session tokens.
    staff: BTreeMap<&'static str, String>,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn resident(personal_id: &str, name: &str, unit: &str) -> Resident {
    Resident {
        personal_id: personal_id.into(),
        name: Some(name.into()),
        birth: Some("19580412".into()),
        sex: Some("2".into()),
        unit: unit.into(),
        status: "alive".into(),
    }
}

fn staff_account(username: &str, name: &str, role: Role) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: name.into(),
        role,
        unit: None,
        facility: None,
        practising_cert: None,
        active: true,
    }
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    record_world::units(
        &*store,
        &[(STATION, "Phường Ba Đình"), (ELSEWHERE, "Phường Ngọc Hà")],
    );
    store
        .upsert_facility(&Facility {
            code: "01001".into(),
            name: "Bệnh viện Bạch Mai".into(),
            province: "01".into(),
            kind: "hospital".into(),
            bhyt_contract: true,
            unit: None,
        })
        .unwrap();
    // A: someone whose hospital dossiers name a chronic condition.
    let (g, a_pid, a, chronic) = record_world::dossiers_with_a_chronic_patient(&store);
    // Every resident gets a person and a record: A (linked to their dossiers by the
    // personal ID), W and G in A's commune, O elsewhere.
    store
        .import_population(&[
            resident(&a_pid, "Người A", STATION),
            resident("001158000101", "Trần Văn Được Giám Hộ", STATION),
            resident("001158000102", "Trần Thị Giám Hộ", STATION),
            resident("001158000103", "Lê Văn Khác", ELSEWHERE),
        ])
        .unwrap();
    let id = |pid: &str| {
        store
            .person_by_identifier(IdKind::PersonalId, pid)
            .unwrap()
            .unwrap()
            .id
    };
    let (w, gd, o) = (id("001158000101"), id("001158000102"), id("001158000103"));
    assert_eq!(id(&a_pid), a, "the resident is the person of the dossiers");
    let d = (0..30)
        .filter_map(|j| g.person(j).personal_id)
        .filter_map(|pid| {
            store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()
        })
        .find(|p| p.id != a)
        .expect("another person of the dossiers")
        .id;
    store.grant_guardian(gd, w, "test").unwrap();

    // The station fills A's and W's records, as its pages would.
    let station = record_world::station_nurse(&store);
    let svc = service::Service::new(store.clone());
    let filled = items(&[
        ("a.blood_abo", "A"),
        ("a.blood_rh", "+"),
        ("b.allergy.drug", "Penicillin (nổi mày đay)"),
        ("b.disease.hypertension", "1"),
        ("b.icd", &chronic),
        ("b.family.diabetes", "Mẹ"),
        ("b.risk.smoking", "3"),
        ("b.surgery", "Mổ ruột thừa năm 2010"),
    ]);
    edit(&svc, &station, a, RecordEdit::Items(&filled));
    let today = store::vn_now().date();
    for (days, weight, sys) in [(400, "62", "135"), (30, "64.5", "128")] {
        let date = (today - chrono::Duration::days(days)).to_string();
        let exam = items(&[
            ("weight", weight),
            ("height", "158"),
            ("bp_sys", sys),
            ("bp_dia", "85"),
            ("diagnosis", "Tăng huyết áp độ 1, ổn định"),
            ("advice", "Ăn nhạt, đi bộ 30 phút mỗi ngày"),
            ("doctor", "BS. Nguyễn Văn Khám"),
        ]);
        edit(
            &svc,
            &station,
            a,
            RecordEdit::Exam {
                date: &date,
                items: &exam,
            },
        );
    }
    edit(
        &svc,
        &station,
        w,
        RecordEdit::Items(&items(&[("b.allergy.none", "1")])),
    );

    let clinician = StaffAccount {
        facility: Some("01001".into()),
        practising_cert: Some("004321/HNO-CCHN".into()),
        ..staff_account("bs01001", "BS. Lê Thu Hà", Role::Clinician)
    };
    let other = StaffAccount {
        facility: Some("01001".into()),
        practising_cert: Some("004322/HNO-CCHN".into()),
        ..staff_account("bs01002", "BS. Không Được Chia Sẻ", Role::Clinician)
    };
    let mut staff = BTreeMap::new();
    for (key, acc) in [("clinician", clinician), ("other", other)] {
        store.upsert_staff(&acc, Some("bac-si-2026")).unwrap();
        staff.insert(
            key,
            store
                .create_staff_session(&acc.username, 3_600_000)
                .unwrap(),
        );
    }
    let mut tokens = BTreeMap::new();
    for (key, p) in [("a", a), ("g", gd), ("o", o), ("d", d)] {
        tokens.insert(key, store.create_session(p, 3_600_000).unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, server::Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    World {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        a,
        w,
        g: gd,
        o,
        d,
        chronic,
        tokens,
        staff,
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, token: &str, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A page as the browser of a signed-in citizen gets it (session cookie).
    async fn page(&self, who: &str, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("hb_session={}", self.tokens[who]))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A form posted by the browser of a signed-in citizen; the answer's status,
    /// `Location` and body.
    async fn form(
        &self,
        who: &str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("hb_session={}", self.tokens[who]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status(), location, r.text().await.unwrap())
    }

    fn actions_on(&self, person: i64, action: &str) -> Vec<store::AuditRecord> {
        self.store
            .audit_of(person)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    }
}

/// The text of the page's element with `id` up to its end tag (a crude cut: enough
/// to tell which section a text is in).
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let from = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page[from..];
    &rest[..rest.find("</div>").unwrap_or(rest.len())]
}

async fn a_citizen_reads_their_health_profile() {
    let w = world().await;
    let (s, body) = w
        .get(&w.tokens["a"], &format!("/api/v1/persons/{}/record", w.a))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["person_id"], w.a);
    assert_eq!(r["station"]["commune"], STATION);
    assert_eq!(r["station"]["name"], "Trạm y tế Phường Ba Đình");
    assert_eq!(r["closed"], false);
    let p = &r["profile"];
    assert_eq!(p["blood_group"], "A Rh+");
    assert_eq!(p["allergies"][0]["key"], "b.allergy.drug");
    assert_eq!(p["allergies"][0]["category"], "medication");
    assert_eq!(p["allergies"][0]["text"], "Penicillin (nổi mày đay)");
    let conditions: Vec<&str> = p["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["icd10"].as_str().unwrap_or(""))
        .collect();
    assert!(conditions.contains(&"I10"), "{conditions:?}");
    assert!(conditions.contains(&w.chronic.as_str()), "{conditions:?}");
    assert_eq!(p["family"][0], json!(["Đái tháo đường", "Mẹ"]));
    assert_eq!(p["surgery"], "Mổ ruột thừa năm 2010");
    // Measures oldest first (a trend); examinations newest first.
    let m = p["measures"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["weight"], "62");
    assert_eq!(m[1]["bp"], "128/85");
    assert!(m[1]["bmi"].as_str().is_some(), "BMI computed: {}", m[1]);
    let exams = r["examinations"].as_array().unwrap();
    assert!(exams[0]["date"].as_str() > exams[1]["date"].as_str());
    assert_eq!(
        exams[0]["items"]["advice"],
        "Ăn nhạt, đi bộ 30 phút mỗi ngày"
    );
    assert_eq!(exams[0]["station"], "Trạm y tế Phường Ba Đình");
    // Items of parts A–C with their labels.
    let blood = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "a.blood_rh")
        .unwrap();
    assert_eq!(blood["label"], "Nhóm máu hệ Rh");
    assert_eq!(blood["text"], "Rh+ (dương)");
    // Versions, newest first, in words: who, and what.
    let versions = r["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 4, "created, edited, two examinations");
    assert!(
        versions[0]["by"]
            .as_str()
            .unwrap()
            .starts_with("Y sĩ Phạm Thị Lan, Trạm y tế Phường Ba Đình")
    );
    assert!(
        versions[0]["changes"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Thêm kết quả khám sức khỏe ngày")
    );
    assert_eq!(versions[3]["by"], "Cơ sở dữ liệu quốc gia về dân cư");
    let edit: Vec<&str> = versions[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(
        edit.contains(&"Ghi “3. Dị ứng · Dị ứng thuốc (ghi rõ)”: Penicillin (nổi mày đay)"),
        "{edit:?}"
    );
    assert!(
        edit.contains(&"Ghi “Thông tin chung · Nhóm máu hệ ABO”: A"),
        "{edit:?}"
    );
    // The person's own reads are not recorded; a station's edits are.
    assert!(w.actions_on(w.a, "record.read").is_empty());
    assert_eq!(w.actions_on(w.a, "record.exam").len(), 2);

    // The page: what matters first, the trend, the examinations, the history.
    let (s, page) = w.page("a", &format!("/so/{}/ho-so-suc-khoe", w.a)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Trạm y tế Phường Ba Đình"));
    assert!(section(&page, "di-ung").contains("Thuốc: Penicillin (nổi mày đay)"));
    assert!(!page.contains("Không có tiền sử dị ứng đã biết"));
    assert!(page.contains("<strong>A Rh+</strong>"));
    assert!(section(&page, "benh").contains("Tăng huyết áp"));
    assert!(page.contains("tăng 2,5 kg"), "the weight's trend");
    assert!(page.contains("role=\"img\""), "a chart of the weight");
    assert!(page.contains("Cân nặng qua 2 lần khám: từ 62 kg"));
    assert!(page.contains("Ăn nhạt, đi bộ 30 phút mỗi ngày"));
    assert!(page.contains("Mổ ruột thừa năm 2010"));
    assert!(page.contains("Đã bỏ"), "the smoking habit in words");
    assert!(page.contains("Y sĩ Phạm Thị Lan, Trạm y tế Phường Ba Đình"));
    assert!(page.contains("Ghi “3. Dị ứng · Dị ứng thuốc (ghi rõ)”"));
    let first_exam = page.find("id=\"kham-2\"").expect("the newest examination");
    let older_exam = page.find("id=\"kham-1\"").expect("the older examination");
    assert!(first_exam < older_exam, "newest first");
    // Linked from the book's home.
    let (_, home) = w.page("a", &format!("/so/{}", w.a)).await;
    assert!(home.contains(&format!("href=\"/so/{}/ho-so-suc-khoe\"", w.a)));

    // An unknown allergy status is said as such, never as "none".
    let (s, page) = w.page("o", &format!("/so/{}/ho-so-suc-khoe", w.o)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(section(&page, "di-ung").contains("Chưa ghi nhận"));
    assert!(!page.contains("Không có tiền sử dị ứng đã biết"));
    assert!(page.contains("Chưa xác định"), "no blood group");
    assert!(page.contains("Trạm y tế Phường Ngọc Hà"));

    // Someone known only from hospital dossiers has no record yet: the page says how
    // to get one; the API answers 404.
    let (s, page) = w.page("d", &format!("/so/{}/ho-so-suc-khoe", w.d)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Chưa có hồ sơ sức khỏe cá nhân cho sổ này"));
    let (s, _) = w
        .get(&w.tokens["d"], &format!("/api/v1/persons/{}/record", w.d))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // … and someone else's book stays a plain "not found".
    let (s, page) = w.page("d", &format!("/so/{}/ho-so-suc-khoe", w.a)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!page.contains("Chưa có hồ sơ"));
}
both!(a_citizen_reads_their_health_profile);

async fn a_guardian_reads_the_wards_profile_and_nobody_else_does() {
    let w = world().await;
    let (s, body) = w
        .get(&w.tokens["g"], &format!("/api/v1/persons/{}/record", w.w))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        r["profile"]["allergies"],
        json!([]),
        "no known allergies, as recorded"
    );
    let (s, page) = w.page("g", &format!("/so/{}/ho-so-suc-khoe", w.w)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(section(&page, "di-ung").contains("Không có tiền sử dị ứng đã biết"));
    assert!(!section(&page, "di-ung").contains("Chưa ghi nhận"));
    assert!(page.contains("Trần Văn Được Giám Hộ"));
    // The guardian's reads are in the ward's chain.
    let reads = w.actions_on(w.w, "record.read");
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|r| r.actor == format!("person:{}", w.g)));
    assert!(w.store.verify_audit().unwrap().ok());

    // Anyone else: not found, the same as a record that does not exist.
    for (who, pid) in [("a", w.w), ("o", w.a), ("g", w.a), ("a", 987_654_321)] {
        let (s, _) = w
            .get(&w.tokens[who], &format!("/api/v1/persons/{pid}/record"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who} → {pid}");
        let (s, page) = w.page(who, &format!("/so/{pid}/ho-so-suc-khoe")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who} → {pid}");
        assert!(!page.contains("Penicillin"));
    }
    // Not signed in.
    let r = w
        .http
        .get(format!("{}/api/v1/persons/{}/record", w.base, w.a))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A staff session is not a citizen's.
    let (s, _) = w
        .get(
            &w.staff["clinician"],
            &format!("/api/v1/persons/{}/record", w.a),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
both!(a_guardian_reads_the_wards_profile_and_nobody_else_does);

async fn an_error_report_reaches_the_station() {
    let w = world().await;
    let path = format!("/api/v1/persons/{}/record/errors", w.a);
    let (s, body) = w
        .post(
            &w.tokens["a"],
            &path,
            json!({"text": "Nhóm máu của tôi là O, không phải A"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert!(r["issue"].as_i64().unwrap() > 0);
    // Too short, too long: refused with the reason; another's record: not found.
    for text in ["abc".to_string(), "x".repeat(1001)] {
        let (s, body) = w.post(&w.tokens["a"], &path, json!({"text": text})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("từ 5 đến 1.000 ký tự"), "{body}");
    }
    let (s, _) = w
        .post(
            &w.tokens["o"],
            &path,
            json!({"text": "Người này không phải tôi"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A guardian reports for the ward (recorded in the ward's chain).
    let (s, _) = w
        .post(
            &w.tokens["g"],
            &format!("/api/v1/persons/{}/record/errors", w.w),
            json!({"text": "Cháu bị dị ứng tôm, hồ sơ ghi không có"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(w.actions_on(w.w, "record.report_error").len(), 1);

    // The page's form: with the form's CSRF token, a confirmation; a short text is
    // shown again with the reason beside the field; without the token, refused.
    let form_path = format!("/so/{}/ho-so-suc-khoe", w.a);
    let (_, page) = w.page("a", &form_path).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form carries the CSRF token")
        .to_string();
    let post_path = format!("{form_path}/bao-sai");
    let (s, location, _) = w
        .form(
            "a",
            &post_path,
            &[("csrf", &csrf), ("text", "Tôi không còn hút thuốc từ 2020")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(location.contains("/ho-so-suc-khoe?da-gui=1"), "{location}");
    let (_, done) = w.page("a", &format!("{form_path}?da-gui=1")).await;
    assert!(done.contains("Đã gửi đến Trạm y tế Phường Ba Đình"));
    let (s, _, page) = w
        .form("a", &post_path, &[("csrf", &csrf), ("text", "sai")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let field = page.find("id=\"bao-sai-noi-dung\"").unwrap();
    let error = page
        .find("id=\"bao-sai-loi\"")
        .expect("the reason beside the field");
    assert!(error > field && page[error..].contains("từ 5 đến 1.000 ký tự"));
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(page.contains(">sai</textarea>"), "the text is kept");
    let (s, _, _) = w
        .form("a", &post_path, &[("text", "Không có mã biểu mẫu")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The station's open data-quality records: the three reports sent.
    let issues = w.store.station_issues(STATION, true, 10).unwrap();
    let reports: Vec<&store::StationIssue> = issues
        .iter()
        .filter(|i| i.kind == "citizen_report")
        .collect();
    assert_eq!(reports.len(), 3, "{issues:?}");
    let texts: Vec<&str> = reports
        .iter()
        .map(|i| i.detail["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Nhóm máu của tôi là O, không phải A"));
    assert!(texts.contains(&"Tôi không còn hút thuốc từ 2020"));
    assert!(reports.iter().any(|i| i.person_id == Some(w.w)));
    assert!(
        w.store
            .station_issues(ELSEWHERE, true, 10)
            .unwrap()
            .is_empty()
    );
}
both!(an_error_report_reaches_the_station);

async fn a_clinician_with_a_grant_sees_allergies_first() {
    let w = world().await;
    let summary = format!("/api/v1/clinician/patients/{}/summary", w.a);
    // Without a grant: refused, nothing of the record read.
    let (s, body) = w.get(&w.staff["clinician"], &summary).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    assert!(!body.contains("Penicillin"));
    let (s, page) = {
        let r = w
            .http
            .get(format!("{}/nhan-vien/benh-nhan/{}", w.base, w.a))
            .header("cookie", format!("hb_staff={}", w.staff["clinician"]))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_ne!(s, StatusCode::OK);
    assert!(!page.contains("Penicillin"));
    assert!(w.actions_on(w.a, "record.read").is_empty());

    // With the person's share code (the summary only).
    let (_, code) = w
        .store
        .create_share(w.a, w.a, Scope::Summary, 3_600_000)
        .unwrap();
    let (s, body) = w
        .post(
            &w.staff["clinician"],
            "/api/v1/clinician/consents",
            json!({"code": code}),
        )
        .await;
    assert!(s.is_success(), "{s}: {body}");
    let (s, body) = w.get(&w.staff["clinician"], &summary).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // First in the answer: allergies, then conditions, then the blood group.
    let at = |key: &str| body.find(&format!("\"{key}\"")).unwrap_or(usize::MAX);
    assert!(at("allergies") < at("conditions") && at("conditions") < at("summary"));
    assert!(at("allergies") < at("patient"));
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["allergies"]["status"], "recorded");
    assert_eq!(
        r["allergies"]["items"][0]["text"],
        "Penicillin (nổi mày đay)"
    );
    assert_eq!(
        r["allergies"]["source"]["label"],
        "Hồ sơ sức khỏe (trạm y tế)"
    );
    assert_eq!(
        r["allergies"]["source"]["detail"],
        "Trạm y tế Phường Ba Đình"
    );
    assert_eq!(r["blood_group"], "A Rh+");
    let conditions = r["conditions"].as_array().unwrap();
    let kinds = |c: &Value| -> Vec<String> {
        c["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // The chronic code the station took from the dossiers: one line, both sources.
    let merged = conditions
        .iter()
        .find(|c| c["icd10"] == w.chronic.as_str())
        .unwrap_or_else(|| panic!("{} in {conditions:?}", w.chronic));
    assert!(kinds(merged).contains(&"record".into()), "{merged}");
    assert!(kinds(merged).contains(&"dossier".into()), "{merged}");
    let hospital = merged["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "dossier")
        .unwrap();
    assert!(hospital["detail"].as_str().unwrap().starts_with(&w.chronic));
    assert!(
        conditions
            .iter()
            .any(|c| c["text"] == "Tăng huyết áp" && kinds(c).contains(&"record".into()))
    );
    // The read is recorded in A's chain, under the clinician's grant.
    let reads = w.actions_on(w.a, "record.read");
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].actor, "bs01001");
    assert!(reads[0].grant_id.is_some());

    // The page: allergies before the chronic conditions, before everything else.
    let r = w
        .http
        .get(format!("{}/nhan-vien/benh-nhan/{}", w.base, w.a))
        .header("cookie", format!("hb_staff={}", w.staff["clinician"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let allergy = page
        .find("Thuốc: Penicillin (nổi mày đay)")
        .expect("the allergy");
    let chronic = page.find("Bệnh mạn tính (toàn bộ tiền sử)").unwrap();
    let problems = page.find("Vấn đề khác trong 12 tháng").unwrap();
    assert!(allergy < chronic && chronic < problems);
    assert!(page.contains("Nguồn: Hồ sơ sức khỏe (trạm y tế) · Trạm y tế Phường Ba Đình"));
    assert!(
        page.contains("Nguồn: Bệnh viện Bạch Mai (01001)") || page.contains("Nguồn: Cơ sở "),
        "a hospital source"
    );
    assert!(page.contains("A Rh+"));

    // Another clinician without a grant still sees nothing.
    let (s, body) = w.get(&w.staff["other"], &summary).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    assert!(!body.contains("Penicillin"));
    assert_eq!(
        w.actions_on(w.a, "record.read").len(),
        2,
        "the page read it once more"
    );
    assert!(w.store.verify_audit().unwrap().ok());
}
both!(a_clinician_with_a_grant_sees_allergies_first);

async fn a_closed_record_stays_readable() {
    let w = world().await;
    let batch = store::RegistryBatch {
        id: "dc-test-death".into(),
        source: "population".into(),
        digest: "d".repeat(64),
        by: "test".into(),
        scope: None,
        changes: vec![(
            1,
            store::RegistryChange::Death {
                personal_id: "001158000103".into(),
                date: (store::vn_now().date() - chrono::Duration::days(2)).to_string(),
            },
        )],
    };
    w.store.apply_registry(&batch).unwrap();
    let (s, body) = w
        .get(&w.tokens["o"], &format!("/api/v1/persons/{}/record", w.o))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["closed"], true);
    let (_, page) = w.page("o", &format!("/so/{}/ho-so-suc-khoe", w.o)).await;
    assert!(page.contains("Hồ sơ đã đóng (người đã mất)"));
    assert!(
        page.contains("Đóng hồ sơ (người đã mất)"),
        "the version says so"
    );
}
both!(a_closed_record_stays_readable);
