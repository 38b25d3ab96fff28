//! Reports for health departments and BHXH: adoption against the population, the QĐ 831
//! records per commune, facility compliance and lateness, the 24-hour SLA, data quality,
//! and the monthly unit report (Phụ lục 1, with the record lines computed). JSON under
//! `/api/v1/reports`, the dashboard under `/nhan-vien/bao-cao` with server-rendered SVG
//! charts, and CSV / XLSX / PDF exports. Every figure is read from the aggregates the
//! store keeps at ingest (the records' from one sum per commune); each officer sees their
//! unit and below (`book::access::Action::ViewReports`), a commune station its own
//! commune's residents and records (`Action::KeepRecord`) and its own monthly report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use book::access::{Action, Place, Role};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use store::{
    AdoptionRow, CommuneRecords, ErrorStat, Facility, FacilityStat, LateDossier, ReceiptStat,
    SLA_BOUNDS_MS, TrendRow, Unit, UnitReport, UnitReportLine,
};

use crate::App;
use crate::citizen::{ApiError, blocking, internal, token_from};

mod programmes;
use crate::pages::redirect;
use crate::pages::{self, ErrorPage, Frame};
use crate::staff::{STAFF_COOKIE, StaffUser};
pub(crate) use programmes::ProgrammesReport;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/reports/dashboard", get(dashboard_json))
        .route("/api/v1/reports/unit-reports", get(unit_reports_json))
        .route(
            "/api/v1/reports/unit-reports/{unit}/{month}",
            put(submit_unit_report_json),
        )
        .route("/nhan-vien/bao-cao", get(dashboard_page))
        .route("/nhan-vien/bao-cao/xuat.csv", get(export_csv))
        .route("/nhan-vien/bao-cao/xuat.xlsx", get(export_xlsx))
        .route(
            "/nhan-vien/bao-cao/phu-luc-1",
            get(unit_report_page).post(unit_report_submit),
        )
        .route("/nhan-vien/bao-cao/phu-luc-1.pdf", get(unit_report_pdf))
}

// ---------------------------------------------------------------------------
// The administrative tree
// ---------------------------------------------------------------------------

/// The place of `code` among `units`: it and the units above it.
fn place_in(units: &HashMap<String, Unit>, code: &str) -> Place {
    let mut place = Place::default();
    let mut next = Some(code.to_string());
    for _ in 0..4 {
        let Some(u) = next.take().and_then(|c| units.get(&c)) else {
            break;
        };
        match u.level.as_str() {
            "province" => place.province = Some(u.code.clone()),
            "district" => place.district = Some(u.code.clone()),
            _ => place.commune = Some(u.code.clone()),
        }
        next = u.parent.clone();
    }
    place
}

/// The code of the "unallocated" line under a unit: what lies in it but in no single
/// unit below (an old commune divided by the 2025 reform, in the new units).
pub(crate) const UNALLOCATED: &str = "";

/// Where a unit code of either scheme falls in the units of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resolved {
    /// A unit of the report's scheme.
    Unit(String),
    /// Under this unit of the report's scheme ("" the country), in none below it.
    Unallocated(String),
}

/// The units of one scheme (the report's: `pre2025` or `2025`) by code, with their
/// children, to place facilities and residents; the other scheme's units and the
/// reform's lineage, to place what carries the other scheme's codes (B5 of the units
/// reference: through the lineage, never a guess).
pub(crate) struct Tree {
    units: HashMap<String, Unit>,
    children: HashMap<String, Vec<String>>,
    /// `pre2025` or `2025`.
    scheme: &'static str,
    other: HashMap<String, Unit>,
    other_children: HashMap<String, Vec<String>>,
    /// Other-scheme code → (report-scheme code, the old unit was split) of its lineage.
    to_view: HashMap<String, Vec<(String, bool)>>,
    /// Report-scheme code → other-scheme codes (to decide access across schemes).
    to_other: HashMap<String, Vec<(String, bool)>>,
}

fn child_map(units: &HashMap<String, Unit>) -> HashMap<String, Vec<String>> {
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for u in units.values() {
        children
            .entry(u.parent.clone().unwrap_or_default())
            .or_default()
            .push(u.code.clone());
    }
    for v in children.values_mut() {
        v.sort();
    }
    children
}

/// Where `code` of the `from` units falls in the `to` units, through `links`
/// (`forward`: old → new, where a split old unit is never guessed).
fn map_code(
    from: &HashMap<String, Unit>,
    from_children: &HashMap<String, Vec<String>>,
    to: &HashMap<String, Unit>,
    links: &HashMap<String, Vec<(String, bool)>>,
    forward: bool,
    code: &str,
) -> Option<Resolved> {
    // The units of `to` the code's unit went into, and whether it was divided.
    fn candidates(
        from_children: &HashMap<String, Vec<String>>,
        links: &HashMap<String, Vec<(String, bool)>>,
        code: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) -> bool {
        if let Some(l) = links.get(code) {
            out.extend(l.iter().map(|(c, _)| c.clone()));
            return l.iter().any(|(_, split)| *split) || l.len() > 1;
        }
        let mut divided = false;
        if depth < 3 {
            for c in from_children.get(code).into_iter().flatten() {
                divided |= candidates(from_children, links, c, depth + 1, out);
            }
        }
        // A unit without lineage of its own (an old district) spreads over its
        // children's: never a single unit.
        divided || out.len() > 1
    }
    let ancestors = |c: &str| {
        let mut out = vec![c.to_string()];
        let mut next = to.get(c).and_then(|u| u.parent.clone());
        for _ in 0..4 {
            let Some(p) = next.take() else { break };
            next = to.get(&p).and_then(|u| u.parent.clone());
            out.push(p);
        }
        out.push(String::new());
        out
    };
    let mut cands = Vec::new();
    let divided = candidates(from_children, links, code, 0, &mut cands);
    cands.sort();
    cands.dedup();
    if cands.is_empty() {
        // No lineage below either: under where its parent falls.
        let parent = from.get(code)?.parent.clone()?;
        return match map_code(from, from_children, to, links, forward, &parent)? {
            Resolved::Unit(p) | Resolved::Unallocated(p) => Some(Resolved::Unallocated(p)),
        };
    }
    if cands.len() == 1 && (!forward || !divided) {
        return Some(Resolved::Unit(cands.remove(0)));
    }
    // The deepest unit above every candidate.
    let first = ancestors(&cands[0]);
    let common = first
        .into_iter()
        .find(|a| cands.iter().all(|c| ancestors(c).contains(a)))
        .unwrap_or_default();
    Some(Resolved::Unallocated(common))
}

impl Tree {
    /// The tree of `scheme` ("pre2025" or "2025") over every unit, with the lineage.
    fn new(all: Vec<Unit>, lineage: &[store::UnitLink], scheme: &'static str) -> Tree {
        let (view, other): (Vec<Unit>, Vec<Unit>) =
            all.into_iter().partition(|u| u.scheme == scheme);
        let units: HashMap<String, Unit> = view.into_iter().map(|u| (u.code.clone(), u)).collect();
        let other: HashMap<String, Unit> = other.into_iter().map(|u| (u.code.clone(), u)).collect();
        let (mut to_view, mut to_other): (HashMap<_, Vec<_>>, HashMap<_, Vec<_>>) =
            (HashMap::new(), HashMap::new());
        for l in lineage {
            let split = l.relation == "split_partial";
            let (from, to) = if scheme == "2025" {
                (&l.old_code, &l.new_code)
            } else {
                (&l.new_code, &l.old_code)
            };
            to_view
                .entry(from.clone())
                .or_default()
                .push((to.clone(), split));
            to_other
                .entry(to.clone())
                .or_default()
                .push((from.clone(), split));
        }
        Tree {
            children: child_map(&units),
            other_children: child_map(&other),
            units,
            other,
            scheme,
            to_view,
            to_other,
        }
    }

    /// Where a unit code (of either scheme) falls in this tree; None: nowhere known.
    fn resolve(&self, code: &str) -> Option<Resolved> {
        if self.units.contains_key(code) {
            return Some(Resolved::Unit(code.to_string()));
        }
        if !self.other.contains_key(code) {
            return None;
        }
        map_code(
            &self.other,
            &self.other_children,
            &self.units,
            &self.to_view,
            self.scheme == "2025",
            code,
        )
    }

    /// The place of a unit of this tree: it and the units above it.
    fn place(&self, code: &str) -> Place {
        place_in(&self.units, code)
    }

    /// The place, in the other scheme, of a unit of this tree (the new units' place of
    /// an old unit; an old place of a new one when it came from a single one).
    fn other_place(&self, code: &str) -> Option<Place> {
        match map_code(
            &self.units,
            &self.children,
            &self.other,
            &self.to_other,
            self.scheme != "2025",
            code,
        )? {
            Resolved::Unit(c) | Resolved::Unallocated(c) if !c.is_empty() => {
                Some(place_in(&self.other, &c))
            }
            _ => None,
        }
    }

    fn facility_place(&self, f: &Facility) -> Place {
        let mut place = match f.unit.as_deref().and_then(|u| self.resolve(u)) {
            Some(Resolved::Unit(c) | Resolved::Unallocated(c)) => self.place(&c),
            None => Place::default(),
        };
        if place.province.is_none() && !f.province.is_empty() {
            place.province = Some(f.province.clone());
        }
        place.facility = Some(f.code.clone());
        place
    }

    /// The units just below `code` ("" is the country: its provinces).
    fn below(&self, code: &str) -> Vec<&Unit> {
        self.children
            .get(code)
            .map(|v| v.iter().filter_map(|c| self.units.get(c)).collect())
            .unwrap_or_default()
    }

    /// The child of `top` ("" for the country) that the unit `code` of this tree lies in.
    fn child_in_view(&self, top: &str, code: &str) -> Option<String> {
        let mut cur = Some(code.to_string());
        for _ in 0..5 {
            let c = cur?;
            let parent = self.units.get(&c)?.parent.clone().unwrap_or_default();
            if parent == top {
                return Some(c);
            }
            cur = Some(parent).filter(|p| !p.is_empty());
        }
        None
    }

    /// The child of `top` ("" for the country) that `code` (of either scheme) lies in,
    /// if it does; [`UNALLOCATED`] when it lies in `top` but in no one child.
    fn child_toward(&self, top: &str, code: &str) -> Option<String> {
        match self.resolve(code)? {
            Resolved::Unit(c) => self.child_in_view(top, &c),
            Resolved::Unallocated(p) if p == top => Some(UNALLOCATED.to_string()),
            Resolved::Unallocated(p) if p.is_empty() => None,
            Resolved::Unallocated(p) => self.child_in_view(top, &p),
        }
    }

    /// Whether `code` (of either scheme) is `top` or lies below it ("" is the country).
    fn within(&self, top: &str, code: &str) -> bool {
        if top.is_empty() {
            return true;
        }
        match self.resolve(code) {
            Some(Resolved::Unit(c) | Resolved::Unallocated(c)) => {
                c == top || (!c.is_empty() && self.child_in_view(top, &c).is_some())
            }
            None => false,
        }
    }

    /// The lowest units below `top` (communes, or districts without communes): who files
    /// the monthly report.
    fn leaves(&self, top: &str) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut stack = vec![top.to_string()];
        while let Some(c) = stack.pop() {
            let kids = self.below(&c);
            if kids.is_empty() {
                if let Some(u) = self.units.get(&c) {
                    out.push(u);
                }
            } else {
                stack.extend(kids.iter().map(|u| u.code.clone()));
            }
        }
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }
}

