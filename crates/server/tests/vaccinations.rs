//! Vaccinations over loopback HTTP, on SQLite and PostgreSQL: the station records a
//! dose (a duplicate within a day answers 409 until confirmed; another commune's
//! station finds nobody), voids one entered in error, lists its session (children due
//! at the session and those overdue); the person's guardian reads the child's book and
//! nobody else's; every read and write is in the child's audit chain; an import of the
//! national system's export names each refused line and field, and a second run adds
//! nothing.

#[macro_use]
mod common;

mod station_world;

use book::IdKind;
use chrono::{Months, NaiveDate};
use reqwest::StatusCode;
use serde_json::{Value, json};
use station_world::{BINH, CUONG, World, world};
use store::Resident;

const NA: &str = "001225000201";
const TI: &str = "001225000202";

impl World {
    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn send_file(
        &self,
        token: &str,
        path: &str,
        kind: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", kind)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }
}

fn today() -> NaiveDate {
    store::vn_now().date()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Two children of Phường Ba Đình: Na, five months old today, nothing recorded; Tí,
/// two months and three days old.
fn children(w: &World) -> (i64, i64, NaiveDate, NaiveDate) {
    let na_birth = today() - Months::new(5);
    let ti_birth = today() - Months::new(2) - chrono::Days::new(3);
    w.store
        .import_population(&[
            Resident {
                personal_id: NA.into(),
                name: Some("Trần Thị Na".into()),
                birth: Some(na_birth.format("%Y%m%d").to_string()),
                sex: Some("2".into()),
                unit: "00004".into(),
                status: "alive".into(),
            },
            Resident {
                personal_id: TI.into(),
                name: Some("Trần Văn Tí".into()),
                birth: Some(ti_birth.format("%Y%m%d").to_string()),
                sex: Some("1".into()),
                unit: "00004".into(),
                status: "alive".into(),
            },
        ])
        .unwrap();
    let id = |p: &str| {
        w.store
            .person_by_identifier(IdKind::PersonalId, p)
            .unwrap()
            .unwrap()
            .id
    };
    (id(NA), id(TI), na_birth, ti_birth)
}

fn item<'a>(book: &'a Value, key: &str) -> &'a Value {
    book["forecast"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key}: {book}"))
}

