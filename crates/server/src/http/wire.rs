//! The JSON API's wire types: what a person's data looks like on the wire, stated here
//! field by field and built from the store's rows, so that a change of storage (a column
//! renamed, a row type reshaped) cannot change the public API unnoticed. The episode's
//! clinical content is `book::EpisodeView`, the domain's own projection with its serde
//! contract; everything around it is spelled out.

use book::EpisodeView;
use book::access::{Basis, Scope};
use serde::Serialize;

/// A person as the API shows them.
#[derive(Serialize)]
pub struct Person {
    pub id: i64,
    pub name: Option<String>,
    /// `NGAY_SINH` as written (`yyyyMMdd[HHmm]`).
    pub birth: Option<String>,
    /// `1` male, `2` female.
    pub sex: Option<String>,
    pub personal_id: Option<String>,
    /// Set when this record was merged into another person.
    pub merged_into: Option<i64>,
    pub identifiers: Vec<Identifier>,
}

#[derive(Serialize)]
pub struct Identifier {
    pub kind: book::IdKind,
    pub value: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<(String, String)>,
}

impl From<store::PersonRecord> for Person {
    fn from(p: store::PersonRecord) -> Person {
        Person {
            id: p.id,
            name: p.name,
            birth: p.birth,
            sex: p.sex,
            personal_id: p.personal_id,
            merged_into: p.merged_into,
            identifiers: p
                .identifiers
                .into_iter()
                .map(|i| Identifier {
                    kind: i.kind,
                    value: i.value,
                    valid_from: i.valid_from,
                    valid_to: i.valid_to,
                    first_seen: i.first_seen,
                    last_seen: i.last_seen,
                    periods: i.periods,
                })
                .collect(),
        }
    }
}

/// A book one holds guardianship of.
#[derive(Serialize)]
pub struct Ward {
    pub person: Person,
    pub granted_by: String,
    pub granted_at: i64,
}

impl From<store::Ward> for Ward {
    fn from(w: store::Ward) -> Ward {
        Ward {
            person: w.person.into(),
            granted_by: w.granted_by,
            granted_at: w.granted_at,
        }
    }
}

/// One visit of a book, with its lineage (ms since the epoch) and the names of the
/// facilities it mentions.
#[derive(Serialize)]
pub struct Episode {
    pub id: i64,
    pub person_id: i64,
    pub facility: String,
    pub ma_lk: String,
    pub version: u32,
    pub is_current: bool,
    pub submission_id: i64,
    /// How surely the episode is the person's (`high`, `low`).
    pub confidence: String,
    pub received_at: i64,
    pub validated_at: i64,
    pub linked_at: i64,
    pub visible_at: i64,
    pub view: EpisodeView,
    pub facility_names: std::collections::HashMap<String, String>,
}

impl Episode {
    pub fn of(e: store::EpisodeRecord, facility_names: crate::citizen::Names) -> Episode {
        Episode {
            id: e.id,
            person_id: e.person_id,
            facility: e.facility,
            ma_lk: e.ma_lk,
            version: e.version,
            is_current: e.is_current,
            submission_id: e.submission_id,
            confidence: e.confidence,
            received_at: e.received_at,
            validated_at: e.validated_at,
            linked_at: e.linked_at,
            visible_at: e.visible_at,
            view: e.view,
            facility_names,
        }
    }
}

