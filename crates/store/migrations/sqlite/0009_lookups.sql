-- healthbook schema, version 9: every lookup from a value goes through a table keyed by
-- that value. Person-owned tables are found by person_id; a personal ID, a card, a
-- session token, a share code or a ward leads to the person through its own table.
-- (The rule a distribution by person needs: ARCHITECTURE.md, "Distribution".)

-- Who holds an identifier: the identity linker's question at every ingest.
CREATE TABLE identifier_keys (
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    person_id BIGINT NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (kind, value, person_id)
) WITHOUT ROWID;
INSERT INTO identifier_keys (kind, value, person_id, active, last_seen)
    SELECT kind, value, person_id, active, last_seen FROM identifiers;
DROP INDEX identifiers_lookup;

-- A citizen's session is found by its token.
CREATE TABLE sessions_by_token (
    token_hash TEXT PRIMARY KEY,
    person_id  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT OR IGNORE INTO sessions_by_token (token_hash, person_id, created_at, expires_at)
    SELECT token_hash, person_id, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_by_token RENAME TO sessions;
CREATE INDEX sessions_person ON sessions(person_id, expires_at);

-- A share code leads to its share.
CREATE TABLE share_keys (
    code_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL,
    share_id  BIGINT NOT NULL
);
INSERT OR IGNORE INTO share_keys (code_hash, person_id, share_id)
    SELECT code_hash, person_id, id FROM shares;
DROP INDEX shares_code;

-- A ward's guardians, kept beside guardianships (which are the guardian's).
CREATE TABLE ward_guardians (
    ward_id     BIGINT NOT NULL,
    guardian_id BIGINT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (ward_id, guardian_id)
);
INSERT INTO ward_guardians (ward_id, guardian_id, granted_by, granted_at, revoked_at)
    SELECT ward_id, guardian_id, granted_by, granted_at, revoked_at FROM guardianships;
DROP INDEX IF EXISTS guardianships_ward;
