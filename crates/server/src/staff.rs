//! The staff API: sign-in for staff accounts, the clinician's access to a patient
//! (share code, referral, break-glass), and administration (units, facilities,
//! accounts, break-glass review, enrolment, audit verification).
//!
//! Every handler states what it is about to do as a `book::access::Action` and asks
//! [`StaffUser::allow`]; every read of a patient's data is written to the audit log
//! before the data leaves (no record, no data).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use book::IdKind;
use book::access::{Action, BREAK_GLASS_MS, Basis, Denied, Place, Principal, Role, authorize};
use serde::{Deserialize, Serialize};
use store::{AuditEntry, Facility, Grant, StaffAccount, StaffLogin, StoreError, Unit, now_ms};

use crate::App;
use crate::citizen::{Names, facility_names};
use crate::http::{ApiError, blocking, internal, not_found, serve, token_from, wire};

pub const STAFF_COOKIE: &str = "hb_staff";
/// A staff session lasts a shift.
pub const STAFF_SESSION_MS: i64 = 10 * 3600 * 1000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/staff/login", post(login))
        .route("/api/v1/staff/logout", post(logout))
        .route("/api/v1/staff/me", get(me))
        .route("/api/v1/clinician/consents", post(use_share_code))
        .route("/api/v1/clinician/break-glass", post(break_glass))
        .route("/api/v1/clinician/referrals", post(open_referral))
        .route("/api/v1/clinician/patients", get(patients))
        .route(
            "/api/v1/clinician/patients/{pid}/summary",
            get(patient_summary),
        )
        .route(
            "/api/v1/clinician/patients/{pid}/episodes",
            get(patient_episodes),
        )
        .route(
            "/api/v1/clinician/patients/{pid}/episodes/{id}",
            get(patient_episode),
        )
        .route("/api/v1/admin/units", get(list_units))
        .route("/api/v1/admin/units/{code}", put(put_unit))
        .route("/api/v1/admin/facilities", get(list_facilities))
        .route(
            "/api/v1/admin/facilities/{code}",
            get(get_facility).put(put_facility),
        )
        .route("/api/v1/admin/staff", get(list_staff))
        .route("/api/v1/admin/staff/{username}", put(put_staff))
        .route("/api/v1/admin/break-glass", get(list_break_glass))
        .route(
            "/api/v1/admin/break-glass/{pid}/{id}/review",
            post(review_break_glass),
        )
        .route("/api/v1/admin/activation-codes", post(issue_activation))
        .route("/api/v1/admin/guardians", post(record_guardian))
        .route("/api/v1/admin/audit/verify", get(verify_audit))
}

pub(crate) fn forbidden(d: Denied) -> ApiError {
    ApiError(StatusCode::FORBIDDEN, d.code, d.message.to_string())
}

fn bad_request(code: &'static str, m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, code, m.into())
}

/// Store errors of admin writes: invalid input is the caller's (400, with the reason).
fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => bad_request("invalid", m),
        StoreError::NotFound(m) => ApiError(StatusCode::NOT_FOUND, "not_found", m),
        e => internal(e),
    }
}

/// The signed-in member of staff, with the place their scope covers.
pub struct StaffUser {
    pub account: StaffAccount,
    pub scope: Place,
    app: Arc<App>,
}

/// Where a staff account's scope is: its facility (with the units above it), else its unit.
pub(crate) fn scope_of(app: &App, a: &StaffAccount) -> store::Result<Place> {
    if let Some(f) = &a.facility {
        let mut place = app.store.place_of_facility(f)?.unwrap_or_default();
        place.facility = Some(f.clone());
        // Commune staff act for their commune as a whole.
        if a.role == Role::CommuneStaff
            && let Some(u) = &a.unit
        {
            place = app.store.place_of_unit(u)?;
        }
        return Ok(place);
    }
    match &a.unit {
        Some(u) => app.store.place_of_unit(u),
        None => Ok(Place::default()),
    }
}

impl FromRequestParts<Arc<App>> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Vui lòng đăng nhập bằng tài khoản nhân viên".into(),
            )
        };
        let token = token_from(&parts.headers, STAFF_COOKIE).ok_or_else(unauthorized)?;
        StaffUser::from_token(app, token)
            .await?
            .ok_or_else(unauthorized)
    }
}

impl StaffUser {
    pub(crate) async fn from_token(
        app: &Arc<App>,
        token: String,
    ) -> Result<Option<StaffUser>, ApiError> {
        let a = app.clone();
        let found = blocking(move || {
            let Some(account) = a.store.staff_session(&token, now_ms())? else {
                return Ok(None);
            };
            let scope = scope_of(&a, &account)?;
            Ok(Some((account, scope)))
        })
        .await?;
        Ok(found.map(|(account, scope)| StaffUser {
            account,
            scope,
            app: app.clone(),
        }))
    }

    pub fn principal(&self) -> Principal {
        Principal::Staff {
            username: self.account.username.clone(),
            role: self.account.role,
            scope: self.scope.clone(),
        }
    }

    /// Go on only if `book::access` allows it.
    pub fn allow(&self, what: &Action<'_>) -> Result<(), ApiError> {
        authorize(&self.principal(), what).map_err(forbidden)
    }

    pub fn allows(&self, what: &Action<'_>) -> bool {
        authorize(&self.principal(), what).is_ok()
    }

    /// Append one record to the person's audit chain, as this member of staff.
    pub(crate) async fn record(
        &self,
        person: i64,
        action: &str,
        target: Option<String>,
        basis: Basis,
        grant_id: Option<i64>,
    ) -> Result<(), ApiError> {
        let entry = AuditEntry {
            person_id: person,
            actor: self.account.username.clone(),
            role: self.account.role,
            facility: self.account.facility.clone(),
            action: action.to_string(),
            target,
            basis,
            grant_id,
            actor_name: Some(self.account.full_name.clone()),
            actor_cert: self.account.practising_cert.clone(),
        };
        let store = self.app.store.clone();
        blocking(move || store.append_audit(&entry)).await?;
        Ok(())
    }

