//! The citizen's API: sign-in with personal ID and passcode, and the health book
//! (own and wards') as JSON. Every read goes through [`Viewer::book`], which lets a
//! person open only their own book and those they are guardian of.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use book::text::fold;
use serde::{Deserialize, Serialize};
use store::{EpisodeRecord, Login, now_ms};

use crate::App;
use crate::http::wire;
pub(crate) use crate::http::{
    ApiError, blocking, internal, not_found, serve, token_from, token_of,
};

pub const COOKIE_NAME: &str = "hb_session";
/// A session lasts a working day.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/citizen/activate", post(activate))
        .route("/api/v1/citizen/login", post(login))
        .route("/api/v1/citizen/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/persons/{pid}/years", get(years))
        .route("/api/v1/persons/{pid}/episodes", get(episodes))
        .route("/api/v1/persons/{pid}/episodes/{id}", get(episode))
        .route("/api/v1/persons/{pid}/episodes/{id}/pdf", get(episode_pdf))
        .route("/api/v1/persons/{pid}/appointments", get(appointments))
        .route("/api/v1/persons/{pid}/search", get(search))
        .route("/api/v1/persons/{pid}/changes", get(changes))
        .route(
            "/api/v1/persons/{pid}/shares",
            get(list_shares).post(create_share),
        )
        .route(
            "/api/v1/persons/{pid}/shares/{id}",
            axum::routing::delete(revoke_share),
        )
        .route("/api/v1/persons/{pid}/access-log", get(access_log))
        .route("/api/v1/persons/{pid}/record", get(record))
        .route("/api/v1/persons/{pid}/record/errors", post(record_error))
        .route("/api/v1/openapi.json", get(openapi))
}

/// The signed-in person.
pub struct Viewer {
    pub person: i64,
    app: Arc<App>,
}

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Vui lòng đăng nhập".into(),
            )
        };
        let token = token_of(&parts.headers).ok_or_else(unauthorized)?;
        let store = app.store.clone();
        let person = blocking(move || store.session_person(&token, now_ms()))
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Viewer {
            person,
            app: app.clone(),
        })
    }
}

impl Viewer {
    pub(crate) fn new(person: i64, app: Arc<App>) -> Viewer {
        Viewer { person, app }
    }

    /// The viewer as the service layer knows them.
    pub(crate) fn actor(&self) -> service::Actor {
        service::Actor::Person { id: self.person }
    }

    /// The current episodes of `pid`'s book, when the viewer may open it; a guardian's
    /// read is recorded in the ward's chain as `action`, in the same transaction.
    pub(crate) async fn book(
        &self,
        pid: i64,
        action: &'static str,
    ) -> Result<Vec<EpisodeRecord>, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.episodes(&who, pid, action)).await
    }

    /// The current episodes of `pid`'s book admitted in `year` (only that year's rows
    /// are read), as [`Self::book`] records it.
    pub(crate) async fn book_year(
        &self,
        pid: i64,
        action: &'static str,
        year: i32,
    ) -> Result<Vec<EpisodeRecord>, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.year(&who, pid, year, action)).await
    }

    /// The years of `pid`'s book with their number of episodes, newest first (no
    /// episode body is read), as [`Self::book`] records it.
    pub(crate) async fn book_years(
        &self,
        pid: i64,
        action: &'static str,
    ) -> Result<Vec<(i32, usize)>, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.years(&who, pid, action)).await
    }

    /// The episodes made visible after `since`: a poll, recorded for a guardian only
    /// when it brings something.
    pub(crate) async fn changes(
        &self,
        pid: i64,
        since: i64,
    ) -> Result<Vec<EpisodeRecord>, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.changes(&who, pid, since)).await
    }

    /// One current episode of `pid`'s book, when the viewer may open it (a guardian's
    /// read is recorded as `action` on that episode).
    pub(crate) async fn episode(
        &self,
        pid: i64,
        id: i64,
        action: &'static str,
    ) -> Result<EpisodeRecord, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.episode(&who, pid, id, action))
            .await
            .map(|o| o.data)
    }
}

#[derive(Deserialize)]
struct ActivateBody {
    personal_id: String,
    code: String,
    passcode: String,
}

async fn activate(
    State(app): State<Arc<App>>,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Json(b): Json<ActivateBody>,
) -> Response {
    match activate_account(&app, ip, &b.personal_id, &b.code, &b.passcode).await {
        Ok(()) => Json(serde_json::json!({"activated": true})).into_response(),
        Err((_, Some(wait))) => throttled(wait),
        Err((e, None)) => e.into_response(),
    }
}

