//! The conformance suite's harness: `on_both!(name, |s| { … })` makes three tests of
//! one body: `name::sqlite` on a SQLite file, `name::postgres` on a fresh database of
//! the test process's throwaway PostgreSQL server (or of `HEALTHBOOK_TEST_DATABASE_URL`'s
//! server), and `name::postgres_partitioned` on the layout where every person-owned
//! table is `PARTITION BY HASH` on its person (PostgreSQL then enforces the rules a
//! distribution by person on Citus needs). The body is the same text for all three and
//! sees its store as `s`.

#[macro_export]
macro_rules! on_both {
    ($name:ident, |$s:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let $s = store::SqliteStore::open(dir.path().join("book.db")).unwrap();
                $body
            }

            #[test]
            fn postgres() {
                let pg = store::testing::TempPostgres::new().unwrap();
                let dir = tempfile::tempdir().unwrap();
                let $s =
                    store::PostgresStore::connect(pg.url(), &dir.path().join("secret")).unwrap();
                $body
            }

            #[test]
            fn postgres_partitioned() {
                let pg = store::testing::TempPostgres::new().unwrap();
                let dir = tempfile::tempdir().unwrap();
                let $s = store::PostgresStore::connect_with(
                    pg.url(),
                    &dir.path().join("secret"),
                    store::PgOptions {
                        partitions: 4,
                        ..Default::default()
                    },
                )
                .unwrap();
                $body
            }
        }
    };
}
