//! The embedded store on a real SQLite file.

use book::IdKind;
use dossier::{Options, Spec, parse_envelope, write};
use store::{Access, Facility, Meta, Prepared, Source, SqliteStore, Store, Token, now_ms};
use synth::{Config, Generator};

#[macro_use]
mod backends;

fn meta(facility: &str) -> Meta {
    Meta {
        facility: facility.into(),
        account: "test".into(),
        source: Source::Import,
        spec: Spec::Qd3176,
        received_at: now_ms(),
    }
}

fn prepared(bytes: &[u8]) -> Prepared {
    let parsed = parse_envelope(bytes, &Options::default());
    Prepared::envelope(meta(&parsed.value.facility), bytes, &parsed)
}

fn generator() -> Generator {
    Generator::new(Config {
        persons: 50,
        episodes: 400,
        seed: 31,
        ..Config::default()
    })
}

on_both!(
    an_episode_reaches_its_person_with_every_part_and_its_lineage,
    |s| {
        let g = generator();
        let e = (0..400)
            .map(|i| g.episode(i))
            .find(|e| {
                e.dossier.summary.as_ref().unwrap().so_cccd.is_some()
                    && !e.dossier.results.is_empty()
            })
            .unwrap();
        let bytes = e.envelope_bytes(Spec::Qd3176);
        let r = s.ingest(prepared(&bytes)).unwrap();
        assert!(r.accepted);
        assert_eq!(r.episodes.len(), 1);
        let pid = e.dossier.summary.as_ref().unwrap().so_cccd.clone().unwrap();
        let person = s
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
            .unwrap();
        assert_eq!(person.id, r.episodes[0].person_id);
        let eps = s.episodes_of(person.id).unwrap();
        assert_eq!(eps.len(), 1);
        let ep = &eps[0];
        assert_eq!(ep.view.ma_lk, e.ma_lk());
        assert_eq!(ep.view.medicines.len(), e.dossier.drugs.len());
        assert_eq!(ep.view.results.len(), e.dossier.results.len());
        assert!(
            ep.received_at <= ep.validated_at
                && ep.validated_at <= ep.linked_at
                && ep.linked_at <= ep.visible_at
        );
        // The bytes are kept exactly.
        let sub = s.submission(&r.transaction_code).unwrap().unwrap();
        assert_eq!(sub.raw, bytes);
    }
);

/// Ingest the generator's first `n` episodes; the persons they reached.
fn ingest_first(s: &dyn Store, n: usize) -> std::collections::BTreeSet<i64> {
    let g = generator();
    let mut persons = std::collections::BTreeSet::new();
    for i in 0..n {
        let r = s
            .ingest(prepared(&g.episode(i).envelope_bytes(Spec::Qd3176)))
            .unwrap();
        persons.extend(r.episodes.iter().map(|e| e.person_id));
    }
    persons
}

on_both!(a_year_of_a_book_reads_as_the_whole_book_filtered, |s| {
    let persons = ingest_first(&s, 200);
    let mut years_seen = 0;
    for person in persons {
        let all = s.episodes_of(person).unwrap();
        let year = |e: &store::EpisodeRecord| e.view.admitted.map(|d| chrono::Datelike::year(&d));
        let mut want = std::collections::BTreeMap::<i32, usize>::new();
        for y in all.iter().filter_map(year) {
            *want.entry(y).or_default() += 1;
        }
        let want: Vec<(i32, usize)> = want.into_iter().rev().collect();
        assert_eq!(s.episode_years(person).unwrap(), want, "person {person}");
        for &(y, n) in &want {
            let ids = |v: &[store::EpisodeRecord]| v.iter().map(|e| e.id).collect::<Vec<_>>();
            let filtered: Vec<store::EpisodeRecord> =
                all.iter().filter(|e| year(e) == Some(y)).cloned().collect();
            let got = s.episodes_in_year(person, y).unwrap();
            assert_eq!(got.len(), n);
            assert_eq!(ids(&got), ids(&filtered), "person {person}, year {y}");
            years_seen += 1;
        }
        assert!(s.episodes_in_year(person, 1999).unwrap().is_empty());
    }
    assert!(years_seen > 50, "{years_seen} years of books compared");
    assert!(s.episode_years(i64::MAX).unwrap().is_empty());
});

on_both!(persons_read_together_as_each_alone, |s| {
    let ids = ingest_first(&s, 120);
    let mut asked: Vec<i64> = ids.iter().copied().collect();
    asked.push(i64::MAX); // nobody
    let together = s.persons(&asked).unwrap();
    assert_eq!(together.len(), ids.len());
    let json = |p: &store::PersonRecord| serde_json::to_value(p).unwrap();
    let mut with_cards = 0;
    for id in &ids {
        let alone = s.person(*id).unwrap().unwrap();
        assert_eq!(json(&together[id]), json(&alone), "person {id}");
        with_cards += alone.identifiers.iter().any(|i| !i.periods.is_empty()) as usize;
    }
    assert!(
        with_cards > 10,
        "{with_cards} persons with card periods compared"
    );
    assert!(s.persons(&[]).unwrap().is_empty());
});

