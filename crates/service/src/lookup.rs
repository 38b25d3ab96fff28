//! The BHYT card lookup of a facility's reception, as the BHXH gateway answers it
//! (`KQNhanLichSuKCB2024`, shared reference §2.1 #4, registries A2, result codes §7.9):
//! the card's data and validity from the insurance registry (else from the cards the
//! person's dossiers carried), the new card when the card looked up was replaced, the
//! person's recent BHYT visits (header fields only) and the earlier lookups of the card.
//!
//! Every lookup that reaches a person is recorded in the person's audit chain (action
//! `card.lookup`, the facility's account as actor, the member of staff by name) in the
//! same transaction as the reads: what is answered was recorded, or nothing is.

use book::IdKind;
use book::access::{Basis, Role};
use book::text::fold;
use store::{AuditEntry, AuditRecord, BookTx, EpisodeRecord, InsuranceCard, PersonRecord};

use crate::{Result, Service, ServiceError};

/// The audit action of a lookup.
pub const LOOKUP_ACTION: &str = "card.lookup";
/// The most visits a lookup answers (newest first).
pub const MAX_VISITS: usize = 20;
/// The most earlier lookups a lookup answers (newest first).
pub const MAX_PAST_LOOKUPS: usize = 10;

/// The result codes of the card lookup and their messages, as BHXH words them
/// (shared reference §7.9).
pub const CODES: [(&str, &str); 26] = [
    ("000", "Thông tin thẻ BHYT chính xác"),
    (
        "001",
        "Thẻ BHYT do BHXH Bộ Quốc phòng quản lý, đề nghị kiểm tra thẻ BHYT và thông tin giấy tờ tùy thân",
    ),
    (
        "002",
        "Thẻ BHYT do BHXH Bộ Công an quản lý, đề nghị kiểm tra thẻ BHYT và thông tin giấy tờ tùy thân",
    ),
    ("003", "Thẻ BHYT cũ hết giá trị sử dụng, được cấp thẻ mới"),
    ("004", "Thẻ BHYT cũ còn giá trị sử dụng, được cấp thẻ mới"),
    ("010", "Thẻ BHYT hết giá trị sử dụng"),
    ("050", "Không có thông tin thẻ BHYT"),
    ("051", "Mã thẻ BHYT không đúng"),
    (
        "052",
        "Mã tỉnh cấp thẻ BHYT (ký tự thứ 4,5) của thẻ BHYT không đúng",
    ),
    (
        "053",
        "Mã quyền lợi BHYT (ký tự thứ 3) của thẻ BHYT không đúng",
    ),
    (
        "054",
        "Số CCCD của cán bộ thực hiện tra cứu không tồn tại trong danh sách người sử dụng do CSKCB đăng ký",
    ),
    (
        "055",
        "Họ và tên của cán bộ thực hiện tra cứu không khớp với số CCCD",
    ),
    ("060", "Thẻ BHYT sai họ tên"),
    ("061", "Thẻ BHYT sai họ tên (đúng ký tự đầu)"),
    ("070", "Thẻ BHYT sai ngày sinh"),
    ("100", "Lỗi khi lấy dữ liệu sổ thẻ"),
    ("101", "Lỗi server"),
    ("110", "Thẻ BHYT đã thu hồi"),
    ("120", "Thẻ BHYT đã báo giảm"),
    ("121", "Thẻ BHYT đã báo giảm chuyển ngoại tỉnh"),
    ("122", "Thẻ BHYT đã báo giảm chuyển nội tỉnh"),
    ("123", "Thẻ BHYT đã báo giảm do tăng lại cùng đơn vị"),
    ("124", "Thẻ BHYT đã báo giảm ngừng tham gia"),
    ("130", "Trẻ em không xuất trình thẻ BHYT"),
    ("205", "Lỗi sai định dạng tham số"),
    ("401", "Lỗi xác thực tài khoản"),
];

/// The message of a result code ("" for a code not in the list).
pub fn message(code: &str) -> &'static str {
    CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, m)| m)
}

/// What the card lookup is asked for, already checked for form by the caller (the card
/// number's or BHXH number's shape, the birth date, the staff member's CCCD).
#[derive(Clone, Debug)]
pub struct CardQuery {
    pub key: CardKey,
    /// The name as the reception typed it.
    pub name: String,
    pub birth: BirthQuery,
    /// The member of staff looking up, by name and personal ID (CCCD).
    pub staff_name: String,
    pub staff_id: String,
}

/// The card number, or the 10-digit social-insurance number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardKey {
    Card(String),
    Bhxh(String),
}

