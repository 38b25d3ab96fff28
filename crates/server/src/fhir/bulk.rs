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
//! Only the client that started a job sees it, with a token whose scopes still cover the
//! job's types; anyone else gets 404. Jobs and their files live under the configured
//! export directory (`<job>/job.json` and `<job>/<Type>.ndjson`, the folder mode 0700),
//! so a finished job outlives a restart; a job cut by a restart is marked failed and its
//! partial files deleted when the server starts ([`recover`]). Files are deleted
//! [`KEEP_MS`] after the job ends ([`housekeeping`]) and never served after that. A client
//! keeps at most [`MAX_KEPT_PER_CLIENT`] jobs. The export itself is
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
use book::access::{Action, Place, authorize};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::now_ms;

use super::export::{DirSink, EXPORT_TYPES, Exporter, Sink, export_types, export_unit};
use super::{
    BOOK_TYPES, FhirError, Reader, base_url, fhir_json, map, outcome, pointing, scope_refusal,
};
use crate::App;

/// Files of a finished job are kept this long (24 hours), then deleted.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;
/// Jobs running at once, in all (each keeps a core busy).
const MAX_RUNNING: usize = 2;
/// Jobs a client keeps (running or finished, not yet deleted): each is a copy of the
/// unit's data on the server's disk.
pub const MAX_KEPT_PER_CLIENT: usize = 3;
/// `transactionTime` is this much before the kick-off: a submission committing at that
/// moment (stamped visible a little before its commit) is then in the next export that
/// passes `transactionTime` as `_since`, if it missed this one.
pub const TRANSACTION_MARGIN_MS: i64 = 5 * 60 * 1000;
/// How often finished jobs past [`KEEP_MS`] are looked for.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
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
    /// The types asked for (a download needs them still in the token's scopes).
    #[serde(default)]
    types: Vec<String>,
}

impl JobRecord {
    fn expired(&self, now: i64) -> bool {
        self.finished_ms.is_some_and(|f| now - f > KEEP_MS)
    }
}

fn job_dir(root: &FsPath, id: &str) -> PathBuf {
    root.join(id)
}

fn save(root: &FsPath, job: &JobRecord) -> std::io::Result<()> {
    let dir = job_dir(root, &job.id);
    let tmp = dir.join("job.json.tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(job).map_err(std::io::Error::other)?)?;
    }
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

/// The job folders under `root`, by id.
fn job_ids(root: &FsPath) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| valid_id(n))
        .collect()
}

fn remove_outputs(dir: &FsPath) {
    for t in EXPORT_TYPES {
        let _ = std::fs::remove_file(dir.join(format!("{t}.ndjson")));
    }
}

/// Delete the files of jobs that ended more than [`KEEP_MS`] ago.
fn sweep(root: &FsPath, now: i64) {
    for id in job_ids(root) {
        if load(root, &id).is_some_and(|j| j.expired(now)) {
            let _ = std::fs::remove_dir_all(job_dir(root, &id));
        }
    }
}

