//! Findings: what the validator says about a file, each with a stable code, a
//! location, the offending value and a message in Vietnamese and in English.

use std::fmt;

use serde::Serialize;

use crate::spec::Table;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never blocks.
    Warning,
    /// The dossier does not conform; the gateway rejects it.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Where a finding is: as precise as is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based index of the `HOSO` in the envelope (of the row in a check-in file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hoso: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ma_lk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// The row's `STT` when it has one, else its 1-based position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(h) = self.hoso {
            parts.push(format!("HOSO {h}"));
        }
        if let Some(m) = &self.ma_lk {
            parts.push(format!("MA_LK {m}"));
        }
        if let Some(t) = self.table {
            parts.push(t.code().to_string());
        }
        if let Some(r) = self.row {
            parts.push(format!("STT {r}"));
        }
        if let Some(fl) = self.field {
            parts.push(fl.to_string());
        }
        f.write_str(&parts.join(" › "))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable code, e.g. `XML1.NGAY_VAO.format` or `ENVELOPE.SOLUONGHOSO.mismatch`.
    pub code: String,
    pub location: Location,
    /// The offending value (shortened when long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message_vi: String,
    pub message_en: String,
}

impl Finding {
    pub fn error(code: impl Into<String>, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            code: code.into(),
            location: Location::default(),
            value: None,
            message_vi: vi.into(),
            message_en: en.into(),
        }
    }

    pub fn warning(code: impl Into<String>, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, vi, en)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    pub fn value(mut self, v: &str) -> Self {
        const MAX: usize = 120;
        self.value = Some(if v.chars().count() > MAX {
            let mut s: String = v.chars().take(MAX).collect();
            s.push('…');
            s
        } else {
            v.to_string()
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.code, self.location, self.message_en
        )?;
        if let Some(v) = &self.value {
            write!(f, " (value {v:?})")?;
        }
        Ok(())
    }
}

/// The overall verdict over a set of findings.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}
