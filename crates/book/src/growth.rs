//! Children's growth by the WHO Child Growth Standards 2006, the standard Viện Dinh
//! dưỡng uses for child malnutrition (ehr-831.md §3.5).
//!
//! - The LMS parameters are data: `book/data/who_growth.tsv` (the official WHO tables as
//!   shipped by the PyPI package `pygrowup` 0.8.2, provenance in the file's header;
//!   `who_growth.py` converts them). Weight-for-age, length-for-age (0–24 months) and
//!   height-for-age (24–60), weight-for-length (45–110 cm) and weight-for-height
//!   (65–120 cm), BMI-for-age (0–24 on length, 24–60 on height).
//! - Age is in **completed months** (days / 30.4375, rounded down: the rule of the
//!   field tables Viện Dinh dưỡng uses), from birth date to measurement date.
//! - Length or height: under 24 months a child is measured lying (length); a standing
//!   measurement gets +0.7 cm. From 24 months standing (height); a lying one gets −0.7
//!   cm (WHO). Weight-for-length/height between the 0.5 cm rows of the tables
//!   interpolates L, M and S linearly.
//! - z = ((y/M)^L − 1) / (L·S); for weight-based indices beyond ±3 the WHO restricted
//!   form (distance past SD3 in units of SD3 − SD2), as the WHO igrowup software does.
//! - [`assess`] → [`Assessment`]: the z-scores and the four classifications
//!   (underweight = weight-for-age, stunting = length/height-for-age, wasting =
//!   weight-for-length/height, each `< −2` moderate and `< −3` severe; overweight
//!   weight-for-length/height `> +2`, obese `> +3`); oedema makes wasting severe.
//! - [`curve`] gives the −3…+3 SD lines of an index for the growth chart.
//!
//! Only raw measurements are stored (store `growth_measurements`); classifications are
//! derived when read, and kept as clear flags for counting.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The index a z-score is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Index {
    /// Weight-for-age (cân nặng theo tuổi, CN/T).
    WeightForAge,
    /// Length/height-for-age (chiều cao theo tuổi, CC/T).
    HeightForAge,
    /// Weight-for-length/height (cân nặng theo chiều cao, CN/CC).
    WeightForHeight,
    /// BMI-for-age.
    BmiForAge,
}

impl Index {
    pub const ALL: [Index; 4] = [
        Index::WeightForAge,
        Index::HeightForAge,
        Index::WeightForHeight,
        Index::BmiForAge,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Index::WeightForAge => "wfa",
            Index::HeightForAge => "hfa",
            Index::WeightForHeight => "wfh",
            Index::BmiForAge => "bfa",
        }
    }

    pub fn from_code(code: &str) -> Option<Index> {
        Index::ALL.into_iter().find(|i| i.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Index::WeightForAge => "Cân nặng theo tuổi",
            Index::HeightForAge => "Chiều dài/chiều cao theo tuổi",
            Index::WeightForHeight => "Cân nặng theo chiều dài/chiều cao",
            Index::BmiForAge => "BMI theo tuổi",
        }
    }
}

/// Sex as QĐ 130 codes it: `1` male, `2` female.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn from_code(code: &str) -> Option<Sex> {
        match code.trim() {
            "1" => Some(Sex::Male),
            "2" => Some(Sex::Female),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
        }
    }
}

/// One LMS row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lms {
    pub l: f64,
    pub m: f64,
    pub s: f64,
}

impl Lms {
    /// The value at z (the SD lines of the chart).
    pub fn value(&self, z: f64) -> f64 {
        if self.l.abs() < 1e-12 {
            self.m * (self.s * z).exp()
        } else {
            self.m * (1.0 + self.l * self.s * z).powf(1.0 / self.l)
        }
    }

    /// The plain LMS z-score of `y`.
    pub fn z(&self, y: f64) -> f64 {
        if self.l.abs() < 1e-12 {
            (y / self.m).ln() / self.s
        } else {
            ((y / self.m).powf(self.l) - 1.0) / (self.l * self.s)
        }
    }

    /// The WHO restricted z-score (weight-based indices): beyond ±3 measured in units
    /// of the distance between the 2 and 3 SD lines.
    pub fn z_restricted(&self, y: f64) -> f64 {
        let z = self.z(y);
        if z > 3.0 {
            let (sd3, sd2) = (self.value(3.0), self.value(2.0));
            3.0 + (y - sd3) / (sd3 - sd2)
        } else if z < -3.0 {
            let (sd3, sd2) = (self.value(-3.0), self.value(-2.0));
            -3.0 - (sd3 - y) / (sd2 - sd3)
        } else {
            z
        }
    }
}

