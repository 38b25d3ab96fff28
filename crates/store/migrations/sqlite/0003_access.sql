-- healthbook schema, version 3: administrative units, staff accounts and roles,
-- consent (share codes and the grants made from them), break-glass, and the audit
-- log the citizen sees.

-- The administrative hierarchy as data: province → district → commune before the
-- 2025 reform, province → commune after it. A unit's parent is a unit of the same scheme.
CREATE TABLE units (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,            -- province | district | commune
    parent     TEXT,                     -- NULL for provinces
    scheme     TEXT NOT NULL,            -- pre2025 | 2025
    created_at BIGINT NOT NULL
);
CREATE INDEX units_parent ON units(parent);

-- Where a facility is: its commune (or district) unit.
ALTER TABLE facilities ADD COLUMN unit TEXT;

-- People who work in the system, each with one role scoped to a unit or facility.
CREATE TABLE staff (
    username        TEXT PRIMARY KEY,
    full_name       TEXT NOT NULL,
    role            TEXT NOT NULL,
    unit            TEXT,                -- province / district / commune code of the scope
    facility        TEXT,                -- facility code of the scope
    practising_cert TEXT,                -- clinicians: practising-certificate number
    password_hash   TEXT NOT NULL,       -- argon2id
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- A share code a citizen makes for a visit: time-limited, full book or summary,
-- revocable. The code is stored hashed.
CREATE TABLE shares (
    person_id  BIGINT NOT NULL,
    id         BIGINT NOT NULL,
    code_hash  TEXT NOT NULL,
    scope      TEXT NOT NULL,            -- full | summary
    created_by BIGINT NOT NULL,          -- the person or their guardian
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX shares_code ON shares(code_hash);

-- What lets a member of staff open a person's book: a share code entered, a
-- referral, or break-glass. Ends at expires_at, or when its share is revoked.
CREATE TABLE grants (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    username    TEXT NOT NULL,
    facility    TEXT,
    basis       TEXT NOT NULL,           -- consent | referral | break_glass
    share_id    BIGINT,
    scope       TEXT NOT NULL,           -- full | summary
    reason      TEXT,                    -- break-glass: the written reason; referral: its number
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    reviewed_by TEXT,                    -- break-glass: the facility admin who reviewed it
    reviewed_at BIGINT,
    review_note TEXT,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX grants_user ON grants(username, expires_at);
CREATE INDEX grants_review ON grants(basis, facility, reviewed_at);

-- Referral letters findable by the receiving facility and their number.
ALTER TABLE episodes ADD COLUMN referral_number TEXT;
CREATE INDEX episodes_referral ON episodes(referral_to, referral_number);

-- Every read of a person's data by someone other than the person or their guardian.
-- One hash chain per person (distributes with the person): hash = SHA-256 of the
-- previous hash and this record's fields. Append-only: the triggers refuse changes.
CREATE TABLE audit_log (
    person_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,           -- 1, 2, 3… per person
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    facility  TEXT,
    action    TEXT NOT NULL,             -- summary | episode | episodes | pdf | grant
    target    TEXT,
    basis     TEXT NOT NULL,             -- consent | referral | break_glass
    grant_id  BIGINT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (person_id, seq)
);
CREATE INDEX audit_actor ON audit_log(actor, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit records cannot be removed'); END;

-- The last record of each person's chain, so that removing the newest records is
-- detected too.
CREATE TABLE audit_heads (
    person_id BIGINT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);