on_both!(audit_records_appended_together_chain_as_one_by_one, |s| {
    let persons: Vec<i64> = ingest_first(&s, 40).into_iter().collect();
    let [a, b, c, ..] = persons[..] else {
        panic!("three persons")
    };
    let entry = |person: i64, action: &str| store::AuditEntry {
        person_id: person,
        actor: "fhir-client".into(),
        role: book::access::Role::SystemClient,
        facility: None,
        action: action.into(),
        target: Some("unit:01".into()),
        basis: book::access::Basis::System,
        grant_id: None,
        actor_name: Some("Hệ thống".into()),
        actor_cert: None,
    };
    // A chain already begun, one begun by the batch (twice in it), one untouched.
    s.append_audit(&entry(a, "first")).unwrap();
    let before_c = s.audit_of(c).unwrap().len();
    s.append_audits(&[entry(a, "one"), entry(b, "two"), entry(a, "three")])
        .unwrap();
    s.append_audits(&[]).unwrap();
    s.append_audit(&entry(b, "after")).unwrap();
    assert!(s.verify_audit().unwrap().ok());
    let actions = |p: i64| -> Vec<(i64, String)> {
        let mut log: Vec<(i64, String)> = s
            .audit_of(p)
            .unwrap()
            .into_iter()
            .filter(|r| r.person_id == p)
            .map(|r| (r.seq, r.action))
            .collect();
        log.sort();
        log
    };
    let log_a = actions(a);
    let n = log_a.len() as i64;
    assert!(log_a.iter().map(|(seq, _)| *seq).eq(1..=n), "{log_a:?}");
    assert_eq!(
        log_a[log_a.len() - 3..]
            .iter()
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>(),
        ["first", "one", "three"]
    );
    let log_b = actions(b);
    assert_eq!(
        log_b[log_b.len() - 2..]
            .iter()
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>(),
        ["two", "after"]
    );
    assert_eq!(s.audit_of(c).unwrap().len(), before_c);
});

on_both!(facility_names_come_in_one_read, |s| {
    for (code, name) in [("01001", "Bệnh viện A"), ("01002", "Trạm y tế B")] {
        s.upsert_facility(&Facility {
            code: code.into(),
            name: name.into(),
            province: "01".into(),
            kind: "hospital".into(),
            bhyt_contract: true,
            unit: None,
        })
        .unwrap();
    }
    let names = s
        .facility_names(&["01002", "99999", "01001", "01002"])
        .unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(names["01001"], "Bệnh viện A");
    assert_eq!(names["01002"], "Trạm y tế B");
    assert!(s.facility_names(&[]).unwrap().is_empty());
});

on_both!(corrections_replace_and_keep_every_version, |s| {
    let e = generator().episode(3);
    let first = s.ingest(prepared(&e.envelope_bytes(Spec::Qd3176))).unwrap();
    // The same bytes again: no new version.
    let again = s.ingest(prepared(&e.envelope_bytes(Spec::Qd3176))).unwrap();
    assert!(again.episodes[0].unchanged);
    let mut env = e.envelope();
    env.dossiers[0].summary.as_mut().unwrap().chan_doan_rv = Some("Chẩn đoán đã sửa".into());
    let fixed = s
        .ingest(prepared(&write::envelope(&env, Spec::Qd3176)))
        .unwrap();
    assert_eq!(fixed.episodes[0].version, 2);
    let person = first.episodes[0].person_id;
    let current = s.episodes_of(person).unwrap();
    assert_eq!(current.len(), 1, "never a duplicate");
    assert_eq!(
        current[0].view.discharge_diagnosis.as_deref(),
        Some("Chẩn đoán đã sửa")
    );
    let versions = s.episode_versions(e.facility.code, e.ma_lk()).unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.is_current))
            .collect::<Vec<_>>(),
        vec![(1, false), (2, true)]
    );
    assert_ne!(
        versions[0].view.discharge_diagnosis,
        versions[1].view.discharge_diagnosis
    );
});