/// A birth date asked: the year, and the day (`yyyyMMdd`) when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirthQuery {
    pub year: String,
    pub day: Option<String>,
}

/// The answer of a lookup: the result code and message, and the card, visits and
/// earlier lookups when the person was found with the name and birth date given.
#[derive(Clone, Debug, Default)]
pub struct CardLookup {
    pub code: &'static str,
    /// `ghiChu`: what the reception reads.
    pub note: String,
    pub card: Option<CardFacts>,
    pub visits: Vec<Visit>,
    pub past: Vec<PastLookup>,
}

impl CardLookup {
    /// An answer with a code and its message only.
    pub fn bare(code: &'static str) -> CardLookup {
        CardLookup {
            code,
            note: message(code).to_string(),
            ..CardLookup::default()
        }
    }
}

/// The card's data as the lookup shows it (dates `dd/MM/yyyy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardFacts {
    pub card: String,
    pub name: String,
    /// `dd/MM/yyyy`, or `yyyy` when only the year is known.
    pub birth: String,
    /// "Nam", "Nữ", or "" when unknown.
    pub sex: String,
    pub address: String,
    pub first_contact: String,
    /// The issuing BHXH office (not known to healthbook: "").
    pub office: String,
    pub valid_from: String,
    pub valid_to: String,
    pub area: String,
    pub five_years: String,
    pub bhxh_number: String,
    /// The card before this one.
    pub previous: String,
    /// The card that replaced this one.
    pub new_card: Option<NewCard>,
}

/// The card that replaced the one looked up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewCard {
    pub card: String,
    pub valid_from: String,
    pub valid_to: String,
    pub first_contact: String,
    /// The facility's name, filled by the caller (facility names are public).
    pub first_contact_name: String,
}

/// One BHYT visit, header fields only (`dsLichSuKCB2018`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visit {
    /// healthbook's episode id.
    pub record: String,
    pub facility: String,
    /// `yyyyMMddHHmm`.
    pub admitted: String,
    pub discharged: String,
    /// The diagnosis name: only on the asking facility's own visits.
    pub disease: String,
    /// `MA_LOAI_RV`.
    pub discharge_type: String,
    /// `KET_QUA_DTRI`.
    pub outcome: String,
    /// `MA_DOITUONG_KCB`.
    pub category: String,
}

/// An earlier lookup of the card (`dsLichSuKT2018`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PastLookup {
    /// The facility account that looked up.
    pub user: String,
    /// `yyyyMMddHHmm`, Vietnam time.
    pub at: String,
    pub message: String,
    pub code: String,
}

/// One card of the person with its validity (`yyyyMMdd`, "" unknown).
#[derive(Clone, Debug)]
struct KnownCard {
    number: String,
    from: String,
    to: String,
    last_seen: i64,
}

fn compact(day: &str) -> String {
    day.chars().filter(char::is_ascii_digit).collect()
}

/// `dd/MM/yyyy` of `yyyyMMdd` (or of `yyyy-mm-dd`); "" when it is neither.
fn dmy(day: &str) -> String {
    let d = compact(day);
    if d.len() < 8 {
        return String::new();
    }
    format!("{}/{}/{}", &d[6..8], &d[4..6], &d[..4])
}

/// The birth as the lookup writes it: `dd/MM/yyyy`, or the year alone.
fn birth_text(stored: &str) -> String {
    let d = compact(stored);
    if d.len() < 4 {
        return String::new();
    }
    match (d.get(4..6), d.get(6..8)) {
        (Some(m), Some(day)) if m != "00" && day != "00" => format!("{day}/{m}/{}", &d[..4]),
        _ => d[..4].to_string(),
    }
}

fn sex_text(sex: Option<&str>) -> String {
    match sex {
        Some("1") => "Nam".into(),
        Some("2") => "Nữ".into(),
        _ => String::new(),
    }
}

/// Whether the name asked is the person's: "000", else "060", or "061" when only the
/// first letter is right. Accents, case and spacing do not count.
fn name_check(asked: &str, name: Option<&str>) -> &'static str {
    let (a, n) = (fold(asked), fold(name.unwrap_or("")));
    if !n.is_empty() && a == n {
        "000"
    } else if !n.is_empty() && a.chars().next() == n.chars().next() {
        "061"
    } else {
        "060"
    }
}

/// Whether the birth asked is the person's: the year always; the day when both sides
/// know it. A person whose birth the book does not know is not refused on it.
fn birth_matches(asked: &BirthQuery, stored: Option<&str>) -> bool {
    let Some(stored) = stored.map(compact).filter(|d| d.len() >= 4) else {
        return true;
    };
    if stored[..4] != asked.year {
        return false;
    }
    let known = stored
        .get(4..8)
        .filter(|md| md.len() == 4 && !md.starts_with("00") && !md.ends_with("00"));
    match (&asked.day, known) {
        (Some(day), Some(md)) => day[4..] == *md,
        _ => true,
    }
}

