//! The commune station's pages under `/tram` (templates `templates/station/`), for
//! commune staff on a phone or a desk: the station's figures, finding a resident (name
//! words or personal ID; the incomplete records, the elderly whose yearly examination
//! is due), a resident's QĐ 831 record (parts A–D, what is missing, examinations,
//! proposals from hospital dossiers, history of versions), editing a part, adding an
//! examination, resolving registry mismatches and citizens' reports, and importing
//! records from a file. Every rule is the service layer's, through the same calls as the
//! JSON API (`crate::records`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use book::ehr::{self, Item, Kind, Part};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use service::ServiceError;
use store::ResidentRow;

use super::staff::error_page;
use super::{ErrorPage, Frame, redirect, render};
use crate::App;
use crate::http::{ApiError, token_from};
use crate::records::{self, Edit, Filter};
use crate::staff::{STAFF_COOKIE, StaffUser};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tram", get(home))
        .route("/tram/nguoi-dan", get(residents))
        .route("/tram/ho-so/{pid}", get(record))
        .route(
            "/tram/ho-so/{pid}/sua/{part}",
            get(edit_page).post(edit_submit),
        )
        .route("/tram/ho-so/{pid}/kham", get(exam_page).post(exam_submit))
        .route("/tram/ho-so/{pid}/de-xuat", post(proposal_submit))
        .route("/tram/doi-chieu", get(issues_page))
        .route("/tram/doi-chieu/{id}", post(resolve_submit))
        .route(
            "/tram/nhap",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(records::MAX_IMPORT_BYTES + 64 * 1024)),
        )
}

// ---------------------------------------------------------------------------
// Who asks
// ---------------------------------------------------------------------------

fn url_encoded(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|q| q[2..].to_string())
        .unwrap_or_default()
}

/// The signed-in commune staff and their commune; otherwise the sign-in page (which
/// comes back here), or why not.
async fn station_user(
    app: &Arc<App>,
    headers: &HeaderMap,
    back: &str,
) -> Result<(StaffUser, String), Response> {
    let to_login = || redirect(&format!("/nhan-vien/dang-nhap?next={}", url_encoded(back)));
    let Some(token) = token_from(headers, STAFF_COOKIE) else {
        return Err(to_login());
    };
    let u = match StaffUser::from_token(app, token).await {
        Ok(Some(u)) => u,
        Ok(None) => return Err(to_login()),
        Err(e) => return Err(error_page(headers, e)),
    };
    let commune = records::station_of(&u).map_err(|e| error_page(headers, e))?;
    Ok((u, commune))
}

macro_rules! station {
    ($app:expr, $headers:expr, $back:expr) => {
        match station_user(&$app, &$headers, &$back.to_string()).await {
            Ok(x) => x,
            Err(r) => return r,
        }
    };
}

/// A service error as a page: the error page, with the way back to the record.
fn failed(headers: &HeaderMap, e: ServiceError, back: &str) -> Response {
    let ApiError(status, _, message) = ApiError::from(e);
    let heading = match status {
        StatusCode::NOT_FOUND => "Không tìm thấy",
        StatusCode::CONFLICT => "Chưa lưu được",
        _ => "Không thực hiện được",
    };
    let message = if status == StatusCode::NOT_FOUND {
        "Không có hồ sơ này, hoặc người này không thuộc xã của trạm.".to_string()
    } else {
        message
    };
    let page = ErrorPage {
        frame: Frame::staff(heading, headers),
        heading: heading.into(),
        message,
        back_href: back.into(),
        back_label: if back == "/tram" {
            "← Trạm y tế".into()
        } else {
            "← Mở lại hồ sơ".into()
        },
    };
    (status, render(&page)).into_response()
}

fn today() -> NaiveDate {
    store::vn_now().date()
}

fn instant(ms: i64) -> String {
    super::when(Some(crate::vn_wall_clock(ms)))
}

fn sex_label(s: Option<&str>) -> &'static str {
    match s {
        Some("1") => "Nam",
        Some("2") => "Nữ",
        _ => "Chưa rõ giới tính",
    }
}

/// A birth as the records list has it (`yyyy-mm-dd` or `yyyy`).
fn birth_label(b: Option<&str>) -> String {
    match b {
        Some(b) if b.len() == 4 => format!("năm sinh {b}"),
        Some(b) if !b.is_empty() => format!("sinh {}", ehr::day_text(b)),
        _ => "chưa rõ ngày sinh".into(),
    }
}

/// A notice above a page: done, or why not.
struct Notice {
    ok: bool,
    text: String,
}

// ---------------------------------------------------------------------------
// Home
// ---------------------------------------------------------------------------

struct Figure {
    label: String,
    value: String,
}

struct Link {
    href: String,
    label: String,
    note: String,
}

#[derive(Template)]
#[template(path = "station/home.html")]
struct HomePage {
    frame: Frame,
    station: String,
    figures: Vec<Figure>,
    links: Vec<Link>,
}

/// What a station's figures count, from its residents' list.
struct Counts {
    records: usize,
    open: usize,
    complete_a: usize,
    complete_b: usize,
    examined: usize,
    elderly: usize,
    elderly_examined: usize,
    incomplete: usize,
    exam_due: usize,
}

fn counts(rows: &[ResidentRow], today: NaiveDate) -> Counts {
    let year = format!("{:04}", today.year());
    let open: Vec<&ResidentRow> = rows.iter().filter(|r| r.status == "open").collect();
    let examined = |r: &&&ResidentRow| r.last_exam.as_deref().is_some_and(|d| d.starts_with(&year));
    let elderly: Vec<&ResidentRow> = open
        .iter()
        .copied()
        .filter(|r| {
            r.birth
                .as_deref()
                .is_some_and(|b| ehr::is_elderly(b, today))
        })
        .collect();
    Counts {
        records: rows.len(),
        open: open.len(),
        complete_a: open.iter().filter(|r| r.complete_a).count(),
        complete_b: open.iter().filter(|r| r.complete_b).count(),
        examined: open.iter().filter(examined).count(),
        elderly: elderly.len(),
        elderly_examined: elderly.iter().filter(examined).count(),
        incomplete: open.iter().filter(|r| records::incomplete(r)).count(),
        exam_due: open.iter().filter(|r| records::exam_due(r, today)).count(),
    }
}

