//! Validation: per-field rules driven by the field tables, and the structural and
//! cross-field rules of one dossier.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::finding::{Finding, Location};
use crate::ids::{self, IdError};
use crate::model::conv::{parse_date, parse_datetime, split_list};
use crate::model::{BirthDate, Dossier};
use crate::spec::{
    Check, DeclaredType, FieldSpec, Kind, Req, Spec, Table, When, fields as layout, sheet_rules,
};

pub use crate::ids::is_facility;

/// What is wrong with one value.
struct Problem {
    suffix: &'static str,
    vi: String,
    en: String,
}

fn problem(suffix: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Option<Problem> {
    Some(Problem {
        suffix,
        vi: vi.into(),
        en: en.into(),
    })
}

/// The field texts of one record by slot, owned ([`crate::model::Values`]) or
/// borrowed from the document ([`crate::model::Texts`]).
pub trait Row {
    /// The text in `slot`, `None` when absent or empty (or not a slot of the row).
    fn text(&self, slot: usize) -> Option<&str>;
}

impl<S: AsRef<str>> Row for [Option<S>] {
    #[inline]
    fn text(&self, slot: usize) -> Option<&str> {
        self.get(slot)?.as_ref().map(AsRef::as_ref)
    }
}

impl<S: AsRef<str>> Row for Vec<Option<S>> {
    #[inline]
    fn text(&self, slot: usize) -> Option<&str> {
        self.as_slice().text(slot)
    }
}

/// Check every field of one row against the field table of `spec`.
pub fn fields<R: Row + ?Sized>(
    row: &R,
    table: Table,
    spec: Spec,
    loc: &Location,
    out: &mut Vec<Finding>,
) {
    fields_at(row, table, spec, || loc.clone(), out)
}

/// As [`fields`], with the row's location made only when a finding needs it.
pub(crate) fn fields_at<R: Row + ?Sized>(
    row: &R,
    table: Table,
    spec: Spec,
    loc: impl Fn() -> Location,
    out: &mut Vec<Finding>,
) {
    let t = table.code();
    for f in layout(spec, table) {
        let at = || Location {
            field: Some(f.code),
            ..loc()
        };
        let Some(v) = row.text(f.slot) else {
            if f.req == Req::Required {
                out.push(
                    Finding::error(
                        format!("{t}.{}.required", f.code),
                        format!("Trường {} bắt buộc nhưng bị bỏ trống", f.code),
                        format!("{} is required but empty", f.code),
                    )
                    .at(at()),
                );
            }
            continue;
        };
        if let Some(p) = check_value(f, v) {
            out.push(
                Finding::error(format!("{t}.{}.{}", f.code, p.suffix), p.vi, p.en)
                    .at(at())
                    .value(v),
            );
        }
    }
}

/// Length, declared type, then the kind's format.
fn check_value(f: &FieldSpec, v: &str) -> Option<Problem> {
    if let Some(max) = f.max {
        // Bytes bound characters from above: count only when it could matter.
        // Values are NFC already (normalised at parse).
        if v.len() > max as usize {
            let n = v.chars().count();
            if n > max as usize {
                let (vi, en) = match f.appendix_max {
                    Some(a) => (
                        format!(
                            " (theo bảng kiểm tra của Cổng BHXH; phụ lục QĐ ghi {})",
                            a.map_or("không giới hạn".to_string(), |a| a.to_string())
                        ),
                        format!(
                            " (the BHXH portal's rule sheet; the decree's appendix says {})",
                            a.map_or("unbounded".to_string(), |a| a.to_string())
                        ),
                    ),
                    None => (String::new(), String::new()),
                };
                return problem(
                    "max_length",
                    format!("{} dài {n} ký tự, vượt tối đa {max}{vi}", f.code),
                    format!(
                        "{} is {n} characters long, more than the maximum {max}{en}",
                        f.code
                    ),
                );
            }
        }
    }
    let numeric_kind = matches!(f.kind, Kind::Integer | Kind::Decimal(_));
    if f.declared == DeclaredType::Number && !numeric_kind && !is_number(v) {
        return problem(
            "number",
            format!("{} phải là số", f.code),
            format!("{} must be a number", f.code),
        );
    }
    check_kind(f.code, f.kind, v)
}

fn is_number(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// `cond.bad(|| problem)`: the problem when the condition says the value is bad.
trait Bad {
    fn bad(self, p: impl FnOnce() -> Option<Problem>) -> Option<Problem>;
}

impl Bad for bool {
    fn bad(self, p: impl FnOnce() -> Option<Problem>) -> Option<Problem> {
        if self { p() } else { None }
    }
}

/// A value not in its format: what is expected, in Vietnamese and in English.
fn format_problem(code: &str, expected_vi: &str, expected_en: &str) -> Option<Problem> {
    problem(
        "format",
        format!("{code} sai định dạng, phải là {expected_vi}"),
        format!("{code} is not in the format {expected_en}"),
    )
}

/// A department code of the catalogue (see `Kind::Departments`).
fn is_department(c: &str) -> bool {
    let (main, sub) = c.split_once('.').unwrap_or((c, ""));
    let Some(digits) = main.strip_prefix('K') else {
        return false;
    };
    let known = |p: &str| matches!(p.parse::<u8>(), Ok(1..=60 | 99));
    !digits.is_empty()
        && digits.len() % 2 == 0
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (0..digits.len())
            .step_by(2)
            .all(|i| known(&digits[i..i + 2]))
        && (c.len() == main.len()
            || (!sub.is_empty() && sub.bytes().all(|b| b.is_ascii_alphanumeric())))
}

fn check_kind(code: &str, kind: Kind, v: &str) -> Option<Problem> {
    match kind {
        Kind::Package => {
            let n = v.strip_prefix('G').unwrap_or("");
            let ok = !n.is_empty()
                && n.len() <= 3
                && n.bytes().all(|b| b.is_ascii_digit())
                && !n.starts_with('0');
            (!ok).bad(|| format_problem(code, "G và số từ 1 đến 999 (G1, G2, …)", "G and a number 1–999 (G1, G2, …)"))
        }
        Kind::Departments => split_list(v).find(|c| !is_department(c)).and_then(|c| {
            problem(
                "catalogue",
                format!("{code}: \"{c}\" không có trong danh mục khoa (K01–K60, K99; QĐ 1804/QĐ-BYT PL02)"),
                format!("{code}: \"{c}\" is not in the department catalogue (K01–K60, K99; QĐ 1804 PL02)"),
            )
        }),
        Kind::Text | Kind::Code => None,
        Kind::CodeList => split_list(v)
            .any(|x| x.contains(char::is_whitespace))
            .bad(|| {
                format_problem(
                    code,
                    "danh sách mã cách nhau bởi \";\", không có khoảng trắng",
                    "a list of codes separated by \";\", without spaces",
                )
            }),
        Kind::Integer => (!v.bytes().all(|b| b.is_ascii_digit())).bad(|| {
            problem(
                "format",
                format!("{code} phải là số nguyên không âm"),
                format!("{code} must be a whole non-negative number"),
            )
        }),
        Kind::Decimal(scale) => {
            if !is_number(v) {
                return problem(
                    "format",
                    format!("{code} phải là số thập phân, dấu \".\" ngăn cách"),
                    format!("{code} must be a decimal number with \".\" as separator"),
                );
            }
            let decimals = v.split_once('.').map_or(0, |(_, f)| f.len());
            (decimals > scale as usize).bad(|| {
                problem(
                    "decimals",
                    format!("{code} có {decimals} chữ số thập phân, tối đa {scale}"),
                    format!("{code} has {decimals} decimals, at most {scale} allowed"),
                )
            })
        }
        Kind::DateTime => parse_datetime(v)
            .is_none()
            .bad(|| format_problem(code, "yyyyMMddHHmm", "yyyyMMddHHmm")),
        Kind::Date => parse_date(v)
            .is_none()
            .bad(|| format_problem(code, "yyyyMMdd", "yyyyMMdd")),
        Kind::BirthDate => BirthDate::parse(v).is_none().bad(|| {
            format_problem(
                code,
                "yyyyMMddHHmm (ngày và tháng chưa rõ ghi 0000, giờ chưa rõ ghi 0000)",
                "yyyyMMddHHmm (unknown day and month written 0000, unknown time 0000)",
            )
        }),
        Kind::DateOrDateTime => {
            (parse_date(v).is_none() && parse_datetime(v).is_none()).bad(|| {
                format_problem(
                    code,
                    "yyyyMMdd hoặc yyyyMMddHHmm",
                    "yyyyMMdd or yyyyMMddHHmm",
                )
            })
        }
        Kind::DateList => split_list(v).any(|d| parse_date(d).is_none()).bad(|| {
            format_problem(
                code,
                "yyyyMMdd, nhiều ngày cách nhau bởi \";\"",
                "yyyyMMdd, several dates separated by \";\"",
            )
        }),
        Kind::PersonId => match ids::person_id(v) {
            Ok(_) => None,
            Err(IdError::Province) => problem(
                "province",
                format!("{code}: mã tỉnh nơi đăng ký khai sinh (3 số đầu) không hợp lệ"),
                format!("{code}: the birth-registration province (first 3 digits) is unknown"),
            ),
            Err(_) => format_problem(
                code,
                "12 chữ số (CCCD), 9 chữ số (CMND) hoặc 1 chữ in hoa + 7 chữ số (hộ chiếu)",
                "12 digits (citizen ID), 9 digits (old ID card) or 1 capital letter + 7 digits (passport)",
            ),
        },
        Kind::BhytCard => card_problem(code, v),
        Kind::BhytCardList => split_list(v).find_map(|c| card_problem(code, c)),
        Kind::Bhxh => match ids::bhxh(v) {
            Ok(()) => None,
            Err(IdError::AllZeros) => problem(
                "format",
                format!("{code} không được toàn số 0"),
                format!("{code} must not be all zeros"),
            ),
            Err(_) => format_problem(code, "10 chữ số", "10 digits"),
        },
        Kind::Facility => {
            (!ids::is_facility(v)).bad(|| format_problem(code, "5 chữ số", "5 digits"))
        }
        Kind::FacilityList => split_list(v).any(|x| !ids::is_facility(x)).bad(|| {
            format_problem(
                code,
                "mã cơ sở 5 chữ số, cách nhau bởi \";\"",
                "5-digit facility codes separated by \";\"",
            )
        }),
        Kind::Province => (!ids::is_province(v)).bad(|| {
            problem(
                "province",
                format!("{code}: mã tỉnh \"{v}\" không có trong danh mục"),
                format!("{code}: province code \"{v}\" is not in the list"),
            )
        }),
        Kind::Icd10 => (!ids::is_icd10(v)).bad(|| {
            format_problem(
                code,
                "mã ICD-10 (ví dụ J02.9)",
                "an ICD-10 code (e.g. J02.9)",
            )
        }),
        Kind::Icd10List(max) => {
            if split_list(v).any(|x| !ids::is_icd10(x)) || v.contains(' ') {
                return format_problem(
                    code,
                    "mã ICD-10 cách nhau bởi \";\" (ví dụ J02.9;E11.9)",
                    "ICD-10 codes separated by \";\" (e.g. J02.9;E11.9)",
                );
            }
            let n = split_list(v).count();
            (n > max as usize).bad(|| {
                problem(
                    "too_many",
                    format!("{code} có {n} mã, tối đa {max}"),
                    format!("{code} lists {n} codes, at most {max} allowed"),
                )
            })
        }
        Kind::BedList => split_list(v)
            .any(|b| {
                let b = b.as_bytes();
                b.len() != 4 || !b"HTCK".contains(&b[0]) || !b[1..].iter().all(u8::is_ascii_digit)
            })
            .bad(|| {
                format_problem(
                    code,
                    "mã giường [H|T|C|K] + 3 chữ số, cách nhau bởi \";\"",
                    "bed codes [H|T|C|K] + 3 digits separated by \";\"",
                )
            }),
        Kind::DecimalList => split_list(v).any(|x| !is_number(x)).bad(|| {
            format_problem(
                code,
                "các số cách nhau bởi \";\"",
                "numbers separated by \";\"",
            )
        }),
        Kind::Enum(codes) => (!codes.contains(v)).bad(|| {
            let list = codes.values();
            let (vi_list, en_list) = if list.is_empty() {
                (
                    "mã trong danh mục".to_string(),
                    "a code of the list".to_string(),
                )
            } else {
                (list.join(", "), list.join(", "))
            };
            problem(
                "enum",
                format!(
                    "{code} = \"{v}\" không thuộc danh mục {}: {vi_list}",
                    codes.name()
                ),
                format!(
                    "{code} = \"{v}\" is not in the {} list: {en_list}",
                    codes.name()
                ),
            )
        }),
    }
}

fn card_problem(code: &str, v: &str) -> Option<Problem> {
    match ids::bhyt_card(v) {
        Ok(()) => None,
        Err(IdError::ObjectCode) => problem(
            "object_code",
            format!(
                "{code}: hai ký tự đầu của thẻ \"{}\" không phải mã đối tượng hợp lệ",
                &v[..2]
            ),
            format!(
                "{code}: the first two characters \"{}\" are not a valid object code",
                &v[..2]
            ),
        ),
        Err(IdError::Benefit) => problem(
            "benefit",
            format!("{code}: ký tự thứ 3 (mức hưởng) phải từ 1 đến 5"),
            format!("{code}: the 3rd character (benefit level) must be 1 to 5"),
        ),
        Err(IdError::Province) => problem(
            "province",
            format!("{code}: mã tỉnh (ký tự 4–5) không hợp lệ"),
            format!("{code}: the province code (characters 4–5) is not valid"),
        ),
        Err(_) => format_problem(
            code,
            "15 ký tự: 2 chữ in hoa + 13 chữ số",
            "15 characters: 2 capital letters + 13 digits",
        ),
    }
}

/// A field of a table row, within the location of a dossier.
fn field_at(base: &Location, table: Table, field: &'static str, row: Option<u32>) -> Location {
    Location {
        table: Some(table),
        field: Some(field),
        row,
        ..base.clone()
    }
}

/// Record an error finding, with the offending value when there is one.
fn push(
    out: &mut Vec<Finding>,
    code: String,
    vi: String,
    en: String,
    l: Location,
    v: Option<&str>,
) {
    let f = Finding::error(code, vi, en).at(l);
    out.push(match v {
        Some(v) => f.value(v),
        None => f,
    });
}

/// The structural and cross-field rules of one dossier (one HOSO).
pub fn dossier(d: &Dossier, facility: &str, loc: &Location, out: &mut Vec<Finding>) {
    let Some(s) = &d.summary else {
        out.push(
            Finding::error(
                "HOSO.XML1.missing",
                "HOSO không có XML1 (bảng tổng hợp), bắt buộc đúng một lần",
                "The HOSO has no XML1 (summary); exactly one is required",
            )
            .at(loc.clone()),
        );
        return;
    };
    let ma_lk = s.ma_lk.clone();
    let base = Location {
        ma_lk: ma_lk.clone(),
        ..loc.clone()
    };
    let at =
        |table: Table, field: &'static str, row: Option<u32>| field_at(&base, table, field, row);

    // The sending facility is the facility of the episode.
    if let Some(c) = &s.ma_cskcb
        && !facility.is_empty()
        && c != facility
    {
        push(
            out,
            "XML1.MA_CSKCB.envelope_mismatch".into(),
            format!("MA_CSKCB \"{c}\" của XML1 khác MACSKCB \"{facility}\" của tệp"),
            format!("XML1 MA_CSKCB \"{c}\" differs from the envelope's MACSKCB \"{facility}\""),
            at(Table::Xml1, "MA_CSKCB", None),
            Some(c),
        );
    }

    // Dates in order.
    let order = |out: &mut Vec<Finding>,
                 table: Table,
                 later: &'static str,
                 earlier: &'static str,
                 a: Option<NaiveDateTime>,
                 b: Option<NaiveDateTime>,
                 row: Option<u32>| {
        if let (Some(a), Some(b)) = (a, b)
            && a < b
        {
            let t = table.code();
            let code = format!("{t}.{later}.before_{}", earlier.to_lowercase());
            let f = Finding::error(
                code,
                format!(
                    "{later} ({}) sớm hơn {earlier} ({})",
                    a.format("%d/%m/%Y %H:%M"),
                    b.format("%d/%m/%Y %H:%M")
                ),
                format!("{later} ({a}) is earlier than {earlier} ({b})"),
            )
            .at(at(table, later, row));
            out.push(f);
        }
    };
    order(
        out,
        Table::Xml1,
        "NGAY_RA",
        "NGAY_VAO",
        s.ngay_ra,
        s.ngay_vao,
        None,
    );
    // The other orders are rule cells of the portal's sheet (`sheet`).

    let care = s.ma_loai_kcb.as_deref().unwrap_or("");
    // SO_NGAY_DTRI by care type.
    if let (Some(n), Some(vao), Some(ra)) = (s.so_ngay_dtri, s.ngay_vao, s.ngay_ra) {
        let expected = match care {
            "01" | "07" | "09" => Some(0),
            "02" | "03" | "04" | "06" => Some((ra.date() - vao.date()).num_days().max(-1) + 1),
            _ => None,
        };
        if let Some(e) = expected
            && e >= 0
            && n as i64 != e
        {
            push(
                out,
                "XML1.SO_NGAY_DTRI.rule".into(),
                format!("SO_NGAY_DTRI = {n} nhưng với MA_LOAI_KCB {care} phải là {e}"),
                format!("SO_NGAY_DTRI is {n} but care type {care} requires {e}"),
                at(Table::Xml1, "SO_NGAY_DTRI", None),
                Some(&n.to_string()),
            );
        }
    }

    // XML14 ⇒ NGAY_TAI_KHAM.
    if d.appointment.is_some() && s.ngay_tai_kham.is_empty() {
        push(
            out,
            "XML1.NGAY_TAI_KHAM.required_by_xml14".into(),
            "Có giấy hẹn khám lại (XML14) nhưng XML1 không ghi NGAY_TAI_KHAM".into(),
            "An appointment letter (XML14) is present but XML1 has no NGAY_TAI_KHAM".into(),
            at(Table::Xml1, "NGAY_TAI_KHAM", None),
            None,
        );
    }

    // Inpatient ⇒ XML7, unless died or absconded.
    let died = matches!(s.ket_qua_dtri.as_deref(), Some("5" | "8"));
    let absconded = s.ma_loai_rv.as_deref() == Some("3");
    if care == "03" && d.discharge.is_none() && !died && !absconded {
        push(
            out,
            "HOSO.XML7.missing".into(),
            "Hồ sơ điều trị nội trú phải có giấy ra viện (XML7), trừ khi tử vong hoặc trốn viện".into(),
            "An inpatient dossier must carry a discharge paper (XML7) unless the patient died or absconded".into(),
            Location {
                table: Some(Table::Xml7),
                ..base.clone()
            },
            None,
        );
    }
    if matches!(care, "03" | "04" | "06") && d.record_summary.is_none() {
        out.push(
            Finding::warning(
                "HOSO.XML8.missing",
                "Hồ sơ nội trú/ban ngày nên có tóm tắt hồ sơ bệnh án (XML8)",
                "An inpatient or day-care dossier should carry a record summary (XML8)",
            )
            .at(Location {
                table: Some(Table::Xml8),
                ..base.clone()
            }),
        );
    }
    if matches!(s.ma_loai_rv.as_deref(), Some("2" | "5")) && s.ma_noi_den.is_none() {
        out.push(
            Finding::warning(
                "XML1.MA_NOI_DEN.required_by_referral",
                "Chuyển tuyến (MA_LOAI_RV 2 hoặc 5) nhưng không ghi MA_NOI_DEN",
                "Referred out (MA_LOAI_RV 2 or 5) but MA_NOI_DEN is empty",
            )
            .at(at(Table::Xml1, "MA_NOI_DEN", None)),
        );
    }

    // Several cards: the card fields must list as many values.
    let cards = s.ma_the_bhyt.len();
    if cards > 0 {
        for (field, n) in [
            ("MA_DKBD", s.ma_dkbd.len()),
            ("GT_THE_TU", s.gt_the_tu.len()),
            ("GT_THE_DEN", s.gt_the_den.len()),
        ] {
            if n != cards && n != 0 {
                push(
                    out,
                    format!("XML1.{field}.card_count"),
                    format!("{field} có {n} giá trị nhưng MA_THE_BHYT có {cards} thẻ"),
                    format!("{field} lists {n} values but MA_THE_BHYT lists {cards} cards"),
                    at(Table::Xml1, field, None),
                    None,
                );
            }
        }
    }

    // Personal ID against birth year and sex (warnings: the card may carry the error).
    if let (Some(id), Some(b)) = (&s.so_cccd, &s.ngay_sinh)
        && let Ok(info) = ids::cccd(id)
    {
        if info.birth_year != b.year {
            out.push(
                Finding::warning(
                    "XML1.SO_CCCD.birth_year_mismatch",
                    format!(
                        "Năm sinh theo số định danh ({}) khác NGAY_SINH ({})",
                        info.birth_year, b.year
                    ),
                    format!(
                        "The personal ID encodes birth year {} but NGAY_SINH says {}",
                        info.birth_year, b.year
                    ),
                )
                .at(at(Table::Xml1, "SO_CCCD", None))
                .value(id),
            );
        }
        let sex = s.gioi_tinh.as_deref();
        if (sex == Some("1") && !info.male) || (sex == Some("2") && info.male) {
            out.push(
                Finding::warning(
                    "XML1.SO_CCCD.sex_mismatch",
                    "Giới tính theo số định danh khác GIOI_TINH",
                    "The personal ID encodes a sex other than GIOI_TINH",
                )
                .at(at(Table::Xml1, "SO_CCCD", None))
                .value(id),
            );
        }
    }

    money(d, s, &base, out);
}

/// Rules across the tables of one dossier that read the field texts: one MA_LK
/// shared by every row, and the fields that mirror XML1. `tables` holds every
/// table read from the HOSO, as field texts.
pub fn across_tables<R: Row>(
    tables: &[(Table, Vec<R>)],
    spec: Spec,
    loc: &Location,
    out: &mut Vec<Finding>,
) {
    let Some(xml1) = tables
        .iter()
        .find(|(t, _)| *t == Table::Xml1)
        .and_then(|(_, rows)| rows.first())
    else {
        return;
    };
    let ma_lk = xml1.text(0).map(str::to_string);
    let base = Location {
        ma_lk: ma_lk.clone(),
        ..loc.clone()
    };
    let at =
        |table: Table, field: &'static str, row: Option<u32>| field_at(&base, table, field, row);
    // One MA_LK shared by every row of every table.
    if let Some(key) = &ma_lk {
        for (table, rows) in tables {
            let table = *table;
            let slot = crate::generated::slot_codes(table)
                .iter()
                .position(|c| *c == "MA_LK");
            let Some(slot) = slot else { continue };
            for (i, row) in rows.iter().enumerate() {
                if let Some(v) = row.text(slot)
                    && v != key.as_str()
                {
                    let t = table.code();
                    push(
                        out,
                        format!("{t}.MA_LK.mismatch"),
                        format!("MA_LK \"{v}\" của {t} khác MA_LK \"{key}\" của XML1"),
                        format!("{t} has MA_LK \"{v}\" but XML1 has \"{key}\""),
                        at(table, "MA_LK", table.is_list().then_some(i as u32 + 1)),
                        Some(v),
                    );
                }
            }
        }
    }

    // The rule cells of the portal's sheet.
    for (table, rows) in tables {
        sheet(*table, rows, Some(xml1), spec, &base, out);
    }

    // Mirrored fields ("if present must equal the XML1 value"). Not when XML1 has
    // none: a referral letter's MA_CSKCB_DI is this facility while XML1 MA_NOI_DI
    // (where the patient came from) is empty.
    let xml1_codes = crate::generated::slot_codes(Table::Xml1);
    for (table, rows) in tables {
        let table = *table;
        if table == Table::Xml1 {
            continue;
        }
        for f in layout(spec, table) {
            let Some(target) = f.mirrors_xml1 else {
                continue;
            };
            let Some(x) = xml1_codes.iter().position(|c| *c == target) else {
                continue;
            };
            for (i, row) in rows.iter().enumerate() {
                if let (Some(v), Some(w)) = (row.text(f.slot), xml1.text(x))
                    && !same(v, w)
                {
                    let t = table.code();
                    push(
                        out,
                        format!("{t}.{}.mismatch", f.code),
                        format!(
                            "{} của {t} (\"{v}\") khác {target} của XML1 (\"{w}\")",
                            f.code
                        ),
                        format!(
                            "{t} {} (\"{v}\") differs from XML1 {target} (\"{w}\")",
                            f.code
                        ),
                        at(table, f.code, table.is_list().then_some(i as u32 + 1)),
                        Some(v),
                    );
                }
            }
        }
    }
}

/// The value of field `code` in a row of `table` (`None` when empty or not a field
/// of the table).
fn value<'a, R: Row + ?Sized>(row: &'a R, table: Table, code: &str) -> Option<&'a str> {
    in_slot(row, slot_of(table, code))
}

