//! The personal health records of QĐ 831 (`book::ehr`), kept for every resident: one
//! versioned record per person, created when the population registry names the
//! person; the registry's deltas (births, deaths, moves, personal ID changes, BHYT
//! cards) applied in batches, all or nothing and idempotent; the data-quality records
//! a commune station resolves.

use std::collections::{BTreeMap, HashMap};

use book::ehr::{Change, HealthRecord, Part};
use serde::{Deserialize, Serialize};

use crate::core::{SEALED_IDENTIFIER, cols, opt_text};
use crate::db::{Arg, Db, Q, args};
use crate::engine::{Backend, Engine};
use crate::reports::{Adoption, Resident, import_residents, resident_key};
use crate::{Result, StoreError, now_ms};

pub(crate) const RECORD_BODY: &str = "health_records.body";
pub(crate) const VERSION_CHANGES: &str = "health_record_versions.changes";
pub(crate) const CARD_BODY: &str = "insurance_cards.body";

/// A person's record as stored: the record and what the lists need.
#[derive(Clone, Debug, Serialize)]
pub struct StoredRecord {
    pub person_id: i64,
    pub version: i64,
    /// The managing station's commune.
    pub commune: Option<String>,
    /// `open`, or `closed` when the person died (readable, no new data).
    pub status: String,
    pub record: HealthRecord,
    pub created_at: i64,
    pub updated_at: i64,
}

impl StoredRecord {
    pub fn is_closed(&self) -> bool {
        self.status == "closed"
    }
}

/// One version of a record: who changed what, when, from which unit.
#[derive(Clone, Debug, Serialize)]
pub struct RecordVersion {
    pub version: i64,
    /// registry | staff | import | citizen
    pub source: String,
    pub by_user: String,
    pub by_unit: Option<String>,
    pub changes: Vec<Change>,
    pub at: i64,
}

/// Who writes a version, and from where.
#[derive(Clone, Copy, Debug)]
pub struct Writer<'a> {
    pub source: &'a str,
    pub by_user: &'a str,
    pub by_unit: Option<&'a str>,
}

/// A resident in a station's list.
#[derive(Clone, Debug, Serialize)]
pub struct ResidentRow {
    pub person_id: i64,
    pub name: Option<String>,
    pub personal_id: Option<String>,
    /// `yyyy-mm-dd` or `yyyy`.
    pub birth: Option<String>,
    pub sex: Option<String>,
    pub status: String,
    pub complete_a: bool,
    pub complete_b: bool,
    pub last_exam: Option<String>,
    pub version: i64,
}

/// A data-quality record of a station: a registry mismatch, a citizen's error report.
#[derive(Clone, Debug, Serialize)]
pub struct StationIssue {
    pub id: i64,
    pub person_id: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub created_at: i64,
    pub status: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
}

/// A person's current BHYT card as the participant list gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuranceCard {
    pub card: String,
    #[serde(default)]
    pub bhxh_number: Option<String>,
    /// `yyyy-mm-dd`.
    pub valid_from: String,
    pub valid_to: String,
    /// The registered first-contact facility (`maDKBD`).
    #[serde(default)]
    pub first_contact: Option<String>,
    /// Living-area code (K1/K2/K3).
    #[serde(default)]
    pub area: Option<String>,
    /// The date of five consecutive years of participation.
    #[serde(default)]
    pub five_years: Option<String>,
    /// The card before this one.
    #[serde(default)]
    pub previous: Option<String>,
}

/// One change from a registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RegistryChange {
    /// A birth registered: a new resident.
    Birth {
        personal_id: String,
        name: String,
        /// `yyyy-mm-dd`.
        birth_date: String,
        /// `1` male, `2` female.
        sex: String,
        commune: String,
    },
    /// A death registered (`yyyy-mm-dd`).
    Death { personal_id: String, date: String },
    /// Moved to another commune.
    Move {
        personal_id: String,
        commune: String,
        #[serde(default)]
        address: Option<String>,
    },
    /// A personal ID replaced by another.
    IdChange {
        personal_id: String,
        new_personal_id: String,
    },
    /// A new or changed BHYT card (validity, first-contact facility).
    Card {
        personal_id: String,
        #[serde(flatten)]
        card: InsuranceCard,
    },
}

impl RegistryChange {
    pub fn event(&self) -> &'static str {
        match self {
            RegistryChange::Birth { .. } => "birth",
            RegistryChange::Death { .. } => "death",
            RegistryChange::Move { .. } => "move",
            RegistryChange::IdChange { .. } => "id_change",
            RegistryChange::Card { .. } => "card",
        }
    }

    pub fn personal_id(&self) -> &str {
        match self {
            RegistryChange::Birth { personal_id, .. }
            | RegistryChange::Death { personal_id, .. }
            | RegistryChange::Move { personal_id, .. }
            | RegistryChange::IdChange { personal_id, .. }
            | RegistryChange::Card { personal_id, .. } => personal_id,
        }
    }
}

/// A batch of registry changes, applied all or nothing.
#[derive(Clone, Debug)]
pub struct RegistryBatch {
    /// The sender's batch id: the same id with the same content is applied once.
    pub id: String,
    /// `population` or `insurance`.
    pub source: String,
    /// SHA-256 (hex) of the batch as received.
    pub digest: String,
    /// Who sent it (a staff account or a system client).
    pub by: String,
    /// (line, change), in the order given.
    pub changes: Vec<(u64, RegistryChange)>,
    /// The communes the sender may change (a system client's or an officer's unit);
    /// `None`: every commune. A person living elsewhere is "not in the registry" to
    /// the sender, so that a batch learns nothing of other units.
    pub scope: Option<std::collections::HashSet<String>>,
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    pub batch: String,
    pub changes: usize,
    pub applied: usize,
    /// Changes that were already in effect (given twice, or in an earlier batch).
    pub unchanged: usize,
    /// Applied changes by event.
    pub by_event: BTreeMap<String, usize>,
    /// Data-quality records opened (registry and dossiers disagree).
    pub mismatches: usize,
    /// The batch had been applied before: this is what it did then.
    #[serde(default)]
    pub repeated: bool,
}

