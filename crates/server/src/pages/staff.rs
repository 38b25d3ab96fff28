//! The staff pages under `/nhan-vien`, from templates (`templates/staff/`): sign-in
//! (which returns to the page asked for, so a share code's QR survives it); for
//! clinicians, opening a patient's book by share code, referral or — set apart —
//! break-glass, then the summary and the visits; for administrators, break-glass
//! review, facilities and their certificates, accounts and units. The same rules as the
//! staff API (`crate::staff`), which these handlers call.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use book::access::{Action, Basis, Role, Scope};
use serde::Deserialize;

use super::citizen::{VisitPage, VisitView, facility, practitioners_of};
use super::redirect;
use super::{ErrorPage, Frame, date, render, when};
use crate::App;
use crate::http::{ApiError, token_from};
use crate::staff::{self, STAFF_COOKIE, StaffUser};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/nhan-vien", get(home))
        .route("/nhan-vien/dang-nhap", get(login_page).post(login))
        .route("/nhan-vien/dang-xuat", post(logout))
        .route("/nhan-vien/ma", get(code_page).post(code_submit))
        .route("/nhan-vien/xac-minh", get(verify_page))
        .route("/nhan-vien/chuyen-tuyen", post(referral_submit))
        .route("/nhan-vien/khan-cap", post(break_glass_submit))
        .route("/nhan-vien/benh-nhan/{pid}", get(patient_page))
        .route("/nhan-vien/benh-nhan/{pid}/luot/{id}", get(patient_visit))
        .route("/nhan-vien/xem-xet", get(review_page))
        .route("/nhan-vien/xem-xet/{pid}/{id}", post(review_submit))
        .route(
            "/nhan-vien/co-so",
            get(facilities_page).post(facility_submit),
        )
        .route("/nhan-vien/co-so/csv", post(facilities_csv))
        .route(
            "/nhan-vien/co-so/{code}/chung-thu",
            get(certs_page).post(cert_submit),
        )
        .route(
            "/nhan-vien/co-so/{code}/chung-thu/thu-hoi",
            post(cert_revoke),
        )
        .route("/nhan-vien/tai-khoan", get(staff_page).post(staff_submit))
        .route("/nhan-vien/don-vi", get(units_page))
        .route("/nhan-vien/don-vi/csv", post(units_csv))
}

/// An error as a page: the API's status and its Vietnamese message.
pub(crate) fn error_page(headers: &HeaderMap, e: ApiError) -> Response {
    let ApiError(status, _, message) = e;
    let page = ErrorPage {
        frame: Frame::staff("Không thực hiện được", headers),
        heading: if status == StatusCode::NOT_FOUND {
            "Không tìm thấy".into()
        } else {
            "Không thực hiện được".into()
        },
        message,
        back_href: "/nhan-vien".into(),
        back_label: "← Trang chính".into(),
    };
    (status, render(&page)).into_response()
}

/// The signed-in member of staff; otherwise the sign-in page, which returns to `back`.
async fn user(app: &Arc<App>, headers: &HeaderMap, back: &str) -> Result<StaffUser, Response> {
    let to_login = || match safe_next(back) {
        "/nhan-vien" => redirect("/nhan-vien/dang-nhap"),
        next => redirect(&format!("/nhan-vien/dang-nhap?next={}", url_encoded(next))),
    };
    let Some(token) = token_from(headers, STAFF_COOKIE) else {
        return Err(to_login());
    };
    match StaffUser::from_token(app, token).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(to_login()),
        Err(e) => Err(error_page(headers, e)),
    }
}

fn url_encoded(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|q| q[2..].to_string())
        .unwrap_or_default()
}

/// Where sign-in may return to: a page of ours under `/nhan-vien`, nothing else.
fn safe_next(next: &str) -> &str {
    let ok = (next.starts_with("/nhan-vien") || next == "/tram" || next.starts_with("/tram/"))
        && !next.starts_with("/nhan-vien/dang-")
        && !next.contains("//")
        && !next.contains('\\')
        && next.chars().all(|c| c.is_ascii_graphic());
    if ok { next } else { "/nhan-vien" }
}

macro_rules! signed_in {
    ($app:expr, $headers:expr, $uri:expr) => {
        match user(&$app, &$headers, &$uri.to_string()).await {
            Ok(u) => u,
            Err(r) => return r,
        }
    };
    ($app:expr, $headers:expr) => {
        signed_in!($app, $headers, "/nhan-vien")
    };
}

/// A line of news above a form: saved, or why not.
struct Notice {
    ok: bool,
    text: String,
}

impl Notice {
    fn of(r: (bool, String)) -> Option<Notice> {
        Some(Notice { ok: r.0, text: r.1 })
    }
}

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    frame: Frame,
    error: Option<String>,
    username: String,
    next: String,
    opening_code: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

