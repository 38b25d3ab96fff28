//! The production backend: PostgreSQL through `tokio-postgres`, behind a blocking face
//! of our own (`client`: the store's interface is blocking; the server calls it from
//! blocking threads) that can pipeline statements. The writer ([`WRITERS`]; several
//! may be configured, each with its own connection, a facility always to the same one)
//! commits in batches (group commit); several servers may share one
//! database: keys that decide identity, episode versions and audit chains are locked
//! with transaction-scoped advisory locks, and each server owns one id space.

mod client;
mod sql;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use tokio_postgres::Statement;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

pub(crate) use client::PgClient;
use client::{Answer, Want};

use crate::crypt::Crypt;
use crate::db::{Arg, Db, Q, RawRow, Row, Val};
use crate::engine::{Backend, Engine};
use crate::sql::whole;
use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_lookups.sql"),
    include_str!("../../migrations/postgres/0003_storage.sql"),
    include_str!("../../migrations/postgres/0004_signatures.sql"),
    include_str!("../../migrations/postgres/0005_keys.sql"),
    include_str!("../../migrations/postgres/0006_identities.sql"),
    include_str!("../../migrations/postgres/0007_facility_sla.sql"),
    include_str!("../../migrations/postgres/0008_health_records.sql"),
    include_str!("../../migrations/postgres/0009_units_dated.sql"),
    include_str!("../../migrations/postgres/0010_immunizations.sql"),
    include_str!("../../migrations/postgres/0011_chronic_care.sql"),
    include_str!("../../migrations/postgres/0012_notifications.sql"),
    include_str!("../../migrations/postgres/0013_ingest_indexes.sql"),
];

/// Advisory-lock key space of the store (the first of the two 32-bit keys).
const LOCK_SPACE: i32 = 0x4842; // "HB"
/// Writer threads per server unless [`PgOptions::writers`] (`HEALTHBOOK_PG_WRITERS`)
/// says otherwise. One: measured on two cores with the database beside the server, a
/// second writer imported no faster (the cores are busy, and two batches that share a
/// person wait for each other's identity locks) and took more memory. More may pay
/// where the database has cores of its own. Several writers in one process are several
/// servers to the database: the keys that decide identity, episode versions and audit
/// chains are locked in it, every batch takes its row locks in key order, and a
/// facility's submissions always go to the same writer.
pub(crate) const WRITERS: usize = 1;
/// Servers that may share a database at once (each holds one id space).
pub(crate) const MAX_SERVERS: i64 = 16;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's message (with its SQLSTATE) where there is one.
        match e.as_db_error() {
            Some(d) => StoreError::Db(format!("{} ({})", d.message(), d.code().code())),
            None => StoreError::Db(e.to_string()),
        }
    }
}

/// The tables a person owns, each with the column that names the person: on Citus
/// they are distributed by it and co-located; in the partitioned layout each is
/// `PARTITION BY HASH` on it. Every unique key of these tables holds that column.
pub const PERSON_TABLES: &[(&str, &str)] = &[
    ("persons", "id"),
    ("identifiers", "person_id"),
    ("card_periods", "person_id"),
    ("episodes", "person_id"),
    ("episodes_quarantine", "person_id"),
    ("person_events", "person_id"),
    ("citizen_accounts", "person_id"),
    ("activation_codes", "person_id"),
    ("guardianships", "guardian_id"),
    ("ward_guardians", "ward_id"),
    ("shares", "person_id"),
    ("grants", "person_id"),
    ("audit_log", "person_id"),
    ("audit_heads", "person_id"),
    ("health_records", "person_id"),
    ("health_record_versions", "person_id"),
    ("insurance_cards", "person_id"),
    ("immunizations", "person_id"),
    ("ncd_enrolments", "person_id"),
    ("ncd_followups", "person_id"),
    ("growth_measurements", "person_id"),
    ("notifications", "person_id"),
    ("notify_outbox", "person_id"),
    ("notify_prefs", "person_id"),
];

/// How a new database lays out its tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct PgOptions {
    /// 0: plain tables. n > 0: every table of [`PERSON_TABLES`] is
    /// `PARTITION BY HASH` on its person column into n partitions, so that PostgreSQL
    /// itself enforces Citus's rules (every unique key holds the distribution column)
    /// and plans show which partitions a statement touches. Chosen when the database
    /// is created; an existing database keeps its layout.
    pub partitions: u32,
    /// Writer threads of this server; 0: [`WRITERS`].
    pub writers: usize,
}

