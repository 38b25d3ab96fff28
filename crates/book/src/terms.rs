//! Terminology the book shows beside what dossiers carry: ICD-10 names (XML1 lists
//! secondary diagnoses as codes only) and reference ranges of laboratory indicators
//! (XML4 carries none). Both are data files, read once.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use rust_decimal::Decimal;

use crate::episode::TestResult;

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

static ICD10: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    rows(include_str!("../data/icd10-vi.tsv"))
        .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
        .collect()
});

/// The Vietnamese name of an ICD-10 code, when the list has it.
pub fn icd10_name(code: &str) -> Option<&'static str> {
    ICD10.get(code.trim()).copied()
}

static DEPARTMENTS: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    rows(include_str!("../data/departments.tsv"))
        .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
        .collect()
});

/// The name of a department code (`MA_KHOA`), when the list has it.
pub fn department_name(code: &str) -> Option<&'static str> {
    DEPARTMENTS.get(code.trim()).copied()
}

static CHRONIC: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    rows(include_str!("../data/chronic-icd10.tsv"))
        .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
        .collect()
});

/// The group of a chronic condition (`data/chronic-icd10.tsv`), when the code is one:
/// such a diagnosis stays on the problem list from the whole history.
pub fn chronic_group(code: &str) -> Option<&'static str> {
    let code = code.trim();
    CHRONIC
        .iter()
        .filter(|(prefix, _)| code.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, g)| *g)
}

/// A reference range of a laboratory indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub low: Decimal,
    pub high: Decimal,
    pub unit: &'static str,
}

static RANGES: LazyLock<HashMap<&'static str, Range>> = LazyLock::new(|| {
    rows(include_str!("../data/lab-reference.tsv"))
        .filter_map(|c| {
            Some((
                *c.first()?,
                Range {
                    unit: c.get(1)?,
                    low: Decimal::from_str(c.get(2)?).ok()?,
                    high: Decimal::from_str(c.get(3)?).ok()?,
                },
            ))
        })
        .collect()
});

/// The adult reference range of an indicator (`MA_CHI_SO`), when known.
pub fn lab_range(code: &str) -> Option<Range> {
    RANGES.get(code.trim()).copied()
}

/// Where a result lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Low,
    High,
    /// Outside the normal by the facility's word ("Bất thường", "Dương tính").
    Abnormal,
}

impl Flag {
    pub fn label(self) -> &'static str {
        match self {
            Flag::Low => "Thấp",
            Flag::High => "Cao",
            Flag::Abnormal => "Bất thường",
        }
    }
}

/// A number as dossiers write it ("5.6"; some systems "5,6").
pub fn number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    Decimal::from_str(t)
        .ok()
        .or_else(|| Decimal::from_str(&t.replace(',', ".")).ok())
}

/// Whether a result is out of range: the facility's conclusion first ("Cao", "Thấp",
/// "Bất thường"…), else its value against the reference range when the units agree.
pub fn flag(r: &TestResult) -> Option<Flag> {
    let c = crate::text::fold(r.conclusion.as_deref().unwrap_or(""));
    let said = |w: &str| c == w || c.starts_with(&format!("{w} "));
    if said("cao") || said("high") || said("tang") {
        return Some(Flag::High);
    }
    if said("thap") || said("low") || said("giam") {
        return Some(Flag::Low);
    }
    if crate::summary::is_abnormal(r) {
        return Some(Flag::Abnormal);
    }
    let range = lab_range(r.indicator_code.as_deref()?)?;
    let unit = r.unit.as_deref().unwrap_or("").trim();
    if !unit.is_empty() && !range.unit.is_empty() && unit != range.unit {
        return None;
    }
    let v = number(r.value.as_deref()?)?;
    if v < range.low {
        Some(Flag::Low)
    } else if v > range.high {
        Some(Flag::High)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges_load() {
        assert_eq!(
            icd10_name("I10"),
            Some("Tăng huyết áp vô căn (nguyên phát)")
        );
        assert_eq!(icd10_name("Z99.9"), None);
        assert_eq!(chronic_group("E11.2"), Some("Đái tháo đường"));
        assert_eq!(chronic_group("N18.5"), Some("Bệnh thận mạn"));
        assert_eq!(chronic_group("C34.9"), Some("Ung thư"));
        assert_eq!(chronic_group("J02.9"), None);
        let glu = lab_range("GLU").unwrap();
        assert_eq!(
            (glu.low, glu.high, glu.unit),
            (Decimal::new(39, 1), Decimal::new(64, 1), "mmol/L")
        );
    }

    fn result(code: &str, value: &str, unit: &str, conclusion: Option<&str>) -> TestResult {
        TestResult {
            kind: crate::episode::ResultKind::Lab,
            service_code: None,
            service_name: None,
            indicator_code: Some(code.into()),
            indicator: None,
            value: Some(value.into()),
            unit: Some(unit.into()),
            description: None,
            conclusion: conclusion.map(Into::into),
            at: None,
        }
    }

    #[test]
    fn values_are_flagged_against_the_range_unless_the_facility_said() {
        assert_eq!(
            flag(&result("GLU", "9.8", "mmol/L", None)),
            Some(Flag::High)
        );
        assert_eq!(flag(&result("GLU", "3,1", "mmol/L", None)), Some(Flag::Low));
        assert_eq!(flag(&result("GLU", "5.0", "mmol/L", None)), None);
        // Another unit: no comparison.
        assert_eq!(flag(&result("GLU", "90", "mg/dL", None)), None);
        assert_eq!(
            flag(&result("GLU", "5.0", "mmol/L", Some("Cao"))),
            Some(Flag::High)
        );
        assert_eq!(
            flag(&result("XYZ", "5.0", "", Some("Dương tính"))),
            Some(Flag::Abnormal)
        );
    }

    #[test]
    fn the_generators_indicators_and_diagnoses_are_known() {
        // The synthetic dossiers use the same indicator codes and ranges, and every
        // secondary diagnosis they write has a name here.
        let cat = synth::catalog::catalog();
        for t in cat.tests.iter() {
            for i in &t.indicators {
                let r = lab_range(i.code).unwrap_or_else(|| panic!("no range for {}", i.code));
                assert_eq!((r.low, r.high), (i.low, i.high), "{}", i.code);
            }
        }
        for d in &cat.departments {
            assert_eq!(department_name(d.code), Some(d.name));
        }
        for d in &cat.diagnoses {
            assert!(icd10_name(d.icd10).is_some(), "no name for {}", d.icd10);
            for s in &d.secondary {
                assert!(icd10_name(s).is_some(), "no name for {s}");
            }
        }
    }
}