// ---------------------------------------------------------------------------
// The dashboard's figures
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    /// Unit code; empty: the caller's own (the country for the system administrator).
    #[serde(default)]
    pub unit: Option<String>,
    /// The birth cohort (year) of the vaccination figures; default the year before the
    /// period's last day (children one year old during it).
    /// (Text: the export's query flattens this filter, and flattened numbers arrive as
    /// text.)
    #[serde(default)]
    pub cohort: Option<String>,
    /// Period of episodes started, yyyy-mm-dd, inclusive; default the last 30 days.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// A facility with no receipt for this many days is silent (default 7).
    #[serde(default)]
    pub silent_days: Option<i64>,
    /// The units to count in: `old` (before 2025-07-01: province → district → commune)
    /// or `new` (from 2025-07-01: province → commune). Default: those in force on the
    /// period's last day. A period ending after 2025-06-30 is counted in the new units.
    #[serde(default)]
    pub units: Option<String>,
}

fn denied(d: book::access::Denied) -> ApiError {
    ApiError(StatusCode::FORBIDDEN, d.code, d.message.to_string())
}

/// The units a report is counted in: `pre2025` or `2025`, and a note when the caller
/// asked for the old units over a period that ends after the reform.
fn report_scheme(
    u: &StaffUser,
    asked: Option<&str>,
    last_day: &str,
    has_2025: bool,
) -> Result<(&'static str, Option<String>), ApiError> {
    let asked = asked.map(str::trim).filter(|a| !a.is_empty());
    if let Some(a) = asked
        && a != "old"
        && a != "new"
    {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "units",
            "units: old (đơn vị trước 01/07/2025) hoặc new (đơn vị từ 01/07/2025)".into(),
        ));
    }
    book::access::report_period(u.account.role, last_day).map_err(denied)?;
    let after = last_day >= store::REFORM_DAY;
    if u.account.role == Role::DistrictOfficer && asked == Some("new") {
        book::access::report_period(u.account.role, store::REFORM_DAY).map_err(denied)?;
    }
    // A store without the 2025 units counts in the units it has.
    if !has_2025 {
        return Ok(("pre2025", None));
    }
    Ok(match (asked, after) {
        (Some("new"), _) | (None, true) => ("2025", None),
        (Some(_), true) => (
            "2025",
            Some(
                "Kỳ báo cáo kéo dài sau ngày 30/06/2025 nên được tính theo đơn vị hành chính \
                 mới (từ 01/07/2025), qua quan hệ kế thừa giữa đơn vị cũ và mới"
                    .into(),
            ),
        ),
        _ => ("pre2025", None),
    })
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct UnitRef {
    pub code: String,
    pub name: String,
    pub level: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Adoption {
    pub population: i64,
    pub with_book: i64,
    pub with_account: i64,
    /// Shares of the population, in percent.
    pub book_rate: f64,
    pub account_rate: f64,
}

impl Adoption {
    fn add(&mut self, r: &AdoptionRow) {
        self.population += r.population;
        self.with_book += r.with_book;
        self.with_account += r.with_account;
    }

    fn finish(mut self) -> Adoption {
        let pct = |n: i64, d: i64| {
            if d == 0 {
                0.0
            } else {
                (n as f64 * 10_000.0 / d as f64).round() / 100.0
            }
        };
        self.book_rate = pct(self.with_book, self.population);
        self.account_rate = pct(self.with_account, self.population);
        self
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct TrendPoint {
    pub month: String,
    /// Residents with a book / an account by the end of the month.
    pub books: i64,
    pub accounts: i64,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct FacilityLine {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub checkins: i64,
    pub dossiers: i64,
    /// Dossiers per check-in, percent (None without check-ins).
    pub sent_rate: Option<f64>,
    /// Received within 6 h, 6–24 h, 1–3 d, 3–7 d, over 7 d, unknown.
    pub late: [i64; 6],
    /// Share of dossiers received over 24 h after discharge, percent.
    pub over_24h_rate: f64,
    pub submissions: i64,
    pub rejected: i64,
    pub by_type: Vec<FacilityStat>,
    pub top_errors: Vec<(String, i64)>,
    pub with_personal_id_rate: f64,
    pub with_card_rate: f64,
    pub with_icd_rate: f64,
    pub open_conflicts: i64,
    pub last_receipt: Option<i64>,
    /// Submissions whose facility signature was checked: signed (valid or not),
    /// valid (verified, legacy SHA-1 included), signed but not valid, unsigned.
    pub signed: i64,
    pub signature_valid: i64,
    pub signature_invalid: i64,
    pub unsigned: i64,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct SlaDay {
    pub day: String,
    pub dossiers: i64,
    /// Upper bounds (ms) of the percentiles' buckets (None: over 24 hours).
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    pub over_24h: i64,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Dashboard {
    /// The units counted in: `old` (before 2025-07-01) or `new` (from 2025-07-01).
    pub units: String,
    /// Why the units are not those asked for, if they are not.
    pub units_note: Option<String>,
    pub unit: Option<UnitRef>,
    /// The units above `unit` the caller may also see, from the top.
    pub parents: Vec<UnitRef>,
    pub from: String,
    pub to: String,
    pub adoption: Adoption,
    pub adoption_by_unit: Vec<(UnitRef, Adoption)>,
    pub trend: Vec<TrendPoint>,
    pub facilities: Vec<FacilityLine>,
    pub silent: Vec<FacilityLine>,
    pub silent_days: i64,
    /// Whether `sla` is the unit's own. Always: the store keeps the receipt → visible
    /// latency per facility (`Reports::facility_sla`), and a unit's page sums its
    /// facilities' (the country's, the whole histogram). Kept for the JSON's readers.
    pub sla_by_unit: bool,
    pub sla: Vec<SlaDay>,
    pub late_dossiers: Vec<LateDossier>,
    pub totals: FacilityTotals,
    /// The QĐ 831 records of the unit's residents, and per unit below.
    pub records: RecordsReport,
    /// A commune station's view of its own commune: its residents and their records
    /// only (no facility, SLA or data-quality figures, which need `ViewReports`).
    pub records_only: bool,
    /// The station programmes: vaccination of a birth cohort, NCD registers, growth of
    /// children under five, the elderly's yearly check.
    pub programmes: ProgrammesReport,
}

/// The personal health records (QĐ 831) of a unit's residents, as of a day.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct RecordsReport {
    /// The year "examined" counts: the newest examination of the record falls in it.
    pub year: i32,
    /// The day ages are reckoned on (elderly: 60 or more).
    pub as_of: String,
    pub total: RecordFigures,
    /// Per unit just below (with the unallocated line when there is one); a commune:
    /// itself.
    pub by_unit: Vec<(UnitRef, RecordFigures)>,
}

/// The record figures of a unit.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct RecordFigures {
    /// Living residents of the population registry.
    pub residents: i64,
    /// Records open (of living residents: a death closes the record).
    pub with_record: i64,
    /// Records with every required item of part A (administrative) filled.
    pub complete_a: i64,
    /// Records whose part B (history, risk factors) is stated.
    pub complete_b: i64,
    /// Records with an examination (part D) in `year`.
    pub examined: i64,
    /// Residents of 60 or more with a record, and those of them examined in `year`.
    pub elderly: i64,
    pub elderly_examined: i64,
    /// Registry mismatches (name, birth date, sex) the station has not resolved.
    pub mismatches_open: i64,
    /// Percentages: records per living resident; complete A, complete B, examined of
    /// the records; elderly examined of the elderly.
    pub record_rate: f64,
    pub complete_a_rate: f64,
    pub complete_b_rate: f64,
    pub examined_rate: f64,
    pub elderly_examined_rate: f64,
}

impl RecordFigures {
    fn add(&mut self, r: &CommuneRecords) {
        self.with_record += r.open;
        self.complete_a += r.complete_a;
        self.complete_b += r.complete_b;
        self.examined += r.examined_this_year;
        self.elderly += r.elderly;
        self.elderly_examined += r.elderly_examined;
        self.mismatches_open += r.mismatches_open;
    }

    fn finish(mut self) -> RecordFigures {
        self.record_rate = pct(self.with_record, self.residents);
        self.complete_a_rate = pct(self.complete_a, self.with_record);
        self.complete_b_rate = pct(self.complete_b, self.with_record);
        self.examined_rate = pct(self.examined, self.with_record);
        self.elderly_examined_rate = pct(self.elderly_examined, self.elderly);
        self
    }
}

fn unit_ref_of(u: &Unit) -> UnitRef {
    UnitRef {
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
    }
}

/// Figures of a unit summed up through the tree: rows of the units below `code` ("" the
/// country) count in its total and in the unit just below they lie in; a code of the
/// other scheme through the lineage, an old commune divided by the reform on the
/// unallocated line. Every report that counts per unit rolls up this way.
pub(crate) struct RollUp<'t, F> {
    tree: &'t Tree,
    code: &'t str,
    total: F,
    by_child: BTreeMap<String, F>,
}

impl<'t, F: Default> RollUp<'t, F> {
    pub(crate) fn new(tree: &'t Tree, code: &'t str) -> Self {
        RollUp {
            tree,
            code,
            total: F::default(),
            by_child: BTreeMap::new(),
        }
    }

    /// Count a row of `unit` (of either scheme) with `add`, if it lies in `code`.
    pub(crate) fn add(&mut self, unit: &str, add: impl Fn(&mut F)) {
        if !self.tree.within(self.code, unit) {
            return;
        }
        add(&mut self.total);
        if let Some(c) = self.tree.child_toward(self.code, unit) {
            add(self.by_child.entry(c).or_default());
        }
    }

    /// The finished total and a finished line per unit just below (every one, counted
    /// or not), then the unallocated line when something lies in no one unit below.
    pub(crate) fn finish<O>(mut self, finish: impl Fn(F) -> O) -> (O, Vec<(UnitRef, O)>) {
        let mut by_unit: Vec<(UnitRef, O)> = self
            .tree
            .below(self.code)
            .into_iter()
            .map(|u| {
                let x = self.by_child.remove(&u.code).unwrap_or_default();
                (unit_ref_of(u), finish(x))
            })
            .collect();
        if let Some(x) = self.by_child.remove(UNALLOCATED) {
            by_unit.push((unallocated_ref(self.tree.scheme), finish(x)));
        }
        (finish(self.total), by_unit)
    }

    /// As [`RollUp::finish`], but a unit with no unit below (a commune) has its own
    /// line: itself.
    pub(crate) fn finish_or_itself<O: Clone>(
        self,
        finish: impl Fn(F) -> O,
    ) -> (O, Vec<(UnitRef, O)>) {
        let (tree, code) = (self.tree, self.code);
        let (total, mut by_unit) = self.finish(finish);
        if by_unit.is_empty()
            && let Some(u) = tree.units.get(code)
        {
            by_unit.push((unit_ref_of(u), total.clone()));
        }
        (total, by_unit)
    }
}

/// The record figures of `code` ("" the country) and of each unit just below it,
/// rolled up through the tree as adoption is: a commune's figures count in its
/// province; a code of the other scheme through the lineage, an old commune divided by
/// the reform on the unallocated line.
fn records_report(
    tree: &Tree,
    code: &str,
    adoption: &[AdoptionRow],
    stats: &[CommuneRecords],
    year: i32,
    as_of: NaiveDate,
) -> RecordsReport {
    let mut roll = RollUp::new(tree, code);
    for r in adoption {
        roll.add(&r.unit, |x: &mut RecordFigures| x.residents += r.population);
    }
    for r in stats {
        roll.add(&r.commune, |x: &mut RecordFigures| x.add(r));
    }
    let (total, by_unit) = roll.finish_or_itself(RecordFigures::finish);
    RecordsReport {
        year,
        as_of: as_of.to_string(),
        total,
        by_unit,
    }
}

/// A commune station's own commune, when a request is about it (or names no unit):
/// the station sees the figures of the records it keeps and the report it files,
/// though no other report (`Action::KeepRecord` of the commune).
fn own_commune(u: &StaffUser, tree: &Tree, unit: Option<&str>) -> Option<String> {
    if u.account.role != Role::CommuneStaff {
        return None;
    }
    let own = u.account.unit.clone()?;
    if unit
        .map(str::trim)
        .is_some_and(|asked| !asked.is_empty() && asked != own)
    {
        return None;
    }
    let place = tree.units.contains_key(&own).then(|| tree.place(&own))?;
    u.allows(&Action::KeepRecord { place: &place })
        .then_some(own)
}

/// The units a commune station's figures are counted in: those of its own commune, the
/// 2025 units when its code is one of them (a new commune may keep an old one's code).
fn own_scheme(role: Role, own: Option<&str>, units: &[Unit]) -> Option<&'static str> {
    if role != Role::CommuneStaff {
        return None;
    }
    let own = own?;
    let mine = |scheme: &str| units.iter().any(|x| x.code == own && x.scheme == scheme);
    if mine("2025") {
        Some("2025")
    } else if mine("pre2025") {
        Some("pre2025")
    } else {
        None
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct FacilityTotals {
    pub checkins: i64,
    pub dossiers: i64,
    pub late: [i64; 6],
    pub over_24h_rate: f64,
    pub with_personal_id_rate: f64,
    pub with_card_rate: f64,
    pub with_icd_rate: f64,
    pub rejected: i64,
    pub submissions: i64,
}

fn pct(n: i64, d: i64) -> f64 {
    if d == 0 {
        0.0
    } else {
        (n as f64 * 10_000.0 / d as f64).round() / 100.0
    }
}

fn percentile(buckets: &[i64; 10], p: f64) -> Option<i64> {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return Some(0);
    }
    let want = (total as f64 * p).ceil() as i64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= want {
            return SLA_BOUNDS_MS.get(i).copied();
        }
    }
    None
}

fn parse_day(s: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s?, "%Y-%m-%d").ok()
}

/// Everything the store holds for reports, read at once.
struct Facts {
    tree: Tree,
    facilities: Vec<Facility>,
    adoption: Vec<AdoptionRow>,
    trend: Vec<TrendRow>,
    stats: Vec<FacilityStat>,
    receipts: Vec<ReceiptStat>,
    errors: Vec<ErrorStat>,
    last: Vec<(String, i64)>,
    sla: Vec<(String, i64, i64)>,
    facility_sla: Vec<store::FacilitySla>,
    late: Vec<LateDossier>,
    conflicts: Vec<(String, i64)>,
    signatures: Vec<store::SignatureCount>,
    records: Vec<CommuneRecords>,
    /// The day the record figures are as of (their year is its year).
    records_day: NaiveDate,
    /// The programmes' counts per commune (vaccination of `cohort` read once the unit
    /// is known: only its communes).
    chronic: Vec<store::CommuneChronic>,
    vaccination: Vec<programmes::CommuneProgrammes>,
    cohort: i32,
}

/// The unit a request is about, once the caller may see it.
fn selected(u: &StaffUser, tree: &Tree, unit: Option<&str>) -> Result<String, ApiError> {
    let own = u
        .scope
        .district
        .clone()
        .filter(|_| u.account.role == Role::DistrictOfficer)
        .or_else(|| u.scope.province.clone())
        .filter(|_| u.account.role != Role::SystemAdmin)
        .unwrap_or_default();
    let code = unit
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .unwrap_or(own);
    if !code.is_empty() && !tree.units.contains_key(&code) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_unit",
            format!(
                "Không có đơn vị hành chính {code} trong các đơn vị {}",
                if tree.scheme == "2025" {
                    "từ 01/07/2025"
                } else {
                    "trước 01/07/2025"
                }
            ),
        ));
    }
    let place = if code.is_empty() {
        Place::default()
    } else {
        tree.place(&code)
    };
    // A scope names today's unit (or, for a district officer, a pre-2025 district):
    // a unit of the other scheme is seen by who sees where it went.
    if !code.is_empty()
        && u.allow(&Action::ViewReports { place: &place }).is_err()
        && let Some(other) = tree.other_place(&code)
        && u.allows(&Action::ViewReports { place: &other })
    {
        return Ok(code);
    }
    u.allow(&Action::ViewReports { place: &place })?;
    Ok(code)
}

