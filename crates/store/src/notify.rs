//! Notifications (issue 18): one notice per person and event (`notifications`, keyed by
//! the event's dedupe key), the delivery queue to outside channels (`notify_outbox`:
//! made in the same transaction as its notice, claimed by a worker under a lease, sent
//! once, retried with back-off, dead-lettered), and each person's channels
//! (`notify_prefs`: the address, sealed, and the opt-out).
//!
//! A notice's body (the event as JSON, `book::notify::Event`) is sealed to its row
//! (`notifications.body` + the notice's id); its dedupe key, which names the event, is a
//! blind index of `person:key`; an address is sealed to the person and channel
//! (`notify_prefs.address` + `person:channel`). `kind` and `day` stay clear for lists.

use serde::Serialize;

use crate::db::{Db, Q, args};
use crate::engine::{Backend, Engine};
use crate::{Result, StoreError, now_ms};

const NOTICE_BODY: &str = "notifications.body";
const PREF_ADDRESS: &str = "notify_prefs.address";

/// How many times a delivery is tried before it is a dead letter.
pub const MAX_ATTEMPTS: i64 = 8;

/// A notice to add (its event already made into texts by `book::notify`).
#[derive(Clone, Debug)]
pub struct NewNotice {
    /// `book::notify::Kind::code`.
    pub kind: String,
    /// `book::notify::Event::dedupe_key`.
    pub dedupe: String,
    /// `yyyy-mm-dd` it is due or happened.
    pub day: Option<String>,
    /// The event as JSON.
    pub body: String,
}

/// A stored notice.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    pub id: i64,
    pub person_id: i64,
    pub kind: String,
    /// The blind index of the event's key (the key itself is in the body).
    pub dedupe: String,
    pub day: Option<String>,
    /// The event as JSON.
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A person's choice for one outside channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifyPref {
    pub channel: String,
    pub address: Option<String>,
    pub opted_out: bool,
    pub updated_at: i64,
}

/// A delivery claimed by a worker: send it, then report [`Notifications::delivered`]
/// or [`Notifications::delivery_failed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub person_id: i64,
    pub id: i64,
    pub notification_id: i64,
    pub channel: String,
    /// This try's number (1 for the first).
    pub attempt: i64,
    /// Where to (opened); the worker never sees the notice's body.
    pub address: String,
    /// The event kind (`book::notify::Kind::code`), for logs: no channel sends it.
    pub kind: String,
}

/// How a claimed delivery went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Try again at this instant (a dead letter after [`MAX_ATTEMPTS`]).
    Retry {
        at: i64,
        error: String,
    },
    /// A dead letter now.
    Dead {
        error: String,
    },
}

/// The queue by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
    pub cancelled: i64,
}

/// One row of the queue (tests, operators).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    pub person_id: i64,
    pub id: i64,
    pub notification_id: i64,
    pub channel: String,
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
}

