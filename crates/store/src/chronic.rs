//! Chronic care and children's growth (issue 18), kept by the commune station: the
//! registers of hypertension, diabetes, COPD and asthma (`book::ncd`), their follow-up
//! visits, and children's measurements (`book::growth`).
//!
//! Tables (SQLite 0017 / PostgreSQL 0011, person-owned, keyed by `person_id` first):
//! - `ncd_enrolments` — one row per person and register: the managing commune, status
//!   and its date, the newest visit, the next appointment and whether the newest visit
//!   showed control (clear, for the lists and the indicators); the register's disease
//!   and the enrolment itself (`book::ncd::Enrolment`) sealed (`disease`, `body`, bound
//!   to the row id) — which register a person is in is a diagnosis. Rows are keyed by
//!   `(person_id, id)`; a person is in a register once by [`ChronicTx::enrol`] (it reads
//!   the person's rows in the transaction; the service appends the person's audit
//!   record first, which locks their chain on PostgreSQL).
//! - `ncd_followups` — one row per visit (disease and `book::ncd::FollowUp` sealed,
//!   bound to the row id); `source` entered | dossier, `episode_id` the hospital episode
//!   a visit was taken from (once per register and episode: checked by
//!   [`ChronicTx::add_followup`]).
//! - `growth_measurements` — raw measurements (`book::growth::Measurement` sealed), with
//!   the four classification levels derived when written, for counting.
//!
//! Inside a service transaction, [`ChronicTx`] (from `BookTx::chronic`) reads and
//! writes one person's rows. Across persons, the [`Chronic`] trait (a supertrait of
//! `Store`) gives the station lists (`ncd_register`, `children_growth`) and the report
//! figures per commune (`chronic_indicators`: managed / controlled / missed per disease,
//! and growth status shares of children under five — for the reports of H2). The
//! reminders ask the service (`service::chronic`) which follow-ups are due.

use std::collections::BTreeMap;

use book::growth::Measurement;
use book::ncd::{Disease, Enrolment, FollowUp, Status};
use chrono::NaiveDate;
use serde::Serialize;

use crate::core::cols;
use crate::db::{Arg, Db, Q, args};
use crate::engine::{Backend, Engine};
use crate::tx::Keys;
use crate::{Result, StoreError, now_ms};

pub(crate) const ENROLMENT_BODY: &str = "ncd_enrolments.body";
pub(crate) const FOLLOWUP_BODY: &str = "ncd_followups.body";
pub(crate) const ENROLMENT_DISEASE: &str = "ncd_enrolments.disease";
pub(crate) const FOLLOWUP_DISEASE: &str = "ncd_followups.disease";
pub(crate) const GROWTH_BODY: &str = "growth_measurements.body";

/// A person's place in one register.
#[derive(Clone, Debug, Serialize)]
pub struct StoredEnrolment {
    /// The row's id (0 before it is written).
    pub id: i64,
    pub person_id: i64,
    pub disease: Disease,
    pub commune: String,
    pub status: Status,
    /// `yyyy-mm-dd`.
    pub status_on: String,
    pub enrolled_on: String,
    pub last_visit: Option<String>,
    pub next_due: Option<String>,
    pub controlled: Option<bool>,
    pub enrolment: Enrolment,
    pub by_user: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One stored follow-up visit.
#[derive(Clone, Debug, Serialize)]
pub struct StoredFollowUp {
    pub id: i64,
    pub person_id: i64,
    pub disease: Disease,
    pub episode_id: Option<i64>,
    pub controlled: Option<bool>,
    pub followup: FollowUp,
    pub by_user: String,
    pub at: i64,
}

/// One stored measurement.
#[derive(Clone, Debug, Serialize)]
pub struct StoredMeasurement {
    pub id: i64,
    pub person_id: i64,
    pub unit: Option<String>,
    pub measurement: Measurement,
    pub by_user: String,
    pub at: i64,
}

/// A row of a station's register list (all registers of the commune).
#[derive(Clone, Debug, Serialize)]
pub struct RegisterRow {
    pub person_id: i64,
    pub id: i64,
    pub disease: Disease,
    pub status: Status,
    pub status_on: String,
    pub enrolled_on: String,
    pub last_visit: Option<String>,
    pub next_due: Option<String>,
    pub controlled: Option<bool>,
    pub name: Option<String>,
    /// As stored on the person (`yyyyMMdd0000`, unknown parts 00).
    pub birth: Option<String>,
    pub sex: Option<String>,
}

/// A child under five of a commune with their newest measurement, if any.
#[derive(Clone, Debug, Serialize)]
pub struct ChildRow {
    pub person_id: i64,
    pub name: Option<String>,
    /// `yyyy-mm-dd` (or `yyyy`).
    pub birth: Option<String>,
    pub sex: Option<String>,
    pub measured_on: Option<String>,
    /// Levels of the newest measurement (0 normal, 1 moderate / overweight, 2 severe /
    /// obese; `None` not assessed).
    pub underweight: Option<i64>,
    pub stunting: Option<i64>,
    pub wasting: Option<i64>,
    pub overweight: Option<i64>,
}

/// The figures of one register in one commune.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NcdFigures {
    /// Enrolled, whatever the status.
    pub enrolled: i64,
    /// Status `managed`.
    pub managed: i64,
    /// Managed whose newest visit showed control.
    pub controlled: i64,
    /// Managed more than `book::ncd::DUE_WINDOW_DAYS` past their appointment.
    pub missed: i64,
    pub moved: i64,
    pub lost: i64,
    pub died: i64,
    pub referred: i64,
}

