//! The format as data: spec variants, tables, and the field tables of each variant.
//!
//! The field tables themselves live in `generated.rs`, produced from
//! `spec/fields.json` by `tests/sourcegen.rs` (run with `UPDATE_SOURCEGEN=1` to
//! regenerate). This file holds the hand-written vocabulary they are written in.

use std::fmt;
use std::str::FromStr;

/// A variant of the output-data standard. The gateway endpoint names it
/// (`guiHoSoXmlQD130`, `…QD4750`, `…QD3176`); a file does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Spec {
    /// QĐ 130/QĐ-BYT (2023) before the 4750 corrections: no XML13–15.
    Qd130,
    /// QĐ 130 as amended by QĐ 4750/QĐ-BYT (in force 01/07/2024).
    Qd4750,
    /// The QĐ 3176/QĐ-BYT variant the BHXH portal runs since 01/01/2025.
    Qd3176,
}

impl Spec {
    pub const ALL: [Spec; 3] = [Spec::Qd130, Spec::Qd4750, Spec::Qd3176];

    pub fn code(self) -> &'static str {
        match self {
            Spec::Qd130 => "130",
            Spec::Qd4750 => "4750",
            Spec::Qd3176 => "3176",
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Spec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().trim_start_matches("QD").trim_start_matches("qd") {
            "130" => Ok(Spec::Qd130),
            "4750" => Ok(Spec::Qd4750),
            "3176" => Ok(Spec::Qd3176),
            other => Err(format!(
                "unknown spec '{other}' (expected 130, 4750 or 3176)"
            )),
        }
    }
}

/// A table of the standard. XML0 is the check-in message; XML12 is typed into the
/// portal by assessment councils and never travels in a dossier, so it has no variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Table {
    Xml0,
    Xml1,
    Xml2,
    Xml3,
    Xml4,
    Xml5,
    Xml6,
    Xml7,
    Xml8,
    Xml9,
    Xml10,
    Xml11,
    Xml13,
    Xml14,
    Xml15,
}

impl Table {
    /// Every table that can travel inside a `GIAMDINHHS` envelope, in table order.
    pub const IN_DOSSIER: [Table; 14] = [
        Table::Xml1,
        Table::Xml2,
        Table::Xml3,
        Table::Xml4,
        Table::Xml5,
        Table::Xml6,
        Table::Xml7,
        Table::Xml8,
        Table::Xml9,
        Table::Xml10,
        Table::Xml11,
        Table::Xml13,
        Table::Xml14,
        Table::Xml15,
    ];

