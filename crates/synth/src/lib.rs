//! Deterministic synthetic dossiers: realistic, fictitious people and episodes
//! for demos, tests and benchmarks at any size.
//!
//! Everything is derived from `(seed, index)`: person `j` and episode `i` can be
//! made in any order, in parallel, without keeping the others in memory, and the
//! same seed always gives the same bytes.
//!
//! Episodes are clinically coherent: the diagnosis (from the reference data of
//! [`catalog`], the tab-separated files of `data/`) drives the care type, length of
//! stay, tests and results, procedures, medicines, quantities and costs, and the
//! special tables (HIV care, TB/HIV treatment, births, pregnancy rest, sick leave).
//! `tests/coherence.rs` checks it on a sample.
//!
//! ```
//! use synth::{Config, Generator};
//! let g = Generator::new(Config { persons: 100, episodes: 1_000, seed: 7, ..Config::default() });
//! let e = g.episode(0);
//! let bytes = e.envelope_bytes(dossier::Spec::Qd3176);
//! assert!(dossier::parse_envelope(&bytes, &dossier::Options::default()).is_valid());
//! ```

pub mod catalog;
mod episode;
mod faults;

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use episode::Episode;
pub use faults::{FAULTS, Fault};

use catalog::{District, Province, catalog};
use dossier::Spec;
use dossier::model::BirthDate;

#[derive(Clone, Debug)]
pub struct Config {
    pub persons: usize,
    pub episodes: usize,
    pub seed: u64,
    pub spec: Spec,
    /// Episodes fall between these dates (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            persons: 1_000,
            episodes: 10_000,
            seed: 1,
            spec: Spec::Qd3176,
            from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
            to: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
        }
    }
}

/// A fictitious person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub index: usize,
    pub name: String,
    /// "1" male, "2" female.
    pub sex: &'static str,
    pub birth: BirthDate,
    /// 12-digit personal ID; `None` for some young children (not yet issued).
    pub personal_id: Option<String>,
    /// BHYT cards, oldest first, with their change date (the first card's is `None`).
    pub cards: Vec<Card>,
    pub province: &'static Province,
    pub district: &'static District,
    pub commune: (&'static str, &'static str),
    pub address: String,
    pub ethnicity: &'static str,
    pub job: &'static str,
    pub phone: Option<String>,
    pub nationality: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub number: String,
    /// Registered primary-care facility (`MA_DKBD`).
    pub primary_facility: String,
    /// The card is used from this date (the earlier card until the day before).
    pub since: Option<NaiveDate>,
}

impl Person {
    /// Age in whole years on `day`.
    pub fn age_on(&self, day: NaiveDate) -> u32 {
        let years = day.year_ce().1 as i64 - self.birth.year as i64;
        let before_birthday =
            (day.month() as u8, day.day() as u8) < (self.birth.month, self.birth.day);
        (years - before_birthday as i64).max(0) as u32
    }

    /// The cards valid on `day` (several when a card changed during the episode).
    pub fn cards_between(&self, start: NaiveDate, end: NaiveDate) -> Vec<&Card> {
        let mut out = Vec::new();
        for (i, c) in self.cards.iter().enumerate() {
            let from = c.since.unwrap_or(NaiveDate::MIN);
            let until = self
                .cards
                .get(i + 1)
                .and_then(|n| n.since)
                .map_or(NaiveDate::MAX, |d| d.pred_opt().unwrap_or(d));
            if from <= end && until >= start {
                out.push(c);
            }
        }
        out
    }

    /// BHYT benefit level (`MUC_HUONG`, %) of a card.
    pub fn benefit(card: &str) -> Decimal {
        match card.as_bytes().get(2) {
            Some(b'1' | b'2' | b'5') => Decimal::ONE_HUNDRED,
            Some(b'3') => Decimal::from(95),
            _ => Decimal::from(80),
        }
    }
}

use chrono::Datelike;

/// A stream of independent random numbers for one `(seed, stream, index)`.
pub(crate) fn rng(seed: u64, stream: u64, index: u64) -> fastrand::Rng {
    // SplitMix64 over the triple: distinct, well-spread seeds.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(index.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    fastrand::Rng::with_seed(z ^ (z >> 31))
}

/// Pick with a bias toward the front of the list (common names first).
pub(crate) fn pick_front<'a, T>(r: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    let a = r.usize(..items.len());
    let b = r.usize(..items.len());
    &items[a.min(b)]
}

pub(crate) fn pick<'a, T>(r: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[r.usize(..items.len())]
}

pub struct Generator {
    pub config: Config,
}

const PERSON_STREAM: u64 = 1;

impl Generator {
    pub fn new(config: Config) -> Self {
        let mut config = config;
        config.persons = config.persons.max(1);
        Generator { config }
    }

