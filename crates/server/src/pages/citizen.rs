//! The citizen's web book: server-rendered Vietnamese pages from templates
//! (`templates/citizen/`), mobile first, no JavaScript. Sign in (or activate, or reset a
//! forgotten passcode) → book → year → visit; search, updates, sharing, who read the
//! book, and the readable health summary (IPS). Every read of the book is a call of the
//! service layer through [`Viewer`].

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use book::EpisodeView;
use book::terms::{Flag, department_name, icd10_name, lab_range};
use serde::Deserialize;
use store::{EpisodeRecord, now_ms};

use super::redirect;
use super::{ErrorPage, Frame, date, decimal, money, number_text, render, when, ymd};
use crate::App;
use crate::citizen::{
    COOKIE_NAME, MIN_QUERY, Names, SESSION_MS, Viewer, appointment_ahead, facility_names,
    referral_open, search_book,
};
use crate::http::ApiError;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { redirect("/so") }))
        .route("/dang-nhap", get(login_page).post(login))
        .route("/kich-hoat", get(activate_page).post(activate))
        .route("/quen-ma-khoa", get(reset_page).post(reset))
        .route("/dang-xuat", axum::routing::post(logout))
        .route("/so", get(home))
        .route("/so/{pid}", get(person_home))
        .route("/so/{pid}/nam/{year}", get(year_page))
        .route("/so/{pid}/luot/{id}", get(visit_page))
        .route("/so/{pid}/tim", get(search_page))
        .route("/so/{pid}/cap-nhat", get(refresh_page))
        .route("/so/{pid}/tom-tat", get(summary_page))
        .route("/so/{pid}/chia-se", get(share_page).post(share_create))
        .route(
            "/so/{pid}/chia-se/{id}/thu-hoi",
            get(revoke_page).post(share_revoke),
        )
        .route("/so/{pid}/nhat-ky", get(log_page))
        .route("/so/{pid}/ho-so-suc-khoe", get(profile_page))
        .route(
            "/so/{pid}/ho-so-suc-khoe/bao-sai",
            axum::routing::post(profile_report),
        )
}

/// The signed-in viewer, or the answer that sends them to sign in.
macro_rules! signed_in {
    ($app:expr, $headers:expr) => {
        match signed_in(&$app, &$headers).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// The value, or the error page for the person.
macro_rules! or_page {
    ($headers:expr, $e:expr) => {
        match $e {
            Ok(x) => x,
            Err(e) => return error(&$headers, e),
        }
    };
}

/// An API error as the page a person sees.
fn error(headers: &HeaderMap, e: ApiError) -> Response {
    ErrorPage::citizen(headers, e)
}

async fn viewer(app: &Arc<App>, headers: &HeaderMap) -> Option<Viewer> {
    let token = crate::http::token_of(headers)?;
    let store = app.store.clone();
    let person = tokio::task::spawn_blocking(move || store.session_person(&token, now_ms()))
        .await
        .ok()?
        .ok()??;
    Some(Viewer::new(person, app.clone()))
}

/// The viewer, or the answer that sends them to sign in.
async fn signed_in(app: &Arc<App>, headers: &HeaderMap) -> Result<Viewer, Response> {
    viewer(app, headers)
        .await
        .ok_or_else(|| redirect("/dang-nhap"))
}

// ---------------------------------------------------------------------------
// Sign-in, activation, forgotten passcode
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "citizen/login.html")]
struct LoginPage {
    frame: Frame,
    error: Option<String>,
    /// The personal ID typed, kept after a wrong passcode.
    personal_id: String,
}

async fn login_page(headers: HeaderMap) -> Response {
    render(&LoginPage {
        frame: Frame::citizen("Đăng nhập", &headers),
        error: None,
        personal_id: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    personal_id: String,
    passcode: String,
}

fn session_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_MS / 1000
    ))
    .ok()
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let checked = crate::citizen::check_passcode(&app, ip, &f.personal_id, &f.passcode).await;
    let (status, message) = match checked {
        Ok(Some(person)) => {
            let store = app.store.clone();
            match tokio::task::spawn_blocking(move || store.create_session(person, SESSION_MS))
                .await
            {
                Ok(Ok(token)) => {
                    let mut res = redirect("/so");
                    if let Some(v) = session_cookie(&token) {
                        res.headers_mut().insert(SET_COOKIE, v);
                    }
                    return res;
                }
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Lỗi hệ thống, vui lòng thử lại.",
                ),
            }
        }
        // The same answer whether or not the personal ID has an account.
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            "Số định danh hoặc mã khóa không đúng.",
        ),
        Err(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            "Nhập sai nhiều lần. Vui lòng chờ một lúc rồi thử lại.",
        ),
        Err(res) => (res.status(), "Lỗi hệ thống, vui lòng thử lại."),
    };
    let keep: String = f
        .personal_id
        .trim()
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    let page = LoginPage {
        frame: Frame::citizen("Đăng nhập", &headers),
        error: Some(message.into()),
        personal_id: keep,
    };
    (status, render(&page)).into_response()
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = crate::http::token_of(&headers) {
        let store = app.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.end_session(&t)).await;
    }
    let mut res = redirect("/dang-nhap");
    res.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("hb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    res
}

#[derive(Template)]
#[template(path = "citizen/activate.html")]
struct ActivatePage {
    frame: Frame,
    heading: &'static str,
    intro: &'static str,
    code_label: &'static str,
    submit: &'static str,
    action: &'static str,
    done: bool,
    done_text: &'static str,
    error: Option<String>,
    personal_id: String,
}

/// Activation and the forgotten passcode are one form: a code from a facility or the
/// commune station, and a new passcode.
#[derive(Clone, Copy)]
enum CodeUse {
    Activate,
    Reset,
}

impl CodeUse {
    fn page(self, headers: &HeaderMap) -> ActivatePage {
        let (heading, intro, code_label, submit, action, done_text) = match self {
            CodeUse::Activate => (
                "Kích hoạt tài khoản",
                "Nhập số định danh, mã kích hoạt mà cơ sở y tế hoặc trạm y tế xã đã cấp, và \
                 chọn mã khóa 6 số để đăng nhập từ nay.",
                "Mã kích hoạt",
                "Kích hoạt",
                "/kich-hoat",
                "Đã kích hoạt tài khoản.",
            ),
            CodeUse::Reset => (
                "Quên mã khóa",
                "Mang căn cước đến cơ sở y tế hoặc trạm y tế xã để nhận mã đặt lại (dùng được \
                 một lần, trong thời hạn ghi trên phiếu). Rồi nhập mã đó và chọn mã khóa mới.",
                "Mã đặt lại",
                "Đặt mã khóa mới",
                "/quen-ma-khoa",
                "Đã đặt mã khóa mới.",
            ),
        };
        ActivatePage {
            frame: Frame::citizen(heading, headers),
            heading,
            intro,
            code_label,
            submit,
            action,
            done: false,
            done_text,
            error: None,
            personal_id: String::new(),
        }
    }
}

async fn activate_page(headers: HeaderMap) -> Response {
    render(&CodeUse::Activate.page(&headers))
}

async fn reset_page(headers: HeaderMap) -> Response {
    render(&CodeUse::Reset.page(&headers))
}

#[derive(Deserialize)]
struct CodeForm {
    personal_id: String,
    code: String,
    passcode: String,
    again: String,
}

async fn use_code(
    app: Arc<App>,
    headers: HeaderMap,
    ip: std::net::IpAddr,
    f: CodeForm,
    kind: CodeUse,
) -> Response {
    let mut page = kind.page(&headers);
    page.personal_id = f
        .personal_id
        .trim()
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    if f.passcode != f.again {
        page.error = Some("Hai lần nhập mã khóa mới không giống nhau.".into());
        return (StatusCode::BAD_REQUEST, render(&page)).into_response();
    }
    match crate::citizen::activate_account(&app, ip, &f.personal_id, &f.code, &f.passcode).await {
        Ok(()) => {
            page.done = true;
            render(&page)
        }
        Err((ApiError(status, _, message), _)) => {
            // The store's message is bilingual: the person reads the Vietnamese half.
            let vi = message.split(" / ").next().unwrap_or(&message);
            let mut m = vi.to_string();
            if let Some(c) = m.get(..1) {
                m = c.to_uppercase() + &m[1..];
            }
            page.error = Some(format!("{m}."));
            (status, render(&page)).into_response()
        }
    }
}

