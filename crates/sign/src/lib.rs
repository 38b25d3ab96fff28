//! The facility signature of QĐ 130/4750/3176 documents: `CHUKYDONVI`, an enveloped
//! XML digital signature (XMLDSig) over the whole envelope (`GIAMDINHHS`) or check-in
//! (`CHI_TIEU_TRANG_THAI_KCB`).
//!
//! [`Verifier::verify`] checks the received bytes against a strict profile
//! (`../shared/vn-standards/xmldsig.md` §3): exactly one `Signature`, inside
//! `CHUKYDONVI`, the last child of the document element; one `Reference` with
//! `URI=""`; the enveloped-signature transform and at most one canonicalisation; the
//! listed algorithms only (RSA-SHA1 and SHA-1 accepted as legacy, flagged); no
//! `Object` or `Manifest`; the key taken only from the embedded certificate. Then the
//! digest and signature (bergshamra, pure Rust), the certificate's validity at the
//! moment of receipt, and, when trust anchors are configured, its chain to them.
//! Whether the certificate is registered to the sending facility is the caller's
//! question, answered by [`bind`] over the facility's registered certificates.
//!
//! [`sign`] writes the signature the way facilities' .NET software does (inclusive
//! C14N, RSA-SHA256 or the legacy RSA-SHA1, the end-entity certificate in `X509Data`):
//! for test data, the demo and benchmarks.
//!
//! No I/O here: certificates and keys come in as bytes.

use std::fmt;

use base64::Engine as _;
use bergshamra::core::algorithm as alg;
use bergshamra::{DsigContext, KeysManager, VerifyResult};
use der::Decode;
use sha2::{Digest, Sha256};
use uppsala::{Document, NodeId, NodeKind};

const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Canonicalisations a signature may name (for `SignedInfo` and as its one transform).
const C14N_METHODS: [&str; 6] = [
    alg::C14N,
    alg::C14N_WITH_COMMENTS,
    alg::C14N11,
    alg::C14N11_WITH_COMMENTS,
    alg::EXC_C14N,
    alg::EXC_C14N_WITH_COMMENTS,
];
const SIGNATURE_METHODS: [&str; 4] = [
    alg::RSA_SHA256,
    alg::RSA_SHA384,
    alg::RSA_SHA512,
    alg::ECDSA_SHA256,
];
const DIGEST_METHODS: [&str; 3] = [alg::SHA256, alg::SHA384, alg::SHA512];
/// Accepted and flagged: older .NET Framework signs with these by default.
const LEGACY_SIGNATURE: &str = alg::RSA_SHA1;
const LEGACY_DIGEST: &str = alg::SHA1;
/// Nesting allowed before the signature is looked at (the format's own documents are
/// four or five levels deep).
const MAX_DEPTH: usize = 64;
/// Longest reason kept in a verdict.
const MAX_DETAIL: usize = 300;

