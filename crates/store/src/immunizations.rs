//! Vaccinations (issue 18): every dose of every person in `immunizations` (migration
//! SQLite 0016 / PostgreSQL 0010), keyed by `(person_id, id)`. The clear columns are
//! what the schedule and the station's lists need (vaccine, day, status, dose number,
//! source, source key, facility, unit); the rest ([`book::immunization::DoseDetails`]:
//! lot, route, site, reason, reaction, national ids, COVID-19 certificate) is sealed
//! JSON bound to the dose's id (`immunizations.body`).
//!
//! The API (kept stable; the service builds on it):
//!
//! - [`ImmunizationTx`] — inside a [`crate::BookTx`] transaction
//!   (`tx.immunizations()`): [`ImmunizationTx::doses_of`] (a person's doses, oldest
//!   first, voided ones included and marked), [`ImmunizationTx::add_dose`] (one dose;
//!   refused as a conflict when the person already has a dose of the same
//!   `source_key`), [`ImmunizationTx::void_dose`] (entered in error: kept, no longer
//!   counted), [`ImmunizationTx::doses_of_persons`] (the counted doses of many persons,
//!   clear columns only, for an import chunk).
//! - [`Immunizations`] (a supertrait of [`crate::Store`]) — the station's side:
//!   [`Immunizations::commune_subjects`] (the residents of a commune born on or after a
//!   day, with their counted doses: the due lists and coverage reports),
//!   [`Immunizations::import_subjects`] (persons by personal ID, for an import).

use std::collections::HashMap;

use book::immunization::{Dose, DoseDetails, DoseStatus};
use chrono::NaiveDate;
use serde::Serialize;

use crate::core::{cols, opt_text};
use crate::db::{Arg, Db, Q, args};
use crate::engine::{Backend, Engine};
use crate::tx::Tx;
use crate::{Result, StoreError};

pub(crate) const DOSE_BODY: &str = "immunizations.body";

/// A dose to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewDose {
    /// A code of `book::immunization::vaccines()`.
    pub vaccine: String,
    pub date: NaiveDate,
    pub status: DoseStatus,
    pub dose_number: Option<u8>,
    /// `station`, `import`, `fhir`, `demo`.
    pub source: String,
    /// The sender's id of the dose (`nip:<lich_su_tiem_id>`, a FHIR identifier): the
    /// same key given again for the person is not added twice.
    pub source_key: Option<String>,
    /// Where it was given (KCB code, or the national `CO_SO_ID`).
    pub facility: Option<String>,
    /// The station (commune) that recorded it.
    pub unit: Option<String>,
    pub details: DoseDetails,
}

/// A recorded dose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredDose {
    pub person_id: i64,
    pub id: i64,
    pub vaccine: String,
    pub date: NaiveDate,
    pub status: DoseStatus,
    pub dose_number: Option<u8>,
    pub source: String,
    pub source_key: Option<String>,
    pub facility: Option<String>,
    pub unit: Option<String>,
    pub details: DoseDetails,
    pub recorded_by: String,
    pub recorded_at: i64,
    /// Entered in error (kept, not counted).
    pub voided_at: Option<i64>,
}

impl StoredDose {
    /// The dose as the schedule reads it.
    pub fn dose(&self) -> Dose {
        Dose {
            id: self.id,
            vaccine: self.vaccine.clone(),
            date: self.date,
            status: self.status,
            dose_number: self.dose_number,
        }
    }

    pub fn counted(&self) -> bool {
        self.voided_at.is_none()
    }
}

/// The doses that count (not voided), as the schedule reads them.
pub fn counted_doses(doses: &[StoredDose]) -> Vec<Dose> {
    doses
        .iter()
        .filter(|d| d.counted())
        .map(StoredDose::dose)
        .collect()
}

/// The counted doses of persons, each with its source key, oldest first.
pub type HeldDoses = HashMap<i64, Vec<(Dose, Option<String>)>>;

/// A resident in a station's vaccination lists.
#[derive(Clone, Debug, Serialize)]
pub struct VaccinationSubject {
    pub person_id: i64,
    pub name: Option<String>,
    pub personal_id: Option<String>,
    /// `None` when the birth date is not known to the day.
    pub birth: Option<NaiveDate>,
    /// `1` male, `2` female (as the person's row holds it).
    pub sex: Option<String>,
    /// Counted doses, oldest first.
    pub doses: Vec<Dose>,
}

