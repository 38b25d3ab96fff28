//! Store commands: `serve`, `import`, `facility`, `account`, `book`, `person`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use book::IdKind;
use dossier::{Checked, Options, Spec};
use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};
use rayon::prelude::*;
use serde::Deserialize;
use store::{Facility, Meta, Prepared, Source, Store, now_ms};

/// Where the store lives.
#[derive(clap::Args, Clone, Debug)]
pub struct DbArg {
    /// The store: a SQLite file (created if missing), or a PostgreSQL database
    /// (`postgres://user@host/db`; its server secret file is HEALTHBOOK_SECRET_FILE,
    /// else ./healthbook.secret).
    #[arg(long, env = "HEALTHBOOK_DB", default_value = "healthbook.db")]
    pub db: String,
}

impl DbArg {
    /// Where the store is, for messages (a PostgreSQL URL without its password).
    pub fn shown(&self) -> String {
        if store::is_postgres(&self.db) {
            match self.db.split_once('@') {
                Some((head, tail)) if head.contains(':') && head.matches(':').count() > 1 => {
                    let user = head.rsplit_once(':').map_or(head, |(u, _)| u);
                    format!("{user}:…@{tail}")
                }
                _ => self.db.clone(),
            }
        } else {
            self.db.clone()
        }
    }

    pub fn open(&self) -> Result<Arc<dyn Store>> {
        let store =
            store::open(&self.db).with_context(|| format!("opening store {}", self.shown()))?;
        // The audit chain's key lives outside the database (see docs/OPERATIONS.md).
        if let Some(path) = std::env::var_os("HEALTHBOOK_AUDIT_KEY_FILE") {
            let key = std::fs::read(&path)
                .with_context(|| format!("reading the audit key {}", Path::new(&path).display()))?;
            if key.len() < 32 {
                bail!("the audit key must be at least 32 bytes");
            }
            store.set_audit_key(key);
        }
        Ok(store)
    }
}

/// Upper-case MD5 hex, the password form of the egw API.
pub fn md5_upper(password: &str) -> String {
    hex_upper(&Md5::digest(password.as_bytes()))
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

// ---------------------------------------------------------------- serve

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on.
    #[arg(long, env = "HEALTHBOOK_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// TOML file with `db`, `listen`, `token_ttl_secs`, `max_body_bytes`,
    /// `request_timeout_secs`, `public_url`, `export_dir`; flags and environment variables
    /// win over it.
    #[arg(long, env = "HEALTHBOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Public base URL that FHIR links are made from (e.g. https://sskd.example.vn);
    /// without it, the request's Host header.
    #[arg(long, env = "HEALTHBOOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory for the files of FHIR bulk exports (`$export`), kept 24 hours; default
    /// `<db>.exports` beside the store.
    #[arg(long, env = "HEALTHBOOK_EXPORT_DIR")]
    pub export_dir: Option<PathBuf>,
    /// Serve `/metrics` with this bearer token (without it and without
    /// `--metrics-listen`, only clients on this machine read `/metrics`).
    #[arg(long, env = "HEALTHBOOK_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on this address only (e.g. a private interface), not on `--listen`.
    #[arg(long, env = "HEALTHBOOK_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Append-only file of audit checkpoints (see docs/OPERATIONS.md); one is written at
    /// start and every `--audit-checkpoint-secs`.
    #[arg(long, env = "HEALTHBOOK_AUDIT_CHECKPOINT_FILE")]
    pub audit_checkpoints: Option<PathBuf>,
    /// Seconds between audit checkpoints.
    #[arg(long, env = "HEALTHBOOK_AUDIT_CHECKPOINT_SECS")]
    pub audit_checkpoint_secs: Option<u64>,
    /// A reverse proxy whose `X-Forwarded-For` names the client (repeat, or separate
    /// with commas in the variable); sign-in throttling is per client address.
    #[arg(
        long = "trusted-proxy",
        env = "HEALTHBOOK_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// What a facility signature (CHUKYDONVI) verdict does: `off` (not checked),
    /// `warn` (checked, recorded, a warning when it does not hold; the default) or
    /// `require` (only a verified signature of a registered certificate is accepted).
    #[arg(long, env = "HEALTHBOOK_SIGNATURE_POLICY")]
    pub signature_policy: Option<sign::Policy>,
    /// PEM file of the trust anchors facility certificates must chain to (e.g. the
    /// national root CA); without it a certificate is trusted by its registration.
    #[arg(long, env = "HEALTHBOOK_TRUST_ANCHORS")]
    pub trust_anchors: Option<PathBuf>,
}

