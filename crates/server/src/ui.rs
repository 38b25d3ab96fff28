//! The citizen's web book: server-rendered Vietnamese pages, mobile first, no
//! JavaScript. Sign in → book → year → visit → sections. The same access rule as
//! the API (`Viewer::book`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use book::EpisodeView;
use serde::Deserialize;
use store::{EpisodeRecord, now_ms};

use crate::App;
use crate::citizen::{
    COOKIE_NAME, MIN_QUERY, Names, SESSION_MS, Viewer, appointment_ahead, facility_names,
    referral_open, search_book, year_of,
};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { redirect("/so") }))
        .route("/dang-nhap", get(login_page).post(login))
        .route("/dang-xuat", axum::routing::post(logout))
        .route("/so", get(home))
        .route("/so/{pid}", get(person_home))
        .route("/so/{pid}/nam/{year}", get(year_page))
        .route("/so/{pid}/luot/{id}", get(visit_page))
        .route("/so/{pid}/tim", get(search_page))
        .route("/so/{pid}/cap-nhat", get(refresh_page))
        .route("/so/{pid}/chia-se", get(share_page).post(share_create))
        .route(
            "/so/{pid}/chia-se/{id}/thu-hoi",
            axum::routing::post(share_revoke),
        )
        .route("/so/{pid}/nhat-ky", get(log_page))
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn o(s: &Option<String>) -> String {
    esc(s.as_deref().unwrap_or(""))
}

/// A facility by name, with its code; by code alone when it is not registered.
pub(crate) fn fac(names: &Names, code: &str) -> String {
    match names.get(code) {
        Some(name) => format!("{} <span class=\"muted\">({})</span>", esc(name), esc(code)),
        None => format!("Cơ sở {}", esc(code)),
    }
}

pub(crate) fn fac_opt(names: &Names, code: &Option<String>) -> String {
    code.as_deref().map(|c| fac(names, c)).unwrap_or_default()
}

pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