impl VaccinationSubject {
    pub fn female(&self) -> bool {
        self.sex.as_deref() == Some("2")
    }
}

/// A person an import line names.
#[derive(Clone, Debug, Serialize)]
pub struct ImportSubject {
    pub person_id: i64,
    pub birth: Option<NaiveDate>,
    pub sex: Option<String>,
    /// The managing station's commune.
    pub commune: Option<String>,
    pub name: Option<String>,
}

/// One line of an import (the national immunisation system's export): the person by
/// personal ID, what the line says of them (checked against the person), the dose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoseImport {
    pub personal_id: String,
    /// The birth date the line gives (`ngay_sinh`), checked against the person's.
    pub birth: Option<NaiveDate>,
    pub dose: NewDose,
}

/// A line refused, naming the line and the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoseRefusal {
    /// 1-based line of the file (the header is line 1 of a CSV).
    pub line: u64,
    /// The field as the file names it (`so_dinh_danh`, `ngay_tiem`, …).
    pub field: String,
    pub code: String,
    pub message: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DoseImportReport {
    /// Lines read (refused by the reader included).
    pub lines: usize,
    /// Doses added.
    pub added: usize,
    /// Doses already recorded from the same source (the same key): not added again.
    pub unchanged: usize,
    /// Doses another source recorded already (same vaccine, day ± 1): not added.
    pub duplicates: usize,
    /// Persons whose vaccinations changed.
    pub persons: usize,
    pub refused: Vec<DoseRefusal>,
}

/// The vaccinations of a person inside one [`crate::BookTx`] transaction.
pub trait ImmunizationTx {
    /// The person's doses, oldest first (voided ones included, marked).
    fn doses_of(&self, person: i64) -> Result<Vec<StoredDose>>;
    /// Record a dose; a dose of the same `source_key` for the person is a `Conflict`.
    fn add_dose(&self, person: i64, dose: &NewDose, by: &str) -> Result<StoredDose>;
    /// Record several doses of several persons (an import chunk), no checks beyond the
    /// table's keys; returns the ids in order.
    fn add_doses(&self, doses: &[(i64, NewDose)], by: &str) -> Result<Vec<i64>>;
    /// Mark a dose entered in error; false when there is no such counted dose.
    fn void_dose(&self, person: i64, id: i64, by: &str) -> Result<bool>;
    /// The counted doses of each of `persons`, with their source keys.
    fn doses_of_persons(&self, persons: &[i64]) -> Result<HeldDoses>;
}

/// The station's side of the vaccinations.
pub trait Immunizations {
    /// The open records of `commune`'s residents born on or after `born_from` (and those
    /// whose birth is known only to the year, from that year), with their counted doses.
    fn commune_subjects(
        &self,
        commune: &str,
        born_from: NaiveDate,
    ) -> Result<Vec<VaccinationSubject>>;
    /// The persons holding these personal IDs (the survivor of a merge), by personal ID.
    fn import_subjects(&self, personal_ids: &[String]) -> Result<HashMap<String, ImportSubject>>;
}

fn status_of(s: &str) -> Result<DoseStatus> {
    DoseStatus::parse(s).ok_or_else(|| StoreError::Db(format!("dose status {s:?}")))
}

fn day_of(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Db(format!("dose day {s:?}")))
}

fn number_of(n: Option<i64>) -> Option<u8> {
    n.and_then(|n| u8::try_from(n).ok())
}

fn doses_of(db: &dyn Db, person: i64) -> Result<Vec<StoredDose>> {
    db.all(Q::DosesOf, args![person], |r| {
        let id: i64 = r.get(0)?;
        let body: String = r.get(9)?;
        let json = db.crypt().open_str(DOSE_BODY, id, &body)?;
        let details: DoseDetails =
            serde_json::from_str(&json).map_err(|e| StoreError::Db(format!("dose {id}: {e}")))?;
        Ok(StoredDose {
            person_id: person,
            id,
            vaccine: r.get(1)?,
            date: day_of(&r.get::<String>(2)?)?,
            status: status_of(&r.get::<String>(3)?)?,
            dose_number: number_of(r.get(4)?),
            source: r.get(5)?,
            source_key: r.get(6)?,
            facility: r.get(7)?,
            unit: r.get(8)?,
            details,
            recorded_by: r.get(10)?,
            recorded_at: r.get(11)?,
            voided_at: r.get(12)?,
        })
    })
}