fn share(n: usize, of: usize) -> String {
    if of == 0 {
        return n.to_string();
    }
    let pct = rust_decimal::Decimal::from(n * 1000 / of) / rust_decimal::Decimal::from(10);
    format!("{} ({}%)", super::decimal(n.into()), super::decimal(pct))
}

/// The commune's name, when the unit is registered.
async fn commune_name(app: &Arc<App>, commune: &str) -> String {
    let store = app.store.clone();
    let code = commune.to_string();
    let name = crate::http::blocking(move || {
        Ok(store
            .units()?
            .into_iter()
            .filter(|u| u.code == code)
            .map(|u| u.name)
            .next_back())
    })
    .await
    .ok()
    .flatten();
    match name {
        Some(n) => format!("Trạm y tế {n} (mã {commune})"),
        None => format!("Trạm y tế xã, phường mã {commune}"),
    }
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let (_u, commune) = station!(app, headers, "/tram");
    let rows = match records::commune_residents(&app, commune.clone()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let issues = match records::station_issues(&app, commune.clone(), true).await {
        Ok(l) => l.len(),
        Err(r) => return r,
    };
    let today = today();
    let c = counts(&rows, today);
    let year = today.year();
    let figures = vec![
        Figure {
            label: "Người dân có hồ sơ sức khỏe".into(),
            value: super::decimal(c.records.into()),
        },
        Figure {
            label: "Hồ sơ đang quản lý (người còn sống)".into(),
            value: super::decimal(c.open.into()),
        },
        Figure {
            label: "Đủ thông tin phần A (hành chính)".into(),
            value: share(c.complete_a, c.open),
        },
        Figure {
            label: "Đủ thông tin phần B (tiền sử)".into(),
            value: share(c.complete_b, c.open),
        },
        Figure {
            label: format!("Được khám trong năm {year}"),
            value: share(c.examined, c.open),
        },
        Figure {
            label: format!("Người cao tuổi được khám trong năm {year}"),
            value: format!("{} / {}", c.elderly_examined, c.elderly),
        },
        Figure {
            label: "Sai khác, báo lỗi chờ xử lý".into(),
            value: if issues >= records::MAX_ISSUES {
                format!("{issues}+")
            } else {
                issues.to_string()
            },
        },
    ];
    let links = vec![
        Link {
            href: "/tram/nguoi-dan".into(),
            label: "Tìm người dân".into(),
            note: "Theo họ tên hoặc số định danh cá nhân".into(),
        },
        Link {
            href: "/tram/nguoi-dan?loc=incomplete".into(),
            label: "Chưa đủ thông tin".into(),
            note: format!("{} hồ sơ thiếu phần A hoặc B", c.incomplete),
        },
        Link {
            href: "/tram/nguoi-dan?loc=exam_due".into(),
            label: "Đến hạn khám".into(),
            note: format!(
                "{} người cao tuổi chưa được khám trong năm {year}",
                c.exam_due
            ),
        },
        Link {
            href: "/tram/man-tinh".into(),
            label: "Quản lý bệnh mạn tính".into(),
            note: "Tăng huyết áp, đái tháo đường, COPD, hen: sổ, lần theo dõi, đề xuất".into(),
        },
        Link {
            href: "/tram/tre-em".into(),
            label: "Trẻ dưới 5 tuổi".into(),
            note: "Cân, đo và phân loại suy dinh dưỡng theo chuẩn WHO".into(),
        },
        Link {
            href: "/tram/nguoi-cao-tuoi".into(),
            label: "Người cao tuổi".into(),
            note: "Khám sức khỏe hằng năm: đã khám, đến hạn".into(),
        },
        Link {
            href: "/tram/doi-chieu".into(),
            label: "Đối chiếu, báo lỗi".into(),
            note: format!("{issues} việc chờ xử lý"),
        },
        Link {
            href: "/tram/nhap".into(),
            label: "Nhập hồ sơ từ tệp".into(),
            note: "CSV hoặc JSON lines từ phần mềm cũ".into(),
        },
    ];
    render(&HomePage {
        frame: Frame::staff("Trạm y tế", &headers),
        station: commune_name(&app, &commune).await,
        figures,
        links,
    })
}

// ---------------------------------------------------------------------------
// Residents
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct ResidentsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    loc: String,
    #[serde(default)]
    trang: Option<usize>,
}

struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

struct ResidentCard {
    href: String,
    name: String,
    facts: String,
    flags: Vec<(&'static str, &'static str)>,
    last_exam: String,
}

#[derive(Template)]
#[template(path = "station/residents.html")]
struct ResidentsPage {
    frame: Frame,
    q: String,
    loc: &'static str,
    tabs: Vec<Tab>,
    heading: String,
    cards: Vec<ResidentCard>,
    prev: Option<String>,
    next: Option<String>,
    page_note: String,
}

