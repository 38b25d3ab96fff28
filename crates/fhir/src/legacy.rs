//! The episode resources as `serde_json::Value` trees, as they were made before the
//! typed resources of [`crate::typed`]: kept for the tests only, which check that both
//! give the same JSON for generated books. It is the refactor's proof, not a second
//! mapping to maintain: when the mapping changes on purpose, delete this module and its
//! test rather than editing both.
#![allow(dead_code)]

use book::episode::{Diagnosis, Medicine, ResultKind, Service, TestResult};
use serde_json::{Value, json};
use store::EpisodeRecord;

use crate::map::{
    Context, clinical_status, date, date_time, encounter_id, instant, interpretation, narrative,
    org_id, parse_number, practitioner_id, prune, ucum,
};
use crate::terminology::*;

fn reference(ty: &str, id: &str) -> Value {
    json!({ "reference": format!("{ty}/{id}") })
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({ "system": system, "code": code });
    if let Some(d) = display.filter(|d| !d.trim().is_empty()) {
        c["display"] = json!(d);
    }
    c
}

fn finish(mut v: Value) -> Value {
    prune(&mut v);
    v
}

fn encounter_class(care_type: Option<&str>) -> (&'static str, &'static str) {
    match care_type {
        Some("03" | "04" | "09") => ("IMP", "inpatient encounter"),
        Some("06") => ("OBSENC", "observation encounter"),
        Some("11") => ("FLD", "field"),
        Some("12") => ("HH", "home health"),
        Some("14") => ("VR", "virtual"),
        _ => ("AMB", "ambulatory"),
    }
}