const DOSE_COLUMNS: &[&str] = &[
    "person_id",
    "id",
    "vaccine",
    "given_on",
    "status",
    "dose_number",
    "source",
    "source_key",
    "facility",
    "unit",
    "body",
    "recorded_by",
    "recorded_at",
];

/// One row, owned (the args borrow it).
struct DoseRow<'a> {
    person: i64,
    id: i64,
    day: String,
    body: String,
    dose: &'a NewDose,
}

impl DoseRow<'_> {
    fn args<'b>(&'b self, by: &'b str, at: i64) -> Vec<Arg<'b>> {
        vec![
            Arg::Int(self.person),
            Arg::Int(self.id),
            Arg::Text(&self.dose.vaccine),
            Arg::Text(&self.day),
            Arg::Text(self.dose.status.code()),
            match self.dose.dose_number {
                Some(n) => Arg::Int(n.into()),
                None => Arg::Null,
            },
            Arg::Text(&self.dose.source),
            opt_text(&self.dose.source_key),
            opt_text(&self.dose.facility),
            opt_text(&self.dose.unit),
            Arg::Text(&self.body),
            Arg::Text(by),
            Arg::Int(at),
        ]
    }
}

fn insert(db: &dyn Db, rows: &[(i64, i64, &NewDose)], by: &str, at: i64) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let owned: Vec<DoseRow<'_>> = rows
        .iter()
        .map(|(person, id, dose)| {
            let json = serde_json::to_string(&dose.details)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            Ok(DoseRow {
                person: *person,
                id: *id,
                day: dose.date.format("%Y-%m-%d").to_string(),
                body: db.crypt().seal_str(DOSE_BODY, *id, &json)?,
                dose,
            })
        })
        .collect::<Result<_>>()?;
    let args: Vec<Vec<Arg<'_>>> = owned.iter().map(|r| r.args(by, at)).collect();
    for chunk in args.chunks(500) {
        db.insert_rows("immunizations", &cols(DOSE_COLUMNS), chunk)?;
    }
    Ok(())
}

fn doses_of_persons(db: &dyn Db, persons: &[i64]) -> Result<HeldDoses> {
    let mut out: HeldDoses = HashMap::new();
    for chunk in persons.chunks(5_000) {
        let ids = chunk.to_vec();
        db.query(Q::DosesOfPersons, args![ids], &mut |r| {
            let person: i64 = r.get(0)?;
            let dose = Dose {
                id: r.get(1)?,
                vaccine: r.get(2)?,
                date: day_of(&r.get::<String>(3)?)?,
                status: status_of(&r.get::<String>(4)?)?,
                dose_number: number_of(r.get(5)?),
            };
            out.entry(person).or_default().push((dose, r.get(6)?));
            Ok(true)
        })?;
    }
    for v in out.values_mut() {
        v.sort_by_key(|(d, _)| (d.date, d.id));
    }
    Ok(out)
}

impl ImmunizationTx for Tx<'_> {
    fn doses_of(&self, person: i64) -> Result<Vec<StoredDose>> {
        doses_of(self.db, person)
    }

    fn add_dose(&self, person: i64, dose: &NewDose, by: &str) -> Result<StoredDose> {
        if let Some(key) = &dose.source_key
            && doses_of(self.db, person)?
                .iter()
                .any(|d| d.source_key.as_ref() == Some(key))
        {
            return Err(StoreError::Conflict(format!(
                "mũi tiêm {key} đã được ghi cho người này"
            )));
        }
        let id = crate::tx::Keys::next_id(self.keys);
        let at = crate::now_ms();
        insert(self.db, &[(person, id, dose)], by, at)?;
        Ok(StoredDose {
            person_id: person,
            id,
            vaccine: dose.vaccine.clone(),
            date: dose.date,
            status: dose.status,
            dose_number: dose.dose_number,
            source: dose.source.clone(),
            source_key: dose.source_key.clone(),
            facility: dose.facility.clone(),
            unit: dose.unit.clone(),
            details: dose.details.clone(),
            recorded_by: by.to_string(),
            recorded_at: at,
            voided_at: None,
        })
    }

    fn add_doses(&self, doses: &[(i64, NewDose)], by: &str) -> Result<Vec<i64>> {
        let rows: Vec<(i64, i64, &NewDose)> = doses
            .iter()
            .map(|(p, d)| (*p, crate::tx::Keys::next_id(self.keys), d))
            .collect();
        insert(self.db, &rows, by, crate::now_ms())?;
        Ok(rows.iter().map(|(_, id, _)| *id).collect())
    }

    fn void_dose(&self, person: i64, id: i64, by: &str) -> Result<bool> {
        Ok(self
            .db
            .exec(Q::VoidDose, args![person, id, crate::now_ms(), by])?
            > 0)
    }

    fn doses_of_persons(&self, persons: &[i64]) -> Result<HeldDoses> {
        doses_of_persons(self.db, persons)
    }
}

