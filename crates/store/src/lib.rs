//! Storage. One trait, [`Store`], with one implementation ([`Engine`]) over two
//! backends: the embedded SQLite file (the default) and PostgreSQL. Open either with
//! [`open`]. Only this crate knows SQL, and within it only the backend folders.
//!
//! Layout: the rules (`core`, `access`, `reports`) are written once against a small
//! transaction interface (`db`: statements named by `sql::Q`, arguments, rows); each
//! backend (`sqlite/`, `postgres/`) gives the SQL of every statement, its migrations,
//! and binds values with its driver. No driver type crosses this crate's public API.
//!
//! Writes go through one writer thread that commits batches (group commit) and
//! answers each submission only after its batch is durable: an acknowledged
//! dossier survives a crash from that moment.

use std::time::{SystemTime, UNIX_EPOCH};

use book::{Claims, Confidence, EpisodeView, IdKind};
use dossier::{CheckIn, Envelope, Finding, Parsed, Spec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod access;
mod chronic;
mod copy;
mod core;
pub mod crypt;
mod db;
mod engine;
mod evidence;
mod immunizations;
mod keys;
mod notify;
pub mod postgres;
mod records;
mod reports;
mod sql;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

pub use access::*;
pub use chronic::*;
pub use copy::{Table, Value};
pub use engine::Engine;
pub use immunizations::*;
pub use keys::{ColumnKeys, DataKeyInfo, KeyStatus};
pub use notify::*;
pub use records::*;
pub use reports::*;
pub use tx::BookTx;

pub use postgres::{PgOptions, PostgresStore};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed (its message, without driver types).
    #[error("database: {0}")]
    Db(String),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused because the data changed or is already taken (a record edited by
    /// someone else meanwhile, a batch id reused with other content).
    #[error("{0}")]
    Conflict(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch (an instant; dossier dates stay wall-clock text).
/// The Vietnam wall clock (UTC+7, no daylight saving) at `ms` since the epoch: how
/// dossiers write times.
pub fn vn_wall_clock(ms: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms + 7 * 3_600_000)
        .unwrap_or_default()
        .naive_utc()
}

/// The Vietnam wall clock now.
pub fn vn_now() -> chrono::NaiveDateTime {
    vn_wall_clock(now_ms())
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Gateway,
    Import,
}

impl Source {
    fn code(self) -> &'static str {
        match self {
            Source::Gateway => "gateway",
            Source::Import => "import",
        }
    }
}

/// Who sent what, and when it arrived.
#[derive(Clone, Debug)]
pub struct Meta {
    pub facility: String,
    pub account: String,
    pub source: Source,
    pub spec: Spec,
    pub received_at: i64,
}

/// One dossier (HOSO) ready to be linked and stored.
#[derive(Clone, Debug)]
pub struct ReadyEpisode {
    pub hoso: usize,
    pub ma_lk: String,
    pub facility: String,
    pub claims: Claims,
    /// `NGAY_VAO` and `NGAY_RA` as the format writes them (`yyyyMMddHHmm`).
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    pub care_type: Option<String>,
    pub main_icd10: Option<String>,
    /// Re-exam appointment time and referral destination, when there are.
    pub appointment_at: Option<String>,
    pub referral_to: Option<String>,
    /// The referral letter's number (`SO_CHUYENTUYEN`), by which the receiving facility opens it.
    pub referral_number: Option<String>,
    /// BHYT-covered, and data-quality flags (`DQ_PERSONAL_ID | DQ_CARD | DQ_ICD`).
    pub insured: bool,
    pub dq_flags: i64,
    /// The projection (`book::EpisodeView`) as stored JSON.
    pub body: String,
    pub content_hash: String,
}

#[derive(Clone, Debug)]
pub enum Payload {
    /// The valid HOSO of an envelope (none when it was rejected whole).
    Dossier(Vec<ReadyEpisode>),
    CheckIn(CheckIn),
}

/// A submission prepared outside the writer: hashed, compressed, projected.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub meta: Meta,
    pub validated_at: i64,
    pub accepted: bool,
    /// Every finding, the parser's and the sender rules' ([`sender_findings`]), at most
    /// [`dossier::Limits::max_findings`] listed one by one and the rest counted per code.
    pub findings: Vec<Finding>,
    /// The same as JSON (stored compressed).
    pub findings_json: String,
    /// HOSO refused on their own while others of the envelope were stored.
    pub refused: usize,
    pub sha256: String,
    pub raw_len: usize,
    /// The file's stored form (compressed; canonical base64 tables decoded first, see
    /// `evidence`).
    pub raw_zstd: Vec<u8>,
    pub payload: Payload,
    /// The verdict on the facility signature (`CHUKYDONVI`), when it was checked.
    pub signature: Option<SignatureNote>,
}

