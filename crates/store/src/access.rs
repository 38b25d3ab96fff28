//! Storage of who may read what: administrative units, staff accounts, share codes,
//! grants, and the hash-chained audit log. The rules themselves live in
//! `book::access`; this module only keeps the facts they need.

use std::collections::{BTreeMap, HashMap};

use book::access::{Basis, GrantFacts, Place, Role, Scope, SmartScopes};
use serde::{Deserialize, Serialize};

use crate::core::{cols, episode_row, hash_password, opt_text};
use crate::db::{Arg, Db, Q, Row, args};
use crate::engine::{Backend, Engine, keyed_hash};
use crate::*;

/// An administrative unit (province, district or commune) of one scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    /// province | district | commune
    pub level: String,
    pub parent: Option<String>,
    /// pre2025 (province → district → commune) | 2025 (province → commune)
    pub scheme: String,
}

pub const UNIT_LEVELS: [&str; 3] = ["province", "district", "commune"];
pub const UNIT_SCHEMES: [&str; 2] = ["pre2025", "2025"];

/// The first day of the 2025 units (QĐ 19/2025/QĐ-TTg: provinces and communes, no
/// districts); the pre-2025 units were in force until the day before.
pub const REFORM_DAY: &str = book::access::REFORM_DAY;
/// The last day the pre-2025 units (province → district → commune) were in force.
pub const LAST_PRE2025_DAY: &str = book::access::LAST_PRE_REFORM_DAY;
/// `valid_from` of the pre-2025 units: in force since before any record.
pub const PRE2025_FROM: &str = "0001-01-01";

impl Unit {
    /// The first day the unit is in force (`yyyy-mm-dd`), from its scheme.
    pub fn valid_from(&self) -> &'static str {
        if self.scheme == "2025" {
            REFORM_DAY
        } else {
            PRE2025_FROM
        }
    }

    /// The last day the unit is in force (`yyyy-mm-dd`); `None` while in force.
    pub fn valid_to(&self) -> Option<&'static str> {
        (self.scheme != "2025").then_some(LAST_PRE2025_DAY)
    }

    /// Whether the unit is in force on `day` (`yyyy-mm-dd`).
    pub fn valid_on(&self, day: &str) -> bool {
        self.valid_from() <= day && self.valid_to().is_none_or(|to| day <= to)
    }
}

/// The scheme of units in force on `day` (`yyyy-mm-dd`): `pre2025` or `2025`.
pub fn scheme_on(day: &str) -> &'static str {
    if day < REFORM_DAY { "pre2025" } else { "2025" }
}

/// One line of the reform's lineage: a pre-2025 unit and a 2025 unit it went into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitLink {
    /// The pre-2025 unit (in force until 2025-06-30).
    pub old_level: String,
    pub old_code: String,
    /// The 2025 unit (in force from 2025-07-01).
    pub new_level: String,
    pub new_code: String,
    /// same | renamed | merged_full | split_partial
    pub relation: String,
    #[serde(default)]
    pub note: Option<String>,
}

pub const UNIT_RELATIONS: [&str; 4] = ["same", "renamed", "merged_full", "split_partial"];

/// A registered FHIR system client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FhirClient {
    pub client_id: String,
    pub name: String,
    /// The administrative unit whose data it reads.
    pub unit: String,
    pub scopes: SmartScopes,
    pub created_at: i64,
    pub created_by: String,
    pub active: bool,
}

/// A client from the columns client_id, name, unit, scopes, created_at, created_by, active.
fn fhir_client_row(r: &Row<'_>) -> Result<FhirClient> {
    let scopes: String = r.get(3)?;
    Ok(FhirClient {
        client_id: r.get(0)?,
        name: r.get(1)?,
        unit: r.get(2)?,
        scopes: SmartScopes::parse(&scopes).unwrap_or_default(),
        created_at: r.get(4)?,
        created_by: r.get(5)?,
        active: r.get(6)?,
    })
}

/// A staff account and its scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub username: String,
    pub full_name: String,
    pub role: Role,
    /// Province, district or commune code of the scope (officers, commune staff).
    pub unit: Option<String>,
    /// Facility code of the scope (facility roles, commune staff's station).
    pub facility: Option<String>,
    /// Clinicians: the practising-certificate number.
    pub practising_cert: Option<String>,
    pub active: bool,
}

/// A staff sign-in attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffLogin {
    Ok(StaffAccount),
    /// Wrong password (repeated failures are slowed down by the server, never locked).
    Wrong,
    NoAccount,
}

/// A share code a person made (the code itself is shown once and stored hashed).
#[derive(Clone, Debug, Serialize)]
pub struct Share {
    pub id: i64,
    pub person_id: i64,
    pub scope: Scope,
    pub created_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl Share {
    pub fn live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// What lets one member of staff open one person's book, for a while.
#[derive(Clone, Debug, Serialize)]
pub struct Grant {
    pub id: i64,
    pub person_id: i64,
    pub username: String,
    pub facility: Option<String>,
    pub basis: Basis,
    pub share_id: Option<i64>,
    pub scope: Scope,
    /// Break-glass: the written reason; referral: the referral's number.
    pub reason: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub review_note: Option<String>,
}

impl Grant {
    /// The facts `book::access::authorize` decides on.
    pub fn facts(&self) -> GrantFacts {
        GrantFacts {
            person: self.person_id,
            username: self.username.clone(),
            scope: self.scope,
            expires_at: self.expires_at,
            revoked: self.revoked_at.is_some(),
        }
    }
}

/// A read to record.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub person_id: i64,
    pub actor: String,
    pub role: Role,
    pub facility: Option<String>,
    /// summary | episode | grant | …
    pub action: String,
    pub target: Option<String>,
    pub basis: Basis,
    pub grant_id: Option<i64>,
    /// The actor's name and practising certificate at the time.
    pub actor_name: Option<String>,
    pub actor_cert: Option<String>,
}

/// A recorded read, with its place in the person's chain.
#[derive(Clone, Debug, Serialize)]
pub struct AuditRecord {
    pub person_id: i64,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    /// The actor's name and practising certificate (not part of the chain).
    pub actor_name: Option<String>,
    pub practising_cert: Option<String>,
    pub role: String,
    pub facility: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub basis: String,
    pub grant_id: Option<i64>,
    pub hash: String,
}

/// What `verify_audit` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditReport {
    pub persons: u64,
    pub records: u64,
    /// Each broken link, edited record or missing record, described.
    pub problems: Vec<String>,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One audit checkpoint: a digest of every record written in a window of time, chained
/// to the checkpoint before it, as a line of the append-only checkpoint file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    /// The window: records with `from < at <= to` (milliseconds).
    pub from: i64,
    pub to: i64,
    pub records: i64,
    /// HMAC-SHA-256 (under the audit key; SHA-256 without one) over each record's
    /// (person, seq, hash), in person and chain order.
    pub digest: String,
    /// The `mac` of the checkpoint before (zeros for the first).
    pub prev: String,
    /// HMAC-SHA-256 (or SHA-256) over the fields above.
    pub mac: String,
}

impl Checkpoint {
    fn compute_mac(&self, key: Option<&[u8]>) -> String {
        let parts = [
            "checkpoint".to_string(),
            self.seq.to_string(),
            self.from.to_string(),
            self.to.to_string(),
            self.records.to_string(),
            self.digest.clone(),
            self.prev.clone(),
        ];
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        match key {
            Some(k) => keyed_hash(k, &parts),
            None => hash_hex(&parts),
        }
    }
}

/// How long a share code lives at most.
pub const MAX_SHARE_MS: i64 = 7 * 24 * 3_600_000;

