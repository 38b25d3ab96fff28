//! The schedules against hand-worked cases: each rule set version, a child born the
//! day before and the day a change took effect, the women's tetanus doses, duplicates,
//! "fully immunised at 12 months" and QĐ 831 part C.

use book::ehr::{Examination, HealthRecord};
use book::episode::{Birth, Diagnosis, EpisodeView};
use book::immunization::{
    Dose, DoseStatus, Forecast, GRACE_DAYS, PregnancyCode, PregnancySource, Reason, Status,
    Subject, Validity, forecast, fully_immunised, part_c, pregnancy_code, pregnancy_sign,
};
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn child(birth: &str) -> Subject {
    Subject {
        birth: d(birth),
        female: false,
        pregnant: false,
    }
}

fn girl(birth: &str) -> Subject {
    Subject {
        female: true,
        ..child(birth)
    }
}

fn given(id: i64, vaccine: &str, day: &str) -> Dose {
    Dose {
        id,
        vaccine: vaccine.into(),
        date: d(day),
        status: DoseStatus::Given,
        dose_number: None,
    }
}

/// (status, due_from, overdue_after) of an item.
fn item(f: &Forecast, key: &str) -> (Status, Option<NaiveDate>, Option<NaiveDate>) {
    let i = f
        .items
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no item {key} in {}", f.rule_set));
    (i.status, i.due_from, i.overdue_after)
}

fn has(f: &Forecast, key: &str) -> bool {
    f.items.iter().any(|i| i.key == key)
}

#[test]
fn tt38_child_at_four_and_a_half_months() {
    // Born 15/03/2023: TT 38/2017. HepB and BCG at birth, DPT-VGB-Hib 1 + OPV 1 at two
    // months (15/05). DPT-VGB-Hib 2 is due from max(15/05 + 1 month, birth + 3 months)
    // = 15/06, overdue after 15/07; on 01/08 it is overdue. Dose 3 waits (upcoming,
    // estimated 15/07). IPV at 5 months: 15/08, upcoming.
    let doses = [
        given(1, "hepb_birth", "2023-03-15"),
        given(2, "bcg", "2023-03-20"),
        given(3, "dtp_hepb_hib", "2023-05-15"),
        given(4, "opv", "2023-05-15"),
    ];
    let f = forecast(&child("2023-03-15"), &doses, d("2023-08-01"));
    assert_eq!(f.rule_set, "tt38-2017");
    assert_eq!(item(&f, "hepb0").0, Status::Done);
    assert_eq!(item(&f, "bcg").0, Status::Done);
    assert_eq!(item(&f, "dtp1").0, Status::Done);
    assert_eq!(
        item(&f, "dtp2"),
        (
            Status::Overdue,
            Some(d("2023-06-15")),
            Some(d("2023-07-15"))
        )
    );
    assert_eq!(
        item(&f, "dtp3"),
        (
            Status::Upcoming,
            Some(d("2023-07-15")),
            Some(d("2023-08-15"))
        )
    );
    assert_eq!(item(&f, "opv2").0, Status::Overdue);
    assert_eq!(
        item(&f, "ipv1"),
        (
            Status::Upcoming,
            Some(d("2023-08-15")),
            Some(d("2023-09-15"))
        )
    );
    assert!(!has(&f, "td7"), "no Td at 7 years before TT 10/2024");
    assert_eq!(f.next().unwrap().key, "dtp2");
}

