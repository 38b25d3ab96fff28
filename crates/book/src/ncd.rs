//! Chronic non-communicable disease registers a commune station keeps (QĐ 3756/2018,
//! QĐ 5904/2019; ehr-831.md §3.1): hypertension, diabetes, COPD and asthma.
//!
//! - [`Disease`]: the four registers, each with its ICD-10 codes (I10–I15, E10–E14, J44,
//!   J45) — [`Disease::of_icd10`] proposes enrolment from a dossier's diagnosis or a
//!   record's history.
//! - [`Status`]: managed / moved / lost to follow-up / died / referred.
//! - [`Enrolment`]: what the station records when it takes a person on.
//! - [`FollowUp`]: one follow-up visit — blood pressure, glucose / HbA1c, weight,
//!   medicines dispensed, adherence, complications screened, controlled or not, next
//!   appointment; `source` `entered` (by the station) or `dossier` (derived from a
//!   hospital dossier by [`from_dossier`]: XML1 diagnosis, XML2 medicines, XML4 GLU and
//!   HBA1C results; the facility's re-exam date as the next appointment).
//! - [`FollowUp::check`] validates an entered visit; [`controlled`] decides control:
//!   hypertension BP < 140/90; diabetes HbA1c < 7 % (else fasting glucose 4.4–7.2
//!   mmol/L) and, when measured, BP < 140/90; COPD and asthma the clinician's judgement.
//! - [`due`]: a follow-up is **due** from 7 days before the next appointment until 7
//!   days after it, **missed** later than that; with no appointment set the next one is
//!   [`INTERVAL_DAYS`] after the last visit (monthly, as the guides ask).
//! - [`elderly_check`]: the yearly check of the elderly (TT 35/2011: at least one per
//!   year) is done when the record has an examination in the current calendar year.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::EpisodeView;
use crate::ehr::{Problem, parse_date};

/// Days between follow-ups when no appointment was given (monthly).
pub const INTERVAL_DAYS: u64 = 30;
/// A follow-up is due this many days before the appointment and missed this many after.
pub const DUE_WINDOW_DAYS: u64 = 7;

/// A register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disease {
    Hypertension,
    Diabetes,
    Copd,
    Asthma,
}

impl Disease {
    pub const ALL: [Disease; 4] = [
        Disease::Hypertension,
        Disease::Diabetes,
        Disease::Copd,
        Disease::Asthma,
    ];

    /// The stable code (URLs, the store).
    pub fn code(self) -> &'static str {
        match self {
            Disease::Hypertension => "hypertension",
            Disease::Diabetes => "diabetes",
            Disease::Copd => "copd",
            Disease::Asthma => "asthma",
        }
    }

    pub fn from_code(code: &str) -> Option<Disease> {
        Disease::ALL.into_iter().find(|d| d.code() == code.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Disease::Hypertension => "Tăng huyết áp",
            Disease::Diabetes => "Đái tháo đường",
            Disease::Copd => "Bệnh phổi tắc nghẽn mạn tính (COPD)",
            Disease::Asthma => "Hen phế quản",
        }
    }

    /// The ICD-10 categories of the register.
    pub fn icd10(self) -> &'static [&'static str] {
        match self {
            Disease::Hypertension => &["I10", "I11", "I12", "I13", "I15"],
            Disease::Diabetes => &["E10", "E11", "E12", "E13", "E14"],
            Disease::Copd => &["J44"],
            Disease::Asthma => &["J45"],
        }
    }

    /// The register an ICD-10 code belongs to (`I10`, `e11.9`, `J45.0`…).
    pub fn of_icd10(code: &str) -> Option<Disease> {
        let code = code.trim().to_ascii_uppercase();
        let cat = code.get(..3)?;
        Disease::ALL
            .into_iter()
            .find(|d| d.icd10().contains(&cat) || (*d == Disease::Hypertension && cat == "I14"))
    }
}

