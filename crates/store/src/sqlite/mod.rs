//! The embedded backend: one SQLite file in WAL mode. The writer thread commits in
//! batches (group commit); reads use a small pool of connections.

mod sql;

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ToSql, TransactionBehavior};

use crate::crypt::Crypt;
use crate::db::{Arg, Db, Q, RawRow, Row, Val};
use crate::engine::{Backend, Engine};
use crate::sql::whole;
use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_citizen.sql"),
    include_str!("../../migrations/sqlite/0003_access.sql"),
    include_str!("../../migrations/sqlite/0004_reports.sql"),
    include_str!("../../migrations/sqlite/0005_adoption.sql"),
    include_str!("../../migrations/sqlite/0006_fhir.sql"),
    include_str!("../../migrations/sqlite/0007_merged.sql"),
    include_str!("../../migrations/sqlite/0008_hostile.sql"),
    include_str!("../../migrations/sqlite/0009_lookups.sql"),
    include_str!("../../migrations/sqlite/0010_signatures.sql"),
    include_str!("../../migrations/sqlite/0011_keys.sql"),
    include_str!("../../migrations/sqlite/0012_identities.sql"),
    include_str!("../../migrations/sqlite/0013_facility_sla.sql"),
    include_str!("../../migrations/sqlite/0014_health_records.sql"),
    include_str!("../../migrations/sqlite/0015_units_dated.sql"),
    include_str!("../../migrations/sqlite/0016_immunizations.sql"),
    include_str!("../../migrations/sqlite/0017_chronic_care.sql"),
    include_str!("../../migrations/sqlite/0018_notifications.sql"),
    include_str!("../../migrations/sqlite/0019_ingest_indexes.sql"),
];

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// The SQLite file of a store.
pub struct Sqlite {
    path: PathBuf,
    crypt: Crypt,
    checkpoints: Checkpointer,
}

/// WAL pages past which a committing connection copies the WAL into the database itself
/// (SQLite's automatic checkpoint). The [`Checkpointer`] does it first, off the writer;
/// this bounds the WAL should it fall behind.
const AUTO_CHECKPOINT_PAGES: i64 = 16_384;

/// A thread that copies the WAL into the database after commits (a passive checkpoint,
/// on a connection of its own), so that the writer does not: on an import that copy
/// was about a sixth of the writer's time. Started by the first commit; stopped and
/// joined when the store is dropped.
#[derive(Default)]
struct Checkpointer {
    inner: std::sync::Mutex<Option<(std::sync::mpsc::SyncSender<()>, std::thread::JoinHandle<()>)>>,
}

impl Checkpointer {
    /// A commit happened: wake the thread (at most one wake-up waits).
    fn poke(&self, path: &Path) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
            let path = path.to_path_buf();
            let spawned = std::thread::Builder::new()
                .name("store-checkpoint".into())
                .spawn(move || {
                    let Ok(c) = connect(&path) else {
                        return;
                    };
                    while rx.recv().is_ok() {
                        // Best effort: a busy or failed checkpoint is retried after the
                        // next commit, and the writer's automatic one is the backstop.
                        let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                });
            match spawned {
                Ok(h) => *inner = Some((tx, h)),
                Err(_) => return,
            }
        }
        if let Some((tx, _)) = inner.as_ref() {
            let _ = tx.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some((tx, h)) = inner.take()
        {
            drop(tx);
            let _ = h.join();
        }
    }
}

/// The store on one SQLite file.
pub type SqliteStore = Engine<Sqlite>;

impl Engine<Sqlite> {
    /// Open (creating and migrating) the store at `path`; its server secret is
    /// `<path>.secret`, made on first open, and its master key
    /// [`crate::crypt::KeySource::from_env`] with the file `<path>.key` by default
    /// (made with the store).
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let secret = crate::engine::load_secret(&beside(".secret"))?;
        let crypt = Crypt::from_source(crate::crypt::KeySource::from_env(beside(".key")));
        private_files(&path)?;
        Engine::start(
            Sqlite {
                path,
                crypt,
                checkpoints: Checkpointer::default(),
            },
            secret,
        )
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.backend.path
    }
}

