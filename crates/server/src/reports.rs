//! Reports for health departments and BHXH: adoption against the population, facility
//! compliance and lateness, the 24-hour SLA, data quality, and the monthly unit report
//! (Phụ lục 1). JSON under `/api/v1/reports`, the dashboard under `/nhan-vien/bao-cao`
//! with server-rendered SVG charts, and CSV / XLSX / PDF exports. Every figure is read
//! from the aggregates the store keeps at ingest; each officer sees their unit and below
//! (`book::access::Action::ViewReports`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use book::access::{Action, Place, Role};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use store::{
    AdoptionRow, ErrorStat, Facility, FacilityStat, LateDossier, ReceiptStat, SLA_BOUNDS_MS,
    TrendRow, Unit, UnitReport, UnitReportLine,
};

use crate::App;
use crate::citizen::{ApiError, blocking, internal, token_from};
use crate::staff::{STAFF_COOKIE, StaffUser};
use crate::ui::{esc, redirect, shell};

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

/// Units by code, with their children, to place facilities and residents.
pub(crate) struct Tree {
    units: HashMap<String, Unit>,
    children: HashMap<String, Vec<String>>,
}

impl Tree {
    fn new(units: Vec<Unit>) -> Tree {
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for u in &units {
            children
                .entry(u.parent.clone().unwrap_or_default())
                .or_default()
                .push(u.code.clone());
        }
        for v in children.values_mut() {
            v.sort();
        }
        Tree {
            units: units.into_iter().map(|u| (u.code.clone(), u)).collect(),
            children,
        }
    }