    /// The member of staff as the service layer knows them.
    pub(crate) fn actor(&self) -> service::Actor {
        service::Actor::Staff {
            account: self.account.clone(),
            scope: self.scope.clone(),
        }
    }

    pub(crate) fn app(&self) -> &Arc<App> {
        &self.app
    }
}

/// Failed share-code entries per member of staff: at most this many in the window.
const MAX_CODE_FAILURES: u32 = 10;
const CODE_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Counts failed share-code entries, so that codes cannot be guessed.
#[derive(Default)]
pub struct CodeAttempts(Mutex<HashMap<String, (u32, i64)>>);

impl CodeAttempts {
    fn blocked(&self, user: &str, now: i64) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(user)
            .is_some_and(|(n, since)| *n >= MAX_CODE_FAILURES && now - since < CODE_WINDOW_MS)
    }

    fn failed(&self, user: &str, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.entry(user.to_string()).or_insert((0, now));
        if now - e.1 >= CODE_WINDOW_MS {
            *e = (0, now);
        }
        e.0 += 1;
    }
}

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct LoginBody {
    pub username: String,
    pub password: String,
}

/// Sign a member of staff in: the session token, or the refusal in Vietnamese.
pub(crate) async fn sign_in(
    app: &Arc<App>,
    ip: std::net::IpAddr,
    b: LoginBody,
) -> Result<(String, StaffAccount), ApiError> {
    let keys = crate::guard::keys("staff", &b.username, ip);
    let attempt = app.throttle.begin(&keys, now_ms()).map_err(|wait| {
        ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "Nhập sai nhiều lần; vui lòng thử lại sau {}",
                crate::guard::wait_text(wait)
            ),
        )
    })?;
    let Some(permit) = crate::guard::enter(&app.checks.staff).await else {
        attempt.void();
        return Err(crate::citizen::busy());
    };
    let a = app.clone();
    let r = blocking(move || {
        let _permit = permit;
        let r = a
            .store
            .staff_login(b.username.trim(), &b.password, now_ms())?;
        Ok(match r {
            StaffLogin::Ok(account) => Ok((
                a.store
                    .create_staff_session(&account.username, STAFF_SESSION_MS)?,
                account,
            )),
            other => Err(other),
        })
    })
    .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            attempt.void();
            return Err(e);
        }
    };
    match r {
        Ok(x) => {
            attempt.succeeded();
            Ok(x)
        }
        // The same answer whether or not the account exists.
        Err(_) => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong_password",
            "Tên đăng nhập hoặc mật khẩu không đúng".into(),
        )),
    }
}

pub(crate) fn staff_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{STAFF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        STAFF_SESSION_MS / 1000
    ))
    .ok()
}

async fn login(
    State(app): State<Arc<App>>,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Json(b): Json<LoginBody>,
) -> Response {
    match sign_in(&app, ip, b).await {
        Ok((token, account)) => {
            let mut res = Json(serde_json::json!({
                "token": token,
                "account": account,
                "expires_in_seconds": STAFF_SESSION_MS / 1000,
            }))
            .into_response();
            if let Some(c) = staff_cookie(&token) {
                res.headers_mut().insert(SET_COOKIE, c);
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = token_from(&headers, STAFF_COOKIE) {
        let store = app.store.clone();
        let _ = blocking(move || store.end_staff_session(&t)).await;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("hb_staff=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    res
}

async fn me(u: StaffUser) -> Response {
    Json(serde_json::json!({
        "account": u.account,
        "role_label": u.account.role.label(),
        "scope": u.scope,
    }))
    .into_response()
}

// ---------------------------------------------------------------------------
// Clinician
// ---------------------------------------------------------------------------

/// Who a patient is, as the clinician sees them.
#[derive(Serialize)]
pub(crate) struct PatientHead {
    pub id: i64,
    pub name: Option<String>,
    pub birth: Option<String>,
    pub sex: Option<String>,
}

pub(crate) async fn patient_head(app: &Arc<App>, pid: i64) -> Result<PatientHead, ApiError> {
    let store = app.store.clone();
    let p = blocking(move || store.person(pid))
        .await?
        .ok_or_else(not_found)?;
    Ok(PatientHead {
        id: p.id,
        name: p.name,
        birth: p.birth,
        sex: p.sex,
    })
}

#[derive(Deserialize)]
pub(crate) struct CodeBody {
    pub code: String,
}

/// Enter a share code: a grant on the person's book, until the code ends.
pub(crate) async fn redeem(u: &StaffUser, code: &str) -> Result<Grant, ApiError> {
    u.allow(&Action::UseShareCode)?;
    let now = now_ms();
    let user = u.account.username.clone();
    if u.app.code_attempts.blocked(&user, now) {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_codes",
            "Nhập sai mã quá nhiều lần; vui lòng thử lại sau 15 phút".into(),
        ));
    }
    // The grant and its "open" record, in one transaction.
    let who = u.actor();
    let code = code.to_string();
    let grant = serve(&u.app, move |s| {
        s.open_with(&who, service::Opening::ShareCode(&code))
    })
    .await?;
    let Some(grant) = grant else {
        u.app.code_attempts.failed(&user, now);
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_code",
            "Mã chia sẻ không đúng, đã hết hạn hoặc đã bị thu hồi".into(),
        ));
    };
    Ok(grant)
}

async fn use_share_code(u: StaffUser, Json(b): Json<CodeBody>) -> Result<Response, ApiError> {
    let grant = redeem(&u, &b.code).await?;
    let patient = patient_head(u.app(), grant.person_id).await?;
    Ok(
        Json(serde_json::json!({"grant": wire::Grant::from(grant), "patient": patient}))
            .into_response(),
    )
}

#[derive(Deserialize)]
pub(crate) struct BreakGlassBody {
    pub personal_id: String,
    pub reason: String,
}

/// Open a book in an emergency: a short full grant with the written reason,
/// flagged for the facility administrator and shown to the person.
pub(crate) async fn open_break_glass(u: &StaffUser, b: &BreakGlassBody) -> Result<Grant, ApiError> {
    u.allow(&Action::BreakGlass { reason: &b.reason })?;
    let store = u.app.store.clone();
    let pid = b.personal_id.trim().to_string();
    let person = blocking(move || store.person_by_identifier(IdKind::PersonalId, &pid))
        .await?
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                "unknown_person",
                "Không tìm thấy người có số định danh này".into(),
            )
        })?;
    // The grant and its "open" record, in one transaction.
    let who = u.actor();
    let reason = b.reason.trim().to_string();
    let opening = move |s: &service::Service| {
        s.open_with(
            &who,
            service::Opening::BreakGlass {
                person: person.id,
                reason: &reason,
                for_ms: BREAK_GLASS_MS,
            },
        )
    };
    serve(&u.app, opening).await?.ok_or_else(not_found)
}

