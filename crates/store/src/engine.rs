//! The store over any backend: connections, the writer thread with group commit, ids and
//! secrets. The rules themselves are in `core`, `access` and `reports`; the SQL in the
//! backend folders.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::db::{Db, Q, args};
use crate::*;

/// Most submissions one commit carries.
const BATCH: usize = 512;

/// Connections idle in the pool at most.
const POOL: usize = 8;

type Job = (
    Prepared,
    crate::core::Presealed,
    SyncSender<Result<Receipt>>,
);

/// What a backend gives the store: connections, transactions around a closure, and its
/// migrations. Everything else is SQL, named by [`Q`]. (Public only to name [`Engine`]'s
/// parameter: it lives in a private module and cannot be implemented outside this crate.)
pub trait Backend: Send + Sync + Sized + 'static {
    type Conn: Send + 'static;
    /// A new connection.
    fn connect(&self) -> Result<Self::Conn>;
    /// Run `f` on `conn`: in one write transaction when `write` (taking the write lock
    /// at its start), else as plain reads.
    fn run<T>(
        &self,
        conn: &mut Self::Conn,
        write: bool,
        f: impl FnOnce(&dyn Db) -> Result<T>,
    ) -> Result<T>;
    /// Bring the schema to the newest version.
    fn migrate(&self, conn: &mut Self::Conn) -> Result<()>;
    /// Settings for a long bulk load (`true`) and back (`false`).
    fn bulk_mode(&self, conn: &mut Self::Conn, on: bool) -> Result<()>;
    /// This server's id space: (n, of how many). Ids of server n are n modulo the
    /// count, so that servers sharing a database never make the same id.
    fn node(&self) -> Result<(i64, i64)> {
        Ok((0, 1))
    }
    /// Where the store is, for messages (never a password).
    fn describe(&self) -> String;
    /// The data keys (loaded when the store starts).
    fn crypt(&self) -> &crate::crypt::Crypt;
    /// Idle read connections kept for reuse. A read that finds none opens one (kept
    /// afterwards up to this many), so this should cover the reads in flight at once.
    fn pool_size(&self) -> usize {
        POOL
    }
    /// Whether the writer reads what a batch will look up before its first
    /// submission, one statement for each kind of lookup ([`crate::core::BatchState`]):
    /// worth it where each statement is a round trip to a server; an embedded
    /// database answers each lookup in microseconds, and reads them one at a time.
    fn reads_ahead(&self) -> bool {
        false
    }
    /// Whether the writer locks the keys a batch decides about ([`crate::core::lock_keys`]):
    /// needed where other servers write the same database; a database that takes one
    /// writer at a time (SQLite) already excludes them with its transaction.
    fn locks_keys(&self) -> bool {
        true
    }
    /// Writer threads, each with its own connection and queue. A submission goes to the
    /// writer its facility hashes to, so one facility's dossiers (and its corrections)
    /// are committed in the order they came. More than one only where the database
    /// takes concurrent writers and the keys that decide identity are locked in it.
    fn writers(&self) -> usize {
        1
    }
}

/// Time-ordered ids: milliseconds << 10 | counter (1,024 per millisecond). They stay
/// below 2^53 until the 23rd century, so JavaScript clients read them exactly. With
/// several servers on one database, server n makes only ids equal to n modulo their
/// number (a server that needs more than its share of a millisecond runs ahead of the
/// clock).
pub(crate) struct IdGen {
    last: AtomicI64,
    node: i64,
    stride: i64,
}

impl IdGen {
    pub(crate) fn new(last: i64, (node, stride): (i64, i64)) -> IdGen {
        IdGen {
            last: AtomicI64::new(last),
            node,
            stride: stride.max(1),
        }
    }

    pub(crate) fn next(&self) -> i64 {
        let candidate = now_ms() << 10;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let mut next = candidate.max(last + 1);
            next += (self.node - next.rem_euclid(self.stride)).rem_euclid(self.stride);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(x) => last = x,
            }
        }
    }
}

