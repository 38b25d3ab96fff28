//! Registry deltas from files: the population database's events (birth, death, move,
//! personal ID change) and the BHYT participant list's card changes, as CSV with a
//! header line or as JSON lines. Every line is checked before any change is applied;
//! an error names the line and the column. The digest identifies the content, so the
//! same batch sent twice is applied once.

use sha2::{Digest, Sha256};
use store::{InsuranceCard, RegistryBatch, RegistryChange};

use crate::{CsvError, bounded};

/// How a file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// From a file name (`.csv`, `.jsonl`/`.ndjson`) or a media type.
    pub fn guess(name_or_type: &str) -> Option<Format> {
        let s = name_or_type.to_ascii_lowercase();
        if s.ends_with(".csv") || s.starts_with("text/csv") {
            Some(Format::Csv)
        } else if s.ends_with(".jsonl")
            || s.ends_with(".ndjson")
            || s.contains("ndjson")
            || s.contains("jsonl")
            || s.starts_with("application/json")
        {
            Some(Format::Jsonl)
        } else {
            None
        }
    }
}

/// The longest line of a JSON-lines file.
pub const MAX_LINE: usize = 64 * 1024;

/// The SHA-256 of a batch's bytes, hex.
pub fn digest(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(serde::Deserialize, Default)]
struct Row {
    event: String,
    personal_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    commune: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    new_personal_id: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    bhxh_number: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    first_contact: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    five_years: String,
}

fn date(line: u64, field: &str, v: &str) -> Result<String, CsvError> {
    book::ehr::parse_date(v)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| {
            CsvError::line(
                line,
                format!("{field} {v:?}: ngày không hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd)"),
            )
        })
}

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

fn change(line: u64, r: Row) -> Result<RegistryChange, CsvError> {
    let need = |field: &str, v: &str| {
        if v.is_empty() {
            Err(CsvError::line(
                line,
                format!("{field}: thiếu (bắt buộc với event {})", r.event),
            ))
        } else {
            Ok(())
        }
    };
    need("personal_id", &r.personal_id)?;
    Ok(match r.event.as_str() {
        "birth" => {
            need("name", &r.name)?;
            need("commune", &r.commune)?;
            let sex = match r.sex.to_lowercase().as_str() {
                "1" | "nam" => "1",
                "2" | "nữ" | "nu" => "2",
                other => {
                    return Err(CsvError::line(
                        line,
                        format!("sex {other:?}: phải là 1 (Nam) hoặc 2 (Nữ)"),
                    ));
                }
            };
            RegistryChange::Birth {
                birth_date: date(line, "birth_date", &r.birth_date)?,
                personal_id: r.personal_id,
                name: r.name,
                sex: sex.into(),
                commune: r.commune,
            }
        }
        "death" => RegistryChange::Death {
            date: date(line, "date", &r.date)?,
            personal_id: r.personal_id,
        },
        "move" => {
            need("commune", &r.commune)?;
            RegistryChange::Move {
                personal_id: r.personal_id,
                commune: r.commune,
                address: some(r.address),
            }
        }
        "id_change" => {
            need("new_personal_id", &r.new_personal_id)?;
            RegistryChange::IdChange {
                personal_id: r.personal_id,
                new_personal_id: r.new_personal_id,
            }
        }
        "card" => {
            need("card", &r.card)?;
            RegistryChange::Card {
                card: InsuranceCard {
                    card: r.card,
                    bhxh_number: some(r.bhxh_number),
                    valid_from: date(line, "valid_from", &r.valid_from)?,
                    valid_to: date(line, "valid_to", &r.valid_to)?,
                    first_contact: some(r.first_contact),
                    area: some(r.area),
                    five_years: if r.five_years.is_empty() {
                        None
                    } else {
                        Some(date(line, "five_years", &r.five_years)?)
                    },
                    previous: None,
                },
                personal_id: r.personal_id,
            }
        }
        other => {
            return Err(CsvError::line(
                line,
                format!("event {other:?}: phải là birth, death, move, id_change hoặc card"),
            ));
        }
    })
}

/// The changes of a file, each with its line.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<(u64, RegistryChange)>, CsvError> {
    let mut out = Vec::new();
    match format {
        Format::Csv => {
            for (line, row) in crate::rows::<Row>(bytes)? {
                out.push((line, change(line, row)?));
                if out.len() > store::MAX_BATCH {
                    return Err(CsvError::Csv(format!(
                        "tối đa {} thay đổi một lô",
                        store::MAX_BATCH
                    )));
                }
            }
        }
        Format::Jsonl => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| CsvError::Csv(format!("không phải UTF-8: {e}")))?;
            for (i, l) in text.lines().enumerate() {
                let line = i as u64 + 1;
                let l = l.trim();
                if l.is_empty() {
                    continue;
                }
                if l.len() > MAX_LINE {
                    return Err(CsvError::line(
                        line,
                        format!("dòng dài quá {MAX_LINE} byte"),
                    ));
                }
                let row: Row = serde_json::from_str(l)
                    .map_err(|e| CsvError::line(line, bounded(format!("JSON: {e}"))))?;
                out.push((line, change(line, row)?));
                if out.len() > store::MAX_BATCH {
                    return Err(CsvError::Csv(format!(
                        "tối đa {} thay đổi một lô",
                        store::MAX_BATCH
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// A batch from a file: its id (given, or the digest), source, digest and changes.
pub fn batch(
    bytes: &[u8],
    format: Format,
    id: Option<&str>,
    source: &str,
    by: &str,
) -> Result<RegistryBatch, CsvError> {
    let digest = digest(bytes);
    Ok(RegistryBatch {
        id: id.map_or_else(|| digest.clone(), str::to_string),
        source: source.to_string(),
        digest,
        by: by.to_string(),
        changes: parse(bytes, format)?,
        scope: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_lines_say_the_same() {
        let csv = "event,personal_id,name,birth_date,sex,commune,date,new_personal_id\n\
                   birth,001226000001,Lê Thị Mới,20/11/2026,Nữ,00008,,\n\
                   death,001195000001,,,,,2026-10-02,\n\
                   id_change,001195000003,,,,,,001195999999\n";
        let jsonl = "{\"event\":\"birth\",\"personal_id\":\"001226000001\",\"name\":\"Lê Thị Mới\",\"birth_date\":\"2026-11-20\",\"sex\":\"2\",\"commune\":\"00008\"}\n\
                     \n\
                     {\"event\":\"death\",\"personal_id\":\"001195000001\",\"date\":\"02/10/2026\"}\n\
                     {\"event\":\"id_change\",\"personal_id\":\"001195000003\",\"new_personal_id\":\"001195999999\"}\n";
        let a: Vec<RegistryChange> = parse(csv.as_bytes(), Format::Csv)
            .unwrap()
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let b: Vec<RegistryChange> = parse(jsonl.as_bytes(), Format::Jsonl)
            .unwrap()
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse(b"event,personal_id\nbirth,001226000001\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dòng 2") && e.contains("name"), "{e}");
        let e = parse(
            b"{\"event\":\"card\",\"personal_id\":\"1\",\"card\":\"X\",\"valid_from\":\"x\"}",
            Format::Jsonl,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("valid_from"), "{e}");
        let e = parse(b"{\"event\":\"fly\",\"personal_id\":\"1\"}", Format::Jsonl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("event"), "{e}");
        let e = parse(b"not json", Format::Jsonl).unwrap_err().to_string();
        assert!(e.contains("dòng 1"), "{e}");
        assert_eq!(Format::guess("a.ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::guess("text/csv; charset=utf-8"), Some(Format::Csv));
    }
}