async fn break_glass(u: StaffUser, Json(b): Json<BreakGlassBody>) -> Result<Response, ApiError> {
    let grant = open_break_glass(&u, &b).await?;
    let patient = patient_head(u.app(), grant.person_id).await?;
    Ok(
        Json(serde_json::json!({"grant": wire::Grant::from(grant), "patient": patient}))
            .into_response(),
    )
}

#[derive(Deserialize)]
pub(crate) struct ReferralBody {
    pub number: String,
    /// The patient's personal ID, as on the referral letter: numbers are the sending
    /// facility's own, so the number alone may name several patients.
    pub personal_id: String,
}

/// Milliseconds of a Vietnam wall-clock time.
fn vn_ms(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis() - 7 * 3_600_000
}

/// Open the book of a patient referred to the clinician's facility, by the
/// referral's number, while the referral is valid.
pub(crate) async fn open_by_referral(u: &StaffUser, b: &ReferralBody) -> Result<Grant, ApiError> {
    let facility = u.account.facility.clone().unwrap_or_default();
    u.allow(&Action::OpenReferral {
        destination: &facility,
    })?;
    let number = b.number.trim().to_string();
    let personal_id = b.personal_id.trim().to_string();
    if number.is_empty() || personal_id.is_empty() {
        return Err(bad_request(
            "number_required",
            "Nhập số giấy chuyển tuyến và số định danh của người bệnh",
        ));
    }
    let user = u.account.username.clone();
    let stamp = now_ms();
    if u.app.code_attempts.blocked(&user, stamp) {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_codes",
            "Nhập sai quá nhiều lần; vui lòng thử lại sau 15 phút".into(),
        ));
    }
    let store = u.app.store.clone();
    let (f, n) = (facility.clone(), number.clone());
    let found = blocking(move || {
        let Some(p) = store.person_by_identifier(IdKind::PersonalId, &personal_id)? else {
            return Ok(None);
        };
        Ok(store.find_referrals(&f, &n, p.id)?.into_iter().next())
    })
    .await?;
    let Some(e) = found else {
        u.app.code_attempts.failed(&user, stamp);
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_referral",
            "Không có giấy chuyển tuyến số này của người bệnh này đến cơ sở của bạn".into(),
        ));
    };
    let now = crate::vn_now();
    let ended = e.view.discharged.or(e.view.admitted);
    // A letter dated in the future is not a letter yet.
    if !book::summary::referral_open(&e.view, now) || ended.is_none_or(|d| d > now) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "referral_expired",
            "Giấy chuyển tuyến đã hết hiệu lực".into(),
        ));
    }
    // A referral is evidence only when someone else wrote it about this person, and the
    // person then came here: written by another facility than the reader's, linked to
    // the person without any identity conflict, and a check-in or episode of the person
    // at the reader's facility since the letter. Otherwise the patient's code is needed.
    let since = ended.map(|d| d.format("%Y%m%d%H%M").to_string());
    let store = u.app.store.clone();
    let (ef, em, reader, person) = (
        e.facility.clone(),
        e.ma_lk.clone(),
        facility.clone(),
        e.person_id,
    );
    let high = e.confidence == "high";
    let trusted = blocking(move || {
        if ef == reader || !high || store.identity_conflicts(&ef, &em)? > 0 {
            return Ok(false);
        }
        match since {
            Some(since) => store.presented_at(person, &reader, &since),
            None => Ok(false),
        }
    })
    .await?;
    if !trusted {
        u.app.code_attempts.failed(&user, stamp);
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "referral_not_usable",
            "Giấy chuyển tuyến này không đủ để mở sổ (do chính cơ sở của bạn lập, thông tin định danh chưa khớp, hoặc người bệnh chưa đến khám tại cơ sở của bạn). Vui lòng dùng mã chia sẻ của người bệnh.".into(),
        ));
    }
    let cap = now_ms() + book::summary::REFERRAL_OPEN_DAYS * 86_400_000;
    let until = ended
        .map(|d| vn_ms(d + chrono::Duration::days(book::summary::REFERRAL_OPEN_DAYS)))
        .unwrap_or_else(now_ms)
        .min(cap);
    // The grant and its "open" record in one transaction; the log says which letter:
    // its number, who wrote it, and the episode it is in.
    let who = u.actor();
    let person = e.person_id;
    let record = format!(
        "referral {} from {} (episode {})",
        number.trim(),
        e.facility,
        e.id
    );
    let opening = move |s: &service::Service| {
        s.open_with(
            &who,
            service::Opening::Referral {
                person,
                number: &number,
                expires_at: until,
                record: &record,
            },
        )
    };
    serve(&u.app, opening).await?.ok_or_else(not_found)
}

async fn open_referral(u: StaffUser, Json(b): Json<ReferralBody>) -> Result<Response, ApiError> {
    let grant = open_by_referral(&u, &b).await?;
    let patient = patient_head(u.app(), grant.person_id).await?;
    Ok(
        Json(serde_json::json!({"grant": wire::Grant::from(grant), "patient": patient}))
            .into_response(),
    )
}

/// The caller's live grants, with who each patient is.
pub(crate) async fn my_patients(u: &StaffUser) -> Result<Vec<(Grant, PatientHead)>, ApiError> {
    u.allow(&Action::UseShareCode)?;
    let store = u.app.store.clone();
    let user = u.account.username.clone();
    let grants = blocking(move || store.live_grants_of(&user, now_ms())).await?;
    let mut out = Vec::new();
    for g in grants {
        let head = patient_head(u.app(), g.person_id).await?;
        out.push((g, head));
    }
    Ok(out)
}