fn login_view(
    headers: &HeaderMap,
    next: &str,
    error: Option<String>,
    username: String,
) -> LoginPage {
    let next = safe_next(next);
    let next = if next == "/nhan-vien" { "" } else { next };
    LoginPage {
        frame: Frame::staff("Đăng nhập nhân viên", headers),
        error,
        username,
        opening_code: next.starts_with("/nhan-vien/ma"),
        next: next.to_string(),
    }
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    render(&login_view(&headers, &q.next, None, String::new()))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let username = f.username.clone();
    let body = staff::LoginBody {
        username: f.username,
        password: f.password,
    };
    match staff::sign_in(&app, ip, body).await {
        Ok((token, _)) => {
            let mut res = redirect(safe_next(&f.next));
            if let Some(c) = staff::staff_cookie(&token) {
                res.headers_mut().insert(SET_COOKIE, c);
            }
            res
        }
        Err(ApiError(status, _, message)) => (
            status,
            render(&login_view(&headers, &f.next, Some(message), username)),
        )
            .into_response(),
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = token_from(&headers, STAFF_COOKIE) {
        let store = app.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.end_staff_session(&t)).await;
    }
    let mut res = redirect("/nhan-vien/dang-nhap");
    res.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("hb_staff=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    res
}

// ---------------------------------------------------------------------------
// Home, opening a book
// ---------------------------------------------------------------------------

fn basis_label(b: Basis) -> &'static str {
    match b {
        Basis::Consent => "Mã chia sẻ của người bệnh",
        Basis::Referral => "Giấy chuyển tuyến",
        Basis::BreakGlass => "Truy cập khẩn cấp",
        Basis::Enrolment => "Đăng ký",
        Basis::System => "Hệ thống kết nối (FHIR)",
        Basis::Guardianship => "Người giám hộ",
        Basis::Document => "Bản in người bệnh đưa",
        Basis::Residence => "Trạm y tế nơi cư trú",
        Basis::Reception => "Tra cứu thẻ khi tiếp đón",
    }
}

fn scope_label(s: Scope) -> &'static str {
    match s {
        Scope::Full => "toàn bộ sổ",
        Scope::Summary => "tóm tắt",
    }
}

/// A birth date as stored (`yyyyMMdd[HHmm]`, month/day 00 when unknown) for people.
fn birth(b: &Option<String>) -> String {
    let Some(b) = b.as_deref().filter(|b| b.len() >= 8 && b.is_ascii()) else {
        return String::new();
    };
    let (y, m, d) = (&b[..4], &b[4..6], &b[6..8]);
    match (m, d) {
        ("00", _) => format!("năm sinh {y}"),
        (_, "00") => format!("sinh {m}/{y}"),
        _ => format!("sinh {d}/{m}/{y}"),
    }
}

fn sex(s: &Option<String>) -> &'static str {
    match s.as_deref() {
        Some("1") => "Nam",
        Some("2") => "Nữ",
        _ => "Chưa rõ giới tính",
    }
}

fn instant(ms: i64) -> String {
    when(Some(crate::vn_wall_clock(ms)))
}

struct PatientLink {
    href: String,
    name: String,
    facts: String,
    grant: String,
}

#[derive(Template)]
#[template(path = "staff/home.html")]
struct HomePage {
    frame: Frame,
    name: String,
    role: &'static str,
    place: String,
    pending: Option<String>,
    clinician: bool,
    code: String,
    code_error: Option<String>,
    patients: Vec<PatientLink>,
    links: Vec<(&'static str, &'static str)>,
    min_reason: usize,
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    let a = &u.account;
    let clinician = u.allows(&Action::UseShareCode);
    let mut patients = Vec::new();
    if clinician {
        match staff::my_patients(&u).await {
            Ok(list) => {
                for (g, p) in list {
                    patients.push(PatientLink {
                        href: format!("/nhan-vien/benh-nhan/{}", p.id),
                        name: p.name.clone().unwrap_or_default(),
                        facts: format!("{} · {}", birth(&p.birth), sex(&p.sex)),
                        grant: format!("{} · đến {}", basis_label(g.basis), instant(g.expires_at)),
                    });
                }
            }
            Err(e) => return error_page(&headers, e),
        }
    }
    let mut links = Vec::new();
    if a.role == Role::CommuneStaff && u.allows(&Action::KeepRecord { place: &u.scope }) {
        links.push(("/tram", "Trạm y tế: hồ sơ sức khỏe người dân"));
    }
    let own = a.facility.clone().unwrap_or_default();
    let mut pending = None;
    if u.allows(&Action::ReviewBreakGlass { facility: &own }) {
        match staff::break_glass_pending(&u).await {
            Ok(n) if n > 0 => {
                pending = Some(format!("{n} lượt truy cập khẩn cấp đang chờ xem xét."));
            }
            Ok(_) => {}
            Err(e) => return error_page(&headers, e),
        }
        links.push(("/nhan-vien/xem-xet", "Xem xét truy cập khẩn cấp"));
    }
    if u.allows(&Action::ListUnits) {
        links.push(("/nhan-vien/don-vi", "Đơn vị hành chính"));
    }
    if u.allows(&Action::ViewReports { place: &u.scope }) {
        links.push(("/nhan-vien/bao-cao", "Báo cáo, giám sát"));
    } else if u.allows(&Action::KeepRecord { place: &u.scope }) {
        // A commune station sees its commune's residents and records.
        links.push(("/nhan-vien/bao-cao", "Báo cáo hồ sơ sức khỏe của xã"));
    }
    if u.allows(&Action::SubmitUnitReport { place: &u.scope }) {
        links.push(("/nhan-vien/bao-cao/phu-luc-1", "Báo cáo tháng (Phụ lục 1)"));
    }
    if u.allows(&Action::ListFacilities) {
        links.push(("/nhan-vien/co-so", "Cơ sở khám bệnh, chữa bệnh"));
    }
    if u.allows(&Action::ListStaff) {
        links.push(("/nhan-vien/tai-khoan", "Tài khoản nhân viên"));
    }
    render(&HomePage {
        frame: Frame::staff("Trang chính", &headers),
        name: a.full_name.clone(),
        role: a.role.label(),
        place: a
            .facility
            .clone()
            .or_else(|| a.unit.clone())
            .unwrap_or_default(),
        pending,
        clinician,
        code: String::new(),
        code_error: None,
        patients,
        links,
        min_reason: book::access::BREAK_GLASS_MIN_REASON,
    })
}