async fn activate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Form(f): Form<CodeForm>,
) -> Response {
    use_code(app, headers, ip, f, CodeUse::Activate).await
}

async fn reset(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Form(f): Form<CodeForm>,
) -> Response {
    use_code(app, headers, ip, f, CodeUse::Reset).await
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match viewer(&app, &headers).await {
        Some(v) => redirect(&format!("/so/{}", v.person)),
        None => redirect("/dang-nhap"),
    }
}

// ---------------------------------------------------------------------------
// The book
// ---------------------------------------------------------------------------

/// A visit as a card of a list.
struct VisitCard {
    href: String,
    date: String,
    care: String,
    diagnosis: String,
    facility: String,
    is_new: bool,
    appointment: bool,
}

/// A facility by name, with its code; by code alone when it is not registered.
pub(crate) fn facility(names: &Names, code: &str) -> String {
    match names.get(code) {
        Some(name) => format!("{name} ({code})"),
        None => format!("Cơ sở {code}"),
    }
}

fn facility_opt(names: &Names, code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| facility(names, c))
        .unwrap_or_default()
}

fn text(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").trim().to_string()
}

fn cards(
    pid: i64,
    list: &[&EpisodeRecord],
    names: &Names,
    new_since: Option<i64>,
) -> Vec<VisitCard> {
    list.iter()
        .map(|e| {
            let v = &e.view;
            VisitCard {
                href: format!("/so/{pid}/luot/{}", e.id),
                date: date(v.admitted),
                care: text(&v.care_type_label),
                diagnosis: v
                    .main_diagnosis
                    .as_ref()
                    .map(|d| format!("{} · {}", d.icd10, text(&d.name)))
                    .unwrap_or_default(),
                facility: facility(names, &e.facility),
                is_new: new_since.is_some_and(|t| e.visible_at > t),
                appointment: v.appointment.is_some(),
            }
        })
        .collect()
}

struct CardView {
    number: String,
    valid: String,
    status: &'static str,
    expired: bool,
}

struct BookLink {
    href: String,
    name: String,
    current: bool,
}

struct AppointmentView {
    href: String,
    when: String,
    facility: String,
    number: String,
    diagnosis: String,
}

struct ReferralCard {
    href: String,
    to: String,
    number: String,
    from: String,
    date: String,
}

struct MedView {
    name: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "citizen/home.html")]
struct HomePage {
    frame: Frame,
    pid: i64,
    query: String,
    name: String,
    birth: String,
    personal_id: String,
    bhyt: Vec<CardView>,
    books: Vec<BookLink>,
    appointment: Option<AppointmentView>,
    more_appointments: usize,
    referrals: Vec<ReferralCard>,
    medicines: Vec<MedView>,
    medicines_from: String,
    years: Vec<(i32, usize)>,
    /// Unread notices (issue 18, `pages::notify`).
    unread: i64,
}

/// A personal ID with its middle hidden: `001****56789` → `001******789`.
fn masked(id: &str) -> String {
    let n = id.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    id.chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i >= n - 3 { c } else { '•' })
        .collect()
}

use book::vn::birth as birth_date;

fn card_view(i: &store::IdentifierRecord, today: &str) -> CardView {
    let to = i.valid_to.clone().unwrap_or_default();
    let from = i.valid_from.clone().unwrap_or_default();
    let expired = !to.is_empty() && to.as_str() < today;
    let valid = match (from.is_empty(), to.is_empty()) {
        (false, false) => format!("Giá trị từ {} đến {}", ymd(&from), ymd(&to)),
        (true, false) => format!("Giá trị đến {}", ymd(&to)),
        (false, true) => format!("Giá trị từ {}", ymd(&from)),
        (true, true) => String::new(),
    };
    CardView {
        number: i.value.clone(),
        valid,
        status: if to.is_empty() {
            "Chưa rõ hạn"
        } else if expired {
            "Đã hết hạn"
        } else {
            "Còn hạn"
        },
        expired,
    }
}

fn medicine_detail(m: &book::episode::Medicine) -> String {
    let qty = m
        .quantity
        .map(|q| format!("{} {}", decimal(q), text(&m.unit)))
        .unwrap_or_default();
    [qty.trim().to_string(), text(&m.dose)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn person_home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = signed_in!(app, headers);
    let eps = or_page!(headers, v.book(pid, "open").await);
    let store = app.store.clone();
    let me = v.person;
    let (person, me_person, wards) = match tokio::task::spawn_blocking(move || {
        Ok::<_, store::StoreError>((store.person(pid)?, store.person(me)?, store.wards(me)?))
    })
    .await
    {
        Ok(Ok(x)) => x,
        _ => return error(&headers, crate::http::internal("person")),
    };
    let all: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &all).await;
    let now = crate::vn_now();
    let today = now.format("%Y%m%d").to_string();
    let name = person
        .as_ref()
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| "Sổ sức khỏe".into());
    let mut bhyt: Vec<CardView> = person
        .iter()
        .flat_map(|p| &p.identifiers)
        .filter(|i| i.kind == book::IdKind::BhytCard)
        .map(|i| card_view(i, &today))
        .collect();
    bhyt.sort_by_key(|c| c.expired);
    let mut books = Vec::new();
    if !wards.is_empty() {
        books.push(BookLink {
            href: format!("/so/{me}"),
            name: me_person
                .and_then(|p| p.name)
                .map_or("Sổ của tôi".into(), |n| format!("{n} (tôi)")),
            current: pid == me,
        });
        for w in &wards {
            books.push(BookLink {
                href: format!("/so/{}", w.person.id),
                name: w
                    .person
                    .name
                    .clone()
                    .unwrap_or_else(|| "Người được giám hộ".into()),
                current: w.person.id == pid,
            });
        }
    }
    let mut upcoming: Vec<&EpisodeRecord> =
        eps.iter().filter(|e| appointment_ahead(e, now)).collect();
    upcoming.sort_by_key(|e| e.view.appointment.as_ref().and_then(|a| a.at));
    let appointment = upcoming.first().and_then(|e| {
        let a = e.view.appointment.as_ref()?;
        Some(AppointmentView {
            href: format!("/so/{pid}/luot/{}", e.id),
            when: when(a.at),
            facility: facility_opt(&names, &a.facility),
            number: text(&a.number),
            diagnosis: text(&a.diagnosis),
        })
    });
    let referrals = eps
        .iter()
        .filter(|e| referral_open(e, now))
        .filter_map(|e| {
            let r = e.view.referral.as_ref()?;
            Some(ReferralCard {
                href: format!("/so/{pid}/luot/{}", e.id),
                to: facility_opt(&names, &r.to_facility),
                number: text(&r.number),
                from: facility_opt(&names, &r.from_facility),
                date: date(e.view.discharged),
            })
        })
        .collect();
    // Current medicines: the prescription of the latest visit that had one, within the
    // summary's window.
    let recent =
        eps.iter()
            .filter(|e| !e.view.medicines.is_empty())
            .filter(|e| {
                e.view.discharged.or(e.view.admitted).is_some_and(|d| {
                    now - d <= chrono::Duration::days(book::summary::MEDICINE_DAYS)
                })
            })
            .max_by_key(|e| e.view.discharged.or(e.view.admitted));
    let mut medicines = Vec::new();
    let mut medicines_from = String::new();
    if let Some(e) = recent {
        medicines_from = date(e.view.discharged.or(e.view.admitted));
        let mut seen = std::collections::HashSet::new();
        for m in &e.view.medicines {
            let name = m.label();
            if seen.insert(name.clone()) {
                medicines.push(MedView {
                    name,
                    detail: medicine_detail(m),
                });
            }
        }
    }
    let mut years = BTreeMap::<i32, usize>::new();
    for e in &eps {
        if let Some(y) = crate::citizen::year_of(e) {
            *years.entry(y).or_default() += 1;
        }
    }
    let unread = super::notify::unread_count(&app, me, pid).await;
    render(&HomePage {
        frame: Frame::citizen(format!("Sổ sức khỏe {name}"), &headers),
        pid,
        query: String::new(),
        birth: person
            .as_ref()
            .and_then(|p| p.birth.as_deref())
            .map(birth_date)
            .unwrap_or_default(),
        personal_id: person
            .as_ref()
            .and_then(|p| p.personal_id.as_deref())
            .map(masked)
            .unwrap_or_default(),
        name,
        bhyt,
        books,
        more_appointments: upcoming.len().saturating_sub(1),
        appointment,
        referrals,
        medicines,
        medicines_from,
        years: years.into_iter().rev().collect(),
        unread,
    })
}