#[test]
fn tt10_2024_adds_td_at_seven_for_children_born_from_its_day() {
    let before = forecast(&child("2024-06-30"), &[], d("2024-07-10"));
    assert_eq!(before.rule_set, "tt38-2017");
    assert!(!has(&before, "td7"));
    let after = forecast(&child("2024-07-01"), &[], d("2024-07-10"));
    assert_eq!(after.rule_set, "tt10-2024");
    assert_eq!(
        item(&after, "td7"),
        (
            Status::Upcoming,
            Some(d("2031-07-01")),
            Some(d("2032-07-01"))
        )
    );
    // Nine days old, nothing given: the birth dose of HepB is past its 7 days; BCG is
    // due (from birth, overdue after a month).
    assert_eq!(item(&after, "hepb0").0, Status::NotApplicable);
    assert_eq!(
        item(&after, "bcg"),
        (Status::Due, Some(d("2024-07-01")), Some(d("2024-08-01")))
    );
}

#[test]
fn tt52_2025_adds_rota_and_pcv_for_children_born_from_15_february_2026() {
    let before = forecast(&child("2026-02-14"), &[], d("2026-05-20"));
    assert_eq!(before.rule_set, "tt10-2024");
    assert!(!has(&before, "rota1") && !has(&before, "pcv1"));
    // Born 15/02/2026, nothing given by 20/05: BCG overdue (due 15/02, grace to 15/03),
    // DPT-VGB-Hib 1 and Rota 1 overdue (due 15/04, grace to 15/05), PCV 1 likewise;
    // PCV 2 waits for PCV 1: estimated max(15/04 + 2 months, birth + 4 months) = 15/06.
    let f = forecast(&child("2026-02-15"), &[], d("2026-05-20"));
    assert_eq!(f.rule_set, "tt52-2025");
    assert_eq!(f.reference, "TT 52/2025/TT-BYT");
    assert_eq!(item(&f, "bcg").0, Status::Overdue);
    assert_eq!(
        item(&f, "rota1"),
        (
            Status::Overdue,
            Some(d("2026-04-15")),
            Some(d("2026-05-15"))
        )
    );
    assert_eq!(item(&f, "pcv1").0, Status::Overdue);
    assert_eq!(
        item(&f, "pcv2"),
        (
            Status::Upcoming,
            Some(d("2026-06-15")),
            Some(d("2026-07-15"))
        )
    );
    // Past eight months without a dose, rota is no longer given.
    let late = forecast(&child("2026-02-15"), &[], d("2026-10-20"));
    let rota = late.items.iter().find(|i| i.key == "rota1").unwrap();
    assert_eq!(
        (rota.status, rota.reason),
        (Status::NotApplicable, Some(Reason::PastAge))
    );
    // PCV 1 given on 20/04: PCV 2 two months later, due 20/06.
    let f = forecast(
        &child("2026-02-15"),
        &[given(1, "pcv", "2026-04-20")],
        d("2026-06-21"),
    );
    assert_eq!(item(&f, "pcv1").0, Status::Done);
    assert_eq!(
        item(&f, "pcv2"),
        (Status::Due, Some(d("2026-06-20")), Some(d("2026-07-20")))
    );
}

#[test]
fn tt13_2026_adds_hpv_for_girls_born_from_1_july_2026() {
    let before = forecast(&girl("2026-06-30"), &[], d("2026-07-05"));
    assert_eq!(before.rule_set, "tt52-2025");
    assert!(!has(&before, "hpv1"));
    let f = forecast(&girl("2026-07-01"), &[], d("2026-07-05"));
    assert_eq!(f.rule_set, "tt13-2026");
    assert_eq!(
        item(&f, "hpv1"),
        (
            Status::Upcoming,
            Some(d("2037-07-01")),
            Some(d("2038-07-01"))
        )
    );
    let boy = forecast(&child("2026-07-01"), &[], d("2026-07-05"));
    let hpv = boy.items.iter().find(|i| i.key == "hpv1").unwrap();
    assert_eq!(
        (hpv.status, hpv.reason),
        (Status::NotApplicable, Some(Reason::Sex))
    );
}

#[test]
fn children_born_before_the_first_set_take_it() {
    assert_eq!(
        forecast(&child("2015-05-05"), &[], d("2016-01-01")).rule_set,
        "tt38-2017"
    );
}

