//! The QĐ 831 personal health record as FHIR R4, over loopback HTTP on SQLite and
//! PostgreSQL: AllergyIntolerance, problem-list Condition, FamilyMemberHistory,
//! vital-sign and social-history Observation, RelatedPerson come back in search, read,
//! `$everything` and the bulk export (of the unit whose station keeps the record), each
//! validated by `tools/fhir-validate` with 0 errors; the IPS lists the record's allergies
//! and problems, says "no known allergies" only when the record says so, and says the
//! allergies were not asked when the record is silent.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use book::IdKind;
use book::access::{Role, SmartScopes};
use reqwest::StatusCode;
use serde_json::Value;
use server::App;
use server::fhir::export::{DirSink, EXPORT_TYPES, Exporter, export_unit};
use service::{Actor, RecordEdit};
use store::{Resident, StaffAccount, Store};
use synth::{Config, Generator};

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// A: dossiers and a filled record; B: a record saying "no known allergies";
    /// C: a record that states nothing; D: a filled record in another province.
    a: i64,
    b: i64,
    c: i64,
    d: i64,
    tokens: BTreeMap<&'static str, String>,
    /// The province of A, B, C's commune, and D's.
    province: String,
    other_province: String,
    out: PathBuf,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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

/// A commune of the catalog in `province` (pre-2025 scheme: commune → district →
/// province).
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

