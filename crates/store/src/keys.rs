//! The store's side of key management (`healthbook keys …`): what each data key
//! protects, re-wrapping the data keys by a new master key, a new data key, and the
//! data keys handed to a copy. Backend-neutral: the statements are named by [`Q`].

use crate::Result;
use crate::crypt::{DataKeyRow, MasterKey};
use crate::db::{Db, Q, Val, args};
use crate::engine::{Backend, Engine};

/// The columns sealed at rest, each with the statement that reads the first bytes of
/// every value (enough to tell which data key sealed it).
pub(crate) const SEALED_COLUMNS: &[(&str, Q)] = &[
    ("episodes.body", Q::SealHeadsEpisodeBody),
    ("submissions.raw_zstd", Q::SealHeadsSubmissionRaw),
    ("submissions.findings", Q::SealHeadsSubmissionFindings),
    ("checkins.body", Q::SealHeadsCheckinBody),
    // Sealed as text ('!' and base64): the first nine characters name the data key.
    ("persons.name", Q::SealHeadsPersonName),
    ("persons.birth", Q::SealHeadsPersonBirth),
    ("persons.personal_id", Q::SealHeadsPersonId),
    ("identifiers.value", Q::SealHeadsIdentifierValue),
    ("population.name", Q::SealHeadsPopulationName),
    ("dq_issues.detail", Q::SealHeadsDqDetail),
    ("grants.reason", Q::SealHeadsGrantReason),
    ("audit_log.target", Q::SealHeadsAuditTarget),
    ("episodes.main_icd10", Q::SealHeadsEpisodeIcd),
    ("health_records.body", Q::SealHeadsRecordBody),
    ("health_record_versions.changes", Q::SealHeadsRecordChanges),
    ("insurance_cards.body", Q::SealHeadsCardBody),
    ("immunizations.body", Q::SealHeadsImmunizationBody),
    ("ncd_enrolments.body", Q::SealHeadsNcdEnrolmentBody),
    ("ncd_followups.body", Q::SealHeadsNcdFollowUpBody),
    ("growth_measurements.body", Q::SealHeadsGrowthBody),
    ("ncd_enrolments.disease", Q::SealHeadsNcdEnrolmentDisease),
    ("ncd_followups.disease", Q::SealHeadsNcdFollowUpDisease),
    ("notifications.body", Q::SealHeadsNotificationBody),
    ("notify_prefs.address", Q::SealHeadsNotifyAddress),
];

