-- healthbook schema for PostgreSQL, version 9 (SQLite 0015): units across the 2025
-- reform. Units are dated and keyed by code and first day in force (a code alone is
-- ambiguous across the reform: province 24 was Bắc Giang, is now Bắc Ninh); the
-- lineage says which 2025 unit(s) each pre-2025 unit became. Both are reference tables
-- on Citus. Comments of the columns in migrations/sqlite/0015_units_dated.sql.
ALTER TABLE units ADD COLUMN valid_from TEXT;
ALTER TABLE units ADD COLUMN valid_to TEXT;
UPDATE units SET valid_from = CASE scheme WHEN '2025' THEN '2025-07-01' ELSE '0001-01-01' END,
                 valid_to = CASE scheme WHEN '2025' THEN NULL ELSE '2025-06-30' END;
ALTER TABLE units ALTER COLUMN valid_from SET NOT NULL;
ALTER TABLE units DROP CONSTRAINT units_pkey;
ALTER TABLE units ADD PRIMARY KEY (code, valid_from);

CREATE TABLE unit_lineage (
    old_level  TEXT NOT NULL,
    old_code   TEXT NOT NULL,
    new_level  TEXT NOT NULL,
    new_code   TEXT NOT NULL,
    relation   TEXT NOT NULL,
    note       TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (old_level, old_code, new_level, new_code)
);
CREATE INDEX unit_lineage_new ON unit_lineage(new_level, new_code);
