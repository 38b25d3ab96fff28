//! HTTP for healthbook. Today: the receiving gateway, compatible with the BHXH
//! "egw" API (§2.1 of the standards reference), `/healthz` and Prometheus `/metrics`.
//! Only this crate knows HTTP and the JSON wire shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use base64::Engine as _;
use dossier::{Finding, Limits, Options, Spec};
use serde::{Deserialize, Serialize};
use store::{Meta, Prepared, Source, Store, Token, now_ms};
use tokio::sync::Semaphore;

pub mod citizen;
mod deltas;
pub mod fhir;
pub mod guard;
pub(crate) mod http;
mod lookup;
mod metrics;
pub mod pages;
/// Registries from files (the `registry` crate's; no HTTP).
pub use ::registry;
pub mod records;
pub mod reminders;
pub mod reports;
pub mod security;
pub mod staff;
pub mod vaccinations;

pub use metrics::Metrics;

/// Settings of the gateway.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a session token lives.
    pub token_ttl: Duration,
    /// Largest request body accepted (base64 of the envelope, form-encoded).
    pub max_body_bytes: usize,
    /// Limits of the dossier parser.
    pub limits: Limits,
    /// The public base URL (`https://sskd.example.vn`) that FHIR links are made from;
    /// when unset, the request's Host (a reverse proxy must then pass a trusted one).
    pub public_url: Option<String>,
    /// Requests taking longer are cut (408).
    pub request_timeout: Duration,
    /// Where the FHIR bulk export (`$export`) writes its jobs' files; unset, `$export`
    /// answers 501 (the CLI `fhir export` still works).
    pub export_dir: Option<std::path::PathBuf>,
    /// Who may read `/metrics` on the main address.
    pub metrics: MetricsAccess,
    /// The append-only file of audit checkpoints, and how often one is written.
    pub audit_checkpoints: Option<(std::path::PathBuf, Duration)>,
    /// Most megabytes of submissions parsed at once (larger ones wait their turn).
    pub parse_budget_mb: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in throttling is
    /// per client address); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// What a facility signature's verdict does to a submission (`off`, `warn`,
    /// `require`).
    pub signature_policy: sign::Policy,
    /// Checks signatures; holds the configured trust anchors (none: a certificate is
    /// trusted by its registration to the facility alone).
    pub signature_verifier: sign::Verifier,
    /// Reminders: the periodic scan and the outside channels (`[notify]`, issue 18).
    pub notify: ::notify::Settings,
}

/// Who may read `/metrics` on the main address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Clients on this machine only (the default).
    #[default]
    Loopback,
    /// Anyone with `Authorization: Bearer <token>`.
    Token(String),
    /// Not on the main address: served on a listen address of its own ([`metrics_router`]).
    Separate,
}

impl Default for Config {
    fn default() -> Self {
        let limits = Limits::default();
        Config {
            token_ttl: Duration::from_secs(8 * 3600),
            // Base64 (4/3) of the largest envelope, URL-encoded, with room for the form.
            max_body_bytes: limits.max_file_bytes / 3 * 4 * 3 / 2,
            limits,
            public_url: None,
            request_timeout: Duration::from_secs(120),
            export_dir: None,
            metrics: MetricsAccess::Loopback,
            audit_checkpoints: None,
            parse_budget_mb: 256,
            trusted_proxies: Vec::new(),
            signature_policy: sign::Policy::default(),
            signature_verifier: sign::Verifier::default(),
            notify: ::notify::Settings::default(),
        }
    }
}

