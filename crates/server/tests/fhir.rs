//! FHIR R4 over loopback HTTP: every resource type, `$everything`, the International
//! Patient Summary and a bulk export, checked by the independent validator of
//! `tools/fhir-validate` (the official R4 StructureDefinitions through @medplum/core, and
//! the official R4 JSON schema through ajv); the IPS document's structure; search,
//! paging and filters; and who may read what (citizen, clinician, system client).

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use book::IdKind;
use book::access::{Scope, SmartScopes};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use server::fhir::export::{DirSink, EXPORT_TYPES, ExportStats, Exporter, export_unit};
use store::{StaffAccount, Store, now_ms};
use synth::{Config, Generator};

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// The person with the most episodes, signed in; another person.
    a: i64,
    a_pid: String,
    a_token: String,
    b: i64,
    /// A clinician at a facility, with a session.
    clinician: String,
    clinician_token: String,
    out: PathBuf,
    dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn registry(store: &Arc<dyn Store>) {
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
}

async fn world(name: &str) -> World {
    let dir = common::scratch();
    let store = dir.open();
    registry(&store);
    // The last year and a half up to next month: open episodes, appointments ahead.
    let today = server::vn_now().date();
    let g = Generator::new(Config {
        persons: 30,
        episodes: 600,
        seed: 7,
        from: today - chrono::Duration::days(540),
        to: today + chrono::Duration::days(20),
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    let mut people: Vec<(String, i64, usize)> = Vec::new();
    for j in 0..30 {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        let Some(p) = store
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
        else {
            continue;
        };
        if !people.iter().any(|(_, id, _)| *id == p.id) {
            people.push((pid, p.id, store.episodes_of(p.id).unwrap().len()));
        }
    }
    people.sort_by_key(|p| std::cmp::Reverse(p.2));
    let (a_pid, a, _) = people[0].clone();
    let (_, b, _) = people[1].clone();
    // A clinician registered with a certificate that A's dossiers name.
    let eps = store.episodes_of(a).unwrap();
    let cert = eps
        .iter()
        .flat_map(|e| e.view.medicines.iter().flat_map(|m| m.ordered_by.clone()))
        .next()
        .expect("a prescriber's certificate");
    let clinician = StaffAccount {
        username: "bs-fhir".into(),
        full_name: "Bác sĩ Nguyễn Thị Hư Cấu".into(),
        role: book::access::Role::Clinician,
        unit: None,
        facility: Some(eps[0].facility.clone()),
        practising_cert: Some(cert),
        active: true,
    };
    store
        .upsert_staff(&clinician, Some("matkhau-2026"))
        .unwrap();
    let clinician_token = store.create_staff_session("bs-fhir", 3_600_000).unwrap();
    let a_token = store.create_session(a, 3_600_000).unwrap();

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
    // One folder per test and backend: both run at once.
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
        a_pid,
        a_token,
        b,
        clinician: "bs-fhir".into(),
        clinician_token,
        out,
        dir,
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
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status.is_success() || body["resourceType"] == "OperationOutcome" {
            assert!(ct.starts_with("application/fhir+json"), "{path}: {ct}");
        }
        (status, body)
    }

    /// Save a response for the validator.
    fn save(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.out.join(format!("{name}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    }

    /// The command line's export of every type of `unit` into `out/<dir>`, by `cli:test`.
    fn export_all(&self, unit: &str, dir: &str) -> (DirSink, ExportStats) {
        let mut sink = DirSink::new(&self.out.join(dir)).unwrap();
        let stats = export_unit(
            self.store.as_ref(),
            unit,
            EXPORT_TYPES,
            0,
            &cli_exporter(),
            &mut sink,
        )
        .unwrap();
        (sink, stats)
    }

    /// A system client registered for `unit` with `scope`: its id and secret.
    fn client(&self, unit: &str, scope: &str) -> (String, String) {
        let (client, secret) = self
            .store
            .add_fhir_client(
                "Kho dữ liệu thử nghiệm",
                unit,
                &SmartScopes::parse(scope).unwrap(),
                "test",
            )
            .unwrap();
        (client.client_id, secret)
    }

    /// An access token of a client (client credentials), for `scope` when given.
    async fn token(&self, client_id: &str, secret: &str, scope: Option<&str>) -> String {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        form.extend(scope.map(|s| ("scope", s)));
        let r = self
            .http
            .post(format!("{}/fhir/auth/token", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["token_type"], "bearer");
        t["access_token"].as_str().unwrap().to_string()
    }

    /// A token of a new client for `unit` with `scope`, and the client's id.
    async fn system_token(&self, unit: &str, scope: &str) -> (String, String) {
        let (client_id, secret) = self.client(unit, scope);
        (self.token(&client_id, &secret, None).await, client_id)
    }
}

/// Who the tests' command-line exports are run by.
fn cli_exporter() -> Exporter {
    Exporter {
        id: "cli:test".into(),
        name: "Xuất thử".into(),
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

async fn every_resource_type_and_the_summary_pass_the_official_r4_validator() {
    let w = world("validate").await;
    let t = w.a_token.clone();
    let a = w.a;
    let mut files = Vec::new();

    let (s, cap) = w.get("", "/fhir/metadata").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(cap["fhirVersion"], "4.0.1");
    files.push(w.save("metadata", &cap));

    let (s, everything) = w.get(&t, &format!("/fhir/Patient/{a}/$everything")).await;
    assert_eq!(s, StatusCode::OK);
    let types: BTreeSet<&str> = entries(&everything)
        .iter()
        .filter_map(|r| r["resourceType"].as_str())
        .collect();
    for ty in [
        "Patient",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "Observation",
        "DiagnosticReport",
        "Procedure",
        "ServiceRequest",
        "Appointment",
        "Organization",
        "Practitioner",
    ] {
        assert!(types.contains(ty), "$everything has no {ty}: {types:?}");
    }
    assert_eq!(entries(&everything)[0]["resourceType"], "Patient");
    files.push(w.save("everything", &everything));

    let (s, ips) = w.get(&t, &format!("/fhir/Patient/{a}/$summary")).await;
    assert_eq!(s, StatusCode::OK);
    files.push(w.save("summary", &ips));

    // A read and a search of every type.
    for r in entries(&everything) {
        let (ty, id) = (
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap(),
        );
        // Practitioners known only from dossiers (no account here) are served within
        // bundles; a read finds the registered ones.
        if ty == "Practitioner" && r["name"].is_null() {
            let (s, _) = w.get(&t, &format!("/fhir/{ty}/{id}")).await;
            assert_eq!(s, StatusCode::NOT_FOUND);
            continue;
        }
        if !files.iter().any(|f| f.ends_with(format!("read-{ty}.json"))) {
            let (s, one) = w.get(&t, &format!("/fhir/{ty}/{id}")).await;
            assert_eq!(s, StatusCode::OK, "{ty}/{id}: {one}");
            assert_eq!(&one, r, "a read gives what $everything gave");
            files.push(w.save(&format!("read-{ty}"), &one));
        }
    }
    for ty in [
        "Encounter",
        "Condition",
        "MedicationRequest",
        "Observation",
        "DiagnosticReport",
        "Procedure",
        "ServiceRequest",
        "Appointment",
    ] {
        let (s, b) = w
            .get(&t, &format!("/fhir/{ty}?patient=Patient/{a}&_count=20"))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(b["total"].as_u64().unwrap() > 0, "{ty}");
        files.push(w.save(&format!("search-{ty}"), &b));
    }
    let (_, b) = w
        .get(
            &t,
            &format!(
                "/fhir/Patient?identifier=https://healthbook.vn/fhir/sid/cccd|{}",
                w.a_pid
            ),
        )
        .await;
    assert_eq!(b["total"], 1);
    files.push(w.save("search-Patient", &b));
    let cert = w
        .store
        .staff(&w.clinician)
        .unwrap()
        .unwrap()
        .practising_cert
        .unwrap();
    for (ty, q) in [
        ("Organization", String::new()),
        (
            "Practitioner",
            format!("?identifier=https://healthbook.vn/fhir/sid/cchn|{cert}"),
        ),
        ("CodeSystem", String::new()),
        ("NamingSystem", String::new()),
    ] {
        let (s, b) = w.get(&t, &format!("/fhir/{ty}{q}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b["total"].as_u64().unwrap() > 0, "{ty}");
        files.push(w.save(&format!("search-{ty}"), &b));
    }
    // A practitioner registered here carries the name; the directory is not listed.
    let (_, p) = w
        .get(&t, &format!("/fhir/Practitioner?identifier={cert}"))
        .await;
    assert_eq!(
        entries(&p)[0]["name"][0]["text"],
        "Bác sĩ Nguyễn Thị Hư Cấu"
    );
    let (s, _) = w.get(&t, "/fhir/Practitioner").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Errors are OperationOutcomes, valid too.
    let (s, oo) = w.get(&t, "/fhir/Condition?patient=Patient/1&bogus=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(oo["issue"][0]["expression"][0], "bogus");
    files.push(w.save("outcome", &oo));

    // The bulk export of A's first facility's province.
    let fac = w.store.episodes_of(a).unwrap()[0].facility.clone();
    let unit = fac[..2].to_string();
    let (sink, stats) = w.export_all(&unit, "export");
    assert!(stats.persons > 0 && stats.total() > stats.persons);
    for (_, f) in sink.files() {
        files.push(f);
    }
    let report = validate(&files);
    for ty in [
        "Bundle",
        "Composition",
        "CapabilityStatement",
        "OperationOutcome",
        "CodeSystem",
        "NamingSystem",
        "Patient",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "Observation",
        "DiagnosticReport",
        "Procedure",
        "ServiceRequest",
        "Appointment",
        "Organization",
        "Practitioner",
    ] {
        assert!(
            report.contains(&format!("{ty} ")),
            "{ty} not validated: {report}"
        );
    }
}
both!(every_resource_type_and_the_summary_pass_the_official_r4_validator);

async fn the_summary_is_an_ips_document() {
    let w = world("ips").await;
    let (s, doc) = w
        .get(&w.a_token, &format!("/fhir/Patient/{}/$summary", w.a))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["type"], "document");
    assert!(
        doc["identifier"]["value"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );
    assert!(doc["timestamp"].is_string());
    let list = entries(&doc);
    let comp = list[0];
    assert_eq!(comp["resourceType"], "Composition", "Composition first");
    assert_eq!(comp["type"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(comp["type"]["coding"][0]["code"], "60591-5");
    assert_eq!(comp["subject"]["reference"], format!("Patient/{}", w.a));
    let sections: BTreeMap<&str, &Value> = comp["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["code"]["coding"][0]["code"].as_str().unwrap(), s))
        .collect();
    // Required (Medications, Allergies, Problems) and recommended sections.
    for code in [
        "10160-0", "48765-2", "11450-4", "47519-4", "11369-6", "30954-2",
    ] {
        let s = sections
            .get(code)
            .unwrap_or_else(|| panic!("section {code}"));
        let div = s["text"]["div"].as_str().unwrap();
        assert!(
            div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"),
            "{code}"
        );
        let empty = s["entry"].as_array().is_none_or(|a| a.is_empty());
        assert_eq!(
            empty,
            s["emptyReason"].is_object(),
            "{code}: emptyReason iff empty"
        );
    }
    // Dossiers carry no allergies and no immunizations: said, with a reason.
    for code in ["48765-2", "11369-6"] {
        assert_eq!(
            sections[code]["emptyReason"]["coding"][0]["code"], "unavailable",
            "{code}"
        );
    }
    // The book has medicines and results for A.
    assert!(sections["10160-0"]["entry"].is_array() || sections["30954-2"]["entry"].is_array());
    // Every reference in the document resolves to an entry of it.
    let full_urls: BTreeSet<String> = doc["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_string())
        .collect();
    let base = format!("{}/fhir/", w.base);
    let mut refs = Vec::new();
    for r in &list {
        server::fhir::ips::collect_refs(r, &mut refs);
    }
    assert!(!refs.is_empty());
    for r in refs {
        assert!(full_urls.contains(&format!("{base}{r}")), "unresolved {r}");
    }
    // The author is readable too.
    let (s, author) = w.get(&w.a_token, "/fhir/Organization/healthbook").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        comp["author"][0]["reference"],
        format!("Organization/{}", author["id"].as_str().unwrap())
    );
    // Active problems are active; past illnesses are not.
    for (code, want_active) in [("11450-4", true), ("11348-0", false)] {
        for e in sections[code]["entry"].as_array().into_iter().flatten() {
            let id = e["reference"].as_str().unwrap();
            let c = list
                .iter()
                .find(|r| {
                    format!(
                        "{}/{}",
                        r["resourceType"].as_str().unwrap(),
                        r["id"].as_str().unwrap()
                    ) == id
                })
                .unwrap();
            let status = c["clinicalStatus"]["coding"][0]["code"].as_str().unwrap();
            assert_eq!(status == "active", want_active, "{code} {id} {status}");
        }
    }
    // By identifier too (Patient/$summary?identifier=).
    let (s, doc2) = w
        .get(
            &w.a_token,
            &format!(
                "/fhir/Patient/$summary?identifier=https://healthbook.vn/fhir/sid/cccd|{}",
                w.a_pid
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(entries(&doc2)[0]["subject"], comp["subject"]);
}
both!(the_summary_is_an_ips_document);

async fn search_filters_and_pages() {
    let w = world("search").await;
    let t = w.a_token.clone();
    let a = w.a;
    let (_, all) = w
        .get(&t, &format!("/fhir/Encounter?patient={a}&_count=1000"))
        .await;
    let total = all["total"].as_u64().unwrap() as usize;
    assert!(total >= 5, "{total}");
    assert_eq!(entries(&all).len(), total);
    // Pages of 3, following `next`, give every encounter once.
    let mut seen = BTreeSet::new();
    let mut url = format!("/fhir/Encounter?patient={a}&_count=3");
    let mut pages = 0;
    loop {
        let (s, page) = w.get(&t, &url).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["total"].as_u64().unwrap() as usize, total);
        for r in entries(&page) {
            assert!(seen.insert(r["id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        let next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_string());
        match next {
            Some(n) => url = n.trim_start_matches(&w.base).to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert_eq!(pages, total.div_ceil(3));
    // Dates are ranges (FHIR R4): `lt` finds a stay that starts before the day, `ge` one
    // that reaches the day or later; a stay over the day is found both ways, and every
    // stay one way or the other. `eq` a day finds stays within it.
    let starts: Vec<String> = entries(&all)
        .iter()
        .map(|e| e["period"]["start"].as_str().unwrap()[..10].to_string())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    let mid = &sorted[sorted.len() / 2];
    let ids = |b: &Value| -> BTreeSet<String> {
        entries(b)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let search = |q: String| {
        let w = &w;
        let t = t.clone();
        async move {
            let (s, b) = w
                .get(&t, &format!("/fhir/Encounter?patient={a}&{q}&_count=1000"))
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            b
        }
    };
    let before = search(format!("date=lt{mid}")).await;
    let after = search(format!("date=ge{mid}")).await;
    let on = search(format!("date={mid}")).await;
    let end_of = |e: &Value| {
        e["period"]["end"]
            .as_str()
            .map(|x| x[..10].to_string())
            .unwrap_or_else(|| "9999-12-31".into())
    };
    for e in entries(&before) {
        assert!(e["period"]["start"].as_str().unwrap()[..10] < *mid.as_str());
    }
    for e in entries(&after) {
        assert!(end_of(e) >= *mid, "{e}");
    }
    for e in entries(&on) {
        assert_eq!(e["period"]["start"].as_str().unwrap()[..10], *mid.as_str());
        assert_eq!(end_of(e), *mid, "{e}");
    }
    let union: BTreeSet<String> = ids(&before).union(&ids(&after)).cloned().collect();
    assert_eq!(union, ids(&all));
    let expected_both = entries(&all)
        .iter()
        .filter(|e| {
            e["period"]["start"].as_str().unwrap()[..10] < *mid.as_str() && end_of(e) >= *mid
        })
        .count();
    assert_eq!(
        ids(&before).intersection(&ids(&after)).count(),
        expected_both
    );
    // With a zone, a time is read on the Vietnam clock: 01:00Z is 08:00 in Hà Nội.
    let at = |q: &str| search(format!("date={q}"));
    assert_eq!(
        ids(&at(&format!("ge{mid}T01:00:00Z")).await),
        ids(&at(&format!("ge{mid}T08:00:00%2B07:00")).await)
    );
    // A code (ICD-10, with and without the system).
    let (_, conds) = w
        .get(&t, &format!("/fhir/Condition?patient={a}&_count=1000"))
        .await;
    let code = entries(&conds)[0]["code"]["coding"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let want = entries(&conds)
        .iter()
        .filter(|c| c["code"]["coding"][0]["code"] == code.as_str())
        .count();
    for q in [
        code.clone(),
        format!("http://hl7.org/fhir/sid/icd-10|{code}"),
    ] {
        let (_, hit) = w
            .get(
                &t,
                &format!("/fhir/Condition?patient={a}&code={q}&_count=1000"),
            )
            .await;
        assert_eq!(hit["total"].as_u64().unwrap() as usize, want, "{q}");
    }
    // A citizen's search without `patient` covers their own book.
    let (_, own) = w.get(&t, "/fhir/Encounter?_count=1000").await;
    assert_eq!(own["total"].as_u64().unwrap() as usize, total);
    // Bad input names the parameter.
    for (q, param) in [
        ("date=yesterday", "date"),
        ("date=ge2026-13-45", "date"),
        ("_count=many", "_count"),
        ("patient=Bob", "patient"),
        ("colour=red", "colour"),
    ] {
        let (s, oo) = w.get(&t, &format!("/fhir/Encounter?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert_eq!(oo["issue"][0]["expression"][0], param, "{q}");
    }
    let (s, oo) = w
        .get(
            &t,
            &format!("/fhir/Patient/{a}/$everything?_since=yesterday"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(oo["issue"][0]["expression"][0], "_since");
    let (s, _) = w.get(&t, "/fhir/Medication").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
both!(search_filters_and_pages);

async fn the_same_access_rules_as_the_book() {
    let w = world("access").await;
    let (a, b) = (w.a, w.b);
    // Nobody without a token.
    let (s, oo) = w.get("", &format!("/fhir/Patient/{a}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(oo["issue"][0]["code"], "login");
    // A citizen reads their own book, not another's: not found, and nothing said.
    let (s, _) = w.get(&w.a_token, &format!("/fhir/Patient/{a}")).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        format!("/fhir/Patient/{b}"),
        format!("/fhir/Patient/{b}/$everything"),
        format!("/fhir/Patient/{b}/$summary"),
        format!("/fhir/Condition?patient={b}"),
    ] {
        let (s, body) = w.get(&w.a_token, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        let name = w.store.person(b).unwrap().unwrap().name.unwrap();
        assert!(!body.to_string().contains(&name));
    }
    let b_pid = w.store.person(b).unwrap().unwrap().personal_id.unwrap();
    let (s, found) = w
        .get(&w.a_token, &format!("/fhir/Patient?identifier={b_pid}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["total"], 0, "another's identifier finds nothing");
    // Refused reads and the citizen's own reads leave no record.
    assert!(w.store.audit_of(a).unwrap().is_empty());
    assert!(w.store.audit_of(b).unwrap().is_empty());
    // As B's guardian, A reads B's book, and B's chain says so.
    w.store
        .grant_guardian(a, b, "Giấy khai sinh (tổng hợp)")
        .unwrap();
    let (s, _) = w
        .get(&w.a_token, &format!("/fhir/Patient/{b}/$summary"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let log = w.store.audit_of(b).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].role.as_str(),
            log[0].basis.as_str(),
            log[0].action.as_str(),
            log[0].target.clone()
        ),
        (
            "guardian",
            "guardianship",
            "fhir",
            Some(format!("Patient/{b}/$summary"))
        )
    );
    w.store.revoke_guardian(a, b).unwrap();
    let (s, _) = w
        .get(&w.a_token, &format!("/fhir/Patient/{b}/$summary"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A clinician: nothing without consent; with a summary share, the IPS only; with a
    // full share, everything; every read is in the patient's chain.
    let ct = w.clinician_token.clone();
    let (s, oo) = w.get(&ct, &format!("/fhir/Patient/{a}/$summary")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        oo["issue"][0]["details"]["text"]
            .as_str()
            .unwrap()
            .contains("no_consent")
    );
    let staff = w.store.staff(&w.clinician).unwrap().unwrap();
    let (_, code) = w.store.create_share(a, a, Scope::Summary, 600_000).unwrap();
    w.store
        .redeem_share(&code, &staff, now_ms())
        .unwrap()
        .unwrap();
    let (s, limited) = w.get(&ct, &format!("/fhir/Patient/{a}/$summary")).await;
    assert_eq!(s, StatusCode::OK);
    // A summary share opens what the app's summary shows, no more: no procedures, no
    // past illnesses, abnormal results only, and no diagnosis outside the problem list.
    let in_doc: Vec<&Value> = entries(&limited);
    assert!(
        !in_doc
            .iter()
            .any(|r| r["resourceType"] == "Procedure" || r["resourceType"] == "DiagnosticReport")
    );
    let sections = in_doc[0]["section"].as_array().unwrap();
    for code in ["47519-4", "11348-0"] {
        let sec = sections
            .iter()
            .find(|x| x["code"]["coding"][0]["code"] == code)
            .unwrap();
        assert_eq!(
            sec["emptyReason"]["coding"][0]["code"], "withheld",
            "{code}"
        );
    }
    for r in &in_doc {
        if r["resourceType"] == "Observation" {
            let i = r["interpretation"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or("");
            assert!(["H", "L", "A", "POS"].contains(&i), "{r}");
        }
        if r["resourceType"] == "Condition" {
            assert_eq!(r["clinicalStatus"]["coding"][0]["code"], "active", "{r}");
            assert!(
                r["id"].as_str().unwrap().ends_with("-d0"),
                "a main diagnosis: {r}"
            );
        }
        if r["resourceType"] == "Encounter" {
            assert!(
                r["reasonCode"].is_null() && r["hospitalization"].is_null(),
                "{r}"
            );
        }
    }
    // Staff learn nothing from an identifier: known or not, the same refusal.
    let unknown = "https://healthbook.vn/fhir/sid/cccd|099999999999";
    let b_pid = w.store.person(b).unwrap().unwrap().personal_id.unwrap();
    let known = format!("https://healthbook.vn/fhir/sid/cccd|{b_pid}");
    let (s1, o1) = w
        .get(&ct, &format!("/fhir/Patient/$summary?identifier={unknown}"))
        .await;
    let (s2, o2) = w
        .get(&ct, &format!("/fhir/Patient/$summary?identifier={known}"))
        .await;
    assert_eq!((s1, s2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(o1["issue"], o2["issue"]);
    let (s, oo) = w.get(&ct, &format!("/fhir/Patient/{a}/$everything")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        oo["issue"][0]["details"]["text"]
            .as_str()
            .unwrap()
            .contains("summary_only")
    );
    let (_, code) = w.store.create_share(a, a, Scope::Full, 600_000).unwrap();
    w.store
        .redeem_share(&code, &staff, now_ms())
        .unwrap()
        .unwrap();
    let (s, _) = w.get(&ct, &format!("/fhir/Patient/{a}/$everything")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.get(&ct, &format!("/fhir/Patient/{b}/$everything")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let log = w.store.audit_of(a).unwrap();
    for target in [
        format!("Patient/{a}/$summary"),
        format!("Patient/{a}/$everything"),
    ] {
        assert!(
            log.iter()
                .any(|r| r.actor == w.clinician && r.target.as_deref() == Some(target.as_str())),
            "{target} not audited"
        );
    }
    // Ids that are not FHIR ids are not looked up, and leave no record.
    let before = w.store.audit_of(a).unwrap().len();
    for id in [
        format!("{a}-1-%E2%80%AEgiả"),
        format!("{a}-{}", "9".repeat(80)),
    ] {
        let (s, _) = w.get(&ct, &format!("/fhir/Condition/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{id}");
    }
    assert_eq!(w.store.audit_of(a).unwrap().len(), before);
    // A clinician must name the patient.
    let (s, oo) = w.get(&ct, "/fhir/Condition").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(oo["issue"][0]["expression"][0], "patient");

    // A system client: its unit's data, within its scopes, audited as itself.
    let a_eps = w.store.episodes_of(a).unwrap();
    let province = a_eps[0].facility[..2].to_string();
    let in_unit = a_eps
        .iter()
        .filter(|e| e.facility.starts_with(&province))
        .count();
    let (tok, client_id) = w
        .system_token(&province, "system/Patient.read system/Encounter.read")
        .await;
    let (s, p) = w.get(&tok, &format!("/fhir/Patient/{a}")).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, encs) = w
        .get(&tok, &format!("/fhir/Encounter?patient={a}&_count=1000"))
        .await;
    assert_eq!(
        encs["total"].as_u64().unwrap() as usize,
        in_unit,
        "only the unit's episodes"
    );
    let (s, _) = w.get(&tok, &format!("/fhir/Condition?patient={a}")).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "Condition is outside the token's scopes"
    );
    let (s, _) = w.get(&tok, &format!("/fhir/Patient/{a}/$everything")).await;
    assert_eq!(s, StatusCode::OK, "$everything within the scopes");
    assert!(
        w.store
            .audit_of(a)
            .unwrap()
            .iter()
            .any(|r| r.actor == client_id && r.role == "system_client" && r.basis == "system"),
        "the system read is in the chain"
    );
    // Types outside the scopes are refused before anything of the person is read,
    // whoever the person is (even one who does not exist).
    for p in [a, b, 1] {
        let (s, _) = w
            .get(
                &tok,
                &format!("/fhir/Patient/{p}/$everything?_type=Organization,Practitioner"),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    // A client that may read Organizations gets those of its unit's episodes only.
    let (otok, _) = w
        .system_token(&province, "system/Patient.read system/Organization.read")
        .await;
    // Without the Patient scope, nothing of anyone.
    let (ntok, _) = w.system_token(&province, "system/Organization.read").await;
    let (s, _) = w
        .get(
            &ntok,
            &format!("/fhir/Patient/{a}/$everything?_type=Organization"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, orgs) = w
        .get(
            &otok,
            &format!("/fhir/Patient/{a}/$everything?_type=Organization"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for o in entries(&orgs) {
        let code = o["id"].as_str().unwrap();
        let own = a_eps
            .iter()
            .any(|e| e.facility == code && e.facility.starts_with(&province));
        let referred = a_eps
            .iter()
            .filter(|e| e.facility.starts_with(&province))
            .any(|e| {
                e.view.referral.as_ref().is_some_and(|r| {
                    r.to_facility.as_deref() == Some(code)
                        || r.from_facility.as_deref() == Some(code)
                }) || e
                    .view
                    .appointment
                    .as_ref()
                    .and_then(|x| x.facility.as_deref())
                    == Some(code)
            });
        assert!(own || referred, "{code} is not from the unit's episodes");
    }
    // A person with no episode in the unit is not found.
    let elsewhere = w.store.person(b).unwrap().map(|_| b).filter(|p| {
        w.store
            .episodes_of(*p)
            .unwrap()
            .iter()
            .all(|e| !e.facility.starts_with(&province))
    });
    if let Some(p) = elsewhere {
        let (s, _) = w.get(&tok, &format!("/fhir/Patient/{p}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // Narrower scopes on request; wider ones refused; a wrong secret refused.
    let (client, secret) = w
        .store
        .add_fhir_client(
            "Nghiên cứu",
            &province,
            &SmartScopes::parse("system/Observation.read").unwrap(),
            "test",
        )
        .unwrap();
    let ask = |scope: &'static str, secret: String| {
        let http = w.http.clone();
        let url = format!("{}/fhir/auth/token", w.base);
        let id = client.client_id.clone();
        async move {
            let r = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    // An unknown client, or a wrong secret, is the same answer whatever the scope.
    let r = w
        .http
        .post(format!("{}/fhir/auth/token", w.base))
        .basic_auth("hbc-nobody", Some("x"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, body) = ask("system/*.read", "wrong".into()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, body) = ask("system/*.read", secret.clone()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (s, body) = ask("system/Observation.read", "wrong".into()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, body) = ask("system/Observation.read", secret.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["scope"], "system/Observation.read");
    // A disabled client's tokens stop at once.
    w.store.disable_fhir_client(&client_id).unwrap();
    let (s, _) = w.get(&tok, &format!("/fhir/Patient/{a}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // No staff role but the clinician reads a book through FHIR.
    let officer = StaffAccount {
        username: "so-fhir".into(),
        full_name: "Cán bộ Sở".into(),
        role: book::access::Role::ProvincialOfficer,
        unit: Some(province.clone()),
        facility: None,
        practising_cert: None,
        active: true,
    };
    w.store
        .upsert_staff(&officer, Some("matkhau-2026"))
        .unwrap();
    let ot = w.store.create_staff_session("so-fhir", 3_600_000).unwrap();
    let (s, _) = w.get(&ot, &format!("/fhir/Patient/{a}/$summary")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _ = json!(null);
}
both!(the_same_access_rules_as_the_book);

async fn the_export_streams_a_units_data_and_records_it() {
    let w = world("export").await;
    let province = w.store.episodes_of(w.a).unwrap()[0].facility[..2].to_string();
    let before = w.store.audit_of(w.a).unwrap().len();
    let (sink, stats) = w.export_all(&province, "export");
    let by = cli_exporter();
    // Every line is a resource of its file's type; ids are unique per type.
    let mut per_type = BTreeMap::new();
    for (ty, f) in sink.files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut ids = BTreeSet::new();
        for line in text.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            assert_eq!(r["resourceType"], ty.as_str());
            assert!(
                ids.insert(r["id"].as_str().unwrap().to_string()),
                "{ty} twice"
            );
        }
        per_type.insert(ty.clone(), ids.len() as u64);
    }
    assert_eq!(per_type, stats.resources);
    // The encounters are exactly the unit's current episodes.
    let mut want = 0;
    let mut persons = BTreeSet::new();
    for j in [w.a, w.b] {
        for e in w.store.episodes_of(j).unwrap() {
            if e.facility.starts_with(&province) {
                persons.insert(j);
                want += 1;
            }
        }
    }
    assert!(want > 0);
    assert!(stats.episodes >= want);
    assert_eq!(stats.resources["Encounter"], stats.episodes);
    assert_eq!(stats.resources["Patient"], stats.persons);
    // Each exported person has one record of it in their chain.
    let after = w.store.audit_of(w.a).unwrap();
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[0].action, "fhir_export");
    assert_eq!(after[0].actor, "cli:test");
    assert!(w.store.verify_audit().unwrap().ok());
    // Only some types; an unknown unit is refused.
    let mut sink = DirSink::new(&w.out.join("export-patients")).unwrap();
    let only = export_unit(w.store.as_ref(), &province, &["Patient"], 0, &by, &mut sink).unwrap();
    assert_eq!(only.resources.keys().collect::<Vec<_>>(), vec!["Patient"]);
    let mut sink = DirSink::new(&w.out.join("export-none")).unwrap();
    assert!(export_unit(w.store.as_ref(), "99999", &["Patient"], 0, &by, &mut sink).is_err());
}
both!(the_export_streams_a_units_data_and_records_it);

async fn a_merged_patients_old_ids_lead_to_the_survivor() {
    let w = world("merged").await;
    let (a, b) = (w.a, w.b);
    let eb = w.store.episodes_of(b).unwrap()[0].id;
    // A third person, signed in: a stranger to both.
    let codes: Vec<String> = w
        .store
        .facilities()
        .unwrap()
        .into_iter()
        .map(|f| f.code)
        .collect();
    let mut c = None;
    w.store
        .scan_episodes(&codes, 0, &mut |e| {
            if e.person_id != a && e.person_id != b {
                c = Some(e.person_id);
                return Ok(false);
            }
            Ok(true)
        })
        .unwrap();
    let c = c.expect("a third person");
    let stranger = w.store.create_session(c, 3_600_000).unwrap();
    w.store.merge_persons(b, a, "cùng một người").unwrap();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |token: &str, path: String| {
        let (plain, base, token) = (plain.clone(), w.base.clone(), token.to_string());
        async move {
            let r = plain
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (
                r.status(),
                location,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // The survivor reads the old Patient: inactive, replaced by the survivor.
    let (s, _, p) = get(&w.a_token, format!("/fhir/Patient/{b}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["active"], false);
    assert_eq!(p["link"][0]["type"], "replaced-by");
    assert_eq!(p["link"][0]["other"]["reference"], format!("Patient/{a}"));
    // What moved answers 301 to its new id, which reads.
    let (s, location, oo) = get(&w.a_token, format!("/fhir/Encounter/{b}-{eb}")).await;
    assert_eq!(s, StatusCode::MOVED_PERMANENTLY, "{oo}");
    let location = location.unwrap();
    assert_eq!(location, format!("{}/fhir/Encounter/{a}-{eb}", w.base));
    let (s, e) = w.get(&w.a_token, &location[w.base.len()..]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["id"], format!("{a}-{eb}"));
    let (s, location, _) = get(
        &w.a_token,
        format!("/fhir/Patient/{b}/$everything?_type=Encounter"),
    )
    .await;
    assert_eq!(s, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        location.unwrap(),
        format!("{}/fhir/Patient/{a}/$everything?_type=Encounter", w.base)
    );
    let (s, location, _) = get(&w.a_token, format!("/fhir/Patient/{b}/$summary")).await;
    assert_eq!(s, StatusCode::MOVED_PERMANENTLY);
    assert!(
        location
            .unwrap()
            .ends_with(&format!("/fhir/Patient/{a}/$summary"))
    );
    // Nobody else learns where a record went: as if absent.
    for token in [stranger.as_str(), w.clinician_token.as_str()] {
        for path in [
            format!("/fhir/Patient/{b}"),
            format!("/fhir/Encounter/{b}-{eb}"),
            format!("/fhir/Patient/{b}/$summary"),
        ] {
            let (s, location, body) = get(token, path.clone()).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            assert!(location.is_none());
            assert!(
                !body.to_string().contains(&format!("Patient/{a}")),
                "{path}"
            );
        }
    }
}
both!(a_merged_patients_old_ids_lead_to_the_survivor);

/// A raw request with a bearer token: status, headers, body.
async fn call(
    w: &World,
    method: reqwest::Method,
    token: &str,
    url: &str,
    prefer: bool,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", w.base)
    };
    let mut r = w.http.request(method, url);
    if !token.is_empty() {
        r = r.bearer_auth(token);
    }
    if prefer {
        r = r.header("prefer", "respond-async");
    }
    let r = r.send().await.unwrap();
    (r.status(), r.headers().clone(), r.text().await.unwrap())
}

/// Poll a bulk export's status until it is no longer 202.
async fn finished(w: &World, token: &str, status_url: &str) -> (StatusCode, Value) {
    for _ in 0..600 {
        let (s, h, body) = call(w, reqwest::Method::GET, token, status_url, false).await;
        if s != StatusCode::ACCEPTED {
            return (s, serde_json::from_str(&body).unwrap_or(Value::Null));
        }
        assert!(
            h["x-progress"]
                .to_str()
                .unwrap()
                .ends_with("resources written")
        );
        assert_eq!(h["retry-after"], "2");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the export did not finish in a minute");
}

async fn bulk_export_over_http_is_the_clients_unit_only() {
    use reqwest::Method;
    let w = world("bulk").await;
    let province = w.store.episodes_of(w.a).unwrap()[0].facility[..2].to_string();
    let (client_id, secret) = w.client(&province, "system/*.read");
    let tok = w.token(&client_id, &secret, None).await;
    let (other, _) = w.system_token(&province, "system/*.read").await;
    // Bad requests name what is wrong; people and staff do not export.
    for (q, prefer, param) in [
        ("", false, "Prefer"),
        ("?_type=Bogus", true, "_type"),
        ("?_since=yesterday", true, "_since"),
        ("?_outputFormat=text/csv", true, "_outputFormat"),
        ("?_typeFilter=x", true, "_typeFilter"),
    ] {
        let (s, _, body) = call(&w, Method::GET, &tok, &format!("/fhir/$export{q}"), prefer).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        let oo: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(oo["issue"][0]["expression"][0], param, "{q}");
    }
    for t in [&w.a_token, &w.clinician_token] {
        let (s, _, _) = call(&w, Method::GET, t, "/fhir/$export", true).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _, _) = call(&w, Method::GET, "", "/fhir/$export", true).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Without the Patient scope, no person's data; facilities alone are fine.
    let (obs, _) = w.system_token(&province, "system/Observation.read").await;
    let (s, _, _) = call(&w, Method::GET, &obs, "/fhir/$export", true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(
        &w,
        Method::GET,
        &tok,
        "/fhir/$export?_type=Patient,Bogus",
        true,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (orgs, _) = w.system_token(&province, "system/Organization.read").await;
    let (s, h, _) = call(&w, Method::GET, &orgs, "/fhir/$export", true).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, m) = finished(&w, &orgs, h["content-location"].to_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let types: Vec<&str> = m["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["Organization"]);

    // The whole unit.
    let before = w.store.audit_of(w.a).unwrap().len();
    let (s, h, kick) = call(
        &w,
        Method::GET,
        &tok,
        "/fhir/$export?_outputFormat=application/fhir%2Bndjson",
        true,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{kick}");
    let status_url = h["content-location"].to_str().unwrap().to_string();
    assert!(status_url.starts_with(&format!("{}/fhir/bulk/", w.base)));
    // Another client does not see the job.
    let (s, _, _) = call(&w, Method::GET, &other, &status_url, false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, manifest) = finished(&w, &tok, &status_url).await;
    assert_eq!(s, StatusCode::OK, "{manifest}");
    assert_eq!(manifest["requiresAccessToken"], true);
    assert!(
        manifest["request"]
            .as_str()
            .unwrap()
            .ends_with("/fhir/$export?_outputFormat=application%2Ffhir%2Bndjson")
    );
    assert!(manifest["transactionTime"].as_str().unwrap().ends_with('Z'));
    // The same as the command line's export of the unit.
    let (_, cli) = w.export_all(&province, "bulk-cli");
    let mut files = Vec::new();
    let mut counts = BTreeMap::new();
    for o in manifest["output"].as_array().unwrap() {
        let ty = o["type"].as_str().unwrap();
        let url = o["url"].as_str().unwrap();
        // The files need the client's token: nobody else's.
        let (s, _, _) = call(&w, Method::GET, "", url, false).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{url}");
        let (s, _, _) = call(&w, Method::GET, &other, url, false).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{url}");
        let (s, h, text) = call(&w, Method::GET, &tok, url, false).await;
        assert_eq!(s, StatusCode::OK, "{url}");
        assert_eq!(h["content-type"], "application/fhir+ndjson");
        for line in text.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            assert_eq!(r["resourceType"], ty);
        }
        assert_eq!(text.lines().count() as u64, o["count"].as_u64().unwrap());
        counts.insert(ty.to_string(), o["count"].as_u64().unwrap());
        // A token of the same client narrowed to what the job does not cover: not there.
        if ty == "Patient" {
            let narrow = w
                .token(&client_id, &secret, Some("system/Organization.read"))
                .await;
            let (s, _, _) = call(&w, Method::GET, &narrow, url, false).await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        }
        let p = w.out.join(format!("bulk-{ty}.ndjson"));
        std::fs::write(&p, &text).unwrap();
        files.push(p);
    }
    assert_eq!(counts, cli.resources);
    assert!(counts["Encounter"] > 0 && counts["Patient"] > 0);
    // The job's folder and files are the service's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let mut seen = 0;
        let mut stack = vec![w.dir.path().join("exports")];
        while let Some(d) = stack.pop() {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "{}", p.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 2, "the export's files were looked at");
    }
    validate(&files);
    // Each exported person's chain names the client.
    let log = w.store.audit_of(w.a).unwrap();
    assert!(log.len() > before);
    assert!(
        log.iter()
            .any(|r| r.action == "fhir_export" && r.actor == client_id && r.basis == "system")
    );
    // Nothing else reaches the file system.
    for bad in [
        "/fhir/bulk/..%2F..%2Fbook.db",
        "/fhir/bulk/x/..%2F..%2Fbook.db",
    ] {
        let (s, _, _) = call(&w, Method::GET, &tok, bad, false).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
    let job = status_url.rsplit('/').next().unwrap().to_string();
    let (s, _, _) = call(
        &w,
        Method::GET,
        &tok,
        &format!("/fhir/bulk/{job}/job.json"),
        false,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A job the server was running when it stopped reads as failed.
    let record = w.dir.path().join("exports").join(&job).join("job.json");
    let mut j: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    j["state"] = json!("running");
    std::fs::write(&record, serde_json::to_vec(&j).unwrap()).unwrap();
    let (s, _, body) = call(&w, Method::GET, &tok, &status_url, false).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("interrupted"), "{body}");
    // Deleted by its client: gone.
    let (s, _, _) = call(&w, Method::DELETE, &other, &status_url, false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = call(&w, Method::DELETE, &tok, &status_url, false).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, _) = call(&w, Method::GET, &tok, &status_url, false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!w.dir.path().join("exports").join(&job).exists());
    // A client keeps at most three jobs: a fourth waits until one is deleted.
    let mut urls = Vec::new();
    for _ in 0..2 {
        let (s, h, _) = call(&w, Method::GET, &orgs, "/fhir/$export", true).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let u = h["content-location"].to_str().unwrap().to_string();
        assert_eq!(finished(&w, &orgs, &u).await.0, StatusCode::OK);
        urls.push(u);
    }
    let (s, h, _) = call(&w, Method::GET, &orgs, "/fhir/$export", true).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h["retry-after"], "60");
    let (s, _, _) = call(&w, Method::DELETE, &orgs, &urls[0], false).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, _) = call(&w, Method::GET, &orgs, "/fhir/$export", true).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // Lenient handling ignores what it does not know; an empty _type is refused.
    let (s, _, body) = call(&w, Method::GET, &tok, "/fhir/$export?_type=", true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let r = w
        .http
        .get(format!(
            "{}/fhir/$export?_typeFilter=x&_type=Organization",
            w.base
        ))
        .bearer_auth(&tok)
        .header("prefer", "respond-async, handling=lenient")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let u = r.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let (s, m) = finished(&w, &tok, &u).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!m["request"].as_str().unwrap().contains("_typeFilter"));
    // The export folder is the service's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.dir.path().join("exports"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}
both!(bulk_export_over_http_is_the_clients_unit_only);

async fn links_use_the_configured_public_url() {
    let dir = common::scratch();
    let store = dir.open();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = server::Config {
        public_url: Some("https://sskd.example.vn/".into()),
        ..server::Config::default()
    };
    let app = App::new(store as Arc<dyn Store>, config);
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    // Whatever Host the request names.
    let cap: Value = reqwest::Client::new()
        .get(format!("{base}/fhir/metadata"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cap["implementation"]["url"], "https://sskd.example.vn/fhir");
}
both!(links_use_the_configured_public_url);
