//! The production backend: PostgreSQL through the synchronous `postgres` driver (the
//! store's interface is blocking; the server calls it from blocking threads). One writer
//! thread per server commits in batches (group commit); several servers may share one
//! database: keys that decide identity, episode versions and audit chains are locked
//! with transaction-scoped advisory locks, and each server owns one id space.

mod sql;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::db::{Arg, Db, Q, RawRow, Row, Val};
use crate::engine::{Backend, Engine};
use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[include_str!("../../migrations/postgres/0001_init.sql")];

/// Advisory-lock key space of the store (the first of the two 32-bit keys).
const LOCK_SPACE: i32 = 0x4842; // "HB"
/// Servers that may share a database at once (each holds one id space).
pub(crate) const MAX_SERVERS: i64 = 16;

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // The server's message (with its SQLSTATE) where there is one.
        match e.as_db_error() {
            Some(d) => StoreError::Db(format!("{} ({})", d.message(), d.code().code())),
            None => StoreError::Db(e.to_string()),
        }
    }
}

/// A PostgreSQL database.
pub struct Postgres {
    config: postgres::Config,
    /// The session that holds this server's id-space lock for the life of the store.
    lease: Mutex<Option<Client>>,
}

/// A connection and its prepared statements.
pub struct PgConn {
    client: Client,
    prepared: HashMap<Q, Statement>,
}

/// The store on a PostgreSQL database.
pub type PostgresStore = Engine<Postgres>;

impl Engine<Postgres> {
    /// Connect to `url` (`postgres://user@host/db`, or `host=/run/pg dbname=…`),
    /// migrate, and take an id space. `secret` is the server secret file (made on
    /// first use; every server of one database must use the same file's contents).
    pub fn connect(url: &str, secret: &Path) -> Result<PostgresStore> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Invalid(format!("database URL: {e}")))?;
        let secret = crate::engine::load_secret(secret)?;
        let backend = Postgres {
            config,
            lease: Mutex::new(None),
        };
        Engine::start(backend, secret)
    }
}

impl Postgres {
    fn client(&self) -> Result<Client> {
        let mut c = self.config.connect(NoTls)?;
        // Ids, times and dossier dates are the application's: no server-side clock or
        // zone enters a row.
        c.batch_execute("SET TIME ZONE 'UTC'")?;
        Ok(c)
    }
}

impl Backend for Postgres {
    type Conn = PgConn;

    fn connect(&self) -> Result<PgConn> {
        Ok(PgConn {
            client: self.client()?,
            prepared: HashMap::new(),
        })
    }

    fn run<T>(
        &self,
        conn: &mut PgConn,
        write: bool,
        f: impl FnOnce(&dyn Db) -> Result<T>,
    ) -> Result<T> {
        if !write {
            return f(&Adapter::new(conn));
        }
        conn.client.batch_execute("BEGIN")?;
        let out = f(&Adapter::new(conn));
        match out {
            Ok(v) => {
                conn.client.batch_execute("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = conn.client.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    fn migrate(&self, conn: &mut PgConn) -> Result<()> {
        let c = &mut conn.client;
        // One server migrates at a time; the others wait, then find nothing to do.
        c.execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_SPACE])?;
        let out = (|| -> Result<()> {
            c.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )?;
            let done: i64 = c
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )?
                .get(0);
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
                let mut tx = c.transaction()?;
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[&((i + 1) as i64), &crate::now_ms()],
                )?;
                tx.commit()?;
            }
            Ok(())
        })();
        c.execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_SPACE])?;
        out
    }

    fn bulk_mode(&self, conn: &mut PgConn, on: bool) -> Result<()> {
        // A bulk load commits every 20,000 persons: it need not wait for the WAL flush of
        // each (a crash loses at most the last transactions, and the load is re-run).
        conn.client.batch_execute(if on {
            "SET synchronous_commit = off"
        } else {
            "SET synchronous_commit = on"
        })?;
        Ok(())
    }

    fn node(&self) -> Result<(i64, i64)> {
        // A session-level advisory lock per id space, held by a connection kept open
        // for the life of the store: a server that dies releases its space with its
        // connection, and no two live servers ever hold the same one.
        let mut lease = self.lease.lock().map_err(|_| StoreError::Closed)?;
        let mut c = self.client()?;
        for n in 0..MAX_SERVERS {
            let got: bool = c
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&LOCK_SPACE, &(n as i32 + 1)],
                )?
                .get(0);
            if got {
                *lease = Some(c);
                return Ok((n, MAX_SERVERS));
            }
        }
        Err(StoreError::Invalid(format!(
            "{MAX_SERVERS} servers already use this database"
        )))
    }

    fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(h) => h.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        format!(
            "postgres://{}@{}/{}",
            self.config.get_user().unwrap_or(""),
            hosts.join(","),
            self.config.get_dbname().unwrap_or("")
        )
    }
}

