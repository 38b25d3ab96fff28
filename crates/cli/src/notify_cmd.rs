//! `healthbook notify`: the reminders for operators (issue 18) — a scan of every book now
//! (as `healthbook serve` runs every `scan_interval_secs`), the delivery queue's state,
//! and one drain of the queue through the configured channels (for a deployment that
//! sends from a timer rather than from the server).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::ops::{DbArg, notify_settings};

#[derive(Subcommand)]
pub enum NotifyCmd {
    /// Make every person's reminders now (idempotent: a notice per event) and queue
    /// them for the configured channels.
    Scan {
        #[command(flatten)]
        db: DbArg,
        /// The serve configuration file whose `[notify]` table names the channels.
        #[arg(long, env = "HEALTHBOOK_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The delivery queue by state (pending, sent, dead, cancelled), as JSON.
    Status {
        #[command(flatten)]
        db: DbArg,
    },
    /// Deliver what is due now through the configured channels, then stop.
    Drain {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, env = "HEALTHBOOK_CONFIG")]
        config: Option<PathBuf>,
    },
}

pub fn run(c: NotifyCmd) -> Result<()> {
    match c {
        NotifyCmd::Scan { db, config } => {
            let settings = notify_settings(config.as_deref())?;
            let store = db.open()?;
            let stats = server::reminders::scan_all(store, &settings)
                .map_err(|e| anyhow::anyhow!("scan: {e}"))?;
            println!("{}", serde_json::to_string(&stats)?);
        }
        NotifyCmd::Status { db } => {
            let store = db.open()?;
            println!("{}", serde_json::to_string(&store.outbox_stats()?)?);
        }
        NotifyCmd::Drain { db, config } => {
            let settings = notify_settings(config.as_deref())?;
            let channels = settings
                .channels()
                .map_err(|e| anyhow::anyhow!("notify: {e}"))?;
            let store = db.open()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let s = rt
                .block_on(notify::Worker::new(store, channels, &settings).drain())
                .context("draining the queue")?;
            println!(
                "{}",
                serde_json::json!({"claimed": s.claimed, "sent": s.sent, "retried": s.retried, "dead": s.dead})
            );
        }
    }
    Ok(())
}
