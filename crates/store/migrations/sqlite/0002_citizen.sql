-- healthbook schema, version 2: citizen accounts, sessions, guardians, and the episode
-- columns the citizen's book filters on.

ALTER TABLE episodes ADD COLUMN appointment_at TEXT;     -- NGAY_HEN_KL, yyyyMMddHHmm
ALTER TABLE episodes ADD COLUMN referral_to TEXT;        -- MA_NOI_DEN of the referral
CREATE INDEX episodes_person_visible ON episodes(person_id, visible_at);

-- One account per person, activated with a one-time code; a 6-digit passcode (argon2id).
CREATE TABLE citizen_accounts (
    person_id       BIGINT PRIMARY KEY,
    passcode_hash   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    activated_at    BIGINT NOT NULL
);

-- One-time activation codes handed out by a facility or commune station (hashed).
CREATE TABLE activation_codes (
    person_id  BIGINT NOT NULL,
    code_hash  TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (person_id, code_hash)
);

-- Sessions (browser cookie or bearer token), stored hashed.
CREATE TABLE sessions (
    person_id  BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (person_id, token_hash)
);
CREATE INDEX sessions_token ON sessions(token_hash);

-- A guardian opens the books of the persons they represent.
CREATE TABLE guardianships (
    guardian_id BIGINT NOT NULL,
    ward_id     BIGINT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (guardian_id, ward_id)
);
