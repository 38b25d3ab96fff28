//! One synthetic care episode: the dossier a facility would send, and its check-in.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};

use super::catalog::*;
use super::{Generator, Person, pick, rng};
use dossier::Spec;
use dossier::model::*;

/// A generated episode.
#[derive(Clone, Debug)]
pub struct Episode {
    pub index: usize,
    pub person: usize,
    pub facility: &'static FacilityRef,
    pub dossier: Dossier,
    pub checkin: CheckIn,
}

impl Episode {
    pub fn ma_lk(&self) -> &str {
        self.dossier.ma_lk().unwrap_or_default()
    }

    /// The envelope, with one HOSO (one episode per submission, as the 3176 guide says).
    pub fn envelope(&self) -> Envelope {
        let created = self
            .dossier
            .summary
            .as_ref()
            .and_then(|s| s.ngay_ra)
            .map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_default();
        Envelope {
            facility: self.facility.code.to_string(),
            created,
            declared_count: Some(1),
            dossiers: vec![self.dossier.clone()],
            signature: Vec::new(),
        }
    }

    pub fn envelope_bytes(&self, spec: Spec) -> Vec<u8> {
        dossier::write::envelope(&self.envelope(), spec)
    }

    pub fn checkin_bytes(&self, spec: Spec) -> Vec<u8> {
        dossier::write::checkin(&self.checkin, spec)
    }

    /// A file name that says what it holds: `<MA_CSKCB>_<MA_LK>.xml`.
    pub fn file_name(&self) -> String {
        format!("{}_{}.xml", self.facility.code, self.ma_lk())
    }
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn dt(d: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    d.and_hms_opt(h.min(23), m.min(59), 0).unwrap_or_default()
}

/// The split of one line between fund, co-payment and self-payment (§4.16, no other source).
struct Amounts {
    bv: Decimal,
    bh: Decimal,
    bhtt: Decimal,
    bncct: Decimal,
    bntt: Decimal,
}

fn amounts(
    qty: Decimal,
    price: Decimal,
    ratio_dv: Decimal,
    ratio_bh: Decimal,
    benefit: Decimal,
) -> Amounts {
    let h = Decimal::ONE_HUNDRED;
    let bv = money(qty * price * ratio_dv / h);
    let bh = money(qty * price * ratio_dv / h * ratio_bh / h);
    let bhtt = money(bh * benefit / h);
    Amounts {
        bv,
        bh,
        bhtt,
        bncct: bh - bhtt,
        bntt: bv - bh,
    }
}

pub(super) fn build(g: &Generator, p: &Person, i: usize) -> Episode {
    let cfg = &g.config;
    let mut r = rng(cfg.seed, 3, i as u64);
    // When: a day in the window, after birth.
    let days = (cfg.to - cfg.from).num_days().max(1);
    let mut day = cfg.from + Duration::days(r.i64(0..days));
    if let Some(b) = p.birth.date()
        && day < b
    {
        day = b;
    }
    let age = p.age_on(day);
    // What: a diagnosis that fits age and sex.
    let fitting: Vec<&Diagnosis> = DIAGNOSES
        .iter()
        .filter(|d| age >= d.min_age && age <= d.max_age && (d.sex.is_empty() || d.sex == p.sex))
        .collect();
    let dx: &Diagnosis = if fitting.is_empty() {
        &DIAGNOSES[0]
    } else {
        fitting[r.usize(..fitting.len())]
    };
    // The catalogue names the usual care types; the rarer ones come from them: drug
    // pickup by appointment (07) from chronic care, commune-station stays (06) from
    // short treatment, inpatient under 4 hours (09), other cases (10).
    let care = match (*pick(&mut r, dx.care_types), r.u8(0..20)) {
        ("05", 0..=5) => "07",
        ("02" | "04", 0..=4) => "06",
        ("03", 0..=1) => "09",
        ("01", 0) => "10",
        (c, _) => c,
    };
    // Where: mostly a facility of the person's province.
    let local: Vec<&FacilityRef> = FACILITIES
        .iter()
        .filter(|f| f.code.starts_with(p.province.code))
        .collect();
    let facility: &'static FacilityRef = if !local.is_empty() && r.u8(0..10) < 8 {
        local[r.usize(..local.len())]
    } else {
        pick(&mut r, FACILITIES)
    };
    let ma_lk = format!("SYN{:X}{i:010}", cfg.seed);
    let doctor = format!("{:06}/{}-CCHN", 1000 + r.u32(0..9000), &facility.code[..2]);
    let head = format!(
        "{:010}",
        3_000_000_000u64 + facility.code.parse::<u64>().unwrap_or(0)
    );

