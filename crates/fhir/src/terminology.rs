//! Stable URIs for Vietnamese identifiers and code lists, and the CodeSystem and
//! NamingSystem resources that describe them.
//!
//! The URIs are names, not addresses: they are the same whichever host serves them, and
//! never change once published. Identifier systems live under `…/sid/`, code systems
//! under `…/CodeSystem/`. `docs/FHIR.md` lists them.

use serde_json::{Value, json};

/// The namespace of every healthbook canonical URI.
pub const NS: &str = "https://healthbook.vn/fhir";

/// 12-digit personal identification number (số định danh cá nhân, CCCD).
pub const SID_CCCD: &str = "https://healthbook.vn/fhir/sid/cccd";
/// Old 9-digit identity card (CMND).
pub const SID_CMND: &str = "https://healthbook.vn/fhir/sid/cmnd";
pub const SID_PASSPORT: &str = "https://healthbook.vn/fhir/sid/ho-chieu";
/// 15-character health-insurance card number (mã thẻ BHYT).
pub const SID_BHYT: &str = "https://healthbook.vn/fhir/sid/the-bhyt";
/// 10-digit social-insurance number (mã số BHXH).
pub const SID_BHXH: &str = "https://healthbook.vn/fhir/sid/ma-so-bhxh";
/// A facility's own patient number, written `<facility code>:<MA_BN>`.
pub const SID_MA_BN: &str = "https://healthbook.vn/fhir/sid/ma-bn";
/// 5-character facility code (mã cơ sở KCB, MA_CSKCB).
pub const SID_CSKCB: &str = "https://healthbook.vn/fhir/sid/ma-cskcb";
/// An episode's link code, written `<facility code>/<MA_LK>`.
pub const SID_MA_LK: &str = "https://healthbook.vn/fhir/sid/ma-lk";
/// Practising-certificate number (chứng chỉ hành nghề / giấy phép hành nghề).
pub const SID_CCHN: &str = "https://healthbook.vn/fhir/sid/cchn";
/// Referral letter number (XML13 GIAY_CHUYEN_TUYEN).
pub const SID_CHUYEN_TUYEN: &str = "https://healthbook.vn/fhir/sid/giay-chuyen-tuyen";
/// Re-exam appointment letter number (XML14 SO_GIAYHEN_KL).
pub const SID_GIAY_HEN: &str = "https://healthbook.vn/fhir/sid/giay-hen-kham-lai";

pub const CS_LOAI_KCB: &str = "https://healthbook.vn/fhir/CodeSystem/ma-loai-kcb";
pub const CS_DOI_TUONG: &str = "https://healthbook.vn/fhir/CodeSystem/ma-doituong-kcb";
pub const CS_KET_QUA: &str = "https://healthbook.vn/fhir/CodeSystem/ket-qua-dtri";
pub const CS_LOAI_RV: &str = "https://healthbook.vn/fhir/CodeSystem/ma-loai-rv";
pub const CS_LY_DO_CT: &str = "https://healthbook.vn/fhir/CodeSystem/ma-lydo-ct";
pub const CS_LOAI_CO_SO: &str = "https://healthbook.vn/fhir/CodeSystem/loai-co-so";
pub const CS_THUOC: &str = "https://healthbook.vn/fhir/CodeSystem/ma-thuoc";
pub const CS_DICH_VU: &str = "https://healthbook.vn/fhir/CodeSystem/ma-dich-vu";
pub const CS_CHI_SO: &str = "https://healthbook.vn/fhir/CodeSystem/ma-chi-so";
/// The risk factors of the QĐ 831 record (part B2).
pub const CS_YEU_TO_NGUY_CO: &str = "https://healthbook.vn/fhir/CodeSystem/yeu-to-nguy-co-831";
/// How much a risk factor is present (B2: không / có / thường xuyên / đã bỏ).
pub const CS_MUC_DO: &str = "https://healthbook.vn/fhir/CodeSystem/muc-do-nguy-co-831";
/// The household's toilet (B2).
pub const CS_LOAI_HO_XI: &str = "https://healthbook.vn/fhir/CodeSystem/loai-ho-xi-831";
/// The kinds of disability of the QĐ 831 record (B4).
pub const CS_KHUYET_TAT: &str = "https://healthbook.vn/fhir/CodeSystem/khuyet-tat-831";

pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
pub const ICD9CM: &str = "http://hl7.org/fhir/sid/icd-9-cm";
pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";

/// The date the code systems were last changed (their `date`).
const PUBLISHED: &str = "2026-11-23";

/// The care types (MA_LOAI_KCB; QĐ 824 PL1, QĐ 1804/2026 PL01).
pub const CARE_TYPES: [(&str, &str); 16] = [
    ("01", "Khám bệnh"),
    ("02", "Điều trị ngoại trú"),
    ("03", "Điều trị nội trú"),
    ("04", "Điều trị nội trú ban ngày"),
    (
        "05",
        "Điều trị ngoại trú các bệnh mạn tính dài ngày có khám bệnh và lĩnh thuốc",
    ),
    (
        "06",
        "Điều trị lưu tại trạm y tế tuyến xã, phòng khám đa khoa khu vực",
    ),
    ("07", "Nhận thuốc theo hẹn (không khám bệnh)"),
    (
        "08",
        "Điều trị ngoại trú các bệnh mạn tính dài ngày có khám bệnh, sử dụng dịch vụ kỹ thuật và/hoặc thuốc",
    ),
    ("09", "Điều trị nội trú dưới 4 giờ"),
    ("10", "Các trường hợp khác"),
    (
        "11",
        "Khám bệnh, chữa bệnh lưu động ngoài địa điểm được cấp phép",
    ),
    ("12", "Chăm sóc tại nhà"),
    ("13", "Y học gia đình"),
    ("14", "Khám bệnh, chữa bệnh từ xa"),
    ("15", "Khám sức khỏe định kỳ"),
    ("16", "Khám sàng lọc"),
];

/// Patient categories (MA_DOITUONG_KCB) whose meaning is known; the full list (QĐ 3276/2025
/// PL1) has more rows, so the code system is a fragment.
pub const PATIENT_CATEGORIES: [(&str, &str); 17] = [
    (
        "1.1",
        "Đúng tuyến: khám tại nơi đăng ký khám bệnh, chữa bệnh ban đầu",
    ),
    ("1.2", "Đúng tuyến: cơ sở tuyến xã, huyện cùng tỉnh"),
    ("1.3", "Đúng tuyến: được chuyển tuyến theo quy định"),
    ("1.4", "Đúng tuyến: có giấy tạm trú, công tác"),
    ("1.5", "Đúng tuyến: tái khám theo hẹn sau chuyển tuyến"),
    ("1.7", "Đúng tuyến: trẻ sơ sinh điều trị ngay sau sinh"),
    ("1.8", "Đúng tuyến: người bệnh lao"),
    ("1.9", "Đúng tuyến: người nhiễm HIV/AIDS"),
    ("1.10", "Đúng tuyến: COVID-19"),
    ("2", "Cấp cứu"),
    ("3.1", "Trái tuyến: bệnh viện tuyến trung ương"),
    (
        "3.2",
        "Trái tuyến: điều trị nội trú tại bệnh viện tuyến tỉnh",
    ),
    ("3.3", "Trái tuyến: tự đến bệnh viện tuyến huyện"),
    ("3.5", "Trái tuyến: ngoại trú tuyến tỉnh"),
    (
        "3.6",
        "Người dân tộc thiểu số, hộ nghèo vùng khó khăn, xã đảo",
    ),
    ("7.1", "Nhận thuốc theo giấy hẹn"),
    ("9", "Không sử dụng thẻ BHYT"),
];

pub const OUTCOMES: [(&str, &str); 8] = [
    ("1", "Khỏi"),
    ("2", "Đỡ"),
    ("3", "Không thay đổi"),
    ("4", "Nặng hơn"),
    ("5", "Tử vong"),
    ("6", "Tiên lượng nặng xin về"),
    ("7", "Chưa xác định"),
    ("8", "Tử vong ngoại viện"),
];

