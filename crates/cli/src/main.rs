//! `healthbook`: the one binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod demo;
mod generate;

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
    /// Seed a demonstration data set, check it, and print where to look.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Gen(a) => generate::run(a).map(|()| ExitCode::SUCCESS),
        Command::Demo(a) => demo::run(a).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("healthbook: lỗi / error: {e:#}");
            ExitCode::from(2)
        }
    }
}