#[derive(Template)]
#[template(path = "staff/code.html")]
struct CodePage {
    frame: Frame,
    code: String,
    code_error: Option<String>,
}

#[derive(Deserialize)]
struct CodeQuery {
    #[serde(default)]
    ma: String,
}

/// The QR's target: the code form, filled in (opening needs the clinician's click). A
/// clinician who is not signed in signs in first and comes back here, code and all.
async fn code_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<CodeQuery>,
) -> Response {
    let u = signed_in!(app, headers, uri);
    if let Err(e) = u.allow(&Action::UseShareCode) {
        return error_page(&headers, e);
    }
    render(&CodePage {
        frame: Frame::staff("Mở sổ bằng mã chia sẻ", &headers),
        code: q.ma,
        code_error: None,
    })
}

async fn code_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<staff::CodeBody>,
) -> Response {
    let u = signed_in!(app, headers);
    match staff::redeem(&u, &f.code).await {
        Ok(g) => redirect(&format!("/nhan-vien/benh-nhan/{}", g.person_id)),
        // A wrong or spent code: the form again, with why and the code typed, to
        // correct it (never a dead end).
        Err(ApiError(status, _, message))
            if status == StatusCode::NOT_FOUND
                || status == StatusCode::BAD_REQUEST
                || status == StatusCode::TOO_MANY_REQUESTS =>
        {
            let page = CodePage {
                frame: Frame::staff("Mở sổ bằng mã chia sẻ", &headers),
                code: f.code.clone(),
                code_error: Some(format!(
                    "{message}. Kiểm tra lại mã người bệnh đưa (8 ký tự, ví dụ K7P4-M2QX), \
                     hoặc nhờ người bệnh tạo mã mới trong sổ của họ."
                )),
            };
            (status, render(&page)).into_response()
        }
        Err(e) => error_page(&headers, e),
    }
}

async fn referral_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<staff::ReferralBody>,
) -> Response {
    let u = signed_in!(app, headers);
    match staff::open_by_referral(&u, &f).await {
        Ok(g) => redirect(&format!("/nhan-vien/benh-nhan/{}", g.person_id)),
        Err(e) => error_page(&headers, e),
    }
}

async fn break_glass_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<staff::BreakGlassBody>,
) -> Response {
    let u = signed_in!(app, headers);
    match staff::open_break_glass(&u, &f).await {
        Ok(g) => redirect(&format!("/nhan-vien/benh-nhan/{}", g.person_id)),
        Err(e) => error_page(&headers, e),
    }
}

