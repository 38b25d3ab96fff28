//! The commune station's work on the QĐ 831 records over loopback HTTP, on SQLite and
//! PostgreSQL: a commune officer finds a resident (name words, personal ID, the
//! incomplete and the examination-due lists), completes parts A and B, adds an
//! examination (BMI computed by the server), gets 422 naming each refused item and 409
//! on a stale version or a closed record; another commune's officer finds nothing; the
//! person's audit chain holds every read and write (the citizen's access log shows
//! them); chronic codes of an ingested dossier are proposed and accepted; registry
//! mismatches are resolved; an import reports its refused lines with why.

#[macro_use]
mod common;

mod station_world;

use reqwest::StatusCode;
use serde_json::{Value, json};
use station_world::{AN, BINH, CUONG, World, world};

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
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, token, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn put(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, token, path, Some(body))
            .await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    async fn record(&self, token: &str, pid: i64) -> Value {
        self.get(token, &format!("/api/v1/records/{pid}")).await
    }

    async fn version(&self, pid: i64) -> i64 {
        self.record(&self.tram01, pid).await["version"]
            .as_i64()
            .unwrap()
    }

    /// The person ids of a station list.
    async fn list(&self, token: &str, query: &str) -> Vec<i64> {
        self.get(token, &format!("/api/v1/station/residents?{query}"))
            .await["residents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["person_id"].as_i64().unwrap())
            .collect()
    }

    async fn import(&self, content_type: &str, body: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/station/records/import", self.base))
            .bearer_auth(&self.tram01)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// The value of an item in a record's answer, from any part.
fn item(record: &Value, key: &str) -> Option<String> {
    record["parts"].as_array()?.iter().find_map(|p| {
        p["groups"].as_array()?.iter().find_map(|g| {
            g["items"]
                .as_array()?
                .iter()
                .find(|i| i["key"] == key)
                .map(|i| i["value"].as_str().unwrap().to_string())
        })
    })
}

fn part<'a>(record: &'a Value, code: &str) -> &'a Value {
    record["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == code)
        .unwrap()
}

/// The problems of a 422: (key, code) pairs; every message non-empty.
fn problems(v: &Value) -> Vec<(String, String)> {
    assert_eq!(v["error"], "invalid_record", "{v}");
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(!p["message"].as_str().unwrap().is_empty(), "{p}");
            (
                p["key"].as_str().unwrap().to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn today() -> String {
    store::vn_now().date().format("%d/%m/%Y").to_string()
}

async fn an_officer_keeps_a_residents_record() {
    let w = world().await;
    let t = w.tram01.clone();

    // Finding: by name words (accents or not), by the exact personal ID; the lists.
    assert_eq!(w.list(&t, "q=nguyen%20van%20an").await, vec![w.an]);
    assert_eq!(w.list(&t, &format!("q={AN}")).await, vec![w.an]);
    assert!(
        w.list(&t, "q=an%20nguyen%20va").await.contains(&w.an),
        "the last word may be a start"
    );
    assert!(
        w.list(&t, &format!("q={CUONG}")).await.is_empty(),
        "another commune's"
    );
    let incomplete = w.list(&t, "filter=incomplete&per_page=200").await;
    assert!(incomplete.contains(&w.an) && incomplete.contains(&w.binh));
    assert!(
        !incomplete.contains(&w.dung),
        "a closed record is not to complete"
    );
    let due = w.list(&t, "filter=exam_due&per_page=200").await;
    assert!(due.contains(&w.an), "An is 76 and not examined this year");
    assert!(!due.contains(&w.binh) && !due.contains(&w.dung));
    let page = w
        .get(&t, "/api/v1/station/residents?per_page=2&page=2")
        .await;
    assert_eq!(page["residents"].as_array().unwrap().len(), 2);
    assert_eq!(page["total"], 5, "the living and the dead of 00004: {page}");
    let (s, _) = w
        .call(
            reqwest::Method::GET,
            &t,
            "/api/v1/station/residents?filter=x",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The record as the registry made it: part A started, nothing else.
    let r = w.record(&t, w.an).await;
    assert_eq!(r["status"], "open");
    assert_eq!(item(&r, "a.name").as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(item(&r, "a.birth_date").as_deref(), Some("1950-03-05"));
    assert_eq!(part(&r, "A")["complete"], false);
    assert!(
        part(&r, "A")["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "Nhóm máu hệ ABO"),
        "{r}"
    );
    let v0 = r["version"].as_i64().unwrap();

    // Part A, then part B, complete.
    let path = format!("/api/v1/records/{}", w.an);
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v0, "items": {
                "a.blood_abo": "A", "a.blood_rh": "+", "a.ethnicity": "Kinh",
                "a.nationality": "Việt Nam", "a.permanent_address": "12 phố Đội Cấn",
                "a.permanent_province": "01", "a.current_address": "12 phố Đội Cấn",
                "a.current_province": "01", "a.mobile": "0912 345 678"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], v0 + 1);
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v0 + 1, "items": {
                "b.risk.smoking": "3", "b.risk.alcohol": "0", "b.risk.activity": "2",
                "b.allergy.drug": "Penicilin", "b.disease.hypertension": true,
                "b.family.none": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = w.record(&t, w.an).await;
    assert_eq!(part(&r, "A")["complete"], true, "{}", part(&r, "A"));
    assert_eq!(part(&r, "B")["complete"], true, "{}", part(&r, "B"));
    assert_eq!(item(&r, "b.disease.hypertension").as_deref(), Some("1"));
    let v2 = r["version"].as_i64().unwrap();
    assert_eq!(v2, v0 + 2);
    // Each version says who, from which unit, what changed before → after.
    let newest = &r["versions"][0];
    assert_eq!(newest["by_user"], "tram01");
    assert_eq!(newest["by_unit"], "00004");
    let change = newest["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "b.allergy.drug")
        .unwrap();
    assert_eq!(change["before"], "");
    assert_eq!(change["after"], "Penicilin");
    assert!(change["label"].as_str().unwrap().contains("Dị ứng thuốc"));

    // An examination: the server computes the BMI.
    let exams = format!("/api/v1/records/{}/examinations", w.an);
    let (s, v) = w
        .post(
            &t,
            &exams,
            json!({"version": v2, "date": today(), "items": {
                "weight": "60", "height": "160", "bp_sys": 130, "bp_dia": "80",
                "pulse": "76", "diagnosis": "Tăng huyết áp độ 1", "icd": "I10",
                "doctor": "BS. Trần Thị B"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v3 = v["version"].as_i64().unwrap();
    assert_eq!(v3, v2 + 1);
    let r = w.record(&t, w.an).await;
    let e = &r["examinations"][0];
    let bmi = e["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "bmi")
        .expect("a BMI");
    assert_eq!(bmi["value"], "23.4");
    assert_eq!(bmi["shown"], "23,4");
    assert_eq!(e["by"], "tram01");
    // Examined this year: off the "due" list; complete: off the "incomplete" one.
    assert!(
        !w.list(&t, "filter=exam_due&per_page=200")
            .await
            .contains(&w.an)
    );
    assert!(
        !w.list(&t, "filter=incomplete&per_page=200")
            .await
            .contains(&w.an)
    );

    // Refusals name each item; nothing is written.
    let bad = |items: Value| json!({"version": v3, "date": today(), "items": items});
    let (s, v) = w
        .post(
            &t,
            &exams,
            bad(json!({"bp_sys": "80", "bp_dia": "90", "diagnosis": "x", "doctor": "y"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        problems(&v).contains(&("exam.bp_sys".into(), "bp_order".into())),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("Huyết áp"), "{v}");
    let (s, v) = w
        .post(
            &t,
            &exams,
            bad(json!({"weight": "60", "height": "160", "bmi": "30", "diagnosis": "x", "doctor": "y"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problems(&v).contains(&("exam.bmi".into(), "bmi_mismatch".into())),
        "{v}"
    );
    let (s, v) = w
        .post(
            &t,
            &exams,
            json!({"version": v3, "date": "01/01/1949", "items": {"diagnosis": "x", "doctor": "y"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problems(&v).contains(&("exam.date".into(), "before_birth".into())),
        "{v}"
    );
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v3, "items": {"b.repro.births": "1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problems(&v).contains(&("b.repro.births".into(), "women_only".into())),
        "{v}"
    );
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v3, "items": {"c.bcg.date": "01/01/1949", "a.blood_abo": "C"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let p = problems(&v);
    assert!(
        p.contains(&("a.blood_abo".into(), "not_in_list".into())),
        "{v}"
    );
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v3, "items": {"c.bcg.date": "01/01/1949"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problems(&v).contains(&("c.bcg.date".into(), "before_birth".into())),
        "{v}"
    );
    assert_eq!(w.version(w.an).await, v3, "nothing was written");

    // A stale version, a closed record: 409.
    let (s, v) = w
        .put(
            &t,
            &path,
            json!({"version": v2, "items": {"a.religion": "Không"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "conflict");
    let closed = w.record(&t, w.dung).await;
    assert_eq!(closed["status"], "closed");
    let (s, _) = w
        .put(
            &t,
            &format!("/api/v1/records/{}", w.dung),
            json!({"version": closed["version"], "items": {"a.blood_abo": "O"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Another commune's officer: nothing there. The person reads, never writes.
    let (s, _) = w.call(reqwest::Method::GET, &w.tram40, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .put(
            &w.tram40,
            &path,
            json!({"version": v3, "items": {"a.religion": "Không"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        w.list(&w.tram40, "per_page=200")
            .await
            .iter()
            .all(|p| *p != w.an)
    );
    let citizen = w.store.create_session(w.an, 3_600_000).unwrap();
    let own = w.record(&citizen, w.an).await;
    assert_eq!(item(&own, "a.blood_abo").as_deref(), Some("A"));
    let (s, _) = w
        .put(
            &citizen,
            &path,
            json!({"version": v3, "items": {"a.religion": "Không"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .call(
            reqwest::Method::GET,
            &citizen,
            &format!("/api/v1/records/{}", w.binh),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "someone else's record");
    let (s, _) = w
        .call(
            reqwest::Method::GET,
            &citizen,
            "/api/v1/station/residents",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a person is no station");

    // The person's audit chain: the station's reads and writes, on the basis of residence.
    let log = w
        .get(&citizen, &format!("/api/v1/persons/{}/access-log", w.an))
        .await;
    let reads = log["reads"].as_array().unwrap();
    let by_station = |action: &str| {
        reads
            .iter()
            .filter(|r| r["action"] == action && r["actor"] == "tram01")
            .inspect(|r| assert_eq!(r["basis"], "residence", "{r}"))
            .count()
    };
    assert!(by_station("record.read") >= 4, "{log}");
    assert_eq!(by_station("record.edit"), 2, "{log}");
    assert_eq!(by_station("record.exam"), 1, "{log}");
    assert!(
        reads.iter().all(|r| r["actor"] != "tram40"),
        "a refused read is not recorded"
    );
}
both!(an_officer_keeps_a_residents_record);

async fn hospital_codes_are_proposed_and_mismatches_resolved() {
    let w = world().await;
    let t = w.tram01.clone();
    let (pid, codes) = w.chronic.clone();
    let r = w.record(&t, pid).await;
    let proposed: Vec<String> = r["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(proposed.len(), codes.len(), "{proposed:?} {codes:?}");
    for c in &codes {
        assert!(proposed.contains(c), "{c} proposed: {proposed:?}");
    }
    assert!(!r["proposals"][0]["facility"].as_str().unwrap().is_empty());
    // Accept the first into the history; decline the others.
    let mut version = r["version"].as_i64().unwrap();
    for (n, code) in codes.iter().enumerate() {
        let (s, v) = w
            .post(
                &t,
                &format!("/api/v1/records/{pid}/proposals/{code}"),
                json!({"version": version, "accept": n == 0}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        version = v["version"].as_i64().unwrap();
    }
    let r = w.record(&t, pid).await;
    assert_eq!(item(&r, "b.icd"), Some(codes[0].clone()));
    assert!(r["proposals"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r["declined"].as_array().unwrap().len(), codes.len() - 1);
    // A code the dossiers do not hold is no proposal.
    let (s, v) = w
        .post(
            &t,
            &format!("/api/v1/records/{pid}/proposals/Z99"),
            json!({"version": version, "accept": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // The person whose registry name differs from the dossiers': one open record.
    let open = w.get(&t, "/api/v1/station/issues").await;
    let issue = open["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["person_id"] == w.mismatched)
        .unwrap_or_else(|| panic!("a mismatch: {open}"))
        .clone();
    assert_eq!(issue["kind"], "registry_mismatch");
    assert_eq!(issue["detail"]["fields"][0]["field"], "name");
    assert!(
        open["issues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["person_id"] != pid),
        "no mismatch where the registry agrees"
    );
    let id = issue["id"].as_i64().unwrap();
    let resolve = format!("/api/v1/station/issues/{id}/resolve");
    let (s, _) = w.post(&t, &resolve, json!({"note": ""})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = w
        .post(&w.tram40, &resolve, json!({"note": "không phải của trạm"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another station's");
    let (s, v) = w
        .post(
            &t,
            &resolve,
            json!({"note": "Đã đối chiếu CCCD: tên trong sổ dân cư đúng"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let open = w.get(&t, "/api/v1/station/issues").await;
    assert!(
        open["issues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id)
    );
    let all = w.get(&t, "/api/v1/station/issues?status=all").await;
    let done = all["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap();
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "tram01");
    let (s, _) = w.post(&t, &resolve, json!({"note": "lần hai"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "resolved already");
    let (s, _) = w
        .call(
            reqwest::Method::GET,
            &w.tram40,
            "/api/v1/station/issues",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
both!(hospital_codes_are_proposed_and_mismatches_resolved);

async fn an_import_reports_each_refused_line() {
    let w = world().await;
    let csv = format!(
        "personal_id,a.blood_abo,b.risk.smoking,exam.date,exam.weight,exam.height,exam.diagnosis,exam.doctor\n\
         {BINH},O,0,01/02/2026,50,155,Bình thường,BS. Lan\n\
         {AN},C,,,,,,\n\
         {CUONG},A,,,,,,\n\
         999999999999,A,,,,,,\n\
         {BINH},,,01/02/2026,50,155,Bình thường,BS. Lan\n"
    );
    let (s, report) = w.import("text/csv", &csv).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 5);
    assert_eq!(report["applied"], 1, "{report}");
    assert_eq!(
        report["unchanged"], 1,
        "the same examination again: {report}"
    );
    let refused = report["refused"].as_array().unwrap();
    let lines: Vec<i64> = refused
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4, 5], "{report}");
    assert_eq!(refused[0]["personal_id"], AN);
    assert_eq!(refused[0]["problems"][0]["key"], "a.blood_abo");
    assert_eq!(refused[0]["problems"][0]["code"], "not_in_list");
    assert!(
        refused[0]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Nhóm máu")
    );
    // Another commune's resident and no one look the same.
    assert_eq!(refused[1]["problems"][0]["code"], "not_resident");
    assert_eq!(refused[2]["problems"][0]["code"], "not_resident");
    assert_eq!(
        refused[1]["problems"][0]["message"],
        refused[2]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .replace("999999999999", CUONG)
    );

    let r = w.record(&w.tram01, w.binh).await;
    assert_eq!(item(&r, "a.blood_abo").as_deref(), Some("O"));
    assert_eq!(r["examinations"].as_array().unwrap().len(), 1);
    assert_eq!(r["versions"][0]["source"], "import");
    assert_eq!(r["versions"][0]["by_unit"], "00004");
    // The line that was refused changed nothing.
    let an = w.record(&w.tram01, w.an).await;
    assert_eq!(item(&an, "a.blood_abo"), None);
    // Each person's chain holds the import.
    let chain = w.store.audit_of(w.binh).unwrap();
    let imported: Vec<_> = chain
        .iter()
        .filter(|a| a.action == "record.import")
        .collect();
    assert_eq!(imported.len(), 1, "{chain:?}");
    assert_eq!(imported[0].actor, "tram01");
    assert_eq!(imported[0].basis, "residence");
    assert!(
        w.store
            .audit_of(w.an)
            .unwrap()
            .iter()
            .all(|a| a.action != "record.import")
    );

    // JSON lines too; a file that cannot be read is refused whole, naming the line.
    let jsonl = format!("{{\"personal_id\": \"{AN}\", \"items\": {{\"a.blood_abo\": \"B\"}}}}\n");
    let (s, report) = w.import("application/x-ndjson", &jsonl).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], 1);
    let (s, v) = w
        .import("application/x-ndjson", "{\"personal_id\": 1\n")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("dòng 1"), "{v}");
    let (s, v) = w.import("text/csv", "personal_id,not.an.item\n1,2\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = w.import("application/json", "{}").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Larger than 20 MB: refused (413, or the connection cut while it is still sent),
    // nothing of it applied.
    let big = "personal_id,a.blood_abo\n".to_string() + &format!("{BINH},AB\n").repeat(1_600_000);
    assert!(big.len() > 20 * 1024 * 1024);
    // On a client of its own: the connection the server cuts must not stay in the pool
    // the next request would take it from.
    let sent = reqwest::Client::new()
        .post(format!("{}/api/v1/station/records/import", w.base))
        .bearer_auth(&w.tram01)
        .header("content-type", "text/csv")
        .body(big)
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    let r = w.record(&w.tram01, w.binh).await;
    assert_eq!(item(&r, "a.blood_abo").as_deref(), Some("O"));
}
both!(an_import_reports_each_refused_line);
