-- healthbook schema, SQLite version 10: facility signatures (issue 15).
-- The verdict on each submission's CHUKYDONVI (NULL: not checked, policy off) and the
-- SHA-256 of the signer's certificate.
ALTER TABLE submissions ADD COLUMN signature TEXT;
ALTER TABLE submissions ADD COLUMN signer TEXT;
-- The certificates each facility registered (the gateway's "Danh mục chứng thư số").
CREATE TABLE facility_certs (
    facility    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,          -- SHA-256 of the DER certificate, hex
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    not_before  INTEGER NOT NULL,       -- Unix ms
    not_after   INTEGER NOT NULL,
    der         BLOB NOT NULL,
    added_at    INTEGER NOT NULL,
    added_by    TEXT NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT,
    PRIMARY KEY (facility, fingerprint)
);
-- Submissions per facility, receipt day (Vietnam) and verdict, kept in the writer's
-- transaction like facility_receipts (reports never scan submissions).
CREATE TABLE facility_signatures (
    facility TEXT NOT NULL,
    day      TEXT NOT NULL,
    status   TEXT NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (facility, day, status)
);
