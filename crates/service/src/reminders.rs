//! Reminders (issue 18): the scan that makes a person's notices from their book
//! (`book::notify::book_events`: re-exam appointments in the next days, new visits,
//! results out of range) and from the schedules of the programmes (vaccinations due,
//! chronic follow-ups due: [`Sources`]), idempotently — a notice per event, whatever
//! the number of scans; the notification centre (read, mark read) for the person and
//! their guardian; the person's outside channels and opt-out; and the station's
//! worklists of the same events for its residents.
//!
//! The scan is the system's own work (no person reads anything): nothing is recorded
//! in an audit chain. A notice is read by the person or their guardian only.

use book::access::{Action, Place, authorize};
use book::notify::{Event, Kind, Visit};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use store::{NewNotice, Notice, NotifyPref};

use crate::{Actor, Result, Service, ServiceError};

/// Most notices listed in the centre.
pub const MAX_LISTED: usize = 200;
/// The worklists show what fell due this many days back at most.
pub const WORKLIST_DAYS: i64 = 90;

/// Where the scan finds the events that are not in the dossiers: the vaccination
/// forecast and the chronic-care registers. A function of (the service, the person,
/// today) giving events; the defaults give none.
pub type Source = fn(&Service, i64, NaiveDate) -> store::Result<Vec<Event>>;

/// The event sources beyond the book.
#[derive(Clone, Copy, Default)]
pub struct Sources {
    pub vaccination: Option<Source>,
    pub follow_up: Option<Source>,
}

impl Sources {
    /// The programmes' schedules: the vaccination forecast (`vaccination::forecast_in`,
    /// doses due or overdue) and the chronic-care registers (`chronic::due_follow_ups`,
    /// follow-ups due or missed).
    pub fn programmes() -> Sources {
        Sources {
            vaccination: Some(vaccination_events),
            follow_up: Some(follow_up_events),
        }
    }
}

/// The doses due or overdue on `today` (one event per schedule item).
pub fn vaccination_events(svc: &Service, pid: i64, today: NaiveDate) -> store::Result<Vec<Event>> {
    let mut out = Vec::new();
    svc.store().transaction(false, &mut |tx| {
        if let Some(f) = crate::vaccination::forecast_in(tx, pid, today)? {
            out = f
                .open()
                .filter_map(|i| {
                    Some(Event::Vaccination {
                        code: i.key.to_string(),
                        name: i.label.to_string(),
                        dose: u32::from(i.dose),
                        due_from: i.due_from?,
                        overdue: i.status == book::immunization::Status::Overdue,
                    })
                })
                .collect();
        }
        Ok(())
    })?;
    Ok(out)
}

/// The chronic-care follow-ups due or missed on `today`.
pub fn follow_up_events(svc: &Service, pid: i64, today: NaiveDate) -> store::Result<Vec<Event>> {
    let mut out = Vec::new();
    svc.store().transaction(false, &mut |tx| {
        out = crate::chronic::due_follow_ups(tx, pid, today)?
            .into_iter()
            .filter_map(|d| {
                let label = d.disease.label();
                let mut cs = label.chars();
                let name = cs
                    .next()
                    .map(|c| c.to_lowercase().chain(cs).collect::<String>())
                    .unwrap_or_default();
                Some(Event::FollowUp {
                    program: d.disease.code().to_string(),
                    name,
                    due: NaiveDate::parse_from_str(&d.next_due, "%Y-%m-%d").ok()?,
                    overdue: d.due == book::ncd::Due::Missed,
                })
            })
            .collect();
        Ok(())
    })?;
    Ok(out)
}

/// What a scan made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    pub persons: usize,
    pub notices: usize,
}

/// A notice as its reader sees it.
#[derive(Clone, Debug, Serialize)]
pub struct NoticeView {
    pub id: i64,
    pub kind: Kind,
    pub event: Event,
    pub title: String,
    pub created_at: i64,
    pub read: bool,
}

/// One line of a station's worklist.
#[derive(Clone, Debug, Serialize)]
pub struct WorkItem {
    pub person_id: i64,
    pub name: Option<String>,
    pub birth: Option<String>,
    pub kind: Kind,
    pub event: Event,
    pub day: Option<String>,
}

fn view(n: &Notice) -> Option<NoticeView> {
    let event: Event = serde_json::from_str(&n.body).ok()?;
    Some(NoticeView {
        id: n.id,
        kind: event.kind(),
        title: event.title(),
        event,
        created_at: n.created_at,
        read: n.read_at.is_some(),
    })
}

