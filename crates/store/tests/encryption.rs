//! Encryption at rest: what reaches the disk, and the keys that open it.

use std::path::Path;

use dossier::{Options, Spec, parse_envelope};
use store::crypt::{LocalMasterKey, MasterKey};
use store::testing::TempPostgres;
use store::{
    Meta, PostgresStore, Prepared, Reports, Resident, Source, SqliteStore, Store, Unit, now_ms,
};
use synth::{Config, Generator};

/// A check-in (XML0) as the gateway prepares it.
fn prepared_checkin(bytes: &[u8]) -> Prepared {
    let dossier::Checked::CheckIn(p) = dossier::check(bytes, &Options::default()) else {
        panic!("not a check-in");
    };
    let facility = p.value.rows[0].ma_cskcb.clone().unwrap();
    Prepared::checkin(
        Meta {
            facility,
            account: "test".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        },
        bytes,
        &p,
    )
}

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

/// Ingest 40 synthetic dossiers and their check-ins, and the population registry of
/// their persons and of a few residents nobody has seen; the needles to search for (the
/// diagnosis texts, services and drugs, and the names, personal IDs and BHYT cards of
/// the persons and residents) and the facility codes (stored in clear, to show the
/// search works).
fn ingest<S: Store + Reports + store::Access>(s: &S) -> (Vec<String>, Vec<String>) {
    let g = Generator::new(Config {
        persons: 20,
        episodes: 40,
        seed: 5,
        ..Config::default()
    });
    let mut diagnoses = Vec::new();
    let mut facilities = Vec::new();
    for i in 0..40 {
        let e = g.episode(i);
        let r = s.ingest(prepared(&e.envelope_bytes(Spec::Qd3176))).unwrap();
        assert!(r.accepted);
        let sm = e.dossier.summary.as_ref().unwrap();
        diagnoses.extend(sm.chan_doan_rv.clone().filter(|d| d.len() >= 12));
        let c = s
            .ingest(prepared_checkin(&e.checkin_bytes(Spec::Qd3176)))
            .unwrap();
        assert!(c.accepted);
        let row = &e.checkin.rows[0];
        diagnoses.extend(
            [row.ten_dich_vu.clone(), row.ten_thuoc.clone()]
                .into_iter()
                .flatten()
                .filter(|d| d.len() >= 12),
        );
        facilities.push(e.facility.code.to_string());
        // Who the dossier is about.
        let who = g.person(e.person);
        diagnoses.push(who.name.clone());
        diagnoses.extend(who.personal_id.clone());
        diagnoses.extend(who.cards.iter().map(|c| c.number.clone()));
        // Readable through the store.
        let person = r.episodes[0].person_id;
        let eps = s.episodes_of(person).unwrap();
        assert!(
            eps.iter()
                .any(|x| x.view.discharge_diagnosis == sm.chan_doan_rv)
        );
    }
    // The population registry: these persons, and residents without a book.
    for (code, name, level, parent) in [
        ("01", "Hà Nội", "province", None),
        ("00001", "Phường Ba Đình", "commune", Some("01")),
    ] {
        s.upsert_unit(&Unit {
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent: parent.map(Into::into),
            scheme: "2025".into(),
        })
        .unwrap();
    }
    let mut residents: Vec<Resident> = (0..20)
        .filter_map(|j| {
            let p = g.person(j);
            Some(Resident {
                personal_id: p.personal_id?,
                name: Some(p.name),
                birth: Some("19800101".into()),
                unit: "00001".into(),
                status: "alive".into(),
                ..Resident::default()
            })
        })
        .collect();
    for k in 0..5 {
        let name = format!("Cư Dân Chưa Khám Số {k}");
        diagnoses.push(name.clone());
        diagnoses.push(format!("0012990{k:05}"));
        residents.push(Resident {
            personal_id: format!("0012990{k:05}"),
            name: Some(name),
            unit: "00001".into(),
            status: "alive".into(),
            ..Resident::default()
        });
    }
    assert_eq!(s.import_population(&residents).unwrap(), residents.len());
    // Still found by personal ID and card, and read back in clear.
    let who = (0..40)
        .map(|i| g.person(g.episode(i).person))
        .find(|p| p.personal_id.is_some() && !p.cards.is_empty())
        .unwrap();
    let pid = who.personal_id.clone().unwrap();
    let p = s
        .person_by_identifier(book::IdKind::PersonalId, &pid)
        .unwrap()
        .expect("found by personal ID");
    assert_eq!(p.name.as_deref(), Some(who.name.as_str()));
    assert_eq!(p.personal_id.as_deref(), Some(pid.as_str()));
    let card = &who.cards.last().unwrap().number;
    assert!(p.identifiers.iter().any(|i| &i.value == card), "{p:?}");
    let by_card = s
        .person_by_identifier(book::IdKind::BhytCard, card)
        .unwrap()
        .unwrap();
    assert_eq!(by_card.id, p.id);
    assert_eq!(s.residence_of(&pid).unwrap().as_deref(), Some("00001"));
    // A break-glass reason and the audit record of the read: both describe the patient.
    let staff = store::StaffAccount {
        username: "bs-cap-cuu".into(),
        full_name: "Bác sĩ Cấp Cứu".into(),
        role: book::access::Role::Clinician,
        unit: None,
        facility: Some(facilities[0].clone()),
        practising_cert: Some("000777/CCHN".into()),
        active: true,
    };
    let reason = "Hôn mê sau tai nạn giao thông, không người nhà";
    let g = s
        .create_grant(
            p.id,
            &staff,
            book::access::Basis::BreakGlass,
            book::access::Scope::Full,
            reason,
            now_ms() + 3_600_000,
        )
        .unwrap();
    let target = "giấy chuyển tuyến CT-BI-MAT-4242";
    s.append_audit(&store::AuditEntry {
        person_id: p.id,
        actor: staff.username.clone(),
        role: staff.role,
        facility: staff.facility.clone(),
        action: "open".into(),
        target: Some(target.into()),
        basis: book::access::Basis::BreakGlass,
        grant_id: Some(g.id),
        actor_name: Some(staff.full_name.clone()),
        actor_cert: staff.practising_cert.clone(),
    })
    .unwrap();
    assert_eq!(
        s.grants_on(p.id).unwrap()[0].reason.as_deref(),
        Some(reason)
    );
    assert_eq!(s.audit_of(p.id).unwrap()[0].target.as_deref(), Some(target));
    let note = "Đã xác minh: bệnh nhân nhập viện cấp cứu lúc 2 giờ sáng";
    assert!(
        s.review_break_glass(p.id, g.id, "truong-khoa", note)
            .unwrap()
    );
    assert_eq!(
        s.grants_on(p.id).unwrap()[0].review_note.as_deref(),
        Some(note)
    );
    diagnoses.push(note.into());
    assert!(s.verify_audit().unwrap().ok());
    diagnoses.push(reason.into());
    diagnoses.push(target.into());
    diagnoses.sort();
    diagnoses.dedup();
    assert!(diagnoses.len() >= 5, "{diagnoses:?}");
    (diagnoses, facilities)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file under `dir` (or `dir` itself), read whole.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    if dir.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            files(&e.unwrap().path(), out);
        }
    } else if let Ok(b) = std::fs::read(dir) {
        out.push((dir.display().to_string(), b));
    }
}