pub(crate) async fn build(u: &StaffUser, f: &Filter) -> Result<Dashboard, ApiError> {
    let today = crate::vn_now().date();
    // A district officer's reports end by the reform (districts were abolished).
    let today = if u.account.role == Role::DistrictOfficer {
        today.min(parse_day(Some(store::LAST_PRE2025_DAY)).unwrap_or(today))
    } else {
        today
    };
    let to = parse_day(f.to.as_deref()).unwrap_or(today);
    let from = parse_day(f.from.as_deref()).unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "period",
            "Ngày bắt đầu phải trước ngày kết thúc".into(),
        ));
    }
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let store = u.app().store.clone();
    let (a, b) = (from_s.clone(), to_s.clone());
    let from_ms = (from
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_millis())
        - 7 * 3_600_000;
    let to_ms = from_ms + ((to - from).num_days() + 1) * 86_400_000;
    let (units, lineage) = {
        let store = store.clone();
        blocking(move || Ok((store.units()?, store.unit_lineage()?))).await?
    };
    let has_2025 = units.iter().any(|x| x.scheme == "2025");
    let (scheme, units_note) = report_scheme(u, f.units.as_deref(), &to_s, has_2025)?;
    // A commune station counts in the units of its commune.
    let (scheme, units_note) = match own_scheme(u.account.role, u.account.unit.as_deref(), &units) {
        Some(own) if own != scheme => (own, None),
        _ => (scheme, units_note),
    };
    // The records as they are today (the period does not apply: a record holds its
    // newest state), examinations of this year.
    let records_day = today;
    let cohort = match f.cohort.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        // A cohort after the period's year is counted as the period's own year.
        Some(c) => c
            .parse::<i32>()
            .ok()
            .filter(|y| *y >= 1900)
            .map(|y| y.min(to.year()))
            .ok_or_else(|| {
                ApiError(
                    StatusCode::BAD_REQUEST,
                    "cohort",
                    "cohort: năm sinh của đoàn hệ trẻ (yyyy)".into(),
                )
            })?,
        None => to.year() - 1,
    };
    let facts = blocking(move || {
        Ok(Facts {
            tree: Tree::new(units, &lineage, scheme),
            facilities: store.facilities()?,
            adoption: store.adoption()?,
            trend: store.adoption_trend()?,
            stats: store.facility_stats(&a, &b)?,
            receipts: store.receipt_stats(&a, &b)?,
            errors: store.error_stats(&a, &b)?,
            last: store.last_receipts()?,
            sla: store.sla_histogram(&a, &b)?,
            facility_sla: store.facility_sla(&a, &b)?,
            late: store.late_dossiers(from_ms, to_ms, 200)?,
            conflicts: store.open_conflicts()?,
            signatures: store.signature_counts(&a, &b)?,
            records: store.record_stats(records_day.year(), records_day)?,
            records_day,
            chronic: store.chronic_indicators(records_day)?,
            vaccination: Vec::new(),
            cohort,
        })
    })
    .await?;
    let mut facts = facts;
    // A commune station: its own commune, residents and records only.
    if let Some(own) = own_commune(u, &facts.tree, f.unit.as_deref())
        && selected(u, &facts.tree, Some(&own)).is_err()
    {
        facts.vaccination = vaccination_of(u, &facts, &own).await?;
        let d = compute(facts, &own, from_s, to_s, f.silent_days.unwrap_or(7));
        return Ok(Dashboard {
            units_note,
            facilities: Vec::new(),
            silent: Vec::new(),
            sla: Vec::new(),
            late_dossiers: Vec::new(),
            totals: FacilityTotals::default(),
            records_only: true,
            ..d
        });
    }
    let code = selected(u, &facts.tree, f.unit.as_deref())?;
    facts.vaccination = vaccination_of(u, &facts, &code).await?;
    let parents = parents_seen(u, &facts.tree, &code);
    Ok(Dashboard {
        parents,
        units_note,
        ..compute(facts, &code, from_s, to_s, f.silent_days.unwrap_or(7))
    })
}

/// The vaccination counts of the communes within `code` that keep records.
async fn vaccination_of(
    u: &StaffUser,
    facts: &Facts,
    code: &str,
) -> Result<Vec<programmes::CommuneProgrammes>, ApiError> {
    let communes: Vec<String> = facts
        .records
        .iter()
        .filter(|r| facts.tree.within(code, &r.commune))
        .map(|r| r.commune.clone())
        .collect();
    let (store, cohort, day) = (u.app().store.clone(), facts.cohort, facts.records_day);
    blocking(move || programmes::vaccination_counts(store.as_ref(), &communes, cohort, day)).await
}

/// The units above `code` that `u` may see reports of, from the top.
fn parents_seen(u: &StaffUser, tree: &Tree, code: &str) -> Vec<UnitRef> {
    let mut out = Vec::new();
    let mut next = tree.units.get(code).and_then(|x| x.parent.clone());
    for _ in 0..4 {
        let Some(p) = next.take().and_then(|c| tree.units.get(&c)) else {
            break;
        };
        if u.allows(&Action::ViewReports {
            place: &tree.place(&p.code),
        }) {
            out.push(UnitRef {
                code: p.code.clone(),
                name: p.name.clone(),
                level: p.level.clone(),
            });
        }
        next = p.parent.clone();
    }
    out.reverse();
    out
}

/// The line of what could not be allocated to one unit below.
fn unallocated_ref(scheme: &str) -> UnitRef {
    UnitRef {
        code: UNALLOCATED.into(),
        name: if scheme == "2025" {
            "Chưa phân bổ (đơn vị cũ bị chia tách)"
        } else {
            "Chưa phân bổ (đơn vị mới gộp từ nhiều đơn vị cũ)"
        }
        .into(),
        level: "unallocated".into(),
    }
}

