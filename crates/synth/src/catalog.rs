//! Reference data for the generator: names, places, facilities, departments, services,
//! drugs, tests, procedures and diagnoses with the care that follows them. The data
//! are the tab-separated files of `crates/synth/data/` (each explains its columns in
//! its header comment), built into the binary and parsed once, on first use. Every
//! entry is fictitious or public catalogue knowledge; no real person appears here.
//!
//! Amounts are whole đồng and reference ranges decimal strings, read as
//! [`Decimal`]: no binary float ever enters a dossier. Codes stay strings.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use rust_decimal::Decimal;

/// The data files, by name, as built into the crate.
pub const FILES: &[(&str, &str)] = &[
    ("names.tsv", include_str!("../data/names.tsv")),
    ("codes.tsv", include_str!("../data/codes.tsv")),
    ("places.tsv", include_str!("../data/places.tsv")),
    (
        "provinces2025.tsv",
        include_str!("../data/provinces2025.tsv"),
    ),
    ("communes2025.tsv", include_str!("../data/communes2025.tsv")),
    ("facilities.tsv", include_str!("../data/facilities.tsv")),
    ("departments.tsv", include_str!("../data/departments.tsv")),
    ("services.tsv", include_str!("../data/services.tsv")),
    ("drugs.tsv", include_str!("../data/drugs.tsv")),
    ("tests.tsv", include_str!("../data/tests.tsv")),
    ("indicators.tsv", include_str!("../data/indicators.tsv")),
    ("reports.tsv", include_str!("../data/reports.tsv")),
    ("procedures.tsv", include_str!("../data/procedures.tsv")),
    ("diagnoses.tsv", include_str!("../data/diagnoses.tsv")),
];