on_both!(one_card_with_two_personal_ids_is_recorded_not_merged, |s| {
    let g = generator();
    let e = (0..400)
        .map(|i| g.episode(i))
        .find(|e| {
            let s = e.dossier.summary.as_ref().unwrap();
            s.so_cccd.is_some() && !s.ma_the_bhyt.is_empty()
        })
        .unwrap();
    s.ingest(prepared(&e.envelope_bytes(Spec::Qd3176))).unwrap();
    let mut env = e.envelope();
    let sm = env.dossiers[0].summary.as_mut().unwrap();
    sm.so_cccd = Some("079090099999".into());
    sm.ma_lk = Some("OTHER-EPISODE".into());
    for t in [
        dossier::Table::Xml2,
        dossier::Table::Xml3,
        dossier::Table::Xml4,
        dossier::Table::Xml5,
    ] {
        let _ = t;
    }
    let d = &mut env.dossiers[0];
    for l in &mut d.drugs {
        l.ma_lk = Some("OTHER-EPISODE".into());
    }
    for l in &mut d.services {
        l.ma_lk = Some("OTHER-EPISODE".into());
    }
    for l in &mut d.results {
        l.ma_lk = Some("OTHER-EPISODE".into());
    }
    for l in &mut d.clinical_notes {
        l.ma_lk = Some("OTHER-EPISODE".into());
    }
    d.discharge = None;
    d.record_summary = None;
    d.referral = None;
    d.appointment = None;
    d.births.clear();
    d.sick_leave = None;
    d.summary.as_mut().unwrap().ngay_tai_kham.clear();
    d.summary.as_mut().unwrap().ma_loai_kcb = Some("01".into());
    d.summary.as_mut().unwrap().so_ngay_dtri = Some(0);
    let p = prepared(&write::envelope(&env, Spec::Qd3176));
    assert!(p.accepted, "{}", p.findings_json);
    let r = s.ingest(p).unwrap();
    assert_ne!(
        r.episodes[0].person_id,
        s.person_by_identifier(
            IdKind::PersonalId,
            e.dossier
                .summary
                .as_ref()
                .unwrap()
                .so_cccd
                .as_deref()
                .unwrap()
        )
        .unwrap()
        .unwrap()
        .id
    );
    let issues = s.dq_issues(10).unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i.kind == "card_with_two_personal_ids"),
        "{issues:#?}"
    );
    // The card stays with its first holder: the second dossier does not move it.
    let card = e.dossier.summary.as_ref().unwrap().ma_the_bhyt[0].clone();
    let holder = s
        .person_by_identifier(IdKind::BhytCard, &card)
        .unwrap()
        .unwrap();
    assert_ne!(holder.id, r.episodes[0].person_id);
    assert!(
        !s.person(r.episodes[0].person_id)
            .unwrap()
            .unwrap()
            .identifiers
            .iter()
            .any(|i| i.value == card)
    );
});

on_both!(merge_and_split_keep_history, |s| {
    let g = generator();
    let a = s
        .ingest(prepared(&g.episode(0).envelope_bytes(Spec::Qd3176)))
        .unwrap()
        .episodes[0]
        .clone();
    let mut b = a.clone();
    for i in 1..400 {
        let r = s
            .ingest(prepared(&g.episode(i).envelope_bytes(Spec::Qd3176)))
            .unwrap();
        if r.episodes[0].person_id != a.person_id {
            b = r.episodes[0].clone();
            break;
        }
    }
    let before =
        s.episodes_of(a.person_id).unwrap().len() + s.episodes_of(b.person_id).unwrap().len();
    // Reads of both records before the merge, and a grant on the one merged away.
    let read = |person: i64, who: &str| store::AuditEntry {
        person_id: person,
        actor: who.into(),
        role: book::access::Role::Clinician,
        facility: Some("01001".into()),
        action: "summary".into(),
        target: None,
        basis: book::access::Basis::Consent,
        grant_id: None,
        actor_name: Some(who.into()),
        actor_cert: None,
    };
    s.append_audit(&read(a.person_id, "bs-a")).unwrap();
    s.append_audit(&read(b.person_id, "bs-b")).unwrap();
    s.upsert_facility(&Facility {
        code: "01001".into(),
        name: "Bệnh viện thử".into(),
        province: "01".into(),
        kind: "hospital".into(),
        bhyt_contract: true,
        unit: None,
    })
    .unwrap();
    let staff = store::StaffAccount {
        username: "bs-b".into(),
        full_name: "Bác sĩ B".into(),
        role: book::access::Role::Clinician,
        unit: None,
        facility: Some("01001".into()),
        practising_cert: Some("000123/CCHN".into()),
        active: true,
    };
    s.upsert_staff(&staff, Some("matkhau-2026")).unwrap();
    let (_, code) = s
        .create_share(b.person_id, b.person_id, book::access::Scope::Full, 600_000)
        .unwrap();
    s.redeem_share(&code, &staff, now_ms()).unwrap().unwrap();
    s.merge_persons(b.person_id, a.person_id, "same person, two records")
        .unwrap();
    // Who read either record is on the survivor's log, each record in its own chain,
    // which still verifies; the old grant explains its read but opens nothing new.
    let log = s.audit_of(a.person_id).unwrap();
    let mut seen: Vec<(i64, &str)> = log
        .iter()
        .map(|r| (r.person_id, r.actor.as_str()))
        .collect();
    seen.sort();
    let mut want = vec![(a.person_id, "bs-a"), (b.person_id, "bs-b")];
    want.sort();
    assert_eq!(seen, want);
    assert!(s.verify_audit().unwrap().ok());
    assert_eq!(s.grants_on_merged(a.person_id).unwrap().len(), 1);
    assert!(s.grants_on(a.person_id).unwrap().is_empty());
    assert_eq!(s.episodes_of(a.person_id).unwrap().len(), before);
    assert_eq!(
        s.person(b.person_id).unwrap().unwrap().merged_into,
        Some(a.person_id)
    );
    let new = s
        .split_person(a.person_id, &[b.episode_id], "merged by mistake")
        .unwrap();
    assert_eq!(s.episodes_of(new).unwrap().len(), 1);
    assert_eq!(s.episodes_of(a.person_id).unwrap().len(), before - 1);
    // The split may undo a wrong merge: the merged-away record's reads and grants are no
    // longer on the survivor's log.
    let log = s.audit_of(a.person_id).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor, "bs-a");
    assert!(s.grants_on_merged(a.person_id).unwrap().is_empty());
    // A second merge: the survivor's records come along (not those the split cut off).
    let c_person = s
        .ingest(prepared(&g.episode(399).envelope_bytes(Spec::Qd3176)))
        .unwrap()
        .episodes[0]
        .person_id;
    if c_person != a.person_id && c_person != b.person_id {
        s.merge_persons(a.person_id, c_person, "a third record")
            .unwrap();
        let log = s.audit_of(c_person).unwrap();
        assert_eq!(
            log.iter()
                .map(|r| (r.person_id, r.actor.as_str()))
                .collect::<Vec<_>>(),
            vec![(a.person_id, "bs-a")]
        );
    } else {
        panic!("episode 399 is a third person's");
    }
});

