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
        let rows: Vec<Row> = rows;
        out.insert(key.clone(), rows);
    }
    out
}

/// One row of a portal rule sheet, as written.
#[derive(Clone, Debug, Default)]
struct SheetRow {
    code: String,
    /// "Số" → true, "Chuỗi" → false.
    number: Option<bool>,
    /// A number, or `None` for "n" (unbounded).
    max: Option<Option<u32>>,
    /// The "Bắt buộc" cell.
    req: String,
    /// The "VALID" cell.
    valid: String,
}

/// The portal's rule sheet of one variant, by fields.json table key ("CI", "1" …).
fn sheet(file: &str) -> BTreeMap<String, Vec<SheetRow>> {
    use calamine::Reader;
    let path = crate_dir().join("spec/sheets").join(file);
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = BTreeMap::new();
    for name in book.sheet_names() {
        let lower = name.trim().to_lowercase();
        let key = if lower.contains("check") {
            "CI".to_string()
        } else {
            lower
                .trim_start_matches("bang")
                .trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect()
        };
        // XML12 is typed into the portal by assessment councils, never sent.
        if key == "12" || key.is_empty() {
            continue;
        }
        let range = book.worksheet_range(&name).unwrap();
        let mut rows = range.rows();
        let header: Vec<String> = rows
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string().trim().to_string())
            .collect();
        let col = |h: &str| header.iter().position(|x| x == h);
        let (code, ty, max) = (
            col("Chỉ tiêu").unwrap(),
            col("Kiểu dữ liệu").unwrap(),
            col("Kích thước tối đa").unwrap(),
        );
        let (req, valid) = (col("Bắt buộc"), col("VALID"));
        let cell = |r: &[calamine::Data], i: Option<usize>| {
            i.and_then(|i| r.get(i))
                .map(|c| c.to_string().trim().to_string())
                .unwrap_or_default()
        };
        let mut list = Vec::new();
        for r in rows {
            let c = cell(r, Some(code));
            if c.is_empty() {
                continue;
            }
            let m = cell(r, Some(max));
            list.push(SheetRow {
                code: c,
                number: match cell(r, Some(ty)).as_str() {
                    "Số" => Some(true),
                    "Chuỗi" => Some(false),
                    _ => None,
                },
                max: if m == "n" {
                    Some(None)
                } else {
                    m.parse().ok().map(Some)
                },
                req: cell(r, req),
                valid: cell(r, valid),
            });
        }
        out.insert(key, list);
    }
    out
}