fn compute(facts: Facts, code: &str, from: String, to: String, silent_days: i64) -> Dashboard {
    let tree = &facts.tree;
    // Adoption: residents of the unit, and per unit just below. What lies in the unit
    // but in no one unit below (residents of an old commune divided by the reform) is
    // counted on the unallocated line rather than guessed into a new one.
    let mut roll = RollUp::new(tree, code);
    for r in &facts.adoption {
        roll.add(&r.unit, |x: &mut Adoption| x.add(r));
    }
    let (adoption, adoption_by_unit) = roll.finish(Adoption::finish);
    // Trend: cumulative by month.
    let mut months: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for t in facts.trend.iter().filter(|t| tree.within(code, &t.unit)) {
        let e = months.entry(t.month.clone()).or_default();
        e.0 += t.books;
        e.1 += t.accounts;
    }
    let (mut books, mut accounts) = (0, 0);
    let trend = months
        .into_iter()
        .map(|(month, (b, a))| {
            books += b;
            accounts += a;
            TrendPoint {
                month,
                books,
                accounts,
            }
        })
        .collect();
    // Facilities in the unit.
    let sel_place = if code.is_empty() {
        None
    } else {
        Some(tree.place(code))
    };
    let mut stats: HashMap<&str, Vec<&FacilityStat>> = HashMap::new();
    for s in &facts.stats {
        stats.entry(s.facility.as_str()).or_default().push(s);
    }
    let receipts: HashMap<&str, &ReceiptStat> = facts
        .receipts
        .iter()
        .map(|r| (r.facility.as_str(), r))
        .collect();
    let mut errors: HashMap<&str, Vec<(String, i64)>> = HashMap::new();
    for e in &facts.errors {
        errors
            .entry(e.facility.as_str())
            .or_default()
            .push((e.code.clone(), e.count));
    }
    let last: HashMap<&str, i64> = facts.last.iter().map(|(f, t)| (f.as_str(), *t)).collect();
    // (signed, valid, signed but not valid, unsigned) per facility.
    let mut signatures: HashMap<&str, [i64; 4]> = HashMap::new();
    for c in &facts.signatures {
        let e = signatures.entry(c.facility.as_str()).or_default();
        match sign::Status::from_code(&c.status) {
            Some(s) if s.is_verified() => {
                e[0] += c.count;
                e[1] += c.count;
            }
            Some(sign::Status::Unsigned) => e[3] += c.count,
            Some(sign::Status::NotChecked) | None => {}
            Some(_) => {
                e[0] += c.count;
                e[2] += c.count;
            }
        }
    }
    let conflicts: HashMap<&str, i64> = facts
        .conflicts
        .iter()
        .map(|(f, n)| (f.as_str(), *n))
        .collect();
    let mut lines = Vec::new();
    let mut totals = FacilityTotals::default();
    let (mut pid, mut card, mut icd) = (0, 0, 0);
    for f in &facts.facilities {
        let place = tree.facility_place(f);
        if let Some(sel) = &sel_place
            && !place.within(sel)
        {
            continue;
        }
        let s = stats.remove(f.code.as_str()).unwrap_or_default();
        let sum = |g: fn(&FacilityStat) -> i64| s.iter().map(|x| g(x)).sum::<i64>();
        let mut late = [0i64; 6];
        for x in &s {
            for (i, n) in x.late.iter().enumerate() {
                late[i] += n;
            }
        }
        let dossiers = sum(|x| x.dossiers);
        let checkins = sum(|x| x.checkins);
        let known: i64 = late[..5].iter().sum();
        let r = receipts.get(f.code.as_str());
        let mut top = errors.remove(f.code.as_str()).unwrap_or_default();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(3);
        let line = FacilityLine {
            code: f.code.clone(),
            name: f.name.clone(),
            kind: f.kind.clone(),
            checkins,
            dossiers,
            sent_rate: (checkins > 0).then(|| pct(dossiers, checkins)),
            late,
            over_24h_rate: pct(late[2] + late[3] + late[4], known),
            submissions: r.map_or(0, |r| r.submissions),
            rejected: r.map_or(0, |r| r.rejected),
            by_type: s.into_iter().cloned().collect(),
            top_errors: top,
            with_personal_id_rate: 0.0,
            with_card_rate: 0.0,
            with_icd_rate: 0.0,
            open_conflicts: conflicts.get(f.code.as_str()).copied().unwrap_or(0),
            last_receipt: last.get(f.code.as_str()).copied(),
            signed: signatures.get(f.code.as_str()).map_or(0, |s| s[0]),
            signature_valid: signatures.get(f.code.as_str()).map_or(0, |s| s[1]),
            signature_invalid: signatures.get(f.code.as_str()).map_or(0, |s| s[2]),
            unsigned: signatures.get(f.code.as_str()).map_or(0, |s| s[3]),
        };
        let (p, c, i) = (
            line.by_type.iter().map(|x| x.with_personal_id).sum::<i64>(),
            line.by_type.iter().map(|x| x.with_card).sum::<i64>(),
            line.by_type.iter().map(|x| x.with_icd).sum::<i64>(),
        );
        pid += p;
        card += c;
        icd += i;
        totals.checkins += checkins;
        totals.dossiers += dossiers;
        totals.rejected += line.rejected;
        totals.submissions += line.submissions;
        for (t, n) in totals.late.iter_mut().zip(late) {
            *t += n;
        }
        lines.push(FacilityLine {
            with_personal_id_rate: pct(p, dossiers),
            with_card_rate: pct(c, dossiers),
            with_icd_rate: pct(i, dossiers),
            ..line
        });
    }
    let known: i64 = totals.late[..5].iter().sum();
    totals.over_24h_rate = pct(totals.late[2] + totals.late[3] + totals.late[4], known);
    totals.with_personal_id_rate = pct(pid, totals.dossiers);
    totals.with_card_rate = pct(card, totals.dossiers);
    totals.with_icd_rate = pct(icd, totals.dossiers);
    let now = store::now_ms();
    let silent: Vec<FacilityLine> = lines
        .iter()
        .filter(|l| {
            l.last_receipt
                .is_none_or(|t| now - t > silent_days * 86_400_000)
        })
        .cloned()
        .collect();
    let in_scope: std::collections::HashSet<&str> = lines.iter().map(|l| l.code.as_str()).collect();
    // SLA per day of receipt: the country's histogram, or the sum over the unit's
    // facilities (their submissions received in the period).
    let mut days: BTreeMap<String, [i64; 10]> = BTreeMap::new();
    let mut add = |day: &str, bucket: i64, n: i64| {
        if let Some(slot) = days
            .entry(day.to_string())
            .or_default()
            .get_mut(bucket as usize)
        {
            *slot += n;
        }
    };
    if code.is_empty() {
        for (day, bucket, n) in &facts.sla {
            add(day, *bucket, *n);
        }
    } else {
        for r in facts
            .facility_sla
            .iter()
            .filter(|r| in_scope.contains(r.facility.as_str()))
        {
            add(&r.day, r.bucket, r.count);
        }
    }
    let sla = days
        .into_iter()
        .map(|(day, b)| SlaDay {
            dossiers: b.iter().sum(),
            p50_ms: percentile(&b, 0.5),
            p90_ms: percentile(&b, 0.9),
            p99_ms: percentile(&b, 0.99),
            over_24h: b[9],
            day,
        })
        .collect();
    let late_dossiers = facts
        .late
        .into_iter()
        .filter(|l| in_scope.contains(l.facility.as_str()))
        .collect();
    let records = records_report(
        tree,
        code,
        &facts.adoption,
        &facts.records,
        facts.records_day.year(),
        facts.records_day,
    );
    let programmes = programmes::programmes_report(
        tree,
        code,
        &facts.vaccination,
        &facts.chronic,
        &facts.records,
        facts.cohort,
        facts.records_day,
    );
    Dashboard {
        units: if tree.scheme == "2025" { "new" } else { "old" }.into(),
        units_note: None,
        unit: tree.units.get(code).map(unit_ref_of),
        parents: Vec::new(),
        from,
        to,
        adoption,
        adoption_by_unit,
        trend,
        facilities: lines,
        silent,
        silent_days,
        sla_by_unit: true,
        sla,
        late_dossiers,
        totals,
        records,
        records_only: false,
        programmes,
    }
}

async fn staff_from(app: &Arc<App>, headers: &HeaderMap) -> Result<StaffUser, Response> {
    let Some(token) = token_from(headers, STAFF_COOKIE) else {
        return Err(redirect("/nhan-vien/dang-nhap"));
    };
    match StaffUser::from_token(app, token).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(redirect("/nhan-vien/dang-nhap")),
        Err(e) => Err(e.into_response()),
    }
}

async fn dashboard_json(u: StaffUser, Query(f): Query<Filter>) -> Result<Response, ApiError> {
    Ok(Json(build(&u, &f).await?).into_response())
}

// ---------------------------------------------------------------------------
// Display: Vietnamese dates, numbers and durations
// ---------------------------------------------------------------------------

/// A count with grouped thousands: `10.002`.
fn int(n: i64) -> String {
    pages::decimal(Decimal::from(n))
}

/// A percentage with one decimal, Vietnamese style: `24,6%`.
fn vn_pct(x: f64) -> String {
    format!("{x:.1}%").replace('.', ",")
}