/// Rows of one table: x (months, or cm × 10 for length/height tables) → LMS.
type Table = Vec<(i32, Lms)>;

static TABLES: LazyLock<HashMap<(String, String), Table>> = LazyLock::new(|| {
    let mut out: HashMap<(String, String), Table> = HashMap::new();
    for line in include_str!("../data/who_growth.tsv").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        let (Some(t), Some(sex), Some(x), Some(l), Some(m), Some(s)) = (
            c.first(),
            c.get(1),
            c.get(2).and_then(|v| v.parse::<f64>().ok()),
            c.get(3).and_then(|v| v.parse::<f64>().ok()),
            c.get(4).and_then(|v| v.parse::<f64>().ok()),
            c.get(5).and_then(|v| v.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let key = if t.starts_with('w') && (t.ends_with('l') || t.ends_with('h')) && *t != "wfa" {
            (x * 10.0).round() as i32
        } else {
            x.round() as i32
        };
        out.entry((t.to_string(), sex.to_string()))
            .or_default()
            .push((key, Lms { l, m, s }));
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|r| r.0);
    }
    out
});

fn table(name: &str, sex: Sex) -> &'static [(i32, Lms)] {
    TABLES
        .get(&(name.to_string(), sex.code().to_string()))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn at_month(name: &str, sex: Sex, month: u32) -> Option<Lms> {
    table(name, sex)
        .iter()
        .find(|(x, _)| *x == month as i32)
        .map(|(_, l)| *l)
}

/// LMS at a length/height in cm, interpolated between the table's 0.5 cm rows.
fn at_length(name: &str, sex: Sex, cm: f64) -> Option<Lms> {
    let rows = table(name, sex);
    let x = cm * 10.0;
    let i = rows.iter().position(|(k, _)| f64::from(*k) >= x - 1e-9)?;
    let (k1, b) = rows[i];
    if (f64::from(k1) - x).abs() < 1e-9 {
        return Some(b);
    }
    if i == 0 {
        return None;
    }
    let (k0, a) = rows[i - 1];
    let t = (x - f64::from(k0)) / f64::from(k1 - k0);
    Some(Lms {
        l: a.l + (b.l - a.l) * t,
        m: a.m + (b.m - a.m) * t,
        s: a.s + (b.s - a.s) * t,
    })
}

/// Completed months between birth and the measurement (None before birth).
pub fn age_months(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    let days = (on - birth).num_days();
    if days < 0 {
        return None;
    }
    Some((days as f64 / 30.4375).floor() as u32)
}

/// Whether a child is under 5 on `today` (the growth book's children).
pub fn under_five(birth: NaiveDate, today: NaiveDate) -> bool {
    age_months(birth, today).is_some_and(|m| m < 60)
}

/// One measurement as taken.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// `yyyy-mm-dd`.
    pub date: String,
    pub weight_kg: Option<f64>,
    /// Length (lying) or height (standing), cm, as measured.
    pub length_cm: Option<f64>,
    /// Measured lying (recumbent length); `None`: as the age calls for.
    #[serde(default)]
    pub lying: Option<bool>,
    /// Bilateral pitting oedema.
    #[serde(default)]
    pub oedema: bool,
}

/// A classification's grade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Normal,
    Moderate,
    Severe,
}

impl Grade {
    fn of_low(z: Option<f64>) -> Option<Grade> {
        z.map(|z| {
            if z < -3.0 {
                Grade::Severe
            } else if z < -2.0 {
                Grade::Moderate
            } else {
                Grade::Normal
            }
        })
    }

    /// 0 normal, 1 moderate, 2 severe (the store's counting columns).
    pub fn level(self) -> i64 {
        match self {
            Grade::Normal => 0,
            Grade::Moderate => 1,
            Grade::Severe => 2,
        }
    }
}

/// Above the weight-for-length/height line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    Normal,
    /// > +2 SD: thừa cân.
    Overweight,
    /// > +3 SD: béo phì.
    Obese,
}

impl Weight {
    pub fn level(self) -> i64 {
        match self {
            Weight::Normal => 0,
            Weight::Overweight => 1,
            Weight::Obese => 2,
        }
    }
}

/// What a measurement says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    pub age_months: u32,
    /// Length/height after the lying/standing adjustment, cm.
    pub length_cm: Option<f64>,
    pub bmi: Option<f64>,
    /// z-scores rounded to 2 decimals.
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub bmiz: Option<f64>,
    pub underweight: Option<Grade>,
    pub stunting: Option<Grade>,
    pub wasting: Option<Grade>,
    pub overweight: Option<Weight>,
}

