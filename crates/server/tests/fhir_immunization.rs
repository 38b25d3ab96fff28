//! Vaccinations over FHIR R4, over loopback HTTP on SQLite and PostgreSQL: a system
//! client with `system/Immunization.write` records doses (`POST /fhir/Immunization`, and
//! a transaction Bundle, all or nothing) for the residents its unit's stations keep;
//! every refusal names its element; clients without the scope, of another unit, and
//! citizens are refused before anything is written; the doses come back in search,
//! read, `$everything`, the IPS Immunizations section, the ImmunizationRecommendation of
//! what is due and the bulk export of the unit — each validated by `tools/fhir-validate`
//! with 0 errors — and every write is in the person's audit chain.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use book::IdKind;
use book::access::SmartScopes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use server::fhir::export::{DirSink, EXPORT_TYPES, Exporter, export_unit};
use store::{Resident, Store};

const CHILD: &str = "001225000301"; // about eight months old, in the unit
const BABY: &str = "001225000302"; // about four months old, in the unit
const AWAY: &str = "001225000303"; // in another province

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    child: i64,
    baby: i64,
    away: i64,
    province: String,
    other_province: String,
    citizen_token: String,
    out: PathBuf,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A commune of `province` (pre-2025 scheme: commune → district → province).
fn commune_in(units: &[store::Unit], province: &str) -> String {
    let parent = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .and_then(|u| u.parent.clone())
    };
    units
        .iter()
        .filter(|u| u.level == "commune")
        .find(|u| {
            u.parent
                .as_deref()
                .and_then(parent)
                .is_some_and(|p| p == province)
        })
        .map(|u| u.code.clone())
        .unwrap_or_else(|| panic!("a commune in {province}"))
}

fn born(months: u32) -> String {
    let d = server::vn_now().date() - chrono::Months::new(months);
    d.format("%Y%m%d").to_string()
}