    /// `LOAIHOSO` value ("XML1" …); "XML0" for the check-in.
    pub fn code(self) -> &'static str {
        match self {
            Table::Xml0 => "XML0",
            Table::Xml1 => "XML1",
            Table::Xml2 => "XML2",
            Table::Xml3 => "XML3",
            Table::Xml4 => "XML4",
            Table::Xml5 => "XML5",
            Table::Xml6 => "XML6",
            Table::Xml7 => "XML7",
            Table::Xml8 => "XML8",
            Table::Xml9 => "XML9",
            Table::Xml10 => "XML10",
            Table::Xml11 => "XML11",
            Table::Xml13 => "XML13",
            Table::Xml14 => "XML14",
            Table::Xml15 => "XML15",
        }
    }

    pub fn from_code(code: &str) -> Option<Table> {
        std::iter::once(Table::Xml0)
            .chain(Table::IN_DOSSIER)
            .find(|t| t.code() == code)
    }

    /// Root element, list wrapper (if any) and repeating record element (§2.3).
    /// For single-record tables the root is the record and `wrapper` is `None`.
    pub fn shape(self) -> Shape {
        let (root, wrapper, record) = match self {
            Table::Xml0 => (
                "CHI_TIEU_TRANG_THAI_KCB",
                Some("DSACH_TRANG_THAI_KCB"),
                "TRANG_THAI_KCB",
            ),
            Table::Xml1 => ("TONG_HOP", None, "TONG_HOP"),
            Table::Xml2 => (
                "CHITIEU_CHITIET_THUOC",
                Some("DSACH_CHI_TIET_THUOC"),
                "CHI_TIET_THUOC",
            ),
            Table::Xml3 => (
                "CHITIEU_CHITIET_DVKT_VTYT",
                Some("DSACH_CHI_TIET_DVKT"),
                "CHI_TIET_DVKT",
            ),
            Table::Xml4 => (
                "CHITIEU_CHITIET_DICHVUCANLAMSANG",
                Some("DSACH_CHI_TIET_CLS"),
                "CHI_TIET_CLS",
            ),
            Table::Xml5 => (
                "CHITIEU_CHITIET_DIENBIENLAMSANG",
                Some("DSACH_CHI_TIET_DIEN_BIEN_BENH"),
                "CHI_TIET_DIEN_BIEN_BENH",
            ),
            Table::Xml6 => (
                "CHI_TIEU_HO_SO_BENH_AN_CHAM_SOC_VA_DIEU_TRI_HIV_AIDS",
                Some("DSACH_HO_SO_BENH_AN_CHAM_SOC_VA_DIEU_TRI_HIV_AIDS"),
                "HO_SO_BENH_AN_CHAM_SOC_VA_DIEU_TRI_HIV_AIDS",
            ),
            Table::Xml7 => (
                "CHI_TIEU_DU_LIEU_GIAY_RA_VIEN",
                None,
                "CHI_TIEU_DU_LIEU_GIAY_RA_VIEN",
            ),
            Table::Xml8 => (
                "CHI_TIEU_DU_LIEU_TOM_TAT_HO_SO_BENH_AN",
                None,
                "CHI_TIEU_DU_LIEU_TOM_TAT_HO_SO_BENH_AN",
            ),
            Table::Xml9 => (
                "CHI_TIEU_DU_LIEU_GIAY_CHUNG_SINH",
                Some("DSACH_GIAYCHUNGSINH"),
                "DU_LIEU_GIAY_CHUNG_SINH",
            ),
            Table::Xml10 => (
                "CHI_TIEU_DU_LIEU_GIAY_NGHI_DUONG_THAI",
                None,
                "CHI_TIEU_DU_LIEU_GIAY_NGHI_DUONG_THAI",
            ),
            Table::Xml11 => (
                "CHI_TIEU_DU_LIEU_GIAY_CHUNG_NHAN_NGHI_VIEC_HUONG_BAO_HIEM_XA_HOI",
                None,
                "CHI_TIEU_DU_LIEU_GIAY_CHUNG_NHAN_NGHI_VIEC_HUONG_BAO_HIEM_XA_HOI",
            ),
            Table::Xml13 => ("CHI_TIEU_GIAYCHUYENTUYEN", None, "CHI_TIEU_GIAYCHUYENTUYEN"),
            Table::Xml14 => ("CHI_TIEU_GIAYHEN_KHAMLAI", None, "CHI_TIEU_GIAYHEN_KHAMLAI"),
            Table::Xml15 => (
                "CHI_TIEU_DIEUTRI_BENHLAO",
                Some("DSACH_CHITIET_DIEUTRI_BENHLAO"),
                "CHITIET_DIEUTRI_BENHLAO",
            ),
        };
        Shape {
            root,
            wrapper,
            record,
        }
    }

    /// Whether a dossier carries many rows of this table or exactly one.
    pub fn is_list(self) -> bool {
        self.shape().wrapper.is_some()
    }

    /// The table's title in Vietnamese (for reports to people).
    pub fn title_vi(self) -> &'static str {
        match self {
            Table::Xml0 => "Bảng check-in",
            Table::Xml1 => "Bảng 1 – tổng hợp KCB",
            Table::Xml2 => "Bảng 2 – chi tiết thuốc",
            Table::Xml3 => "Bảng 3 – chi tiết DVKT và VTYT",
            Table::Xml4 => "Bảng 4 – chi tiết dịch vụ cận lâm sàng",
            Table::Xml5 => "Bảng 5 – diễn biến lâm sàng",
            Table::Xml6 => "Bảng 6 – hồ sơ HIV/AIDS",
            Table::Xml7 => "Bảng 7 – giấy ra viện",
            Table::Xml8 => "Bảng 8 – tóm tắt hồ sơ bệnh án",
            Table::Xml9 => "Bảng 9 – giấy chứng sinh",
            Table::Xml10 => "Bảng 10 – giấy nghỉ dưỡng thai",
            Table::Xml11 => "Bảng 11 – giấy nghỉ việc hưởng BHXH",
            Table::Xml13 => "Bảng 13 – giấy chuyển tuyến",
            Table::Xml14 => "Bảng 14 – giấy hẹn khám lại",
            Table::Xml15 => "Bảng 15 – điều trị bệnh lao",
        }
    }

    /// Whether `spec` defines this table at all (XML13–15 arrived with 4750).
    pub fn in_spec(self, spec: Spec) -> bool {
        !(spec == Spec::Qd130 && matches!(self, Table::Xml13 | Table::Xml14 | Table::Xml15))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Element names of an inner table document.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub root: &'static str,
    pub wrapper: Option<&'static str>,
    pub record: &'static str,
}

