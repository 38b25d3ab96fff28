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
    /// A summary standing for this many findings of its code that were not listed one
    /// by one (see [`cap`]); absent for a single finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
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
            count: None,
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

    /// How many findings this one stands for (more than one for a summary).
    pub fn weight(&self) -> u64 {
        self.count.unwrap_or(1)
    }
}

/// Keep the first `max` findings as they are and fold the rest into one summary per
/// (HOSO, table, severity, code) that counts them: a hostile file of many bad rows
/// costs a bounded reply and a bounded record, and every HOSO keeps its verdict.
pub fn cap(findings: &mut Vec<Finding>, max: usize) {
    if findings.len() <= max {
        return;
    }
    let tail = findings.split_off(max);
    let mut order: Vec<(Option<usize>, Option<Table>, Severity, String)> = Vec::new();
    let mut counts: std::collections::HashMap<
        (Option<usize>, Option<Table>, Severity, String),
        u64,
    > = std::collections::HashMap::new();
    for f in tail {
        let key = (f.location.hoso, f.location.table, f.severity, f.code);
        let n = f.count.unwrap_or(1);
        match counts.get_mut(&key) {
            Some(c) => *c += n,
            None => {
                order.push(key.clone());
                counts.insert(key, n);
            }
        }
    }
    for key in order {
        let n = counts[&key];
        let (hoso, table, severity, code) = key;
        findings.push(Finding {
            severity,
            location: Location {
                hoso,
                table,
                ..Location::default()
            },
            value: None,
            message_vi: format!(
                "Còn {n} phát hiện khác cùng mã {code} (chỉ liệt kê {max} phát hiện đầu tiên)"
            ),
            message_en: format!(
                "{n} more findings of code {code} (only the first {max} are listed)"
            ),
            count: Some(n),
            code,
        });
    }
}

/// How many findings a list stands for, summaries counted in full.
pub fn total(findings: &[Finding]) -> u64 {
    findings.iter().map(Finding::weight).sum()
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
