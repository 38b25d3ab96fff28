//! The embedded backend: one SQLite file in WAL mode, a writer thread with group
//! commit, and a small pool of read connections.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use book::identity::{Candidates, Known, Target};
use book::{Conflict, IdKind, decide};
use dossier::model::BirthDate;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::*;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_citizen.sql"),
    include_str!("../migrations/sqlite/0003_access.sql"),
    include_str!("../migrations/sqlite/0004_reports.sql"),
    include_str!("../migrations/sqlite/0005_adoption.sql"),
    include_str!("../migrations/sqlite/0006_fhir.sql"),
    include_str!("../migrations/sqlite/0007_merged.sql"),
    include_str!("../migrations/sqlite/0008_hostile.sql"),
];

/// Most submissions one commit carries.
const BATCH: usize = 512;

type Job = (Prepared, SyncSender<Result<Receipt>>);

pub struct SqliteStore {
    path: PathBuf,
    tx: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    ids: Arc<IdGen>,
    audit_key: std::sync::OnceLock<Vec<u8>>,
    /// The server secret that keys the hashes of short codes (activation and share
    /// codes): kept in a file beside the database, never in it.
    secret: Vec<u8>,
}

/// The server secret of the store at `db`: `<db>.secret` (32 random bytes, mode 0600),
/// made on first open. A copy of the database alone cannot test guesses of a short
/// code offline; keep the file with the database's backups, but apart from them.
fn load_secret(db: &Path) -> Result<Vec<u8>> {
    let mut name = db.as_os_str().to_owned();
    name.push(".secret");
    let path = PathBuf::from(name);
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => {
            return Err(StoreError::Invalid(format!(
                "{} holds fewer than 32 bytes",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let key: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match made {
        Ok(mut f) => {
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read(&path)?),
        Err(e) => Err(e.into()),
    }
}

/// Time-ordered ids: milliseconds << 10 | counter (1,024 per millisecond). They stay
/// below 2^53 until the 23rd century, so JavaScript clients read them exactly.
struct IdGen(AtomicI64);

impl IdGen {
    fn next(&self) -> i64 {
        let candidate = now_ms() << 10;
        let mut last = self.0.load(Ordering::Relaxed);
        loop {
            let next = candidate.max(last + 1);
            match self
                .0
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(x) => last = x,
            }
        }
    }
}

fn open(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // An acknowledgement means on disk: fsync at every commit (one per batch).
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.pragma_update(None, "cache_size", -16_000)?;
    Ok(c)
}

fn migrate(c: &mut Connection) -> Result<()> {
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = c.transaction()?;
        tx.execute_batch(sql)?;
        if i == 2 {
            backfill_referral_numbers(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Version 3 indexes referral letters by number; fill it in for the episodes stored before.
fn backfill_referral_numbers(tx: &Transaction<'_>) -> Result<()> {
    // Only the keys and numbers are held: a national store has millions of referrals.
    let rows: Vec<(i64, i64, String)> = {
        let mut stmt =
            tx.prepare("SELECT person_id, id, body FROM episodes WHERE referral_to IS NOT NULL")?;
        stmt.query_map([], |r| {
            let number = unpack_body(r.get_ref(2)?).and_then(|v| v.referral?.number);
            Ok((r.get(0)?, r.get(1)?, number))
        })?
        .filter_map(|x| match x {
            Ok((p, i, Some(n))) => Some(Ok((p, i, n))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?
    };
    let mut update =
        tx.prepare("UPDATE episodes SET referral_number = ?3 WHERE person_id = ?1 AND id = ?2")?;
    for (person, id, number) in rows {
        update.execute(params![person, id, number])?;
    }
    Ok(())
}

impl SqliteStore {
    /// Open (creating and migrating) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let secret = load_secret(&path)?;
        let mut conn = open(&path)?;
        migrate(&mut conn)?;
        // Ids stay ordered across restarts.
        let max_id: i64 = conn.query_row(
            "SELECT MAX(x) FROM (SELECT COALESCE(MAX(id),0) AS x FROM submissions UNION ALL SELECT COALESCE(MAX(id),0) FROM persons UNION ALL SELECT COALESCE(MAX(id),0) FROM dq_issues)",
            [],
            |r| r.get(0),
        )?;
        let ids = Arc::new(IdGen(AtomicI64::new(max_id)));
        // The queue bounds memory: at most two batches wait behind the one being written.
        let (tx, rx) = sync_channel::<Job>(2 * BATCH);
        let wids = ids.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, wids))?;
        Ok(SqliteStore {
            path,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
            ids,
            audit_key: std::sync::OnceLock::new(),
            secret,
        })
    }

    /// HMAC-SHA-256 under the server secret, hex: how short codes are stored.
    pub(crate) fn keyed(&self, parts: &[&str]) -> String {
        keyed_hash(&self.secret, parts)
    }

    /// Key the audit chain (HMAC-SHA-256) with a secret kept outside the database. Set
    /// it before the first record, and always the same: records chained under another
    /// key (or none) fail verification. Returns false if a key was already set.
    pub fn set_audit_key(&self, key: Vec<u8>) -> bool {
        self.audit_key.set(key).is_ok()
    }

    pub(crate) fn audit_key(&self) -> Option<&[u8]> {
        self.audit_key.get().map(Vec::as_slice)
    }

    /// A new time-ordered id.
    pub(crate) fn next_id(&self) -> i64 {
        self.ids.next()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(conn);
        }
        out
    }

    /// Run a one-off write outside the ingest path (admin operations).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = open(&self.path)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Stop the writer after the queued work is committed.
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(h) = w.take()
        {
            let _ = h.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(mut conn: Connection, rx: Receiver<Job>, ids: Arc<IdGen>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let attempt = (|| -> Result<Vec<Receipt>> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(batch.len());
            for (p, _) in &batch {
                out.push(ingest_one(&tx, p, &ids)?);
            }
            mark_visible(&tx, &out)?;
            tx.commit()?;
            Ok(out)
        })();
        match attempt {
            Ok(receipts) => {
                for ((_, reply), r) in batch.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(_) => {
                // One bad submission must not sink the others: retry one by one.
                for (p, reply) in batch {
                    let r = (|| -> Result<Receipt> {
                        let tx = conn
                            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                        let r = ingest_one(&tx, &p, &ids)?;
                        mark_visible(&tx, std::slice::from_ref(&r))?;
                        tx.commit()?;
                        Ok(r)
                    })();
                    let _ = reply.send(r);
                }
            }
        }
    }
}

/// HMAC-SHA-256 of `parts` (each followed by a zero byte) under `key`, hex.
pub(crate) fn keyed_hash(key: &[u8], parts: &[&str]) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return hash_hex(parts);
    };
    for p in parts {
        mac.update(p.as_bytes());
        mac.update(&[0]);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// A submission's findings as stored: zstd-compressed JSON, or JSON text (empty lists,
/// and rows written before version 8).
pub(crate) fn findings_text(v: rusqlite::types::ValueRef<'_>) -> String {
    match v {
        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        rusqlite::types::ValueRef::Blob(b) => decompress(b)
            .map(|j| String::from_utf8_lossy(&j).into_owned())
            .unwrap_or_else(|| "[]".into()),
        _ => "[]".into(),
    }
}

/// The last step of the lineage: the moment of the commit that shows the episodes.
fn mark_visible(tx: &Transaction<'_>, receipts: &[Receipt]) -> Result<()> {
    let now = now_ms();
    for r in receipts
        .iter()
        .filter(|r| r.episodes.iter().any(|l| !l.unchanged))
    {
        crate::reports::on_visible(tx, r.received_at, now - r.received_at)?;
    }
    let mut stmt =
        tx.prepare_cached("UPDATE episodes SET visible_at = ?3 WHERE person_id = ?1 AND id = ?2")?;
    for l in receipts
        .iter()
        .flat_map(|r| &r.episodes)
        .filter(|l| !l.unchanged)
    {
        stmt.execute(params![l.person_id, l.episode_id, now])?;
    }
    Ok(())
}

fn birth_text(b: &Option<BirthDate>) -> Option<String> {
    b.map(|b| b.to_string())
}

fn known(tx: &Transaction<'_>, person: i64) -> Result<Option<Known>> {
    // Follow merges to the surviving person.
    let mut id = person;
    for _ in 0..16 {
        type Row = (Option<String>, Option<String>, Option<String>, Option<i64>);
        let row: Option<Row> = tx
            .query_row(
                "SELECT name, birth, personal_id, merged_into FROM persons WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((name, birth, personal_id, merged)) = row else {
            return Ok(None);
        };
        if let Some(m) = merged {
            id = m;
            continue;
        }
        return Ok(Some(Known {
            person: id,
            name,
            birth: birth.as_deref().and_then(BirthDate::parse),
            personal_id,
        }));
    }
    Ok(None)
}

fn ingest_one(tx: &Transaction<'_>, p: &Prepared, ids: &IdGen) -> Result<Receipt> {
    let sub_id = ids.next();
    let code = uuid::Uuid::now_v7().to_string();
    let kind = match p.payload {
        Payload::Dossier(_) => "dossier",
        Payload::CheckIn(_) => "checkin",
    };
    tx.execute(
        "INSERT INTO submissions (id, transaction_code, received_at, validated_at, facility, account, source, kind, spec, accepted, findings, sha256, raw_len, raw_zstd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            sub_id,
            code,
            p.meta.received_at,
            p.validated_at,
            p.meta.facility,
            p.meta.account,
            p.meta.source.code(),
            kind,
            p.meta.spec.code(),
            p.accepted,
            if p.findings.is_empty() {
                rusqlite::types::Value::Text("[]".into())
            } else {
                rusqlite::types::Value::Blob(compress(p.findings_json.as_bytes()))
            },
            p.sha256,
            p.raw_len as i64,
            p.raw_zstd,
        ],
    )?;
    crate::reports::on_receipt(
        tx,
        &p.meta.facility,
        p.meta.received_at,
        p.accepted,
        &p.findings_json,
    )?;
    let mut receipt = Receipt {
        submission_id: sub_id,
        transaction_code: code,
        received_at: p.meta.received_at,
        accepted: p.accepted,
        episodes: Vec::new(),
        checkins: 0,
    };
    match &p.payload {
        Payload::Dossier(eps) => {
            for e in eps {
                receipt
                    .episodes
                    .push(link_and_store(tx, p, e, sub_id, ids)?);
            }
        }
        Payload::CheckIn(c) if p.accepted => {
            for row in &c.rows {
                let ma_lk = row.ma_lk.clone().unwrap_or_default();
                tx.execute(
                    "INSERT INTO checkins (facility, ma_lk, id, submission_id, received_at, started_at, care_type, category, insured, body, personal_id, card)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        row.ma_cskcb.clone().unwrap_or_else(|| p.meta.facility.clone()),
                        ma_lk,
                        ids.next(),
                        sub_id,
                        p.meta.received_at,
                        row.ngay_vao.map(|d| d.format("%Y%m%d%H%M").to_string()),
                        row.ma_loai_kcb,
                        row.ma_doituong_kcb,
                        row.ma_the_bhyt.is_some(),
                        serde_json::to_string(row).unwrap_or_default(),
                        row.so_cccd,
                        row.ma_the_bhyt,
                    ],
                )?;
                crate::reports::on_checkin(
                    tx,
                    row.ma_cskcb.as_deref().unwrap_or(&p.meta.facility),
                    row.ngay_vao
                        .map(|d| d.format("%Y%m%d%H%M").to_string())
                        .as_deref(),
                    row.ma_loai_kcb.as_deref(),
                    row.ma_the_bhyt.is_some(),
                    p.meta.received_at,
                )?;
                receipt.checkins += 1;
            }
        }
        Payload::CheckIn(_) => {}
    }
    Ok(receipt)
}

fn link_and_store(
    tx: &Transaction<'_>,
    p: &Prepared,
    e: &ReadyEpisode,
    sub_id: i64,
    ids: &IdGen,
) -> Result<Linked> {
    let now = now_ms();
    // Who the claims point at.
    let mut cands = Candidates::default();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT person_id FROM identifiers WHERE kind = ?1 AND value = ?2 AND active = 1 ORDER BY last_seen DESC LIMIT 1",
        )?;
        for i in &e.claims.identifiers {
            let person: Option<i64> = stmt
                .query_row(params![i.kind.code(), i.value], |r| r.get(0))
                .optional()?;
            if let Some(person) = person
                && let Some(k) = known(tx, person)?
            {
                cands.found.push((i.clone(), k));
            }
        }
    }
    let decision = decide(&e.claims, &cands);
    let person = match decision.target {
        Target::Existing(id) => {
            // A personal ID learned late fills the person's record.
            if let Some(pid) = e.claims.get(IdKind::PersonalId).next() {
                tx.execute(
                    "UPDATE persons SET personal_id = ?2 WHERE id = ?1 AND personal_id IS NULL",
                    params![id, pid.value],
                )?;
            }
            id
        }
        Target::New => {
            let id = ids.next();
            tx.execute(
                "INSERT INTO persons (id, name, birth, sex, personal_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    e.claims.name,
                    birth_text(&e.claims.birth),
                    e.claims.sex,
                    e.claims.get(IdKind::PersonalId).next().map(|i| i.value.clone()),
                    now,
                ],
            )?;
            tx.execute(
                "INSERT INTO person_events (person_id, id, kind, detail, at) VALUES (?1, ?2, 'created', ?3, ?4)",
                params![
                    id,
                    ids.next(),
                    serde_json::json!({"submission": sub_id, "confidence": decision.confidence}).to_string(),
                    now
                ],
            )?;
            id
        }
    };
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO identifiers (person_id, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
             ON CONFLICT (person_id, kind, value) DO UPDATE SET
               last_seen = excluded.last_seen,
               valid_from = CASE WHEN identifiers.valid_to IS NULL OR excluded.valid_to >= identifiers.valid_to
                                 THEN COALESCE(excluded.valid_from, identifiers.valid_from) ELSE identifiers.valid_from END,
               valid_to = CASE WHEN identifiers.valid_to IS NULL OR excluded.valid_to >= identifiers.valid_to
                               THEN COALESCE(excluded.valid_to, identifiers.valid_to) ELSE identifiers.valid_to END",
        )?;
        // Each card period as sent (a renewal is a new period of the same number).
        let mut period = tx.prepare_cached(
            "INSERT INTO card_periods (person_id, card, valid_from, valid_to, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (person_id, card, valid_from, valid_to) DO UPDATE SET last_seen = excluded.last_seen",
        )?;
        for i in &e.claims.identifiers {
            // An identifier that already belongs to someone else is not given to this
            // person as well (the conflict is recorded below): a dossier must not move a
            // card, a BHXH number or a passport into another book.
            if cands
                .found
                .iter()
                .any(|(c, k)| c.kind == i.kind && c.value == i.value && k.person != person)
            {
                continue;
            }
            stmt.execute(params![
                person,
                i.kind.code(),
                i.value,
                i.valid_from.map(|d| d.format("%Y%m%d").to_string()),
                i.valid_to.map(|d| d.format("%Y%m%d").to_string()),
                now,
                sub_id,
            ])?;
            if i.kind == IdKind::BhytCard && (i.valid_from.is_some() || i.valid_to.is_some()) {
                let day = |d: Option<chrono::NaiveDate>| {
                    d.map(|d| d.format("%Y%m%d").to_string())
                        .unwrap_or_default()
                };
                period.execute(params![
                    person,
                    i.value,
                    day(i.valid_from),
                    day(i.valid_to),
                    now
                ])?;
            }
        }
    }
    for c in &decision.conflicts {
        let kind = match c {
            Conflict::IdentifierOfOtherPerson { .. } => "identifier_of_other_person",
            Conflict::CardWithTwoPersonalIds { .. } => "card_with_two_personal_ids",
            Conflict::Demographics { .. } => "demographics",
            Conflict::LowConfidenceLink => "low_confidence_link",
        };
        tx.execute(
            "INSERT INTO dq_issues (id, person_id, kind, detail, submission_id, facility, ma_lk, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ids.next(),
                person,
                kind,
                serde_json::to_string(c).unwrap_or_default(),
                sub_id,
                p.meta.facility,
                e.ma_lk,
                now
            ],
        )?;
    }
    let linked_at = now_ms();
    // Corrections: same facility + MA_LK replaces what the book shows.
    let facility = e.facility.clone();
    let previous: Option<(i64, i64, u32, String)> = tx
        .query_row(
            "SELECT person_id, episode_id, version, content_hash FROM episode_keys WHERE facility = ?1 AND ma_lk = ?2",
            params![facility, e.ma_lk],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((prev_person, prev_id, prev_version, hash)) = &previous
        && *hash == e.content_hash
        && *prev_person == person
    {
        return Ok(Linked {
            hoso: e.hoso,
            ma_lk: e.ma_lk.clone(),
            person_id: person,
            episode_id: *prev_id,
            version: *prev_version,
            confidence: decision.confidence,
            unchanged: true,
            conflicts: decision.conflicts.len(),
        });
    }
    let version = previous.as_ref().map_or(1, |p| p.2 + 1);
    if let Some((prev_person, prev_id, _, _)) = &previous {
        tx.execute(
            "UPDATE episodes SET is_current = 0 WHERE person_id = ?1 AND id = ?2",
            params![prev_person, prev_id],
        )?;
    }
    let episode_id = ids.next();
    tx.prepare_cached(
        "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        person,
        episode_id,
        facility,
        e.ma_lk,
        version,
        sub_id,
        e.hoso as i64,
        e.start_at,
        e.end_at,
        e.care_type,
        e.main_icd10,
        decision.confidence.code(),
        p.meta.received_at,
        p.validated_at,
        linked_at,
        e.content_hash,
        pack_body(&e.body),
        e.appointment_at,
        e.referral_to,
        e.referral_number,
        e.insured,
        e.dq_flags,
    ])?;
    if version == 1 {
        crate::reports::on_new_episode(tx, e, person, episode_id, p.meta.received_at)?;
    }
    tx.execute(
        "INSERT INTO episode_keys (facility, ma_lk, person_id, episode_id, version, content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (facility, ma_lk) DO UPDATE SET person_id = excluded.person_id, episode_id = excluded.episode_id, version = excluded.version, content_hash = excluded.content_hash",
        params![facility, e.ma_lk, person, episode_id, version, e.content_hash],
    )?;
    Ok(Linked {
        hoso: e.hoso,
        ma_lk: e.ma_lk.clone(),
        person_id: person,
        episode_id,
        version,
        confidence: decision.confidence,
        unchanged: false,
        conflicts: decision.conflicts.len(),
    })
}

