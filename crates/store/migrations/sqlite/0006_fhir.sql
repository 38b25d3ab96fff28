-- healthbook schema, version 6: registered FHIR system clients and their access tokens.

-- A system (a hospital EMR, a research platform, a department's warehouse) that reads the
-- data of one administrative unit under SMART-style scopes. The secret is kept as a
-- SHA-256 hash (it is 244 random bits); it is shown once, when the client is made.
CREATE TABLE fhir_clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    scopes      TEXT NOT NULL,              -- canonical: "system/<Type>.read …"
    secret_hash TEXT NOT NULL,              -- SHA-256 of the 244-bit random secret
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);

-- Access tokens (client-credentials grant). Only the SHA-256 of a token is kept.
CREATE TABLE fhir_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES fhir_clients (client_id),
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX fhir_tokens_client ON fhir_tokens (client_id, expires_at);

-- Practitioners are looked up by practising certificate (FHIR Practitioner?identifier=).
CREATE INDEX staff_cert ON staff (practising_cert);