/// A share code's record (never the code: it is shown once, when made).
#[derive(Serialize)]
pub struct Share {
    pub id: i64,
    pub person_id: i64,
    pub scope: Scope,
    pub created_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<store::Share> for Share {
    fn from(s: store::Share) -> Share {
        Share {
            id: s.id,
            person_id: s.person_id,
            scope: s.scope,
            created_by: s.created_by,
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
        }
    }
}

/// What lets a member of staff open a book for a while.
#[derive(Serialize)]
pub struct Grant {
    pub id: i64,
    pub person_id: i64,
    pub username: String,
    pub facility: Option<String>,
    pub basis: Basis,
    pub share_id: Option<i64>,
    pub scope: Scope,
    /// Break-glass: the written reason; referral: the referral's number.
    pub reason: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub review_note: Option<String>,
}

impl From<store::Grant> for Grant {
    fn from(g: store::Grant) -> Grant {
        Grant {
            id: g.id,
            person_id: g.person_id,
            username: g.username,
            facility: g.facility,
            basis: g.basis,
            share_id: g.share_id,
            scope: g.scope,
            reason: g.reason,
            created_at: g.created_at,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
            reviewed_by: g.reviewed_by,
            reviewed_at: g.reviewed_at,
            review_note: g.review_note,
        }
    }
}

/// One read of a book, as its owner sees it in the access log.
#[derive(Serialize)]
pub struct Read {
    pub person_id: i64,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub actor_name: Option<String>,
    pub practising_cert: Option<String>,
    pub role: String,
    pub facility: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub basis: String,
    pub grant_id: Option<i64>,
    /// The record's place in the person's audit chain.
    pub hash: String,
}

impl From<store::AuditRecord> for Read {
    fn from(r: store::AuditRecord) -> Read {
        Read {
            person_id: r.person_id,
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            actor_name: r.actor_name,
            practising_cert: r.practising_cert,
            role: r.role,
            facility: r.facility,
            action: r.action,
            target: r.target,
            basis: r.basis,
            grant_id: r.grant_id,
            hash: r.hash,
        }
    }
}

/// An administrative unit.
#[derive(Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    /// province | district | commune
    pub level: String,
    pub parent: Option<String>,
    /// pre2025 (province → district → commune) | 2025 (province → commune)
    pub scheme: String,
}

impl From<store::Unit> for Unit {
    fn from(u: store::Unit) -> Unit {
        Unit {
            code: u.code,
            name: u.name,
            level: u.level,
            parent: u.parent,
            scheme: u.scheme,
        }
    }
}

/// A facility of the registry.
#[derive(Serialize)]
pub struct Facility {
    pub code: String,
    pub name: String,
    pub province: String,
    /// hospital | district_health_centre | polyclinic | commune_station | private_clinic
    pub kind: String,
    pub bhyt_contract: bool,
    /// The commune (or district) unit where the facility is.
    pub unit: Option<String>,
}

impl From<store::Facility> for Facility {
    fn from(f: store::Facility) -> Facility {
        Facility {
            code: f.code,
            name: f.name,
            province: f.province,
            kind: f.kind,
            bhyt_contract: f.bhyt_contract,
            unit: f.unit,
        }
    }
}

/// A staff account (never its password).
#[derive(Serialize)]
pub struct StaffAccount {
    pub username: String,
    pub full_name: String,
    pub role: book::access::Role,
    pub unit: Option<String>,
    pub facility: Option<String>,
    pub practising_cert: Option<String>,
    pub active: bool,
}

impl From<store::StaffAccount> for StaffAccount {
    fn from(a: store::StaffAccount) -> StaffAccount {
        StaffAccount {
            username: a.username,
            full_name: a.full_name,
            role: a.role,
            unit: a.unit,
            facility: a.facility,
            practising_cert: a.practising_cert,
            active: a.active,
        }
    }
}

/// Rows of one kind as their wire type.
pub fn all<T, W: From<T>>(rows: Vec<T>) -> Vec<W> {
    rows.into_iter().map(W::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire shape is a contract: a field added, renamed or dropped here must be a
    /// decision (and docs/openapi), never a side effect of a storage change.
    #[test]
    fn the_episode_and_person_shapes_are_stated() {
        let e = Episode::of(
            store::EpisodeRecord {
                id: 1,
                person_id: 2,
                facility: "01001".into(),
                ma_lk: "LK1".into(),
                version: 1,
                is_current: true,
                submission_id: 3,
                confidence: "high".into(),
                received_at: 4,
                validated_at: 5,
                linked_at: 6,
                visible_at: 7,
                view: EpisodeView::default(),
            },
            Default::default(),
        );
        let v = serde_json::to_value(&e).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "confidence",
                "facility",
                "facility_names",
                "id",
                "is_current",
                "linked_at",
                "ma_lk",
                "person_id",
                "received_at",
                "submission_id",
                "validated_at",
                "version",
                "view",
                "visible_at"
            ]
        );
        let p = Person::from(store::PersonRecord {
            id: 1,
            name: Some("Nguyễn Văn A".into()),
            birth: None,
            sex: None,
            personal_id: None,
            merged_into: None,
            identifiers: Vec::new(),
        });
        let v = serde_json::to_value(&p).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "birth",
                "id",
                "identifiers",
                "merged_into",
                "name",
                "personal_id",
                "sex"
            ]
        );
    }
}