/// What became of a document's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Not verified (the deployment's policy is `off`).
    NotChecked,
    /// No `Signature` element.
    Unsigned,
    /// Signature, certificate, time and (when configured) chain hold, with SHA-256 or
    /// stronger. After [`bind`]: and the certificate is registered to the facility.
    Verified,
    /// As `Verified`, with RSA-SHA1 or a SHA-1 digest (legacy .NET Framework).
    VerifiedLegacySha1,
    /// The signature's shape is outside the profile (two signatures, an XPath
    /// transform, a reference other than the whole document, an algorithm refused, no
    /// certificate…).
    Refused,
    /// The digest or the signature value does not match: the document or the
    /// signature was changed, or signed with another key than the certificate's.
    Invalid,
    /// The certificate was not valid at the moment of receipt.
    CertExpired,
    /// The certificate does not chain to a configured trust anchor.
    CertUntrusted,
    /// The certificate is not registered to the sending facility.
    CertNotRegistered,
    /// The facility's registration of the certificate was revoked before receipt.
    CertRevoked,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::NotChecked,
        Status::Unsigned,
        Status::Verified,
        Status::VerifiedLegacySha1,
        Status::Refused,
        Status::Invalid,
        Status::CertExpired,
        Status::CertUntrusted,
        Status::CertNotRegistered,
        Status::CertRevoked,
    ];

    /// The stable code (stored with the submission, in answers and reports).
    pub fn code(self) -> &'static str {
        match self {
            Status::NotChecked => "not_checked",
            Status::Unsigned => "unsigned",
            Status::Verified => "verified",
            Status::VerifiedLegacySha1 => "verified_legacy_sha1",
            Status::Refused => "refused_profile",
            Status::Invalid => "invalid_signature",
            Status::CertExpired => "cert_expired",
            Status::CertUntrusted => "untrusted_certificate",
            Status::CertNotRegistered => "cert_not_registered",
            Status::CertRevoked => "cert_revoked",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// A signature that holds (legacy SHA-1 included).
    pub fn is_verified(self) -> bool {
        matches!(self, Status::Verified | Status::VerifiedLegacySha1)
    }

    /// A signature is present (whatever its verdict).
    pub fn is_signed(self) -> bool {
        !matches!(self, Status::NotChecked | Status::Unsigned)
    }

    pub fn message_vi(self) -> &'static str {
        match self {
            Status::NotChecked => "Chữ ký số không được kiểm tra (chính sách: off)",
            Status::Unsigned => "Hồ sơ không có chữ ký số của cơ sở (CHUKYDONVI trống)",
            Status::Verified => "Chữ ký số của cơ sở hợp lệ",
            Status::VerifiedLegacySha1 => {
                "Chữ ký số hợp lệ nhưng dùng thuật toán cũ SHA-1; đề nghị chuyển sang RSA-SHA256"
            }
            Status::Refused => "Chữ ký số không theo cấu trúc được chấp nhận (CHUKYDONVI)",
            Status::Invalid => {
                "Chữ ký số không khớp với nội dung: hồ sơ hoặc chữ ký đã bị thay đổi"
            }
            Status::CertExpired => "Chứng thư số không còn hiệu lực tại thời điểm tiếp nhận",
            Status::CertUntrusted => {
                "Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực được tin cậy cấp"
            }
            Status::CertNotRegistered => "Chứng thư số chưa được đăng ký cho cơ sở gửi hồ sơ",
            Status::CertRevoked => "Chứng thư số đã bị thu hồi đăng ký cho cơ sở",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            Status::NotChecked => "the facility signature was not checked (policy off)",
            Status::Unsigned => "the document carries no facility signature (CHUKYDONVI empty)",
            Status::Verified => "the facility signature is valid",
            Status::VerifiedLegacySha1 => {
                "the facility signature is valid but uses legacy SHA-1; move to RSA-SHA256"
            }
            Status::Refused => "the facility signature is outside the accepted profile",
            Status::Invalid => {
                "the signature does not match the content: the document or the signature was changed"
            }
            Status::CertExpired => "the certificate was not valid at the moment of receipt",
            Status::CertUntrusted => "the certificate does not chain to a trusted authority",
            Status::CertNotRegistered => {
                "the certificate is not registered to the sending facility"
            }
            Status::CertRevoked => "the facility's registration of this certificate was revoked",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The signer's certificate, as far as the gateway needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the DER certificate, lower-case hex: how a registration names it.
    pub fingerprint: String,
    /// The subject's distinguished name (RFC 4514 text).
    pub subject: String,
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Validity, Unix milliseconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl CertInfo {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertInfo, SignError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| SignError::Certificate(bounded(&e.to_string())))?;
        let tbs = &cert.tbs_certificate;
        let ms = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX)
        };
        Ok(CertInfo {
            fingerprint: hex::encode(Sha256::digest(der)),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial: hex::encode(tbs.serial_number.as_bytes()),
            not_before: ms(tbs.validity.not_before),
            not_after: ms(tbs.validity.not_after),
        })
    }

    /// Reads the first certificate of a PEM file (or a DER file).
    pub fn from_pem(pem: &[u8]) -> Result<CertInfo, SignError> {
        let ders = certs_from_pem(pem)?;
        CertInfo::from_der(&ders[0])
    }
}

/// The verdict on one document's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Why, in English, for logs and the stored finding (bounded; names no value of
    /// the document).
    pub detail: String,
    /// The embedded end-entity certificate, when it could be read.
    pub cert: Option<CertInfo>,
    /// The `SignatureMethod` URI, when there is a signature.
    pub algorithm: Option<String>,
}

