//! Vaccinations (issue 18): the vaccine and antigen catalogue, the schedules as
//! versioned rule sets, and what they say of one person — pure logic, all data read
//! once from `book/data/{vaccines,antigens,schedules}.tsv`.
//!
//! The API other modules build on (kept stable):
//!
//! - [`Dose`] — one recorded dose (`id`, `vaccine` code, `date`, [`DoseStatus`],
//!   optional `dose_number`); what the store keeps as a row's clear columns.
//! - [`DoseDetails`] — the rest of a recorded dose (lot, route, site, reason, reaction,
//!   national ids, COVID-19 certificate fields): the store's sealed body.
//! - [`Subject`] — who the forecast is for (birth date, sex, pregnant or not).
//! - [`forecast`]`(&Subject, &[Dose], today) -> Forecast` — every item of the rule sets
//!   that apply to the person, each [`Status::Done`], `Due`, `Overdue`, `Upcoming` or
//!   `NotApplicable`, with `due_from` / `overdue_after` days; plus
//!   [`Forecast::full_at_12m`] ("tiêm chủng đầy đủ": fully immunised at 12 months).
//! - [`duplicates`]`(&[Dose]) -> Vec<(i64, i64)>` — given doses of the same person and
//!   vaccine within one day of each other (two sources of one injection): the later id
//!   first, then the one it repeats.
//! - [`part_c`]`(&Subject, &[Dose]) -> BTreeMap<item key, yyyy-mm-dd>` — the QĐ 831 part
//!   C items (`c.bcg.date`, …) the doses fill.
//! - [`vaccine`], [`vaccine_by_national_id`], [`vaccines`], [`antigen`], [`rule_sets`],
//!   [`children_rule_set`] — the catalogue.
//!
//! **How a rule set is chosen.** The children's schedule (EPI) is chosen by the child's
//! birth date: the set whose `from..=to` holds it (a child born before the first set
//! takes the first). A child keeps that schedule for life: a vaccine a later set adds is
//! not due by the schedule for a child born before it. The women's tetanus set (15–35,
//! and pregnancy) is the one in force on the day the forecast is made.
//!
//! **How doses fill items.** Refused, contraindicated and deferred doses never fill an
//! item (a contraindication makes the item not applicable; the last attempt is shown).
//! Duplicates count once. The given doses of a series, in date order, fill its items in
//! order: each dose the first open item whose vaccines include it. An item's due day is
//! the later of birth + its age and the previous dose of its series + its interval;
//! only the first open item of a series can be due or overdue, the ones after it are
//! upcoming (their days estimated from the day before them).
//!
//! **Valid doses only.** A given dose counts for an item only when it was given on or
//! after the item's minimum age (its `min_age` in `schedules.tsv`: the WHO minimum ages
//! for the primary doses — 6, 10 and 14 weeks —; where none is given, the age it is due
//! from) and at least
//! the item's `interval` after the series' previous valid dose, both less the usual
//! grace of [`GRACE_DAYS`] days. A dose given sooner does not fill the item: it is
//! listed in [`Forecast::invalid`] (and on the item, [`ItemForecast::invalid`]) as
//! [`Validity::TooEarly`], "Không hợp lệ: tiêm quá sớm", and the item stays open (due
//! or overdue) for a dose that counts.
//!
//! **Pregnancy.** [`Subject::pregnant`] comes from what the book holds:
//! [`pregnancy_sign`] reads the QĐ 831 examinations' ICD-10 codes and the hospital
//! dossiers' diagnoses of the last [`PREGNANCY_WINDOW_DAYS`] days.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// A vaccine of the catalogue.
#[derive(Clone, Debug, Serialize)]
pub struct Vaccine {
    pub code: &'static str,
    /// `VACXIN_ID` of the national immunisation system.
    pub national_id: &'static str,
    pub name: &'static str,
    pub antigens: Vec<&'static str>,
    pub atc: &'static str,
    /// Empty when no CVX code fits.
    pub cvx: &'static str,
    /// `epi`, `service` or `covid`.
    pub programme: &'static str,
    /// `ID`, `IM`, `SC`, `PO`.
    pub route: &'static str,
}

/// An antigen (the disease a vaccine protects against).
#[derive(Clone, Debug, Serialize)]
pub struct Antigen {
    pub code: &'static str,
    /// The national system's antigen id (empty when not seen).
    pub national_id: &'static str,
    pub name: &'static str,
    /// SNOMED CT code of the disease.
    pub snomed: &'static str,
}

/// An age or an interval: days, months or years.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Span {
    Days(u32),
    Months(u32),
    Years(u32),
}

impl Span {
    fn parse(s: &str) -> Option<Option<Span>> {
        if s == "-" {
            return Some(None);
        }
        let (n, unit) = s.split_at(s.len().checked_sub(1)?);
        let n: u32 = n.parse().ok()?;
        Some(Some(match unit {
            "d" => Span::Days(n),
            "m" => Span::Months(n),
            "y" => Span::Years(n),
            _ => return None,
        }))
    }

