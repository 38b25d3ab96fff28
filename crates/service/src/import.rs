//! Existing QĐ 831 records imported by a commune station (a file from the system it
//! used before): each line is one person's items and examinations, applied all or
//! nothing; each line that changes a record is written together with its audit record
//! (`record.import`, basis residence) in the person's chain. Lines are written 500 to a
//! transaction (a refused line writes nothing; a store failure rolls its chunk back and
//! ends the import).

use book::IdKind;
use book::access::{Action, Basis, Place, Role, authorize};
use book::ehr::{Change, Problem, Today};
use store::{BookTx, ImportReport, RecordImport, Refusal, Writer};

use crate::{Actor, Result, Service, ServiceError, entry_of};

/// The most lines one import may hold (as `registry::records` reads them).
pub const MAX_IMPORT_ROWS: usize = 200_000;
/// Lines written in one transaction.
const CHUNK: usize = 500;

fn problem(key: &str, code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_string(),
        code,
        message: message.into(),
    }
}

/// What one line did.
enum Outcome {
    Applied,
    Unchanged,
    Refused(Vec<Problem>),
}

impl Service {
    /// Import existing records into the records of `who`'s commune (commune staff
    /// only): each line all or nothing; a line naming a person of another commune, a
    /// closed record or an invalid item is refused and reported with why; an
    /// examination already in the record (same day, same items) is not added twice.
    pub fn import_records(
        &self,
        who: &Actor,
        rows: &[(u64, RecordImport)],
    ) -> Result<ImportReport> {
        let Actor::Staff { account, scope } = who else {
            return Err(ServiceError::NotFound);
        };
        let commune = match (&account.role, &scope.commune) {
            (Role::CommuneStaff, Some(c)) => c.clone(),
            _ => {
                return Err(ServiceError::Forbidden(book::access::Denied {
                    code: "forbidden",
                    message: "Chỉ cán bộ trạm y tế xã nhập hồ sơ sức khỏe của người dân trong xã",
                }));
            }
        };
        let place = Place {
            commune: Some(commune.clone()),
            ..Place::default()
        };
        authorize(
            &who.principal(Vec::new()),
            &Action::KeepRecord { place: &place },
        )
        .map_err(ServiceError::Forbidden)?;
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(ServiceError::Invalid {
                code: "too_many_rows",
                message: format!("Tối đa {MAX_IMPORT_ROWS} dòng một lần nhập"),
            });
        }
        let today = Today(store::vn_now().date());
        let writer = Writer {
            source: "import",
            by_user: &account.username,
            by_unit: Some(&commune),
        };
        let mut report = ImportReport {
            rows: rows.len(),
            ..ImportReport::default()
        };
        for chunk in rows.chunks(CHUNK) {
            // Whom each line names, from the identifier index (outside the transaction).
            let persons: Vec<std::result::Result<i64, Vec<Problem>>> = chunk
                .iter()
                .map(|(_, row)| self.person_of(&row.personal_id))
                .collect::<Result<_>>()?;
            // The lines of a chunk in one transaction; each line all or nothing within it
            // (a refused line writes nothing), each applied line with its audit record.
            let mut outcomes: Vec<Outcome> = Vec::with_capacity(chunk.len());
            self.store().transaction(true, &mut |tx| {
                outcomes.clear();
                for ((_, row), person) in chunk.iter().zip(&persons) {
                    outcomes.push(match person {
                        Err(p) => Outcome::Refused(p.clone()),
                        Ok(pid) => import_row(tx, who, *pid, row, &commune, writer, today)?,
                    });
                }
                Ok(())
            })?;
            for ((line, row), outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    Outcome::Applied => report.applied += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                    Outcome::Refused(problems) => report.refused.push(Refusal {
                        line: *line,
                        personal_id: row.personal_id.chars().take(20).collect(),
                        problems,
                    }),
                }
            }
        }
        Ok(report)
    }

    /// The person a line names by personal ID, or why not.
    fn person_of(&self, personal_id: &str) -> Result<std::result::Result<i64, Vec<Problem>>> {
        let pid = personal_id.trim();
        if pid.len() != 12 || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Err(vec![problem(
                "personal_id",
                "invalid_personal_id",
                "Số định danh cá nhân: gồm 12 chữ số",
            )]));
        }
        Ok(
            match self.store().person_by_identifier(IdKind::PersonalId, pid)? {
                Some(p) => Ok(p.merged_into.unwrap_or(p.id)),
                None => Err(not_resident(pid)),
            },
        )
    }
}

/// Someone of another commune and no one are the same answer: an import names nothing
/// of people the station does not keep.
fn not_resident(personal_id: &str) -> Vec<Problem> {
    vec![problem(
        "personal_id",
        "not_resident",
        format!(
            "Số định danh {}: không có trong danh sách người dân do trạm quản lý",
            personal_id.trim()
        ),
    )]
}

/// Apply one line to `person`'s record inside the chunk's transaction.
fn import_row(
    tx: &dyn BookTx,
    who: &Actor,
    person: i64,
    row: &RecordImport,
    commune: &str,
    writer: Writer<'_>,
    today: Today,
) -> store::Result<Outcome> {
    let Some(mut stored) = tx.health_record(person)? else {
        return Ok(Outcome::Refused(vec![problem(
            "personal_id",
            "no_record",
            "Người này chưa có hồ sơ sức khỏe",
        )]));
    };
    if stored.commune.as_deref() != Some(commune) {
        return Ok(Outcome::Refused(not_resident(&row.personal_id)));
    }
    if stored.is_closed() {
        return Ok(Outcome::Refused(vec![problem(
            "personal_id",
            "record_closed",
            "Hồ sơ đã đóng (người đã mất): không ghi thêm",
        )]));
    }
    let mut changes = match stored.record.apply(&row.items, today) {
        Ok(c) => c,
        Err(p) => return Ok(Outcome::Refused(p)),
    };
    for e in &row.exams {
        let before = stored.record.clone();
        let added =
            match stored
                .record
                .add_exam(&e.date, &e.items, writer.by_user, writer.by_unit, today)
            {
                Ok(x) => x.clone(),
                Err(p) => return Ok(Outcome::Refused(p)),
            };
        // The same examination imported again is not added twice.
        let seen = before
            .exams
            .iter()
            .any(|x| x.date == added.date && x.items == added.items);
        if seen {
            stored.record = before;
            continue;
        }
        changes.push(Change {
            key: "exam".into(),
            before: String::new(),
            after: format!("{} (lần {})", added.date, added.number),
        });
    }
    if changes.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let next = tx.save_health_record(&stored, writer, &changes)?;
    let mut entry = entry_of(who, person, None);
    entry.basis = Basis::Residence;
    entry.action = "record.import".into();
    entry.target = Some(format!("v{next}"));
    tx.append_audit(&entry)?;
    Ok(Outcome::Applied)
}
