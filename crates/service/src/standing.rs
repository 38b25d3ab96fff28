//! How an actor stands to a person's record and what hangs on it (the QĐ 831 record,
//! chronic care, vaccinations): decided once, inside the caller's transaction, the same
//! way for every part of the book the commune station keeps. Refusals say nothing of the
//! person (`NotFound`), but a member of staff other than the station's who tries to
//! write is told who may.

use book::access::{Action, Basis, Place, Role, authorize};
use store::{AuditEntry, BookTx};

use crate::{Actor, Need, Result, ServiceError, entry_of};

/// How the actor stands to the record.
pub(crate) enum Standing {
    /// The person or their guardian (`record_as` names a guardian; own reads are not
    /// recorded).
    Own { record_as: Option<AuditEntry> },
    /// The station of the record's commune (basis residence).
    Station { entry: AuditEntry },
    /// A clinician under a live grant (read only).
    Clinician { entry: AuditEntry },
}

impl Standing {
    /// The audit entry a use by this actor is recorded with (none for one's own reads).
    pub(crate) fn entry(&self) -> Option<AuditEntry> {
        match self {
            Standing::Own { record_as } => record_as.clone(),
            Standing::Station { entry } | Standing::Clinician { entry } => Some(entry.clone()),
        }
    }
}

/// Whether `who` keeps the records of `commune` (`Action::KeepRecord`); refused as
/// `NotFound`.
pub(crate) fn keep_record(who: &Actor, commune: Option<&str>) -> Result<()> {
    let place = Place {
        commune: commune.map(str::to_string),
        ..Place::default()
    };
    authorize(
        &who.principal(Vec::new()),
        &Action::KeepRecord { place: &place },
    )
    .map(|_| ())
    .map_err(|_| ServiceError::NotFound)
}

/// Who `who` is to `pid`'s record kept in `commune` (None: no record, or none placed):
/// the person or their guardian (`ReadOwnBook`, reads only); commune staff keeping the
/// commune's records (`KeepRecord`); other staff under a live grant, reads only — a write
/// is refused `Forbidden` with `refusal` (who may write); a system client: `NotFound`
/// (a module that lets system clients in decides them before).
pub(crate) fn standing(
    tx: &dyn BookTx,
    who: &Actor,
    pid: i64,
    commune: Option<&str>,
    write: bool,
    refusal: &'static str,
) -> Result<Standing> {
    match who {
        Actor::Person { id } => {
            if write {
                return Err(ServiceError::NotFound);
            }
            let wards = if pid == *id {
                Vec::new()
            } else {
                tx.ward_ids(*id)?
            };
            authorize(&who.principal(wards), &Action::ReadOwnBook { owner: pid })
                .map_err(|_| ServiceError::NotFound)?;
            Ok(Standing::Own {
                record_as: (pid != *id).then(|| entry_of(who, pid, None)),
            })
        }
        Actor::Staff { account, .. } if account.role == Role::CommuneStaff => {
            keep_record(who, commune)?;
            let mut entry = entry_of(who, pid, None);
            entry.basis = Basis::Residence;
            Ok(Standing::Station { entry })
        }
        Actor::Staff { .. } => {
            if write {
                return Err(ServiceError::Forbidden(book::access::Denied {
                    code: "forbidden",
                    message: refusal,
                }));
            }
            let grant =
                crate::staff_grant(tx, who, pid, Need::Summary)?.ok_or(ServiceError::NotFound)?;
            Ok(Standing::Clinician {
                entry: entry_of(who, pid, Some(&grant)),
            })
        }
        Actor::System { .. } => Err(ServiceError::NotFound),
    }
}