pub fn episode_resources(person: i64, e: &EpisodeRecord, ctx: &Context) -> Vec<Value> {
    let v = &e.view;
    let enc = encounter_id(person, e.id);
    let subject = reference("Patient", &person.to_string());
    let encounter_ref = reference("Encounter", &enc);
    let org = org_id(&e.facility);
    let mut out = Vec::new();

    // Diagnoses: main first.
    let status = clinical_status(v, ctx.now);
    let diagnoses: Vec<(&Diagnosis, bool)> = v
        .main_diagnosis
        .iter()
        .map(|d| (d, true))
        .chain(v.secondary_diagnoses.iter().map(|d| (d, false)))
        .collect();
    let mut enc_diagnoses = Vec::new();
    let mut conditions = Vec::new();
    for (i, (d, main)) in diagnoses.iter().enumerate() {
        let id = format!("{enc}-d{i}");
        enc_diagnoses.push(json!({
            "condition": reference("Condition", &id),
            "use": { "coding": [coding("http://terminology.hl7.org/CodeSystem/diagnosis-role", "DD", Some("Discharge diagnosis"))] },
            // Rank 1 is the main diagnosis (MA_BENH_CHINH), and only it.
            "rank": if *main { 1 } else { i + 1 + usize::from(v.main_diagnosis.is_none()) },
        }));
        let text = d
            .name
            .clone()
            .filter(|_| *main)
            .unwrap_or_else(|| d.icd10.clone());
        conditions.push(finish(json!({
            "resourceType": "Condition",
            "id": id,
            "text": narrative(&[format!("{} — {}{}", d.icd10, text, if *main { " (bệnh chính)" } else { " (bệnh kèm theo)" })]),
            "clinicalStatus": { "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", status, None)] },
            "verificationStatus": { "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", None)] },
            "category": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", Some("Encounter Diagnosis"))] }],
            "code": {
                "coding": [coding(ICD10, &d.icd10, d.name.as_deref().filter(|_| *main))],
                "text": text,
            },
            "subject": subject,
            "encounter": encounter_ref,
            "onsetDateTime": v.admitted.map(date_time),
            "abatementDateTime": (status == "resolved").then(|| v.discharged.map(date_time)).flatten(),
            "recordedDate": v.discharged.or(v.admitted).map(date_time),
        })));
    }

    let (class, class_display) = encounter_class(v.care_type.as_deref());
    let care = v.care_type.as_deref();
    let mut encounter = json!({
        "resourceType": "Encounter",
        "id": enc,
        "meta": { "lastUpdated": instant(e.visible_at.max(e.linked_at)) },
        "text": narrative(&[format!(
            "{} — {}{}{}",
            v.care_type_label.as_deref().unwrap_or("Lượt khám"),
            ctx.facility_names.get(&e.facility).map(String::as_str).unwrap_or(&e.facility),
            v.admitted.map(|t| format!(", từ {}", t.format("%d/%m/%Y %H:%M"))).unwrap_or_default(),
            v.discharged.map(|t| format!(" đến {}", t.format("%d/%m/%Y %H:%M"))).unwrap_or_default(),
        )]),
        "identifier": [{ "use": "official", "system": SID_MA_LK, "value": format!("{}/{}", e.facility, e.ma_lk) }],
        "status": if v.discharged.is_some() { "finished" } else { "in-progress" },
        "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", class, Some(class_display)),
        "type": care.map(|c| vec![json!({
            "coding": [coding(CS_LOAI_KCB, c, display(&CARE_TYPES, c))],
            "text": display(&CARE_TYPES, c),
        })]),
        "priority": (v.patient_category.as_deref() == Some("2")).then(|| json!({
            "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM", Some("emergency"))],
        })),
        "subject": subject,
        "period": { "start": v.admitted.map(date_time), "end": v.discharged.map(date_time) },
        "reasonCode": v.reason.as_ref().map(|r| vec![json!({ "text": r })]),
        "diagnosis": enc_diagnoses,
        "serviceProvider": reference("Organization", &org),
    });
    if let Some(cat) = v.patient_category.as_deref() {
        // The patient category has no Encounter element of its own: it is a type.
        encounter["type"]
            .as_array_mut()
            .map(|a| {
                a.push(json!({
                    "coding": [coding(CS_DOI_TUONG, cat, display(&PATIENT_CATEGORIES, cat))],
                }))
            })
            .unwrap_or_else(|| {
                encounter["type"] = json!([{ "coding": [coding(CS_DOI_TUONG, cat, display(&PATIENT_CATEGORIES, cat))] }]);
            });
    }
    if v.outcome.is_some() || v.discharge_type.is_some() || v.inpatient_from.is_some() {
        let rv = v.discharge_type.as_ref();
        encounter["hospitalization"] = json!({
            "dischargeDisposition": rv.map(|d| json!({
                "coding": [coding(CS_LOAI_RV, &d.code, display(&DISCHARGE_TYPES, &d.code))],
                "text": d.label,
            })),
        });
        if let Some(o) = &v.outcome {
            encounter["extension"] = json!([{
                "url": format!("{NS}/StructureDefinition/ket-qua-dtri"),
                "valueCodeableConcept": {
                    "coding": [coding(CS_KET_QUA, &o.code, display(&OUTCOMES, &o.code))],
                    "text": o.label,
                },
            }]);
        }
    }
    out.push(finish(encounter));
    out.extend(conditions);

    for (i, m) in v.medicines.iter().enumerate() {
        out.push(medication_request(
            &format!("{enc}-m{i}"),
            m,
            &subject,
            &encounter_ref,
            v.discharged.is_some(),
        ));
    }
    for (i, r) in v.results.iter().enumerate() {
        out.push(result_resource(
            &format!("{enc}-r{i}"),
            r,
            &subject,
            &encounter_ref,
        ));
    }
    let s = &v.services;
    let procs = s
        .procedures
        .iter()
        .map(|x| (x, false))
        .chain(s.surgery.iter().map(|x| (x, true)));
    let mut n = 0;
    for (p, surgery) in procs {
        out.push(procedure(
            &format!("{enc}-p{n}"),
            p,
            surgery,
            &subject,
            &encounter_ref,
        ));
        n += 1;
    }
    if n == 0 {
        // The episode names its procedures (ICD-9 CM) without the service lines.
        for code in &v.procedure_codes {
            out.push(finish(json!({
                "resourceType": "Procedure",
                "id": format!("{enc}-p{n}"),
                "text": narrative(&[format!("Thủ thuật, phẫu thuật ICD-9 CM {code}")]),
                "status": "completed",
                "code": { "coding": [coding(ICD9CM, code, None)], "text": format!("ICD-9 CM {code}") },
                "subject": subject,
                "encounter": encounter_ref,
                "performedDateTime": v.discharged.or(v.admitted).map(date_time),
            })));
            n += 1;
        }
    }
    if let Some(r) = &v.referral {
        let open = book::summary::referral_open(v, ctx.now);
        let from = r
            .from_facility
            .clone()
            .unwrap_or_else(|| e.facility.clone());
        let notes: Vec<Value> = [
            ("Dấu hiệu lâm sàng", &r.clinical_signs),
            ("Quá trình bệnh lý và diễn biến", &r.course),
            ("Tóm tắt kết quả", &r.key_results),
            ("Tình trạng người bệnh lúc chuyển", &r.condition),
            ("Hướng điều trị", &r.recommendation),
            ("Phương tiện vận chuyển", &r.transport),
        ]
        .iter()
        .filter_map(|(label, x)| {
            x.as_ref()
                .map(|x| json!({ "text": format!("{label}: {x}") }))
        })
        .collect();
        out.push(finish(json!({
            "resourceType": "ServiceRequest",
            "id": format!("{enc}-ref"),
            "text": narrative(&[format!(
                "Giấy chuyển tuyến {} từ {} đến {}: {}",
                r.number.as_deref().unwrap_or(""),
                from,
                r.to_facility.as_deref().unwrap_or("?"),
                r.diagnosis.as_deref().unwrap_or(""),
            )]),
            "identifier": r.number.as_ref().map(|n| vec![json!({ "use": "official", "system": SID_CHUYEN_TUYEN, "value": n })]),
            "status": if open { "active" } else { "completed" },
            "intent": "order",
            "category": [{ "coding": [coding(SNOMED, "3457005", Some("Patient referral"))] }],
            "code": { "text": "Chuyển tuyến khám bệnh, chữa bệnh" },
            "subject": subject,
            "encounter": encounter_ref,
            "authoredOn": v.discharged.or(v.admitted).map(date_time),
            "requester": reference("Organization", &org_id(&from)),
            "performer": r.to_facility.as_ref().map(|t| vec![reference("Organization", &org_id(t))]),
            "reasonCode": [{
                "coding": r.main_icd10.as_ref().map(|c| vec![coding(ICD10, c, None)]),
                "text": r.diagnosis,
            }],
            "patientInstruction": r.reason.as_ref().map(|x| format!("Lý do chuyển tuyến: {}", x.label)),
            "note": notes,
        })));
    }
    if let Some(a) = &v.appointment {
        let place = a.facility.clone().unwrap_or_else(|| e.facility.clone());
        out.push(finish(json!({
            "resourceType": "Appointment",
            "id": format!("{enc}-apt"),
            "text": narrative(&[format!(
                "Hẹn khám lại{} tại {}{}",
                a.at.map(|t| format!(" ngày {}", t.format("%d/%m/%Y"))).unwrap_or_default(),
                ctx.facility_names.get(&place).cloned().unwrap_or_else(|| place.clone()),
                a.diagnosis.as_deref().map(|d| format!(" — {d}")).unwrap_or_default(),
            )]),
            "identifier": a.number.as_ref().map(|n| vec![json!({ "use": "official", "system": SID_GIAY_HEN, "value": n })]),
            // A re-exam letter asks the patient to come back on a day: no slot is booked.
            "status": "proposed",
            "serviceCategory": [{ "text": "Tái khám" }],
            "reasonCode": [{
                "coding": a.main_icd10.as_ref().map(|c| vec![coding(ICD10, c, None)]),
                "text": a.diagnosis,
            }],
            "description": format!("Hẹn khám lại{}", a.diagnosis.as_deref().map(|d| format!(": {d}")).unwrap_or_default()),
            "supportingInformation": [reference("Organization", &org_id(&place)), encounter_ref],
            "created": a.issued.map(date).or(v.discharged.map(date_time)),
            "requestedPeriod": a.at.map(|t| vec![json!({ "start": date_time(t) })]),
            "participant": [{ "actor": subject, "required": "required", "status": "needs-action" }],
        })));
    }
    out
}

