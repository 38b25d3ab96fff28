//! The staff web pages, under `/nhan-vien`: sign-in; for clinicians, opening a
//! patient's book by share code (or its QR), referral or break-glass, then the
//! summary and the visits; for administrators, break-glass review, facilities and
//! accounts. Server-rendered, no JavaScript; the same rules as the staff API.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use book::access::{Action, Basis, Role, Scope};
use serde::Deserialize;

use crate::App;
use crate::citizen::{ApiError, token_from};
use crate::staff::{self, STAFF_COOKIE, StaffUser};
use crate::ui::{date, esc, fac, o, redirect, shell, visit_detail, when};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/nhan-vien", get(home))
        .route("/nhan-vien/dang-nhap", get(login_page).post(login))
        .route("/nhan-vien/dang-xuat", post(logout))
        .route("/nhan-vien/ma", get(code_page).post(code_submit))
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

fn page(title: &str, signed_in: bool, body: &str) -> Html<String> {
    shell(
        title,
        ("/nhan-vien", "Sổ sức khỏe — Nhân viên y tế"),
        signed_in.then_some("/nhan-vien/dang-xuat"),
        body,
    )
}

/// An error as a page: the API's status and its Vietnamese message.
fn error_page(e: ApiError) -> Response {
    let ApiError(status, _, message) = e;
    (
        status,
        page(
            "Không thực hiện được",
            true,
            &format!(
                r#"<h1>Không thực hiện được</h1><p class="error" role="alert">{}</p><p><a href="/nhan-vien">← Trang chính</a></p>"#,
                esc(&message)
            ),
        ),
    )
        .into_response()
}

async fn user(app: &Arc<App>, headers: &HeaderMap) -> Result<StaffUser, Response> {
    let Some(token) = token_from(headers, STAFF_COOKIE) else {
        return Err(redirect("/nhan-vien/dang-nhap"));
    };
    match StaffUser::from_token(app, token).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(redirect("/nhan-vien/dang-nhap")),
        Err(e) => Err(error_page(e)),
    }
}

macro_rules! signed_in {
    ($app:expr, $headers:expr) => {
        match user(&$app, &$headers).await {
            Ok(u) => u,
            Err(r) => return r,
        }
    };
}

fn login_form(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    format!(
        r#"<h1>Đăng nhập nhân viên y tế</h1>{error}<form method="post" action="/nhan-vien/dang-nhap" class="card">
<label for="username">Tên đăng nhập</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Mật khẩu</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button class="primary" type="submit">Đăng nhập</button></form>
<p class="muted">Người dân đăng nhập sổ của mình tại <a href="/dang-nhap">trang người dân</a>.</p>"#
    )
}

async fn login_page() -> Html<String> {
    page("Đăng nhập nhân viên", false, &login_form(None))
}