/// The store: the one implementation of [`Store`], over a backend.
pub struct Engine<B: Backend> {
    pub(crate) backend: Arc<B>,
    tx: Mutex<Option<Vec<SyncSender<Job>>>>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    pool: Mutex<Vec<B::Conn>>,
    pub(crate) ids: Arc<IdGen>,
    audit_key: std::sync::OnceLock<Vec<u8>>,
    /// The server secret that keys the hashes of short codes (activation and share
    /// codes): kept outside the database, never in it.
    secret: Vec<u8>,
}

impl<B: Backend> Engine<B> {
    /// Open over `backend`: migrate, then start the writer.
    pub(crate) fn start(backend: B, secret: Vec<u8>) -> Result<Self> {
        let mut conn = backend.connect()?;
        backend.migrate(&mut conn)?;
        backend.run(&mut conn, true, |db| db.crypt().start(db))?;
        // Ids stay ordered across restarts.
        let max_id: i64 = backend.run(&mut conn, false, |db| db.value(Q::MaxId, args![]))?;
        let ids = Arc::new(IdGen::new(max_id, backend.node()?));
        let backend = Arc::new(backend);
        // The queues bound memory: at most two batches wait behind the ones being written.
        let n = backend.writers().max(1);
        let mut senders = Vec::with_capacity(n);
        let mut writers = Vec::with_capacity(n);
        let mut first = Some(conn);
        for i in 0..n {
            let conn = match first.take() {
                Some(c) => c,
                None => backend.connect()?,
            };
            let (tx, rx) = sync_channel::<Job>((2 * BATCH).div_ceil(n));
            let (wids, wb) = (ids.clone(), backend.clone());
            writers.push(
                std::thread::Builder::new()
                    .name(format!("store-writer-{i}"))
                    .spawn(move || writer_loop(&*wb, conn, rx, &wids))?,
            );
            senders.push(tx);
        }
        let engine = Engine {
            backend,
            tx: Mutex::new(Some(senders)),
            writers: Mutex::new(writers),
            pool: Mutex::new(Vec::new()),
            ids,
            audit_key: std::sync::OnceLock::new(),
            secret,
        };
        // A store written before identities were sealed is converted before anything
        // looks a person up (lookups go by blind index only).
        engine.convert_identities(&mut |_| {})?;
        Ok(engine)
    }

    /// HMAC-SHA-256 under the server secret, hex: how short codes are stored.
    pub(crate) fn keyed(&self, parts: &[&str]) -> String {
        keyed_hash(&self.secret, parts)
    }

    /// The person-data interface of the service layer over one connection.
    pub(crate) fn tx<'a>(&'a self, db: &'a dyn Db) -> crate::tx::Tx<'a> {
        crate::tx::Tx {
            db,
            audit_key: self.audit_key(),
            keys: self,
        }
    }

    pub(crate) fn audit_key(&self) -> Option<&[u8]> {
        self.audit_key.get().map(Vec::as_slice)
    }

    pub(crate) fn set_key(&self, key: Vec<u8>) -> bool {
        self.audit_key.set(key).is_ok()
    }

    /// A new time-ordered id.
    pub(crate) fn next_id(&self) -> i64 {
        self.ids.next()
    }

    fn with_conn<T>(&self, f: impl FnOnce(&B, &mut B::Conn) -> Result<T>) -> Result<T> {
        let conn = self.pool.lock().map_err(|_| StoreError::Closed)?.pop();
        let mut conn = match conn {
            Some(c) => c,
            None => self.backend.connect()?,
        };
        let out = f(&self.backend, &mut conn);
        // A connection that failed may be broken: only a good one goes back.
        if out.is_ok()
            && let Ok(mut pool) = self.pool.lock()
            && pool.len() < self.backend.pool_size()
        {
            pool.push(conn);
        }
        out
    }

