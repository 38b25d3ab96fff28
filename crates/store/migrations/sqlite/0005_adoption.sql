-- healthbook schema, version 5: adoption counts kept as residents, books and accounts
-- change, so that adoption reports read small tables instead of the whole population.

-- Residents alive per unit.
CREATE TABLE adoption_units (
    unit  TEXT PRIMARY KEY,
    alive INTEGER NOT NULL
);

-- Residents alive whose first episode (books) or account activation (accounts) fell in
-- the month.
CREATE TABLE adoption_monthly (
    unit     TEXT NOT NULL,
    month    TEXT NOT NULL,
    books    INTEGER NOT NULL DEFAULT 0,
    accounts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month)
);

INSERT INTO adoption_units (unit, alive)
SELECT unit, COUNT(*) FROM population WHERE status = 'alive' GROUP BY unit;
INSERT INTO adoption_monthly (unit, month, books)
SELECT unit, book_since, COUNT(*) FROM population WHERE status = 'alive' AND book_since IS NOT NULL GROUP BY unit, book_since;
INSERT INTO adoption_monthly (unit, month, accounts)
SELECT unit, account_since, COUNT(*) FROM population WHERE status = 'alive' AND account_since IS NOT NULL GROUP BY unit, account_since
ON CONFLICT (unit, month) DO UPDATE SET accounts = excluded.accounts;