async fn patients(u: StaffUser) -> Result<Response, ApiError> {
    let list: Vec<serde_json::Value> = my_patients(&u)
        .await?
        .into_iter()
        .map(|(g, p)| serde_json::json!({"grant": wire::Grant::from(g), "patient": p}))
        .collect();
    Ok(Json(list).into_response())
}

/// The summary of a patient's book, read under the caller's grant (and recorded).
pub(crate) async fn read_summary(
    u: &StaffUser,
    pid: i64,
) -> Result<
    (
        Grant,
        book::summary::Summary,
        Vec<store::EpisodeRecord>,
        Names,
    ),
    ApiError,
> {
    // Decided, read and recorded ("summary", and "episodes" under a full grant: the
    // page lists the visits too) in one transaction.
    let who = u.actor();
    let opened = serve(u.app(), move |s| s.summary(&who, pid)).await?;
    let eps = opened.data;
    let grant = opened.grant.ok_or_else(not_found)?;
    let views: Vec<(i64, &book::EpisodeView)> = eps.iter().map(|e| (e.id, &e.view)).collect();
    let summary = book::summary::summarize(&views, crate::vn_now());
    let all: Vec<&store::EpisodeRecord> = eps.iter().collect();
    let names = facility_names(u.app(), &all).await;
    Ok((grant, summary, eps, names))
}

/// What the person's QĐ 831 record says that a clinician looks for first.
pub(crate) struct RecordSide {
    pub profile: book::ehr::Profile,
    /// The managing station ("Trạm y tế Phường Ba Đình").
    pub station: Option<String>,
    pub updated_at: i64,
    pub closed: bool,
}

/// The person's record under the caller's grant (decided and recorded as `record.read`
/// by the service); `None` when the person has no record.
pub(crate) async fn read_record_side(
    u: &StaffUser,
    pid: i64,
) -> Result<Option<RecordSide>, ApiError> {
    let who = u.actor();
    let view = match serve(u.app(), move |s| s.health_record(&who, pid)).await {
        Ok(v) => v,
        // The summary was just read under a grant: no record is what this means.
        Err(ApiError(StatusCode::NOT_FOUND, ..)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (units, _) = crate::citizen::record_names(u.app(), &view).await;
    let stored = &view.stored;
    Ok(Some(RecordSide {
        profile: stored.record.profile(),
        station: stored
            .commune
            .as_deref()
            .map(|c| crate::citizen::station_name(&units, c)),
        updated_at: stored.updated_at,
        closed: stored.is_closed(),
    }))
}

/// Where a line of the allergy or condition list comes from.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Source {
    /// `record` (the commune station's QĐ 831 record) or `dossier` (a hospital's).
    pub kind: &'static str,
    /// "Hồ sơ sức khỏe (trạm y tế)", or the facility by name and code.
    pub label: String,
    /// The station's name, or the visits it was seen at.
    pub detail: String,
}

/// The allergy statement: from the record (hospital dossiers carry none).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Allergies {
    /// `recorded`, `none_known` (the record says "no known allergies"), `unknown` (the
    /// record says nothing), `no_record`.
    pub status: &'static str,
    /// The statement in Vietnamese.
    pub text: String,
    pub items: Vec<book::ehr::Allergy>,
    pub source: Option<Source>,
}

/// A chronic condition with where it is known from: the record, hospital dossiers, or
/// both (the same ICD-10 code or category).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct KnownCondition {
    pub text: String,
    pub icd10: Option<String>,
    pub sources: Vec<Source>,
}

fn record_source(side: &RecordSide) -> Source {
    Source {
        kind: "record",
        label: crate::citizen::RECORD_SOURCE.to_string(),
        detail: side.station.clone().unwrap_or_default(),
    }
}

pub(crate) fn allergies_of(side: Option<&RecordSide>) -> Allergies {
    let Some(side) = side else {
        return Allergies {
            status: "no_record",
            text: "Không có dữ liệu — hồ sơ khám chữa bệnh gửi lên sổ chưa ghi dị ứng. Hỏi người bệnh trước khi kê đơn.".into(),
            items: Vec::new(),
            source: None,
        };
    };
    let source = Some(record_source(side));
    match &side.profile.allergies {
        None => Allergies {
            status: "unknown",
            text: "Chưa ghi nhận — hồ sơ sức khỏe của trạm y tế chưa ghi dị ứng, hồ sơ khám chữa bệnh cũng không. Hỏi người bệnh trước khi kê đơn.".into(),
            items: Vec::new(),
            source,
        },
        Some(list) if list.is_empty() => Allergies {
            status: "none_known",
            text: "Không có tiền sử dị ứng đã biết".into(),
            items: Vec::new(),
            source,
        },
        Some(list) => Allergies {
            status: "recorded",
            text: list
                .iter()
                .map(|a| format!("{}: {}", a.kind, a.text))
                .collect::<Vec<_>>()
                .join("; "),
            items: list.clone(),
            source,
        },
    }
}

/// The ICD-10 category (`E11.9` → `E11`).
fn category(code: &str) -> &str {
    code.get(..3).unwrap_or(code)
}

