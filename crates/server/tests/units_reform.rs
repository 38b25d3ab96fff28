//! Units across the 2025 reform, over loopback HTTP on SQLite and PostgreSQL: a report
//! whose period spans 2025-07-01 is counted in the new units through the lineage (a
//! facility still placed in an old commune lands in the new one; residents of an old
//! commune divided between new ones go to an "unallocated" line, never guessed), the
//! old units stay available for periods before the reform, and the district officer
//! exists only before it (no account scoped to a post-reform unit, no report of a
//! period ending after 2025-06-30).

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use book::access::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use store::{Resident, StaffAccount, Store, UnitLink};
use synth::{Config, Generator};

/// A period across the reform, and one before it.
const SPANNING: &str = "from=2025-01-01&to=2026-12-31";
const BEFORE: &str = "from=2025-01-01&to=2025-06-30";

/// The facility left in an old commune (Phường Hàng Bông, 00076, which went whole into
/// the new Phường Hoàn Kiếm, 00040).
const OLD_PLACED: &str = "01929";

struct World {
    base: String,
    store: Arc<dyn Store>,
    tokens: BTreeMap<&'static str, String>,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn account(username: &str, role: Role, unit: Option<&str>) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: username.into(),
        role,
        unit: unit.map(Into::into),
        facility: None,
        practising_cert: None,
        active: true,
    }
}