/// Where a person stands in a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// đang quản lý
    Managed,
    /// chuyển đi (moved away)
    Moved,
    /// bỏ trị (lost to follow-up)
    Lost,
    /// tử vong
    Died,
    /// chuyển tuyến (referred to a higher level)
    Referred,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Managed,
        Status::Moved,
        Status::Lost,
        Status::Died,
        Status::Referred,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Managed => "managed",
            Status::Moved => "moved",
            Status::Lost => "lost",
            Status::Died => "died",
            Status::Referred => "referred",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Managed => "Đang quản lý",
            Status::Moved => "Chuyển đi",
            Status::Lost => "Bỏ trị",
            Status::Died => "Tử vong",
            Status::Referred => "Chuyển tuyến",
        }
    }
}

/// Where the disease was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detected {
    /// A screening campaign or the station's own examination.
    Screening,
    /// A hospital visit (the proposal came from its dossier).
    Hospital,
    /// Referred back from a higher level.
    Referral,
}

impl Detected {
    pub fn from_code(code: &str) -> Option<Detected> {
        match code.trim() {
            "screening" => Some(Detected::Screening),
            "hospital" => Some(Detected::Hospital),
            "referral" => Some(Detected::Referral),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Detected::Screening => "Sàng lọc / khám tại trạm",
            Detected::Hospital => "Khám chữa bệnh tại bệnh viện",
            Detected::Referral => "Tuyến trên chuyển về",
        }
    }
}

/// What the station records when it enrols a person (sealed at rest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub disease: Disease,
    /// The ICD-10 code (from the dossier or as the station confirmed it).
    pub icd10: String,
    /// `yyyy-mm-dd`.
    pub detected_on: String,
    pub detected: Detected,
    /// The facility that confirmed the diagnosis (code), if known.
    #[serde(default)]
    pub confirmed_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Taking the medicines as prescribed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adherence {
    Good,
    Partial,
    Poor,
}

impl Adherence {
    pub fn from_code(code: &str) -> Option<Adherence> {
        match code.trim() {
            "good" => Some(Adherence::Good),
            "partial" => Some(Adherence::Partial),
            "poor" => Some(Adherence::Poor),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Adherence::Good => "Tuân thủ tốt",
            Adherence::Partial => "Tuân thủ một phần",
            Adherence::Poor => "Không tuân thủ",
        }
    }
}

/// One medicine dispensed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dispensed {
    pub name: String,
    /// The BHYT drug code when known.
    #[serde(default)]
    pub code: Option<String>,
    /// Quantity and unit as dispensed ("60 Viên").
    #[serde(default)]
    pub quantity: Option<String>,
}

/// Complications a follow-up may screen for.
pub const COMPLICATIONS: &[(&str, &str)] = &[
    ("eye", "Mắt (soi đáy mắt)"),
    ("foot", "Bàn chân"),
    ("kidney", "Thận (creatinin, protein niệu)"),
    ("heart", "Tim mạch"),
];

/// One follow-up visit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// `yyyy-mm-dd`.
    pub date: String,
    #[serde(default)]
    pub bp_sys: Option<u16>,
    #[serde(default)]
    pub bp_dia: Option<u16>,
    #[serde(default)]
    pub heart_rate: Option<u16>,
    /// Fasting plasma glucose, mmol/L.
    #[serde(default)]
    pub glucose: Option<f64>,
    /// HbA1c, %.
    #[serde(default)]
    pub hba1c: Option<f64>,
    #[serde(default)]
    pub weight_kg: Option<f64>,
    #[serde(default)]
    pub medicines: Vec<Dispensed>,
    #[serde(default)]
    pub adherence: Option<Adherence>,
    /// Codes of [`COMPLICATIONS`] screened.
    #[serde(default)]
    pub complications_screened: Vec<String>,
    /// Complications found (free text).
    #[serde(default)]
    pub complications_found: Option<String>,
    /// The clinician's judgement (COPD, asthma; overrides nothing for hypertension and
    /// diabetes, whose control is computed).
    #[serde(default)]
    pub judged_controlled: Option<bool>,
    /// `yyyy-mm-dd`.
    #[serde(default)]
    pub next_date: Option<String>,
    /// `entered` or `dossier`.
    #[serde(default = "entered")]
    pub source: String,
    /// The facility of a dossier visit.
    #[serde(default)]
    pub facility: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

fn entered() -> String {
    "entered".into()
}

fn problem(key: &str, code: &'static str, message: &str) -> Problem {
    Problem {
        key: key.into(),
        code,
        message: message.into(),
    }
}