    /// `day` moved on by the span (a month-end day is kept within the month).
    pub fn after(self, day: NaiveDate) -> NaiveDate {
        match self {
            Span::Days(n) => day.checked_add_days(Days::new(n.into())),
            Span::Months(n) => day.checked_add_months(Months::new(n)),
            Span::Years(n) => day.checked_add_months(Months::new(n * 12)),
        }
        .unwrap_or(NaiveDate::MAX)
    }

    /// In Vietnamese ("2 tháng", "7 tuổi" for an age).
    pub fn text(self) -> String {
        match self {
            Span::Days(0) => "sơ sinh".into(),
            Span::Days(n) => format!("{n} ngày"),
            Span::Months(n) => format!("{n} tháng"),
            Span::Years(n) => format!("{n} tuổi"),
        }
    }
}

/// What starts an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Due from an age (and the interval after the series' previous dose).
    Age,
    /// Due when the woman is pregnant (the first tetanus dose).
    Pregnant,
}

/// One dose of a schedule.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleItem {
    pub key: &'static str,
    pub series: &'static str,
    pub dose: u8,
    pub vaccines: Vec<&'static str>,
    pub when: When,
    pub age: Option<Span>,
    /// The least age at which a dose counts (WHO minimum ages); `None`: `age`.
    pub min_age: Option<Span>,
    pub interval: Option<Span>,
    pub grace: Option<Span>,
    pub max_age: Option<Span>,
    /// `Some('F')`: girls and women only.
    pub sex: Option<char>,
    /// The QĐ 831 part C item the dose's date fills.
    pub part_c: Option<&'static str>,
    pub label: &'static str,
}

/// Who a rule set is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Chosen by the child's birth date.
    Children,
    /// Chosen by the day of the forecast.
    Women,
}

/// A versioned schedule: effective dates and legal reference.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSet {
    pub id: &'static str,
    pub group: Group,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub sex: Option<char>,
    pub min_age: Span,
    pub max_age: Span,
    pub reference: &'static str,
    pub title: &'static str,
    pub items: Vec<ScheduleItem>,
    /// "Fully immunised at 12 months": (series, doses) before the first birthday.
    pub full: Vec<(&'static str, u8)>,
}

impl RuleSet {
    fn holds(&self, day: NaiveDate) -> bool {
        day >= self.from && self.to.is_none_or(|to| day <= to)
    }
}

struct Catalogue {
    vaccines: Vec<Vaccine>,
    antigens: Vec<Antigen>,
    sets: Vec<RuleSet>,
}

fn lines(text: &'static str) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

fn span(file: &str, line: usize, s: &str) -> Option<Span> {
    Span::parse(s).unwrap_or_else(|| panic!("{file}:{line}: bad age or interval {s:?}"))
}

fn day(file: &str, line: usize, s: &str) -> Option<NaiveDate> {
    if s == "-" {
        return None;
    }
    Some(
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("{file}:{line}: bad date {s:?}")),
    )
}

fn sex(s: &str) -> Option<char> {
    (s != "-").then(|| s.chars().next().unwrap_or('F'))
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let vaccines: Vec<Vaccine> = lines(include_str!("../data/vaccines.tsv"))
        .map(|(n, c)| {
            assert!(c.len() == 8, "vaccines.tsv:{n}: 8 columns");
            Vaccine {
                code: c[0],
                national_id: c[1],
                name: c[2],
                antigens: c[3].split(',').collect(),
                atc: c[4],
                cvx: c[5],
                programme: c[6],
                route: c[7],
            }
        })
        .collect();
    let antigens: Vec<Antigen> = lines(include_str!("../data/antigens.tsv"))
        .map(|(n, c)| {
            assert!(c.len() == 4, "antigens.tsv:{n}: 4 columns");
            Antigen {
                code: c[0],
                national_id: c[1],
                name: c[2],
                snomed: c[3],
            }
        })
        .collect();
    let f = "schedules.tsv";
    let mut sets: Vec<RuleSet> = Vec::new();
    for (n, c) in lines(include_str!("../data/schedules.tsv")) {
        match c[0] {
            "set" => {
                assert!(c.len() == 10, "{f}:{n}: 10 columns");
                sets.push(RuleSet {
                    id: c[1],
                    group: match c[2] {
                        "children" => Group::Children,
                        "women" => Group::Women,
                        g => panic!("{f}:{n}: group {g:?}"),
                    },
                    from: day(f, n, c[3]).expect("from"),
                    to: day(f, n, c[4]),
                    sex: sex(c[5]),
                    min_age: span(f, n, c[6]).expect("min_age"),
                    max_age: span(f, n, c[7]).expect("max_age"),
                    reference: c[8],
                    title: c[9],
                    items: Vec::new(),
                    full: Vec::new(),
                });
            }
            "item" => {
                assert!(c.len() == 15, "{f}:{n}: 15 columns");
                let set = sets
                    .iter_mut()
                    .find(|s| s.id == c[1])
                    .unwrap_or_else(|| panic!("{f}:{n}: unknown set {}", c[1]));
                set.items.push(ScheduleItem {
                    key: c[2],
                    series: c[3],
                    dose: c[4].parse().expect("dose"),
                    vaccines: c[5].split(',').collect(),
                    when: match c[6] {
                        "age" => When::Age,
                        "pregnant" => When::Pregnant,
                        w => panic!("{f}:{n}: when {w:?}"),
                    },
                    age: span(f, n, c[7]),
                    min_age: span(f, n, c[8]),
                    interval: span(f, n, c[9]),
                    grace: span(f, n, c[10]),
                    max_age: span(f, n, c[11]),
                    sex: sex(c[12]),
                    part_c: (c[13] != "-").then_some(c[13]),
                    label: c[14],
                });
            }
            "full" => {
                let set = sets
                    .iter_mut()
                    .find(|s| s.id == c[1])
                    .unwrap_or_else(|| panic!("{f}:{n}: unknown set {}", c[1]));
                set.full = c[2]
                    .split(',')
                    .map(|p| {
                        let (s, k) = p.split_once(':').expect("series:count");
                        (s, k.parse().expect("count"))
                    })
                    .collect();
            }
            k => panic!("{f}:{n}: line kind {k:?}"),
        }
    }
    Catalogue {
        vaccines,
        antigens,
        sets,
    }
});

