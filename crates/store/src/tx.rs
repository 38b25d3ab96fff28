//! One transaction over a person's data, for the service layer: it decides who may do
//! what (`book::access`), writes the audit record and reads, all inside one
//! [`crate::Store::transaction`], so that no read is shown whose audit record was not
//! committed with it.

use crate::access::{AuditEntry, AuditRecord, Grant, StaffAccount};
use crate::db::{Db, Q, args};
use crate::{EpisodeRecord, PersonRecord, Result};
use book::access::Place;
use book::access::{Basis, Scope};

/// What may be read and written of a person inside one transaction. No driver type
/// crosses it; the store's other methods read through the same functions.
pub trait BookTx {
    /// The persons `guardian` holds guardianship of.
    fn ward_ids(&self, guardian: i64) -> Result<Vec<i64>>;
    /// The grants on a person, newest first.
    fn grants_on(&self, person: i64) -> Result<Vec<Grant>>;
    /// The grants on a person and on the persons merged into them, newest first.
    fn grants_on_merged(&self, person: i64) -> Result<Vec<Grant>>;
    /// Append one record to the person's audit chain (committed with the transaction).
    fn append_audit(&self, e: &AuditEntry) -> Result<AuditRecord>;
    /// A person's records, newest first, with those of the persons merged into them.
    fn audit_of(&self, person: i64) -> Result<Vec<AuditRecord>>;
    fn person(&self, id: i64) -> Result<Option<PersonRecord>>;
    /// The current episodes of a person's book, newest first.
    fn episodes_of(&self, person: i64) -> Result<Vec<EpisodeRecord>>;
    /// The current episodes admitted in `year`.
    fn episodes_in_year(&self, person: i64, year: i32) -> Result<Vec<EpisodeRecord>>;
    /// The years of the book with their number of episodes, newest first.
    fn episode_years(&self, person: i64) -> Result<Vec<(i32, usize)>>;
    fn episode(&self, person: i64, id: i64) -> Result<Option<EpisodeRecord>>;
    /// Where a facility is (its unit and those above it).
    fn place_of_facility(&self, code: &str) -> Result<Option<Place>>;
    /// Turn a live share code into a grant for `staff` (none when the code is unknown,
    /// spent, revoked or used at another facility already).
    fn redeem_share(&self, code: &str, staff: &StaffAccount, now: i64) -> Result<Option<Grant>>;
    /// A grant on another basis (referral, break-glass), made at `now`, until
    /// `expires_at`.
    #[allow(clippy::too_many_arguments)]
    fn create_grant(
        &self,
        person: i64,
        staff: &StaffAccount,
        basis: Basis,
        scope: Scope,
        reason: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Grant>;
    /// The person's vaccinations (`immunizations.rs`).
    fn immunizations(&self) -> &dyn crate::ImmunizationTx;
    /// The person's QĐ 831 record.
    fn health_record(&self, person: i64) -> Result<Option<crate::StoredRecord>>;
    /// Write `stored` as the next version (refused as a conflict when the record
    /// changed since `stored.version` was read).
    fn save_health_record(
        &self,
        stored: &crate::StoredRecord,
        writer: crate::Writer<'_>,
        changes: &[book::ehr::Change],
    ) -> Result<i64>;
    /// The versions of the person's record, newest first.
    fn record_versions(&self, person: i64) -> Result<Vec<crate::RecordVersion>>;
    /// The person's current BHYT card from the insurance registry.
    fn insurance_card(&self, person: i64) -> Result<Option<crate::InsuranceCard>>;
    /// The person's chronic-care rows (NCD registers, follow-ups, growth; `chronic.rs`).
    fn chronic(&self) -> crate::ChronicTx<'_>;
    /// Open a data-quality record for the station of `unit` (a citizen's error report).
    fn open_issue(&self, person: i64, unit: &str, kind: &str, detail: &str) -> Result<i64>;
    /// Close the open data-quality record `id` of `unit`: the person it names, or
    /// `None` when `unit` has no such open record.
    fn resolve_issue(
        &self,
        unit: &str,
        id: i64,
        by: &str,
        note: &str,
    ) -> Result<Option<Option<i64>>>;
}

/// What a transaction needs of the store beyond its connection: new ids and keyed
/// hashes under the server secret.
pub(crate) trait Keys {
    fn next_id(&self) -> i64;
    fn keyed(&self, parts: &[&str]) -> String;
}

/// [`BookTx`] over one connection.
pub(crate) struct Tx<'a> {
    pub(crate) db: &'a dyn Db,
    pub(crate) audit_key: Option<&'a [u8]>,
    pub(crate) keys: &'a dyn Keys,
}