// ---------------------------------------------------------------------------
// Checking a printed visit
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "staff/verify.html")]
struct VerifyPage {
    frame: Frame,
    valid: bool,
    message: String,
    facts: Vec<(&'static str, String)>,
    state: String,
}

#[derive(Deserialize)]
struct VerifyQuery {
    #[serde(default)]
    d: String,
    /// The visit's facility and MA_LK: where its versions are found.
    #[serde(default)]
    f: String,
    #[serde(default)]
    lk: String,
}

/// The target of a PDF's QR code: whether the document was issued here for that
/// version of the visit (its digest under the server secret), and what the document
/// must then say. Only staff who receive patients' papers; each check is in the
/// person's audit chain.
async fn verify_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let u = signed_in!(app, headers, uri);
    if let Err(e) = u.allow(&Action::VerifyDocument) {
        return error_page(&headers, e);
    }
    let invalid = |message: &str| {
        let page = VerifyPage {
            frame: Frame::staff("Kiểm tra bản PDF", &headers),
            valid: false,
            message: message.to_string(),
            facts: Vec::new(),
            state: String::new(),
        };
        (StatusCode::NOT_FOUND, render(&page)).into_response()
    };
    let parts: Vec<&str> = q.d.trim().split('.').collect();
    let (Some(pid), Some(id), Some(version), Some(digest)) = (
        parts.first().and_then(|x| x.parse::<i64>().ok()),
        parts.get(1).and_then(|x| x.parse::<i64>().ok()),
        parts.get(2).and_then(|x| x.parse::<u32>().ok()),
        parts.get(3).filter(|_| parts.len() == 4),
    ) else {
        return invalid("Mã xác minh không đúng dạng.");
    };
    let store = app.store.clone();
    let (f, lk) = (q.f.clone(), q.lk.clone());
    let found = crate::http::blocking(move || {
        if !f.is_empty() && !lk.is_empty() {
            return store.episode_versions(&f, &lk);
        }
        match store.episode(pid, id)? {
            Some(current) => store.episode_versions(&current.facility, &current.ma_lk),
            None => Ok(Vec::new()),
        }
    })
    .await;
    let versions = match found {
        Ok(v) => v,
        Err(e) => return error_page(&headers, e),
    };
    let Some(printed) = versions
        .iter()
        .find(|e| e.id == id && e.version == version && e.person_id == pid)
    else {
        return invalid("Mã xác minh không hợp lệ: không có lượt khám nào ứng với mã này.");
    };
    let expected = crate::citizen::document_digest(&app, pid, printed);
    if !crate::security::same_secret(&expected, digest) {
        return invalid("Mã xác minh không hợp lệ: bản PDF không do Sổ sức khỏe điện tử lập.");
    }
    let newest = versions.iter().map(|e| e.version).max().unwrap_or(version);
    let names = crate::citizen::facility_names(&app, &[printed]).await;
    let entry = store::AuditEntry {
        person_id: pid,
        actor: u.account.username.clone(),
        role: u.account.role,
        facility: u.account.facility.clone(),
        action: "verify_pdf".into(),
        target: Some(format!("{id}.{version}")),
        basis: Basis::Document,
        grant_id: None,
        actor_name: Some(u.account.full_name.clone()),
        actor_cert: u.account.practising_cert.clone(),
    };
    let store = app.store.clone();
    if let Err(e) = crate::http::blocking(move || store.append_audit(&entry)).await {
        return error_page(&headers, e);
    }
    let v = &printed.view;
    render(&VerifyPage {
        frame: Frame::staff("Kiểm tra bản PDF", &headers),
        valid: true,
        message: String::new(),
        facts: vec![
            (
                "Cơ sở khám bệnh, chữa bệnh",
                facility(&names, &printed.facility),
            ),
            ("Vào lúc", when(v.admitted)),
            (
                "Mã lượt khám (MA_LK)",
                format!("{} — phiên bản {version}", printed.ma_lk),
            ),
        ],
        state: if newest > version {
            format!("Cơ sở đã gửi bản sửa (phiên bản {newest}): thông tin trong bản PDF này đã cũ.")
        } else {
            "Đây là phiên bản hiện hành của lượt khám.".into()
        },
    })
}

// ---------------------------------------------------------------------------
// The patient
// ---------------------------------------------------------------------------

struct ChronicRow {
    code: String,
    name: String,
    /// Where it is known from: "Hồ sơ sức khỏe (trạm y tế)", a hospital and its visits.
    sources: Vec<(String, String)>,
}

struct EpisodeCard {
    href: String,
    date: String,
    care: String,
    diagnosis: String,
    facility: String,
}

#[derive(Template)]
#[template(path = "staff/patient.html")]
struct PatientPage {
    frame: Frame,
    name: String,
    facts: String,
    glass: bool,
    grant: String,
    /// The allergy statement, each listed allergy, and where they come from.
    allergies: String,
    allergy_items: Vec<(String, String)>,
    allergy_source: String,
    /// The record's station and its state, when the person has a record.
    record_note: String,
    blood_group: String,
    chronic: Vec<ChronicRow>,
    problems: Vec<(String, String, String)>,
    medicines: Vec<(String, String, String)>,
    results: Vec<(String, String, String)>,
    appointments: Vec<String>,
    referrals: Vec<String>,
    full: bool,
    cards: Vec<EpisodeCard>,
}

fn text(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").trim().to_string()
}

