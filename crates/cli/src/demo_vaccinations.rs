//! The demo's vaccinations: children of the demo station's commune, born over the last
//! seven years, half of them vaccinated on time (complete for their age), half whose
//! doses stopped at some point (overdue now); a few women's tetanus doses; and a child
//! of the demo citizen (their ward) two months old, with the birth doses given and
//! DPT-VGB-Hib 1 due — the README's "a citizen's due dose". All people are synthetic;
//! the doses follow the schedule of each child's birth date
//! (`book::immunization::forecast`).

use anyhow::Result;
use book::IdKind;
use book::immunization::{self as imm, Dose, DoseDetails, DoseStatus, Status, Subject};
use chrono::{Days, Months, NaiveDate};
use store::{NewDose, Resident, Store};

/// What the demo tells.
pub struct DemoVaccinations {
    pub children: usize,
    /// Children with every dose due by today given.
    pub complete: usize,
    /// Children with a dose overdue today.
    pub overdue: usize,
    pub doses: usize,
    /// The demo citizen's ward (person id), with a dose due.
    pub ward: Option<i64>,
}

const NAMES: &[&str] = &[
    "Nguyễn Minh Anh",
    "Trần Gia Bảo",
    "Lê Khánh Chi",
    "Phạm Đức Duy",
    "Hoàng Ngọc Hân",
    "Vũ Quốc Huy",
    "Đặng Thảo My",
    "Bùi Tuấn Kiệt",
    "Đỗ Bảo Ngọc",
    "Hồ Minh Quân",
    "Ngô Thanh Trúc",
    "Dương Hải Đăng",
    "Lý Phương Linh",
    "Mai Anh Khoa",
];

/// Doses on the schedule's days from birth until `stop` (exclusive): each open item's
/// first vaccine on its due day.
fn on_time(subject: &Subject, stop: NaiveDate, first_id: i64) -> Vec<Dose> {
    let mut doses: Vec<Dose> = Vec::new();
    for _ in 0..60 {
        let f = imm::forecast(subject, &doses, stop);
        let Some(next) = f
            .items
            .iter()
            .filter(|i| matches!(i.status, Status::Due | Status::Overdue))
            .filter(|i| i.due_from.is_some_and(|d| d < stop))
            .min_by_key(|i| i.due_from)
        else {
            break;
        };
        doses.push(Dose {
            id: first_id + doses.len() as i64,
            vaccine: next.vaccines[0].to_string(),
            date: next.due_from.unwrap_or(subject.birth),
            status: DoseStatus::Given,
            dose_number: Some(next.dose),
        });
    }
    doses
}

fn new_dose(d: &Dose, commune: &str, k: usize) -> NewDose {
    NewDose {
        vaccine: d.vaccine.clone(),
        date: d.date,
        status: d.status,
        dose_number: d.dose_number,
        source: "demo".into(),
        source_key: Some(format!("demo:{k}")),
        facility: Some(commune.to_string()),
        unit: Some(commune.to_string()),
        details: DoseDetails {
            lot: Some(format!(
                "{}-{}",
                d.vaccine.to_uppercase(),
                d.date.format("%y%m")
            )),
            route: imm::vaccine(&d.vaccine).map(|v| v.route.to_string()),
            primary_source: Some(true),
            ..DoseDetails::default()
        },
    }
}

