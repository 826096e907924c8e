//! `sim replay PATH`: rerun every recorded seed of `seeds/` and expect each to pass now.
//!
//! Exit codes: 0 every seed passed, 1 some seed failed, 2 PATH could not be read, holds
//! a malformed line, or records no seed at all (unless `--allow-empty`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::hunt::flags::repro_command;
use crate::hunt::outcome::evaluate;
use crate::hunt::seeds::load;

#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// A seeds file, or a directory whose *.txt files are read.
    #[arg(default_value = "seeds")]
    pub path: PathBuf,
    /// Exit 0 when PATH records no seed. Without it that is an error (exit 2): an empty
    /// or mistyped directory must not pass for a green replay.
    #[arg(long)]
    pub allow_empty: bool,
}

pub fn run(args: &ReplayArgs) -> ExitCode {
    let lines = match load(&args.path) {
        Ok(lines) => lines,
        Err(error) => {
            eprintln!("sim replay: {error}");
            return ExitCode::from(2);
        }
    };
    if lines.is_empty() && !args.allow_empty {
        eprintln!(
            "sim replay: {} records no seed: nothing to replay (pass --allow-empty if that is expected)",
            args.path.display()
        );
        return ExitCode::from(2);
    }
    let mut failed = 0;
    for line in &lines {
        let outcome = evaluate(&line.config);
        let place = format!("{}:{}", line.file.display(), line.line);
        match outcome.failure() {
            None => crate::cli::emit(&format!(
                "ok     {place} seed {} ({})\n",
                line.config.seed, line.note
            )),
            Some(failure) => {
                failed += 1;
                crate::cli::emit(&format!(
                    "FAILED {place} seed {}: {}\n",
                    line.config.seed,
                    failure.headline()
                ));
                crate::cli::emit(&format!("       reproduce: {}\n", repro_command(&line.config)));
            }
        }
    }
    crate::cli::emit(&format!(
        "replayed {} seeds: {} passed, {failed} failed\n",
        lines.len(),
        lines.len() - failed
    ));
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