async fn world(name: &str) -> World {
    let dir = common::scratch();
    let store = dir.open();
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
    let provinces: Vec<String> = units
        .iter()
        .filter(|u| u.level == "province")
        .map(|u| u.code.clone())
        .filter(|p| {
            units
                .iter()
                .any(|u| u.level == "district" && u.parent.as_deref() == Some(p))
        })
        .collect();
    let (province, other_province) = (provinces[0].clone(), provinces[1].clone());
    let (here, there) = (
        commune_in(&units, &province),
        commune_in(&units, &other_province),
    );
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
            resident(CHILD, "Nguyễn Văn Bé", born(8), "1", &here),
            resident(BABY, "Trần Thị Nhỏ", born(4), "2", &here),
            resident(AWAY, "Lê Văn Xa", born(6), "1", &there),
        ])
        .unwrap();
    let id = |pid: &str| {
        store
            .person_by_identifier(IdKind::PersonalId, pid)
            .unwrap()
            .unwrap()
            .id
    };
    let (child, baby, away) = (id(CHILD), id(BABY), id(AWAY));
    let citizen_token = store.create_session(child, 3_600_000).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let config = server::Config {
        export_dir: Some(dir.path().join("exports")),
        ..server::Config::default()
    };
    let app = App::new(store.clone() as Arc<dyn Store>, config);
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    let out = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fhir-out")
        .join(format!("{name}-{:?}", dir.backend()).to_lowercase());
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    World {
        base,
        store,
        http: reqwest::Client::new(),
        child,
        baby,
        away,
        province,
        other_province,
        citizen_token,
        out,
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/fhir+json")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|h| h.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, r.json().await.unwrap_or(Value::Null), location)
    }

    fn save(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.out.join(format!("{name}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    }

    /// A token of a new system client of `unit` with `scope`.
    async fn system_token(&self, unit: &str, scope: &str) -> String {
        let (client, secret) = self
            .store
            .add_fhir_client(
                "Hệ thống tiêm chủng thử nghiệm",
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

    fn doses(&self, person: i64) -> usize {
        let mut n = 0;
        self.store
            .transaction(false, &mut |tx| {
                n = tx
                    .immunizations()
                    .doses_of(person)?
                    .iter()
                    .filter(|d| d.counted())
                    .count();
                Ok(())
            })
            .unwrap();
        n
    }
}

/// Run the independent validator on files; panics with its report unless it finds 0 errors.
fn validate(files: &[PathBuf]) -> String {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/fhir-validate");
    assert!(
        tool.join("node_modules/@medplum/core").exists(),
        "the FHIR validator is not installed: run `npm ci --prefix tools/fhir-validate` (.ci/run does)"
    );
    let out = std::process::Command::new("node")
        .arg(tool.join("validate.mjs"))
        .args(files)
        .output()
        .expect("node (Node.js) runs the validator");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the validator found errors:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = report.lines().last().unwrap_or("").to_string();
    assert!(last.contains(": 0 errors"), "{report}");
    println!("{last}");
    last
}

fn day_ago(months: u32) -> String {
    (server::vn_now().date() - chrono::Months::new(months))
        .format("%Y-%m-%d")
        .to_string()
}

/// An Immunization as a sender writes it.
fn dose(patient: Value, vaccine: &str, day: &str, number: u32, ident: &str) -> Value {
    json!({
        "resourceType": "Immunization",
        "identifier": [{ "system": "urn:oid:2.16.704.1.99.1", "value": ident }],
        "status": "completed",
        "vaccineCode": { "coding": [{ "system": "https://healthbook.vn/fhir/CodeSystem/vacxin-tcqg", "code": vaccine }] },
        "patient": patient,
        "occurrenceDateTime": day,
        "primarySource": true,
        "lotNumber": "LOT-2026-01",
        "route": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "code": "IM" }] },
        "site": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActSite", "code": "LT" }] },
        "protocolApplied": [{ "doseNumberPositiveInt": number }],
    })
}

fn issues(outcome: &Value) -> BTreeMap<String, String> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["expression"][0].as_str().unwrap_or("").to_string(),
                i["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn system_clients_write_doses_that_every_reader_then_sees_validated() {
    let w = world("immunization").await;
    let writer = w
        .system_token(&w.province, "system/*.read system/Immunization.write")
        .await;
    let reader_only = w.system_token(&w.province, "system/*.read").await;
    let elsewhere = w
        .system_token(&w.other_province, "system/Immunization.write")
        .await;
    let child_ref = json!({ "reference": format!("Patient/{}", w.child) });
    let mut files = Vec::new();

    // One dose: 201, the resource as stored, its Location.
    let bcg = dose(child_ref.clone(), "2", &day_ago(8), 1, "bcg-1");
    let (s, created, location) = w.post(&writer, "/fhir/Immunization", &bcg).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with(&format!("{}-tc-", w.child)), "{id}");
    assert!(
        location.ends_with(&format!("/fhir/Immunization/{id}")),
        "{location}"
    );
    assert_eq!(created["status"], "completed");
    assert_eq!(created["lotNumber"], "LOT-2026-01");
    assert_eq!(created["vaccineCode"]["coding"][1]["code"], "J07AN01");
    files.push(w.save("created", &created));
    // Sent again with its identifier: the same dose, not a second one.
    let (s, again, _) = w.post(&writer, "/fhir/Immunization", &bcg).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(w.doses(w.child), 1);

    // Every fault is named by its element; nothing is written.
    let mut bad = dose(child_ref.clone(), "999", "2026-02-31", 0, "bad");
    bad["status"] = json!("not-done");
    let (s, o, _) = w.post(&writer, "/fhir/Immunization", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{o}");
    let named = issues(&o);
    for element in [
        "Immunization.statusReason",
        "Immunization.occurrenceDateTime",
        "Immunization.protocolApplied[0].doseNumberPositiveInt",
    ] {
        assert!(named.contains_key(element), "{element} in {named:?}");
    }
    files.push(w.save("refused", &o));
    let unknown = dose(child_ref.clone(), "999", &day_ago(1), 1, "x");
    let (s, o, _) = w.post(&writer, "/fhir/Immunization", &unknown).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(issues(&o)["Immunization.vaccineCode"], "code-invalid");
    // A dose before birth is the service's refusal, named too.
    let early = dose(child_ref.clone(), "1", "2010-01-01", 1, "early");
    let (s, o, _) = w.post(&writer, "/fhir/Immunization", &early).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
    assert!(
        issues(&o).contains_key("Immunization.occurrenceDateTime"),
        "{o}"
    );
    assert_eq!(w.doses(w.child), 1);

    // Who may not write: refused before anything is read, nothing written.
    let hep = dose(child_ref.clone(), "1", &day_ago(8), 1, "hepb-0");
    for (token, want) in [
        (&reader_only, StatusCode::FORBIDDEN),
        (&w.citizen_token, StatusCode::FORBIDDEN),
        (&elsewhere, StatusCode::FORBIDDEN),
    ] {
        let (s, o, _) = w.post(token, "/fhir/Immunization", &hep).await;
        assert_eq!(s, want, "{o}");
        assert_eq!(o["resourceType"], "OperationOutcome");
    }
    // A person outside the client's unit: refused as an unknown one is.
    let away = dose(
        json!({ "reference": format!("Patient/{}", w.away) }),
        "1",
        &day_ago(5),
        1,
        "away",
    );
    let (s, o1, _) = w.post(&writer, "/fhir/Immunization", &away).await;
    let nobody = dose(
        json!({ "reference": "Patient/999999999" }),
        "1",
        &day_ago(5),
        1,
        "n",
    );
    let (s2, o2, _) = w.post(&writer, "/fhir/Immunization", &nobody).await;
    assert_eq!((s, s2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(o1["issue"][0]["details"], o2["issue"][0]["details"]);
    assert_eq!(w.doses(w.away), 0);
    assert_eq!(w.doses(w.child), 1);

    // A transaction Bundle: one bad entry refuses them all, named from the Bundle.
    let baby_by_id =
        json!({ "identifier": { "system": "https://healthbook.vn/fhir/sid/cccd", "value": BABY } });
    let entry =
        |r: Value| json!({ "resource": r, "request": { "method": "POST", "url": "Immunization" } });
    let mut refused_one = dose(baby_by_id.clone(), "3", "ngày mai", 1, "b-dtp1");
    refused_one["protocolApplied"] = json!([{ "doseNumberPositiveInt": 1 }]);
    let bundle = |entries: Vec<Value>| json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries });
    let (s, o, _) = w
        .post(
            &writer,
            "/fhir",
            &bundle(vec![
                entry(dose(baby_by_id.clone(), "1", &day_ago(4), 1, "b-hepb")),
                entry(refused_one),
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{o}");
    assert!(
        issues(&o).contains_key("Bundle.entry[1].resource.occurrenceDateTime"),
        "{o}"
    );
    assert_eq!(w.doses(w.baby), 0, "nothing of a refused Bundle is written");
    // The same dose twice in one Bundle.
    let (s, o, _) = w
        .post(
            &writer,
            "/fhir",
            &bundle(vec![
                entry(dose(baby_by_id.clone(), "2", &day_ago(4), 1, "b-bcg")),
                entry(dose(baby_by_id.clone(), "2", &day_ago(4), 1, "b-bcg-2")),
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(issues(&o)["Bundle.entry[1].resource"], "duplicate");
    assert_eq!(w.doses(w.baby), 0);
    // A Bundle the service refuses part of (a dose before birth): nothing written.
    let (s, o, _) = w
        .post(
            &writer,
            "/fhir",
            &bundle(vec![
                entry(dose(baby_by_id.clone(), "1", &day_ago(4), 1, "b-hepb")),
                entry(dose(baby_by_id.clone(), "2", "2010-05-05", 1, "b-old")),
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
    assert!(
        issues(&o).contains_key("Bundle.entry[1].resource.occurrenceDateTime"),
        "{o}"
    );
    assert_eq!(w.doses(w.baby), 0, "the first entry was rolled back");
    // A good Bundle: every entry recorded, the response says where.
    let (s, resp, _) = w
        .post(
            &writer,
            "/fhir",
            &bundle(vec![
                entry(dose(baby_by_id.clone(), "1", &day_ago(4), 1, "b-hepb")),
                entry(dose(baby_by_id.clone(), "2", &day_ago(4), 1, "b-bcg")),
                entry(dose(child_ref.clone(), "3", &day_ago(6), 1, "c-dtp1")),
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{resp}");
    assert_eq!(resp["type"], "transaction-response");
    let statuses: Vec<&str> = resp["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201 Created", "201 Created", "201 Created"]);
    files.push(w.save("transaction-response", &resp));
    assert_eq!((w.doses(w.baby), w.doses(w.child)), (2, 2));

    // Every write is in the person's chain, the client as actor.
    let chain = w.store.audit_of(w.baby).unwrap();
    let adds: Vec<_> = chain
        .iter()
        .filter(|r| r.action == "vaccination.add")
        .collect();
    assert_eq!(adds.len(), 2);
    assert!(
        adds.iter()
            .all(|r| r.role == "system_client" && r.basis == "system")
    );

    // Search: the citizen reads their own, the client its unit's.
    for (who, token) in [("citizen", &w.citizen_token), ("system", &writer)] {
        let (s, found) = w
            .get(
                token,
                &format!("/fhir/Immunization?patient=Patient/{}", w.child),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{found}");
        assert_eq!(found["total"], 2, "{who}");
        files.push(w.save(&format!("search-{who}"), &found));
    }
    let (_, by_code) = w
        .get(
            &w.citizen_token,
            &format!(
                "/fhir/Immunization?patient={}&code=http://www.whocc.no/atc|J07CA11",
                w.child
            ),
        )
        .await;
    assert_eq!(by_code["total"], 1);
    // A client may not read without the read scope for the type.
    let (s, _) = w
        .get(
            &elsewhere,
            &format!("/fhir/Immunization?patient={}", w.child),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Read by id.
    let (s, read) = w
        .get(&w.citizen_token, &format!("/fhir/Immunization/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(read["id"], id.as_str());
    // What is due: the eight-month-old has OPV, polio and more ahead of them.
    let (s, rec) = w
        .get(
            &w.citizen_token,
            &format!("/fhir/ImmunizationRecommendation?patient={}", w.child),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec["total"], 1, "{rec}");
    let lines = rec["entry"][0]["resource"]["recommendation"]
        .as_array()
        .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["forecastStatus"]["coding"][0]["code"] == "overdue"),
        "{rec}"
    );
    files.push(w.save("recommendation", &rec));
    // $everything and the IPS: the Immunizations section lists the doses.
    let (s, all) = w
        .get(
            &w.citizen_token,
            &format!("/fhir/Patient/{}/$everything", w.child),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    files.push(w.save("everything", &all));
    let (s, ips) = w
        .get(
            &w.citizen_token,
            &format!("/fhir/Patient/{}/$summary", w.child),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let section = ips["entry"][0]["resource"]["section"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"]["coding"][0]["code"] == "11369-6")
        .unwrap()
        .clone();
    assert_eq!(section["entry"].as_array().unwrap().len(), 2, "{section}");
    assert!(section["emptyReason"].is_null());
    files.push(w.save("summary", &ips));
    let (_, cap) = w.get(&w.citizen_token, "/fhir/metadata").await;
    files.push(w.save("metadata", &cap));

    // A person kept by another province's station, vaccinated once at a facility of
    // the client's unit and once at home: the client reads the first dose only.
    let facilities = w.store.facilities().unwrap();
    let ours = facilities
        .iter()
        .find(|f| f.province == w.province)
        .unwrap()
        .code
        .clone();
    let commune = {
        let mut c = None;
        w.store
            .transaction(false, &mut |tx| {
                c = tx.health_record(w.away)?.unwrap().commune;
                Ok(())
            })
            .unwrap();
        c.unwrap()
    };
    let station = store::StaffAccount {
        username: "tram-xa-khac".into(),
        full_name: "Y sĩ Trạm Xa".into(),
        role: book::access::Role::CommuneStaff,
        unit: Some(commune.clone()),
        facility: None,
        practising_cert: None,
        active: true,
    };
    let actor = service::Actor::Staff {
        scope: w.store.place_of_unit(&commune).unwrap(),
        account: station,
    };
    let svc = service::Service::new(w.store.clone());
    for (vaccine, months, facility) in [("bcg", 6, Some(ours.clone())), ("hepb_birth", 6, None)] {
        svc.record_dose(
            &actor,
            w.away,
            &service::DoseEntry {
                vaccine: vaccine.into(),
                date: day_ago(months),
                facility,
                ..service::DoseEntry::default()
            },
        )
        .unwrap();
    }
    let (s, theirs) = w
        .get(&writer, &format!("/fhir/Immunization?patient={}", w.away))
        .await;
    assert_eq!(s, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["total"], 1, "{theirs}");
    assert_eq!(
        theirs["entry"][0]["resource"]["performer"][0]["actor"]["identifier"]["value"],
        ours.as_str()
    );
    files.push(w.save("search-other-unit", &theirs));

    // The bulk export of the unit holds the doses and what is due.
    let dir = w.out.join("export");
    let mut sink = DirSink::new(&dir).unwrap();
    let stats = export_unit(
        w.store.as_ref(),
        &w.province,
        EXPORT_TYPES,
        0,
        &Exporter {
            id: "cli:test".into(),
            name: "Kiểm thử".into(),
        },
        &mut sink,
    )
    .unwrap();
    assert_eq!(stats.resources.get("Immunization"), Some(&4), "{stats:?}");
    assert_eq!(stats.resources.get("ImmunizationRecommendation"), Some(&2));
    for (_, f) in sink.files() {
        files.push(f);
    }
    validate(&files);
}
both!(system_clients_write_doses_that_every_reader_then_sees_validated);