pub(crate) const EPISODE_COLS: &str = "id, person_id, facility, ma_lk, version, is_current, submission_id, confidence, received_at, validated_at, linked_at, visible_at, body";

/// Episode bodies are stored as zstd-compressed JSON (about a fifth of the text).
/// Rows written before compression hold the JSON text itself; both read back.
pub(crate) fn pack_body(json: &str) -> Vec<u8> {
    compress(json.as_bytes())
}

/// Decompress a body: one decompression context per thread (making one per row was 8 %
/// of a `$everything`), sized by the frame's own content size.
fn decompress(b: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
    }
    let size = zstd::zstd_safe::get_frame_content_size(b)
        .ok()
        .flatten()
        .filter(|n| *n <= 256 << 20);
    if let Some(n) = size {
        let out = ZSTD.with(|d| {
            d.borrow_mut()
                .as_mut()
                .and_then(|d| d.decompress(b, n as usize).ok())
        });
        if out.is_some() {
            return out;
        }
    }
    zstd::stream::decode_all(b).ok()
}

fn unpack_body(v: rusqlite::types::ValueRef<'_>) -> Option<EpisodeView> {
    match v {
        rusqlite::types::ValueRef::Text(t) => serde_json::from_slice(t).ok(),
        rusqlite::types::ValueRef::Blob(b) => {
            let json = decompress(b)?;
            serde_json::from_slice(&json).ok()
        }
        _ => None,
    }
}