    // Timeline by care type.
    let inpatient = matches!(care, "03" | "04" | "06" | "09");
    let stay_days: i64 = match care {
        "03" => r.i64(2..10),
        "04" | "06" => r.i64(1..3),
        "02" => r.i64(3..8),
        "05" => 30,
        _ => 1,
    };
    let vao = dt(day, r.u32(7..17), r.u32(0..60));
    let ra = match care {
        "01" | "09" | "10" => vao + Duration::minutes(r.i64(30..200)),
        "02" | "05" | "07" => dt(day + Duration::days(stay_days - 1), 23, 59),
        "08" => vao + Duration::hours(4),
        _ => dt(
            day + Duration::days(stay_days - 1),
            r.u32(8..12),
            r.u32(0..60),
        ),
    };
    // A one-day stay ends hours after it starts, whatever the clock said.
    let ra = if ra <= vao {
        vao + Duration::hours(r.i64(2..8))
    } else {
        ra
    };
    let vao_noi_tru = inpatient.then(|| vao + Duration::minutes(r.i64(20..120)));
    let so_ngay = match care {
        "01" | "07" | "09" => 0,
        "05" => stay_days as u32,
        "08" => 1,
        _ => ((ra.date() - vao.date()).num_days() + 1) as u32,
    };

    // Who pays.
    let cards = p.cards_between(vao.date(), ra.date());
    let insured = !cards.is_empty();
    let benefit = cards
        .last()
        .map_or(Decimal::ZERO, |c| Person::benefit(&c.number));
    let ratio_bh = if insured {
        Decimal::ONE_HUNDRED
    } else {
        Decimal::ZERO
    };
    let category = if !insured {
        "9"
    } else if r.u8(0..20) == 0 {
        "2"
    } else {
        "1.1"
    };
    let dept = if inpatient {
        pick(&mut r, &DEPARTMENTS[1..]).code
    } else {
        DEPARTMENTS[0].code
    };

    // Outcome and discharge.
    let referral = r.u8(0..100) < 8;
    let died = inpatient && r.u16(0..400) == 0;
    let outcome = if died {
        "5"
    } else if referral {
        "2"
    } else {
        ["1", "2", "2"][r.usize(..3)]
    };
    let discharge_type = if referral { "2" } else { "1" };
    let destination = referral.then(|| {
        FACILITIES
            .iter()
            .find(|f| f.code != facility.code && f.code.starts_with(&facility.code[..2]))
            .unwrap_or(&FACILITIES[0])
    });