fn new_notice(e: &Event) -> NewNotice {
    NewNotice {
        kind: e.kind().code().to_string(),
        dedupe: e.dedupe_key(),
        day: e.day().map(|d| d.format("%Y-%m-%d").to_string()),
        body: serde_json::to_string(e).unwrap_or_default(),
    }
}

impl Service {
    /// Scan one person at `now` (Vietnam wall clock; `now_ms` the same instant) and add
    /// the notices not made before, queueing them for `channels`. Returns how many were
    /// new.
    pub fn scan_person(
        &self,
        pid: i64,
        now: NaiveDateTime,
        now_ms: i64,
        sources: &Sources,
        channels: &[&str],
    ) -> Result<usize> {
        let store = self.store();
        let eps = store.episodes_of(pid)?;
        let recent_from = now_ms - book::notify::NEW_VISIT_DAYS * 86_400_000;
        let visits: Vec<Visit<'_>> = eps
            .iter()
            .map(|e| Visit {
                id: e.id,
                view: &e.view,
                recent: e.visible_at >= recent_from,
            })
            .collect();
        let mut events = book::notify::book_events(&visits, now);
        for src in [sources.vaccination, sources.follow_up]
            .into_iter()
            .flatten()
        {
            events.extend(src(self, pid, now.date())?);
        }
        if events.is_empty() {
            return Ok(0);
        }
        let notices: Vec<NewNotice> = events.iter().map(new_notice).collect();
        Ok(store.add_notices(pid, &notices, channels)?.len())
    }

    /// Scan every person the reminders are for (account holders, wards, residents with
    /// an open record), in batches.
    pub fn scan_all(
        &self,
        now: NaiveDateTime,
        now_ms: i64,
        sources: &Sources,
        channels: &[&str],
    ) -> Result<ScanStats> {
        let mut stats = ScanStats::default();
        let mut after = i64::MIN;
        loop {
            let batch = self.store().scan_persons(after, 500)?;
            let Some(last) = batch.last() else {
                return Ok(stats);
            };
            after = *last;
            for pid in batch {
                stats.persons += 1;
                stats.notices += self.scan_person(pid, now, now_ms, sources, channels)?;
            }
        }
    }

    /// Whether the actor may read `pid`'s notices (the person, their guardian).
    fn own(&self, who: &Actor, pid: i64) -> Result<()> {
        let Actor::Person { id } = who else {
            return Err(ServiceError::NotFound);
        };
        let wards: Vec<i64> = if *id == pid {
            Vec::new()
        } else {
            self.store()
                .wards(*id)?
                .into_iter()
                .map(|w| w.person.id)
                .collect()
        };
        authorize(&who.principal(wards), &Action::ReadOwnBook { owner: pid })
            .map_err(|_| ServiceError::NotFound)
    }

    /// The notification centre: the person's notices, newest first.
    pub fn notices(&self, who: &Actor, pid: i64) -> Result<Vec<NoticeView>> {
        self.own(who, pid)?;
        Ok(self
            .store()
            .notices(pid, MAX_LISTED)?
            .iter()
            .filter_map(view)
            .collect())
    }

    /// How many notices are unread (the home page's count).
    pub fn unread(&self, who: &Actor, pid: i64) -> Result<i64> {
        self.own(who, pid)?;
        Ok(self.store().unread_notices(pid)?)
    }

    /// Mark one notice read, or all of them.
    pub fn mark_read(&self, who: &Actor, pid: i64, id: Option<i64>) -> Result<u64> {
        self.own(who, pid)?;
        Ok(self.store().mark_read(pid, id)?)
    }

    /// The person's outside channels.
    pub fn notify_prefs(&self, who: &Actor, pid: i64) -> Result<Vec<NotifyPref>> {
        self.own(who, pid)?;
        Ok(self.store().notify_prefs(pid)?)
    }

