//! `application/x-www-form-urlencoded` bodies read straight into their values, as
//! `form_urlencoded` (what `axum::Form` reads with, through serde) reads them. A
//! submission's body is almost all of one field (the envelope in base64, tens of
//! kilobytes): going through serde cost a second copy of it, and `form_urlencoded`
//! decodes it a byte at a time in three passes (pluses, percent escapes, UTF-8), 8 % of
//! the gateway's CPU. Here each value is decoded in one pass that copies the runs
//! between escapes whole, and a test holds the result to `form_urlencoded`'s.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a form body could not be read (the answers `axum::Form` gives).
pub enum FormError {
    ContentType,
    Missing(&'static str),
    Duplicate(&'static str),
    /// The body could not be read (too large, cut off): the answer axum gives.
    Body(Box<Response>),
}

impl IntoResponse for FormError {
    fn into_response(self) -> Response {
        match self {
            FormError::ContentType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Form requests must have `Content-Type: application/x-www-form-urlencoded`",
            )
                .into_response(),
            FormError::Missing(field) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Failed to deserialize form body: missing field `{field}`"),
            )
                .into_response(),
            FormError::Duplicate(field) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Failed to deserialize form body: duplicate field `{field}`"),
            )
                .into_response(),
            FormError::Body(r) => *r,
        }
    }
}

/// A form's fields by name, read from a request (the body limits of the router apply).
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The value of `name`, moved out (each name is there at most once: [`Fields::read`]
    /// refuses a field sent twice, as serde does).
    pub fn take(&mut self, name: &'static str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }

    pub fn required(&mut self, name: &'static str) -> Result<String, FormError> {
        self.take(name).ok_or(FormError::Missing(name))
    }
}

impl Fields {
    /// The fields called `names` of a form request; every other pair is skipped as it
    /// is read and a name sent twice is refused when it comes again, so a body of
    /// millions of tiny pairs costs no memory beyond its bytes.
    pub async fn read<S: Send + Sync>(
        req: Request,
        state: &S,
        names: &[&'static str],
    ) -> Result<Self, FormError> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(FormError::ContentType);
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| FormError::Body(Box::new(e.into_response())))?;
        let mut fields: Vec<(String, String)> = Vec::with_capacity(names.len());
        for (k, v) in pairs(&body) {
            let k = decode(k);
            let Some(name) = names.iter().find(|n| **n == k) else {
                continue;
            };
            if fields.iter().any(|(seen, _)| seen == name) {
                return Err(FormError::Duplicate(name));
            }
            fields.push((k, decode(v)));
        }
        Ok(Fields(fields))
    }
}

/// The `name=value` pairs of a body, still encoded: split at `&` (empty ones skipped),
/// then at the first `=` (a pair without one has an empty value).
fn pairs(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        })
}

/// One name or value decoded: `+` is a space, `%` and two hex digits a byte (any other
/// `%` stays as it is), and bytes that are not UTF-8 become U+FFFD.
fn decode(input: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = memchr::memchr2(b'%', b'+', rest) {
        out.extend_from_slice(&rest[..i]);
        if rest[i] == b'+' {
            out.push(b' ');
            rest = &rest[i + 1..];
            continue;
        }
        match (
            rest.get(i + 1).copied().and_then(hex),
            rest.get(i + 2).copied().and_then(hex),
        ) {
            (Some(high), Some(low)) => {
                out.push(high << 4 | low);
                rest = &rest[i + 3..];
            }
            _ => {
                out.push(b'%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The pairs and their decoded texts are exactly `form_urlencoded`'s, for bodies
        /// rich in what decoding turns on: separators, pluses, escapes good and broken,
        /// and bytes that are not UTF-8.
        #[test]
        fn decoding_is_form_urlencoded_s(body in proptest::collection::vec(
            prop_oneof![
                Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'),
                Just(b'0'), Just(b'f'), Just(b'F'), Just(b'g'), Just(b'2'), Just(b'B'),
                Just(0xC3u8), Just(0xA1u8), Just(0xFFu8), any::<u8>(),
            ],
            0..64,
        )) {
            let ours: Vec<(String, String)> =
                pairs(&body).map(|(k, v)| (decode(k), decode(v))).collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn an_envelope_s_base64_comes_back_whole() {
        let b64 = "PD94bWwg+/9=".repeat(1000);
        let body = format!(
            "username=a&fileHSBase64={}&maCSKCB=56031",
            b64.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        );
        let got: Vec<(String, String)> = pairs(body.as_bytes())
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        assert_eq!(got[1], ("fileHSBase64".to_string(), b64));
        assert_eq!(got[2].1, "56031");
    }

    fn request(body: &'static str) -> Request {
        Request::builder()
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn only_the_named_fields_are_kept() {
        let f = Fields::read(request("a&a&b=1&x=%41+B&a=&y=2"), &(), &["x", "y"])
            .await
            .ok()
            .unwrap();
        assert_eq!(
            f.0,
            vec![
                ("x".to_string(), "A B".to_string()),
                ("y".into(), "2".into())
            ]
        );
        assert!(matches!(
            Fields::read(request("x=1&y=0&x=2"), &(), &["x", "y"]).await,
            Err(FormError::Duplicate("x"))
        ));
        let mut f = Fields::read(request("y=1"), &(), &["x"])
            .await
            .ok()
            .unwrap();
        assert!(matches!(f.required("x"), Err(FormError::Missing("x"))));
        let wrong = Request::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(axum::body::Body::from("x=1"))
            .unwrap();
        assert!(matches!(
            Fields::read(wrong, &(), &["x"]).await,
            Err(FormError::ContentType)
        ));
    }
}