    let mut d = Dossier::default();
    let mut stt3 = 0u32;
    let mut order_time = vao + Duration::minutes(10);
    let mut service = |d: &mut Dossier,
                       code: &str,
                       name: &str,
                       group: &str,
                       unit: &str,
                       qty: Decimal,
                       price: u32,
                       ratio_dv: Decimal,
                       at: NaiveDateTime,
                       result_at: Option<NaiveDateTime>,
                       pttt: Option<&str>,
                       anaesthesia: &str| {
        stt3 += 1;
        let price = Decimal::from(price);
        let a = amounts(qty, price, ratio_dv, ratio_bh, benefit);
        d.services.push(ServiceLine {
            ma_lk: s(&ma_lk),
            stt: Some(stt3),
            ma_dich_vu: s(code),
            ma_pttt_qt: pttt.map(|x| vec![x.to_string()]).unwrap_or_default(),
            ma_nhom: s(group),
            ten_dich_vu: s(name),
            don_vi_tinh: s(unit),
            pham_vi: s(if insured { "1" } else { "2" }),
            so_luong: Some(qty),
            don_gia_bv: Some(price),
            don_gia_bh: Some(price),
            tyle_tt_dv: Some(ratio_dv),
            tyle_tt_bh: Some(ratio_bh),
            thanh_tien_bv: Some(a.bv),
            thanh_tien_bh: Some(a.bh),
            muc_huong: Some(benefit),
            t_nguonkhac_nsnn: Some(Decimal::ZERO),
            t_nguonkhac_vtnn: Some(Decimal::ZERO),
            t_nguonkhac_vttn: Some(Decimal::ZERO),
            t_nguonkhac_cl: Some(Decimal::ZERO),
            t_nguonkhac: Some(Decimal::ZERO),
            t_bntt: Some(a.bntt),
            t_bncct: Some(a.bncct),
            t_bhtt: Some(a.bhtt),
            ma_khoa: vec![dept.to_string()],
            ma_bac_si: vec![doctor.clone()],
            // The portal's sheet requires the disease each service was ordered for.
            ma_benh: vec![dx.icd10.to_string()],
            nguoi_thuc_hien: vec![doctor.clone()],
            ngay_yl: Some(at),
            ngay_th_yl: Some(at + Duration::minutes(5)),
            ngay_kq: result_at,
            ma_pttt: s("1"),
            pp_vo_cam: (!anaesthesia.is_empty()).then(|| anaesthesia.to_string()),
            ..ServiceLine::default()
        });
    };
    let h = Decimal::ONE_HUNDRED;
    // Examination or bed-days.
    let first_item: (String, String) = if care == "07" {
        // Drug pickup: no examination; the first cost item is the first drug.
        (String::new(), String::new())
    } else if inpatient {
        let bed = pick(&mut r, BED_DAYS);
        let nights = Decimal::from(so_ngay.max(1));
        service(
            &mut d,
            bed.code,
            bed.name,
            if care == "04" { "14" } else { "15" },
            bed.unit,
            nights,
            bed.price,
            h,
            vao_noi_tru.unwrap_or(vao),
            None,
            None,
            "",
        );
        (bed.code.to_string(), bed.name.to_string())
    } else {
        // Children see the paediatrician; adults another clinic.
        let paediatric = |x: &&BasicService| x.name.contains("Nhi");
        let fitting: Vec<&BasicService> = EXAMS
            .iter()
            .filter(|x| paediatric(x) == (age < 16))
            .collect();
        let exam = if fitting.is_empty() {
            pick(&mut r, EXAMS)
        } else {
            fitting[r.usize(..fitting.len())]
        };
        service(
            &mut d,
            exam.code,
            exam.name,
            "13",
            exam.unit,
            Decimal::ONE,
            exam.price,
            h,
            vao,
            None,
            None,
            "",
        );
        (exam.code.to_string(), exam.name.to_string())
    };
    // Paraclinical tests and their results.
    let mut stt4 = 0u32;
    let tests: Vec<usize> = dx
        .tests
        .iter()
        .copied()
        .filter(|_| r.u8(0..10) < 8)
        .collect();
    for t in tests {
        let test = &PARACLINICALS[t];
        order_time += Duration::minutes(r.i64(5..30));
        let result_at = order_time + Duration::minutes(r.i64(30..120));
        service(
            &mut d,
            test.code,
            test.name,
            test.group,
            "Lần",
            Decimal::ONE,
            test.price,
            h,
            order_time,
            Some(result_at),
            None,
            "",
        );
        let reader = format!("{:010}", 2_000_000_000u64 + r.u64(0..999_999));
        if test.indicators.is_empty() {
            let (desc, concl) = if r.u8(0..4) == 0 {
                test.abnormal
            } else {
                test.normal
            };
            stt4 += 1;
            d.results.push(ParaclinicalResult {
                ma_lk: s(&ma_lk),
                stt: Some(stt4),
                ma_dich_vu: s(test.code),
                // One result without indicators: the service is its own index (the
                // QĐ 130 sheet requires MA_CHI_SO).
                ma_chi_so: s(test.code),
                ten_chi_so: s(test.name),
                mo_ta: s(desc),
                ket_luan: s(concl),
                ngay_kq: Some(result_at),
                ma_bs_doc_kq: s(reader),
                ..ParaclinicalResult::default()
            });
        } else {
            for ind in test.indicators {
                let low: Decimal = ind.low.parse().unwrap_or_default();
                let high: Decimal = ind.high.parse().unwrap_or_default();
                let span = high - low;
                // Mostly within range; one in five outside it.
                let frac = Decimal::from(r.u32(0..=1000)) / Decimal::from(1000);
                let value = match r.u8(0..10) {
                    0 => high + span * frac / Decimal::from(2),
                    1 => (low - span * frac / Decimal::from(4)).max(Decimal::ZERO),
                    _ => low + span * frac,
                }
                .round_dp_with_strategy(ind.decimals, RoundingStrategy::MidpointAwayFromZero);
                let flag = if value > high {
                    "Cao"
                } else if value < low {
                    "Thấp"
                } else {
                    "Bình thường"
                };
                stt4 += 1;
                d.results.push(ParaclinicalResult {
                    ma_lk: s(&ma_lk),
                    stt: Some(stt4),
                    ma_dich_vu: s(test.code),
                    ma_chi_so: s(ind.code),
                    ten_chi_so: s(ind.name),
                    gia_tri: s(value.to_string()),
                    don_vi_do: (!ind.unit.is_empty()).then(|| ind.unit.to_string()),
                    mo_ta: s(
                        format!("Khoảng tham chiếu: {} – {} {}", ind.low, ind.high, ind.unit)
                            .trim_end()
                            .to_string(),
                    ),
                    ket_luan: s(flag),
                    ngay_kq: Some(result_at),
                    ma_bs_doc_kq: s(&reader),
                    ..ParaclinicalResult::default()
                });
            }
        }
    }
    // Procedures and surgery (inpatient, or minor procedures at a visit).
    let mut pttt_codes = Vec::new();
    for &pi in dx.procedures.iter() {
        let proc = &PROCEDURES[pi];
        if proc.group == "8" && !inpatient {
            continue;
        }
        order_time += Duration::minutes(r.i64(30..240));
        let end = order_time + Duration::minutes(r.i64(20..150));
        service(
            &mut d,
            proc.code,
            proc.name,
            proc.group,
            "Lần",
            Decimal::ONE,
            proc.price,
            h,
            order_time,
            Some(end),
            Some(proc.icd9),
            proc.anaesthesia,
        );
        pttt_codes.push(proc.icd9.to_string());
    }
    // Medicines.
    let treat_days: u32 = match care {
        "01" | "10" => r.u32(3..8),
        "05" | "07" => 30,
        _ => so_ngay.max(1),
    };
    let mut picked: Vec<usize> = dx
        .drugs
        .iter()
        .copied()
        .filter(|_| r.u8(0..10) < 7)
        .collect();
    if picked.is_empty() {
        picked.push(dx.drugs.first().copied().unwrap_or(0));
    }
    for (k, di) in picked.into_iter().enumerate() {
        let drug = &DRUGS[di];
        let per_day = drug.per_dose * drug.doses_per_day;
        let qty = Decimal::from(per_day * treat_days);
        let price = Decimal::from(drug.unit_price);
        let a = amounts(qty, price, h, ratio_bh, benefit);
        let at = vao + Duration::minutes(40 + k as i64 * 3);
        d.drugs.push(DrugLine {
            ma_lk: s(&ma_lk),
            stt: Some(k as u32 + 1),
            ma_thuoc: s(drug.code),
            ma_nhom: s("4"),
            ten_thuoc: s(drug.name),
            don_vi_tinh: s(drug.unit),
            ham_luong: s(drug.strength),
            duong_dung: s(drug.route),
            dang_bao_che: s(drug.form),
            lieu_dung: s(format!(
                "{} {}/lần * {} lần/ngày * {treat_days} ngày [{per_day} {}/ngày]",
                drug.per_dose,
                drug.unit.to_lowercase(),
                drug.doses_per_day,
                drug.unit.to_lowercase()
            )),
            cach_dung: s(if drug.route == "1.01" {
                format!("{} sau ăn", drug.route_name)
            } else {
                format!("{} theo chỉ định của bác sĩ", drug.route_name)
            }),
            so_dang_ky: (!drug.registration.is_empty()).then(|| drug.registration.to_string()),
            tt_thau: s(format!("{}/QĐ-SYT;G1;N1;2025", 100 + di)),
            pham_vi: s(if insured { "1" } else { "2" }),
            tyle_tt_bh: Some(ratio_bh),
            so_luong: Some(qty),
            don_gia: Some(price),
            thanh_tien_bv: Some(a.bv),
            thanh_tien_bh: Some(a.bh),
            t_nguonkhac_nsnn: Some(Decimal::ZERO),
            t_nguonkhac_vtnn: Some(Decimal::ZERO),
            t_nguonkhac_vttn: Some(Decimal::ZERO),
            t_nguonkhac_cl: Some(Decimal::ZERO),
            t_nguonkhac: Some(Decimal::ZERO),
            muc_huong: Some(benefit),
            t_bntt: Some(a.bntt),
            t_bncct: Some(a.bncct),
            t_bhtt: Some(a.bhtt),
            ma_khoa: vec![dept.to_string()],
            ma_bac_si: vec![doctor.clone()],
            ngay_yl: Some(at),
            ngay_th_yl: Some(at + Duration::minutes(10)),
            ma_pttt: s("1"),
            nguon_ctra: s("1"),
            ..DrugLine::default()
        });
    }

