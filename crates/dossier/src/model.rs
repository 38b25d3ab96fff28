//! The typed model: one struct per table (generated), the dossier of one episode,
//! the envelope and the check-in message.

use std::borrow::Cow;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

pub use crate::generated::{
    AntenatalRest, Appointment, BirthCertificate, CheckInRow, ClinicalNote, DischargePaper,
    DrugLine, HivCare, ParaclinicalResult, RecordSummary, Referral, ServiceLine, SickLeave,
    Summary, TbTreatment,
};
use crate::spec::Table;

/// The text of each field of one record, by slot of the table's superset record
/// (`None` for an absent or empty element).
pub type Values = Vec<Option<String>>;

/// The text of each field of one record as the parser reads it: borrowed from the
/// decoded document where it needed no change (no entity, trimmed, NFC already).
/// Only the fields the typed model keeps as text are copied out of it.
pub type Texts<'a> = Vec<Option<Cow<'a, str>>>;

/// A typed table record, convertible to and from its field texts.
pub trait Record: Sized {
    const TABLE: Table;
    /// Build from field texts, owned ([`Values`]) or borrowed ([`Texts`]). Texts that
    /// do not parse as the field's type become `None`; the validator has already
    /// reported them. Numbers and dates are read from the text without copying it.
    fn from_texts<S: conv::Text>(values: Vec<Option<S>>) -> Self;
    /// Build from owned field texts (as [`Record::from_texts`]).
    fn from_values(values: Values) -> Self {
        Self::from_texts(values)
    }
    /// The canonical text of every slot (what the writer emits).
    fn to_values(&self) -> Values;
}

/// A birth date as the format writes it (`NGAY_SINH`, `yyyyMMddHHmm`): day and month
/// may be unknown (`0000`), and so may the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    pub year: u16,
    /// 0 when unknown.
    pub month: u8,
    /// 0 when unknown.
    pub day: u8,
    /// `None` when the time is written `0000`.
    pub time: Option<(u8, u8)>,
}

impl BirthDate {
    /// Parse the 12-character form. Day and month must be both known or both `00`.
    pub fn parse(s: &str) -> Option<BirthDate> {
        let b = s.as_bytes();
        if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s[r].parse::<u16>().ok();
        let (year, month, day, hour, minute) =
            (n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?);
        if year < 1850 {
            return None;
        }
        match (month, day) {
            (0, 0) => {}
            (0, _) => return None,
            (m, 0) if (1..=12).contains(&m) => {}
            (m, d) => {
                NaiveDate::from_ymd_opt(year as i32, m as u32, d as u32)?;
            }
        }
        let time = match (hour, minute) {
            (0, 0) => None,
            (h, m) if h < 24 && m < 60 => Some((h as u8, m as u8)),
            _ => return None,
        };
        Some(BirthDate {
            year,
            month: month as u8,
            day: day as u8,
            time,
        })
    }

    /// The full date when day and month are known.
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year as i32, self.month as u32, self.day as u32)
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m) = self.time.unwrap_or((0, 0));
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, h, m
        )
    }
}

impl Serialize for BirthDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Conversions between field texts and typed values, used by the generated code.
pub mod conv {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    pub const DATETIME: &str = "%Y%m%d%H%M";
    pub const DATE: &str = "%Y%m%d";

    /// A field text, owned or borrowed: what the conversions below read.
    pub trait Text: AsRef<str> + Into<String> + Clone {}
    impl<T: AsRef<str> + Into<String> + Clone> Text for T {}

