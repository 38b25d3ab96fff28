//! Doses exported by the national immunisation system (Hệ thống thông tin quản lý tiêm
//! chủng quốc gia), as CSV or JSON lines, for `healthbook vaccinations import` and the
//! station's import. The fields are the system's own (immunization.md §3):
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `so_dinh_danh` | yes | the person's personal ID (12 digits): how the line finds its person |
//! | `ngay_tiem` | yes | `dd/MM/yyyy`, `HH:mm dd/MM/yyyy` or `yyyy-mm-dd` |
//! | `vacxin_id` or `ma_vacxin` | one of them | the national `VACXIN_ID`, or healthbook's vaccine code |
//! | `trang_thai_mui_tiem` | no (2) | 2 given, 3 contraindicated, 4 refused, 5 deferred |
//! | `ly_do` | for 3, 4, 5 | why |
//! | `ngay_sinh`, `ho_ten`, `gioi_tinh` | no | checked against the person (birth) |
//! | `lich_su_tiem_id` | no | the dose's id: sent again, not added twice |
//! | `doi_tuong_id`, `ma_doi_tuong` | no | the system's subject ids (kept) |
//! | `thu_tu_mui_tiem` | no | dose number (1–20) |
//! | `co_so_id`, `co_so_tiem_chung` | no | the vaccination point (id, name) |
//! | `lo_vacxin`, `duong_tiem`, `vi_tri_tiem` | no | lot, route (ID IM SC PO), site |
//! | `seo`, `truoc_24h` | no | BCG scar, HepB within 24 h (0/1) |
//! | `so_mui_uv`, `thang_thai` | no | women's tetanus count, month of pregnancy |
//! | `phan_ung_sau_tiem` | no | a reaction |
//! | `ma_chung_nhan`, `san_pham`, `nha_san_xuat`, `so_mui_lieu_trinh` | no | COVID-19 certificate |
//!
//! A header naming an unknown field refuses the file. Each line is read on its own: a
//! line with a bad value is refused, naming its line and field
//! ([`store::DoseRefusal`]), and the others go on.

use std::collections::BTreeMap;

use book::immunization::{self as imm, CovidCertificate, DoseDetails, DoseStatus, NationalIds};
use chrono::NaiveDate;
use store::{DoseImport, DoseRefusal, NewDose};

pub use crate::deltas::Format;
use crate::deltas::MAX_LINE;
use crate::{CsvError, bounded};

/// The most lines one file may hold.
pub const MAX_ROWS: usize = 2_000_000;

/// Every field the reader knows.
pub const FIELDS: &[&str] = &[
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "doi_tuong_id",
    "ma_doi_tuong",
    "lich_su_tiem_id",
    "vacxin_id",
    "ma_vacxin",
    "ten_vacxin",
    "khang_nguyen",
    "thu_tu_mui_tiem",
    "ngay_tiem",
    "trang_thai_mui_tiem",
    "ly_do",
    "co_so_id",
    "co_so_tiem_chung",
    "lo_vacxin",
    "duong_tiem",
    "vi_tri_tiem",
    "seo",
    "truoc_24h",
    "so_mui_uv",
    "thang_thai",
    "phan_ung_sau_tiem",
    "ma_chung_nhan",
    "san_pham",
    "nha_san_xuat",
    "so_mui_lieu_trinh",
];

/// What a file gave: the lines read, and those refused.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<(u64, DoseImport)>,
    pub refused: Vec<DoseRefusal>,
    /// Lines read (refused included).
    pub lines: usize,
}

fn refusal(line: u64, field: &str, code: &str, message: String) -> DoseRefusal {
    DoseRefusal {
        line,
        field: field.to_string(),
        code: code.to_string(),
        message: bounded(message),
    }
}

/// A day as the national system writes it (`dd/MM/yyyy`, with `HH:mm ` before it in
/// the citizen API) or ISO.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let s = s.rsplit(' ').next().unwrap_or(s);
    NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

