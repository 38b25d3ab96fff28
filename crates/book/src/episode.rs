//! The episode as the health book shows it, projected from a dossier.

use chrono::{NaiveDate, NaiveDateTime};
use dossier::model::{Dossier, ParaclinicalResult, ServiceLine};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The name of the `i`-th secondary diagnosis: CHAN_DOAN_RV lists the diagnoses
/// ";"-separated, the main one first, so its parts name the codes when they line up;
/// else the ICD-10 list's name.
fn secondary_name(discharge: Option<&str>, n: usize, i: usize, code: &str) -> Option<String> {
    let parts: Vec<&str> = discharge
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() == n + 1 {
        return Some(parts[i + 1].to_string());
    }
    crate::terms::icd10_name(code).map(str::to_string)
}

/// One care episode in the health-book shape. Stored as JSON beside the raw dossier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EpisodeView {
    pub facility: String,
    pub ma_lk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub admitted: Option<NaiveDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub inpatient_from: Option<NaiveDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub discharged: Option<NaiveDateTime>,
    /// `MA_LOAI_KCB` and its Vietnamese label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub care_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub care_type_label: Option<String>,
    /// MA_DOITUONG_KCB: the patient category (a string: "1.10" is not "1.1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_category: Option<String>,
    pub insured: bool,
    /// MA_THE_BHYT: the BHYT card(s) the visit was paid under.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharge_diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_diagnosis: Option<Diagnosis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secondary_diagnoses: Vec<Diagnosis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub procedure_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Coded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharge_type: Option<Coded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub medicines: Vec<Medicine>,
    pub services: Services,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<TestResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clinical_course: Vec<CourseNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharge_paper: Option<DischargePaper>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_summary: Option<RecordSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Appointment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub births: Vec<Birth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sick_leave: Option<SickLeave>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurance_paid: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_paid: Option<Decimal>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Diagnosis {
    pub icd10: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Coded {
    pub code: String,
    pub label: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Medicine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dose: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub ordered: Option<NaiveDateTime>,
    /// MA_BAC_SI: practising-certificate numbers of who ordered it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ordered_by: Vec<String>,
}

impl Medicine {
    /// The name with its strength printed once: many systems put the strength in the
    /// name too ("Methylprednisolon 40mg" with strength "40 mg").
    pub fn label(&self) -> String {
        let name = self.name.as_deref().unwrap_or("").trim();
        let strength = self.strength.as_deref().unwrap_or("").trim();
        let squash = |x: &str| crate::text::fold(x).replace(' ', "");
        if strength.is_empty() || squash(name).contains(&squash(strength)) {
            name.to_string()
        } else {
            format!("{name} {strength}")
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub ordered: Option<NaiveDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub result_at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub procedure_codes: Vec<String>,
    /// MA_BAC_SI: practising-certificate numbers of who ordered it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ordered_by: Vec<String>,
    /// NGUOI_THUC_HIEN: practising-certificate numbers of who performed it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performed_by: Vec<String>,
}

/// Services split as the health book shows them (by `MA_NHOM`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Services {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examinations: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lab_tests: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imaging: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functional_tests: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub procedures: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub surgery: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beds: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supplies: Vec<Service>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<Service>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    Lab,
    Imaging,
    Functional,
    #[default]
    Other,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestResult {
    pub kind: ResultKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CourseNote {
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consultation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surgery: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DischargePaper {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doctor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_results: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharge_diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Referral {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_facility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_facility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clinical_signs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_results: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Coded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_icd10: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Appointment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub at: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_icd10: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Birth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "when::opt"
    )]
    pub born: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SickLeave {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
}

pub fn care_type_label(code: &str) -> &'static str {
    match code {
        "01" => "Khám bệnh",
        "02" => "Điều trị ngoại trú",
        "03" => "Điều trị nội trú",
        "04" => "Điều trị nội trú ban ngày",
        "05" => "Điều trị ngoại trú bệnh mạn tính",
        "06" => "Lưu tại trạm y tế",
        "07" => "Nhận thuốc theo hẹn",
        "08" => "Điều trị ngoại trú có dịch vụ kỹ thuật",
        "09" => "Điều trị nội trú dưới 4 giờ",
        "10" => "Trường hợp khác",
        "11" => "Khám chữa bệnh lưu động",
        "12" => "Chăm sóc tại nhà",
        "13" => "Y học gia đình",
        "14" => "Khám chữa bệnh từ xa",
        "15" => "Khám sức khỏe định kỳ",
        "16" => "Khám sàng lọc",
        _ => "Không rõ",
    }
}

fn outcome_label(code: &str) -> &'static str {
    match code {
        "1" => "Khỏi",
        "2" => "Đỡ",
        "3" => "Không thay đổi",
        "4" => "Nặng hơn",
        "5" => "Tử vong",
        "6" => "Tiên lượng nặng xin về",
        "7" => "Chưa xác định",
        "8" => "Tử vong ngoại viện",
        _ => "Không rõ",
    }
}

fn discharge_label(code: &str) -> &'static str {
    match code {
        "1" => "Ra viện",
        "2" => "Chuyển tuyến theo chuyên môn",
        "3" => "Trốn viện",
        "4" => "Xin ra viện",
        "5" => "Chuyển tuyến theo yêu cầu người bệnh",
        _ => "Không rõ",
    }
}

fn referral_reason_label(code: &str) -> &'static str {
    match code {
        "1" => "Đủ điều kiện chuyển tuyến",
        "2" => "Vượt quá khả năng chuyên môn",
        "3" => "Theo yêu cầu của người bệnh",
        _ => "Không rõ",
    }
}

fn coded(code: &Option<String>, label: fn(&str) -> &'static str) -> Option<Coded> {
    code.as_ref().map(|c| Coded {
        code: c.clone(),
        label: label(c).to_string(),
    })
}

fn service(l: &ServiceLine) -> Service {
    Service {
        code: l.ma_dich_vu.clone().or_else(|| l.ma_vat_tu.clone()),
        name: l.ten_dich_vu.clone().or_else(|| l.ten_vat_tu.clone()),
        group: l.ma_nhom.clone(),
        quantity: l.so_luong,
        unit: l.don_vi_tinh.clone(),
        ordered: l.ngay_yl,
        result_at: l.ngay_kq,
        procedure_codes: l.ma_pttt_qt.clone(),
        ordered_by: l.ma_bac_si.clone(),
        performed_by: l.nguoi_thuc_hien.clone(),
    }
}

fn result_kind(group: Option<&str>) -> ResultKind {
    match group {
        Some("1") => ResultKind::Lab,
        Some("2") => ResultKind::Imaging,
        Some("3") => ResultKind::Functional,
        _ => ResultKind::Other,
    }
}

fn result(r: &ParaclinicalResult, services: &[ServiceLine]) -> TestResult {
    let line = services
        .iter()
        .find(|l| l.ma_dich_vu.is_some() && l.ma_dich_vu == r.ma_dich_vu);
    TestResult {
        kind: result_kind(line.and_then(|l| l.ma_nhom.as_deref())),
        service_code: r.ma_dich_vu.clone(),
        service_name: line.and_then(|l| l.ten_dich_vu.clone()),
        indicator_code: r.ma_chi_so.clone(),
        indicator: r.ten_chi_so.clone(),
        value: r.gia_tri.clone(),
        unit: r.don_vi_do.clone(),
        description: r.mo_ta.clone(),
        conclusion: r.ket_luan.clone(),
        at: r.ngay_kq,
    }
}

/// Project one dossier (a valid one, with XML1) sent by `facility`.
pub fn project(d: &Dossier, facility: &str) -> EpisodeView {
    let s = d.summary.clone().unwrap_or_default();
    let mut services = Services::default();
    for l in &d.services {
        let target = match l.ma_nhom.as_deref() {
            _ if l.ma_vat_tu.is_some() => &mut services.supplies,
            Some("13") => &mut services.examinations,
            Some("1") => &mut services.lab_tests,
            Some("2") => &mut services.imaging,
            Some("3") => &mut services.functional_tests,
            Some("8") => &mut services.surgery,
            Some("18" | "9") => &mut services.procedures,
            Some("14" | "15" | "16") => &mut services.beds,
            Some("10" | "11") => &mut services.supplies,
            _ => &mut services.other,
        };
        target.push(service(l));
    }
    EpisodeView {
        facility: facility.to_string(),
        ma_lk: s.ma_lk.clone().unwrap_or_default(),
        patient_name: s.ho_ten.clone(),
        admitted: s.ngay_vao,
        inpatient_from: s.ngay_vao_noi_tru,
        discharged: s.ngay_ra,
        care_type_label: s
            .ma_loai_kcb
            .as_deref()
            .map(|c| care_type_label(c).to_string()),
        care_type: s.ma_loai_kcb.clone(),
        patient_category: s.ma_doituong_kcb.clone(),
        insured: !s.ma_the_bhyt.is_empty(),
        cards: s.ma_the_bhyt.clone(),
        reason: s.ly_do_vv.clone(),
        admission_diagnosis: s.chan_doan_vao.clone(),
        discharge_diagnosis: s.chan_doan_rv.clone(),
        main_diagnosis: s.ma_benh_chinh.clone().map(|c| Diagnosis {
            icd10: c,
            name: s.chan_doan_rv.clone(),
        }),
        secondary_diagnoses: s
            .ma_benh_kt
            .iter()
            .enumerate()
            .map(|(i, c)| Diagnosis {
                icd10: c.clone(),
                name: secondary_name(s.chan_doan_rv.as_deref(), s.ma_benh_kt.len(), i, c),
            })
            .collect(),
        procedure_codes: s.ma_pttt_qt.clone(),
        outcome: coded(&s.ket_qua_dtri, outcome_label),
        discharge_type: coded(&s.ma_loai_rv, discharge_label),
        treatment: s.pp_dieu_tri.clone(),
        advice: s.ghi_chu.clone(),
        departments: s.ma_khoa.clone(),
        medicines: d
            .drugs
            .iter()
            .map(|l| Medicine {
                code: l.ma_thuoc.clone(),
                name: l.ten_thuoc.clone(),
                strength: l.ham_luong.clone(),
                form: l.dang_bao_che.clone(),
                dose: l.lieu_dung.clone(),
                directions: l.cach_dung.clone(),
                route: l.duong_dung.clone(),
                quantity: l.so_luong,
                unit: l.don_vi_tinh.clone(),
                ordered: l.ngay_yl,
                ordered_by: l.ma_bac_si.clone(),
            })
            .collect(),
        services,
        results: d.results.iter().map(|r| result(r, &d.services)).collect(),
        clinical_course: d
            .clinical_notes
            .iter()
            .map(|n| CourseNote {
                at: n.thoi_diem_dbls,
                note: n.dien_bien_ls.clone(),
                stage: n.giai_doan_benh.clone(),
                consultation: n.hoi_chan.clone(),
                surgery: n.phau_thuat.clone(),
            })
            .collect(),
        discharge_paper: d.discharge.as_ref().map(|x| DischargePaper {
            archive_number: x.so_luu_tru.clone(),
            department: x.ma_khoa_rv.clone(),
            diagnosis: x.chan_doan_rv.clone(),
            treatment: x.pp_dieutri.clone(),
            note: x.ghi_chu.clone(),
            doctor: x.ten_bs.clone(),
            issued: x.ngay_ct,
        }),
        record_summary: d.record_summary.as_ref().map(|x| RecordSummary {
            course: x.qt_benhly.clone(),
            key_results: x.tomtat_kq.clone(),
            treatment: x.pp_dieutri.clone(),
            admission_diagnosis: x.chan_doan_vao.clone(),
            discharge_diagnosis: x.chan_doan_rv.clone(),
            note: x.ghi_chu.clone(),
            issued: x.ngay_ct,
        }),
        referral: d.referral.as_ref().map(|x| Referral {
            number: x.giay_chuyen_tuyen.clone(),
            file_number: x.so_hoso.clone(),
            from_facility: x.ma_cskcb.clone().or_else(|| Some(facility.to_string())),
            to_facility: x.ma_noi_den.clone().or_else(|| s.ma_noi_den.clone()),
            clinical_signs: x.dau_hieu_ls.clone(),
            diagnosis: x.chan_doan_rv.clone(),
            course: x.qt_benhly.clone(),
            key_results: x.tomtat_kq.clone(),
            condition: x.tinh_trang_ct.clone().or_else(|| x.pp_dieu_tri.clone()),
            reason: coded(&x.ma_lydo_ct, referral_reason_label),
            recommendation: x.huong_dieu_tri.clone(),
            transport: x.phuongtien_vc.clone(),
            main_icd10: x.ma_benh_chinh.clone(),
        }),
        appointment: d.appointment.as_ref().map(|x| Appointment {
            number: x.so_giayhen_kl.clone(),
            facility: x.ma_cskcb.clone(),
            at: x.ngay_hen_kl,
            diagnosis: x.chan_doan_rv.clone(),
            main_icd10: x.ma_benh_chinh.clone(),
            issued: x.ngay_ct,
        }),
        births: d
            .births
            .iter()
            .map(|b| Birth {
                child_name: b.ho_ten_con.clone(),
                sex: b.gioi_tinh_con.clone(),
                weight_grams: b.can_nang_con,
                born: b.ngay_sinh_con,
                place: b.noi_sinh_con.clone(),
                condition: b.tinh_trang_con.clone(),
                certificate_number: b.so.clone(),
            })
            .collect(),
        sick_leave: d.sick_leave.as_ref().map(|x| SickLeave {
            series: x.so_seri.clone(),
            days: x.so_ngay_nghi,
            from: x.tu_ngay,
            to: x.den_ngay,
            diagnosis: x.chan_doan_rv.clone(),
            employer: x.don_vi.clone(),
        }),
        total_cost: s.t_tongchi_bv,
        insurance_paid: s.t_bhtt,
        patient_paid: match (s.t_bncct, s.t_bntt) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth::{Config, Generator};

    /// Stored views read their times back as written, whether the direct reading or
    /// chrono's parser takes them: seconds, fractions, a leap second, the ends of years.
    #[test]
    fn stored_times_read_back_as_written() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let times = [
            d(2024, 3, 5).and_hms_opt(8, 30, 0).unwrap(),
            d(1999, 12, 31).and_hms_opt(23, 59, 59).unwrap(),
            d(2024, 2, 29).and_hms_opt(0, 0, 0).unwrap(),
            d(2025, 7, 1).and_hms_milli_opt(7, 5, 9, 250).unwrap(),
            d(2016, 12, 31)
                .and_hms_milli_opt(23, 59, 59, 1_500)
                .unwrap(),
            d(1, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
        ];
        for t in times {
            let v = EpisodeView {
                admitted: Some(t),
                medicines: vec![Medicine {
                    ordered: Some(t),
                    ..Medicine::default()
                }],
                ..EpisodeView::default()
            };
            let json = serde_json::to_string(&v).unwrap();
            let back: EpisodeView = serde_json::from_str(&json).unwrap();
            assert_eq!(back, v, "{json}");
            let value: EpisodeView =
                serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
            assert_eq!(value, v, "from a Value");
        }
        assert_eq!(
            when::plain("2024-03-05T08:30:00"),
            Some(d(2024, 3, 5).and_hms_opt(8, 30, 0).unwrap())
        );
        for odd in [
            "2024-02-30T08:30:00",
            "2024-03-05 08:30:00",
            "2024-03-05T24:00:00",
            "+024-03-05T08:30:00",
            "2024-03-05T08:30:0x",
        ] {
            assert_eq!(when::plain(odd), None, "{odd}");
        }
        let none: EpisodeView = serde_json::from_str(r#"{"admitted":null}"#).unwrap();
        assert_eq!(none.admitted, None);
        let missing: EpisodeView = serde_json::from_str("{}").unwrap();
        assert_eq!(missing.admitted, None);
        assert!(serde_json::from_str::<EpisodeView>(r#"{"admitted":"hôm qua"}"#).is_err());
        assert!(
            serde_json::from_str::<EpisodeView>(r#"{"admitted":"2024-02-30T08:30:00"}"#).is_err()
        );
    }

    #[test]
    fn projection_keeps_every_part_of_an_episode() {
        let g = Generator::new(Config {
            persons: 300,
            episodes: 2_000,
            seed: 4,
            ..Config::default()
        });
        let mut seen = (false, false, false, false, false);
        for e in g.episodes() {
            let v = project(&e.dossier, e.facility.code);
            assert_eq!(v.ma_lk, e.ma_lk());
            assert_eq!(v.medicines.len(), e.dossier.drugs.len());
            assert_eq!(v.results.len(), e.dossier.results.len());
            let n = &v.services;
            let total = n.examinations.len()
                + n.lab_tests.len()
                + n.imaging.len()
                + n.functional_tests.len()
                + n.procedures.len()
                + n.surgery.len()
                + n.beds.len()
                + n.supplies.len()
                + n.other.len();
            assert_eq!(total, e.dossier.services.len());
            seen.0 |= v
                .results
                .iter()
                .any(|r| r.kind == ResultKind::Lab && r.value.is_some());
            seen.1 |= v
                .results
                .iter()
                .any(|r| r.kind == ResultKind::Imaging && r.conclusion.is_some());
            seen.2 |= v.referral.as_ref().is_some_and(|r| r.to_facility.is_some());
            seen.3 |= v.appointment.as_ref().is_some_and(|a| a.at.is_some());
            seen.4 |= !v.services.surgery.is_empty();
            // It survives JSON, the stored form.
            let back: EpisodeView =
                serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(back, v);
        }
        assert_eq!(seen, (true, true, true, true, true));
    }
}

/// An optional date and time as chrono writes it ("2024-03-05T08:30:00"), read without
/// chrono's general parser when it has exactly that shape (the parser was about a fifth
/// of decoding a stored episode); any other text (fractions of a second, a leap second)
/// goes through chrono as before.
mod when {
    use chrono::{NaiveDate, NaiveDateTime};
    use serde::de::{self, Deserializer, Visitor};

    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        d.deserialize_option(OptWhen)
    }

    /// "yyyy-mm-ddThh:mm:ss" read digit by digit, `None` for any other shape.
    pub(super) fn plain(s: &str) -> Option<NaiveDateTime> {
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?.and_hms_opt(
            num(11, 13)?,
            num(14, 16)?,
            num(17, 19)?,
        )
    }

    struct OptWhen;

    impl<'de> Visitor<'de> for OptWhen {
        type Value = Option<NaiveDateTime>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date and time (yyyy-mm-ddThh:mm:ss) or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(OptWhen)
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            match plain(s) {
                Some(t) => Ok(Some(t)),
                None => s.parse::<NaiveDateTime>().map(Some).map_err(E::custom),
            }
        }
    }
}
