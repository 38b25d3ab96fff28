//! Known faults, each planted in an otherwise valid dossier, with the finding code
//! the validator must raise for it. `healthbook gen --invalid` writes them; the
//! tests check that each is caught with its own code.

use chrono::Duration;

use dossier::model::{Appointment, Dossier, Envelope, Values};
use dossier::spec::{Spec, Table};
use dossier::write;

use super::Episode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub name: &'static str,
    /// The finding code that must be raised.
    pub code: &'static str,
}

const fn f(name: &'static str, code: &'static str) -> Fault {
    Fault { name, code }
}

pub const FAULTS: &[Fault] = &[
    f("cccd_province", "XML1.SO_CCCD.province"),
    f("cccd_format", "XML1.SO_CCCD.format"),
    f("bhyt_object_code", "XML1.MA_THE_BHYT.object_code"),
    f("bhyt_benefit", "XML1.MA_THE_BHYT.benefit"),
    f("discharge_before_admission", "XML1.NGAY_RA.before_ngay_vao"),
    f("missing_name", "XML1.HO_TEN.required"),
    f("bad_datetime", "XML1.NGAY_VAO.format"),
    f("bad_birth_date", "XML1.NGAY_SINH.format"),
    f("name_too_long", "XML1.HO_TEN.max_length"),
    f("bad_sex", "XML1.GIOI_TINH.enum"),
    f("bad_care_type", "XML1.MA_LOAI_KCB.enum"),
    f("bad_icd10", "XML1.MA_BENH_CHINH.format"),
    f("too_many_secondary", "XML1.MA_BENH_KT.too_many"),
    f("bad_amount_format", "XML2.DON_GIA.format"),
    f("total_mismatch", "XML1.T_TONGCHI_BV.total"),
    f("line_amount", "XML2.THANH_TIEN_BV.amount"),
    f("treatment_days", "XML1.SO_NGAY_DTRI.rule"),
    f("ma_lk_mismatch", "XML2.MA_LK.mismatch"),
    f("wrong_facility", "XML1.MA_CSKCB.envelope_mismatch"),
    f(
        "appointment_without_date",
        "XML1.NGAY_TAI_KHAM.required_by_xml14",
    ),
    f("person_mismatch", "XML14.NGAY_SINH.mismatch"),
    f("inpatient_without_discharge_paper", "HOSO.XML7.missing"),
    f("missing_xml1", "HOSO.XML1.missing"),
    f("unknown_loaihoso", "HOSO.LOAIHOSO.unknown"),
    f("bad_base64", "HOSO.NOIDUNGFILE.base64"),
    f("count_mismatch", "ENVELOPE.SOLUONGHOSO.mismatch"),
    f("wrong_inner_root", "XML2.root.unexpected"),
    f("doctype", "ENVELOPE.xml.dtd"),
];

/// The slot of a field in a table's superset record.
fn slot(table: Table, code: &str) -> usize {
    [Spec::Qd4750, Spec::Qd3176, Spec::Qd130]
        .into_iter()
        .flat_map(|spec| dossier::spec::fields(spec, table))
        .find(|f| f.code == code)
        .map_or(0, |f| f.slot)
}

/// Table documents of a dossier as field texts, ready to be bent.
struct Raw {
    tables: Vec<(Table, Vec<Values>)>,
}

impl Raw {
    fn of(d: &Dossier) -> Raw {
        Raw {
            tables: d.tables().into_iter().map(|t| (t, d.rows(t))).collect(),
        }
    }

    fn set(&mut self, table: Table, row: usize, field: &str, v: Option<&str>) {
        let s = slot(table, field);
        if let Some((_, rows)) = self.tables.iter_mut().find(|(t, _)| *t == table)
            && let Some(r) = rows.get_mut(row)
        {
            r[s] = v.map(str::to_string);
        }
    }

    fn get(&self, table: Table, row: usize, field: &str) -> Option<String> {
        let s = slot(table, field);
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .and_then(|(_, rows)| rows.get(row))
            .and_then(|r| r[s].clone())
    }

    fn documents(&self, spec: Spec) -> Vec<(String, String)> {
        self.tables
            .iter()
            .map(|(t, rows)| (t.code().to_string(), write::table_document(*t, spec, rows)))
            .collect()
    }
}

