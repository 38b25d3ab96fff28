//! Generates `src/generated.rs` (field tables of every spec variant and the typed
//! record structs) from `spec/fields.json`, and fails when the checked-in file is
//! stale. Regenerate with `UPDATE_SOURCEGEN=1 cargo test -p healthbook-dossier --test sourcegen`.
//!
//! The variants are data: QĐ 4750 is fields.json as it stands; QĐ 130 is derived from
//! the 4750 correction notes in it ("new in 4750", "max A→B", "Number → String");
//! QĐ 3176 applies the known deltas of the standards reference §5 (XML13 renames).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

#[derive(Clone, Debug)]
struct Row {
    code: String,
    number: bool,
    max: Option<u32>,
    req: &'static str,
    meaning: String,
    note: String,
}

/// (fields.json key, Table variant, Rust struct name, English title)
const TABLES: &[(&str, &str, &str, &str)] = &[
    (
        "CI",
        "Xml0",
        "CheckInRow",
        "XML0 — check-in (`TRANG_THAI_KCB`)",
    ),
    (
        "1",
        "Xml1",
        "Summary",
        "XML1 — episode summary (`TONG_HOP`)",
    ),
    (
        "2",
        "Xml2",
        "DrugLine",
        "XML2 — drug line (`CHI_TIET_THUOC`)",
    ),
    (
        "3",
        "Xml3",
        "ServiceLine",
        "XML3 — technical service or supply line (`CHI_TIET_DVKT`)",
    ),
    (
        "4",
        "Xml4",
        "ParaclinicalResult",
        "XML4 — paraclinical result (`CHI_TIET_CLS`)",
    ),
    (
        "5",
        "Xml5",
        "ClinicalNote",
        "XML5 — clinical course entry (`CHI_TIET_DIEN_BIEN_BENH`)",
    ),
    ("6", "Xml6", "HivCare", "XML6 — HIV/AIDS care record"),
    (
        "7",
        "Xml7",
        "DischargePaper",
        "XML7 — discharge paper (`GIAY_RA_VIEN`)",
    ),
    (
        "8",
        "Xml8",
        "RecordSummary",
        "XML8 — medical-record summary (`TOM_TAT_HO_SO_BENH_AN`)",
    ),
    (
        "9",
        "Xml9",
        "BirthCertificate",
        "XML9 — birth certificate (`GIAY_CHUNG_SINH`)",
    ),
    (
        "10",
        "Xml10",
        "AntenatalRest",
        "XML10 — antenatal-rest certificate",
    ),
    (
        "11",
        "Xml11",
        "SickLeave",
        "XML11 — sick-leave certificate (CT07)",
    ),
    (
        "13",
        "Xml13",
        "Referral",
        "XML13 — referral letter (`GIAYCHUYENTUYEN`)",
    ),
    (
        "14",
        "Xml14",
        "Appointment",
        "XML14 — re-exam appointment (`GIAYHEN_KHAMLAI`)",
    ),
    (
        "15",
        "Xml15",
        "TbTreatment",
        "XML15 — TB treatment (`CHITIET_DIEUTRI_BENHLAO`)",
    ),
];

/// Where the CTN sheet's "required" mark contradicts the field's own definition.
/// (table, field, requiredness, why)
const REQ_OVERRIDES: &[(&str, &str, &str, &str)] = &[(
    "3",
    "MA_BENH",
    "Optional",
    "the definition says empty means the service was ordered for the main disease",
)];

