//! The one rule of every use of a person's data, on a real SQLite file and a throwaway
//! PostgreSQL server: decided, read and recorded together; refused before anything of
//! the person is read, with nothing recorded.

use std::sync::Arc;

use book::access::{Role, Scope};
use dossier::{Options, Spec, parse_envelope};
use service::{Actor, Need, Service, ServiceError};
use store::{Meta, Prepared, Source, StaffAccount, Store, now_ms};
use synth::{Config, Generator};

/// Two persons with visits (the first twice or more), in `s`.
fn two_persons(s: &dyn Store) -> (i64, i64) {
    let g = Generator::new(Config {
        persons: 3,
        episodes: 30,
        seed: 7,
        ..Config::default()
    });
    let mut persons = Vec::new();
    for i in 0..30 {
        let bytes = g.episode(i).envelope_bytes(Spec::Qd3176);
        let parsed = parse_envelope(&bytes, &Options::default());
        let meta = Meta {
            facility: parsed.value.facility.clone(),
            account: "test".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        let r = s.ingest(Prepared::envelope(meta, &bytes, &parsed)).unwrap();
        persons.extend(r.episodes.iter().map(|l| l.person_id));
    }
    persons.sort_unstable();
    persons.dedup();
    let with_two = |p: &i64| s.episodes_of(*p).unwrap().len() >= 2;
    let a = *persons.iter().find(|p| with_two(p)).unwrap();
    let b = *persons.iter().find(|p| **p != a).unwrap();
    (a, b)
}

fn clinician() -> StaffAccount {
    StaffAccount {
        username: "bs-an".into(),
        full_name: "Bác sĩ An".into(),
        role: Role::Clinician,
        unit: None,
        facility: Some("01001".into()),
        practising_cert: Some("000123/CCHN".into()),
        active: true,
    }
}

fn actions(s: &dyn Store, pid: i64) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s
        .audit_of(pid)
        .unwrap()
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    v.reverse();
    v
}