    pub fn text<S: Text>(v: Option<S>) -> Option<String> {
        v.map(Into::into)
    }
    pub fn int<S: Text>(v: Option<S>) -> Option<u32> {
        v?.as_ref().parse().ok()
    }
    pub fn dec<S: Text>(v: Option<S>) -> Option<Decimal> {
        Decimal::from_str(v?.as_ref()).ok()
    }
    pub fn datetime<S: Text>(v: Option<S>) -> Option<NaiveDateTime> {
        parse_datetime(v?.as_ref())
    }
    pub fn date<S: Text>(v: Option<S>) -> Option<NaiveDate> {
        parse_date(v?.as_ref())
    }
    pub fn birth<S: Text>(v: Option<S>) -> Option<BirthDate> {
        BirthDate::parse(v?.as_ref())
    }
    pub fn list<S: Text>(v: Option<S>) -> Vec<String> {
        v.map(|s| split_list(s.as_ref()).map(str::to_string).collect())
            .unwrap_or_default()
    }
    pub fn date_list<S: Text>(v: Option<S>) -> Vec<NaiveDate> {
        v.map(|s| split_list(s.as_ref()).filter_map(parse_date).collect())
            .unwrap_or_default()
    }
    pub fn dec_list<S: Text>(v: Option<S>) -> Vec<Decimal> {
        v.map(|s| {
            split_list(s.as_ref())
                .filter_map(|x| Decimal::from_str(x).ok())
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn w_text(v: &Option<String>) -> Option<String> {
        v.clone()
    }
    pub fn w_int(v: &Option<u32>) -> Option<String> {
        v.map(|x| x.to_string())
    }
    pub fn w_dec(v: &Option<Decimal>) -> Option<String> {
        v.map(|x| x.to_string())
    }
    pub fn w_datetime(v: &Option<NaiveDateTime>) -> Option<String> {
        v.map(|x| x.format(DATETIME).to_string())
    }
    pub fn w_date(v: &Option<NaiveDate>) -> Option<String> {
        v.map(|x| x.format(DATE).to_string())
    }
    pub fn w_birth(v: &Option<BirthDate>) -> Option<String> {
        v.map(|x| x.to_string())
    }
    pub fn w_list(v: &[String]) -> Option<String> {
        (!v.is_empty()).then(|| v.join(";"))
    }
    pub fn w_date_list(v: &[NaiveDate]) -> Option<String> {
        (!v.is_empty()).then(|| {
            v.iter()
                .map(|d| d.format(DATE).to_string())
                .collect::<Vec<_>>()
                .join(";")
        })
    }
    pub fn w_dec_list(v: &[Decimal]) -> Option<String> {
        (!v.is_empty()).then(|| {
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(";")
        })
    }

    /// Items of a ";"-list, without empty items.
    pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
        s.split(';').map(str::trim).filter(|x| !x.is_empty())
    }

    /// `yyyyMMddHHmm`, digits only.
    pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let d = parse_date(&s[..8])?;
        let (h, m) = (s[8..10].parse().ok()?, s[10..12].parse().ok()?);
        d.and_hms_opt(h, m, 0)
    }

    /// `yyyyMMdd`, digits only.
    pub fn parse_date(s: &str) -> Option<NaiveDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        NaiveDate::from_ymd_opt(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..8].parse().ok()?,
        )
    }
}

/// One care episode as sent: one `HOSO` of an envelope, its tables typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dossier {
    /// XML1 (exactly one in a valid dossier).
    pub summary: Option<Summary>,
    pub drugs: Vec<DrugLine>,
    pub services: Vec<ServiceLine>,
    pub results: Vec<ParaclinicalResult>,
    pub clinical_notes: Vec<ClinicalNote>,
    pub hiv_care: Vec<HivCare>,
    pub discharge: Option<DischargePaper>,
    pub record_summary: Option<RecordSummary>,
    pub births: Vec<BirthCertificate>,
    pub antenatal_rest: Option<AntenatalRest>,
    pub sick_leave: Option<SickLeave>,
    pub referral: Option<Referral>,
    pub appointment: Option<Appointment>,
    pub tb_treatment: Vec<TbTreatment>,
}

impl Dossier {
    /// The episode key (`MA_LK`) of XML1.
    pub fn ma_lk(&self) -> Option<&str> {
        self.summary.as_ref()?.ma_lk.as_deref()
    }

