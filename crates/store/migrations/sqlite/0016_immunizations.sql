-- Vaccinations (issue 18), SQLite version 16 (PostgreSQL 0010): every dose of every
-- person — given, contraindicated, refused or deferred — entered by a commune station,
-- imported from the national immunisation system or sent as FHIR Immunization.
-- The clear columns are what the schedule (book::immunization::forecast) and the
-- station's lists need; lot, route, site, reason, reaction, the national ids and the
-- COVID-19 certificate fields are in the sealed JSON body (bound to the dose's id).
CREATE TABLE immunizations (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    vaccine     TEXT NOT NULL,          -- book/data/vaccines.tsv code
    given_on    TEXT NOT NULL,          -- yyyy-mm-dd (the day given, or refused / deferred)
    status      TEXT NOT NULL,          -- given | contraindicated | refused | deferred
    dose_number INTEGER,                -- as recorded (thu_tu_mui_tiem)
    source      TEXT NOT NULL,          -- station | import | fhir | demo
    source_key  TEXT,                   -- the sender's id of the dose ("nip:<lich_su_tiem_id>", FHIR identifier): a dose sent again is not added twice
    facility    TEXT,                   -- where it was given (KCB code or the national CO_SO_ID)
    unit        TEXT,                   -- the station (commune) that recorded it
    body        TEXT NOT NULL,          -- sealed JSON: book::immunization::DoseDetails
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    voided_at   BIGINT,                 -- entered in error: kept, no longer counted
    voided_by   TEXT,
    PRIMARY KEY (person_id, id)
);
CREATE UNIQUE INDEX immunizations_source ON immunizations(person_id, source_key);
CREATE INDEX immunizations_day ON immunizations(person_id, given_on);
