//! `healthbook fhir`: system clients of the FHIR API, and the bulk export of a unit.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use book::access::SmartScopes;
use clap::Subcommand;
use server::fhir::export::{DirSink, Exporter, export_types, export_unit};

use crate::ops::DbArg;

#[derive(Subcommand)]
pub enum FhirCmd {
    /// Register a system client (client-credentials grant) reading one unit's data.
    /// Prints its client id and secret; the secret is shown only once.
    ClientAdd {
        #[command(flatten)]
        db: DbArg,
        /// What the system is (shown to citizens in "who opened my book").
        #[arg(long)]
        name: String,
        /// The administrative unit whose facilities' data it reads.
        #[arg(long)]
        unit: String,
        /// SMART-style scopes, space-separated: system/*.read, system/Patient.read …
        #[arg(long, default_value = "system/*.read")]
        scope: String,
    },
    /// List system clients.
    Clients {
        #[command(flatten)]
        db: DbArg,
    },
    /// Disable a system client; its tokens stop working at once.
    ClientDisable {
        #[command(flatten)]
        db: DbArg,
        client_id: String,
    },
    /// Export a unit's data as FHIR NDJSON (one file per resource type), streaming.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// The administrative unit (province, district or commune code).
        #[arg(long)]
        unit: String,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Resource types, comma-separated (default: all).
        #[arg(long = "type")]
        types: Option<String>,
        /// Only episodes that reached the book since this date (YYYY-MM-DD, Vietnam time).
        #[arg(long)]
        since: Option<String>,
        /// Who runs the export, recorded in each exported person's audit chain.
        #[arg(long, env = "USER", default_value = "operator")]
        operator: String,
    },
}

pub fn run(c: FhirCmd) -> Result<()> {
    match c {
        FhirCmd::ClientAdd {
            db,
            name,
            unit,
            scope,
        } => {
            let scopes = SmartScopes::parse(&scope).map_err(|bad| {
                anyhow::anyhow!(
                    "scope: \"{bad}\" không hợp lệ; chỉ cấp quyền đọc dạng system/<Loại>.read hoặc system/*.read"
                )
            })?;
            let store = db.open()?;
            let by = format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "operator".into())
            );
            let (client, secret) = store.add_fhir_client(&name, &unit, &scopes, &by)?;
            println!("client_id:     {}", client.client_id);
            println!("client_secret: {secret}");
            println!("scope:         {}", client.scopes.to_scope_string());
            println!("unit:          {}", client.unit);
            println!("(the secret is shown only now; keep it in the client's secret store)");
            Ok(())
        }
        FhirCmd::Clients { db } => {
            let store = db.open()?;
            for c in store.fhir_clients()? {
                println!(
                    "{}\t{}\tunit {}\t{}\t{}",
                    c.client_id,
                    c.name,
                    c.unit,
                    c.scopes.to_scope_string(),
                    if c.active { "active" } else { "disabled" }
                );
            }
            Ok(())
        }
        FhirCmd::ClientDisable { db, client_id } => {
            let store = db.open()?;
            if !store.disable_fhir_client(&client_id)? {
                bail!("no client {client_id}");
            }
            println!("disabled {client_id}");
            Ok(())
        }
        FhirCmd::Export {
            db,
            unit,
            out,
            types,
            since,
            operator,
        } => {
            let types = export_types(types.as_deref())
                .map_err(|t| anyhow::anyhow!("type: loại tài nguyên không hỗ trợ \"{t}\""))?;
            let since_ms = match since {
                Some(s) => {
                    let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .with_context(|| format!("since: cần dạng YYYY-MM-DD, nhận \"{s}\""))?;
                    // Midnight in Vietnam (UTC+7).
                    d.and_hms_opt(0, 0, 0)
                        .unwrap_or_default()
                        .and_utc()
                        .timestamp_millis()
                        - 7 * 3_600_000
                }
                None => 0,
            };
            let store = db.open()?;
            let mut sink =
                DirSink::new(&out).with_context(|| format!("creating {}", out.display()))?;
            let by = Exporter {
                id: format!("cli:{operator}"),
                name: format!("Xuất dữ liệu FHIR bằng dòng lệnh ({operator})"),
            };
            let t = Instant::now();
            let stats = export_unit(&*store, &unit, &types, since_ms, &by, &mut sink)?;
            let secs = t.elapsed().as_secs_f64();
            for (ty, path) in sink.files() {
                println!(
                    "{:>10}  {}",
                    stats.resources.get(&ty).copied().unwrap_or(0),
                    path.display()
                );
            }
            eprintln!(
                "{} persons, {} episodes, {} resources in {:.1} s ({:.0} resources/s)",
                stats.persons,
                stats.episodes,
                stats.total(),
                secs,
                stats.total() as f64 / secs.max(1e-9)
            );
            Ok(())
        }
    }
}