on_both!(accounts_and_tokens, |s| {
    s.upsert_facility(&Facility {
        code: "01001".into(),
        name: "BV".into(),
        province: "01".into(),
        kind: "hospital".into(),
        bhyt_contract: true,
        unit: None,
    })
    .unwrap();
    let md5 = "E10ADC3949BA59ABBE56E057F20F883E"; // md5("123456")
    s.upsert_account("bv01001", "01001", md5).unwrap();
    assert!(s.verify_account("bv01001", md5).unwrap().is_some());
    assert!(
        s.verify_account("bv01001", &md5.to_lowercase())
            .unwrap()
            .is_some()
    );
    assert!(
        s.verify_account("bv01001", "00000000000000000000000000000000")
            .unwrap()
            .is_none()
    );
    assert!(s.verify_account("nobody", md5).unwrap().is_none());
    let t = Token {
        access_token: "a".repeat(32),
        id_token: "i".repeat(16),
        username: "bv01001".into(),
        expires_at: now_ms() + 60_000,
    };
    s.save_token(&t, md5).unwrap();
    assert_eq!(
        s.check_token(&t.access_token, &t.id_token, md5, now_ms())
            .unwrap()
            .unwrap()
            .facility,
        "01001"
    );
    assert!(
        s.check_token(&t.access_token, "wrong", md5, now_ms())
            .unwrap()
            .is_none()
    );
    assert!(
        s.check_token(&t.access_token, &t.id_token, "X", now_ms())
            .unwrap()
            .is_none()
    );
    assert!(
        s.check_token(&t.access_token, &t.id_token, md5, now_ms() + 120_000)
            .unwrap()
            .is_none()
    );
});

#[test]
fn rejected_dossiers_are_kept_as_evidence_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.db");
    let (_, bad) = generator().invalid_episode(0);
    let tx = {
        let s = SqliteStore::open(&path).unwrap();
        let r = s.ingest(prepared(&bad)).unwrap();
        assert!(!r.accepted && r.episodes.is_empty());
        r.transaction_code
    };
    let s = SqliteStore::open(&path).unwrap();
    let sub = s.submission(&tx).unwrap().unwrap();
    assert_eq!(sub.raw, bad);
    assert!(!sub.accepted);
    assert!(!sub.findings.as_array().unwrap().is_empty());
}

on_both!(ids_are_exact_in_javascript, |s| {
    let r = s
        .ingest(prepared(
            &generator().episode(1).envelope_bytes(Spec::Qd3176),
        ))
        .unwrap();
    const MAX_SAFE: i64 = (1 << 53) - 1;
    assert!(
        r.submission_id < MAX_SAFE
            && r.episodes[0].episode_id < MAX_SAFE
            && r.episodes[0].person_id < MAX_SAFE
    );
});

/// One way of scanning, its callback given.
type Plan<'a> =
    dyn Fn(&mut dyn FnMut(store::EpisodeRecord) -> store::Result<bool>) -> store::Result<u64> + 'a;