#[test]
fn women_tetanus_by_pregnancy_and_intervals() {
    // 31 years old, not pregnant, no dose: the first dose waits for a pregnancy.
    let woman = girl("1995-01-01");
    let f = forecast(&woman, &[], d("2026-12-07"));
    assert_eq!(f.women_set, Some("uv-2024"));
    let uv1 = f.items.iter().find(|i| i.key == "uv1").unwrap();
    assert_eq!(
        (uv1.status, uv1.reason),
        (Status::NotApplicable, Some(Reason::NotPregnant))
    );
    assert!(f.open().next().is_none());
    // Pregnant: UV1 due today, UV2 a month later.
    let pregnant = Subject {
        pregnant: true,
        ..woman
    };
    let f = forecast(&pregnant, &[], d("2026-12-07"));
    assert_eq!(
        item(&f, "uv1"),
        (Status::Due, Some(d("2026-12-07")), Some(d("2027-01-07")))
    );
    assert_eq!(item(&f, "uv2").1, Some(d("2027-01-07")));
    // UV1 on 10/01/2026 (a Td): UV2 was due from 10/02, overdue after 10/03; UV3 six
    // months after UV2's day.
    let f = forecast(&woman, &[given(1, "td", "2026-01-10")], d("2026-12-07"));
    assert_eq!(item(&f, "uv1").0, Status::Done);
    assert_eq!(
        item(&f, "uv2"),
        (
            Status::Overdue,
            Some(d("2026-02-10")),
            Some(d("2026-03-10"))
        )
    );
    assert_eq!(
        item(&f, "uv3"),
        (
            Status::Upcoming,
            Some(d("2026-08-10")),
            Some(d("2026-09-10"))
        )
    );
    // Before the set of TT 10/2024, the set of TT 38/2017; past 35 none.
    assert_eq!(
        forecast(&woman, &[], d("2023-01-01")).women_set,
        Some("uv-2018")
    );
    assert_eq!(
        forecast(&girl("1980-01-01"), &[], d("2026-12-07")).women_set,
        None
    );
    assert_eq!(
        forecast(&child("1995-01-01"), &[], d("2026-12-07")).women_set,
        None
    );
}

#[test]
fn duplicates_from_two_sources_count_once() {
    // The station and the national import both recorded DPT-VGB-Hib 1 (a day apart):
    // it fills dose 1 only; dose 2 is still due.
    let doses = [
        given(1, "dtp_hepb_hib", "2023-03-10"),
        given(2, "dtp_hepb_hib", "2023-03-11"),
    ];
    let f = forecast(&child("2023-01-10"), &doses, d("2023-04-15"));
    assert_eq!(f.duplicates, vec![(2, 1)]);
    assert_eq!(item(&f, "dtp1").0, Status::Done);
    assert_eq!(
        item(&f, "dtp2"),
        (Status::Due, Some(d("2023-04-10")), Some(d("2023-05-10")))
    );
}

#[test]
fn refused_and_contraindicated_doses_fill_nothing() {
    let refused = Dose {
        status: DoseStatus::Refused,
        ..given(1, "bcg", "2023-01-11")
    };
    let f = forecast(&child("2023-01-10"), &[refused], d("2023-01-20"));
    let bcg = f.items.iter().find(|i| i.key == "bcg").unwrap();
    assert_eq!(bcg.status, Status::Due);
    assert_eq!(
        bcg.last_attempt,
        Some((DoseStatus::Refused, d("2023-01-11")))
    );
    let contra = Dose {
        status: DoseStatus::Contraindicated,
        ..given(1, "bcg", "2023-01-11")
    };
    let f = forecast(&child("2023-01-10"), &[contra], d("2023-01-20"));
    let bcg = f.items.iter().find(|i| i.key == "bcg").unwrap();
    assert_eq!(
        (bcg.status, bcg.reason),
        (Status::NotApplicable, Some(Reason::Contraindicated))
    );
}

