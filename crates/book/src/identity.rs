//! Identifiers and the linking rules: which person a dossier is about.
//!
//! Personal ID first; else the BHXH number (the last ten characters of a card, or an
//! old ID card / passport); else the facility's patient ID with name and birth date,
//! as a low-confidence link. Disagreements become conflicts for a person to review;
//! nothing is merged silently.

use chrono::NaiveDate;
use dossier::ids::{self, PersonIdKind};
use dossier::model::{BirthDate, Summary};
use serde::{Deserialize, Serialize};

use crate::text::fold;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// 12-digit personal identification number (CCCD).
    PersonalId,
    /// 9-digit old identity card.
    Cmnd,
    Passport,
    /// A 15-character BHYT card number.
    BhytCard,
    /// The 10-digit social-insurance number (card characters 6–15).
    Bhxh,
    /// `<facility>:<MA_BN>`: the facility's own patient number.
    FacilityPatient,
}

impl IdKind {
    pub fn code(self) -> &'static str {
        match self {
            IdKind::PersonalId => "personal_id",
            IdKind::Cmnd => "cmnd",
            IdKind::Passport => "passport",
            IdKind::BhytCard => "bhyt_card",
            IdKind::Bhxh => "bhxh",
            IdKind::FacilityPatient => "facility_patient",
        }
    }

    pub fn from_code(s: &str) -> Option<IdKind> {
        [
            IdKind::PersonalId,
            IdKind::Cmnd,
            IdKind::Passport,
            IdKind::BhytCard,
            IdKind::Bhxh,
            IdKind::FacilityPatient,
        ]
        .into_iter()
        .find(|k| k.code() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: IdKind,
    pub value: String,
    /// Card validity, when the dossier states it.
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

impl Identifier {
    pub fn new(kind: IdKind, value: impl Into<String>) -> Self {
        Identifier {
            kind,
            value: value.into(),
            valid_from: None,
            valid_to: None,
        }
    }
}

/// What a dossier says about its person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub name: Option<String>,
    pub birth: Option<BirthDate>,
    pub sex: Option<String>,
    pub identifiers: Vec<Identifier>,
}

impl Claims {
    /// The claims of an episode's XML1, sent by `facility`.
    pub fn from_summary(s: &Summary, facility: &str) -> Claims {
        let mut ids = Vec::new();
        if let Some(id) = &s.so_cccd {
            match ids::person_id(id) {
                Ok(PersonIdKind::PersonalId) => ids.push(Identifier::new(IdKind::PersonalId, id)),
                Ok(PersonIdKind::Cmnd) => ids.push(Identifier::new(IdKind::Cmnd, id)),
                Ok(PersonIdKind::Passport) => ids.push(Identifier::new(IdKind::Passport, id)),
                Err(_) => {}
            }
        }
        for (i, card) in s.ma_the_bhyt.iter().enumerate() {
            if ids::bhyt_card(card).is_err() {
                continue;
            }
            ids.push(Identifier {
                kind: IdKind::BhytCard,
                value: card.clone(),
                valid_from: s.gt_the_tu.get(i).copied(),
                valid_to: s.gt_the_den.get(i).copied(),
            });
            if let Some(n) = ids::bhxh_of_card(card)
                && !ids.iter().any(|x| x.kind == IdKind::Bhxh && x.value == n)
            {
                ids.push(Identifier::new(IdKind::Bhxh, n));
            }
        }
        if let Some(mrn) = &s.ma_bn {
            ids.push(Identifier::new(
                IdKind::FacilityPatient,
                format!("{facility}:{mrn}"),
            ));
        }
        Claims {
            name: s.ho_ten.clone(),
            birth: s.ngay_sinh,
            sex: s.gioi_tinh.clone(),
            identifiers: ids,
        }
    }

    pub fn get(&self, kind: IdKind) -> impl Iterator<Item = &Identifier> {
        self.identifiers.iter().filter(move |i| i.kind == kind)
    }
}

/// What the store knows of a person found by an identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub person: i64,
    pub name: Option<String>,
    pub birth: Option<BirthDate>,
    pub personal_id: Option<String>,
}

/// The persons found for each identifier of the claims.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// (identifier, person) for every identifier that is already linked.
    pub found: Vec<(Identifier, Known)>,
}

impl Candidates {
    fn by(&self, kind: IdKind) -> impl Iterator<Item = &(Identifier, Known)> {
        self.found.iter().filter(move |(i, _)| i.kind == kind)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Linked by the personal ID.
    High,
    /// Linked by the BHXH number, an old ID card or a passport.
    Medium,
    /// Linked by the facility's patient number with name and birth date only: flagged.
    Low,
}

impl Confidence {
    pub fn code(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// A disagreement worth a person's review (a data-quality record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// An identifier already belongs to another person than the one linked.
    IdentifierOfOtherPerson {
        identifier: IdKind,
        value: String,
        other_person: i64,
    },
    /// One card (BHXH number) seen with two different personal IDs.
    CardWithTwoPersonalIds {
        bhxh: String,
        stored_personal_id: String,
        claimed_personal_id: String,
    },
    /// The linked person's name or birth date differs from the dossier's.
    Demographics {
        field: String,
        stored: String,
        claimed: String,
    },
    /// Only the facility's patient number links this episode.
    LowConfidenceLink,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Existing(i64),
    New,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub target: Target,
    pub confidence: Confidence,
    pub conflicts: Vec<Conflict>,
}

fn same_name(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => fold(a) == fold(b),
        _ => true,
    }
}

fn same_birth(a: &Option<BirthDate>, b: &Option<BirthDate>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.year == b.year
                && (a.month == 0 || b.month == 0 || (a.month == b.month && a.day == b.day))
        }
        _ => true,
    }
}