fn list_href(q: &str, loc: Filter, page: usize) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q.to_string()));
    }
    if loc != Filter::All {
        pairs.push(("loc", loc.code().to_string()));
    }
    if page > 1 {
        pairs.push(("trang", page.to_string()));
    }
    if pairs.is_empty() {
        return "/tram/nguoi-dan".into();
    }
    format!(
        "/tram/nguoi-dan?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

async fn residents(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<ResidentsQuery>,
) -> Response {
    let (_u, commune) = station!(app, headers, uri);
    let filter = Filter::parse(&q.loc).unwrap_or(Filter::All);
    let text: String = book::text::tidy(&q.q).chars().take(100).collect();
    let rows = match records::commune_residents(&app, commune).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let today = today();
    let found = records::select(rows, filter, &text, today);
    let per = records::PER_PAGE;
    let pages = found.len().div_ceil(per).max(1);
    let page = q.trang.unwrap_or(1).clamp(1, pages);
    let total = found.len();
    let year = format!("{:04}", today.year());
    let cards = found
        .into_iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|r| {
            let mut flags = Vec::new();
            if r.status != "open" {
                flags.push(("pill", "Hồ sơ đã đóng"));
            } else {
                if !r.complete_a {
                    flags.push(("pill warn", "Thiếu phần A"));
                }
                if !r.complete_b {
                    flags.push(("pill warn", "Thiếu phần B"));
                }
                if records::exam_due(&r, today) {
                    flags.push(("pill warn", "Đến hạn khám"));
                }
                if r.last_exam.as_deref().is_some_and(|d| d.starts_with(&year)) {
                    flags.push(("pill live", "Đã khám năm nay"));
                }
            }
            ResidentCard {
                href: format!("/tram/ho-so/{}", r.person_id),
                name: r.name.clone().unwrap_or_else(|| "(chưa có họ tên)".into()),
                facts: format!(
                    "{} · {} · Số định danh {}",
                    birth_label(r.birth.as_deref()),
                    sex_label(r.sex.as_deref()),
                    r.personal_id.as_deref().unwrap_or("—")
                ),
                flags,
                last_exam: r
                    .last_exam
                    .as_deref()
                    .map(|d| format!("Khám gần nhất: {}", ehr::day_text(d)))
                    .unwrap_or_else(|| "Chưa có lần khám nào".into()),
            }
        })
        .collect();
    let tabs = [
        (Filter::All, "Tất cả"),
        (Filter::Incomplete, "Chưa đủ thông tin"),
        (Filter::ExamDue, "Đến hạn khám"),
    ]
    .into_iter()
    .map(|(f, label)| Tab {
        href: list_href(&text, f, 1),
        label,
        current: f == filter,
    })
    .collect();
    let what = match filter {
        Filter::All => "người dân",
        Filter::Incomplete => "hồ sơ chưa đủ thông tin",
        Filter::ExamDue => "người cao tuổi đến hạn khám",
    };
    let heading = if text.is_empty() {
        format!("{} {what}", super::decimal(total.into()))
    } else {
        format!("{} {what} khớp “{text}”", super::decimal(total.into()))
    };
    render(&ResidentsPage {
        frame: Frame::staff("Người dân", &headers),
        loc: filter.code(),
        tabs,
        heading,
        cards,
        prev: (page > 1).then(|| list_href(&text, filter, page - 1)),
        next: (page < pages).then(|| list_href(&text, filter, page + 1)),
        page_note: if pages > 1 {
            format!("Trang {page} / {pages}")
        } else {
            String::new()
        },
        q: text,
    })
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

struct Shown {
    label: &'static str,
    value: String,
}

struct GroupShown {
    heading: &'static str,
    items: Vec<Shown>,
}

struct PartView {
    code: &'static str,
    label: &'static str,
    complete: bool,
    missing: String,
    groups: Vec<GroupShown>,
    edit: String,
}

struct ExamView {
    title: String,
    by: String,
    vitals: Vec<Shown>,
    rest: Vec<Shown>,
}

struct ChangeView {
    label: String,
    before: String,
    after: String,
}

struct VersionView {
    title: String,
    meta: String,
    changes: Vec<ChangeView>,
}

struct ProposalView {
    code: String,
    name: String,
    seen: String,
}

#[derive(Template)]
#[template(path = "station/record.html")]
struct RecordPage {
    frame: Frame,
    pid: i64,
    name: String,
    facts: String,
    card: String,
    closed: bool,
    version: i64,
    notice: Option<Notice>,
    parts: Vec<PartView>,
    exams: Vec<ExamView>,
    proposals: Vec<ProposalView>,
    versions: Vec<VersionView>,
    more_versions: usize,
}

#[derive(Deserialize)]
struct RecordQuery {
    #[serde(default)]
    luu: String,
}

/// The vital signs and measures an examination card leads with.
const VITALS: &[&str] = &[
    "bp_sys",
    "bp_dia",
    "pulse",
    "temperature",
    "resp",
    "weight",
    "height",
    "bmi",
    "waist",
    "diagnosis",
    "icd",
];

/// Versions shown on the record page (the newest).
const VERSIONS_SHOWN: usize = 30;

fn person_name(v: &service::RecordView) -> String {
    v.stored
        .record
        .get("a.name")
        .map(str::to_string)
        .or_else(|| v.person.name.clone())
        .unwrap_or_else(|| "(chưa có họ tên)".into())
}

fn person_facts(v: &service::RecordView) -> String {
    let r = &v.stored.record;
    let birth = r
        .get("a.birth_date")
        .map(|b| format!("sinh {}", ehr::day_text(b)))
        .unwrap_or_else(|| "chưa rõ ngày sinh".into());
    let id = r
        .get("a.id_number")
        .map(str::to_string)
        .or_else(|| v.person.personal_id.clone())
        .unwrap_or_else(|| "—".into());
    format!(
        "{birth} · {} · Số định danh {id}",
        sex_label(r.get("a.sex").or(v.person.sex.as_deref()))
    )
}

async fn record(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(pid): Path<i64>,
    Query(q): Query<RecordQuery>,
) -> Response {
    let (u, _commune) = station!(app, headers, uri);
    let actor = u.actor();
    let v = match records::run(&app, move |s| s.health_record(&actor, pid)).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram"),
    };
    let r = &v.stored.record;
    let closed = v.stored.is_closed();
    let parts = [Part::A, Part::B, Part::C]
        .into_iter()
        .map(|p| {
            let code = match p {
                Part::A => "a",
                Part::B => "b",
                _ => "c",
            };
            PartView {
                code,
                label: p.label(),
                complete: r.complete(p),
                missing: records::missing(r, p).join("; "),
                groups: ehr::groups(p)
                    .into_iter()
                    .map(|(heading, items)| GroupShown {
                        heading,
                        items: items
                            .into_iter()
                            .filter_map(|i| {
                                r.get(i.key).map(|value| Shown {
                                    label: i.label,
                                    value: ehr::shown(i, value),
                                })
                            })
                            .collect(),
                    })
                    .filter(|g| !g.items.is_empty())
                    .collect(),
                edit: format!("/tram/ho-so/{pid}/sua/{code}"),
            }
        })
        .collect();
    let exams = r
        .exams
        .iter()
        .rev()
        .map(|e| {
            let item = |i: &'static Item| {
                e.get(i.key).map(|value| Shown {
                    label: i.label,
                    value: ehr::shown(i, value),
                })
            };
            ExamView {
                title: format!("Lần {} — {}", e.number, ehr::day_text(&e.date)),
                by: match &e.unit {
                    Some(unit) => format!("Ghi bởi {} · đơn vị {unit}", e.by),
                    None => format!("Ghi bởi {}", e.by),
                },
                vitals: ehr::EXAM_ITEMS
                    .iter()
                    .filter(|i| VITALS.contains(&i.key))
                    .filter_map(item)
                    .collect(),
                rest: ehr::EXAM_ITEMS
                    .iter()
                    .filter(|i| !VITALS.contains(&i.key))
                    .filter_map(item)
                    .collect(),
            }
        })
        .collect();
    let codes: Vec<String> = v.proposals.iter().map(|p| p.facility.clone()).collect();
    let names = crate::citizen::names_of(&app, codes).await;
    let proposals = v
        .proposals
        .iter()
        .map(|p| ProposalView {
            code: p.code.clone(),
            name: p.name.clone(),
            seen: format!(
                "Lần đầu ngày {} tại {}",
                ehr::day_text(&p.first_seen),
                names
                    .get(&p.facility)
                    .cloned()
                    .unwrap_or_else(|| p.facility.clone())
            ),
        })
        .collect();
    let versions = v
        .versions
        .iter()
        .take(VERSIONS_SHOWN)
        .map(|x| VersionView {
            title: format!("Phiên bản {}", x.version),
            meta: format!(
                "{} · {} · {}{}",
                instant(x.at),
                x.by_user,
                records::source_label(&x.source),
                x.by_unit
                    .as_deref()
                    .map(|u| format!(" · đơn vị {u}"))
                    .unwrap_or_default()
            ),
            changes: x
                .changes
                .iter()
                .map(|c| ChangeView {
                    label: if c.key == "exam" {
                        "Thêm lần khám".into()
                    } else {
                        ehr::label_of(&c.key)
                    },
                    before: records::change_value(&c.key, &c.before),
                    after: records::change_value(&c.key, &c.after),
                })
                .collect(),
        })
        .collect();
    let card = v
        .card
        .as_ref()
        .map(|c| {
            format!(
                "Thẻ BHYT {} · hạn {} – {}{}",
                c.card,
                ehr::day_text(&c.valid_from),
                ehr::day_text(&c.valid_to),
                c.first_contact
                    .as_deref()
                    .map(|f| format!(" · nơi đăng ký khám ban đầu {f}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    render(&RecordPage {
        frame: Frame::staff(person_name(&v), &headers),
        pid,
        name: person_name(&v),
        facts: person_facts(&v),
        card,
        closed,
        version: v.stored.version,
        notice: (!q.luu.is_empty()).then(|| Notice {
            ok: true,
            text: "Đã lưu.".into(),
        }),
        parts,
        exams,
        proposals,
        more_versions: v.versions.len().saturating_sub(VERSIONS_SHOWN),
        versions,
    })
}

// ---------------------------------------------------------------------------
// Forms of a part and of an examination
// ---------------------------------------------------------------------------

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct Field {
    id: String,
    name: &'static str,
    label: &'static str,
    /// select | checkbox | date | number | text | textarea
    control: &'static str,
    value: String,
    checked: bool,
    options: Vec<Choice>,
    step: &'static str,
    min: String,
    max: String,
    maxlength: usize,
    inputmode: &'static str,
    /// Needed for the part to count as complete.
    needed: bool,
    /// The browser asks for it (an examination's required items).
    required: bool,
    error: Option<String>,
}

struct FieldGroup {
    heading: &'static str,
    id: String,
    /// Shown open (something to fill or to correct); the others are folded.
    open: bool,
    fields: Vec<Field>,
}

/// The groups of an examination form shown open whatever they hold.
const EXAM_OPEN: &[&str] = &["Bệnh sử", "Sinh hiệu, nhân trắc", "Kết luận"];

struct ErrorLink {
    href: String,
    text: String,
}

#[derive(Template)]
#[template(path = "station/edit.html")]
struct EditPage {
    frame: Frame,
    pid: i64,
    name: String,
    heading: String,
    action: String,
    version: i64,
    /// The examination's date (`yyyy-mm-dd`) and its error, on the examination form.
    exam_date: Option<(String, String, Option<String>)>,
    note: &'static str,
    errors: Vec<ErrorLink>,
    groups: Vec<FieldGroup>,
}

fn field_id(key: &str) -> String {
    format!("f-{}", key.replace('.', "-"))
}

fn field(item: &'static Item, value: &str, error: Option<String>, exam: bool) -> Field {
    let mut f = Field {
        id: field_id(item.key),
        name: item.key,
        label: item.label,
        control: "text",
        value: value.to_string(),
        checked: false,
        options: Vec::new(),
        step: "",
        min: String::new(),
        max: String::new(),
        maxlength: 0,
        inputmode: "",
        needed: item.required && !exam,
        required: item.required && exam,
        error,
    };
    match item.kind {
        Kind::Choice(list) => {
            f.control = "select";
            f.options = std::iter::once(Choice {
                value: "",
                label: "— chưa ghi —",
                selected: value.is_empty(),
            })
            .chain(list.iter().map(|(c, l)| Choice {
                value: c,
                label: l,
                selected: *c == value,
            }))
            .collect();
        }
        Kind::Flag => {
            f.control = "checkbox";
            f.checked = !value.is_empty() && value != "0";
        }
        Kind::Date => {
            f.control = "date";
            f.value = ehr::parse_date(value)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| value.to_string());
        }
        Kind::Int(min, max) => {
            f.control = "number";
            f.step = "1";
            f.min = min.to_string();
            f.max = max.to_string();
            f.inputmode = "numeric";
        }
        Kind::Dec(min, max, scale) => {
            f.control = "number";
            f.step = if scale >= 2 { "0.01" } else { "0.1" };
            f.min = min.to_string();
            f.max = max.to_string();
            f.inputmode = "decimal";
        }
        Kind::Text(max) => {
            f.control = if max >= 500 { "textarea" } else { "text" };
            f.maxlength = max;
            if item.key == "a.email" {
                f.inputmode = "email";
            }
        }
        Kind::Unit | Kind::PersonalId => {
            f.inputmode = "numeric";
            f.maxlength = 12;
        }
        Kind::Card => f.maxlength = 15,
        Kind::Phone => {
            f.inputmode = "tel";
            f.maxlength = 20;
        }
        Kind::Icd => f.maxlength = 300,
    }
    f
}

/// The items of a part a form shows: women-only items only for women; the BMI of an
/// examination is the server's to compute.
fn form_items(part: Part, female: bool) -> Vec<(&'static str, Vec<&'static Item>)> {
    ehr::groups(part)
        .into_iter()
        .map(|(g, items)| {
            let items: Vec<&'static Item> = items
                .into_iter()
                .filter(|i| female || !i.women)
                .filter(|i| !(part == Part::D && i.key == "bmi"))
                .collect();
            (g, items)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect()
}

/// The groups of a form, with values and each item's error.
fn form_groups(
    part: Part,
    female: bool,
    values: &dyn Fn(&str) -> String,
    errors: &HashMap<String, String>,
) -> Vec<FieldGroup> {
    let exam = part == Part::D;
    form_items(part, female)
        .into_iter()
        .enumerate()
        .map(|(n, (heading, items))| {
            let fields: Vec<Field> = items
                .into_iter()
                .map(|i| {
                    let key = if exam {
                        format!("exam.{}", i.key)
                    } else {
                        i.key.to_string()
                    };
                    field(i, &values(i.key), errors.get(&key).cloned(), exam)
                })
                .collect();
            let open = (exam && EXAM_OPEN.contains(&heading))
                || fields.iter().any(|f| {
                    f.needed
                        || f.required
                        || f.error.is_some()
                        || f.checked
                        || (f.control != "checkbox" && !f.value.is_empty())
                });
            FieldGroup {
                heading,
                id: format!("nhom-{}", n + 1),
                open,
                fields,
            }
        })
        .collect()
}

/// Problems as a summary that links to each item, and as messages by item key.
fn problem_links(
    problems: &[ehr::Problem],
    shown: &[String],
) -> (Vec<ErrorLink>, HashMap<String, String>) {
    let mut by_key: HashMap<String, String> = HashMap::new();
    let mut links = Vec::new();
    for p in problems {
        let bare = p.key.strip_prefix("exam.").unwrap_or(&p.key);
        let href = if p.key == "exam.date" {
            "#ngay-kham".to_string()
        } else if shown.iter().any(|k| k == bare) {
            format!("#{}", field_id(bare))
        } else {
            "#loi".to_string()
        };
        links.push(ErrorLink {
            href,
            text: p.message.clone(),
        });
        by_key
            .entry(p.key.clone())
            .and_modify(|m| {
                m.push_str("; ");
                m.push_str(&p.message);
            })
            .or_insert_with(|| p.message.clone());
    }
    (links, by_key)
}

fn part_of(code: &str) -> Option<Part> {
    match code {
        "a" => Some(Part::A),
        "b" => Some(Part::B),
        "c" => Some(Part::C),
        _ => None,
    }
}

async fn read_record(
    app: &Arc<App>,
    u: &StaffUser,
    pid: i64,
) -> Result<service::RecordView, ServiceError> {
    let actor = u.actor();
    records::run(app, move |s| s.health_record(&actor, pid)).await
}

fn part_heading(part: Part) -> String {
    format!("Sửa {}", part.label())
}

async fn edit_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path((pid, code)): Path<(i64, String)>,
) -> Response {
    let (u, _) = station!(app, headers, uri);
    let Some(part) = part_of(&code) else {
        return failed(&headers, ServiceError::NotFound, "/tram");
    };
    let back = format!("/tram/ho-so/{pid}");
    let v = match read_record(&app, &u, pid).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram"),
    };
    if v.stored.is_closed() {
        return failed(
            &headers,
            ServiceError::Conflict("Hồ sơ đã đóng (người đã mất): chỉ xem, không ghi thêm".into()),
            &back,
        );
    }
    let r = &v.stored.record;
    let values = |k: &str| r.get(k).unwrap_or("").to_string();
    render(&EditPage {
        frame: Frame::staff(part_heading(part), &headers),
        pid,
        name: person_name(&v),
        heading: part_heading(part),
        action: format!("/tram/ho-so/{pid}/sua/{code}"),
        version: v.stored.version,
        exam_date: None,
        note: "",
        errors: Vec::new(),
        groups: form_groups(part, r.is_female(), &values, &HashMap::new()),
    })
}

/// A posted form: its fields by name (the last of a name wins), the version, the
/// items of the form.
fn posted(pairs: Vec<(String, String)>) -> (Option<i64>, HashMap<String, String>) {
    let mut map: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    let version = map.get("version").and_then(|v| v.trim().parse().ok());
    (version, map)
}

async fn edit_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, code)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let back = format!("/tram/ho-so/{pid}");
    let (u, _) = station!(app, headers, back);
    let Some(part) = part_of(&code) else {
        return failed(&headers, ServiceError::NotFound, "/tram");
    };
    let (Some(version), form) = posted(pairs) else {
        return failed(
            &headers,
            ServiceError::Invalid {
                code: "invalid_form",
                message: "Biểu mẫu thiếu phiên bản hồ sơ; hãy mở lại hồ sơ".into(),
            },
            &back,
        );
    };
    // The record as read now: who may, and which items the form showed (women-only
    // ones only for women).
    let v = match read_record(&app, &u, pid).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram"),
    };
    let female = v.stored.record.is_female();
    let shown: Vec<String> = form_items(part, female)
        .into_iter()
        .flat_map(|(_, items)| items.into_iter().map(|i| i.key.to_string()))
        .collect();
    // An unticked box sends nothing: every item of the form is set, cleared when empty.
    let items: BTreeMap<String, String> = shown
        .iter()
        .map(|k| (k.clone(), form.get(k).cloned().unwrap_or_default()))
        .collect();
    let saved = records::save(&app, u.actor(), pid, version, Edit::Items(items)).await;
    match saved {
        Ok(_) => redirect(&format!("{back}?luu=1")),
        Err(ServiceError::Problems(problems)) => {
            let (errors, by_key) = problem_links(&problems, &shown);
            let values = |k: &str| form.get(k).cloned().unwrap_or_default();
            let page = EditPage {
                frame: Frame::staff(part_heading(part), &headers),
                pid,
                name: person_name(&v),
                heading: part_heading(part),
                action: format!("/tram/ho-so/{pid}/sua/{code}"),
                version,
                exam_date: None,
                note: "",
                errors,
                groups: form_groups(part, female, &values, &by_key),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(e) => failed(&headers, e, &back),
    }
}

const EXAM_NOTE: &str =
    "BMI do hệ thống tính từ cân nặng và chiều cao. Huyết áp tâm thu phải lớn hơn tâm trương.";

async fn exam_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(pid): Path<i64>,
) -> Response {
    let (u, _) = station!(app, headers, uri);
    let back = format!("/tram/ho-so/{pid}");
    let v = match read_record(&app, &u, pid).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram"),
    };
    if v.stored.is_closed() {
        return failed(
            &headers,
            ServiceError::Conflict("Hồ sơ đã đóng (người đã mất): chỉ xem, không ghi thêm".into()),
            &back,
        );
    }
    let doctor = u.account.full_name.clone();
    let values = |k: &str| {
        if k == "doctor" {
            doctor.clone()
        } else {
            String::new()
        }
    };
    render(&EditPage {
        frame: Frame::staff("Thêm lần khám", &headers),
        pid,
        name: person_name(&v),
        heading: "Thêm lần khám sức khỏe (phần D)".into(),
        action: format!("/tram/ho-so/{pid}/kham"),
        version: v.stored.version,
        exam_date: Some((
            today().format("%Y-%m-%d").to_string(),
            today().format("%Y-%m-%d").to_string(),
            None,
        )),
        note: EXAM_NOTE,
        errors: Vec::new(),
        groups: form_groups(
            Part::D,
            v.stored.record.is_female(),
            &values,
            &HashMap::new(),
        ),
    })
}

