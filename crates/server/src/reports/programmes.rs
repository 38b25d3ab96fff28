//! The health programmes a commune station runs, as report figures per unit:
//! vaccination coverage of a birth cohort by antigen dose and "fully immunised at 12
//! months" (`book::immunization`), the DTP1 → DTP3 drop-out, the NCD registers'
//! managed / controlled / missed follow-ups (`store::Chronic::chronic_indicators`), the
//! growth status of children under five, and the elderly's yearly check (the QĐ 831
//! records' examinations of the year). Counted per commune from the stores, then rolled
//! up through the report's tree of units as the records are (a commune's figures count
//! in its district and province; another scheme's code through the lineage).

use std::collections::BTreeMap;

use book::immunization as imm;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use store::{CommuneChronic, CommuneRecords, GrowthFigures, NcdFigures, Store};

use super::{RollUp, Tree, UnitRef, pct};

/// The doses whose coverage is reported, by schedule item (every children's rule set
/// has them), with their Vietnamese label.
pub(crate) const DOSES: [(&str, &str); 9] = [
    ("bcg", "BCG"),
    ("hepb0", "VGB sơ sinh"),
    ("dtp1", "DPT-VGB-Hib 1"),
    ("dtp3", "DPT-VGB-Hib 3"),
    ("opv3", "OPV 3"),
    ("ipv1", "IPV"),
    ("measles1", "Sởi 1"),
    ("je2", "VNNB 2"),
    ("mr", "Sởi - Rubella"),
];

/// The registers, in the order shown, with their Vietnamese names.
pub(crate) const REGISTERS: [(&str, &str); 4] = [
    ("hypertension", "Tăng huyết áp"),
    ("diabetes", "Đái tháo đường"),
    ("copd", "COPD"),
    ("asthma", "Hen phế quản"),
];

/// One commune's counts.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommuneProgrammes {
    pub commune: String,
    /// Children of the cohort with a record in the commune.
    pub children: i64,
    /// Per [`DOSES`]: children of the cohort given that dose by the day.
    pub doses: [i64; DOSES.len()],
    /// Fully immunised at 12 months (children of the cohort one year old by the day).
    pub full: i64,
    /// Children of the cohort one year old by the day.
    pub one_year_old: i64,
}