/// What the gateway made of a submission's facility signature: the verdict's stable
/// code (`sign::Status::code`) and the SHA-256 of the signer's certificate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SignatureNote {
    pub status: String,
    pub signer: Option<String>,
}

/// A certificate a facility registered for signing its dossiers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FacilityCert {
    pub facility: String,
    /// SHA-256 of the DER certificate, hex.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Validity, Unix ms.
    pub not_before: i64,
    pub not_after: i64,
    #[serde(skip)]
    pub der: Vec<u8>,
    pub added_at: i64,
    pub added_by: String,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

/// Submissions of one facility with one signature verdict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SignatureCount {
    pub facility: String,
    pub status: String,
    pub count: i64,
}

/// SHA-256 of bytes, lower-case hex (how submissions are identified for idempotency).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// zstd level 1 (stored bodies, findings, and the files of [`evidence`]).
pub(crate) fn compress(raw: &[u8]) -> Vec<u8> {
    // One compression context per thread: creating one per call costs more than
    // compressing a typical envelope.
    thread_local! {
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Compressor::new(1).ok());
    }
    ZSTD.with(|c| match c.borrow_mut().as_mut() {
        Some(c) => c.compress(raw).ok(),
        None => None,
    })
    .unwrap_or_else(|| zstd::bulk::compress(raw, 1).unwrap_or_else(|_| raw.to_vec()))
}

/// What an episode's identifiers and main code are worth for data-quality reports.
fn dq_flags(claims: &Claims, main_icd10: Option<&str>) -> i64 {
    let mut f = 0;
    if claims.get(IdKind::PersonalId).next().is_some() {
        f |= DQ_PERSONAL_ID;
    }
    if claims.get(IdKind::BhytCard).next().is_some() {
        f |= DQ_CARD;
    }
    if main_icd10.is_some_and(dossier::ids::is_icd10) {
        f |= DQ_ICD;
    }
    f
}

impl Prepared {
    /// A dossier envelope and what the parser made of it. Valid HOSO are linked and
    /// shown; the envelope is kept whatever the verdict.
    pub fn envelope(meta: Meta, raw: &[u8], parsed: &Parsed<Envelope>) -> Prepared {
        Self::envelope_hashed(meta, raw, sha256_hex(raw), parsed)
    }