/// What every zstd frame in `bytes` decompresses to, as far as it goes (a value that
/// spans pages decodes up to the first page break): compressed is not hidden.
fn decoded_frames(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let magic = [0x28, 0xB5, 0x2F, 0xFD];
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = bytes[i..].windows(4).position(|w| w == magic) {
        let at = i + p;
        if let Ok(d) = zstd::stream::read::Decoder::with_buffer(&bytes[at..]) {
            let mut buf = Vec::new();
            // Partial output stays in `buf` when the frame breaks off.
            let _ = d.single_frame().take(1 << 20).read_to_end(&mut buf);
            out.extend(buf);
        }
        i = at + 4;
    }
    out
}

fn assert_none_in(files: &[(String, Vec<u8>)], diagnoses: &[String], facilities: &[String]) {
    for (name, bytes) in files {
        let decoded = decoded_frames(bytes);
        for d in diagnoses {
            assert!(!contains(bytes, d), "{d:?} in clear in {name}");
            assert!(!contains(&decoded, d), "{d:?} compressed in {name}");
        }
    }
    // The search itself works: codes stored in clear are found.
    assert!(
        facilities
            .iter()
            .all(|f| files.iter().any(|(_, b)| contains(b, f)))
    );
}

#[test]
fn a_sqlite_store_writes_no_diagnosis_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let s = SqliteStore::open(&db).unwrap();
    let (diagnoses, facilities) = ingest(&s);
    // The database and its WAL as they are while the server runs.
    let mut found = Vec::new();
    for suffix in ["", "-wal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        files(Path::new(&name), &mut found);
    }
    assert_none_in(&found, &diagnoses, &facilities);
    // The main ICD-10 code of each visit is sealed too (too short to search the bytes for).
    let c = rusqlite::Connection::open(&db).unwrap();
    let (all, sealed): (i64, i64) = c
        .query_row(
            "SELECT COUNT(main_icd10), COUNT(CASE WHEN main_icd10 LIKE '!%' THEN 1 END) FROM episodes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(all > 0);
    assert_eq!(all, sealed);
    s.close();
}

