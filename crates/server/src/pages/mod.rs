//! The pages: compile-time-checked, auto-escaping askama templates (`templates/`), one
//! page frame (`frame.html`: skip link, header, sign-out form), one error page and one
//! form kit (`csrf.html`, the session's CSRF token in every form that posts). Handlers
//! build small view models of display strings (Vietnamese dates and numbers) and the
//! templates lay them out; no page is built by string formatting.

pub mod chronic;
pub mod citizen;
pub mod notify;
pub mod staff;
pub mod station;
pub mod vaccination;

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::http::ApiError;

/// The page frame's parts.
pub struct Frame {
    pub title: String,
    pub home: &'static str,
    pub home_label: &'static str,
    /// The sign-out form's action, when signed in.
    pub logout: Option<&'static str>,
    /// The session's CSRF token, put into every form that posts.
    pub csrf: Option<String>,
    pub css: &'static str,
}

impl Frame {
    /// The citizen's frame (signed in when `headers` carry a session).
    pub fn citizen(title: impl Into<String>, headers: &HeaderMap) -> Frame {
        let session = crate::http::token_of(headers);
        Frame {
            title: title.into(),
            home: "/so",
            home_label: "Sổ sức khỏe điện tử",
            logout: session.is_some().then_some("/dang-xuat"),
            csrf: csrf(headers, crate::citizen::COOKIE_NAME),
            css: CSS,
        }
    }

    /// The frame of staff pages.
    pub fn staff(title: impl Into<String>, headers: &HeaderMap) -> Frame {
        let session = crate::http::token_from(headers, crate::staff::STAFF_COOKIE);
        Frame {
            title: title.into(),
            home: "/nhan-vien",
            home_label: "Sổ sức khỏe — Nhân viên y tế",
            logout: session.is_some().then_some("/nhan-vien/dang-xuat"),
            csrf: csrf(headers, crate::staff::STAFF_COOKIE),
            css: CSS,
        }
    }
}

/// The one stylesheet of every page (inline: the CSP allows exactly its hash).
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
details.danger-zone{margin-top:28px;border:2px solid #8a1c12;box-shadow:none}details.danger-zone summary{color:#8a1c12}
nav.crumbs{margin:8px 0}.new{background:#fff4d6;color:#6b4a00}input.inline{width:auto}
dl.facts{margin:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:4px 16px}dl.facts>div{padding:4px 0;border-bottom:1px solid #e1e5ea}dt{font-size:.85rem;color:#4a5561}dd{margin:0;overflow-wrap:anywhere}
.person h1{margin-top:0}nav.switch{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}nav.switch a.pill{text-decoration:none}.pill.current{background:#0b5cad;color:#fff}
.pill.warn{background:#fdecea;color:#8a1c12}.pill.live{background:#e6f4ea;color:#1d6b34}
button.danger,a.button.danger{display:inline-block;margin-top:12px;background:#fff;color:#8a1c12;border:2px solid #8a1c12;border-radius:8px;padding:10px 16px;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.scroll{overflow-x:auto}ul.meds{padding-left:1.1em}ul.meds li{margin:6px 0}.report{margin:8px 0}.flag{font-weight:600}ul.actions-done{margin:6px 0;padding-left:1.1em}
h1,h2,.big{overflow-wrap:anywhere}.nowrap{white-space:nowrap}svg.trend{display:block;width:100%;max-width:480px;height:auto}
main:has(>.report-page){max-width:1280px}
.report-page .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:0 16px;align-items:start}
.report-page svg.chart{display:block;max-width:560px;height:auto}
.report-page td.n,.report-page th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.report-page table.wide{min-width:640px}
.report-page tbody th{font-weight:400}.report-page tr.total th,.report-page tr.total td{font-weight:700;border-top:2px solid #1b1f24}
.report-page form.period{display:flex;flex-wrap:wrap;gap:0 12px;align-items:flex-end}.report-page form.period div{flex:1 1 160px}
.report-page form.period button{margin-top:12px}
@media print{
header,.skip,.no-print,nav.crumbs,nav.switch,form.period{display:none!important}
body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
.card,details{box-shadow:none;border:1px solid #c4cbd3;break-inside:avoid}
.scroll{overflow:visible}table{font-size:9pt}thead{display:table-header-group}tr{break-inside:avoid}
details::details-content{content-visibility:visible;display:block}
a{color:inherit;text-decoration:none}
.report-page .grid{display:block}.report-page svg.chart{max-width:12cm}
@page{size:A4;margin:15mm}
}
"#;

/// A "see other" redirect (after a form, or to sign in).
pub(crate) fn redirect(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response()
}

/// The CSRF token a page's forms carry: of the session the page is for, else of the
/// other session the browser holds (a form posted with any session cookie must carry a
/// token of one of them, `crate::security`).
fn csrf(headers: &HeaderMap, own: &str) -> Option<String> {
    let other = if own == crate::staff::STAFF_COOKIE {
        crate::citizen::COOKIE_NAME
    } else {
        crate::staff::STAFF_COOKIE
    };
    crate::security::session_cookie(headers, own)
        .or_else(|| crate::security::session_cookie(headers, other))
        .map(|s| crate::security::csrf_token(&s))
}

/// Render a template as a page (an error page when rendering fails).
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            (StatusCode::INTERNAL_SERVER_ERROR, "Lỗi hệ thống").into_response()
        }
    }
}

/// The one error page: a heading, the message, and the way back.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub frame: Frame,
    pub heading: String,
    pub message: String,
    pub back_href: String,
    pub back_label: String,
}

impl ErrorPage {
    /// An API error as a page for a citizen, with its status.
    pub fn citizen(headers: &HeaderMap, e: ApiError) -> Response {
        let ApiError(status, _, message) = e;
        let heading = match status {
            StatusCode::NOT_FOUND => "Không tìm thấy",
            StatusCode::TOO_MANY_REQUESTS => "Vui lòng chờ một lúc",
            _ => "Không thực hiện được",
        };
        let message = if status == StatusCode::NOT_FOUND {
            "Trang hoặc sổ này không có, hoặc bạn không được xem. Kiểm tra lại đường dẫn, \
             hoặc về sổ của bạn."
                .to_string()
        } else {
            message
        };
        let page = ErrorPage {
            frame: Frame::citizen(heading, headers),
            heading: heading.into(),
            message,
            back_href: "/so".into(),
            back_label: "← Về sổ sức khỏe".into(),
        };
        (status, render(&page)).into_response()
    }
}

/// Unknown paths: the page frame with the way back (JSON for the API and FHIR paths).
pub async fn fallback(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/fhir") {
        return crate::http::not_found().into_response();
    }
    if path.starts_with("/nhan-vien") || path.starts_with("/bao-cao") || path.starts_with("/tram") {
        let page = ErrorPage {
            frame: Frame::staff("Không tìm thấy", &headers),
            heading: "Không tìm thấy".into(),
            message: "Trang này không có. Kiểm tra lại đường dẫn.".into(),
            back_href: "/nhan-vien".into(),
            back_label: "← Trang chính".into(),
        };
        return (StatusCode::NOT_FOUND, render(&page)).into_response();
    }
    ErrorPage::citizen(&headers, crate::http::not_found())
}

/// Vietnamese display of dates and numbers (`book::vn`).
pub use book::vn::{date, decimal, money, number_text, when, ymd};
