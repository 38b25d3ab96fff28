//! Vaccination pages (issue 18): at the station (`/tram/tiem-chung`) the printable
//! session list (children and women due at the next session, and those overdue), a
//! resident's vaccination book with the form to record a dose, and the import of the
//! national immunisation system's export; for the citizen (`/so/{pid}/tiem-chung`)
//! their own vaccination book and their children's, with what is due. Every rule is the
//! service layer's (`service::vaccination`), through the same calls as the JSON API.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use book::immunization::{self as imm, DoseDetails, DoseStatus, Status};
use chrono::NaiveDate;
use serde::Deserialize;
use service::vaccination::{DoseEntry, SessionList, SessionRow};
use service::{ServiceError, VaccinationBook};
use store::DoseImportReport;

use super::staff::error_page;
use super::{ErrorPage, Frame, redirect, render};
use crate::App;
use crate::http::{ApiError, token_from};
use crate::records::{run, station_of};
use crate::staff::{STAFF_COOKIE, StaffUser};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tram/tiem-chung", get(session_page))
        .route(
            "/tram/tiem-chung/nhap",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(crate::vaccinations::MAX_IMPORT_BYTES)),
        )
        .route("/tram/tiem-chung/{pid}", get(person_page).post(dose_submit))
        .route("/so/{pid}/tiem-chung", get(citizen_page))
}

fn day(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn url_encoded(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|q| q[2..].to_string())
        .unwrap_or_default()
}

/// The signed-in commune staff, or the sign-in page (which comes back here).
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
    let commune = station_of(&u).map_err(|e| error_page(headers, e))?;
    Ok((u, commune))
}

macro_rules! station {
    ($app:expr, $headers:expr, $back:expr) => {
        match station_user(&$app, &$headers, &$back).await {
            Ok(x) => x,
            Err(r) => return r,
        }
    };
}

// ---------------------------------------------------------------------------
// The book (shared by the station's and the citizen's pages)
// ---------------------------------------------------------------------------

struct OpenItem {
    label: &'static str,
    from: String,
    overdue: bool,
}

struct DoseRow {
    date: String,
    vaccine: String,
    note: String,
    status: &'static str,
    voided: bool,
    duplicate: bool,
    /// "Không hợp lệ: tiêm quá sớm" with the item and the first valid day; empty when
    /// the dose counts.
    invalid: String,
}

/// What `vaccination_book.html` shows.
struct BookView {
    name: String,
    birth: String,
    rule_set: String,
    full: Option<String>,
    open: Vec<OpenItem>,
    upcoming: Vec<OpenItem>,
    doses: Vec<DoseRow>,
    part_c: Vec<(String, String)>,
}

fn vaccine_name(code: &str) -> String {
    imm::vaccine(code).map_or_else(|| code.to_string(), |v| v.name.to_string())
}

