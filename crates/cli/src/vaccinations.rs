//! `healthbook vaccinations …`: the national immunisation system's export imported on
//! the server's host (the station imports through its page or the JSON API).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::ops::DbArg;

#[derive(Subcommand)]
pub enum VaccinationsCmd {
    /// Import doses exported by the national immunisation system: CSV or JSON lines
    /// with so_dinh_danh, vacxin_id (or ma_vacxin), ngay_tiem, trang_thai_mui_tiem,
    /// lich_su_tiem_id, … Each line on its own: refused lines are listed with their
    /// line and field; a dose already recorded is not added again.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// Who runs the import (recorded as cli:<name> in each person's audit chain).
        #[arg(long, default_value = "operator")]
        by: String,
        /// A `.csv` or `.jsonl` file.
        file: PathBuf,
    },
}

pub fn run(cmd: VaccinationsCmd) -> Result<()> {
    match cmd {
        VaccinationsCmd::Import { db, by, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let s = db.open()?;
            let t = std::time::Instant::now();
            let r = server::vaccinations::import_as_operator(s, &by, &name, &bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{name}: nothing imported"))?;
            println!(
                "{} dòng: đã ghi {} mũi tiêm cho {} người, {} mũi đã có, {} mũi trùng, {} dòng bị từ chối ({:.1} s)",
                r.lines,
                r.added,
                r.persons,
                r.unchanged,
                r.duplicates,
                r.refused.len(),
                t.elapsed().as_secs_f64()
            );
            for x in r.refused.iter().take(50) {
                println!("  dòng {} [{}]: {}", x.line, x.field, x.message);
            }
            if r.refused.len() > 50 {
                println!("  … và {} dòng nữa", r.refused.len() - 50);
            }
        }
    }
    Ok(())
}
