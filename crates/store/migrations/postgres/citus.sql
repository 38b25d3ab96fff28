-- healthbook on Citus: how each table is placed across the nodes of a cluster.
--
-- Run once, on the coordinator, after the first `healthbook serve --db postgres://…`
-- (or any healthbook command) has made the schema, and before data is loaded:
--
--     psql "$DATABASE_URL" -f crates/store/migrations/postgres/citus.sql
--
-- Three kinds of table (ARCHITECTURE.md, "Distribution"):
-- 1. What a person owns, distributed by the column that names the person and
--    co-located with `persons`: a citizen's book, a visit, a clinician's read and the
--    writes of an ingest each go to one shard.
-- 2. Lookups from a value (an identifier, an episode's facility + MA_LK, a session,
--    a share code, a token), each distributed by that value: one shard answers which
--    person a value leads to.
-- 3. Small tables every node needs (units, facilities, accounts, staff, code lists),
--    as reference tables copied to every node.
-- Reports, exports and audit verification read across shards (docs/OPERATIONS.md).
-- A test checks that every table of the schema is named here once and that each
-- distribution column is in every unique key of its table.

BEGIN;

-- The store makes every id itself; no sequence needs to be shared.

-- ---- 1. person-owned, co-located with persons
SELECT create_distributed_table('persons', 'id');
SELECT create_distributed_table('identifiers', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('card_periods', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('episodes', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('episodes_quarantine', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('person_events', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('citizen_accounts', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('activation_codes', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('guardianships', 'guardian_id', colocate_with => 'persons');
SELECT create_distributed_table('ward_guardians', 'ward_id', colocate_with => 'persons');
SELECT create_distributed_table('shares', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('grants', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('audit_log', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('audit_heads', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('health_records', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('health_record_versions', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('insurance_cards', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('immunizations', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('ncd_enrolments', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('ncd_followups', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('growth_measurements', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('notifications', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('notify_outbox', 'person_id', colocate_with => 'persons');
SELECT create_distributed_table('notify_prefs', 'person_id', colocate_with => 'persons');

-- ---- 2. lookups, each by the value it is looked up by
SELECT create_distributed_table('identifier_keys', 'value');
SELECT create_distributed_table('episode_keys', 'ma_lk', colocate_with => 'none');
SELECT create_distributed_table('checkins', 'ma_lk', colocate_with => 'episode_keys');
SELECT create_distributed_table('sessions', 'token_hash');
SELECT create_distributed_table('share_keys', 'code_hash', colocate_with => 'sessions');
SELECT create_distributed_table('staff_sessions', 'token_hash', colocate_with => 'sessions');
SELECT create_distributed_table('tokens', 'access_hash', colocate_with => 'sessions');
SELECT create_distributed_table('population', 'personal_id', colocate_with => 'identifier_keys');
-- A registry batch is looked up by its id (the sender's, for idempotence).
SELECT create_distributed_table('registry_batches', 'id', colocate_with => 'none');
-- Submissions are written once and read by id (an episode's source dossier). The
-- transaction code is a UUIDv7 made by the store: unique by construction, so its index
-- need not be a unique one (Citus allows unique keys only with the distribution column).
DROP INDEX submissions_tx;
CREATE INDEX submissions_tx ON submissions(transaction_code);
SELECT create_distributed_table('submissions', 'id', colocate_with => 'none');
SELECT create_distributed_table('dq_issues', 'id', colocate_with => 'submissions');

-- Aggregates kept at ingest, by facility or unit (reports read them across shards).
SELECT create_distributed_table('facility_daily', 'facility', colocate_with => 'none');
SELECT create_distributed_table('facility_receipts', 'facility', colocate_with => 'facility_daily');
SELECT create_distributed_table('facility_errors', 'facility', colocate_with => 'facility_daily');
SELECT create_distributed_table('facility_signatures', 'facility', colocate_with => 'facility_daily');
SELECT create_distributed_table('late_dossiers', 'facility', colocate_with => 'facility_daily');
SELECT create_distributed_table('facility_sla', 'facility', colocate_with => 'facility_daily');
SELECT create_distributed_table('sla_daily', 'day', colocate_with => 'none');
SELECT create_distributed_table('unit_reports', 'unit', colocate_with => 'none');
SELECT create_distributed_table('adoption_units', 'unit', colocate_with => 'unit_reports');
SELECT create_distributed_table('adoption_monthly', 'unit', colocate_with => 'unit_reports');

-- ---- 3. reference tables, on every node
SELECT create_reference_table('units');
SELECT create_reference_table('unit_lineage');
SELECT create_reference_table('facilities');
SELECT create_reference_table('facility_certs');
SELECT create_reference_table('data_keys');
SELECT create_reference_table('crypt_pending');
SELECT create_reference_table('accounts');
SELECT create_reference_table('staff');
SELECT create_reference_table('fhir_clients');
SELECT create_reference_table('audit_checkpoints');
SELECT create_reference_table('schema_migrations');
SELECT create_reference_table('schema_layout');
-- fhir_tokens refers to fhir_clients (a reference table): allowed for a distributed table.
SELECT create_distributed_table('fhir_tokens', 'token_hash', colocate_with => 'sessions');

COMMIT;

-- The audit log refuses UPDATE, DELETE and TRUNCATE through triggers on the
-- coordinator's table; Citus does not run those triggers on the shards. Take the
-- rights away from the application's role as well, so that the refusal holds on every
-- node (replace healthbook with the role in the URL the servers use):
--
--     REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM healthbook;