/// A PostgreSQL database.
pub struct Postgres {
    config: tokio_postgres::Config,
    options: PgOptions,
    /// The session that holds this server's id-space lock for the life of the store.
    lease: Mutex<Option<PgClient>>,
    crypt: Crypt,
}

/// A connection and its prepared statements.
pub struct PgConn {
    client: PgClient,
    prepared: HashMap<Q, Statement>,
    /// The multi-row statements of [`Db::upsert_rows`], by table, columns and conflict
    /// clause.
    bulk: HashMap<(String, Vec<String>, &'static str), Statement>,
}

/// The store on a PostgreSQL database.
pub type PostgresStore = Engine<Postgres>;

impl Engine<Postgres> {
    /// Connect to `url` (`postgres://user@host/db`, or `host=/run/pg dbname=…`),
    /// migrate, and take an id space. `secret` is the server secret file (made on
    /// first use; every server of one database must use the same file's contents).
    pub fn connect(url: &str, secret: &Path) -> Result<PostgresStore> {
        Self::connect_with(url, secret, PgOptions::default())
    }

    /// [`connect`](Self::connect), with the layout of a new database.
    pub fn connect_with(url: &str, secret: &Path, options: PgOptions) -> Result<PostgresStore> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Invalid(format!("database URL: {e}"))
        })?;
        let key = secret.with_file_name("healthbook.key");
        let secret = crate::engine::load_secret(secret)?;
        let crypt = Crypt::from_source(crate::crypt::KeySource::from_env(key));
        let backend = Postgres {
            config,
            options,
            lease: Mutex::new(None),
            crypt,
        };
        Engine::start(backend, secret)
    }
}

impl Postgres {
    fn client(&self) -> Result<PgClient> {
        let c = PgClient::connect(&self.config)?;
        // Ids, times and dossier dates are the application's: no server-side clock or
        // zone enters a row.
        c.batch_execute("SET TIME ZONE 'UTC'")?;
        Ok(c)
    }
}

impl PgConn {
    fn batch(&mut self, text: &str) -> Result<()> {
        Ok(self.client.batch_execute(text)?)
    }
}

impl Backend for Postgres {
    type Conn = PgConn;

    fn connect(&self) -> Result<PgConn> {
        Ok(PgConn {
            client: self.client()?,
            prepared: HashMap::new(),
            bulk: HashMap::new(),
        })
    }

