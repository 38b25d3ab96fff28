//! Report facts: the population registry, and aggregates kept current at ingest (one
//! row update per dossier, check-in or commit) so that reports read small tables, never
//! the 10 M episodes. `rebuild_reports` recomputes them from the rows they count; a
//! test checks that both give the same numbers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::core::{BatchState, cols, opt_text};
use crate::db::{Arg, Db, Q, args};
use crate::engine::{Backend, Engine};
use crate::*;

/// Upper bounds (ms) of the receipt → visible histogram; the last bucket is open.
pub const SLA_BOUNDS_MS: [i64; 9] = [
    10, 50, 100, 500, 1_000, 10_000, 60_000, 3_600_000, 86_400_000,
];

/// Data-quality flags of an episode.
pub const DQ_PERSONAL_ID: i64 = 1;
pub const DQ_CARD: i64 = 2;
pub const DQ_ICD: i64 = 4;

const DAY_MS: i64 = 86_400_000;
const VN_OFFSET_MS: i64 = 7 * 3_600_000;

/// The Vietnam date (`yyyy-mm-dd`) of an instant.
pub fn vn_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + VN_OFFSET_MS)
        .map(|d| d.naive_utc().format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `yyyy-mm-dd` of a format timestamp `yyyyMMddHHmm`.
fn wall_day(s: &str) -> Option<String> {
    (s.len() >= 8 && s.is_ascii()).then(|| format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..8]))
}

/// The instant (ms) of a format timestamp `yyyyMMddHHmm`, read as Vietnam wall clock.
fn wall_ms(s: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(s.get(..12)?, "%Y%m%d%H%M").ok()?;
    Some(t.and_utc().timestamp_millis() - VN_OFFSET_MS)
}

/// Which lateness column of `facility_daily` (late_6h, late_24h, late_3d, late_7d,
/// late_more, late_unknown: the order of [`FacilityStat::late`]) a receipt `late_ms` after the episode's end counts in.
fn late_bucket(late_ms: Option<i64>) -> usize {
    match late_ms {
        None => 5,
        Some(x) if x <= 6 * 3_600_000 => 0,
        Some(x) if x <= DAY_MS => 1,
        Some(x) if x <= 3 * DAY_MS => 2,
        Some(x) if x <= 7 * DAY_MS => 3,
        Some(_) => 4,
    }
}

#[cfg(test)]
fn late_column(late_ms: Option<i64>) -> &'static str {
    [
        "late_6h",
        "late_24h",
        "late_3d",
        "late_7d",
        "late_more",
        "late_unknown",
    ][late_bucket(late_ms)]
}

fn sla_bucket(ms: i64) -> i64 {
    SLA_BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(SLA_BOUNDS_MS.len()) as i64
}

/// Add (`sign` 1) or take away (-1) what one resident counts for in adoption.
fn contribute(
    db: &dyn Db,
    unit: &str,
    status: &str,
    book_since: Option<&str>,
    account_since: Option<&str>,
    sign: i64,
) -> Result<()> {
    let mut a = Adoption::default();
    a.add(unit, status, book_since, account_since, sign);
    a.write(db)
}

/// Changes to the adoption counters, summed by key before they are written: a
/// registry import touches each unit's row thousands of times, and PostgreSQL keeps
/// every version of a row updated again and again in one transaction (each update
/// then walks them all).
#[derive(Default)]
pub(crate) struct Adoption {
    /// unit → residents alive
    units: HashMap<String, i64>,
    /// (unit, month) → (books, accounts)
    months: HashMap<(String, String), (i64, i64)>,
}

impl Adoption {
    pub(crate) fn add(
        &mut self,
        unit: &str,
        status: &str,
        book_since: Option<&str>,
        account_since: Option<&str>,
        sign: i64,
    ) {
        if status != "alive" {
            return;
        }
        *self.units.entry(unit.to_string()).or_default() += sign;
        for (month, books, accounts) in [(book_since, sign, 0), (account_since, 0, sign)] {
            if let Some(m) = month {
                let e = self
                    .months
                    .entry((unit.to_string(), m.to_string()))
                    .or_default();
                e.0 += books;
                e.1 += accounts;
            }
        }
    }

    /// Every key touched, once, in sorted order.
    pub(crate) fn write(self, db: &dyn Db) -> Result<()> {
        let mut units: Vec<_> = self.units.into_iter().collect();
        units.sort_unstable();
        for (unit, n) in units {
            db.exec_later(Q::AdoptionUnitAdd, args![unit, n])?;
        }
        let mut months: Vec<_> = self.months.into_iter().collect();
        months.sort_unstable();
        for ((unit, m), (books, accounts)) in months {
            db.exec_later(Q::AdoptionMonthAdd, args![unit, m, books, accounts])?;
        }
        Ok(())
    }
}

pub(crate) type ResidentState = (String, String, Option<String>, Option<String>);

