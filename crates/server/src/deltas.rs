//! `POST /api/v1/registry/batches`: registry deltas over HTTP, for the provincial data
//! centre's system (a registered system client holding `system/registry.write`) or a
//! member of staff who may manage the registry of their unit. The body is a CSV or a
//! JSON-lines file (`registry::deltas`); the batch is applied all or nothing, and the
//! same batch id with the same content answers what it did the first time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use book::access::{Action, Place, Principal, authorize};
use serde::Deserialize;
use store::{BatchOutcome, StoreError, now_ms};

use crate::App;
use crate::http::{ApiError, blocking, internal, token_of};
use crate::staff::{STAFF_COOKIE, StaffUser};

/// The largest batch body (CSV or JSON lines).
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/api/v1/registry/batches", post(apply))
}

#[derive(Deserialize)]
struct Params {
    /// `population` or `insurance`.
    source: String,
    /// The sender's batch id (default: the content's digest).
    #[serde(default)]
    batch: Option<String>,
}

/// Who sends, as `book::access` knows them, with the place of their unit.
async fn sender(app: &Arc<App>, headers: &HeaderMap) -> Result<(Principal, String), ApiError> {
    let unauthorized = || {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Cần mã truy cập của hệ thống kết nối hoặc phiên đăng nhập nhân viên".into(),
        )
    };
    if let Some(t) = token_of(headers) {
        let store = app.store.clone();
        let found = blocking(move || {
            let Some((client, scopes)) = store.fhir_token(&t, now_ms())? else {
                return Ok(None);
            };
            let place = store.place_of_unit(&client.unit)?;
            Ok(Some((client, scopes, place)))
        })
        .await?;
        if let Some((client, scopes, place)) = found {
            return Ok((
                Principal::System {
                    client: client.client_id.clone(),
                    scopes,
                    scope: place,
                },
                client.client_id,
            ));
        }
    }
    let token = crate::http::token_from(headers, STAFF_COOKIE).ok_or_else(unauthorized)?;
    let u = StaffUser::from_token(app, token)
        .await?
        .ok_or_else(unauthorized)?;
    Ok((u.principal(), u.account.username.clone()))
}

/// The communes under a place (its commune; the communes of its province or district),
/// `None` for the unbounded scope of the system administrator.
fn communes_of(units: &[store::Unit], place: &Place) -> Option<HashSet<String>> {
    let top = place
        .commune
        .as_ref()
        .or(place.district.as_ref())
        .or(place.province.as_ref())?;
    let mut children: HashMap<&str, Vec<&store::Unit>> = HashMap::new();
    for u in units {
        if let Some(p) = &u.parent {
            children.entry(p.as_str()).or_default().push(u);
        }
    }
    let mut out = HashSet::new();
    let mut stack = vec![top.as_str()];
    out.insert(top.clone());
    while let Some(code) = stack.pop() {
        for c in children.get(code).into_iter().flatten() {
            if out.insert(c.code.clone()) {
                stack.push(&c.code);
            }
        }
    }
    Some(out)
}

async fn apply(
    State(app): State<Arc<App>>,
    Query(p): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (who, by) = sender(&app, &headers).await?;
    let bad = |code: &'static str, m: String| ApiError(StatusCode::BAD_REQUEST, code, m);
    if !store::REGISTRY_SOURCES.contains(&p.source.as_str()) {
        return Err(bad(
            "invalid_source",
            "source: phải là population (sổ dân cư) hoặc insurance (danh sách tham gia BHYT)"
                .into(),
        ));
    }
    if body.len() > MAX_BATCH_BYTES {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("Lô quá lớn: tối đa {} MB", MAX_BATCH_BYTES / 1024 / 1024),
        ));
    }
    let kind = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = registry::deltas::Format::guess(kind).ok_or_else(|| {
        ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type: text/csv hoặc application/x-ndjson".into(),
        )
    })?;
    let scope = match &who {
        Principal::System { scope, .. } | Principal::Staff { scope, .. } => scope.clone(),
        Principal::Person { .. } => Place::default(),
    };
    authorize(&who, &Action::ManageRegistry { place: &scope }).map_err(crate::staff::forbidden)?;
    let system_admin =
        matches!(&who, Principal::Staff { role, .. } if *role == book::access::Role::SystemAdmin);
    let mut batch = registry::deltas::batch(&body, format, p.batch.as_deref(), &p.source, &by)
        .map_err(|e| bad("invalid_batch", e.to_string()))?;
    let store = app.store.clone();
    let outcome: Result<BatchOutcome, StoreError> = tokio::task::spawn_blocking(move || {
        if !system_admin {
            batch.scope = Some(communes_of(&store.units()?, &scope).unwrap_or_default());
        }
        store.apply_registry(&batch)
    })
    .await
    .map_err(internal)?;
    match outcome {
        Ok(out) => Ok(Json(out).into_response()),
        Err(StoreError::Invalid(m)) => Err(bad("invalid_batch", m)),
        Err(StoreError::Conflict(m)) => Err(ApiError(StatusCode::CONFLICT, "conflict", m)),
        Err(e) => Err(internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, level: &str, parent: Option<&str>) -> store::Unit {
        store::Unit {
            code: code.into(),
            name: code.into(),
            level: level.into(),
            parent: parent.map(str::to_string),
            scheme: "2025".into(),
        }
    }

    #[test]
    fn a_province_covers_its_communes_only() {
        let units = vec![
            unit("01", "province", None),
            unit("00004", "commune", Some("01")),
            unit("79", "province", None),
            unit("26734", "commune", Some("79")),
        ];
        let p = Place {
            province: Some("01".into()),
            ..Place::default()
        };
        let set = communes_of(&units, &p).unwrap();
        assert!(set.contains("00004") && !set.contains("26734"));
        assert!(communes_of(&units, &Place::default()).is_none());
    }
}