    // Clinical course (outpatient treatment, chronic, inpatient, day care).
    if matches!(care, "02" | "03" | "04" | "05" | "06" | "08" | "09") {
        let notes = (so_ngay.clamp(1, 5)) as i64;
        for k in 0..notes {
            let at = (vao + Duration::days(k) + Duration::minutes(90)).min(ra);
            d.clinical_notes.push(ClinicalNote {
                ma_lk: s(&ma_lk),
                stt: Some(k as u32 + 1),
                dien_bien_ls: s(format!(
                    "Ngày {}: {}. CSST<M{}_T{}_HA{}/{}_NT{}>",
                    k + 1,
                    if k == 0 {
                        dx.complaint
                    } else {
                        "Bệnh nhân tỉnh, đỡ mệt, ăn uống được"
                    },
                    r.u32(65..100),
                    ["36.8", "37", "37.5", "38.2"][r.usize(..4)],
                    r.u32(100..150),
                    r.u32(60..95),
                    r.u32(16..24)
                )),
                thoi_diem_dbls: Some(at),
                nguoi_thuc_hien: vec![doctor.clone()],
                phau_thuat: (k == 1 && !pttt_codes.is_empty())
                    .then(|| "Phẫu thuật/thủ thuật theo chỉ định, diễn biến thuận lợi".to_string()),
                ..ClinicalNote::default()
            });
        }
    }

