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
        let mut done = 0u64;
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

/// The data key named by the first bytes of a value (the statements read five).
fn key_of_head(head: &[u8]) -> Option<u32> {
    if head.len() >= 5 && head[0] == crate::crypt::SEALED {
        Some(u32::from_be_bytes([head[1], head[2], head[3], head[4]]))
    } else {
        None
    }
}