/// Every vaccine of the catalogue.
pub fn vaccines() -> &'static [Vaccine] {
    &CATALOGUE.vaccines
}

/// A vaccine by healthbook's code.
pub fn vaccine(code: &str) -> Option<&'static Vaccine> {
    CATALOGUE.vaccines.iter().find(|v| v.code == code)
}

/// A vaccine by the national system's `VACXIN_ID`.
pub fn vaccine_by_national_id(id: &str) -> Option<&'static Vaccine> {
    let id = id.trim();
    CATALOGUE.vaccines.iter().find(|v| v.national_id == id)
}

/// Every antigen of the catalogue.
pub fn antigens() -> &'static [Antigen] {
    &CATALOGUE.antigens
}

pub fn antigen(code: &str) -> Option<&'static Antigen> {
    CATALOGUE.antigens.iter().find(|a| a.code == code)
}

/// Every rule set, oldest first within each group.
pub fn rule_sets() -> &'static [RuleSet] {
    &CATALOGUE.sets
}

pub fn rule_set(id: &str) -> Option<&'static RuleSet> {
    CATALOGUE.sets.iter().find(|s| s.id == id)
}

fn in_force(group: Group, day: NaiveDate) -> &'static RuleSet {
    let sets = || CATALOGUE.sets.iter().filter(move |s| s.group == group);
    sets()
        .find(|s| s.holds(day))
        .or_else(|| sets().filter(|s| s.from > day).min_by_key(|s| s.from))
        .or_else(|| sets().max_by_key(|s| s.from))
        .expect("a rule set of every group")
}

/// The children's schedule of a child born on `birth`.
pub fn children_rule_set(birth: NaiveDate) -> &'static RuleSet {
    in_force(Group::Children, birth)
}

/// The women's tetanus schedule in force on `day`.
pub fn women_rule_set(day: NaiveDate) -> &'static RuleSet {
    in_force(Group::Women, day)
}

/// What became of a dose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoseStatus {
    /// Đã tiêm / đã uống (national code 2).
    Given,
    /// Chống chỉ định (3).
    Contraindicated,
    /// Không đồng ý tiêm (4).
    Refused,
    /// Tạm hoãn (5).
    Deferred,
}

impl DoseStatus {
    pub const ALL: [DoseStatus; 4] = [
        DoseStatus::Given,
        DoseStatus::Contraindicated,
        DoseStatus::Refused,
        DoseStatus::Deferred,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DoseStatus::Given => "given",
            DoseStatus::Contraindicated => "contraindicated",
            DoseStatus::Refused => "refused",
            DoseStatus::Deferred => "deferred",
        }
    }

    pub fn parse(s: &str) -> Option<DoseStatus> {
        DoseStatus::ALL.into_iter().find(|d| d.code() == s)
    }

    /// The national system's `TRANG_THAI_MUI_TIEM` (2, 3, 4, 5).
    pub fn national(self) -> u8 {
        match self {
            DoseStatus::Given => 2,
            DoseStatus::Contraindicated => 3,
            DoseStatus::Refused => 4,
            DoseStatus::Deferred => 5,
        }
    }

    pub fn from_national(n: &str) -> Option<DoseStatus> {
        match n.trim() {
            "2" => Some(DoseStatus::Given),
            "3" => Some(DoseStatus::Contraindicated),
            "4" => Some(DoseStatus::Refused),
            "5" => Some(DoseStatus::Deferred),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DoseStatus::Given => "Đã tiêm",
            DoseStatus::Contraindicated => "Chống chỉ định",
            DoseStatus::Refused => "Không đồng ý tiêm",
            DoseStatus::Deferred => "Tạm hoãn",
        }
    }
}

/// One recorded dose, as the forecast needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dose {
    pub id: i64,
    /// A code of the catalogue ([`vaccine`]).
    pub vaccine: String,
    pub date: NaiveDate,
    pub status: DoseStatus,
    /// The dose number as recorded (`thu_tu_mui_tiem`), when given.
    #[serde(default)]
    pub dose_number: Option<u8>,
}

