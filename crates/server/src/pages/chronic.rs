//! Chronic care, growth and health charts as pages (templates `templates/chronic/`).
//!
//! Station (`/tram/…`, commune staff): the NCD registers per disease with status,
//! control and missed follow-ups (`/tram/man-tinh`), enrolment proposals
//! (`/tram/man-tinh/de-xuat`), a person's registers with the follow-up form, status and
//! hospital visits to take (`/tram/man-tinh/{pid}`), the children under five with
//! their growth status (`/tram/tre-em`) and a child's growth chart and measurement
//! form (`/tram/tre-em/{pid}`), the elderly's yearly check (`/tram/nguoi-cao-tuoi`).
//! Citizen (`/so/{pid}/…`, own book or a ward's): the chronic registers
//! (`benh-man-tinh`), the growth chart of a child under five (`tang-truong`), lab values
//! and vital signs over time (`chi-so`). Charts are SVG drawn by the server from
//! numbers only (no script). Every rule is `service::chronic`'s.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use book::growth::{Assessment, Grade, Index, Measurement, Sex, Weight};
use book::ncd::{Adherence, COMPLICATIONS, Detected, Disease, Due, FollowUp, Status};
use chrono::NaiveDate;
use serde::Deserialize;
use service::ServiceError;
use service::chronic::{ChronicView, EntryView, NcdProposal, NewEnrolment};

use super::staff::error_page;
use super::{ErrorPage, Frame, redirect, render};
use crate::App;
use crate::http::{ApiError, token_from};
use crate::records;
use crate::staff::{STAFF_COOKIE, StaffUser};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tram/man-tinh", get(register))
        .route("/tram/man-tinh/de-xuat", get(proposals_page))
        .route("/tram/man-tinh/{pid}", get(person_page))
        .route("/tram/man-tinh/{pid}/ghi-danh", post(enrol_submit))
        .route(
            "/tram/man-tinh/{pid}/tai-kham/{disease}",
            get(followup_page).post(followup_submit),
        )
        .route(
            "/tram/man-tinh/{pid}/trang-thai/{disease}",
            post(status_submit),
        )
        .route("/tram/man-tinh/{pid}/lay-tu-ho-so", post(take_submit))
        .route("/tram/tre-em", get(children_page))
        .route(
            "/tram/tre-em/{pid}",
            get(station_growth).post(measure_submit),
        )
        .route("/tram/nguoi-cao-tuoi", get(elderly_page))
        .route("/so/{pid}/benh-man-tinh", get(citizen_chronic))
        .route("/so/{pid}/tang-truong", get(citizen_growth))
        .route("/so/{pid}/chi-so", get(citizen_series))
}

// ---------------------------------------------------------------------------
// Who asks
// ---------------------------------------------------------------------------

async fn station_user(
    app: &Arc<App>,
    headers: &HeaderMap,
    back: &str,
) -> Result<StaffUser, Response> {
    let to_login = || {
        let next = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
        redirect(&format!("/nhan-vien/dang-nhap?{next}"))
    };
    let Some(token) = token_from(headers, STAFF_COOKIE) else {
        return Err(to_login());
    };
    let u = match StaffUser::from_token(app, token).await {
        Ok(Some(u)) => u,
        Ok(None) => return Err(to_login()),
        Err(e) => return Err(error_page(headers, e)),
    };
    records::station_of(&u).map_err(|e| error_page(headers, e))?;
    Ok(u)
}

macro_rules! station {
    ($app:expr, $headers:expr, $back:expr) => {
        match station_user(&$app, &$headers, &$back).await {
            Ok(x) => x,
            Err(r) => return r,
        }
    };
}

async fn citizen_actor(app: &Arc<App>, headers: &HeaderMap) -> Result<service::Actor, Response> {
    let token = crate::http::token_of(headers).ok_or_else(|| redirect("/dang-nhap"))?;
    let store = app.store.clone();
    let person = tokio::task::spawn_blocking(move || store.session_person(&token, store::now_ms()))
        .await
        .ok()
        .and_then(|r| r.ok())
        .flatten()
        .ok_or_else(|| redirect("/dang-nhap"))?;
    Ok(service::Actor::Person { id: person })
}

macro_rules! citizen {
    ($app:expr, $headers:expr) => {
        match citizen_actor(&$app, &$headers).await {
            Ok(x) => x,
            Err(r) => return r,
        }
    };
}

fn failed(headers: &HeaderMap, e: ServiceError, back: &str, staff: bool) -> Response {
    let ApiError(status, _, message) = ApiError::from(e);
    let heading = match status {
        StatusCode::NOT_FOUND => "Không tìm thấy",
        StatusCode::CONFLICT => "Chưa lưu được",
        _ => "Không thực hiện được",
    };
    let message = if status == StatusCode::NOT_FOUND {
        "Không có thông tin này, hoặc bạn không được xem.".to_string()
    } else {
        message
    };
    let page = ErrorPage {
        frame: if staff {
            Frame::staff(heading, headers)
        } else {
            Frame::citizen(heading, headers)
        },
        heading: heading.into(),
        message,
        back_href: back.into(),
        back_label: "← Quay lại".into(),
    };
    (status, render(&page)).into_response()
}

/// Facility names by code (unknown codes left out).
async fn facility_names(app: &Arc<App>, codes: Vec<String>) -> HashMap<String, String> {
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        store.facility_names(&refs)
    })
    .await
    .ok()
    .and_then(|r| r.ok())
    .unwrap_or_default()
}

/// The facilities a person's chronic care names, by their names where known: in the
/// visits (shown), not in the proposals (posted back as codes).
async fn name_facilities(app: &Arc<App>, v: &mut ChronicView) -> HashMap<String, String> {
    let mut codes: Vec<String> = v
        .entries
        .iter()
        .flat_map(|e| {
            e.followups
                .iter()
                .filter_map(|f| f.followup.facility.clone())
        })
        .chain(
            v.dossier_visits
                .iter()
                .filter_map(|d| d.followup.facility.clone()),
        )
        .chain(v.proposals.iter().map(|p| p.facility.clone()))
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    let names = facility_names(app, codes).await;
    let named = |f: &mut Option<String>| {
        if let Some(n) = f.as_ref().and_then(|c| names.get(c)) {
            *f = Some(n.clone());
        }
    };
    for e in &mut v.entries {
        for f in &mut e.followups {
            named(&mut f.followup.facility);
        }
    }
    for d in &mut v.dossier_visits {
        named(&mut d.followup.facility);
    }
    names
}