async fn patient_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(pid): Path<i64>,
) -> Response {
    let u = signed_in!(app, headers, uri);
    let (grant, s, eps, names) = match staff::read_summary(&u, pid).await {
        Ok(x) => x,
        Err(e) => return error_page(&headers, e),
    };
    // The QĐ 831 record, when the person has one (read under the same grant and
    // recorded as `record.read`): allergies and chronic conditions come first.
    let side = match staff::read_record_side(&u, pid).await {
        Ok(x) => x,
        Err(e) => return error_page(&headers, e),
    };
    let p = match staff::patient_head(&app, pid).await {
        Ok(p) => p,
        Err(e) => return error_page(&headers, e),
    };
    let name_of = |d: &book::episode::Diagnosis| {
        d.name
            .clone()
            .or_else(|| book::terms::icd10_name(&d.icd10).map(str::to_string))
            .unwrap_or_default()
    };
    let allergies = staff::allergies_of(side.as_ref());
    let chronic: Vec<ChronicRow> = staff::conditions_of(side.as_ref(), &s, &names)
        .into_iter()
        .map(|c| ChronicRow {
            code: c.icd10.unwrap_or_default(),
            name: c.text,
            sources: c
                .sources
                .into_iter()
                .map(|src| (src.label, src.detail))
                .collect(),
        })
        .collect();
    let record_note = match &side {
        None => String::new(),
        Some(r) => {
            let station = r
                .station
                .clone()
                .unwrap_or_else(|| "chưa có trạm y tế quản lý".into());
            let closed = if r.closed {
                " Hồ sơ đã đóng (người đã mất)."
            } else {
                ""
            };
            format!(
                "{} do {station} quản lý, cập nhật lúc {}.{closed}",
                crate::citizen::RECORD_SOURCE,
                instant(r.updated_at)
            )
        }
    };
    let problems = s
        .problems
        .iter()
        .filter(|pr| {
            !s.chronic
                .iter()
                .any(|c| c.diagnosis.icd10 == pr.diagnosis.icd10)
        })
        .map(|pr| {
            (
                pr.diagnosis.icd10.clone(),
                name_of(&pr.diagnosis),
                format!(
                    "{} · {}",
                    date(pr.last_seen),
                    facility(&names, &pr.facility)
                ),
            )
        })
        .collect();
    let medicines = s
        .medicines
        .iter()
        .map(|m| (m.medicine.label(), text(&m.medicine.dose), date(m.at)))
        .collect();
    let results = s
        .abnormal_results
        .iter()
        .map(|r| {
            let x = &r.result;
            let what = x
                .indicator
                .clone()
                .or_else(|| x.service_name.clone())
                .unwrap_or_default();
            let value = match &x.value {
                Some(v) => format!(
                    "{} {} {}",
                    super::number_text(v),
                    text(&x.unit),
                    book::terms::flag(x).map(|f| f.label()).unwrap_or("")
                ),
                None => text(&x.conclusion),
            };
            (what, value.trim().to_string(), date(x.at))
        })
        .collect();
    let appointments = s
        .appointments
        .iter()
        .map(|a| {
            format!(
                "{} tại {} · {}",
                when(a.item.at),
                a.item
                    .facility
                    .as_deref()
                    .map(|f| facility(&names, f))
                    .unwrap_or_default(),
                text(&a.item.diagnosis)
            )
        })
        .collect();
    let referrals = s
        .referrals
        .iter()
        .map(|r| {
            format!(
                "Số {} · từ {} đến {} · {} · {}",
                text(&r.item.number),
                facility(&names, &r.facility),
                r.item
                    .to_facility
                    .as_deref()
                    .map(|f| facility(&names, f))
                    .unwrap_or_default(),
                date(r.issued),
                text(&r.item.diagnosis)
            )
        })
        .collect();
    let cards = eps
        .iter()
        .map(|e| {
            let v = &e.view;
            EpisodeCard {
                href: format!("/nhan-vien/benh-nhan/{pid}/luot/{}", e.id),
                date: date(v.admitted),
                care: text(&v.care_type_label),
                diagnosis: v
                    .main_diagnosis
                    .as_ref()
                    .map(|d| format!("{} · {}", d.icd10, name_of(d)))
                    .unwrap_or_default(),
                facility: facility(&names, &e.facility),
            }
        })
        .collect();
    let name = p.name.clone().unwrap_or_default();
    render(&PatientPage {
        frame: Frame::staff(format!("Người bệnh {name}"), &headers),
        facts: format!(
            "{} · {} · {} lượt khám, gần nhất {}",
            birth(&p.birth),
            sex(&p.sex),
            s.episodes,
            date(s.last_visit)
        ),
        name,
        glass: grant.basis == Basis::BreakGlass,
        grant: format!(
            "Quyền xem: {} ({}) đến {}. Mỗi lần xem đều được ghi lại và người bệnh được biết.",
            basis_label(grant.basis),
            scope_label(grant.scope),
            instant(grant.expires_at)
        ),
        allergy_items: allergies
            .items
            .iter()
            .map(|a| (a.kind.to_string(), a.text.clone()))
            .collect(),
        allergy_source: allergies
            .source
            .as_ref()
            .map(|src| match src.detail.is_empty() {
                true => src.label.clone(),
                false => format!("{} · {}", src.label, src.detail),
            })
            .unwrap_or_default(),
        allergies: allergies.text,
        blood_group: side
            .as_ref()
            .map(|r| {
                r.profile
                    .blood_group
                    .clone()
                    .unwrap_or_else(|| "chưa xác định".into())
            })
            .unwrap_or_default(),
        record_note,
        chronic,
        problems,
        medicines,
        results,
        appointments,
        referrals,
        full: grant.scope == Scope::Full,
        cards,
    })
}