impl Assessment {
    /// The Vietnamese names of what is wrong, worst first ("SDD thể thấp còi nặng", …).
    pub fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut low = |g: Option<Grade>, name: &str| match g {
            Some(Grade::Severe) => out.push(format!("{name} nặng")),
            Some(Grade::Moderate) => out.push(format!("{name} vừa")),
            _ => {}
        };
        low(self.underweight, "SDD thể nhẹ cân");
        low(self.stunting, "SDD thể thấp còi");
        low(self.wasting, "SDD thể gầy còm");
        match self.overweight {
            Some(Weight::Obese) => out.push("Béo phì".into()),
            Some(Weight::Overweight) => out.push("Thừa cân".into()),
            _ => {}
        }
        out
    }

    /// Malnourished in any form (moderate or severe).
    pub fn malnourished(&self) -> bool {
        [self.underweight, self.stunting, self.wasting]
            .iter()
            .any(|g| matches!(g, Some(Grade::Moderate | Grade::Severe)))
    }
}

/// Why a measurement cannot be assessed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrowthError {
    /// Measured before birth.
    BeforeBirth,
    /// 60 months or older: the standards of this module stop at 5 years.
    TooOld,
}

impl std::fmt::Display for GrowthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrowthError::BeforeBirth => write!(f, "ngày đo trước ngày sinh"),
            GrowthError::TooOld => write!(f, "trẻ từ đủ 60 tháng tuổi: ngoài chuẩn 0–5 tuổi"),
        }
    }
}

impl std::error::Error for GrowthError {}

fn round2(z: f64) -> f64 {
    (z * 100.0).round() / 100.0
}

/// The z-scores and classifications of one measurement of a child of `sex` born on
/// `birth`.
pub fn assess(sex: Sex, birth: NaiveDate, m: &Measurement) -> Result<Assessment, GrowthError> {
    let on = crate::ehr::parse_date(&m.date).ok_or(GrowthError::BeforeBirth)?;
    let age = age_months(birth, on).ok_or(GrowthError::BeforeBirth)?;
    if age > 60 {
        return Err(GrowthError::TooOld);
    }
    let young = age < 24;
    let length = m.length_cm.filter(|v| *v > 0.0).map(|v| {
        let lying = m.lying.unwrap_or(young);
        match (young, lying) {
            (true, false) => v + 0.7,
            (false, true) => v - 0.7,
            _ => v,
        }
    });
    let weight = m.weight_kg.filter(|v| *v > 0.0);
    let waz = weight
        .zip(at_month("wfa", sex, age))
        .map(|(w, lms)| lms.z_restricted(w));
    let haz = length
        .zip(at_month(if young { "lfa" } else { "hfa" }, sex, age))
        .map(|(h, lms)| lms.z(h));
    let whz = match (weight, length) {
        (Some(w), Some(h)) => {
            at_length(if young { "wfl" } else { "wfh" }, sex, h).map(|lms| lms.z_restricted(w))
        }
        _ => None,
    };
    let bmi = weight.zip(length).map(|(w, h)| w / (h / 100.0).powi(2));
    let bmiz = bmi
        .zip(at_month(if young { "bfl" } else { "bfh" }, sex, age))
        .map(|(b, lms)| lms.z_restricted(b));
    let (waz, haz, whz, bmiz) = (
        waz.map(round2),
        haz.map(round2),
        whz.map(round2),
        bmiz.map(round2),
    );
    let wasting = if m.oedema {
        Some(Grade::Severe)
    } else {
        Grade::of_low(whz)
    };
    Ok(Assessment {
        age_months: age,
        length_cm: length.map(|v| (v * 10.0).round() / 10.0),
        bmi: bmi.map(|b| (b * 10.0).round() / 10.0),
        underweight: Grade::of_low(waz),
        stunting: Grade::of_low(haz),
        wasting,
        overweight: whz.map(|z| {
            if z > 3.0 {
                Weight::Obese
            } else if z > 2.0 {
                Weight::Overweight
            } else {
                Weight::Normal
            }
        }),
        waz,
        haz,
        whz,
        bmiz,
    })
}