    /// Plain reads.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        self.with_conn(|b, c| b.run(c, false, f))
    }

    /// One write transaction outside the ingest path (admin operations).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        self.with_conn(|b, c| b.run(c, true, f))
    }

    /// A connection for a long bulk load, in bulk mode.
    pub(crate) fn bulk<T>(&self, f: impl FnOnce(&B, &mut B::Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.backend.connect()?;
        self.backend.bulk_mode(&mut conn, true)?;
        let out = f(&self.backend, &mut conn);
        self.backend.bulk_mode(&mut conn, false)?;
        out
    }

    /// Hand a submission to its writer. What needs no database state is done here, on
    /// the caller's thread, so that the one writer does less: the ids, the seals, the
    /// blind indexes and the compression ([`crate::core::preseal`]).
    pub(crate) fn queue(&self, mut p: Prepared) -> Result<Pending> {
        let sealed = crate::core::preseal(self.backend.crypt(), &self.ids, &mut p)?;
        let (reply, answer) = sync_channel(1);
        let sender = {
            let senders = self.tx.lock().map_err(|_| StoreError::Closed)?;
            let senders = senders.as_ref().ok_or(StoreError::Closed)?;
            senders[writer_of(&p.meta.facility, senders.len())].clone()
        };
        sender
            .send((p, sealed, reply))
            .map_err(|_| StoreError::Closed)?;
        Ok(Pending(answer))
    }

    /// Stop the writers after the queued work is committed.
    pub(crate) fn shut(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut w) = self.writers.lock() {
            for h in w.drain(..) {
                let _ = h.join();
            }
        }
    }
}

/// The writer (of `n`) that commits a facility's submissions: the same one for the
/// life of the process, so that a facility's dossiers keep their order.
fn writer_of(facility: &str, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    // FNV-1a: stable, and spreads five-digit codes well enough over a few writers.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in facility.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize
}

impl<B: Backend> Drop for Engine<B> {
    fn drop(&mut self) {
        self.shut();
    }
}

fn writer_loop<B: Backend>(backend: &B, mut conn: B::Conn, rx: Receiver<Job>, ids: &IdGen) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let attempt = backend.run(&mut conn, true, |db| {
            if backend.locks_keys() {
                crate::core::lock_keys(db, batch.iter().map(|(p, _, _)| p))?;
            }
            let mut state = if backend.reads_ahead() {
                crate::core::BatchState::load(db, batch.iter().map(|(p, s, _)| (p, s)))?
            } else {
                crate::core::BatchState::default()
            };
            let mut out = Vec::with_capacity(batch.len());
            for (p, s, _) in &batch {
                out.push(crate::core::ingest_one(db, p, s, ids, &mut state)?);
            }
            let now = crate::now_ms();
            crate::core::mark_visible(&mut state, batch.iter().map(|(p, _, _)| p).zip(&out), now);
            state.finish(db, now)?;
            Ok(out)
        });
        match attempt {
            Ok(receipts) => {
                for ((_, _, reply), r) in batch.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(_) => {
                // One bad submission must not sink the others: retry one by one (with
                // the ids and seals made when it was queued: nothing of the failed
                // transaction was kept).
                for (p, s, reply) in batch {
                    let r = backend.run(&mut conn, true, |db| {
                        if backend.locks_keys() {
                            crate::core::lock_keys(db, std::iter::once(&p))?;
                        }
                        let mut state = crate::core::BatchState::default();
                        let r = crate::core::ingest_one(db, &p, &s, ids, &mut state)?;
                        let now = crate::now_ms();
                        crate::core::mark_visible(&mut state, [(&p, &r)], now);
                        state.finish(db, now)?;
                        Ok(r)
                    });
                    let _ = reply.send(r);
                }
            }
        }
    }
}

impl<B: Backend> crate::tx::Keys for Engine<B> {
    fn next_id(&self) -> i64 {
        Engine::next_id(self)
    }

    fn keyed(&self, parts: &[&str]) -> String {
        Engine::keyed(self, parts)
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

/// The server secret in `path` (32 random bytes, mode 0600), made on first use. A copy
/// of the database alone cannot test guesses of a short code offline; keep the file with
/// the database's backups, but apart from them.
pub(crate) fn load_secret(path: &std::path::Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
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
        .open(path);
    match made {
        Ok(mut f) => {
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read(path)?),
        Err(e) => Err(e.into()),
    }
}