pub(crate) fn episode_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EpisodeRecord> {
    Ok(EpisodeRecord {
        id: r.get(0)?,
        person_id: r.get(1)?,
        facility: r.get(2)?,
        ma_lk: r.get(3)?,
        version: r.get(4)?,
        is_current: r.get(5)?,
        submission_id: r.get(6)?,
        confidence: r.get(7)?,
        received_at: r.get(8)?,
        validated_at: r.get(9)?,
        linked_at: r.get(10)?,
        visible_at: r.get(11)?,
        view: unpack_body(r.get_ref(12)?).unwrap_or_default(),
    })
}

fn person_record(c: &Connection, id: i64) -> Result<Option<PersonRecord>> {
    let row = c
        .query_row(
            "SELECT id, name, birth, sex, personal_id, merged_into FROM persons WHERE id = ?1",
            params![id],
            |r| {
                Ok(PersonRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    birth: r.get(2)?,
                    sex: r.get(3)?,
                    personal_id: r.get(4)?,
                    merged_into: r.get(5)?,
                    identifiers: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut p) = row else { return Ok(None) };
    let mut stmt = c.prepare_cached(
        "SELECT kind, value, valid_from, valid_to, first_seen, last_seen FROM identifiers WHERE person_id = ?1 ORDER BY kind, first_seen",
    )?;
    p.identifiers = stmt
        .query_map(params![id], |r| {
            let kind: String = r.get(0)?;
            Ok(IdentifierRecord {
                kind: IdKind::from_code(&kind).unwrap_or(IdKind::FacilityPatient),
                value: r.get(1)?,
                valid_from: r.get(2)?,
                valid_to: r.get(3)?,
                first_seen: r.get(4)?,
                last_seen: r.get(5)?,
                periods: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT card, valid_from, valid_to FROM card_periods WHERE person_id = ?1 ORDER BY card, valid_from, valid_to",
    )?;
    let periods: Vec<(String, String, String)> = stmt
        .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if !periods.is_empty() {
        let today = (chrono::Utc::now() + chrono::Duration::hours(7))
            .format("%Y%m%d")
            .to_string();
        for i in p
            .identifiers
            .iter_mut()
            .filter(|i| i.kind == IdKind::BhytCard)
        {
            i.periods = periods
                .iter()
                .filter(|(card, _, _)| *card == i.value)
                .map(|(_, f, t)| (f.clone(), t.clone()))
                .collect();
            let covering = i.periods.iter().find(|(f, t)| {
                (f.is_empty() || f.as_str() <= today.as_str())
                    && (t.is_empty() || t.as_str() >= today.as_str())
            });
            let latest = i.periods.iter().max_by(|a, b| a.1.cmp(&b.1));
            if let Some((f, t)) = covering.or(latest) {
                i.valid_from = Some(f.clone()).filter(|x| !x.is_empty());
                i.valid_to = Some(t.clone()).filter(|x| !x.is_empty());
            }
        }
    }
    Ok(Some(p))
}

pub(crate) fn hash_password(password_md5: &str) -> Result<String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password_md5.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store for SqliteStore {
    fn submit(&self, p: Prepared) -> Result<Pending> {
        let (reply, answer) = sync_channel(1);
        let sender = self
            .tx
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send((p, reply)).map_err(|_| StoreError::Closed)?;
        Ok(Pending(answer))
    }

    fn has_submission_bytes(&self, sha256: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM submissions WHERE sha256 = ?1 LIMIT 1",
                params![sha256],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
    }

    fn submission(&self, transaction_code: &str) -> Result<Option<SubmissionRecord>> {
        self.read(|c| {
            let row = c
                .query_row(
                    "SELECT id, transaction_code, received_at, facility, account, source, kind, spec, accepted, findings, sha256, raw_zstd FROM submissions WHERE transaction_code = ?1",
                    params![transaction_code],
                    |r| {
                        let findings = findings_text(r.get_ref(9)?);
                        let raw: Vec<u8> = r.get(11)?;
                        Ok(SubmissionRecord {
                            id: r.get(0)?,
                            transaction_code: r.get(1)?,
                            received_at: r.get(2)?,
                            facility: r.get(3)?,
                            account: r.get(4)?,
                            source: r.get(5)?,
                            kind: r.get(6)?,
                            spec: r.get(7)?,
                            accepted: r.get(8)?,
                            findings: serde_json::from_str(&findings).unwrap_or_default(),
                            sha256: r.get(10)?,
                            raw,
                        })
                    },
                )
                .optional()?;
            Ok(match row {
                Some(mut s) => {
                    s.raw = zstd::stream::decode_all(s.raw.as_slice())?;
                    Some(s)
                }
                None => None,
            })
        })
    }

    fn person_by_identifier(&self, kind: IdKind, value: &str) -> Result<Option<PersonRecord>> {
        self.read(|c| {
            let person: Option<i64> = c
                .query_row(
                    "SELECT person_id FROM identifiers WHERE kind = ?1 AND value = ?2 AND active = 1 ORDER BY last_seen DESC LIMIT 1",
                    params![kind.code(), value],
                    |r| r.get(0),
                )
                .optional()?;
            match person {
                Some(id) => {
                    let mut p = person_record(c, id)?;
                    // Follow a merge to the survivor.
                    while let Some(m) = p.as_ref().and_then(|x| x.merged_into) {
                        p = person_record(c, m)?;
                    }
                    Ok(p)
                }
                None => Ok(None),
            }
        })
    }

    fn person(&self, id: i64) -> Result<Option<PersonRecord>> {
        self.read(|c| person_record(c, id))
    }

    fn episodes_of(&self, person: i64) -> Result<Vec<EpisodeRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EPISODE_COLS} FROM episodes WHERE person_id = ?1 AND is_current = 1 ORDER BY start_at DESC, id DESC"
            ))?;
            Ok(stmt
                .query_map(params![person], episode_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn episode(&self, person: i64, id: i64) -> Result<Option<EpisodeRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EPISODE_COLS} FROM episodes WHERE person_id = ?1 AND id = ?2 AND is_current = 1"
            ))?;
            Ok(stmt.query_row(params![person, id], episode_row).optional()?)
        })
    }

    fn scan_episodes(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        if self.is_small_unit(facilities)? {
            self.scan_episodes_by_person(facilities, since_ms, f)
        } else {
            self.scan_episodes_by_key(facilities, since_ms, f)
        }
    }

    fn episode_versions(&self, facility: &str, ma_lk: &str) -> Result<Vec<EpisodeRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EPISODE_COLS} FROM episodes WHERE facility = ?1 AND ma_lk = ?2 ORDER BY version"
            ))?;
            Ok(stmt
                .query_map(params![facility, ma_lk], episode_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn dq_issues(&self, limit: usize) -> Result<Vec<DqIssue>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, person_id, kind, detail, facility, ma_lk, created_at, status FROM dq_issues ORDER BY id DESC LIMIT ?1",
            )?;
            Ok(stmt
                .query_map(params![limit as i64], |r| {
                    let detail: String = r.get(3)?;
                    Ok(DqIssue {
                        id: r.get(0)?,
                        person_id: r.get(1)?,
                        kind: r.get(2)?,
                        detail: serde_json::from_str(&detail).unwrap_or_default(),
                        facility: r.get(4)?,
                        ma_lk: r.get(5)?,
                        created_at: r.get(6)?,
                        status: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn merge_persons(&self, from: i64, into: i64, reason: &str) -> Result<()> {
        if from == into {
            return Err(StoreError::Invalid(
                "cannot merge a person into itself".into(),
            ));
        }
        let ids = self.ids.clone();
        self.write(|tx| {
            for id in [from, into] {
                let merged: Option<Option<i64>> = tx
                    .query_row("SELECT merged_into FROM persons WHERE id = ?1", params![id], |r| r.get(0))
                    .optional()?;
                match merged {
                    None => return Err(StoreError::NotFound(format!("person {id}"))),
                    Some(Some(_)) => return Err(StoreError::Invalid(format!("person {id} is already merged"))),
                    Some(None) => {}
                }
            }
            // Distribution-key moves are delete + insert (Citus cannot update it).
            tx.execute(
                "INSERT OR IGNORE INTO identifiers (person_id, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, active)
                 SELECT ?2, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, active FROM identifiers WHERE person_id = ?1",
                params![from, into],
            )?;
            tx.execute("UPDATE identifiers SET active = 0 WHERE person_id = ?1", params![from])?;
            tx.execute(
                "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags)
                 SELECT ?2, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags FROM episodes WHERE person_id = ?1",
                params![from, into],
            )?;
            tx.execute("DELETE FROM episodes WHERE person_id = ?1", params![from])?;
            tx.execute("UPDATE episode_keys SET person_id = ?2 WHERE person_id = ?1", params![from, into])?;
            tx.execute("UPDATE persons SET merged_into = ?2 WHERE id = ?1", params![from, into])?;
            // The registry follows the person.
            tx.execute(
                "UPDATE population SET person_id = ?2 WHERE person_id = ?1",
                params![from, into],
            )?;
            let now = now_ms();
            let detail = serde_json::json!({"from": from, "into": into, "reason": reason}).to_string();
            for p in [from, into] {
                tx.execute(
                    "INSERT INTO person_events (person_id, id, kind, detail, at) VALUES (?1, ?2, 'merged', ?3, ?4)",
                    params![p, ids.next(), detail, now],
                )?;
            }
            Ok(())
        })
    }

    fn split_person(&self, person: i64, episode_ids: &[i64], reason: &str) -> Result<i64> {
        let ids = self.ids.clone();
        self.write(|tx| {
            let src: Option<(Option<String>, Option<String>, Option<String>)> = tx
                .query_row("SELECT name, birth, sex FROM persons WHERE id = ?1", params![person], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let (name, birth, sex) = src.ok_or_else(|| StoreError::NotFound(format!("person {person}")))?;
            let new_id = ids.next();
            let now = now_ms();
            tx.execute(
                "INSERT INTO persons (id, name, birth, sex, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![new_id, name, birth, sex, now],
            )?;
            for eid in episode_ids {
                let key: Option<(String, String)> = tx
                    .query_row("SELECT facility, ma_lk FROM episodes WHERE person_id = ?1 AND id = ?2", params![person, eid], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let (facility, ma_lk) = key.ok_or_else(|| StoreError::NotFound(format!("episode {eid} of person {person}")))?;
                tx.execute(
                    "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags)
                     SELECT ?3, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags FROM episodes WHERE person_id = ?1 AND facility = ?2 AND ma_lk = ?4",
                    params![person, facility, new_id, ma_lk],
                )?;
                tx.execute("DELETE FROM episodes WHERE person_id = ?1 AND facility = ?2 AND ma_lk = ?3", params![person, facility, ma_lk])?;
                tx.execute("UPDATE episode_keys SET person_id = ?3 WHERE facility = ?1 AND ma_lk = ?2", params![facility, ma_lk, new_id])?;
            }
            let detail = serde_json::json!({"from": person, "to": new_id, "episodes": episode_ids, "reason": reason}).to_string();
            for p in [person, new_id] {
                tx.execute(
                    "INSERT INTO person_events (person_id, id, kind, detail, at) VALUES (?1, ?2, 'split', ?3, ?4)",
                    params![p, ids.next(), detail, now],
                )?;
            }
            Ok(new_id)
        })
    }

    fn upsert_facility(&self, f: &Facility) -> Result<()> {
        self.import_facilities(std::slice::from_ref(f)).map(|_| ())
    }

    fn facility(&self, code: &str) -> Result<Option<Facility>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT code, name, province, kind, bhyt_contract, unit FROM facilities WHERE code = ?1",
                params![code],
                |r| {
                    Ok(Facility {
                        code: r.get(0)?,
                        name: r.get(1)?,
                        province: r.get(2)?,
                        kind: r.get(3)?,
                        bhyt_contract: r.get(4)?,
                        unit: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn facility_names(&self, codes: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT name FROM facilities WHERE code = ?1")?;
            let mut out = std::collections::HashMap::new();
            for code in codes {
                if out.contains_key(*code) {
                    continue;
                }
                if let Some(name) = stmt
                    .query_row(params![code], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    out.insert(code.to_string(), name);
                }
            }
            Ok(out)
        })
    }

    fn upsert_account(&self, username: &str, facility: &str, password_md5: &str) -> Result<()> {
        if username.trim().is_empty() {
            return Err(StoreError::Invalid("username is empty".into()));
        }
        if self.facility(facility)?.is_none() {
            return Err(StoreError::NotFound(format!("facility {facility}")));
        }
        let hash = hash_password(&password_md5.to_ascii_uppercase())?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO accounts (username, facility, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (username) DO UPDATE SET facility = excluded.facility, password_hash = excluded.password_hash, active = 1",
                params![username, facility, hash, now_ms()],
            )?;
            Ok(())
        })
    }

    fn verify_account(&self, username: &str, password_md5: &str) -> Result<Option<Account>> {
        let row: Option<(String, String)> = self.read(|c| {
            Ok(c.query_row(
                "SELECT facility, password_hash FROM accounts WHERE username = ?1 AND active = 1",
                params![username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })?;
        let Some((facility, hash)) = row else {
            // Spend the same time whether or not the account exists.
            let _ = hash_password(password_md5);
            return Ok(None);
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password_md5.to_ascii_uppercase().as_bytes(), &parsed)
            .is_ok()
            .then(|| Account {
                username: username.to_string(),
                facility,
            }))
    }

    fn save_token(&self, t: &Token, password_md5: &str) -> Result<()> {
        let now = now_ms();
        self.write(|tx| {
            tx.execute("DELETE FROM tokens WHERE expires_at < ?1", params![now])?;
            tx.execute(
                "INSERT INTO tokens (access_hash, id_token, username, password_check, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    hash_hex(&[&t.access_token]),
                    t.id_token,
                    t.username,
                    hash_hex(&[&t.access_token, &password_md5.to_ascii_uppercase()]),
                    t.expires_at
                ],
            )?;
            Ok(())
        })
    }

    fn check_token(
        &self,
        access_token: &str,
        id_token: &str,
        password_md5: &str,
        now: i64,
    ) -> Result<Option<Account>> {
        self.read(|c| {
            let row: Option<(String, String, String, i64)> = c
                .query_row(
                    "SELECT t.id_token, t.password_check, a.username || char(0) || a.facility, t.expires_at FROM tokens t JOIN accounts a ON a.username = t.username AND a.active = 1 WHERE t.access_hash = ?1",
                    params![hash_hex(&[access_token])],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((id, check, who, expires)) = row else { return Ok(None) };
            let ok = id == id_token
                && expires > now
                && check == hash_hex(&[access_token, &password_md5.to_ascii_uppercase()]);
            Ok(ok.then(|| {
                let (username, facility) = who.split_once('\0').unwrap_or((&who, ""));
                Account {
                    username: username.to_string(),
                    facility: facility.to_string(),
                }
            }))
        })
    }

    fn ping(&self) -> Result<()> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
    }

    fn counts(&self) -> Result<Counts> {
        self.read(|c| {
            let one = |sql: &str| -> Result<i64> {
                Ok(c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))?
                    .unwrap_or(0))
            };
            Ok(Counts {
                submissions: one("SELECT COUNT(*) FROM submissions")?,
                accepted: one("SELECT COUNT(*) FROM submissions WHERE accepted = 1")?,
                persons: one("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL")?,
                episodes_current: one("SELECT COUNT(*) FROM episodes WHERE is_current = 1")?,
                episode_versions: one("SELECT COUNT(*) FROM episodes")?,
                checkins: one("SELECT COUNT(*) FROM checkins")?,
                dq_open: one("SELECT COUNT(*) FROM dq_issues WHERE status = 'open'")?,
                raw_bytes: one("SELECT SUM(raw_len) FROM submissions")?,
                stored_bytes: one("SELECT SUM(length(raw_zstd)) FROM submissions")?,
                findings_bytes: one("SELECT SUM(length(findings)) FROM submissions")?,
            })
        })
    }

    fn issue_activation_code(&self, person: i64, issued_by: &str, ttl_ms: i64) -> Result<String> {
        self.issue_code(person, issued_by, ttl_ms, CodePurpose::Either)
    }

    fn issue_code(
        &self,
        person: i64,
        issued_by: &str,
        ttl_ms: i64,
        want: CodePurpose,
    ) -> Result<String> {
        if self.person(person)?.is_none() {
            return Err(StoreError::NotFound(format!("person {person}")));
        }
        // 8 digits from a random UUID: ~27 bits, single use, short-lived, at most
        // MAX_CODE_ATTEMPTS wrong tries, stored as a keyed hash (the server secret).
        let n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes()) % 100_000_000;
        let code = format!("{n:08}");
        let now = now_ms();
        let hash = self.keyed(&["activation", &person.to_string(), &code]);
        self.write(|tx| {
            // A code for an account that is already active can only reset its passcode.
            let active: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM citizen_accounts WHERE person_id = ?1)",
                params![person],
                |r| r.get(0),
            )?;
            let purpose = if active { "reset" } else { "activation" };
            match (want, active) {
                (CodePurpose::Activation, true) => {
                    return Err(StoreError::Invalid(
                        "tài khoản đã được kích hoạt / the account is already active".into(),
                    ));
                }
                (CodePurpose::Reset, false) => {
                    return Err(StoreError::Invalid(
                        "chưa có tài khoản để đặt lại / no account to reset".into(),
                    ));
                }
                _ => {}
            }
            tx.execute(
                "INSERT INTO activation_codes (person_id, code_hash, issued_by, issued_at, expires_at, purpose) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![person, hash, issued_by, now, now + ttl_ms, purpose],
            )?;
            Ok(())
        })?;
        Ok(code)
    }

    fn activate_citizen(&self, personal_id: &str, code: &str, passcode: &str) -> Result<i64> {
        if passcode.len() != 6 || !passcode.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::Invalid(
                "mã khóa phải gồm 6 chữ số / the passcode must be 6 digits".into(),
            ));
        }
        // The passcode is hashed first and an unknown person gets the same answer as a
        // wrong code: activation does not tell who exists.
        let hash = hash_password(passcode)?;
        let wrong_code = || {
            StoreError::Invalid(
                "mã kích hoạt không đúng hoặc đã hết hạn / wrong or expired activation code".into(),
            )
        };
        let person = self
            .person_by_identifier(IdKind::PersonalId, personal_id)?
            .ok_or_else(wrong_code)?
            .id;
        let now = now_ms();
        let code_hash = self.keyed(&["activation", &person.to_string(), code.trim()]);
        let key = self.audit_key().map(<[u8]>::to_vec);
        let wrong = || {
            StoreError::Invalid(
                "mã kích hoạt không đúng hoặc đã hết hạn / wrong or expired activation code".into(),
            )
        };
        let outcome = self.write(|tx| {
            let found: Option<String> = tx
                .query_row(
                    "SELECT purpose FROM activation_codes WHERE person_id = ?1 AND code_hash = ?2
                       AND used_at IS NULL AND expires_at > ?3 AND attempts < ?4",
                    params![person, code_hash, now, MAX_CODE_ATTEMPTS],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(purpose) = found else {
                // A wrong code counts against every live code of the person: after
                // MAX_CODE_ATTEMPTS wrong tries none of them opens anything any more.
                tx.execute(
                    "UPDATE activation_codes SET attempts = attempts + 1 WHERE person_id = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![person, now],
                )?;
                return Ok(None);
            };
            let active: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM citizen_accounts WHERE person_id = ?1)",
                params![person],
                |r| r.get(0),
            )?;
            if active && purpose != "reset" {
                // A code made before the account was activated cannot replace its passcode.
                return Ok(Some(Err(StoreError::Invalid(
                    "tài khoản đã được kích hoạt; cần mã đặt lại mã khóa do cơ sở cấp / the account is already active: a reset code is needed".into(),
                ))));
            }
            // Used: this code, and every other live code of the person with it.
            tx.execute(
                "UPDATE activation_codes SET used_at = ?2 WHERE person_id = ?1 AND used_at IS NULL",
                params![person, now],
            )?;
            tx.execute(
                "INSERT INTO citizen_accounts (person_id, passcode_hash, activated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (person_id) DO UPDATE SET passcode_hash = excluded.passcode_hash, failed_attempts = 0, locked_until = 0, activated_at = excluded.activated_at",
                params![person, hash, now],
            )?;
            if active {
                // Whoever was signed in before the reset is signed out.
                tx.execute("DELETE FROM sessions WHERE person_id = ?1", params![person])?;
                // The person sees in their log that their passcode was reset.
                crate::access::append_audit_tx(
                    tx,
                    key.as_deref(),
                    &AuditEntry {
                        person_id: person,
                        actor: "citizen".into(),
                        actor_name: None,
                        actor_cert: None,
                        role: book::access::Role::Citizen,
                        facility: None,
                        action: "reset_passcode".into(),
                        target: None,
                        basis: book::access::Basis::Enrolment,
                        grant_id: None,
                    },
                    now,
                )?;
            } else {
                crate::reports::on_activation(tx, personal_id, now)?;
            }
            Ok(Some(Ok(person)))
        })?;
        match outcome {
            Some(r) => r,
            None => Err(wrong()),
        }
    }

    fn citizen_login(&self, personal_id: &str, passcode: &str, now: i64) -> Result<Login> {
        let Some(person) = self.person_by_identifier(IdKind::PersonalId, personal_id)? else {
            let _ = hash_password(passcode);
            return Ok(Login::NoAccount);
        };
        let row: Option<String> = self.read(|c| {
            Ok(c.query_row(
                "SELECT passcode_hash FROM citizen_accounts WHERE person_id = ?1",
                params![person.id],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        let Some(hash) = row else {
            let _ = hash_password(passcode);
            return Ok(Login::NoAccount);
        };
        // Repeated failures are slowed down by the caller (per client address and
        // account, growing delays): the store keeps no lock that anyone could trigger.
        let _ = now;
        let parsed = PasswordHash::new(&hash).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let ok = Argon2::default()
            .verify_password(passcode.as_bytes(), &parsed)
            .is_ok();
        Ok(if ok {
            Login::Ok(person.id)
        } else {
            Login::Wrong
        })
    }

    fn create_session(&self, person: i64, ttl_ms: i64) -> Result<String> {
        let token = new_token();
        let now = now_ms();
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE person_id = ?1 AND expires_at < ?2", params![person, now])?;
            tx.execute(
                "INSERT INTO sessions (person_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![person, hash_hex(&[&token]), now, now + ttl_ms],
            )?;
            Ok(())
        })?;
        Ok(token)
    }

    fn session_person(&self, token: &str, now: i64) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT person_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![hash_hex(&[token]), now],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn end_session(&self, token: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![hash_hex(&[token])],
            )?;
            Ok(())
        })
    }

    fn grant_guardian(&self, guardian: i64, ward: i64, granted_by: &str) -> Result<()> {
        if guardian == ward {
            return Err(StoreError::Invalid(
                "a person is not their own guardian".into(),
            ));
        }
        for p in [guardian, ward] {
            if self.person(p)?.is_none() {
                return Err(StoreError::NotFound(format!("person {p}")));
            }
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO guardianships (guardian_id, ward_id, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guardian_id, ward_id) DO UPDATE SET granted_by = excluded.granted_by, granted_at = excluded.granted_at, revoked_at = NULL",
                params![guardian, ward, granted_by, now_ms()],
            )?;
            Ok(())
        })
    }

    fn revoke_guardian(&self, guardian: i64, ward: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE guardianships SET revoked_at = ?3 WHERE guardian_id = ?1 AND ward_id = ?2 AND revoked_at IS NULL",
                params![guardian, ward, now_ms()],
            )?;
            Ok(())
        })
    }

    fn wards(&self, guardian: i64) -> Result<Vec<Ward>> {
        let rows: Vec<(i64, String, i64)> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT ward_id, granted_by, granted_at FROM guardianships WHERE guardian_id = ?1 AND revoked_at IS NULL ORDER BY granted_at",
            )?;
            Ok(stmt
                .query_map(params![guardian], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?)
        })?;
        let mut out = Vec::new();
        for (ward, granted_by, granted_at) in rows {
            if let Some(person) = self.person(ward)? {
                out.push(Ward {
                    person,
                    granted_by,
                    granted_at,
                });
            }
        }
        Ok(out)
    }
}