fn book_view(b: &VaccinationBook) -> BookView {
    let f = b.forecast.as_ref();
    let dups: Vec<i64> = f
        .map(|f| f.duplicates.iter().map(|(a, _)| *a).collect())
        .unwrap_or_default();
    let item = |i: &imm::ItemForecast| OpenItem {
        label: i.label,
        from: i.due_from.map(day).unwrap_or_default(),
        overdue: i.status == Status::Overdue,
    };
    BookView {
        name: b.person.name.clone().unwrap_or_default(),
        birth: b
            .subject
            .map(|s| format!("Sinh ngày {}", day(s.birth)))
            .unwrap_or_else(|| "Chưa rõ ngày sinh: chưa tính được lịch tiêm".into()),
        rule_set: f
            .and_then(|f| imm::rule_set(f.rule_set))
            .map(|s| format!("{} ({})", s.title, s.reference))
            .unwrap_or_default(),
        full: match (f, b.subject) {
            (Some(f), Some(s)) if s.birth + chrono::Months::new(12) <= store::vn_now().date() => {
                Some(if f.full_at_12m.complete {
                    "Đạt".to_string()
                } else {
                    format!(
                        "Chưa đạt (thiếu {})",
                        f.full_at_12m
                            .missing
                            .iter()
                            .map(|(s, got, need)| format!("{s} {got}/{need}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }
            _ => None,
        },
        open: f.map(|f| f.open().map(item).collect()).unwrap_or_default(),
        upcoming: f
            .map(|f| {
                f.items
                    .iter()
                    .filter(|i| i.status == Status::Upcoming)
                    .take(6)
                    .map(item)
                    .collect()
            })
            .unwrap_or_default(),
        doses: b
            .doses
            .iter()
            .rev()
            .map(|d| DoseRow {
                date: day(d.date),
                vaccine: vaccine_name(&d.vaccine),
                note: [
                    d.details.reason.clone(),
                    d.details.lot.as_ref().map(|l| format!("Lô {l}")),
                    d.details
                        .reaction
                        .as_ref()
                        .map(|r| format!("Phản ứng: {r}")),
                    d.details.facility_name.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
                status: d.status.label(),
                voided: d.voided_at.is_some(),
                duplicate: dups.contains(&d.id),
                invalid: f
                    .and_then(|f| f.invalid.iter().find(|i| i.dose_id == d.id))
                    .map(|i| {
                        format!(
                            "{} ({}: chỉ tính từ {})",
                            i.reason.label(),
                            i.label,
                            day(i.valid_from)
                        )
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        part_c: b
            .part_c
            .iter()
            .map(|(k, v)| (book::ehr::label_of(k), book::ehr::day_text(v)))
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// The session list
// ---------------------------------------------------------------------------

struct Group {
    id: &'static str,
    label: &'static str,
    rows: Vec<Row>,
}

struct Row {
    pid: i64,
    name: String,
    birth: String,
    personal_id: String,
    age: String,
    /// (label, from, overdue)
    items: Vec<(&'static str, String, bool)>,
}

#[derive(Template)]
#[template(path = "station/vaccination_session.html")]
struct SessionPage {
    frame: Frame,
    station: String,
    session: String,
    session_iso: String,
    today: String,
    residents: usize,
    groups: Vec<Group>,
}

fn rows(list: &[SessionRow], today: NaiveDate) -> Vec<Row> {
    list.iter()
        .map(|r| Row {
            pid: r.person_id,
            name: r.name.clone().unwrap_or_else(|| "(chưa rõ tên)".into()),
            birth: format!(
                "Sinh {}{}",
                day(r.birth),
                if r.female { ", nữ" } else { "" }
            ),
            personal_id: r.personal_id.clone().unwrap_or_default(),
            age: r.age.clone(),
            items: r
                .items
                .iter()
                .map(|i| {
                    let overdue = i.overdue_after.is_some_and(|o| today > o);
                    let from = if overdue {
                        i.overdue_after.map(day)
                    } else {
                        i.due_from.map(day)
                    };
                    (i.label, from.unwrap_or_default(), overdue)
                })
                .collect(),
        })
        .collect()
}

#[derive(Deserialize)]
struct SessionQuery {
    ngay: Option<String>,
}

async fn session_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<SessionQuery>,
) -> Response {
    let (u, commune) = station!(app, headers, "/tram/tiem-chung");
    let session = match crate::vaccinations::session_day(q.ngay.as_deref()) {
        Ok(d) => d,
        Err(e) => return error_page(&headers, e),
    };
    let actor = u.actor();
    let list: SessionList = match run(&app, move |s| s.session_list(&actor, session)).await {
        Ok(l) => l,
        Err(e) => return error_page(&headers, ApiError::from(e)),
    };
    render(&SessionPage {
        frame: Frame::staff("Danh sách buổi tiêm chủng", &headers),
        station: format!("Trạm y tế xã, phường mã {commune}"),
        session: day(list.session),
        session_iso: list.session.format("%Y-%m-%d").to_string(),
        today: day(list.today),
        residents: list.residents,
        groups: vec![
            Group {
                id: "qua-han",
                label: "Quá hạn",
                rows: rows(&list.overdue, list.today),
            },
            Group {
                id: "den-han",
                label: "Đến hạn trong buổi tiêm",
                rows: rows(&list.due, list.today),
            },
        ],
    })
}

// ---------------------------------------------------------------------------
// A resident at the station: the book and the form
// ---------------------------------------------------------------------------

#[derive(Default, Deserialize)]
struct DoseForm {
    #[serde(default)]
    vaccine: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    lot: String,
    #[serde(default)]
    reaction: String,
    #[serde(default)]
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "station/vaccination_person.html")]
struct PersonPage {
    frame: Frame,
    pid: i64,
    name: String,
    birth: String,
    rule_set: String,
    full: Option<String>,
    open: Vec<OpenItem>,
    upcoming: Vec<OpenItem>,
    doses: Vec<DoseRow>,
    part_c: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    confirm: bool,
    vaccines: Vec<(&'static str, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    form: DoseForm,
    today_iso: String,
}

fn person_page_of(
    headers: &HeaderMap,
    pid: i64,
    b: &VaccinationBook,
    form: DoseForm,
    notice: Option<String>,
    error: Option<String>,
    confirm: bool,
) -> PersonPage {
    let v = book_view(b);
    let mut vaccines: Vec<(&'static str, String)> = imm::vaccines()
        .iter()
        .map(|v| (v.code, v.name.to_string()))
        .collect();
    // The next due dose's vaccine first.
    if let Some(next) = b.forecast.as_ref().and_then(|f| f.next())
        && let Some(k) = vaccines.iter().position(|(c, _)| next.vaccines.contains(c))
    {
        let first = vaccines.remove(k);
        vaccines.insert(0, first);
    }
    PersonPage {
        frame: Frame::staff(format!("Tiêm chủng: {}", v.name), headers),
        pid,
        name: v.name,
        birth: v.birth,
        rule_set: v.rule_set,
        full: v.full,
        open: v.open,
        upcoming: v.upcoming,
        doses: v.doses,
        part_c: v.part_c,
        notice,
        error,
        confirm,
        vaccines,
        statuses: DoseStatus::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        form: DoseForm {
            date: if form.date.is_empty() {
                store::vn_now().date().format("%Y-%m-%d").to_string()
            } else {
                form.date
            },
            ..form
        },
        today_iso: store::vn_now().date().format("%Y-%m-%d").to_string(),
    }
}

#[derive(Deserialize)]
struct PersonQuery {
    luu: Option<String>,
}

async fn person_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(q): Query<PersonQuery>,
) -> Response {
    let back = format!("/tram/tiem-chung/{pid}");
    let (u, _) = station!(app, headers, back);
    let actor = u.actor();
    match run(&app, move |s| s.vaccinations(&actor, pid)).await {
        Ok(b) => render(&person_page_of(
            &headers,
            pid,
            &b,
            DoseForm::default(),
            q.luu.map(|_| "Đã lưu mũi tiêm.".to_string()),
            None,
            false,
        )),
        Err(e) => error_page(&headers, ApiError::from(e)),
    }
}

async fn dose_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<DoseForm>,
) -> Response {
    let back = format!("/tram/tiem-chung/{pid}");
    let (u, _) = station!(app, headers, back);
    let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let entry = DoseEntry {
        vaccine: f.vaccine.clone(),
        date: f.date.clone(),
        status: nonempty(&f.status),
        details: DoseDetails {
            reason: nonempty(&f.reason),
            lot: nonempty(&f.lot),
            reaction: nonempty(&f.reaction),
            primary_source: Some(true),
            ..DoseDetails::default()
        },
        confirm_duplicate: f.confirm.is_some(),
        ..DoseEntry::default()
    };
    let actor = u.actor();
    let saved = run(&app, move |s| s.record_dose(&actor, pid, &entry)).await;
    let (status, message, confirm) = match saved {
        Ok(_) => return redirect(&format!("{back}?luu=1")),
        Err(ServiceError::Conflict(m)) => (StatusCode::CONFLICT, m, true),
        Err(e @ ServiceError::Invalid { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, e.message(), false)
        }
        Err(e) => return error_page(&headers, ApiError::from(e)),
    };
    let actor = u.actor();
    match run(&app, move |s| s.vaccinations(&actor, pid)).await {
        Ok(b) => (
            status,
            render(&person_page_of(
                &headers,
                pid,
                &b,
                f,
                None,
                Some(format!("Chưa lưu: {message}")),
                confirm,
            )),
        )
            .into_response(),
        Err(e) => error_page(&headers, ApiError::from(e)),
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "station/vaccination_import.html")]
struct ImportPage {
    frame: Frame,
    error: Option<String>,
    report: Option<DoseImportReport>,
}

async fn import_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let _ = station!(app, headers, "/tram/tiem-chung/nhap");
    render(&ImportPage {
        frame: Frame::staff("Nhập dữ liệu tiêm chủng", &headers),
        error: None,
        report: None,
    })
}

async fn import_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let (u, _) = station!(app, headers, "/tram/tiem-chung/nhap");
    let again = |status: StatusCode, error: String| {
        (
            status,
            render(&ImportPage {
                frame: Frame::staff("Nhập dữ liệu tiêm chủng", &headers),
                error: Some(error),
                report: None,
            }),
        )
            .into_response()
    };
    let mut file = None;
    if let Ok(mut form) = form {
        for _ in 0..10 {
            let Ok(Some(field)) = form.next_field().await else {
                break;
            };
            let name = field.name().unwrap_or_default().to_string();
            let filename = field.file_name().unwrap_or_default().to_string();
            let Ok(data) = field.bytes().await else { break };
            if name == "file" && !data.is_empty() {
                file = Some((filename, data));
            }
        }
    }
    let Some((filename, bytes)) = file else {
        return again(StatusCode::BAD_REQUEST, "Chưa chọn tệp để nhập.".into());
    };
    let kind = if filename.to_ascii_lowercase().ends_with(".csv") {
        "text/csv"
    } else {
        "application/x-ndjson"
    };
    match crate::vaccinations::import_file(&app, u.actor(), kind, bytes).await {
        Ok(mut r) => {
            r.refused.truncate(1000);
            render(&ImportPage {
                frame: Frame::staff("Nhập dữ liệu tiêm chủng", &headers),
                error: None,
                report: Some(r),
            })
        }
        Err(ApiError(status, _, m)) => again(status, format!("{m}. Chưa nhập dòng nào.")),
    }
}

// ---------------------------------------------------------------------------
// The citizen's vaccination book
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "citizen/vaccinations.html")]
struct CitizenPage {
    frame: Frame,
    pid: i64,
    /// (person, name, current)
    books: Vec<(i64, String, bool)>,
    name: String,
    birth: String,
    rule_set: String,
    full: Option<String>,
    open: Vec<OpenItem>,
    upcoming: Vec<OpenItem>,
    doses: Vec<DoseRow>,
    part_c: Vec<(String, String)>,
}

async fn citizen_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let Some(token) = crate::http::token_of(&headers) else {
        return redirect("/dang-nhap");
    };
    let store = app.store.clone();
    let me =
        match tokio::task::spawn_blocking(move || store.session_person(&token, store::now_ms()))
            .await
        {
            Ok(Ok(Some(me))) => me,
            Ok(Ok(None)) => return redirect("/dang-nhap"),
            _ => return ErrorPage::citizen(&headers, crate::http::internal("session")),
        };
    let actor = service::Actor::Person { id: me };
    let book = {
        let actor = actor.clone();
        run(&app, move |s| s.vaccinations(&actor, pid)).await
    };
    let b = match book {
        Ok(b) => b,
        Err(e) => return ErrorPage::citizen(&headers, ApiError::from(e)),
    };
    // The person's own book and their wards', to switch between.
    let store = app.store.clone();
    let names = tokio::task::spawn_blocking(move || {
        let mut ids = vec![me];
        store.transaction(false, &mut |tx| {
            ids.extend(tx.ward_ids(me)?);
            Ok(())
        })?;
        let persons = store.persons(&ids)?;
        Ok::<_, store::StoreError>(
            ids.iter()
                .map(|id| {
                    (
                        *id,
                        persons
                            .get(id)
                            .and_then(|p| p.name.clone())
                            .unwrap_or_else(|| "(chưa rõ tên)".into()),
                    )
                })
                .collect::<Vec<_>>(),
        )
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    let v = book_view(&b);
    render(&CitizenPage {
        frame: Frame::citizen("Sổ tiêm chủng", &headers),
        pid,
        books: names
            .into_iter()
            .map(|(id, n)| (id, n, id == pid))
            .collect(),
        name: v.name,
        birth: v.birth,
        rule_set: v.rule_set,
        full: v.full,
        open: v.open,
        upcoming: v.upcoming,
        doses: v.doses,
        part_c: v.part_c,
    })
}