/// Share codes: 8 characters from an alphabet without look-alikes (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A share code as people type it: upper case, letters and digits only.
pub fn normalize_share_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// How a code is shown: `K7P4-M2QX`.
pub fn format_share_code(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

fn new_share_code() -> String {
    // 16 random bytes from v4 UUIDs (the OS generator); 8 characters taken by rejection.
    let mut out = String::with_capacity(8);
    while out.len() < 8 {
        for b in uuid::Uuid::new_v4().into_bytes() {
            // 248 = 8 × 31: values below it map evenly onto the alphabet.
            if b < 248 && out.len() < 8 {
                out.push(CODE_ALPHABET[(b % 31) as usize] as char);
            }
        }
    }
    out
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chained hash of a record: HMAC-SHA-256 under the operator's audit key when one
/// is set (kept outside the database, so that whoever holds the file cannot forge a
/// chain), plain SHA-256 otherwise.
fn audit_hash(
    key: Option<&[u8]>,
    prev: &str,
    person: i64,
    seq: i64,
    at: i64,
    e: &AuditFields<'_>,
) -> String {
    let parts = [
        prev,
        &person.to_string(),
        &seq.to_string(),
        &at.to_string(),
        e.actor,
        e.role,
        e.facility.unwrap_or(""),
        e.action,
        e.target.unwrap_or(""),
        e.basis,
        &e.grant_id.map(|g| g.to_string()).unwrap_or_default(),
        e.actor_name.unwrap_or(""),
        e.actor_cert.unwrap_or(""),
    ];
    match key {
        None => hash_hex(&parts),
        Some(k) => keyed_hash(k, &parts),
    }
}

struct AuditFields<'a> {
    actor: &'a str,
    role: &'a str,
    facility: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    basis: &'a str,
    grant_id: Option<i64>,
    actor_name: Option<&'a str>,
    actor_cert: Option<&'a str>,
}

/// Access facts: units, staff, consent, grants, audit. Part of every [`Store`].
pub trait Access {
    fn upsert_unit(&self, u: &Unit) -> Result<()>;
    /// Save units in one transaction (parents before children): all or none.
    fn import_units(&self, units: &[Unit]) -> Result<usize>;
    /// Save facilities in one transaction: all or none.
    fn import_facilities(&self, facilities: &[Facility]) -> Result<usize>;
    fn units(&self) -> Result<Vec<Unit>>;
    /// Save lines of the 2025 reform's lineage in one transaction: all or none. The
    /// lines given for an old unit replace the ones it had.
    fn import_unit_lineage(&self, links: &[UnitLink]) -> Result<usize>;
    /// The lineage of the reform, by old unit.
    fn unit_lineage(&self) -> Result<Vec<UnitLink>>;
    /// Where a unit is: the unit and the units above it (the newest version of the
    /// code: today's unit when there is one, and its parents in the same scheme).
    fn place_of_unit(&self, code: &str) -> Result<Place>;
    /// Where a facility is (its own code, and its units when it has one).
    fn place_of_facility(&self, code: &str) -> Result<Option<Place>>;
    fn facilities(&self) -> Result<Vec<Facility>>;

    /// Create or change a staff account; a password is required to create one.
    fn upsert_staff(&self, a: &StaffAccount, password: Option<&str>) -> Result<()>;
    fn staff(&self, username: &str) -> Result<Option<StaffAccount>>;
    fn staff_list(&self) -> Result<Vec<StaffAccount>>;
    fn staff_login(&self, username: &str, password: &str, now: i64) -> Result<StaffLogin>;
    fn create_staff_session(&self, username: &str, ttl_ms: i64) -> Result<String>;
    fn staff_session(&self, token: &str, now: i64) -> Result<Option<StaffAccount>>;
    fn end_staff_session(&self, token: &str) -> Result<()>;

    /// A share code for `person`'s book, made by `created_by` (the person or a
    /// guardian). Returns the share and the code, shown once.
    fn create_share(
        &self,
        person: i64,
        created_by: i64,
        scope: Scope,
        ttl_ms: i64,
    ) -> Result<(Share, String)>;
    fn shares_of(&self, person: i64) -> Result<Vec<Share>>;
    /// Revoke a share and every grant made from it. False when there is no such live share.
    fn revoke_share(&self, person: i64, id: i64, now: i64) -> Result<bool>;
    /// A grant for `staff` from a live share code; None when the code is unknown,
    /// expired or revoked.
    fn redeem_share(&self, code: &str, staff: &StaffAccount, now: i64) -> Result<Option<Grant>>;
    /// A grant on another basis (referral, break-glass), until `expires_at`.
    fn create_grant(
        &self,
        person: i64,
        staff: &StaffAccount,
        basis: Basis,
        scope: Scope,
        reason: &str,
        expires_at: i64,
    ) -> Result<Grant>;
    /// The caller's grant for the person that is live now (full before summary).
    fn live_grant(&self, username: &str, person: i64, now: i64) -> Result<Option<Grant>>;
    /// The caller's live grants (the clinician's patient list).
    fn live_grants_of(&self, username: &str, now: i64) -> Result<Vec<Grant>>;
    /// Every grant on a person's book, newest first (what the citizen sees).
    fn grants_on(&self, person: i64) -> Result<Vec<Grant>>;
    /// The grants on a person and on the persons merged into them, newest first: what
    /// the records of [`Access::audit_of`] rest on. (Access itself goes by
    /// [`Access::grants_on`] alone.)
    fn grants_on_merged(&self, person: i64) -> Result<Vec<Grant>>;
    /// Break-glass grants made at a facility, newest first.
    fn break_glass_of(&self, facility: &str) -> Result<Vec<Grant>>;
    fn review_break_glass(&self, person: i64, id: i64, reviewer: &str, note: &str) -> Result<bool>;
    /// The current episodes whose referral letter goes to `to_facility` with this number
    /// (numbers are the sending facility's: several may match).
    fn find_referrals(
        &self,
        to_facility: &str,
        number: &str,
        person: i64,
    ) -> Result<Vec<EpisodeRecord>>;
    /// Whether the person has an activated citizen account.
    fn has_citizen_account(&self, person: i64) -> Result<bool>;
    /// Where the population registry says a person lives (their unit), if listed.
    fn residence_of(&self, personal_id: &str) -> Result<Option<String>>;
    /// The person's guardians: (guardian, granted by, granted at), active ones.
    fn guardians_of(&self, ward: i64) -> Result<Vec<(PersonRecord, String, i64)>>;

    /// Record a read, chained to the person's previous record. Durable at return.
    fn append_audit(&self, e: &AuditEntry) -> Result<AuditRecord>;
    /// Append many records (a bulk export's) in one transaction.
    fn append_audits(&self, entries: &[AuditEntry]) -> Result<()>;

    /// Register a FHIR system client; returns it and its secret (shown once).
    fn add_fhir_client(
        &self,
        name: &str,
        unit: &str,
        scopes: &SmartScopes,
        created_by: &str,
    ) -> Result<(FhirClient, String)>;
    fn fhir_clients(&self) -> Result<Vec<FhirClient>>;
    /// Names of the registered health workers holding these practising certificates.
    fn practitioner_names(&self, certs: &[String]) -> Result<BTreeMap<String, String>>;
    /// Disable a client and end its tokens.
    fn disable_fhir_client(&self, client_id: &str) -> Result<bool>;
    /// The client, when `secret` is its secret (and it is active).
    fn check_fhir_client(&self, client_id: &str, secret: &str) -> Result<Option<FhirClient>>;
    /// A new access token of a checked client, for `scopes` (within the client's).
    fn issue_fhir_token(
        &self,
        client_id: &str,
        scopes: &SmartScopes,
        ttl_ms: i64,
    ) -> Result<String>;
    /// The live client and scopes of a token.
    fn fhir_token(&self, token: &str, now: i64) -> Result<Option<(FhirClient, SmartScopes)>>;
    /// A person's records, newest first, with those of the persons merged into them
    /// (each record keeps its own `person_id` and chain).
    fn audit_of(&self, person: i64) -> Result<Vec<AuditRecord>>;
    /// Recompute every chain; report edited, removed or reordered records.
    fn verify_audit(&self) -> Result<AuditReport>;
    /// Write a checkpoint of the records written since the last one to `file` (appended,
    /// fsynced) and return it. Records written afterwards are timed after it.
    fn audit_checkpoint(&self, file: &std::path::Path) -> Result<Checkpoint>;
    /// Check the checkpoint file against the store: each line chained and (with the
    /// audit key) authentic, and each window's records still exactly those written.
    /// Returns the number of checkpoints and each problem found.
    fn verify_checkpoints(&self, file: &std::path::Path) -> Result<(usize, Vec<String>)>;

    /// Whether the person came to `facility` (a check-in or an episode of theirs there)
    /// at or after `since` (`yyyyMMddHHmm`, Vietnam wall clock).
    fn presented_at(&self, person: i64, facility: &str, since: &str) -> Result<bool>;
    /// Identity conflicts recorded when this episode was linked (any version).
    fn identity_conflicts(&self, facility: &str, ma_lk: &str) -> Result<usize>;
}

/// The checkpoints of a file, in order (a missing file has none).
pub fn read_checkpoints(file: &std::path::Path) -> Result<Vec<Checkpoint>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(l) {
            Ok(cp) => out.push(cp),
            // A last line cut short by a crash while it was written: not a checkpoint.
            Err(_) if i + 1 == lines.len() && !complete => {}
            Err(e) => {
                return Err(StoreError::Invalid(format!(
                    "{} line {}: {e}",
                    file.display(),
                    i + 1
                )));
            }
        }
    }
    Ok(out)
}