/// Read the vaccination counts of `communes` (those that keep records), for the cohort
/// born in `cohort`, as of `as_of`.
pub(crate) fn vaccination_counts(
    store: &dyn Store,
    communes: &[String],
    cohort: i32,
    as_of: NaiveDate,
) -> store::Result<Vec<CommuneProgrammes>> {
    let Some(first) = NaiveDate::from_ymd_opt(cohort, 1, 1) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for commune in communes {
        let mut c = CommuneProgrammes {
            commune: commune.clone(),
            ..CommuneProgrammes::default()
        };
        for s in store.commune_subjects(commune, first)? {
            let Some(birth) = s.birth.filter(|b| b.year() == cohort && *b <= as_of) else {
                continue;
            };
            c.children += 1;
            let subject = imm::Subject {
                birth,
                female: s.female(),
                pregnant: false,
            };
            let f = imm::forecast(&subject, &s.doses, as_of);
            for (i, (key, _)) in DOSES.iter().enumerate() {
                if f.items
                    .iter()
                    .any(|x| x.key == *key && x.given.is_some_and(|g| g.1 <= as_of))
                {
                    c.doses[i] += 1;
                }
            }
            if imm::Span::Years(1).after(birth) <= as_of {
                c.one_year_old += 1;
                if f.full_at_12m.complete {
                    c.full += 1;
                }
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// The figures of a unit.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct ProgrammeFigures {
    /// Children of the cohort.
    pub children: i64,
    /// Per [`DOSES`] key: children given the dose, and the share of the cohort.
    pub doses: BTreeMap<String, i64>,
    pub coverage: BTreeMap<String, f64>,
    /// Children of the cohort one year old, those fully immunised at 12 months, share.
    pub one_year_old: i64,
    pub full_12m: i64,
    pub full_12m_rate: f64,
    /// (DTP1 − DTP3) / DTP1, percent.
    pub dtp_dropout_rate: f64,
    /// Per register ([`REGISTERS`] code).
    pub ncd: BTreeMap<String, NcdFigures>,
    /// Controlled of managed, missed of managed, per register.
    pub ncd_controlled_rate: BTreeMap<String, f64>,
    pub ncd_missed_rate: BTreeMap<String, f64>,
    pub growth: GrowthFigures,
    /// Shares of the children measured.
    pub underweight_rate: f64,
    pub stunting_rate: f64,
    pub wasting_rate: f64,
    pub overweight_rate: f64,
    pub measured_rate: f64,
    /// Residents of 60 or more with a record: checked this year, still due.
    pub elderly: i64,
    pub elderly_checked: i64,
    pub elderly_due: i64,
    pub elderly_checked_rate: f64,
}

impl ProgrammeFigures {
    fn add_vaccination(&mut self, c: &CommuneProgrammes) {
        self.children += c.children;
        for (i, (key, _)) in DOSES.iter().enumerate() {
            *self.doses.entry(key.to_string()).or_default() += c.doses[i];
        }
        self.one_year_old += c.one_year_old;
        self.full_12m += c.full;
    }

    fn add_chronic(&mut self, c: &CommuneChronic) {
        for (k, f) in &c.ncd {
            let e = self.ncd.entry(k.clone()).or_default();
            e.enrolled += f.enrolled;
            e.managed += f.managed;
            e.controlled += f.controlled;
            e.missed += f.missed;
            e.moved += f.moved;
            e.lost += f.lost;
            e.died += f.died;
            e.referred += f.referred;
        }
        let g = &mut self.growth;
        g.children += c.growth.children;
        g.measured += c.growth.measured;
        g.underweight += c.growth.underweight;
        g.stunting += c.growth.stunting;
        g.wasting += c.growth.wasting;
        g.overweight += c.growth.overweight;
    }

    fn add_records(&mut self, r: &CommuneRecords) {
        self.elderly += r.elderly;
        self.elderly_checked += r.elderly_examined;
    }

    fn finish(mut self) -> ProgrammeFigures {
        for (key, _) in DOSES {
            let n = *self.doses.entry(key.to_string()).or_default();
            self.coverage.insert(key.to_string(), pct(n, self.children));
        }
        self.full_12m_rate = pct(self.full_12m, self.one_year_old);
        let (d1, d3) = (self.doses["dtp1"], self.doses["dtp3"]);
        self.dtp_dropout_rate = pct((d1 - d3).max(0), d1);
        for (code, _) in REGISTERS {
            let f = self.ncd.entry(code.to_string()).or_default().clone();
            self.ncd_controlled_rate
                .insert(code.to_string(), pct(f.controlled, f.managed));
            self.ncd_missed_rate
                .insert(code.to_string(), pct(f.missed, f.managed));
        }
        let g = &self.growth;
        self.measured_rate = pct(g.measured, g.children);
        self.underweight_rate = pct(g.underweight, g.measured);
        self.stunting_rate = pct(g.stunting, g.measured);
        self.wasting_rate = pct(g.wasting, g.measured);
        self.overweight_rate = pct(g.overweight, g.measured);
        self.elderly_due = (self.elderly - self.elderly_checked).max(0);
        self.elderly_checked_rate = pct(self.elderly_checked, self.elderly);
        self
    }
}

/// The programme figures of a unit and of each unit just below it.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct ProgrammesReport {
    /// The birth cohort (year) of the vaccination figures.
    pub cohort: i32,
    /// The day everything is counted on.
    pub as_of: String,
    pub total: ProgrammeFigures,
    pub by_unit: Vec<(UnitRef, ProgrammeFigures)>,
}

/// Roll the communes' counts up to `code` ("" the country) and the units just below.
pub(crate) fn programmes_report(
    tree: &Tree,
    code: &str,
    vaccination: &[CommuneProgrammes],
    chronic: &[CommuneChronic],
    records: &[CommuneRecords],
    cohort: i32,
    as_of: NaiveDate,
) -> ProgrammesReport {
    let mut roll = RollUp::new(tree, code);
    for v in vaccination {
        roll.add(&v.commune, |x: &mut ProgrammeFigures| x.add_vaccination(v));
    }
    for c in chronic {
        roll.add(&c.commune, |x: &mut ProgrammeFigures| x.add_chronic(c));
    }
    for r in records {
        roll.add(&r.commune, |x: &mut ProgrammeFigures| x.add_records(r));
    }
    let (total, by_unit) = roll.finish_or_itself(ProgrammeFigures::finish);
    ProgrammesReport {
        cohort,
        as_of: as_of.to_string(),
        total,
        by_unit,
    }
}

// ---------------------------------------------------------------------------
// Exports (CSV, XLSX): one row per unit below, then the total
// ---------------------------------------------------------------------------

pub(crate) fn csv_header() -> Vec<&'static str> {
    let mut h = vec!["unit", "name", "cohort", "children"];
    h.extend(DOSES.iter().map(|(k, _)| *k));
    h.extend([
        "one_year_old",
        "full_12m",
        "full_12m_pct",
        "dtp_dropout_pct",
    ]);
    for k in [
        "hypertension_managed",
        "hypertension_controlled",
        "hypertension_missed",
        "diabetes_managed",
        "diabetes_controlled",
        "diabetes_missed",
        "copd_managed",
        "copd_controlled",
        "copd_missed",
        "asthma_managed",
        "asthma_controlled",
        "asthma_missed",
    ] {
        h.push(k);
    }
    h.extend([
        "under5",
        "measured",
        "underweight",
        "stunting",
        "wasting",
        "overweight",
        "elderly",
        "elderly_checked",
        "elderly_due",
    ]);
    h
}

pub(crate) fn csv_rows(r: &ProgrammesReport) -> Vec<Vec<String>> {
    let line = |code: &str, name: &str, x: &ProgrammeFigures| {
        let mut v = vec![
            code.to_string(),
            name.to_string(),
            r.cohort.to_string(),
            x.children.to_string(),
        ];
        v.extend(
            DOSES
                .iter()
                .map(|(k, _)| x.doses.get(*k).copied().unwrap_or(0).to_string()),
        );
        v.extend([
            x.one_year_old.to_string(),
            x.full_12m.to_string(),
            format!("{:.2}", x.full_12m_rate),
            format!("{:.2}", x.dtp_dropout_rate),
        ]);
        for (k, _) in REGISTERS {
            let f = x.ncd.get(k).cloned().unwrap_or_default();
            v.extend([
                f.managed.to_string(),
                f.controlled.to_string(),
                f.missed.to_string(),
            ]);
        }
        let g = &x.growth;
        v.extend([
            g.children.to_string(),
            g.measured.to_string(),
            g.underweight.to_string(),
            g.stunting.to_string(),
            g.wasting.to_string(),
            g.overweight.to_string(),
            x.elderly.to_string(),
            x.elderly_checked.to_string(),
            x.elderly_due.to_string(),
        ]);
        v
    };
    let mut out: Vec<Vec<String>> = r
        .by_unit
        .iter()
        .map(|(u, x)| line(&u.code, &u.name, x))
        .collect();
    out.push(line("", "Tổng cộng", &r.total));
    out
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

/// One line of the programme tables as display strings.
#[derive(Clone, Debug)]
pub(crate) struct ProgrammeRow {
    pub name: String,
    pub children: String,
    /// Per [`DOSES`]: "n (x,x%)".
    pub doses: Vec<String>,
    pub full_12m: String,
    pub dropout: String,
    /// Per [`REGISTERS`]: managed, "controlled (x%)", "missed (x%)".
    pub ncd: Vec<(String, String, String)>,
    pub measured: String,
    pub underweight: String,
    pub stunting: String,
    pub wasting: String,
    pub overweight: String,
    pub elderly: String,
    pub elderly_checked: String,
    pub elderly_due: String,
}

/// The tables of a report: a row per unit below, then the total when there are several.
#[derive(Clone, Debug)]
pub(crate) struct ProgrammesView {
    pub cohort: i32,
    pub as_of: String,
    pub dose_labels: Vec<&'static str>,
    pub register_labels: Vec<&'static str>,
    pub rows: Vec<ProgrammeRow>,
    pub footer: Vec<ProgrammeRow>,
    /// The headline figures of the whole unit.
    pub full_12m_rate: String,
    pub dtp_dropout_rate: String,
    pub elderly_checked_rate: String,
}

fn with(n: i64, p: f64) -> String {
    format!("{} ({})", super::int(n), super::vn_pct(p))
}

pub(crate) fn row(name: String, x: &ProgrammeFigures) -> ProgrammeRow {
    let n = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let p = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(0.0);
    ProgrammeRow {
        name,
        children: super::int(x.children),
        doses: DOSES
            .iter()
            .map(|(k, _)| with(n(&x.doses, k), p(&x.coverage, k)))
            .collect(),
        full_12m: format!(
            "{} / {} ({})",
            super::int(x.full_12m),
            super::int(x.one_year_old),
            super::vn_pct(x.full_12m_rate)
        ),
        dropout: super::vn_pct(x.dtp_dropout_rate),
        ncd: REGISTERS
            .iter()
            .map(|(k, _)| {
                let f = x.ncd.get(*k).cloned().unwrap_or_default();
                (
                    super::int(f.managed),
                    with(f.controlled, p(&x.ncd_controlled_rate, k)),
                    with(f.missed, p(&x.ncd_missed_rate, k)),
                )
            })
            .collect(),
        measured: format!(
            "{} / {}",
            super::int(x.growth.measured),
            super::int(x.growth.children)
        ),
        underweight: with(x.growth.underweight, x.underweight_rate),
        stunting: with(x.growth.stunting, x.stunting_rate),
        wasting: with(x.growth.wasting, x.wasting_rate),
        overweight: with(x.growth.overweight, x.overweight_rate),
        elderly: super::int(x.elderly),
        elderly_checked: with(x.elderly_checked, x.elderly_checked_rate),
        elderly_due: super::int(x.elderly_due),
    }
}

fn unit_name(u: &UnitRef) -> String {
    if u.code.is_empty() {
        u.name.clone()
    } else {
        format!("{} ({})", u.name, u.code)
    }
}

pub(crate) fn view(r: &ProgrammesReport) -> ProgrammesView {
    let rows: Vec<ProgrammeRow> = r
        .by_unit
        .iter()
        .map(|(u, x)| row(unit_name(u), x))
        .collect();
    let footer = if r.by_unit.len() > 1 {
        vec![row("Tổng cộng".into(), &r.total)]
    } else {
        Vec::new()
    };
    ProgrammesView {
        cohort: r.cohort,
        as_of: super::day_text(&r.as_of),
        dose_labels: DOSES.iter().map(|(_, l)| *l).collect(),
        register_labels: REGISTERS.iter().map(|(_, l)| *l).collect(),
        rows,
        footer,
        full_12m_rate: super::vn_pct(r.total.full_12m_rate),
        dtp_dropout_rate: super::vn_pct(r.total.dtp_dropout_rate),
        elderly_checked_rate: super::vn_pct(r.total.elderly_checked_rate),
    }
}

/// The PDF tables of the monthly report: vaccination; chronic diseases; growth and the
/// elderly.
pub(crate) fn pdf_tables(r: &ProgrammesReport) -> Vec<pdf::report::Table> {
    use pdf::report::Align::{Left, Right};
    let v = view(r);
    let all: Vec<&ProgrammeRow> = v.rows.iter().chain(v.footer.iter()).collect();
    let total = !v.footer.is_empty();
    let mut vacc_header = vec!["Đơn vị".to_string(), "Trẻ trong đoàn hệ".to_string()];
    vacc_header.extend(v.dose_labels.iter().map(|l| l.to_string()));
    vacc_header.push("TCĐĐ lúc 12 tháng".into());
    vacc_header.push("Bỏ cuộc DPT1→DPT3".into());
    let mut vacc_widths = vec![40.0, 16.0];
    vacc_widths.extend([19.0; DOSES.len()]);
    vacc_widths.extend([26.0, 16.0]);
    let mut vacc_align = vec![Left];
    vacc_align.extend(vec![Right; DOSES.len() + 3]);
    let vaccination = pdf::report::Table {
        heading: format!(
            "Tiêm chủng mở rộng: trẻ sinh năm {} (tính đến ngày {})",
            v.cohort, v.as_of
        ),
        header: vacc_header,
        widths: vacc_widths,
        align: vacc_align,
        rows: all
            .iter()
            .map(|x| {
                let mut cells = vec![x.name.clone(), x.children.clone()];
                cells.extend(x.doses.iter().cloned());
                cells.push(x.full_12m.clone());
                cells.push(x.dropout.clone());
                cells
            })
            .collect(),
        total,
    };
    let mut ncd_header = vec!["Đơn vị".to_string()];
    for l in &v.register_labels {
        ncd_header.push(format!("{l}: đang quản lý"));
        ncd_header.push(format!("{l}: kiểm soát"));
        ncd_header.push(format!("{l}: bỏ lỡ hẹn"));
    }
    let mut ncd_widths = vec![43.0];
    ncd_widths.extend([19.5; REGISTERS.len() * 3]);
    let mut ncd_align = vec![Left];
    ncd_align.extend(vec![Right; REGISTERS.len() * 3]);
    let ncd = pdf::report::Table {
        heading: "Quản lý bệnh không lây nhiễm tại trạm y tế".into(),
        header: ncd_header,
        widths: ncd_widths,
        align: ncd_align,
        rows: all
            .iter()
            .map(|x| {
                let mut cells = vec![x.name.clone()];
                for (m, c, missed) in &x.ncd {
                    cells.extend([m.clone(), c.clone(), missed.clone()]);
                }
                cells
            })
            .collect(),
        total,
    };
    let growth = pdf::report::Table {
        heading: "Dinh dưỡng trẻ dưới 5 tuổi (lần đo gần nhất, chuẩn WHO 2006) và khám sức khỏe người cao tuổi".into(),
        header: [
            "Đơn vị",
            "Trẻ đã đo / trẻ dưới 5 tuổi",
            "Nhẹ cân",
            "Thấp còi",
            "Gầy còm",
            "Thừa cân, béo phì",
            "Người cao tuổi có hồ sơ",
            "Đã khám trong năm",
            "Chưa khám (đến hạn)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        widths: vec![45.0, 28.0, 26.0, 26.0, 26.0, 26.0, 24.0, 28.0, 24.0],
        align: vec![Left, Right, Right, Right, Right, Right, Right, Right, Right],
        rows: all
            .iter()
            .map(|x| {
                vec![
                    x.name.clone(),
                    x.measured.clone(),
                    x.underweight.clone(),
                    x.stunting.clone(),
                    x.wasting.clone(),
                    x.overweight.clone(),
                    x.elderly.clone(),
                    x.elderly_checked.clone(),
                    x.elderly_due.clone(),
                ]
            })
            .collect(),
        total,
    };
    vec![vaccination, ncd, growth]
}