/// At start, before any job runs: a job still marked running was cut by a stop. It is
/// marked failed and its partial files deleted; a folder without a record (cancelled, or
/// cut before its record was written) is deleted. Then [`sweep`].
pub fn recover(root: &FsPath, now: i64) {
    for id in job_ids(root) {
        let dir = job_dir(root, &id);
        match load(root, &id) {
            None => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Some(mut job) if job.state == "running" => {
                remove_outputs(&dir);
                job.state = "failed".into();
                job.error = Some("interrupted: the server stopped during the export".into());
                job.output.clear();
                job.finished_ms = Some(now);
                if save(root, &job).is_err() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
            Some(_) => {}
        }
    }
    sweep(root, now);
}

/// The export folder's upkeep for a serving process ([`recover`] having run before it
/// serves): [`sweep`] every ten minutes. Nothing to do without an export folder.
pub async fn housekeeping(app: Arc<App>) {
    let Some(root) = app.config.export_dir.clone() else {
        return;
    };
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let r = root.clone();
        let _ = tokio::task::spawn_blocking(move || sweep(&r, now_ms())).await;
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

    fn stopped(&self) -> bool {
        self.progress.cancel.load(Ordering::Relaxed)
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

/// The client, scopes and unit of a system client's token; anyone else is refused.
fn system_client(
    reader: &Reader,
) -> Result<(&store::FhirClient, &book::access::SmartScopes, &Place), FhirError> {
    match reader {
        Reader::System {
            client,
            scopes,
            place,
        } => Ok((client, scopes, place)),
        _ => Err(FhirError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Chỉ hệ thống kết nối được cấp phép (mã truy cập của client) mới xuất dữ liệu hàng loạt",
        )),
    }
}

/// Whether `scopes` cover exporting `types`: each type, and the Patient scope for any
/// person's data (as a read needs).
fn scopes_cover(scopes: &book::access::SmartScopes, types: &[&str]) -> bool {
    let person_data = types.iter().any(|t| BOOK_TYPES.contains(t));
    !types.is_empty()
        && types.iter().all(|t| scopes.allows(t))
        && (!person_data || scopes.allows("Patient"))
}

fn too_many(text: &str) -> Response {
    let mut r = FhirError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", text).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    r
}

/// Make the export folder (readable by the service only) and count the live jobs of a
/// client there.
fn prepare(root: &FsPath, client_id: &str, now: i64) -> std::io::Result<usize> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)?;
    Ok(job_ids(root)
        .iter()
        .filter_map(|id| load(root, id))
        .filter(|j| j.client_id == client_id && !j.expired(now))
        .count())
}

/// `GET /fhir/$export`: start an export of the client's unit.
pub async fn kick_off(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, FhirError> {
    let reader = Reader::from_headers(&app, &headers).await?;
    let (client, scopes, place) = system_client(&reader)?;
    let prefer: Vec<String> = headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split([',', ';']))
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    if !prefer.iter().any(|p| p == "respond-async") {
        return Err(FhirError::invalid(
            "Prefer",
            "Prefer: cần \"respond-async\" (xuất dữ liệu hàng loạt chạy nền)",
        ));
    }
    // Unknown parameters are refused, unless the client asked for lenient handling.
    let lenient = prefer.iter().any(|p| p == "handling=lenient");
    const KNOWN: [&str; 3] = ["_type", "_since", "_outputFormat"];
    if !lenient && let Some((k, _)) = params.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return Err(FhirError::invalid(
            k,
            format!(
                "Tham số không được hỗ trợ khi xuất dữ liệu: {k} (_type, _since, _outputFormat)"
            ),
        ));
    }
    let params: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| KNOWN.contains(&k.as_str()))
        .collect();
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
        Some(list) if list.trim().is_empty() => {
            return Err(FhirError::invalid(
                "_type",
                "_type: cần ít nhất một loại tài nguyên",
            ));
        }
        Some(list) => export_types(Some(&list)).map_err(|t| {
            FhirError::invalid(
                "_type",
                format!("_type: loại tài nguyên không xuất được \"{t}\""),
            )
        })?,
        None => {
            let allowed: Vec<&str> = EXPORT_TYPES
                .iter()
                .copied()
                .filter(|t| scopes.allows(t))
                .collect();
            if scopes.allows("Patient") {
                allowed
            } else {
                // Without the Patient scope, what is not a person's data.
                allowed
                    .into_iter()
                    .filter(|t| !BOOK_TYPES.contains(t))
                    .collect()
            }
        }
    };
    if !scopes_cover(scopes, &types) {
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
    let (r, c) = (root.clone(), client.client_id.clone());
    let kept = tokio::task::spawn_blocking(move || prepare(&r, &c, now_ms()))
        .await
        .map_err(|e| io_error(std::io::Error::other(e)))?
        .map_err(io_error)?;
    if kept >= MAX_KEPT_PER_CLIENT {
        return Ok(too_many(&format!(
            "Đã có {kept} lượt xuất dữ liệu đang lưu; xóa bớt (DELETE) hoặc chờ hết hạn sau 24 giờ"
        )));
    }
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
            return Ok(too_many(
                "Đang có một lượt xuất dữ liệu chạy; thử lại sau khi lượt đó xong",
            ));
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
        transaction_time: map::instant(started - TRANSACTION_MARGIN_MS),
        started_ms: started,
        finished_ms: None,
        state: "running".into(),
        error: None,
        output: Vec::new(),
        types: types.iter().map(|t| t.to_string()).collect(),
    };
    let made = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(job_dir(&root, &id))
    }
    .and_then(|()| save(&root, &job));
    if let Err(e) = made {
        if let Ok(mut r) = app.bulk.running.lock() {
            r.remove(&id);
        }
        let _ = std::fs::remove_dir_all(job_dir(&root, &id));
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
        // A panic in the export ends the job as failed, and frees its place.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let inner =
                DirSink::new(&dir).map_err(|e| store::StoreError::Invalid(e.to_string()))?;
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
        }))
        .unwrap_or_else(|_| Err(store::StoreError::Invalid("the export panicked".into())));
        let mut job = job;
        job.finished_ms = Some(now_ms());
        match result {
            Ok(stats) => {
                job.state = "complete".into();
                job.output = stats.resources.into_iter().collect();
            }
            Err(e) => {
                if !progress.cancel.load(Ordering::Relaxed) {
                    tracing::error!(job = %job_id, error = %e, "FHIR export failed");
                }
                job.state = "failed".into();
                job.error = Some(e.to_string());
                // Partial files are not data anyone should use.
                remove_outputs(&dir);
            }
        }
        // The record first, then out of the running set; a cancel that came in between
        // is seen here, under the lock, and the job's folder goes.
        if !progress.cancel.load(Ordering::Relaxed)
            && let Err(e) = save(&root, &job)
        {
            tracing::error!(job = %job_id, error = %e, "FHIR export: job record not saved");
        }
        let cancelled = match app2.bulk.running.lock() {
            Ok(mut r) => {
                r.remove(&job_id);
                progress.cancel.load(Ordering::Relaxed)
            }
            Err(_) => progress.cancel.load(Ordering::Relaxed),
        };
        if cancelled {
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
    let status_url = format!("{base}/bulk/{id}");
    Ok(pointing(
        StatusCode::ACCEPTED,
        header::CONTENT_LOCATION,
        &status_url,
        "Đã nhận yêu cầu xuất dữ liệu; theo dõi tại Content-Location".to_string(),
        format!("Export accepted; poll {status_url}"),
    ))
}

