//! The summary a clinician reads first: current problems, recent medicines, recent
//! abnormal results, appointments ahead, and the referral from the previous facility.

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use crate::EpisodeView;
use crate::episode::{Appointment, Diagnosis, Medicine, Referral, TestResult};

/// Problems are the diagnoses of the last year; medicines those of the last 90 days.
pub const PROBLEM_DAYS: i64 = 365;
pub const MEDICINE_DAYS: i64 = 90;
/// A referral letter stays open this long after the referring episode ends.
pub const REFERRAL_OPEN_DAYS: i64 = 30;
const MAX_ITEMS: usize = 20;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub episodes: usize,
    pub last_visit: Option<NaiveDateTime>,
    /// Chronic conditions from the whole history (main and secondary diagnoses whose
    /// ICD-10 is chronic, `terms::chronic_group`), most recently seen first.
    pub chronic: Vec<Chronic>,
    /// Distinct main diagnoses of the last year, newest first, with when last seen.
    pub problems: Vec<Problem>,
    pub medicines: Vec<RecentMedicine>,
    pub abnormal_results: Vec<RecentResult>,
    pub appointments: Vec<Dated<Appointment>>,
    pub referrals: Vec<Dated<Referral>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub diagnosis: Diagnosis,
    pub last_seen: Option<NaiveDateTime>,
    pub facility: String,
    pub episode_id: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Chronic {
    /// The diagnosis, named from the list when the dossier gave no name.
    pub diagnosis: Diagnosis,
    pub group: &'static str,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    /// Visits that recorded it.
    pub visits: usize,
    /// Where it was last recorded.
    pub facility: String,
    pub episode_id: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecentMedicine {
    pub medicine: Medicine,
    pub at: Option<NaiveDateTime>,
    pub facility: String,
    pub episode_id: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecentResult {
    pub result: TestResult,
    pub facility: String,
    pub episode_id: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dated<T> {
    pub item: T,
    pub issued: Option<NaiveDateTime>,
    pub facility: String,
    pub episode_id: i64,
}

/// A result flagged outside its reference range by the facility ("Cao", "Thấp",
/// "Bất thường"…).
pub fn is_abnormal(r: &TestResult) -> bool {
    let c = crate::text::fold(r.conclusion.as_deref().unwrap_or(""));
    [
        "cao",
        "thap",
        "bat thuong",
        "duong tinh",
        "high",
        "low",
        "abnormal",
    ]
    .iter()
    .any(|w| c == *w || c.starts_with(&format!("{w} ")))
}

/// Whether an imaging or functional report (or a lab report without a value) says
/// something is not normal: its conclusion names no normal finding ("bình thường",
/// "chưa phát hiện…", "trong giới hạn…", "âm tính"). "Giãn thất trái, giảm chức năng
/// tâm thu (EF 35%)" is flagged; "Hiện tại chưa phát hiện bất thường" is not.
pub fn is_abnormal_report(r: &TestResult) -> bool {
    let c = crate::text::fold(r.conclusion.as_deref().unwrap_or(""));
    if c.trim().is_empty() {
        return false;
    }
    if is_abnormal(r) || c.contains("duong tinh") {
        return true;
    }
    const NORMAL: [&str; 8] = [
        "binh thuong",
        "chua phat hien",
        "khong phat hien",
        "khong thay",
        "trong gioi han",
        "am tinh",
        "tuong ung tuoi thai",
        "normal",
    ];
    !NORMAL.iter().any(|w| c.contains(w))
}

/// Whether a result is out of the normal: a lab value outside its range (or flagged by
/// the facility), a report whose conclusion is not normal.
pub fn is_out_of_normal(r: &TestResult) -> bool {
    match r.kind {
        crate::episode::ResultKind::Lab if r.value.is_some() => crate::terms::flag(r).is_some(),
        _ => is_abnormal_report(r),
    }
}

/// When the episode happened (discharge, else admission).
fn when(v: &EpisodeView) -> Option<NaiveDateTime> {
    v.discharged.or(v.admitted)
}

/// Whether a re-exam appointment is still ahead of `now`.
pub fn appointment_ahead(v: &EpisodeView, now: NaiveDateTime) -> bool {
    v.appointment
        .as_ref()
        .and_then(|a| a.at)
        .is_some_and(|t| t >= now)
}

/// Whether a referral letter is still open at `now`.
pub fn referral_open(v: &EpisodeView, now: NaiveDateTime) -> bool {
    v.referral.is_some() && when(v).is_some_and(|d| now - d <= Duration::days(REFERRAL_OPEN_DAYS))
}

/// Summarize a book: `episodes` are (episode id, view), any order.
pub fn summarize(episodes: &[(i64, &EpisodeView)], now: NaiveDateTime) -> Summary {
    let mut eps: Vec<&(i64, &EpisodeView)> = episodes.iter().collect();
    eps.sort_by_key(|(id, v)| std::cmp::Reverse((when(v), *id)));
    let mut s = Summary {
        episodes: eps.len(),
        last_visit: eps.first().and_then(|(_, v)| when(v)),
        ..Summary::default()
    };
    let within =
        |v: &EpisodeView, days: i64| when(v).is_some_and(|d| now - d <= Duration::days(days));
    for (id, v) in &eps {
        for d in v.main_diagnosis.iter().chain(&v.secondary_diagnoses) {
            let Some(group) = crate::terms::chronic_group(&d.icd10) else {
                continue;
            };
            match s.chronic.iter_mut().find(|c| c.diagnosis.icd10 == d.icd10) {
                Some(c) => {
                    // Newest first: an older visit moves the first sighting back.
                    c.visits += 1;
                    c.first_seen = when(v).or(c.first_seen);
                    if c.diagnosis.name.is_none() {
                        c.diagnosis.name = d.name.clone();
                    }
                }
                None => s.chronic.push(Chronic {
                    diagnosis: Diagnosis {
                        icd10: d.icd10.clone(),
                        name: d
                            .name
                            .clone()
                            .or_else(|| crate::terms::icd10_name(&d.icd10).map(str::to_string)),
                    },
                    group,
                    first_seen: when(v),
                    last_seen: when(v),
                    visits: 1,
                    facility: v.facility.clone(),
                    episode_id: *id,
                }),
            }
        }
        if within(v, PROBLEM_DAYS)
            && let Some(d) = &v.main_diagnosis
            && !s.problems.iter().any(|p| p.diagnosis.icd10 == d.icd10)
            && s.problems.len() < MAX_ITEMS
        {
            s.problems.push(Problem {
                diagnosis: d.clone(),
                last_seen: when(v),
                facility: v.facility.clone(),
                episode_id: *id,
            });
        }
        if within(v, MEDICINE_DAYS) {
            for m in &v.medicines {
                let seen = s
                    .medicines
                    .iter()
                    .any(|x| x.medicine.name == m.name && x.medicine.strength == m.strength);
                if !seen && s.medicines.len() < MAX_ITEMS {
                    s.medicines.push(RecentMedicine {
                        medicine: m.clone(),
                        at: m.ordered.or(when(v)),
                        facility: v.facility.clone(),
                        episode_id: *id,
                    });
                }
            }
        }
        if within(v, PROBLEM_DAYS) {
            for r in v.results.iter().filter(|r| is_out_of_normal(r)) {
                if s.abnormal_results.len() < MAX_ITEMS {
                    s.abnormal_results.push(RecentResult {
                        result: r.clone(),
                        facility: v.facility.clone(),
                        episode_id: *id,
                    });
                }
            }
        }
        if appointment_ahead(v, now)
            && let Some(a) = &v.appointment
        {
            s.appointments.push(Dated {
                item: a.clone(),
                issued: when(v),
                facility: v.facility.clone(),
                episode_id: *id,
            });
        }
        if referral_open(v, now)
            && let Some(r) = &v.referral
        {
            s.referrals.push(Dated {
                item: r.clone(),
                issued: when(v),
                facility: v.facility.clone(),
                episode_id: *id,
            });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episode::ResultKind;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn visit(day: &str, icd: &str, drug: &str, conclusion: &str) -> EpisodeView {
        EpisodeView {
            facility: "01001".into(),
            admitted: Some(at(day)),
            discharged: Some(at(day)),
            main_diagnosis: Some(Diagnosis {
                icd10: icd.into(),
                name: Some(format!("bệnh {icd}")),
            }),
            medicines: vec![Medicine {
                name: Some(drug.into()),
                ..Medicine::default()
            }],
            results: vec![TestResult {
                kind: ResultKind::Lab,
                indicator: Some("Glucose".into()),
                conclusion: Some(conclusion.into()),
                ..TestResult::default()
            }],
            ..EpisodeView::default()
        }
    }

    #[test]
    fn recent_problems_medicines_and_abnormal_results_only() {
        let now = at("2026-06-01 08:00");
        let old = visit("2024-01-10 09:00", "I10", "Amlodipin", "Cao");
        let recent = visit("2026-05-20 09:00", "E11", "Metformin", "Cao");
        let normal = visit("2026-01-05 09:00", "J20", "Amoxicilin", "Bình thường");
        let s = summarize(&[(1, &old), (2, &recent), (3, &normal)], now);
        assert_eq!(s.episodes, 3);
        assert_eq!(s.last_visit, Some(at("2026-05-20 09:00")));
        let problems: Vec<&str> = s
            .problems
            .iter()
            .map(|p| p.diagnosis.icd10.as_str())
            .collect();
        assert_eq!(problems, ["E11", "J20"], "newest first, last year only");
        let meds: Vec<_> = s
            .medicines
            .iter()
            .map(|m| m.medicine.name.clone().unwrap())
            .collect();
        assert_eq!(meds, ["Metformin"], "last 90 days only");
        assert_eq!(s.abnormal_results.len(), 1);
        assert_eq!(s.abnormal_results[0].episode_id, 2);
        // Chronic conditions come from the whole history: the hypertension of 2024 too.
        let chronic: Vec<(&str, &str)> = s
            .chronic
            .iter()
            .map(|c| (c.diagnosis.icd10.as_str(), c.group))
            .collect();
        assert_eq!(
            chronic,
            [("E11", "Đái tháo đường"), ("I10", "Tăng huyết áp")]
        );
        assert_eq!(s.chronic[1].last_seen, Some(at("2024-01-10 09:00")));
    }

    #[test]
    fn reports_are_abnormal_unless_their_conclusion_is_normal() {
        let r = |c: &str| TestResult {
            kind: crate::episode::ResultKind::Functional,
            conclusion: Some(c.into()),
            ..TestResult::default()
        };
        assert!(is_out_of_normal(&r(
            "Giãn thất trái, giảm chức năng tâm thu thất trái (EF 35%), hở van hai lá vừa."
        )));
        assert!(!is_out_of_normal(&r(
            "Hình thái và chức năng tim trong giới hạn bình thường."
        )));
        assert!(!is_out_of_normal(&r(
            "Hiện tại chưa phát hiện bất thường trên siêu âm ổ bụng."
        )));
        assert!(is_out_of_normal(&r("AFB dương tính (1+)")));
        assert!(!is_out_of_normal(&r("")));
    }

    #[test]
    fn abnormal_is_read_from_the_conclusion() {
        let r = |c: &str| TestResult {
            conclusion: Some(c.into()),
            ..TestResult::default()
        };
        assert!(is_abnormal(&r("Cao")));
        assert!(is_abnormal(&r("Thấp")));
        assert!(is_abnormal(&r("Dương tính")));
        assert!(!is_abnormal(&r("Bình thường")));
        assert!(!is_abnormal(&r("Âm tính")));
    }
}
