//! The QĐ 831 record through the service: the commune station of the person's
//! residence keeps it (reads, edits, examinations, proposals from hospital dossiers);
//! the person and their guardian read it and report errors; a clinician under a live
//! grant reads the profile. Every read and write is decided, done and recorded in the
//! person's audit chain in one transaction.

use std::collections::BTreeMap;

use book::access::{Action, Basis, Place, authorize};
use book::ehr::{Change, HealthRecord, Problem, Today};
use serde::Serialize;
use store::{BookTx, InsuranceCard, PersonRecord, RecordVersion, StoredRecord, Writer};

use crate::standing::{Standing, standing};
use crate::{Actor, Result, Service, ServiceError, entry_of, settle};

/// A chronic condition found in the person's hospital dossiers and not (yet) in the
/// record's history: for the station to accept or decline.
#[derive(Clone, Debug, Serialize)]
pub struct Proposal {
    pub code: String,
    pub name: String,
    /// The chronic group (`book::terms::chronic_group`).
    pub group: String,
    /// The first visit it was seen at (`yyyy-mm-dd`) and where.
    pub first_seen: String,
    pub facility: String,
}

/// The record as its reader may see it.
#[derive(Clone, Debug, Serialize)]
pub struct RecordView {
    pub person: PersonRecord,
    pub stored: StoredRecord,
    /// Newest first (the station and the person see them; a clinician does not).
    pub versions: Vec<RecordVersion>,
    pub proposals: Vec<Proposal>,
    pub card: Option<InsuranceCard>,
}

