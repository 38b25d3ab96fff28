//! Registries from CSV: administrative units and facilities, as health departments
//! keep them in spreadsheets. Every line is checked before any is used; an error
//! names the line and the column.

pub mod deltas;
pub mod immunizations;
pub mod records;

use serde::Deserialize;
use store::{Facility, Resident, Unit, UnitLink};

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("dòng {line}: {message}")]
    Line { line: u64, message: String },
    #[error("CSV: {0}")]
    Csv(String),
}

/// Longest message of an error, in characters: a value quoted from a hostile file (a
/// 4 KB "code", a header line of thousands of columns) is cut, not echoed whole.
const MAX_MESSAGE: usize = 400;

pub(crate) fn bounded(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message;
    }
    let mut m: String = message.chars().take(MAX_MESSAGE).collect();
    m.push('…');
    m
}

impl CsvError {
    pub(crate) fn line(line: u64, message: String) -> CsvError {
        CsvError::Line {
            line,
            message: bounded(message),
        }
    }
}

#[derive(Deserialize)]
struct UnitRow {
    code: String,
    name: String,
    level: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    scheme: String,
}

#[derive(Deserialize)]
struct FacilityRow {
    code: String,
    name: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    bhyt_contract: String,
    #[serde(default)]
    unit: String,
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes)
}

fn line_of(pos: Option<&csv::Position>) -> u64 {
    pos.map_or(0, |p| p.line())
}