/// Shared state of the handlers.
pub struct App {
    pub store: Arc<dyn Store>,
    /// The service layer: every use of a person's data.
    pub service: service::Service,
    pub config: Config,
    pub metrics: Metrics,
    /// Password checks (argon2, ~45 ms of CPU): one queue per kind of caller.
    pub(crate) checks: guard::Checks,
    /// Attempts at secrets, per client address and account.
    pub(crate) throttle: guard::Throttle,
    /// Megabytes of submissions being parsed: a parse waits for its size's worth (the
    /// permit moves into the parsing task).
    pub(crate) parse_budget: Arc<Semaphore>,
    /// Failed share-code entries per member of staff.
    pub(crate) code_attempts: staff::CodeAttempts,
    /// FHIR bulk export jobs running in this process.
    pub(crate) bulk: fhir::bulk::Jobs,
    /// Facility names read lately.
    pub(crate) facility_names: citizen::NameCache,
    /// Gateway token checks of lately (see `http::tokens`).
    pub(crate) gateway_tokens: http::tokens::TokenCache,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: Config) -> Arc<App> {
        let parse_mb = config.parse_budget_mb.max(1) as usize;
        Arc::new(App {
            service: service::Service::new(store.clone()),
            store,
            config,
            metrics: Metrics::new(),
            checks: guard::Checks::default(),
            throttle: guard::Throttle::default(),
            parse_budget: Arc::new(Semaphore::new(parse_mb)),
            code_attempts: staff::CodeAttempts::default(),
            bulk: fhir::bulk::Jobs::default(),
            facility_names: citizen::NameCache::default(),
            gateway_tokens: http::tokens::TokenCache::default(),
        })
    }
}

/// The router of the whole service.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.max_body_bytes;
    let timeout = app.config.request_timeout;
    Router::new()
        .route("/api/token/take", post(take_token))
        .route("/api/qd130/{endpoint}", post(submit))
        .route("/api/egw/KQNhanLichSuKCB2024", post(lookup::card_lookup))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_gate))
        .merge(citizen::routes())
        .merge(staff::routes())
        .merge(pages::staff::routes())
        .merge(pages::station::routes())
        .merge(pages::chronic::routes())
        .merge(reports::routes())
        .merge(records::routes())
        .merge(vaccinations::routes())
        .merge(pages::vaccination::routes())
        .merge(fhir::routes())
        .merge(pages::citizen::routes())
        .merge(pages::notify::routes())
        .merge(deltas::routes())
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::guard,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(app)
}

/// Serve until the future `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Bulk exports cut by the last stop are closed before anyone can start one.
    if let Some(root) = app.config.export_dir.clone() {
        let _ = tokio::task::spawn_blocking(move || fhir::bulk::recover(&root, now_ms())).await;
    }
    let upkeep = tokio::spawn(fhir::bulk::housekeeping(app.clone()));
    let checkpoints = tokio::spawn(audit_checkpoints(app.clone()));
    let reminders = reminders::spawn(app.clone());
    let served = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    upkeep.abort();
    checkpoints.abort();
    for r in reminders {
        r.abort();
    }
    served
}

pub use axum::Router;

/// Serve a router (e.g. [`metrics_router`]) on a listener of its own.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// `/metrics` alone, for a listen address of its own ([`MetricsAccess::Separate`]).
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(app)
}

