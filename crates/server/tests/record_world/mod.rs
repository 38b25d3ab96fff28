//! What the QĐ 831 profile tests (`profile.rs` over HTTP, `profile_browser.rs` in
//! Chromium) build their worlds from: Hà Nội's units, hospital dossiers with a person
//! whose dossiers name a chronic condition, the station's nurse, and record edits at
//! the record's current version.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use book::IdKind;
use book::access::Role;
use service::{Actor, RecordEdit, Service};
use store::{StaffAccount, Store, Unit};
use synth::{Config, Generator};

/// The commune whose station keeps the records (Phường Ba Đình).
pub const STATION: &str = "00004";

/// Thành phố Hà Nội and the given `(code, name)` communes in it (2025 units).
pub fn units(s: &dyn Store, communes: &[(&str, &str)]) {
    let province = ("01", "Thành phố Hà Nội", "province", None);
    let communes = communes
        .iter()
        .map(|(code, name)| (*code, *name, "commune", Some("01")));
    for (code, name, level, parent) in std::iter::once(province).chain(communes) {
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

/// Record items (or an examination's) from `(key, value)` pairs.
pub fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The hospital dossiers of 30 generated persons (seed 41), ingested; and a person
/// among them whose dossiers name a chronic condition: the generator, that person's
/// personal ID, their id, and the chronic ICD-10 code.
pub fn dossiers_with_a_chronic_patient(store: &Arc<dyn Store>) -> (Generator, String, i64, String) {
    let g = Generator::new(Config {
        persons: 30,
        episodes: 300,
        seed: 41,
        ..Config::default()
    });
    crate::common::ingest_all(store, &g);
    let (personal_id, person, chronic) = (0..30)
        .filter_map(|j| g.person(j).personal_id)
        .find_map(|pid| {
            let p = store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()?;
            let code = store.episodes_of(p.id).unwrap().iter().find_map(|e| {
                e.view
                    .main_diagnosis
                    .iter()
                    .chain(&e.view.secondary_diagnoses)
                    .map(|d| d.icd10.trim().to_ascii_uppercase())
                    .find(|c| book::terms::chronic_group(c).is_some())
            })?;
            Some((pid, p.id, code))
        })
        .expect("a person with a chronic condition in their dossiers");
    (g, personal_id, person, chronic)
}

/// The station's nurse (commune staff of [`STATION`], `tram00004` / `tram-y-te-2026`),
/// stored, as the actor its pages act as.
pub fn station_nurse(store: &Arc<dyn Store>) -> Actor {
    let nurse = StaffAccount {
        username: "tram00004".into(),
        full_name: "Y sĩ Phạm Thị Lan".into(),
        role: Role::CommuneStaff,
        unit: Some(STATION.into()),
        facility: None,
        practising_cert: None,
        active: true,
    };
    store.upsert_staff(&nurse, Some("tram-y-te-2026")).unwrap();
    Actor::Staff {
        scope: store.place_of_unit(STATION).unwrap(),
        account: nurse,
    }
}

/// `edit` of `person`'s record by `who`, at the record's current version; the new
/// version.
pub fn edit(svc: &Service, who: &Actor, person: i64, edit: RecordEdit<'_>) -> i64 {
    let mut version = 0;
    svc.store()
        .transaction(false, &mut |tx| {
            version = tx.health_record(person)?.unwrap().version;
            Ok(())
        })
        .unwrap();
    svc.edit_record(who, person, version, edit).unwrap()
}