/// The cards of a person: the registry's current one (authoritative when there is one),
/// and the cards their dossiers and the registry left as identifiers.
fn known_cards(person: &PersonRecord, registry: Option<&InsuranceCard>) -> Vec<KnownCard> {
    let mut out: Vec<KnownCard> = person
        .identifiers
        .iter()
        .filter(|i| i.kind == IdKind::BhytCard)
        .map(|i| KnownCard {
            number: i.value.clone(),
            from: i.valid_from.as_deref().map(compact).unwrap_or_default(),
            to: i.valid_to.as_deref().map(compact).unwrap_or_default(),
            last_seen: i.last_seen,
        })
        .collect();
    if let Some(r) = registry {
        out.retain(|c| c.number != r.card);
        out.push(KnownCard {
            number: r.card.clone(),
            from: compact(&r.valid_from),
            to: compact(&r.valid_to),
            last_seen: i64::MAX,
        });
    }
    out
}

/// The person's current card: the registry's, else the one valid the latest.
fn current_card(cards: &[KnownCard], registry: Option<&InsuranceCard>) -> Option<KnownCard> {
    if let Some(r) = registry {
        return cards.iter().find(|c| c.number == r.card).cloned();
    }
    cards
        .iter()
        .max_by(|a, b| (&a.to, &a.from, a.last_seen).cmp(&(&b.to, &b.from, b.last_seen)))
        .cloned()
}

