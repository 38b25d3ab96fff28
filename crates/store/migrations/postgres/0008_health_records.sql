-- healthbook schema, PostgreSQL version 8 (SQLite 0014): the personal health record of
-- QĐ 831 (parts A–D) kept by commune stations for every resident, its versions, the
-- registry batches applied (population and BHYT participant deltas, idempotent by
-- batch id), each person's current BHYT card as the insurance registry gives it, and
-- data-quality records a station resolves.

-- One record per person. The body (parts A–D as JSON, `book::ehr::HealthRecord`) is
-- sealed to the person's row; the other columns are what a station's lists need.
CREATE TABLE health_records (
    person_id  BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL,
    commune    TEXT,                   -- the managing station's unit: where the person lives
    status     TEXT NOT NULL,          -- open | closed (died: readable, no new data)
    complete_a BIGINT NOT NULL,       -- 1 when every required item of part A is filled
    complete_b BIGINT NOT NULL,       -- 1 when part B's history is stated
    birth      TEXT,                   -- yyyy-mm-dd or yyyy (for "elderly" lists)
    last_exam  TEXT,                   -- yyyy-mm-dd of the newest part D examination
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Covering the station lists and the report figures per commune (no body read).
CREATE INDEX health_records_commune ON health_records(commune, status, complete_a, complete_b, birth, last_exam);

-- Who changed what, when, from which unit: one row per version. `changes` is the
-- sealed JSON list of (item, before, after); version 1 is the creation.
CREATE TABLE health_record_versions (
    person_id BIGINT NOT NULL,
    version   BIGINT NOT NULL,
    source    TEXT NOT NULL,           -- registry | staff | import | citizen
    by_user   TEXT NOT NULL,
    by_unit   TEXT,
    changes   TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (person_id, version)
);

-- Registry batches applied: a batch id given again with the same content answers what
-- it did the first time; with other content it is refused.
CREATE TABLE registry_batches (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,         -- population | insurance
    digest      TEXT NOT NULL,         -- SHA-256 of the batch as received
    outcome     TEXT NOT NULL,         -- JSON: counts of what was applied
    by_user     TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The person's current BHYT card as the participant list gives it (sealed JSON:
-- number, BHXH number, validity, first-contact facility, area, 5-year date, the
-- previous card). Card numbers are found through `identifiers`.
CREATE TABLE insurance_cards (
    person_id  BIGINT PRIMARY KEY,
    body       TEXT NOT NULL,
    valid_to   TEXT,                   -- yyyy-mm-dd
    updated_at BIGINT NOT NULL
);

-- Data-quality records a commune station resolves: the unit they belong to, and how
-- they were closed.
ALTER TABLE dq_issues ADD COLUMN unit TEXT;
ALTER TABLE dq_issues ADD COLUMN resolved_by TEXT;
ALTER TABLE dq_issues ADD COLUMN resolved_at BIGINT;
CREATE INDEX dq_issues_unit ON dq_issues(unit, status);

-- A resident's date of death as the registry gives it.
ALTER TABLE population ADD COLUMN died_on TEXT;