/// The record's conditions first, then the chronic conditions of the hospital dossiers;
/// one line where both name the same ICD-10 code or category, with both sources.
pub(crate) fn conditions_of(
    side: Option<&RecordSide>,
    summary: &book::summary::Summary,
    names: &Names,
) -> Vec<KnownCondition> {
    let mut out: Vec<KnownCondition> = side
        .map(|side| {
            side.profile
                .conditions
                .iter()
                .map(|c| KnownCondition {
                    text: c.text.clone(),
                    icd10: c.icd10.clone(),
                    sources: vec![record_source(side)],
                })
                .collect()
        })
        .unwrap_or_default();
    let day = |d: Option<chrono::NaiveDateTime>| book::vn::date(d);
    for c in &summary.chronic {
        let code = c.diagnosis.icd10.trim().to_ascii_uppercase();
        let facility = match names.get(&c.facility) {
            Some(n) => format!("{n} ({})", c.facility),
            None => format!("Cơ sở {}", c.facility),
        };
        let name = c
            .diagnosis
            .name
            .clone()
            .or_else(|| book::terms::icd10_name(&code).map(str::to_string))
            .unwrap_or_default();
        let detail = if c.visits > 1 {
            format!(
                "{code} {name} · {} lượt khám, từ {} đến {}",
                c.visits,
                day(c.first_seen),
                day(c.last_seen)
            )
        } else {
            format!("{code} {name} · {}", day(c.last_seen))
        };
        let source = Source {
            kind: "dossier",
            label: facility,
            detail,
        };
        let same = out.iter_mut().find(|k| {
            k.icd10.as_deref().is_some_and(|x| {
                let x = x.trim().to_ascii_uppercase();
                x == code || category(&x) == category(&code)
            })
        });
        match same {
            Some(k) => k.sources.push(source),
            None => out.push(KnownCondition {
                text: name,
                icd10: Some(code),
                sources: vec![source],
            }),
        }
    }
    out
}

async fn patient_summary(u: StaffUser, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let (grant, summary, _, names) = read_summary(&u, pid).await?;
    let side = read_record_side(&u, pid).await?;
    let patient = patient_head(u.app(), pid).await?;
    // What must be seen before anything is prescribed comes first.
    Ok(Json(serde_json::json!({
        "allergies": allergies_of(side.as_ref()),
        "conditions": conditions_of(side.as_ref(), &summary, &names),
        "blood_group": side.as_ref().and_then(|s| s.profile.blood_group.clone()),
        "record": side.as_ref().map(|s| serde_json::json!({
            "station": s.station,
            "updated_at": s.updated_at,
            "closed": s.closed,
            "profile": s.profile,
        })),
        "patient": patient,
        "grant": wire::Grant::from(grant),
        "summary": summary,
        "facility_names": names,
    }))
    .into_response())
}

async fn patient_episodes(u: StaffUser, Path(pid): Path<i64>) -> Result<Response, ApiError> {
    let who = u.actor();
    let eps = serve(u.app(), move |s| s.episodes(&who, pid, "episodes")).await?;
    let list: Vec<serde_json::Value> = eps
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "facility": e.facility,
                "admitted": e.view.admitted,
                "discharged": e.view.discharged,
                "care_type_label": e.view.care_type_label,
                "main_diagnosis": e.view.main_diagnosis,
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

/// One episode of a patient, read under the caller's full grant (and recorded).
pub(crate) async fn read_episode(
    u: &StaffUser,
    pid: i64,
    id: i64,
) -> Result<(store::EpisodeRecord, Names), ApiError> {
    let who = u.actor();
    let e = serve(u.app(), move |s| s.episode(&who, pid, id, "episode"))
        .await?
        .data;
    let names = facility_names(u.app(), &[&e]).await;
    Ok((e, names))
}

async fn patient_episode(
    u: StaffUser,
    Path((pid, id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let (e, names) = read_episode(&u, pid, id).await?;
    // The same shape as the citizen's, nested as `episode` (with its facility names
    // beside it, as before).
    let episode = wire::Episode::of(e, names.clone());
    Ok(Json(serde_json::json!({"episode": episode, "facility_names": names})).into_response())
}

// ---------------------------------------------------------------------------
// Administration
// ---------------------------------------------------------------------------

async fn list_units(u: StaffUser) -> Result<Response, ApiError> {
    u.allow(&Action::ListUnits)?;
    let store = u.app.store.clone();
    let units: Vec<wire::Unit> = wire::all(blocking(move || store.units()).await?);
    Ok(Json(units).into_response())
}

#[derive(Deserialize)]
struct UnitBody {
    name: String,
    level: String,
    parent: Option<String>,
    scheme: String,
}

async fn put_unit(
    u: StaffUser,
    Path(code): Path<String>,
    Json(b): Json<UnitBody>,
) -> Result<Response, ApiError> {
    u.allow(&Action::ManageUnits)?;
    let unit = Unit {
        code,
        name: b.name,
        level: b.level,
        parent: b.parent.filter(|p| !p.is_empty()),
        scheme: b.scheme,
    };
    let store = u.app.store.clone();
    let saved = unit.clone();
    tokio::task::spawn_blocking(move || store.upsert_unit(&unit))
        .await
        .map_err(internal)?
        .map_err(store_error)?;
    Ok(Json(wire::Unit::from(saved)).into_response())
}

/// The facilities the caller may see.
pub(crate) async fn visible_facilities(u: &StaffUser) -> Result<Vec<Facility>, ApiError> {
    u.allow(&Action::ListFacilities)?;
    let store = u.app.store.clone();
    let all = blocking(move || {
        let all = store.facilities()?;
        let mut out = Vec::new();
        for f in all {
            let place = store.place_of_facility(&f.code)?.unwrap_or_default();
            out.push((f, place));
        }
        Ok(out)
    })
    .await?;
    Ok(all
        .into_iter()
        .filter(|(_, place)| u.allows(&Action::SeeFacility { place }))
        .map(|(f, _)| f)
        .collect())
}

async fn list_facilities(u: StaffUser) -> Result<Response, ApiError> {
    let list: Vec<wire::Facility> = wire::all(visible_facilities(&u).await?);
    Ok(Json(list).into_response())
}

async fn facility_and_place(
    app: &Arc<App>,
    code: String,
) -> Result<Option<(Facility, Place)>, ApiError> {
    let store = app.store.clone();
    blocking(move || {
        let Some(f) = store.facility(&code)? else {
            return Ok(None);
        };
        let place = store.place_of_facility(&code)?.unwrap_or_default();
        Ok(Some((f, place)))
    })
    .await
}

async fn get_facility(u: StaffUser, Path(code): Path<String>) -> Result<Response, ApiError> {
    let found = facility_and_place(u.app(), code).await?;
    // What the caller may not see does not exist for them.
    let Some((f, place)) = found.filter(|(_, p)| u.allows(&Action::SeeFacility { place: p }))
    else {
        u.allow(&Action::ListFacilities)?;
        return Err(not_found());
    };
    u.allow(&Action::SeeFacility { place: &place })?;
    Ok(Json(wire::Facility::from(f)).into_response())
}

/// A facility the caller manages (its certificates are theirs to register and revoke):
/// unknown or out of scope, it does not exist for them.
async fn managed_facility(u: &StaffUser, code: String) -> Result<Facility, ApiError> {
    let found = facility_and_place(u.app(), code).await?;
    let Some((f, place)) = found.filter(|(_, p)| u.allows(&Action::SeeFacility { place: p }))
    else {
        u.allow(&Action::ListFacilities)?;
        return Err(not_found());
    };
    u.allow(&Action::ManageFacility { place: &place })?;
    Ok(f)
}

/// The certificates a facility registered for its signatures.
pub(crate) async fn facility_certs(
    u: &StaffUser,
    code: String,
) -> Result<(Facility, Vec<store::FacilityCert>), ApiError> {
    let f = managed_facility(u, code).await?;
    let store = u.app.store.clone();
    let c = f.code.clone();
    let list = blocking(move || store.facility_certs(Some(&c))).await?;
    Ok((f, list))
}

/// Register a certificate (PEM) for a facility; the registration names who made it.
pub(crate) async fn add_facility_cert(
    u: &StaffUser,
    code: String,
    pem: &str,
) -> Result<store::FacilityCert, ApiError> {
    let f = managed_facility(u, code).await?;
    let cert = crate::facility_cert(&f.code, pem.as_bytes(), &u.account.username).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "certificate",
            format!("Chứng thư số không đọc được: {e}"),
        )
    })?;
    let store = u.app.store.clone();
    let saved = cert.clone();
    blocking(move || store.add_facility_cert(&cert)).await?;
    Ok(saved)
}