#[test]
fn fully_immunised_at_twelve_months() {
    let mut doses = vec![
        given(1, "bcg", "2023-01-11"),
        given(2, "dtp_hepb_hib", "2023-03-10"),
        given(3, "dtp_hepb_hib", "2023-04-10"),
        given(4, "dtp_hepb_hib", "2023-05-10"),
        given(5, "opv", "2023-03-10"),
        given(6, "opv", "2023-04-10"),
        given(7, "opv", "2023-05-10"),
    ];
    let s = child("2023-01-10");
    let f = fully_immunised(&s, &doses);
    assert!(!f.complete);
    assert_eq!(f.missing, vec![("measles", 0, 1)]);
    // Measles on the first birthday is too late for "at 12 months".
    doses.push(given(8, "measles", "2024-01-10"));
    assert!(!fully_immunised(&s, &doses).complete);
    doses.pop();
    doses.push(given(8, "measles", "2023-10-10"));
    let f = fully_immunised(&s, &doses);
    assert!(f.complete, "{f:?}");
    assert_eq!(f.on, Some(d("2023-10-10")));
    // Born under TT 10/2024 the definition holds IPV too.
    let later = child("2024-08-01");
    let shifted: Vec<Dose> = doses
        .iter()
        .map(|x| Dose {
            date: x.date + chrono::Days::new(569),
            ..x.clone()
        })
        .collect();
    let f = fully_immunised(&later, &shifted);
    assert_eq!(f.missing, vec![("ipv", 0, 1)]);
}

#[test]
fn part_c_from_the_doses() {
    let doses = [
        given(1, "bcg", "2023-01-11"),
        given(2, "dtp_hepb_hib", "2023-03-10"),
        given(3, "dtp_hepb_hib", "2023-03-11"), // a duplicate: once
        given(4, "dtp_hepb_hib", "2023-04-10"),
        given(5, "mr", "2024-07-10"),
        given(6, "measles", "2023-10-10"),
    ];
    let c = part_c(&child("2023-01-10"), &doses);
    assert_eq!(c.get("c.bcg.date").map(String::as_str), Some("2023-01-11"));
    assert_eq!(
        c.get("c.dpt_hepb_hib1.date").map(String::as_str),
        Some("2023-03-10")
    );
    assert_eq!(
        c.get("c.dpt_hepb_hib2.date").map(String::as_str),
        Some("2023-04-10")
    );
    assert_eq!(
        c.get("c.measles1.date").map(String::as_str),
        Some("2023-10-10")
    );
    assert_eq!(
        c.get("c.measles2.date").map(String::as_str),
        Some("2024-07-10")
    );
    assert!(!c.contains_key("c.dpt_hepb_hib3.date"));
}