fn medication_request(
    id: &str,
    m: &Medicine,
    subject: &Value,
    encounter: &Value,
    ended: bool,
) -> Value {
    let mut text = m.name.clone().unwrap_or_default();
    if let Some(s) = &m.strength {
        text = format!("{text} {s}");
    }
    let text = text.trim().to_string();
    let text = if text.is_empty() {
        m.code.clone().unwrap_or_else(|| "Thuốc".into())
    } else {
        text
    };
    let dose: Vec<&str> = [m.dose.as_deref(), m.directions.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    finish(json!({
        "resourceType": "MedicationRequest",
        "id": id,
        "text": narrative(&[format!("{text}{}", if dose.is_empty() { String::new() } else { format!(" — {}", dose.join("; ")) })]),
        "status": if ended { "completed" } else { "active" },
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": m.code.as_ref().map(|c| vec![coding(CS_THUOC, c, m.name.as_deref())]),
            "text": text,
        },
        "subject": subject,
        "encounter": encounter,
        "authoredOn": m.ordered.map(date_time),
        "requester": m.ordered_by.first().map(|c| reference("Practitioner", &practitioner_id(c))),
        "dosageInstruction": [{
            "text": (!dose.is_empty()).then(|| dose.join("; ")),
            "route": m.route.as_ref().map(|r| json!({ "text": r })),
        }],
        "dispenseRequest": m.quantity.map(|q| json!({
            "quantity": quantity(&q.normalize().to_string(), m.unit.as_deref()),
        })),
    }))
}