/// One connection seen through [`Db`]. Statements are prepared once per connection.
struct Adapter<'c> {
    conn: RefCell<&'c mut PgConn>,
}

impl<'c> Adapter<'c> {
    fn new(conn: &'c mut PgConn) -> Self {
        Adapter {
            conn: RefCell::new(conn),
        }
    }

    fn statement(conn: &mut PgConn, q: Q) -> Result<Statement> {
        if let Some(s) = conn.prepared.get(&q) {
            return Ok(s.clone());
        }
        let s = conn
            .client
            .prepare(sql::text(q))
            .map_err(|e| StoreError::Db(format!("{q:?}: {}", StoreError::from(e))))?;
        conn.prepared.insert(q, s.clone());
        Ok(s)
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(i) => match *ty {
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Arg::Real(r) => r.to_sql(ty, out),
            Arg::Bool(b) => match *ty {
                Type::INT8 => (b as i64).to_sql(ty, out),
                Type::INT4 => (b as i32).to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
            Arg::Text(t) => match *ty {
                Type::BYTEA => t.as_bytes().to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
            Arg::Bytes(b) => b.to_sql(ty, out),
            Arg::Texts(l) => l.to_sql(ty, out),
            Arg::Ints(l) => l.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

struct PgRow<'a>(&'a postgres::Row);

impl RawRow for PgRow<'_> {
    fn val(&self, i: usize) -> Result<Val<'_>> {
        let r = self.0;
        let col = r
            .columns()
            .get(i)
            .ok_or_else(|| StoreError::Db(format!("no column {i}")))?;
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
            Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|x| Val::Int(x.into())),
            Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|x| Val::Int(x.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|x| Val::Int(x.into())),
            Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Val::Real),
            Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map(|x| Val::Real(x.into())),
            Type::BYTEA => r.try_get::<_, Option<&[u8]>>(i)?.map(Val::Bytes),
            Type::VOID => None,
            _ => r.try_get::<_, Option<&str>>(i)?.map(Val::Text),
        };
        Ok(v.unwrap_or(Val::Null))
    }
}

fn params<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl Db for Adapter<'_> {
    fn exec(&self, q: Q, args: &[Arg<'_>]) -> Result<u64> {
        let mut conn = self.conn.borrow_mut();
        let stmt = Self::statement(&mut conn, q)?;
        conn.client
            .execute(&stmt, &params(args))
            .map_err(|e| StoreError::Db(format!("{q:?}: {}", StoreError::from(e))))
    }

    fn query(
        &self,
        q: Q,
        args: &[Arg<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let rows = {
            let mut conn = self.conn.borrow_mut();
            let stmt = Self::statement(&mut conn, q)?;
            conn.client
                .query(&stmt, &params(args))
                .map_err(|e| StoreError::Db(format!("{q:?}: {}", StoreError::from(e))))?
        };
        for r in &rows {
            if !f(&Row(&PgRow(r)))? {
                break;
            }
        }
        Ok(())
    }

    fn script(&self, q: Q) -> Result<()> {
        Ok(self.conn.borrow_mut().client.batch_execute(sql::text(q))?)
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;

    /// Every statement of the store is valid SQL on the newest schema.
    #[test]
    fn every_statement_prepares() {
        let pg = crate::testing::TempPostgres::new().unwrap();
        let backend = Postgres {
            config: pg.url().parse().unwrap(),
            lease: Mutex::new(None),
        };
        let mut conn = backend.connect().unwrap();
        backend.migrate(&mut conn).unwrap();
        // Migrating again finds nothing to do.
        backend.migrate(&mut conn).unwrap();
        let mut failed = Vec::new();
        for q in Q::ALL {
            if *q == Q::RebuildAggregates {
                // A script: run whole on the empty store.
                if let Err(e) = backend.run(&mut conn, true, |db| db.script(*q)) {
                    failed.push(format!("{q:?}: {e}"));
                }
                continue;
            }
            if let Err(e) = conn.client.prepare(sql::text(*q)) {
                failed.push(format!("{q:?}: {}", StoreError::from(e)));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