fn slot_of(table: Table, code: &str) -> Option<usize> {
    crate::generated::slot_codes(table)
        .iter()
        .position(|c| *c == code)
}

/// The text in a slot, `None` when empty.
fn in_slot<R: Row + ?Sized>(row: &R, slot: Option<usize>) -> Option<&str> {
    row.text(slot?).filter(|v| !v.trim().is_empty())
}

/// Whether a row meets the condition of a sheet rule. A ";"-list meets `In` when one
/// of its items does.
fn holds<R: Row + ?Sized>(when: When, row: &R, table: Table) -> bool {
    let any_of = |f: &str, values: &[&str]| {
        value(row, table, f).is_some_and(|v| v.split(';').any(|i| values.contains(&i.trim())))
    };
    match when {
        When::In(f, values) => any_of(f, values),
        When::NotIn(f, values) => !any_of(f, values),
        When::Present(f) => value(row, table, f).is_some(),
        When::AllAbsent(fs) => fs.iter().all(|f| value(row, table, f).is_none()),
    }
}

/// A date or date-time field's text as a moment (a date alone is its midnight).
fn moment(v: &str) -> Option<NaiveDateTime> {
    parse_datetime(v).or_else(|| parse_date(v).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// The rule cells of the portal's sheet for `spec` (`spec::sheet_rules`) on the
/// rows of one table; `xml1` is the dossier's summary row (none for a check-in).
pub fn sheet<R: Row>(
    table: Table,
    rows: &[R],
    xml1: Option<&R>,
    spec: Spec,
    loc: &Location,
    out: &mut Vec<Finding>,
) {
    if rows.is_empty() {
        return;
    }
    let t = table.code();
    for rule in sheet_rules(spec).iter().filter(|r| r.table == table) {
        let f = rule.field;
        // Only a finding quotes the sheet: no allocation on the valid path.
        let quote = || rule.sheet.replace('\n', " ");
        if let Check::OnlyForCareTypes(care) = rule.check {
            let got = xml1.and_then(|x| value(x, Table::Xml1, "MA_LOAI_KCB"));
            if let Some(got) = got
                && !care.contains(&got)
            {
                push(
                    out,
                    format!("HOSO.{t}.care_type"),
                    format!(
                        "{t} không được gửi với MA_LOAI_KCB \"{got}\" của XML1 (Cổng BHXH: “{}”)",
                        quote()
                    ),
                    format!(
                        "{t} may not travel with XML1 MA_LOAI_KCB \"{got}\" (BHXH portal sheet: \"{}\")",
                        quote()
                    ),
                    Location {
                        table: Some(table),
                        field: Some(f),
                        ..loc.clone()
                    },
                    Some(got),
                );
            }
            continue;
        }
        // The rule's own field is read on every row: find its slot once.
        let slot = slot_of(table, f);
        for (i, row) in rows.iter().enumerate() {
            let at = |field: &'static str| Location {
                table: Some(table),
                field: Some(field),
                row: table
                    .is_list()
                    .then(|| value(row, table, "STT").and_then(|s| s.parse().ok()))
                    .map(|stt| stt.unwrap_or(i as u32 + 1)),
                ..loc.clone()
            };
            let v = in_slot(row, slot);
            match rule.check {
                Check::RequiredWhen(when) => {
                    if v.is_none() && holds(when, row, table) {
                        let quote = quote();
                        push(
                            out,
                            format!("{t}.{f}.required_when"),
                            format!(
                                "Trường {f} bắt buộc trong trường hợp này (Cổng BHXH: “{quote}”)"
                            ),
                            format!("{f} is required here (BHXH portal sheet: \"{quote}\")"),
                            at(f),
                            None,
                        );
                    }
                }
                Check::AllOrNone(others) => {
                    let all: Vec<&'static str> =
                        std::iter::once(f).chain(others.iter().copied()).collect();
                    let given = all
                        .iter()
                        .filter(|c| value(row, table, c).is_some())
                        .count();
                    if given > 0 && given < all.len() {
                        let quote = quote();
                        for c in all.iter().filter(|c| value(row, table, c).is_none()) {
                            push(
                                out,
                                format!("{t}.{c}.all_or_none"),
                                format!(
                                    "Trường {c} bắt buộc khi một trong {} có giá trị (Cổng BHXH: “{quote}”)",
                                    all.join(", ")
                                ),
                                format!(
                                    "{c} is required when any of {} has a value (BHXH portal sheet: \"{quote}\")",
                                    all.join(", ")
                                ),
                                at(c),
                                None,
                            );
                        }
                    }
                }
                Check::NotBefore(other) => {
                    let earlier = value(row, table, other)
                        .or_else(|| xml1.and_then(|x| value(x, Table::Xml1, other)));
                    if let (Some(a), Some(b)) = (v, earlier)
                        && let (Some(ma), Some(mb)) = (moment(a), moment(b))
                    {
                        // A date alone is compared with the other's day.
                        let late = if a.len() == 8 || b.len() == 8 {
                            ma.date() < mb.date()
                        } else {
                            ma < mb
                        };
                        if late {
                            let quote = quote();
                            push(
                                out,
                                format!("{t}.{f}.before_{}", other.to_lowercase()),
                                format!(
                                    "{f} ({}) sớm hơn {other} ({}) (Cổng BHXH: “{quote}”)",
                                    show(ma, a.len()),
                                    show(mb, b.len())
                                ),
                                format!(
                                    "{f} ({a}) is earlier than {other} ({b}) (BHXH portal sheet: \"{quote}\")"
                                ),
                                at(f),
                                Some(a),
                            );
                        }
                    }
                }
                Check::AtMostDaysBetween(from, to) => {
                    let days = value(row, table, from)
                        .and_then(parse_date)
                        .zip(value(row, table, to).and_then(parse_date))
                        .map(|(a, b)| (b - a).num_days());
                    if let (Some(n), Some(days)) = (v.and_then(|v| v.parse::<i64>().ok()), days)
                        && n > days
                    {
                        let quote = quote();
                        push(
                            out,
                            format!("{t}.{f}.too_many_days"),
                            format!(
                                "{f} = {n} vượt số ngày từ {from} đến {to} ({days}) (Cổng BHXH: “{quote}”)"
                            ),
                            format!(
                                "{f} is {n}, more than the {days} days from {from} to {to} (BHXH portal sheet: \"{quote}\")"
                            ),
                            at(f),
                            v,
                        );
                    }
                }
                // Applied by the field's own checks and by `across_tables`.
                Check::EqualsXml1 | Check::Field { .. } | Check::OnlyForCareTypes(_) => {}
            }
        }
    }
}

/// A moment as people read it: the day, with the time when the text has one.
fn show(m: NaiveDateTime, len: usize) -> String {
    if len == 8 {
        m.format("%d/%m/%Y").to_string()
    } else {
        m.format("%d/%m/%Y %H:%M").to_string()
    }
}

/// Text equality up to case and inner whitespace (names are retyped by people).
fn same(a: &str, b: &str) -> bool {
    a == b || {
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        norm(a) == norm(b)
    }
}

const TOLERANCE: Decimal = Decimal::ONE;

/// The formulas that hold Vietnamese words, with their English (the others are field
/// names and symbols, the same in both languages).
const FORMULAS_EN: [(&str, &str); 3] = [
    ("Σ THANH_TIEN_BV của XML2", "Σ THANH_TIEN_BV of XML2"),
    (
        "Σ THANH_TIEN_BV của dòng vật tư XML3",
        "Σ THANH_TIEN_BV of the supply lines of XML3",
    ),
    (
        "Σ T_BHTT của dòng MA_PTTT = 1",
        "Σ T_BHTT of the lines with MA_PTTT = 1",
    ),
];

fn formula_en(f: &str) -> &str {
    FORMULAS_EN
        .iter()
        .find(|(vi, _)| *vi == f)
        .map_or(f, |(_, en)| en)
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Compares amounts with what their formula gives, within one đồng.
struct Money<'a> {
    base: &'a Location,
    out: &'a mut Vec<Finding>,
}

impl Money<'_> {
    fn check(
        &mut self,
        table: Table,
        field: &'static str,
        row: Option<u32>,
        got: Option<Decimal>,
        want: Decimal,
        formula: &str,
    ) {
        let Some(got) = got else { return };
        if (got - want).abs() <= TOLERANCE {
            return;
        }
        let t = table.code();
        let suffix = if table == Table::Xml1 {
            "total"
        } else {
            "amount"
        };
        self.out.push(
            Finding::error(
                format!("{t}.{field}.{suffix}"),
                format!("{field} = {got} nhưng theo công thức {formula} phải là {want}"),
                format!("{field} is {got} but {} gives {want}", formula_en(formula)),
            )
            .at(Location {
                table: Some(table),
                field: Some(field),
                row,
                ..self.base.clone()
            })
            .value(&got.to_string()),
        );
    }

    /// The rules of one XML2 or XML3 line.
    fn line(&mut self, table: Table, row: Option<u32>, l: &Line) {
        let h = Decimal::ONE_HUNDRED;
        let dv = l.ratio_dv.unwrap_or(h) / h;
        let xml3 = table == Table::Xml3;
        if let (Some(q), Some(p)) = (l.qty, l.price_bv) {
            let f = if xml3 {
                "SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100"
            } else {
                "SO_LUONG × DON_GIA"
            };
            self.check(table, "THANH_TIEN_BV", row, l.bv, round2(q * p * dv), f);
        }
        let nk = l.nk.unwrap_or_default();
        // With another source, the split follows case (a) or (b) of §4.16; only the
        // conservation rule below holds in both.
        if nk.is_zero() {
            if let (Some(q), Some(p), Some(r)) = (l.qty, l.price_bh, l.ratio_bh) {
                let f = if xml3 {
                    "SO_LUONG × DON_GIA_BH × TYLE_TT_DV/100 × TYLE_TT_BH/100"
                } else {
                    "SO_LUONG × DON_GIA × TYLE_TT_BH/100"
                };
                self.check(
                    table,
                    "THANH_TIEN_BH",
                    row,
                    l.bh,
                    round2(q * p * dv * r / h),
                    f,
                );
            }
            if let (Some(bh), Some(m)) = (l.bh, l.benefit) {
                let f = "THANH_TIEN_BH × MUC_HUONG/100";
                self.check(table, "T_BHTT", row, l.bhtt, round2(bh * m / h), f);
            }
        }
        if l.nk_parts.iter().any(Option::is_some) {
            let sum: Decimal = l.nk_parts.iter().flatten().sum();
            self.check(
                table,
                "T_NGUONKHAC",
                row,
                l.nk,
                sum,
                "T_NGUONKHAC_NSNN + VTNN + VTTN + CL",
            );
        }
        if let (Some(bv), Some(a), Some(b), Some(c)) = (l.bv, l.bntt, l.bncct, l.bhtt) {
            let f = "T_BNTT + T_BNCCT + T_BHTT + T_NGUONKHAC = THANH_TIEN_BV";
            self.check(table, "T_BHTT", row, Some(a + b + c + nk), bv, f);
        }
    }
}

