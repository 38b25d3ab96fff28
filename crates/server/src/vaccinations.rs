//! Vaccinations over JSON (issue 18): a person's vaccination book (the person or their
//! guardian, the station of their commune, a clinician under a grant), a dose entered
//! or voided by the station, the station's session list, an import of the national
//! immunisation system's export, and the catalogue. Every rule is the service layer's
//! (`service::vaccination`); this module only speaks HTTP.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use service::ServiceError;
use service::vaccination::{DoseEntry, ImportBy};
use store::DoseImportReport;

use crate::App;
use crate::http::ApiError;
use crate::records::{Reader, run, station_of};
use crate::staff::StaffUser;

/// The largest import file (CSV or JSON lines).
pub const MAX_IMPORT_BYTES: usize = 200 * 1024 * 1024;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/vaccines", get(catalogue))
        .route("/api/v1/vaccinations/{pid}", get(book))
        .route("/api/v1/vaccinations/{pid}/doses", post(add))
        .route("/api/v1/vaccinations/{pid}/doses/{id}/void", post(void))
        .route("/api/v1/station/vaccinations/session", get(session))
        .route(
            "/api/v1/station/vaccinations/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
}

fn answer<T: serde::Serialize>(r: Result<T, ServiceError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The catalogue: vaccines, antigens and the rule sets (with their items).
async fn catalogue() -> Response {
    Json(serde_json::json!({
        "vaccines": book::immunization::vaccines(),
        "antigens": book::immunization::antigens(),
        "rule_sets": book::immunization::rule_sets(),
    }))
    .into_response()
}

async fn book(State(app): State<Arc<App>>, who: Reader, Path(pid): Path<i64>) -> Response {
    let actor = who.actor();
    answer(run(&app, move |s| s.vaccinations(&actor, pid)).await)
}

async fn add(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Path(pid): Path<i64>,
    Json(entry): Json<DoseEntry>,
) -> Response {
    let actor = u.actor();
    match run(&app, move |s| s.record_dose(&actor, pid, &entry)).await {
        Ok(d) => (StatusCode::CREATED, Json(d)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn void(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let actor = u.actor();
    match run(&app, move |s| s.void_dose(&actor, pid, id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct SessionQuery {
    /// `yyyy-mm-dd`; default the next session (the 15th of the month).
    date: Option<String>,
}

/// The day a session list is for: the one asked, else the next session day.
pub(crate) fn session_day(asked: Option<&str>) -> Result<NaiveDate, ApiError> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => service::vaccination::parse_day(s).ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "invalid_date",
                "date: ngày dạng yyyy-mm-dd".into(),
            )
        }),
        None => Ok(book::immunization::next_session(store::vn_now().date(), 15)),
    }
}

async fn session(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Query(q): Query<SessionQuery>,
) -> Response {
    if let Err(e) = station_of(&u) {
        return e.into_response();
    }
    let day = match session_day(q.date.as_deref()) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let actor = u.actor();
    answer(run(&app, move |s| s.session_list(&actor, day)).await)
}

/// Read an import file and import it as `actor`: lines refused by the reader and by the
/// service together, by line.
pub(crate) async fn import_file(
    app: &Arc<App>,
    actor: service::Actor,
    name_or_type: &str,
    bytes: Bytes,
) -> Result<DoseImportReport, ApiError> {
    let format = registry::immunizations::Format::guess(name_or_type).ok_or_else(|| {
        ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_format",
            "Tệp CSV (text/csv) hoặc JSON lines (application/x-ndjson)".into(),
        )
    })?;
    let parsed =
        tokio::task::spawn_blocking(move || registry::immunizations::parse(&bytes, format))
            .await
            .map_err(|e| crate::http::internal(e.to_string()))?
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, "invalid_file", e.to_string()))?;
    let rows = parsed.rows;
    let mut report = run(app, move |s| s.import_doses(ImportBy::Actor(&actor), &rows))
        .await
        .map_err(ApiError::from)?;
    report.lines = parsed.lines;
    report.refused.extend(parsed.refused);
    report.refused.sort_by_key(|r| r.line);
    Ok(report)
}

async fn import(
    State(app): State<Arc<App>>,
    u: StaffUser,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match import_file(&app, u.actor(), &kind, body).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The operator's import on the server's host (`healthbook vaccinations import FILE`):
/// the file read as the station's import is, every person of the store in scope, each
/// changed person's audit chain recording `vaccination.import` by `cli:<operator>`.
/// Synchronous (the command line has no runtime of its own here).
pub fn import_as_operator(
    store: Arc<dyn store::Store>,
    operator: &str,
    name: &str,
    bytes: &[u8],
) -> Result<DoseImportReport, String> {
    let format = registry::immunizations::Format::guess(name)
        .ok_or_else(|| format!("{name}: the file must end in .csv or .jsonl"))?;
    let parsed = registry::immunizations::parse(bytes, format).map_err(|e| e.to_string())?;
    let svc = service::Service::new(store);
    let mut report = svc
        .import_doses(ImportBy::Operator(operator), &parsed.rows)
        .map_err(|e| e.to_string())?;
    report.lines = parsed.lines;
    report.refused.extend(parsed.refused);
    report.refused.sort_by_key(|r| r.line);
    Ok(report)
}
