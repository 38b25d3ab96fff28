//! healthbook's service layer: every use of a person's data goes through [`Service::open`],
//! which decides with [`book::access`] who may do it, reads, and writes the audit record
//! into the person's chain, in one store transaction: what is shown was recorded, or
//! nothing is shown. The HTTP adapters (JSON API, pages, FHIR) call it and map its
//! [`ServiceError`] to their answers in one place each.
//!
//! Synchronous, like the store: async callers run it on a blocking thread.

pub mod chronic;
mod import;
mod lookup;
mod record;
pub mod reminders;
mod standing;
pub mod vaccination;

use std::sync::Arc;

pub use lookup::{
    BirthQuery, CardFacts, CardKey, CardLookup, CardQuery, NewCard, PastLookup, Visit,
};
pub use record::{Proposal, RecordEdit, RecordView};
pub use vaccination::{DoseEntry, ImportBy, SessionList, VaccinationBook};

use book::access::{Action, Basis, Principal, Role, Scope, SmartScopes, authorize};
pub use book::access::{Denied, Place};
use store::{
    AuditEntry, AuditRecord, BookTx, EpisodeRecord, FhirClient, Grant, PersonRecord, StaffAccount,
    Store, StoreError, now_ms,
};

/// What went wrong, with a stable code for programs and a Vietnamese message for people.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Nothing there, or nothing the caller may know is there: someone else's book and a
    /// book that does not exist look the same.
    #[error("not found")]
    NotFound,
    /// Refused, with the reason (`book::access`'s code and message).
    #[error("{}: {}", .0.code, .0.message)]
    Forbidden(Denied),
    /// A system client's token does not cover what it asks (names its scopes).
    #[error("out of scope: {0}")]
    OutOfScope(String),
    /// The caller's input, naming what is wrong.
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
    /// A record's items refused, each naming its item (`book::ehr::Problem`).
    #[error("invalid_record: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Problems(Vec<book::ehr::Problem>),
    /// The data changed meanwhile, or may not change any more.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store failed; the caller sees only that something failed.
    #[error("store: {0}")]
    Store(StoreError),
}

impl ServiceError {
    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound => "not_found",
            ServiceError::Forbidden(d) => d.code,
            ServiceError::OutOfScope(_) => "forbidden",
            ServiceError::Invalid { code, .. } => code,
            ServiceError::Problems(_) => "invalid_record",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Store(_) => "internal",
        }
    }

    /// The message for a person (Vietnamese).
    pub fn message(&self) -> String {
        match self {
            ServiceError::NotFound => "Không tìm thấy".into(),
            ServiceError::Forbidden(d) => d.message.into(),
            ServiceError::OutOfScope(m) => m.clone(),
            ServiceError::Invalid { message, .. } => message.clone(),
            ServiceError::Problems(p) => p
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            ServiceError::Conflict(m) => m.clone(),
            ServiceError::Store(_) => "Lỗi hệ thống".into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NotFound(_) => ServiceError::NotFound,
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            e => ServiceError::Store(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// Who is asking.
#[derive(Clone, Debug)]
pub enum Actor {
    /// A signed-in person (their own book, or a ward's).
    Person { id: i64 },
    /// A signed-in member of staff, with the place their scope covers.
    Staff { account: StaffAccount, scope: Place },
    /// A registered system client (FHIR), with its token's scopes and its unit's place.
    System {
        client: FhirClient,
        scopes: SmartScopes,
        place: Place,
    },
}

impl Actor {
    /// The actor as `book::access` knows it (a person's wards as given).
    pub fn principal(&self, wards: Vec<i64>) -> Principal {
        match self {
            Actor::Person { id } => Principal::Person { id: *id, wards },
            Actor::Staff { account, scope } => Principal::Staff {
                username: account.username.clone(),
                role: account.role,
                scope: scope.clone(),
            },
            Actor::System {
                client,
                scopes,
                place,
            } => Principal::System {
                client: client.client_id.clone(),
                scopes: scopes.clone(),
                scope: place.clone(),
            },
        }
    }
}

/// What a use of a book needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need<'a> {
    /// The summary (a clinician's summary grant is enough).
    Summary,
    /// The whole book, visit by visit (a clinician needs a full grant).
    Full,
    /// FHIR resources of these types (a system client needs every one in its scopes;
    /// others as [`Need::Full`]).
    Types(&'a [&'a str]),
    /// Managing the book's sharing and reading who opened it (the person or their
    /// guardian only).
    Sharing,
}

/// The audit record of a use: its action and target. A second action is written for a
/// clinician holding a full grant (the summary page lists the visits too).
#[derive(Clone, Debug)]
pub struct Audit<'a> {
    pub action: &'a str,
    pub target: Option<String>,
    pub also_when_full: Option<&'a str>,
}