    /// The tables present, in table order.
    pub fn tables(&self) -> Vec<Table> {
        let mut t = Vec::new();
        let mut push = |present: bool, table| {
            if present {
                t.push(table)
            }
        };
        push(self.summary.is_some(), Table::Xml1);
        push(!self.drugs.is_empty(), Table::Xml2);
        push(!self.services.is_empty(), Table::Xml3);
        push(!self.results.is_empty(), Table::Xml4);
        push(!self.clinical_notes.is_empty(), Table::Xml5);
        push(!self.hiv_care.is_empty(), Table::Xml6);
        push(self.discharge.is_some(), Table::Xml7);
        push(self.record_summary.is_some(), Table::Xml8);
        push(!self.births.is_empty(), Table::Xml9);
        push(self.antenatal_rest.is_some(), Table::Xml10);
        push(self.sick_leave.is_some(), Table::Xml11);
        push(self.referral.is_some(), Table::Xml13);
        push(self.appointment.is_some(), Table::Xml14);
        push(!self.tb_treatment.is_empty(), Table::Xml15);
        t
    }

    /// The field texts of every row of `table`.
    pub fn rows(&self, table: Table) -> Vec<Values> {
        fn all<R: Record>(v: &[R]) -> Vec<Values> {
            v.iter().map(Record::to_values).collect()
        }
        fn one<R: Record>(v: &Option<R>) -> Vec<Values> {
            v.iter().map(Record::to_values).collect()
        }
        match table {
            Table::Xml0 => Vec::new(),
            Table::Xml1 => one(&self.summary),
            Table::Xml2 => all(&self.drugs),
            Table::Xml3 => all(&self.services),
            Table::Xml4 => all(&self.results),
            Table::Xml5 => all(&self.clinical_notes),
            Table::Xml6 => all(&self.hiv_care),
            Table::Xml7 => one(&self.discharge),
            Table::Xml8 => one(&self.record_summary),
            Table::Xml9 => all(&self.births),
            Table::Xml10 => one(&self.antenatal_rest),
            Table::Xml11 => one(&self.sick_leave),
            Table::Xml13 => one(&self.referral),
            Table::Xml14 => one(&self.appointment),
            Table::Xml15 => all(&self.tb_treatment),
        }
    }

    /// Store the rows of one table (replacing what was there).
    pub fn set_rows(&mut self, table: Table, rows: Vec<Values>) {
        self.put(table, rows)
    }

    /// Store the rows of one table as read (replacing what was there).
    pub fn set_texts(&mut self, table: Table, rows: Vec<Texts<'_>>) {
        self.put(table, rows)
    }

    fn put<S: conv::Text>(&mut self, table: Table, rows: Vec<Vec<Option<S>>>) {
        fn all<R: Record, S: conv::Text>(rows: Vec<Vec<Option<S>>>) -> Vec<R> {
            rows.into_iter().map(R::from_texts).collect()
        }
        fn one<R: Record, S: conv::Text>(rows: Vec<Vec<Option<S>>>) -> Option<R> {
            rows.into_iter().next().map(R::from_texts)
        }
        match table {
            Table::Xml0 => {}
            Table::Xml1 => self.summary = one(rows),
            Table::Xml2 => self.drugs = all(rows),
            Table::Xml3 => self.services = all(rows),
            Table::Xml4 => self.results = all(rows),
            Table::Xml5 => self.clinical_notes = all(rows),
            Table::Xml6 => self.hiv_care = all(rows),
            Table::Xml7 => self.discharge = one(rows),
            Table::Xml8 => self.record_summary = one(rows),
            Table::Xml9 => self.births = all(rows),
            Table::Xml10 => self.antenatal_rest = one(rows),
            Table::Xml11 => self.sick_leave = one(rows),
            Table::Xml13 => self.referral = one(rows),
            Table::Xml14 => self.appointment = one(rows),
            Table::Xml15 => self.tb_treatment = all(rows),
        }
    }
}

/// A `GIAMDINHHS` envelope: the sending facility, its episodes and its signature.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// `THONGTINDONVI/MACSKCB`.
    pub facility: String,
    /// `THONGTINHOSO/NGAYLAP` as written (vendors write `yyyyMMdd`).
    pub created: String,
    /// `SOLUONGHOSO` as declared.
    pub declared_count: Option<u32>,
    pub dossiers: Vec<Dossier>,
    /// The `CHUKYDONVI` element exactly as received (start tag to end tag), for
    /// signature verification; empty when absent.
    #[serde(skip)]
    pub signature: Vec<u8>,
}

/// A check-in message (XML0): one or more episode starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckIn {
    pub rows: Vec<CheckInRow>,
    #[serde(skip)]
    pub signature: Vec<u8>,
}