    fn run<T>(
        &self,
        conn: &mut PgConn,
        write: bool,
        f: impl FnOnce(&dyn Db) -> Result<T>,
    ) -> Result<T> {
        if !write {
            let a = Adapter::new(conn, &self.crypt);
            let out = f(&a)?;
            a.send(None)?;
            return Ok(out);
        }
        conn.batch("BEGIN")?;
        // Held statements go out before the commit: an error among them sinks it.
        let out = {
            let a = Adapter::new(conn, &self.crypt);
            f(&a).and_then(|v| a.send(None).map(|_| v))
        };
        match out {
            Ok(v) => {
                conn.batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn migrate(&self, conn: &mut PgConn) -> Result<()> {
        migrate(&conn.client, self.options.partitions)
    }

    fn bulk_mode(&self, conn: &mut PgConn, on: bool) -> Result<()> {
        // A bulk load commits every 20,000 persons: it need not wait for the WAL flush of
        // each (a crash loses at most the last transactions, and the load is re-run).
        conn.batch(if on {
            "SET synchronous_commit = off"
        } else {
            "SET synchronous_commit = on"
        })
    }

    fn crypt(&self) -> &Crypt {
        &self.crypt
    }

    fn writers(&self) -> usize {
        match self.options.writers {
            0 => WRITERS,
            n => n,
        }
    }

    fn node(&self) -> Result<(i64, i64)> {
        // A session-level advisory lock per id space, held by a connection kept open
        // for the life of the store: a server that dies releases its space with its
        // connection, and no two live servers ever hold the same one.
        let mut lease = self.lease.lock().map_err(|_| StoreError::Closed)?;
        let c = self.client()?;
        let mut got = None;
        for n in 0..MAX_SERVERS {
            let row = c.query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&LOCK_SPACE, &(n as i32 + 1)],
            )?;
            if row.get::<_, bool>(0) {
                got = Some(n);
                break;
            }
        }
        match got {
            Some(n) => {
                *lease = Some(c);
                Ok((n, MAX_SERVERS))
            }
            None => Err(StoreError::Invalid(format!(
                "{MAX_SERVERS} servers already use this database"
            ))),
        }
    }

    fn pool_size(&self) -> usize {
        // Opening a PostgreSQL connection costs milliseconds (a process on the server):
        // keep enough for the server's blocking reads at once.
        64
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        shown_url(
            self.config.get_user().unwrap_or(""),
            self.config.get_hosts(),
            self.config.get_dbname().unwrap_or(""),
        )
    }
}

/// Bring the schema to the newest version (one server at a time). A new database takes
/// the layout asked for (`partitions`); an existing one keeps the layout it was made with.
fn migrate(c: &PgClient, partitions: u32) -> Result<()> {
    // One server migrates at a time; the others wait, then find nothing to do.
    c.execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_SPACE])?;
    let out = (|| -> Result<()> {
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
             CREATE TABLE IF NOT EXISTS schema_layout (partitions INT NOT NULL)",
        )?;
        let done: i64 = c
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )?
            .get(0);
        let layout: Option<i32> = c
            .query_opt("SELECT partitions FROM schema_layout", &[])?
            .map(|r| r.get(0));
        let partitions = match layout {
            Some(n) => n as u32,
            None if done == 0 => {
                c.execute(
                    "INSERT INTO schema_layout (partitions) VALUES ($1)",
                    &[&(partitions as i32)],
                )?;
                partitions
            }
            None => 0,
        };
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            c.batch_execute("BEGIN")?;
            let step = (|| -> Result<()> {
                c.batch_execute(&layout_sql(sql, partitions))?;
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[&((i + 1) as i64), &crate::now_ms()],
                )?;
                Ok(())
            })();
            match step {
                Ok(()) => c.batch_execute("COMMIT")?,
                Err(e) => {
                    let _ = c.batch_execute("ROLLBACK");
                    return Err(e);
                }
            }
        }
        Ok(())
    })();
    c.execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_SPACE])?;
    out
}

/// A migration in the partitioned layout: each `CREATE TABLE` of a person-owned table
/// becomes `PARTITION BY HASH` on its person column, followed by its `n` partitions
/// (`<table>_p0` …). With `n` = 0, the migration as written.
fn layout_sql(sql: &str, n: u32) -> String {
    if n == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() * 2);
    let mut rest = sql;
    while let Some(at) = rest.find("CREATE TABLE ") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let name: String = tail["CREATE TABLE ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // The statement ends at the first ";" outside parentheses.
        let mut depth = 0i32;
        let mut end = tail.len();
        for (i, ch) in tail.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ';' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&tail[..end]);
        if let Some((_, col)) = PERSON_TABLES.iter().find(|(t, _)| *t == name) {
            out.push_str(&format!(" PARTITION BY HASH ({col});"));
            for r in 0..n {
                out.push_str(&format!(
                    "\nCREATE TABLE {name}_p{r} PARTITION OF {name} FOR VALUES WITH (MODULUS {n}, REMAINDER {r});"
                ));
            }
        } else if end < tail.len() {
            out.push(';');
        }
        rest = &tail[(end + 1).min(tail.len())..];
    }
    out.push_str(rest);
    out
}

/// One connection seen through [`Db`]. Statements are prepared once per connection.
/// Statements run with [`Db::exec_later`] are held, and sent together with the next
/// statement that is run (or before the commit), in one round trip.
struct Adapter<'c> {
    conn: RefCell<&'c mut PgConn>,
    held: RefCell<Vec<(What, Statement, Vec<Owned>)>>,
    crypt: &'c Crypt,
}

/// What a held statement is, for its error message.
enum What {
    Named(Q),
    /// A multi-row insert into this table.
    Rows(String),
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Named(q) => write!(f, "{q:?}"),
            What::Rows(table) => f.write_str(table),
        }
    }
}

/// An argument of a held statement.
enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Texts(Vec<String>),
    Ints(Vec<i64>),
    /// One column of a multi-row insert, bound as an array.
    Column(Vec<Owned>),
}