fn io_error(e: std::io::Error) -> FhirError {
    tracing::error!(error = %e, "FHIR export directory");
    FhirError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "Không ghi được thư mục xuất dữ liệu",
    )
}

/// The job `id` of the reading client, whose token still covers the job's types; else
/// 404 (another client's job, an expired or deleted one, is not there).
async fn own_job(
    app: &Arc<App>,
    headers: &HeaderMap,
    id: &str,
) -> Result<(PathBuf, JobRecord), FhirError> {
    let reader = Reader::from_headers(app, headers).await?;
    let (client, scopes, _) = system_client(&reader)?;
    let root = root_of(app)?;
    if !valid_id(id) {
        return Err(FhirError::not_found());
    }
    let job = load(&root, id)
        .filter(|j| j.client_id == client.client_id && !j.expired(now_ms()))
        .filter(|j| {
            let types: Vec<&str> = j.types.iter().map(String::as_str).collect();
            scopes_cover(scopes, &types)
        })
        .ok_or_else(FhirError::not_found)?;
    Ok((root, job))
}

/// `GET /fhir/bulk/{job}`: progress, the manifest, or the failure.
pub async fn status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let (root, _) = own_job(&app, &headers, &id).await?;
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
    // Not running: its record is final (read again, as it may have just finished).
    let job = load(&root, &id).ok_or_else(FhirError::not_found)?;
    if job.state != "complete" {
        let why = if job.state == "running" {
            "interrupted: not running in this server"
        } else {
            job.error.as_deref().unwrap_or("")
        };
        let text = format!("Xuất dữ liệu không thành công; hãy yêu cầu lại ({why})");
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

/// `DELETE /fhir/bulk/{job}`: cancel a running job, delete a finished one's files. The
/// job is gone (404) from this answer on.
pub async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let (root, _) = own_job(&app, &headers, &id).await?;
    let running = match app.bulk.running.lock() {
        Ok(r) => match r.get(&id) {
            Some(p) => {
                p.cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        },
        Err(_) => false,
    };
    let dir = job_dir(&root, &id);
    if running {
        // The export stops at its next line and removes the folder; the record goes now.
        let _ = std::fs::remove_file(dir.join("job.json"));
    } else {
        std::fs::remove_dir_all(&dir).map_err(io_error)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, finished_ms: Option<i64>) -> JobRecord {
        JobRecord {
            id: id.into(),
            client_id: "hbc-test".into(),
            request: "http://x/fhir/$export".into(),
            transaction_time: map::instant(0),
            started_ms: 0,
            finished_ms,
            state: if finished_ms.is_some() {
                "complete"
            } else {
                "running"
            }
            .into(),
            error: None,
            output: vec![("Patient".into(), 1)],
            types: vec!["Patient".into()],
        }
    }

    #[test]
    fn only_made_ids_reach_the_file_system() {
        assert!(valid_id(&uuid::Uuid::new_v4().to_string()));
        for bad in [
            "",
            "..",
            "../../etc",
            "job.json",
            "00000000-0000-0000-0000-00000000000/",
            "x".repeat(36).as_str(),
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn finished_jobs_are_deleted_after_a_day_running_ones_never() {
        let root = tempfile::tempdir().unwrap();
        let now = 10 * KEEP_MS;
        let old = uuid::Uuid::new_v4().to_string();
        let fresh = uuid::Uuid::new_v4().to_string();
        let running = uuid::Uuid::new_v4().to_string();
        for (id, fin) in [
            (&old, Some(now - KEEP_MS - 1)),
            (&fresh, Some(now - KEEP_MS + 1000)),
            (&running, None),
        ] {
            std::fs::create_dir_all(job_dir(root.path(), id)).unwrap();
            save(root.path(), &job(id, fin)).unwrap();
        }
        // Something else in the folder is left alone.
        std::fs::create_dir_all(root.path().join("keep-me")).unwrap();
        sweep(root.path(), now);
        assert!(!job_dir(root.path(), &old).exists());
        assert!(load(root.path(), &fresh).is_some());
        assert!(load(root.path(), &running).is_some());
        assert!(root.path().join("keep-me").exists());
    }

    #[test]
    fn a_job_cut_by_a_stop_is_failed_at_start_and_its_files_deleted() {
        let root = tempfile::tempdir().unwrap();
        let cut = uuid::Uuid::new_v4().to_string();
        let done = uuid::Uuid::new_v4().to_string();
        let bare = uuid::Uuid::new_v4().to_string();
        for (id, fin) in [(&cut, None), (&done, Some(1_000))] {
            std::fs::create_dir_all(job_dir(root.path(), id)).unwrap();
            save(root.path(), &job(id, fin)).unwrap();
            std::fs::write(job_dir(root.path(), id).join("Patient.ndjson"), "{}\n").unwrap();
        }
        std::fs::create_dir_all(job_dir(root.path(), &bare)).unwrap();
        recover(root.path(), 2_000);
        let j = load(root.path(), &cut).unwrap();
        assert_eq!((j.state.as_str(), j.finished_ms), ("failed", Some(2_000)));
        assert!(j.error.unwrap().contains("interrupted"));
        assert!(!job_dir(root.path(), &cut).join("Patient.ndjson").exists());
        assert!(job_dir(root.path(), &done).join("Patient.ndjson").exists());
        assert!(!job_dir(root.path(), &bare).exists());
    }

    #[test]
    fn a_cancelled_job_stops_at_the_next_line() {
        let root = tempfile::tempdir().unwrap();
        let progress = Arc::new(Progress {
            client_id: "hbc-test".into(),
            written: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
        });
        let mut sink = Counting {
            inner: DirSink::new(root.path()).unwrap(),
            progress: progress.clone(),
        };
        sink.line("Patient", b"{}").unwrap();
        sink.line("Patient", b"{}").unwrap();
        assert_eq!(progress.written.load(Ordering::Relaxed), 2);
        progress.cancel.store(true, Ordering::Relaxed);
        assert!(sink.stopped());
        assert!(sink.line("Patient", b"{}").is_err());
        assert_eq!(progress.written.load(Ordering::Relaxed), 2);
    }
}
