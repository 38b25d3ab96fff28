-- healthbook schema, version 4: the population registry (the denominator of adoption),
-- report aggregates maintained at ingest (and rebuildable from the rows they count),
-- and the monthly unit report (Phụ lục 1).

-- What an episode counts for in reports: BHYT or not, and data-quality flags
-- (1 = a valid personal ID, 2 = a valid BHYT card, 4 = a valid ICD-10 main code).
ALTER TABLE episodes ADD COLUMN insured INTEGER;
ALTER TABLE episodes ADD COLUMN dq_flags INTEGER;

-- The population registry: one row per resident, by personal ID, with where they live.
-- person_id / book_since / account_since link it to the book (kept current at ingest
-- and activation).
CREATE TABLE population (
    personal_id   TEXT PRIMARY KEY,
    name          TEXT,
    birth         TEXT,
    sex           TEXT,
    unit          TEXT NOT NULL,           -- residence: commune (or district) code
    status        TEXT NOT NULL,           -- alive | moved | dead
    person_id     BIGINT,
    book_since    TEXT,                    -- yyyy-mm: first episode received
    account_since TEXT,                    -- yyyy-mm: citizen account activated
    updated_at    BIGINT NOT NULL
);
CREATE INDEX population_unit ON population(unit, status);

-- Per facility, day the episode started (NGAY_VAO, Vietnam date), care type and
-- BHYT: check-ins, first receipts of dossiers, lateness of those receipts after
-- NGAY_RA, and data quality.
CREATE TABLE facility_daily (
    facility         TEXT NOT NULL,
    day              TEXT NOT NULL,        -- yyyy-mm-dd
    care_type        TEXT NOT NULL,
    insured          INTEGER NOT NULL,
    checkins         INTEGER NOT NULL DEFAULT 0,
    dossiers         INTEGER NOT NULL DEFAULT 0,
    late_6h          INTEGER NOT NULL DEFAULT 0,   -- received within 6 h of NGAY_RA
    late_24h         INTEGER NOT NULL DEFAULT 0,   -- 6–24 h
    late_3d          INTEGER NOT NULL DEFAULT 0,   -- 1–3 days
    late_7d          INTEGER NOT NULL DEFAULT 0,   -- 3–7 days
    late_more        INTEGER NOT NULL DEFAULT 0,   -- over 7 days
    late_unknown     INTEGER NOT NULL DEFAULT 0,   -- no NGAY_RA
    with_personal_id INTEGER NOT NULL DEFAULT 0,
    with_card        INTEGER NOT NULL DEFAULT 0,
    with_icd         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (facility, day, care_type, insured)
);

-- Per facility and day of receipt: submissions, rejections, errors by code.
CREATE TABLE facility_receipts (
    facility    TEXT NOT NULL,
    day         TEXT NOT NULL,
    submissions INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    last_at     BIGINT NOT NULL,
    PRIMARY KEY (facility, day)
);
CREATE TABLE facility_errors (
    facility TEXT NOT NULL,
    day      TEXT NOT NULL,
    code     TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (facility, day, code)
);

-- Receipt → visible latency: a histogram per day of receipt (bucket upper bounds in
-- crates/store/src/reports.rs).
CREATE TABLE sla_daily (
    day    TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (day, bucket)
);

-- Dossiers first received more than 24 hours after their episode ended.
CREATE TABLE late_dossiers (
    facility    TEXT NOT NULL,
    ma_lk       TEXT NOT NULL,
    person_id   BIGINT NOT NULL,
    episode_id  BIGINT NOT NULL,
    ended_at    TEXT NOT NULL,             -- NGAY_RA
    received_at BIGINT NOT NULL,
    hours       INTEGER NOT NULL,
    PRIMARY KEY (facility, ma_lk)
);
CREATE INDEX late_dossiers_received ON late_dossiers(received_at);

-- Phụ lục 1: a unit's monthly staff-adoption report, one row per department.
CREATE TABLE unit_reports (
    unit            TEXT NOT NULL,
    month           TEXT NOT NULL,         -- yyyy-mm
    department      TEXT NOT NULL,
    total_staff     INTEGER NOT NULL,
    vneid_activated INTEGER NOT NULL,
    vneid_not       INTEGER NOT NULL,
    vneid_reason    TEXT,
    book_created    INTEGER NOT NULL,
    card_integrated INTEGER NOT NULL,
    card_not        INTEGER NOT NULL,
    card_reason     TEXT,
    submitted_by    TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    PRIMARY KEY (unit, month, department)
);

-- Who read, as they were named at the time (part of the chained record, so renaming
-- an account later cannot change what the citizen was shown).
ALTER TABLE audit_log ADD COLUMN actor_name TEXT;
ALTER TABLE audit_log ADD COLUMN actor_cert TEXT;
