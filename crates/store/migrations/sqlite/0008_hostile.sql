-- healthbook schema, version 8: defences found by a hostile review.

-- 1. No episode without a facility. Before version 8 an envelope with an empty MACSKCB
--    was stored with an empty facility, and another facility could replace it. Such
--    episodes leave the book: they are kept in episodes_quarantine (same columns), their
--    keys removed, and each is listed as a data-quality issue ('quarantined_episode',
--    `healthbook person issues`). `healthbook report rebuild` then recounts the reports.
CREATE TABLE episodes_quarantine AS SELECT * FROM episodes WHERE 0;
INSERT INTO episodes_quarantine SELECT * FROM episodes WHERE facility = '';
INSERT INTO dq_issues (id, person_id, kind, detail, submission_id, facility, ma_lk, created_at)
    SELECT (SELECT COALESCE(MAX(id), 0) FROM dq_issues) + ROW_NUMBER() OVER (ORDER BY person_id, id),
           person_id, 'quarantined_episode',
           json_object('episode', id, 'version', version, 'reason', 'empty facility'),
           submission_id, '', ma_lk, CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM episodes WHERE facility = '';
DELETE FROM episode_keys WHERE facility = '';
DELETE FROM episodes WHERE facility = '';
CREATE INDEX dq_issues_episode ON dq_issues(facility, ma_lk);

-- 2. Who presented where: a check-in's personal ID and card, so that a referral opens a
--    book only for a patient who came to the receiving facility.
ALTER TABLE checkins ADD COLUMN personal_id TEXT;
ALTER TABLE checkins ADD COLUMN card TEXT;
UPDATE checkins SET personal_id = json_extract(body, '$.SO_CCCD'), card = json_extract(body, '$.MA_THE_BHYT');
CREATE INDEX checkins_personal_id ON checkins(facility, personal_id, started_at);
CREATE INDEX checkins_card ON checkins(facility, card, started_at);

-- 3. Activation codes: attempts counted per code; a code made for an active account is a
--    reset ('reset'), the only kind that may replace a passcode. Codes are now keyed
--    hashes (HMAC under the server secret): codes issued before cannot be checked and end.
ALTER TABLE activation_codes ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE activation_codes ADD COLUMN purpose TEXT NOT NULL DEFAULT 'activation';
UPDATE activation_codes SET expires_at = 0 WHERE used_at IS NULL;

-- 4. Audit checkpoints: windows of records by time, digested and written outside the
--    database; records written after a checkpoint are timed after it.
CREATE INDEX audit_at ON audit_log(at);
CREATE TABLE audit_checkpoints (
    seq     INTEGER PRIMARY KEY,
    at      BIGINT NOT NULL,          -- the window ends here (records with at <= this)
    records BIGINT NOT NULL,
    digest  TEXT NOT NULL
);

-- 5. BHYT card periods as sent: a renewal is a new period of the same card number, and
--    dossiers arriving out of order no longer make a period that ends before it starts.
CREATE TABLE card_periods (
    person_id  BIGINT NOT NULL,
    card       TEXT NOT NULL,
    valid_from TEXT NOT NULL,         -- yyyyMMdd, '' when not sent
    valid_to   TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (person_id, card, valid_from, valid_to)
);
INSERT INTO card_periods (person_id, card, valid_from, valid_to, first_seen, last_seen)
    SELECT person_id, value, COALESCE(valid_from, ''), COALESCE(valid_to, ''), first_seen, last_seen
    FROM identifiers WHERE kind = 'bhyt_card' AND (valid_from IS NOT NULL OR valid_to IS NOT NULL)
      AND (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to);