pub(crate) const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f4f6f8}
header{background:#0b5cad;color:#fff;padding:12px 16px;display:flex;justify-content:space-between;align-items:center}
header a,header button{color:#fff;font:inherit;background:none;border:0;text-decoration:underline;cursor:pointer;padding:8px}
main{max-width:720px;margin:0 auto;padding:12px}h1{font-size:1.35rem;margin:.6em 0}h2{font-size:1.1rem;margin:1em 0 .4em}
.card{background:#fff;border-radius:10px;padding:14px 16px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.12)}
a.card{display:block;color:inherit;text-decoration:none}a.card:focus,a.card:hover{outline:3px solid #0b5cad}
.muted{color:#4a5561}.big{font-size:1.25rem;font-weight:600}.pill{display:inline-block;background:#e3eefb;color:#0b4a8c;border-radius:99px;padding:2px 10px;font-size:.85rem}
label{display:block;font-weight:600;margin:12px 0 4px}input{width:100%;font:inherit;padding:12px;border:2px solid #687583;border-radius:8px}
input:focus{outline:3px solid #0b5cad;border-color:#0b5cad}button.primary,a.button{display:inline-block;margin-top:16px;background:#0b5cad;color:#fff;border:0;border-radius:8px;padding:12px 18px;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.error{background:#fdecea;color:#8a1c12;border-radius:8px;padding:10px 12px}
details{background:#fff;border-radius:10px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.12)}summary{padding:14px 16px;font-weight:600;cursor:pointer}details>div{padding:0 16px 14px}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px 4px;border-bottom:1px solid #e1e5ea;vertical-align:top}
.abn{color:#8a1c12;font-weight:600}.paper{border:2px solid #0b5cad}
.code{font:700 2rem/1.2 ui-monospace,monospace;letter-spacing:.12em;margin:10px 0}.qr svg{width:200px;height:200px}
fieldset{border:0;padding:0;margin:0}legend{font-weight:600;margin:8px 0}fieldset label{font-weight:400;display:flex;gap:8px;align-items:flex-start}fieldset input{width:auto}
select,textarea{width:100%;font:inherit;padding:12px;border:2px solid #687583;border-radius:8px;background:#fff}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#0b5cad;padding:8px 12px;z-index:9}.skip:focus{left:8px}
a:focus-visible,button:focus-visible,summary:focus-visible,input:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
form.search{display:flex;gap:8px;align-items:flex-end}form.search div{flex:1}form.search label{margin-top:0}form.search button{margin-top:0}
.actions{display:flex;gap:8px;flex-wrap:wrap}.actions a.button{margin-top:4px}a.button.secondary{background:#fff;color:#0b5cad;border:2px solid #0b5cad}
nav.crumbs{margin:8px 0}.new{background:#fff4d6;color:#6b4a00}input.inline{width:auto}
"#;

pub(crate) fn page(title: &str, signed_in: bool, body: &str) -> Html<String> {
    shell(
        title,
        ("/so", "Sổ sức khỏe điện tử"),
        signed_in.then_some("/dang-xuat"),
        body,
    )
}

/// The page frame: a skip link, a header (home link, sign-out) and the content.
pub(crate) fn shell(
    title: &str,
    home: (&str, &str),
    logout: Option<&str>,
    body: &str,
) -> Html<String> {
    let logout = logout
        .map(|action| {
            format!(
                r#"<form method="post" action="{action}"><button type="submit">Đăng xuất</button></form>"#
            )
        })
        .unwrap_or_default();
    Html(format!(
        r##"<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{} — Sổ sức khỏe điện tử</title><style>{CSS}</style></head><body><a class="skip" href="#noi-dung">Bỏ qua, đến nội dung chính</a><header><a href="{}"><strong>{}</strong></a>{logout}</header><main id="noi-dung" tabindex="-1">{body}</main></body></html>"##,
        esc(title),
        home.0,
        esc(home.1)
    ))
}

async fn viewer(app: &Arc<App>, headers: &HeaderMap) -> Option<Viewer> {
    let token = crate::citizen::token_of(headers)?;
    let store = app.store.clone();
    let person = tokio::task::spawn_blocking(move || store.session_person(&token, now_ms()))
        .await
        .ok()?
        .ok()??;
    Some(Viewer::new(person, app.clone()))
}

/// What a page reads of a book.
enum Read {
    /// The whole book, recorded as this action.
    Book(&'static str),
    /// What reached it after this time (recorded only when something did).
    Since(i64),
}

/// The signed-in viewer and the book of `pid` they may open; otherwise the answer to
/// send (to the sign-in page, or not found).
async fn signed_in_book(
    app: &Arc<App>,
    headers: &HeaderMap,
    pid: i64,
    read: Read,
) -> Result<(Viewer, Vec<EpisodeRecord>), Response> {
    let Some(v) = viewer(app, headers).await else {
        return Err(redirect("/dang-nhap"));
    };
    let read = match read {
        Read::Book(a) => v.book(pid, a).await,
        Read::Since(t) => v.changes(pid, t).await,
    };
    match read {
        Ok(eps) => Ok((v, eps)),
        Err(e) => Err(e.into_response()),
    }
}

fn login_form(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    format!(
        r#"<h1>Đăng nhập</h1>{error}<form method="post" action="/dang-nhap" class="card">
<label for="personal_id">Số định danh cá nhân (12 số)</label><input id="personal_id" name="personal_id" inputmode="numeric" autocomplete="username" required pattern="[0-9]{{12}}">
<label for="passcode">Mã khóa (6 số)</label><input id="passcode" name="passcode" type="password" inputmode="numeric" autocomplete="current-password" required pattern="[0-9]{{6}}">
<button class="primary" type="submit">Đăng nhập</button></form>
<p class="muted">Chưa có tài khoản? Nhận mã kích hoạt tại cơ sở y tế hoặc trạm y tế xã.</p>"#
    )
}

async fn login_page() -> Html<String> {
    page("Đăng nhập", false, &login_form(None))
}

#[derive(Deserialize)]
struct LoginForm {
    personal_id: String,
    passcode: String,
}

async fn login(
    State(app): State<Arc<App>>,
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
                    let cookie = format!(
                        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                        SESSION_MS / 1000
                    );
                    if let Ok(v) = HeaderValue::from_str(&cookie) {
                        res.headers_mut().insert(SET_COOKIE, v);
                    }
                    return res;
                }
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Lỗi hệ thống, vui lòng thử lại.".to_string(),
                ),
            }
        }
        // The same answer whether or not the personal ID has an account.
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            "Số định danh hoặc mã khóa không đúng.".to_string(),
        ),
        Err(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            "Nhập sai nhiều lần. Vui lòng chờ một lúc rồi thử lại.".to_string(),
        ),
        Err(res) => (res.status(), "Lỗi hệ thống, vui lòng thử lại.".to_string()),
    };
    (
        status,
        page("Đăng nhập", false, &login_form(Some(&message))),
    )
        .into_response()
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = crate::citizen::token_of(&headers) {
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

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match viewer(&app, &headers).await {
        Some(v) => redirect(&format!("/so/{}", v.person)),
        None => redirect("/dang-nhap"),
    }
}

pub(crate) fn when(d: Option<chrono::NaiveDateTime>) -> String {
    d.map(|d| d.format("%H:%M %d/%m/%Y").to_string())
        .unwrap_or_default()
}

pub(crate) fn date(d: Option<chrono::NaiveDateTime>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn appointment_card(href: &str, e: &EpisodeRecord, names: &Names) -> String {
    let Some(a) = &e.view.appointment else {
        return String::new();
    };
    format!(
        r#"<a class="card paper" href="{href}"><span class="pill">Giấy hẹn khám lại</span><div class="big">{}</div><div>Tại {} · Số giấy hẹn {}</div><div class="muted">{}</div></a>"#,
        when(a.at),
        fac_opt(names, &a.facility),
        o(&a.number),
        o(&a.diagnosis)
    )
}

async fn person_home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let (v, eps) = match signed_in_book(&app, &headers, pid, Read::Book("open")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let store = app.store.clone();
    let me = v.person;
    let (person, wards) = match tokio::task::spawn_blocking(move || {
        Ok::<_, store::StoreError>((store.person(pid)?, store.wards(me)?))
    })
    .await
    {
        Ok(Ok(x)) => x,
        _ => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let name = person.as_ref().map(|p| o(&p.name)).unwrap_or_default();
    let all: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &all).await;
    let mut body = format!(
        r#"<h1>{name}</h1>{}<div class="actions"><a class="button secondary" href="/so/{pid}/cap-nhat">Cập nhật dữ liệu</a><a class="button secondary" href="/so/{pid}/chia-se">Chia sẻ với bác sĩ</a><a class="button secondary" href="/so/{pid}/nhat-ky">Ai đã xem sổ</a><a class="button secondary" href="/fhir/Patient/{pid}/$summary" download="tom-tat-suc-khoe-ips.json" title="International Patient Summary (HL7 FHIR), mang theo khi khám ở nước ngoài">Tóm tắt sức khỏe quốc tế (IPS)</a></div>"#,
        search_form(pid, "")
    );
    if pid == me && !wards.is_empty() {
        body.push_str("<h2>Sổ của người tôi giám hộ</h2>");
        for w in &wards {
            let _ = write!(
                body,
                r#"<a class="card" href="/so/{}"><strong>{}</strong><div class="muted">Cấp quyền bởi {}</div></a>"#,
                w.person.id,
                o(&w.person.name),
                esc(&w.granted_by)
            );
        }
    }
    let now = crate::vn_now();
    let upcoming: Vec<&EpisodeRecord> = eps.iter().filter(|e| appointment_ahead(e, now)).collect();
    if !upcoming.is_empty() {
        body.push_str("<h2>Lịch hẹn sắp tới</h2>");
        for e in upcoming {
            body.push_str(&appointment_card(
                &format!("/so/{pid}/luot/{}", e.id),
                e,
                &names,
            ));
        }
    }
    let referrals: Vec<&EpisodeRecord> = eps.iter().filter(|e| referral_open(e, now)).collect();
    if !referrals.is_empty() {
        body.push_str("<h2>Giấy chuyển tuyến còn hiệu lực</h2>");
        for e in referrals {
            if let Some(r) = &e.view.referral {
                let _ = write!(
                    body,
                    r#"<a class="card paper" href="/so/{pid}/luot/{}"><span class="pill">Giấy chuyển tuyến</span><div class="big">Đến {}</div><div>Số {} · từ {} · ngày {}</div></a>"#,
                    e.id,
                    fac_opt(&names, &r.to_facility),
                    o(&r.number),
                    fac_opt(&names, &r.from_facility),
                    date(e.view.discharged)
                );
            }
        }
    }
    body.push_str("<h2>Lịch sử khám chữa bệnh</h2>");
    let mut years = std::collections::BTreeMap::<i32, usize>::new();
    for e in &eps {
        if let Some(y) = year_of(e) {
            *years.entry(y).or_default() += 1;
        }
    }
    if years.is_empty() {
        body.push_str(r#"<p class="card">Chưa có lượt khám nào. Sau mỗi lần khám, cơ sở y tế gửi dữ liệu lên sổ trong vòng 24 giờ.</p>"#);
    }
    for (y, n) in years.iter().rev() {
        let _ = write!(
            body,
            r#"<a class="card" href="/so/{pid}/nam/{y}"><span class="big">Năm {y}</span> <span class="muted">· {n} lượt khám</span></a>"#
        );
    }
    page(&format!("Sổ sức khỏe {name}"), true, &body).into_response()
}

async fn year_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, year)): Path<(i64, i32)>,
) -> Response {
    let Some(v) = viewer(&app, &headers).await else {
        return redirect("/dang-nhap");
    };
    let eps = match v.book_year(pid, "year", year).await {
        Ok(eps) => eps,
        Err(e) => return e.into_response(),
    };
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Năm {year}</h1>"#
    );
    let list: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &list).await;
    if list.is_empty() {
        body.push_str(r#"<p class="card">Không có lượt khám nào trong năm này.</p>"#);
    }
    body.push_str(&visit_cards(pid, &list, &names, None));
    page(&format!("Năm {year}"), true, &body).into_response()
}

/// The search box of a book.
fn search_form(pid: i64, q: &str) -> String {
    format!(
        r#"<form class="search" role="search" method="get" action="/so/{pid}/tim"><div><label for="q">Tìm trong sổ</label><input id="q" name="q" type="search" value="{}" placeholder="Bệnh, thuốc, cơ sở khám…" minlength="{MIN_QUERY}" required></div><button class="primary" type="submit">Tìm</button></form>"#,
        esc(q)
    )
}

/// Visits as cards (newest first), each a link to its detail; visits made visible
/// after `new_since` (ms) are marked new.
fn visit_cards(pid: i64, list: &[&EpisodeRecord], names: &Names, new_since: Option<i64>) -> String {
    let mut out = String::new();
    for e in list {
        let v = &e.view;
        let dx = v
            .main_diagnosis
            .as_ref()
            .map(|d| format!("{} · {}", esc(&d.icd10), o(&d.name)))
            .unwrap_or_default();
        let new = match new_since {
            Some(t) if e.visible_at > t => r#"<span class="pill new">Mới</span> "#,
            _ => "",
        };
        let _ = write!(
            out,
            r#"<a class="card" href="/so/{pid}/luot/{}"><div class="muted">{new}{} · {}</div><div class="big">{dx}</div><div>{}{}</div></a>"#,
            e.id,
            date(v.admitted),
            o(&v.care_type_label),
            fac(names, &e.facility),
            if v.appointment.is_some() {
                r#" · <span class="pill">Có giấy hẹn</span>"#
            } else {
                ""
            }
        );
    }
    out
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
    axum::extract::Query(f): axum::extract::Query<SearchForm>,
) -> Response {
    let (_, eps) = match signed_in_book(&app, &headers, pid, Read::Book("search")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let all: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &all).await;
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Tìm trong sổ</h1>{}"#,
        search_form(pid, &f.q)
    );
    match search_book(&eps, &names, &f.q) {
        None => {
            let _ = write!(
                body,
                r#"<p class="card" role="status">Nhập ít nhất {MIN_QUERY} ký tự, ví dụ tên bệnh, tên thuốc hoặc tên cơ sở khám. Có thể gõ không dấu.</p>"#
            );
        }
        Some(hits) if hits.is_empty() => {
            let _ = write!(
                body,
                r#"<p class="card" role="status">Không tìm thấy lượt khám nào có “{}”. Thử từ khác, hoặc gõ không dấu.</p>"#,
                esc(&f.q)
            );
        }
        Some(hits) => {
            let _ = write!(
                body,
                r#"<p role="status">{} lượt khám có “{}”</p>"#,
                hits.len(),
                esc(&f.q)
            );
            body.push_str(&visit_cards(pid, &hits, &names, None));
        }
    }
    page("Tìm trong sổ", true, &body).into_response()
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
    // A guardian's refresh is recorded when it shows something new.
    let now = now_ms();
    let since = seen_at(&headers);
    let from = since.unwrap_or(now - 30 * 24 * 3_600_000);
    let (_, eps) = match signed_in_book(&app, &headers, pid, Read::Since(from)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fresh: Vec<&EpisodeRecord> = eps.iter().collect();
    let names = facility_names(&app, &fresh).await;
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Cập nhật dữ liệu</h1><p role="status">Đã cập nhật lúc {}. "#,
        when(Some(crate::vn_wall_clock(now)))
    );
    match since {
        Some(t) => {
            let _ = write!(
                body,
                "{} lượt khám mới kể từ lần cập nhật trước ({}).</p>",
                fresh.len(),
                when(Some(crate::vn_wall_clock(t)))
            );
        }
        None => {
            let _ = write!(
                body,
                "{} lượt khám được đưa lên sổ trong 30 ngày qua.</p>",
                fresh.len()
            );
        }
    }
    if fresh.is_empty() {
        body.push_str(r#"<p class="card">Chưa có dữ liệu mới. Sau mỗi lần khám, cơ sở y tế gửi hồ sơ lên sổ trong vòng 24 giờ.</p>"#);
    }
    body.push_str(&visit_cards(pid, &fresh, &names, Some(from)));
    let mut res = page("Cập nhật dữ liệu", true, &body).into_response();
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

pub(crate) fn section(title: &str, id: &str, open: bool, inner: &str) -> String {
    if inner.is_empty() {
        return String::new();
    }
    format!(
        "<details id=\"{id}\"{}><summary>{}</summary><div>{inner}</div></details>",
        if open { " open" } else { "" },
        esc(title)
    )
}

pub(crate) fn results_table(v: &EpisodeView, kind: book::episode::ResultKind) -> String {
    let rows: Vec<&book::episode::TestResult> =
        v.results.iter().filter(|r| r.kind == kind).collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut t =
        String::from(r#"<table><tr><th scope="col">Chỉ số</th><th scope="col">Kết quả</th></tr>"#);
    for r in rows {
        let abnormal = book::summary::is_abnormal(r);
        let value = match (&r.value, &r.unit) {
            (Some(x), Some(u)) => format!("{} {}", esc(x), esc(u)),
            (Some(x), None) => esc(x),
            _ => String::new(),
        };
        let _ = write!(
            t,
            r#"<tr><td>{}<div class="muted">{}</div></td><td{}>{value} {}</td></tr>"#,
            o(&r.indicator),
            if r.value.is_none() {
                o(&r.description)
            } else {
                String::new()
            },
            if abnormal { r#" class="abn""# } else { "" },
            o(&r.conclusion)
        );
    }
    t.push_str("</table>");
    t
}

async fn visit_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let Some(viewer) = viewer(&app, &headers).await else {
        return redirect("/dang-nhap");
    };
    let Ok(e) = viewer.episode(pid, id, "episode").await else {
        return (
            StatusCode::NOT_FOUND,
            page(
                "Không tìm thấy",
                true,
                &format!(r#"<h1>Không tìm thấy</h1><p class="card">Lượt khám này không có trong sổ bạn được xem. <a href="/so/{pid}">Về sổ sức khỏe</a></p>"#),
            ),
        )
            .into_response();
    };
    let names = facility_names(&app, &[&e]).await;
    let year = year_of(&e).unwrap_or_default();
    let body = visit_detail(
        &e,
        &names,
        &format!(r#"<a href="/so/{pid}/nam/{year}">← Năm {year}</a>"#),
        Some(&format!("/api/v1/persons/{pid}/episodes/{id}/pdf")),
    );
    page(&o(&e.view.discharge_diagnosis), true, &body).into_response()
}

/// Everything of one visit, as the citizen and the clinician read it.
pub(crate) fn visit_detail(
    e: &EpisodeRecord,
    names: &Names,
    crumbs: &str,
    pdf: Option<&str>,
) -> String {
    let v = &e.view;
    let pdf = pdf
        .map(|h| format!(r#"<a class="button" href="{}">Tải bản PDF</a>"#, esc(h)))
        .unwrap_or_default();
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn">{crumbs}</nav><h1>{}</h1><div class="card"><div>{} · {}</div><div>Vào {} · Ra {}</div><div class="muted">Lý do: {}</div>{pdf}</div>"#,
        o(&v.discharge_diagnosis),
        fac(names, &e.facility),
        o(&v.care_type_label),
        when(v.admitted),
        when(v.discharged),
        o(&v.reason)
    );
    body.push_str(&appointment_card("#chan-doan", e, names));
    if let Some(r) = &v.referral {
        let _ = write!(
            body,
            r#"<div class="card paper"><span class="pill">Giấy chuyển tuyến</span><div class="big">Đến {}</div><div>Số {} · từ {}</div><div>Lý do: {}</div><div>{}</div></div>"#,
            fac_opt(names, &r.to_facility),
            o(&r.number),
            fac_opt(names, &r.from_facility),
            esc(r.reason.as_ref().map(|x| x.label.as_str()).unwrap_or("")),
            o(&r.recommendation)
        );
    }
    let mut dx = String::new();
    if let Some(d) = &v.main_diagnosis {
        let _ = write!(
            dx,
            "<p><strong>{}</strong> {}</p>",
            esc(&d.icd10),
            o(&d.name)
        );
    }
    if !v.secondary_diagnoses.is_empty() {
        let codes: Vec<String> = v
            .secondary_diagnoses
            .iter()
            .map(|d| esc(&d.icd10))
            .collect();
        let _ = write!(dx, "<p>Bệnh kèm theo: {}</p>", codes.join(", "));
    }
    if let Some(o) = &v.outcome {
        let _ = write!(dx, "<p>Kết quả điều trị: {}</p>", esc(&o.label));
    }
    body.push_str(&section("Chẩn đoán", "chan-doan", true, &dx));
    let mut meds = String::new();
    for m in &v.medicines {
        let _ = write!(
            meds,
            "<p><strong>{} {}</strong><br>{} {} · {}</p>",
            o(&m.name),
            o(&m.strength),
            m.quantity
                .map(|q| q.normalize().to_string())
                .unwrap_or_default(),
            o(&m.unit),
            o(&m.dose)
        );
    }
    body.push_str(&section("Thuốc", "thuoc", false, &meds));
    use book::episode::ResultKind::*;
    body.push_str(&section(
        "Xét nghiệm",
        "xet-nghiem",
        false,
        &results_table(v, Lab),
    ));
    body.push_str(&section(
        "Chẩn đoán hình ảnh",
        "chan-doan-hinh-anh",
        false,
        &results_table(v, Imaging),
    ));
    body.push_str(&section(
        "Thăm dò chức năng",
        "tham-do-chuc-nang",
        false,
        &results_table(v, Functional),
    ));
    let mut pt = String::new();
    for x in v.services.surgery.iter().chain(&v.services.procedures) {
        let _ = write!(pt, "<p>{}</p>", o(&x.name));
    }
    body.push_str(&section(
        "Phẫu thuật, thủ thuật",
        "phau-thuat-thu-thuat",
        false,
        &pt,
    ));
    if let Some(s) = &v.record_summary {
        let inner = format!(
            "<p>{}</p><p>Kết quả chính: {}</p><p>Điều trị: {}</p>",
            o(&s.course),
            o(&s.key_results),
            o(&s.treatment)
        );
        body.push_str(&section("Tóm tắt hồ sơ bệnh án", "tom-tat", false, &inner));
    }
    body
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_dossiers_is_escaped() {
        assert_eq!(
            super::esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}

/// The viewer, or the answer that sends them to sign in.
async fn signed_in(app: &Arc<App>, headers: &HeaderMap) -> Result<Viewer, Response> {
    viewer(app, headers)
        .await
        .ok_or_else(|| redirect("/dang-nhap"))
}

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

async fn share_list_html(v: &Viewer, pid: i64) -> Result<String, Response> {
    let shares = v.shares(pid).await.map_err(IntoResponse::into_response)?;
    let now = now_ms();
    let mut out = String::from("<h2>Mã đã tạo</h2>");
    if shares.is_empty() {
        out.push_str(r#"<p class="card">Bạn chưa tạo mã chia sẻ nào. Khi đi khám, tạo mã và đưa cho bác sĩ để bác sĩ xem được tiền sử của bạn.</p>"#);
    }
    for sh in shares {
        let status = if sh.revoked_at.is_some() {
            "Đã thu hồi"
        } else if sh.expires_at <= now {
            "Hết hạn"
        } else {
            "Còn hiệu lực"
        };
        let revoke = if sh.live(now) {
            format!(
                r#"<form method="post" action="/so/{pid}/chia-se/{}/thu-hoi"><button class="primary" type="submit">Thu hồi mã</button></form>"#,
                sh.id
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            r#"<div class="card"><span class="pill">{status}</span><div class="big">{}</div><div>Tạo lúc {} · Hết hạn {}</div>{revoke}</div>"#,
            scope_label(sh.scope),
            instant(sh.created_at),
            instant(sh.expires_at)
        );
    }
    Ok(out)
}

fn share_form(pid: i64) -> String {
    let mut minutes = String::new();
    for (i, (m, label)) in SHARE_CHOICES.iter().enumerate() {
        let _ = write!(
            minutes,
            r#"<option value="{m}"{}>{label}</option>"#,
            if i == 0 { " selected" } else { "" }
        );
    }
    format!(
        r#"<form method="post" action="/so/{pid}/chia-se" class="card"><fieldset><legend>Bác sĩ được xem</legend>
<label><input type="radio" name="scope" value="summary" checked> Tóm tắt sức khỏe (bệnh, thuốc, kết quả bất thường, lịch hẹn)</label>
<label><input type="radio" name="scope" value="full"> Toàn bộ sổ sức khỏe</label></fieldset>
<label for="minutes">Thời hạn</label><select id="minutes" name="minutes">{minutes}</select>
<button class="primary" type="submit">Tạo mã chia sẻ</button></form>"#
    )
}

async fn share_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = match signed_in(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let list = match share_list_html(&v, pid).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Chia sẻ với bác sĩ</h1><p>Mã chia sẻ cho phép bác sĩ nơi bạn khám xem sổ của bạn trong thời hạn bạn chọn. Bạn có thể thu hồi bất cứ lúc nào, và xem ai đã mở sổ.</p>{}{list}"#,
        share_form(pid)
    );
    page("Chia sẻ với bác sĩ", true, &body).into_response()
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
    let v = match signed_in(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let body = crate::citizen::ShareBody {
        scope: f.scope,
        minutes: f.minutes,
    };
    let made = match v.make_share(pid, &body, &headers).await {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let qr = made
        .qr_svg
        .find("<svg")
        .map(|i| &made.qr_svg[i..])
        .unwrap_or_default();
    let list = match share_list_html(&v, pid).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Mã chia sẻ</h1>
<div class="card paper" role="status"><div>Đưa mã này cho bác sĩ, hoặc để bác sĩ quét mã QR:</div><div class="code" id="ma-chia-se">{}</div>
<div class="qr" role="img" aria-label="Mã QR của mã chia sẻ {}">{qr}</div>
<div>{} · hết hạn lúc {}</div></div>{list}"#,
        esc(&made.code),
        esc(&made.code),
        scope_label(made.share.scope),
        instant(made.share.expires_at)
    );
    (StatusCode::CREATED, page("Mã chia sẻ", true, &body)).into_response()
}

async fn share_revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let v = match signed_in(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match v.revoke(pid, id).await {
        Ok(()) => redirect(&format!("/so/{pid}/chia-se")),
        Err(e) => e.into_response(),
    }
}

fn action_label(a: &str) -> &'static str {
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
        _ => "Xem dữ liệu",
    }
}

async fn log_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let v = match signed_in(&app, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (reads, grants) = match v.access_log(pid).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let codes: Vec<String> = reads.iter().filter_map(|r| r.facility.clone()).collect();
    let names = crate::citizen::names_of(&app, codes).await;
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/so/{pid}">← Sổ sức khỏe</a></nav><h1>Ai đã xem sổ của tôi</h1><p>Mọi lần nhân viên y tế mở sổ của bạn đều được ghi lại và không ai xóa được.</p>"#
    );
    let store = app.store.clone();
    let guardians = tokio::task::spawn_blocking(move || store.guardians_of(pid))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if !guardians.is_empty() {
        body.push_str("<h2>Người giám hộ được mở sổ này</h2>");
        for (g, by, at) in &guardians {
            let _ = write!(
                body,
                r#"<div class="card"><div class="big">{}</div><div>Ghi nhận bởi {} lúc {}</div></div>"#,
                o(&g.name),
                esc(by),
                instant(*at)
            );
        }
        body.push_str("<h2>Lượt xem sổ</h2>");
    }
    if reads.is_empty() {
        body.push_str(r#"<p class="card">Chưa có ai ngoài bạn mở sổ này.</p>"#);
    }
    for r in &reads {
        let grant = grants
            .iter()
            .find(|g| g.person_id == r.person_id && Some(g.id) == r.grant_id);
        let basis = book::access::Basis::from_code(&r.basis);
        let glass = basis == Some(book::access::Basis::BreakGlass);
        let reason = match (glass, grant.and_then(|g| g.reason.as_deref())) {
            (true, Some(x)) => format!(r#"<div>Lý do: {}</div>"#, esc(x)),
            _ => String::new(),
        };
        let who = r.actor_name.clone().unwrap_or_else(|| r.actor.clone());
        let cert = r
            .practising_cert
            .as_deref()
            .map(|c| format!(" · CCHN {}", esc(c)))
            .unwrap_or_default();
        let role = book::access::Role::from_code(&r.role)
            .map(|x| x.label())
            .unwrap_or("");
        let _ = write!(
            body,
            r#"<div class="card{}"><div class="muted">{}</div><div class="big">{}</div><div>{}{cert} · {role}</div><div>{}</div><div><span class="pill{}">{}</span></div>{reason}</div>"#,
            if glass { " paper" } else { "" },
            instant(r.at),
            action_label(&r.action),
            esc(&who),
            r.facility
                .as_deref()
                .map(|f| fac(&names, f))
                .unwrap_or_default(),
            if glass { " new" } else { "" },
            basis.map(|b| b.label()).unwrap_or("")
        );
    }
    page("Ai đã xem sổ của tôi", true, &body).into_response()
}
