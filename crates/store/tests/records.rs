//! The QĐ 831 records kept for every resident, and the registry's deltas, on SQLite
//! and PostgreSQL.

use book::IdKind;
use book::ehr::Part;
use store::{Records, RegistryBatch, RegistryChange, Reports, Resident, Store, StoreError, Unit};

#[macro_use]
mod backends;

fn units(s: &dyn Store) {
    for (code, name, level, parent) in [
        ("01", "Thành phố Hà Nội", "province", None),
        ("00004", "Phường Ba Đình", "commune", Some("01")),
        ("00008", "Phường Ngọc Hà", "commune", Some("01")),
    ] {
        s.upsert_unit(&Unit {
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent: parent.map(str::to_string),
            scheme: "2025".into(),
        })
        .unwrap();
    }
}

fn resident(k: u32, unit: &str) -> Resident {
    Resident {
        personal_id: format!("0011950{k:05}"),
        name: Some(format!("Nguyễn Văn Thử {k}")),
        birth: Some(format!("19{:02}0315", 40 + k % 50)),
        sex: Some(if k % 2 == 0 { "1" } else { "2" }.into()),
        unit: unit.into(),
        status: "alive".into(),
    }
}

fn batch(id: &str, source: &str, changes: Vec<RegistryChange>) -> RegistryBatch {
    let digest = format!("{:?}", changes);
    RegistryBatch {
        id: id.into(),
        source: source.into(),
        digest: format!("{:x}", digest.len()) + &digest.chars().take(40).collect::<String>(),
        by: "test".into(),
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i as u64 + 1, c))
            .collect(),
        scope: None,
    }
}