/// A Quantity: with a UCUM code when the unit is one we know.
fn quantity(value: &str, unit: Option<&str>) -> Value {
    let number: Value = value
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| json!(f))
        .unwrap_or(Value::Null);
    let mut q = json!({ "value": number });
    if let Some(u) = unit.map(str::trim).filter(|u| !u.is_empty()) {
        q["unit"] = json!(u);
        if let Some(code) = ucum(u) {
            q["system"] = json!(UCUM);
            q["code"] = json!(code);
        }
    }
    q
}

fn result_resource(id: &str, r: &TestResult, subject: &Value, encounter: &Value) -> Value {
    let service_coding = r
        .service_code
        .as_ref()
        .map(|c| coding(CS_DICH_VU, c, r.service_name.as_deref()));
    match r.kind {
        ResultKind::Imaging | ResultKind::Functional => {
            let name = r
                .service_name
                .clone()
                .or_else(|| r.indicator.clone())
                .unwrap_or_else(|| "Chẩn đoán hình ảnh, thăm dò chức năng".into());
            let (cat, cat_display) = if r.kind == ResultKind::Imaging {
                ("RAD", "Radiology")
            } else {
                ("OTH", "Other")
            };
            let conclusion = r.conclusion.clone().or_else(|| r.description.clone());
            let form = r
                .description
                .as_ref()
                .filter(|_| r.conclusion.is_some())
                .map(|d| {
                    use base64::Engine;
                    vec![json!({
                        "contentType": "text/plain; charset=utf-8",
                        "language": "vi",
                        "data": base64::engine::general_purpose::STANDARD.encode(d.as_bytes()),
                        "title": "Mô tả",
                    })]
                });
            finish(json!({
                "resourceType": "DiagnosticReport",
                "id": id,
                "text": narrative(&[format!("{name}: {}", conclusion.as_deref().unwrap_or("(chưa có kết luận)"))]),
                "status": "final",
                "category": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0074", cat, Some(cat_display))] }],
                "code": { "coding": service_coding.map(|c| vec![c]), "text": name },
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": r.at.map(date_time),
                "issued": r.at.map(date_time),
                "conclusion": conclusion,
                "presentedForm": form,
            }))
        }
        ResultKind::Lab | ResultKind::Other => {
            let name = r
                .indicator
                .clone()
                .or_else(|| r.service_name.clone())
                .unwrap_or_else(|| "Kết quả xét nghiệm".into());
            let mut codings = Vec::new();
            if let Some(c) = &r.indicator_code {
                codings.push(coding(CS_CHI_SO, c, r.indicator.as_deref()));
            }
            if r.indicator_code.is_none()
                && let Some(c) = service_coding
            {
                codings.push(c);
            }
            let value = r.value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            let (vq, vs) = match value.and_then(parse_number) {
                Some(n) => (Some(quantity(&n, r.unit.as_deref())), None),
                None => (
                    None,
                    value.map(|v| match r.unit.as_deref() {
                        Some(u) if !u.trim().is_empty() => format!("{v} {u}"),
                        _ => v.to_string(),
                    }),
                ),
            };
            let interp = interpretation(r.conclusion.as_deref());
            let mut notes = Vec::new();
            if let Some(d) = &r.description {
                notes.push(json!({ "text": d }));
            }
            if interp.is_none()
                && let Some(c) = &r.conclusion
            {
                notes.push(json!({ "text": format!("Kết luận: {c}") }));
            }
            let absent = vq.is_none() && vs.is_none();
            finish(json!({
                "resourceType": "Observation",
                "id": id,
                "text": narrative(&[format!(
                    "{name}: {}{}",
                    value.unwrap_or("(không có giá trị)"),
                    r.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default(),
                )]),
                "status": "final",
                "category": (r.kind == ResultKind::Lab).then(|| vec![json!({
                    "coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", Some("Laboratory"))],
                })]),
                "code": { "coding": codings, "text": name },
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": r.at.map(date_time),
                "valueQuantity": vq,
                "valueString": vs,
                "dataAbsentReason": absent.then(|| json!({
                    "coding": [coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown", Some("Unknown"))],
                })),
                "interpretation": interp.map(|(c, d)| vec![json!({
                    "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", c, Some(d))],
                    "text": r.conclusion,
                })]),
                "note": notes,
            }))
        }
    }
}

