//! Writing vaccinations over FHIR: `POST /fhir/Immunization` (one dose) and `POST /fhir`
//! with a `transaction` Bundle of Immunizations (all or nothing). Only registered system
//! clients write, with `system/Immunization.write` in their token's scopes (checked
//! before anything of a person is read), for persons whose record a station of their
//! unit keeps (`Service::record_dose`: `Action::WriteUnitData`, recorded
//! `vaccination.add` in the person's audit chain with the client as actor).
//!
//! A received resource is read by `fhir::immunization::read_received`: every fault is
//! an OperationOutcome issue naming its element (`Immunization.vaccineCode`, and in a
//! Bundle `Bundle.entry[2].resource.occurrenceDateTime`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use book::IdKind;
use book::immunization::{DoseDetails, NationalIds};
use serde_json::{Value, json};
use service::{Actor, DoseEntry, ServiceError};
use store::{StoredDose, now_ms};

use super::{FhirError, Reader, base_url, fhir_json, map};
use crate::App;
use crate::http::blocking;
use ::fhir::immunization::{
    self as imm, Outcome, Received, Refusal, Subject, read_received, refusals_outcome,
};

/// The most entries of one transaction Bundle.
pub const MAX_BUNDLE: usize = 1000;

/// The system client a write needs, its scopes checked first.
async fn writer(app: &Arc<App>, headers: &HeaderMap) -> Result<Actor, FhirError> {
    let reader = Reader::from_headers(app, headers).await?;
    match &reader {
        Reader::System { scopes, .. } if scopes.allows_write("Immunization") => Ok(reader.actor()),
        Reader::System { scopes, .. } => Err(FhirError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "Phạm vi của mã truy cập không gồm ghi mũi tiêm ({}); cần {}",
                scopes.to_scope_string(),
                book::access::IMMUNIZATION_WRITE
            ),
        )),
        _ => Err(FhirError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Chỉ hệ thống kết nối được cấp phép (system/Immunization.write) ghi mũi tiêm qua FHIR; trạm y tế ghi trên trang của trạm",
        )),
    }
}

fn body_json(body: &Bytes) -> Result<Value, FhirError> {
    serde_json::from_slice(body).map_err(|e| FhirError {
        expression: None,
        ..FhirError::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("Nội dung không phải JSON hợp lệ: {e}"),
        )
    })
}

/// A refusal answered as an OperationOutcome naming every element.
fn refused(status: StatusCode, refusals: &[Refusal]) -> Response {
    fhir_json(status, &refusals_outcome(refusals))
}

/// A received dose, ready for the service: the person and the entry.
struct Ready {
    subject: Subject,
    entry: DoseEntry,
}

