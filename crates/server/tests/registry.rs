//! Registry deltas over HTTP (`POST /api/v1/registry/batches`), on both backends: a
//! round of birth, death, move and personal ID change from the provincial data centre's
//! system client, a BHYT card batch, idempotence, all or nothing, and the unit a sender
//! may change.

use std::sync::Arc;

use book::IdKind;
use book::access::{Role, SmartScopes};
use reqwest::StatusCode;
use serde_json::Value;
use server::App;
use store::{Resident, StaffAccount, Store, Unit};

#[macro_use]
mod common;

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn unit(code: &str, level: &str, parent: Option<&str>) -> Unit {
    Unit {
        code: code.into(),
        name: format!("Đơn vị {code}"),
        level: level.into(),
        parent: parent.map(str::to_string),
        scheme: "2025".into(),
    }
}

fn pid(k: u32) -> String {
    format!("0011950{k:05}")
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    for u in [
        unit("01", "province", None),
        unit("00004", "commune", Some("01")),
        unit("00008", "commune", Some("01")),
        unit("79", "province", None),
        unit("26734", "commune", Some("79")),
    ] {
        store.upsert_unit(&u).unwrap();
    }
    let residents: Vec<Resident> = (0..6)
        .map(|k| Resident {
            personal_id: pid(k),
            name: Some(format!("Trần Văn Thử {k}")),
            birth: Some("195003150000".into()),
            sex: Some("1".into()),
            unit: if k < 4 { "00004" } else { "26734" }.into(),
            status: "alive".into(),
        })
        .collect();
    store.import_population(&residents).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone(), server::Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    World {
        base,
        store,
        http: reqwest::Client::new(),
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn client_token(&self, unit: &str, scope: &str) -> String {
        let (client, secret) = self
            .store
            .add_fhir_client(
                "Trung tâm dữ liệu (thử)",
                unit,
                &SmartScopes::parse(scope).unwrap(),
                "test",
            )
            .unwrap();
        let r = self
            .http
            .post(format!("{}/fhir/auth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.client_id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        t["access_token"].as_str().unwrap().to_string()
    }

    async fn send(&self, token: &str, query: &str, kind: &str, body: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/registry/batches?{query}", self.base))
            .bearer_auth(token)
            .header("content-type", kind)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn person(&self, id: &str) -> i64 {
        self.store
            .person_by_identifier(IdKind::PersonalId, id)
            .unwrap()
            .unwrap()
            .id
    }

    fn record(&self, person: i64) -> store::StoredRecord {
        let mut out = None;
        self.store
            .transaction(false, &mut |tx| {
                out = tx.health_record(person)?;
                Ok(())
            })
            .unwrap();
        out.unwrap()
    }
}

async fn a_delta_round_from_the_data_centre() {
    let w = world().await;
    let token = w.client_token("01", "system/registry.write").await;
    let csv = format!(
        "event,personal_id,name,birth_date,sex,commune,address,date,new_personal_id\n\
         birth,001326000001,Lê Thị Mới,02/12/2026,2,00008,,,\n\
         death,{},,,,,,05/12/2026,\n\
         move,{},,,,00008,\"Số 5, tổ 3\",,\n\
         id_change,{},,,,,,,001195999999\n",
        pid(1),
        pid(2),
        pid(3)
    );
    let (s, out) = w
        .send(&token, "source=population&batch=dc-1", "text/csv", &csv)
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["applied"], 4);
    assert_eq!(out["by_event"]["birth"], 1);
    // The same batch again: what it did, nothing more.
    let (s, again) = w
        .send(&token, "source=population&batch=dc-1", "text/csv", &csv)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["repeated"], true);
    assert_eq!(again["applied"], 4);
    // The same id with other content: refused.
    let (s, e) = w
        .send(
            &token,
            "source=population&batch=dc-1",
            "text/csv",
            "event,personal_id\n",
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    // Effects: a person and a record for the newborn; the dead's record closed and
    // still there; the moved one's record handed over with its history; both IDs lead
    // to the same person.
    let baby = w.person("001326000001");
    assert_eq!(w.record(baby).commune.as_deref(), Some("00008"));
    assert!(w.record(w.person(&pid(1))).is_closed());
    let moved = w.record(w.person(&pid(2)));
    assert_eq!(moved.commune.as_deref(), Some("00008"));
    assert_eq!(moved.version, 2);
    assert_eq!(w.person(&pid(3)), w.person("001195999999"));
    // A BHYT card as JSON lines, from the insurance list.
    let jsonl = format!(
        "{{\"event\":\"card\",\"personal_id\":\"{}\",\"card\":\"GD4010112345678\",\"bhxh_number\":\"0112345678\",\"valid_from\":\"01/01/2026\",\"valid_to\":\"31/12/2026\",\"first_contact\":\"01001\"}}\n",
        pid(0)
    );
    let (s, out) = w
        .send(&token, "source=insurance", "application/x-ndjson", &jsonl)
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["by_event"]["card"], 1);
    assert_eq!(
        w.store
            .person_by_identifier(IdKind::BhytCard, "GD4010112345678")
            .unwrap()
            .unwrap()
            .id,
        w.person(&pid(0))
    );
}
both!(a_delta_round_from_the_data_centre);

async fn a_batch_is_all_or_nothing_and_bounded_by_the_senders_unit() {
    let w = world().await;
    let token = w.client_token("01", "system/registry.write").await;
    // Line 3 names nobody in the registry: nothing of line 2 is applied.
    let csv = format!(
        "event,personal_id,commune,date\nmove,{},00008,\ndeath,001299888777,,01/12/2026\n",
        pid(0)
    );
    let (s, e) = w.send(&token, "source=population", "text/csv", &csv).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_batch");
    assert!(e["message"].as_str().unwrap().contains("dòng 3"), "{e}");
    assert_eq!(
        w.record(w.person(&pid(0))).commune.as_deref(),
        Some("00004")
    );
    // A malformed line is named with its field before anything is tried.
    let (s, e) = w
        .send(
            &token,
            "source=population",
            "text/csv",
            "event,personal_id,name,birth_date,sex,commune\nbirth,001326000002,Bé,32/13/2026,2,00004\n",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("dòng 2") && m.contains("birth_date"), "{m}");
    // A resident of Hồ Chí Minh City is "not in the registry" to Hà Nội's client, and
    // Hà Nội's client cannot move anyone there.
    let other = format!("event,personal_id,date\ndeath,{},01/12/2026\n", pid(4));
    let (s, e) = w
        .send(&token, "source=population", "text/csv", &other)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("không có trong sổ dân cư")
    );
    assert!(!w.record(w.person(&pid(4))).is_closed());
    let away = format!("event,personal_id,commune\nmove,{},26734\n", pid(0));
    let (s, e) = w.send(&token, "source=population", "text/csv", &away).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        e["message"].as_str().unwrap().contains("ngoài đơn vị"),
        "{e}"
    );
    // A client that only reads, a wrong media type, a wrong source, no token.
    let reader = w.client_token("01", "system/*.read").await;
    let (s, _) = w
        .send(&reader, "source=population", "text/csv", &other)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w
        .send(&token, "source=population", "text/plain", &other)
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = w.send(&token, "source=census", "text/csv", &other).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = w
        .send("nope", "source=population", "text/csv", &other)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A card in a population batch.
    let (s, _) = w
        .send(
            &token,
            "source=population",
            "text/csv",
            &format!("event,personal_id,card,valid_from,valid_to\ncard,{},GD4010112345678,01/01/2026,31/12/2026\n", pid(0)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The commune station's own session: births and moves within its commune.
    w.store
        .upsert_staff(
            &StaffAccount {
                username: "tram00004".into(),
                full_name: "Cán bộ trạm (thử)".into(),
                role: Role::CommuneStaff,
                unit: Some("00004".into()),
                facility: None,
                practising_cert: None,
                active: true,
            },
            Some("matkhau-2026"),
        )
        .unwrap();
    let staff = w
        .store
        .create_staff_session("tram00004", 3_600_000)
        .unwrap();
    let birth = "event,personal_id,name,birth_date,sex,commune\nbirth,001226000009,Bé Trai,01/12/2026,1,00004\n";
    let (s, out) = w.send(&staff, "source=population", "text/csv", birth).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let elsewhere = "event,personal_id,name,birth_date,sex,commune\nbirth,001226000010,Bé Gái,01/12/2026,2,00008\n";
    let (s, _) = w
        .send(&staff, "source=population", "text/csv", elsewhere)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
both!(a_batch_is_all_or_nothing_and_bounded_by_the_senders_unit);