on_both!(every_resident_gets_a_person_and_a_record, |s| {
    units(&s);
    let residents: Vec<Resident> = (0..30)
        .map(|k| resident(k, if k < 20 { "00004" } else { "00008" }))
        .collect();
    s.import_population(&residents).unwrap();
    let list = s.residents("00004").unwrap();
    assert_eq!(list.len(), 20);
    assert!(list.iter().all(|r| r.version == 1 && r.status == "open"));
    assert!(
        list.iter()
            .all(|r| r.name.as_deref().unwrap().starts_with("Nguyễn Văn Thử"))
    );
    let p = s
        .person_by_identifier(IdKind::PersonalId, &residents[0].personal_id)
        .unwrap()
        .expect("a person for the resident");
    // The record holds part A from the registry; it is read in one transaction.
    let mut seen = None;
    s.transaction(false, &mut |tx| {
        seen = tx.health_record(p.id)?;
        Ok(())
    })
    .unwrap();
    let rec = seen.unwrap();
    assert_eq!(
        rec.record.get("a.id_number"),
        Some(residents[0].personal_id.as_str())
    );
    assert_eq!(rec.record.get("a.birth_date"), Some("1940-03-15"));
    assert_eq!(rec.commune.as_deref(), Some("00004"));
    assert!(!rec.record.complete(Part::A));
    // Imported again: nobody twice.
    s.import_population(&residents).unwrap();
    assert_eq!(s.residents("00004").unwrap().len(), 20);
    let stats = s
        .record_stats(2026, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        .unwrap();
    let ba_dinh = stats.iter().find(|c| c.commune == "00004").unwrap();
    assert_eq!(
        (ba_dinh.records, ba_dinh.open, ba_dinh.examined_this_year),
        (20, 20, 0)
    );
    assert!(ba_dinh.elderly > 0);
});

on_both!(a_registry_round_of_birth_death_move_id_and_card, |s| {
    units(&s);
    let residents: Vec<Resident> = (0..5).map(|k| resident(k, "00004")).collect();
    s.import_population(&residents).unwrap();
    let pid = |k: usize| residents[k].personal_id.clone();
    let person = |id: &str| {
        s.person_by_identifier(IdKind::PersonalId, id)
            .unwrap()
            .unwrap()
            .id
    };
    let alive = |s: &dyn Store| {
        s.adoption()
            .unwrap()
            .iter()
            .map(|r| r.population)
            .sum::<i64>()
    };
    assert_eq!(alive(&s), 5);
    let changes = vec![
        RegistryChange::Birth {
            personal_id: "001226000001".into(),
            name: "Lê Thị Mới".into(),
            birth_date: "2026-11-20".into(),
            sex: "2".into(),
            commune: "00008".into(),
        },
        RegistryChange::Death {
            personal_id: pid(1),
            date: "2026-10-02".into(),
        },
        RegistryChange::Move {
            personal_id: pid(2),
            commune: "00008".into(),
            address: Some("Số 5, tổ 3".into()),
        },
        RegistryChange::IdChange {
            personal_id: pid(3),
            new_personal_id: "001195999999".into(),
        },
    ];
    let b = batch("dc-2026-12-01", "population", changes);
    let out = s.apply_registry(&b).unwrap();
    assert_eq!((out.applied, out.unchanged), (4, 0), "{out:?}");
    // Idempotent: the same batch again answers what it did; the same id with other
    // content is refused.
    let again = s.apply_registry(&b).unwrap();
    assert!(again.repeated);
    assert_eq!(again.applied, 4);
    let mut other = b.clone();
    other.digest = "different".into();
    assert!(matches!(
        s.apply_registry(&other),
        Err(StoreError::Conflict(_))
    ));
    // Birth: a person and a record in the new commune; death: closed, not alive; move:
    // handed to the new commune with its history; ID change: found by both IDs.
    let baby = person("001226000001");
    let rec = |p: i64| {
        let mut out = None;
        s.transaction(false, &mut |tx| {
            out = Some((tx.health_record(p)?.unwrap(), tx.record_versions(p)?));
            Ok(())
        })
        .unwrap();
        out.unwrap()
    };
    assert_eq!(rec(baby).0.commune.as_deref(), Some("00008"));
    let (dead, _) = rec(person(&pid(1)));
    assert!(dead.is_closed());
    let (moved, versions) = rec(person(&pid(2)));
    assert_eq!(moved.commune.as_deref(), Some("00008"));
    assert_eq!(moved.record.get("a.current_address"), Some("Số 5, tổ 3"));
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].source, "registry");
    assert!(
        versions[0]
            .changes
            .iter()
            .any(|c| c.key == "commune" && c.before == "00004")
    );
    assert_eq!(person(&pid(3)), person("001195999999"));
    assert_eq!(
        rec(person(&pid(3))).0.record.get("a.id_number"),
        Some("001195999999")
    );
    assert_eq!(s.residents("00004").unwrap().len(), 4); // 0, 1 (closed), 3, 4
    assert_eq!(s.residents("00008").unwrap().len(), 2);
    // 5 + birth − death = 5 alive; the move kept the count.
    assert_eq!(alive(&s), 5);
    // BHYT: a card and a changed card; the previous one is kept.
    let card = |number: &str, to: &str| RegistryChange::Card {
        personal_id: pid(0),
        card: store::InsuranceCard {
            card: number.into(),
            bhxh_number: Some("0112345678".into()),
            valid_from: "2026-01-01".into(),
            valid_to: to.into(),
            first_contact: Some("01001".into()),
            ..Default::default()
        },
    };
    s.apply_registry(&batch(
        "bhyt-1",
        "insurance",
        vec![card("GD4010112345678", "2026-12-31")],
    ))
    .unwrap();
    let out = s
        .apply_registry(&batch(
            "bhyt-2",
            "insurance",
            vec![
                card("GD4010112345678", "2026-12-31"),
                card("GD4010199999999", "2027-12-31"),
            ],
        ))
        .unwrap();
    assert_eq!((out.applied, out.unchanged), (1, 1));
    let p0 = person(&pid(0));
    assert_eq!(
        s.person_by_identifier(IdKind::BhytCard, "GD4010199999999")
            .unwrap()
            .unwrap()
            .id,
        p0
    );
    let mut card_now = None;
    s.transaction(false, &mut |tx| {
        card_now = tx.insurance_card(p0)?;
        Ok(())
    })
    .unwrap();
    let card_now = card_now.unwrap();
    assert_eq!(card_now.previous.as_deref(), Some("GD4010112345678"));
    assert_eq!(rec(p0).0.record.get("a.bhyt_card"), Some("GD4010199999999"));
    // All or nothing: a bad line (an unknown person) refuses the whole batch.
    let bad = batch(
        "dc-bad",
        "population",
        vec![
            RegistryChange::Move {
                personal_id: pid(4),
                commune: "00008".into(),
                address: None,
            },
            RegistryChange::Death {
                personal_id: "001299888777".into(),
                date: "2026-11-01".into(),
            },
        ],
    );
    let err = s.apply_registry(&bad).unwrap_err().to_string();
    assert!(err.contains("dòng 2"), "{err}");
    assert_eq!(rec(person(&pid(4))).0.commune.as_deref(), Some("00004"));
    // A sender scoped to another commune: the person "is not in the registry".
    let mut scoped = batch(
        "dc-scoped",
        "population",
        vec![RegistryChange::Death {
            personal_id: pid(4),
            date: "2026-11-01".into(),
        }],
    );
    scoped.scope = Some(["00008".to_string()].into_iter().collect());
    let err = s.apply_registry(&scoped).unwrap_err().to_string();
    assert!(err.contains("không có trong sổ dân cư"), "{err}");
    // A card in a population batch is refused before anything.
    assert!(
        s.apply_registry(&batch(
            "x",
            "population",
            vec![card("GD4010112345678", "2026-12-31")]
        ))
        .is_err()
    );
});