/// The database is made mode 0600 before SQLite opens it (SQLite gives its WAL and
/// shared-memory files the database's mode), and an existing one readable by others
/// is closed to them: a copy of the file is a copy of every book.
fn private_files(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if let Ok(meta) = std::fs::metadata(file)
            && meta.is_file()
            && meta.permissions().mode() & 0o077 != 0
        {
            let mode = meta.permissions().mode() & 0o700;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

fn connect(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // An acknowledgement means on disk: fsync at every commit (one per batch).
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.pragma_update(None, "cache_size", -16_000)?;
    c.pragma_update(None, "wal_autocheckpoint", AUTO_CHECKPOINT_PAGES)?;
    // The writer uses a few dozen statements in turn; the default cache (16) evicted
    // and re-prepared some of them in every batch.
    c.set_prepared_statement_cache_capacity(128);
    Ok(c)
}

impl Backend for Sqlite {
    type Conn = Connection;

    fn connect(&self) -> Result<Connection> {
        connect(&self.path)
    }

    fn run<T>(
        &self,
        conn: &mut Connection,
        write: bool,
        f: impl FnOnce(&dyn Db) -> Result<T>,
    ) -> Result<T> {
        if !write {
            return f(&Adapter(conn, &self.crypt));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Adapter(&tx, &self.crypt))?;
        tx.commit()?;
        self.checkpoints.poke(&self.path);
        Ok(out)
    }

    fn migrate(&self, c: &mut Connection) -> Result<()> {
        let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = c.transaction()?;
            tx.execute_batch(sql)?;
            if i == 2 {
                crate::core::backfill_referral_numbers(&Adapter(&tx, &self.crypt))?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn bulk_mode(&self, conn: &mut Connection, on: bool) -> Result<()> {
        // One fsync per large transaction is plenty: a crash mid-load loses only the
        // transaction in progress, and the load can be re-run on a fresh file.
        if on {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "cache_size", -1_000_000)?;
        } else {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn crypt(&self) -> &Crypt {
        &self.crypt
    }

    fn locks_keys(&self) -> bool {
        false
    }
}

/// A connection (or a transaction, which derefs to one) seen through [`Db`].
struct Adapter<'c>(&'c Connection, &'c Crypt);

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Null => ToSqlOutput::Owned(Value::Null),
            Arg::Int(i) => ToSqlOutput::Owned(Value::Integer(i)),
            Arg::Real(r) => ToSqlOutput::Owned(Value::Real(r)),
            Arg::Bool(b) => ToSqlOutput::Owned(Value::Integer(b as i64)),
            Arg::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Arg::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // Lists are JSON arrays, read with json_each.
            Arg::Texts(l) => ToSqlOutput::Owned(Value::Text(
                serde_json::to_string(l)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            )),
            Arg::Ints(l) => ToSqlOutput::Owned(Value::Text(
                serde_json::to_string(l)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            )),
        })
    }
}

struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl RawRow for SqliteRow<'_, '_> {
    fn val(&self, i: usize) -> Result<Val<'_>> {
        Ok(match self.0.get_ref(i)? {
            ValueRef::Null => Val::Null,
            ValueRef::Integer(i) => Val::Int(i),
            ValueRef::Real(r) => Val::Real(r),
            ValueRef::Text(t) => {
                Val::Text(std::str::from_utf8(t).map_err(|e| StoreError::Db(e.to_string()))?)
            }
            ValueRef::Blob(b) => Val::Bytes(b),
        })
    }
}

impl Db for Adapter<'_> {
    fn crypt(&self) -> &Crypt {
        self.1
    }

    fn exec(&self, q: Q, args: &[Arg<'_>]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(sql::text(q))?;
        Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64)
    }

    fn query(
        &self,
        q: Q,
        args: &[Arg<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let mut stmt = self.0.prepare_cached(sql::text(q))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            if !f(&Row(&SqliteRow(r)))? {
                break;
            }
        }
        Ok(())
    }

    fn script(&self, q: Q) -> Result<()> {
        Ok(self.0.execute_batch(sql::text(q))?)
    }

    fn table_columns(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.0.prepare(
            "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
             ORDER BY m.name, p.cid",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn references(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.0.prepare(
            "SELECT m.name, f.\"table\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
             WHERE m.type = 'table' ORDER BY 1, 2",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn scan_table(
        &self,
        table: &str,
        columns: &[String],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.0.prepare(&whole::select(table, columns)?)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            f(&Row(&SqliteRow(r)))?;
        }
        Ok(())
    }

    fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Arg<'_>>],
        on_conflict: &'static str,
    ) -> Result<()> {
        for (text, chunk) in whole::inserts(table, columns, rows, '?', on_conflict)? {
            let mut stmt = self.0.prepare_cached(&text)?;
            stmt.execute(rusqlite::params_from_iter(chunk.iter().flatten()))?;
        }
        Ok(())
    }

    fn count_rows(&self, table: &str) -> Result<i64> {
        Ok(self.0.query_row(&whole::count(table)?, [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement of the store is valid SQL on the newest schema.
    #[test]
    fn every_statement_prepares() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = connect(&dir.path().join("t.db")).unwrap();
        Sqlite {
            path: dir.path().join("t.db"),
            crypt: Crypt::new(Box::new(crate::crypt::LocalMasterKey::generate().unwrap())),
            checkpoints: Checkpointer::default(),
        }
        .migrate(&mut c)
        .unwrap();
        for q in Q::ALL {
            if *q == Q::RebuildAggregates {
                // A script: run whole on the empty store.
                c.execute_batch(sql::text(*q)).unwrap();
                continue;
            }
            if let Err(e) = c.prepare(sql::text(*q)) {
                panic!("{q:?}: {e}");
            }
        }
    }
}
