//! Vaccinations as FHIR R4: a dose as an `Immunization` (immunization.md §5–6), the
//! forecast as one `ImmunizationRecommendation`, and the reverse — a received
//! `Immunization` read into a dose, every refusal naming the element at fault.
//!
//! Codes: the vaccine by its national id (`…/CodeSystem/vacxin-tcqg`, the national
//! immunisation system's `VACXIN_ID`), its ATC code (WHO, J07…) and its CVX code only where
//! the catalogue names an exact one; each antigen as a `protocolApplied.targetDisease`
//! in SNOMED CT; the national dose status (`TRANG_THAI_MUI_TIEM` 2/3/4/5) beside
//! `status` and `statusReason` (v3-ActReason: MEDPREC, PATOBJ).
//!
//! Ids: `<person>-tc-<dose>` and `<person>-tc-forecast` (tiêm chủng).

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use crate::map::{date, instant, narrative, prune};
use crate::terminology::{SID_CCCD, SID_CSKCB, SNOMED};

/// The middle part of every vaccination resource's id.
pub const TAG: &str = "tc";

/// The national vaccine catalogue (VACXIN_ID of the national immunisation system).
pub const CS_VACCINE: &str = "https://healthbook.vn/fhir/CodeSystem/vacxin-tcqg";
/// The national dose status (TRANG_THAI_MUI_TIEM): 2 given, 3 contraindicated, 4 refused,
/// 5 deferred.
pub const CS_DOSE_STATUS: &str = "https://healthbook.vn/fhir/CodeSystem/trang-thai-mui-tiem";
/// The antigens of the national catalogue (khang_nguyen).
pub const CS_ANTIGEN: &str = "https://healthbook.vn/fhir/CodeSystem/khang-nguyen";
/// A dose's id in the national immunisation system (lich_su_tiem_id).
pub const SID_DOSE: &str = "https://healthbook.vn/fhir/sid/mui-tiem-tcqg";
/// A dose's id here.
pub const SID_DOSE_HERE: &str = "https://healthbook.vn/fhir/sid/mui-tiem";
pub const ATC: &str = "http://www.whocc.no/atc";
pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
pub const ROUTE: &str = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration";
pub const SITE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActSite";
pub const ORIGIN: &str = "http://terminology.hl7.org/CodeSystem/immunization-origin";
pub const RECOMMENDATION_STATUS: &str =
    "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status";
pub const DATE_CRITERION: &str = "http://loinc.org";

/// What happened at a dose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Given,
    Contraindicated,
    Refused,
    Deferred,
}

impl Outcome {
    /// The national status code (TRANG_THAI_MUI_TIEM).
    pub fn national(self) -> &'static str {
        match self {
            Outcome::Given => "2",
            Outcome::Contraindicated => "3",
            Outcome::Refused => "4",
            Outcome::Deferred => "5",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Given => "Đã tiêm/uống",
            Outcome::Contraindicated => "Chống chỉ định",
            Outcome::Refused => "Không đồng ý tiêm",
            Outcome::Deferred => "Tạm hoãn",
        }
    }

    /// `statusReason` in v3-ActReason: a contraindication and a deferral are medical
    /// precautions, a refusal the patient's objection.
    fn act_reason(self) -> Option<(&'static str, &'static str)> {
        match self {
            Outcome::Given => None,
            Outcome::Contraindicated | Outcome::Deferred => Some(("MEDPREC", "medical precaution")),
            Outcome::Refused => Some(("PATOBJ", "patient objection")),
        }
    }
}

/// The national dose statuses, for the CodeSystem.
pub const DOSE_STATUSES: [(&str, &str); 4] = [
    ("2", "Đã tiêm/uống"),
    ("3", "Chống chỉ định"),
    ("4", "Không đồng ý tiêm"),
    ("5", "Tạm hoãn"),
];

/// An antigen (disease targeted) in SNOMED CT, by the catalogue's antigen code.
pub fn target_disease(antigen: &str) -> Option<(&'static str, &'static str)> {
    Some(match antigen.to_ascii_lowercase().as_str() {
        "tb" | "bcg" | "lao" => ("56717001", "Tuberculosis"),
        "hepb" | "vgb" => ("66071002", "Viral hepatitis type B"),
        "diphtheria" | "d" | "bh" => ("397428000", "Diphtheria"),
        "pertussis" | "p" | "hg" => ("27836007", "Pertussis"),
        "tetanus" | "t" | "uv" => ("76902006", "Tetanus"),
        "polio" | "bl" => ("398102009", "Acute poliomyelitis"),
        "hib" => ("91428005", "Haemophilus influenzae infection"),
        "measles" | "soi" => ("14189004", "Measles"),
        "rubella" => ("36653000", "Rubella"),
        "mumps" | "quai_bi" => ("36989005", "Mumps"),
        "je" | "vnnb" => ("52947006", "Japanese encephalitis virus disease"),
        "rota" | "rotavirus" => ("18624000", "Disease due to Rotavirus"),
        "pcv" | "pneumococcus" | "pneumo" | "phe_cau" => {
            ("16814004", "Pneumococcal infectious disease")
        }
        "hpv" => ("240532009", "Human papilloma virus infection"),
        "covid19" | "covid-19" | "covid" => ("840539006", "COVID-19"),
        "influenza" | "flu" | "cum" => ("6142004", "Influenza"),
        "rabies" | "dai" => ("14168008", "Rabies"),
        "typhoid" | "thuong_han" => ("4834000", "Typhoid fever"),
        "cholera" | "ta" => ("63650001", "Cholera"),
        "hepa" | "vga" => ("40468003", "Viral hepatitis, type A"),
        "varicella" | "thuy_dau" => ("38907003", "Varicella"),
        _ => return None,
    })
}