/// Growth figures of one commune: children under five on the day, by their newest
/// measurement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GrowthFigures {
    /// Children under five with a record in the commune.
    pub children: i64,
    /// … of whom measured at least once.
    pub measured: i64,
    /// Moderate or severe (level ≥ 1) on the newest measurement.
    pub underweight: i64,
    pub stunting: i64,
    pub wasting: i64,
    pub overweight: i64,
}

/// Chronic-care figures of one commune.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommuneChronic {
    pub commune: String,
    /// Per register (`Disease::code`).
    pub ncd: BTreeMap<String, NcdFigures>,
    pub growth: GrowthFigures,
}

/// The station's lists and the report figures, across persons.
pub trait Chronic {
    /// Every register entry of a commune's station (all diseases and statuses), with
    /// the person's name, birth and sex.
    fn ncd_register(&self, commune: &str) -> Result<Vec<RegisterRow>>;
    /// The children of a commune born on or after `born_from` (`yyyy-mm-dd`), with
    /// their newest measurement.
    fn children_growth(&self, commune: &str, born_from: &str) -> Result<Vec<ChildRow>>;
    /// Per commune: the NCD figures per register and the growth status shares of
    /// children under five, on `today`.
    fn chronic_indicators(&self, today: NaiveDate) -> Result<Vec<CommuneChronic>>;
}

/// One person's chronic-care rows inside a service transaction (`BookTx::chronic`).
pub struct ChronicTx<'a> {
    pub(crate) db: &'a dyn Db,
    pub(crate) keys: &'a dyn Keys,
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn flag(v: Option<bool>) -> Arg<'static> {
    match v {
        Some(b) => Arg::Int(b as i64),
        None => Arg::Null,
    }
}

fn opt(v: &Option<String>) -> Arg<'_> {
    match v {
        Some(s) => Arg::Text(s),
        None => Arg::Null,
    }
}

fn disease_of(code: &str) -> Result<Disease> {
    Disease::from_code(code).ok_or_else(|| StoreError::Db(format!("unknown register {code:?}")))
}

fn status_of(code: &str) -> Result<Status> {
    Status::from_code(code).ok_or_else(|| StoreError::Db(format!("unknown status {code:?}")))
}