pub(crate) fn rows<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Vec<(u64, T)>, CsvError> {
    let mut r = reader(bytes);
    let mut out = Vec::new();
    let headers = r
        .headers()
        .map_err(|e| CsvError::Csv(bounded(e.to_string())))?
        .clone();
    for rec in r.records() {
        let rec = rec.map_err(|e| CsvError::line(line_of(e.position()), e.to_string()))?;
        let line = line_of(rec.position());
        let row: T = rec.deserialize(Some(&headers)).map_err(|e| {
            CsvError::line(
                line,
                format!(
                    "{e} (cột / columns: {})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            )
        })?;
        out.push((line, row));
    }
    Ok(out)
}

/// Units: `code,name,level,parent,scheme` (level province|district|commune; scheme
/// pre2025|2025, default pre2025). Parents come before their children.
pub fn parse_units(bytes: &[u8]) -> Result<Vec<(u64, Unit)>, CsvError> {
    let mut out = Vec::new();
    for (line, r) in rows::<UnitRow>(bytes)? {
        let bad = |message: String| CsvError::line(line, message);
        if r.code.is_empty() || !r.code.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!("code {:?}: mã đơn vị phải là chữ số", r.code)));
        }
        if r.name.is_empty() {
            return Err(bad("name: thiếu tên đơn vị".into()));
        }
        if !store::UNIT_LEVELS.contains(&r.level.as_str()) {
            return Err(bad(format!(
                "level {:?}: phải là province, district hoặc commune",
                r.level
            )));
        }
        let scheme = if r.scheme.is_empty() {
            "pre2025".to_string()
        } else {
            r.scheme
        };
        if !store::UNIT_SCHEMES.contains(&scheme.as_str()) {
            return Err(bad(format!("scheme {scheme:?}: phải là pre2025 hoặc 2025")));
        }
        out.push((
            line,
            Unit {
                code: r.code,
                name: r.name,
                level: r.level,
                parent: (!r.parent.is_empty()).then_some(r.parent),
                scheme,
            },
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct LinkRow {
    old_level: String,
    old_code: String,
    new_level: String,
    new_code: String,
    relation: String,
    #[serde(default)]
    note: String,
}

/// The lineage of the 2025 reform: `old_level,old_code,new_level,new_code,relation,note`,
/// one line per pre-2025 unit and 2025 unit it went into (relation same | renamed |
/// merged_full | split_partial; an old unit divided between several new ones has one
/// split_partial line for each). Whether both units exist is checked by the store.
pub fn parse_lineage(bytes: &[u8]) -> Result<Vec<(u64, UnitLink)>, CsvError> {
    let mut out = Vec::new();
    for (line, r) in rows::<LinkRow>(bytes)? {
        let bad = |message: String| CsvError::line(line, message);
        for (column, level, code) in [
            ("old", &r.old_level, &r.old_code),
            ("new", &r.new_level, &r.new_code),
        ] {
            if !store::UNIT_LEVELS.contains(&level.as_str()) {
                return Err(bad(format!(
                    "{column}_level {level:?}: phải là province, district hoặc commune"
                )));
            }
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(format!(
                    "{column}_code {code:?}: mã đơn vị phải là chữ số"
                )));
            }
        }
        if r.new_level == "district" {
            return Err(bad(
                "new_level district: từ 01/07/2025 không còn cấp huyện".into()
            ));
        }
        if !store::UNIT_RELATIONS.contains(&r.relation.as_str()) {
            return Err(bad(format!(
                "relation {:?}: phải là same, renamed, merged_full hoặc split_partial",
                r.relation
            )));
        }
        out.push((
            line,
            UnitLink {
                old_level: r.old_level,
                old_code: r.old_code,
                new_level: r.new_level,
                new_code: r.new_code,
                relation: r.relation,
                note: (!r.note.is_empty()).then_some(r.note),
            },
        ));
    }
    Ok(out)
}

/// Facilities: `code,name,province,kind,bhyt_contract,unit`; province defaults to
/// the code's first two digits, kind to hospital, bhyt_contract to yes.
pub fn parse_facilities(bytes: &[u8]) -> Result<Vec<(u64, Facility)>, CsvError> {
    let mut out = Vec::new();
    for (line, r) in rows::<FacilityRow>(bytes)? {
        let bad = |message: String| CsvError::line(line, message);
        if !dossier::ids::is_facility(&r.code) {
            return Err(bad(format!(
                "code {:?}: mã cơ sở phải gồm 5 chữ số",
                r.code
            )));
        }
        if r.name.is_empty() {
            return Err(bad("name: thiếu tên cơ sở".into()));
        }
        let kind = if r.kind.is_empty() {
            "hospital".to_string()
        } else {
            r.kind
        };
        if !store::FACILITY_KINDS.contains(&kind.as_str()) {
            return Err(bad(format!(
                "kind {kind:?}: phải là một trong {}",
                store::FACILITY_KINDS.join(", ")
            )));
        }
        let bhyt_contract = match r.bhyt_contract.to_ascii_lowercase().as_str() {
            "" | "1" | "true" | "yes" | "co" | "có" => true,
            "0" | "false" | "no" | "khong" | "không" => false,
            other => return Err(bad(format!("bhyt_contract {other:?}: phải là 1 hoặc 0"))),
        };
        let province = if r.province.is_empty() {
            r.code[..2].to_string()
        } else {
            r.province
        };
        out.push((
            line,
            Facility {
                code: r.code,
                name: r.name,
                province,
                kind,
                bhyt_contract,
                unit: (!r.unit.is_empty()).then_some(r.unit),
            },
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ResidentRow {
    personal_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    unit: String,
    #[serde(default)]
    status: String,
}

/// Residents from the population registry: `personal_id,name,birth_date,sex,unit,status`
/// (birth date dd/mm/yyyy or yyyy-mm-dd; sex 1 male, 2 female; status alive, moved or
/// dead, default alive).
pub fn parse_residents(bytes: &[u8]) -> Result<Vec<(u64, Resident)>, CsvError> {
    let mut out = Vec::new();
    for (line, r) in rows::<ResidentRow>(bytes)? {
        let bad = |message: String| CsvError::line(line, message);
        if dossier::ids::person_id(&r.personal_id) != Ok(dossier::ids::PersonIdKind::PersonalId) {
            return Err(bad(format!(
                "personal_id {:?}: số định danh cá nhân phải gồm 12 chữ số hợp lệ",
                r.personal_id
            )));
        }
        if r.unit.is_empty() || !r.unit.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!(
                "unit {:?}: mã đơn vị hành chính nơi cư trú",
                r.unit
            )));
        }
        let birth = match r.birth_date.as_str() {
            "" => None,
            b => {
                let d = chrono::NaiveDate::parse_from_str(b, "%d/%m/%Y")
                    .or_else(|_| chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d"))
                    .map_err(|_| bad(format!("birth_date {b:?}: dd/mm/yyyy hoặc yyyy-mm-dd")))?;
                Some(d.format("%Y%m%d").to_string())
            }
        };
        let sex = match r.sex.as_str() {
            "" => None,
            "1" | "2" | "3" => Some(r.sex.clone()),
            other => return Err(bad(format!("sex {other:?}: 1 (nam), 2 (nữ) hoặc 3"))),
        };
        let status = if r.status.is_empty() {
            "alive".to_string()
        } else {
            r.status
        };
        if !store::RESIDENT_STATUSES.contains(&status.as_str()) {
            return Err(bad(format!("status {status:?}: alive, moved hoặc dead")));
        }
        out.push((
            line,
            Resident {
                personal_id: r.personal_id,
                name: (!r.name.is_empty()).then_some(r.name),
                birth,
                sex,
                unit: r.unit,
                status,
            },
        ));
    }
    Ok(out)
}

/// The facility kind a catalog name suggests.
fn kind_of(name: &str) -> &'static str {
    if name.starts_with("Trạm") {
        "commune_station"
    } else if name.starts_with("Trung tâm Y tế") {
        "district_health_centre"
    } else if name.starts_with("Phòng khám Đa khoa") {
        "polyclinic"
    } else if name.starts_with("Phòng khám") {
        "private_clinic"
    } else {
        "hospital"
    }
}

/// The units (pre-2025 scheme) and facilities of the synthetic catalog that the
/// generator draws from, each facility placed in the commune its address names: the
/// registry of the demo, the benchmarks and the tests.
pub fn synthetic_catalog() -> (Vec<Unit>, Vec<Facility>) {
    use synth::catalog::{FACILITIES, PROVINCES};
    let unit = |code: &str, name: &str, level: &str, parent: Option<&str>| Unit {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(str::to_string),
        scheme: "pre2025".into(),
    };
    let mut units = Vec::new();
    for p in PROVINCES.iter() {
        units.push(unit(p.code, p.name, "province", None));
        for d in &p.districts {
            units.push(unit(d.code, d.name, "district", Some(p.code)));
            for (c, n) in &d.communes {
                units.push(unit(c, n, "commune", Some(d.code)));
            }
        }
    }
    let facilities = FACILITIES
        .iter()
        .map(|f| Facility {
            code: f.code.into(),
            name: f.name.into(),
            province: f.code[..2].into(),
            kind: kind_of(f.name).into(),
            bhyt_contract: true,
            unit: PROVINCES
                .iter()
                .filter(|p| p.code == &f.code[..2])
                .flat_map(|p| &p.districts)
                .flat_map(|d| &d.communes)
                .find(|(_, name)| f.address.contains(name))
                .map(|(code, _)| code.to_string()),
        })
        .collect();
    (units, facilities)
}

/// The demo's registry across the 2025 reform: the units of both schemes, the
/// lineage between them, and the facilities placed in today's (2025) units.
pub struct SyntheticUnits {
    /// The pre-2025 units of [`synthetic_catalog`] and the other old provinces, then
    /// the 34 provinces of 2025 (real codes) and the synthetic 2025 communes.
    pub units: Vec<Unit>,
    pub lineage: Vec<UnitLink>,
    /// Each placed in the 2025 commune its old commune went into whole.
    pub facilities: Vec<Facility>,
}

/// The synthetic catalog across the reform: history in the pre-2025 units, today in
/// the 2025 ones (`synth::catalog::PROVINCES_2025`), with the lineage between them.
pub fn synthetic_catalog_2025() -> SyntheticUnits {
    use synth::catalog::{PROVINCES, PROVINCES_2025};
    let (mut units, facilities) = synthetic_catalog();
    let unit = |code: &str, name: &str, level: &str, parent: Option<&str>, scheme: &str| Unit {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(str::to_string),
        scheme: scheme.into(),
    };
    let link = |level: &str, old: &str, new: &str, relation: &str| UnitLink {
        old_level: level.into(),
        old_code: old.into(),
        new_level: level.into(),
        new_code: new.into(),
        relation: relation.into(),
        note: Some("dữ liệu tổng hợp (demo)".into()),
    };
    let mut lineage = Vec::new();
    // The old provinces the catalog has no places in, so that every old province
    // has its line.
    for p in PROVINCES_2025.iter() {
        for (code, name) in &p.olds {
            if !PROVINCES.iter().any(|o| o.code == *code) {
                units.push(unit(code, name, "province", None, "pre2025"));
            }
        }
    }
    for p in PROVINCES_2025.iter() {
        units.push(unit(p.code, p.name, "province", None, "2025"));
        for (code, name) in &p.olds {
            let relation = match (p.olds.len(), *code == p.code && *name == p.name) {
                (1, true) => "same",
                (1, false) => "renamed",
                _ => "merged_full",
            };
            lineage.push(link("province", code, p.code, relation));
        }
        for c in &p.communes {
            units.push(unit(c.code, c.name, "commune", Some(p.code), "2025"));
        }
    }
    let old_name = |code: &str| {
        PROVINCES
            .iter()
            .flat_map(|p| &p.districts)
            .flat_map(|d| &d.communes)
            .find(|c| c.0 == code)
            .map(|c| c.1)
    };
    // Old commune → (new commune it went into whole).
    let mut whole = std::collections::HashMap::new();
    for c in PROVINCES_2025.iter().flat_map(|p| &p.communes) {
        for (old, is_whole) in &c.olds {
            let relation = if !is_whole {
                "split_partial"
            } else if c.olds.len() > 1 {
                "merged_full"
            } else if *old == c.code && old_name(old) == Some(c.name) {
                "same"
            } else {
                "renamed"
            };
            if *is_whole {
                whole.insert(*old, c.code);
            }
            lineage.push(link("commune", old, c.code, relation));
        }
    }
    let facilities = facilities
        .into_iter()
        .map(|f| Facility {
            unit: f
                .unit
                .as_deref()
                .and_then(|u| whole.get(u))
                .map(|c| c.to_string())
                .or(f.unit),
            ..f
        })
        .collect();
    SyntheticUnits {
        units,
        lineage,
        facilities,
    }
}

/// Where a resident of an old commune lives in today's units: the 2025 commune it went
/// into whole, or the old code itself when it was divided (the registry must resolve
/// it from the address: reports count it "unallocated").
pub fn commune_today(lineage: &[UnitLink], old: &str) -> String {
    let mut to = lineage
        .iter()
        .filter(|l| l.old_level == "commune" && l.old_code == old);
    match (to.next(), to.next()) {
        (Some(l), None) if l.relation != "split_partial" => l.new_code.clone(),
        _ => old.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_facilities_with_quoted_commas() {
        let units = parse_units(
            "code,name,level,parent,scheme\n01,Hà Nội,province,,2025\n00004,\"Phường Ba Đình, Hà Nội\",commune,01,2025\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].1.name, "Phường Ba Đình, Hà Nội");
        assert_eq!(units[1].1.parent.as_deref(), Some("01"));
        let f = parse_facilities(
            "code,name,province,kind,bhyt_contract,unit\n01001,\"Bệnh viện A, cơ sở 2\",,hospital,0,00004\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(f[0].1.province, "01");
        assert!(!f[0].1.bhyt_contract);
    }

    #[test]
    fn lineage_parses_and_the_synthetic_registry_is_whole() {
        let links = parse_lineage(
            "old_level,old_code,new_level,new_code,relation,note\n\
             province,27,province,24,merged_full,\n\
             commune,00064,commune,00070,split_partial,một phần\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].1.note.as_deref(), Some("một phần"));
        let e = parse_lineage(
            "old_level,old_code,new_level,new_code,relation\nprovince,27,district,240,same\n"
                .as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("dòng 2") && e.contains("cấp huyện"), "{e}");
        let e = parse_lineage(
            "old_level,old_code,new_level,new_code,relation\nprovince,27,province,24,gop\n"
                .as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("relation"), "{e}");

        let s = synthetic_catalog_2025();
        let count = |scheme: &str, level: &str| {
            s.units
                .iter()
                .filter(|u| u.scheme == scheme && u.level == level)
                .count()
        };
        assert_eq!(count("pre2025", "province"), 63);
        assert_eq!(count("2025", "province"), 34);
        assert_eq!(count("2025", "district"), 0);
        // Province 24 was Bắc Giang; it is Bắc Ninh, which took in Bắc Ninh (27).
        let p24: Vec<&Unit> = s.units.iter().filter(|u| u.code == "24").collect();
        assert_eq!(p24.len(), 2);
        assert!(
            s.lineage
                .iter()
                .any(|l| l.old_code == "27" && l.new_code == "24")
        );
        assert!(
            s.lineage
                .iter()
                .any(|l| l.old_code == "24" && l.new_code == "24")
        );
        // Every old province has exactly one line; one commune at least is split.
        for u in s
            .units
            .iter()
            .filter(|u| u.scheme == "pre2025" && u.level == "province")
        {
            let n = s
                .lineage
                .iter()
                .filter(|l| l.old_level == "province" && l.old_code == u.code)
                .count();
            assert_eq!(n, 1, "{}", u.code);
        }
        assert!(s.lineage.iter().any(|l| l.relation == "split_partial"));
        assert_eq!(commune_today(&s.lineage, "00013"), "00004");
        assert_eq!(commune_today(&s.lineage, "00064"), "00064");
        // Facilities are placed in today's communes.
        let new: std::collections::HashSet<&str> = s
            .units
            .iter()
            .filter(|u| u.scheme == "2025")
            .map(|u| u.code.as_str())
            .collect();
        for f in &s.facilities {
            assert!(
                f.unit.as_deref().is_some_and(|u| new.contains(u)),
                "{}",
                f.code
            );
        }
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let e = parse_facilities("code,name,kind\n01001,A,hospital\n0100,B,hospital\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("dòng 3") && e.contains("code"), "{e}");
        let e = parse_units("code,name,level\n01,Hà Nội,tinh\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("dòng 2") && e.contains("level"), "{e}");
    }
}

#[cfg(test)]
mod bounded_tests {
    /// Found by the registry_csv fuzzer: an error quoting a long field was 4,877 bytes.
    #[test]
    fn errors_quoting_long_values_stay_short() {
        let long = "X".repeat(5_000);
        let csv =
            format!("code,name,province,kind,bhyt_contract,unit\n{long},Tên,01,hospital,true,\n");
        let e = super::parse_facilities(csv.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.len() < 1_000, "{} bytes", e.len());
        assert!(e.starts_with("dòng 2"), "{e}");
        let csv = format!("code,name,{long}\n01,Hà Nội\n");
        let e = super::parse_units(csv.as_bytes()).unwrap_err().to_string();
        assert!(e.len() < 1_000, "{} bytes", e.len());
    }
}