fn today() -> NaiveDate {
    store::vn_now().date()
}

fn dmy(s: &str) -> String {
    book::ehr::parse_date(s)
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|| s.to_string())
}

fn num(v: f64) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    s.replace('.', ",")
}

fn person_label(name: Option<&str>) -> String {
    name.unwrap_or("(chưa rõ họ tên)").to_string()
}

fn sex_label(s: Option<&str>) -> &'static str {
    match s {
        Some("1") => "Nam",
        Some("2") => "Nữ",
        _ => "Chưa rõ giới tính",
    }
}

fn due_flag(d: Option<Due>) -> Option<(&'static str, String)> {
    d.map(|d| {
        (
            match d {
                Due::Missed => "warn",
                Due::Due => "new",
                Due::Upcoming => "",
            },
            d.label().to_string(),
        )
    })
}

fn control_flag(c: Option<bool>) -> (&'static str, String) {
    match c {
        Some(true) => ("live", "Kiểm soát".into()),
        Some(false) => ("warn", "Chưa kiểm soát".into()),
        None => ("", "Chưa đánh giá kiểm soát".into()),
    }
}

// ---------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------

struct Tick {
    pos: String,
    label: String,
}

struct Line {
    points: String,
    color: &'static str,
    width: &'static str,
    dashed: bool,
}

struct Dot {
    x: String,
    y: String,
    color: &'static str,
    label: String,
}

pub(crate) struct Chart {
    title: String,
    note: String,
    summary: String,
    legend: String,
    x_name: &'static str,
    width: i32,
    height: i32,
    left: i32,
    right: i32,
    top: i32,
    plot_w: i32,
    plot_h: i32,
    band: Option<(String, String)>,
    xticks: Vec<Tick>,
    yticks: Vec<Tick>,
    lines: Vec<Line>,
    dots: Vec<Dot>,
    rows: Vec<(String, String)>,
}

