//! The International Patient Summary of a book (`Patient/$summary`): a document Bundle,
//! Composition first (LOINC 60591-5), one section per IPS heading, each with a narrative,
//! and `emptyReason` where the book has nothing to say. The rules that pick what goes in
//! each section are in docs/FHIR.md.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::map::{Div, date_time, instant, key, search_date};
use crate::record::is_record_resource;
use crate::terminology::LOINC;

/// Medicines of the last 90 days are the current medication.
pub const MEDICATION_DAYS: i64 = book::summary::MEDICINE_DAYS;
/// Results of the last year.
pub const RESULT_DAYS: i64 = 365;
/// At most this many entries in a section (newest first).
pub const SECTION_MAX: usize = 50;

struct Section {
    code: &'static str,
    display: &'static str,
    title: &'static str,
    entries: Vec<String>,
    lines: Vec<String>,
    /// Narrative when empty, with why.
    empty: &'static str,
    empty_reason: &'static str,
}

fn text_of(r: &Value) -> String {
    // The first paragraph of the resource's own narrative is its one-line summary.
    let div = r["text"]["div"].as_str().unwrap_or("");
    let inner = div
        .split("<p>")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or("");
    inner.to_string()
}

fn newest_first(mut v: Vec<&Value>) -> Vec<&Value> {
    v.sort_by_key(|r| std::cmp::Reverse(search_date(r)));
    v
}