/// The signature verifier with the trust anchors of a PEM file, or none.
pub fn verifier(trust_anchors: Option<&Path>) -> Result<sign::Verifier> {
    let Some(p) = trust_anchors else {
        return Ok(sign::Verifier::default());
    };
    let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    sign::Verifier::from_pem(&pem).with_context(|| format!("trust anchors {}", p.display()))
}

/// Where bulk export files go when nothing says: beside a SQLite store, or
/// `healthbook.exports` in the working directory for a PostgreSQL one.
pub fn default_export_dir(db: &str) -> PathBuf {
    if store::is_postgres(db) {
        PathBuf::from("healthbook.exports")
    } else {
        Path::new(db).with_extension("exports")
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<String>,
    listen: Option<SocketAddr>,
    token_ttl_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    public_url: Option<String>,
    export_dir: Option<PathBuf>,
    metrics_token: Option<String>,
    metrics_listen: Option<SocketAddr>,
    audit_checkpoint_file: Option<PathBuf>,
    audit_checkpoint_secs: Option<u64>,
    #[serde(default)]
    trusted_proxies: Vec<std::net::IpAddr>,
    signature_policy: Option<String>,
    trust_anchors: Option<PathBuf>,
    /// Reminders: scan interval and outside channels (issue 18, `notify::Settings`).
    notify: Option<notify::Settings>,
}

/// The `[notify]` table of a serve configuration file (none: defaults).
pub fn notify_settings(config: Option<&Path>) -> Result<notify::Settings> {
    let Some(p) = config else {
        return Ok(notify::Settings::default());
    };
    let file: FileConfig = toml::from_str(
        &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
    )
    .with_context(|| format!("parsing {}", p.display()))?;
    Ok(file.notify.unwrap_or_default())
}

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEALTHBOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn serve(a: ServeArgs) -> Result<()> {
    init_logs();
    let file: FileConfig = match &a.config {
        Some(p) => toml::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("parsing {}", p.display()))?,
        None => FileConfig::default(),
    };
    let db_from_flag = std::env::args().any(|x| x == "--db" || x.starts_with("--db="))
        || std::env::var_os("HEALTHBOOK_DB").is_some();
    let db = if db_from_flag {
        a.db.db.clone()
    } else {
        file.db.clone().unwrap_or(a.db.db.clone())
    };
    let listen = a
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut cfg = server::Config::default();
    if let Some(s) = file.token_ttl_secs {
        cfg.token_ttl = std::time::Duration::from_secs(s);
    }
    if let Some(b) = file.max_body_bytes {
        cfg.max_body_bytes = b;
    }
    if let Some(s) = file.request_timeout_secs {
        cfg.request_timeout = std::time::Duration::from_secs(s);
    }
    cfg.public_url = a.public_url.clone().or(file.public_url.clone());
    if let Some(u) = &cfg.public_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        anyhow::bail!("public_url: cần dạng https://tên-miền, nhận \"{u}\"");
    }
    cfg.export_dir = Some(
        a.export_dir
            .clone()
            .or(file.export_dir.clone())
            .unwrap_or_else(|| default_export_dir(&db)),
    );
    let metrics_listen = a.metrics_listen.or(file.metrics_listen);
    cfg.metrics = match (
        a.metrics_token.clone().or(file.metrics_token.clone()),
        metrics_listen,
    ) {
        (_, Some(_)) => server::MetricsAccess::Separate,
        (Some(t), None) if t.len() >= 16 => server::MetricsAccess::Token(t),
        (Some(_), None) => bail!("metrics_token: cần ít nhất 16 ký tự / at least 16 characters"),
        (None, None) => server::MetricsAccess::Loopback,
    };
    if let Some(f) = a
        .audit_checkpoints
        .clone()
        .or(file.audit_checkpoint_file.clone())
    {
        let secs = a
            .audit_checkpoint_secs
            .or(file.audit_checkpoint_secs)
            .unwrap_or(600)
            .max(1);
        cfg.audit_checkpoints = Some((f, std::time::Duration::from_secs(secs)));
    }
    cfg.trusted_proxies = if a.trusted_proxies.is_empty() {
        file.trusted_proxies.clone()
    } else {
        a.trusted_proxies.clone()
    };
    cfg.signature_policy = match (a.signature_policy, &file.signature_policy) {
        (Some(p), _) => p,
        (None, Some(p)) => p
            .parse()
            .map_err(|e: String| anyhow::anyhow!("signature_policy: {e}"))?,
        (None, None) => sign::Policy::default(),
    };
    cfg.signature_verifier =
        verifier(a.trust_anchors.as_deref().or(file.trust_anchors.as_deref()))?;
    cfg.notify = file.notify.clone().unwrap_or_default();
    cfg.notify.scan_interval_secs.get_or_insert(3600);
    if cfg.notify.public_url.is_none() {
        cfg.notify.public_url = cfg.public_url.clone();
    }
    cfg.notify
        .channels()
        .map_err(|e| anyhow::anyhow!("notify: {e}"))?;
    let db = DbArg { db };
    let store: Arc<dyn Store> = db.open()?;
    eprintln!(
        "healthbook: chữ ký số cơ sở: {} ({} trust anchor(s))",
        cfg.signature_policy.code(),
        cfg.signature_verifier.anchors()
    );
    run_server(store, cfg, listen, metrics_listen, |addr| {
        eprintln!(
            "healthbook: cổng tiếp nhận tại http://{addr} (store {})",
            db.shown()
        );
    })
}