/// The route as v3-RouteOfAdministration, from the catalogue's or the dose's word.
pub fn route_code(route: &str) -> Option<(&'static str, &'static str)> {
    Some(match route.to_ascii_lowercase().as_str() {
        "im" | "tiêm bắp" => ("IM", "Injection, intramuscular"),
        "sc" | "tiêm dưới da" => ("SQ", "Injection, subcutaneous"),
        "id" | "tiêm trong da" => ("IDINJ", "Injection, intradermal"),
        "po" | "oral" | "uống" => ("PO", "Swallow, oral"),
        _ => return None,
    })
}

fn route_from(code: &str) -> Option<&'static str> {
    Some(match code {
        "IM" => "IM",
        "SQ" | "SC" => "SC",
        "IDINJ" => "ID",
        "PO" => "PO",
        _ => return None,
    })
}

/// The site as v3-ActSite.
pub fn site_code(site: &str) -> Option<(&'static str, &'static str)> {
    Some(match site.to_ascii_uppercase().as_str() {
        "LA" => ("LA", "left arm"),
        "RA" => ("RA", "right arm"),
        "LT" => ("LT", "left thigh"),
        "RT" => ("RT", "right thigh"),
        "LD" => ("LD", "left deltoid"),
        "RD" => ("RD", "right deltoid"),
        _ => return None,
    })
}

/// A vaccine as the catalogue describes it.
#[derive(Clone, Debug, Default)]
pub struct VaccineFacts {
    /// National id (VACXIN_ID) or the catalogue's own code.
    pub code: String,
    pub name: String,
    pub atc: Option<String>,
    /// Only an exact CVX match.
    pub cvx: Option<String>,
    /// Antigen codes.
    pub antigens: Vec<String>,
    /// Expanded programme (TCMR) rather than a service vaccine.
    pub epi: bool,
}

/// One dose as the mapping reads it (filled from the store's dose and the catalogue).
#[derive(Clone, Debug)]
pub struct DoseFacts {
    pub id: i64,
    pub vaccine: VaccineFacts,
    pub outcome: Outcome,
    /// Why not given, as written.
    pub reason: Option<String>,
    pub day: NaiveDate,
    /// The hour, when known.
    pub at: Option<NaiveDateTime>,
    pub dose_number: Option<u32>,
    pub series_doses: Option<u32>,
    /// Facility code (mã cơ sở) and name.
    pub facility: Option<String>,
    pub facility_name: Option<String>,
    pub lot: Option<String>,
    pub route: Option<String>,
    pub site: Option<String>,
    /// Recorded by the vaccinating facility (else transcribed / reported / imported).
    pub primary_source: bool,
    /// Where the record came from (`station`, `import`, `fhir`, …).
    pub source: String,
    /// The dose's id in the national immunisation system.
    pub national_id: Option<String>,
    /// When the dose was recorded here (ms).
    pub recorded_at: i64,
    pub note: Option<String>,
}

/// The id of a dose's Immunization.
pub fn immunization_id(person: i64, dose: i64) -> String {
    format!("{person}-{TAG}-{dose}")
}

/// The id of a person's ImmunizationRecommendation.
pub fn recommendation_id(person: i64) -> String {
    format!("{person}-{TAG}-forecast")
}

/// The person of a vaccination resource's id (`12-tc-…`), if it is one.
pub fn person_of(id: &str) -> Option<i64> {
    let (p, rest) = id.split_once('-')?;
    let rest = rest.strip_prefix(TAG)?.strip_prefix('-')?;
    if rest.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({ "system": system, "code": code });
    if let Some(d) = display.filter(|d| !d.trim().is_empty()) {
        c["display"] = json!(d);
    }
    c
}

/// The vaccine as a CodeableConcept: national id, then ATC, then CVX (exact only).
pub fn vaccine_code(v: &VaccineFacts) -> Value {
    let mut codings = vec![coding(CS_VACCINE, &v.code, Some(&v.name))];
    if let Some(a) = v.atc.as_deref().filter(|a| !a.is_empty()) {
        codings.push(coding(ATC, a, None));
    }
    if let Some(c) = v.cvx.as_deref().filter(|c| !c.is_empty()) {
        codings.push(coding(CVX, c, None));
    }
    json!({ "coding": codings, "text": v.name })
}

fn target_diseases(antigens: &[String]) -> Vec<Value> {
    antigens
        .iter()
        .map(|a| {
            // The catalogue's antigen (its SNOMED CT disease and Vietnamese name) first.
            let known = book::immunization::antigen(a);
            let name = known.map_or(a.as_str(), |k| k.name);
            let snomed = known
                .filter(|k| !k.snomed.is_empty())
                .map(|k| (k.snomed, None))
                .or_else(|| target_disease(a).map(|(c, d)| (c, Some(d))));
            match snomed {
                Some((code, display)) => json!({
                    "coding": [coding(SNOMED, code, display), coding(CS_ANTIGEN, a, Some(name))],
                    "text": name,
                }),
                None => json!({ "coding": [coding(CS_ANTIGEN, a, Some(name))], "text": name }),
            }
        })
        .collect()
}