    /// As [`Prepared::envelope`], when the caller already has the SHA-256 of `raw`.
    pub fn envelope_hashed(
        meta: Meta,
        raw: &[u8],
        sha256: String,
        parsed: &Parsed<Envelope>,
    ) -> Prepared {
        let mut findings = parsed.findings.clone();
        findings.extend(sender_findings(&meta.facility, &parsed.value));
        dossier::finding::cap(&mut findings, dossier::Limits::default().max_findings);
        let envelope_bad = findings
            .iter()
            .any(|f| f.is_error() && f.location.hoso.is_none());
        let mut ready = Vec::new();
        let mut refused = 0;
        for (i, d) in parsed.value.dossiers.iter().enumerate() {
            let idx = i + 1;
            let bad = envelope_bad
                || findings
                    .iter()
                    .any(|f| f.is_error() && f.location.hoso == Some(idx));
            let (Some(ma_lk), false, Some(summary)) = (d.ma_lk(), bad, d.summary.as_ref()) else {
                refused += 1;
                continue;
            };
            let ma_lk = ma_lk.to_string();
            // The sender rules above make this the sender's own facility; never store an
            // episode without one.
            if parsed.value.facility.is_empty() || parsed.value.facility != meta.facility {
                refused += 1;
                continue;
            }
            let view = book::project(d, &parsed.value.facility);
            let claims = Claims::from_summary(summary, &parsed.value.facility);
            let body = serde_json::to_string(&view).unwrap_or_default();
            let fmt =
                |d: Option<chrono::NaiveDateTime>| d.map(|d| d.format("%Y%m%d%H%M").to_string());
            ready.push(ReadyEpisode {
                hoso: idx,
                ma_lk: ma_lk.clone(),
                facility: view.facility.clone(),
                claims: claims.clone(),
                start_at: fmt(view.admitted),
                end_at: fmt(view.discharged),
                care_type: view.care_type.clone(),
                main_icd10: view.main_diagnosis.as_ref().map(|d| d.icd10.clone()),
                appointment_at: fmt(view.appointment.as_ref().and_then(|a| a.at)),
                referral_to: view.referral.as_ref().and_then(|r| r.to_facility.clone()),
                referral_number: view.referral.as_ref().and_then(|r| r.number.clone()),
                insured: view.insured,
                dq_flags: dq_flags(
                    &claims,
                    view.main_diagnosis.as_ref().map(|d| d.icd10.as_str()),
                ),
                content_hash: sha256_hex(body.as_bytes()),
                body,
            });
        }
        let accepted = !dossier::finding::has_errors(&findings) && !ready.is_empty();
        Prepared {
            validated_at: now_ms(),
            accepted,
            findings_json: serde_json::to_string(&findings).unwrap_or_default(),
            raw_len: raw.len(),
            raw_zstd: evidence::stored(raw, &findings),
            findings,
            refused,
            sha256,
            signature: None,
            payload: Payload::Dossier(ready),
            meta,
        }
    }

    /// A check-in file (XML0).
    pub fn checkin(meta: Meta, raw: &[u8], parsed: &Parsed<CheckIn>) -> Prepared {
        let mut findings = parsed.findings.clone();
        findings.extend(sender_checkin_findings(&meta.facility, &parsed.value));
        dossier::finding::cap(&mut findings, dossier::Limits::default().max_findings);
        Prepared {
            validated_at: now_ms(),
            accepted: !dossier::finding::has_errors(&findings),
            findings_json: serde_json::to_string(&findings).unwrap_or_default(),
            sha256: sha256_hex(raw),
            raw_len: raw.len(),
            raw_zstd: evidence::stored(raw, &findings),
            findings,
            refused: 0,
            signature: None,
            payload: Payload::CheckIn(parsed.value.clone()),
            meta,
        }
    }

    /// A file that is neither (kept as evidence all the same).
    pub fn unreadable(meta: Meta, raw: &[u8], findings: &[Finding]) -> Prepared {
        let mut findings = findings.to_vec();
        dossier::finding::cap(&mut findings, dossier::Limits::default().max_findings);
        Prepared {
            validated_at: now_ms(),
            accepted: false,
            findings_json: serde_json::to_string(&findings).unwrap_or_default(),
            sha256: sha256_hex(raw),
            raw_len: raw.len(),
            raw_zstd: evidence::stored(raw, &findings),
            findings,
            refused: 0,
            signature: None,
            payload: Payload::Dossier(Vec::new()),
            meta,
        }
    }
}

/// Bytes kept of a file refused for its size: its SHA-256 and length are stored, and
/// this much of its beginning as evidence (a 70 MB body is not worth 70 MB of store).
pub const OVERSIZED_KEEP: usize = 4096;

