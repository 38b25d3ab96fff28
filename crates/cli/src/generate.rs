//! `healthbook gen`: write synthetic dossiers to disk.

use std::path::PathBuf;

use anyhow::{Context, Result};
use dossier::Spec;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use synth::{Config, Generator};

#[derive(clap::Args)]
pub struct Args {
    /// Number of distinct persons.
    #[arg(long, default_value_t = 1_000)]
    persons: usize,
    /// Number of episodes (one envelope file each).
    #[arg(long, default_value_t = 10_000)]
    episodes: usize,
    /// Seed: the same seed gives the same files, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Spec variant to write.
    #[arg(long, default_value = "3176", value_parser = |s: &str| s.parse::<Spec>())]
    spec: Spec,
    /// Also write the check-in message (XML0) of each episode, under `checkin/`.
    #[arg(long)]
    checkin: bool,
    /// Write dossiers that each carry one known fault instead, with `manifest.json`
    /// naming the finding code each must raise.
    #[arg(long)]
    invalid: bool,
    /// Sign every envelope and check-in with this RSA private key (PEM), the way
    /// facilities' software does (CHUKYDONVI, enveloped XMLDSig, RSA-SHA256).
    #[arg(long, requires = "cert")]
    sign: Option<PathBuf>,
    /// The certificate of `--sign`'s key (PEM), embedded in each signature.
    #[arg(long, requires = "sign")]
    cert: Option<PathBuf>,
    /// Sign with the legacy RSA-SHA1 instead (older .NET Framework).
    #[arg(long, requires = "sign")]
    sha1: bool,
}

#[derive(Serialize)]
struct ManifestEntry {
    file: String,
    fault: &'static str,
    expected_code: &'static str,
}

pub fn run(a: Args) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if a.checkin {
        std::fs::create_dir_all(a.out.join("checkin"))?;
    }
    let key = match (&a.sign, &a.cert) {
        (Some(k), Some(c)) => Some(
            sign::SigningKey::from_pem(
                &std::fs::read(k).with_context(|| format!("reading {}", k.display()))?,
                &std::fs::read(c).with_context(|| format!("reading {}", c.display()))?,
            )
            .with_context(|| format!("{} / {}", k.display(), c.display()))?,
        ),
        _ => None,
    };
    let algorithm = if a.sha1 {
        sign::Algorithm::RsaSha1
    } else {
        sign::Algorithm::RsaSha256
    };
    let signed = |bytes: Vec<u8>| -> Result<Vec<u8>> {
        match &key {
            Some(k) => Ok(sign::sign(&bytes, k, algorithm)?),
            None => Ok(bytes),
        }
    };
    let g = Generator::new(Config {
        persons: a.persons,
        episodes: a.episodes,
        seed: a.seed,
        spec: a.spec,
        ..Config::default()
    });
    let bar = ProgressBar::new(a.episodes as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} hồ sơ ({per_sec}, còn {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let manifest: Vec<Option<ManifestEntry>> = (0..a.episodes)
        .into_par_iter()
        .map(|i| -> Result<Option<ManifestEntry>> {
            let entry = if a.invalid {
                let (fault, bytes) = g.invalid_episode(i);
                let e = g.episode(i);
                let file = format!("{}__{}", fault.name, e.file_name());
                std::fs::write(a.out.join(&file), signed(bytes)?)?;
                Some(ManifestEntry {
                    file,
                    fault: fault.name,
                    expected_code: fault.code,
                })
            } else {
                let e = g.episode(i);
                std::fs::write(a.out.join(e.file_name()), signed(e.envelope_bytes(a.spec))?)?;
                if a.checkin {
                    std::fs::write(
                        a.out.join("checkin").join(e.file_name()),
                        signed(e.checkin_bytes(a.spec))?,
                    )?;
                }
                None
            };
            bar.inc(1);
            Ok(entry)
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    if a.invalid {
        let entries: Vec<ManifestEntry> = manifest.into_iter().flatten().collect();
        std::fs::write(
            a.out.join("manifest.json"),
            serde_json::to_vec_pretty(&entries)?,
        )?;
    }
    eprintln!(
        "Đã tạo {} hồ sơ ({} người) trong {} — QĐ {}{}",
        a.episodes,
        a.persons,
        a.out.display(),
        a.spec,
        if a.invalid {
            ", mỗi hồ sơ một lỗi đã biết (manifest.json)"
        } else {
            ""
        }
    );
    if key.is_some() {
        eprintln!("Mỗi tệp đã được ký số (CHUKYDONVI, {algorithm:?})");
    }
    Ok(())
}