/// Run the HTTP server until Ctrl-C.
pub fn run_server(
    store: Arc<dyn Store>,
    cfg: server::Config,
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        ready(listener.local_addr()?);
        let app = server::App::new(store, cfg);
        if let Some(addr) = metrics_listen {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (metrics)"))?;
            eprintln!("healthbook: /metrics tại http://{addr}/metrics");
            let router = server::metrics_router(app.clone());
            tokio::spawn(async move { axum_serve(l, router).await });
        }
        server::serve(listener, app, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}

async fn axum_serve(l: tokio::net::TcpListener, router: server::Router) {
    if let Err(e) = server::serve_router(l, router).await {
        eprintln!("healthbook: /metrics listener stopped: {e}");
    }
}

// ---------------------------------------------------------------- import

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Envelope and check-in files, or directories searched for *.xml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, default_value = "3176", value_parser = |s: &str| s.parse::<Spec>())]
    pub spec: Spec,
    /// What a facility signature's verdict does, as for `serve`: off, warn (default),
    /// require. A file's facility is the one it names.
    #[arg(long, env = "HEALTHBOOK_SIGNATURE_POLICY", default_value = "warn")]
    pub signature_policy: sign::Policy,
    /// PEM file of trust anchors facility certificates must chain to.
    #[arg(long, env = "HEALTHBOOK_TRUST_ANCHORS")]
    pub trust_anchors: Option<PathBuf>,
}

#[derive(Default, Debug)]
pub struct ImportSummary {
    pub files: usize,
    pub already: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub episodes: usize,
}

/// Files named, and the *.xml files of the directories named (recursively).
pub fn collect_xml(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(p)? {
            let p = e?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("{} không tồn tại / does not exist", p.display());
        }
    }
    out.sort();
    Ok(out)
}