/// The digest of a window of audit records and how many there are.
fn window_digest(db: &dyn Db, key: Option<&[u8]>, from: i64, to: i64) -> Result<(i64, String)> {
    let mut n = 0i64;
    let mut plain = sha2::Sha256::default();
    let mut keyed = key.and_then(|k| {
        use hmac::Mac;
        hmac::Hmac::<sha2::Sha256>::new_from_slice(k).ok()
    });
    db.query(Q::AuditWindow, args![from, to], &mut |r| {
        let (person, seq, hash): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let line = format!("{person}\0{seq}\0{hash}\0");
        match keyed.as_mut() {
            Some(m) => hmac::Mac::update(m, line.as_bytes()),
            None => sha2::Digest::update(&mut plain, line.as_bytes()),
        }
        n += 1;
        Ok(true)
    })?;
    let digest = match keyed {
        Some(m) => hex::encode(hmac::Mac::finalize(m).into_bytes()),
        None => hex::encode(sha2::Digest::finalize(plain)),
    };
    Ok((n, digest))
}

/// A unit from the columns code, name, level, parent, scheme.
fn unit_row(r: &Row<'_>) -> Result<Unit> {
    Ok(Unit {
        code: r.get(0)?,
        name: r.get(1)?,
        level: r.get(2)?,
        parent: r.get(3)?,
        scheme: r.get(4)?,
    })
}

/// A staff account from the columns username, full_name, role, unit, facility,
/// practising_cert, active.
fn staff_row(r: &Row<'_>) -> Result<StaffAccount> {
    let role: String = r.get(2)?;
    Ok(StaffAccount {
        username: r.get(0)?,
        full_name: r.get(1)?,
        role: Role::from_code(&role).unwrap_or(Role::Citizen),
        unit: r.get(3)?,
        facility: r.get(4)?,
        practising_cert: r.get(5)?,
        active: r.get(6)?,
    })
}

/// A share from the columns id, person_id, scope, created_by, created_at, expires_at,
/// revoked_at.
fn share_row(r: &Row<'_>) -> Result<Share> {
    let scope: String = r.get(2)?;
    Ok(Share {
        id: r.get(0)?,
        person_id: r.get(1)?,
        scope: Scope::from_code(&scope).unwrap_or(Scope::Summary),
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

/// A grant from the columns id, person_id, username, facility, basis, share_id, scope,
/// reason, created_at, expires_at, revoked_at, reviewed_by, reviewed_at, review_note.
/// Turn a live share code into a grant for `staff` (none when the code is unknown, spent,
/// revoked or already used at another facility). `hash`/`legacy`: the code's keyed and
/// pre-version-8 hashes; `id`: the new grant's.
pub(crate) fn redeem_share_tx(
    db: &dyn Db,
    hash: &str,
    legacy: &str,
    id: i64,
    staff: &StaffAccount,
    now: i64,
) -> Result<Option<Grant>> {
    let key: Option<(i64, i64)> = db.one(Q::ShareKey, args![hash, legacy], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let share: Option<Share> = match key {
        Some((person, id)) => db.one(Q::Share, args![person, id], share_row)?,
        None => None,
    };
    let Some(share) = share.filter(|s| s.live(now)) else {
        return Ok(None);
    };
    // A code serves the facility that first used it: a photographed code is useless
    // elsewhere.
    if db.exists(
        Q::ShareUsedElsewhere,
        args![share.person_id, share.id, staff.facility],
    )? {
        return Ok(None);
    }
    let g = Grant {
        id,
        person_id: share.person_id,
        username: staff.username.clone(),
        facility: staff.facility.clone(),
        basis: Basis::Consent,
        share_id: Some(share.id),
        scope: share.scope,
        reason: None,
        created_at: now,
        expires_at: share.expires_at,
        revoked_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_note: None,
    };
    insert_grant(db, &g)?;
    Ok(Some(g))
}

pub(crate) fn grant_row(db: &dyn Db, r: &Row<'_>) -> Result<Grant> {
    let id: i64 = r.get(0)?;
    let basis: String = r.get(4)?;
    let scope: String = r.get(6)?;
    Ok(Grant {
        id,
        person_id: r.get(1)?,
        username: r.get(2)?,
        facility: r.get(3)?,
        // An unknown basis or scope reads as the narrowest.
        basis: Basis::from_code(&basis).unwrap_or(Basis::BreakGlass),
        share_id: r.get(5)?,
        scope: Scope::from_code(&scope).unwrap_or(Scope::Summary),
        // A break-glass reason may describe the patient: sealed to the grant.
        reason: db.crypt().open_opt("grants.reason", id, r.get(7)?)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
        reviewed_by: r.get(11)?,
        reviewed_at: r.get(12)?,
        review_note: db.crypt().open_opt("grants.review_note", id, r.get(13)?)?,
    })
}

pub(crate) fn insert_grant(db: &dyn Db, g: &Grant) -> Result<()> {
    db.exec(
        Q::InsertGrant,
        args![
            g.id,
            g.person_id,
            g.username,
            g.facility,
            g.basis.code(),
            g.share_id,
            g.scope.code(),
            db.crypt()
                .seal_opt("grants.reason", g.id, g.reason.as_deref())?,
            g.created_at,
            g.expires_at
        ],
    )?;
    Ok(())
}

/// Where a facility is: its unit and those above it (the province alone when it names
/// no unit).
pub(crate) fn place_of_facility(db: &dyn Db, code: &str) -> Result<Option<Place>> {
    let row: Option<(String, Option<String>)> = db.one(Q::FacilityPlace, args![code], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let Some((province, unit)) = row else {
        return Ok(None);
    };
    let mut place = match unit {
        Some(u) => place_of_unit(db, &u)?,
        None => Place::default(),
    };
    if place.province.is_none() && !province.is_empty() {
        place.province = Some(province);
    }
    place.facility = Some(code.to_string());
    Ok(Some(place))
}

/// The newest version of a unit code (the one in force today when there is one: a
/// bare code names today's unit, a district names a pre-2025 one): its level, scheme
/// and last day in force.
pub(crate) fn unit_newest(db: &dyn Db, code: &str) -> Result<Option<UnitVersion>> {
    db.one(Q::UnitNewest, args![code], |r| {
        Ok(UnitVersion {
            level: r.get(0)?,
            scheme: r.get(1)?,
            valid_to: r.get(2)?,
        })
    })
}

/// A unit as a code resolves to: see [`unit_newest`].
pub(crate) struct UnitVersion {
    pub level: String,
    pub scheme: String,
    pub valid_to: Option<String>,
}

/// Where a unit is: the newest version of the code and its parents in the same scheme.
fn place_of_unit(db: &dyn Db, code: &str) -> Result<Place> {
    let mut place = Place::default();
    let Some(first) = unit_newest(db, code)? else {
        return Ok(place);
    };
    let scheme = first.scheme;
    let mut next = Some(code.to_string());
    // Walk up; the depth bound guards against a cycle in imported data.
    for _ in 0..4 {
        let Some(code) = next.take() else { break };
        let mut row: Option<(String, Option<String>)> =
            db.one(Q::UnitInScheme, args![code, scheme], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if row.is_none() {
            // A parent of the other scheme (see `save_unit`).
            row = db.one(Q::UnitLevelParent, args![code], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        }
        let Some((level, parent)) = row else { break };
        match level.as_str() {
            "province" => place.province = Some(code),
            "district" => place.district = Some(code),
            "commune" => place.commune = Some(code),
            _ => {}
        }
        next = parent;
    }
    Ok(place)
}

fn save_unit(db: &dyn Db, u: &Unit) -> Result<()> {
    if u.code.is_empty() || !u.code.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Invalid(format!(
            "unit code {:?} must be digits",
            u.code
        )));
    }
    if u.name.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "unit {}: name is empty",
            u.code
        )));
    }
    if !UNIT_LEVELS.contains(&u.level.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unit {}: level {:?} is not one of {UNIT_LEVELS:?}",
            u.code, u.level
        )));
    }
    if !UNIT_SCHEMES.contains(&u.scheme.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unit {}: scheme {:?} is not one of {UNIT_SCHEMES:?}",
            u.code, u.scheme
        )));
    }
    if (u.level == "province") != u.parent.is_none() {
        return Err(StoreError::Invalid(format!(
            "unit {}: a province has no parent, every other unit has one",
            u.code
        )));
    }
    if let Some(parent) = &u.parent {
        // The parent of the same scheme; a store that holds only the other scheme's
        // (a 2025 commune added under a province imported before) takes that one.
        let p: Option<String> =
            match db.one(Q::UnitInScheme, args![parent, u.scheme], |r| r.get(0))? {
                Some(level) => Some(level),
                None => db.one(Q::UnitLevelParent, args![parent], |r| r.get(0))?,
            };
        let ok = match (p.as_deref(), u.level.as_str(), u.scheme.as_str()) {
            (Some(l), "district", _) => l == "province",
            (Some(l), "commune", "pre2025") => l == "district",
            (Some(l), "commune", _) => l == "province",
            _ => false,
        };
        if !ok {
            return Err(StoreError::Invalid(format!(
                "unit {}: parent {parent} is missing or at the wrong level for a {} of scheme {}",
                u.code, u.level, u.scheme
            )));
        }
    }
    db.exec(
        Q::UpsertUnit,
        args![
            u.code,
            u.name,
            u.level,
            u.parent,
            u.scheme,
            now_ms(),
            u.valid_from(),
            u.valid_to()
        ],
    )?;
    Ok(())
}

