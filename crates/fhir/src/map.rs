//! The health book as FHIR R4 resources: pure functions from stored persons and
//! episodes to JSON. Nothing here reads the store or decides access.
//!
//! Ids are made so that a read needs one key lookup: a Patient is the person's id; an
//! Encounter is `<person>-<episode>`; what an episode holds is `<person>-<episode>-<kind><n>`
//! (`d` diagnosis, `m` medicine, `r` result, `p` procedure) or `-ref`, `-apt`.

use std::collections::{BTreeMap, BTreeSet};

use book::EpisodeView;
use book::IdKind;
use book::episode::{Diagnosis, Medicine, ResultKind, Service, TestResult};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use dossier::model::BirthDate;
use serde_json::{Map, Value, json};
use store::{EpisodeRecord, Facility, PersonRecord};

use crate::terminology::*;
use crate::typed::{self as t, List, Resource};

/// What decorates codes: facility names and the names of practitioners (by certificate).
#[derive(Default)]
pub struct Context {
    pub facilities: BTreeMap<String, Facility>,
    pub facility_names: BTreeMap<String, String>,
    pub practitioners: BTreeMap<String, String>,
    /// The wall clock (Asia/Ho_Chi_Minh) that "active" and "open" are judged at.
    pub now: NaiveDateTime,
}

/// A dateTime of the Vietnam wall clock, as the dossiers write it.
pub fn date_time(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    // Years of four digits without chrono's format parser (as `%Y` writes them); a
    // leap second as chrono writes it.
    if (0..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    }
    t.format("%Y-%m-%dT%H:%M:%S+07:00").to_string()
}

pub fn date(d: NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        return format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    }
    d.format("%Y-%m-%d").to_string()
}

/// An instant from milliseconds since the epoch.
pub fn instant(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc();
    if (0..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1_000_000 % 1000
        );
    }
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A narrative `div` (XHTML): paragraphs of plain text, then list items that are
/// narratives' own paragraphs already (escaped when they were made). From an
/// auto-escaping, compile-time-checked template: no markup is built from text by hand.
#[derive(askama::Template)]
#[template(
    source = "<div xmlns=\"http://www.w3.org/1999/xhtml\">{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}{% if !items.is_empty() %}<ul>{% for i in items %}<li>{{ i|safe }}</li>{% endfor %}</ul>{% endif %}</div>",
    ext = "html"
)]
pub struct Div<'a> {
    pub paragraphs: &'a [String],
    pub items: &'a [String],
}

impl Div<'_> {
    /// The `div`, with characters XHTML does not allow (controls) as spaces.
    pub fn xhtml(&self) -> String {
        let control = |c: char| (c as u32) < 0x20 && c != '\n' && c != '\t';
        if !self.paragraphs.iter().any(|p| p.chars().any(control)) {
            return askama::Template::render(self).unwrap_or_else(|_| {
                String::from("<div xmlns=\"http://www.w3.org/1999/xhtml\"></div>")
            });
        }
        let clean: Vec<String> = self
            .paragraphs
            .iter()
            .map(|p| {
                p.chars()
                    .map(|c| {
                        if (c as u32) < 0x20 && c != '\n' && c != '\t' {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect()
            })
            .collect();
        askama::Template::render(&Div {
            paragraphs: &clean,
            items: self.items,
        })
        .unwrap_or_else(|_| String::from("<div xmlns=\"http://www.w3.org/1999/xhtml\"></div>"))
    }
}

/// A generated narrative from lines of plain text.
pub fn narrative(lines: &[String]) -> Value {
    let div = Div {
        paragraphs: lines,
        items: &[],
    }
    .xhtml();
    json!({ "status": "generated", "div": div })
}

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

/// Drop empty strings, arrays and objects (FHIR forbids them), recursively.
pub fn prune(v: &mut Value) -> bool {
    match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                if let Some(x) = o.get_mut(&k)
                    && !prune(x)
                {
                    o.remove(&k);
                }
            }
            !o.is_empty()
        }
        Value::Null => false,
        _ => true,
    }
}

fn finish(mut v: Value) -> Value {
    prune(&mut v);
    v
}

/// A valid FHIR id for a practising certificate (which may hold `/`): a short hash.
pub fn practitioner_id(cert: &str) -> String {
    let h = store::sha256_hex(cert.trim().as_bytes());
    format!("cchn-{}", &h[..20])
}

/// The resource id of an episode's Encounter.
pub fn encounter_id(person: i64, episode: i64) -> String {
    format!("{person}-{episode}")
}

/// Split a resource id made here into (person, episode, rest).
pub fn parse_id(id: &str) -> Option<(i64, Option<i64>, Option<&str>)> {
    let mut parts = id.splitn(3, '-');
    let person = parts.next()?.parse().ok()?;
    let episode = match parts.next() {
        Some(e) => Some(e.parse().ok()?),
        None => None,
    };
    Some((person, episode, parts.next()))
}

fn gender(sex: Option<&str>) -> &'static str {
    match sex {
        Some("1") => "male",
        Some("2") => "female",
        Some("3") => "other",
        _ => "unknown",
    }
}

fn birth_date(s: &str) -> Option<String> {
    let b = BirthDate::parse(s)?;
    Some(match (b.month, b.day) {
        (0, _) => format!("{:04}", b.year),
        (m, 0) => format!("{:04}-{:02}", b.year, m),
        (m, d) => format!("{:04}-{:02}-{:02}", b.year, m, d),
    })
}

/// The Patient of a person: identifiers with their systems, name, sex, birth date.
pub fn patient(p: &PersonRecord) -> Value {
    let mut identifiers = Vec::new();
    let mut seen = BTreeSet::new();
    let mut push =
        |kind: IdKind, value: &str, period: Option<(&Option<String>, &Option<String>)>| {
            let system = match kind {
                IdKind::PersonalId => SID_CCCD,
                IdKind::Cmnd => SID_CMND,
                IdKind::Passport => SID_PASSPORT,
                IdKind::BhytCard => SID_BHYT,
                IdKind::Bhxh => SID_BHXH,
                IdKind::FacilityPatient => SID_MA_BN,
            };
            if !seen.insert((system, value.to_string())) {
                return;
            }
            let mut id = json!({ "use": "official", "system": system, "value": value });
            if kind == IdKind::FacilityPatient {
                id["use"] = json!("usual");
            }
            if let Some((from, to)) = period {
                let d = |s: &Option<String>| {
                    s.as_deref()
                        .and_then(|s| NaiveDate::parse_from_str(s, "%Y%m%d").ok())
                        .map(date)
                };
                id["period"] = json!({ "start": d(from), "end": d(to) });
            }
            identifiers.push(id);
        };
    if let Some(pid) = &p.personal_id {
        push(IdKind::PersonalId, pid, None);
    }
    for i in &p.identifiers {
        let period = (i.kind == IdKind::BhytCard).then_some((&i.valid_from, &i.valid_to));
        push(i.kind, &i.value, period);
    }
    let name = p.name.as_deref().unwrap_or("").trim().to_string();
    let words: Vec<&str> = name.split_whitespace().collect();
    let human = (!name.is_empty()).then(|| {
        // Vietnamese names are written family name first, given name last.
        json!({
            "use": "official",
            "text": name,
            "family": words.first(),
            "given": if words.len() > 1 { json!(words[1..]) } else { Value::Null },
        })
    });
    let mut v = json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "text": narrative(&[format!(
            "{} — {}{}",
            if name.is_empty() { "(không rõ tên)" } else { &name },
            p.personal_id.as_deref().map(|s| format!("CCCD {s}")).unwrap_or_default(),
            p.birth.as_deref().and_then(birth_date).map(|b| format!(", sinh {b}")).unwrap_or_default(),
        )]),
        "identifier": identifiers,
        "active": p.merged_into.is_none(),
        "name": human.map(|h| vec![h]),
        "gender": gender(p.sex.as_deref()),
        "birthDate": p.birth.as_deref().and_then(birth_date),
    });
    if let Some(into) = p.merged_into {
        v["link"] =
            json!([{ "other": reference("Patient", &into.to_string()), "type": "replaced-by" }]);
    }
    finish(v)
}