pub const DISCHARGE_TYPES: [(&str, &str); 5] = [
    ("1", "Ra viện"),
    ("2", "Chuyển tuyến theo chuyên môn"),
    ("3", "Trốn viện"),
    ("4", "Xin ra viện"),
    ("5", "Chuyển tuyến theo yêu cầu người bệnh"),
];

pub const REFERRAL_REASONS: [(&str, &str); 3] = [
    ("1", "Đủ điều kiện chuyển tuyến"),
    ("2", "Vượt quá khả năng chuyên môn của cơ sở"),
    ("3", "Theo yêu cầu của người bệnh hoặc người đại diện"),
];

/// The risk factors of the record (B2), by item key.
pub const RISK_FACTORS: [(&str, &str); 8] = [
    ("smoking", "Hút thuốc lá, thuốc lào"),
    ("alcohol", "Uống rượu bia thường xuyên"),
    ("drugs", "Sử dụng ma túy"),
    ("activity", "Hoạt động thể lực"),
    (
        "exposure",
        "Tiếp xúc nghề nghiệp / môi trường sống (yếu tố)",
    ),
    ("exposure_time", "Thời gian tiếp xúc"),
    ("toilet", "Loại hố xí của gia đình"),
    ("other", "Nguy cơ khác"),
];

/// How much a risk factor is present (the record's values; physical activity uses 0–2).
pub const RISK_LEVELS: [(&str, &str); 4] = [
    ("0", "Không"),
    ("1", "Có"),
    ("2", "Thường xuyên"),
    ("3", "Đã bỏ"),
];

pub const TOILETS: [(&str, &str); 4] = [
    ("1", "Tự hoại / xả nước"),
    ("2", "Hai ngăn"),
    ("3", "Hố xí thùng"),
    ("4", "Không có"),
];

/// The kinds of disability of the record (B4), by item key.
pub const DISABILITIES: [(&str, &str); 7] = [
    ("hearing", "Thính lực"),
    ("vision", "Thị lực"),
    ("hand", "Tay"),
    ("leg", "Chân"),
    ("spine", "Cong vẹo cột sống"),
    ("cleft", "Khe hở môi, vòm miệng"),
    ("other", "Khuyết tật khác"),
];

pub const FACILITY_KINDS: [(&str, &str); 5] = [
    ("hospital", "Bệnh viện"),
    ("district_health_centre", "Trung tâm y tế huyện"),
    ("polyclinic", "Phòng khám đa khoa"),
    ("commune_station", "Trạm y tế xã"),
    ("private_clinic", "Phòng khám tư nhân"),
];

