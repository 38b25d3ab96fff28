//! Chronic-care registers, follow-ups and growth measurements on SQLite and PostgreSQL
//! (plain and partitioned): what is written reads back, sealed at rest; the station
//! lists and the per-commune figures count them.

use book::IdKind;
use book::growth::Measurement;
use book::ncd::{Detected, Disease, Enrolment, FollowUp, Status};
use store::{Chronic, Records, Resident, Store, StoredEnrolment, Unit};

#[macro_use]
mod backends;

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
    // Three adults in 00004, one in 00008; two children (2024, 2019) in 00004.
    let people = [
        ("001195000001", "19500315", "00004"),
        ("001195000002", "19550601", "00004"),
        ("001195000003", "19601010", "00004"),
        ("001195000004", "19620101", "00008"),
        ("001224000005", "20240110", "00004"),
        ("001219000006", "20190505", "00004"),
    ];
    let residents: Vec<Resident> = people
        .iter()
        .enumerate()
        .map(|(k, (id, birth, unit))| Resident {
            personal_id: (*id).into(),
            name: Some(format!("Trần Thị Thử {k}")),
            birth: Some((*birth).into()),
            sex: Some(if k % 2 == 0 { "1" } else { "2" }.into()),
            unit: (*unit).into(),
            status: "alive".into(),
        })
        .collect();
    s.import_population(&residents).unwrap();
    people
        .iter()
        .map(|(id, _, _)| {
            s.person_by_identifier(IdKind::PersonalId, id)
                .unwrap()
                .unwrap()
                .id
        })
        .collect()
}

fn entry(person: i64, disease: Disease, commune: &str, next: &str) -> StoredEnrolment {
    StoredEnrolment {
        id: 0,
        person_id: person,
        disease,
        commune: commune.into(),
        status: Status::Managed,
        status_on: "2026-01-05".into(),
        enrolled_on: "2026-01-05".into(),
        last_visit: None,
        next_due: Some(next.into()),
        controlled: None,
        enrolment: Enrolment {
            disease,
            icd10: disease.icd10()[0].into(),
            detected_on: "2025-12-20".into(),
            detected: Detected::Hospital,
            confirmed_by: Some("01001".into()),
            note: None,
        },
        by_user: "tram.badinh".into(),
        created_at: 0,
        updated_at: 0,
    }
}