#[test]
fn a_postgres_store_writes_no_diagnosis_in_clear() {
    let pg = TempPostgres::new().unwrap();
    let Some(data) = pg.data_dir().map(Path::to_path_buf) else {
        // An outside server's files are not ours to read.
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = PostgresStore::connect(pg.url(), &dir.path().join("secret")).unwrap();
    let (diagnoses, facilities) = ingest(&s);
    // Tables and WAL on disk.
    pg.sql("CHECKPOINT").unwrap();
    let mut found = Vec::new();
    files(&data, &mut found);
    assert_none_in(&found, &diagnoses, &facilities);
    s.close();
}

#[test]
fn a_store_opens_only_with_its_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let key = dir.path().join("book.db.key");
    let (diagnoses, _) = {
        let s = SqliteStore::open(&db).unwrap();
        let out = ingest(&s);
        s.close();
        out
    };
    assert!(key.exists(), "made with the store");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Without its key file the store does not open (and no new key is made for it).
    let kept = dir.path().join("kept.key");
    std::fs::rename(&key, &kept).unwrap();
    let e = SqliteStore::open(&db)
        .err()
        .expect("opened without its key");
    assert!(e.to_string().contains("master key"), "{e}");
    assert!(!key.exists());
    // Another key does not open its data keys.
    LocalMasterKey::generate().unwrap().write_new(&key).unwrap();
    let e = SqliteStore::open(&db)
        .err()
        .expect("opened with another key");
    assert!(e.to_string().contains("does not open"), "{e}");
    // Its own key does.
    std::fs::remove_file(&key).unwrap();
    std::fs::rename(&kept, &key).unwrap();
    let s = SqliteStore::open(&db).unwrap();
    let status = s.key_status().unwrap();
    let bodies = status
        .columns
        .iter()
        .find(|c| c.column == "episodes.body")
        .unwrap();
    assert_eq!(bodies.sealed, vec![(1, 40)]);
    assert_eq!(bodies.plain, 0);
    assert!(!diagnoses.is_empty());
    s.close();
}

