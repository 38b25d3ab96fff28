//! `healthbook`: the one binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod access;
mod bench;
mod bench_hfs;
mod bench_notify;
mod bench_records;
mod bench_vaccines;
mod check;
mod demo;
mod demo_chronic;
mod demo_records;
mod demo_vaccinations;
mod fhir;
mod generate;
mod keys;
mod loadgen;
mod notify_cmd;
mod ops;
mod vaccinations;

#[derive(Parser)]
#[command(
    name = "healthbook",
    version,
    about = "Sổ sức khỏe điện tử — electronic health book"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check dossier envelopes (GIAMDINHHS), check-in files (XML0) and table documents
    /// offline, with the rules the gateway applies. Exit 0: all valid (warnings allowed);
    /// 1: some file has errors; 2: usage or I/O error.
    Check(check::Args),
    /// Generate deterministic synthetic dossiers (fictitious people only).
    Gen(generate::Args),
    /// Seed a demonstration store, print a facility login and a curl session, and serve.
    Demo(demo::Args),
    /// Serve the receiving gateway (BHXH egw-compatible API), /healthz and /metrics.
    Serve(ops::ServeArgs),
    /// Import dossier and check-in files from disk with the gateway's validation and
    /// linking; re-running skips files already stored.
    Import(ops::ImportArgs),
    /// Manage facilities (5-digit MA_CSKCB).
    #[command(subcommand)]
    Facility(ops::FacilityCmd),
    /// Manage facility gateway accounts.
    #[command(subcommand)]
    Account(ops::AccountCmd),
    /// Print a person's health book (JSON).
    Book(ops::BookArgs),
    /// Merge or split persons; list data-quality issues.
    #[command(subcommand)]
    Person(ops::PersonCmd),
    /// Citizen accounts: activation codes, guardians.
    #[command(subcommand)]
    Citizen(ops::CitizenCmd),
    /// Administrative units (province, district, commune; pre-2025 and 2025 schemes).
    #[command(subcommand)]
    Unit(access::UnitCmd),
    /// Staff accounts and their roles.
    #[command(subcommand)]
    Staff(access::StaffCmd),
    /// The audit log of reads of personal data.
    #[command(subcommand)]
    Audit(access::AuditCmd),
    /// The population registry (the denominator of adoption).
    #[command(subcommand)]
    Population(access::PopulationCmd),
    /// Registry deltas: births, deaths, moves, personal ID changes, BHYT cards.
    #[command(subcommand)]
    Registry(access::RegistryCmd),
    /// Report aggregates.
    #[command(subcommand)]
    Report(access::ReportCmd),
    /// FHIR R4: system clients, and the bulk export of a unit's data (NDJSON).
    #[command(subcommand)]
    Fhir(fhir::FhirCmd),
    /// Load generator for benchmarks: concurrent clients sending files to a gateway.
    Loadgen(loadgen::Args),
    /// Encryption at rest: the master key and the data keys (status, rotation).
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Whole stores: copy one into another (SQLite ↔ PostgreSQL).
    #[command(subcommand)]
    Store(ops::StoreCmd),
    /// Benchmarks at scale (seeded stores, latency percentiles).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Reminders: scan the books now, the delivery queue's state, deliver what is due.
    #[command(subcommand)]
    Notify(notify_cmd::NotifyCmd),
    /// Vaccinations: import the national immunisation system's export.
    #[command(subcommand)]
    Vaccinations(vaccinations::VaccinationsCmd),
}

/// Whether an error is a closed standard output (`healthbook book … | head`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    // A reader that stops early (`| head`) closes standard output: `println!` then panics
    // with "Broken pipe". End quietly instead, as command-line tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") || text.contains("os error 32") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Gen(a) => generate::run(a).map(|()| ExitCode::SUCCESS),
        Command::Demo(a) => demo::run(a).map(|()| ExitCode::SUCCESS),
        Command::Serve(a) => ops::serve(a).map(|()| ExitCode::SUCCESS),
        Command::Import(a) => ops::import(a).map(|()| ExitCode::SUCCESS),
        Command::Facility(c) => ops::facility(c).map(|()| ExitCode::SUCCESS),
        Command::Account(c) => ops::account(c).map(|()| ExitCode::SUCCESS),
        Command::Book(a) => ops::book(a).map(|()| ExitCode::SUCCESS),
        Command::Person(c) => ops::person(c).map(|()| ExitCode::SUCCESS),
        Command::Citizen(c) => ops::citizen(c).map(|()| ExitCode::SUCCESS),
        Command::Loadgen(a) => loadgen::run(a).map(|()| ExitCode::SUCCESS),
        Command::Unit(c) => access::unit(c).map(|()| ExitCode::SUCCESS),
        Command::Staff(c) => access::staff(c).map(|()| ExitCode::SUCCESS),
        Command::Audit(c) => access::audit(c),
        Command::Population(c) => access::population(c).map(|()| ExitCode::SUCCESS),
        Command::Registry(c) => access::registry(c).map(|()| ExitCode::SUCCESS),
        Command::Report(c) => access::report(c).map(|()| ExitCode::SUCCESS),
        Command::Store(c) => ops::store_cmd(c).map(|()| ExitCode::SUCCESS),
        Command::Keys(c) => keys::run(c).map(|()| ExitCode::SUCCESS),
        Command::Bench(c) => bench::run(c).map(|()| ExitCode::SUCCESS),
        Command::Fhir(c) => fhir::run(c).map(|()| ExitCode::SUCCESS),
        Command::Notify(c) => notify_cmd::run(c).map(|()| ExitCode::SUCCESS),
        Command::Vaccinations(c) => vaccinations::run(c).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthbook: lỗi / error: {e:#}");
            ExitCode::from(2)
        }
    }
}