impl FollowUp {
    /// Check an entered visit: a date not in the future nor before `from` (the
    /// enrolment's detection), plausible values, the next appointment after the visit.
    pub fn check(&self, from: Option<NaiveDate>, today: NaiveDate) -> Result<(), Vec<Problem>> {
        let mut out = Vec::new();
        match parse_date(&self.date) {
            None => out.push(problem("date", "invalid_date", "Ngày khám: yyyy-mm-dd")),
            Some(d) if d > today => out.push(problem(
                "date",
                "future_date",
                "Ngày khám không được sau hôm nay",
            )),
            Some(d) if from.is_some_and(|f| d < f) => out.push(problem(
                "date",
                "before_enrolment",
                "Ngày khám trước ngày phát hiện bệnh",
            )),
            _ => {}
        }
        let range = |v: Option<f64>, lo: f64, hi: f64, key: &str, msg: &str, out: &mut Vec<_>| {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                out.push(problem(key, "out_of_range", msg));
            }
        };
        range(
            self.bp_sys.map(f64::from),
            50.0,
            300.0,
            "bp_sys",
            "Huyết áp tâm thu: 50–300 mmHg",
            &mut out,
        );
        range(
            self.bp_dia.map(f64::from),
            30.0,
            200.0,
            "bp_dia",
            "Huyết áp tâm trương: 30–200 mmHg",
            &mut out,
        );
        if let (Some(s), Some(d)) = (self.bp_sys, self.bp_dia)
            && s <= d
        {
            out.push(problem(
                "bp_dia",
                "bp_order",
                "Huyết áp tâm thu phải lớn hơn tâm trương",
            ));
        }
        if self.bp_sys.is_some() != self.bp_dia.is_some() {
            out.push(problem(
                "bp_sys",
                "bp_pair",
                "Nhập cả huyết áp tâm thu và tâm trương",
            ));
        }
        range(
            self.heart_rate.map(f64::from),
            20.0,
            250.0,
            "heart_rate",
            "Mạch: 20–250 lần/phút",
            &mut out,
        );
        range(
            self.glucose,
            1.0,
            40.0,
            "glucose",
            "Đường huyết: 1–40 mmol/L",
            &mut out,
        );
        range(self.hba1c, 3.0, 20.0, "hba1c", "HbA1c: 3–20 %", &mut out);
        range(
            self.weight_kg,
            2.0,
            300.0,
            "weight_kg",
            "Cân nặng: 2–300 kg",
            &mut out,
        );
        for c in &self.complications_screened {
            if !COMPLICATIONS.iter().any(|(k, _)| k == c) {
                out.push(problem(
                    "complications_screened",
                    "unknown",
                    "Biến chứng sàng lọc không có trong danh mục",
                ));
            }
        }
        if let Some(next) = &self.next_date {
            match (parse_date(next), parse_date(&self.date)) {
                (None, _) => out.push(problem(
                    "next_date",
                    "invalid_date",
                    "Hẹn tái khám: yyyy-mm-dd",
                )),
                (Some(n), Some(d)) if n <= d => out.push(problem(
                    "next_date",
                    "next_before_visit",
                    "Ngày hẹn tái khám phải sau ngày khám",
                )),
                _ => {}
            }
        }
        if out.is_empty() { Ok(()) } else { Err(out) }
    }

    /// The next appointment: the one given, else [`INTERVAL_DAYS`] after the visit.
    pub fn next(&self) -> Option<NaiveDate> {
        self.next_date.as_deref().and_then(parse_date).or_else(|| {
            parse_date(&self.date).and_then(|d| d.checked_add_days(Days::new(INTERVAL_DAYS)))
        })
    }
}

/// Whether a visit shows the disease controlled (`None`: not measured / not judged).
pub fn controlled(disease: Disease, f: &FollowUp) -> Option<bool> {
    let bp = match (f.bp_sys, f.bp_dia) {
        (Some(s), Some(d)) => Some(s < 140 && d < 90),
        _ => None,
    };
    match disease {
        Disease::Hypertension => bp,
        Disease::Diabetes => {
            let sugar = match (f.hba1c, f.glucose) {
                (Some(a), _) => Some(a < 7.0),
                (None, Some(g)) => Some((4.4..=7.2).contains(&g)),
                _ => None,
            };
            match (sugar, bp) {
                (Some(s), Some(b)) => Some(s && b),
                (s, _) => s,
            }
        }
        Disease::Copd | Disease::Asthma => f.judged_controlled,
    }
}

