//! The QĐ 831 personal health record (`book::ehr::HealthRecord`) as FHIR R4 resources:
//! allergies ([`AllergyIntolerance`]), the problem list and disabilities (`Condition`),
//! family history (`FamilyMemberHistory`), blood group, risk factors and the vital signs
//! of each examination (`Observation`), surgery history (`Procedure`), and the mother,
//! father and main caregiver (`RelatedPerson`).
//!
//! Ids are `<person>-hs-<item>` (`12-hs-al-drug`, `12-hs-cd-diabetes`,
//! `12-hs-fh-heart-mth`, `12-hs-ex3-bp`, `12-hs-rp-mother`): stable for as long as the
//! item says the same, whichever version of the record they are read from.
//!
//! [`AllergyIntolerance`]: https://hl7.org/fhir/R4/allergyintolerance.html

use book::ehr::{ALLERGIES, DISEASES, Examination, HealthRecord, ITEMS};
use serde_json::{Value, json};
use store::StoredRecord;

use crate::map::{instant, narrative, prune};
use crate::terminology::*;

/// The middle part of every record resource's id.
const TAG: &str = "hs";

/// The person of a record resource's id (`12-hs-…`), if it is one.
pub fn person_of(id: &str) -> Option<i64> {
    let (p, rest) = id.split_once('-')?;
    let rest = rest.strip_prefix(TAG)?.strip_prefix('-')?;
    if rest.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

/// Whether a resource was made from the record (not from a hospital dossier).
pub fn is_record_resource(r: &Value) -> bool {
    r["id"].as_str().and_then(person_of).is_some()
}

/// An id part from an item key's tail: `allergy.drug` → `allergy-drug`,
/// `congenital_heart` → `congenital-heart`.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// An ICD-10 code as an id part (`E78.5`: letters, digits and the dot are FHIR id
/// characters).
fn code_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({ "system": system, "code": code });
    if let Some(d) = display.filter(|d| !d.is_empty()) {
        c["display"] = json!(d);
    }
    c
}

fn finish(mut v: Value) -> Value {
    prune(&mut v);
    v
}

/// A number as the record stores it, as a JSON number (its decimals kept).
fn number(s: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(s.trim()).ok()?;
    v.is_number().then_some(v)
}

fn label(key: &str) -> &'static str {
    book::ehr::item(key).map_or("", |i| i.label)
}

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const DATA_ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
/// The IPS code system for absent and unknown data (IPS 1.1).
pub const IPS_ABSENT_UNKNOWN: &str = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips";

/// Every resource of a person's record, in the form's order: blood group, relatives,
/// allergies, conditions, disabilities, surgery, family history, risk factors, then the
/// vital signs of each examination, oldest first.
pub fn record_resources(person: i64, stored: &StoredRecord) -> Vec<Value> {
    let r = &stored.record;
    let ctx = Ctx {
        person,
        subject: json!({ "reference": format!("Patient/{person}") }),
        updated: instant(stored.updated_at),
    };
    let mut out = Vec::new();
    out.extend(blood_group(&ctx, r));
    out.extend(related_persons(&ctx, r));
    out.extend(allergies(&ctx, r));
    out.extend(conditions(&ctx, r));
    out.extend(surgery(&ctx, r));
    out.extend(family_history(&ctx, r));
    out.extend(risk_factors(&ctx, r));
    for e in &r.exams {
        out.extend(vital_signs(&ctx, e));
    }
    out
}

struct Ctx {
    person: i64,
    subject: Value,
    /// When the record last changed (an instant).
    updated: String,
}

impl Ctx {
    fn id(&self, part: &str) -> String {
        format!("{}-{TAG}-{part}", self.person)
    }
}

// ---------------------------------------------------------------------------
// Allergies (B3)
// ---------------------------------------------------------------------------

