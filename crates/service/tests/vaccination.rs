//! Doses through the service on a real SQLite file: several doses in one transaction
//! are all written or none (a refused entry is named by its index), and each written
//! dose is in its person's audit chain.

use std::sync::Arc;

use book::IdKind;
use book::access::{Place, Role};
use service::vaccination::DoseEntry;
use service::{Actor, Service, ServiceError};
use store::{Resident, StaffAccount, Store, Unit};

fn station() -> (tempfile::TempDir, Arc<dyn Store>, Actor, i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> = Arc::new(store::SqliteStore::open(dir.path().join("b.db")).unwrap());
    for (code, level, parent) in [("01", "province", None), ("00004", "commune", Some("01"))] {
        s.upsert_unit(&Unit {
            code: code.into(),
            name: code.into(),
            level: level.into(),
            parent: parent.map(str::to_string),
            scheme: "2025".into(),
        })
        .unwrap();
    }
    let today = store::vn_now().date();
    let born = (today - chrono::Months::new(3))
        .format("%Y%m%d")
        .to_string();
    s.import_population(&[
        Resident {
            personal_id: "001226000001".into(),
            name: Some("Bé Một".into()),
            birth: Some(born.clone()),
            sex: Some("1".into()),
            unit: "00004".into(),
            status: "alive".into(),
        },
        Resident {
            personal_id: "001226000002".into(),
            name: Some("Bé Hai".into()),
            birth: Some(born),
            sex: Some("2".into()),
            unit: "00004".into(),
            status: "alive".into(),
        },
        Resident {
            personal_id: "001196000003".into(),
            name: Some("Chị Ba".into()),
            birth: Some(
                (today - chrono::Months::new(30 * 12))
                    .format("%Y%m%d")
                    .to_string(),
            ),
            sex: Some("2".into()),
            unit: "00004".into(),
            status: "alive".into(),
        },
    ])
    .unwrap();
    let id = |p: &str| {
        s.person_by_identifier(IdKind::PersonalId, p)
            .unwrap()
            .unwrap()
            .id
    };
    let (a, b) = (id("001226000001"), id("001226000002"));
    let account = StaffAccount {
        username: "tram".into(),
        full_name: "Cán bộ trạm".into(),
        role: Role::CommuneStaff,
        unit: Some("00004".into()),
        facility: None,
        practising_cert: None,
        active: true,
    };
    let actor = Actor::Staff {
        account,
        scope: Place {
            commune: Some("00004".into()),
            ..Place::default()
        },
    };
    (dir, s, actor, a, b)
}

fn entry(vaccine: &str, days_ago: u64) -> DoseEntry {
    DoseEntry {
        vaccine: vaccine.into(),
        date: (store::vn_now().date() - chrono::Days::new(days_ago))
            .format("%Y-%m-%d")
            .to_string(),
        ..DoseEntry::default()
    }
}

#[test]
fn several_doses_are_all_written_or_none() {
    let (_dir, s, actor, a, b) = station();
    let svc = Service::new(s.clone());
    // The third entry names an unknown vaccine: nothing is written.
    let refused = svc
        .record_doses(
            &actor,
            &[
                (a, entry("bcg", 80)),
                (b, entry("bcg", 80)),
                (a, entry("xyz", 1)),
            ],
        )
        .unwrap_err();
    assert_eq!(refused.0, 2);
    assert!(matches!(
        refused.1,
        ServiceError::Invalid {
            code: "unknown_vaccine",
            ..
        }
    ));
    assert!(svc.vaccinations(&actor, a).unwrap().doses.is_empty());
    assert!(svc.vaccinations(&actor, b).unwrap().doses.is_empty());
    // The same BCG twice in one bundle is a duplicate: refused as a whole.
    let dup = svc
        .record_doses(&actor, &[(a, entry("bcg", 80)), (a, entry("bcg", 79))])
        .unwrap_err();
    assert_eq!(dup.0, 1);
    assert!(matches!(dup.1, ServiceError::Conflict(_)));
    // All valid: all written, each recorded in its person's chain.
    let done = svc
        .record_doses(
            &actor,
            &[
                (a, entry("bcg", 80)),
                (b, entry("bcg", 80)),
                (a, entry("opv", 20)),
            ],
        )
        .unwrap();
    assert_eq!(done.len(), 3);
    assert_eq!(svc.vaccinations(&actor, a).unwrap().doses.len(), 2);
    let added = s
        .audit_of(a)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "vaccination.add")
        .count();
    assert_eq!(added, 2);
}

/// A woman of 30 is not known to be pregnant until the station records an antenatal
/// examination (ICD-10 Z34) in her QĐ 831 record: then her first tetanus dose is due in
/// her vaccination book and in the forecast the reminders read (`forecast_in`).
#[test]
fn a_pregnancy_in_the_record_makes_the_first_tetanus_dose_due() {
    use book::immunization::{Reason, Status};
    let (_dir, s, actor, _, _) = station();
    let svc = Service::new(s.clone());
    let w = s
        .person_by_identifier(IdKind::PersonalId, "001196000003")
        .unwrap()
        .unwrap()
        .id;
    let today = store::vn_now().date();
    let uv1 = |b: &service::VaccinationBook| {
        let i = b
            .forecast
            .as_ref()
            .unwrap()
            .items
            .iter()
            .find(|i| i.key == "uv1")
            .unwrap();
        (i.status, i.reason, i.due_from)
    };
    let book = svc.vaccinations(&actor, w).unwrap();
    assert!(!book.subject.unwrap().pregnant);
    assert_eq!(
        uv1(&book),
        (Status::NotApplicable, Some(Reason::NotPregnant), None)
    );

    let version = svc.health_record(&actor, w).unwrap().stored.version;
    let exam_day = (today - chrono::Days::new(30))
        .format("%Y-%m-%d")
        .to_string();
    let items = [
        ("diagnosis", "Thai 10 tuần, khám thai định kỳ"),
        ("icd", "Z34.0"),
        ("doctor", "Nguyễn Văn Bác Sĩ"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    svc.edit_record(
        &actor,
        w,
        version,
        service::RecordEdit::Exam {
            date: &exam_day,
            items: &items,
        },
    )
    .unwrap();

    let book = svc.vaccinations(&actor, w).unwrap();
    assert!(book.subject.unwrap().pregnant);
    assert_eq!(uv1(&book), (Status::Due, None, Some(today)));
    let mut seen = None;
    s.transaction(false, &mut |tx| {
        seen = service::vaccination::forecast_in(tx, w, today)?;
        Ok(())
    })
    .unwrap();
    let f = seen.unwrap();
    let i = f.items.iter().find(|i| i.key == "uv1").unwrap();
    assert_eq!((i.status, i.due_from), (Status::Due, Some(today)));
}
