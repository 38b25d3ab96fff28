//! Chronic care, children's growth, the elderly's yearly check and the health series of
//! the citizen's book, through the service rule (`book::ncd`, `book::growth`, store
//! `chronic.rs`).
//!
//! Who may do what:
//! - **The station of the person's commune** (`Action::KeepRecord` of the record's
//!   commune, basis `residence`) reads and writes: [`Service::chronic_care`] (with the
//!   enrolment proposals and the hospital visits not yet taken as follow-ups),
//!   [`Service::enrol`], [`Service::add_followup`], [`Service::take_dossier_visits`],
//!   [`Service::set_ncd_status`], [`Service::add_measurement`]; and its lists, decided
//!   on the staff member's own commune: [`Service::ncd_register`],
//!   [`Service::ncd_proposals`], [`Service::children_growth`],
//!   [`Service::elderly_checks`].
//! - **The person or their guardian** reads [`Service::chronic_care`],
//!   [`Service::growth`] and [`Service::health_series`] (own reads are not recorded; a
//!   guardian's are).
//! - **A clinician under a live grant** reads the same (recorded with the grant).
//!
//! Every read of another's data and every write is recorded in the person's audit
//! chain in the same transaction (`ncd.read`, `ncd.enrol`, `ncd.followup`, `ncd.status`,
//! `ncd.proposals`, `growth.read`, `growth.measure`, `series.read`).
//!
//! For the reminders: [`due_follow_ups`] (inside a transaction) and
//! [`Service::ncd_due_of`] give a person's follow-ups that are due or missed.
//! For the reports: `store::Chronic::chronic_indicators` (per commune).

use book::access::Basis;
use book::ehr::parse_date;
use book::growth::{Assessment, Measurement, Sex};
use book::ncd::{Detected, Disease, Due, Enrolment, FollowUp, Status};
use chrono::NaiveDate;
use serde::Serialize;
use store::{
    BookTx, ChildRow, PersonRecord, RegisterRow, StoredEnrolment, StoredFollowUp,
    StoredMeasurement, StoredRecord,
};

use crate::standing::{Standing, keep_record};
use crate::{Actor, Result, Service, ServiceError, entry_of, settle};

fn today() -> NaiveDate {
    store::vn_now().date()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// One register entry as its reader sees it.
#[derive(Clone, Debug, Serialize)]
pub struct EntryView {
    pub entry: StoredEnrolment,
    /// Against the next appointment, for a managed entry.
    pub due: Option<Due>,
    /// Newest first.
    pub followups: Vec<StoredFollowUp>,
}

/// A register a person could be enrolled in: from a hospital dossier's diagnosis or
/// the station's examination.
#[derive(Clone, Debug, Serialize)]
pub struct NcdProposal {
    pub disease: Disease,
    pub icd10: String,
    /// `yyyy-mm-dd`.
    pub first_seen: String,
    /// The facility (hospital) or the station's unit (examination).
    pub facility: String,
    pub detected: Detected,
}

/// A hospital visit of an enrolled person not yet taken as a follow-up.
#[derive(Clone, Debug, Serialize)]
pub struct DossierVisit {
    pub disease: Disease,
    pub episode_id: i64,
    pub followup: FollowUp,
}

/// A person's chronic care.
#[derive(Clone, Debug, Serialize)]
pub struct ChronicView {
    pub person: PersonRecord,
    pub commune: Option<String>,
    /// The record is closed (the person died): read only.
    pub closed: bool,
    pub entries: Vec<EntryView>,
    /// The station only.
    pub proposals: Vec<NcdProposal>,
    /// The station only.
    pub dossier_visits: Vec<DossierVisit>,
}

/// What the station gives to enrol a person.
#[derive(Clone, Debug)]
pub struct NewEnrolment {
    pub disease: Disease,
    pub icd10: String,
    pub detected_on: String,
    pub detected: Detected,
    pub confirmed_by: Option<String>,
    pub note: Option<String>,
}

/// A child's growth.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthView {
    pub person: PersonRecord,
    /// `yyyy-mm-dd`, when known to the day.
    pub birth: Option<String>,
    /// `1` male, `2` female.
    pub sex: Option<String>,
    /// Oldest first, each with its assessment (none when the birth or sex is unknown,
    /// or the child was 5 or older).
    pub measurements: Vec<(StoredMeasurement, Option<Assessment>)>,
}