/// A data file that does not read, or a reference that does not resolve.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: no header line")]
    NoHeader { file: &'static str },
    #[error("{file}:{line}: {found} columns, the header has {expected}")]
    Columns {
        file: &'static str,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("{file}: no column {column:?}")]
    NoColumn {
        file: &'static str,
        column: &'static str,
    },
    #[error("{file}:{line}: {column} {value:?} is not valid: {why}")]
    Value {
        file: &'static str,
        line: usize,
        column: &'static str,
        value: &'static str,
        why: &'static str,
    },
    #[error("{file}:{line}: {what} {key:?} is not in the catalogue")]
    Unresolved {
        file: &'static str,
        line: usize,
        what: &'static str,
        key: &'static str,
    },
    #[error("{file}: {what} {key:?} appears twice")]
    Duplicate {
        file: &'static str,
        what: &'static str,
        key: &'static str,
    },
    #[error("{0}: no rows")]
    Empty(&'static str),
}

/// A province: the 2-digit administrative code (`MATINH_CU_TRU`, BHYT card chars 4–5,
/// facility-code prefix) and its name. The CCCD birth-registration code is "0" + `code`.
#[derive(Debug, PartialEq, Eq)]
pub struct Province {
    pub code: &'static str,
    pub name: &'static str,
    /// A few district codes (3 digits, QĐ 124/2004 style) with names.
    pub districts: Vec<District>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct District {
    pub code: &'static str,
    pub name: &'static str,
    /// Commune codes (5 digits) with names.
    pub communes: Vec<(&'static str, &'static str)>,
}

/// A province of the 2025 scheme (in force from 2025-07-01; real code and name) with
/// the pre-2025 provinces merged into it and the demo's 2025 communes in it.
#[derive(Debug, PartialEq, Eq)]
pub struct Province2025 {
    pub code: &'static str,
    pub name: &'static str,
    /// (old code, old name): the provinces before the reform it took in, whole.
    pub olds: Vec<(&'static str, &'static str)>,
    pub communes: Vec<Commune2025>,
}

/// A synthetic commune of the 2025 scheme (parent: its province; no district).
#[derive(Debug, PartialEq, Eq)]
pub struct Commune2025 {
    pub code: &'static str,
    pub name: &'static str,
    /// The pre-2025 communes it took in: (code, whole). `false`: a part of an old
    /// commune divided between several new ones.
    pub olds: Vec<(&'static str, bool)>,
}

/// A fictitious facility.
#[derive(Debug, PartialEq, Eq)]
pub struct FacilityRef {
    /// 5 digits, province code first.
    pub code: &'static str,
    pub name: &'static str,
    pub address: &'static str,
}

/// A department (`MA_KHOA`).
#[derive(Debug, PartialEq, Eq)]
pub struct Department {
    pub code: &'static str,
    pub name: &'static str,
    /// The examination its patients get (`BasicService::specialty`).
    pub specialty: &'static str,
    /// Index into `Catalog::beds` of its inpatients' bed-day; `None` for outpatients.
    pub bed: Option<usize>,
}

/// An examination (MA_NHOM 13) or bed-day (MA_NHOM 15/14) service.
#[derive(Debug, PartialEq, Eq)]
pub struct BasicService {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub price: Decimal,
    /// Examinations: the patients served ("medicine", "paediatrics", "surgery", "obstetrics").
    pub specialty: &'static str,
}

/// How a drug's quantity is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dosing {
    /// `per_dose` units `doses_per_day` times a day.
    Daily,
    /// A flow (oxygen): `per_dose` is the highest flow in units per minute; the quantity
    /// is flow × minutes given.
    Flow,
    /// `per_dose` units for the whole course, however long (an insulin vial lasts weeks).
    Course,
}

/// A drug line template (XML2).
#[derive(Debug, PartialEq, Eq)]
pub struct Drug {
    /// The key diagnoses name it by.
    pub key: &'static str,
    /// DMDC active-ingredient code (`MA_THUOC`).
    pub code: &'static str,
    pub name: &'static str,
    pub strength: &'static str,
    pub form: &'static str,
    /// `DUONG_DUNG` route code.
    pub route: &'static str,
    pub route_name: &'static str,
    pub unit: &'static str,
    pub per_dose: u32,
    pub doses_per_day: u32,
    pub unit_price: Decimal,
    /// `SO_DANG_KY`; empty for medical gases.
    pub registration: &'static str,
    /// What it does, e.g. "glucose_lowering", "antibiotic", "arv", "oxygen".
    pub class: &'static str,
    pub dosing: Dosing,
}

impl Drug {
    /// Oral (`DUONG_DUNG` 1.xx): can be taken home.
    pub fn oral(&self) -> bool {
        self.route.starts_with("1.")
    }
}

/// One measured indicator of a lab test (an XML4 row).
#[derive(Debug, PartialEq, Eq)]
pub struct Indicator {
    /// `MA_CHI_SO`.
    pub code: &'static str,
    pub name: &'static str,
    /// `DON_VI_DO`; empty for unitless values.
    pub unit: &'static str,
    pub low: Decimal,
    pub high: Decimal,
    pub decimals: u32,
}

/// A report of a test without indicators (`MO_TA`, `KET_LUAN`).
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// "normal", "abnormal" or a finding a diagnosis names.
    pub finding: &'static str,
    pub description: &'static str,
    pub conclusion: &'static str,
}

/// A paraclinical service (XML3 line, MA_NHOM 1/2/3) with its indicators or reports.
#[derive(Debug, PartialEq, Eq)]
pub struct Paraclinical {
    pub key: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    /// "1" lab, "2" imaging, "3" functional test.
    pub group: &'static str,
    pub price: Decimal,
    /// Lab indicators; empty when the result is a report.
    pub indicators: Vec<Indicator>,
    pub reports: Vec<Report>,
}

impl Paraclinical {
    pub fn report(&self, finding: &str) -> Option<&Report> {
        self.reports.iter().find(|r| r.finding == finding)
    }
}

/// A procedure (MA_NHOM 18) or surgery (MA_NHOM 8).
#[derive(Debug, PartialEq, Eq)]
pub struct Procedure {
    pub key: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    /// "8" surgery, "18" procedure.
    pub group: &'static str,
    /// ICD-9 CM code for `MA_PTTT_QT`.
    pub icd9: &'static str,
    pub price: Decimal,
    /// `PP_VO_CAM`, or "" when no anaesthesia.
    pub anaesthesia: &'static str,
}

impl Procedure {
    pub fn is_surgery(&self) -> bool {
        self.group == "8"
    }
}

/// Which way a lab value leaves its reference range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    High,
    Low,
}

/// A special programme whose own tables an episode carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    None,
    /// HIV care: XML6.
    Hiv,
    /// TB/HIV: XML6 and XML15.
    HivTb,
    /// TB treatment (HIV-negative): XML15 is not written, its ARV dates being required.
    Tb,
    /// A delivery: XML9.
    Delivery,
    /// A pregnancy that needs rest: XML10.
    Antenatal,
}