/// The display of `code` in a list, if the list has it.
pub fn display(list: &'static [(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    list.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

struct CodeSystemDef {
    id: &'static str,
    url: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    /// complete | fragment | not-present
    content: &'static str,
    concepts: &'static [(&'static str, &'static str)],
}

const CODE_SYSTEMS: [CodeSystemDef; 13] = [
    CodeSystemDef {
        id: "ma-loai-kcb",
        url: CS_LOAI_KCB,
        name: "MaLoaiKcb",
        title: "Hình thức khám bệnh, chữa bệnh (MA_LOAI_KCB)",
        description: "Type of care of an episode: QĐ 824/QĐ-BYT PL1, extended by QĐ 1804/QĐ-BYT (2026) PL01 with codes 11–16. Codes are two-digit strings.",
        content: "complete",
        concepts: &CARE_TYPES,
    },
    CodeSystemDef {
        id: "ma-doituong-kcb",
        url: CS_DOI_TUONG,
        name: "MaDoiTuongKcb",
        title: "Đối tượng đến khám bệnh, chữa bệnh (MA_DOITUONG_KCB)",
        description: "Patient category of an episode (QĐ 3276/QĐ-BYT 2025 PL1). Only the codes whose meaning is published are listed; codes are strings (\"1.10\" is not \"1.1\").",
        content: "fragment",
        concepts: &PATIENT_CATEGORIES,
    },
    CodeSystemDef {
        id: "ket-qua-dtri",
        url: CS_KET_QUA,
        name: "KetQuaDieuTri",
        title: "Kết quả điều trị (KET_QUA_DTRI)",
        description: "Outcome of treatment at the end of an episode (QĐ 130/QĐ-BYT, QĐ 4750/QĐ-BYT).",
        content: "complete",
        concepts: &OUTCOMES,
    },
    CodeSystemDef {
        id: "ma-loai-rv",
        url: CS_LOAI_RV,
        name: "MaLoaiRaVien",
        title: "Loại ra viện (MA_LOAI_RV)",
        description: "How an episode ended (QĐ 130/QĐ-BYT).",
        content: "complete",
        concepts: &DISCHARGE_TYPES,
    },
    CodeSystemDef {
        id: "ma-lydo-ct",
        url: CS_LY_DO_CT,
        name: "MaLyDoChuyenTuyen",
        title: "Lý do chuyển tuyến (MA_LYDO_CT)",
        description: "Reason for a referral (XML13, QĐ 130/QĐ-BYT).",
        content: "complete",
        concepts: &REFERRAL_REASONS,
    },
    CodeSystemDef {
        id: "loai-co-so",
        url: CS_LOAI_CO_SO,
        name: "LoaiCoSo",
        title: "Loại cơ sở khám bệnh, chữa bệnh",
        description: "Kinds of health facility as healthbook records them.",
        content: "complete",
        concepts: &FACILITY_KINDS,
    },
    CodeSystemDef {
        id: "ma-thuoc",
        url: CS_THUOC,
        name: "MaThuoc",
        title: "Mã thuốc (MA_THUOC)",
        description: "Medicine codes of the Ministry of Health's common catalogue as dossiers send them (XML2 MA_THUOC). The catalogue is not carried by healthbook.",
        content: "not-present",
        concepts: &[],
    },
    CodeSystemDef {
        id: "ma-dich-vu",
        url: CS_DICH_VU,
        name: "MaDichVu",
        title: "Mã dịch vụ kỹ thuật (MA_DICH_VU)",
        description: "Codes of technical services (examinations, tests, imaging, procedures, surgery) of the common catalogue, as dossiers send them (XML3 MA_DICH_VU). The catalogue is not carried by healthbook.",
        content: "not-present",
        concepts: &[],
    },
    CodeSystemDef {
        id: "ma-chi-so",
        url: CS_CHI_SO,
        name: "MaChiSo",
        title: "Mã chỉ số xét nghiệm (MA_CHI_SO)",
        description: "Codes of the measured indicators of paraclinical results, as dossiers send them (XML4 MA_CHI_SO).",
        content: "not-present",
        concepts: &[],
    },
    CodeSystemDef {
        id: "yeu-to-nguy-co-831",
        url: CS_YEU_TO_NGUY_CO,
        name: "YeuToNguyCo831",
        title: "Yếu tố nguy cơ đối với sức khỏe cá nhân (QĐ 831, mục B2)",
        description: "Risk factors of the personal health record of QĐ 831/QĐ-BYT, part B2. Smoking also carries LOINC 72166-2.",
        content: "complete",
        concepts: &RISK_FACTORS,
    },
    CodeSystemDef {
        id: "muc-do-nguy-co-831",
        url: CS_MUC_DO,
        name: "MucDoNguyCo831",
        title: "Mức độ của yếu tố nguy cơ (QĐ 831, mục B2)",
        description: "How a risk factor of QĐ 831 part B2 is present: no, yes, regularly, quit (physical activity: no, yes, regularly).",
        content: "complete",
        concepts: &RISK_LEVELS,
    },
    CodeSystemDef {
        id: "loai-ho-xi-831",
        url: CS_LOAI_HO_XI,
        name: "LoaiHoXi831",
        title: "Loại hố xí của gia đình (QĐ 831, mục B2)",
        description: "The household's kind of toilet, QĐ 831/QĐ-BYT part B2.",
        content: "complete",
        concepts: &TOILETS,
    },
    CodeSystemDef {
        id: "khuyet-tat-831",
        url: CS_KHUYET_TAT,
        name: "KhuyetTat831",
        title: "Khuyết tật (QĐ 831, mục B4)",
        description: "Kinds of disability of the personal health record of QĐ 831/QĐ-BYT, part B4.",
        content: "complete",
        concepts: &DISABILITIES,
    },
];

struct NamingSystemDef {
    id: &'static str,
    uri: &'static str,
    name: &'static str,
    description: &'static str,
    /// The HL7 identifier type (v2-0203), when one fits.
    kind: &'static str,
}

const NAMING_SYSTEMS: [NamingSystemDef; 13] = [
    NamingSystemDef {
        id: "cccd",
        uri: SID_CCCD,
        name: "SoDinhDanhCaNhan",
        description: "Vietnamese 12-digit personal identification number (số định danh cá nhân, printed on the CCCD citizen identity card).",
        kind: "NI",
    },
    NamingSystemDef {
        id: "cmnd",
        uri: SID_CMND,
        name: "ChungMinhNhanDan",
        description: "Old 9-digit identity card number (CMND).",
        kind: "NI",
    },
    NamingSystemDef {
        id: "ho-chieu",
        uri: SID_PASSPORT,
        name: "HoChieu",
        description: "Passport number, as sent by a facility.",
        kind: "PPN",
    },
    NamingSystemDef {
        id: "the-bhyt",
        uri: SID_BHYT,
        name: "TheBaoHiemYTe",
        description: "15-character health-insurance card number (mã thẻ BHYT): object code, benefit level, province, 10-digit social-insurance number.",
        kind: "SN",
    },
    NamingSystemDef {
        id: "ma-so-bhxh",
        uri: SID_BHXH,
        name: "MaSoBaoHiemXaHoi",
        description: "10-digit social-insurance number (mã số BHXH), the last 10 characters of the BHYT card.",
        kind: "SN",
    },
    NamingSystemDef {
        id: "ma-bn",
        uri: SID_MA_BN,
        name: "MaBenhNhan",
        description: "A facility's own patient number (MA_BN), written <facility code>:<MA_BN>.",
        kind: "MR",
    },
    NamingSystemDef {
        id: "ma-cskcb",
        uri: SID_CSKCB,
        name: "MaCoSoKhamChuaBenh",
        description: "5-character health-facility code (MA_CSKCB) assigned by the provincial health department and BHXH.",
        kind: "FI",
    },
    NamingSystemDef {
        id: "ma-lk",
        uri: SID_MA_LK,
        name: "MaLienKet",
        description: "The link code of one care episode (MA_LK), unique within its facility, written <facility code>/<MA_LK>.",
        kind: "VN",
    },
    NamingSystemDef {
        id: "cchn",
        uri: SID_CCHN,
        name: "ChungChiHanhNghe",
        description: "Practising-certificate number of a health worker (as dossiers send it in MA_BAC_SI and NGUOI_THUC_HIEN).",
        kind: "PRN",
    },
    NamingSystemDef {
        id: "giay-chuyen-tuyen",
        uri: SID_CHUYEN_TUYEN,
        name: "GiayChuyenTuyen",
        description: "Number of a referral letter (XML13 GIAY_CHUYEN_TUYEN), unique within the referring facility.",
        kind: "PLAC",
    },
    NamingSystemDef {
        id: "giay-hen-kham-lai",
        uri: SID_GIAY_HEN,
        name: "GiayHenKhamLai",
        description: "Number of a re-exam appointment letter (XML14 SO_GIAYHEN_KL).",
        kind: "PLAC",
    },
    NamingSystemDef {
        id: "mui-tiem-tcqg",
        uri: crate::immunization::SID_DOSE,
        name: "MuiTiemHeThongTiemChungQuocGia",
        description: "A dose's id in the national immunisation information system (lich_su_tiem_id), kept when a dose is imported or sent.",
        kind: "FILL",
    },
    NamingSystemDef {
        id: "mui-tiem",
        uri: crate::immunization::SID_DOSE_HERE,
        name: "MuiTiem",
        description: "A dose's id in healthbook.",
        kind: "FILL",
    },
];

fn publisher() -> Value {
    json!([{ "name": "healthbook", "telecom": [{ "system": "url", "value": "https://healthbook.vn" }] }])
}

fn code_system(d: &CodeSystemDef) -> Value {
    let mut cs = json!({
        "resourceType": "CodeSystem",
        "id": d.id,
        "url": d.url,
        "version": "1",
        "name": d.name,
        "title": d.title,
        "status": "active",
        "experimental": false,
        "date": PUBLISHED,
        "publisher": "healthbook",
        "contact": publisher(),
        "description": d.description,
        "jurisdiction": [{ "coding": [{ "system": "urn:iso:std:iso:3166", "code": "VN" }] }],
        "caseSensitive": true,
        "content": d.content,
    });
    if !d.concepts.is_empty() {
        cs["count"] = json!(d.concepts.len());
        cs["concept"] = d
            .concepts
            .iter()
            .map(|(c, l)| json!({ "code": c, "display": l }))
            .collect();
    }
    cs
}

fn naming_system(d: &NamingSystemDef) -> Value {
    json!({
        "resourceType": "NamingSystem",
        "id": d.id,
        "name": d.name,
        "status": "active",
        "kind": "identifier",
        "date": PUBLISHED,
        "publisher": "healthbook",
        "contact": publisher(),
        "responsible": "healthbook",
        "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": d.kind }] },
        "description": d.description,
        "jurisdiction": [{ "coding": [{ "system": "urn:iso:std:iso:3166", "code": "VN" }] }],
        "uniqueId": [{ "type": "uri", "value": d.uri, "preferred": true }],
    })
}

