//! What only PostgreSQL has: several servers on one database, and an audit log that SQL
//! cannot edit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dossier::{Options, Spec, parse_envelope};
use store::testing::TempPostgres;
use store::{Meta, PostgresStore, Prepared, Source, Store, now_ms};
use synth::{Config, Generator};

fn prepared(bytes: &[u8]) -> Prepared {
    let parsed = parse_envelope(bytes, &Options::default());
    Prepared::envelope(
        Meta {
            facility: parsed.value.facility.clone(),
            account: "test".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        },
        bytes,
        &parsed,
    )
}

/// Two stores (two servers' worth: two writers, two id spaces) take the same persons'
/// dossiers at once, each file sent to both: one person per identity, one current
/// version per episode key, every id distinct, and every acknowledged dossier stored.
#[test]
fn two_servers_on_one_database_never_split_an_identity() {
    let pg = TempPostgres::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(pg.url(), &secret).unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(pg.url(), &secret).unwrap());
    let g = Generator::new(Config {
        persons: 20,
        episodes: 240,
        seed: 7,
        ..Config::default()
    });
    let files: Vec<Vec<u8>> = (0..240)
        .map(|i| g.episode(i).envelope_bytes(Spec::Qd3176))
        .collect();
    let files = Arc::new(files);
    let mut threads = Vec::new();
    for (n, s) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let files = files.clone();
        threads.push(std::thread::spawn(move || {
            // Each thread queues everything (group commit takes batches), half of the
            // threads in the other order.
            let order: Vec<usize> = if n % 2 == 0 {
                (0..files.len()).collect()
            } else {
                (0..files.len()).rev().collect()
            };
            let pending: Vec<_> = order
                .iter()
                .map(|i| s.submit(prepared(&files[*i])).unwrap())
                .collect();
            pending
                .into_iter()
                .map(|p| p.wait().unwrap())
                .collect::<Vec<_>>()
        }));
    }
    let receipts: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(receipts.len(), 4 * 240);
    assert!(receipts.iter().all(|r| r.accepted));
    // Every submission has its own id and transaction code.
    let ids: HashSet<i64> = receipts.iter().map(|r| r.submission_id).collect();
    assert_eq!(ids.len(), receipts.len());
    // One person per personal ID, whichever server linked the dossier.
    let mut person_of: HashMap<String, i64> = HashMap::new();
    for i in 0..240 {
        let e = g.episode(i);
        let Some(pid) = e.dossier.summary.as_ref().unwrap().so_cccd.clone() else {
            continue;
        };
        let p = a
            .person_by_identifier(book::IdKind::PersonalId, &pid)
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(*person_of.entry(pid).or_insert(p), p);
    }
    let counts = a.counts().unwrap();
    assert_eq!(counts.submissions, 4 * 240);
    // Each episode key has one current version (the same file four times is one version).
    assert_eq!(counts.episodes_current, 240);
    assert_eq!(counts.episode_versions, 240);
    assert!(
        counts.persons <= 20,
        "{} persons for 20 identities",
        counts.persons
    );
    a.close();
    b.close();
}

/// The audit log refuses UPDATE, DELETE and TRUNCATE, whoever sends them.
#[test]
fn audit_records_cannot_be_edited_through_sql() {
    let pg = TempPostgres::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = PostgresStore::connect(pg.url(), &dir.path().join("secret")).unwrap();
    use store::Access;
    s.append_audit(&store::AuditEntry {
        person_id: 42,
        actor: "bs.an".into(),
        actor_name: None,
        actor_cert: None,
        role: book::access::Role::Clinician,
        facility: Some("01001".into()),
        action: "summary".into(),
        target: None,
        basis: book::access::Basis::Consent,
        grant_id: None,
    })
    .unwrap();
    for attack in [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let e = pg.sql(attack).unwrap_err();
        assert!(
            e.contains("audit records cannot be changed"),
            "{attack}: {e}"
        );
    }
    let report = s.verify_audit().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records, 1);
}