/// Activate an account, or set a new passcode with a reset code (the store tells which
/// the code is for). Codes are short: attempts are bounded per client address and per
/// person here, and per code in the store. A throttled attempt's error comes with its
/// wait (ms).
pub(crate) async fn activate_account(
    app: &Arc<App>,
    ip: std::net::IpAddr,
    personal_id: &str,
    code: &str,
    passcode: &str,
) -> Result<(), (ApiError, Option<i64>)> {
    let keys = crate::guard::keys("activation", personal_id.trim(), ip);
    let attempt = match app.throttle.begin(&keys, now_ms()) {
        Ok(a) => a,
        Err(wait) => return Err((throttle_error(wait), Some(wait))),
    };
    let Some(permit) = crate::guard::enter(&app.checks.citizen).await else {
        attempt.void();
        return Err((busy(), None));
    };
    let store = app.store.clone();
    let (personal_id, code, passcode) = (
        personal_id.trim().to_string(),
        code.to_string(),
        passcode.to_string(),
    );
    let outcome = match tokio::task::spawn_blocking(move || {
        let _permit = permit;
        store.activate_citizen(&personal_id, &code, &passcode)
    })
    .await
    {
        Ok(Ok(_)) => {
            attempt.succeeded();
            Ok(())
        }
        Ok(Err(store::StoreError::Invalid(m))) => {
            drop(attempt);
            Err(ApiError(StatusCode::BAD_REQUEST, "activation", m))
        }
        Ok(Err(e)) => {
            attempt.void();
            Err(internal(e))
        }
        Err(e) => {
            attempt.void();
            Err(internal(e))
        }
    };
    outcome.map_err(|e| (e, None))
}

/// The answer to a throttled attempt, with its wait in the message.
fn throttle_error(wait_ms: i64) -> ApiError {
    ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!(
            "Nhập sai nhiều lần; vui lòng thử lại sau {}",
            crate::guard::wait_text(wait_ms)
        ),
    )
}

/// Too many wrong attempts: wait (the same answer whether or not the account exists).
pub(crate) fn throttled(wait_ms: i64) -> Response {
    let res = throttle_error(wait_ms).into_response();
    crate::with_retry_after(res, wait_ms)
}

pub(crate) fn busy() -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "Hệ thống đang bận, vui lòng thử lại".into(),
    )
}