impl Verdict {
    fn new(status: Status, detail: impl Into<String>) -> Verdict {
        Verdict {
            status,
            detail: bounded(&detail.into()),
            cert: None,
            algorithm: None,
        }
    }

    pub fn not_checked() -> Verdict {
        Verdict::new(Status::NotChecked, "policy off")
    }
}

/// Errors of loading keys and certificates, and of signing.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("private key: {0}")]
    Key(String),
    #[error("document: {0}")]
    Document(String),
    #[error("signing: {0}")]
    Signing(String),
}

/// The DER certificates of a PEM bundle (or of one DER certificate).
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, SignError> {
    let Ok(text) = std::str::from_utf8(pem) else {
        // Not text: one DER certificate.
        x509_cert::Certificate::from_der(pem)
            .map_err(|e| SignError::Certificate(bounded(&e.to_string())))?;
        return Ok(vec![pem.to_vec()]);
    };
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().unwrap_or_default();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| SignError::Certificate(format!("base64: {e}")))?;
            x509_cert::Certificate::from_der(&der)
                .map_err(|e| SignError::Certificate(bounded(&e.to_string())))?;
            out.push(der);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if out.is_empty() {
        return Err(SignError::Certificate(
            "no \"BEGIN CERTIFICATE\" block found".into(),
        ));
    }
    Ok(out)
}

/// Checks signatures; holds the trust anchors (none: the chain is not checked and a
/// certificate is trusted by its registration alone, as the BHXH portal's list of
/// facility certificates does).
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    anchors: Vec<Vec<u8>>,
    /// Certificates whose chain held, by fingerprint, with the moment it was checked:
    /// a facility signs thousands of files with one certificate, and building its chain
    /// costs a signature check of its own (≈ 65 µs). Shared by clones.
    chains: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// How long a chain that held is taken as holding (for receipts within this distance
/// of the check).
const CHAIN_REUSE_MS: i64 = 3_600_000;
/// Most certificates remembered; past it the memory starts again.
const CHAIN_CACHE: usize = 20_000;

impl Verifier {
    pub fn new(anchors: Vec<Vec<u8>>) -> Verifier {
        Verifier {
            anchors,
            chains: Default::default(),
        }
    }

    /// Whether the chain of `certs` (the end-entity's first) holds at `at`, from the
    /// memory of an earlier check near that moment or checked now.
    fn chain_holds(&self, fingerprint: &str, certs: &[Vec<u8>], at: i64) -> Result<(), String> {
        let known = self
            .chains
            .lock()
            .ok()
            .and_then(|m| m.get(fingerprint).copied());
        if known.is_some_and(|t| (at - t).abs() < CHAIN_REUSE_MS) {
            return Ok(());
        }
        let when = chrono::DateTime::from_timestamp_millis(at)
            .unwrap_or_default()
            .format("%Y-%m-%d+%H:%M:%S")
            .to_string();
        let config = bergshamra::keys::x509::CertValidationConfig {
            trusted_certs: &self.anchors,
            untrusted_certs: &[],
            crls: &[],
            verification_time: Some(&when),
            skip_time_checks: false,
        };
        bergshamra::keys::x509::validate_cert_chain(&certs[0], certs, &config)
            .map_err(|e| e.to_string())?;
        if let Ok(mut m) = self.chains.lock() {
            if m.len() >= CHAIN_CACHE {
                m.clear();
            }
            m.insert(fingerprint.to_string(), at);
        }
        Ok(())
    }

    /// Trust anchors from a PEM bundle (e.g. the national root CA and the
    /// Government specialised CA).
    pub fn from_pem(pem: &[u8]) -> Result<Verifier, SignError> {
        Ok(Verifier::new(certs_from_pem(pem)?))
    }

    pub fn anchors(&self) -> usize {
        self.anchors.len()
    }

