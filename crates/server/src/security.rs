//! What every response carries and every state-changing request must show.
//!
//! - Response headers: a strict Content-Security-Policy (no script at all; the one
//!   stylesheet allowed by its hash; no framing), `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer` (share codes travel in URLs),
//!   `Cache-Control: no-store` (personal data must not stay in caches), and, when the
//!   public URL is https, HSTS and `Secure` on every cookie.
//! - Cross-site request forgery: a request that changes something is refused when the
//!   browser says it comes from another site (`Sec-Fetch-Site`) or its `Origin` is
//!   another origin; and when it is authenticated by a session cookie (not a bearer
//!   token) it must be JSON (which no other site can send without our consent) or a
//!   form carrying the session's CSRF token, which every form of our pages holds (the
//!   templates' form kit, `templates/csrf.html`, puts it there).

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::App;
use crate::citizen::COOKIE_NAME;
use crate::staff::STAFF_COOKIE;

/// The name of the hidden field (and query parameter) that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The Content-Security-Policy of HTML pages: nothing runs; the stylesheet of
/// [`crate::ui`] by its hash; images from here or inline; forms post here only.
pub static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(crate::pages::CSS));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// The policy of everything else (JSON, PDF, files).
const OTHER_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// The CSRF token of a session: a hash of its secret token, which only its holder knows.
pub fn csrf_token(session: &str) -> String {
    store::hash_hex(&["csrf", session])
}

/// The value of the cookie `name`, when the request carries it and it is not empty.
/// The value of a cookie the request carries (an empty one is none).
pub(crate) fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

fn refuse(code: &'static str, message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

/// Whether an `Origin` (or `Referer`) is this service: the configured public URL's
/// origin, else the request's own Host.
fn same_origin(app: &App, headers: &HeaderMap, claimed: &str) -> bool {
    let Some(claimed) = origin_of(claimed) else {
        return false;
    };
    if let Some(public) = app.config.public_url.as_deref().and_then(origin_of) {
        return claimed == public;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    claimed.split_once("://").is_some_and(|(_, h)| h == host)
}

/// The middleware: checks state-changing requests, then sets the headers.
pub async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let changing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let req = if changing {
        match check_request(&app, req).await {
            Ok(r) => r,
            Err(res) => return finish(&app, res),
        }
    } else {
        req
    };
    let res = next.run(req).await;
    finish(&app, res)
}

async fn check_request(app: &App, req: Request) -> Result<Request, Response> {
    let h = req.headers();
    // The browser's own word on where the request comes from.
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && matches!(site, "cross-site" | "same-site")
    {
        return Err(refuse("cross_site", "Yêu cầu từ trang web khác bị từ chối"));
    }
    // "null" is what a browser sends under Referrer-Policy: no-referrer (our own pages'):
    // the CSRF token below decides then.
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != "null"
        && !same_origin(app, h, origin)
    {
        return Err(refuse(
            "cross_origin",
            "Yêu cầu từ trang web khác bị từ chối",
        ));
    }
    // Either session cookie may authenticate the request: a form must carry the token
    // of one of them.
    let sessions: Vec<String> = [COOKIE_NAME, STAFF_COOKIE]
        .into_iter()
        .filter_map(|n| session_cookie(h, n))
        .collect();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if sessions.is_empty() || bearer {
        return Ok(req);
    }
    if let Some(referer) = h.get(header::REFERER).and_then(|v| v.to_str().ok())
        && !same_origin(app, h, referer)
    {
        return Err(refuse(
            "cross_origin",
            "Yêu cầu từ trang web khác bị từ chối",
        ));
    }
    let content_type = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        // No other site can send JSON with our cookie without a CORS grant (none is given).
        return Ok(req);
    }
    let expected: Vec<String> = sessions.iter().map(|s| csrf_token(s)).collect();
    let matches = |v: &str| expected.iter().any(|e| same_secret(v, e));
    let in_query = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .is_some_and(|pairs| pairs.iter().any(|(k, v)| k == CSRF_FIELD && matches(v)));
    if in_query {
        return Ok(req);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(refuse(
            "csrf",
            "Thiếu mã xác nhận của biểu mẫu; vui lòng mở lại trang và gửi lại",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, app.config.max_body_bytes)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "Dữ liệu gửi lên quá lớn").into_response())?;
    let ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .is_some_and(|pairs| pairs.iter().any(|(k, v)| k == CSRF_FIELD && matches(v)));
    if !ok {
        return Err(refuse(
            "csrf",
            "Mã xác nhận của biểu mẫu không đúng; vui lòng mở lại trang và gửi lại",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Compare two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn finish(app: &App, mut res: Response) -> Response {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let secure = app
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
    let h = res.headers_mut();
    let csp = if html { PAGE_CSP.as_str() } else { OTHER_CSP };
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        let cookies: Vec<HeaderValue> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| {
                let s = v.to_str().ok()?;
                if s.contains("; Secure") {
                    Some(v.clone())
                } else {
                    HeaderValue::from_str(&format!("{s}; Secure")).ok()
                }
            })
            .collect();
        if !cookies.is_empty() {
            h.remove(header::SET_COOKIE);
            for c in cookies {
                h.append(header::SET_COOKIE, c);
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_scheme_and_host() {
        assert_eq!(
            origin_of("https://SSKD.example.vn/so/1?x=2").as_deref(),
            Some("https://sskd.example.vn")
        );
        assert_eq!(origin_of("null"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