/// The Immunization of one dose.
pub fn immunization(person: i64, d: &DoseFacts) -> Value {
    let done = d.outcome == Outcome::Given;
    let when = match d.at {
        Some(t) => crate::map::date_time(t),
        None => date(d.day),
    };
    let mut line = format!(
        "{} — {}{}, ngày {}",
        d.vaccine.name,
        d.outcome.label(),
        d.dose_number
            .map(|n| format!(", mũi {n}"))
            .unwrap_or_default(),
        d.day.format("%d/%m/%Y"),
    );
    if let Some(f) = d.facility_name.as_deref().or(d.facility.as_deref()) {
        line.push_str(&format!(", tại {f}"));
    }
    if let Some(r) = d.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        line.push_str(&format!(" (lý do: {r})"));
    }
    let mut status_reason = Value::Null;
    if let Some((code, display)) = d.outcome.act_reason() {
        status_reason = json!({
            "coding": [
                coding(ACT_REASON, code, Some(display)),
                coding(CS_DOSE_STATUS, d.outcome.national(), Some(d.outcome.label())),
            ],
            "text": d.reason.clone().unwrap_or_else(|| d.outcome.label().to_string()),
        });
    }
    let mut identifiers = vec![json!({ "system": SID_DOSE_HERE, "value": d.id.to_string() })];
    if let Some(n) = d.national_id.as_deref().filter(|n| !n.is_empty()) {
        identifiers.push(json!({ "system": SID_DOSE, "value": n }));
    }
    let performer = d.facility.as_deref().map(|f| {
        vec![json!({
            "function": { "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0443", "AP", Some("Administering Provider"))] },
            // A logical reference: a vaccination point may be no registered facility.
            "actor": {
                "identifier": { "system": SID_CSKCB, "value": f },
                "display": d.facility_name,
            },
        })]
    });
    let protocol = json!([{
        "series": d.vaccine.epi.then_some("Tiêm chủng mở rộng (TCMR)"),
        "authority": d.vaccine.epi.then(|| json!({ "display": "Cục Phòng bệnh — Chương trình Tiêm chủng mở rộng" })),
        "targetDisease": target_diseases(&d.vaccine.antigens),
        // doseNumber[x] is required: "not known" in words when the record has no number.
        "doseNumberPositiveInt": d.dose_number.filter(|n| *n > 0),
        "doseNumberString": d.dose_number.filter(|n| *n > 0).is_none().then_some("Không rõ mũi thứ mấy"),
        "seriesDosesPositiveInt": d.series_doses.filter(|n| *n > 0),
    }]);
    let mut notes = Vec::new();
    if let Some(n) = d.note.as_deref().filter(|n| !n.trim().is_empty()) {
        notes.push(json!({ "text": n }));
    }
    let mut v = json!({
        "resourceType": "Immunization",
        "id": immunization_id(person, d.id),
        "meta": { "lastUpdated": instant(d.recorded_at) },
        "text": narrative(&[line]),
        "identifier": identifiers,
        "status": if done { "completed" } else { "not-done" },
        "statusReason": status_reason,
        "vaccineCode": vaccine_code(&d.vaccine),
        "patient": { "reference": format!("Patient/{person}") },
        "occurrenceDateTime": when,
        "recorded": instant(d.recorded_at),
        "primarySource": d.primary_source,
        "reportOrigin": (!d.primary_source).then(|| json!({
            "coding": [coding(ORIGIN, "record", Some("Written Record"))],
            "text": d.source,
        })),
        "lotNumber": d.lot,
        "site": d.site.as_deref().and_then(site_code).map(|(c, t)| json!({ "coding": [coding(SITE, c, Some(t))] })),
        "route": d.route.as_deref().and_then(route_code).map(|(c, t)| json!({ "coding": [coding(ROUTE, c, Some(t))] })),
        "performer": performer,
        "note": notes,
        "protocolApplied": protocol,
    });
    prune(&mut v);
    v
}

/// The forecast status of one vaccine dose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forecast {
    Due,
    Overdue,
    Upcoming,
    Complete,
    NotApplicable,
}