on_both!(
    both_scan_plans_read_the_same_episodes_in_person_order,
    |s| {
        let g = generator();
        for i in 0..400 {
            s.ingest(prepared(&g.episode(i).envelope_bytes(Spec::Qd3176)))
                .unwrap();
        }
        // A correction: only the current version is read.
        let mut env = g.episode(5).envelope();
        env.dossiers[0].summary.as_mut().unwrap().chan_doan_rv = Some("Chẩn đoán đã sửa".into());
        s.ingest(prepared(&write::envelope(&env, Spec::Qd3176)))
            .unwrap();
        let mut facilities: Vec<String> = (0..400)
            .map(|i| g.episode(i).facility.code.to_string())
            .collect();
        facilities.sort();
        facilities.dedup();
        assert!(facilities.len() >= 3);
        let read = |plan: &Plan<'_>| {
            let mut got = Vec::new();
            let n = plan(&mut |e| {
                got.push((e.person_id, e.id, e.facility.clone(), e.version));
                Ok(true)
            })
            .unwrap();
            assert_eq!(n as usize, got.len());
            got
        };
        let halfway = {
            let mut v: Vec<i64> = (0..400)
                .flat_map(|i| {
                    let e = g.episode(i);
                    let pid = e.dossier.summary.as_ref().and_then(|x| x.so_cccd.clone());
                    pid.and_then(|p| s.person_by_identifier(IdKind::PersonalId, &p).unwrap())
                        .map(|p| s.episodes_of(p.id).unwrap())
                        .unwrap_or_default()
                })
                .map(|e| e.visible_at)
                .collect();
            v.sort();
            v[v.len() / 2]
        };
        for list in [
            vec![facilities[0].clone()],
            facilities[..2].to_vec(),
            facilities.clone(),
            vec!["99999".to_string()],
        ] {
            for since in [0, halfway] {
                let by_key = read(&|f| s.scan_episodes_by_key(&list, since, f));
                let by_person = read(&|f| s.scan_episodes_by_person(&list, since, f));
                let chosen = read(&|f| s.scan_episodes(&list, since, f));
                assert_eq!(by_key, by_person, "{list:?} since {since}");
                assert_eq!(by_key, chosen);
                let mut sorted = by_key.clone();
                sorted.sort_by_key(|x| (x.0, x.1));
                assert_eq!(sorted, by_key, "person order");
                assert!(by_key.iter().all(|x| list.contains(&x.2)));
                if list.len() == facilities.len() && since == 0 {
                    assert_eq!(by_key.len() as i64, s.counts().unwrap().episodes_current);
                }
            }
        }
        // The plan: all the facilities are not a small unit; none is.
        assert!(!s.is_small_unit(&facilities).unwrap());
        assert!(s.is_small_unit(&["99999".to_string()]).unwrap());
        // A correction during a scan by person: the version current when the keys were
        // taken is read, nothing is lost.
        let whole = read(&|f| s.scan_episodes_by_key(&facilities, 0, f));
        let mut corrected = false;
        let mut during = Vec::new();
        s.scan_episodes_by_person(&facilities, 0, &mut |e| {
            if !corrected {
                corrected = true;
                let mut env = g.episode(7).envelope();
                env.dossiers[0].summary.as_mut().unwrap().chan_doan_rv =
                    Some("Sửa trong lúc xuất".into());
                s.ingest(prepared(&write::envelope(&env, Spec::Qd3176)))
                    .unwrap();
            }
            during.push((e.person_id, e.id, e.facility.clone(), e.version));
            Ok(true)
        })
        .unwrap();
        assert_eq!(during, whole);
        // Stopping early stops both.
        let mut k = 0;
        let n = s
            .scan_episodes_by_person(&facilities, 0, &mut |_| {
                k += 1;
                Ok(k < 3)
            })
            .unwrap();
        assert_eq!(n, 3);
    }
);

/// Version 8 takes out of the book any episode stored without a facility (possible
/// before: an envelope with an empty MACSKCB), keeps it aside and lists it.
#[test]
fn version_8_quarantines_episodes_without_a_facility() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../migrations/sqlite/0001_init.sql"),
            include_str!("../migrations/sqlite/0002_citizen.sql"),
            include_str!("../migrations/sqlite/0003_access.sql"),
            include_str!("../migrations/sqlite/0004_reports.sql"),
            include_str!("../migrations/sqlite/0005_adoption.sql"),
            include_str!("../migrations/sqlite/0006_fhir.sql"),
            include_str!("../migrations/sqlite/0007_merged.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 7).unwrap();
        // A check-in stored before version 8: its body as the model writes it.
        c.execute(
            "INSERT INTO checkins (facility, ma_lk, id, submission_id, received_at, started_at, insured, body)
             VALUES ('01001', 'CI-1', 5, 0, 0, '202612010800', 1, '{\"MA_LK\":\"CI-1\",\"SO_CCCD\":\"001090012345\",\"MA_THE_BHYT\":\"GD4010123456789\"}')",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO persons (id, name, created_at) VALUES (1, 'Người Thử', 0)",
            [],
        )
        .unwrap();
        for (id, facility, ma_lk) in [(10, "", "EMPTY-1"), (11, "01001", "KEPT-1")] {
            c.execute(
                "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body)
                 VALUES (1, ?1, ?2, ?3, 1, 1, 0, 1, 'high', 0, 0, 0, 0, 'h', '{}')",
                rusqlite::params![id, facility, ma_lk],
            )
            .unwrap();
            c.execute(
                "INSERT INTO episode_keys (facility, ma_lk, person_id, episode_id, version, content_hash) VALUES (?1, ?2, 1, ?3, 1, 'h')",
                rusqlite::params![facility, ma_lk, id],
            )
            .unwrap();
        }
    }
    let s = SqliteStore::open(&path).unwrap();
    assert!(s.episode_versions("", "EMPTY-1").unwrap().is_empty());
    let left: Vec<String> = s
        .episodes_of(1)
        .unwrap()
        .into_iter()
        .map(|e| e.ma_lk)
        .collect();
    assert_eq!(left, vec!["KEPT-1".to_string()]);
    let issues = s.dq_issues(10).unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i.kind == "quarantined_episode" && i.ma_lk.as_deref() == Some("EMPTY-1")),
        "{issues:?}"
    );
    s.close();
    let c = rusqlite::Connection::open(&path).unwrap();
    let kept: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM episodes_quarantine WHERE ma_lk = 'EMPTY-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
    // Check-ins of before are keyed by who presented: by the blind indexes of the
    // personal ID and the card (converted when the store started), never in clear.
    let (pid, card): (String, String) = c
        .query_row(
            "SELECT personal_id, card FROM checkins WHERE ma_lk = 'CI-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    for v in [&pid, &card] {
        assert!(v.starts_with('~') && v.len() == 33, "{v}");
    }
    assert_ne!(pid, card);
    let name: String = c
        .query_row("SELECT name FROM persons WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert!(name.starts_with('!') && !name.contains("Người"), "{name}");
    drop(c);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.person(1).unwrap().unwrap().name.as_deref(),
        Some("Người Thử")
    );
    s.close();
}