    /// The verdict on `xml`, the bytes as received, at `received_at` (Unix ms).
    /// Never fails: what cannot be read is a verdict too.
    pub fn verify(&self, xml: &[u8], received_at: i64) -> Verdict {
        // The common case first: no signature at all.
        if memchr::memmem::find(xml, b"Signature").is_none() {
            return Verdict::new(Status::Unsigned, "no Signature element");
        }
        let text = match dossier::xml::utf8_text(xml) {
            Ok(t) => t,
            Err(e) => return Verdict::new(Status::Refused, format!("not UTF-8: {e}")),
        };
        // The format's own guards before any other parser sees the bytes: no DTD (no
        // entity expansion), bounded depth, well-formed.
        let mut guard = dossier::xml::Guarded::new(text, MAX_DEPTH);
        loop {
            match guard.next_event() {
                Ok(dossier::xml::Ev::Eof) => break,
                Ok(_) => {}
                Err(e) => return Verdict::new(Status::Refused, format!("not readable XML: {e}")),
            }
        }
        let doc = match uppsala::parse(text) {
            Ok(d) => d,
            Err(e) => return Verdict::new(Status::Refused, format!("not readable XML: {e}")),
        };
        let shape = match profile(&doc) {
            Ok(s) => s,
            Err(why) => {
                let status = if why == NO_SIGNATURE {
                    Status::Unsigned
                } else {
                    Status::Refused
                };
                return Verdict::new(status, why);
            }
        };
        let mut verdict = Verdict::new(Status::Refused, "");
        verdict.algorithm = Some(shape.signature_method.clone());
        let cert = match CertInfo::from_der(&shape.certs[0]) {
            Ok(c) => c,
            Err(e) => {
                verdict.detail = bounded(&e.to_string());
                return verdict;
            }
        };
        verdict.cert = Some(cert.clone());
        // The key is the embedded certificate's and nothing else's: no KeyValue, no
        // key found by name.
        let key = match bergshamra::keys::loader::load_x509_cert_der(&shape.certs[0]) {
            Ok(k) => k,
            Err(e) => {
                verdict.detail = bounded(&format!("certificate key: {e}"));
                return verdict;
            }
        };
        let mut keys = KeysManager::new();
        keys.add_key(key);
        let mut ctx = DsigContext::new(keys);
        // Validity is checked below at the moment of receipt, not at the clock's now.
        ctx.skip_time_checks = true;
        match bergshamra::dsig::verify::verify_document_with_source(&ctx, &doc, Some(text)) {
            Ok(r @ VerifyResult::Valid { .. }) if r.all_reference_digests_verified() => {}
            Ok(VerifyResult::Valid { .. }) => {
                verdict.status = Status::Invalid;
                verdict.detail = "a reference digest was not verified".into();
                return verdict;
            }
            Ok(VerifyResult::Invalid { reason }) => {
                verdict.status = Status::Invalid;
                verdict.detail = bounded(&reason);
                return verdict;
            }
            Err(e) => {
                verdict.status = Status::Invalid;
                verdict.detail = bounded(&e.to_string());
                return verdict;
            }
        }
        if received_at < cert.not_before || received_at > cert.not_after {
            verdict.status = Status::CertExpired;
            verdict.detail = format!(
                "certificate valid {} to {}, received {}",
                iso(cert.not_before),
                iso(cert.not_after),
                iso(received_at)
            );
            return verdict;
        }
        if !self.anchors.is_empty()
            && let Err(e) = self.chain_holds(&cert.fingerprint, &shape.certs, received_at)
        {
            verdict.status = Status::CertUntrusted;
            verdict.detail = bounded(&e);
            return verdict;
        }
        if shape.legacy {
            verdict.status = Status::VerifiedLegacySha1;
            verdict.detail = "valid, SHA-1".into();
        } else {
            verdict.status = Status::Verified;
            verdict.detail = "valid".into();
        }
        verdict
    }
}

/// A facility's registration of a certificate (the gateway's "Danh mục chứng thư số").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub fingerprint: String,
    /// When the registration was revoked (Unix ms), if it was.
    pub revoked_at: Option<i64>,
}

/// Binds a verified signature to the sending facility: its certificate must be one the
/// facility registered and had not revoked at `received_at`. Other verdicts pass
/// unchanged.
pub fn bind(mut verdict: Verdict, registered: &[Registration], received_at: i64) -> Verdict {
    if !verdict.status.is_verified() {
        return verdict;
    }
    let Some(cert) = &verdict.cert else {
        return verdict;
    };
    match registered
        .iter()
        .find(|r| r.fingerprint == cert.fingerprint)
    {
        None => {
            verdict.status = Status::CertNotRegistered;
            verdict.detail = format!("certificate {} not registered", &cert.fingerprint[..16]);
        }
        Some(r) if r.revoked_at.is_some_and(|t| t <= received_at) => {
            verdict.status = Status::CertRevoked;
            verdict.detail = format!(
                "registration of {} revoked {}",
                &cert.fingerprint[..16],
                iso(r.revoked_at.unwrap_or_default())
            );
        }
        Some(_) => {}
    }
    verdict
}

