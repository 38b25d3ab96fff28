-- Encryption at rest: the data keys, each wrapped by the master key (which is never
-- stored here). Sealed values name the data key that sealed them.
CREATE TABLE data_keys (
    id         INTEGER PRIMARY KEY,
    master     TEXT NOT NULL,     -- the master key's fingerprint
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
