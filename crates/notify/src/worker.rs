//! The worker that drains the delivery queue: claim a batch under a lease (so that two
//! servers on one database never hold the same delivery), send each through its
//! channel (a few at once), and report: sent, tried again after [`crate::backoff_ms`],
//! or a dead letter (a permanent failure, or [`store::MAX_ATTEMPTS`] tries).
//!
//! The queue is the store's: a restart loses nothing (a delivery claimed by a server
//! that stopped is claimed again when its lease ends), and a delivery marked sent is
//! never sent again. Between the send and its mark a crash can still repeat it once;
//! the delivery id the channels carry lets a receiver drop that repeat.

use std::sync::Arc;
use std::time::Duration;

use store::{Delivery, Outcome, Store, StoreError};
use tokio::task::JoinSet;

use crate::{Channel, Message, SendError, Settings};

/// What one round (or a drain) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainStats {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

impl DrainStats {
    fn add(&mut self, o: DrainStats) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.dead += o.dead;
    }
}

/// Drains the queue through the configured channels.
pub struct Worker {
    store: Arc<dyn Store>,
    channels: Vec<Arc<dyn Channel>>,
    owner: String,
    lease_ms: i64,
    batch: usize,
    concurrency: usize,
    link: Option<String>,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, channels: Vec<Box<dyn Channel>>, s: &Settings) -> Worker {
        Worker {
            store,
            channels: channels.into_iter().map(Arc::from).collect(),
            owner: format!("w{}-{:016x}", std::process::id(), fastrand::u64(..)),
            lease_ms: s.lease_secs.unwrap_or(120).max(1) as i64 * 1000,
            batch: 100,
            concurrency: 16,
            link: s
                .public_url
                .as_deref()
                .map(|u| format!("{}/dang-nhap", u.trim_end_matches('/'))),
        }
    }

    /// Deliveries claimed at once, and sent at once.
    pub fn with_batch(mut self, batch: usize, concurrency: usize) -> Worker {
        self.batch = batch.max(1);
        self.concurrency = concurrency.max(1);
        self
    }

    /// This worker's lease name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// One round: claim what is due, send it, report.
    pub async fn round(&self) -> Result<DrainStats, StoreError> {
        let store = self.store.clone();
        let (owner, lease, batch) = (self.owner.clone(), self.lease_ms, self.batch);
        let claimed = tokio::task::spawn_blocking(move || {
            store.claim_deliveries(&owner, store::now_ms(), lease, batch)
        })
        .await
        .map_err(|e| StoreError::Db(e.to_string()))??;
        let mut stats = DrainStats {
            claimed: claimed.len(),
            ..DrainStats::default()
        };
        if claimed.is_empty() {
            return Ok(stats);
        }
        let mut outcomes: Vec<(Delivery, Result<(), SendError>)> =
            Vec::with_capacity(claimed.len());
        let mut running = JoinSet::new();
        for d in claimed {
            while running.len() >= self.concurrency {
                if let Some(Ok(done)) = running.join_next().await {
                    outcomes.push(done);
                }
            }
            let channel = self
                .channels
                .iter()
                .find(|c| c.name() == d.channel)
                .cloned();
            let m = Message {
                id: format!("{}-{}", d.person_id, d.id),
                to: d.address.clone(),
                subject: book::notify::OUTSIDE_SUBJECT,
                text: book::notify::OUTSIDE_TEXT,
                link: self.link.clone(),
            };
            running.spawn(async move {
                let r = match channel {
                    Some(c) => c.send(&m).await,
                    None => Err(SendError::Temporary(format!(
                        "channel {} is not configured",
                        d.channel
                    ))),
                };
                (d, r)
            });
        }
        while let Some(done) = running.join_next().await {
            if let Ok(done) = done {
                outcomes.push(done);
            }
        }
        for (_, r) in &outcomes {
            match r {
                Ok(()) => stats.sent += 1,
                Err(SendError::Temporary(_)) => stats.retried += 1,
                Err(SendError::Permanent(_)) => stats.dead += 1,
            }
        }
        let done: Vec<(Delivery, Outcome)> = outcomes
            .into_iter()
            .map(|(d, r)| {
                let o = match r {
                    Ok(()) => Outcome::Sent,
                    Err(SendError::Temporary(error)) => {
                        tracing::warn!(channel = %d.channel, attempt = d.attempt, error = %error, "notification not delivered; retrying later");
                        Outcome::Retry {
                            at: store::now_ms() + crate::backoff_ms(d.attempt),
                            error,
                        }
                    }
                    Err(SendError::Permanent(error)) => {
                        tracing::warn!(channel = %d.channel, error = %error, "notification dead-lettered");
                        Outcome::Dead { error }
                    }
                };
                (d, o)
            })
            .collect();
        let store = self.store.clone();
        let owner = self.owner.clone();
        tokio::task::spawn_blocking(move || store.finish_deliveries(&owner, &done))
            .await
            .map_err(|e| StoreError::Db(e.to_string()))??;
        // A temporary failure that reached the last attempt was dead-lettered by the store.
        Ok(stats)
    }

    /// Rounds until a round claims nothing.
    pub async fn drain(&self) -> Result<DrainStats, StoreError> {
        let mut total = DrainStats::default();
        loop {
            let s = self.round().await?;
            total.add(s);
            if s.claimed == 0 {
                return Ok(total);
            }
        }
    }

    /// Drain forever, waiting `poll` when nothing is due (abort the task to stop).
    pub async fn run(self, poll: Duration) {
        loop {
            match self.drain().await {
                Ok(s) if s.claimed > 0 => tracing::info!(
                    sent = s.sent,
                    retried = s.retried,
                    dead = s.dead,
                    "notifications delivered"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "notification queue"),
            }
            tokio::time::sleep(poll).await;
        }
    }
}
