//! The station programmes in the reports, over loopback HTTP on SQLite and PostgreSQL:
//! two communes of Hà Nội keep children born last year (one fully immunised at 12
//! months, one stopped after DPT-VGB-Hib 1, one never vaccinated and measured
//! underweight), a hypertension register entry controlled and a diabetes one past its
//! appointment, and two elderly residents (one examined this year). The province's
//! dashboard counts coverage by dose, full immunisation, the DTP1 → DTP3 drop-out, the
//! NCD indicators, growth shares and the elderly's checks per commune and in total; a
//! commune station sees its own commune; the monthly report (Phụ lục 1) carries the
//! same figures on its page and in its PDF.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use book::access::Role;
use book::ncd::{Detected, Disease, FollowUp};
use chrono::{Datelike, NaiveDate};
use reqwest::StatusCode;
use serde_json::Value;
use server::App;
use service::{Actor, DoseEntry, RecordEdit, Service};
use store::{Resident, StaffAccount, Store};

const KID1: &str = "001225000401"; // 00004, born 15/01 last year: fully immunised
const KID2: &str = "001225000402"; // 00004, born 10/03 last year: DPT-VGB-Hib 1 only
const KID3: &str = "001225000403"; // 00040, born 01/06 last year: none, underweight
const OLD1: &str = "001050000404"; // 00004, born 1950: examined this year
const OLD2: &str = "001052000405"; // 00040, born 1952: not examined
const HUNG: &str = "001075000406"; // 00040: hypertension, controlled
const DIEP: &str = "001080000407"; // 00040: diabetes, appointment missed

