//! How Vietnamese write numbers and dates: a decimal comma, thousands grouped with dots
//! (`1.234,5`), money in đồng (`1.234.500 đ`), dates `dd/mm/yyyy`. One place, so that
//! pages, PDFs and reports print them alike.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

/// `14:30 05/03/2026`.
pub fn when(d: Option<NaiveDateTime>) -> String {
    d.map(|d| d.format("%H:%M %d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// `05/03/2026`.
pub fn date(d: Option<NaiveDateTime>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// `05/03/2026`.
pub fn day(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// A date written `yyyyMMdd` (a card's validity) as `dd/mm/yyyy`.
pub fn ymd(s: &str) -> String {
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// `NGAY_SINH` as written (`yyyyMMdd[HHmm]`, day or month `00` when unknown).
pub fn birth(s: &str) -> String {
    let d: String = s.chars().take(8).collect();
    match (d.get(..4), d.get(4..6), d.get(6..8)) {
        (Some(y), Some("00"), _) => y.to_string(),
        (Some(y), Some(m), Some("00")) => format!("{m}/{y}"),
        (Some(y), Some(m), Some(dd)) => format!("{dd}/{m}/{y}"),
        _ => s.to_string(),
    }
}

/// A decimal with the Vietnamese comma and grouped thousands: `1.234,5`.
pub fn decimal(d: Decimal) -> String {
    let s = d.normalize().to_string();
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

/// Money in đồng: `1.234.500 đ`.
pub fn money(d: Decimal) -> String {
    format!("{} đ", decimal(d.round()))
}

/// A number as a dossier wrote it ("5.6") the Vietnamese way ("5,6"), keeping the digits
/// written ("5.60" stays "5,60"); other text as it is.
pub fn number_text(s: &str) -> String {
    let t = s.trim();
    let numeric = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && t.matches('.').count() <= 1
        && t.bytes().any(|b| b.is_ascii_digit());
    if !numeric {
        return s.to_string();
    }
    let (sign, t) = t.strip_prefix('-').map_or(("", t), |r| ("-", r));
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let int = match int.parse::<Decimal>() {
        Ok(d) => decimal(d),
        Err(_) => int.to_string(),
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int},{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_are_written_the_vietnamese_way() {
        assert_eq!(decimal(Decimal::new(12345, 1)), "1.234,5");
        assert_eq!(decimal(Decimal::new(-1_000_000, 0)), "-1.000.000");
        assert_eq!(money(Decimal::new(1_234_500, 0)), "1.234.500 đ");
        assert_eq!(number_text("5.60"), "5,60");
        assert_eq!(number_text("12000"), "12.000");
        assert_eq!(number_text("-0.5"), "-0,5");
        assert_eq!(number_text("Âm tính"), "Âm tính");
        assert_eq!(number_text("1.010"), "1,010");
        assert_eq!(ymd("20241231"), "31/12/2024");
        assert_eq!(birth("198503150000"), "15/03/1985");
        assert_eq!(birth("19850000"), "1985");
        assert_eq!(birth("19850300"), "03/1985");
    }
}