/// Scales from data to the plot.
struct Frame2 {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

const W: i32 = 360;
const H: i32 = 220;
const LEFT: i32 = 40;
const RIGHT: i32 = 350;
const TOP: i32 = 10;
const BOTTOM: i32 = 195;

impl Frame2 {
    fn x(&self, v: f64) -> f64 {
        let span = (self.x1 - self.x0).max(1e-9);
        f64::from(LEFT) + (v - self.x0) / span * f64::from(RIGHT - LEFT)
    }
    fn y(&self, v: f64) -> f64 {
        let span = (self.y1 - self.y0).max(1e-9);
        f64::from(BOTTOM) - (v - self.y0) / span * f64::from(BOTTOM - TOP)
    }
    fn pts(&self, p: &[(f64, f64)]) -> String {
        p.iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.x(*x), self.y(*y)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(mag * 10.0);
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi + 1e-9 {
        out.push(v);
        v += step;
    }
    out
}

fn base_chart(title: String, f: &Frame2, x_name: &'static str) -> Chart {
    Chart {
        title,
        note: String::new(),
        summary: String::new(),
        legend: String::new(),
        x_name,
        width: W,
        height: H,
        left: LEFT,
        right: RIGHT,
        top: TOP,
        plot_w: RIGHT - LEFT,
        plot_h: BOTTOM - TOP,
        band: None,
        xticks: Vec::new(),
        yticks: nice_ticks(f.y0, f.y1, 5)
            .into_iter()
            .map(|v| Tick {
                pos: format!("{:.1}", f.y(v)),
                label: num(v),
            })
            .collect(),
        lines: Vec::new(),
        dots: Vec::new(),
        rows: Vec::new(),
    }
}

/// A WHO growth chart of one index with the child's points (x: age in months, or
/// length in cm for weight-for-length/height).
fn growth_chart(index: Index, sex: Sex, points: &[(f64, f64, String)]) -> Chart {
    let curve = book::growth::curve(index, sex);
    let (xs, xe) = match index {
        Index::WeightForHeight => (45.0, 120.0),
        _ => (0.0, 60.0),
    };
    let mut lo = f64::MAX;
    let mut hi = f64::MIN;
    for (_, v) in &curve {
        lo = lo.min(v[0]);
        hi = hi.max(v[4]);
    }
    for (_, y, _) in points {
        lo = lo.min(*y);
        hi = hi.max(*y);
    }
    let f = Frame2 {
        x0: xs,
        x1: xe,
        y0: lo.floor(),
        y1: hi.ceil(),
    };
    let unit = match index {
        Index::WeightForAge | Index::WeightForHeight => "kg",
        Index::HeightForAge => "cm",
        Index::BmiForAge => "kg/m²",
    };
    let mut c = base_chart(
        format!("{} ({unit})", index.label()),
        &f,
        if index == Index::WeightForHeight {
            "Chiều dài/cao (cm)"
        } else {
            "Tuổi (tháng)"
        },
    );
    for (i, (color, width, dashed)) in [
        ("#8a1c12", "1", false),
        ("#b35c00", "1.5", true),
        ("#1d6b34", "2", false),
        ("#b35c00", "1.5", true),
        ("#8a1c12", "1", false),
    ]
    .into_iter()
    .enumerate()
    {
        let p: Vec<(f64, f64)> = curve.iter().map(|(x, v)| (*x, v[i])).collect();
        c.lines.push(Line {
            points: f.pts(&p),
            color,
            width,
            dashed,
        });
    }
    let ticks: Vec<f64> = match index {
        Index::WeightForHeight => (0..=7).map(|k| 50.0 + 10.0 * f64::from(k)).collect(),
        _ => (0..=5).map(|k| 12.0 * f64::from(k)).collect(),
    };
    c.xticks = ticks
        .into_iter()
        .map(|v| Tick {
            pos: format!("{:.1}", f.x(v)),
            label: num(v),
        })
        .collect();
    let child: Vec<(f64, f64)> = points.iter().map(|(x, y, _)| (*x, *y)).collect();
    if child.len() > 1 {
        c.lines.push(Line {
            points: f.pts(&child),
            color: "#0b5cad",
            width: "2",
            dashed: false,
        });
    }
    for (x, y, label) in points {
        c.dots.push(Dot {
            x: format!("{:.1}", f.x(*x)),
            y: format!("{:.1}", f.y(*y)),
            color: "#0b5cad",
            label: label.clone(),
        });
        c.rows.push((
            if index == Index::WeightForHeight {
                format!("{} cm", num(*x))
            } else {
                format!("{} tháng", num(*x))
            },
            format!("{} {unit}", num(*y)),
        ));
    }
    c.summary = format!("{} lần đo", points.len());
    c.legend = "Chấm xanh: các lần đo của trẻ.".into();
    c
}

/// A value over time, with its reference range as a band.
fn series_chart(s: &service::chronic::Series) -> Chart {
    let days: Vec<(f64, f64, String)> = s
        .points
        .iter()
        .filter_map(|(d, v)| {
            let day = book::ehr::parse_date(d)?;
            Some((
                f64::from(chrono::Datelike::num_days_from_ce(&day)),
                *v,
                d.clone(),
            ))
        })
        .collect();
    let (mut x0, mut x1) = (f64::MAX, f64::MIN);
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for (x, y, _) in &days {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        lo = lo.min(*y);
        hi = hi.max(*y);
    }
    if let Some((a, b)) = s.range {
        lo = lo.min(a);
        hi = hi.max(b);
    }
    if x1 - x0 < 1.0 {
        x0 -= 15.0;
        x1 += 15.0;
    }
    let pad = ((hi - lo) * 0.1).max(0.5);
    let f = Frame2 {
        x0,
        x1,
        y0: (lo - pad).max(0.0),
        y1: hi + pad,
    };
    let title = if s.unit.is_empty() {
        s.label.clone()
    } else {
        format!("{} ({})", s.label, s.unit)
    };
    let mut c = base_chart(title, &f, "Ngày");
    if let Some((a, b)) = s.range {
        let (ya, yb) = (f.y(a), f.y(b));
        c.band = Some((format!("{yb:.1}"), format!("{:.1}", (ya - yb).max(0.0))));
        c.note = format!("Khoảng tham khảo {} – {}", num(a), num(b));
    }
    let pts: Vec<(f64, f64)> = days.iter().map(|(x, y, _)| (*x, *y)).collect();
    if pts.len() > 1 {
        c.lines.push(Line {
            points: f.pts(&pts),
            color: "#0b5cad",
            width: "2",
            dashed: false,
        });
    }
    let first = days.first().map(|d| d.2.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.2.clone()).unwrap_or_default();
    c.xticks = vec![
        Tick {
            pos: format!("{LEFT}"),
            label: dmy(&first),
        },
        Tick {
            pos: format!("{RIGHT}"),
            label: dmy(&last),
        },
    ];
    c.xticks[0].pos = format!("{}", LEFT + 28);
    c.xticks[1].pos = format!("{}", RIGHT - 28);
    for (x, y, d) in &days {
        let out = s.range.is_some_and(|(a, b)| *y < a || *y > b);
        c.dots.push(Dot {
            x: format!("{:.1}", f.x(*x)),
            y: format!("{:.1}", f.y(*y)),
            color: if out { "#8a1c12" } else { "#0b5cad" },
            label: format!("{}: {}", dmy(d), num(*y)),
        });
        c.rows.push((dmy(d), format!("{} {}", num(*y), s.unit)));
    }
    c.summary = format!(
        "{} lần đo từ {} đến {}, gần nhất {}",
        days.len(),
        dmy(&first),
        dmy(&last),
        days.last().map(|d| num(d.1)).unwrap_or_default()
    );
    c
}

// ---------------------------------------------------------------------------
// Station: registers
// ---------------------------------------------------------------------------

struct Pill {
    href: String,
    label: String,
    current: bool,
}

struct Row {
    pid: i64,
    name: String,
    facts: String,
    flags: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "chronic/register.html")]
struct RegisterPage {
    frame: Frame,
    diseases: Vec<Pill>,
    filters: Vec<Pill>,
    figures: Vec<(String, String)>,
    heading: String,
    rows: Vec<Row>,
}

#[derive(Deserialize, Default)]
struct RegisterQuery {
    #[serde(default)]
    benh: Option<String>,
    #[serde(default)]
    loc: Option<String>,
}

async fn register(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<RegisterQuery>,
) -> Response {
    let u = station!(app, headers, "/tram/man-tinh");
    let actor = u.actor();
    let items = match records::run(&app, move |s| s.ncd_register(&actor)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram", true),
    };
    let disease = q
        .benh
        .as_deref()
        .and_then(Disease::from_code)
        .unwrap_or(Disease::Hypertension);
    let loc = q.loc.clone().unwrap_or_else(|| "managed".into());
    let of: Vec<&service::chronic::RegisterItem> =
        items.iter().filter(|i| i.row.disease == disease).collect();
    let managed: Vec<_> = of
        .iter()
        .filter(|i| i.row.status == Status::Managed)
        .collect();
    let figures = vec![
        ("Đang quản lý".to_string(), managed.len().to_string()),
        (
            "Kiểm soát".to_string(),
            managed
                .iter()
                .filter(|i| i.row.controlled == Some(true))
                .count()
                .to_string(),
        ),
        (
            "Đến hẹn".to_string(),
            managed
                .iter()
                .filter(|i| i.due == Some(Due::Due))
                .count()
                .to_string(),
        ),
        (
            "Quá hẹn".to_string(),
            managed
                .iter()
                .filter(|i| i.due == Some(Due::Missed))
                .count()
                .to_string(),
        ),
    ];
    let shown: Vec<_> = of
        .iter()
        .filter(|i| match loc.as_str() {
            "due" => i.due == Some(Due::Due),
            "missed" => i.due == Some(Due::Missed),
            "uncontrolled" => i.row.status == Status::Managed && i.row.controlled != Some(true),
            "all" => true,
            _ => i.row.status == Status::Managed,
        })
        .collect();
    let heading = format!("{}: {} người", disease.label(), shown.len());
    let rows = shown
        .iter()
        .map(|i| {
            let r = &i.row;
            let mut flags = vec![(
                if r.status == Status::Managed {
                    "live"
                } else {
                    ""
                },
                r.status.label().to_string(),
            )];
            if r.status == Status::Managed {
                flags.push(control_flag(r.controlled));
                flags.extend(due_flag(i.due));
            }
            Row {
                pid: r.person_id,
                name: person_label(r.name.as_deref()),
                facts: format!(
                    "{}, {} · khám gần nhất {} · hẹn {}",
                    sex_label(r.sex.as_deref()),
                    r.birth
                        .as_deref()
                        .and_then(store::birth_day)
                        .map(|b| format!("sinh {}", dmy(&b)))
                        .unwrap_or_default(),
                    r.last_visit
                        .as_deref()
                        .map(dmy)
                        .unwrap_or_else(|| "—".into()),
                    r.next_due.as_deref().map(dmy).unwrap_or_else(|| "—".into()),
                ),
                flags,
            }
        })
        .collect();
    let pill = |d: Disease| Pill {
        href: format!("/tram/man-tinh?benh={}", d.code()),
        label: d.label().to_string(),
        current: d == disease,
    };
    let filters = [
        ("managed", "Đang quản lý"),
        ("due", "Đến hẹn"),
        ("missed", "Quá hẹn"),
        ("uncontrolled", "Chưa kiểm soát"),
        ("all", "Tất cả"),
    ]
    .into_iter()
    .map(|(k, l)| Pill {
        href: format!("/tram/man-tinh?benh={}&loc={k}", disease.code()),
        label: l.into(),
        current: k == loc,
    })
    .collect();
    render(&RegisterPage {
        frame: Frame::staff("Quản lý bệnh mạn tính", &headers),
        diseases: Disease::ALL.into_iter().map(pill).collect(),
        filters,
        figures,
        heading,
        rows,
    })
}

struct ProposalItem {
    pid: i64,
    name: String,
    disease: &'static str,
    disease_label: &'static str,
    icd10: String,
    first_seen: String,
    seen: String,
    detected: &'static str,
    facility: String,
}

fn proposal_item(
    pid: i64,
    name: Option<&str>,
    p: &NcdProposal,
    names: &HashMap<String, String>,
) -> ProposalItem {
    ProposalItem {
        pid,
        name: person_label(name),
        disease: p.disease.code(),
        disease_label: p.disease.label(),
        icd10: p.icd10.clone(),
        first_seen: p.first_seen.clone(),
        seen: format!(
            "{} ngày {}{}",
            p.detected.label(),
            dmy(&p.first_seen),
            if p.facility.is_empty() {
                String::new()
            } else {
                format!(", {}", names.get(&p.facility).unwrap_or(&p.facility))
            }
        ),
        detected: match p.detected {
            Detected::Hospital => "hospital",
            Detected::Screening => "screening",
            Detected::Referral => "referral",
        },
        facility: if p.detected == Detected::Hospital {
            p.facility.clone()
        } else {
            String::new()
        },
    }
}

#[derive(Template)]
#[template(path = "chronic/proposals.html")]
struct ProposalsPage {
    frame: Frame,
    items: Vec<ProposalItem>,
}

async fn proposals_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = station!(app, headers, "/tram/man-tinh/de-xuat");
    let actor = u.actor();
    let found = match records::run(&app, move |s| s.ncd_proposals(&actor)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram/man-tinh", true),
    };
    let mut codes: Vec<String> = found.iter().map(|r| r.proposal.facility.clone()).collect();
    codes.sort();
    codes.dedup();
    let names = facility_names(&app, codes).await;
    render(&ProposalsPage {
        frame: Frame::staff("Đề xuất ghi danh", &headers),
        items: found
            .iter()
            .map(|r| proposal_item(r.person_id, r.name.as_deref(), &r.proposal, &names))
            .collect(),
    })
}