    // Secondary diagnoses.
    let secondary: Vec<String> = dx
        .secondary
        .iter()
        .filter(|_| r.bool())
        .map(|c| c.to_string())
        .collect();
    let newborn_weights: Vec<Decimal> = if dx.icd10.starts_with("O8") {
        vec![Decimal::from(2_600 + r.u32(0..1_400))]
    } else {
        Vec::new()
    };

    // Totals (§4.16): [THANH_TIEN_BV, THANH_TIEN_BH, T_BNTT, T_BNCCT, T_BHTT] per line.
    let z = Decimal::ZERO;
    let line = |v: [&Option<Decimal>; 5]| v.map(|x| x.unwrap_or(z));
    let lines: Vec<[Decimal; 5]> = d
        .drugs
        .iter()
        .map(|l| {
            line([
                &l.thanh_tien_bv,
                &l.thanh_tien_bh,
                &l.t_bntt,
                &l.t_bncct,
                &l.t_bhtt,
            ])
        })
        .chain(d.services.iter().map(|l| {
            line([
                &l.thanh_tien_bv,
                &l.thanh_tien_bh,
                &l.t_bntt,
                &l.t_bncct,
                &l.t_bhtt,
            ])
        }))
        .collect();
    let sum = |k: usize| lines.iter().map(|l| l[k]).sum::<Decimal>();
    let t_thuoc: Decimal = d.drugs.iter().map(|l| l.thanh_tien_bv.unwrap_or(z)).sum();
    let (t_bv, t_bh, t_bntt, t_bncct) = (sum(0), sum(1), sum(2), sum(3));
    // Every line is fee-for-service (MA_PTTT 1).
    let t_bhtt_gdv = sum(4);