fn demographics(k: &Known, c: &Claims, out: &mut Vec<Conflict>) {
    if !same_name(&k.name, &c.name) {
        out.push(Conflict::Demographics {
            field: "HO_TEN".into(),
            stored: k.name.clone().unwrap_or_default(),
            claimed: c.name.clone().unwrap_or_default(),
        });
    }
    if !same_birth(&k.birth, &c.birth) {
        out.push(Conflict::Demographics {
            field: "NGAY_SINH".into(),
            stored: k.birth.map(|b| b.to_string()).unwrap_or_default(),
            claimed: c.birth.map(|b| b.to_string()).unwrap_or_default(),
        });
    }
}

/// Decide which person the claims are about, given who the store found.
pub fn decide(claims: &Claims, cands: &Candidates) -> Decision {
    let mut conflicts = Vec::new();
    let claimed_pid = claims
        .get(IdKind::PersonalId)
        .next()
        .map(|i| i.value.clone());
    // Everyone the secondary identifiers point at.
    let secondary: Vec<&(Identifier, Known)> = cands
        .found
        .iter()
        .filter(|(i, _)| {
            matches!(
                i.kind,
                IdKind::Bhxh | IdKind::BhytCard | IdKind::Cmnd | IdKind::Passport
            )
        })
        .collect();
    let flag_others = |person: i64, conflicts: &mut Vec<Conflict>| {
        for (i, k) in &secondary {
            if k.person != person
                && !conflicts.iter().any(|c| matches!(c, Conflict::IdentifierOfOtherPerson { value, .. } if *value == i.value))
            {
                conflicts.push(Conflict::IdentifierOfOtherPerson {
                    identifier: i.kind,
                    value: i.value.clone(),
                    other_person: k.person,
                });
            }
        }
    };

    // 1. The personal ID.
    if let Some(pid) = &claimed_pid {
        if let Some((_, k)) = cands.by(IdKind::PersonalId).next() {
            demographics(k, claims, &mut conflicts);
            flag_others(k.person, &mut conflicts);
            return Decision {
                target: Target::Existing(k.person),
                confidence: Confidence::High,
                conflicts,
            };
        }
        // Not seen yet: the person a card points at may be the same one, known
        // so far without a personal ID.
        if let Some((_, k)) = cands.by(IdKind::Bhxh).next() {
            match &k.personal_id {
                None if same_name(&k.name, &claims.name) && same_birth(&k.birth, &claims.birth) => {
                    flag_others(k.person, &mut conflicts);
                    return Decision {
                        target: Target::Existing(k.person),
                        confidence: Confidence::High,
                        conflicts,
                    };
                }
                Some(stored) => {
                    for (i, _) in cands.by(IdKind::Bhxh) {
                        conflicts.push(Conflict::CardWithTwoPersonalIds {
                            bhxh: i.value.clone(),
                            stored_personal_id: stored.clone(),
                            claimed_personal_id: pid.clone(),
                        });
                    }
                }
                None => {}
            }
        }
        // A new person: whatever the other identifiers point at is someone else.
        flag_others(-1, &mut conflicts);
        return Decision {
            target: Target::New,
            confidence: Confidence::High,
            conflicts,
        };
    }

    // 2. BHXH number, old ID card, passport.
    for kind in [IdKind::Bhxh, IdKind::Cmnd, IdKind::Passport] {
        if let Some((_, k)) = cands.by(kind).next() {
            demographics(k, claims, &mut conflicts);
            flag_others(k.person, &mut conflicts);
            return Decision {
                target: Target::Existing(k.person),
                confidence: Confidence::Medium,
                conflicts,
            };
        }
    }
    let has_secondary = claims
        .identifiers
        .iter()
        .any(|i| matches!(i.kind, IdKind::Bhxh | IdKind::Cmnd | IdKind::Passport));
    if has_secondary {
        return Decision {
            target: Target::New,
            confidence: Confidence::Medium,
            conflicts,
        };
    }

    // 3. The facility's patient number, with name and birth date.
    conflicts.push(Conflict::LowConfidenceLink);
    if let Some((_, k)) = cands.by(IdKind::FacilityPatient).next() {
        if same_name(&k.name, &claims.name) && same_birth(&k.birth, &claims.birth) {
            return Decision {
                target: Target::Existing(k.person),
                confidence: Confidence::Low,
                conflicts,
            };
        }
        demographics(k, claims, &mut conflicts);
    }
    Decision {
        target: Target::New,
        confidence: Confidence::Low,
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pid: Option<&str>, card: Option<&str>, name: &str) -> Claims {
        let s = Summary {
            ma_bn: Some("BN1".into()),
            ho_ten: Some(name.into()),
            so_cccd: pid.map(Into::into),
            ngay_sinh: BirthDate::parse("199001010000"),
            ma_the_bhyt: card.map(|c| vec![c.to_string()]).unwrap_or_default(),
            ..Summary::default()
        };
        Claims::from_summary(&s, "01001")
    }

    fn known(person: i64, name: &str, pid: Option<&str>) -> Known {
        Known {
            person,
            name: Some(name.into()),
            birth: BirthDate::parse("199001010000"),
            personal_id: pid.map(Into::into),
        }
    }

    #[test]
    fn claims_carry_every_identifier() {
        let c = claims(
            Some("001090012345"),
            Some("DN4010123456789"),
            "Nguyễn Văn A",
        );
        let kinds: Vec<IdKind> = c.identifiers.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                IdKind::PersonalId,
                IdKind::BhytCard,
                IdKind::Bhxh,
                IdKind::FacilityPatient
            ]
        );
        assert_eq!(c.get(IdKind::Bhxh).next().unwrap().value, "0123456789");
        assert_eq!(
            c.get(IdKind::FacilityPatient).next().unwrap().value,
            "01001:BN1"
        );
    }

    #[test]
    fn personal_id_first() {
        let c = claims(
            Some("001090012345"),
            Some("DN4010123456789"),
            "Nguyễn Văn A",
        );
        let cands = Candidates {
            found: vec![
                (
                    Identifier::new(IdKind::PersonalId, "001090012345"),
                    known(7, "Nguyễn Văn A", Some("001090012345")),
                ),
                (
                    Identifier::new(IdKind::Bhxh, "0123456789"),
                    known(9, "Nguyễn Văn A", None),
                ),
            ],
        };
        let d = decide(&c, &cands);
        assert_eq!(d.target, Target::Existing(7));
        assert_eq!(d.confidence, Confidence::High);
        assert!(matches!(
            d.conflicts[0],
            Conflict::IdentifierOfOtherPerson {
                other_person: 9,
                ..
            }
        ));
    }

    #[test]
    fn new_personal_id_joins_the_card_holder_known_without_one() {
        let c = claims(
            Some("001090012345"),
            Some("DN4010123456789"),
            "Nguyen Van A",
        );
        let cands = Candidates {
            found: vec![(
                Identifier::new(IdKind::Bhxh, "0123456789"),
                known(9, "Nguyễn Văn A", None),
            )],
        };
        let d = decide(&c, &cands);
        assert_eq!((d.target, d.conflicts.len()), (Target::Existing(9), 0));
    }

    #[test]
    fn one_card_two_personal_ids_is_a_conflict_not_a_merge() {
        let c = claims(
            Some("001090099999"),
            Some("DN4010123456789"),
            "Nguyễn Văn A",
        );
        let cands = Candidates {
            found: vec![(
                Identifier::new(IdKind::Bhxh, "0123456789"),
                known(9, "Nguyễn Văn A", Some("001090012345")),
            )],
        };
        let d = decide(&c, &cands);
        assert_eq!(d.target, Target::New);
        assert!(
            d.conflicts
                .iter()
                .any(|c| matches!(c, Conflict::CardWithTwoPersonalIds { .. }))
        );
    }

    #[test]
    fn card_links_with_medium_confidence_and_flags_a_name_change() {
        let c = claims(None, Some("DN4010123456789"), "Trần Thị B");
        let cands = Candidates {
            found: vec![(
                Identifier::new(IdKind::Bhxh, "0123456789"),
                known(9, "Nguyễn Văn A", None),
            )],
        };
        let d = decide(&c, &cands);
        assert_eq!(
            (d.target.clone(), d.confidence),
            (Target::Existing(9), Confidence::Medium)
        );
        assert!(
            matches!(&d.conflicts[0], Conflict::Demographics { field, .. } if field == "HO_TEN")
        );
    }

    #[test]
    fn facility_patient_number_is_a_flagged_low_confidence_link() {
        let c = claims(None, None, "Lê Văn C");
        let cands = Candidates {
            found: vec![(
                Identifier::new(IdKind::FacilityPatient, "01001:BN1"),
                known(3, "Le Van C", None),
            )],
        };
        let d = decide(&c, &cands);
        assert_eq!(
            (d.target, d.confidence),
            (Target::Existing(3), Confidence::Low)
        );
        assert_eq!(d.conflicts, vec![Conflict::LowConfidenceLink]);
        // A different name under the same number is a new person, flagged.
        let c = claims(None, None, "Phạm Thị D");
        let d = decide(&c, &cands);
        assert_eq!(d.target, Target::New);
        assert!(d.conflicts.len() >= 2);
    }
}