/// `yyyy-mm-dd` as `dd/mm/yyyy`.
fn day_text(s: &str) -> String {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// `yyyy-mm` as `tháng 11/2026`.
fn month_text(s: &str) -> String {
    match s.split_once('-') {
        Some((y, m)) if y.len() == 4 && m.len() == 2 => format!("tháng {m}/{y}"),
        _ => format!("tháng {s}"),
    }
}

/// A format timestamp `yyyyMMddHHmm` (NGAY_RA) as `09:30 15/10/2026`.
fn stamp_text(s: &str) -> String {
    s.get(..12)
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M").ok())
        .map(|t| pages::when(Some(t)))
        .or_else(|| {
            s.get(..8)
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y%m%d").ok())
                .map(|d| d.format("%d/%m/%Y").to_string())
        })
        .unwrap_or_else(|| s.to_string())
}

/// A delay in hours as days and hours: `2 ngày 5 giờ`.
fn hours_text(hours: i64) -> String {
    let (d, h) = (hours / 24, hours % 24);
    match (d, h) {
        (0, h) => format!("{h} giờ"),
        (d, 0) => format!("{} ngày", int(d)),
        (d, h) => format!("{} ngày {h} giờ", int(d)),
    }
}

/// The upper bound of a latency bucket.
fn bound(ms: Option<i64>) -> String {
    match ms {
        Some(x) if x < 1_000 => format!("≤ {x} ms"),
        Some(x) if x < 60_000 => format!("≤ {} giây", x / 1_000),
        Some(x) if x < 3_600_000 => format!("≤ {} phút", x / 60_000),
        Some(x) => format!("≤ {} giờ", x / 3_600_000),
        None => "> 24 giờ".into(),
    }
}

const LATE_LABELS: [&str; 6] = [
    "≤ 6 giờ",
    "6–24 giờ",
    "1–3 ngày",
    "3–7 ngày",
    "> 7 ngày",
    "không rõ ngày ra viện",
];

// ---------------------------------------------------------------------------
// Charts: small SVGs laid out here, drawn by templates (every text escaped)
// ---------------------------------------------------------------------------

/// One bar: its label and value as shown, its top and its length in chart units.
struct Bar {
    label: String,
    value: String,
    y: u32,
    width: f64,
}

/// Horizontal bars, one per label, each label above its bar and the value at the
/// right: nothing is cut at a phone's width.
#[derive(Template)]
#[template(path = "reports/bars.html")]
struct BarChart {
    title: String,
    width: u32,
    height: u32,
    /// The length of a full (100 %) bar.
    track: f64,
    bars: Vec<Bar>,
}

/// The longest label drawn in full (then cut with "…"; the table beside has it whole).
const LABEL_CHARS: usize = 44;

impl BarChart {
    /// `bars`: label, share in percent (0–100), value as shown.
    fn new(title: &str, bars: Vec<(String, f64, String)>) -> BarChart {
        const WIDTH: u32 = 360;
        const TRACK: f64 = 270.0;
        const ROW: u32 = 40;
        let bars: Vec<Bar> = bars
            .into_iter()
            .enumerate()
            .map(|(i, (label, share, value))| Bar {
                label: if label.chars().count() > LABEL_CHARS {
                    label.chars().take(LABEL_CHARS - 1).chain(['…']).collect()
                } else {
                    label
                },
                value,
                y: i as u32 * ROW,
                width: (share.clamp(0.0, 100.0) * TRACK / 100.0 * 10.0).round() / 10.0,
            })
            .collect();
        BarChart {
            title: title.to_string(),
            width: WIDTH,
            height: ROW * bars.len().max(1) as u32 + 4,
            track: TRACK,
            bars,
        }
    }
}

struct Point {
    x: f64,
    y: f64,
    label: String,
    value: String,
}

struct AxisLabel {
    x: f64,
    anchor: &'static str,
    text: String,
}

/// Values by month as a line (one month: a single point, labelled).
#[derive(Template)]
#[template(path = "reports/line.html")]
struct LineChart {
    title: String,
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    max_label: String,
    points: Vec<Point>,
    polyline: String,
    x_labels: Vec<AxisLabel>,
}

impl LineChart {
    /// `points`: month (`yyyy-mm`) and value.
    fn new(title: &str, unit: &str, points: &[(String, i64)]) -> LineChart {
        let (width, height, left, right, top, bottom) = (360.0, 180.0, 52.0, 344.0, 22.0, 146.0);
        let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
        let n = points.len();
        let pts: Vec<Point> = points
            .iter()
            .enumerate()
            .map(|(i, (month, v))| Point {
                x: if n == 1 {
                    (left + right) / 2.0
                } else {
                    left + (right - left) * i as f64 / (n - 1) as f64
                },
                y: ((bottom - (bottom - top) * *v as f64 / max as f64) * 10.0).round() / 10.0,
                label: month_text(month),
                value: format!("{} {unit}", int(*v)),
            })
            .collect();
        let polyline = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        let short = |m: &str| month_text(m).trim_start_matches("tháng ").to_string();
        let x_labels = match points {
            [] => vec![],
            [only] => vec![AxisLabel {
                x: (left + right) / 2.0,
                anchor: "middle",
                text: month_text(&only.0),
            }],
            [first, .., last] => vec![
                AxisLabel {
                    x: left,
                    anchor: "start",
                    text: short(&first.0),
                },
                AxisLabel {
                    x: right,
                    anchor: "end",
                    text: short(&last.0),
                },
            ],
        };
        LineChart {
            title: title.to_string(),
            width,
            height,
            left,
            right,
            top,
            bottom,
            max_label: int(max),
            points: pts,
            polyline,
            x_labels,
        }
    }
}

// ---------------------------------------------------------------------------
// The dashboard page
// ---------------------------------------------------------------------------

struct AdoptionView {
    book_rate: String,
    with_book: String,
    population: String,
    with_account: String,
    account_rate: String,
}

struct UnitRow {
    href: String,
    name: String,
    population: String,
    with_book: String,
    book_rate: String,
    with_account: String,
    account_rate: String,
}

struct ComplianceView {
    checkins: String,
    dossiers: String,
    over_24h_rate: String,
    submissions: String,
    rejected: String,
    rejected_rate: String,
}

struct FacilityRow {
    name: String,
    code: String,
    checkins: String,
    dossiers: String,
    sent_rate: String,
    over_24h_rate: String,
    submissions: String,
    rejected: String,
    signatures: String,
    top_errors: String,
    personal_id: String,
    card: String,
    icd: String,
    conflicts: String,
}

struct TypeRow {
    care_type: String,
    insured: &'static str,
    checkins: String,
    dossiers: String,
    over_24h_rate: String,
}

struct FacilityTypes {
    name: String,
    rows: Vec<TypeRow>,
}

struct SilentRow {
    name: String,
    code: String,
    last: String,
}

struct SlaRow {
    day: String,
    dossiers: String,
    p50: String,
    p90: String,
    p99: String,
    over_24h: String,
}

struct LateRow {
    facility: String,
    ma_lk: String,
    ended: String,
    received: String,
    delay: String,
}

struct QualityView {
    personal_id: String,
    card: String,
    icd: String,
}

/// One unit's record figures as shown: counts with their share.
#[derive(Clone)]
struct RecordRow {
    href: String,
    name: String,
    residents: String,
    with_record: String,
    record_rate: String,
    complete_a: String,
    complete_a_rate: String,
    complete_b: String,
    complete_b_rate: String,
    examined: String,
    examined_rate: String,
    elderly: String,
    elderly_examined: String,
    elderly_examined_rate: String,
    mismatches_open: String,
}

/// The records section: the headline (the unit's own line) and the table.
struct RecordsView {
    year: i32,
    as_of: String,
    total: RecordRow,
    rows: Vec<RecordRow>,
    /// The total line under the table: none when the table has one line.
    footer: Vec<RecordRow>,
}

fn record_row(u: Option<&UnitRef>, href: String, x: &RecordFigures) -> RecordRow {
    RecordRow {
        href,
        name: u.map_or_else(|| "Tổng cộng".to_string(), |u| u.name.clone()),
        residents: int(x.residents),
        with_record: int(x.with_record),
        record_rate: vn_pct(x.record_rate),
        complete_a: int(x.complete_a),
        complete_a_rate: vn_pct(x.complete_a_rate),
        complete_b: int(x.complete_b),
        complete_b_rate: vn_pct(x.complete_b_rate),
        examined: int(x.examined),
        examined_rate: vn_pct(x.examined_rate),
        elderly: int(x.elderly),
        elderly_examined: int(x.elderly_examined),
        elderly_examined_rate: vn_pct(x.elderly_examined_rate),
        mismatches_open: int(x.mismatches_open),
    }
}

/// The records section of a page; `link`: the dashboard query of a unit below (None:
/// no links).
fn records_view(r: &RecordsReport, link: Option<&dyn Fn(&str) -> String>) -> RecordsView {
    let total = record_row(None, String::new(), &r.total);
    RecordsView {
        year: r.year,
        as_of: day_text(&r.as_of),
        footer: if r.by_unit.len() > 1 {
            vec![total.clone()]
        } else {
            Vec::new()
        },
        total,
        rows: r
            .by_unit
            .iter()
            .map(|(u, x)| {
                let href = match link {
                    Some(l) if u.level != "unallocated" => l(&u.code),
                    _ => String::new(),
                };
                record_row(Some(u), href, x)
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "reports/dashboard.html")]
struct DashboardPage {
    frame: Frame,
    crumbs: Vec<(String, String)>,
    name: String,
    unit: String,
    /// `old` or `new`: the units counted in (the page's choice).
    units_choice: String,
    units_note: Option<String>,
    from: String,
    to: String,
    period: String,
    query: String,
    adoption: AdoptionView,
    trend: Option<LineChart>,
    below: &'static str,
    adoption_chart: Option<BarChart>,
    units: Vec<UnitRow>,
    compliance: ComplianceView,
    late_chart: BarChart,
    facilities: Vec<FacilityRow>,
    by_type: Vec<FacilityTypes>,
    silent_days: i64,
    silent: Vec<SilentRow>,
    /// On a unit's page: whose submissions the SLA counts.
    sla_scope: Option<String>,
    sla: Vec<SlaRow>,
    sla_more: usize,
    late_count: String,
    late: Vec<LateRow>,
    late_more: String,
    quality: QualityView,
    records: RecordsView,
    /// A commune station's page: residents and records only.
    records_only: bool,
    programmes: programmes::ProgrammesView,
}

/// The SLA rows shown (the newest days; the exports have them all).
const SLA_DAYS_SHOWN: usize = 31;
/// The late dossiers listed (the exports have up to the store's limit).
const LATE_SHOWN: usize = 50;

fn query_of(d: &Dashboard, unit: &str) -> String {
    format!(
        "unit={unit}&from={}&to={}&units={}&cohort={}",
        d.from, d.to, d.units, d.programmes.cohort
    )
}

/// What the units just below a unit of `level` are called.
fn below_of(level: Option<&str>) -> &'static str {
    match level {
        None => "tỉnh, thành phố",
        Some("province") => "quận, huyện",
        _ => "xã, phường",
    }
}

fn dashboard_view(d: &Dashboard, frame: Frame) -> DashboardPage {
    let code = d.unit.as_ref().map(|x| x.code.clone()).unwrap_or_default();
    let name = d
        .unit
        .as_ref()
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "Toàn quốc".into());
    let mut crumbs = vec![("/nhan-vien".to_string(), "Trang chính".to_string())];
    crumbs.extend(d.parents.iter().map(|p| {
        (
            format!("/nhan-vien/bao-cao?{}", query_of(d, &p.code)),
            p.name.clone(),
        )
    }));
    let a = &d.adoption;
    let units = d
        .adoption_by_unit
        .iter()
        .map(|(u, a)| UnitRow {
            // The unallocated line is not a unit to open.
            href: if u.level == "unallocated" {
                String::new()
            } else {
                format!("/nhan-vien/bao-cao?{}", query_of(d, &u.code))
            },
            name: u.name.clone(),
            population: int(a.population),
            with_book: int(a.with_book),
            book_rate: vn_pct(a.book_rate),
            with_account: int(a.with_account),
            account_rate: vn_pct(a.account_rate),
        })
        .collect();
    let adoption_chart = (!d.adoption_by_unit.is_empty()).then(|| {
        BarChart::new(
            "Tỷ lệ dân số có sổ theo đơn vị",
            d.adoption_by_unit
                .iter()
                .map(|(u, a)| (u.name.clone(), a.book_rate, vn_pct(a.book_rate)))
                .collect(),
        )
    });
    let trend = (!d.trend.is_empty()).then(|| {
        LineChart::new(
            "Số người có sổ theo tháng, cộng dồn",
            "người",
            &d.trend
                .iter()
                .map(|t| (t.month.clone(), t.books))
                .collect::<Vec<_>>(),
        )
    });
    let t = &d.totals;
    let late_total: i64 = t.late.iter().sum();
    let late_chart = BarChart::new(
        "Thời gian từ khi ra viện đến khi nhận hồ sơ",
        LATE_LABELS
            .iter()
            .zip(t.late)
            .map(|(l, n)| {
                let share = pct(n, late_total);
                (
                    l.to_string(),
                    share,
                    format!("{} ({})", vn_pct(share), int(n)),
                )
            })
            .collect(),
    );
    let facilities = d
        .facilities
        .iter()
        .map(|l| FacilityRow {
            name: l.name.clone(),
            code: l.code.clone(),
            checkins: int(l.checkins),
            dossiers: int(l.dossiers),
            sent_rate: l.sent_rate.map(vn_pct).unwrap_or_default(),
            over_24h_rate: vn_pct(l.over_24h_rate),
            submissions: int(l.submissions),
            rejected: int(l.rejected),
            signatures: format!(
                "{} / {} / {} / {}",
                int(l.signed),
                int(l.signature_valid),
                int(l.signature_invalid),
                int(l.unsigned)
            ),
            top_errors: l
                .top_errors
                .iter()
                .map(|(c, n)| format!("{c} ×{}", int(*n)))
                .collect::<Vec<_>>()
                .join(", "),
            personal_id: vn_pct(l.with_personal_id_rate),
            card: vn_pct(l.with_card_rate),
            icd: vn_pct(l.with_icd_rate),
            conflicts: int(l.open_conflicts),
        })
        .collect();
    let by_type = d
        .facilities
        .iter()
        .filter(|l| !l.by_type.is_empty())
        .map(|l| FacilityTypes {
            name: l.name.clone(),
            rows: l
                .by_type
                .iter()
                .map(|x| {
                    let known: i64 = x.late[..5].iter().sum();
                    TypeRow {
                        care_type: format!(
                            "{} {}",
                            x.care_type,
                            book::episode::care_type_label(&x.care_type)
                        ),
                        insured: if x.insured { "Có" } else { "Không" },
                        checkins: int(x.checkins),
                        dossiers: int(x.dossiers),
                        over_24h_rate: vn_pct(pct(x.late[2] + x.late[3] + x.late[4], known)),
                    }
                })
                .collect(),
        })
        .collect();
    let silent = d
        .silent
        .iter()
        .map(|l| SilentRow {
            name: l.name.clone(),
            code: l.code.clone(),
            last: l
                .last_receipt
                .map(|t| format!("lần cuối {}", pages::when(Some(crate::vn_wall_clock(t)))))
                .unwrap_or_else(|| "chưa từng gửi".into()),
        })
        .collect();
    let sla = d
        .sla
        .iter()
        .rev()
        .take(SLA_DAYS_SHOWN)
        .map(|s| SlaRow {
            day: day_text(&s.day),
            dossiers: int(s.dossiers),
            p50: bound(s.p50_ms),
            p90: bound(s.p90_ms),
            p99: bound(s.p99_ms),
            over_24h: int(s.over_24h),
        })
        .collect();
    let names: HashMap<&str, &str> = d
        .facilities
        .iter()
        .map(|l| (l.code.as_str(), l.name.as_str()))
        .collect();
    let late = d
        .late_dossiers
        .iter()
        .take(LATE_SHOWN)
        .map(|l| LateRow {
            facility: names
                .get(l.facility.as_str())
                .map_or_else(|| l.facility.clone(), |n| format!("{n} ({})", l.facility)),
            ma_lk: l.ma_lk.clone(),
            ended: stamp_text(&l.ended_at),
            received: pages::when(Some(crate::vn_wall_clock(l.received_at))),
            delay: hours_text(l.hours),
        })
        .collect();
    let late_more = if d.late_dossiers.len() > LATE_SHOWN {
        format!(
            "Chỉ hiện {LATE_SHOWN} hồ sơ nhận gần nhất; tệp Excel có đến {} hồ sơ.",
            int(d.late_dossiers.len() as i64)
        )
    } else {
        String::new()
    };
    let link = |c: &str| format!("/nhan-vien/bao-cao?{}", query_of(d, c));
    DashboardPage {
        frame,
        crumbs,
        unit: code.clone(),
        units_choice: d.units.clone(),
        units_note: d.units_note.clone(),
        from: d.from.clone(),
        to: d.to.clone(),
        period: format!("từ {} đến {}", day_text(&d.from), day_text(&d.to)),
        query: query_of(d, &code),
        adoption: AdoptionView {
            book_rate: vn_pct(a.book_rate),
            with_book: int(a.with_book),
            population: int(a.population),
            with_account: int(a.with_account),
            account_rate: vn_pct(a.account_rate),
        },
        trend,
        below: below_of(
            d.adoption_by_unit
                .first()
                .and_then(|(u, _)| match u.level.as_str() {
                    "province" => None,
                    "district" => Some("province"),
                    _ => Some("district"),
                }),
        ),
        adoption_chart,
        units,
        compliance: ComplianceView {
            checkins: int(t.checkins),
            dossiers: int(t.dossiers),
            over_24h_rate: vn_pct(t.over_24h_rate),
            submissions: int(t.submissions),
            rejected: int(t.rejected),
            rejected_rate: vn_pct(pct(t.rejected, t.submissions)),
        },
        late_chart,
        facilities,
        by_type,
        silent_days: d.silent_days,
        silent,
        sla_scope: d
            .unit
            .as_ref()
            .map(|u| format!("Tính trên các lần gửi của các cơ sở thuộc {}.", u.name)),
        sla_more: d.sla.len().saturating_sub(SLA_DAYS_SHOWN),
        sla,
        late_count: int(d.late_dossiers.len() as i64),
        late,
        late_more,
        quality: QualityView {
            personal_id: vn_pct(t.with_personal_id_rate),
            card: vn_pct(t.with_card_rate),
            icd: vn_pct(t.with_icd_rate),
        },
        records: records_view(
            &d.records,
            // A station's page opens no other unit.
            (!d.records_only).then_some(&link as &dyn Fn(&str) -> String),
        ),
        records_only: d.records_only,
        programmes: programmes::view(&d.programmes),
        name,
    }
}

/// An API error as the staff's error page, with its status.
fn error_page(headers: &HeaderMap, e: ApiError) -> Response {
    let ApiError(status, _, message) = e;
    let heading = match status {
        StatusCode::NOT_FOUND => "Không tìm thấy",
        StatusCode::FORBIDDEN => "Không được xem",
        _ => "Không thực hiện được",
    };
    let page = ErrorPage {
        frame: Frame::staff(heading, headers),
        heading: heading.into(),
        message,
        back_href: "/nhan-vien".into(),
        back_label: "← Trang chính".into(),
    };
    (status, pages::render(&page)).into_response()
}

/// The signed-in officer's dashboard for a page or an export (an error page otherwise).
async fn dashboard_for(
    app: &Arc<App>,
    headers: &HeaderMap,
    f: &Filter,
) -> Result<Dashboard, Response> {
    let u = staff_from(app, headers).await?;
    build(&u, f).await.map_err(|e| error_page(headers, e))
}

async fn dashboard_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let d = match dashboard_for(&app, &headers, &f).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let title = format!(
        "Báo cáo {}",
        d.unit.as_ref().map_or("Toàn quốc", |u| u.name.as_str())
    );
    pages::render(&dashboard_view(&d, Frame::staff(title, &headers)))
}