/// The Organization of a facility (known to the registry or only by its code).
pub fn organization(code: &str, ctx: &Context) -> Value {
    let f = ctx.facilities.get(code);
    let name = f
        .map(|f| f.name.clone())
        .or_else(|| ctx.facility_names.get(code).cloned());
    let kind = f.map(|f| f.kind.as_str());
    finish(json!({
        "resourceType": "Organization",
        "id": org_id(code),
        "text": narrative(&[format!("{} ({code})", name.as_deref().unwrap_or("Cơ sở khám bệnh, chữa bệnh"))]),
        "identifier": [{ "use": "official", "system": SID_CSKCB, "value": code }],
        "active": true,
        "type": kind.map(|k| vec![json!({
            "coding": [coding(CS_LOAI_CO_SO, k, display(&FACILITY_KINDS, k))],
            "text": display(&FACILITY_KINDS, k),
        })]),
        "name": name,
        "address": f.map(|f| vec![json!({ "country": "VN", "state": f.province })]),
    }))
}

/// A FHIR id for a facility code (codes are letters and digits; anything else is hashed).
pub fn org_id(code: &str) -> String {
    if !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        code.to_string()
    } else {
        format!("cs-{}", &store::sha256_hex(code.as_bytes())[..20])
    }
}

/// A Practitioner known by certificate number (and by name when registered here).
pub fn practitioner(cert: &str, ctx: &Context) -> Value {
    let name = ctx.practitioners.get(cert);
    finish(json!({
        "resourceType": "Practitioner",
        "id": practitioner_id(cert),
        "text": narrative(&[format!("{} — CCHN {cert}", name.map(String::as_str).unwrap_or("Người hành nghề"))]),
        "identifier": [{ "use": "official", "system": SID_CCHN, "value": cert }],
        "active": true,
        "name": name.map(|n| vec![json!({ "use": "official", "text": n })]),
    }))
}

/// How long after an episode ends its diagnoses stay active problems.
pub const ACTIVE_DAYS: i64 = 90;
/// Chronic-care episodes (MA_LOAI_KCB 05, 07, 08) keep their diagnoses active this long.
pub const CHRONIC_ACTIVE_DAYS: i64 = 365;

/// The clinical status of an episode's diagnoses at `now` (see docs/FHIR.md):
/// - `resolved` when the episode ended cured (KET_QUA_DTRI 1);
/// - `active` while the episode is open, for 90 days after it ended otherwise, and for a
///   year after a chronic-care episode (05, 07, 08);
/// - `inactive` after that, and when the patient died (5, 8).
pub fn clinical_status(v: &EpisodeView, now: NaiveDateTime) -> &'static str {
    let outcome = v.outcome.as_ref().map(|o| o.code.as_str());
    if matches!(outcome, Some("5" | "8")) {
        return "inactive";
    }
    if outcome == Some("1") {
        return "resolved";
    }
    let Some(end) = v.discharged else {
        return "active";
    };
    let chronic = matches!(v.care_type.as_deref(), Some("05" | "07" | "08"));
    let days = if chronic {
        CHRONIC_ACTIVE_DAYS
    } else {
        ACTIVE_DAYS
    };
    if now - end <= Duration::days(days) {
        "active"
    } else {
        "inactive"
    }
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

/// Every resource one episode yields, the Encounter first, as `Value`s.
pub fn episode_resources(person: i64, e: &EpisodeRecord, ctx: &Context) -> Vec<Value> {
    let mut out = Vec::new();
    each_episode_resource(person, e, ctx, &mut |r| out.push(r.into_value()));
    out
}