pub const REGISTRY_SOURCES: [&str; 2] = ["population", "insurance"];
/// The most changes one batch may hold.
pub const MAX_BATCH: usize = 200_000;

/// Per commune: what the monthly report and the dashboard count.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CommuneRecords {
    pub commune: String,
    pub records: i64,
    pub open: i64,
    pub complete_a: i64,
    pub complete_b: i64,
    pub examined_this_year: i64,
    pub elderly: i64,
    pub elderly_examined: i64,
    pub mismatches_open: i64,
}

/// A record to import (an existing record from another system): the person by
/// personal ID, items of parts A–C, examinations.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RecordImport {
    pub personal_id: String,
    #[serde(default)]
    pub items: BTreeMap<String, String>,
    #[serde(default)]
    pub exams: Vec<ExamImport>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExamImport {
    pub date: String,
    #[serde(default)]
    pub items: BTreeMap<String, String>,
}

/// What an import did: rows applied, and each refused row with why.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub refused: Vec<Refusal>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    pub line: u64,
    pub personal_id: String,
    pub problems: Vec<book::ehr::Problem>,
}

/// The station's side of the records.
pub trait Records {
    /// The records a commune's station manages, with the person's name.
    fn residents(&self, commune: &str) -> Result<Vec<ResidentRow>>;
    /// The data-quality records of a unit (open ones only, or all), newest first.
    fn station_issues(
        &self,
        unit: &str,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<StationIssue>>;
    /// Close an open data-quality record of `unit` with a note; false when there is
    /// no such open record.
    fn resolve_issue(&self, unit: &str, id: i64, by: &str, note: &str) -> Result<bool>;
    /// Apply a registry batch: all or nothing; a batch id given again with the same
    /// content answers what it did the first time.
    fn apply_registry(&self, batch: &RegistryBatch) -> Result<BatchOutcome>;
    /// Per commune: records, completeness, examinations of `year`, the elderly
    /// (60 or more on `today`) and open mismatches.
    fn record_stats(&self, year: i32, today: chrono::NaiveDate) -> Result<Vec<CommuneRecords>>;
}

/// `yyyy-mm-dd`, `yyyy` from a stored birth (`yyyyMMddHHmm`, unknown parts 00).
pub fn birth_day(stored: &str) -> Option<String> {
    let d: String = stored.chars().filter(char::is_ascii_digit).collect();
    if d.len() < 4 {
        return None;
    }
    let (y, m, day) = (
        &d[..4],
        d.get(4..6).unwrap_or("00"),
        d.get(6..8).unwrap_or("00"),
    );
    if m == "00" || day == "00" {
        Some(y.to_string())
    } else {
        Some(format!("{y}-{m}-{day}"))
    }
}

/// A stored birth (`yyyyMMdd0000`) from `yyyy-mm-dd`.
fn stored_birth(day: &str) -> Option<String> {
    let d = book::ehr::parse_date(day)?;
    Some(d.format("%Y%m%d0000").to_string())
}

fn record_row(db: &dyn Db, person: i64, r: &crate::db::Row<'_>) -> Result<StoredRecord> {
    let body: String = r.get(3)?;
    let json = db.crypt().open_str(RECORD_BODY, person, &body)?;
    let record: HealthRecord = serde_json::from_str(&json)
        .map_err(|e| StoreError::Db(format!("health record of {person}: {e}")))?;
    Ok(StoredRecord {
        person_id: person,
        version: r.get(0)?,
        commune: r.get(1)?,
        status: r.get(2)?,
        record,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

pub(crate) fn read_record(db: &dyn Db, person: i64) -> Result<Option<StoredRecord>> {
    db.one(Q::HealthRecord, args![person], |r| {
        record_row(db, person, r)
    })
}

pub(crate) fn versions(db: &dyn Db, person: i64) -> Result<Vec<RecordVersion>> {
    db.all(Q::HealthRecordVersions, args![person], |r| {
        let version: i64 = r.get(0)?;
        let stored: String = r.get(4)?;
        let json =
            db.crypt()
                .open_bound_str(VERSION_CHANGES, &format!("{person}:{version}"), &stored)?;
        Ok(RecordVersion {
            version,
            source: r.get(1)?,
            by_user: r.get(2)?,
            by_unit: r.get(3)?,
            changes: serde_json::from_str(&json).unwrap_or_default(),
            at: r.get(5)?,
        })
    })
}

/// The list columns of a record: completeness, birth, newest examination.
fn summary_of(record: &HealthRecord) -> (i64, i64, Option<String>, Option<String>) {
    (
        record.complete(Part::A) as i64,
        record.complete(Part::B) as i64,
        record.get("a.birth_date").map(str::to_string),
        record.last_exam().map(str::to_string),
    )
}

/// One row of `health_record_versions`, owned (the args borrow it).
struct VersionRow {
    person: i64,
    version: i64,
    source: String,
    by_user: String,
    by_unit: Option<String>,
    changes: String,
    at: i64,
}

impl VersionRow {
    fn new(
        db: &dyn Db,
        person: i64,
        version: i64,
        writer: Writer<'_>,
        changes: &[Change],
        at: i64,
    ) -> Result<VersionRow> {
        let json =
            serde_json::to_string(changes).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let changes =
            db.crypt()
                .seal_bound_str(VERSION_CHANGES, &format!("{person}:{version}"), &json)?;
        Ok(VersionRow {
            person,
            version,
            source: writer.source.to_string(),
            by_user: writer.by_user.to_string(),
            by_unit: writer.by_unit.map(str::to_string),
            changes,
            at,
        })
    }

    fn args(&self) -> Vec<Arg<'_>> {
        vec![
            Arg::Int(self.person),
            Arg::Int(self.version),
            Arg::Text(&self.source),
            Arg::Text(&self.by_user),
            opt_text(&self.by_unit),
            Arg::Text(&self.changes),
            Arg::Int(self.at),
        ]
    }
}

const VERSION_COLUMNS: &[&str] = &[
    "person_id",
    "version",
    "source",
    "by_user",
    "by_unit",
    "changes",
    "at",
];

/// Write a new version of `stored` (its `version` is the one it was read at): the
/// record changes only when nobody wrote in between (a conflict otherwise).
pub(crate) fn save_record(
    db: &dyn Db,
    stored: &StoredRecord,
    writer: Writer<'_>,
    changes: &[Change],
    now: i64,
) -> Result<i64> {
    let person = stored.person_id;
    let next = stored.version + 1;
    let json =
        serde_json::to_string(&stored.record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let body = db.crypt().seal_str(RECORD_BODY, person, &json)?;
    let (a, b, birth, exam) = summary_of(&stored.record);
    let n = db.exec(
        Q::UpdateHealthRecord,
        args![
            person,
            stored.version,
            next,
            stored.commune,
            stored.status,
            a,
            b,
            birth,
            exam,
            body,
            now
        ],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "hồ sơ đã được người khác sửa trong lúc bạn sửa; hãy mở lại".into(),
        ));
    }
    let row = VersionRow::new(db, person, next, writer, changes, now)?;
    db.insert_rows(
        "health_record_versions",
        &cols(VERSION_COLUMNS),
        &[row.args()],
    )?;
    Ok(next)
}

/// A new record (version 1) for each `(person, record, commune)`.
pub(crate) fn insert_records(
    db: &dyn Db,
    rows: &[(i64, HealthRecord, Option<String>)],
    writer: Writer<'_>,
    now: i64,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let created = [Change {
        key: "status".into(),
        before: String::new(),
        after: "open".into(),
    }];
    type Owned = (String, i64, i64, Option<String>, Option<String>);
    let mut owned: Vec<Owned> = Vec::with_capacity(rows.len());
    let mut versions = Vec::with_capacity(rows.len());
    for (person, record, _) in rows {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let body = db.crypt().seal_str(RECORD_BODY, *person, &json)?;
        let (a, b, birth, exam) = summary_of(record);
        owned.push((body, a, b, birth, exam));
        let mut changes: Vec<Change> = created.to_vec();
        changes.extend(record.items.iter().map(|(k, v)| Change {
            key: k.clone(),
            before: String::new(),
            after: v.clone(),
        }));
        versions.push(VersionRow::new(db, *person, 1, writer, &changes, now)?);
    }
    let records: Vec<Vec<Arg<'_>>> = rows
        .iter()
        .zip(&owned)
        .map(|((person, _, commune), (body, a, b, birth, exam))| {
            vec![
                Arg::Int(*person),
                Arg::Int(1),
                opt_text(commune),
                Arg::Text("open"),
                Arg::Int(*a),
                Arg::Int(*b),
                opt_text(birth),
                opt_text(exam),
                Arg::Text(body),
                Arg::Int(now),
                Arg::Int(now),
            ]
        })
        .collect();
    let versions: Vec<Vec<Arg<'_>>> = versions.iter().map(VersionRow::args).collect();
    db.upsert_rows(
        "health_records",
        &cols(&[
            "person_id",
            "version",
            "commune",
            "status",
            "complete_a",
            "complete_b",
            "birth",
            "last_exam",
            "body",
            "created_at",
            "updated_at",
        ]),
        &records,
        "ON CONFLICT (person_id) DO NOTHING",
    )?;
    db.upsert_rows(
        "health_record_versions",
        &cols(VERSION_COLUMNS),
        &versions,
        "ON CONFLICT (person_id, version) DO NOTHING",
    )?;
    Ok(())
}

/// Who holds each resident's personal ID (the blind index → person).
fn owners(db: &dyn Db, keys: &[String]) -> Result<HashMap<String, i64>> {
    let kinds: Vec<String> = vec!["personal_id".to_string(); keys.len()];
    let keys = keys.to_vec();
    let mut owner = HashMap::new();
    db.query(Q::IdentifierOwners, args![kinds, keys], &mut |r| {
        if let Some(p) = r.get::<Option<i64>>(2)? {
            owner.insert(r.get(1)?, p);
        }
        Ok(true)
    })?;
    Ok(owner)
}

/// Make a person, with the personal ID as an identifier, for each resident no person
/// holds yet; for those held already, a data-quality record where the registry and the
/// person the dossiers made disagree (name, birth date, sex).
pub(crate) fn create_persons(
    db: &dyn Db,
    chunk: &[&Resident],
    next_id: &dyn Fn() -> i64,
    now: i64,
) -> Result<Held> {
    let crypt = db.crypt();
    let keys: Vec<String> = chunk
        .iter()
        .map(|r| resident_key(db, &r.personal_id))
        .collect::<Result<_>>()?;
    let mut owner = owners(db, &keys)?;
    // (id, sealed name, birth, personal ID, sealed identifier, event id, key index)
    type New = (i64, [Option<String>; 3], String, i64, usize);
    let mut new: Vec<New> = Vec::new();
    let mut held: Vec<(i64, &Resident)> = Vec::new();
    for (i, (r, key)) in chunk.iter().zip(&keys).enumerate() {
        if let Some(p) = owner.get(key) {
            held.push((*p, r));
            continue;
        }
        let id = next_id();
        let sealed_person = crate::core::seal_person(
            crypt,
            id,
            r.name.as_deref(),
            r.birth.as_deref(),
            Some(&r.personal_id),
        )?;
        let sealed = crypt.seal_bound_str(SEALED_IDENTIFIER, key, &r.personal_id)?;
        new.push((id, sealed_person, sealed, next_id(), i));
    }
    let mut persons = Vec::with_capacity(new.len());
    let mut idents = Vec::with_capacity(new.len());
    let mut id_keys = Vec::with_capacity(new.len());
    let mut events = Vec::with_capacity(new.len());
    for (id, [name, birth, pid], sealed, event, i) in &new {
        let (r, key) = (chunk[*i], &keys[*i]);
        persons.push(vec![
            Arg::Int(*id),
            opt_text(name),
            opt_text(birth),
            opt_text(&r.sex),
            opt_text(pid),
            Arg::Int(now),
        ]);
        idents.push(vec![
            Arg::Int(*id),
            Arg::Text("personal_id"),
            Arg::Text(key),
            Arg::Int(now),
            Arg::Int(now),
            Arg::Text(sealed),
        ]);
        id_keys.push(vec![
            Arg::Text("personal_id"),
            Arg::Text(key),
            Arg::Int(*id),
            Arg::Int(now),
        ]);
        events.push(vec![
            Arg::Int(*id),
            Arg::Int(*event),
            Arg::Text("created"),
            Arg::Text("{\"source\":\"population registry\"}"),
            Arg::Int(now),
        ]);
    }
    let created = persons.len();
    if created > 0 {
        db.insert_rows(
            "persons",
            &cols(&["id", "name", "birth", "sex", "personal_id", "created_at"]),
            &persons,
        )?;
        db.upsert_rows(
            "identifiers",
            &cols(&[
                "person_id",
                "kind",
                "value",
                "first_seen",
                "last_seen",
                "sealed_value",
            ]),
            &idents,
            "ON CONFLICT (person_id, kind, value) DO NOTHING",
        )?;
        db.upsert_rows(
            "identifier_keys",
            &cols(&["kind", "value", "person_id", "last_seen"]),
            &id_keys,
            "ON CONFLICT (kind, value, person_id) DO NOTHING",
        )?;
        db.insert_rows(
            "person_events",
            &cols(&["person_id", "id", "kind", "detail", "at"]),
            &events,
        )?;
    }
    mismatches(db, &held, next_id, now)?;
    for (id, _, _, _, i) in &new {
        owner.insert(keys[*i].clone(), *id);
    }
    Ok(Held { keys, owner })
}

/// Each resident's blind index (in the chunk's order) and the person holding it, after
/// [`create_persons`]: what [`create_records`] needs without reading them again.
pub(crate) struct Held {
    keys: Vec<String>,
    owner: HashMap<String, i64>,
}

/// Compare the registry with the persons the dossiers made; open one data-quality
/// record per person whose name, birth date or sex differs (none when one is open).
fn mismatches(
    db: &dyn Db,
    held: &[(i64, &Resident)],
    next_id: &dyn Fn() -> i64,
    now: i64,
) -> Result<usize> {
    if held.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = held.iter().map(|(p, _)| *p).collect();
    let persons = crate::core::person_records(db, &ids)?;
    let mut open: std::collections::HashSet<i64> = std::collections::HashSet::new();
    db.query(Q::OpenMismatches, args![ids], &mut |r| {
        open.insert(r.get(0)?);
        Ok(true)
    })?;
    let mut n = 0;
    for (pid, r) in held {
        let Some(p) = persons.get(pid) else { continue };
        if open.contains(pid) {
            continue;
        }
        let fold = |s: &str| book::text::fold(s);
        let mut fields = Vec::new();
        if let (Some(a), Some(b)) = (&r.name, &p.name) {
            if fold(a) != fold(b) {
                fields.push(serde_json::json!({"field": "name", "label": "Họ và tên", "registry": a, "dossier": b}));
            }
        }
        if let (Some(a), Some(b)) = (&r.birth, &p.birth) {
            let (a, b) = (birth_day(a), birth_day(b));
            if a != b {
                fields.push(serde_json::json!({"field": "birth", "label": "Ngày sinh", "registry": a, "dossier": b}));
            }
        }
        if let (Some(a), Some(b)) = (&r.sex, &p.sex) {
            if a != b {
                fields.push(serde_json::json!({"field": "sex", "label": "Giới tính", "registry": a, "dossier": b}));
            }
        }
        if fields.is_empty() {
            continue;
        }
        let detail = serde_json::json!({ "fields": fields }).to_string();
        insert_issue(
            db,
            next_id(),
            Some(*pid),
            &r.unit,
            "registry_mismatch",
            &detail,
            now,
        )?;
        n += 1;
    }
    Ok(n)
}

pub(crate) fn insert_issue(
    db: &dyn Db,
    id: i64,
    person: Option<i64>,
    unit: &str,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<()> {
    let sealed = db.crypt().seal_str("dq_issues.detail", id, detail)?;
    db.exec(
        Q::InsertStationIssue,
        args![id, person, kind, sealed, now, unit],
    )?;
    Ok(())
}

/// The record a registry resident starts with: part A from the registry.
fn registry_record(r: &Resident) -> HealthRecord {
    let mut items = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            items.insert(k.to_string(), v);
        }
    };
    put("a.name", r.name.clone());
    put("a.sex", r.sex.clone().filter(|s| s == "1" || s == "2"));
    put(
        "a.birth_date",
        r.birth
            .as_deref()
            .and_then(birth_day)
            .filter(|d| d.len() == 10),
    );
    put("a.id_number", Some(r.personal_id.clone()));
    put("a.current_commune", Some(r.unit.clone()));
    put("a.permanent_commune", Some(r.unit.clone()));
    HealthRecord {
        items,
        ..HealthRecord::default()
    }
}

/// A record for each resident's person that has none (the registry's part A).
pub(crate) fn create_records(
    db: &dyn Db,
    chunk: &[&Resident],
    held: &Held,
    now: i64,
) -> Result<usize> {
    let (keys, owner) = (&held.keys, &held.owner);
    let mut persons: Vec<i64> = owner.values().copied().collect();
    persons.sort_unstable();
    persons.dedup();
    let mut have: std::collections::HashSet<i64> = std::collections::HashSet::new();
    db.query(Q::HealthRecordsExist, args![persons], &mut |r| {
        have.insert(r.get(0)?);
        Ok(true)
    })?;
    let mut rows = Vec::new();
    for (r, key) in chunk.iter().zip(keys) {
        let Some(p) = owner.get(key) else { continue };
        if !have.insert(*p) {
            continue;
        }
        let mut rec = registry_record(r);
        if r.status == "dead" {
            rec.items.remove("a.current_commune");
        }
        rows.push((*p, rec, Some(r.unit.clone())));
    }
    let writer = Writer {
        source: "registry",
        by_user: "population-registry",
        by_unit: None,
    };
    insert_records(db, &rows, writer, now)?;
    // A resident registered dead: the record is closed.
    for (r, key) in chunk.iter().zip(keys) {
        if let (true, Some(p)) = (r.status == "dead", owner.get(key)) {
            db.exec(Q::CloseHealthRecord, args![*p, now])?;
        }
    }
    Ok(rows.len())
}

fn unit_known(db: &dyn Db, code: &str) -> Result<bool> {
    db.exists(Q::UnitExists, args![code])
}

/// The person who holds a personal ID.
fn holder(db: &dyn Db, personal_id: &str) -> Result<Option<i64>> {
    let key = resident_key(db, personal_id)?;
    Ok(owners(db, std::slice::from_ref(&key))?.get(&key).copied())
}

struct Apply<'a> {
    db: &'a dyn Db,
    scope: Option<&'a std::collections::HashSet<String>>,
    next_id: &'a dyn Fn() -> i64,
    now: i64,
    adoption: Adoption,
    out: BatchOutcome,
}