/// Check a citizen's passcode, throttled per client address and personal ID. `Ok(None)`
/// is a wrong personal ID or passcode (the same answer either way).
pub(crate) async fn check_passcode(
    app: &Arc<App>,
    ip: std::net::IpAddr,
    personal_id: &str,
    passcode: &str,
) -> Result<Option<i64>, Response> {
    let personal_id = personal_id.trim().to_string();
    let passcode = passcode.trim().to_string();
    let keys = crate::guard::keys("citizen", &personal_id, ip);
    let attempt = app.throttle.begin(&keys, now_ms()).map_err(throttled)?;
    let Some(permit) = crate::guard::enter(&app.checks.citizen).await else {
        attempt.void();
        return Err(busy().into_response());
    };
    let store = app.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        store.citizen_login(&personal_id, &passcode, now_ms())
    })
    .await;
    match result {
        Ok(Ok(Login::Ok(p))) => {
            attempt.succeeded();
            Ok(Some(p))
        }
        Ok(Ok(Login::Wrong | Login::NoAccount)) => Ok(None),
        Ok(Err(e)) => {
            attempt.void();
            Err(internal(e).into_response())
        }
        Err(e) => {
            attempt.void();
            Err(internal(e).into_response())
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    personal_id: String,
    passcode: String,
}

#[derive(Serialize)]
struct LoginAnswer {
    token: String,
    person_id: i64,
    expires_in_seconds: i64,
}

async fn login(
    State(app): State<Arc<App>>,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Json(b): Json<LoginBody>,
) -> Response {
    let person = match check_passcode(&app, ip, &b.personal_id, &b.passcode).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            // The same answer whether or not the personal ID has an account.
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "wrong_passcode",
                "Số định danh hoặc mã khóa không đúng".into(),
            )
            .into_response();
        }
        Err(res) => return res,
    };
    let store = app.store.clone();
    let token = match blocking(move || store.create_session(person, SESSION_MS)).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_MS / 1000
    );
    let mut res = Json(LoginAnswer {
        token,
        person_id: person,
        expires_in_seconds: SESSION_MS / 1000,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    res
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = token_of(&headers) {
        let store = app.store.clone();
        let _ = blocking(move || store.end_session(&t)).await;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("hb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    res
}

async fn me(v: Viewer) -> Result<Response, ApiError> {
    let store = v.app.store.clone();
    let me = v.person;
    let (person, wards) = blocking(move || Ok((store.person(me)?, store.wards(me)?))).await?;
    let person: Option<wire::Person> = person.map(Into::into);
    let wards: Vec<wire::Ward> = wire::all(wards);
    Ok(Json(serde_json::json!({"person": person, "wards": wards})).into_response())
}

/// Year of an episode (from its admission time, as the facility wrote it).
pub(crate) fn year_of(e: &EpisodeRecord) -> Option<i32> {
    use chrono::Datelike;
    e.view.admitted.map(|d| d.year())
}

async fn years(v: Viewer, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let years: Vec<_> = v
        .book_years(pid, "years")
        .await?
        .into_iter()
        .map(|(year, episodes)| serde_json::json!({"year": year, "episodes": episodes}))
        .collect();
    Ok(Json(years).into_response())
}

/// An episode in a list.
#[derive(Serialize)]
struct Item {
    id: i64,
    facility: String,
    /// The facility's name when it is registered.
    facility_name: Option<String>,
    ma_lk: String,
    version: u32,
    admitted: Option<chrono::NaiveDateTime>,
    discharged: Option<chrono::NaiveDateTime>,
    care_type: Option<String>,
    care_type_label: Option<String>,
    main_diagnosis: Option<book::episode::Diagnosis>,
    has_appointment: bool,
    has_referral: bool,
}

fn item(e: &EpisodeRecord, names: &Names) -> Item {
    Item {
        id: e.id,
        facility: e.facility.clone(),
        facility_name: names.get(&e.facility).cloned(),
        ma_lk: e.ma_lk.clone(),
        version: e.version,
        admitted: e.view.admitted,
        discharged: e.view.discharged,
        care_type: e.view.care_type.clone(),
        care_type_label: e.view.care_type_label.clone(),
        main_diagnosis: e.view.main_diagnosis.clone(),
        has_appointment: e.view.appointment.is_some(),
        has_referral: e.view.referral.is_some(),
    }
}

#[derive(Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

async fn episodes(
    v: Viewer,
    Path(pid): Path<i64>,
    Query(q): Query<YearQuery>,
) -> Result<Response, ApiError> {
    let eps = match q.year {
        Some(year) => v.book_year(pid, "episodes", year).await?,
        None => v.book(pid, "episodes").await?,
    };
    let eps: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&v.app, &eps).await;
    let items: Vec<Item> = eps.iter().map(|e| item(e, &names)).collect();
    Ok(Json(items).into_response())
}

async fn episode(v: Viewer, Path((pid, id)): Path<(i64, i64)>) -> Result<Response, ApiError> {
    let episode = v.episode(pid, id, "episode").await?;
    let facility_names = facility_names(&v.app, &[&episode]).await;
    Ok(Json(wire::Episode::of(episode, facility_names)).into_response())
}

async fn episode_pdf(
    v: Viewer,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let e = v.episode(pid, id, "episode_pdf").await?;
    let names = facility_names(&v.app, &[&e]).await;
    let store = v.app.store.clone();
    let person = blocking(move || store.person(pid))
        .await?
        .ok_or_else(not_found)?;
    // The verification address: staff open it to check this document was issued here
    // for this version of the visit (a digest under the server secret).
    let verify = verify_url(&v.app, &headers, pid, &e);
    let bytes = tokio::task::spawn_blocking(move || {
        pdf::episode(&pdf::EpisodeDoc {
            person: &person,
            episode: &e,
            facility_names: &names,
            verify_url: Some(&verify),
        })
        .map(|b| (b, e.ma_lk))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let name: String = bytes
        .1
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"healthbook-{name}.pdf\""),
            ),
        ],
        bytes.0,
    )
        .into_response())
}

/// The digest that ties a printed visit to its stored version (24 hex characters of an
/// HMAC under the server secret).
pub(crate) fn document_digest(app: &App, pid: i64, e: &EpisodeRecord) -> String {
    let d = app.store.document_digest(&[
        "episode",
        &pid.to_string(),
        &e.id.to_string(),
        &e.version.to_string(),
    ]);
    d[..24].to_string()
}