#[test]
fn rotation_rewraps_the_data_keys_and_a_new_data_key_seals_new_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let key = dir.path().join("book.db.key");
    let s = SqliteStore::open(&db).unwrap();
    ingest(&s);
    let old = LocalMasterKey::read(&key).unwrap();
    // A new data key first (wrapped by the master key this server holds), then every
    // data key re-wrapped by a new master key.
    let id = s.add_data_key().unwrap();
    assert_eq!(id, 2);
    let new = LocalMasterKey::generate().unwrap();
    assert_eq!(s.rewrap_data_keys(&new).unwrap(), 2);
    // The old master key wraps nothing any more, here either.
    assert!(s.add_data_key().is_err());
    // This server goes on reading and writing with the keys it holds open.
    let g = Generator::new(Config {
        persons: 5,
        episodes: 5,
        seed: 99,
        ..Config::default()
    });
    let r = s
        .ingest(prepared(&g.episode(0).envelope_bytes(Spec::Qd3176)))
        .unwrap();
    assert!(r.accepted);
    s.close();
    drop(s);
    // The old key no longer opens the store; the new one does, and reads both keys' values.
    let e = SqliteStore::open(&db)
        .err()
        .expect("the old key still opens");
    assert!(e.to_string().contains("does not open"), "{e}");
    std::fs::remove_file(&key).unwrap();
    new.write_new(&key).unwrap();
    let s = SqliteStore::open(&db).unwrap();
    let status = s.key_status().unwrap();
    assert_eq!(status.master, new.id());
    assert_ne!(status.master, old.id());
    assert!(status.data_keys.iter().all(|k| k.master == new.id()));
    let bodies = status
        .columns
        .iter()
        .find(|c| c.column == "episodes.body")
        .unwrap();
    assert_eq!(bodies.sealed, vec![(1, 40), (2, 1)]);
    let person = r.episodes[0].person_id;
    assert!(!s.episodes_of(person).unwrap().is_empty());
    s.close();
}

#[test]
fn a_sealed_value_moved_to_another_row_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let s = SqliteStore::open(&db).unwrap();
    ingest(&s);
    let persons: Vec<i64> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT person_id FROM episodes ORDER BY id LIMIT 2")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = s.episodes_of(persons[1]).unwrap();
    assert!(before.iter().all(|e| e.view.discharge_diagnosis.is_some()));
    // Someone with the database file puts the first episode's body in the second's row.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE episodes SET body = (SELECT body FROM episodes ORDER BY id LIMIT 1)
         WHERE id = (SELECT id FROM episodes ORDER BY id LIMIT 1 OFFSET 1)",
        [],
    )
    .unwrap();
    let after = s.episodes_of(persons[1]).unwrap();
    let moved = after
        .iter()
        .find(|e| before.iter().any(|b| b.id == e.id && b.view != e.view))
        .expect("the moved row reads differently");
    assert_eq!(
        moved.view.discharge_diagnosis, None,
        "nothing of the first episode shows"
    );
    s.close();
}

#[test]
fn a_copy_hands_over_the_data_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = SqliteStore::open(dir.path().join("a.db")).unwrap();
    ingest(&a);
    let b = SqliteStore::open(dir.path().join("b.db")).unwrap();
    b.copy_from(&a, &mut |_, _| {}).unwrap();
    // Different master keys; the same data keys; every episode reads the same.
    let (ka, kb) = (a.key_status().unwrap(), b.key_status().unwrap());
    assert_ne!(ka.master, kb.master);
    assert_eq!(
        ka.data_keys.iter().map(|k| k.id).collect::<Vec<_>>(),
        kb.data_keys.iter().map(|k| k.id).collect::<Vec<_>>()
    );
    let c = rusqlite::Connection::open(dir.path().join("a.db")).unwrap();
    let mut st = c
        .prepare("SELECT DISTINCT person_id FROM episodes")
        .unwrap();
    let ids: Vec<i64> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!ids.is_empty());
    for p in ids {
        let (x, y) = (a.episodes_of(p).unwrap(), b.episodes_of(p).unwrap());
        assert_eq!(x.len(), y.len());
        for (x, y) in x.iter().zip(&y) {
            assert_eq!(x.view, y.view);
            assert!(y.view.discharge_diagnosis.is_some());
        }
    }
    a.close();
    b.close();
}