fn procedure(id: &str, p: &Service, surgery: bool, subject: &Value, encounter: &Value) -> Value {
    let name = p.name.clone().unwrap_or_else(|| {
        if surgery {
            "Phẫu thuật".into()
        } else {
            "Thủ thuật".into()
        }
    });
    let mut codings: Vec<Value> = p
        .code
        .iter()
        .map(|c| coding(CS_DICH_VU, c, p.name.as_deref()))
        .collect();
    codings.extend(p.procedure_codes.iter().map(|c| coding(ICD9CM, c, None)));
    let (cat, cat_display) = if surgery {
        ("387713003", "Surgical procedure")
    } else {
        ("71388002", "Procedure")
    };
    let performers: Vec<Value> = p
        .performed_by
        .iter()
        .chain(
            p.ordered_by
                .iter()
                .take(1)
                .filter(|_| p.performed_by.is_empty()),
        )
        .map(|c| json!({ "actor": reference("Practitioner", &practitioner_id(c)) }))
        .collect();
    finish(json!({
        "resourceType": "Procedure",
        "id": id,
        "text": narrative(std::slice::from_ref(&name)),
        "status": "completed",
        "category": { "coding": [coding(SNOMED, cat, Some(cat_display))] },
        "code": { "coding": codings, "text": name },
        "subject": subject,
        "encounter": encounter,
        "performedDateTime": p.result_at.or(p.ordered).map(date_time),
        "performer": performers,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use book::EpisodeView;
    use book::episode::{Coded, project};
    use synth::{Config, Generator};

    use super::*;
    use crate::map;

    fn record(id: i64, view: EpisodeView) -> EpisodeRecord {
        EpisodeRecord {
            id,
            person_id: 7,
            facility: view.facility.clone(),
            ma_lk: view.ma_lk.clone(),
            version: 1,
            is_current: true,
            submission_id: id,
            confidence: "exact".into(),
            received_at: 1_700_000_000_000 + id,
            validated_at: 1_700_000_000_000 + id,
            linked_at: 1_700_000_000_100 + id,
            visible_at: 1_700_000_000_050 + id * 3,
            view,
        }
    }

    /// Blank (empty or spaces) some of a view's texts, as a dossier may leave them.
    fn blanked(mut v: EpisodeView, k: usize) -> EpisodeView {
        let b = |n: usize| {
            if n.is_multiple_of(2) {
                String::new()
            } else {
                "  ".into()
            }
        };
        v.care_type_label = Some(b(k));
        v.reason = Some(b(k + 1));
        if k.is_multiple_of(3) {
            v.care_type = None;
            v.patient_category = Some("2".into());
            v.outcome = Some(Coded {
                code: "1".into(),
                label: b(k),
            });
            v.discharge_type = Some(Coded {
                code: " ".into(),
                label: String::new(),
            });
        }
        for d in v
            .secondary_diagnoses
            .iter_mut()
            .chain(&mut v.main_diagnosis)
        {
            d.name = Some(b(k));
        }
        for m in &mut v.medicines {
            m.name = Some(b(k));
            m.strength = Some(b(k + 1));
            m.dose = None;
            m.directions = None;
            m.unit = Some(" ".into());
            m.route = Some(b(k));
        }
        for r in &mut v.results {
            r.unit = Some(b(k));
            r.value = Some(b(k + 1));
            r.indicator = None;
            r.service_name = None;
            r.conclusion = Some(if k.is_multiple_of(2) {
                "cao".into()
            } else {
                b(k)
            });
        }
        for p in v
            .services
            .procedures
            .iter_mut()
            .chain(&mut v.services.surgery)
        {
            p.name = None;
            p.performed_by.clear();
            p.code = Some(b(k));
        }
        if let Some(r) = &mut v.referral {
            r.number = Some(b(k));
            r.to_facility = None;
            r.diagnosis = Some(b(k));
            r.main_icd10 = Some(b(k + 1));
            r.reason = Some(Coded::default());
            r.course = Some(b(k));
        }
        if let Some(a) = &mut v.appointment {
            a.number = Some(b(k));
            a.diagnosis = Some(b(k));
            a.issued = None;
            a.facility = Some("UNKNOWN".into());
        }
        v
    }

    /// The typed resources of generated episodes (and of the same with blank texts) are
    /// the JSON the `Value` trees were: as `Value`s, and as the text written straight
    /// from the typed structs, parsed back.
    #[test]
    fn typed_resources_are_the_json_the_value_trees_were() {
        let g = Generator::new(Config {
            persons: 200,
            episodes: 1_500,
            seed: 11,
            ..Config::default()
        });
        let mut ctx = Context {
            now: chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            ..Context::default()
        };
        let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
        for (i, e) in g.episodes().enumerate() {
            let view = project(&e.dossier, e.facility.code);
            if i % 4 == 0 {
                ctx.facility_names
                    .insert(view.facility.clone(), format!("Cơ sở <{i}> & \"tên\""));
            }
            let views = [view.clone(), blanked(view, i)];
            for (j, v) in views.into_iter().enumerate() {
                let rec = record(2 * i as i64 + j as i64, v);
                let old = episode_resources(7, &rec, &ctx);
                let new = map::episode_resources(7, &rec, &ctx);
                assert_eq!(new, old, "episode {i} ({j})");
                let mut written = Vec::new();
                map::each_episode_resource(7, &rec, &ctx, &mut |r| {
                    *seen.entry(r.resource_type()).or_default() += 1;
                    written.push(
                        serde_json::from_slice::<Value>(&serde_json::to_vec(&r).unwrap()).unwrap(),
                    );
                });
                assert_eq!(written, old, "episode {i} ({j}), as text");
            }
        }
        // Every kind of episode resource was compared.
        for t in [
            "Encounter",
            "Condition",
            "MedicationRequest",
            "Observation",
            "DiagnosticReport",
            "Procedure",
            "ServiceRequest",
            "Appointment",
        ] {
            assert!(seen.get(t).copied().unwrap_or(0) > 10, "{t}: {seen:?}");
        }
    }
}
