-- Notifications, delivery queue and preferences (issue 18).

-- One notice per person and event: `dedupe` is the event's key (`book::notify`), so a
-- scan run again makes no second notice. `body` is the event as sealed JSON (bound to
-- the notice's id); `kind` and `day` stay clear for the lists (the unread count, the
-- station's worklists).
CREATE TABLE notifications (
    person_id  INTEGER NOT NULL,
    id         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    dedupe     TEXT NOT NULL,
    day        TEXT,                   -- yyyy-mm-dd it is due or happened
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER,
    PRIMARY KEY (person_id, id),
    UNIQUE (person_id, dedupe)
);
CREATE INDEX notifications_unread ON notifications(person_id, read_at);

-- The delivery queue (outbox): one row per notice and outside channel, made in the
-- transaction that makes the notice, so it survives a restart. A worker claims rows
-- with a lease (`lease_owner`, `lease_until`); a row is sent once, retried with
-- back-off (`attempts`, `next_at`), or ends `dead` with its last error.
CREATE TABLE notify_outbox (
    person_id       INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    notification_id INTEGER NOT NULL,
    channel         TEXT NOT NULL,     -- webhook | email | sms
    state           TEXT NOT NULL,     -- pending | sent | dead | cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER,
    PRIMARY KEY (person_id, id),
    UNIQUE (person_id, notification_id, channel)
);
CREATE INDEX notify_outbox_due ON notify_outbox(state, next_at);
-- The rows a worker holds now (a lease is cleared when its outcome is recorded).
CREATE INDEX notify_outbox_leased ON notify_outbox(lease_owner, lease_until) WHERE lease_owner IS NOT NULL;

-- Per person and outside channel: the address (sealed, bound to person and channel)
-- and whether the person turned the channel off. No row: nothing is sent there.
CREATE TABLE notify_prefs (
    person_id  INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    address    TEXT,
    opted_out  INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (person_id, channel)
);