    /// Set the address of a channel and whether it is on; `channels` are those the
    /// operator configured.
    pub fn set_notify_pref(
        &self,
        who: &Actor,
        pid: i64,
        channel: &str,
        address: &str,
        on: bool,
        channels: &[&str],
    ) -> Result<()> {
        self.own(who, pid)?;
        if !channels.contains(&channel) {
            return Err(ServiceError::Invalid {
                code: "invalid_channel",
                message: "Kênh thông báo này không được hệ thống hỗ trợ".into(),
            });
        }
        let address = address.trim();
        let ok = match channel {
            "email" => address.is_empty() || valid_email(address),
            "sms" => address.is_empty() || valid_phone(address),
            _ => address.len() <= 200,
        };
        if !ok || address.chars().count() > 200 {
            return Err(ServiceError::Invalid {
                code: "invalid_address",
                message: match channel {
                    "email" => "Địa chỉ e-mail không hợp lệ".into(),
                    "sms" => "Số điện thoại không hợp lệ (9–15 chữ số)".into(),
                    _ => "Địa chỉ nhận không hợp lệ".into(),
                },
            });
        }
        if on && address.is_empty() {
            return Err(ServiceError::Invalid {
                code: "invalid_address",
                message: "Cần địa chỉ nhận để bật kênh này".into(),
            });
        }
        let address = (!address.is_empty()).then_some(address);
        self.store()
            .set_notify_pref(pid, channel, address, !on)
            .map_err(ServiceError::from)
    }

    /// The station's worklist: the due events (re-exams, vaccinations, follow-ups) of
    /// the residents of `commune`, from [`WORKLIST_DAYS`] back, by day. Commune staff of
    /// that commune only.
    pub fn worklist(&self, who: &Actor, commune: &str, today: NaiveDate) -> Result<Vec<WorkItem>> {
        let place = Place {
            commune: Some(commune.to_string()),
            ..Place::default()
        };
        match who {
            Actor::Staff { account, .. } if account.role == book::access::Role::CommuneStaff => {}
            _ => {
                return Err(ServiceError::Forbidden(book::access::Denied {
                    code: "forbidden",
                    message: "Chỉ cán bộ trạm y tế xã xem danh sách việc cần làm của xã",
                }));
            }
        }
        authorize(
            &who.principal(Vec::new()),
            &Action::KeepRecord { place: &place },
        )
        .map_err(ServiceError::Forbidden)?;
        let residents = self.store().residents(commune)?;
        let ids: Vec<i64> = residents
            .iter()
            .filter(|r| r.status == "open")
            .map(|r| r.person_id)
            .collect();
        let from = (today - Duration::days(WORKLIST_DAYS))
            .format("%Y-%m-%d")
            .to_string();
        let kinds: Vec<&str> = Kind::ALL
            .iter()
            .filter(|k| k.is_due())
            .map(|k| k.code())
            .collect();
        let mut out = Vec::new();
        for chunk in ids.chunks(5_000) {
            for n in self.store().due_notices(chunk, &kinds, &from)? {
                let Some(v) = view(&n) else { continue };
                // A vaccination found due and later overdue is one line: the newest.
                let r = residents.iter().find(|r| r.person_id == n.person_id);
                out.push(WorkItem {
                    person_id: n.person_id,
                    name: r.and_then(|r| r.name.clone()),
                    birth: r.and_then(|r| r.birth.clone()),
                    kind: v.kind,
                    event: v.event,
                    day: n.day,
                });
            }
        }
        dedupe_overdue(&mut out);
        out.sort_by(|a, b| (&a.day, a.person_id).cmp(&(&b.day, b.person_id)));
        Ok(out)
    }
}

/// A dose or follow-up announced as due and then as overdue appears once, overdue.
fn dedupe_overdue(items: &mut Vec<WorkItem>) {
    let key = |w: &WorkItem| -> Option<(i64, String)> {
        match &w.event {
            Event::Vaccination { code, dose, .. } => {
                Some((w.person_id, format!("v:{code}:{dose}")))
            }
            Event::FollowUp { program, due, .. } => {
                Some((w.person_id, format!("f:{program}:{due}")))
            }
            _ => None,
        }
    };
    let overdue: std::collections::HashSet<(i64, String)> = items
        .iter()
        .filter(|w| w.event.overdue())
        .filter_map(key)
        .collect();
    items.retain(|w| w.event.overdue() || key(w).is_none_or(|k| !overdue.contains(&k)));
}

fn valid_email(s: &str) -> bool {
    let Some((user, host)) = s.split_once('@') else {
        return false;
    };
    !user.is_empty()
        && host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
}

fn valid_phone(s: &str) -> bool {
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = t.strip_prefix('+').unwrap_or(&t);
    (9..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses() {
        assert!(super::valid_email("an.nguyen@example.vn"));
        assert!(!super::valid_email("an.nguyen@example"));
        assert!(!super::valid_email("a b@example.vn"));
        assert!(super::valid_phone("0912 345 678"));
        assert!(!super::valid_phone("0912"));
    }
}