/// Activation codes are stored as a keyed hash under `<db>.secret`: with another secret
/// (a copy of the database without its secret file), the right code opens nothing.
#[test]
fn short_codes_are_keyed_by_the_server_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.db");
    let s = SqliteStore::open(&path).unwrap();
    let e = generator().episode(0);
    s.ingest(prepared(&e.envelope_bytes(Spec::Qd3176))).unwrap();
    let pid = e.dossier.summary.as_ref().unwrap().so_cccd.clone().unwrap();
    let person = s
        .person_by_identifier(IdKind::PersonalId, &pid)
        .unwrap()
        .unwrap()
        .id;
    let code = s.issue_activation_code(person, "test", 3_600_000).unwrap();
    s.close();
    drop(s);
    let secret = dir.path().join("book.db.secret");
    let kept = std::fs::read(&secret).unwrap();
    assert_eq!(kept.len(), 32);
    std::fs::write(&secret, [7u8; 32]).unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert!(s.activate_citizen(&pid, &code, "135790").is_err());
    s.close();
    drop(s);
    std::fs::write(&secret, &kept).unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.activate_citizen(&pid, &code, "135790").unwrap(), person);
}

/// Someone with the database drops the triggers, removes the last record of a chain and
/// moves its head back (the chains alone still verify), or removes a whole chain and its
/// head: the checkpoint file finds both.
#[test]
fn a_cut_audit_tail_is_found_by_the_checkpoints() {
    use book::access::{Basis, Role};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.db");
    let file = dir.path().join("audit.checkpoints");
    let s = SqliteStore::open(&path).unwrap();
    for person in [41, 42] {
        for action in ["summary", "episode", "episode"] {
            s.append_audit(&store::AuditEntry {
                person_id: person,
                actor: "bs1".into(),
                role: Role::Clinician,
                facility: Some("01001".into()),
                action: action.into(),
                target: None,
                basis: Basis::BreakGlass,
                grant_id: Some(1),
                actor_name: None,
                actor_cert: None,
            })
            .unwrap();
        }
    }
    s.audit_checkpoint(&file).unwrap();
    assert_eq!(s.verify_checkpoints(&file).unwrap().1, Vec::<String>::new());
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    let prev: String = db
        .query_row(
            "SELECT hash FROM audit_log WHERE person_id = 41 AND seq = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute("DELETE FROM audit_log WHERE person_id = 41 AND seq = 3", [])
        .unwrap();
    db.execute(
        "UPDATE audit_heads SET seq = 2, hash = ?1 WHERE person_id = 41",
        [&prev],
    )
    .unwrap();
    assert!(s.verify_audit().unwrap().ok(), "the chains alone miss it");
    assert!(!s.verify_checkpoints(&file).unwrap().1.is_empty());
    db.execute("DELETE FROM audit_log WHERE person_id = 42", [])
        .unwrap();
    db.execute("DELETE FROM audit_heads WHERE person_id = 42", [])
        .unwrap();
    let (n, problems) = s.verify_checkpoints(&file).unwrap();
    assert_eq!(n, 1);
    assert!(
        problems.iter().any(|p| p.contains("checkpoint 1")),
        "{problems:?}"
    );
}

on_both!(a_bulk_load_reads_as_ingested_episodes_do, |s| {
    // A real episode's view as the body of every bulk episode.
    let g = generator();
    let r = s
        .ingest(prepared(&g.episode(0).envelope_bytes(Spec::Qd3176)))
        .unwrap();
    let first = &r.episodes[0];
    let view = s
        .episode(first.person_id, first.episode_id)
        .unwrap()
        .unwrap()
        .view;
    let body = serde_json::to_string(&view).unwrap();
    let persons: Vec<store::BulkPerson> = (0..3)
        .map(|i| store::BulkPerson {
            name: Some(format!("Người Mẫu {i}")),
            birth: Some("19800101".into()),
            sex: Some("1".into()),
            personal_id: Some(format!("0010800000{i:02}")),
            identifiers: vec![
                (IdKind::PersonalId, format!("0010800000{i:02}")),
                (IdKind::BhytCard, format!("GD4010100000{i:03}")),
            ],
            episodes: (0..4)
                .map(|k| store::BulkEpisode {
                    facility: "01001".into(),
                    ma_lk: format!("BULK{i}{k}"),
                    start_at: Some(format!("2026010{}0800", k + 1)),
                    care_type: Some("01".into()),
                    insured: k % 2 == 0,
                    body: body.clone(),
                    ..store::BulkEpisode::default()
                })
                .collect(),
        })
        .collect();
    assert_eq!(s.bulk_load(persons).unwrap(), (3, 12));
    for i in 0..3 {
        let by_id = s
            .person_by_identifier(IdKind::PersonalId, &format!("0010800000{i:02}"))
            .unwrap()
            .expect("found by personal ID");
        let by_card = s
            .person_by_identifier(IdKind::BhytCard, &format!("GD4010100000{i:03}"))
            .unwrap()
            .expect("found by card");
        assert_eq!(by_id.id, by_card.id);
        let eps = s.episodes_of(by_id.id).unwrap();
        assert_eq!(eps.len(), 4);
        assert!(eps.iter().all(|e| e.is_current && e.version == 1));
        assert_eq!(eps[0].ma_lk, format!("BULK{i}3"), "newest first");
        assert_eq!(
            serde_json::to_string(&eps[0].view).unwrap(),
            body,
            "the body reads back"
        );
        // The episode key leads to it: a correction would find it.
        let v = s.episode_versions("01001", &format!("BULK{i}0")).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].person_id, by_id.id);
    }
    assert_eq!(s.counts().unwrap().episodes_current, 13);
});