/// A follow-up that is due or missed.
#[derive(Clone, Debug, Serialize)]
pub struct DueFollowUp {
    pub person_id: i64,
    pub disease: Disease,
    /// `yyyy-mm-dd`.
    pub next_due: String,
    pub due: Due,
}

/// A register row of the station's list with its follow-up state.
#[derive(Clone, Debug, Serialize)]
pub struct RegisterItem {
    pub row: RegisterRow,
    pub due: Option<Due>,
}

/// A resident of 60 or more and their yearly check.
#[derive(Clone, Debug, Serialize)]
pub struct ElderlyItem {
    pub person_id: i64,
    pub name: Option<String>,
    pub birth: Option<String>,
    pub last_exam: Option<String>,
    pub done: bool,
}

/// A proposal for one resident of the station's commune.
#[derive(Clone, Debug, Serialize)]
pub struct ResidentProposal {
    pub person_id: i64,
    pub name: Option<String>,
    pub proposal: NcdProposal,
}

/// One value over time (a lab indicator or a vital sign).
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    /// `GLU`, `HBA1C`, … or `bp_sys`, `bp_dia`, `weight`, `bmi`.
    pub code: String,
    pub label: String,
    pub unit: String,
    /// Oldest first: (`yyyy-mm-dd`, value).
    pub points: Vec<(String, f64)>,
    /// The adult reference range (labs), when known.
    pub range: Option<(f64, f64)>,
}

/// The state of an entry on `today` (managed entries with an appointment only).
fn due_of(e: &StoredEnrolment, today: NaiveDate) -> Option<Due> {
    if e.status != Status::Managed {
        return None;
    }
    e.next_due
        .as_deref()
        .and_then(parse_date)
        .map(|n| book::ncd::due(n, today))
}

/// A person's managed follow-ups that are due or missed on `today` (the reminders'
/// question, inside their own transaction).
pub fn due_follow_ups(
    tx: &dyn BookTx,
    pid: i64,
    today: NaiveDate,
) -> store::Result<Vec<DueFollowUp>> {
    Ok(tx
        .chronic()
        .enrolments(pid)?
        .into_iter()
        .filter_map(|e| {
            let due = due_of(&e, today)?;
            (due != Due::Upcoming).then(|| DueFollowUp {
                person_id: pid,
                disease: e.disease,
                next_due: e.next_due.clone().unwrap_or_default(),
                due,
            })
        })
        .collect())
}

/// A step run with the caller's standing and the person's record.
type Step<'a, T> = dyn FnMut(&dyn BookTx, &Standing, Option<&StoredRecord>) -> Result<T> + 'a;

/// The caller's standing to `pid` (`crate::standing`): a write by other staff is
/// refused naming who keeps the registers.
fn standing(
    tx: &dyn BookTx,
    who: &Actor,
    pid: i64,
    stored: Option<&StoredRecord>,
    write: bool,
) -> Result<Standing> {
    crate::standing::standing(
        tx,
        who,
        pid,
        stored.and_then(|s| s.commune.as_deref()),
        write,
        "Chỉ trạm y tế nơi người bệnh cư trú ghi sổ quản lý bệnh mạn tính",
    )
}

