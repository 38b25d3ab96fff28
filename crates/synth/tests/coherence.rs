//! Generated episodes read as a clinician and an assessor would read them: 5,000
//! episodes written as QĐ 3176 envelopes, parsed back through the typed model, and
//! checked against the catalogue's clinical rules. The diagnosis must explain every
//! medicine, every abnormal result and every special table; quantities must fit the
//! stay; the totals must be the sums of the lines.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use dossier::model::{BirthDate, Dossier};
use dossier::{Options, Spec, Table, parse_envelope};
use rust_decimal::Decimal;
use synth::catalog::{Direction, Dosing, Program, catalog};
use synth::{Config, Generator};

const SAMPLE: usize = 5_000;

/// The sample, as read back from the envelope bytes.
fn sample() -> Vec<Dossier> {
    let g = Generator::new(Config {
        persons: 2_500,
        episodes: SAMPLE,
        seed: 20_261_205,
        ..Config::default()
    });
    g.episodes()
        .map(|e| {
            let p = parse_envelope(&e.envelope_bytes(Spec::Qd3176), &Options::default());
            assert!(p.is_valid(), "episode {}: {:#?}", e.index, p.findings);
            let mut env = p.value;
            assert_eq!(env.dossiers.len(), 1);
            env.dossiers.remove(0)
        })
        .collect()
}

fn age_on(birth: BirthDate, day: NaiveDate) -> u32 {
    let years = day.year() - birth.year as i32;
    let before = (day.month() as u8, day.day() as u8) < (birth.month, birth.day);
    (years - before as i32).max(0) as u32
}

fn minutes(a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    (b - a).num_minutes()
}

/// A failure, kept with the episode it came from; the test lists them all.
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, ma_lk: &str, what: impl FnOnce() -> String) {
        if !ok && self.0.len() < 50 {
            self.0.push(format!("{ma_lk}: {}", what()));
        }
    }
}

