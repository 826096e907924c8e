//! The `sim` binary: parse arguments, dispatch to `sim::cli`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "sim", about = "Deterministic simulation harness for the OCC key-value store")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a history file for serializability and version anomalies.
    Check(sim::cli::check::CheckArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check(args) => sim::cli::check::run(&args),
    }
}
