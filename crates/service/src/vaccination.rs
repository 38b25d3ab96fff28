//! Vaccinations through the service (issue 18): a person's vaccination book (doses,
//! the schedule's forecast, QĐ 831 part C from the doses), doses entered by the commune
//! station that keeps the person's record, doses sent by system clients (FHIR), the
//! station's vaccination session list, and batch imports of the national immunisation
//! system's exports. Every read of another person's doses and every write is decided,
//! done and recorded in the person's audit chain in one transaction.
//!
//! The API (kept stable; the server, FHIR and reminders build on it):
//!
//! - [`Service::vaccinations`]`(who, pid) -> VaccinationBook` — the person or their
//!   guardian (not recorded for one's own book), the station of the record's commune
//!   (`Action::KeepRecord`, basis residence) or a clinician under a live grant
//!   (`vaccination.read`).
//! - [`Service::record_dose`]`(who, pid, &DoseEntry) -> StoredDose` — the station
//!   (`KeepRecord`) or a system client (`Action::WriteUnitData { "Immunization" }` on
//!   the record's commune); a dose of the same vaccine within a day of a recorded one
//!   is refused as a `Conflict` unless `confirm_duplicate` (the national system's
//!   FORCE_SAVE); recorded `vaccination.add`.
//! - [`Service::record_doses`]`(who, &[(pid, DoseEntry)])` — several doses in one
//!   transaction, all or none; `Err((index, error))` names the first refused (a FHIR
//!   transaction `Bundle`).
//! - [`Service::void_dose`]`(who, pid, id)` — the station: entered in error
//!   (`vaccination.void`).
//! - [`Service::session_list`]`(who, session_day) -> SessionList` — commune staff:
//!   the residents due at the session and those overdue.
//! - [`Service::import_doses`]`(by, rows) -> DoseImportReport` — lines of the national
//!   system's export (parsed by `registry::immunizations`), 500 to a transaction, one
//!   `vaccination.import` audit record per person changed.
//! - [`forecast_in`]`(tx, pid, today)` — the forecast of a person inside a caller's
//!   transaction, unrecorded (for the reminders' scan, which records its own).
//! - [`subject_of`]`(&PersonRecord)` — the schedule's subject of a person.

use std::collections::{BTreeMap, HashMap, HashSet};

use book::access::{Action, Basis, Place, Role, authorize};
use book::immunization::{self as imm, Dose, DoseDetails, DoseStatus, Forecast, Status, Subject};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use store::{
    AuditEntry, BookTx, DoseImport, DoseImportReport, DoseRefusal, NewDose, PersonRecord,
    StoredDose,
};

use crate::standing::Standing as RecordStanding;
use crate::{Actor, Result, Service, ServiceError, entry_of, settle};

/// Lines of an import written in one transaction.
const CHUNK: usize = 500;
/// The most lines one import may hold.
pub const MAX_DOSE_IMPORT: usize = 2_000_000;

/// A dose as the station (or a system client) enters it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DoseEntry {
    /// A code of `book::immunization::vaccines()`.
    pub vaccine: String,
    /// `yyyy-mm-dd` (or `dd/mm/yyyy`).
    pub date: String,
    /// `given` (default), `contraindicated`, `refused`, `deferred`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub dose_number: Option<u8>,
    /// Where it was given (KCB code); the station's own unit when empty.
    #[serde(default)]
    pub facility: Option<String>,
    /// The sender's id of the dose (a FHIR identifier): sent again, not added twice.
    #[serde(default)]
    pub source_key: Option<String>,
    #[serde(default)]
    pub details: DoseDetails,
    /// Record it even though a dose of the same vaccine is recorded within a day.
    #[serde(default)]
    pub confirm_duplicate: bool,
}

