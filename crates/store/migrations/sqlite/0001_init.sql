-- healthbook schema, version 1 (SQLite). The PostgreSQL schema mirrors it table for
-- table (BLOB → BYTEA). Every person-owned table carries person_id first in its key,
-- so a person's rows are one index range and the tables can be distributed by
-- person (Citus): every unique key includes person_id; ids are assigned by the
-- application (time-ordered), never by the database.

CREATE TABLE facilities (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    province      TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT 'hospital',
    bhyt_contract INTEGER NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    facility      TEXT NOT NULL REFERENCES facilities(code),
    -- argon2id over the upper-case MD5 hex the gateway protocol sends
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    access_hash    TEXT PRIMARY KEY,       -- SHA-256 of the access token
    id_token       TEXT NOT NULL,
    username       TEXT NOT NULL,
    password_check TEXT NOT NULL,          -- SHA-256 of token || passwordHash
    expires_at     BIGINT NOT NULL
);

-- Every envelope or check-in received, byte-exact (zstd), with its receipt.
CREATE TABLE submissions (
    id               BIGINT PRIMARY KEY,
    transaction_code TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    validated_at     BIGINT NOT NULL,
    facility         TEXT NOT NULL,
    account          TEXT NOT NULL,
    source           TEXT NOT NULL,        -- gateway | import
    kind             TEXT NOT NULL,        -- dossier | checkin
    spec             TEXT NOT NULL,
    accepted         INTEGER NOT NULL,
    findings         TEXT NOT NULL,        -- JSON
    sha256           TEXT NOT NULL,
    raw_len          BIGINT NOT NULL,
    raw_zstd         BLOB NOT NULL
);
CREATE UNIQUE INDEX submissions_tx ON submissions(transaction_code);
CREATE INDEX submissions_sha ON submissions(sha256);
CREATE INDEX submissions_facility ON submissions(facility, received_at);

CREATE TABLE persons (
    id          BIGINT PRIMARY KEY,
    name        TEXT,
    birth       TEXT,
    sex         TEXT,
    personal_id TEXT,
    created_at  BIGINT NOT NULL,
    merged_into BIGINT                     -- set when merged; rows are never deleted
);

-- Identifiers with history: first and last seen, card validity.
CREATE TABLE identifiers (
    person_id     BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    valid_from    TEXT,
    valid_to      TEXT,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    submission_id BIGINT,
    active        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (person_id, kind, value)
);
CREATE INDEX identifiers_lookup ON identifiers(kind, value);

-- Where the current version of an episode lives (corrections find it here).
CREATE TABLE episode_keys (
    facility     TEXT NOT NULL,
    ma_lk        TEXT NOT NULL,
    person_id    BIGINT NOT NULL,
    episode_id   BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (facility, ma_lk)
);

-- Every version of every episode, projected for the book; one current per key.
CREATE TABLE episodes (
    person_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    facility      TEXT NOT NULL,
    ma_lk         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    is_current    INTEGER NOT NULL,
    submission_id BIGINT NOT NULL,
    hoso          INTEGER NOT NULL,
    start_at      TEXT,                    -- NGAY_VAO, wall clock as sent
    end_at        TEXT,                    -- NGAY_RA
    care_type     TEXT,
    main_icd10    TEXT,
    confidence    TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    validated_at  BIGINT NOT NULL,
    linked_at     BIGINT NOT NULL,
    visible_at    BIGINT NOT NULL,
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,           -- JSON: book::EpisodeView
    PRIMARY KEY (person_id, id)
);
CREATE INDEX episodes_person_time ON episodes(person_id, start_at);
CREATE INDEX episodes_key ON episodes(facility, ma_lk, version);

CREATE TABLE checkins (
    facility      TEXT NOT NULL,
    ma_lk         TEXT NOT NULL,
    id            BIGINT NOT NULL,
    submission_id BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    started_at    TEXT,
    care_type     TEXT,
    category      TEXT,
    insured       INTEGER NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (facility, ma_lk, id)
);

-- Data-quality records: identity conflicts, low-confidence links. Reviewed by people.
CREATE TABLE dq_issues (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT,
    kind          TEXT NOT NULL,
    detail        TEXT NOT NULL,
    submission_id BIGINT,
    facility      TEXT,
    ma_lk         TEXT,
    created_at    BIGINT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open'
);
CREATE INDEX dq_issues_open ON dq_issues(status, created_at);

-- What happened to a person: created, merged, split, identifier added.
CREATE TABLE person_events (
    person_id BIGINT NOT NULL,
    id        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (person_id, id)
);