/// What else is recorded of a dose (sealed at rest as one JSON body). Every field is
/// optional: the national system records about twelve fields a dose, FHIR more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// `ID`, `IM`, `SC`, `PO` (v3-RouteOfAdministration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// `LA`, `RA`, `LT`, `RT` (v3-ActSite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Why contraindicated, refused or deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A reaction after the dose (phản ứng sau tiêm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The vaccination point's name, when it has no KCB code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_name: Option<String>,
    /// Who gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// The month of pregnancy (tetanus doses of pregnant women).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnancy_month: Option<u8>,
    /// BCG scar seen (`seo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcg_scar: Option<bool>,
    /// Hepatitis B birth dose within 24 hours (`truoc_24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hepb_within_24h: Option<bool>,
    /// `false`: transcribed from history (rà soát tiền sử), not by the vaccinator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_source: Option<bool>,
    /// The national immunisation system's ids of the dose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national: Option<NationalIds>,
    /// COVID-19 certificate fields (QĐ 5772/QĐ-BYT, EU DCC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covid: Option<CovidCertificate>,
}

/// The national immunisation system's ids of a dose and its subject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NationalIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lich_su_tiem_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doi_tuong_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ma_doi_tuong: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacxin_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_so_id: Option<String>,
}

/// The fields of a COVID-19 vaccination certificate (QĐ 5772/QĐ-BYT; EU DCC `v`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovidCertificate {
    /// Mã số chứng nhận (`ci`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Sản phẩm (`mp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Nhà sản xuất (`ma`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Số mũi của liệu trình (`sd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doses_total: Option<u8>,
    /// Quốc gia (`co`), ISO 3166 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Đơn vị cấp (`is`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// The grace of WHO / ACIP practice (ACIP General Best Practice Guidelines, "Timing and
/// spacing"; WHO position papers follow it): a dose given up to 4 days before the
/// minimum age or the minimum interval still counts. A dose 5 days or more early is not
/// valid and must be repeated.
pub const GRACE_DAYS: u64 = 4;

/// Why a given dose does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Before the item's minimum age or sooner than its minimum interval after the
    /// series' previous valid dose (beyond [`GRACE_DAYS`]).
    TooEarly,
}

impl Validity {
    /// The stable code (`invalid_too_early`).
    pub fn code(self) -> &'static str {
        match self {
            Validity::TooEarly => "invalid_too_early",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Validity::TooEarly => "Không hợp lệ: tiêm quá sớm",
        }
    }
}

/// A given dose that does not count (see [`Validity`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidDose {
    pub dose_id: i64,
    pub vaccine: String,
    pub date: NaiveDate,
    /// The item it was given for (it stays open).
    pub rule_set: &'static str,
    pub key: &'static str,
    pub label: &'static str,
    pub reason: Validity,
    /// The first day a dose would have counted (minimum age / interval, less the grace).
    pub valid_from: NaiveDate,
}

/// Who a forecast is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub birth: NaiveDate,
    /// `true`: female (the women's tetanus doses, HPV).
    pub female: bool,
    /// Pregnant now (the first tetanus dose is then due).
    #[serde(default)]
    pub pregnant: bool,
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Overdue,
    Due,
    Upcoming,
    Done,
    NotApplicable,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Overdue => "overdue",
            Status::Due => "due",
            Status::Upcoming => "upcoming",
            Status::Done => "done",
            Status::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Overdue => "Quá hạn",
            Status::Due => "Đến hạn",
            Status::Upcoming => "Sắp tới",
            Status::Done => "Đã tiêm",
            Status::NotApplicable => "Không áp dụng",
        }
    }
}

/// Why an item is not applicable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Past the item's age limit without a dose.
    PastAge,
    /// A dose of the item was contraindicated.
    Contraindicated,
    /// Not for this person's sex.
    Sex,
    /// Waits for a pregnancy (or a campaign) to start.
    NotPregnant,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::PastAge => "Quá tuổi tiêm theo lịch",
            Reason::Contraindicated => "Chống chỉ định",
            Reason::Sex => "Không áp dụng cho giới tính này",
            Reason::NotPregnant => "Tiêm khi có thai (hoặc theo chiến dịch)",
        }
    }
}

/// One item of the forecast.
#[derive(Clone, Debug, Serialize)]
pub struct ItemForecast {
    /// The rule set it is of.
    pub rule_set: &'static str,
    pub key: &'static str,
    pub label: &'static str,
    pub series: &'static str,
    pub dose: u8,
    pub vaccines: &'static [&'static str],
    pub status: Status,
    /// The day it is due from (estimated for upcoming items).
    pub due_from: Option<NaiveDate>,
    /// Overdue after this day.
    pub overdue_after: Option<NaiveDate>,
    /// The dose that filled it.
    pub given: Option<(i64, NaiveDate)>,
    pub reason: Option<Reason>,
    /// The newest refused / deferred / contraindicated attempt at it.
    pub last_attempt: Option<(DoseStatus, NaiveDate)>,
    /// Doses given for it too early (they do not count): (dose id, day).
    pub invalid: Vec<(i64, NaiveDate)>,
}

