//! `healthbook bench notify`: the reminder queue's throughput (issue 18). Notices are
//! added for synthetic persons (each with a webhook address) and queued in the same
//! transactions; then one worker drains the queue through the webhook channel (signed
//! POSTs) to a receiver on loopback. Prints the rates and checks that every delivery
//! arrived exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::bench::{open_bench, peak_rss_mb, store_size};

#[derive(clap::Args)]
pub struct NotifyArgs {
    /// A fresh store: a SQLite file or postgres://… (its queue must be empty).
    #[arg(long, default_value = "healthbook-bench/notify.db")]
    db: String,
    /// Persons with reminders.
    #[arg(long, default_value_t = 10_000)]
    persons: usize,
    /// Notices per person.
    #[arg(long, default_value_t = 5)]
    per_person: usize,
    /// Deliveries one worker claims at once, and sends at once.
    #[arg(long, default_value_t = 200)]
    batch: usize,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Workers draining at once, each on a store of its own opened on the same
    /// database (as servers sharing it would): the leases keep them apart.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

const SECRET: &str = "bench-secret-0123456789abcdef";

pub fn notify_bench(a: NotifyArgs) -> Result<()> {
    let store = open_bench(&a.db)?;
    if store.outbox_stats()? != store::OutboxStats::default() {
        bail!("{}: the queue is not empty; give a fresh store", a.db);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Enqueue: one transaction per person (its notices and their deliveries).
    let started = Instant::now();
    let base: i64 = 7_000_000_000;
    std::thread::scope(|s| {
        let threads = 4;
        for t in 0..threads {
            let store = store.clone();
            let (persons, per) = (a.persons, a.per_person);
            s.spawn(move || {
                for i in (t..persons).step_by(threads) {
                    let pid = base + i as i64;
                    store
                        .set_notify_pref(pid, "webhook", Some(&format!("sub-{i}")), false)
                        .expect("pref");
                    let notices: Vec<store::NewNotice> = (0..per)
                        .map(|k| store::NewNotice {
                            kind: "new_visit".into(),
                            dedupe: format!("new_visit:{k}"),
                            day: Some("2026-12-07".into()),
                            body: format!(
                                "{{\"kind\":\"new_visit\",\"episode_id\":{k},\"facility\":\"01001\",\"day\":\"2026-12-07\"}}"
                            ),
                        })
                        .collect();
                    store.add_notices(pid, &notices, &["webhook"]).expect("notices");
                }
            });
        }
    });
    let enqueue = started.elapsed().as_secs_f64();
    let total = a.persons * a.per_person;
    println!(
        "enqueue: {total} notices of {} persons, each queued for the webhook, in {enqueue:.1} s ({:.0} notices/s, 4 threads)",
        a.persons,
        total as f64 / enqueue
    );
    // Drain through the webhook to a receiver on loopback.
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let repeats: Arc<Mutex<usize>> = Arc::default();
    let (stats, secs) = rt.block_on(async {
        let (s2, r2) = (seen.clone(), repeats.clone());
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (s2, r2) = (s2.clone(), r2.clone());
                async move {
                    let id = headers
                        .get("x-healthbook-delivery")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    if !s2.lock().unwrap().insert(id) {
                        *r2.lock().unwrap() += 1;
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { server::serve_router(listener, router).await });
        let settings = notify::Settings {
            webhook: Some(notify::webhook::WebhookSettings {
                url,
                secret: SECRET.into(),
                timeout_secs: Some(10),
            }),
            ..notify::Settings::default()
        };
        let mut workers = Vec::new();
        for w in 0..a.workers.max(1) {
            let st = if w == 0 {
                store.clone()
            } else {
                open_bench(&a.db)?
            };
            workers.push(
                notify::Worker::new(
                    st,
                    settings.channels().map_err(anyhow::Error::msg)?,
                    &settings,
                )
                .with_batch(a.batch, a.concurrency),
            );
        }
        let t = Instant::now();
        let mut running = tokio::task::JoinSet::new();
        for w in workers {
            running.spawn(async move { w.drain().await });
        }
        let mut s = notify::DrainStats::default();
        while let Some(r) = running.join_next().await {
            let r = r??;
            s.claimed += r.claimed;
            s.sent += r.sent;
            s.retried += r.retried;
            s.dead += r.dead;
        }
        anyhow::Ok((s, t.elapsed().as_secs_f64()))
    })?;
    let received = seen.lock().unwrap().len();
    println!(
        "drain: {} deliveries sent in {secs:.1} s ({:.0} deliveries/s; {} worker(s), batch {}, {} at once each), {} retried, {} dead",
        stats.sent,
        stats.sent as f64 / secs,
        a.workers.max(1),
        a.batch,
        a.concurrency,
        stats.retried,
        stats.dead
    );
    let q = store.outbox_stats()?;
    println!(
        "received {received} distinct deliveries, {} repeated; queue: {} sent, {} pending; peak RSS {:.0} MB, {}",
        repeats.lock().unwrap(),
        q.sent,
        q.pending,
        peak_rss_mb(),
        store_size(&a.db)
    );
    if received != total || *repeats.lock().unwrap() != 0 || q.pending != 0 {
        bail!("not every delivery arrived exactly once");
    }
    Ok(())
}
