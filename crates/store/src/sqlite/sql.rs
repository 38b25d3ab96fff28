//! The SQL of every statement, SQLite dialect: `?N` parameters, booleans as 0/1,
//! lists as JSON arrays read with `json_each`. Two arrays read as pairs (element `k` of
//! each) are each materialised first: joined directly on `key`, SQLite re-reads the
//! second array for every element of the first (quadratic: 43 ms for 1,000 pairs against
//! 3 ms materialised, where the planner indexes `key`).

use crate::db::Q;

/// The columns every episode query selects first (`core::episode_row` reads them).
macro_rules! episode_cols {
    () => {
        "id, person_id, facility, ma_lk, version, is_current, submission_id, confidence, received_at, validated_at, linked_at, visible_at, body"
    };
}
macro_rules! staff_cols {
    ($p:literal) => {
        concat!(
            $p,
            "username, ",
            $p,
            "full_name, ",
            $p,
            "role, ",
            $p,
            "unit, ",
            $p,
            "facility, ",
            $p,
            "practising_cert, ",
            $p,
            "active"
        )
    };
}
macro_rules! share_cols {
    () => {
        "id, person_id, scope, created_by, created_at, expires_at, revoked_at"
    };
}
macro_rules! grant_cols {
    () => {
        "id, person_id, username, facility, basis, share_id, scope, reason, created_at, expires_at, revoked_at, reviewed_by, reviewed_at, review_note"
    };
}
macro_rules! fhir_client_cols {
    ($p:literal) => {
        concat!(
            $p,
            "client_id, ",
            $p,
            "name, ",
            $p,
            "unit, ",
            $p,
            "scopes, ",
            $p,
            "created_at, ",
            $p,
            "created_by, ",
            $p,
            "active"
        )
    };
}
/// The columns episodes are copied with when they move to another person.
macro_rules! episode_all_cols {
    () => {
        "id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags"
    };
}

