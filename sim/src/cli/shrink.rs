//! `sim shrink`: reduce a failing run to a small one that fails the same way, print its
//! repro and its failure report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::args::{parse_seed, repro_command, RunFlags};
use crate::outcome::evaluate;
use crate::replay_file::ReplayFile;
use crate::report::failure_report;
use crate::shrink::{shrink, RUNS_MAX_DEFAULT};
use crate::world::RunConfig;

#[derive(Args, Clone, Debug)]
pub struct ShrinkArgs {
    /// The failing run's seed.
    #[arg(long, value_parser = parse_seed)]
    pub seed: u64,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Where to write the replay file when the shrunk run skips chosen transactions
    /// (default: shrunk-<seed>.json in the current directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// At most this many simulated runs.
    #[arg(long, default_value_t = RUNS_MAX_DEFAULT)]
    pub runs_max: u64,
}

pub fn run(args: &ShrinkArgs) -> ExitCode {
    let config = args.flags.config(args.seed);
    let shrunk = match shrink(&config, args.runs_max) {
        Ok(shrunk) => shrunk,
        Err(message) => {
            eprintln!("sim shrink: {message}");
            return ExitCode::from(2);
        }
    };
    crate::cli::emit(&format!(
        "original: {} transactions, {}\n",
        shrunk.original_txns,
        shrunk.original_failure.headline()
    ));
    crate::cli::emit(&format!("  {}\n", repro_command(&shrunk.original)));
    crate::cli::emit(&format!(
        "shrunk:   {} transactions, {} ({} runs)\n",
        shrunk.shrunk_txns,
        shrunk.shrunk_failure.headline(),
        shrunk.runs
    ));
    let repro = if shrunk.shrunk.keep.is_none() {
        repro_command(&shrunk.shrunk)
    } else {
        let path =
            args.out.clone().unwrap_or_else(|| PathBuf::from(format!("shrunk-{}.json", args.seed)));
        if let Err(e) = std::fs::write(&path, ReplayFile::of(&shrunk.shrunk).to_json()) {
            eprintln!("sim shrink: cannot write the replay file {}: {e}", path.display());
            return ExitCode::from(2);
        }
        format!("cargo run -p sim -- run --replay {}", path.display())
    };
    crate::cli::emit(&format!("  {repro}\n"));
    let traced = evaluate(&RunConfig { record_trace: true, ..shrunk.shrunk.clone() });
    crate::cli::emit(&format!("\n{}\n", failure_report(&traced, &repro, 3)));
    crate::cli::emit(&crate::render::history_compact(&traced.sim.history));
    ExitCode::from(1)
}