#[test]
fn generated_episodes_are_clinically_coherent() {
    let c = catalog();
    let dossiers = sample();
    let mut fail = Failures(Vec::new());
    let mut tables: BTreeMap<Table, usize> = BTreeMap::new();
    let mut seen = BTreeMap::<&str, usize>::new();
    for d in &dossiers {
        for t in d.tables() {
            *tables.entry(t).or_default() += 1;
        }
        let s = d.summary.as_ref().expect("XML1");
        let ma_lk = s.ma_lk.as_deref().unwrap_or_default();
        let icd = s.ma_benh_chinh.as_deref().unwrap_or_default();
        let Some(dx) = c.diagnosis(icd) else {
            fail.check(false, ma_lk, || {
                format!("diagnosis {icd} not in the catalogue")
            });
            continue;
        };
        *seen.entry(dx.icd10).or_default() += 1;
        let care = s.ma_loai_kcb.as_deref().unwrap_or_default();
        let (vao, ra) = (s.ngay_vao.unwrap(), s.ngay_ra.unwrap());
        let age = age_on(s.ngay_sinh.unwrap(), vao.date());
        let sex = s.gioi_tinh.as_deref().unwrap_or_default();
        let days = s.so_ngay_dtri.unwrap_or(0);
        let stay = matches!(care, "03" | "04" | "06");

        // The diagnosis fits the patient.
        fail.check(
            (dx.min_age..=dx.max_age).contains(&age) && (dx.sex.is_empty() || dx.sex == sex),
            ma_lk,
            || format!("{icd} for sex {sex}, age {age}"),
        );
        // Length of stay: an inpatient stay lasts what the diagnosis needs.
        if care == "03" {
            let (lo, hi) = dx.stay.expect("an inpatient diagnosis has a stay range");
            fail.check((lo..=hi).contains(&days), ma_lk, || {
                format!("{icd}: {days} days, expected {lo}–{hi}")
            });
        }

        // Medicines: each is one the diagnosis calls for; its core treatment is there.
        let mut classes = Vec::new();
        for l in &d.drugs {
            let (code, name) = (
                l.ma_thuoc.as_deref().unwrap_or_default(),
                l.ten_thuoc.as_deref().unwrap_or_default(),
            );
            let Some(drug) = c.drug_line(code, name) else {
                fail.check(false, ma_lk, || {
                    format!("drug {code} {name} not in the catalogue")
                });
                continue;
            };
            classes.push(drug.class);
            fail.check(
                dx.drugs.iter().any(|&(i, _)| c.drugs[i].key == drug.key),
                ma_lk,
                || format!("{icd} does not call for {}", drug.key),
            );
            let qty = l.so_luong.unwrap_or_default();
            match drug.dosing {
                // Oxygen: litres ≤ the highest flow × the minutes of the stay.
                Dosing::Flow => {
                    let most = Decimal::from(drug.per_dose as i64 * minutes(vao, ra));
                    fail.check(qty > Decimal::ZERO && qty <= most, ma_lk, || {
                        format!(
                            "{qty} {} of {} over {} minutes",
                            drug.unit,
                            drug.key,
                            minutes(vao, ra)
                        )
                    });
                    fail.check(stay || care == "09", ma_lk, || {
                        format!("oxygen outside a stay (care {care})")
                    });
                }
                // On a stay: no more than the daily doses for its days.
                Dosing::Daily if stay => {
                    let most = Decimal::from(drug.per_dose * drug.doses_per_day * days.max(1));
                    fail.check(qty <= most, ma_lk, || {
                        format!("{qty} of {} in {days} days", drug.key)
                    });
                }
                Dosing::Daily => {}
                // A pack for the course: exactly that.
                Dosing::Course => {
                    fail.check(qty == Decimal::from(drug.per_dose), ma_lk, || {
                        format!("{qty} of {} for one course", drug.key)
                    });
                }
            }
        }
        for &(i, core) in &dx.drugs {
            let drug = &c.drugs[i];
            let needed = core && (drug.dosing != Dosing::Flow || stay);
            if needed {
                fail.check(
                    d.drugs
                        .iter()
                        .any(|l| l.ten_thuoc.as_deref() == Some(drug.name)),
                    ma_lk,
                    || format!("{icd} without its core drug {}", drug.key),
                );
            }
        }
        // The examples of the issue, spelled out.
        if icd.starts_with("E11") {
            fail.check(classes.contains(&"glucose_lowering"), ma_lk, || {
                format!("diabetes ({icd}) without a glucose-lowering drug: {classes:?}")
            });
            let sugar: Vec<_> = d
                .results
                .iter()
                .filter(|r| matches!(r.ma_chi_so.as_deref(), Some("HBA1C" | "GLU")))
                .collect();
            // Tested at every visit but a drug pickup (07).
            fail.check(
                care == "07"
                    || !sugar.is_empty()
                        && sugar.iter().all(|r| r.ket_luan.as_deref() == Some("Cao")),
                ma_lk,
                || "diabetes without a high HbA1c / glucose".to_string(),
            );
        }
        if matches!(dx.program, Program::Hiv | Program::HivTb) {
            fail.check(classes.contains(&"arv"), ma_lk, || {
                "HIV care without ARV".into()
            });
        }
        if matches!(dx.program, Program::HivTb | Program::Tb) {
            fail.check(classes.contains(&"anti_tb"), ma_lk, || {
                "TB without TB drugs".into()
            });
        }

        // Results: out of range exactly when, and the way, the diagnosis implies.
        for r in &d.results {
            let service = r.ma_dich_vu.as_deref().unwrap_or_default();
            let code = r.ma_chi_so.as_deref().unwrap_or_default();
            let conclusion = r.ket_luan.as_deref().unwrap_or_default();
            let Some(test) = c.tests.iter().position(|t| t.code == service) else {
                fail.check(false, ma_lk, || {
                    format!("test {service} not in the catalogue")
                });
                continue;
            };
            fail.check(dx.tests.contains(&test), ma_lk, || {
                format!("{icd} does not call for {service}")
            });
            match &r.gia_tri {
                Some(v) => {
                    let ind = c.indicator(service, code).expect("a catalogue indicator");
                    let v: Decimal = v.parse().expect("a decimal value");
                    let way = if v > ind.high {
                        Some(Direction::High)
                    } else if v < ind.low {
                        Some(Direction::Low)
                    } else {
                        None
                    };
                    fail.check(way == dx.implies(code), ma_lk, || {
                        format!(
                            "{code} = {v} ({way:?}) but {icd} implies {:?}",
                            dx.implies(code)
                        )
                    });
                    let flag = match way {
                        Some(Direction::High) => "Cao",
                        Some(Direction::Low) => "Thấp",
                        None => "Bình thường",
                    };
                    fail.check(conclusion == flag, ma_lk, || {
                        format!("{code} = {v} concluded {conclusion:?}")
                    });
                }
                None => {
                    let report = c.tests[test].report(dx.finding(test)).expect("a report");
                    fail.check(conclusion == report.conclusion, ma_lk, || {
                        format!("{service} concluded {conclusion:?} for {icd}")
                    });
                }
            }
        }
        // The tests behind what the diagnosis implies were done (a drug pickup, 07,
        // does no test at all).
        fail.check(care != "07" || d.services.is_empty(), ma_lk, || {
            "services at a drug pickup".into()
        });
        for &(t, _) in dx.findings.iter().filter(|_| care != "07") {
            let code = c.tests[t].code;
            fail.check(
                d.results
                    .iter()
                    .any(|r| r.ma_dich_vu.as_deref() == Some(code)),
                ma_lk,
                || format!("{icd} without {}", c.tests[t].key),
            );
        }

        // Procedures and surgery: grouped as the catalogue groups them; surgery only
        // on a stay, and only surgery is written up as an operation.
        let mut surgery = false;
        for l in &d.services {
            let group = l.ma_nhom.as_deref().unwrap_or_default();
            let code = l.ma_dich_vu.as_deref().unwrap_or_default();
            if let Some(p) = c.procedures.iter().find(|p| p.code == code) {
                fail.check(group == p.group, ma_lk, || {
                    format!("{} grouped {group}, the catalogue says {}", p.key, p.group)
                });
                fail.check(
                    dx.procedures.iter().any(|&i| c.procedures[i].code == code),
                    ma_lk,
                    || format!("{icd} does not call for {}", p.key),
                );
            }
            if group == "8" {
                surgery = true;
                let p = c.procedures.iter().find(|p| p.code == code);
                fail.check(p.is_some_and(|p| p.is_surgery()), ma_lk, || {
                    format!("{code} counted as surgery")
                });
                fail.check(matches!(care, "03" | "04" | "06"), ma_lk, || {
                    format!("surgery in care {care}")
                });
            }
            // Nebulisation (ICD-9 93.94) is a procedure.
            if l.ma_pttt_qt.iter().any(|x| x == "93.94") {
                fail.check(group == "18", ma_lk, || {
                    format!("nebulisation grouped {group}")
                });
            }
        }
        let operated = d.clinical_notes.iter().any(|n| n.phau_thuat.is_some());
        fail.check(operated == surgery && (!operated || stay), ma_lk, || {
            format!("operation note {operated}, surgery line {surgery}")
        });

        // Totals in XML1 are the sums of the lines.
        let sum = |f: fn(&dossier::model::DrugLine) -> Option<Decimal>,
                   g: fn(&dossier::model::ServiceLine) -> Option<Decimal>| {
            d.drugs.iter().filter_map(f).sum::<Decimal>()
                + d.services.iter().filter_map(g).sum::<Decimal>()
        };
        let totals = [
            (
                "T_TONGCHI_BV",
                s.t_tongchi_bv,
                sum(|l| l.thanh_tien_bv, |l| l.thanh_tien_bv),
            ),
            (
                "T_TONGCHI_BH",
                s.t_tongchi_bh,
                sum(|l| l.thanh_tien_bh, |l| l.thanh_tien_bh),
            ),
            ("T_BNTT", s.t_bntt, sum(|l| l.t_bntt, |l| l.t_bntt)),
            ("T_BNCCT", s.t_bncct, sum(|l| l.t_bncct, |l| l.t_bncct)),
            ("T_BHTT", s.t_bhtt, sum(|l| l.t_bhtt, |l| l.t_bhtt)),
            (
                "T_THUOC",
                s.t_thuoc,
                d.drugs.iter().filter_map(|l| l.thanh_tien_bv).sum(),
            ),
        ];
        for (name, total, lines) in totals {
            fail.check(total == Some(lines), ma_lk, || {
                format!("{name} {total:?}, lines sum to {lines}")
            });
        }
        for l in &d.drugs {
            let cost = l.so_luong.unwrap_or_default() * l.don_gia.unwrap_or_default();
            fail.check(l.thanh_tien_bv == Some(cost.round_dp(2)), ma_lk, || {
                format!("drug line {:?}: {:?} ≠ {cost}", l.stt, l.thanh_tien_bv)
            });
        }

        // Special tables where, and only where, the care calls for them.
        fail.check(d.record_summary.is_some() == stay, ma_lk, || {
            format!("XML8 {} with care {care}", d.record_summary.is_some())
        });
        let hiv = matches!(dx.program, Program::Hiv | Program::HivTb);
        fail.check(d.hiv_care.is_empty() != hiv, ma_lk, || {
            format!("XML6 {} with {icd}", !d.hiv_care.is_empty())
        });
        fail.check(
            d.tb_treatment.is_empty() != (dx.program == Program::HivTb),
            ma_lk,
            || format!("XML15 {} with {icd}", !d.tb_treatment.is_empty()),
        );
        for h in &d.hiv_care {
            let arv = h.so_ngay_cap_thuoc_arv.unwrap_or(0) as i64;
            let course =
                (h.ngay_ket_thuc_xu_tri.unwrap() - h.ngay_bat_dau_xu_tri.unwrap()).num_days();
            fail.check(arv > 0 && arv <= course, ma_lk, || {
                format!("{arv} ARV days in a {course}-day course")
            });
            fail.check(h.bddt_arv.unwrap() >= h.ngaykd_hiv.unwrap(), ma_lk, || {
                "ARV before the HIV diagnosis".into()
            });
        }
        if let Some(b) = d.births.first() {
            fail.check(dx.program == Program::Delivery, ma_lk, || {
                format!("birth certificate with {icd}")
            });
            fail.check(sex == "2" && (15..=49).contains(&age), ma_lk, || {
                format!("mother of sex {sex}, age {age}")
            });
            let born = b.ngay_sinh_con.unwrap();
            fail.check(vao <= born && born <= ra, ma_lk, || {
                format!("born {born} outside the stay {vao}–{ra}")
            });
            fail.check(
                (b.sinhcon_phauthuat.as_deref() == Some("1")) == surgery,
                ma_lk,
                || "caesarean flag against the surgery lines".into(),
            );
        } else if dx.program == Program::Delivery {
            fail.check(!stay, ma_lk, || {
                format!("a delivery stay ({icd}) without XML9")
            });
        }
        if let Some(a) = &d.antenatal_rest {
            fail.check(
                dx.program == Program::Antenatal && sex == "2",
                ma_lk,
                || format!("pregnancy rest with {icd}, sex {sex}"),
            );
            fail.check(a.tu_ngay == Some(vao.date()), ma_lk, || {
                "pregnancy rest not from the examination day".into()
            });
            let n = (a.den_ngay.unwrap() - a.tu_ngay.unwrap()).num_days();
            fail.check(a.so_ngay == Some(n as u32), ma_lk, || {
                format!("{:?} rest days for {n}", a.so_ngay)
            });
        }
        if let Some(l) = &d.sick_leave {
            let n = (l.den_ngay.unwrap() - l.tu_ngay.unwrap()).num_days() + 1;
            fail.check(
                dx.sick_leave > 0 && n as u32 <= dx.sick_leave && l.so_ngay_nghi == Some(n as u32),
                ma_lk,
                || {
                    format!(
                        "{n} days of sick leave for {icd} (at most {})",
                        dx.sick_leave
                    )
                },
            );
            fail.check((18..60).contains(&age), ma_lk, || {
                format!("sick leave at {age}")
            });
        }
        if let Some(a) = &d.appointment {
            fail.check(a.ngay_hen_kl.unwrap() > ra, ma_lk, || {
                "re-exam before discharge".into()
            });
        }
        fail.check(
            d.referral.is_some() == (s.ma_loai_rv.as_deref() == Some("2")),
            ma_lk,
            || "referral letter against MA_LOAI_RV".into(),
        );
    }
    assert!(
        fail.0.is_empty(),
        "{} failures:\n{}",
        fail.0.len(),
        fail.0.join("\n")
    );

    // Every table of the dossier appears; the rare ones a few times at least.
    for t in Table::IN_DOSSIER {
        if t.in_spec(Spec::Qd3176) {
            let n = tables.get(&t).copied().unwrap_or(0);
            assert!(n >= 3, "{t} in {n} of {SAMPLE} episodes: {tables:?}");
        }
    }
    // Every diagnosis of the catalogue is drawn.
    for dx in &c.diagnoses {
        assert!(
            seen.contains_key(dx.icd10),
            "{} never drawn: {seen:?}",
            dx.icd10
        );
    }
}