/// A resident of the unit `unit`, the `k`-th of the test.
fn resident(k: usize, unit: &str) -> Resident {
    Resident {
        personal_id: format!("001{}{:02}{:06}", k % 4, 40 + k % 50, 700_000 + k),
        unit: unit.into(),
        status: "alive".into(),
        ..Resident::default()
    }
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    let mut s = server::registry::synthetic_catalog_2025();
    // One facility was registered before the reform and never moved to the new units.
    for f in &mut s.facilities {
        if f.code == OLD_PLACED {
            f.unit = Some("00076".into());
        }
    }
    store.import_units(&s.units).unwrap();
    store.import_unit_lineage(&s.lineage).unwrap();
    store.import_facilities(&s.facilities).unwrap();
    // Episodes from 2025-01-01 to 2026-10-31: before and after the reform.
    let g = Generator::new(Config {
        persons: 80,
        episodes: 400,
        seed: 17,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    // Residents: 3 in the old Phường Quán Thánh (00013, merged whole into the new
    // Phường Ba Đình, 00004), 2 in the new Phường Ba Đình, 4 in the old Phường Hàng Gai
    // (00064, divided between Phường Hoàn Kiếm and Phường Cửa Nam).
    let mut residents = Vec::new();
    for (unit, n) in [("00013", 3), ("00004", 2), ("00064", 4)] {
        for _ in 0..n {
            residents.push(resident(residents.len(), unit));
        }
    }
    store.import_population(&residents).unwrap();
    let mut tokens = BTreeMap::new();
    for (key, a) in [
        ("sa", account("sa", Role::SystemAdmin, None)),
        ("so01", account("so01", Role::ProvincialOfficer, Some("01"))),
        // Today's Bắc Ninh (24): it took in the old Bắc Ninh (27) and Bắc Giang (24).
        ("so24", account("so24", Role::ProvincialOfficer, Some("24"))),
        // Quận Ba Đình, a district before the reform.
        (
            "huyen",
            account("huyen", Role::DistrictOfficer, Some("001")),
        ),
    ] {
        store.upsert_staff(&a, Some("mat-khau-don-vi")).unwrap();
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
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, who: &str, path: &str) -> (StatusCode, String) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[who])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn json(&self, who: &str, path: &str) -> Value {
        let (s, body) = self.get(who, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The adoption lines of a dashboard: code (or "unallocated") → residents.
    async fn adoption(&self, who: &str, query: &str) -> (Value, BTreeMap<String, i64>) {
        let d = self
            .json(who, &format!("/api/v1/reports/dashboard?{query}"))
            .await;
        let lines = d["adoption_by_unit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let key = match l[0]["level"].as_str() {
                    Some("unallocated") => "unallocated".to_string(),
                    _ => l[0]["code"].as_str().unwrap().to_string(),
                };
                (key, l[1]["population"].as_i64().unwrap())
            })
            .collect();
        (d, lines)
    }

    /// Dossiers of a facility in the period, from the store's own aggregates.
    fn dossiers_of(&self, facility: &str, from: &str, to: &str) -> i64 {
        self.store
            .facility_stats(from, to)
            .unwrap()
            .iter()
            .filter(|s| s.facility == facility)
            .map(|s| s.dossiers)
            .sum()
    }
}

fn facility_dossiers(d: &Value, code: &str) -> Option<i64> {
    d["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .map(|f| f["dossiers"].as_i64().unwrap())
}

async fn a_period_across_the_reform_is_counted_in_the_new_units() {
    let w = world().await;
    // The province in the new units: its communes, and the split commune's residents
    // on a line of their own.
    let (d, lines) = w.adoption("so01", &format!("unit=01&{SPANNING}")).await;
    assert_eq!(d["units"], "new", "{d}");
    assert!(d["units_note"].is_null());
    assert_eq!(
        lines.get("00004"),
        Some(&5),
        "old 00013 goes into 00004: {lines:?}"
    );
    assert_eq!(lines.get("unallocated"), Some(&4), "{lines:?}");
    assert_eq!(
        lines.get("00040"),
        Some(&0),
        "no guess into Hoàn Kiếm: {lines:?}"
    );
    assert_eq!(
        lines.get("00070"),
        Some(&0),
        "no guess into Cửa Nam: {lines:?}"
    );
    assert!(
        !lines.contains_key("001"),
        "no district after the reform: {lines:?}"
    );
    assert_eq!(d["adoption"]["population"], 9);

    // A facility still placed in an old commune is counted in the new one, with every
    // dossier of the period (before and after 2025-07-01).
    let expected = w.dossiers_of(OLD_PLACED, "2025-01-01", "2026-12-31");
    let before = w.dossiers_of(OLD_PLACED, "2025-01-01", "2025-06-30");
    assert!(before > 0 && expected > before, "{before} {expected}");
    let d = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit=00040&{SPANNING}"),
        )
        .await;
    assert_eq!(d["unit"]["name"], "Phường Hoàn Kiếm");
    assert_eq!(facility_dossiers(&d, OLD_PLACED), Some(expected), "{d}");
    assert_eq!(d["totals"]["dossiers"].as_i64(), Some(expected));

    // Asked in the old units over the same period: still the new units, and why.
    let d = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit=01&units=old&{SPANNING}"),
        )
        .await;
    assert_eq!(d["units"], "new");
    assert!(d["units_note"].as_str().unwrap().contains("01/07/2025"));

    // Before the reform the old units are the default: districts, and the facility in
    // its own old commune.
    let (d, lines) = w.adoption("so01", &format!("unit=01&{BEFORE}")).await;
    assert_eq!(d["units"], "old", "{d}");
    assert_eq!(lines.get("001"), Some(&5), "{lines:?}");
    assert_eq!(lines.get("002"), Some(&4), "{lines:?}");
    let d = w
        .json(
            "so01",
            &format!("/api/v1/reports/dashboard?unit=002&{BEFORE}"),
        )
        .await;
    assert_eq!(facility_dossiers(&d, OLD_PLACED), Some(before), "{d}");
    // …and the new units on request.
    let (d, lines) = w
        .adoption("so01", &format!("unit=01&units=new&{BEFORE}"))
        .await;
    assert_eq!(d["units"], "new");
    assert_eq!(lines.get("unallocated"), Some(&4));

    // Today's Bắc Ninh (24) sees the old Bắc Ninh (27) in the old units; the old code
    // 24 is Bắc Giang there, which it took in too.
    let (_, lines) = w.adoption("sa", &format!("{BEFORE}&units=old")).await;
    assert!(lines.contains_key("27") && lines.contains_key("24"));
    for unit in ["27", "24"] {
        let (s, body) = w
            .get(
                "so24",
                &format!("/api/v1/reports/dashboard?unit={unit}&{BEFORE}"),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{unit}: {body}");
    }
    let (s, _) = w
        .get(
            "so24",
            &format!("/api/v1/reports/dashboard?unit=01&{BEFORE}"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The page has the choice, and the unallocated line is not a link.
    let (s, page) = w
        .get("so01", &format!("/nhan-vien/bao-cao?unit=01&{SPANNING}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(r#"<select id="units" name="units">"#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="new" selected>"#));
    assert!(page.contains("Chưa phân bổ (đơn vị cũ bị chia tách)"));
    let (_, page) = w
        .get("so01", &format!("/nhan-vien/bao-cao?unit=01&{BEFORE}"))
        .await;
    assert!(page.contains(r#"<option value="old" selected>"#));

    let (s, body) = w
        .get(
            "so01",
            &format!("/api/v1/reports/dashboard?units=moi&{BEFORE}"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}
both!(a_period_across_the_reform_is_counted_in_the_new_units);

async fn the_district_officer_exists_only_before_the_reform() {
    let w = world().await;
    // Reports of periods ending by 2025-06-30 only; the default period ends there.
    let d = w
        .json(
            "huyen",
            &format!("/api/v1/reports/dashboard?unit=001&{BEFORE}"),
        )
        .await;
    assert_eq!(d["units"], "old");
    assert_eq!(d["unit"]["name"], "Quận Ba Đình");
    let d = w.json("huyen", "/api/v1/reports/dashboard").await;
    assert_eq!(d["to"], "2025-06-30");
    for path in [
        format!("/api/v1/reports/dashboard?unit=001&{SPANNING}"),
        format!("/api/v1/reports/dashboard?unit=001&{BEFORE}&units=new"),
        "/api/v1/reports/unit-reports?unit=001&month=2025-08".to_string(),
    ] {
        let (s, body) = w.get("huyen", &path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
        let e: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e["error"], "district_after_reform", "{body}");
        assert!(body.contains("01/07/2025"), "{body}");
    }
    let (s, _) = w
        .get(
            "huyen",
            "/api/v1/reports/unit-reports?unit=001&month=2025-05",
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // No district officer scoped to a unit after the reform: refused in Vietnamese.
    let put = |username: &str, unit: &str| {
        reqwest::Client::new()
            .put(format!("{}/api/v1/admin/staff/{username}", w.base))
            .bearer_auth(&w.tokens["sa"])
            .json(&json!({
                "full_name": "Cán bộ huyện",
                "role": "district_officer",
                "unit": unit,
                "password": "mat-khau-huyen"
            }))
            .send()
    };
    for unit in ["24", "00004"] {
        let r = put(&format!("huyen-{unit}"), unit).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{unit}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Cấp huyện đã bãi bỏ từ ngày 01/07/2025"),
            "{unit}: {body}"
        );
        assert!(w.store.staff(&format!("huyen-{unit}")).unwrap().is_none());
    }
    let r = put("huyen-002", "002").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // The lineage is checked: both ends must exist, in their scheme and level.
    let bad = |old: &str, new: &str, relation: &str| UnitLink {
        old_level: "commune".into(),
        old_code: old.into(),
        new_level: "commune".into(),
        new_code: new.into(),
        relation: relation.into(),
        note: None,
    };
    for links in [
        vec![bad("00070", "00040", "merged_full")], // 00070 is not an old commune
        vec![bad("00013", "00001", "merged_full")], // 00001 is not a new commune
        vec![
            bad("00013", "00004", "merged_full"),
            bad("00013", "00040", "merged_full"),
        ], // divided, but not marked split_partial
    ] {
        let e = w.store.import_unit_lineage(&links).unwrap_err().to_string();
        assert!(!e.is_empty());
    }
    assert_eq!(
        w.store
            .unit_lineage()
            .unwrap()
            .iter()
            .filter(|l| l.old_code == "00013")
            .count(),
        1
    );
}
both!(the_district_officer_exists_only_before_the_reform);