struct VisitView {
    title: String,
    flag: String,
    bad: bool,
    lines: Vec<String>,
}

fn visit_view(disease: Disease, f: &FollowUp, controlled: Option<bool>) -> VisitView {
    let mut lines = Vec::new();
    if let (Some(s), Some(d)) = (f.bp_sys, f.bp_dia) {
        lines.push(format!("Huyết áp {s}/{d} mmHg"));
    }
    if let Some(h) = f.heart_rate {
        lines.push(format!("Mạch {h} lần/phút"));
    }
    if let Some(g) = f.glucose {
        lines.push(format!("Đường huyết {} mmol/L", num(g)));
    }
    if let Some(a) = f.hba1c {
        lines.push(format!("HbA1c {} %", num(a)));
    }
    if let Some(w) = f.weight_kg {
        lines.push(format!("Cân nặng {} kg", num(w)));
    }
    if !f.medicines.is_empty() {
        let meds: Vec<String> = f
            .medicines
            .iter()
            .map(|m| match &m.quantity {
                Some(q) => format!("{} ({q})", m.name),
                None => m.name.clone(),
            })
            .collect();
        lines.push(format!("Thuốc: {}", meds.join("; ")));
    }
    if let Some(a) = f.adherence {
        lines.push(a.label().to_string());
    }
    if !f.complications_screened.is_empty() {
        let names: Vec<&str> = f
            .complications_screened
            .iter()
            .filter_map(|c| COMPLICATIONS.iter().find(|(k, _)| k == c).map(|(_, l)| *l))
            .collect();
        lines.push(format!("Sàng lọc biến chứng: {}", names.join(", ")));
    }
    if let Some(x) = &f.complications_found {
        lines.push(format!("Biến chứng: {x}"));
    }
    if let Some(n) = &f.next_date {
        lines.push(format!("Hẹn tái khám {}", dmy(n)));
    }
    if let Some(n) = &f.note {
        lines.push(n.clone());
    }
    let _ = disease;
    VisitView {
        title: format!(
            "{}{}",
            dmy(&f.date),
            if f.source == "dossier" {
                format!(
                    " — khám tại {}",
                    f.facility.clone().unwrap_or_else(|| "bệnh viện".into())
                )
            } else {
                " — tại trạm".into()
            }
        ),
        flag: match controlled {
            Some(true) => "Kiểm soát".into(),
            Some(false) => "Chưa kiểm soát".into(),
            None => String::new(),
        },
        bad: controlled == Some(false),
        lines,
    }
}