/// Check and save lineage lines (the old unit's lines replace its previous ones).
/// Errors are in Vietnamese: they are shown to the operator who imports the file.
fn save_lineage(db: &dyn Db, links: &[UnitLink]) -> Result<usize> {
    let level_of = |code: &str, scheme: &str| -> Result<Option<String>> {
        db.one(Q::UnitInScheme, args![code, scheme], |r| r.get(0))
    };
    let mut by_old: BTreeMap<(&str, &str), Vec<&UnitLink>> = BTreeMap::new();
    for l in links {
        if !UNIT_RELATIONS.contains(&l.relation.as_str()) {
            return Err(StoreError::Invalid(format!(
                "{} {} → {}: quan hệ {:?} không thuộc {UNIT_RELATIONS:?}",
                l.old_level, l.old_code, l.new_code, l.relation
            )));
        }
        if level_of(&l.old_code, "pre2025")?.as_deref() != Some(l.old_level.as_str()) {
            return Err(StoreError::Invalid(format!(
                "không có đơn vị cũ (trước 01/07/2025) cấp {} mã {}",
                l.old_level, l.old_code
            )));
        }
        if level_of(&l.new_code, "2025")?.as_deref() != Some(l.new_level.as_str()) {
            return Err(StoreError::Invalid(format!(
                "không có đơn vị mới (từ 01/07/2025) cấp {} mã {}",
                l.new_level, l.new_code
            )));
        }
        let levels_ok = match l.old_level.as_str() {
            "province" => l.new_level == "province",
            _ => l.new_level == "commune",
        };
        if !levels_ok {
            return Err(StoreError::Invalid(format!(
                "{} {} → {} {}: tỉnh nối với tỉnh, huyện và xã cũ nối với xã mới",
                l.old_level, l.old_code, l.new_level, l.new_code
            )));
        }
        by_old
            .entry((l.old_level.as_str(), l.old_code.as_str()))
            .or_default()
            .push(l);
    }
    for ((level, code), lines) in &by_old {
        let split = lines
            .iter()
            .filter(|l| l.relation == "split_partial")
            .count();
        // An old unit either went whole into one new unit, or was divided between
        // several (each line split_partial). Provinces were merged whole.
        let ok = if *level == "province" {
            lines.len() == 1 && split == 0
        } else if lines.len() == 1 {
            split == 0
        } else {
            split == lines.len()
        };
        if !ok {
            return Err(StoreError::Invalid(format!(
                "{level} {code}: một đơn vị cũ vào trọn một đơn vị mới (same, renamed, \
                 merged_full), hoặc bị chia cho nhiều đơn vị mới, mỗi dòng split_partial \
                 (tỉnh chỉ được sáp nhập nguyên trạng)"
            )));
        }
        db.exec(Q::UnitLinksDelete, args![level, code])?;
        for l in lines {
            db.exec(
                Q::InsertUnitLink,
                args![
                    l.old_level,
                    l.old_code,
                    l.new_level,
                    l.new_code,
                    l.relation,
                    l.note,
                    now_ms()
                ],
            )?;
        }
    }
    Ok(links.len())
}

fn save_facility(db: &dyn Db, f: &Facility) -> Result<()> {
    if !dossier::ids::is_facility(&f.code) {
        return Err(StoreError::Invalid(format!(
            "facility code {:?} must be 5 digits",
            f.code
        )));
    }
    if !FACILITY_KINDS.contains(&f.kind.as_str()) {
        return Err(StoreError::Invalid(format!(
            "facility {}: kind {:?} is not one of {FACILITY_KINDS:?}",
            f.code, f.kind
        )));
    }
    if f.name.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "facility {}: name is empty",
            f.code
        )));
    }
    if let Some(u) = &f.unit
        && !db.exists(Q::UnitExists, args![u])?
    {
        return Err(StoreError::Invalid(format!(
            "facility {}: unit {u} is not registered",
            f.code
        )));
    }
    db.exec(
        Q::UpsertFacility,
        args![
            f.code,
            f.name,
            f.province,
            f.kind,
            f.bhyt_contract,
            now_ms(),
            f.unit
        ],
    )?;
    Ok(())
}