impl Owned {
    fn of(a: &Arg<'_>) -> Owned {
        match *a {
            Arg::Null => Owned::Null,
            Arg::Int(i) => Owned::Int(i),
            Arg::Real(r) => Owned::Real(r),
            Arg::Bool(b) => Owned::Bool(b),
            Arg::Text(t) => Owned::Text(t.to_string()),
            Arg::Bytes(b) => Owned::Bytes(b.to_vec()),
            Arg::Texts(l) => Owned::Texts(l.to_vec()),
            Arg::Ints(l) => Owned::Ints(l.to_vec()),
        }
    }

    fn arg(&self) -> Arg<'_> {
        match self {
            Owned::Null => Arg::Null,
            Owned::Int(i) => Arg::Int(*i),
            Owned::Real(r) => Arg::Real(*r),
            Owned::Bool(b) => Arg::Bool(*b),
            Owned::Text(t) => Arg::Text(t),
            Owned::Bytes(b) => Arg::Bytes(b),
            Owned::Texts(l) => Arg::Texts(l),
            Owned::Ints(l) => Arg::Ints(l),
            // Never bound through an Arg: `to_sql` binds a column as an array.
            Owned::Column(_) => Arg::Null,
        }
    }
}

impl ToSql for Owned {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            // Each element as the column's type takes an [`Arg`].
            Owned::Column(values) => values.as_slice().to_sql(ty, out),
            other => other.arg().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl std::fmt::Debug for Owned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are personal data: never in a message.
        f.write_str("Owned")
    }
}

impl<'c> Adapter<'c> {
    fn new(conn: &'c mut PgConn, crypt: &'c Crypt) -> Self {
        Adapter {
            conn: RefCell::new(conn),
            held: RefCell::new(Vec::new()),
            crypt,
        }
    }