/// "Fully immunised at 12 months" (tiêm chủng đầy đủ).
#[derive(Clone, Debug, Serialize)]
pub struct FullStatus {
    /// Every dose of the definition given before the first birthday.
    pub complete: bool,
    /// The day the last of them was given (when complete).
    pub on: Option<NaiveDate>,
    /// (series, doses given before 12 months, doses required) of the missing ones.
    pub missing: Vec<(&'static str, u8, u8)>,
}

/// What the schedule says of one person on one day.
#[derive(Clone, Debug, Serialize)]
pub struct Forecast {
    /// The children's rule set (by birth date).
    pub rule_set: &'static str,
    pub reference: &'static str,
    /// The women's set, when it applies (women 15–35, or pregnant).
    pub women_set: Option<&'static str>,
    pub items: Vec<ItemForecast>,
    pub full_at_12m: FullStatus,
    /// Pairs of duplicate doses (see [`duplicates`]).
    pub duplicates: Vec<(i64, i64)>,
    /// Given doses that do not count (too early), oldest first.
    pub invalid: Vec<InvalidDose>,
}

impl Forecast {
    /// The items due or overdue.
    pub fn open(&self) -> impl Iterator<Item = &ItemForecast> {
        self.items
            .iter()
            .filter(|i| matches!(i.status, Status::Due | Status::Overdue))
    }