/// Children of `commune` with their doses; the demo citizen's ward when `guardian`.
pub fn seed(store: &dyn Store, commune: &str, guardian: Option<i64>) -> Result<DemoVaccinations> {
    let today = store::vn_now().date();
    // (months old, on time?) — the ward last.
    let ages: &[(u32, bool)] = &[
        (1, true),
        (3, true),
        (4, false),
        (6, true),
        (8, false),
        (11, true),
        (14, false),
        (19, true),
        (26, false),
        (40, true),
        (62, false),
        (86, true),
        (30, false),
    ];
    let mut residents = Vec::new();
    for (k, (months, _)) in ages.iter().enumerate() {
        let birth = today - Months::new(*months) - Days::new(3 + k as u64);
        residents.push(Resident {
            personal_id: format!("001226{:06}", 900_000 + k),
            name: Some(NAMES[k % NAMES.len()].to_string()),
            birth: Some(birth.format("%Y%m%d").to_string()),
            sex: Some(if k % 2 == 0 { "2" } else { "1" }.into()),
            unit: commune.to_string(),
            status: "alive".into(),
        });
    }
    // The citizen's ward: two months and three days old.
    let ward_birth = today - Months::new(2) - Days::new(3);
    residents.push(Resident {
        personal_id: "001226999999".into(),
        name: Some("Nguyễn Bảo An".into()),
        birth: Some(ward_birth.format("%Y%m%d").to_string()),
        sex: Some("1".into()),
        unit: commune.to_string(),
        status: "alive".into(),
    });
    store.import_population(&residents)?;
    let mut out = DemoVaccinations {
        children: residents.len(),
        complete: 0,
        overdue: 0,
        doses: 0,
        ward: None,
    };
    let mut rows: Vec<(i64, NewDose)> = Vec::new();
    for (k, r) in residents.iter().enumerate() {
        let Some(p) = store.person_by_identifier(IdKind::PersonalId, &r.personal_id)? else {
            continue;
        };
        let birth = NaiveDate::parse_from_str(r.birth.as_deref().unwrap_or(""), "%Y%m%d")?;
        let subject = Subject {
            birth,
            female: r.sex.as_deref() == Some("2"),
            pregnant: false,
        };
        let (stop, on) = match ages.get(k) {
            Some((_, true)) => (today + Days::new(1), true),
            // Stopped a third of the way to today.
            Some((m, false)) => (birth + Months::new(m / 3 + 1), false),
            // The ward: the birth doses only.
            None => (birth + Days::new(1), true),
        };
        let doses = on_time(&subject, stop, 0);
        let f = imm::forecast(&subject, &doses, today);
        if f.open().any(|i| i.status == Status::Overdue) {
            out.overdue += 1;
        } else if on {
            out.complete += 1;
        }
        for d in &doses {
            rows.push((p.id, new_dose(d, commune, rows.len())));
        }
        if ages.get(k).is_none() {
            out.ward = Some(p.id);
        }
    }
    // A young woman of the commune with two tetanus doses (the third due).
    let mother = Resident {
        personal_id: "001198999998".into(),
        name: Some("Trần Thị Mai".into()),
        birth: Some("19980412".into()),
        sex: Some("2".into()),
        unit: commune.to_string(),
        status: "alive".into(),
    };
    store.import_population(std::slice::from_ref(&mother))?;
    if let Some(p) = store.person_by_identifier(IdKind::PersonalId, &mother.personal_id)? {
        for (i, back) in [(0usize, 14u32), (1, 12)] {
            let d = Dose {
                id: i as i64,
                vaccine: "td".into(),
                date: today - Months::new(back),
                status: DoseStatus::Given,
                dose_number: Some(i as u8 + 1),
            };
            rows.push((p.id, new_dose(&d, commune, rows.len())));
        }
    }
    // Seeded once: a second run finds the doses by their keys.
    store.transaction(true, &mut |tx| {
        let t = tx.immunizations();
        let persons: Vec<i64> = rows.iter().map(|(p, _)| *p).collect();
        let held = t.doses_of_persons(&persons)?;
        let fresh: Vec<(i64, NewDose)> = rows
            .iter()
            .filter(|(p, d)| {
                !held
                    .get(p)
                    .is_some_and(|h| h.iter().any(|(_, k)| k == &d.source_key))
            })
            .cloned()
            .collect();
        t.add_doses(&fresh, "demo")?;
        Ok(())
    })?;
    out.doses = rows.len();
    if let (Some(g), Some(w)) = (guardian, out.ward)
        && !store.wards(g)?.iter().any(|x| x.person.id == w)
    {
        store.grant_guardian(g, w, "demo")?;
    }
    Ok(out)
}