on_both!(facility_certificates_and_signature_verdicts, |s| {
    s.upsert_facility(&Facility {
        code: "01001".into(),
        name: "BV thử nghiệm".into(),
        province: "01".into(),
        kind: "hospital".into(),
        bhyt_contract: true,
        unit: None,
    })
    .unwrap();
    let cert = store::FacilityCert {
        facility: "01001".into(),
        fingerprint: "ab".repeat(32),
        subject: "CN=BV thu nghiem".into(),
        issuer: "CN=Test CA".into(),
        serial: "01".into(),
        not_before: 1,
        not_after: 2,
        der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        added_at: now_ms(),
        added_by: "test".into(),
        revoked_at: None,
        revoked_by: None,
    };
    assert!(s.add_facility_cert(&cert).unwrap());
    assert!(!s.add_facility_cert(&cert).unwrap(), "registered once");
    // A facility that does not exist cannot register anything.
    let stray = store::FacilityCert {
        facility: "99999".into(),
        ..cert.clone()
    };
    assert!(s.add_facility_cert(&stray).is_err());
    let listed = s.facility_certs(Some("01001")).unwrap();
    assert_eq!(listed, vec![cert.clone()], "DER and every field as stored");
    assert_eq!(s.facility_certs(None).unwrap().len(), 1);
    assert!(s.facility_certs(Some("01002")).unwrap().is_empty());
    assert!(
        s.revoke_facility_cert("01001", &cert.fingerprint, "officer")
            .unwrap()
    );
    assert!(
        !s.revoke_facility_cert("01001", &cert.fingerprint, "officer")
            .unwrap()
    );
    let after = &s.facility_certs(Some("01001")).unwrap()[0];
    assert!(after.revoked_at.is_some());
    assert_eq!(after.revoked_by.as_deref(), Some("officer"));

    // Verdicts are stored with their submissions and counted per facility.
    let g = generator();
    let t0 = now_ms();
    let mut want = std::collections::BTreeMap::new();
    for (i, status) in ["verified", "unsigned", "invalid_signature", "verified"]
        .iter()
        .enumerate()
    {
        let mut p = prepared(&g.episode(i).envelope_bytes(Spec::Qd3176));
        p.signature = Some(store::SignatureNote {
            status: status.to_string(),
            signer: (*status != "unsigned").then(|| cert.fingerprint.clone()),
        });
        *want
            .entry((p.meta.facility.clone(), status.to_string()))
            .or_insert(0) += 1;
        let r = s.ingest(p).unwrap();
        let sub = s.submission(&r.transaction_code).unwrap().unwrap();
        assert_eq!(sub.signature.as_deref(), Some(*status));
        assert_eq!(sub.signer.is_some(), *status != "unsigned");
    }
    // Not checked (policy off): no verdict stored, counted as not_checked.
    let r = s
        .ingest(prepared(&g.episode(9).envelope_bytes(Spec::Qd3176)))
        .unwrap();
    assert_eq!(
        s.submission(&r.transaction_code)
            .unwrap()
            .unwrap()
            .signature,
        None
    );
    let fac = g.episode(9).envelope().facility;
    *want.entry((fac, "not_checked".to_string())).or_insert(0) += 1;
    let counts: std::collections::BTreeMap<(String, String), i64> = s
        .signature_counts(&store::vn_day(t0), &store::vn_day(now_ms()))
        .unwrap()
        .into_iter()
        .map(|c| ((c.facility, c.status), c.count))
        .collect();
    assert_eq!(counts, want);
    assert!(
        s.signature_counts("2000-01-01", "2000-12-31")
            .unwrap()
            .is_empty()
    );
    // The aggregate agrees with a recount from the submissions.
    let before = s.signature_counts("2000-01-01", "2999-12-31").unwrap();
    store::Reports::rebuild_reports(&s).unwrap();
    assert_eq!(
        s.signature_counts("2000-01-01", "2999-12-31").unwrap(),
        before
    );
});

