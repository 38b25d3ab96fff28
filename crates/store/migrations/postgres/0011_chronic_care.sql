-- Chronic-disease registers, follow-ups and growth measurements (issue 18).
-- healthbook schema, PostgreSQL version 11 (SQLite 0017): the commune station's
-- registers of hypertension, diabetes, COPD and asthma (`book::ncd`), each follow-up
-- visit (entered by the station, or derived from a hospital dossier), and children's
-- weight and length measurements (`book::growth`, WHO 2006). Person-owned: keyed by
-- person_id first. Health data is sealed, bound to the row: the register's disease
-- too (which register a person is in is a diagnosis), so a person's rows are keyed by
-- an id and a person is in a register once by the rule of the store (`chronic.rs`).
-- The clear columns are what the station's lists and the report figures need.

-- One row per person and register.
CREATE TABLE ncd_enrolments (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    disease     TEXT NOT NULL,          -- sealed: hypertension | diabetes | copd | asthma
    commune     TEXT NOT NULL,          -- the managing station's unit
    status      TEXT NOT NULL,          -- managed | moved | lost | died | referred
    status_on   TEXT NOT NULL,          -- yyyy-mm-dd the status was set
    enrolled_on TEXT NOT NULL,          -- yyyy-mm-dd
    last_visit  TEXT,                   -- yyyy-mm-dd of the newest follow-up
    next_due    TEXT,                   -- yyyy-mm-dd of the next appointment
    controlled  BIGINT,                 -- the newest follow-up: 1 controlled, 0 not, NULL unknown
    body        TEXT NOT NULL,          -- sealed JSON book::ncd::Enrolment
    by_user     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (person_id, id)
);
-- The register pages and the indicators per commune (no body read).
CREATE INDEX ncd_enrolments_commune ON ncd_enrolments(commune, status, next_due, controlled);

-- One row per follow-up visit; a dossier's episode gives at most one per register (checked
-- by the store, the disease being sealed).
CREATE TABLE ncd_followups (
    person_id  BIGINT NOT NULL,
    id         BIGINT NOT NULL,
    disease    TEXT NOT NULL,           -- sealed
    visit_on   TEXT NOT NULL,           -- yyyy-mm-dd
    source     TEXT NOT NULL,           -- entered | dossier
    episode_id BIGINT,                  -- the hospital episode it was taken from
    controlled BIGINT,
    body       TEXT NOT NULL,           -- sealed JSON book::ncd::FollowUp
    by_user    TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX ncd_followups_visits ON ncd_followups(person_id, visit_on);

-- Children's measurements; the classification flags (0 normal, 1 moderate /
-- overweight, 2 severe / obese, NULL not assessed) are derived at write time from the
-- sealed raw values, for counting.
CREATE TABLE growth_measurements (
    person_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    measured_on TEXT NOT NULL,          -- yyyy-mm-dd
    unit        TEXT,                   -- the station that measured
    underweight BIGINT,
    stunting    BIGINT,
    wasting     BIGINT,
    overweight  BIGINT,
    body        TEXT NOT NULL,          -- sealed JSON book::growth::Measurement
    by_user     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (person_id, id)
);
CREATE INDEX growth_measurements_person ON growth_measurements(person_id, measured_on);