/// A birth as stored (`yyyyMMddHHmm`, unknown parts `00`) or as a record's list column
/// (`yyyy-mm-dd`), to the day when known.
fn birth_of(stored: Option<&str>) -> Option<NaiveDate> {
    let day = crate::records::birth_day(stored?)?;
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()
}

impl<B: Backend> Immunizations for Engine<B> {
    fn commune_subjects(
        &self,
        commune: &str,
        born_from: NaiveDate,
    ) -> Result<Vec<VaccinationSubject>> {
        let from = born_from.format("%Y-%m-%d").to_string();
        self.read(|db| {
            let c = db.crypt();
            let mut subjects = db.all(Q::CommuneSubjects, args![commune, from], |r| {
                let id: i64 = r.get(0)?;
                let listed: Option<String> = r.get(1)?;
                let birth = match birth_of(listed.as_deref()) {
                    Some(b) => Some(b),
                    None => birth_of(c.open_opt("persons.birth", id, r.get(2)?)?.as_deref()),
                };
                Ok(VaccinationSubject {
                    person_id: id,
                    birth,
                    sex: r.get(3)?,
                    name: c.open_opt("persons.name", id, r.get(4)?)?,
                    personal_id: c.open_opt("persons.personal_id", id, r.get(5)?)?,
                    doses: Vec::new(),
                })
            })?;
            let ids: Vec<i64> = subjects.iter().map(|s| s.person_id).collect();
            let mut doses = doses_of_persons(db, &ids)?;
            for s in &mut subjects {
                s.doses = doses
                    .remove(&s.person_id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(d, _)| d)
                    .collect();
            }
            Ok(subjects)
        })
    }

    fn import_subjects(&self, personal_ids: &[String]) -> Result<HashMap<String, ImportSubject>> {
        self.read(|db| {
            let mut keys = Vec::with_capacity(personal_ids.len());
            let mut by_key: HashMap<String, &String> = HashMap::new();
            for p in personal_ids {
                let k = crate::reports::resident_key(db, p)?;
                by_key.insert(k.clone(), p);
                keys.push(k);
            }
            let mut owner: HashMap<String, i64> = HashMap::new();
            for chunk in keys.chunks(5_000) {
                let kinds: Vec<String> = vec!["personal_id".to_string(); chunk.len()];
                let chunk = chunk.to_vec();
                db.query(Q::IdentifierOwners, args![kinds, chunk], &mut |r| {
                    if let Some(p) = r.get::<Option<i64>>(2)? {
                        owner.insert(r.get(1)?, p);
                    }
                    Ok(true)
                })?;
            }
            let mut out = HashMap::new();
            for (key, mut pid) in owner {
                let mut person = crate::core::person_record(db, pid)?;
                while let Some(m) = person.as_ref().and_then(|p| p.merged_into) {
                    pid = m;
                    person = crate::core::person_record(db, m)?;
                }
                let Some(p) = person else { continue };
                let record: Option<String> = db
                    .one(Q::HealthRecordCommune, args![pid], |r| r.get(0))?
                    .flatten();
                let Some(personal_id) = by_key.get(&key) else {
                    continue;
                };
                out.insert(
                    (*personal_id).clone(),
                    ImportSubject {
                        person_id: pid,
                        birth: birth_of(p.birth.as_deref()),
                        sex: p.sex.clone(),
                        commune: record,
                        name: p.name.clone(),
                    },
                );
            }
            Ok(out)
        })
    }
}
