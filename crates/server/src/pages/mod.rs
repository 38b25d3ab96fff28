//! The pages: compile-time-checked, auto-escaping askama templates (`templates/`), one
//! page frame (`frame.html`: skip link, header, sign-out form), one error page and one
//! form kit (`csrf.html`, the session's CSRF token in every form that posts). Handlers
//! build small view models of display strings (Vietnamese dates and numbers) and the
//! templates lay them out; no page is built by string formatting.

pub mod citizen;
pub mod staff;

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
            csrf: session.map(|s| crate::security::csrf_token(&s)),
            css: crate::ui::CSS,
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
            csrf: session.map(|s| crate::security::csrf_token(&s)),
            css: crate::ui::CSS,
        }
    }
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

/// A page body built before templates, in the frame (staff and report pages until they
/// move to templates of their own).
#[derive(Template)]
#[template(path = "raw.html")]
pub struct Raw<'a> {
    pub frame: Frame,
    pub body: &'a str,
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
    if path.starts_with("/nhan-vien") || path.starts_with("/bao-cao") {
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