/// How each rule cell of the sheets is applied: (table key or "*", field or "*", the
/// cell's words, a `spec::Check`, or "Layout" for a cell that restates the field's
/// type, size or requiredness, which the layout already holds). A cell with no entry here fails generation, so a
/// changed sheet cannot drift from the rules silently; an entry no cell uses fails too.
const INTERPRET: &[(&str, &str, &str, &str)] = &[
    ("*", "*", "Như 4210", "Layout"),
    ("*", "*", "Như QĐ 4210", "Layout"),
    ("*", "*", "Giữ nguyên như 4210", "Layout"),
    ("*", "*", "Sửa thành Không bắt buộc trường này", "Layout"),
    (
        "*",
        "SO_CCCD",
        "Định dạng 9,12 ký tự số hoặc 8 ký tự bắt đầu là chữ in hoa và 7 ký tự số ở sau",
        "Field { bad: \"12345\" }",
    ),
    (
        "*",
        "MA_DOITUONG_KCB",
        "Check Danh mục",
        "Field { bad: \"9.9\" }",
    ),
    ("*", "MA_KHOA", "Check Danh mục", "Field { bad: \"X01\" }"),
    ("*", "LAN_XN_PCR", "Check Danh mục", "Field { bad: \"7\" }"),
    ("*", "*", ">= NGAY_VAO", "NotBefore(\"NGAY_VAO\")"),
    (
        "*",
        "*",
        "Như NGAY_VAO bổ sung thêm điều kiện >= NGAY_VAO",
        "NotBefore(\"NGAY_VAO\")",
    ),
    ("*", "*", ">= NGAY_YL", "NotBefore(\"NGAY_YL\")"),
    ("*", "*", ">= NGAY_RA", "NotBefore(\"NGAY_RA\")"),
    (
        "*",
        "*",
        "x (Chỉ bắt buộc khi NGAY_VAO_NOI_TRU not null)",
        "RequiredWhen(When::Present(\"NGAY_VAO_NOI_TRU\"))",
    ),
    (
        "*",
        "*",
        "Sửa lại chỉ bắt buộc khi MA_THUOC và MA_VAT_TU =  null",
        "RequiredWhen(When::AllAbsent(&[\"MA_THUOC\", \"MA_VAT_TU\"]))",
    ),
    (
        "*",
        "*",
        "Chỉ bắt buộc khi MA_DICH_VU và MA_VAT_TU = null",
        "RequiredWhen(When::AllAbsent(&[\"MA_DICH_VU\", \"MA_VAT_TU\"]))",
    ),
    (
        "*",
        "*",
        "Chỉ bắt buộc khi MA_DICH_VU và MA_THUOC = null",
        "RequiredWhen(When::AllAbsent(&[\"MA_DICH_VU\", \"MA_THUOC\"]))",
    ),
    (
        "*",
        "*",
        "Sửa lại chỉ bắt buộc khi MA_DICH_VU not null",
        "RequiredWhen(When::Present(\"MA_DICH_VU\"))",
    ),
    (
        "*",
        "*",
        "Sửa lại chỉ bắt buộc khi MA_THUOC not null",
        "RequiredWhen(When::Present(\"MA_THUOC\"))",
    ),
    (
        "*",
        "*",
        "Sửa lại chỉ bắt buộc khi MA_VAT_TU not null",
        "RequiredWhen(When::Present(\"MA_VAT_TU\"))",
    ),
    (
        "*",
        "MA_NOI_DEN",
        "Như MA_NOI_DI",
        "Field { bad: \"0100\" }",
    ),
    (
        "1",
        "SO_NGAY_DTRI",
        "- Đối với Trường thông tin MA_LOAI_KCB có các mã \"01\", \"07\", \"09\" thì trường thông tin SO_NGAY_DTRI = 0;\n- Đối với Trường thông tin MA_LOAI_KCB có các mã \"02\", \"03\", \"04\", \"06\" thì trường thông tin SO_NGAY_DTRI = Ngày RA trừ (-) ngày VÀO cộng (+) 1;",
        "Field { bad: \"999\" }",
    ),
    (
        "*",
        "NAM_NAM_LIEN_TUC",
        "Như trường NGAY_MIEN_CCT",
        "Field { bad: \"20241399\" }",
    ),
    (
        "*",
        "MA_TTDV",
        "10 ký tự dạng số",
        "Field { bad: \"12345\" }",
    ),
    (
        "*",
        "*",
        "Bắt buộc trừ mã nhóm 7,17",
        "RequiredWhen(When::NotIn(\"MA_NHOM\", &[\"7\", \"17\"]))",
    ),
    (
        "*",
        "*",
        "Theo File công thức",
        "Field { bad: \"123456789\" }",
    ),
    (
        "*",
        "*",
        "Theo File Công thức",
        "Field { bad: \"123456789\" }",
    ),
    ("*", "*", "Null hoặc = 1", "Field { bad: \"2\" }"),
    (
        "*",
        "GOI_VTYT",
        "Ký tự G + số từ 1-999",
        "Field { bad: \"G0\" }",
    ),
    (
        "*",
        "*",
        "Bắt buộc khi MA_NHOM = 12",
        "RequiredWhen(When::In(\"MA_NHOM\", &[\"12\"]))",
    ),
    (
        "*",
        "*",
        "Bắt buộc khi MA_NHOM = 10",
        "RequiredWhen(When::In(\"MA_NHOM\", &[\"10\"]))",
    ),
    (
        "*",
        "*",
        "Bắt buộc MA_NHOM =1,2,3,8,18",
        "RequiredWhen(When::In(\"MA_NHOM\", &[\"1\", \"2\", \"3\", \"8\", \"18\"]))",
    ),
    (
        "*",
        "*",
        "bắt buộc MA_NHOM =1,2,3,8,18",
        "RequiredWhen(When::In(\"MA_NHOM\", &[\"1\", \"2\", \"3\", \"8\", \"18\"]))",
    ),
    ("*", "MA_BENH_YHCT", "Như Bảng 1", "Layout"),
    (
        "*",
        "*",
        "Bắt buộc khi trường GIA_TRI có dữ liệu",
        "RequiredWhen(When::Present(\"GIA_TRI\"))",
    ),
    (
        "*",
        "*",
        "Nếu có dữ liệu thì phải giống thông tin này ở bảng 1",
        "EqualsXml1",
    ),
    (
        "*",
        "*",
        "không bắt buộc khi LOAI_DTRI_LAO = 0 Còn lại là bắt buộc",
        "RequiredWhen(When::NotIn(\"LOAI_DTRI_LAO\", &[\"0\"]))",
    ),
    (
        "*",
        "*",
        "không bắt buộc khi LOAI_DTRI_LAO = 0 còn lại là bắt buộc",
        "RequiredWhen(When::NotIn(\"LOAI_DTRI_LAO\", &[\"0\"]))",
    ),
    (
        "*",
        "*",
        "bắt buộc nếu MA_TINH_TRANG_DK =1",
        "RequiredWhen(When::In(\"MA_TINH_TRANG_DK\", &[\"1\"]))",
    ),
    (
        "*",
        "*",
        "bắt buộc khi MA_XU_TRI = 1",
        "RequiredWhen(When::In(\"MA_XU_TRI\", &[\"1\"]))",
    ),
    (
        "*",
        "*",
        "bắt buộc trong trường hợp MA_PHAC_DO_DIEU_TRI = KHAC",
        "RequiredWhen(When::In(\"MA_PHAC_DO_DIEU_TRI\", &[\"KHAC\"]))",
    ),
    (
        "6",
        "SO_NGAY_CAP_THUOC_ARV",
        "nhỏ hơn hoặc bằng với ngày trong trường thông tin NGAY_KET_THUC_XU_TRI trừ đi (-) ngày trong trường thông tin NGAY_BAT_DAU_XU_TRI)",
        "AtMostDaysBetween(\"NGAY_BAT_DAU_XU_TRI\", \"NGAY_KET_THUC_XU_TRI\")",
    ),
    (
        "*",
        "*",
        "bắt buộc khi MA_DINH_CHI_THAI =1",
        "RequiredWhen(When::In(\"MA_DINH_CHI_THAI\", &[\"1\"]))",
    ),
    (
        "*",
        "*",
        "Bắt buộc ghi trường thông tin này khi MA_DINH_CHI_THAI là mã \"1\".",
        "RequiredWhen(When::In(\"MA_DINH_CHI_THAI\", &[\"1\"]))",
    ),
    (
        "7",
        "SO_NGAY_NGHI",
        "Nếu 1 trường có dữ liệu thì bắt buộc nhập ca3 3 trường",
        "AllOrNone(&[\"NGOAITRU_TUNGAY\", \"NGOAITRU_DENNGAY\"])",
    ),
    (
        "8",
        "MA_LK",
        "Bảng 8 chỉ có khi MA_LOAI_KCB ở XML1 in ('03','04','06');",
        "OnlyForCareTypes(&[\"03\", \"04\", \"06\"])",
    ),
    (
        "*",
        "*",
        "là Số là và ko được để tất cả = 0",
        "Field { bad: \"0000000000\" }",
    ),
    (
        "*",
        "*",
        "Như trường GIOI_TINH bảng 1",
        "Field { bad: \"4\" }",
    ),
    (
        "11",
        "MAU_SO",
        "Bắt buộc là CT07 hoặc null;\nNếu null tự insert DB là CT07",
        "Field { bad: \"CT08\" }",
    ),
];