on_both!(registers_followups_and_figures, |s| {
    let p = setup(&s);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    s.transaction(true, &mut |tx| {
        let c = tx.chronic();
        c.enrol(&entry(p[0], Disease::Hypertension, "00004", "2026-03-20"))?;
        c.enrol(&entry(p[0], Disease::Diabetes, "00004", "2026-02-01"))?;
        c.enrol(&entry(p[1], Disease::Hypertension, "00004", "2026-02-25"))?;
        let mut gone = entry(p[2], Disease::Copd, "00004", "2026-01-01");
        gone.status = Status::Moved;
        c.enrol(&gone)?;
        c.enrol(&entry(p[3], Disease::Asthma, "00008", "2026-04-01"))?;
        let f = FollowUp {
            date: "2026-02-20".into(),
            bp_sys: Some(130),
            bp_dia: Some(80),
            next_date: Some("2026-03-20".into()),
            ..FollowUp::default()
        };
        c.add_followup(
            p[0],
            Disease::Hypertension,
            None,
            Some(true),
            &f,
            "tram.badinh",
        )?;
        let mut e = c.enrolment(p[0], Disease::Hypertension)?.unwrap();
        e.last_visit = Some(f.date.clone());
        e.next_due = f.next_date.clone();
        e.controlled = Some(true);
        c.update_enrolment(&e)?;
        let mut g = FollowUp {
            date: "2026-01-10".into(),
            source: "dossier".into(),
            hba1c: Some(8.1),
            ..FollowUp::default()
        };
        g.facility = Some("01001".into());
        c.add_followup(
            p[0],
            Disease::Diabetes,
            Some(77),
            Some(false),
            &g,
            "tram.badinh",
        )?;
        Ok(())
    })
    .unwrap();
    // Enrolled twice, or the same episode taken twice: refused, nothing written.
    let twice = s.transaction(true, &mut |tx| {
        tx.chronic()
            .enrol(&entry(p[0], Disease::Hypertension, "00004", "2026-03-20"))
            .map(|_| ())
    });
    assert!(
        matches!(twice, Err(store::StoreError::Conflict(_))),
        "{twice:?}"
    );
    let again = s.transaction(true, &mut |tx| {
        let g = FollowUp {
            date: "2026-01-10".into(),
            source: "dossier".into(),
            ..FollowUp::default()
        };
        tx.chronic()
            .add_followup(p[0], Disease::Diabetes, Some(77), None, &g, "x")
            .map(|_| ())
    });
    assert!(again.is_err());
    let mut entries = Vec::new();
    let mut visits = Vec::new();
    s.transaction(false, &mut |tx| {
        entries = tx.chronic().enrolments(p[0])?;
        visits = tx.chronic().followups(p[0])?;
        Ok(())
    })
    .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].disease, Disease::Hypertension); // in the order enrolled
    assert_eq!(entries[1].disease, Disease::Diabetes);
    assert_eq!(entries[1].enrolment.confirmed_by.as_deref(), Some("01001"));
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0].followup.date, "2026-02-20"); // newest first
    assert_eq!(visits[1].episode_id, Some(77));
    assert_eq!(visits[1].followup.hba1c, Some(8.1));

    // The station's register: its commune only, with names.
    let reg = s.ncd_register("00004").unwrap();
    assert_eq!(reg.len(), 4);
    assert!(
        reg.iter()
            .all(|r| r.name.as_deref().unwrap().starts_with("Trần Thị Thử"))
    );
    let ht = reg
        .iter()
        .find(|r| r.person_id == p[0] && r.disease == Disease::Hypertension)
        .unwrap();
    assert_eq!(
        (ht.controlled, ht.next_due.as_deref()),
        (Some(true), Some("2026-03-20"))
    );

    // Growth: a moderately underweight child.
    let m = Measurement {
        date: "2026-01-15".into(),
        weight_kg: Some(7.7),
        length_cm: Some(75.0),
        lying: Some(true),
        oedema: false,
    };
    s.transaction(true, &mut |tx| {
        let c = tx.chronic();
        c.add_measurement(
            p[4],
            Some("00004"),
            &m,
            [Some(1), Some(0), Some(0), Some(0)],
            "tram.badinh",
        )?;
        let mut later = m.clone();
        later.date = "2026-02-15".into();
        later.weight_kg = Some(8.4);
        c.add_measurement(
            p[4],
            Some("00004"),
            &later,
            [Some(0), Some(0), Some(0), Some(0)],
            "tram.badinh",
        )?;
        Ok(())
    })
    .unwrap();
    let mut ms = Vec::new();
    s.transaction(false, &mut |tx| {
        ms = tx.chronic().measurements(p[4])?;
        Ok(())
    })
    .unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].measurement, m);
    let kids = s.children_growth("00004", "2021-03-01").unwrap();
    assert_eq!(kids.len(), 1, "{kids:?}"); // the 2019 child is over five
    assert_eq!(kids[0].measured_on.as_deref(), Some("2026-02-15"));
    assert_eq!(kids[0].underweight, Some(0));

    // The figures per commune.
    let figures = s.chronic_indicators(today).unwrap();
    let ba_dinh = figures.iter().find(|c| c.commune == "00004").unwrap();
    let ht = &ba_dinh.ncd["hypertension"];
    assert_eq!(
        (ht.enrolled, ht.managed, ht.controlled, ht.missed),
        (2, 2, 1, 0)
    );
    let dm = &ba_dinh.ncd["diabetes"];
    assert_eq!((dm.managed, dm.controlled, dm.missed), (1, 0, 1));
    let copd = &ba_dinh.ncd["copd"];
    assert_eq!((copd.enrolled, copd.managed, copd.moved), (1, 0, 1));
    assert_eq!(
        (
            ba_dinh.growth.children,
            ba_dinh.growth.measured,
            ba_dinh.growth.underweight
        ),
        (1, 1, 0)
    );
    let ngoc_ha = figures.iter().find(|c| c.commune == "00008").unwrap();
    assert_eq!(ngoc_ha.ncd["asthma"].managed, 1);
    // Sealed at rest, the register's disease too: nothing of these tables in clear.
    let status = s.key_status().unwrap();
    for (column, rows) in [
        ("ncd_enrolments.disease", 5),
        ("ncd_enrolments.body", 5),
        ("ncd_followups.disease", 2),
        ("ncd_followups.body", 2),
        ("growth_measurements.body", 2),
    ] {
        let c = status.columns.iter().find(|c| c.column == column).unwrap();
        assert_eq!(c.plain, 0, "{column}");
        assert_eq!(
            c.sealed.iter().map(|(_, n)| n).sum::<u64>(),
            rows,
            "{column}"
        );
    }
    assert_eq!(s.residents("00004").unwrap().len(), 5);
});