impl<'a> Audit<'a> {
    pub fn of(action: &'a str) -> Audit<'a> {
        Audit {
            action,
            target: None,
            also_when_full: None,
        }
    }

    pub fn on(action: &'a str, target: impl ToString) -> Audit<'a> {
        Audit {
            action,
            target: Some(target.to_string()),
            also_when_full: None,
        }
    }
}

/// What a read found.
pub enum Found<T> {
    /// Something of the person, to show (recorded).
    Shown(T),
    /// Nothing of the person (an empty poll): returned without a record.
    Nothing(T),
    /// Not there.
    Missing,
}

/// What [`Service::open`] returns: the data and how it was opened.
#[derive(Debug)]
pub struct Opened<T> {
    pub data: T,
    /// The clinician's grant it was opened under.
    pub grant: Option<Grant>,
    /// Opened under a summary-only grant.
    pub summary_only: bool,
}

/// A person's book as far as the reader may see it.
#[derive(Clone, Debug)]
pub struct Book {
    pub person: PersonRecord,
    pub episodes: Vec<EpisodeRecord>,
    /// The person's QĐ 831 record (for a system client: only when a station of its
    /// unit keeps it).
    pub record: Option<store::StoredRecord>,
    /// The person's vaccination doses, oldest first, voided ones left out (for a system
    /// client: those its unit's stations keep or its unit's facilities gave).
    pub doses: Vec<store::StoredDose>,
}

/// Who opened a book: the audit records and the grants they rest on.
#[derive(Clone, Debug)]
pub struct AccessLog {
    pub records: Vec<AuditRecord>,
    pub grants: Vec<Grant>,
}

/// How a clinician opens a book: a grant made and its first record written together.
#[derive(Clone, Copy, Debug)]
pub enum Opening<'a> {
    /// The share code the person gave (or its QR).
    ShareCode(&'a str),
    /// An emergency, with the written reason, for `for_ms` from the grant.
    BreakGlass {
        person: i64,
        reason: &'a str,
        for_ms: i64,
    },
    /// A referral letter to the clinician's facility (its number), checked by the caller
    /// against the letter and the person's presence, until `expires_at`.
    Referral {
        person: i64,
        number: &'a str,
        expires_at: i64,
        /// Which letter, for the record: its number, who wrote it, the episode it is in.
        record: &'a str,
    },
}

/// The service over one store.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
}

/// The outcome of the access decision, inside the transaction.
struct Decision {
    grant: Option<Grant>,
    /// Who the audit record names; none for a person's own book.
    record_as: Option<AuditEntry>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>) -> Service {
        Service { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The one rule of every use of a person's data: in one transaction, decide whether
    /// `who` may use `pid`'s book for `need` (refusing before anything of the person is
    /// read), `read`, and write `audit` into the person's chain. A person's reads of
    /// their own book are not recorded; a read that finds nothing is not either.
    pub fn open<T>(
        &self,
        who: &Actor,
        pid: i64,
        need: Need<'_>,
        audit: Audit<'_>,
        read: impl FnOnce(&dyn BookTx) -> store::Result<Found<T>>,
    ) -> Result<Opened<T>> {
        if let Actor::System { .. } = who {
            // A system client reads only FHIR books, restricted to its unit: [`Self::open_book`].
            return Err(ServiceError::Forbidden(Denied {
                code: "forbidden",
                message: "Tài khoản hệ thống chỉ đọc dữ liệu qua FHIR",
            }));
        }
        let mut read = Some(read);
        let mut out: Option<Result<Opened<T>>> = None;
        let write = !matches!(who, Actor::Person { id } if *id == pid);
        self.store.transaction(write, &mut |tx| {
            let step = (|| -> Result<Opened<T>> {
                let decision = decide(tx, who, pid, need)?;
                let read = read.take().ok_or(ServiceError::NotFound)?;
                let data = match read(tx)? {
                    Found::Missing => return Err(ServiceError::NotFound),
                    Found::Nothing(d) => d,
                    Found::Shown(d) => {
                        record(tx, &decision, &audit)?;
                        d
                    }
                };
                let summary_only = decision
                    .grant
                    .as_ref()
                    .is_some_and(|g| g.scope == Scope::Summary);
                Ok(Opened {
                    data,
                    grant: decision.grant,
                    summary_only,
                })
            })();
            settle(step, &mut out)
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
    }

    /// The person and the current episodes of `pid`'s book, for FHIR: as [`Self::open`]
    /// for a person or a clinician; a system client sees only what facilities of its unit
    /// sent and the QĐ 831 record when a station of its unit keeps it (and a facility's
    /// patient number only when the facility is the unit's), and nothing at all unless
    /// its token's scopes cover the Patient and every type asked.
    pub fn open_book(
        &self,
        who: &Actor,
        pid: i64,
        need: Need<'_>,
        audit: Audit<'_>,
    ) -> Result<Opened<Book>> {
        let load = move |tx: &dyn BookTx| -> store::Result<Option<Book>> {
            let Some(person) = tx.person(pid)? else {
                return Ok(None);
            };
            let mut doses = tx.immunizations().doses_of(pid)?;
            doses.retain(store::StoredDose::counted);
            Ok(Some(Book {
                person,
                episodes: tx.episodes_of(pid)?,
                record: tx.health_record(pid)?,
                doses,
            }))
        };
        let Actor::System { scopes, place, .. } = who else {
            return self.open(who, pid, need, audit, |tx| {
                Ok(load(tx)?.map_or(Found::Missing, Found::Shown))
            });
        };
        let types: Vec<&str> = match need {
            Need::Types(t) => t.to_vec(),
            _ => Vec::new(),
        };
        // The scopes first, before anything of the person is touched: the same refusal
        // whoever the person is. A person's data is reached through their Patient.
        if types.is_empty() || !scopes.allows("Patient") || types.iter().any(|t| !scopes.allows(t))
        {
            return Err(scope_refusal(scopes));
        }
        let principal = who.principal(Vec::new());
        let mut out: Option<Result<Book>> = None;
        self.store.transaction(true, &mut |tx| {
            let Some(mut book) = load(tx)? else {
                out = Some(Err(ServiceError::NotFound));
                return Ok(());
            };
            let mut places = std::collections::BTreeMap::<String, Place>::new();
            for e in &book.episodes {
                if !places.contains_key(&e.facility) {
                    let p = tx.place_of_facility(&e.facility)?.unwrap_or_default();
                    places.insert(e.facility.clone(), p);
                }
            }
            let allowed = |facility: &str| {
                let place = places.get(facility).cloned().unwrap_or_default();
                types.iter().all(|t| {
                    authorize(
                        &principal,
                        &Action::ReadUnitData {
                            resource_type: t,
                            place: &place,
                        },
                    )
                    .is_ok()
                })
            };
            book.episodes.retain(|e| allowed(&e.facility));
            // The record is the unit's when a station of the unit keeps it.
            // (The unit catalogue is read on a connection of its own: it is no person's.)
            let kept = match book.record.as_ref().and_then(|r| r.commune.as_deref()) {
                Some(commune) => {
                    let at = self.store.place_of_unit(commune)?;
                    types.iter().all(|t| {
                        authorize(
                            &principal,
                            &Action::ReadUnitData {
                                resource_type: t,
                                place: &at,
                            },
                        )
                        .is_ok()
                    })
                }
                None => false,
            };
            // Doses: all of them when the unit's station keeps the record, else those
            // given at the unit's facilities (or recorded by its stations).
            if !kept {
                let mut doses = Vec::new();
                for d in std::mem::take(&mut book.doses) {
                    // Where it was given: a registered facility, else the station.
                    let facility = match &d.facility {
                        Some(f) => tx.place_of_facility(f)?,
                        None => None,
                    };
                    let at = match (facility, &d.unit) {
                        (Some(p), _) => p,
                        (None, Some(u)) => self.store.place_of_unit(u)?,
                        (None, None) => Place::default(),
                    };
                    let ok = types.iter().all(|t| {
                        authorize(
                            &principal,
                            &Action::ReadUnitData {
                                resource_type: t,
                                place: &at,
                            },
                        )
                        .is_ok()
                    });
                    if ok {
                        doses.push(d);
                    }
                }
                book.doses = doses;
            }
            if !kept {
                book.record = None;
            }
            if book.episodes.is_empty() && book.record.is_none() && book.doses.is_empty() {
                out = Some(Err(ServiceError::NotFound));
                return Ok(());
            }
            // A facility's own patient number is the unit's only when the facility is.
            let mut kept = Vec::new();
            for i in std::mem::take(&mut book.person.identifiers) {
                if i.kind == book::IdKind::FacilityPatient {
                    let f = i.value.split(':').next().unwrap_or("");
                    if !tx.place_of_facility(f)?.is_some_and(|p| p.within(place)) {
                        continue;
                    }
                }
                kept.push(i);
            }
            book.person.identifiers = kept;
            let decision = Decision {
                grant: None,
                record_as: Some(entry_of(who, pid, None)),
            };
            record(tx, &decision, &audit)?;
            out = Some(Ok(book));
            Ok(())
        })?;
        out.unwrap_or(Err(ServiceError::NotFound))
            .map(|data| Opened {
                data,
                grant: None,
                summary_only: false,
            })
    }

    /// Open a book for a clinician: in one transaction, decide with `book::access`, make
    /// the grant and write its "open" record into the person's chain (a grant is never
    /// made without its record). `None`: the share code opens nothing (unknown, spent,
    /// revoked, or used at another facility).
    pub fn open_with(&self, who: &Actor, how: Opening<'_>) -> Result<Option<Grant>> {
        let Actor::Staff { account, .. } = who else {
            return Err(ServiceError::NotFound);
        };
        let principal = who.principal(Vec::new());
        let action = match how {
            Opening::ShareCode(_) => Action::UseShareCode,
            Opening::BreakGlass { reason, .. } => Action::BreakGlass { reason },
            Opening::Referral { .. } => Action::OpenReferral {
                destination: account.facility.as_deref().unwrap_or(""),
            },
        };
        authorize(&principal, &action).map_err(ServiceError::Forbidden)?;
        let mut out = None;
        self.store.transaction(true, &mut |tx| {
            let now = now_ms();
            let grant = match how {
                Opening::ShareCode(code) => tx.redeem_share(code, account, now)?,
                Opening::BreakGlass {
                    person,
                    reason,
                    for_ms,
                } => Some(tx.create_grant(
                    person,
                    account,
                    Basis::BreakGlass,
                    Scope::Full,
                    reason.trim(),
                    now,
                    now + for_ms,
                )?),
                Opening::Referral {
                    person,
                    number,
                    expires_at,
                    ..
                } => Some(tx.create_grant(
                    person,
                    account,
                    Basis::Referral,
                    Scope::Full,
                    number.trim(),
                    now,
                    expires_at,
                )?),
            };
            if let Some(g) = &grant {
                let mut e = entry_of(who, g.person_id, Some(g));
                e.action = "open".into();
                if let Opening::Referral { record, .. } = how {
                    e.target = Some(record.to_string());
                }
                tx.append_audit(&e)?;
            }
            out = Some(grant);
            Ok(())
        })?;
        Ok(out.flatten())
    }

    /// The years of `pid`'s book with their number of visits, newest first.
    pub fn years(&self, who: &Actor, pid: i64, action: &str) -> Result<Vec<(i32, usize)>> {
        self.open(who, pid, Need::Full, Audit::of(action), move |tx| {
            Ok(Found::Shown(tx.episode_years(pid)?))
        })
        .map(|o| o.data)
    }

    /// The current episodes of `pid`'s book, newest first.
    pub fn episodes(&self, who: &Actor, pid: i64, action: &str) -> Result<Vec<EpisodeRecord>> {
        self.open(who, pid, Need::Full, Audit::of(action), move |tx| {
            Ok(Found::Shown(tx.episodes_of(pid)?))
        })
        .map(|o| o.data)
    }

    /// The current episodes of `pid`'s book admitted in `year` (only that year's rows
    /// are read).
    pub fn year(
        &self,
        who: &Actor,
        pid: i64,
        year: i32,
        action: &str,
    ) -> Result<Vec<EpisodeRecord>> {
        self.open(who, pid, Need::Full, Audit::of(action), move |tx| {
            Ok(Found::Shown(tx.episodes_in_year(pid, year)?))
        })
        .map(|o| o.data)
    }

    /// One current episode of `pid`'s book (recorded with its id as target).
    pub fn episode(
        &self,
        who: &Actor,
        pid: i64,
        id: i64,
        action: &str,
    ) -> Result<Opened<EpisodeRecord>> {
        self.open(who, pid, Need::Full, Audit::on(action, id), move |tx| {
            Ok(tx.episode(pid, id)?.map_or(Found::Missing, Found::Shown))
        })
    }

    /// The episodes of `pid`'s book made visible after `since` (ms): a poll, recorded
    /// (as "changes") only when it brings something.
    pub fn changes(&self, who: &Actor, pid: i64, since: i64) -> Result<Vec<EpisodeRecord>> {
        self.open(who, pid, Need::Full, Audit::of("changes"), move |tx| {
            let fresh: Vec<EpisodeRecord> = tx
                .episodes_of(pid)?
                .into_iter()
                .filter(|e| e.visible_at > since)
                .collect();
            Ok(if fresh.is_empty() {
                Found::Nothing(fresh)
            } else {
                Found::Shown(fresh)
            })
        })
        .map(|o| o.data)
    }

    /// A clinician's summary read: the book's episodes under a summary or full grant,
    /// recorded as "summary" (and "episodes" under a full grant: the page lists them).
    pub fn summary(&self, who: &Actor, pid: i64) -> Result<Opened<Vec<EpisodeRecord>>> {
        let audit = Audit {
            also_when_full: Some("episodes"),
            ..Audit::of("summary")
        };
        self.open(who, pid, Need::Summary, audit, move |tx| {
            Ok(Found::Shown(tx.episodes_of(pid)?))
        })
    }

    /// Who opened `pid`'s book: the audit records and the grants behind them (the person
    /// or their guardian; a guardian's look is recorded: it names facilities and
    /// break-glass reasons).
    pub fn access_log(&self, who: &Actor, pid: i64) -> Result<AccessLog> {
        self.open(
            who,
            pid,
            Need::Sharing,
            Audit::of("access_log"),
            move |tx| {
                Ok(Found::Shown(AccessLog {
                    records: tx.audit_of(pid)?,
                    grants: tx.grants_on_merged(pid)?,
                }))
            },
        )
        .map(|o| o.data)
    }

    /// Whether `who` may manage `pid`'s sharing (refused as not found otherwise).
    pub fn check_sharing(&self, who: &Actor, pid: i64) -> Result<()> {
        self.open(who, pid, Need::Sharing, Audit::of("sharing"), |_| {
            Ok(Found::Nothing(()))
        })
        .map(|o| o.data)
    }
}

/// The refusal of a type outside a system client's scopes (the same for every person).
fn scope_refusal(scopes: &SmartScopes) -> ServiceError {
    ServiceError::OutOfScope(format!(
        "Phạm vi của mã truy cập không gồm loại tài nguyên này (scopes: {})",
        scopes.to_scope_string()
    ))
}

/// Decide inside the transaction; a person's refusal is "not found" (nothing leaks),
/// a clinician's carries the reason.
fn decide(tx: &dyn BookTx, who: &Actor, pid: i64, need: Need<'_>) -> Result<Decision> {
    match who {
        Actor::Person { id } => {
            let wards = if pid == *id {
                Vec::new()
            } else {
                tx.ward_ids(*id)?
            };
            let action = match need {
                Need::Sharing => Action::ManageSharing { owner: pid },
                _ => Action::ReadOwnBook { owner: pid },
            };
            authorize(&who.principal(wards), &action).map_err(|_| ServiceError::NotFound)?;
            let record_as = (pid != *id).then(|| {
                let name = tx.person(*id).ok().flatten().and_then(|p| p.name);
                let mut e = entry_of(who, pid, None);
                e.actor_name = name;
                e
            });
            Ok(Decision {
                grant: None,
                record_as,
            })
        }
        Actor::Staff { .. } => {
            if need == Need::Sharing {
                return Err(ServiceError::NotFound);
            }
            let grant = staff_grant(tx, who, pid, need)?.ok_or(ServiceError::NotFound)?;
            let record_as = Some(entry_of(who, pid, Some(&grant)));
            Ok(Decision {
                grant: Some(grant),
                record_as,
            })
        }
        Actor::System { .. } => Err(ServiceError::NotFound),
    }
}

/// The caller's grant on `person`, checked for `need`: live, the caller's own at their
/// facility, wide enough. Refused with the reason of `book::access`.
pub(crate) fn staff_grant(
    tx: &dyn BookTx,
    who: &Actor,
    pid: i64,
    need: Need<'_>,
) -> Result<Option<Grant>> {
    let Actor::Staff { account, .. } = who else {
        return Err(ServiceError::NotFound);
    };
    let now = now_ms();
    let grants = tx.grants_on(pid)?;
    // A grant serves its holder at the facility it was made for: moving elsewhere ends it.
    let mine: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.username == account.username && g.facility == account.facility)
        .collect();
    // The best live one; else the newest, so that the refusal says why.
    let grant = mine
        .iter()
        .filter(|g| g.facts().live(now))
        .max_by_key(|g| (g.scope == Scope::Full, g.expires_at))
        .or(mine.first())
        .copied();
    let facts = grant.map(Grant::facts);
    authorize(
        &who.principal(Vec::new()),
        &Action::ReadPatient {
            person: pid,
            grant: facts.as_ref(),
            full: need != Need::Summary,
            now,
        },
    )
    .map_err(ServiceError::Forbidden)?;
    Ok(grant.cloned())
}

/// The audit entry naming `who` for a use of `pid`'s data.
pub fn entry_of(who: &Actor, pid: i64, grant: Option<&Grant>) -> AuditEntry {
    match who {
        Actor::Person { id } => AuditEntry {
            person_id: pid,
            actor: format!("person:{id}"),
            role: Role::Guardian,
            facility: None,
            action: String::new(),
            target: None,
            basis: Basis::Guardianship,
            grant_id: None,
            actor_name: None,
            actor_cert: None,
        },
        Actor::Staff { account, .. } => AuditEntry {
            person_id: pid,
            actor: account.username.clone(),
            role: account.role,
            facility: account.facility.clone(),
            action: String::new(),
            target: None,
            basis: grant.map_or(Basis::Enrolment, |g| g.basis),
            grant_id: grant.map(|g| g.id),
            actor_name: Some(account.full_name.clone()),
            actor_cert: account.practising_cert.clone(),
        },
        Actor::System { client, .. } => AuditEntry {
            person_id: pid,
            actor: client.client_id.clone(),
            role: Role::SystemClient,
            facility: None,
            action: String::new(),
            target: None,
            basis: Basis::System,
            grant_id: None,
            actor_name: Some(client.name.clone()),
            actor_cert: None,
        },
    }
}

fn record(tx: &dyn BookTx, d: &Decision, audit: &Audit<'_>) -> store::Result<()> {
    let Some(base) = &d.record_as else {
        return Ok(());
    };
    let mut e = base.clone();
    e.action = audit.action.to_string();
    e.target = audit.target.clone();
    tx.append_audit(&e)?;
    if let (Some(also), Some(g)) = (audit.also_when_full, &d.grant)
        && g.scope == Scope::Full
    {
        e.action = also.to_string();
        e.target = None;
        tx.append_audit(&e)?;
    }
    Ok(())
}

/// Keep a step's outcome: a store error rolls the transaction back, a refusal wrote
/// nothing and is answered.
pub(crate) fn settle<T>(step: Result<T>, out: &mut Option<Result<T>>) -> store::Result<()> {
    match step {
        Ok(v) => {
            *out = Some(Ok(v));
            Ok(())
        }
        Err(ServiceError::Store(e)) => Err(e),
        Err(e) => {
            *out = Some(Err(e));
            Ok(())
        }
    }
}