/// The dose entry of a received Immunization (the vaccine found in the catalogue), or
/// the refusals, their elements under `prefix`.
fn ready(r: Received, prefix: &str) -> Result<Ready, Vec<Refusal>> {
    let Some(vaccine) = imm::resolve_vaccine(&r.vaccine) else {
        return Err(vec![Refusal {
            element: format!("{prefix}vaccineCode"),
            code: "code-invalid",
            message: format!(
                "Không có vắc xin nào trong danh mục ứng với mã đã gửi ({}); dùng {} (mã quốc gia), hoặc mã CVX/ATC chỉ một vắc xin có",
                r.vaccine
                    .iter()
                    .map(|(s, c)| format!("{s}|{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                imm::CS_VACCINE
            ),
        }]);
    };
    let status = match r.outcome {
        Outcome::Given => "given",
        Outcome::Contraindicated => "contraindicated",
        Outcome::Refused => "refused",
        Outcome::Deferred => "deferred",
    };
    // Sent again with the same id, the dose is not added twice.
    let source_key = r
        .national_id
        .as_ref()
        .map(|n| format!("nip:{n}"))
        .or_else(|| r.identifier.as_ref().map(|(s, v)| format!("fhir:{s}|{v}")));
    let reason = r
        .reason
        .clone()
        .or_else(|| (r.outcome != Outcome::Given).then(|| r.outcome.label().to_string()));
    Ok(Ready {
        subject: r.subject,
        entry: DoseEntry {
            vaccine: vaccine.to_string(),
            date: r.day.format("%Y-%m-%d").to_string(),
            status: Some(status.to_string()),
            dose_number: r.dose_number.and_then(|n| u8::try_from(n).ok()),
            facility: r.facility,
            source_key,
            details: DoseDetails {
                lot: r.lot,
                route: r.route,
                site: r.site,
                reason,
                note: r.note,
                primary_source: Some(r.primary_source),
                national: r.national_id.map(|n| NationalIds {
                    lich_su_tiem_id: Some(n),
                    ..NationalIds::default()
                }),
                ..DoseDetails::default()
            },
            confirm_duplicate: false,
        },
    })
}

/// The element a refusal of the service names.
fn element_of(e: &ServiceError) -> (&'static str, &'static str) {
    match e {
        ServiceError::Invalid { code, .. } => match *code {
            "unknown_vaccine" => ("vaccineCode", "code-invalid"),
            "reason_required" => ("statusReason", "required"),
            "invalid_status" => ("status", "code-invalid"),
            _ => ("occurrenceDateTime", "value"),
        },
        ServiceError::Conflict(_) => ("", "duplicate"),
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::OutOfScope(_) => {
            ("patient", "forbidden")
        }
        _ => ("", "exception"),
    }
}

fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::OutOfScope(_) => {
            StatusCode::FORBIDDEN
        }
        ServiceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn service_refusal(e: &ServiceError, prefix: &str) -> Refusal {
    let (element, code) = element_of(e);
    let message = match e {
        // The same answer whether the person is unknown or outside the unit.
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::OutOfScope(_) => {
            "Người này không thuộc đơn vị của hệ thống kết nối (không có hồ sơ do trạm y tế của đơn vị quản lý), hoặc không có trong sổ".to_string()
        }
        e => e.message(),
    };
    Refusal {
        element: if element.is_empty() {
            prefix.trim_end_matches('.').to_string()
        } else {
            format!("{prefix}{element}")
        },
        code,
        message,
    }
}

/// The person a received subject names: `Patient/<id>`, or the holder of a personal ID
/// (the survivor of a merge). `None`: no such person.
fn person_of(store: &dyn store::Store, s: &Subject) -> store::Result<Option<i64>> {
    Ok(match s {
        Subject::Id(id) => store.person(*id)?.map(|p| p.merged_into.unwrap_or(p.id)),
        Subject::PersonalId(v) => store
            .person_by_identifier(IdKind::PersonalId, v)?
            .map(|p| p.merged_into.unwrap_or(p.id)),
    })
}

/// The written dose as its Immunization.
fn resource_of(d: &StoredDose) -> Value {
    imm::immunization(d.person_id, &imm::dose_facts(d, None))
}

/// `POST /fhir/Immunization`: one dose. 201 with the resource and its `Location`; 200
/// when the same dose (by its identifier) was recorded before.
pub async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FhirError> {
    let who = writer(&app, &headers).await?;
    let v = body_json(&body)?;
    let received = match read_received(&v) {
        Ok(r) => r,
        Err(bad) => return Ok(refused(StatusCode::BAD_REQUEST, &bad)),
    };
    let ready = match ready(received, "Immunization.") {
        Ok(r) => r,
        Err(bad) => return Ok(refused(StatusCode::BAD_REQUEST, &bad)),
    };
    let started = now_ms();
    let svc = app.service.clone();
    let done = blocking(move || {
        let Some(pid) = person_of(svc.store().as_ref(), &ready.subject)? else {
            return Ok(Err(ServiceError::NotFound));
        };
        Ok(svc.record_dose(&who, pid, &ready.entry))
    })
    .await?;
    let stored = match done {
        Ok(d) => d,
        Err(ServiceError::Store(e)) => return Err(FhirError::from(e)),
        Err(e) => {
            return Ok(refused(
                status_of(&e),
                &[service_refusal(&e, "Immunization.")],
            ));
        }
    };
    let r = resource_of(&stored);
    let (_, id) = map::key(&r);
    let location = format!("{}/Immunization/{id}", base_url(&app, &headers));
    let status = if stored.recorded_at < started {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut resp = fhir_json(status, &r);
    if let Ok(h) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, h);
    }
    Ok(resp)
}

/// `POST /fhir`: a `transaction` Bundle of Immunizations (`request.method` POST,
/// `request.url` Immunization): every entry is read and checked first, then all are
/// recorded or none.
pub async fn transaction(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FhirError> {
    let who = writer(&app, &headers).await?;
    let v = body_json(&body)?;
    let mut bad: Vec<Refusal> = Vec::new();
    let refuse = |bad: &mut Vec<Refusal>, element: &str, code: &'static str, m: String| {
        bad.push(Refusal {
            element: element.to_string(),
            code,
            message: m,
        })
    };
    if v["resourceType"] != "Bundle" {
        refuse(
            &mut bad,
            "Bundle.resourceType",
            "value",
            "Cần một Bundle loại transaction".into(),
        );
        return Ok(refused(StatusCode::BAD_REQUEST, &bad));
    }
    if v["type"] != "transaction" {
        refuse(
            &mut bad,
            "Bundle.type",
            "not-supported",
            format!(
                "Chỉ nhận Bundle loại transaction (nhận {})",
                v["type"].as_str().unwrap_or("không có")
            ),
        );
        return Ok(refused(StatusCode::BAD_REQUEST, &bad));
    }
    let entries = v["entry"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() || entries.len() > MAX_BUNDLE {
        refuse(
            &mut bad,
            "Bundle.entry",
            "value",
            format!("Bundle cần từ 1 đến {MAX_BUNDLE} mục"),
        );
        return Ok(refused(StatusCode::BAD_REQUEST, &bad));
    }
    let mut all: Vec<Ready> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let method = e["request"]["method"].as_str().unwrap_or("");
        let url = e["request"]["url"].as_str().unwrap_or("");
        if method != "POST" || url.trim_start_matches('/') != "Immunization" {
            refuse(
                &mut bad,
                &format!("{at}.request"),
                "not-supported",
                format!(
                    "Mỗi mục cần request POST Immunization (nhận {} {})",
                    if method.is_empty() { "—" } else { method },
                    if url.is_empty() { "—" } else { url }
                ),
            );
            continue;
        }
        let prefix = format!("{at}.resource.");
        match read_received(&e["resource"]).map_err(|r| rebase(r, &prefix)) {
            Ok(r) => match ready(r, &prefix) {
                Ok(x) => all.push(x),
                Err(r) => bad.extend(r),
            },
            Err(r) => bad.extend(r),
        }
    }
    if !bad.is_empty() {
        return Ok(refused(StatusCode::BAD_REQUEST, &bad));
    }
    // The same dose twice in one Bundle (same person, vaccine, day ± 1, given).
    for i in 0..all.len() {
        for j in 0..i {
            let (a, b) = (&all[i], &all[j]);
            let day = |x: &Ready| chrono::NaiveDate::parse_from_str(&x.entry.date, "%Y-%m-%d").ok();
            let close = match (day(a), day(b)) {
                (Some(x), Some(y)) => (x - y).num_days().abs() <= 1,
                _ => false,
            };
            if a.subject == b.subject
                && a.entry.vaccine == b.entry.vaccine
                && a.entry.status.as_deref() == Some("given")
                && b.entry.status.as_deref() == Some("given")
                && close
            {
                refuse(
                    &mut bad,
                    &format!("Bundle.entry[{i}].resource"),
                    "duplicate",
                    format!("Trùng mũi tiêm với Bundle.entry[{j}] (cùng người, vắc xin, ngày ± 1)"),
                );
            }
        }
    }
    if !bad.is_empty() {
        return Ok(refused(StatusCode::BAD_REQUEST, &bad));
    }
    let svc = app.service.clone();
    let started = now_ms();
    let done = blocking(move || {
        let mut entries = Vec::with_capacity(all.len());
        for (i, r) in all.iter().enumerate() {
            match person_of(svc.store().as_ref(), &r.subject)? {
                Some(pid) => entries.push((pid, r.entry.clone())),
                None => return Ok(Err((i, ServiceError::NotFound))),
            }
        }
        Ok(svc.record_doses(&who, &entries))
    })
    .await?;
    let stored = match done {
        Ok(d) => d,
        Err((_, ServiceError::Store(e))) => return Err(FhirError::from(e)),
        Err((i, e)) => {
            return Ok(refused(
                status_of(&e),
                &[service_refusal(&e, &format!("Bundle.entry[{i}].resource."))],
            ));
        }
    };
    let base = base_url(&app, &headers);
    let out: Vec<Value> = stored
        .iter()
        .map(|d| {
            let r = resource_of(d);
            let id = r["id"].as_str().unwrap_or("").to_string();
            let status = if d.recorded_at < started {
                "200 OK"
            } else {
                "201 Created"
            };
            json!({
                "fullUrl": format!("{base}/Immunization/{id}"),
                "resource": r,
                "response": {
                    "status": status,
                    "location": format!("Immunization/{id}"),
                    "lastModified": map::instant(d.recorded_at),
                },
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": map::instant(now_ms()) },
        "type": "transaction-response",
    });
    bundle["entry"] = Value::Array(out);
    Ok(fhir_json(StatusCode::OK, &bundle).into_response())
}

/// The refusals of an entry's resource, named from the Bundle (`Immunization.x` →
/// `Bundle.entry[i].resource.x`).
fn rebase(refusals: Vec<Refusal>, prefix: &str) -> Vec<Refusal> {
    refusals
        .into_iter()
        .map(|r| Refusal {
            element: match r.element.strip_prefix("Immunization") {
                Some(rest) => format!("{}{}", prefix.trim_end_matches('.'), rest),
                None => format!("{prefix}{}", r.element),
            },
            ..r
        })
        .collect()
}
