//! The HTTP kit of every adapter: the API's error answer (a status, a stable code and a
//! Vietnamese message), the one mapping of the service layer's errors to it, blocking
//! calls off the async threads, and the caller's token.

use axum::Json;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::response::{IntoResponse, Response};
use service::ServiceError;

use crate::citizen::COOKIE_NAME;

pub mod form;
pub mod tokens;
pub mod wire;

/// An error as the API answers it: a status, a stable code, and a Vietnamese message.
pub struct ApiError(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(serde_json::json!({"error": self.1, "message": self.2})),
        )
            .into_response()
    }
}

pub(crate) fn internal<E: std::fmt::Display>(e: E) -> ApiError {
    tracing::error!(error = %e, "citizen api");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Lỗi hệ thống".into(),
    )
}

pub(crate) fn not_found() -> ApiError {
    // Someone else's book and a book that does not exist look the same.
    ApiError(StatusCode::NOT_FOUND, "not_found", "Không tìm thấy".into())
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

pub(crate) fn token_of(headers: &HeaderMap) -> Option<String> {
    token_from(headers, COOKIE_NAME)
}

/// The bearer token, else the session cookie `cookie`.
pub(crate) fn token_from(headers: &HeaderMap, cookie: &str) -> Option<String> {
    if let Some(b) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(b.trim().to_string());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == cookie)
        .map(|(_, v)| v.to_string())
}

impl From<ServiceError> for ApiError {
    /// The one place where the service layer's errors become HTTP answers.
    fn from(e: ServiceError) -> ApiError {
        let status = match &e {
            ServiceError::NotFound => StatusCode::NOT_FOUND,
            ServiceError::Forbidden(_) | ServiceError::OutOfScope(_) => StatusCode::FORBIDDEN,
            ServiceError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ServiceError::Problems(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Store(err) => return internal(err),
        };
        ApiError(status, e.code(), e.message())
    }
}

/// Run a use of the service layer on a blocking thread.
pub(crate) async fn serve<T: Send + 'static>(
    app: &std::sync::Arc<crate::App>,
    f: impl FnOnce(&service::Service) -> service::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let svc = app.service.clone();
    tokio::task::spawn_blocking(move || f(&svc))
        .await
        .map_err(internal)?
        .map_err(ApiError::from)
}