/// The interpretation of one cell (see `INTERPRET`); panics on a cell without one.
fn interpret(key: &str, field: &str, text: &str, used: &mut [bool]) -> &'static str {
    let i = INTERPRET
        .iter()
        .position(|(k, f, t, _)| {
            (*k == "*" || *k == key) && (*f == "*" || *f == field) && *t == text
        })
        .unwrap_or_else(|| {
            panic!("sheet cell of table {key} field {field} has no interpretation in INTERPRET: {text:?}")
        });
    used[i] = true;
    INTERPRET[i].3
}

/// Whether a "Bắt buộc" cell marks the field required, optional, or leaves it to
/// the rule in its words.
fn sheet_req(cell: &str) -> Option<&'static str> {
    match cell {
        "x" | "X" => Some("Required"),
        "" => Some("Optional"),
        // "as in QĐ 4210": the layout's own requiredness stands.
        "Như QĐ 4210" | "Giữ nguyên như 4210" => None,
        _ => Some("Conditional"),
    }
}

/// Where we knowingly depart from a sheet's "required" mark: (table key, field,
/// requiredness, why). Each is listed in the README's check section.
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[(
    "3",
    "MA_BENH",
    "Optional",
    "the decree's definition says an empty MA_BENH means the service was ordered for the \
     main disease, and the shared reference sample leaves it empty",
)];

/// Apply a sheet's sizes, types and requiredness to a layout (the portal applies
/// the sheet where it differs from the appendix).
fn apply_sheet(key: &str, entries: &mut [Entry], rows: Option<&Vec<SheetRow>>) {
    let Some(rows) = rows else { return };
    for e in entries.iter_mut() {
        let Some(r) = rows.iter().find(|r| r.code == e.code) else {
            continue;
        };
        if let Some(max) = r.max
            && max != e.max
        {
            e.appendix_max = Some(e.max);
            e.max = max;
        }
        if let Some(n) = r.number {
            e.number = n;
        }
        if let Some(req) = sheet_req(&r.req) {
            e.req = req;
        }
        if r.valid == "Sửa thành Không bắt buộc trường này" {
            e.req = "Optional";
        }
        if let Some(d) = DEVIATIONS.iter().find(|d| d.0 == key && d.1 == e.code) {
            e.req = d.2;
        }
    }
}

