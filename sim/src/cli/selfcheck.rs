//! `sim selfcheck [--histories N] [--from SEED] [--model serializable|strict-serializable|both]`:
//! holds the checker to the brute-force oracle (`sim::oracle`) on generated small
//! histories, and prints every disagreement shrunk.
//!
//! Exit codes: 0 no disagreement, 1 some (the checker or the oracle is wrong), 2 bad flags.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::check::Model;
use crate::hunt::flags::parse_seed;
use crate::oracle::differential::{model_name, sweep, EXAMPLES_KEPT};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelsArg {
    Serializable,
    StrictSerializable,
    Both,
}

#[derive(Args, Debug)]
pub struct SelfcheckArgs {
    /// How many histories to generate, one per seed.
    #[arg(long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub histories: u64,
    /// The first seed (decimal or 0x-hex).
    #[arg(long, default_value = "0", value_parser = parse_seed)]
    pub from: u64,
    /// The model(s) each history is judged under.
    #[arg(long, value_enum, default_value = "both")]
    pub model: ModelsArg,
}

pub fn run(args: &SelfcheckArgs) -> ExitCode {
    let Some(end) = args.from.checked_add(args.histories) else {
        eprintln!(
            "sim selfcheck: --from {} plus --histories {} is past the last seed",
            args.from, args.histories
        );
        return ExitCode::from(2);
    };
    let models: &[Model] = match args.model {
        ModelsArg::Serializable => &[Model::Serializable],
        ModelsArg::StrictSerializable => &[Model::StrictSerializable],
        ModelsArg::Both => &[Model::Serializable, Model::StrictSerializable],
    };
    let report = sweep(args.from..end, models);
    let mut out = format!("{}\n", report.summary());
    for (n, example) in report.examples.iter().enumerate() {
        let d = &example.disagreement;
        let _ = writeln!(
            out,
            "\ndisagreement {}: seed {}, {}, shrunk to:\n{}checker: {}\noracle: {}",
            n + 1,
            example.seed,
            model_name(example.model),
            example.history,
            d.checker_said(),
            d.oracle_said()
        );
    }
    if report.disagreements > report.examples.len() as u64 {
        let _ = writeln!(out, "\n(the first {EXAMPLES_KEPT} disagreements are shown)");
    }
    crate::cli::emit(&out);
    if report.disagreements == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