/// Where staff check a printed visit: `/nhan-vien/xac-minh?d=<person>.<episode>.<version>.<digest>`
/// with the visit's facility and MA_LK to find its versions by, under the public address
/// (else the request's host).
fn verify_url(app: &App, headers: &HeaderMap, pid: i64, e: &EpisodeRecord) -> String {
    let base = match &app.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
                })
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let locate =
        serde_urlencoded::to_string([("f", &e.facility), ("lk", &e.ma_lk)]).unwrap_or_default();
    format!(
        "{base}/nhan-vien/xac-minh?d={pid}.{}.{}.{}&{locate}",
        e.id,
        e.version,
        document_digest(app, pid, e)
    )
}

/// The episode's re-exam appointment is still ahead of `now` (Vietnam wall clock).
pub(crate) fn appointment_ahead(e: &EpisodeRecord, now: chrono::NaiveDateTime) -> bool {
    book::summary::appointment_ahead(&e.view, now)
}

/// The episode's referral letter is still open at `now`.
pub(crate) fn referral_open(e: &EpisodeRecord, now: chrono::NaiveDateTime) -> bool {
    book::summary::referral_open(&e.view, now)
}

async fn appointments(v: Viewer, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let eps = v.book(pid, "appointments").await?;
    let now = crate::vn_now();
    let mut upcoming: Vec<serde_json::Value> = eps
        .iter()
        .filter(|e| appointment_ahead(e, now))
        .map(|e| {
            serde_json::json!({"episode_id": e.id, "facility": e.facility, "appointment": e.view.appointment})
        })
        .collect();
    upcoming.sort_by_key(|x| {
        x["appointment"]["at"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    let referrals: Vec<serde_json::Value> = eps
        .iter()
        .filter(|e| referral_open(e, now))
        .map(|e| {
            serde_json::json!({"episode_id": e.id, "issued": e.view.discharged, "referral": e.view.referral})
        })
        .collect();
    Ok(Json(serde_json::json!({"appointments": upcoming, "referrals": referrals})).into_response())
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

/// Facility code → name.
pub(crate) type Names = std::collections::HashMap<String, String>;

/// The facility codes an episode mentions: where it happened, the appointment, the referral.
fn facility_codes(e: &EpisodeRecord) -> impl Iterator<Item = &str> {
    let v = &e.view;
    std::iter::once(e.facility.as_str())
        .chain(v.appointment.as_ref().and_then(|a| a.facility.as_deref()))
        .chain(v.referral.as_ref().and_then(|r| r.from_facility.as_deref()))
        .chain(v.referral.as_ref().and_then(|r| r.to_facility.as_deref()))
}

/// Names of the facilities the episodes mention. Names only decorate codes: when
/// they cannot be read, the codes are shown alone.
pub(crate) async fn facility_names(app: &Arc<App>, eps: &[&EpisodeRecord]) -> Names {
    let codes: Vec<String> = eps
        .iter()
        .flat_map(|e| facility_codes(e))
        .map(str::to_string)
        .collect();
    names_of(app, codes).await
}

/// Names of the facilities `codes` name, from the names read lately ([`NameCache`]),
/// reading only the others.
pub(crate) async fn names_of(app: &Arc<App>, mut codes: Vec<String>) -> Names {
    codes.sort();
    codes.dedup();
    let (mut names, missing) = app.facility_names.get(&codes);
    if missing.is_empty() {
        return names;
    }
    let store = app.store.clone();
    let asked = missing.clone();
    let r = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
        store.facility_names(&refs)
    })
    .await;
    match r {
        Ok(Ok(found)) => {
            app.facility_names.put(&missing, &found);
            names.extend(found);
        }
        Ok(Err(e)) => tracing::warn!("facility names: {e}"),
        Err(e) => tracing::warn!("facility names: {e}"),
    }
    names
}

/// Facility names read lately, and the codes that had none, for a minute: a page or an
/// answer that names facilities needs no read of them in the common case. A facility
/// saved through this server is forgotten at once ([`NameCache::clear`]); one renamed
/// through another server shows its new name here within [`NameCache::TTL`].
#[derive(Default)]
pub(crate) struct NameCache(
    std::sync::Mutex<std::collections::HashMap<String, (Option<String>, std::time::Instant)>>,
);

impl NameCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    /// Codes kept at most (there are some 13,000 facilities in the country).
    const MAX: usize = 50_000;

    /// The names known of `codes`, and the codes to read.
    fn get(&self, codes: &[String]) -> (Names, Vec<String>) {
        let mut names = Names::new();
        let mut missing = Vec::new();
        let Ok(map) = self.0.lock() else {
            return (names, codes.to_vec());
        };
        for code in codes {
            match map.get(code) {
                Some((name, at)) if at.elapsed() < Self::TTL => {
                    if let Some(name) = name {
                        names.insert(code.clone(), name.clone());
                    }
                }
                _ => missing.push(code.clone()),
            }
        }
        (names, missing)
    }

    /// What a read of `asked` found (codes it did not find have no name).
    fn put(&self, asked: &[String], found: &Names) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() + asked.len() > Self::MAX {
            map.clear();
        }
        let now = std::time::Instant::now();
        for code in asked {
            map.insert(code.clone(), (found.get(code).cloned(), now));
        }
    }

    /// Forget every name (a facility was saved).
    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

/// The texts of an episode that a search matches, each on its own (a query's words
/// together in one text rank higher): diagnoses with their names, medicines, facility
/// code and name, services.
fn search_text(e: &EpisodeRecord, names: &Names) -> Vec<String> {
    let v = &e.view;
    let mut parts: Vec<String> = vec![e.facility.clone()];
    parts.extend(names.get(&e.facility).cloned());
    parts.extend(v.discharge_diagnosis.clone());
    parts.extend(v.admission_diagnosis.clone());
    for d in v.main_diagnosis.iter().chain(&v.secondary_diagnoses) {
        let name = d
            .name
            .clone()
            .or_else(|| book::terms::icd10_name(&d.icd10).map(str::to_string))
            .unwrap_or_default();
        parts.push(format!("{} {name}", d.icd10));
    }
    parts.extend(v.medicines.iter().filter_map(|m| m.name.clone()));
    let s = &v.services;
    for list in [
        &s.lab_tests,
        &s.imaging,
        &s.functional_tests,
        &s.procedures,
        &s.surgery,
    ] {
        parts.extend(list.iter().filter_map(|x| x.name.clone()));
    }
    parts
}

/// The shortest query searched (in characters, after folding).
pub(crate) const MIN_QUERY: usize = 2;

/// The episodes of a book that match every word of `q` as words, accent- and
/// case-insensitive ("tieu duong" finds "Tiểu đường"; "hong" does not find "không"),
/// those matching as typed (accents and all, words together) first; `None` when the
/// query is too short.
pub(crate) fn search_book<'a>(
    eps: &'a [EpisodeRecord],
    names: &Names,
    q: &str,
) -> Option<Vec<&'a EpisodeRecord>> {
    if fold(q).chars().count() < MIN_QUERY {
        return None;
    }
    let mut hits: Vec<(u8, usize, &EpisodeRecord)> = eps
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let texts = search_text(e, names);
            let rank = texts
                .iter()
                .filter_map(|t| book::text::match_rank(t, q))
                .max()
                // Words spread over several texts (a medicine and a diagnosis).
                .or_else(|| book::text::match_rank(&texts.join(" | "), q).map(|_| 0))?;
            Some((rank, i, e))
        })
        .collect();
    // Better matches first; within a rank, the book's order (newest first).
    hits.sort_by_key(|(rank, i, _)| (std::cmp::Reverse(*rank), *i));
    Some(hits.into_iter().map(|(_, _, e)| e).collect())
}