async fn world(name: &str) -> World {
    let dir = common::scratch();
    let store = dir.open();
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
    let today = server::vn_now().date();
    let g = Generator::new(Config {
        persons: 10,
        episodes: 120,
        seed: 11,
        from: today - chrono::Duration::days(400),
        to: today,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    // A: the person with the most episodes; their first facility's province keeps them.
    let mut people: Vec<(String, i64, usize)> = Vec::new();
    for j in 0..10 {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        if let Some(p) = store
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
            && !people.iter().any(|(_, id, _)| *id == p.id)
        {
            people.push((pid, p.id, store.episodes_of(p.id).unwrap().len()));
        }
    }
    people.sort_by_key(|p| std::cmp::Reverse(p.2));
    let (a_pid, a, _) = people[0].clone();
    let province = store.episodes_of(a).unwrap()[0].facility[..2].to_string();
    let other_province = units
        .iter()
        .filter(|u| u.level == "province" && u.code != province)
        .map(|u| u.code.clone())
        .find(|p| {
            units
                .iter()
                .any(|u| u.level == "district" && u.parent.as_deref() == Some(p))
        })
        .expect("another province");
    let here = commune_in(&units, &province);
    let there = commune_in(&units, &other_province);
    store
        .import_population(&[
            resident(&a_pid, "Người A", &here),
            resident("001158000201", "Trần Thị Không Dị Ứng", &here),
            resident("001158000202", "Lê Văn Chưa Khai", &here),
            resident("001158000203", "Phạm Văn Tỉnh Khác", &there),
        ])
        .unwrap();
    let id = |pid: &str| {
        store
            .person_by_identifier(IdKind::PersonalId, pid)
            .unwrap()
            .unwrap()
            .id
    };
    assert_eq!(id(&a_pid), a, "the resident is the person of the dossiers");
    let (b, c, d) = (id("001158000201"), id("001158000202"), id("001158000203"));

    // The stations fill the records through the service, as their pages do.
    let svc = service::Service::new(store.clone());
    let station = |unit: &str| {
        let account = StaffAccount {
            username: format!("tram{unit}"),
            full_name: "Y sĩ Phạm Thị Lan".into(),
            role: Role::CommuneStaff,
            unit: Some(unit.into()),
            facility: None,
            practising_cert: None,
            active: true,
        };
        store
            .upsert_staff(&account, Some("tram-y-te-2026"))
            .unwrap();
        Actor::Staff {
            scope: store.place_of_unit(unit).unwrap(),
            account,
        }
    };
    let (here_staff, there_staff) = (station(&here), station(&there));
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
    let filled = items(&[
        ("a.blood_abo", "B"),
        ("a.blood_rh", "+"),
        ("a.mother_name", "Nguyễn Thị Mẹ"),
        ("a.father_name", "Trần Văn Bố"),
        ("a.caregiver_name", "Trần Thị Con"),
        ("a.caregiver_relation", "Con gái"),
        ("a.caregiver_mobile", "0912 345 678"),
        ("b.allergy.drug", "Penicillin (nổi mày đay)"),
        ("b.allergy.food", "Tôm, cua"),
        ("b.disease.hypertension", "1"),
        ("b.disease.diabetes", "1"),
        ("b.disease.tb", "Lao phổi, đã điều trị 2015"),
        ("b.icd", "E78.5"),
        ("b.disability.vision", "Mắt trái nhìn kém"),
        ("b.surgery", "Mổ ruột thừa năm 2010"),
        ("b.family.hypertension", "Bố, mẹ"),
        ("b.family.diabetes", "bà ngoại"),
        ("b.family.cancer", "Ung thư gan"),
        ("b.family.cancer_who", "người họ hàng xa"),
        ("b.family.allergy.drug", "Aspirin"),
        ("b.family.allergy.drug_who", "anh trai"),
        ("b.risk.smoking", "3"),
        ("b.risk.alcohol", "1"),
        ("b.risk.alcohol_drinks", "2"),
        ("b.risk.activity", "2"),
        ("b.risk.exposure", "Bụi xi măng"),
        ("b.risk.exposure_time", "10 năm"),
        ("b.risk.toilet", "1"),
    ]);
    svc.edit_record(&here_staff, a, version(a), RecordEdit::Items(&filled))
        .unwrap();
    for (days, exam) in [
        (
            400,
            items(&[
                ("pulse", "80"),
                ("temperature", "36.8"),
                ("resp", "18"),
                ("weight", "62"),
                ("height", "158"),
                ("waist", "84.5"),
                ("bp_sys", "142"),
                ("bp_dia", "90"),
                ("diagnosis", "Tăng huyết áp độ 1"),
                ("doctor", "BS. Nguyễn Văn Khám"),
            ]),
        ),
        (
            30,
            items(&[
                ("pulse", "76"),
                ("weight", "64.5"),
                ("height", "158"),
                ("bp_sys", "128"),
                ("diagnosis", "Tăng huyết áp, ổn định"),
                ("doctor", "BS. Nguyễn Văn Khám"),
            ]),
        ),
    ] {
        let date = (today - chrono::Duration::days(days)).to_string();
        svc.edit_record(
            &here_staff,
            a,
            version(a),
            RecordEdit::Exam {
                date: &date,
                items: &exam,
            },
        )
        .unwrap();
    }
    svc.edit_record(
        &here_staff,
        b,
        version(b),
        RecordEdit::Items(&items(&[("b.allergy.none", "1"), ("a.blood_abo", "O")])),
    )
    .unwrap();
    svc.edit_record(
        &there_staff,
        d,
        version(d),
        RecordEdit::Items(&items(&[("b.allergy.drug", "Sulfamid")])),
    )
    .unwrap();

    let mut tokens = BTreeMap::new();
    for (k, p) in [("a", a), ("b", b), ("c", c)] {
        tokens.insert(k, store.create_session(p, 3_600_000).unwrap());
    }
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
        a,
        b,
        c,
        d,
        tokens,
        province,
        other_province,
        out,
        _dir: dir,
        _stop: tx,
    }
}

impl World {
    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if !token.is_empty() {
            r = r.bearer_auth(token);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn save(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.out.join(format!("{name}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    }

    /// A token of a new system client of `unit` with every read scope.
    async fn system_token(&self, unit: &str) -> String {
        let (client, secret) = self
            .store
            .add_fhir_client(
                "Kho dữ liệu thử nghiệm",
                unit,
                &SmartScopes::parse("system/*.read").unwrap(),
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

fn entries(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|a| a.iter().map(|e| &e["resource"]).collect())
        .unwrap_or_default()
}

fn ids<'a>(list: &[&'a Value], ty: &str) -> BTreeSet<&'a str> {
    list.iter()
        .filter(|r| r["resourceType"] == ty)
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

/// The IPS sections of a document, by LOINC code.
fn sections(doc: &Value) -> BTreeMap<String, Value> {
    entries(doc)[0]["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["code"]["coding"][0]["code"].as_str().unwrap().to_string(),
                s.clone(),
            )
        })
        .collect()
}

fn section_refs(s: &Value) -> Vec<String> {
    s["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["reference"].as_str().unwrap().to_string())
        .collect()
}

async fn the_record_is_searched_read_and_in_everything() {
    let w = world("record-read").await;
    let (a, ta) = (w.a, w.tokens["a"].clone());
    let mut files = Vec::new();
    // Search by type, as the other types are searched.
    let (s, allergies) = w
        .get(
            &ta,
            &format!("/fhir/AllergyIntolerance?patient=Patient/{a}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{allergies}");
    assert_eq!(allergies["total"], 2, "{allergies}");
    let list = entries(&allergies);
    let drug = list
        .iter()
        .find(|r| r["id"] == format!("{a}-hs-al-drug"))
        .expect("the drug allergy");
    assert_eq!(drug["category"][0], "medication");
    assert_eq!(drug["code"]["text"], "Penicillin (nổi mày đay)");
    assert_eq!(drug["patient"]["reference"], format!("Patient/{a}"));
    files.push(w.save("allergies", &allergies));
    let (_, food) = w
        .get(
            &ta,
            &format!("/fhir/AllergyIntolerance?patient={a}&category=food"),
        )
        .await;
    assert_eq!(food["total"], 1);
    assert_eq!(entries(&food)[0]["code"]["text"], "Tôm, cua");

    // The problem list: ICD-10 where the record knows it, text otherwise.
    let (_, problems) = w
        .get(
            &ta,
            &format!("/fhir/Condition?patient={a}&category=problem-list-item"),
        )
        .await;
    let list = entries(&problems);
    let by_id = |id: &str| {
        list.iter()
            .find(|r| r["id"] == format!("{a}-hs-{id}"))
            .unwrap_or_else(|| panic!("{id} in {problems}"))
    };
    let htn = by_id("cd-hypertension");
    assert_eq!(
        htn["code"]["coding"][0]["system"],
        "http://hl7.org/fhir/sid/icd-10"
    );
    assert_eq!(htn["code"]["coding"][0]["code"], "I10");
    assert_eq!(htn["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(by_id("cd-icd-E78.5")["code"]["coding"][0]["code"], "E78.5");
    let tb = by_id("cd-tb");
    assert!(tb["code"]["coding"].is_null());
    assert!(tb["code"]["text"].as_str().unwrap().contains("Lao phổi"));
    assert!(
        by_id("dis-vision")["code"]["text"]
            .as_str()
            .unwrap()
            .contains("Mắt trái")
    );
    assert!(
        list.iter()
            .all(|r| r["category"][0]["coding"][0]["code"] == "problem-list-item")
    );
    files.push(w.save("problems", &problems));
    // The dossiers' diagnoses are still there, as encounter diagnoses.
    let (_, dx) = w
        .get(
            &ta,
            &format!("/fhir/Condition?patient={a}&category=encounter-diagnosis"),
        )
        .await;
    assert!(dx["total"].as_u64().unwrap() > 0);

    // Family history: the relative read from the "who" text, else a family member.
    let (_, family) = w
        .get(&ta, &format!("/fhir/FamilyMemberHistory?patient={a}"))
        .await;
    let list = entries(&family);
    let rel = |id: &str| {
        list.iter()
            .find(|r| r["id"] == format!("{a}-hs-fh-{id}"))
            .unwrap_or_else(|| panic!("{id} in {family}"))["relationship"]["coding"][0]["code"]
            .clone()
    };
    assert_eq!(rel("hypertension-fth"), "FTH");
    assert_eq!(rel("hypertension-mth"), "MTH");
    assert_eq!(rel("diabetes-mgrmth"), "MGRMTH");
    assert_eq!(rel("allergy-drug-bro"), "BRO");
    assert_eq!(rel("cancer"), "FAMMEMB");
    files.push(w.save("family", &family));
    let (_, icd) = w
        .get(
            &ta,
            &format!(
                "/fhir/FamilyMemberHistory?patient={a}&code=http://hl7.org/fhir/sid/icd-10|I10"
            ),
        )
        .await;
    assert_eq!(icd["total"], 2);

    // Vital signs of each examination, with LOINC and UCUM.
    let (_, vitals) = w
        .get(
            &ta,
            &format!("/fhir/Observation?patient={a}&category=vital-signs"),
        )
        .await;
    let list = entries(&vitals);
    // Exam 1: pulse, temperature, resp, weight, height, BMI, waist, BP; exam 2: pulse,
    // weight, height, BMI, BP.
    assert_eq!(list.len(), 13, "{vitals}");
    let codes: BTreeSet<&str> = list
        .iter()
        .map(|r| r["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    for c in [
        "8867-4", "8310-5", "85354-9", "9279-1", "29463-7", "8302-2", "39156-5", "8280-0",
    ] {
        assert!(codes.contains(c), "{c}");
    }
    for r in &list {
        assert_eq!(r["code"]["coding"][0]["system"], "http://loinc.org");
        let q = if r["valueQuantity"].is_object() {
            &r["valueQuantity"]
        } else {
            &r["component"][0]["valueQuantity"]
        };
        assert_eq!(q["system"], "http://unitsofmeasure.org", "{r}");
    }
    let bp1 = list
        .iter()
        .find(|r| r["id"] == format!("{a}-hs-ex1-bp"))
        .unwrap();
    assert_eq!(bp1["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp1["component"][0]["valueQuantity"]["value"], 142);
    assert_eq!(bp1["component"][1]["valueQuantity"]["code"], "mm[Hg]");
    // The second examination gave no diastolic pressure: absent, with the reason.
    let bp2 = list
        .iter()
        .find(|r| r["id"] == format!("{a}-hs-ex2-bp"))
        .unwrap();
    assert!(bp2["component"][1]["dataAbsentReason"].is_object());
    let bmi = list
        .iter()
        .find(|r| r["id"] == format!("{a}-hs-ex2-bmi"))
        .unwrap();
    assert_eq!(bmi["valueQuantity"]["code"], "kg/m2");
    assert_eq!(bmi["valueQuantity"]["value"], 25.8);
    files.push(w.save("vitals", &vitals));
    // By code and date too, as other Observations.
    let since = (server::vn_now().date() - chrono::Duration::days(60)).to_string();
    let (_, recent) = w
        .get(
            &ta,
            &format!("/fhir/Observation?patient={a}&code=http://loinc.org|29463-7&date=ge{since}"),
        )
        .await;
    assert_eq!(recent["total"], 1);
    assert_eq!(entries(&recent)[0]["valueQuantity"]["value"], 64.5);

    // Social history and blood group.
    let (_, social) = w
        .get(
            &ta,
            &format!("/fhir/Observation?patient={a}&category=social-history"),
        )
        .await;
    let list = entries(&social);
    let smoking = list
        .iter()
        .find(|r| r["code"]["coding"][0]["code"] == "72166-2")
        .expect("smoking status");
    assert_eq!(
        smoking["valueCodeableConcept"]["coding"][0]["code"],
        "8517006"
    );
    assert_eq!(
        list.len(),
        5,
        "smoking, alcohol, activity, exposure, toilet"
    );
    let (_, abo) = w
        .get(
            &ta,
            &format!("/fhir/Observation?patient={a}&code=http://loinc.org|883-9"),
        )
        .await;
    assert_eq!(
        entries(&abo)[0]["valueCodeableConcept"]["text"],
        "Nhóm máu B"
    );

    // Mother, father, main caregiver.
    let (_, related) = w
        .get(&ta, &format!("/fhir/RelatedPerson?patient={a}"))
        .await;
    let list = entries(&related);
    let rp: BTreeMap<&str, &Value> = list
        .iter()
        .map(|r| {
            (
                r["relationship"][0]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or(""),
                *r,
            )
        })
        .collect();
    assert_eq!(rp["MTH"]["name"][0]["text"], "Nguyễn Thị Mẹ");
    assert_eq!(rp["FTH"]["name"][0]["family"], "Trần");
    assert_eq!(rp["DAU"]["telecom"][0]["value"], "0912 345 678");
    files.push(w.save("related", &related));

    // Read by id; another person's record is not there.
    let (s, one) = w
        .get(
            &ta,
            &format!("/fhir/FamilyMemberHistory/{a}-hs-fh-hypertension-mth"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["relationship"]["coding"][0]["code"], "MTH");
    let (s, _) = w
        .get(&ta, &format!("/fhir/AllergyIntolerance/{a}-hs-al-nothing"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .get(
            &w.tokens["b"],
            &format!("/fhir/AllergyIntolerance/{a}-hs-al-drug"),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, none) = w
        .get(
            &w.tokens["b"],
            &format!("/fhir/AllergyIntolerance?patient={a}"),
        )
        .await;
    assert!(entries(&none).is_empty(), "{none}");

    // $everything holds the record's resources, after the Patient.
    let (s, all) = w.get(&ta, &format!("/fhir/Patient/{a}/$everything")).await;
    assert_eq!(s, StatusCode::OK);
    let list = entries(&all);
    assert_eq!(list[0]["resourceType"], "Patient");
    for ty in [
        "AllergyIntolerance",
        "FamilyMemberHistory",
        "RelatedPerson",
        "Encounter",
    ] {
        assert!(!ids(&list, ty).is_empty(), "{ty} in $everything");
    }
    assert!(ids(&list, "Procedure").contains(format!("{a}-hs-surgery").as_str()));
    files.push(w.save("everything-a", &all));
    let (_, only) = w
        .get(
            &ta,
            &format!("/fhir/Patient/{a}/$everything?_type=AllergyIntolerance,RelatedPerson"),
        )
        .await;
    let types: BTreeSet<&str> = entries(&only)
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["AllergyIntolerance", "RelatedPerson"])
    );
    for k in ["b", "c"] {
        let p = if k == "b" { w.b } else { w.c };
        let (s, all) = w
            .get(&w.tokens[k], &format!("/fhir/Patient/{p}/$everything"))
            .await;
        assert_eq!(s, StatusCode::OK);
        files.push(w.save(&format!("everything-{k}"), &all));
    }
    // The metadata names the new types; the record's code systems are served.
    let (_, meta) = w.get("", "/fhir/metadata").await;
    let served: BTreeSet<&str> = meta["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for ty in ["AllergyIntolerance", "FamilyMemberHistory", "RelatedPerson"] {
        assert!(served.contains(ty), "{ty}");
    }
    files.push(w.save("metadata", &meta));
    let (_, cs) = w.get("", "/fhir/CodeSystem").await;
    let cs_ids = ids(&entries(&cs), "CodeSystem");
    for id in [
        "yeu-to-nguy-co-831",
        "muc-do-nguy-co-831",
        "loai-ho-xi-831",
        "khuyet-tat-831",
    ] {
        assert!(cs_ids.contains(id), "{id}");
    }
    files.push(w.save("codesystems", &cs));
    validate(&files);
}
both!(the_record_is_searched_read_and_in_everything);

async fn the_summary_lists_allergies_only_as_the_record_states_them() {
    let w = world("record-ips").await;
    let mut files = Vec::new();
    // A: the allergies listed; the record's problems with the dossiers'.
    let (s, doc) = w
        .get(&w.tokens["a"], &format!("/fhir/Patient/{}/$summary", w.a))
        .await;
    assert_eq!(s, StatusCode::OK);
    let sec = sections(&doc);
    let allergies = section_refs(&sec["48765-2"]);
    assert_eq!(
        allergies,
        [
            format!("AllergyIntolerance/{}-hs-al-drug", w.a),
            format!("AllergyIntolerance/{}-hs-al-food", w.a)
        ]
    );
    assert!(sec["48765-2"]["emptyReason"].is_null());
    let div = sec["48765-2"]["text"]["div"].as_str().unwrap();
    assert!(
        div.contains("Penicillin") && div.contains("Tôm, cua"),
        "{div}"
    );
    let problems = section_refs(&sec["11450-4"]);
    for p in ["cd-hypertension", "cd-diabetes", "cd-icd-E78.5", "cd-tb"] {
        assert!(
            problems.contains(&format!("Condition/{}-hs-{p}", w.a)),
            "{p} in {problems:?}"
        );
    }
    // Disabilities, vital signs (of the newest examination) and risk factors have their
    // own sections.
    assert_eq!(
        section_refs(&sec["47420-5"]),
        [format!("Condition/{}-hs-dis-vision", w.a)]
    );
    let vitals = section_refs(&sec["8716-3"]);
    assert!(
        !vitals.is_empty() && vitals.iter().all(|v| v.contains("-hs-ex2-")),
        "{vitals:?}"
    );
    assert_eq!(section_refs(&sec["29762-2"]).len(), 5);
    // Results hold the dossiers' results only.
    assert!(
        section_refs(&sec["30954-2"])
            .iter()
            .all(|r| !r.contains("-hs-"))
    );
    // Every reference resolves inside the document.
    let urls: BTreeSet<String> = doc["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_string())
        .collect();
    let mut refs = Vec::new();
    for r in entries(&doc) {
        server::fhir::ips::collect_refs(r, &mut refs);
    }
    for r in refs {
        assert!(
            urls.contains(&format!("{}/fhir/{r}", w.base)),
            "unresolved {r}"
        );
    }
    files.push(w.save("summary-a", &doc));

    // B: the record says "no known allergies": one AllergyIntolerance with the IPS code.
    let (_, doc) = w
        .get(&w.tokens["b"], &format!("/fhir/Patient/{}/$summary", w.b))
        .await;
    let sec = sections(&doc);
    assert_eq!(
        section_refs(&sec["48765-2"]),
        [format!("AllergyIntolerance/{}-hs-al-none", w.b)]
    );
    let nka = entries(&doc)
        .into_iter()
        .find(|r| r["resourceType"] == "AllergyIntolerance")
        .unwrap();
    assert_eq!(
        nka["code"]["coding"][0]["system"],
        "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
    );
    assert_eq!(nka["code"]["coding"][0]["code"], "no-known-allergies");
    files.push(w.save("summary-b", &doc));

    // C: the record says nothing of allergies: no claim, the section empty and why.
    let (_, doc) = w
        .get(&w.tokens["c"], &format!("/fhir/Patient/{}/$summary", w.c))
        .await;
    let sec = sections(&doc);
    assert!(sec["48765-2"]["entry"].is_null());
    assert_eq!(
        sec["48765-2"]["emptyReason"]["coding"][0]["code"],
        "notasked"
    );
    assert!(
        entries(&doc)
            .iter()
            .all(|r| r["resourceType"] != "AllergyIntolerance")
    );
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("no-known-allergies") && !text.contains("716186003"));
    let (_, none) = w
        .get(
            &w.tokens["c"],
            &format!("/fhir/AllergyIntolerance?patient={}", w.c),
        )
        .await;
    assert_eq!(none["total"], 0);
    files.push(w.save("summary-c", &doc));
    validate(&files);
}
both!(the_summary_lists_allergies_only_as_the_record_states_them);

async fn the_export_holds_the_records_the_units_stations_keep() {
    let w = world("record-export").await;
    // Over HTTP, by a client of the province of A, B and C.
    let tok = w.system_token(&w.province).await;
    let r = w
        .http
        .get(format!("{}/fhir/$export", w.base))
        .bearer_auth(&tok)
        .header("prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let status_url = r.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let mut manifest = Value::Null;
    for _ in 0..600 {
        let r = w
            .http
            .get(&status_url)
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            manifest = r.json().await.unwrap();
            break;
        }
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(manifest.is_object(), "the export finished");
    let mut files = Vec::new();
    let mut lines: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for o in manifest["output"].as_array().unwrap() {
        let ty = o["type"].as_str().unwrap().to_string();
        let text = w
            .http
            .get(o["url"].as_str().unwrap())
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let p = w.out.join(format!("bulk-{ty}.ndjson"));
        std::fs::write(&p, &text).unwrap();
        files.push(p);
        lines.insert(
            ty,
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        );
    }
    let has = |ty: &str, id: String| {
        lines
            .get(ty)
            .is_some_and(|l| l.iter().any(|r| r["id"] == id.as_str()))
    };
    for ty in ["AllergyIntolerance", "FamilyMemberHistory", "RelatedPerson"] {
        assert!(lines.contains_key(ty), "{ty} exported");
    }
    assert!(has("AllergyIntolerance", format!("{}-hs-al-drug", w.a)));
    assert!(has("Condition", format!("{}-hs-cd-hypertension", w.a)));
    assert!(has("Observation", format!("{}-hs-ex2-bp", w.a)));
    // B and C have no episode: their Patients come with the records the station keeps.
    assert!(has("AllergyIntolerance", format!("{}-hs-al-none", w.b)));
    assert!(has("Patient", w.b.to_string()) && has("Patient", w.c.to_string()));
    // D's record is another province's.
    assert!(!has("Patient", w.d.to_string()));
    assert!(!has("AllergyIntolerance", format!("{}-hs-al-drug", w.d)));
    // Each exported person's chain names the export.
    for p in [w.a, w.b, w.c] {
        assert!(
            w.store
                .audit_of(p)
                .unwrap()
                .iter()
                .any(|r| r.action == "fhir_export"),
            "{p}"
        );
    }
    assert!(
        !w.store
            .audit_of(w.d)
            .unwrap()
            .iter()
            .any(|r| r.action == "fhir_export")
    );
    // The command line's export of the unit is the same.
    let mut sink = DirSink::new(&w.out.join("cli")).unwrap();
    let stats = export_unit(
        w.store.as_ref(),
        &w.province,
        EXPORT_TYPES,
        0,
        &Exporter {
            id: "cli:test".into(),
            name: "Xuất thử".into(),
        },
        &mut sink,
    )
    .unwrap();
    let counts: BTreeMap<String, u64> = lines
        .iter()
        .map(|(t, l)| (t.clone(), l.len() as u64))
        .collect();
    assert_eq!(counts, stats.resources);
    // Only the records changed since: none after now.
    let mut later = DirSink::new(&w.out.join("cli-later")).unwrap();
    let stats = export_unit(
        w.store.as_ref(),
        &w.province,
        &["AllergyIntolerance"],
        store::now_ms() + 60_000,
        &Exporter {
            id: "cli:test".into(),
            name: "Xuất thử".into(),
        },
        &mut later,
    )
    .unwrap();
    assert_eq!(stats.total(), 0);

    // A client of D's province reads D's record (no episode there) and not A's.
    let other = w.system_token(&w.other_province).await;
    let (s, d_allergies) = w
        .get(&other, &format!("/fhir/AllergyIntolerance?patient={}", w.d))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d_allergies["total"], 1);
    let (s, _) = w
        .get(&other, &format!("/fhir/AllergyIntolerance?patient={}", w.b))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A client of A's province reads B, who has no episode, through the record.
    let (s, b) = w
        .get(&tok, &format!("/fhir/Patient/{}/$everything", w.b))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!ids(&entries(&b), "AllergyIntolerance").is_empty());
    files.push(w.save("system-everything-b", &b));
    validate(&files);
}
both!(the_export_holds_the_records_the_units_stations_keep);