/// Every resource one episode yields, the Encounter first, typed (borrowing the
/// episode's texts), each handed to `f` as it is made.
pub fn each_episode_resource(
    person: i64,
    e: &EpisodeRecord,
    ctx: &Context,
    f: &mut dyn FnMut(Resource<'_>),
) {
    let v = &e.view;
    let enc = encounter_id(person, e.id);
    let subject_ref = format!("Patient/{person}");
    let encounter_ref = format!("Encounter/{enc}");
    let subject = || t::reference(&subject_ref);
    let encounter = || t::reference(&encounter_ref);
    let org_ref = format!("Organization/{}", org_id(&e.facility));
    let admitted = v.admitted.map(date_time);
    let discharged = v.discharged.map(date_time);
    let recorded = v.discharged.or(v.admitted).map(date_time);

    // Diagnoses: main first.
    let status = clinical_status(v, ctx.now);
    let diagnoses: Vec<(&Diagnosis, bool)> = v
        .main_diagnosis
        .iter()
        .map(|d| (d, true))
        .chain(v.secondary_diagnoses.iter().map(|d| (d, false)))
        .collect();
    const CONDITION: &str = "Condition/";
    let condition_refs: Vec<String> = (0..diagnoses.len())
        .map(|i| format!("{CONDITION}{enc}-d{i}"))
        .collect();
    let enc_diagnoses = diagnoses
        .iter()
        .enumerate()
        .map(|(i, (_, main))| t::EncounterDiagnosis {
            condition: t::reference(&condition_refs[i]),
            use_: t::concept(
                t::coding(
                    "http://terminology.hl7.org/CodeSystem/diagnosis-role",
                    "DD",
                    Some("Discharge diagnosis"),
                ),
                None,
            ),
            // Rank 1 is the main diagnosis (MA_BENH_CHINH), and only it.
            rank: if *main {
                1
            } else {
                i + 1 + usize::from(v.main_diagnosis.is_none())
            },
        })
        .collect();

    let (class, class_display) = encounter_class(v.care_type.as_deref());
    let mut types = List::default();
    if let Some(c) = v.care_type.as_deref() {
        types.0.push(t::concept(
            t::coding(CS_LOAI_KCB, c, display(&CARE_TYPES, c)),
            display(&CARE_TYPES, c).map(t::text),
        ));
    }
    if let Some(cat) = v.patient_category.as_deref() {
        // The patient category has no Encounter element of its own: it is a type.
        types.0.push(t::concept(
            t::coding(CS_DOI_TUONG, cat, display(&PATIENT_CATEGORIES, cat)),
            None,
        ));
    }
    let (hospitalization, extension) =
        if v.outcome.is_some() || v.discharge_type.is_some() || v.inpatient_from.is_some() {
            let h = t::Hospitalization {
                discharge_disposition: v.discharge_type.as_ref().map(|d| {
                    t::concept(
                        t::coding(CS_LOAI_RV, &d.code, display(&DISCHARGE_TYPES, &d.code)),
                        Some(t::text(&d.label)),
                    )
                }),
            };
            let ext = v.outcome.as_ref().map(|o| t::Extension {
                url: t::owned(format!("{NS}/StructureDefinition/ket-qua-dtri")),
                value_codeable_concept: t::concept(
                    t::coding(CS_KET_QUA, &o.code, display(&OUTCOMES, &o.code)),
                    Some(t::text(&o.label)),
                ),
            });
            (Some(h), List(ext.into_iter().collect()))
        } else {
            (None, List::default())
        };
    f(Resource::Encounter(Box::new(t::Encounter {
        resource_type: "Encounter",
        id: t::text(&enc),
        meta: t::Meta {
            last_updated: t::owned(instant(e.visible_at.max(e.linked_at))),
        },
        text: t::narrative(&[format!(
            "{} — {}{}{}",
            v.care_type_label.as_deref().unwrap_or("Lượt khám"),
            ctx.facility_names
                .get(&e.facility)
                .map(String::as_str)
                .unwrap_or(&e.facility),
            v.admitted
                .map(|t| format!(", từ {}", t.format("%d/%m/%Y %H:%M")))
                .unwrap_or_default(),
            v.discharged
                .map(|t| format!(" đến {}", t.format("%d/%m/%Y %H:%M")))
                .unwrap_or_default(),
        )]),
        identifier: List::one(t::Identifier {
            use_: t::text("official"),
            system: t::text(SID_MA_LK),
            value: t::owned(format!("{}/{}", e.facility, e.ma_lk)),
        }),
        status: t::text(if v.discharged.is_some() {
            "finished"
        } else {
            "in-progress"
        }),
        class: t::coding(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            class,
            Some(class_display),
        ),
        type_: types,
        priority: (v.patient_category.as_deref() == Some("2")).then(|| {
            t::concept(
                t::coding(
                    "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                    "EM",
                    Some("emergency"),
                ),
                None,
            )
        }),
        subject: subject(),
        period: t::Period {
            start: admitted.as_deref().map(t::text),
            end: discharged.as_deref().map(t::text),
        },
        reason_code: v
            .reason
            .as_deref()
            .map(|r| List::one(t::concept_text(r)))
            .unwrap_or_default(),
        diagnosis: List(enc_diagnoses),
        service_provider: t::reference(&org_ref),
        hospitalization,
        extension,
    })));

    for (i, (d, main)) in diagnoses.iter().enumerate() {
        let text: &str = match &d.name {
            Some(n) if *main => n,
            _ => &d.icd10,
        };
        f(Resource::Condition(Box::new(t::Condition {
            resource_type: "Condition",
            id: t::text(&condition_refs[i][CONDITION.len()..]),
            text: t::narrative(&[format!(
                "{} — {}{}",
                d.icd10,
                text,
                if *main {
                    " (bệnh chính)"
                } else {
                    " (bệnh kèm theo)"
                }
            )]),
            clinical_status: t::concept(
                t::coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    status,
                    None,
                ),
                None,
            ),
            verification_status: t::concept(
                t::coding(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "confirmed",
                    None,
                ),
                None,
            ),
            category: List::one(t::concept(
                t::coding(
                    "http://terminology.hl7.org/CodeSystem/condition-category",
                    "encounter-diagnosis",
                    Some("Encounter Diagnosis"),
                ),
                None,
            )),
            code: t::concept(
                t::coding(ICD10, &d.icd10, d.name.as_deref().filter(|_| *main)),
                Some(t::text(text)),
            ),
            subject: subject(),
            encounter: encounter(),
            onset_date_time: admitted.as_deref().map(t::text),
            abatement_date_time: discharged
                .as_deref()
                .filter(|_| status == "resolved")
                .map(t::text),
            recorded_date: recorded.as_deref().map(t::text),
        })));
    }

    for (i, m) in v.medicines.iter().enumerate() {
        f(medication_request(
            format!("{enc}-m{i}"),
            m,
            subject(),
            encounter(),
            v.discharged.is_some(),
        ));
    }
    for (i, r) in v.results.iter().enumerate() {
        f(result_resource(
            format!("{enc}-r{i}"),
            r,
            subject(),
            encounter(),
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
        f(procedure(
            format!("{enc}-p{n}"),
            p,
            surgery,
            subject(),
            encounter(),
        ));
        n += 1;
    }
    if n == 0 {
        // The episode names its procedures (ICD-9 CM) without the service lines.
        for code in &v.procedure_codes {
            f(Resource::Procedure(Box::new(t::Procedure {
                resource_type: "Procedure",
                id: t::owned(format!("{enc}-p{n}")),
                text: t::narrative(&[format!("Thủ thuật, phẫu thuật ICD-9 CM {code}")]),
                status: t::text("completed"),
                category: None,
                code: t::concept(
                    t::coding(ICD9CM, code, None),
                    Some(t::owned(format!("ICD-9 CM {code}"))),
                ),
                subject: subject(),
                encounter: encounter(),
                performed_date_time: recorded.as_deref().map(t::text),
                performer: List::default(),
            })));
            n += 1;
        }
    }
    if let Some(r) = &v.referral {
        let open = book::summary::referral_open(v, ctx.now);
        let from: &str = r.from_facility.as_deref().unwrap_or(&e.facility);
        let notes: Vec<t::Annotation> = [
            ("Dấu hiệu lâm sàng", &r.clinical_signs),
            ("Quá trình bệnh lý và diễn biến", &r.course),
            ("Tóm tắt kết quả", &r.key_results),
            ("Tình trạng người bệnh lúc chuyển", &r.condition),
            ("Hướng điều trị", &r.recommendation),
            ("Phương tiện vận chuyển", &r.transport),
        ]
        .iter()
        .filter_map(|(label, x)| {
            x.as_ref().map(|x| t::Annotation {
                text: t::owned(format!("{label}: {x}")),
            })
        })
        .collect();
        f(Resource::ServiceRequest(Box::new(t::ServiceRequest {
            resource_type: "ServiceRequest",
            id: t::owned(format!("{enc}-ref")),
            text: t::narrative(&[format!(
                "Giấy chuyển tuyến {} từ {} đến {}: {}",
                r.number.as_deref().unwrap_or(""),
                from,
                r.to_facility.as_deref().unwrap_or("?"),
                r.diagnosis.as_deref().unwrap_or(""),
            )]),
            identifier: r
                .number
                .as_deref()
                .map(|n| List::one(t::official(SID_CHUYEN_TUYEN, n)))
                .unwrap_or_default(),
            status: t::text(if open { "active" } else { "completed" }),
            intent: t::text("order"),
            category: List::one(t::concept(
                t::coding(SNOMED, "3457005", Some("Patient referral")),
                None,
            )),
            code: t::concept_text("Chuyển tuyến khám bệnh, chữa bệnh"),
            subject: subject(),
            encounter: encounter(),
            authored_on: recorded.as_deref().map(t::text),
            requester: t::reference_owned(format!("Organization/{}", org_id(from))),
            performer: r
                .to_facility
                .as_deref()
                .map(|x| List::one(t::reference_owned(format!("Organization/{}", org_id(x)))))
                .unwrap_or_default(),
            reason_code: List::one(icd10_concept(r.main_icd10.as_deref(), &r.diagnosis)),
            patient_instruction: r
                .reason
                .as_ref()
                .map(|x| t::owned(format!("Lý do chuyển tuyến: {}", x.label))),
            note: List(notes),
        })));
    }
    if let Some(a) = &v.appointment {
        let place: &str = a.facility.as_deref().unwrap_or(&e.facility);
        f(Resource::Appointment(Box::new(t::Appointment {
            resource_type: "Appointment",
            id: t::owned(format!("{enc}-apt")),
            text: t::narrative(&[format!(
                "Hẹn khám lại{} tại {}{}",
                a.at.map(|t| format!(" ngày {}", t.format("%d/%m/%Y")))
                    .unwrap_or_default(),
                ctx.facility_names
                    .get(place)
                    .map(String::as_str)
                    .unwrap_or(place),
                a.diagnosis
                    .as_deref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default(),
            )]),
            identifier: a
                .number
                .as_deref()
                .map(|n| List::one(t::official(SID_GIAY_HEN, n)))
                .unwrap_or_default(),
            // A re-exam letter asks the patient to come back on a day: no slot is booked.
            status: t::text("proposed"),
            service_category: List::one(t::concept_text("Tái khám")),
            reason_code: List::one(icd10_concept(a.main_icd10.as_deref(), &a.diagnosis)),
            description: t::owned(format!(
                "Hẹn khám lại{}",
                a.diagnosis
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )),
            supporting_information: List(vec![
                t::reference_owned(format!("Organization/{}", org_id(place))),
                encounter(),
            ]),
            created: a
                .issued
                .map(|d| t::owned(date(d)))
                .or_else(|| discharged.as_deref().map(t::text)),
            requested_period: a
                .at
                .map(|at| {
                    List::one(t::Period {
                        start: Some(t::owned(date_time(at))),
                        end: None,
                    })
                })
                .unwrap_or_default(),
            participant: List::one(t::Participant {
                actor: subject(),
                required: t::text("required"),
                status: t::text("needs-action"),
            }),
        })));
    }
}

/// A diagnosis as a concept: its ICD-10 code, if any, and its text.
fn icd10_concept<'a>(icd10: Option<&'a str>, text: &'a Option<String>) -> t::Concept<'a> {
    t::Concept {
        coding: icd10
            .map(|c| List::one(t::coding(ICD10, c, None)))
            .unwrap_or_default(),
        text: t::opt(text),
    }
}

fn medication_request<'a>(
    id: String,
    m: &'a Medicine,
    subject: t::Reference<'a>,
    encounter: t::Reference<'a>,
    ended: bool,
) -> Resource<'a> {
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
    let dose = (!dose.is_empty()).then(|| dose.join("; "));
    Resource::MedicationRequest(Box::new(t::MedicationRequest {
        resource_type: "MedicationRequest",
        id: t::owned(id),
        text: t::narrative(&[format!(
            "{text}{}",
            dose.as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default()
        )]),
        status: t::text(if ended { "completed" } else { "active" }),
        intent: t::text("order"),
        medication_codeable_concept: t::Concept {
            coding: m
                .code
                .as_deref()
                .map(|c| List::one(t::coding(CS_THUOC, c, m.name.as_deref())))
                .unwrap_or_default(),
            text: Some(t::owned(text)),
        },
        subject,
        encounter,
        authored_on: m.ordered.map(|x| t::owned(date_time(x))),
        requester: m
            .ordered_by
            .first()
            .map(|c| t::reference_owned(format!("Practitioner/{}", practitioner_id(c)))),
        dosage_instruction: List::one(t::Dosage {
            text: dose.map(t::owned),
            route: m.route.as_deref().map(t::concept_text),
        }),
        dispense_request: m.quantity.map(|q| t::Dispense {
            quantity: quantity(&q.normalize().to_string(), m.unit.as_deref()),
        }),
    }))
}