async fn patient_visit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let u = signed_in!(app, headers, uri);
    let (e, names) = match staff::read_episode(&u, pid, id).await {
        Ok(x) => x,
        Err(e) => return error_page(&headers, e),
    };
    let practitioners = practitioners_of(&app, &e.view).await;
    let visit = VisitView::of(
        &e,
        &names,
        &practitioners,
        (
            format!("/nhan-vien/benh-nhan/{pid}"),
            "← Tóm tắt người bệnh".to_string(),
        ),
        None,
    );
    render(&VisitPage {
        frame: Frame::staff(visit.title().to_string(), &headers),
        visit,
    })
}

// ---------------------------------------------------------------------------
// Break-glass review
// ---------------------------------------------------------------------------

struct ReviewItem {
    id: i64,
    action: String,
    state: &'static str,
    at: String,
    patient: String,
    who: String,
    reason: String,
    reviewed: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/review.html")]
struct ReviewPage {
    frame: Frame,
    items: Vec<ReviewItem>,
}

async fn review_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let u = signed_in!(app, headers, uri);
    let list = match staff::break_glass_list(&u).await {
        Ok(l) => l,
        Err(e) => return error_page(&headers, e),
    };
    let items = list
        .into_iter()
        .map(|(g, p, by)| ReviewItem {
            id: g.id,
            action: format!("/nhan-vien/xem-xet/{}/{}", g.person_id, g.id),
            state: if g.reviewed_at.is_none() {
                "Chờ xem xét"
            } else {
                "Truy cập khẩn cấp"
            },
            at: instant(g.created_at),
            patient: format!("{} ({})", text(&p.name), birth(&p.birth)),
            who: by
                .map(|b| {
                    format!(
                        "{} (CCHN {})",
                        b.full_name,
                        b.practising_cert.unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| g.username.clone()),
            reason: text(&g.reason),
            reviewed: g.reviewed_by.as_ref().map(|r| {
                format!(
                    "bởi {} lúc {}: {}",
                    r,
                    g.reviewed_at.map(instant).unwrap_or_default(),
                    text(&g.review_note)
                )
            }),
        })
        .collect();
    render(&ReviewPage {
        frame: Frame::staff("Xem xét truy cập khẩn cấp", &headers),
        items,
    })
}

async fn review_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
    Form(f): Form<staff::ReviewBody>,
) -> Response {
    let u = signed_in!(app, headers);
    match staff::review(&u, pid, id, &f.note).await {
        Ok(()) => redirect("/nhan-vien/xem-xet"),
        Err(e) => error_page(&headers, e),
    }
}

// ---------------------------------------------------------------------------
// Facilities and their certificates
// ---------------------------------------------------------------------------

fn kind_label(k: &str) -> &'static str {
    match k {
        "hospital" => "Bệnh viện",
        "district_health_centre" => "Trung tâm y tế huyện",
        "polyclinic" => "Phòng khám đa khoa",
        "commune_station" => "Trạm y tế xã",
        "private_clinic" => "Phòng khám tư nhân",
        _ => "Khác",
    }
}

#[derive(Template)]
#[template(path = "staff/facilities.html")]
struct FacilitiesPage {
    frame: Frame,
    notice: Option<Notice>,
    manage: bool,
    kinds: Vec<(&'static str, &'static str)>,
    rows: Vec<(String, String, &'static str, &'static str)>,
}

/// The facilities page, with the outcome of what was just done.
async fn facilities(u: &StaffUser, headers: &HeaderMap, notice: Option<Notice>) -> Response {
    let list = match staff::visible_facilities(u).await {
        Ok(l) => l,
        Err(e) => return error_page(headers, e),
    };
    render(&FacilitiesPage {
        frame: Frame::staff("Cơ sở khám bệnh, chữa bệnh", headers),
        notice,
        manage: u.allows(&Action::ManageFacility { place: &u.scope }),
        kinds: store::FACILITY_KINDS
            .iter()
            .map(|k| (*k, kind_label(k)))
            .collect(),
        rows: list
            .iter()
            .map(|f| {
                (
                    f.code.clone(),
                    f.name.clone(),
                    kind_label(&f.kind),
                    if f.bhyt_contract { "Có" } else { "Không" },
                )
            })
            .collect(),
    })
}

async fn facilities_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let u = signed_in!(app, headers, uri);
    facilities(&u, &headers, None).await
}

#[derive(Deserialize)]
struct FacilityForm {
    code: String,
    name: String,
    kind: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    bhyt_contract: Option<String>,
}