/// What a deployment does with each verdict (`serve`'s `signature_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Signatures are not checked.
    Off,
    /// Checked and recorded; a signature that does not hold, or legacy SHA-1, is a
    /// warning; an unsigned document is recorded as such without a finding.
    #[default]
    Warn,
    /// Only a verified signature of a registered certificate is accepted: anything
    /// else refuses the whole document (NĐ 188/2025: signing mandatory).
    Require,
}

impl Policy {
    pub fn code(self) -> &'static str {
        match self {
            Policy::Off => "off",
            Policy::Warn => "warn",
            Policy::Require => "require",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Policy::Off),
            "warn" => Ok(Policy::Warn),
            "require" => Ok(Policy::Require),
            other => Err(format!(
                "signature policy \"{other}\": expected off, warn or require"
            )),
        }
    }
}

/// The finding a verdict gives under a policy (stable code `SIGNATURE.<status>`, on the
/// whole file): none when it holds, or under `off`, or for an unsigned file under
/// `warn`.
pub fn finding(verdict: &Verdict, policy: Policy) -> Option<dossier::Finding> {
    let status = verdict.status;
    let severity = match (policy, status) {
        (Policy::Off, _) | (_, Status::NotChecked | Status::Verified) => return None,
        (Policy::Warn, Status::Unsigned) => return None,
        (_, Status::VerifiedLegacySha1) => dossier::Severity::Warning,
        (Policy::Warn, _) => dossier::Severity::Warning,
        (Policy::Require, _) => dossier::Severity::Error,
    };
    let code = format!("SIGNATURE.{}", status.code());
    let vi = status.message_vi();
    let en = format!("{} ({})", status.message_en(), verdict.detail);
    let mut f = match severity {
        dossier::Severity::Error => dossier::Finding::error(code, vi, en),
        dossier::Severity::Warning => dossier::Finding::warning(code, vi, en),
    };
    if let Some(c) = &verdict.cert {
        f = f.value(&c.fingerprint);
    }
    Some(f)
}

/// The whole check of one received document: verify (unless the policy is `off`),
/// bind to the facility's registrations, and the finding the policy gives.
pub fn check(
    verifier: &Verifier,
    policy: Policy,
    xml: &[u8],
    registered: &[Registration],
    received_at: i64,
) -> (Verdict, Option<dossier::Finding>) {
    if policy == Policy::Off {
        return (Verdict::not_checked(), None);
    }
    let verdict = bind(verifier.verify(xml, received_at), registered, received_at);
    let finding = finding(&verdict, policy);
    (verdict, finding)
}

const NO_SIGNATURE: &str = "no Signature element";

/// What the profile check keeps of a signature.
struct Shape {
    signature_method: String,
    legacy: bool,
    /// `X509Certificate`s of `KeyInfo`, DER, the end-entity's first.
    certs: Vec<Vec<u8>>,
}

fn elements<'d>(doc: &'d Document<'_>, id: NodeId) -> impl Iterator<Item = NodeId> + 'd {
    doc.children_iter(id)
        .filter(move |c| matches!(doc.node_kind(*c), Some(NodeKind::Element(_))))
}

fn local<'d>(doc: &'d Document<'_>, id: NodeId) -> &'d str {
    doc.element(id).map_or("", |e| &e.name.local_name)
}

fn is_dsig(doc: &Document<'_>, id: NodeId, name: &str) -> bool {
    doc.element(id).is_some_and(|e| {
        e.name.local_name == name && e.name.namespace_uri.as_deref() == Some(DSIG_NS)
    })
}