// ---------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct ExportFilter {
    #[serde(flatten)]
    filter: Filter,
    #[serde(default)]
    section: Option<String>,
}

/// One exported table: its sheet name, header and rows of text.
type Sheet = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// The tables of a dashboard.
fn tables(d: &Dashboard) -> Vec<Sheet> {
    let adoption = d
        .adoption_by_unit
        .iter()
        .map(|(u, a)| {
            vec![
                u.code.clone(),
                u.name.clone(),
                a.population.to_string(),
                a.with_book.to_string(),
                format!("{:.2}", a.book_rate),
                a.with_account.to_string(),
                format!("{:.2}", a.account_rate),
            ]
        })
        .collect();
    let facilities = d
        .facilities
        .iter()
        .flat_map(|l| {
            l.by_type.iter().map(move |x| {
                vec![
                    l.code.clone(),
                    l.name.clone(),
                    x.care_type.clone(),
                    if x.insured { "BHYT" } else { "không BHYT" }.to_string(),
                    x.checkins.to_string(),
                    x.dossiers.to_string(),
                    x.late[0].to_string(),
                    x.late[1].to_string(),
                    x.late[2].to_string(),
                    x.late[3].to_string(),
                    x.late[4].to_string(),
                    x.late[5].to_string(),
                ]
            })
        })
        .collect();
    let quality = d
        .facilities
        .iter()
        .map(|l| {
            vec![
                l.code.clone(),
                l.name.clone(),
                l.dossiers.to_string(),
                format!("{:.2}", l.with_personal_id_rate),
                format!("{:.2}", l.with_card_rate),
                format!("{:.2}", l.with_icd_rate),
                l.open_conflicts.to_string(),
                l.submissions.to_string(),
                l.rejected.to_string(),
                l.signed.to_string(),
                l.signature_valid.to_string(),
                l.signature_invalid.to_string(),
                l.unsigned.to_string(),
                l.top_errors
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let sla = d
        .sla
        .iter()
        .map(|s| {
            vec![
                s.day.clone(),
                s.dossiers.to_string(),
                bound(s.p50_ms),
                bound(s.p90_ms),
                bound(s.p99_ms),
                s.over_24h.to_string(),
            ]
        })
        .collect();
    let late = d
        .late_dossiers
        .iter()
        .map(|l| {
            vec![
                l.facility.clone(),
                l.ma_lk.clone(),
                l.ended_at.clone(),
                l.hours.to_string(),
            ]
        })
        .collect();
    let total_ref = UnitRef {
        code: d.unit.as_ref().map(|u| u.code.clone()).unwrap_or_default(),
        name: "Tổng cộng".into(),
        level: String::new(),
    };
    let records = d
        .records
        .by_unit
        .iter()
        .chain(std::iter::once(&(total_ref, d.records.total.clone())))
        .map(|(u, x)| {
            vec![
                u.code.clone(),
                u.name.clone(),
                x.residents.to_string(),
                x.with_record.to_string(),
                format!("{:.2}", x.record_rate),
                x.complete_a.to_string(),
                format!("{:.2}", x.complete_a_rate),
                x.complete_b.to_string(),
                format!("{:.2}", x.complete_b_rate),
                x.examined.to_string(),
                format!("{:.2}", x.examined_rate),
                x.elderly.to_string(),
                x.elderly_examined.to_string(),
                format!("{:.2}", x.elderly_examined_rate),
                x.mismatches_open.to_string(),
            ]
        })
        .collect();
    vec![
        (
            "adoption",
            vec![
                "unit",
                "name",
                "population",
                "with_book",
                "book_rate_pct",
                "with_account",
                "account_rate_pct",
            ],
            adoption,
        ),
        (
            "facilities",
            vec![
                "facility",
                "name",
                "care_type",
                "bhyt",
                "checkins",
                "dossiers",
                "late_6h",
                "late_6_24h",
                "late_1_3d",
                "late_3_7d",
                "late_over_7d",
                "late_unknown",
            ],
            facilities,
        ),
        (
            "quality",
            vec![
                "facility",
                "name",
                "dossiers",
                "personal_id_pct",
                "bhyt_card_pct",
                "icd10_pct",
                "open_conflicts",
                "submissions",
                "rejected",
                "signed",
                "signature_valid",
                "signature_invalid",
                "unsigned",
                "top_errors",
            ],
            quality,
        ),
        (
            "sla",
            vec!["day", "dossiers", "p50", "p90", "p99", "over_24h"],
            sla,
        ),
        (
            "late",
            vec!["facility", "ma_lk", "ngay_ra", "hours_late"],
            late,
        ),
        (
            "records",
            vec![
                "unit",
                "name",
                "residents",
                "with_record",
                "record_pct",
                "complete_a",
                "complete_a_pct",
                "complete_b",
                "complete_b_pct",
                "examined_in_year",
                "examined_pct",
                "elderly",
                "elderly_examined",
                "elderly_examined_pct",
                "mismatches_open",
            ],
            records,
        ),
        (
            "programmes",
            programmes::csv_header(),
            programmes::csv_rows(&d.programmes),
        ),
    ]
}

fn file(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    (
        [
            (CONTENT_TYPE, mime.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn export_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<ExportFilter>,
) -> Response {
    let d = match dashboard_for(&app, &headers, &f.filter).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let section = f.section.unwrap_or_else(|| "facilities".into());
    let Some((name, header, rows)) = tables(&d).into_iter().find(|t| t.0 == section) else {
        return error_page(
            &headers,
            ApiError(
                StatusCode::BAD_REQUEST,
                "section",
                "section: adoption, facilities, quality, sla, late, records hoặc programmes".into(),
            ),
        );
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(&header);
    for r in &rows {
        let _ = w.write_record(r);
    }
    match w.into_inner() {
        // A UTF-8 BOM, so that spreadsheet programs read the Vietnamese right.
        Ok(bytes) => file(
            [b"\xEF\xBB\xBF".as_slice(), &bytes].concat(),
            "text/csv; charset=utf-8",
            &format!("healthbook-{name}-{}-{}.csv", d.from, d.to),
        ),
        Err(e) => internal(e).into_response(),
    }
}

fn xlsx(d: &Dashboard) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (name, header, rows) in tables(d) {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                // Codes stay text (leading zeros); counts and rates are numbers.
                let numeric =
                    header[c] != "facility" && header[c] != "unit" && header[c] != "ma_lk";
                match cell.parse::<f64>() {
                    Ok(n) if numeric => ws.write_number(r as u32 + 1, c as u16, n)?,
                    _ => ws.write_string(r as u32 + 1, c as u16, cell)?,
                };
            }
        }
        ws.autofit();
    }
    wb.save_to_buffer()
}

async fn export_xlsx(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let d = match dashboard_for(&app, &headers, &f).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match xlsx(&d) {
        Ok(bytes) => file(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("healthbook-bao-cao-{}-{}.xlsx", d.from, d.to),
        ),
        Err(e) => internal(e).into_response(),
    }
}

// ---------------------------------------------------------------------------
// The monthly unit report (Phụ lục 1)
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct MonthFilter {
    #[serde(default)]
    pub unit: Option<String>,
    /// yyyy-mm; default the previous month.
    #[serde(default)]
    pub month: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Consolidated {
    pub unit: Option<UnitRef>,
    pub month: String,
    /// The 10th of the following month.
    pub due: String,
    /// Lines summed by department over the unit and the units below.
    pub lines: Vec<UnitReportLine>,
    pub total: UnitReportLine,
    pub reports: Vec<UnitReport>,
    /// The units that filed, named, with who filed and when.
    pub filed: Vec<Filed>,
    /// Reporting units below that have not filed: late once `due` has passed.
    pub missing: Vec<UnitRef>,
    pub late: bool,
    /// The province the unit lies in (the place of the document's date line).
    #[serde(skip)]
    pub place_name: String,
    /// The QĐ 831 records of the unit's residents (computed, not filed): examinations
    /// of the month's year, ages on the month's last day (or today, if earlier).
    pub records: RecordsReport,
    /// The station programmes of the unit (computed, not filed), as of the same day:
    /// vaccination of the children born the year before the month's.
    pub programmes: ProgrammesReport,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Filed {
    pub unit: UnitRef,
    pub submitted_by: String,
    pub submitted_at: i64,
}

fn previous_month(today: NaiveDate) -> String {
    let (y, m) = if today.month() == 1 {
        (today.year() - 1, 12)
    } else {
        (today.year(), today.month() - 1)
    };
    format!("{y:04}-{m:02}")
}

fn due_of(month: &str) -> Option<NaiveDate> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    NaiveDate::from_ymd_opt(next.year(), next.month(), 10)
}

pub(crate) async fn consolidate(u: &StaffUser, f: &MonthFilter) -> Result<Consolidated, ApiError> {
    let today = crate::vn_now().date();
    // A district officer's months end by the reform (districts were abolished).
    let today = if u.account.role == Role::DistrictOfficer {
        today.min(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or(today))
    } else {
        today
    };
    let month = f
        .month
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| previous_month(today));
    let Some(due) = due_of(&month) else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "month",
            "Tháng dạng yyyy-mm".into(),
        ));
    };
    let store = u.app().store.clone();
    let m = month.clone();
    // A month is consolidated in the units in force in it.
    let last_day = format!("{month}-28");
    book::access::report_period(u.account.role, &last_day).map_err(denied)?;
    let scheme = store::scheme_on(&last_day);
    // The records as of the month's last day (today while the month runs).
    let records_day = due
        .with_day(1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(today)
        .min(crate::vn_now().date());
    let (role, own) = (u.account.role, u.account.unit.clone());
    let (tree, reports, adoption, records, chronic) = blocking(move || {
        let (units, lineage) = (store.units()?, store.unit_lineage()?);
        let scheme = if units.iter().any(|x| x.scheme == "2025") {
            scheme
        } else {
            "pre2025"
        };
        // A commune station counts in the units of its commune.
        let scheme = own_scheme(role, own.as_deref(), &units).unwrap_or(scheme);
        Ok((
            Tree::new(units, &lineage, scheme),
            store.unit_reports(&m)?,
            store.adoption()?,
            store.record_stats(records_day.year(), records_day)?,
            store.chronic_indicators(records_day)?,
        ))
    })
    .await?;
    // A commune station sees its own commune's report (the one it files).
    let code = match own_commune(u, &tree, f.unit.as_deref()) {
        Some(own) if selected(u, &tree, Some(&own)).is_err() => own,
        _ => selected(u, &tree, f.unit.as_deref())?,
    };
    let cohort = records_day.year() - 1;
    let communes: Vec<String> = records
        .iter()
        .filter(|r| tree.within(&code, &r.commune))
        .map(|r| r.commune.clone())
        .collect();
    let store = u.app().store.clone();
    let vaccination = blocking(move || {
        programmes::vaccination_counts(store.as_ref(), &communes, cohort, records_day)
    })
    .await?;
    let programmes = programmes::programmes_report(
        &tree,
        &code,
        &vaccination,
        &chronic,
        &records,
        cohort,
        records_day,
    );
    let records = records_report(
        &tree,
        &code,
        &adoption,
        &records,
        records_day.year(),
        records_day,
    );
    let reports: Vec<UnitReport> = reports
        .into_iter()
        .filter(|r| tree.within(&code, &r.unit))
        .collect();
    let mut by_dept: BTreeMap<String, UnitReportLine> = BTreeMap::new();
    let mut total = UnitReportLine {
        department: "Tổng cộng".into(),
        ..UnitReportLine::default()
    };
    for l in reports.iter().flat_map(|r| &r.lines) {
        let e = by_dept
            .entry(l.department.clone())
            .or_insert_with(|| UnitReportLine {
                department: l.department.clone(),
                ..UnitReportLine::default()
            });
        for acc in [&mut *e, &mut total] {
            acc.total_staff += l.total_staff;
            acc.vneid_activated += l.vneid_activated;
            acc.vneid_not += l.vneid_not;
            acc.book_created += l.book_created;
            acc.card_integrated += l.card_integrated;
            acc.card_not += l.card_not;
        }
        for (acc, reason) in [
            (&mut e.vneid_reason, &l.vneid_reason),
            (&mut e.card_reason, &l.card_reason),
        ] {
            if let Some(r) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                let joined = match acc.take() {
                    Some(prev) if !prev.contains(r) => format!("{prev}; {r}"),
                    Some(prev) => prev,
                    None => r.to_string(),
                };
                *acc = Some(joined);
            }
        }
    }
    let filed: std::collections::HashSet<&str> = reports.iter().map(|r| r.unit.as_str()).collect();
    let missing: Vec<UnitRef> = tree
        .leaves(&code)
        .into_iter()
        .filter(|u| !filed.contains(u.code.as_str()))
        .map(|u| UnitRef {
            code: u.code.clone(),
            name: u.name.clone(),
            level: u.level.clone(),
        })
        .collect();
    let unit_ref = |u: &Unit| UnitRef {
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
    };
    let filed_units = reports
        .iter()
        .map(|r| Filed {
            unit: tree.units.get(&r.unit).map_or_else(
                || UnitRef {
                    code: r.unit.clone(),
                    name: r.unit.clone(),
                    level: String::new(),
                },
                unit_ref,
            ),
            submitted_by: r.submitted_by.clone(),
            submitted_at: r.submitted_at,
        })
        .collect();
    let place_name = tree
        .place(&code)
        .province
        .and_then(|p| tree.units.get(&p))
        .map_or_else(|| "Hà Nội".to_string(), |p| p.name.clone());
    Ok(Consolidated {
        filed: filed_units,
        place_name,
        unit: tree.units.get(&code).map(|u| UnitRef {
            code: u.code.clone(),
            name: u.name.clone(),
            level: u.level.clone(),
        }),
        due: due.to_string(),
        late: today > due,
        month,
        lines: by_dept.into_values().collect(),
        total,
        reports,
        missing,
        records,
        programmes,
    })
}

async fn unit_reports_json(
    u: StaffUser,
    Query(f): Query<MonthFilter>,
) -> Result<Response, ApiError> {
    Ok(Json(consolidate(&u, &f).await?).into_response())
}

/// File a unit's report for a month (replaces an earlier filing).
pub(crate) async fn submit(
    u: &StaffUser,
    unit: &str,
    month: &str,
    lines: Vec<UnitReportLine>,
) -> Result<(), ApiError> {
    let store = u.app().store.clone();
    let code = unit.to_string();
    let place = blocking(move || store.place_of_unit(&code)).await?;
    u.allow(&Action::SubmitUnitReport { place: &place })?;
    let store = u.app().store.clone();
    let (unit, month, by) = (
        unit.to_string(),
        month.to_string(),
        u.account.username.clone(),
    );
    tokio::task::spawn_blocking(move || store.save_unit_report(&unit, &month, &lines, &by))
        .await
        .map_err(internal)?
        .map_err(|e| match e {
            store::StoreError::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, "invalid", m),
            e => internal(e),
        })
}