struct EntryItem {
    code: &'static str,
    label: &'static str,
    status: &'static str,
    flags: Vec<(&'static str, String)>,
    facts: Vec<(String, String)>,
    visits: Vec<VisitView>,
}

fn entry_item(e: &EntryView) -> EntryItem {
    let en = &e.entry;
    let mut flags = vec![(
        if en.status == Status::Managed {
            "live"
        } else {
            ""
        },
        format!("{} từ {}", en.status.label(), dmy(&en.status_on)),
    )];
    if en.status == Status::Managed {
        flags.push(control_flag(en.controlled));
        flags.extend(due_flag(e.due));
    }
    let mut facts = vec![
        (
            "Chẩn đoán".to_string(),
            format!(
                "{} {}",
                en.enrolment.icd10,
                book::terms::icd10_name(&en.enrolment.icd10).unwrap_or("")
            ),
        ),
        (
            "Phát hiện".to_string(),
            format!(
                "{}, {}",
                dmy(&en.enrolment.detected_on),
                en.enrolment.detected.label()
            ),
        ),
        ("Ghi danh".to_string(), dmy(&en.enrolled_on)),
        (
            "Hẹn tái khám".to_string(),
            en.next_due
                .as_deref()
                .map(dmy)
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    if let Some(c) = &en.enrolment.confirmed_by {
        facts.push(("Nơi xác định chẩn đoán".into(), c.clone()));
    }
    EntryItem {
        code: en.disease.code(),
        label: en.disease.label(),
        status: en.status.code(),
        flags,
        facts,
        visits: e
            .followups
            .iter()
            .map(|f| visit_view(en.disease, &f.followup, f.controlled))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "chronic/person.html")]
struct PersonPage {
    frame: Frame,
    pid: i64,
    name: String,
    facts: String,
    notice: Option<String>,
    closed: bool,
    visits: Vec<String>,
    entries: Vec<EntryItem>,
    statuses: Vec<(&'static str, &'static str)>,
    today: String,
    proposals: Vec<ProposalItem>,
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    #[serde(default)]
    luu: Option<String>,
}

fn person_facts(v: &ChronicView) -> String {
    let birth = v
        .person
        .birth
        .as_deref()
        .and_then(store::birth_day)
        .map(|b| format!(", sinh {}", dmy(&b)))
        .unwrap_or_default();
    format!("{}{birth}", sex_label(v.person.sex.as_deref()))
}

async fn person_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let u = station!(app, headers, format!("/tram/man-tinh/{pid}"));
    let actor = u.actor();
    let mut v = match records::run(&app, move |s| s.chronic_care(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram/man-tinh", true),
    };
    let names = name_facilities(&app, &mut v).await;
    let name = person_label(v.person.name.as_deref());
    render(&PersonPage {
        frame: Frame::staff(format!("Bệnh mạn tính: {name}"), &headers),
        pid,
        facts: person_facts(&v),
        notice: q.luu.map(|n| match n.as_str() {
            "ghi-danh" => "Đã ghi danh vào sổ quản lý.".to_string(),
            "trang-thai" => "Đã lưu trạng thái.".to_string(),
            "ho-so" => "Đã ghi các lượt khám tại bệnh viện làm lần theo dõi.".to_string(),
            _ => "Đã lưu lần theo dõi.".to_string(),
        }),
        closed: v.closed,
        visits: v
            .dossier_visits
            .iter()
            .map(|d| {
                format!(
                    "{}: {} tại {}",
                    d.disease.label(),
                    dmy(&d.followup.date),
                    d.followup.facility.clone().unwrap_or_default()
                )
            })
            .collect(),
        entries: v.entries.iter().map(entry_item).collect(),
        statuses: Status::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        today: today().format("%Y-%m-%d").to_string(),
        proposals: v
            .proposals
            .iter()
            .map(|p| proposal_item(pid, v.person.name.as_deref(), p, &names))
            .collect(),
        name,
    })
}

#[derive(Deserialize)]
struct EnrolForm {
    disease: String,
    icd10: String,
    detected_on: String,
    #[serde(default)]
    detected: String,
    #[serde(default)]
    confirmed_by: String,
}

async fn enrol_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<EnrolForm>,
) -> Response {
    let back = format!("/tram/man-tinh/{pid}");
    let u = station!(app, headers, back);
    let Some(disease) = Disease::from_code(&f.disease) else {
        return failed(&headers, ServiceError::NotFound, &back, true);
    };
    let new = NewEnrolment {
        disease,
        icd10: f.icd10,
        detected_on: f.detected_on,
        detected: Detected::from_code(&f.detected).unwrap_or(Detected::Screening),
        confirmed_by: Some(f.confirmed_by),
        note: None,
    };
    let actor = u.actor();
    match records::run(&app, move |s| s.enrol(&actor, pid, &new)).await {
        Ok(()) => redirect(&format!("{back}?luu=ghi-danh")),
        Err(e) => failed(&headers, e, &back, true),
    }
}

#[derive(Default)]
struct FollowUpForm {
    date: String,
    bp_sys: String,
    bp_dia: String,
    heart_rate: String,
    glucose: String,
    hba1c: String,
    weight_kg: String,
    medicines: String,
    adherence: String,
    found: String,
    judged: String,
    next_date: String,
    note: String,
}

#[derive(Template)]
#[template(path = "chronic/followup.html")]
struct FollowUpPage {
    frame: Frame,
    pid: i64,
    name: String,
    code: &'static str,
    label: &'static str,
    judged: bool,
    errors: Vec<String>,
    f: FollowUpForm,
    adherences: Vec<(&'static str, &'static str)>,
    complications: Vec<(&'static str, &'static str, bool)>,
}

fn followup_page_of(
    headers: &HeaderMap,
    pid: i64,
    name: String,
    disease: Disease,
    f: FollowUpForm,
    screened: &[String],
    errors: Vec<String>,
) -> FollowUpPage {
    FollowUpPage {
        frame: Frame::staff(format!("Lần theo dõi {}", disease.label()), headers),
        pid,
        name,
        code: disease.code(),
        label: disease.label(),
        judged: matches!(disease, Disease::Copd | Disease::Asthma),
        errors,
        f,
        adherences: [Adherence::Good, Adherence::Partial, Adherence::Poor]
            .into_iter()
            .map(|a| {
                (
                    match a {
                        Adherence::Good => "good",
                        Adherence::Partial => "partial",
                        Adherence::Poor => "poor",
                    },
                    a.label(),
                )
            })
            .collect(),
        complications: COMPLICATIONS
            .iter()
            .map(|(k, l)| (*k, *l, screened.iter().any(|s| s == k)))
            .collect(),
    }
}

async fn followup_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, code)): Path<(i64, String)>,
) -> Response {
    let back = format!("/tram/man-tinh/{pid}");
    let u = station!(app, headers, back);
    let Some(disease) = Disease::from_code(&code) else {
        return failed(&headers, ServiceError::NotFound, &back, true);
    };
    let actor = u.actor();
    let v = match records::run(&app, move |s| s.chronic_care(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, &back, true),
    };
    if !v.entries.iter().any(|e| e.entry.disease == disease) {
        return failed(&headers, ServiceError::NotFound, &back, true);
    }
    let f = FollowUpForm {
        date: today().format("%Y-%m-%d").to_string(),
        ..FollowUpForm::default()
    };
    render(&followup_page_of(
        &headers,
        pid,
        person_label(v.person.name.as_deref()),
        disease,
        f,
        &[],
        Vec::new(),
    ))
}