#[derive(Template)]
#[template(path = "citizen/list.html")]
struct ListPage {
    frame: Frame,
    pid: i64,
    heading: String,
    search: bool,
    query: String,
    status: String,
    empty: String,
    cards: Vec<VisitCard>,
}

async fn year_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, year)): Path<(i64, i32)>,
) -> Response {
    let v = signed_in!(app, headers);
    let eps = or_page!(headers, v.book_year(pid, "year", year).await);
    let list: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &list).await;
    render(&ListPage {
        frame: Frame::citizen(format!("Năm {year}"), &headers),
        pid,
        heading: format!("Năm {year}"),
        search: false,
        query: String::new(),
        status: String::new(),
        empty: "Không có lượt khám nào trong năm này.".into(),
        cards: cards(pid, &list, &names, None),
    })
}

#[derive(Deserialize)]
struct SearchForm {
    #[serde(default)]
    q: String,
}

async fn search_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(f): Query<SearchForm>,
) -> Response {
    let v = signed_in!(app, headers);
    let eps = or_page!(headers, v.book(pid, "search").await);
    let all: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &all).await;
    let (status, empty, hits) = match search_book(&eps, &names, &f.q) {
        None => (
            String::new(),
            format!(
                "Nhập ít nhất {MIN_QUERY} ký tự, ví dụ tên bệnh, tên thuốc hoặc tên cơ sở khám. Có thể gõ không dấu."
            ),
            Vec::new(),
        ),
        Some(hits) if hits.is_empty() => (
            String::new(),
            format!(
                "Không tìm thấy lượt khám nào có “{}”. Thử từ khác, hoặc gõ không dấu.",
                f.q.trim()
            ),
            Vec::new(),
        ),
        Some(hits) => (
            format!("{} lượt khám có “{}”", hits.len(), f.q.trim()),
            String::new(),
            hits,
        ),
    };
    render(&ListPage {
        frame: Frame::citizen("Tìm trong sổ", &headers),
        pid,
        heading: "Tìm trong sổ".into(),
        search: true,
        query: f.q.clone(),
        status,
        empty,
        cards: cards(pid, &hits, &names, None),
    })
}

/// When this browser last refreshed the book (ms), from its cookie.
const SEEN_COOKIE: &str = "hb_seen";

fn seen_at(headers: &HeaderMap) -> Option<i64> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SEEN_COOKIE)
        .and_then(|(_, v)| v.parse().ok())
}