/// The envelope bytes of `e` with `fault` planted.
pub fn apply(fault: Fault, e: &Episode, spec: Spec) -> Vec<u8> {
    let mut d = e.dossier.clone();
    // Faults that need a shape first.
    match fault.name {
        "appointment_without_date" | "person_mismatch" if d.appointment.is_none() => {
            let s = d.summary.clone().unwrap_or_default();
            d.appointment = Some(Appointment {
                ma_lk: s.ma_lk.clone(),
                so_giayhen_kl: Some("GH-FAULT".into()),
                ma_cskcb: s.ma_cskcb.clone(),
                ho_ten: s.ho_ten.clone(),
                ngay_sinh: s.ngay_sinh,
                ngay_hen_kl: s.ngay_ra.map(|r| r + Duration::days(14)),
                ma_bac_si: vec!["000001/01-CCHN".into()],
                ma_ttdv: s.ma_ttdv.clone(),
                ngay_ct: s.ngay_ra.map(|r| r.date()),
                ..Appointment::default()
            });
            if let Some(sm) = d.summary.as_mut()
                && sm.ngay_tai_kham.is_empty()
            {
                sm.ngay_tai_kham = s
                    .ngay_ra
                    .map(|r| r.date() + Duration::days(14))
                    .into_iter()
                    .collect();
            }
        }
        "inpatient_without_discharge_paper" => {
            d.discharge = None;
            if let Some(s) = d.summary.as_mut() {
                s.ma_loai_kcb = Some("03".into());
                s.ket_qua_dtri = Some("2".into());
                s.ma_loai_rv = Some("1".into());
                if let (Some(v), Some(r)) = (s.ngay_vao, s.ngay_ra) {
                    s.so_ngay_dtri = Some(((r.date() - v.date()).num_days() + 1) as u32);
                }
            }
            d.referral = None;
        }
        _ => {}
    }
    let mut raw = Raw::of(&d);
    let x1 = Table::Xml1;
    match fault.name {
        "cccd_province" => raw.set(x1, 0, "SO_CCCD", Some("003090012345")),
        "cccd_format" => raw.set(x1, 0, "SO_CCCD", Some("12345")),
        "bhyt_object_code" => raw.set(x1, 0, "MA_THE_BHYT", Some("ZZ4010123456789")),
        "bhyt_benefit" => raw.set(x1, 0, "MA_THE_BHYT", Some("DN7010123456789")),
        "discharge_before_admission" => {
            let vao = raw.get(x1, 0, "NGAY_VAO").unwrap_or_default();
            let earlier = format!("{}0001", &vao[..8.min(vao.len())]);
            raw.set(x1, 0, "NGAY_RA", Some(&earlier));
            raw.set(x1, 0, "SO_NGAY_DTRI", Some("0"));
            raw.set(x1, 0, "MA_LOAI_KCB", Some("01"));
        }
        "missing_name" => raw.set(x1, 0, "HO_TEN", None),
        "bad_datetime" => raw.set(x1, 0, "NGAY_VAO", Some("202513150830")),
        "bad_birth_date" => raw.set(x1, 0, "NGAY_SINH", Some("199013450000")),
        "name_too_long" => raw.set(x1, 0, "HO_TEN", Some(&"Nguyễn Văn Dài ".repeat(20))),
        "bad_sex" => raw.set(x1, 0, "GIOI_TINH", Some("4")),
        "bad_care_type" => raw.set(x1, 0, "MA_LOAI_KCB", Some("1")),
        "bad_icd10" => raw.set(x1, 0, "MA_BENH_CHINH", Some("J02,9")),
        "too_many_secondary" => raw.set(
            x1,
            0,
            "MA_BENH_KT",
            Some("I10;E11;E78;K29;J30;M54;N39;D64;E03;F32;L50;K21;H25"),
        ),
        "bad_amount_format" => raw.set(Table::Xml2, 0, "DON_GIA", Some("1,500")),
        "total_mismatch" => {
            let t = raw.get(x1, 0, "T_TONGCHI_BV").unwrap_or_default();
            let bumped = t.parse::<rust_decimal::Decimal>().unwrap_or_default()
                + rust_decimal::Decimal::from(1000);
            raw.set(x1, 0, "T_TONGCHI_BV", Some(&bumped.to_string()));
        }
        "line_amount" => {
            let t = raw.get(Table::Xml2, 0, "THANH_TIEN_BV").unwrap_or_default();
            let bumped = t.parse::<rust_decimal::Decimal>().unwrap_or_default()
                + rust_decimal::Decimal::from(500);
            raw.set(Table::Xml2, 0, "THANH_TIEN_BV", Some(&bumped.to_string()));
        }
        "treatment_days" => {
            // An examination (01) counts 0 treatment days.
            raw.set(x1, 0, "MA_LOAI_KCB", Some("01"));
            raw.set(x1, 0, "SO_NGAY_DTRI", Some("3"));
        }
        "ma_lk_mismatch" => raw.set(Table::Xml2, 0, "MA_LK", Some("OTHER-EPISODE")),
        "wrong_facility" => raw.set(x1, 0, "MA_CSKCB", Some("99999")),
        "appointment_without_date" => raw.set(x1, 0, "NGAY_TAI_KHAM", None),
        "person_mismatch" => raw.set(Table::Xml14, 0, "NGAY_SINH", Some("190001010000")),
        "missing_xml1" => raw.tables.retain(|(t, _)| *t != x1),
        _ => {}
    }
    let mut docs = raw.documents(spec);
    match fault.name {
        "unknown_loaihoso" => docs.push(("XML12".into(), docs[0].1.clone())),
        "wrong_inner_root" => {
            if let Some(doc) = docs.iter_mut().find(|(t, _)| t == "XML2") {
                doc.1 = doc.1.replace("CHITIEU_CHITIET_THUOC", "CHITIEU_THUOC");
            }
        }
        _ => {}
    }
    let env = Envelope {
        facility: e.facility.code.to_string(),
        created: "20251015".into(),
        declared_count: Some(if fault.name == "count_mismatch" { 2 } else { 1 }),
        dossiers: Vec::new(),
        signature: Vec::new(),
    };
    let mut out =
        String::from_utf8(write::envelope_from_documents(&env, &[docs])).unwrap_or_default();
    match fault.name {
        "bad_base64" => {
            // Corrupt the first NOIDUNGFILE.
            if let Some(i) = out.find("<NOIDUNGFILE>") {
                out.insert_str(i + "<NOIDUNGFILE>".len(), "@@@");
            }
        }
        "doctype" => {
            out = out.replacen(
                "<GIAMDINHHS",
                "<!DOCTYPE GIAMDINHHS [<!ENTITY x \"y\">]>\n<GIAMDINHHS",
                1,
            );
        }
        _ => {}
    }
    out.into_bytes()
}