/// Every CodeSystem resource.
pub fn code_systems() -> Vec<Value> {
    let mut out: Vec<Value> = CODE_SYSTEMS.iter().map(code_system).collect();
    out.extend(CATALOGUE_SYSTEMS.iter().cloned());
    out
}

/// The vaccination catalogues (book/data: vaccines, antigens) and the dose statuses,
/// made once.
static CATALOGUE_SYSTEMS: std::sync::LazyLock<Vec<Value>> = std::sync::LazyLock::new(|| {
    crate::immunization::catalogues()
        .into_iter()
        .map(|(id, name, title, description, concepts)| {
            code_system(&CodeSystemDef {
                id,
                // Made once for the life of the process.
                url: Box::leak(format!("{NS}/CodeSystem/{id}").into_boxed_str()),
                name,
                title,
                description,
                content: "complete",
                concepts: Box::leak(concepts.into_boxed_slice()),
            })
        })
        .collect()
});

/// The CodeSystem or NamingSystem resources, by type.
pub fn resources(resource_type: &str) -> Vec<Value> {
    match resource_type {
        "CodeSystem" => code_systems(),
        "NamingSystem" => naming_systems(),
        _ => Vec::new(),
    }
}

/// Every NamingSystem resource.
pub fn naming_systems() -> Vec<Value> {
    NAMING_SYSTEMS.iter().map(naming_system).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_uris_are_stable_and_unique() {
        let cs = code_systems();
        for c in &cs {
            let url = c["url"].as_str().unwrap();
            assert_eq!(
                url,
                format!("{NS}/CodeSystem/{}", c["id"].as_str().unwrap())
            );
        }
        let ns = naming_systems();
        let mut uris: Vec<&str> = ns
            .iter()
            .map(|n| n["uniqueId"][0]["value"].as_str().unwrap())
            .collect();
        for (n, u) in ns.iter().zip(&uris) {
            assert_eq!(*u, format!("{NS}/sid/{}", n["id"].as_str().unwrap()));
        }
        uris.sort();
        uris.dedup();
        assert_eq!(uris.len(), ns.len());
        assert_eq!(display(&CARE_TYPES, "03"), Some("Điều trị nội trú"));
        assert_eq!(
            display(&PATIENT_CATEGORIES, "1.10"),
            Some("Đúng tuyến: COVID-19")
        );
        assert_eq!(
            display(&PATIENT_CATEGORIES, "1.1").map(|d| d.contains("ban đầu")),
            Some(true)
        );
        assert_eq!(display(&OUTCOMES, "9"), None);
    }
}