#[test]
fn a_dose_sooner_than_the_interval_does_not_count() {
    // Born 15/03/2023 (TT 38/2017). DPT-VGB-Hib 1 on 15/05 (2 months). Dose 2 needs
    // 3 months of age (15/06) and 1 month after dose 1 (15/06): with the 4-day grace it
    // counts from 11/06. Given on 05/06 (10 days early) it does not count: listed as
    // "invalid: too early", and dose 2 is still due from 15/06, overdue after 15/07.
    assert_eq!(GRACE_DAYS, 4);
    let birth = child("2023-03-15");
    let early = [
        given(1, "dtp_hepb_hib", "2023-05-15"),
        given(2, "dtp_hepb_hib", "2023-06-05"),
    ];
    let f = forecast(&birth, &early, d("2023-07-01"));
    assert_eq!(item(&f, "dtp1").0, Status::Done);
    assert_eq!(
        item(&f, "dtp2"),
        (Status::Due, Some(d("2023-06-15")), Some(d("2023-07-15")))
    );
    // Dose 3 waits behind dose 2: estimated 15/07 (1 month after 15/06, and 4 months).
    assert_eq!(
        item(&f, "dtp3"),
        (
            Status::Upcoming,
            Some(d("2023-07-15")),
            Some(d("2023-08-15"))
        )
    );
    assert_eq!(f.invalid.len(), 1);
    let bad = &f.invalid[0];
    assert_eq!(
        (bad.dose_id, bad.key, bad.date, bad.valid_from),
        (2, "dtp2", d("2023-06-05"), d("2023-06-11"))
    );
    assert_eq!(bad.reason, Validity::TooEarly);
    assert_eq!(bad.reason.code(), "invalid_too_early");
    assert_eq!(bad.reason.label(), "Không hợp lệ: tiêm quá sớm");
    let dtp2 = f.items.iter().find(|i| i.key == "dtp2").unwrap();
    assert_eq!(dtp2.invalid, vec![(2, d("2023-06-05"))]);
    assert_eq!(dtp2.given, None);
    // Overdue the day after 15/07.
    assert_eq!(
        item(&forecast(&birth, &early, d("2023-07-16")), "dtp2").0,
        Status::Overdue
    );

    // The grace: on 11/06 (4 days early) the dose counts; on 10/06 (5 days) it does not.
    let on_11 = [
        given(1, "dtp_hepb_hib", "2023-05-15"),
        given(2, "dtp_hepb_hib", "2023-06-11"),
    ];
    let f = forecast(&birth, &on_11, d("2023-07-01"));
    assert_eq!(item(&f, "dtp2").0, Status::Done);
    assert!(f.invalid.is_empty());
    let on_10 = [
        given(1, "dtp_hepb_hib", "2023-05-15"),
        given(2, "dtp_hepb_hib", "2023-06-10"),
    ];
    let f = forecast(&birth, &on_10, d("2023-07-01"));
    assert_eq!(item(&f, "dtp2").0, Status::Due);
    assert_eq!(f.invalid[0].dose_id, 2);

    // The repeat on 20/06 fills dose 2; dose 3 then runs from it: max(20/06 + 1 month,
    // 4 months = 15/07) = 20/07, due on 25/07, overdue after 20/08.
    let repeated = [
        given(1, "dtp_hepb_hib", "2023-05-15"),
        given(2, "dtp_hepb_hib", "2023-06-05"),
        given(3, "dtp_hepb_hib", "2023-06-20"),
    ];
    let f = forecast(&birth, &repeated, d("2023-07-25"));
    let dtp2 = f.items.iter().find(|i| i.key == "dtp2").unwrap();
    assert_eq!(
        (dtp2.status, dtp2.given),
        (Status::Done, Some((3, d("2023-06-20"))))
    );
    assert_eq!(
        item(&f, "dtp3"),
        (Status::Due, Some(d("2023-07-20")), Some(d("2023-08-20")))
    );
    assert_eq!(f.invalid.len(), 1);
}

