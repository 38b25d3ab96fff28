-- healthbook schema, version 15: units across the 2025 reform.
--
-- Units are dated. The pre-2025 units (63 provinces → districts → communes) were in
-- force until 2025-06-30; the 2025 units (34 provinces → communes, districts abolished,
-- QĐ 19/2025/QĐ-TTg) from 2025-07-01. A code alone is ambiguous across the reform
-- (province 24 was Bắc Giang, is now Bắc Ninh; a new commune keeps the code of one of
-- its predecessors), so a unit is keyed by its code and the day it came into force.
-- valid_from / valid_to follow from the scheme: pre2025 0001-01-01 (in force since
-- before any record) to 2025-06-30, 2025 from 2025-07-01 with no end.
CREATE TABLE units_dated (
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,            -- province | district | commune
    parent     TEXT,                     -- a unit of the same scheme; NULL for provinces
    scheme     TEXT NOT NULL,            -- pre2025 | 2025
    valid_from TEXT NOT NULL,            -- yyyy-mm-dd, first day in force
    valid_to   TEXT,                     -- yyyy-mm-dd, last day in force; NULL: in force
    created_at BIGINT NOT NULL,
    PRIMARY KEY (code, valid_from)
);
INSERT INTO units_dated (code, name, level, parent, scheme, valid_from, valid_to, created_at)
SELECT code, name, level, parent, scheme,
       CASE scheme WHEN '2025' THEN '2025-07-01' ELSE '0001-01-01' END,
       CASE scheme WHEN '2025' THEN NULL ELSE '2025-06-30' END,
       created_at
FROM units;
DROP TABLE units;
ALTER TABLE units_dated RENAME TO units;
CREATE INDEX units_parent ON units(parent);

-- The lineage of the reform: which 2025 unit(s) each pre-2025 unit became. relation:
-- same (code and name kept), renamed (one to one, another name or code), merged_full
-- (the whole old unit went into the new one, with others), split_partial (the old unit
-- was divided: a part went into each new unit named; reports count it "unallocated").
CREATE TABLE unit_lineage (
    old_level  TEXT NOT NULL,
    old_code   TEXT NOT NULL,            -- a pre2025 unit (in force until 2025-06-30)
    new_level  TEXT NOT NULL,
    new_code   TEXT NOT NULL,            -- a 2025 unit (in force from 2025-07-01)
    relation   TEXT NOT NULL,            -- same | renamed | merged_full | split_partial
    note       TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (old_level, old_code, new_level, new_code)
);
CREATE INDEX unit_lineage_new ON unit_lineage(new_level, new_code);