/// The amounts of one drug or service line.
struct Line {
    qty: Option<Decimal>,
    price_bv: Option<Decimal>,
    price_bh: Option<Decimal>,
    ratio_dv: Option<Decimal>,
    ratio_bh: Option<Decimal>,
    benefit: Option<Decimal>,
    bv: Option<Decimal>,
    bh: Option<Decimal>,
    nk_parts: [Option<Decimal>; 4],
    nk: Option<Decimal>,
    bntt: Option<Decimal>,
    bncct: Option<Decimal>,
    bhtt: Option<Decimal>,
    fee_for_service: bool,
    supply: bool,
}

/// Line amounts and XML1 totals (§4.16), within one đồng.
fn money(d: &Dossier, s: &crate::model::Summary, base: &Location, out: &mut Vec<Finding>) {
    let drugs = d.drugs.iter().map(|l| Line {
        qty: l.so_luong,
        price_bv: l.don_gia,
        price_bh: l.don_gia,
        ratio_dv: None,
        ratio_bh: l.tyle_tt_bh,
        benefit: l.muc_huong,
        bv: l.thanh_tien_bv,
        bh: l.thanh_tien_bh,
        nk_parts: [
            l.t_nguonkhac_nsnn,
            l.t_nguonkhac_vtnn,
            l.t_nguonkhac_vttn,
            l.t_nguonkhac_cl,
        ],
        nk: l.t_nguonkhac,
        bntt: l.t_bntt,
        bncct: l.t_bncct,
        bhtt: l.t_bhtt,
        fee_for_service: l.ma_pttt.as_deref() == Some("1"),
        supply: false,
    });
    let services = d.services.iter().map(|l| Line {
        qty: l.so_luong,
        price_bv: l.don_gia_bv,
        price_bh: l.don_gia_bh,
        ratio_dv: l.tyle_tt_dv,
        ratio_bh: l.tyle_tt_bh,
        benefit: l.muc_huong,
        bv: l.thanh_tien_bv,
        bh: l.thanh_tien_bh,
        nk_parts: [
            l.t_nguonkhac_nsnn,
            l.t_nguonkhac_vtnn,
            l.t_nguonkhac_vttn,
            l.t_nguonkhac_cl,
        ],
        nk: l.t_nguonkhac,
        bntt: l.t_bntt,
        bncct: l.t_bncct,
        bhtt: l.t_bhtt,
        fee_for_service: l.ma_pttt.as_deref() == Some("1"),
        supply: l.ma_vat_tu.is_some(),
    });
    let mut m = Money { base, out };
    let mut lines = Vec::new();
    for (table, stts, ls) in [
        (
            Table::Xml2,
            d.drugs.iter().map(|l| l.stt).collect::<Vec<_>>(),
            drugs.collect::<Vec<_>>(),
        ),
        (
            Table::Xml3,
            d.services.iter().map(|l| l.stt).collect(),
            services.collect(),
        ),
    ] {
        for (i, (stt, l)) in stts.into_iter().zip(ls).enumerate() {
            m.line(table, Some(stt.unwrap_or(i as u32 + 1)), &l);
            lines.push((table, l));
        }
    }
    let z = Decimal::ZERO;
    let sum = |f: &dyn Fn(Table, &Line) -> Option<Decimal>| -> Decimal {
        lines.iter().filter_map(|(t, l)| f(*t, l)).sum()
    };
    let t = Table::Xml1;
    let drug_total = sum(&|t, l| (t == Table::Xml2).then(|| l.bv.unwrap_or(z)));
    m.check(
        t,
        "T_THUOC",
        None,
        s.t_thuoc,
        drug_total,
        "Σ THANH_TIEN_BV của XML2",
    );
    let supplies = sum(&|_, l| l.supply.then(|| l.bv.unwrap_or(z)));
    m.check(
        t,
        "T_VTYT",
        None,
        s.t_vtyt,
        supplies,
        "Σ THANH_TIEN_BV của dòng vật tư XML3",
    );
    m.check(
        t,
        "T_TONGCHI_BV",
        None,
        s.t_tongchi_bv,
        sum(&|_, l| l.bv),
        "Σ THANH_TIEN_BV",
    );
    m.check(
        t,
        "T_TONGCHI_BH",
        None,
        s.t_tongchi_bh,
        sum(&|_, l| l.bh),
        "Σ THANH_TIEN_BH",
    );
    m.check(t, "T_BNTT", None, s.t_bntt, sum(&|_, l| l.bntt), "Σ T_BNTT");
    m.check(
        t,
        "T_BNCCT",
        None,
        s.t_bncct,
        sum(&|_, l| l.bncct),
        "Σ T_BNCCT",
    );
    m.check(
        t,
        "T_NGUONKHAC",
        None,
        s.t_nguonkhac,
        sum(&|_, l| l.nk),
        "Σ T_NGUONKHAC",
    );
    if let (Some(bh), Some(cct)) = (s.t_tongchi_bh, s.t_bncct) {
        m.check(
            t,
            "T_BHTT",
            None,
            s.t_bhtt,
            bh - cct,
            "T_TONGCHI_BH − T_BNCCT",
        );
    }
    let gdv = sum(&|_, l| if l.fee_for_service { l.bhtt } else { None });
    m.check(
        t,
        "T_BHTT_GDV",
        None,
        s.t_bhtt_gdv,
        gdv,
        "Σ T_BHTT của dòng MA_PTTT = 1",
    );
}
