-- Encryption at rest, second part: who a person is. Names, birth dates and personal IDs
-- of persons, and names and birth dates of the population registry, are sealed (text:
-- '!' and base64); identifiers, card periods, check-ins and the registry are found by
-- the blind index of the value ('~' and 32 hex digits), and an identifier's value is
-- sealed beside its index in sealed_value.
ALTER TABLE identifiers ADD COLUMN sealed_value TEXT;

-- What a store written before this version still holds in clear, converted when it
-- starts (and by `healthbook keys encrypt`); a new store has nothing to convert.
CREATE TABLE crypt_pending (
    item TEXT PRIMARY KEY
);
INSERT INTO crypt_pending (item)
    SELECT 'identities' WHERE EXISTS (SELECT 1 FROM persons) OR EXISTS (SELECT 1 FROM population)
        OR EXISTS (SELECT 1 FROM checkins) OR EXISTS (SELECT 1 FROM dq_issues);
