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

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = FormError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
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
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}
