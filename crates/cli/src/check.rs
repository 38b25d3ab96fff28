//! `healthbook check`: validate files offline, in parallel, with a readable report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use dossier::{Checked, Finding, Options, Severity, Spec};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (searched recursively for *.xml).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print a JSON report for programs instead of text.
    #[arg(long)]
    json: bool,
    /// Spec variant the files follow.
    #[arg(long, default_value = "3176", value_parser = parse_spec)]
    spec: Spec,
    /// Language of the messages in the text report.
    #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
    lang: String,
    /// Only list files with errors (and the summary).
    #[arg(long, short)]
    quiet: bool,
    /// Also verify each file's facility signature (CHUKYDONVI): a file without a
    /// verified signature is an error (as the gateway's `require` policy).
    #[arg(long)]
    verify_signature: bool,
    /// The facility's certificate (PEM or DER; repeat for several): the signature
    /// must be made with one of them. Without it, any certificate that verifies.
    #[arg(long, requires = "verify_signature")]
    cert: Vec<PathBuf>,
    /// PEM file of trust anchors the certificate must chain to.
    #[arg(long, requires = "verify_signature")]
    trust: Option<PathBuf>,
}

/// What `--verify-signature` checks against.
struct SignatureCheck {
    verifier: sign::Verifier,
    /// The registered certificates (`--cert`), when given.
    registered: Option<Vec<sign::Registration>>,
    at: i64,
}

impl SignatureCheck {
    fn from_args(args: &Args) -> Result<Option<SignatureCheck>> {
        if !args.verify_signature {
            return Ok(None);
        }
        let verifier = crate::ops::verifier(args.trust.as_deref())?;
        let mut registered = Vec::new();
        for p in &args.cert {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let info = sign::CertInfo::from_pem(&bytes).with_context(|| p.display().to_string())?;
            registered.push(sign::Registration {
                fingerprint: info.fingerprint,
                revoked_at: None,
            });
        }
        Ok(Some(SignatureCheck {
            verifier,
            registered: (!args.cert.is_empty()).then_some(registered),
            at: chrono::Utc::now().timestamp_millis(),
        }))
    }

    fn check(&self, bytes: &[u8]) -> (sign::Verdict, Option<Finding>) {
        let mut verdict = self.verifier.verify(bytes, self.at);
        if let Some(r) = &self.registered {
            verdict = sign::bind(verdict, r, self.at);
        }
        let finding = sign::finding(&verdict, sign::Policy::Require);
        (verdict, finding)
    }
}

fn parse_spec(s: &str) -> Result<Spec, String> {
    s.parse()
}

/// The outcome for one file.
#[derive(Serialize)]
struct FileReport {
    path: String,
    kind: &'static str,
    valid: bool,
    /// Per episode (envelopes) or per row (check-ins): index, MA_LK, verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dossiers: Vec<Verdict>,
    errors: usize,
    warnings: usize,
    findings: Vec<Finding>,
    /// The facility signature's verdict (`--verify-signature`).
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'static str>,
    /// An I/O error reading the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    io_error: Option<String>,
}

#[derive(Serialize)]
struct Verdict {
    hoso: usize,
    ma_lk: Option<String>,
    valid: bool,
}