/// Revoke a facility's registration of a certificate (false: none was live).
pub(crate) async fn revoke_facility_cert(
    u: &StaffUser,
    code: String,
    fingerprint: String,
) -> Result<bool, ApiError> {
    let f = managed_facility(u, code).await?;
    let store = u.app.store.clone();
    let by = u.account.username.clone();
    blocking(move || store.revoke_facility_cert(&f.code, fingerprint.trim(), &by)).await
}

#[derive(Deserialize)]
pub(crate) struct FacilityBody {
    pub name: String,
    #[serde(default)]
    pub province: Option<String>,
    pub kind: String,
    #[serde(default = "yes")]
    pub bhyt_contract: bool,
    #[serde(default)]
    pub unit: Option<String>,
}

fn yes() -> bool {
    true
}

/// Create or change a facility, within the caller's scope before and after.
pub(crate) async fn save_facility(
    u: &StaffUser,
    code: String,
    b: FacilityBody,
) -> Result<Facility, ApiError> {
    let f = checked_facility(u, code, b).await?;
    let store = u.app.store.clone();
    let saved = f.clone();
    tokio::task::spawn_blocking(move || store.upsert_facility(&f))
        .await
        .map_err(internal)?
        .map_err(store_error)?;
    u.app.facility_names.clear();
    Ok(saved)
}

/// Facilities from CSV: every line is checked (and authorized) first, then all are
/// saved in one transaction, or none.
pub(crate) async fn import_facilities(
    u: &StaffUser,
    rows: Vec<(u64, Facility)>,
) -> Result<usize, ApiError> {
    let mut checked = Vec::with_capacity(rows.len());
    for (line, f) in rows {
        let body = FacilityBody {
            name: f.name,
            province: Some(f.province),
            kind: f.kind,
            bhyt_contract: f.bhyt_contract,
            unit: f.unit,
        };
        let f = checked_facility(u, f.code.clone(), body)
            .await
            .map_err(|ApiError(s, c, m)| ApiError(s, c, format!("dòng {line}: {m}")))?;
        checked.push(f);
    }
    let store = u.app.store.clone();
    let saved = tokio::task::spawn_blocking(move || store.import_facilities(&checked))
        .await
        .map_err(internal)?
        .map_err(store_error);
    u.app.facility_names.clear();
    saved
}

/// A facility as it would be saved, once the caller may save it.
async fn checked_facility(
    u: &StaffUser,
    code: String,
    b: FacilityBody,
) -> Result<Facility, ApiError> {
    let unit = b.unit.filter(|x| !x.is_empty());
    let province = b
        .province
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| code.get(..2).unwrap_or_default().to_string());
    let store = u.app.store.clone();
    let u2 = unit.clone();
    let mut place = blocking(move || match u2 {
        Some(x) => store.place_of_unit(&x),
        None => Ok(Place::default()),
    })
    .await?;
    if place.province.is_none() {
        place.province = Some(province.clone());
    }
    if place.province.as_deref() != Some(province.as_str()) {
        return Err(bad_request(
            "unit_outside_province",
            format!("Đơn vị hành chính không thuộc tỉnh {province}"),
        ));
    }
    place.facility = Some(code.clone());
    u.allow(&Action::ManageFacility { place: &place })?;
    if let Some((_, old)) = facility_and_place(u.app(), code.clone()).await? {
        u.allow(&Action::ManageFacility { place: &old })?;
    }
    Ok(Facility {
        code,
        name: b.name.trim().to_string(),
        province,
        kind: b.kind,
        bhyt_contract: b.bhyt_contract,
        unit,
    })
}

async fn put_facility(
    u: StaffUser,
    Path(code): Path<String>,
    Json(b): Json<FacilityBody>,
) -> Result<Response, ApiError> {
    Ok(Json(wire::Facility::from(save_facility(&u, code, b).await?)).into_response())
}

/// Where a staff account (existing or proposed) is scoped.
async fn account_place(app: &Arc<App>, a: &StaffAccount) -> Result<Place, ApiError> {
    let a2 = app.clone();
    let acc = a.clone();
    blocking(move || scope_of(&a2, &acc)).await
}