/// The rules of one sheet's cells, as `SheetRule` literals. `valid_from` supplies
/// the VALID cells when the sheet has no such column (the QĐ 130 sheet).
fn sheet_rules(
    sheet: &BTreeMap<String, Vec<SheetRow>>,
    valid_from: &BTreeMap<String, Vec<SheetRow>>,
    used: &mut [bool],
) -> Vec<String> {
    let mut out = Vec::new();
    for &(key, variant, _, _) in TABLES {
        let Some(rows) = sheet.get(key) else { continue };
        for r in rows {
            let valid = valid_from
                .get(key)
                .and_then(|v| v.iter().find(|v| v.code == r.code))
                .map_or("", |v| v.valid.as_str());
            let req = r.req.as_str();
            for text in [req, valid] {
                if text.is_empty() || text == "x" || text == "X" {
                    continue;
                }
                let check = interpret(key, &r.code, text, used);
                if check == "Layout" {
                    continue;
                }
                out.push(format!(
                    "    SheetRule {{ table: Table::{variant}, field: {:?}, check: {check}, sheet: {:?} }},",
                    r.code, text
                ));
            }
        }
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
        "MA_KHOA" if table == "3" => "Departments",
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
        "LAN_XN_PCR" => "Enum(Codes::PcrRound)",
        "GOI_VTYT" => "Package",
        "NAM_NAM_LIEN_TUC" => "Date",
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
        "CodeList" | "Departments" | "BhytCardList" | "FacilityList" | "BedList" => "Vec<String>",
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
    /// The appendix's size when the sheet sets another.
    appendix_max: Option<Option<u32>>,
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
    let (s130, s4750) = (sheet("portal-130.xlsx"), sheet("portal-4750.xlsx"));
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
         use crate::spec::{Check::*, FieldSpec, SheetRule, Spec, Table, When};\n\n",
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
        let mut base: Vec<Entry> = rows
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
                appendix_max: None,
            })
            .collect();
        // QĐ 130: drop what 4750 added, undo its size and type corrections.
        let mut v130: Vec<Entry> = rows
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
        // The portal's sheets: QĐ 130's for 130, QĐ 4750's for 4750 and (before its
        // own changes) 3176.
        apply_sheet(key, &mut v130, s130.get(key));
        apply_sheet(key, &mut base, s4750.get(key));
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
                            appendix_max: None,
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

        // "Must equal Bảng 1 when present": every such cell names a mirrored field.
        if let Some(rows) = s4750.get(key) {
            for r in rows
                .iter()
                .filter(|r| r.valid.starts_with("Nếu có dữ liệu thì phải giống"))
            {
                assert!(
                    base.iter().any(|e| e.code == r.code && e.mirrors.is_some()),
                    "table {key} {}: the sheet says it mirrors XML1 but fields.json does not",
                    r.code
                );
            }
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
                let appendix = match e.appendix_max {
                    None => "None".to_string(),
                    Some(None) => "Some(None)".to_string(),
                    Some(Some(m)) => format!("Some(Some({m}))"),
                };
                let mirrors = e
                    .mirrors
                    .as_ref()
                    .map_or("None".to_string(), |m| format!("Some(\"{m}\")"));
                writeln!(
                    out,
                    "    FieldSpec {{ code: \"{}\", slot: {}, declared: {}, max: {max}, req: {}, kind: {}, mirrors_xml1: {mirrors}, appendix_max: {appendix} }},",
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
        out.push_str("    fn from_texts<S: conv::Text>(mut v: Vec<Option<S>>) -> Self {\n");
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

    // The rule cells of the sheets. The QĐ 130 sheet has no VALID column: its value
    // rules are the QĐ 4750 sheet's.
    let mut used = vec![false; INTERPRET.len()];
    for (name, sheet) in [("130", &s130), ("4750", &s4750)] {
        let rules = sheet_rules(sheet, &s4750, &mut used);
        writeln!(
            out,
            "\nstatic SHEET_{name}: [SheetRule; {}] = [",
            rules.len()
        )
        .unwrap();
        for r in rules {
            writeln!(out, "{r}").unwrap();
        }
        out.push_str("];\n");
    }
    for (i, u) in used.iter().enumerate() {
        assert!(u, "INTERPRET entry no sheet cell uses: {:?}", INTERPRET[i]);
    }
    out.push_str(
        "\n/// The rule cells of the portal's sheet for `spec`.\n\
         pub fn sheet_rules(spec: Spec) -> &'static [SheetRule] {\n    match spec {\n        \
         Spec::Qd130 => &SHEET_130,\n        Spec::Qd4750 | Spec::Qd3176 => &SHEET_4750,\n    }\n}\n",
    );
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