/// What `keys status` shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyStatus {
    /// The fingerprint of the master key this server holds.
    pub master: String,
    pub data_keys: Vec<DataKeyInfo>,
    /// Per sealed column: values per data key, and values not (yet) sealed.
    pub columns: Vec<ColumnKeys>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct DataKeyInfo {
    pub id: i64,
    /// The master key that wraps it.
    pub master: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ColumnKeys {
    pub column: String,
    /// (data key id, values it sealed), by id.
    pub sealed: Vec<(u32, u64)>,
    pub plain: u64,
}

pub(crate) fn data_keys(db: &dyn Db) -> Result<Vec<DataKeyRow>> {
    db.all(Q::DataKeys, args![], |r| {
        Ok(DataKeyRow {
            id: r.get(0)?,
            master: r.get(1)?,
            wrapped: r.get(2)?,
            created_at: r.get(3)?,
        })
    })
}

pub(crate) fn insert_data_key(db: &dyn Db, k: &DataKeyRow) -> Result<()> {
    db.exec(
        Q::InsertDataKey,
        args![k.id, k.master, k.wrapped, k.created_at],
    )?;
    Ok(())
}

impl<B: Backend> Engine<B> {
    pub(crate) fn key_status_impl(&self) -> Result<KeyStatus> {
        self.read(|db| {
            let data_keys = data_keys(db)?
                .into_iter()
                .map(|k| DataKeyInfo {
                    id: k.id,
                    master: k.master,
                    created_at: k.created_at,
                })
                .collect();
            let mut columns = Vec::new();
            for (column, q) in SEALED_COLUMNS {
                let mut sealed = std::collections::BTreeMap::<u32, u64>::new();
                let mut plain = 0u64;
                db.query(*q, args![], &mut |r| {
                    match r.val(0)? {
                        Val::Bytes(b) => match key_of_head(b) {
                            Some(k) => *sealed.entry(k).or_default() += 1,
                            None => plain += 1,
                        },
                        Val::Text(t) => match key_of_text_head(t) {
                            Some(k) => *sealed.entry(k).or_default() += 1,
                            None => plain += 1,
                        },
                        Val::Null => {}
                        _ => plain += 1,
                    }
                    Ok(true)
                })?;
                columns.push(ColumnKeys {
                    column: column.to_string(),
                    sealed: sealed.into_iter().collect(),
                    plain,
                });
            }
            Ok(KeyStatus {
                master: db.crypt().master_id(),
                data_keys,
                columns,
            })
        })
    }

    /// Every data key re-wrapped by `new`, in one transaction.
    pub(crate) fn rewrap_data_keys_impl(&self, new: &dyn MasterKey) -> Result<usize> {
        self.write(|db| {
            let keys = data_keys(db)?;
            let crypt = db.crypt();
            for k in &keys {
                let k = crypt.wrapped_for(k, new)?;
                db.exec(Q::RewrapDataKey, args![k.id, k.master, k.wrapped])?;
            }
            crypt.retire_master();
            Ok(keys.len())
        })
    }

    /// A new data key, which seals this server's new values from now on (other servers'
    /// once they restart); its id.
    pub(crate) fn add_data_key_impl(&self) -> Result<i64> {
        self.write(|db| {
            let keys = data_keys(db)?;
            let id = keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
            let k = db.crypt().new_data_key(id)?;
            insert_data_key(db, &k)?;
            db.crypt().add(&k)?;
            Ok(id)
        })
    }

    /// Seal the values written before encryption, a few hundred rows per transaction
    /// (the servers keep running); `progress` hears how many values so far. Resumable:
    /// each run seals what is still in clear. How many values were sealed.
    pub(crate) fn seal_existing_impl(&self, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        const BATCH: i64 = 500;
        let mut done = self.convert_identities(&mut *progress)?;
        loop {
            let n = self.write(|db| {
                let crypt = db.crypt();
                let mut n = 0u64;
                let rows: Vec<(i64, i64, Vec<u8>)> =
                    db.all(Q::PlainEpisodes, args![BATCH], |r| {
                        Ok((r.get(0)?, r.get(1)?, bytes(r.val(2)?)))
                    })?;
                for (person, id, body) in rows {
                    let sealed = crypt.seal("episodes.body", id, &body)?;
                    db.exec(Q::SealEpisode, args![person, id, sealed])?;
                    n += 1;
                }
                // Findings: bytes (compressed JSON) to seal; text ('[]') stays.
                let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> =
                    db.all(Q::PlainSubmissions, args![BATCH], |r| {
                        let findings = match r.val(2)? {
                            Val::Bytes(b) => Some(b.to_vec()),
                            _ => None,
                        };
                        Ok((r.get(0)?, bytes(r.val(1)?), findings))
                    })?;
                for (id, raw, findings) in rows {
                    let raw = match crate::crypt::is_sealed(&raw) {
                        true => raw,
                        false => {
                            n += 1;
                            crypt.seal("submissions.raw_zstd", id, &raw)?
                        }
                    };
                    let findings = match findings {
                        Some(b) if !crate::crypt::is_sealed(&b) => {
                            n += 1;
                            Some(crypt.seal("submissions.findings", id, &b)?)
                        }
                        other => other,
                    };
                    let findings = match &findings {
                        Some(f) => crate::db::Arg::Bytes(f),
                        None => crate::db::Arg::Text("[]"),
                    };
                    db.exec(
                        Q::SealSubmission,
                        &[
                            crate::db::Arg::Int(id),
                            crate::db::Arg::Bytes(&raw),
                            findings,
                        ],
                    )?;
                }
                // The main ICD-10 code of episodes stored before it was sealed.
                let rows: Vec<(i64, i64, String)> =
                    db.all(Q::PlainEpisodeIcds, args![BATCH], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                for (person, id, icd) in rows {
                    let sealed = crypt.seal_str("episodes.main_icd10", id, &icd)?;
                    db.exec(Q::SealEpisodeIcd, args![person, id, sealed])?;
                    n += 1;
                }
                let rows: Vec<(String, String, i64, Vec<u8>)> =
                    db.all(Q::PlainCheckins, args![BATCH], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, bytes(r.val(3)?)))
                    })?;
                for (facility, ma_lk, id, body) in rows {
                    let sealed = crypt.seal("checkins.body", id, &body)?;
                    db.exec(Q::SealCheckin, args![facility, ma_lk, id, sealed])?;
                    n += 1;
                }
                Ok(n)
            })?;
            if n == 0 {
                return Ok(done);
            }
            done += n;
            progress(done);
        }
    }

    /// Convert what a store written before identities were sealed holds in clear: names,
    /// birth dates and personal IDs of persons sealed; identifiers, identifier keys,
    /// card periods, check-ins and the population registry keyed by blind index;
    /// registry names and birth dates and data-quality details sealed. A few hundred
    /// rows per transaction; resumable (each pass skips what is done). Runs when the
    /// store starts if a migration marked it pending; how many values it changed.
    pub(crate) fn convert_identities(&self, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        const ITEM: &str = "identities";
        const BATCH: i64 = 500;
        if !self.read(|db| db.exists(Q::CryptPending, args![ITEM]))? {
            return Ok(0);
        }
        let mut done = 0u64;
        let mut step = |n: u64| {
            done += n;
            if n > 0 {
                progress(done);
            }
        };
        // Persons, with their identifiers and card periods.
        let mut after = 0i64;
        loop {
            let (last, n) = self.write(|db| convert_persons(db, after, BATCH))?;
            step(n);
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
        // Check-ins.
        let mut after = (String::new(), String::new(), i64::MIN);
        loop {
            let (last, n) = self.write(|db| {
                let c = db.crypt();
                type Row = (String, String, i64, Option<String>, Option<String>);
                let rows: Vec<Row> = db.all(
                    Q::CheckinsAfter,
                    args![after.0, after.1, after.2, BATCH],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
                let mut n = 0;
                for (f, m, id, pid, card) in &rows {
                    let blind = |kind: book::IdKind, v: &Option<String>| match v {
                        Some(v) if !crate::crypt::is_blind(v) => c.blind(kind.code(), v).map(Some),
                        other => Ok(other.clone()),
                    };
                    let (bp, bc) = (
                        blind(book::IdKind::PersonalId, pid)?,
                        blind(book::IdKind::BhytCard, card)?,
                    );
                    if bp != *pid || bc != *card {
                        db.exec(Q::BlindCheckin, args![f, m, id, bp, bc])?;
                        n += 1;
                    }
                }
                Ok((
                    rows.last()
                        .map(|(f, m, id, _, _)| (f.clone(), m.clone(), *id)),
                    n,
                ))
            })?;
            step(n);
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
        // The population registry: a converted row's key sorts after every clear one.
        loop {
            let n = self.write(|db| {
                let c = db.crypt();
                type Row = (String, Option<String>, Option<String>);
                let rows: Vec<Row> = db.all(Q::PopulationPlain, args![BATCH], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                for (pid, name, birth) in &rows {
                    let key = crate::reports::resident_key(db, pid)?;
                    let seal = |column: &str, v: &Option<String>| {
                        v.as_deref()
                            .map(|v| c.seal_bound_str(column, &key, v))
                            .transpose()
                    };
                    let (name, birth) = (
                        seal("population.name", name)?,
                        seal("population.birth", birth)?,
                    );
                    db.exec(Q::BlindResident, args![pid, key, name, birth])?;
                }
                Ok(rows.len() as u64)
            })?;
            if n == 0 {
                break;
            }
            step(n);
        }
        // Data-quality details (they quote personal IDs, cards, names).
        let mut after = 0i64;
        loop {
            let (last, n) = self.write(|db| {
                let c = db.crypt();
                let rows: Vec<(i64, String)> =
                    db.all(Q::DqIssuesAfter, args![after, BATCH], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                let mut n = 0;
                for (id, detail) in &rows {
                    if !crate::crypt::is_sealed_text(detail) {
                        let sealed = c.seal_str("dq_issues.detail", *id, detail)?;
                        db.exec(Q::SealDqIssue, args![id, sealed])?;
                        n += 1;
                    }
                }
                Ok((rows.last().map(|(id, _)| *id), n))
            })?;
            step(n);
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
        self.write(|db| db.exec(Q::CryptPendingDone, args![ITEM]))?;
        Ok(done)
    }

    /// This store's data keys, wrapped by `to` (for a copy into a store that has it).
    pub(crate) fn data_keys_for_impl(&self, to: &dyn MasterKey) -> Result<Vec<DataKeyRow>> {
        self.read(|db| {
            let crypt = db.crypt();
            data_keys(db)?
                .iter()
                .map(|k| crypt.wrapped_for(k, to))
                .collect()
        })
    }
}

/// A stored value's bytes (text from before compression as its UTF-8).
fn bytes(v: Val<'_>) -> Vec<u8> {
    match v {
        Val::Bytes(b) => b.to_vec(),
        Val::Text(t) => t.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

/// The data key named by the first characters of a value sealed as text (`!` and
/// base64: eight characters hold the first six bytes).
fn key_of_text_head(head: &str) -> Option<u32> {
    use base64::Engine;
    let b64 = head.strip_prefix(crate::crypt::SEALED_TEXT)?.get(..8)?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .ok()?;
    key_of_head(&bytes)
}

/// The data key named by the first bytes of a value (the statements read five).
fn key_of_head(head: &[u8]) -> Option<u32> {
    if head.len() >= 5 && head[0] == crate::crypt::SEALED {
        Some(u32::from_be_bytes([head[1], head[2], head[3], head[4]]))
    } else {
        None
    }
}

/// Seal the persons after `after` (up to `limit`) and key their identifiers and card
/// periods by blind index: the last person read (none when there are no more) and how
/// many values changed.
fn convert_persons(db: &dyn Db, after: i64, limit: i64) -> Result<(Option<i64>, u64)> {
    use crate::crypt::{is_blind, is_sealed_text};
    let c = db.crypt();
    type Row = (i64, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = db.all(Q::PersonsAfter, args![after, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut n = 0u64;
    for (id, name, birth, pid) in &rows {
        let seal = |column: &str, v: &Option<String>| match v {
            Some(v) if !is_sealed_text(v) => c.seal_str(column, *id, v).map(Some),
            other => Ok(other.clone()),
        };
        let sealed = (
            seal("persons.name", name)?,
            seal("persons.birth", birth)?,
            seal("persons.personal_id", pid)?,
        );
        if (&sealed.0, &sealed.1, &sealed.2) != (name, birth, pid) {
            db.exec(Q::SealPerson, args![id, sealed.0, sealed.1, sealed.2])?;
            n += 1;
        }
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    if ids.is_empty() {
        return Ok((None, n));
    }
    let idents: Vec<(i64, String, String)> = db.all(Q::IdentifiersOfMany, args![ids], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    for (person, kind, value) in idents.iter().filter(|i| !is_blind(&i.2)) {
        let blind = c.blind(kind, value)?;
        let sealed = c.seal_bound_str(crate::core::SEALED_IDENTIFIER, &blind, value)?;
        db.exec(
            Q::BlindIdentifier,
            args![person, kind, value, blind, sealed],
        )?;
        db.exec(Q::BlindIdentifierKeys, args![kind, value, blind])?;
        n += 1;
    }
    let cards: Vec<(i64, String)> = db.all(Q::CardPeriodsOfMany, args![ids], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    for (person, card) in cards.iter().filter(|c| !is_blind(&c.1)) {
        let blind = c.blind(book::IdKind::BhytCard.code(), card)?;
        db.exec(Q::BlindCardPeriods, args![person, card, blind])?;
        n += 1;
    }
    Ok((ids.last().copied(), n))
}