    let card_numbers: Vec<String> = cards.iter().map(|c| c.number.clone()).collect();
    let year_from = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    let year_to = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), 12, 31).unwrap_or(d);
    let appointment = !died && !referral && matches!(care, "01" | "03" | "05") && r.u8(0..10) < 4;
    let reexam = appointment.then(|| ra.date() + Duration::days(r.i64(7..31)));
    let main_name = dx.name;
    let summary = Summary {
        ma_lk: s(&ma_lk),
        stt: Some(1),
        ma_bn: s(format!("BN{:08}", p.index)),
        ho_ten: s(&p.name),
        so_cccd: p.personal_id.clone(),
        ngay_sinh: Some(p.birth),
        gioi_tinh: s(p.sex),
        ma_quoctich: s(p.nationality),
        ma_dantoc: s(p.ethnicity),
        ma_nghe_nghiep: s(p.job),
        dia_chi: s(&p.address),
        matinh_cu_tru: s(p.province.code),
        mahuyen_cu_tru: s(p.district.code),
        maxa_cu_tru: s(p.commune.0),
        dien_thoai: p.phone.clone(),
        ma_the_bhyt: card_numbers.clone(),
        ma_dkbd: cards.iter().map(|c| c.primary_facility.clone()).collect(),
        gt_the_tu: cards.iter().map(|_| year_from(vao.date())).collect(),
        gt_the_den: cards.iter().map(|_| year_to(vao.date())).collect(),
        ly_do_vv: s(dx.complaint),
        ly_do_vnt: inpatient.then(|| format!("{}, cần theo dõi điều trị nội trú", dx.complaint)),
        chan_doan_vao: s(main_name),
        chan_doan_rv: s(main_name),
        ma_benh_chinh: s(dx.icd10),
        ma_benh_kt: secondary,
        ma_pttt_qt: pttt_codes.clone(),
        ma_doituong_kcb: s(category),
        ma_noi_den: destination.map(|f| f.code.to_string()),
        ngay_vao: Some(vao),
        ngay_vao_noi_tru: vao_noi_tru,
        ngay_ra: Some(ra),
        giay_chuyen_tuyen: referral.then(|| format!("CT{:08}", i)),
        so_ngay_dtri: Some(so_ngay),
        pp_dieu_tri: s(if pttt_codes.is_empty() {
            "Điều trị nội khoa"
        } else {
            "Phẫu thuật/thủ thuật kết hợp điều trị nội khoa"
        }),
        ket_qua_dtri: s(outcome),
        ma_loai_rv: s(discharge_type),
        ghi_chu: s("Tái khám khi có dấu hiệu bất thường"),
        ngay_ttoan: Some(ra + Duration::minutes(15)),
        t_thuoc: Some(t_thuoc),
        t_vtyt: Some(Decimal::ZERO),
        t_tongchi_bv: Some(t_bv),
        t_tongchi_bh: Some(t_bh),
        t_bntt: Some(t_bntt),
        t_bncct: Some(t_bncct),
        t_bhtt: Some(t_bh - t_bncct),
        t_nguonkhac: Some(Decimal::ZERO),
        t_bhtt_gdv: Some(t_bhtt_gdv),
        nam_qt: Some(ra.year() as u32),
        thang_qt: Some(ra.month()),
        ma_loai_kcb: s(care),
        ma_khoa: vec![dept.to_string()],
        ma_cskcb: s(facility.code),
        can_nang: Some(weight(age, &mut r)),
        can_nang_con: newborn_weights.clone(),
        ngay_tai_kham: reexam.into_iter().collect(),
        ma_hsba: s(format!(
            "{}{:07}",
            if inpatient { "BA" } else { "PK" },
            i % 10_000_000
        )),
        ma_ttdv: s(&head),
        ..Summary::default()
    };

    let ngay_ct = ra.date();
    if inpatient && !died {
        d.discharge = Some(DischargePaper {
            ma_lk: s(&ma_lk),
            so_luu_tru: s(format!("LT{:08}", i)),
            ma_yte: summary.ma_bn.clone(),
            ma_khoa_rv: s(dept),
            ngay_vao: Some(vao),
            ngay_ra: Some(ra),
            chan_doan_rv: s(main_name),
            pp_dieutri: summary.pp_dieu_tri.clone(),
            ghi_chu: s("Ra viện, tiếp tục điều trị ngoại trú theo đơn"),
            ma_ttdv: s(&head),
            ma_bs: s(&doctor),
            ten_bs: s(format!("BS. {}", pick(&mut r, GIVEN_FEMALE))),
            ngay_ct: Some(ngay_ct),
            ..DischargePaper::default()
        });
    }
    // The portal takes XML8 only with care types 03, 04 and 06.
    if matches!(care, "03" | "04" | "06") {
        d.record_summary = Some(RecordSummary {
            ma_lk: s(&ma_lk),
            ma_loai_kcb: s(care),
            ngay_vao: Some(vao),
            ngay_ra: Some(ra),
            chan_doan_vao: s(main_name),
            chan_doan_rv: s(main_name),
            qt_benhly: s(format!(
                "{}. Vào viện điều trị, theo dõi diễn biến.",
                dx.complaint
            )),
            tomtat_kq: s(summarize_results(&d.results)),
            pp_dieutri: summary.pp_dieu_tri.clone(),
            ket_qua_dtri: s(outcome),
            ma_ttdv: s(&head),
            ngay_ct: Some(ngay_ct),
            ..RecordSummary::default()
        });
    }
    if !newborn_weights.is_empty() {
        let baby_sex = if r.bool() { "1" } else { "2" };
        d.births.push(BirthCertificate {
            ma_lk: s(&ma_lk),
            ho_ten_nnd: s(&p.name),
            ngaysinh_nnd: p.birth.date(),
            ma_dantoc_nnd: s(p.ethnicity),
            so_cccd_nnd: p.personal_id.clone(),
            ngaycap_cccd_nnd: Some(NaiveDate::from_ymd_opt(2021, 6, 1).unwrap_or_default()),
            noicap_cccd_nnd: s("Cục Cảnh sát quản lý hành chính về trật tự xã hội"),
            noi_cu_tru_nnd: s(&p.address),
            ma_quoctich: s(p.nationality),
            matinh_cu_tru: s(p.province.code),
            mahuyen_cu_tru: s(p.district.code),
            maxa_cu_tru: s(p.commune.0),
            ma_the_tam: s(format!(
                "TE1{}{:010}",
                p.province.code,
                5_000_000_000u64 + i as u64
            )),
            ho_ten_con: s(format!("Con bà {}", p.name)),
            gioi_tinh_con: s(baby_sex),
            so_con: Some(1),
            lan_sinh: Some(r.u32(1..4)),
            so_con_song: Some(1),
            can_nang_con: newborn_weights.first().copied(),
            ngay_sinh_con: Some((vao + Duration::hours(r.i64(2..12))).min(ra)),
            noi_sinh_con: s(facility.name),
            tinh_trang_con: s("Khỏe mạnh"),
            sinhcon_phauthuat: s(if dx.icd10 == "O82" { "1" } else { "0" }),
            sinhcon_duoi32tuan: s("0"),
            ghi_chu: s("Không"),
            nguoi_do_de: s(format!("NHS. {}", pick(&mut r, GIVEN_FEMALE))),
            nguoi_ghi_phieu: s(format!("NHS. {}", pick(&mut r, GIVEN_FEMALE))),
            ngay_ct: Some(ngay_ct),
            so: s(format!("{:06}", i % 1_000_000)),
            quyen_so: s(format!("{:02}", ra.year() % 100)),
            ma_ttdv: s(&head),
            ..BirthCertificate::default()
        });
    }
    if inpatient && !died && insured && (18..60).contains(&age) && r.u8(0..5) == 0 {
        let from = ra.date() + Duration::days(1);
        let n = r.i64(3..15);
        d.sick_leave = Some(SickLeave {
            ma_lk: s(&ma_lk),
            so_ct: s(format!("NV{:08}", i)),
            so_seri: s(format!("CT07-{:08}", i)),
            so_kcb: summary.ma_hsba.clone(),
            don_vi: s("Công ty TNHH Mẫu Tổng Hợp"),
            ma_bhxh: card_numbers
                .last()
                .and_then(|c| dossier::ids::bhxh_of_card(c))
                .map(str::to_string),
            ma_the_bhyt: card_numbers.clone(),
            chan_doan_rv: s(main_name),
            pp_dieutri: summary.pp_dieu_tri.clone(),
            so_ngay_nghi: Some(n as u32),
            tu_ngay: Some(from),
            den_ngay: Some(from + Duration::days(n - 1)),
            ma_ttdv: s(&head),
            ma_bs: s(&doctor),
            ngay_ct: Some(ngay_ct),
            mau_so: s("CT07"),
            ..SickLeave::default()
        });
    }
    if let Some(dest) = destination {
        d.referral = Some(Referral {
            ma_lk: s(&ma_lk),
            so_hoso: s(format!("HS{:08}", i)),
            so_chuyentuyen: s(format!("{:06}", i % 1_000_000)),
            giay_chuyen_tuyen: summary.giay_chuyen_tuyen.clone(),
            ma_cskcb: s(facility.code),
            ma_noi_den: s(dest.code),
            ho_ten: s(&p.name),
            ngay_sinh: Some(p.birth),
            gioi_tinh: s(p.sex),
            dia_chi: s(&p.address),
            ma_the_bhyt: card_numbers.clone(),
            ngay_vao: Some(vao),
            ngay_ra: Some(ra),
            dau_hieu_ls: s(dx.complaint),
            chan_doan_rv: s(main_name),
            qt_benhly: s(format!(
                "{}. Đã điều trị tại {}.",
                dx.complaint, facility.name
            )),
            tomtat_kq: s(summarize_results(&d.results)),
            ma_benh_chinh: s(dx.icd10),
            ten_dich_vu: s(d
                .services
                .iter()
                .filter_map(|l| l.ten_dich_vu.clone())
                .collect::<Vec<_>>()
                .join("; ")),
            ten_thuoc: s(d
                .drugs
                .iter()
                .filter_map(|l| l.ten_thuoc.clone())
                .collect::<Vec<_>>()
                .join("; ")),
            tinh_trang_ct: s("Tỉnh, mạch huyết áp ổn định, đủ điều kiện chuyển tuyến"),
            ma_loai_rv: s("2"),
            ma_lydo_ct: s("2"),
            huong_dieu_tri: s(format!(
                "Đề nghị {} tiếp tục chẩn đoán và điều trị",
                dest.name
            )),
            phuongtien_vc: s("Xe cứu thương"),
            ma_bac_si: vec![doctor.clone()],
            ma_ttdv: s(&head),
            ..Referral::default()
        });
    }
    if let Some(day) = reexam {
        d.appointment = Some(Appointment {
            ma_lk: s(&ma_lk),
            so_giayhen_kl: s(format!("GH{:08}", i)),
            ma_cskcb: s(facility.code),
            ho_ten: s(&p.name),
            ngay_sinh: Some(p.birth),
            gioi_tinh: s(p.sex),
            dia_chi: s(&p.address),
            ma_the_bhyt: card_numbers.clone(),
            ngay_vao: Some(vao),
            ngay_ra: Some(ra),
            ngay_hen_kl: Some(dt(day, 8, 0)),
            chan_doan_rv: s(main_name),
            ma_benh_chinh: s(dx.icd10),
            ma_doituong_kcb: s(category),
            ma_bac_si: vec![doctor.clone()],
            ma_ttdv: s(&head),
            ngay_ct: Some(ngay_ct),
            ..Appointment::default()
        });
    }

    let checkin = CheckIn {
        rows: vec![CheckInRow {
            ma_lk: s(&ma_lk),
            stt: Some(1),
            ma_bn: summary.ma_bn.clone(),
            ho_ten: s(&p.name),
            so_cccd: p.personal_id.clone(),
            ngay_sinh: Some(p.birth),
            gioi_tinh: s(p.sex),
            ma_the_bhyt: card_numbers.first().cloned(),
            ma_dkbd: cards.first().map(|c| c.primary_facility.clone()),
            gt_the_tu: cards.first().map(|_| year_from(vao.date())),
            gt_the_den: cards.first().map(|_| year_to(vao.date())),
            ma_doituong_kcb: s(category),
            ngay_vao: Some(vao),
            ngay_vao_noi_tru: vao_noi_tru,
            ly_do_vnt: summary.ly_do_vnt.clone(),
            ma_loai_kcb: s(care),
            ma_cskcb: s(facility.code),
            ma_dich_vu: (!first_item.0.is_empty()).then(|| first_item.0.clone()),
            ten_dich_vu: (!first_item.1.is_empty()).then(|| first_item.1.clone()),
            ma_thuoc: first_item
                .0
                .is_empty()
                .then(|| d.drugs.first().and_then(|l| l.ma_thuoc.clone()))
                .flatten(),
            ten_thuoc: first_item
                .0
                .is_empty()
                .then(|| d.drugs.first().and_then(|l| l.ten_thuoc.clone()))
                .flatten(),
            ngay_yl: Some(vao + Duration::minutes(10)),
            ..CheckInRow::default()
        }],
        signature: Vec::new(),
    };
    d.summary = Some(summary);
    Episode {
        index: i,
        person: p.index,
        facility,
        dossier: d,
        checkin,
    }
}