/// Import files with the gateway's validation and linking. Re-running skips what
/// is already stored (same bytes).
pub fn import_files(
    store: &dyn Store,
    files: &[PathBuf],
    spec: Spec,
    show_progress: bool,
    signatures: &server::Signatures,
) -> Result<ImportSummary> {
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tệp ({per_sec}, còn {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !show_progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let opts = Options::spec(spec);
    let already = AtomicUsize::new(0);
    // Parse, validate and project on every core; the writer commits in batches
    // behind them. Receipts are awaited by a collector thread, through a bounded
    // queue, so memory stays flat however many files there are.
    let (pending_tx, pending_rx) = std::sync::mpsc::sync_channel::<store::Pending>(4_096);
    let collector = std::thread::spawn(move || -> Result<(usize, usize, usize)> {
        let (mut accepted, mut rejected, mut episodes) = (0, 0, 0);
        for p in pending_rx {
            let r = p.wait()?;
            if r.accepted {
                accepted += 1;
            } else {
                rejected += 1;
            }
            episodes += r.episodes.iter().filter(|e| !e.unchanged).count();
        }
        Ok((accepted, rejected, episodes))
    });
    // Files go in chunks: one read of the store tells which of a chunk's files were
    // already received (a round trip each would cost a server more than the check).
    let queued =
        files
            .par_chunks(64)
            .try_for_each_with(pending_tx, |pending_tx, chunk| -> Result<()> {
                let mut read = Vec::with_capacity(chunk.len());
                for path in chunk {
                    let raw = std::fs::read(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let digest = store::sha256_hex(&raw);
                    read.push((raw, digest));
                }
                let digests: Vec<String> = read.iter().map(|(_, d)| d.clone()).collect();
                let mut seen = store.received_digests(&digests)?;
                for (raw, digest) in read {
                    bar.inc(1);
                    // Stored before, or the same bytes twice in this chunk.
                    if !seen.insert(digest.clone()) {
                        already.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let received_at = now_ms();
                    let meta = |facility: String| Meta {
                        facility,
                        account: "import".into(),
                        source: Source::Import,
                        spec,
                        received_at,
                    };
                    let prepared = match dossier::check(&raw, &opts) {
                        Checked::Envelope(mut p) => {
                            let m = meta(p.value.facility.clone());
                            let (note, finding) = signatures.check(&m, &raw);
                            p.findings.extend(finding);
                            let mut prepared = Prepared::envelope_hashed(m, &raw, digest, &p);
                            prepared.signature = note;
                            prepared
                        }
                        Checked::CheckIn(mut p) => {
                            let f = p
                                .value
                                .rows
                                .first()
                                .and_then(|r| r.ma_cskcb.clone())
                                .unwrap_or_default();
                            let m = meta(f);
                            let (note, finding) = signatures.check(&m, &raw);
                            p.findings.extend(finding);
                            let mut prepared = Prepared::checkin(m, &raw, &p);
                            prepared.signature = note;
                            prepared
                        }
                        other => Prepared::unreadable(meta(String::new()), &raw, other.findings()),
                    };
                    pending_tx
                        .send(store.submit(prepared)?)
                        .map_err(|_| anyhow::anyhow!("the receipt collector stopped"))?;
                }
                Ok(())
            });
    let collected = collector
        .join()
        .map_err(|_| anyhow::anyhow!("the receipt collector panicked"))?;
    queued?;
    let (accepted, rejected, episodes) = collected?;
    bar.finish_and_clear();
    Ok(ImportSummary {
        files: files.len(),
        already: already.into_inner(),
        accepted,
        rejected,
        episodes,
    })
}

pub fn import(a: ImportArgs) -> Result<()> {
    let store = a.db.open()?;
    let files = collect_xml(&a.paths)?;
    let t = std::time::Instant::now();
    let signatures = server::Signatures {
        store: store.clone(),
        verifier: verifier(a.trust_anchors.as_deref())?,
        policy: a.signature_policy,
    };
    let s = import_files(
        &*store,
        &files,
        a.spec,
        std::io::stderr().is_terminal(),
        &signatures,
    )?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "Nhập {} tệp trong {secs:.1} s ({:.0} tệp/s): {} đã có từ trước, {} tiếp nhận, {} bị từ chối; {} lượt khám mới hoặc sửa đổi",
        s.files,
        (s.files - s.already) as f64 / secs.max(1e-9),
        s.already,
        s.accepted,
        s.rejected,
        s.episodes
    );
    println!(
        "Imported {} files in {secs:.1} s: {} already there, {} accepted, {} rejected; {} new or corrected episodes",
        s.files, s.already, s.accepted, s.rejected, s.episodes
    );
    Ok(())
}

// ---------------------------------------------------------------- facility / account

#[derive(clap::Subcommand)]
pub enum FacilityCmd {
    /// Register or update one facility.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// 5-digit facility code (MA_CSKCB).
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// 2-digit province code.
        #[arg(long, default_value = "")]
        province: String,
        /// hospital | district_health_centre | polyclinic | commune_station | private_clinic
        #[arg(long, default_value = "hospital")]
        kind: String,
        /// The facility has no BHYT contract.
        #[arg(long)]
        no_bhyt: bool,
        /// The commune (or district) unit code where the facility is.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Import facilities from CSV with a header line: code,name,province,kind,bhyt_contract,unit.
    /// Every line is checked first; then all are saved, or none.
    Import {
        #[command(flatten)]
        db: DbArg,
        csv: PathBuf,
    },
    /// The certificates a facility signs its dossiers with (CHUKYDONVI).
    #[command(subcommand)]
    Cert(CertCmd),
}

#[derive(clap::Subcommand)]
pub enum CertCmd {
    /// Register a certificate (PEM or DER) for a facility.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// 5-digit facility code (MA_CSKCB).
        #[arg(long)]
        facility: String,
        /// Who registers it (kept with the registration).
        #[arg(long, default_value = "cli")]
        by: String,
        cert: PathBuf,
    },
    /// List registered certificates (of one facility, or all).
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        facility: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a facility's registration of a certificate: its signatures stop counting
    /// from now on (earlier receipts keep their verdict).
    Revoke {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        facility: String,
        /// The certificate's SHA-256 fingerprint (hex, as `list` shows it).
        #[arg(long)]
        fingerprint: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn cert(cmd: CertCmd) -> Result<()> {
    match cmd {
        CertCmd::Add {
            db,
            facility,
            by,
            cert,
        } => {
            let pem =
                std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))?;
            let c = server::facility_cert(&facility, &pem, &by)
                .with_context(|| cert.display().to_string())?;
            let s = db.open()?;
            let new = s.add_facility_cert(&c)?;
            println!(
                "{} chứng thư số {} cho cơ sở {facility}\n  subject: {}\n  hiệu lực / valid: {} – {}",
                if new { "Đã đăng ký" } else { "Đã có" },
                c.fingerprint,
                c.subject,
                day(c.not_before),
                day(c.not_after)
            );
        }
        CertCmd::List { db, facility, json } => {
            let s = db.open()?;
            let list = s.facility_certs(facility.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("facility\tfingerprint\tvalid\tstatus\tsubject");
                for c in &list {
                    let status = match c.revoked_at {
                        Some(t) => format!("revoked {}", day(t)),
                        None => "active".into(),
                    };
                    println!(
                        "{}\t{}\t{}..{}\t{status}\t{}",
                        c.facility,
                        c.fingerprint,
                        day(c.not_before),
                        day(c.not_after),
                        c.subject
                    );
                }
            }
        }
        CertCmd::Revoke {
            db,
            facility,
            fingerprint,
            by,
        } => {
            let s = db.open()?;
            if s.revoke_facility_cert(&facility, &fingerprint, &by)? {
                println!("Đã thu hồi đăng ký {fingerprint} của cơ sở {facility}");
            } else {
                bail!(
                    "không có đăng ký còn hiệu lực {fingerprint} của cơ sở {facility} / no live registration"
                );
            }
        }
    }
    Ok(())
}

pub fn facility(cmd: FacilityCmd) -> Result<()> {
    match cmd {
        FacilityCmd::Add {
            db,
            code,
            name,
            province,
            kind,
            no_bhyt,
            unit,
        } => {
            let s = db.open()?;
            s.upsert_facility(&Facility {
                code: code.clone(),
                name,
                province,
                kind,
                bhyt_contract: !no_bhyt,
                unit,
            })?;
            println!("Đã lưu cơ sở {code}");
        }
        FacilityCmd::Import { db, csv } => {
            let s = db.open()?;
            let bytes =
                std::fs::read(&csv).with_context(|| format!("reading {}", csv.display()))?;
            let rows = server::registry::parse_facilities(&bytes)
                .with_context(|| csv.display().to_string())?;
            let list: Vec<Facility> = rows.into_iter().map(|(_, f)| f).collect();
            let n = s
                .import_facilities(&list)
                .with_context(|| format!("{}: nothing imported", csv.display()))?;
            println!("Đã nhập {n} cơ sở / imported {n} facilities");
        }
        FacilityCmd::Cert(c) => cert(c)?,
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum AccountCmd {
    /// Create or reset a facility's gateway account.
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: String,
        #[arg(long)]
        facility: String,
        /// The password (stored as argon2 over its upper-case MD5, as the protocol sends it).
        #[arg(long, env = "HEALTHBOOK_ACCOUNT_PASSWORD")]
        password: String,
    },
}

pub fn account(cmd: AccountCmd) -> Result<()> {
    match cmd {
        AccountCmd::Add {
            db,
            username,
            facility,
            password,
        } => {
            let s = db.open()?;
            s.upsert_account(&username, &facility, &md5_upper(&password))?;
            println!("Đã lưu tài khoản {username} của cơ sở {facility}");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- book / person

#[derive(clap::Args)]
pub struct BookArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// 12-digit personal ID.
    #[arg(long, group = "who")]
    pub personal_id: Option<String>,
    /// BHYT card number or 10-digit BHXH number.
    #[arg(long, group = "who")]
    pub card: Option<String>,
    /// Internal person id.
    #[arg(long, group = "who")]
    pub person: Option<i64>,
    /// Also print every version of each episode.
    #[arg(long)]
    pub versions: bool,
}

/// Print a person's book as JSON (person, current episodes, optionally all versions).
pub fn book(a: BookArgs) -> Result<()> {
    let s = a.db.open()?;
    let person = if let Some(p) = &a.personal_id {
        s.person_by_identifier(IdKind::PersonalId, p)?
    } else if let Some(c) = &a.card {
        let kind = if c.len() == 15 {
            IdKind::BhytCard
        } else {
            IdKind::Bhxh
        };
        s.person_by_identifier(kind, c)?
    } else if let Some(id) = a.person {
        s.person(id)?
    } else {
        bail!("cần --personal-id, --card hoặc --person / give --personal-id, --card or --person");
    };
    let Some(person) = person else {
        bail!("không tìm thấy người này / no such person")
    };
    let episodes = s.episodes_of(person.id)?;
    let mut versions = Vec::new();
    if a.versions {
        for e in &episodes {
            versions.push(s.episode_versions(&e.facility, &e.ma_lk)?);
        }
    }
    let doc = serde_json::json!({"person": person, "episodes": episodes, "versions": versions});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum PersonCmd {
    /// Merge person FROM into person INTO (history kept; FROM marked merged).
    Merge {
        #[command(flatten)]
        db: DbArg,
        from: i64,
        into: i64,
        #[arg(long)]
        reason: String,
    },
    /// Move episodes of a person to a new person.
    Split {
        #[command(flatten)]
        db: DbArg,
        person: i64,
        #[arg(long, value_delimiter = ',', required = true)]
        episodes: Vec<i64>,
        #[arg(long)]
        reason: String,
    },
    /// List open data-quality issues (identity conflicts, low-confidence links).
    Issues {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

pub fn person(cmd: PersonCmd) -> Result<()> {
    match cmd {
        PersonCmd::Merge {
            db,
            from,
            into,
            reason,
        } => {
            db.open()?.merge_persons(from, into, &reason)?;
            println!("Đã gộp {from} vào {into}");
        }
        PersonCmd::Split {
            db,
            person,
            episodes,
            reason,
        } => {
            let new = db.open()?.split_person(person, &episodes, &reason)?;
            println!("Đã tách sang người mới {new}");
        }
        PersonCmd::Issues { db, limit } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&db.open()?.dq_issues(limit)?)?
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- citizen

#[derive(clap::Subcommand)]
pub enum CitizenCmd {
    /// Issue a one-time activation code for a person's account (what a facility or
    /// commune station hands the person; stands in for VNeID level-2 activation).
    Code {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        personal_id: String,
        /// Who hands the code out (facility or station code, staff name).
        #[arg(long, default_value = "cli")]
        issued_by: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// Let GUARDIAN open the book of WARD (a child, a designated elder).
    Guardian {
        #[command(flatten)]
        db: DbArg,
        /// Personal ID of the guardian.
        #[arg(long)]
        guardian: String,
        /// Personal ID, BHYT card or BHXH number of the ward.
        #[arg(long)]
        ward: String,
        /// Who granted it (e.g. the commune station that checked the birth certificate).
        #[arg(long)]
        granted_by: String,
        /// Revoke instead of grant.
        #[arg(long)]
        revoke: bool,
    },
}

fn find_person(s: &dyn Store, id: &str) -> Result<store::PersonRecord> {
    let kind = match id.len() {
        15 => IdKind::BhytCard,
        10 => IdKind::Bhxh,
        _ => IdKind::PersonalId,
    };
    s.person_by_identifier(kind, id)?
        .with_context(|| format!("không tìm thấy người có mã {id} / no person with {id}"))
}

pub fn citizen(cmd: CitizenCmd) -> Result<()> {
    match cmd {
        CitizenCmd::Code {
            db,
            personal_id,
            issued_by,
            hours,
        } => {
            let s = db.open()?;
            let p = find_person(&*s, &personal_id)?;
            let code = s.issue_activation_code(p.id, &issued_by, hours * 3_600_000)?;
            println!("Mã kích hoạt cho {personal_id}: {code} (dùng một lần, hiệu lực {hours} giờ)");
        }
        CitizenCmd::Guardian {
            db,
            guardian,
            ward,
            granted_by,
            revoke,
        } => {
            let s = db.open()?;
            let g = find_person(&*s, &guardian)?;
            let w = find_person(&*s, &ward)?;
            if revoke {
                s.revoke_guardian(g.id, w.id)?;
                println!("Đã thu hồi quyền giám hộ");
            } else {
                s.grant_guardian(g.id, w.id, &granted_by)?;
                println!("{guardian} được mở sổ của {ward} (cấp bởi {granted_by})");
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- store copy

#[derive(clap::Subcommand)]
pub enum StoreCmd {
    /// Copy a whole store into a new, empty one, of either backend (a SQLite file to
    /// PostgreSQL, or back): every row as stored, envelopes byte for byte, audit chains
    /// with their hashes; one transaction on the destination; counts checked before it
    /// commits and printed after, and the audit chains verified. Stop the source's
    /// servers first. The source's server secret file is copied beside the destination
    /// (codes issued before still verify); HEALTHBOOK_AUDIT_KEY_FILE keys both.
    Copy {
        /// The store to copy: a SQLite file or postgres://…
        #[arg(long)]
        from: String,
        /// The empty store to copy into: a SQLite file or postgres://…
        #[arg(long)]
        to: String,
    },
}

pub fn store_cmd(c: StoreCmd) -> Result<()> {
    match c {
        StoreCmd::Copy { from, to } => store_copy(&from, &to),
    }
}

fn store_copy(from: &str, to: &str) -> Result<()> {
    let src_arg = DbArg { db: from.into() };
    let dst_arg = DbArg { db: to.into() };
    if !store::is_postgres(from) && !Path::new(from).exists() {
        bail!("không có kho nguồn / no source store: {from}");
    }
    let src = src_arg.open()?;
    // The destination keys its activation and share codes with the source's secret, or
    // no code issued before the copy would verify after it.
    let (src_secret, dst_secret) = (store::secret_file(from), store::secret_file(to));
    let secret = std::fs::read(&src_secret)
        .with_context(|| format!("reading the source's secret {}", src_secret.display()))?;
    match std::fs::read(&dst_secret) {
        Ok(theirs) if theirs == secret => {}
        Ok(_) => bail!(
            "the destination's secret file {} differs from the source's {}: codes issued before would not verify. Move it away, or point HEALTHBOOK_SECRET_FILE elsewhere",
            dst_secret.display(),
            src_secret.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dst_secret)
                .with_context(|| format!("writing {}", dst_secret.display()))?;
            f.write_all(&secret)?;
            f.sync_all()?;
        }
        Err(e) => {
            return Err(e).with_context(|| format!("reading {}", dst_secret.display()));
        }
    }
    let dst = dst_arg.open()?;
    let total: i64 = src.tables()?.iter().map(|t| t.rows).sum();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total.max(0) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} dòng ({per_sec}, còn {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let mut before: u64 = 0;
    let mut current = String::new();
    let mut last: u64 = 0;
    let tables = dst
        .copy_from(src.as_ref(), &mut |table, done| {
            if table != current {
                before += last;
                current = table.to_string();
                bar.set_message(current.clone());
            }
            last = done;
            bar.set_position(before + done);
        })
        .with_context(|| {
            format!(
                "copying {} to {} (nothing was committed)",
                src_arg.shown(),
                dst_arg.shown()
            )
        })?;
    bar.finish_and_clear();
    // Afterwards, from the destination as any later reader sees it.
    let after = dst.tables()?;
    let mut rows = 0;
    println!("{:<24} {:>12} {:>12}", "table", "source", "copied");
    for t in &tables {
        let n = after
            .iter()
            .find(|a| a.name == t.name)
            .map_or(0, |a| a.rows);
        println!("{:<24} {:>12} {:>12}", t.name, t.rows, n);
        if n != t.rows {
            bail!("{}: {} rows in the source, {} copied", t.name, t.rows, n);
        }
        rows += n;
    }
    let audit = dst.verify_audit()?;
    println!(
        "{rows} rows in {} tables copied in {:.1} s; audit chains: {} persons, {} records, {}",
        tables.len(),
        started.elapsed().as_secs_f64(),
        audit.persons,
        audit.records,
        if audit.ok() {
            "intact".to_string()
        } else {
            format!("{} problems", audit.problems.len())
        }
    );
    if !audit.ok() {
        for p in audit.problems.iter().take(20) {
            eprintln!("  {p}");
        }
        bail!("the copied audit chains do not verify");
    }
    dst.close();
    src.close();
    Ok(())
}