struct World {
    base: String,
    tokens: BTreeMap<&'static str, String>,
    http: reqwest::Client,
    cohort: i32,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn today() -> NaiveDate {
    server::vn_now().date()
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

fn station(store: &Arc<dyn Store>, a: &StaffAccount) -> Actor {
    Actor::Staff {
        scope: store.place_of_unit(a.unit.as_deref().unwrap()).unwrap(),
        account: a.clone(),
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    let s = server::registry::synthetic_catalog_2025();
    store.import_units(&s.units).unwrap();
    store.import_unit_lineage(&s.lineage).unwrap();
    store.import_facilities(&s.facilities).unwrap();
    let y = today().year() - 1;
    let resident = |pid: &str, name: &str, birth: String, sex: &str, unit: &str| Resident {
        personal_id: pid.into(),
        name: Some(name.into()),
        birth: Some(birth),
        sex: Some(sex.into()),
        unit: unit.into(),
        status: "alive".into(),
    };
    store
        .import_population(&[
            resident(KID1, "Nguyễn Văn Đủ", format!("{y}0115"), "1", "00004"),
            resident(KID2, "Trần Thị Thiếu", format!("{y}0310"), "2", "00004"),
            resident(KID3, "Lê Văn Gầy", format!("{y}0601"), "1", "00040"),
            resident(OLD1, "Phạm Văn Khám", "19500101".into(), "1", "00004"),
            resident(OLD2, "Đỗ Thị Chưa", "19520202".into(), "2", "00040"),
            resident(HUNG, "Vũ Văn Huyết Áp", "19750303".into(), "1", "00040"),
            resident(DIEP, "Hoàng Thị Đường", "19800404".into(), "2", "00040"),
        ])
        .unwrap();
    let id = |pid: &str| {
        store
            .person_by_identifier(book::IdKind::PersonalId, pid)
            .unwrap()
            .unwrap()
            .id
    };
    let svc = Service::new(store.clone());
    let tram04 = account("tram04", Role::CommuneStaff, "00004");
    let tram40 = account("tram40", Role::CommuneStaff, "00040");
    let (s04, s40) = (station(&store, &tram04), station(&store, &tram40));

    // Vaccinations, entered by the station.
    let d = |m: u32, dd: u32| day(NaiveDate::from_ymd_opt(y, m, dd).unwrap());
    let dose = |vaccine: &str, date: String| DoseEntry {
        vaccine: vaccine.into(),
        date,
        ..DoseEntry::default()
    };
    for e in [
        dose("hepb_birth", d(1, 15)),
        dose("bcg", d(1, 16)),
        dose("dtp_hepb_hib", d(3, 15)),
        dose("opv", d(3, 15)),
        dose("dtp_hepb_hib", d(4, 16)),
        dose("opv", d(4, 16)),
        dose("dtp_hepb_hib", d(5, 17)),
        dose("opv", d(5, 17)),
        dose("ipv", d(6, 18)),
        dose("measles", d(10, 20)),
    ] {
        svc.record_dose(&s04, id(KID1), &e).unwrap();
    }
    svc.record_dose(&s04, id(KID2), &dose("dtp_hepb_hib", d(5, 12)))
        .unwrap();

    // The registers of 00040.
    let t = today();
    for (pid, disease, icd, visit, controlled_bp, next) in [
        (HUNG, Disease::Hypertension, "I10", 20, (128, 82), 10i64),
        (DIEP, Disease::Diabetes, "E11", 90, (150, 95), -30),
    ] {
        let p = id(pid);
        svc.enrol(
            &s40,
            p,
            &service::chronic::NewEnrolment {
                disease,
                icd10: icd.into(),
                detected_on: day(t - chrono::Duration::days(200)),
                detected: Detected::Screening,
                confirmed_by: None,
                note: None,
            },
        )
        .unwrap();
        let f = FollowUp {
            date: day(t - chrono::Duration::days(visit)),
            bp_sys: Some(controlled_bp.0),
            bp_dia: Some(controlled_bp.1),
            glucose: (disease == Disease::Diabetes).then_some(9.5),
            next_date: Some(day(t + chrono::Duration::days(next))),
            ..FollowUp::default()
        };
        svc.add_followup(&s40, p, disease, &f).unwrap();
    }
    // A child measured: far under the weight of their age.
    svc.add_measurement(
        &s40,
        id(KID3),
        &book::growth::Measurement {
            date: day(t - chrono::Duration::days(10)),
            weight_kg: Some(7.0),
            length_cm: Some(79.0),
            lying: Some(true),
            oedema: false,
        },
    )
    .unwrap();
    // The elderly: one examined this year.
    let version = |p: i64| {
        let mut v = 0;
        store
            .transaction(false, &mut |tx| {
                v = tx.health_record(p)?.unwrap().version;
                Ok(())
            })
            .unwrap();
        v
    };
    let exam: BTreeMap<String, String> = [
        ("pulse", "76"),
        ("weight", "60"),
        ("height", "160"),
        ("bp_sys", "128"),
        ("bp_dia", "80"),
        ("diagnosis", "Khám sức khỏe định kỳ người cao tuổi"),
        ("doctor", "BS. Nguyễn Văn Khám"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let old1 = id(OLD1);
    svc.edit_record(
        &s04,
        old1,
        version(old1),
        RecordEdit::Exam {
            date: &day(t),
            items: &exam,
        },
    )
    .unwrap();

    let mut tokens = BTreeMap::new();
    for (key, a) in [
        ("so01", account("so01", Role::ProvincialOfficer, "01")),
        ("tram04", tram04),
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
        tokens,
        http: reqwest::Client::new(),
        cohort: y,
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
}

/// The programme figures of a unit line (`[unit, figures]`) by code.
fn line<'a>(p: &'a Value, code: &str) -> &'a Value {
    &p["by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l[0]["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {p}"))[1]
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("a count: {v}"))
}

/// Children, BCG, DTP1, DTP3, OPV3, measles 1, one year old, fully immunised.
fn vaccination(x: &Value) -> [i64; 8] {
    [
        n(&x["children"]),
        n(&x["doses"]["bcg"]),
        n(&x["doses"]["dtp1"]),
        n(&x["doses"]["dtp3"]),
        n(&x["doses"]["opv3"]),
        n(&x["doses"]["measles1"]),
        n(&x["one_year_old"]),
        n(&x["full_12m"]),
    ]
}

async fn the_dashboard_counts_each_programme_per_commune_and_in_total() {
    let w = world().await;
    let d = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit=01&cohort={}", w.cohort),
        )
        .await;
    let p = &d["programmes"];
    assert_eq!(p["cohort"], w.cohort);
    let total = &p["total"];
    assert_eq!(vaccination(total), [3, 1, 2, 1, 1, 1, 3, 1], "{total}");
    assert_eq!(total["dtp_dropout_rate"], 50.0);
    assert_eq!(total["full_12m_rate"], 33.33);
    assert_eq!(vaccination(line(p, "00004")), [2, 1, 2, 1, 1, 1, 2, 1]);
    assert_eq!(vaccination(line(p, "00040")), [1, 0, 0, 0, 0, 0, 1, 0]);
    // NCD registers: managed, controlled, missed.
    let ncd = |x: &Value, k: &str| {
        [
            n(&x["ncd"][k]["managed"]),
            n(&x["ncd"][k]["controlled"]),
            n(&x["ncd"][k]["missed"]),
        ]
    };
    assert_eq!(ncd(total, "hypertension"), [1, 1, 0], "{total}");
    assert_eq!(ncd(total, "diabetes"), [1, 0, 1]);
    assert_eq!(ncd(line(p, "00040"), "diabetes"), [1, 0, 1]);
    assert_eq!(ncd(line(p, "00004"), "hypertension"), [0, 0, 0]);
    assert_eq!(total["ncd_missed_rate"]["diabetes"], 100.0);
    // Growth: three children under five, one measured, underweight.
    let g = &total["growth"];
    assert_eq!((n(&g["children"]), n(&g["measured"])), (3, 1), "{g}");
    assert_eq!(n(&g["underweight"]), 1);
    assert_eq!(total["underweight_rate"], 100.0);
    // The elderly: two, one checked this year, one due.
    assert_eq!(
        [
            n(&total["elderly"]),
            n(&total["elderly_checked"]),
            n(&total["elderly_due"])
        ],
        [2, 1, 1]
    );
    assert_eq!(n(&line(p, "00040")["elderly_due"]), 1);

    // The station sees its own commune only.
    let own = w.json("tram04", "/api/v1/reports/dashboard").await;
    assert_eq!(own["records_only"], true);
    assert_eq!(
        vaccination(&own["programmes"]["total"]),
        [2, 1, 2, 1, 1, 1, 2, 1]
    );
    assert_eq!(n(&own["programmes"]["total"]["elderly_checked"]), 1);

    // The page shows them.
    let (s, r) = w.get("so01", "/nhan-vien/bao-cao?unit=01").await;
    assert_eq!(s, StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Chương trình y tế tại trạm"));
    assert!(html.contains("Bỏ cuộc DPT1→3"));
    assert!(html.contains("Tăng huyết áp"));
    // And the CSV export: a line per commune and the total.
    let (s, r) = w
        .get(
            "so01",
            &format!(
                "/nhan-vien/bao-cao/xuat.csv?unit=01&cohort={}&section=programmes",
                w.cohort
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = r.text().await.unwrap();
    let total: Vec<&str> = csv
        .lines()
        .find(|l| l.contains("Tổng cộng"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(
        &total[2..6],
        [&w.cohort.to_string(), "3", "1", "1"],
        "{csv}"
    );
}
both!(the_dashboard_counts_each_programme_per_commune_and_in_total);

async fn the_monthly_report_carries_the_programmes() {
    let w = world().await;
    let t = today();
    let first = t.with_day(1).unwrap();
    let last = first.pred_opt().unwrap();
    let month = format!("{:04}-{:02}", last.year(), last.month());
    let c = w
        .json(
            "so01",
            &format!("/api/v1/reports/unit-reports?unit=01&month={month}"),
        )
        .await;
    let p = &c["programmes"];
    assert_eq!(p["cohort"], last.year() - 1);
    if last.year() - 1 == w.cohort {
        // The vaccinations were all given before the month ended.
        assert_eq!(n(&p["total"]["children"]), 3, "{p}");
        assert_eq!(n(&p["total"]["doses"]["dtp1"]), 2);
        assert_eq!(n(&p["total"]["full_12m"]), 1);
    }
    assert_eq!(n(&line(p, "00040")["ncd"]["hypertension"]["managed"]), 1);
    let (s, r) = w
        .get(
            "so01",
            &format!("/nhan-vien/bao-cao/phu-luc-1?unit=01&month={month}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Chương trình y tế tại trạm"), "{html}");
    let (s, r) = w
        .get(
            "so01",
            &format!("/nhan-vien/bao-cao/phu-luc-1.pdf?unit=01&month={month}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"));
}
both!(the_monthly_report_carries_the_programmes);