on_both!(registry_and_dossiers_disagreeing_is_a_station_record, |s| {
    units(&s);
    let r = resident(7, "00004");
    s.import_population(std::slice::from_ref(&r)).unwrap();
    let mut changed = r.clone();
    changed.name = Some("Nguyễn Văn Khác".into());
    changed.sex = Some("1".into());
    // A resident already known (the person exists) whose registry name differs.
    let p = s
        .person_by_identifier(IdKind::PersonalId, &r.personal_id)
        .unwrap()
        .unwrap();
    assert_eq!(p.name.as_deref(), r.name.as_deref());
    s.import_population(&[changed]).unwrap();
    let issues = s.station_issues("00004", true, 10).unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].kind, "registry_mismatch");
    let fields = issues[0].detail["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2);
    assert!(!s.resolve_issue("00008", issues[0].id, "tram", "x").unwrap());
    assert!(
        s.resolve_issue("00004", issues[0].id, "tram", "Đã đối chiếu CCCD")
            .unwrap()
    );
    assert!(s.station_issues("00004", true, 10).unwrap().is_empty());
    let all = s.station_issues("00004", false, 10).unwrap();
    assert_eq!(all[0].resolved_by.as_deref(), Some("tram"));
    assert_eq!(all[0].detail["resolution"], "Đã đối chiếu CCCD");
});

on_both!(
    a_dossier_disagreeing_with_the_registry_goes_to_the_station,
    |s| {
        use dossier::{Options, Spec};
        units(&s);
        let g = synth::Generator::new(synth::Config {
            persons: 20,
            episodes: 60,
            seed: 7,
            ..synth::Config::default()
        });
        let e = (0..60)
            .map(|i| g.episode(i))
            .find(|e| e.dossier.summary.as_ref().unwrap().so_cccd.is_some())
            .unwrap();
        let pid = e.dossier.summary.as_ref().unwrap().so_cccd.clone().unwrap();
        // The registry knows the resident under another name; then their dossier arrives.
        s.import_population(&[Resident {
            personal_id: pid.clone(),
            name: Some("Tên Trong Sổ Dân Cư".into()),
            birth: None,
            sex: None,
            unit: "00004".into(),
            status: "alive".into(),
        }])
        .unwrap();
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let meta = store::Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: store::Source::Import,
            spec: Spec::Qd3176,
            received_at: store::now_ms(),
        };
        let r = s
            .ingest(store::Prepared::envelope(meta, &raw, &parsed))
            .unwrap();
        assert!(r.accepted);
        let issues = s.station_issues("00004", true, 10).unwrap();
        let d = issues
            .iter()
            .find(|i| i.kind == "demographics")
            .expect("the station sees the dossier's disagreement");
        assert_eq!(d.detail["field"], "HO_TEN");
        assert_eq!(d.detail["stored"], "Tên Trong Sổ Dân Cư");
    }
);
