//! Vaccinations on SQLite and PostgreSQL (plain and partitioned): doses written in a
//! transaction read back whole (details sealed at rest), a source key is not added
//! twice, a voided dose is kept but not counted, and the station's lists read a
//! commune's residents with their doses.

use book::IdKind;
use book::immunization::{CovidCertificate, DoseDetails, DoseStatus, NationalIds};
use chrono::NaiveDate;
use store::{Immunizations, NewDose, Resident, Store, StoreError, Unit};

#[macro_use]
mod backends;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn setup(s: &dyn Store) -> Vec<i64> {
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
    let people = [
        ("001224000001", "20240110", "2", "00004"),
        ("001225000002", "20250601", "1", "00004"),
        ("001190000003", "19900101", "1", "00004"),
        ("001224000004", "20240301", "2", "00008"),
    ];
    let residents: Vec<Resident> = people
        .iter()
        .enumerate()
        .map(|(k, (id, birth, sex, unit))| Resident {
            personal_id: (*id).into(),
            name: Some(format!("Lê Văn Thử {k}")),
            birth: Some((*birth).into()),
            sex: Some((*sex).into()),
            unit: (*unit).into(),
            status: "alive".into(),
        })
        .collect();
    s.import_population(&residents).unwrap();
    people
        .iter()
        .map(|(id, ..)| {
            s.person_by_identifier(IdKind::PersonalId, id)
                .unwrap()
                .unwrap()
                .id
        })
        .collect()
}

fn dose(vaccine: &str, day: &str, key: Option<&str>) -> NewDose {
    NewDose {
        vaccine: vaccine.into(),
        date: d(day),
        status: DoseStatus::Given,
        dose_number: Some(1),
        source: "import".into(),
        source_key: key.map(str::to_string),
        facility: Some("01001".into()),
        unit: Some("00004".into()),
        details: DoseDetails {
            lot: Some("LOT-7".into()),
            route: Some("IM".into()),
            national: Some(NationalIds {
                lich_su_tiem_id: key.map(str::to_string),
                ..NationalIds::default()
            }),
            ..DoseDetails::default()
        },
    }
}

on_both!(doses_round_trip_and_lists, |s| {
    let p = setup(&s);
    let mut covid = dose("covid_pfizer", "2025-01-05", None);
    covid.details.covid = Some(CovidCertificate {
        certificate_id: Some("VN-0001".into()),
        doses_total: Some(2),
        ..CovidCertificate::default()
    });
    let mut ids = Vec::new();
    s.transaction(true, &mut |tx| {
        let t = tx.immunizations();
        ids.push(
            t.add_dose(p[0], &dose("bcg", "2024-01-11", Some("nip:1")), "tram")?
                .id,
        );
        ids.push(
            t.add_dose(p[0], &dose("dtp_hepb_hib", "2024-03-10", None), "tram")?
                .id,
        );
        ids.push(t.add_dose(p[2], &covid, "tram")?.id);
        let more = t.add_doses(
            &[
                (p[1], dose("bcg", "2025-06-02", Some("nip:2"))),
                (p[3], dose("bcg", "2024-03-02", Some("nip:3"))),
            ],
            "import",
        )?;
        assert_eq!(more.len(), 2);
        Ok(())
    })
    .unwrap();
    // The same source key again is a conflict, and writes nothing.
    let again = s.transaction(true, &mut |tx| {
        tx.immunizations()
            .add_dose(p[0], &dose("bcg", "2024-01-11", Some("nip:1")), "tram")
            .map(|_| ())
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let mut read = Vec::new();
    s.transaction(false, &mut |tx| {
        read = tx.immunizations().doses_of(p[0])?;
        Ok(())
    })
    .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].vaccine, "bcg");
    assert_eq!(read[0].date, d("2024-01-11"));
    assert_eq!(read[0].details.lot.as_deref(), Some("LOT-7"));
    assert_eq!(read[0].source_key.as_deref(), Some("nip:1"));
    assert_eq!(read[1].vaccine, "dtp_hepb_hib");
    s.transaction(false, &mut |tx| {
        let c = tx.immunizations().doses_of(p[2])?;
        assert_eq!(
            c[0].details
                .covid
                .as_ref()
                .unwrap()
                .certificate_id
                .as_deref(),
            Some("VN-0001")
        );
        Ok(())
    })
    .unwrap();
    // Void the DTP dose: kept, marked, not counted.
    s.transaction(true, &mut |tx| {
        assert!(tx.immunizations().void_dose(p[0], ids[1], "tram")?);
        assert!(!tx.immunizations().void_dose(p[0], ids[1], "tram")?);
        Ok(())
    })
    .unwrap();
    s.transaction(false, &mut |tx| {
        let all = tx.immunizations().doses_of(p[0])?;
        assert!(all[1].voided_at.is_some());
        assert_eq!(store::counted_doses(&all).len(), 1);
        let held = tx.immunizations().doses_of_persons(&[p[0], p[1]])?;
        assert_eq!(held[&p[0]].len(), 1);
        assert_eq!(held[&p[1]][0].1.as_deref(), Some("nip:2"));
        Ok(())
    })
    .unwrap();
    // The commune's residents born from 2000: the two children of 00004.
    let subjects = s.commune_subjects("00004", d("2000-01-01")).unwrap();
    let mut got: Vec<(i64, Option<NaiveDate>, usize)> = subjects
        .iter()
        .map(|x| (x.person_id, x.birth, x.doses.len()))
        .collect();
    got.sort();
    let mut want = vec![
        (p[0], Some(d("2024-01-10")), 1),
        (p[1], Some(d("2025-06-01")), 1),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(subjects.iter().any(|x| x.female() && x.name.is_some()));
    // Import subjects by personal ID, with their commune and birth.
    let found = s
        .import_subjects(&["001224000004".into(), "001299999999".into()])
        .unwrap();
    assert_eq!(found.len(), 1);
    let x = &found["001224000004"];
    assert_eq!(
        (x.person_id, x.birth, x.commune.as_deref()),
        (p[3], Some(d("2024-03-01")), Some("00008"))
    );
    // Sealed at rest: no body in clear.
    let status = s.key_status().unwrap();
    let col = status
        .columns
        .iter()
        .find(|c| c.column == "immunizations.body")
        .unwrap();
    assert_eq!(col.plain, 0);
    assert_eq!(col.sealed.iter().map(|(_, n)| n).sum::<u64>(), 5);
});
