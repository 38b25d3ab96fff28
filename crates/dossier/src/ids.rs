//! Identifiers of §7.1–7.3: personal ID (CCCD), CMND, passport, BHYT card, BHXH
//! number, facility code, ICD-10. Pure functions over text; no check digits are
//! invented where the standard has none.

/// The 63 pre-2025 province codes (2 digits; the CCCD uses "0" + code).
pub const PROVINCES: [&str; 63] = [
    "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22", "24", "25",
    "26", "27", "30", "31", "33", "34", "35", "36", "37", "38", "40", "42", "44", "45", "46", "48",
    "49", "51", "52", "54", "56", "58", "60", "62", "64", "66", "67", "68", "70", "72", "74", "75",
    "77", "79", "80", "82", "83", "84", "86", "87", "89", "91", "92", "93", "94", "95", "96",
];

/// BHYT object (participant-group) codes accepted by VNeID (§7.2), BA from 01/07/2024.
pub const BHYT_OBJECTS: [&str; 44] = [
    "DN", "HX", "CH", "NN", "TK", "HC", "XK", "HT", "TB", "NO", "CT", "XB", "TN", "CS", "QN", "CA",
    "CY", "XN", "MS", "CC", "CK", "CB", "KC", "HD", "TE", "BT", "HN", "DT", "DK", "XD", "TS", "TC",
    "TQ", "TA", "TY", "HG", "LS", "PV", "CN", "HS", "SV", "GB", "GD", "BA",
];

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub fn is_province(code: &str) -> bool {
    PROVINCES.contains(&code)
}

/// What a 12-digit personal ID says of its holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CccdInfo {
    /// 2-digit province of birth registration.
    pub province: &'static str,
    pub male: bool,
    pub birth_year: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    /// Wrong length or characters.
    Format,
    /// Unknown province / object code / benefit digit.
    Province,
    ObjectCode,
    Benefit,
    AllZeros,
}

/// Decode a 12-digit personal ID: province (1–3), sex and century (4), year (5–6).
pub fn cccd(s: &str) -> Result<CccdInfo, IdError> {
    if s.len() != 12 || !digits(s) {
        return Err(IdError::Format);
    }
    if &s[..1] != "0" {
        return Err(IdError::Province);
    }
    let province = PROVINCES
        .iter()
        .find(|p| **p == &s[1..3])
        .ok_or(IdError::Province)?;
    let g = s.as_bytes()[3] - b'0';
    let yy: u16 = s[4..6].parse().map_err(|_| IdError::Format)?;
    Ok(CccdInfo {
        province,
        male: g % 2 == 0,
        birth_year: 1900 + 100 * (g as u16 / 2) + yy,
    })
}

/// Kind of person identifier found in `SO_CCCD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonIdKind {
    /// 12-digit personal identification number (CCCD / căn cước).
    PersonalId,
    /// 9-digit old identity card (CMND).
    Cmnd,
    /// Passport: one upper-case letter and 7 digits.
    Passport,
}

/// Classify and check a `SO_CCCD` value (CTN rule: 9 or 12 digits, or a letter + 7 digits).
pub fn person_id(s: &str) -> Result<PersonIdKind, IdError> {
    let b = s.as_bytes();
    match b.len() {
        12 if digits(s) => cccd(s).map(|_| PersonIdKind::PersonalId),
        9 if digits(s) => Ok(PersonIdKind::Cmnd),
        8 if b[0].is_ascii_uppercase() && digits(&s[1..]) => Ok(PersonIdKind::Passport),
        _ => Err(IdError::Format),
    }
}

/// Check one 15-character BHYT card number `XX N PP DDDDDDDDDD`.
pub fn bhyt_card(s: &str) -> Result<(), IdError> {
    let b = s.as_bytes();
    if b.len() != 15 || !b[..2].iter().all(u8::is_ascii_uppercase) || !digits(&s[2..]) {
        return Err(IdError::Format);
    }
    if !BHYT_OBJECTS.contains(&&s[..2]) {
        return Err(IdError::ObjectCode);
    }
    if !(b'1'..=b'5').contains(&b[2]) {
        return Err(IdError::Benefit);
    }
    let p = &s[3..5];
    if !(is_province(p) || p == "97" || p == "98") {
        return Err(IdError::Province);
    }
    Ok(())
}

/// The 10-digit BHXH number inside a card (its last 10 characters).
pub fn bhxh_of_card(card: &str) -> Option<&str> {
    (card.len() == 15 && digits(&card[5..])).then(|| &card[5..])
}

/// 10-digit social-insurance number, not all zeros.
pub fn bhxh(s: &str) -> Result<(), IdError> {
    if s.len() != 10 || !digits(s) {
        return Err(IdError::Format);
    }
    if s.bytes().all(|b| b == b'0') {
        return Err(IdError::AllZeros);
    }
    Ok(())
}

/// 5-digit facility code.
pub fn is_facility(s: &str) -> bool {
    s.len() == 5 && digits(s)
}

/// ICD-10 as the Vietnamese list writes it: `A00`, `J02.9`, `Q87.11`.
pub fn is_icd10(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() {
        return false;
    }
    // Third character: digit (a few chapters use a letter, e.g. C7A in ICD-10-CM; the
    // MOH list does not).
    if !b[2].is_ascii_digit() {
        return false;
    }
    match b.len() {
        3 => true,
        5 | 6 => {
            b[3] == b'.'
                && b[4..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cccd_decodes_province_sex_and_year() {
        let i = cccd("001090012345").unwrap();
        assert_eq!((i.province, i.male, i.birth_year), ("01", true, 1990));
        let i = cccd("079305000001").unwrap();
        assert_eq!((i.province, i.male, i.birth_year), ("79", false, 2005));
        assert_eq!(cccd("003090012345"), Err(IdError::Province));
        assert_eq!(cccd("00109001234"), Err(IdError::Format));
        assert_eq!(cccd("10109001234X"), Err(IdError::Format));
    }

    #[test]
    fn person_ids() {
        assert_eq!(person_id("001090012345"), Ok(PersonIdKind::PersonalId));
        assert_eq!(person_id("123456789"), Ok(PersonIdKind::Cmnd));
        assert_eq!(person_id("B1234567"), Ok(PersonIdKind::Passport));
        assert_eq!(person_id("b1234567"), Err(IdError::Format));
        assert_eq!(person_id("12345"), Err(IdError::Format));
    }

    #[test]
    fn bhyt_cards() {
        assert_eq!(bhyt_card("DN4010123456789"), Ok(()));
        assert_eq!(bhyt_card("TE1202020893987"), Ok(()));
        assert_eq!(bhyt_card("ZZ4010123456789"), Err(IdError::ObjectCode));
        assert_eq!(bhyt_card("DN6010123456789"), Err(IdError::Benefit));
        assert_eq!(bhyt_card("DN4030123456789"), Err(IdError::Province));
        assert_eq!(bhyt_card("DN401012345678"), Err(IdError::Format));
        assert_eq!(bhxh_of_card("DN4010123456789"), Some("0123456789"));
    }

    #[test]
    fn icd10_codes() {
        for ok in ["J03", "J02.9", "U07.1", "Q87.11", "E11.9"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in ["j03", "J0", "J02.", "J02 9", "J02.999", "JJ2.9", ""] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }

    #[test]
    fn bhxh_numbers() {
        assert_eq!(bhxh("0123456789"), Ok(()));
        assert_eq!(bhxh("0000000000"), Err(IdError::AllZeros));
        assert_eq!(bhxh("123"), Err(IdError::Format));
    }
}
