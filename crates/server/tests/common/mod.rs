//! What several test files share: the store a test runs on, and ingesting generated
//! episodes.
//!
//! Every test that touches storage runs twice, once per backend: write it as a plain
//! `async fn name()` that makes its world with [`scratch`], and add `both!(name);`
//! below it. That makes `name::sqlite` (a SQLite file in a temporary folder) and
//! `name::postgres` (a fresh database on the test process's throwaway PostgreSQL
//! server, or on `HEALTHBOOK_TEST_DATABASE_URL`'s).

#![allow(dead_code)]

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use dossier::{Options, Spec};
use store::testing::TempPostgres;
use store::{Meta, Prepared, Source, Store, now_ms};
use synth::Generator;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// The backend of the test running on this thread (set by `both!`).
pub fn set_backend(b: Backend) {
    BACKEND.with(|c| c.set(b));
}

pub fn backend() -> Backend {
    BACKEND.with(|c| c.get())
}

/// `both!(name)`: two tests of `async fn name()`, one per backend, each on a
/// two-worker runtime.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::set_backend($crate::common::Backend::Sqlite);
                super::$name().await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::set_backend($crate::common::Backend::Postgres);
                super::$name().await
            }
        }
    };
}

/// A test's storage: a temporary folder and, on PostgreSQL, a fresh database. Both
/// go when this is dropped.
pub struct Scratch {
    dir: tempfile::TempDir,
    pg: Option<TempPostgres>,
}

/// Storage for the test running on this thread, on its backend.
pub fn scratch() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend() {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TempPostgres::new().expect("a PostgreSQL test database")),
    };
    Scratch { dir, pg }
}

impl Scratch {
    /// The temporary folder (for files a test writes beside its store).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn backend(&self) -> Backend {
        if self.pg.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A store on this storage; called again, another store on the same data (as a
    /// second process would open it).
    pub fn open(&self) -> Arc<dyn Store> {
        match &self.pg {
            None => Arc::new(store::SqliteStore::open(self.dir.path().join("book.db")).unwrap()),
            Some(pg) => Arc::new(
                store::PostgresStore::connect(pg.url(), &self.dir.path().join("secret")).unwrap(),
            ),
        }
    }

    /// Run SQL on the database from outside the store, as someone with access to the
    /// database would; the database's own error message on refusal.
    pub fn sql(&self, text: &str) -> Result<(), String> {
        match &self.pg {
            None => {
                store::testing::raw_sql(&self.dir.path().join("book.db").to_string_lossy(), text)
            }
            Some(pg) => pg.sql(text),
        }
    }
}

/// Every episode of `g`, received now as imported QĐ 3176 envelopes.
pub fn ingest_all(store: &Arc<dyn Store>, g: &Generator) {
    for e in g.episodes() {
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let meta = Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        store
            .ingest(Prepared::envelope(meta, &raw, &parsed))
            .unwrap();
    }
}