fn enrolment_row(db: &dyn Db, person: i64, r: &crate::db::Row<'_>) -> Result<StoredEnrolment> {
    let id: i64 = r.get(0)?;
    let c = db.crypt();
    let disease = disease_of(&c.open_str(ENROLMENT_DISEASE, id, &r.get::<String>(1)?)?)?;
    let text = c.open_str(ENROLMENT_BODY, id, &r.get::<String>(9)?)?;
    Ok(StoredEnrolment {
        id,
        person_id: person,
        disease,
        commune: r.get(2)?,
        status: status_of(&r.get::<String>(3)?)?,
        status_on: r.get(4)?,
        enrolled_on: r.get(5)?,
        last_visit: r.get(6)?,
        next_due: r.get(7)?,
        controlled: r.get::<Option<i64>>(8)?.map(|v| v != 0),
        enrolment: serde_json::from_str(&text)
            .map_err(|e| StoreError::Db(format!("enrolment {id}: {e}")))?,
        by_user: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

impl ChronicTx<'_> {
    /// The person's register entries, oldest first.
    pub fn enrolments(&self, person: i64) -> Result<Vec<StoredEnrolment>> {
        let db = self.db;
        db.all(Q::NcdEnrolmentsOf, args![person], |r| {
            enrolment_row(db, person, r)
        })
    }

    /// The person's entry in one register.
    pub fn enrolment(&self, person: i64, disease: Disease) -> Result<Option<StoredEnrolment>> {
        Ok(self
            .enrolments(person)?
            .into_iter()
            .find(|e| e.disease == disease))
    }

    /// Enrol a person (refused as a conflict when already in the register); returns
    /// the row's id.
    pub fn enrol(&self, e: &StoredEnrolment) -> Result<i64> {
        if self.enrolment(e.person_id, e.disease)?.is_some() {
            return Err(StoreError::Conflict(format!(
                "đã có trong sổ quản lý {}",
                e.disease.label()
            )));
        }
        let id = self.keys.next_id();
        let c = self.db.crypt();
        let disease = c.seal_str(ENROLMENT_DISEASE, id, e.disease.code())?;
        let body = c.seal_str(ENROLMENT_BODY, id, &json(&e.enrolment)?)?;
        let now = now_ms();
        self.db.insert_rows(
            "ncd_enrolments",
            &cols(&[
                "person_id",
                "id",
                "disease",
                "commune",
                "status",
                "status_on",
                "enrolled_on",
                "last_visit",
                "next_due",
                "controlled",
                "body",
                "by_user",
                "created_at",
                "updated_at",
            ]),
            &[vec![
                Arg::Int(e.person_id),
                Arg::Int(id),
                Arg::Text(&disease),
                Arg::Text(&e.commune),
                Arg::Text(e.status.code()),
                Arg::Text(&e.status_on),
                Arg::Text(&e.enrolled_on),
                opt(&e.last_visit),
                opt(&e.next_due),
                flag(e.controlled),
                Arg::Text(&body),
                Arg::Text(&e.by_user),
                Arg::Int(now),
                Arg::Int(now),
            ]],
        )?;
        Ok(id)
    }

    /// Write back an entry's status, list columns and enrolment (by its id).
    pub fn update_enrolment(&self, e: &StoredEnrolment) -> Result<()> {
        let body = self
            .db
            .crypt()
            .seal_str(ENROLMENT_BODY, e.id, &json(&e.enrolment)?)?;
        let n = self.db.exec(
            Q::UpdateNcdEnrolment,
            &[
                Arg::Int(e.person_id),
                Arg::Int(e.id),
                Arg::Text(&e.commune),
                Arg::Text(e.status.code()),
                Arg::Text(&e.status_on),
                opt(&e.last_visit),
                opt(&e.next_due),
                flag(e.controlled),
                Arg::Text(&body),
                Arg::Int(now_ms()),
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("register entry".into()));
        }
        Ok(())
    }

    /// The person's follow-ups (all registers), newest first.
    pub fn followups(&self, person: i64) -> Result<Vec<StoredFollowUp>> {
        let db = self.db;
        db.all(Q::NcdFollowUpsOf, args![person], |r| {
            let id: i64 = r.get(0)?;
            let c = db.crypt();
            let disease = c.open_str(FOLLOWUP_DISEASE, id, &r.get::<String>(1)?)?;
            let text = c.open_str(FOLLOWUP_BODY, id, &r.get::<String>(6)?)?;
            Ok(StoredFollowUp {
                id,
                person_id: person,
                disease: disease_of(&disease)?,
                episode_id: r.get(4)?,
                controlled: r.get::<Option<i64>>(5)?.map(|v| v != 0),
                followup: serde_json::from_str(&text)
                    .map_err(|e| StoreError::Db(format!("follow-up {id}: {e}")))?,
                by_user: r.get(7)?,
                at: r.get(8)?,
            })
        })
    }

    /// Add a follow-up visit; returns its id. A visit taken from a hospital episode is
    /// refused as a conflict when that episode was taken for the register already.
    pub fn add_followup(
        &self,
        person: i64,
        disease: Disease,
        episode_id: Option<i64>,
        controlled: Option<bool>,
        f: &FollowUp,
        by_user: &str,
    ) -> Result<i64> {
        if let Some(ep) = episode_id
            && self
                .followups(person)?
                .iter()
                .any(|x| x.disease == disease && x.episode_id == Some(ep))
        {
            return Err(StoreError::Conflict(format!(
                "lượt khám {ep} đã được ghi vào sổ {}",
                disease.label()
            )));
        }
        let id = self.keys.next_id();
        let c = self.db.crypt();
        let sealed_disease = c.seal_str(FOLLOWUP_DISEASE, id, disease.code())?;
        let body = c.seal_str(FOLLOWUP_BODY, id, &json(f)?)?;
        self.db.insert_rows(
            "ncd_followups",
            &cols(&[
                "person_id",
                "id",
                "disease",
                "visit_on",
                "source",
                "episode_id",
                "controlled",
                "body",
                "by_user",
                "at",
            ]),
            &[vec![
                Arg::Int(person),
                Arg::Int(id),
                Arg::Text(&sealed_disease),
                Arg::Text(&f.date),
                Arg::Text(&f.source),
                episode_id.map_or(Arg::Null, Arg::Int),
                flag(controlled),
                Arg::Text(&body),
                Arg::Text(by_user),
                Arg::Int(now_ms()),
            ]],
        )?;
        Ok(id)
    }

    /// The person's measurements, oldest first.
    pub fn measurements(&self, person: i64) -> Result<Vec<StoredMeasurement>> {
        let db = self.db;
        db.all(Q::GrowthOf, args![person], |r| {
            let id: i64 = r.get(0)?;
            let text = db.crypt().open_str(GROWTH_BODY, id, &r.get::<String>(2)?)?;
            Ok(StoredMeasurement {
                id,
                person_id: person,
                unit: r.get(1)?,
                measurement: serde_json::from_str(&text)
                    .map_err(|e| StoreError::Db(format!("measurement {id}: {e}")))?,
                by_user: r.get(3)?,
                at: r.get(4)?,
            })
        })
    }

    /// Add a measurement with its classification levels (underweight, stunting,
    /// wasting, overweight); returns its id.
    pub fn add_measurement(
        &self,
        person: i64,
        unit: Option<&str>,
        m: &Measurement,
        levels: [Option<i64>; 4],
        by_user: &str,
    ) -> Result<i64> {
        let id = self.keys.next_id();
        let body = self.db.crypt().seal_str(GROWTH_BODY, id, &json(m)?)?;
        let level = |v: Option<i64>| v.map_or(Arg::Null, Arg::Int);
        self.db.insert_rows(
            "growth_measurements",
            &cols(&[
                "person_id",
                "id",
                "measured_on",
                "unit",
                "underweight",
                "stunting",
                "wasting",
                "overweight",
                "body",
                "by_user",
                "at",
            ]),
            &[vec![
                Arg::Int(person),
                Arg::Int(id),
                Arg::Text(&m.date),
                unit.map_or(Arg::Null, Arg::Text),
                level(levels[0]),
                level(levels[1]),
                level(levels[2]),
                level(levels[3]),
                Arg::Text(&body),
                Arg::Text(by_user),
                Arg::Int(now_ms()),
            ]],
        )?;
        Ok(id)
    }
}

fn commune_entry(
    out: &mut BTreeMap<String, CommuneChronic>,
    commune: String,
) -> &mut CommuneChronic {
    out.entry(commune.clone())
        .or_insert_with(|| CommuneChronic {
            commune,
            ..CommuneChronic::default()
        })
}

impl<B: Backend> Chronic for Engine<B> {
    fn ncd_register(&self, commune: &str) -> Result<Vec<RegisterRow>> {
        self.read(|db| {
            let c = db.crypt();
            db.all(Q::NcdRegister, args![commune], |r| {
                let person: i64 = r.get(0)?;
                let id: i64 = r.get(1)?;
                let disease = c.open_str(ENROLMENT_DISEASE, id, &r.get::<String>(2)?)?;
                Ok(RegisterRow {
                    person_id: person,
                    id,
                    disease: disease_of(&disease)?,
                    status: status_of(&r.get::<String>(3)?)?,
                    status_on: r.get(4)?,
                    enrolled_on: r.get(5)?,
                    last_visit: r.get(6)?,
                    next_due: r.get(7)?,
                    controlled: r.get::<Option<i64>>(8)?.map(|v| v != 0),
                    name: c.open_opt("persons.name", person, r.get(9)?)?,
                    birth: c.open_opt("persons.birth", person, r.get(10)?)?,
                    sex: r.get(11)?,
                })
            })
        })
    }

    fn children_growth(&self, commune: &str, born_from: &str) -> Result<Vec<ChildRow>> {
        self.read(|db| {
            let c = db.crypt();
            db.all(Q::GrowthChildren, args![commune, born_from], |r| {
                let id: i64 = r.get(0)?;
                Ok(ChildRow {
                    person_id: id,
                    birth: r.get::<Option<String>>(1)?.or(c
                        .open_opt("persons.birth", id, r.get(4)?)?
                        .as_deref()
                        .and_then(crate::records::birth_day)),
                    name: c.open_opt("persons.name", id, r.get(2)?)?,
                    sex: r.get(3)?,
                    measured_on: r.get(5)?,
                    underweight: r.get(6)?,
                    stunting: r.get(7)?,
                    wasting: r.get(8)?,
                    overweight: r.get(9)?,
                })
            })
        })
    }

    fn chronic_indicators(&self, today: NaiveDate) -> Result<Vec<CommuneChronic>> {
        let missed_before = today
            .checked_sub_days(chrono::Days::new(book::ncd::DUE_WINDOW_DAYS))
            .unwrap_or(today)
            .format("%Y-%m-%d")
            .to_string();
        let born_from = today
            .checked_sub_months(chrono::Months::new(60))
            .unwrap_or(today)
            .format("%Y-%m-%d")
            .to_string();
        self.read(|db| {
            let mut out: BTreeMap<String, CommuneChronic> = BTreeMap::new();
            // Each row's disease is sealed: counted here, row by row (no body read).
            let c = db.crypt();
            db.query(Q::NcdIndicators, args![], &mut |r| {
                let commune: String = r.get(0)?;
                let id: i64 = r.get(1)?;
                let disease = c.open_str(ENROLMENT_DISEASE, id, &r.get::<String>(2)?)?;
                let status = status_of(&r.get::<String>(3)?)?;
                let controlled = r.get::<Option<i64>>(4)? == Some(1);
                let next_due: Option<String> = r.get(5)?;
                let f = commune_entry(&mut out, commune)
                    .ncd
                    .entry(disease)
                    .or_default();
                f.enrolled += 1;
                match status {
                    Status::Managed => {
                        f.managed += 1;
                        f.controlled += i64::from(controlled);
                        f.missed += i64::from(
                            next_due.is_some_and(|d| d.as_str() < missed_before.as_str()),
                        );
                    }
                    Status::Moved => f.moved += 1,
                    Status::Lost => f.lost += 1,
                    Status::Died => f.died += 1,
                    Status::Referred => f.referred += 1,
                }
                Ok(true)
            })?;
            db.query(Q::GrowthIndicators, args![born_from], &mut |r| {
                let commune: String = r.get(0)?;
                let n = |i: usize| -> Result<i64> { Ok(r.get::<Option<i64>>(i)?.unwrap_or(0)) };
                commune_entry(&mut out, commune).growth = GrowthFigures {
                    children: n(1)?,
                    measured: n(2)?,
                    underweight: n(3)?,
                    stunting: n(4)?,
                    wasting: n(5)?,
                    overweight: n(6)?,
                };
                Ok(true)
            })?;
            Ok(out.into_values().collect())
        })
    }
}