async fn exam_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let back = format!("/tram/ho-so/{pid}");
    let (u, _) = station!(app, headers, back);
    let (Some(version), form) = posted(pairs) else {
        return failed(
            &headers,
            ServiceError::Invalid {
                code: "invalid_form",
                message: "Biểu mẫu thiếu phiên bản hồ sơ; hãy mở lại hồ sơ".into(),
            },
            &back,
        );
    };
    let v = match read_record(&app, &u, pid).await {
        Ok(v) => v,
        Err(e) => return failed(&headers, e, "/tram"),
    };
    let female = v.stored.record.is_female();
    let shown: Vec<String> = form_items(Part::D, female)
        .into_iter()
        .flat_map(|(_, items)| items.into_iter().map(|i| i.key.to_string()))
        .collect();
    let items: BTreeMap<String, String> = shown
        .iter()
        .filter_map(|k| {
            let v = form.get(k)?.trim();
            (!v.is_empty()).then(|| (k.clone(), v.to_string()))
        })
        .collect();
    let date = form.get("date").cloned().unwrap_or_default();
    let edit = Edit::Exam {
        date: date.clone(),
        items,
    };
    match records::save(&app, u.actor(), pid, version, edit).await {
        Ok(_) => redirect(&format!("{back}?luu=1")),
        Err(ServiceError::Problems(problems)) => {
            let (errors, by_key) = problem_links(&problems, &shown);
            let values = |k: &str| form.get(k).cloned().unwrap_or_default();
            let page = EditPage {
                frame: Frame::staff("Thêm lần khám", &headers),
                pid,
                name: person_name(&v),
                heading: "Thêm lần khám sức khỏe (phần D)".into(),
                action: format!("/tram/ho-so/{pid}/kham"),
                version,
                exam_date: Some((
                    date,
                    today().format("%Y-%m-%d").to_string(),
                    by_key.get("exam.date").cloned(),
                )),
                note: EXAM_NOTE,
                errors,
                groups: form_groups(Part::D, female, &values, &by_key),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(e) => failed(&headers, e, &back),
    }
}

#[derive(Deserialize)]
struct ProposalForm {
    version: i64,
    code: String,
    accept: String,
}

async fn proposal_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<ProposalForm>,
) -> Response {
    let back = format!("/tram/ho-so/{pid}");
    let (u, _) = station!(app, headers, back);
    let edit = Edit::Proposal {
        code: f.code.chars().take(10).collect(),
        accept: f.accept == "1",
    };
    match records::save(&app, u.actor(), pid, f.version, edit).await {
        Ok(_) => redirect(&format!("{back}?luu=1#de-xuat")),
        Err(e) => failed(&headers, e, &back),
    }
}