pub trait Notifications {
    /// Add the notices `person` does not have yet (by dedupe key) and, for each new one,
    /// a delivery per channel of `channels` where the person gave an address and did
    /// not opt out; one transaction. Returns the new notices' ids.
    fn add_notices(
        &self,
        person: i64,
        notices: &[NewNotice],
        channels: &[&str],
    ) -> Result<Vec<i64>>;
    /// A person's notices, newest first.
    fn notices(&self, person: i64, limit: usize) -> Result<Vec<Notice>>;
    /// How many of a person's notices are unread.
    fn unread_notices(&self, person: i64) -> Result<i64>;
    /// Mark one notice read (`Some(id)`) or all; how many changed.
    fn mark_read(&self, person: i64, id: Option<i64>) -> Result<u64>;
    /// A person's outside channels.
    fn notify_prefs(&self, person: i64) -> Result<Vec<NotifyPref>>;
    /// Set a person's address and opt-out for a channel. Opting out (or removing the
    /// address) cancels what is still queued for that channel.
    fn set_notify_pref(
        &self,
        person: i64,
        channel: &str,
        address: Option<&str>,
        opted_out: bool,
    ) -> Result<()>;
    /// Claim up to `limit` due deliveries for `owner` until `now + lease_ms`: another
    /// worker (another server) does not get them meanwhile. A delivery whose person
    /// opted out since, or has no address any more, is cancelled instead.
    fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>>;
    /// A claimed delivery was sent (false: the lease was lost meanwhile).
    fn delivered(&self, d: &Delivery, owner: &str) -> Result<bool>;
    /// A claimed delivery failed: tried again at `retry_at`, or a dead letter when
    /// `None`.
    fn delivery_failed(
        &self,
        d: &Delivery,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()>;
    /// The outcomes of a worker's claimed deliveries, in one transaction; how many it
    /// recorded (one whose lease was lost meanwhile changes nothing).
    fn finish_deliveries(&self, owner: &str, done: &[(Delivery, Outcome)]) -> Result<usize>;
    fn outbox_stats(&self) -> Result<OutboxStats>;
    /// The queue rows of a person.
    fn outbox_of(&self, person: i64) -> Result<Vec<OutboxRow>>;
    /// The notices of `persons` of `kinds` due on or after `from` (`yyyy-mm-dd`), by
    /// day: the station's worklists.
    fn due_notices(&self, persons: &[i64], kinds: &[&str], from: &str) -> Result<Vec<Notice>>;
    /// Persons a scan covers (account holders, wards, residents with an open record),
    /// after `after` in id order, at most `limit`.
    fn scan_persons(&self, after: i64, limit: usize) -> Result<Vec<i64>>;
}

fn notice_row(db: &dyn Db, r: &crate::db::Row<'_>) -> Result<Notice> {
    let person_id: i64 = r.get(0)?;
    let id: i64 = r.get(1)?;
    let sealed: String = r.get(5)?;
    Ok(Notice {
        id,
        person_id,
        kind: r.get(2)?,
        dedupe: r.get(3)?,
        day: r.get(4)?,
        body: db.crypt().open_str(NOTICE_BODY, id, &sealed)?,
        created_at: r.get(6)?,
        read_at: r.get(7)?,
    })
}

fn pref_bound(person: i64, channel: &str) -> String {
    format!("{person}:{channel}")
}

fn prefs_of(db: &dyn Db, person: i64) -> Result<Vec<NotifyPref>> {
    db.all(Q::NotifyPrefsOf, args![person], |r| {
        let channel: String = r.get(0)?;
        let address = match r.get::<Option<String>>(1)? {
            Some(s) => Some(db.crypt().open_bound_str(
                PREF_ADDRESS,
                &pref_bound(person, &channel),
                &s,
            )?),
            None => None,
        };
        Ok(NotifyPref {
            channel,
            address,
            opted_out: r.get::<i64>(2)? != 0,
            updated_at: r.get(3)?,
        })
    })
}

/// The statement and arguments that record one outcome of a delivery `owner` holds
/// (each changes nothing when the lease was lost).
fn finish(
    db: &dyn Db,
    d: &Delivery,
    owner: &str,
    o: &Outcome,
    now: i64,
    later: bool,
) -> Result<u64> {
    let run = |q: Q, a: &[crate::db::Arg<'_>]| -> Result<u64> {
        if later {
            db.exec_later(q, a).map(|()| 0)
        } else {
            db.exec(q, a)
        }
    };
    let cut = |e: &str| -> String { e.chars().take(500).collect() };
    match o {
        Outcome::Sent => run(Q::NotifyDone, args![d.person_id, d.id, owner, now]),
        Outcome::Retry { at, error } if d.attempt < MAX_ATTEMPTS => run(
            Q::NotifyRetry,
            args![d.person_id, d.id, owner, *at, cut(error)],
        ),
        Outcome::Retry { error, .. } | Outcome::Dead { error } => run(
            Q::NotifyDead,
            args![d.person_id, d.id, owner, now, cut(error)],
        ),
    }
}

impl<B: Backend> Notifications for Engine<B> {
    fn add_notices(
        &self,
        person: i64,
        notices: &[NewNotice],
        channels: &[&str],
    ) -> Result<Vec<i64>> {
        if notices.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        self.write(|db| {
            let prefs = prefs_of(db, person)?;
            let live: Vec<&str> = channels
                .iter()
                .copied()
                .filter(|c| {
                    prefs.iter().any(|p| {
                        p.channel == *c
                            && !p.opted_out
                            && p.address.as_deref().is_some_and(|a| !a.is_empty())
                    })
                })
                .collect();
            let mut made = Vec::new();
            for n in notices {
                let id = self.next_id();
                let body = db.crypt().seal_str(NOTICE_BODY, id, &n.body)?;
                // The key names the event ("follow_up:hypertension:…"): kept as a blind
                // index, bound to the person.
                let key = db
                    .crypt()
                    .blind("notify", &format!("{person}:{}", n.dedupe))?;
                let added = db.exec(
                    Q::NotifyInsert,
                    args![person, id, n.kind, key, n.day, body, now],
                )?;
                if added == 0 {
                    continue;
                }
                for c in &live {
                    db.exec(
                        Q::NotifyOutboxInsert,
                        args![person, self.next_id(), id, *c, now],
                    )?;
                }
                made.push(id);
            }
            Ok(made)
        })
    }

    fn notices(&self, person: i64, limit: usize) -> Result<Vec<Notice>> {
        self.read(|db| {
            db.all(Q::NotifyList, args![person, limit as i64], |r| {
                notice_row(db, r)
            })
        })
    }

    fn unread_notices(&self, person: i64) -> Result<i64> {
        self.read(|db| db.value(Q::NotifyUnread, args![person]))
    }

    fn mark_read(&self, person: i64, id: Option<i64>) -> Result<u64> {
        let now = now_ms();
        self.write(|db| match id {
            Some(id) => db.exec(Q::NotifyMarkRead, args![person, id, now]),
            None => db.exec(Q::NotifyMarkAllRead, args![person, now]),
        })
    }

    fn notify_prefs(&self, person: i64) -> Result<Vec<NotifyPref>> {
        self.read(|db| prefs_of(db, person))
    }

