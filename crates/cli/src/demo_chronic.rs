//! The demo's chronic care and children's growth in the demo station's commune: NCD
//! registers (hypertension, diabetes, COPD, asthma) of adult residents with monthly
//! follow-ups — some controlled, some not, some due, some missed, one moved, one lost
//! to follow-up — and children under five with up to three measurements each, some
//! malnourished (underweight, stunted, wasted), some overweight, a few not weighed yet.
//! All people and values
//! are synthetic; written straight to the store as the station would have.

use anyhow::Result;
use book::growth::{Index, Measurement, Sex};
use book::ncd::{Adherence, Detected, Disease, Dispensed, Enrolment, FollowUp, Status};
use chrono::{Days, Months, NaiveDate};
use store::{Resident, Store, StoredEnrolment};

/// What the demo seeded.
#[derive(Default)]
pub struct DemoChronic {
    pub enrolled: usize,
    pub followups: usize,
    pub children: usize,
    pub measurements: usize,
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The value of `index` for a child of `sex` at `x` (months, or cm) on the z line
/// `z` (interpolated between the chart's −3, −2, 0, +2, +3 lines).
fn at_z(index: Index, sex: Sex, x: f64, z: f64) -> f64 {
    let curve = book::growth::curve(index, sex);
    let row = curve
        .iter()
        .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
        .map(|r| r.1)
        .unwrap_or([0.0; 5]);
    let zs = [-3.0, -2.0, 0.0, 2.0, 3.0];
    if z <= -3.0 {
        return row[0] + (z + 3.0) * (row[1] - row[0]);
    }
    for i in 0..4 {
        if z <= zs[i + 1] {
            let t = (z - zs[i]) / (zs[i + 1] - zs[i]);
            return row[i] + t * (row[i + 1] - row[i]);
        }
    }
    row[4] + (z - 3.0) * (row[4] - row[3])
}

fn medicines(disease: Disease) -> Vec<Dispensed> {
    let (name, code, qty) = match disease {
        Disease::Hypertension => ("Amlodipin 5mg", "40.458", "30 Viên"),
        Disease::Diabetes => ("Metformin hydroclorid 850mg", "40.771", "60 Viên"),
        Disease::Copd => ("Budesonid + formoterol", "40.1002", "1 Bình xịt"),
        Disease::Asthma => ("Salbutamol 100mcg/liều", "40.1000", "1 Bình xịt"),
    };
    vec![Dispensed {
        name: name.into(),
        code: Some(code.into()),
        quantity: Some(qty.into()),
    }]
}

/// One follow-up of `disease` on `date`: `good` gives a controlled visit.
fn visit(disease: Disease, date: NaiveDate, good: bool, n: u64) -> FollowUp {
    let wobble = (n % 7) as u16;
    let mut f = FollowUp {
        date: ymd(date),
        medicines: medicines(disease),
        adherence: Some(if good {
            Adherence::Good
        } else {
            Adherence::Partial
        }),
        next_date: Some(ymd(date + Days::new(30))),
        weight_kg: Some(52.0 + (n % 20) as f64),
        source: "entered".into(),
        ..FollowUp::default()
    };
    match disease {
        Disease::Hypertension | Disease::Diabetes => {
            let (s, d) = if good { (126, 78) } else { (152, 94) };
            f.bp_sys = Some(s + wobble);
            f.bp_dia = Some(d + wobble / 2);
        }
        Disease::Copd | Disease::Asthma => f.judged_controlled = Some(good),
    }
    if disease == Disease::Diabetes {
        f.glucose = Some(if good { 6.4 } else { 9.2 });
        f.hba1c = Some(if good { 6.6 } else { 8.3 });
        f.complications_screened = vec!["eye".into(), "foot".into()];
    }
    f
}

/// Seed the registers and the children of `commune` (skipped for those already done).
pub fn seed(store: &dyn Store, commune: &str) -> Result<DemoChronic> {
    let today = store::vn_now().date();
    let mut out = DemoChronic::default();
    if commune.is_empty() {
        return Ok(out);
    }
    // A few children under five, so that the station has some to weigh.
    let kids: Vec<Resident> = (0..8u32)
        .map(|k| {
            let born = today - Months::new(3 + 7 * k);
            let sex = if k % 2 == 0 { "1" } else { "2" };
            Resident {
                personal_id: format!(
                    "001{}{}9{:05}",
                    if sex == "1" { 2 } else { 3 },
                    born.format("%y"),
                    70_000 + k
                ),
                name: Some(
                    [
                        "Nguyễn Minh Khôi",
                        "Trần Bảo Ngọc",
                        "Lê Gia Huy",
                        "Phạm Khánh Linh",
                        "Hoàng Đức Anh",
                        "Vũ Thảo My",
                        "Đặng Quốc Bảo",
                        "Bùi Ngọc Hân",
                    ][k as usize]
                        .into(),
                ),
                birth: Some(born.format("%Y%m%d").to_string()),
                sex: Some(sex.into()),
                unit: commune.into(),
                status: "alive".into(),
            }
        })
        .collect();
    store.import_population(&kids)?;
    let residents = store.residents(commune)?;
    let mut adults = 0u64;
    let mut children = 0u64;
    for r in residents.iter().filter(|r| r.status == "open") {
        let Some(born) = r.birth.as_deref().and_then(book::ehr::parse_date) else {
            continue;
        };
        let n = r.person_id.unsigned_abs() / 11;
        let age = today.years_since(born).unwrap_or(0);
        if age >= 40 {
            adults += 1;
            let mut diseases = Vec::new();
            if adults % 4 == 1 {
                diseases.push(Disease::Hypertension);
            }
            if adults % 7 == 3 {
                diseases.push(Disease::Diabetes);
            }
            if adults == 5 {
                diseases.push(Disease::Copd);
            }
            if adults == 6 {
                diseases.push(Disease::Asthma);
            }
            for disease in diseases {
                seed_entry(
                    store,
                    r.person_id,
                    commune,
                    disease,
                    adults,
                    n,
                    today,
                    &mut out,
                )?;
            }
        } else if book::growth::under_five(born, today) {
            let Some(sex) = r.sex.as_deref().and_then(Sex::from_code) else {
                continue;
            };
            children += 1;
            seed_child(
                store,
                r.person_id,
                commune,
                sex,
                born,
                children,
                today,
                &mut out,
            )?;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn seed_entry(
    store: &dyn Store,
    pid: i64,
    commune: &str,
    disease: Disease,
    k: u64,
    n: u64,
    today: NaiveDate,
    out: &mut DemoChronic,
) -> Result<()> {
    // Enrolled about half a year ago; visits monthly; the last one 10, 25 or 60 days
    // ago (upcoming, due, missed); three in five controlled.
    let enrolled = today - Days::new(180 + n % 30);
    let last = [10u64, 25, 60][(k % 3) as usize];
    let good = (k * 7 + n) % 5 < 3;
    let status = match k {
        9 => Status::Moved,
        13 => Status::Lost,
        _ => Status::Managed,
    };
    let by = "demo.tram";
    store.transaction(true, &mut |tx| {
        let c = tx.chronic();
        if c.enrolment(pid, disease)?.is_some() {
            return Ok(());
        }
        let visits: Vec<FollowUp> = (0..4u64)
            .rev()
            .map(|i| {
                visit(
                    disease,
                    today - Days::new(last + 30 * i),
                    good || i > 1,
                    n + i,
                )
            })
            .collect();
        let newest = visits.last().cloned().unwrap_or_default();
        let controlled = book::ncd::controlled(disease, &newest);
        let e = StoredEnrolment {
            id: 0,
            person_id: pid,
            disease,
            commune: commune.into(),
            status,
            status_on: ymd(if status == Status::Managed {
                enrolled
            } else {
                today - Days::new(20)
            }),
            enrolled_on: ymd(enrolled),
            last_visit: Some(newest.date.clone()),
            next_due: newest.next_date.clone(),
            controlled,
            enrolment: Enrolment {
                disease,
                icd10: match disease {
                    Disease::Hypertension => "I10",
                    Disease::Diabetes => "E11.9",
                    Disease::Copd => "J44.9",
                    Disease::Asthma => "J45.9",
                }
                .into(),
                detected_on: ymd(enrolled - Days::new(14)),
                detected: Detected::Screening,
                confirmed_by: None,
                note: None,
            },
            by_user: by.into(),
            created_at: 0,
            updated_at: 0,
        };
        c.enrol(&e)?;
        for f in &visits {
            c.add_followup(pid, disease, None, book::ncd::controlled(disease, f), f, by)?;
        }
        out.enrolled += 1;
        out.followups += visits.len();
        Ok(())
    })?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn seed_child(
    store: &dyn Store,
    pid: i64,
    commune: &str,
    sex: Sex,
    born: NaiveDate,
    k: u64,
    today: NaiveDate,
    out: &mut DemoChronic,
) -> Result<()> {
    // The z-scores the child follows: most normal; some underweight and stunted, one
    // wasted, one overweight.
    let (zw, zh) = match k % 10 {
        1 => (-2.6, -2.4),
        3 => (-2.2, -0.5),
        4 => (-1.0, -2.7),
        7 => (1.8, 0.2),
        _ => (0.2, 0.1),
    };
    let wasted = k == 2;
    // Every seventh child not weighed yet.
    if k % 7 == 6 {
        return Ok(());
    }
    store.transaction(true, &mut |tx| {
        let c = tx.chronic();
        if !c.measurements(pid)?.is_empty() {
            return Ok(());
        }
        for back in [120u64, 60, 5] {
            let on = today - Days::new(back);
            if on < born {
                continue;
            }
            let age = (on - born).num_days() as f64 / 30.4375;
            let length = at_z(Index::HeightForAge, sex, age.floor(), zh);
            let weight = if wasted {
                at_z(
                    Index::WeightForHeight,
                    sex,
                    (length * 2.0).round() / 2.0,
                    -3.2,
                )
            } else if zw > 1.5 {
                at_z(
                    Index::WeightForHeight,
                    sex,
                    (length * 2.0).round() / 2.0,
                    2.4,
                )
            } else {
                at_z(Index::WeightForAge, sex, age.floor(), zw)
            };
            let m = Measurement {
                date: ymd(on),
                weight_kg: Some((weight * 10.0).round() / 10.0),
                length_cm: Some((length * 10.0).round() / 10.0),
                lying: None,
                oedema: false,
            };
            let Ok(a) = book::growth::assess(sex, born, &m) else {
                continue;
            };
            let levels = [
                a.underweight.map(|g| g.level()),
                a.stunting.map(|g| g.level()),
                a.wasting.map(|g| g.level()),
                a.overweight.map(|w| w.level()),
            ];
            c.add_measurement(pid, Some(commune), &m, levels, "demo.tram")?;
            out.measurements += 1;
        }
        out.children += 1;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_on_a_z_line_classify_as_meant() {
        let born = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let on = NaiveDate::from_ymd_opt(2025, 7, 10).unwrap(); // 18 months
        let w = at_z(Index::WeightForAge, Sex::Male, 18.0, -2.6);
        let h = at_z(Index::HeightForAge, Sex::Male, 18.0, -2.4);
        let a = book::growth::assess(
            Sex::Male,
            born,
            &Measurement {
                date: ymd(on),
                weight_kg: Some(w),
                length_cm: Some(h),
                lying: None,
                oedema: false,
            },
        )
        .unwrap();
        assert_eq!(a.underweight, Some(book::growth::Grade::Moderate));
        assert_eq!(a.stunting, Some(book::growth::Grade::Moderate));
    }
}