async fn facility_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<FacilityForm>,
) -> Response {
    let u = signed_in!(app, headers);
    let code = f.code.trim().to_string();
    let r = staff::save_facility(
        &u,
        code.clone(),
        staff::FacilityBody {
            name: f.name,
            province: None,
            kind: f.kind,
            bhyt_contract: f.bhyt_contract.is_some(),
            unit: Some(f.unit.trim().to_string()),
        },
    )
    .await;
    let message = match r {
        Ok(saved) => (
            true,
            format!("Đã lưu cơ sở {} — {}", saved.code, saved.name),
        ),
        Err(ApiError(StatusCode::FORBIDDEN, _, m)) => (false, m),
        Err(ApiError(_, _, m)) => (false, format!("Cơ sở {code}: {m}")),
    };
    facilities(&u, &headers, Notice::of(message)).await
}

#[derive(Deserialize)]
struct CsvForm {
    csv: String,
}

async fn facilities_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<CsvForm>,
) -> Response {
    let u = signed_in!(app, headers);
    // Everything is checked before anything is saved: a bad line saves nothing.
    let message = match crate::registry::parse_facilities(f.csv.as_bytes()) {
        Err(e) => (false, format!("{e}. Chưa nhập cơ sở nào.")),
        Ok(rows) => match staff::import_facilities(&u, rows).await {
            Ok(n) => (true, format!("Đã nhập {n} cơ sở")),
            Err(ApiError(_, _, m)) => (false, format!("{m}. Chưa nhập cơ sở nào.")),
        },
    };
    facilities(&u, &headers, Notice::of(message)).await
}

/// A fingerprint in groups of four, so that it wraps on a narrow screen.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn day_of(ms: i64) -> String {
    date(Some(crate::vn_wall_clock(ms)))
}

struct CertRow {
    fingerprint: String,
    fingerprint_grouped: String,
    subject: String,
    valid: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/certs.html")]
struct CertsPage {
    frame: Frame,
    notice: Option<Notice>,
    name: String,
    code: String,
    rows: Vec<CertRow>,
}

async fn certs(
    u: &StaffUser,
    headers: &HeaderMap,
    code: String,
    notice: Option<Notice>,
) -> Response {
    let (f, list) = match staff::facility_certs(u, code).await {
        Ok(x) => x,
        Err(e) => return error_page(headers, e),
    };
    render(&CertsPage {
        frame: Frame::staff("Chứng thư số của cơ sở", headers),
        notice,
        name: f.name.clone(),
        code: f.code.clone(),
        rows: list
            .iter()
            .map(|c| CertRow {
                fingerprint: c.fingerprint.clone(),
                fingerprint_grouped: grouped(&c.fingerprint),
                subject: c.subject.clone(),
                valid: format!("{} – {}", day_of(c.not_before), day_of(c.not_after)),
                revoked: c.revoked_at.map(|t| {
                    format!(
                        "Đã thu hồi {} ({})",
                        day_of(t),
                        c.revoked_by.as_deref().unwrap_or("")
                    )
                }),
            })
            .collect(),
    })
}

async fn certs_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(code): Path<String>,
) -> Response {
    let u = signed_in!(app, headers, uri);
    certs(&u, &headers, code, None).await
}

#[derive(Deserialize)]
struct CertForm {
    pem: String,
}

async fn cert_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(f): Form<CertForm>,
) -> Response {
    let u = signed_in!(app, headers);
    let message = match staff::add_facility_cert(&u, code.clone(), &f.pem).await {
        Ok(c) => (
            true,
            format!("Đã đăng ký chứng thư số {}", grouped(&c.fingerprint)),
        ),
        Err(ApiError(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN, ..)) => {
            return error_page(&headers, crate::http::not_found());
        }
        Err(ApiError(_, _, m)) => (false, m),
    };
    certs(&u, &headers, code, Notice::of(message)).await
}

#[derive(Deserialize)]
struct RevokeForm {
    fingerprint: String,
}

async fn cert_revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let u = signed_in!(app, headers);
    let message = match staff::revoke_facility_cert(&u, code.clone(), f.fingerprint.clone()).await {
        Ok(true) => (
            true,
            format!("Đã thu hồi đăng ký {}", grouped(f.fingerprint.trim())),
        ),
        Ok(false) => (
            false,
            "Không có đăng ký còn hiệu lực với dấu vân tay này".into(),
        ),
        Err(e) => return error_page(&headers, e),
    };
    certs(&u, &headers, code, Notice::of(message)).await
}