/// A store written before encryption (here: values put back in clear the way older
/// versions stored them) is sealed in place, and reads the same after.
#[test]
fn values_stored_in_clear_are_sealed_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let s = SqliteStore::open(&db).unwrap();
    ingest(&s);
    let g = Generator::new(Config {
        persons: 3,
        episodes: 3,
        seed: 77,
        ..Config::default()
    });
    let e = g.episode(0);
    let bytes = e.envelope_bytes(Spec::Qd3176);
    let r = s.ingest(prepared(&bytes)).unwrap();
    let (person, episode) = (r.episodes[0].person_id, r.episodes[0].episode_id);
    let view = s.episodes_of(person).unwrap()[0].view.clone();
    // As an older version stored them: the body as JSON text, the envelope zstd only.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE episodes SET body = ?1 WHERE id = ?2",
        rusqlite::params![serde_json::to_string(&view).unwrap(), episode],
    )
    .unwrap();
    c.execute(
        "UPDATE episodes SET main_icd10 = 'J18.9' WHERE id = ?1",
        rusqlite::params![episode],
    )
    .unwrap();
    c.execute(
        "UPDATE submissions SET raw_zstd = ?1 WHERE id = ?2",
        rusqlite::params![
            zstd::encode_all(bytes.as_slice(), 1).unwrap(),
            r.submission_id
        ],
    )
    .unwrap();
    let plain = |s: &SqliteStore| -> Vec<(String, u64)> {
        s.key_status()
            .unwrap()
            .columns
            .into_iter()
            .map(|c| (c.column, c.plain))
            .collect()
    };
    assert_eq!(
        plain(&s),
        vec![
            ("episodes.body".to_string(), 1),
            ("submissions.raw_zstd".to_string(), 1),
            ("submissions.findings".to_string(), 0),
            ("checkins.body".to_string(), 0),
            ("persons.name".to_string(), 0),
            ("persons.birth".to_string(), 0),
            ("persons.personal_id".to_string(), 0),
            ("identifiers.value".to_string(), 0),
            ("population.name".to_string(), 0),
            ("dq_issues.detail".to_string(), 0),
            ("grants.reason".to_string(), 0),
            ("audit_log.target".to_string(), 0),
            ("episodes.main_icd10".to_string(), 1),
            ("health_records.body".to_string(), 0),
            ("health_record_versions.changes".to_string(), 0),
            ("insurance_cards.body".to_string(), 0),
            ("immunizations.body".to_string(), 0),
            ("ncd_enrolments.body".to_string(), 0),
            ("ncd_followups.body".to_string(), 0),
            ("growth_measurements.body".to_string(), 0),
            ("ncd_enrolments.disease".to_string(), 0),
            ("ncd_followups.disease".to_string(), 0),
            ("notifications.body".to_string(), 0),
            ("notify_prefs.address".to_string(), 0),
        ]
    );
    // Both still read.
    assert_eq!(s.episodes_of(person).unwrap()[0].view, view);
    let mut heard = 0;
    assert_eq!(s.seal_existing(&mut |n| heard = n).unwrap(), 3);
    assert_eq!(heard, 3);
    assert!(plain(&s).iter().all(|(_, n)| *n == 0));
    assert_eq!(s.episodes_of(person).unwrap()[0].view, view);
    let stored = s.submission(&r.transaction_code).unwrap().unwrap();
    assert_eq!(stored.raw, bytes);
    // Again: nothing left to seal.
    assert_eq!(s.seal_existing(&mut |_| {}).unwrap(), 0);
    let before = s.person(person).unwrap().unwrap();
    s.close();

    // Identities as a version before blind indexes stored them: in clear, and marked
    // for conversion by the migration. The next start converts them.
    let pid = g.person(e.person).personal_id.clone();
    let card = g.person(e.person).cards.last().map(|c| c.number.clone());
    let name = before.name.clone().unwrap();
    c.execute(
        "UPDATE persons SET name = ?2, birth = ?3, personal_id = ?4 WHERE id = ?1",
        rusqlite::params![person, name, before.birth, before.personal_id],
    )
    .unwrap();
    // Put the identifiers of the person (those alone of their kind, whose stored row is
    // then known), their keys and card periods back in clear.
    let mut blind_to_plain: Vec<(String, String, String)> = Vec::new();
    for i in &before.identifiers {
        if before
            .identifiers
            .iter()
            .filter(|j| j.kind == i.kind)
            .count()
            != 1
        {
            continue;
        }
        let b: String = c
            .query_row(
                "SELECT value FROM identifiers WHERE person_id = ?1 AND kind = ?2",
                rusqlite::params![person, i.kind.code()],
                |r| r.get(0),
            )
            .unwrap();
        assert!(b.starts_with('~') && !b.contains(&i.value), "{b}");
        blind_to_plain.push((i.kind.code().to_string(), b, i.value.clone()));
    }
    assert!(!blind_to_plain.is_empty());
    for (kind, b, v) in &blind_to_plain {
        c.execute(
            "UPDATE identifiers SET value = ?3, sealed_value = NULL WHERE person_id = ?1 AND kind = ?2 AND value = ?4",
            rusqlite::params![person, kind, v, b],
        )
        .unwrap();
        c.execute(
            "UPDATE identifier_keys SET value = ?2 WHERE kind = ?1 AND value = ?3",
            rusqlite::params![kind, v, b],
        )
        .unwrap();
        c.execute(
            "UPDATE card_periods SET card = ?2 WHERE card = ?1",
            rusqlite::params![b, v],
        )
        .unwrap();
    }
    c.execute("INSERT INTO crypt_pending (item) VALUES ('identities')", [])
        .unwrap();
    let in_clear: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM identifiers WHERE sealed_value IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(in_clear > 0);
    let s = SqliteStore::open(&db).unwrap();
    let after = s.person(person).unwrap().unwrap();
    assert_eq!(after.name, before.name);
    assert_eq!(after.personal_id, before.personal_id);
    assert_eq!(
        format!("{:?}", after.identifiers),
        format!("{:?}", before.identifiers)
    );
    if let Some(pid) = &pid {
        let p = s
            .person_by_identifier(book::IdKind::PersonalId, pid)
            .unwrap()
            .unwrap();
        assert_eq!(p.id, person);
    }
    if let Some(card) = &card {
        let p = s
            .person_by_identifier(book::IdKind::BhytCard, card)
            .unwrap()
            .unwrap();
        assert_eq!(p.id, person);
    }
    assert!(plain(&s).iter().all(|(_, n)| *n == 0), "{:?}", plain(&s));
    for (sql, what) in [
        (
            "SELECT COUNT(*) FROM identifiers WHERE value NOT LIKE '~%' OR sealed_value IS NULL",
            "identifiers",
        ),
        (
            "SELECT COUNT(*) FROM identifier_keys WHERE value NOT LIKE '~%'",
            "identifier keys",
        ),
        (
            "SELECT COUNT(*) FROM card_periods WHERE card NOT LIKE '~%'",
            "card periods",
        ),
        ("SELECT COUNT(*) FROM crypt_pending", "pending"),
    ] {
        let n: i64 = c.query_row(sql, [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{what} left in clear");
    }
    // The book reads the same: the same episodes, found by the same identifiers.
    assert_eq!(s.episodes_of(person).unwrap()[0].view, view);
    s.close();
}
