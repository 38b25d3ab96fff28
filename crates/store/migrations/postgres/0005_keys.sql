-- Encryption at rest: the data keys, each wrapped by the master key (which is never
-- stored here). Sealed values name the data key that sealed them. A reference table
-- on Citus.
CREATE TABLE data_keys (
    id         BIGINT PRIMARY KEY,
    master     TEXT NOT NULL,     -- the master key's fingerprint
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
-- A check-in's row is sealed like an episode's body.
ALTER TABLE checkins ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