/// The SQL of `q`.
pub(crate) fn text(q: Q) -> &'static str {
    match q {
        Q::MaxId => {
            "SELECT MAX(x) FROM (SELECT COALESCE(MAX(id),0) AS x FROM submissions UNION ALL SELECT COALESCE(MAX(id),0) FROM persons UNION ALL SELECT COALESCE(MAX(id),0) FROM dq_issues)"
        }
        Q::Ping => "SELECT 1",
        // The writer's transaction (BEGIN IMMEDIATE) already holds the only write lock.
        Q::LockKey => "SELECT 1 WHERE ?1 IS NOT NULL",
        // The writer's transaction already excludes every other writer.
        Q::LockKeys => "SELECT 1 WHERE ?1 IS NOT NULL",
        Q::IdentifierOwners => {
            "WITH a AS MATERIALIZED (SELECT key, value FROM json_each(?1)),
                  b AS MATERIALIZED (SELECT key, value FROM json_each(?2))
             SELECT q.kind, q.value,
                    (SELECT k.person_id FROM identifier_keys k
                      WHERE k.kind = q.kind AND k.value = q.value AND k.active = 1
                      ORDER BY k.last_seen DESC, k.person_id DESC LIMIT 1)
             FROM (SELECT a.value AS kind, b.value AS value FROM a JOIN b ON b.key = a.key) AS q"
        }
        Q::EpisodesWithReferral => {
            "SELECT person_id, id, body FROM episodes WHERE referral_to IS NOT NULL"
        }
        Q::SetReferralNumber => {
            "UPDATE episodes SET referral_number = ?3 WHERE person_id = ?1 AND id = ?2"
        }
        // ---- ingest
        Q::FacilityCerts => {
            "SELECT facility, fingerprint, subject, issuer, serial, not_before, not_after, der, added_at, added_by, revoked_at, revoked_by FROM facility_certs WHERE facility = ?1 ORDER BY added_at, fingerprint"
        }
        Q::FacilityCertsAll => {
            "SELECT facility, fingerprint, subject, issuer, serial, not_before, not_after, der, added_at, added_by, revoked_at, revoked_by FROM facility_certs ORDER BY facility, added_at, fingerprint"
        }
        Q::InsertFacilityCert => {
            "INSERT INTO facility_certs (facility, fingerprint, subject, issuer, serial, not_before, not_after, der, added_at, added_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (facility, fingerprint) DO NOTHING"
        }
        Q::RevokeFacilityCert => {
            "UPDATE facility_certs SET revoked_at = ?3, revoked_by = ?4
             WHERE facility = ?1 AND fingerprint = ?2 AND revoked_at IS NULL"
        }
        Q::SignatureCounts => {
            // Submissions per facility and verdict received on the days [from, to].
            "SELECT facility, status, SUM(count) FROM facility_signatures WHERE day BETWEEN ?1 AND ?2
             GROUP BY facility, status ORDER BY facility, status"
        }
        Q::FacilitySignature => {
            "INSERT INTO facility_signatures (facility, day, status, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (facility, day, status) DO UPDATE SET count = count + ?4"
        }
        Q::InsertSubmission => {
            "INSERT INTO submissions (id, transaction_code, received_at, validated_at, facility, account, source, kind, spec, accepted, findings, sha256, raw_len, raw_zstd, signature, signer)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        }
        Q::PlainEpisodes => {
            "SELECT person_id, id, body FROM episodes WHERE substr(body, 1, 1) IS NOT x'E1' LIMIT ?1"
        }
        Q::PlainSubmissions => {
            "SELECT id, raw_zstd, findings FROM submissions WHERE substr(raw_zstd, 1, 1) IS NOT x'E1' OR (findings != '[]' AND substr(findings, 1, 1) IS NOT x'E1') LIMIT ?1"
        }
        Q::CryptPending => {
            "SELECT 1 FROM crypt_pending WHERE item = ?1"
        }
        Q::CryptPendingDone => {
            "DELETE FROM crypt_pending WHERE item = ?1"
        }
        Q::PersonsAfter => {
            "SELECT id, name, birth, personal_id FROM persons WHERE id > ?1 ORDER BY id LIMIT ?2"
        }
        Q::SealPerson => {
            "UPDATE persons SET name = ?2, birth = ?3, personal_id = ?4 WHERE id = ?1"
        }
        Q::IdentifiersOfMany => {
            "SELECT person_id, kind, value FROM identifiers WHERE person_id IN (SELECT value FROM json_each(?1))"
        }
        Q::BlindIdentifier => {
            "UPDATE identifiers SET value = ?4, sealed_value = ?5 WHERE person_id = ?1 AND kind = ?2 AND value = ?3"
        }
        Q::BlindIdentifierKeys => {
            "UPDATE identifier_keys SET value = ?3 WHERE kind = ?1 AND value = ?2"
        }
        Q::CardPeriodsOfMany => {
            "SELECT DISTINCT person_id, card FROM card_periods WHERE person_id IN (SELECT value FROM json_each(?1))"
        }
        Q::BlindCardPeriods => {
            "UPDATE card_periods SET card = ?3 WHERE person_id = ?1 AND card = ?2"
        }
        Q::CheckinsAfter => {
            "SELECT facility, ma_lk, id, personal_id, card FROM checkins WHERE (facility, ma_lk, id) > (?1, ?2, ?3) ORDER BY facility, ma_lk, id LIMIT ?4"
        }
        Q::BlindCheckin => {
            "UPDATE checkins SET personal_id = ?4, card = ?5 WHERE facility = ?1 AND ma_lk = ?2 AND id = ?3"
        }
        Q::PopulationPlain => {
            "SELECT personal_id, name, birth FROM population WHERE personal_id < '~' ORDER BY personal_id LIMIT ?1"
        }
        Q::BlindResident => {
            "UPDATE population SET personal_id = ?2, name = ?3, birth = ?4 WHERE personal_id = ?1"
        }
        Q::DqIssuesAfter => {
            "SELECT id, detail FROM dq_issues WHERE id > ?1 ORDER BY id LIMIT ?2"
        }
        Q::SealDqIssue => {
            "UPDATE dq_issues SET detail = ?2 WHERE id = ?1"
        }
        Q::PlainCheckins => {
            "SELECT facility, ma_lk, id, body FROM checkins WHERE substr(body, 1, 1) IS NOT x'E1' LIMIT ?1"
        }
        Q::SealEpisode => {
            "UPDATE episodes SET body = ?3 WHERE person_id = ?1 AND id = ?2"
        }
        Q::SealSubmission => {
            "UPDATE submissions SET raw_zstd = ?2, findings = ?3 WHERE id = ?1"
        }
        Q::SealCheckin => {
            "UPDATE checkins SET body = ?4 WHERE facility = ?1 AND ma_lk = ?2 AND id = ?3"
        }
        Q::DeleteDataKeys => "DELETE FROM data_keys",
        Q::SealHeadsEpisodeBody => "SELECT substr(body, 1, 5) FROM episodes",
        Q::SealHeadsSubmissionRaw => "SELECT substr(raw_zstd, 1, 5) FROM submissions",
        Q::SealHeadsSubmissionFindings => "SELECT substr(findings, 1, 5) FROM submissions WHERE findings != '[]'",
        Q::SealHeadsPersonName => "SELECT substr(name, 1, 9) FROM persons",
        Q::SealHeadsPersonBirth => "SELECT substr(birth, 1, 9) FROM persons",
        Q::SealHeadsPersonId => "SELECT substr(personal_id, 1, 9) FROM persons",
        Q::SealHeadsIdentifierValue => "SELECT substr(sealed_value, 1, 9) FROM identifiers",
        Q::SealHeadsPopulationName => "SELECT substr(name, 1, 9) FROM population",
        Q::SealHeadsDqDetail => "SELECT substr(detail, 1, 9) FROM dq_issues",
        Q::SealHeadsGrantReason => "SELECT substr(reason, 1, 9) FROM grants",
        Q::SealHeadsAuditTarget => "SELECT substr(target, 1, 9) FROM audit_log",
        Q::SealHeadsEpisodeIcd => "SELECT substr(main_icd10, 1, 9) FROM episodes",
        Q::PlainEpisodeIcds => {
            "SELECT person_id, id, main_icd10 FROM episodes WHERE main_icd10 IS NOT NULL AND substr(main_icd10, 1, 1) <> '!' LIMIT ?1"
        }
        Q::SealEpisodeIcd => "UPDATE episodes SET main_icd10 = ?3 WHERE person_id = ?1 AND id = ?2",
        Q::SealHeadsCheckinBody => "SELECT substr(body, 1, 5) FROM checkins",
        Q::DataKeys => "SELECT id, master, wrapped, created_at FROM data_keys ORDER BY id",
        Q::InsertDataKey => {
            "INSERT INTO data_keys (id, master, wrapped, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING"
        }
        Q::RewrapDataKey => {
            "UPDATE data_keys SET master = ?2, wrapped = ?3 WHERE id = ?1"
        }
        Q::InsertCheckin => {
            "INSERT INTO checkins (facility, ma_lk, id, submission_id, received_at, started_at, care_type, category, insured, body, personal_id, card)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        }
        Q::IdentifierOwner => {
            "SELECT person_id FROM identifier_keys WHERE kind = ?1 AND value = ?2 AND active = 1 ORDER BY last_seen DESC, person_id DESC LIMIT 1"
        }
        Q::PersonsKnown => {
            "SELECT id, name, birth, personal_id, merged_into FROM persons
             WHERE id IN (SELECT value FROM json_each(?1))"
        }
        Q::PersonKnown => {
            "SELECT name, birth, personal_id, merged_into FROM persons WHERE id = ?1"
        }
        Q::PersonFillPersonalId => {
            "UPDATE persons SET personal_id = ?2 WHERE id = ?1 AND personal_id IS NULL"
        }
        Q::InsertPerson => {
            "INSERT INTO persons (id, name, birth, sex, personal_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        }
        Q::InsertPersonEvent => {
            "INSERT INTO person_events (person_id, id, kind, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)"
        }
        Q::UpsertIdentifier => {
            concat!(
            "INSERT INTO identifiers (person_id, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, sealed_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)
             ",
            crate::sql::identifier_merge!()
        )
        }
        Q::UpsertIdentifiers => {
            concat!(
            "INSERT INTO identifiers (person_id, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, sealed_value)
             SELECT ?1, k.value, json_extract(?3, '$[' || k.key || ']'),
                    NULLIF(json_extract(?4, '$[' || k.key || ']'), ''),
                    NULLIF(json_extract(?5, '$[' || k.key || ']'), ''), ?6, ?6, ?7,
                    json_extract(?8, '$[' || k.key || ']')
             FROM json_each(?2) k
             WHERE true
             ",
            crate::sql::identifier_merge!()
        )
        }
        Q::UpsertCardPeriod => {
            "INSERT INTO card_periods (person_id, card, valid_from, valid_to, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (person_id, card, valid_from, valid_to) DO UPDATE SET last_seen = excluded.last_seen"
        }
        Q::InsertDqIssue => {
            "INSERT INTO dq_issues (id, person_id, kind, detail, submission_id, facility, ma_lk, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        }
        Q::EpisodeKeysMany => {
            "WITH a AS MATERIALIZED (SELECT key, value FROM json_each(?1)),
                  b AS MATERIALIZED (SELECT key, value FROM json_each(?2))
             SELECT k.facility, k.ma_lk, k.person_id, k.episode_id, k.version, k.content_hash
             FROM (SELECT a.value AS facility, b.value AS ma_lk FROM a JOIN b ON b.key = a.key) AS q
             JOIN episode_keys k ON k.facility = q.facility AND k.ma_lk = q.ma_lk"
        }
        Q::EpisodeKey => {
            "SELECT person_id, episode_id, version, content_hash FROM episode_keys WHERE facility = ?1 AND ma_lk = ?2"
        }
        Q::EpisodeNotCurrent => {
            "UPDATE episodes SET is_current = 0 WHERE person_id = ?1 AND id = ?2"
        }
        Q::InsertEpisode => {
            "INSERT INTO episodes (person_id, id, facility, ma_lk, version, is_current, submission_id, hoso, start_at, end_at, care_type, main_icd10, confidence, received_at, validated_at, linked_at, visible_at, content_hash, body, appointment_at, referral_to, referral_number, insured, dq_flags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
        }
        Q::UpsertEpisodeKey => {
            "INSERT INTO episode_keys (facility, ma_lk, person_id, episode_id, version, content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (facility, ma_lk) DO UPDATE SET person_id = excluded.person_id, episode_id = excluded.episode_id, version = excluded.version, content_hash = excluded.content_hash"
        }
        // ---- reads of the book
        Q::SubmissionsBySha => {
            "SELECT q.value FROM json_each(?1) q
             WHERE EXISTS (SELECT 1 FROM submissions s WHERE s.sha256 = q.value)"
        }
        Q::Submission => {
            "SELECT id, transaction_code, received_at, facility, account, source, kind, spec, accepted, findings, sha256, raw_zstd, signature, signer FROM submissions WHERE transaction_code = ?1"
        }
        Q::Person => {
            "SELECT id, name, birth, sex, personal_id, merged_into FROM persons WHERE id = ?1"
        }
        Q::PersonIdentifiers => {
            "SELECT kind, value, valid_from, valid_to, first_seen, last_seen, sealed_value FROM identifiers WHERE person_id = ?1 ORDER BY kind, first_seen, value"
        }
        Q::PersonsMany => {
            "SELECT id, name, birth, sex, personal_id, merged_into FROM persons
             WHERE id IN (SELECT value FROM json_each(?1))"
        }
        Q::PersonsIdentifiers => {
            "SELECT person_id, kind, value, valid_from, valid_to, first_seen, last_seen, sealed_value FROM identifiers
             WHERE person_id IN (SELECT value FROM json_each(?1)) ORDER BY person_id, kind, first_seen, value"
        }
        Q::PersonsCardPeriods => {
            "SELECT person_id, card, valid_from, valid_to FROM card_periods
             WHERE person_id IN (SELECT value FROM json_each(?1)) ORDER BY person_id, card, valid_from, valid_to"
        }
        Q::PersonCardPeriods => {
            "SELECT card, valid_from, valid_to FROM card_periods WHERE person_id = ?1 ORDER BY card, valid_from, valid_to"
        }
        Q::EpisodesOfYear => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes WHERE person_id = ?1 AND is_current = 1 AND start_at >= ?2 AND start_at < ?3
             ORDER BY start_at DESC, id DESC"
        ),
        Q::EpisodeStarts => "SELECT start_at FROM episodes WHERE person_id = ?1 AND is_current = 1 AND start_at IS NOT NULL",
        Q::EpisodesOf => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes WHERE person_id = ?1 AND is_current = 1 ORDER BY start_at DESC, id DESC"
        ),
        Q::Episode => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes WHERE person_id = ?1 AND id = ?2 AND is_current = 1"
        ),
        Q::EpisodeVersions => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes WHERE facility = ?1 AND ma_lk = ?2 ORDER BY version"
        ),
        Q::DqIssues => {
            "SELECT id, person_id, kind, detail, facility, ma_lk, created_at, status FROM dq_issues ORDER BY id DESC LIMIT ?1"
        }
        Q::Counts => {
            "SELECT (SELECT COUNT(*) FROM submissions), (SELECT COUNT(*) FROM submissions WHERE accepted = 1),
                    (SELECT COUNT(*) FROM persons WHERE merged_into IS NULL), (SELECT COUNT(*) FROM episodes WHERE is_current = 1),
                    (SELECT COUNT(*) FROM episodes), (SELECT COUNT(*) FROM checkins), (SELECT COUNT(*) FROM dq_issues WHERE status = 'open'),
                    (SELECT SUM(raw_len) FROM submissions), (SELECT SUM(length(raw_zstd)) FROM submissions),
                    (SELECT SUM(length(findings)) FROM submissions)"
        }
        // ---- persons: merge and split
        Q::PersonMergedInto => "SELECT merged_into FROM persons WHERE id = ?1",
        Q::MergeIdentifiersCopy => {
            "INSERT OR IGNORE INTO identifiers (person_id, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, active, sealed_value)
             SELECT ?2, kind, value, valid_from, valid_to, first_seen, last_seen, submission_id, active, sealed_value FROM identifiers WHERE person_id = ?1"
        }
        Q::IdentifiersDeactivate => "UPDATE identifiers SET active = 0 WHERE person_id = ?1",
        Q::MergeEpisodesCopy => concat!(
            "INSERT INTO episodes (person_id, ",
            episode_all_cols!(),
            ") SELECT ?2, ",
            episode_all_cols!(),
            " FROM episodes WHERE person_id = ?1"
        ),
        Q::EpisodesDeleteOfPerson => "DELETE FROM episodes WHERE person_id = ?1",
        Q::EpisodeKeysMovePerson => {
            "UPDATE episode_keys SET person_id = ?2 WHERE person_id = ?1"
        }
        Q::PersonSetMergedInto => "UPDATE persons SET merged_into = ?2 WHERE id = ?1",
        Q::PopulationMovePerson => {
            "UPDATE population SET person_id = ?2 WHERE person_id = ?1"
        }
        Q::PersonDemographics => "SELECT name, birth, sex FROM persons WHERE id = ?1",
        Q::EpisodeKeyOf => {
            "SELECT facility, ma_lk FROM episodes WHERE person_id = ?1 AND id = ?2"
        }
        Q::SplitEpisodesCopy => concat!(
            "INSERT INTO episodes (person_id, ",
            episode_all_cols!(),
            ") SELECT ?3, ",
            episode_all_cols!(),
            " FROM episodes WHERE person_id = ?1 AND facility = ?2 AND ma_lk = ?4"
        ),
        Q::EpisodesDeleteOfKey => {
            "DELETE FROM episodes WHERE person_id = ?1 AND facility = ?2 AND ma_lk = ?3"
        }
        Q::EpisodeKeyMove => {
            "UPDATE episode_keys SET person_id = ?3 WHERE facility = ?1 AND ma_lk = ?2"
        }
        // ---- facilities, gateway accounts and tokens
        Q::Facility => {
            "SELECT code, name, province, kind, bhyt_contract, unit FROM facilities WHERE code = ?1"
        }
        Q::FacilityNames => {
            "SELECT code, name FROM facilities WHERE code IN (SELECT value FROM json_each(?1))"
        }
        Q::FacilityExists => "SELECT 1 FROM facilities WHERE code = ?1",
        Q::Facilities => {
            "SELECT code, name, province, kind, bhyt_contract, unit FROM facilities ORDER BY code"
        }
        Q::FacilityPlace => "SELECT province, unit FROM facilities WHERE code = ?1",
        Q::UpsertFacility => {
            "INSERT INTO facilities (code, name, province, kind, bhyt_contract, created_at, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, province = excluded.province, kind = excluded.kind, bhyt_contract = excluded.bhyt_contract, unit = excluded.unit"
        }
        Q::UpsertAccount => {
            "INSERT INTO accounts (username, facility, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (username) DO UPDATE SET facility = excluded.facility, password_hash = excluded.password_hash, active = 1"
        }
        Q::AccountPassword => {
            "SELECT facility, password_hash FROM accounts WHERE username = ?1 AND active = 1"
        }
        Q::TokensExpire => "DELETE FROM tokens WHERE expires_at < ?1",
        Q::InsertToken => {
            "INSERT INTO tokens (access_hash, id_token, username, password_check, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"
        }
        Q::Token => {
            "SELECT t.id_token, t.password_check, a.username, a.facility, t.expires_at FROM tokens t JOIN accounts a ON a.username = t.username AND a.active = 1 WHERE t.access_hash = ?1"
        }
        // ---- citizens: codes, accounts, sessions, guardians
        Q::CitizenAccountExists => "SELECT 1 FROM citizen_accounts WHERE person_id = ?1",
        Q::InsertActivationCode => {
            "INSERT INTO activation_codes (person_id, code_hash, issued_by, issued_at, expires_at, purpose) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        }
        Q::ActivationCodeLive => {
            "SELECT purpose FROM activation_codes WHERE person_id = ?1 AND code_hash = ?2
               AND used_at IS NULL AND expires_at > ?3 AND attempts < ?4"
        }
        Q::ActivationCodesWrongTry => {
            "UPDATE activation_codes SET attempts = attempts + 1 WHERE person_id = ?1 AND used_at IS NULL AND expires_at > ?2"
        }
        Q::ActivationCodesUsed => {
            "UPDATE activation_codes SET used_at = ?2 WHERE person_id = ?1 AND used_at IS NULL"
        }
        Q::UpsertCitizenAccount => {
            "INSERT INTO citizen_accounts (person_id, passcode_hash, activated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (person_id) DO UPDATE SET passcode_hash = excluded.passcode_hash, failed_attempts = 0, locked_until = 0, activated_at = excluded.activated_at"
        }
        Q::CitizenPasscode => "SELECT passcode_hash FROM citizen_accounts WHERE person_id = ?1",
        Q::AccountsActivatedAt => {
            "SELECT person_id, activated_at FROM citizen_accounts WHERE person_id IN (SELECT value FROM json_each(?1))"
        }
        Q::SessionsDeleteOfPerson => "DELETE FROM sessions WHERE person_id = ?1",
        Q::SessionsExpireOfPerson => {
            "DELETE FROM sessions WHERE person_id = ?1 AND expires_at < ?2"
        }
        Q::InsertSession => {
            "INSERT INTO sessions (person_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)"
        }
        Q::SessionPerson => {
            "SELECT person_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2"
        }
        Q::SessionDelete => "DELETE FROM sessions WHERE token_hash = ?1",
        Q::UpsertGuardianship => {
            "INSERT INTO guardianships (guardian_id, ward_id, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (guardian_id, ward_id) DO UPDATE SET granted_by = excluded.granted_by, granted_at = excluded.granted_at, revoked_at = NULL"
        }
        Q::RevokeGuardianship => {
            "UPDATE guardianships SET revoked_at = ?3 WHERE guardian_id = ?1 AND ward_id = ?2 AND revoked_at IS NULL"
        }
        // ---- lookup tables: a value leads to its person
        Q::UpsertIdentifierKeys => {
            "INSERT INTO identifier_keys (kind, value, person_id, last_seen)
             SELECT k.value, json_extract(?2, '$[' || k.key || ']'), ?3, ?4 FROM json_each(?1) k
             WHERE true
             ON CONFLICT (kind, value, person_id) DO UPDATE SET last_seen = excluded.last_seen"
        }
        Q::UpsertIdentifierKey => {
            "INSERT INTO identifier_keys (kind, value, person_id, last_seen) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, value, person_id) DO UPDATE SET last_seen = excluded.last_seen"
        }
        Q::MergeIdentifierKeysCopy => {
            "INSERT OR IGNORE INTO identifier_keys (kind, value, person_id, active, last_seen)
             SELECT kind, value, ?2, active, last_seen FROM identifiers WHERE person_id = ?1"
        }
        Q::IdentifierKeysDeactivate => {
            "UPDATE identifier_keys SET active = 0
             WHERE person_id = ?1 AND (kind, value) IN (SELECT kind, value FROM identifiers WHERE person_id = ?1)"
        }
        Q::InsertShareKey => {
            "INSERT INTO share_keys (code_hash, person_id, share_id) VALUES (?1, ?2, ?3)"
        }
        Q::ShareKey => {
            "SELECT person_id, share_id FROM share_keys WHERE code_hash IN (?1, ?2) LIMIT 1"
        }
        Q::UpsertWardGuardian => {
            "INSERT INTO ward_guardians (ward_id, guardian_id, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (ward_id, guardian_id) DO UPDATE SET granted_by = excluded.granted_by, granted_at = excluded.granted_at, revoked_at = NULL"
        }
        Q::RevokeWardGuardian => {
            "UPDATE ward_guardians SET revoked_at = ?3 WHERE ward_id = ?1 AND guardian_id = ?2 AND revoked_at IS NULL"
        }
        Q::Wards => {
            "SELECT ward_id, granted_by, granted_at FROM guardianships WHERE guardian_id = ?1 AND revoked_at IS NULL ORDER BY granted_at, 1"
        }
        Q::GuardiansOf => {
            "SELECT guardian_id, granted_by, granted_at FROM ward_guardians WHERE ward_id = ?1 AND revoked_at IS NULL ORDER BY granted_at, 1"
        }
        // ---- scans for export
        Q::EpisodesSize => "SELECT COALESCE(MAX(rowid), 0) FROM episodes",
        Q::EpisodesOfFacilitiesUpTo => {
            "SELECT COUNT(*) FROM (SELECT 1 FROM episodes
             WHERE facility IN (SELECT value FROM json_each(?1)) LIMIT ?2)"
        }
        // `+facility` keeps the planner on the primary key, in person order: with the
        // facility index it would sort every match again for each page (4.1 s against
        // 0.55 s for 47 k of 500 k rows).
        Q::ScanEpisodesByKey => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes
             WHERE (person_id, id) > (?3, ?4) AND is_current = 1 AND visible_at >= ?2
               AND +facility IN (SELECT value FROM json_each(?1))
             ORDER BY person_id, id LIMIT ?5"
        ),
        Q::EpisodeKeysOfFacility => {
            "SELECT ma_lk, version, person_id, id FROM episodes
             WHERE facility = ?1 AND (ma_lk, version) > (?2, ?3)
               AND is_current = 1 AND visible_at >= ?4
             ORDER BY ma_lk, version LIMIT ?5"
        }
        Q::EpisodesByKeys => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes
             WHERE (person_id, id) IN (
                 WITH p AS MATERIALIZED (SELECT key, value FROM json_each(?1)),
                      i AS MATERIALIZED (SELECT key, value FROM json_each(?2))
                 SELECT p.value, i.value FROM p JOIN i ON i.key = p.key)
             ORDER BY person_id, id"
        ),
        // ---- units and staff
        Q::UnitLevelParent => "SELECT level, parent FROM units WHERE code = ?1 ORDER BY valid_from DESC LIMIT 1",
        Q::UnitExists => "SELECT 1 FROM units WHERE code = ?1",
        Q::UpsertUnit => {
            "INSERT INTO units (code, name, level, parent, scheme, created_at, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (code, valid_from) DO UPDATE SET name = excluded.name, level = excluded.level, parent = excluded.parent, scheme = excluded.scheme, valid_to = excluded.valid_to"
        }
        Q::Units => "SELECT code, name, level, parent, scheme FROM units ORDER BY scheme, code",
        // ---- units across the 2025 reform
        Q::UnitInScheme => "SELECT level, parent FROM units WHERE code = ?1 AND scheme = ?2",
        Q::UnitNewest => {
            "SELECT level, scheme, valid_to FROM units WHERE code = ?1 ORDER BY valid_from DESC LIMIT 1"
        }
        Q::UnitLinksDelete => "DELETE FROM unit_lineage WHERE old_level = ?1 AND old_code = ?2",
        Q::InsertUnitLink => {
            "INSERT INTO unit_lineage (old_level, old_code, new_level, new_code, relation, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Q::UnitLinks => {
            "SELECT old_level, old_code, new_level, new_code, relation, note FROM unit_lineage ORDER BY old_level, old_code, new_level, new_code"
        }
        Q::StaffExists => "SELECT 1 FROM staff WHERE username = ?1",
        Q::InsertStaff => {
            "INSERT INTO staff (username, full_name, role, unit, facility, practising_cert, password_hash, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
        Q::UpdateStaff => {
            "UPDATE staff SET full_name = ?2, role = ?3, unit = ?4, facility = ?5, practising_cert = ?6, active = ?7 WHERE username = ?1"
        }
        Q::StaffPassword => {
            "UPDATE staff SET password_hash = ?2, failed_attempts = 0, locked_until = 0 WHERE username = ?1"
        }
        Q::StaffSessionsDeleteOf => "DELETE FROM staff_sessions WHERE username = ?1",
        Q::Staff => concat!("SELECT ", staff_cols!(""), " FROM staff WHERE username = ?1"),
        Q::StaffList => concat!(
            "SELECT ",
            staff_cols!(""),
            " FROM staff ORDER BY facility, unit, username"
        ),
        Q::StaffWithPassword => concat!(
            "SELECT ",
            staff_cols!(""),
            ", password_hash FROM staff WHERE username = ?1"
        ),
        Q::StaffSessionsExpire => {
            "DELETE FROM staff_sessions WHERE username = ?1 AND expires_at < ?2"
        }
        Q::InsertStaffSession => {
            "INSERT INTO staff_sessions (token_hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)"
        }
        Q::StaffSession => concat!(
            "SELECT ",
            staff_cols!("a."),
            " FROM staff_sessions s JOIN staff a ON a.username = s.username
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.active = 1"
        ),
        Q::StaffSessionDelete => "DELETE FROM staff_sessions WHERE token_hash = ?1",
        Q::PractitionerNames => {
            "SELECT practising_cert, full_name FROM staff
             WHERE practising_cert IN (SELECT value FROM json_each(?1)) AND active = 1"
        }
        // ---- consent and grants
        Q::InsertShare => concat!(
            "INSERT INTO shares (",
            share_cols!(),
            ", code_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)"
        ),
        Q::SharesOf => concat!(
            "SELECT ",
            share_cols!(),
            " FROM shares WHERE person_id = ?1 ORDER BY id DESC"
        ),
        Q::RevokeShare => {
            "UPDATE shares SET revoked_at = ?3 WHERE person_id = ?1 AND id = ?2 AND revoked_at IS NULL"
        }
        Q::RevokeGrantsOfShare => {
            "UPDATE grants SET revoked_at = ?3 WHERE person_id = ?1 AND share_id = ?2 AND revoked_at IS NULL"
        }
        Q::Share => concat!(
            "SELECT ",
            share_cols!(),
            " FROM shares WHERE person_id = ?1 AND id = ?2"
        ),
        Q::ShareUsedElsewhere => {
            "SELECT 1 FROM grants WHERE person_id = ?1 AND share_id = ?2 AND facility IS NOT ?3"
        }
        Q::InsertGrant => concat!(
            "INSERT INTO grants (",
            grant_cols!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, NULL, NULL)"
        ),
        Q::LiveGrant => concat!(
            "SELECT ",
            grant_cols!(),
            " FROM grants WHERE username = ?1 AND person_id = ?2 AND revoked_at IS NULL AND expires_at > ?3
             ORDER BY scope = 'full' DESC, expires_at DESC, id DESC LIMIT 1"
        ),
        Q::LiveGrantsOf => concat!(
            "SELECT ",
            grant_cols!(),
            " FROM grants WHERE username = ?1 AND expires_at > ?2 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC"
        ),
        Q::GrantsOn => concat!(
            "SELECT ",
            grant_cols!(),
            " FROM grants WHERE person_id = ?1 ORDER BY id DESC"
        ),
        Q::GrantsOnMerged => concat!(
            "SELECT ",
            grant_cols!(),
            " FROM grants WHERE person_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at DESC, id DESC"
        ),
        Q::MergeEventsOf => {
            "SELECT kind, detail, at FROM person_events WHERE person_id = ?1 AND kind IN ('merged', 'split')"
        }
        Q::BreakGlassOf => concat!(
            "SELECT ",
            grant_cols!(),
            " FROM grants WHERE basis = 'break_glass' AND facility = ?1 ORDER BY created_at DESC, id DESC"
        ),
        Q::ReviewBreakGlass => {
            "UPDATE grants SET reviewed_by = ?3, reviewed_at = ?4, review_note = ?5
             WHERE person_id = ?1 AND id = ?2 AND basis = 'break_glass' AND reviewed_at IS NULL"
        }
        Q::FindReferrals => concat!(
            "SELECT ",
            episode_cols!(),
            " FROM episodes WHERE referral_to = ?1 AND referral_number = ?2 AND person_id = ?3 AND is_current = 1
             ORDER BY id DESC LIMIT 20"
        ),
        Q::ResidenceOf => {
            "SELECT unit FROM population WHERE personal_id = ?1 AND status = 'alive'"
        }
        Q::EpisodeAtSince => {
            "SELECT 1 FROM episodes WHERE person_id = ?1 AND facility = ?2 AND is_current = 1 AND start_at >= ?3"
        }
        Q::CheckinAtSince => {
            "SELECT 1 FROM checkins WHERE facility = ?1 AND started_at >= ?2
               AND (personal_id IN (SELECT value FROM json_each(?3)) OR card IN (SELECT value FROM json_each(?3)))"
        }
        Q::IdentityConflicts => {
            "SELECT COUNT(*) FROM dq_issues WHERE facility = ?1 AND ma_lk = ?2
               AND kind IN ('identifier_of_other_person', 'card_with_two_personal_ids', 'demographics', 'low_confidence_link')"
        }
        // ---- audit
        Q::AuditHead => "SELECT seq, hash FROM audit_heads WHERE person_id = ?1",
        Q::AuditCheckpointFloor => {
            "SELECT COALESCE((SELECT at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1), 0)"
        }
        Q::InsertAudit => {
            "INSERT INTO audit_log (person_id, seq, at, actor, role, facility, action, target, basis, grant_id, prev_hash, hash, actor_name, actor_cert)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        }
        Q::UpsertAuditHead => {
            "INSERT INTO audit_heads (person_id, seq, hash) VALUES (?1, ?2, ?3)
             ON CONFLICT (person_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
        }
        // The person and those merged into them (core::merged_family).
        Q::AuditOf => {
            "SELECT person_id, seq, at, actor, actor_name, actor_cert, role, facility, action, target, basis, grant_id, hash
             FROM audit_log WHERE person_id IN (SELECT value FROM json_each(?1))
             ORDER BY at DESC, person_id, seq DESC"
        }
        Q::AuditWindow => {
            "SELECT person_id, seq, hash FROM audit_log WHERE at > ?1 AND at <= ?2 ORDER BY person_id, seq"
        }
        // The write transaction (BEGIN IMMEDIATE) already holds the only write lock.
        Q::LockCheckpoints => "UPDATE audit_checkpoints SET seq = seq WHERE 0",
        Q::AuditNewest => "SELECT COALESCE(MAX(at), 0) FROM audit_log",
        Q::UpsertAuditCheckpoint => {
            "INSERT INTO audit_checkpoints (seq, at, records, digest) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (seq) DO UPDATE SET at = excluded.at, records = excluded.records, digest = excluded.digest"
        }
        Q::AuditAll => {
            "SELECT person_id, seq, at, actor, role, facility, action, target, basis, grant_id, prev_hash, hash, actor_name, actor_cert
             FROM audit_log ORDER BY person_id, seq"
        }
        Q::AuditHeads => "SELECT person_id, seq, hash FROM audit_heads ORDER BY person_id",
        Q::AuditHeadsOf => {
            "SELECT person_id, seq, hash FROM audit_heads WHERE person_id IN (SELECT value FROM json_each(?1))"
        }
        // ---- FHIR clients
        Q::InsertFhirClient => concat!(
            "INSERT INTO fhir_clients (",
            fhir_client_cols!(""),
            ", secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)"
        ),
        Q::FhirClients => concat!(
            "SELECT ",
            fhir_client_cols!(""),
            " FROM fhir_clients ORDER BY created_at, client_id"
        ),
        Q::DisableFhirClient => "UPDATE fhir_clients SET active = 0 WHERE client_id = ?1",
        Q::FhirTokensDeleteOf => "DELETE FROM fhir_tokens WHERE client_id = ?1",
        Q::FhirClientWithSecret => concat!(
            "SELECT ",
            fhir_client_cols!(""),
            ", secret_hash FROM fhir_clients WHERE client_id = ?1 AND active = 1"
        ),
        Q::FhirTokensExpire => {
            "DELETE FROM fhir_tokens WHERE client_id = ?1 AND expires_at < ?2"
        }
        Q::InsertFhirToken => {
            "INSERT INTO fhir_tokens (token_hash, client_id, scopes, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"
        }
        Q::FhirToken => concat!(
            "SELECT ",
            fhir_client_cols!("c."),
            ", t.scopes FROM fhir_tokens t JOIN fhir_clients c ON c.client_id = t.client_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND c.active = 1"
        ),
        // ---- report aggregates, kept at ingest
        Q::AdoptionUnitAdd => {
            "INSERT INTO adoption_units (unit, alive) VALUES (?1, ?2)
             ON CONFLICT (unit) DO UPDATE SET alive = alive + ?2"
        }
        Q::AdoptionMonthAdd => {
            "INSERT INTO adoption_monthly (unit, month, books, accounts) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (unit, month) DO UPDATE SET books = books + ?3, accounts = accounts + ?4"
        }
        Q::ResidentStates => {
            "SELECT personal_id, unit, status, book_since, account_since FROM population
             WHERE personal_id IN (SELECT value FROM json_each(?1))"
        }
        Q::ResidentState => {
            "SELECT unit, status, book_since, account_since FROM population WHERE personal_id = ?1"
        }
        Q::PopulationLinkPerson => {
            "UPDATE population SET person_id = ?2 WHERE personal_id = ?1 AND person_id IS NOT ?2"
        }
        Q::PopulationSince => {
            "UPDATE population SET person_id = COALESCE(?2, person_id), book_since = ?3, account_since = ?4 WHERE personal_id = ?1"
        }
        Q::FacilityDailyEpisode => {
            "INSERT INTO facility_daily (facility, day, care_type, insured, dossiers, with_personal_id, with_card, with_icd,
                                         late_6h, late_24h, late_3d, late_7d, late_more, late_unknown)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (facility, day, care_type, insured) DO UPDATE SET dossiers = dossiers + ?5,
               with_personal_id = with_personal_id + ?6, with_card = with_card + ?7, with_icd = with_icd + ?8,
               late_6h = late_6h + ?9, late_24h = late_24h + ?10, late_3d = late_3d + ?11, late_7d = late_7d + ?12,
               late_more = late_more + ?13, late_unknown = late_unknown + ?14"
        }
        Q::InsertLateDossier => {
            "INSERT OR IGNORE INTO late_dossiers (facility, ma_lk, person_id, episode_id, ended_at, received_at, hours)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Q::FacilityDailyCheckin => {
            "INSERT INTO facility_daily (facility, day, care_type, insured, checkins) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (facility, day, care_type, insured) DO UPDATE SET checkins = checkins + ?5"
        }
        Q::FacilityReceipt => {
            "INSERT INTO facility_receipts (facility, day, submissions, rejected, last_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (facility, day) DO UPDATE SET submissions = submissions + ?3, rejected = rejected + ?4, last_at = MAX(last_at, ?5)"
        }
        Q::FacilityError => {
            "INSERT INTO facility_errors (facility, day, code, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (facility, day, code) DO UPDATE SET count = count + ?4"
        }
        Q::FacilitySlaCount => {
            "INSERT INTO facility_sla (facility, day, bucket, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (facility, day, bucket) DO UPDATE SET count = count + ?4"
        }
        Q::SlaCount => {
            "INSERT INTO sla_daily (day, bucket, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (day, bucket) DO UPDATE SET count = count + ?3"
        }
        // ---- reports
        Q::FirstReceipts => {
            "SELECT person_id, MIN(received_at) FROM episodes WHERE person_id IN (SELECT value FROM json_each(?1)) GROUP BY person_id"
        }
        Q::AdoptionUnits => "SELECT unit, alive FROM adoption_units",
        Q::AdoptionTotals => {
            "SELECT unit, SUM(books), SUM(accounts) FROM adoption_monthly GROUP BY unit"
        }
        Q::AdoptionTrend => {
            "SELECT unit, month, books, accounts FROM adoption_monthly WHERE books != 0 OR accounts != 0 ORDER BY unit, month"
        }
        Q::FacilityStats => {
            "SELECT facility, care_type, insured, SUM(checkins), SUM(dossiers), SUM(late_6h), SUM(late_24h), SUM(late_3d), SUM(late_7d),
                    SUM(late_more), SUM(late_unknown), SUM(with_personal_id), SUM(with_card), SUM(with_icd)
             FROM facility_daily WHERE day BETWEEN ?1 AND ?2 GROUP BY facility, care_type, insured ORDER BY facility, care_type, insured"
        }
        Q::ReceiptStats => {
            "SELECT facility, SUM(submissions), SUM(rejected), MAX(last_at) FROM facility_receipts
             WHERE day BETWEEN ?1 AND ?2 GROUP BY facility ORDER BY facility"
        }
        Q::LastReceipts => {
            "SELECT facility, MAX(last_at) FROM facility_receipts GROUP BY facility"
        }
        Q::ErrorStats => {
            "SELECT facility, code, SUM(count) AS n FROM facility_errors WHERE day BETWEEN ?1 AND ?2
             GROUP BY facility, code ORDER BY facility, n DESC, code"
        }
        Q::FacilitySla => {
            "SELECT facility, day, bucket, count FROM facility_sla WHERE day BETWEEN ?1 AND ?2
             ORDER BY facility, day, bucket"
        }
        Q::SlaHistogram => {
            "SELECT day, bucket, count FROM sla_daily WHERE day BETWEEN ?1 AND ?2 ORDER BY day, bucket"
        }
        Q::LateDossiers => {
            "SELECT facility, ma_lk, person_id, episode_id, ended_at, received_at, hours FROM late_dossiers
             WHERE received_at >= ?1 AND received_at < ?2 ORDER BY received_at DESC LIMIT ?3"
        }
        Q::OpenConflicts => {
            "SELECT COALESCE(facility, ''), COUNT(*) FROM dq_issues WHERE status = 'open' GROUP BY facility"
        }
        Q::UnitReportDelete => "DELETE FROM unit_reports WHERE unit = ?1 AND month = ?2",
        Q::InsertUnitReport => {
            "INSERT INTO unit_reports (unit, month, department, total_staff, vneid_activated, vneid_not, vneid_reason, book_created, card_integrated, card_not, card_reason, submitted_by, submitted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        }
        Q::UnitReports => {
            "SELECT unit, department, total_staff, vneid_activated, vneid_not, vneid_reason, book_created, card_integrated, card_not, card_reason, submitted_by, submitted_at
             FROM unit_reports WHERE month = ?1 ORDER BY unit, department"
        }
        Q::SubmissionsWithFindings => {
            "SELECT facility, received_at, findings, id FROM submissions WHERE findings != '[]'"
        }
        // Recount every aggregate from its rows (a script: several statements). Lateness
        // is the receipt time less NGAY_RA read as Vietnam wall clock (UTC+7).
        // ---- the QĐ 831 records and registry deltas (records.rs)
        Q::HealthRecord => {
            "SELECT version, commune, status, body, created_at, updated_at FROM health_records WHERE person_id = ?1"
        }
        Q::HealthRecordVersions => {
            "SELECT version, source, by_user, by_unit, changes, at FROM health_record_versions WHERE person_id = ?1 ORDER BY version DESC"
        }
        Q::UpdateHealthRecord => {
            "UPDATE health_records SET version = ?3, commune = ?4, status = ?5, complete_a = ?6, complete_b = ?7,
                    birth = ?8, last_exam = ?9, body = ?10, updated_at = ?11
             WHERE person_id = ?1 AND version = ?2"
        }
        Q::HealthRecordsExist => {
            "SELECT person_id FROM health_records WHERE person_id IN (SELECT value FROM json_each(?1))"
        }
        Q::HealthRecordCommune => {
            "SELECT commune FROM health_records WHERE person_id = ?1"
        }
        Q::SetDqUnit => "UPDATE dq_issues SET unit = ?2 WHERE id = ?1",
        Q::CloseHealthRecord => {
            "UPDATE health_records SET status = 'closed', updated_at = ?2 WHERE person_id = ?1"
        }
        Q::OpenMismatches => {
            "SELECT DISTINCT person_id FROM dq_issues WHERE kind = 'registry_mismatch' AND status = 'open' AND person_id IN (SELECT value FROM json_each(?1))"
        }
        Q::OpenMismatchCount => {
            "SELECT COUNT(*) FROM dq_issues WHERE kind = 'registry_mismatch' AND status = 'open'"
        }
        Q::OpenMismatchesByUnit => {
            "SELECT unit, COUNT(*) FROM dq_issues WHERE kind = 'registry_mismatch' AND status = 'open' AND unit IS NOT NULL GROUP BY unit"
        }
        Q::InsertStationIssue => {
            "INSERT INTO dq_issues (id, person_id, kind, detail, created_at, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        }
        Q::StationIssues => {
            "SELECT id, person_id, kind, detail, created_at, status, resolved_by, resolved_at FROM dq_issues
             WHERE unit = ?1 AND (?2 = 0 OR status = 'open') ORDER BY id DESC LIMIT ?3"
        }
        Q::StationIssue => {
            "SELECT id, person_id, kind, detail, created_at, status, resolved_by, resolved_at FROM dq_issues WHERE id = ?1"
        }
        Q::ResolveStationIssue => {
            "UPDATE dq_issues SET status = 'resolved', resolved_by = ?3, resolved_at = ?4, detail = ?5
             WHERE id = ?1 AND unit = ?2 AND status = 'open'"
        }
        Q::PopulationDeath => {
            "UPDATE population SET status = 'dead', died_on = ?2, updated_at = ?3 WHERE personal_id = ?1"
        }
        Q::PopulationMove => {
            "UPDATE population SET unit = ?2, status = 'alive', updated_at = ?3 WHERE personal_id = ?1"
        }
        Q::PopulationRow => {
            "SELECT name, birth FROM population WHERE personal_id = ?1"
        }
        Q::PopulationRekey => {
            "UPDATE population SET personal_id = ?2, name = ?3, birth = ?4, updated_at = ?5 WHERE personal_id = ?1"
        }
        Q::SetPersonalId => {
            "UPDATE persons SET personal_id = ?2 WHERE id = ?1"
        }
        Q::InsuranceCard => {
            "SELECT body, valid_to, updated_at FROM insurance_cards WHERE person_id = ?1"
        }
        Q::CommuneRecords => {
            "SELECT h.person_id, h.version, h.status, h.complete_a, h.complete_b, h.birth, h.last_exam,
                    p.name, p.sex, p.birth, p.personal_id
             FROM health_records h JOIN persons p ON p.id = h.person_id
             WHERE h.commune = ?1 ORDER BY h.person_id"
        }
        Q::RegistryBatch => {
            "SELECT source, digest, outcome FROM registry_batches WHERE id = ?1"
        }
        // Per commune and status: records, parts A and B complete, examined in the
        // year [?1, ?2), elderly (born on or before ?3: a bare year is its 31 December),
        // elderly examined in the year.
        Q::RecordSummaries => {
            "SELECT commune, status, COUNT(*), CAST(SUM(complete_a) AS BIGINT), CAST(SUM(complete_b) AS BIGINT),
                    SUM(CASE WHEN last_exam >= ?1 AND last_exam < ?2 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN CASE WHEN length(birth) = 4 THEN birth || '-12-31' ELSE birth END <= ?3 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN CASE WHEN length(birth) = 4 THEN birth || '-12-31' ELSE birth END <= ?3 AND last_exam >= ?1 AND last_exam < ?2 THEN 1 ELSE 0 END)
             FROM health_records WHERE commune IS NOT NULL GROUP BY commune, status"
        }
        // notifications (issue 18, `notify.rs`)
        Q::NotifyInsert => {
            "INSERT INTO notifications (person_id, id, kind, dedupe, day, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (person_id, dedupe) DO NOTHING"
        }
        Q::NotifyOutboxInsert => {
            "INSERT INTO notify_outbox (person_id, id, notification_id, channel, state, attempts, next_at, created_at) VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5) ON CONFLICT (person_id, notification_id, channel) DO NOTHING"
        }
        Q::NotifyList => {
            "SELECT person_id, id, kind, dedupe, day, body, created_at, read_at FROM notifications WHERE person_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
        }
        Q::NotifyUnread => {
            "SELECT COUNT(*) FROM notifications WHERE person_id = ?1 AND read_at IS NULL"
        }
        Q::NotifyMarkRead => {
            "UPDATE notifications SET read_at = ?3 WHERE person_id = ?1 AND id = ?2 AND read_at IS NULL"
        }
        Q::NotifyMarkAllRead => {
            "UPDATE notifications SET read_at = ?2 WHERE person_id = ?1 AND read_at IS NULL"
        }
        Q::NotifyPrefsOf => {
            "SELECT channel, address, opted_out, updated_at FROM notify_prefs WHERE person_id = ?1 ORDER BY channel"
        }
        Q::NotifyPrefUpsert => {
            "INSERT INTO notify_prefs (person_id, channel, address, opted_out, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (person_id, channel) DO UPDATE SET address = excluded.address, opted_out = excluded.opted_out, updated_at = excluded.updated_at"
        }
        Q::NotifyCancelPending => {
            "UPDATE notify_outbox SET state = 'cancelled', done_at = ?3, lease_owner = NULL, lease_until = NULL WHERE person_id = ?1 AND channel = ?2 AND state = 'pending'"
        }
        Q::NotifyClaim => {
            "UPDATE notify_outbox SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1 WHERE (person_id, id) IN (SELECT person_id, id FROM notify_outbox WHERE state = 'pending' AND next_at <= ?3 AND (lease_until IS NULL OR lease_until <= ?3) ORDER BY next_at, id LIMIT ?4) RETURNING person_id, id, notification_id, channel, attempts"
        }
        Q::NotifyClaimedFacts => {
            "SELECT o.person_id, o.id, n.kind, p.address, p.opted_out FROM notify_outbox o JOIN notifications n ON n.person_id = o.person_id AND n.id = o.notification_id LEFT JOIN notify_prefs p ON p.person_id = o.person_id AND p.channel = o.channel WHERE o.lease_owner = ?1 AND o.lease_until = ?2 AND o.state = 'pending'"
        }
        Q::NotifyCancelOne => {
            "UPDATE notify_outbox SET state = 'cancelled', done_at = ?3, lease_owner = NULL, lease_until = NULL WHERE person_id = ?1 AND id = ?2"
        }
        Q::NotifyDone => {
            "UPDATE notify_outbox SET state = 'sent', done_at = ?4, lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE person_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'pending'"
        }
        Q::NotifyRetry => {
            "UPDATE notify_outbox SET next_at = ?4, last_error = ?5, lease_owner = NULL, lease_until = NULL WHERE person_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'pending'"
        }
        Q::NotifyDead => {
            "UPDATE notify_outbox SET state = 'dead', done_at = ?4, last_error = ?5, lease_owner = NULL, lease_until = NULL WHERE person_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'pending'"
        }
        Q::NotifyOutboxStats => {
            "SELECT state, COUNT(*) FROM notify_outbox GROUP BY state"
        }
        Q::NotifyOutboxOf => {
            "SELECT person_id, id, notification_id, channel, state, attempts, next_at, last_error FROM notify_outbox WHERE person_id = ?1 ORDER BY id"
        }
        Q::NotifyDueOf => {
            "SELECT person_id, id, kind, dedupe, day, body, created_at, read_at FROM notifications WHERE person_id IN (SELECT value FROM json_each(?1)) AND kind IN (SELECT value FROM json_each(?2)) AND day >= ?3 ORDER BY day, person_id, id"
        }
        Q::NotifyScanPersons => {
            "SELECT id FROM (SELECT person_id AS id FROM citizen_accounts UNION SELECT ward_id FROM guardianships WHERE revoked_at IS NULL UNION SELECT person_id FROM health_records WHERE status = 'open') t WHERE id > ?1 ORDER BY id LIMIT ?2"
        }
        Q::SealHeadsNotificationBody => "SELECT substr(body, 1, 9) FROM notifications",
        Q::SealHeadsNotifyAddress => "SELECT substr(address, 1, 9) FROM notify_prefs",
        Q::DosesOf => {
            "SELECT id, vaccine, given_on, status, dose_number, source, source_key, facility, unit, body,
                    recorded_by, recorded_at, voided_at
             FROM immunizations WHERE person_id = ?1 ORDER BY given_on, id"
        }
        Q::DosesOfPersons => {
            "SELECT person_id, id, vaccine, given_on, status, dose_number, source_key
             FROM immunizations WHERE person_id IN (SELECT value FROM json_each(?1)) AND voided_at IS NULL"
        }
        Q::VoidDose => {
            "UPDATE immunizations SET voided_at = ?3, voided_by = ?4
             WHERE person_id = ?1 AND id = ?2 AND voided_at IS NULL"
        }
        Q::CommuneSubjects => {
            "SELECT h.person_id, h.birth, p.birth, p.sex, p.name, p.personal_id
             FROM health_records h JOIN persons p ON p.id = h.person_id
             WHERE h.commune = ?1 AND h.status = 'open' AND (h.birth IS NULL OR h.birth >= ?2)
             ORDER BY h.person_id"
        }
        // ---- chronic care and growth (chronic.rs)
        Q::NcdEnrolmentsOf => {
            "SELECT id, disease, commune, status, status_on, enrolled_on, last_visit, next_due, controlled, body, by_user, created_at, updated_at
             FROM ncd_enrolments WHERE person_id = ?1 ORDER BY id"
        }
        Q::UpdateNcdEnrolment => {
            "UPDATE ncd_enrolments SET commune = ?3, status = ?4, status_on = ?5, last_visit = ?6, next_due = ?7,
                    controlled = ?8, body = ?9, updated_at = ?10
             WHERE person_id = ?1 AND id = ?2"
        }
        Q::NcdFollowUpsOf => {
            "SELECT id, disease, visit_on, source, episode_id, controlled, body, by_user, at
             FROM ncd_followups WHERE person_id = ?1 ORDER BY visit_on DESC, id DESC"
        }
        Q::NcdRegister => {
            "SELECT e.person_id, e.id, e.disease, e.status, e.status_on, e.enrolled_on, e.last_visit, e.next_due, e.controlled,
                    p.name, p.birth, p.sex
             FROM ncd_enrolments e JOIN persons p ON p.id = e.person_id
             WHERE e.commune = ?1 ORDER BY e.next_due, e.person_id"
        }
        Q::NcdIndicators => {
            "SELECT commune, id, disease, status, controlled, next_due FROM ncd_enrolments"
        }
        Q::GrowthOf => {
            "SELECT id, unit, body, by_user, at FROM growth_measurements WHERE person_id = ?1 ORDER BY measured_on, id"
        }
        Q::GrowthChildren => {
            "SELECT h.person_id, h.birth, p.name, p.sex, p.birth, g.measured_on, g.underweight, g.stunting, g.wasting, g.overweight
             FROM health_records h JOIN persons p ON p.id = h.person_id
             LEFT JOIN growth_measurements g ON g.person_id = h.person_id
                  AND NOT EXISTS (SELECT 1 FROM growth_measurements n WHERE n.person_id = g.person_id
                                  AND (n.measured_on > g.measured_on OR (n.measured_on = g.measured_on AND n.id > g.id)))
             WHERE h.commune = ?1 AND h.status = 'open' AND h.birth >= ?2
             ORDER BY h.birth DESC, h.person_id"
        }
        Q::GrowthIndicators => {
            "SELECT h.commune, COUNT(*), COUNT(g.person_id),
                    SUM(CASE WHEN g.underweight >= 1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN g.stunting >= 1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN g.wasting >= 1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN g.overweight >= 1 THEN 1 ELSE 0 END)
             FROM health_records h
             LEFT JOIN growth_measurements g ON g.person_id = h.person_id
                  AND NOT EXISTS (SELECT 1 FROM growth_measurements n WHERE n.person_id = g.person_id
                                  AND (n.measured_on > g.measured_on OR (n.measured_on = g.measured_on AND n.id > g.id)))
             WHERE h.commune IS NOT NULL AND h.status = 'open' AND h.birth >= ?1
             GROUP BY h.commune"
        }
        Q::SealHeadsNcdEnrolmentBody => "SELECT substr(body, 1, 9) FROM ncd_enrolments",
        Q::SealHeadsNcdFollowUpBody => "SELECT substr(body, 1, 9) FROM ncd_followups",
        Q::SealHeadsGrowthBody => "SELECT substr(body, 1, 9) FROM growth_measurements",
        Q::SealHeadsNcdEnrolmentDisease => "SELECT substr(disease, 1, 9) FROM ncd_enrolments",
        Q::SealHeadsNcdFollowUpDisease => "SELECT substr(disease, 1, 9) FROM ncd_followups",
        Q::SealHeadsImmunizationBody => "SELECT substr(body, 1, 9) FROM immunizations",
        Q::SealHeadsRecordBody => "SELECT substr(body, 1, 9) FROM health_records",
        Q::SealHeadsRecordChanges => "SELECT substr(changes, 1, 9) FROM health_record_versions",
        Q::SealHeadsCardBody => "SELECT substr(body, 1, 9) FROM insurance_cards",
        Q::RebuildAggregates => {
            "DELETE FROM facility_daily; DELETE FROM facility_receipts; DELETE FROM facility_errors; DELETE FROM facility_signatures; DELETE FROM late_dossiers; DELETE FROM facility_sla;
             DELETE FROM adoption_units; DELETE FROM adoption_monthly;
             INSERT INTO adoption_units (unit, alive)
             SELECT unit, COUNT(*) FROM population WHERE status = 'alive' GROUP BY unit;
             INSERT INTO adoption_monthly (unit, month, books)
             SELECT unit, book_since, COUNT(*) FROM population WHERE status = 'alive' AND book_since IS NOT NULL GROUP BY unit, book_since;
             INSERT INTO adoption_monthly (unit, month, accounts)
             SELECT unit, account_since, COUNT(*) FROM population WHERE status = 'alive' AND account_since IS NOT NULL GROUP BY unit, account_since
             ON CONFLICT (unit, month) DO UPDATE SET accounts = excluded.accounts;
             CREATE TEMP TABLE rebuild_first AS
             SELECT facility, ma_lk, person_id, id, start_at, end_at, care_type, insured, dq_flags, received_at,
                    CASE WHEN end_at IS NULL THEN NULL ELSE received_at - CAST(round(
                      (julianday(substr(end_at,1,4)||'-'||substr(end_at,5,2)||'-'||substr(end_at,7,2)||' '||substr(end_at,9,2)||':'||substr(end_at,11,2)) - 2440587.5) * 86400000 - 25200000) AS INTEGER) END AS late
             FROM episodes WHERE version = 1;
             INSERT INTO facility_daily (facility, day, care_type, insured, dossiers, late_6h, late_24h, late_3d, late_7d, late_more, late_unknown, with_personal_id, with_card, with_icd)
             SELECT facility,
                    CASE WHEN start_at IS NULL THEN date((received_at + 25200000) / 1000, 'unixepoch')
                         ELSE substr(start_at,1,4)||'-'||substr(start_at,5,2)||'-'||substr(start_at,7,2) END,
                    COALESCE(care_type, ''), COALESCE(insured, 0), COUNT(*),
                    SUM(late IS NOT NULL AND late <= 21600000),
                    SUM(late IS NOT NULL AND late > 21600000 AND late <= 86400000),
                    SUM(late IS NOT NULL AND late > 86400000 AND late <= 259200000),
                    SUM(late IS NOT NULL AND late > 259200000 AND late <= 604800000),
                    SUM(late IS NOT NULL AND late > 604800000),
                    SUM(late IS NULL),
                    SUM((COALESCE(dq_flags, 0) & 1) != 0), SUM((COALESCE(dq_flags, 0) & 2) != 0), SUM((COALESCE(dq_flags, 0) & 4) != 0)
             FROM rebuild_first GROUP BY 1, 2, 3, 4;
             INSERT INTO facility_daily (facility, day, care_type, insured, checkins)
             SELECT facility,
                    CASE WHEN started_at IS NULL THEN date((received_at + 25200000) / 1000, 'unixepoch')
                         ELSE substr(started_at,1,4)||'-'||substr(started_at,5,2)||'-'||substr(started_at,7,2) END,
                    COALESCE(care_type, ''), insured, COUNT(*)
             FROM checkins WHERE true GROUP BY 1, 2, 3, 4
             ON CONFLICT (facility, day, care_type, insured) DO UPDATE SET checkins = excluded.checkins;
             INSERT INTO late_dossiers (facility, ma_lk, person_id, episode_id, ended_at, received_at, hours)
             SELECT facility, ma_lk, person_id, id, end_at, received_at, late / 3600000 FROM rebuild_first
             WHERE late IS NOT NULL AND late > 86400000;
             DROP TABLE rebuild_first;
             INSERT INTO facility_receipts (facility, day, submissions, rejected, last_at)
             SELECT facility, date((received_at + 25200000) / 1000, 'unixepoch'), COUNT(*), SUM(NOT accepted), MAX(received_at)
             FROM submissions GROUP BY 1, 2;
             INSERT INTO facility_signatures (facility, day, status, count)
             SELECT facility, date((received_at + 25200000) / 1000, 'unixepoch'), COALESCE(signature, 'not_checked'), COUNT(*)
             FROM submissions GROUP BY 1, 2, 3;
             INSERT INTO facility_sla (facility, day, bucket, count)
             SELECT facility, date((received_at + 25200000) / 1000, 'unixepoch'),
                    CASE WHEN latency <= 10 THEN 0 WHEN latency <= 50 THEN 1 WHEN latency <= 100 THEN 2
                         WHEN latency <= 500 THEN 3 WHEN latency <= 1000 THEN 4 WHEN latency <= 10000 THEN 5
                         WHEN latency <= 60000 THEN 6 WHEN latency <= 3600000 THEN 7
                         WHEN latency <= 86400000 THEN 8 ELSE 9 END,
                    COUNT(*)
             FROM (SELECT submission_id, facility, MIN(received_at) AS received_at, MAX(visible_at) - MIN(received_at) AS latency
                   FROM episodes WHERE submission_id <> 0 GROUP BY submission_id, facility)
             GROUP BY 1, 2, 3;"
        }
    }
}