// ---------------------------------------------------------------------------
// Mismatches and reports
// ---------------------------------------------------------------------------

struct IssueView {
    id: i64,
    kind: &'static str,
    person: Option<(String, String)>,
    when: String,
    lines: Vec<String>,
    resolved: Option<String>,
}

#[derive(Template)]
#[template(path = "station/issues.html")]
struct IssuesPage {
    frame: Frame,
    notice: Option<Notice>,
    all: bool,
    issues: Vec<IssueView>,
}

#[derive(Deserialize)]
struct IssuesQuery {
    #[serde(default)]
    xem: String,
    #[serde(default)]
    xong: String,
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "registry_mismatch" => "Sai khác giữa sổ dân cư và hồ sơ bệnh viện",
        "citizen_report" => "Người dân báo thông tin sai",
        "demographics" => "Hồ sơ bệnh viện ghi khác họ tên / ngày sinh đã lưu",
        _ => "Việc cần đối chiếu",
    }
}

fn sex_value(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some("1") => "Nam".into(),
        Some("2") => "Nữ".into(),
        Some(s) => s.to_string(),
        None => String::new(),
    }
}

/// What a data-quality record says, line by line.
fn issue_lines(detail: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(fields) = detail.get("fields").and_then(|f| f.as_array()) {
        for f in fields {
            let label = f.get("label").and_then(|l| l.as_str()).unwrap_or("");
            let show = |v: &serde_json::Value| match f.get("field").and_then(|x| x.as_str()) {
                Some("sex") => sex_value(v),
                Some("birth") => v.as_str().map(ehr::day_text).unwrap_or_default(),
                _ => v.as_str().unwrap_or("").to_string(),
            };
            out.push(format!(
                "{label}: sổ dân cư ghi “{}”, hồ sơ bệnh viện ghi “{}”",
                show(&f["registry"]),
                show(&f["dossier"])
            ));
        }
    }
    // A dossier's conflict with the person as stored (book::identity::Conflict).
    if detail.get("kind").and_then(|k| k.as_str()) == Some("demographics") {
        let what = match detail.get("field").and_then(|f| f.as_str()) {
            Some("HO_TEN") => "Họ và tên",
            Some("NGAY_SINH") => "Ngày sinh",
            _ => "Thông tin",
        };
        let v = |k: &str| {
            detail
                .get(k)
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string()
        };
        out.push(format!(
            "{what}: đã lưu “{}”, hồ sơ bệnh viện gửi “{}”",
            v("stored"),
            v("claimed")
        ));
    }
    if let Some(t) = detail.get("text").and_then(|t| t.as_str()) {
        out.push(format!("Nội dung: {t}"));
    }
    if out.is_empty() && !detail.is_null() {
        let t = detail.to_string();
        out.push(t.chars().take(300).collect());
    }
    out
}

