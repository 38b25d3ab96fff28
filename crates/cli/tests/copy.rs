//! `healthbook store copy`: a SQLite store to PostgreSQL and back, row for row.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use book::access::{Basis, Role, Scope};
use store::{Access, AuditEntry, Store, Value};

fn healthbook(secret: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_healthbook"))
        .env("HEALTHBOOK_SECRET_FILE", secret)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every table of a store: its columns (sorted) and its rows (values in that column
/// order, rows sorted). Text and bytes compare by their bytes: SQLite keeps some
/// bodies as text that PostgreSQL keeps as bytes.
type Dump = BTreeMap<String, (Vec<String>, Vec<Vec<String>>)>;

fn dump(s: &dyn Store) -> Dump {
    let mut out = Dump::new();
    for t in s.tables().unwrap() {
        let mut order: Vec<usize> = (0..t.columns.len()).collect();
        order.sort_by_key(|i| t.columns[*i].clone());
        let mut rows = Vec::new();
        s.export_rows(&t, &mut |row| {
            rows.push(
                order
                    .iter()
                    .map(|i| match &row[*i] {
                        Value::Null => "null".to_string(),
                        Value::Int(v) => format!("int {v}"),
                        Value::Real(v) => format!("real {v}"),
                        Value::Text(v) => format!("bytes {}", hex(v.as_bytes())),
                        Value::Bytes(v) => format!("bytes {}", hex(v)),
                    })
                    .collect(),
            );
            Ok(())
        })
        .unwrap();
        rows.sort();
        assert_eq!(rows.len() as i64, t.rows, "{}", t.name);
        let columns = order.iter().map(|i| t.columns[*i].clone()).collect();
        out.insert(t.name, (columns, rows));
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_store_copies_to_postgres_and_back_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let pg_secret = dir.path().join("pg.secret");
    ok(&healthbook(
        &pg_secret,
        &[
            "demo",
            "--dir",
            dir.path().to_str().unwrap(),
            "--persons",
            "30",
            "--episodes",
            "200",
            "--no-serve",
        ],
    ));
    let db = dir.path().join("book.db");
    let db = db.to_str().unwrap();
    // Reads by staff (audit chains), a share code, a guardian: rows in the lookup
    // tables and chains to verify after the copy.
    let (p1, p2, code) = {
        let s = store::SqliteStore::open(db).unwrap();
        let mut persons = Vec::new();
        let t = s
            .tables()
            .unwrap()
            .into_iter()
            .find(|t| t.name == "persons")
            .unwrap();
        let id_col = t.columns.iter().position(|c| c == "id").unwrap();
        s.export_rows(&t, &mut |r| {
            if let Value::Int(id) = r[id_col] {
                persons.push(id);
            }
            Ok(())
        })
        .unwrap();
        persons.sort();
        let (p1, p2) = (persons[0], persons[1]);
        let (_, code) = s.create_share(p1, p1, Scope::Full, 3_600_000).unwrap();
        s.grant_guardian(p2, p1, "test").unwrap();
        for i in 0..3 {
            s.append_audit(&AuditEntry {
                person_id: p1,
                actor: "bs01001".into(),
                role: Role::Clinician,
                facility: Some("01001".into()),
                action: "episode".into(),
                target: Some(i.to_string()),
                basis: Basis::BreakGlass,
                grant_id: None,
                actor_name: Some("Bác sĩ Mẫu".into()),
                actor_cert: None,
            })
            .unwrap();
        }
        s.close();
        (p1, p2, code)
    };
    let pg = store::testing::TempPostgres::new().unwrap();
    let url = pg.url().to_string();
    // SQLite → PostgreSQL.
    let out = ok(&healthbook(
        &pg_secret,
        &["store", "copy", "--from", db, "--to", &url],
    ));
    assert!(
        out.contains("audit chains:") && out.contains("intact"),
        "{out}"
    );
    assert!(out.contains("episodes"), "{out}");
    assert_eq!(
        std::fs::read(&pg_secret).unwrap(),
        std::fs::read(format!("{db}.secret")).unwrap(),
        "the source's secret goes with the data"
    );
    // Into a store that is not empty: refused, nothing written.
    let o = healthbook(&pg_secret, &["store", "copy", "--from", db, "--to", &url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // PostgreSQL → a new SQLite file.
    let back = dir.path().join("back.db");
    let back = back.to_str().unwrap();
    ok(&healthbook(
        &pg_secret,
        &["store", "copy", "--from", &url, "--to", back],
    ));
    // The same rows in all three, value for value (envelopes byte for byte).
    let a = store::SqliteStore::open(db).unwrap();
    let b = store::PostgresStore::connect(&url, &pg_secret).unwrap();
    let c = store::SqliteStore::open(back).unwrap();
    let (da, db_, dc) = (dump(&a), dump(&b), dump(&c));
    assert!(da["submissions"].1.len() >= 200);
    assert_eq!(da["audit_log"].1.len(), 3);
    for (name, (cols, rows)) in &da {
        if name == "data_keys" {
            // The same data keys (ids, times), each wrapped by its store's own master key.
            let keep = |rows: &Vec<Vec<String>>| -> Vec<Vec<String>> {
                rows.iter()
                    .map(|r| {
                        cols.iter()
                            .zip(r)
                            .filter(|(c, _)| *c == "id" || *c == "created_at")
                            .map(|(_, v)| v.clone())
                            .collect()
                    })
                    .collect()
            };
            assert_eq!(
                keep(&db_[name].1),
                keep(rows),
                "data keys: SQLite → PostgreSQL"
            );
            assert_eq!(
                keep(&dc[name].1),
                keep(rows),
                "data keys: PostgreSQL → SQLite"
            );
            assert_ne!(db_[name].1, *rows, "re-wrapped by PostgreSQL's master key");
            continue;
        }
        assert_eq!(
            &db_[name],
            &(cols.clone(), rows.clone()),
            "{name}: SQLite → PostgreSQL"
        );
        assert_eq!(
            &dc[name],
            &(cols.clone(), rows.clone()),
            "{name}: PostgreSQL → SQLite"
        );
    }
    assert_eq!(da.len(), db_.len());
    // The copy works as the original: the book reads the same, the audit verifies, the
    // share code made before the copy opens the book, the guardian still sees the ward.
    for target in [&url, back] {
        let o = ok(&healthbook(
            &pg_secret,
            &["book", "--db", target, "--person", &p1.to_string()],
        ));
        let orig = ok(&healthbook(
            &pg_secret,
            &["book", "--db", db, "--person", &p1.to_string()],
        ));
        if let Some((a, b)) = o.lines().zip(orig.lines()).find(|(a, b)| a != b) {
            panic!("{target}: the book differs from the original's:\n{a}\n{b}");
        }
        assert_eq!(o, orig, "{target}");
        ok(&healthbook(
            &pg_secret,
            &["audit", "verify", "--db", target],
        ));
    }
    let staff = b.staff("bs01001").unwrap().expect("a demo clinician");
    let grant = b
        .redeem_share(&code, &staff, store::now_ms())
        .unwrap()
        .expect("the share code opens the copied book");
    assert_eq!(grant.person_id, p1);
    assert_eq!(b.wards(p2).unwrap()[0].person.id, p1);
    assert_eq!(c.guardians_of(p1).unwrap()[0].0.id, p2);
}
