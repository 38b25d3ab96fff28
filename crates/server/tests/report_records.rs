//! Reports of the QĐ 831 records per commune, over loopback HTTP on SQLite and
//! PostgreSQL: residents of two communes (and of old communes the 2025 reform merged or
//! divided) get their records from the population registry; commune officers complete
//! some and add examinations through the service (an elderly resident examined this
//! year among them); a re-import with another name opens registry mismatches. The
//! province's dashboard then counts each commune and the total (in the new units, and
//! in the old ones through the lineage); a commune officer sees their own commune only;
//! the monthly report (Phụ lục 1) of a commune carries the same lines, computed, on its
//! page and in its PDF.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use book::access::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use service::{Actor, RecordEdit, Service};
use store::{Resident, StaffAccount, Store};

/// A period before the reform (the old units are the default there).
const BEFORE: &str = "from=2025-01-01&to=2025-06-30";

// Phường Ba Đình (00004) and Phường Hoàn Kiếm (00040) are communes of today's Hà Nội;
// the old Phường Quán Thánh (00013) went whole into 00004; the old Phường Hàng Gai
// (00064) was divided between 00040 and Phường Cửa Nam.
const AN: &str = "001050000201"; // 00004, born 1950: elderly, completed, examined
const BAO: &str = "001090000202"; // 00004: part A completed
const CHI: &str = "001085000203"; // 00004: registry name changed (a mismatch)
const DUC: &str = "001045000204"; // 00004: dead
const EM: &str = "001080000205"; // old 00013: registry name changed (a mismatch)
const GIANG: &str = "001055000206"; // 00040, born 1955: elderly, completed, not examined
const HA: &str = "001000000207"; // 00040: examined
const KHOA: &str = "001070000208"; // old 00064: on the unallocated line

struct World {
    base: String,
    store: Arc<dyn Store>,
    tokens: BTreeMap<&'static str, String>,
    http: reqwest::Client,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn account(username: &str, role: Role, unit: &str) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: format!("Cán bộ {username}"),
        role,
        unit: Some(unit.into()),
        facility: None,
        practising_cert: None,
        active: true,
    }
}

fn resident(pid: &str, name: &str, birth: &str, sex: &str, unit: &str, status: &str) -> Resident {
    Resident {
        personal_id: pid.into(),
        name: Some(name.into()),
        birth: Some(birth.into()),
        sex: Some(sex.into()),
        unit: unit.into(),
        status: status.into(),
    }
}

fn residents() -> Vec<Resident> {
    vec![
        resident(AN, "Nguyễn Văn An", "19500305", "1", "00004", "alive"),
        resident(BAO, "Trần Văn Bảo", "19900412", "1", "00004", "alive"),
        resident(CHI, "Lê Thị Chi", "19850707", "2", "00004", "alive"),
        resident(DUC, "Phạm Văn Đức", "19450101", "1", "00004", "dead"),
        resident(EM, "Hoàng Thị Em", "19800909", "2", "00013", "alive"),
        resident(GIANG, "Vũ Thị Giang", "19550620", "2", "00040", "alive"),
        resident(HA, "Đỗ Thu Hà", "20000115", "2", "00040", "alive"),
        resident(KHOA, "Bùi Văn Khoa", "19700303", "1", "00064", "alive"),
    ]
}

fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every required item of part A the registry does not give.
fn part_a() -> BTreeMap<String, String> {
    items(&[
        ("a.blood_abo", "A"),
        ("a.blood_rh", "+"),
        ("a.ethnicity", "Kinh"),
        ("a.nationality", "Việt Nam"),
        ("a.permanent_address", "12 phố Đội Cấn"),
        ("a.permanent_province", "01"),
        ("a.current_address", "12 phố Đội Cấn"),
        ("a.current_province", "01"),
        ("a.mobile", "0912 345 678"),
    ])
}

/// Part B stated: risk factors, allergies, history, family history.
fn part_b() -> BTreeMap<String, String> {
    items(&[
        ("b.risk.smoking", "0"),
        ("b.risk.alcohol", "0"),
        ("b.risk.activity", "2"),
        ("b.allergy.none", "1"),
        ("b.disease.hypertension", "1"),
        ("b.family.none", "1"),
    ])
}

fn today() -> chrono::NaiveDate {
    store::vn_now().date()
}