/// A Quantity: with a UCUM code when the unit is one we know.
fn quantity<'a>(value: &str, unit: Option<&'a str>) -> t::Quantity<'a> {
    let mut q = t::Quantity {
        value: value.parse::<f64>().ok().filter(|f| f.is_finite()),
        ..t::Quantity::default()
    };
    if let Some(u) = unit.map(str::trim).filter(|u| !u.is_empty()) {
        q.unit = Some(t::text(u));
        if let Some(code) = ucum(u) {
            q.system = Some(t::text(UCUM));
            q.code = Some(t::text(code));
        }
    }
    q
}

/// The UCUM code of a unit as Vietnamese laboratories write it, where known.
pub fn ucum(unit: &str) -> Option<&'static str> {
    let u = unit.trim();
    // Blood counts are written G/L (giga per litre) and T/L: not grams, not tesla.
    match u {
        "G/L" | "G/l" => return Some("10*9/L"),
        "T/L" | "T/l" => return Some("10*12/L"),
        _ => {}
    }
    let lower = u.to_lowercase().replace(['µ', 'μ'], "u");
    Some(match lower.as_str() {
        "g/l" => "g/L",
        "g/dl" => "g/dL",
        "mg/l" => "mg/L",
        "mg/dl" => "mg/dL",
        "mmol/l" => "mmol/L",
        "umol/l" => "umol/L",
        "nmol/l" => "nmol/L",
        "pmol/l" => "pmol/L",
        "meq/l" => "meq/L",
        "u/l" | "ui/l" | "iu/l" => "U/L",
        "mu/l" | "miu/l" | "mui/l" => "m[IU]/L",
        "uiu/ml" | "uui/ml" => "u[IU]/mL",
        "ng/ml" => "ng/mL",
        "pg/ml" => "pg/mL",
        "ng/dl" => "ng/dL",
        "%" => "%",
        "fl" => "fL",
        "pg" => "pg",
        "10^9/l" | "x10^9/l" | "10*9/l" => "10*9/L",
        "10^12/l" | "x10^12/l" | "10*12/l" => "10*12/L",
        "mm/h" | "mm/giờ" => "mm/h",
        "mmhg" => "mm[Hg]",
        "s" | "giây" | "sec" => "s",
        "kg" => "kg",
        "g" => "g",
        "cm" => "cm",
        "ml" => "mL",
        "l" => "L",
        "lần/phút" | "l/p" | "bpm" | "/phút" => "/min",
        "°c" | "độ c" => "Cel",
        "kg/m2" => "kg/m2",
        _ => return None,
    })
}

