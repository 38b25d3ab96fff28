-- healthbook on PostgreSQL, version 2: every lookup from a value goes through a table
-- keyed by that value. Person-owned tables are found by person_id; a personal ID, a
-- card, a session token, a share code or a ward leads to the person through its own
-- table. (The rule of a distribution by person: ARCHITECTURE.md, "Distribution";
-- citus.sql distributes these tables by their key.)

-- Who holds an identifier: the identity linker's question at every ingest.
CREATE TABLE identifier_keys (
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    person_id BIGINT NOT NULL,
    active    BOOLEAN NOT NULL DEFAULT true,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (kind, value, person_id)
);
INSERT INTO identifier_keys (kind, value, person_id, active, last_seen)
    SELECT kind, value, person_id, active, last_seen FROM identifiers;
DROP INDEX identifiers_lookup;

-- A citizen's session is found by its token.
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
DROP INDEX sessions_token;
ALTER TABLE sessions ADD PRIMARY KEY (token_hash);
CREATE INDEX sessions_person ON sessions(person_id, expires_at);

-- A share code leads to its share.
CREATE TABLE share_keys (
    code_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL,
    share_id  BIGINT NOT NULL
);
INSERT INTO share_keys (code_hash, person_id, share_id)
    SELECT code_hash, person_id, id FROM shares ON CONFLICT DO NOTHING;
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
DROP INDEX guardianships_ward;