/// Registers proposed from the person's hospital dossiers (main and secondary
/// diagnoses) and the station's examinations (BP ≥ 140/90), none already enrolled.
fn proposals(
    tx: &dyn BookTx,
    pid: i64,
    stored: Option<&StoredRecord>,
    enrolled: &[Disease],
) -> store::Result<Vec<NcdProposal>> {
    let mut out: Vec<NcdProposal> = Vec::new();
    let mut eps = tx.episodes_of(pid)?;
    eps.reverse(); // oldest first: the first visit names the proposal
    for e in &eps {
        let day = e.view.admitted.map(|d| ymd(d.date())).unwrap_or_default();
        for d in e
            .view
            .main_diagnosis
            .iter()
            .chain(&e.view.secondary_diagnoses)
        {
            let Some(disease) = Disease::of_icd10(&d.icd10) else {
                continue;
            };
            if enrolled.contains(&disease) || out.iter().any(|p| p.disease == disease) {
                continue;
            }
            out.push(NcdProposal {
                disease,
                icd10: d.icd10.trim().to_ascii_uppercase(),
                first_seen: day.clone(),
                facility: e.facility.clone(),
                detected: Detected::Hospital,
            });
        }
    }
    if let Some(stored) = stored {
        let ht = Disease::Hypertension;
        if !enrolled.contains(&ht) && !out.iter().any(|p| p.disease == ht) {
            let high = stored.record.exams.iter().find(|x| {
                let n = |k: &str| x.items.get(k).and_then(|v| v.parse::<f64>().ok());
                matches!((n("bp_sys"), n("bp_dia")), (Some(s), Some(d)) if s >= 140.0 || d >= 90.0)
            });
            if let Some(x) = high {
                out.push(NcdProposal {
                    disease: ht,
                    icd10: "I10".into(),
                    first_seen: x.date.clone(),
                    facility: x.unit.clone().unwrap_or_default(),
                    detected: Detected::Screening,
                });
            }
        }
    }
    Ok(out)
}

/// Hospital visits of the person's registers not yet taken as follow-ups.
fn dossier_visits(
    tx: &dyn BookTx,
    pid: i64,
    entries: &[StoredEnrolment],
    taken: &[StoredFollowUp],
) -> store::Result<Vec<DossierVisit>> {
    let mut out = Vec::new();
    if entries.is_empty() {
        return Ok(out);
    }
    for e in tx.episodes_of(pid)? {
        for entry in entries {
            if taken
                .iter()
                .any(|f| f.disease == entry.disease && f.episode_id == Some(e.id))
            {
                continue;
            }
            let Some(f) = book::ncd::from_dossier(entry.disease, &e.view) else {
                continue;
            };
            if f.date.as_str() < entry.enrolment.detected_on.as_str() {
                continue;
            }
            out.push(DossierVisit {
                disease: entry.disease,
                episode_id: e.id,
                followup: f,
            });
        }
    }
    out.sort_by(|a, b| a.followup.date.cmp(&b.followup.date));
    Ok(out)
}

/// Record a visit on its entry's list columns (the newest visit wins).
fn apply_visit(
    tx: &dyn BookTx,
    entry: &mut StoredEnrolment,
    f: &FollowUp,
    controlled: Option<bool>,
) -> store::Result<()> {
    if entry.last_visit.as_deref() <= Some(f.date.as_str()) {
        entry.last_visit = Some(f.date.clone());
        entry.next_due = f.next().map(ymd);
        entry.controlled = controlled;
        tx.chronic().update_enrolment(entry)?;
    }
    Ok(())
}

fn invalid(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        code,
        message: message.into(),
    }
}

fn staff_name(who: &Actor) -> String {
    match who {
        Actor::Staff { account, .. } => account.username.clone(),
        _ => String::new(),
    }
}