/// A number as laboratories write it: "5.6", "5,6", "-1", "12.0".
pub(crate) fn parse_number(s: &str) -> Option<String> {
    let t = s.trim().replace(',', ".");
    let mut dot = false;
    let body = t.strip_prefix('-').unwrap_or(&t);
    if body.is_empty() || body.starts_with('.') || body.ends_with('.') {
        return None;
    }
    for c in body.chars() {
        match c {
            '0'..='9' => {}
            '.' if !dot => dot = true,
            _ => return None,
        }
    }
    Some(t)
}

pub(crate) fn interpretation(conclusion: Option<&str>) -> Option<(&'static str, &'static str)> {
    let c = book::text::fold(conclusion?);
    let is = |w: &str| c == w || c.starts_with(&format!("{w} "));
    Some(if is("cao") || is("high") || is("tang") {
        ("H", "High")
    } else if is("thap") || is("low") || is("giam") {
        ("L", "Low")
    } else if is("duong tinh") || is("positive") {
        ("POS", "Positive")
    } else if is("am tinh") || is("negative") {
        ("NEG", "Negative")
    } else if is("bat thuong") || is("abnormal") {
        ("A", "Abnormal")
    } else if is("binh thuong") || is("normal") {
        ("N", "Normal")
    } else {
        return None;
    })
}

fn result_resource<'a>(
    id: String,
    r: &'a TestResult,
    subject: t::Reference<'a>,
    encounter: t::Reference<'a>,
) -> Resource<'a> {
    let service_coding = r
        .service_code
        .as_deref()
        .map(|c| t::coding(CS_DICH_VU, c, r.service_name.as_deref()));
    let at = r.at.map(date_time);
    match r.kind {
        ResultKind::Imaging | ResultKind::Functional => {
            let name: &str = r
                .service_name
                .as_deref()
                .or(r.indicator.as_deref())
                .unwrap_or("Chẩn đoán hình ảnh, thăm dò chức năng");
            let (cat, cat_display) = if r.kind == ResultKind::Imaging {
                ("RAD", "Radiology")
            } else {
                ("OTH", "Other")
            };
            let conclusion = r.conclusion.as_deref().or(r.description.as_deref());
            let form = r
                .description
                .as_ref()
                .filter(|_| r.conclusion.is_some())
                .map(|d| {
                    use base64::Engine;
                    List::one(t::Attachment {
                        content_type: t::text("text/plain; charset=utf-8"),
                        language: t::text("vi"),
                        data: t::owned(
                            base64::engine::general_purpose::STANDARD.encode(d.as_bytes()),
                        ),
                        title: t::text("Mô tả"),
                    })
                })
                .unwrap_or_default();
            Resource::DiagnosticReport(Box::new(t::DiagnosticReport {
                resource_type: "DiagnosticReport",
                id: t::owned(id),
                text: t::narrative(&[format!(
                    "{name}: {}",
                    conclusion.unwrap_or("(chưa có kết luận)")
                )]),
                status: t::text("final"),
                category: List::one(t::concept(
                    t::coding(
                        "http://terminology.hl7.org/CodeSystem/v2-0074",
                        cat,
                        Some(cat_display),
                    ),
                    None,
                )),
                code: t::Concept {
                    coding: service_coding.map(List::one).unwrap_or_default(),
                    text: Some(t::text(name)),
                },
                subject,
                encounter,
                effective_date_time: at.clone().map(t::owned),
                issued: at.map(t::owned),
                conclusion: conclusion.map(t::text),
                presented_form: form,
            }))
        }
        ResultKind::Lab | ResultKind::Other => {
            let name: &str = r
                .indicator
                .as_deref()
                .or(r.service_name.as_deref())
                .unwrap_or("Kết quả xét nghiệm");
            let mut codings = Vec::new();
            if let Some(c) = &r.indicator_code {
                codings.push(t::coding(CS_CHI_SO, c, r.indicator.as_deref()));
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
                        Some(u) if !u.trim().is_empty() => t::owned(format!("{v} {u}")),
                        _ => t::text(v),
                    }),
                ),
            };
            let interp = interpretation(r.conclusion.as_deref());
            let mut notes = Vec::new();
            if let Some(d) = &r.description {
                notes.push(t::Annotation { text: t::text(d) });
            }
            if interp.is_none()
                && let Some(c) = &r.conclusion
            {
                notes.push(t::Annotation {
                    text: t::owned(format!("Kết luận: {c}")),
                });
            }
            let absent = vq.is_none() && vs.is_none();
            Resource::Observation(Box::new(t::Observation {
                resource_type: "Observation",
                id: t::owned(id),
                text: t::narrative(&[format!(
                    "{name}: {}{}",
                    value.unwrap_or("(không có giá trị)"),
                    r.unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default(),
                )]),
                status: t::text("final"),
                category: if r.kind == ResultKind::Lab {
                    List::one(t::concept(
                        t::coding(
                            "http://terminology.hl7.org/CodeSystem/observation-category",
                            "laboratory",
                            Some("Laboratory"),
                        ),
                        None,
                    ))
                } else {
                    List::default()
                },
                code: t::Concept {
                    coding: List(codings),
                    text: Some(t::text(name)),
                },
                subject,
                encounter,
                effective_date_time: at.map(t::owned),
                value_quantity: vq,
                value_string: vs,
                data_absent_reason: absent.then(|| {
                    t::concept(
                        t::coding(
                            "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                            "unknown",
                            Some("Unknown"),
                        ),
                        None,
                    )
                }),
                interpretation: interp
                    .map(|(c, d)| {
                        List::one(t::concept(
                            t::coding(
                                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                c,
                                Some(d),
                            ),
                            t::opt(&r.conclusion),
                        ))
                    })
                    .unwrap_or_default(),
                note: List(notes),
            }))
        }
    }
}