/// The database, its WAL and shared memory and the secret are the service's alone, and
/// a database file left readable by others is closed to them when opened.
#[test]
fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let mode = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(&name).unwrap().permissions().mode() & 0o777
    };
    {
        let s = SqliteStore::open(&db).unwrap();
        s.ingest(prepared(
            &generator().episode(0).envelope_bytes(Spec::Qd3176),
        ))
        .unwrap();
        for suffix in ["", "-wal", "-shm", ".secret"] {
            assert_eq!(mode(suffix), 0o600, "book.db{suffix}");
        }
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _s = SqliteStore::open(&db).unwrap();
    assert_eq!(mode(""), 0o600, "tightened when opened");
}

// Submissions queued together are stored in one batch (one transaction; on PostgreSQL
// the persons, identifiers and counters it creates are written at its end): each links
// as it would have alone, seeing what the batch's earlier submissions did.
on_both!(a_batch_links_as_one_submission_after_another, |s| {
    let g = generator();
    let with_ids = |e: &synth::Episode| {
        let sm = e.dossier.summary.as_ref().unwrap();
        sm.so_cccd.is_some() && sm.ma_the_bhyt.len() == 1
    };
    // Two persons with a personal ID and one card, three episodes of the first and two
    // of the second.
    let mut by_person: std::collections::BTreeMap<usize, Vec<synth::Episode>> = Default::default();
    for e in (0..400).map(|i| g.episode(i)).filter(with_ids) {
        by_person.entry(e.person).or_default().push(e);
    }
    let mut people = by_person.into_values().filter(|v| v.len() >= 3);
    let (x, y) = (people.next().unwrap(), people.next().unwrap());
    let summary = |e: &synth::Episode| e.dossier.summary.clone().unwrap();
    let pid = summary(&x[0]).so_cccd.unwrap();
    let card = summary(&x[0]).ma_the_bhyt[0].clone();
    // 1. X's first episode names only the card: a new person without a personal ID.
    let mut first = x[0].envelope();
    first.dossiers[0].summary.as_mut().unwrap().so_cccd = None;
    // 2. The second names the card and the personal ID: the same person, whose record
    //    then holds the personal ID.
    let second = x[1].envelope();
    // 3. The third names the personal ID and a renewed card number: found by the
    //    personal ID the second episode gave.
    let mut third = x[2].envelope();
    let renewed = format!("{}9", &card[..card.len() - 1]);
    let renewed = if renewed == card {
        format!("{}8", &card[..card.len() - 1])
    } else {
        renewed
    };
    third.dossiers[0].summary.as_mut().unwrap().ma_the_bhyt = vec![renewed.clone()];
    // Then Y's first episode, their second, and their first again (unchanged). All six
    // are prepared first and queued at once, so that the writer takes them together.
    let batch: Vec<Prepared> = [first, second, third]
        .iter()
        .chain(&[y[0].envelope(), y[1].envelope(), y[0].envelope()])
        .map(|env| {
            let p = prepared(&write::envelope(env, Spec::Qd3176));
            assert!(p.accepted, "{}", p.findings_json);
            p
        })
        .collect();
    let pending: Vec<store::Pending> = batch.into_iter().map(|p| s.submit(p).unwrap()).collect();
    let receipts: Vec<store::Receipt> = pending.into_iter().map(|p| p.wait().unwrap()).collect();
    let person_of = |i: usize| receipts[i].episodes[0].person_id;
    let px = person_of(0);
    assert_eq!((person_of(1), person_of(2)), (px, px), "{receipts:#?}");
    let py = person_of(3);
    assert_ne!(py, px);
    assert_eq!((person_of(4), person_of(5)), (py, py));
    assert!(receipts[5].episodes[0].unchanged);
    assert_eq!(s.counts().unwrap().persons, 2);
    // The record the first episode created holds the personal ID the second gave.
    let record = s.person(px).unwrap().unwrap();
    assert_eq!(record.personal_id.as_deref(), Some(pid.as_str()));
    for (kind, value) in [
        (IdKind::PersonalId, pid.as_str()),
        (IdKind::BhytCard, card.as_str()),
        (IdKind::BhytCard, renewed.as_str()),
    ] {
        assert_eq!(
            s.person_by_identifier(kind, value).unwrap().unwrap().id,
            px,
            "{kind:?} {value}"
        );
        assert!(
            record.identifiers.iter().any(|i| i.value == value),
            "{value} in {:#?}",
            record.identifiers
        );
    }
    let y_pid = summary(&y[0]).so_cccd.unwrap();
    assert_eq!(
        s.person_by_identifier(IdKind::PersonalId, &y_pid)
            .unwrap()
            .unwrap()
            .id,
        py
    );
    assert!(
        s.dq_issues(10).unwrap().is_empty(),
        "{:#?}",
        s.dq_issues(10)
    );
    assert_eq!(s.episodes_of(px).unwrap().len(), 3);
    assert_eq!(s.episodes_of(py).unwrap().len(), 2);
});