/// The SD lines (−3, −2, 0, +2, +3) of an age-based index for the chart, by month 0–60:
/// `(month, [five values])`. Weight-for-length/height is charted against length.
pub fn curve(index: Index, sex: Sex) -> Vec<(f64, [f64; 5])> {
    let zs = [-3.0, -2.0, 0.0, 2.0, 3.0];
    let line = |lms: Lms| zs.map(|z| lms.value(z));
    match index {
        Index::WeightForHeight => table("wfl", sex)
            .iter()
            .filter(|(k, _)| *k < 650)
            .chain(table("wfh", sex).iter())
            .map(|(k, lms)| (f64::from(*k) / 10.0, line(*lms)))
            .collect(),
        _ => (0..=60u32)
            .filter_map(|month| {
                let name = match index {
                    Index::WeightForAge => "wfa",
                    Index::HeightForAge if month < 24 => "lfa",
                    Index::HeightForAge => "hfa",
                    Index::BmiForAge if month < 24 => "bfl",
                    _ => "bfh",
                };
                at_month(name, sex, month).map(|lms| (f64::from(month), line(lms)))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::ehr::parse_date(s).unwrap()
    }

    fn m(date: &str, w: Option<f64>, l: Option<f64>) -> Measurement {
        Measurement {
            date: date.into(),
            weight_kg: w,
            length_cm: l,
            lying: None,
            oedema: false,
        }
    }

    #[test]
    fn tables_are_complete() {
        for sex in [Sex::Male, Sex::Female] {
            assert_eq!(table("wfa", sex).len(), 61);
            assert_eq!(table("lfa", sex).len(), 25);
            assert_eq!(table("hfa", sex).len(), 37);
            assert_eq!(table("wfl", sex).len(), 131);
            assert_eq!(table("wfh", sex).len(), 111);
            assert_eq!(table("bfl", sex).len(), 25);
            assert_eq!(table("bfh", sex).len(), 37);
        }
        // WHO: boys' weight-for-age at birth L 0.3487, M 3.3464, S 0.14602.
        let lms = at_month("wfa", Sex::Male, 0).unwrap();
        assert_eq!((lms.l, lms.m, lms.s), (0.3487, 3.3464, 0.14602));
    }

    #[test]
    fn completed_months() {
        assert_eq!(age_months(d("2024-01-15"), d("2024-01-15")), Some(0));
        // 365 days / 30.4375 = 11.99: still 11 completed months.
        assert_eq!(age_months(d("2023-01-15"), d("2024-01-15")), Some(11));
        assert_eq!(age_months(d("2023-01-15"), d("2024-01-16")), Some(12));
        assert_eq!(age_months(d("2024-01-15"), d("2024-01-14")), None);
    }

    /// Hand-worked: boy 12 completed months (WHO wfa boys month 12: L 0.0644,
    /// M 9.6479, S 0.10925), weight 7.7 kg: ((7.7/9.6479)^0.0644 − 1)/(0.0644·0.10925)
    /// = (0.985587 − 1)/0.0070357 = −2.05 → moderately underweight.
    #[test]
    fn weight_for_age_by_hand() {
        let lms = at_month("wfa", Sex::Male, 12).unwrap();
        assert_eq!((lms.l, lms.m, lms.s), (0.0644, 9.6479, 0.10925));
        let a = assess(
            Sex::Male,
            d("2023-01-01"),
            &m("2024-01-05", Some(7.7), None),
        )
        .unwrap();
        assert_eq!(a.age_months, 12);
        assert_eq!(a.waz, Some(-2.05));
        assert_eq!(a.underweight, Some(Grade::Moderate));
        // At the median exactly: 0.
        let a = assess(
            Sex::Male,
            d("2023-01-01"),
            &m("2024-01-05", Some(9.6479), None),
        )
        .unwrap();
        assert_eq!(a.waz, Some(0.0));
        assert_eq!(a.underweight, Some(Grade::Normal));
    }

    /// Hand-worked: girl 24 months measured standing 80.0 cm (WHO hfa girls month 24:
    /// L 1, M 85.7153, S 0.03764): (80/85.7153 − 1)/0.03764 = −1.77 → not stunted; lying
    /// 80.0 at 24 months counts as 79.3 cm standing: (79.3/85.7153 − 1)/0.03764 = −1.99.
    /// Boy 30 months 84.0 cm (M 91.9327, S 0.03704): (84/91.9327 − 1)/0.03704 = −2.33 →
    /// moderate stunting.
    #[test]
    fn height_for_age_by_hand() {
        let lms = at_month("hfa", Sex::Female, 24).unwrap();
        assert_eq!((lms.l, lms.m, lms.s), (1.0, 85.7153, 0.03764));
        let girl = d("2022-03-01");
        let a = assess(Sex::Female, girl, &m("2024-03-10", None, Some(80.0))).unwrap();
        assert_eq!((a.age_months, a.haz), (24, Some(-1.77)));
        assert_eq!(a.stunting, Some(Grade::Normal));
        let mut lying = m("2024-03-10", None, Some(80.0));
        lying.lying = Some(true);
        let a = assess(Sex::Female, girl, &lying).unwrap();
        assert_eq!((a.length_cm, a.haz), (Some(79.3), Some(-1.99)));
        let lms = at_month("hfa", Sex::Male, 30).unwrap();
        assert_eq!((lms.m, lms.s), (91.9327, 0.03704));
        let a = assess(
            Sex::Male,
            d("2022-01-01"),
            &m("2024-07-05", None, Some(84.0)),
        )
        .unwrap();
        assert_eq!((a.age_months, a.haz), (30, Some(-2.33)));
        assert_eq!(a.stunting, Some(Grade::Moderate));
    }

    /// Weight-for-length: WHO wfl boys 70.0 cm is L −0.3521, M 8.4227, S 0.08229. At M
    /// the z-score is 0, at the −2 SD line −2; below −3 the restricted form counts the
    /// distance past SD3 in units of (SD2 − SD3): half of it past is −3.5.
    #[test]
    fn weight_for_length_and_restricted() {
        let lms = at_length("wfl", Sex::Male, 70.0).unwrap();
        assert_eq!((lms.l, lms.m, lms.s), (-0.3521, 8.4227, 0.08229));
        // Between rows: 70.25 cm is the mean of 70.0 and 70.5.
        let a = at_length("wfl", Sex::Male, 70.0).unwrap();
        let b = at_length("wfl", Sex::Male, 70.5).unwrap();
        let mid = at_length("wfl", Sex::Male, 70.25).unwrap();
        assert!((mid.m - (a.m + b.m) / 2.0).abs() < 1e-9);
        // At the median: 0; at the −2 SD line: −2.
        let r = assess(
            Sex::Male,
            d("2023-01-01"),
            &m("2023-11-05", Some(8.4227), Some(70.0)),
        )
        .unwrap();
        assert_eq!(r.whz, Some(0.0));
        let sd2 = lms.value(-2.0);
        let r = assess(
            Sex::Male,
            d("2023-01-01"),
            &m("2023-11-05", Some(sd2), Some(70.0)),
        )
        .unwrap();
        assert_eq!(r.whz, Some(-2.0));
        // Restricted below −3: a weight half-way between SD3 and SD3 − (SD2 − SD3) is −3.5.
        let (sd3, sd2) = (lms.value(-3.0), lms.value(-2.0));
        let w = sd3 - (sd2 - sd3) / 2.0;
        let r = assess(
            Sex::Male,
            d("2023-01-01"),
            &m("2023-11-05", Some(w), Some(70.0)),
        )
        .unwrap();
        assert_eq!(r.whz, Some(-3.5));
        assert_eq!(r.wasting, Some(Grade::Severe));
        assert!(r.findings().contains(&"SDD thể gầy còm nặng".to_string()));
    }

    /// Hand-worked: girl 36 months, 95.0 cm, 17.5 kg. WHO wfh girls 95.0 cm: L −0.3833,
    /// M 13.8914, S 0.08975: ((17.5/13.8914)^−0.3833 − 1)/(−0.3833·0.08975) = 2.46 →
    /// overweight (above +2, not above +3).
    #[test]
    fn overweight_and_oedema() {
        let lms = at_length("wfh", Sex::Female, 95.0).unwrap();
        assert_eq!((lms.l, lms.m, lms.s), (-0.3833, 13.8914, 0.08975));
        assert_eq!(round2(lms.z(17.5)), 2.46);
        let r = assess(
            Sex::Female,
            d("2021-01-01"),
            &m("2024-01-20", Some(17.5), Some(95.0)),
        )
        .unwrap();
        assert_eq!(r.overweight, Some(Weight::Overweight));
        assert_eq!(r.findings(), vec!["Thừa cân".to_string()]);
        let mut o = m("2024-01-20", Some(14.0), Some(95.0));
        o.oedema = true;
        let r = assess(Sex::Female, d("2021-01-01"), &o).unwrap();
        assert_eq!(r.wasting, Some(Grade::Severe));
        assert!(matches!(
            assess(Sex::Female, d("2018-01-01"), &o),
            Err(GrowthError::TooOld)
        ));
    }

    #[test]
    fn curves_for_charts() {
        let c = curve(Index::WeightForAge, Sex::Male);
        assert_eq!(c.len(), 61);
        // The median line is M; the SD lines are ordered.
        assert!((c[12].1[2] - 9.6479).abs() < 1e-9);
        assert!(c.iter().all(|(_, v)| v.windows(2).all(|w| w[0] < w[1])));
        assert_eq!(curve(Index::WeightForHeight, Sex::Female).len(), 40 + 111);
        assert_eq!(curve(Index::HeightForAge, Sex::Female).len(), 61);
    }
}