fn flag(line: u64, field: &str, v: &str) -> Result<Option<bool>, DoseRefusal> {
    match v {
        "" => Ok(None),
        "1" | "true" | "co" | "có" => Ok(Some(true)),
        "0" | "false" | "khong" | "không" => Ok(Some(false)),
        _ => Err(refusal(
            line,
            field,
            "invalid_flag",
            format!("{field} {v:?}: 0 hoặc 1"),
        )),
    }
}

fn small(line: u64, field: &str, v: &str, max: u8) -> Result<Option<u8>, DoseRefusal> {
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<u8>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(refusal(
            line,
            field,
            "invalid_number",
            format!("{field} {v:?}: số từ 1 đến {max}"),
        )),
    }
}

fn text(v: &str, max: usize) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.chars().take(max).collect())
}

/// One line's fields to a dose, or the first field that is wrong.
pub fn line_to_import(line: u64, f: &BTreeMap<String, String>) -> Result<DoseImport, DoseRefusal> {
    let get = |k: &str| f.get(k).map(|s| s.trim()).unwrap_or("");
    let personal_id = get("so_dinh_danh");
    if personal_id.is_empty() {
        return Err(refusal(
            line,
            "so_dinh_danh",
            "required",
            "so_dinh_danh: bắt buộc (số định danh cá nhân của người được tiêm)".into(),
        ));
    }
    if personal_id.len() != 12 || !personal_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refusal(
            line,
            "so_dinh_danh",
            "invalid_personal_id",
            format!("so_dinh_danh {personal_id:?}: gồm 12 chữ số"),
        ));
    }
    let vaccine = match (get("vacxin_id"), get("ma_vacxin")) {
        ("", "") => {
            return Err(refusal(
                line,
                "vacxin_id",
                "required",
                "vacxin_id: bắt buộc (hoặc ma_vacxin)".into(),
            ));
        }
        (id, "") => imm::vaccine_by_national_id(id).ok_or_else(|| {
            refusal(
                line,
                "vacxin_id",
                "unknown_vaccine",
                format!("vacxin_id {id:?}: không có trong danh mục vắc xin"),
            )
        })?,
        (_, code) => imm::vaccine(code).ok_or_else(|| {
            refusal(
                line,
                "ma_vacxin",
                "unknown_vaccine",
                format!("ma_vacxin {code:?}: không có trong danh mục vắc xin"),
            )
        })?,
    };
    let day = get("ngay_tiem");
    if day.is_empty() {
        return Err(refusal(
            line,
            "ngay_tiem",
            "required",
            "ngay_tiem: bắt buộc".into(),
        ));
    }
    let date = parse_day(day).ok_or_else(|| {
        refusal(
            line,
            "ngay_tiem",
            "invalid_date",
            format!("ngay_tiem {day:?}: ngày dạng dd/MM/yyyy"),
        )
    })?;
    let birth = match get("ngay_sinh") {
        "" => None,
        b => Some(parse_day(b).ok_or_else(|| {
            refusal(
                line,
                "ngay_sinh",
                "invalid_date",
                format!("ngay_sinh {b:?}: ngày dạng dd/MM/yyyy"),
            )
        })?),
    };
    let status = match get("trang_thai_mui_tiem") {
        "" => DoseStatus::Given,
        s => DoseStatus::from_national(s).ok_or_else(|| {
            refusal(
                line,
                "trang_thai_mui_tiem",
                "invalid_status",
                format!(
                    "trang_thai_mui_tiem {s:?}: 2 đã tiêm, 3 chống chỉ định, 4 không đồng ý, 5 tạm hoãn"
                ),
            )
        })?,
    };
    let reason = text(get("ly_do"), 500);
    if status != DoseStatus::Given && reason.is_none() {
        return Err(refusal(
            line,
            "ly_do",
            "required",
            "ly_do: bắt buộc khi chống chỉ định, không đồng ý hoặc tạm hoãn".into(),
        ));
    }
    let route = match get("duong_tiem") {
        "" => None,
        r if ["ID", "IM", "SC", "PO"].contains(&r) => Some(r.to_string()),
        r => {
            return Err(refusal(
                line,
                "duong_tiem",
                "invalid_route",
                format!("duong_tiem {r:?}: ID, IM, SC hoặc PO"),
            ));
        }
    };
    let dose_number = small(line, "thu_tu_mui_tiem", get("thu_tu_mui_tiem"), 20)?;
    small(line, "so_mui_uv", get("so_mui_uv"), 5)?;
    let pregnancy_month = small(line, "thang_thai", get("thang_thai"), 10)?;
    let doses_total = small(line, "so_mui_lieu_trinh", get("so_mui_lieu_trinh"), 20)?;
    let national = NationalIds {
        lich_su_tiem_id: text(get("lich_su_tiem_id"), 64),
        doi_tuong_id: text(get("doi_tuong_id"), 64),
        ma_doi_tuong: text(get("ma_doi_tuong"), 64),
        vacxin_id: text(get("vacxin_id"), 64),
        co_so_id: text(get("co_so_id"), 64),
    };
    let covid = CovidCertificate {
        certificate_id: text(get("ma_chung_nhan"), 100),
        product: text(get("san_pham"), 200),
        manufacturer: text(get("nha_san_xuat"), 200),
        doses_total,
        country: None,
        issuer: None,
    };
    let details = DoseDetails {
        lot: text(get("lo_vacxin"), 64),
        route: route.or_else(|| Some(vaccine.route.to_string())),
        site: text(get("vi_tri_tiem"), 10),
        reason,
        reaction: text(get("phan_ung_sau_tiem"), 500),
        facility_name: text(get("co_so_tiem_chung"), 200),
        pregnancy_month,
        bcg_scar: flag(line, "seo", get("seo"))?,
        hepb_within_24h: flag(line, "truoc_24h", get("truoc_24h"))?,
        primary_source: Some(true),
        covid: (covid != CovidCertificate::default()).then_some(covid),
        national: (national != NationalIds::default()).then_some(national.clone()),
        ..DoseDetails::default()
    };
    Ok(DoseImport {
        personal_id: personal_id.to_string(),
        birth,
        dose: NewDose {
            vaccine: vaccine.code.to_string(),
            date,
            status,
            dose_number,
            source: "import".into(),
            source_key: national.lich_su_tiem_id.map(|id| format!("nip:{id}")),
            facility: national.co_so_id,
            unit: None,
            details,
        },
    })
}