/// "Cập nhật dữ liệu": what reached the book since this browser last refreshed it (or
/// in the last 30 days, the first time).
async fn refresh_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = signed_in!(app, headers);
    // A guardian's refresh is recorded when it shows something new.
    let now = now_ms();
    let since = seen_at(&headers);
    let from = since.unwrap_or(now - 30 * 24 * 3_600_000);
    let eps = or_page!(headers, v.changes(pid, from).await);
    let fresh: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &fresh).await;
    let at = when(Some(crate::vn_wall_clock(now)));
    let status = match since {
        Some(t) => format!(
            "Đã cập nhật lúc {at}. {} lượt khám mới kể từ lần cập nhật trước ({}).",
            fresh.len(),
            when(Some(crate::vn_wall_clock(t)))
        ),
        None => format!(
            "Đã cập nhật lúc {at}. {} lượt khám được đưa lên sổ trong 30 ngày qua.",
            fresh.len()
        ),
    };
    let mut res = render(&ListPage {
        frame: Frame::citizen("Cập nhật dữ liệu", &headers),
        pid,
        heading: "Cập nhật dữ liệu".into(),
        search: false,
        query: String::new(),
        status,
        empty:
            "Chưa có dữ liệu mới. Sau mỗi lần khám, cơ sở y tế gửi hồ sơ lên sổ trong vòng 24 giờ."
                .into(),
        cards: cards(pid, &fresh, &names, Some(from)),
    });
    // Seen up to now, and at least up to the newest episode shown: a clock stepped back
    // between two refreshes must not show the same visits again as new.
    let seen = eps.iter().map(|e| e.visible_at).max().unwrap_or(0).max(now);
    let cookie = format!(
        "{SEEN_COOKIE}={seen}; HttpOnly; SameSite=Strict; Path=/so/{pid}; Max-Age=31536000"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------------------
// One visit (also the clinician's page of an episode)
// ---------------------------------------------------------------------------

pub(crate) struct ResultRow {
    name: String,
    value: String,
    range: String,
    flag: Option<&'static str>,
    note: String,
}

pub(crate) struct ReportRow {
    service: String,
    description: String,
    conclusion: String,
    flagged: bool,
}

pub(crate) struct ReportGroup {
    id: &'static str,
    title: String,
    flagged: bool,
    items: Vec<ReportRow>,
}

pub(crate) struct ReferralView {
    to: String,
    number: String,
    from: String,
    reason: String,
    recommendation: String,
}

/// Everything of one visit as the pages show it.
pub(crate) struct VisitView {
    back_href: String,
    back_label: String,
    title: String,
    facility: String,
    care: String,
    admitted: String,
    discharged: String,
    reason: String,
    pdf: Option<String>,
    appointment: Option<AppointmentView>,
    referral: Option<ReferralView>,
    main: Option<(String, String)>,
    secondary: Vec<(String, String)>,
    outcome: String,
    medicines: Vec<MedView>,
    labs: Vec<ResultRow>,
    labs_flagged: usize,
    reports: Vec<ReportGroup>,
    procedures: Vec<String>,
    summary: Vec<(&'static str, String)>,
    admin: Vec<(&'static str, String)>,
    costs: Vec<(&'static str, String)>,
}

/// Who treated: the discharge paper's doctor, else the practitioners named on the
/// visit's examinations (by their practising certificates).
fn doctors(v: &EpisodeView, practitioners: &BTreeMap<String, String>) -> String {
    if let Some(d) = v.discharge_paper.as_ref().and_then(|p| p.doctor.clone()) {
        return d;
    }
    let mut certs: Vec<&String> = v
        .services
        .examinations
        .iter()
        .flat_map(|s| &s.ordered_by)
        .collect();
    certs.sort();
    certs.dedup();
    certs
        .into_iter()
        .map(|c| match practitioners.get(c) {
            Some(n) => format!("{n} (CCHN {c})"),
            None => format!("CCHN {c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The practising certificates a visit names, for their holders' names.
pub(crate) fn certificates(v: &EpisodeView) -> Vec<String> {
    let mut certs: Vec<String> = v
        .services
        .examinations
        .iter()
        .flat_map(|s| s.ordered_by.iter().cloned())
        .collect();
    certs.sort();
    certs.dedup();
    certs
}

impl VisitView {
    /// The visit's heading (its discharge diagnosis).
    pub(crate) fn title(&self) -> &str {
        &self.title
    }

    pub(crate) fn of(
        e: &EpisodeRecord,
        names: &Names,
        practitioners: &BTreeMap<String, String>,
        back: (String, String),
        pdf: Option<String>,
    ) -> VisitView {
        use book::episode::ResultKind;
        let v = &e.view;
        let mut labs_flagged = 0;
        let labs: Vec<ResultRow> = v
            .results
            .iter()
            .filter(|r| r.kind == ResultKind::Lab)
            .map(|r| {
                let flag = book::terms::flag(r);
                if flag.is_some() {
                    labs_flagged += 1;
                }
                let unit = text(&r.unit);
                let value = r
                    .value
                    .as_deref()
                    .map(|x| format!("{} {unit}", number_text(x)).trim().to_string())
                    .unwrap_or_else(|| text(&r.description));
                let range = r
                    .indicator_code
                    .as_deref()
                    .and_then(lab_range)
                    .map(|g| {
                        format!("{} – {} {}", decimal(g.low), decimal(g.high), g.unit)
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_default();
                let conclusion = text(&r.conclusion);
                let note = match flag {
                    // The conclusion says what the flag says: once is enough.
                    Some(f) if book::text::fold(&conclusion) == book::text::fold(f.label()) => {
                        String::new()
                    }
                    _ => conclusion,
                };
                ResultRow {
                    name: r
                        .indicator
                        .clone()
                        .or_else(|| r.service_name.clone())
                        .unwrap_or_default(),
                    value,
                    range,
                    flag: flag.map(Flag::label),
                    note,
                }
            })
            .collect();
        let report = |kind: ResultKind, id: &'static str, title: &str| {
            let items: Vec<ReportRow> = v
                .results
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| ReportRow {
                    service: r
                        .service_name
                        .clone()
                        .or_else(|| r.indicator.clone())
                        .unwrap_or_default(),
                    description: text(&r.description),
                    conclusion: text(&r.conclusion),
                    flagged: book::summary::is_abnormal_report(r),
                })
                .collect();
            let flagged = items.iter().any(|r| r.flagged);
            (!items.is_empty()).then(|| ReportGroup {
                id,
                title: title.to_string(),
                flagged,
                items,
            })
        };
        let reports = [
            report(
                ResultKind::Imaging,
                "chan-doan-hinh-anh",
                "Chẩn đoán hình ảnh",
            ),
            report(
                ResultKind::Functional,
                "tham-do-chuc-nang",
                "Thăm dò chức năng",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut summary = Vec::new();
        if let Some(s) = &v.record_summary {
            for (label, t) in [
                ("Diễn biến", &s.course),
                ("Kết quả chính", &s.key_results),
                ("Điều trị", &s.treatment),
            ] {
                let t = book::text::tidy(t.as_deref().unwrap_or(""));
                if !t.is_empty() {
                    summary.push((label, t));
                }
            }
        }
        let mut admin = vec![("Cơ sở khám chữa bệnh", facility(names, &e.facility))];
        let departments: Vec<String> = v
            .departments
            .iter()
            .map(|d| match department_name(d) {
                Some(n) => format!("{n} ({d})"),
                None => d.clone(),
            })
            .collect();
        if !departments.is_empty() {
            admin.push(("Khoa", departments.join(", ")));
        }
        let doctor = doctors(v, practitioners);
        if !doctor.is_empty() {
            admin.push(("Bác sĩ", doctor));
        }
        admin.push((
            "Thẻ BHYT sử dụng",
            if v.cards.is_empty() {
                if v.insured {
                    "Có (số thẻ không có trong hồ sơ)".into()
                } else {
                    "Không dùng BHYT".into()
                }
            } else {
                v.cards.join(", ")
            },
        ));
        admin.push(("Hình thức", text(&v.care_type_label)));
        admin.push(("Ngày vào", when(v.admitted)));
        if v.discharged.is_some() {
            admin.push(("Ngày ra", when(v.discharged)));
        }
        if let Some(t) = &v.discharge_type {
            admin.push(("Tình trạng ra viện", t.label.clone()));
        }
        admin.push(("Mã lượt khám (MA_LK)", v.ma_lk.clone()));
        let mut costs = Vec::new();
        if let Some(t) = v.total_cost {
            costs.push(("Tổng chi phí", money(t)));
        }
        if let Some(t) = v.insurance_paid {
            costs.push(("BHYT chi trả", money(t)));
        }
        if let Some(t) = v.patient_paid {
            costs.push(("Người bệnh trả", money(t)));
        }
        let main = v.main_diagnosis.as_ref().map(|d| {
            let name = d
                .name
                .as_deref()
                .and_then(|n| n.split(';').next())
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .or_else(|| icd10_name(&d.icd10).map(str::to_string))
                .unwrap_or_default();
            (d.icd10.clone(), name)
        });
        VisitView {
            back_href: back.0,
            back_label: back.1,
            title: text(&v.discharge_diagnosis)
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            facility: facility(names, &e.facility),
            care: text(&v.care_type_label),
            admitted: when(v.admitted),
            discharged: when(v.discharged),
            reason: text(&v.reason),
            pdf,
            appointment: v.appointment.as_ref().map(|a| AppointmentView {
                href: "#chan-doan".into(),
                when: when(a.at),
                facility: facility_opt(names, &a.facility),
                number: text(&a.number),
                diagnosis: text(&a.diagnosis),
            }),
            referral: v.referral.as_ref().map(|r| ReferralView {
                to: facility_opt(names, &r.to_facility),
                number: text(&r.number),
                from: facility_opt(names, &r.from_facility),
                reason: r
                    .reason
                    .as_ref()
                    .map(|x| x.label.clone())
                    .unwrap_or_default(),
                recommendation: text(&r.recommendation),
            }),
            main,
            secondary: v
                .secondary_diagnoses
                .iter()
                .map(|d| {
                    let name = d
                        .name
                        .clone()
                        .or_else(|| icd10_name(&d.icd10).map(str::to_string))
                        .unwrap_or_default();
                    (d.icd10.clone(), name)
                })
                .collect(),
            outcome: v
                .outcome
                .as_ref()
                .map(|o| o.label.clone())
                .unwrap_or_default(),
            medicines: v
                .medicines
                .iter()
                .map(|m| MedView {
                    name: m.label(),
                    detail: medicine_detail(m),
                })
                .collect(),
            labs,
            labs_flagged,
            reports,
            procedures: v
                .services
                .surgery
                .iter()
                .chain(&v.services.procedures)
                .map(|x| text(&x.name))
                .collect(),
            summary,
            admin,
            costs,
        }
    }
}

/// A visit in the page frame: the citizen's visit page and the clinician's.
#[derive(Template)]
#[template(path = "visit.html")]
pub(crate) struct VisitPage {
    pub(crate) frame: Frame,
    pub(crate) visit: VisitView,
}

/// Names of the practitioners a visit names (names only decorate: none on failure).
pub(crate) async fn practitioners_of(app: &Arc<App>, v: &EpisodeView) -> BTreeMap<String, String> {
    let certs = certificates(v);
    if certs.is_empty() {
        return BTreeMap::new();
    }
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || store.practitioner_names(&certs))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

async fn visit_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let v = signed_in!(app, headers);
    let e = or_page!(headers, v.episode(pid, id, "episode").await);
    let names = facility_names(&app, &[&e]).await;
    let practitioners = practitioners_of(&app, &e.view).await;
    let year = crate::citizen::year_of(&e).unwrap_or_default();
    let visit = VisitView::of(
        &e,
        &names,
        &practitioners,
        (format!("/so/{pid}/nam/{year}"), format!("← Năm {year}")),
        Some(format!("/api/v1/persons/{pid}/episodes/{id}/pdf")),
    );
    render(&VisitPage {
        frame: Frame::citizen(visit.title.clone(), &headers),
        visit,
    })
}

// ---------------------------------------------------------------------------
// The health summary (IPS) as a page
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "citizen/ips.html")]
struct SummaryPage {
    frame: Frame,
    pid: i64,
    made: String,
    episodes: usize,
    person: Vec<(&'static str, String)>,
    allergies: &'static str,
    problems: Vec<(String, String, String)>,
    medicines: Vec<(String, String)>,
    results: Vec<(String, String, String)>,
    immunizations: &'static str,
}

async fn summary_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = signed_in!(app, headers);
    let eps = or_page!(headers, v.book(pid, "summary").await);
    let store = app.store.clone();
    let person = tokio::task::spawn_blocking(move || store.person(pid))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let views: Vec<(i64, &EpisodeView)> = eps.iter().map(|e| (e.id, &e.view)).collect();
    let now = crate::vn_now();
    let s = book::summary::summarize(&views, now);
    let mut facts = Vec::new();
    if let Some(p) = &person {
        facts.push(("Họ và tên", p.name.clone().unwrap_or_default()));
        if let Some(b) = &p.birth {
            facts.push(("Ngày sinh", birth_date(b)));
        }
        if let Some(sex) = &p.sex {
            facts.push((
                "Giới tính",
                match sex.as_str() {
                    "1" => "Nam".into(),
                    "2" => "Nữ".into(),
                    _ => "Chưa rõ".into(),
                },
            ));
        }
        if let Some(id) = &p.personal_id {
            facts.push(("Số định danh", masked(id)));
        }
    }
    render(&SummaryPage {
        frame: Frame::citizen("Tóm tắt sức khỏe", &headers),
        pid,
        made: when(Some(now)),
        episodes: s.episodes,
        person: facts,
        allergies: "Không có dữ liệu (hồ sơ khám chữa bệnh gửi lên sổ chưa ghi dị ứng).",
        problems: s
            .problems
            .iter()
            .map(|p| {
                (
                    p.diagnosis.icd10.clone(),
                    p.diagnosis
                        .name
                        .clone()
                        .or_else(|| icd10_name(&p.diagnosis.icd10).map(str::to_string))
                        .unwrap_or_default(),
                    format!("lần gần nhất {}", date(p.last_seen)),
                )
            })
            .collect(),
        medicines: s
            .medicines
            .iter()
            .map(|m| (m.medicine.label(), date(m.at)))
            .collect(),
        results: s
            .abnormal_results
            .iter()
            .map(|r| {
                let x = &r.result;
                (
                    x.indicator
                        .clone()
                        .or_else(|| x.service_name.clone())
                        .unwrap_or_default(),
                    format!(
                        "{} {}",
                        x.value.as_deref().map(number_text).unwrap_or_default(),
                        text(&x.unit)
                    )
                    .trim()
                    .to_string(),
                    date(x.at),
                )
            })
            .collect(),
        immunizations: "Không có dữ liệu (chưa kết nối hệ thống tiêm chủng).",
    })
}

// ---------------------------------------------------------------------------
// Sharing
// ---------------------------------------------------------------------------

fn scope_label(s: book::access::Scope) -> &'static str {
    match s {
        book::access::Scope::Full => "Toàn bộ sổ sức khỏe",
        book::access::Scope::Summary => "Tóm tắt sức khỏe",
    }
}

fn instant(ms: i64) -> String {
    when(Some(crate::vn_wall_clock(ms)))
}

const SHARE_CHOICES: [(i64, &str); 4] = [
    (60, "1 giờ"),
    (240, "4 giờ"),
    (1440, "1 ngày"),
    (10080, "7 ngày"),
];

struct ShareRow {
    id: i64,
    status: &'static str,
    live: bool,
    scope: &'static str,
    created: String,
    expires: String,
}

struct MadeShare {
    code: String,
    qr_svg: String,
    scope: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "citizen/share.html")]
struct SharePage {
    frame: Frame,
    pid: i64,
    made: Option<MadeShare>,
    choices: Vec<(i64, &'static str)>,
    shares: Vec<ShareRow>,
}

fn share_row(sh: &store::Share, now: i64) -> ShareRow {
    ShareRow {
        id: sh.id,
        status: if sh.revoked_at.is_some() {
            "Đã thu hồi"
        } else if sh.expires_at <= now {
            "Hết hạn"
        } else {
            "Còn hiệu lực"
        },
        live: sh.live(now),
        scope: scope_label(sh.scope),
        created: instant(sh.created_at),
        expires: instant(sh.expires_at),
    }
}

async fn share_rows(v: &Viewer, pid: i64) -> Result<Vec<ShareRow>, ApiError> {
    let shares = v.shares(pid).await?;
    let now = now_ms();
    Ok(shares.iter().map(|s| share_row(s, now)).collect())
}

async fn share_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = signed_in!(app, headers);
    let shares = or_page!(headers, share_rows(&v, pid).await);
    render(&SharePage {
        frame: Frame::citizen("Chia sẻ với bác sĩ", &headers),
        pid,
        made: None,
        choices: SHARE_CHOICES.to_vec(),
        shares,
    })
}

#[derive(Deserialize)]
struct ShareForm {
    scope: String,
    minutes: i64,
}

async fn share_create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<ShareForm>,
) -> Response {
    let v = signed_in!(app, headers);
    let body = crate::citizen::ShareBody {
        scope: f.scope,
        minutes: f.minutes,
    };
    let made = or_page!(headers, v.make_share(pid, &body, &headers).await);
    let shares = or_page!(headers, share_rows(&v, pid).await);
    // The QR is our own SVG (from the qrcode crate), without its XML prolog.
    let qr_svg = made
        .qr_svg
        .find("<svg")
        .map(|i| made.qr_svg[i..].to_string())
        .unwrap_or_default();
    let page = SharePage {
        frame: Frame::citizen("Mã chia sẻ", &headers),
        pid,
        made: Some(MadeShare {
            code: made.code.clone(),
            qr_svg,
            scope: scope_label(made.share.scope),
            expires: instant(made.share.expires_at),
        }),
        choices: SHARE_CHOICES.to_vec(),
        shares,
    };
    (StatusCode::CREATED, render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "citizen/revoke.html")]
struct RevokePage {
    frame: Frame,
    pid: i64,
    id: i64,
    scope: &'static str,
    created: String,
    expires: String,
}

/// "Thu hồi mã?": the share and what revoking it does, before it is done.
async fn revoke_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let v = signed_in!(app, headers);
    let shares = or_page!(headers, v.shares(pid).await);
    let Some(sh) = shares.iter().find(|s| s.id == id && s.live(now_ms())) else {
        return redirect(&format!("/so/{pid}/chia-se"));
    };
    render(&RevokePage {
        frame: Frame::citizen("Thu hồi mã chia sẻ", &headers),
        pid,
        id,
        scope: scope_label(sh.scope),
        created: instant(sh.created_at),
        expires: instant(sh.expires_at),
    })
}

async fn share_revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let v = signed_in!(app, headers);
    match v.revoke(pid, id).await {
        Ok(()) => redirect(&format!("/so/{pid}/chia-se")),
        Err(e) => error(&headers, e),
    }
}

// ---------------------------------------------------------------------------
// Who read the book
// ---------------------------------------------------------------------------

pub(crate) fn action_label(a: &str) -> &'static str {
    match a {
        "open" => "Mở sổ",
        "summary" => "Xem tóm tắt sức khỏe",
        "episodes" => "Xem danh sách lượt khám",
        "episode" => "Xem một lượt khám",
        "activation_code" => "Cấp mã kích hoạt tài khoản",
        "guardian" => "Ghi nhận người giám hộ",
        "review" => "Xem xét lượt truy cập khẩn cấp",
        "years" | "year" => "Xem các lượt khám theo năm",
        "appointments" => "Xem lịch tái khám",
        "search" => "Tìm trong sổ",
        "changes" => "Xem lượt khám mới",
        "episode_pdf" => "Tải bản PDF một lượt khám",
        "fhir" => "Đọc qua giao diện FHIR",
        "access_log" => "Xem nhật ký truy cập sổ",
        "verify_pdf" => "Kiểm tra bản PDF một lượt khám",
        "record.read" => "Xem hồ sơ sức khỏe cá nhân",
        "record.edit" => "Sửa hồ sơ sức khỏe cá nhân",
        "record.exam" => "Ghi kết quả khám sức khỏe",
        "record.accept" | "record.decline" => "Xét đề xuất từ hồ sơ bệnh viện",
        "record.report_error" => "Báo sai thông tin hồ sơ sức khỏe",
        "record.import" => "Nhập hồ sơ sức khỏe từ hệ thống khác",
        "record.resolve" => "Đối chiếu, xử lý sai lệch hồ sơ sức khỏe",
        "card.lookup" => "Tra cứu thẻ BHYT khi tiếp đón",
        _ => "Xem dữ liệu",
    }
}

/// One reader's reads of one day.
struct LogGroup {
    day: String,
    span: String,
    who: String,
    role: String,
    facility: String,
    actions: Vec<String>,
    basis: String,
    glass: bool,
    grant: String,
    reason: String,
    revoke_share: Option<i64>,
}

#[derive(Template)]
#[template(path = "citizen/log.html")]
struct LogPage {
    frame: Frame,
    pid: i64,
    guardians: Vec<(String, String, String)>,
    groups: Vec<LogGroup>,
}

/// The access log grouped by reader and day (one consultation makes several reads),
/// newest first, each group with what was done, how often, and on what basis.
fn log_groups(
    reads: &[store::AuditRecord],
    grants: &[store::Grant],
    names: &Names,
    now: i64,
) -> Vec<LogGroup> {
    // Records come newest first; a group keeps the order of its first (newest) record.
    let mut order: Vec<(String, String, Option<i64>)> = Vec::new();
    let mut members: BTreeMap<(String, String, Option<i64>), Vec<&store::AuditRecord>> =
        BTreeMap::new();
    for r in reads {
        let day = date(Some(crate::vn_wall_clock(r.at)));
        let key = (r.actor.clone(), day, r.grant_id);
        if !members.contains_key(&key) {
            order.push(key.clone());
        }
        members.entry(key).or_default().push(r);
    }
    order
        .into_iter()
        .map(|key| {
            let rs = &members[&key];
            let first = rs[0];
            let newest = rs.iter().map(|r| r.at).max().unwrap_or(first.at);
            let oldest = rs.iter().map(|r| r.at).min().unwrap_or(first.at);
            let hm = |ms: i64| crate::vn_wall_clock(ms).format("%H:%M").to_string();
            let span = if hm(oldest) == hm(newest) {
                hm(newest)
            } else {
                format!("{}–{}", hm(oldest), hm(newest))
            };
            let mut counts: Vec<(&'static str, usize)> = Vec::new();
            for r in rs.iter().rev() {
                let label = action_label(&r.action);
                match counts.iter_mut().find(|(l, _)| *l == label) {
                    Some(c) => c.1 += 1,
                    None => counts.push((label, 1)),
                }
            }
            let actions = counts
                .into_iter()
                .map(|(l, n)| {
                    if n > 1 {
                        format!("{l} ({n} lần)")
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            let grant = grants
                .iter()
                .find(|g| g.person_id == first.person_id && Some(g.id) == first.grant_id);
            let basis = book::access::Basis::from_code(&first.basis);
            let glass = basis == Some(book::access::Basis::BreakGlass);
            let who = first
                .actor_name
                .clone()
                .unwrap_or_else(|| first.actor.clone());
            let who = match &first.practising_cert {
                Some(c) => format!("{who} · CCHN {c}"),
                None => who,
            };
            let grant_text = match grant {
                Some(g) if g.revoked_at.is_some() => "Quyền xem đã thu hồi".to_string(),
                Some(g) if g.facts().live(now) => {
                    format!("Quyền xem còn đến {}", instant(g.expires_at))
                }
                Some(_) => "Quyền xem đã hết hạn".to_string(),
                None => String::new(),
            };
            LogGroup {
                day: key.1.clone(),
                span,
                who,
                role: book::access::Role::from_code(&first.role)
                    .map(|x| x.label())
                    .unwrap_or("")
                    .to_string(),
                facility: first
                    .facility
                    .as_deref()
                    .map(|f| facility(names, f))
                    .unwrap_or_default(),
                actions,
                basis: basis.map(|b| b.label()).unwrap_or("").to_string(),
                glass,
                grant: grant_text,
                reason: match (glass, grant.and_then(|g| g.reason.as_deref())) {
                    (true, Some(x)) => x.to_string(),
                    _ => String::new(),
                },
                revoke_share: grant
                    .filter(|g| g.facts().live(now))
                    .and_then(|g| g.share_id),
            }
        })
        .collect()
}

async fn log_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = signed_in!(app, headers);
    let (reads, grants) = match v.access_log(pid).await {
        Ok(x) => x,
        Err(e) => return error(&headers, e),
    };
    let codes: Vec<String> = reads.iter().filter_map(|r| r.facility.clone()).collect();
    let names = crate::citizen::names_of(&app, codes).await;
    let store = app.store.clone();
    let guardians = tokio::task::spawn_blocking(move || store.guardians_of(pid))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    render(&LogPage {
        frame: Frame::citizen("Ai đã xem sổ của tôi", &headers),
        pid,
        guardians: guardians
            .iter()
            .map(|(g, by, at)| (g.name.clone().unwrap_or_default(), by.clone(), instant(*at)))
            .collect(),
        groups: log_groups(&reads, &grants, &names, now_ms()),
    })
}

// ---------------------------------------------------------------------------
// The personal health record (QĐ 831): the profile, and "report an error"
// ---------------------------------------------------------------------------

/// One measurement row of the trend table (newest first).
struct MeasureRow {
    date: String,
    weight: String,
    /// "tăng 1,5 kg" / "giảm 0,8 kg" since the examination before.
    weight_change: String,
    height: String,
    bmi: String,
    bp: String,
}

struct ChartPoint {
    x: f64,
    y: f64,
    label: String,
}

/// The weight over the examinations as a small line chart (at least two weights).
struct TrendChart {
    title: String,
    polyline: String,
    points: Vec<ChartPoint>,
    low: String,
    high: String,
    first: String,
    last: String,
}

/// One examination (part D), newest first.
struct ExamView {
    date: String,
    number: u32,
    station: String,
    /// "Huyết áp 128/85 mmHg", "Cân nặng 66,5 kg", …
    vitals: Vec<String>,
    diagnosis: String,
    icd: Vec<String>,
    advice: String,
    doctor: String,
    details: Vec<(&'static str, String)>,
}

/// A heading of the form with its filled items.
struct GroupView {
    title: &'static str,
    rows: Vec<(&'static str, String)>,
}

struct VersionView {
    when: String,
    who: String,
    changes: Vec<String>,
    more: usize,
}

#[derive(Template)]
#[template(path = "citizen/profile.html")]
struct ProfilePage {
    frame: Frame,
    pid: i64,
    name: String,
    books: Vec<BookLink>,
    station: String,
    closed: bool,
    updated: String,
    blood_group: String,
    /// `unknown`, `none` or `listed`.
    allergy_state: &'static str,
    allergies: Vec<(String, String)>,
    conditions: Vec<(String, String)>,
    disease_none: bool,
    disabilities: Vec<(String, String)>,
    family: Vec<(String, String)>,
    family_none: bool,
    risks: Vec<(String, String)>,
    surgery: String,
    other: String,
    measures: Vec<MeasureRow>,
    chart: Option<TrendChart>,
    bmi_note: String,
    exams: Vec<ExamView>,
    admin: Vec<GroupView>,
    vaccines: Vec<GroupView>,
    versions: Vec<VersionView>,
    more_versions: usize,
    can_report: bool,
    report_sent: bool,
    report_error: Option<String>,
    report_text: String,
}

/// The profile of a book without a record.
#[derive(Template)]
#[template(path = "citizen/profile_missing.html")]
struct ProfileMissing {
    frame: Frame,
    pid: i64,
}

/// What the report form shows: sent, or the text and why it was refused.
#[derive(Default)]
struct ReportState {
    sent: bool,
    error: Option<String>,
    text: String,
}

/// The books the viewer may open (own and wards'), each linking to `suffix` of it;
/// none when the viewer has no ward.
async fn book_links(app: &Arc<App>, me: i64, pid: i64, suffix: &str) -> Vec<BookLink> {
    let store = app.store.clone();
    let Ok(Ok((me_person, wards))) = tokio::task::spawn_blocking(move || {
        Ok::<_, store::StoreError>((store.person(me)?, store.wards(me)?))
    })
    .await
    else {
        return Vec::new();
    };
    if wards.is_empty() {
        return Vec::new();
    }
    let mut books = vec![BookLink {
        href: format!("/so/{me}{suffix}"),
        name: me_person
            .and_then(|p| p.name)
            .map_or("Sổ của tôi".into(), |n| format!("{n} (tôi)")),
        current: pid == me,
    }];
    for w in &wards {
        books.push(BookLink {
            href: format!("/so/{}{suffix}", w.person.id),
            name: w
                .person
                .name
                .clone()
                .unwrap_or_else(|| "Người được giám hộ".into()),
            current: w.person.id == pid,
        });
    }
    books
}

/// A stored decimal ("65.5") as a number, for the chart.
fn number(s: &str) -> Option<f64> {
    s.trim().replace(',', ".").parse::<f64>().ok()
}

/// "tăng 1,5 kg" / "giảm 0,8 kg" / "không đổi".
fn change_words(now: &str, before: &str, unit: &str) -> String {
    let (Ok(a), Ok(b)) = (
        now.trim().parse::<rust_decimal::Decimal>(),
        before.trim().parse::<rust_decimal::Decimal>(),
    ) else {
        return String::new();
    };
    let d = a - b;
    if d.is_zero() {
        "không đổi".into()
    } else if d.is_sign_positive() {
        format!("tăng {} {unit}", decimal(d))
    } else {
        format!("giảm {} {unit}", decimal(-d))
    }
}

fn measure_rows(measures: &[book::ehr::Measure]) -> Vec<MeasureRow> {
    let mut rows = Vec::new();
    let mut last_weight: Option<&str> = None;
    for m in measures {
        let weight_change = match (m.weight.as_deref(), last_weight) {
            (Some(w), Some(b)) => change_words(w, b, "kg"),
            _ => String::new(),
        };
        if m.weight.is_some() {
            last_weight = m.weight.as_deref();
        }
        let num = |v: &Option<String>| v.as_deref().map(number_text).unwrap_or_default();
        rows.push(MeasureRow {
            date: book::ehr::parse_date(&m.date)
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|| m.date.clone()),
            weight: num(&m.weight),
            weight_change,
            height: num(&m.height),
            bmi: num(&m.bmi),
            bp: m.bp.clone().unwrap_or_default(),
        });
    }
    rows.reverse();
    rows
}

fn trend_chart(measures: &[book::ehr::Measure]) -> Option<TrendChart> {
    let pts: Vec<(String, f64, String)> = measures
        .iter()
        .filter_map(|m| {
            let w = m.weight.as_deref()?;
            let day = book::ehr::parse_date(&m.date)
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|| m.date.clone());
            Some((day, number(w)?, number_text(w)))
        })
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let (left, right, top, bottom) = (44.0, 344.0, 16.0, 130.0);
    let min = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let max = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = ((min - 2.0).floor().max(0.0), (max + 2.0).ceil());
    let n = pts.len();
    let points: Vec<ChartPoint> = pts
        .iter()
        .enumerate()
        .map(|(i, (day, w, text))| ChartPoint {
            x: ((left + (right - left) * i as f64 / (n - 1) as f64) * 10.0).round() / 10.0,
            y: ((bottom - (bottom - top) * (w - lo) / (hi - lo)) * 10.0).round() / 10.0,
            label: format!("{day}: {text} kg"),
        })
        .collect();
    let polyline = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let (first, last) = (&pts[0], &pts[n - 1]);
    Some(TrendChart {
        title: format!(
            "Cân nặng qua {n} lần khám: từ {} kg ngày {} đến {} kg ngày {}",
            first.2, first.0, last.2, last.0
        ),
        polyline,
        points,
        low: decimal(rust_decimal::Decimal::from(lo as i64)),
        high: decimal(rust_decimal::Decimal::from(hi as i64)),
        first: first.0.clone(),
        last: last.0.clone(),
    })
}

/// The BMI of the last examination against the thresholds for Asian adults (WHO
/// Western Pacific, used by the Ministry of Health); nothing for a child or without a
/// BMI.
fn bmi_note(record: &book::ehr::HealthRecord) -> String {
    let Some(exam) = record.exams.iter().rev().find(|e| e.get("bmi").is_some()) else {
        return String::new();
    };
    let (Some(bmi), Some(day), Some(birth)) =
        (exam.get("bmi").and_then(number), exam.day(), record.birth())
    else {
        return String::new();
    };
    if day.years_since(birth).is_none_or(|age| age < 18) {
        return String::new();
    }
    let class = if bmi < 18.5 {
        "thiếu cân"
    } else if bmi < 23.0 {
        "bình thường"
    } else if bmi < 25.0 {
        "thừa cân"
    } else {
        "béo phì"
    };
    format!(
        "BMI lần khám gần nhất là {}: {class} (với người trưởng thành châu Á, BMI từ 18,5 đến dưới 23 là bình thường).",
        number_text(exam.get("bmi").unwrap_or_default())
    )
}

/// The exam items shown as vital signs (besides the blood pressure, shown as one),
/// with their short name and unit.
const VITALS: [(&str, &str, &str); 7] = [
    ("pulse", "Mạch", "lần/phút"),
    ("temperature", "Nhiệt độ", "°C"),
    ("resp", "Nhịp thở", "lần/phút"),
    ("weight", "Cân nặng", "kg"),
    ("height", "Chiều cao", "cm"),
    ("bmi", "BMI", ""),
    ("waist", "Vòng bụng", "cm"),
];
/// The exam items of the conclusion.
const CONCLUSION: [&str; 4] = ["diagnosis", "icd", "advice", "doctor"];

fn exam_view(e: &book::ehr::Examination, r: &crate::citizen::RecordRead) -> ExamView {
    let text = |k: &str| {
        e.get(k)
            .map(|v| match book::ehr::exam_item(k) {
                Some(i) => book::ehr::shown(i, v),
                None => v.to_string(),
            })
            .unwrap_or_default()
    };
    let mut vitals = Vec::new();
    if let (Some(s), Some(d)) = (e.get("bp_sys"), e.get("bp_dia")) {
        vitals.push(format!("Huyết áp {s}/{d} mmHg"));
    }
    for (k, name, unit) in VITALS {
        if e.get(k).is_some() {
            vitals.push(format!("{name} {} {unit}", text(k)).trim().to_string());
        }
    }
    let details = book::ehr::EXAM_ITEMS
        .iter()
        .filter(|i| {
            !VITALS.iter().any(|(k, _, _)| *k == i.key)
                && !CONCLUSION.contains(&i.key)
                && !matches!(i.key, "bp_sys" | "bp_dia")
        })
        .filter_map(|i| e.get(i.key).map(|_| (i.label, text(i.key))))
        .collect();
    ExamView {
        date: book::ehr::parse_date(&e.date)
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| e.date.clone()),
        number: e.number,
        station: e
            .unit
            .as_deref()
            .map(|u| crate::citizen::station_name(&r.units, u))
            .unwrap_or_default(),
        vitals,
        diagnosis: text("diagnosis"),
        icd: e
            .get("icd")
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| match icd10_name(c) {
                Some(n) => format!("{c} · {n}"),
                None => c.to_string(),
            })
            .collect(),
        advice: text("advice"),
        doctor: text("doctor"),
        details,
    }
}

/// The filled items of a part, by the form's headings (a personal ID masked).
fn group_views(record: &book::ehr::HealthRecord, part: book::ehr::Part) -> Vec<GroupView> {
    book::ehr::groups(part)
        .into_iter()
        .filter_map(|(title, items)| {
            let rows: Vec<(&'static str, String)> = items
                .iter()
                .filter_map(|i| {
                    let v = record.get(i.key)?;
                    let shown = if i.key == "a.id_number" {
                        masked(v)
                    } else {
                        book::ehr::shown(i, v)
                    };
                    Some((i.label, shown))
                })
                .collect();
            (!rows.is_empty()).then_some(GroupView { title, rows })
        })
        .collect()
}

/// Versions shown at most (newest first); the page says how many more there are.
const VERSIONS_SHOWN: usize = 30;
/// Changes of one version listed at most.
const CHANGES_SHOWN: usize = 12;

fn version_views(r: &crate::citizen::RecordRead) -> Vec<VersionView> {
    r.view
        .versions
        .iter()
        .take(VERSIONS_SHOWN)
        .map(|v| {
            let changes: Vec<String> = v
                .changes
                .iter()
                .map(|c| {
                    if c.key == "a.id_number" {
                        format!("Ghi “{}”", book::ehr::label_of(&c.key))
                    } else {
                        crate::citizen::change_text(c)
                    }
                })
                .collect();
            VersionView {
                when: instant(v.at),
                who: r.author(v),
                more: changes.len().saturating_sub(CHANGES_SHOWN),
                changes: changes.into_iter().take(CHANGES_SHOWN).collect(),
            }
        })
        .collect()
}

async fn profile_response(
    app: &Arc<App>,
    headers: &HeaderMap,
    v: &Viewer,
    pid: i64,
    report: ReportState,
    status: StatusCode,
) -> Response {
    let r = match v.record(pid).await {
        Ok(r) => r,
        // A book the viewer may open, without a record (someone known only from
        // hospital dossiers, not from the population registry): say so and how to get one.
        Err(ApiError(StatusCode::NOT_FOUND, ..)) if v.check_sharing(pid).await.is_ok() => {
            return render(&ProfileMissing {
                frame: Frame::citizen("Hồ sơ sức khỏe", headers),
                pid,
            });
        }
        Err(e) => return error(headers, e),
    };
    let books = book_links(app, v.person, pid, "/ho-so-suc-khoe").await;
    let rec = &r.view.stored.record;
    let profile = rec.profile();
    let name = r
        .view
        .person
        .name
        .clone()
        .or_else(|| rec.get("a.name").map(str::to_string))
        .unwrap_or_default();
    let (allergy_state, allergies) = match &profile.allergies {
        None => ("unknown", Vec::new()),
        Some(list) if list.is_empty() => ("none", Vec::new()),
        Some(list) => (
            "listed",
            list.iter()
                .map(|a| (a.kind.to_string(), a.text.clone()))
                .collect(),
        ),
    };
    let page = ProfilePage {
        frame: Frame::citizen(
            if name.is_empty() {
                "Hồ sơ sức khỏe".to_string()
            } else {
                format!("Hồ sơ sức khỏe {name}")
            },
            headers,
        ),
        pid,
        books,
        station: r.station().unwrap_or_default(),
        closed: r.view.stored.is_closed(),
        updated: instant(r.view.stored.updated_at),
        blood_group: profile.blood_group.clone().unwrap_or_default(),
        allergy_state,
        allergies,
        conditions: profile
            .conditions
            .iter()
            .map(|c| (c.text.clone(), c.icd10.clone().unwrap_or_default()))
            .collect(),
        disease_none: rec.get("b.disease.none").is_some(),
        disabilities: profile.disabilities.clone(),
        family: profile.family.clone(),
        family_none: rec.get("b.family.none").is_some(),
        risks: profile.risks.clone(),
        surgery: profile.surgery.clone().unwrap_or_default(),
        other: rec.get("b.other").unwrap_or_default().to_string(),
        measures: measure_rows(&profile.measures),
        chart: trend_chart(&profile.measures),
        bmi_note: bmi_note(rec),
        exams: rec.exams.iter().rev().map(|e| exam_view(e, &r)).collect(),
        admin: group_views(rec, book::ehr::Part::A),
        vaccines: group_views(rec, book::ehr::Part::C),
        versions: version_views(&r),
        more_versions: r.view.versions.len().saturating_sub(VERSIONS_SHOWN),
        can_report: r.view.stored.commune.is_some(),
        report_sent: report.sent,
        report_error: report.error,
        report_text: report.text,
        name,
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize)]
struct ProfileQuery {
    #[serde(default, rename = "da-gui")]
    sent: Option<String>,
}

async fn profile_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(q): Query<ProfileQuery>,
) -> Response {
    let v = signed_in!(app, headers);
    let report = ReportState {
        sent: q.sent.is_some(),
        ..ReportState::default()
    };
    profile_response(&app, &headers, &v, pid, report, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    text: String,
}

/// "Báo sai thông tin": to the station, then back to the profile with a confirmation;
/// a text refused is shown again with why, beside the field.
async fn profile_report(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<ReportForm>,
) -> Response {
    let v = signed_in!(app, headers);
    match v.report_record_error(pid, f.text.clone()).await {
        Ok(_) => redirect(&format!("/so/{pid}/ho-so-suc-khoe?da-gui=1#bao-sai")),
        Err(ApiError(StatusCode::BAD_REQUEST, _, message)) => {
            let report = ReportState {
                sent: false,
                error: Some(message),
                text: f.text.chars().take(2000).collect(),
            };
            profile_response(&app, &headers, &v, pid, report, StatusCode::BAD_REQUEST).await
        }
        Err(e) => error(&headers, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_compared_with_the_examination_before() {
        let m = |date: &str, w: Option<&str>| book::ehr::Measure {
            date: date.into(),
            weight: w.map(Into::into),
            height: Some("160".into()),
            bmi: None,
            bp: Some("120/80".into()),
        };
        let rows = measure_rows(&[
            m("2024-03-01", Some("62")),
            m("2025-03-01", None),
            m("2026-03-01", Some("63.5")),
        ]);
        assert_eq!(rows[0].date, "01/03/2026");
        assert_eq!(rows[0].weight, "63,5");
        assert_eq!(rows[0].weight_change, "tăng 1,5 kg");
        assert_eq!(rows[2].weight_change, "");
        let chart = trend_chart(&[m("2024-03-01", Some("62")), m("2026-03-01", Some("60.2"))])
            .expect("two weights make a chart");
        assert!(
            chart
                .title
                .contains("từ 62 kg ngày 01/03/2024 đến 60,2 kg ngày 01/03/2026")
        );
        assert!(chart.points[0].y < chart.points[1].y, "lighter is lower");
        assert!(trend_chart(&[m("2024-03-01", Some("62"))]).is_none());
        assert_eq!(change_words("60", "60.0", "kg"), "không đổi");
        assert_eq!(change_words("59.2", "60", "kg"), "giảm 0,8 kg");
    }

    #[test]
    fn ids_are_masked_and_births_read_as_written() {
        assert_eq!(masked("001085012345"), "001••••••345");
    }

    #[test]
    fn record_summaries_lose_stray_separators() {
        assert_eq!(
            book::text::tidy("Ổn định.; Xuất viện.;"),
            "Ổn định. Xuất viện."
        );
        assert_eq!(book::text::tidy(" ; a;; b ;"), "a; b");
    }

    #[test]
    fn the_strength_is_printed_once() {
        let m = book::episode::Medicine {
            name: Some("Methylprednisolon 40mg".into()),
            strength: Some("40 mg".into()),
            ..Default::default()
        };
        assert_eq!(m.label(), "Methylprednisolon 40mg");
        let m = book::episode::Medicine {
            name: Some("Amlodipin".into()),
            strength: Some("5mg".into()),
            ..Default::default()
        };
        assert_eq!(m.label(), "Amlodipin 5mg");
    }
}