fn field(pairs: &[(String, String)], k: &str) -> String {
    pairs
        .iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

fn parse_num<T: std::str::FromStr>(v: &str, label: &str, errors: &mut Vec<String>) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    match v.replace(',', ".").parse::<T>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(format!("{label}: không phải là số"));
            None
        }
    }
}

async fn followup_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, code)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let back = format!("/tram/man-tinh/{pid}");
    let u = station!(app, headers, back);
    let Some(disease) = Disease::from_code(&code) else {
        return failed(&headers, ServiceError::NotFound, &back, true);
    };
    let g = |k: &str| field(&pairs, k);
    let form = FollowUpForm {
        date: g("date"),
        bp_sys: g("bp_sys"),
        bp_dia: g("bp_dia"),
        heart_rate: g("heart_rate"),
        glucose: g("glucose"),
        hba1c: g("hba1c"),
        weight_kg: g("weight_kg"),
        medicines: g("medicines"),
        adherence: g("adherence"),
        found: g("found"),
        judged: g("judged"),
        next_date: g("next_date"),
        note: g("note"),
    };
    let screened: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "screened")
        .map(|(_, v)| v.clone())
        .collect();
    let mut errors = Vec::new();
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let f = FollowUp {
        date: form.date.clone(),
        bp_sys: parse_num(&form.bp_sys, "Huyết áp tâm thu", &mut errors),
        bp_dia: parse_num(&form.bp_dia, "Huyết áp tâm trương", &mut errors),
        heart_rate: parse_num(&form.heart_rate, "Mạch", &mut errors),
        glucose: parse_num(&form.glucose, "Đường huyết", &mut errors),
        hba1c: parse_num(&form.hba1c, "HbA1c", &mut errors),
        weight_kg: parse_num(&form.weight_kg, "Cân nặng", &mut errors),
        medicines: form
            .medicines
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(30)
            .map(|l| {
                let (name, qty) = match l.split_once(',') {
                    Some((n, q)) => (n.trim(), Some(q.trim().to_string())),
                    None => (l, None),
                };
                book::ncd::Dispensed {
                    name: name.chars().take(200).collect(),
                    code: None,
                    quantity: qty.filter(|q| !q.is_empty()),
                }
            })
            .collect(),
        adherence: Adherence::from_code(&form.adherence),
        complications_screened: screened.clone(),
        complications_found: opt(&form.found),
        judged_controlled: match form.judged.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        next_date: opt(&form.next_date),
        source: "entered".into(),
        facility: None,
        note: opt(&form.note),
    };
    let outcome = if errors.is_empty() {
        let actor = u.actor();
        let f = f.clone();
        records::run(&app, move |s| s.add_followup(&actor, pid, disease, &f)).await
    } else {
        Err(ServiceError::Problems(Vec::new()))
    };
    match outcome {
        Ok(_) => redirect(&format!("{back}?luu=1")),
        Err(ServiceError::Problems(problems)) => {
            errors.extend(problems.into_iter().map(|p| p.message));
            let actor = u.actor();
            let name = records::run(&app, move |s| s.chronic_care(&actor, pid))
                .await
                .ok()
                .and_then(|v| v.person.name)
                .unwrap_or_default();
            let page = followup_page_of(&headers, pid, name, disease, form, &screened, errors);
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(e) => failed(&headers, e, &back, true),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    on: String,
}

async fn status_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, code)): Path<(i64, String)>,
    Form(f): Form<StatusForm>,
) -> Response {
    let back = format!("/tram/man-tinh/{pid}");
    let u = station!(app, headers, back);
    let (Some(disease), Some(status)) = (Disease::from_code(&code), Status::from_code(&f.status))
    else {
        return failed(&headers, ServiceError::NotFound, &back, true);
    };
    let actor = u.actor();
    match records::run(&app, move |s| {
        s.set_ncd_status(&actor, pid, disease, status, &f.on)
    })
    .await
    {
        Ok(()) => redirect(&format!("{back}?luu=trang-thai")),
        Err(e) => failed(&headers, e, &back, true),
    }
}

async fn take_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let back = format!("/tram/man-tinh/{pid}");
    let u = station!(app, headers, back);
    let actor = u.actor();
    match records::run(&app, move |s| s.take_dossier_visits(&actor, pid)).await {
        Ok(_) => redirect(&format!("{back}?luu=ho-so")),
        Err(e) => failed(&headers, e, &back, true),
    }
}

// ---------------------------------------------------------------------------
// Station: children and the elderly
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "chronic/children.html")]
struct ChildrenPage {
    frame: Frame,
    figures: Vec<(String, String)>,
    rows: Vec<Row>,
}