/// Who may send what: an envelope is its sender's own. The envelope's MACSKCB and the
/// MA_CSKCB of every table that has one (XML1, XML6, XML13, XML14, XML15) must be the
/// sending facility (the gateway account's; the envelope's own for an import, which
/// must then have one). A MACSKCB that differs refuses the whole envelope; a table that
/// names another facility refuses its HOSO. An episode is never stored without a
/// facility, nor for a facility other than its sender.
pub fn sender_findings(sender: &str, env: &Envelope) -> Vec<Finding> {
    let mut out = Vec::new();
    if sender.is_empty() || env.facility.is_empty() {
        out.push(
            Finding::error(
                "GATEWAY.MACSKCB.missing",
                "MACSKCB trống: không biết hồ sơ của cơ sở nào, không được tiếp nhận",
                "MACSKCB is empty: the file names no facility and is refused",
            )
            .at(dossier::Location {
                field: Some("MACSKCB"),
                ..Default::default()
            }),
        );
    } else if env.facility != sender {
        out.push(
            Finding::error(
                "GATEWAY.MACSKCB.forbidden",
                format!(
                    "Hồ sơ của cơ sở {} gửi bằng tài khoản của cơ sở {sender}",
                    env.facility
                ),
                format!(
                    "A file of facility {} sent with an account of facility {sender}",
                    env.facility
                ),
            )
            .at(dossier::Location {
                field: Some("MACSKCB"),
                ..Default::default()
            })
            .value(&env.facility),
        );
    }
    if sender.is_empty() {
        return out;
    }
    for (i, d) in env.dossiers.iter().enumerate() {
        let named = [
            (
                dossier::Table::Xml1,
                d.summary.as_ref().and_then(|s| s.ma_cskcb.as_deref()),
            ),
            (
                dossier::Table::Xml13,
                d.referral.as_ref().and_then(|r| r.ma_cskcb.as_deref()),
            ),
            (
                dossier::Table::Xml14,
                d.appointment.as_ref().and_then(|a| a.ma_cskcb.as_deref()),
            ),
        ]
        .into_iter()
        .chain(
            d.hiv_care
                .iter()
                .map(|r| (dossier::Table::Xml6, r.ma_cskcb.as_deref())),
        )
        .chain(
            d.tb_treatment
                .iter()
                .map(|r| (dossier::Table::Xml15, r.ma_cskcb.as_deref())),
        );
        for (table, code) in named {
            let Some(code) = code.filter(|c| *c != sender) else {
                continue;
            };
            out.push(
                Finding::error(
                    "GATEWAY.MA_CSKCB.forbidden",
                    format!(
                        "{} ghi MA_CSKCB {code}, không phải cơ sở gửi {sender}: hồ sơ không được tiếp nhận",
                        table.code()
                    ),
                    format!(
                        "{} names facility {code} in MA_CSKCB, not the sender {sender}: the HOSO is refused",
                        table.code()
                    ),
                )
                .at(dossier::Location {
                    hoso: Some(i + 1),
                    ma_lk: d.ma_lk().map(str::to_string),
                    table: Some(table),
                    field: Some("MA_CSKCB"),
                    ..Default::default()
                })
                .value(code),
            );
        }
    }
    out
}

/// The sender rule of a check-in: every row's MA_CSKCB is the sender's facility.
pub fn sender_checkin_findings(sender: &str, c: &CheckIn) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, r) in c.rows.iter().enumerate() {
        let code = r.ma_cskcb.as_deref().unwrap_or(sender);
        if code.is_empty() || code != sender {
            out.push(
                Finding::error(
                    "GATEWAY.MA_CSKCB.forbidden",
                    format!("Check-in của cơ sở {code} gửi bằng tài khoản của cơ sở {sender}"),
                    format!(
                        "A check-in of facility {code} sent with an account of facility {sender}"
                    ),
                )
                .at(dossier::Location {
                    hoso: Some(i + 1),
                    ma_lk: r.ma_lk.clone(),
                    table: Some(dossier::Table::Xml0),
                    field: Some("MA_CSKCB"),
                    ..Default::default()
                })
                .value(code),
            );
        }
    }
    out
}