fn exam() -> BTreeMap<String, String> {
    items(&[
        ("weight", "58"),
        ("height", "160"),
        ("bp_sys", "135"),
        ("bp_dia", "85"),
        ("diagnosis", "Tăng huyết áp độ 1, tiếp tục theo dõi"),
        ("doctor", "BS. Phạm Thị Hoa"),
    ])
}

/// Keep a resident's record as the officer of their commune: each edit on the newest
/// version, through the service (as the station's pages do).
fn keep(store: &Arc<dyn Store>, officer: &StaffAccount, pid: &str, edits: &[RecordEdit<'_>]) {
    let service = Service::new(store.clone());
    let scope = store
        .place_of_unit(officer.unit.as_deref().unwrap())
        .unwrap();
    let who = Actor::Staff {
        account: officer.clone(),
        scope,
    };
    let person = store
        .person_by_identifier(book::IdKind::PersonalId, pid)
        .unwrap()
        .unwrap()
        .id;
    for edit in edits {
        let view = service.health_record(&who, person).unwrap();
        let version = view.stored.version;
        let edit = match edit {
            RecordEdit::Items(m) => RecordEdit::Items(m),
            RecordEdit::Exam { date, items } => RecordEdit::Exam { date, items },
            RecordEdit::Proposal { code, accept } => RecordEdit::Proposal {
                code,
                accept: *accept,
            },
        };
        let next = service
            .edit_record(&who, person, version, edit)
            .unwrap_or_else(|e| panic!("{pid}: {e:?}"));
        assert_eq!(next, version + 1);
    }
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    let s = server::registry::synthetic_catalog_2025();
    store.import_units(&s.units).unwrap();
    store.import_unit_lineage(&s.lineage).unwrap();
    store.import_facilities(&s.facilities).unwrap();
    store.import_population(&residents()).unwrap();

    let tram04 = account("tram04", Role::CommuneStaff, "00004");
    let tram40 = account("tram40", Role::CommuneStaff, "00040");
    let day = today().format("%Y-%m-%d").to_string();
    let (a, b, e) = (part_a(), part_b(), exam());
    keep(
        &store,
        &tram04,
        AN,
        &[
            RecordEdit::Items(&a),
            RecordEdit::Items(&b),
            RecordEdit::Exam {
                date: &day,
                items: &e,
            },
        ],
    );
    keep(&store, &tram04, BAO, &[RecordEdit::Items(&a)]);
    keep(
        &store,
        &tram40,
        GIANG,
        &[RecordEdit::Items(&a), RecordEdit::Items(&b)],
    );
    keep(
        &store,
        &tram40,
        HA,
        &[RecordEdit::Exam {
            date: &day,
            items: &e,
        }],
    );
    // The registry sends two residents again with other names: mismatches for the
    // station of 00004 (one filed under the old code of Quán Thánh).
    let again: Vec<Resident> = residents()
        .into_iter()
        .filter(|r| r.personal_id == CHI || r.personal_id == EM)
        .map(|r| Resident {
            name: Some(format!("{} Khác", r.name.unwrap())),
            ..r
        })
        .collect();
    store.import_population(&again).unwrap();

    let mut tokens = BTreeMap::new();
    for (key, a) in [
        ("so01", account("so01", Role::ProvincialOfficer, "01")),
        ("so24", account("so24", Role::ProvincialOfficer, "24")),
        ("tram04", tram04),
        ("tram40", tram40),
    ] {
        store.upsert_staff(&a, Some("mat-khau-bao-cao")).unwrap();
        tokens.insert(
            key,
            store.create_staff_session(&a.username, 3_600_000).unwrap(),
        );
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
        store,
        tokens,
        http: reqwest::Client::new(),
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, who: &str, path: &str) -> (StatusCode, reqwest::Response) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[who])
            .send()
            .await
            .unwrap();
        (r.status(), r)
    }

    async fn json(&self, who: &str, path: &str) -> Value {
        let (s, r) = self.get(who, path).await;
        let body = r.text().await.unwrap();
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn page(&self, who: &str, path: &str) -> String {
        let (s, r) = self.get(who, path).await;
        let body = r.text().await.unwrap();
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        body
    }
}

/// The figures of a line: residents, with a record, A complete, B complete, examined,
/// elderly, elderly examined, mismatches open.
fn counts(x: &Value) -> [i64; 8] {
    [
        "residents",
        "with_record",
        "complete_a",
        "complete_b",
        "examined",
        "elderly",
        "elderly_examined",
        "mismatches_open",
    ]
    .map(|k| {
        x[k].as_i64()
            .unwrap_or_else(|| panic!("{k} is a count: {x}"))
    })
}

