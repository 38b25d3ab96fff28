//! `application/x-www-form-urlencoded` bodies read straight into their values with
//! `form_urlencoded` (what `axum::Form` reads with, through serde). A submission's
//! body is almost all of one field (the envelope in base64, tens of kilobytes): going
//! through serde cost a second copy of it; here each value is decoded once and, being
//! valid UTF-8, kept as it was decoded.

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
    /// The value of `name`, moved out (a field sent twice is refused, as serde does).
    pub fn take(&mut self, name: &'static str) -> Result<Option<String>, FormError> {
        let Some(i) = self.0.iter().position(|(k, _)| k == name) else {
            return Ok(None);
        };
        let v = self.0.swap_remove(i).1;
        if self.0.iter().any(|(k, _)| k == name) {
            return Err(FormError::Duplicate(name));
        }
        Ok(Some(v))
    }

    pub fn required(&mut self, name: &'static str) -> Result<String, FormError> {
        self.take(name)?.ok_or(FormError::Missing(name))
    }
}

impl Fields {
    /// The fields called `names` of a form request; every other pair is skipped as it
    /// is read, so a body of millions of tiny pairs costs no memory beyond its bytes.
    pub async fn read<S: Send + Sync>(
        req: Request,
        state: &S,
        names: &[&str],
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
        Ok(Fields(
            form_urlencoded::parse(&body)
                .filter(|(k, _)| names.contains(&k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut f = Fields::read(request("x=1&x=2"), &(), &["x"])
            .await
            .ok()
            .unwrap();
        assert!(matches!(f.take("x"), Err(FormError::Duplicate("x"))));
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