async fn issues_view(
    app: &Arc<App>,
    headers: &HeaderMap,
    commune: String,
    all: bool,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let list = match records::station_issues(app, commune, !all).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let issues = list
        .into_iter()
        .map(|(i, name)| IssueView {
            id: i.id,
            kind: kind_label(&i.kind),
            person: i.person_id.map(|p| {
                (
                    format!("/tram/ho-so/{p}"),
                    name.unwrap_or_else(|| format!("Người số {p}")),
                )
            }),
            when: instant(i.created_at),
            lines: issue_lines(&i.detail),
            resolved: (i.status != "open").then(|| {
                let note = i
                    .detail
                    .get("resolution")
                    .and_then(|n| n.as_str())
                    .unwrap_or("");
                format!(
                    "Đã xử lý{}{}: {note}",
                    i.resolved_by
                        .as_deref()
                        .map(|b| format!(" bởi {b}"))
                        .unwrap_or_default(),
                    i.resolved_at
                        .map(|t| format!(" lúc {}", instant(t)))
                        .unwrap_or_default()
                )
            }),
        })
        .collect();
    let page = IssuesPage {
        frame: Frame::staff("Đối chiếu, báo lỗi", headers),
        notice,
        all,
        issues,
    };
    (status, render(&page)).into_response()
}