    /// The first item not yet done that is due next (overdue first, then by day).
    pub fn next(&self) -> Option<&ItemForecast> {
        self.items
            .iter()
            .filter(|i| matches!(i.status, Status::Due | Status::Overdue | Status::Upcoming))
            .min_by_key(|i| (i.status, i.due_from))
    }
}

/// Given doses of the same vaccine within one day of each other: (the later id — or
/// the larger one on the same day —, the one it repeats).
pub fn duplicates(doses: &[Dose]) -> Vec<(i64, i64)> {
    let mut given: Vec<&Dose> = doses
        .iter()
        .filter(|d| d.status == DoseStatus::Given)
        .collect();
    given.sort_by(|a, b| (&a.vaccine, a.date, a.id).cmp(&(&b.vaccine, b.date, b.id)));
    let mut out = Vec::new();
    let mut keep: Option<&Dose> = None;
    for d in given {
        match keep {
            Some(k) if k.vaccine == d.vaccine && (d.date - k.date).num_days() <= 1 => {
                out.push((d.id, k.id));
            }
            _ => keep = Some(d),
        }
    }
    out
}

fn age_on(birth: NaiveDate, span: Span) -> NaiveDate {
    span.after(birth)
}

fn later(a: NaiveDate, b: Option<NaiveDate>) -> NaiveDate {
    b.map_or(a, |b| a.max(b))
}

/// The items of `set` for `subject` on `today`, filled by `doses`.
fn run_set(
    set: &'static RuleSet,
    subject: &Subject,
    doses: &[&Dose],
    attempts: &[&Dose],
    today: NaiveDate,
    out: &mut Vec<ItemForecast>,
    invalid: &mut Vec<InvalidDose>,
) {
    let mut series: Vec<&'static str> = Vec::new();
    for it in &set.items {
        if !series.contains(&it.series) {
            series.push(it.series);
        }
    }
    for s in series {
        let items: Vec<&ScheduleItem> = set.items.iter().filter(|i| i.series == s).collect();
        let mut pool: Vec<&Dose> = doses
            .iter()
            .copied()
            .filter(|d| {
                items
                    .iter()
                    .any(|i| i.vaccines.contains(&d.vaccine.as_str()))
            })
            .collect();
        pool.sort_by_key(|d| (d.date, d.id));
        let mut used = vec![false; pool.len()];
        // The day of the series' previous dose: given, else estimated.
        let mut prev: Option<NaiveDate> = None;
        // The day of the series' previous valid dose (the minimum interval runs from it).
        let mut prev_given: Option<NaiveDate> = None;
        let mut prev_open = false;
        let mut after: Option<NaiveDate> = None;
        for it in items {
            let mut base = ItemForecast {
                rule_set: set.id,
                key: it.key,
                label: it.label,
                series: it.series,
                dose: it.dose,
                vaccines: &it.vaccines,
                status: Status::Upcoming,
                due_from: None,
                overdue_after: None,
                given: None,
                reason: None,
                last_attempt: attempts
                    .iter()
                    .filter(|a| it.vaccines.contains(&a.vaccine.as_str()))
                    .filter(|a| after.is_none_or(|p| a.date >= p))
                    .max_by_key(|a| a.date)
                    .map(|a| (a.status, a.date)),
                invalid: Vec::new(),
            };
            if it.sex == Some('F') && !subject.female {
                out.push(ItemForecast {
                    status: Status::NotApplicable,
                    reason: Some(Reason::Sex),
                    ..base
                });
                continue;
            }
            let by_age = it.age.map(|a| age_on(subject.birth, a));
            // The first day a dose counts: minimum age and minimum interval after the
            // previous valid dose, less the grace.
            let valid_from = [
                it.min_age.or(it.age).map(|a| age_on(subject.birth, a)),
                it.interval.and_then(|i| prev_given.map(|p| i.after(p))),
            ]
            .into_iter()
            .flatten()
            .max()
            .map(|v| v.checked_sub_days(Days::new(GRACE_DAYS)).unwrap_or(v));
            // The first unused dose of the item's vaccines on or after the previous;
            // one given too early is used up (it counts for nothing) and the search
            // goes on.
            let mut found = None;
            for (k, d) in pool.iter().copied().enumerate() {
                if used[k]
                    || !it.vaccines.contains(&d.vaccine.as_str())
                    || after.is_some_and(|p| d.date < p)
                {
                    continue;
                }
                used[k] = true;
                match valid_from {
                    Some(v) if d.date < v => {
                        base.invalid.push((d.id, d.date));
                        invalid.push(InvalidDose {
                            dose_id: d.id,
                            vaccine: d.vaccine.clone(),
                            date: d.date,
                            rule_set: set.id,
                            key: it.key,
                            label: it.label,
                            reason: Validity::TooEarly,
                            valid_from: v,
                        });
                    }
                    _ => {
                        found = Some(k);
                        break;
                    }
                }
            }
            if let Some(k) = found {
                let d = pool[k];
                prev = Some(d.date);
                prev_given = Some(d.date);
                after = Some(d.date);
                prev_open = false;
                out.push(ItemForecast {
                    status: Status::Done,
                    given: Some((d.id, d.date)),
                    ..base
                });
                continue;
            }
            let due_from = match (it.when, prev) {
                (When::Pregnant, _) if !subject.pregnant => None,
                (When::Pregnant, _) => Some(today.max(subject.birth)),
                (When::Age, Some(p)) => Some(later(it.interval.map_or(p, |i| i.after(p)), by_age)),
                (When::Age, None) => by_age,
            };
            let Some(due_from) = due_from else {
                prev_open = true;
                out.push(ItemForecast {
                    status: Status::NotApplicable,
                    reason: Some(Reason::NotPregnant),
                    ..base
                });
                continue;
            };
            let overdue_after = it.grace.map(|g| g.after(due_from));
            let contraindicated =
                matches!(base.last_attempt, Some((DoseStatus::Contraindicated, _)));
            let past_age = it
                .max_age
                .is_some_and(|m| today >= age_on(subject.birth, m));
            let status = if contraindicated || past_age {
                Status::NotApplicable
            } else if prev_open || today < due_from {
                Status::Upcoming
            } else if overdue_after.is_some_and(|o| today > o) {
                Status::Overdue
            } else {
                Status::Due
            };
            let reason = match status {
                Status::NotApplicable if contraindicated => Some(Reason::Contraindicated),
                Status::NotApplicable => Some(Reason::PastAge),
                _ => None,
            };
            if status != Status::NotApplicable {
                prev_open = true;
            }
            prev = Some(due_from);
            out.push(ItemForecast {
                status,
                due_from: Some(due_from),
                overdue_after,
                reason,
                ..base
            });
        }
    }
}

/// The doses that count: given, duplicates removed.
fn counted(doses: &[Dose]) -> (Vec<&Dose>, Vec<&Dose>, Vec<(i64, i64)>) {
    let dup = duplicates(doses);
    let given = doses
        .iter()
        .filter(|d| d.status == DoseStatus::Given && !dup.iter().any(|(a, _)| *a == d.id))
        .collect();
    let attempts = doses
        .iter()
        .filter(|d| d.status != DoseStatus::Given)
        .collect();
    (given, attempts, dup)
}

/// Whether `subject` was fully immunised at 12 months by the doses (per the children's
/// rule set of their birth date).
pub fn fully_immunised(subject: &Subject, doses: &[Dose]) -> FullStatus {
    let set = children_rule_set(subject.birth);
    let (given, _, _) = counted(doses);
    let first_birthday = Span::Years(1).after(subject.birth);
    let mut items = Vec::new();
    // Filled as on the first birthday (doses after it do not count).
    let early: Vec<&Dose> = given
        .iter()
        .copied()
        .filter(|d| d.date < first_birthday)
        .collect();
    run_set(
        set,
        subject,
        &early,
        &[],
        first_birthday,
        &mut items,
        &mut Vec::new(),
    );
    let mut missing = Vec::new();
    let mut on: Option<NaiveDate> = None;
    for (series, need) in &set.full {
        let got: Vec<NaiveDate> = items
            .iter()
            .filter(|i| i.series == *series)
            .filter_map(|i| i.given.map(|g| g.1))
            .collect();
        let n = got.len().min(u8::MAX as usize) as u8;
        if n < *need {
            missing.push((*series, n, *need));
        } else if let Some(d) = got.iter().take(*need as usize).max() {
            on = Some(on.map_or(*d, |o| o.max(*d)));
        }
    }
    FullStatus {
        complete: missing.is_empty(),
        on: if missing.is_empty() { on } else { None },
        missing,
    }
}

/// Whole years of age on `day`.
pub fn age_years(birth: NaiveDate, day: NaiveDate) -> i32 {
    let mut y = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        y -= 1;
    }
    y
}