#[test]
fn a_dose_before_the_minimum_age_does_not_count() {
    // Born 15/03/2023 (TT 38/2017). Measles 1 from 9 months (15/12/2023; counts from
    // 11/12 with the grace). An MR dose at 8 months (15/11) counts neither for measles 1
    // nor for the MR item at 18 months: measles 1 stays due, overdue after 15/01/2024,
    // and the child is not fully immunised at 12 months for measles.
    let birth = child("2023-03-15");
    let early = [given(7, "mr", "2023-11-15")];
    let f = forecast(&birth, &early, d("2024-01-10"));
    assert_eq!(
        item(&f, "measles1"),
        (Status::Due, Some(d("2023-12-15")), Some(d("2024-01-15")))
    );
    assert_eq!(item(&f, "mr").0, Status::Upcoming);
    assert_eq!(
        f.invalid
            .iter()
            .map(|i| (i.dose_id, i.key, i.valid_from))
            .collect::<Vec<_>>(),
        vec![(7, "measles1", d("2023-12-11"))]
    );
    assert!(f.full_at_12m.missing.contains(&("measles", 0, 1)));
    // Not in part C either (the book's dates are of doses that count).
    assert!(!part_c(&birth, &early).contains_key("c.measles1.date"));

    // A measles dose on 12/12 (3 days before 9 months: within the grace) counts; the
    // early MR dose stays invalid. MR at 18 months (15/09/2024) is upcoming.
    let both = [
        given(7, "mr", "2023-11-15"),
        given(8, "measles", "2023-12-12"),
    ];
    let f = forecast(&birth, &both, d("2024-01-10"));
    let m1 = f.items.iter().find(|i| i.key == "measles1").unwrap();
    assert_eq!(
        (m1.status, m1.given, m1.invalid.clone()),
        (
            Status::Done,
            Some((8, d("2023-12-12"))),
            vec![(7, d("2023-11-15"))]
        )
    );
    assert_eq!(
        item(&f, "mr"),
        (
            Status::Upcoming,
            Some(d("2024-09-15")),
            Some(d("2024-10-15"))
        )
    );
    assert_eq!(f.invalid.len(), 1);
}

fn exam(date: &str, icd: &str) -> Examination {
    Examination {
        number: 1,
        date: date.into(),
        by: "tram".into(),
        unit: None,
        items: [("icd".to_string(), icd.to_string())].into(),
    }
}

fn visit(admitted: &str, main: &str, secondary: &[&str]) -> EpisodeView {
    let dx = |c: &str| Diagnosis {
        icd10: c.into(),
        name: None,
    };
    EpisodeView {
        admitted: Some(d(admitted).and_hms_opt(8, 0, 0).unwrap()),
        main_diagnosis: Some(dx(main)),
        secondary_diagnoses: secondary.iter().map(|c| dx(c)).collect(),
        ..EpisodeView::default()
    }
}

#[test]
fn pregnancy_codes() {
    use PregnancyCode::{Ended, Ongoing};
    for (code, want) in [
        ("Z34.0", Some(Ongoing)),
        ("z36", Some(Ongoing)),
        ("O24.4", Some(Ongoing)),
        ("O09", Some(Ongoing)),
        ("O99.0", Some(Ongoing)),
        ("O03.9", Some(Ended)),
        ("O80", Some(Ended)),
        ("O86.0", Some(Ended)),
        ("Z37.0", Some(Ended)),
        ("Z39.2", Some(Ended)),
        ("Z30.0", None),
        ("I10", None),
        ("O", None),
    ] {
        assert_eq!(pregnancy_code(code), want, "{code}");
    }
}