fn body(s: Arc<dyn Store>) {
    let (a, b) = two_persons(s.as_ref());
    let svc = Service::new(s.clone());
    let own = Actor::Person { id: a };
    let other = Actor::Person { id: b };

    // A person's own book: read, not recorded.
    let eps = svc.episodes(&own, a, "episodes").unwrap();
    assert_eq!(eps.len(), s.episodes_of(a).unwrap().len());
    assert!(actions(s.as_ref(), a).is_empty());

    // Someone else's book is "not found", and nothing is written.
    assert!(matches!(
        svc.episodes(&other, a, "episodes"),
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.access_log(&other, a),
        Err(ServiceError::NotFound)
    ));
    assert!(actions(s.as_ref(), a).is_empty());

    // A guardian's read is in the ward's chain, as the guardian.
    s.grant_guardian(b, a, "xa-01").unwrap();
    let one = svc.episode(&other, a, eps[0].id, "episode").unwrap();
    assert_eq!(one.data.id, eps[0].id);
    let years = svc.years(&other, a, "years").unwrap();
    assert_eq!(years.iter().map(|y| y.1).sum::<usize>(), eps.len());
    let guardian = format!("person:{b}");
    assert_eq!(
        actions(s.as_ref(), a),
        vec![
            (guardian.clone(), "episode".to_string()),
            (guardian.clone(), "years".to_string())
        ]
    );
    // A missing episode is not found and not recorded.
    assert!(matches!(
        svc.episode(&other, a, -1, "episode"),
        Err(ServiceError::NotFound)
    ));
    // A poll that brings nothing is not recorded; one that brings something is.
    assert!(svc.changes(&other, a, now_ms()).unwrap().is_empty());
    assert_eq!(svc.changes(&other, a, 0).unwrap().len(), eps.len());
    assert_eq!(actions(s.as_ref(), a).len(), 3);
    assert_eq!(actions(s.as_ref(), a)[2].1, "changes");

    // A clinician without a grant is refused with the reason; nothing is recorded.
    let staff = clinician();
    s.upsert_facility(&store::Facility {
        code: "01001".into(),
        name: "Bệnh viện thử".into(),
        province: "01".into(),
        kind: "hospital".into(),
        bhyt_contract: true,
        unit: None,
    })
    .unwrap();
    s.upsert_staff(&staff, Some("matkhau-2026")).unwrap();
    let doctor = Actor::Staff {
        account: staff.clone(),
        scope: Default::default(),
    };
    match svc.summary(&doctor, a) {
        Err(ServiceError::Forbidden(d)) => assert!(!d.message.is_empty()),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(actions(s.as_ref(), a).len(), 3);

    // A summary share opens the summary (recorded once) but not the visits.
    let (_, code) = s.create_share(a, a, Scope::Summary, 600_000).unwrap();
    let grant = s.redeem_share(&code, &staff, now_ms()).unwrap().unwrap();
    let opened = svc.summary(&doctor, a).unwrap();
    assert!(opened.summary_only);
    assert_eq!(opened.grant.as_ref().map(|g| g.id), Some(grant.id));
    assert!(matches!(
        svc.episode(&doctor, a, eps[0].id, "episode"),
        Err(ServiceError::Forbidden(_))
    ));
    let log = s.audit_of(a).unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].action, "summary");
    assert_eq!(log[0].grant_id, Some(grant.id));
    assert_eq!(log[0].actor_name.as_deref(), Some("Bác sĩ An"));

    // A full share: the summary page records the visits it lists too.
    let (_, code) = s.create_share(a, a, Scope::Full, 600_000).unwrap();
    s.redeem_share(&code, &staff, now_ms()).unwrap().unwrap();
    let opened = svc.summary(&doctor, a).unwrap();
    assert!(!opened.summary_only);
    let tail: Vec<String> = actions(s.as_ref(), a)
        .into_iter()
        .skip(4)
        .map(|x| x.1)
        .collect();
    assert_eq!(tail, ["summary", "episodes"]);
    // FHIR reads the same way: the book, recorded with its target.
    let book = svc
        .open_book(
            &doctor,
            a,
            Need::Types(&["Encounter"]),
            service::Audit::on("fhir", "Encounter?patient=x"),
        )
        .unwrap();
    assert_eq!(book.data.episodes.len(), eps.len());
    let log = s.audit_of(a).unwrap();
    assert_eq!(log[0].action, "fhir");
    assert_eq!(log[0].target.as_deref(), Some("Encounter?patient=x"));
    // Clinicians do not manage sharing; the chain still verifies.
    assert!(matches!(
        svc.access_log(&doctor, a),
        Err(ServiceError::NotFound)
    ));
    assert!(s.verify_audit().unwrap().ok());
    // Opening by share code makes the grant and its "open" record together; a spent or
    // unknown code opens nothing and writes nothing; break-glass without a reason is
    // refused before anything is written.
    let before = s.audit_of(a).unwrap().len();
    let (_, code) = s.create_share(a, a, Scope::Summary, 600_000).unwrap();
    let g = svc
        .open_with(&doctor, service::Opening::ShareCode(&code))
        .unwrap()
        .expect("a grant");
    let log = s.audit_of(a).unwrap();
    assert_eq!(log.len(), before + 1);
    assert_eq!(
        (log[0].action.as_str(), log[0].grant_id),
        ("open", Some(g.id))
    );
    assert!(
        svc.open_with(&doctor, service::Opening::ShareCode("ZZZZ-ZZZZ"))
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        svc.open_with(
            &doctor,
            service::Opening::BreakGlass {
                person: a,
                reason: "gấp",
                for_ms: 60_000,
            }
        ),
        Err(ServiceError::Forbidden(_))
    ));
    assert_eq!(s.audit_of(a).unwrap().len(), before + 1);
    let g = svc
        .open_with(
            &doctor,
            service::Opening::BreakGlass {
                person: a,
                reason: "Người bệnh hôn mê, cấp cứu ngừng tuần hoàn",
                for_ms: 60_000,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(g.basis, book::access::Basis::BreakGlass);
    assert_eq!(s.audit_of(a).unwrap()[0].basis, "break_glass");
    // The person sees every read on their access log, and reading it is not recorded.
    let seen = svc.access_log(&own, a).unwrap();
    assert_eq!(seen.records.len(), s.audit_of(a).unwrap().len());
    assert_eq!(seen.grants.len(), 4);
}

#[test]
fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> = Arc::new(store::SqliteStore::open(dir.path().join("book.db")).unwrap());
    body(s.clone());
    s.close();
}

#[test]
fn postgres() {
    let pg = store::testing::TempPostgres::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> =
        Arc::new(store::PostgresStore::connect(pg.url(), &dir.path().join("secret")).unwrap());
    body(s.clone());
    s.close();
}