fn procedure<'a>(
    id: String,
    p: &'a Service,
    surgery: bool,
    subject: t::Reference<'a>,
    encounter: t::Reference<'a>,
) -> Resource<'a> {
    let name: &str = p.name.as_deref().unwrap_or(if surgery {
        "Phẫu thuật"
    } else {
        "Thủ thuật"
    });
    let mut codings: Vec<t::Coding> = p
        .code
        .iter()
        .map(|c| t::coding(CS_DICH_VU, c, p.name.as_deref()))
        .collect();
    codings.extend(p.procedure_codes.iter().map(|c| t::coding(ICD9CM, c, None)));
    let (cat, cat_display) = if surgery {
        ("387713003", "Surgical procedure")
    } else {
        ("71388002", "Procedure")
    };
    let performers: Vec<t::Performer> = p
        .performed_by
        .iter()
        .chain(
            p.ordered_by
                .iter()
                .take(1)
                .filter(|_| p.performed_by.is_empty()),
        )
        .map(|c| t::Performer {
            actor: t::reference_owned(format!("Practitioner/{}", practitioner_id(c))),
        })
        .collect();
    Resource::Procedure(Box::new(t::Procedure {
        resource_type: "Procedure",
        id: t::owned(id),
        text: t::narrative(&[name.to_string()]),
        status: t::text("completed"),
        category: Some(t::concept(t::coding(SNOMED, cat, Some(cat_display)), None)),
        code: t::Concept {
            coding: List(codings),
            text: Some(t::text(name)),
        },
        subject,
        encounter,
        performed_date_time: p.result_at.or(p.ordered).map(|x| t::owned(date_time(x))),
        performer: List(performers),
    }))
}

/// Certificates an episode names (who ordered and performed).
pub fn certificates(v: &EpisodeView) -> BTreeSet<String> {
    let s = &v.services;
    let mut out = BTreeSet::new();
    for m in &v.medicines {
        out.extend(m.ordered_by.first().cloned());
    }
    for p in s.procedures.iter().chain(&s.surgery) {
        if p.performed_by.is_empty() {
            out.extend(p.ordered_by.first().cloned());
        } else {
            out.extend(p.performed_by.iter().cloned());
        }
    }
    out.retain(|c| !c.trim().is_empty());
    out
}

/// Facility codes an episode refers to (its own, the referral's and the appointment's).
pub fn facility_codes(e: &EpisodeRecord) -> BTreeSet<String> {
    let v = &e.view;
    let mut out = BTreeSet::new();
    out.insert(e.facility.clone());
    if let Some(r) = &v.referral {
        out.extend(r.from_facility.clone());
        out.extend(r.to_facility.clone());
    }
    if let Some(a) = &v.appointment {
        out.extend(a.facility.clone());
    }
    out.retain(|c| !c.trim().is_empty());
    out
}

/// A resource's type and id.
pub fn key(r: &Value) -> (&str, &str) {
    (
        r["resourceType"].as_str().unwrap_or(""),
        r["id"].as_str().unwrap_or(""),
    )
}

/// The date a resource is searched by (`date` parameter), as text that sorts.
pub fn search_date(r: &Value) -> Option<String> {
    let field = match r["resourceType"].as_str()? {
        "Encounter" => return r["period"]["start"].as_str().map(str::to_string),
        "Condition" => "recordedDate",
        "MedicationRequest" => "authoredOn",
        "Observation" | "DiagnosticReport" => "effectiveDateTime",
        "Procedure" => "performedDateTime",
        "ServiceRequest" => "authoredOn",
        "AllergyIntolerance" => "recordedDate",
        "FamilyMemberHistory" => "date",
        "Immunization" => "occurrenceDateTime",
        "ImmunizationRecommendation" => "date",
        "Appointment" => {
            return r["requestedPeriod"][0]["start"]
                .as_str()
                .map(str::to_string);
        }
        _ => return None,
    };
    r[field].as_str().map(str::to_string)
}

/// A stretch of Vietnam wall-clock time, `[low, high)`: a date search value, or a
/// resource's date, at the precision it is written in (`2024` is the whole year,
/// `2024-03-10T08:30:00+07:00` one second). `high` is `None` while a period is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub low: NaiveDateTime,
    pub high: Option<NaiveDateTime>,
}

/// The offset of Asia/Ho_Chi_Minh (no daylight saving since 1975), in minutes.
const VN_OFFSET_MINUTES: i64 = 7 * 60;

impl Span {
    /// A FHIR date or dateTime (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or with a time to the
    /// minute, second or fraction, with or without a zone): its span on the Vietnam
    /// wall clock. A time in another zone is moved to +07:00; a time without a zone is
    /// taken as Vietnam's, as dossiers write it. `None` when it is not a real date.
    pub fn parse(s: &str) -> Option<Span> {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
        // YYYY[-MM[-DD[T…]]], digits where digits go (chrono alone takes "+2024-1").
        let b = s.as_bytes();
        let digits =
            |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
        let shape = digits(0..4)
            && (b.len() == 4
                || (b[4] == b'-'
                    && digits(5..7)
                    && (b.len() == 7
                        || (b.get(7) == Some(&b'-')
                            && digits(8..10)
                            && (b.len() == 10 || b.get(10) == Some(&b'T'))))));
        if !shape || !s.is_ascii() {
            return None;
        }
        match s.len() {
            4 => {
                if !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let y: i32 = s.parse().ok()?;
                let low = midnight(NaiveDate::from_ymd_opt(y, 1, 1)?)?;
                let high = midnight(NaiveDate::from_ymd_opt(y + 1, 1, 1)?)?;
                return Some(Span {
                    low,
                    high: Some(high),
                });
            }
            7 => {
                let first = day(&format!("{s}-01"))?;
                let next = first.checked_add_months(chrono::Months::new(1))?;
                return Some(Span {
                    low: midnight(first)?,
                    high: Some(midnight(next)?),
                });
            }
            10 => {
                let d = day(s)?;
                return Some(Span {
                    low: midnight(d)?,
                    high: Some(midnight(d.succ_opt()?)?),
                });
            }
            _ => {}
        }
        let (date, time) = s.split_once('T')?;
        let d = day(date)?;
        // The zone: `Z` or `±hh:mm` at the end of the time.
        let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
            (c, Some(0))
        } else if let Some(i) = time.rfind(['+', '-']) {
            let (c, z) = time.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            if h > 14 || m > 59 {
                return None;
            }
            (c, Some(sign * (h * 60 + m)))
        } else {
            (time, None)
        };
        let (t, step) = match clock.len() {
            5 => (
                chrono::NaiveTime::parse_from_str(clock, "%H:%M").ok()?,
                Duration::minutes(1),
            ),
            8 => (
                chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").ok()?,
                Duration::seconds(1),
            ),
            // A fraction is as precise as its digits: .5 is a tenth of a second.
            n if n > 9 && clock.as_bytes()[8] == b'.' => (
                chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S%.f").ok()?,
                match n - 9 {
                    1 => Duration::milliseconds(100),
                    2 => Duration::milliseconds(10),
                    _ => Duration::milliseconds(1),
                },
            ),
            _ => return None,
        };
        let mut low = d.and_time(t);
        if let Some(o) = offset {
            low = low - Duration::minutes(o) + Duration::minutes(VN_OFFSET_MINUTES);
        }
        Some(Span {
            low,
            high: Some(low + step),
        })
    }

    /// FHIR R4 date search (3.1.1.5.5, "date"): whether a resource's span `t` matches
    /// this search value under `prefix`. `eq` wants the value to contain `t`; `ge`, `gt`
    /// (`le`, `lt`) want `t` to reach beyond the value's end (before its start), so an
    /// encounter that overlaps the date is found both ways; `sa` and `eb` want no overlap.
    pub fn matches(&self, prefix: &str, t: &Span) -> bool {
        let contains = self.low <= t.low && t.high.is_some_and(|h| Some(h) <= self.high);
        let above = match (t.high, self.high) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(th), Some(sh)) => th > sh,
        };
        let below = t.low < self.low;
        match prefix {
            "eq" => contains,
            "ne" => !contains,
            "gt" => above,
            "lt" => below,
            "ge" => above || contains,
            "le" => below || contains,
            "sa" => self.high.is_some_and(|sh| t.low >= sh),
            "eb" => t.high.is_some_and(|th| th <= self.low),
            _ => false,
        }
    }
}