/// Where a register entry stands on `today` against its next appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// The appointment is more than [`DUE_WINDOW_DAYS`] ahead.
    Upcoming,
    /// Within [`DUE_WINDOW_DAYS`] of the appointment, either side.
    Due,
    /// More than [`DUE_WINDOW_DAYS`] past the appointment with no visit since.
    Missed,
}

impl Due {
    pub fn code(self) -> &'static str {
        match self {
            Due::Upcoming => "upcoming",
            Due::Due => "due",
            Due::Missed => "missed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Due::Upcoming => "Chưa đến hẹn",
            Due::Due => "Đến hẹn",
            Due::Missed => "Quá hẹn",
        }
    }
}

/// The follow-up state of an entry whose next appointment is `next`.
pub fn due(next: NaiveDate, today: NaiveDate) -> Due {
    let w = Days::new(DUE_WINDOW_DAYS);
    if today > next.checked_add_days(w).unwrap_or(next) {
        Due::Missed
    } else if today >= next.checked_sub_days(w).unwrap_or(next) {
        Due::Due
    } else {
        Due::Upcoming
    }
}

/// The follow-up a hospital visit of an enrolled person amounts to, when its
/// diagnoses (main or secondary) name the register's disease: the medicines of XML2,
/// the glucose and HbA1c results of XML4, the re-exam date of XML14.
pub fn from_dossier(disease: Disease, view: &EpisodeView) -> Option<FollowUp> {
    let names = view
        .main_diagnosis
        .iter()
        .chain(&view.secondary_diagnoses)
        .any(|d| Disease::of_icd10(&d.icd10) == Some(disease));
    if !names {
        return None;
    }
    let date = view.admitted?.date().format("%Y-%m-%d").to_string();
    let value = |code: &str| -> Option<f64> {
        view.results
            .iter()
            .find(|r| {
                r.indicator_code
                    .as_deref()
                    .map(str::to_ascii_uppercase)
                    .as_deref()
                    == Some(code)
            })
            .and_then(|r| r.value.as_deref())
            .and_then(|v| v.trim().replace(',', ".").parse::<f64>().ok())
    };
    let medicines = view
        .medicines
        .iter()
        .map(|m| Dispensed {
            name: m.name.clone().unwrap_or_default(),
            code: m.code.clone(),
            quantity: m.quantity.map(|q| {
                format!(
                    "{} {}",
                    crate::vn::decimal(q),
                    m.unit.clone().unwrap_or_default()
                )
                .trim()
                .to_string()
            }),
        })
        .filter(|d| !d.name.is_empty())
        .collect();
    let next_date = view
        .appointment
        .as_ref()
        .and_then(|a| a.at)
        .map(|d| d.date().format("%Y-%m-%d").to_string());
    Some(FollowUp {
        date,
        glucose: value("GLU"),
        hba1c: value("HBA1C"),
        medicines,
        next_date,
        source: "dossier".into(),
        facility: Some(view.facility.clone()),
        ..FollowUp::default()
    })
}