async fn login(
    State(app): State<Arc<App>>,
    crate::guard::ClientIp(ip): crate::guard::ClientIp,
    Form(f): Form<staff::LoginBody>,
) -> Response {
    match staff::sign_in(&app, ip, f).await {
        Ok((token, _)) => {
            let mut res = redirect("/nhan-vien");
            if let Some(c) = staff::staff_cookie(&token) {
                res.headers_mut().insert(SET_COOKIE, c);
            }
            res
        }
        Err(ApiError(status, _, message)) => (
            status,
            page("Đăng nhập nhân viên", false, &login_form(Some(&message))),
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

fn code_form(code: &str) -> String {
    format!(
        r#"<form method="post" action="/nhan-vien/ma" class="card"><h2>Mở sổ bằng mã chia sẻ</h2>
<label for="code">Mã chia sẻ người bệnh đưa (hoặc quét mã QR)</label><input id="code" name="code" value="{}" autocomplete="off" autocapitalize="characters" required>
<button class="primary" type="submit">Mở sổ</button></form>"#,
        esc(code)
    )
}

fn clinician_forms() -> String {
    format!(
        r#"{}<form method="post" action="/nhan-vien/chuyen-tuyen" class="card"><h2>Người bệnh chuyển tuyến đến</h2>
<label for="number">Số giấy chuyển tuyến</label><input id="number" name="number" required>
<label for="ref_personal_id">Số định danh cá nhân của người bệnh</label><input id="ref_personal_id" name="personal_id" inputmode="numeric" pattern="[0-9]{{12}}" required>
<button class="primary" type="submit">Mở sổ</button></form>
<form method="post" action="/nhan-vien/khan-cap" class="card paper"><h2>Truy cập khẩn cấp</h2>
<p>Chỉ dùng khi người bệnh không thể đồng ý (cấp cứu). Quyền xem kéo dài 60 phút, được báo cho quản trị cơ sở xem xét và người bệnh được biết.</p>
<label for="personal_id">Số định danh cá nhân của người bệnh</label><input id="personal_id" name="personal_id" inputmode="numeric" pattern="[0-9]{{12}}" required>
<label for="reason">Lý do (bắt buộc, ít nhất {} ký tự)</label><textarea id="reason" name="reason" rows="3" minlength="{}" required></textarea>
<button class="primary" type="submit">Truy cập khẩn cấp</button></form>"#,
        code_form(""),
        book::access::BREAK_GLASS_MIN_REASON,
        book::access::BREAK_GLASS_MIN_REASON
    )
}

fn basis_label(b: Basis) -> &'static str {
    match b {
        Basis::Consent => "Mã chia sẻ của người bệnh",
        Basis::Referral => "Giấy chuyển tuyến",
        Basis::BreakGlass => "Truy cập khẩn cấp",
        Basis::Enrolment => "Đăng ký",
        Basis::System => "Hệ thống kết nối (FHIR)",
        Basis::Guardianship => "Người giám hộ",
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

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    let a = &u.account;
    let mut body = format!(
        r#"<h1>{}</h1><p class="muted">{}{}</p>"#,
        esc(&a.full_name),
        a.role.label(),
        a.facility
            .as_deref()
            .or(a.unit.as_deref())
            .map(|x| format!(" · {}", esc(x)))
            .unwrap_or_default()
    );
    if u.allows(&Action::UseShareCode) {
        body.push_str(&clinician_forms());
        match staff::my_patients(&u).await {
            Ok(list) => {
                body.push_str("<h2>Người bệnh đang được xem</h2>");
                if list.is_empty() {
                    body.push_str(
                        r#"<p class="card">Chưa có. Nhập mã chia sẻ người bệnh đưa để mở sổ.</p>"#,
                    );
                }
                for (g, p) in list {
                    let _ = write!(
                        body,
                        r#"<a class="card" href="/nhan-vien/benh-nhan/{}"><div class="big">{}</div><div>{} · {}</div><div class="muted">{} · đến {}</div></a>"#,
                        p.id,
                        o(&p.name),
                        birth(&p.birth),
                        sex(&p.sex),
                        basis_label(g.basis),
                        instant(g.expires_at)
                    );
                }
            }
            Err(e) => return error_page(e),
        }
    }
    let mut links = Vec::new();
    let own = a.facility.clone().unwrap_or_default();
    let mut pending = String::new();
    if u.allows(&Action::ReviewBreakGlass { facility: &own }) {
        match staff::break_glass_pending(&u).await {
            Ok(n) => {
                if n > 0 {
                    pending = format!(
                        r#"<p class="error" role="status">{n} lượt truy cập khẩn cấp đang chờ xem xét.</p>"#
                    );
                }
            }
            Err(e) => return error_page(e),
        }
        links.push(("/nhan-vien/xem-xet", "Xem xét truy cập khẩn cấp"));
    }
    body.push_str(&pending);
    if u.allows(&Action::ListUnits) {
        links.push(("/nhan-vien/don-vi", "Đơn vị hành chính"));
    }
    if u.allows(&Action::ViewReports { place: &u.scope }) {
        links.push(("/nhan-vien/bao-cao", "Báo cáo, giám sát"));
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
    for (href, label) in links {
        let _ = write!(
            body,
            r#"<a class="card" href="{href}"><span class="big">{label}</span></a>"#
        );
    }
    page("Trang chính", true, &body).into_response()
}

#[derive(Deserialize)]
struct CodeQuery {
    #[serde(default)]
    ma: String,
}

/// The QR's target: the code form, filled in (opening needs the clinician's click).
async fn code_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    let u = signed_in!(app, headers);
    if let Err(e) = u.allow(&Action::UseShareCode) {
        return error_page(e);
    }
    page("Mở sổ bằng mã chia sẻ", true, &code_form(&q.ma)).into_response()
}

async fn code_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<staff::CodeBody>,
) -> Response {
    let u = signed_in!(app, headers);
    match staff::redeem(&u, &f.code).await {
        Ok(g) => redirect(&format!("/nhan-vien/benh-nhan/{}", g.person_id)),
        Err(e) => error_page(e),
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
        Err(e) => error_page(e),
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
        Err(e) => error_page(e),
    }
}

async fn patient_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
) -> Response {
    let u = signed_in!(app, headers);
    let (grant, s, eps, names) = match staff::read_summary(&u, pid).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let p = match staff::patient_head(&app, pid).await {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>{}</h1><p>{} · {} · {} lượt khám, gần nhất {}</p><p class="{}" role="status">Quyền xem: {} ({}) đến {}. Mỗi lần xem đều được ghi lại và người bệnh được biết.</p>"#,
        o(&p.name),
        birth(&p.birth),
        sex(&p.sex),
        s.episodes,
        date(s.last_visit),
        if grant.basis == Basis::BreakGlass {
            "error"
        } else {
            "muted"
        },
        basis_label(grant.basis),
        scope_label(grant.scope),
        instant(grant.expires_at)
    );
    body.push_str("<h2>Tóm tắt sức khỏe</h2>");
    let mut problems = String::new();
    for pr in &s.problems {
        let _ = write!(
            problems,
            "<li><strong>{}</strong> {} <span class=\"muted\">· {} · {}</span></li>",
            esc(&pr.diagnosis.icd10),
            o(&pr.diagnosis.name),
            date(pr.last_seen),
            fac(&names, &pr.facility)
        );
    }
    let section = |title: &str, items: &str, empty: &str| {
        if items.is_empty() {
            format!(r#"<div class="card"><h3>{title}</h3><p class="muted">{empty}</p></div>"#)
        } else {
            format!(r#"<div class="card"><h3>{title}</h3><ul>{items}</ul></div>"#)
        }
    };
    body.push_str(&section(
        "Vấn đề sức khỏe trong 12 tháng",
        &problems,
        "Không có chẩn đoán trong 12 tháng qua.",
    ));
    let mut meds = String::new();
    for m in &s.medicines {
        let _ = write!(
            meds,
            "<li><strong>{} {}</strong> · {} <span class=\"muted\">· {}</span></li>",
            o(&m.medicine.name),
            o(&m.medicine.strength),
            o(&m.medicine.dose),
            date(m.at)
        );
    }
    body.push_str(&section(
        "Thuốc dùng trong 90 ngày",
        &meds,
        "Không có thuốc trong 90 ngày qua.",
    ));
    let mut abn = String::new();
    for r in &s.abnormal_results {
        let _ = write!(
            abn,
            "<li>{}: <span class=\"abn\">{} {} {}</span> <span class=\"muted\">· {}</span></li>",
            o(&r.result.indicator),
            o(&r.result.value),
            o(&r.result.unit),
            o(&r.result.conclusion),
            date(r.result.at)
        );
    }
    body.push_str(&section(
        "Kết quả bất thường gần đây",
        &abn,
        "Không có kết quả bất thường trong 12 tháng qua.",
    ));
    let mut appts = String::new();
    for a in &s.appointments {
        let _ = write!(
            appts,
            "<li>{} tại {} <span class=\"muted\">· {}</span></li>",
            when(a.item.at),
            a.item
                .facility
                .as_deref()
                .map(|f| fac(&names, f))
                .unwrap_or_default(),
            o(&a.item.diagnosis)
        );
    }
    body.push_str(&section(
        "Lịch hẹn khám lại",
        &appts,
        "Không có lịch hẹn sắp tới.",
    ));
    let mut refs = String::new();
    for r in &s.referrals {
        let _ = write!(
            refs,
            "<li>Số {} · từ {} đến {} · {} <div class=\"muted\">{}</div></li>",
            o(&r.item.number),
            fac(&names, &r.facility),
            r.item
                .to_facility
                .as_deref()
                .map(|f| fac(&names, f))
                .unwrap_or_default(),
            date(r.issued),
            o(&r.item.diagnosis)
        );
    }
    body.push_str(&section(
        "Giấy chuyển tuyến còn hiệu lực",
        &refs,
        "Không có giấy chuyển tuyến còn hiệu lực.",
    ));
    if grant.scope == Scope::Full {
        body.push_str("<h2>Các lượt khám</h2>");
        for e in &eps {
            let v = &e.view;
            let _ = write!(
                body,
                r#"<a class="card" href="/nhan-vien/benh-nhan/{pid}/luot/{}"><div class="muted">{} · {}</div><div class="big">{}</div><div>{}</div></a>"#,
                e.id,
                date(v.admitted),
                o(&v.care_type_label),
                v.main_diagnosis
                    .as_ref()
                    .map(|d| format!("{} · {}", esc(&d.icd10), o(&d.name)))
                    .unwrap_or_default(),
                fac(&names, &e.facility)
            );
        }
    } else {
        body.push_str(r#"<p class="card">Người bệnh chỉ chia sẻ phần tóm tắt.</p>"#);
    }
    page(&format!("Người bệnh {}", o(&p.name)), true, &body).into_response()
}

async fn patient_visit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((pid, id)): Path<(i64, i64)>,
) -> Response {
    let u = signed_in!(app, headers);
    let (e, names) = match staff::read_episode(&u, pid, id).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let practitioners = crate::pages::citizen::practitioners_of(&app, &e.view).await;
    let body = visit_detail(
        &e,
        &names,
        &practitioners,
        (
            format!("/nhan-vien/benh-nhan/{pid}"),
            "← Tóm tắt người bệnh".to_string(),
        ),
    );
    page(&o(&e.view.discharge_diagnosis), true, &body).into_response()
}

async fn review_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    let list = match staff::break_glass_list(&u).await {
        Ok(l) => l,
        Err(e) => return error_page(e),
    };
    let mut body = String::from(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>Xem xét truy cập khẩn cấp</h1>"#,
    );
    if list.is_empty() {
        body.push_str(r#"<p class="card">Chưa có lượt truy cập khẩn cấp nào tại cơ sở.</p>"#);
    }
    for (g, p, by) in list {
        let who = by
            .map(|b| {
                format!(
                    "{} (CCHN {})",
                    b.full_name,
                    b.practising_cert.unwrap_or_default()
                )
            })
            .unwrap_or_else(|| g.username.clone());
        let state = match (&g.reviewed_by, &g.review_note) {
            (Some(r), note) => format!(
                r#"<p><span class="pill">Đã xem xét</span> bởi {} lúc {}: {}</p>"#,
                esc(r),
                g.reviewed_at.map(instant).unwrap_or_default(),
                o(note)
            ),
            (None, _) => format!(
                r#"<form method="post" action="/nhan-vien/xem-xet/{}/{}"><label for="note-{}">Nhận xét</label><textarea id="note-{}" name="note" rows="2" required></textarea><button class="primary" type="submit">Ghi nhận đã xem xét</button></form>"#,
                g.person_id, g.id, g.id, g.id
            ),
        };
        let _ = write!(
            body,
            r#"<div class="card paper"><span class="pill new">{}</span><div class="big">{}</div><div>Người bệnh: {} ({})</div><div>Người truy cập: {}</div><div>Lý do: {}</div>{state}</div>"#,
            if g.reviewed_at.is_none() {
                "Chờ xem xét"
            } else {
                "Truy cập khẩn cấp"
            },
            instant(g.created_at),
            o(&p.name),
            birth(&p.birth),
            esc(&who),
            o(&g.reason)
        );
    }
    page("Xem xét truy cập khẩn cấp", true, &body).into_response()
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
        Err(e) => error_page(e),
    }
}

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

async fn facilities_body(
    u: &StaffUser,
    message: Option<(bool, String)>,
) -> Result<String, ApiError> {
    let list = staff::visible_facilities(u).await?;
    let mut body = String::from(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>Cơ sở khám bệnh, chữa bệnh</h1>"#,
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
    if u.allows(&Action::ManageFacility { place: &u.scope }) {
        let mut kinds = String::new();
        for k in store::FACILITY_KINDS {
            let _ = write!(kinds, r#"<option value="{k}">{}</option>"#, kind_label(k));
        }
        let _ = write!(
            body,
            r#"<form method="post" action="/nhan-vien/co-so" class="card"><h2>Thêm hoặc sửa cơ sở</h2>
<label for="code">Mã cơ sở (5 số)</label><input id="code" name="code" inputmode="numeric" pattern="[0-9]{{5}}" required>
<label for="name">Tên cơ sở</label><input id="name" name="name" required>
<label for="kind">Loại hình</label><select id="kind" name="kind">{kinds}</select>
<label for="unit">Mã đơn vị hành chính (xã/phường hoặc huyện)</label><input id="unit" name="unit" inputmode="numeric">
<label for="bhyt"><input id="bhyt" type="checkbox" name="bhyt_contract" value="true" checked class="inline"> Có hợp đồng khám chữa bệnh BHYT</label>
<button class="primary" type="submit">Lưu</button></form>
<form method="post" action="/nhan-vien/co-so/csv" class="card"><h2>Nhập từ CSV</h2>
<label for="csv">Dán nội dung CSV: code,name,province,kind,bhyt_contract,unit (dòng đầu là tiêu đề)</label><textarea id="csv" name="csv" rows="5" required></textarea>
<button class="primary" type="submit">Nhập</button></form>"#
        );
    }
    let _ = write!(body, "<h2>{} cơ sở</h2>", list.len());
    body.push_str(r#"<div class="card"><table><tr><th scope="col">Mã</th><th scope="col">Tên</th><th scope="col">Loại hình</th><th scope="col">BHYT</th><th scope="col">Chữ ký số</th></tr>"#);
    for f in &list {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/nhan-vien/co-so/{}/chung-thu\">Chứng thư số</a></td></tr>",
            esc(&f.code),
            esc(&f.name),
            kind_label(&f.kind),
            if f.bhyt_contract { "Có" } else { "Không" },
            esc(&f.code)
        );
    }
    body.push_str("</table></div>");
    Ok(body)
}

async fn facilities_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    match facilities_body(&u, None).await {
        Ok(b) => page("Cơ sở khám bệnh, chữa bệnh", true, &b).into_response(),
        Err(e) => error_page(e),
    }
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
    match facilities_body(&u, Some(message)).await {
        Ok(b) => page("Cơ sở khám bệnh, chữa bệnh", true, &b).into_response(),
        Err(e) => error_page(e),
    }
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
    match facilities_body(&u, Some(message)).await {
        Ok(b) => page("Cơ sở khám bệnh, chữa bệnh", true, &b).into_response(),
        Err(e) => error_page(e),
    }
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
    chrono::DateTime::from_timestamp_millis(ms + 7 * 3_600_000)
        .map(|t| t.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

async fn certs_body(
    u: &StaffUser,
    code: String,
    message: Option<(bool, String)>,
) -> Result<String, ApiError> {
    let (f, list) = staff::facility_certs(u, code).await?;
    let mut body = format!(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien/co-so">← Cơ sở khám bệnh, chữa bệnh</a></nav><h1>Chứng thư số của {} ({})</h1>
<p>Hồ sơ và check-in của cơ sở được ký số (CHUKYDONVI). Cổng tiếp nhận chỉ công nhận chữ ký bằng chứng thư số đã đăng ký dưới đây và chưa bị thu hồi tại thời điểm tiếp nhận.</p>"#,
        esc(&f.name),
        esc(&f.code)
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
    let _ = write!(
        body,
        r#"<form method="post" action="/nhan-vien/co-so/{}/chung-thu" class="card"><h2>Đăng ký chứng thư số</h2>
<label for="pem">Chứng thư số dạng PEM (-----BEGIN CERTIFICATE----- …)</label><textarea id="pem" name="pem" rows="6" required></textarea>
<button class="primary" type="submit">Đăng ký</button></form>"#,
        esc(&f.code)
    );
    let _ = write!(body, "<h2>{} chứng thư số</h2>", list.len());
    body.push_str(r#"<div class="card"><table><tr><th scope="col">Dấu vân tay SHA-256</th><th scope="col">Chủ thể</th><th scope="col">Hiệu lực</th><th scope="col">Trạng thái</th></tr>"#);
    for c in &list {
        let status = match c.revoked_at {
            Some(t) => format!(
                "Đã thu hồi {} ({})",
                day_of(t),
                esc(c.revoked_by.as_deref().unwrap_or(""))
            ),
            None => format!(
                r#"Đang dùng <form method="post" action="/nhan-vien/co-so/{}/chung-thu/thu-hoi" class="inline"><input type="hidden" name="fingerprint" value="{}"><button type="submit">Thu hồi</button></form>"#,
                esc(&c.facility),
                esc(&c.fingerprint)
            ),
        };
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{} – {}</td><td>{status}</td></tr>",
            esc(&grouped(&c.fingerprint)),
            esc(&c.subject),
            day_of(c.not_before),
            day_of(c.not_after)
        );
    }
    body.push_str("</table></div>");
    Ok(body)
}

async fn certs_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Response {
    let u = signed_in!(app, headers);
    match certs_body(&u, code, None).await {
        Ok(b) => page("Chứng thư số của cơ sở", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct CertForm {
    pem: String,
}

async fn cert_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Path(code): axum::extract::Path<String>,
    Form(f): Form<CertForm>,
) -> Response {
    let u = signed_in!(app, headers);
    let message = match staff::add_facility_cert(&u, code.clone(), &f.pem).await {
        Ok(c) => (
            true,
            format!("Đã đăng ký chứng thư số {}", grouped(&c.fingerprint)),
        ),
        Err(ApiError(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN, ..)) => {
            return error_page(ApiError(
                StatusCode::NOT_FOUND,
                "not_found",
                "Không tìm thấy".into(),
            ));
        }
        Err(ApiError(_, _, m)) => (false, m),
    };
    match certs_body(&u, code, Some(message)).await {
        Ok(b) => page("Chứng thư số của cơ sở", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    fingerprint: String,
}

async fn cert_revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Path(code): axum::extract::Path<String>,
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
        Err(e) => return error_page(e),
    };
    match certs_body(&u, code, Some(message)).await {
        Ok(b) => page("Chứng thư số của cơ sở", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}

async fn staff_body(u: &StaffUser, message: Option<(bool, String)>) -> Result<String, ApiError> {
    let list = staff::visible_staff(u).await?;
    let mut body = String::from(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>Tài khoản nhân viên</h1>"#,
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
    let mut roles = String::new();
    for r in Role::ALL.into_iter().filter(|r| r.is_staff()) {
        let _ = write!(
            roles,
            r#"<option value="{}">{}</option>"#,
            r.code(),
            r.label()
        );
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/nhan-vien/tai-khoan" class="card"><h2>Thêm hoặc sửa tài khoản</h2>
<label for="username">Tên đăng nhập</label><input id="username" name="username" required>
<label for="full_name">Họ và tên</label><input id="full_name" name="full_name" required>
<label for="role">Vai trò</label><select id="role" name="role">{roles}</select>
<label for="facility">Mã cơ sở (vai trò tại cơ sở)</label><input id="facility" name="facility" value="{}" inputmode="numeric">
<label for="unit">Mã đơn vị hành chính (cán bộ tỉnh, huyện, xã)</label><input id="unit" name="unit" inputmode="numeric">
<label for="practising_cert">Số chứng chỉ hành nghề (người hành nghề)</label><input id="practising_cert" name="practising_cert">
<label for="password">Mật khẩu (ít nhất 8 ký tự; để trống khi sửa)</label><input id="password" name="password" type="password" autocomplete="new-password">
<label for="locked"><input id="locked" type="checkbox" name="locked" value="1" class="inline"> Khóa tài khoản (các phiên đăng nhập kết thúc)</label>
<button class="primary" type="submit">Lưu</button></form>"#,
        o(&u.account.facility)
    );
    let _ = write!(body, "<h2>{} tài khoản</h2>", list.len());
    body.push_str(r#"<div class="card"><table><tr><th scope="col">Tên đăng nhập</th><th scope="col">Họ tên</th><th scope="col">Vai trò</th><th scope="col">Phạm vi</th></tr>"#);
    for a in &list {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.username),
            esc(&a.full_name),
            if a.active { "" } else { " (đã khóa)" },
            a.role.label(),
            esc(a
                .facility
                .as_deref()
                .or(a.unit.as_deref())
                .unwrap_or("toàn quốc"))
        );
    }
    body.push_str("</table></div>");
    Ok(body)
}

async fn staff_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    match staff_body(&u, None).await {
        Ok(b) => page("Tài khoản nhân viên", true, &b).into_response(),
        Err(e) => error_page(e),
    }
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
    match staff_body(&u, Some(message)).await {
        Ok(b) => page("Tài khoản nhân viên", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}

async fn units_body(u: &StaffUser, message: Option<(bool, String)>) -> Result<String, ApiError> {
    u.allow(&Action::ListUnits)?;
    let store = u.app().store.clone();
    let units = crate::citizen::blocking(move || store.units()).await?;
    let mut body = String::from(
        r#"<nav class="crumbs" aria-label="Đường dẫn"><a href="/nhan-vien">← Trang chính</a></nav><h1>Đơn vị hành chính</h1>"#,
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
    if u.allows(&Action::ManageUnits) {
        body.push_str(r#"<form method="post" action="/nhan-vien/don-vi/csv" class="card"><h2>Nhập từ CSV</h2>
<label for="csv">Dán nội dung CSV: code,name,level,parent,scheme (level: province, district, commune; scheme: pre2025 tỉnh → huyện → xã, hoặc 2025 tỉnh → xã). Đơn vị cha đứng trước.</label><textarea id="csv" name="csv" rows="5" required></textarea>
<button class="primary" type="submit">Nhập</button></form>"#);
    }
    let _ = write!(body, "<h2>{} đơn vị</h2>", units.len());
    body.push_str(r#"<div class="card"><table><tr><th scope="col">Mã</th><th scope="col">Tên</th><th scope="col">Cấp</th><th scope="col">Thuộc</th><th scope="col">Mô hình</th></tr>"#);
    for x in &units {
        let level = match x.level.as_str() {
            "province" => "Tỉnh",
            "district" => "Huyện",
            _ => "Xã",
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{level}</td><td>{}</td><td>{}</td></tr>",
            esc(&x.code),
            esc(&x.name),
            o(&x.parent),
            if x.scheme == "2025" {
                "2 cấp (2025)"
            } else {
                "3 cấp"
            }
        );
    }
    body.push_str("</table></div>");
    Ok(body)
}

async fn units_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let u = signed_in!(app, headers);
    match units_body(&u, None).await {
        Ok(b) => page("Đơn vị hành chính", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}

async fn units_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<CsvForm>,
) -> Response {
    let u = signed_in!(app, headers);
    if let Err(e) = u.allow(&Action::ManageUnits) {
        return error_page(e);
    }
    let message = match crate::registry::parse_units(f.csv.as_bytes()) {
        Err(e) => (false, format!("{e}. Chưa nhập đơn vị nào.")),
        Ok(rows) => {
            let units: Vec<store::Unit> = rows.into_iter().map(|(_, x)| x).collect();
            let store = app.store.clone();
            match tokio::task::spawn_blocking(move || store.import_units(&units)).await {
                Ok(Ok(n)) => (true, format!("Đã nhập {n} đơn vị")),
                Ok(Err(e)) => (false, format!("{e}. Chưa nhập đơn vị nào.")),
                Err(e) => (false, e.to_string()),
            }
        }
    };
    match units_body(&u, Some(message)).await {
        Ok(b) => page("Đơn vị hành chính", true, &b).into_response(),
        Err(e) => error_page(e),
    }
}