impl Forecast {
    fn code(self) -> (&'static str, &'static str) {
        match self {
            Forecast::Due => ("due", "Due"),
            Forecast::Overdue => ("overdue", "Overdue"),
            Forecast::Upcoming => ("due", "Due"),
            Forecast::Complete => ("complete", "Complete"),
            Forecast::NotApplicable => ("immune", "Immune"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Forecast::Due => "đến hạn",
            Forecast::Overdue => "quá hạn",
            Forecast::Upcoming => "sắp đến hạn",
            Forecast::Complete => "đã đủ",
            Forecast::NotApplicable => "không áp dụng",
        }
    }
}

/// One line of the forecast as the mapping reads it.
#[derive(Clone, Debug)]
pub struct ForecastFacts {
    pub vaccine: VaccineFacts,
    pub dose_number: Option<u32>,
    pub series_doses: Option<u32>,
    pub status: Forecast,
    /// Earliest day the dose may be given, and the day after which it is overdue.
    pub due_from: Option<NaiveDate>,
    pub overdue_after: Option<NaiveDate>,
    /// The rule set (legal reference) the line follows.
    pub rule_set: Option<String>,
}

/// The ImmunizationRecommendation of a person's forecast (`None` when it has no line
/// worth saying: nothing due, overdue or upcoming).
pub fn recommendation(
    person: i64,
    lines: &[ForecastFacts],
    today: NaiveDate,
    updated_ms: Option<i64>,
) -> Option<Value> {
    let shown: Vec<&ForecastFacts> = lines
        .iter()
        .filter(|l| {
            matches!(
                l.status,
                Forecast::Due | Forecast::Overdue | Forecast::Upcoming
            )
        })
        .collect();
    if shown.is_empty() {
        return None;
    }
    let mut text = Vec::new();
    let recs: Vec<Value> = shown
        .iter()
        .map(|l| {
            let (code, display) = l.status.code();
            text.push(format!(
                "{}{}: {}{}",
                l.vaccine.name,
                l.dose_number
                    .map(|n| format!(" mũi {n}"))
                    .unwrap_or_default(),
                l.status.label(),
                l.due_from
                    .map(|d| format!(" từ {}", d.format("%d/%m/%Y")))
                    .unwrap_or_default(),
            ));
            let mut criteria = Vec::new();
            if let Some(d) = l.due_from {
                criteria.push(json!({
                    "code": { "coding": [coding(DATE_CRITERION, "30980-7", Some("Date vaccine due"))] },
                    "value": date(d),
                }));
            }
            if let Some(d) = l.overdue_after {
                criteria.push(json!({
                    "code": { "coding": [coding(DATE_CRITERION, "59778-1", Some("Date when overdue for immunization"))] },
                    "value": date(d),
                }));
            }
            json!({
                "vaccineCode": [vaccine_code(&l.vaccine)],
                "targetDisease": target_diseases(&l.vaccine.antigens).into_iter().next(),
                "forecastStatus": {
                    "coding": [coding(RECOMMENDATION_STATUS, code, Some(display))],
                    "text": l.status.label(),
                },
                "dateCriterion": criteria,
                "description": l.rule_set,
                "series": l.vaccine.epi.then_some("Tiêm chủng mở rộng (TCMR)"),
                "doseNumberPositiveInt": l.dose_number.filter(|n| *n > 0),
                "seriesDosesPositiveInt": l.series_doses.filter(|n| *n > 0),
            })
        })
        .collect();
    let mut v = json!({
        "resourceType": "ImmunizationRecommendation",
        "id": recommendation_id(person),
        // As of the newest dose recorded (the forecast is recomputed at each read).
        "meta": updated_ms.map(|ms| json!({ "lastUpdated": instant(ms) })),
        "text": narrative(&text),
        "patient": { "reference": format!("Patient/{person}") },
        "date": date(today),
        "authority": { "display": "healthbook — lịch tiêm chủng theo quy định hiện hành" },
        "recommendation": recs,
    });
    prune(&mut v);
    Some(v)
}

// ---------------------------------------------------------------------------
// From the store and the schedule
// ---------------------------------------------------------------------------

/// A vaccine of the catalogue (`book::immunization::vaccines()`) by its code; an
/// unknown code as itself.
pub fn vaccine_facts(code: &str) -> VaccineFacts {
    match book::immunization::vaccine(code) {
        Some(v) => VaccineFacts {
            code: if v.national_id.is_empty() {
                v.code.to_string()
            } else {
                v.national_id.to_string()
            },
            name: v.name.to_string(),
            atc: Some(v.atc.to_string()).filter(|a| !a.is_empty()),
            cvx: Some(v.cvx.to_string()).filter(|c| !c.is_empty()),
            antigens: v.antigens.iter().map(|a| a.to_string()).collect(),
            epi: v.programme == "epi",
        },
        None => VaccineFacts {
            code: code.to_string(),
            name: code.to_string(),
            ..VaccineFacts::default()
        },
    }
}

/// A stored dose as the mapping reads it; `facility_name` from the registry when known.
pub fn dose_facts(d: &store::StoredDose, facility_name: Option<String>) -> DoseFacts {
    use book::immunization::DoseStatus;
    let x = &d.details;
    // A dose the station entered without a facility names the station's commune: that
    // is no facility code.
    let station = d.facility.is_some() && d.facility == d.unit;
    let (facility, facility_name) = if station {
        (
            None,
            facility_name.or_else(|| {
                d.unit
                    .as_ref()
                    .map(|u| format!("Trạm y tế xã, phường (mã đơn vị {u})"))
            }),
        )
    } else {
        (d.facility.clone(), facility_name)
    };
    DoseFacts {
        id: d.id,
        vaccine: vaccine_facts(&d.vaccine),
        outcome: match d.status {
            DoseStatus::Given => Outcome::Given,
            DoseStatus::Contraindicated => Outcome::Contraindicated,
            DoseStatus::Refused => Outcome::Refused,
            DoseStatus::Deferred => Outcome::Deferred,
        },
        reason: x.reason.clone(),
        day: d.date,
        at: None,
        dose_number: d.dose_number.map(u32::from),
        series_doses: None,
        facility,
        facility_name: facility_name.or_else(|| x.facility_name.clone()),
        lot: x.lot.clone(),
        route: x
            .route
            .clone()
            .or_else(|| book::immunization::vaccine(&d.vaccine).map(|v| v.route.to_string())),
        site: x.site.clone(),
        primary_source: x.primary_source.unwrap_or(d.source == "station"),
        source: d.source.clone(),
        national_id: x.national.as_ref().and_then(|n| n.lich_su_tiem_id.clone()),
        recorded_at: d.recorded_at,
        note: x.note.clone(),
    }
}

/// The open lines of a forecast (`book::immunization::forecast`) as the mapping reads
/// them.
pub fn forecast_facts(f: &book::immunization::Forecast) -> Vec<ForecastFacts> {
    use book::immunization::Status;
    f.items
        .iter()
        .map(|i| ForecastFacts {
            vaccine: vaccine_facts(i.vaccines.first().copied().unwrap_or(i.key)),
            dose_number: Some(u32::from(i.dose)),
            series_doses: None,
            status: match i.status {
                Status::Due => Forecast::Due,
                Status::Overdue => Forecast::Overdue,
                Status::Upcoming => Forecast::Upcoming,
                Status::Done => Forecast::Complete,
                Status::NotApplicable => Forecast::NotApplicable,
            },
            due_from: i.due_from,
            overdue_after: i.overdue_after,
            rule_set: book::immunization::rule_set(i.rule_set)
                .map(|r| format!("{}: {}", i.label, r.reference)),
        })
        .collect()
}

/// A code system of the vaccination catalogues: id, name, title, description, concepts.
pub type Catalogue = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// The code systems of vaccinations, for `terminology`.
pub fn catalogues() -> Vec<Catalogue> {
    let vaccines = book::immunization::vaccines()
        .iter()
        .map(|v| {
            (
                if v.national_id.is_empty() {
                    v.code
                } else {
                    v.national_id
                },
                v.name,
            )
        })
        .collect();
    let antigens = book::immunization::antigens()
        .iter()
        .map(|a| (a.code, a.name))
        .collect();
    vec![
        (
            "vacxin-tcqg",
            "VacXinTiemChungQuocGia",
            "Vắc xin (danh mục của hệ thống tiêm chủng quốc gia)",
            "Vaccines by their id in the national immunisation system's catalogue (VACXIN_ID); healthbook's own vaccine codes are accepted on receipt too.",
            vaccines,
        ),
        (
            "khang-nguyen",
            "KhangNguyen",
            "Kháng nguyên (bệnh được phòng)",
            "The antigens (diseases a vaccine protects against) of healthbook's catalogue; each also as SNOMED CT in Immunization.protocolApplied.targetDisease.",
            antigens,
        ),
        (
            "trang-thai-mui-tiem",
            "TrangThaiMuiTiem",
            "Trạng thái mũi tiêm (TRANG_THAI_MUI_TIEM)",
            "The national immunisation system's dose status: 2 given, 3 contraindicated, 4 refused, 5 deferred.",
            DOSE_STATUSES.to_vec(),
        ),
    ]
}

/// The schedule's subject of a person (birth known to the day), as the service's.
pub fn subject_of(p: &store::PersonRecord) -> Option<book::immunization::Subject> {
    let day = store::birth_day(p.birth.as_deref()?)?;
    Some(book::immunization::Subject {
        birth: NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?,
        female: p.sex.as_deref() == Some("2"),
        pregnant: false,
    })
}

/// A person's doses and forecast as of `today`, for a book.
pub fn of_person(
    person: &store::PersonRecord,
    doses: &[store::StoredDose],
    today: NaiveDate,
) -> (Vec<DoseFacts>, Vec<ForecastFacts>) {
    let counted: Vec<&store::StoredDose> = doses.iter().filter(|d| d.counted()).collect();
    let forecast = subject_of(person)
        .map(|s| {
            let ds: Vec<book::immunization::Dose> = counted.iter().map(|d| d.dose()).collect();
            forecast_facts(&book::immunization::forecast(&s, &ds, today))
        })
        .unwrap_or_default();
    (
        counted.iter().map(|d| dose_facts(d, None)).collect(),
        forecast,
    )
}

/// The catalogue vaccine a received coding names: the national id (or healthbook's
/// code) first, then an exact CVX, then ATC when one vaccine alone has it.
pub fn resolve_vaccine(codings: &[(String, String)]) -> Option<&'static str> {
    let all = book::immunization::vaccines();
    for (system, code) in codings {
        if system == CS_VACCINE
            && let Some(v) = all
                .iter()
                .find(|v| v.national_id == code.as_str() || v.code == code.as_str())
        {
            return Some(v.code);
        }
    }
    for (system, code) in codings {
        if system == CVX {
            let hits: Vec<_> = all.iter().filter(|v| v.cvx == code.as_str()).collect();
            if hits.len() == 1 {
                return Some(hits[0].code);
            }
        }
    }
    for (system, code) in codings {
        if system == ATC {
            let hits: Vec<_> = all.iter().filter(|v| v.atc == code.as_str()).collect();
            if hits.len() == 1 {
                return Some(hits[0].code);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Receiving: an Immunization into a dose
// ---------------------------------------------------------------------------

/// A refused element of a received resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The element, as a FHIRPath (`Immunization.vaccineCode`).
    pub element: String,
    /// A stable code (`required`, `value`, `code-invalid`, `not-supported`).
    pub code: &'static str,
    /// Why, in Vietnamese.
    pub message: String,
}

/// Who a received Immunization is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `Patient/<id>`.
    Id(i64),
    /// A personal identification number (CCCD).
    PersonalId(String),
}

/// A received Immunization, read; the vaccine still to be found in the catalogue.
#[derive(Clone, Debug)]
pub struct Received {
    pub subject: Subject,
    /// The vaccine's codings as sent: (system, code).
    pub vaccine: Vec<(String, String)>,
    pub vaccine_text: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub day: NaiveDate,
    pub at: Option<NaiveDateTime>,
    pub dose_number: Option<u32>,
    pub lot: Option<String>,
    /// `IM`, `SC`, `ID`, `PO`.
    pub route: Option<String>,
    pub site: Option<String>,
    /// Facility code of the performer (or location).
    pub facility: Option<String>,
    pub primary_source: bool,
    /// The dose's id in the national immunisation system.
    pub national_id: Option<String>,
    /// The sender's own identifier of the resource (system, value), if any.
    pub identifier: Option<(String, String)>,
    pub note: Option<String>,
}

fn refuse(out: &mut Vec<Refusal>, element: &str, code: &'static str, message: impl Into<String>) {
    out.push(Refusal {
        element: element.to_string(),
        code,
        message: message.into(),
    });
}

/// The elements this server reads of a received Immunization; any other is refused
/// rather than silently dropped.
const READ_ELEMENTS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "text",
    "identifier",
    "status",
    "statusReason",
    "vaccineCode",
    "patient",
    "occurrenceDateTime",
    "recorded",
    "primarySource",
    "reportOrigin",
    "location",
    "lotNumber",
    "site",
    "route",
    "performer",
    "note",
    "protocolApplied",
    "manufacturer",
    "expirationDate",
    "doseQuantity",
];

/// A dateTime or date as the day (and time, moved to Vietnam's clock when zoned).
fn occurrence(s: &str) -> Option<(NaiveDate, Option<NaiveDateTime>)> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some((d, None));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        let vn = chrono::FixedOffset::east_opt(7 * 3600)?;
        let local = t.with_timezone(&vn).naive_local();
        return Some((local.date(), Some(local)));
    }
    None
}