/// What the schedules say of `subject` on `today` given the doses recorded.
pub fn forecast(subject: &Subject, doses: &[Dose], today: NaiveDate) -> Forecast {
    let set = children_rule_set(subject.birth);
    let (given, attempts, dup) = counted(doses);
    let mut items = Vec::new();
    let mut invalid = Vec::new();
    let age = age_years(subject.birth, today);
    let children_max = age_on(subject.birth, set.max_age);
    if today < children_max {
        run_set(
            set,
            subject,
            &given,
            &attempts,
            today,
            &mut items,
            &mut invalid,
        );
    }
    let women = women_rule_set(today);
    let women_applies = subject.female
        && (subject.pregnant
            || (today >= age_on(subject.birth, women.min_age) && age <= span_years(women.max_age)));
    if women_applies {
        run_set(
            women,
            subject,
            &given,
            &attempts,
            today,
            &mut items,
            &mut invalid,
        );
    }
    invalid.sort_by_key(|i| (i.date, i.dose_id));
    Forecast {
        rule_set: set.id,
        reference: set.reference,
        women_set: women_applies.then_some(women.id),
        items,
        full_at_12m: fully_immunised(subject, doses),
        duplicates: dup,
        invalid,
    }
}

fn span_years(s: Span) -> i32 {
    match s {
        Span::Years(n) => n as i32,
        Span::Months(n) => (n / 12) as i32,
        Span::Days(n) => (n / 365) as i32,
    }
}

/// The QĐ 831 part C items the doses fill (`c.bcg.date` → `yyyy-mm-dd`), by the
/// children's set of the birth date and the women's set (whatever the age: the book
/// keeps what was given). Given doses only; duplicates once.
pub fn part_c(subject: &Subject, doses: &[Dose]) -> BTreeMap<String, String> {
    let (given, _, _) = counted(doses);
    let mut out = BTreeMap::new();
    let far = NaiveDate::from_ymd_opt(9999, 1, 1).unwrap_or(NaiveDate::MAX);
    let mut items = Vec::new();
    run_set(
        children_rule_set(subject.birth),
        subject,
        &given,
        &[],
        far,
        &mut items,
        &mut Vec::new(),
    );
    if subject.female {
        run_set(
            women_rule_set(far),
            subject,
            &given,
            &[],
            far,
            &mut items,
            &mut Vec::new(),
        );
    }
    let sets: HashMap<&str, &RuleSet> = rule_sets().iter().map(|s| (s.id, s)).collect();
    for i in &items {
        let Some((_, day)) = i.given else { continue };
        let Some(key) = sets
            .get(i.rule_set)
            .and_then(|s| s.items.iter().find(|x| x.key == i.key))
            .and_then(|x| x.part_c)
        else {
            continue;
        };
        out.insert(key.to_string(), day.format("%Y-%m-%d").to_string());
    }
    // Counted outside the schedule: the mother's tetanus doses.
    let uv = given
        .iter()
        .filter(|d| matches!(d.vaccine.as_str(), "tt" | "td"))
        .count();
    if subject.female && uv > 0 {
        out.insert("c.mother_tetanus".into(), uv.min(5).to_string());
    }
    out
}

/// The next vaccination session: the first day on or after `today` that is the
/// station's session day of the month (`1..=28`; the national practice is a fixed
/// day each month).
pub fn next_session(today: NaiveDate, day_of_month: u32) -> NaiveDate {
    let d = day_of_month.clamp(1, 28);
    let this = today.with_day(d).unwrap_or(today);
    if this >= today {
        this
    } else {
        Span::Months(1).after(this)
    }
}

/// How long a sign of pregnancy counts: a pregnancy lasts about 40 weeks (280 days),
/// so a sign older than that is of a pregnancy that has ended.
pub const PREGNANCY_WINDOW_DAYS: u64 = 280;

/// What an ICD-10 code says of a pregnancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PregnancyCode {
    /// Pregnant at the visit: O09–O48 (supervision, complications, maternal care),
    /// O98–O99 (maternal diseases complicating pregnancy), Z33–Z36 (pregnant state,
    /// antenatal supervision and screening).
    Ongoing,
    /// The pregnancy ended at the visit: O00–O08 (abortive outcomes), O60–O92 (labour,
    /// delivery, puerperium), O94–O97, Z37 (outcome of delivery), Z39 (postpartum care).
    Ended,
}

/// What `icd` (an ICD-10 code, `O24.4`, `Z34`) says of a pregnancy; `None`: nothing.
pub fn pregnancy_code(icd: &str) -> Option<PregnancyCode> {
    let c = icd.trim().to_ascii_uppercase();
    let mut chars = c.chars();
    let chapter = chars.next()?;
    let n: u32 = chars.as_str().get(..2)?.parse().ok()?;
    use PregnancyCode::{Ended, Ongoing};
    match (chapter, n) {
        ('O', 0..=8 | 60..=92 | 94..=97) => Some(Ended),
        ('O', 9..=48 | 98..=99) => Some(Ongoing),
        ('Z', 33..=36) => Some(Ongoing),
        ('Z', 37 | 39) => Some(Ended),
        _ => None,
    }
}