/// The visits of the person's book as the lookup shows them: BHYT visits, newest
/// first, header fields only; the diagnosis name only on `facility`'s own visits.
fn visits(episodes: &[EpisodeRecord], facility: &str) -> Vec<Visit> {
    episodes
        .iter()
        .filter(|e| e.view.insured)
        .take(MAX_VISITS)
        .map(|e| {
            let v = &e.view;
            let disease = if e.facility == facility {
                v.discharge_diagnosis
                    .clone()
                    .or_else(|| v.main_diagnosis.as_ref().and_then(|d| d.name.clone()))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Visit {
                record: e.id.to_string(),
                facility: e.facility.clone(),
                admitted: v
                    .admitted
                    .map(|d| d.format("%Y%m%d%H%M").to_string())
                    .unwrap_or_default(),
                discharged: v
                    .discharged
                    .map(|d| d.format("%Y%m%d%H%M").to_string())
                    .unwrap_or_default(),
                disease,
                discharge_type: v
                    .discharge_type
                    .as_ref()
                    .map(|c| c.code.clone())
                    .unwrap_or_default(),
                outcome: v
                    .outcome
                    .as_ref()
                    .map(|c| c.code.clone())
                    .unwrap_or_default(),
                category: v.patient_category.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// The audit target of a lookup: the card answered, the result, and a keyed digest of
/// the staff member's CCCD (whoever holds the CCCD can match it; the person reading
/// their log learns no one's CCCD).
fn target(card: &str, code: &str, staff_digest: &str) -> String {
    format!(
        "{card} {code} cccdCb#{}",
        &staff_digest[..staff_digest.len().min(16)]
    )
}

/// The earlier lookups of `card` in the person's chain, newest first.
fn past_lookups(records: &[AuditRecord], card: &str) -> Vec<PastLookup> {
    records
        .iter()
        .filter(|r| r.action == LOOKUP_ACTION)
        .filter_map(|r| {
            let mut parts = r.target.as_deref()?.split(' ');
            let (c, code) = (parts.next()?, parts.next()?);
            (c == card).then(|| PastLookup {
                user: r.actor.clone(),
                at: store::vn_wall_clock(r.at).format("%Y%m%d%H%M").to_string(),
                message: message(code).to_string(),
                code: code.to_string(),
            })
        })
        .take(MAX_PAST_LOOKUPS)
        .collect()
}

/// `ghiChu` of a card found: its state, then the card as BHXH writes it.
fn note(state: &str, f: &CardFacts) -> String {
    let mut inner: Vec<String> = Vec::new();
    if !f.address.is_empty() {
        inner.push(format!("ĐC: {}", f.address));
    }
    if !f.first_contact.is_empty() {
        inner.push(format!("Nơi KCBBĐ: {}", f.first_contact));
    }
    inner.push(format!("Hạn thẻ: {} - {}", f.valid_from, f.valid_to));
    if !f.five_years.is_empty() {
        inner.push(format!("Thời điểm đủ 5 năm liên tục: {}", f.five_years));
    }
    let mut s = format!(
        "{state}! Mã thẻ: {}, Họ tên: {}, Ngày sinh: {}",
        f.card, f.name, f.birth
    );
    if !f.sex.is_empty() {
        s.push_str(&format!(", Giới tính : {}!", f.sex));
    }
    s.push_str(&format!(" ({}).", inner.join("; ")));
    if let Some(n) = &f.new_card {
        s.push_str(&format!(
            " Thẻ mới: {}, Hạn thẻ mới: {} - {}",
            n.card, n.valid_from, n.valid_to
        ));
        if !n.first_contact.is_empty() {
            s.push_str(&format!(", Nơi KCBBĐ mới: {}", n.first_contact));
        }
        s.push('.');
    }
    s
}

/// The address on the card: the record's permanent address, else the current one.
fn address_of(tx: &dyn BookTx, pid: i64) -> store::Result<String> {
    let Some(stored) = tx.health_record(pid)? else {
        return Ok(String::new());
    };
    let r = &stored.record;
    Ok(r.get("a.permanent_address")
        .or_else(|| r.get("a.current_address"))
        .unwrap_or_default()
        .to_string())
}

impl Service {
    /// Look up a BHYT card at a facility's reception (see the module). `account` is the
    /// facility's gateway account, already authenticated by its token; the caller has
    /// checked the query's form (codes 051–055, 205). Store failures are errors.
    pub fn card_lookup(&self, account: &store::Account, q: &CardQuery) -> Result<CardLookup> {
        // A gateway account is its facility's submitter; it looks up for its reception.
        let submitter = book::access::Principal::Staff {
            username: account.username.clone(),
            role: Role::Submitter,
            scope: book::access::Place {
                facility: Some(account.facility.clone()),
                ..Default::default()
            },
        };
        book::access::authorize(
            &submitter,
            &book::access::Action::LookupCard {
                facility: &account.facility,
            },
        )
        .map_err(ServiceError::Forbidden)?;
        let found = match &q.key {
            CardKey::Card(c) => self.store.person_by_identifier(IdKind::BhytCard, c)?,
            CardKey::Bhxh(b) => self.store.person_by_identifier(IdKind::Bhxh, b)?,
        };
        let Some(found) = found else {
            // Cards of BHXH of the Ministry of Defence (97) and of Public Security (98)
            // are not in the civil registry.
            if let CardKey::Card(c) = &q.key {
                match c.get(3..5) {
                    Some("97") => return Ok(CardLookup::bare("001")),
                    Some("98") => return Ok(CardLookup::bare("002")),
                    _ => {}
                }
            }
            return Ok(CardLookup::bare("050"));
        };
        let pid = found.id;
        let staff_digest = self
            .store
            .document_digest(&[LOOKUP_ACTION, "cccdCb", &q.staff_id]);
        let today = store::vn_now().format("%Y%m%d").to_string();
        let mut out: Option<CardLookup> = None;
        self.store.transaction(true, &mut |tx| {
            let Some(person) = tx.person(pid)? else {
                out = Some(CardLookup::bare("050"));
                return Ok(());
            };
            let registry = tx.insurance_card(pid)?;
            let cards = known_cards(&person, registry.as_ref());
            let current = current_card(&cards, registry.as_ref());
            // The card answered: the one asked for, or the current one of a BHXH number.
            let asked = match &q.key {
                CardKey::Card(c) => cards.iter().find(|k| &k.number == c).cloned(),
                CardKey::Bhxh(b) => current
                    .clone()
                    .filter(|k| k.number.ends_with(b.as_str()))
                    .or_else(|| {
                        cards
                            .iter()
                            .filter(|k| k.number.ends_with(b.as_str()))
                            .max_by(|x, y| (&x.to, &x.from).cmp(&(&y.to, &y.from)))
                            .cloned()
                    }),
            };
            let Some(asked) = asked else {
                out = Some(CardLookup::bare("050"));
                return Ok(());
            };
            let mut answer = match name_check(&q.name, person.name.as_deref()) {
                "000" if !birth_matches(&q.birth, person.birth.as_deref()) => {
                    CardLookup::bare("070")
                }
                "000" => {
                    let replaced = current.as_ref().filter(|c| c.number != asked.number);
                    let expired = !asked.to.is_empty() && asked.to < today;
                    let not_yet = !asked.from.is_empty() && asked.from > today;
                    let code = match (replaced, expired, asked.number.get(3..5)) {
                        (Some(_), true, _) => "003",
                        (Some(_), false, _) => "004",
                        (None, true, _) => "010",
                        (None, false, Some("97")) => "001",
                        (None, false, Some("98")) => "002",
                        (None, false, _) => "000",
                    };
                    let reg = registry.as_ref().filter(|r| r.card == asked.number);
                    let previous = match reg {
                        Some(r) => r.previous.clone().unwrap_or_default(),
                        None => String::new(),
                    };
                    let bhxh_number = registry
                        .as_ref()
                        .and_then(|r| r.bhxh_number.clone())
                        .filter(|b| asked.number.ends_with(b.as_str()))
                        .or_else(|| asked.number.get(5..).map(str::to_string))
                        .unwrap_or_default();
                    let new_card = replaced.map(|c| NewCard {
                        card: c.number.clone(),
                        valid_from: dmy(&c.from),
                        valid_to: dmy(&c.to),
                        first_contact: registry
                            .as_ref()
                            .filter(|r| r.card == c.number)
                            .and_then(|r| r.first_contact.clone())
                            .unwrap_or_default(),
                        first_contact_name: String::new(),
                    });
                    let facts = CardFacts {
                        card: asked.number.clone(),
                        name: person.name.clone().unwrap_or_default(),
                        birth: person.birth.as_deref().map(birth_text).unwrap_or_default(),
                        sex: sex_text(person.sex.as_deref()),
                        address: address_of(tx, pid)?,
                        first_contact: reg
                            .and_then(|r| r.first_contact.clone())
                            .unwrap_or_default(),
                        office: String::new(),
                        valid_from: dmy(&asked.from),
                        valid_to: dmy(&asked.to),
                        area: reg.and_then(|r| r.area.clone()).unwrap_or_default(),
                        five_years: reg
                            .and_then(|r| r.five_years.as_deref())
                            .map(dmy)
                            .unwrap_or_default(),
                        bhxh_number,
                        previous,
                        new_card,
                    };
                    let state = match code {
                        "000" if not_yet => "Thẻ chưa đến hạn sử dụng".to_string(),
                        "000" => "Thẻ còn giá trị sử dụng".to_string(),
                        "010" => "Thẻ hết giá trị sử dụng".to_string(),
                        c => message(c).to_string(),
                    };
                    CardLookup {
                        code,
                        note: note(&state, &facts),
                        card: Some(facts),
                        visits: visits(&tx.episodes_of(pid)?, &account.facility),
                        past: past_lookups(&tx.audit_of(pid)?, &asked.number),
                    }
                }
                wrong => CardLookup::bare(wrong),
            };
            // Recorded with the reads, whatever the answer: a lookup with a wrong name
            // is worth the person's knowing too.
            tx.append_audit(&AuditEntry {
                person_id: pid,
                actor: account.username.clone(),
                role: Role::Submitter,
                facility: Some(account.facility.clone()),
                action: LOOKUP_ACTION.into(),
                target: Some(target(&asked.number, answer.code, &staff_digest)),
                basis: Basis::Reception,
                grant_id: None,
                actor_name: Some(q.staff_name.clone()),
                actor_cert: None,
            })?;
            if answer.card.is_none() {
                answer.visits.clear();
            }
            out = Some(answer);
            Ok(())
        })?;
        Ok(out.unwrap_or_else(|| CardLookup::bare("101")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_births_compare_as_bhxh_does() {
        assert_eq!(
            name_check("nguyen van  TEST", Some("Nguyễn Văn Test")),
            "000"
        );
        assert_eq!(name_check("Nguyễn Văn Tét", Some("Nguyễn Văn Test")), "061");
        assert_eq!(name_check("Trần Văn Test", Some("Nguyễn Văn Test")), "060");
        assert_eq!(name_check("A", None), "060");
        let day = |d: &str| BirthQuery {
            year: d[..4].into(),
            day: Some(d.into()),
        };
        let year = |y: &str| BirthQuery {
            year: y.into(),
            day: None,
        };
        assert!(birth_matches(&day("19900512"), Some("199005120000")));
        assert!(!birth_matches(&day("19900513"), Some("199005120000")));
        assert!(birth_matches(&year("1990"), Some("199005120000")));
        assert!(!birth_matches(&year("1991"), Some("199005120000")));
        // A birth known by its year only compares by year.
        assert!(birth_matches(&day("19900513"), Some("199000000000")));
        assert_eq!(birth_text("199005120000"), "12/05/1990");
        assert_eq!(birth_text("199000000000"), "1990");
        assert_eq!(dmy("2026-01-31"), "31/01/2026");
        assert_eq!(message("070"), "Thẻ BHYT sai ngày sinh");
    }
}