// ---------------------------------------------------------------------------
// Accounts and units
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage {
    frame: Frame,
    notice: Option<Notice>,
    roles: Vec<(&'static str, &'static str)>,
    own_facility: String,
    rows: Vec<(String, String, &'static str, String)>,
}

async fn accounts(u: &StaffUser, headers: &HeaderMap, notice: Option<Notice>) -> Response {
    let list = match staff::visible_staff(u).await {
        Ok(l) => l,
        Err(e) => return error_page(headers, e),
    };
    render(&AccountsPage {
        frame: Frame::staff("Tài khoản nhân viên", headers),
        notice,
        roles: Role::ALL
            .into_iter()
            .filter(|r| r.is_staff())
            .map(|r| (r.code(), r.label()))
            .collect(),
        own_facility: u.account.facility.clone().unwrap_or_default(),
        rows: list
            .iter()
            .map(|a| {
                (
                    a.username.clone(),
                    format!(
                        "{}{}",
                        a.full_name,
                        if a.active { "" } else { " (đã khóa)" }
                    ),
                    a.role.label(),
                    a.facility
                        .as_deref()
                        .or(a.unit.as_deref())
                        .unwrap_or("toàn quốc")
                        .to_string(),
                )
            })
            .collect(),
    })
}

async fn staff_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let u = signed_in!(app, headers, uri);
    accounts(&u, &headers, None).await
}

#[derive(Deserialize)]
struct StaffForm {
    username: String,
    full_name: String,
    role: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    practising_cert: String,
    #[serde(default)]
    password: String,
    /// Checked: the account is locked.
    #[serde(default)]
    locked: Option<String>,
}

async fn staff_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<StaffForm>,
) -> Response {
    let u = signed_in!(app, headers);
    let username = f.username.trim().to_string();
    let r = staff::save_staff(
        &u,
        username.clone(),
        staff::StaffBody {
            full_name: f.full_name,
            role: f.role,
            unit: Some(f.unit),
            facility: Some(f.facility),
            practising_cert: Some(f.practising_cert),
            active: Some(f.locked.is_none()),
            password: Some(f.password),
        },
    )
    .await;
    let message = match r {
        Ok(a) => (true, format!("Đã lưu tài khoản {}", a.username)),
        Err(ApiError(_, _, m)) => (false, format!("Tài khoản {username}: {m}")),
    };
    accounts(&u, &headers, Notice::of(message)).await
}

#[derive(Template)]
#[template(path = "staff/units.html")]
struct UnitsPage {
    frame: Frame,
    notice: Option<Notice>,
    manage: bool,
    rows: Vec<(String, String, &'static str, String, &'static str)>,
}

async fn units(u: &StaffUser, headers: &HeaderMap, notice: Option<Notice>) -> Response {
    if let Err(e) = u.allow(&Action::ListUnits) {
        return error_page(headers, e);
    }
    let store = u.app().store.clone();
    let list = match crate::http::blocking(move || store.units()).await {
        Ok(l) => l,
        Err(e) => return error_page(headers, e),
    };
    render(&UnitsPage {
        frame: Frame::staff("Đơn vị hành chính", headers),
        notice,
        manage: u.allows(&Action::ManageUnits),
        rows: list
            .iter()
            .map(|x| {
                (
                    x.code.clone(),
                    x.name.clone(),
                    match x.level.as_str() {
                        "province" => "Tỉnh",
                        "district" => "Huyện",
                        _ => "Xã",
                    },
                    x.parent.clone().unwrap_or_default(),
                    if x.scheme == "2025" {
                        "2 cấp (2025)"
                    } else {
                        "3 cấp"
                    },
                )
            })
            .collect(),
    })
}

async fn units_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let u = signed_in!(app, headers, uri);
    units(&u, &headers, None).await
}

async fn units_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<CsvForm>,
) -> Response {
    let u = signed_in!(app, headers);
    if let Err(e) = u.allow(&Action::ManageUnits) {
        return error_page(&headers, e);
    }
    let message = match crate::registry::parse_units(f.csv.as_bytes()) {
        Err(e) => (false, format!("{e}. Chưa nhập đơn vị nào.")),
        Ok(rows) => {
            let list: Vec<store::Unit> = rows.into_iter().map(|(_, x)| x).collect();
            let store = app.store.clone();
            match tokio::task::spawn_blocking(move || store.import_units(&list)).await {
                Ok(Ok(n)) => (true, format!("Đã nhập {n} đơn vị")),
                Ok(Err(e)) => (false, format!("{e}. Chưa nhập đơn vị nào.")),
                Err(e) => (false, e.to_string()),
            }
        }
    };
    units(&u, &headers, Notice::of(message)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_our_own_pages() {
        assert_eq!(
            safe_next("/nhan-vien/ma?ma=K7P4M2QX"),
            "/nhan-vien/ma?ma=K7P4M2QX"
        );
        assert_eq!(safe_next("https://evil.example/"), "/nhan-vien");
        assert_eq!(safe_next("//evil.example/nhan-vien"), "/nhan-vien");
        assert_eq!(safe_next("/nhan-vien//evil"), "/nhan-vien");
        assert_eq!(safe_next("/so/1"), "/nhan-vien");
        assert_eq!(safe_next("/nhan-vien/dang-xuat"), "/nhan-vien");
        assert_eq!(
            url_encoded("/nhan-vien/ma?ma=AB"),
            "%2Fnhan-vien%2Fma%3Fma%3DAB"
        );
    }
}