fn fail(line: u64, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("dòng {line}: {message}"))
}

impl Apply<'_> {
    fn writer(&self) -> Writer<'static> {
        Writer {
            source: "registry",
            by_user: "population-registry",
            by_unit: None,
        }
    }

    fn done(&mut self, event: &str, changed: bool) {
        if changed {
            self.out.applied += 1;
            *self.out.by_event.entry(event.to_string()).or_default() += 1;
        } else {
            self.out.unchanged += 1;
        }
    }

    /// The resident's registry state (unit, status, book month, account month).
    fn state(&self, key: &str) -> Result<Option<crate::reports::ResidentState>> {
        self.db.one(Q::ResidentState, args![key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
    }

    fn in_scope(&self, commune: &str) -> bool {
        self.scope.is_none_or(|s| s.contains(commune))
    }

    fn target(&self, line: u64, commune: &str) -> Result<()> {
        if !unit_known(self.db, commune)? {
            return Err(fail(line, format!("commune {commune}: mã xã chưa đăng ký")));
        }
        if !self.in_scope(commune) {
            return Err(fail(
                line,
                format!("commune {commune}: ngoài đơn vị của bạn"),
            ));
        }
        Ok(())
    }

    fn person(&self, line: u64, personal_id: &str) -> Result<(i64, String)> {
        let key = resident_key(self.db, personal_id)?;
        let state = self.state(&key)?;
        match holder(self.db, personal_id)? {
            Some(p) if state.is_some_and(|(unit, ..)| self.in_scope(&unit)) => Ok((p, key)),
            _ => Err(fail(
                line,
                format!("personal_id {personal_id}: không có trong sổ dân cư"),
            )),
        }
    }

    /// Change the record of `person` with `f` (a version when anything changed).
    fn edit_record(
        &self,
        person: i64,
        f: impl FnOnce(&mut StoredRecord) -> Vec<Change>,
    ) -> Result<bool> {
        let Some(mut stored) = read_record(self.db, person)? else {
            return Ok(false);
        };
        let changes = f(&mut stored);
        if changes.is_empty() {
            return Ok(false);
        }
        save_record(self.db, &stored, self.writer(), &changes, self.now)?;
        Ok(true)
    }

    fn apply(&mut self, line: u64, c: &RegistryChange) -> Result<()> {
        let db = self.db;
        let ok_pid = |pid: &str| {
            if dossier::ids::person_id(pid) == Ok(dossier::ids::PersonIdKind::PersonalId) {
                Ok(())
            } else {
                Err(fail(
                    line,
                    format!("personal_id {pid:?}: phải là số định danh cá nhân 12 chữ số"),
                ))
            }
        };
        ok_pid(c.personal_id())?;
        match c {
            RegistryChange::Birth {
                personal_id,
                name,
                birth_date,
                sex,
                commune,
            } => {
                self.target(line, commune)?;
                let key = resident_key(db, personal_id)?;
                let existed = self.state(&key)?.is_some();
                let r = Resident {
                    personal_id: personal_id.clone(),
                    name: Some(name.clone()),
                    birth: stored_birth(birth_date),
                    sex: Some(sex.clone()),
                    unit: commune.clone(),
                    status: "alive".into(),
                };
                if existed {
                    self.done("birth", false);
                    return Ok(());
                }
                let held = create_persons(db, &[&r], self.next_id, self.now)?;
                import_residents(db, &[&r], self.now, &mut self.adoption)?;
                create_records(db, &[&r], &held, self.now)?;
                self.done("birth", true);
            }
            RegistryChange::Death { personal_id, date } => {
                let (person, key) = self.person(line, personal_id)?;
                let Some((unit, status, book, account)) = self.state(&key)? else {
                    return Err(fail(line, "không có trong sổ dân cư"));
                };
                let day = book::ehr::parse_date(date)
                    .ok_or_else(|| fail(line, format!("date {date:?}: ngày mất không hợp lệ")))?
                    .format("%Y-%m-%d")
                    .to_string();
                if status == "dead" {
                    self.done("death", false);
                    return Ok(());
                }
                self.adoption
                    .add(&unit, &status, book.as_deref(), account.as_deref(), -1);
                db.exec(Q::PopulationDeath, args![key, day, self.now])?;
                self.edit_record(person, |s| {
                    s.status = "closed".into();
                    vec![Change {
                        key: "status".into(),
                        before: "open".into(),
                        after: format!("closed: đã mất ngày {}", book::vn::ymd(&day)),
                    }]
                })?;
                self.done("death", true);
            }
            RegistryChange::Move {
                personal_id,
                commune,
                address,
            } => {
                self.target(line, commune)?;
                let (person, key) = self.person(line, personal_id)?;
                let Some((unit, status, book, account)) = self.state(&key)? else {
                    return Err(fail(line, "không có trong sổ dân cư"));
                };
                if status == "dead" {
                    return Err(fail(
                        line,
                        format!("personal_id {personal_id}: người đã mất, không chuyển được"),
                    ));
                }
                if &unit == commune && status == "alive" {
                    self.done("move", false);
                    return Ok(());
                }
                self.adoption
                    .add(&unit, &status, book.as_deref(), account.as_deref(), -1);
                self.adoption
                    .add(commune, "alive", book.as_deref(), account.as_deref(), 1);
                db.exec(Q::PopulationMove, args![key, commune, self.now])?;
                self.edit_record(person, |s| {
                    let before = s.record.items.clone();
                    s.commune = Some(commune.clone());
                    let items = &mut s.record.items;
                    items.insert("a.current_commune".into(), commune.clone());
                    items.insert("a.permanent_commune".into(), commune.clone());
                    items.remove("a.current_district");
                    items.remove("a.permanent_district");
                    items.remove("a.current_province");
                    items.remove("a.permanent_province");
                    if let Some(a) = address.as_deref().filter(|a| !a.is_empty()) {
                        items.insert("a.current_address".into(), a.to_string());
                        items.insert("a.permanent_address".into(), a.to_string());
                    }
                    let mut ch = book::ehr::diff(&before, &s.record.items);
                    ch.push(Change {
                        key: "commune".into(),
                        before: unit.clone(),
                        after: commune.clone(),
                    });
                    ch
                })?;
                self.done("move", true);
            }
            RegistryChange::IdChange {
                personal_id,
                new_personal_id,
            } => {
                ok_pid(new_personal_id)?;
                let (person, key) = self.person(line, personal_id)?;
                let new_key = resident_key(db, new_personal_id)?;
                match holder(db, new_personal_id)? {
                    Some(p) if p == person => {
                        self.done("id_change", false);
                        return Ok(());
                    }
                    Some(_) => {
                        return Err(fail(
                            line,
                            format!(
                                "new_personal_id {new_personal_id}: đã thuộc về một người khác"
                            ),
                        ));
                    }
                    None => {}
                }
                let crypt = db.crypt();
                let sealed = crypt.seal_bound_str(SEALED_IDENTIFIER, &new_key, new_personal_id)?;
                db.upsert_rows(
                    "identifiers",
                    &cols(&[
                        "person_id",
                        "kind",
                        "value",
                        "first_seen",
                        "last_seen",
                        "sealed_value",
                    ]),
                    &[vec![
                        Arg::Int(person),
                        Arg::Text("personal_id"),
                        Arg::Text(&new_key),
                        Arg::Int(self.now),
                        Arg::Int(self.now),
                        Arg::Text(&sealed),
                    ]],
                    "ON CONFLICT (person_id, kind, value) DO NOTHING",
                )?;
                db.upsert_rows(
                    "identifier_keys",
                    &cols(&["kind", "value", "person_id", "last_seen"]),
                    &[vec![
                        Arg::Text("personal_id"),
                        Arg::Text(&new_key),
                        Arg::Int(person),
                        Arg::Int(self.now),
                    ]],
                    "ON CONFLICT (kind, value, person_id) DO NOTHING",
                )?;
                let pid_sealed = crypt.seal_str("persons.personal_id", person, new_personal_id)?;
                db.exec(Q::SetPersonalId, args![person, pid_sealed])?;
                // The registry row moves to the new key; its sealed name and birth are
                // bound to the key, so they are opened and sealed again.
                let row = db.one(Q::PopulationRow, args![key], |r| {
                    Ok((r.get::<Option<String>>(0)?, r.get::<Option<String>>(1)?))
                })?;
                if let Some((name, birth)) = row {
                    let reseal = |column: &str, v: Option<String>| -> Result<Option<String>> {
                        v.map(|v| {
                            let plain = crypt.open_bound_str(column, &key, &v)?;
                            crypt.seal_bound_str(column, &new_key, &plain)
                        })
                        .transpose()
                    };
                    let name = reseal("population.name", name)?;
                    let birth = reseal("population.birth", birth)?;
                    db.exec(
                        Q::PopulationRekey,
                        args![key, new_key, name, birth, self.now],
                    )?;
                }
                let new_pid = new_personal_id.clone();
                self.edit_record(person, move |s| {
                    let before = s.record.get("a.id_number").unwrap_or_default().to_string();
                    s.record.items.insert("a.id_number".into(), new_pid.clone());
                    vec![Change {
                        key: "a.id_number".into(),
                        before,
                        after: new_pid,
                    }]
                })?;
                self.done("id_change", true);
            }
            RegistryChange::Card { personal_id, card } => {
                let (person, _) = self.person(line, personal_id)?;
                let mut card = card.clone();
                card.card = card.card.trim().to_ascii_uppercase();
                if dossier::ids::bhyt_card(&card.card).is_err() {
                    return Err(fail(
                        line,
                        format!("card {:?}: số thẻ BHYT gồm 15 ký tự", card.card),
                    ));
                }
                let day = |field: &str, v: &str| -> Result<String> {
                    book::ehr::parse_date(v)
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .ok_or_else(|| fail(line, format!("{field} {v:?}: ngày không hợp lệ")))
                };
                card.valid_from = day("valid_from", &card.valid_from)?;
                card.valid_to = day("valid_to", &card.valid_to)?;
                if card.valid_to < card.valid_from {
                    return Err(fail(line, "valid_to: trước valid_from"));
                }
                if let Some(f) = &card.first_contact {
                    if !f.is_empty() && !dossier::ids::is_facility(f) {
                        return Err(fail(
                            line,
                            format!("first_contact {f:?}: mã cơ sở gồm 5 chữ số"),
                        ));
                    }
                }
                if let Some(b) = &card.bhxh_number {
                    if !b.is_empty() && dossier::ids::bhxh(b).is_err() {
                        return Err(fail(line, format!("bhxh_number {b:?}: gồm 10 chữ số")));
                    }
                }
                let current = insurance_card(db, person)?;
                if let Some(cur) = &current {
                    if cur.card != card.card {
                        card.previous = Some(cur.card.clone());
                    } else {
                        card.previous = cur.previous.clone();
                    }
                    if *cur == card {
                        self.done("card", false);
                        return Ok(());
                    }
                }
                write_card(db, person, &card, self.now)?;
                let bhxh = card.bhxh_number.clone();
                let number = card.card.clone();
                self.edit_record(person, move |s| {
                    let before = s.record.items.clone();
                    s.record.items.insert("a.bhyt_card".into(), number);
                    if let Some(b) = bhxh.filter(|b| !b.is_empty()) {
                        s.record.items.insert("a.bhxh_number".into(), b);
                    }
                    book::ehr::diff(&before, &s.record.items)
                })?;
                self.done("card", true);
            }
        }
        Ok(())
    }
}

/// The person's current card.
pub(crate) fn insurance_card(db: &dyn Db, person: i64) -> Result<Option<InsuranceCard>> {
    let Some(body) = db.one(Q::InsuranceCard, args![person], |r| r.get::<String>(0))? else {
        return Ok(None);
    };
    let json = db.crypt().open_str(CARD_BODY, person, &body)?;
    Ok(serde_json::from_str(&json).ok())
}

/// Store the person's card, and the card (and BHXH number) as identifiers with the
/// card's validity, so that dossiers and the card lookup find the person by it.
fn write_card(db: &dyn Db, person: i64, card: &InsuranceCard, now: i64) -> Result<()> {
    let crypt = db.crypt();
    let json = serde_json::to_string(card).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let body = crypt.seal_str(CARD_BODY, person, &json)?;
    db.upsert_rows(
        "insurance_cards",
        &cols(&["person_id", "body", "valid_to", "updated_at"]),
        &[vec![
            Arg::Int(person),
            Arg::Text(&body),
            Arg::Text(&card.valid_to),
            Arg::Int(now),
        ]],
        "ON CONFLICT (person_id) DO UPDATE SET body = excluded.body, valid_to = excluded.valid_to, updated_at = excluded.updated_at",
    )?;
    let compact = |d: &str| d.replace('-', "");
    let mut ids: Vec<(&str, &str, Option<String>, Option<String>)> = vec![(
        "bhyt_card",
        card.card.as_str(),
        Some(compact(&card.valid_from)),
        Some(compact(&card.valid_to)),
    )];
    if let Some(b) = card.bhxh_number.as_deref().filter(|b| !b.is_empty()) {
        ids.push((book::IdKind::Bhxh.code(), b, None, None));
    }
    for (kind, value, from, to) in ids {
        let blind = crypt.blind(kind, value)?;
        let sealed = crypt.seal_bound_str(SEALED_IDENTIFIER, &blind, value)?;
        db.upsert_rows(
            "identifiers",
            &cols(&[
                "person_id",
                "kind",
                "value",
                "valid_from",
                "valid_to",
                "first_seen",
                "last_seen",
                "submission_id",
                "sealed_value",
            ]),
            &[vec![
                Arg::Int(person),
                Arg::Text(kind),
                Arg::Text(&blind),
                opt_text(&from),
                opt_text(&to),
                Arg::Int(now),
                Arg::Int(now),
                Arg::Int(0),
                Arg::Text(&sealed),
            ]],
            crate::sql::identifier_merge!(),
        )?;
        db.upsert_rows(
            "identifier_keys",
            &cols(&["kind", "value", "person_id", "last_seen"]),
            &[vec![
                Arg::Text(kind),
                Arg::Text(&blind),
                Arg::Int(person),
                Arg::Int(now),
            ]],
            "ON CONFLICT (kind, value, person_id) DO UPDATE SET last_seen = excluded.last_seen",
        )?;
    }
    Ok(())
}

/// Close the open data-quality record `id` of `unit` with a note: the person it is
/// about (`Some(None)` when it names nobody), or `None` when there is no such record.
pub(crate) fn resolve_issue_in(
    db: &dyn Db,
    unit: &str,
    id: i64,
    by: &str,
    note: &str,
    now: i64,
) -> Result<Option<Option<i64>>> {
    let Some(issue) = db.one(Q::StationIssue, args![id], |r| issue_row(db, r))? else {
        return Ok(None);
    };
    let mut detail = issue.detail.clone();
    if let serde_json::Value::Object(m) = &mut detail {
        m.insert(
            "resolution".into(),
            serde_json::Value::String(note.to_string()),
        );
    }
    let sealed = db
        .crypt()
        .seal_str("dq_issues.detail", id, &detail.to_string())?;
    if db.exec(Q::ResolveStationIssue, args![id, unit, by, now, sealed])? == 0 {
        return Ok(None);
    }
    Ok(Some(issue.person_id))
}

fn issue_row(db: &dyn Db, r: &crate::db::Row<'_>) -> Result<StationIssue> {
    let id: i64 = r.get(0)?;
    let detail: String = r.get(3)?;
    let detail = db.crypt().open_str("dq_issues.detail", id, &detail)?;
    Ok(StationIssue {
        id,
        person_id: r.get(1)?,
        kind: r.get(2)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        created_at: r.get(4)?,
        status: r.get(5)?,
        resolved_by: r.get(6)?,
        resolved_at: r.get(7)?,
    })
}

impl<B: Backend> Records for Engine<B> {
    fn residents(&self, commune: &str) -> Result<Vec<ResidentRow>> {
        self.read(|db| {
            let c = db.crypt();
            db.all(Q::CommuneRecords, args![commune], |r| {
                let id: i64 = r.get(0)?;
                Ok(ResidentRow {
                    person_id: id,
                    version: r.get(1)?,
                    status: r.get(2)?,
                    complete_a: r.get::<i64>(3)? != 0,
                    complete_b: r.get::<i64>(4)? != 0,
                    birth: r.get::<Option<String>>(5)?.or(c
                        .open_opt("persons.birth", id, r.get(9)?)?
                        .as_deref()
                        .and_then(birth_day)),
                    last_exam: r.get(6)?,
                    name: c.open_opt("persons.name", id, r.get(7)?)?,
                    sex: r.get(8)?,
                    personal_id: c.open_opt("persons.personal_id", id, r.get(10)?)?,
                })
            })
        })
    }

    fn station_issues(
        &self,
        unit: &str,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<StationIssue>> {
        self.read(|db| {
            db.all(
                Q::StationIssues,
                args![unit, open_only as i64, limit as i64],
                |r| issue_row(db, r),
            )
        })
    }

    fn resolve_issue(&self, unit: &str, id: i64, by: &str, note: &str) -> Result<bool> {
        let now = now_ms();
        self.write(|db| Ok(resolve_issue_in(db, unit, id, by, note, now)?.is_some()))
    }

    fn apply_registry(&self, batch: &RegistryBatch) -> Result<BatchOutcome> {
        if !REGISTRY_SOURCES.contains(&batch.source.as_str()) {
            return Err(StoreError::Invalid(format!(
                "source {:?}: phải là population hoặc insurance",
                batch.source
            )));
        }
        if batch.id.is_empty() || batch.id.len() > 100 {
            return Err(StoreError::Invalid(
                "batch: mã lô (batch id) từ 1 đến 100 ký tự".into(),
            ));
        }
        if batch.changes.len() > MAX_BATCH {
            return Err(StoreError::Invalid(format!(
                "batch: tối đa {MAX_BATCH} thay đổi một lô"
            )));
        }
        for (line, c) in &batch.changes {
            let allowed = match batch.source.as_str() {
                "insurance" => matches!(c, RegistryChange::Card { .. }),
                _ => !matches!(c, RegistryChange::Card { .. }),
            };
            if !allowed {
                return Err(fail(
                    *line,
                    format!(
                        "event {}: không thuộc nguồn {} (dân cư: birth, death, move, id_change; BHYT: card)",
                        c.event(),
                        batch.source
                    ),
                ));
            }
        }
        let now = now_ms();
        let next_id = || self.ids.next();
        self.write(|db| {
            if let Some((digest, outcome)) = db.one(Q::RegistryBatch, args![batch.id], |r| {
                Ok((r.get::<String>(1)?, r.get::<String>(2)?))
            })? {
                if digest != batch.digest {
                    return Err(StoreError::Conflict(format!(
                        "batch {}: mã lô đã dùng cho một lô có nội dung khác",
                        batch.id
                    )));
                }
                let mut out: BatchOutcome =
                    serde_json::from_str(&outcome).map_err(|e| StoreError::Db(e.to_string()))?;
                out.repeated = true;
                return Ok(out);
            }
            let mut a = Apply {
                db,
                scope: batch.scope.as_ref(),
                next_id: &next_id,
                now,
                adoption: Adoption::default(),
                out: BatchOutcome {
                    batch: batch.id.clone(),
                    changes: batch.changes.len(),
                    ..BatchOutcome::default()
                },
            };
            let before: i64 = db.value(Q::OpenMismatchCount, args![])?;
            for (line, c) in &batch.changes {
                a.apply(*line, c)?;
            }
            let after: i64 = db.value(Q::OpenMismatchCount, args![])?;
            let Apply {
                adoption, mut out, ..
            } = a;
            out.mismatches = (after - before).max(0) as usize;
            adoption.write(db)?;
            let json = serde_json::to_string(&out).map_err(|e| StoreError::Db(e.to_string()))?;
            db.insert_rows(
                "registry_batches",
                &cols(&[
                    "id",
                    "source",
                    "digest",
                    "outcome",
                    "by_user",
                    "received_at",
                ]),
                &[vec![
                    Arg::Text(&batch.id),
                    Arg::Text(&batch.source),
                    Arg::Text(&batch.digest),
                    Arg::Text(&json),
                    Arg::Text(&batch.by),
                    Arg::Int(now),
                ]],
            )?;
            Ok(out)
        })
    }

    fn record_stats(&self, year: i32, today: chrono::NaiveDate) -> Result<Vec<CommuneRecords>> {
        // Counted by the database, per commune and status (one row each, not one per
        // record); elderly: 60 or more on `today` (`book::ehr::is_elderly`), born on or
        // before the day 60 years back.
        let (from, to) = (format!("{year:04}"), format!("{:04}", year + 1));
        let born_by = today
            .checked_sub_months(chrono::Months::new(60 * 12))
            .unwrap_or(chrono::NaiveDate::MIN)
            .format("%Y-%m-%d")
            .to_string();
        self.read(|db| {
            let mut out: BTreeMap<String, CommuneRecords> = BTreeMap::new();
            db.query(Q::RecordSummaries, args![from, to, born_by], &mut |r| {
                let commune: String = r.get(0)?;
                let status: String = r.get(1)?;
                let n = |i: usize| -> Result<i64> {
                    let v: Option<i64> = r.get(i)?;
                    Ok(v.unwrap_or(0))
                };
                let e = out
                    .entry(commune.clone())
                    .or_insert_with(|| CommuneRecords {
                        commune,
                        ..CommuneRecords::default()
                    });
                e.records += n(2)?;
                if status != "open" {
                    return Ok(true);
                }
                e.open += n(2)?;
                e.complete_a += n(3)?;
                e.complete_b += n(4)?;
                e.examined_this_year += n(5)?;
                e.elderly += n(6)?;
                e.elderly_examined += n(7)?;
                Ok(true)
            })?;
            db.query(Q::OpenMismatchesByUnit, args![], &mut |r| {
                let unit: String = r.get(0)?;
                let n: i64 = r.get(1)?;
                out.entry(unit.clone())
                    .or_insert_with(|| CommuneRecords {
                        commune: unit,
                        ..CommuneRecords::default()
                    })
                    .mismatches_open = n;
                Ok(true)
            })?;
            Ok(out.into_values().collect())
        })
    }
}