fn load() -> BTreeMap<String, Vec<Row>> {
    let path = crate_dir().join("spec/fields.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for (key, rows) in json.as_object().unwrap() {
        let rows = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                Row {
                    code: s("code"),
                    number: s("type") == "Number",
                    max: s("size").parse().ok(),
                    req: match s("req").as_str() {
                        "Y" => "Required",
                        "" => "Optional",
                        _ => "Conditional",
                    },
                    meaning: s("meaning"),
                    note: s("note"),
                }
            })
            .collect();
        let mut rows: Vec<Row> = rows;
        for r in &mut rows {
            if let Some(o) = REQ_OVERRIDES.iter().find(|o| o.0 == key && o.1 == r.code) {
                r.req = o.2;
            }
        }
        out.insert(key.clone(), rows);
    }
    out
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The validation kind of a field: rules by field code, then by declared type and size.
fn kind(table: &str, r: &Row) -> String {
    let c = r.code.as_str();
    let by_size = |eight: &str, twelve: &str| match r.max {
        Some(8) => eight.to_string(),
        Some(12) => twelve.to_string(),
        _ => "Text".to_string(),
    };
    let k = match c {
        "STT"
        | "SO_NGAY_DTRI"
        | "SO_NGAY_NGHI"
        | "SO_NGAY"
        | "NAM_QT"
        | "THANG_QT"
        | "SO_CON"
        | "LAN_SINH"
        | "SO_CON_SONG"
        | "SO_CONCHET"
        | "TUOI_THAI"
        | "SO_NGAY_CAP_THUOC_ARV" => "Integer",
        "NGAY_SINH" if r.max == Some(12) => "BirthDate",
        "NGAY_MIEN_CCT" => "DateOrDateTime",
        "NGAY_TAI_KHAM" => "DateList",
        "GT_THE_TU" | "GT_THE_DEN" if r.max == Some(8) => "Date",
        "GT_THE_TU" | "GT_THE_DEN" => "DateList",
        "SO_CCCD" | "SO_CCCD_NND" => "PersonId",
        "MA_THE_BHYT" if r.max == Some(15) => "BhytCard",
        "MA_THE_BHYT" => "BhytCardList",
        "MA_THE_NND" => "BhytCard",
        "MA_DKBD" if r.max == Some(5) => "Facility",
        "MA_DKBD" => "FacilityList",
        "MA_TTDV" | "MA_BHXH" | "MA_BHXH_NND" | "MA_CHA" | "MA_ME" => "Bhxh",
        "MA_CSKCB" | "MA_NOI_DI" | "MA_NOI_DEN" | "NOI_LAY_MAU_XN" | "NOI_XN_KD"
        | "NOI_BDDT_ARV" => "Facility",
        "MATINH_CU_TRU" => "Province",
        "MA_BENH_CHINH" => "Icd10",
        "MA_BENH_KT" | "MA_BENH" => "Icd10List(12)",
        "MA_PTTT_QT" | "MA_BENH_YHCT" | "MA_KHOA" | "MA_BAC_SI" | "NGUOI_THUC_HIEN"
        | "MA_PP_CHEBIEN" | "MA_XU_TRI" => "CodeList",
        "MA_DICH_VU" if table == "2" => "CodeList",
        "MA_GIUONG" => "BedList",
        "CAN_NANG_CON" if !r.number => "DecimalList",
        "CAN_NANG" | "CAN_NANG_CON" => "Decimal(2)",
        "SO_LUONG" | "DON_GIA" | "DON_GIA_BV" | "DON_GIA_BH" => "Decimal(3)",
        "TYLE_TT_BH" | "TYLE_TT_DV" | "MUC_HUONG" => "Decimal(2)",
        "GIOI_TINH" | "GIOI_TINH_CON" => "Enum(Codes::Sex)",
        "NHOM_MAU" => "Enum(Codes::BloodGroup)",
        "MA_QUOCTICH" => "Enum(Codes::Nationality)",
        "MA_DANTOC" | "MA_DANTOC_NND" => "Enum(Codes::Ethnicity)",
        "MA_LOAI_KCB" => "Enum(Codes::CareType)",
        "MA_DOITUONG_KCB" => "Enum(Codes::PatientCategory)",
        "KET_QUA_DTRI" => "Enum(Codes::Outcome)",
        "MA_LOAI_RV" => "Enum(Codes::DischargeType)",
        "MA_NHOM" => "Enum(Codes::CostGroup)",
        "PHAM_VI" => "Enum(Codes::Scope)",
        "MA_PTTT" => "Enum(Codes::PaymentMethod)",
        "NGUON_CTRA" => "Enum(Codes::FundingSource)",
        "PP_VO_CAM" => "Enum(Codes::Anaesthesia)",
        "MA_KHUVUC" => "Enum(Codes::Area)",
        "VET_THUONG_TP" | "TAI_SU_DUNG" => "Enum(Codes::One)",
        "MA_DINH_CHI_THAI" | "SINHCON_PHAUTHUAT" | "SINHCON_DUOI32TUAN" => "Enum(Codes::ZeroOne)",
        "MA_LYDO_CT" => "Enum(Codes::ReferralReason)",
        "MAU_SO" => "Enum(Codes::SickLeaveForm)",
        _ if c.starts_with("T_") || c.starts_with("THANH_TIEN") => "Decimal(2)",
        _ if c.contains("NGAY") || c.starts_with("THOI") || c.starts_with("BDDT") => {
            return by_size("Date", "DateTime");
        }
        _ if r.number => "Code",
        _ if c.starts_with("MA_") || c.starts_with("SO_") => "Code",
        _ => "Text",
    };
    k.to_string()
}