    /// Person `j` (0-based), always the same for the same seed.
    pub fn person(&self, j: usize) -> Person {
        let seed = self.config.seed;
        let mut r = rng(seed, PERSON_STREAM, j as u64);
        let sex = if r.bool() { "1" } else { "2" };
        // Ages: many children and elders, as in care.
        let age = match r.u32(0..100) {
            0..=14 => r.u32(0..6),
            15..=24 => r.u32(6..18),
            25..=64 => r.u32(18..60),
            _ => r.u32(60..95),
        };
        let ref_year = self.config.to.year() as u32;
        let year = (ref_year - age) as u16;
        let (month, day) = (r.u8(1..=12), r.u8(1..=28));
        // A few elders with only the year known, as their papers say.
        let birth = if age > 70 && r.u8(0..20) == 0 {
            BirthDate {
                year,
                month: 0,
                day: 0,
                time: None,
            }
        } else if age == 0 {
            BirthDate {
                year,
                month,
                day,
                time: Some((r.u8(0..24), r.u8(0..60))),
            }
        } else {
            BirthDate {
                year,
                month,
                day,
                time: None,
            }
        };
        let c = catalog();
        let surname = *pick_front(&mut r, &c.surnames);
        let (middle, given) = if sex == "1" {
            (*pick(&mut r, &c.middle_male), *pick(&mut r, &c.given_male))
        } else {
            (
                *pick(&mut r, &c.middle_female),
                *pick(&mut r, &c.given_female),
            )
        };
        let name = format!("{surname} {middle} {given}");
        let province = pick(&mut r, &c.provinces);
        let district = pick(&mut r, &province.districts);
        let commune = *pick(&mut r, &district.communes);
        let street = pick(&mut r, &c.streets);
        let address = format!(
            "Số {} {street}, {}, {}, {}",
            r.u32(1..200),
            commune.1,
            district.name,
            province.name
        );
        // Personal ID: birth-registration province, sex and century, year, serial.
        let century_digit = match (year / 100, sex) {
            (19, "1") => 0,
            (19, _) => 1,
            (_, "1") => 2,
            _ => 3,
        };
        let serial = (j as u64 * 7_919 + seed % 1_000) % 1_000_000;
        let id = format!(
            "0{}{century_digit}{:02}{serial:06}",
            province.code,
            year % 100
        );
        let personal_id = if age < 6 && r.u8(0..3) == 0 {
            None
        } else {
            Some(id)
        };
        // BHYT: most people; children under six always (TE).
        let insured = age < 6 || r.u8(0..100) < 85;
        let bhxh = format!(
            "{:010}",
            1_000_000_000 + (j as u64 * 104_729 + seed) % 8_999_999_999
        );
        let facility_here = c
            .facilities
            .iter()
            .find(|f| f.code.starts_with(province.code))
            .unwrap_or(&c.facilities[0]);
        let object = |age: u32, r: &mut fastrand::Rng| -> (&'static str, char) {
            match age {
                0..=5 => ("TE", '1'),
                6..=17 => ("HS", '4'),
                18..=21 => ("SV", '4'),
                60.. if r.bool() => ("HT", '3'),
                _ => match r.u8(0..10) {
                    0 => ("HN", '2'),
                    1..=5 => ("DN", '4'),
                    6 => ("CC", '1'),
                    _ => ("GD", '4'),
                },
            }
        };
        let mut cards = Vec::new();
        if insured {
            let card = |o: (&str, char)| format!("{}{}{}{bhxh}", o.0, o.1, province.code);
            // One in ten changed card during the period (e.g. pupil → student).
            if r.u8(0..10) == 0 && age > 1 {
                let before_age = age.saturating_sub(1);
                let days = (self.config.to - self.config.from).num_days().max(1);
                let since = self.config.from + chrono::Duration::days(r.i64(1..days));
                let mut first = object(before_age, &mut r);
                let second = object(age, &mut r);
                if first.0 == second.0 {
                    first = ("GD", '4');
                }
                cards.push(Card {
                    number: card(first),
                    primary_facility: facility_here.code.to_string(),
                    since: None,
                });
                cards.push(Card {
                    number: card(second),
                    primary_facility: facility_here.code.to_string(),
                    since: Some(since),
                });
                if cards[0].number == cards[1].number {
                    cards.pop();
                }
            } else {
                cards.push(Card {
                    number: card(object(age, &mut r)),
                    primary_facility: facility_here.code.to_string(),
                    since: None,
                });
            }
        }
        let ethnicity = if r.u8(0..10) < 8 {
            c.ethnicities[0].0
        } else {
            pick(&mut r, &c.ethnicities).0
        };
        let job = if age < 18 {
            c.jobs[0].0
        } else {
            pick(&mut r, &c.jobs).0
        };
        let phone = r.bool().then(|| format!("09{:08}", r.u32(0..100_000_000)));
        Person {
            index: j,
            name,
            sex,
            birth,
            personal_id,
            cards,
            province,
            district,
            commune,
            address,
            ethnicity,
            job,
            phone,
            nationality: "000",
        }
    }

    /// Which person episode `i` belongs to.
    pub fn person_of(&self, i: usize) -> usize {
        let mut r = rng(self.config.seed, 2, i as u64);
        r.usize(..self.config.persons)
    }

    /// Episode `i` (0-based), always the same for the same seed.
    pub fn episode(&self, i: usize) -> Episode {
        let person = self.person(self.person_of(i));
        episode::build(self, &person, i)
    }

    /// Episode `i` carrying one known fault (cycling through [`FAULTS`]).
    pub fn invalid_episode(&self, i: usize) -> (Fault, Vec<u8>) {
        let fault = FAULTS[i % FAULTS.len()];
        let e = self.episode(i);
        (fault, faults::apply(fault, &e, self.config.spec))
    }

    /// Every episode, lazily.
    pub fn episodes(&self) -> impl Iterator<Item = Episode> + '_ {
        (0..self.config.episodes).map(|i| self.episode(i))
    }
}
