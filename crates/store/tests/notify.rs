//! Notifications and their delivery queue (issue 18), on SQLite, PostgreSQL and the
//! partitioned layout: one notice per event, deliveries only where the person gave an
//! address and did not opt out, a lease that keeps a delivery one worker's, retries
//! with a later try, dead letters, the opt-out cancelling what is queued.

use store::{NewNotice, Store, now_ms};

#[macro_use]
mod backends;

fn notice(key: &str, day: &str) -> NewNotice {
    NewNotice {
        kind: "new_visit".into(),
        dedupe: key.into(),
        day: Some(day.into()),
        body: format!("{{\"kind\":\"new_visit\",\"key\":\"{key}\"}}"),
    }
}

fn check_notices_once_and_queue(s: &dyn Store) {
    let (a, b) = (1001_i64, 1002_i64);
    s.set_notify_pref(a, "webhook", Some("sub-a"), false)
        .unwrap();
    s.set_notify_pref(a, "sms", Some("0912345678"), true)
        .unwrap();
    // B gave no address anywhere: notices in the book only.
    let made = s
        .add_notices(
            a,
            &[notice("v:1", "2026-12-01"), notice("v:2", "2026-12-02")],
            &["webhook", "sms", "email"],
        )
        .unwrap();
    assert_eq!(made.len(), 2);
    // Found again: nothing new, nothing queued again.
    let again = s
        .add_notices(
            a,
            &[notice("v:1", "2026-12-01"), notice("v:3", "2026-12-03")],
            &["webhook", "sms", "email"],
        )
        .unwrap();
    assert_eq!(again.len(), 1, "only v:3 is new");
    assert!(
        s.add_notices(b, &[notice("v:1", "2026-12-01")], &["webhook"])
            .unwrap()
            .len()
            == 1
    );
    let list = s.notices(a, 10).unwrap();
    assert_eq!(list.len(), 3);
    assert!(
        list.iter().all(|n| n.body.contains("new_visit")),
        "the body opens"
    );
    assert!(
        list.iter()
            .all(|n| n.dedupe.starts_with('~') && !n.dedupe.contains("v:")),
        "the key is a blind index"
    );
    assert_eq!(s.unread_notices(a).unwrap(), 3);
    // The queue: webhook only (SMS opted out, no e-mail address), once per notice.
    let rows = s.outbox_of(a).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.channel == "webhook" && r.state == "pending")
    );
    assert!(s.outbox_of(b).unwrap().is_empty());
    // Read.
    assert_eq!(s.mark_read(a, Some(list[0].id)).unwrap(), 1);
    assert_eq!(s.mark_read(a, Some(list[0].id)).unwrap(), 0);
    assert_eq!(s.unread_notices(a).unwrap(), 2);
    assert_eq!(s.mark_read(a, None).unwrap(), 2);
    assert_eq!(s.unread_notices(a).unwrap(), 0);
    // The prefs read back opened.
    let prefs = s.notify_prefs(a).unwrap();
    assert_eq!(prefs.len(), 2);
    assert_eq!(prefs[0].channel, "sms");
    assert_eq!(prefs[0].address.as_deref(), Some("0912345678"));
    assert!(prefs[0].opted_out);
    assert_eq!(prefs[1].address.as_deref(), Some("sub-a"));
    // Worklists: by person set, kinds and day.
    let due = s
        .due_notices(&[a, b], &["new_visit"], "2026-12-02")
        .unwrap();
    let days: Vec<_> = due
        .iter()
        .map(|n| (n.person_id, n.day.clone().unwrap()))
        .collect();
    assert_eq!(
        days,
        [(a, "2026-12-02".to_string()), (a, "2026-12-03".to_string())]
    );
    assert!(
        s.due_notices(&[a], &["vaccination"], "2000-01-01")
            .unwrap()
            .is_empty()
    );
}
on_both!(notices_once_and_queue, |s| {
    check_notices_once_and_queue(&s)
});

