//! The FHIR Bulk Data export over HTTP (Bulk Data Access IG 2.0, system level), for a
//! registered system client and its unit:
//!
//! - `GET /fhir/$export` with `Prefer: respond-async` starts a job ([`kick_off`]) and
//!   answers 202 with the status URL in `Content-Location`;
//! - `GET /fhir/bulk/{job}` answers 202 with `X-Progress` while it runs, then 200 with
//!   the manifest (one NDJSON file per type, with its line count), or an
//!   OperationOutcome if it failed;
//! - `GET /fhir/bulk/{job}/{Type}.ndjson` streams a file;
//! - `DELETE /fhir/bulk/{job}` cancels a running job or deletes a finished one.
//!
//! Only the client that started a job sees it; anyone else gets 404. Jobs and their files
//! live under the configured export directory (`<job>/job.json` and `<job>/<Type>.ndjson`),
//! so a finished job outlives a restart; a job cut by a restart reads as failed. Files
//! are deleted [`KEEP_MS`] after the job ends. The export itself is
//! [`super::export::export_unit`]: streaming, bounded memory, every exported person's
//! audit chain written before their data.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use book::access::{Action, authorize};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::now_ms;

use super::export::{DirSink, EXPORT_TYPES, Exporter, Sink, export_types, export_unit};
use super::{BOOK_TYPES, FhirError, Reader, base_url, fhir_json, map, outcome, scope_refusal};
use crate::App;

/// Files of a finished job are kept this long (24 hours), then deleted.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;
/// Jobs running at once, in all (each keeps a core busy).
const MAX_RUNNING: usize = 2;
/// What a status poll is asked to wait, in seconds.
const RETRY_AFTER_SECS: &str = "2";

/// The jobs running in this process, with their progress.
#[derive(Default)]
pub struct Jobs {
    running: Mutex<HashMap<String, Arc<Progress>>>,
}

struct Progress {
    client_id: String,
    written: AtomicU64,
    cancel: AtomicBool,
}

impl Jobs {
    fn get(&self, id: &str) -> Option<Arc<Progress>> {
        self.running.lock().ok()?.get(id).cloned()
    }
}

/// A job as kept on disk (`job.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct JobRecord {
    id: String,
    client_id: String,
    /// The kick-off request, as the manifest repeats it.
    request: String,
    /// When the export began (FHIR instant): data sent later is not in it.
    transaction_time: String,
    started_ms: i64,
    finished_ms: Option<i64>,
    /// running | complete | failed
    state: String,
    error: Option<String>,
    /// Files written: type and number of resources.
    output: Vec<(String, u64)>,
}

fn job_dir(root: &FsPath, id: &str) -> PathBuf {
    root.join(id)
}