#[test]
fn pregnancy_from_the_record_and_the_dossiers() {
    let today = d("2026-12-07");
    // Nothing in the book: not pregnant.
    assert_eq!(pregnancy_sign(None, &[], today), None);
    // A QĐ 831 examination on 01/10/2026 coded Z34 (supervision of a normal pregnancy).
    let record = HealthRecord {
        exams: vec![exam("2026-06-01", "I10"), exam("2026-10-01", "Z34.0;J06")],
        ..HealthRecord::default()
    };
    let sign = pregnancy_sign(Some(&record), &[], today).unwrap();
    assert_eq!(
        (sign.day, sign.source, sign.code.as_str()),
        (d("2026-10-01"), PregnancySource::Examination, "Z34.0")
    );
    // A hospital visit on 20/11 with gestational diabetes (secondary O24.4) is newer.
    let anc = visit("2026-11-20", "E11", &["O24.4"]);
    let sign = pregnancy_sign(Some(&record), [&anc], today).unwrap();
    assert_eq!(
        (sign.day, sign.source, sign.code.as_str()),
        (d("2026-11-20"), PregnancySource::Dossier, "O24.4")
    );
    // The window: 280 days. A Z34 visit on 02/03/2026 (280 days before) counts; one on
    // 01/03 (281 days) does not.
    assert!(pregnancy_sign(None, [&visit("2026-03-02", "Z34", &[])], today).is_some());
    assert!(pregnancy_sign(None, [&visit("2026-03-01", "Z34", &[])], today).is_none());
    // A day after today is ignored.
    assert!(pregnancy_sign(None, [&visit("2026-12-08", "Z34", &[])], today).is_none());
    // A delivery (O80) on 25/11 ends it; so does a miscarriage (O03) or a birth
    // certificate; an end on the same day as the sign wins (a delivery episode also
    // coded O24.4).
    let delivery = visit("2026-11-25", "O80", &[]);
    assert_eq!(
        pregnancy_sign(Some(&record), [&anc, &delivery], today),
        None
    );
    let miscarriage = visit("2026-11-25", "O03.9", &[]);
    assert_eq!(
        pregnancy_sign(Some(&record), [&anc, &miscarriage], today),
        None
    );
    let mut born = visit("2026-11-25", "P07.3", &[]);
    born.births = vec![Birth {
        born: Some(d("2026-11-26").and_hms_opt(3, 0, 0).unwrap()),
        ..Birth::default()
    }];
    assert_eq!(pregnancy_sign(Some(&record), [&anc, &born], today), None);
    assert_eq!(
        pregnancy_sign(None, [&visit("2026-11-20", "O80", &["O24.4"])], today),
        None
    );
    // A new pregnancy after an old delivery: the delivery of 2026-03-10 does not end
    // the Z34 of 01/10.
    let old = visit("2026-03-10", "O80", &[]);
    assert!(pregnancy_sign(Some(&record), [&old], today).is_some());
}

#[test]
fn pregnancy_makes_the_first_tetanus_dose_due() {
    // A woman of 31 whose record shows an antenatal examination (Z34) on 01/10/2026:
    // pregnant, UV1 due on 07/12/2026 (overdue after 07/01/2027). After her delivery
    // (O80 on 25/11) she is not, and UV1 waits again.
    let today = d("2026-12-07");
    let record = HealthRecord {
        exams: vec![exam("2026-10-01", "Z34")],
        ..HealthRecord::default()
    };
    let woman = |episodes: &[EpisodeView]| Subject {
        pregnant: pregnancy_sign(Some(&record), episodes, today).is_some(),
        ..girl("1995-01-01")
    };
    let f = forecast(&woman(&[]), &[], today);
    assert_eq!(
        item(&f, "uv1"),
        (Status::Due, Some(today), Some(d("2027-01-07")))
    );
    let f = forecast(&woman(&[visit("2026-11-25", "O80", &[])]), &[], today);
    let uv1 = f.items.iter().find(|i| i.key == "uv1").unwrap();
    assert_eq!(
        (uv1.status, uv1.reason),
        (Status::NotApplicable, Some(Reason::NotPregnant))
    );
}

/// A first DPT-VGB-Hib given at 7 weeks (the schedule's 2 months, the WHO minimum of 6
/// weeks) counts; one at 5 weeks does not, and the item stays open.
#[test]
fn the_first_primary_dose_counts_from_the_who_minimum_age_of_six_weeks() {
    // Born 01/01/2025 (TT 10/2024): 7 weeks = 19/02, 5 weeks = 05/02.
    let today = d("2025-03-20");
    let ok = forecast(
        &child("2025-01-01"),
        &[given(1, "dtp_hepb_hib", "2025-02-19")],
        today,
    );
    assert_eq!(item(&ok, "dtp1").0, Status::Done);
    assert!(ok.invalid.is_empty());
    let early = forecast(
        &child("2025-01-01"),
        &[given(1, "dtp_hepb_hib", "2025-02-05")],
        today,
    );
    assert_ne!(item(&early, "dtp1").0, Status::Done);
    assert_eq!(early.invalid.len(), 1);
}
