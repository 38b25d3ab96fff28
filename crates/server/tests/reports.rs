//! Reports over loopback HTTP: figures equal the ground truth of the generated data,
//! each officer sees their unit and below, drill-down narrows to a district and a
//! commune, exports open (XLSX read back by an independent reader, CSV parsed, PDF
//! rendered), and the monthly unit report consolidates and lists late units.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use book::IdKind;
use book::access::Role;
use dossier::{Options, Spec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use store::{Meta, Prepared, Resident, Source, StaffAccount, Store, now_ms};
use synth::catalog::PROVINCES;
use synth::{Config, Generator};

struct World {
    base: String,
    store: Arc<dyn Store>,
    g: Generator,
    tokens: BTreeMap<&'static str, String>,
    residents: Vec<Resident>,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn account(username: &str, role: Role, unit: Option<&str>, facility: Option<&str>) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: username.into(),
        role,
        unit: unit.map(Into::into),
        facility: facility.map(Into::into),
        practising_cert: (role == Role::Clinician).then(|| "1/CCHN".into()),
        active: true,
    }
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
    let g = Generator::new(Config {
        persons: 120,
        episodes: 500,
        seed: 9,
        ..Config::default()
    });
    for (i, e) in g.episodes().enumerate() {
        let meta = || Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        let raw = e.checkin_bytes(Spec::Qd3176);
        let parsed = dossier::parse_checkin(&raw, &Options::default());
        store
            .ingest(Prepared::checkin(meta(), &raw, &parsed))
            .unwrap();
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        // Envelopes carry a signature verdict (check-ins were not checked).
        let mut p = Prepared::envelope(meta(), &raw, &parsed);
        p.signature = Some(store::SignatureNote {
            status: ["verified", "invalid_signature", "unsigned"][i % 3].into(),
            signer: None,
        });
        store.ingest(p).unwrap();
    }
    // The registry: generated persons where they live, some dead.
    let mut residents = Vec::new();
    let mut seen = HashSet::new();
    for j in 0..120 {
        let p = g.person(j);
        let Some(pid) = p.personal_id else { continue };
        if seen.insert(pid.clone()) {
            residents.push(Resident {
                personal_id: pid,
                unit: p.commune.0.into(),
                status: if j % 10 == 0 { "dead" } else { "alive" }.into(),
                ..Resident::default()
            });
        }
    }
    store.import_population(&residents).unwrap();
    let mut tokens = BTreeMap::new();
    let district_01 = PROVINCES[0].districts[0].code;
    let commune_01 = PROVINCES[0].districts[0].communes[0].0;
    for (key, a) in [
        ("sa", account("sa", Role::SystemAdmin, None, None)),
        (
            "so01",
            account("so01", Role::ProvincialOfficer, Some("01"), None),
        ),
        (
            "so79",
            account("so79", Role::ProvincialOfficer, Some("79"), None),
        ),
        (
            "huyen",
            account("huyen", Role::DistrictOfficer, Some(district_01), None),
        ),
        (
            "bhxh01",
            account("bhxh01", Role::InsuranceOfficer, Some("01"), None),
        ),
        (
            "xa",
            account("xa", Role::CommuneStaff, Some(commune_01), None),
        ),
        ("bs", account("bs", Role::Clinician, None, Some("01001"))),
        (
            "qt",
            account("qt", Role::FacilityAdmin, None, Some("01001")),
        ),
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
        g,
        tokens,
        residents,
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, who: &str, path: &str) -> (StatusCode, reqwest::Response) {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
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
}

const ALL_TIME: &str = "from=2000-01-01&to=2100-01-01";

async fn figures_equal_the_ground_truth_per_unit_and_drill_down() {
    let w = world().await;
    // Ground truth from the generated episodes: per province, dossiers and check-ins.
    let mut dossiers: BTreeMap<String, i64> = BTreeMap::new();
    for e in w.g.episodes() {
        *dossiers
            .entry(e.facility.code[..2].to_string())
            .or_default() += 1;
    }
    let d = w
        .json("so01", &format!("/api/v1/reports/dashboard?{ALL_TIME}"))
        .await;
    assert_eq!(
        d["unit"]["code"], "01",
        "an officer starts at their province"
    );
    assert_eq!(d["totals"]["dossiers"], dossiers["01"]);
    assert_eq!(
        d["totals"]["checkins"], dossiers["01"],
        "one check-in per episode"
    );
    let mut verdicts = [0, 0, 0];
    for f in d["facilities"].as_array().unwrap() {
        assert!(
            f["code"].as_str().unwrap().starts_with("01"),
            "only Hà Nội's facilities"
        );
        // Every envelope's verdict is counted, check-ins have none.
        let n = |k: &str| f[k].as_i64().unwrap();
        assert_eq!(
            n("signed") + n("unsigned"),
            n("submissions") - n("checkins"),
            "{f}"
        );
        assert_eq!(
            n("signature_valid") + n("signature_invalid"),
            n("signed"),
            "{f}"
        );
        verdicts[0] += n("signature_valid");
        verdicts[1] += n("signature_invalid");
        verdicts[2] += n("unsigned");
    }
    assert!(verdicts.iter().all(|v| *v > 0), "{verdicts:?}");
    // Adoption: alive residents of Hà Nội communes, and those with a book.
    let hanoi: HashSet<&str> = PROVINCES[0]
        .districts
        .iter()
        .flat_map(|d| d.communes.iter().map(|c| c.0))
        .collect();
    let alive: Vec<&Resident> = w
        .residents
        .iter()
        .filter(|r| r.status == "alive" && hanoi.contains(r.unit.as_str()))
        .collect();
    let with_book = alive
        .iter()
        .filter(|r| {
            w.store
                .person_by_identifier(IdKind::PersonalId, &r.personal_id)
                .unwrap()
                .is_some_and(|p| !w.store.episodes_of(p.id).unwrap().is_empty())
        })
        .count();
    assert_eq!(d["adoption"]["population"], alive.len() as i64);
    assert_eq!(d["adoption"]["with_book"], with_book as i64);
    let by_unit: i64 = d["adoption_by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[1]["population"].as_i64().unwrap())
        .sum();
    assert_eq!(
        by_unit,
        alive.len() as i64,
        "the districts add up to the province"
    );
    // Drill down: a district, then a commune, narrow the facilities.
    let district = &PROVINCES[0].districts[0];
    let dd = w
        .json(
            "so01",
            &format!(
                "/api/v1/reports/dashboard?unit={}&{ALL_TIME}",
                district.code
            ),
        )
        .await;
    let in_district: i64 = dd["adoption_by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[1]["population"].as_i64().unwrap())
        .sum();
    assert_eq!(dd["adoption"]["population"], in_district);
    assert!(
        dd["facilities"].as_array().unwrap().len() <= d["facilities"].as_array().unwrap().len()
    );
    let commune = district.communes[0].0;
    let dc = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit={commune}&{ALL_TIME}"),
        )
        .await;
    for f in dc["facilities"].as_array().unwrap() {
        let code = f["code"].as_str().unwrap();
        assert_eq!(
            w.store.facility(code).unwrap().unwrap().unit.as_deref(),
            Some(commune)
        );
    }
    // The country, for the system administrator: every dossier.
    let n = w
        .json("sa", &format!("/api/v1/reports/dashboard?{ALL_TIME}"))
        .await;
    assert_eq!(n["totals"]["dossiers"], 500);
    // SLA: every submission counted, none over 24 h; all synthetic dossiers are late.
    let sla: i64 = n["sla"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["dossiers"].as_i64().unwrap())
        .sum();
    assert_eq!(sla, 500);
    assert!(
        n["sla"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["over_24h"] == 0)
    );
    assert_eq!(
        n["totals"]["late"][4].as_i64().unwrap()
            + n["totals"]["late"][3].as_i64().unwrap()
            + n["totals"]["late"][2].as_i64().unwrap(),
        500
    );
    // Data quality shares are percentages of the dossiers.
    let q = n["totals"]["with_icd_rate"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&q));
}
both!(figures_equal_the_ground_truth_per_unit_and_drill_down);

async fn each_officer_sees_their_unit_and_below_only() {
    let w = world().await;
    let district = PROVINCES[0].districts[0].code;
    for (who, unit, ok) in [
        ("so01", "01", true),
        ("so01", district, true),
        ("so01", "79", false),
        ("so79", "01", false),
        ("so79", "79", true),
        ("huyen", district, true),
        ("huyen", "01", false),
        ("huyen", PROVINCES[0].districts[1].code, false),
        ("bhxh01", "01", true),
        ("bhxh01", "79", false),
        ("sa", "79", true),
        ("bs", "01", false),
        ("qt", "01", false),
        ("xa", "01", false),
    ] {
        for path in [
            format!("/api/v1/reports/dashboard?unit={unit}"),
            format!("/nhan-vien/bao-cao?unit={unit}"),
            format!("/nhan-vien/bao-cao/xuat.xlsx?unit={unit}"),
            format!("/api/v1/reports/unit-reports?unit={unit}"),
        ] {
            let (s, _) = w.get(who, &path).await;
            assert_eq!(s.is_success(), ok, "{who} {path}: {s}");
            if !ok {
                assert_eq!(s, StatusCode::FORBIDDEN, "{who} {path}");
            }
        }
    }
    // The country is the system administrator's only.
    let (s, _) = w.get("sa", "/api/v1/reports/dashboard?unit=").await;
    assert_eq!(s, StatusCode::OK);
    let d = w.json("so01", "/api/v1/reports/dashboard?unit=").await;
    assert_eq!(d["unit"]["code"], "01", "an empty unit means one's own");
}
both!(each_officer_sees_their_unit_and_below_only);

async fn exports_open_in_independent_readers() {
    let w = world().await;
    let d = w
        .json("so01", &format!("/api/v1/reports/dashboard?{ALL_TIME}"))
        .await;
    // XLSX, read back by calamine.
    let (s, r) = w
        .get("so01", &format!("/nhan-vien/bao-cao/xuat.xlsx?{ALL_TIME}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = r.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "adoption",
            "facilities",
            "quality",
            "sla",
            "late",
            "records",
            "programmes"
        ]
    );
    let sheet = book.worksheet_range("quality").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows[0][0].to_string(), "facility");
    assert_eq!(rows.len() - 1, d["facilities"].as_array().unwrap().len());
    let total: f64 = rows[1..]
        .iter()
        .map(|r| r[2].to_string().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total as i64, d["totals"]["dossiers"].as_i64().unwrap());
    // Codes keep their leading zeros.
    assert!(rows[1][0].to_string().starts_with("01"));
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("bao-cao.xlsx"), &bytes).unwrap();
    // CSV with a header, one row per facility × care type × BHYT.
    let (s, r) = w
        .get(
            "so01",
            &format!("/nhan-vien/bao-cao/xuat.csv?{ALL_TIME}&section=facilities"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let text = r.text().await.unwrap();
    let mut rd = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(rd.headers().unwrap().get(0), Some("facility"));
    let dossiers: i64 = rd
        .records()
        .map(|r| r.unwrap()[5].parse::<i64>().unwrap())
        .sum();
    assert_eq!(dossiers, d["totals"]["dossiers"].as_i64().unwrap());
    // The monthly report: a commune files, the province sees it consolidated.
    let commune = PROVINCES[0].districts[0].communes[0].0;
    let month = "2026-01";
    let lines = json!([
        {"department": "Trạm y tế", "total_staff": 10, "vneid_activated": 8, "vneid_not": 2,
         "vneid_reason": REASON, "book_created": 8, "card_integrated": 10, "card_not": 0}
    ]);
    let c = reqwest::Client::new();
    let r = c
        .put(format!(
            "{}/api/v1/reports/unit-reports/{commune}/{month}",
            w.base
        ))
        .bearer_auth(&w.tokens["xa"])
        .json(&lines)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Inconsistent counts are refused, naming what is wrong.
    let bad = json!([{"department": "Trạm y tế", "total_staff": 10, "vneid_activated": 9, "vneid_not": 2,
        "vneid_reason": "x", "book_created": 8, "card_integrated": 10, "card_not": 0}]);
    let r = c
        .put(format!(
            "{}/api/v1/reports/unit-reports/{commune}/{month}",
            w.base
        ))
        .bearer_auth(&w.tokens["xa"])
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("must equal total staff"));
    // Another commune's report is not the commune staff's to file.
    let other = PROVINCES[0].districts[0].communes[1].0;
    let r = c
        .put(format!(
            "{}/api/v1/reports/unit-reports/{other}/{month}",
            w.base
        ))
        .bearer_auth(&w.tokens["xa"])
        .json(&lines)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let rep = w
        .json(
            "so01",
            &format!("/api/v1/reports/unit-reports?month={month}"),
        )
        .await;
    assert_eq!(rep["total"]["total_staff"], 10);
    assert_eq!(rep["total"]["vneid_not"], 2);
    assert!(
        rep["late"].as_bool().unwrap(),
        "January's reports were due on 10 February"
    );
    let communes: usize = PROVINCES[0]
        .districts
        .iter()
        .map(|d| d.communes.len())
        .sum();
    assert_eq!(rep["missing"].as_array().unwrap().len(), communes - 1);
    // Its printable PDF renders, Vietnamese included.
    let (s, r) = w
        .get(
            "so01",
            &format!("/nhan-vien/bao-cao/phu-luc-1.pdf?month={month}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let pdf = r.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    // Named by backend: both runs of this test write here at once.
    let stem = format!("phu-luc-1-{:?}", common::backend()).to_lowercase();
    let path = out.join(format!("{stem}.pdf"));
    std::fs::write(&path, &pdf).unwrap();
    let png = out.join(&stem);
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg(&png)
        .status()
        .expect("pdftoppm (Debian poppler-utils; .ci/run installs it) renders the PDF");
    assert!(status.success());
    let rendered = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{stem}-"))
                && e.file_name().to_string_lossy().ends_with(".png")
        });
    assert!(rendered, "the PDF rendered to an image");
    // An administrative document: the agency, the national motto, the title, every
    // reason whole (wrapped in its cell, never cut), and the signature block.
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) reads the PDF");
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND HÀ NỘI",
        "SỞ Y TẾ HÀ NỘI",
        "BÁO CÁO THÁNG 01/2026",
        "NGƯỜI LẬP BIỂU",
        "THỦ TRƯỞNG ĐƠN VỊ",
        "Hà Nội, ngày",
        "10/02/2026",
    ] {
        assert!(text.contains(want), "the PDF lacks {want:?}: {text}");
    }
    for word in REASON.split_whitespace() {
        assert!(text.contains(word), "the reason lost {word:?}: {text}");
    }
    assert!(!text.contains('…'), "nothing is cut: {text}");
}