fn allergies(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let clinical = json!({ "coding": [coding(
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", Some("Active"))] });
    let mut out = Vec::new();
    for (key, kind, category) in ALLERGIES {
        let Some(text) = r.get(key) else { continue };
        let tail = key.trim_start_matches("b.allergy.");
        let what = format!("Dị ứng {}: {text}", kind.to_lowercase());
        out.push(finish(json!({
            "resourceType": "AllergyIntolerance",
            "id": ctx.id(&format!("al-{}", slug(tail))),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(std::slice::from_ref(&what)),
            "clinicalStatus": clinical,
            "category": [category],
            "code": { "text": text },
            "patient": ctx.subject,
            "note": [{ "text": what }],
        })));
    }
    // "No known allergies" only when the record says so (and lists none: the form's
    // checks refuse both at once).
    if out.is_empty() && r.get("b.allergy.none").is_some() {
        let what = "Không có tiền sử dị ứng đã biết (No known allergies)".to_string();
        out.push(finish(json!({
            "resourceType": "AllergyIntolerance",
            "id": ctx.id("al-none"),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(std::slice::from_ref(&what)),
            "clinicalStatus": clinical,
            "verificationStatus": { "coding": [coding(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", Some("Confirmed"))] },
            "code": {
                "coding": [
                    coding(IPS_ABSENT_UNKNOWN, "no-known-allergies", Some("No known allergies")),
                    coding(SNOMED, "716186003", Some("No known allergy (situation)")),
                ],
                "text": "Không có tiền sử dị ứng đã biết",
            },
            "patient": ctx.subject,
        })));
    }
    out
}

// ---------------------------------------------------------------------------
// Conditions (B3 diseases, B4 disabilities) and surgery (B5)
// ---------------------------------------------------------------------------

fn problem(ctx: &Ctx, id: String, text: &str, code: Value, narrative_line: String) -> Value {
    finish(json!({
        "resourceType": "Condition",
        "id": id,
        "meta": { "lastUpdated": ctx.updated },
        "text": narrative(&[narrative_line]),
        "clinicalStatus": { "coding": [coding(CLINICAL, "active", Some("Active"))] },
        "verificationStatus": { "coding": [coding(VERIFICATION, "confirmed", Some("Confirmed"))] },
        "category": [{ "coding": [coding(CONDITION_CATEGORY, "problem-list-item", Some("Problem List Item"))] }],
        "code": { "coding": code, "text": text },
        "subject": ctx.subject,
        "note": [{ "text": "Tiền sử bệnh tật theo hồ sơ sức khỏe cá nhân (QĐ 831/QĐ-BYT)" }],
    }))
}

fn conditions(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let mut out = Vec::new();
    for c in r.profile().conditions {
        let part = match c.key {
            "b.icd" => format!("cd-icd-{}", code_part(c.icd10.as_deref().unwrap_or(""))),
            k => format!("cd-{}", slug(k.trim_start_matches("b.disease."))),
        };
        let codes: Vec<Value> = c
            .icd10
            .iter()
            .map(|code| coding(ICD10, code, book::terms::icd10_name(code)))
            .collect();
        let line = match &c.icd10 {
            Some(code) => format!("{code} — {} (tiền sử bệnh)", c.text),
            None => format!("{} (tiền sử bệnh)", c.text),
        };
        out.push(problem(ctx, ctx.id(&part), &c.text, json!(codes), line));
    }
    for i in ITEMS.iter().filter(|i| i.key.starts_with("b.disability.")) {
        let Some(v) = r.get(i.key) else { continue };
        let tail = i.key.trim_start_matches("b.disability.");
        let kind = i.label.trim_start_matches("Khuyết tật ");
        let text = format!("Khuyết tật {}: {v}", kind.to_lowercase());
        out.push(problem(
            ctx,
            ctx.id(&format!("dis-{}", slug(tail))),
            &text,
            json!([coding(CS_KHUYET_TAT, tail, Some(i.label))]),
            text.clone(),
        ));
    }
    out
}

fn surgery(ctx: &Ctx, r: &HealthRecord) -> Option<Value> {
    let text = r.get("b.surgery")?;
    Some(finish(json!({
        "resourceType": "Procedure",
        "id": ctx.id("surgery"),
        "meta": { "lastUpdated": ctx.updated },
        "text": narrative(&[format!("Tiền sử phẫu thuật: {text}")]),
        "status": "completed",
        "category": { "coding": [coding(SNOMED, "387713003", Some("Surgical procedure"))] },
        "code": { "text": text },
        "subject": ctx.subject,
    })))
}

// ---------------------------------------------------------------------------
// Family history (B6)
// ---------------------------------------------------------------------------

/// A relative named in Vietnamese, as a v3 RoleCode (relative to the person). Read
/// without accents, so that text typed without them, or in decomposed form, is read the
/// same; "ba" alone is the father as written without accents, else "bà" (grandmother).
pub fn relation(text: &str) -> Option<(&'static str, &'static str)> {
    let folded = book::text::fold(text);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let first = *words.first()?;
    let second = words.get(1).copied().unwrap_or("");
    let unaccented = text.split_whitespace().next().is_some_and(|w| w.is_ascii());
    Some(match (first, second) {
        ("ong", "noi") => ("PGRFTH", "paternal grandfather"),
        ("ong", "ngoai") => ("MGRFTH", "maternal grandfather"),
        ("ba", "noi") => ("PGRMTH", "paternal grandmother"),
        ("ba", "ngoai") => ("MGRMTH", "maternal grandmother"),
        ("ong", _) => ("GRFTH", "grandfather"),
        ("ba", _) if !unaccented => ("GRMTH", "grandmother"),
        ("bo" | "cha" | "ba" | "tia", _) => ("FTH", "father"),
        ("me" | "ma", _) => ("MTH", "mother"),
        ("anh", "chi") => ("SIB", "sibling"),
        ("anh", _) | ("em", "trai") => ("BRO", "brother"),
        ("chi", _) | ("em", "gai") => ("SIS", "sister"),
        ("em", _) => ("SIB", "sibling"),
        ("con", "trai") => ("SON", "son"),
        ("con", "gai") => ("DAU", "daughter"),
        ("con", _) => ("CHILD", "child"),
        ("vo", _) => ("WIFE", "wife"),
        ("chong", _) => ("HUSB", "husband"),
        ("chu" | "bac" | "cau" | "duong", _) => ("UNCLE", "uncle"),
        ("co" | "di" | "thim" | "mo", _) => ("AUNT", "aunt"),
        _ => return None,
    })
}

/// The relatives a "who" text names (`bố, mẹ`, `ông nội và bà nội`), each once.
pub fn relations(who: &str) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    let lower = who.to_lowercase().replace(" và ", ",");
    for part in lower.split([',', ';', '/', '+', '&']) {
        if let Some(r) = relation(part)
            && !out.contains(&r)
        {
            out.push(r);
        }
    }
    out
}

fn family_history(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let mut out = Vec::new();
    for i in ITEMS.iter().filter(|i| {
        i.key.starts_with("b.family.") && !i.key.ends_with("_who") && i.key != "b.family.none"
    }) {
        let Some(v) = r.get(i.key) else { continue };
        let tail = i.key.trim_start_matches("b.family.");
        let heading = i.label.split(" — ").next().unwrap_or(i.label);
        // A disease item's value is who has it; the others are what, with who beside.
        let (what, who) = if i.label.ends_with("người mắc") {
            (heading.to_string(), Some(v.to_string()))
        } else {
            let who = r.get(&format!("{}_who", i.key)).map(str::to_string);
            let heading = heading.trim_end_matches(" (ghi rõ)");
            let heading = heading.trim_end_matches(" (ghi rõ loại)");
            let heading = heading.trim_end_matches(" (ghi rõ, người mắc)");
            let what = match tail {
                "allergy.drug" | "allergy.chemical" | "allergy.food" | "allergy.other" => {
                    format!("{heading}: {v}")
                }
                // "Bệnh khác", or a value that names its heading already ("Ung thư gan").
                _ if heading == "Bệnh khác"
                    || book::text::fold(v).starts_with(&book::text::fold(heading)) =>
                {
                    v.to_string()
                }
                _ => format!("{heading}: {v}"),
            };
            (what, who)
        };
        let icd = DISEASES
            .iter()
            .find(|(k, _, _)| k.trim_start_matches("b.disease.") == tail)
            .map(|(_, _, code)| *code);
        let condition = json!([{
            "code": {
                "coding": icd.map(|c| vec![coding(ICD10, c, book::terms::icd10_name(c))]),
                "text": what,
            },
        }]);
        let who_text = who.as_deref().unwrap_or("");
        let rels = relations(who_text);
        let mut push = |part: String, rel: Option<(&str, &str)>| {
            let relationship = match rel {
                Some((code, display)) => {
                    json!({ "coding": [coding(ROLE_CODE, code, Some(display))], "text": who_text })
                }
                None => json!({
                    "coding": [coding(ROLE_CODE, "FAMMEMB", Some("family member"))],
                    "text": if who_text.is_empty() { "Người trong gia đình" } else { who_text },
                }),
            };
            let line = if who_text.is_empty() {
                format!("Tiền sử gia đình: {what}")
            } else {
                format!("Tiền sử gia đình: {what} — người mắc: {who_text}")
            };
            out.push(finish(json!({
                "resourceType": "FamilyMemberHistory",
                "id": ctx.id(&part),
                "meta": { "lastUpdated": ctx.updated },
                "text": narrative(&[line]),
                "status": "completed",
                "patient": ctx.subject,
                "date": ctx.updated,
                "relationship": relationship,
                "condition": condition,
            })));
        };
        let base = format!("fh-{}", slug(tail));
        if rels.is_empty() {
            push(base, None);
        } else {
            for rel in rels {
                push(format!("{base}-{}", rel.0.to_lowercase()), Some(rel));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Relatives (A28–A33)
// ---------------------------------------------------------------------------

fn human_name(name: &str) -> Value {
    let words: Vec<&str> = name.split_whitespace().collect();
    json!([{
        "use": "official",
        "text": name,
        "family": words.first(),
        "given": if words.len() > 1 { json!(words[1..]) } else { Value::Null },
    }])
}

fn related_persons(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, part, code, display, title) in [
        ("a.mother_name", "rp-mother", "MTH", "mother", "Mẹ"),
        ("a.father_name", "rp-father", "FTH", "father", "Bố"),
    ] {
        let Some(name) = r.get(key) else { continue };
        out.push(finish(json!({
            "resourceType": "RelatedPerson",
            "id": ctx.id(part),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(&[format!("{title}: {name}")]),
            "active": true,
            "patient": ctx.subject,
            "relationship": [{ "coding": [coding(ROLE_CODE, code, Some(display))], "text": title }],
            "name": human_name(name),
        })));
    }
    if let Some(name) = r.get("a.caregiver_name") {
        let rel_text = r.get("a.caregiver_relation").unwrap_or("");
        let rel = relation(rel_text);
        let telecom: Vec<Value> = [
            ("a.caregiver_phone", "home"),
            ("a.caregiver_mobile", "mobile"),
        ]
        .iter()
        .filter_map(|(k, usage)| {
            r.get(k)
                .map(|v| json!({ "system": "phone", "value": v, "use": usage }))
        })
        .collect();
        let text = if rel_text.is_empty() {
            "Người chăm sóc chính".to_string()
        } else {
            format!("Người chăm sóc chính ({rel_text})")
        };
        out.push(finish(json!({
            "resourceType": "RelatedPerson",
            "id": ctx.id("rp-caregiver"),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(&[format!("{text}: {name}")]),
            "active": true,
            "patient": ctx.subject,
            "relationship": [{
                "coding": rel.map(|(c, d)| vec![coding(ROLE_CODE, c, Some(d))]),
                "text": text,
            }],
            "name": human_name(name),
            "telecom": telecom,
        })));
    }
    out
}

// ---------------------------------------------------------------------------
// Observations: blood group (A5–A6), risk factors (B2), vital signs (D)
// ---------------------------------------------------------------------------

fn category(code: &str, display: &str) -> Value {
    json!([{ "coding": [coding(OBSERVATION_CATEGORY, code, Some(display))] }])
}

fn blood_group(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(abo) = r.get("a.blood_abo") {
        let snomed = match abo {
            "A" => Some(("112144000", "Blood group A (finding)")),
            "B" => Some(("112149005", "Blood group B (finding)")),
            "AB" => Some(("165743006", "Blood group AB (finding)")),
            "O" => Some(("58460004", "Blood group O (finding)")),
            _ => None,
        };
        out.push(finish(json!({
            "resourceType": "Observation",
            "id": ctx.id("abo"),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(&[format!("Nhóm máu ABO: {abo}")]),
            "status": "final",
            "category": category("laboratory", "Laboratory"),
            "code": { "coding": [coding(LOINC, "883-9", Some("ABO group [Type] in Blood"))], "text": "Nhóm máu hệ ABO" },
            "subject": ctx.subject,
            "issued": ctx.updated,
            "valueCodeableConcept": {
                "coding": snomed.map(|(c, d)| vec![coding(SNOMED, c, Some(d))]),
                "text": format!("Nhóm máu {abo}"),
            },
        })));
    }
    if let Some(rh) = r.get("a.blood_rh") {
        let (snomed, shown) = match rh {
            "+" => (Some(("165747007", "RhD positive (finding)")), "Rh+ (dương)"),
            "-" => (Some(("165746003", "RhD negative (finding)")), "Rh− (âm)"),
            _ => (None, rh),
        };
        out.push(finish(json!({
            "resourceType": "Observation",
            "id": ctx.id("rh"),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(&[format!("Nhóm máu Rh: {shown}")]),
            "status": "final",
            "category": category("laboratory", "Laboratory"),
            "code": { "coding": [coding(LOINC, "10331-7", Some("Rh [Type] in Blood"))], "text": "Nhóm máu hệ Rh" },
            "subject": ctx.subject,
            "issued": ctx.updated,
            "valueCodeableConcept": {
                "coding": snomed.map(|(c, d)| vec![coding(SNOMED, c, Some(d))]),
                "text": shown,
            },
        })));
    }
    out
}

/// Smoking as SNOMED CT (the codes the tobacco-use value sets use).
fn smoking_snomed(v: &str) -> Option<(&'static str, &'static str)> {
    Some(match v {
        "0" => ("266919005", "Never smoked tobacco (finding)"),
        "1" => ("77176002", "Smoker (finding)"),
        "2" => ("449868002", "Smokes tobacco daily (finding)"),
        "3" => ("8517006", "Ex-smoker (finding)"),
        _ => return None,
    })
}

fn risk_factors(ctx: &Ctx, r: &HealthRecord) -> Vec<Value> {
    let mut out = Vec::new();
    let social = category("social-history", "Social History");
    let base = |part: &str, code: Value, line: String| {
        json!({
            "resourceType": "Observation",
            "id": ctx.id(part),
            "meta": { "lastUpdated": ctx.updated },
            "text": narrative(&[line]),
            "status": "final",
            "category": social,
            "code": code,
            "subject": ctx.subject,
            "issued": ctx.updated,
        })
    };
    let local = |tail: &str| {
        let key = format!("b.risk.{tail}");
        json!({ "coding": [coding(CS_YEU_TO_NGUY_CO, tail, Some(label(&key)))], "text": label(&key) })
    };
    fn level(v: &str) -> (String, Value) {
        let shown = display(&RISK_LEVELS, v).unwrap_or(v).to_string();
        (shown, coding(CS_MUC_DO, v, display(&RISK_LEVELS, v)))
    }
    if let Some(v) = r.get("b.risk.smoking") {
        let (shown, lc) = level(v);
        let mut codes: Vec<Value> = smoking_snomed(v)
            .map(|(c, d)| coding(SNOMED, c, Some(d)))
            .into_iter()
            .collect();
        codes.push(lc);
        let mut o = base(
            "sh-smoking",
            json!({
                "coding": [coding(LOINC, "72166-2", Some("Tobacco smoking status")), coding(CS_YEU_TO_NGUY_CO, "smoking", Some(label("b.risk.smoking")))],
                "text": label("b.risk.smoking"),
            }),
            format!("{}: {shown}", label("b.risk.smoking")),
        );
        o["valueCodeableConcept"] = json!({ "coding": codes, "text": shown });
        out.push(finish(o));
    }
    for tail in ["alcohol", "drugs", "activity"] {
        let key = format!("b.risk.{tail}");
        let Some(v) = r.get(&key) else { continue };
        let (shown, lc) = level(v);
        let mut line = format!("{}: {shown}", label(&key));
        let mut o = base(&format!("sh-{tail}"), local(tail), String::new());
        o["valueCodeableConcept"] = json!({ "coding": [lc], "text": shown });
        if tail == "alcohol"
            && let Some(n) = r.get("b.risk.alcohol_drinks")
        {
            line = format!("{line}, {n} ly/cốc chuẩn mỗi ngày");
            o["component"] = json!([{
                "code": { "coding": [coding(LOINC, "74013-4", Some("Alcoholic drinks per day"))], "text": label("b.risk.alcohol_drinks") },
                "valueQuantity": { "value": number(n), "unit": "ly/ngày", "system": UCUM, "code": "{drink}/d" },
            }]);
        }
        o["text"] = narrative(&[line]);
        out.push(finish(o));
    }
    if let Some(v) = r.get("b.risk.exposure") {
        let mut line = format!("{}: {v}", label("b.risk.exposure"));
        let mut o = base("sh-exposure", local("exposure"), String::new());
        o["valueString"] = json!(v);
        if let Some(t) = r.get("b.risk.exposure_time") {
            line = format!("{line} ({t})");
            o["component"] = json!([{
                "code": { "coding": [coding(CS_YEU_TO_NGUY_CO, "exposure_time", Some(label("b.risk.exposure_time")))], "text": label("b.risk.exposure_time") },
                "valueString": t,
            }]);
        }
        o["text"] = narrative(&[line]);
        out.push(finish(o));
    }
    if let Some(v) = r.get("b.risk.toilet") {
        let shown = display(&TOILETS, v).unwrap_or(v);
        let mut o = base(
            "sh-toilet",
            local("toilet"),
            format!("{}: {shown}", label("b.risk.toilet")),
        );
        o["valueCodeableConcept"] =
            json!({ "coding": [coding(CS_LOAI_HO_XI, v, display(&TOILETS, v))], "text": shown });
        out.push(finish(o));
    }
    if let Some(v) = r.get("b.risk.other") {
        let mut o = base(
            "sh-other",
            local("other"),
            format!("{}: {v}", label("b.risk.other")),
        );
        o["valueString"] = json!(v);
        out.push(finish(o));
    }
    out
}

/// A vital sign of an examination.
struct Vital {
    /// The examination item.
    key: &'static str,
    /// The id part.
    part: &'static str,
    loinc: &'static str,
    display: &'static str,
    ucum: &'static str,
    /// The unit as written.
    unit: &'static str,
    /// The FHIR vital-signs profile.
    profile: Option<&'static str>,
}

const VITALS: [Vital; 7] = [
    Vital {
        key: "pulse",
        part: "pulse",
        loinc: "8867-4",
        display: "Heart rate",
        ucum: "/min",
        unit: "lần/phút",
        profile: Some("heartrate"),
    },
    Vital {
        key: "temperature",
        part: "temp",
        loinc: "8310-5",
        display: "Body temperature",
        ucum: "Cel",
        unit: "°C",
        profile: Some("bodytemp"),
    },
    Vital {
        key: "resp",
        part: "resp",
        loinc: "9279-1",
        display: "Respiratory rate",
        ucum: "/min",
        unit: "lần/phút",
        profile: Some("resprate"),
    },
    Vital {
        key: "weight",
        part: "weight",
        loinc: "29463-7",
        display: "Body weight",
        ucum: "kg",
        unit: "kg",
        profile: Some("bodyweight"),
    },
    Vital {
        key: "height",
        part: "height",
        loinc: "8302-2",
        display: "Body height",
        ucum: "cm",
        unit: "cm",
        profile: Some("bodyheight"),
    },
    Vital {
        key: "bmi",
        part: "bmi",
        loinc: "39156-5",
        display: "Body mass index (BMI) [Ratio]",
        ucum: "kg/m2",
        unit: "kg/m2",
        profile: Some("bmi"),
    },
    Vital {
        key: "waist",
        part: "waist",
        loinc: "8280-0",
        display: "Waist Circumference at umbilicus by Tape measure",
        ucum: "cm",
        unit: "cm",
        profile: None,
    },
];

fn profile_url(name: &str) -> String {
    format!("http://hl7.org/fhir/StructureDefinition/{name}")
}

fn vital_signs(ctx: &Ctx, e: &Examination) -> Vec<Value> {
    let mut out = Vec::new();
    let vs = category("vital-signs", "Vital Signs");
    let label_of = |k: &str| book::ehr::exam_item(k).map_or("", |i| i.label);
    let quantity = |v: &str, unit: &str, code: &str| json!({ "value": number(v), "unit": unit, "system": UCUM, "code": code });
    let date = book::vn::ymd(&e.date);
    for Vital {
        key,
        part,
        loinc,
        display,
        ucum,
        unit,
        profile,
    } in VITALS
    {
        let Some(v) = e.get(key) else { continue };
        out.push(finish(json!({
            "resourceType": "Observation",
            "id": ctx.id(&format!("ex{}-{part}", e.number)),
            "meta": {
                "lastUpdated": ctx.updated,
                "profile": profile.map(|p| vec![profile_url(p)]),
            },
            "text": narrative(&[format!("{}: {v} {unit} (khám ngày {date})", label_of(key))]),
            "status": "final",
            "category": vs,
            "code": { "coding": [coding(LOINC, loinc, Some(display))], "text": label_of(key) },
            "subject": ctx.subject,
            "effectiveDateTime": e.date,
            "valueQuantity": quantity(v, unit, ucum),
        })));
    }
    let (sys, dia) = (e.get("bp_sys"), e.get("bp_dia"));
    if sys.is_some() || dia.is_some() {
        let component = |v: Option<&str>, loinc: &str, display: &str, key: &str| {
            let mut c = json!({
                "code": { "coding": [coding(LOINC, loinc, Some(display))], "text": label_of(key) },
            });
            match v {
                Some(v) => c["valueQuantity"] = quantity(v, "mmHg", "mm[Hg]"),
                None => {
                    c["dataAbsentReason"] =
                        json!({ "coding": [coding(DATA_ABSENT, "unknown", Some("Unknown"))] })
                }
            }
            c
        };
        out.push(finish(json!({
            "resourceType": "Observation",
            "id": ctx.id(&format!("ex{}-bp", e.number)),
            "meta": { "lastUpdated": ctx.updated, "profile": [profile_url("bp")] },
            "text": narrative(&[format!(
                "Huyết áp: {}/{} mmHg (khám ngày {date})",
                sys.unwrap_or("?"),
                dia.unwrap_or("?"),
            )]),
            "status": "final",
            "category": vs,
            "code": {
                "coding": [coding(LOINC, "85354-9", Some("Blood pressure panel with all children optional"))],
                "text": "Huyết áp",
            },
            "subject": ctx.subject,
            "effectiveDateTime": e.date,
            "component": [
                component(sys, "8480-6", "Systolic blood pressure", "bp_sys"),
                component(dia, "8462-4", "Diastolic blood pressure", "bp_dia"),
            ],
        })));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stored(items: &[(&str, &str)], exams: Vec<Examination>) -> StoredRecord {
        StoredRecord {
            person_id: 7,
            version: 3,
            commune: Some("00001".into()),
            status: "open".into(),
            record: HealthRecord {
                items: items
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                exams,
                declined: Vec::new(),
            },
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
        }
    }

    fn find<'a>(all: &'a [Value], id: &str) -> &'a Value {
        all.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {all:#?}"))
    }

    #[test]
    fn relatives_are_read_from_vietnamese() {
        assert_eq!(relation("Bố").map(|r| r.0), Some("FTH"));
        assert_eq!(relation(" mẹ ruột").map(|r| r.0), Some("MTH"));
        assert_eq!(relation("bà ngoại").map(|r| r.0), Some("MGRMTH"));
        assert_eq!(relation("ông").map(|r| r.0), Some("GRFTH"));
        assert_eq!(relation("em gái").map(|r| r.0), Some("SIS"));
        assert_eq!(relation("con trai").map(|r| r.0), Some("SON"));
        assert_eq!(relation("hàng xóm"), None);
        // Decomposed accents, or none, are the same words; "ba" alone is the father.
        assert_eq!(
            relation("ba\u{300} no\u{323}i").map(|r| r.0),
            Some("PGRMTH")
        );
        assert_eq!(relation("ba\u{300}").map(|r| r.0), Some("GRMTH"));
        assert_eq!(relation("bà").map(|r| r.0), Some("GRMTH"));
        assert_eq!(relation("ba").map(|r| r.0), Some("FTH"));
        assert_eq!(relation("bo").map(|r| r.0), Some("FTH"));
        let codes: Vec<&str> = relations("Bố, mẹ và ông nội; bố")
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(codes, ["FTH", "MTH", "PGRFTH"]);
        assert!(relations("người quen").is_empty());
        assert_eq!(person_of("12-hs-al-drug"), Some(12));
        assert_eq!(person_of("12-34-d0"), None);
        assert_eq!(person_of("12-hs-"), None);
        assert_eq!(person_of("x-hs-al"), None);
    }

    #[test]
    fn the_record_becomes_resources_with_stable_ids() {
        let mut items = BTreeMap::new();
        for (k, v) in [
            ("pulse", "72"),
            ("bp_sys", "130"),
            ("bp_dia", "85"),
            ("weight", "60.5"),
            ("height", "160"),
            ("bmi", "23.6"),
        ] {
            items.insert(k.to_string(), v.to_string());
        }
        let exam = Examination {
            number: 2,
            date: "2026-03-01".into(),
            by: "tyt".into(),
            unit: None,
            items,
        };
        let s = stored(
            &[
                ("a.blood_abo", "O"),
                ("a.blood_rh", "+"),
                ("a.mother_name", "Trần Thị Mẹ"),
                ("a.caregiver_name", "Lê Văn Con"),
                ("a.caregiver_relation", "con trai"),
                ("a.caregiver_mobile", "0912345678"),
                ("b.allergy.drug", "Penicillin"),
                ("b.disease.diabetes", "1"),
                ("b.disease.cancer", "gan"),
                ("b.icd", "E78.5"),
                ("b.disability.hearing", "nghe kém tai trái"),
                ("b.family.hypertension", "bố, mẹ"),
                ("b.family.cancer", "phổi"),
                ("b.family.cancer_who", "hàng xóm"),
                ("b.risk.smoking", "3"),
                ("b.risk.alcohol", "1"),
                ("b.risk.alcohol_drinks", "2"),
                ("b.risk.toilet", "2"),
            ],
            vec![exam],
        );
        let all = record_resources(7, &s);
        let al = find(&all, "7-hs-al-drug");
        assert_eq!(al["category"][0], "medication");
        assert_eq!(al["code"]["text"], "Penicillin");
        assert!(all.iter().all(|r| r["id"] != "7-hs-al-none"));
        let dm = find(&all, "7-hs-cd-diabetes");
        assert_eq!(dm["code"]["coding"][0]["code"], "E14");
        assert_eq!(dm["category"][0]["coding"][0]["code"], "problem-list-item");
        assert!(find(&all, "7-hs-cd-cancer")["code"]["coding"].is_null());
        assert_eq!(
            find(&all, "7-hs-cd-icd-E78.5")["code"]["coding"][0]["code"],
            "E78.5"
        );
        find(&all, "7-hs-dis-hearing");
        assert_eq!(
            find(&all, "7-hs-fh-hypertension-fth")["relationship"]["coding"][0]["code"],
            "FTH"
        );
        assert_eq!(
            find(&all, "7-hs-fh-hypertension-mth")["condition"][0]["code"]["coding"][0]["code"],
            "I10"
        );
        assert_eq!(
            find(&all, "7-hs-fh-cancer")["relationship"]["coding"][0]["code"],
            "FAMMEMB"
        );
        assert_eq!(
            find(&all, "7-hs-rp-mother")["relationship"][0]["coding"][0]["code"],
            "MTH"
        );
        assert_eq!(
            find(&all, "7-hs-rp-caregiver")["relationship"][0]["coding"][0]["code"],
            "SON"
        );
        assert_eq!(
            find(&all, "7-hs-abo")["valueCodeableConcept"]["coding"][0]["code"],
            "58460004"
        );
        assert_eq!(
            find(&all, "7-hs-sh-smoking")["code"]["coding"][0]["code"],
            "72166-2"
        );
        assert_eq!(
            find(&all, "7-hs-sh-alcohol")["component"][0]["valueQuantity"]["value"],
            2
        );
        let bp = find(&all, "7-hs-ex2-bp");
        assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
        assert_eq!(bp["component"][1]["valueQuantity"]["value"], 85);
        let w = find(&all, "7-hs-ex2-weight");
        assert_eq!(w["valueQuantity"]["value"], 60.5);
        assert_eq!(w["category"][0]["coding"][0]["code"], "vital-signs");
        assert_eq!(w["effectiveDateTime"], "2026-03-01");
        // Every id is a FHIR id and names its person.
        for r in &all {
            let id = r["id"].as_str().unwrap();
            assert!(
                id.len() <= 64
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{id}"
            );
            assert_eq!(person_of(id), Some(7));
        }
    }

    #[test]
    fn no_known_allergies_only_when_the_record_says_so() {
        let none = record_resources(7, &stored(&[("b.allergy.none", "1")], Vec::new()));
        let nka = find(&none, "7-hs-al-none");
        assert_eq!(nka["code"]["coding"][0]["code"], "no-known-allergies");
        let unknown = record_resources(7, &stored(&[("a.name", "X")], Vec::new()));
        assert!(
            unknown
                .iter()
                .all(|r| r["resourceType"] != "AllergyIntolerance")
        );
    }
}