async fn submit_unit_report_json(
    u: StaffUser,
    Path((unit, month)): Path<(String, String)>,
    Json(lines): Json<Vec<UnitReportLine>>,
) -> Result<Response, ApiError> {
    submit(&u, &unit, &month, lines).await?;
    Ok(Json(serde_json::json!({"submitted": true})).into_response())
}

/// A line of the report as text cells, in the order of the page's and the PDF's columns.
fn line_cells(l: &UnitReportLine) -> Vec<String> {
    vec![
        l.department.clone(),
        int(l.total_staff),
        int(l.vneid_activated),
        int(l.vneid_not),
        l.vneid_reason.clone().unwrap_or_default(),
        int(l.book_created),
        int(l.card_integrated),
        int(l.card_not),
        l.card_reason.clone().unwrap_or_default(),
    ]
}

fn report_rows(c: &Consolidated) -> Vec<Vec<String>> {
    c.lines
        .iter()
        .chain(std::iter::once(&c.total))
        .map(line_cells)
        .collect()
}

struct ReportLineRow {
    department: String,
    total_staff: String,
    vneid_activated: String,
    vneid_not: String,
    vneid_reason: String,
    book_created: String,
    card_integrated: String,
    card_not: String,
    card_reason: String,
}

struct FiledRow {
    name: String,
    code: String,
    at: String,
    by: String,
}

struct ConsolidatedView {
    due: String,
    filed: String,
    missing_heading: &'static str,
    lines: Vec<ReportLineRow>,
    filed_units: Vec<FiledRow>,
    missing: Vec<(String, String)>,
    records: RecordsView,
    /// Always set (an `Option` so the shared template can bind it by name).
    programmes: Option<programmes::ProgrammesView>,
}

struct FilingForm {
    code: String,
    name: String,
    rows: usize,
}

#[derive(Template)]
#[template(path = "reports/unit_report.html")]
struct UnitReportPage {
    frame: Frame,
    back_href: String,
    name: String,
    unit: String,
    month: String,
    month_label: String,
    message: Option<(bool, String)>,
    consolidated: Option<ConsolidatedView>,
    filing: Option<FilingForm>,
}

fn missing_heading(c: &Consolidated) -> &'static str {
    if c.late {
        "Đơn vị nộp muộn (quá hạn)"
    } else {
        "Đơn vị chưa nộp"
    }
}

