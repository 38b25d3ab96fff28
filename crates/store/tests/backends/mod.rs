//! The conformance suite's harness: `on_both!(name, |s| { … })` makes two tests of one
//! body, `name::sqlite` on a SQLite file and `name::postgres` on a throwaway PostgreSQL
//! server (or a fresh database on `HEALTHBOOK_TEST_DATABASE_URL`'s). The body is the
//! same text for both and sees its store as `s`.

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
        }
    };
}