/// A diagnosis and the care that plausibly follows it.
#[derive(Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// ICD-10 with the dot.
    pub icd10: &'static str,
    pub name: &'static str,
    /// Care types it suits.
    pub care_types: Vec<&'static str>,
    /// Presenting complaint (`LY_DO_VV`).
    pub complaint: &'static str,
    /// Indices into `Catalog::drugs`, with whether the drug is always given.
    pub drugs: Vec<(usize, bool)>,
    /// Indices into `Catalog::tests`.
    pub tests: Vec<usize>,
    /// Indices into `Catalog::procedures`.
    pub procedures: Vec<usize>,
    pub secondary: Vec<&'static str>,
    pub min_age: u32,
    pub max_age: u32,
    /// "1" male, "2" female, "" either.
    pub sex: &'static str,
    /// `SO_NGAY_DTRI` range of an inpatient stay.
    pub stay: Option<(u32, u32)>,
    /// Lab indicators the diagnosis pushes out of range, by `MA_CHI_SO`.
    pub abnormal_values: Vec<(&'static str, Direction)>,
    /// Reports the diagnosis implies: (test index, finding).
    pub findings: Vec<(usize, &'static str)>,
    /// `MA_KHOA` of an inpatient stay.
    pub department: &'static str,
    /// Most days of a sick-leave certificate; 0 none.
    pub sick_leave: u32,
    pub program: Program,
}

impl Diagnosis {
    /// The direction this diagnosis pushes an indicator, if any.
    pub fn implies(&self, indicator: &str) -> Option<Direction> {
        self.abnormal_values
            .iter()
            .find(|(c, _)| *c == indicator)
            .map(|(_, d)| *d)
    }

    /// The report finding this diagnosis implies for test `t`.
    pub fn finding(&self, t: usize) -> &'static str {
        self.findings
            .iter()
            .find(|(x, _)| *x == t)
            .map_or("normal", |(_, f)| f)
    }

    /// Whether a procedure of this diagnosis is surgery.
    pub fn surgical(&self, c: &Catalog) -> bool {
        self.procedures
            .iter()
            .any(|&p| c.procedures[p].is_surgery())
    }
}

/// Every reference list.
#[derive(Debug)]
pub struct Catalog {
    /// Family names, most common first.
    pub surnames: Vec<&'static str>,
    pub middle_male: Vec<&'static str>,
    pub middle_female: Vec<&'static str>,
    pub given_male: Vec<&'static str>,
    pub given_female: Vec<&'static str>,
    /// Street and village names without a house number.
    pub streets: Vec<&'static str>,
    /// (`MA_NGHE_NGHIEP`, name); the first is used for minors.
    pub jobs: Vec<(&'static str, &'static str)>,
    /// (`MA_DANTOC`, name); Kinh first.
    pub ethnicities: Vec<(&'static str, &'static str)>,
    pub provinces: Vec<Province>,
    /// The 34 provinces of the 2025 scheme (every pre-2025 province merged into one of
    /// them) and synthetic 2025 communes made from the communes of `provinces`.
    pub provinces_2025: Vec<Province2025>,
    pub facilities: Vec<FacilityRef>,
    /// The first is the outpatient department.
    pub departments: Vec<Department>,
    pub exams: Vec<BasicService>,
    pub beds: Vec<BasicService>,
    pub drugs: Vec<Drug>,
    pub tests: Vec<Paraclinical>,
    pub procedures: Vec<Procedure>,
    /// The first fits every adult; together they cover every age of either sex.
    pub diagnoses: Vec<Diagnosis>,
}

impl Catalog {
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }
    pub fn drug(&self, key: &str) -> Option<&Drug> {
        self.drugs.iter().find(|d| d.key == key)
    }
    pub fn test(&self, key: &str) -> Option<&Paraclinical> {
        self.tests.iter().find(|d| d.key == key)
    }
    pub fn diagnosis(&self, icd10: &str) -> Option<&Diagnosis> {
        self.diagnoses.iter().find(|d| d.icd10 == icd10)
    }
    /// The drug of an XML2 line, by `MA_THUOC` and `TEN_THUOC`.
    pub fn drug_line(&self, code: &str, name: &str) -> Option<&Drug> {
        self.drugs.iter().find(|d| d.code == code && d.name == name)
    }
    /// The indicator of an XML4 row, by `MA_DICH_VU` and `MA_CHI_SO`.
    pub fn indicator(&self, service: &str, code: &str) -> Option<&Indicator> {
        self.tests
            .iter()
            .filter(|t| t.code == service)
            .flat_map(|t| &t.indicators)
            .find(|i| i.code == code)
    }
}

