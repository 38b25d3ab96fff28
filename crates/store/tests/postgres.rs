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

fn store(pg: &TempPostgres, secret: &std::path::Path, writers: usize) -> Arc<dyn Store> {
    Arc::new(
        PostgresStore::connect_with(
            pg.url(),
            secret,
            store::PgOptions {
                writers,
                ..Default::default()
            },
        )
        .unwrap(),
    )
}

/// Two stores (two servers' worth: two writers, two id spaces) take the same persons'
/// dossiers at once, each file sent to both: one person per identity, one current
/// version per episode key, every id distinct, and every acknowledged dossier stored.
#[test]
fn two_servers_on_one_database_never_split_an_identity() {
    servers_share_one_database(1);
}

/// The same with two writer threads in each server: four writers at once.
#[test]
fn two_servers_of_two_writers_each_never_split_an_identity() {
    servers_share_one_database(2);
}

fn servers_share_one_database(writers: usize) {
    let pg = TempPostgres::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let a = store(&pg, &secret, writers);
    let b = store(&pg, &secret, writers);
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

/// With several writers, a facility's submissions still commit in the order they came:
/// three versions of each episode, queued one after the other among other facilities'
/// dossiers, end with the last one current and numbered 1, 2, 3 in that order.
#[test]
fn several_writers_keep_each_facilitys_order() {
    let pg = TempPostgres::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = store(&pg, &dir.path().join("secret"), 3);
    let g = Generator::new(Config {
        persons: 40,
        episodes: 90,
        seed: 11,
        ..Config::default()
    });
    let version = |e: &synth::Episode, n: usize| {
        let mut env = e.envelope();
        env.dossiers[0].summary.as_mut().unwrap().chan_doan_rv = Some(format!("Lần sửa {n}"));
        prepared(&dossier::write::envelope(&env, Spec::Qd3176))
    };
    // Those whose discharge diagnosis no other table repeats (a referral's XML14 must
    // agree with it).
    let episodes: Vec<_> = (0..90)
        .map(|i| g.episode(i))
        .filter(|e| version(e, 1).accepted)
        .collect();
    assert!(episodes.len() > 40, "{} accepted", episodes.len());
    let facilities: HashSet<String> = episodes
        .iter()
        .map(|e| e.facility.code.to_string())
        .collect();
    assert!(facilities.len() > 3, "the episodes span several facilities");
    // Round n queues version n of every episode: the versions of one episode are
    // queued in order, with the other facilities' dossiers between them.
    let mut pending = Vec::new();
    for n in 1..=3 {
        for (i, e) in episodes.iter().enumerate() {
            pending.push((i, n, s.submit(version(e, n)).unwrap()));
        }
    }
    for (i, n, p) in pending {
        let r = p.wait().unwrap();
        assert!(r.accepted);
        assert_eq!(
            r.episodes[0].version as usize, n,
            "episode {i}, version {n}"
        );
    }
    for e in &episodes {
        let versions = s.episode_versions(e.facility.code, e.ma_lk()).unwrap();
        let seen: Vec<(u32, bool, Option<String>)> = versions
            .iter()
            .map(|v| (v.version, v.is_current, v.view.discharge_diagnosis.clone()))
            .collect();
        assert_eq!(
            seen,
            (1..=3)
                .map(|n| (n, n == 3, Some(format!("Lần sửa {n}"))))
                .collect::<Vec<_>>()
        );
    }
    s.close();
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