async fn a_station_records_doses_and_lists_its_session() {
    let w = world().await;
    let (na, ti, _na_birth, ti_birth) = children(&w);
    let post = reqwest::Method::POST;
    // BCG and HepB at birth for Tí.
    for v in ["bcg", "hepb_birth"] {
        let (s, d) = w
            .call(
                post.clone(),
                &w.tram01,
                &format!("/api/v1/vaccinations/{ti}/doses"),
                Some(json!({"vaccine": v, "date": iso(ti_birth), "details": {"lot": "L-1"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{d}");
        assert_eq!(d["source"], "station");
    }
    // The same BCG a day later: 409 naming the recorded one, until confirmed.
    let again = json!({"vaccine": "bcg", "date": iso(ti_birth + chrono::Days::new(1))});
    let (s, d) = w
        .call(
            post.clone(),
            &w.tram01,
            &format!("/api/v1/vaccinations/{ti}/doses"),
            Some(again.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{d}");
    let mut confirmed = again.clone();
    confirmed["confirm_duplicate"] = json!(true);
    let (s, dup) = w
        .call(
            post.clone(),
            &w.tram01,
            &format!("/api/v1/vaccinations/{ti}/doses"),
            Some(confirmed),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Entered in error after all: voided.
    let (s, _) = w
        .call(
            post.clone(),
            &w.tram01,
            &format!("/api/v1/vaccinations/{ti}/doses/{}/void", dup["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Refused without a reason; an unknown vaccine; a future day.
    for (body, code) in [
        (
            json!({"vaccine": "opv", "date": iso(today()), "status": "refused"}),
            "reason_required",
        ),
        (
            json!({"vaccine": "xyz", "date": iso(today())}),
            "unknown_vaccine",
        ),
        (
            json!({"vaccine": "opv", "date": iso(today() + chrono::Days::new(2))}),
            "future_date",
        ),
    ] {
        let (s, d) = w
            .call(
                post.clone(),
                &w.tram01,
                &format!("/api/v1/vaccinations/{ti}/doses"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{d}");
        assert_eq!(d["error"], code, "{d}");
    }
    // Another commune's station finds nobody.
    let (s, _) = w
        .call(
            post.clone(),
            &w.tram40,
            &format!("/api/v1/vaccinations/{ti}/doses"),
            Some(json!({"vaccine": "opv", "date": iso(today())})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Tí's book: BCG done, DPT-VGB-Hib 1 due (two months old), part C filled.
    let (s, book) = w
        .call(
            reqwest::Method::GET,
            &w.tram01,
            &format!("/api/v1/vaccinations/{ti}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{book}");
    assert_eq!(item(&book, "bcg")["status"], "done");
    assert_eq!(item(&book, "dtp1")["status"], "due");
    assert_eq!(book["part_c"]["c.bcg.date"], iso(ti_birth));
    assert_eq!(book["doses"].as_array().unwrap().len(), 3);
    // The session today: Na overdue (BCG, DPT-VGB-Hib 1 …), Tí due.
    let (s, list) = w
        .call(
            reqwest::Method::GET,
            &w.tram01,
            &format!("/api/v1/station/vaccinations/session?date={}", iso(today())),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let ids = |k: &str| -> Vec<i64> {
        list[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["person_id"].as_i64().unwrap())
            .collect()
    };
    assert!(ids("overdue").contains(&na), "{list}");
    assert!(ids("due").contains(&ti), "{list}");
    assert!(!ids("overdue").contains(&ti));
    let ti_row = list["due"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["person_id"] == ti)
        .unwrap();
    let keys: Vec<&str> = ti_row["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"dtp1") && keys.contains(&"opv1"), "{keys:?}");
    // The list is the station's: the other commune's lists none of them.
    let (_, other) = w
        .call(
            reqwest::Method::GET,
            &w.tram40,
            "/api/v1/station/vaccinations/session",
            None,
        )
        .await;
    assert!(!other.to_string().contains(&ti.to_string()));
    // Bình, Tí's guardian, reads Tí's book; not Na's.
    let binh = w
        .store
        .person_by_identifier(IdKind::PersonalId, BINH)
        .unwrap()
        .unwrap()
        .id;
    w.store.grant_guardian(binh, ti, "test").unwrap();
    let citizen = w.store.create_session(binh, 3_600_000).unwrap();
    let (s, mine) = w
        .call(
            reqwest::Method::GET,
            &citizen,
            &format!("/api/v1/vaccinations/{ti}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(item(&mine, "dtp1")["status"], "due");
    let (s, _) = w
        .call(
            reqwest::Method::GET,
            &citizen,
            &format!("/api/v1/vaccinations/{na}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Tí's chain: three doses added, one voided, the station's and the guardian's reads.
    let actions: Vec<(String, String)> = w
        .store
        .audit_of(ti)
        .unwrap()
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    let count = |a: &str| actions.iter().filter(|(_, x)| x == a).count();
    assert_eq!(count("vaccination.add"), 3, "{actions:?}");
    assert_eq!(count("vaccination.void"), 1);
    assert!(actions.contains(&("tram01".into(), "vaccination.read".into())));
    assert!(
        actions.contains(&(format!("person:{binh}"), "vaccination.read".into())),
        "{actions:?}"
    );
}
both!(a_station_records_doses_and_lists_its_session);

async fn an_import_names_each_refused_line_and_field() {
    let w = world().await;
    let (na, _ti, na_birth, _) = children(&w);
    let b = na_birth.format("%d/%m/%Y");
    let later = (na_birth + Months::new(2)).format("%d/%m/%Y");
    let csv = format!(
        "so_dinh_danh,ngay_sinh,lich_su_tiem_id,vacxin_id,thu_tu_mui_tiem,ngay_tiem,trang_thai_mui_tiem,ly_do\n\
         {NA},{b},700001,2,1,{b},2,\n\
         {NA},{b},700002,4,1,{later},2,\n\
         {CUONG},01/01/1970,700003,4,1,{later},2,\n\
         {NA},01/01/2020,700004,4,1,{later},2,\n\
         {NA},{b},700005,999,1,{later},2,\n\
         {NA},{b},700006,3,1,32/01/2025,2,\n\
         {NA},{b},700007,3,1,{later},4,\n"
    );
    let (s, r) = w
        .send_file(
            &w.tram01,
            "/api/v1/station/vaccinations/import",
            "text/csv",
            &csv,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["lines"].as_u64(),
            r["added"].as_u64(),
            r["persons"].as_u64()
        ),
        (Some(7), Some(2), Some(1)),
        "{r}"
    );
    let refused: Vec<(u64, String, String)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap(),
                x["field"].as_str().unwrap().into(),
                x["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (4, "so_dinh_danh".into(), "not_resident".into()),
            (5, "ngay_sinh".into(), "birth_mismatch".into()),
            (6, "vacxin_id".into(), "unknown_vaccine".into()),
            (7, "ngay_tiem".into(), "invalid_date".into()),
            (8, "ly_do".into(), "required".into()),
        ]
    );
    // Again: nothing added.
    let (_, r) = w
        .send_file(
            &w.tram01,
            "/api/v1/station/vaccinations/import",
            "text/csv",
            &csv,
        )
        .await;
    assert_eq!(
        (r["added"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{r}"
    );
    // The same BCG from the station a day later would be a duplicate of the import.
    let jsonl = format!(
        "{{\"so_dinh_danh\":\"{NA}\",\"ma_vacxin\":\"bcg\",\"ngay_tiem\":\"{}\"}}\n",
        iso(na_birth + chrono::Days::new(1))
    );
    let (_, r) = w
        .send_file(
            &w.tram01,
            "/api/v1/station/vaccinations/import",
            "application/x-ndjson",
            &jsonl,
        )
        .await;
    assert_eq!(
        (r["added"].as_u64(), r["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    // An unknown column refuses the file.
    let (s, _) = w
        .send_file(
            &w.tram01,
            "/api/v1/station/vaccinations/import",
            "text/csv",
            "so_dinh_danh,mat_khau\n1,2\n",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, book) = w
        .call(
            reqwest::Method::GET,
            &w.tram01,
            &format!("/api/v1/vaccinations/{na}"),
            None,
        )
        .await;
    assert_eq!(item(&book, "bcg")["status"], "done");
    assert_eq!(item(&book, "opv1")["status"], "done");
    let imported = w
        .store
        .audit_of(na)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "vaccination.import")
        .count();
    assert_eq!(imported, 1);
}
both!(an_import_names_each_refused_line_and_field);