/// The catalogue, parsed on first use. The data are built in and checked by the
/// crate's tests, so a failure here is a build defect.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| match load() {
        Ok(c) => c,
        Err(e) => panic!("synth data files: {e}"),
    });
    &CATALOG
}

/// The provinces (pre-2025 scheme) with their districts and communes.
pub static PROVINCES: LazyLock<&'static [Province]> = LazyLock::new(|| &catalog().provinces);
/// The provinces of the 2025 scheme with the old provinces merged into them and the
/// synthetic 2025 communes.
pub static PROVINCES_2025: LazyLock<&'static [Province2025]> =
    LazyLock::new(|| &catalog().provinces_2025);
/// The fictitious facilities.
pub static FACILITIES: LazyLock<&'static [FacilityRef]> = LazyLock::new(|| &catalog().facilities);

/// One data file: its header and rows of cells, with line numbers.
struct Tsv {
    file: &'static str,
    header: Vec<&'static str>,
    rows: Vec<(usize, Vec<&'static str>)>,
}

impl Tsv {
    fn read(file: &'static str) -> Result<Tsv, CatalogError> {
        let text = FILES
            .iter()
            .find(|(n, _)| *n == file)
            .map_or("", |(_, t)| *t);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let header: Vec<&str> = lines
            .next()
            .ok_or(CatalogError::NoHeader { file })?
            .1
            .split('\t')
            .collect();
        let mut rows = Vec::new();
        for (line, l) in lines {
            let cells: Vec<&str> = l.split('\t').collect();
            if cells.len() != header.len() {
                return Err(CatalogError::Columns {
                    file,
                    line,
                    found: cells.len(),
                    expected: header.len(),
                });
            }
            rows.push((line, cells));
        }
        if rows.is_empty() {
            return Err(CatalogError::Empty(file));
        }
        Ok(Tsv { file, header, rows })
    }

    fn col(&self, column: &'static str) -> Result<usize, CatalogError> {
        self.header
            .iter()
            .position(|h| *h == column)
            .ok_or(CatalogError::NoColumn {
                file: self.file,
                column,
            })
    }

    /// Each row as a lookup by column name.
    fn records(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|(line, cells)| Row {
            tsv: self,
            line: *line,
            cells,
        })
    }
}

struct Row<'a> {
    tsv: &'a Tsv,
    line: usize,
    cells: &'a [&'static str],
}