fn level_flags(c: &store::ChildRow) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut low = |v: Option<i64>, name: &str| match v {
        Some(2) => out.push(("warn", format!("{name} nặng"))),
        Some(1) => out.push(("warn", format!("{name} vừa"))),
        _ => {}
    };
    low(c.underweight, "SDD nhẹ cân");
    low(c.stunting, "SDD thấp còi");
    low(c.wasting, "SDD gầy còm");
    match c.overweight {
        Some(2) => out.push(("warn", "Béo phì".into())),
        Some(1) => out.push(("warn", "Thừa cân".into())),
        _ => {}
    }
    if c.measured_on.is_none() {
        out.push(("new", "Chưa cân đo".into()));
    } else if out.is_empty() {
        out.push(("live", "Bình thường".into()));
    }
    out
}

async fn children_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = station!(app, headers, "/tram/tre-em");
    let actor = u.actor();
    let rows = match records::run(&app, move |s| s.children_growth(&actor)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram", true),
    };
    let count = |f: &dyn Fn(&store::ChildRow) -> bool| rows.iter().filter(|r| f(r)).count();
    let figures = vec![
        ("Trẻ dưới 5 tuổi".to_string(), rows.len().to_string()),
        (
            "Đã cân đo".to_string(),
            count(&|r| r.measured_on.is_some()).to_string(),
        ),
        (
            "SDD nhẹ cân".to_string(),
            count(&|r| r.underweight.unwrap_or(0) >= 1).to_string(),
        ),
        (
            "SDD thấp còi".to_string(),
            count(&|r| r.stunting.unwrap_or(0) >= 1).to_string(),
        ),
        (
            "SDD gầy còm".to_string(),
            count(&|r| r.wasting.unwrap_or(0) >= 1).to_string(),
        ),
        (
            "Thừa cân, béo phì".to_string(),
            count(&|r| r.overweight.unwrap_or(0) >= 1).to_string(),
        ),
    ];
    render(&ChildrenPage {
        frame: Frame::staff("Trẻ dưới 5 tuổi", &headers),
        figures,
        rows: rows
            .iter()
            .map(|r| Row {
                pid: r.person_id,
                name: person_label(r.name.as_deref()),
                facts: format!(
                    "{}, sinh {} · cân đo gần nhất {}",
                    sex_label(r.sex.as_deref()),
                    r.birth.as_deref().map(dmy).unwrap_or_default(),
                    r.measured_on
                        .as_deref()
                        .map(dmy)
                        .unwrap_or_else(|| "—".into())
                ),
                flags: level_flags(r),
            })
            .collect(),
    })
}

struct ElderlyRow {
    pid: i64,
    name: String,
    facts: String,
    done: bool,
}

#[derive(Template)]
#[template(path = "chronic/elderly.html")]
struct ElderlyPage {
    frame: Frame,
    year: i32,
    total: usize,
    done: usize,
    rows: Vec<ElderlyRow>,
}