fn rust_type(kind: &str) -> &'static str {
    match kind {
        "Integer" => "Option<u32>",
        k if k.starts_with("Decimal(") => "Option<Decimal>",
        "DateTime" => "Option<NaiveDateTime>",
        "Date" => "Option<NaiveDate>",
        "BirthDate" => "Option<BirthDate>",
        "DateList" => "Vec<NaiveDate>",
        "DecimalList" => "Vec<Decimal>",
        "CodeList" | "BhytCardList" | "FacilityList" | "BedList" => "Vec<String>",
        k if k.starts_with("Icd10List") => "Vec<String>",
        _ => "Option<String>",
    }
}

/// Converter names in `crate::model::conv` for a Rust type.
fn conv(ty: &str) -> &'static str {
    match ty {
        "Option<u32>" => "int",
        "Option<Decimal>" => "dec",
        "Option<NaiveDateTime>" => "datetime",
        "Option<NaiveDate>" => "date",
        "Option<BirthDate>" => "birth",
        "Vec<NaiveDate>" => "date_list",
        "Vec<Decimal>" => "dec_list",
        "Vec<String>" => "list",
        _ => "text",
    }
}

/// One field of one variant's layout.
#[derive(Clone, Debug)]
struct Entry {
    code: String,
    slot: usize,
    number: bool,
    max: Option<u32>,
    req: &'static str,
    kind: String,
    mirrors: Option<String>,
}