/// The profile of `xmldsig.md` §3, steps 3 and 4.
fn profile(doc: &Document<'_>) -> Result<Shape, String> {
    let root = doc.document_element().ok_or("no document element")?;
    // Every Signature, whatever its namespace or place.
    let mut all = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if local(doc, n) == "Signature" {
            all.push(n);
        }
        stack.extend(elements(doc, n));
    }
    let sig = match all.as_slice() {
        [] => return Err(NO_SIGNATURE.into()),
        [one] => *one,
        more => {
            return Err(format!(
                "{} Signature elements; exactly one is allowed",
                more.len()
            ));
        }
    };
    if !is_dsig(doc, sig, "Signature") {
        return Err("Signature is not in the XMLDSig namespace".into());
    }
    let parent = doc.parent(sig).ok_or("Signature has no parent")?;
    if local(doc, parent) != "CHUKYDONVI" || doc.parent(parent) != Some(root) {
        return Err("Signature must sit in CHUKYDONVI, a child of the document element".into());
    }
    if elements(doc, root).last() != Some(parent) {
        return Err("CHUKYDONVI must be the last element of the document".into());
    }
    if elements(doc, parent).count() != 1 {
        return Err("CHUKYDONVI must hold the Signature only".into());
    }
    let children: Vec<NodeId> = elements(doc, sig).collect();
    for c in &children {
        let name = local(doc, *c);
        if !matches!(name, "SignedInfo" | "SignatureValue" | "KeyInfo") {
            return Err(format!(
                "Signature holds {name}; only SignedInfo, SignatureValue and KeyInfo are allowed"
            ));
        }
    }
    let signed_info = *children
        .iter()
        .find(|c| is_dsig(doc, **c, "SignedInfo"))
        .ok_or("no SignedInfo")?;
    let algorithm = |id: NodeId| {
        doc.element(id)
            .and_then(|e| e.get_attribute("Algorithm"))
            .unwrap_or("")
    };
    let mut c14n = None;
    let mut method = None;
    let mut references = Vec::new();
    for c in elements(doc, signed_info) {
        match local(doc, c) {
            "CanonicalizationMethod" => c14n = Some(algorithm(c)),
            "SignatureMethod" => method = Some(algorithm(c)),
            "Reference" => references.push(c),
            other => return Err(format!("SignedInfo holds {other}")),
        }
    }
    let c14n = c14n.ok_or("no CanonicalizationMethod")?;
    if !C14N_METHODS.contains(&c14n) {
        return Err(format!("canonicalisation {} not accepted", bounded(c14n)));
    }
    let method = method.ok_or("no SignatureMethod")?;
    let mut legacy = false;
    if method == LEGACY_SIGNATURE {
        legacy = true;
    } else if !SIGNATURE_METHODS.contains(&method) {
        return Err(format!("signature method {} not accepted", bounded(method)));
    }
    let [reference] = references.as_slice() else {
        return Err(format!(
            "{} references; exactly one (URI=\"\") is allowed",
            references.len()
        ));
    };
    let uri = doc.element(*reference).and_then(|e| e.get_attribute("URI"));
    if uri != Some("") {
        return Err("the reference must cover the whole document (URI=\"\")".into());
    }
    let mut enveloped = 0;
    let mut canon = 0;
    let mut digest = None;
    for c in elements(doc, *reference) {
        match local(doc, c) {
            "Transforms" => {
                for t in elements(doc, c) {
                    let a = algorithm(t);
                    if local(doc, t) != "Transform" || elements(doc, t).next().is_some() {
                        return Err("a Transform must be empty (no XPath, no parameters)".into());
                    }
                    if a == ENVELOPED {
                        enveloped += 1;
                    } else if C14N_METHODS.contains(&a) {
                        canon += 1;
                    } else {
                        return Err(format!("transform {} not accepted", bounded(a)));
                    }
                }
            }
            "DigestMethod" => digest = Some(algorithm(c)),
            "DigestValue" => {}
            other => return Err(format!("Reference holds {other}")),
        }
    }
    if enveloped != 1 || canon > 1 {
        return Err(
            "transforms must be the enveloped signature and at most one canonicalisation".into(),
        );
    }
    let digest = digest.ok_or("no DigestMethod")?;
    if digest == LEGACY_DIGEST {
        legacy = true;
    } else if !DIGEST_METHODS.contains(&digest) {
        return Err(format!("digest {} not accepted", bounded(digest)));
    }
    let mut certs = Vec::new();
    for key_info in children.iter().filter(|c| local(doc, **c) == "KeyInfo") {
        for data in elements(doc, *key_info) {
            if local(doc, data) != "X509Data" {
                continue;
            }
            for c in elements(doc, data).filter(|c| local(doc, *c) == "X509Certificate") {
                let b64: String = doc
                    .text_content_deep(c)
                    .chars()
                    .filter(|ch| !ch.is_ascii_whitespace())
                    .collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| format!("X509Certificate is not base64: {e}"))?;
                certs.push(der);
            }
        }
    }
    if certs.is_empty() {
        return Err("no X509Certificate in KeyInfo: the key must come from a certificate".into());
    }
    Ok(Shape {
        signature_method: method.to_string(),
        legacy,
        certs,
    })
}