    fn set_notify_pref(
        &self,
        person: i64,
        channel: &str,
        address: Option<&str>,
        opted_out: bool,
    ) -> Result<()> {
        if channel.is_empty() || channel.len() > 20 {
            return Err(StoreError::Invalid(format!("channel {channel:?}")));
        }
        let now = now_ms();
        self.write(|db| {
            let sealed = match address.map(str::trim).filter(|a| !a.is_empty()) {
                Some(a) => Some(db.crypt().seal_bound_str(
                    PREF_ADDRESS,
                    &pref_bound(person, channel),
                    a,
                )?),
                None => None,
            };
            db.exec(
                Q::NotifyPrefUpsert,
                args![person, channel, sealed, opted_out as i64, now],
            )?;
            if opted_out || sealed.is_none() {
                db.exec(Q::NotifyCancelPending, args![person, channel, now])?;
            }
            Ok(())
        })
    }

    fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.write(|db| {
            let mut claimed = db.all(
                Q::NotifyClaim,
                args![owner, now + lease_ms, now, limit as i64],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<i64>(1)?,
                        r.get::<i64>(2)?,
                        r.get::<String>(3)?,
                        r.get::<i64>(4)?,
                    ))
                },
            )?;
            // RETURNING gives no order: oldest first.
            claimed.sort_by_key(|c| c.1);
            // Where each goes and whether the person still wants it, in one statement.
            let mut facts = std::collections::HashMap::new();
            db.query(
                Q::NotifyClaimedFacts,
                args![owner, now + lease_ms],
                &mut |r| {
                    facts.insert(
                        (r.get::<i64>(0)?, r.get::<i64>(1)?),
                        (
                            r.get::<String>(2)?,
                            r.get::<Option<String>>(3)?,
                            r.get::<Option<i64>>(4)?.unwrap_or(0) != 0,
                        ),
                    );
                    Ok(true)
                },
            )?;
            let mut out = Vec::with_capacity(claimed.len());
            for (person_id, id, notification_id, channel, attempt) in claimed {
                let fact = facts.remove(&(person_id, id));
                let address = match &fact {
                    Some((_, Some(a), false)) => Some(db.crypt().open_bound_str(
                        PREF_ADDRESS,
                        &pref_bound(person_id, &channel),
                        a,
                    )?),
                    _ => None,
                };
                match (fact, address) {
                    (Some((kind, _, _)), Some(address)) => out.push(Delivery {
                        person_id,
                        id,
                        notification_id,
                        channel,
                        attempt,
                        address,
                        kind,
                    }),
                    _ => {
                        db.exec(Q::NotifyCancelOne, args![person_id, id, now])?;
                    }
                }
            }
            Ok(out)
        })
    }

    fn delivered(&self, d: &Delivery, owner: &str) -> Result<bool> {
        let now = now_ms();
        self.write(|db| Ok(finish(db, d, owner, &Outcome::Sent, now, false)? == 1))
    }

    fn delivery_failed(
        &self,
        d: &Delivery,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let now = now_ms();
        let error = error.to_string();
        let o = match retry_at {
            Some(at) => Outcome::Retry { at, error },
            None => Outcome::Dead { error },
        };
        self.write(|db| finish(db, d, owner, &o, now, false).map(drop))
    }

    fn finish_deliveries(&self, owner: &str, done: &[(Delivery, Outcome)]) -> Result<usize> {
        let now = now_ms();
        self.write(|db| {
            // Nobody reads the counts: PostgreSQL sends the statements together.
            for (d, o) in done {
                finish(db, d, owner, o, now, true)?;
            }
            Ok(done.len())
        })
    }

    fn outbox_stats(&self) -> Result<OutboxStats> {
        self.read(|db| {
            let mut s = OutboxStats::default();
            db.query(Q::NotifyOutboxStats, args![], &mut |r| {
                let state: String = r.get(0)?;
                let n: i64 = r.get(1)?;
                match state.as_str() {
                    "pending" => s.pending = n,
                    "sent" => s.sent = n,
                    "dead" => s.dead = n,
                    _ => s.cancelled += n,
                }
                Ok(true)
            })?;
            Ok(s)
        })
    }

    fn outbox_of(&self, person: i64) -> Result<Vec<OutboxRow>> {
        self.read(|db| {
            db.all(Q::NotifyOutboxOf, args![person], |r| {
                Ok(OutboxRow {
                    person_id: r.get(0)?,
                    id: r.get(1)?,
                    notification_id: r.get(2)?,
                    channel: r.get(3)?,
                    state: r.get(4)?,
                    attempts: r.get(5)?,
                    next_at: r.get(6)?,
                    last_error: r.get(7)?,
                })
            })
        })
    }

    fn due_notices(&self, persons: &[i64], kinds: &[&str], from: &str) -> Result<Vec<Notice>> {
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let persons = persons.to_vec();
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        self.read(|db| {
            db.all(Q::NotifyDueOf, args![persons, kinds, from], |r| {
                notice_row(db, r)
            })
        })
    }

    fn scan_persons(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        self.read(|db| {
            db.all(Q::NotifyScanPersons, args![after, limit as i64], |r| {
                r.get(0)
            })
        })
    }
}