/// Append `entries` (in their order; several may be of one person) as
/// [`append_audit_tx`] appends each, with a fixed number of statements: every chain's
/// lock in one statement (in the order of the persons, so two appenders never wait for
/// each other in a circle), every head in one, the records and the new heads in
/// multi-row writes.
pub(crate) fn append_audits_tx(
    db: &dyn Db,
    key: Option<&[u8]>,
    entries: &[AuditEntry],
    at: i64,
) -> Result<()> {
    let mut persons: Vec<i64> = entries.iter().map(|e| e.person_id).collect();
    persons.sort_unstable();
    persons.dedup();
    let locks: Vec<String> = persons.iter().map(|p| format!("audit\u{1f}{p}")).collect();
    db.exists(Q::LockKeys, args![locks])?;
    let mut heads: HashMap<i64, (i64, String)> = HashMap::new();
    db.query(Q::AuditHeadsOf, args![persons], &mut |r| {
        heads.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        Ok(true)
    })?;
    let floor: i64 = db.value(Q::AuditCheckpointFloor, args![])?;
    let at = at.max(floor + 1);
    let mut records: Vec<(i64, i64, String, String)> = Vec::with_capacity(entries.len());
    for e in entries {
        let (prev_seq, prev_hash) = heads
            .get(&e.person_id)
            .cloned()
            .unwrap_or((0, GENESIS.to_string()));
        let seq = prev_seq + 1;
        let hash = audit_hash(key, &prev_hash, e.person_id, seq, at, &audit_fields(e));
        heads.insert(e.person_id, (seq, hash.clone()));
        records.push((e.person_id, seq, prev_hash, hash));
    }
    let rows: Vec<Vec<Arg<'_>>> = entries
        .iter()
        .zip(&records)
        .map(|(e, (person, seq, prev_hash, hash))| {
            vec![
                Arg::Int(*person),
                Arg::Int(*seq),
                Arg::Int(at),
                Arg::Text(&e.actor),
                Arg::Text(e.role.code()),
                opt_text(&e.facility),
                Arg::Text(&e.action),
                opt_text(&e.target),
                Arg::Text(e.basis.code()),
                e.grant_id.map_or(Arg::Null, Arg::Int),
                Arg::Text(prev_hash),
                Arg::Text(hash),
                opt_text(&e.actor_name),
                opt_text(&e.actor_cert),
            ]
        })
        .collect();
    db.insert_rows(
        "audit_log",
        &cols(&[
            "person_id",
            "seq",
            "at",
            "actor",
            "role",
            "facility",
            "action",
            "target",
            "basis",
            "grant_id",
            "prev_hash",
            "hash",
            "actor_name",
            "actor_cert",
        ]),
        &rows,
    )?;
    let head_rows: Vec<Vec<Arg<'_>>> = persons
        .iter()
        .filter_map(|p| {
            heads
                .get(p)
                .map(|(seq, hash)| vec![Arg::Int(*p), Arg::Int(*seq), Arg::Text(hash)])
        })
        .collect();
    db.upsert_rows(
        "audit_heads",
        &cols(&["person_id", "seq", "hash"]),
        &head_rows,
        "ON CONFLICT (person_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )?;
    Ok(())
}

/// The hashed fields of an entry.
fn audit_fields(e: &AuditEntry) -> AuditFields<'_> {
    AuditFields {
        actor: &e.actor,
        role: e.role.code(),
        facility: e.facility.as_deref(),
        action: &e.action,
        target: e.target.as_deref(),
        basis: e.basis.code(),
        grant_id: e.grant_id,
        actor_name: e.actor_name.as_deref(),
        actor_cert: e.actor_cert.as_deref(),
    }
}

/// Append one record to its person's chain, inside the transaction of `db`.
/// A person's audit records, newest first, with those of the persons merged into them.
pub(crate) fn audit_of(db: &dyn Db, person: i64) -> Result<Vec<AuditRecord>> {
    let family = crate::core::merged_family(db, person)?;
    db.all(Q::AuditOf, args![family], |r| {
        Ok(AuditRecord {
            person_id: r.get(0)?,
            seq: r.get(1)?,
            at: r.get(2)?,
            actor: r.get(3)?,
            actor_name: r.get(4)?,
            practising_cert: r.get(5)?,
            role: r.get(6)?,
            facility: r.get(7)?,
            action: r.get(8)?,
            target: open_target(db, r.get(0)?, r.get(1)?, r.get(9)?)?,
            basis: r.get(10)?,
            grant_id: r.get(11)?,
            hash: r.get(12)?,
        })
    })
}

pub(crate) fn append_audit_tx(
    db: &dyn Db,
    key: Option<&[u8]>,
    e: &AuditEntry,
    at: i64,
) -> Result<AuditRecord> {
    // Two servers appending to one chain take turns instead of both writing record N + 1.
    db.exists(Q::LockKey, args![format!("audit\u{1f}{}", e.person_id)])?;
    let head: Option<(i64, String)> = db
        .one(Q::AuditHead, args![e.person_id], |r| {
            Ok(r.get::<Option<i64>>(0)?.zip(r.get::<Option<String>>(1)?))
        })?
        .flatten();
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
    let seq = prev_seq + 1;
    // Always after the last checkpoint's window, even if the clock stepped back: a
    // checkpointed window never gains a record.
    let floor: i64 = db.value(Q::AuditCheckpointFloor, args![])?;
    let at = at.max(floor + 1);
    let fields = audit_fields(e);
    let hash = audit_hash(key, &prev_hash, e.person_id, seq, at, &fields);
    // The chain hashes the target in clear; the table keeps it sealed (a referral
    // number, a resource, a break-glass review).
    let target = seal_target(db, e.person_id, seq, e.target.as_deref())?;
    db.exec(
        Q::InsertAudit,
        args![
            e.person_id,
            seq,
            at,
            e.actor,
            fields.role,
            e.facility,
            e.action,
            target,
            fields.basis,
            e.grant_id,
            prev_hash,
            hash,
            e.actor_name,
            e.actor_cert
        ],
    )?;
    db.exec(Q::UpsertAuditHead, args![e.person_id, seq, hash])?;
    Ok(AuditRecord {
        person_id: e.person_id,
        seq,
        at,
        actor: e.actor.clone(),
        actor_name: e.actor_name.clone(),
        practising_cert: e.actor_cert.clone(),
        role: fields.role.to_string(),
        facility: e.facility.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        basis: fields.basis.to_string(),
        grant_id: e.grant_id,
        hash,
    })
}

impl<B: Backend> Access for Engine<B> {
    fn upsert_unit(&self, u: &Unit) -> Result<()> {
        self.import_units(std::slice::from_ref(u)).map(|_| ())
    }

    fn import_units(&self, units: &[Unit]) -> Result<usize> {
        self.write(|db| {
            for u in units {
                save_unit(db, u)?;
            }
            Ok(units.len())
        })
    }

    fn import_facilities(&self, facilities: &[Facility]) -> Result<usize> {
        self.write(|db| {
            for f in facilities {
                save_facility(db, f)?;
            }
            Ok(facilities.len())
        })
    }

    fn units(&self) -> Result<Vec<Unit>> {
        self.read(|db| db.all(Q::Units, args![], unit_row))
    }

    fn import_unit_lineage(&self, links: &[UnitLink]) -> Result<usize> {
        self.write(|db| save_lineage(db, links))
    }

