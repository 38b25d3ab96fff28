//! Existing QĐ 831 records from another system, as CSV or JSON lines, for a commune
//! station to import. CSV: a header naming `personal_id` and any items of
//! `book::ehr::ITEMS` by key (`a.blood_abo`, `b.allergy.drug`, …), and optionally one
//! examination per line: `exam.date` and `exam.<item>` (`exam.weight`, …). JSON lines:
//! `{"personal_id": "…", "items": {…}, "exams": [{"date": "…", "items": {…}}]}`.
//!
//! A header naming an unknown column refuses the file; the values of each line are
//! checked by the store when it imports the line (each line all or nothing, refused
//! lines reported with why).

use store::{ExamImport, RecordImport};

pub use crate::deltas::Format;
use crate::deltas::MAX_LINE;
use crate::{CsvError, bounded};

/// The most lines one import may hold.
pub const MAX_ROWS: usize = 200_000;

enum Column {
    PersonalId,
    Item(String),
    ExamDate,
    Exam(String),
}

fn column(name: &str) -> Option<Column> {
    if name == "personal_id" {
        return Some(Column::PersonalId);
    }
    if name == "exam.date" {
        return Some(Column::ExamDate);
    }
    if let Some(k) = name.strip_prefix("exam.") {
        return book::ehr::exam_item(k).map(|i| Column::Exam(i.key.to_string()));
    }
    book::ehr::item(name).map(|i| Column::Item(i.key.to_string()))
}

/// The lines of a file, each with its line number.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<(u64, RecordImport)>, CsvError> {
    let mut out = Vec::new();
    let mut push = |line: u64, r: RecordImport| {
        out.push((line, r));
        if out.len() > MAX_ROWS {
            Err(CsvError::Csv(format!(
                "tối đa {MAX_ROWS} dòng một lần nhập"
            )))
        } else {
            Ok(())
        }
    };
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .flexible(false)
                .from_reader(bytes);
            let headers = r
                .headers()
                .map_err(|e| CsvError::Csv(bounded(e.to_string())))?
                .clone();
            let mut columns = Vec::with_capacity(headers.len());
            for h in headers.iter() {
                match column(h) {
                    Some(c) => columns.push(c),
                    None => {
                        return Err(CsvError::line(
                            1,
                            format!("cột {h:?}: không phải mục của mẫu QĐ 831 (xem book::ehr)"),
                        ));
                    }
                }
            }
            if !columns.iter().any(|c| matches!(c, Column::PersonalId)) {
                return Err(CsvError::line(1, "thiếu cột personal_id".into()));
            }
            for rec in r.records() {
                let rec = rec.map_err(|e| {
                    CsvError::line(e.position().map_or(0, |p| p.line()), e.to_string())
                })?;
                let line = rec.position().map_or(0, |p| p.line());
                let mut row = RecordImport::default();
                let mut exam = ExamImport::default();
                for (c, v) in columns.iter().zip(rec.iter()) {
                    match c {
                        Column::PersonalId => row.personal_id = v.to_string(),
                        // An empty cell says nothing (it does not clear the item).
                        Column::Item(k) if !v.is_empty() => {
                            row.items.insert(k.clone(), v.to_string());
                        }
                        Column::ExamDate => exam.date = v.to_string(),
                        Column::Exam(k) if !v.is_empty() => {
                            exam.items.insert(k.clone(), v.to_string());
                        }
                        _ => {}
                    }
                }
                if !exam.date.is_empty() || !exam.items.is_empty() {
                    row.exams.push(exam);
                }
                push(line, row)?;
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
                let row: RecordImport = serde_json::from_str(l)
                    .map_err(|e| CsvError::line(line, bounded(format!("JSON: {e}"))))?;
                if row.exams.len() > 100 || row.items.len() > 1000 {
                    return Err(CsvError::line(line, "quá nhiều mục hoặc lần khám".into()));
                }
                push(line, row)?;
            }
        }
    }
    Ok(out)
}

/// A record's items as CSV columns (for an export a station can edit and import again).
pub fn header() -> Vec<&'static str> {
    let mut h = vec!["personal_id"];
    h.extend(book::ehr::ITEMS.iter().map(|i| i.key));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_items_and_an_examination_per_line() {
        let csv = "personal_id,a.blood_abo,b.allergy.drug,exam.date,exam.weight,exam.height,exam.diagnosis,exam.doctor\n\
                   001195000001,A,Penicilin,01/06/2026,60,160,Bình thường,BS An\n\
                   001195000002,O,,,,,,\n";
        let rows = parse(csv.as_bytes(), Format::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.items["b.allergy.drug"], "Penicilin");
        assert_eq!(rows[0].1.exams[0].items["weight"], "60");
        assert!(rows[1].1.exams.is_empty());
        assert!(!rows[1].1.items.contains_key("b.allergy.drug"));
        let e = parse(b"personal_id,a.shoe_size\n1,2\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.shoe_size"), "{e}");
        let j = "{\"personal_id\":\"001195000001\",\"items\":{\"a.blood_abo\":\"B\"},\"exams\":[{\"date\":\"2026-06-01\",\"items\":{\"diagnosis\":\"x\",\"doctor\":\"y\"}}]}\n";
        let rows = parse(j.as_bytes(), Format::Jsonl).unwrap();
        assert_eq!(rows[0].1.exams[0].date, "2026-06-01");
    }
}