/// The record lines of a report, by unit code ("unallocated" for that line).
fn lines(records: &Value) -> BTreeMap<String, Value> {
    records["by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let key = match l[0]["level"].as_str() {
                Some("unallocated") => "unallocated".to_string(),
                _ => l[0]["code"].as_str().unwrap().to_string(),
            };
            (key, l[1].clone())
        })
        .collect()
}

/// Ba Đình: An, Bảo, Chi and Em (of old Quán Thánh) alive with a record; Đức's closed.
const BA_DINH: [i64; 8] = [4, 4, 2, 1, 1, 1, 1, 2];
/// Hoàn Kiếm: Giang (elderly, not examined) and Hà (examined).
const HOAN_KIEM: [i64; 8] = [2, 2, 1, 1, 1, 1, 0, 0];
/// Khoa of old Hàng Gai, divided by the reform: never guessed into a new commune.
const UNALLOCATED: [i64; 8] = [1, 1, 0, 0, 0, 0, 0, 0];
const PROVINCE: [i64; 8] = [7, 7, 3, 2, 2, 2, 1, 2];

async fn the_province_sees_each_commune_and_the_station_its_own() {
    let w = world().await;
    let year = chrono::Datelike::year(&today());

    // The province, in today's units: each commune, the unallocated line, the total.
    let d = w.json("so01", "/api/v1/reports/dashboard?unit=01").await;
    let r = &d["records"];
    assert_eq!(d["records_only"], false);
    assert_eq!(r["year"], year, "{r}");
    assert_eq!(r["as_of"], today().to_string());
    let by = lines(r);
    assert_eq!(counts(&by["00004"]), BA_DINH, "{r}");
    assert_eq!(counts(&by["00040"]), HOAN_KIEM, "{r}");
    assert_eq!(counts(&by["unallocated"]), UNALLOCATED, "{r}");
    assert_eq!(counts(&r["total"]), PROVINCE, "{r}");
    // Every other commune of the province is listed, with nothing (five communes in
    // the synthetic catalog, and the unallocated line).
    assert_eq!(by.len(), 6, "{r}");
    assert_eq!(counts(&by["00070"]), [0; 8]);
    // The headline percentages.
    let t = &r["total"];
    assert_eq!(t["record_rate"], 100.0);
    assert_eq!(t["complete_a_rate"], 42.86);
    assert_eq!(t["complete_b_rate"], 28.57);
    assert_eq!(t["examined_rate"], 28.57);
    assert_eq!(t["elderly_examined_rate"], 50.0);
    assert_eq!(by["00004"]["complete_a_rate"], 50.0);
    assert_eq!(by["00040"]["elderly_examined_rate"], 0.0);
    // The record figures agree with the adoption figures on the residents.
    assert_eq!(d["adoption"]["population"], 7);

    // A commune's own page: its line.
    let d = w.json("so01", "/api/v1/reports/dashboard?unit=00004").await;
    assert_eq!(counts(&d["records"]["total"]), BA_DINH);
    let by = lines(&d["records"]);
    assert_eq!(by.keys().collect::<Vec<_>>(), ["00004"]);

    // In the old units (a period before the reform), through the lineage: Ba Đình and
    // old Quán Thánh in Quận Ba Đình; Hoàn Kiếm and old Hàng Gai in Quận Hoàn Kiếm.
    let d = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit=01&{BEFORE}"),
        )
        .await;
    assert_eq!(d["units"], "old");
    let by = lines(&d["records"]);
    assert_eq!(counts(&by["001"]), BA_DINH, "{}", d["records"]);
    let mut hoan_kiem = HOAN_KIEM;
    for (x, y) in hoan_kiem.iter_mut().zip(UNALLOCATED) {
        *x += y;
    }
    assert_eq!(counts(&by["002"]), hoan_kiem, "{}", d["records"]);
    assert!(!by.contains_key("unallocated"));
    assert_eq!(counts(&d["records"]["total"]), PROVINCE);

    // Another province sees none of it, and has no records of its own.
    let (s, _) = w.get("so24", "/api/v1/reports/dashboard?unit=01").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let d = w.json("so24", "/api/v1/reports/dashboard").await;
    assert_eq!(counts(&d["records"]["total"]), [0; 8]);

    // The commune's officer: their commune, its residents and records only.
    for path in [
        "/api/v1/reports/dashboard",
        "/api/v1/reports/dashboard?unit=00004",
    ] {
        let d = w.json("tram04", path).await;
        assert_eq!(d["records_only"], true, "{d}");
        assert_eq!(d["unit"]["code"], "00004");
        assert_eq!(counts(&d["records"]["total"]), BA_DINH);
        assert_eq!(d["adoption"]["population"], 4);
        assert!(d["facilities"].as_array().unwrap().is_empty());
        assert!(d["sla"].as_array().unwrap().is_empty());
    }
    // Always in the units of its commune (today's), whatever the period.
    let d = w
        .json(
            "tram04",
            &format!("/api/v1/reports/dashboard?units=old&{BEFORE}"),
        )
        .await;
    assert_eq!(d["units"], "new");
    assert_eq!(counts(&d["records"]["total"]), BA_DINH);
    let d = w.json("tram40", "/api/v1/reports/dashboard").await;
    assert_eq!(counts(&d["records"]["total"]), HOAN_KIEM);
    for path in [
        "/api/v1/reports/dashboard?unit=00040",
        "/api/v1/reports/dashboard?unit=01",
        "/nhan-vien/bao-cao?unit=00040",
    ] {
        let (s, _) = w.get("tram04", path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }

    // The pages: the section with its headline and table.
    let page = w.page("so01", "/nhan-vien/bao-cao?unit=01").await;
    for want in [
        r#"<h2 id="ho-so">Hồ sơ sức khỏe cá nhân (QĐ 831)</h2>"#,
        "Người cao tuổi đã khám trong năm",
        ">42,9%<",
        ">50,0%<",
        r#"aria-label="Bảng hồ sơ sức khỏe theo đơn vị""#,
        "Phường Ba Đình</a></th><td class=\"n\">4</td><td class=\"n\">4 <span class=\"muted\">(100,0%)</span></td><td class=\"n\">2 <span class=\"muted\">(50,0%)</span></td>",
        "Chưa phân bổ (đơn vị cũ bị chia tách)</th><td class=\"n\">1</td>",
        "<tr class=\"total\"><th scope=\"row\">Tổng cộng</th><td class=\"n\">7</td>",
    ] {
        assert!(page.contains(want), "the province's page lacks {want:?}");
    }
    assert!(page.contains(r#"<h2 id="co-so">"#));
    let page = w.page("tram04", "/nhan-vien/bao-cao").await;
    assert!(page.contains(r#"<h2 id="ho-so">"#));
    assert!(page.contains("<th scope=\"row\">Phường Ba Đình</th><td class=\"n\">4</td>"));
    assert!(!page.contains("Phường Hoàn Kiếm"));
    assert!(!page.contains(r#"<h2 id="co-so">"#), "no facility figures");
    assert!(!page.contains("<tr class=\"total\">"), "one line, no total");

    // The export has the lines.
    let (s, r) = w
        .get(
            "so01",
            "/nhan-vien/bao-cao/xuat.csv?unit=01&section=records",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains("\n00004,Phường Ba Đình,4,4,100.00,2,50.00,1,25.00,1,25.00,1,1,100.00,2\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n01,Tổng cộng,7,7,100.00,3,42.86,2,28.57,2,28.57,2,1,50.00,2"),
        "{csv}"
    );

    // Resolving a mismatch takes it off the count.
    let issue = w
        .store
        .station_issues("00004", true, 10)
        .unwrap()
        .into_iter()
        .find(|i| i.kind == "registry_mismatch")
        .unwrap();
    assert!(
        w.store
            .resolve_issue("00004", issue.id, "tram04", "Đã đối chiếu CCCD")
            .unwrap()
    );
    let d = w.json("tram04", "/api/v1/reports/dashboard").await;
    assert_eq!(d["records"]["total"]["mismatches_open"], 1);
}
both!(the_province_sees_each_commune_and_the_station_its_own);

async fn the_monthly_report_carries_the_record_lines() {
    let w = world().await;
    let t = today();
    let year = chrono::Datelike::year(&t);
    let month = t.format("%Y-%m").to_string();

    // The station files its month; its report shows the record lines of its commune.
    let r = w
        .http
        .put(format!(
            "{}/api/v1/reports/unit-reports/00004/{month}",
            w.base
        ))
        .bearer_auth(&w.tokens["tram04"])
        .json(&json!([{
            "department": "Trạm y tế", "total_staff": 6, "vneid_activated": 5, "vneid_not": 1,
            "vneid_reason": "Chưa có căn cước gắn chip", "book_created": 6,
            "card_integrated": 6, "card_not": 0
        }]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let rep = w
        .json(
            "tram04",
            &format!("/api/v1/reports/unit-reports?month={month}"),
        )
        .await;
    assert_eq!(rep["unit"]["code"], "00004");
    assert_eq!(rep["records"]["year"], year);
    assert_eq!(counts(&rep["records"]["total"]), BA_DINH, "{rep}");
    assert_eq!(rep["total"]["total_staff"], 6);
    // Not another commune's.
    let (s, _) = w
        .get(
            "tram04",
            &format!("/api/v1/reports/unit-reports?unit=00040&month={month}"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A month of last year counts last year's examinations: none were made then.
    let last = format!("{}-12", year - 1);
    let rep = w
        .json(
            "tram04",
            &format!("/api/v1/reports/unit-reports?month={last}"),
        )
        .await;
    assert_eq!(rep["records"]["year"], year - 1);
    assert_eq!(rep["records"]["as_of"], format!("{}-12-31", year - 1));
    let mut before = BA_DINH;
    before[4] = 0; // examined
    before[6] = 0; // elderly examined
    assert_eq!(counts(&rep["records"]["total"]), before);

    // The province's consolidation: a line per commune and the total.
    let rep = w
        .json(
            "so01",
            &format!("/api/v1/reports/unit-reports?unit=01&month={month}"),
        )
        .await;
    let by = lines(&rep["records"]);
    assert_eq!(counts(&by["00004"]), BA_DINH);
    assert_eq!(counts(&by["00040"]), HOAN_KIEM);
    assert_eq!(counts(&rep["records"]["total"]), PROVINCE);

    // The station's page.
    let page = w
        .page(
            "tram04",
            &format!("/nhan-vien/bao-cao/phu-luc-1?month={month}"),
        )
        .await;
    for want in [
        format!("Hồ sơ sức khỏe cá nhân theo QĐ 831 (năm {year})"),
        "không nhập tay".to_string(),
        "<th scope=\"row\">Phường Ba Đình</th><td class=\"n\">4</td><td class=\"n\">4 <span class=\"muted\">(100,0%)</span></td>".to_string(),
        "<td class=\"n\">1 / 1 <span class=\"muted\">(100,0%)</span></td><td class=\"n\">2</td></tr>".to_string(),
        // Its filing form is still there.
        "Nộp báo cáo của đơn vị".to_string(),
    ] {
        assert!(page.contains(&want), "the station's report lacks {want:?}");
    }

    // The PDFs, read back as text (kept under target/screenshots/, named by backend:
    // both runs of this test write at once).
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let backend = format!("{:?}", common::backend()).to_lowercase();
    let text_of = async |who: &str, query: &str| {
        let (s, r) = w
            .get(who, &format!("/nhan-vien/bao-cao/phu-luc-1.pdf?{query}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{who} {query}");
        let pdf = r.bytes().await.unwrap().to_vec();
        assert!(pdf.starts_with(b"%PDF-"));
        let path = out.join(format!("phu-luc-1-ho-so-{who}-{backend}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let text = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) reads the PDF");
        String::from_utf8_lossy(&text.stdout).to_string()
    };
    let text = text_of("tram04", &format!("month={month}")).await;
    for want in [
        "TRẠM Y TẾ",
        "Hồ sơ sức khỏe cá nhân theo QĐ 831",
        &format!("năm {year}"),
        "Phường Ba Đình (00004)",
        "4 (100,0%)",
        "2 (50,0%)",
        "1 (25,0%)",
        "1 (100,0%)",
        "Trạm y tế",
    ] {
        assert!(
            text.contains(want),
            "the station's PDF lacks {want:?}: {text}"
        );
    }
    let row = text
        .lines()
        .find(|l| l.contains("Phường Ba Đình (00004)") && l.contains('%'))
        .unwrap_or_else(|| panic!("the line of the commune: {text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells.last(), Some(&"2"), "mismatches open: {row}");
    let text = text_of("so01", &format!("unit=01&month={month}")).await;
    for want in [
        "SỞ Y TẾ",
        "Phường Ba Đình (00004)",
        "Phường Hoàn Kiếm (00040)",
        "Chưa phân bổ",
        "Tổng cộng",
        "7 (100,0%)",
        "3 (42,9%)",
    ] {
        assert!(
            text.contains(want),
            "the province's PDF lacks {want:?}: {text}"
        );
    }
}
both!(the_monthly_report_carries_the_record_lines);