/// Read a received Immunization. Every fault is named by its element; nothing is
/// returned unless there is none.
pub fn read_received(v: &Value) -> Result<Received, Vec<Refusal>> {
    let mut bad = Vec::new();
    let Some(o) = v.as_object() else {
        refuse(
            &mut bad,
            "Immunization",
            "structure",
            "Cần một tài nguyên JSON",
        );
        return Err(bad);
    };
    if v["resourceType"] != "Immunization" {
        refuse(
            &mut bad,
            "resourceType",
            "value",
            format!(
                "resourceType phải là Immunization (nhận {})",
                v["resourceType"]
            ),
        );
        return Err(bad);
    }
    for k in o.keys() {
        if !READ_ELEMENTS.contains(&k.as_str()) {
            refuse(
                &mut bad,
                &format!("Immunization.{k}"),
                "not-supported",
                format!("Phần tử {k} không được hỗ trợ khi ghi mũi tiêm"),
            );
        }
    }
    // Status and why not.
    let outcome = match v["status"].as_str() {
        Some("completed") => Some(Outcome::Given),
        Some("not-done") => {
            let codings: Vec<(&str, &str)> = v["statusReason"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| Some((c["system"].as_str()?, c["code"].as_str()?)))
                .collect();
            let national = codings
                .iter()
                .find(|(s, _)| *s == CS_DOSE_STATUS)
                .map(|(_, c)| *c);
            let reason = codings
                .iter()
                .find(|(s, _)| *s == ACT_REASON)
                .map(|(_, c)| *c);
            match (national, reason) {
                (Some("3"), _) => Some(Outcome::Contraindicated),
                (Some("4"), _) => Some(Outcome::Refused),
                (Some("5"), _) => Some(Outcome::Deferred),
                (Some(other), _) => {
                    refuse(
                        &mut bad,
                        "Immunization.statusReason.coding",
                        "code-invalid",
                        format!(
                            "Mã trạng thái mũi tiêm {other} không dùng cho mũi không tiêm (3 chống chỉ định, 4 không đồng ý, 5 tạm hoãn)"
                        ),
                    );
                    None
                }
                (None, Some("MEDPREC")) => Some(Outcome::Contraindicated),
                (None, Some("PATOBJ")) => Some(Outcome::Refused),
                (None, Some("OSTOCK")) => Some(Outcome::Deferred),
                (None, Some(other)) => {
                    refuse(
                        &mut bad,
                        "Immunization.statusReason.coding",
                        "code-invalid",
                        format!(
                            "Lý do {other} không được hỗ trợ (MEDPREC, PATOBJ, OSTOCK hoặc {CS_DOSE_STATUS})"
                        ),
                    );
                    None
                }
                (None, None) => {
                    refuse(
                        &mut bad,
                        "Immunization.statusReason",
                        "required",
                        "Mũi không tiêm cần lý do (statusReason): chống chỉ định, không đồng ý hoặc tạm hoãn",
                    );
                    None
                }
            }
        }
        Some("entered-in-error") => {
            refuse(
                &mut bad,
                "Immunization.status",
                "not-supported",
                "Không nhận mũi tiêm nhập nhầm (entered-in-error)",
            );
            None
        }
        Some(other) => {
            refuse(
                &mut bad,
                "Immunization.status",
                "code-invalid",
                format!("status không hợp lệ: {other}"),
            );
            None
        }
        None => {
            refuse(
                &mut bad,
                "Immunization.status",
                "required",
                "Thiếu status (completed hoặc not-done)",
            );
            None
        }
    };
    let reason = v["statusReason"]["text"].as_str().map(str::to_string);
    // The vaccine.
    let vaccine: Vec<(String, String)> = v["vaccineCode"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c["system"].as_str()?.to_string(),
                c["code"].as_str()?.trim().to_string(),
            ))
        })
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if vaccine.is_empty() {
        refuse(
            &mut bad,
            "Immunization.vaccineCode",
            "required",
            format!("Thiếu mã vắc xin (vaccineCode.coding: {CS_VACCINE}, {ATC} hoặc {CVX})"),
        );
    }
    // The patient.
    let subject = match (
        v["patient"]["reference"].as_str(),
        &v["patient"]["identifier"],
    ) {
        (Some(r), _) => match r.strip_prefix("Patient/").and_then(|p| p.parse().ok()) {
            Some(id) => Some(Subject::Id(id)),
            None => {
                refuse(
                    &mut bad,
                    "Immunization.patient.reference",
                    "value",
                    format!("patient.reference phải có dạng Patient/<id> (nhận {r})"),
                );
                None
            }
        },
        (None, ident) if ident.is_object() => {
            match (ident["system"].as_str(), ident["value"].as_str()) {
                (Some(SID_CCCD), Some(val)) if dossier_personal_id(val) => {
                    Some(Subject::PersonalId(val.to_string()))
                }
                (Some(SID_CCCD), Some(val)) => {
                    refuse(
                        &mut bad,
                        "Immunization.patient.identifier.value",
                        "value",
                        format!("Số định danh cá nhân phải có 12 chữ số (nhận {val})"),
                    );
                    None
                }
                _ => {
                    refuse(
                        &mut bad,
                        "Immunization.patient.identifier.system",
                        "value",
                        format!("patient.identifier phải là số định danh cá nhân ({SID_CCCD})"),
                    );
                    None
                }
            }
        }
        _ => {
            refuse(
                &mut bad,
                "Immunization.patient",
                "required",
                "Thiếu người được tiêm (patient.reference hoặc patient.identifier)",
            );
            None
        }
    };
    // When.
    let when = match v["occurrenceDateTime"].as_str() {
        Some(s) => match occurrence(s) {
            Some(x) => Some(x),
            None => {
                refuse(
                    &mut bad,
                    "Immunization.occurrenceDateTime",
                    "value",
                    format!("Ngày tiêm không hợp lệ: {s}"),
                );
                None
            }
        },
        None => {
            refuse(
                &mut bad,
                "Immunization.occurrenceDateTime",
                "required",
                "Thiếu ngày tiêm (occurrenceDateTime)",
            );
            None
        }
    };
    // Dose number (one protocol).
    let protocols = v["protocolApplied"].as_array().cloned().unwrap_or_default();
    if protocols.len() > 1 {
        refuse(
            &mut bad,
            "Immunization.protocolApplied",
            "not-supported",
            "Chỉ nhận một protocolApplied cho một mũi tiêm",
        );
    }
    let dose_number = match protocols.first().map(|p| &p["doseNumberPositiveInt"]) {
        // No number, or one in words (doseNumberString): not known.
        None | Some(Value::Null) => None,
        Some(n) => match n.as_u64().filter(|n| (1..=20).contains(n)) {
            Some(n) => Some(n as u32),
            None => {
                refuse(
                    &mut bad,
                    "Immunization.protocolApplied[0].doseNumberPositiveInt",
                    "value",
                    format!("Số thứ tự mũi không hợp lệ: {n}"),
                );
                None
            }
        },
    };
    // Route and site.
    let code_of = |x: &Value, system: &str| -> Option<String> {
        x["coding"]
            .as_array()?
            .iter()
            .find(|c| c["system"] == system)
            .and_then(|c| c["code"].as_str().map(str::to_string))
    };
    let route = if v["route"].is_null() {
        None
    } else {
        match code_of(&v["route"], ROUTE).as_deref().and_then(route_from) {
            Some(r) => Some(r.to_string()),
            None => {
                refuse(
                    &mut bad,
                    "Immunization.route",
                    "code-invalid",
                    format!("Đường dùng cần mã {ROUTE}: IM, SQ, IDINJ hoặc PO"),
                );
                None
            }
        }
    };
    let site = if v["site"].is_null() {
        None
    } else {
        match code_of(&v["site"], SITE).filter(|c| site_code(c).is_some()) {
            Some(s) => Some(s),
            None => {
                refuse(
                    &mut bad,
                    "Immunization.site",
                    "code-invalid",
                    format!("Vị trí tiêm cần mã {SITE}: LA, RA, LT, RT, LD hoặc RD"),
                );
                None
            }
        }
    };
    // The facility: the performer's identifier, else the location's.
    let facility = v["performer"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&v["location"]).filter(|l| !l.is_null()))
        .find_map(|p| {
            let actor = if p["actor"].is_object() {
                &p["actor"]
            } else {
                p
            };
            (actor["identifier"]["system"] == SID_CSKCB)
                .then(|| actor["identifier"]["value"].as_str().map(str::to_string))
                .flatten()
        });
    let national_id = v["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == SID_DOSE)
        .and_then(|i| i["value"].as_str().map(str::to_string));
    let identifier = v["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["system"] != SID_DOSE && i["system"] != SID_DOSE_HERE)
        .find_map(|i| {
            Some((
                i["system"].as_str()?.to_string(),
                i["value"].as_str()?.to_string(),
            ))
        });
    let primary_source = match &v["primarySource"] {
        Value::Bool(b) => *b,
        Value::Null => true,
        other => {
            refuse(
                &mut bad,
                "Immunization.primarySource",
                "value",
                format!("primarySource phải là true hoặc false (nhận {other})"),
            );
            true
        }
    };
    let lot = v["lotNumber"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if lot.as_ref().is_some_and(|l| l.chars().count() > 50) {
        refuse(
            &mut bad,
            "Immunization.lotNumber",
            "value",
            "Số lô quá dài (tối đa 50 ký tự)",
        );
    }
    let note = v["note"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if !bad.is_empty() {
        return Err(bad);
    }
    let (Some(subject), Some(outcome), Some((day, at))) = (subject, outcome, when) else {
        return Err(bad);
    };
    Ok(Received {
        subject,
        vaccine,
        vaccine_text: v["vaccineCode"]["text"].as_str().map(str::to_string),
        outcome,
        reason,
        day,
        at,
        dose_number,
        lot,
        route,
        site,
        facility,
        primary_source,
        national_id,
        identifier,
        note: (!note.is_empty()).then_some(note),
    })
}

fn dossier_personal_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The refusals as an OperationOutcome: one issue per element.
pub fn refusals_outcome(refusals: &[Refusal]) -> Value {
    let issues: Vec<Value> = refusals
        .iter()
        .map(|r| {
            json!({
                "severity": "error",
                "code": match r.code {
                    "required" => "required",
                    "code-invalid" => "code-invalid",
                    "not-supported" => "not-supported",
                    "structure" => "structure",
                    "not-found" => "not-found",
                    "duplicate" => "duplicate",
                    "forbidden" => "forbidden",
                    _ => "value",
                },
                "details": { "text": r.message },
                "expression": [r.element],
            })
        })
        .collect();
    let lines: Vec<String> = refusals
        .iter()
        .map(|r| format!("{}: {}", r.element, r.message))
        .collect();
    json!({
        "resourceType": "OperationOutcome",
        "text": narrative(&lines),
        "issue": issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vaccine() -> VaccineFacts {
        VaccineFacts {
            code: "DPT-VGB-Hib".into(),
            name: "DPT-VGB-Hib (5 trong 1)".into(),
            atc: Some("J07CA11".into()),
            cvx: Some("102".into()),
            antigens: vec![
                "diphtheria".into(),
                "pertussis".into(),
                "tetanus".into(),
                "hepb".into(),
                "hib".into(),
            ],
            epi: true,
        }
    }

    fn dose(outcome: Outcome) -> DoseFacts {
        DoseFacts {
            id: 77,
            vaccine: vaccine(),
            outcome,
            reason: (outcome != Outcome::Given).then(|| "Sốt 39 độ".to_string()),
            day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            at: None,
            dose_number: Some(1),
            series_doses: Some(3),
            facility: Some("01001".into()),
            facility_name: Some("Trạm Y tế xã Thử".into()),
            lot: Some("L123".into()),
            route: Some("IM".into()),
            site: Some("LT".into()),
            primary_source: true,
            source: "station".into(),
            national_id: Some("998877".into()),
            recorded_at: 1_770_000_000_000,
            note: None,
        }
    }

    #[test]
    fn a_given_dose_reads_back_as_itself() {
        let v = immunization(12, &dose(Outcome::Given));
        assert_eq!(v["id"], "12-tc-77");
        assert_eq!(v["status"], "completed");
        assert!(v["statusReason"].is_null());
        assert_eq!(v["vaccineCode"]["coding"][1]["code"], "J07CA11");
        assert_eq!(
            v["protocolApplied"][0]["targetDisease"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        let r = read_received(&v).unwrap();
        assert_eq!(r.subject, Subject::Id(12));
        assert_eq!(r.outcome, Outcome::Given);
        assert_eq!(r.day, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(r.dose_number, Some(1));
        assert_eq!(r.route.as_deref(), Some("IM"));
        assert_eq!(r.site.as_deref(), Some("LT"));
        assert_eq!(r.facility.as_deref(), Some("01001"));
        assert_eq!(r.national_id.as_deref(), Some("998877"));
        assert_eq!(person_of("12-tc-77"), Some(12));
        assert_eq!(person_of("12-hs-77"), None);
    }

    #[test]
    fn not_done_doses_carry_their_reason_both_ways() {
        for o in [
            Outcome::Contraindicated,
            Outcome::Refused,
            Outcome::Deferred,
        ] {
            let v = immunization(3, &dose(o));
            assert_eq!(v["status"], "not-done");
            assert_eq!(v["statusReason"]["coding"][1]["code"], o.national());
            assert_eq!(read_received(&v).unwrap().outcome, o);
        }
    }

    #[test]
    fn every_fault_is_named_by_its_element() {
        let bad = json!({
            "resourceType": "Immunization",
            "status": "not-done",
            "vaccineCode": { "text": "?" },
            "patient": { "reference": "Person/1" },
            "occurrenceDateTime": "2026-02-31",
            "route": { "coding": [{ "system": ROUTE, "code": "XX" }] },
            "protocolApplied": [{ "doseNumberPositiveInt": 0 }],
            "reaction": [],
        });
        let e = read_received(&bad).unwrap_err();
        let elements: Vec<&str> = e.iter().map(|r| r.element.as_str()).collect();
        for want in [
            "Immunization.reaction",
            "Immunization.statusReason",
            "Immunization.vaccineCode",
            "Immunization.patient.reference",
            "Immunization.occurrenceDateTime",
            "Immunization.protocolApplied[0].doseNumberPositiveInt",
            "Immunization.route",
        ] {
            assert!(elements.contains(&want), "{want} in {elements:?}");
        }
        let o = refusals_outcome(&e);
        assert_eq!(o["issue"].as_array().unwrap().len(), e.len());
    }

    #[test]
    fn zoned_times_are_vietnam_days() {
        let (d, t) = occurrence("2026-03-01T20:00:00Z").unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert!(t.is_some());
    }

    #[test]
    fn the_forecast_says_what_is_due() {
        let line = ForecastFacts {
            vaccine: vaccine(),
            dose_number: Some(2),
            series_doses: Some(3),
            status: Forecast::Overdue,
            due_from: NaiveDate::from_ymd_opt(2026, 4, 2),
            overdue_after: NaiveDate::from_ymd_opt(2026, 5, 2),
            rule_set: Some("TT 10/2024/TT-BYT".into()),
        };
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let r = recommendation(5, std::slice::from_ref(&line), today, Some(0)).unwrap();
        assert_eq!(r["id"], "5-tc-forecast");
        assert_eq!(
            r["recommendation"][0]["forecastStatus"]["coding"][0]["code"],
            "overdue"
        );
        assert_eq!(
            r["recommendation"][0]["dateCriterion"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let done = ForecastFacts {
            status: Forecast::Complete,
            ..line
        };
        assert!(recommendation(5, &[done], today, None).is_none());
    }
}