impl BookTx for Tx<'_> {
    fn chronic(&self) -> crate::ChronicTx<'_> {
        crate::ChronicTx {
            db: self.db,
            keys: self.keys,
        }
    }

    fn immunizations(&self) -> &dyn crate::ImmunizationTx {
        self
    }

    fn health_record(&self, person: i64) -> Result<Option<crate::StoredRecord>> {
        crate::records::read_record(self.db, person)
    }

    fn save_health_record(
        &self,
        stored: &crate::StoredRecord,
        writer: crate::Writer<'_>,
        changes: &[book::ehr::Change],
    ) -> Result<i64> {
        crate::records::save_record(self.db, stored, writer, changes, crate::now_ms())
    }

    fn record_versions(&self, person: i64) -> Result<Vec<crate::RecordVersion>> {
        crate::records::versions(self.db, person)
    }

    fn insurance_card(&self, person: i64) -> Result<Option<crate::InsuranceCard>> {
        crate::records::insurance_card(self.db, person)
    }

    fn resolve_issue(
        &self,
        unit: &str,
        id: i64,
        by: &str,
        note: &str,
    ) -> Result<Option<Option<i64>>> {
        crate::records::resolve_issue_in(self.db, unit, id, by, note, crate::now_ms())
    }

    fn open_issue(&self, person: i64, unit: &str, kind: &str, detail: &str) -> Result<i64> {
        let id = self.keys.next_id();
        crate::records::insert_issue(
            self.db,
            id,
            Some(person),
            unit,
            kind,
            detail,
            crate::now_ms(),
        )?;
        Ok(id)
    }

    fn ward_ids(&self, guardian: i64) -> Result<Vec<i64>> {
        self.db.all(Q::Wards, args![guardian], |r| r.get(0))
    }

    fn grants_on(&self, person: i64) -> Result<Vec<Grant>> {
        let db = self.db;
        db.all(Q::GrantsOn, args![person], |r| {
            crate::access::grant_row(db, r)
        })
    }

    fn grants_on_merged(&self, person: i64) -> Result<Vec<Grant>> {
        let db = self.db;
        let family = crate::core::merged_family(db, person)?;
        db.all(Q::GrantsOnMerged, args![family], |r| {
            crate::access::grant_row(db, r)
        })
    }

    fn append_audit(&self, e: &AuditEntry) -> Result<AuditRecord> {
        crate::access::append_audit_tx(self.db, self.audit_key, e, crate::now_ms())
    }

    fn audit_of(&self, person: i64) -> Result<Vec<AuditRecord>> {
        crate::access::audit_of(self.db, person)
    }

    fn person(&self, id: i64) -> Result<Option<PersonRecord>> {
        crate::core::person_record(self.db, id)
    }

    fn episodes_of(&self, person: i64) -> Result<Vec<EpisodeRecord>> {
        let db = self.db;
        crate::core::episode_rows(db, Q::EpisodesOf, args![person])
    }

    fn episodes_in_year(&self, person: i64, year: i32) -> Result<Vec<EpisodeRecord>> {
        // `start_at` is `NGAY_VAO` as written (`yyyyMMddHHmm`): the year's rows are one
        // range of it. The range may hold a time that does not parse (and so has no
        // `admitted`): the filter after it keeps exactly those of the year.
        let db = self.db;
        let (from, to) = (format!("{year:04}"), format!("{:04}", year + 1));
        let eps = crate::core::episode_rows(db, Q::EpisodesOfYear, args![person, from, to])?;
        Ok(eps
            .into_iter()
            .filter(|e| e.view.admitted.map(|d| chrono::Datelike::year(&d)) == Some(year))
            .collect())
    }

    fn episode_years(&self, person: i64) -> Result<Vec<(i32, usize)>> {
        let mut counts = std::collections::BTreeMap::<i32, usize>::new();
        self.db.query(Q::EpisodeStarts, args![person], &mut |r| {
            let start: String = r.get(0)?;
            // As the dossier's parser read `NGAY_VAO` into `view.admitted`.
            if let Some(d) = dossier::model::conv::parse_datetime(&start) {
                *counts.entry(chrono::Datelike::year(&d)).or_default() += 1;
            }
            Ok(true)
        })?;
        Ok(counts.into_iter().rev().collect())
    }

    fn episode(&self, person: i64, id: i64) -> Result<Option<EpisodeRecord>> {
        let db = self.db;
        db.one(Q::Episode, args![person, id], |r| {
            crate::core::episode_row(db, r)
        })
    }

    fn place_of_facility(&self, code: &str) -> Result<Option<Place>> {
        crate::access::place_of_facility(self.db, code)
    }

    fn redeem_share(&self, code: &str, staff: &StaffAccount, now: i64) -> Result<Option<Grant>> {
        let code = crate::access::normalize_share_code(code);
        // Keyed under the server secret; codes made before version 8 were plain SHA-256
        // (they live 7 days at most).
        let hash = self.keys.keyed(&["share", &code]);
        let legacy = crate::hash_hex(&["share", &code]);
        let id = self.keys.next_id();
        crate::access::redeem_share_tx(self.db, &hash, &legacy, id, staff, now)
    }

    fn create_grant(
        &self,
        person: i64,
        staff: &StaffAccount,
        basis: Basis,
        scope: Scope,
        reason: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Grant> {
        let g = Grant {
            id: self.keys.next_id(),
            person_id: person,
            username: staff.username.clone(),
            facility: staff.facility.clone(),
            basis,
            share_id: None,
            scope,
            reason: Some(reason.to_string()),
            created_at: now,
            expires_at,
            revoked_at: None,
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
        };
        crate::access::insert_grant(self.db, &g)?;
        Ok(g)
    }
}
