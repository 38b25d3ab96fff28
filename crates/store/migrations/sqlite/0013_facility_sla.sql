-- healthbook schema, SQLite version 13 (PostgreSQL 0007): the receipt → visible
-- latency per facility, so that a unit's report shows its own facilities' SLA.
-- Submissions that made episodes visible, per sending facility, day of receipt
-- (Vietnam) and latency bucket (upper bounds in crates/store/src/reports.rs,
-- SLA_BOUNDS_MS); kept in the writer's transaction like sla_daily, which stays the
-- country's figure.
CREATE TABLE facility_sla (
    facility TEXT NOT NULL,
    day      TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (facility, day, bucket)
);
-- The days before: recounted from the episode rows, which keep the submission that
-- wrote them, its receipt and the moment they became visible (one count per
-- submission and facility; rows of a bulk load have no submission, 0, and never
-- counted). rebuild_reports recounts it the same way.
INSERT INTO facility_sla (facility, day, bucket, count)
SELECT facility, date((received_at + 25200000) / 1000, 'unixepoch'),
       CASE WHEN latency <= 10 THEN 0 WHEN latency <= 50 THEN 1 WHEN latency <= 100 THEN 2
            WHEN latency <= 500 THEN 3 WHEN latency <= 1000 THEN 4 WHEN latency <= 10000 THEN 5
            WHEN latency <= 60000 THEN 6 WHEN latency <= 3600000 THEN 7
            WHEN latency <= 86400000 THEN 8 ELSE 9 END,
       COUNT(*)
FROM (SELECT submission_id, facility, MIN(received_at) AS received_at,
             MAX(visible_at) - MIN(received_at) AS latency
      FROM episodes WHERE submission_id <> 0 GROUP BY submission_id, facility)
GROUP BY 1, 2, 3;