/// A person's vaccination book as its reader may see it.
#[derive(Clone, Debug, Serialize)]
pub struct VaccinationBook {
    pub person: PersonRecord,
    /// `None` when the birth date is not known to the day (no forecast then).
    pub subject: Option<Subject>,
    /// Oldest first, voided ones included (marked).
    pub doses: Vec<StoredDose>,
    pub forecast: Option<Forecast>,
    /// QĐ 831 part C items from the doses (`c.bcg.date` → `yyyy-mm-dd`).
    pub part_c: BTreeMap<String, String>,
    /// The managing station's commune.
    pub commune: Option<String>,
}

/// One person of a session list, with what to give.
#[derive(Clone, Debug, Serialize)]
pub struct SessionRow {
    pub person_id: i64,
    pub name: Option<String>,
    pub personal_id: Option<String>,
    pub birth: NaiveDate,
    pub female: bool,
    /// Age on the session day ("5 tháng", "2 tuổi").
    pub age: String,
    /// The items due or overdue on the session day.
    pub items: Vec<SessionItem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SessionItem {
    pub key: &'static str,
    pub label: &'static str,
    pub status: Status,
    pub due_from: Option<NaiveDate>,
    pub overdue_after: Option<NaiveDate>,
}

/// The station's list for one vaccination session.
#[derive(Clone, Debug, Serialize)]
pub struct SessionList {
    pub commune: String,
    pub session: NaiveDate,
    pub today: NaiveDate,
    /// Due at the session (and not overdue today).
    pub due: Vec<SessionRow>,
    /// Overdue already today.
    pub overdue: Vec<SessionRow>,
    /// Residents looked at (children and women 15–35 whose birth is known).
    pub residents: usize,
}

/// Who imports.
#[derive(Clone, Copy, Debug)]
pub enum ImportBy<'a> {
    /// Commune staff (their commune's residents), or the system administrator.
    Actor(&'a Actor),
    /// The operator on the server's host (`healthbook vaccinations import`), named.
    Operator(&'a str),
}

fn today() -> NaiveDate {
    store::vn_now().date()
}

/// `yyyy-mm-dd` or `dd/mm/yyyy` (an `HH:mm ` before it is ignored).
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let s = s.rsplit(' ').next().unwrap_or(s);
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// The schedule's subject of a person: `None` when the birth date is not known to the
/// day. Not pregnant: [`subject_in`] reads the book for a pregnancy.
pub fn subject_of(p: &PersonRecord) -> Option<Subject> {
    let day = store::birth_day(p.birth.as_deref()?)?;
    Some(Subject {
        birth: NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?,
        female: p.sex.as_deref() == Some("2"),
        pregnant: false,
    })
}

/// The ages (whole years) at which a pregnancy is looked for in the book; outside them
/// the record and the dossiers are not read for it.
pub const PREGNANCY_AGES: std::ops::RangeInclusive<i32> = 10..=55;

/// The schedule's subject of a person with what their book says of a pregnancy on
/// `today` ([`imm::pregnancy_sign`]: the QĐ 831 examinations' ICD-10 codes and the
/// hospital dossiers' diagnoses of the last 280 days), read inside the caller's
/// transaction. Only the flag leaves this function: not the code nor its source.
pub fn subject_in(
    tx: &dyn BookTx,
    pid: i64,
    p: &PersonRecord,
    today: NaiveDate,
) -> store::Result<Option<Subject>> {
    let Some(mut subject) = subject_of(p) else {
        return Ok(None);
    };
    if subject.female && PREGNANCY_AGES.contains(&imm::age_years(subject.birth, today)) {
        let record = tx.health_record(pid)?;
        let episodes = tx.episodes_of(pid)?;
        subject.pregnant = imm::pregnancy_sign(
            record.as_ref().map(|r| &r.record),
            episodes.iter().map(|e| &e.view),
            today,
        )
        .is_some();
    }
    Ok(Some(subject))
}

/// A person's forecast inside the caller's transaction, unrecorded: `None` when the
/// person or their birth date is unknown. A pregnancy the book shows is taken into
/// account ([`subject_in`]).
pub fn forecast_in(tx: &dyn BookTx, pid: i64, today: NaiveDate) -> store::Result<Option<Forecast>> {
    let Some(p) = tx.person(pid)? else {
        return Ok(None);
    };
    let Some(subject) = subject_in(tx, pid, &p, today)? else {
        return Ok(None);
    };
    let doses = store::counted_doses(&tx.immunizations().doses_of(pid)?);
    Ok(Some(imm::forecast(&subject, &doses, today)))
}

fn invalid(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        code,
        message: message.into(),
    }
}

/// The age in Vietnamese: days under a month, months under two years, else years.
pub fn age_text(birth: NaiveDate, on: NaiveDate) -> String {
    let days = (on - birth).num_days();
    if days < 31 {
        return format!("{} ngày", days.max(0));
    }
    let mut months = (on.year_month() - birth.year_month()) as i64;
    if on.day_of_month() < birth.day_of_month() {
        months -= 1;
    }
    if months < 24 {
        format!("{months} tháng")
    } else {
        format!("{} tuổi", imm::age_years(birth, on))
    }
}

trait YearMonth {
    fn year_month(&self) -> i32;
    fn day_of_month(&self) -> u32;
}

impl YearMonth for NaiveDate {
    fn year_month(&self) -> i32 {
        use chrono::Datelike;
        self.year() * 12 + self.month0() as i32
    }
    fn day_of_month(&self) -> u32 {
        use chrono::Datelike;
        self.day()
    }
}

/// How the actor stands to a person's vaccinations: as to their record
/// (`crate::standing`), or a system client writing a dose of its unit.
enum Standing {
    Record(RecordStanding),
    System { entry: AuditEntry },
}

fn commune_place(commune: Option<&str>) -> Place {
    Place {
        commune: commune.map(str::to_string),
        ..Place::default()
    }
}

impl Service {
    fn vaccination_standing(
        &self,
        tx: &dyn BookTx,
        who: &Actor,
        pid: i64,
        commune: Option<&str>,
        write: bool,
    ) -> Result<Standing> {
        match who {
            Actor::Person { .. } | Actor::Staff { .. } => {
                Ok(Standing::Record(crate::standing::standing(
                    tx,
                    who,
                    pid,
                    commune,
                    write,
                    "Chỉ trạm y tế nơi người dân cư trú ghi mũi tiêm",
                )?))
            }
            Actor::System { .. } => {
                if !write {
                    return Err(ServiceError::NotFound);
                }
                let place = match commune {
                    Some(c) => self.store().place_of_unit(c)?,
                    None => Place::default(),
                };
                authorize(
                    &who.principal(Vec::new()),
                    &Action::WriteUnitData {
                        resource_type: "Immunization",
                        place: &place,
                    },
                )
                .map_err(ServiceError::Forbidden)?;
                Ok(Standing::System {
                    entry: entry_of(who, pid, None),
                })
            }
        }
    }