/// Write an audit checkpoint at start and then at every interval (see OPERATIONS.md).
async fn audit_checkpoints(app: Arc<App>) {
    let Some((file, every)) = app.config.audit_checkpoints.clone() else {
        return;
    };
    loop {
        let (store, f) = (app.store.clone(), file.clone());
        match tokio::task::spawn_blocking(move || store.audit_checkpoint(&f)).await {
            Ok(Ok(cp)) => tracing::info!(seq = cp.seq, records = cp.records, "audit checkpoint"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, file = %file.display(), "audit checkpoint failed")
            }
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// `/metrics` on the main address, as [`Config::metrics`] allows.
async fn metrics_gate(
    State(app): State<Arc<App>>,
    guard::Peer(ip): guard::Peer,
    headers: HeaderMap,
) -> Response {
    let allowed = match &app.config.metrics {
        // A request relayed by a proxy on this machine is not from this machine.
        MetricsAccess::Loopback => {
            ip.is_loopback()
                && !headers.contains_key("x-forwarded-for")
                && !headers.contains_key("forwarded")
        }
        MetricsAccess::Token(t) => headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|v| security::same_secret(v.trim(), t)),
        MetricsAccess::Separate => return StatusCode::NOT_FOUND.into_response(),
    };
    if !allowed {
        return (StatusCode::FORBIDDEN, "metrics: not allowed from here").into_response();
    }
    metrics::render(State(app)).await
}

pub use store::{vn_now, vn_wall_clock};

/// `yyyyMMddHHmmss` in Vietnam time, as the egw API writes `thoiGianTiepNhan`.
fn vn_time(ms: i64) -> String {
    vn_wall_clock(ms).format("%Y%m%d%H%M%S").to_string()
}

#[derive(Deserialize)]
struct TokenForm {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct ApiKey {
    access_token: String,
    id_token: String,
    token_type: &'static str,
    username: String,
    expires_in: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    ma_ket_qua: String,
    #[serde(rename = "APIKey", skip_serializing_if = "Option::is_none")]
    api_key: Option<ApiKey>,
    thong_diep: String,
}

async fn take_token(
    State(app): State<Arc<App>>,
    guard::ClientIp(ip): guard::ClientIp,
    Form(f): Form<TokenForm>,
) -> Response {
    let started = Instant::now();
    let keys = guard::keys("gateway", &f.username, ip);
    let attempt = match app.throttle.begin(&keys, now_ms()) {
        Ok(a) => a,
        Err(wait) => {
            app.metrics.request("token", "429", started.elapsed());
            return too_many(
                wait,
                TokenAnswer {
                    ma_ket_qua: "429".into(),
                    api_key: None,
                    thong_diep: format!(
                        "Quá nhiều lần đăng nhập sai; thử lại sau {}",
                        guard::wait_text(wait)
                    ),
                },
            );
        }
    };
    let Some(_permit) = guard::enter(&app.checks.gateway).await else {
        attempt.void();
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    };
    let store = app.store.clone();
    let (user, pw) = (f.username.clone(), f.password.to_ascii_uppercase());
    let verified = tokio::task::spawn_blocking(move || {
        let _permit = _permit;
        store.verify_account(&user, &pw)
    })
    .await;
    let mut attempt = Some(attempt);
    let answer = match verified {
        Ok(Ok(Some(account))) => {
            if let Some(a) = attempt.take() {
                a.succeeded();
            }
            let token = Token {
                access_token: store::new_token(),
                id_token: uuid::Uuid::new_v4().to_string(),
                username: account.username.clone(),
                expires_at: now_ms() + app.config.token_ttl.as_millis() as i64,
            };
            let store = app.store.clone();
            let pw = f.password.to_ascii_uppercase();
            let t = token.clone();
            match tokio::task::spawn_blocking(move || store.save_token(&t, &pw)).await {
                Ok(Ok(())) => {
                    app.gateway_tokens
                        .issued(&token.access_token, token.expires_at, now_ms());
                    TokenAnswer {
                        ma_ket_qua: "200".into(),
                        api_key: Some(ApiKey {
                            access_token: token.access_token,
                            id_token: token.id_token,
                            token_type: "bearer",
                            username: token.username,
                            expires_in: chrono::DateTime::from_timestamp_millis(token.expires_at)
                                .unwrap_or_default()
                                .to_rfc3339(),
                        }),
                        thong_diep: "Lấy token thành công".into(),
                    }
                }
                _ => server_error(),
            }
        }
        Ok(Ok(None)) => TokenAnswer {
            ma_ket_qua: "401".into(),
            api_key: None,
            thong_diep: "Sai tên đăng nhập hoặc mật khẩu".into(),
        },
        _ => {
            if let Some(a) = attempt.take() {
                a.void();
            }
            server_error()
        }
    };
    drop(attempt);
    app.metrics
        .request("token", &answer.ma_ket_qua, started.elapsed());
    Json(answer).into_response()
}

/// 429 with `Retry-After` (seconds) and a JSON body.
pub(crate) fn too_many(wait_ms: i64, body: impl Serialize) -> Response {
    with_retry_after(
        (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response(),
        wait_ms,
    )
}

/// `Retry-After` (whole seconds, at least 1) on a response that says "wait".
pub(crate) fn with_retry_after(mut res: Response, wait_ms: i64) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&((wait_ms + 999) / 1000).max(1).to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

fn server_error() -> TokenAnswer {
    TokenAnswer {
        ma_ket_qua: "500".into(),
        api_key: None,
        thong_diep: "Lỗi hệ thống, vui lòng gửi lại".into(),
    }
}

/// The egw submission form (read by `http::form`: the envelope's base64 is most of
/// the body and is decoded in one pass).
struct SubmitForm {
    username: String,
    loai_ho_so: String,
    ma_tinh: String,
    ma_cskcb: String,
    file_hs_base64: String,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for SubmitForm {
    type Rejection = http::form::FormError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut f = http::form::Fields::read(
            req,
            state,
            &["username", "loaiHoSo", "maTinh", "maCSKCB", "fileHSBase64"],
        )
        .await?;
        let loai_ho_so = f.take("loaiHoSo").unwrap_or_default();
        let ma_tinh = f.take("maTinh").unwrap_or_default();
        Ok(SubmitForm {
            username: f.required("username")?,
            loai_ho_so,
            ma_tinh,
            ma_cskcb: f.required("maCSKCB")?,
            file_hs_base64: f.required("fileHSBase64")?,
        })
    }
}

/// The answer of a submission endpoint (egw shape, plus the structured findings).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SubmitAnswer {
    pub ma_ket_qua: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ma_giao_dich: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thoi_gian_tiep_nhan: Option<String>,
    pub thong_diep: String,
    /// How many HOSO (check-in rows) were stored, and how many of the file were refused
    /// on their own while the others were stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub so_ho_so_da_luu: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub so_ho_so_tu_choi: Option<usize>,
    /// Every finding (code, location, value, messages), for programs: the first 1,000
    /// one by one, the rest counted per code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ds_loi: Vec<Finding>,
}

impl SubmitAnswer {
    fn fail(code: &str, message: &str) -> SubmitAnswer {
        SubmitAnswer {
            ma_ket_qua: code.into(),
            ma_giao_dich: None,
            thoi_gian_tiep_nhan: None,
            thong_diep: message.into(),
            so_ho_so_da_luu: None,
            so_ho_so_tu_choi: None,
            ds_loi: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dossier,
    CheckIn,
}

fn endpoint(name: &str) -> Option<(Kind, Spec)> {
    Some(match name {
        "guiHoSoXmlQD130" => (Kind::Dossier, Spec::Qd130),
        "guiHoSoXmlQD4750" => (Kind::Dossier, Spec::Qd4750),
        "guiHoSoXmlQD3176" => (Kind::Dossier, Spec::Qd3176),
        "checkInKcbQd130" | "checkInKcbQD130" => (Kind::CheckIn, Spec::Qd130),
        "checkInKcbQd4750" | "checkInKcbQD4750" => (Kind::CheckIn, Spec::Qd4750),
        "checkInKcbQd3176" | "checkInKcbQD3176" => (Kind::CheckIn, Spec::Qd3176),
        _ => return None,
    })
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn submit(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    f: SubmitForm,
) -> Response {
    let started = Instant::now();
    let received_at = now_ms();
    let Some((kind, spec)) = endpoint(&name) else {
        return (
            StatusCode::NOT_FOUND,
            Json(SubmitAnswer::fail("404", "Không có dịch vụ này")),
        )
            .into_response();
    };
    let label = if kind == Kind::Dossier {
        "dossier"
    } else {
        "checkin"
    };
    let answer = handle_submit(&app, kind, spec, &headers, f, received_at).await;
    app.metrics
        .request(label, &answer.ma_ket_qua, started.elapsed());
    Json(answer).into_response()
}

async fn handle_submit(
    app: &Arc<App>,
    kind: Kind,
    spec: Spec,
    headers: &HeaderMap,
    f: SubmitForm,
    received_at: i64,
) -> SubmitAnswer {
    // Who is sending: a token checked lately is not read again (see `http::tokens`).
    let (access, id, pw) = (
        header(headers, "accessToken"),
        header(headers, "tokenId"),
        header(headers, "passwordHash"),
    );
    let account = match app.gateway_tokens.get(access, id, pw, now_ms()) {
        Some(a) => a,
        None => {
            let store = app.store.clone();
            let (a, i, p) = (access.to_string(), id.to_string(), pw.to_string());
            match tokio::task::spawn_blocking(move || store.check_token(&a, &i, &p, now_ms())).await
            {
                Ok(Ok(Some(a))) => {
                    app.gateway_tokens.checked(access, id, pw, &a, now_ms());
                    a
                }
                Ok(Ok(None)) => {
                    return SubmitAnswer::fail("401", "Token không hợp lệ hoặc đã hết hạn");
                }
                _ => return SubmitAnswer::fail("500", "Lỗi hệ thống, vui lòng gửi lại"),
            }
        }
    };
    if account.username != f.username {
        return SubmitAnswer::fail("401", "Tên đăng nhập không khớp với token");
    }
    // A gateway account is the facility's submitter: it sends for its own facility only.
    let submitter = book::access::Principal::Staff {
        username: account.username.clone(),
        role: book::access::Role::Submitter,
        scope: book::access::Place {
            facility: Some(account.facility.clone()),
            ..Default::default()
        },
    };
    let action = book::access::Action::SubmitDossier {
        facility: &f.ma_cskcb,
    };
    if book::access::authorize(&submitter, &action).is_err() {
        return SubmitAnswer::fail(
            "403",
            &format!(
                "Tài khoản {} chỉ được gửi hồ sơ của cơ sở {}",
                account.username, account.facility
            ),
        );
    }
    // loaiHoSo ("130" or "0") and maTinh are part of the egw form; the endpoint and
    // the file say the same more precisely, so they are accepted as sent.
    let _ = (&f.loai_ho_so, &f.ma_tinh);
    // Parse, validate, project and compress off the async threads.
    let limits = app.config.limits.clone();
    let meta = Meta {
        facility: account.facility.clone(),
        account: account.username.clone(),
        source: Source::Gateway,
        spec,
        received_at,
    };
    let b64 = f.file_hs_base64;
    // Large parses take their size's worth of a budget: a few at once, never dozens.
    let budget = app.config.parse_budget_mb.max(1);
    let mb = ((b64.len() >> 20) as u32 + 1).min(budget);
    let Ok(parsing) = app.parse_budget.clone().acquire_many_owned(mb).await else {
        return SubmitAnswer::fail("503", "Hệ thống đang bận, vui lòng gửi lại");
    };
    let checker = Signatures {
        store: app.store.clone(),
        verifier: app.config.signature_verifier.clone(),
        policy: app.config.signature_policy,
    };
    // One blocking task parses, then queues for the writer and waits for the commit
    // (the parse budget is given back before the wait).
    let store = app.store.clone();
    let done = tokio::task::spawn_blocking(move || {
        let prepared = prepare(kind, spec, meta, &b64, limits, &checker);
        drop(parsing);
        drop(b64);
        let findings = prepared.findings.clone();
        let refused = prepared.refused;
        (findings, refused, store.ingest(prepared))
    })
    .await;
    let Ok((findings, refused, receipt)) = done else {
        return SubmitAnswer::fail("500", "Lỗi hệ thống, vui lòng gửi lại");
    };
    // A file that is not the sender's own is refused whole (403), as before; a HOSO whose
    // tables name another facility is refused on its own (a finding).
    // (An envelope that names no facility is refused as invalid: 400 with
    // GATEWAY.MACSKCB.missing.)
    let foreign = findings
        .iter()
        .any(|f| f.location.hoso.is_none() && f.code == "GATEWAY.MACSKCB.forbidden")
        || (kind == Kind::CheckIn
            && findings
                .iter()
                .any(|f| f.code == "GATEWAY.MA_CSKCB.forbidden"));
    let receipt = match receipt {
        Ok(r) => r,
        _ => {
            return SubmitAnswer::fail(
                "500",
                "Lỗi lưu trữ, hồ sơ chưa được tiếp nhận, vui lòng gửi lại",
            );
        }
    };
    let durable = now_ms();
    app.metrics.ingested(
        label_of(kind),
        spec,
        receipt.accepted,
        &findings,
        durable - received_at,
    );
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
    let n_errors: u64 = errors.iter().map(|f| f.weight()).sum();
    // What was stored, exactly: the episodes linked (a HOSO refused on its own is not).
    let stored = if kind == Kind::Dossier {
        receipt.episodes.len()
    } else {
        receipt.checkins
    };
    let (code, message) = if foreign {
        (
            "403",
            format!(
                "Hồ sơ không phải của cơ sở {}: không được tiếp nhận",
                account.facility
            ),
        )
    } else if receipt.accepted {
        ("200", format!("Tiếp nhận thành công {stored} hồ sơ"))
    } else {
        let shown: Vec<String> = errors
            .iter()
            .take(20)
            .map(|f| format!("[{}] {}", f.code, f.message_vi))
            .collect();
        let head = if stored > 0 {
            format!("Tiếp nhận {stored} hồ sơ, từ chối {refused} hồ sơ")
        } else {
            "Hồ sơ không hợp lệ, không hồ sơ nào được tiếp nhận".to_string()
        };
        (
            "400",
            format!(
                "{head}; {n_errors} lỗi: {}{}",
                shown.join("; "),
                if errors.len() > 20 { "; …" } else { "" }
            ),
        )
    };
    tracing::info!(
        facility = %account.facility,
        transaction = %receipt.transaction_code,
        result = code,
        episodes = receipt.episodes.len(),
        errors = n_errors,
        "submission"
    );
    SubmitAnswer {
        ma_ket_qua: code.into(),
        ma_giao_dich: Some(receipt.transaction_code),
        thoi_gian_tiep_nhan: Some(vn_time(received_at)),
        thong_diep: message,
        so_ho_so_da_luu: Some(stored),
        so_ho_so_tu_choi: Some(refused),
        ds_loi: findings,
    }
}

fn label_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Dossier => "dossier",
        Kind::CheckIn => "checkin",
    }
}

/// Decode, parse, validate and prepare one submission (the sender rules included, see
/// [`store::sender_findings`]).
fn prepare(
    kind: Kind,
    spec: Spec,
    meta: Meta,
    b64: &str,
    limits: Limits,
    signatures: &Signatures,
) -> Prepared {
    let engine = &base64::engine::general_purpose::STANDARD;
    // Base64 longer than the largest file allowed (with room for line breaks) is not
    // decoded at all: its hash, size and first kilobytes are kept as evidence.
    let most = limits.max_file_bytes / 3 * 4 + limits.max_file_bytes / 38 + 8;
    if b64.len() > most {
        let f = vec![
            Finding::error(
                "GATEWAY.fileHSBase64.size",
                format!(
                    "fileHSBase64 dài {} byte, vượt giới hạn của tệp {} byte",
                    b64.len(),
                    limits.max_file_bytes
                ),
                format!(
                    "fileHSBase64 is {} bytes long, past the file limit of {} bytes",
                    b64.len(),
                    limits.max_file_bytes
                ),
            )
            .value(&b64.len().to_string()),
        ];
        return Prepared::unreadable(meta, b64.as_bytes(), &f);
    }
    let opts = Options { spec, limits };
    // Decode as sent; strip line breaks only when that fails (some clients wrap).
    let decoded = engine.decode(b64.as_bytes()).or_else(|e| {
        if b64.bytes().any(|b| b.is_ascii_whitespace()) {
            let compact: Vec<u8> = b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            engine.decode(compact)
        } else {
            Err(e)
        }
    });
    let raw = match decoded {
        Ok(b) => b,
        Err(e) => {
            let f = vec![Finding::error(
                "GATEWAY.fileHSBase64.base64",
                format!("fileHSBase64 không phải base64 hợp lệ: {e}"),
                format!("fileHSBase64 is not valid base64: {e}"),
            )];
            return Prepared::unreadable(meta, b64.as_bytes(), &f);
        }
    };
    let (note, finding) = signatures.check(&meta, &raw);
    let mut prepared = match kind {
        Kind::Dossier => {
            let mut parsed = dossier::parse_envelope(&raw, &opts);
            parsed.findings.extend(finding);
            Prepared::envelope(meta, &raw, &parsed)
        }
        Kind::CheckIn => {
            let mut parsed = dossier::parse_checkin(&raw, &opts);
            parsed.findings.extend(finding);
            Prepared::checkin(meta, &raw, &parsed)
        }
    };
    prepared.signature = note;
    prepared
}

/// A facility's registration of the certificate in `pem` (PEM or DER; the first
/// certificate), made now by `by`.
pub fn facility_cert(
    facility: &str,
    pem: &[u8],
    by: &str,
) -> Result<store::FacilityCert, sign::SignError> {
    let der = sign::certs_from_pem(pem)?.remove(0);
    let info = sign::CertInfo::from_der(&der)?;
    Ok(store::FacilityCert {
        facility: facility.to_string(),
        fingerprint: info.fingerprint,
        subject: info.subject,
        issuer: info.issuer,
        serial: info.serial,
        not_before: info.not_before,
        not_after: info.not_after,
        der,
        added_at: store::now_ms(),
        added_by: by.to_string(),
        revoked_at: None,
        revoked_by: None,
    })
}

/// The facility-signature check of a submission: the verifier, the deployment's
/// policy and the store that holds each facility's registered certificates.
pub struct Signatures {
    pub store: Arc<dyn Store>,
    pub verifier: sign::Verifier,
    pub policy: sign::Policy,
}

impl Signatures {
    /// The verdict to store (none under `off`) and the finding the policy gives, on
    /// the bytes as received. A failure to read the registrations counts as none
    /// registered (the verdict then says so; nothing is accepted on a guess).
    pub fn check(
        &self,
        meta: &Meta,
        raw: &[u8],
    ) -> (Option<store::SignatureNote>, Option<Finding>) {
        if self.policy == sign::Policy::Off {
            return (None, None);
        }
        let mut verdict = self.verifier.verify(raw, meta.received_at);
        // The registrations are read only for a signature that holds.
        if verdict.status.is_verified() {
            let registered: Vec<sign::Registration> = self
                .store
                .facility_certs(Some(&meta.facility))
                .unwrap_or_default()
                .into_iter()
                .map(|c| sign::Registration {
                    fingerprint: c.fingerprint,
                    revoked_at: c.revoked_at,
                })
                .collect();
            verdict = sign::bind(verdict, &registered, meta.received_at);
        }
        let finding = sign::finding(&verdict, self.policy);
        let note = store::SignatureNote {
            status: verdict.status.code().to_string(),
            signer: verdict.cert.map(|c| c.fingerprint),
        };
        (Some(note), finding)
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.ping()).await {
        Ok(Ok(_)) => Json(serde_json::json!({"status": "ok"})).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "store unavailable"})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    /// Every API route the router serves is in the OpenAPI document, and nothing else.
    #[test]
    fn openapi_lists_every_api_route() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        let documented: std::collections::BTreeSet<String> =
            doc["paths"].as_object().unwrap().keys().cloned().collect();
        let mut served = std::collections::BTreeSet::new();
        for src in [
            include_str!("lib.rs"),
            include_str!("citizen.rs"),
            include_str!("staff.rs"),
            include_str!("reports.rs"),
            include_str!("records.rs"),
            include_str!("vaccinations.rs"),
            include_str!("deltas.rs"),
            include_str!("lookup.rs"),
        ] {
            for part in src.split(".route(").skip(1) {
                let path = part.trim_start().trim_start_matches('"');
                let path = &path[..path.find('"').unwrap()];
                if path.starts_with("/api/qd130/") {
                    // One route serves the six egw endpoints, each documented by name.
                    continue;
                }
                // The API, and the service's own endpoints; web pages are not API.
                if path.starts_with("/api/") || path == "/healthz" || path == "/metrics" {
                    served.insert(path.to_string());
                }
            }
        }
        let missing: Vec<_> = served.difference(&documented).collect();
        assert!(missing.is_empty(), "not in openapi.json: {missing:?}");
        let stale: Vec<_> = documented
            .iter()
            .filter(|p| !p.starts_with("/api/qd130/") && !served.contains(*p))
            .collect();
        assert!(stale.is_empty(), "documented but not served: {stale:?}");
    }
}
