-- healthbook schema for PostgreSQL, version 1: the same tables as SQLite version 8,
-- with PostgreSQL's types (BIGINT, BOOLEAN, BYTEA).
--
-- Every person-owned table is keyed with person_id first, so that a person's rows are
-- one index range and the table can be distributed by person (Citus, see citus.sql):
-- every unique key of such a table includes person_id. Ids are assigned by the
-- application (time-ordered, one id space per server), never by the database.

CREATE TABLE facilities (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    province      TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT 'hospital',
    bhyt_contract BOOLEAN NOT NULL DEFAULT true,
    created_at    BIGINT NOT NULL,
    unit          TEXT
);

CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    facility      TEXT NOT NULL REFERENCES facilities(code),
    password_hash TEXT NOT NULL,           -- argon2id over the upper-case MD5 hex
    active        BOOLEAN NOT NULL DEFAULT true,
    created_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    access_hash    TEXT PRIMARY KEY,
    id_token       TEXT NOT NULL,
    username       TEXT NOT NULL,
    password_check TEXT NOT NULL,
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
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    spec             TEXT NOT NULL,
    accepted         BOOLEAN NOT NULL,
    findings         BYTEA NOT NULL,       -- zstd JSON, or the JSON text '[]'
    sha256           TEXT NOT NULL,
    raw_len          BIGINT NOT NULL,
    raw_zstd         BYTEA NOT NULL
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
    merged_into BIGINT
);
CREATE INDEX persons_merged_into ON persons(merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE identifiers (
    person_id     BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    valid_from    TEXT,
    valid_to      TEXT,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    submission_id BIGINT,
    active        BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (person_id, kind, value)
);
CREATE INDEX identifiers_lookup ON identifiers(kind, value);

CREATE TABLE card_periods (
    person_id  BIGINT NOT NULL,
    card       TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to   TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (person_id, card, valid_from, valid_to)
);

-- Where the current version of an episode lives (corrections find it here).
CREATE TABLE episode_keys (
    facility     TEXT NOT NULL,
    ma_lk        TEXT NOT NULL,
    person_id    BIGINT NOT NULL,
    episode_id   BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (facility, ma_lk)
);

CREATE TABLE episodes (
    person_id       BIGINT NOT NULL,
    id              BIGINT NOT NULL,
    facility        TEXT NOT NULL,
    ma_lk           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    is_current      BOOLEAN NOT NULL,
    submission_id   BIGINT NOT NULL,
    hoso            BIGINT NOT NULL,
    start_at        TEXT,
    end_at          TEXT,
    care_type       TEXT,
    main_icd10      TEXT,
    confidence      TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    validated_at    BIGINT NOT NULL,
    linked_at       BIGINT NOT NULL,
    visible_at      BIGINT NOT NULL,
    content_hash    TEXT NOT NULL,
    body            BYTEA NOT NULL,        -- zstd JSON: book::EpisodeView
    appointment_at  TEXT,
    referral_to     TEXT,
    referral_number TEXT,
    insured         BOOLEAN,
    dq_flags        BIGINT,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX episodes_person_time ON episodes(person_id, start_at);
CREATE INDEX episodes_key ON episodes(facility, ma_lk, version);
CREATE INDEX episodes_person_visible ON episodes(person_id, visible_at);
CREATE INDEX episodes_referral ON episodes(referral_to, referral_number);

CREATE TABLE episodes_quarantine (LIKE episodes);

CREATE TABLE checkins (
    facility      TEXT NOT NULL,
    ma_lk         TEXT NOT NULL,
    id            BIGINT NOT NULL,
    submission_id BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    started_at    TEXT,
    care_type     TEXT,
    category      TEXT,
    insured       BOOLEAN NOT NULL,
    body          TEXT NOT NULL,
    personal_id   TEXT,
    card          TEXT,
    PRIMARY KEY (facility, ma_lk, id)
);
CREATE INDEX checkins_personal_id ON checkins(facility, personal_id, started_at);
CREATE INDEX checkins_card ON checkins(facility, card, started_at);

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
CREATE INDEX dq_issues_episode ON dq_issues(facility, ma_lk);

CREATE TABLE person_events (
    person_id BIGINT NOT NULL,
    id        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (person_id, id)
);

CREATE TABLE citizen_accounts (
    person_id       BIGINT PRIMARY KEY,
    passcode_hash   TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    activated_at    BIGINT NOT NULL
);

CREATE TABLE activation_codes (
    person_id  BIGINT NOT NULL,
    code_hash  TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    purpose    TEXT NOT NULL DEFAULT 'activation',
    PRIMARY KEY (person_id, code_hash)
);

CREATE TABLE sessions (
    person_id  BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (person_id, token_hash)
);
CREATE INDEX sessions_token ON sessions(token_hash);

CREATE TABLE guardianships (
    guardian_id BIGINT NOT NULL,
    ward_id     BIGINT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (guardian_id, ward_id)
);
CREATE INDEX guardianships_ward ON guardianships(ward_id);

CREATE TABLE units (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,
    parent     TEXT,
    scheme     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX units_parent ON units(parent);

CREATE TABLE staff (
    username        TEXT PRIMARY KEY,
    full_name       TEXT NOT NULL,
    role            TEXT NOT NULL,
    unit            TEXT,
    facility        TEXT,
    practising_cert TEXT,
    password_hash   TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT true,
    created_at      BIGINT NOT NULL
);
CREATE INDEX staff_cert ON staff (practising_cert);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE shares (
    person_id  BIGINT NOT NULL,
    id         BIGINT NOT NULL,
    code_hash  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX shares_code ON shares(code_hash);

CREATE TABLE grants (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    username    TEXT NOT NULL,
    facility    TEXT,
    basis       TEXT NOT NULL,
    share_id    BIGINT,
    scope       TEXT NOT NULL,
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    reviewed_by TEXT,
    reviewed_at BIGINT,
    review_note TEXT,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX grants_user ON grants(username, expires_at);
CREATE INDEX grants_review ON grants(basis, facility, reviewed_at);

-- Every read of a person's data by someone other than the person or their guardian:
-- one hash chain per person. Append-only: the triggers refuse changes and removals.
CREATE TABLE audit_log (
    person_id  BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    facility   TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    basis      TEXT NOT NULL,
    grant_id   BIGINT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    actor_name TEXT,
    actor_cert TEXT,
    PRIMARY KEY (person_id, seq)
);
CREATE INDEX audit_actor ON audit_log(actor, at);
CREATE INDEX audit_at ON audit_log(at);

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records cannot be changed or removed';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

CREATE TABLE audit_heads (
    person_id BIGINT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_checkpoints (
    seq     BIGINT PRIMARY KEY,
    at      BIGINT NOT NULL,
    records BIGINT NOT NULL,
    digest  TEXT NOT NULL
);

CREATE TABLE population (
    personal_id   TEXT PRIMARY KEY,
    name          TEXT,
    birth         TEXT,
    sex           TEXT,
    unit          TEXT NOT NULL,
    status        TEXT NOT NULL,
    person_id     BIGINT,
    book_since    TEXT,
    account_since TEXT,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX population_unit ON population(unit, status);
CREATE INDEX population_person ON population(person_id);

CREATE TABLE facility_daily (
    facility         TEXT NOT NULL,
    day              TEXT NOT NULL,
    care_type        TEXT NOT NULL,
    insured          BOOLEAN NOT NULL,
    checkins         BIGINT NOT NULL DEFAULT 0,
    dossiers         BIGINT NOT NULL DEFAULT 0,
    late_6h          BIGINT NOT NULL DEFAULT 0,
    late_24h         BIGINT NOT NULL DEFAULT 0,
    late_3d          BIGINT NOT NULL DEFAULT 0,
    late_7d          BIGINT NOT NULL DEFAULT 0,
    late_more        BIGINT NOT NULL DEFAULT 0,
    late_unknown     BIGINT NOT NULL DEFAULT 0,
    with_personal_id BIGINT NOT NULL DEFAULT 0,
    with_card        BIGINT NOT NULL DEFAULT 0,
    with_icd         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (facility, day, care_type, insured)
);

CREATE TABLE facility_receipts (
    facility    TEXT NOT NULL,
    day         TEXT NOT NULL,
    submissions BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    last_at     BIGINT NOT NULL,
    PRIMARY KEY (facility, day)
);

CREATE TABLE facility_errors (
    facility TEXT NOT NULL,
    day      TEXT NOT NULL,
    code     TEXT NOT NULL,
    count    BIGINT NOT NULL,
    PRIMARY KEY (facility, day, code)
);

CREATE TABLE sla_daily (
    day    TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (day, bucket)
);

CREATE TABLE late_dossiers (
    facility    TEXT NOT NULL,
    ma_lk       TEXT NOT NULL,
    person_id   BIGINT NOT NULL,
    episode_id  BIGINT NOT NULL,
    ended_at    TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    hours       BIGINT NOT NULL,
    PRIMARY KEY (facility, ma_lk)
);
CREATE INDEX late_dossiers_received ON late_dossiers(received_at);

CREATE TABLE unit_reports (
    unit            TEXT NOT NULL,
    month           TEXT NOT NULL,
    department      TEXT NOT NULL,
    total_staff     BIGINT NOT NULL,
    vneid_activated BIGINT NOT NULL,
    vneid_not       BIGINT NOT NULL,
    vneid_reason    TEXT,
    book_created    BIGINT NOT NULL,
    card_integrated BIGINT NOT NULL,
    card_not        BIGINT NOT NULL,
    card_reason     TEXT,
    submitted_by    TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    PRIMARY KEY (unit, month, department)
);

CREATE TABLE adoption_units (
    unit  TEXT PRIMARY KEY,
    alive BIGINT NOT NULL
);

CREATE TABLE adoption_monthly (
    unit     TEXT NOT NULL,
    month    TEXT NOT NULL,
    books    BIGINT NOT NULL DEFAULT 0,
    accounts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month)
);

CREATE TABLE fhir_clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE fhir_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES fhir_clients (client_id),
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX fhir_tokens_client ON fhir_tokens (client_id, expires_at);