/// "… max A→B …" in a correction note: the QĐ 130 size A.
fn max_before_4750(note: &str) -> Option<u32> {
    note.match_indices("max ").find_map(|(i, _)| {
        let rest = &note[i + 4..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = rest[digits.len()..].trim_start();
        (!digits.is_empty() && after.starts_with('→'))
            .then(|| digits.parse().ok())
            .flatten()
    })
}

fn mirrors(r: &Row, xml1: &[Row]) -> Option<String> {
    if !r.note.contains("if present must equal the XML1 value") {
        return None;
    }
    let named = r.meaning.find("XML1 ").map(|i| {
        r.meaning[i + 5..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
            .collect::<String>()
    });
    let target = named
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| r.code.clone());
    xml1.iter().any(|x| x.code == target).then_some(target)
}

fn generate() -> String {
    let data = load();
    let xml1 = data["1"].clone();
    let mut out = String::new();
    out.push_str(
        "// @generated by tests/sourcegen.rs from spec/fields.json. Do not edit by hand:\n\
         // run `UPDATE_SOURCEGEN=1 cargo test -p healthbook-dossier --test sourcegen`.\n\n\
         #![allow(clippy::all)]\n\n\
         use chrono::{NaiveDate, NaiveDateTime};\n\
         use rust_decimal::Decimal;\n\n\
         use crate::model::conv;\n\
         use crate::model::{BirthDate, Record, Values};\n\
         use crate::spec::Codes;\n\
         use crate::spec::DeclaredType::{Number, String as Str};\n\
         use crate::spec::Kind::*;\n\
         use crate::spec::Req::*;\n\
         use crate::spec::{FieldSpec, Spec, Table};\n\n",
    );
    let mut layout_arms = String::new();
    let mut slot_arms = String::new();
    let mut superset_arms = String::new();
    for &(key, variant, name, title) in TABLES {
        let rows = &data[key];
        // Superset slots: every 4750 field, plus fields only 3176 has.
        let mut slots: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.code.clone(), kind(key, r), r.meaning.clone()))
            .collect();
        let base: Vec<Entry> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| Entry {
                code: r.code.clone(),
                slot: i,
                number: r.number,
                max: r.max,
                req: r.req,
                kind: kind(key, r),
                mirrors: mirrors(r, &xml1),
            })
            .collect();
        // QĐ 130: drop what 4750 added, undo its size and type corrections.
        let v130: Vec<Entry> = rows
            .iter()
            .zip(&base)
            .filter(|(r, _)| !r.note.contains("new in 4750"))
            .map(|(r, e)| {
                let mut e = e.clone();
                if let Some(m) = max_before_4750(&r.note) {
                    e.max = Some(m);
                }
                if r.note.contains("Number→String")
                    || r.note.contains("Number → String")
                    || r.note.contains("Number(1) → String")
                {
                    e.number = true;
                }
                e
            })
            .collect();
        // QĐ 3176: XML13 renames and removals (§5); MUC_HUONG widened by QĐ 1931.
        let mut v3176: Vec<Entry> = Vec::new();
        for e in &base {
            let mut e = e.clone();
            if key == "13" {
                match e.code.as_str() {
                    "MA_NOI_DI" => {
                        e.code = "MA_CSKCB_DI".into();
                        e.max = Some(100);
                        e.kind = "FacilityList".into();
                    }
                    "MA_NOI_DEN" => e.code = "MA_CSKCB_DEN".into(),
                    "TEN_DICH_VU" | "TEN_THUOC" => continue,
                    "PP_DIEU_TRI" => {
                        let slot = slots.len();
                        slots.push((
                            "TINH_TRANG_CT".into(),
                            "Text".into(),
                            "Patient condition at referral (QĐ 3176; replaces PP_DIEU_TRI).".into(),
                        ));
                        e = Entry {
                            code: "TINH_TRANG_CT".into(),
                            slot,
                            number: false,
                            max: None,
                            req: "Optional",
                            kind: "Text".into(),
                            mirrors: None,
                        };
                    }
                    _ => {}
                }
            }
            if e.code == "MUC_HUONG" {
                e.max = Some(4);
            }
            v3176.push(e);
        }

        let upper = variant.to_uppercase();
        let variants: Vec<(&str, &str, &Vec<Entry>)> = if key == "13" || key == "14" || key == "15"
        {
            vec![("4750", "Qd4750", &base), ("3176", "Qd3176", &v3176)]
        } else {
            vec![
                ("130", "Qd130", &v130),
                ("4750", "Qd4750", &base),
                ("3176", "Qd3176", &v3176),
            ]
        };
        for (suffix, spec, entries) in &variants {
            writeln!(
                out,
                "static {upper}_{suffix}: [FieldSpec; {}] = [",
                entries.len()
            )
            .unwrap();
            for e in entries.iter() {
                let max = e.max.map_or("None".to_string(), |m| format!("Some({m})"));
                let mirrors = e
                    .mirrors
                    .as_ref()
                    .map_or("None".to_string(), |m| format!("Some(\"{m}\")"));
                writeln!(
                    out,
                    "    FieldSpec {{ code: \"{}\", slot: {}, declared: {}, max: {max}, req: {}, kind: {}, mirrors_xml1: {mirrors} }},",
                    e.code,
                    e.slot,
                    if e.number { "Number" } else { "Str" },
                    e.req,
                    e.kind
                )
                .unwrap();
            }
            out.push_str("];\n\n");
            writeln!(
                layout_arms,
                "        (Spec::{spec}, Table::{variant}) => &{upper}_{suffix},"
            )
            .unwrap();
        }
        writeln!(slot_arms, "        Table::{variant} => {},", slots.len()).unwrap();
        writeln!(superset_arms, "        Table::{variant} => &[").unwrap();
        for (code, _, _) in &slots {
            writeln!(superset_arms, "            \"{code}\",").unwrap();
        }
        superset_arms.push_str("        ],\n");

        // The typed record.
        writeln!(out, "/// {title}.").unwrap();
        out.push_str("///\n/// Field names are the format's element codes in snake case.\n");
        out.push_str("#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]\n");
        writeln!(out, "pub struct {name} {{").unwrap();
        for (code, kind, meaning) in &slots {
            let meaning = meaning.replace('\n', " ");
            writeln!(out, "    /// `{code}`: {meaning}").unwrap();
            writeln!(
                out,
                "    #[serde(rename = \"{code}\")]\n    pub {}: {},",
                code.to_lowercase(),
                rust_type(kind)
            )
            .unwrap();
        }
        out.push_str("}\n\n");
        writeln!(out, "impl Record for {name} {{").unwrap();
        writeln!(out, "    const TABLE: Table = Table::{variant};\n").unwrap();
        out.push_str("    fn from_values(mut v: Values) -> Self {\n");
        writeln!(out, "        v.resize({}, None);", slots.len()).unwrap();
        writeln!(out, "        Self {{").unwrap();
        for (i, (code, kind, _)) in slots.iter().enumerate() {
            writeln!(
                out,
                "            {}: conv::{}(v[{i}].take()),",
                code.to_lowercase(),
                conv(rust_type(kind))
            )
            .unwrap();
        }
        out.push_str("        }\n    }\n\n");
        out.push_str("    fn to_values(&self) -> Values {\n        vec![\n");
        for (code, kind, _) in &slots {
            writeln!(
                out,
                "            conv::w_{}(&self.{}),",
                conv(rust_type(kind)),
                code.to_lowercase()
            )
            .unwrap();
        }
        out.push_str("        ]\n    }\n}\n\n");
    }
    out.push_str(
        "/// The field table of `table` in `spec`, in element order (empty when the\n\
         /// spec does not define the table).\n\
         pub fn layout(spec: Spec, table: Table) -> &'static [FieldSpec] {\n    match (spec, table) {\n",
    );
    out.push_str(&layout_arms);
    out.push_str("        _ => &[],\n    }\n}\n\n");
    out.push_str(
        "/// Number of value slots of the table's superset record.\npub fn slots(table: Table) -> usize {\n    match table {\n",
    );
    out.push_str(&slot_arms);
    out.push_str("    }\n}\n\n");
    out.push_str(
        "/// Element code of each slot of the table's superset record.\npub fn slot_codes(table: Table) -> &'static [&'static str] {\n    match table {\n",
    );
    out.push_str(&superset_arms);
    out.push_str("    }\n}\n");
    out
}

#[test]
fn generated_code_is_fresh() {
    let fresh = generate();
    let path = crate_dir().join("src/generated.rs");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("UPDATE_SOURCEGEN").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "src/generated.rs is stale: run UPDATE_SOURCEGEN=1 cargo test -p healthbook-dossier --test sourcegen, then cargo fmt"
    );
}

/// The crate's copy of fields.json must be the shared reference, when it is beside us.
#[test]
fn fields_json_matches_shared_reference() {
    let shared = crate_dir().join("../../../shared/vn-standards/fields.json");
    if let Ok(reference) = std::fs::read(&shared) {
        let ours = std::fs::read(crate_dir().join("spec/fields.json")).unwrap();
        assert!(
            ours == reference,
            "spec/fields.json differs from {shared:?}"
        );
    }
}