/// Read a file: the lines, each with its number (a CSV's header is line 1), and the
/// lines refused. A header (or a JSON line) naming an unknown field refuses the file.
pub fn parse(bytes: &[u8], format: Format) -> Result<Parsed, CsvError> {
    let mut out = Parsed::default();
    let take = |out: &mut Parsed, line: u64, fields: &BTreeMap<String, String>| {
        out.lines += 1;
        if out.lines > MAX_ROWS {
            return Err(CsvError::Csv(format!(
                "tối đa {MAX_ROWS} dòng một lần nhập"
            )));
        }
        match line_to_import(line, fields) {
            Ok(r) => out.rows.push((line, r)),
            Err(r) => out.refused.push(r),
        }
        Ok(())
    };
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .flexible(true)
                .from_reader(bytes);
            let headers: Vec<String> = r
                .headers()
                .map_err(|e| CsvError::Csv(bounded(e.to_string())))?
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
                .collect();
            for h in &headers {
                if !FIELDS.contains(&h.as_str()) {
                    return Err(CsvError::line(
                        1,
                        format!("cột {h:?}: không phải trường của hệ thống tiêm chủng quốc gia"),
                    ));
                }
            }
            if !headers.iter().any(|h| h == "so_dinh_danh") {
                return Err(CsvError::line(1, "thiếu cột so_dinh_danh".into()));
            }
            for rec in r.records() {
                let rec = match rec {
                    Ok(rec) => rec,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        out.lines += 1;
                        out.refused
                            .push(refusal(line, "", "invalid_line", e.to_string()));
                        continue;
                    }
                };
                let line = rec.position().map_or(0, |p| p.line());
                if rec.len() != headers.len() {
                    out.lines += 1;
                    out.refused.push(refusal(
                        line,
                        "",
                        "invalid_line",
                        format!("{} trường, tiêu đề có {}", rec.len(), headers.len()),
                    ));
                    continue;
                }
                let fields: BTreeMap<String, String> = headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(str::to_string))
                    .collect();
                take(&mut out, line, &fields)?;
            }
        }
        Format::Jsonl => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| CsvError::Csv(format!("không phải UTF-8: {e}")))?;
            for (i, l) in text.lines().enumerate() {
                let line = i as u64 + 1;
                let l = l.trim();
                if l.is_empty() {
                    continue;
                }
                if l.len() > MAX_LINE {
                    return Err(CsvError::line(
                        line,
                        format!("dòng dài quá {MAX_LINE} byte"),
                    ));
                }
                let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(l)
                {
                    Ok(o) => o,
                    Err(e) => {
                        out.lines += 1;
                        out.refused
                            .push(refusal(line, "", "invalid_json", format!("JSON: {e}")));
                        continue;
                    }
                };
                let mut fields = BTreeMap::new();
                for (k, v) in obj {
                    if !FIELDS.contains(&k.as_str()) {
                        return Err(CsvError::line(
                            line,
                            format!(
                                "trường {k:?}: không phải trường của hệ thống tiêm chủng quốc gia"
                            ),
                        ));
                    }
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::Bool(b) => (b as u8).to_string(),
                        other => other.to_string(),
                    };
                    fields.insert(k, v);
                }
                take(&mut out, line, &fields)?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_and_refusals_by_line_and_field() {
        let csv = "so_dinh_danh,ngay_sinh,lich_su_tiem_id,vacxin_id,thu_tu_mui_tiem,ngay_tiem,trang_thai_mui_tiem,ly_do,lo_vacxin\n\
                   001223000001,10/01/2023,900001,2,1,11/01/2023,2,,LOT1\n\
                   00122300000X,10/01/2023,900002,2,1,11/01/2023,2,,\n\
                   001223000001,10/01/2023,900003,999,1,11/01/2023,2,,\n\
                   001223000001,10/01/2023,900004,3,1,31/02/2023,2,,\n\
                   001223000001,10/01/2023,900005,3,1,10/03/2023,4,,\n\
                   001223000001,10/01/2023,900006,4,1,08:30 10/03/2023,,,\n";
        let p = parse(csv.as_bytes(), Format::Csv).unwrap();
        assert_eq!(p.lines, 6);
        assert_eq!(p.rows.len(), 2);
        let (line, first) = &p.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(first.dose.vaccine, "bcg");
        assert_eq!(first.dose.source_key.as_deref(), Some("nip:900001"));
        assert_eq!(first.dose.details.lot.as_deref(), Some("LOT1"));
        assert_eq!(p.rows[1].1.dose.vaccine, "opv");
        let named: Vec<(u64, &str)> = p
            .refused
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            named,
            vec![
                (3, "so_dinh_danh"),
                (4, "vacxin_id"),
                (5, "ngay_tiem"),
                (6, "ly_do")
            ]
        );
    }

    #[test]
    fn unknown_columns_refuse_the_file() {
        let e = parse(b"so_dinh_danh,mat_khau\n1,2\n", Format::Csv).unwrap_err();
        assert!(e.to_string().contains("mat_khau"), "{e}");
    }

    #[test]
    fn json_lines_with_numbers() {
        let j = "{\"so_dinh_danh\":\"001223000001\",\"vacxin_id\":4,\"ngay_tiem\":\"2023-03-10\",\"trang_thai_mui_tiem\":2}\n\
                 {\"so_dinh_danh\":\"001223000001\",\"ma_vacxin\":\"covid_pfizer\",\"ngay_tiem\":\"10/03/2023\",\"ma_chung_nhan\":\"VN-1\"}\n\
                 not json\n";
        let p = parse(j.as_bytes(), Format::Jsonl).unwrap();
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].1.dose.vaccine, "opv");
        let covid = p.rows[1].1.dose.details.covid.as_ref().unwrap();
        assert_eq!(covid.certificate_id.as_deref(), Some("VN-1"));
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].line, 3);
    }
}
