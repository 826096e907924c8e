//! `sim`: run simulated tests of the OCC store and check histories. Parses arguments and
//! dispatches to `sim::cli`.
//!
//! Exit codes: 0 the run (or history) is valid; 1 an anomaly or liveness failure was
//! found; 2 usage error, unreadable or empty input, unwritable output or internal error.
//! The verdict wins over a late output error: a failing run that cannot write a file
//! still exits 1 (the error follows the summary on stderr).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sim::cli;

/// `sim --version`: the crate's version and the commit it was built from (see build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SIM_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(
    name = "sim",
    version = VERSION,
    about = "Deterministic simulation harness for the OCC key-value store",
    after_help = "Exit codes: 0 valid; 1 an anomaly or liveness failure was found; 2 usage \
                  error (values outside the limits included), unreadable or empty input, \
                  unwritable output or internal error; 3 (sim check) the verdict is unknown \
                  within the search budget; 130 / 143 (sim sweep) stopped by SIGINT / \
                  SIGTERM, after the summary of what ran. Output files are checked and \
                  opened before the run (a bad path, an existing file without --force, or \
                  two outputs naming one file exit 2 at once); a failing run that then \
                  cannot write a file still exits 1, the error said on stderr after the \
                  verdict. A stdout that cannot be written exits 2, said on stderr. Limits: \
                  --nodes 1 to 16, --clients 1 to 1,000, --txns 1 to 1,000,000, --keys 1 to \
                  100,000 (replay files too); and a run is refused when its estimated \
                  memory passes 16 GiB (a transaction holds 2 to 200 KB of history by \
                  workload, keys and clients: README, Limits). Specs, in the repository: \
                  docs/protocol.md \
                  (the store's wire protocol) and docs/history-format.md (the histories sim \
                  records and sim check reads)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one simulated test (the default: `sim --seed 7` is `sim run --seed 7`).
    Run(cli::run::RunArgs),
    /// Run every seed of a range with the same flags, in parallel.
    Sweep(cli::sweep::SweepArgs),
    /// Rerun every seed recorded in seeds/ and expect each to pass now.
    Replay(cli::replay::ReplayArgs),
    /// Check a history file for serializability and version anomalies.
    Check(cli::check::CheckArgs),
    /// Write a history in another tool's format (Jepsen/Elle JSON).
    Export(cli::export::ExportArgs),
    /// Reduce a failing run to a small one that fails the same way.
    Shrink(cli::shrink::ShrinkArgs),
    /// List the planted bugs `--bug` can switch on.
    Bugs,
    /// Hold the checker to a brute-force oracle on generated small histories.
    Selfcheck(cli::selfcheck::SelfcheckArgs),
}

const SUBCOMMANDS: &[&str] =
    &["run", "sweep", "replay", "check", "export", "shrink", "bugs", "selfcheck", "help"];

/// `run` is the default subcommand: when the first argument is a flag other than help or
/// version, it is inserted.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let is_global = matches!(first, "-h" | "--help" | "-V" | "--version");
    if first.starts_with('-') && !is_global && !SUBCOMMANDS.contains(&first) {
        args.insert(1, "run".into());
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(with_default_subcommand(std::env::args_os().collect()));
    let checked = match &cli.command {
        Command::Run(args) => Some(args.flags.check()),
        Command::Sweep(args) => Some(args.check()),
        Command::Shrink(args) => Some(args.flags.check()),
        _ => None,
    };
    if let Some(Err(problem)) = checked {
        eprintln!("sim: {problem}");
        return ExitCode::from(2);
    }
    match cli.command {
        Command::Run(args) => cli::run::run(&args),
        Command::Sweep(args) => cli::sweep::run(&args),
        Command::Replay(args) => cli::replay::run(&args),
        Command::Check(args) => cli::check::run(&args),
        Command::Export(args) => cli::export::run(&args),
        Command::Shrink(args) => cli::shrink::run(&args),
        Command::Bugs => cli::bugs::run(),
        Command::Selfcheck(args) => cli::selfcheck::run(&args),
    }
}