async fn elderly_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = station!(app, headers, "/tram/nguoi-cao-tuoi");
    let actor = u.actor();
    let mut items = match records::run(&app, move |s| s.elderly_checks(&actor)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram", true),
    };
    // Those due first.
    items.sort_by_key(|i| (i.done, i.person_id));
    render(&ElderlyPage {
        frame: Frame::staff("Người cao tuổi", &headers),
        year: chrono::Datelike::year(&today()),
        total: items.len(),
        done: items.iter().filter(|i| i.done).count(),
        rows: items
            .iter()
            .map(|i| ElderlyRow {
                pid: i.person_id,
                name: person_label(i.name.as_deref()),
                facts: format!(
                    "sinh {} · khám gần nhất {}",
                    i.birth.as_deref().map(dmy).unwrap_or_default(),
                    i.last_exam
                        .as_deref()
                        .map(dmy)
                        .unwrap_or_else(|| "chưa có".into())
                ),
                done: i.done,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// Growth (station and citizen)
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "chronic/growth.html")]
struct GrowthPage {
    frame: Frame,
    back: String,
    back_label: String,
    pid: i64,
    name: String,
    facts: String,
    notice: Option<String>,
    errors: Vec<String>,
    latest: Option<(String, Vec<(&'static str, String)>)>,
    station: bool,
    form: (String, String, String),
    charts: Vec<Chart>,
}

fn assessment_flags(a: &Assessment) -> Vec<(&'static str, String)> {
    let f = a.findings();
    if f.is_empty() {
        let known = a.underweight.is_some() || a.stunting.is_some() || a.wasting.is_some();
        return vec![if known {
            ("live", "Bình thường".to_string())
        } else {
            ("", "Chưa đủ số đo để đánh giá".to_string())
        }];
    }
    let _ = (Grade::Normal, Weight::Normal);
    f.into_iter().map(|s| ("warn", s)).collect()
}

fn growth_page(
    headers: &HeaderMap,
    v: &service::chronic::GrowthView,
    station: bool,
    errors: Vec<String>,
    notice: Option<String>,
    form: (String, String, String),
) -> GrowthPage {
    let pid = v.person.id;
    let name = person_label(v.person.name.as_deref());
    let sex = v.sex.as_deref().and_then(Sex::from_code);
    let born = v.birth.as_deref().and_then(book::ehr::parse_date);
    let mut charts = Vec::new();
    if let (Some(sex), Some(born)) = (sex, born) {
        let mut wfa = Vec::new();
        let mut hfa = Vec::new();
        let mut wfh = Vec::new();
        for (m, a) in &v.measurements {
            let Some(day) = book::ehr::parse_date(&m.measurement.date) else {
                continue;
            };
            let age = (day - born).num_days() as f64 / 30.4375;
            if !(0.0..=60.0).contains(&age) {
                continue;
            }
            let label = dmy(&m.measurement.date);
            if let Some(w) = m.measurement.weight_kg {
                wfa.push((age, w, format!("{label}: {} kg", num(w))));
            }
            let len = a
                .as_ref()
                .and_then(|a| a.length_cm)
                .or(m.measurement.length_cm);
            if let Some(l) = len {
                hfa.push((age, l, format!("{label}: {} cm", num(l))));
                if let Some(w) = m.measurement.weight_kg {
                    wfh.push((l, w, format!("{label}: {} kg, {} cm", num(w), num(l))));
                }
            }
        }
        if !wfa.is_empty() {
            charts.push(growth_chart(Index::WeightForAge, sex, &wfa));
        }
        if !hfa.is_empty() {
            charts.push(growth_chart(Index::HeightForAge, sex, &hfa));
        }
        if !wfh.is_empty() {
            charts.push(growth_chart(Index::WeightForHeight, sex, &wfh));
        }
    }
    let latest = v.measurements.last().map(|(m, a)| {
        let mut text = format!("Ngày {}", dmy(&m.measurement.date));
        if let Some(w) = m.measurement.weight_kg {
            text.push_str(&format!(" · {} kg", num(w)));
        }
        if let Some(l) = m.measurement.length_cm {
            text.push_str(&format!(" · {} cm", num(l)));
        }
        if let Some(a) = a {
            text.push_str(&format!(" · {} tháng tuổi", a.age_months));
            if let Some(z) = a.waz {
                text.push_str(&format!(" · z CN/T {}", num(z)));
            }
            if let Some(z) = a.haz {
                text.push_str(&format!(" · z CC/T {}", num(z)));
            }
            if let Some(z) = a.whz {
                text.push_str(&format!(" · z CN/CC {}", num(z)));
            }
        }
        (
            text,
            a.as_ref().map(assessment_flags).unwrap_or_else(|| {
                vec![(
                    "",
                    "Không đánh giá được (cần ngày sinh, giới tính; trẻ dưới 5 tuổi)".into(),
                )]
            }),
        )
    });
    let facts = format!(
        "{}{}",
        sex_label(v.sex.as_deref()),
        v.birth
            .as_deref()
            .map(|b| format!(", sinh {}", dmy(b)))
            .unwrap_or_default()
    );
    GrowthPage {
        frame: if station {
            Frame::staff(format!("Tăng trưởng: {name}"), headers)
        } else {
            Frame::citizen(format!("Tăng trưởng: {name}"), headers)
        },
        back: if station {
            "/tram/tre-em".into()
        } else {
            format!("/so/{pid}")
        },
        back_label: if station {
            "← Trẻ dưới 5 tuổi".into()
        } else {
            "← Sổ sức khỏe".into()
        },
        pid,
        name,
        facts,
        notice,
        errors,
        latest,
        station,
        form,
        charts,
    }
}

async fn station_growth(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let back = format!("/tram/tre-em/{pid}");
    let u = station!(app, headers, back);
    let actor = u.actor();
    let v = match records::run(&app, move |s| s.growth(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram/tre-em", true),
    };
    let form = (
        today().format("%Y-%m-%d").to_string(),
        String::new(),
        String::new(),
    );
    render(&growth_page(
        &headers,
        &v,
        true,
        Vec::new(),
        q.luu.map(|_| "Đã lưu lần đo.".to_string()),
        form,
    ))
}

async fn measure_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let back = format!("/tram/tre-em/{pid}");
    let u = station!(app, headers, back);
    let g = |k: &str| field(&pairs, k);
    let mut errors = Vec::new();
    let m = Measurement {
        date: g("date"),
        weight_kg: parse_num(&g("weight_kg"), "Cân nặng", &mut errors),
        length_cm: parse_num(&g("length_cm"), "Chiều dài/chiều cao", &mut errors),
        lying: match g("lying").as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        oedema: g("oedema") == "1",
    };
    let outcome = if errors.is_empty() {
        let actor = u.actor();
        let m = m.clone();
        records::run(&app, move |s| s.add_measurement(&actor, pid, &m)).await
    } else {
        Err(ServiceError::Invalid {
            code: "invalid_form",
            message: String::new(),
        })
    };
    match outcome {
        Ok(_) => redirect(&format!("{back}?luu=1")),
        Err(ServiceError::Invalid { message, .. }) => {
            if !message.is_empty() {
                errors.push(message);
            }
            let actor = u.actor();
            let v = match records::run(&app, move |s| s.growth(&actor, pid)).await {
                Ok(v) => v,
                Err(e) => return failed(&headers, e, "/tram/tre-em", true),
            };
            let form = (g("date"), g("weight_kg"), g("length_cm"));
            let page = growth_page(&headers, &v, true, errors, None, form);
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(e) => failed(&headers, e, &back, true),
    }
}

async fn citizen_growth(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let actor = citizen!(app, headers);
    let v = match records::run(&app, move |s| s.growth(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/so", false),
    };
    render(&growth_page(
        &headers,
        &v,
        false,
        Vec::new(),
        None,
        Default::default(),
    ))
}

// ---------------------------------------------------------------------------
// Citizen: registers and charts
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "chronic/citizen.html")]
struct CitizenPage {
    frame: Frame,
    pid: i64,
    entries: Vec<EntryItem>,
    child: bool,
}

async fn citizen_chronic(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let actor = citizen!(app, headers);
    let mut v = match records::run(&app, move |s| s.chronic_care(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/so", false),
    };
    name_facilities(&app, &mut v).await;
    let child = v
        .person
        .birth
        .as_deref()
        .and_then(store::birth_day)
        .as_deref()
        .and_then(book::ehr::parse_date)
        .is_some_and(|b| book::growth::under_five(b, today()));
    render(&CitizenPage {
        frame: Frame::citizen("Bệnh mạn tính", &headers),
        pid,
        entries: v.entries.iter().map(entry_item).collect(),
        child,
    })
}

#[derive(Template)]
#[template(path = "chronic/series.html")]
struct SeriesPage {
    frame: Frame,
    pid: i64,
    charts: Vec<Chart>,
}

async fn citizen_series(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let actor = citizen!(app, headers);
    let series = match records::run(&app, move |s| s.health_series(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/so", false),
    };
    render(&SeriesPage {
        frame: Frame::citizen("Chỉ số theo thời gian", &headers),
        pid,
        charts: series.iter().take(16).map(series_chart).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(3.2, 7.9, 5), vec![4.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn growth_chart_has_five_lines_and_the_points() {
        let c = growth_chart(
            Index::WeightForAge,
            Sex::Female,
            &[(6.0, 7.0, "a".into()), (12.0, 8.5, "b".into())],
        );
        assert_eq!(c.lines.len(), 6);
        assert_eq!(c.dots.len(), 2);
        assert!(c.dots.iter().all(|d| {
            let x: f64 = d.x.parse().unwrap();
            let y: f64 = d.y.parse().unwrap();
            (f64::from(LEFT)..=f64::from(RIGHT)).contains(&x)
                && (f64::from(TOP)..=f64::from(BOTTOM)).contains(&y)
        }));
    }
}
