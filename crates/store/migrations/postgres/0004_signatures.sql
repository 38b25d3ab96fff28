-- healthbook schema for PostgreSQL, version 4 (SQLite 0010): facility signatures.
-- The verdict on each submission's CHUKYDONVI (NULL: not checked, policy off) and the
-- SHA-256 of the signer's certificate.
ALTER TABLE submissions ADD COLUMN signature TEXT;
ALTER TABLE submissions ADD COLUMN signer TEXT;
-- The certificates each facility registered (the gateway's "Danh mục chứng thư số").
-- A reference table on Citus (see citus.sql).
CREATE TABLE facility_certs (
    facility    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    der         BYTEA NOT NULL,
    added_at    BIGINT NOT NULL,
    added_by    TEXT NOT NULL,
    revoked_at  BIGINT,
    revoked_by  TEXT,
    PRIMARY KEY (facility, fingerprint)
);
-- Submissions per facility, receipt day (Vietnam) and verdict, kept in the writer's
-- transaction like facility_receipts (reports never scan submissions).
CREATE TABLE facility_signatures (
    facility TEXT NOT NULL,
    day      TEXT NOT NULL,
    status   TEXT NOT NULL,
    count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (facility, day, status)
);
