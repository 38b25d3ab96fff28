//! `healthbook keys`: the master key and the data keys of encryption at rest.

use anyhow::{Context, Result, bail};
use store::crypt::{KeySource, LocalMasterKey, MasterKey};

use crate::ops::DbArg;

#[derive(clap::Subcommand)]
pub enum KeysCmd {
    /// Where the master key is, the data keys it wraps, and how many values each data
    /// key protects (and how many are not sealed yet).
    Status {
        #[command(flatten)]
        db: DbArg,
        /// JSON for programs.
        #[arg(long)]
        json: bool,
    },
    /// Seal the values stored before encryption at rest (a store made by an older
    /// version), in place, while the servers keep running. Resumable: run it again
    /// after an interruption and it seals what is still in clear.
    Encrypt {
        #[command(flatten)]
        db: DbArg,
    },
    /// Wrap the data keys by a new master key, in one transaction, without stopping the
    /// servers (they hold the data keys open; they read the new key file when they next
    /// start). The old key file is kept as `<file>.<time>.old`: keep it with the
    /// backups made before now, which only it opens.
    Rotate {
        #[command(flatten)]
        db: DbArg,
        /// Also start a new data key, which seals new values from now on.
        #[arg(long)]
        data_key: bool,
    },
}

pub fn run(c: KeysCmd) -> Result<()> {
    match c {
        KeysCmd::Status { db, json } => {
            let store = db.open()?;
            let s = store.key_status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            println!(
                "Khóa chủ / master key: {} ({})",
                s.master,
                store::key_source(&db.db).describe()
            );
            for k in &s.data_keys {
                println!(
                    "Khóa dữ liệu / data key {}: bọc bởi / wrapped by {}, tạo lúc / made {}",
                    k.id,
                    k.master,
                    chrono::DateTime::from_timestamp_millis(k.created_at)
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                );
            }
            for c in &s.columns {
                let sealed: Vec<String> = c
                    .sealed
                    .iter()
                    .map(|(k, n)| format!("khóa / key {k}: {n}"))
                    .collect();
                println!(
                    "{:<22} {}; chưa mã hóa / not sealed: {}",
                    c.column,
                    if sealed.is_empty() {
                        "—".to_string()
                    } else {
                        sealed.join(", ")
                    },
                    c.plain
                );
            }
            Ok(())
        }
        KeysCmd::Encrypt { db } => {
            use std::io::IsTerminal;
            let store = db.open()?;
            let status = store.key_status()?;
            let plain: u64 = status.columns.iter().map(|c| c.plain).sum();
            let bar = indicatif::ProgressBar::new(plain);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} giá trị / values ({per_sec}, còn {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            if !std::io::stderr().is_terminal() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let n = store.seal_existing(&mut |done| bar.set_position(done))?;
            bar.finish_and_clear();
            store.close();
            println!("Đã mã hóa {n} giá trị / sealed {n} values");
            Ok(())
        }
        KeysCmd::Rotate { db, data_key } => {
            let KeySource::File(path) = store::key_source(&db.db) else {
                bail!(
                    "the master key comes from HEALTHBOOK_MASTER_KEY: rotate it with a key file (HEALTHBOOK_MASTER_KEY_FILE), or in the system that holds it"
                );
            };
            let store = db.open()?;
            // A new data key first, so that it is re-wrapped with the others.
            if data_key {
                let id = store.add_data_key()?;
                println!("Khóa dữ liệu mới / new data key: {id}");
            }
            let new = LocalMasterKey::generate()?;
            let mut fresh = path.clone().into_os_string();
            fresh.push(".new");
            let fresh = std::path::PathBuf::from(fresh);
            new.write_new(&fresh)
                .with_context(|| format!("writing the new master key {}", fresh.display()))?;
            let n = store.rewrap_data_keys(&new)?;
            // The data keys now open only with the new key: put it in place, keep the old.
            let mut old = path.clone().into_os_string();
            old.push(format!(
                ".{}.old",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            ));
            let old = std::path::PathBuf::from(old);
            std::fs::rename(&path, &old)
                .with_context(|| format!("keeping the old key as {}", old.display()))?;
            std::fs::rename(&fresh, &path)
                .with_context(|| format!("putting the new key at {}", path.display()))?;
            println!(
                "Đã bọc lại {n} khóa dữ liệu bằng khóa chủ mới {} ({}). Khóa cũ: {} — giữ cùng các bản sao lưu trước thời điểm này.",
                new.id(),
                path.display(),
                old.display()
            );
            println!(
                "Re-wrapped {n} data keys with the new master key {} ({}). The old key is {}: keep it with the backups made before now.",
                new.id(),
                path.display(),
                old.display()
            );
            store.close();
            Ok(())
        }
    }
}