impl SqliteStore {
    /// Load persons and their episodes directly, in large transactions, bypassing
    /// the gateway path: for benchmarks at national scale and registry seeding. The
    /// episodes have no submission behind them (`submission_id` 0), so no raw
    /// evidence: never use it for data that arrived as dossiers. Durable at return.
    pub fn bulk_load(&self, persons: impl IntoIterator<Item = BulkPerson>) -> Result<(u64, u64)> {
        const PER_COMMIT: usize = 20_000;
        let mut conn = open(&self.path)?;
        // One fsync per large transaction is plenty: a crash mid-load loses only
        // the transaction in progress, and the load can be re-run on a fresh file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -1_000_000)?;
        let (mut n_persons, mut n_episodes) = (0u64, 0u64);
        let mut it = persons.into_iter().peekable();
        while it.peek().is_some() {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut person = tx.prepare_cached(
                    "INSERT INTO persons (id, name, birth, sex, personal_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut ident = tx.prepare_cached(
                    "INSERT OR IGNORE INTO identifiers (person_id, kind, value, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
                )?;
                let mut episode = tx.prepare_cached(
                    "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, insured, dq_flags)
                     VALUES (?1, ?2, ?3, ?4, 1, 1, 0, 1, ?5, ?6, ?7, ?8, 'high', ?9, ?9, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?;
                let mut key = tx.prepare_cached(
                    "INSERT INTO episode_keys (facility, ma_lk, person_id, episode_id, version, content_hash) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                )?;
                let chunk: Vec<BulkPerson> = it.by_ref().take(PER_COMMIT).collect();
                // Compress and hash the bodies on every core; SQLite inserts on one.
                let packed = pack_parallel(&chunk);
                for (p, packed) in chunk.iter().zip(packed) {
                    let now = now_ms();
                    let id = self.ids.next();
                    person.execute(params![id, p.name, p.birth, p.sex, p.personal_id, now])?;
                    for (kind, value) in &p.identifiers {
                        ident.execute(params![id, kind.code(), value, now])?;
                    }
                    for (e, (body, hash)) in p.episodes.iter().zip(packed) {
                        let eid = self.ids.next();
                        episode.execute(params![
                            id,
                            eid,
                            e.facility,
                            e.ma_lk,
                            e.start_at,
                            e.end_at,
                            e.care_type,
                            e.main_icd10,
                            now,
                            hash,
                            body,
                            e.appointment_at,
                            e.referral_to,
                            e.insured,
                            e.dq_flags,
                        ])?;
                        key.execute(params![e.facility, e.ma_lk, id, eid, hash])?;
                        n_episodes += 1;
                    }
                    n_persons += 1;
                }
            }
            tx.commit()?;
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok((n_persons, n_episodes))
    }
}

/// The stored body and content hash of every episode of `persons`, in order.
fn pack_parallel(persons: &[BulkPerson]) -> Vec<Vec<(Vec<u8>, String)>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = persons.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = persons
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| {
                            p.episodes
                                .iter()
                                .map(|e| (pack_body(&e.body), sha256_hex(e.body.as_bytes())))
                                .collect()
                        })
                        .collect::<Vec<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// A list as a JSON array, for `json_each(?)` in a query.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// [`Store::scan_episodes`] reads a unit's rows alone (found through the facility index)
/// when its facilities sent less than one row in this many, and at most
/// [`SMALL_MAX_ROWS`]; else it reads the whole table in key order.
const SMALL_SHARE: i64 = 8;
/// The most rows whose keys the small-unit plan holds (16 bytes each: 64 MB, about
/// 100 MB while the list grows).
const SMALL_MAX_ROWS: i64 = 4_000_000;

impl SqliteStore {
    /// Whether [`Store::scan_episodes`] reads these facilities' rows alone: their share of
    /// the table, counted in the facility index (no row is read; counting stops past the
    /// bound), against the largest rowid (one seek).
    pub fn is_small_unit(&self, facilities: &[String]) -> Result<bool> {
        let list = json_list(facilities)?;
        self.read(|c| {
            let all: i64 =
                c.query_row("SELECT COALESCE(MAX(rowid), 0) FROM episodes", [], |r| {
                    r.get(0)
                })?;
            let bound = (all / SMALL_SHARE).min(SMALL_MAX_ROWS);
            let theirs: i64 = c.query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM episodes
                 WHERE facility IN (SELECT value FROM json_each(?1)) LIMIT ?2)",
                params![list, bound + 1],
                |r| r.get(0),
            )?;
            Ok(theirs <= bound)
        })
    }