/// The yearly check of an elderly person: done when the record's newest examination
/// (`yyyy-mm-dd`) falls in `today`'s year.
pub fn elderly_check(last_exam: Option<&str>, today: NaiveDate) -> bool {
    last_exam
        .and_then(parse_date)
        .is_some_and(|d| d.year() == today.year() && d <= today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn registers_by_icd10() {
        assert_eq!(Disease::of_icd10("I10"), Some(Disease::Hypertension));
        assert_eq!(Disease::of_icd10("i13.2"), Some(Disease::Hypertension));
        assert_eq!(Disease::of_icd10("I15.0"), Some(Disease::Hypertension));
        assert_eq!(Disease::of_icd10("E11.9"), Some(Disease::Diabetes));
        assert_eq!(Disease::of_icd10("E14"), Some(Disease::Diabetes));
        assert_eq!(Disease::of_icd10("E15"), None);
        assert_eq!(Disease::of_icd10("J44.9"), Some(Disease::Copd));
        assert_eq!(Disease::of_icd10("J45.0"), Some(Disease::Asthma));
        assert_eq!(Disease::of_icd10("I16"), None);
        assert_eq!(Disease::of_icd10("J4"), None);
        for d in Disease::ALL {
            assert_eq!(Disease::from_code(d.code()), Some(d));
        }
    }

    #[test]
    fn control_rules() {
        let f = |s: Option<u16>, d: Option<u16>, g: Option<f64>, a: Option<f64>| FollowUp {
            bp_sys: s,
            bp_dia: d,
            glucose: g,
            hba1c: a,
            ..FollowUp::default()
        };
        let ht = Disease::Hypertension;
        assert_eq!(
            controlled(ht, &f(Some(139), Some(89), None, None)),
            Some(true)
        );
        assert_eq!(
            controlled(ht, &f(Some(140), Some(80), None, None)),
            Some(false)
        );
        assert_eq!(
            controlled(ht, &f(Some(130), Some(90), None, None)),
            Some(false)
        );
        assert_eq!(controlled(ht, &f(None, None, None, None)), None);
        let dm = Disease::Diabetes;
        assert_eq!(
            controlled(dm, &f(None, None, Some(9.0), Some(6.8))),
            Some(true)
        );
        assert_eq!(
            controlled(dm, &f(None, None, Some(6.0), Some(7.0))),
            Some(false)
        );
        assert_eq!(controlled(dm, &f(None, None, Some(6.5), None)), Some(true));
        assert_eq!(controlled(dm, &f(None, None, Some(8.1), None)), Some(false));
        assert_eq!(
            controlled(dm, &f(Some(150), Some(85), Some(6.5), None)),
            Some(false)
        );
        let copd = FollowUp {
            judged_controlled: Some(true),
            ..FollowUp::default()
        };
        assert_eq!(controlled(Disease::Copd, &copd), Some(true));
        assert_eq!(
            controlled(Disease::Copd, &f(Some(120), Some(70), None, None)),
            None
        );
    }

    #[test]
    fn due_window() {
        let next = d("2026-03-15");
        assert_eq!(due(next, d("2026-03-07")), Due::Upcoming);
        assert_eq!(due(next, d("2026-03-08")), Due::Due);
        assert_eq!(due(next, d("2026-03-22")), Due::Due);
        assert_eq!(due(next, d("2026-03-23")), Due::Missed);
        let f = FollowUp {
            date: "2026-02-01".into(),
            ..FollowUp::default()
        };
        assert_eq!(f.next(), Some(d("2026-03-03")));
    }

    #[test]
    fn entered_visit_checked() {
        let today = d("2026-03-01");
        let ok = FollowUp {
            date: "2026-02-20".into(),
            bp_sys: Some(150),
            bp_dia: Some(95),
            next_date: Some("2026-03-20".into()),
            complications_screened: vec!["eye".into()],
            ..FollowUp::default()
        };
        assert_eq!(ok.check(Some(d("2025-01-01")), today), Ok(()));
        let bad = FollowUp {
            date: "2026-03-05".into(),
            bp_sys: Some(80),
            bp_dia: Some(90),
            glucose: Some(80.0),
            next_date: Some("2026-03-01".into()),
            complications_screened: vec!["ear".into()],
            ..FollowUp::default()
        };
        let keys: Vec<String> = bad
            .check(None, today)
            .unwrap_err()
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            [
                "date",
                "bp_dia",
                "glucose",
                "complications_screened",
                "next_date"
            ]
        );
        let early = FollowUp {
            date: "2024-12-31".into(),
            ..FollowUp::default()
        };
        assert_eq!(
            early.check(Some(d("2025-01-01")), today).unwrap_err()[0].code,
            "before_enrolment"
        );
    }

    #[test]
    fn elderly_yearly_check() {
        let today = d("2026-12-07");
        assert!(elderly_check(Some("2026-01-10"), today));
        assert!(!elderly_check(Some("2025-12-31"), today));
        assert!(!elderly_check(None, today));
    }
}