fn weight(age: u32, r: &mut fastrand::Rng) -> Decimal {
    let kg = match age {
        0 => 3 + r.u32(0..6),
        1..=5 => 9 + r.u32(0..10),
        6..=14 => 20 + r.u32(0..30),
        _ => 42 + r.u32(0..40),
    };
    Decimal::new((kg * 100 + r.u32(0..100)) as i64, 2)
}

fn summarize_results(results: &[ParaclinicalResult]) -> String {
    let notable: Vec<String> = results
        .iter()
        .filter(|r| {
            matches!(r.ket_luan.as_deref(), Some("Cao" | "Thấp"))
                || (r.gia_tri.is_none() && r.ket_luan.is_some())
        })
        .take(5)
        .map(|r| {
            format!(
                "{}: {}",
                r.ten_chi_so.as_deref().unwrap_or_default(),
                r.gia_tri.clone().map_or_else(
                    || r.ket_luan.clone().unwrap_or_default(),
                    |v| format!("{v} {}", r.don_vi_do.as_deref().unwrap_or_default())
                        .trim_end()
                        .to_string()
                )
            )
        })
        .collect();
    if notable.is_empty() {
        "Các xét nghiệm trong giới hạn bình thường".to_string()
    } else {
        notable.join("; ")
    }
}