fn consolidated_view(c: &Consolidated) -> ConsolidatedView {
    ConsolidatedView {
        due: day_text(&c.due),
        filed: int(c.reports.len() as i64),
        missing_heading: missing_heading(c),
        lines: c
            .lines
            .iter()
            .chain(std::iter::once(&c.total))
            .map(|l| ReportLineRow {
                department: l.department.clone(),
                total_staff: int(l.total_staff),
                vneid_activated: int(l.vneid_activated),
                vneid_not: int(l.vneid_not),
                vneid_reason: l.vneid_reason.clone().unwrap_or_default(),
                book_created: int(l.book_created),
                card_integrated: int(l.card_integrated),
                card_not: int(l.card_not),
                card_reason: l.card_reason.clone().unwrap_or_default(),
            })
            .collect(),
        filed_units: c
            .filed
            .iter()
            .map(|f| FiledRow {
                name: f.unit.name.clone(),
                code: f.unit.code.clone(),
                at: pages::when(Some(crate::vn_wall_clock(f.submitted_at))),
                by: f.submitted_by.clone(),
            })
            .collect(),
        missing: c
            .missing
            .iter()
            .map(|m| (m.name.clone(), m.code.clone()))
            .collect(),
        records: records_view(&c.records, None),
        programmes: Some(programmes::view(&c.programmes)),
    }
}

/// The record lines of a report as PDF cells: unit, then counts with their share.
fn record_cells(r: &RecordsReport) -> Vec<Vec<String>> {
    let with = |n: i64, p: f64| format!("{} ({})", int(n), vn_pct(p));
    let row = |name: String, x: &RecordFigures| {
        vec![
            name,
            int(x.residents),
            with(x.with_record, x.record_rate),
            with(x.complete_a, x.complete_a_rate),
            with(x.complete_b, x.complete_b_rate),
            with(x.examined, x.examined_rate),
            int(x.elderly),
            with(x.elderly_examined, x.elderly_examined_rate),
            int(x.mismatches_open),
        ]
    };
    let mut rows: Vec<Vec<String>> = r
        .by_unit
        .iter()
        .map(|(u, x)| {
            let name = if u.code.is_empty() {
                u.name.clone()
            } else {
                format!("{} ({})", u.name, u.code)
            };
            row(name, x)
        })
        .collect();
    if r.by_unit.len() > 1 {
        rows.push(row("Tổng cộng".into(), &r.total));
    }
    rows
}

async fn unit_report_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<MonthFilter>,
) -> Response {
    let u = match staff_from(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    render_unit_report(&u, &headers, &f, None).await
}

async fn render_unit_report(
    u: &StaffUser,
    headers: &HeaderMap,
    f: &MonthFilter,
    message: Option<(bool, String)>,
) -> Response {
    // Commune staff file their own unit's report; they see it, not the consolidation.
    let own_unit = u.account.unit.clone();
    let view_filter = MonthFilter {
        unit: f.unit.clone().or(own_unit.clone()),
        month: f.month.clone(),
    };
    let c = match consolidate(u, &view_filter).await {
        Ok(c) => Some(c),
        Err(ApiError(StatusCode::FORBIDDEN, ..)) if u.account.role == Role::CommuneStaff => None,
        Err(e) => return error_page(headers, e),
    };
    let month = c
        .as_ref()
        .map(|c| c.month.clone())
        .or(f.month.clone())
        .unwrap_or_else(|| previous_month(crate::vn_now().date()));
    let unit_ref = c.as_ref().and_then(|c| c.unit.clone());
    let name = unit_ref
        .as_ref()
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "Toàn quốc".into());
    let unit = unit_ref
        .as_ref()
        .map(|x| x.code.clone())
        .unwrap_or_default();
    // The filing form for the caller's own unit.
    let mut filing = None;
    if let Some(code) = own_unit {
        let store = u.app().store.clone();
        let c2 = code.clone();
        let place = match blocking(move || store.place_of_unit(&c2)).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        };
        if u.allows(&Action::SubmitUnitReport { place: &place }) {
            let name = unit_ref
                .as_ref()
                .filter(|x| x.code == code)
                .map_or_else(|| code.clone(), |x| x.name.clone());
            filing = Some(FilingForm {
                code,
                name,
                rows: 3,
            });
        }
    }
    let back_href = if unit.is_empty() {
        "/nhan-vien/bao-cao".to_string()
    } else {
        format!("/nhan-vien/bao-cao?unit={unit}")
    };
    let title = format!("Báo cáo {} (Phụ lục 1)", month_text(&month));
    pages::render(&UnitReportPage {
        frame: Frame::staff(title, headers),
        back_href,
        name,
        unit,
        month_label: month_text(&month),
        month,
        message,
        consolidated: c.as_ref().map(consolidated_view),
        filing,
    })
}

async fn unit_report_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let u = match staff_from(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let num = |k: &str| get(k).parse::<i64>().unwrap_or(0);
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    let lines: Vec<UnitReportLine> = (0..3)
        .filter(|i| !get(&format!("d{i}")).is_empty())
        .map(|i| UnitReportLine {
            department: get(&format!("d{i}")),
            total_staff: num(&format!("t{i}")),
            vneid_activated: num(&format!("va{i}")),
            vneid_not: num(&format!("vn{i}")),
            vneid_reason: opt(&format!("vr{i}")),
            book_created: num(&format!("b{i}")),
            card_integrated: num(&format!("ci{i}")),
            card_not: num(&format!("cn{i}")),
            card_reason: opt(&format!("cr{i}")),
        })
        .collect();
    let (unit, month) = (get("unit"), get("month"));
    let message = match submit(&u, &unit, &month, lines).await {
        Ok(()) => (
            true,
            format!("Đã nộp báo cáo {} của đơn vị {unit}.", month_text(&month)),
        ),
        Err(ApiError(_, _, m)) => (false, m),
    };
    let f = MonthFilter {
        unit: None,
        month: Some(month),
    };
    render_unit_report(&u, &headers, &f, Some(message)).await
}

/// The heading lines of the agency that issues a unit's report: the people's committee
/// of the place, then its health agency (the ministry for the country).
fn agency_of(unit: Option<&UnitRef>) -> Vec<String> {
    match unit {
        None => vec!["BỘ Y TẾ".into()],
        Some(u) => {
            let place = u.name.to_uppercase();
            let agency = match u.level.as_str() {
                "province" => format!("SỞ Y TẾ {place}"),
                "district" => "PHÒNG Y TẾ".to_string(),
                _ => "TRẠM Y TẾ".to_string(),
            };
            vec![format!("UBND {place}"), agency]
        }
    }
}

/// "Hà Nội, ngày 05 tháng 12 năm 2026".
fn date_line(place: &str, d: NaiveDate) -> String {
    format!(
        "{place}, ngày {:02} tháng {:02} năm {}",
        d.day(),
        d.month(),
        d.year()
    )
}

async fn unit_report_pdf(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<MonthFilter>,
) -> Response {
    let u = match staff_from(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let c = match consolidate(&u, &f).await {
        Ok(c) => c,
        Err(e) => return error_page(&headers, e),
    };
    let name = c
        .unit
        .as_ref()
        .map(|x| format!("{} ({})", x.name, x.code))
        .unwrap_or_else(|| "Toàn quốc".into());
    use pdf::report::Align::{Left, Right};
    let mut tables = vec![pdf::report::Table {
        heading: "Tình hình triển khai theo khoa, phòng".to_string(),
        header: [
            "Khoa, phòng",
            "Tổng số nhân viên",
            "Đã kích hoạt VNeID mức 2",
            "Chưa kích hoạt",
            "Lý do chưa kích hoạt",
            "Đã có sổ sức khỏe điện tử",
            "Đã tích hợp thẻ BHYT",
            "Chưa tích hợp",
            "Lý do chưa tích hợp",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        widths: vec![48.0, 20.0, 24.0, 20.0, 46.0, 24.0, 24.0, 20.0, 41.0],
        align: vec![Left, Right, Right, Right, Left, Right, Right, Right, Left],
        rows: report_rows(&c),
        total: true,
    }];
    // The records of the unit's residents: computed from the records, never typed in.
    tables.push(pdf::report::Table {
        heading: format!(
            "Hồ sơ sức khỏe cá nhân theo QĐ 831 (năm {}, tính đến ngày {})",
            c.records.year,
            day_text(&c.records.as_of)
        ),
        header: [
            "Đơn vị".to_string(),
            "Dân số đang cư trú".to_string(),
            "Có hồ sơ".to_string(),
            "Đủ phần A".to_string(),
            "Đủ phần B".to_string(),
            format!("Có khám trong năm {}", c.records.year),
            "Người cao tuổi (từ 60 tuổi)".to_string(),
            "Người cao tuổi đã khám trong năm".to_string(),
            "Sai lệch với CSDL dân cư chưa xử lý".to_string(),
        ]
        .to_vec(),
        widths: vec![55.0, 24.0, 28.0, 28.0, 28.0, 28.0, 24.0, 28.0, 24.0],
        align: vec![Left, Right, Right, Right, Right, Right, Right, Right, Right],
        total: c.records.by_unit.len() > 1,
        rows: record_cells(&c.records),
    });
    // The station programmes: computed too.
    tables.extend(programmes::pdf_tables(&c.programmes));
    if !c.missing.is_empty() {
        // Three units a row: a province has hundreds of communes.
        const PER_ROW: usize = 3;
        tables.push(pdf::report::Table {
            heading: format!("{} ({})", missing_heading(&c), int(c.missing.len() as i64)),
            header: ["Mã", "Tên đơn vị"]
                .repeat(PER_ROW)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            widths: [20.0, 69.0].repeat(PER_ROW),
            align: [Left, Left].repeat(PER_ROW),
            rows: c
                .missing
                .chunks(PER_ROW)
                .map(|units| {
                    let mut row: Vec<String> = units
                        .iter()
                        .flat_map(|m| [m.code.clone(), m.name.clone()])
                        .collect();
                    row.resize(2 * PER_ROW, String::new());
                    row
                })
                .collect(),
            total: false,
        });
    }
    let doc = pdf::report::Document {
        agency: agency_of(c.unit.as_ref()),
        title: format!("BÁO CÁO {}", month_text(&c.month).to_uppercase()),
        subtitle: "Tình hình triển khai sổ sức khỏe điện tử và tích hợp thẻ BHYT (Phụ lục 1)"
            .to_string(),
        context: vec![
            format!("Đơn vị báo cáo: {name}."),
            format!(
                "Hạn nộp: {}. {} đơn vị đã nộp; {} đơn vị {}.",
                day_text(&c.due),
                int(c.reports.len() as i64),
                int(c.missing.len() as i64),
                if c.late {
                    "nộp muộn"
                } else {
                    "chưa nộp"
                }
            ),
            "Số liệu hồ sơ sức khỏe cá nhân được tính tự động từ hồ sơ của người dân, không \
             nhập tay; khám trong năm tính theo lần khám gần nhất của hồ sơ."
                .to_string(),
        ],
        tables,
        date_line: date_line(&c.place_name, crate::vn_now().date()),
    };
    let file_name = format!("phu-luc-1-{}.pdf", c.month);
    match tokio::task::spawn_blocking(move || pdf::report::render(&doc)).await {
        Ok(Ok(bytes)) => file(bytes, "application/pdf", &file_name),
        Ok(Err(e)) => internal(e).into_response(),
        Err(e) => internal(e).into_response(),
    }
}