    /// The place of a unit: it and the units above it.
    fn place(&self, code: &str) -> Place {
        let mut place = Place::default();
        let mut next = Some(code.to_string());
        for _ in 0..4 {
            let Some(u) = next.take().and_then(|c| self.units.get(&c)) else {
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

    fn facility_place(&self, f: &Facility) -> Place {
        let mut place = f.unit.as_deref().map(|u| self.place(u)).unwrap_or_default();
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

    /// The child of `top` ("" for the country) that `code` lies in, if it does.
    fn child_toward(&self, top: &str, code: &str) -> Option<String> {
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

    /// Whether `code` is `top` or lies below it ("" is the country).
    fn within(&self, top: &str, code: &str) -> bool {
        top.is_empty() || code == top || self.child_toward(top, code).is_some()
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
    /// Period of episodes started, yyyy-mm-dd, inclusive; default the last 30 days.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// A facility with no receipt for this many days is silent (default 7).
    #[serde(default)]
    pub silent_days: Option<i64>,
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
    pub unit: Option<UnitRef>,
    pub from: String,
    pub to: String,
    pub adoption: Adoption,
    pub adoption_by_unit: Vec<(UnitRef, Adoption)>,
    pub trend: Vec<TrendPoint>,
    pub facilities: Vec<FacilityLine>,
    pub silent: Vec<FacilityLine>,
    pub silent_days: i64,
    pub sla: Vec<SlaDay>,
    pub late_dossiers: Vec<LateDossier>,
    pub totals: FacilityTotals,
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
    late: Vec<LateDossier>,
    conflicts: Vec<(String, i64)>,
    signatures: Vec<store::SignatureCount>,
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
            format!("Không có đơn vị hành chính {code}"),
        ));
    }
    let place = if code.is_empty() {
        Place::default()
    } else {
        tree.place(&code)
    };
    u.allow(&Action::ViewReports { place: &place })?;
    Ok(code)
}

pub(crate) async fn build(u: &StaffUser, f: &Filter) -> Result<Dashboard, ApiError> {
    let today = crate::vn_now().date();
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
    let facts = blocking(move || {
        Ok(Facts {
            tree: Tree::new(store.units()?),
            facilities: store.facilities()?,
            adoption: store.adoption()?,
            trend: store.adoption_trend()?,
            stats: store.facility_stats(&a, &b)?,
            receipts: store.receipt_stats(&a, &b)?,
            errors: store.error_stats(&a, &b)?,
            last: store.last_receipts()?,
            sla: store.sla_histogram(&a, &b)?,
            late: store.late_dossiers(from_ms, to_ms, 200)?,
            conflicts: store.open_conflicts()?,
            signatures: store.signature_counts(&a, &b)?,
        })
    })
    .await?;
    let code = selected(u, &facts.tree, f.unit.as_deref())?;
    Ok(compute(
        facts,
        &code,
        from_s,
        to_s,
        f.silent_days.unwrap_or(7),
    ))
}

fn compute(facts: Facts, code: &str, from: String, to: String, silent_days: i64) -> Dashboard {
    let tree = &facts.tree;
    let unit_ref = |u: &Unit| UnitRef {
        code: u.code.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
    };
    // Adoption: residents of the unit, and per unit just below.
    let mut total = Adoption::default();
    let mut by_child: BTreeMap<String, Adoption> = BTreeMap::new();
    for r in &facts.adoption {
        if !tree.within(code, &r.unit) {
            continue;
        }
        total.add(r);
        if let Some(c) = tree.child_toward(code, &r.unit) {
            by_child.entry(c).or_default().add(r);
        }
    }
    let adoption_by_unit = tree
        .below(code)
        .into_iter()
        .map(|u| {
            (
                unit_ref(u),
                by_child.remove(&u.code).unwrap_or_default().finish(),
            )
        })
        .collect();
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
    // SLA per day of receipt.
    let mut days: BTreeMap<String, [i64; 10]> = BTreeMap::new();
    for (day, bucket, n) in &facts.sla {
        if let Some(slot) = days
            .entry(day.clone())
            .or_default()
            .get_mut(*bucket as usize)
        {
            *slot += n;
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
    let in_scope: std::collections::HashSet<&str> = lines.iter().map(|l| l.code.as_str()).collect();
    let late_dossiers = facts
        .late
        .into_iter()
        .filter(|l| in_scope.contains(l.facility.as_str()))
        .collect();
    Dashboard {
        unit: tree.units.get(code).map(unit_ref),
        from,
        to,
        adoption: total.finish(),
        adoption_by_unit,
        trend,
        facilities: lines,
        silent,
        silent_days,
        sla,
        late_dossiers,
        totals,
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
// Charts: small SVGs, drawn here
// ---------------------------------------------------------------------------

/// Horizontal bars, one per label, values in percent (0–100).
fn bar_chart(title: &str, bars: &[(String, f64)]) -> String {
    let h = 28 * bars.len().max(1) + 10;
    let mut svg = format!(
        r#"<svg viewBox="0 0 340 {h}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 6 + i * 28;
        let w = (v.clamp(0.0, 100.0) * 1.6).round();
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="11" fill="#1b1f24">{}</text><rect x="150" y="{}" width="160" height="16" fill="#e3eefb"/><rect x="150" y="{}" width="{w}" height="16" fill="#0b5cad"/><text x="314" y="{}" font-size="11" fill="#1b1f24">{}</text>"##,
            y + 13,
            esc(&label.chars().take(24).collect::<String>()),
            y,
            y,
            y + 13,
            format!("{v:.1}%").replace('.', ",")
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line of cumulative values by month.
fn line_chart(title: &str, points: &[(String, i64)]) -> String {
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(2) as f64 - 1.0;
    let coords: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            format!(
                "{:.1},{:.1}",
                30.0 + 300.0 * i as f64 / n,
                130.0 - 110.0 * *v as f64 / max
            )
        })
        .collect();
    let mut svg = format!(
        r##"<svg viewBox="0 0 340 160" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title><line x1="30" y1="130" x2="330" y2="130" stroke="#687583"/><polyline fill="none" stroke="#0b5cad" stroke-width="2" points="{}"/>"##,
        esc(title),
        esc(title),
        coords.join(" ")
    );
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            r##"<text x="30" y="148" font-size="10" fill="#1b1f24">{}</text><text x="330" y="148" font-size="10" text-anchor="end" fill="#1b1f24">{}</text><text x="30" y="14" font-size="10" fill="#1b1f24">{}</text>"##,
            esc(&first.0),
            esc(&last.0),
            last.1
        );
    }
    svg.push_str("</svg>");
    svg
}

const LATE_LABELS: [&str; 6] = [
    "≤ 6 giờ",
    "6–24 giờ",
    "1–3 ngày",
    "3–7 ngày",
    "> 7 ngày",
    "không rõ",
];

fn bound(ms: Option<i64>) -> String {
    match ms {
        Some(x) if x < 1_000 => format!("≤ {x} ms"),
        Some(x) if x < 60_000 => format!("≤ {} s", x / 1_000),
        Some(x) if x < 3_600_000 => format!("≤ {} phút", x / 60_000),
        Some(x) => format!("≤ {} giờ", x / 3_600_000),
        None => "> 24 giờ".into(),
    }
}

/// A percentage as Vietnamese write it: `13,55%`.
fn vn_pct(x: f64) -> String {
    format!("{x:.2}%").replace('.', ",")
}

fn page(title: &str, body: &str) -> Html<String> {
    shell(
        title,
        ("/nhan-vien", "Sổ sức khỏe — Nhân viên y tế"),
        Some("/nhan-vien/dang-xuat"),
        body,
    )
}

fn error_page(e: ApiError) -> Response {
    let ApiError(status, _, message) = e;
    (
        status,
        page(
            "Không thực hiện được",
            &format!(
                r#"<h1>Không thực hiện được</h1><p class="error" role="alert">{}</p><p><a href="/nhan-vien">← Trang chính</a></p>"#,
                esc(&message)
            ),
        ),
    )
        .into_response()
}

fn query_of(d: &Dashboard, unit: &str) -> String {
    format!("unit={unit}&from={}&to={}", d.from, d.to)
}

/// The signed-in officer's dashboard for a page or an export (an error page otherwise).
async fn dashboard_for(
    app: &Arc<App>,
    headers: &HeaderMap,
    f: &Filter,
) -> Result<Dashboard, Response> {
    let u = staff_from(app, headers).await?;
    build(&u, f).await.map_err(error_page)
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
    let code = d.unit.as_ref().map(|x| x.code.clone()).unwrap_or_default();
    let name = d
        .unit
        .as_ref()
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "Toàn quốc".into());
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>Báo cáo: {}</h1>
<form method="get" action="/nhan-vien/bao-cao" class="card"><input type="hidden" name="unit" value="{}">
<label for="from">Từ ngày</label><input id="from" name="from" type="date" value="{}">
<label for="to">Đến ngày</label><input id="to" name="to" type="date" value="{}">
<button class="primary" type="submit">Xem</button></form>
<div class="actions"><a class="button secondary" href="/nhan-vien/bao-cao/xuat.xlsx?{q}">Tải Excel (XLSX)</a><a class="button secondary" href="/nhan-vien/bao-cao/xuat.csv?{q}&amp;section=facilities">Tải CSV</a><a class="button secondary" href="/nhan-vien/bao-cao/phu-luc-1?unit={}">Báo cáo tháng (Phụ lục 1)</a></div>"#,
        esc(&name),
        esc(&code),
        d.from,
        d.to,
        esc(&code),
        q = esc(&query_of(&d, &code)),
    );
    // Adoption.
    let a = &d.adoption;
    let _ = write!(
        body,
        r#"<h2 id="nguoi-dan">Người dân có sổ sức khỏe điện tử</h2><div class="card"><div class="big">{} dân số có sổ</div><div>{} người có ít nhất một lượt khám trên sổ / {} nhân khẩu (dân số đang cư trú)</div><div>{} người đã kích hoạt tài khoản ({})</div></div>"#,
        vn_pct(a.book_rate),
        a.with_book,
        a.population,
        a.with_account,
        vn_pct(a.account_rate)
    );
    if !d.adoption_by_unit.is_empty() {
        let bars: Vec<(String, f64)> = d
            .adoption_by_unit
            .iter()
            .map(|(u, a)| (u.name.clone(), a.book_rate))
            .collect();
        body.push_str(&format!(
            r#"<div class="card">{}</div>"#,
            bar_chart("Tỷ lệ dân số có sổ theo đơn vị", &bars)
        ));
        body.push_str(r#"<div class="card"><table><tr><th scope="col">Đơn vị</th><th scope="col">Dân số</th><th scope="col">Có sổ</th><th scope="col">Tài khoản</th></tr>"#);
        for (u, a) in &d.adoption_by_unit {
            let _ = write!(
                body,
                r#"<tr><td><a href="/nhan-vien/bao-cao?{}">{}</a></td><td>{}</td><td>{} ({})</td><td>{} ({})</td></tr>"#,
                esc(&query_of(&d, &u.code)),
                esc(&u.name),
                a.population,
                a.with_book,
                vn_pct(a.book_rate),
                a.with_account,
                vn_pct(a.account_rate)
            );
        }
        body.push_str("</table></div>");
    }
    if !d.trend.is_empty() {
        let pts: Vec<(String, i64)> = d.trend.iter().map(|t| (t.month.clone(), t.books)).collect();
        body.push_str(&format!(
            r#"<div class="card"><h3>Số người có sổ theo tháng (cộng dồn)</h3>{}</div>"#,
            line_chart("Số người có sổ theo tháng, cộng dồn", &pts)
        ));
    }
    // Compliance.
    let t = &d.totals;
    let _ = write!(
        body,
        r#"<h2 id="co-so">Cơ sở gửi dữ liệu</h2><div class="card"><div>{} lượt khám bắt đầu (check-in), {} hồ sơ đã nhận; {} hồ sơ đến sau hơn 24 giờ kể từ khi ra viện; {} lần gửi bị từ chối / {}.</div>{}</div>"#,
        t.checkins,
        t.dossiers,
        vn_pct(t.over_24h_rate),
        t.rejected,
        t.submissions,
        bar_chart(
            "Thời gian từ khi ra viện đến khi nhận hồ sơ",
            &LATE_LABELS
                .iter()
                .zip(t.late)
                .map(|(l, n)| (l.to_string(), pct(n, t.dossiers)))
                .collect::<Vec<_>>()
        )
    );
    body.push_str(r#"<div class="card"><table><tr><th scope="col">Cơ sở</th><th scope="col">Check-in</th><th scope="col">Hồ sơ</th><th scope="col">Quá 24 giờ</th><th scope="col">Bị từ chối</th><th scope="col">Chữ ký số: có ký / hợp lệ / không hợp lệ / không ký</th><th scope="col">Lỗi nhiều nhất</th></tr>"#);
    for l in &d.facilities {
        let _ = write!(
            body,
            "<tr><td>{} <span class=\"muted\">({})</span></td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{} / {} / {} / {}</td><td>{}</td></tr>",
            esc(&l.name),
            esc(&l.code),
            l.checkins,
            l.dossiers,
            l.sent_rate
                .map(|r| format!(" ({r:.0}%)"))
                .unwrap_or_default(),
            vn_pct(l.over_24h_rate),
            l.rejected,
            l.signed,
            l.signature_valid,
            l.signature_invalid,
            l.unsigned,
            esc(&l
                .top_errors
                .iter()
                .map(|(c, n)| format!("{c} ×{n}"))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    body.push_str("</table></div>");
    // Per care type and BHYT, as facilities report them (QĐ 2733 PL01 Đ8).
    for l in d.facilities.iter().filter(|l| !l.by_type.is_empty()) {
        let _ = write!(
            body,
            r#"<details><summary>{}: theo hình thức khám chữa bệnh và BHYT</summary><div><table><tr><th scope="col">Hình thức</th><th scope="col">BHYT</th><th scope="col">Check-in</th><th scope="col">Hồ sơ</th><th scope="col">Quá 24 giờ</th></tr>"#,
            esc(&l.name)
        );
        for x in &l.by_type {
            let known: i64 = x.late[..5].iter().sum();
            let _ = write!(
                body,
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.care_type),
                book::episode::care_type_label(&x.care_type),
                if x.insured { "Có" } else { "Không" },
                x.checkins,
                x.dossiers,
                vn_pct(pct(x.late[2] + x.late[3] + x.late[4], known))
            );
        }
        body.push_str("</table></div></details>");
    }
    let _ = write!(
        body,
        r#"<h3>Cơ sở không gửi dữ liệu quá {} ngày</h3>"#,
        d.silent_days
    );
    if d.silent.is_empty() {
        body.push_str(r#"<p class="card">Không có.</p>"#);
    } else {
        body.push_str(r#"<ul class="card">"#);
        for l in &d.silent {
            let _ = write!(
                body,
                "<li>{} ({}) — {}</li>",
                esc(&l.name),
                esc(&l.code),
                l.last_receipt
                    .map(|t| format!(
                        "lần cuối {}",
                        crate::ui::when(Some(crate::vn_wall_clock(t)))
                    ))
                    .unwrap_or_else(|| "chưa từng gửi".into())
            );
        }
        body.push_str("</ul>");
    }
    // SLA.
    body.push_str(r#"<h2 id="sla">Thời gian đưa lên sổ (từ khi nhận đến khi người dân xem được)</h2><div class="card"><table><tr><th scope="col">Ngày nhận</th><th scope="col">Lần gửi</th><th scope="col">50%</th><th scope="col">90%</th><th scope="col">99%</th><th scope="col">Quá 24 giờ</th></tr>"#);
    for s in d.sla.iter().rev().take(31) {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.day,
            s.dossiers,
            bound(s.p50_ms),
            bound(s.p90_ms),
            bound(s.p99_ms),
            s.over_24h
        );
    }
    body.push_str("</table></div>");
    let _ = write!(
        body,
        r#"<h3>Hồ sơ lên sổ sau hơn 24 giờ kể từ khi kết thúc điều trị ({})</h3>"#,
        d.late_dossiers.len()
    );
    if !d.late_dossiers.is_empty() {
        body.push_str(r#"<div class="card"><table><tr><th scope="col">Cơ sở</th><th scope="col">Mã lượt khám</th><th scope="col">Ra viện</th><th scope="col">Trễ</th></tr>"#);
        for l in d.late_dossiers.iter().take(50) {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} giờ</td></tr>",
                esc(&l.facility),
                esc(&l.ma_lk),
                esc(&l.ended_at),
                l.hours
            );
        }
        body.push_str("</table></div>");
    }
    // Data quality.
    let _ = write!(
        body,
        r#"<h2 id="chat-luong">Chất lượng dữ liệu</h2><div class="card"><div>{} hồ sơ có số định danh hợp lệ · {} có thẻ BHYT · {} có mã bệnh chính ICD-10 hợp lệ</div></div><div class="card"><table><tr><th scope="col">Cơ sở</th><th scope="col">Định danh</th><th scope="col">Thẻ BHYT</th><th scope="col">ICD-10</th><th scope="col">Trùng/xung đột định danh</th></tr>"#,
        vn_pct(t.with_personal_id_rate),
        vn_pct(t.with_card_rate),
        vn_pct(t.with_icd_rate)
    );
    for l in &d.facilities {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&l.name),
            vn_pct(l.with_personal_id_rate),
            vn_pct(l.with_card_rate),
            vn_pct(l.with_icd_rate),
            l.open_conflicts
        );
    }
    body.push_str("</table></div>");
    page(&format!("Báo cáo {name}"), &body).into_response()
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
        return error_page(ApiError(
            StatusCode::BAD_REQUEST,
            "section",
            "section: adoption, facilities, quality, sla hoặc late".into(),
        ));
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
    /// Reporting units below that have not filed: late once `due` has passed.
    pub missing: Vec<UnitRef>,
    pub late: bool,
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
    let (tree, reports) =
        blocking(move || Ok((Tree::new(store.units()?), store.unit_reports(&m)?))).await?;
    let code = selected(u, &tree, f.unit.as_deref())?;
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
    Ok(Consolidated {
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

fn report_rows(c: &Consolidated) -> Vec<Vec<String>> {
    c.lines
        .iter()
        .chain(std::iter::once(&c.total))
        .map(|l| {
            vec![
                l.department.clone(),
                l.total_staff.to_string(),
                l.vneid_activated.to_string(),
                l.vneid_not.to_string(),
                l.vneid_reason.clone().unwrap_or_default(),
                l.book_created.to_string(),
                l.card_integrated.to_string(),
                l.card_not.to_string(),
                l.card_reason.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

const REPORT_HEADER: [&str; 9] = [
    "Khoa, phòng",
    "Tổng số",
    "VNeID mức 2",
    "Chưa",
    "Lý do",
    "Có sổ SKĐT",
    "Tích hợp thẻ BHYT",
    "Chưa",
    "Lý do",
];

async fn unit_report_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(f): Query<MonthFilter>,
) -> Response {
    let u = match staff_from(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    render_unit_report(&u, &f, None).await
}

async fn render_unit_report(
    u: &StaffUser,
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
        Err(e) => return error_page(e),
    };
    let month = c
        .as_ref()
        .map(|c| c.month.clone())
        .or(f.month.clone())
        .unwrap_or_else(|| previous_month(crate::vn_now().date()));
    let name = c
        .as_ref()
        .and_then(|c| c.unit.as_ref().map(|x| x.name.clone()))
        .unwrap_or_else(|| "Toàn quốc".into());
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien/bao-cao">← Báo cáo</a></nav><h1>Báo cáo tháng {} (Phụ lục 1): {}</h1>"#,
        esc(&month),
        esc(&name)
    );
    if let Some((ok, m)) = message {
        let _ = write!(
            body,
            r#"<p class="{}" role="{}">{}</p>"#,
            if ok { "card" } else { "error" },
            if ok { "status" } else { "alert" },
            esc(&m)
        );
    }
    if let Some(c) = &c {
        let unit_q = c.unit.as_ref().map(|x| x.code.clone()).unwrap_or_default();
        let _ = write!(
            body,
            r#"<p>Hạn nộp: ngày {} · {} đơn vị đã nộp · {} đơn vị {}.</p><div class="actions"><a class="button secondary" href="/nhan-vien/bao-cao/phu-luc-1.pdf?unit={}&amp;month={}">Tải bản in (PDF)</a></div>"#,
            c.due,
            c.reports.len(),
            c.missing.len(),
            if c.late {
                "nộp muộn (quá hạn)"
            } else {
                "chưa nộp"
            },
            esc(&unit_q),
            esc(&month)
        );
        body.push_str(r#"<div class="card"><table><tr>"#);
        for h in REPORT_HEADER {
            let _ = write!(body, r#"<th scope="col">{h}</th>"#);
        }
        body.push_str("</tr>");
        for r in report_rows(c) {
            body.push_str("<tr>");
            for cell in r {
                let _ = write!(body, "<td>{}</td>", esc(&cell));
            }
            body.push_str("</tr>");
        }
        body.push_str("</table></div>");
        if !c.missing.is_empty() {
            let _ = write!(
                body,
                r#"<h2>{}</h2><ul class="card">"#,
                if c.late {
                    "Đơn vị nộp muộn"
                } else {
                    "Đơn vị chưa nộp"
                }
            );
            for m in &c.missing {
                let _ = write!(body, "<li>{} ({})</li>", esc(&m.name), esc(&m.code));
            }
            body.push_str("</ul>");
        }
    }
    // The filing form for the caller's own unit.
    if let Some(unit) = own_unit {
        let store = u.app().store.clone();
        let code = unit.clone();
        let place = match blocking(move || store.place_of_unit(&code)).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        };
        if u.allows(&Action::SubmitUnitReport { place: &place }) {
            let _ = write!(
                body,
                r#"<form method="post" action="/nhan-vien/bao-cao/phu-luc-1" class="card"><h2>Nộp báo cáo của đơn vị {}</h2><input type="hidden" name="unit" value="{}"><label for="month">Tháng</label><input id="month" name="month" type="month" value="{}" required>"#,
                esc(&unit),
                esc(&unit),
                esc(&month)
            );
            for i in 0..3 {
                let _ = write!(
                    body,
                    r#"<fieldset class="card"><legend>Khoa, phòng {n}</legend>
<label for="d{i}">Tên khoa, phòng</label><input id="d{i}" name="d{i}"{req}>
<label for="t{i}">Tổng số nhân viên</label><input id="t{i}" name="t{i}" type="number" min="0" value="0">
<label for="va{i}">Đã kích hoạt VNeID mức 2</label><input id="va{i}" name="va{i}" type="number" min="0" value="0">
<label for="vn{i}">Chưa kích hoạt</label><input id="vn{i}" name="vn{i}" type="number" min="0" value="0">
<label for="vr{i}">Lý do chưa kích hoạt</label><input id="vr{i}" name="vr{i}">
<label for="b{i}">Đã có sổ sức khỏe điện tử</label><input id="b{i}" name="b{i}" type="number" min="0" value="0">
<label for="ci{i}">Đã tích hợp thẻ BHYT</label><input id="ci{i}" name="ci{i}" type="number" min="0" value="0">
<label for="cn{i}">Chưa tích hợp</label><input id="cn{i}" name="cn{i}" type="number" min="0" value="0">
<label for="cr{i}">Lý do chưa tích hợp</label><input id="cr{i}" name="cr{i}"></fieldset>"#,
                    n = i + 1,
                    req = if i == 0 { " required" } else { "" }
                );
            }
            body.push_str(r#"<button class="primary" type="submit">Nộp báo cáo</button></form>"#);
        }
    }
    page("Báo cáo tháng (Phụ lục 1)", &body).into_response()
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
            format!("Đã nộp báo cáo tháng {month} của đơn vị {unit}"),
        ),
        Err(ApiError(_, _, m)) => (false, m),
    };
    let f = MonthFilter {
        unit: None,
        month: Some(month),
    };
    render_unit_report(&u, &f, Some(message)).await
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
        Err(e) => return error_page(e),
    };
    let name = c
        .unit
        .as_ref()
        .map(|x| format!("{} ({})", x.name, x.code))
        .unwrap_or_else(|| "Toàn quốc".into());
    let context = vec![
        format!("Đơn vị: {name}"),
        "Cột: tổng số nhân viên; đã kích hoạt VNeID mức 2, chưa, lý do; đã có sổ sức khỏe điện tử; đã tích hợp thẻ BHYT, chưa, lý do.".to_string(),
        format!("Tháng: {} · hạn nộp {}", c.month, c.due),
        format!(
            "{} đơn vị đã nộp; {} đơn vị {}",
            c.reports.len(),
            c.missing.len(),
            if c.late {
                "nộp muộn"
            } else {
                "chưa nộp"
            }
        ),
    ];
    let mut tables = vec![crate::pdf::Table {
        heading: "Tình hình triển khai theo khoa, phòng".to_string(),
        header: [
            "Khoa, phòng",
            "Tổng",
            "VNeID",
            "Chưa",
            "Lý do",
            "Có sổ",
            "Thẻ BHYT",
            "Chưa",
            "Lý do",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: report_rows(&c),
        widths: vec![36.0, 12.0, 14.0, 12.0, 34.0, 14.0, 18.0, 12.0, 26.0],
    }];
    if !c.missing.is_empty() {
        tables.push(crate::pdf::Table {
            heading: if c.late {
                "Đơn vị nộp muộn"
            } else {
                "Đơn vị chưa nộp"
            }
            .to_string(),
            header: vec!["Mã".into(), "Tên đơn vị".into()],
            rows: c
                .missing
                .iter()
                .map(|m| vec![m.code.clone(), m.name.clone()])
                .collect(),
            widths: vec![25.0, 150.0],
        });
    }
    let title = format!("BÁO CÁO THÁNG {} — PHỤ LỤC 1", c.month);
    match tokio::task::spawn_blocking(move || crate::pdf::report_pdf(&title, &context, &tables))
        .await
    {
        Ok(Ok(bytes)) => file(
            bytes,
            "application/pdf",
            &format!("phu-luc-1-{}.pdf", c.month),
        ),
        Ok(Err(e)) => internal(e).into_response(),
        Err(e) => internal(e).into_response(),
    }
}