async fn search(
    v: Viewer,
    Path(pid): Path<i64>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let eps = v.book(pid, "search").await?;
    let all: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&v.app, &all).await;
    let hits = search_book(&eps, &names, &q.q).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "query_too_short",
            "Nhập ít nhất 2 ký tự để tìm".into(),
        )
    })?;
    let items: Vec<Item> = hits.iter().map(|e| item(e, &names)).collect();
    Ok(Json(items).into_response())
}

#[derive(Deserialize)]
struct SinceQuery {
    /// Milliseconds since the Unix epoch.
    since: i64,
}

async fn changes(
    v: Viewer,
    Path(pid): Path<i64>,
    Query(q): Query<SinceQuery>,
) -> Result<Response, ApiError> {
    // Polled by the open book page: a guardian's poll is recorded only when it brings
    // something new.
    let eps = v.changes(pid, q.since).await?;
    let changed: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&v.app, &changed).await;
    let changed: Vec<Item> = changed.iter().map(|e| item(e, &names)).collect();
    Ok(Json(serde_json::json!({"now": now_ms(), "episodes": changed})).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ShareBody {
    /// full | summary
    pub scope: String,
    /// How long the code lasts, in minutes (at most 7 days).
    pub minutes: i64,
}

/// A share code just made: the code (shown once), its QR, and the share.
#[derive(Serialize)]
pub(crate) struct NewShare {
    pub code: String,
    pub share: wire::Share,
    /// SVG of a QR code of the clinician page with the code filled in.
    pub qr_svg: String,
}

/// The QR of the clinician page with the code filled in.
pub(crate) fn share_qr(headers: &HeaderMap, code: &str) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    let url = format!("{scheme}://{host}/nhan-vien/ma?ma={code}");
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(q) => q
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

impl Viewer {
    /// Refuse unless the viewer may manage `pid`'s sharing (own book or a ward's).
    pub(crate) async fn check_sharing(&self, pid: i64) -> Result<(), ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.check_sharing(&who, pid)).await
    }

    pub(crate) async fn make_share(
        &self,
        pid: i64,
        b: &ShareBody,
        headers: &HeaderMap,
    ) -> Result<NewShare, ApiError> {
        self.check_sharing(pid).await?;
        let scope = book::access::Scope::from_code(&b.scope).ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "scope",
                "Phạm vi chia sẻ phải là 'full' (toàn bộ sổ) hoặc 'summary' (tóm tắt)".into(),
            )
        })?;
        if !(1..=store::MAX_SHARE_MS / 60_000).contains(&b.minutes) {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "minutes",
                "Thời hạn chia sẻ từ 1 phút đến 7 ngày".into(),
            ));
        }
        let store = self.app.store.clone();
        let (me, ttl) = (self.person, b.minutes * 60_000);
        let (share, code) = blocking(move || store.create_share(pid, me, scope, ttl)).await?;
        let code = store::format_share_code(&code);
        let share = wire::Share::from(share);
        Ok(NewShare {
            qr_svg: share_qr(headers, &store::normalize_share_code(&code)),
            code,
            share,
        })
    }

    pub(crate) async fn shares(&self, pid: i64) -> Result<Vec<store::Share>, ApiError> {
        self.check_sharing(pid).await?;
        let store = self.app.store.clone();
        blocking(move || store.shares_of(pid)).await
    }

    pub(crate) async fn revoke(&self, pid: i64, id: i64) -> Result<(), ApiError> {
        self.check_sharing(pid).await?;
        let store = self.app.store.clone();
        if blocking(move || store.revoke_share(pid, id, now_ms())).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// Who opened the book: the audit records and the grants behind them (a
    /// guardian's look is recorded: it names facilities and break-glass reasons).
    pub(crate) async fn access_log(
        &self,
        pid: i64,
    ) -> Result<(Vec<store::AuditRecord>, Vec<store::Grant>), ApiError> {
        let who = self.actor();
        let log = serve(&self.app, move |s| s.access_log(&who, pid)).await?;
        Ok((log.records, log.grants))
    }
}

