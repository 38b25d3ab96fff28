//! One synthetic care episode: the dossier a facility would send, and its check-in.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};

use super::catalog::{
    BasicService, Catalog, Diagnosis, Direction, Dosing, Drug, FacilityRef, Indicator, Program,
    catalog,
};
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

/// The diagnosis of an episode: one that fits the person's age and sex.
fn diagnosis<'c>(c: &'c Catalog, r: &mut fastrand::Rng, age: u32, sex: &str) -> &'c Diagnosis {
    let fitting: Vec<&Diagnosis> = c
        .diagnoses
        .iter()
        .filter(|d| age >= d.min_age && age <= d.max_age && (d.sex.is_empty() || d.sex == sex))
        .collect();
    if fitting.is_empty() {
        &c.diagnoses[0]
    } else {
        fitting[r.usize(..fitting.len())]
    }
}

/// The care type: one the diagnosis names, or a rarer one derived from it — drug
/// pickup by appointment (07) from chronic care, a commune-station stay (06) from short
/// treatment, an inpatient stay under 4 hours (09), other cases (10). Surgery keeps its
/// inpatient stay and the special programmes their own care. No pickups under QĐ 130:
/// its sheet requires a service in every check-in and a pickup has none (the QĐ 4750
/// sheet made MA_DICH_VU required only without a drug or supply).
fn care_type(r: &mut fastrand::Rng, dx: &Diagnosis, surgical: bool, spec: Spec) -> &'static str {
    let plain = !surgical && dx.program == Program::None;
    match (*pick(r, &dx.care_types), r.u8(0..20)) {
        ("05", 0..=5) if spec != Spec::Qd130 => "07",
        ("02" | "04", 0..=4) if plain => "06",
        ("03", 0..=1) if plain => "09",
        ("01", 0) if plain => "10",
        (c, _) => c,
    }
}

/// A lab value: within the reference range, or out of it the way the diagnosis implies.
fn lab_value(r: &mut fastrand::Rng, ind: &Indicator, implied: Option<Direction>) -> Decimal {
    let (low, high) = (ind.low, ind.high);
    let span = high - low;
    let step = Decimal::new(1, ind.decimals);
    let round =
        |v: Decimal| v.round_dp_with_strategy(ind.decimals, RoundingStrategy::MidpointAwayFromZero);
    let frac = |r: &mut fastrand::Rng, a: u32, b: u32| Decimal::new(r.u32(a..=b) as i64, 3);
    match implied {
        // 10 % to 150 % of the range's width above its top.
        Some(Direction::High) => {
            let v = round(high + span * frac(r, 100, 1_500));
            if v <= high { high + step } else { v }
        }
        // 40 % to 90 % of the bottom of the range (never negative).
        Some(Direction::Low) => {
            let v = round(low * frac(r, 400, 900));
            if v >= low {
                (low - step).max(Decimal::ZERO)
            } else {
                v
            }
        }
        // Within the range, away from its edges.
        None => {
            let v = round(low + span * frac(r, 50, 950));
            v.clamp(low, high)
        }
    }
}

/// `[THANH_TIEN_BV, THANH_TIEN_BH, T_BNTT, T_BNCCT, T_BHTT]` of a line.
fn line_sums(v: [&Option<Decimal>; 5]) -> [Decimal; 5] {
    v.map(|x| x.unwrap_or(Decimal::ZERO))
}