/// What the store did with a submission.
#[derive(Clone, Debug, Serialize)]
pub struct Receipt {
    pub submission_id: i64,
    /// `maGiaoDich`.
    pub transaction_code: String,
    pub received_at: i64,
    pub accepted: bool,
    pub episodes: Vec<Linked>,
    pub checkins: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Linked {
    pub hoso: usize,
    pub ma_lk: String,
    pub person_id: i64,
    pub episode_id: i64,
    pub version: u32,
    pub confidence: Confidence,
    /// The same content was already current: no new version was made.
    pub unchanged: bool,
    pub conflicts: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct PersonRecord {
    pub id: i64,
    pub name: Option<String>,
    pub birth: Option<String>,
    pub sex: Option<String>,
    pub personal_id: Option<String>,
    pub merged_into: Option<i64>,
    pub identifiers: Vec<IdentifierRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdentifierRecord {
    pub kind: IdKind,
    pub value: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    /// A BHYT card's periods as sent (`yyyyMMdd`, '' when not sent), oldest first;
    /// `valid_from`/`valid_to` above are the one that covers today, else the latest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<(String, String)>,
}

/// One stored version of an episode, with its lineage.
#[derive(Clone, Debug, Serialize)]
pub struct EpisodeRecord {
    pub id: i64,
    pub person_id: i64,
    pub facility: String,
    pub ma_lk: String,
    pub version: u32,
    pub is_current: bool,
    pub submission_id: i64,
    pub confidence: String,
    pub received_at: i64,
    pub validated_at: i64,
    pub linked_at: i64,
    pub visible_at: i64,
    pub view: EpisodeView,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubmissionRecord {
    pub id: i64,
    pub transaction_code: String,
    pub received_at: i64,
    pub facility: String,
    pub account: String,
    pub source: String,
    pub kind: String,
    pub spec: String,
    pub accepted: bool,
    pub findings: serde_json::Value,
    pub sha256: String,
    /// The signature verdict (`None`: not checked) and the signer's certificate.
    pub signature: Option<String>,
    pub signer: Option<String>,
    /// The bytes exactly as received.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DqIssue {
    pub id: i64,
    pub person_id: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub facility: Option<String>,
    pub ma_lk: Option<String>,
    pub created_at: i64,
    pub status: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Facility {
    pub code: String,
    pub name: String,
    pub province: String,
    /// hospital | district_health_centre | polyclinic | commune_station | private_clinic
    pub kind: String,
    pub bhyt_contract: bool,
    /// The commune (or district) unit where the facility is.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Kinds of facility.
pub const FACILITY_KINDS: [&str; 5] = [
    "hospital",
    "district_health_centre",
    "polyclinic",
    "commune_station",
    "private_clinic",
];

#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub username: String,
    pub facility: String,
}

/// A session token of the gateway (`/api/token/take`).
#[derive(Clone, Debug)]
pub struct Token {
    pub access_token: String,
    pub id_token: String,
    pub username: String,
    pub expires_at: i64,
}

/// A citizen's sign-in attempt. Repeated failures are slowed down by the server (per
/// client address and account), never locked in the store: a lock that anyone who knows
/// a personal ID can trigger locks out the victim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    Ok(i64),
    /// Wrong passcode.
    Wrong,
    /// No activated account for this personal ID.
    NoAccount,
}

/// What a one-time code may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    /// Activate an account that does not exist yet.
    Activation,
    /// Replace the passcode of an active account.
    Reset,
    /// Whichever the account's state calls for.
    Either,
}

/// Wrong tries of one activation code (each wrong code counts against every live code of
/// the person) before the codes stop opening anything.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

#[derive(Clone, Debug, Serialize)]
pub struct Ward {
    pub person: PersonRecord,
    pub granted_by: String,
    pub granted_at: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub submissions: i64,
    pub accepted: i64,
    pub persons: i64,
    pub episodes_current: i64,
    pub episode_versions: i64,
    pub checkins: i64,
    pub dq_open: i64,
    pub raw_bytes: i64,
    pub stored_bytes: i64,
    /// Bytes the submissions' findings take in the store (compressed).
    pub findings_bytes: i64,
}

/// A submission queued for the writer; [`Pending::wait`] returns once it is durable.
pub struct Pending(pub(crate) std::sync::mpsc::Receiver<Result<Receipt>>);

impl Pending {
    pub fn wait(self) -> Result<Receipt> {
        self.0.recv().map_err(|_| StoreError::Closed)?
    }
}

/// The one storage interface the server and the command line use.
pub trait Store:
    Access + Reports + Records + Chronic + Notifications + Immunizations + Send + Sync + 'static
{
    /// Queue a submission (blocks only when the writer's queue is full).
    fn submit(&self, p: Prepared) -> Result<Pending>;
    /// Store a submission, link and show its valid episodes, durably; returns after commit.
    fn ingest(&self, p: Prepared) -> Result<Receipt> {
        self.submit(p)?.wait()
    }
    /// Which of these SHA-256 digests (hex) are of bytes already received, in one read
    /// (for idempotent imports).
    fn received_digests(&self, sha256s: &[String]) -> Result<std::collections::HashSet<String>>;
    fn submission(&self, transaction_code: &str) -> Result<Option<SubmissionRecord>>;
    /// Register a certificate for a facility (false: it already was).
    fn add_facility_cert(&self, cert: &FacilityCert) -> Result<bool>;
    /// The certificates of one facility, or of all, revoked ones included.
    fn facility_certs(&self, facility: Option<&str>) -> Result<Vec<FacilityCert>>;
    /// Revoke a facility's registration of a certificate (false: none was live).
    fn revoke_facility_cert(&self, facility: &str, fingerprint: &str, by: &str) -> Result<bool>;
    /// Submissions per facility and signature verdict received on the days
    /// `[from_day, to_day]` (`yyyy-mm-dd`, Vietnam time), from the report aggregates.
    fn signature_counts(&self, from_day: &str, to_day: &str) -> Result<Vec<SignatureCount>>;
    fn person_by_identifier(&self, kind: IdKind, value: &str) -> Result<Option<PersonRecord>>;
    fn person(&self, id: i64) -> Result<Option<PersonRecord>>;
    /// The persons among `ids`, each as [`Self::person`] reads one (unknown ids are left
    /// out), in three statements whatever their number.
    fn persons(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, PersonRecord>>;
    /// The current episodes of a person, newest first: one index range.
    fn episodes_of(&self, person: i64) -> Result<Vec<EpisodeRecord>>;
    /// The current episodes of a person admitted in `year` (`NGAY_VAO`), newest first:
    /// the same as [`Self::episodes_of`] filtered by the year of `view.admitted`, reading
    /// only that year's rows.
    fn episodes_in_year(&self, person: i64, year: i32) -> Result<Vec<EpisodeRecord>>;
    /// The years of a person's current episodes (of `view.admitted`) with how many
    /// episodes each, newest first, read without the episodes' bodies.
    fn episode_years(&self, person: i64) -> Result<Vec<(i32, usize)>>;
    /// One current episode of a person (one primary-key read).
    fn episode(&self, person: i64, id: i64) -> Result<Option<EpisodeRecord>>;
    /// A digest of `parts` keyed by the server secret (hex, 64 characters): what a
    /// printed document carries so that staff can check it was issued here.
    fn document_digest(&self, parts: &[&str]) -> String;
    /// Run `f` in one transaction: a write transaction when `write` (an audit record
    /// appended in it commits with what was read, or neither does), else plain reads.
    fn transaction(&self, write: bool, f: &mut dyn FnMut(&dyn BookTx) -> Result<()>) -> Result<()>;
    /// Every version of one episode, oldest first.
    fn episode_versions(&self, facility: &str, ma_lk: &str) -> Result<Vec<EpisodeRecord>>;
    /// Every current episode sent by one of `facilities` and visible since `since_ms`, in
    /// person order (all of one person's together), one at a time: memory stays bounded
    /// however many there are. `f` returns `false` to stop. Returns how many were read.
    fn scan_episodes(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64>;
    fn dq_issues(&self, limit: usize) -> Result<Vec<DqIssue>>;
    /// Move everything of `from` to `into`; `from` stays, marked merged.
    fn merge_persons(&self, from: i64, into: i64, reason: &str) -> Result<()>;
    /// Move the given episodes (all versions of their keys) of `person` to a new person.
    fn split_person(&self, person: i64, episode_ids: &[i64], reason: &str) -> Result<i64>;
    fn upsert_facility(&self, f: &Facility) -> Result<()>;
    fn facility(&self, code: &str) -> Result<Option<Facility>>;
    /// Names of the known facilities among `codes` (unknown codes are left out).
    fn facility_names(&self, codes: &[&str]) -> Result<std::collections::HashMap<String, String>>;
    /// Create or replace an account; `password_md5` is the upper-case MD5 hex of the password.
    fn upsert_account(&self, username: &str, facility: &str, password_md5: &str) -> Result<()>;
    /// The account when the MD5 form of its password matches (argon2 verify).
    fn verify_account(&self, username: &str, password_md5: &str) -> Result<Option<Account>>;
    fn save_token(&self, t: &Token, password_md5: &str) -> Result<()>;
    /// The account a token belongs to, if it is live and matches the password hash.
    fn check_token(
        &self,
        access_token: &str,
        id_token: &str,
        password_md5: &str,
        now: i64,
    ) -> Result<Option<Account>>;
    fn counts(&self) -> Result<Counts>;
    /// Whether the store answers: one trivial read, no scan (for `/healthz`).
    fn ping(&self) -> Result<()>;

    /// A one-time code for the person's account (returned once, stored as a keyed hash):
    /// an activation code, or a reset code when the account is already active (what the
    /// operator's `healthbook citizen code` hands out).
    fn issue_activation_code(&self, person: i64, issued_by: &str, ttl_ms: i64) -> Result<String>;
    /// A code of the given purpose only, decided in the same transaction that stores it
    /// (`Invalid` when the account's state does not allow it).
    fn issue_code(
        &self,
        person: i64,
        issued_by: &str,
        ttl_ms: i64,
        want: CodePurpose,
    ) -> Result<String>;
    /// Activate (or reset) the account of the person with this personal ID; returns the person.
    fn activate_citizen(&self, personal_id: &str, code: &str, passcode: &str) -> Result<i64>;
    fn citizen_login(&self, personal_id: &str, passcode: &str, now: i64) -> Result<Login>;
    /// A new session; the token is returned once and stored hashed.
    fn create_session(&self, person: i64, ttl_ms: i64) -> Result<String>;
    fn session_person(&self, token: &str, now: i64) -> Result<Option<i64>>;
    fn end_session(&self, token: &str) -> Result<()>;
    fn grant_guardian(&self, guardian: i64, ward: i64, granted_by: &str) -> Result<()>;
    fn revoke_guardian(&self, guardian: i64, ward: i64) -> Result<()>;
    /// The persons whose books `guardian` may open.
    fn wards(&self, guardian: i64) -> Result<Vec<Ward>>;

    /// Key the audit chain (HMAC-SHA-256) with a secret kept outside the database. Set
    /// it before the first record, and always the same: records chained under another
    /// key (or none) fail verification. Returns false if a key was already set.
    fn set_audit_key(&self, key: Vec<u8>) -> bool;
    /// Load persons and their episodes directly, in large transactions, bypassing the
    /// gateway path: for benchmarks at national scale and registry seeding. The episodes
    /// have no submission behind them (`submission_id` 0), so no raw evidence: never use
    /// it for data that arrived as dossiers. Durable at return.
    fn bulk_load(&self, persons: Vec<BulkPerson>) -> Result<(u64, u64)>;
    /// The store's tables (without the migration bookkeeping), their columns and rows.
    fn tables(&self) -> Result<Vec<Table>>;
    /// Every row of `table` (values in the order of its `columns`), one at a time.
    fn export_rows(&self, table: &Table, f: &mut dyn FnMut(Vec<Value>) -> Result<()>)
    -> Result<()>;
    /// Copy every row of `src` into this store, which must be empty and at the same
    /// schema version, in one transaction: values as stored (envelopes byte for byte,
    /// audit records with their hashes), the rows of each table counted on both sides
    /// before the commit. `progress` hears (table, rows so far). Returns the source's
    /// tables. Run it with the source's servers stopped.
    fn copy_from(&self, src: &dyn Store, progress: &mut dyn FnMut(&str, u64))
    -> Result<Vec<Table>>;
    /// What each data key protects, and what is not sealed yet (`keys status`).
    fn key_status(&self) -> Result<KeyStatus>;
    /// Re-wrap every data key by `new` in one transaction (`keys rotate`): the data
    /// stays as it is, and from then on only `new` opens the store. How many keys.
    fn rewrap_data_keys(&self, new: &dyn crypt::MasterKey) -> Result<usize>;
    /// Seal the values written before encryption (`keys encrypt`): resumable, a few
    /// hundred rows per transaction; `progress` hears the rows sealed so far. How many.
    fn seal_existing(&self, progress: &mut dyn FnMut(u64)) -> Result<u64>;
    /// A new data key for new values (`keys rotate --data-key`); its id.
    fn add_data_key(&self) -> Result<i64>;
    /// This store's data keys wrapped by `to` (a copy hands them to its destination).
    fn data_keys_for(&self, to: &dyn crypt::MasterKey) -> Result<Vec<crypt::DataKeyRow>>;
    /// Stop the writer after the queued work is committed.
    fn close(&self);
    /// Where the store is (a path, or a PostgreSQL address without its password).
    fn location(&self) -> String;
}

/// Whether `target` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

/// The server secret file of a PostgreSQL store: `HEALTHBOOK_SECRET_FILE`, else
/// `healthbook.secret` in the working directory (made on first use, mode 0600). Every
/// server of one database needs the same file; keep it out of the database's backups.
pub fn postgres_secret_file() -> std::path::PathBuf {
    std::env::var_os("HEALTHBOOK_SECRET_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "healthbook.secret".into())
}

/// The server secret file of the store at `target`: [`postgres_secret_file`] for a
/// PostgreSQL database, `<path>.secret` beside a SQLite file.
pub fn secret_file(target: &str) -> std::path::PathBuf {
    if is_postgres(target) {
        postgres_secret_file()
    } else {
        let mut name = std::ffi::OsString::from(target);
        name.push(".secret");
        name.into()
    }
}

/// Where the master key of the store at `target` comes from: `HEALTHBOOK_MASTER_KEY`,
/// else the file `HEALTHBOOK_MASTER_KEY_FILE`, else `<path>.key` beside a SQLite file,
/// or `healthbook.key` beside the secret file of a PostgreSQL store.
pub fn key_source(target: &str) -> crypt::KeySource {
    let file = if is_postgres(target) {
        postgres_secret_file().with_file_name("healthbook.key")
    } else {
        let mut name = std::ffi::OsString::from(target);
        name.push(".key");
        name.into()
    };
    crypt::KeySource::from_env(file)
}

/// Open the store at `target`: `postgres://…` or `postgresql://…` is a PostgreSQL
/// database (its secret file from [`postgres_secret_file`]), anything else the path of a
/// SQLite file (created when missing, its secret `<path>.secret`). On PostgreSQL,
/// `HEALTHBOOK_PG_WRITERS` sets the writer threads (default 2; one connection each).
pub fn open(target: &str) -> Result<std::sync::Arc<dyn Store>> {
    if is_postgres(target) {
        let writers = match std::env::var("HEALTHBOOK_PG_WRITERS") {
            Ok(v) => v.trim().parse::<usize>().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "HEALTHBOOK_PG_WRITERS: {v:?} is not a number of writer threads from 1 to 64"
                ))
            })?,
            Err(_) => 0,
        };
        Ok(std::sync::Arc::new(PostgresStore::connect_with(
            target,
            &postgres_secret_file(),
            PgOptions {
                writers,
                ..PgOptions::default()
            },
        )?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::open(target)?))
    }
}

/// A fresh bearer secret: 244 random bits (two v4 UUIDs) as 64 hex digits.
pub fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// SHA-256 hex (tokens are stored hashed).
pub fn hash_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// A person for [`Store::bulk_load`], with their identifiers and episodes.
#[derive(Clone, Debug, Default)]
pub struct BulkPerson {
    pub name: Option<String>,
    pub birth: Option<String>,
    pub sex: Option<String>,
    pub personal_id: Option<String>,
    pub identifiers: Vec<(IdKind, String)>,
    pub episodes: Vec<BulkEpisode>,
}

/// An episode for [`Store::bulk_load`]: the columns of [`ReadyEpisode`].
#[derive(Clone, Debug, Default)]
pub struct BulkEpisode {
    pub facility: String,
    pub ma_lk: String,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    pub care_type: Option<String>,
    pub main_icd10: Option<String>,
    pub appointment_at: Option<String>,
    pub referral_to: Option<String>,
    pub insured: bool,
    pub dq_flags: i64,
    /// `book::EpisodeView` as JSON.
    pub body: String,
}