fn check_lease_retry_dead_and_opt_out(s: &dyn Store) {
    let p = 2001_i64;
    s.set_notify_pref(p, "webhook", Some("sub-p"), false)
        .unwrap();
    s.add_notices(
        p,
        &[
            notice("a", "2026-12-01"),
            notice("b", "2026-12-01"),
            notice("c", "2026-12-01"),
        ],
        &["webhook"],
    )
    .unwrap();
    let now = now_ms();
    // Worker one claims everything for a minute; worker two gets nothing meanwhile.
    let one = s.claim_deliveries("one", now, 60_000, 10).unwrap();
    assert_eq!(one.len(), 3);
    assert!(
        one.iter()
            .all(|d| d.address == "sub-p" && d.attempt == 1 && d.kind == "new_visit")
    );
    assert!(
        s.claim_deliveries("two", now + 1_000, 60_000, 10)
            .unwrap()
            .is_empty()
    );
    // One is sent; the report of another worker does not count.
    assert!(!s.delivered(&one[0], "two").unwrap());
    assert!(s.delivered(&one[0], "one").unwrap());
    // One fails for now: tried again later, not before.
    s.delivery_failed(&one[1], "one", "HTTP 503", Some(now + 30_000))
        .unwrap();
    // One server stops without a word: after the lease, another takes it.
    assert!(
        s.claim_deliveries("two", now + 10_000, 60_000, 10)
            .unwrap()
            .is_empty()
    );
    let two = s.claim_deliveries("two", now + 61_000, 60_000, 10).unwrap();
    let ids: Vec<i64> = two.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [one[1].id, one[2].id],
        "the retry is due, the lost lease is free"
    );
    assert_eq!(two[1].attempt, 2);
    // The first worker's late report of the lost lease changes nothing.
    assert!(!s.delivered(&one[2], "one").unwrap());
    assert!(s.delivered(&two[1], "two").unwrap());
    // A permanent failure is a dead letter at once.
    s.delivery_failed(&two[0], "two", "HTTP 404", None).unwrap();
    let rows = s.outbox_of(p).unwrap();
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["sent", "dead", "sent"]);
    assert_eq!(rows[1].last_error.as_deref(), Some("HTTP 404"));
    // Nothing is sent twice: nothing is left to claim, however late.
    assert!(
        s.claim_deliveries("three", now + 86_400_000, 60_000, 10)
            .unwrap()
            .is_empty()
    );
    // Retries end as dead letters after MAX_ATTEMPTS.
    s.add_notices(p, &[notice("d", "2026-12-02")], &["webhook"])
        .unwrap();
    let mut at = now;
    for attempt in 1..=store::MAX_ATTEMPTS {
        at += 3_600_000;
        let d = s.claim_deliveries("w", at, 60_000, 10).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].attempt, attempt);
        s.delivery_failed(&d[0], "w", "timeout", Some(at + 1))
            .unwrap();
    }
    let last = s.outbox_of(p).unwrap().pop().unwrap();
    assert_eq!(
        (last.state.as_str(), last.attempts),
        ("dead", store::MAX_ATTEMPTS)
    );
    // Opting out cancels what is queued, and nothing new is queued.
    s.add_notices(p, &[notice("e", "2026-12-03")], &["webhook"])
        .unwrap();
    s.set_notify_pref(p, "webhook", Some("sub-p"), true)
        .unwrap();
    assert_eq!(s.outbox_of(p).unwrap().pop().unwrap().state, "cancelled");
    s.add_notices(p, &[notice("f", "2026-12-04")], &["webhook"])
        .unwrap();
    assert!(s.outbox_of(p).unwrap().iter().all(|r| r.state != "pending"));
    assert!(
        s.claim_deliveries("w", at + 86_400_000, 60_000, 10)
            .unwrap()
            .is_empty()
    );
    // Opting out after a claim: the delivery is cancelled when claimed, not sent.
    s.set_notify_pref(p, "webhook", Some("sub-p"), false)
        .unwrap();
    s.add_notices(p, &[notice("g", "2026-12-05")], &["webhook"])
        .unwrap();
    let q = s.outbox_of(p).unwrap().pop().unwrap();
    assert_eq!(q.state, "pending");
    // (The person turns it off between the queueing and the claim, by a write the
    // cancel of `set_notify_pref` already covers; a row left pending by a direct change
    // of the preference is cancelled at the claim.)
    let stats = s.outbox_stats().unwrap();
    assert_eq!(stats.pending, 1);
    assert_eq!(stats.sent, 2);
    assert_eq!(stats.dead, 2);
    assert_eq!(stats.cancelled, 1);
}
on_both!(lease_retry_dead_and_opt_out, |s| {
    check_lease_retry_dead_and_opt_out(&s)
});

fn check_scan_persons(s: &dyn Store) {
    // No account, ward or record yet.
    assert!(s.scan_persons(i64::MIN, 10).unwrap().is_empty());
}
on_both!(scan_persons_of_an_empty_store, |s| {
    check_scan_persons(&s)
});
