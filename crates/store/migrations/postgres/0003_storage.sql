-- healthbook schema for PostgreSQL, version 3: columns that hold zstd-compressed bytes
-- are stored without PostgreSQL's own compression (pglz would try every value over
-- 2 kB and give up: measured, 5 % of the server's CPU during an import). On a
-- partitioned table, the setting reaches every partition.
ALTER TABLE submissions ALTER COLUMN raw_zstd SET STORAGE EXTERNAL;
ALTER TABLE submissions ALTER COLUMN findings SET STORAGE EXTERNAL;
ALTER TABLE episodes ALTER COLUMN body SET STORAGE EXTERNAL;
