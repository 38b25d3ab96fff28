//! `healthbook demo`: seed a demonstration data set and show where to look.
//!
//! Today it generates synthetic dossiers and checks them with the gateway's rules;
//! the gateway, the store and the citizen book arrive with the next issues and will
//! be served from here.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use dossier::synth::{Config, Generator};
use dossier::{Options, Spec};
use rayon::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the demo data.
    #[arg(long, default_value = "healthbook-demo")]
    dir: PathBuf,
    #[arg(long, default_value_t = 200)]
    persons: usize,
    #[arg(long, default_value_t = 2_000)]
    episodes: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(a: Args) -> Result<()> {
    let dossiers = a.dir.join("dossiers");
    let faulty = a.dir.join("faulty");
    std::fs::create_dir_all(&dossiers)?;
    std::fs::create_dir_all(&faulty)?;
    let g = Generator::new(Config {
        persons: a.persons,
        episodes: a.episodes,
        seed: a.seed,
        ..Config::default()
    });
    let t = Instant::now();
    let (bytes, valid): (usize, usize) = (0..a.episodes)
        .into_par_iter()
        .map(|i| -> Result<(usize, usize)> {
            let e = g.episode(i);
            let b = e.envelope_bytes(Spec::Qd3176);
            let ok = dossier::parse_envelope(&b, &Options::default()).is_valid();
            std::fs::write(dossiers.join(e.file_name()), &b)?;
            Ok((b.len(), ok as usize))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let n_faults = dossier::synth::FAULTS.len();
    for i in 0..n_faults {
        let (fault, b) = g.invalid_episode(i);
        std::fs::write(faulty.join(format!("{}.xml", fault.name)), b)?;
    }
    let first = g.episode(0);
    println!("healthbook demo — dữ liệu mẫu (người và hồ sơ đều hư cấu)");
    println!(
        "  {} hồ sơ của {} người, {:.1} MB, sinh và kiểm tra trong {:.1} s: {valid}/{} hợp lệ",
        a.episodes,
        a.persons,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        a.episodes
    );
    println!("  {}  ← hồ sơ GIAMDINHHS (QĐ 3176)", dossiers.display());
    println!(
        "  {}  ← {n_faults} hồ sơ, mỗi hồ sơ một lỗi đã biết",
        faulty.display()
    );
    println!();
    println!("Xem thử / try:");
    println!(
        "  healthbook check {}",
        dossiers.join(first.file_name()).display()
    );
    println!("  healthbook check {}", faulty.display());
    println!("  healthbook check --json --lang en {}", faulty.display());
    println!();
    println!(
        "The gateway, the store and the citizen's book are built in the next issues; this demo will serve them."
    );
    Ok(())
}