/// The declared type of a field ("Chuỗi" / "Số").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclaredType {
    String,
    Number,
}

/// Requiredness, from the CTN validation sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Req {
    /// Marked required: empty is an error.
    Required,
    /// Required in some cases only; the cross-field rules decide.
    Conditional,
    Optional,
}

/// What a field's text must look like, beyond type and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A code without a known format (catalogue codes, free identifiers).
    Code,
    /// A ";"-separated list of codes.
    CodeList,
    /// An integer count or number (digits only).
    Integer,
    /// A decimal number with at most this many decimals ("." separator).
    Decimal(u8),
    /// `yyyyMMddHHmm`.
    DateTime,
    /// `yyyyMMdd`.
    Date,
    /// `NGAY_SINH`: `yyyyMMddHHmm` where unknown day+month are `0000` and an
    /// unknown time is `0000`.
    BirthDate,
    /// `yyyyMMdd` or `yyyyMMddHHmm` (`NGAY_MIEN_CCT`).
    DateOrDateTime,
    /// ";"-separated `yyyyMMdd` dates.
    DateList,
    /// CCCD (12 digits), CMND (9), passport (letter + 7 digits) or e-ID account.
    PersonId,
    /// One BHYT card number (15 characters).
    BhytCard,
    /// ";"-separated BHYT card numbers.
    BhytCardList,
    /// 10-digit social-insurance (BHXH) number, not all zeros.
    Bhxh,
    /// 5-digit facility code.
    Facility,
    /// ";"-separated 5-digit facility codes.
    FacilityList,
    /// Province of residence (2 digits).
    Province,
    /// One ICD-10 code.
    Icd10,
    /// ";"-separated ICD-10 codes, at most this many.
    Icd10List(u8),
    /// ";"-separated bed codes `[HTCK]ddd`.
    BedList,
    /// ";"-separated decimal numbers (newborn weights in grams).
    DecimalList,
    /// One value of a closed code list.
    Enum(Codes),
    /// A supply package of one service use: "G" and 1–999 (`GOI_VTYT`).
    Package,
    /// ";"-separated department codes of the catalogue (QĐ 5937 App.5 → QĐ 1804/2026
    /// PL02): "K" and two digits (01–60 or 99), joint specialties adding pairs of
    /// digits, sub-codes after a "." (`K16.1`, `K02.D35`).
    Departments,
}

/// The closed code lists of §7.5–7.7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codes {
    Sex,
    CareType,
    PatientCategory,
    Outcome,
    DischargeType,
    CostGroup,
    Scope,
    PaymentMethod,
    FundingSource,
    Anaesthesia,
    Area,
    /// "0" or "1".
    ZeroOne,
    /// "1" or empty.
    One,
    ReferralReason,
    SickLeaveForm,
    BloodGroup,
    Nationality,
    Ethnicity,
    /// `LAN_XN_PCR`: the PCR round of an exposed infant.
    PcrRound,
}

impl Codes {
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Codes::Sex => &["1", "2", "3"],
            Codes::CareType => &[
                "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14",
                "15", "16",
            ],
            // QĐ 3276/2025 PL1 codes plus the 824-era codes still sent for older episodes.
            Codes::PatientCategory => &[
                "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11",
                "1.12", "1.13", "1.14", "1.15", "1.16", "1.17", "1.18", "2", "3.1", "3.2", "3.3",
                "3.4", "3.5", "3.6", "3.7", "7", "7.1", "7.2", "7.3", "7.4", "8", "9", "10",
            ],
            Codes::Outcome => &["1", "2", "3", "4", "5", "6", "7", "8"],
            Codes::DischargeType => &["1", "2", "3", "4", "5"],
            Codes::CostGroup => &[
                "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
                "16", "17", "18", "19",
            ],
            Codes::Scope => &["1", "2", "3"],
            Codes::PaymentMethod => &["1", "2", "3"],
            Codes::FundingSource => &["1", "2", "3", "4"],
            Codes::Anaesthesia => &["1", "2", "3", "4"],
            Codes::Area => &["K1", "K2", "K3"],
            Codes::ZeroOne => &["0", "1"],
            Codes::One => &["1"],
            Codes::ReferralReason => &["1", "2", "3"],
            Codes::SickLeaveForm => &["CT07"],
            Codes::PcrRound => &["1", "2", "3"],
            Codes::BloodGroup => &[
                "A", "A+", "A-", "B", "B+", "B-", "AB", "AB+", "AB-", "O", "O+", "O-", "Rh", "Rh+",
                "Rh-",
            ],
            // Nationality and ethnicity are checked for shape only (the full lists of
            // TT 07/2016 and QĐ 121-TCTK are not in the reference).
            Codes::Nationality | Codes::Ethnicity => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codes::Sex => "GIOI_TINH",
            Codes::CareType => "MA_LOAI_KCB",
            Codes::PatientCategory => "MA_DOITUONG_KCB",
            Codes::Outcome => "KET_QUA_DTRI",
            Codes::DischargeType => "MA_LOAI_RV",
            Codes::CostGroup => "MA_NHOM",
            Codes::Scope => "PHAM_VI",
            Codes::PaymentMethod => "MA_PTTT",
            Codes::FundingSource => "NGUON_CTRA",
            Codes::Anaesthesia => "PP_VO_CAM",
            Codes::Area => "MA_KHUVUC",
            Codes::ZeroOne => "0/1",
            Codes::One => "1",
            Codes::ReferralReason => "MA_LYDO_CT",
            Codes::SickLeaveForm => "MAU_SO",
            Codes::BloodGroup => "NHOM_MAU",
            Codes::PcrRound => "LAN_XN_PCR",
            Codes::Nationality => "MA_QUOCTICH",
            Codes::Ethnicity => "MA_DANTOC",
        }
    }

    /// Whether `v` belongs to the list (shape checks for the open lists).
    pub fn contains(self, v: &str) -> bool {
        match self {
            Codes::Nationality => v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()),
            Codes::Ethnicity => {
                v.len() == 2
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && matches!(v.parse::<u8>(), Ok(1..=55))
            }
            _ => self.values().contains(&v),
        }
    }
}