fn resident_state(
    db: &dyn Db,
    state: &mut BatchState<'_>,
    personal_id: &str,
) -> Result<Option<ResidentState>> {
    if let Some(state) = state.residents.get(personal_id) {
        return Ok(state.clone());
    }
    db.one(
        Q::ResidentState,
        args![resident_key(db, personal_id)?],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

/// How the registry finds a resident: the blind index of their personal ID.
pub(crate) fn resident_key(db: &dyn Db, personal_id: &str) -> Result<String> {
    db.crypt()
        .blind(book::IdKind::PersonalId.code(), personal_id)
}

/// A resident's first book month moved earlier (or appeared), or their account was
/// activated: keep the adoption counts in step.
fn set_since(
    db: &dyn Db,
    state: &mut BatchState<'_>,
    personal_id: &str,
    person: Option<i64>,
    book: Option<&str>,
    account: Option<&str>,
) -> Result<()> {
    let Some((unit, status, old_book, old_account)) = resident_state(db, state, personal_id)?
    else {
        return Ok(());
    };
    let new_book = match (book, &old_book) {
        (Some(n), Some(o)) if n < o.as_str() => Some(n.to_string()),
        (Some(n), None) => Some(n.to_string()),
        _ => old_book.clone(),
    };
    // The account month is the first activation's.
    let new_account = old_account.clone().or(account.map(str::to_string));
    if new_book == old_book && new_account == old_account {
        if let Some(p) = person {
            db.exec_later(
                Q::PopulationLinkPerson,
                args![resident_key(db, personal_id)?, p],
            )?;
        }
        return Ok(());
    }
    contribute(
        db,
        &unit,
        &status,
        old_book.as_deref(),
        old_account.as_deref(),
        -1,
    )?;
    db.exec_later(
        Q::PopulationSince,
        args![
            resident_key(db, personal_id)?,
            person,
            new_book,
            new_account
        ],
    )?;
    state.residents.remove(personal_id);
    contribute(
        db,
        &unit,
        &status,
        new_book.as_deref(),
        new_account.as_deref(),
        1,
    )
}

/// A first receipt of an episode: counted for its facility, start day, care type
/// and BHYT; lateness; data quality; the person's place in the population registry.
pub(crate) fn on_new_episode(
    db: &dyn Db,
    state: &mut BatchState<'_>,
    e: &ReadyEpisode,
    person: i64,
    episode_id: i64,
    received_at: i64,
) -> Result<()> {
    let day = e
        .start_at
        .as_deref()
        .and_then(wall_day)
        .unwrap_or_else(|| vn_day(received_at));
    let late = e
        .end_at
        .as_deref()
        .and_then(wall_ms)
        .map(|end| received_at - end);
    let mut counts = [0i64; 10];
    counts[0] = 1;
    counts[1] = (e.dq_flags & DQ_PERSONAL_ID != 0) as i64;
    counts[2] = (e.dq_flags & DQ_CARD != 0) as i64;
    counts[3] = (e.dq_flags & DQ_ICD != 0) as i64;
    counts[4 + late_bucket(late)] = 1;
    let key = (
        e.facility.clone(),
        day,
        e.care_type.clone().unwrap_or_default(),
        e.insured,
    );
    let sum = state.sums.daily.entry(key).or_default();
    for (s, c) in sum.episodes.iter_mut().zip(counts) {
        *s += c;
    }
    if let (Some(late), Some(end)) = (late, e.end_at.as_deref())
        && late > DAY_MS
    {
        let row: crate::core::LateRow = (
            e.facility.clone(),
            e.ma_lk.clone(),
            person,
            episode_id,
            end.to_string(),
            received_at,
            late / 3_600_000,
        );
        if state.multi_row {
            state.late.push(row);
        } else {
            let (f, m, p, id, end, at, h) = &row;
            db.exec_later(Q::InsertLateDossier, args![f, m, p, id, end, at, h])?;
        }
    }
    if let Some(pid) = e.claims.get(book::IdKind::PersonalId).next() {
        let month = &vn_day(received_at)[..7];
        set_since(db, state, &pid.value, Some(person), Some(month), None)?;
    }
    Ok(())
}

/// A check-in row (XML0): an episode started.
pub(crate) fn on_checkin(
    sums: &mut Sums,
    facility: &str,
    started_at: Option<&str>,
    care_type: Option<&str>,
    insured: bool,
    received_at: i64,
) {
    let day = started_at
        .and_then(wall_day)
        .unwrap_or_else(|| vn_day(received_at));
    let key = (
        facility.to_string(),
        day,
        care_type.unwrap_or("").to_string(),
        insured,
    );
    sums.daily.entry(key).or_default().checkins += 1;
}

/// The error codes of a submission's findings (JSON), each once.
fn error_codes(findings_json: &str) -> Vec<String> {
    let findings: Vec<serde_json::Value> = serde_json::from_str(findings_json).unwrap_or_default();
    let mut codes: Vec<String> = findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// A submission received: counted, and its error codes when rejected in part or whole.
pub(crate) fn on_receipt(
    sums: &mut Sums,
    facility: &str,
    received_at: i64,
    accepted: bool,
    findings_json: &str,
    signature: Option<&str>,
) {
    let day = vn_day(received_at);
    *sums
        .signatures
        .entry((
            facility.to_string(),
            day.clone(),
            signature.unwrap_or("not_checked").to_string(),
        ))
        .or_default() += 1;
    let r = sums
        .receipts
        .entry((facility.to_string(), day.clone()))
        .or_default();
    r.0 += 1;
    r.1 += (!accepted) as i64;
    r.2 = r.2.max(received_at);
    for c in error_codes(findings_json) {
        *sums
            .errors
            .entry((facility.to_string(), day.clone(), c))
            .or_default() += 1;
    }
}

/// A commit made a submission of `facility` show its episodes `latency_ms` after its
/// receipt: counted for the country (`sla_daily`) and for the facility (`facility_sla`).
pub(crate) fn on_visible(sums: &mut Sums, facility: &str, received_at: i64, latency_ms: i64) {
    let (day, bucket) = (vn_day(received_at), sla_bucket(latency_ms));
    *sums
        .facility_sla
        .entry((facility.to_string(), day.clone(), bucket))
        .or_default() += 1;
    *sums.sla.entry((day, bucket)).or_default() += 1;
}

/// What one facility did on one day, for one care type and BHYT or not.
#[derive(Default)]
pub(crate) struct DailySum {
    /// Dossiers, with a personal ID, with a card, with an ICD-10 code, then the six
    /// lateness buckets.
    episodes: [i64; 10],
    checkins: i64,
}

/// The report counters a batch adds to, summed by key; written once per key at the
/// batch's end, in its transaction (a batch of 512 submissions of one facility and day
/// is a handful of statements instead of several per submission).
#[derive(Default)]
pub(crate) struct Sums {
    /// (facility, day, care type, insured)
    daily: HashMap<(String, String, String, bool), DailySum>,
    /// (facility, day) → (submissions, rejected, last received)
    receipts: HashMap<(String, String), (i64, i64, i64)>,
    /// (facility, day, error code) → submissions with it
    errors: HashMap<(String, String, String), i64>,
    /// (day, latency bucket) → submissions
    sla: HashMap<(String, i64), i64>,
    /// (facility, day, latency bucket) → submissions
    facility_sla: HashMap<(String, String, i64), i64>,
    /// (facility, day, signature verdict) → submissions
    signatures: HashMap<(String, String, String), i64>,
}

impl Sums {
    /// Add the sums to the counters, in an order that does not depend on the hash
    /// (two servers adding to the same rows take their row locks in one order).
    ///
    /// `multi_row` (PostgreSQL): the daily episode counters, one row for nearly every
    /// dossier of a batch, go in one multi-row upsert.
    pub(crate) fn write(mut self, db: &dyn Db, multi_row: bool) -> Result<()> {
        if multi_row {
            let mut daily: Vec<_> = self
                .daily
                .iter_mut()
                .filter(|(_, d)| d.episodes[0] > 0)
                .map(|(k, d)| (k.clone(), std::mem::take(&mut d.episodes)))
                .collect();
            daily.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let rows: Vec<Vec<Arg<'_>>> = daily
                .iter()
                .map(|((facility, day, care, insured), e)| {
                    let mut row = vec![
                        Arg::Text(facility),
                        Arg::Text(day),
                        Arg::Text(care),
                        Arg::Bool(*insured),
                    ];
                    row.extend(e.iter().map(|n| Arg::Int(*n)));
                    row
                })
                .collect();
            if !rows.is_empty() {
                let columns = cols(&[
                    "facility",
                    "day",
                    "care_type",
                    "insured",
                    "dossiers",
                    "with_personal_id",
                    "with_card",
                    "with_icd",
                    "late_6h",
                    "late_24h",
                    "late_3d",
                    "late_7d",
                    "late_more",
                    "late_unknown",
                ]);
                db.upsert_rows(
                    "facility_daily",
                    &columns,
                    &rows,
                    "ON CONFLICT (facility, day, care_type, insured) DO UPDATE SET
                       dossiers = facility_daily.dossiers + excluded.dossiers,
                       with_personal_id = facility_daily.with_personal_id + excluded.with_personal_id,
                       with_card = facility_daily.with_card + excluded.with_card,
                       with_icd = facility_daily.with_icd + excluded.with_icd,
                       late_6h = facility_daily.late_6h + excluded.late_6h,
                       late_24h = facility_daily.late_24h + excluded.late_24h,
                       late_3d = facility_daily.late_3d + excluded.late_3d,
                       late_7d = facility_daily.late_7d + excluded.late_7d,
                       late_more = facility_daily.late_more + excluded.late_more,
                       late_unknown = facility_daily.late_unknown + excluded.late_unknown",
                )?;
            }
        }
        let mut daily: Vec<_> = self.daily.into_iter().collect();
        daily.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for ((facility, day, care, insured), d) in daily {
            let e = d.episodes;
            if e[0] > 0 {
                db.exec_later(
                    Q::FacilityDailyEpisode,
                    args![
                        facility, day, care, insured, e[0], e[1], e[2], e[3], e[4], e[5], e[6],
                        e[7], e[8], e[9]
                    ],
                )?;
            }
            if d.checkins > 0 {
                db.exec_later(
                    Q::FacilityDailyCheckin,
                    args![facility, day, care, insured, d.checkins],
                )?;
            }
        }
        let mut receipts: Vec<_> = self.receipts.into_iter().collect();
        receipts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for ((facility, day), (n, rejected, last)) in receipts {
            db.exec_later(Q::FacilityReceipt, args![facility, day, n, rejected, last])?;
        }
        let mut errors: Vec<_> = self.errors.into_iter().collect();
        errors.sort_unstable();
        for ((facility, day, code), n) in errors {
            db.exec_later(Q::FacilityError, args![facility, day, code, n])?;
        }
        let mut signatures: Vec<_> = self.signatures.into_iter().collect();
        signatures.sort_unstable();
        for ((facility, day, status), n) in signatures {
            db.exec_later(Q::FacilitySignature, args![facility, day, status, n])?;
        }
        let mut sla: Vec<_> = self.sla.into_iter().collect();
        sla.sort_unstable();
        for ((day, bucket), n) in sla {
            db.exec_later(Q::SlaCount, args![day, bucket, n])?;
        }
        let mut facility_sla: Vec<_> = self.facility_sla.into_iter().collect();
        facility_sla.sort_unstable();
        for ((facility, day, bucket), n) in facility_sla {
            db.exec_later(Q::FacilitySlaCount, args![facility, day, bucket, n])?;
        }
        Ok(())
    }
}

/// A citizen account was activated.
pub(crate) fn on_activation(db: &dyn Db, personal_id: &str, at: i64) -> Result<()> {
    set_since(
        db,
        &mut BatchState::default(),
        personal_id,
        None,
        None,
        Some(&vn_day(at)[..7]),
    )
}

/// A resident as the population registry lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    pub personal_id: String,
    pub name: Option<String>,
    pub birth: Option<String>,
    pub sex: Option<String>,
    /// Residence: commune (or district) code.
    pub unit: String,
    /// alive | moved | dead
    pub status: String,
}

pub const RESIDENT_STATUSES: [&str; 3] = ["alive", "moved", "dead"];

/// Adoption counts of one residence unit (residents alive).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AdoptionRow {
    pub unit: String,
    pub population: i64,
    pub with_book: i64,
    pub with_account: i64,
}

/// New books and accounts of one unit and month.
#[derive(Clone, Debug, Serialize)]
pub struct TrendRow {
    pub unit: String,
    pub month: String,
    pub books: i64,
    pub accounts: i64,
}

/// One facility × care type × BHYT over a period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FacilityStat {
    pub facility: String,
    pub care_type: String,
    pub insured: bool,
    pub checkins: i64,
    pub dossiers: i64,
    /// Received within 6 h, 6–24 h, 1–3 d, 3–7 d, over 7 d after NGAY_RA; unknown.
    pub late: [i64; 6],
    pub with_personal_id: i64,
    pub with_card: i64,
    pub with_icd: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReceiptStat {
    pub facility: String,
    pub submissions: i64,
    pub rejected: i64,
    pub last_at: i64,
}

/// Submissions of one facility received on one day whose episodes became visible
/// within one latency bucket ([`SLA_BOUNDS_MS`]; the last bucket is open).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacilitySla {
    pub facility: String,
    pub day: String,
    pub bucket: i64,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorStat {
    pub facility: String,
    pub code: String,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LateDossier {
    pub facility: String,
    pub ma_lk: String,
    pub person_id: i64,
    pub episode_id: i64,
    pub ended_at: String,
    pub received_at: i64,
    pub hours: i64,
}

/// A department's line of the monthly unit report (Phụ lục 1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitReportLine {
    pub department: String,
    pub total_staff: i64,
    pub vneid_activated: i64,
    pub vneid_not: i64,
    #[serde(default)]
    pub vneid_reason: Option<String>,
    pub book_created: i64,
    pub card_integrated: i64,
    pub card_not: i64,
    #[serde(default)]
    pub card_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UnitReport {
    pub unit: String,
    pub month: String,
    pub lines: Vec<UnitReportLine>,
    pub submitted_by: String,
    pub submitted_at: i64,
}

/// Report facts. Part of every [`Store`].
pub trait Reports {
    /// Load residents (all or none); re-importing a personal ID updates it. Links each
    /// to the book: their person, first episode and account.
    fn import_population(&self, residents: &[Resident]) -> Result<usize>;
    /// Residents alive, with a book, with an account, per residence unit.
    fn adoption(&self) -> Result<Vec<AdoptionRow>>;
    /// New books and accounts per residence unit and month (residents alive).
    fn adoption_trend(&self) -> Result<Vec<TrendRow>>;
    /// Per facility, care type and BHYT, for episodes started between the days (inclusive).
    fn facility_stats(&self, from: &str, to: &str) -> Result<Vec<FacilityStat>>;
    /// Submissions and rejections per facility received between the days.
    fn receipt_stats(&self, from: &str, to: &str) -> Result<Vec<ReceiptStat>>;
    /// The last receipt of every facility that ever sent.
    fn last_receipts(&self) -> Result<Vec<(String, i64)>>;
    fn error_stats(&self, from: &str, to: &str) -> Result<Vec<ErrorStat>>;
    /// (day, bucket, count) of receipt → visible, days between `from` and `to`.
    fn sla_histogram(&self, from: &str, to: &str) -> Result<Vec<(String, i64, i64)>>;
    /// The same per facility that sent the submissions (the country's histogram is the
    /// sum over the facilities), days of receipt between `from_day` and `to_day`
    /// (`yyyy-mm-dd`, Vietnam time), ordered by facility, day and bucket.
    fn facility_sla(&self, from_day: &str, to_day: &str) -> Result<Vec<FacilitySla>>;
    /// Dossiers received over 24 hours after their episode ended, in the period.
    fn late_dossiers(&self, from_ms: i64, to_ms: i64, limit: usize) -> Result<Vec<LateDossier>>;
    /// Open identity conflicts per facility.
    fn open_conflicts(&self) -> Result<Vec<(String, i64)>>;
    fn save_unit_report(
        &self,
        unit: &str,
        month: &str,
        lines: &[UnitReportLine],
        by: &str,
    ) -> Result<()>;
    fn unit_reports(&self, month: &str) -> Result<Vec<UnitReport>>;
    /// Recompute every aggregate from the rows it counts.
    fn rebuild_reports(&self) -> Result<()>;
}

fn month_ok(m: &str) -> bool {
    m.len() == 7
        && m.as_bytes()[4] == b'-'
        && m[..4].chars().all(|c| c.is_ascii_digit())
        && matches!(m[5..].parse::<u32>(), Ok(1..=12))
}

/// Residents written per round of batch reads and multi-row writes.
const POPULATION_CHUNK: usize = 1_000;

/// Write residents (distinct personal IDs, sorted) and link each to the person who
/// holds their personal ID: a handful of statements for the chunk, whatever its size.
/// No lock is taken on the personal IDs (an import of a province's registry would
/// hold millions until its commit): a person created by an ingest that commits while
/// the import runs is linked at their next dossier (`set_since`).
pub(crate) fn import_residents(
    db: &dyn Db,
    chunk: &[&Resident],
    now: i64,
    adoption: &mut Adoption,
) -> Result<()> {
    // Everything below is keyed by the blind index of the personal ID (the registry
    // and the identifier keys store nothing else); names and birth dates are sealed to it.
    let crypt = db.crypt();
    let ids: Vec<String> = chunk
        .iter()
        .map(|r| resident_key(db, &r.personal_id))
        .collect::<Result<_>>()?;
    let sealed: Vec<(Option<String>, Option<String>)> = chunk
        .iter()
        .zip(&ids)
        .map(|(r, key)| {
            let seal = |column: &str, v: &Option<String>| {
                v.as_deref()
                    .map(|v| crypt.seal_bound_str(column, key, v))
                    .transpose()
            };
            Ok((
                seal("population.name", &r.name)?,
                seal("population.birth", &r.birth)?,
            ))
        })
        .collect::<Result<_>>()?;
    let mut before: HashMap<String, ResidentState> = HashMap::with_capacity(chunk.len());
    db.query(Q::ResidentStates, args![ids], &mut |r| {
        before.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
        Ok(true)
    })?;
    let kinds: Vec<String> = vec!["personal_id".to_string(); ids.len()];
    let mut owner: HashMap<String, i64> = HashMap::new();
    db.query(Q::IdentifierOwners, args![kinds, ids], &mut |r| {
        if let Some(p) = r.get::<Option<i64>>(2)? {
            owner.insert(r.get(1)?, p);
        }
        Ok(true)
    })?;
    let mut persons: Vec<i64> = owner.values().copied().collect();
    persons.sort_unstable();
    persons.dedup();
    let month = |t: i64| vn_day(t)[..7].to_string();
    let mut since: HashMap<i64, String> = HashMap::new();
    let mut activated: HashMap<i64, String> = HashMap::new();
    if !persons.is_empty() {
        db.query(Q::FirstReceipts, args![persons], &mut |r| {
            if let Some(t) = r.get::<Option<i64>>(1)? {
                since.insert(r.get(0)?, month(t));
            }
            Ok(true)
        })?;
        db.query(Q::AccountsActivatedAt, args![persons], &mut |r| {
            if let Some(t) = r.get::<Option<i64>>(1)? {
                activated.insert(r.get(0)?, month(t));
            }
            Ok(true)
        })?;
    }
    let mut linked: Vec<Vec<Arg<'_>>> = Vec::new();
    let mut unlinked: Vec<Vec<Arg<'_>>> = Vec::new();
    for ((r, key), (name, birth)) in chunk.iter().zip(&ids).zip(&sealed) {
        let old = before.get(key);
        if let Some((unit, status, book, account)) = old {
            adoption.add(unit, status, book.as_deref(), account.as_deref(), -1);
        }
        let mut row = vec![
            Arg::Text(key),
            opt_text(name),
            opt_text(birth),
            opt_text(&r.sex),
            Arg::Text(&r.unit),
            Arg::Text(&r.status),
            Arg::Int(now),
        ];
        let (book, account) = match owner.get(key) {
            Some(p) => {
                let (book, account) = (since.get(p), activated.get(p));
                row.push(Arg::Int(*p));
                row.push(book.map_or(Arg::Null, |m| Arg::Text(m)));
                row.push(account.map_or(Arg::Null, |m| Arg::Text(m)));
                linked.push(row);
                (book.map(String::as_str), account.map(String::as_str))
            }
            // Not in the book: the link and months it had, if any, stay.
            None => {
                unlinked.push(row);
                old.map_or((None, None), |(_, _, b, a)| (b.as_deref(), a.as_deref()))
            }
        };
        adoption.add(&r.unit, &r.status, book, account, 1);
    }
    let mut columns = cols(&[
        "personal_id",
        "name",
        "birth",
        "sex",
        "unit",
        "status",
        "updated_at",
    ]);
    if !unlinked.is_empty() {
        db.upsert_rows(
            "population",
            &columns,
            &unlinked,
            "ON CONFLICT (personal_id) DO UPDATE SET name = excluded.name, birth = excluded.birth, \
             sex = excluded.sex, unit = excluded.unit, status = excluded.status, updated_at = excluded.updated_at",
        )?;
    }
    if !linked.is_empty() {
        columns.extend(cols(&["person_id", "book_since", "account_since"]));
        db.upsert_rows(
            "population",
            &columns,
            &linked,
            "ON CONFLICT (personal_id) DO UPDATE SET name = excluded.name, birth = excluded.birth, \
             sex = excluded.sex, unit = excluded.unit, status = excluded.status, updated_at = excluded.updated_at, \
             person_id = excluded.person_id, book_since = excluded.book_since, account_since = excluded.account_since",
        )?;
    }
    Ok(())
}

impl<B: Backend> Reports for Engine<B> {
    fn import_population(&self, residents: &[Resident]) -> Result<usize> {
        for (i, r) in residents.iter().enumerate() {
            if dossier::ids::person_id(&r.personal_id) != Ok(dossier::ids::PersonIdKind::PersonalId)
            {
                return Err(StoreError::Invalid(format!(
                    "resident {}: personal_id {:?} is not a 12-digit personal ID",
                    i + 1,
                    r.personal_id
                )));
            }
            if !RESIDENT_STATUSES.contains(&r.status.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "resident {}: status {:?} is not one of {RESIDENT_STATUSES:?}",
                    i + 1,
                    r.status
                )));
            }
        }
        // The last line of a personal ID wins, as if the lines were imported one after
        // another; sorted, so that concurrent imports lock rows in one order however
        // the file is chunked.
        let mut last: HashMap<&str, &Resident> = HashMap::with_capacity(residents.len());
        for r in residents {
            last.insert(r.personal_id.as_str(), r);
        }
        let mut unique: Vec<&Resident> = last.into_values().collect();
        unique.sort_unstable_by(|a, b| a.personal_id.cmp(&b.personal_id));
        let now = now_ms();
        self.write(|db| {
            let mut units: HashMap<&str, bool> = HashMap::new();
            for r in &unique {
                let known = match units.get(r.unit.as_str()) {
                    Some(k) => *k,
                    None => {
                        let k = db.exists(Q::UnitExists, args![r.unit])?;
                        units.insert(r.unit.as_str(), k);
                        k
                    }
                };
                if !known {
                    return Err(StoreError::Invalid(format!(
                        "resident {}: unit {} is not registered",
                        r.personal_id, r.unit
                    )));
                }
            }
            let mut adoption = Adoption::default();
            for chunk in unique.chunks(POPULATION_CHUNK) {
                // Every resident gets a person (and so a book) and a QĐ 831 record.
                let held = crate::records::create_persons(db, chunk, &|| self.ids.next(), now)?;
                import_residents(db, chunk, now, &mut adoption)?;
                crate::records::create_records(db, chunk, &held, now)?;
            }
            adoption.write(db)?;
            Ok(residents.len())
        })
    }

    fn adoption(&self) -> Result<Vec<AdoptionRow>> {
        self.read(|db| {
            let mut out: std::collections::BTreeMap<String, AdoptionRow> =
                std::collections::BTreeMap::new();
            db.query(Q::AdoptionUnits, args![], &mut |r| {
                let (unit, alive): (String, i64) = (r.get(0)?, r.get(1)?);
                out.entry(unit.clone())
                    .or_insert_with(|| AdoptionRow {
                        unit,
                        ..AdoptionRow::default()
                    })
                    .population = alive;
                Ok(true)
            })?;
            db.query(Q::AdoptionTotals, args![], &mut |r| {
                let (unit, books, accounts): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let e = out.entry(unit.clone()).or_insert_with(|| AdoptionRow {
                    unit,
                    ..AdoptionRow::default()
                });
                e.with_book = books;
                e.with_account = accounts;
                Ok(true)
            })?;
            Ok(out.into_values().filter(|r| r.population > 0).collect())
        })
    }

    fn adoption_trend(&self) -> Result<Vec<TrendRow>> {
        self.read(|db| {
            db.all(Q::AdoptionTrend, args![], |r| {
                Ok(TrendRow {
                    unit: r.get(0)?,
                    month: r.get(1)?,
                    books: r.get(2)?,
                    accounts: r.get(3)?,
                })
            })
        })
    }

    fn facility_stats(&self, from: &str, to: &str) -> Result<Vec<FacilityStat>> {
        self.read(|db| {
            db.all(Q::FacilityStats, args![from, to], |r| {
                Ok(FacilityStat {
                    facility: r.get(0)?,
                    care_type: r.get(1)?,
                    insured: r.get(2)?,
                    checkins: r.get(3)?,
                    dossiers: r.get(4)?,
                    late: [
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                    ],
                    with_personal_id: r.get(11)?,
                    with_card: r.get(12)?,
                    with_icd: r.get(13)?,
                })
            })
        })
    }

    fn receipt_stats(&self, from: &str, to: &str) -> Result<Vec<ReceiptStat>> {
        self.read(|db| {
            db.all(Q::ReceiptStats, args![from, to], |r| {
                Ok(ReceiptStat {
                    facility: r.get(0)?,
                    submissions: r.get(1)?,
                    rejected: r.get(2)?,
                    last_at: r.get(3)?,
                })
            })
        })
    }

    fn last_receipts(&self) -> Result<Vec<(String, i64)>> {
        self.read(|db| db.all(Q::LastReceipts, args![], |r| Ok((r.get(0)?, r.get(1)?))))
    }

    fn error_stats(&self, from: &str, to: &str) -> Result<Vec<ErrorStat>> {
        self.read(|db| {
            db.all(Q::ErrorStats, args![from, to], |r| {
                Ok(ErrorStat {
                    facility: r.get(0)?,
                    code: r.get(1)?,
                    count: r.get(2)?,
                })
            })
        })
    }

    fn sla_histogram(&self, from: &str, to: &str) -> Result<Vec<(String, i64, i64)>> {
        self.read(|db| {
            db.all(Q::SlaHistogram, args![from, to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
    }

    fn facility_sla(&self, from_day: &str, to_day: &str) -> Result<Vec<FacilitySla>> {
        self.read(|db| {
            db.all(Q::FacilitySla, args![from_day, to_day], |r| {
                Ok(FacilitySla {
                    facility: r.get(0)?,
                    day: r.get(1)?,
                    bucket: r.get(2)?,
                    count: r.get(3)?,
                })
            })
        })
    }

    fn late_dossiers(&self, from_ms: i64, to_ms: i64, limit: usize) -> Result<Vec<LateDossier>> {
        self.read(|db| {
            db.all(Q::LateDossiers, args![from_ms, to_ms, limit], |r| {
                Ok(LateDossier {
                    facility: r.get(0)?,
                    ma_lk: r.get(1)?,
                    person_id: r.get(2)?,
                    episode_id: r.get(3)?,
                    ended_at: r.get(4)?,
                    received_at: r.get(5)?,
                    hours: r.get(6)?,
                })
            })
        })
    }

    fn open_conflicts(&self) -> Result<Vec<(String, i64)>> {
        self.read(|db| db.all(Q::OpenConflicts, args![], |r| Ok((r.get(0)?, r.get(1)?))))
    }

    fn save_unit_report(
        &self,
        unit: &str,
        month: &str,
        lines: &[UnitReportLine],
        by: &str,
    ) -> Result<()> {
        if !month_ok(month) {
            return Err(StoreError::Invalid(format!("month {month:?}: yyyy-mm")));
        }
        if lines.is_empty() {
            return Err(StoreError::Invalid(
                "a report has at least one department".into(),
            ));
        }
        for l in lines {
            let d = &l.department;
            if d.trim().is_empty() {
                return Err(StoreError::Invalid("department: name is empty".into()));
            }
            let counts = [
                l.total_staff,
                l.vneid_activated,
                l.vneid_not,
                l.book_created,
                l.card_integrated,
                l.card_not,
            ];
            if counts.iter().any(|n| *n < 0) {
                return Err(StoreError::Invalid(format!(
                    "{d}: counts cannot be negative"
                )));
            }
            if l.vneid_activated + l.vneid_not != l.total_staff {
                return Err(StoreError::Invalid(format!(
                    "{d}: VNeID activated ({}) + not activated ({}) must equal total staff ({})",
                    l.vneid_activated, l.vneid_not, l.total_staff
                )));
            }
            if l.card_integrated + l.card_not != l.total_staff {
                return Err(StoreError::Invalid(format!(
                    "{d}: BHYT card integrated ({}) + not ({}) must equal total staff ({})",
                    l.card_integrated, l.card_not, l.total_staff
                )));
            }
            if l.book_created > l.total_staff {
                return Err(StoreError::Invalid(format!(
                    "{d}: health books created ({}) exceed total staff ({})",
                    l.book_created, l.total_staff
                )));
            }
            if l.vneid_not > 0
                && l.vneid_reason
                    .as_deref()
                    .is_none_or(|r| r.trim().is_empty())
            {
                return Err(StoreError::Invalid(format!(
                    "{d}: give the reason VNeID is not activated"
                )));
            }
            if l.card_not > 0 && l.card_reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(StoreError::Invalid(format!(
                    "{d}: give the reason the BHYT card is not integrated"
                )));
            }
        }
        let now = now_ms();
        self.write(|db| {
            if !db.exists(Q::UnitExists, args![unit])? {
                return Err(StoreError::Invalid(format!(
                    "unit {unit} is not registered"
                )));
            }
            // A resubmission replaces the unit's report for the month.
            db.exec(Q::UnitReportDelete, args![unit, month])?;
            for l in lines {
                db.exec(
                    Q::InsertUnitReport,
                    args![
                        unit,
                        month,
                        l.department.trim(),
                        l.total_staff,
                        l.vneid_activated,
                        l.vneid_not,
                        l.vneid_reason,
                        l.book_created,
                        l.card_integrated,
                        l.card_not,
                        l.card_reason,
                        by,
                        now
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn unit_reports(&self, month: &str) -> Result<Vec<UnitReport>> {
        self.read(|db| {
            let mut out: Vec<UnitReport> = Vec::new();
            db.query(Q::UnitReports, args![month], &mut |r| {
                let unit: String = r.get(0)?;
                let line = UnitReportLine {
                    department: r.get(1)?,
                    total_staff: r.get(2)?,
                    vneid_activated: r.get(3)?,
                    vneid_not: r.get(4)?,
                    vneid_reason: r.get(5)?,
                    book_created: r.get(6)?,
                    card_integrated: r.get(7)?,
                    card_not: r.get(8)?,
                    card_reason: r.get(9)?,
                };
                match out.last_mut() {
                    Some(u) if u.unit == unit => u.lines.push(line),
                    _ => out.push(UnitReport {
                        unit,
                        month: month.to_string(),
                        lines: vec![line],
                        submitted_by: r.get(10)?,
                        submitted_at: r.get(11)?,
                    }),
                }
                Ok(true)
            })?;
            Ok(out)
        })
    }

    fn rebuild_reports(&self) -> Result<()> {
        self.write(|db| {
            db.script(Q::RebuildAggregates)?;
            // Error codes live in each submission's findings (compressed JSON).
            let rows: Vec<(String, i64, String)> =
                db.all(Q::SubmissionsWithFindings, args![], |r| {
                    let findings = crate::core::findings_text(db.crypt(), r.get(3)?, r.val(2)?);
                    Ok((r.get(0)?, r.get(1)?, findings))
                })?;
            for (facility, at, findings) in rows {
                for c in error_codes(&findings) {
                    db.exec(Q::FacilityError, args![facility, vn_day(at), c, 1])?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_buckets() {
        // 2026-01-01 00:30 in Vietnam is 2025-12-31 17:30 UTC.
        let ms = chrono::NaiveDate::from_ymd_opt(2025, 12, 31)
            .unwrap()
            .and_hms_opt(17, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!(vn_day(ms), "2026-01-01");
        assert_eq!(wall_ms("202601010030"), Some(ms));
        assert_eq!(wall_day("202601010030").as_deref(), Some("2026-01-01"));
        assert_eq!(sla_bucket(3), 0);
        assert_eq!(sla_bucket(10), 0);
        assert_eq!(sla_bucket(11), 1);
        assert_eq!(sla_bucket(100_000_000), 9);
        assert_eq!(late_column(Some(25 * 3_600_000)), "late_3d");
        assert_eq!(late_column(None), "late_unknown");
    }
}