    fn unit_lineage(&self) -> Result<Vec<UnitLink>> {
        self.read(|db| {
            db.all(Q::UnitLinks, args![], |r| {
                Ok(UnitLink {
                    old_level: r.get(0)?,
                    old_code: r.get(1)?,
                    new_level: r.get(2)?,
                    new_code: r.get(3)?,
                    relation: r.get(4)?,
                    note: r.get(5)?,
                })
            })
        })
    }

    fn place_of_unit(&self, code: &str) -> Result<Place> {
        self.read(|db| place_of_unit(db, code))
    }

    fn place_of_facility(&self, code: &str) -> Result<Option<Place>> {
        self.read(|db| place_of_facility(db, code))
    }

    fn facilities(&self) -> Result<Vec<Facility>> {
        self.read(|db| db.all(Q::Facilities, args![], crate::core::facility_row))
    }

    fn upsert_staff(&self, a: &StaffAccount, password: Option<&str>) -> Result<()> {
        let name_ok = !a.username.is_empty()
            && a.username.len() <= 64
            && a.username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok {
            return Err(StoreError::Invalid(format!(
                "username {:?}: letters, digits, '.', '_' or '-', at most 64",
                a.username
            )));
        }
        if !a.role.is_staff() {
            return Err(StoreError::Invalid(format!(
                "role {} is not a staff role",
                a.role.code()
            )));
        }
        use book::access::ScopeNeeded;
        let scope_ok = match a.role.scope_needed() {
            ScopeNeeded::Nothing => true,
            ScopeNeeded::Province | ScopeNeeded::District | ScopeNeeded::Commune => {
                a.unit.is_some()
            }
            ScopeNeeded::Facility => a.facility.is_some(),
        };
        if !scope_ok {
            return Err(StoreError::Invalid(format!(
                "a {} account needs its {}",
                a.role.code(),
                match a.role.scope_needed() {
                    ScopeNeeded::Facility => "facility",
                    _ => "unit",
                }
            )));
        }
        if a.role == Role::Clinician && a.practising_cert.as_deref().is_none_or(str::is_empty) {
            return Err(StoreError::Invalid(
                "a clinician account needs the practising-certificate number".into(),
            ));
        }
        if let Some(p) = password
            && p.chars().count() < 8
        {
            return Err(StoreError::Invalid(
                "password: at least 8 characters".into(),
            ));
        }
        let hash = password.map(hash_password).transpose()?;
        self.write(|db| {
            if let Some(f) = &a.facility
                && !db.exists(Q::FacilityExists, args![f])?
            {
                return Err(StoreError::Invalid(format!(
                    "facility {f} is not registered"
                )));
            }
            if let Some(u) = &a.unit {
                let Some(v) = unit_newest(db, u)? else {
                    return Err(StoreError::Invalid(format!("unit {u} is not registered")));
                };
                // A district officer exists only for the units before the 2025 reform.
                book::access::scope_unit(a.role, &v.level, v.valid_to.as_deref())
                    .map_err(|d| StoreError::Invalid(d.message.to_string()))?;
            }
            let exists = db.exists(Q::StaffExists, args![a.username])?;
            match (exists, &hash) {
                (false, None) => {
                    return Err(StoreError::Invalid("a new account needs a password".into()));
                }
                (false, Some(h)) => {
                    db.exec(
                        Q::InsertStaff,
                        args![
                            a.username,
                            a.full_name,
                            a.role.code(),
                            a.unit,
                            a.facility,
                            a.practising_cert,
                            h,
                            a.active,
                            now_ms()
                        ],
                    )?;
                }
                (true, h) => {
                    db.exec(
                        Q::UpdateStaff,
                        args![
                            a.username,
                            a.full_name,
                            a.role.code(),
                            a.unit,
                            a.facility,
                            a.practising_cert,
                            a.active
                        ],
                    )?;
                    if let Some(h) = h {
                        db.exec(Q::StaffPassword, args![a.username, h])?;
                    }
                    // A new password or a lock ends every session of the account.
                    if h.is_some() || !a.active {
                        db.exec(Q::StaffSessionsDeleteOf, args![a.username])?;
                    }
                }
            }
            Ok(())
        })
    }

    fn staff(&self, username: &str) -> Result<Option<StaffAccount>> {
        self.read(|db| db.one(Q::Staff, args![username], staff_row))
    }

    fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        self.read(|db| db.all(Q::StaffList, args![], staff_row))
    }

    fn staff_login(&self, username: &str, password: &str, now: i64) -> Result<StaffLogin> {
        let row: Option<(StaffAccount, String)> = self.read(|db| {
            db.one(Q::StaffWithPassword, args![username], |r| {
                Ok((staff_row(r)?, r.get(7)?))
            })
        })?;
        let Some((account, hash)) = row.filter(|r| r.0.active) else {
            // Spend the same time whether or not the account exists.
            let _ = hash_password(password);
            return Ok(StaffLogin::NoAccount);
        };
        // Repeated failures are slowed down by the server per client address and
        // account; no lock in the store that anyone knowing a username could trigger.
        let _ = now;
        Ok(if crate::core::password_ok(&hash, password)? {
            StaffLogin::Ok(account)
        } else {
            StaffLogin::Wrong
        })
    }

    fn create_staff_session(&self, username: &str, ttl_ms: i64) -> Result<String> {
        let token = new_token();
        let now = now_ms();
        self.write(|db| {
            db.exec(Q::StaffSessionsExpire, args![username, now])?;
            db.exec(
                Q::InsertStaffSession,
                args![hash_hex(&[&token]), username, now, now + ttl_ms],
            )?;
            Ok(())
        })?;
        Ok(token)
    }

    fn staff_session(&self, token: &str, now: i64) -> Result<Option<StaffAccount>> {
        self.read(|db| db.one(Q::StaffSession, args![hash_hex(&[token]), now], staff_row))
    }

    fn end_staff_session(&self, token: &str) -> Result<()> {
        self.write(|db| {
            db.exec(Q::StaffSessionDelete, args![hash_hex(&[token])])?;
            Ok(())
        })
    }

    fn create_share(
        &self,
        person: i64,
        created_by: i64,
        scope: Scope,
        ttl_ms: i64,
    ) -> Result<(Share, String)> {
        if ttl_ms <= 0 || ttl_ms > MAX_SHARE_MS {
            return Err(StoreError::Invalid(format!(
                "a share code lasts between a minute and {} days",
                MAX_SHARE_MS / 86_400_000
            )));
        }
        let code = new_share_code();
        let now = now_ms();
        let share = Share {
            id: self.next_id(),
            person_id: person,
            scope,
            created_by,
            created_at: now,
            expires_at: now + ttl_ms,
            revoked_at: None,
        };
        let code_hash = self.keyed(&["share", &code]);
        self.write(|db| {
            db.exec(
                Q::InsertShare,
                args![
                    share.id,
                    person,
                    scope.code(),
                    created_by,
                    share.created_at,
                    share.expires_at,
                    code_hash
                ],
            )?;
            db.exec(Q::InsertShareKey, args![code_hash, person, share.id])?;
            Ok(())
        })?;
        Ok((share, code))
    }

    fn shares_of(&self, person: i64) -> Result<Vec<Share>> {
        self.read(|db| db.all(Q::SharesOf, args![person], share_row))
    }

    fn revoke_share(&self, person: i64, id: i64, now: i64) -> Result<bool> {
        self.write(|db| {
            let n = db.exec(Q::RevokeShare, args![person, id, now])?;
            db.exec(Q::RevokeGrantsOfShare, args![person, id, now])?;
            Ok(n > 0)
        })
    }

    fn redeem_share(&self, code: &str, staff: &StaffAccount, now: i64) -> Result<Option<Grant>> {
        self.write(|db| self.tx(db).redeem_share(code, staff, now))
    }

    fn create_grant(
        &self,
        person: i64,
        staff: &StaffAccount,
        basis: Basis,
        scope: Scope,
        reason: &str,
        expires_at: i64,
    ) -> Result<Grant> {
        self.write(|db| {
            self.tx(db)
                .create_grant(person, staff, basis, scope, reason, now_ms(), expires_at)
        })
    }

    fn live_grant(&self, username: &str, person: i64, now: i64) -> Result<Option<Grant>> {
        self.read(|db| {
            db.one(Q::LiveGrant, args![username, person, now], |r| {
                grant_row(db, r)
            })
        })
    }

    fn live_grants_of(&self, username: &str, now: i64) -> Result<Vec<Grant>> {
        self.read(|db| db.all(Q::LiveGrantsOf, args![username, now], |r| grant_row(db, r)))
    }

    fn grants_on(&self, person: i64) -> Result<Vec<Grant>> {
        self.read(|db| self.tx(db).grants_on(person))
    }

    fn grants_on_merged(&self, person: i64) -> Result<Vec<Grant>> {
        self.read(|db| self.tx(db).grants_on_merged(person))
    }

    fn break_glass_of(&self, facility: &str) -> Result<Vec<Grant>> {
        self.read(|db| db.all(Q::BreakGlassOf, args![facility], |r| grant_row(db, r)))
    }

    fn review_break_glass(&self, person: i64, id: i64, reviewer: &str, note: &str) -> Result<bool> {
        self.write(|db| {
            // The reviewer's note may describe the patient: sealed to the grant.
            let note = db.crypt().seal_str("grants.review_note", id, note)?;
            let n = db.exec(
                Q::ReviewBreakGlass,
                args![person, id, reviewer, now_ms(), note],
            )?;
            Ok(n > 0)
        })
    }

    fn find_referrals(
        &self,
        to_facility: &str,
        number: &str,
        person: i64,
    ) -> Result<Vec<EpisodeRecord>> {
        self.read(|db| {
            db.all(Q::FindReferrals, args![to_facility, number, person], |r| {
                episode_row(db, r)
            })
        })
    }

    fn has_citizen_account(&self, person: i64) -> Result<bool> {
        self.read(|db| db.exists(Q::CitizenAccountExists, args![person]))
    }

    fn residence_of(&self, personal_id: &str) -> Result<Option<String>> {
        self.read(|db| {
            let key = crate::reports::resident_key(db, personal_id)?;
            db.one(Q::ResidenceOf, args![key], |r| r.get(0))
        })
    }

    fn guardians_of(&self, ward: i64) -> Result<Vec<(PersonRecord, String, i64)>> {
        let rows: Vec<(i64, String, i64)> = self.read(|db| {
            db.all(Q::GuardiansOf, args![ward], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })?;
        let mut out = Vec::new();
        for (g, by, at) in rows {
            if let Some(p) = self.person(g)? {
                out.push((p, by, at));
            }
        }
        Ok(out)
    }

    fn append_audit(&self, e: &AuditEntry) -> Result<AuditRecord> {
        // The clock is read under the write lock, so that a chain's times follow its order.
        self.write(|db| append_audit_tx(db, self.audit_key(), e, now_ms()))
    }

    fn append_audits(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|db| append_audits_tx(db, self.audit_key(), entries, now_ms()))
    }

    fn audit_of(&self, person: i64) -> Result<Vec<AuditRecord>> {
        self.read(|db| audit_of(db, person))
    }

    fn add_fhir_client(
        &self,
        name: &str,
        unit: &str,
        scopes: &SmartScopes,
        created_by: &str,
    ) -> Result<(FhirClient, String)> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "name: tên hệ thống không được để trống".into(),
            ));
        }
        if !self.read(|db| db.exists(Q::UnitExists, args![unit]))? {
            return Err(StoreError::Invalid(format!(
                "unit: không có đơn vị hành chính mã {unit}"
            )));
        }
        let client = FhirClient {
            client_id: format!("hbc-{}", uuid::Uuid::new_v4().simple()),
            name: name.trim().to_string(),
            unit: unit.to_string(),
            scopes: scopes.clone(),
            created_at: now_ms(),
            created_by: created_by.to_string(),
            active: true,
        };
        let secret = new_token();
        let hash = hash_hex(&[&secret]);
        self.write(|db| {
            db.exec(
                Q::InsertFhirClient,
                args![
                    client.client_id,
                    client.name,
                    client.unit,
                    scopes.to_scope_string(),
                    client.created_at,
                    client.created_by,
                    hash
                ],
            )?;
            Ok(())
        })?;
        Ok((client, secret))
    }

    fn practitioner_names(&self, certs: &[String]) -> Result<BTreeMap<String, String>> {
        if certs.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.read(|db| {
            Ok(db
                .all(Q::PractitionerNames, args![certs], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .into_iter()
                .collect())
        })
    }

    fn fhir_clients(&self) -> Result<Vec<FhirClient>> {
        self.read(|db| db.all(Q::FhirClients, args![], fhir_client_row))
    }

    fn disable_fhir_client(&self, client_id: &str) -> Result<bool> {
        self.write(|db| {
            let n = db.exec(Q::DisableFhirClient, args![client_id])?;
            db.exec(Q::FhirTokensDeleteOf, args![client_id])?;
            Ok(n > 0)
        })
    }

    fn check_fhir_client(&self, client_id: &str, secret: &str) -> Result<Option<FhirClient>> {
        let row: Option<(FhirClient, String)> = self.read(|db| {
            db.one(Q::FhirClientWithSecret, args![client_id], |r| {
                Ok((fhir_client_row(r)?, r.get(7)?))
            })
        })?;
        // The secret is 244 random bits: its SHA-256 is kept, as for tokens, so a check
        // costs no argon2 time (and cannot starve sign-ins).
        Ok(row.and_then(|(client, hash)| (hash_hex(&[secret]) == hash).then_some(client)))
    }

    fn issue_fhir_token(
        &self,
        client_id: &str,
        scopes: &SmartScopes,
        ttl_ms: i64,
    ) -> Result<String> {
        let token = new_token();
        let now = now_ms();
        self.write(|db| {
            db.exec(Q::FhirTokensExpire, args![client_id, now])?;
            db.exec(
                Q::InsertFhirToken,
                args![
                    hash_hex(&[&token]),
                    client_id,
                    scopes.to_scope_string(),
                    now,
                    now + ttl_ms
                ],
            )?;
            Ok(())
        })?;
        Ok(token)
    }

    fn fhir_token(&self, token: &str, now: i64) -> Result<Option<(FhirClient, SmartScopes)>> {
        self.read(|db| {
            db.one(Q::FhirToken, args![hash_hex(&[token]), now], |r| {
                let scopes: String = r.get(7)?;
                Ok((
                    fhir_client_row(r)?,
                    SmartScopes::parse(&scopes).unwrap_or_default(),
                ))
            })
        })
    }

    fn audit_checkpoint(&self, file: &std::path::Path) -> Result<Checkpoint> {
        let key = self.audit_key().map(<[u8]>::to_vec);
        // Read under the store's write lock: two writers (serve and the command) never
        // both append checkpoint N + 1.
        self.write(|db| {
            db.exec(Q::LockCheckpoints, args![])?;
            let previous = read_checkpoints(file)?;
            let last = previous.last();
            let from = last.map_or(0, |c| c.to);
            let newest: i64 = db.value(Q::AuditNewest, args![])?;
            let to = now_ms().max(newest).max(from);
            let (records, digest) = window_digest(db, key.as_deref(), from, to)?;
            let mut cp = Checkpoint {
                seq: last.map_or(1, |c| c.seq + 1),
                from,
                to,
                records,
                digest,
                prev: last.map_or_else(|| GENESIS.to_string(), |c| c.mac.clone()),
                mac: String::new(),
            };
            cp.mac = cp.compute_mac(key.as_deref());
            db.exec(
                Q::UpsertAuditCheckpoint,
                args![cp.seq, cp.to, cp.records, cp.digest],
            )?;
            // Appended and on disk before the transaction ends.
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(file)?;
            let line =
                serde_json::to_string(&cp).map_err(|e| StoreError::Invalid(e.to_string()))?;
            // After a write cut short (no final newline), start on a line of its own.
            let torn = std::fs::read(file).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n'));
            let lead = if torn { "\n" } else { "" };
            f.write_all(format!("{lead}{line}\n").as_bytes())?;
            f.sync_all()?;
            Ok(cp)
        })
    }

    fn verify_checkpoints(&self, file: &std::path::Path) -> Result<(usize, Vec<String>)> {
        let key = self.audit_key().map(<[u8]>::to_vec);
        let cps = read_checkpoints(file)?;
        let mut problems = Vec::new();
        let mut prev_mac = GENESIS.to_string();
        let mut prev_to = 0;
        let mut prev_seq = 0;
        self.read(|db| {
            for cp in &cps {
                if cp.seq != prev_seq + 1 || cp.prev != prev_mac || cp.from != prev_to {
                    problems.push(format!(
                        "checkpoint {}: does not follow checkpoint {prev_seq} (a checkpoint was removed, reordered or inserted)",
                        cp.seq
                    ));
                }
                if cp.compute_mac(key.as_deref()) != cp.mac {
                    problems.push(format!(
                        "checkpoint {}: its line was changed (or it was made under another audit key)",
                        cp.seq
                    ));
                }
                let (records, digest) = window_digest(db, key.as_deref(), cp.from, cp.to)?;
                if records != cp.records || digest != cp.digest {
                    problems.push(format!(
                        "checkpoint {}: the records written between {} and {} are not those checkpointed ({} then, {} now): records were removed, changed or added",
                        cp.seq, cp.from, cp.to, cp.records, records
                    ));
                }
                prev_mac = cp.mac.clone();
                prev_to = cp.to;
                prev_seq = cp.seq;
            }
            Ok(())
        })?;
        Ok((cps.len(), problems))
    }

    fn presented_at(&self, person: i64, facility: &str, since: &str) -> Result<bool> {
        let Some(p) = self.person(person)? else {
            return Ok(false);
        };
        let mut ids: Vec<(book::IdKind, String)> = p
            .identifiers
            .iter()
            .filter(|i| matches!(i.kind, book::IdKind::PersonalId | book::IdKind::BhytCard))
            .map(|i| (i.kind, i.value.clone()))
            .collect();
        if let Some(pid) = p.personal_id.clone() {
            ids.push((book::IdKind::PersonalId, pid));
        }
        self.read(|db| {
            if db.exists(Q::EpisodeAtSince, args![person, facility, since])? {
                return Ok(true);
            }
            // Check-ins are found by the blind indexes of the personal ID and the card.
            let ids: Vec<String> = ids
                .iter()
                .map(|(k, v)| db.crypt().blind(k.code(), v))
                .collect::<Result<_>>()?;
            db.exists(Q::CheckinAtSince, args![facility, since, ids])
        })
    }

    fn identity_conflicts(&self, facility: &str, ma_lk: &str) -> Result<usize> {
        self.read(|db| db.value(Q::IdentityConflicts, args![facility, ma_lk]))
    }

    fn verify_audit(&self) -> Result<AuditReport> {
        self.read(|db| {
            let mut report = AuditReport::default();
            // (person, last seq, last hash) of the chain being walked.
            let mut cur: Option<(i64, i64, String)> = None;
            let mut tails: Vec<(i64, i64, String)> = Vec::new();
            db.query(Q::AuditAll, args![], &mut |r| {
                let person: i64 = r.get(0)?;
                let seq: i64 = r.get(1)?;
                let at: i64 = r.get(2)?;
                let (actor, role): (String, String) = (r.get(3)?, r.get(4)?);
                let facility: Option<String> = r.get(5)?;
                let action: String = r.get(6)?;
                let target = match open_target(db, person, seq, r.get(7)?) {
                    Ok(t) => t,
                    Err(_) => {
                        report.problems.push(format!(
                            "person {person}: record {seq}: its target does not open (altered or moved)"
                        ));
                        None
                    }
                };
                let basis: String = r.get(8)?;
                let grant_id: Option<i64> = r.get(9)?;
                let prev_hash: String = r.get(10)?;
                let hash: String = r.get(11)?;
                let actor_name: Option<String> = r.get(12)?;
                let actor_cert: Option<String> = r.get(13)?;
                report.records += 1;
                let (expect_seq, expect_prev) = match &cur {
                    Some((p, s, h)) if *p == person => (s + 1, h.clone()),
                    _ => {
                        if let Some(t) = cur.take() {
                            tails.push(t);
                        }
                        report.persons += 1;
                        (1, GENESIS.to_string())
                    }
                };
                if seq != expect_seq {
                    report.problems.push(format!(
                        "person {person}: record {seq} follows record {} (records {expect_seq}–{} are missing)",
                        expect_seq - 1,
                        seq - 1
                    ));
                }
                if prev_hash != expect_prev {
                    report.problems.push(format!(
                        "person {person}: record {seq} does not link to the record before it"
                    ));
                }
                let fields = AuditFields {
                    actor: &actor,
                    role: &role,
                    facility: facility.as_deref(),
                    action: &action,
                    target: target.as_deref(),
                    basis: &basis,
                    grant_id,
                    actor_name: actor_name.as_deref(),
                    actor_cert: actor_cert.as_deref(),
                };
                if audit_hash(self.audit_key(), &prev_hash, person, seq, at, &fields) != hash {
                    report.problems.push(format!(
                        "person {person}: record {seq} was changed after it was written"
                    ));
                }
                cur = Some((person, seq, hash));
                Ok(true)
            })?;
            if let Some(t) = cur.take() {
                tails.push(t);
            }
            // The heads table must agree with where every chain ends.
            let heads: Vec<(i64, i64, String)> = db.all(Q::AuditHeads, args![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            let tails: std::collections::HashMap<i64, (i64, String)> =
                tails.into_iter().map(|(p, s, h)| (p, (s, h))).collect();
            for (person, seq, hash) in &heads {
                match tails.get(person) {
                    Some((s, h)) if s == seq && h == hash => {}
                    Some((s, _)) => report.problems.push(format!(
                        "person {person}: the chain ends at record {s}, but record {seq} was written (records removed from the end)"
                    )),
                    None => report.problems.push(format!(
                        "person {person}: all {seq} records are missing"
                    )),
                }
            }
            for person in tails.keys() {
                if !heads.iter().any(|h| h.0 == *person) {
                    report.problems.push(format!(
                        "person {person}: records without a recorded head"
                    ));
                }
            }
            Ok(report)
        })
    }
}

/// An audit record's target as stored: sealed, bound to the record (person, seq).
fn seal_target(db: &dyn Db, person: i64, seq: i64, target: Option<&str>) -> Result<Option<String>> {
    target
        .map(|t| {
            db.crypt()
                .seal_bound_str("audit_log.target", &format!("{person}/{seq}"), t)
        })
        .transpose()
}

/// [`seal_target`] undone (a target stored before encryption reads as it is).
fn open_target(
    db: &dyn Db,
    person: i64,
    seq: i64,
    stored: Option<String>,
) -> Result<Option<String>> {
    stored
        .map(|t| {
            db.crypt()
                .open_bound_str("audit_log.target", &format!("{person}/{seq}"), &t)
        })
        .transpose()
}