impl Row<'_> {
    fn get(&self, column: &'static str) -> Result<&'static str, CatalogError> {
        Ok(self.cells[self.tsv.col(column)?])
    }
    fn bad(&self, column: &'static str, value: &'static str, why: &'static str) -> CatalogError {
        CatalogError::Value {
            file: self.tsv.file,
            line: self.line,
            column,
            value,
            why,
        }
    }
    fn nonempty(&self, column: &'static str) -> Result<&'static str, CatalogError> {
        let v = self.get(column)?;
        if v.trim().is_empty() {
            return Err(self.bad(column, v, "empty"));
        }
        Ok(v)
    }
    fn number(&self, column: &'static str) -> Result<u32, CatalogError> {
        let v = self.get(column)?;
        v.parse()
            .map_err(|_| self.bad(column, v, "not a whole number"))
    }
    /// Whole đồng or a decimal string; never negative.
    fn decimal(&self, column: &'static str) -> Result<Decimal, CatalogError> {
        let v = self.get(column)?;
        match Decimal::from_str(v) {
            Ok(d) if !d.is_sign_negative() => Ok(d),
            _ => Err(self.bad(column, v, "not a non-negative decimal")),
        }
    }
    /// A comma-separated list (empty cell: none).
    fn list(&self, column: &'static str) -> Result<Vec<&'static str>, CatalogError> {
        let v = self.get(column)?;
        Ok(v.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect())
    }
    fn unresolved(&self, what: &'static str, key: &'static str) -> CatalogError {
        CatalogError::Unresolved {
            file: self.tsv.file,
            line: self.line,
            what,
            key,
        }
    }
}

fn index_of<T>(items: &[T], key: impl Fn(&T) -> &str, wanted: &str) -> Option<usize> {
    items.iter().position(|x| key(x) == wanted)
}

/// The 2025 provinces and communes, checked against the old ones: every old province
/// goes into one new province, every old commune of `places.tsv` into one new commune
/// whole or into several in parts, and a new commune's old communes lie in its
/// province's old provinces.
fn load_2025(
    provinces: &[Province],
    communes: &[&(&'static str, &'static str)],
) -> Result<Vec<Province2025>, CatalogError> {
    const PROV: &str = "provinces2025.tsv";
    const COMM: &str = "communes2025.tsv";
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let mut out: Vec<Province2025> = Vec::new();
    for r in Tsv::read(PROV)?.records() {
        let (code, old) = (r.nonempty("code")?, r.nonempty("old_code")?);
        if !two_digits(code) {
            return Err(r.bad("code", code, "not 2 digits"));
        }
        if !two_digits(old) {
            return Err(r.bad("old_code", old, "not 2 digits"));
        }
        let old_name = r.nonempty("old_name")?;
        if let Some(p) = provinces.iter().find(|p| p.code == old)
            && p.name != old_name
        {
            return Err(r.bad("old_name", old_name, "not the name in places.tsv"));
        }
        if out.last().is_none_or(|p| p.code != code) {
            out.push(Province2025 {
                code,
                name: r.nonempty("name")?,
                olds: Vec::new(),
                communes: Vec::new(),
            });
        }
        if let Some(p) = out.last_mut() {
            p.olds.push((old, old_name));
        }
    }
    unique(PROV, "province", &out, |p| p.code)?;
    let olds: Vec<&(&str, &str)> = out.iter().flat_map(|p| &p.olds).collect();
    unique(PROV, "old province", &olds, |o| o.0)?;
    if let Some(p) = provinces
        .iter()
        .find(|p| !olds.iter().any(|o| o.0 == p.code))
    {
        return Err(CatalogError::Unresolved {
            file: PROV,
            line: 0,
            what: "old province of places.tsv",
            key: p.code,
        });
    }
    // Old commune → the old province it lies in.
    let province_of: HashMap<&str, &str> = provinces
        .iter()
        .flat_map(|p| {
            p.districts
                .iter()
                .flat_map(move |d| d.communes.iter().map(move |c| (c.0, p.code)))
        })
        .collect();
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in Tsv::read(COMM)?.records() {
        let (pc, code) = (r.nonempty("province")?, r.nonempty("code")?);
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(r.bad("code", code, "not 5 digits"));
        }
        let p = out
            .iter_mut()
            .find(|p| p.code == pc)
            .ok_or_else(|| r.unresolved("2025 province", pc))?;
        let mut c = Commune2025 {
            code,
            name: r.nonempty("name")?,
            olds: Vec::new(),
        };
        for part in r.nonempty("old")?.split(',') {
            let (old, whole) = match part.strip_suffix('~') {
                Some(o) => (o, false),
                None => (part, true),
            };
            let old_province = province_of
                .get(old)
                .ok_or_else(|| r.unresolved("old commune", old))?;
            if !p.olds.iter().any(|o| o.0 == *old_province) {
                return Err(r.bad("old", old, "lies in a province not merged into this one"));
            }
            let e = seen.entry(old).or_default();
            if whole {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
            c.olds.push((old, whole));
        }
        p.communes.push(c);
    }
    let new: Vec<&Commune2025> = out.iter().flat_map(|p| &p.communes).collect();
    unique(COMM, "commune", &new, |c| c.code)?;
    for (code, _) in communes {
        // Whole into exactly one new commune, or in parts into two or more.
        let ok = match seen.get(code) {
            Some((1, 0)) => true,
            Some((0, parts)) => *parts >= 2,
            _ => false,
        };
        if !ok {
            return Err(CatalogError::Unresolved {
                file: COMM,
                line: 0,
                what: "old commune, whole in one new commune or split between several,",
                key: code,
            });
        }
    }
    Ok(out)
}

fn unique<T>(
    file: &'static str,
    what: &'static str,
    items: &[T],
    key: impl Fn(&T) -> &'static str,
) -> Result<(), CatalogError> {
    let mut seen = HashMap::new();
    for x in items {
        if seen.insert(key(x), ()).is_some() {
            return Err(CatalogError::Duplicate {
                file,
                what,
                key: key(x),
            });
        }
    }
    Ok(())
}

/// Parse every data file and resolve every reference between them.
pub fn load() -> Result<Catalog, CatalogError> {
    // People.
    let names = Tsv::read("names.tsv")?;
    let mut parts: HashMap<&str, Vec<&'static str>> = HashMap::new();
    for r in names.records() {
        parts
            .entry(r.nonempty("kind")?)
            .or_default()
            .push(r.nonempty("value")?);
    }
    let mut part = |k: &'static str| {
        parts.remove(k).ok_or(CatalogError::NoColumn {
            file: "names.tsv",
            column: k,
        })
    };
    let (surnames, middle_male, middle_female, given_male, given_female, streets) = (
        part("surname")?,
        part("middle_male")?,
        part("middle_female")?,
        part("given_male")?,
        part("given_female")?,
        part("street")?,
    );
    let codes = Tsv::read("codes.tsv")?;
    let (mut jobs, mut ethnicities) = (Vec::new(), Vec::new());
    for r in codes.records() {
        let pair = (r.nonempty("code")?, r.nonempty("name")?);
        match r.get("list")? {
            "job" => jobs.push(pair),
            "ethnicity" => ethnicities.push(pair),
            other => return Err(r.bad("list", other, "not job or ethnicity")),
        }
    }
    if jobs.is_empty() || ethnicities.is_empty() {
        return Err(CatalogError::Empty("codes.tsv"));
    }

    // Places.
    let places = Tsv::read("places.tsv")?;
    let mut provinces: Vec<Province> = Vec::new();
    for r in places.records() {
        let (pc, dc) = (r.nonempty("province")?, r.nonempty("district")?);
        if pc.len() != 2 || !pc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(r.bad("province", pc, "not 2 digits"));
        }
        let commune = (r.nonempty("commune")?, r.nonempty("commune_name")?);
        if commune.0.len() != 5 || !commune.0.bytes().all(|b| b.is_ascii_digit()) {
            return Err(r.bad("commune", commune.0, "not 5 digits"));
        }
        if provinces.last().is_none_or(|p| p.code != pc) {
            provinces.push(Province {
                code: pc,
                name: r.nonempty("province_name")?,
                districts: Vec::new(),
            });
        }
        let p = provinces
            .last_mut()
            .ok_or(CatalogError::Empty("places.tsv"))?;
        if p.districts.last().is_none_or(|d| d.code != dc) {
            p.districts.push(District {
                code: dc,
                name: r.nonempty("district_name")?,
                communes: Vec::new(),
            });
        }
        if let Some(d) = p.districts.last_mut() {
            d.communes.push(commune);
        }
    }
    unique("places.tsv", "province", &provinces, |p| p.code)?;
    let districts: Vec<&District> = provinces.iter().flat_map(|p| &p.districts).collect();
    unique("places.tsv", "district", &districts, |d| d.code)?;
    let communes: Vec<&(&str, &str)> = districts.iter().flat_map(|d| &d.communes).collect();
    unique("places.tsv", "commune", &communes, |c| c.0)?;

    let provinces_2025 = load_2025(&provinces, &communes)?;

    let fac = Tsv::read("facilities.tsv")?;
    let mut facilities = Vec::new();
    for r in fac.records() {
        let code = r.nonempty("code")?;
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(r.bad("code", code, "not 5 digits"));
        }
        if !provinces.iter().any(|p| code.starts_with(p.code)) {
            return Err(r.unresolved("province of facility", code));
        }
        facilities.push(FacilityRef {
            code,
            name: r.nonempty("name")?,
            address: r.nonempty("address")?,
        });
    }
    unique("facilities.tsv", "facility", &facilities, |f| f.code)?;

    // Services.
    let sv = Tsv::read("services.tsv")?;
    let (mut exams, mut beds) = (Vec::new(), Vec::new());
    for r in sv.records() {
        let s = BasicService {
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            unit: r.nonempty("unit")?,
            price: r.decimal("price")?,
            specialty: r.get("specialty")?,
        };
        match r.get("kind")? {
            "exam" => exams.push(s),
            "bed" => beds.push(s),
            other => return Err(r.bad("kind", other, "not exam or bed")),
        }
    }
    let deps = Tsv::read("departments.tsv")?;
    let mut departments = Vec::new();
    for r in deps.records() {
        let specialty = r.nonempty("specialty")?;
        let bed = match r.get("bed")? {
            "" => None,
            b => Some(index_of(&beds, |x| x.code, b).ok_or_else(|| r.unresolved("bed", b))?),
        };
        if specialty != "outpatient" && !exams.iter().any(|e| e.specialty == specialty) {
            return Err(r.unresolved("examination specialty", specialty));
        }
        departments.push(Department {
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            specialty,
            bed,
        });
    }
    unique("departments.tsv", "department", &departments, |d| d.code)?;

    let dr = Tsv::read("drugs.tsv")?;
    let mut drugs = Vec::new();
    for r in dr.records() {
        let dosing = match r.get("dosing")? {
            "daily" => Dosing::Daily,
            "flow" => Dosing::Flow,
            "course" => Dosing::Course,
            other => return Err(r.bad("dosing", other, "not daily, flow or course")),
        };
        let d = Drug {
            key: r.nonempty("key")?,
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            strength: r.nonempty("strength")?,
            form: r.nonempty("form")?,
            route: r.nonempty("route")?,
            route_name: r.nonempty("route_name")?,
            unit: r.nonempty("unit")?,
            per_dose: r.number("per_dose")?,
            doses_per_day: r.number("doses_per_day")?,
            unit_price: r.decimal("price")?,
            registration: r.get("registration")?,
            class: r.nonempty("class")?,
            dosing,
        };
        if d.per_dose == 0 || d.doses_per_day == 0 {
            return Err(r.bad("per_dose", r.get("per_dose")?, "a dose of nothing"));
        }
        drugs.push(d);
    }
    unique("drugs.tsv", "drug", &drugs, |d| d.key)?;

    let ts = Tsv::read("tests.tsv")?;
    let mut tests = Vec::new();
    for r in ts.records() {
        let group = r.nonempty("group")?;
        if !matches!(group, "1" | "2" | "3") {
            return Err(r.bad("group", group, "not 1, 2 or 3"));
        }
        tests.push(Paraclinical {
            key: r.nonempty("key")?,
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            group,
            price: r.decimal("price")?,
            indicators: Vec::new(),
            reports: Vec::new(),
        });
    }
    unique("tests.tsv", "test", &tests, |t| t.key)?;
    let ind = Tsv::read("indicators.tsv")?;
    for r in ind.records() {
        let t = r.nonempty("test")?;
        let i = index_of(&tests, |x| x.key, t).ok_or_else(|| r.unresolved("test", t))?;
        let (low, high) = (r.decimal("low")?, r.decimal("high")?);
        if low >= high {
            return Err(r.bad("high", r.get("high")?, "not above low"));
        }
        tests[i].indicators.push(Indicator {
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            unit: r.get("unit")?,
            low,
            high,
            decimals: r.number("decimals")?,
        });
    }
    let rep = Tsv::read("reports.tsv")?;
    for r in rep.records() {
        let t = r.nonempty("test")?;
        let i = index_of(&tests, |x| x.key, t).ok_or_else(|| r.unresolved("test", t))?;
        tests[i].reports.push(Report {
            finding: r.nonempty("finding")?,
            description: r.nonempty("description")?,
            conclusion: r.nonempty("conclusion")?,
        });
    }
    for t in &tests {
        let has = |f| t.report(f).is_some();
        if t.indicators.is_empty() != (has("normal") && has("abnormal")) {
            return Err(CatalogError::Unresolved {
                file: "tests.tsv",
                line: 0,
                what: "indicators, or normal and abnormal reports, of test",
                key: t.key,
            });
        }
    }

    let pr = Tsv::read("procedures.tsv")?;
    let mut procedures = Vec::new();
    for r in pr.records() {
        let group = r.nonempty("group")?;
        if !matches!(group, "8" | "18") {
            return Err(r.bad("group", group, "not 8 (surgery) or 18 (procedure)"));
        }
        procedures.push(Procedure {
            key: r.nonempty("key")?,
            code: r.nonempty("code")?,
            name: r.nonempty("name")?,
            group,
            icd9: r.nonempty("icd9")?,
            price: r.decimal("price")?,
            anaesthesia: r.get("anaesthesia")?,
        });
    }
    unique("procedures.tsv", "procedure", &procedures, |p| p.key)?;

    // Diagnoses, last: they name everything else.
    let dx = Tsv::read("diagnoses.tsv")?;
    let mut diagnoses = Vec::new();
    for r in dx.records() {
        let mut drug_refs = Vec::new();
        for k in r.list("drugs")? {
            let (key, core) = match k.strip_prefix('*') {
                Some(k) => (k, true),
                None => (k, false),
            };
            let i = index_of(&drugs, |d| d.key, key).ok_or_else(|| r.unresolved("drug", key))?;
            drug_refs.push((i, core));
        }
        if drug_refs.is_empty() {
            return Err(r.bad("drugs", r.get("drugs")?, "no drug"));
        }
        let mut test_refs = Vec::new();
        for k in r.list("tests")? {
            test_refs.push(index_of(&tests, |t| t.key, k).ok_or_else(|| r.unresolved("test", k))?);
        }
        let mut proc_refs = Vec::new();
        for k in r.list("procedures")? {
            proc_refs.push(
                index_of(&procedures, |p| p.key, k).ok_or_else(|| r.unresolved("procedure", k))?,
            );
        }
        let (mut abnormal_values, mut findings) = (Vec::new(), Vec::new());
        for item in r.get("abnormal")?.split_whitespace() {
            let Some((what, how)) = item.split_once(':') else {
                return Err(r.bad("abnormal", item, "not WHAT:HOW"));
            };
            let direction = match how {
                "high" => Some(Direction::High),
                "low" => Some(Direction::Low),
                _ => None,
            };
            match direction {
                Some(d) => {
                    // The indicator must be measured by one of the diagnosis's tests,
                    // and a low value needs room below the range.
                    let Some(ind) = test_refs
                        .iter()
                        .flat_map(|&t| &tests[t].indicators)
                        .find(|i| i.code == what)
                    else {
                        return Err(r.unresolved("indicator among its tests", what));
                    };
                    if d == Direction::Low && ind.low.is_zero() {
                        return Err(r.bad("abnormal", item, "no value is below a range from 0"));
                    }
                    abnormal_values.push((what, d));
                }
                None => {
                    let t = test_refs
                        .iter()
                        .copied()
                        .find(|&t| tests[t].key == what)
                        .ok_or_else(|| r.unresolved("test among its tests", what))?;
                    if tests[t].report(how).is_none() {
                        return Err(r.unresolved("report finding", item));
                    }
                    findings.push((t, how));
                }
            }
        }
        let stay = match r.get("stay")? {
            "" => None,
            s => {
                let bad = || r.bad("stay", s, "not MIN-MAX days");
                let (a, b) = s.split_once('-').ok_or_else(bad)?;
                let (a, b): (u32, u32) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a == 0 || a > b {
                    return Err(bad());
                }
                Some((a, b))
            }
        };
        let care_types = r.list("care_types")?;
        if care_types.iter().any(|c| matches!(*c, "03" | "04")) && stay.is_none() {
            return Err(r.bad("stay", "", "an inpatient diagnosis needs a stay range"));
        }
        let department = r.nonempty("department")?;
        if !departments.iter().any(|d| d.code == department) {
            return Err(r.unresolved("department", department));
        }
        let program = match r.get("program")? {
            "" => Program::None,
            "hiv" => Program::Hiv,
            "hiv_tb" => Program::HivTb,
            "tb" => Program::Tb,
            "delivery" => Program::Delivery,
            "antenatal" => Program::Antenatal,
            other => return Err(r.bad("program", other, "unknown programme")),
        };
        let sex = r.get("sex")?;
        if !matches!(sex, "" | "1" | "2") {
            return Err(r.bad("sex", sex, "not 1, 2 or empty"));
        }
        let (min_age, max_age) = (r.number("min_age")?, r.number("max_age")?);
        if min_age > max_age {
            return Err(r.bad("max_age", r.get("max_age")?, "below min_age"));
        }
        diagnoses.push(Diagnosis {
            icd10: r.nonempty("icd10")?,
            name: r.nonempty("name")?,
            care_types,
            complaint: r.nonempty("complaint")?,
            drugs: drug_refs,
            tests: test_refs,
            procedures: proc_refs,
            secondary: r.list("secondary")?,
            min_age,
            max_age,
            sex,
            stay,
            abnormal_values,
            findings,
            department,
            sick_leave: r.number("sick_leave")?,
            program,
        });
    }
    unique("diagnoses.tsv", "diagnosis", &diagnoses, |d| d.icd10)?;

    Ok(Catalog {
        surnames,
        middle_male,
        middle_female,
        given_male,
        given_female,
        streets,
        jobs,
        ethnicities,
        provinces,
        provinces_2025,
        facilities,
        departments,
        exams,
        beds,
        drugs,
        tests,
        procedures,
        diagnoses,
    })
}