/// The staff accounts the caller administers.
pub(crate) async fn visible_staff(u: &StaffUser) -> Result<Vec<StaffAccount>, ApiError> {
    u.allow(&Action::ListStaff)?;
    let store = u.app.store.clone();
    let all = blocking(move || store.staff_list()).await?;
    let mut out = Vec::new();
    for a in all {
        let place = account_place(u.app(), &a).await?;
        if u.allows(&Action::ManageStaff {
            role: a.role,
            place: &place,
        }) {
            out.push(a);
        }
    }
    Ok(out)
}

async fn list_staff(u: StaffUser) -> Result<Response, ApiError> {
    let list: Vec<wire::StaffAccount> = wire::all(visible_staff(&u).await?);
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
pub(crate) struct StaffBody {
    pub full_name: String,
    pub role: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub facility: Option<String>,
    #[serde(default)]
    pub practising_cert: Option<String>,
    /// Absent: unchanged (a new account is active).
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Create or change a staff account, within what the caller administers before and after.
pub(crate) async fn save_staff(
    u: &StaffUser,
    username: String,
    b: StaffBody,
) -> Result<StaffAccount, ApiError> {
    let role = Role::from_code(&b.role)
        .filter(|r| r.is_staff())
        .ok_or_else(|| bad_request("role", format!("Vai trò không hợp lệ: {}", b.role)))?;
    let nonempty = |s: Option<String>| s.map(|x| x.trim().to_string()).filter(|x| !x.is_empty());
    let account = StaffAccount {
        username: username.trim().to_string(),
        full_name: b.full_name.trim().to_string(),
        role,
        unit: nonempty(b.unit),
        facility: nonempty(b.facility),
        practising_cert: nonempty(b.practising_cert),
        active: b.active.unwrap_or(true),
    };
    let place = account_place(u.app(), &account).await?;
    u.allow(&Action::ManageStaff {
        role,
        place: &place,
    })?;
    let store = u.app.store.clone();
    let name = account.username.clone();
    let mut account = account;
    if let Some(old) = blocking(move || store.staff(&name)).await? {
        let old_place = account_place(u.app(), &old).await?;
        u.allow(&Action::ManageStaff {
            role: old.role,
            place: &old_place,
        })?;
        if b.active.is_none() {
            account.active = old.active;
        }
    }
    let store = u.app.store.clone();
    let saved = account.clone();
    let password = nonempty(b.password);
    tokio::task::spawn_blocking(move || store.upsert_staff(&account, password.as_deref()))
        .await
        .map_err(internal)?
        .map_err(store_error)?;
    Ok(saved)
}

async fn put_staff(
    u: StaffUser,
    Path(username): Path<String>,
    Json(b): Json<StaffBody>,
) -> Result<Response, ApiError> {
    Ok(Json(wire::StaffAccount::from(save_staff(&u, username, b).await?)).into_response())
}

/// The break-glass grants of the caller's facility, for review.
/// The break-glass grants of the caller's facility, for review. Who the patient is
/// shows only while a grant awaits review, and showing it is recorded in the patient's
/// log (reviewing is reading).
pub(crate) async fn break_glass_list(
    u: &StaffUser,
) -> Result<Vec<(Grant, PatientHead, Option<StaffAccount>)>, ApiError> {
    let grants = break_glass_grants(u).await?;
    let mut out = Vec::new();
    for g in grants {
        let head = if g.reviewed_at.is_none() {
            u.record(
                g.person_id,
                "review",
                Some(g.id.to_string()),
                Basis::BreakGlass,
                Some(g.id),
            )
            .await?;
            patient_head(u.app(), g.person_id).await?
        } else {
            PatientHead {
                id: g.person_id,
                name: None,
                birth: None,
                sex: None,
            }
        };
        let store = u.app.store.clone();
        let user = g.username.clone();
        let by = blocking(move || store.staff(&user)).await?;
        out.push((g, head, by));
    }
    Ok(out)
}

async fn break_glass_grants(u: &StaffUser) -> Result<Vec<Grant>, ApiError> {
    let facility = u.account.facility.clone().unwrap_or_default();
    u.allow(&Action::ReviewBreakGlass {
        facility: &facility,
    })?;
    let store = u.app.store.clone();
    blocking(move || store.break_glass_of(&facility)).await
}

/// How many break-glass grants of the caller's facility await review (no identities).
pub(crate) async fn break_glass_pending(u: &StaffUser) -> Result<usize, ApiError> {
    Ok(break_glass_grants(u)
        .await?
        .iter()
        .filter(|g| g.reviewed_at.is_none())
        .count())
}

async fn list_break_glass(u: StaffUser) -> Result<Response, ApiError> {
    let list: Vec<serde_json::Value> = break_glass_list(&u)
        .await?
        .into_iter()
        .map(|(g, p, by)| {
            serde_json::json!({
                "grant": wire::Grant::from(g),
                "patient": p,
                "by": by.map(wire::StaffAccount::from),
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ReviewBody {
    pub note: String,
}

/// Record the facility administrator's review of a break-glass access.
pub(crate) async fn review(u: &StaffUser, pid: i64, id: i64, note: &str) -> Result<(), ApiError> {
    let store = u.app.store.clone();
    let grants = blocking(move || store.grants_on(pid)).await?;
    let own = u.account.facility.clone().unwrap_or_default();
    u.allow(&Action::ReviewBreakGlass { facility: &own })?;
    // Another facility's grant and no grant look the same.
    let Some(g) = grants.into_iter().find(|g| {
        g.id == id && g.basis == Basis::BreakGlass && g.facility.as_deref() == Some(own.as_str())
    }) else {
        return Err(not_found());
    };
    u.allow(&Action::ReviewBreakGlass {
        facility: g.facility.as_deref().unwrap_or(""),
    })?;
    if note.trim().is_empty() {
        return Err(bad_request("note_required", "Ghi nhận xét khi xem xét"));
    }
    let store = u.app.store.clone();
    let reviewer = u.account.username.clone();
    let note = note.trim().to_string();
    if !blocking(move || store.review_break_glass(pid, id, &reviewer, &note)).await? {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "already_reviewed",
            "Lượt truy cập này đã được xem xét".into(),
        ));
    }
    Ok(())
}

async fn review_break_glass(
    u: StaffUser,
    Path((pid, id)): Path<(i64, i64)>,
    Json(b): Json<ReviewBody>,
) -> Result<Response, ApiError> {
    review(&u, pid, id, &b.note).await?;
    Ok(Json(serde_json::json!({"reviewed": true})).into_response())
}

/// Who the caller acts for, as written on what they hand out.
fn issuer(u: &StaffUser) -> String {
    let place = u
        .account
        .facility
        .clone()
        .or(u.account.unit.clone())
        .unwrap_or_default();
    format!("{} ({place})", u.account.username)
}

/// Where a person is known: where they live (population registry) and, for an
/// activation code (`treated` true), the facilities whose own episodes of them were linked
/// by personal ID with no identity conflict. A referral's destination never counts (the
/// sender writes it), and a guardianship needs the registry: a dossier is what a facility
/// claims, and must not let its staff enrol themselves into someone's book. Enrolment is
/// allowed to staff of one of these places only.
async fn known_places(
    app: &Arc<App>,
    personal_id: &str,
    treated: bool,
) -> Result<Option<(i64, Vec<Place>)>, ApiError> {
    let store = app.store.clone();
    let pid = personal_id.trim().to_string();
    blocking(move || {
        let Some(p) = store.person_by_identifier(IdKind::PersonalId, &pid)? else {
            return Ok(None);
        };
        let mut places = Vec::new();
        if let Some(unit) = store.residence_of(&pid)? {
            places.push(store.place_of_unit(&unit)?);
        }
        let mut codes: Vec<String> = Vec::new();
        if treated {
            for e in store.episodes_of(p.id)? {
                if e.confidence == "high" && store.identity_conflicts(&e.facility, &e.ma_lk)? == 0 {
                    codes.push(e.facility.clone());
                }
            }
        }
        codes.sort();
        codes.dedup();
        for c in codes {
            if let Some(place) = store.place_of_facility(&c)? {
                places.push(place);
            }
        }
        Ok(Some((p.id, places)))
    })
    .await
}

fn unknown_person() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "unknown_person",
        "Không tìm thấy người có số định danh này".into(),
    )
}

/// Refuse enrolment outside the places the person is known at (as "unknown person",
/// so that staff cannot probe who exists elsewhere).
async fn enrolment_target(
    u: &StaffUser,
    personal_id: &str,
    treated: bool,
) -> Result<i64, ApiError> {
    let no_places: [Place; 0] = [];
    // Roles that never enrol are refused as such.
    if !matches!(u.account.role, Role::CommuneStaff | Role::FacilityAdmin) {
        u.allow(&Action::EnrolPersons { places: &no_places })?;
    }
    let Some((person, places)) = known_places(u.app(), personal_id, treated).await? else {
        return Err(unknown_person());
    };
    if !u.allows(&Action::EnrolPersons { places: &places }) {
        return Err(unknown_person());
    }
    Ok(person)
}

#[derive(Deserialize)]
struct ActivationBody {
    personal_id: String,
}

/// Activation codes live three days.
const ACTIVATION_TTL_MS: i64 = 3 * 24 * 3_600_000;

async fn issue_activation(
    u: StaffUser,
    Json(b): Json<ActivationBody>,
) -> Result<Response, ApiError> {
    let person = enrolment_target(&u, &b.personal_id, true).await?;
    let store = u.app.store.clone();
    if blocking(move || store.has_citizen_account(person)).await? {
        // A new code would let whoever holds it replace the person's passcode.
        return Err(ApiError(
            StatusCode::CONFLICT,
            "already_activated",
            "Người này đã có tài khoản. Cấp lại mã khóa phải do người dân yêu cầu trực tiếp với quản trị hệ thống (healthbook citizen code)".into(),
        ));
    }
    let store = u.app.store.clone();
    let by = issuer(&u);
    // Decided again inside the store's transaction: if the person activated meanwhile,
    // no code is made (staff never hold a reset code).
    let code = blocking(move || {
        store.issue_code(
            person,
            &by,
            ACTIVATION_TTL_MS,
            store::CodePurpose::Activation,
        )
    })
    .await?;
    u.record(person, "activation_code", None, Basis::Enrolment, None)
        .await?;
    Ok(
        Json(serde_json::json!({"code": code, "expires_in_seconds": ACTIVATION_TTL_MS / 1000}))
            .into_response(),
    )
}

#[derive(Deserialize)]
struct GuardianBody {
    guardian_personal_id: String,
    ward_personal_id: String,
    /// The paper that shows it: birth certificate, court decision…
    basis: String,
}

async fn record_guardian(u: StaffUser, Json(b): Json<GuardianBody>) -> Result<Response, ApiError> {
    let ward = enrolment_target(&u, &b.ward_personal_id, false).await?;
    if b.basis.trim().is_empty() {
        return Err(bad_request(
            "basis_required",
            "Ghi căn cứ giám hộ (giấy khai sinh, quyết định của tòa án…)",
        ));
    }
    let store = u.app.store.clone();
    let by = format!("{} — {}", issuer(&u), b.basis.trim());
    let gpid = b.guardian_personal_id.trim().to_string();
    let guardian = tokio::task::spawn_blocking(move || {
        let Some(g) = store.person_by_identifier(IdKind::PersonalId, &gpid)? else {
            return Ok(None);
        };
        store.grant_guardian(g.id, ward, &by).map(|()| Some(g.id))
    })
    .await
    .map_err(internal)?
    .map_err(store_error)?
    .ok_or_else(unknown_person)?;
    // The ward's log shows who was given their book, by whom.
    u.record(
        ward,
        "guardian",
        Some(guardian.to_string()),
        Basis::Enrolment,
        None,
    )
    .await?;
    Ok(Json(serde_json::json!({"recorded": true})).into_response())
}

async fn verify_audit(u: StaffUser) -> Result<Response, ApiError> {
    u.allow(&Action::VerifyAudit)?;
    let store = u.app.store.clone();
    let report = blocking(move || store.verify_audit()).await?;
    Ok(Json(report).into_response())
}