async fn list_shares(v: Viewer, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let shares: Vec<wire::Share> = wire::all(v.shares(pid).await?);
    Ok(Json(shares).into_response())
}

async fn create_share(
    v: Viewer,
    Path(pid): Path<i64>,
    headers: HeaderMap,
    Json(b): Json<ShareBody>,
) -> Result<Response, ApiError> {
    let s = v.make_share(pid, &b, &headers).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

async fn revoke_share(v: Viewer, Path((pid, id)): Path<(i64, i64)>) -> Result<Response, ApiError> {
    v.revoke(pid, id).await?;
    Ok(Json(serde_json::json!({"revoked": true})).into_response())
}

async fn access_log(v: Viewer, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let (records, grants) = v.access_log(pid).await?;
    let reads: Vec<wire::Read> = wire::all(records);
    let grants: Vec<wire::Grant> = wire::all(grants);
    Ok(Json(serde_json::json!({"reads": reads, "grants": grants})).into_response())
}

// ---------------------------------------------------------------------------
// The personal health record (QĐ 831) as the person and their guardian read it
// ---------------------------------------------------------------------------

/// Where the record's data comes from, as people are told.
pub(crate) const RECORD_SOURCE: &str = "Hồ sơ sức khỏe (trạm y tế)";

/// The record as its person (or guardian) reads it, with the names of the units and
/// staff it mentions (names only decorate: codes are shown when they cannot be read).
pub(crate) struct RecordRead {
    pub view: service::RecordView,
    /// Unit code → name (the managing station's commune, the versions' units).
    pub units: std::collections::HashMap<String, String>,
    /// Staff username → full name (the versions' and examinations' authors).
    pub staff: std::collections::HashMap<String, String>,
}

impl RecordRead {
    /// "Trạm y tế Phường Ba Đình" (the commune's code when its name is unknown).
    pub fn station(&self) -> Option<String> {
        self.view
            .stored
            .commune
            .as_deref()
            .map(|c| station_name(&self.units, c))
    }

    /// Who wrote a version, in words.
    pub fn author(&self, v: &store::RecordVersion) -> String {
        match v.source.as_str() {
            "registry" if v.by_user == "population-registry" => {
                "Cơ sở dữ liệu quốc gia về dân cư".to_string()
            }
            "registry" => format!("Cơ sở dữ liệu {}", v.by_user),
            "import" => "Dữ liệu chuyển từ phần mềm quản lý hồ sơ trước đây".to_string(),
            "citizen" => "Người dân".to_string(),
            _ => {
                let who = self
                    .staff
                    .get(&v.by_user)
                    .cloned()
                    .unwrap_or_else(|| v.by_user.clone());
                match v.by_unit.as_deref() {
                    Some(u) => format!("{who}, {}", station_name(&self.units, u)),
                    None => who,
                }
            }
        }
    }
}

/// The station of a commune: "Trạm y tế Phường Ba Đình".
pub(crate) fn station_name(
    units: &std::collections::HashMap<String, String>,
    code: &str,
) -> String {
    match units.get(code) {
        Some(name) => format!("Trạm y tế {name}"),
        None => format!("Trạm y tế xã/phường {code}"),
    }
}

/// A value of a version's change as people read it (long texts shortened).
fn change_value(key: &str, value: &str) -> String {
    let text = crate::records::change_value(key, value);
    if text.chars().count() > 120 {
        let mut t: String = text.chars().take(120).collect();
        t.push('…');
        t
    } else {
        text
    }
}

/// One change of a version in plain words ("Sửa “Nhóm máu hệ ABO”: A → B").
pub(crate) fn change_text(c: &book::ehr::Change) -> String {
    match c.key.as_str() {
        "status" => match c.after.split_once(':') {
            _ if c.after == "open" && c.before.is_empty() => "Lập hồ sơ".to_string(),
            _ if c.after == "open" => "Mở lại hồ sơ".to_string(),
            // "closed: đã mất ngày 02/12/2026"
            Some(("closed", why)) => format!("Đóng hồ sơ (người đã mất): {}", why.trim()),
            None if c.after == "closed" => "Đóng hồ sơ (người đã mất)".to_string(),
            _ => format!("Tình trạng hồ sơ: {}", c.after),
        },
        "exam" => {
            // "2026-03-01 (lần 2)"
            let (day, rest) = c.after.split_once(' ').unwrap_or((c.after.as_str(), ""));
            let day = book::ehr::parse_date(day)
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|| day.to_string());
            format!("Thêm kết quả khám sức khỏe ngày {day} {rest}")
                .trim()
                .to_string()
        }
        key => {
            let label = book::ehr::label_of(key);
            match (c.before.is_empty(), c.after.is_empty()) {
                (true, _) => format!("Ghi “{label}”: {}", change_value(key, &c.after)),
                (false, true) => format!(
                    "Xóa “{label}” (trước đây: {})",
                    change_value(key, &c.before)
                ),
                (false, false) => format!(
                    "Sửa “{label}”: {} → {}",
                    change_value(key, &c.before),
                    change_value(key, &c.after)
                ),
            }
        }
    }
}