/// The span a resource is searched by (`date`): an Encounter's period (open while the
/// episode is), an Appointment's requested period, else its one date.
pub fn search_span(r: &Value) -> Option<Span> {
    let period = |p: &Value| -> Option<Span> {
        let start = Span::parse(p["start"].as_str()?)?;
        let high = match p["end"].as_str() {
            Some(e) => Some(Span::parse(e)?.high?),
            None => None,
        };
        Some(Span {
            low: start.low,
            high,
        })
    };
    match r["resourceType"].as_str()? {
        "Encounter" => period(&r["period"]),
        "Appointment" => {
            let p = &r["requestedPeriod"][0];
            // A re-exam letter names a day: without an end, that day (or instant).
            if p["end"].is_null() {
                Span::parse(p["start"].as_str()?)
            } else {
                period(p)
            }
        }
        _ => Span::parse(&search_date(r)?),
    }
}

/// The codings a resource is searched by (`code` parameter).
pub fn search_codes(r: &Value) -> Vec<(&str, &str)> {
    let cc = match r["resourceType"].as_str() {
        Some("MedicationRequest") => &r["medicationCodeableConcept"],
        Some("Encounter") => &r["type"][0],
        Some("FamilyMemberHistory") => &r["condition"][0]["code"],
        Some("Immunization") => &r["vaccineCode"],
        Some("ImmunizationRecommendation") => &r["recommendation"][0]["vaccineCode"][0],
        _ => &r["code"],
    };
    cc["coding"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| Some((c["system"].as_str()?, c["code"].as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Keep an object's keys in a stable order for output (resourceType and id first).
pub fn ordered(v: Value) -> Value {
    let Value::Object(o) = v else { return v };
    let mut out = Map::new();
    for k in ["resourceType", "id", "meta", "text"] {
        if let Some(x) = o.get(k) {
            out.insert(k.to_string(), x.clone());
        }
    }
    for (k, x) in o {
        if !out.contains_key(&k) {
            out.insert(k, x);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use book::episode::Coded;

    fn span(s: &str) -> Span {
        Span::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn date_values_are_spans_at_their_precision_on_the_vietnam_clock() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(span("2024").low, at("2024-01-01 00:00:00.0"));
        assert_eq!(span("2024").high, Some(at("2025-01-01 00:00:00.0")));
        assert_eq!(span("2024-02").high, Some(at("2024-03-01 00:00:00.0")));
        assert_eq!(span("2024-12").high, Some(at("2025-01-01 00:00:00.0")));
        assert_eq!(span("2024-02-29").high, Some(at("2024-03-01 00:00:00.0")));
        assert_eq!(
            span("2024-03-10T08:30").high,
            Some(at("2024-03-10 08:31:00.0"))
        );
        let s = span("2024-03-10T08:30:00+07:00");
        assert_eq!(
            (s.low, s.high),
            (
                at("2024-03-10 08:30:00.0"),
                Some(at("2024-03-10 08:30:01.0"))
            )
        );
        // Another zone is moved to Vietnam's wall clock; no zone is Vietnam's.
        assert_eq!(
            span("2024-03-10T01:30:00Z").low,
            at("2024-03-10 08:30:00.0")
        );
        assert_eq!(
            span("2024-03-09T20:30:00-05:00").low,
            at("2024-03-10 08:30:00.0")
        );
        assert_eq!(span("2024-03-10T08:30:00").low, at("2024-03-10 08:30:00.0"));
        assert_eq!(
            span("2024-03-10T08:30:00.250+07:00").high,
            Some(at("2024-03-10 08:30:00.251"))
        );
        assert_eq!(
            span("2024-03-10T08:30:00.5").high,
            Some(at("2024-03-10 08:30:00.6"))
        );
        for bad in [
            "",
            "24",
            "2024-13",
            "2023-02-29",
            "2024-03-10T25:00",
            "2024-03-10T08:30:00+7",
            "yesterday",
            "2024-03-10 08:30",
            "2024-03-10T08",
            "２０２４",
            "2024-03-10T08:30:00+15:00",
            "-123",
            "+202",
        ] {
            assert_eq!(Span::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_prefixes_follow_the_fhir_range_rules() {
        // A stay from the 10th to the 15th of March.
        let stay = Span {
            low: span("2024-03-10T08:00:00+07:00").low,
            high: span("2024-03-15T10:00:00+07:00").high,
        };
        let open = Span {
            low: stay.low,
            high: None,
        };
        let case = |q: &str, t: &Span| {
            let (p, v) = q.split_at(2);
            span(v).matches(p, t)
        };
        let yes = [
            "eq2024-03",
            "eq2024",
            "ge2024-03-12",
            "le2024-03-12",
            "ge2024-03-10",
            "le2024-03-15",
            "gt2024-03-12",
            "lt2024-03-12",
            "ne2024-03-12",
            "sa2024-03-09",
            "eb2024-03-16",
            "gt2024-03-14",
        ];
        let no = [
            "eq2024-03-12",
            "ge2024-03-16",
            "le2024-03-09",
            "gt2024-03-15",
            "lt2024-03-10",
            "sa2024-03-10",
            "eb2024-03-15",
            "ne2024-03",
            "eq2023",
        ];
        for q in yes {
            assert!(case(q, &stay), "{q} should match the stay");
        }
        for q in no {
            assert!(!case(q, &stay), "{q} should not match the stay");
        }
        // Still in hospital: after any date, never contained, never ended before.
        assert!(case("ge2030-01-01", &open) && case("gt2030", &open));
        assert!(!case("eq2024", &open) && !case("eb2030", &open));
        // A one-second value is contained in its day, month and year.
        let visit = span("2024-03-10T08:30:00+07:00");
        for q in [
            "eq2024-03-10",
            "eq2024-03",
            "eq2024",
            "ge2024-03-10",
            "le2024-03-10",
            "eq2024-03-10T08:30",
        ] {
            assert!(case(q, &visit), "{q}");
        }
        assert!(!case("gt2024-03-10", &visit) && !case("lt2024-03-10", &visit));
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn view(end: Option<&str>, care: &str, outcome: Option<&str>) -> EpisodeView {
        EpisodeView {
            admitted: Some(t("2026-01-01 08:00")),
            discharged: end.map(t),
            care_type: Some(care.into()),
            outcome: outcome.map(|c| Coded {
                code: c.into(),
                label: String::new(),
            }),
            ..EpisodeView::default()
        }
    }

    #[test]
    fn clinical_status_follows_the_stated_rules() {
        let now = t("2026-06-01 00:00");
        // Open episode: active.
        assert_eq!(clinical_status(&view(None, "03", None), now), "active");
        // Ended 60 days ago, improved: active; 120 days ago: inactive.
        assert_eq!(
            clinical_status(&view(Some("2026-04-02 10:00"), "01", Some("2")), now),
            "active"
        );
        assert_eq!(
            clinical_status(&view(Some("2026-02-01 10:00"), "01", Some("2")), now),
            "inactive"
        );
        // Chronic care keeps it active for a year.
        assert_eq!(
            clinical_status(&view(Some("2026-02-01 10:00"), "05", Some("2")), now),
            "active"
        );
        assert_eq!(
            clinical_status(&view(Some("2025-05-01 10:00"), "05", Some("2")), now),
            "inactive"
        );
        // Cured: resolved, however recent; died: inactive.
        assert_eq!(
            clinical_status(&view(Some("2026-05-30 10:00"), "01", Some("1")), now),
            "resolved"
        );
        assert_eq!(
            clinical_status(&view(Some("2026-05-30 10:00"), "03", Some("5")), now),
            "inactive"
        );
    }

    #[test]
    fn units_numbers_and_dates_as_laboratories_write_them() {
        assert_eq!(ucum("G/L"), Some("10*9/L"));
        assert_eq!(ucum("g/l"), Some("g/L"));
        assert_eq!(ucum("T/L"), Some("10*12/L"));
        assert_eq!(ucum("µmol/L"), Some("umol/L"));
        assert_eq!(ucum("mmol/l"), Some("mmol/L"));
        assert_eq!(ucum("UI/L"), Some("U/L"));
        assert_eq!(ucum("lần/phút"), Some("/min"));
        assert_eq!(ucum("cốc"), None);
        assert_eq!(parse_number("5,6"), Some("5.6".into()));
        assert_eq!(parse_number("-12"), Some("-12".into()));
        for bad in ["", "5.", ".5", "1.2.3", "âm tính", "<5", "1e3"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(birth_date("199003150000").as_deref(), Some("1990-03-15"));
        assert_eq!(birth_date("199003000000").as_deref(), Some("1990-03"));
        assert_eq!(birth_date("199000000000").as_deref(), Some("1990"));
        assert_eq!(birth_date("1990"), None);
        assert_eq!(
            date_time(t("2026-03-01 08:05")),
            "2026-03-01T08:05:00+07:00"
        );
        assert_eq!(interpretation(Some("Cao")), Some(("H", "High")));
        assert_eq!(interpretation(Some("Âm tính")), Some(("NEG", "Negative")));
        assert_eq!(interpretation(Some("xem mô tả")), None);
    }

    #[test]
    fn ids_are_valid_and_read_back() {
        assert_eq!(parse_id("12"), Some((12, None, None)));
        assert_eq!(parse_id("12-34"), Some((12, Some(34), None)));
        assert_eq!(parse_id("12-34-d0"), Some((12, Some(34), Some("d0"))));
        assert_eq!(parse_id("x-1"), None);
        assert_eq!(parse_id("1-x"), None);
        let id = practitioner_id("000123/HNO-CCHN");
        assert!(id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_eq!(id, practitioner_id(" 000123/HNO-CCHN "));
        assert_eq!(org_id("01001"), "01001");
        assert!(org_id("01 001/x").starts_with("cs-"));
        // Narratives escape what they quote.
        let n = narrative(&["<b>&\"\u{1}".to_string()]);
        let div = n["div"].as_str().unwrap();
        assert!(div.contains("<p>&#60;b&#62;&#38;&#34; </p>"), "{div}");
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        let mut ms: i64 = -62_167_219_200_000; // 0000-01-01
        while ms < 253_402_300_800_000 {
            let t = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .naive_utc();
            assert_eq!(
                date_time(t),
                t.format("%Y-%m-%dT%H:%M:%S+07:00").to_string()
            );
            assert_eq!(date(t.date()), t.date().format("%Y-%m-%d").to_string());
            assert_eq!(
                instant(ms),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "{ms}"
            );
            ms += 7_919_993_017;
        }
        for ms in [
            -62_167_219_200_001,
            253_402_300_800_000,
            0,
            1_765_000_000_123,
        ] {
            let t = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .naive_utc();
            assert_eq!(
                date_time(t),
                t.format("%Y-%m-%dT%H:%M:%S+07:00").to_string()
            );
            assert_eq!(instant(ms), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap();
        assert_eq!(
            date_time(leap),
            leap.format("%Y-%m-%dT%H:%M:%S+07:00").to_string()
        );
    }

    #[test]
    fn a_narrative_is_the_same_with_or_without_control_characters_to_clean() {
        let plain = Div {
            paragraphs: &["a <b> & \"c\"\n\tđ".to_string()],
            items: &[],
        }
        .xhtml();
        assert_eq!(
            plain,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &#60;b&#62; &#38; &#34;c&#34;\n\tđ</p></div>"
        );
        let dirty = Div {
            paragraphs: &["a\u{1}b".to_string()],
            items: &[],
        }
        .xhtml();
        assert_eq!(
            dirty,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a b</p></div>"
        );
    }

    #[test]
    fn empty_values_are_pruned() {
        let mut v =
            json!({"a": "", "b": [], "c": {"d": null, "e": " "}, "f": 0, "g": [{"h": ""}, "x"]});
        prune(&mut v);
        assert_eq!(v, json!({"f": 0, "g": ["x"]}));
    }
}