/// What a write of the record is.
pub enum RecordEdit<'a> {
    /// Set items of parts A–C (an empty value clears one).
    Items(&'a BTreeMap<String, String>),
    /// Add an examination (part D) of `date`.
    Exam {
        date: &'a str,
        items: &'a BTreeMap<String, String>,
    },
    /// Accept a proposed chronic code into the history, or decline it.
    Proposal { code: &'a str, accept: bool },
}

fn today() -> Today {
    Today(store::vn_now().date())
}

/// The problems of an edit, as one error naming every item.
pub fn invalid(problems: Vec<Problem>) -> ServiceError {
    ServiceError::Problems(problems)
}

/// Chronic ICD-10 codes of the person's dossiers: (code, first day, facility), oldest
/// first.
fn chronic_found(tx: &dyn BookTx, pid: i64) -> store::Result<Vec<(String, String, String)>> {
    let mut eps = tx.episodes_of(pid)?;
    eps.reverse();
    let mut out: Vec<(String, String, String)> = Vec::new();
    for e in &eps {
        let day = e
            .view
            .admitted
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let codes = e
            .view
            .main_diagnosis
            .iter()
            .chain(&e.view.secondary_diagnoses)
            .map(|d| d.icd10.clone());
        for code in codes {
            let code = code.trim().to_ascii_uppercase();
            if book::terms::chronic_group(&code).is_some()
                && !out.iter().any(|(c, _, _)| *c == code)
            {
                out.push((code, day.clone(), e.facility.clone()));
            }
        }
    }
    Ok(out)
}

fn proposals_of(record: &HealthRecord, found: &[(String, String, String)]) -> Vec<Proposal> {
    let pairs: Vec<(String, String)> = found
        .iter()
        .map(|(c, d, _)| (c.clone(), d.clone()))
        .collect();
    record
        .proposals(&pairs)
        .into_iter()
        .filter_map(|(code, day)| {
            let facility = found.iter().find(|(c, _, _)| c == code)?.2.clone();
            Some(Proposal {
                code: code.clone(),
                name: book::terms::icd10_name(code).unwrap_or(code).to_string(),
                group: book::terms::chronic_group(code)
                    .unwrap_or_default()
                    .to_string(),
                first_seen: day.clone(),
                facility,
            })
        })
        .collect()
}

impl Service {
    /// Who `who` is to `pid`'s record, decided inside the transaction (refusals say
    /// nothing of the person).
    fn standing(
        &self,
        tx: &dyn BookTx,
        who: &Actor,
        pid: i64,
        stored: &StoredRecord,
        write: bool,
    ) -> Result<Standing> {
        standing(
            tx,
            who,
            pid,
            stored.commune.as_deref(),
            write,
            "Chỉ trạm y tế nơi người bệnh cư trú sửa hồ sơ sức khỏe cá nhân",
        )
    }

    /// Read `pid`'s record (recorded as `record.read`, except the person's own reads).
    pub fn health_record(&self, who: &Actor, pid: i64) -> Result<RecordView> {
        let mut out: Option<Result<RecordView>> = None;
        let write = !matches!(who, Actor::Person { id } if *id == pid);
        self.store().transaction(write, &mut |tx| {
            let step = (|| -> Result<RecordView> {
                let Some(stored) = tx.health_record(pid)? else {
                    return Err(ServiceError::NotFound);
                };
                let standing = self.standing(tx, who, pid, &stored, false)?;
                let person = tx.person(pid)?.ok_or(ServiceError::NotFound)?;
                let entry = standing.entry();
                if let Some(mut e) = entry {
                    e.action = "record.read".into();
                    tx.append_audit(&e)?;
                }
                let clinician = matches!(standing, Standing::Clinician { .. });
                let proposals = if matches!(standing, Standing::Station { .. }) {
                    proposals_of(&stored.record, &chronic_found(tx, pid)?)
                } else {
                    Vec::new()
                };
                Ok(RecordView {
                    versions: if clinician {
                        Vec::new()
                    } else {
                        tx.record_versions(pid)?
                    },
                    card: if clinician {
                        None
                    } else {
                        tx.insurance_card(pid)?
                    },
                    person,
                    stored,
                    proposals,
                })
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// Change `pid`'s record as of `version` (the one the editor read): the station of
    /// the person's commune only; refused when the record changed meanwhile, or is
    /// closed (the person died). Returns the new version.
    pub fn edit_record(
        &self,
        who: &Actor,
        pid: i64,
        version: i64,
        edit: RecordEdit<'_>,
    ) -> Result<i64> {
        let mut out: Option<Result<i64>> = None;
        self.store().transaction(true, &mut |tx| {
            let step = (|| -> Result<i64> {
                let Some(mut stored) = tx.health_record(pid)? else {
                    return Err(ServiceError::NotFound);
                };
                let Standing::Station { mut entry } = self.standing(tx, who, pid, &stored, true)?
                else {
                    return Err(ServiceError::NotFound);
                };
                if stored.version != version {
                    return Err(ServiceError::Conflict(
                        "Hồ sơ đã được sửa sau khi bạn mở; hãy mở lại để xem bản mới nhất".into(),
                    ));
                }
                if stored.is_closed() {
                    return Err(ServiceError::Conflict(
                        "Hồ sơ đã đóng (người đã mất): chỉ xem, không ghi thêm".into(),
                    ));
                }
                let Actor::Staff { account, .. } = who else {
                    return Err(ServiceError::NotFound);
                };
                let unit = stored.commune.clone();
                let (action, changes): (&str, Vec<Change>) = match edit {
                    RecordEdit::Items(items) => (
                        "record.edit",
                        stored.record.apply(items, today()).map_err(invalid)?,
                    ),
                    RecordEdit::Exam { date, items } => {
                        let e = stored
                            .record
                            .add_exam(date, items, &account.username, unit.as_deref(), today())
                            .map_err(invalid)?;
                        let after = format!("{} (lần {})", e.date, e.number);
                        (
                            "record.exam",
                            vec![Change {
                                key: "exam".into(),
                                before: String::new(),
                                after,
                            }],
                        )
                    }
                    RecordEdit::Proposal { code, accept } => {
                        let found = chronic_found(tx, pid)?;
                        let code = code.trim().to_ascii_uppercase();
                        if !found.iter().any(|(c, _, _)| *c == code) {
                            return Err(ServiceError::Invalid {
                                code: "unknown_proposal",
                                message: format!(
                                    "Mã {code} không có trong hồ sơ bệnh viện của người này"
                                ),
                            });
                        }
                        (
                            if accept {
                                "record.accept"
                            } else {
                                "record.decline"
                            },
                            stored.record.decide_proposal(&code, accept),
                        )
                    }
                };
                if changes.is_empty() {
                    return Ok(stored.version);
                }
                let writer = Writer {
                    source: "staff",
                    by_user: &account.username,
                    by_unit: unit.as_deref(),
                };
                let next = tx.save_health_record(&stored, writer, &changes)?;
                stored.version = next;
                entry.action = action.into();
                entry.target = Some(format!("v{next}"));
                tx.append_audit(&entry)?;
                Ok(next)
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// The person (or their guardian) reports an error in the record to the station
    /// of their commune: a data-quality record the station resolves.
    pub fn report_record_error(&self, who: &Actor, pid: i64, text: &str) -> Result<i64> {
        let text = book::text::tidy(text);
        if text.chars().count() < 5 || text.chars().count() > 1000 {
            return Err(ServiceError::Invalid {
                code: "invalid_report",
                message: "Nội dung báo lỗi: từ 5 đến 1.000 ký tự".into(),
            });
        }
        let mut out: Option<Result<i64>> = None;
        self.store().transaction(true, &mut |tx| {
            let step = (|| -> Result<i64> {
                let Some(stored) = tx.health_record(pid)? else {
                    return Err(ServiceError::NotFound);
                };
                let Standing::Own { record_as } = self.standing(tx, who, pid, &stored, false)?
                else {
                    return Err(ServiceError::NotFound);
                };
                let Some(unit) = stored.commune.as_deref() else {
                    return Err(ServiceError::Invalid {
                        code: "no_station",
                        message: "Hồ sơ chưa có trạm y tế quản lý".into(),
                    });
                };
                let by = match who {
                    Actor::Person { id } => format!("person:{id}"),
                    _ => String::new(),
                };
                let detail = serde_json::json!({ "text": text, "by": by }).to_string();
                let id = tx.open_issue(pid, unit, "citizen_report", &detail)?;
                if let Some(mut e) = record_as {
                    e.action = "record.report_error".into();
                    tx.append_audit(&e)?;
                }
                Ok(id)
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }
}

impl Service {
    /// The station closes one of its data-quality records (a registry mismatch, a
    /// citizen's report) with a note; the person it names has it in their chain as
    /// `record.resolve`. Not found when the station has no such open record.
    pub fn resolve_issue(&self, who: &Actor, id: i64, note: &str) -> Result<()> {
        let Actor::Staff { account, scope } = who else {
            return Err(ServiceError::NotFound);
        };
        let Some(unit) = scope.commune.clone() else {
            return Err(ServiceError::NotFound);
        };
        let place = Place {
            commune: Some(unit.clone()),
            ..Place::default()
        };
        authorize(
            &who.principal(Vec::new()),
            &Action::KeepRecord { place: &place },
        )
        .map_err(ServiceError::Forbidden)?;
        let mut out: Option<Result<()>> = None;
        self.store().transaction(true, &mut |tx| {
            let step = (|| -> Result<()> {
                let Some(person) = tx.resolve_issue(&unit, id, &account.username, note)? else {
                    return Err(ServiceError::NotFound);
                };
                if let Some(pid) = person {
                    let mut e = entry_of(who, pid, None);
                    e.basis = Basis::Residence;
                    e.action = "record.resolve".into();
                    e.target = Some(format!("dq:{id}"));
                    tx.append_audit(&e)?;
                }
                Ok(())
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }
}