async fn issues_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<IssuesQuery>,
) -> Response {
    let (_u, commune) = station!(app, headers, uri);
    let notice = (!q.xong.is_empty()).then(|| Notice {
        ok: true,
        text: "Đã ghi nhận cách xử lý.".into(),
    });
    issues_view(
        &app,
        &headers,
        commune,
        q.xem == "tat-ca",
        notice,
        StatusCode::OK,
    )
    .await
}

async fn resolve_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<records::ResolveBody>,
) -> Response {
    let (u, commune) = station!(app, headers, "/tram/doi-chieu");
    match records::resolve_issue(&app, &u, id, &f.note).await {
        Ok(()) => redirect("/tram/doi-chieu?xong=1"),
        Err(ApiError(status, _, message)) => {
            let notice = Some(Notice {
                ok: false,
                text: message,
            });
            issues_view(&app, &headers, commune, false, notice, status).await
        }
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

struct RefusedLine {
    line: u64,
    personal_id: String,
    reasons: Vec<String>,
}

struct ImportOutcome {
    summary: String,
    refused: Vec<RefusedLine>,
}

#[derive(Template)]
#[template(path = "station/import.html")]
struct ImportPage {
    frame: Frame,
    /// The form posts with the CSRF token in its address (a file goes as
    /// multipart/form-data, which the guard does not read).
    action: String,
    error: Option<String>,
    outcome: Option<ImportOutcome>,
    columns: String,
}

fn import_action(headers: &HeaderMap) -> String {
    match crate::security::session_cookie(headers, STAFF_COOKIE) {
        Some(s) => format!(
            "/tram/nhap?{}",
            serde_urlencoded::to_string([(
                crate::security::CSRF_FIELD,
                crate::security::csrf_token(&s)
            )])
            .unwrap_or_default()
        ),
        None => "/tram/nhap".into(),
    }
}

fn import_view(
    headers: &HeaderMap,
    error: Option<String>,
    outcome: Option<ImportOutcome>,
) -> ImportPage {
    ImportPage {
        frame: Frame::staff("Nhập hồ sơ từ tệp", headers),
        action: import_action(headers),
        error,
        outcome,
        columns: "personal_id, a.blood_abo, a.blood_rh, b.risk.smoking, b.allergy.none, …, \
                  exam.date, exam.weight, exam.height, exam.bp_sys, exam.bp_dia, exam.diagnosis, exam.doctor"
            .into(),
    }
}

async fn import_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let _ = station!(app, headers, uri);
    render(&import_view(&headers, None, None))
}

/// The fields of the import form (a file, or pasted text, and the format).
#[derive(Default)]
struct ImportForm {
    file: Option<(Bytes, String)>,
    text: Option<Bytes>,
    format: String,
}

/// Read the form's fields (multipart/form-data, axum's `Multipart`); `None` when the
/// body is not a readable form.
async fn import_form(form: Result<Multipart, MultipartRejection>) -> Option<ImportForm> {
    let mut form = form.ok()?;
    let mut out = ImportForm::default();
    for _ in 0..20 {
        let Some(field) = form.next_field().await.ok()? else {
            return Some(out);
        };
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().unwrap_or_default().to_string();
        let data = field.bytes().await.ok()?;
        match name.as_str() {
            "file" if !data.is_empty() => out.file = Some((data, filename)),
            "text" if !data.iter().all(u8::is_ascii_whitespace) => out.text = Some(data),
            "format" => out.format = String::from_utf8_lossy(&data).trim().to_string(),
            _ => {}
        }
    }
    None
}

async fn import_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let (u, _) = station!(app, headers, "/tram/nhap");
    let again = |status: StatusCode, message: String| {
        (status, render(&import_view(&headers, Some(message), None))).into_response()
    };
    let Some(form) = import_form(form).await else {
        return again(
            StatusCode::BAD_REQUEST,
            "Không đọc được biểu mẫu; hãy chọn lại tệp và gửi lại.".into(),
        );
    };
    let (bytes, filename) = match (form.file, form.text) {
        (Some((f, name)), _) => (f, name),
        (None, Some(t)) => (t, String::new()),
        (None, None) => {
            return again(
                StatusCode::BAD_REQUEST,
                "Chưa chọn tệp (hoặc dán nội dung) để nhập.".into(),
            );
        }
    };
    let chosen = form.format;
    let lower = filename.to_ascii_lowercase();
    let format = match chosen.as_str() {
        "csv" => registry::records::Format::Csv,
        "jsonl" => registry::records::Format::Jsonl,
        _ if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") => {
            registry::records::Format::Jsonl
        }
        _ if lower.ends_with(".csv") => registry::records::Format::Csv,
        _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => {
            registry::records::Format::Jsonl
        }
        _ => registry::records::Format::Csv,
    };
    match records::import_file(&app, &u, bytes, format).await {
        Ok(report) => {
            let outcome = ImportOutcome {
                summary: format!(
                    "{} dòng: {} hồ sơ được cập nhật, {} không có gì mới, {} dòng bị từ chối.",
                    report.rows,
                    report.applied,
                    report.unchanged,
                    report.refused.len()
                ),
                refused: report
                    .refused
                    .into_iter()
                    .take(1000)
                    .map(|r| RefusedLine {
                        line: r.line,
                        personal_id: r.personal_id,
                        reasons: r.problems.into_iter().map(|p| p.message).collect(),
                    })
                    .collect(),
            };
            render(&import_view(&headers, None, Some(outcome)))
        }
        Err(res) => {
            // The file as a whole refused: say why on the form.
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| "Không nhập được tệp".into());
            again(status, format!("{message}. Chưa nhập dòng nào."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_follow_the_kind_of_each_item() {
        let f = field(ehr::item("a.blood_abo").unwrap(), "AB", None, false);
        assert_eq!(f.control, "select");
        assert!(f.options.iter().any(|o| o.value == "AB" && o.selected));
        let f = field(ehr::item("b.allergy.none").unwrap(), "1", None, false);
        assert!(f.control == "checkbox" && f.checked);
        let f = field(ehr::exam_item("weight").unwrap(), "", None, true);
        assert_eq!((f.control, f.step), ("number", "0.1"));
        assert_eq!(
            field(ehr::item("c.bcg.date").unwrap(), "", None, false).control,
            "date"
        );
        // Women-only items only for women; no BMI field (the server computes it).
        let keys = |part, female| -> Vec<&str> {
            form_items(part, female)
                .into_iter()
                .flat_map(|(_, i)| i.into_iter().map(|i| i.key))
                .collect()
        };
        assert!(!keys(Part::B, false).contains(&"b.repro.births"));
        assert!(keys(Part::B, true).contains(&"b.repro.births"));
        assert!(!keys(Part::D, true).contains(&"bmi"));
        assert!(keys(Part::D, true).contains(&"weight"));
    }
}