/// One field of one table in one spec variant.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// Element name in this variant (3176 renames some).
    pub code: &'static str,
    /// Position of the value in the table's superset record (see `generated.rs`).
    pub slot: usize,
    pub declared: DeclaredType,
    /// Maximum length in characters after NFC; `None` when unbounded.
    pub max: Option<u32>,
    pub req: Req,
    pub kind: Kind,
    /// "If present must equal the XML1 value" (CTN sheet): the XML1 field it mirrors.
    pub mirrors_xml1: Option<&'static str>,
    /// The decree appendix's maximum when the portal's rule sheet sets another
    /// (`max` is then the sheet's, which the portal applies).
    pub appendix_max: Option<Option<u32>>,
}

/// When a rule of the portal's sheet applies to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The field holds one of the values (for a ";"-list: any item does).
    In(&'static str, &'static [&'static str]),
    /// The field is empty or holds none of the values.
    NotIn(&'static str, &'static [&'static str]),
    /// The field has a value.
    Present(&'static str),
    /// None of the fields has a value.
    AllAbsent(&'static [&'static str]),
}

/// A rule of the portal's sheet (VALID and conditional "Bắt buộc" cells) beyond
/// what a field's own type, size and format say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The field must have a value when the condition holds.
    RequiredWhen(When),
    /// The field and these others: all have a value, or none.
    AllOrNone(&'static [&'static str]),
    /// Not earlier than this field of the same row, or of XML1 when the row has no
    /// such field.
    NotBefore(&'static str),
    /// At most the number of days between these two date fields of the row.
    AtMostDaysBetween(&'static str, &'static str),
    /// The table may only travel when XML1's MA_LOAI_KCB is one of these.
    OnlyForCareTypes(&'static [&'static str]),
    /// "If present must equal XML1": the field's `mirrors_xml1`, compared when XML1
    /// has a value.
    EqualsXml1,
    /// Enforced by the field's own format, catalogue or formula check; `bad` is a
    /// value that breaks it (the generated tests plant it).
    Field { bad: &'static str },
}

/// One rule cell of the portal's sheet, as applied.
#[derive(Clone, Copy, Debug)]
pub struct SheetRule {
    pub table: Table,
    pub field: &'static str,
    pub check: Check,
    /// The sheet's own words, quoted in findings.
    pub sheet: &'static str,
}

/// The rules of the portal's sheet for `spec` (the QĐ 130 sheet for 130, the QĐ 4750
/// sheet for 4750 and 3176).
pub fn sheet_rules(spec: Spec) -> &'static [SheetRule] {
    crate::generated::sheet_rules(spec)
}

/// The field table of `table` in `spec`, in element order.
pub fn fields(spec: Spec, table: Table) -> &'static [FieldSpec] {
    crate::generated::layout(spec, table)
}

/// Find a field of a table by element name.
pub fn field(spec: Spec, table: Table, code: &str) -> Option<&'static FieldSpec> {
    fields(spec, table).iter().find(|f| f.code == code)
}
