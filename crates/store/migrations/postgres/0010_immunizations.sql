-- Vaccinations (issue 18), PostgreSQL version 10 (SQLite 0016): every dose of every
-- person — given, contraindicated, refused or deferred — entered by a commune station,
-- imported from the national immunisation system or sent as FHIR Immunization.
-- The clear columns are what the schedule (book::immunization::forecast) and the
-- station's lists need; lot, route, site, reason, reaction, the national ids and the
-- COVID-19 certificate fields are in the sealed JSON body (bound to the dose's id).
-- Person-owned: keyed by person_id first (distributed with persons on Citus).
CREATE TABLE immunizations (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    vaccine     TEXT NOT NULL,
    given_on    TEXT NOT NULL,
    status      TEXT NOT NULL,
    dose_number INTEGER,
    source      TEXT NOT NULL,
    source_key  TEXT,
    facility    TEXT,
    unit        TEXT,
    body        TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    voided_at   BIGINT,
    voided_by   TEXT,
    PRIMARY KEY (person_id, id)
);
CREATE UNIQUE INDEX immunizations_source ON immunizations(person_id, source_key);
CREATE INDEX immunizations_day ON immunizations(person_id, given_on);
