//! `unit`, `staff` and `audit` commands: administrative units, staff accounts, and
//! verification of the audit chains.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use book::access::Role;
use store::StaffAccount;

use crate::ops::DbArg;

#[derive(clap::Subcommand)]
pub enum UnitCmd {
    /// Import units from CSV with a header line: code,name,level,parent,scheme
    /// (level province|district|commune; scheme pre2025|2025). Parents first; all or none.
    Import {
        #[command(flatten)]
        db: DbArg,
        csv: PathBuf,
    },
    /// List the units: scheme, level, code, parent, first and last day in force, name.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Import the lineage of the 2025 reform from CSV with a header line:
    /// old_level,old_code,new_level,new_code,relation,note (relation same | renamed |
    /// merged_full | split_partial). Both units must be imported first; all or none.
    LineageImport {
        #[command(flatten)]
        db: DbArg,
        csv: PathBuf,
    },
    /// List the lineage of the 2025 reform: old unit → new unit and relation.
    Lineage {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn unit(cmd: UnitCmd) -> Result<()> {
    match cmd {
        UnitCmd::Import { db, csv } => {
            let s = db.open()?;
            let bytes =
                std::fs::read(&csv).with_context(|| format!("reading {}", csv.display()))?;
            let rows =
                server::registry::parse_units(&bytes).with_context(|| csv.display().to_string())?;
            let units: Vec<store::Unit> = rows.into_iter().map(|(_, u)| u).collect();
            let n = s
                .import_units(&units)
                .with_context(|| format!("{}: nothing imported", csv.display()))?;
            println!("Đã nhập {n} đơn vị hành chính / imported {n} units");
        }
        UnitCmd::List { db } => {
            for u in db.open()?.units()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    u.scheme,
                    u.level,
                    u.code,
                    u.parent.as_deref().unwrap_or_default(),
                    u.valid_from(),
                    u.valid_to().unwrap_or_default(),
                    u.name
                );
            }
        }
        UnitCmd::LineageImport { db, csv } => {
            let s = db.open()?;
            let bytes =
                std::fs::read(&csv).with_context(|| format!("reading {}", csv.display()))?;
            let rows = server::registry::parse_lineage(&bytes)
                .with_context(|| csv.display().to_string())?;
            let links: Vec<store::UnitLink> = rows.into_iter().map(|(_, l)| l).collect();
            let n = s
                .import_unit_lineage(&links)
                .with_context(|| format!("{}: nothing imported", csv.display()))?;
            println!("Đã nhập {n} dòng kế thừa đơn vị hành chính / imported {n} lineage lines");
        }
        UnitCmd::Lineage { db } => {
            for l in db.open()?.unit_lineage()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    l.old_level,
                    l.old_code,
                    l.new_level,
                    l.new_code,
                    l.relation,
                    l.note.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum StaffCmd {
    /// Create or change a staff account.
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: String,
        /// system_admin | provincial_officer | district_officer | facility_admin |
        /// clinician | submitter | commune_staff | insurance_officer
        #[arg(long)]
        role: String,
        /// Facility of the scope (facility roles, commune station).
        #[arg(long)]
        facility: Option<String>,
        /// Unit of the scope (officers, commune staff).
        #[arg(long)]
        unit: Option<String>,
        /// Clinicians: practising-certificate number.
        #[arg(long)]
        practising_cert: Option<String>,
        /// Password (at least 8 characters); required for a new account.
        #[arg(long, env = "HEALTHBOOK_STAFF_PASSWORD")]
        password: Option<String>,
        /// Lock the account (its sessions end).
        #[arg(long)]
        inactive: bool,
    },
    /// List staff accounts.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn staff(cmd: StaffCmd) -> Result<()> {
    match cmd {
        StaffCmd::Add {
            db,
            username,
            full_name,
            role,
            facility,
            unit,
            practising_cert,
            password,
            inactive,
        } => {
            let Some(role) = Role::from_code(&role).filter(|r| r.is_staff()) else {
                bail!("role {role:?}: not a staff role");
            };
            db.open()?.upsert_staff(
                &StaffAccount {
                    username: username.clone(),
                    full_name,
                    role,
                    unit,
                    facility,
                    practising_cert,
                    active: !inactive,
                },
                password.as_deref(),
            )?;
            println!("Đã lưu tài khoản {username} ({})", role.label());
        }
        StaffCmd::List { db } => {
            for a in db.open()?.staff_list()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.username,
                    a.role.code(),
                    a.facility.or(a.unit).unwrap_or_default(),
                    if a.active { "active" } else { "locked" },
                    a.full_name
                );
            }
        }
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum AuditCmd {
    /// Recompute every person's audit chain, and check the checkpoint file when one is
    /// given. Exit 0: intact; 1: records were edited, removed or reordered, or the end of
    /// a chain was cut (each is named).
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// The append-only checkpoint file (`serve --audit-checkpoints`), or a copy of it
        /// kept off the machine.
        #[arg(long, env = "HEALTHBOOK_AUDIT_CHECKPOINT_FILE")]
        checkpoints: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Append a checkpoint of the records written since the last one to the file (what
    /// `serve` does every 10 minutes).
    Checkpoint {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, env = "HEALTHBOOK_AUDIT_CHECKPOINT_FILE")]
        file: PathBuf,
    },
}

pub fn audit(cmd: AuditCmd) -> Result<ExitCode> {
    match cmd {
        AuditCmd::Verify {
            db,
            checkpoints,
            json,
        } => {
            let store = db.open()?;
            let mut report = store.verify_audit()?;
            let mut n_checkpoints = None;
            if let Some(file) = &checkpoints {
                let (n, problems) = store.verify_checkpoints(file)?;
                if n == 0 {
                    report
                        .problems
                        .push(format!("{}: no checkpoint in the file", file.display()));
                }
                report.problems.extend(problems);
                n_checkpoints = Some(n);
            }
            if json {
                let mut v = serde_json::to_value(&report)?;
                if let Some(n) = n_checkpoints {
                    v["checkpoints"] = n.into();
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if report.ok() {
                println!(
                    "Nhật ký truy cập nguyên vẹn: {} bản ghi của {} người / audit log intact: {} records, {} persons",
                    report.records, report.persons, report.records, report.persons
                );
                if let Some(n) = n_checkpoints {
                    println!("  {n} điểm kiểm tra khớp / {n} checkpoints match");
                }
            } else {
                println!(
                    "NHẬT KÝ BỊ SỬA HOẶC XÓA / AUDIT LOG TAMPERED: {} problem(s) in {} records",
                    report.problems.len(),
                    report.records
                );
                for p in &report.problems {
                    println!("  {p}");
                }
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        AuditCmd::Checkpoint { db, file } => {
            let cp = db.open()?.audit_checkpoint(&file)?;
            println!(
                "Điểm kiểm tra {} / checkpoint {}: {} bản ghi / records, {}",
                cp.seq,
                cp.seq,
                cp.records,
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(clap::Subcommand)]
pub enum PopulationCmd {
    /// Import residents from the population registry, CSV with a header line:
    /// personal_id,name,birth_date,sex,unit,status. Re-importing updates; all or none.
    Import {
        #[command(flatten)]
        db: DbArg,
        csv: PathBuf,
    },
}

#[derive(clap::Subcommand)]
pub enum RegistryCmd {
    /// Apply a batch of registry deltas, all or nothing: population events (CSV or JSON
    /// lines with `event` birth | death | move | id_change) or BHYT cards (`event` card).
    /// The same batch id with the same content is applied once.
    Apply {
        #[command(flatten)]
        db: DbArg,
        /// population (the population database) or insurance (the BHYT participant list).
        #[arg(long)]
        source: String,
        /// The batch id (default: the file's SHA-256).
        #[arg(long)]
        batch: Option<String>,
        /// A `.csv` or `.jsonl` file.
        file: PathBuf,
    },
}

pub fn registry(cmd: RegistryCmd) -> Result<()> {
    match cmd {
        RegistryCmd::Apply {
            db,
            source,
            batch,
            file,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let format = server::registry::deltas::Format::guess(&name)
                .with_context(|| format!("{name}: the file must end in .csv or .jsonl"))?;
            let b =
                server::registry::deltas::batch(&bytes, format, batch.as_deref(), &source, "cli")
                    .with_context(|| format!("{name}: nothing applied"))?;
            let s = db.open()?;
            let t = std::time::Instant::now();
            let out = s
                .apply_registry(&b)
                .with_context(|| format!("{name}: nothing applied"))?;
            println!(
                "Lô {}: {} thay đổi, {} áp dụng, {} đã có từ trước, {} chênh lệch cần đối chiếu{} ({:.1} s)",
                out.batch,
                out.changes,
                out.applied,
                out.unchanged,
                out.mismatches,
                if out.repeated {
                    " — lô đã áp dụng trước đây"
                } else {
                    ""
                },
                t.elapsed().as_secs_f64()
            );
            println!("{}", serde_json::to_string(&out)?);
        }
    }
    Ok(())
}

pub fn population(cmd: PopulationCmd) -> Result<()> {
    match cmd {
        PopulationCmd::Import { db, csv } => {
            let s = db.open()?;
            let bytes =
                std::fs::read(&csv).with_context(|| format!("reading {}", csv.display()))?;
            let rows = server::registry::parse_residents(&bytes)
                .with_context(|| csv.display().to_string())?;
            let residents: Vec<store::Resident> = rows.into_iter().map(|(_, r)| r).collect();
            let t = std::time::Instant::now();
            let n = s
                .import_population(&residents)
                .with_context(|| format!("{}: nothing imported", csv.display()))?;
            println!(
                "Đã nhập {n} nhân khẩu, mỗi người một hồ sơ sức khỏe ({:.1} s) / imported {n} residents, each with a health record",
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum ReportCmd {
    /// Recompute the report aggregates from the stored rows (after an upgrade, or a
    /// bulk load); the gateway keeps them current otherwise.
    Rebuild {
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn report(cmd: ReportCmd) -> Result<()> {
    match cmd {
        ReportCmd::Rebuild { db } => {
            let s = db.open()?;
            let t = std::time::Instant::now();
            s.rebuild_reports()?;
            println!(
                "Đã tính lại số liệu báo cáo ({:.1} s) / report aggregates rebuilt",
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