#[derive(Serialize, Default)]
struct Summary {
    files: usize,
    valid_files: usize,
    invalid_files: usize,
    unreadable_files: usize,
    dossiers: usize,
    valid_dossiers: usize,
    errors: usize,
    warnings: usize,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files).with_context(|| format!("đọc / reading {}", p.display()))?;
    }
    files.sort();
    files.dedup();
    let opts = Options::spec(args.spec);
    let signatures = SignatureCheck::from_args(&args)?;
    let bar = if std::io::stderr().is_terminal() && files.len() > 1 && !args.json {
        let b = ProgressBar::new(files.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} tệp ({per_sec}, còn {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let reports: Vec<FileReport> = files
        .par_iter()
        .map(|path| {
            let r = check_file(path, &opts, signatures.as_ref());
            if let Some(b) = &bar {
                b.inc(1);
            }
            r
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut sum = Summary {
        files: reports.len(),
        ..Summary::default()
    };
    for r in &reports {
        if r.io_error.is_some() {
            sum.unreadable_files += 1;
        } else if r.valid {
            sum.valid_files += 1;
        } else {
            sum.invalid_files += 1;
        }
        sum.dossiers += r.dossiers.len();
        sum.valid_dossiers += r.dossiers.iter().filter(|d| d.valid).count();
        sum.errors += r.errors;
        sum.warnings += r.warnings;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            spec: &'a str,
            summary: &'a Summary,
            files: &'a [FileReport],
        }
        serde_json::to_writer_pretty(
            &mut out,
            &Doc {
                spec: args.spec.code(),
                summary: &sum,
                files: &reports,
            },
        )?;
        writeln!(out)?;
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let en = args.lang == "en";
        for r in &reports {
            print_file(&mut out, r, color, en, args.quiet)?;
        }
        print_summary(&mut out, &sum, args.spec, en)?;
    }
    out.flush()?;
    Ok(if sum.unreadable_files > 0 {
        ExitCode::from(2)
    } else if sum.invalid_files > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            let p = entry?.path();
            if p.is_dir() {
                collect(&p, out)?;
            } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn check_file(path: &Path, opts: &Options, signatures: Option<&SignatureCheck>) -> FileReport {
    let mut r = FileReport {
        path: path.display().to_string(),
        kind: "unknown",
        valid: false,
        dossiers: Vec::new(),
        errors: 0,
        warnings: 0,
        findings: Vec::new(),
        signature: None,
        io_error: None,
    };
    let mut signature_finding: Option<Finding> = None;
    // Refuse oversized files before reading them into memory.
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let checked = if size > opts.limits.max_file_bytes as u64 {
        Checked::Unknown(vec![
            Finding::error(
                "FILE.size",
                format!(
                    "Kích thước {size} byte vượt giới hạn {} byte",
                    opts.limits.max_file_bytes
                ),
                format!(
                    "Size {size} bytes exceeds the limit of {} bytes",
                    opts.limits.max_file_bytes
                ),
            )
            .value(&size.to_string()),
        ])
    } else {
        match std::fs::read(path) {
            Ok(bytes) => {
                if let Some(s) = signatures {
                    let (verdict, finding) = s.check(&bytes);
                    r.signature = Some(verdict.status.code());
                    signature_finding = finding;
                }
                dossier::check(&bytes, opts)
            }
            Err(e) => {
                r.io_error = Some(e.to_string());
                return r;
            }
        }
    };
    match &checked {
        Checked::Envelope(p) => {
            r.kind = "envelope";
            r.dossiers = p
                .verdicts()
                .into_iter()
                .map(|(hoso, ma_lk, valid)| Verdict { hoso, ma_lk, valid })
                .collect();
        }
        Checked::CheckIn(p) => {
            r.kind = "checkin";
            r.dossiers = p
                .value
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| Verdict {
                    hoso: i + 1,
                    ma_lk: row.ma_lk.clone(),
                    valid: !p
                        .findings
                        .iter()
                        .any(|f| f.is_error() && f.location.hoso.is_none_or(|h| h == i + 1)),
                })
                .collect();
        }
        Checked::Table(t, _) => r.kind = table_kind(*t),
        Checked::Unknown(_) => {}
    }
    if signature_finding.as_ref().is_some_and(Finding::is_error) {
        // The signature covers the whole file: no dossier of it stands without it.
        for d in &mut r.dossiers {
            d.valid = false;
        }
    }
    r.findings = checked.findings().to_vec();
    r.findings.extend(signature_finding);
    r.valid = !dossier::finding::has_errors(&r.findings);
    // A summary finding (past the listed limit) stands for as many as it counts.
    r.errors = r
        .findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| f.weight() as usize)
        .sum();
    r.warnings = dossier::finding::total(&r.findings) as usize - r.errors;
    r
}

fn table_kind(t: dossier::Table) -> &'static str {
    match t {
        dossier::Table::Xml0 => "checkin",
        _ => "table",
    }
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn print_file(
    out: &mut impl Write,
    r: &FileReport,
    color: bool,
    en: bool,
    quiet: bool,
) -> std::io::Result<()> {
    if let Some(e) = &r.io_error {
        let label = if en {
            "cannot read"
        } else {
            "không đọc được"
        };
        writeln!(
            out,
            "{} {}: {label}: {e}",
            paint("✗", "31;1", color),
            r.path
        )?;
        return Ok(());
    }
    if quiet && r.valid {
        return Ok(());
    }
    let (mark, verdict) = match (r.valid, r.warnings > 0, en) {
        (true, false, false) => (paint("✓", "32;1", color), "hợp lệ".to_string()),
        (true, false, true) => (paint("✓", "32;1", color), "valid".to_string()),
        (true, true, false) => (
            paint("✓", "33;1", color),
            format!("hợp lệ, {} cảnh báo", r.warnings),
        ),
        (true, true, true) => (
            paint("✓", "33;1", color),
            format!("valid, {} warnings", r.warnings),
        ),
        (false, _, false) => (
            paint("✗", "31;1", color),
            format!("{} lỗi, {} cảnh báo", r.errors, r.warnings),
        ),
        (false, _, true) => (
            paint("✗", "31;1", color),
            format!("{} errors, {} warnings", r.errors, r.warnings),
        ),
    };
    writeln!(out, "{mark} {} — {verdict}", r.path)?;
    if r.dossiers.len() > 1 {
        for d in &r.dossiers {
            let m = if d.valid {
                paint("✓", "32", color)
            } else {
                paint("✗", "31", color)
            };
            writeln!(
                out,
                "    {m} HOSO {} MA_LK {}",
                d.hoso,
                d.ma_lk.as_deref().unwrap_or("?")
            )?;
        }
    }
    for f in &r.findings {
        let sev = match (f.severity, en) {
            (Severity::Error, false) => paint("lỗi", "31", color),
            (Severity::Error, true) => paint("error", "31", color),
            (Severity::Warning, false) => paint("cảnh báo", "33", color),
            (Severity::Warning, true) => paint("warning", "33", color),
        };
        let msg = if en { &f.message_en } else { &f.message_vi };
        let loc = f.location.to_string();
        write!(out, "    {sev} {}", paint(&f.code, "2", color))?;
        if !loc.is_empty() {
            write!(out, " [{loc}]")?;
        }
        write!(out, ": {msg}")?;
        if let Some(v) = &f.value {
            let label = if en { "value" } else { "giá trị" };
            write!(out, " ({label}: {v:?})")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn print_summary(out: &mut impl Write, s: &Summary, spec: Spec, en: bool) -> std::io::Result<()> {
    if en {
        writeln!(
            out,
            "\nQĐ {spec}: {} files — {} valid, {} with errors, {} unreadable; {} of {} dossiers valid; {} errors, {} warnings",
            s.files,
            s.valid_files,
            s.invalid_files,
            s.unreadable_files,
            s.valid_dossiers,
            s.dossiers,
            s.errors,
            s.warnings
        )
    } else {
        writeln!(
            out,
            "\nQĐ {spec}: {} tệp — {} hợp lệ, {} có lỗi, {} không đọc được; {}/{} hồ sơ hợp lệ; {} lỗi, {} cảnh báo",
            s.files,
            s.valid_files,
            s.invalid_files,
            s.unreadable_files,
            s.valid_dossiers,
            s.dossiers,
            s.errors,
            s.warnings
        )
    }
}
