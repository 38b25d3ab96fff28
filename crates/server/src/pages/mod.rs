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
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

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

// ---------------------------------------------------------------------------
// Vietnamese display of dates and numbers
// ---------------------------------------------------------------------------

/// `14:30 05/03/2026`.
pub fn when(d: Option<NaiveDateTime>) -> String {
    d.map(|d| d.format("%H:%M %d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// `05/03/2026`.
pub fn date(d: Option<NaiveDateTime>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// A date written `yyyyMMdd` (a card's validity) as `dd/mm/yyyy`.
pub fn ymd(s: &str) -> String {
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// A decimal with the Vietnamese comma and grouped thousands: `1.234,5`.
pub fn decimal(d: Decimal) -> String {
    let s = d.normalize().to_string();
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

/// Money in đồng: `1.234.500 đ`.
pub fn money(d: Decimal) -> String {
    format!("{} đ", decimal(d.round()))
}

/// A number as a dossier wrote it ("5.6") in the Vietnamese way ("5,6"); other text as
/// it is.
pub fn number_text(s: &str) -> String {
    match book::terms::number(s) {
        Some(d)
            if s.trim()
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
        {
            // Keep the digits written (a "5.60" stays "5,60").
            let t = s.trim();
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            let int = decimal(Decimal::from_str_exact(int).unwrap_or(d.trunc()));
            if frac.is_empty() {
                int
            } else {
                format!("{int},{frac}")
            }
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_vietnamese_way() {
        assert_eq!(decimal(Decimal::new(12345, 1)), "1.234,5");
        assert_eq!(decimal(Decimal::new(-1_000_000, 0)), "-1.000.000");
        assert_eq!(money(Decimal::new(1_234_500, 0)), "1.234.500 đ");
        assert_eq!(number_text("5.60"), "5,60");
        assert_eq!(number_text("12000"), "12.000");
        assert_eq!(number_text("Âm tính"), "Âm tính");
        assert_eq!(ymd("20241231"), "31/12/2024");
    }
}