/// The IPS document of a book. `resources` are every resource of the person's book (as
/// `$everything` gives them, the Patient among them, and those of the person's QĐ 831
/// record when `has_record`); `now` is the Vietnam wall clock.
pub fn summary(
    base: &str,
    resources: &[Value],
    now: NaiveDateTime,
    now_ms: i64,
    doc_id: &str,
    summary_only: bool,
    has_record: bool,
) -> Value {
    let by_key: BTreeMap<(String, String), &Value> = resources
        .iter()
        .map(|r| {
            let (t, i) = key(r);
            ((t.to_string(), i.to_string()), r)
        })
        .collect();
    let of = |ty: &str| -> Vec<&Value> {
        resources
            .iter()
            .filter(|r| r["resourceType"] == ty)
            .collect()
    };
    let since = |days: i64| date_time(now - Duration::days(days));
    let patient = of("Patient")
        .into_iter()
        .next()
        .cloned()
        .unwrap_or(Value::Null);

    // The record's problem list (its disabilities are functional status), then from the
    // dossiers: every ICD-10 code with an active occurrence, its newest occurrence.
    // Past illnesses: codes with no active occurrence, newest occurrence.
    let (record_conditions, conditions): (Vec<&Value>, Vec<&Value>) = of("Condition")
        .into_iter()
        .partition(|c| is_record_resource(c));
    let (disabilities, record_problems): (Vec<&Value>, Vec<&Value>) = record_conditions
        .into_iter()
        .partition(|c| c["id"].as_str().is_some_and(|i| i.contains("-hs-dis-")));
    let conditions = newest_first(conditions);
    let icd = |c: &Value| {
        c["code"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let active_codes: BTreeSet<String> = conditions
        .iter()
        .filter(|c| c["clinicalStatus"]["coding"][0]["code"] == "active")
        .map(|c| icd(c))
        .collect();
    // Under a summary-only share, as in the app's summary: main diagnoses of the last year.
    let main_refs: BTreeSet<String> = of("Encounter")
        .iter()
        .flat_map(|e| e["diagnosis"].as_array().into_iter().flatten())
        .filter(|d| d["rank"] == 1)
        .filter_map(|d| d["condition"]["reference"].as_str().map(str::to_string))
        .collect();
    let problem_year = since(book::summary::PROBLEM_DAYS);
    let conditions: Vec<&Value> = conditions
        .into_iter()
        .filter(|c| {
            !summary_only
                || (main_refs.contains(&format!("Condition/{}", c["id"].as_str().unwrap_or("")))
                    && search_date(c).is_some_and(|d| d >= problem_year))
        })
        .collect();
    // A code the record lists is an active problem already (from the record).
    let mut seen: BTreeSet<String> = record_problems.iter().map(|c| icd(c)).collect();
    seen.remove("");
    let mut problems = record_problems;
    let mut past = Vec::new();
    for c in &conditions {
        let code = icd(c);
        if !seen.insert(code.clone()) {
            continue;
        }
        if active_codes.contains(&code) {
            // The newest occurrence that is itself active.
            if let Some(a) = conditions
                .iter()
                .find(|x| icd(x) == code && x["clinicalStatus"]["coding"][0]["code"] == "active")
            {
                problems.push(*a);
            }
        } else {
            past.push(*c);
        }
    }
    let meds: Vec<&Value> = newest_first(of("MedicationRequest"))
        .into_iter()
        .filter(|m| {
            m["status"] == "active" || search_date(m).is_some_and(|d| d >= since(MEDICATION_DAYS))
        })
        .collect();
    // The record's observations (vital signs, social history, blood group) have their
    // own sections.
    let mut results: Vec<&Value> = of("Observation")
        .into_iter()
        .filter(|o| !is_record_resource(o))
        .collect();
    if !summary_only {
        results.extend(of("DiagnosticReport"));
    }
    // Under a summary-only share, as in the app's summary: abnormal results only.
    let abnormal = |r: &Value| {
        matches!(
            r["interpretation"][0]["coding"][0]["code"].as_str(),
            Some("H" | "L" | "A" | "POS")
        )
    };
    let results: Vec<&Value> = newest_first(results)
        .into_iter()
        .filter(|r| search_date(r).is_some_and(|d| d >= since(RESULT_DAYS)))
        .filter(|r| !summary_only || abnormal(r))
        .collect();
    let procedures = if summary_only {
        Vec::new()
    } else {
        newest_first(of("Procedure"))
    };
    let past = if summary_only { Vec::new() } else { past };
    // Sections a summary-only share does not open say so.
    let withheld = |why: &'static str, normal: &'static str| {
        if summary_only {
            (why, "withheld")
        } else {
            (normal, "unavailable")
        }
    };
    let (procedures_empty, procedures_reason) = withheld(
        "Người bệnh chỉ chia sẻ phần tóm tắt: không gồm lịch sử thủ thuật, phẫu thuật.",
        "Không có thủ thuật, phẫu thuật nào trong các hồ sơ đã gửi về sổ.",
    );
    let (past_empty, past_reason) = withheld(
        "Người bệnh chỉ chia sẻ phần tóm tắt: không gồm bệnh đã mắc.",
        "Không có bệnh đã khỏi hoặc không còn hiệu lực trong sổ.",
    );
    let today = date_time(now);
    let mut plan: Vec<&Value> = of("Appointment")
        .into_iter()
        .filter(|a| search_date(a).is_some_and(|d| d >= today))
        .collect();
    plan.extend(
        of("ServiceRequest")
            .into_iter()
            .filter(|s| s["status"] == "active"),
    );
    // What vaccination is due or overdue.
    plan.extend(of("ImmunizationRecommendation"));
    // Vaccinations, newest first: those given and those not done (with why).
    let immunizations = if summary_only {
        Vec::new()
    } else {
        newest_first(of("Immunization"))
    };
    let (immunizations_empty, immunizations_reason) = withheld(
        "Người bệnh chỉ chia sẻ phần tóm tắt: không gồm lịch sử tiêm chủng.",
        "Sổ chưa ghi mũi tiêm nào (trạm y tế, hệ thống tiêm chủng quốc gia hoặc hệ thống kết nối chưa gửi). (No vaccination recorded.)",
    );

    // Allergies come from the record only: "no known allergies" when it says so (an
    // AllergyIntolerance of its own), else the station has not asked yet, or there is
    // no record at all.
    let allergies = of("AllergyIntolerance");
    let (allergies_empty, allergies_reason) = if has_record {
        (
            "Hồ sơ sức khỏe cá nhân (QĐ 831) chưa ghi tiền sử dị ứng; hồ sơ QĐ 130/4750 không ghi dị ứng. Hãy hỏi người bệnh. (Allergies not yet recorded.)",
            "notasked",
        )
    } else {
        (
            "Người này chưa có hồ sơ sức khỏe cá nhân, và hồ sơ QĐ 130/4750 không ghi dị ứng: sổ sức khỏe không có thông tin dị ứng. Hãy hỏi người bệnh. (No allergy information.)",
            "unavailable",
        )
    };
    // Vital signs: those of the newest examination of the record.
    let vitals: Vec<&Value> = of("Observation")
        .into_iter()
        .filter(|o| is_record_resource(o) && o["category"][0]["coding"][0]["code"] == "vital-signs")
        .collect();
    let newest_exam = vitals.iter().filter_map(|o| search_date(o)).max();
    let vitals: Vec<&Value> = vitals
        .into_iter()
        .filter(|o| newest_exam.is_some() && search_date(o) == newest_exam)
        .collect();
    let social: Vec<&Value> = of("Observation")
        .into_iter()
        .filter(|o| {
            is_record_resource(o) && o["category"][0]["coding"][0]["code"] == "social-history"
        })
        .collect();
    let section = |code, display, title, items: Vec<&Value>, empty, empty_reason| Section {
        code,
        display,
        title,
        entries: items
            .iter()
            .take(SECTION_MAX)
            .map(|r| {
                let (t, i) = key(r);
                format!("{t}/{i}")
            })
            .collect(),
        lines: items.iter().take(SECTION_MAX).map(|r| text_of(r)).collect(),
        empty,
        empty_reason,
    };
    let mut sections = vec![
        section(
            "11450-4",
            "Problem list - Reported",
            "Vấn đề sức khỏe hiện tại (Active problems)",
            problems,
            "Sổ sức khỏe không có chẩn đoán nào còn hiệu lực theo quy tắc của healthbook (đợt khám đang mở, kết thúc trong 90 ngày, hoặc bệnh mạn tính trong 1 năm), và hồ sơ sức khỏe cá nhân không ghi bệnh nào.",
            "unavailable",
        ),
        section(
            "48765-2",
            "Allergies and adverse reactions Document",
            "Dị ứng (Allergies and intolerances)",
            allergies,
            allergies_empty,
            allergies_reason,
        ),
        section(
            "10160-0",
            "History of Medication use Narrative",
            "Thuốc đang và vừa sử dụng (Medication summary)",
            meds,
            "Không có thuốc nào được kê hoặc cấp trong 90 ngày qua theo các hồ sơ đã gửi về sổ.",
            "unavailable",
        ),
        section(
            "11369-6",
            "History of Immunization Narrative",
            "Tiêm chủng (Immunizations)",
            immunizations,
            immunizations_empty,
            immunizations_reason,
        ),
        section(
            "30954-2",
            "Relevant diagnostic tests/laboratory data Narrative",
            "Kết quả cận lâm sàng (Results)",
            results,
            "Không có kết quả xét nghiệm, chẩn đoán hình ảnh hay thăm dò chức năng trong 12 tháng qua.",
            "unavailable",
        ),
        section(
            "47519-4",
            "History of Procedures Document",
            "Thủ thuật, phẫu thuật (History of procedures)",
            procedures,
            procedures_empty,
            procedures_reason,
        ),
        section(
            "11348-0",
            "History of Past illness Narrative",
            "Bệnh đã mắc (History of past illness)",
            past,
            past_empty,
            past_reason,
        ),
        section(
            "18776-5",
            "Plan of care note",
            "Kế hoạch chăm sóc: hẹn khám lại, chuyển tuyến, mũi tiêm đến hạn (Plan of care)",
            plan,
            "Không có lịch hẹn khám lại sắp tới, giấy chuyển tuyến còn hiệu lực hay mũi tiêm đến hạn.",
            "unavailable",
        ),
    ];
    // Optional sections, from the record, when it has something to say (not under a
    // summary-only share).
    if !summary_only {
        for (code, display, title, items) in [
            (
                "8716-3",
                "Vital signs",
                "Dấu hiệu sinh tồn, lần khám gần nhất (Vital signs)",
                vitals,
            ),
            (
                "29762-2",
                "Social history Narrative",
                "Yếu tố nguy cơ, lối sống (Social history)",
                social,
            ),
            (
                "47420-5",
                "Functional status assessment note",
                "Khuyết tật (Functional status)",
                disabilities,
            ),
        ] {
            if !items.is_empty() {
                sections.push(section(code, display, title, items, "", "unavailable"));
            }
        }
    }

    let resource_url = |r: &str| format!("{base}/{r}");
    let patient_ref = format!("Patient/{}", patient["id"].as_str().unwrap_or(""));
    let composition_sections: Vec<Value> = sections
        .iter()
        .map(|s| {
            // The lines are the entries' own narrative paragraphs (escaped already).
            let empty = [s.empty.to_string()];
            let div = if s.entries.is_empty() {
                Div {
                    paragraphs: &empty,
                    items: &[],
                }
            } else {
                Div {
                    paragraphs: &[],
                    items: &s.lines,
                }
            }
            .xhtml();
            let mut v = json!({
                "title": s.title,
                "code": { "coding": [{ "system": LOINC, "code": s.code, "display": s.display }] },
                "text": { "status": "generated", "div": div },
            });
            if s.entries.is_empty() {
                v["emptyReason"] = json!({
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                        "code": s.empty_reason,
                    }],
                });
            } else {
                v["entry"] = s
                    .entries
                    .iter()
                    .map(|e| json!({ "reference": e }))
                    .collect();
            }
            v
        })
        .collect();

    let author = author();
    let composition = json!({
        "resourceType": "Composition",
        "id": doc_id,
        "text": crate::map::narrative(&[format!(
            "Tóm tắt sức khỏe của {} lập lúc {}",
            patient["name"][0]["text"].as_str().unwrap_or("người bệnh"),
            date_time(now),
        )]),
        "status": "final",
        "type": { "coding": [{ "system": LOINC, "code": "60591-5", "display": "Patient summary Document" }] },
        "subject": { "reference": patient_ref },
        "date": date_time(now),
        "author": [{ "reference": "Organization/healthbook" }],
        "title": "Tóm tắt sức khỏe — International Patient Summary",
        "confidentiality": "N",
        "event": [{
            "code": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActClass", "code": "PCPR" }] }],
            "period": { "end": date_time(now) },
        }],
        "section": composition_sections,
    });

    // The document holds what its sections name, and what those refer to in turn.
    let mut wanted: Vec<String> = vec![patient_ref.clone()];
    for s in &sections {
        wanted.extend(s.entries.iter().cloned());
    }
    let mut included: Vec<String> = Vec::new();
    let mut set = BTreeSet::new();
    while let Some(r) = wanted.pop() {
        if !set.insert(r.clone()) {
            continue;
        }
        let Some((t, i)) = r.split_once('/') else {
            continue;
        };
        let Some(res) = by_key.get(&(t.to_string(), i.to_string())) else {
            continue;
        };
        included.push(r.clone());
        let mut refs = Vec::new();
        // An Encounter points at every diagnosis of the visit: those are not followed
        // (the document holds what its sections chose), and are pruned below.
        let mut followed = (*res).clone();
        if t == "Encounter"
            && let Some(o) = followed.as_object_mut()
        {
            o.remove("diagnosis");
        }
        collect_refs(&followed, &mut refs);
        wanted.extend(refs);
    }
    let mut entries = vec![json!({
        // A RESTful fullUrl, so that the Composition's relative references resolve
        // against the same base as every other entry's.
        "fullUrl": resource_url(&format!("Composition/{doc_id}")),
        "resource": composition,
    })];
    let mut order: Vec<&String> = included.iter().collect();
    // Patient first, then by type and id, for a stable document.
    order.sort_by_key(|r| (!r.starts_with("Patient/"), (*r).clone()));
    for r in order {
        let (t, i) = r.split_once('/').unwrap_or_default();
        if let Some(res) = by_key.get(&(t.to_string(), i.to_string())) {
            let mut res = (*res).clone();
            // Under a summary-only share a visit is its place and time, no more.
            if summary_only
                && t == "Encounter"
                && let Some(o) = res.as_object_mut()
            {
                for k in ["reasonCode", "hospitalization", "extension", "text"] {
                    o.remove(k);
                }
                o.insert(
                    "text".into(),
                    crate::map::narrative(&["Lượt khám (chỉ chia sẻ phần tóm tắt)".to_string()]),
                );
            }
            if t == "Encounter"
                && let Some(d) = res.get_mut("diagnosis").and_then(Value::as_array_mut)
            {
                d.retain(|x| {
                    x["condition"]["reference"]
                        .as_str()
                        .is_some_and(|c| included.iter().any(|x| x == c))
                });
                if d.is_empty() {
                    res.as_object_mut().map(|o| o.remove("diagnosis"));
                }
            }
            entries.push(json!({ "fullUrl": resource_url(r), "resource": res }));
        }
    }
    entries.push(json!({ "fullUrl": resource_url("Organization/healthbook"), "resource": author }));
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": doc_id,
        "meta": { "lastUpdated": instant(now_ms) },
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{doc_id}") },
        "type": "document",
        "timestamp": instant(now_ms),
    });
    bundle["entry"] = Value::Array(entries);
    bundle
}

/// The Organization that authors every summary: this service.
pub fn author() -> Value {
    json!({
        "resourceType": "Organization",
        "id": "healthbook",
        "text": crate::map::narrative(&["healthbook — Sổ sức khỏe điện tử".to_string()]),
        "active": true,
        "name": "healthbook — Sổ sức khỏe điện tử",
    })
}

/// Every relative reference (`Type/id`) inside a resource.
pub fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "reference"
                    && let Some(s) = x.as_str()
                    && !s.contains(':')
                {
                    out.push(s.to_string());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}