    /// The statement that inserts rows of `columns` into `table` from one array per
    /// column (`INSERT … SELECT * FROM unnest($1::int8[], …)`), prepared once per
    /// connection; the columns' types are the table's, as the server reports them for a
    /// one-row insert.
    fn bulk_statement(
        &self,
        table: &str,
        columns: &[String],
        on_conflict: &'static str,
    ) -> Result<Statement> {
        let key = (table.to_string(), columns.to_vec(), on_conflict);
        let mut conn = self.conn.borrow_mut();
        if let Some(s) = conn.bulk.get(&key) {
            return Ok(s.clone());
        }
        let named =
            |e: tokio_postgres::Error| StoreError::Db(format!("{table}: {}", StoreError::from(e)));
        let probe = conn
            .client
            .prepare(&whole::insert_one(table, columns)?)
            .map_err(named)?;
        let types: Vec<&str> = probe.params().iter().map(Type::name).collect();
        let s = conn
            .client
            .prepare(&whole::insert_unnest(table, columns, &types, on_conflict)?)
            .map_err(named)?;
        conn.bulk.insert(key, s.clone());
        Ok(s)
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

    /// Send the held statements, then `last` when given, in one round trip; what
    /// `last` answered.
    fn send(&self, last: Option<(Q, &[Arg<'_>], Want)>) -> Result<Answer> {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        let mut conn = self.conn.borrow_mut();
        let last_stmt = match &last {
            Some((q, _, _)) => Some(Self::statement(&mut conn, *q)?),
            None if held.is_empty() => return Ok(Answer::Count(0)),
            None => None,
        };
        let held_params: Vec<Vec<&(dyn ToSql + Sync)>> = held
            .iter()
            .map(|(_, _, a)| a.iter().map(|o| o as &(dyn ToSql + Sync)).collect())
            .collect();
        let writes: Vec<(&Statement, &[&(dyn ToSql + Sync)])> = held
            .iter()
            .zip(&held_params)
            .map(|((_, s, _), p)| (s, p.as_slice()))
            .collect();
        let last_params = last.as_ref().map(|(_, a, _)| params(a));
        let last_call = match (&last_stmt, &last_params, &last) {
            (Some(s), Some(p), Some((_, _, want))) => Some((s, p.as_slice(), *want)),
            _ => None,
        };
        conn.client.pipeline(&writes, last_call).map_err(|(i, e)| {
            let what = match held.get(i) {
                Some((w, _, _)) => w.to_string(),
                None => last
                    .as_ref()
                    .map_or(String::new(), |(q, _, _)| format!("{q:?}")),
            };
            StoreError::Db(format!("{what}: {}", StoreError::from(e)))
        })
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
                // A number SQLite kept in a text column (copying a store).
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Arg::Real(r) => match *ty {
                Type::TEXT | Type::VARCHAR => r.to_string().to_sql(ty, out),
                _ => r.to_sql(ty, out),
            },
            Arg::Bool(b) => match *ty {
                Type::INT8 => (b as i64).to_sql(ty, out),
                Type::INT4 => (b as i32).to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
            Arg::Text(t) => match *ty {
                Type::BYTEA => t.as_bytes().to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
            Arg::Bytes(b) => match *ty {
                // Bytes SQLite kept in a text column (copying a store): text if UTF-8.
                Type::TEXT | Type::VARCHAR => std::str::from_utf8(b)?.to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
            Arg::Texts(l) => l.to_sql(ty, out),
            Arg::Ints(l) => l.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

struct PgRow<'a>(&'a tokio_postgres::Row);

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
    fn crypt(&self) -> &Crypt {
        self.crypt
    }

    fn exec(&self, q: Q, args: &[Arg<'_>]) -> Result<u64> {
        match self.send(Some((q, args, Want::Count)))? {
            Answer::Count(n) => Ok(n),
            Answer::Rows(r) => Ok(r.len() as u64),
        }
    }

    fn exec_later(&self, q: Q, args: &[Arg<'_>]) -> Result<()> {
        let stmt = Self::statement(&mut self.conn.borrow_mut(), q)?;
        let owned = args.iter().map(Owned::of).collect();
        self.held.borrow_mut().push((What::Named(q), stmt, owned));
        Ok(())
    }

    fn query(
        &self,
        q: Q,
        args: &[Arg<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let Answer::Rows(rows) = self.send(Some((q, args, Want::Rows)))? else {
            return Ok(());
        };
        for r in &rows {
            if !f(&Row(&PgRow(r)))? {
                break;
            }
        }
        Ok(())
    }

    fn script(&self, q: Q) -> Result<()> {
        self.send(None)?;
        self.conn.borrow_mut().batch(sql::text(q))
    }

    fn table_columns(&self) -> Result<Vec<(String, String)>> {
        self.send(None)?;
        // Tables and partitioned tables of the schema, not their partitions.
        let rows = self.conn.borrow().client.query(
            "SELECT c.relname::text, a.attname::text
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.relnamespace = current_schema()::regnamespace
               AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND a.attnum > 0 AND NOT a.attisdropped
               AND c.relname NOT IN ('schema_migrations', 'schema_layout')
             ORDER BY 1, a.attnum",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn references(&self) -> Result<Vec<(String, String)>> {
        self.send(None)?;
        let rows = self.conn.borrow().client.query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace ORDER BY 1, 2",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn scan_table(
        &self,
        table: &str,
        columns: &[String],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        self.send(None)?;
        let query = whole::select(table, columns)?;
        // A cursor in a snapshot of its own, read a page at a time: memory stays bounded
        // however large the table.
        let mut conn = self.conn.borrow_mut();
        conn.batch(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; DECLARE healthbook_scan NO SCROLL CURSOR FOR {query}"
        ))?;
        let out = (|| -> Result<()> {
            loop {
                let page = conn.client.query("FETCH 2000 FROM healthbook_scan", &[])?;
                if page.is_empty() {
                    return Ok(());
                }
                for r in &page {
                    f(&Row(&PgRow(r)))?;
                }
            }
        })();
        let end = conn.batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
        out.and(end)
    }

    fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Arg<'_>>],
        on_conflict: &'static str,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let stmt = self.bulk_statement(table, columns, on_conflict)?;
        // One array per column: the statement's text and plan are the same whatever the
        // number of rows, and it goes out with the next round trip like any held write.
        let mut arrays: Vec<Vec<Owned>> = (0..columns.len())
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for row in rows {
            if row.len() != columns.len() {
                return Err(StoreError::Invalid(format!(
                    "{table}: a row of {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            for (array, a) in arrays.iter_mut().zip(row) {
                array.push(Owned::of(a));
            }
        }
        let owned = arrays.into_iter().map(Owned::Column).collect();
        self.held
            .borrow_mut()
            .push((What::Rows(table.to_string()), stmt, owned));
        Ok(())
    }

    fn count_rows(&self, table: &str) -> Result<i64> {
        self.send(None)?;
        let text = whole::count(table)?;
        Ok(self
            .conn
            .borrow()
            .client
            .query_one(text.as_str(), &[])?
            .get(0))
    }
}

/// A connection's place as a URL for messages (no password): network hosts in the
/// authority, socket folders as `host=` parameters, as they are written.
fn shown_url(user: &str, hosts: &[tokio_postgres::config::Host], db: &str) -> String {
    use tokio_postgres::config::Host;
    let tcp: Vec<&str> = hosts
        .iter()
        .filter_map(|h| match h {
            Host::Tcp(h) => Some(h.as_str()),
            Host::Unix(_) => None,
        })
        .collect();
    let sockets: Vec<String> = hosts
        .iter()
        .filter_map(|h| match h {
            Host::Unix(p) => Some(format!("host={}", p.display())),
            Host::Tcp(_) => None,
        })
        .collect();
    let mut out = format!("postgres://{user}@{}/{db}", tcp.join(","));
    if !sockets.is_empty() {
        out.push('?');
        out.push_str(&sockets.join("&"));
    }
    out
}

#[cfg(test)]
mod shown {
    use tokio_postgres::config::Host;

    #[test]
    fn urls_name_sockets_as_parameters() {
        let sock = Host::Unix("/run/pg".into());
        assert_eq!(
            super::shown_url("hb", &[Host::Tcp("db1".into())], "book"),
            "postgres://hb@db1/book"
        );
        assert_eq!(
            super::shown_url("hb", &[Host::Unix("/run/pg".into())], "book"),
            "postgres://hb@/book?host=/run/pg"
        );
        assert_eq!(
            super::shown_url("hb", &[Host::Tcp("localhost".into()), sock], "book"),
            "postgres://hb@localhost/book?host=/run/pg"
        );
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
            options: PgOptions::default(),
            lease: Mutex::new(None),
            crypt: Crypt::new(Box::new(crate::crypt::LocalMasterKey::generate().unwrap())),
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

    /// The partitions of person-owned tables a statement's plan touches, by table, when
    /// every number it is given is one person's id. Each parameter gets a value of its
    /// type (numbers 42, texts "x"), so that the planner prunes as it would for one
    /// person.
    fn partitions_touched(c: &PgClient, q: Q) -> Result<Vec<(String, usize)>> {
        let text = sql::text(q);
        let stmt = c.prepare(text)?;
        let owned: Vec<Arg<'static>> = stmt
            .params()
            .iter()
            .map(|t| match *t {
                Type::INT8 | Type::INT4 | Type::INT2 | Type::FLOAT8 => Arg::Int(42),
                Type::BOOL => Arg::Bool(true),
                Type::BYTEA => Arg::Bytes(b"x"),
                Type::INT8_ARRAY | Type::INT4_ARRAY => Arg::Ints(&[42]),
                Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => Arg::Texts(&[]),
                _ => Arg::Text("x"),
            })
            .collect();
        let plan = c.query(&format!("EXPLAIN {text}"), &params(&owned))?;
        let mut seen: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
        for row in plan {
            let line: String = row.get(0);
            let words: Vec<&str> = line.split_whitespace().collect();
            for w in words.windows(2) {
                if w[0] != "on" {
                    continue;
                }
                if let Some((table, part)) = w[1].rsplit_once("_p")
                    && part.chars().all(|c| c.is_ascii_digit())
                    && PERSON_TABLES.iter().any(|(t, _)| *t == table)
                {
                    seen.entry(table.to_string())
                        .or_default()
                        .insert(w[1].to_string());
                }
            }
        }
        let mut out: Vec<(String, usize)> = seen.into_iter().map(|(t, p)| (t, p.len())).collect();
        out.sort();
        Ok(out)
    }

    /// On the partitioned layout (PostgreSQL enforcing Citus's rule that every unique
    /// key holds the distribution column), each statement of the hot paths touches one
    /// partition of each person-owned table it reads or writes: the citizen's book, a
    /// visit, a clinician's read, an ingest. The statements that read across persons are
    /// named, and are only the exports, reports, merges and checks listed.
    #[test]
    fn hot_paths_touch_one_partition() {
        let pg = crate::testing::TempPostgres::new().unwrap();
        let backend = Postgres {
            config: pg.url().parse().unwrap(),
            options: PgOptions {
                partitions: 8,
                ..PgOptions::default()
            },
            lease: Mutex::new(None),
            crypt: Crypt::new(Box::new(crate::crypt::LocalMasterKey::generate().unwrap())),
        };
        let mut conn = backend.connect().unwrap();
        backend.migrate(&mut conn).unwrap();
        let c = &conn.client;
        // Across persons by nature, each named with why: on Citus these run on every
        // shard (docs/OPERATIONS.md, "On Citus").
        const ACROSS: &[Q] = &[
            Q::AuditAll,              // audit verification, whole store
            Q::AuditHeads,            // audit checkpoints, whole store
            Q::AuditNewest,           // audit checkpoints, whole store
            Q::BreakGlassOf,          // a facility's break-glass review queue
            Q::LiveGrantsOf,          // a clinician's open grants, over their patients
            Q::Counts,                // store totals
            Q::MaxId,                 // id floor at start
            Q::EpisodeKeysOfFacility, // export of a facility's episodes
            Q::EpisodesByKeys,        // export: a page of episodes of many persons
            Q::EpisodeVersions,       // an episode's history, whichever person it moved to
            Q::EpisodesWithReferral,  // one-off backfill of a migration
            Q::PlainEpisodes,         // keys encrypt: sealing a store in place, once
            Q::SealHeadsEpisodeBody,  // keys status: what each data key seals
            Q::SealHeadsPersonName,
            Q::SealHeadsPersonBirth,
            Q::SealHeadsPersonId,
            Q::SealHeadsIdentifierValue,
            Q::SealHeadsGrantReason,
            Q::SealHeadsAuditTarget,
            Q::SealHeadsEpisodeIcd,
            Q::PlainEpisodeIcds,
            Q::PersonsAfter,   // start of an upgraded store: sealing identities, once
            Q::CommuneRecords, // a station's list: the records of its commune's residents
            Q::RecordSummaries, // reports: completeness and examinations per commune
            Q::SealHeadsRecordBody,
            Q::SealHeadsRecordChanges,
            Q::SealHeadsCardBody,
            Q::NcdRegister,      // a station's NCD registers
            Q::NcdIndicators,    // reports: NCD figures per commune
            Q::GrowthChildren,   // a station's children under five
            Q::GrowthIndicators, // reports: growth status shares per commune
            Q::SealHeadsNcdEnrolmentBody,
            Q::SealHeadsNcdFollowUpBody,
            Q::SealHeadsGrowthBody,
            Q::SealHeadsNcdEnrolmentDisease,
            Q::SealHeadsNcdFollowUpDisease,
            Q::CommuneSubjects, // a station's vaccination lists: its commune's children
            // (their doses, `DosesOfPersons`, `person_id = ANY($1)`, are pruned to the
            // persons' partitions when it runs, so its plan shows no partition at all)
            Q::SealHeadsImmunizationBody,
            Q::NotifyClaim,        // the reminder worker: due deliveries of any person
            Q::NotifyClaimedFacts, // … the addresses of the deliveries it holds
            Q::NotifyOutboxStats,  // the queue's totals
            Q::NotifyScanPersons,  // the reminder scan's persons, in id order
            Q::SealHeadsNotificationBody,
            Q::SealHeadsNotifyAddress,
        ];
        let mut across = Vec::new();
        for q in Q::ALL {
            let verb = sql::text(*q).split_whitespace().next().unwrap_or("");
            if *q == Q::RebuildAggregates
                || !["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&verb)
            {
                continue; // LOCK, scripts: no plan
            }
            let touched = partitions_touched(c, *q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
            if touched.iter().any(|(_, n)| *n > 1) {
                across.push(*q);
            }
        }
        let unexpected: Vec<&Q> = across.iter().filter(|q| !ACROSS.contains(q)).collect();
        assert!(
            unexpected.is_empty(),
            "statements that touch more than one person's partition: {unexpected:?}"
        );
        let stale: Vec<&Q> = ACROSS.iter().filter(|q| !across.contains(q)).collect();
        assert!(stale.is_empty(), "now within one person: {stale:?}");
        // The hot paths, by name (each also passes the check above).
        for q in [
            Q::EpisodesOf,       // the citizen's book
            Q::EpisodeStarts,    // … its years
            Q::EpisodesOfYear,   // … a year of it
            Q::Episode,          // a visit
            Q::GrantsOn,         // a clinician's read: the grants on the person
            Q::LiveGrant,        // … the one that lets them read
            Q::InsertAudit,      // … and its audit record
            Q::UpsertAuditHead,  //
            Q::IdentifierOwner,  // an ingest: who holds the identifier (lookup table)
            Q::UpsertIdentifier, // … the person's identifiers
            Q::InsertEpisode,    // … the episode
            Q::EpisodeNotCurrent,
            Q::SessionPerson, // a citizen's request: the session (lookup table)
            Q::MergeEventsOf, // the citizen's access log: who was merged into them
            Q::AuditOf,       // … the log of them all (one partition per person named)
            Q::HealthRecord,  // the QĐ 831 record of one person
            Q::UpdateHealthRecord,
            Q::HealthRecordVersions,
            Q::InsuranceCard,
        ] {
            let touched = partitions_touched(c, q).unwrap();
            assert!(touched.iter().all(|(_, n)| *n <= 1), "{q:?}: {touched:?}");
        }
    }

    /// `citus.sql` places every table of the schema once; each distributed table's
    /// column is in every unique key it keeps (Citus's rule), and the person-owned
    /// tables are distributed by their person and co-located with `persons`.
    #[test]
    fn citus_sql_places_every_table_by_a_column_of_its_unique_keys() {
        let text = include_str!("../../migrations/postgres/citus.sql");
        let mut placed: HashMap<String, Option<String>> = HashMap::new();
        let mut dropped = Vec::new();
        let mut colocated_with_persons = Vec::new();
        for line in text.lines().map(str::trim) {
            let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
            let entry = if line.starts_with("SELECT create_distributed_table(") {
                if line.contains("colocate_with => 'persons'") || quoted[0] == "persons" {
                    colocated_with_persons.push(quoted[0].to_string());
                }
                Some((quoted[0].to_string(), Some(quoted[1].to_string())))
            } else if line.starts_with("SELECT create_reference_table(") {
                Some((quoted[0].to_string(), None))
            } else {
                if let Some(name) = line.strip_prefix("DROP INDEX ") {
                    dropped.push(name.trim_end_matches(';').to_string());
                }
                None
            };
            if let Some((table, col)) = entry {
                assert!(placed.insert(table.clone(), col).is_none(), "{table} twice");
            }
        }
        let pg = crate::testing::TempPostgres::new().unwrap();
        let c = PgClient::connect_url(pg.url()).unwrap();
        migrate(&c, 0).unwrap();
        let tables: Vec<String> = c
            .query(
                "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let missing: Vec<&String> = tables.iter().filter(|t| !placed.contains_key(*t)).collect();
        assert!(missing.is_empty(), "not placed in citus.sql: {missing:?}");
        let unknown: Vec<&String> = placed.keys().filter(|t| !tables.contains(t)).collect();
        assert!(unknown.is_empty(), "not in the schema: {unknown:?}");
        for (table, col) in &placed {
            let Some(col) = col else { continue };
            let keys = c
                .query(
                    "SELECT i.relname::text, array_agg(a.attname::text)
                     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
                     WHERE x.indrelid = $1::text::regclass AND x.indisunique GROUP BY 1",
                    &[table],
                )
                .unwrap();
            for k in keys {
                let (index, cols): (String, Vec<String>) = (k.get(0), k.get(1));
                assert!(
                    dropped.contains(&index) || cols.contains(col),
                    "{table}: unique key {index} {cols:?} lacks the distribution column {col}"
                );
            }
        }
        let mut person: Vec<String> = PERSON_TABLES.iter().map(|(t, _)| t.to_string()).collect();
        person.sort();
        colocated_with_persons.sort();
        assert_eq!(colocated_with_persons, person);
        for (t, col) in PERSON_TABLES {
            assert_eq!(placed[*t].as_deref(), Some(*col), "{t}");
        }
    }
}