impl Service {
    /// Run `f` in one transaction with the standing of `who` to `pid` (`write`: the
    /// station only); the audit entry is given to `f` to append.
    fn with_standing<T>(
        &self,
        who: &Actor,
        pid: i64,
        write: bool,
        f: &mut Step<'_, T>,
    ) -> Result<T> {
        let mut out: Option<Result<T>> = None;
        let tx_write = write || !matches!(who, Actor::Person { id } if *id == pid);
        self.store().transaction(tx_write, &mut |tx| {
            let step = (|| -> Result<T> {
                let stored = tx.health_record(pid)?;
                if stored.is_none() && tx.person(pid)?.is_none() {
                    return Err(ServiceError::NotFound);
                }
                let s = standing(tx, who, pid, stored.as_ref(), write)?;
                if write {
                    if !matches!(s, Standing::Station { .. }) {
                        return Err(ServiceError::NotFound);
                    }
                    if stored.as_ref().is_some_and(StoredRecord::is_closed) {
                        return Err(ServiceError::Conflict(
                            "Hồ sơ đã đóng (người đã mất): chỉ xem, không ghi thêm".into(),
                        ));
                    }
                }
                f(tx, &s, stored.as_ref())
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// A person's registers and follow-ups (recorded `ncd.read` but for own reads).
    pub fn chronic_care(&self, who: &Actor, pid: i64) -> Result<ChronicView> {
        let today = today();
        self.with_standing(who, pid, false, &mut |tx, s, stored| {
            if let Some(mut e) = s.entry() {
                e.action = "ncd.read".into();
                tx.append_audit(&e)?;
            }
            let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
            let entries = tx.chronic().enrolments(pid)?;
            let followups = tx.chronic().followups(pid)?;
            let station = matches!(s, Standing::Station { .. });
            let enrolled: Vec<Disease> = entries.iter().map(|e| e.disease).collect();
            let (proposals, visits) = if station {
                (
                    proposals(tx, pid, stored, &enrolled)?,
                    dossier_visits(tx, pid, &entries, &followups)?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            Ok(ChronicView {
                person,
                commune: stored.and_then(|r| r.commune.clone()),
                closed: stored.is_some_and(StoredRecord::is_closed),
                entries: entries
                    .into_iter()
                    .map(|e| EntryView {
                        due: due_of(&e, today),
                        followups: followups
                            .iter()
                            .filter(|f| f.disease == e.disease)
                            .cloned()
                            .collect(),
                        entry: e,
                    })
                    .collect(),
                proposals,
                dossier_visits: visits,
            })
        })
    }

    /// Enrol `pid` in a register (the station of their commune), then take the hospital
    /// visits since detection as follow-ups. Recorded `ncd.enrol`.
    pub fn enrol(&self, who: &Actor, pid: i64, new: &NewEnrolment) -> Result<()> {
        let today = today();
        let detected_on = parse_date(&new.detected_on)
            .filter(|d| *d <= today)
            .ok_or_else(|| {
                invalid(
                    "invalid_date",
                    "Ngày phát hiện: yyyy-mm-dd, không sau hôm nay",
                )
            })?;
        let icd10 = new.icd10.trim().to_ascii_uppercase();
        if Disease::of_icd10(&icd10) != Some(new.disease) {
            return Err(invalid(
                "invalid_icd10",
                format!("Mã ICD-10 {icd10} không thuộc sổ {}", new.disease.label()),
            ));
        }
        let by = staff_name(who);
        self.with_standing(who, pid, true, &mut |tx, s, stored| {
            let Standing::Station { entry } = s else {
                return Err(ServiceError::NotFound);
            };
            let commune = stored
                .and_then(|r| r.commune.clone())
                .ok_or_else(|| invalid("no_station", "Hồ sơ chưa có trạm y tế quản lý"))?;
            let mut e = StoredEnrolment {
                id: 0,
                person_id: pid,
                disease: new.disease,
                commune,
                status: Status::Managed,
                status_on: ymd(today),
                enrolled_on: ymd(today),
                last_visit: None,
                next_due: Some(ymd(today)),
                controlled: None,
                enrolment: Enrolment {
                    disease: new.disease,
                    icd10: icd10.clone(),
                    detected_on: ymd(detected_on),
                    detected: new.detected,
                    confirmed_by: new.confirmed_by.clone().filter(|c| !c.trim().is_empty()),
                    note: new.note.clone().filter(|c| !c.trim().is_empty()),
                },
                by_user: by.clone(),
                created_at: 0,
                updated_at: 0,
            };
            // The audit record first: on PostgreSQL it locks the person's chain, so two
            // enrolments of one person are decided one after the other.
            let mut a = entry.clone();
            a.action = "ncd.enrol".into();
            a.target = Some(new.disease.code().into());
            tx.append_audit(&a)?;
            e.id = tx.chronic().enrol(&e)?;
            for v in dossier_visits(tx, pid, std::slice::from_ref(&e), &[])? {
                let c = book::ncd::controlled(v.disease, &v.followup);
                tx.chronic().add_followup(
                    pid,
                    v.disease,
                    Some(v.episode_id),
                    c,
                    &v.followup,
                    &by,
                )?;
                apply_visit(tx, &mut e, &v.followup, c)?;
            }
            // Hospital visits long past do not make a new entry missed: the station's
            // first follow-up is due from the day of enrolment.
            if e.next_due.as_deref() < Some(e.enrolled_on.as_str()) {
                e.next_due = Some(e.enrolled_on.clone());
                tx.chronic().update_enrolment(&e)?;
            }
            Ok(())
        })
    }

    /// Add a follow-up the station entered (checked, control computed); recorded
    /// `ncd.followup`. Returns the visit's id.
    pub fn add_followup(
        &self,
        who: &Actor,
        pid: i64,
        disease: Disease,
        f: &FollowUp,
    ) -> Result<i64> {
        let today = today();
        let by = staff_name(who);
        self.with_standing(who, pid, true, &mut |tx, s, _| {
            let Standing::Station { entry } = s else {
                return Err(ServiceError::NotFound);
            };
            let mut e = tx
                .chronic()
                .enrolment(pid, disease)?
                .ok_or(ServiceError::NotFound)?;
            let from = parse_date(&e.enrolment.detected_on);
            f.check(from, today).map_err(ServiceError::Problems)?;
            let mut f = f.clone();
            f.source = "entered".into();
            f.facility = None;
            let c = book::ncd::controlled(disease, &f);
            let id = tx.chronic().add_followup(pid, disease, None, c, &f, &by)?;
            apply_visit(tx, &mut e, &f, c)?;
            let mut a = entry.clone();
            a.action = "ncd.followup".into();
            a.target = Some(format!("{}:{}", disease.code(), f.date));
            tx.append_audit(&a)?;
            Ok(id)
        })
    }

    /// Take the person's hospital visits not yet taken as follow-ups; recorded
    /// `ncd.followup` (target `dossier`). Returns how many were taken.
    pub fn take_dossier_visits(&self, who: &Actor, pid: i64) -> Result<usize> {
        let by = staff_name(who);
        self.with_standing(who, pid, true, &mut |tx, s, _| {
            let Standing::Station { entry } = s else {
                return Err(ServiceError::NotFound);
            };
            let mut entries = tx.chronic().enrolments(pid)?;
            let taken = tx.chronic().followups(pid)?;
            let visits = dossier_visits(tx, pid, &entries, &taken)?;
            for v in &visits {
                let c = book::ncd::controlled(v.disease, &v.followup);
                tx.chronic().add_followup(
                    pid,
                    v.disease,
                    Some(v.episode_id),
                    c,
                    &v.followup,
                    &by,
                )?;
                if let Some(e) = entries.iter_mut().find(|e| e.disease == v.disease) {
                    apply_visit(tx, e, &v.followup, c)?;
                }
            }
            if !visits.is_empty() {
                let mut a = entry.clone();
                a.action = "ncd.followup".into();
                a.target = Some(format!("dossier:{}", visits.len()));
                tx.append_audit(&a)?;
            }
            Ok(visits.len())
        })
    }

    /// Set a register entry's status (managed again, moved, lost, died, referred);
    /// recorded `ncd.status`.
    pub fn set_ncd_status(
        &self,
        who: &Actor,
        pid: i64,
        disease: Disease,
        status: Status,
        on: &str,
    ) -> Result<()> {
        let today = today();
        let on = parse_date(on)
            .filter(|d| *d <= today)
            .ok_or_else(|| invalid("invalid_date", "Ngày: yyyy-mm-dd, không sau hôm nay"))?;
        self.with_standing(who, pid, true, &mut |tx, s, _| {
            let Standing::Station { entry } = s else {
                return Err(ServiceError::NotFound);
            };
            let mut e = tx
                .chronic()
                .enrolment(pid, disease)?
                .ok_or(ServiceError::NotFound)?;
            if e.status == status {
                return Ok(());
            }
            e.status = status;
            e.status_on = ymd(on);
            tx.chronic().update_enrolment(&e)?;
            let mut a = entry.clone();
            a.action = "ncd.status".into();
            a.target = Some(format!("{}:{}", disease.code(), status.code()));
            tx.append_audit(&a)?;
            Ok(())
        })
    }

    /// A child's measurements with their WHO assessments (recorded `growth.read` but
    /// for own reads).
    pub fn growth(&self, who: &Actor, pid: i64) -> Result<GrowthView> {
        self.with_standing(who, pid, false, &mut |tx, s, stored| {
            if let Some(mut e) = s.entry() {
                e.action = "growth.read".into();
                tx.append_audit(&e)?;
            }
            let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
            let (birth, sex) = birth_and_sex(&person, stored);
            let born = birth.as_deref().and_then(parse_date);
            let sx = sex.as_deref().and_then(Sex::from_code);
            let measurements = tx
                .chronic()
                .measurements(pid)?
                .into_iter()
                .map(|m| {
                    let a = born
                        .zip(sx)
                        .and_then(|(b, s)| book::growth::assess(s, b, &m.measurement).ok());
                    (m, a)
                })
                .collect();
            Ok(GrowthView {
                person,
                birth,
                sex,
                measurements,
            })
        })
    }

    /// The station records a child's measurement (under five, birth and sex known);
    /// returns its assessment. Recorded `growth.measure`.
    pub fn add_measurement(&self, who: &Actor, pid: i64, m: &Measurement) -> Result<Assessment> {
        let today = today();
        let by = staff_name(who);
        let date = parse_date(&m.date)
            .filter(|d| *d <= today)
            .ok_or_else(|| invalid("invalid_date", "Ngày đo: yyyy-mm-dd, không sau hôm nay"))?;
        if m.weight_kg.is_none() && m.length_cm.is_none() {
            return Err(invalid("empty", "Nhập cân nặng hoặc chiều dài/chiều cao"));
        }
        if m.weight_kg.is_some_and(|w| !(0.5..=60.0).contains(&w)) {
            return Err(invalid("out_of_range", "Cân nặng: 0,5–60 kg"));
        }
        if m.length_cm.is_some_and(|l| !(35.0..=140.0).contains(&l)) {
            return Err(invalid("out_of_range", "Chiều dài/chiều cao: 35–140 cm"));
        }
        let mut m = m.clone();
        m.date = ymd(date);
        self.with_standing(who, pid, true, &mut |tx, s, stored| {
            let Standing::Station { entry } = s else {
                return Err(ServiceError::NotFound);
            };
            let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
            let (birth, sex) = birth_and_sex(&person, stored);
            let (Some(born), Some(sx)) = (
                birth.as_deref().and_then(parse_date),
                sex.as_deref().and_then(Sex::from_code),
            ) else {
                return Err(invalid(
                    "no_birth",
                    "Cần ngày sinh đủ ngày, tháng, năm và giới tính của trẻ",
                ));
            };
            let a = book::growth::assess(sx, born, &m)
                .map_err(|e| invalid("not_assessable", e.to_string()))?;
            let levels = [
                a.underweight.map(|g| g.level()),
                a.stunting.map(|g| g.level()),
                a.wasting.map(|g| g.level()),
                a.overweight.map(|w| w.level()),
            ];
            let unit = stored.and_then(|r| r.commune.clone());
            tx.chronic()
                .add_measurement(pid, unit.as_deref(), &m, levels, &by)?;
            let mut e = entry.clone();
            e.action = "growth.measure".into();
            e.target = Some(m.date.clone());
            tx.append_audit(&e)?;
            Ok(a.clone())
        })
    }

    /// Lab values and vital signs over time: numeric XML4 results by indicator, the
    /// record's examinations (BP, weight, BMI) and the follow-ups (BP, glucose, HbA1c,
    /// weight). Recorded `series.read` but for own reads.
    pub fn health_series(&self, who: &Actor, pid: i64) -> Result<Vec<Series>> {
        self.with_standing(who, pid, false, &mut |tx, s, stored| {
            if let Some(mut e) = s.entry() {
                e.action = "series.read".into();
                tx.append_audit(&e)?;
            }
            let mut out: Vec<Series> = Vec::new();
            let mut push = |code: &str, label: &str, unit: &str, day: String, v: f64| {
                let i = match out.iter().position(|x| x.code == code) {
                    Some(i) => i,
                    None => {
                        let range = book::terms::lab_range(code).and_then(|r| {
                            Some((
                                r.low.to_string().parse().ok()?,
                                r.high.to_string().parse().ok()?,
                            ))
                        });
                        out.push(Series {
                            code: code.into(),
                            label: label.into(),
                            unit: unit.into(),
                            points: Vec::new(),
                            range,
                        });
                        out.len() - 1
                    }
                };
                out[i].points.push((day, v));
            };
            for e in tx.episodes_of(pid)? {
                for r in &e.view.results {
                    let (Some(code), Some(v)) = (
                        r.indicator_code.as_deref(),
                        r.value
                            .as_deref()
                            .and_then(|v| v.trim().replace(',', ".").parse::<f64>().ok()),
                    ) else {
                        continue;
                    };
                    let day =
                        r.at.or(e.view.admitted)
                            .map(|d| ymd(d.date()))
                            .unwrap_or_default();
                    let code = code.trim().to_ascii_uppercase();
                    let label = r.indicator.clone().unwrap_or_else(|| code.clone());
                    push(&code, &label, r.unit.as_deref().unwrap_or(""), day, v);
                }
            }
            if let Some(rec) = stored {
                for x in &rec.record.exams {
                    for (k, label, unit) in [
                        ("bp_sys", "Huyết áp tâm thu", "mmHg"),
                        ("bp_dia", "Huyết áp tâm trương", "mmHg"),
                        ("weight", "Cân nặng", "kg"),
                        ("bmi", "BMI", "kg/m²"),
                    ] {
                        if let Some(v) = x.items.get(k).and_then(|v| v.parse::<f64>().ok()) {
                            push(k, label, unit, x.date.clone(), v);
                        }
                    }
                }
            }
            for f in tx.chronic().followups(pid)? {
                let f = f.followup;
                let vals = [
                    (
                        "bp_sys",
                        "Huyết áp tâm thu",
                        "mmHg",
                        f.bp_sys.map(f64::from),
                    ),
                    (
                        "bp_dia",
                        "Huyết áp tâm trương",
                        "mmHg",
                        f.bp_dia.map(f64::from),
                    ),
                    ("weight", "Cân nặng", "kg", f.weight_kg),
                ];
                for (k, label, unit, v) in vals {
                    if let Some(v) = v {
                        push(k, label, unit, f.date.clone(), v);
                    }
                }
                // Entered values only: a dossier visit's labs are already in the results.
                if f.source == "entered" {
                    if let Some(v) = f.glucose {
                        push("GLU", "Glucose", "mmol/L", f.date.clone(), v);
                    }
                    if let Some(v) = f.hba1c {
                        push("HBA1C", "HbA1c", "%", f.date.clone(), v);
                    }
                }
            }
            for s in &mut out {
                s.points.sort_by(|a, b| a.0.cmp(&b.0));
                s.points.dedup();
            }
            out.retain(|s| !s.points.is_empty());
            // Vital signs first, then the chronic-care labs, then the most measured.
            let rank = |code: &str| match code {
                "bp_sys" => 0,
                "bp_dia" => 1,
                "weight" => 2,
                "bmi" => 3,
                "HBA1C" => 4,
                "GLU" => 5,
                _ => 6,
            };
            out.sort_by(|a, b| {
                rank(&a.code)
                    .cmp(&rank(&b.code))
                    .then(b.points.len().cmp(&a.points.len()))
                    .then(a.code.cmp(&b.code))
            });
            Ok(out)
        })
    }

    /// A person's follow-ups due or missed on `today` (for the reminders' scan: the
    /// system making the person's own notifications; not recorded).
    pub fn ncd_due_of(&self, pid: i64, today: NaiveDate) -> Result<Vec<DueFollowUp>> {
        let mut out = Vec::new();
        self.store().transaction(false, &mut |tx| {
            out = due_follow_ups(tx, pid, today)?;
            Ok(())
        })?;
        Ok(out)
    }

    /// The station's own commune, decided (`KeepRecord`).
    fn station_commune(&self, who: &Actor) -> Result<String> {
        let Actor::Staff { scope, .. } = who else {
            return Err(ServiceError::NotFound);
        };
        let commune = scope.commune.clone().ok_or(ServiceError::NotFound)?;
        keep_record(who, Some(&commune)).map_err(|_| {
            ServiceError::Forbidden(book::access::Denied {
                code: "forbidden",
                message: "Chỉ trạm y tế xã/phường xem sổ quản lý của mình",
            })
        })?;
        Ok(commune)
    }

    /// Every register entry of the station's commune with its follow-up state.
    pub fn ncd_register(&self, who: &Actor) -> Result<Vec<RegisterItem>> {
        let commune = self.station_commune(who)?;
        let today = today();
        Ok(self
            .store()
            .ncd_register(&commune)?
            .into_iter()
            .map(|row| {
                let due = (row.status == Status::Managed)
                    .then(|| row.next_due.as_deref().and_then(parse_date))
                    .flatten()
                    .map(|n| book::ncd::due(n, today));
                RegisterItem { row, due }
            })
            .collect())
    }

    /// The children under five of the station's commune with their newest measurement.
    pub fn children_growth(&self, who: &Actor) -> Result<Vec<ChildRow>> {
        let commune = self.station_commune(who)?;
        let from = today()
            .checked_sub_months(chrono::Months::new(60))
            .map(ymd)
            .unwrap_or_default();
        Ok(self.store().children_growth(&commune, &from)?)
    }

    /// The residents of 60 or more of the station's commune and whether their yearly
    /// check is done (an examination this calendar year).
    pub fn elderly_checks(&self, who: &Actor) -> Result<Vec<ElderlyItem>> {
        let commune = self.station_commune(who)?;
        let today = today();
        Ok(self
            .store()
            .residents(&commune)?
            .into_iter()
            .filter(|r| r.status == "open")
            .filter(|r| {
                r.birth
                    .as_deref()
                    .is_some_and(|b| book::ehr::is_elderly(b, today))
            })
            .map(|r| ElderlyItem {
                person_id: r.person_id,
                done: book::ncd::elderly_check(r.last_exam.as_deref(), today),
                name: r.name,
                birth: r.birth,
                last_exam: r.last_exam,
            })
            .collect())
    }

    /// Enrolment proposals for the residents of the station's commune, from their
    /// hospital dossiers and examinations. Each person whose data yields a proposal is
    /// recorded `ncd.proposals` (the station saw a diagnosis of theirs).
    pub fn ncd_proposals(&self, who: &Actor) -> Result<Vec<ResidentProposal>> {
        let commune = self.station_commune(who)?;
        let residents = self.store().residents(&commune)?;
        let mut out = Vec::new();
        self.store().transaction(true, &mut |tx| {
            out.clear();
            for r in residents.iter().filter(|r| r.status == "open") {
                let stored = tx.health_record(r.person_id)?;
                if stored.as_ref().and_then(|s| s.commune.as_deref()) != Some(commune.as_str()) {
                    continue;
                }
                let enrolled: Vec<Disease> = tx
                    .chronic()
                    .enrolments(r.person_id)?
                    .iter()
                    .map(|e| e.disease)
                    .collect();
                let found = proposals(tx, r.person_id, stored.as_ref(), &enrolled)?;
                if found.is_empty() {
                    continue;
                }
                let mut e = entry_of(who, r.person_id, None);
                e.basis = Basis::Residence;
                e.action = "ncd.proposals".into();
                tx.append_audit(&e)?;
                out.extend(found.into_iter().map(|p| ResidentProposal {
                    person_id: r.person_id,
                    name: r.name.clone(),
                    proposal: p,
                }));
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// Birth (`yyyy-mm-dd`) and sex of a person: the record's part A first, else the
/// person's identity as the dossiers or the registry gave it.
fn birth_and_sex(
    person: &PersonRecord,
    stored: Option<&StoredRecord>,
) -> (Option<String>, Option<String>) {
    let rec = |k: &str| stored.and_then(|r| r.record.get(k)).map(str::to_string);
    let birth = rec("a.birth_date")
        .or_else(|| person.birth.as_deref().and_then(store::birth_day))
        .filter(|b| b.len() == 10);
    let sex = rec("a.sex").or_else(|| person.sex.clone());
    (birth, sex)
}