pub(super) fn build(g: &Generator, p: &Person, i: usize) -> Episode {
    let cfg = &g.config;
    let c = catalog();
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
    // What: a diagnosis that fits age and sex; it drives everything below.
    let dx = diagnosis(c, &mut r, age, p.sex);
    let surgical_dx = dx.surgical(c);
    let care = care_type(&mut r, dx, surgical_dx, cfg.spec);
    // Where: mostly a facility of the person's province.
    let local: Vec<&'static FacilityRef> = c
        .facilities
        .iter()
        .filter(|f| f.code.starts_with(p.province.code))
        .collect();
    let facility: &'static FacilityRef = if !local.is_empty() && r.u8(0..10) < 8 {
        local[r.usize(..local.len())]
    } else {
        pick(&mut r, &c.facilities)
    };
    let ma_lk = format!("SYN{:X}{i:010}", cfg.seed);
    let doctor = format!("{:06}/{}-CCHN", 1000 + r.u32(0..9000), &facility.code[..2]);
    let head = format!(
        "{:010}",
        3_000_000_000u64 + facility.code.parse::<u64>().unwrap_or(0)
    );

    // Timeline by care type; an inpatient stay lasts what the diagnosis needs.
    let inpatient = matches!(care, "03" | "04" | "06" | "09");
    let (stay_min, stay_max) = dx.stay.unwrap_or((1, 3));
    let stay_days: i64 = match care {
        "03" => r.u32(stay_min..=stay_max) as i64,
        "04" | "06" => r.u32(1..=stay_max.min(3)) as i64,
        "02" => r.i64(3..8),
        "05" => 30,
        _ => 1,
    };
    let vao = dt(day, r.u32(7..17), r.u32(0..60));
    let ra = match care {
        "01" | "10" => vao + Duration::minutes(r.i64(30..200)),
        "09" => vao + Duration::minutes(r.i64(60..230)),
        "02" | "05" | "07" => dt(day + Duration::days(stay_days - 1), 23, 59),
        "08" => vao + Duration::hours(4),
        _ => dt(
            day + Duration::days(stay_days - 1),
            r.u32(8..12),
            r.u32(0..60),
        ),
    };
    // A one-day stay ends hours after it starts, whatever the clock said.
    let ra = if ra < vao + Duration::hours(4) && matches!(care, "02" | "03" | "04" | "06") {
        vao + Duration::hours(r.i64(4..8))
    } else {
        ra
    };
    let vao_noi_tru = inpatient.then(|| vao + Duration::minutes(r.i64(20..50)));
    let so_ngay = match care {
        "01" | "07" | "09" => 0,
        "05" => stay_days as u32,
        "08" => 1,
        _ => ((ra.date() - vao.date()).num_days() + 1) as u32,
    };
    // Orders fall within the stay.
    let within = |t: NaiveDateTime| t.clamp(vao, ra);

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
    // The department: the diagnosis's for a stay (children's medicine on paediatrics).
    let dept_code = if !inpatient {
        c.departments[0].code
    } else if age < 16 && !surgical_dx && dx.program != Program::Delivery {
        "K18"
    } else {
        dx.department
    };
    let dept = c.department(dept_code).unwrap_or(&c.departments[0]);

    // Outcome and discharge.
    // No one is referred from a drug pickup (07): nobody examined them.
    let referral = r.u8(0..100) < 8 && care != "07";
    let died = care == "03" && !matches!(dx.program, Program::Delivery) && r.u16(0..400) == 0;
    let outcome = if died {
        "5"
    } else if referral {
        "2"
    } else {
        ["1", "2", "2"][r.usize(..3)]
    };
    let discharge_type = if referral { "2" } else { "1" };
    let destination = referral.then(|| {
        c.facilities
            .iter()
            .find(|f| f.code != facility.code && f.code.starts_with(&facility.code[..2]))
            .unwrap_or(&c.facilities[0])
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
                       price: Decimal,
                       at: NaiveDateTime,
                       result_at: Option<NaiveDateTime>,
                       pttt: Option<&str>,
                       anaesthesia: &str| {
        stt3 += 1;
        let ratio_dv = Decimal::ONE_HUNDRED;
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
            ma_khoa: vec![dept.code.to_string()],
            ma_bac_si: vec![doctor.clone()],
            // The portal's sheet requires the disease each service was ordered for.
            ma_benh: vec![dx.icd10.to_string()],
            nguoi_thuc_hien: vec![doctor.clone()],
            ngay_yl: Some(within(at)),
            ngay_th_yl: Some(within(at + Duration::minutes(5))),
            ngay_kq: result_at,
            ma_pttt: s("1"),
            pp_vo_cam: (!anaesthesia.is_empty()).then(|| anaesthesia.to_string()),
            ..ServiceLine::default()
        });
    };
    // A drug pickup (07) is only that: no examination, test or procedure.
    let pickup = care == "07";
    // Procedures of the diagnosis that this care can give: surgery only on a stay.
    let procedures: Vec<usize> = dx
        .procedures
        .iter()
        .copied()
        .filter(|&pi| !c.procedures[pi].is_surgery() || (inpatient && care != "09"))
        .filter(|_| !pickup)
        .collect();
    let surgery = procedures.iter().any(|&pi| c.procedures[pi].is_surgery());
    // Examination or bed-days.
    let first_item: (String, String) = if pickup {
        // Drug pickup: no examination; the first cost item is the first drug.
        (String::new(), String::new())
    } else if inpatient {
        // A surgical stay takes the surgical bed.
        let bed_of = |code: &str| c.department(code).and_then(|d| d.bed);
        let bed: &BasicService = &c.beds[if surgery { bed_of("K19") } else { dept.bed }
            .or(bed_of("K03"))
            .unwrap_or(0)];
        let nights = Decimal::from(so_ngay.max(1));
        service(
            &mut d,
            bed.code,
            bed.name,
            if care == "04" { "14" } else { "15" },
            bed.unit,
            nights,
            bed.price,
            vao_noi_tru.unwrap_or(vao),
            None,
            None,
            "",
        );
        (bed.code.to_string(), bed.name.to_string())
    } else {
        // Children see the paediatrician; adults the clinic of the diagnosis.
        let specialty = if age < 16 {
            "paediatrics"
        } else {
            c.department(dx.department)
                .map_or("medicine", |d| d.specialty)
        };
        let exam = c
            .exams
            .iter()
            .find(|x| x.specialty == specialty)
            .or_else(|| c.exams.iter().find(|x| x.specialty == "medicine"))
            .unwrap_or(&c.exams[0]);
        service(
            &mut d,
            exam.code,
            exam.name,
            "13",
            exam.unit,
            Decimal::ONE,
            exam.price,
            vao,
            None,
            None,
            "",
        );
        (exam.code.to_string(), exam.name.to_string())
    };
    // Paraclinical tests and their results: the tests behind what the diagnosis implies
    // are always done; the others most of the time.
    let mut stt4 = 0u32;
    let tests: Vec<usize> = dx
        .tests
        .iter()
        .copied()
        .filter(|&t| {
            let test = &c.tests[t];
            let telling = dx.findings.iter().any(|(x, _)| *x == t)
                || test
                    .indicators
                    .iter()
                    .any(|ind| dx.implies(ind.code).is_some());
            let roll = r.u8(0..10) < 8;
            !pickup && (telling || roll)
        })
        .collect();
    for t in tests {
        let test = &c.tests[t];
        order_time += Duration::minutes(r.i64(5..30));
        let ordered = within(order_time);
        let result_at = within(ordered + Duration::minutes(r.i64(30..120)));
        service(
            &mut d,
            test.code,
            test.name,
            test.group,
            "Lần",
            Decimal::ONE,
            test.price,
            ordered,
            Some(result_at),
            None,
            "",
        );
        let reader = format!("{:010}", 2_000_000_000u64 + r.u64(0..999_999));
        if test.indicators.is_empty() {
            let finding = dx.finding(t);
            let report = test
                .report(finding)
                .or_else(|| test.report("normal"))
                .map_or(("", ""), |x| (x.description, x.conclusion));
            stt4 += 1;
            d.results.push(ParaclinicalResult {
                ma_lk: s(&ma_lk),
                stt: Some(stt4),
                ma_dich_vu: s(test.code),
                // One result without indicators: the service is its own index (the
                // QĐ 130 sheet requires MA_CHI_SO).
                ma_chi_so: s(test.code),
                ten_chi_so: s(test.name),
                mo_ta: s(report.0),
                ket_luan: s(report.1),
                ngay_kq: Some(result_at),
                ma_bs_doc_kq: s(&reader),
                ..ParaclinicalResult::default()
            });
        } else {
            for ind in &test.indicators {
                let value = lab_value(&mut r, ind, dx.implies(ind.code));
                let flag = if value > ind.high {
                    "Cao"
                } else if value < ind.low {
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
    // Procedures (MA_NHOM 18) and surgery (MA_NHOM 8), as the catalogue groups them.
    let mut pttt_codes = Vec::new();
    for &pi in &procedures {
        let proc = &c.procedures[pi];
        order_time += Duration::minutes(r.i64(30..240));
        let start = within(order_time);
        let end = within(start + Duration::minutes(r.i64(20..150)));
        service(
            &mut d,
            proc.code,
            proc.name,
            proc.group,
            "Lần",
            Decimal::ONE,
            proc.price,
            start,
            Some(end),
            Some(proc.icd9),
            proc.anaesthesia,
        );
        pttt_codes.push(proc.icd9.to_string());
    }
    let pp_dieu_tri = if surgery {
        "Phẫu thuật kết hợp điều trị nội khoa"
    } else if !pttt_codes.is_empty() {
        "Thủ thuật kết hợp điều trị nội khoa"
    } else {
        "Điều trị nội khoa"
    };

    // Medicines: the core treatment always, the rest most of the time. Quantities
    // follow the care: a stay is dosed for its days, a visit gives injections once and
    // prescribes oral drugs for home, chronic care for 30 days.
    let home_days: u32 = match care {
        "01" | "10" => r.u32(3..8),
        "05" | "07" => 30,
        "02" => so_ngay.max(1),
        _ => 1,
    };
    let stay_minutes = (ra - vao_noi_tru.unwrap_or(vao)).num_minutes().max(1);
    let mut picked: Vec<&Drug> = Vec::new();
    for &(di, core) in &dx.drugs {
        let drug = &c.drugs[di];
        let roll = r.u8(0..10) < 7;
        // Oxygen only on a stay.
        if drug.dosing == Dosing::Flow && !inpatient {
            continue;
        }
        if core || roll {
            picked.push(drug);
        }
    }
    let h = Decimal::ONE_HUNDRED;
    let mut arv_days = 0u32;
    for (k, drug) in picked.into_iter().enumerate() {
        let unit = drug.unit.to_lowercase();
        let (qty, lieu_dung) = match drug.dosing {
            Dosing::Flow => {
                // A flow for part of the stay: litres = L/min × minutes, never more
                // than the highest flow over the whole stay.
                let flow = r.u32(1..=drug.per_dose) as i64;
                let minutes = r.i64((stay_minutes / 3).max(1)..=stay_minutes);
                (
                    Decimal::from(flow * minutes),
                    format!("{flow} {unit}/phút * {minutes} phút"),
                )
            }
            // One pack for the course, dosed as the clinician sees fit.
            Dosing::Course => (
                Decimal::from(drug.per_dose),
                format!(
                    "{} {unit} cho cả đợt điều trị, liều theo chỉ định",
                    drug.per_dose
                ),
            ),
            Dosing::Daily => {
                let per_day = drug.per_dose * drug.doses_per_day;
                let days = match care {
                    // A stay: every day of it.
                    "03" | "04" | "06" => so_ngay.max(1),
                    // Under 4 hours, dialysis day: one day's doses at most.
                    "09" | "08" => 1,
                    // A visit: oral drugs for home, the rest given once here.
                    _ if drug.oral() => home_days,
                    _ => 0,
                };
                if days == 0 {
                    (
                        Decimal::from(drug.per_dose),
                        format!("{} {unit}/lần * 1 lần tại cơ sở", drug.per_dose),
                    )
                } else {
                    (
                        Decimal::from(per_day * days),
                        format!(
                            "{} {unit}/lần * {} lần/ngày * {days} ngày [{per_day} {unit}/ngày]",
                            drug.per_dose, drug.doses_per_day
                        ),
                    )
                }
            }
        };
        if drug.class == "arv" {
            arv_days = (qty / Decimal::from(drug.per_dose * drug.doses_per_day))
                .trunc()
                .try_into()
                .unwrap_or(0);
        }
        let price = drug.unit_price;
        let a = amounts(qty, price, h, ratio_bh, benefit);
        let at = within(vao + Duration::minutes(40 + k as i64 * 3));
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
            lieu_dung: s(lieu_dung),
            cach_dung: s(if drug.oral() {
                format!("{} sau ăn", drug.route_name)
            } else {
                format!("{} theo chỉ định của bác sĩ", drug.route_name)
            }),
            so_dang_ky: (!drug.registration.is_empty()).then(|| drug.registration.to_string()),
            tt_thau: s(format!("{}/QĐ-SYT;G1;N1;2025", 100 + k)),
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
            ma_khoa: vec![dept.code.to_string()],
            ma_bac_si: vec![doctor.clone()],
            ngay_yl: Some(at),
            ngay_th_yl: Some(within(at + Duration::minutes(10))),
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
            let feverish = k == 0 && dx.complaint.contains("Sốt");
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
                    if feverish {
                        ["38", "38.5", "39"][r.usize(..3)]
                    } else {
                        ["36.6", "36.8", "37", "37.2"][r.usize(..4)]
                    },
                    r.u32(100..150),
                    r.u32(60..95),
                    r.u32(16..24)
                )),
                thoi_diem_dbls: Some(at),
                nguoi_thuc_hien: vec![doctor.clone()],
                // Only surgery is written up as an operation (not a nebulisation), on
                // the day after admission (the same day for a one-day stay).
                phau_thuat: (k == (notes - 1).min(1) && surgery)
                    .then(|| "Phẫu thuật theo chỉ định, diễn biến sau mổ thuận lợi".to_string()),
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
    let delivery = dx.program == Program::Delivery && inpatient;
    let newborn_weights: Vec<Decimal> = if delivery {
        vec![Decimal::from(2_600 + r.u32(0..1_400))]
    } else {
        Vec::new()
    };

    // Totals (§4.16): the sums of the lines.
    let lines: Vec<[Decimal; 5]> = d
        .drugs
        .iter()
        .map(|l| {
            line_sums([
                &l.thanh_tien_bv,
                &l.thanh_tien_bh,
                &l.t_bntt,
                &l.t_bncct,
                &l.t_bhtt,
            ])
        })
        .chain(d.services.iter().map(|l| {
            line_sums([
                &l.thanh_tien_bv,
                &l.thanh_tien_bh,
                &l.t_bntt,
                &l.t_bncct,
                &l.t_bhtt,
            ])
        }))
        .collect();
    let sum = |k: usize| lines.iter().map(|l| l[k]).sum::<Decimal>();
    let z = Decimal::ZERO;
    let t_thuoc: Decimal = d.drugs.iter().map(|l| l.thanh_tien_bv.unwrap_or(z)).sum();
    let (t_bv, t_bh, t_bntt, t_bncct) = (sum(0), sum(1), sum(2), sum(3));
    // Every line is fee-for-service (MA_PTTT 1).
    let t_bhtt_gdv = sum(4);

    let card_numbers: Vec<String> = cards.iter().map(|c| c.number.clone()).collect();
    let year_from = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    let year_to = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), 12, 31).unwrap_or(d);
    // Re-examination: chronic care and the HIV/TB programmes always come back.
    let programme = matches!(dx.program, Program::Hiv | Program::HivTb | Program::Tb);
    let appointment = !died
        && !referral
        && (matches!(care, "05" | "07") && programme
            || matches!(care, "01" | "03" | "05") && r.u8(0..10) < 4);
    let reexam = appointment.then(|| {
        if programme {
            ra.date() + Duration::days(30)
        } else {
            ra.date() + Duration::days(r.i64(7..31))
        }
    });
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
        pp_dieu_tri: s(pp_dieu_tri),
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
        ma_khoa: vec![dept.code.to_string()],
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
    let signer = format!("BS. {}", pick(&mut r, &c.given_female));
    if inpatient && !died {
        d.discharge = Some(DischargePaper {
            ma_lk: s(&ma_lk),
            so_luu_tru: s(format!("LT{:08}", i)),
            ma_yte: summary.ma_bn.clone(),
            ma_khoa_rv: s(dept.code),
            ngay_vao: Some(vao),
            ngay_ra: Some(ra),
            chan_doan_rv: s(main_name),
            pp_dieutri: summary.pp_dieu_tri.clone(),
            ghi_chu: s("Ra viện, tiếp tục điều trị ngoại trú theo đơn"),
            ma_ttdv: s(&head),
            ma_bs: s(&doctor),
            ten_bs: s(&signer),
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
    // HIV care (XML6): an ARV visit; TB/HIV patients are on TB treatment too, the
    // others completed TB preventive therapy. Regimen codes follow each decree's list.
    if matches!(dx.program, Program::Hiv | Program::HivTb) {
        let tb = dx.program == Program::HivTb;
        let diagnosed = vao.date() - Duration::days(r.i64(400..3_000));
        let arv_start = diagnosed + Duration::days(r.i64(7..60));
        // Switched to TLD (tenofovir, lamivudine, dolutegravir) under the new guideline.
        let switched =
            arv_start + Duration::days(r.i64(180..((vao.date() - arv_start).num_days().max(181))));
        let (tb_start, tb_end, tb_regimen, tb_result) = if tb {
            let start = vao.date() - Duration::days(r.i64(14..150));
            // 2HRZE/4RHE (QĐ 130 code 1; the common code A1 is 1 too).
            (start, start + Duration::days(180), "1", "1")
        } else {
            // Latent TB: 3HP (QĐ 130 code 7; the common code set's 22), completed.
            let start = arv_start + Duration::days(30);
            let code = if cfg.spec == Spec::Qd130 { "7" } else { "22" };
            (start, start + Duration::days(90), code, "2")
        };
        let ctx = d.drugs.iter().any(|l| {
            l.ten_thuoc
                .as_deref()
                .is_some_and(|n| n.contains("Trimethoprim"))
        });
        d.hiv_care.push(HivCare {
            ma_lk: s(&ma_lk),
            ma_the_bhyt: card_numbers.clone(),
            so_cccd: p.personal_id.clone(),
            ngay_sinh: Some(p.birth),
            gioi_tinh: s(p.sex),
            dia_chi: s(&p.address),
            matinh_cu_tru: s(p.province.code),
            mahuyen_cu_tru: s(p.district.code),
            maxa_cu_tru: s(p.commune.0),
            ngaykd_hiv: Some(diagnosed),
            noi_lay_mau_xn: s(facility.code),
            noi_xn_kd: s(facility.code),
            noi_bddt_arv: s(facility.code),
            bddt_arv: Some(arv_start),
            ma_phac_do_dieu_tri_bd: s("TDF+3TC+EFV"),
            ma_lydo_dtri: s("1"),
            loai_dtri_lao: s(if tb { "2" } else { "1" }),
            sang_loc_lao: s(if tb { "3" } else { "2" }),
            phacdo_dtri_lao: s(tb_regimen),
            ngaybd_dtri_lao: Some(tb_start),
            ngaykt_dtri_lao: Some(tb_end),
            kq_dtri_lao: s(tb_result),
            ma_loai_bn: s("1"),
            giai_doan_lam_sang: s(if tb { "3" } else { ["1", "2"][r.usize(..2)] }),
            nhom_doi_tuong: s(if tb {
                "8"
            } else {
                ["0", "1", "2", "4", "5", "11"][r.usize(..6)]
            }),
            ma_tinh_trang_dk: s(if tb { "3" } else { "9" }),
            ngay_bat_dau_dt_ctx: ctx.then_some(arv_start),
            ma_xu_tri: vec!["1".into()],
            ngay_bat_dau_xu_tri: Some(vao.date()),
            ngay_ket_thuc_xu_tri: Some(vao.date() + Duration::days(arv_days.max(1) as i64)),
            ma_phac_do_dieu_tri: s("TDF+3TC+DTG"),
            so_ngay_cap_thuoc_arv: Some(arv_days),
            ngay_chuyen_phac_do: Some(switched.min(vao.date())),
            ly_do_chuyen_phac_do: s("5"),
            ma_cskcb: s(facility.code),
            ..HivCare::default()
        });
        // TB treatment (XML15; the writer leaves it out under QĐ 130): drug-sensitive
        // pulmonary TB, new,
        // HIV-positive, confirmed by smear, on treatment (not yet evaluated).
        if tb {
            d.tb_treatment.push(TbTreatment {
                ma_lk: s(&ma_lk),
                stt: Some(1),
                ma_bn: summary.ma_bn.clone(),
                ho_ten: s(&p.name),
                so_cccd: p.personal_id.clone(),
                phanloai_lao_vitri: s("1"),
                phanloai_lao_ts: s("1"),
                phanloai_lao_hiv: s("1"),
                phanloai_lao_vk: s("1"),
                // The decree lists only resistance classes (1–6) yet requires the
                // field; "0" (none, as in LOAI_DTRI_LAO) for drug-sensitive TB.
                phanloai_lao_kt: s("0"),
                loai_dtri_lao: s("2"),
                ngaybd_dtri_lao: Some(tb_start),
                phacdo_dtri_lao: s(tb_regimen),
                ngaykt_dtri_lao: Some(tb_end),
                ket_qua_dtri_lao: s("6"),
                ma_cskcb: s(facility.code),
                ngaykd_hiv: Some(diagnosed),
                bddt_arv: Some(arv_start),
                ngay_bat_dau_dt_ctx: Some(arv_start),
                ..TbTreatment::default()
            });
        }
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
            ngay_sinh_con: Some(within(vao + Duration::hours(r.i64(2..12)))),
            noi_sinh_con: s(facility.name),
            tinh_trang_con: s("Khỏe mạnh"),
            sinhcon_phauthuat: s(if surgery { "1" } else { "0" }),
            sinhcon_duoi32tuan: s("0"),
            ghi_chu: s("Không"),
            nguoi_do_de: s(format!("NHS. {}", pick(&mut r, &c.given_female))),
            nguoi_ghi_phieu: s(format!("NHS. {}", pick(&mut r, &c.given_female))),
            ngay_ct: Some(ngay_ct),
            so: s(format!("{:06}", i % 1_000_000)),
            quyen_so: s(format!("{:02}", ra.year() % 100)),
            ma_ttdv: s(&head),
            ..BirthCertificate::default()
        });
    }
    // Leave papers go to insured employees (not minors, not the jobless).
    let employee = insured && (18..60).contains(&age) && p.job != c.jobs[0].0;
    let employer = "Công ty TNHH Mẫu Tổng Hợp";
    // Pregnancy rest (XML10): a threatened miscarriage seen at a visit; the rest starts
    // on the day of the examination.
    if dx.program == Program::Antenatal && employee && !inpatient && !died {
        let n = r.i64(7..31);
        let from = vao.date();
        d.antenatal_rest = Some(AntenatalRest {
            ma_lk: s(&ma_lk),
            so_seri: s(format!("DT{:08}", i)),
            so_ct: s(format!("NDT{:08}", i)),
            so_ngay: Some(n as u32),
            don_vi: s(employer),
            chan_doan_rv: s(format!("{main_name}; cần nghỉ dưỡng thai")),
            tu_ngay: Some(from),
            den_ngay: Some(from + Duration::days(n)),
            ma_ttdv: s(&head),
            ten_bs: s(&signer),
            ma_bs: s(&doctor),
            ngay_ct: Some(ngay_ct),
            ..AntenatalRest::default()
        });
    }
    // Sick leave (XML11, form CT07): after a stay, from the day after discharge; after
    // a visit, from its day; never longer than the diagnosis warrants.
    let leave_chance = if inpatient { 2 } else { 4 };
    if dx.sick_leave > 0
        && employee
        && !died
        && d.antenatal_rest.is_none()
        && matches!(care, "01" | "02" | "03" | "04" | "09")
        && r.u8(0..leave_chance) == 0
    {
        let from = if inpatient {
            ra.date() + Duration::days(1)
        } else {
            vao.date()
        };
        let n = r.u32(1..=dx.sick_leave) as i64;
        d.sick_leave = Some(SickLeave {
            ma_lk: s(&ma_lk),
            so_ct: s(format!("NV{:08}", i)),
            so_seri: s(format!("CT07-{:08}", i)),
            so_kcb: summary.ma_hsba.clone(),
            don_vi: s(employer),
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