    /// [`Store::scan_episodes`] by the whole table in key order, pages of 1,000 rows: the
    /// plan for a large share of the table.
    pub fn scan_episodes_by_key(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        const PAGE: i64 = 1_000;
        let list = json_list(facilities)?;
        // Pages by key, each its own read: no snapshot is held for the whole scan (the WAL
        // can be checkpointed meanwhile) and at most a page is in memory. `+facility` keeps
        // the planner on the primary key, in person order: with the facility index it would
        // sort every match again for each page (4.1 s against 0.55 s for 47 k of 500 k rows).
        let mut after = (i64::MIN, i64::MIN);
        let mut n = 0;
        loop {
            let page: Vec<EpisodeRecord> = self.read(|c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {EPISODE_COLS} FROM episodes
                     WHERE (person_id, id) > (?3, ?4) AND is_current = 1 AND visible_at >= ?2
                       AND +facility IN (SELECT value FROM json_each(?1))
                     ORDER BY person_id, id LIMIT ?5"
                ))?;
                Ok(stmt
                    .query_map(params![list, since_ms, after.0, after.1, PAGE], episode_row)?
                    .collect::<rusqlite::Result<_>>()?)
            })?;
            let full = page.len() as i64 == PAGE;
            for e in page {
                after = (e.person_id, e.id);
                n += 1;
                if !f(e)? {
                    return Ok(n);
                }
            }
            if !full {
                return Ok(n);
            }
        }
    }

    /// [`Store::scan_episodes`] for a small share of the table: the keys `(person_id, id)`
    /// of the facilities' current rows first, through the facility index, 10,000 a read
    /// (memory holds 16 bytes a row; past [`SMALL_MAX_ROWS`] it falls back to the key
    /// order), sorted into person order; then the rows by key, 1,000 a read. Only the
    /// unit's rows are read, where the key-order scan reads the whole table. A row is the
    /// version that was current when its key was taken (a correction made meanwhile comes
    /// with the next export `since`, its `visible_at` being new).
    pub fn scan_episodes_by_person(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        const KEYS: i64 = 10_000;
        const PAGE: usize = 1_000;
        let mut keys: Vec<(i64, i64)> = Vec::new();
        for facility in facilities {
            let mut after = (String::new(), i64::MIN);
            loop {
                let page: Vec<(String, i64, i64, i64)> = self.read(|c| {
                    let mut stmt = c.prepare_cached(
                        "SELECT ma_lk, version, person_id, id FROM episodes
                         WHERE facility = ?1 AND (ma_lk, version) > (?2, ?3)
                           AND is_current = 1 AND visible_at >= ?4
                         ORDER BY ma_lk, version LIMIT ?5",
                    )?;
                    Ok(stmt
                        .query_map(params![facility, after.0, after.1, since_ms, KEYS], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })?
                        .collect::<rusqlite::Result<_>>()?)
                })?;
                let full = page.len() as i64 == KEYS;
                if let Some(last) = page.last() {
                    after = (last.0.clone(), last.1);
                }
                keys.extend(page.into_iter().map(|(_, _, p, i)| (p, i)));
                if keys.len() as i64 > SMALL_MAX_ROWS {
                    return self.scan_episodes_by_key(facilities, since_ms, f);
                }
                if !full {
                    break;
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut n = 0;
        for chunk in keys.chunks(PAGE) {
            let list = json_list(chunk)?;
            let page: Vec<EpisodeRecord> = self.read(|c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {EPISODE_COLS} FROM episodes
                     WHERE (person_id, id) IN (
                         SELECT value ->> 0, value ->> 1 FROM json_each(?1))
                     ORDER BY person_id, id"
                ))?;
                Ok(stmt
                    .query_map(params![list], episode_row)?
                    .collect::<rusqlite::Result<_>>()?)
            })?;
            for e in page {
                n += 1;
                if !f(e)? {
                    return Ok(n);
                }
            }
        }
        Ok(n)
    }
}