impl Viewer {
    /// `pid`'s QĐ 831 record, when the viewer may read it (own, or a ward's: a
    /// guardian's read is recorded in the ward's chain), with the names it mentions.
    pub(crate) async fn record(&self, pid: i64) -> Result<RecordRead, ApiError> {
        let who = self.actor();
        let view = serve(&self.app, move |s| s.health_record(&who, pid)).await?;
        let (units, staff) = record_names(&self.app, &view).await;
        Ok(RecordRead { view, units, staff })
    }

    /// Report an error in `pid`'s record to its station: the station's data-quality
    /// record's id.
    pub(crate) async fn report_record_error(
        &self,
        pid: i64,
        text: String,
    ) -> Result<i64, ApiError> {
        let who = self.actor();
        serve(&self.app, move |s| s.report_record_error(&who, pid, &text)).await
    }
}

/// The names of the units and staff a record mentions (none when they cannot be read).
pub(crate) async fn record_names(
    app: &Arc<App>,
    view: &service::RecordView,
) -> (
    std::collections::HashMap<String, String>,
    std::collections::HashMap<String, String>,
) {
    let mut codes: Vec<String> = view.stored.commune.iter().cloned().collect();
    codes.extend(view.versions.iter().filter_map(|v| v.by_unit.clone()));
    codes.extend(
        view.stored
            .record
            .exams
            .iter()
            .filter_map(|e| e.unit.clone()),
    );
    let mut users: Vec<String> = view
        .versions
        .iter()
        .filter(|v| v.source == "staff")
        .map(|v| v.by_user.clone())
        .chain(view.stored.record.exams.iter().map(|e| e.by.clone()))
        .collect();
    users.sort();
    users.dedup();
    let store = app.store.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut units = std::collections::HashMap::new();
        if !codes.is_empty() {
            for u in store.units()? {
                if codes.contains(&u.code) {
                    units.insert(u.code, u.name);
                }
            }
        }
        let mut staff = std::collections::HashMap::new();
        for user in users {
            if let Some(a) = store.staff(&user)? {
                staff.insert(user, a.full_name);
            }
        }
        Ok::<_, store::StoreError>((units, staff))
    })
    .await;
    match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::warn!("record names: {e}");
            Default::default()
        }
        Err(e) => {
            tracing::warn!("record names: {e}");
            Default::default()
        }
    }
}