/// Each diagnosis's reference data resolve, and imply only what its tests measure.
#[test]
fn data_files_parse_and_references_resolve() {
    let c = synth::catalog::load().expect("the data files read");
    assert!(c.diagnoses.len() >= 45 && c.drugs.len() >= 60 && c.tests.len() >= 35);
    assert!(c.provinces.iter().all(|p| !p.districts.is_empty()));
    for f in &c.facilities {
        assert!(
            c.provinces.iter().any(|p| f.code.starts_with(p.code)),
            "{}",
            f.code
        );
    }
    for dx in &c.diagnoses {
        assert!(
            dx.drugs.iter().any(|&(_, core)| core),
            "{}: no core drug",
            dx.icd10
        );
        for &(t, finding) in &dx.findings {
            assert!(dx.tests.contains(&t) && c.tests[t].report(finding).is_some());
        }
        for (code, _) in &dx.abnormal_values {
            assert!(
                dx.tests
                    .iter()
                    .any(|&t| c.tests[t].indicators.iter().any(|i| i.code == *code)),
                "{}: {code}",
                dx.icd10
            );
        }
        assert!(c.department(dx.department).is_some());
    }
    // The examples of the issue are in the data: diabetes is treated with a
    // glucose-lowering drug and implies a high HbA1c; nebulisation is a procedure.
    for icd in ["E11.9", "E11.2"] {
        let dx = c.diagnosis(icd).unwrap();
        assert!(
            dx.drugs
                .iter()
                .any(|&(i, core)| core && c.drugs[i].class == "glucose_lowering")
        );
        assert_eq!(dx.implies("HBA1C"), Some(Direction::High));
    }
    let nebuliser = c.procedures.iter().find(|p| p.icd9 == "93.94").unwrap();
    assert_eq!(nebuliser.group, "18");
    // Every data file is built in and non-empty.
    for (name, text) in synth::catalog::FILES {
        assert!(text.lines().any(|l| !l.starts_with('#')), "{name}");
    }
}