/// How [`sign`] signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    RsaSha256,
    /// Legacy (.NET Framework before 4.7.1): RSA-SHA1 with a SHA-1 digest.
    RsaSha1,
}

/// A facility's signing key and its certificate, loaded once.
pub struct SigningKey {
    key: bergshamra::Key,
    cert_b64: String,
}

impl SigningKey {
    /// An RSA private key (PKCS#8 or PKCS#1 PEM) and its certificate (PEM).
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<SigningKey, SignError> {
        let der = certs_from_pem(cert_pem)?.remove(0);
        let mut key = bergshamra::keys::loader::load_pem_auto(key_pem, None)
            .map_err(|e| SignError::Key(bounded(&e.to_string())))?;
        if !key.has_private_key() {
            return Err(SignError::Key("the key file holds no private key".into()));
        }
        let public = bergshamra::keys::loader::load_x509_cert_der(&der)
            .map_err(|e| SignError::Certificate(bounded(&e.to_string())))?;
        if public.to_spki_der() != key.to_spki_der() {
            return Err(SignError::Key(
                "the private key does not belong to the certificate".into(),
            ));
        }
        key.x509_chain = vec![der.clone()];
        Ok(SigningKey {
            key,
            cert_b64: base64::engine::general_purpose::STANDARD.encode(&der),
        })
    }
}

/// Signs an envelope or check-in the way facilities' software does: the `Signature`
/// goes into the document's empty `CHUKYDONVI` (the last one), covering the whole
/// document (enveloped signature, inclusive C14N).
pub fn sign(xml: &[u8], key: &SigningKey, algorithm: Algorithm) -> Result<Vec<u8>, SignError> {
    let text = dossier::xml::utf8_text(xml).map_err(|e| SignError::Document(e.to_string()))?;
    let (start, end) = [
        "<CHUKYDONVI />",
        "<CHUKYDONVI/>",
        "<CHUKYDONVI></CHUKYDONVI>",
    ]
    .iter()
    .filter_map(|t| text.rfind(t).map(|i| (i, i + t.len())))
    .max()
    .ok_or_else(|| SignError::Document("no empty CHUKYDONVI element".into()))?;
    let (method, digest) = match algorithm {
        Algorithm::RsaSha256 => (alg::RSA_SHA256, alg::SHA256),
        Algorithm::RsaSha1 => (alg::RSA_SHA1, alg::SHA1),
    };
    let template = format!(
        "<CHUKYDONVI><Signature xmlns=\"{DSIG_NS}\"><SignedInfo>\
<CanonicalizationMethod Algorithm=\"{c14n}\"/><SignatureMethod Algorithm=\"{method}\"/>\
<Reference URI=\"\"><Transforms><Transform Algorithm=\"{ENVELOPED}\"/>\
<Transform Algorithm=\"{c14n}\"/></Transforms><DigestMethod Algorithm=\"{digest}\"/>\
<DigestValue></DigestValue></Reference></SignedInfo><SignatureValue></SignatureValue>\
<KeyInfo><X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo>\
</Signature></CHUKYDONVI>",
        c14n = alg::C14N,
        cert = key.cert_b64,
    );
    let mut doc = String::with_capacity(text.len() + template.len() + 512);
    doc.push_str(&text[..start]);
    doc.push_str(&template);
    doc.push_str(&text[end..]);
    let mut keys = KeysManager::new();
    keys.add_key(key.key.clone());
    let ctx = DsigContext::new(keys);
    let signed = bergshamra::dsig::sign::sign_owned(&ctx, doc)
        .map_err(|e| SignError::Signing(bounded(&e.to_string())))?;
    Ok(signed.into_bytes())
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn bounded(s: &str) -> String {
    if s.chars().count() <= MAX_DETAIL {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_DETAIL).collect();
    out.push('…');
    out
}