    /// A person's vaccination book: doses, forecast for today, part C.
    pub fn vaccinations(&self, who: &Actor, pid: i64) -> Result<VaccinationBook> {
        let mut out: Option<Result<VaccinationBook>> = None;
        let write = !matches!(who, Actor::Person { id } if *id == pid);
        let today = today();
        self.store().transaction(write, &mut |tx| {
            let step = (|| -> Result<VaccinationBook> {
                let commune = tx.health_record(pid)?.and_then(|r| r.commune);
                let standing =
                    self.vaccination_standing(tx, who, pid, commune.as_deref(), false)?;
                let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
                let entry = match standing {
                    Standing::Record(s) => s.entry(),
                    Standing::System { entry } => Some(entry),
                };
                if let Some(mut e) = entry {
                    e.action = "vaccination.read".into();
                    tx.append_audit(&e)?;
                }
                let doses = tx.immunizations().doses_of(pid)?;
                let subject = subject_in(tx, pid, &person, today)?;
                let counted = store::counted_doses(&doses);
                Ok(VaccinationBook {
                    forecast: subject.map(|s| imm::forecast(&s, &counted, today)),
                    part_c: subject
                        .map(|s| imm::part_c(&s, &counted))
                        .unwrap_or_default(),
                    subject,
                    doses,
                    person,
                    commune,
                })
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// Record a dose for `pid` (the station of the person's commune, or a system client
    /// of the unit).
    pub fn record_dose(&self, who: &Actor, pid: i64, entry: &DoseEntry) -> Result<StoredDose> {
        let today = today();
        let mut out: Option<Result<StoredDose>> = None;
        self.store().transaction(true, &mut |tx| {
            let step = self.record_dose_in(tx, who, pid, entry, today);
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// Record several doses (of one or several persons) in one transaction: all or
    /// none. `Err((index, error))` names the first entry refused; nothing is written
    /// then (a FHIR transaction `Bundle`).
    pub fn record_doses(
        &self,
        who: &Actor,
        entries: &[(i64, DoseEntry)],
    ) -> std::result::Result<Vec<StoredDose>, (usize, ServiceError)> {
        let today = today();
        let mut done: Vec<StoredDose> = Vec::new();
        let mut failed: Option<(usize, ServiceError)> = None;
        let r = self.store().transaction(true, &mut |tx| {
            done.clear();
            failed = None;
            for (i, (pid, entry)) in entries.iter().enumerate() {
                match self.record_dose_in(tx, who, *pid, entry, today) {
                    Ok(d) => done.push(d),
                    Err(ServiceError::Store(e)) => return Err(e),
                    Err(e) => {
                        failed = Some((i, e));
                        // Roll back what the entries before it wrote.
                        return Err(store::StoreError::Invalid("bundle refused".into()));
                    }
                }
            }
            Ok(())
        });
        if let Some(f) = failed {
            return Err(f);
        }
        match r {
            Ok(()) => Ok(done),
            Err(e) => Err((0, ServiceError::from(e))),
        }
    }

    /// One dose inside the caller's transaction: checked, decided, written, recorded.
    fn record_dose_in(
        &self,
        tx: &dyn BookTx,
        who: &Actor,
        pid: i64,
        entry: &DoseEntry,
        today: NaiveDate,
    ) -> Result<StoredDose> {
        let vaccine = entry.vaccine.trim();
        if imm::vaccine(vaccine).is_none() {
            return Err(invalid(
                "unknown_vaccine",
                format!("vaccine: không có vắc xin mã {vaccine:?} trong danh mục"),
            ));
        }
        let date = parse_day(&entry.date)
            .ok_or_else(|| invalid("invalid_date", "date: ngày tiêm không hợp lệ"))?;
        if date > today {
            return Err(invalid(
                "future_date",
                "date: ngày tiêm không được sau hôm nay",
            ));
        }
        let status = match entry.status.as_deref().map(str::trim) {
            None | Some("") => DoseStatus::Given,
            Some(s) => DoseStatus::parse(s).ok_or_else(|| {
                invalid(
                    "invalid_status",
                    "status: given, contraindicated, refused hoặc deferred",
                )
            })?,
        };
        if status != DoseStatus::Given
            && entry
                .details
                .reason
                .as_deref()
                .is_none_or(|r| r.trim().is_empty())
        {
            return Err(invalid(
                "reason_required",
                "reason: ghi lý do chống chỉ định, không đồng ý hoặc tạm hoãn",
            ));
        }
        let record = tx.health_record(pid)?;
        let commune = record.as_ref().and_then(|r| r.commune.clone());
        let standing = self.vaccination_standing(tx, who, pid, commune.as_deref(), true)?;
        if record.as_ref().is_some_and(|r| r.is_closed()) {
            return Err(ServiceError::Conflict(
                "Hồ sơ đã đóng (người đã mất): chỉ xem, không ghi thêm".into(),
            ));
        }
        let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
        if let Some(s) = subject_of(&person)
            && date < s.birth
        {
            return Err(invalid("before_birth", "date: ngày tiêm trước ngày sinh"));
        }
        let existing = tx.immunizations().doses_of(pid)?;
        if let Some(key) = &entry.source_key
            && let Some(d) = existing.iter().find(|d| d.source_key.as_ref() == Some(key))
        {
            return Ok(d.clone());
        }
        if status == DoseStatus::Given && !entry.confirm_duplicate {
            let same = existing.iter().find(|d| {
                d.counted()
                    && d.status == DoseStatus::Given
                    && d.vaccine == vaccine
                    && (d.date - date).num_days().abs() <= 1
            });
            if let Some(d) = same {
                return Err(ServiceError::Conflict(format!(
                    "Đã có mũi {} ngày {} (nguồn: {}); xác nhận nếu đây là mũi khác",
                    imm::vaccine(vaccine).map_or(vaccine, |v| v.name),
                    d.date.format("%d/%m/%Y"),
                    d.source
                )));
            }
        }
        let (mut audit, source, by, unit) = match (standing, who) {
            (Standing::Record(RecordStanding::Station { entry }), Actor::Staff { account, .. }) => {
                (entry, "station", account.username.clone(), commune.clone())
            }
            (Standing::System { entry }, Actor::System { client, .. }) => {
                (entry, "fhir", client.client_id.clone(), None)
            }
            _ => return Err(ServiceError::NotFound),
        };
        let new = NewDose {
            vaccine: vaccine.to_string(),
            date,
            status,
            dose_number: entry.dose_number,
            source: source.into(),
            source_key: entry.source_key.clone(),
            facility: entry
                .facility
                .clone()
                .filter(|f| !f.trim().is_empty())
                .or_else(|| unit.clone()),
            unit,
            details: entry.details.clone(),
        };
        let stored = tx.immunizations().add_dose(pid, &new, &by)?;
        audit.action = "vaccination.add".into();
        audit.target = Some(format!("dose:{}", stored.id));
        tx.append_audit(&audit)?;
        Ok(stored)
    }

    /// Mark a dose entered in error (the station only).
    pub fn void_dose(&self, who: &Actor, pid: i64, id: i64) -> Result<()> {
        let mut out: Option<Result<()>> = None;
        self.store().transaction(true, &mut |tx| {
            let step = (|| -> Result<()> {
                let commune = tx.health_record(pid)?.and_then(|r| r.commune);
                let Standing::Record(RecordStanding::Station { mut entry }) =
                    self.vaccination_standing(tx, who, pid, commune.as_deref(), true)?
                else {
                    return Err(ServiceError::NotFound);
                };
                if !tx.immunizations().void_dose(pid, id, &entry.actor)? {
                    return Err(ServiceError::NotFound);
                }
                entry.action = "vaccination.void".into();
                entry.target = Some(format!("dose:{id}"));
                tx.append_audit(&entry)?;
                Ok(())
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// The commune station's list for the session on `session`: residents with a dose
    /// due on that day, and those overdue already today.
    pub fn session_list(&self, who: &Actor, session: NaiveDate) -> Result<SessionList> {
        let Actor::Staff { scope, .. } = who else {
            return Err(ServiceError::NotFound);
        };
        let Some(commune) = scope.commune.clone() else {
            return Err(ServiceError::Forbidden(book::access::Denied {
                code: "forbidden",
                message: "Danh sách buổi tiêm chủng dành cho trạm y tế xã",
            }));
        };
        authorize(
            &who.principal(Vec::new()),
            &Action::KeepRecord {
                place: &commune_place(Some(&commune)),
            },
        )
        .map_err(ServiceError::Forbidden)?;
        let today = today();
        Ok(session_list_of(
            &commune,
            &self
                .store()
                .commune_subjects(&commune, born_from(session))?,
            session,
            today,
        ))
    }

    /// Import doses of the national system's export: each line refused or applied on
    /// its own; 500 lines to a transaction.
    pub fn import_doses(
        &self,
        by: ImportBy<'_>,
        rows: &[(u64, DoseImport)],
    ) -> Result<DoseImportReport> {
        let (scope, actor_name): (Option<String>, String) = match by {
            ImportBy::Operator(name) => (None, format!("cli:{name}")),
            ImportBy::Actor(who @ Actor::Staff { account, scope }) => match account.role {
                Role::SystemAdmin => (None, account.username.clone()),
                Role::CommuneStaff => {
                    let Some(c) = scope.commune.clone() else {
                        return Err(ServiceError::NotFound);
                    };
                    authorize(
                        &who.principal(Vec::new()),
                        &Action::KeepRecord {
                            place: &commune_place(Some(&c)),
                        },
                    )
                    .map_err(ServiceError::Forbidden)?;
                    (Some(c), account.username.clone())
                }
                _ => {
                    return Err(ServiceError::Forbidden(book::access::Denied {
                        code: "forbidden",
                        message: "Chỉ trạm y tế xã (hoặc quản trị hệ thống) nhập dữ liệu tiêm chủng",
                    }));
                }
            },
            ImportBy::Actor(_) => return Err(ServiceError::NotFound),
        };
        if rows.len() > MAX_DOSE_IMPORT {
            return Err(invalid(
                "too_many_rows",
                format!("Tối đa {MAX_DOSE_IMPORT} dòng một lần nhập"),
            ));
        }
        let mut report = DoseImportReport {
            lines: rows.len(),
            ..DoseImportReport::default()
        };
        let refuse =
            |report: &mut DoseImportReport, line: u64, field: &str, code: &str, m: String| {
                report.refused.push(DoseRefusal {
                    line,
                    field: field.into(),
                    code: code.into(),
                    message: m,
                })
            };
        let today = today();
        let mut persons_changed: HashSet<i64> = HashSet::new();
        for chunk in rows.chunks(CHUNK * 4) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|(_, r)| r.personal_id.trim().to_string())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let subjects = self.store().import_subjects(&ids)?;
            // Lines checked against their person; the rest go to the transaction.
            let mut ok: Vec<(u64, i64, &NewDose)> = Vec::new();
            for (line, r) in chunk {
                let pid_text = r.personal_id.trim();
                let Some(s) = subjects.get(pid_text) else {
                    refuse(
                        &mut report,
                        *line,
                        "so_dinh_danh",
                        "not_found",
                        format!("so_dinh_danh {pid_text}: không có người mang số định danh này"),
                    );
                    continue;
                };
                if let Some(c) = &scope
                    && s.commune.as_deref() != Some(c)
                {
                    refuse(
                        &mut report,
                        *line,
                        "so_dinh_danh",
                        "not_resident",
                        format!(
                            "so_dinh_danh {pid_text}: không có trong danh sách người dân do trạm quản lý"
                        ),
                    );
                    continue;
                }
                if let (Some(given), Some(known)) = (r.birth, s.birth)
                    && given != known
                {
                    refuse(
                        &mut report,
                        *line,
                        "ngay_sinh",
                        "birth_mismatch",
                        format!(
                            "ngay_sinh {}: khác ngày sinh của người mang số định danh này",
                            given.format("%d/%m/%Y")
                        ),
                    );
                    continue;
                }
                if let Some(b) = s.birth.or(r.birth)
                    && r.dose.date < b
                {
                    refuse(
                        &mut report,
                        *line,
                        "ngay_tiem",
                        "before_birth",
                        "ngay_tiem: trước ngày sinh".into(),
                    );
                    continue;
                }
                if r.dose.date > today {
                    refuse(
                        &mut report,
                        *line,
                        "ngay_tiem",
                        "future_date",
                        "ngay_tiem: sau ngày hôm nay".into(),
                    );
                    continue;
                }
                ok.push((*line, s.person_id, &r.dose));
            }
            for part in ok.chunks(CHUNK) {
                let mut added = 0usize;
                let mut unchanged = 0usize;
                let mut dups = 0usize;
                let mut changed: Vec<(i64, usize)> = Vec::new();
                self.store().transaction(true, &mut |tx| {
                    (added, unchanged, dups) = (0, 0, 0);
                    changed.clear();
                    let pids: Vec<i64> = part
                        .iter()
                        .map(|(_, p, _)| *p)
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    let mut held = tx.immunizations().doses_of_persons(&pids)?;
                    let mut new: Vec<(i64, NewDose)> = Vec::new();
                    for (_, pid, dose) in part {
                        let have = held.entry(*pid).or_default();
                        if let Some(k) = &dose.source_key
                            && have.iter().any(|(_, key)| key.as_ref() == Some(k))
                        {
                            unchanged += 1;
                            continue;
                        }
                        let dup = dose.status == DoseStatus::Given
                            && have.iter().any(|(d, _)| {
                                d.status == DoseStatus::Given
                                    && d.vaccine == dose.vaccine
                                    && (d.date - dose.date).num_days().abs() <= 1
                            });
                        if dup {
                            dups += 1;
                            continue;
                        }
                        have.push((
                            Dose {
                                id: 0,
                                vaccine: dose.vaccine.clone(),
                                date: dose.date,
                                status: dose.status,
                                dose_number: dose.dose_number,
                            },
                            dose.source_key.clone(),
                        ));
                        new.push((*pid, (*dose).clone()));
                    }
                    tx.immunizations().add_doses(&new, &actor_name)?;
                    added = new.len();
                    let mut per: HashMap<i64, usize> = HashMap::new();
                    for (p, _) in &new {
                        *per.entry(*p).or_default() += 1;
                    }
                    for (p, n) in per {
                        tx.append_audit(&AuditEntry {
                            person_id: p,
                            actor: actor_name.clone(),
                            role: match by {
                                ImportBy::Actor(Actor::Staff { account, .. }) => account.role,
                                _ => Role::SystemAdmin,
                            },
                            facility: None,
                            action: "vaccination.import".into(),
                            target: Some(format!("doses:{n}")),
                            basis: Basis::Residence,
                            grant_id: None,
                            actor_name: None,
                            actor_cert: None,
                        })?;
                        changed.push((p, n));
                    }
                    Ok(())
                })?;
                report.added += added;
                report.unchanged += unchanged;
                report.duplicates += dups;
                persons_changed.extend(changed.iter().map(|(p, _)| *p));
            }
        }
        report.persons = persons_changed.len();
        report.refused.sort_by_key(|r| r.line);
        Ok(report)
    }
}

/// The earliest birth a session list looks at: children of the schedules (under 16)
/// and women up to 35.
pub fn born_from(session: NaiveDate) -> NaiveDate {
    session - chrono::Months::new(36 * 12)
}

/// The session list of `subjects` (the pure part of [`Service::session_list`], also
/// what the benchmark times).
pub fn session_list_of(
    commune: &str,
    subjects: &[store::VaccinationSubject],
    session: NaiveDate,
    today: NaiveDate,
) -> SessionList {
    let mut list = SessionList {
        commune: commune.to_string(),
        session,
        today,
        due: Vec::new(),
        overdue: Vec::new(),
        residents: 0,
    };
    for s in subjects {
        let Some(birth) = s.birth else { continue };
        list.residents += 1;
        let subject = Subject {
            birth,
            female: s.female(),
            pregnant: false,
        };
        let at_session = imm::forecast(&subject, &s.doses, session.max(today));
        let items: Vec<SessionItem> = at_session
            .open()
            .map(|i| SessionItem {
                key: i.key,
                label: i.label,
                status: i.status,
                due_from: i.due_from,
                overdue_after: i.overdue_after,
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        let overdue_today = items
            .iter()
            .any(|i| i.overdue_after.is_some_and(|o| today > o));
        let row = SessionRow {
            person_id: s.person_id,
            name: s.name.clone(),
            personal_id: s.personal_id.clone(),
            birth,
            female: subject.female,
            age: age_text(birth, session),
            items,
        };
        if overdue_today {
            list.overdue.push(row);
        } else {
            list.due.push(row);
        }
    }
    let key = |r: &SessionRow| (std::cmp::Reverse(r.birth), r.person_id);
    list.due.sort_by_key(key);
    list.overdue.sort_by_key(key);
    list
}