/// A reason long enough to need several lines in its column.
const REASON: &str = "Chưa có điện thoại thông minh để cài đặt ứng dụng VNeID, đã hẹn tháng sau";
both!(exports_open_in_independent_readers);

/// Every figure of a unit's page is the unit's and the period's: rejected submissions
/// received before the period, or by another province's facility, are not counted,
/// and a unit's SLA counts the submissions of its own facilities received in the
/// period, never the country's.
async fn every_figure_is_the_units_and_the_periods() {
    let w = world().await;
    let today = chrono::Utc::now().date_naive();
    let period = format!(
        "from={}&to={}",
        today - chrono::Duration::days(9),
        today + chrono::Duration::days(1)
    );
    let path = |unit: &str, period: &str| format!("/api/v1/reports/dashboard?unit={unit}&{period}");
    let before = w.json("so01", &path("01", &period)).await;
    let before_all = w.json("so01", &path("01", ALL_TIME)).await;
    // Rejected submissions (not even XML): Hà Nội's, 40 days ago and now; Hồ Chí
    // Minh City's now.
    let hcm = w
        .store
        .facilities()
        .unwrap()
        .into_iter()
        .find(|f| f.code.starts_with("79"))
        .expect("a facility of province 79")
        .code;
    let reject = |facility: &str, received_at: i64| {
        let meta = Meta {
            facility: facility.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at,
        };
        let raw = b"not a dossier".to_vec();
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let p = Prepared::envelope(meta, &raw, &parsed);
        assert!(!p.accepted);
        w.store.ingest(p).unwrap();
    };
    let old = now_ms() - 40 * 86_400_000;
    for _ in 0..3 {
        reject("01001", old);
    }
    for _ in 0..2 {
        reject("01001", now_ms());
    }
    for _ in 0..4 {
        reject(&hcm, now_ms());
    }
    let n = |v: &Value, k: &str| v["totals"][k].as_i64().unwrap();
    let after = w.json("so01", &path("01", &period)).await;
    assert_eq!(
        n(&after, "rejected"),
        n(&before, "rejected") + 2,
        "only the period's rejections"
    );
    assert_eq!(n(&after, "submissions"), n(&before, "submissions") + 2);
    let after_all = w.json("so01", &path("01", ALL_TIME)).await;
    assert_eq!(n(&after_all, "rejected"), n(&before_all, "rejected") + 5);
    assert_eq!(
        n(&after_all, "submissions"),
        n(&before_all, "submissions") + 5
    );
    // A facility's line counts only its own submissions.
    let line = after["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "01001")
        .unwrap();
    let line_before = before["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "01001")
        .unwrap();
    assert_eq!(
        line["rejected"].as_i64().unwrap(),
        line_before["rejected"].as_i64().unwrap() + 2
    );
    // The SLA: the country's counts every visible submission; a unit's, those of its
    // own facilities.
    let sla = |d: &Value| -> i64 {
        d["sla"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["dossiers"].as_i64().unwrap())
            .sum()
    };
    let codes = |d: &Value| -> HashSet<String> {
        d["facilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    let country = w.json("sa", &path("", ALL_TIME)).await;
    assert_eq!(sla(&country), 500);
    assert_eq!(country["sla_by_unit"], true);
    let hanoi: HashSet<String> = w
        .store
        .facilities()
        .unwrap()
        .into_iter()
        .filter(|f| f.province == "01")
        .map(|f| f.code)
        .collect();
    let district = PROVINCES[0].districts[0].code;
    for unit in ["01", district] {
        let d = w.json("so01", &path(unit, ALL_TIME)).await;
        assert_eq!(d["sla_by_unit"], true, "{unit}");
        let own = codes(&d);
        if unit == "01" {
            assert_eq!(own, hanoi);
        }
        // The ground truth: the generated dossiers sent by the unit's facilities.
        let want =
            w.g.episodes()
                .filter(|e| own.contains(e.facility.code))
                .count() as i64;
        assert!(want > 0 && want < 500, "{unit}: {want}");
        assert_eq!(sla(&d), want, "{unit}: {}", d["sla"]);
    }
    // Dossiers made visible: by a facility of Hà Nội 40 days ago and twice now, by
    // one of Hồ Chí Minh City now. Only the period's and the unit's count.
    let before_01 = w.json("so01", &path("01", &period)).await;
    let before_01_all = w.json("so01", &path("01", ALL_TIME)).await;
    let before_79 = w.json("sa", &path("79", &period)).await;
    let before_country = w.json("sa", &path("", &period)).await;
    let more = Generator::new(Config {
        persons: 40,
        episodes: 120,
        seed: 77,
        ..Config::default()
    });
    let province_79: HashSet<String> = w
        .store
        .facilities()
        .unwrap()
        .into_iter()
        .filter(|f| f.province == "79")
        .map(|f| f.code)
        .collect();
    let of = |facilities: &HashSet<String>| {
        more.episodes()
            .filter(|e| facilities.contains(e.facility.code))
            .take(3)
            .collect::<Vec<_>>()
    };
    let (ha_noi, hcm_city) = (of(&hanoi), of(&province_79));
    assert_eq!(ha_noi.len(), 3);
    assert!(!hcm_city.is_empty());
    let show = |e: &synth::Episode, received_at: i64| {
        let meta = Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at,
        };
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let r = w
            .store
            .ingest(Prepared::envelope(meta, &raw, &parsed))
            .unwrap();
        assert!(
            r.episodes.iter().any(|l| !l.unchanged),
            "shows something new"
        );
    };
    show(&ha_noi[0], old);
    show(&ha_noi[1], now_ms());
    show(&ha_noi[2], now_ms());
    show(&hcm_city[0], now_ms());
    let after_01 = w.json("so01", &path("01", &period)).await;
    assert_eq!(
        sla(&after_01),
        sla(&before_01) + 2,
        "the period's, Hà Nội's"
    );
    let after_01_all = w.json("so01", &path("01", ALL_TIME)).await;
    assert_eq!(sla(&after_01_all), sla(&before_01_all) + 3);
    let after_79 = w.json("sa", &path("79", &period)).await;
    assert_eq!(sla(&after_79), sla(&before_79) + 1, "Hồ Chí Minh City's");
    let after_country = w.json("sa", &path("", &period)).await;
    assert_eq!(sla(&after_country), sla(&before_country) + 3);
    // The page shows the unit's own, in Vietnamese, with the period in dd/mm/yyyy.
    let (s, r) = w
        .get("so01", &format!("/nhan-vien/bao-cao?unit=01&{ALL_TIME}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Kỳ báo cáo: từ 01/01/2000 đến 01/01/2100"));
    assert!(!page.contains("chưa tách theo cơ sở"));
    assert!(page.contains("Tính trên các lần gửi của các cơ sở thuộc"));
    assert!(page.contains("Bảng thời gian đưa lên sổ"));
}
both!(every_figure_is_the_units_and_the_periods);
