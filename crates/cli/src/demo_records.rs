//! The demo's QĐ 831 records: the residents of the demo station's commune, some with
//! parts A and B complete, some with allergies, chronic conditions and this year's
//! examination, the rest as the registry made them; and a registry delta file for the
//! README's walk-through. All people are synthetic.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use book::ehr::Today;
use store::{Store, Writer};

/// What the demo tells a commune officer.
pub struct DemoRecords {
    /// Residents of the station's commune with a record.
    pub residents: usize,
    /// Records completed here (parts A and B).
    pub completed: usize,
    /// A resident whose record is incomplete (for the walk-through): person id, ID.
    pub incomplete: Option<(i64, String)>,
    /// The delta file written beside the store.
    pub deltas: std::path::PathBuf,
}

fn pick<'a>(list: &[&'a str], n: u64) -> &'a str {
    list[(n % list.len() as u64) as usize]
}

/// Fill the records of `commune`'s residents, and write a delta file for it.
pub fn seed(store: &dyn Store, commune: &str, dir: &Path) -> Result<DemoRecords> {
    let today = store::vn_now().date();
    let province = store.place_of_unit(commune)?.province.unwrap_or_default();
    let residents = store.residents(commune)?;
    let mut completed = 0;
    let mut incomplete = None;
    let year = chrono::Datelike::year(&today);
    for (i, r) in residents.iter().enumerate() {
        let n = r.person_id.unsigned_abs() / 7 + i as u64;
        // One resident in three is left as the registry made the record.
        if i % 3 == 2 {
            if incomplete.is_none() && r.status == "open" {
                incomplete = r.personal_id.clone().map(|p| (r.person_id, p));
            }
            continue;
        }
        let mut items: BTreeMap<String, String> = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            items.insert(k.to_string(), v);
        };
        set("a.blood_abo", pick(&["O", "A", "B", "AB"], n).into());
        set("a.blood_rh", "+".into());
        set(
            "a.ethnicity",
            pick(&["Kinh", "Kinh", "Tày", "Mường"], n).into(),
        );
        set("a.nationality", "Việt Nam".into());
        set(
            "a.occupation",
            pick(
                &["Hưu trí", "Buôn bán", "Công nhân", "Học sinh", "Nội trợ"],
                n,
            )
            .into(),
        );
        set("a.household_code", format!("HN{:08}", n % 100_000_000));
        set(
            "a.permanent_address",
            format!("Số {}, tổ {}", 1 + n % 120, 1 + n % 30),
        );
        set(
            "a.current_address",
            format!("Số {}, tổ {}", 1 + n % 120, 1 + n % 30),
        );
        set("a.permanent_province", province.clone());
        set("a.current_province", province.clone());
        set("a.mobile", format!("09{:08}", (n * 7_919) % 100_000_000));
        set("b.risk.smoking", pick(&["0", "0", "3", "1"], n).into());
        set("b.risk.alcohol", pick(&["0", "1", "0"], n).into());
        set("b.risk.activity", pick(&["2", "1", "0"], n).into());
        set("b.risk.toilet", "1".into());
        if n % 5 == 0 {
            set("b.allergy.drug", "Penicilin (nổi mẩn đỏ)".into());
        } else if n % 7 == 0 {
            set("b.allergy.food", "Tôm, cua".into());
        } else {
            set("b.allergy.none", "1".into());
        }
        let elderly = r
            .birth
            .as_deref()
            .is_some_and(|b| book::ehr::is_elderly(b, today));
        if elderly && n % 2 == 0 {
            set("b.disease.hypertension", "1".into());
        } else if n % 11 == 0 {
            set("b.disease.diabetes", "1".into());
        } else {
            set("b.disease.none", "1".into());
        }
        if n % 4 == 0 {
            set("b.family.hypertension", "Bố".into());
        } else {
            set("b.family.none", "1".into());
        }
        let mut exams: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        if (elderly && n % 3 != 0) || n % 5 == 1 {
            let weight = 48 + n % 25;
            let height = 150 + n % 20;
            let sys = 118 + n % 40;
            let mut e = BTreeMap::new();
            let date = today - chrono::Duration::days(20 + (n % 60) as i64);
            let date = if chrono::Datelike::year(&date) == year {
                date
            } else {
                today
            };
            for (k, v) in [
                ("weight", weight.to_string()),
                ("height", height.to_string()),
                ("bp_sys", sys.to_string()),
                ("bp_dia", (70 + n % 20).to_string()),
                ("pulse", (68 + n % 20).to_string()),
                (
                    "diagnosis",
                    if sys >= 140 {
                        "Tăng huyết áp độ 1, tiếp tục theo dõi"
                    } else {
                        "Sức khỏe bình thường"
                    }
                    .to_string(),
                ),
                ("advice", "Ăn nhạt, vận động 30 phút mỗi ngày".to_string()),
                ("doctor", "BS. Phạm Thị Hoa (demo)".to_string()),
            ] {
                e.insert(k.to_string(), v);
            }
            exams.push((date.format("%Y-%m-%d").to_string(), e));
        }
        let mut done = false;
        store.transaction(true, &mut |tx| {
            let Some(mut stored) = tx.health_record(r.person_id)? else {
                return Ok(());
            };
            if stored.is_closed() || stored.version > 1 {
                // Seeded already (the demo was run on this folder before).
                return Ok(());
            }
            let mut changes = stored
                .record
                .apply(&items, Today(today))
                .map_err(|p| store::StoreError::Invalid(format!("{p:?}")))?;
            for (date, e) in &exams {
                // A resident born since the day picked has no examination before birth.
                let born_after = stored
                    .record
                    .birth()
                    .zip(book::ehr::parse_date(date))
                    .is_some_and(|(b, d)| d < b);
                if born_after {
                    continue;
                }
                stored
                    .record
                    .add_exam(date, e, "xa01", Some(commune), Today(today))
                    .map_err(|p| store::StoreError::Invalid(format!("{p:?}")))?;
                changes.push(book::ehr::Change {
                    key: "exam".into(),
                    before: String::new(),
                    after: date.clone(),
                });
            }
            let writer = Writer {
                source: "import",
                by_user: "xa01",
                by_unit: Some(commune),
            };
            tx.save_health_record(&stored, writer, &changes)?;
            done = stored.record.complete(book::ehr::Part::A)
                && stored.record.complete(book::ehr::Part::B);
            Ok(())
        })?;
        completed += done as usize;
    }
    // Two residents whose registry entry disagrees with their book (a middle name, a
    // birth day): data-quality records for the station to resolve.
    let mut disagree = Vec::new();
    for r in residents
        .iter()
        .filter(|r| r.status == "open")
        .skip(5)
        .take(2)
    {
        let (Some(pid), Some(name)) = (r.personal_id.clone(), r.name.clone()) else {
            continue;
        };
        // The same month, another day.
        let birth = r.birth.as_deref().filter(|b| b.len() == 10).map(|b| {
            let day = if &b[8..] == "15" { "16" } else { "15" };
            format!("{}{}{day}0000", &b[..4], &b[5..7])
        });
        let mut words: Vec<&str> = name.split(' ').collect();
        let given = words.pop().unwrap_or_default();
        disagree.push(store::Resident {
            personal_id: pid,
            name: Some(format!("{} Hồng {given}", words.join(" "))),
            birth,
            sex: r.sex.clone(),
            unit: commune.to_string(),
            status: "alive".into(),
        });
    }
    store.import_population(&disagree)?;
    // A delta batch for the walk-through: a birth in the commune, and the death of a
    // resident (their record closes and stays readable).
    let deltas = dir.join("registry-deltas.csv");
    let mut csv = String::from("event,personal_id,name,birth_date,sex,commune,date\n");
    let born = today - chrono::Duration::days(3);
    csv.push_str(&format!(
        "birth,001326{:06},Nguyễn Thị Bé (demo),{},2,{commune},\n",
        (born.format("%m%d").to_string().parse::<u32>().unwrap_or(0) * 37) % 1_000_000,
        born.format("%d/%m/%Y"),
    ));
    if let Some(pid) = residents
        .iter()
        .skip(3)
        .find(|r| r.status == "open" && r.personal_id.is_some())
        .and_then(|r| r.personal_id.clone())
    {
        csv.push_str(&format!(
            "death,{pid},,,,,{}\n",
            (today - chrono::Duration::days(1)).format("%d/%m/%Y")
        ));
    }
    std::fs::write(&deltas, csv)?;
    Ok(DemoRecords {
        residents: residents.len(),
        completed,
        incomplete,
        deltas,
    })
}