fn save(root: &FsPath, job: &JobRecord) -> std::io::Result<()> {
    let dir = job_dir(root, &job.id);
    let tmp = dir.join("job.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(job).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, dir.join("job.json"))
}

fn load(root: &FsPath, id: &str) -> Option<JobRecord> {
    let bytes = std::fs::read(job_dir(root, id).join("job.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A job id is a UUID as we make them: nothing else reaches the file system.
fn valid_id(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Delete the files of jobs that ended more than [`KEEP_MS`] ago.
fn sweep(root: &FsPath, now: i64) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !valid_id(&name) {
            continue;
        }
        if let Some(job) = load(root, &name)
            && job.finished_ms.is_some_and(|f| now - f > KEEP_MS)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Counts lines for the status, and stops the export when the job is cancelled.
struct Counting {
    inner: DirSink,
    progress: Arc<Progress>,
}

impl Sink for Counting {
    fn line(&mut self, ty: &str, json: &[u8]) -> std::io::Result<()> {
        if self.progress.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        self.progress.written.fetch_add(1, Ordering::Relaxed);
        self.inner.line(ty, json)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

fn root_of(app: &App) -> Result<PathBuf, FhirError> {
    app.config.export_dir.clone().ok_or_else(|| {
        FhirError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not-supported",
            "Máy chủ chưa cấu hình thư mục xuất dữ liệu (export_dir); dùng lệnh `healthbook fhir export`",
        )
    })
}

/// The reader as a system client (the only ones who export over HTTP).
fn system_client(reader: &Reader) -> Result<(), FhirError> {
    match reader {
        Reader::System { .. } => Ok(()),
        _ => Err(FhirError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Chỉ hệ thống kết nối được cấp phép (mã truy cập của client) mới xuất dữ liệu hàng loạt",
        )),
    }
}

fn client_id(reader: &Reader) -> &str {
    match reader {
        Reader::System { client, .. } => &client.client_id,
        _ => "",
    }
}

/// `GET /fhir/$export`: start an export of the client's unit.
pub async fn kick_off(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, FhirError> {
    let reader = Reader::from_headers(&app, &headers).await?;
    system_client(&reader)?;
    let Reader::System {
        client,
        scopes,
        place,
    } = &reader
    else {
        unreachable!("checked above");
    };
    let prefer = headers
        .get("prefer")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !prefer
        .split([',', ';'])
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
    {
        return Err(FhirError::invalid(
            "Prefer",
            "Prefer: cần \"respond-async\" (xuất dữ liệu hàng loạt chạy nền)",
        ));
    }
    if let Some((k, _)) = params
        .iter()
        .find(|(k, _)| !["_type", "_since", "_outputFormat"].contains(&k.as_str()))
    {
        return Err(FhirError::invalid(
            k,
            format!(
                "Tham số không được hỗ trợ khi xuất dữ liệu: {k} (_type, _since, _outputFormat)"
            ),
        ));
    }
    let one = |name: &str| {
        let all: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        match all.as_slice() {
            [] => Ok(None),
            [v] => Ok(Some(v.to_string())),
            _ => Err(FhirError::invalid(
                name,
                format!("{name}: chỉ được nêu một lần"),
            )),
        }
    };
    if let Some(f) = one("_outputFormat")?
        && !["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(&f.as_str())
    {
        return Err(FhirError::invalid(
            "_outputFormat",
            format!("_outputFormat: chỉ hỗ trợ application/fhir+ndjson, nhận \"{f}\""),
        ));
    }
    // The types: those asked for, each within the scopes; else every type the scopes
    // allow. A person's data is reached through their Patient, as in a read.
    let types: Vec<&str> = match one("_type")? {
        Some(list) => {
            let t = export_types(Some(&list)).map_err(|t| {
                FhirError::invalid(
                    "_type",
                    format!("_type: loại tài nguyên không xuất được \"{t}\""),
                )
            })?;
            if t.iter().any(|t| !scopes.allows(t)) {
                return Err(scope_refusal(scopes));
            }
            t
        }
        None => EXPORT_TYPES
            .iter()
            .copied()
            .filter(|t| scopes.allows(t))
            .collect(),
    };
    let person_data = types
        .iter()
        .any(|t| BOOK_TYPES.contains(t) || *t == "Patient");
    if types.is_empty() || (person_data && !scopes.allows("Patient")) {
        return Err(scope_refusal(scopes));
    }
    authorize(
        &reader.principal(),
        &Action::ExportUnit {
            resource_types: &types,
            place,
        },
    )
    .map_err(|d| FhirError::new(StatusCode::FORBIDDEN, "forbidden", d.message))?;
    let since_ms = match one("_since")? {
        Some(s) => {
            let span = map::Span::parse(&s).ok_or_else(|| {
                FhirError::invalid(
                    "_since",
                    format!(
                        "_since: cần một thời điểm dạng YYYY-MM-DDThh:mm:ss+07:00, nhận \"{s}\""
                    ),
                )
            })?;
            // The Vietnam wall clock back to an instant.
            span.low.and_utc().timestamp_millis() - 7 * 3_600_000
        }
        None => 0,
    };
    let root = root_of(&app)?;
    std::fs::create_dir_all(&root).map_err(io_error)?;
    sweep(&root, now_ms());
    let id = uuid::Uuid::new_v4().to_string();
    let progress = Arc::new(Progress {
        client_id: client.client_id.clone(),
        written: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
    });
    {
        let mut running =
            app.bulk.running.lock().map_err(|_| {
                FhirError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", "lock")
            })?;
        let busy = running.len() >= MAX_RUNNING
            || running.values().any(|p| p.client_id == client.client_id);
        if busy {
            let mut r = FhirError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Đang có một lượt xuất dữ liệu chạy; thử lại sau khi lượt đó xong",
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return Ok(r);
        }
        running.insert(id.clone(), progress.clone());
    }
    let base = base_url(&app, &headers);
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let started = now_ms();
    let job = JobRecord {
        id: id.clone(),
        client_id: client.client_id.clone(),
        request: if query.is_empty() {
            format!("{base}/$export")
        } else {
            format!("{base}/$export?{query}")
        },
        transaction_time: map::instant(started),
        started_ms: started,
        finished_ms: None,
        state: "running".into(),
        error: None,
        output: Vec::new(),
    };
    let made = std::fs::create_dir_all(job_dir(&root, &id)).and_then(|()| save(&root, &job));
    if let Err(e) = made {
        if let Ok(mut r) = app.bulk.running.lock() {
            r.remove(&id);
        }
        return Err(io_error(e));
    }
    let exporter = Exporter {
        id: client.client_id.clone(),
        name: client.name.clone(),
    };
    let unit = client.unit.clone();
    let types: Vec<&'static str> = EXPORT_TYPES
        .iter()
        .copied()
        .filter(|t| types.contains(t))
        .collect();
    let app2 = app.clone();
    let job_id = id.clone();
    tokio::task::spawn_blocking(move || {
        let dir = job_dir(&root, &job_id);
        let result = DirSink::new(&dir)
            .map_err(|e| store::StoreError::Invalid(e.to_string()))
            .and_then(|inner| {
                let mut sink = Counting {
                    inner,
                    progress: progress.clone(),
                };
                export_unit(
                    app2.store.as_ref(),
                    &unit,
                    &types,
                    since_ms,
                    &exporter,
                    &mut sink,
                )
            });
        let mut job = job;
        job.finished_ms = Some(now_ms());
        if progress.cancel.load(Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            match result {
                Ok(stats) => {
                    job.state = "complete".into();
                    job.output = stats.resources.into_iter().collect();
                }
                Err(e) => {
                    tracing::error!(job = %job_id, error = %e, "FHIR export failed");
                    job.state = "failed".into();
                    job.error = Some(e.to_string());
                    // Partial files are not data anyone should use.
                    for t in EXPORT_TYPES {
                        let _ = std::fs::remove_file(dir.join(format!("{t}.ndjson")));
                    }
                }
            }
            if let Err(e) = save(&root, &job) {
                tracing::error!(job = %job_id, error = %e, "FHIR export: job record not saved");
            }
        }
        if let Ok(mut r) = app2.bulk.running.lock() {
            r.remove(&job_id);
        }
    });
    let status_url = format!("{base}/bulk/{id}");
    let mut r = fhir_json(
        StatusCode::ACCEPTED,
        &json!({
            "resourceType": "OperationOutcome",
            "text": map::narrative(&["Đã nhận yêu cầu xuất dữ liệu; theo dõi tại Content-Location".to_string()]),
            "issue": [{
                "severity": "information",
                "code": "informational",
                "details": { "text": format!("Export accepted; poll {status_url}") },
            }],
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(r)
}

fn io_error(e: std::io::Error) -> FhirError {
    tracing::error!(error = %e, "FHIR export directory");
    FhirError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "Không ghi được thư mục xuất dữ liệu",
    )
}

/// The job `id` of the reading client, or 404 (another client's job is not there).
async fn own_job(
    app: &Arc<App>,
    headers: &HeaderMap,
    id: &str,
) -> Result<(PathBuf, JobRecord), FhirError> {
    let reader = Reader::from_headers(app, headers).await?;
    system_client(&reader)?;
    let root = root_of(app)?;
    if !valid_id(id) {
        return Err(FhirError::not_found());
    }
    let job = load(&root, id)
        .filter(|j| j.client_id == client_id(&reader))
        .ok_or_else(FhirError::not_found)?;
    Ok((root, job))
}

/// `GET /fhir/bulk/{job}`: progress, the manifest, or the failure.
pub async fn status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let (root, mut job) = own_job(&app, &headers, &id).await?;
    sweep(&root, now_ms());
    if job.state == "running" {
        if let Some(p) = app.bulk.get(&id) {
            let mut r = StatusCode::ACCEPTED.into_response();
            let progress = format!("{} resources written", p.written.load(Ordering::Relaxed));
            if let Ok(v) = HeaderValue::from_str(&progress) {
                r.headers_mut().insert("x-progress", v);
            }
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            return Ok(r);
        }
        // Not running here: the server stopped while it ran.
        job.state = "failed".into();
        job.error = Some("interrupted: the server stopped during the export".into());
        job.finished_ms = Some(now_ms());
        let _ = save(&root, &job);
    }
    if job.state == "failed" {
        let text = format!(
            "Xuất dữ liệu không thành công; hãy yêu cầu lại ({})",
            job.error.as_deref().unwrap_or("")
        );
        return Ok(fhir_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &outcome("exception", &text, None),
        ));
    }
    let base = base_url(&app, &headers);
    let output: Vec<_> = job
        .output
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| json!({ "type": t, "url": format!("{base}/bulk/{id}/{t}.ndjson"), "count": n }))
        .collect();
    let manifest = json!({
        "transactionTime": job.transaction_time,
        "request": job.request,
        "requiresAccessToken": true,
        "output": output,
        "error": [],
    });
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&manifest).unwrap_or_default(),
    )
        .into_response();
    if let Some(f) = job.finished_ms
        && let Some(at) = chrono::DateTime::from_timestamp_millis(f + KEEP_MS)
        && let Ok(v) = HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        r.headers_mut().insert(header::EXPIRES, v);
    }
    Ok(r)
}

/// `DELETE /fhir/bulk/{job}`: cancel a running job, delete a finished one's files.
pub async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let (root, _) = own_job(&app, &headers, &id).await?;
    match app.bulk.get(&id) {
        Some(p) => p.cancel.store(true, Ordering::Relaxed),
        None => std::fs::remove_dir_all(job_dir(&root, &id)).map_err(io_error)?,
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /fhir/bulk/{job}/{Type}.ndjson`: one output file, streamed.
pub async fn file(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, FhirError> {
    let (root, job) = own_job(&app, &headers, &id).await?;
    let ty = name
        .strip_suffix(".ndjson")
        .filter(|t| job.state == "complete" && job.output.iter().any(|(o, n)| o == t && *n > 0))
        .ok_or_else(FhirError::not_found)?;
    let path = job_dir(&root, &id).join(format!("{ty}.ndjson"));
    let f = tokio::fs::File::open(&path)
        .await
        .map_err(|_| FhirError::not_found())?;
    let len = f.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024));
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/fhir+ndjson")],
        body,
    )
        .into_response();
    if let Some(n) = len {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    Ok(r)
}