/// The record as JSON: the profile first (what a person and a clinician look for),
/// then every item of parts A–C with its label, the examinations (newest first) and
/// the versions (newest first, each change in plain words).
fn record_json(r: &RecordRead) -> serde_json::Value {
    let stored = &r.view.stored;
    let rec = &stored.record;
    let items: Vec<serde_json::Value> = book::ehr::ITEMS
        .iter()
        .filter_map(|i| {
            let v = rec.get(i.key)?;
            Some(serde_json::json!({
                "key": i.key,
                "part": i.part,
                "group": i.group,
                "label": i.label,
                "value": v,
                "text": book::ehr::shown(i, v),
            }))
        })
        .collect();
    let exams: Vec<serde_json::Value> = rec
        .exams
        .iter()
        .rev()
        .map(|e| {
            serde_json::json!({
                "number": e.number,
                "date": e.date,
                "station": e.unit.as_deref().map(|u| station_name(&r.units, u)),
                "unit": e.unit,
                "items": e.items,
            })
        })
        .collect();
    let versions: Vec<serde_json::Value> = r
        .view
        .versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "version": v.version,
                "at": v.at,
                "source": v.source,
                "by": r.author(v),
                "unit": v.by_unit,
                "changes": v.changes.iter().map(|c| serde_json::json!({
                    "key": c.key,
                    "label": book::ehr::label_of(&c.key),
                    "before": c.before,
                    "after": c.after,
                    "text": change_text(c),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "person_id": stored.person_id,
        "version": stored.version,
        "status": stored.status,
        "closed": stored.is_closed(),
        "station": stored.commune.as_deref().map(|c| serde_json::json!({
            "commune": c,
            "name": station_name(&r.units, c),
        })),
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
        "profile": rec.profile(),
        "items": items,
        "examinations": exams,
        "versions": versions,
        "insurance_card": r.view.card,
    })
}

async fn record(v: Viewer, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let r = v.record(pid).await?;
    Ok(Json(record_json(&r)).into_response())
}

#[derive(Deserialize)]
struct ErrorReportBody {
    text: String,
}

async fn record_error(
    v: Viewer,
    Path(pid): Path<i64>,
    Json(b): Json<ErrorReportBody>,
) -> Result<Response, ApiError> {
    let id = v.report_record_error(pid, b.text).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "issue": id,
            "message": "Đã gửi đến trạm y tế quản lý hồ sơ. Trạm sẽ kiểm tra và sửa nếu thông tin chưa đúng.",
        })),
    )
        .into_response())
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_cache_keeps_names_and_the_codes_without_one_until_cleared() {
        let cache = NameCache::default();
        let codes: Vec<String> = ["01001", "01002", "99999"].map(String::from).to_vec();
        let (names, missing) = cache.get(&codes);
        assert!(names.is_empty());
        assert_eq!(missing, codes);
        let found = Names::from([
            ("01001".to_string(), "Bệnh viện A".to_string()),
            ("01002".to_string(), "Trạm y tế B".to_string()),
        ]);
        cache.put(&codes, &found);
        let (names, missing) = cache.get(&codes);
        assert_eq!(names, found);
        assert!(
            missing.is_empty(),
            "a code without a name is not read again"
        );
        cache.clear();
        assert_eq!(cache.get(&codes).1, codes);
    }
}