/// Where a sign of pregnancy was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PregnancySource {
    /// An examination of the QĐ 831 record (its ICD-10 item).
    Examination,
    /// A hospital dossier (a diagnosis of the visit).
    Dossier,
}

/// The newest sign that a woman is pregnant now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PregnancySign {
    pub day: NaiveDate,
    pub source: PregnancySource,
    pub code: String,
}

/// Whether the book shows a pregnancy going on on `today`: the newest sign of the last
/// [`PREGNANCY_WINDOW_DAYS`] days — an ICD-10 code of [`PregnancyCode::Ongoing`] on a
/// QĐ 831 examination (by its day) or on a hospital visit's main or secondary
/// diagnoses (by the day of admission) — with no end after it (an
/// [`PregnancyCode::Ended`] code or a birth certificate (XML12) on a visit or
/// examination on the same day or later). The record's part B reproductive items are
/// history (counts, free text), and the `obgyn` finding is free text: neither is read.
/// Days after `today` are ignored.
pub fn pregnancy_sign<'a>(
    record: Option<&crate::ehr::HealthRecord>,
    episodes: impl IntoIterator<Item = &'a crate::episode::EpisodeView>,
    today: NaiveDate,
) -> Option<PregnancySign> {
    let from = today
        .checked_sub_days(Days::new(PREGNANCY_WINDOW_DAYS))
        .unwrap_or(NaiveDate::MIN);
    let mut ongoing: Option<PregnancySign> = None;
    let mut ended: Option<NaiveDate> = None;
    let mut see = |day: NaiveDate, source: PregnancySource, code: &str| {
        if day > today {
            return;
        }
        match pregnancy_code(code) {
            Some(PregnancyCode::Ended) => ended = Some(ended.map_or(day, |e| e.max(day))),
            Some(PregnancyCode::Ongoing)
                if day >= from && ongoing.as_ref().is_none_or(|o| day > o.day) =>
            {
                ongoing = Some(PregnancySign {
                    day,
                    source,
                    code: code.trim().to_ascii_uppercase(),
                });
            }
            _ => {}
        }
    };
    for e in record.map(|r| r.exams.as_slice()).unwrap_or_default() {
        let (Some(day), Some(icd)) = (e.day(), e.get("icd")) else {
            continue;
        };
        for c in icd.split([';', ',', ' ']).filter(|c| !c.is_empty()) {
            see(day, PregnancySource::Examination, c);
        }
    }
    for v in episodes {
        let Some(day) = v.admitted.or(v.discharged).map(|t| t.date()) else {
            continue;
        };
        let codes = v
            .main_diagnosis
            .iter()
            .chain(&v.secondary_diagnoses)
            .flat_map(|d| d.icd10.split([';', ',', ' ']))
            .filter(|c| !c.is_empty());
        for c in codes {
            see(day, PregnancySource::Dossier, c);
        }
        for b in &v.births {
            let born = b.born.map_or(day, |t| t.date());
            // A birth certificate ends the pregnancy ("Z37" stands for it).
            see(born, PregnancySource::Dossier, "Z37");
        }
    }
    ongoing.filter(|o| ended.is_none_or(|e| e < o.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn catalogue_is_consistent() {
        for v in vaccines() {
            for a in &v.antigens {
                assert!(antigen(a).is_some(), "{}: antigen {a}", v.code);
            }
        }
        for s in rule_sets() {
            assert!(!s.items.is_empty(), "{}", s.id);
            for i in &s.items {
                for v in &i.vaccines {
                    assert!(vaccine(v).is_some(), "{}/{}: vaccine {v}", s.id, i.key);
                }
                if let Some(k) = i.part_c {
                    assert!(crate::ehr::item(k).is_some(), "{}/{}: {k}", s.id, i.key);
                }
            }
        }
        assert_eq!(vaccine_by_national_id("4").unwrap().code, "opv");
    }

    #[test]
    fn duplicates_within_a_day() {
        let dose = |id, v: &str, day| Dose {
            id,
            vaccine: v.into(),
            date: d(day),
            status: DoseStatus::Given,
            dose_number: None,
        };
        let doses = [
            dose(1, "bcg", "2024-01-01"),
            dose(2, "bcg", "2024-01-02"),
            dose(3, "bcg", "2024-01-04"),
            dose(4, "opv", "2024-01-01"),
        ];
        assert_eq!(duplicates(&doses), vec![(2, 1)]);
    }

    #[test]
    fn next_session_day() {
        assert_eq!(next_session(d("2026-12-07"), 15), d("2026-12-15"));
        assert_eq!(next_session(d("2026-12-16"), 15), d("2027-01-15"));
        assert_eq!(next_session(d("2026-12-15"), 15), d("2026-12-15"));
    }
}
